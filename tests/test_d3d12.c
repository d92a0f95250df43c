/*
 * test_d3d12.c - the D3D12 core: init, creation per format and heap, transports,
 * fences, map, cross-process round trips, bad arguments, leaks.
 */
#include "d3d12util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dptest.h"

/* Object names unique to this run, so a left-over from a crashed run never collides. */
static void name_of(wchar_t *out, size_t cap, const char *what)
{
    swprintf(out, cap, L"Local\\dptest.%lu.%hs", (unsigned long)GetCurrentProcessId(), what);
}

static bool init12(void)
{
    return dp12_init();
}

/* Whether this driver shares NT handles: a GPU-transport port can be made. */
static bool gpu_transport_available(void)
{
    DP_PORT_DESC d = {0};
    DP_HANDLE h;
    wchar_t name[64];
    swprintf(name, 64, L"probe%lu", (unsigned long)GetCurrentProcessId());
    d.name = name;
    d.width = d.height = 4;
    d.transport = DP_TRANSPORT_GPU;
    h = dp12_create_port(&d);
    dp12_close(h);
    return h != NULL;
}

DP_TEST(d3d12_init_and_shutdown)
{
    ok(dp12_get_device() == NULL, "a device before init");
    if (!ok(dp12_init(), "dp12_init: %s", dp_last_error_message()))
        return;
    ok(dp12_get_device() != NULL, "no device after init");
    ok(dp12_init(), "second dp12_init: %s", dp_last_error_message());
    dp12_shutdown();
    ok(dp12_get_device() == NULL, "a device after shutdown");
    dp12_shutdown();
}

DP_TEST(d3d12_init_with_host_device)
{
    ID3D12Device *device = NULL, *other = NULL;
    ULONG refs;
    if (FAILED(D3D12CreateDevice(NULL, D3D_FEATURE_LEVEL_11_0, &IID_ID3D12Device, (void **)&device)))
        skip("no D3D12 device on this system");
    ok(dp12_init_with_device(device), "dp12_init_with_device: %s", dp_last_error_message());
    ok(dp12_get_device() == device, "the library does not use the host's device");
    ok(dp12_init_with_device(device), "adopting the same device twice fails");
    D3D12CreateDevice(NULL, D3D_FEATURE_LEVEL_11_0, &IID_ID3D12Device, (void **)&other);
    /* vkd3d hands out one device per adapter, so another device may be the same one. */
    if (other && other != device)
        ok(!dp12_init_with_device(other) && dp_last_error() == DP_ERROR_INVALID_ARGUMENT,
           "a second, different device was accepted");
    if (other)
        ID3D12Device_Release(other);
    dp12_shutdown();
    ID3D12Device_AddRef(device);
    refs = ID3D12Device_Release(device);
    ok(refs == 1, "the library holds %lu references to the host's device after shutdown", refs - 1);
    ID3D12Device_Release(device);
}

DP_TEST(d3d12_create_each_format_and_heap)
{
    static const uint32_t bpp[] = {4, 4, 2, 4, 4, 8, 16, 4};
    static const DXGI_FORMAT dxgi[] = {DXGI_FORMAT_B8G8R8A8_UNORM,     DXGI_FORMAT_R32_FLOAT,
                                       DXGI_FORMAT_R16_FLOAT,          DXGI_FORMAT_R32_UINT,
                                       DXGI_FORMAT_R8G8B8A8_UNORM,     DXGI_FORMAT_R16G16B16A16_FLOAT,
                                       DXGI_FORMAT_R32G32B32A32_FLOAT, DXGI_FORMAT_R10G10B10A2_UNORM};
    if (!init12())
        skip("no D3D12 device: %s", dp_last_error_message());
    for (int f = 0; f < (int)(sizeof(bpp) / sizeof(bpp[0])); f++) {
        for (int sys = 0; sys < 2; sys++) {
            wchar_t tex[96], fence[96];
            char what[32];
            DP_PORT_INFO info;
            D3D12_RESOURCE_DESC desc;
            DP_HANDLE h;
            uint32_t pitch = 0;
            void *ptr;
            snprintf(what, sizeof(what), "fmt%d.sys%d", f, sys);
            name_of(tex, 96, what);
            swprintf(fence, 96, L"%ls.f", tex);
            h = dp12_create_shared_resource(33, 17, (DP_FORMAT)f, sys != 0, tex, fence);
            if (!ok(h != NULL, "create format %d system_ram %d: %s", f, sys, dp_last_error_message()))
                continue;
            ok(dp_get_port_info(h, &info), "dp_get_port_info: %s", dp_last_error_message());
            ok(info.width == 33 && info.height == 17 && info.format == (DP_FORMAT)f, "info %ux%u format %d",
               info.width, info.height, (int)info.format);
            ok(info.transport == DP_TRANSPORT_GPU || info.transport == DP_TRANSPORT_HOST, "transport %d",
               (int)info.transport);
            ok(info.is_producer && info.slots == 1, "producer %d slots %u", info.is_producer, info.slots);
            ok(info.row_pitch % 256 == 0 && info.row_pitch >= 33 * bpp[f], "row pitch %u", info.row_pitch);
            dp12_get_resource(h)->lpVtbl->GetDesc(dp12_get_resource(h), &desc);
            ok(desc.Format == dxgi[f] && desc.Width == 33 && desc.Height == 17, "texture format %d size %llux%u",
               (int)desc.Format, (unsigned long long)desc.Width, desc.Height);
            ok(dp12_get_fence(h) != NULL, "no fence");
            ptr = dp12_map_memory(h, &pitch);
            if (sys) {
                ok(ptr != NULL && pitch == info.row_pitch, "map: %p pitch %u: %s", ptr, pitch, dp_last_error_message());
                dp12_unmap_memory(h);
            } else {
                ok(!ptr && dp_last_error() == DP_ERROR_UNSUPPORTED, "mapping a GPU-memory port: %s",
                   dp_result_string(dp_last_error()));
            }
            dp12_close(h);
        }
    }
    dp12_shutdown();
}

DP_TEST(d3d12_gpu_transport_where_supported)
{
    DP_PORT_DESC d = {0};
    DP_HANDLE h;
    wchar_t name[64];
    if (!init12())
        skip("no D3D12 device: %s", dp_last_error_message());
    swprintf(name, 64, L"gpu%lu", (unsigned long)GetCurrentProcessId());
    d.name = name;
    d.width = 64;
    d.height = 64;
    d.transport = DP_TRANSPORT_GPU;
    h = dp12_create_port(&d);
    if (h) {
        ok(dp_get_transport(h) == DP_TRANSPORT_GPU, "transport %d", (int)dp_get_transport(h));
        ok(dp12_get_resource_handle(h) != NULL && dp12_get_fence_handle(h) != NULL, "no NT handles");
        dp12_close(h);
    } else {
        /* The driver cannot share: the refusal must be clean and say why. */
        ok(dp_last_error() == DP_ERROR_UNSUPPORTED, "GPU transport refused with %s",
           dp_result_string(dp_last_error()));
        ok(strstr(dp_last_error_message(), "CreateSharedHandle") != NULL, "message: %s", dp_last_error_message());
        d.transport = DP_TRANSPORT_AUTO;
        h = dp12_create_port(&d);
        ok(h && dp_get_transport(h) == DP_TRANSPORT_HOST, "AUTO did not fall back to the host transport: %s",
           dp_last_error_message());
        ok(dp12_get_resource_handle(h) == NULL && dp_last_error() == DP_ERROR_UNSUPPORTED,
           "a host port gave an NT handle");
        dp12_close(h);
    }
    dp12_shutdown();
}

DP_TEST(d3d12_cpu_signal_queue_signal_and_timeout)
{
    wchar_t tex[96], fence[96];
    tu_gpu g;
    DP_HANDLE h;
    if (!init12())
        skip("no D3D12 device: %s", dp_last_error_message());
    name_of(tex, 96, "sig");
    name_of(fence, 96, "sig.f");
    h = dp12_create_shared_resource(16, 16, DP_FORMAT_VIDEO, false, tex, fence);
    if (!ok(h != NULL, "create: %s", dp_last_error_message()) || !ok(tu_gpu_init(&g), "queue"))
        goto done;
    ok(dp12_get_completed_value(h) == 0, "fresh fence at %llu", (unsigned long long)dp12_get_completed_value(h));
    dp12_signal_fence(h, 7);
    ok(dp12_get_completed_value(h) == 7, "CPU signal: completed %llu", (unsigned long long)dp12_get_completed_value(h));
    ok(dp12_cpu_wait_timeout(h, 7, 0) == DP_OK, "waiting for a reached value");
    ok(dp12_queue_signal(h, g.queue, 9), "dp12_queue_signal: %s", dp_last_error_message());
    ok(dp12_cpu_wait_timeout(h, 9, 10000) == DP_OK, "queue signal then CPU wait: %s", dp_last_error_message());
    ok(dp12_get_completed_value(h) == 9, "completed %llu", (unsigned long long)dp12_get_completed_value(h));
    dp12_cpu_wait(h, 9);
    ok(dp12_cpu_wait_timeout(h, 10, 50) == DP_ERROR_TIMEOUT, "a value nobody signals did not time out");
    ok(dp_last_error() == DP_ERROR_TIMEOUT, "last error %s", dp_result_string(dp_last_error()));
    dp12_queue_wait(h, g.queue, 9);
    ok(dp_last_error() == DP_ERROR_TIMEOUT, "a successful call changed the last error");
done:
    tu_gpu_free(&g);
    dp12_close(h);
    dp12_shutdown();
}

/* Map, write with the pitch, unmap, map again, read back: on the transport `desc`
 * selects. */
static void map_round_trip(DP_HANDLE h)
{
    DP_PORT_INFO info;
    uint32_t pitch = 0;
    uint8_t *ptr;
    dp_get_port_info(h, &info);
    ptr = dp12_map_memory(h, &pitch);
    if (!ok(ptr != NULL, "map: %s", dp_last_error_message()))
        return;
    ok(pitch % 256 == 0 && pitch >= info.width * 4, "pitch %u", pitch);
    tu_fill(ptr, pitch, info.width, info.height, 4, 3);
    dp12_unmap_memory(h);
    ptr = dp12_map_memory(h, &pitch);
    if (!ok(ptr != NULL, "second map: %s", dp_last_error_message()))
        return;
    ok(tu_count_bad(ptr, pitch, info.width, info.height, 4, 3) == 0, "the bytes written did not read back");
    dp12_unmap_memory(h);
}

DP_TEST(d3d12_map_round_trip_auto)
{
    wchar_t tex[96], fence[96];
    DP_HANDLE h;
    if (!init12())
        skip("no D3D12 device: %s", dp_last_error_message());
    name_of(tex, 96, "map");
    name_of(fence, 96, "map.f");
    h = dp12_create_shared_resource(75, 9, DP_FORMAT_VIDEO, true, tex, fence);
    if (ok(h != NULL, "create: %s", dp_last_error_message()))
        map_round_trip(h);
    dp12_close(h);
    dp12_shutdown();
}

/* On the texture itself (mapped, or through the driver-fallback staging copy). */
DP_TEST(d3d12_map_round_trip_gpu_transport)
{
    DP_PORT_DESC d = {0};
    DP_HANDLE h;
    wchar_t name[64];
    if (!init12())
        skip("no D3D12 device: %s", dp_last_error_message());
    swprintf(name, 64, L"map%lu", (unsigned long)GetCurrentProcessId());
    d.name = name;
    d.width = 75;
    d.height = 9;
    d.flags = DP_PORT_SYSTEM_RAM;
    d.transport = DP_TRANSPORT_GPU;
    h = dp12_create_port(&d);
    if (!h) {
        dp12_shutdown();
        skip("the driver has no NT shared handles (CreateSharedHandle: E_NOTIMPL), so no GPU transport");
    }
    map_round_trip(h);
    dp12_close(h);
    dp12_shutdown();
}

/* ---- Cross-process round trips ------------------------------------------------------ */

/* Opens the port a parent made: by legacy names, or by port name. */
static DP_HANDLE open_for(const wchar_t *mode, const wchar_t *tex, const wchar_t *fence)
{
    return wcscmp(mode, L"port") ? dp12_open_shared_resource(tex, fence) : dp12_open_port(tex);
}

/* argv: role tex fence value mode -> maps and checks frame `value`'s pattern. */
DP_CHILD(consumer_map)
{
    DP_HANDLE h;
    DP_PORT_INFO info;
    uint64_t value;
    uint32_t pitch = 0;
    uint8_t *ptr;
    if (argc < 5 || !dp12_init())
        return 2;
    value = wcstoull(argv[3], NULL, 10);
    h = open_for(argv[4], argv[1], argv[2]);
    if (!ok(h != NULL, "open %ls: %s", argv[1], dp_last_error_message()))
        return 1;
    ok(dp12_cpu_wait_timeout(h, value, 10000) == DP_OK, "wait: %s", dp_last_error_message());
    ok(dp12_get_completed_value(h) >= value, "completed %llu < %llu", (unsigned long long)dp12_get_completed_value(h),
       (unsigned long long)value);
    dp_get_port_info(h, &info);
    ok(!info.is_producer, "an opener reports itself as producer");
    ptr = dp12_map_memory(h, &pitch);
    if (ok(ptr != NULL, "map: %s", dp_last_error_message())) {
        uint64_t bad = tu_count_bad(ptr, pitch, info.width, info.height, 4, value);
        ok(bad == 0, "%llu of %u bytes differ from what the producer wrote", (unsigned long long)bad,
           info.width * info.height * 4);
        dp12_unmap_memory(h);
    }
    dp12_close(h);
    dp12_shutdown();
    return dptest_failures() ? 1 : 0;
}

/* argv: role tex fence value mode -> waits on its queue, copies its texture out, checks. */
DP_CHILD(consumer_gpu)
{
    DP_HANDLE h;
    DP_PORT_INFO info;
    tu_gpu g;
    uint64_t value;
    uint8_t *pixels = NULL;
    uint32_t pitch = 0;
    if (argc < 5 || !dp12_init())
        return 2;
    value = wcstoull(argv[3], NULL, 10);
    h = open_for(argv[4], argv[1], argv[2]);
    if (!ok(h != NULL, "open %ls: %s", argv[1], dp_last_error_message()) || !ok(tu_gpu_init(&g), "queue"))
        return 1;
    dp_get_port_info(h, &info);
    /* GPU-side wait: the CPU goes on, the copy below runs once the frame is there. */
    dp12_queue_wait(h, g.queue, value);
    if (ok(tu_gpu_read(&g, dp12_get_resource(h), &pixels, &pitch), "reading the texture back")) {
        uint64_t bad = tu_count_bad(pixels, pitch, info.width, info.height, 4, value);
        ok(bad == 0, "%llu of %u bytes differ from the producer's frame", (unsigned long long)bad,
           info.width * info.height * 4);
    }
    free(pixels);
    tu_gpu_free(&g);
    dp12_close(h);
    dp12_shutdown();
    return dptest_failures() ? 1 : 0;
}

/* Creates the producer side: legacy names, or a port forced onto `transport`. */
static DP_HANDLE create_for(bool port, bool system_ram, DP_TRANSPORT transport, const wchar_t *tex,
                            const wchar_t *fence, uint32_t w, uint32_t h)
{
    DP_PORT_DESC d = {0};
    if (!port)
        return dp12_create_shared_resource(w, h, DP_FORMAT_VIDEO, system_ram, tex, fence);
    d.name = tex;
    d.width = w;
    d.height = h;
    d.transport = transport;
    d.flags = system_ram ? DP_PORT_SYSTEM_RAM : 0;
    return dp12_create_port(&d);
}

static void cpu_round_trip(bool port, DP_TRANSPORT transport)
{
    wchar_t tex[96], fence[96];
    DP_HANDLE h;
    dptest_child c;
    DWORD code = 99;
    uint32_t pitch = 0;
    uint8_t *ptr;
    if (port)
        swprintf(tex, 96, L"cpu%d.%lu", (int)transport, (unsigned long)GetCurrentProcessId());
    else
        name_of(tex, 96, "cpu");
    swprintf(fence, 96, L"%ls.fence", tex);
    h = create_for(port, true, transport, tex, fence, 127, 31);
    if (!ok(h != NULL, "create: %s", dp_last_error_message()))
        return;
    ptr = dp12_map_memory(h, &pitch);
    if (ok(ptr != NULL, "map: %s", dp_last_error_message())) {
        tu_fill(ptr, pitch, 127, 31, 4, 41);
        dp12_unmap_memory(h);
        dp12_signal_fence(h, 41);
        c = dptest_spawn(L"consumer_map \"%ls\" \"%ls\" 41 %ls", tex, fence, port ? L"port" : L"legacy");
        code = dptest_wait_child(&c, 60000, &code) ? code : 0xFFFFFFFFu;
        ok(code == 0, "consumer process exit code %lu", code);
    }
    dp12_close(h);
}

static void gpu_round_trip(bool port, DP_TRANSPORT transport)
{
    wchar_t tex[96], fence[96];
    DP_HANDLE h;
    dptest_child c;
    DWORD code = 99;
    tu_gpu g;
    if (port)
        swprintf(tex, 96, L"gpu%d.%lu", (int)transport, (unsigned long)GetCurrentProcessId());
    else
        name_of(tex, 96, "gpuframe");
    swprintf(fence, 96, L"%ls.fence", tex);
    h = create_for(port, false, transport, tex, fence, 200, 120);
    if (!ok(h != NULL, "create: %s", dp_last_error_message()))
        return;
    if (ok(tu_gpu_init(&g), "queue")) {
        /* The producer's frame: a copy into the port's texture, then the queue signal;
         * nothing waits on the CPU. */
        ok(tu_gpu_write(&g, dp12_get_resource(h), 4, 77), "writing the frame");
        ok(dp12_queue_signal(h, g.queue, 77), "queue signal: %s", dp_last_error_message());
        c = dptest_spawn(L"consumer_gpu \"%ls\" \"%ls\" 77 %ls", tex, fence, port ? L"port" : L"legacy");
        code = dptest_wait_child(&c, 60000, &code) ? code : 0xFFFFFFFFu;
        ok(code == 0, "consumer process exit code %lu", code);
    }
    tu_gpu_free(&g);
    dp12_close(h);
}

DP_TEST(d3d12_cross_process_cpu_frame_auto)
{
    if (!init12())
        skip("no D3D12 device: %s", dp_last_error_message());
    cpu_round_trip(false, DP_TRANSPORT_AUTO);
    dp12_shutdown();
}

DP_TEST(d3d12_cross_process_gpu_frame_auto)
{
    if (!init12())
        skip("no D3D12 device: %s", dp_last_error_message());
    gpu_round_trip(false, DP_TRANSPORT_AUTO);
    dp12_shutdown();
}

DP_TEST(d3d12_cross_process_cpu_frame_host)
{
    if (!init12())
        skip("no D3D12 device: %s", dp_last_error_message());
    cpu_round_trip(true, DP_TRANSPORT_HOST);
    dp12_shutdown();
}

DP_TEST(d3d12_cross_process_gpu_frame_host)
{
    if (!init12())
        skip("no D3D12 device: %s", dp_last_error_message());
    gpu_round_trip(true, DP_TRANSPORT_HOST);
    dp12_shutdown();
}

DP_TEST(d3d12_cross_process_cpu_frame_gpu_transport)
{
    if (!init12())
        skip("no D3D12 device: %s", dp_last_error_message());
    if (!gpu_transport_available()) {
        dp12_shutdown();
        skip("the driver has no NT shared handles (CreateSharedHandle: E_NOTIMPL), so no GPU transport");
    }
    cpu_round_trip(true, DP_TRANSPORT_GPU);
    dp12_shutdown();
}

DP_TEST(d3d12_cross_process_gpu_frame_gpu_transport)
{
    if (!init12())
        skip("no D3D12 device: %s", dp_last_error_message());
    if (!gpu_transport_available()) {
        dp12_shutdown();
        skip("the driver has no NT shared handles (CreateSharedHandle: E_NOTIMPL), so no GPU transport");
    }
    gpu_round_trip(true, DP_TRANSPORT_GPU);
    dp12_shutdown();
}

/* argv: role name value go-event -> publishes value, waits for go, exits. */
DP_CHILD(producer_then_exit)
{
    DP_PORT_DESC d = {0};
    DP_HANDLE h;
    HANDLE go;
    if (argc < 4 || !dp12_init())
        return 2;
    d.name = argv[1];
    d.width = d.height = 8;
    h = dp12_create_port(&d);
    if (!ok(h != NULL, "create: %s", dp_last_error_message()))
        return 1;
    dp12_signal_fence(h, wcstoull(argv[2], NULL, 10));
    go = OpenEventW(SYNCHRONIZE, FALSE, argv[3]);
    ok(go && WaitForSingleObject(go, 30000) == WAIT_OBJECT_0, "no go from the parent");
    /* Exit without closing: a crashed producer looks the same to its consumers. */
    ExitProcess(dptest_failures() ? 1 : 0);
}

DP_TEST(d3d12_producer_exit_disconnects_consumer)
{
    wchar_t name[64], go_name[96];
    HANDLE go;
    DP_HANDLE h = NULL;
    dptest_child c;
    DWORD code = 99;
    ULONGLONG start;
    DP_RESULT r;
    if (!init12())
        skip("no D3D12 device: %s", dp_last_error_message());
    swprintf(name, 64, L"exit%lu", (unsigned long)GetCurrentProcessId());
    name_of(go_name, 96, "go");
    go = CreateEventW(NULL, TRUE, FALSE, go_name);
    c = dptest_spawn(L"producer_then_exit %ls 5 \"%ls\"", name, go_name);
    for (start = GetTickCount64(); !h && GetTickCount64() - start < 20000; Sleep(20))
        h = dp12_open_port(name);
    if (ok(h != NULL, "open: %s", dp_last_error_message())) {
        ok(dp12_cpu_wait_timeout(h, 5, 10000) == DP_OK, "the published value did not arrive: %s",
           dp_last_error_message());
        SetEvent(go);
        r = dp12_cpu_wait_timeout(h, 6, 20000);
        ok(r == DP_ERROR_DISCONNECTED, "waiting on an exited producer gave %s", dp_result_string(r));
        dp12_close(h);
    }
    SetEvent(go);
    code = dptest_wait_child(&c, 30000, &code) ? code : 0xFFFFFFFFu;
    ok(code == 0, "producer exit code %lu", code);
    CloseHandle(go);
    dp12_shutdown();
}

/* ---- Validation ---------------------------------------------------------------------- */

/* Writes `size` bytes from fill into a section named like a port's control block, and
 * checks that opening it fails cleanly. */
static void open_bad_block(const void *fill, size_t size, const char *what)
{
    wchar_t name[64], ctl[128];
    HANDLE section;
    void *view;
    DP_HANDLE h;
    DP_STATS before, after;
    swprintf(name, 64, L"garbage%lu", (unsigned long)GetCurrentProcessId());
    swprintf(ctl, 128, L"Local\\DirectPort.%ls.ctl", name);
    section = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, (DWORD)size, ctl);
    view = MapViewOfFile(section, FILE_MAP_WRITE, 0, 0, size);
    if (!ok(view != NULL, "making the section"))
        return;
    memcpy(view, fill, size);
    dp_get_stats(&before);
    h = dp12_open_port(name);
    ok(!h && dp_last_error() == DP_ERROR_INCOMPATIBLE, "%s: open gave %p, %s (%s)", what, h,
       dp_result_string(dp_last_error()), dp_last_error_message());
    dp_get_stats(&after);
    ok(after.kernel_objects == before.kernel_objects && after.live_handles == before.live_handles,
       "%s: a failed open kept %u kernel objects", what, after.kernel_objects - before.kernel_objects);
    dp12_close(h);
    UnmapViewOfFile(view);
    CloseHandle(section);
}

DP_TEST(d3d12_open_rejects_garbage_control_block)
{
    uint8_t garbage[4096];
    uint64_t magic = 0x424354524f505044ull;
    uint32_t version = 1;
    if (!init12())
        skip("no D3D12 device: %s", dp_last_error_message());
    srand(1234);
    for (size_t i = 0; i < sizeof(garbage); i++)
        garbage[i] = (uint8_t)rand();
    open_bad_block(garbage, sizeof(garbage), "random bytes");
    /* A right magic and version with nonsense behind them. */
    memcpy(garbage, &magic, 8);
    memcpy(garbage + 8, &version, 4);
    open_bad_block(garbage, sizeof(garbage), "valid header, random fields");
    dp12_shutdown();
}

/* Every handle-taking call given h must fail with DP_ERROR_INVALID_ARGUMENT. */
static void expect_bad_handle(DP_HANDLE h, const char *what, ID3D12CommandQueue *queue)
{
    DP_PORT_INFO info;
    uint32_t pitch;
#define EXPECT(call)                                                                             \
    do {                                                                                         \
        call;                                                                                    \
        ok(dp_last_error() == DP_ERROR_INVALID_ARGUMENT, "%s: %s gave %s", what, #call,            \
           dp_result_string(dp_last_error()));                                                   \
    } while (0)
    EXPECT(ok(dp12_map_memory(h, &pitch) == NULL, "mapped"));
    EXPECT(dp12_unmap_memory(h));
    EXPECT(dp12_signal_fence(h, 1));
    EXPECT(ok(dp12_cpu_wait_timeout(h, 1, 0) == DP_ERROR_INVALID_ARGUMENT, "wait"));
    EXPECT(dp12_cpu_wait(h, 1));
    EXPECT(dp12_queue_wait(h, queue, 1));
    EXPECT(ok(!dp12_queue_signal(h, queue, 1), "queue signal"));
    EXPECT(ok(dp12_get_completed_value(h) == 0, "completed"));
    EXPECT(ok(dp12_get_resource(h) == NULL, "resource"));
    EXPECT(ok(dp12_get_fence(h) == NULL, "fence"));
    EXPECT(ok(dp12_get_resource_handle(h) == NULL, "resource handle"));
    EXPECT(ok(dp12_get_fence_handle(h) == NULL, "fence handle"));
    EXPECT(ok(dp_get_transport(h) == DP_TRANSPORT_AUTO, "transport"));
    EXPECT(ok(!dp_get_port_info(h, &info), "info"));
    EXPECT(dp12_close(h));
#undef EXPECT
}

DP_TEST(d3d12_bad_arguments)
{
    wchar_t tex[96], fence[96], long_name[300];
    DP_PORT_DESC d = {0};
    DP_HANDLE good, closed;
    tu_gpu g;
    int local = 0;

    /* Before init. */
    ok(!dp12_create_shared_resource(8, 8, DP_FORMAT_VIDEO, false, L"a", L"b") &&
           dp_last_error() == DP_ERROR_NOT_INITIALIZED, "create before init: %s", dp_result_string(dp_last_error()));
    ok(!dp12_open_shared_resource(L"a", L"b") && dp_last_error() == DP_ERROR_NOT_INITIALIZED, "open before init");
    ok(!dp12_open_port(L"a") && dp_last_error() == DP_ERROR_NOT_INITIALIZED, "open_port before init");
    ok(dp12_get_completed_value((DP_HANDLE)&local) == 0 && dp_last_error() == DP_ERROR_NOT_INITIALIZED,
       "completed value before init");
    ok(!dp12_init_with_device(NULL) && dp_last_error() == DP_ERROR_INVALID_ARGUMENT, "init with NULL device");

    if (!init12())
        skip("no D3D12 device: %s", dp_last_error_message());
    name_of(tex, 96, "bad");
    name_of(fence, 96, "bad.f");
    good = dp12_create_shared_resource(8, 8, DP_FORMAT_VIDEO, false, tex, fence);
    if (!ok(good != NULL, "create: %s", dp_last_error_message()) || !ok(tu_gpu_init(&g), "queue"))
        return;

#define BAD_CREATE(w, h, f, t, fe, why)                                                           \
    ok(!dp12_create_shared_resource(w, h, f, false, t, fe) && dp_last_error() == DP_ERROR_INVALID_ARGUMENT, \
       "create with %s: %s", why, dp_result_string(dp_last_error()))
    for (int i = 0; i < 299; i++)
        long_name[i] = L'n';
    long_name[299] = 0;
    BAD_CREATE(8, 8, DP_FORMAT_VIDEO, NULL, L"f", "NULL texture name");
    BAD_CREATE(8, 8, DP_FORMAT_VIDEO, L"t", NULL, "NULL fence name");
    BAD_CREATE(8, 8, DP_FORMAT_VIDEO, L"", L"f", "empty name");
    BAD_CREATE(8, 8, DP_FORMAT_VIDEO, L"Local\\", L"f", "prefix only");
    BAD_CREATE(8, 8, DP_FORMAT_VIDEO, L"a\\b", L"f", "backslash in name");
    BAD_CREATE(8, 8, DP_FORMAT_VIDEO, long_name, L"f", "300-character name");
    BAD_CREATE(8, 8, DP_FORMAT_VIDEO, L"same", L"Local\\same", "one name for texture and fence");
    BAD_CREATE(0, 8, DP_FORMAT_VIDEO, L"t", L"f", "zero width");
    BAD_CREATE(8, 0, DP_FORMAT_VIDEO, L"t", L"f", "zero height");
    BAD_CREATE(16385, 8, DP_FORMAT_VIDEO, L"t", L"f", "width 16385");
    BAD_CREATE(8, 0xffffffffu, DP_FORMAT_VIDEO, L"t", L"f", "height 2^32-1");
    BAD_CREATE(8, 8, (DP_FORMAT)8, L"t", L"f", "format 8");
    BAD_CREATE(8, 8, (DP_FORMAT)-1, L"t", L"f", "format -1");
#undef BAD_CREATE
    ok(!dp12_open_shared_resource(NULL, fence) && dp_last_error() == DP_ERROR_INVALID_ARGUMENT, "open NULL name");
    ok(!dp12_open_shared_resource(L"Local\\dptest.nothing", L"Local\\dptest.nothing.f") &&
           dp_last_error() == DP_ERROR_NOT_FOUND, "open of a missing port: %s", dp_result_string(dp_last_error()));

#define BAD_PORT(field, value, expected)                                                          \
    do {                                                                                          \
        DP_PORT_DESC b = {L"badport", 8, 8, DP_FORMAT_VIDEO, 0, DP_TRANSPORT_AUTO, 0, NULL};       \
        b.field = value;                                                                          \
        ok(!dp12_create_port(&b) && dp_last_error() == expected, "create_port with %s = %s: %s", #field, #value, \
           dp_result_string(dp_last_error()));                                                    \
    } while (0)
    ok(!dp12_create_port(NULL) && dp_last_error() == DP_ERROR_INVALID_ARGUMENT, "create_port(NULL)");
    BAD_PORT(name, NULL, DP_ERROR_INVALID_ARGUMENT);
    BAD_PORT(name, L"", DP_ERROR_INVALID_ARGUMENT);
    BAD_PORT(name, L"has space", DP_ERROR_INVALID_ARGUMENT);
    BAD_PORT(name, L"a/b", DP_ERROR_INVALID_ARGUMENT);
    BAD_PORT(name, L"Local\\x", DP_ERROR_INVALID_ARGUMENT);
    BAD_PORT(name, L"a234567890123456789012345678901234567890123456789012345678901234x", DP_ERROR_INVALID_ARGUMENT);
    BAD_PORT(width, 0, DP_ERROR_INVALID_ARGUMENT);
    BAD_PORT(format, (DP_FORMAT)9, DP_ERROR_INVALID_ARGUMENT);
    BAD_PORT(slots, 9, DP_ERROR_INVALID_ARGUMENT);
    BAD_PORT(transport, (DP_TRANSPORT)7, DP_ERROR_INVALID_ARGUMENT);
    BAD_PORT(flags, 0x100, DP_ERROR_INVALID_ARGUMENT);
    BAD_PORT(sddl, L"this is not SDDL", DP_ERROR_INVALID_ARGUMENT);
#undef BAD_PORT
    ok(!dp12_open_port(L"bad name") && dp_last_error() == DP_ERROR_INVALID_ARGUMENT, "open_port with a bad name");

    /* Handles: NULL, never issued, a pointer, closed, and misuse of a good one. */
    expect_bad_handle(NULL, "NULL", g.queue);
    expect_bad_handle((DP_HANDLE)(uintptr_t)0x1234, "0x1234", g.queue);
    expect_bad_handle((DP_HANDLE)&local, "a stack pointer", g.queue);
    closed = dp12_create_shared_resource(8, 8, DP_FORMAT_VIDEO, false, L"Local\\dptest.closed",
                                         L"Local\\dptest.closed.f");
    dp12_close(closed);
    expect_bad_handle(closed, "a closed handle", g.queue);
    ok(!dp12_map_memory(good, NULL) && dp_last_error() == DP_ERROR_UNSUPPORTED, "mapping a GPU-memory port");
    dp12_unmap_memory(good);
    ok(dp_last_error() == DP_ERROR_INVALID_ARGUMENT, "unmapping what is not mapped");
    ok(!dp12_queue_signal(good, NULL, 1) && dp_last_error() == DP_ERROR_INVALID_ARGUMENT, "queue signal NULL queue");
    dp12_queue_wait(good, NULL, 1);
    ok(dp_last_error() == DP_ERROR_INVALID_ARGUMENT, "queue wait NULL queue");
    ok(!dp_get_port_info(good, NULL) && dp_last_error() == DP_ERROR_INVALID_ARGUMENT, "info into NULL");
    ok(!dp_get_stats(NULL) && dp_last_error() == DP_ERROR_INVALID_ARGUMENT, "stats into NULL");
    ok(strcmp(dp_result_string((DP_RESULT)99), "DP_RESULT(?)") == 0, "name of an unknown result");

    /* A taken name fails and leaves the existing port as it was. */
    ok(!dp12_create_shared_resource(8, 8, DP_FORMAT_VIDEO, false, tex, L"Local\\dptest.other") &&
           dp_last_error() == DP_ERROR_NAME_IN_USE, "second creator: %s", dp_result_string(dp_last_error()));
    d.name = L"dupe";
    d.width = d.height = 8;
    {
        DP_HANDLE first = dp12_create_port(&d);
        ok(!dp12_create_port(&d) && dp_last_error() == DP_ERROR_NAME_IN_USE, "second create_port");
        dp12_close(first);
        first = dp12_create_port(&d);
        ok(first != NULL, "the name is not free after close: %s", dp_last_error_message());
        dp12_close(first);
    }
    /* None of the failures above touched the good port. */
    dp12_signal_fence(good, 12);
    ok(dp12_get_completed_value(good) == 12, "the good port stopped working");

    tu_gpu_free(&g);
    dp12_close(good);
    dp12_shutdown();
    /* After shutdown. */
    ok(!dp12_create_shared_resource(8, 8, DP_FORMAT_VIDEO, false, L"a", L"b") &&
           dp_last_error() == DP_ERROR_NOT_INITIALIZED, "create after shutdown");
    dp12_close(good);
    ok(dp_last_error() == DP_ERROR_NOT_INITIALIZED, "close after shutdown: %s", dp_result_string(dp_last_error()));
    /* Handles that shutdown closed stay dead after a new init. */
    if (init12()) {
        dp12_signal_fence(good, 1);
        ok(dp_last_error() == DP_ERROR_INVALID_ARGUMENT, "a handle survived shutdown");
        dp12_shutdown();
    }
}

/* Committed private memory of this process, from a walk of its address space:
 * GetProcessMemoryInfo's PrivateUsage is always 0 under Wine. */
static uint64_t private_bytes(void)
{
    MEMORY_BASIC_INFORMATION mbi;
    uint64_t total = 0;
    const uint8_t *addr = NULL;
    while (VirtualQuery(addr, &mbi, sizeof(mbi)) == sizeof(mbi)) {
        if (mbi.State == MEM_COMMIT && mbi.Type == MEM_PRIVATE)
            total += mbi.RegionSize;
        addr = (const uint8_t *)mbi.BaseAddress + mbi.RegionSize;
        if (!addr)
            break;
    }
    return total;
}

/* Every D3D12 child object holds a reference on its device, so the device's count
 * catches a leaked texture, fence or command list that memory counters cannot see
 * (the driver's memory lives outside the process's Windows heap under Wine). */
static ULONG device_refs(void)
{
    ID3D12Device *device = dp12_get_device();
    ID3D12Device_AddRef(device);
    return ID3D12Device_Release(device);
}

static void cycle(int i)
{
    wchar_t tex[96], fence[96];
    DP_HANDLE p, c;
    name_of(tex, 96, "cycle");
    name_of(fence, 96, "cycle.f");
    p = dp12_create_shared_resource(64, 64, DP_FORMAT_VIDEO, (i & 1) != 0, tex, fence);
    ok(p != NULL, "cycle %d: create: %s", i, dp_last_error_message());
    if (i % 4 == 0) {
        c = dp12_open_shared_resource(tex, fence);
        ok(c != NULL, "cycle %d: open: %s", i, dp_last_error_message());
        dp12_close(c);
    }
    dp12_close(p);
}

DP_TEST(d3d12_create_close_cycles_leak_nothing)
{
    DP_STATS base, after;
    uint64_t mem_warm, mem_end;
    ULONG refs_warm, refs_end;
    wchar_t ctl[128];
    HANDLE section;
    if (!init12())
        skip("no D3D12 device: %s", dp_last_error_message());
    dp_get_stats(&base);
    for (int i = 0; i < 50; i++)
        cycle(i);
    mem_warm = private_bytes();
    refs_warm = device_refs();
    for (int i = 0; i < 1000 && !dptest_failures(); i++)
        cycle(i);
    mem_end = private_bytes();
    refs_end = device_refs();
    ok(refs_end == refs_warm, "device references %lu after warm-up, %lu after 1000 cycles: a D3D12 object leaked",
       refs_warm, refs_end);
    dp_get_stats(&after);
    ok(after.kernel_objects == base.kernel_objects, "kernel objects %u before, %u after 1000 cycles",
       base.kernel_objects, after.kernel_objects);
    ok(after.live_handles == base.live_handles && after.worker_threads == 0, "handles %u, threads %u left",
       after.live_handles, after.worker_threads);
    /* Growth under 4 MiB over 1000 cycles: a leak of one slot (16 KiB here) or one
     * thread stack per cycle would be 16 MiB or more. */
    ok(mem_warm > 0, "no committed private memory measured");
    ok(mem_end < mem_warm + 4 * 1024 * 1024, "private bytes grew from %llu to %llu over 1000 cycles",
       (unsigned long long)mem_warm, (unsigned long long)mem_end);
    dptest_diag("private bytes %llu after warm-up, %llu after 1000 cycles", (unsigned long long)mem_warm,
                (unsigned long long)mem_end);
    /* And the port's named objects are gone. */
    name_of(ctl, 100, "cycle");
    wcscat(ctl, L".ctl");
    section = OpenFileMappingW(FILE_MAP_READ, FALSE, ctl);
    ok(section == NULL, "the control block %ls outlived every handle", ctl);
    if (section)
        CloseHandle(section);
    dp12_shutdown();
}
