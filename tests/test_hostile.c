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

DP_TEST(hostile_generation_without_objects_stops_frames_not_the_port)
{
    wchar_t name[64];
    hostile_block b = {0};
    DP_HANDLE prod, cons;
    uint32_t real;
    uint64_t frame = 0;
    DP_RESULT r;
    tu_gpu g;
    if (!dp12_init() || !tu_gpu_init(&g))
        skip("no D3D12 device: %s", dp_last_error_message());
    hostile_name(name, 64, "gen");
    prod = hostile_create(name, HOSTILE_W, HOSTILE_H);
    cons = prod ? dp12_open_port(name) : NULL;
    if (!ok(cons && hostile_block_open(&b, name), "create/open: %s", dp_last_error_message()))
        goto out;
    ok(hostile_publish(&g, prod, &frame) == DP_OK, "publish: %s", dp_last_error_message());
    ok(hostile_acquire_check(&g, cons, 5000, HOSTILE_W, HOSTILE_H, NULL) == DP_OK, "first acquire: %s",
       dp_last_error_message());

    /* A generation whose objects do not exist: following it must fail, every time,
     * with nothing held, and the producer must not lose a slot to it. */
    real = *b.generation;
    *b.generation = real + 20;
    for (int i = 0; i < 3; i++) {
        ULONGLONG start = GetTickCount64();
        r = hostile_acquire_check(&g, cons, 300, HOSTILE_W, HOSTILE_H, NULL);
        ok(r != DP_OK && r != DP_ERROR_TIMEOUT, "acquire %d of a generation without objects: %s", i,
           dp_result_string(r));
        ok(GetTickCount64() - start < 350, "that acquire took %llu ms", (unsigned long long)(GetTickCount64() - start));
    }
    *b.generation = real;
    for (int i = 0; i < 5; i++) {
        r = hostile_publish(&g, prod, &frame);
        ok(r == DP_OK, "publish %d after the failed follows: %s (%s)", i, dp_result_string(r), dp_last_error_message());
    }
    /* The port is whole again: the same consumer takes the newest frame. */
    r = hostile_acquire_check(&g, cons, 5000, HOSTILE_W, HOSTILE_H, NULL);
    ok(r == DP_OK, "acquire once the block is sane: %s (%s)", dp_result_string(r), dp_last_error_message());
out:
    hostile_block_close(&b);
    dp12_close(cons);
    dp12_close(prod);
    tu_gpu_free(&g);
    dp12_shutdown();
}

DP_TEST(hostile_block_geometry_never_reaches_the_producer)
{
    wchar_t name[64];
    hostile_block b = {0};
    DP_HANDLE prod, cons;
    DP_PORT_INFO info;
    uint64_t frame = 0;
    DP_RESULT r;
    tu_gpu g;
    if (!dp12_init() || !tu_gpu_init(&g))
        skip("no D3D12 device: %s", dp_last_error_message());
    hostile_name(name, 64, "bpp");
    prod = hostile_create(name, HOSTILE_W, HOSTILE_H);
    cons = prod ? dp12_open_port(name) : NULL;
    if (!ok(cons && hostile_block_open(&b, name), "create/open: %s", dp_last_error_message()))
        goto out;
    *b.bytes_per_pixel = 16;
    r = dp12_resize_port(prod, 200, 96);
    ok(r == DP_OK, "resize with a vandalised block: %s (%s)", dp_result_string(r), dp_last_error_message());
    ok(dp_get_port_info(prod, &info) && info.row_pitch == 1024, "the producer's row pitch is %u, not 1024",
       info.row_pitch);
    ok(*b.bytes_per_pixel == 4, "the block says %u bytes per pixel after the resize", *b.bytes_per_pixel);
    for (int i = 0; i < 3; i++)
        ok(hostile_publish(&g, prod, &frame) == DP_OK, "publish %d: %s", i, dp_last_error_message());
    r = hostile_acquire_check(&g, cons, 5000, 200, 96, NULL);
    ok(r == DP_OK, "acquire after the resize: %s (%s)", dp_result_string(r), dp_last_error_message());
out:
    hostile_block_close(&b);
    dp12_close(cons);
    dp12_close(prod);
    tu_gpu_free(&g);
    dp12_shutdown();
}

DP_TEST(hostile_acquire_honours_its_timeout_while_the_block_changes)
{
    wchar_t name[64];
    hostile_block b = {0};
    DP_HANDLE prod, cons;
    uint32_t real;
    ULONGLONG start, spent;
    DP_RESULT r;
    tu_gpu g;
    if (!dp12_init() || !tu_gpu_init(&g))
        skip("no D3D12 device: %s", dp_last_error_message());
    hostile_name(name, 64, "odd");
    prod = hostile_create(name, HOSTILE_W, HOSTILE_H);
    cons = prod ? dp12_open_port(name) : NULL;
    if (!ok(cons && hostile_block_open(&b, name), "create/open: %s", dp_last_error_message()))
        goto out;
    /* A change that never ends, under a live producer: a wait, not an error. */
    real = *b.generation;
    *b.generation = real + 1;
    start = GetTickCount64();
    r = hostile_acquire_check(&g, cons, 250, HOSTILE_W, HOSTILE_H, NULL);
    spent = GetTickCount64() - start;
    ok(r == DP_ERROR_TIMEOUT, "acquire while the block stays odd: %s (%s)", dp_result_string(r),
       dp_last_error_message());
    ok(spent >= 240 && spent <= 300, "a 250 ms acquire took %llu ms", (unsigned long long)spent);
    *b.generation = real;
    ok(hostile_publish(&g, prod, &(uint64_t){0}) == DP_OK, "publish: %s", dp_last_error_message());
    r = hostile_acquire_check(&g, cons, 5000, HOSTILE_W, HOSTILE_H, NULL);
    ok(r == DP_OK, "acquire once the change ended: %s (%s)", dp_result_string(r), dp_last_error_message());
out:
    hostile_block_close(&b);
    dp12_close(cons);
    dp12_close(prod);
    tu_gpu_free(&g);
    dp12_shutdown();
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
