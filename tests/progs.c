/*
 * progs.c - see progs.h.
 */
#include "progs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "dptest.h"

void pg_path(wchar_t *out, const wchar_t *base, const wchar_t *file)
{
    swprintf(out, MAX_PATH, L"%ls%ls", base, file);
}

bool pg_exists(const wchar_t *path)
{
    DWORD a = GetFileAttributesW(path);
    return a != INVALID_FILE_ATTRIBUTES && !(a & FILE_ATTRIBUTE_DIRECTORY);
}

static void pg_remove_dir(const wchar_t *dir)
{
    wchar_t pattern[MAX_PATH], path[MAX_PATH];
    WIN32_FIND_DATAW fd;
    HANDLE h;
    pg_path(pattern, dir, L"*");
    h = FindFirstFileW(pattern, &fd);
    if (h != INVALID_HANDLE_VALUE) {
        do {
            if (!(fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY)) {
                pg_path(path, dir, fd.cFileName);
                DeleteFileW(path);
            }
        } while (FindNextFileW(h, &fd));
        FindClose(h);
    }
    RemoveDirectoryW(dir);
}

bool pg_env_init(pg_env *e, const char *tag)
{
    JOBOBJECT_EXTENDED_LIMIT_INFORMATION limit;
    wchar_t *p;
    DWORD n;
    size_t len;

    memset(e, 0, sizeof *e);
    /* Where dptest.exe is, the other programs are. */
    n = GetModuleFileNameW(NULL, e->dir, MAX_PATH);
    if (!ok(n > 0 && n < MAX_PATH, "GetModuleFileNameW failed"))
        return false;
    p = wcsrchr(e->dir, L'\\');
    if (!p)
        p = wcsrchr(e->dir, L'/');
    if (!ok(p != NULL, "no directory in %ls", e->dir))
        return false;
    p[1] = 0;

    n = GetTempPathW(MAX_PATH, e->tmp);
    len = n > 0 && n < MAX_PATH ? n : 0;
    swprintf(e->tmp + len, MAX_PATH - len, L"dptest-%hs-%lu\\", tag, (unsigned long)GetCurrentProcessId());
    pg_remove_dir(e->tmp);
    if (!ok(CreateDirectoryW(e->tmp, NULL), "cannot create %ls (%lu)", e->tmp, GetLastError()))
        return false;

    /* Children die with the runner (a watchdog abort ends it without waiting). */
    e->job = CreateJobObjectW(NULL, NULL);
    memset(&limit, 0, sizeof limit);
    limit.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
    if (e->job && !SetInformationJobObject(e->job, JobObjectExtendedLimitInformation, &limit, sizeof limit)) {
        CloseHandle(e->job);
        e->job = NULL;
    }
    return true;
}

void pg_env_end(pg_env *e)
{
    if (e->job)
        CloseHandle(e->job);
    e->job = NULL;
    if (!e->tmp[0])
        return;
    if (!dptest_failures())
        pg_remove_dir(e->tmp);
    else
        dptest_diag("files kept in %ls", e->tmp);
}

bool pg_start(pg_env *e, wchar_t *cmd, const wchar_t *log, PROCESS_INFORMATION *pi)
{
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
    STARTUPINFOW si;
    HANDLE out = NULL;
    bool started;
    memset(&si, 0, sizeof si);
    memset(pi, 0, sizeof *pi);
    if (log) {
        out = CreateFileW(log, GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE, &sa, CREATE_ALWAYS,
                          FILE_ATTRIBUTE_NORMAL, NULL);
        if (out == INVALID_HANDLE_VALUE)
            return ok(false, "cannot create %ls (%lu)", log, GetLastError());
    }
    si.cb = sizeof si;
    si.dwFlags = STARTF_USESTDHANDLES;
    si.hStdInput = NULL;
    si.hStdOutput = out;
    si.hStdError = out;
    started = dptest_create_process(NULL, cmd, TRUE, CREATE_SUSPENDED, e->tmp, &si, pi) != 0;
    if (out)
        CloseHandle(out);
    if (!started)
        return ok(false, "CreateProcessW(%ls) failed (%lu)", cmd, GetLastError());
    if (e->job)
        AssignProcessToJobObject(e->job, pi->hProcess);
    ResumeThread(pi->hThread);
    return true;
}

bool pg_wait(PROCESS_INFORMATION *pi, ULONGLONG deadline, DWORD *code)
{
    ULONGLONG now = GetTickCount64();
    DWORD w = WaitForSingleObject(pi->hProcess, now < deadline ? (DWORD)(deadline - now) : 0);
    bool exited = w == WAIT_OBJECT_0 && GetExitCodeProcess(pi->hProcess, code);
    if (!exited) {
        TerminateProcess(pi->hProcess, 0xDEAD);
        WaitForSingleObject(pi->hProcess, 5000);
        *code = 0xDEAD;
    }
    CloseHandle(pi->hThread);
    CloseHandle(pi->hProcess);
    memset(pi, 0, sizeof *pi);
    return exited;
}

DWORD pg_run(pg_env *e, wchar_t *cmd, const wchar_t *log, DWORD timeout_ms)
{
    PROCESS_INFORMATION pi;
    DWORD code = 0xDEAD;
    if (!pg_start(e, cmd, log, &pi))
        return 0xDEAD;
    pg_wait(&pi, GetTickCount64() + timeout_ms, &code);
    return code;
}

void pg_show_log(const wchar_t *log, const char *who)
{
    FILE *f = _wfopen(log, L"r");
    char line[512];
    if (!f)
        return;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        dptest_diag("%s: %s", who, line);
    }
    fclose(f);
}

bool pg_log_has(const wchar_t *log, const char *text)
{
    FILE *f = _wfopen(log, L"r");
    char line[1024];
    bool found = false;
    if (!f)
        return false;
    while (!found && fgets(line, sizeof line, f))
        found = strstr(line, text) != NULL;
    fclose(f);
    return found;
}

bool pg_key(const wchar_t *file, const char *key, char *out, size_t cap)
{
    FILE *f = _wfopen(file, L"r");
    char line[512];
    size_t n = strlen(key);
    bool found = false;
    if (!f)
        return false;
    while (!found && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        if (!strncmp(line, key, n) && line[n] == '=') {
            snprintf(out, cap, "%s", line + n + 1);
            found = true;
        }
    }
    fclose(f);
    return found;
}

long long pg_int(const wchar_t *file, const char *key)
{
    char v[128];
    return pg_key(file, key, v, sizeof v) ? strtoll(v, NULL, 10) : -1;
}

double pg_double(const wchar_t *file, const char *key)
{
    char v[128];
    return pg_key(file, key, v, sizeof v) ? strtod(v, NULL) : -1.0;
}

bool pg_png_size(const wchar_t *path, int *w, int *h)
{
    static const unsigned char SIG[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    unsigned char b[24];
    FILE *f = _wfopen(path, L"rb");
    bool good;
    if (!f)
        return false;
    good = fread(b, 1, sizeof b, f) == sizeof b && !memcmp(b, SIG, 8) && !memcmp(b + 12, "IHDR", 4);
    fclose(f);
    if (good) {
        *w = (int)((unsigned)b[16] << 24 | (unsigned)b[17] << 16 | (unsigned)b[18] << 8 | b[19]);
        *h = (int)((unsigned)b[20] << 24 | (unsigned)b[21] << 16 | (unsigned)b[22] << 8 | b[23]);
    }
    return good;
}
