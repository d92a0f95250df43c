/*
 * dpring.c - the frame-protocol cases written once (see dpring.h).
 */
#include "dpring.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capabilities.h"
#include "dptest.h"

/* Stream frames before and after a resize. */
#define RING_W 160
#define RING_H 90
#define RING_W2 130
#define RING_H2 40
/* Frames of the other cases. */
#define SMALL_W 64
#define SMALL_H 48
/* A begin/end call that takes longer than this has waited for something. */
#define RING_MAX_CALL_MS 500u

/* Zeroes g, inits api and g; without a device, skips the case (returns from it). */
#define INIT_OR_SKIP(api, g)                                                                      \
    do {                                                                                         \
        memset((g), 0, sizeof(*(g)));                                                            \
        if (!(api)->init() || !(api)->gpu_init(g)) {                                             \
            (api)->gpu_free(g);                                                                  \
            skip("no %s device: %s", (api)->name, dp_last_error_message());                      \
        }                                                                                        \
    } while (0)

/* A port name of the ring cases, unique to this run and core. */
static void ring_name(const dpt_api *api, wchar_t *out, size_t cap, const char *what)
{
    char full[48];
    snprintf(full, sizeof(full), "ring.%s", what);
    dpt_port_name(api, out, cap, full);
}

/* A named kernel object of the test, derived from the port name. */
static void ring_object(wchar_t *out, size_t cap, const wchar_t *port, const wchar_t *what)
{
    swprintf(out, cap, L"Local\\dptest.%ls.%ls", port, what);
}

static DP_HANDLE ring_create(const dpt_api *api, const wchar_t *name, uint32_t w, uint32_t h, uint32_t slots,
                             DP_TRANSPORT transport)
{
    DP_PORT_DESC d = {0};
    d.name = name;
    d.width = w;
    d.height = h;
    d.slots = slots;
    d.transport = transport;
    return api->create_port(&d);
}

/* Opens name, retrying while its producer is still starting. */
static DP_HANDLE ring_open(const dpt_api *api, const wchar_t *name)
{
    DP_HANDLE h = NULL;
    for (ULONGLONG start = GetTickCount64(); !h && GetTickCount64() - start < 20000; Sleep(10))
        h = api->open_port(name);
    return h;
}

/* The core of a child, from its argv[1]; and its device. */
static const dpt_api *child_init(int argc, wchar_t **argv, int want_argc, dpt_gpu *g)
{
    const dpt_api *api = argc >= want_argc ? dpt_api_named(argv[1]) : NULL;
    memset(g, 0, sizeof(*g));
    return api && api->init() && api->gpu_init(g) ? api : NULL;
}

/* Frees g, closes h (if any) and shuts the core down. */
static void child_done(const dpt_api *api, dpt_gpu *g, DP_HANDLE h)
{
    api->gpu_free(g);
    if (h)
        api->close(h);
    api->shutdown();
}

/* ---- Producer and consumer sides of a frame ------------------------------------------------ */

typedef struct {
    const dpt_api *api;
    dpt_gpu *g;
    DP_HANDLE h;
    uint64_t last;      /* last frame ended */
    long published, dropped;
    ULONGLONG slowest;  /* ms of the slowest begin or end call */
} ring_writer;

/* One frame: begin, write the next frame value's pattern, end. The next value is the last
 * this producer ended + 1, or the port's published value + 1 for its first (a port taken
 * over goes on from there). DP_ERROR_BUSY: dropped. */
static DP_RESULT ring_publish(ring_writer *w)
{
    void *target = NULL;
    DP_PORT_INFO info;
    uint64_t frame = 0, expected;
    ULONGLONG t0 = GetTickCount64(), t1;
    DP_RESULT r = w->api->begin(w->h, &target);
    t1 = GetTickCount64();
    if (t1 - t0 > w->slowest)
        w->slowest = t1 - t0;
    if (r == DP_ERROR_BUSY) {
        ok(target == NULL, "BUSY handed out a texture");
        w->dropped++;
        return r;
    }
    if (!ok(r == DP_OK, "begin_frame: %s (%s)", dp_result_string(r), dp_last_error_message()))
        return r;
    dp_get_port_info(w->h, &info);
    expected = (w->last ? w->last : info.last_frame) + 1;
    ok(w->api->write(w->g, target, 4, expected), "writing frame %llu", (unsigned long long)expected);
    t0 = GetTickCount64();
    r = w->api->end(w->g, w->h, &frame);
    t1 = GetTickCount64();
    if (t1 - t0 > w->slowest)
        w->slowest = t1 - t0;
    if (!ok(r == DP_OK && frame == expected, "end_frame: %s, frame %llu, expected %llu", dp_result_string(r),
            (unsigned long long)frame, (unsigned long long)expected))
        return r;
    w->last = frame;
    w->published++;
    return DP_OK;
}

/* Acquires one w x h frame and checks it is whole and newer than *last; returns the
 * acquire result. */
static DP_RESULT ring_take(const dpt_api *api, dpt_gpu *g, DP_HANDLE h, uint32_t timeout_ms, uint64_t *last,
                           uint32_t w, uint32_t height)
{
    void *tex = NULL;
    uint64_t frame = 0;
    DP_RESULT r = api->acquire(g, h, timeout_ms, &tex, &frame);
    if (r != DP_OK)
        return r;
    ok(frame > *last, "frame %llu after %llu", (unsigned long long)frame, (unsigned long long)*last);
    dpt_check_frame(api, g, tex, frame, w, height);
    api->release(g, h);
    *last = frame;
    return r;
}

/* ---- Streams ------------------------------------------------------------------------------------ */

/* argv: role core name frames resize_at
 * Opens name, signals <name>.ready, acquires until <name>.finished is set and no newer
 * frame comes. Every frame whole and newer than the one before, RING_W x RING_H up to
 * frame resize_at, RING_W2 x RING_H2 after it (resize_at > 0); the last is frame
 * `frames`. */
DP_CHILD(ring_consumer)
{
    wchar_t obj[160];
    HANDLE ready, finished;
    const dpt_api *api;
    dpt_gpu g;
    DP_HANDLE h;
    uint64_t last = 0, frames, resize_at;
    long acquired = 0, resized = 0;
    if (!(api = child_init(argc, argv, 5, &g)))
        return 2;
    frames = wcstoull(argv[3], NULL, 10);
    resize_at = wcstoull(argv[4], NULL, 10);
    ring_object(obj, 160, argv[2], L"ready");
    ready = OpenSemaphoreW(SEMAPHORE_MODIFY_STATE, FALSE, obj);
    ring_object(obj, 160, argv[2], L"finished");
    finished = OpenEventW(SYNCHRONIZE, FALSE, obj);
    if (!ok(ready && finished, "test objects of %ls missing", argv[2]))
        return 2;
    h = api->open_port(argv[2]);
    if (!ok(h != NULL, "open %ls: %s", argv[2], dp_last_error_message()))
        return 1;
    ReleaseSemaphore(ready, 1, NULL);
    for (;;) {
        DP_PORT_INFO info;
        uint32_t w, height;
        void *tex = NULL;
        uint64_t frame = 0;
        DP_RESULT r = api->acquire(&g, h, 2000, &tex, &frame);
        /* Done once the producer finished and nothing newer comes. */
        if (r == DP_ERROR_TIMEOUT && WaitForSingleObject(finished, 0) == WAIT_OBJECT_0)
            break;
        if (!ok(r == DP_OK, "acquire: %s (%s)", dp_result_string(r), dp_last_error_message()))
            break;
        ok(frame > last, "frame %llu after %llu", (unsigned long long)frame, (unsigned long long)last);
        w = resize_at && frame > resize_at ? RING_W2 : RING_W;
        height = resize_at && frame > resize_at ? RING_H2 : RING_H;
        dpt_check_frame(api, &g, tex, frame, w, height);
        ok(dp_get_port_info(h, &info) && info.width == w && info.height == height,
           "the consumer's port info is %ux%u for a %ux%u frame", info.width, info.height, w, height);
        resized += w == RING_W2;
        api->release(&g, h);
        last = frame;
        acquired++;
        if (dptest_failures())
            break;
    }
    dptest_diag("consumer (%s): %ld frames acquired, last %llu", api->name, acquired, (unsigned long long)last);
    ok(acquired > 1, "only %ld frames acquired", acquired);
    ok(last == frames, "the last frame acquired is %llu, not %llu", (unsigned long long)last,
       (unsigned long long)frames);
    if (resize_at)
        ok(resized > 0 && resized < acquired, "frames of both sizes: %ld old, %ld new", acquired - resized, resized);
    child_done(api, &g, h);
    CloseHandle(ready);
    CloseHandle(finished);
    return dptest_failures() ? 1 : 0;
}

void case_ring_stream(const ring_plan *plan)
{
    const dpt_api *api = plan->prod;
    wchar_t name[64], obj[160];
    HANDLE ready, finished;
    dptest_child children[4];
    ring_writer w;
    dpt_gpu g;
    DP_PORT_INFO info;
    bool resized = false, all_ready = true;
    ULONGLONG start;

    if (plan->transport == DP_TRANSPORT_GPU)
        DPT_REQUIRE_GPU(api->name);
    memset(&w, 0, sizeof(w));
    w.api = api;
    w.g = &g;
    INIT_OR_SKIP(api, &g);
    ring_name(api, name, 64, plan->what);
    w.h = ring_create(api, name, RING_W, RING_H, plan->slots, plan->transport);
    if (!ok(w.h != NULL, "create %ls: %s", name, dp_last_error_message())) {
        child_done(api, &g, NULL);
        return;
    }
    ring_object(obj, 160, name, L"ready");
    ready = CreateSemaphoreW(NULL, 0, 16, obj);
    ring_object(obj, 160, name, L"finished");
    finished = CreateEventW(NULL, TRUE, FALSE, obj);
    for (int i = 0; i < plan->consumers; i++)
        children[i] = dptest_spawn(L"ring_consumer %hs %ls %ld %ld", plan->cons->name, name, plan->frames,
                                   plan->resize_at);
    for (int i = 0; i < plan->consumers; i++)
        all_ready = ok(WaitForSingleObject(ready, 30000) == WAIT_OBJECT_0, "consumer %d never got ready", i) &&
                    all_ready;
    start = GetTickCount64();
    while (all_ready && w.published < plan->frames && GetTickCount64() - start < 60000 && !dptest_failures()) {
        DP_RESULT r;
        if (plan->resize_at && !resized && w.published == plan->resize_at) {
            r = api->resize(w.h, RING_W2, RING_H2);
            ok(r == DP_OK, "resize: %s (%s)", dp_result_string(r), dp_last_error_message());
            resized = true;
        }
        r = ring_publish(&w);
        if (plan->pace_ms)
            Sleep(r == DP_ERROR_BUSY ? 1u : (DWORD)plan->pace_ms);
        else if (r == DP_ERROR_BUSY)
            Sleep(0);
    }
    SetEvent(finished);
    for (int i = 0; i < plan->consumers; i++) {
        DWORD code = 99;
        /* Waited for before ok() is called: its arguments, code among them, are
         * evaluated in no set order. */
        bool exited = dptest_wait_child(&children[i], 100000, &code);
        ok(exited && code == 0, "consumer %d exit code %lu", i, code);
    }
    ok(w.published == plan->frames, "published %ld of %ld frames", w.published, plan->frames);
    ok(w.slowest <= RING_MAX_CALL_MS, "a begin/end call took %llu ms: the producer waited",
       (unsigned long long)w.slowest);
    if (ok(dp_get_port_info(w.h, &info), "port info"))
        ok(info.frames_dropped == (uint64_t)w.dropped, "the port counted %llu drops, the producer saw %ld",
           (unsigned long long)info.frames_dropped, w.dropped);
    dptest_diag("producer (%s): %ld published, %ld dropped, slowest call %llu ms", api->name, w.published,
                w.dropped, (unsigned long long)w.slowest);
    child_done(api, &g, w.h);
    CloseHandle(ready);
    CloseHandle(finished);
}

/* ---- Legacy and frame protocol mixed ---------------------------------------------------------- */

/* argv: role core tex fence count -> acquires `count` frames of a legacy producer. */
DP_CHILD(ring_acquire_legacy)
{
    const dpt_api *api;
    DP_HANDLE h = NULL;
    dpt_gpu g;
    uint64_t last = 0;
    long count;
    if (!(api = child_init(argc, argv, 5, &g)))
        return 2;
    count = wcstol(argv[4], NULL, 10);
    for (ULONGLONG start = GetTickCount64(); !h && GetTickCount64() - start < 20000; Sleep(10))
        h = api->open_legacy(argv[2], argv[3]);
    if (!ok(h != NULL, "open: %s", dp_last_error_message()))
        return 1;
    while ((long)last < count) {
        DP_RESULT r = ring_take(api, &g, h, 10000, &last, SMALL_W, SMALL_H);
        if (!ok(r == DP_OK, "acquire after %llu: %s", (unsigned long long)last, dp_last_error_message()))
            break;
    }
    child_done(api, &g, h);
    return dptest_failures() ? 1 : 0;
}

void case_ring_legacy_producer_frame_consumer(const dpt_api *api)
{
    wchar_t tex[96], fence[96];
    DP_HANDLE h;
    dptest_child c;
    DWORD code = 99;
    dpt_gpu g;
    INIT_OR_SKIP(api, &g);
    dpt_nt_name(api, tex, 96, "ring.legacyprod");
    swprintf(fence, 96, L"%ls.fence", tex);
    h = api->create_legacy(SMALL_W, SMALL_H, DP_FORMAT_VIDEO, false, tex, fence);
    if (ok(h != NULL, "create: %s", dp_last_error_message())) {
        c = dptest_spawn(L"ring_acquire_legacy %hs \"%ls\" \"%ls\" 40", api->name, tex, fence);
        /* The reference API's producer: write, signal, value = frame number. */
        for (uint64_t v = 1; v <= 40; v++) {
            ok(api->write(&g, api->texture(h), 4, v), "write %llu", (unsigned long long)v);
            ok(api->signal(&g, h, v), "signal: %s", dp_last_error_message());
            ok(api->cpu_wait(h, v, 10000) == DP_OK, "own signal %llu", (unsigned long long)v);
            Sleep(15);
        }
        code = dptest_wait_child(&c, 60000, &code) ? code : 0xFFFFFFFFu;
        ok(code == 0, "consumer exit code %lu", code);
    }
    child_done(api, &g, h);
}

/* argv: role core name step-event frames -> publishes one frame per step. */
DP_CHILD(ring_stepped_producer)
{
    const dpt_api *api;
    ring_writer w;
    HANDLE step;
    dpt_gpu g;
    long frames;
    if (!(api = child_init(argc, argv, 5, &g)))
        return 2;
    memset(&w, 0, sizeof(w));
    w.api = api;
    w.g = &g;
    frames = wcstol(argv[4], NULL, 10);
    step = OpenEventW(SYNCHRONIZE, FALSE, argv[3]);
    w.h = ring_create(api, argv[2], SMALL_W, SMALL_H, 3, DP_TRANSPORT_AUTO);
    if (!ok(w.h != NULL && step, "create: %s", dp_last_error_message()))
        return 1;
    for (long i = 0; i < frames; i++) {
        if (!ok(WaitForSingleObject(step, 30000) == WAIT_OBJECT_0, "no step %ld", i))
            break;
        ok(ring_publish(&w) == DP_OK, "frame %ld", i);
    }
    /* Stay until the consumer is done with the last frame. */
    WaitForSingleObject(step, 30000);
    child_done(api, &g, w.h);
    return dptest_failures() ? 1 : 0;
}

void case_ring_frame_producer_legacy_consumer(const dpt_api *api)
{
    wchar_t name[64], step_name[160];
    HANDLE step;
    DP_HANDLE h;
    dptest_child c;
    DWORD code = 99;
    dpt_gpu g;
    INIT_OR_SKIP(api, &g);
    ring_name(api, name, 64, "legacycons");
    ring_object(step_name, 160, name, L"step");
    step = CreateEventW(NULL, FALSE, FALSE, step_name);
    c = dptest_spawn(L"ring_stepped_producer %hs %ls \"%ls\" 5", api->name, name, step_name);
    h = ring_open(api, name);
    if (ok(h != NULL, "open: %s", dp_last_error_message())) {
        /* The reference API's consumer: wait for the value, read its texture. */
        for (uint64_t v = 1; v <= 5; v++) {
            uint8_t *pixels = NULL;
            uint32_t pitch = 0;
            SetEvent(step);
            if (!ok(api->cpu_wait(h, v, 10000) == DP_OK, "frame %llu: %s", (unsigned long long)v,
                    dp_last_error_message()))
                break;
            if (ok(api->read(&g, api->texture(h), &pixels, &pitch), "read back"))
                ok(tu_count_bad(pixels, pitch, SMALL_W, SMALL_H, 4, v) == 0, "frame %llu is not whole",
                   (unsigned long long)v);
            free(pixels);
        }
        api->close(h);
    }
    SetEvent(step);
    code = dptest_wait_child(&c, 60000, &code) ? code : 0xFFFFFFFFu;
    ok(code == 0, "producer exit code %lu", code);
    CloseHandle(step);
    child_done(api, &g, NULL);
}

/* ---- Stalls, kills, restarts ----------------------------------------------------------------- */

/* argv: role core name holding-event -> acquires one frame and holds it until killed. */
DP_CHILD(ring_holding_consumer)
{
    const dpt_api *api;
    DP_HANDLE h;
    HANDLE holding;
    dpt_gpu g;
    void *tex = NULL;
    uint64_t frame = 0;
    DP_RESULT r;
    if (!(api = child_init(argc, argv, 4, &g)))
        return 2;
    holding = OpenEventW(EVENT_MODIFY_STATE, FALSE, argv[3]);
    h = ring_open(api, argv[2]);
    if (!ok(h != NULL, "open: %s", dp_last_error_message()))
        return 1;
    r = api->acquire(&g, h, 20000, &tex, &frame);
    if (!ok(r == DP_OK, "acquire: %s: %s", dp_result_string(r), dp_last_error_message()))
        return 1;
    SetEvent(holding);
    Sleep(60000);
    return 3;
}

void case_ring_stalled_and_killed_consumer(const dpt_api *api)
{
    wchar_t name[64], holding_name[160];
    HANDLE holding;
    dptest_child c;
    DP_PORT_INFO info;
    ring_writer w;
    dpt_gpu g;
    long busy = 0, ok_frames = 0;
    memset(&w, 0, sizeof(w));
    INIT_OR_SKIP(api, &g);
    w.api = api;
    w.g = &g;
    ring_name(api, name, 64, "stall");
    ring_object(holding_name, 160, name, L"holding");
    holding = CreateEventW(NULL, TRUE, FALSE, holding_name);
    w.h = ring_create(api, name, SMALL_W, SMALL_H, 2, DP_TRANSPORT_AUTO);
    if (!ok(w.h != NULL, "create: %s", dp_last_error_message())) {
        CloseHandle(holding);
        child_done(api, &g, NULL);
        return;
    }
    c = dptest_spawn(L"ring_holding_consumer %hs %ls \"%ls\"", api->name, name, holding_name);
    ok(ring_publish(&w) == DP_OK, "first frame");
    ok(WaitForSingleObject(holding, 30000) == WAIT_OBJECT_0, "the consumer never held a frame");
    /* A consumer holds one of two slots and stops: the producer goes on, dropping
     * frames instead of waiting. */
    for (int i = 0; i < 100; i++) {
        DP_RESULT r = ring_publish(&w);
        ok(r == DP_OK || r == DP_ERROR_BUSY, "frame %d: %s", i, dp_result_string(r));
        busy += r == DP_ERROR_BUSY;
        ok_frames += r == DP_OK;
    }
    /* Frames ended are published by the worker a moment later. */
    for (ULONGLONG start = GetTickCount64(); GetTickCount64() - start < 5000; Sleep(10)) {
        dp_get_port_info(w.h, &info);
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
        DP_RESULT r = ring_publish(&w);
        ok(r == DP_OK || r == DP_ERROR_BUSY, "after the holder died: %s", dp_result_string(r));
        ok_frames += r == DP_OK;
        Sleep(5);
    }
    ok(ok_frames == 10, "only %ld frames went through after the holder died", ok_frames);
    CloseHandle(holding);
    child_done(api, &g, w.h);
}

/* argv: role core name -> publishes frames until killed. */
DP_CHILD(ring_endless_producer)
{
    const dpt_api *api;
    ring_writer w;
    dpt_gpu g;
    if (!(api = child_init(argc, argv, 3, &g)))
        return 2;
    memset(&w, 0, sizeof(w));
    w.api = api;
    w.g = &g;
    w.h = ring_create(api, argv[2], SMALL_W, SMALL_H, 3, DP_TRANSPORT_AUTO);
    if (!ok(w.h != NULL, "create %ls: %s", argv[2], dp_last_error_message()))
        return 1;
    for (;;) {
        DP_RESULT r = ring_publish(&w);
        if (!ok(r == DP_OK || r == DP_ERROR_BUSY, "publish: %s", dp_result_string(r)))
            return 1;
        Sleep(5);
    }
}

void case_ring_producer_killed_then_restarted(const dpt_api *api)
{
    wchar_t name[64];
    DP_HANDLE h;
    dptest_child a, b;
    dpt_gpu g;
    uint64_t last = 0;
    DP_RESULT r = DP_OK;
    INIT_OR_SKIP(api, &g);
    ring_name(api, name, 64, "restart");
    a = dptest_spawn(L"ring_endless_producer %hs %ls", api->name, name);
    h = ring_open(api, name);
    if (!ok(h != NULL, "open: %s", dp_last_error_message())) {
        TerminateProcess(a.process, 9);
        dptest_wait_child(&a, 10000, NULL);
        child_done(api, &g, NULL);
        return;
    }
    for (int i = 0; i < 5 && r == DP_OK; i++)
        r = ring_take(api, &g, h, 10000, &last, SMALL_W, SMALL_H);
    ok(r == DP_OK, "acquire from the first producer: %s", dp_result_string(r));

    /* Killed mid-stream: the consumer hears of it instead of waiting out its timeout. */
    TerminateProcess(a.process, 9);
    WaitForSingleObject(a.process, 10000);
    dptest_wait_child(&a, 1000, NULL);
    r = DP_OK;
    for (int i = 0; i < 100 && r == DP_OK; i++)
        r = ring_take(api, &g, h, 20000, &last, SMALL_W, SMALL_H);
    ok(r == DP_ERROR_DISCONNECTED, "acquire after the producer was killed: %s", dp_result_string(r));

    /* A new producer under the same name: the same consumer handle goes on. */
    b = dptest_spawn(L"ring_endless_producer %hs %ls", api->name, name);
    r = DP_ERROR_DISCONNECTED;
    for (ULONGLONG start = GetTickCount64(); r == DP_ERROR_DISCONNECTED && GetTickCount64() - start < 20000;)
        if ((r = ring_take(api, &g, h, 5000, &last, SMALL_W, SMALL_H)) == DP_ERROR_DISCONNECTED)
            Sleep(20);
    ok(r == DP_OK, "acquire from the restarted producer: %s (%s)", dp_result_string(r), dp_last_error_message());
    for (int i = 0; i < 5 && r == DP_OK; i++)
        r = ring_take(api, &g, h, 10000, &last, SMALL_W, SMALL_H);
    ok(r == DP_OK, "frames from the restarted producer: %s", dp_result_string(r));
    TerminateProcess(b.process, 9);
    dptest_wait_child(&b, 10000, NULL);
    child_done(api, &g, h);
}

/* A producer that closes its port, its process living on: the consumer is told at once
 * (not at its timeout), a new open finds nothing, and a new producer takes the name
 * over while the consumer still holds it, which the same consumer handle follows. */
void case_ring_producer_closed_then_restarted(const dpt_api *api)
{
    wchar_t name[64];
    DP_HANDLE prod, cons, again = NULL;
    dpt_gpu g;
    uint64_t last = 0;
    DP_RESULT r = DP_OK;
    INIT_OR_SKIP(api, &g);
    ring_name(api, name, 64, "closed");
    prod = ring_create(api, name, SMALL_W, SMALL_H, 2, DP_TRANSPORT_AUTO);
    cons = prod ? api->open_port(name) : NULL;
    if (!ok(prod && cons, "create and open: %s", dp_last_error_message())) {
        api->close(prod);
        child_done(api, &g, cons);
        return;
    }
    ring_writer w = {api, &g, prod, 0, 0, 0, 0};
    ok(ring_publish(&w) == DP_OK, "the first producer's frame");
    r = ring_take(api, &g, cons, 10000, &last, SMALL_W, SMALL_H);
    ok(r == DP_OK, "acquire from the first producer: %s", dp_result_string(r));

    api->close(prod);
    ULONGLONG start = GetTickCount64();
    r = ring_take(api, &g, cons, 20000, &last, SMALL_W, SMALL_H);
    ok(r == DP_ERROR_DISCONNECTED, "acquire after the producer closed: %s (%s)", dp_result_string(r),
       dp_last_error_message());
    dptest_diag("the close was heard after %llu ms", (unsigned long long)(GetTickCount64() - start));
    again = api->open_port(name);
    ok(!again && dp_last_error() == DP_ERROR_NOT_FOUND, "open after the close: %s",
       dp_result_string(again ? DP_OK : dp_last_error()));
    if (again)
        api->close(again);

    /* The name is free again while the consumer holds its objects. */
    prod = ring_create(api, name, SMALL_W, SMALL_H, 2, DP_TRANSPORT_AUTO);
    ok(prod != NULL, "a new producer of the name: %s", dp_last_error_message());
    if (prod) {
        w.h = prod;
        w.last = 0;
        ok(ring_publish(&w) == DP_OK, "the new producer's frame");
        r = ring_take(api, &g, cons, 10000, &last, SMALL_W, SMALL_H);
        ok(r == DP_OK, "acquire from the new producer on the same handle: %s (%s)", dp_result_string(r),
           dp_last_error_message());
        api->close(prod);
    }
    child_done(api, &g, cons);
}

/* ---- Bad arguments ---------------------------------------------------------------------------- */

#define EXPECT(call, want)                                                                                   \
    do {                                                                                                     \
        DP_RESULT got_ = (call);                                                                             \
        ok(got_ == (want) && dp_last_error() == (want), "%s: %s (last error %s), expected %s", #call,       \
           dp_result_string(got_), dp_result_string(dp_last_error()), dp_result_string(want));               \
    } while (0)

/* For the void call: its last error. */
#define EXPECT_VOID(call, want)                                                                              \
    do {                                                                                                     \
        call;                                                                                                \
        ok(dp_last_error() == (want), "%s: last error %s, expected %s", #call,                             \
           dp_result_string(dp_last_error()), dp_result_string(want));                                       \
    } while (0)

void case_ring_bad_arguments(const dpt_api *api, const ring_bad_hooks *hooks)
{
    wchar_t name[64], closed_name[64], tex_name[96], fence_name[96];
    void *tex = (void *)(uintptr_t)1;
    DP_HANDLE prod, cons, legacy, closed;
    DP_PORT_DESC d = {0};
    DP_PORT_INFO info;
    dpt_gpu g;
    uint64_t frame = 0;

    api->shutdown();
    EXPECT(api->begin(NULL, &tex), DP_ERROR_NOT_INITIALIZED);
    EXPECT(api->acquire(NULL, NULL, 0, &tex, &frame), DP_ERROR_NOT_INITIALIZED);
    INIT_OR_SKIP(api, &g);

    ring_name(api, name, 64, "bad");
    d.name = name;
    d.width = SMALL_W;
    d.height = SMALL_H;
    d.slots = DP_MAX_SLOTS + 1;
    ok(api->create_port(&d) == NULL && dp_last_error() == DP_ERROR_INVALID_ARGUMENT, "9 slots: %s",
       dp_result_string(dp_last_error()));
    d.slots = 0;
    prod = api->create_port(&d);
    if (!ok(prod != NULL, "create: %s", dp_last_error_message())) {
        child_done(api, &g, NULL);
        return;
    }
    ok(dp_get_port_info(prod, &info) && info.slots == 3, "default slots %u, expected 3", info.slots);
    cons = api->open_port(name);
    if (!ok(cons != NULL, "open: %s", dp_last_error_message())) {
        child_done(api, &g, prod);
        return;
    }

    /* Bad handles. */
    EXPECT(api->begin(NULL, &tex), DP_ERROR_INVALID_ARGUMENT);
    EXPECT(api->end(&g, NULL, &frame), DP_ERROR_INVALID_ARGUMENT);
    EXPECT(api->acquire(&g, NULL, 0, &tex, &frame), DP_ERROR_INVALID_ARGUMENT);
    EXPECT_VOID(api->release(&g, NULL), DP_ERROR_INVALID_ARGUMENT);
    EXPECT(api->resize(NULL, 64, 64), DP_ERROR_INVALID_ARGUMENT);
    ring_name(api, closed_name, 64, "closed");
    d.name = closed_name;
    closed = api->create_port(&d);
    api->close(closed);
    EXPECT(api->begin(closed, &tex), DP_ERROR_INVALID_ARGUMENT);
    EXPECT(api->acquire(&g, closed, 0, &tex, &frame), DP_ERROR_INVALID_ARGUMENT);

    /* NULL outs. */
    EXPECT(api->begin(prod, NULL), DP_ERROR_INVALID_ARGUMENT);
    EXPECT(api->acquire(&g, cons, 0, NULL, &frame), DP_ERROR_INVALID_ARGUMENT);

    /* The wrong side. */
    EXPECT(api->begin(cons, &tex), DP_ERROR_INVALID_ARGUMENT);
    EXPECT(api->end(&g, cons, &frame), DP_ERROR_INVALID_ARGUMENT);
    EXPECT(api->resize(cons, 64, 64), DP_ERROR_INVALID_ARGUMENT);
    EXPECT(api->acquire(&g, prod, 0, &tex, &frame), DP_ERROR_INVALID_ARGUMENT);
    EXPECT_VOID(api->release(&g, prod), DP_ERROR_INVALID_ARGUMENT);

    /* Out of order. */
    EXPECT(api->end(&g, prod, &frame), DP_ERROR_INVALID_ARGUMENT);
    EXPECT_VOID(api->release(&g, cons), DP_ERROR_INVALID_ARGUMENT);
    tex = (void *)(uintptr_t)1;
    EXPECT(api->acquire(&g, cons, 0, &tex, &frame), DP_ERROR_TIMEOUT);
    ok(tex == NULL, "a failed acquire left *out_source set");

    /* Bad sizes. */
    EXPECT(api->resize(prod, 0, 64), DP_ERROR_INVALID_ARGUMENT);
    EXPECT(api->resize(prod, 64, 0), DP_ERROR_INVALID_ARGUMENT);
    EXPECT(api->resize(prod, DP_MAX_DIMENSION + 1, 64), DP_ERROR_INVALID_ARGUMENT);
    EXPECT(api->resize(prod, 64, DP_MAX_DIMENSION + 1), DP_ERROR_INVALID_ARGUMENT);
    ok(api->resize(prod, SMALL_W, SMALL_H) == DP_OK, "resize to the same size: %s", dp_last_error_message());

    /* A frame in flight: no resize, no second acquire; out_frame is optional. */
    ok(api->begin(prod, &tex) == DP_OK && tex != NULL, "begin: %s", dp_last_error_message());
    if (hooks && hooks->frame_begun)
        hooks->frame_begun(&g, prod, cons);
    EXPECT(api->resize(prod, 64, 64), DP_ERROR_INVALID_ARGUMENT);
    ok(api->end(&g, prod, NULL) == DP_OK, "end with a NULL out_frame: %s", dp_last_error_message());
    EXPECT(api->end(&g, prod, &frame), DP_ERROR_INVALID_ARGUMENT);
    ok(api->acquire(&g, cons, 5000, &tex, NULL) == DP_OK && tex != NULL, "acquire with a NULL out_frame: %s",
       dp_last_error_message());
    EXPECT(api->acquire(&g, cons, 0, &tex, &frame), DP_ERROR_INVALID_ARGUMENT);
    if (hooks && hooks->frame_held)
        hooks->frame_held(&g, cons);
    api->release(&g, cons);
    EXPECT_VOID(api->release(&g, cons), DP_ERROR_INVALID_ARGUMENT);
    EXPECT(api->acquire(&g, cons, 0, &tex, &frame), DP_ERROR_TIMEOUT);

    /* A legacy port takes the frame protocol too; on the host transport it resizes. */
    swprintf(tex_name, 96, L"Local\\dptest.%ls.tex", name);
    swprintf(fence_name, 96, L"Local\\dptest.%ls.fence", name);
    legacy = api->create_legacy(SMALL_W, SMALL_H, DP_FORMAT_VIDEO, false, tex_name, fence_name);
    if (ok(legacy != NULL, "legacy create: %s", dp_last_error_message())) {
        DP_RESULT r = api->resize(legacy, 64, 32);
        if (dp_get_transport(legacy) == DP_TRANSPORT_GPU)
            ok(r == DP_ERROR_UNSUPPORTED, "legacy GPU resize: %s", dp_result_string(r));
        else
            ok(r == DP_OK, "legacy host resize: %s (%s)", dp_result_string(r), dp_last_error_message());
        ok(api->begin(legacy, &tex) == DP_OK && api->end(&g, legacy, &frame) == DP_OK,
           "a frame on a legacy port: %s", dp_last_error_message());
        api->close(legacy);
    }

    api->close(cons);
    api->close(prod);
    /* Closed handles. */
    EXPECT(api->end(&g, prod, &frame), DP_ERROR_INVALID_ARGUMENT);
    EXPECT_VOID(api->release(&g, cons), DP_ERROR_INVALID_ARGUMENT);
    EXPECT(api->resize(prod, 64, 64), DP_ERROR_INVALID_ARGUMENT);
    child_done(api, &g, NULL);
}
