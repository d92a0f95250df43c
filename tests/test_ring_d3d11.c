/*
 * test_ring_d3d11.c - the frame protocol on the D3D11 core: dp11 producer to dp11, and
 * across the cores both ways, resize mid-stream, bad arguments.
 *
 * Producers run in the test process, consumers in child processes. Every frame's
 * pixels are tu_pattern of its frame value (frames are numbered 1, 2, ... in the order
 * they are published), so a consumer checks byte for byte that what it acquired is
 * exactly the frame the library says it is: a torn, stale or mis-slotted frame fails.
 */
#include "d3d11util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dptest.h"

#define R11_W 96
#define R11_H 64
#define R11_W2 128
#define R11_H2 40
/* A begin/end pair that takes longer than this has waited for something. */
#define R11_MAX_CALL_MS 500u

static void r11_name(wchar_t *out, size_t cap, const char *what)
{
    swprintf(out, cap, L"r11.%hs.%lu", what, (unsigned long)GetCurrentProcessId());
}

/* A named kernel object of the test, derived from the port name. */
static void r11_object(wchar_t *out, size_t cap, const wchar_t *port, const wchar_t *what)
{
    swprintf(out, cap, L"Local\\dptest.%ls.%ls", port, what);
}

/* ---- Consumer child ----------------------------------------------------------------------- */

typedef struct {
    int api;          /* 11 or 12 */
    DP_HANDLE h;
    tu_gpu g;         /* api 12 */
    ID3D11Texture2D *tex11;
    ID3D12Resource *tex12;
} r11_reader;

static DP_RESULT r11_acquire(r11_reader *c, uint32_t timeout_ms, uint64_t *frame)
{
    if (c->api == 11)
        return dp11_acquire_frame(c->h, timeout_ms, &c->tex11, frame);
    return dp12_acquire_frame(c->h, c->g.queue, timeout_ms, &c->tex12, frame);
}

static void r11_release(r11_reader *c)
{
    if (c->api == 11)
        dp11_release_frame(c->h);
    else
        dp12_release_frame(c->h, c->g.queue);
}

/* Reads the acquired texture back: its size and pixels (malloc'd). */
static bool r11_read(r11_reader *c, uint32_t *w, uint32_t *h, uint8_t **pixels, uint32_t *pitch)
{
    if (c->api == 11) {
        D3D11_TEXTURE2D_DESC desc;
        ID3D11Texture2D_GetDesc(c->tex11, &desc);
        *w = desc.Width;
        *h = desc.Height;
        return tu11_read(c->tex11, pixels, pitch);
    } else {
        D3D12_RESOURCE_DESC desc;
        c->tex12->lpVtbl->GetDesc(c->tex12, &desc);
        *w = (uint32_t)desc.Width;
        *h = desc.Height;
        return tu_gpu_read(&c->g, c->tex12, pixels, pitch);
    }
}

/* argv: role name api frames resize_at
 * api 11: dp11_open_port + dp11_acquire_frame; 12: dp12. Acquires until the producer
 * has finished and no newer frame comes. Every frame whole and newer than the one
 * before; frames up to resize_at are R11_W x R11_H, later ones (resize_at > 0)
 * R11_W2 x R11_H2; the last is frame `frames`. */
DP_CHILD(r11_consumer)
{
    wchar_t obj[160];
    HANDLE ready, finished;
    r11_reader c;
    uint64_t last = 0, frames, resize_at;
    long acquired = 0, resized = 0;
    memset(&c, 0, sizeof(c));
    if (argc < 5)
        return 2;
    c.api = (int)wcstol(argv[2], NULL, 10);
    frames = wcstoull(argv[3], NULL, 10);
    resize_at = wcstoull(argv[4], NULL, 10);
    if (c.api == 11 ? !dp11_init() : !dp12_init() || !tu_gpu_init(&c.g))
        return 2;
    r11_object(obj, 160, argv[1], L"ready");
    ready = OpenSemaphoreW(SEMAPHORE_MODIFY_STATE, FALSE, obj);
    r11_object(obj, 160, argv[1], L"finished");
    finished = OpenEventW(SYNCHRONIZE, FALSE, obj);
    if (!ok(ready && finished, "test objects of %ls missing", argv[1]))
        return 2;
    c.h = c.api == 11 ? dp11_open_port(argv[1]) : dp12_open_port(argv[1]);
    if (!ok(c.h != NULL, "open %ls: %s", argv[1], dp_last_error_message()))
        return 1;
    ReleaseSemaphore(ready, 1, NULL);
    for (;;) {
        uint32_t w = 0, h = 0, pitch = 0, want_w, want_h;
        uint8_t *pixels = NULL;
        uint64_t frame = 0, bad;
        DP_RESULT r = r11_acquire(&c, 2000, &frame);
        /* Done once the producer finished and nothing newer comes. */
        if (r == DP_ERROR_TIMEOUT && WaitForSingleObject(finished, 0) == WAIT_OBJECT_0)
            break;
        if (!ok(r == DP_OK, "acquire: %s (%s)", dp_result_string(r), dp_last_error_message()))
            break;
        ok(frame > last, "frame %llu after %llu", (unsigned long long)frame, (unsigned long long)last);
        want_w = resize_at && frame > resize_at ? R11_W2 : R11_W;
        want_h = resize_at && frame > resize_at ? R11_H2 : R11_H;
        if (ok(r11_read(&c, &w, &h, &pixels, &pitch), "reading frame %llu back", (unsigned long long)frame) &&
            ok(w == want_w && h == want_h, "frame %llu is %ux%u, expected %ux%u", (unsigned long long)frame, w, h,
               want_w, want_h)) {
            bad = tu_count_bad(pixels, pitch, w, h, 4, frame);
            ok(bad == 0, "frame %llu: %llu of %u bytes are not its pattern (torn or stale)",
               (unsigned long long)frame, (unsigned long long)bad, w * h * 4);
        }
        free(pixels);
        if (c.api == 11) {
            DP_PORT_INFO info;
            ok(dp_get_port_info(c.h, &info) && info.width == w && info.height == h,
               "the consumer's port info is %ux%u for a %ux%u frame", info.width, info.height, w, h);
        }
        resized += w == R11_W2;
        r11_release(&c);
        last = frame;
        acquired++;
        if (dptest_failures())
            break;
    }
    dptest_diag("consumer (dp%d): %ld frames acquired, last %llu", c.api, acquired, (unsigned long long)last);
    ok(acquired > 1, "only %ld frames acquired", acquired);
    ok(last == frames, "the last frame acquired is %llu, not %llu", (unsigned long long)last,
       (unsigned long long)frames);
    if (resize_at)
        ok(resized > 0, "no frame of the new size acquired");
    if (c.api == 11) {
        dp11_close(c.h);
        dp11_shutdown();
    } else {
        tu_gpu_free(&c.g);
        dp12_close(c.h);
        dp12_shutdown();
    }
    CloseHandle(ready);
    CloseHandle(finished);
    return dptest_failures() ? 1 : 0;
}

/* ---- Producer (this process) --------------------------------------------------------------- */

typedef struct {
    int api;
    DP_HANDLE h;
    tu_gpu g;         /* api 12 */
    uint64_t last;    /* last frame ended */
    long published, dropped;
    ULONGLONG slowest; /* ms of the slowest begin or end call */
} r11_writer;

static DP_HANDLE r11_create(int api, const wchar_t *name, uint32_t slots, DP_TRANSPORT transport)
{
    DP_PORT_DESC d = {0};
    d.name = name;
    d.width = R11_W;
    d.height = R11_H;
    d.slots = slots;
    d.transport = transport;
    return api == 11 ? dp11_create_port(&d) : dp12_create_port(&d);
}

/* One frame: begin, write the next frame value's pattern, end. DP_ERROR_BUSY: dropped. */
static DP_RESULT r11_publish(r11_writer *p)
{
    ID3D11Texture2D *tex11 = NULL;
    ID3D12Resource *tex12 = NULL;
    uint64_t frame = 0, expected = p->last + 1;
    ULONGLONG t0 = GetTickCount64(), t1;
    DP_RESULT r = p->api == 11 ? dp11_begin_frame(p->h, &tex11) : dp12_begin_frame(p->h, &tex12);
    t1 = GetTickCount64();
    if (t1 - t0 > p->slowest)
        p->slowest = t1 - t0;
    if (r == DP_ERROR_BUSY) {
        ok((p->api == 11 ? (void *)tex11 : (void *)tex12) == NULL, "BUSY handed out a texture");
        p->dropped++;
        return r;
    }
    if (!ok(r == DP_OK, "begin_frame: %s (%s)", dp_result_string(r), dp_last_error_message()))
        return r;
    if (p->api == 11)
        ok(tu11_write(tex11, 4, expected), "writing frame %llu", (unsigned long long)expected);
    else
        ok(tu_gpu_write(&p->g, tex12, 4, expected), "writing frame %llu", (unsigned long long)expected);
    t0 = GetTickCount64();
    r = p->api == 11 ? dp11_end_frame(p->h, &frame) : dp12_end_frame(p->h, p->g.queue, &frame);
    t1 = GetTickCount64();
    if (t1 - t0 > p->slowest)
        p->slowest = t1 - t0;
    if (!ok(r == DP_OK && frame == expected, "end_frame: %s, frame %llu, expected %llu", dp_result_string(r),
            (unsigned long long)frame, (unsigned long long)expected))
        return r;
    p->last = frame;
    p->published++;
    return DP_OK;
}

/* Streams `frames` frames from an api_prod producer in this process to an api_cons
 * consumer child. resize_at > 0: resizes to R11_W2 x R11_H2 after that many frames. */
static void r11_stream(const char *what, int api_prod, int api_cons, DP_TRANSPORT transport, long frames,
                       long resize_at)
{
    wchar_t name[64], obj[160];
    HANDLE ready, finished;
    dptest_child child;
    r11_writer p;
    DP_PORT_INFO info;
    DWORD code = 99;
    long attempts = 0;
    bool resized = false;

    memset(&p, 0, sizeof(p));
    p.api = api_prod;
    if (api_prod == 11 ? !dp11_init() : !dp12_init() || !tu_gpu_init(&p.g))
        skip("no D3D%d device: %s", api_prod, dp_last_error_message());
    r11_name(name, 64, what);
    p.h = r11_create(api_prod, name, 3, transport);
    if (!p.h && transport == DP_TRANSPORT_GPU && dp_last_error() == DP_ERROR_UNSUPPORTED) {
        char why[300];
        snprintf(why, sizeof(why), "%s", dp_last_error_message());
        if (api_prod == 12)
            tu_gpu_free(&p.g);
        skip("no GPU transport here: %s", why);
    }
    if (!ok(p.h != NULL, "create %ls: %s", name, dp_last_error_message()))
        return;
    r11_object(obj, 160, name, L"ready");
    ready = CreateSemaphoreW(NULL, 0, 16, obj);
    r11_object(obj, 160, name, L"finished");
    finished = CreateEventW(NULL, TRUE, FALSE, obj);
    child = dptest_spawn(L"r11_consumer %ls %d %ld %ld", name, api_cons, frames, resize_at);
    if (ok(WaitForSingleObject(ready, 30000) == WAIT_OBJECT_0, "the consumer never got ready")) {
        while (p.published < frames && attempts++ < 20000 && !dptest_failures()) {
            if (resize_at && !resized && p.published == resize_at) {
                DP_RESULT r = api_prod == 11 ? dp11_resize_port(p.h, R11_W2, R11_H2)
                                             : dp12_resize_port(p.h, R11_W2, R11_H2);
                ok(r == DP_OK, "resize: %s (%s)", dp_result_string(r), dp_last_error_message());
                resized = true;
            }
            if (r11_publish(&p) == DP_ERROR_BUSY)
                Sleep(1);
            else
                Sleep(2);
        }
    }
    SetEvent(finished);
    ok(dptest_wait_child(&child, 60000, &code) && code == 0, "consumer exit code %lu", code);
    ok(p.published == frames, "published %ld of %ld frames", p.published, frames);
    ok(p.slowest <= R11_MAX_CALL_MS, "a begin/end call took %llu ms: the producer waited",
       (unsigned long long)p.slowest);
    if (ok(dp_get_port_info(p.h, &info), "port info"))
        ok(info.frames_dropped == (uint64_t)p.dropped, "the port counted %llu drops, the producer saw %ld",
           (unsigned long long)info.frames_dropped, p.dropped);
    dptest_diag("producer (dp%d): %ld published, %ld dropped, slowest call %llu ms", api_prod, p.published,
                p.dropped, (unsigned long long)p.slowest);
    if (api_prod == 11) {
        dp11_close(p.h);
        dp11_shutdown();
    } else {
        tu_gpu_free(&p.g);
        dp12_close(p.h);
        dp12_shutdown();
    }
    CloseHandle(ready);
    CloseHandle(finished);
}

DP_TEST(ring_d3d11_frames)
{
    r11_stream("frames", 11, 11, DP_TRANSPORT_AUTO, 100, 0);
}

DP_TEST(ring_d3d11_frames_gpu_transport)
{
    r11_stream("gpu", 11, 11, DP_TRANSPORT_GPU, 100, 0);
}

DP_TEST(ring_d3d11_from_d3d12_producer)
{
    r11_stream("from12", 12, 11, DP_TRANSPORT_AUTO, 100, 0);
}

DP_TEST(ring_d3d11_to_d3d12_consumer)
{
    r11_stream("to12", 11, 12, DP_TRANSPORT_AUTO, 100, 0);
}

DP_TEST(ring_d3d11_resize)
{
    r11_stream("resize", 11, 11, DP_TRANSPORT_AUTO, 80, 40);
}

/* ---- Bad arguments --------------------------------------------------------------------------- */

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

DP_TEST(ring_d3d11_bad_arguments)
{
    wchar_t name[64], closed_name[64], tex_name[96], fence_name[96];
    ID3D11Texture2D *tex = (ID3D11Texture2D *)(uintptr_t)1;
    DP_HANDLE prod, cons, legacy, closed;
    DP_PORT_DESC d = {0};
    DP_PORT_INFO info;
    uint64_t frame = 0;

    dp11_shutdown();
    EXPECT(dp11_begin_frame(NULL, &tex), DP_ERROR_NOT_INITIALIZED);
    EXPECT(dp11_acquire_frame(NULL, 0, &tex, &frame), DP_ERROR_NOT_INITIALIZED);
    if (!dp11_init())
        skip("no D3D11 device: %s", dp_last_error_message());

    r11_name(name, 64, "bad");
    d.name = name;
    d.width = R11_W;
    d.height = R11_H;
    d.slots = DP_MAX_SLOTS + 1;
    ok(dp11_create_port(&d) == NULL && dp_last_error() == DP_ERROR_INVALID_ARGUMENT, "9 slots: %s",
       dp_result_string(dp_last_error()));
    d.slots = 0;
    prod = dp11_create_port(&d);
    if (!ok(prod != NULL, "create: %s", dp_last_error_message()))
        return;
    ok(dp_get_port_info(prod, &info) && info.slots == 3, "default slots %u, expected 3", info.slots);
    cons = dp11_open_port(name);
    if (!ok(cons != NULL, "open: %s", dp_last_error_message())) {
        dp11_close(prod);
        return;
    }

    /* Bad handles. */
    EXPECT(dp11_begin_frame(NULL, &tex), DP_ERROR_INVALID_ARGUMENT);
    EXPECT(dp11_end_frame(NULL, &frame), DP_ERROR_INVALID_ARGUMENT);
    EXPECT(dp11_acquire_frame(NULL, 0, &tex, &frame), DP_ERROR_INVALID_ARGUMENT);
    EXPECT_VOID(dp11_release_frame(NULL), DP_ERROR_INVALID_ARGUMENT);
    EXPECT(dp11_resize_port(NULL, 64, 64), DP_ERROR_INVALID_ARGUMENT);
    r11_name(closed_name, 64, "closed");
    d.name = closed_name;
    closed = dp11_create_port(&d);
    dp11_close(closed);
    EXPECT(dp11_begin_frame(closed, &tex), DP_ERROR_INVALID_ARGUMENT);
    EXPECT(dp11_acquire_frame(closed, 0, &tex, &frame), DP_ERROR_INVALID_ARGUMENT);

    /* NULL outs. */
    EXPECT(dp11_begin_frame(prod, NULL), DP_ERROR_INVALID_ARGUMENT);
    EXPECT(dp11_acquire_frame(cons, 0, NULL, &frame), DP_ERROR_INVALID_ARGUMENT);

    /* The wrong side. */
    EXPECT(dp11_begin_frame(cons, &tex), DP_ERROR_INVALID_ARGUMENT);
    EXPECT(dp11_end_frame(cons, &frame), DP_ERROR_INVALID_ARGUMENT);
    EXPECT(dp11_resize_port(cons, 64, 64), DP_ERROR_INVALID_ARGUMENT);
    EXPECT(dp11_acquire_frame(prod, 0, &tex, &frame), DP_ERROR_INVALID_ARGUMENT);
    EXPECT_VOID(dp11_release_frame(prod), DP_ERROR_INVALID_ARGUMENT);

    /* Out of order. */
    EXPECT(dp11_end_frame(prod, &frame), DP_ERROR_INVALID_ARGUMENT);
    EXPECT_VOID(dp11_release_frame(cons), DP_ERROR_INVALID_ARGUMENT);
    tex = (ID3D11Texture2D *)(uintptr_t)1;
    EXPECT(dp11_acquire_frame(cons, 0, &tex, &frame), DP_ERROR_TIMEOUT);
    ok(tex == NULL, "a failed acquire left *out_source set");

    /* Bad sizes. */
    EXPECT(dp11_resize_port(prod, 0, 64), DP_ERROR_INVALID_ARGUMENT);
    EXPECT(dp11_resize_port(prod, 64, 0), DP_ERROR_INVALID_ARGUMENT);
    EXPECT(dp11_resize_port(prod, DP_MAX_DIMENSION + 1, 64), DP_ERROR_INVALID_ARGUMENT);
    EXPECT(dp11_resize_port(prod, 64, DP_MAX_DIMENSION + 1), DP_ERROR_INVALID_ARGUMENT);
    ok(dp11_resize_port(prod, R11_W, R11_H) == DP_OK, "resize to the same size: %s", dp_last_error_message());

    /* A frame in flight: no resize, no second acquire; out_frame is optional. */
    ok(dp11_begin_frame(prod, &tex) == DP_OK && tex != NULL, "begin: %s", dp_last_error_message());
    EXPECT(dp11_resize_port(prod, 64, 64), DP_ERROR_INVALID_ARGUMENT);
    ok(dp11_end_frame(prod, NULL) == DP_OK, "end with a NULL out_frame: %s", dp_last_error_message());
    EXPECT(dp11_end_frame(prod, &frame), DP_ERROR_INVALID_ARGUMENT);
    ok(dp11_acquire_frame(cons, 5000, &tex, NULL) == DP_OK && tex != NULL, "acquire with a NULL out_frame: %s",
       dp_last_error_message());
    EXPECT(dp11_acquire_frame(cons, 0, &tex, &frame), DP_ERROR_INVALID_ARGUMENT);
    dp11_release_frame(cons);
    EXPECT_VOID(dp11_release_frame(cons), DP_ERROR_INVALID_ARGUMENT);
    EXPECT(dp11_acquire_frame(cons, 0, &tex, &frame), DP_ERROR_TIMEOUT);

    /* A legacy port takes the frame protocol too; on the host transport it resizes. */
    swprintf(tex_name, 96, L"Local\\dptest.%ls.tex", name);
    swprintf(fence_name, 96, L"Local\\dptest.%ls.fence", name);
    legacy = dp11_create_shared_resource(R11_W, R11_H, DP_FORMAT_VIDEO, tex_name, fence_name);
    if (ok(legacy != NULL, "legacy create: %s", dp_last_error_message())) {
        DP_RESULT r = dp11_resize_port(legacy, 64, 32);
        if (dp_get_transport(legacy) == DP_TRANSPORT_GPU)
            ok(r == DP_ERROR_UNSUPPORTED, "legacy GPU resize: %s", dp_result_string(r));
        else
            ok(r == DP_OK, "legacy host resize: %s (%s)", dp_result_string(r), dp_last_error_message());
        ok(dp11_begin_frame(legacy, &tex) == DP_OK && dp11_end_frame(legacy, &frame) == DP_OK,
           "a frame on a legacy port: %s", dp_last_error_message());
        dp11_close(legacy);
    }

    dp11_close(cons);
    dp11_close(prod);
    /* Closed handles. */
    EXPECT(dp11_end_frame(prod, &frame), DP_ERROR_INVALID_ARGUMENT);
    EXPECT_VOID(dp11_release_frame(cons), DP_ERROR_INVALID_ARGUMENT);
    EXPECT(dp11_resize_port(prod, 64, 64), DP_ERROR_INVALID_ARGUMENT);
    dp11_shutdown();
}
