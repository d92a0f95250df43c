/*
 * dpcases.c - the cases of test_d3d11.c and test_d3d12.c written once (see dpcases.h).
 */
#include "dpcases.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capabilities.h"
#include "dptest.h"

#define SKIP_WITHOUT_DEVICE(api)                                                                  \
    do {                                                                                         \
        if (!(api)->init())                                                                      \
            skip("no %s device: %s", (api)->name, dp_last_error_message());                      \
    } while (0)

/* ---- Lifecycle ------------------------------------------------------------------------------ */

void case_init_and_shutdown(const dpt_api *api)
{
    DP_STATS before, open_, after;
    void *device;
    wchar_t name[64];
    DP_PORT_DESC d = {0};
    DP_HANDLE prod, cons;
    ok(api->get_device() == NULL, "a device before init");
    if (!ok(api->init(), "%s init: %s", api->name, dp_last_error_message()))
        return;
    device = api->get_device();
    ok(device != NULL, "no device after init");
    ok(api->init(), "second init: %s", dp_last_error_message());
    ok(api->get_device() == device, "a second init changed the device");

    /* Shutdown closes what is still open. */
    dp_get_stats(&before);
    dpt_port_name(api, name, 64, "shut");
    d.name = name;
    d.width = d.height = 16;
    prod = api->create_port(&d);
    cons = api->open_port(name);
    ok(prod && cons, "create and open: %s", dp_last_error_message());
    dp_get_stats(&open_);
    ok(open_.live_handles == before.live_handles + 2, "live handles %u with two open, %u before",
       open_.live_handles, before.live_handles);
    api->shutdown();
    ok(api->get_device() == NULL, "a device after shutdown");
    dp_get_stats(&after);
    ok(after.live_handles == before.live_handles && after.kernel_objects == before.kernel_objects &&
           after.worker_threads == before.worker_threads,
       "shutdown left handles %u (was %u), kernel objects %u (was %u), threads %u (was %u)", after.live_handles,
       before.live_handles, after.kernel_objects, before.kernel_objects, after.worker_threads,
       before.worker_threads);
    api->shutdown();
    ok(api->get_device() == NULL, "a device after the second shutdown");
    /* The name is free again and the old handles stay dead after a new init. */
    if (ok(api->init(), "init after shutdown: %s", dp_last_error_message())) {
        ok(api->texture(prod) == NULL && dp_last_error() == DP_ERROR_INVALID_ARGUMENT, "a handle survived shutdown");
        prod = api->create_port(&d);
        ok(prod != NULL, "the name is not free after shutdown: %s", dp_last_error_message());
        api->close(prod);
        api->shutdown();
    }
}

DP_HANDLE case_adopt_device(const dpt_api *api, void *device)
{
    wchar_t name[64];
    DP_PORT_DESC d = {0};
    DP_HANDLE h;
    void *other;
    ok(api->init_with_device(device), "init_with_device: %s", dp_last_error_message());
    ok(api->get_device() == device, "the library does not use the host's device");
    ok(api->init_with_device(device), "adopting the same device twice fails: %s", dp_last_error_message());
    ok(api->init(), "init after adopting a device: %s", dp_last_error_message());
    ok(api->get_device() == device, "init replaced the host's device");
    other = api->create_device();
    /* vkd3d hands out one device per adapter, so another device may be the same one. */
    if (other && other != device)
        ok(!api->init_with_device(other) && dp_last_error() == DP_ERROR_INVALID_ARGUMENT,
           "a second, different device was accepted");
    ok(api->get_device() == device, "the device changed");
    if (other)
        api->release_device(other);

    /* A port on the adopted device. */
    dpt_port_name(api, name, 64, "host");
    d.name = name;
    d.width = d.height = 16;
    h = api->create_port(&d);
    if (ok(h != NULL, "create on the host's device: %s", dp_last_error_message())) {
        dpt_texture_desc desc;
        ok(api->texture_desc(api->texture(h), &desc) && desc.device == device,
           "the port's texture is not on the host's device");
        ok(desc.width == 16 && desc.height == 16, "texture %ux%u", desc.width, desc.height);
    }
    return h;
}

void case_device_given_back(const dpt_api *api, void *device, unsigned long refs_before)
{
    unsigned long refs;
    ok(api->get_device() == NULL, "a device after shutdown");
    refs = api->device_refs(device);
    ok(refs == refs_before, "the host's device has %lu references after shutdown, %lu before adoption", refs,
       refs_before);
    api->release_device(device);
}

/* ---- Creation and transports ------------------------------------------------------------------ */

/* A legacy 33x17 producer of format f as its core and an opener see it. */
static void check_format_port(const dpt_api *api, DP_HANDLE h, DP_FORMAT f, bool system_ram, const wchar_t *tex,
                              const wchar_t *fence)
{
    DP_PORT_INFO info, cinfo;
    dpt_texture_desc desc;
    DP_HANDLE c;
    int fi = (int)f;
    ok(dp_get_port_info(h, &info), "dp_get_port_info: %s", dp_last_error_message());
    ok(info.width == 33 && info.height == 17 && info.format == f, "format %d: info %ux%u format %d", fi, info.width,
       info.height, (int)info.format);
    ok(info.transport == DP_TRANSPORT_GPU || info.transport == DP_TRANSPORT_HOST, "transport %d",
       (int)info.transport);
    ok(info.transport == dp_get_transport(h), "info transport %d, dp_get_transport %d", (int)info.transport,
       (int)dp_get_transport(h));
    ok(info.is_producer && info.slots == 1 && info.flags == (system_ram ? DP_PORT_SYSTEM_RAM : 0u),
       "producer %d slots %u flags %#x", info.is_producer, info.slots, info.flags);
    ok(info.producer_pid == GetCurrentProcessId(), "producer pid %u", info.producer_pid);
    ok(wcscmp(info.name, tex) == 0, "name %ls", info.name);
    ok(info.row_pitch % 256 == 0 && info.row_pitch >= 33 * dpt_bpp[fi], "row pitch %u", info.row_pitch);
    if (ok(api->texture(h) != NULL, "no texture: %s", dp_last_error_message())) {
        api->texture_desc(api->texture(h), &desc);
        ok(desc.format == dpt_dxgi[fi] && desc.width == 33 && desc.height == 17, "texture format %d size %ux%u",
           (int)desc.format, desc.width, desc.height);
        ok(desc.mips == 1 && desc.array == 1 && desc.samples == 1, "texture mips %u array %u samples %u", desc.mips,
           desc.array, desc.samples);
    }
    ok(api->completed(h) == 0, "fresh port at %llu", (unsigned long long)api->completed(h));
    /* An opener sees the same port. */
    c = api->open_legacy(tex, fence);
    if (ok(c != NULL, "open format %d: %s", fi, dp_last_error_message())) {
        ok(dp_get_port_info(c, &cinfo) && cinfo.width == 33 && cinfo.height == 17 && cinfo.format == f &&
               cinfo.transport == info.transport && !cinfo.is_producer && cinfo.row_pitch == info.row_pitch,
           "opener's info %ux%u format %d transport %d producer %d pitch %u", cinfo.width, cinfo.height,
           (int)cinfo.format, (int)cinfo.transport, cinfo.is_producer, cinfo.row_pitch);
        api->texture_desc(api->texture(c), &desc);
        ok(desc.format == dpt_dxgi[fi] && desc.width == 33 && desc.height == 17, "opener's texture format %d %ux%u",
           (int)desc.format, desc.width, desc.height);
        api->close(c);
    }
}

void case_create_each_format(const dpt_api *api, void (*extra)(DP_HANDLE h, DP_FORMAT format, bool system_ram))
{
    SKIP_WITHOUT_DEVICE(api);
    for (int f = 0; f < DPT_FORMATS; f++) {
        for (int sys = 0; sys <= (api->system_ram ? 1 : 0); sys++) {
            wchar_t tex[96], fence[96];
            char what[32];
            DP_HANDLE h;
            snprintf(what, sizeof(what), "fmt%d.sys%d", f, sys);
            dpt_nt_name(api, tex, 96, what);
            swprintf(fence, 96, L"%ls.f", tex);
            h = api->create_legacy(33, 17, (DP_FORMAT)f, sys != 0, tex, fence);
            if (!ok(h != NULL, "create format %d system_ram %d: %s", f, sys, dp_last_error_message()))
                continue;
            check_format_port(api, h, (DP_FORMAT)f, sys != 0, tex, fence);
            if (extra)
                extra(h, (DP_FORMAT)f, sys != 0);
            api->close(h);
        }
    }
    api->shutdown();
}

void case_gpu_transport_where_supported(const dpt_api *api, case_port_hook extra)
{
    DP_PORT_DESC d = {0};
    DP_STATS before, after;
    DP_HANDLE h, c;
    wchar_t name[64];
    const char *msg;
    bool named = false;
    SKIP_WITHOUT_DEVICE(api);
    dpt_port_name(api, name, 64, "gpu");
    d.name = name;
    d.width = 64;
    d.height = 64;
    d.transport = DP_TRANSPORT_GPU;
    dp_get_stats(&before);
    h = api->create_port(&d);
    if (h) {
        ok(dp_get_transport(h) == DP_TRANSPORT_GPU, "transport %d", (int)dp_get_transport(h));
        if (extra)
            extra(h);
        c = api->open_port(name);
        ok(c && dp_get_transport(c) == DP_TRANSPORT_GPU, "opening a GPU port: %s", dp_last_error_message());
        api->close(c);
        api->close(h);
    } else {
        /* The driver or device cannot share: the refusal must be clean and say why. */
        ok(dp_last_error() == DP_ERROR_UNSUPPORTED, "GPU transport refused with %s",
           dp_result_string(dp_last_error()));
        msg = dp_last_error_message();
        for (const char *const *word = api->share_words; *word; word++)
            named = named || strstr(msg, *word) != NULL;
        ok(named, "the message does not say what is missing: %s", msg);
        dptest_diag("%s", msg);
        dp_get_stats(&after);
        ok(after.kernel_objects == before.kernel_objects && after.live_handles == before.live_handles,
           "the refused create kept %u kernel objects", after.kernel_objects - before.kernel_objects);
        d.transport = DP_TRANSPORT_AUTO;
        h = api->create_port(&d);
        ok(h && dp_get_transport(h) == DP_TRANSPORT_HOST, "AUTO did not fall back to the host transport: %s",
           dp_last_error_message());
        if (h && extra)
            extra(h);
        api->close(h);
    }
    /* The host transport works everywhere. */
    d.transport = DP_TRANSPORT_HOST;
    h = api->create_port(&d);
    ok(h && dp_get_transport(h) == DP_TRANSPORT_HOST, "explicit host transport: %s", dp_last_error_message());
    if (h && extra)
        extra(h);
    api->close(h);
    api->shutdown();
}

/* ---- Fences ------------------------------------------------------------------------------------ */

/* One frame through a port in this process, on format f. */
static void local_frame(const dpt_api *api, dpt_gpu *g, DP_FORMAT f)
{
    DP_PORT_DESC d = {0};
    DP_HANDLE prod, cons;
    wchar_t name[64];
    char what[32];
    uint64_t bad;
    DP_RESULT r;
    int fi = (int)f;
    snprintf(what, sizeof(what), "local%d", fi);
    dpt_port_name(api, name, 64, what);
    d.name = name;
    d.width = 37;
    d.height = 11;
    d.format = f;
    prod = api->create_port(&d);
    cons = api->open_port(name);
    if (ok(prod && cons, "format %d: create and open: %s", fi, dp_last_error_message())) {
        ok(dpt_write_frame(api, g, prod, 21), "format %d: writing the frame", fi);
        ok(api->signal(g, prod, 21), "format %d: signal: %s", fi, dp_last_error_message());
        r = api->cpu_wait(cons, 21, 10000);
        ok(r == DP_OK, "format %d: wait gave %s", fi, dp_result_string(r));
        bad = dpt_bad_bytes(api, g, cons, 21);
        ok(bad == 0, "format %d: %llu of %u bytes differ from the producer's frame", fi, (unsigned long long)bad,
           37 * 11 * dpt_bpp[fi]);
    }
    api->close(cons);
    api->close(prod);
}

void case_fence_signal_wait_timeout(const dpt_api *api)
{
    DP_PORT_DESC d = {0};
    DP_PORT_INFO info;
    DP_HANDLE prod = NULL, cons = NULL;
    dpt_gpu g;
    wchar_t name[64];
    uint64_t bad;
    DP_RESULT r;
    SKIP_WITHOUT_DEVICE(api);
    if (!ok(api->gpu_init(&g), "queue")) {
        api->gpu_free(&g);
        api->shutdown();
        return;
    }
    dpt_port_name(api, name, 64, "sig");
    d.name = name;
    d.width = 67;
    d.height = 45;
    prod = api->create_port(&d);
    if (!ok(prod != NULL, "create: %s", dp_last_error_message()))
        goto done;
    cons = api->open_port(name);
    if (!ok(cons != NULL, "open: %s", dp_last_error_message()))
        goto done;
    ok(api->texture(cons) && api->texture(cons) != api->texture(prod), "the consumer has no texture of its own");
    ok(api->completed(cons) == 0 && api->completed(prod) == 0, "fresh fences at %llu / %llu",
       (unsigned long long)api->completed(prod), (unsigned long long)api->completed(cons));
    ok(api->cpu_wait(cons, 0, 0) == DP_OK, "waiting for 0");

    /* A frame: the pattern, then the signal. */
    ok(dpt_write_frame(api, &g, prod, 3), "writing the frame");
    ok(api->signal(&g, prod, 3), "signal: %s", dp_last_error_message());
    r = api->cpu_wait(cons, 3, 10000);
    ok(r == DP_OK, "the consumer's wait gave %s: %s", dp_result_string(r), dp_last_error_message());
    ok(api->completed(cons) >= 3, "consumer completed %llu after the wait", (unsigned long long)api->completed(cons));
    r = api->cpu_wait(prod, 3, 10000);
    ok(r == DP_OK, "the producer's wait gave %s", dp_result_string(r));
    ok(api->completed(prod) == 3, "producer completed %llu", (unsigned long long)api->completed(prod));
    ok(dp_get_port_info(cons, &info) && info.last_frame == 3, "last frame %llu", (unsigned long long)info.last_frame);
    bad = dpt_bad_bytes(api, &g, cons, 3);
    ok(bad == 0, "%llu of %u bytes differ from the producer's frame", (unsigned long long)bad, 67 * 45 * 4);
    api->wait_fence(cons, 3);

    /* A value nobody signals. */
    r = api->cpu_wait(cons, 4, 100);
    ok(r == DP_ERROR_TIMEOUT, "a value nobody signals gave %s on the consumer", dp_result_string(r));
    ok(dp_last_error() == DP_ERROR_TIMEOUT, "last error %s", dp_result_string(dp_last_error()));
    r = api->cpu_wait(prod, 4, 100);
    ok(r == DP_ERROR_TIMEOUT, "a value nobody signals gave %s on the producer", dp_result_string(r));
    ok(api->completed(cons) == 3, "consumer completed %llu after a timeout", (unsigned long long)api->completed(cons));
    api->wait_fence(cons, 3);
    ok(dp_last_error() == DP_ERROR_TIMEOUT, "a successful call changed the last error");
    if (api->refuses_consumer_signal && dp_get_transport(cons) == DP_TRANSPORT_HOST) {
        api->signal(&g, cons, 99);
        ok(dp_last_error() == DP_ERROR_UNSUPPORTED, "a host consumer signalled: %s", dp_result_string(dp_last_error()));
        ok(api->completed(cons) == 3, "the consumer's signal moved it to %llu", (unsigned long long)api->completed(cons));
    }

    /* A burst without waits: the last frame arrives whole. */
    for (uint64_t v = 10; v <= 49; v++) {
        dpt_write_frame(api, &g, prod, v);
        api->signal(&g, prod, v);
    }
    r = api->cpu_wait(cons, 49, 10000);
    ok(r == DP_OK, "the burst's last frame: %s", dp_result_string(r));
    ok(api->completed(cons) == 49, "consumer completed %llu", (unsigned long long)api->completed(cons));
    bad = dpt_bad_bytes(api, &g, cons, 49);
    ok(bad == 0, "%llu bytes of the burst's last frame differ", (unsigned long long)bad);
done:
    api->close(cons);
    api->close(prod);
    /* Every format's bytes, exactly. */
    for (int f = 0; f < DPT_FORMATS; f++)
        local_frame(api, &g, (DP_FORMAT)f);
    api->gpu_free(&g);
    api->shutdown();
}

/* ---- Cross-process and cross-core frames ------------------------------------------------------- */

/* argv: role core tex fence value mode wait -> opens with that core (mode legacy: by the
 * two names; port: by port name), waits (wait gpu: the core's GPU-side wait; cpu:
 * cpu_wait), reads its texture back and checks frame `value`'s pattern. */
DP_CHILD(frame_consumer)
{
    const dpt_api *api;
    DP_HANDLE h;
    DP_PORT_INFO info = {0};
    dpt_gpu g;
    uint64_t value, bad;
    if (argc < 7 || !(api = dpt_api_named(argv[1])) || !api->init())
        return 2;
    value = wcstoull(argv[4], NULL, 10);
    h = wcscmp(argv[5], L"port") ? api->open_legacy(argv[2], argv[3]) : api->open_port(argv[2]);
    if (!ok(h != NULL, "open %ls: %s", argv[2], dp_last_error_message()) || !ok(api->gpu_init(&g), "queue"))
        return 1;
    if (wcscmp(argv[6], L"gpu") == 0) {
        /* GPU-side: the CPU goes on, the read below runs once the frame is there. */
        api->gpu_wait(&g, h, value);
        if (api->completed_after_gpu_wait)
            ok(api->completed(h) >= value, "completed %llu < %llu after the wait",
               (unsigned long long)api->completed(h), (unsigned long long)value);
    } else {
        DP_RESULT r = api->cpu_wait(h, value, 10000);
        ok(r == DP_OK, "wait: %s", dp_last_error_message());
    }
    ok(dp_get_port_info(h, &info) && !info.is_producer, "an opener reports itself as producer");
    bad = dpt_bad_bytes(api, &g, h, value);
    ok(bad == 0, "%llu of %u bytes differ from what the producer wrote", (unsigned long long)bad,
       info.width * info.height * dpt_bpp[(unsigned)info.format % DPT_FORMATS]);
    /* vkd3d moves a fence's completed value a moment after the GPU passes it: wait for
     * the value rather than read it. */
    ok(api->cpu_wait(h, value, 10000) == DP_OK, "the consumer's fence did not reach %llu: %s",
       (unsigned long long)value, dp_last_error_message());
    ok(api->completed(h) >= value, "completed %llu < %llu", (unsigned long long)api->completed(h),
       (unsigned long long)value);
    api->gpu_free(&g);
    api->close(h);
    api->shutdown();
    return dptest_failures() ? 1 : 0;
}

void case_cross_process_frame(const dpt_api *prod, const dpt_api *cons, const char *what, bool port,
                              DP_TRANSPORT transport, const char *wait)
{
    wchar_t tex[96], fence[96];
    DP_PORT_DESC d = {0};
    DP_HANDLE h;
    dpt_gpu g;
    dptest_child c;
    DWORD code = 99;
    bool exited;
    if (transport == DP_TRANSPORT_GPU) {
        DPT_REQUIRE_GPU(prod->name);
        DPT_REQUIRE_GPU(cons->name);
    }
    SKIP_WITHOUT_DEVICE(prod);
    memset(&g, 0, sizeof(g));
    if (port)
        dpt_port_name(prod, tex, 96, what);
    else
        dpt_nt_name(prod, tex, 96, what);
    swprintf(fence, 96, L"%ls.fence", tex);
    if (port) {
        d.name = tex;
        d.width = 200;
        d.height = 120;
        d.transport = transport;
        h = prod->create_port(&d);
    } else {
        h = prod->create_legacy(200, 120, DP_FORMAT_VIDEO, false, tex, fence);
    }
    if (ok(h != NULL, "%s create: %s", prod->name, dp_last_error_message()) && ok(prod->gpu_init(&g), "queue")) {
        /* The producer's frames: GPU work into the port's texture, then the signal after
         * it; nothing waits on the CPU. */
        ok(dpt_write_frame(prod, &g, h, 76), "writing frame 76");
        ok(prod->signal(&g, h, 76), "signal: %s", dp_last_error_message());
        ok(dpt_write_frame(prod, &g, h, 77), "writing frame 77");
        ok(prod->signal(&g, h, 77), "signal: %s", dp_last_error_message());
        c = dptest_spawn(L"frame_consumer %hs \"%ls\" \"%ls\" 77 %ls %hs", cons->name, tex, fence,
                         port ? L"port" : L"legacy", wait);
        /* Waited for before ok() is called: its arguments, code among them, are evaluated
         * in no set order. */
        exited = dptest_wait_child(&c, 60000, &code);
        ok(exited && code == 0, "%s consumer process (%s, %s wait) exit code %lu", cons->name,
           port ? "port" : "legacy", wait, code);
    }
    prod->gpu_free(&g);
    prod->close(h);
    prod->shutdown();
}

/* argv: role core name value go-event -> writes and publishes frame value on a 40x24
 * port, waits for go, exits without closing. */
DP_CHILD(exiting_producer)
{
    const dpt_api *api;
    DP_PORT_DESC d = {0};
    DP_HANDLE h;
    dpt_gpu g;
    HANDLE go;
    uint64_t value;
    if (argc < 5 || !(api = dpt_api_named(argv[1])) || !api->init() || !api->gpu_init(&g))
        return 2;
    value = wcstoull(argv[3], NULL, 10);
    d.name = argv[2];
    d.width = 40;
    d.height = 24;
    h = api->create_port(&d);
    if (!ok(h != NULL, "create: %s", dp_last_error_message()))
        return 1;
    ok(dpt_write_frame(api, &g, h, value), "writing the frame");
    ok(api->signal(&g, h, value), "signal: %s", dp_last_error_message());
    ok(api->cpu_wait(h, value, 10000) == DP_OK, "publishing %llu: %s", (unsigned long long)value,
       dp_last_error_message());
    go = OpenEventW(SYNCHRONIZE, FALSE, argv[4]);
    ok(go && WaitForSingleObject(go, 30000) == WAIT_OBJECT_0, "no go from the parent");
    /* Exit without closing: a crashed producer looks the same to its consumers. */
    ExitProcess(dptest_failures() ? 1 : 0);
}

void case_producer_exit_disconnects(const dpt_api *api)
{
    wchar_t name[64], go_name[96];
    HANDLE go;
    DP_HANDLE h = NULL;
    dpt_gpu g;
    dptest_child c;
    DWORD code = 99;
    bool exited;
    ULONGLONG start;
    DP_RESULT r;
    uint64_t bad;
    SKIP_WITHOUT_DEVICE(api);
    if (!ok(api->gpu_init(&g), "queue")) {
        api->gpu_free(&g);
        api->shutdown();
        return;
    }
    dpt_port_name(api, name, 64, "exit");
    dpt_nt_name(api, go_name, 96, "go");
    go = CreateEventW(NULL, TRUE, FALSE, go_name);
    c = dptest_spawn(L"exiting_producer %hs %ls 5 \"%ls\"", api->name, name, go_name);
    for (start = GetTickCount64(); !h && GetTickCount64() - start < 20000; Sleep(20))
        h = api->open_port(name);
    if (ok(h != NULL, "open: %s", dp_last_error_message())) {
        r = api->cpu_wait(h, 5, 10000);
        ok(r == DP_OK, "the published value did not arrive: %s", dp_last_error_message());
        bad = dpt_bad_bytes(api, &g, h, 5);
        ok(bad == 0, "%llu bytes of the published frame differ", (unsigned long long)bad);
        SetEvent(go);
        start = GetTickCount64();
        r = api->cpu_wait(h, 6, 20000);
        ok(r == DP_ERROR_DISCONNECTED, "waiting on an exited producer gave %s", dp_result_string(r));
        dptest_diag("the disconnect took %llu ms", (unsigned long long)(GetTickCount64() - start));
        ok(api->cpu_wait(h, 5, 0) == DP_OK, "the frame published before the exit is gone");
        api->wait_fence(h, 7);
        ok(dp_last_error() == DP_ERROR_DISCONNECTED, "wait_fence on an exited producer: %s",
           dp_result_string(dp_last_error()));
        ok(api->completed(h) == 5, "completed %llu", (unsigned long long)api->completed(h));
        bad = dpt_bad_bytes(api, &g, h, 5);
        ok(bad == 0, "%llu bytes of the last frame differ after the disconnect", (unsigned long long)bad);
        api->close(h);
    }
    SetEvent(go);
    exited = dptest_wait_child(&c, 30000, &code);
    ok(exited && code == 0, "producer exit code %lu", code);
    CloseHandle(go);
    api->gpu_free(&g);
    api->shutdown();
}

/* ---- Validation ------------------------------------------------------------------------------- */

/* Writes `size` bytes from fill into a section named like a port's control block, and
 * checks that opening it fails cleanly. */
static void open_bad_block(const dpt_api *api, const void *fill, size_t size, const char *what)
{
    wchar_t name[64], ctl[128];
    HANDLE section;
    void *view;
    DP_HANDLE h;
    DP_STATS before, after;
    dpt_port_name(api, name, 64, "garbage");
    swprintf(ctl, 128, L"Local\\DirectPort.%ls.ctl", name);
    section = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, (DWORD)size, ctl);
    view = MapViewOfFile(section, FILE_MAP_WRITE, 0, 0, size);
    if (!ok(view != NULL, "making the section"))
        return;
    memcpy(view, fill, size);
    dp_get_stats(&before);
    h = api->open_port(name);
    ok(!h && dp_last_error() == DP_ERROR_INCOMPATIBLE, "%s: open gave %p, %s (%s)", what, h,
       dp_result_string(dp_last_error()), dp_last_error_message());
    dp_get_stats(&after);
    ok(after.kernel_objects == before.kernel_objects && after.live_handles == before.live_handles,
       "%s: a failed open kept %u kernel objects", what, after.kernel_objects - before.kernel_objects);
    api->close(h);
    UnmapViewOfFile(view);
    CloseHandle(section);
}

void case_open_rejects_garbage_control_block(const dpt_api *api)
{
    uint8_t garbage[4096];
    uint64_t magic = 0x424354524f505044ull;
    uint32_t version = 1;
    SKIP_WITHOUT_DEVICE(api);
    srand(1234);
    for (size_t i = 0; i < sizeof(garbage); i++)
        garbage[i] = (uint8_t)rand();
    open_bad_block(api, garbage, sizeof(garbage), "random bytes");
    /* A right magic and version with nonsense behind them. */
    memcpy(garbage, &magic, 8);
    memcpy(garbage + 8, &version, 4);
    open_bad_block(api, garbage, sizeof(garbage), "valid header, random fields");
    api->shutdown();
}

/* The other core's handles given to api's calls, and api's (good, reader) to the other's;
 * no call may close a handle of the other core. */
static void check_other_core(const dpt_api *api, dpt_gpu *g, DP_HANDLE good, DP_HANDLE reader)
{
    const dpt_api *other = api->other;
    wchar_t tex[96], fence[96], fence2[96];
    char what[32];
    DP_HANDLE h;
    dpt_gpu og;
    if (!other->init()) {
        dptest_diag("no %s device (%s): the other core's handles are not checked", other->name,
                    dp_last_error_message());
        return;
    }
    memset(&og, 0, sizeof(og));
    dpt_nt_name(other, tex, 96, "bad.other");
    dpt_nt_name(other, fence, 96, "bad.other.f");
    h = other->create_legacy(8, 8, DP_FORMAT_VIDEO, false, tex, fence);
    if (ok(h != NULL, "%s create: %s", other->name, dp_last_error_message())) {
        snprintf(what, sizeof(what), "a %s handle", other->name);
        api->expect_bad_handle(g, h, what, true);
        ok(other->texture(h) != NULL, "a %s call closed a %s handle: %s", api->name, other->name,
           dp_last_error_message());
        /* A name taken by the other core is taken. */
        dpt_nt_name(api, fence2, 96, "other");
        ok(!api->create_legacy(8, 8, DP_FORMAT_VIDEO, false, tex, fence2) && dp_last_error() == DP_ERROR_NAME_IN_USE,
           "a %s create over a %s port: %s", api->name, other->name, dp_result_string(dp_last_error()));
        other->close(h);
    }
    if (ok(other->gpu_init(&og), "%s queue", other->name)) {
        snprintf(what, sizeof(what), "a %s handle", api->name);
        other->expect_bad_handle(&og, good, what, true);
        other->expect_bad_handle(&og, reader, what, true);
    }
    other->gpu_free(&og);
    ok(api->texture(good) != NULL && api->texture(reader) != NULL, "a %s call closed a %s handle", other->name,
       api->name);
    other->shutdown();
}

void case_bad_arguments(const dpt_api *api, void (*extra)(DP_HANDLE good, dpt_gpu *g))
{
    wchar_t tex[96], fence[96], tex2[96], fence2[96], long_name[300], max_name[256], port[64];
    DP_PORT_DESC d = {0};
    DP_HANDLE good, reader, closed, h;
    dpt_gpu g;
    DP_RESULT r;
    int local = 0;

    /* Before init. */
    ok(!api->create_legacy(8, 8, DP_FORMAT_VIDEO, false, L"a", L"b") && dp_last_error() == DP_ERROR_NOT_INITIALIZED,
       "create before init: %s", dp_result_string(dp_last_error()));
    d.name = L"a";
    d.width = d.height = 8;
    ok(!api->create_port(&d) && dp_last_error() == DP_ERROR_NOT_INITIALIZED, "create_port before init");
    ok(!api->open_legacy(L"a", L"b") && dp_last_error() == DP_ERROR_NOT_INITIALIZED, "open before init");
    ok(!api->open_port(L"a") && dp_last_error() == DP_ERROR_NOT_INITIALIZED, "open_port before init");
    ok(api->completed((DP_HANDLE)&local) == 0 && dp_last_error() == DP_ERROR_NOT_INITIALIZED,
       "completed value before init");
    api->close(NULL);
    ok(dp_last_error() == DP_ERROR_NOT_INITIALIZED, "close before init: %s", dp_result_string(dp_last_error()));
    ok(!api->init_with_device(NULL) && dp_last_error() == DP_ERROR_INVALID_ARGUMENT, "init with NULL device");

    SKIP_WITHOUT_DEVICE(api);
    memset(&g, 0, sizeof(g));
    dpt_nt_name(api, tex, 96, "bad");
    dpt_nt_name(api, fence, 96, "bad.f");
    good = api->create_legacy(8, 8, DP_FORMAT_VIDEO, false, tex, fence);
    reader = api->open_legacy(tex, fence);
    if (!ok(good && reader, "create and open: %s", dp_last_error_message()) || !ok(api->gpu_init(&g), "queue")) {
        api->gpu_free(&g);
        api->close(reader);
        api->close(good);
        api->shutdown();
        return;
    }

#define BAD_CREATE(w, h, f, t, fe, why)                                                                     \
    ok(!api->create_legacy(w, h, f, false, t, fe) && dp_last_error() == DP_ERROR_INVALID_ARGUMENT,          \
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
    BAD_CREATE(8, 8, (DP_FORMAT)DPT_FORMATS, L"t", L"f", "the first format past the table");
    BAD_CREATE(8, 8, (DP_FORMAT)-1, L"t", L"f", "format -1");
#undef BAD_CREATE
    /* The longest name there may be works. */
    swprintf(max_name, 256, L"Local\\dptest.%lu.%hs.", (unsigned long)GetCurrentProcessId(), api->name);
    for (size_t i = wcslen(max_name); i < 255; i++)
        max_name[i] = L'm';
    max_name[255] = 0;
    dpt_nt_name(api, fence2, 96, "max.f");
    h = api->create_legacy(8, 8, DP_FORMAT_VIDEO, false, max_name, fence2);
    ok(h != NULL, "create with a 255-character name: %s", dp_last_error_message());
    api->close(h);
    ok(!api->open_legacy(NULL, fence) && dp_last_error() == DP_ERROR_INVALID_ARGUMENT, "open NULL name");
    ok(!api->open_legacy(tex, NULL) && dp_last_error() == DP_ERROR_INVALID_ARGUMENT, "open NULL fence name");
    ok(!api->open_legacy(tex, tex) && dp_last_error() == DP_ERROR_INVALID_ARGUMENT, "open with one name");
    ok(!api->open_legacy(L"Local\\dptest.nothing", L"Local\\dptest.nothing.f") &&
           dp_last_error() == DP_ERROR_NOT_FOUND, "open of a missing port: %s", dp_result_string(dp_last_error()));

#define BAD_PORT(field, value, expected)                                                                     \
    do {                                                                                                     \
        DP_PORT_DESC b = {L"badport", 8, 8, DP_FORMAT_VIDEO, 0, DP_TRANSPORT_AUTO, 0, NULL};                  \
        b.field = value;                                                                                     \
        ok(!api->create_port(&b) && dp_last_error() == expected, "create_port with %s = %s: %s", #field,     \
           #value, dp_result_string(dp_last_error()));                                                       \
    } while (0)
    ok(!api->create_port(NULL) && dp_last_error() == DP_ERROR_INVALID_ARGUMENT, "create_port(NULL)");
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
    if (!api->system_ram) {
        /* A core without CPU-memory ports refuses them. */
        BAD_PORT(flags, DP_PORT_SYSTEM_RAM, DP_ERROR_UNSUPPORTED);
        BAD_PORT(flags, DP_PORT_SYSTEM_RAM | DP_PORT_ALL_USERS, DP_ERROR_UNSUPPORTED);
    }
    BAD_PORT(sddl, L"this is not SDDL", DP_ERROR_INVALID_ARGUMENT);
#undef BAD_PORT
    ok(!api->open_port(NULL) && dp_last_error() == DP_ERROR_INVALID_ARGUMENT, "open_port(NULL)");
    ok(!api->open_port(L"bad name") && dp_last_error() == DP_ERROR_INVALID_ARGUMENT, "open_port with a bad name");
    ok(!api->open_port(L"Local\\x") && dp_last_error() == DP_ERROR_INVALID_ARGUMENT, "open_port with an NT name");
    ok(!api->open_port(L"nosuchport") && dp_last_error() == DP_ERROR_NOT_FOUND, "open_port of a missing port: %s",
       dp_result_string(dp_last_error()));

    /* Handles: NULL, never issued, a pointer, closed. */
    api->expect_bad_handle(&g, NULL, "NULL", false);
    api->expect_bad_handle(&g, (DP_HANDLE)(uintptr_t)0x1234, "0x1234", false);
    api->expect_bad_handle(&g, (DP_HANDLE)&local, "a stack pointer", false);
    dpt_nt_name(api, tex2, 96, "closed");
    dpt_nt_name(api, fence2, 96, "closed.f");
    closed = api->create_legacy(8, 8, DP_FORMAT_VIDEO, false, tex2, fence2);
    ok(closed != NULL, "create: %s", dp_last_error_message());
    api->close(closed);
    api->expect_bad_handle(&g, closed, "a closed handle", false);
    /* Double close of a consumer too. */
    h = api->open_legacy(tex, fence);
    api->close(h);
    api->close(h);
    ok(dp_last_error() == DP_ERROR_INVALID_ARGUMENT, "double close: %s", dp_result_string(dp_last_error()));
    ok(!dp_get_port_info(good, NULL) && dp_last_error() == DP_ERROR_INVALID_ARGUMENT, "info into NULL");
    ok(!dp_get_stats(NULL) && dp_last_error() == DP_ERROR_INVALID_ARGUMENT, "stats into NULL");
    ok(strcmp(dp_result_string((DP_RESULT)99), "DP_RESULT(?)") == 0, "name of an unknown result");
    if (extra)
        extra(good, &g);
    check_other_core(api, &g, good, reader);

    /* A taken name fails and leaves the existing port as it was. */
    dpt_nt_name(api, fence2, 96, "other");
    ok(!api->create_legacy(8, 8, DP_FORMAT_VIDEO, false, tex, fence2) && dp_last_error() == DP_ERROR_NAME_IN_USE,
       "second creator: %s", dp_result_string(dp_last_error()));
    dpt_port_name(api, port, 64, "dupe");
    d.name = port;
    d.width = d.height = 8;
    {
        DP_HANDLE first = api->create_port(&d);
        ok(first != NULL, "create_port: %s", dp_last_error_message());
        ok(!api->create_port(&d) && dp_last_error() == DP_ERROR_NAME_IN_USE, "second create_port: %s",
           dp_result_string(dp_last_error()));
        d.transport = DP_TRANSPORT_HOST;
        ok(!api->create_port(&d) && dp_last_error() == DP_ERROR_NAME_IN_USE, "second create_port, host transport");
        d.transport = DP_TRANSPORT_AUTO;
        api->close(first);
        first = api->create_port(&d);
        ok(first != NULL, "the name is not free after close: %s", dp_last_error_message());
        api->close(first);
    }

    /* None of the failures above touched the good port. */
    ok(dpt_write_frame(api, &g, good, 12), "writing a frame");
    ok(api->signal(&g, good, 12), "signal: %s", dp_last_error_message());
    r = api->cpu_wait(reader, 12, 10000);
    ok(r == DP_OK, "the good port stopped working: %s", dp_result_string(r));
    ok(dpt_bad_bytes(api, &g, reader, 12) == 0, "the good port's frame differs");
    ok(api->cpu_wait(good, 12, 10000) == DP_OK && api->completed(good) == 12, "the good port's producer is at %llu",
       (unsigned long long)api->completed(good));

    api->gpu_free(&g);
    api->close(reader);
    api->close(good);
    api->shutdown();
    /* After shutdown. */
    ok(!api->create_legacy(8, 8, DP_FORMAT_VIDEO, false, L"a", L"b") && dp_last_error() == DP_ERROR_NOT_INITIALIZED,
       "create after shutdown");
    ok(!api->create_port(&d) && dp_last_error() == DP_ERROR_NOT_INITIALIZED, "create_port after shutdown");
    ok(!api->open_legacy(tex, fence) && dp_last_error() == DP_ERROR_NOT_INITIALIZED, "open after shutdown");
    ok(!api->open_port(port) && dp_last_error() == DP_ERROR_NOT_INITIALIZED, "open_port after shutdown");
    ok(api->texture(good) == NULL && dp_last_error() == DP_ERROR_NOT_INITIALIZED, "texture after shutdown");
    api->close(good);
    ok(dp_last_error() == DP_ERROR_NOT_INITIALIZED, "close after shutdown: %s", dp_result_string(dp_last_error()));
    ok(api->cpu_wait(good, 1, 0) == DP_ERROR_NOT_INITIALIZED, "wait after shutdown");
    /* Handles that shutdown closed stay dead after a new init. */
    if (api->init()) {
        ok(api->texture(good) == NULL && dp_last_error() == DP_ERROR_INVALID_ARGUMENT, "a handle survived shutdown");
        api->shutdown();
    }
}

/* ---- Leaks ------------------------------------------------------------------------------------- */

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

/* Cycle i: a legacy port or (every other four) a DP_PORT_DESC port, of format i % 4, in
 * system RAM on odd cycles where the core has it; every fourth is opened too. */
static void cycle(const dpt_api *api, int i)
{
    wchar_t tex[96], fence[96];
    DP_PORT_DESC d = {0};
    DP_HANDLE p, c;
    bool port = (i / 4) % 2 != 0;
    bool sys = api->system_ram && (i & 1) != 0;
    if (port) {
        dpt_port_name(api, tex, 96, "cycle");
        d.name = tex;
        d.width = d.height = 64;
        d.format = (DP_FORMAT)(i % 4);
        d.flags = sys ? DP_PORT_SYSTEM_RAM : 0u;
        p = api->create_port(&d);
    } else {
        dpt_nt_name(api, tex, 96, "cycle");
        dpt_nt_name(api, fence, 96, "cycle.f");
        p = api->create_legacy(64, 64, (DP_FORMAT)(i % 4), sys, tex, fence);
    }
    ok(p != NULL, "cycle %d: create: %s", i, dp_last_error_message());
    if (i % 4 == 0) {
        c = port ? api->open_port(tex) : api->open_legacy(tex, fence);
        ok(c != NULL, "cycle %d: open: %s", i, dp_last_error_message());
        api->close(c);
    }
    api->close(p);
}

/* Whether the control block section ctl is gone. */
static void check_gone(const wchar_t *ctl)
{
    HANDLE section = OpenFileMappingW(FILE_MAP_READ, FALSE, ctl);
    ok(section == NULL, "the control block %ls outlived every handle", ctl);
    if (section)
        CloseHandle(section);
}

void case_create_close_cycles(const dpt_api *api, int warm, int cycles)
{
    DP_STATS base, after;
    uint64_t mem_warm, mem_end;
    unsigned long refs_warm, refs_end;
    wchar_t ctl[128], name[64];
    SKIP_WITHOUT_DEVICE(api);
    dp_get_stats(&base);
    for (int i = 0; i < warm; i++)
        cycle(api, i);
    mem_warm = private_bytes();
    refs_warm = api->device_refs(api->get_device());
    for (int i = 0; i < cycles && !dptest_failures(); i++)
        cycle(api, i);
    mem_end = private_bytes();
    refs_end = api->device_refs(api->get_device());
    /* Every D3D child object holds a reference on its device, so the device's count
     * catches a leaked texture, fence or command list that memory counters cannot see
     * (the driver's memory lives outside the process's Windows heap under Wine). */
    ok(refs_end == refs_warm, "device references %lu after warm-up, %lu after %d cycles: a %s object leaked",
       refs_warm, refs_end, cycles, api->name);
    dp_get_stats(&after);
    ok(after.kernel_objects == base.kernel_objects, "kernel objects %u before, %u after %d cycles",
       base.kernel_objects, after.kernel_objects, cycles);
    ok(after.live_handles == base.live_handles && after.worker_threads == base.worker_threads &&
           after.worker_threads == 0,
       "handles %u (was %u), threads %u (was %u) left", after.live_handles, base.live_handles, after.worker_threads,
       base.worker_threads);
    /* Growth under 4 MiB: a leak of one slot (16 KiB here) or one thread stack per cycle
     * would be 8 MiB or more over 500 cycles. */
    ok(mem_warm > 0, "no committed private memory measured");
    ok(mem_end < mem_warm + 4 * 1024 * 1024, "private bytes grew from %llu to %llu over %d cycles",
       (unsigned long long)mem_warm, (unsigned long long)mem_end, cycles);
    dptest_diag("private bytes %llu after warm-up, %llu after %d cycles", (unsigned long long)mem_warm,
                (unsigned long long)mem_end, cycles);
    /* And the ports' named objects are gone: both the legacy and the port kind. */
    dpt_nt_name(api, ctl, 100, "cycle");
    wcscat(ctl, L".ctl");
    check_gone(ctl);
    dpt_port_name(api, name, 64, "cycle");
    swprintf(ctl, 128, L"Local\\DirectPort.%ls.ctl", name);
    check_gone(ctl);
    api->shutdown();
}
