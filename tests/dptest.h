/*
 * dptest.h - DirectPort's own small test runner (tests/dptest_main.c).
 *
 * Writing a case, in any tests/test_*.c (the Makefile compiles every tests/ C file into
 * build/dptest.exe; include dptest.h after the system headers):
 *
 *     DP_TEST(open_missing_port_fails)
 *     {
 *         if (!dp12_init())
 *             skip("no D3D12 device: %s", dp_last_error_message());
 *         ok(dp12_open_port(L"nope") == NULL, "opened a port that does not exist");
 *         ok(dp_last_error() == DP_ERROR_NOT_FOUND, "error %d", (int)dp_last_error());
 *         dp12_shutdown();
 *     }
 *
 * Registration: DP_TEST / DP_CHILD define a static function plus a GCC constructor
 * that registers it before main(); there is no table to keep up to date. Cases run in
 * one process, ordered by source file name, then by line. Case names must be unique
 * across files (a duplicate is reported as a failing case).
 *
 *   ok(cond, fmt, ...)  a check: when cond is false the case fails and "# file:line:
 *                       message" is printed; the case goes on. Returns cond (0/1) so
 *                       `if (!ok(...)) return;` stops a case. printf formats of mingw's
 *                       C99 printf: %ls for wchar_t strings, %zu, %llu, %p.
 *   skip(fmt, ...)      marks the case skipped with that reason and RETURNS from it.
 *                       A case that failed a check before skip() still counts as failed.
 *   dptest_diag(fmt, ...)  prints "# message" (diagnostics; ignored by result parsing).
 *
 * Output (stdout, flushed after every line):
 *     ok N - name  |  not ok N - name  |  skip N - name # reason
 *     N passed, N failed, N skipped         (last line; exit status 1 if any failed)
 *
 * Command line: dptest.exe [--list] [substring...]
 *     substrings select the cases whose name contains any of them; --list prints names.
 * Environment: DPTEST_TIMEOUT=seconds per case (default 120). A case running longer is
 *     reported "not ok", its child processes are terminated, the summary is printed and
 *     the runner exits (status 3). A crash inside a case is reported the same way.
 *
 * Child processes (Windows only), for cross-process cases:
 *
 *     DP_CHILD(producer)              // int producer(int argc, wchar_t **argv)
 *     {                               // argv[0] is the role name, then the args
 *         ...;  return 0;             // exit code 0 = success
 *     }
 *
 *     DP_TEST(cross_process_frames)
 *     {
 *         dptest_child c = dptest_spawn(L"producer %ls %u", name, 42u);
 *         DWORD code;
 *         ok(dptest_wait_child(&c, 10000, &code) && code == 0, "producer exit %lu", code);
 *     }
 *
 * dptest_spawn starts this same executable as "dptest.exe --child producer ...";
 * arguments are split like any Windows command line (quote args with spaces: \"%ls\").
 * Children share the parent's stdout/stderr: print only "# " lines there (dptest_diag).
 * ok() works in a child too: any failed check makes the child's exit code non-zero.
 * A child has the same time limit as a case: exit code 124 when it runs out, 125 when
 * it crashes.
 *
 * Native build (tests/native/, Linux gcc): the same API minus child processes.
 */
#ifndef DPTEST_H
#define DPTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h> /* defines __MINGW_PRINTF_FORMAT */
#include <wchar.h>
#ifdef _WIN32
#include <windows.h>
#endif

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__MINGW32__) && defined(__MINGW_PRINTF_FORMAT)
#define DPTEST_PRINTF(f, a) __attribute__((format(__MINGW_PRINTF_FORMAT, f, a)))
#else
#define DPTEST_PRINTF(f, a) __attribute__((format(printf, f, a)))
#endif

typedef void (*dptest_fn)(void);
typedef int (*dptest_child_fn)(int argc, wchar_t **argv);

void dptest_register(const char *name, dptest_fn fn, const char *file, int line);
void dptest_register_child(const char *role, dptest_child_fn fn, const char *file, int line);
/* A function the runner calls once before the first case (not in child processes, not
 * for --list): the harness states the machine's capabilities there. */
void dptest_register_prologue(void (*fn)(void));
/* A function the runner calls after every case, inside it: its ok() failures are the
 * case's (the harness checks the D3D debug layers' reports there). */
void dptest_register_epilogue(void (*fn)(void));

/* Defines `static void name(void)` and registers it as a case. */
#define DP_TEST(name)                                                        \
    static void name(void);                                                  \
    __attribute__((constructor)) static void dptest_register_##name(void)    \
    {                                                                        \
        dptest_register(#name, name, __FILE__, __LINE__);                    \
    }                                                                        \
    static void name(void)

/* Defines `static int role(int argc, wchar_t **argv)`, run by "--child role ...". */
#define DP_CHILD(role)                                                       \
    static int role(int argc, wchar_t **argv);                               \
    __attribute__((constructor)) static void dptest_register_child_##role(void) \
    {                                                                        \
        dptest_register_child(#role, role, __FILE__, __LINE__);              \
    }                                                                        \
    static int role(int argc, wchar_t **argv)

int dptest_check(int pass, const char *file, int line, const char *fmt, ...)
    DPTEST_PRINTF(4, 5);
void dptest_skip(const char *file, int line, const char *fmt, ...) DPTEST_PRINTF(3, 4);
void dptest_diag(const char *fmt, ...) DPTEST_PRINTF(1, 2);

#define ok(cond, ...) dptest_check((cond) ? 1 : 0, __FILE__, __LINE__, __VA_ARGS__)
#define skip(...)                                                            \
    do {                                                                     \
        dptest_skip(__FILE__, __LINE__, __VA_ARGS__);                        \
        return;                                                              \
    } while (0)

/* Name of the running case (or child role); "" outside of one. Handy for unique
 * object names. */
const char *dptest_current_name(void);
/* Failed checks so far in the running case (or child). */
int dptest_failures(void);

#ifdef _WIN32
typedef struct {
    HANDLE process; /* NULL if the spawn failed (that is already a failed check) */
    HANDLE thread;
    DWORD pid;
} dptest_child;

/* CreateProcessW (no security attributes, the caller's environment), started again when
 * Wine fails a start under load with ERROR_INTERNAL_ERROR; FALSE and GetLastError as it. */
BOOL dptest_create_process(const wchar_t *app, wchar_t *cmd, BOOL inherit, DWORD flags, const wchar_t *dir,
                           STARTUPINFOW *si, PROCESS_INFORMATION *pi);
/* Starts "<this exe> --child <args>"; args_fmt is a swprintf format (%ls for wide
 * strings, %hs for narrow ones). */
dptest_child dptest_spawn(const wchar_t *args_fmt, ...);
/* Waits up to timeout_ms (INFINITE allowed) for the child; true with *exit_code set if it
 * exited in time. On timeout the child is terminated and false returned. Either way the
 * handles are closed and *child zeroed. */
bool dptest_wait_child(dptest_child *child, DWORD timeout_ms, DWORD *exit_code);
#endif

#ifdef __cplusplus
}
#endif

#endif /* DPTEST_H */
