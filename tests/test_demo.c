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
#include "progs.h"

#define DEMO_FRAMES 90     /* the engine draws frames 1..90 */
#define DEMO_UNTIL 70      /* the viewer stops at frame 70 or later */
#define DEMO_RESIZE_AT 30
#define DEMO_W0 320
#define DEMO_H0 192
#define DEMO_W1 288        /* after the resize: still wide enough for the marks */
#define DEMO_H1 160
#define DEMO_WAIT_MS 40000

DP_TEST(demo_engine_plugin_viewer_chain)
{
    pg_env e;
    wchar_t engine[MAX_PATH], viewer[MAX_PATH], plugin[MAX_PATH], name[64], cmd[8192];
    wchar_t viewer_txt[MAX_PATH], plugin_txt[MAX_PATH], engine_txt[MAX_PATH], received[MAX_PATH];
    wchar_t engine_png[MAX_PATH], viewer_log[MAX_PATH], engine_log[MAX_PATH], compare_log[MAX_PATH], file[64];
    PROCESS_INFORMATION vpi, epi, cpi;
    DWORD vcode = 0, ecode = 0, ccode = 0;
    ULONGLONG deadline;
    bool vok, eok;
    long long snap, received_n;
    int w = 0, h = 0;
    size_t len;

    if (!pg_env_init(&e, "demo"))
        return;
    pg_path(engine, e.dir, L"engine.exe");
    pg_path(viewer, e.dir, L"viewer.exe");
    pg_path(plugin, e.dir, L"dpplugin.dll");
    if (!ok(pg_exists(engine) && pg_exists(viewer) && pg_exists(plugin),
            "engine.exe, viewer.exe or dpplugin.dll is missing next to dptest.exe (%ls): make builds them", e.dir))
        return;

    swprintf(name, 64, L"dptest-demo-%lu", (unsigned long)GetCurrentProcessId());
    pg_path(viewer_txt, e.tmp, L"viewer.txt");
    pg_path(plugin_txt, e.tmp, L"plugin.txt");
    pg_path(engine_txt, e.tmp, L"engine.txt");
    pg_path(received, e.tmp, L"received.png");
    pg_path(viewer_log, e.tmp, L"viewer.log");
    pg_path(engine_log, e.tmp, L"engine.log");
    pg_path(compare_log, e.tmp, L"compare.log");

    /* The viewer first: it waits for the port. */
    swprintf(cmd, 8192,
             L"\"%ls\" --name %ls --until-frame %d --wait-seconds 25 --timeout-seconds 35 --snapshot received.png "
             L"--summary viewer.txt --pos 0 300",
             viewer, name, DEMO_UNTIL);
    if (!pg_start(&e, cmd, viewer_log, &vpi))
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
    eok = pg_start(&e, cmd, engine_log, &epi);
    SetEnvironmentVariableW(L"DIRECTPORT_NAME", NULL);
    SetEnvironmentVariableW(L"DIRECTPORT_PLUGIN_REPORT", NULL);
    deadline = GetTickCount64() + DEMO_WAIT_MS;
    eok = eok && pg_wait(&epi, deadline, &ecode);
    if (eok && ecode == 3) {
        pg_wait(&vpi, 0, &vcode);
        pg_show_log(engine_log, "engine");
        pg_env_end(&e);
        skip("the engine has no window with a GL context here");
    }
    vok = pg_wait(&vpi, deadline, &vcode);

    ok(vok && vcode == 0, "viewer.exe: exit code %lu%s", vcode, vok ? "" : " (did not finish in time)");
    ok(eok && ecode == 0, "engine.exe: exit code %lu%s", ecode, eok ? "" : " (did not finish in time)");
    if (dptest_failures()) {
        pg_show_log(engine_log, "engine");
        pg_show_log(viewer_log, "viewer");
    }

    /* The engine's report: every frame drawn, ending at the resized size. */
    ok(pg_int(engine_txt, "frames") == DEMO_FRAMES, "engine drew %lld frames, not %d",
       pg_int(engine_txt, "frames"), DEMO_FRAMES);
    ok(pg_int(engine_txt, "width") == DEMO_W1 && pg_int(engine_txt, "height") == DEMO_H1,
       "engine ended at %lldx%lld, not %dx%d after --resize-at", pg_int(engine_txt, "width"),
       pg_int(engine_txt, "height"), DEMO_W1, DEMO_H1);

    /* The plugin's cost report: it saw every frame, published most, failed none. */
    {
        long long frames = pg_int(plugin_txt, "frames"), pub = pg_int(plugin_txt, "published");
        long long dropped = pg_int(plugin_txt, "dropped"), failed = pg_int(plugin_txt, "failed");
        double p50 = pg_double(plugin_txt, "cost_ms_p50"), p99 = pg_double(plugin_txt, "cost_ms_p99");
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
    received_n = pg_int(viewer_txt, "frames_received");
    snap = pg_int(viewer_txt, "snapshot_frame");
    ok(received_n >= 10, "viewer received %lld frames", received_n);
    ok(pg_int(viewer_txt, "bad_frames") == 0, "viewer: %lld damaged frames", pg_int(viewer_txt, "bad_frames"));
    ok(pg_int(viewer_txt, "out_of_order") == 0, "viewer: %lld frames out of order",
       pg_int(viewer_txt, "out_of_order"));
    ok(pg_int(viewer_txt, "unmarked") == 0, "viewer: %lld frames without marks", pg_int(viewer_txt, "unmarked"));
    ok(pg_int(viewer_txt, "last_frame") >= DEMO_UNTIL, "viewer stopped at frame %lld, before %d",
       pg_int(viewer_txt, "last_frame"), DEMO_UNTIL);
    ok(snap >= DEMO_UNTIL && snap <= DEMO_FRAMES, "viewer's snapshot is of frame %lld", snap);
    ok(pg_int(viewer_txt, "latency_samples") == received_n, "latency measured for %lld of %lld frames",
       pg_int(viewer_txt, "latency_samples"), received_n);
    {
        char v[160] = "";
        if (pg_key(viewer_txt, "first_problem", v, sizeof v))
            dptest_diag("viewer: first problem: %s", v);
        pg_key(viewer_txt, "result", v, sizeof v);
        ok(!strcmp(v, "ok"), "viewer's result: %s", v);
        dptest_diag("viewer: %lld frames received (%lld..%lld), latency p50 %.2f ms, p99 %.2f ms", received_n,
                    pg_int(viewer_txt, "first_frame"), pg_int(viewer_txt, "last_frame"),
                    pg_double(viewer_txt, "latency_ms_p50"), pg_double(viewer_txt, "latency_ms_p99"));
    }

    /* The snapshot: a PNG of the port's size, identical to the engine's frame. */
    ok(pg_png_size(received, &w, &h) && w == DEMO_W1 && h == DEMO_H1, "snapshot %ls is %dx%d, not %dx%d", received,
       w, h, DEMO_W1, DEMO_H1);
    if (snap >= DEMO_UNTIL && snap <= DEMO_FRAMES) {
        swprintf(file, 64, L"engine-%lld.png", snap);
        pg_path(engine_png, e.tmp, file);
        ok(pg_exists(engine_png), "the engine did not write %ls", engine_png);
        swprintf(cmd, 8192, L"\"%ls\" --compare received.png %ls", viewer, file);
        if (pg_start(&e, cmd, compare_log, &cpi)) {
            bool cok = pg_wait(&cpi, GetTickCount64() + 20000, &ccode);
            if (!ok(cok && ccode == 0, "received.png and %ls differ (exit code %lu)", file, ccode))
                pg_show_log(compare_log, "compare");
        }
    }

out:
    pg_env_end(&e);
}
