/*
 * test_block.c - native unit tests (gcc, ASan/UBSan) for the control block validator,
 * the format table and the name rules: the plain-C code that reads untrusted input.
 */
#include <stdlib.h>
#include <string.h>

#include "directportblock.h"
#include "dptest.h"

static dpb_block valid_block(void)
{
    dpb_block b;
    dpb_init(&b, 640, 360, 0, 1, DPB_TRANSPORT_HOST, 0, true);
    b.producer_pid = 1234;
    return b;
}

DP_TEST(block_valid_block_passes)
{
    dpb_block b = valid_block();
    dpb_view v;
    const char *why = NULL;
    ok(dpb_validate(&b, sizeof(b), &v, &why), "rejected: %s", why);
    ok(v.width == 640 && v.height == 360 && v.row_pitch == 2560 && v.slot_size == 2560u * 360,
       "view %ux%u pitch %u size %llu", v.width, v.height, v.row_pitch, (unsigned long long)v.slot_size);
}

DP_TEST(block_pitch_is_256_aligned)
{
    ok(dpb_row_pitch(1, 4) == 256, "1 pixel: %u", dpb_row_pitch(1, 4));
    ok(dpb_row_pitch(64, 4) == 256, "64 pixels: %u", dpb_row_pitch(64, 4));
    ok(dpb_row_pitch(65, 4) == 512, "65 pixels: %u", dpb_row_pitch(65, 4));
    ok(dpb_row_pitch(16384, 16) == 262144, "widest: %u", dpb_row_pitch(16384, 16));
}

DP_TEST(block_format_table)
{
    uint32_t dxgi = 0, bpp = 0;
    /* 0..3 the reference's DXGI formats, then this library's. */
    ok(dpb_format_info(0, &dxgi, &bpp) && dxgi == 87 && bpp == 4, "VIDEO %u %u", dxgi, bpp);
    ok(dpb_format_info(1, &dxgi, &bpp) && dxgi == 41 && bpp == 4, "FLOAT %u %u", dxgi, bpp);
    ok(dpb_format_info(2, &dxgi, &bpp) && dxgi == 54 && bpp == 2, "HALF %u %u", dxgi, bpp);
    ok(dpb_format_info(3, &dxgi, &bpp) && dxgi == 42 && bpp == 4, "RAW_32BIT %u %u", dxgi, bpp);
    ok(dpb_format_info(4, &dxgi, &bpp) && dxgi == 28 && bpp == 4, "RGBA8 %u %u", dxgi, bpp);
    ok(dpb_format_info(5, &dxgi, &bpp) && dxgi == 10 && bpp == 8, "RGBA16F %u %u", dxgi, bpp);
    ok(dpb_format_info(6, &dxgi, &bpp) && dxgi == 2 && bpp == 16, "RGBA32F %u %u", dxgi, bpp);
    ok(dpb_format_info(7, &dxgi, &bpp) && dxgi == 24 && bpp == 4, "RGB10A2 %u %u", dxgi, bpp);
    ok(!dpb_format_info(8, &dxgi, &bpp), "format 8 accepted");
    ok(dpb_row_pitch(100, 4) == 512 && dpb_row_pitch(100, 2) == 256, "pitch at width 100: %u, %u",
       dpb_row_pitch(100, 4), dpb_row_pitch(100, 2));
    ok(!dpb_format_info(0xffffffffu, NULL, NULL), "format -1 accepted");
}

DP_TEST(block_init_rejects_bad_geometry)
{
    dpb_block b;
    ok(!dpb_init(&b, 0, 1, 0, 1, DPB_TRANSPORT_HOST, 0, false), "zero width");
    ok(!dpb_init(&b, 1, 16385, 0, 1, DPB_TRANSPORT_HOST, 0, false), "height 16385");
    ok(!dpb_init(&b, 1, 1, 8, 1, DPB_TRANSPORT_HOST, 0, false), "format 8");
    ok(!dpb_init(&b, 1, 1, 0, 0, DPB_TRANSPORT_HOST, 0, false), "zero slots");
    ok(!dpb_init(&b, 1, 1, 0, 9, DPB_TRANSPORT_HOST, 0, false), "nine slots");
    ok(!dpb_init(&b, 1, 1, 0, 1, 3, 0, false), "transport 3");
    ok(dpb_init(&b, 16384, 16384, 1, 8, DPB_TRANSPORT_GPU, 0, false), "the largest port");
}

/* Each mutation of a valid block must be rejected. */
DP_TEST(block_each_bad_field_is_rejected)
{
    dpb_block b;
    dpb_view v;
    const char *why;
#define REJECT(stmt, what)                                                       \
    do {                                                                         \
        b = valid_block();                                                       \
        stmt;                                                                    \
        why = NULL;                                                              \
        ok(!dpb_validate(&b, sizeof(b), &v, &why), "%s accepted", what);         \
        ok(why != NULL, "%s: no reason", what);                                  \
    } while (0)
    REJECT(b.magic ^= 1, "bad magic");
    REJECT(b.version = DPB_VERSION + 1, "a later layout version");
    REJECT(b.version = 1, "layout version 1 (the earlier format numbers)");
    REJECT(b.size = 16, "size below the structure");
    REJECT(b.size = 1u << 30, "size beyond the section");
    REJECT(b.width = 0, "zero width");
    REJECT(b.height = 16385, "height 16385");
    REJECT(b.format = 8, "format 8");
    REJECT(b.bytes_per_pixel = 16, "bpp not matching the format");
    REJECT(b.row_pitch = 2560 + 1, "unaligned pitch");
    REJECT(b.row_pitch = 256, "pitch below a row");
    REJECT(b.slot_count = 0, "zero slots");
    REJECT(b.slot_count = 9, "nine slots");
    REJECT(b.transport = 0, "transport 0");
    REJECT(b.legacy = 2, "legacy 2");
    REJECT(b.slot_size = 1, "slot size below the geometry");
    REJECT(b.slot_size = ~0ull, "huge slot size");
    REJECT(b.latest = dpb_pack_latest(5, 1), "latest slot beyond the slot count");
    REJECT(b.producer_pid = 0, "no producer");
    REJECT(b.generation = 3, "a change under way (odd generation)");
#undef REJECT
    b = valid_block();
    ok(!dpb_validate(&b, sizeof(b) - 1, &v, &why), "a section one byte short accepted");
    ok(!dpb_validate(NULL, sizeof(b), &v, &why), "NULL accepted");
}

DP_TEST(block_random_bytes_never_validate)
{
    unsigned char buf[sizeof(dpb_block) + 64];
    dpb_view v;
    int accepted = 0;
    srand(42);
    for (int round = 0; round < 20000; round++) {
        for (size_t i = 0; i < sizeof(buf); i++)
            buf[i] = (unsigned char)rand();
        accepted += dpb_validate(buf, sizeof(buf), &v, NULL);
    }
    ok(accepted == 0, "%d random blocks validated", accepted);
}

DP_TEST(names_base_rules)
{
    ok(dpn_valid_base(L"engine"), "engine");
    ok(dpn_valid_base(L"A-z_0.9"), "A-z_0.9");
    ok(dpn_valid_base(L"a234567890123456789012345678901234567890123456789012345678901234"), "64 characters");
    ok(!dpn_valid_base(L"a2345678901234567890123456789012345678901234567890123456789012345"), "65 characters");
    ok(!dpn_valid_base(L""), "empty");
    ok(!dpn_valid_base(NULL), "NULL");
    ok(!dpn_valid_base(L"a b"), "space");
    ok(!dpn_valid_base(L"a\\b"), "backslash");
    ok(!dpn_valid_base(L"caf\u00e9"), "non-ASCII");
}

DP_TEST(names_nt_rules)
{
    ok(dpn_valid_nt(L"MyTexture"), "plain");
    ok(dpn_valid_nt(L"Local\\MyTexture"), "Local");
    ok(dpn_valid_nt(L"Global\\MyTexture"), "Global");
    ok(!dpn_valid_nt(L"Local\\"), "prefix only");
    ok(!dpn_valid_nt(L"Session\\1\\x"), "other namespace");
    ok(!dpn_valid_nt(L"a\\b"), "inner backslash");
    ok(!dpn_valid_nt(L"a\nb"), "control character");
    ok(!dpn_valid_nt(L""), "empty");
}

DP_TEST(names_derived)
{
    dpn_names n;
    wchar_t px[DPN_LEN];
    ok(dpn_port_names(&n, L"engine", false), "port names");
    ok(!wcscmp(n.ctl, L"Local\\DirectPort.engine.ctl"), "ctl %ls", n.ctl);
    ok(!wcscmp(n.fence, L"Local\\DirectPort.engine.fence"), "fence %ls", n.fence);
    ok(dpn_texture_name(px, DPN_LEN, &n, 0, 0) && !wcscmp(px, L"Local\\DirectPort.engine.0.tex.0"), "tex %ls", px);
    ok(dpn_texture_name(px, DPN_LEN, &n, 12, 7) && !wcscmp(px, L"Local\\DirectPort.engine.12.tex.7"), "tex %ls", px);
    ok(dpn_fence_name(px, DPN_LEN, &n, 4) && !wcscmp(px, L"Local\\DirectPort.engine.4.fence"), "fence %ls", px);
    ok(!wcscmp(n.display, L"engine"), "display %ls", n.display);
    ok(dpn_port_names(&n, L"engine", true) && !wcscmp(n.ctl, L"Global\\DirectPort.engine.ctl"), "global %ls", n.ctl);
    ok(dpn_legacy_names(&n, L"Local\\Tex", L"Fence"), "legacy names");
    ok(!wcscmp(n.tex, L"Local\\Tex") && !wcscmp(n.fence, L"Fence"), "legacy keeps the names");
    ok(dpn_texture_name(px, DPN_LEN, &n, 6, 0) && !wcscmp(px, L"Local\\Tex"), "legacy texture %ls", px);
    ok(dpn_fence_name(px, DPN_LEN, &n, 6) && !wcscmp(px, L"Fence"), "legacy fence %ls", px);
    ok(!wcscmp(n.ctl, L"Local\\Tex.ctl") && !wcscmp(n.fence_value, L"Fence.value"), "derived %ls %ls", n.ctl,
       n.fence_value);
    ok(dpn_pixels_name(px, DPN_LEN, &n, 0) && !wcscmp(px, L"Local\\Tex.px.0"), "pixels %ls", px);
    ok(dpn_pixels_name(px, DPN_LEN, &n, 4294967295u) && !wcscmp(px, L"Local\\Tex.px.4294967295"), "pixels %ls", px);
    ok(!dpn_pixels_name(px, 8, &n, 1), "pixels name overflowed a small buffer");
    ok(!dpn_legacy_names(&n, L"Same", L"Local\\Same"), "one object for texture and fence");
}
