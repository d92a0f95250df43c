/*
 * test_capture.c - dpcapture.exe and dphook.dll with real processes and pixels: a GL
 * application with no plugin interface (engine.exe started without one, or a child of
 * this runner drawing gu's pattern) captured into a port, read by viewer.exe or by a
 * dpgl consumer here. What a user checks: frames that arrive whole and in order and are
 * the application's own pixels, the application going on unharmed after detach, clear
 * exit codes for what cannot be attached (capture/dpcapture.c lists them).
 */
#include <windows.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "adapters/gl/dpgl.h"
#include "dptest.h"
#include "glutil.h"
#include "progs.h"
#include "capture/capture.h"
#include "../examples/engine/framestamp.h"

#define CAP_W0 320
#define CAP_H0 192
#define CAP_W1 288 /* after a resize: still wide enough for the engine's marks */
#define CAP_H1 160
#define CAP_RUN_MS 30000

/* dpcapture's exit codes (capture/dpcapture.c). */
#define CAP_EXIT_USAGE 2
#define CAP_EXIT_NO_PROCESS 3
#define CAP_EXIT_NOT_GL 6
#define CAP_EXIT_ATTACHED 7
#define CAP_EXIT_NOT_ATTACHED 8
#define CAP_EXIT_NAME_IN_USE 9

typedef struct {
    pg_env e;
    wchar_t engine[MAX_PATH], viewer[MAX_PATH], dpcapture[MAX_PATH], hook[MAX_PATH];
    wchar_t name[64];
    int runs; /* dpcapture runs so far: each its own log */
    wchar_t log[MAX_PATH];
} cap_env;

static bool cap_init(cap_env *c, const char *tag)
{
    memset(c, 0, sizeof *c);
    if (!pg_env_init(&c->e, tag))
        return false;
    pg_path(c->engine, c->e.dir, L"engine.exe");
    pg_path(c->viewer, c->e.dir, L"viewer.exe");
    pg_path(c->dpcapture, c->e.dir, L"dpcapture.exe");
    pg_path(c->hook, c->e.dir, L"dphook.dll");
    swprintf(c->name, 64, L"dptest-%hs-%lu", tag, (unsigned long)GetCurrentProcessId());
    return ok(pg_exists(c->engine) && pg_exists(c->viewer) && pg_exists(c->dpcapture) && pg_exists(c->hook),
              "engine.exe, viewer.exe, dpcapture.exe or dphook.dll is missing next to dptest.exe (%ls): make builds "
              "them",
              c->e.dir);
}

/* Runs dpcapture with args (a swprintf format); its exit code. Its output goes to
 * c->log (shown when the case fails). */
static DWORD cap_run(cap_env *c, const wchar_t *fmt, ...)
{
    wchar_t args[2048], cmd[4096], file[32];
    va_list ap;
    va_start(ap, fmt);
    vswprintf(args, 2048, fmt, ap);
    va_end(ap);
    swprintf(file, 32, L"dpcapture-%d.log", ++c->runs);
    pg_path(c->log, c->e.tmp, file);
    swprintf(cmd, 4096, L"\"%ls\" %ls", c->dpcapture, args);
    DWORD code = pg_run(&c->e, cmd, c->log, 40000);
    dptest_diag("dpcapture %ls: exit code %lu", args, code);
    pg_show_log(c->log, "  dpcapture");
    return code;
}

/* Whether dphook.dll left the process: polled, as its thread unloads it just after it
 * says it detached. */
static bool cap_unloaded(DWORD pid)
{
    for (int i = 0; i < 100; i++) {
        if (dpcap_has_module(pid, L"dphook.dll") == 0)
            return true;
        Sleep(50);
    }
    return false;
}

/* The process dpcapture --launch started (its report's pid), put in the case's job so
 * that it dies with the runner; NULL (a failed check) if it cannot be opened. */
static HANDLE cap_launched(cap_env *c, const wchar_t *report)
{
    DWORD pid = (DWORD)pg_int(report, "pid");
    HANDLE proc = OpenProcess(SYNCHRONIZE | PROCESS_TERMINATE | PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pid);
    ok(proc != NULL, "cannot open the launched process, pid %lu", (unsigned long)pid);
    if (proc && c->e.job)
        AssignProcessToJobObject(c->e.job, proc);
    return proc;
}

/* The launched process ends by itself within ms, with exit code 0. */
static void cap_exits_cleanly(HANDLE proc, DWORD ms, const char *what)
{
    DWORD code = 0;
    if (proc)
        ok(WaitForSingleObject(proc, ms) == WAIT_OBJECT_0 && GetExitCodeProcess(proc, &code) && code == 0,
           "%s: exit code %lu", what, code);
}

/* ---- a dpgl consumer here ------------------------------------------------------------- */

/* Opens the port under name, waiting for it to appear. */
static DPGL_PORT *cap_open(const wchar_t *name, DWORD wait_ms)
{
    ULONGLONG end = GetTickCount64() + wait_ms;
    for (;;) {
        DPGL_PORT *p = dpgl_open(name);
        if (p || GetTickCount64() > end)
            return p;
        Sleep(20);
    }
}

/* The engine's marks of an acquired texture; *w, *h its size. */
static fs_status cap_stamp(unsigned tex, fs_stamp *st, int *w, int *h)
{
    uint8_t *px = gu_read_texture(tex, w, h);
    fs_status s = FS_NO_MARKER;
    if (!px)
        return s;
    if (*w >= FS_MIN_WIDTH && *h >= FS_MIN_HEIGHT) {
        size_t pitch = (size_t)*w * 4;
        s = fs_decode(px + pitch * FS_ROW_FRAME, px + pitch * FS_ROW_TIME, px + pitch * (size_t)FS_ROW_BOTTOM(*h), *w,
                      *h, st);
    } else {
        s = FS_TOO_SMALL;
    }
    free(px);
    return s;
}

/* Acquires until `count` frames came, DP_ERROR_DISCONNECTED, or a timeout: every frame
 * whole (the marks), in order. Returns the last result. */
typedef struct {
    long frames;
    uint32_t first_stamp, last_stamp;
    uint64_t first_frame;   /* the port's frame value of the first acquired */
    uint64_t first_dropped; /* the producer's drops when the first was acquired */
    long second_size;       /* frames of CAP_W1 x CAP_H1 */
} cap_seen;

static DP_RESULT cap_consume(DPGL_PORT *p, long count, DWORD timeout_ms, cap_seen *s)
{
    DP_RESULT r = DP_OK;
    while (s->frames < count) {
        unsigned tex = 0;
        uint64_t frame = 0;
        fs_stamp st = {0, 0};
        int w = 0, h = 0;
        r = dpgl_acquire(p, timeout_ms, &tex, &frame);
        if (r != DP_OK)
            return r;
        fs_status fs = cap_stamp(tex, &st, &w, &h);
        dpgl_release(p);
        if (!ok(fs == FS_OK, "frame %llu (%dx%d): %s", (unsigned long long)frame, w, h, fs_status_string(fs)))
            return DP_ERROR_INCOMPATIBLE; /* not what the engine drew */
        if (s->frames == 0) {
            DP_PORT_INFO info;
            s->first_stamp = st.frame;
            s->first_frame = frame;
            s->first_dropped = dp_get_port_info(dpgl_port(p), &info) ? info.frames_dropped : 0;
        } else {
            ok(st.frame > s->last_stamp, "engine frame %u after %u", st.frame, s->last_stamp);
        }
        if (w == CAP_W1 && h == CAP_H1)
            s->second_size++;
        else
            ok(w == CAP_W0 && h == CAP_H0 && !s->second_size, "engine frame %u is %dx%d (after %ld of the new size)",
               st.frame, w, h, s->second_size);
        s->last_stamp = st.frame;
        s->frames++;
    }
    return r;
}

/* Acquires until the producer is gone: frames still in flight may come first. */
static DP_RESULT cap_until_gone(DPGL_PORT *p, DWORD within_ms)
{
    ULONGLONG end = GetTickCount64() + within_ms;
    DP_RESULT r;
    do {
        unsigned tex;
        uint64_t frame;
        r = dpgl_acquire(p, 500, &tex, &frame);
        if (r == DP_OK)
            dpgl_release(p);
    } while ((r == DP_OK || r == DP_ERROR_TIMEOUT) && GetTickCount64() < end);
    return r;
}

/* ---- cases ---------------------------------------------------------------------------- */

/* engine.exe running with no plugin; dpcapture --pid; viewer.exe receives; the frame
 * it keeps is pixel for pixel the engine's own back buffer; detach while the engine
 * draws on; dphook.dll gone from it, the engine finishing normally. */
DP_TEST(capture_running_engine_to_viewer)
{
    enum { FRAMES = 420, UNTIL = 150 };
    cap_env c;
    wchar_t cmd[8192], vtxt[MAX_PATH], etxt[MAX_PATH], att[MAX_PATH], stp[MAX_PATH], vlog[MAX_PATH], elog[MAX_PATH];
    wchar_t received[MAX_PATH], file[64], png[MAX_PATH];
    PROCESS_INFORMATION vpi, epi;
    DWORD vcode = 0, ecode = 0;
    size_t len;
    if (!cap_init(&c, "capture-run"))
        goto out;
    pg_path(vtxt, c.e.tmp, L"viewer.txt");
    pg_path(etxt, c.e.tmp, L"engine.txt");
    pg_path(att, c.e.tmp, L"attach.txt");
    pg_path(stp, c.e.tmp, L"stop.txt");
    pg_path(vlog, c.e.tmp, L"viewer.log");
    pg_path(elog, c.e.tmp, L"engine.log");
    pg_path(received, c.e.tmp, L"received.png");

    swprintf(cmd, 8192,
             L"\"%ls\" --name %ls --until-frame %d --wait-seconds 25 --timeout-seconds 40 --snapshot received.png "
             L"--summary viewer.txt --pos 0 300",
             c.viewer, c.name, UNTIL);
    if (!pg_start(&c.e, cmd, vlog, &vpi))
        goto out;
    len = (size_t)swprintf(cmd, 8192, L"\"%ls\" --size %dx%d --frames %d --fps 60 --pos 0 0 --report engine.txt",
                           c.engine, CAP_W0, CAP_H0, FRAMES);
    for (int f = UNTIL; f <= UNTIL + 30; f++)
        len += (size_t)swprintf(cmd + len, 8192 - len, L" --dump-frame %d engine-%d.png", f, f);
    if (!pg_start(&c.e, cmd, elog, &epi)) {
        pg_wait(&vpi, 0, &vcode);
        goto out;
    }
    WaitForInputIdle(epi.hProcess, 15000);
    DWORD pid = epi.dwProcessId;

    DWORD rc = cap_run(&c, L"--pid %lu --name %ls --report \"%ls\"", (unsigned long)pid, c.name, att);
    ok(rc == 0, "dpcapture --pid: exit code %lu", rc);
    char v[128] = "";
    pg_key(att, "state", v, sizeof v);
    ok(!strcmp(v, "attached"), "attach report: state %s", v);
    ok(pg_int(att, "pid") == (long long)pid, "attach report: pid %lld, not %lu", pg_int(att, "pid"), (unsigned long)pid);

    bool vok = pg_wait(&vpi, GetTickCount64() + CAP_RUN_MS, &vcode);
    ok(vok && vcode == 0, "viewer.exe: exit code %lu", vcode);
    ok(WaitForSingleObject(epi.hProcess, 0) == WAIT_TIMEOUT, "the engine ended before the detach");

    /* Detach while it draws. */
    rc = cap_run(&c, L"--stop --pid %lu --report \"%ls\"", (unsigned long)pid, stp);
    ok(rc == 0, "dpcapture --stop: exit code %lu", rc);
    long long swaps = pg_int(stp, "swaps"), pub = pg_int(stp, "published"), drop = pg_int(stp, "dropped");
    long long skipped = pg_int(stp, "skipped"), errors = pg_int(stp, "errors");
    ok(pub >= UNTIL / 3 && errors == 0 && swaps == pub + drop + skipped,
       "hook figures: %lld swaps, %lld published, %lld dropped, %lld skipped, %lld errors", swaps, pub, drop, skipped,
       errors);
    ok(pg_double(stp, "cost_ms_p50") > 0 && pg_double(stp, "cost_ms_p99") >= pg_double(stp, "cost_ms_p50"),
       "time in the swap: p50 %.3f ms, p99 %.3f ms", pg_double(stp, "cost_ms_p50"), pg_double(stp, "cost_ms_p99"));
    ok(cap_unloaded(pid), "dphook.dll is still loaded in the engine after --stop");

    bool eok = pg_wait(&epi, GetTickCount64() + CAP_RUN_MS, &ecode);
    ok(eok && ecode == 0, "engine.exe: exit code %lu after the detach", ecode);
    ok(pg_int(etxt, "frames") == FRAMES, "the engine drew %lld frames, not %d", pg_int(etxt, "frames"), FRAMES);

    /* What arrived: whole, upright, in order; the kept frame is the engine's. */
    ok(pg_int(vtxt, "frames_received") >= 10, "viewer received %lld frames", pg_int(vtxt, "frames_received"));
    ok(pg_int(vtxt, "bad_frames") == 0 && pg_int(vtxt, "out_of_order") == 0 && pg_int(vtxt, "unmarked") == 0,
       "viewer: %lld damaged, %lld out of order, %lld unmarked", pg_int(vtxt, "bad_frames"),
       pg_int(vtxt, "out_of_order"), pg_int(vtxt, "unmarked"));
    long long snap = pg_int(vtxt, "snapshot_frame");
    int w = 0, h = 0;
    ok(pg_png_size(received, &w, &h) && w == CAP_W0 && h == CAP_H0, "snapshot is %dx%d", w, h);
    if (ok(snap >= UNTIL && snap <= UNTIL + 30, "viewer's snapshot is of frame %lld", snap)) {
        swprintf(file, 64, L"engine-%lld.png", snap);
        pg_path(png, c.e.tmp, file);
        swprintf(cmd, 8192, L"\"%ls\" --compare received.png %ls", c.viewer, file);
        DWORD cc = pg_run(&c.e, cmd, NULL, 20000);
        ok(pg_exists(png) && cc == 0, "received.png and %ls differ (exit code %lu)", file, cc);
    }
    if (dptest_failures()) {
        pg_show_log(elog, "engine");
        pg_show_log(vlog, "viewer");
    }
out:
    pg_env_end(&c.e);
}

/* dpcapture --launch: attached before the first frame (the port's first frame is the
 * engine's frame 1, less what the producer dropped); the window resized mid-run, the
 * consumer following; the engine ending: DP_ERROR_DISCONNECTED. */
DP_TEST(capture_launch_and_resize)
{
    enum { FRAMES = 150, RESIZE_AT = 60 };
    cap_env c;
    wchar_t att[MAX_PATH];
    gu_window win = {0};
    DPGL_PORT *p = NULL;
    HANDLE proc = NULL;
    if (!cap_init(&c, "capture-launch"))
        goto out;
    if (!gu_window_create(&win, 64, 64)) {
        ok(0, "no GL window for the consumer: %s", gu_error());
        goto out;
    }
    pg_path(att, c.e.tmp, L"attach.txt");
    DWORD rc = cap_run(&c,
                       L"--launch \"\\\"%ls\\\" --size %dx%d --frames %d --fps 30 --resize-at %d %dx%d --pos 0 0\" "
                       L"--name %ls --report \"%ls\"",
                       c.engine, CAP_W0, CAP_H0, FRAMES, RESIZE_AT, CAP_W1, CAP_H1, c.name, att);
    if (!ok(rc == 0, "dpcapture --launch: exit code %lu", rc))
        goto out;
    proc = cap_launched(&c, att);
    DWORD pid = (DWORD)pg_int(att, "pid");

    p = cap_open(c.name, 20000);
    if (!ok(p != NULL, "port %ls did not appear: %s", c.name, dp_last_error_message())) {
        cap_run(&c, L"--stop --pid %lu", (unsigned long)pid); /* what the hook saw */
        goto out;
    }
    cap_seen s;
    memset(&s, 0, sizeof s);
    DP_RESULT r = cap_consume(p, FRAMES, 10000, &s);
    if (r == DP_OK)
        r = cap_until_gone(p, 10000); /* every frame came: the engine ends next */
    ok(r == DP_ERROR_DISCONNECTED, "after engine frame %u: %s, expected DP_ERROR_DISCONNECTED", s.last_stamp,
       dp_result_string(r));
    /* The hook published the engine's frame 1 as the port's frame 1: frame values lag
     * engine frames only by the frames dropped. */
    ok(s.frames > 0 && (uint64_t)s.first_stamp >= s.first_frame &&
           (uint64_t)s.first_stamp - s.first_frame <= s.first_dropped,
       "first frame acquired: engine frame %u is the port's frame %llu, %llu dropped: frames before the attach were "
       "missed",
       s.first_stamp, (unsigned long long)s.first_frame, (unsigned long long)s.first_dropped);
    ok(s.frames >= 20, "only %ld frames arrived", s.frames);
    ok(s.second_size >= 5, "only %ld frames of the resized window %dx%d arrived", s.second_size, CAP_W1, CAP_H1);
    cap_exits_cleanly(proc, 10000, "the launched engine");
out:
    dpgl_close(p);
    gu_window_destroy(&win);
    if (proc)
        CloseHandle(proc);
    pg_env_end(&c.e);
}

/* Attach, attach again (refused), detach (the consumer sees the producer go, the engine
 * draws on, dphook.dll unloads), attach again, kill the engine (DP_ERROR_DISCONNECTED).
 * A port name in use is refused before anything is attached. */
DP_TEST(capture_detach_reattach_kill)
{
    cap_env c;
    wchar_t cmd[2048], elog[MAX_PATH], other[80];
    PROCESS_INFORMATION epi;
    gu_window win = {0};
    DPGL_PORT *p = NULL, *squatter = NULL;
    bool started = false;
    DWORD code = 0;
    if (!cap_init(&c, "capture-detach"))
        goto out;
    if (!gu_window_create(&win, CAP_W0, CAP_H0)) {
        ok(0, "no GL window for the consumer: %s", gu_error());
        goto out;
    }
    pg_path(elog, c.e.tmp, L"engine.log");
    swprintf(cmd, 2048, L"\"%ls\" --size %dx%d --seconds 60 --fps 60 --pos 0 0", c.engine, CAP_W0, CAP_H0);
    if (!(started = pg_start(&c.e, cmd, elog, &epi)))
        goto out;
    WaitForInputIdle(epi.hProcess, 15000);
    DWORD pid = epi.dwProcessId;

    /* A live producer owns the name: refused, nothing attached. */
    swprintf(other, 80, L"%ls.taken", c.name);
    DP_PORT_DESC d;
    memset(&d, 0, sizeof d);
    d.name = other;
    d.width = 64;
    d.height = 64;
    squatter = dpgl_create(&d);
    ok(squatter != NULL, "dpgl_create %ls: %s", other, dp_last_error_message());
    DWORD rc = cap_run(&c, L"--pid %lu --name %ls", (unsigned long)pid, other);
    ok(rc == CAP_EXIT_NAME_IN_USE && pg_log_has(c.log, "in use"), "name in use: exit code %lu", rc);
    ok(dpcap_has_module(pid, L"dphook.dll") == 0, "dphook.dll was loaded although the name was refused");
    dpgl_close(squatter);
    squatter = NULL;

    rc = cap_run(&c, L"--pid %lu --name %ls", (unsigned long)pid, c.name);
    ok(rc == 0 && pg_log_has(c.log, "attached"), "dpcapture --pid: exit code %lu", rc);
    p = cap_open(c.name, 10000);
    if (!ok(p != NULL, "port %ls did not appear: %s", c.name, dp_last_error_message()))
        goto out;
    cap_seen s;
    memset(&s, 0, sizeof s);
    DP_RESULT r = cap_consume(p, 10, 5000, &s);
    ok(r == DP_OK && s.frames == 10, "10 frames: %ld, %s", s.frames, dp_result_string(r));

    rc = cap_run(&c, L"--pid %lu --name %ls", (unsigned long)pid, c.name);
    ok(rc == CAP_EXIT_ATTACHED && pg_log_has(c.log, "already attached"), "attaching twice: exit code %lu", rc);

    rc = cap_run(&c, L"--stop --exe engine.exe");
    ok(rc == 0 && pg_log_has(c.log, "detached"), "dpcapture --stop --exe: exit code %lu", rc);
    r = cap_until_gone(p, 5000);
    ok(r == DP_ERROR_DISCONNECTED, "after --stop the consumer got %s, not DP_ERROR_DISCONNECTED (the hook closed the port)",
       dp_result_string(r));
    ok(cap_unloaded(pid), "dphook.dll is still loaded after --stop");
    ok(WaitForSingleObject(epi.hProcess, 0) == WAIT_TIMEOUT, "the engine ended with the detach");
    rc = cap_run(&c, L"--stop --pid %lu", (unsigned long)pid);
    ok(rc == CAP_EXIT_NOT_ATTACHED, "--stop when not attached: exit code %lu", rc);
    dpgl_close(p);
    p = NULL;

    /* Attached again: the same name serves again. */
    rc = cap_run(&c, L"--pid %lu --name %ls", (unsigned long)pid, c.name);
    ok(rc == 0, "attaching after a detach: exit code %lu", rc);
    p = cap_open(c.name, 10000);
    if (!ok(p != NULL, "port %ls did not appear again: %s", c.name, dp_last_error_message()))
        goto out;
    memset(&s, 0, sizeof s);
    r = cap_consume(p, 5, 5000, &s);
    ok(r == DP_OK && s.frames == 5, "5 frames after the second attach: %ld, %s", s.frames, dp_result_string(r));

    /* The target killed. */
    TerminateProcess(epi.hProcess, 9);
    r = cap_until_gone(p, 8000);
    ok(r == DP_ERROR_DISCONNECTED, "after the kill the consumer got %s, not DP_ERROR_DISCONNECTED",
       dp_result_string(r));
out:
    if (started)
        pg_wait(&epi, GetTickCount64() + 5000, &code);
    dpgl_close(squatter);
    dpgl_close(p);
    gu_window_destroy(&win);
    pg_env_end(&c.e);
}

/* What cannot be attached says so, with its exit code. */
DP_TEST(capture_refusals)
{
    cap_env c;
    wchar_t cmd[1024], notepad[MAX_PATH];
    PROCESS_INFORMATION npi;
    DWORD code = 0;
    if (!cap_init(&c, "capture-refuse"))
        goto out;
    ok(cap_run(&c, L"") == CAP_EXIT_USAGE, "no arguments");
    ok(cap_run(&c, L"--pid") == CAP_EXIT_USAGE, "--pid without a value");
    ok(cap_run(&c, L"--pid 12 --launch x.exe") == CAP_EXIT_USAGE, "--pid and --launch");
    ok(cap_run(&c, L"--pid 12 --name \"no spaces\"") == CAP_EXIT_USAGE, "a bad port name");
    DWORD rc = cap_run(&c, L"--pid 4000000000");
    ok(rc == CAP_EXIT_NO_PROCESS && pg_log_has(c.log, "no process"), "a missing pid: exit code %lu", rc);
    rc = cap_run(&c, L"--exe no-such-program.exe");
    ok(rc == CAP_EXIT_NO_PROCESS, "a missing executable: exit code %lu", rc);
    rc = cap_run(&c, L"--launch \"no-such-program.exe\"");
    ok(rc != 0, "launching what does not exist: exit code %lu", rc);

    /* A process without GL. */
    if (!GetWindowsDirectoryW(notepad, MAX_PATH) || wcslen(notepad) + 13 >= MAX_PATH)
        goto out;
    wcscat(notepad, L"\\notepad.exe");
    if (!ok(pg_exists(notepad), "%ls is missing", notepad))
        goto out;
    swprintf(cmd, 1024, L"\"%ls\"", notepad);
    if (!pg_start(&c.e, cmd, NULL, &npi))
        goto out;
    WaitForInputIdle(npi.hProcess, 15000);
    rc = cap_run(&c, L"--pid %lu", (unsigned long)npi.dwProcessId);
    ok(rc == CAP_EXIT_NOT_GL && pg_log_has(c.log, "not a GL application"), "notepad: exit code %lu", rc);
    ok(dpcap_has_module(npi.dwProcessId, L"dphook.dll") == 0, "dphook.dll was loaded into notepad");
    rc = cap_run(&c, L"--stop --pid %lu", (unsigned long)npi.dwProcessId);
    ok(rc == CAP_EXIT_NOT_ATTACHED, "--stop of a process never attached: exit code %lu", rc);
    pg_wait(&npi, 0, &code);
out:
    pg_env_end(&c.e);
}

/* dpcapture --launch of a program that loads opengl32.dll only later (as GLFW and SDL
 * do) and draws in a 4.5 core-profile context: the attach waits for opengl32.dll, the
 * hooks go in when it loads, the first frame is there; the program sees no GL error and
 * no changed state around its swaps (its exit code). */
static void cap_gltarget(const char *tag, const wchar_t *extra)
{
    enum { FRAMES = 90, W = 256, H = 128, BAND = 16 };
    cap_env c;
    wchar_t att[MAX_PATH], target[MAX_PATH];
    gu_window win = {0};
    DPGL_PORT *p = NULL;
    HANDLE proc = NULL;
    if (!cap_init(&c, tag))
        goto out;
    pg_path(target, c.e.dir, L"gltarget.exe");
    if (!ok(pg_exists(target), "%ls is missing: make builds it", target))
        goto out;
    if (!gu_window_create(&win, 64, 64)) {
        ok(0, "no GL window for the consumer: %s", gu_error());
        goto out;
    }
    pg_path(att, c.e.tmp, L"attach.txt");
    DWORD rc = cap_run(&c, L"--launch \"\\\"%ls\\\" --frames %d --core --delay-gl 300 --size %dx%d%ls\" --name %ls --report \"%ls\"",
                       target, FRAMES, W, H, extra, c.name, att);
    if (!ok(rc == 0, "dpcapture --launch: exit code %lu", rc))
        goto out;
    char state[32] = "";
    pg_key(att, "state", state, sizeof state);
    ok(!strcmp(state, "waiting"), "attach report: state %s, not waiting (opengl32.dll loads later)", state);
    proc = cap_launched(&c, att);

    p = cap_open(c.name, 20000);
    if (!ok(p != NULL, "port %ls did not appear: %s", c.name, dp_last_error_message()))
        goto out;
    long n = 0;
    uint64_t last = 0;
    for (;;) {
        unsigned tex = 0;
        uint64_t frame = 0;
        DP_RESULT r = dpgl_acquire(p, 5000, &tex, &frame);
        if (r != DP_OK) {
            ok(r == DP_ERROR_DISCONNECTED, "after %ld frames: %s", n, dp_result_string(r));
            break;
        }
        int w = 0, h = 0;
        uint8_t *px = gu_read_texture(tex, &w, &h);
        dpgl_release(p);
        if (!ok(px && w == W && h == H, "frame %llu: %dx%d", (unsigned long long)frame, w, h)) {
            free(px);
            break;
        }
        uint64_t drawn = (uint64_t)px[0] | (uint64_t)px[1] << 8;
        size_t wrong = 0;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                const uint8_t *q = px + ((size_t)y * (size_t)w + (size_t)x) * 4;
                uint8_t blue = y < BAND ? 0xF0 : 0x40;
                wrong += q[0] != (uint8_t)drawn || q[1] != (uint8_t)(drawn >> 8) || q[2] != blue || q[3] != 255;
            }
        free(px);
        ok(wrong == 0, "target frame %llu: %zu pixels wrong (torn or upside down)", (unsigned long long)drawn, wrong);
        if (n == 0) {
            DP_PORT_INFO info;
            uint64_t dropped = dp_get_port_info(dpgl_port(p), &info) ? info.frames_dropped : 0;
            ok(drawn >= frame && drawn - frame <= dropped,
               "first frame acquired: target frame %llu is the port's frame %llu, %llu dropped: frames before the "
               "hooks were missed",
               (unsigned long long)drawn, (unsigned long long)frame, (unsigned long long)dropped);
        } else {
            ok(drawn > last, "target frame %llu after %llu", (unsigned long long)drawn, (unsigned long long)last);
        }
        last = drawn;
        n++;
    }
    ok(n >= 20, "only %ld frames arrived", n);
    cap_exits_cleanly(proc, 20000, "gltarget.exe (1: a GL error or changed state around a swap)");
out:
    dpgl_close(p);
    gu_window_destroy(&win);
    if (proc)
        CloseHandle(proc);
    pg_env_end(&c.e);
}

DP_TEST(capture_launch_gl_loaded_later_core_profile)
{
    cap_gltarget("capture-late", L"");
}

/* The same program taking a DC of its own every frame (GetDC, wglMakeCurrent, swap,
 * ReleaseDC, no CS_OWNDC): the DC the port was made with is gone by the next frame. */
DP_TEST(capture_launch_gl_dc_per_frame)
{
    cap_gltarget("capture-dc", L" --transient-dc");
}

/* ---- dphook.dll loaded without being asked, or with a block it must not trust --------- */

/* argv: role dphook_path mode (none | magic | name): LoadLibraryW of dphook.dll in this
 * process with no control block, one of a wrong magic, or one whose port name is not a
 * port name. Each is refused: LoadLibraryW fails, no swap function's bytes changed, and
 * for a bad name the block says FAILED and why. */
DP_CHILD(capture_self_load)
{
    if (argc < 3)
        return 2;
    const wchar_t *mode = argv[2];
    FARPROC swap = GetProcAddress(GetModuleHandleW(L"gdi32.dll"), "SwapBuffers");
    FARPROC wglswap = GetProcAddress(GetModuleHandleW(L"opengl32.dll"), "wglSwapBuffers");
    uint8_t before[2][16], after[2][16];
    memcpy(before[0], (const void *)swap, 16);
    memcpy(before[1], (const void *)wglswap, 16);
    wchar_t name[96];
    swprintf(name, 96, L"Local\\DirectPort.capture.%lu", (unsigned long)GetCurrentProcessId());
    HANDLE section = NULL;
    dpcap_block *b = NULL;
    if (wcscmp(mode, L"none")) {
        section = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, sizeof *b, name);
        b = section ? MapViewOfFile(section, FILE_MAP_READ | FILE_MAP_WRITE, 0, 0, sizeof *b) : NULL;
        if (!ok(b != NULL, "cannot make the block"))
            return 1;
        memset(b, 0, sizeof *b);
        b->magic = wcscmp(mode, L"magic") ? DPCAP_MAGIC : 0x12345678u;
        b->version = DPCAP_VERSION;
        b->size = sizeof *b;
        wcscpy(b->port, wcscmp(mode, L"name") ? L"fine.name" : L"not a name!");
    }
    HMODULE m = LoadLibraryW(argv[1]);
    ok(m == NULL, "%ls: dphook.dll loaded (%p)", mode, (void *)m);
    memcpy(after[0], (const void *)swap, 16);
    memcpy(after[1], (const void *)wglswap, 16);
    ok(!memcmp(before, after, sizeof before), "%ls: the swap functions' code changed", mode);
    if (b && !wcscmp(mode, L"name"))
        ok(b->state == DPCAP_FAILED && wcsstr(b->message, L"port name"), "bad name: state %d, message %ls",
           (int)b->state, b->message);
    if (b && !wcscmp(mode, L"magic"))
        ok(b->state == DPCAP_PENDING, "wrong magic: dphook wrote state %d into a block not its own", (int)b->state);
    if (m)
        FreeLibrary(m);
    if (b)
        UnmapViewOfFile(b);
    if (section)
        CloseHandle(section);
    return dptest_failures() ? 1 : 0;
}

DP_TEST(capture_hook_refuses_unasked_and_bad_blocks)
{
    cap_env c;
    if (!cap_init(&c, "capture-self"))
        goto out;
    static const wchar_t *MODES[] = {L"none", L"magic", L"name"};
    for (size_t i = 0; i < sizeof MODES / sizeof MODES[0]; i++) {
        dptest_child child = dptest_spawn(L"capture_self_load \"%ls\" %ls", c.hook, MODES[i]);
        DWORD code = 99;
        ok(dptest_wait_child(&child, 30000, &code) && code == 0, "%ls: the child's exit code %lu", MODES[i], code);
    }
out:
    pg_env_end(&c.e);
}

/* ---- an application that swaps through wglSwapBuffers from GetProcAddress and makes
 * its context and window again and again ------------------------------------------------ */

#define TARGET_W 200
#define TARGET_H 120

/* argv: role ready_event go_event frames every: draws gu's pattern of frame f, swaps
 * through opengl32!wglSwapBuffers as GetProcAddress returns it, and every `every`
 * frames destroys its context and window and makes new ones. Checks around every swap
 * that the GL state, the current context and DC and GetLastError are as before. */
DP_CHILD(capture_target)
{
    if (argc < 5)
        return 2;
    HANDLE ready = OpenEventW(EVENT_MODIFY_STATE, FALSE, argv[1]);
    HANDLE go = OpenEventW(SYNCHRONIZE, FALSE, argv[2]);
    long frames = wcstol(argv[3], NULL, 10), every = wcstol(argv[4], NULL, 10);
    FARPROC f = GetProcAddress(GetModuleHandleW(L"opengl32.dll"), "wglSwapBuffers");
    BOOL(WINAPI * swap)(HDC);
    memcpy(&swap, &f, sizeof f);
    if (!ready || !go || !swap || every < 1)
        return 2;
    gu_window w = {0};
    for (long i = 1; i <= frames; i++) {
        if ((i - 1) % every == 0) {
            gu_window_destroy(&w);
            if (!gu_window_create(&w, TARGET_W, TARGET_H))
                return 3;
        }
        gu_draw_pattern((uint64_t)i, 0, 0, w.width, w.height);
        gu_state before, after;
        char why[256];
        gu_state_capture(&before);
        HGLRC ctx = wglGetCurrentContext();
        HDC dc = wglGetCurrentDC();
        SetLastError(0x1234);
        swap(w.dc);
        DWORD err = GetLastError();
        gu_state_capture(&after);
        ok(gu_state_equal(&before, &after, why, sizeof why), "frame %ld: the swap changed GL state: %s", i, why);
        ok(wglGetCurrentContext() == ctx && wglGetCurrentDC() == dc, "frame %ld: the current context changed", i);
        ok(err == 0x1234 || err == 0, "frame %ld: GetLastError %lu after the swap", i, err);
        if (i == 1) {
            SetEvent(ready);
            WaitForSingleObject(go, 30000);
        }
        Sleep(15);
        if (dptest_failures())
            break;
    }
    gu_window_destroy(&w);
    CloseHandle(ready);
    CloseHandle(go);
    return dptest_failures() ? 1 : 0;
}

DP_TEST(capture_context_and_window_made_again)
{
    enum { FRAMES = 150, EVERY = 40 };
    cap_env c;
    wchar_t ready_name[96], go_name[96];
    gu_window win = {0};
    DPGL_PORT *p = NULL;
    HANDLE ready = NULL, go = NULL;
    dptest_child child = {NULL, NULL, 0};
    if (!cap_init(&c, "capture-remake"))
        goto out;
    if (!gu_window_create(&win, 64, 64)) {
        ok(0, "no GL window for the consumer: %s", gu_error());
        goto out;
    }
    swprintf(ready_name, 96, L"Local\\dptest.capture.%lu.ready", (unsigned long)GetCurrentProcessId());
    swprintf(go_name, 96, L"Local\\dptest.capture.%lu.go", (unsigned long)GetCurrentProcessId());
    ready = CreateEventW(NULL, TRUE, FALSE, ready_name);
    go = CreateEventW(NULL, TRUE, FALSE, go_name);
    child = dptest_spawn(L"capture_target %ls %ls %d %d", ready_name, go_name, FRAMES, EVERY);
    if (!child.process || !ok(WaitForSingleObject(ready, 20000) == WAIT_OBJECT_0, "the target never drew"))
        goto out;
    DWORD rc = cap_run(&c, L"--pid %lu --name %ls", (unsigned long)child.pid, c.name);
    SetEvent(go);
    if (!ok(rc == 0, "dpcapture --pid: exit code %lu", rc))
        goto out;
    p = cap_open(c.name, 10000);
    if (!ok(p != NULL, "port %ls did not appear: %s", c.name, dp_last_error_message()))
        goto out;
    /* Frames from every context the target makes: whole, in order. */
    uint64_t last = 0, after_remake = 0;
    long n = 0, reopened = 0;
    for (;;) {
        unsigned tex = 0;
        uint64_t frame = 0;
        DP_RESULT r = dpgl_acquire(p, 3000, &tex, &frame);
        if (r == DP_ERROR_DISCONNECTED && WaitForSingleObject(child.process, 0) == WAIT_TIMEOUT) {
            /* A new context is a new producer of the name: open it again. */
            dpgl_close(p);
            p = cap_open(c.name, 5000);
            reopened++;
            if (!ok(p != NULL, "port %ls did not come back: %s", c.name, dp_last_error_message()))
                break;
            continue;
        }
        if (r == DP_ERROR_DISCONNECTED || r == DP_ERROR_TIMEOUT)
            break;
        if (!ok(r == DP_OK, "acquire: %s (%s)", dp_result_string(r), dp_last_error_message()))
            break;
        int w = 0, h = 0;
        uint8_t *px = gu_read_texture(tex, &w, &h);
        dpgl_release(p);
        if (!ok(px && w == TARGET_W && h == TARGET_H, "frame %llu: %dx%d", (unsigned long long)frame, w, h)) {
            free(px);
            break;
        }
        uint64_t drawn = gu_pixel_frame(px);
        char why[256] = "";
        ok(gu_check_pattern(px, (size_t)w * 4, w, h, drawn, why, sizeof why) == 0, "target frame %llu: %s",
           (unsigned long long)drawn, why);
        free(px);
        ok(drawn > last, "target frame %llu after %llu", (unsigned long long)drawn, (unsigned long long)last);
        last = drawn;
        n++;
        if (drawn > 2 * EVERY)
            after_remake++;
    }
    dptest_diag("%ld frames, the port opened again %ld times", n, reopened);
    ok(n >= 20, "only %ld frames arrived", n);
    ok(after_remake >= 5, "%llu frames arrived after the target made its context and window again twice",
       (unsigned long long)after_remake);
    DWORD code = 0;
    ok(dptest_wait_child(&child, 30000, &code) && code == 0, "the target: exit code %lu", code);
out:
    if (child.process)
        dptest_wait_child(&child, 5000, NULL);
    dpgl_close(p);
    gu_window_destroy(&win);
    if (ready)
        CloseHandle(ready);
    if (go)
        CloseHandle(go);
    pg_env_end(&c.e);
}
