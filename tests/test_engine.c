/*
 * test_engine.c - what the port engine decides once for every backend: getters set the
 * error before init, and a resize whose new generation cannot be built leaves the port
 * as it was (a transaction), on D3D12 and on D3D11.
 */
#include <windows.h>
#include <d3d11.h>
#include <d3d12.h>

#include <stdio.h>

#include "directport.h"
#include "dptest.h"

DP_TEST(engine_getters_set_the_error_before_init)
{
    dp12_shutdown();
    dp11_shutdown();
    ok(dp12_get_device() == NULL && dp_last_error() == DP_ERROR_NOT_INITIALIZED, "dp12_get_device: %s",
       dp_last_error_message());
    ok(dp11_get_device() == NULL && dp_last_error() == DP_ERROR_NOT_INITIALIZED, "dp11_get_device: %s",
       dp_last_error_message());
}

/* One API's calls, for the resize case below. */
typedef struct {
    const char *api;
    bool (*init)(void);
    void (*shutdown)(void);
    DP_HANDLE (*create_port)(const DP_PORT_DESC *desc);
    void (*close)(DP_HANDLE h);
    DP_RESULT (*resize_port)(DP_HANDLE h, uint32_t width, uint32_t height);
    bool (*begin_has_target)(DP_HANDLE h, DP_RESULT *out);
} engine_api;

static bool engine_begin12(DP_HANDLE h, DP_RESULT *out)
{
    ID3D12Resource *target = NULL;
    *out = dp12_begin_frame(h, &target);
    return target != NULL;
}

static bool engine_begin11(DP_HANDLE h, DP_RESULT *out)
{
    ID3D11Texture2D *target = NULL;
    *out = dp11_begin_frame(h, &target);
    return target != NULL;
}

static const engine_api engine_apis[] = {
    {"d3d12", dp12_init, dp12_shutdown, dp12_create_port, dp12_close, dp12_resize_port, engine_begin12},
    {"d3d11", dp11_init, dp11_shutdown, dp11_create_port, dp11_close, dp11_resize_port, engine_begin11},
};

/* The next generation's pixel section is squatted on, so its build fails with
 * NAME_IN_USE: the port must keep its size and its textures, a retry must fail again
 * rather than report success, and once the name is free the resize must work. */
static void engine_failed_resize(const engine_api *api)
{
    wchar_t name[64], squat_name[128];
    DP_PORT_DESC d = {0};
    DP_PORT_INFO info;
    DP_HANDLE h;
    HANDLE squat;
    DP_RESULT r;

    if (!api->init())
        skip("no %s device: %s", api->api, dp_last_error_message());
    swprintf(name, 64, L"engine.resize.%hs.%lu", api->api, (unsigned long)GetCurrentProcessId());
    d.name = name;
    d.width = 64;
    d.height = 48;
    d.transport = DP_TRANSPORT_HOST;
    h = api->create_port(&d);
    if (!ok(h != NULL, "%s create: %s", api->api, dp_last_error_message())) {
        api->shutdown();
        return;
    }
    ok(dp_get_port_info(h, &info) && info.generation == 0, "generation %u", info.generation);
    swprintf(squat_name, 128, L"Local\\DirectPort.%ls.px.%u", name, info.generation + 2);
    squat = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 4096, squat_name);
    ok(squat != NULL, "squatting %ls: %lu", squat_name, GetLastError());

    for (int attempt = 0; attempt < 2; attempt++) {
        r = api->resize_port(h, 128, 96);
        ok(r == DP_ERROR_NAME_IN_USE, "%s resize %d with the name taken: %s (%s)", api->api, attempt,
           dp_result_string(r), dp_last_error_message());
        ok(dp_get_port_info(h, &info) && info.width == 64 && info.height == 48 && info.generation == 0,
           "after a failed resize the port is %ux%u, generation %u", info.width, info.height, info.generation);
    }
    ok(api->begin_has_target(h, &r) && r == DP_OK, "%s begin_frame after a failed resize: %s or no target",
       api->api, dp_result_string(r));

    CloseHandle(squat);
    /* A frame is begun, and resize refuses between begin and end: start afresh. */
    api->close(h);
    h = api->create_port(&d);
    ok(h != NULL, "%s re-create: %s", api->api, dp_last_error_message());
    r = h ? api->resize_port(h, 128, 96) : DP_ERROR_INVALID_ARGUMENT;
    ok(r == DP_OK, "%s resize with the name free: %s (%s)", api->api, dp_result_string(r), dp_last_error_message());
    ok(h && dp_get_port_info(h, &info) && info.width == 128 && info.height == 96 && info.generation == 2,
       "after the resize the port is %ux%u, generation %u", info.width, info.height, info.generation);
    if (h)
        api->close(h);
    api->shutdown();
}

DP_TEST(engine_d3d12_failed_resize_leaves_the_port_as_it_was)
{
    engine_failed_resize(&engine_apis[0]);
}

DP_TEST(engine_d3d11_failed_resize_leaves_the_port_as_it_was)
{
    engine_failed_resize(&engine_apis[1]);
}

/* argv: role, the name of a section of 8 bytes the parent made. Creates this process's
 * first port and writes its handle value there. */
DP_CHILD(engine_first_handle)
{
    wchar_t port[64];
    DP_PORT_DESC d = {0};
    HANDLE section;
    uint64_t *value;
    DP_HANDLE h;
    if (argc < 2 || !dp12_init())
        return 2;
    swprintf(port, 64, L"engine.first.%lu", (unsigned long)GetCurrentProcessId());
    d.name = port;
    d.width = 8;
    d.height = 8;
    d.transport = DP_TRANSPORT_HOST;
    h = dp12_create_port(&d);
    section = OpenFileMappingW(FILE_MAP_WRITE, FALSE, argv[1]);
    value = section ? MapViewOfFile(section, FILE_MAP_WRITE, 0, 0, sizeof(*value)) : NULL;
    if (!ok(h && value, "port %p, section %p: %s", h, (void *)value, dp_last_error_message()))
        return 1;
    *value = (uint64_t)(uintptr_t)h;
    UnmapViewOfFile(value);
    CloseHandle(section);
    dp12_close(h);
    dp12_shutdown();
    return 0;
}

/* Two processes' first handles differ, so a value handed from one process to another
 * (or kept from an earlier run) is refused rather than taken for a port of its own. */
DP_TEST(engine_handles_differ_between_processes)
{
    uint64_t seen[2] = {0, 0};
    for (int i = 0; i < 2; i++) {
        wchar_t name[96];
        HANDLE section;
        uint64_t *value;
        dptest_child c;
        DWORD code = 1;
        swprintf(name, 96, L"Local\\dptest.engine.first.%lu.%d", (unsigned long)GetCurrentProcessId(), i);
        section = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 4096, name);
        value = section ? MapViewOfFile(section, FILE_MAP_READ, 0, 0, sizeof(*value)) : NULL;
        if (!ok(value != NULL, "section %ls: %lu", name, GetLastError()))
            return;
        c = dptest_spawn(L"engine_first_handle %ls", name);
        ok(dptest_wait_child(&c, 30000, &code) && code == 0, "child %d exit %lu", i, code);
        seen[i] = *value;
        UnmapViewOfFile(value);
        CloseHandle(section);
    }
    ok(seen[0] && seen[1] && seen[0] != seen[1], "both processes' first handle is 0x%llx / 0x%llx",
       (unsigned long long)seen[0], (unsigned long long)seen[1]);
}
