/*
 * test_ring.c - the frame protocol across processes on D3D12: whole frames in order,
 * several consumers, legacy and frame-protocol sides mixed, stalled and killed
 * consumers, killed and restarted producers, resize.
 *
 * Every frame's pixels are tu_pattern of its frame value, so a consumer checks that
 * what it acquired is exactly the frame the library says it is: a torn, stale or
 * mis-slotted frame fails.
 */
#include "d3d12util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dptest.h"

#define RING_W 160
#define RING_H 90

static void ring_name(wchar_t *out, size_t cap, const char *what)
{
    swprintf(out, cap, L"ring.%hs.%lu", what, (unsigned long)GetCurrentProcessId());
}

/* A named kernel object of the test, derived from the port name. */
static void ring_object(wchar_t *out, size_t cap, const wchar_t *port, const wchar_t *what)
{
    swprintf(out, cap, L"Local\\dptest.%ls.%ls", port, what);
}

static DP_HANDLE ring_create(const wchar_t *name, uint32_t w, uint32_t h, uint32_t slots)
{
    DP_PORT_DESC d = {0};
    d.name = name;
    d.width = w;
    d.height = h;
    d.slots = slots;
    return dp12_create_port(&d);
}

/* Opens name, retrying while its producer is still starting. */
static DP_HANDLE ring_open(const wchar_t *name)
{
    DP_HANDLE h = NULL;
    for (ULONGLONG start = GetTickCount64(); !h && GetTickCount64() - start < 20000; Sleep(10))
        h = dp12_open_port(name);
    return h;
}

/* Producer side of one frame: writes the next frame value's pattern into the begun
 * slot and ends the frame. The next value is the last this producer ended + 1, or the
 * port's published value + 1 for its first (a port taken over goes on from there).
 * DP_ERROR_BUSY: dropped. */
static DP_RESULT ring_publish(DP_HANDLE h, tu_gpu *g, uint64_t *last)
{
    ID3D12Resource *target = NULL;
    DP_PORT_INFO info;
    uint64_t frame = 0, expected;
    DP_RESULT r = dp12_begin_frame(h, &target);
    if (r != DP_OK)
        return r;
    dp_get_port_info(h, &info);
    expected = (*last ? *last : info.last_frame) + 1;
    ok(tu_gpu_write(g, target, 4, expected), "writing frame %llu", (unsigned long long)expected);
    r = dp12_end_frame(h, g->queue, &frame);
    ok(r == DP_OK && frame == expected, "end_frame: %s, frame %llu, expected %llu", dp_result_string(r),
       (unsigned long long)frame, (unsigned long long)expected);
    *last = frame;
    return r;
}

/* Consumer side: checks that tex holds exactly frame's pattern at w x h. */
static bool ring_check_frame(tu_gpu *g, ID3D12Resource *tex, uint64_t frame, uint32_t w, uint32_t h)
{
    D3D12_RESOURCE_DESC desc;
    uint8_t *pixels = NULL;
    uint32_t pitch = 0;
    uint64_t bad;
    tex->lpVtbl->GetDesc(tex, &desc);
    if (!ok(desc.Width == w && desc.Height == h, "frame %llu is %llux%u, expected %ux%u", (unsigned long long)frame,
            (unsigned long long)desc.Width, desc.Height, w, h))
        return false;
    if (!ok(tu_gpu_read(g, tex, &pixels, &pitch), "reading frame %llu back", (unsigned long long)frame))
        return false;
    bad = tu_count_bad(pixels, pitch, w, h, 4, frame);
    free(pixels);
    return ok(bad == 0, "frame %llu: %llu of %u bytes are not its pattern (torn or stale)", (unsigned long long)frame,
              (unsigned long long)bad, w * h * 4);
}

/* argv: role name frames consumers pace_ms slots
 * Waits for `consumers` ready signals, publishes `frames` frames (dropping on BUSY),
 * sets <name>.finished, waits for the consumers' done signals. */
DP_CHILD(ring_producer)
{
    wchar_t obj[160];
    HANDLE ready, done, finished;
    DP_HANDLE h;
    tu_gpu g;
    long frames, consumers, pace, published = 0, dropped = 0;
    uint64_t last = 0;
    if (argc < 6 || !dp12_init() || !tu_gpu_init(&g))
        return 2;
    frames = wcstol(argv[2], NULL, 10);
    consumers = wcstol(argv[3], NULL, 10);
    pace = wcstol(argv[4], NULL, 10);
    h = ring_create(argv[1], RING_W, RING_H, (uint32_t)wcstoul(argv[5], NULL, 10));
    if (!ok(h != NULL, "create %ls: %s", argv[1], dp_last_error_message()))
        return 1;
    ring_object(obj, 160, argv[1], L"ready");
    ready = OpenSemaphoreW(SYNCHRONIZE, FALSE, obj);
    ring_object(obj, 160, argv[1], L"done");
    done = OpenSemaphoreW(SYNCHRONIZE, FALSE, obj);
    ring_object(obj, 160, argv[1], L"finished");
    finished = OpenEventW(EVENT_MODIFY_STATE, FALSE, obj);
    for (long i = 0; i < consumers; i++)
        ok(WaitForSingleObject(ready, 30000) == WAIT_OBJECT_0, "consumer %ld never got ready", i);
    for (long i = 0; i < frames && !dptest_failures(); i++) {
        DP_RESULT r = ring_publish(h, &g, &last);
        if (r == DP_OK)
            published++;
        else if (ok(r == DP_ERROR_BUSY, "begin_frame: %s", dp_result_string(r)))
            dropped++;
        if (r == DP_ERROR_BUSY && dropped == 100)
            dptest_diag("100th drop: %s", dp_last_error_message());
        if (pace)
            Sleep((DWORD)pace);
    }
    dptest_diag("producer: %ld published, %ld dropped", published, dropped);
    SetEvent(finished);
    for (long i = 0; i < consumers; i++)
        ok(WaitForSingleObject(done, 60000) == WAIT_OBJECT_0, "consumer %ld never finished", i);
    tu_gpu_free(&g);
    dp12_close(h);
    dp12_shutdown();
    return dptest_failures() ? 1 : 0;
}

/* argv: role name
 * Acquires until the producer has finished and no newer frame comes; every frame
 * whole and newer than the one before. */
DP_CHILD(ring_consumer)
{
    wchar_t obj[160];
    HANDLE ready, done, finished;
    DP_HANDLE h;
    tu_gpu g;
    uint64_t last = 0;
    long acquired = 0;
    if (argc < 2 || !dp12_init() || !tu_gpu_init(&g))
        return 2;
    ring_object(obj, 160, argv[1], L"ready");
    ready = OpenSemaphoreW(SEMAPHORE_MODIFY_STATE, FALSE, obj);
    ring_object(obj, 160, argv[1], L"done");
    done = OpenSemaphoreW(SEMAPHORE_MODIFY_STATE, FALSE, obj);
    ring_object(obj, 160, argv[1], L"finished");
    finished = OpenEventW(SYNCHRONIZE, FALSE, obj);
    h = ring_open(argv[1]);
    if (!ok(h != NULL, "open %ls: %s", argv[1], dp_last_error_message()))
        return 1;
    ReleaseSemaphore(ready, 1, NULL);
    for (;;) {
        ID3D12Resource *tex = NULL;
        uint64_t frame = 0;
        DP_RESULT r = dp12_acquire_frame(h, g.queue, 2000, &tex, &frame);
        /* Done once the producer finished and nothing newer comes. */
        if (r == DP_ERROR_TIMEOUT && WaitForSingleObject(finished, 0) == WAIT_OBJECT_0)
            break;
        if (!ok(r == DP_OK, "acquire: %s (%s)", dp_result_string(r), dp_last_error_message()))
            break;
        ok(frame > last, "frame %llu after %llu", (unsigned long long)frame, (unsigned long long)last);
        ring_check_frame(&g, tex, frame, RING_W, RING_H);
        dp12_release_frame(h, g.queue);
        last = frame;
        acquired++;
        if (dptest_failures())
            break;
    }
    dptest_diag("consumer: %ld frames acquired, last %llu", acquired, (unsigned long long)last);
    ok(acquired > 0, "no frame acquired");
    ReleaseSemaphore(done, 1, NULL);
    tu_gpu_free(&g);
    dp12_close(h);
    dp12_shutdown();
    return dptest_failures() ? 1 : 0;
}

/* Runs a producer child and `consumers` consumer children on one port. */
static void ring_stream(const char *what, int consumers, int frames, int pace_ms, int slots)
{
    wchar_t name[64], obj[160];
    HANDLE sems[2], finished;
    dptest_child prod, cons[4];
    DWORD code;
    ring_name(name, 64, what);
    ring_object(obj, 160, name, L"ready");
    sems[0] = CreateSemaphoreW(NULL, 0, 16, obj);
    ring_object(obj, 160, name, L"done");
    sems[1] = CreateSemaphoreW(NULL, 0, 16, obj);
    ring_object(obj, 160, name, L"finished");
    finished = CreateEventW(NULL, TRUE, FALSE, obj);
    prod = dptest_spawn(L"ring_producer %ls %d %d %d %d", name, frames, consumers, pace_ms, slots);
    for (int i = 0; i < consumers; i++)
        cons[i] = dptest_spawn(L"ring_consumer %ls", name);
    for (int i = 0; i < consumers; i++) {
        code = 99;
        code = dptest_wait_child(&cons[i], 100000, &code) ? code : 0xFFFFFFFFu;
        ok(code == 0, "consumer %d exit code %lu", i, code);
    }
    code = 99;
    code = dptest_wait_child(&prod, 100000, &code) ? code : 0xFFFFFFFFu;
    ok(code == 0, "producer exit code %lu", code);
    CloseHandle(sems[0]);
    CloseHandle(sems[1]);
    CloseHandle(finished);
}

DP_TEST(ring_d3d12_300_frames_one_consumer)
{
    ring_stream("one", 1, 300, 2, 3);
}

DP_TEST(ring_d3d12_300_frames_two_consumers)
{
    ring_stream("two", 2, 300, 2, 3);
}

DP_TEST(ring_d3d12_unpaced_producer_never_blocks)
{
    /* As fast as it can: frames are dropped, never waited for; consumers still see
     * only whole frames in order. */
    ring_stream("unpaced", 1, 300, 0, 2);
}

/* ---- Legacy and frame protocol mixed ---------------------------------------------------- */

/* argv: role tex fence count -> acquires `count` frames of a legacy producer. */
DP_CHILD(ring_acquire_legacy)
{
    DP_HANDLE h = NULL;
    tu_gpu g;
    uint64_t last = 0;
    long count;
    if (argc < 4 || !dp12_init() || !tu_gpu_init(&g))
        return 2;
    count = wcstol(argv[3], NULL, 10);
    for (ULONGLONG start = GetTickCount64(); !h && GetTickCount64() - start < 20000; Sleep(10))
        h = dp12_open_shared_resource(argv[1], argv[2]);
    if (!ok(h != NULL, "open: %s", dp_last_error_message()))
        return 1;
    while ((long)last < count) {
        ID3D12Resource *tex = NULL;
        uint64_t frame = 0;
        DP_RESULT r = dp12_acquire_frame(h, g.queue, 10000, &tex, &frame);
        if (!ok(r == DP_OK, "acquire after %llu: %s", (unsigned long long)last, dp_last_error_message()))
            break;
        ok(frame > last, "frame %llu after %llu", (unsigned long long)frame, (unsigned long long)last);
        ring_check_frame(&g, tex, frame, 64, 48);
        dp12_release_frame(h, g.queue);
        last = frame;
    }
    tu_gpu_free(&g);
    dp12_close(h);
    dp12_shutdown();
    return dptest_failures() ? 1 : 0;
}

DP_TEST(ring_legacy_producer_frame_consumer)
{
    wchar_t tex[96], fence[96];
    DP_HANDLE h;
    dptest_child c;
    DWORD code = 99;
    tu_gpu g;
    if (!dp12_init() || !tu_gpu_init(&g))
        skip("no D3D12 device: %s", dp_last_error_message());
    swprintf(tex, 96, L"Local\\dptest.legacyprod.%lu", (unsigned long)GetCurrentProcessId());
    swprintf(fence, 96, L"%ls.fence", tex);
    h = dp12_create_shared_resource(64, 48, DP_FORMAT_VIDEO, false, tex, fence);
    if (ok(h != NULL, "create: %s", dp_last_error_message())) {
        c = dptest_spawn(L"ring_acquire_legacy \"%ls\" \"%ls\" 40", tex, fence);
        /* The reference API's producer: write, queue signal, value = frame number. */
        for (uint64_t v = 1; v <= 40; v++) {
            ok(tu_gpu_write(&g, dp12_get_resource(h), 4, v), "write %llu", (unsigned long long)v);
            ok(dp12_queue_signal(h, g.queue, v), "signal: %s", dp_last_error_message());
            ok(dp12_cpu_wait_timeout(h, v, 10000) == DP_OK, "own signal %llu", (unsigned long long)v);
            Sleep(15);
        }
        code = dptest_wait_child(&c, 60000, &code) ? code : 0xFFFFFFFFu;
        ok(code == 0, "consumer exit code %lu", code);
    }
    tu_gpu_free(&g);
    dp12_close(h);
    dp12_shutdown();
}

/* argv: role name step-event frames -> publishes one frame per step. */
DP_CHILD(ring_stepped_producer)
{
    DP_HANDLE h;
    HANDLE step;
    tu_gpu g;
    long frames;
    uint64_t last = 0;
    if (argc < 4 || !dp12_init() || !tu_gpu_init(&g))
        return 2;
    frames = wcstol(argv[3], NULL, 10);
    step = OpenEventW(SYNCHRONIZE, FALSE, argv[2]);
    h = ring_create(argv[1], 64, 48, 3);
    if (!ok(h != NULL && step, "create: %s", dp_last_error_message()))
        return 1;
    for (long i = 0; i < frames; i++) {
        if (!ok(WaitForSingleObject(step, 30000) == WAIT_OBJECT_0, "no step %ld", i))
            break;
        ok(ring_publish(h, &g, &last) == DP_OK, "frame %ld", i);
    }
    /* Stay until the consumer is done with the last frame. */
    WaitForSingleObject(step, 30000);
    tu_gpu_free(&g);
    dp12_close(h);
    dp12_shutdown();
    return dptest_failures() ? 1 : 0;
}

DP_TEST(ring_frame_producer_legacy_consumer)
{
    wchar_t name[64], step_name[160];
    HANDLE step;
    DP_HANDLE h;
    dptest_child c;
    DWORD code = 99;
    tu_gpu g;
    if (!dp12_init() || !tu_gpu_init(&g))
        skip("no D3D12 device: %s", dp_last_error_message());
    ring_name(name, 64, "legacycons");
    ring_object(step_name, 160, name, L"step");
    step = CreateEventW(NULL, FALSE, FALSE, step_name);
    c = dptest_spawn(L"ring_stepped_producer %ls \"%ls\" 5", name, step_name);
    h = ring_open(name);
    if (ok(h != NULL, "open: %s", dp_last_error_message())) {
        /* The reference API's consumer: wait for the value, read its texture. */
        for (uint64_t v = 1; v <= 5; v++) {
            uint8_t *pixels = NULL;
            uint32_t pitch = 0;
            SetEvent(step);
            if (!ok(dp12_cpu_wait_timeout(h, v, 10000) == DP_OK, "frame %llu: %s", (unsigned long long)v,
                    dp_last_error_message()))
                break;
            if (ok(tu_gpu_read(&g, dp12_get_resource(h), &pixels, &pitch), "read back"))
                ok(tu_count_bad(pixels, pitch, 64, 48, 4, v) == 0, "frame %llu is not whole", (unsigned long long)v);
            free(pixels);
        }
        dp12_close(h);
    }
    SetEvent(step);
    code = dptest_wait_child(&c, 60000, &code) ? code : 0xFFFFFFFFu;
    ok(code == 0, "producer exit code %lu", code);
    CloseHandle(step);
    tu_gpu_free(&g);
    dp12_shutdown();
}

/* ---- Stalls, kills, restarts -------------------------------------------------------------- */

/* argv: role name holding-event -> acquires one frame and holds it until killed. */
DP_CHILD(ring_holding_consumer)
{
    DP_HANDLE h;
    HANDLE holding;
    tu_gpu g;
    ID3D12Resource *tex = NULL;
    uint64_t frame = 0;
    if (argc < 3 || !dp12_init() || !tu_gpu_init(&g))
        return 2;
    holding = OpenEventW(EVENT_MODIFY_STATE, FALSE, argv[2]);
    h = ring_open(argv[1]);
    if (!ok(h != NULL, "open: %s", dp_last_error_message()))
        return 1;
    {
        DP_RESULT r = dp12_acquire_frame(h, g.queue, 20000, &tex, &frame);
        if (!ok(r == DP_OK, "acquire: %s: %s", dp_result_string(r), dp_last_error_message()))
            return 1;
    }
    SetEvent(holding);
    Sleep(60000);
    return 3;
}

DP_TEST(ring_stalled_and_killed_consumer)
{
    wchar_t name[64], holding_name[160];
    HANDLE holding;
    DP_HANDLE h;
    dptest_child c;
    DP_PORT_INFO info;
    tu_gpu g;
    long busy = 0, ok_frames = 0;
    uint64_t last = 0;
    if (!dp12_init() || !tu_gpu_init(&g))
        skip("no D3D12 device: %s", dp_last_error_message());
    ring_name(name, 64, "stall");
    ring_object(holding_name, 160, name, L"holding");
    holding = CreateEventW(NULL, TRUE, FALSE, holding_name);
    h = ring_create(name, 64, 48, 2);
    if (!ok(h != NULL, "create: %s", dp_last_error_message()))
        return;
    c = dptest_spawn(L"ring_holding_consumer %ls \"%ls\"", name, holding_name);
    ok(ring_publish(h, &g, &last) == DP_OK, "first frame");
    ok(WaitForSingleObject(holding, 30000) == WAIT_OBJECT_0, "the consumer never held a frame");
    /* A consumer holds one of two slots and stops: the producer goes on, dropping
     * frames instead of waiting. */
    for (int i = 0; i < 100; i++) {
        DP_RESULT r = ring_publish(h, &g, &last);
        ok(r == DP_OK || r == DP_ERROR_BUSY, "frame %d: %s", i, dp_result_string(r));
        busy += r == DP_ERROR_BUSY;
        ok_frames += r == DP_OK;
    }
    /* Frames ended are published by the worker a moment later. */
    for (ULONGLONG start = GetTickCount64(); GetTickCount64() - start < 5000; Sleep(10)) {
        dp_get_port_info(h, &info);
        if (info.frames_published == (uint64_t)ok_frames + 1)
            break;
    }
    ok(busy > 0, "no frame was dropped with one of two slots held");
    ok(info.frames_dropped == (uint64_t)busy, "the port reports %llu drops, the producer saw %ld",
       (unsigned long long)info.frames_dropped, busy);
    ok(info.frames_published == (uint64_t)ok_frames + 1, "published %llu, expected %ld",
       (unsigned long long)info.frames_published, ok_frames + 1);
    /* The consumer dies holding its claim: the slot comes back. */
    TerminateProcess(c.process, 9);
    WaitForSingleObject(c.process, 10000);
    dptest_wait_child(&c, 1000, NULL);
    /* On the host transport a frame just ended is in flight until the worker publishes
     * it, so a begin right after may still drop: what matters is that frames go through
     * again, both slots in turn. */
    ok_frames = 0;
    for (int i = 0; i < 200 && ok_frames < 10; i++) {
        DP_RESULT r = ring_publish(h, &g, &last);
        ok(r == DP_OK || r == DP_ERROR_BUSY, "after the holder died: %s", dp_result_string(r));
        ok_frames += r == DP_OK;
        Sleep(5);
    }
    ok(ok_frames == 10, "only %ld frames went through after the holder died", ok_frames);
    CloseHandle(holding);
    tu_gpu_free(&g);
    dp12_close(h);
    dp12_shutdown();
}

/* argv: role name -> publishes frames until killed. */
DP_CHILD(ring_endless_producer)
{
    DP_HANDLE h;
    tu_gpu g;
    if (argc < 2 || !dp12_init() || !tu_gpu_init(&g))
        return 2;
    h = ring_create(argv[1], 64, 48, 3);
    if (!ok(h != NULL, "create %ls: %s", argv[1], dp_last_error_message()))
        return 1;
    for (uint64_t last = 0;;) {
        DP_RESULT r = ring_publish(h, &g, &last);
        if (!ok(r == DP_OK || r == DP_ERROR_BUSY, "publish: %s", dp_result_string(r)))
            return 1;
        Sleep(5);
    }
}

/* Acquires one frame of name at 64x48 and checks it; returns the acquire result. */
static DP_RESULT ring_take(DP_HANDLE h, tu_gpu *g, uint32_t timeout, uint64_t *last)
{
    ID3D12Resource *tex = NULL;
    uint64_t frame = 0;
    DP_RESULT r = dp12_acquire_frame(h, g->queue, timeout, &tex, &frame);
    if (r != DP_OK)
        return r;
    ok(frame > *last, "frame %llu after %llu", (unsigned long long)frame, (unsigned long long)*last);
    ring_check_frame(g, tex, frame, 64, 48);
    dp12_release_frame(h, g->queue);
    *last = frame;
    return r;
}

DP_TEST(ring_producer_killed_then_restarted)
{
    wchar_t name[64];
    DP_HANDLE h;
    dptest_child a, b;
    tu_gpu g;
    uint64_t last = 0;
    DP_RESULT r = DP_OK;
    if (!dp12_init() || !tu_gpu_init(&g))
        skip("no D3D12 device: %s", dp_last_error_message());
    ring_name(name, 64, "restart");
    a = dptest_spawn(L"ring_endless_producer %ls", name);
    h = ring_open(name);
    if (!ok(h != NULL, "open: %s", dp_last_error_message()))
        return;
    for (int i = 0; i < 5 && r == DP_OK; i++)
        r = ring_take(h, &g, 10000, &last);
    ok(r == DP_OK, "acquire from the first producer: %s", dp_result_string(r));

    /* Killed mid-stream: the consumer hears of it instead of waiting out its timeout. */
    TerminateProcess(a.process, 9);
    WaitForSingleObject(a.process, 10000);
    dptest_wait_child(&a, 1000, NULL);
    r = DP_OK;
    for (int i = 0; i < 100 && r == DP_OK; i++)
        r = ring_take(h, &g, 20000, &last);
    ok(r == DP_ERROR_DISCONNECTED, "acquire after the producer was killed: %s", dp_result_string(r));

    /* A new producer under the same name: the same consumer handle goes on. */
    b = dptest_spawn(L"ring_endless_producer %ls", name);
    r = DP_ERROR_DISCONNECTED;
    for (ULONGLONG start = GetTickCount64(); r == DP_ERROR_DISCONNECTED && GetTickCount64() - start < 20000;)
        if ((r = ring_take(h, &g, 5000, &last)) == DP_ERROR_DISCONNECTED)
            Sleep(20);
    ok(r == DP_OK, "acquire from the restarted producer: %s (%s)", dp_result_string(r), dp_last_error_message());
    for (int i = 0; i < 5 && r == DP_OK; i++)
        r = ring_take(h, &g, 10000, &last);
    ok(r == DP_OK, "frames from the restarted producer: %s", dp_result_string(r));
    TerminateProcess(b.process, 9);
    dptest_wait_child(&b, 10000, NULL);
    tu_gpu_free(&g);
    dp12_close(h);
    dp12_shutdown();
}

/* ---- Resize ---------------------------------------------------------------------------- */

/* argv: role name ready-event -> 30 frames at 96x64, then 30 at 130x40. */
DP_CHILD(ring_resizing_producer)
{
    DP_HANDLE h;
    HANDLE ready;
    tu_gpu g;
    if (argc < 3 || !dp12_init() || !tu_gpu_init(&g))
        return 2;
    ready = OpenEventW(SYNCHRONIZE, FALSE, argv[2]);
    h = ring_create(argv[1], 96, 64, 3);
    if (!ok(h != NULL, "create: %s", dp_last_error_message()))
        return 1;
    ok(WaitForSingleObject(ready, 30000) == WAIT_OBJECT_0, "the consumer never got ready");
    for (int i = 0; i < 60; i++) {
        static uint64_t last;
        DP_RESULT r;
        if (i == 30)
            ok(dp12_resize_port(h, 130, 40) == DP_OK, "resize: %s", dp_last_error_message());
        r = ring_publish(h, &g, &last);
        ok(r == DP_OK || r == DP_ERROR_BUSY, "frame %d: %s", i, dp_result_string(r));
        Sleep(8);
    }
    /* Linger so the consumer can take the last frames. */
    Sleep(2000);
    tu_gpu_free(&g);
    dp12_close(h);
    dp12_shutdown();
    return dptest_failures() ? 1 : 0;
}

DP_TEST(ring_resize_mid_stream)
{
    wchar_t name[64], ready_name[160];
    HANDLE ready;
    DP_HANDLE h;
    dptest_child c;
    DWORD code = 99;
    tu_gpu g;
    uint64_t last = 0, first_new = 0;
    long old_size = 0, new_size = 0;
    if (!dp12_init() || !tu_gpu_init(&g))
        skip("no D3D12 device: %s", dp_last_error_message());
    ring_name(name, 64, "resize");
    ring_object(ready_name, 160, name, L"ready");
    ready = CreateEventW(NULL, TRUE, FALSE, ready_name);
    c = dptest_spawn(L"ring_resizing_producer %ls \"%ls\"", name, ready_name);
    h = ring_open(name);
    if (ok(h != NULL, "open: %s", dp_last_error_message())) {
        SetEvent(ready);
        for (;;) {
            ID3D12Resource *tex = NULL;
            D3D12_RESOURCE_DESC desc;
            uint64_t frame = 0;
            DP_RESULT r = dp12_acquire_frame(h, g.queue, 1500, &tex, &frame);
            if (r != DP_OK)
                break;
            tex->lpVtbl->GetDesc(tex, &desc);
            /* Whichever size a frame has, it must be whole at that size, and once the
             * new size is seen the old never comes back. */
            if (desc.Width == 130) {
                new_size++;
                if (!first_new)
                    first_new = frame;
                ring_check_frame(&g, tex, frame, 130, 40);
            } else {
                old_size++;
                ok(!first_new, "frame %llu has the old size after frame %llu had the new", (unsigned long long)frame,
                   (unsigned long long)first_new);
                ring_check_frame(&g, tex, frame, 96, 64);
            }
            ok(frame > last, "frame %llu after %llu", (unsigned long long)frame, (unsigned long long)last);
            last = frame;
            dp12_release_frame(h, g.queue);
        }
        dptest_diag("%ld frames at 96x64, %ld at 130x40", old_size, new_size);
        ok(old_size > 0 && new_size > 0, "frames of both sizes: %ld old, %ld new", old_size, new_size);
        dp12_close(h);
    }
    code = dptest_wait_child(&c, 60000, &code) ? code : 0xFFFFFFFFu;
    ok(code == 0, "producer exit code %lu", code);
    CloseHandle(ready);
    tu_gpu_free(&g);
    dp12_shutdown();
}

DP_TEST(ring_bad_arguments)
{
    wchar_t name[64];
    DP_HANDLE prod, cons;
    ID3D12Resource *tex = NULL;
    tu_gpu g;
    if (!dp12_init() || !tu_gpu_init(&g))
        skip("no D3D12 device: %s", dp_last_error_message());
    ring_name(name, 64, "badargs");
    prod = ring_create(name, 32, 32, 3);
    cons = dp12_open_port(name);
    if (!ok(prod && cons, "create/open: %s", dp_last_error_message()))
        return;
#define EXPECT(call, result)                                                                               \
    ok((call) == (result) && dp_last_error() == (result), "%s gave %s", #call, dp_result_string(dp_last_error()))
    EXPECT(dp12_begin_frame(prod, NULL), DP_ERROR_INVALID_ARGUMENT);
    EXPECT(dp12_begin_frame(cons, &tex), DP_ERROR_INVALID_ARGUMENT);
    EXPECT(dp12_begin_frame(NULL, &tex), DP_ERROR_INVALID_ARGUMENT);
    EXPECT(dp12_end_frame(prod, g.queue, NULL), DP_ERROR_INVALID_ARGUMENT);
    EXPECT(dp12_acquire_frame(prod, g.queue, 0, &tex, NULL), DP_ERROR_INVALID_ARGUMENT);
    EXPECT(dp12_acquire_frame(cons, NULL, 0, &tex, NULL), DP_ERROR_INVALID_ARGUMENT);
    EXPECT(dp12_acquire_frame(cons, g.queue, 0, NULL, NULL), DP_ERROR_INVALID_ARGUMENT);
    EXPECT(dp12_acquire_frame(cons, g.queue, 0, &tex, NULL), DP_ERROR_TIMEOUT);
    EXPECT(dp12_resize_port(prod, 0, 10), DP_ERROR_INVALID_ARGUMENT);
    EXPECT(dp12_resize_port(prod, 10, 16385), DP_ERROR_INVALID_ARGUMENT);
    EXPECT(dp12_resize_port(cons, 10, 10), DP_ERROR_INVALID_ARGUMENT);
    ok(dp12_begin_frame(prod, &tex) == DP_OK && tex, "begin: %s", dp_last_error_message());
    EXPECT(dp12_end_frame(prod, NULL, NULL), DP_ERROR_INVALID_ARGUMENT);
    EXPECT(dp12_resize_port(prod, 10, 10), DP_ERROR_INVALID_ARGUMENT);
    ok(dp12_end_frame(prod, g.queue, NULL) == DP_OK, "end: %s", dp_last_error_message());
    dp12_release_frame(cons, g.queue);
    ok(dp_last_error() == DP_ERROR_INVALID_ARGUMENT, "release without a frame: %s", dp_result_string(dp_last_error()));
    ok(dp12_acquire_frame(cons, g.queue, 5000, &tex, NULL) == DP_OK, "acquire: %s", dp_last_error_message());
    EXPECT(dp12_acquire_frame(cons, g.queue, 0, &tex, NULL), DP_ERROR_INVALID_ARGUMENT);
    dp12_release_frame(cons, NULL);
    ok(dp_last_error() == DP_ERROR_INVALID_ARGUMENT, "release with no queue");
    dp12_release_frame(cons, g.queue);
#undef EXPECT
    tu_gpu_free(&g);
    dp12_close(cons);
    dp12_close(prod);
    dp12_shutdown();
}
