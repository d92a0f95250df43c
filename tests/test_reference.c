/*
 * test_reference.c - DirectPort as the reference's callers use it: built against
 * reference_api.h (the reference header's declarations, DP_EXPORT as dllexport, no D3D
 * header) instead of directport.h, linked with the import library, run across
 * processes. Pitch and DXGI format per format, dp12_wait_fence, the four extras of the
 * C# binding, dp12_upload_bgra under Global\ names, names of 255 characters.
 *
 * What a reference caller cannot see (the texture's DXGI format, the last error, the
 * device) is asked of refutil.c, which is built against directport.h.
 */
#include <windows.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reference_api.h"
#include "refutil.h"
#include "dptest.h"

/* Formats by value, as a caller of a newer header passes them: 0..3 are the
 * reference's, 4..7 this library's additions. */
#define REF_FORMATS 8
static const struct {
    uint32_t dxgi, bpp, pitch100; /* DXGI_FORMAT, bytes per pixel, mapped row pitch at width 100 */
    const char *name;
} ref_format[REF_FORMATS] = {
    {87, 4, 512, "VIDEO (B8G8R8A8_UNORM)"},
    {41, 4, 512, "FLOAT (R32_FLOAT)"},
    {54, 2, 256, "HALF (R16_FLOAT)"},
    {42, 4, 512, "RAW_32BIT (R32_UINT)"},
    {28, 4, 512, "RGBA8 (R8G8B8A8_UNORM)"},
    {10, 8, 1024, "RGBA16F (R16G16B16A16_FLOAT)"},
    {2, 16, 1792, "RGBA32F (R32G32B32A32_FLOAT)"},
    {24, 4, 512, "RGB10A2 (R10G10B10A2_UNORM)"},
};

/* Byte i of row y of frame `frame`: rows of different frames, rows and columns differ. */
static uint8_t ref_byte(uint64_t frame, uint32_t i, uint32_t y)
{
    return (uint8_t)(frame * 31u + i * 7u + y * 13u + (i >> 8) * 3u);
}

static void ref_fill(uint8_t *dst, uint32_t pitch, uint32_t row_bytes, uint32_t height, uint64_t frame)
{
    for (uint32_t y = 0; y < height; y++)
        for (uint32_t i = 0; i < row_bytes; i++)
            dst[(size_t)y * pitch + i] = ref_byte(frame, i, y);
}

/* Bytes that differ from frame's rows; the first one described in why. */
static uint64_t ref_count_bad(const uint8_t *src, uint32_t pitch, uint32_t row_bytes, uint32_t height,
                              uint64_t frame, char *why, size_t cap)
{
    uint64_t bad = 0;
    for (uint32_t y = 0; y < height; y++)
        for (uint32_t i = 0; i < row_bytes; i++)
            if (src[(size_t)y * pitch + i] != ref_byte(frame, i, y) && !bad++ && why)
                snprintf(why, cap, "first at row %u byte %u: %02x, expected %02x", y, i, src[(size_t)y * pitch + i],
                         ref_byte(frame, i, y));
    return bad;
}

static void ref_names(wchar_t *tex, wchar_t *fence, size_t cap, const wchar_t *ns, const char *what)
{
    swprintf(tex, cap, L"%ls\\dptest.ref.%lu.%hs", ns, (unsigned long)GetCurrentProcessId(), what);
    swprintf(fence, cap, L"%ls.fence", tex);
}

static void ref_wait(dptest_child *c, const char *what)
{
    DWORD code = 99;
    bool exited = dptest_wait_child(c, 60000, &code);
    ok(exited && code == 0, "%s: %s, exit code %lu", what, exited ? "exited" : "timed out", code);
}

/* ---- Formats: pitch and DXGI format ------------------------------------------------------ */

/* argv: role tex_prefix frame -> opens the REF_FORMATS system-RAM ports the parent made,
 * waits for frame, maps each and checks its pitch and bytes. */
DP_CHILD(ref_format_consumer)
{
    uint64_t frame;
    if (argc < 3 || !dp12_init())
        return 2;
    frame = wcstoull(argv[2], NULL, 10);
    for (uint32_t f = 0; f < REF_FORMATS; f++) {
        wchar_t tex[128], fence[160];
        uint32_t pitch = 0;
        uint8_t *ptr;
        char why[128] = "";
        DP_HANDLE h;
        swprintf(tex, 128, L"%ls.fmt%u", argv[1], f);
        swprintf(fence, 160, L"%ls.fence", tex);
        h = dp12_open_shared_resource(tex, fence);
        if (!ok(h != NULL, "open %s: %s", ref_format[f].name, ru_error_message()))
            continue;
        dp12_cpu_wait(h, frame);
        ptr = dp12_map_memory(h, &pitch);
        if (ok(ptr != NULL, "map %s: %s", ref_format[f].name, ru_error_message())) {
            uint64_t bad;
            ok(pitch == ref_format[f].pitch100, "%s: consumer's pitch %u, the reference's %u", ref_format[f].name, pitch,
               ref_format[f].pitch100);
            bad = ref_count_bad(ptr, pitch, 100 * ref_format[f].bpp, 3, frame, why, sizeof why);
            ok(bad == 0, "%s: %llu bytes differ; %s", ref_format[f].name, (unsigned long long)bad, why);
            dp12_unmap_memory(h);
        }
        dp12_close(h);
    }
    dp12_shutdown();
    return dptest_failures() ? 1 : 0;
}

DP_TEST(reference_formats_pitch_and_dxgi)
{
    DP_HANDLE port[REF_FORMATS][2] = {{NULL}};
    wchar_t prefix[96], fence[128];
    dptest_child c;
    if (!dp12_init())
        skip("no D3D12 device: %s", ru_error_message());
    ref_names(prefix, fence, 96, L"Local", "fmt");
    for (uint32_t f = 0; f < REF_FORMATS; f++) {
        for (int sys = 0; sys < 2; sys++) {
            wchar_t tex[128];
            uint32_t dxgi = 0, w = 0, h = 0, pitch = 0;
            bool row_major = false;
            uint8_t *ptr;
            swprintf(tex, 128, sys ? L"%ls.fmt%u" : L"%ls.gpu%u", prefix, f);
            swprintf(fence, 128, L"%ls.fence", tex);
            port[f][sys] = dp12_create_shared_resource(100, 3, (DP_FORMAT)f, sys != 0, tex, fence);
            if (!ok(port[f][sys] != NULL, "create %s system_ram %d: %s", ref_format[f].name, sys, ru_error_message()))
                continue;
            if (ok(ru_texture_desc(port[f][sys], &dxgi, &w, &h, &row_major), "no texture: %s", ru_error_message()))
                ok(dxgi == ref_format[f].dxgi && w == 100 && h == 3, "%s system_ram %d: the texture is DXGI format %u "
                   "%ux%u, expected %u 100x3", ref_format[f].name, sys, dxgi, w, h, ref_format[f].dxgi);
            if (!sys)
                continue;
            /* What the PowerShell binding does: rows of width x bpp bytes, pitch apart. */
            ptr = dp12_map_memory(port[f][sys], &pitch);
            if (!ok(ptr != NULL, "map %s: %s", ref_format[f].name, ru_error_message()))
                continue;
            ok(pitch == ref_format[f].pitch100, "%s: row pitch %u at width 100, the reference's is %u",
               ref_format[f].name, pitch, ref_format[f].pitch100);
            ref_fill(ptr, pitch, 100 * ref_format[f].bpp, 3, 5);
            dp12_unmap_memory(port[f][sys]);
            dp12_signal_fence(port[f][sys], 5);
        }
    }
    c = dptest_spawn(L"ref_format_consumer %ls 5", prefix);
    ref_wait(&c, "format consumer");
    for (uint32_t f = 0; f < REF_FORMATS; f++) {
        dp12_close(port[f][0]);
        dp12_close(port[f][1]);
    }
    dp12_shutdown();
}

/* ---- Names of 1..255 characters ---------------------------------------------------------- */

/* A name of exactly `len` characters: prefix, then the process id, then 'n's. */
static void ref_long_name(wchar_t *out, size_t len, const wchar_t *prefix, wchar_t last)
{
    size_t n = (size_t)swprintf(out, len + 1, L"%ls%lu.", prefix, (unsigned long)GetCurrentProcessId());
    while (n < len - 1)
        out[n++] = L'n';
    out[n++] = last;
    out[n] = 0;
}

/* argv: role tex fence frame -> opens by the names given, waits, maps, checks the bytes. */
DP_CHILD(ref_name_consumer)
{
    uint64_t frame;
    uint32_t pitch = 0;
    uint8_t *ptr;
    char why[128] = "";
    DP_HANDLE h;
    if (argc < 4 || !dp12_init())
        return 2;
    frame = wcstoull(argv[3], NULL, 10);
    h = dp12_open_shared_resource(argv[1], argv[2]);
    if (!ok(h != NULL, "open the %zu-character name: %s", wcslen(argv[1]), ru_error_message()))
        return 1;
    dp12_cpu_wait(h, frame);
    ptr = dp12_map_memory(h, &pitch);
    if (ok(ptr != NULL, "map: %s", ru_error_message())) {
        uint64_t bad = ref_count_bad(ptr, pitch, 16 * 4, 4, frame, why, sizeof why);
        ok(bad == 0, "%llu bytes differ; %s", (unsigned long long)bad, why);
        dp12_unmap_memory(h);
    }
    dp12_close(h);
    dp12_shutdown();
    return dptest_failures() ? 1 : 0;
}

/* A 255-character texture and fence name in namespace ns ("Local\\", "Global\\" or "")
 * carries a frame to another process. */
static void ref_name_255(const wchar_t *ns)
{
    wchar_t tex[256], fence[256], shown[300];
    uint32_t pitch = 0;
    uint8_t *ptr;
    dptest_child c;
    DP_HANDLE h;
    ref_long_name(tex, 255, ns, L't');
    ref_long_name(fence, 255, ns, L'f');
    h = dp12_create_shared_resource(16, 4, DP_FORMAT_VIDEO, true, tex, fence);
    if (!h && !wcscmp(ns, L"Global\\") && !strcmp(ru_error_name(), "DP_ERROR_ACCESS_DENIED")) {
        dptest_diag("no right to create Global\\ objects: %s", ru_error_message());
        return;
    }
    if (!ok(h != NULL, "create with 255-character names in \"%ls\": %s", ns, ru_error_message()))
        return;
    ok(ru_port_name(h, shown, 300) && !wcscmp(shown, tex), "dp_get_port_info names it %ls", shown);
    ok(ru_listed(tex), "dp_list_ports does not list the 255-character name");
    ptr = dp12_map_memory(h, &pitch);
    if (ok(ptr != NULL, "map: %s", ru_error_message())) {
        ref_fill(ptr, pitch, 16 * 4, 4, 9);
        dp12_unmap_memory(h);
    }
    dp12_signal_fence(h, 9);
    c = dptest_spawn(L"ref_name_consumer %ls %ls 9", tex, fence);
    ref_wait(&c, "consumer of the 255-character name");
    dp12_close(h);
}

DP_TEST(reference_names_of_255_characters)
{
    wchar_t tex[300], fence[300];
    if (!dp12_init())
        skip("no D3D12 device: %s", ru_error_message());
    ref_name_255(L"Local\\");
    ref_name_255(L"Global\\");
    ref_name_255(L"");

    /* 256 characters, prefix included, is one too many, for either name and for opens. */
    ref_long_name(tex, 256, L"Local\\", L't');
    ref_long_name(fence, 255, L"Local\\", L'f');
    ok(!dp12_create_shared_resource(16, 4, DP_FORMAT_VIDEO, false, tex, fence) &&
           !strcmp(ru_error_name(), "DP_ERROR_INVALID_ARGUMENT"),
       "a 256-character texture name: %s", ru_error_name());
    ok(!dp12_open_shared_resource(tex, fence) && !strcmp(ru_error_name(), "DP_ERROR_INVALID_ARGUMENT"),
       "opening a 256-character texture name: %s", ru_error_name());
    ref_long_name(tex, 255, L"Local\\", L't');
    ref_long_name(fence, 256, L"Local\\", L'f');
    ok(!dp12_create_shared_resource(16, 4, DP_FORMAT_VIDEO, false, tex, fence) &&
           !strcmp(ru_error_name(), "DP_ERROR_INVALID_ARGUMENT"),
       "a 256-character fence name: %s", ru_error_name());
    dp12_shutdown();
}

/* ---- dp12_wait_fence ---------------------------------------------------------------------- */

/* argv: role tex fence value -> opens, dp12_wait_fence(value), checks the value is there. */
DP_CHILD(ref_waiter)
{
    uint64_t value;
    DP_HANDLE h;
    if (argc < 4 || !dp12_init())
        return 2;
    value = wcstoull(argv[3], NULL, 10);
    h = dp12_open_shared_resource(argv[1], argv[2]);
    if (!ok(h != NULL, "open %ls: %s", argv[1], ru_error_message()))
        return 1;
    dp12_wait_fence(h, value);
    ok(dp12_get_completed_value(h) >= value, "dp12_wait_fence returned at %llu, before %llu",
       (unsigned long long)dp12_get_completed_value(h), (unsigned long long)value);
    dp12_close(h);
    dp12_shutdown();
    return dptest_failures() ? 1 : 0;
}

DP_TEST(reference_wait_fence_across_processes)
{
    wchar_t tex[96], fence[128];
    dptest_child c;
    DP_HANDLE h;
    if (!dp12_init())
        skip("no D3D12 device: %s", ru_error_message());
    ref_names(tex, fence, 96, L"Local", "wait");
    h = dp12_create_shared_resource(8, 8, DP_FORMAT_VIDEO, false, tex, fence);
    if (!ok(h != NULL, "create: %s", ru_error_message())) {
        dp12_shutdown();
        return;
    }
    dp12_signal_fence(h, 2);
    dp12_wait_fence(h, 2); /* reached: returns at once */
    ok(dp12_get_completed_value(h) == 2, "completed %llu", (unsigned long long)dp12_get_completed_value(h));
    c = dptest_spawn(L"ref_waiter %ls %ls 4", tex, fence);
    Sleep(300);
    dp12_signal_fence(h, 3);
    Sleep(100);
    dp12_signal_fence(h, 4);
    ref_wait(&c, "waiter");
    dp12_close(h);
    dp12_shutdown();
}

/* ---- The C# binding's extras ------------------------------------------------------------- */

#define REF_E_INVALIDARG ((int32_t)0x80070057)
#define REF_E_ALREADY_EXISTS ((int32_t)0x800700B7)      /* HRESULT_FROM_WIN32(ERROR_ALREADY_EXISTS) */
#define REF_E_INVALID_STATE ((int32_t)0x8007139F)       /* HRESULT_FROM_WIN32(ERROR_INVALID_STATE) */
#define REF_DXGI_ERROR_UNSUPPORTED ((int32_t)0x887A0004)

/* Runs fn on a thread of its own: dp12_last_hresult is per thread. */
static void ref_on_thread(LPTHREAD_START_ROUTINE fn, void *arg)
{
    HANDLE t = CreateThread(NULL, 0, fn, arg, 0, NULL);
    if (ok(t != NULL, "CreateThread: %lu", GetLastError())) {
        ok(WaitForSingleObject(t, 60000) == WAIT_OBJECT_0, "the thread did not finish");
        CloseHandle(t);
    }
}

static DWORD WINAPI ref_before_init(void *arg)
{
    int64_t luid = 7;
    uint8_t px[16] = {0};
    (void)arg;
    ok(dp12_last_hresult() == 0, "a fresh thread's last HRESULT is 0x%08lx", (unsigned long)dp12_last_hresult());
    ok(!dp12_get_adapter_luid(&luid) && !strcmp(ru_error_name(), "DP_ERROR_NOT_INITIALIZED") && luid == 7,
       "adapter LUID before init: %s", ru_error_name());
    ok(!dp12_is_uma() && !strcmp(ru_error_name(), "DP_ERROR_NOT_INITIALIZED"), "dp12_is_uma before init: %s",
       ru_error_name());
    ok(!dp12_upload_bgra((DP_HANDLE)&luid, px, 8, 2, 2, 1) && !strcmp(ru_error_name(), "DP_ERROR_NOT_INITIALIZED"),
       "dp12_upload_bgra before init: %s", ru_error_name());
    dp12_wait_fence((DP_HANDLE)&luid, 1);
    ok(!strcmp(ru_error_name(), "DP_ERROR_NOT_INITIALIZED"), "dp12_wait_fence before init: %s", ru_error_name());
    ok(dp12_last_hresult() == 0, "calls other than creates set the last HRESULT to 0x%08lx",
       (unsigned long)dp12_last_hresult());
    ok(!dp12_create_shared_resource(8, 8, DP_FORMAT_VIDEO, false, L"Local\\a", L"Local\\b"), "created before init");
    ok(dp12_last_hresult() == REF_E_INVALID_STATE, "a create before init: last HRESULT 0x%08lx",
       (unsigned long)dp12_last_hresult());
    return 0;
}

DP_TEST(reference_extras_before_init)
{
    dp12_shutdown();
    ref_on_thread(ref_before_init, NULL);
}

DP_TEST(reference_adapter_luid_and_uma)
{
    int64_t luid = 0, expected = 0;
    int uma;
    if (!dp12_init())
        skip("no D3D12 device: %s", ru_error_message());
    ok(dp12_get_adapter_luid(&luid), "dp12_get_adapter_luid: %s", ru_error_message());
    ok(ru_device_luid(&expected) && luid == expected, "LUID %016llx, the device's %016llx", (unsigned long long)luid,
       (unsigned long long)expected);
    ok(!dp12_get_adapter_luid(NULL) && !strcmp(ru_error_name(), "DP_ERROR_INVALID_ARGUMENT"), "NULL out_luid: %s",
       ru_error_name());
    uma = ru_device_uma();
    if (uma >= 0)
        ok(dp12_is_uma() == (uma == 1), "dp12_is_uma %d, CheckFeatureSupport says %d", dp12_is_uma(), uma);
    dptest_diag("adapter LUID %016llx, UMA %d", (unsigned long long)luid, uma);
    dp12_shutdown();
}

typedef struct {
    wchar_t tex[96], fence[128];
    bool gpu;
} ref_hr_case;

static DWORD WINAPI ref_hresults(void *arg)
{
    ref_hr_case *c = arg;
    DP_HANDLE good, dupe;
    ok(dp12_last_hresult() == 0, "fresh thread: 0x%08lx", (unsigned long)dp12_last_hresult());
    ok(!dp12_create_shared_resource(0, 8, DP_FORMAT_VIDEO, false, c->tex, c->fence), "width 0 created");
    ok(dp12_last_hresult() == REF_E_INVALIDARG, "width 0: 0x%08lx, expected E_INVALIDARG",
       (unsigned long)dp12_last_hresult());
    ok(!dp12_create_shared_resource(8, 8, (DP_FORMAT)99, false, c->tex, c->fence), "format 99 created");
    ok(dp12_last_hresult() == REF_E_INVALIDARG, "format 99: 0x%08lx", (unsigned long)dp12_last_hresult());
    ok(!dp12_create_shared_resource(8, 8, DP_FORMAT_VIDEO, false, NULL, c->fence), "NULL name created");
    ok(dp12_last_hresult() == REF_E_INVALIDARG, "NULL name: 0x%08lx", (unsigned long)dp12_last_hresult());
    good = dp12_create_shared_resource(8, 8, DP_FORMAT_VIDEO, false, c->tex, c->fence);
    ok(good != NULL, "create: %s", ru_error_message());
    ok(dp12_last_hresult() == REF_E_INVALIDARG, "a successful create changed it to 0x%08lx",
       (unsigned long)dp12_last_hresult());
    ok(!dp12_open_shared_resource(L"Local\\dptest.ref.none", L"Local\\dptest.ref.none.f"), "opened nothing");
    ok(dp12_last_hresult() == REF_E_INVALIDARG, "a failed open changed it to 0x%08lx",
       (unsigned long)dp12_last_hresult());
    dupe = dp12_create_shared_resource(8, 8, DP_FORMAT_VIDEO, false, c->tex, c->fence);
    ok(!dupe, "a taken name was created again");
    ok(dp12_last_hresult() == REF_E_ALREADY_EXISTS, "a taken name: 0x%08lx, expected 0x%08lx",
       (unsigned long)dp12_last_hresult(), (unsigned long)REF_E_ALREADY_EXISTS);
    if (!c->gpu) {
        /* No NT sharing here: dp12_create_port refuses DP_TRANSPORT_GPU. */
        ok(!ru_create_port(L"refgpuonly", 8, 8, 1, true), "a GPU-transport port without NT sharing");
        ok(dp12_last_hresult() == REF_DXGI_ERROR_UNSUPPORTED, "no NT sharing: 0x%08lx, expected 0x%08lx",
           (unsigned long)dp12_last_hresult(), (unsigned long)REF_DXGI_ERROR_UNSUPPORTED);
    }
    dp12_close(dupe);
    dp12_close(good);
    return 0;
}

static DWORD WINAPI ref_hresult_fresh(void *arg)
{
    (void)arg;
    ok(dp12_last_hresult() == 0, "another thread's failures show here: 0x%08lx", (unsigned long)dp12_last_hresult());
    return 0;
}

DP_TEST(reference_last_hresult)
{
    ref_hr_case c;
    if (!dp12_init())
        skip("no D3D12 device: %s", ru_error_message());
    ref_names(c.tex, c.fence, 96, L"Local", "hr");
    c.gpu = ru_gpu_transport();
    ref_on_thread(ref_hresults, &c);
    ref_on_thread(ref_hresult_fresh, NULL);
    dp12_shutdown();
}

/* ---- dp12_upload_bgra ------------------------------------------------------------------- */

/* The B, G, R, A bytes of pixel (x, y) (y from the top) of frame `frame`. */
static void ref_bgra(uint64_t frame, uint32_t x, uint32_t y, uint8_t out[4])
{
    out[0] = (uint8_t)(x * 3u + frame * 17u);
    out[1] = (uint8_t)(y * 5u + frame);
    out[2] = (uint8_t)(x ^ y ^ (uint32_t)(frame << 4));
    out[3] = (uint8_t)(255u - frame);
}

/* Pixels of w x h rows `pitch` bytes apart that are not frame's; the first one in why. */
static uint64_t ref_bgra_bad(const uint8_t *px, uint32_t pitch, uint32_t w, uint32_t h, uint64_t frame, char *why,
                             size_t cap)
{
    uint64_t bad = 0;
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++) {
            const uint8_t *got = px + (size_t)y * pitch + (size_t)x * 4;
            uint8_t want[4];
            ref_bgra(frame, x, y, want);
            if (memcmp(got, want, 4) && !bad++)
                snprintf(why, cap, "pixel (%u,%u) from the top is B,G,R,A %02x,%02x,%02x,%02x, expected %02x,%02x,%02x,%02x",
                         x, y, got[0], got[1], got[2], got[3], want[0], want[1], want[2], want[3]);
        }
    return bad;
}

/* argv: role tex fence w h frames system_ram ack -> for each frame 1..frames: waits for it
 * with dp12_wait_fence, reads the port (its texture, or the mapped memory of a system-RAM
 * port), checks every pixel, sets the event `ack`. */
DP_CHILD(ref_upload_consumer)
{
    uint32_t w, h, frames;
    bool system_ram;
    HANDLE ack;
    DP_HANDLE port = NULL;
    if (argc < 8 || !dp12_init())
        return 2;
    w = (uint32_t)wcstoul(argv[3], NULL, 10);
    h = (uint32_t)wcstoul(argv[4], NULL, 10);
    frames = (uint32_t)wcstoul(argv[5], NULL, 10);
    system_ram = wcstoul(argv[6], NULL, 10) != 0;
    ack = OpenEventW(EVENT_MODIFY_STATE, FALSE, argv[7]);
    port = dp12_open_shared_resource(argv[1], argv[2]);
    if (!ok(port != NULL && ack != NULL, "open %ls: %s (event %p)", argv[1], ru_error_message(), (void *)ack))
        return 1;
    for (uint64_t v = 1; v <= frames && !dptest_failures(); v++) {
        uint8_t *px = NULL, *copy = NULL;
        uint32_t pitch = 0;
        char why[160] = "";
        dp12_wait_fence(port, v);
        ok(dp12_get_completed_value(port) == v, "frame %llu: completed value %llu", (unsigned long long)v,
           (unsigned long long)dp12_get_completed_value(port));
        if (system_ram)
            px = dp12_map_memory(port, &pitch);
        else
            px = copy = ru_read_texture(port, &pitch);
        if (ok(px != NULL, "frame %llu: reading the port: %s", (unsigned long long)v, ru_error_message())) {
            uint64_t bad = ref_bgra_bad(px, pitch, w, h, v, why, sizeof why);
            ok(pitch >= w * 4, "row pitch %u", pitch);
            ok(bad == 0, "frame %llu (%s): %llu of %u pixels differ; %s", (unsigned long long)v,
               system_ram ? "mapped" : "texture", (unsigned long long)bad, w * h, why);
        }
        if (system_ram && px)
            dp12_unmap_memory(port);
        free(copy);
        SetEvent(ack);
    }
    CloseHandle(ack);
    dp12_close(port);
    dp12_shutdown();
    return dptest_failures() ? 1 : 0;
}

/* A producer uploads 3 frames from a padded source under ns\ names, a consumer process
 * checks each. false if ns is Global and this account may not create there. */
static bool ref_upload_stream(const wchar_t *ns, bool system_ram)
{
    enum { W = 61, H = 37, PITCH = W * 4 + 36, FRAMES = 3 };
    wchar_t tex[96], fence[128], ack_name[96];
    uint8_t *src = malloc((size_t)PITCH * H);
    dptest_child c;
    HANDLE ack;
    DP_HANDLE h;
    ref_names(tex, fence, 96, ns, system_ram ? "upload.sys" : "upload");
    h = dp12_create_shared_resource(W, H, DP_FORMAT_VIDEO, system_ram, tex, fence);
    if (!h && !wcscmp(ns, L"Global") && !strcmp(ru_error_name(), "DP_ERROR_ACCESS_DENIED")) {
        free(src);
        return false;
    }
    if (!ok(h != NULL && src != NULL, "create %ls: %s", tex, ru_error_message())) {
        free(src);
        return true;
    }
    swprintf(ack_name, 96, L"Local\\dptest.ref.%lu.ack.%d", (unsigned long)GetCurrentProcessId(), (int)system_ram);
    ack = CreateEventW(NULL, FALSE, FALSE, ack_name);
    c = dptest_spawn(L"ref_upload_consumer %ls %ls %d %d %d %d %ls", tex, fence, W, H, FRAMES, (int)system_ram,
                     ack_name);
    for (uint64_t v = 1; v <= FRAMES && c.process; v++) {
        /* The padding between rows is junk a pitch mix-up would show. */
        memset(src, 0xEE, (size_t)PITCH * H);
        for (uint32_t y = 0; y < H; y++)
            for (uint32_t x = 0; x < W; x++)
                ref_bgra(v, x, y, src + (size_t)y * PITCH + (size_t)x * 4);
        if (!ok(dp12_upload_bgra(h, src, PITCH, W, H, v), "upload of frame %llu: %s", (unsigned long long)v,
                ru_error_message()))
            break;
        /* The caller's buffer is its own again at once. */
        memset(src, 0, (size_t)PITCH * H);
        if (!ok(WaitForSingleObject(ack, 30000) == WAIT_OBJECT_0, "the consumer did not check frame %llu",
                (unsigned long long)v))
            break;
    }
    ref_wait(&c, "upload consumer");
    CloseHandle(ack);
    dp12_close(h);
    free(src);
    return true;
}

DP_TEST(reference_upload_bgra_across_processes)
{
    bool global;
    if (!dp12_init())
        skip("no D3D12 device: %s", ru_error_message());
    global = ref_upload_stream(L"Global", false);
    if (global)
        ref_upload_stream(L"Global", true);
    else
        ref_upload_stream(L"Local", true);
    dp12_shutdown();
    if (!global)
        skip("no right to create Global\\ objects (SeCreateGlobalPrivilege); the Local\\ run passed");
}

DP_TEST(reference_upload_bgra_bad_arguments)
{
    wchar_t tex[96], fence[128], name[64];
    uint8_t px[16 * 8 * 4] = {0};
    DP_HANDLE h, opened, other;
    int32_t hr;
    if (!dp12_init())
        skip("no D3D12 device: %s", ru_error_message());
    ref_names(tex, fence, 96, L"Local", "upbad");
    h = dp12_create_shared_resource(16, 8, DP_FORMAT_VIDEO, false, tex, fence);
    if (!ok(h != NULL, "create: %s", ru_error_message())) {
        dp12_shutdown();
        return;
    }
    hr = dp12_last_hresult();
#define BAD_UPLOAD(call, expected, why)                                                            \
    ok(!(call) && !strcmp(ru_error_name(), expected), "%s: %s (%s)", why, ru_error_name(), ru_error_message())
    BAD_UPLOAD(dp12_upload_bgra(h, NULL, 64, 16, 8, 1), "DP_ERROR_INVALID_ARGUMENT", "NULL src");
    BAD_UPLOAD(dp12_upload_bgra(h, px, 64, 15, 8, 1), "DP_ERROR_INVALID_ARGUMENT", "width 15 of 16");
    BAD_UPLOAD(dp12_upload_bgra(h, px, 64, 16, 9, 1), "DP_ERROR_INVALID_ARGUMENT", "height 9 of 8");
    BAD_UPLOAD(dp12_upload_bgra(h, px, 63, 16, 8, 1), "DP_ERROR_INVALID_ARGUMENT", "row pitch 63 < 64");
    ok(dp12_upload_bgra(h, px, 64, 16, 8, 1), "a tight source: %s", ru_error_message());
    BAD_UPLOAD(dp12_upload_bgra(h, px, 64, 16, 8, 1), "DP_ERROR_INVALID_ARGUMENT", "frame value 1 again");
    BAD_UPLOAD(dp12_upload_bgra(h, px, 64, 16, 8, 0), "DP_ERROR_INVALID_ARGUMENT", "frame value 0");
    ok(dp12_upload_bgra(h, px, 64, 16, 8, 5), "frame value 5: %s", ru_error_message());
    dp12_signal_fence(h, 9);
    BAD_UPLOAD(dp12_upload_bgra(h, px, 64, 16, 8, 8), "DP_ERROR_INVALID_ARGUMENT", "below a value signalled");
    opened = dp12_open_shared_resource(tex, fence);
    if (ok(opened != NULL, "open: %s", ru_error_message()))
        BAD_UPLOAD(dp12_upload_bgra(opened, px, 64, 16, 8, 10), "DP_ERROR_INVALID_ARGUMENT", "a consumer's handle");
    dp12_close(opened);
    for (uint32_t f = 1; f < REF_FORMATS; f++) {
        wchar_t t2[128], f2[160];
        char why[64];
        if (ref_format[f].bpp != 4)
            continue;
        swprintf(t2, 128, L"%ls.fmt%u", tex, f);
        swprintf(f2, 160, L"%ls.fence", t2);
        other = dp12_create_shared_resource(16, 8, (DP_FORMAT)f, false, t2, f2);
        snprintf(why, sizeof why, "a port of %s", ref_format[f].name);
        if (ok(other != NULL, "create %s: %s", ref_format[f].name, ru_error_message()))
            BAD_UPLOAD(dp12_upload_bgra(other, px, 64, 16, 8, 1), "DP_ERROR_INVALID_ARGUMENT", why);
        dp12_close(other);
    }
    swprintf(name, 64, L"refslots%lu", (unsigned long)GetCurrentProcessId());
    other = ru_create_port(name, 16, 8, 3, false);
    if (ok(other != NULL, "create a 3-slot port: %s", ru_error_message()))
        BAD_UPLOAD(dp12_upload_bgra(other, px, 64, 16, 8, 1), "DP_ERROR_UNSUPPORTED", "a 3-slot port");
    dp12_close(other);
    BAD_UPLOAD(dp12_upload_bgra(NULL, px, 64, 16, 8, 11), "DP_ERROR_INVALID_ARGUMENT", "a NULL handle");
    BAD_UPLOAD(dp12_upload_bgra(other, px, 64, 16, 8, 11), "DP_ERROR_INVALID_ARGUMENT", "a closed handle");
#undef BAD_UPLOAD
    ok(dp12_last_hresult() == hr, "upload failures changed the last create HRESULT to 0x%08lx",
       (unsigned long)dp12_last_hresult());
    /* None of it hurt the port. */
    ok(dp12_upload_bgra(h, px, 64, 16, 8, 10), "the port stopped taking uploads: %s", ru_error_message());
    dp12_close(h);
    dp12_shutdown();
}
