/*
 * test_d3d12.c - the D3D12 core: the cases both cores share (dpcases.h) over its table,
 * and its own: CPU and queue signals, system-RAM maps in this process and across
 * processes, NT handles, NULL queues.
 */
#include "dpcases.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capabilities.h"
#include "dptest.h"

/* Object names unique to this run, so a left-over from a crashed run never collides. */
static void name_of(wchar_t *out, size_t cap, const char *what)
{
    dpt_nt_name(&dpt_d3d12, out, cap, what);
}

/* Whether this driver shares NT handles: a GPU-transport port can be made. */
DP_TEST(d3d12_init_and_shutdown)
{
    case_init_and_shutdown(&dpt_d3d12);
}

DP_TEST(d3d12_init_with_host_device)
{
    void *device = dpt_d3d12.create_device();
    unsigned long refs;
    if (!device)
        skip("no D3D12 device on this system");
    refs = dpt_d3d12.device_refs(device);
    case_adopt_device(&dpt_d3d12, device);
    /* Shutdown closes the port made on the device. */
    dp12_shutdown();
    case_device_given_back(&dpt_d3d12, device, refs);
}

/* What only dp12 has on a legacy port: its fence, and a map exactly where the port's
 * memory is CPU-visible. */
static void check_fence_and_map(DP_HANDLE h, DP_FORMAT format, bool system_ram)
{
    DP_PORT_INFO info = {0};
    uint32_t pitch = 0;
    void *ptr;
    (void)format;
    dp_get_port_info(h, &info);
    ok(dp12_get_fence(h) != NULL, "no fence");
    ptr = dp12_map_memory(h, &pitch);
    if (system_ram) {
        ok(ptr != NULL && pitch == info.row_pitch, "map: %p pitch %u: %s", ptr, pitch, dp_last_error_message());
        dp12_unmap_memory(h);
    } else {
        ok(!ptr && dp_last_error() == DP_ERROR_UNSUPPORTED, "mapping a GPU-memory port: %s",
           dp_result_string(dp_last_error()));
    }
}

DP_TEST(d3d12_create_each_format_and_heap)
{
    case_create_each_format(&dpt_d3d12, check_fence_and_map);
}

/* A port's NT handles: there on the GPU transport; on the host transport, where no such
 * object exists, absent with a reason. */
static void check_nt_handles(DP_HANDLE h)
{
    if (dp_get_transport(h) == DP_TRANSPORT_GPU)
        ok(dp12_get_resource_handle(h) != NULL && dp12_get_fence_handle(h) != NULL, "no NT handles");
    else
        ok(dp12_get_resource_handle(h) == NULL && dp_last_error() == DP_ERROR_UNSUPPORTED,
           "a host port gave an NT handle");
}

DP_TEST(d3d12_gpu_transport_where_supported)
{
    case_gpu_transport_where_supported(&dpt_d3d12, check_nt_handles);
}

DP_TEST(d3d12_cpu_signal_queue_signal_and_timeout)
{
    wchar_t tex[96], fence[96];
    tu_gpu g;
    DP_HANDLE h;
    if (!dp12_init())
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

DP_TEST(d3d12_fence_signal_wait_timeout)
{
    case_fence_signal_wait_timeout(&dpt_d3d12);
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
    if (!dp12_init())
        skip("no D3D12 device: %s", dp_last_error_message());
    name_of(tex, 96, "map");
    name_of(fence, 96, "map.f");
    h = dp12_create_shared_resource(75, 9, DP_FORMAT_VIDEO, true, tex, fence);
    if (ok(h != NULL, "create: %s", dp_last_error_message()))
        map_round_trip(h);
    dp12_close(h);
    dp12_shutdown();
}

/* D3D12 has no shared CPU-visible heaps: a system-RAM port on the GPU transport is
 * refused with a reason on every driver, and AUTO puts it on the host transport. */
DP_TEST(d3d12_map_round_trip_gpu_transport)
{
    DP_PORT_DESC d = {0};
    DP_HANDLE h;
    wchar_t name[64];
    if (!dp12_init())
        skip("no D3D12 device: %s", dp_last_error_message());
    dpt_port_name(&dpt_d3d12, name, 64, "map");
    d.name = name;
    d.width = 75;
    d.height = 9;
    d.flags = DP_PORT_SYSTEM_RAM;
    d.transport = DP_TRANSPORT_GPU;
    h = dp12_create_port(&d);
    ok(h == NULL && dp_last_error() == DP_ERROR_UNSUPPORTED && strstr(dp_last_error_message(), "host transport"),
       "a GPU-transport system-RAM port: %s (%s)", dp_result_string(dp_last_error()), dp_last_error_message());
    dp12_close(h);
    d.transport = DP_TRANSPORT_AUTO;
    h = dp12_create_port(&d);
    if (ok(h != NULL, "an AUTO system-RAM port: %s", dp_last_error_message())) {
        ok(dp_get_transport(h) == DP_TRANSPORT_HOST, "an AUTO system-RAM port is on transport %d",
           (int)dp_get_transport(h));
        map_round_trip(h);
    }
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

/* Creates the system-RAM producer side: legacy names, or a port forced onto `transport`. */
static DP_HANDLE create_for(bool port, DP_TRANSPORT transport, const wchar_t *tex, const wchar_t *fence, uint32_t w,
                            uint32_t h)
{
    DP_PORT_DESC d = {0};
    if (!port)
        return dp12_create_shared_resource(w, h, DP_FORMAT_VIDEO, true, tex, fence);
    d.name = tex;
    d.width = w;
    d.height = h;
    d.transport = transport;
    d.flags = DP_PORT_SYSTEM_RAM;
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
    char what[16];
    snprintf(what, sizeof(what), "cpu%d", (int)transport);
    if (port)
        dpt_port_name(&dpt_d3d12, tex, 96, what);
    else
        name_of(tex, 96, what);
    swprintf(fence, 96, L"%ls.fence", tex);
    h = create_for(port, transport, tex, fence, 127, 31);
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

DP_TEST(d3d12_cross_process_cpu_frame_auto)
{
    if (!dp12_init())
        skip("no D3D12 device: %s", dp_last_error_message());
    cpu_round_trip(false, DP_TRANSPORT_AUTO);
    dp12_shutdown();
}

DP_TEST(d3d12_cross_process_gpu_frame_auto)
{
    case_cross_process_frame(&dpt_d3d12, &dpt_d3d12, "gpuframe", false, DP_TRANSPORT_AUTO, "gpu");
}

DP_TEST(d3d12_cross_process_cpu_frame_host)
{
    if (!dp12_init())
        skip("no D3D12 device: %s", dp_last_error_message());
    cpu_round_trip(true, DP_TRANSPORT_HOST);
    dp12_shutdown();
}

DP_TEST(d3d12_cross_process_gpu_frame_host)
{
    case_cross_process_frame(&dpt_d3d12, &dpt_d3d12, "gpuhost", true, DP_TRANSPORT_HOST, "gpu");
}

DP_TEST(d3d12_cross_process_cpu_frame_gpu_transport)
{
    DPT_REQUIRE(DPCAP_NT_SHARING);
    if (!dp12_init())
        skip("no D3D12 device: %s", dp_last_error_message());
    /* Where the driver shares, a system-RAM port still goes to the host transport. */
    cpu_round_trip(true, DP_TRANSPORT_AUTO);
    dp12_shutdown();
}

DP_TEST(d3d12_cross_process_gpu_frame_gpu_transport)
{
    case_cross_process_frame(&dpt_d3d12, &dpt_d3d12, "gpugpu", true, DP_TRANSPORT_GPU, "gpu");
}

DP_TEST(d3d12_producer_exit_disconnects_consumer)
{
    case_producer_exit_disconnects(&dpt_d3d12);
}

/* ---- Validation ---------------------------------------------------------------------- */

DP_TEST(d3d12_open_rejects_garbage_control_block)
{
    case_open_rejects_garbage_control_block(&dpt_d3d12);
}

/* dp12's own misuse of a live GPU-memory producer: maps, NULL queues. */
static void misuse(DP_HANDLE good, dpt_gpu *g)
{
    (void)g;
    ok(!dp12_map_memory(good, NULL) && dp_last_error() == DP_ERROR_UNSUPPORTED, "mapping a GPU-memory port");
    dp12_unmap_memory(good);
    ok(dp_last_error() == DP_ERROR_INVALID_ARGUMENT, "unmapping what is not mapped");
    ok(!dp12_queue_signal(good, NULL, 1) && dp_last_error() == DP_ERROR_INVALID_ARGUMENT, "queue signal NULL queue");
    dp12_queue_wait(good, NULL, 1);
    ok(dp_last_error() == DP_ERROR_INVALID_ARGUMENT, "queue wait NULL queue");
}

DP_TEST(d3d12_bad_arguments)
{
    case_bad_arguments(&dpt_d3d12, misuse);
}

DP_TEST(d3d12_create_close_cycles_leak_nothing)
{
    case_create_close_cycles(&dpt_d3d12, 50, 1000);
}
