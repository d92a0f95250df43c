/*
 * dptest_main.c - the runner behind tests/dptest.h: registration, filtering, result
 * lines, per-case watchdog, crash reporting and (Windows) child processes.
 * Builds for mingw (dptest.exe) and natively (build/native/unit).
 */
#ifndef _WIN32
#define _POSIX_C_SOURCE 200809L
#endif

#include "dptest.h"

#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#include <fcntl.h>
#include <io.h>
#include <shellapi.h>
#else
#include <pthread.h>
#include <time.h>
#include <unistd.h>
#endif

#define DEFAULT_TIMEOUT_S 120u

typedef struct {
    const char *name;
    dptest_fn fn;
    const char *file;
    int line;
} test_case;

typedef struct {
    const char *role;
    dptest_child_fn fn;
} child_role;

static test_case *g_cases;
static size_t g_ncases, g_capcases;
static child_role *g_roles;
static size_t g_nroles, g_caproles;
static int g_registration_failed; /* out of memory in a constructor */
static void (*g_prologue)(void);
static void (*g_epilogue)(void);

void dptest_register_prologue(void (*fn)(void))
{
    g_prologue = fn;
}

void dptest_register_epilogue(void (*fn)(void))
{
    g_epilogue = fn;
}

/* State of the running case, shared with the watchdog and crash handlers. */
static const char *volatile g_cur_name = "";
static volatile unsigned g_cur_number;     /* 0: between cases */
static _Atomic int g_cur_failures;
static _Atomic int g_cur_skipped;
static char g_skip_reason[1024];
static unsigned g_passed, g_failed, g_skipped;
static int g_child_mode;
static unsigned g_timeout_s = DEFAULT_TIMEOUT_S;

/* ---- registration ---------------------------------------------------------------- */

void dptest_register(const char *name, dptest_fn fn, const char *file, int line)
{
    if (g_ncases == g_capcases) {
        size_t cap = g_capcases ? g_capcases * 2 : 64;
        test_case *n = realloc(g_cases, cap * sizeof *n);
        if (!n) {
            g_registration_failed = 1;
            return;
        }
        g_cases = n;
        g_capcases = cap;
    }
    g_cases[g_ncases++] = (test_case){ name, fn, file, line };
}

void dptest_register_child(const char *role, dptest_child_fn fn, const char *file, int line)
{
    (void)file;
    (void)line;
    if (g_nroles == g_caproles) {
        size_t cap = g_caproles ? g_caproles * 2 : 16;
        child_role *n = realloc(g_roles, cap * sizeof *n);
        if (!n) {
            g_registration_failed = 1;
            return;
        }
        g_roles = n;
        g_caproles = cap;
    }
    g_roles[g_nroles++] = (child_role){ role, fn };
}

/* ---- output -------------------------------------------------------------------------- */

/* One line per call, written whole and flushed: stdout may be a pipe shared with
 * child processes. */
static void emit_line(const char *text)
{
    fputs(text, stdout);
    fputc('\n', stdout);
    fflush(stdout);
}

/* Prints msg as "# " lines, one per line of msg. */
static void emit_diag(const char *prefix, const char *msg)
{
    char line[2048];
    const char *p = msg;
    do {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        snprintf(line, sizeof line, "# %s%.*s", prefix, (int)len, p);
        emit_line(line);
        p = nl ? nl + 1 : NULL;
    } while (p && *p);
}

/* Writes straight to the stdout handle, bypassing stdio's lock: used by the watchdog
 * and the crash handlers, which may interrupt a thread holding that lock. */
static void raw_write(const char *text)
{
    size_t len = strlen(text);
#ifdef _WIN32
    DWORD written;
    WriteFile(GetStdHandle(STD_OUTPUT_HANDLE), text, (DWORD)len, &written, NULL);
#else
    while (len) {
        ssize_t n = write(1, text, len);
        if (n <= 0)
            break;
        text += n;
        len -= (size_t)n;
    }
#endif
}

/* ---- checks ---------------------------------------------------------------------------- */

/* Where the last check ran: a case that hangs is reported with it. */
static const char *volatile g_last_file;
static volatile int g_last_line;

int dptest_check(int pass, const char *file, int line, const char *fmt, ...)
{
    g_last_file = file;
    g_last_line = line;
    if (pass)
        return 1;
    atomic_fetch_add(&g_cur_failures, 1);
    char msg[1536], where[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(where, sizeof where, "%s:%d: ", file, line);
    emit_diag(where, msg);
    return 0;
}

void dptest_skip(const char *file, int line, const char *fmt, ...)
{
    (void)file;
    (void)line;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_skip_reason, sizeof g_skip_reason, fmt, ap);
    va_end(ap);
    /* The reason goes on the result line: keep it to one line. */
    for (char *p = g_skip_reason; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    atomic_store(&g_cur_skipped, 1);
}

void dptest_diag(const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    emit_diag("", msg);
}

const char *dptest_current_name(void)
{
    return g_cur_name;
}

int dptest_failures(void)
{
    return atomic_load(&g_cur_failures);
}

/* ---- children (Windows) ------------------------------------------------------------- */

#ifdef _WIN32
/* Live children, terminated if the runner aborts (watchdog, crash). */
#define MAX_LIVE_CHILDREN 64
static HANDLE g_live_children[MAX_LIVE_CHILDREN];
static CRITICAL_SECTION g_children_lock;

static void track_child(HANDLE process, bool add)
{
    EnterCriticalSection(&g_children_lock);
    for (int i = 0; i < MAX_LIVE_CHILDREN; i++) {
        if (add && !g_live_children[i]) {
            g_live_children[i] = process;
            break;
        }
        if (!add && g_live_children[i] == process) {
            g_live_children[i] = NULL;
            break;
        }
    }
    LeaveCriticalSection(&g_children_lock);
}

static void kill_live_children(void)
{
    /* No lock: called from the watchdog or a crash handler, where the lock may be held
     * by the interrupted thread. A handle seen here is still open (closed after untrack). */
    for (int i = 0; i < MAX_LIVE_CHILDREN; i++)
        if (g_live_children[i])
            TerminateProcess(g_live_children[i], 0xDEAD);
}

BOOL dptest_create_process(const wchar_t *app, wchar_t *cmd, BOOL inherit, DWORD flags, const wchar_t *dir,
                           STARTUPINFOW *si, PROCESS_INFORMATION *pi)
{
    /* Under load Wine's CreateProcessW now and then fails with ERROR_INTERNAL_ERROR
     * (1359) while the new process starts: a failure of the machine, not of the case.
     * Such a start is tried again, a few times, each failure said. */
    for (int attempt = 1;; attempt++) {
        if (CreateProcessW(app, cmd, NULL, NULL, inherit, flags, NULL, dir, si, pi))
            return TRUE;
        DWORD err = GetLastError();
        if (err != ERROR_INTERNAL_ERROR || attempt == 4) {
            SetLastError(err);
            return FALSE;
        }
        dptest_diag("CreateProcessW failed (%lu), attempt %d; starting again", err, attempt);
        Sleep(200u * (DWORD)attempt);
    }
}

dptest_child dptest_spawn(const wchar_t *args_fmt, ...)
{
    dptest_child child = { NULL, NULL, 0 };
    wchar_t exe[MAX_PATH * 2];
    DWORD n = GetModuleFileNameW(NULL, exe, sizeof exe / sizeof exe[0]);
    if (n == 0 || n >= sizeof exe / sizeof exe[0]) {
        dptest_check(0, __FILE__, __LINE__, "dptest_spawn: GetModuleFileNameW failed (%lu)",
                     GetLastError());
        return child;
    }
    wchar_t args[4096];
    va_list ap;
    va_start(ap, args_fmt);
    int len = vswprintf(args, sizeof args / sizeof args[0], args_fmt, ap);
    va_end(ap);
    if (len < 0) {
        dptest_check(0, __FILE__, __LINE__, "dptest_spawn: arguments too long or bad format");
        return child;
    }
    size_t cmdcap = wcslen(exe) + (size_t)len + 32;
    wchar_t *cmd = malloc(cmdcap * sizeof *cmd);
    if (!cmd) {
        dptest_check(0, __FILE__, __LINE__, "dptest_spawn: out of memory");
        return child;
    }
    swprintf(cmd, cmdcap, L"\"%ls\" --child %ls", exe, args);

    STARTUPINFOW si;
    memset(&si, 0, sizeof si);
    si.cb = sizeof si;
    si.dwFlags = STARTF_USESTDHANDLES;
    si.hStdInput = GetStdHandle(STD_INPUT_HANDLE);
    si.hStdOutput = GetStdHandle(STD_OUTPUT_HANDLE);
    si.hStdError = GetStdHandle(STD_ERROR_HANDLE);
    PROCESS_INFORMATION pi;
    memset(&pi, 0, sizeof pi);
    fflush(stdout);
    fflush(stderr);
    if (!dptest_create_process(exe, cmd, TRUE, 0, NULL, &si, &pi)) {
        dptest_check(0, __FILE__, __LINE__, "dptest_spawn: CreateProcessW(%ls) failed (%lu)", cmd,
                     GetLastError());
        free(cmd);
        return child;
    }
    free(cmd);
    child.process = pi.hProcess;
    child.thread = pi.hThread;
    child.pid = pi.dwProcessId;
    track_child(child.process, true);
    return child;
}

bool dptest_wait_child(dptest_child *child, DWORD timeout_ms, DWORD *exit_code)
{
    bool exited = false;
    DWORD code = 0xFFFFFFFFu;
    if (!child || !child->process) {
        if (exit_code)
            *exit_code = code;
        return false;
    }
    DWORD w = WaitForSingleObject(child->process, timeout_ms);
    if (w == WAIT_OBJECT_0) {
        exited = GetExitCodeProcess(child->process, &code) != 0;
    } else {
        dptest_diag("child %lu did not exit within %lu ms: terminating it",
                    (unsigned long)child->pid, (unsigned long)timeout_ms);
        TerminateProcess(child->process, 0xDEAD);
        WaitForSingleObject(child->process, 5000);
    }
    track_child(child->process, false);
    CloseHandle(child->process);
    if (child->thread)
        CloseHandle(child->thread);
    child->process = child->thread = NULL;
    child->pid = 0;
    if (exit_code)
        *exit_code = code;
    return exited;
}
#else
static void kill_live_children(void)
{
}
#endif

/* ---- abort paths: watchdog, crashes ------------------------------------------------ */

/* Reports the running case as failed, prints the summary and ends the process. Only
 * raw writes and snprintf: the interrupted thread may hold stdio's lock. */
static void abort_run(const char *why, int child_exit_code)
{
    char buf[1024];
    kill_live_children();
    if (g_child_mode) {
        snprintf(buf, sizeof buf, "# child %s: %s\n", g_cur_name, why);
        raw_write(buf);
#ifdef _WIN32
        ExitProcess((UINT)child_exit_code);
#else
        _exit(child_exit_code);
#endif
    }
    if (g_cur_number) {
        snprintf(buf, sizeof buf, "not ok %u - %s # %s\n", g_cur_number, g_cur_name, why);
        raw_write(buf);
        g_failed++;
    } else {
        snprintf(buf, sizeof buf, "# runner: %s\n", why);
        raw_write(buf);
        g_failed++;
    }
    snprintf(buf, sizeof buf, "# aborted: the remaining cases were not run\n%u passed, %u failed, %u skipped\n",
             g_passed, g_failed, g_skipped);
    raw_write(buf);
#ifdef _WIN32
    ExitProcess(3);
#else
    _exit(3);
#endif
}

static volatile uint64_t g_case_start_ms;

static uint64_t now_ms(void)
{
#ifdef _WIN32
    return GetTickCount64();
#else
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
#endif
}

static void watchdog_poll(void)
{
    uint64_t start = g_case_start_ms;
    if (start && now_ms() - start > (uint64_t)g_timeout_s * 1000u) {
        char why[256];
        if (g_last_file)
            snprintf(why, sizeof why, "timed out after %u s; the last check ran at %s:%d", g_timeout_s,
                     g_last_file, g_last_line);
        else
            snprintf(why, sizeof why, "timed out after %u s", g_timeout_s);
        abort_run(why, 124);
    }
}

#ifdef _WIN32
static DWORD WINAPI watchdog_thread(void *arg)
{
    (void)arg;
    for (;;) {
        Sleep(250);
        watchdog_poll();
    }
    return 0;
}

static LONG WINAPI crash_filter(EXCEPTION_POINTERS *ep)
{
    char why[160];
    snprintf(why, sizeof why, "crashed: exception 0x%08lx at %p",
             (unsigned long)ep->ExceptionRecord->ExceptionCode,
             ep->ExceptionRecord->ExceptionAddress);
    abort_run(why, 125);
    return EXCEPTION_EXECUTE_HANDLER;
}

static void on_sigabrt(int sig)
{
    (void)sig;
    abort_run("crashed: abort()", 125);
}

static void start_guards(void)
{
    /* No error dialogs: nobody is there to click them away. */
    SetErrorMode(SEM_FAILCRITICALERRORS | SEM_NOGPFAULTERRORBOX | SEM_NOOPENFILEERRORBOX);
    SetUnhandledExceptionFilter(crash_filter);
    signal(SIGABRT, on_sigabrt);
    HANDLE t = CreateThread(NULL, 0, watchdog_thread, NULL, 0, NULL);
    if (t)
        CloseHandle(t);
    else
        emit_line("# warning: no watchdog thread");
}
#else
static void *watchdog_thread(void *arg)
{
    (void)arg;
    for (;;) {
        struct timespec ts = { 0, 250 * 1000 * 1000 };
        nanosleep(&ts, NULL);
        watchdog_poll();
    }
    return NULL;
}

static void start_guards(void)
{
    pthread_t t;
    if (pthread_create(&t, NULL, watchdog_thread, NULL) == 0)
        pthread_detach(t);
    else
        emit_line("# warning: no watchdog thread");
}
#endif

/* ---- running ----------------------------------------------------------------------- */

static int case_order(const void *a, const void *b)
{
    const test_case *x = a, *y = b;
    int c = strcmp(x->file, y->file);
    if (c)
        return c;
    return (x->line > y->line) - (x->line < y->line);
}

static bool selected(const char *name, int nfilters, char **filters)
{
    if (nfilters == 0)
        return true;
    for (int i = 0; i < nfilters; i++)
        if (strstr(name, filters[i]))
            return true;
    return false;
}

static bool duplicate_name(size_t i)
{
    for (size_t j = 0; j < g_ncases; j++)
        if (j != i && strcmp(g_cases[j].name, g_cases[i].name) == 0)
            return true;
    return false;
}

static void run_case(unsigned number, const test_case *tc)
{
    char line[1400];
    atomic_store(&g_cur_failures, 0);
    atomic_store(&g_cur_skipped, 0);
    g_skip_reason[0] = 0;
    g_cur_name = tc->name;
    g_cur_number = number;

    if (duplicate_name((size_t)(tc - g_cases))) {
        snprintf(line, sizeof line, "# %s:%d: another case has the name %s", tc->file,
                 tc->line, tc->name);
        emit_line(line);
        atomic_store(&g_cur_failures, 1);
    } else {
        uint64_t t0 = now_ms();
        g_last_file = NULL;
        g_case_start_ms = t0 ? t0 : 1;
        tc->fn();
        if (g_epilogue)
            g_epilogue();
        g_case_start_ms = 0;
        uint64_t took = now_ms() - t0;
        if (took >= 5000) {
            snprintf(line, sizeof line, "# %s took %.1f s", tc->name, (double)took / 1000.0);
            emit_line(line);
        }
    }

    if (atomic_load(&g_cur_failures)) {
        if (atomic_load(&g_cur_skipped)) {
            snprintf(line, sizeof line, "# (skipped after failing: %s)", g_skip_reason);
            emit_line(line);
        }
        snprintf(line, sizeof line, "not ok %u - %s", number, tc->name);
        g_failed++;
    } else if (atomic_load(&g_cur_skipped)) {
        snprintf(line, sizeof line, "skip %u - %s # %s", number, tc->name, g_skip_reason);
        g_skipped++;
    } else {
        snprintf(line, sizeof line, "ok %u - %s", number, tc->name);
        g_passed++;
    }
    emit_line(line);
    g_cur_number = 0;
    g_cur_name = "";
}

#ifdef _WIN32
static int run_child(void)
{
    int wargc = 0;
    wchar_t **wargv = CommandLineToArgvW(GetCommandLineW(), &wargc);
    if (!wargv || wargc < 3) {
        emit_line("# --child: no role given");
        return 127;
    }
    char role[128];
    snprintf(role, sizeof role, "%ls", wargv[2]);
    for (size_t i = 0; i < g_nroles; i++) {
        if (strcmp(g_roles[i].role, role) == 0) {
            g_cur_name = g_roles[i].role;
            g_case_start_ms = now_ms();
            int rc = g_roles[i].fn(wargc - 2, wargv + 2);
            g_case_start_ms = 0;
            if (rc == 0 && atomic_load(&g_cur_failures))
                rc = 1;
            fflush(stdout);
            fflush(stderr);
            LocalFree(wargv);
            return rc;
        }
    }
    char line[200];
    snprintf(line, sizeof line, "# --child: unknown role '%s'", role);
    emit_line(line);
    LocalFree(wargv);
    return 127;
}
#endif

int main(int argc, char **argv)
{
#ifdef _WIN32
    /* No CRLF translation: the output is parsed on Linux. */
    _setmode(_fileno(stdout), _O_BINARY);
    _setmode(_fileno(stderr), _O_BINARY);
    InitializeCriticalSection(&g_children_lock);
#endif
    static char outbuf[1 << 14];
    setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);

    const char *t = getenv("DPTEST_TIMEOUT");
    if (t && atoi(t) > 0)
        g_timeout_s = (unsigned)atoi(t);

    if (g_registration_failed) {
        emit_line("# runner: out of memory while registering cases");
        emit_line("0 passed, 1 failed, 0 skipped");
        return 1;
    }

#ifdef _WIN32
    if (argc >= 2 && strcmp(argv[1], "--child") == 0) {
        g_child_mode = 1;
        start_guards();
        return run_child();
    }
#endif

    qsort(g_cases, g_ncases, sizeof *g_cases, case_order);

    int nfilters = 0;
    char **filters = argv + 1;
    bool list = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--list") == 0)
            list = true;
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            emit_line("usage: dptest [--list] [substring...]   (DPTEST_TIMEOUT=seconds per case)");
            return 0;
        } else
            filters[nfilters++] = argv[i];
    }

    if (list) {
        for (size_t i = 0; i < g_ncases; i++)
            if (selected(g_cases[i].name, nfilters, filters))
                emit_line(g_cases[i].name);
        return 0;
    }

    if (g_prologue)
        g_prologue();
    start_guards();
    unsigned number = 0;
    for (size_t i = 0; i < g_ncases; i++)
        if (selected(g_cases[i].name, nfilters, filters))
            run_case(++number, &g_cases[i]);

    if (number == 0) {
        emit_line(nfilters ? "# no case matches the filter" : "# no case registered");
        g_failed++;
    }
    char line[128];
    snprintf(line, sizeof line, "%u passed, %u failed, %u skipped", g_passed, g_failed,
             g_skipped);
    emit_line(line);
    return g_failed ? 1 : 0;
}
