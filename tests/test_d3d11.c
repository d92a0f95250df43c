/*
 * test_d3d11.c - the D3D11 core: init, creation per format, transports, fences,
 * cross-process and cross-core round trips, disconnects, bad arguments, leaks.
 */
#include "d3d11util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <d3d11_4.h>

#include "dptest.h"

/* Bytes per pixel of each DP_FORMAT, and the DXGI format of its texture. */
#define FORMATS 8
static const uint32_t bpp_of[FORMATS] = {4, 4, 2, 4, 4, 8, 16, 4};
static const DXGI_FORMAT dxgi_of[FORMATS] = {DXGI_FORMAT_B8G8R8A8_UNORM,     DXGI_FORMAT_R32_FLOAT,
                                             DXGI_FORMAT_R16_FLOAT,          DXGI_FORMAT_R32_UINT,
                                             DXGI_FORMAT_R8G8B8A8_UNORM,     DXGI_FORMAT_R16G16B16A16_FLOAT,
                                             DXGI_FORMAT_R32G32B32A32_FLOAT, DXGI_FORMAT_R10G10B10A2_UNORM};

/* ID3D11Multithread's IID, which mingw-w64's libdxguid does not carry. */
static const IID iid_multithread = {0x9b7e4e00, 0x342c, 0x4106, {0xa1, 0x9f, 0x4f, 0x27, 0x04, 0xf6, 0x89, 0xf0}};

/* Object names unique to this run, so a left-over from a crashed run never collides. */
static void name_of(wchar_t *out, size_t cap, const char *what)
{
    swprintf(out, cap, L"Local\\dptest.%lu.d3d11.%hs", (unsigned long)GetCurrentProcessId(), what);
}

/* Port names (DP_PORT_DESC.name) unique to this run. */
static void port_name_of(wchar_t *out, size_t cap, const char *what)
{
    swprintf(out, cap, L"d3d11.%hs.%lu", what, (unsigned long)GetCurrentProcessId());
}

static bool init11(void)
{
    return dp11_init();
}

/* Reads h's texture back and counts the bytes that differ from frame's pattern;
 * UINT64_MAX if it cannot be read. */
static uint64_t bad_bytes(DP_HANDLE h, uint64_t frame)
{
    DP_PORT_INFO info;
    uint8_t *pixels = NULL;
    uint32_t pitch = 0;
    uint64_t bad = UINT64_MAX;
    if (dp_get_port_info(h, &info) && (unsigned)info.format < FORMATS &&
        tu11_read(dp11_get_texture(h), &pixels, &pitch))
        bad = tu_count_bad(pixels, pitch, info.width, info.height, bpp_of[info.format], frame);
    free(pixels);
    return bad;
}

/* Writes frame's pattern into the producer h's texture. */
static bool write_frame(DP_HANDLE h, uint64_t frame)
{
    DP_PORT_INFO info;
    return dp_get_port_info(h, &info) && (unsigned)info.format < FORMATS &&
           tu11_write(dp11_get_texture(h), bpp_of[info.format], frame);
}

/* The device's reference count: every D3D11 child object holds one, so this catches a
 * leaked texture or fence. */
static ULONG device_refs(ID3D11Device *device)
{
    ID3D11Device_AddRef(device);
    return ID3D11Device_Release(device);
}

DP_TEST(d3d11_init_and_shutdown)
{
    DP_STATS before, open_, after;
    ID3D11Device *device;
    wchar_t name[64];
    DP_PORT_DESC d = {0};
    DP_HANDLE prod, cons;
    ok(dp11_get_device() == NULL, "a device before init");
    ok(dp_last_error() == DP_ERROR_NOT_INITIALIZED, "dp11_get_device before init: %s",
       dp_result_string(dp_last_error()));
    if (!ok(dp11_init(), "dp11_init: %s", dp_last_error_message()))
        return;
    device = dp11_get_device();
    ok(device != NULL, "no device after init");
    ok(dp11_init(), "second dp11_init: %s", dp_last_error_message());
    ok(dp11_get_device() == device, "a second dp11_init changed the device");

    /* Shutdown closes what is still open. */
    dp_get_stats(&before);
    port_name_of(name, 64, "shut");
    d.name = name;
    d.width = d.height = 16;
    prod = dp11_create_port(&d);
    cons = dp11_open_port(name);
    ok(prod && cons, "create and open: %s", dp_last_error_message());
    dp_get_stats(&open_);
    ok(open_.live_handles == before.live_handles + 2, "live handles %u with two open, %u before",
       open_.live_handles, before.live_handles);
    dp11_shutdown();
    ok(dp11_get_device() == NULL, "a device after shutdown");
    dp_get_stats(&after);
    ok(after.live_handles == before.live_handles && after.kernel_objects == before.kernel_objects &&
           after.worker_threads == before.worker_threads,
       "shutdown left handles %u (was %u), kernel objects %u (was %u), threads %u (was %u)", after.live_handles,
       before.live_handles, after.kernel_objects, before.kernel_objects, after.worker_threads,
       before.worker_threads);
    dp11_shutdown();
    ok(dp11_get_device() == NULL, "a device after the second shutdown");
    /* The name is free again and the old handles stay dead after a new init. */
    if (ok(dp11_init(), "dp11_init after shutdown: %s", dp_last_error_message())) {
        ok(dp11_get_texture(prod) == NULL && dp_last_error() == DP_ERROR_INVALID_ARGUMENT,
           "a handle survived shutdown");
        prod = dp11_create_port(&d);
        ok(prod != NULL, "the name is not free after shutdown: %s", dp_last_error_message());
        dp11_close(prod);
        dp11_shutdown();
    }
}

DP_TEST(d3d11_init_with_host_device)
{
    ID3D11Device *device = NULL, *other = NULL;
    ID3D11DeviceContext *context = NULL;
    ID3D11Multithread *mt = NULL;
    DP_PORT_DESC d = {0};
    DP_HANDLE h;
    wchar_t name[64];
    ULONG refs_start, refs;
    bool honours_mt = false;
    if (FAILED(D3D11CreateDevice(NULL, D3D_DRIVER_TYPE_HARDWARE, NULL, 0, NULL, 0, D3D11_SDK_VERSION, &device, NULL,
                                 NULL)))
        skip("no D3D11 device on this system");
    refs_start = device_refs(device);
    /* Protection off, as many hosts leave it: the host transport turns it on and must
     * give the device back as it came. Wine's ID3D11Multithread is a stub that is
     * always on, so there this part checks nothing. */
    ID3D11Device_GetImmediateContext(device, &context);
    if (FAILED(ID3D11DeviceContext_QueryInterface(context, &iid_multithread, (void **)&mt)))
        ID3D11Device_QueryInterface(device, &iid_multithread, (void **)&mt);
    ID3D11DeviceContext_Release(context);
    if (mt) {
        ID3D11Multithread_SetMultithreadProtected(mt, FALSE);
        honours_mt = !ID3D11Multithread_GetMultithreadProtected(mt);
    }
    if (!honours_mt)
        dptest_diag("ID3D11Multithread cannot be turned off here: its restoration is not checked");

    ok(dp11_init_with_device(device), "dp11_init_with_device: %s", dp_last_error_message());
    ok(dp11_get_device() == device, "the library does not use the host's device");
    ok(dp11_init_with_device(device), "adopting the same device twice fails: %s", dp_last_error_message());
    ok(dp11_init(), "dp11_init after adopting a device: %s", dp_last_error_message());
    ok(dp11_get_device() == device, "dp11_init replaced the host's device");
    D3D11CreateDevice(NULL, D3D_DRIVER_TYPE_HARDWARE, NULL, 0, NULL, 0, D3D11_SDK_VERSION, &other, NULL, NULL);
    if (other && other != device)
        ok(!dp11_init_with_device(other) && dp_last_error() == DP_ERROR_INVALID_ARGUMENT,
           "a second, different device was accepted");
    ok(dp11_get_device() == device, "the device changed");
    if (other)
        ID3D11Device_Release(other);

    /* A port on the adopted device. */
    port_name_of(name, 64, "host");
    d.name = name;
    d.width = d.height = 16;
    h = dp11_create_port(&d);
    if (ok(h != NULL, "create on the host's device: %s", dp_last_error_message())) {
        D3D11_TEXTURE2D_DESC desc;
        ID3D11Device *owner = NULL;
        ID3D11Texture2D_GetDevice(dp11_get_texture(h), &owner);
        ok(owner == device, "the port's texture is not on the host's device");
        if (owner)
            ID3D11Device_Release(owner);
        ID3D11Texture2D_GetDesc(dp11_get_texture(h), &desc);
        ok(desc.Width == 16 && desc.Height == 16, "texture %ux%u", desc.Width, desc.Height);
        if (honours_mt && dp_get_transport(h) == DP_TRANSPORT_HOST)
            ok(ID3D11Multithread_GetMultithreadProtected(mt), "a host-transport port without multithread protection");
    }
    /* Shutdown closes h. */
    dp11_shutdown();
    ok(dp11_get_device() == NULL, "a device after shutdown");
    if (mt) {
        if (honours_mt)
            ok(!ID3D11Multithread_GetMultithreadProtected(mt), "shutdown left multithread protection on");
        ID3D11Multithread_Release(mt);
    }
    refs = device_refs(device);
    ok(refs == refs_start, "the host's device has %lu references after shutdown, %lu before adoption", refs,
       refs_start);
    ID3D11Device_Release(device);
}

DP_TEST(d3d11_create_each_format)
{
    if (!init11())
        skip("no D3D11 device: %s", dp_last_error_message());
    for (int f = 0; f < FORMATS; f++) {
        wchar_t tex[96], fence[96];
        char what[32];
        DP_PORT_INFO info, cinfo;
        D3D11_TEXTURE2D_DESC desc;
        DP_HANDLE h, c;
        snprintf(what, sizeof(what), "fmt%d", f);
        name_of(tex, 96, what);
        swprintf(fence, 96, L"%ls.f", tex);
        h = dp11_create_shared_resource(33, 17, (DP_FORMAT)f, tex, fence);
        if (!ok(h != NULL, "create format %d: %s", f, dp_last_error_message()))
            continue;
        ok(dp_get_port_info(h, &info), "dp_get_port_info: %s", dp_last_error_message());
        ok(info.width == 33 && info.height == 17 && info.format == (DP_FORMAT)f, "format %d: info %ux%u format %d", f,
           info.width, info.height, (int)info.format);
        ok(info.transport == DP_TRANSPORT_GPU || info.transport == DP_TRANSPORT_HOST, "transport %d",
           (int)info.transport);
        ok(info.transport == dp_get_transport(h), "info transport %d, dp_get_transport %d", (int)info.transport,
           (int)dp_get_transport(h));
        ok(info.is_producer && info.slots == 1 && info.flags == 0, "producer %d slots %u flags %#x", info.is_producer,
           info.slots, info.flags);
        ok(info.producer_pid == GetCurrentProcessId(), "producer pid %u", info.producer_pid);
        ok(wcscmp(info.name, tex) == 0, "name %ls", info.name);
        ok(info.row_pitch % 256 == 0 && info.row_pitch >= 33 * bpp_of[f], "row pitch %u", info.row_pitch);
        if (ok(dp11_get_texture(h) != NULL, "no texture: %s", dp_last_error_message())) {
            ID3D11Texture2D_GetDesc(dp11_get_texture(h), &desc);
            ok(desc.Format == dxgi_of[f] && desc.Width == 33 && desc.Height == 17, "texture format %d size %ux%u",
               (int)desc.Format, desc.Width, desc.Height);
            ok(desc.MipLevels == 1 && desc.ArraySize == 1 && desc.SampleDesc.Count == 1 &&
                   desc.Usage == D3D11_USAGE_DEFAULT,
               "texture mips %u array %u samples %u usage %d", desc.MipLevels, desc.ArraySize,
               desc.SampleDesc.Count, (int)desc.Usage);
        }
        ok(dp11_get_completed_value(h) == 0, "fresh port at %llu", (unsigned long long)dp11_get_completed_value(h));
        /* An opener sees the same port. */
        c = dp11_open_shared_resource(tex, fence);
        if (ok(c != NULL, "open format %d: %s", f, dp_last_error_message())) {
            ok(dp_get_port_info(c, &cinfo) && cinfo.width == 33 && cinfo.height == 17 &&
                   cinfo.format == (DP_FORMAT)f && cinfo.transport == info.transport && !cinfo.is_producer &&
                   cinfo.row_pitch == info.row_pitch,
               "opener's info %ux%u format %d transport %d producer %d pitch %u", cinfo.width, cinfo.height,
               (int)cinfo.format, (int)cinfo.transport, cinfo.is_producer, cinfo.row_pitch);
            ID3D11Texture2D_GetDesc(dp11_get_texture(c), &desc);
            ok(desc.Format == dxgi_of[f] && desc.Width == 33 && desc.Height == 17, "opener's texture format %d %ux%u",
               (int)desc.Format, desc.Width, desc.Height);
            dp11_close(c);
        }
        dp11_close(h);
    }
    dp11_shutdown();
}

DP_TEST(d3d11_gpu_transport_where_supported)
{
    DP_PORT_DESC d = {0};
    DP_STATS before, after;
    DP_HANDLE h, c;
    wchar_t name[64];
    const char *msg;
    if (!init11())
        skip("no D3D11 device: %s", dp_last_error_message());
    port_name_of(name, 64, "gpu");
    d.name = name;
    d.width = 64;
    d.height = 64;
    d.transport = DP_TRANSPORT_GPU;
    dp_get_stats(&before);
    h = dp11_create_port(&d);
    if (h) {
        ok(dp_get_transport(h) == DP_TRANSPORT_GPU, "transport %d", (int)dp_get_transport(h));
        c = dp11_open_port(name);
        ok(c && dp_get_transport(c) == DP_TRANSPORT_GPU, "opening a GPU port: %s", dp_last_error_message());
        dp11_close(c);
        dp11_close(h);
    } else {
        /* The device cannot share: the refusal must be clean and say why. */
        ok(dp_last_error() == DP_ERROR_UNSUPPORTED, "GPU transport refused with %s",
           dp_result_string(dp_last_error()));
        msg = dp_last_error_message();
        ok(strstr(msg, "ID3D11") || strstr(msg, "IDXGI") || strstr(msg, "CreateTexture2D"),
           "the message does not say what is missing: %s", msg);
        dptest_diag("%s", msg);
        dp_get_stats(&after);
        ok(after.kernel_objects == before.kernel_objects && after.live_handles == before.live_handles,
           "the refused create kept %u kernel objects", after.kernel_objects - before.kernel_objects);
        d.transport = DP_TRANSPORT_AUTO;
        h = dp11_create_port(&d);
        ok(h && dp_get_transport(h) == DP_TRANSPORT_HOST, "AUTO did not fall back to the host transport: %s",
           dp_last_error_message());
        dp11_close(h);
    }
    /* The host transport works everywhere. */
    d.transport = DP_TRANSPORT_HOST;
    h = dp11_create_port(&d);
    ok(h && dp_get_transport(h) == DP_TRANSPORT_HOST, "explicit host transport: %s", dp_last_error_message());
    dp11_close(h);
    dp11_shutdown();
}

/* One frame through a port in this process, on format f. */
static void local_frame(DP_FORMAT f)
{
    DP_PORT_DESC d = {0};
    DP_HANDLE prod, cons;
    wchar_t name[64];
    char what[32];
    uint64_t bad;
    DP_RESULT r;
    snprintf(what, sizeof(what), "local%d", (int)f);
    port_name_of(name, 64, what);
    d.name = name;
    d.width = 37;
    d.height = 11;
    d.format = f;
    prod = dp11_create_port(&d);
    cons = dp11_open_port(name);
    if (ok(prod && cons, "format %d: create and open: %s", (int)f, dp_last_error_message())) {
        ok(write_frame(prod, 21), "format %d: writing the frame", (int)f);
        dp11_signal_fence(prod, 21);
        r = dp11_cpu_wait_timeout(cons, 21, 10000);
        ok(r == DP_OK, "format %d: wait gave %s", (int)f, dp_result_string(r));
        bad = bad_bytes(cons, 21);
        ok(bad == 0, "format %d: %llu of %u bytes differ from the producer's frame", (int)f, (unsigned long long)bad,
           37 * 11 * bpp_of[f]);
    }
    dp11_close(cons);
    dp11_close(prod);
}

DP_TEST(d3d11_fence_signal_wait_timeout)
{
    DP_PORT_DESC d = {0};
    DP_PORT_INFO info;
    DP_HANDLE prod = NULL, cons = NULL;
    wchar_t name[64];
    uint64_t bad;
    DP_RESULT r;
    if (!init11())
        skip("no D3D11 device: %s", dp_last_error_message());
    port_name_of(name, 64, "sig");
    d.name = name;
    d.width = 67;
    d.height = 45;
    prod = dp11_create_port(&d);
    if (!ok(prod != NULL, "create: %s", dp_last_error_message()))
        goto done;
    cons = dp11_open_port(name);
    if (!ok(cons != NULL, "open: %s", dp_last_error_message()))
        goto done;
    ok(dp11_get_texture(cons) && dp11_get_texture(cons) != dp11_get_texture(prod),
       "the consumer has no texture of its own");
    ok(dp11_get_completed_value(cons) == 0 && dp11_get_completed_value(prod) == 0, "fresh fences at %llu / %llu",
       (unsigned long long)dp11_get_completed_value(prod), (unsigned long long)dp11_get_completed_value(cons));
    ok(dp11_cpu_wait_timeout(cons, 0, 0) == DP_OK, "waiting for 0");

    /* A frame: the pattern, then the signal. */
    ok(write_frame(prod, 3), "writing the frame");
    dp11_signal_fence(prod, 3);
    r = dp11_cpu_wait_timeout(cons, 3, 10000);
    ok(r == DP_OK, "the consumer's wait gave %s: %s", dp_result_string(r), dp_last_error_message());
    ok(dp11_get_completed_value(cons) >= 3, "consumer completed %llu after the wait",
       (unsigned long long)dp11_get_completed_value(cons));
    r = dp11_cpu_wait_timeout(prod, 3, 10000);
    ok(r == DP_OK, "the producer's wait gave %s", dp_result_string(r));
    ok(dp11_get_completed_value(prod) == 3, "producer completed %llu", (unsigned long long)dp11_get_completed_value(prod));
    ok(dp_get_port_info(cons, &info) && info.last_frame == 3, "last frame %llu", (unsigned long long)info.last_frame);
    bad = bad_bytes(cons, 3);
    ok(bad == 0, "%llu of %u bytes differ from the producer's frame", (unsigned long long)bad, 67 * 45 * 4);
    dp11_wait_fence(cons, 3);

    /* A value nobody signals. */
    r = dp11_cpu_wait_timeout(cons, 4, 100);
    ok(r == DP_ERROR_TIMEOUT, "a value nobody signals gave %s on the consumer", dp_result_string(r));
    ok(dp_last_error() == DP_ERROR_TIMEOUT, "last error %s", dp_result_string(dp_last_error()));
    r = dp11_cpu_wait_timeout(prod, 4, 100);
    ok(r == DP_ERROR_TIMEOUT, "a value nobody signals gave %s on the producer", dp_result_string(r));
    ok(dp11_get_completed_value(cons) == 3, "consumer completed %llu after a timeout",
       (unsigned long long)dp11_get_completed_value(cons));
    dp11_wait_fence(cons, 3);
    ok(dp_last_error() == DP_ERROR_TIMEOUT, "a successful call changed the last error");
    if (dp_get_transport(cons) == DP_TRANSPORT_HOST) {
        dp11_signal_fence(cons, 99);
        ok(dp_last_error() == DP_ERROR_UNSUPPORTED, "a host consumer signalled: %s", dp_result_string(dp_last_error()));
        ok(dp11_get_completed_value(cons) == 3, "the consumer's signal moved it to %llu",
           (unsigned long long)dp11_get_completed_value(cons));
    }

    /* A burst without waits: the last frame arrives whole. */
    for (uint64_t v = 10; v <= 49; v++) {
        write_frame(prod, v);
        dp11_signal_fence(prod, v);
    }
    r = dp11_cpu_wait_timeout(cons, 49, 10000);
    ok(r == DP_OK, "the burst's last frame: %s", dp_result_string(r));
    ok(dp11_get_completed_value(cons) == 49, "consumer completed %llu", (unsigned long long)dp11_get_completed_value(cons));
    bad = bad_bytes(cons, 49);
    ok(bad == 0, "%llu bytes of the burst's last frame differ", (unsigned long long)bad);
done:
    dp11_close(cons);
    dp11_close(prod);
    /* Every format's bytes, exactly. */
    for (int f = 0; f < FORMATS; f++)
        local_frame((DP_FORMAT)f);
    dp11_shutdown();
}

/* ---- Cross-process and cross-core round trips ----------------------------------------- */

/* argv: role tex fence value mode wait -> opens with dp11 (mode legacy: by the two
 * names; port: by port name), waits (wait fence: dp11_wait_fence; cpu:
 * dp11_cpu_wait_timeout), reads its texture back and checks frame `value`'s pattern. */
DP_CHILD(d3d11_consumer)
{
    DP_HANDLE h;
    DP_PORT_INFO info = {0};
    uint64_t value, bad;
    if (argc < 6 || !dp11_init())
        return 2;
    value = wcstoull(argv[3], NULL, 10);
    h = wcscmp(argv[4], L"port") ? dp11_open_shared_resource(argv[1], argv[2]) : dp11_open_port(argv[1]);
    if (!ok(h != NULL, "open %ls: %s", argv[1], dp_last_error_message()))
        return 1;
    if (wcscmp(argv[5], L"fence") == 0) {
        dp11_wait_fence(h, value);
    } else {
        DP_RESULT r = dp11_cpu_wait_timeout(h, value, 10000);
        ok(r == DP_OK, "wait: %s", dp_last_error_message());
    }
    ok(dp11_get_completed_value(h) >= value, "completed %llu < %llu", (unsigned long long)dp11_get_completed_value(h),
       (unsigned long long)value);
    ok(dp_get_port_info(h, &info) && !info.is_producer, "an opener reports itself as producer");
    bad = bad_bytes(h, value);
    ok(bad == 0, "%llu of %u bytes differ from what the producer wrote", (unsigned long long)bad,
       info.width * info.height * bpp_of[(unsigned)info.format % FORMATS]);
    dp11_close(h);
    dp11_shutdown();
    return dptest_failures() ? 1 : 0;
}

/* argv: role tex fence value -> opens with dp12 by the two names, waits on its queue,
 * copies its texture out and checks frame `value`'s pattern. */
DP_CHILD(d3d11_d3d12_consumer)
{
    DP_HANDLE h;
    DP_PORT_INFO info;
    tu_gpu g;
    uint64_t value;
    uint8_t *pixels = NULL;
    uint32_t pitch = 0;
    if (argc < 4 || !dp12_init())
        return 2;
    value = wcstoull(argv[3], NULL, 10);
    h = dp12_open_shared_resource(argv[1], argv[2]);
    if (!ok(h != NULL, "open %ls: %s", argv[1], dp_last_error_message()) || !ok(tu_gpu_init(&g), "queue"))
        return 1;
    dp_get_port_info(h, &info);
    dp12_queue_wait(h, g.queue, value);
    if (ok(tu_gpu_read(&g, dp12_get_resource(h), &pixels, &pitch), "reading the texture back")) {
        uint64_t bad = tu_count_bad(pixels, pitch, info.width, info.height, 4, value);
        ok(bad == 0, "%llu of %u bytes differ from the D3D11 producer's frame", (unsigned long long)bad,
           info.width * info.height * 4);
    }
    /* vkd3d moves a fence's completed value a moment after the GPU passes it: wait for
     * the value rather than read it. */
    ok(dp12_cpu_wait_timeout(h, value, 10000) == DP_OK, "the consumer's fence did not reach %llu: %s",
       (unsigned long long)value, dp_last_error_message());
    free(pixels);
    tu_gpu_free(&g);
    dp12_close(h);
    dp12_shutdown();
    return dptest_failures() ? 1 : 0;
}

/* A dp11 producer in this process, a d3d11_consumer in a child. */
static void d3d11_round_trip(bool port, const char *wait)
{
    wchar_t tex[96], fence[96];
    DP_PORT_DESC d = {0};
    DP_HANDLE h;
    dptest_child c;
    DWORD code = 99;
    bool exited;
    if (port)
        port_name_of(tex, 96, wait);
    else
        name_of(tex, 96, wait);
    swprintf(fence, 96, L"%ls.fence", tex);
    if (port) {
        d.name = tex;
        d.width = 200;
        d.height = 120;
        h = dp11_create_port(&d);
    } else {
        h = dp11_create_shared_resource(200, 120, DP_FORMAT_VIDEO, tex, fence);
    }
    if (!ok(h != NULL, "create: %s", dp_last_error_message()))
        return;
    ok(write_frame(h, 76), "writing frame 76");
    dp11_signal_fence(h, 76);
    ok(write_frame(h, 77), "writing frame 77");
    dp11_signal_fence(h, 77);
    c = dptest_spawn(L"d3d11_consumer \"%ls\" \"%ls\" 77 %ls %hs", tex, fence, port ? L"port" : L"legacy", wait);
    /* Waited for before ok() is called: its arguments, code among them, are evaluated
     * in no set order. */
    exited = dptest_wait_child(&c, 60000, &code);
    ok(exited && code == 0, "consumer process (%s, %s wait) exit code %lu",
       port ? "port" : "legacy", wait, code);
    dp11_close(h);
}

DP_TEST(d3d11_cross_process_frame)
{
    if (!init11())
        skip("no D3D11 device: %s", dp_last_error_message());
    d3d11_round_trip(false, "fence");
    d3d11_round_trip(true, "cpu");
    dp11_shutdown();
}

DP_TEST(d3d11_from_d3d12_producer)
{
    wchar_t tex[96], fence[96];
    DP_HANDLE h;
    dptest_child c;
    DWORD code = 99;
    bool exited;
    tu_gpu g;
    if (!dp12_init())
        skip("no D3D12 device: %s", dp_last_error_message());
    name_of(tex, 96, "from12");
    swprintf(fence, 96, L"%ls.fence", tex);
    h = dp12_create_shared_resource(200, 120, DP_FORMAT_VIDEO, false, tex, fence);
    if (!ok(h != NULL, "dp12 create: %s", dp_last_error_message())) {
        dp12_shutdown();
        return;
    }
    if (ok(tu_gpu_init(&g), "queue")) {
        /* The producer's frame: a copy into the port's texture, then the queue signal. */
        ok(tu_gpu_write(&g, dp12_get_resource(h), 4, 55), "writing the frame");
        ok(dp12_queue_signal(h, g.queue, 55), "queue signal: %s", dp_last_error_message());
        c = dptest_spawn(L"d3d11_consumer \"%ls\" \"%ls\" 55 legacy fence", tex, fence);
        exited = dptest_wait_child(&c, 60000, &code);
        ok(exited && code == 0, "D3D11 consumer process exit code %lu", code);
    }
    tu_gpu_free(&g);
    dp12_close(h);
    dp12_shutdown();
}

DP_TEST(d3d11_to_d3d12_consumer)
{
    wchar_t tex[96], fence[96];
    DP_HANDLE h;
    dptest_child c;
    DWORD code = 99;
    bool exited;
    if (!init11())
        skip("no D3D11 device: %s", dp_last_error_message());
    name_of(tex, 96, "to12");
    swprintf(fence, 96, L"%ls.fence", tex);
    h = dp11_create_shared_resource(200, 120, DP_FORMAT_VIDEO, tex, fence);
    if (ok(h != NULL, "dp11 create: %s", dp_last_error_message())) {
        ok(write_frame(h, 66), "writing the frame");
        dp11_signal_fence(h, 66);
        c = dptest_spawn(L"d3d11_d3d12_consumer \"%ls\" \"%ls\" 66", tex, fence);
        exited = dptest_wait_child(&c, 60000, &code);
        ok(exited && code == 0, "D3D12 consumer process exit code %lu", code);
    }
    dp11_close(h);
    dp11_shutdown();
}

/* argv: role name value go-event -> writes and publishes frame value, waits for go,
 * exits without closing. */
DP_CHILD(d3d11_producer_then_exit)
{
    DP_PORT_DESC d = {0};
    DP_HANDLE h;
    HANDLE go;
    uint64_t value;
    if (argc < 4 || !dp11_init())
        return 2;
    value = wcstoull(argv[2], NULL, 10);
    d.name = argv[1];
    d.width = 40;
    d.height = 24;
    h = dp11_create_port(&d);
    if (!ok(h != NULL, "create: %s", dp_last_error_message()))
        return 1;
    ok(write_frame(h, value), "writing the frame");
    dp11_signal_fence(h, value);
    ok(dp11_cpu_wait_timeout(h, value, 10000) == DP_OK, "publishing %llu: %s", (unsigned long long)value,
       dp_last_error_message());
    go = OpenEventW(SYNCHRONIZE, FALSE, argv[3]);
    ok(go && WaitForSingleObject(go, 30000) == WAIT_OBJECT_0, "no go from the parent");
    /* Exit without closing: a crashed producer looks the same to its consumers. */
    ExitProcess(dptest_failures() ? 1 : 0);
}

DP_TEST(d3d11_producer_exit_disconnects)
{
    wchar_t name[64], go_name[96];
    HANDLE go;
    DP_HANDLE h = NULL;
    dptest_child c;
    DWORD code = 99;
    bool exited;
    ULONGLONG start;
    DP_RESULT r;
    uint64_t bad;
    if (!init11())
        skip("no D3D11 device: %s", dp_last_error_message());
    port_name_of(name, 64, "exit");
    name_of(go_name, 96, "go");
    go = CreateEventW(NULL, TRUE, FALSE, go_name);
    c = dptest_spawn(L"d3d11_producer_then_exit %ls 5 \"%ls\"", name, go_name);
    for (start = GetTickCount64(); !h && GetTickCount64() - start < 20000; Sleep(20))
        h = dp11_open_port(name);
    if (ok(h != NULL, "open: %s", dp_last_error_message())) {
        r = dp11_cpu_wait_timeout(h, 5, 10000);
        ok(r == DP_OK, "the published value did not arrive: %s", dp_last_error_message());
        bad = bad_bytes(h, 5);
        ok(bad == 0, "%llu bytes of the published frame differ", (unsigned long long)bad);
        SetEvent(go);
        start = GetTickCount64();
        r = dp11_cpu_wait_timeout(h, 6, 20000);
        ok(r == DP_ERROR_DISCONNECTED, "waiting on an exited producer gave %s", dp_result_string(r));
        dptest_diag("the disconnect took %llu ms", (unsigned long long)(GetTickCount64() - start));
        ok(dp11_cpu_wait_timeout(h, 5, 0) == DP_OK, "the frame published before the exit is gone");
        dp11_wait_fence(h, 7);
        ok(dp_last_error() == DP_ERROR_DISCONNECTED, "dp11_wait_fence on an exited producer: %s",
           dp_result_string(dp_last_error()));
        ok(dp11_get_completed_value(h) == 5, "completed %llu", (unsigned long long)dp11_get_completed_value(h));
        bad = bad_bytes(h, 5);
        ok(bad == 0, "%llu bytes of the last frame differ after the disconnect", (unsigned long long)bad);
        dp11_close(h);
    }
    SetEvent(go);
    exited = dptest_wait_child(&c, 30000, &code);
    ok(exited && code == 0, "producer exit code %lu", code);
    CloseHandle(go);
    dp11_shutdown();
}

/* ---- Validation ---------------------------------------------------------------------- */

/* Every dp11 call given h must fail with DP_ERROR_INVALID_ARGUMENT; so must the calls
 * both cores share, unless h is a live handle of the other core. */
static void expect_bad_handle(DP_HANDLE h, const char *what, bool other_core)
{
    DP_PORT_INFO info;
#define EXPECT(call)                                                                             \
    do {                                                                                         \
        call;                                                                                    \
        ok(dp_last_error() == DP_ERROR_INVALID_ARGUMENT, "%s: %s gave %s", what, #call,            \
           dp_result_string(dp_last_error()));                                                   \
    } while (0)
    EXPECT(dp11_signal_fence(h, 1));
    EXPECT(dp11_wait_fence(h, 1));
    EXPECT(ok(dp11_cpu_wait_timeout(h, 1, 0) == DP_ERROR_INVALID_ARGUMENT, "wait"));
    EXPECT(ok(dp11_get_completed_value(h) == 0, "completed"));
    EXPECT(ok(dp11_get_texture(h) == NULL, "texture"));
    if (!other_core) {
        EXPECT(ok(dp_get_transport(h) == DP_TRANSPORT_AUTO, "transport"));
        EXPECT(ok(!dp_get_port_info(h, &info), "info"));
    }
    EXPECT(dp11_close(h));
#undef EXPECT
}

/* Every dp12 call given the dp11 handle h must fail with DP_ERROR_INVALID_ARGUMENT. */
static void expect_not_dp12(DP_HANDLE h, ID3D12CommandQueue *queue)
{
    uint32_t pitch;
#define EXPECT(call)                                                                             \
    do {                                                                                         \
        call;                                                                                    \
        ok(dp_last_error() == DP_ERROR_INVALID_ARGUMENT, "a dp11 handle: %s gave %s", #call,       \
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
    EXPECT(dp12_close(h));
#undef EXPECT
}

DP_TEST(d3d11_bad_arguments)
{
    wchar_t tex[96], fence[96], tex2[96], fence2[96], long_name[300], max_name[256], port[64];
    DP_PORT_DESC d = {0};
    DP_HANDLE good, reader, closed, h;
    DP_RESULT r;
    int local = 0;

    /* Before init. */
    ok(!dp11_create_shared_resource(8, 8, DP_FORMAT_VIDEO, L"a", L"b") && dp_last_error() == DP_ERROR_NOT_INITIALIZED,
       "create before init: %s", dp_result_string(dp_last_error()));
    d.name = L"a";
    d.width = d.height = 8;
    ok(!dp11_create_port(&d) && dp_last_error() == DP_ERROR_NOT_INITIALIZED, "create_port before init");
    ok(!dp11_open_shared_resource(L"a", L"b") && dp_last_error() == DP_ERROR_NOT_INITIALIZED, "open before init");
    ok(!dp11_open_port(L"a") && dp_last_error() == DP_ERROR_NOT_INITIALIZED, "open_port before init");
    ok(dp11_get_completed_value((DP_HANDLE)&local) == 0 && dp_last_error() == DP_ERROR_NOT_INITIALIZED,
       "completed value before init");
    dp11_close(NULL);
    ok(dp_last_error() == DP_ERROR_NOT_INITIALIZED, "close before init: %s", dp_result_string(dp_last_error()));
    ok(!dp11_init_with_device(NULL) && dp_last_error() == DP_ERROR_INVALID_ARGUMENT, "init with NULL device");

    if (!init11())
        skip("no D3D11 device: %s", dp_last_error_message());
    name_of(tex, 96, "bad");
    name_of(fence, 96, "bad.f");
    good = dp11_create_shared_resource(8, 8, DP_FORMAT_VIDEO, tex, fence);
    reader = dp11_open_shared_resource(tex, fence);
    if (!ok(good && reader, "create and open: %s", dp_last_error_message())) {
        dp11_close(reader);
        dp11_close(good);
        dp11_shutdown();
        return;
    }

#define BAD_CREATE(w, h, f, t, fe, why)                                                           \
    ok(!dp11_create_shared_resource(w, h, f, t, fe) && dp_last_error() == DP_ERROR_INVALID_ARGUMENT, \
       "create with %s: %s", why, dp_result_string(dp_last_error()))
    for (int i = 0; i < 299; i++)
        long_name[i] = L'n';
    long_name[299] = 0;
    BAD_CREATE(8, 8, DP_FORMAT_VIDEO, NULL, L"f", "NULL texture name");
    BAD_CREATE(8, 8, DP_FORMAT_VIDEO, L"t", NULL, "NULL fence name");
    BAD_CREATE(8, 8, DP_FORMAT_VIDEO, L"", L"f", "empty name");
    BAD_CREATE(8, 8, DP_FORMAT_VIDEO, L"Local\\", L"f", "prefix only");
    BAD_CREATE(8, 8, DP_FORMAT_VIDEO, L"a\\b", L"f", "backslash in name");
    BAD_CREATE(8, 8, DP_FORMAT_VIDEO, L"t", L"Global\\a\\b", "backslash in fence name");
    BAD_CREATE(8, 8, DP_FORMAT_VIDEO, long_name, L"f", "300-character name");
    long_name[256] = 0;
    BAD_CREATE(8, 8, DP_FORMAT_VIDEO, long_name, L"f", "256-character name");
    BAD_CREATE(8, 8, DP_FORMAT_VIDEO, L"same", L"Local\\same", "one name for texture and fence");
    BAD_CREATE(0, 8, DP_FORMAT_VIDEO, L"t", L"f", "zero width");
    BAD_CREATE(8, 0, DP_FORMAT_VIDEO, L"t", L"f", "zero height");
    BAD_CREATE(16385, 8, DP_FORMAT_VIDEO, L"t", L"f", "width 16385");
    BAD_CREATE(8, 0xffffffffu, DP_FORMAT_VIDEO, L"t", L"f", "height 2^32-1");
    BAD_CREATE(8, 8, (DP_FORMAT)FORMATS, L"t", L"f", "format 8");
    BAD_CREATE(8, 8, (DP_FORMAT)-1, L"t", L"f", "format -1");
#undef BAD_CREATE
    /* The longest name there may be works. */
    swprintf(max_name, 256, L"Local\\dptest.%lu.d3d11.", (unsigned long)GetCurrentProcessId());
    for (size_t i = wcslen(max_name); i < 255; i++)
        max_name[i] = L'm';
    max_name[255] = 0;
    name_of(fence2, 96, "max.f");
    h = dp11_create_shared_resource(8, 8, DP_FORMAT_VIDEO, max_name, fence2);
    ok(h != NULL, "create with a 255-character name: %s", dp_last_error_message());
    dp11_close(h);
    ok(!dp11_open_shared_resource(NULL, fence) && dp_last_error() == DP_ERROR_INVALID_ARGUMENT, "open NULL name");
    ok(!dp11_open_shared_resource(tex, NULL) && dp_last_error() == DP_ERROR_INVALID_ARGUMENT, "open NULL fence name");
    ok(!dp11_open_shared_resource(tex, tex) && dp_last_error() == DP_ERROR_INVALID_ARGUMENT, "open with one name");
    ok(!dp11_open_shared_resource(L"Local\\dptest.nothing", L"Local\\dptest.nothing.f") &&
           dp_last_error() == DP_ERROR_NOT_FOUND, "open of a missing port: %s", dp_result_string(dp_last_error()));

#define BAD_PORT(field, value, expected)                                                          \
    do {                                                                                          \
        DP_PORT_DESC b = {L"badport", 8, 8, DP_FORMAT_VIDEO, 0, DP_TRANSPORT_AUTO, 0, NULL};       \
        b.field = value;                                                                          \
        ok(!dp11_create_port(&b) && dp_last_error() == expected, "create_port with %s = %s: %s", #field, #value, \
           dp_result_string(dp_last_error()));                                                    \
    } while (0)
    ok(!dp11_create_port(NULL) && dp_last_error() == DP_ERROR_INVALID_ARGUMENT, "create_port(NULL)");
    BAD_PORT(name, NULL, DP_ERROR_INVALID_ARGUMENT);
    BAD_PORT(name, L"", DP_ERROR_INVALID_ARGUMENT);
    BAD_PORT(name, L"has space", DP_ERROR_INVALID_ARGUMENT);
    BAD_PORT(name, L"a/b", DP_ERROR_INVALID_ARGUMENT);
    BAD_PORT(name, L"Local\\x", DP_ERROR_INVALID_ARGUMENT);
    BAD_PORT(name, L"a234567890123456789012345678901234567890123456789012345678901234x", DP_ERROR_INVALID_ARGUMENT);
    BAD_PORT(width, 0, DP_ERROR_INVALID_ARGUMENT);
    BAD_PORT(height, 0, DP_ERROR_INVALID_ARGUMENT);
    BAD_PORT(width, 16385, DP_ERROR_INVALID_ARGUMENT);
    BAD_PORT(height, 0x80000000u, DP_ERROR_INVALID_ARGUMENT);
    BAD_PORT(format, (DP_FORMAT)9, DP_ERROR_INVALID_ARGUMENT);
    BAD_PORT(format, (DP_FORMAT)-1, DP_ERROR_INVALID_ARGUMENT);
    BAD_PORT(slots, 9, DP_ERROR_INVALID_ARGUMENT);
    BAD_PORT(transport, (DP_TRANSPORT)7, DP_ERROR_INVALID_ARGUMENT);
    BAD_PORT(flags, 0x100, DP_ERROR_INVALID_ARGUMENT);
    BAD_PORT(flags, DP_PORT_SYSTEM_RAM, DP_ERROR_UNSUPPORTED);
    BAD_PORT(flags, DP_PORT_SYSTEM_RAM | DP_PORT_ALL_USERS, DP_ERROR_UNSUPPORTED);
    BAD_PORT(sddl, L"this is not SDDL", DP_ERROR_INVALID_ARGUMENT);
#undef BAD_PORT
    ok(!dp11_open_port(NULL) && dp_last_error() == DP_ERROR_INVALID_ARGUMENT, "open_port(NULL)");
    ok(!dp11_open_port(L"bad name") && dp_last_error() == DP_ERROR_INVALID_ARGUMENT, "open_port with a bad name");
    ok(!dp11_open_port(L"Local\\x") && dp_last_error() == DP_ERROR_INVALID_ARGUMENT, "open_port with an NT name");
    ok(!dp11_open_port(L"nosuchport") && dp_last_error() == DP_ERROR_NOT_FOUND, "open_port of a missing port: %s",
       dp_result_string(dp_last_error()));

    /* Handles: NULL, never issued, a pointer, closed. */
    expect_bad_handle(NULL, "NULL", false);
    expect_bad_handle((DP_HANDLE)(uintptr_t)0x1234, "0x1234", false);
    expect_bad_handle((DP_HANDLE)&local, "a stack pointer", false);
    name_of(tex2, 96, "closed");
    name_of(fence2, 96, "closed.f");
    closed = dp11_create_shared_resource(8, 8, DP_FORMAT_VIDEO, tex2, fence2);
    ok(closed != NULL, "create: %s", dp_last_error_message());
    dp11_close(closed);
    expect_bad_handle(closed, "a closed handle", false);
    /* Double close of a consumer too. */
    h = dp11_open_shared_resource(tex, fence);
    dp11_close(h);
    dp11_close(h);
    ok(dp_last_error() == DP_ERROR_INVALID_ARGUMENT, "double close: %s", dp_result_string(dp_last_error()));
    ok(!dp_get_port_info(good, NULL) && dp_last_error() == DP_ERROR_INVALID_ARGUMENT, "info into NULL");

    /* The other core's handles, both ways; neither call may close the handle. */
    if (dp12_init()) {
        wchar_t tex12[96], fence12[96];
        DP_HANDLE h12;
        tu_gpu g;
        name_of(tex12, 96, "bad12");
        name_of(fence12, 96, "bad12.f");
        h12 = dp12_create_shared_resource(8, 8, DP_FORMAT_VIDEO, false, tex12, fence12);
        if (ok(h12 != NULL, "dp12 create: %s", dp_last_error_message())) {
            expect_bad_handle(h12, "a dp12 handle", true);
            ok(dp12_get_resource(h12) != NULL, "dp11_close closed a dp12 handle: %s", dp_last_error_message());
            /* A name taken by the other core is taken. */
            ok(!dp11_create_shared_resource(8, 8, DP_FORMAT_VIDEO, tex12, L"Local\\dptest.d3d11.other") &&
                   dp_last_error() == DP_ERROR_NAME_IN_USE,
               "a dp11 create over a dp12 port: %s", dp_result_string(dp_last_error()));
            dp12_close(h12);
        }
        if (ok(tu_gpu_init(&g), "queue")) {
            expect_not_dp12(good, g.queue);
            expect_not_dp12(reader, g.queue);
        }
        tu_gpu_free(&g);
        ok(dp11_get_texture(good) != NULL && dp11_get_texture(reader) != NULL, "dp12_close closed a dp11 handle");
        dp12_shutdown();
    } else {
        dptest_diag("no D3D12 device (%s): the other core's handles are not checked", dp_last_error_message());
    }

    /* A taken name fails and leaves the existing port as it was. */
    ok(!dp11_create_shared_resource(8, 8, DP_FORMAT_VIDEO, tex, L"Local\\dptest.d3d11.other") &&
           dp_last_error() == DP_ERROR_NAME_IN_USE, "second creator: %s", dp_result_string(dp_last_error()));
    port_name_of(port, 64, "dupe");
    d.name = port;
    d.width = d.height = 8;
    {
        DP_HANDLE first = dp11_create_port(&d);
        ok(first != NULL, "create_port: %s", dp_last_error_message());
        ok(!dp11_create_port(&d) && dp_last_error() == DP_ERROR_NAME_IN_USE, "second create_port: %s",
           dp_result_string(dp_last_error()));
        d.transport = DP_TRANSPORT_HOST;
        ok(!dp11_create_port(&d) && dp_last_error() == DP_ERROR_NAME_IN_USE, "second create_port, host transport");
        d.transport = DP_TRANSPORT_AUTO;
        dp11_close(first);
        first = dp11_create_port(&d);
        ok(first != NULL, "the name is not free after close: %s", dp_last_error_message());
        dp11_close(first);
    }

    /* None of the failures above touched the good port. */
    ok(write_frame(good, 12), "writing a frame");
    dp11_signal_fence(good, 12);
    r = dp11_cpu_wait_timeout(reader, 12, 10000);
    ok(r == DP_OK, "the good port stopped working: %s", dp_result_string(r));
    ok(bad_bytes(reader, 12) == 0, "the good port's frame differs");
    ok(dp11_cpu_wait_timeout(good, 12, 10000) == DP_OK && dp11_get_completed_value(good) == 12,
       "the good port's producer is at %llu", (unsigned long long)dp11_get_completed_value(good));

    dp11_close(reader);
    dp11_close(good);
    dp11_shutdown();
    /* After shutdown. */
    ok(!dp11_create_shared_resource(8, 8, DP_FORMAT_VIDEO, L"a", L"b") && dp_last_error() == DP_ERROR_NOT_INITIALIZED,
       "create after shutdown");
    ok(!dp11_create_port(&d) && dp_last_error() == DP_ERROR_NOT_INITIALIZED, "create_port after shutdown");
    ok(!dp11_open_shared_resource(tex, fence) && dp_last_error() == DP_ERROR_NOT_INITIALIZED, "open after shutdown");
    ok(!dp11_open_port(port) && dp_last_error() == DP_ERROR_NOT_INITIALIZED, "open_port after shutdown");
    ok(dp11_get_texture(good) == NULL && dp_last_error() == DP_ERROR_NOT_INITIALIZED, "texture after shutdown");
    dp11_close(good);
    ok(dp_last_error() == DP_ERROR_NOT_INITIALIZED, "close after shutdown: %s", dp_result_string(dp_last_error()));
    ok(dp11_cpu_wait_timeout(good, 1, 0) == DP_ERROR_NOT_INITIALIZED, "wait after shutdown");
}

static void cycle(int i)
{
    wchar_t tex[96], fence[96];
    DP_PORT_DESC d = {0};
    DP_HANDLE p, c = NULL;
    bool port = (i / 4) % 2 != 0;
    if (port) {
        port_name_of(tex, 96, "cycle");
        d.name = tex;
        d.width = d.height = 64;
        d.format = (DP_FORMAT)(i % 4);
        p = dp11_create_port(&d);
    } else {
        name_of(tex, 96, "cycle");
        name_of(fence, 96, "cycle.f");
        p = dp11_create_shared_resource(64, 64, (DP_FORMAT)(i % 4), tex, fence);
    }
    ok(p != NULL, "cycle %d: create: %s", i, dp_last_error_message());
    if (i % 4 == 0) {
        c = port ? dp11_open_port(tex) : dp11_open_shared_resource(tex, fence);
        ok(c != NULL, "cycle %d: open: %s", i, dp_last_error_message());
        dp11_close(c);
    }
    dp11_close(p);
}

DP_TEST(d3d11_create_close_cycles_leak_nothing)
{
    DP_STATS base, after;
    ULONG refs_warm, refs_end;
    wchar_t ctl[128], name[64];
    HANDLE section;
    if (!init11())
        skip("no D3D11 device: %s", dp_last_error_message());
    dp_get_stats(&base);
    for (int i = 0; i < 16; i++)
        cycle(i);
    refs_warm = device_refs(dp11_get_device());
    for (int i = 0; i < 500 && !dptest_failures(); i++)
        cycle(i);
    refs_end = device_refs(dp11_get_device());
    ok(refs_end == refs_warm, "device references %lu after warm-up, %lu after 500 cycles: a D3D11 object leaked",
       refs_warm, refs_end);
    dp_get_stats(&after);
    ok(after.kernel_objects == base.kernel_objects, "kernel objects %u before, %u after 500 cycles",
       base.kernel_objects, after.kernel_objects);
    ok(after.live_handles == base.live_handles && after.worker_threads == base.worker_threads,
       "handles %u (was %u), threads %u (was %u) left", after.live_handles, base.live_handles, after.worker_threads,
       base.worker_threads);
    /* And the ports' named objects are gone: both the legacy and the port kind. */
    name_of(ctl, 100, "cycle");
    wcscat(ctl, L".ctl");
    section = OpenFileMappingW(FILE_MAP_READ, FALSE, ctl);
    ok(section == NULL, "the control block %ls outlived every handle", ctl);
    if (section)
        CloseHandle(section);
    port_name_of(name, 64, "cycle");
    swprintf(ctl, 128, L"Local\\DirectPort.%ls.ctl", name);
    section = OpenFileMappingW(FILE_MAP_READ, FALSE, ctl);
    ok(section == NULL, "the control block %ls outlived every handle", ctl);
    if (section)
        CloseHandle(section);
    dp11_shutdown();
}
