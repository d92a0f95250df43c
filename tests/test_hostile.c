/*
 * test_hostile.c - ports that survive hostile and failing peers: a writer of the control
 * block (the vandal, here this test writing the section by name) can stop frames but
 * never crash or hang a peer, nor break the port for good; a producer killed in the
 * middle of a change does not kill the name; waits honour their timeouts; discovery
 * has no silent limit.
 */
#include "d3d12util.h"

#include <stdio.h>
#include <stdlib.h>

#include "dptest.h"

#define HOSTILE_W 96
#define HOSTILE_H 64

static void hostile_name(wchar_t *out, size_t cap, const char *what)
{
    swprintf(out, cap, L"hostile.%hs.%lu", what, (unsigned long)GetCurrentProcessId());
}

static DP_HANDLE hostile_create(const wchar_t *name, uint32_t w, uint32_t h)
{
    DP_PORT_DESC d = {0};
    d.name = name;
    d.width = w;
    d.height = h;
    d.transport = DP_TRANSPORT_HOST;
    return dp12_create_port(&d);
}

/* The control block of port `name`, mapped as any process of the user may map it. */
typedef struct {
    HANDLE section;
    volatile uint32_t *generation;
    volatile uint32_t *bytes_per_pixel;
    volatile uint32_t *producer_pid;
} hostile_block;

static bool hostile_block_open(hostile_block *b, const wchar_t *name)
{
    wchar_t ctl[128];
    uint8_t *view;
    swprintf(ctl, 128, L"Local\\DirectPort.%ls.ctl", name);
    b->section = OpenFileMappingW(FILE_MAP_READ | FILE_MAP_WRITE, FALSE, ctl);
    view = b->section ? MapViewOfFile(b->section, FILE_MAP_READ | FILE_MAP_WRITE, 0, 0, 0) : NULL;
    if (!view)
        return false;
    /* The layout of directportblock.h, version 1..2: magic, version, size, generation,
     * width, height, format, bytes_per_pixel, row_pitch, slot_count, transport, flags,
     * producer_pid. */
    b->generation = (volatile uint32_t *)(view + 16);
    b->bytes_per_pixel = (volatile uint32_t *)(view + 32);
    b->producer_pid = (volatile uint32_t *)(view + 52);
    return true;
}

static void hostile_block_close(hostile_block *b)
{
    if (b->generation)
        UnmapViewOfFile((void *)((uint8_t *)b->generation - 16));
    if (b->section)
        CloseHandle(b->section);
    memset(b, 0, sizeof(*b));
}

/* Producer: one frame carrying the pattern of *last + 1, the value end_frame gives it
 * (frame values go on from the handle's last); *last moves on DP_OK. */
static DP_RESULT hostile_publish(tu_gpu *g, DP_HANDLE prod, uint64_t *last)
{
    ID3D12Resource *target = NULL;
    uint64_t frame = 0;
    DP_RESULT r = dp12_begin_frame(prod, &target);
    if (r != DP_OK)
        return r;
    if (!tu_gpu_write(g, target, 4, *last + 1))
        return DP_ERROR_DEVICE;
    r = dp12_end_frame(prod, g->queue, &frame);
    if (r == DP_OK) {
        ok(frame == *last + 1, "end_frame gave frame %llu, not %llu", (unsigned long long)frame,
           (unsigned long long)(*last + 1));
        *last = frame;
    }
    return r;
}

/* Consumer: acquires within timeout_ms and checks the pixels are frame's whole pattern. */
static DP_RESULT hostile_acquire_check(tu_gpu *g, DP_HANDLE cons, uint32_t timeout_ms, uint32_t w, uint32_t h,
                                       uint64_t *out_frame)
{
    ID3D12Resource *src = NULL;
    uint8_t *pixels = NULL;
    uint32_t pitch = 0;
    uint64_t frame = 0;
    DP_RESULT r = dp12_acquire_frame(cons, g->queue, timeout_ms, &src, &frame);
    if (r != DP_OK) {
        ok(src == NULL, "a failed acquire handed out a texture");
        return r;
    }
    if (ok(src != NULL, "DP_OK with no texture") && ok(tu_gpu_read(g, src, &pixels, &pitch), "readback")) {
        D3D12_RESOURCE_DESC desc;
        src->lpVtbl->GetDesc(src, &desc);
        ok(desc.Width == w && desc.Height == h, "frame %llu in a %llux%u texture, the port is %ux%u",
           (unsigned long long)frame, (unsigned long long)desc.Width, desc.Height, w, h);
        ok(tu_count_bad(pixels, pitch, w, h, 4, frame) == 0, "frame %llu is not its own pattern",
           (unsigned long long)frame);
    }
    free(pixels);
    dp12_release_frame(cons, g->queue);
    if (out_frame)
        *out_frame = frame;
    return DP_OK;
}

/* A producer and a consumer of one host port in this process, and the port's block as
 * a vandal maps it. */
typedef struct {
    tu_gpu g;
    DP_HANDLE prod, cons;
    hostile_block b;
} hostile_pair;

static bool hostile_pair_open(hostile_pair *t, const char *what)
{
    wchar_t name[64];
    hostile_name(name, 64, what);
    t->prod = hostile_create(name, HOSTILE_W, HOSTILE_H);
    t->cons = t->prod ? dp12_open_port(name) : NULL;
    return ok(t->cons && hostile_block_open(&t->b, name), "create/open %ls: %s", name, dp_last_error_message());
}

static void hostile_pair_close(hostile_pair *t)
{
    hostile_block_close(&t->b);
    dp12_close(t->cons);
    dp12_close(t->prod);
    tu_gpu_free(&t->g);
    dp12_shutdown();
}

DP_TEST(hostile_generation_without_objects_stops_frames_not_the_port)
{
    hostile_pair t = {0};
    uint32_t real;
    uint64_t frame = 0;
    DP_RESULT r;
    if (!dp12_init() || !tu_gpu_init(&t.g))
        skip("no D3D12 device: %s", dp_last_error_message());
    if (!hostile_pair_open(&t, "gen"))
        goto out;
    ok(hostile_publish(&t.g, t.prod, &frame) == DP_OK, "publish: %s", dp_last_error_message());
    ok(hostile_acquire_check(&t.g, t.cons, 5000, HOSTILE_W, HOSTILE_H, NULL) == DP_OK, "first acquire: %s",
       dp_last_error_message());

    /* A generation whose objects do not exist: following it must fail, every time,
     * with nothing held, and the producer must not lose a slot to it. */
    real = *t.b.generation;
    *t.b.generation = real + 20;
    for (int i = 0; i < 3; i++) {
        ULONGLONG start = GetTickCount64();
        r = hostile_acquire_check(&t.g, t.cons, 300, HOSTILE_W, HOSTILE_H, NULL);
        ok(r != DP_OK && r != DP_ERROR_TIMEOUT, "acquire %d of a generation without objects: %s", i,
           dp_result_string(r));
        ok(GetTickCount64() - start < 350, "that acquire took %llu ms", (unsigned long long)(GetTickCount64() - start));
    }
    *t.b.generation = real;
    /* The producer has its slots: none is held by the consumer (a slot still being copied
     * out by the host worker is a moment's BUSY, no more). */
    for (int i = 0; i < 5; i++) {
        ULONGLONG start = GetTickCount64();
        while ((r = hostile_publish(&t.g, t.prod, &frame)) == DP_ERROR_BUSY && GetTickCount64() - start < 2000)
            Sleep(5);
        ok(r == DP_OK, "publish %d after the failed follows: %s (%s)", i, dp_result_string(r), dp_last_error_message());
    }
    /* The port is whole again: the same consumer takes the newest frame. */
    r = hostile_acquire_check(&t.g, t.cons, 5000, HOSTILE_W, HOSTILE_H, NULL);
    ok(r == DP_OK, "acquire once the block is sane: %s (%s)", dp_result_string(r), dp_last_error_message());
out:
    hostile_pair_close(&t);
}

DP_TEST(hostile_block_geometry_never_reaches_the_producer)
{
    hostile_pair t = {0};
    DP_PORT_INFO info;
    uint64_t frame = 0;
    DP_RESULT r;
    if (!dp12_init() || !tu_gpu_init(&t.g))
        skip("no D3D12 device: %s", dp_last_error_message());
    if (!hostile_pair_open(&t, "bpp"))
        goto out;
    *t.b.bytes_per_pixel = 16;
    r = dp12_resize_port(t.prod, 200, 96);
    ok(r == DP_OK, "resize with a vandalised block: %s (%s)", dp_result_string(r), dp_last_error_message());
    ok(dp_get_port_info(t.prod, &info) && info.row_pitch == 1024, "the producer's row pitch is %u, not 1024",
       info.row_pitch);
    ok(*t.b.bytes_per_pixel == 4, "the block says %u bytes per pixel after the resize", *t.b.bytes_per_pixel);
    for (int i = 0; i < 3; i++)
        ok(hostile_publish(&t.g, t.prod, &frame) == DP_OK, "publish %d: %s", i, dp_last_error_message());
    r = hostile_acquire_check(&t.g, t.cons, 5000, 200, 96, NULL);
    ok(r == DP_OK, "acquire after the resize: %s (%s)", dp_result_string(r), dp_last_error_message());
out:
    hostile_pair_close(&t);
}

DP_TEST(hostile_acquire_honours_its_timeout_while_the_block_changes)
{
    hostile_pair t = {0};
    uint32_t real;
    ULONGLONG start, spent;
    DP_RESULT r;
    if (!dp12_init() || !tu_gpu_init(&t.g))
        skip("no D3D12 device: %s", dp_last_error_message());
    if (!hostile_pair_open(&t, "odd"))
        goto out;
    /* A change that never ends, under a live producer: a wait, not an error. */
    real = *t.b.generation;
    *t.b.generation = real + 1;
    start = GetTickCount64();
    r = hostile_acquire_check(&t.g, t.cons, 250, HOSTILE_W, HOSTILE_H, NULL);
    spent = GetTickCount64() - start;
    ok(r == DP_ERROR_TIMEOUT, "acquire while the block stays odd: %s (%s)", dp_result_string(r),
       dp_last_error_message());
    ok(spent >= 240 && spent <= 300, "a 250 ms acquire took %llu ms", (unsigned long long)spent);
    *t.b.generation = real;
    ok(hostile_publish(&t.g, t.prod, &(uint64_t){0}) == DP_OK, "publish: %s", dp_last_error_message());
    r = hostile_acquire_check(&t.g, t.cons, 5000, HOSTILE_W, HOSTILE_H, NULL);
    ok(r == DP_OK, "acquire once the change ended: %s (%s)", dp_result_string(r), dp_last_error_message());
out:
    hostile_pair_close(&t);
}

/* argv: role, port name. Creates the port and waits to be killed. */
DP_CHILD(hostile_idle_producer)
{
    DP_HANDLE h;
    if (argc < 2 || !dp12_init())
        return 2;
    h = hostile_create(argv[1], HOSTILE_W, HOSTILE_H);
    if (!ok(h != NULL, "child create: %s", dp_last_error_message()))
        return 1;
    Sleep(60000);
    return 0;
}

DP_TEST(hostile_producer_killed_mid_change_leaves_the_name_usable)
{
    wchar_t name[64];
    hostile_block b = {0};
    DP_HANDLE cons = NULL, prod = NULL;
    dptest_child c;
    uint64_t frame = 0;
    ULONGLONG start;
    DP_RESULT r;
    tu_gpu g;
    if (!dp12_init() || !tu_gpu_init(&g))
        skip("no D3D12 device: %s", dp_last_error_message());
    hostile_name(name, 64, "kill");
    c = dptest_spawn(L"hostile_idle_producer %ls", name);
    for (start = GetTickCount64(); !cons && GetTickCount64() - start < 20000; Sleep(20))
        cons = dp12_open_port(name);
    if (!ok(cons && hostile_block_open(&b, name), "open: %s", dp_last_error_message()))
        goto out;
    /* The producer dies in the middle of a change: the generation stays odd. */
    *b.generation |= 1u;
    TerminateProcess(c.process, 9);
    dptest_wait_child(&c, 10000, NULL);
    start = GetTickCount64();
    r = hostile_acquire_check(&g, cons, 5000, HOSTILE_W, HOSTILE_H, NULL);
    ok(r == DP_ERROR_DISCONNECTED, "acquire after the producer died mid-change: %s (%s)", dp_result_string(r),
       dp_last_error_message());
    ok(GetTickCount64() - start < 1000, "DISCONNECTED took %llu ms", (unsigned long long)(GetTickCount64() - start));
    /* A new producer takes the name over, and the same consumer goes on. */
    prod = hostile_create(name, HOSTILE_W, HOSTILE_H);
    ok(prod != NULL, "a new producer of the name: %s (%s)", dp_result_string(dp_last_error()),
       dp_last_error_message());
    if (prod) {
        ok(hostile_publish(&g, prod, &frame) == DP_OK, "publish: %s", dp_last_error_message());
        r = hostile_acquire_check(&g, cons, 5000, HOSTILE_W, HOSTILE_H, NULL);
        ok(r == DP_OK, "acquire from the new producer: %s (%s)", dp_result_string(r), dp_last_error_message());
    }
out:
    if (c.process) {
        TerminateProcess(c.process, 9);
        dptest_wait_child(&c, 10000, NULL);
    }
    hostile_block_close(&b);
    dp12_close(cons);
    dp12_close(prod);
    tu_gpu_free(&g);
    dp12_shutdown();
}

DP_TEST(hostile_more_ports_than_the_old_registry_all_listed)
{
    enum { N = 300 };
    DP_HANDLE *h = calloc(N, sizeof(*h));
    DP_PORT_INFO *infos = calloc(N + 64, sizeof(*infos));
    uint32_t total, mine = 0;
    char prefix[64];
    if (!dp12_init())
        skip("no D3D12 device: %s", dp_last_error_message());
    for (int i = 0; i < N; i++) {
        wchar_t name[64];
        swprintf(name, 64, L"hostile.many.%lu.%d", (unsigned long)GetCurrentProcessId(), i);
        h[i] = hostile_create(name, 8, 8);
        if (!ok(h[i] != NULL, "create port %d: %s", i, dp_last_error_message()))
            break;
    }
    total = dp_list_ports(infos, N + 64);
    snprintf(prefix, sizeof(prefix), "hostile.many.%lu.", (unsigned long)GetCurrentProcessId());
    for (uint32_t i = 0; i < total && i < N + 64; i++) {
        char n[300];
        snprintf(n, sizeof(n), "%ls", infos[i].name);
        mine += strncmp(n, prefix, strlen(prefix)) == 0;
    }
    ok(mine == N, "%u of our %d ports listed (%u in all)", mine, N, total);
    for (int i = 0; i < N; i++)
        dp12_close(h[i]);
    free(h);
    free(infos);
    dp12_shutdown();
}

/* ---- Storms ---------------------------------------------------------------------------- */

/* The resize storm's sizes: a frame's size follows from its value, so a consumer tells a
 * stale or mis-sized frame from a good one. */
static const uint32_t hostile_sizes[3][2] = {{64, 64}, {320, 180}, {160, 96}};

static const uint32_t *hostile_size_of(uint64_t frame)
{
    return hostile_sizes[((frame - 1) / 5) % 3];
}

/* argv: role, port name, last frame. Acquires until the last frame, checking that each
 * frame has its own size and pattern and that frames only move forward. */
DP_CHILD(hostile_storm_consumer)
{
    DP_HANDLE cons = NULL;
    uint64_t last, seen = 0;
    long frames = 0;
    tu_gpu g;
    if (argc < 3 || !dp12_init() || !tu_gpu_init(&g))
        return 2;
    last = wcstoull(argv[2], NULL, 10);
    for (ULONGLONG start = GetTickCount64(); !cons && GetTickCount64() - start < 20000; Sleep(10))
        cons = dp12_open_port(argv[1]);
    if (!ok(cons != NULL, "open: %s", dp_last_error_message()))
        return 1;
    while (seen < last && !dptest_failures()) {
        uint64_t frame = 0;
        const uint32_t *size;
        DP_PORT_INFO info;
        ID3D12Resource *src = NULL;
        D3D12_RESOURCE_DESC desc;
        uint8_t *pixels = NULL;
        uint32_t pitch = 0;
        DP_RESULT r = dp12_acquire_frame(cons, g.queue, 10000, &src, &frame);
        if (!ok(r == DP_OK, "acquire after frame %llu: %s (%s)", (unsigned long long)seen, dp_result_string(r),
                dp_last_error_message()))
            break;
        size = hostile_size_of(frame);
        /* The frame's own size and pattern, in the texture acquire handed out. */
        src->lpVtbl->GetDesc(src, &desc);
        ok(desc.Width == size[0] && desc.Height == size[1], "frame %llu in a %llux%u texture, drawn at %ux%u",
           (unsigned long long)frame, (unsigned long long)desc.Width, desc.Height, size[0], size[1]);
        if (ok(tu_gpu_read(&g, src, &pixels, &pitch), "readback of frame %llu", (unsigned long long)frame))
            ok(tu_count_bad(pixels, pitch, size[0], size[1], 4, frame) == 0, "frame %llu is not its pattern",
               (unsigned long long)frame);
        free(pixels);
        dp12_release_frame(cons, g.queue);
        ok(frame > seen, "frame %llu after %llu", (unsigned long long)frame, (unsigned long long)seen);
        ok(dp_get_port_info(cons, &info) && info.width == size[0] && info.height == size[1],
           "frame %llu came at %ux%u, it was drawn at %ux%u", (unsigned long long)frame, info.width, info.height,
           size[0], size[1]);
        seen = frame;
        frames++;
    }
    dptest_diag("storm consumer: %ld frames, last %llu", frames, (unsigned long long)seen);
    dp12_close(cons);
    tu_gpu_free(&g);
    dp12_shutdown();
    return dptest_failures() ? 1 : 0;
}

DP_TEST(hostile_resize_storm_frames_keep_their_size)
{
    enum { FRAMES = 150 };
    wchar_t name[64];
    dptest_child c[2];
    DP_HANDLE prod;
    uint64_t last = 0;
    long busy = 0;
    tu_gpu g;
    if (!dp12_init() || !tu_gpu_init(&g))
        skip("no D3D12 device: %s", dp_last_error_message());
    hostile_name(name, 64, "storm");
    prod = hostile_create(name, hostile_sizes[0][0], hostile_sizes[0][1]);
    if (!ok(prod != NULL, "create: %s", dp_last_error_message())) {
        tu_gpu_free(&g);
        return;
    }
    for (int i = 0; i < 2; i++)
        c[i] = dptest_spawn(L"hostile_storm_consumer %ls %u", name, (unsigned)FRAMES);
    Sleep(1500);
    while (last < FRAMES && !dptest_failures()) {
        const uint32_t *size = hostile_size_of(last + 1);
        DP_RESULT r = dp12_resize_port(prod, size[0], size[1]);
        ok(r == DP_OK, "resize to %ux%u: %s", size[0], size[1], dp_last_error_message());
        r = hostile_publish(&g, prod, &last);
        if (r == DP_ERROR_BUSY) {
            busy++;
            Sleep(1);
        } else {
            ok(r == DP_OK, "publish %llu: %s (%s)", (unsigned long long)(last + 1), dp_result_string(r),
               dp_last_error_message());
        }
        Sleep(2);
    }
    for (int i = 0; i < 2; i++) {
        DWORD code = 1;
        ok(dptest_wait_child(&c[i], 60000, &code) && code == 0, "storm consumer %d exit %lu", i, code);
    }
    dptest_diag("storm producer: %llu frames, %ld busy", (unsigned long long)last, busy);
    dp12_close(prod);
    tu_gpu_free(&g);
    dp12_shutdown();
}

/* argv: role, port name. Publishes frames until killed. */
DP_CHILD(hostile_busy_producer)
{
    DP_HANDLE prod;
    DP_PORT_INFO info;
    uint64_t last;
    tu_gpu g;
    if (argc < 2 || !dp12_init() || !tu_gpu_init(&g))
        return 2;
    prod = hostile_create(argv[1], HOSTILE_W, HOSTILE_H);
    if (!ok(prod != NULL, "child create: %s", dp_last_error_message()))
        return 1;
    /* A producer taking a name over goes on from the port's frame value. */
    last = dp_get_port_info(prod, &info) ? info.last_frame : 0;
    for (;;) {
        hostile_publish(&g, prod, &last);
        Sleep(5);
    }
}

DP_TEST(hostile_producer_kill_storm)
{
    wchar_t name[64];
    DP_HANDLE cons = NULL;
    uint64_t seen = 0;
    tu_gpu g;
    if (!dp12_init() || !tu_gpu_init(&g))
        skip("no D3D12 device: %s", dp_last_error_message());
    hostile_name(name, 64, "pkill");
    for (int round = 0; round < 4 && !dptest_failures(); round++) {
        dptest_child c = dptest_spawn(L"hostile_busy_producer %ls", name);
        ULONGLONG start;
        DP_RESULT r = DP_ERROR_NOT_FOUND;
        for (start = GetTickCount64(); !cons && GetTickCount64() - start < 20000; Sleep(10))
            cons = dp12_open_port(name);
        ok(cons != NULL, "round %d: open: %s", round, dp_last_error_message());
        /* A few whole frames of this producer, newer than anything of the one before. */
        for (int i = 0; cons && i < 3; i++) {
            uint64_t frame = 0;
            /* Until the new producer has taken the name over, the old one's death is news. */
            start = GetTickCount64();
            do
                r = hostile_acquire_check(&g, cons, 20000, HOSTILE_W, HOSTILE_H, &frame);
            while (r == DP_ERROR_DISCONNECTED && GetTickCount64() - start < 20000 && (Sleep(20), true));
            if (!ok(r == DP_OK, "round %d: acquire %d: %s (%s)", round, i, dp_result_string(r),
                    dp_last_error_message()))
                break;
            ok(frame > seen, "round %d: frame %llu after %llu", round, (unsigned long long)frame,
               (unsigned long long)seen);
            seen = frame;
        }
        TerminateProcess(c.process, 9);
        dptest_wait_child(&c, 10000, NULL);
        start = GetTickCount64();
        for (r = DP_OK; cons && r == DP_OK;)
            r = hostile_acquire_check(&g, cons, 5000, HOSTILE_W, HOSTILE_H, &seen);
        ok(r == DP_ERROR_DISCONNECTED, "round %d: after the kill: %s (%s)", round, dp_result_string(r),
           dp_last_error_message());
        ok(GetTickCount64() - start < 1000, "round %d: DISCONNECTED after %llu ms", round,
           (unsigned long long)(GetTickCount64() - start));
    }
    dp12_close(cons);
    tu_gpu_free(&g);
    dp12_shutdown();
}

/* argv: role, port name. Acquires a frame, keeps it, and waits to be killed. */
DP_CHILD(hostile_holding_consumer)
{
    DP_HANDLE cons = NULL;
    ID3D12Resource *src = NULL;
    tu_gpu g;
    if (argc < 2 || !dp12_init() || !tu_gpu_init(&g))
        return 2;
    for (ULONGLONG start = GetTickCount64(); !cons && GetTickCount64() - start < 20000; Sleep(10))
        cons = dp12_open_port(argv[1]);
    if (!ok(cons && dp12_acquire_frame(cons, g.queue, 20000, &src, NULL) == DP_OK, "hold: %s",
            dp_last_error_message()))
        return 1;
    Sleep(60000);
    return 0;
}

DP_TEST(hostile_consumer_kill_storm)
{
    enum { CONSUMERS = 4 };
    wchar_t name[64];
    dptest_child c[CONSUMERS];
    DP_HANDLE prod;
    uint64_t last = 0;
    long ok_after = 0;
    tu_gpu g;
    if (!dp12_init() || !tu_gpu_init(&g))
        skip("no D3D12 device: %s", dp_last_error_message());
    hostile_name(name, 64, "ckill");
    prod = hostile_create(name, HOSTILE_W, HOSTILE_H);
    if (!ok(prod != NULL, "create: %s", dp_last_error_message())) {
        tu_gpu_free(&g);
        return;
    }
    for (int i = 0; i < CONSUMERS; i++)
        c[i] = dptest_spawn(L"hostile_holding_consumer %ls", name);
    /* Publish while the consumers come, take and hold frames. */
    for (ULONGLONG start = GetTickCount64(); GetTickCount64() - start < 6000; Sleep(10))
        hostile_publish(&g, prod, &last);
    for (int i = 0; i < CONSUMERS; i++) {
        TerminateProcess(c[i].process, 9);
        dptest_wait_child(&c[i], 10000, NULL);
    }
    /* Their claims die with them: the producer has every slot back. */
    for (int i = 0; i < 20; i++) {
        ok_after += hostile_publish(&g, prod, &last) == DP_OK;
        Sleep(5);
    }
    ok(ok_after >= 18, "%ld of 20 frames published after the consumers were killed", ok_after);
    dp12_close(prod);
    tu_gpu_free(&g);
    dp12_shutdown();
}

/* Opens the gate after a while; `opened` says when. */
typedef struct {
    ID3D12Fence *gate;
    volatile LONG opened;
    DWORD after_ms;
} hostile_gate;

static DWORD WINAPI hostile_open_gate(void *arg)
{
    hostile_gate *t = arg;
    Sleep(t->after_ms);
    InterlockedExchange(&t->opened, 1);
    ID3D12Fence_Signal(t->gate, 1);
    return 0;
}

/* The end of a gated case: the gate open (by its thread, or now), the read collected
 * and dropped, the gate released. */
static void hostile_gate_finish(hostile_gate *t, HANDLE thread, tu_gpu *g, tu_readback *rb)
{
    uint8_t *pixels = NULL;
    uint32_t pitch = 0;
    if (thread) {
        WaitForSingleObject(thread, t->after_ms + 10000);
        CloseHandle(thread);
    } else if (t->gate) {
        ID3D12Fence_Signal(t->gate, 1);
    }
    if (rb->buffer) {
        tu_gpu_collect(g, rb, &pixels, &pitch);
        free(pixels);
    }
    if (t->gate)
        ID3D12Fence_Release(t->gate);
    t->gate = NULL;
}

/* A consumer that closes its handle with a frame still held, while its queue is yet to
 * read it: the close waits for those reads (its release is signalled on the queue of
 * the acquire), and the texture lives until they are done. */
DP_TEST(hostile_close_with_a_frame_held_waits_for_the_queue)
{
    wchar_t name[64];
    DP_HANDLE prod, cons;
    ID3D12Resource *src = NULL;
    hostile_gate t = {NULL, 0, 300};
    tu_readback rb = {NULL, {0}};
    uint8_t *pixels = NULL;
    uint32_t pitch = 0;
    uint64_t last = 0, frame = 0;
    LONG opened_at_close;
    HANDLE thread = NULL;
    tu_gpu g;
    if (!dp12_init() || !tu_gpu_init(&g))
        skip("no D3D12 device: %s", dp_last_error_message());
    hostile_name(name, 64, "heldclose");
    prod = hostile_create(name, HOSTILE_W, HOSTILE_H);
    cons = prod ? dp12_open_port(name) : NULL;
    if (!ok(prod && cons, "create/open: %s", dp_last_error_message()))
        goto out;
    ok(hostile_publish(&g, prod, &last) == DP_OK, "publish: %s", dp_last_error_message());
    if (!ok(dp12_acquire_frame(cons, g.queue, 5000, &src, &frame) == DP_OK && src, "acquire: %s",
            dp_last_error_message()))
        goto out;
    if (!ok(SUCCEEDED(ID3D12Device_CreateFence(g.device, 0, D3D12_FENCE_FLAG_NONE, &IID_ID3D12Fence,
                                              (void **)&t.gate)),
            "CreateFence"))
        goto out;
    /* The caller's queue reads the held frame only once the gate opens. */
    ok(tu_gpu_read_gated(&g, src, t.gate, 1, &rb), "queue the gated read");
    thread = CreateThread(NULL, 0, hostile_open_gate, &t, 0, NULL);
    dp12_close(cons);
    cons = NULL;
    opened_at_close = InterlockedCompareExchange(&t.opened, 0, 0);
    ok(opened_at_close == 1, "dp12_close returned before the caller's queue read the frame it held");
    if (ok(tu_gpu_collect(&g, &rb, &pixels, &pitch), "collect the read")) {
        uint64_t bad = tu_count_bad(pixels, pitch, HOSTILE_W, HOSTILE_H, 4, frame);
        ok(bad == 0, "the held frame read after the close: %llu wrong bytes", (unsigned long long)bad);
    }
    free(pixels);
    /* The slot went back: the producer goes on. */
    ok(hostile_publish(&g, prod, &last) == DP_OK, "publish after the close: %s", dp_last_error_message());
out:
    hostile_gate_finish(&t, thread, &g, &rb);
    dp12_close(cons);
    dp12_close(prod);
    tu_gpu_free(&g);
}

/* A host-transport consumer whose queue does not get to its releases (it waits on a
 * fence of the caller's own that stays unsignalled): the worker's upload into a texture
 * still to be released waits at most DP_OWN_WORK_WAIT_MS (10 s) for that release, on the
 * CPU, and the acquire fails with DP_ERROR_DEVICE instead of hanging the worker (and the
 * close) until the queue moves. */
DP_TEST(hostile_consumer_queue_that_never_releases_cannot_hang_the_worker)
{
    wchar_t name[64];
    DP_HANDLE prod, cons;
    ID3D12Resource *src = NULL;
    hostile_gate t = {NULL, 0, 12000};
    tu_readback rb = {NULL, {0}};
    uint64_t last = 0;
    HANDLE thread = NULL;
    DP_RESULT r;
    LONG opened;
    tu_gpu g, gp; /* the consumer's queue, and the producer's (which the gate must not hold up) */
    if (!dp12_init() || !tu_gpu_init(&g))
        skip("no D3D12 device: %s", dp_last_error_message());
    if (!tu_gpu_init(&gp)) {
        tu_gpu_free(&g);
    tu_gpu_free(&gp);
        skip("no second D3D12 queue: %s", dp_last_error_message());
    }
    hostile_name(name, 64, "norelease");
    prod = hostile_create(name, HOSTILE_W, HOSTILE_H);
    cons = prod ? dp12_open_port(name) : NULL;
    if (!ok(prod && cons, "create/open: %s", dp_last_error_message()))
        goto out;
    if (!ok(SUCCEEDED(ID3D12Device_CreateFence(g.device, 0, D3D12_FENCE_FLAG_NONE, &IID_ID3D12Fence,
                                              (void **)&t.gate)),
            "CreateFence"))
        goto out;
    /* Frames 1 and 2 fill the consumer's two textures; the queue reads the first behind
     * the gate, so both releases wait behind it too. */
    for (int i = 0; i < 2; i++) {
        ok(hostile_publish(&gp, prod, &last) == DP_OK, "publish %d: %s", i + 1, dp_last_error_message());
        r = dp12_acquire_frame(cons, g.queue, 5000, &src, NULL);
        if (!ok(r == DP_OK, "acquire %d: %s (%s)", i + 1, dp_result_string(r), dp_last_error_message()))
            goto out;
        if (i == 0)
            ok(tu_gpu_read_gated(&g, src, t.gate, 1, &rb), "queue the gated read");
        dp12_release_frame(cons, g.queue);
    }
    thread = CreateThread(NULL, 0, hostile_open_gate, &t, 0, NULL);
    /* Frame 3 goes into the first texture again, whose release has not come. */
    ok(hostile_publish(&gp, prod, &last) == DP_OK, "publish 3: %s", dp_last_error_message());
    r = dp12_acquire_frame(cons, g.queue, 20000, &src, NULL);
    opened = InterlockedCompareExchange(&t.opened, 0, 0);
    ok(r == DP_ERROR_DEVICE && !opened, "acquire of a frame for a texture never released: %s (%s), %s", dp_result_string(r),
       dp_last_error_message(), opened ? "after the caller's queue moved on" : "the queue still stuck");
    if (r == DP_OK)
        dp12_release_frame(cons, g.queue);
out:
    hostile_gate_finish(&t, thread, &g, &rb);
    dp12_close(cons);
    dp12_close(prod);
    tu_gpu_free(&g);
    tu_gpu_free(&gp);
}

DP_TEST(hostile_soak_2000_cycles_leak_nothing)
{
    wchar_t name[64];
    DP_STATS before, after;
    tu_gpu g;
    if (!dp12_init() || !tu_gpu_init(&g))
        skip("no D3D12 device: %s", dp_last_error_message());
    hostile_name(name, 64, "soak");
    dp_get_stats(&before);
    for (int i = 0; i < 2000 && !dptest_failures(); i++) {
        uint64_t last = 0;
        DP_HANDLE prod = hostile_create(name, 16, 16), cons = prod ? dp12_open_port(name) : NULL;
        if (!ok(cons != NULL, "cycle %d: create/open: %s", i, dp_last_error_message()))
            break;
        if (i % 10 == 0) {
            ok(hostile_publish(&g, prod, &last) == DP_OK, "cycle %d: publish: %s", i, dp_last_error_message());
            ok(hostile_acquire_check(&g, cons, 5000, 16, 16, NULL) == DP_OK, "cycle %d: acquire: %s", i,
               dp_last_error_message());
        }
        dp12_close(cons);
        dp12_close(prod);
    }
    dp_get_stats(&after);
    ok(after.live_handles == before.live_handles && after.kernel_objects == before.kernel_objects &&
           after.worker_threads == before.worker_threads,
       "after 2000 cycles: %u handles, %u kernel objects, %u threads (before %u, %u, %u)", after.live_handles,
       after.kernel_objects, after.worker_threads, before.live_handles, before.kernel_objects, before.worker_threads);
    tu_gpu_free(&g);
    dp12_shutdown();
}

/* argv: role, port name, milliseconds. Writes random words all over the port's control
 * block for that long. */
DP_CHILD(hostile_vandal)
{
    wchar_t ctl[128];
    HANDLE section;
    volatile uint32_t *words;
    uint32_t x = GetCurrentProcessId() * 2654435761u | 1u;
    ULONGLONG until;
    if (argc < 3)
        return 2;
    swprintf(ctl, 128, L"Local\\DirectPort.%ls.ctl", argv[1]);
    section = OpenFileMappingW(FILE_MAP_READ | FILE_MAP_WRITE, FALSE, ctl);
    words = section ? MapViewOfFile(section, FILE_MAP_READ | FILE_MAP_WRITE, 0, 0, 0) : NULL;
    if (!words)
        return 1;
    until = GetTickCount64() + wcstoul(argv[2], NULL, 10);
    while (GetTickCount64() < until) {
        for (int i = 0; i < 64; i++) {
            x ^= x << 13, x ^= x >> 17, x ^= x << 5;
            /* Small values too: they pass more of the checks than random ones do. */
            words[(x >> 8) % 512] = (x & 3) ? x : (x >> 24) & 0x1f;
        }
        Sleep(1);
    }
    UnmapViewOfFile((void *)words);
    CloseHandle(section);
    return 0;
}

DP_TEST(hostile_vandal_stops_frames_never_a_peer)
{
    wchar_t name[64];
    DP_HANDLE prod, cons;
    dptest_child vandal;
    uint64_t last = 0;
    ULONGLONG slowest = 0;
    long calls = 0;
    DWORD code = 1;
    DP_RESULT r = DP_OK;
    tu_gpu g;
    if (!dp12_init() || !tu_gpu_init(&g))
        skip("no D3D12 device: %s", dp_last_error_message());
    hostile_name(name, 64, "vandal");
    prod = hostile_create(name, HOSTILE_W, HOSTILE_H);
    cons = prod ? dp12_open_port(name) : NULL;
    if (!ok(cons != NULL, "create/open: %s", dp_last_error_message()))
        goto out;
    vandal = dptest_spawn(L"hostile_vandal %ls 3000", name);
    /* Both sides go on while the block is scribbled over: errors are allowed, crashes,
     * hangs and overlong waits are not. */
    for (ULONGLONG start = GetTickCount64(); GetTickCount64() - start < 3000; calls++) {
        ID3D12Resource *src = NULL;
        ULONGLONG t0;
        hostile_publish(&g, prod, &last);
        t0 = GetTickCount64();
        if (dp12_acquire_frame(cons, g.queue, 100, &src, NULL) == DP_OK)
            dp12_release_frame(cons, g.queue);
        if (GetTickCount64() - t0 > slowest)
            slowest = GetTickCount64() - t0;
    }
    ok(dptest_wait_child(&vandal, 10000, &code) && code == 0, "vandal exit %lu", code);
    ok(slowest <= 150, "the slowest 100 ms acquire under the vandal took %llu ms (%ld calls)",
       (unsigned long long)slowest, calls);
    /* The producer's next commit writes the block again from its own values: the port
     * works again for the same consumer. */
    r = dp12_resize_port(prod, HOSTILE_W + 8, HOSTILE_H);
    ok(r == DP_OK, "resize after the vandal: %s (%s)", dp_result_string(r), dp_last_error_message());
    r = DP_ERROR_TIMEOUT;
    for (ULONGLONG start = GetTickCount64(); r != DP_OK && GetTickCount64() - start < 5000;) {
        ULONGLONG t0 = GetTickCount64();
        while (hostile_publish(&g, prod, &last) == DP_ERROR_BUSY && GetTickCount64() - t0 < 1000)
            Sleep(5);
        r = hostile_acquire_check(&g, cons, 500, HOSTILE_W + 8, HOSTILE_H, NULL);
    }
    ok(r == DP_OK, "acquire once the vandal is gone: %s (%s)", dp_result_string(r), dp_last_error_message());
out:
    dp12_close(cons);
    dp12_close(prod);
    tu_gpu_free(&g);
    dp12_shutdown();
}
