/*
 * test_demo.c - the demo chain end to end: engine.exe (a closed GL render loop) with
 * dpplugin.dll publishing its framebuffer, and viewer.exe receiving it in another
 * process. They sit next to dptest.exe (the Makefile's `all` builds them).
 *
 * The engine draws 90 small frames at 60 fps and resizes its window at frame 30; the
 * viewer runs until it has received frame 70. The viewer checks every frame it receives
 * (the engine's marks: upright, whole, frame numbers increasing; see
 * examples/engine/framestamp.h) and says so in its summary and exit code. Here: the
 * summaries and reports are sane, the snapshot is a PNG of the port's (resized) size, and
 * it is pixel for pixel the engine's own back buffer of the same frame number.
 */
#include <windows.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "dptest.h"

#define DEMO_FRAMES 90     /* the engine draws frames 1..90 */
#define DEMO_UNTIL 70      /* the viewer stops at frame 70 or later */
#define DEMO_RESIZE_AT 30
#define DEMO_W0 320
#define DEMO_H0 192
#define DEMO_W1 288        /* after the resize: still wide enough for the marks */
#define DEMO_H1 160
#define DEMO_WAIT_MS 40000

typedef struct {
    wchar_t dir[MAX_PATH];     /* the executables' directory, with a trailing backslash */
    wchar_t tmp[MAX_PATH];     /* this run's files, with a trailing backslash */
    HANDLE job;                /* kills the children if the runner goes away */
} demo_env;

static void demo_path(wchar_t *out, const wchar_t *base, const wchar_t *file)
{
    swprintf(out, MAX_PATH, L"%ls%ls", base, file);
}

static bool demo_exists(const wchar_t *path)
{
    DWORD a = GetFileAttributesW(path);
    return a != INVALID_FILE_ATTRIBUTES && !(a & FILE_ATTRIBUTE_DIRECTORY);
}

/* Starts cmd (a full command line) in e->tmp with stdout and stderr into log. */
static bool demo_start(demo_env *e, wchar_t *cmd, const wchar_t *log, PROCESS_INFORMATION *pi)
{
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
    STARTUPINFOW si;
    HANDLE out = CreateFileW(log, GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE, &sa, CREATE_ALWAYS,
                             FILE_ATTRIBUTE_NORMAL, NULL);
    bool started;
    memset(&si, 0, sizeof si);
    memset(pi, 0, sizeof *pi);
    if (out == INVALID_HANDLE_VALUE)
        return ok(false, "cannot create %ls (%lu)", log, GetLastError());
    si.cb = sizeof si;
    si.dwFlags = STARTF_USESTDHANDLES;
    si.hStdInput = NULL;
    si.hStdOutput = out;
    si.hStdError = out;
    started = CreateProcessW(NULL, cmd, NULL, NULL, TRUE, CREATE_SUSPENDED, NULL, e->tmp, &si, pi) != 0;
    CloseHandle(out);
    if (!started)
        return ok(false, "CreateProcessW(%ls) failed (%lu)", cmd, GetLastError());
    if (e->job)
        AssignProcessToJobObject(e->job, pi->hProcess);
    ResumeThread(pi->hThread);
    return true;
}

/* Waits for the process until `deadline` (GetTickCount64); terminates it if late. */
static bool demo_wait(PROCESS_INFORMATION *pi, ULONGLONG deadline, DWORD *code)
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

/* Prints a child's log as diagnostics. */
static void demo_show_log(const wchar_t *log, const char *who)
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

/* The value of `key=` in a key=value file; false if there is none. */
static bool demo_key(const wchar_t *file, const char *key, char *out, size_t cap)
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

static long long demo_int(const wchar_t *file, const char *key)
{
    char v[128];
    return demo_key(file, key, v, sizeof v) ? strtoll(v, NULL, 10) : -1;
}

static double demo_double(const wchar_t *file, const char *key)
{
    char v[128];
    return demo_key(file, key, v, sizeof v) ? strtod(v, NULL) : -1.0;
}

/* Width and height from a PNG's IHDR chunk. */
static bool demo_png_size(const wchar_t *path, int *w, int *h)
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

static void demo_remove_dir(const wchar_t *dir)
{
    wchar_t pattern[MAX_PATH], path[MAX_PATH];
    WIN32_FIND_DATAW fd;
    HANDLE h;
    demo_path(pattern, dir, L"*");
    h = FindFirstFileW(pattern, &fd);
    if (h != INVALID_HANDLE_VALUE) {
        do {
            if (!(fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY)) {
                demo_path(path, dir, fd.cFileName);
                DeleteFileW(path);
            }
        } while (FindNextFileW(h, &fd));
        FindClose(h);
    }
    RemoveDirectoryW(dir);
}

DP_TEST(demo_engine_plugin_viewer_chain)
{
    demo_env e = {{0}, {0}, NULL};
    wchar_t engine[MAX_PATH], viewer[MAX_PATH], plugin[MAX_PATH], name[64], cmd[8192], *p;
    wchar_t viewer_txt[MAX_PATH], plugin_txt[MAX_PATH], engine_txt[MAX_PATH], received[MAX_PATH];
    wchar_t engine_png[MAX_PATH], viewer_log[MAX_PATH], engine_log[MAX_PATH], compare_log[MAX_PATH], file[64];
    PROCESS_INFORMATION vpi, epi, cpi;
    JOBOBJECT_EXTENDED_LIMIT_INFORMATION limit;
    DWORD n, vcode = 0, ecode = 0, ccode = 0;
    ULONGLONG deadline;
    bool vok, eok;
    long long snap, received_n;
    int w = 0, h = 0;
    size_t len;

    /* Where dptest.exe is, the demo programs are. */
    n = GetModuleFileNameW(NULL, e.dir, MAX_PATH);
    if (!ok(n > 0 && n < MAX_PATH, "GetModuleFileNameW failed"))
        return;
    p = wcsrchr(e.dir, L'\\');
    if (!p)
        p = wcsrchr(e.dir, L'/');
    if (!ok(p != NULL, "no directory in %ls", e.dir))
        return;
    p[1] = 0;
    demo_path(engine, e.dir, L"engine.exe");
    demo_path(viewer, e.dir, L"viewer.exe");
    demo_path(plugin, e.dir, L"dpplugin.dll");
    if (!ok(demo_exists(engine) && demo_exists(viewer) && demo_exists(plugin),
            "engine.exe, viewer.exe or dpplugin.dll is missing next to dptest.exe (%ls): make builds them", e.dir))
        return;

    n = GetTempPathW(MAX_PATH, e.tmp);
    len = n > 0 && n < MAX_PATH ? n : 0;
    swprintf(e.tmp + len, MAX_PATH - len, L"dptest-demo-%lu\\", (unsigned long)GetCurrentProcessId());
    demo_remove_dir(e.tmp);
    if (!ok(CreateDirectoryW(e.tmp, NULL), "cannot create %ls (%lu)", e.tmp, GetLastError()))
        return;
    swprintf(name, 64, L"dptest-demo-%lu", (unsigned long)GetCurrentProcessId());
    demo_path(viewer_txt, e.tmp, L"viewer.txt");
    demo_path(plugin_txt, e.tmp, L"plugin.txt");
    demo_path(engine_txt, e.tmp, L"engine.txt");
    demo_path(received, e.tmp, L"received.png");
    demo_path(viewer_log, e.tmp, L"viewer.log");
    demo_path(engine_log, e.tmp, L"engine.log");
    demo_path(compare_log, e.tmp, L"compare.log");

    /* Children die with the runner (a watchdog abort ends it without waiting). */
    e.job = CreateJobObjectW(NULL, NULL);
    memset(&limit, 0, sizeof limit);
    limit.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
    if (e.job && !SetInformationJobObject(e.job, JobObjectExtendedLimitInformation, &limit, sizeof limit)) {
        CloseHandle(e.job);
        e.job = NULL;
    }

    /* The viewer first: it waits for the port. */
    swprintf(cmd, 8192,
             L"\"%ls\" --name %ls --until-frame %d --wait-seconds 25 --timeout-seconds 35 --snapshot received.png "
             L"--summary viewer.txt --pos 0 300",
             viewer, name, DEMO_UNTIL);
    if (!demo_start(&e, cmd, viewer_log, &vpi))
        goto out;
    /* Its window is up and it polls for the port: then the engine starts. */
    WaitForInputIdle(vpi.hProcess, 15000);
    len = (size_t)swprintf(cmd, 8192, L"\"%ls\" --size %dx%d --frames %d --fps 60 --resize-at %d %dx%d --pos 0 0 "
                                      L"--report engine.txt",
                           engine, DEMO_W0, DEMO_H0, DEMO_FRAMES, DEMO_RESIZE_AT, DEMO_W1, DEMO_H1);
    for (int f = DEMO_UNTIL; f <= DEMO_FRAMES; f++)
        len += (size_t)swprintf(cmd + len, 8192 - len, L" --dump-frame %d engine-%d.png", f, f);
    swprintf(cmd + len, 8192 - len, L" \"%ls\"", plugin);
    /* The plugin reads its settings from the environment the engine inherits. */
    SetEnvironmentVariableW(L"DIRECTPORT_NAME", name);
    SetEnvironmentVariableW(L"DIRECTPORT_PLUGIN_REPORT", plugin_txt);
    eok = demo_start(&e, cmd, engine_log, &epi);
    SetEnvironmentVariableW(L"DIRECTPORT_NAME", NULL);
    SetEnvironmentVariableW(L"DIRECTPORT_PLUGIN_REPORT", NULL);
    deadline = GetTickCount64() + DEMO_WAIT_MS;
    eok = eok && demo_wait(&epi, deadline, &ecode);
    if (eok && ecode == 3) {
        demo_wait(&vpi, 0, &vcode);
        demo_show_log(engine_log, "engine");
        if (e.job)
            CloseHandle(e.job);
        demo_remove_dir(e.tmp);
        skip("the engine has no window with a GL context here");
    }
    vok = demo_wait(&vpi, deadline, &vcode);

    ok(vok && vcode == 0, "viewer.exe: exit code %lu%s", vcode, vok ? "" : " (did not finish in time)");
    ok(eok && ecode == 0, "engine.exe: exit code %lu%s", ecode, eok ? "" : " (did not finish in time)");
    if (dptest_failures()) {
        demo_show_log(engine_log, "engine");
        demo_show_log(viewer_log, "viewer");
    }

    /* The engine's report: every frame drawn, ending at the resized size. */
    ok(demo_int(engine_txt, "frames") == DEMO_FRAMES, "engine drew %lld frames, not %d",
       demo_int(engine_txt, "frames"), DEMO_FRAMES);
    ok(demo_int(engine_txt, "width") == DEMO_W1 && demo_int(engine_txt, "height") == DEMO_H1,
       "engine ended at %lldx%lld, not %dx%d after --resize-at", demo_int(engine_txt, "width"),
       demo_int(engine_txt, "height"), DEMO_W1, DEMO_H1);

    /* The plugin's cost report: it saw every frame, published most, failed none. */
    {
        long long frames = demo_int(plugin_txt, "frames"), pub = demo_int(plugin_txt, "published");
        long long dropped = demo_int(plugin_txt, "dropped"), failed = demo_int(plugin_txt, "failed");
        double p50 = demo_double(plugin_txt, "cost_ms_p50"), p99 = demo_double(plugin_txt, "cost_ms_p99");
        ok(frames == DEMO_FRAMES, "plugin saw %lld frames, not %d (no report at %ls?)", frames, DEMO_FRAMES,
           plugin_txt);
        ok(pub > 0 && dropped >= 0 && failed == 0 && pub + dropped + failed == frames,
           "plugin: %lld published + %lld dropped + %lld failed != %lld frames", pub, dropped, failed, frames);
        ok(pub >= DEMO_FRAMES / 2, "plugin published only %lld of %d frames", pub, DEMO_FRAMES);
        ok(p50 > 0 && p99 >= p50 && p99 < 1000, "plugin cost per frame: p50 %.4f ms, p99 %.4f ms", p50, p99);
        dptest_diag("plugin: %lld published, %lld dropped; cost per frame p50 %.3f ms, p99 %.3f ms", pub, dropped,
                    p50, p99);
    }

    /* The viewer's summary: frames arrived whole, upright and in order. */
    received_n = demo_int(viewer_txt, "frames_received");
    snap = demo_int(viewer_txt, "snapshot_frame");
    ok(received_n >= 10, "viewer received %lld frames", received_n);
    ok(demo_int(viewer_txt, "bad_frames") == 0, "viewer: %lld damaged frames", demo_int(viewer_txt, "bad_frames"));
    ok(demo_int(viewer_txt, "out_of_order") == 0, "viewer: %lld frames out of order",
       demo_int(viewer_txt, "out_of_order"));
    ok(demo_int(viewer_txt, "unmarked") == 0, "viewer: %lld frames without marks", demo_int(viewer_txt, "unmarked"));
    ok(demo_int(viewer_txt, "last_frame") >= DEMO_UNTIL, "viewer stopped at frame %lld, before %d",
       demo_int(viewer_txt, "last_frame"), DEMO_UNTIL);
    ok(snap >= DEMO_UNTIL && snap <= DEMO_FRAMES, "viewer's snapshot is of frame %lld", snap);
    ok(demo_int(viewer_txt, "latency_samples") == received_n, "latency measured for %lld of %lld frames",
       demo_int(viewer_txt, "latency_samples"), received_n);
    {
        char v[160] = "";
        if (demo_key(viewer_txt, "first_problem", v, sizeof v))
            dptest_diag("viewer: first problem: %s", v);
        demo_key(viewer_txt, "result", v, sizeof v);
        ok(!strcmp(v, "ok"), "viewer's result: %s", v);
        dptest_diag("viewer: %lld frames received (%lld..%lld), latency p50 %.2f ms, p99 %.2f ms", received_n,
                    demo_int(viewer_txt, "first_frame"), demo_int(viewer_txt, "last_frame"),
                    demo_double(viewer_txt, "latency_ms_p50"), demo_double(viewer_txt, "latency_ms_p99"));
    }

    /* The snapshot: a PNG of the port's size, identical to the engine's frame. */
    ok(demo_png_size(received, &w, &h) && w == DEMO_W1 && h == DEMO_H1, "snapshot %ls is %dx%d, not %dx%d", received,
       w, h, DEMO_W1, DEMO_H1);
    if (snap >= DEMO_UNTIL && snap <= DEMO_FRAMES) {
        swprintf(file, 64, L"engine-%lld.png", snap);
        demo_path(engine_png, e.tmp, file);
        ok(demo_exists(engine_png), "the engine did not write %ls", engine_png);
        swprintf(cmd, 8192, L"\"%ls\" --compare received.png %ls", viewer, file);
        if (demo_start(&e, cmd, compare_log, &cpi)) {
            bool cok = demo_wait(&cpi, GetTickCount64() + 20000, &ccode);
            if (!ok(cok && ccode == 0, "received.png and %ls differ (exit code %lu)", file, ccode))
                demo_show_log(compare_log, "compare");
        }
    }

out:
    if (e.job)
        CloseHandle(e.job);
    if (!dptest_failures())
        demo_remove_dir(e.tmp);
    else
        dptest_diag("files kept in %ls", e.tmp);
}
