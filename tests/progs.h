/*
 * progs.h - the programs next to dptest.exe (engine.exe, viewer.exe, dpcapture.exe...)
 * run as real processes by the end-to-end cases: a directory of the case's own for their
 * files, a job that kills them if the runner goes away, their key=value reports.
 */
#ifndef PROGS_H
#define PROGS_H

#include <windows.h>

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    wchar_t dir[MAX_PATH]; /* the executables' directory, with a trailing backslash */
    wchar_t tmp[MAX_PATH]; /* this case's files, with a trailing backslash */
    HANDLE job;            /* kills the children if the runner goes away */
} pg_env;

/* Finds dptest.exe's directory and makes tmp (%TEMP%\dptest-<tag>-<pid>\, emptied)
 * and the job. false (a failed check said why) if it cannot. */
bool pg_env_init(pg_env *e, const char *tag);
/* Closes the job (its processes die) and removes tmp unless the case failed. */
void pg_env_end(pg_env *e);

/* out = base + file (MAX_PATH). */
void pg_path(wchar_t *out, const wchar_t *base, const wchar_t *file);
bool pg_exists(const wchar_t *path);
/* Starts cmd (a full command line) in e->tmp, stdout and stderr into log (NULL: none),
 * in the job. */
bool pg_start(pg_env *e, wchar_t *cmd, const wchar_t *log, PROCESS_INFORMATION *pi);
/* Waits for the process until `deadline` (GetTickCount64); terminates it if late. Closes
 * its handles. */
bool pg_wait(PROCESS_INFORMATION *pi, ULONGLONG deadline, DWORD *code);
/* Starts cmd and waits up to timeout_ms: its exit code, 0xDEAD if late or not started. */
DWORD pg_run(pg_env *e, wchar_t *cmd, const wchar_t *log, DWORD timeout_ms);
/* A child's log as diagnostics. */
void pg_show_log(const wchar_t *log, const char *who);
/* Whether the text file holds `text`. */
bool pg_log_has(const wchar_t *log, const char *text);

/* The value of `key=` in a key=value file; false if there is none. */
bool pg_key(const wchar_t *file, const char *key, char *out, size_t cap);
long long pg_int(const wchar_t *file, const char *key);   /* -1 if none */
double pg_double(const wchar_t *file, const char *key);   /* -1 if none */

/* Width and height from a PNG's IHDR chunk. */
bool pg_png_size(const wchar_t *path, int *w, int *h);

#endif /* PROGS_H */
