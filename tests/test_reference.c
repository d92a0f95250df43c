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
