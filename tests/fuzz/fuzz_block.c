/*
 * fuzz_block.c - libFuzzer target for the plain-C code that reads untrusted input:
 * the control block validator (another process writes the block) and the name rules
 * (callers pass any string).
 *
 * Build (the Makefile does it): clang -fsanitize=fuzzer,address,undefined -I. ...
 * Every input is copied into a buffer of exactly its size, so ASan reports a read one
 * byte past it. A broken invariant prints what broke and traps.
 *
 * tests/native/test_fuzz.c also compiles this file (without libFuzzer) to replay the
 * inputs in tests/fuzz/regressions/ under gcc's ASan/UBSan; it defines FUZZ_CHECK to
 * report a broken invariant as a failed check instead of trapping.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "directportblock.h"

#ifndef FUZZ_CHECK
#define FUZZ_CHECK(cond, what)                                                 \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "fuzz_block: invariant broken: %s\n", what);       \
            __builtin_trap();                                                  \
        }                                                                      \
    } while (0)
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- Control block ------------------------------------------------------------------- */

static void fuzz_validate(const uint8_t *data, size_t size)
{
    /* Exactly size bytes: nothing behind the input for an overread to hit silently. */
    uint8_t *mem = malloc(size ? size : 1);
    dpb_view v;
    const char *why = NULL;
    uint32_t bpp = 0;

    if (!mem)
        return;
    memcpy(mem, data, size);
    memset(&v, 0xa5, sizeof(v));
    if (!dpb_validate(mem, size, &v, &why)) {
        FUZZ_CHECK(why != NULL && why[0] != 0, "a rejection without a reason");
    } else {
        const dpb_block *b = (const dpb_block *)mem;
        uint64_t latest = b->latest;
        FUZZ_CHECK(size >= sizeof(dpb_block), "accepted a section smaller than a block");
        FUZZ_CHECK(b->size >= sizeof(dpb_block) && b->size <= size, "accepted a block size outside the section");
        FUZZ_CHECK(!(v.generation & 1u), "accepted an odd generation");
        FUZZ_CHECK(v.generation == b->generation, "view generation differs from the block");
        FUZZ_CHECK(dpb_format_info(v.format, NULL, &bpp), "accepted an unknown format");
        FUZZ_CHECK(v.bytes_per_pixel == bpp, "bytes per pixel do not match the format");
        FUZZ_CHECK(v.width >= 1 && v.width <= DPB_MAX_DIMENSION, "width out of range");
        FUZZ_CHECK(v.height >= 1 && v.height <= DPB_MAX_DIMENSION, "height out of range");
        FUZZ_CHECK(v.row_pitch % DPB_PITCH_ALIGN == 0, "row pitch not 256-aligned");
        FUZZ_CHECK((uint64_t)v.row_pitch >= (uint64_t)v.width * bpp, "row pitch shorter than a row");
        FUZZ_CHECK((uint64_t)v.row_pitch < (uint64_t)v.width * bpp + DPB_PITCH_ALIGN, "row pitch padded too much");
        FUZZ_CHECK((uint64_t)v.row_pitch * v.height == v.slot_size, "row_pitch * height != slot_size");
        FUZZ_CHECK(v.slot_count >= 1 && v.slot_count <= DPB_MAX_SLOTS, "slot count outside 1..8");
        FUZZ_CHECK(dpb_latest_slot(latest) < v.slot_count, "latest slot beyond the slot count");
        FUZZ_CHECK(v.transport == DPB_TRANSPORT_GPU || v.transport == DPB_TRANSPORT_HOST, "unknown transport");
        FUZZ_CHECK(v.legacy <= 1, "legacy flag not 0/1");
        FUZZ_CHECK(v.producer_pid != 0, "accepted a block without a producer");
        /* What the host transport maps: every slot of the largest port fits 64 bits. */
        FUZZ_CHECK(v.slot_size <= UINT64_MAX / v.slot_count, "slot_size * slot_count overflows");
        FUZZ_CHECK(v.width == b->width && v.height == b->height && v.format == b->format &&
                       v.row_pitch == b->row_pitch && v.slot_count == b->slot_count && v.slot_size == b->slot_size,
                   "view differs from the block it was copied from");
    }
    free(mem);
}

/* The input's first bytes as dpb_init's arguments: what init builds must validate. */
static void fuzz_init_round_trip(const uint8_t *data, size_t size)
{
    uint32_t arg[6];
    dpb_block *b;
    dpb_view v;
    const char *why = NULL;

    if (size < sizeof(arg))
        return;
    memcpy(arg, data, sizeof(arg));
    /* Mostly in-range values, so init does not just fail on every input. */
    arg[0] = arg[0] % (DPB_MAX_DIMENSION + 2);
    arg[1] = arg[1] % (DPB_MAX_DIMENSION + 2);
    arg[2] = arg[2] % 6;
    arg[3] = arg[3] % (DPB_MAX_SLOTS + 2);
    arg[4] = arg[4] % 4;
    b = malloc(sizeof(*b));
    if (!b)
        return;
    if (dpb_init(b, arg[0], arg[1], arg[2], arg[3], arg[4], arg[5], arg[5] & 1u)) {
        b->producer_pid = 1;
        FUZZ_CHECK(dpb_validate(b, sizeof(*b), &v, &why), "a block dpb_init made fails validation");
        /* init took width x height, so the transposed size is in range too. */
        FUZZ_CHECK(dpb_set_size(b, arg[1], arg[0]), "dpb_set_size refused a size dpb_init took");
        FUZZ_CHECK(dpb_validate(b, sizeof(*b), &v, &why), "a block resized by dpb_set_size fails validation");
    }
    free(b);
}

/* ---- Names --------------------------------------------------------------------------- */

static bool fuzz_terminated(const wchar_t *s, size_t cap)
{
    return wmemchr(s, 0, cap) != NULL;
}

static bool fuzz_base_char(wchar_t c)
{
    return (c >= L'a' && c <= L'z') || (c >= L'A' && c <= L'Z') || (c >= L'0' && c <= L'9') || c == L'_' ||
           c == L'.' || c == L'-';
}

static void fuzz_derived(const dpn_names *n, uint32_t generation, uint32_t slot, size_t cap)
{
    /* An output buffer of exactly cap characters: ASan sees a write past it. */
    wchar_t *out = malloc(cap * sizeof(wchar_t));
    if (!out)
        return;
    if (dpn_pixels_name(out, cap, n, generation))
        FUZZ_CHECK(fuzz_terminated(out, cap) && wcslen(out) > wcslen(n->pixels), "pixels name");
    if (dpn_texture_name(out, cap, n, generation, slot))
        FUZZ_CHECK(fuzz_terminated(out, cap) && wcslen(out) >= 1, "texture name");
    if (dpn_fence_name(out, cap, n, generation))
        FUZZ_CHECK(fuzz_terminated(out, cap) && wcslen(out) >= 1, "fence name");
    free(out);
}

static void fuzz_names(const uint8_t *data, size_t size)
{
    /* Windows' wchar_t: 16-bit units, little-endian, widened to this platform's wchar_t. */
    size_t n = size / 2, len, i;
    wchar_t *s = malloc((n + 1) * sizeof(wchar_t));
    const wchar_t *second;
    dpn_names *names;
    uint32_t generation = 0, slot = 0;
    size_t cap;

    if (!s)
        return;
    for (i = 0; i < n; i++)
        s[i] = (wchar_t)(data[2 * i] | (data[2 * i + 1] << 8));
    s[n] = 0;
    len = wcslen(s);
    /* After the first string's terminator: a second string (the legacy fence name). */
    second = len < n ? s + len + 1 : s + n;
    if (size >= 8) {
        memcpy(&generation, data + size - 8, 4);
        memcpy(&slot, data + size - 4, 4);
    }
    cap = 1 + (size ? data[size - 1] : 0) % DPN_LEN;
    names = malloc(sizeof(*names));
    if (!names) {
        free(s);
        return;
    }

    if (dpn_valid_base(s)) {
        FUZZ_CHECK(len >= 1 && len <= DPN_MAX_BASE, "valid base name of a bad length");
        for (i = 0; i < len; i++)
            FUZZ_CHECK(fuzz_base_char(s[i]), "valid base name with a forbidden character");
    }
    if (dpn_valid_nt(s)) {
        FUZZ_CHECK(len >= 1 && len <= DPN_MAX_NT, "valid NT name of a bad length");
        for (i = 0; i < len; i++)
            FUZZ_CHECK(s[i] >= 0x20 && s[i] != 0x7f, "valid NT name with a control character");
    }

    for (int global = 0; global < 2; global++) {
        bool made = dpn_port_names(names, s, global != 0);
        FUZZ_CHECK(made == dpn_valid_base(s), "port names made for an invalid name or refused for a valid one");
        if (!made)
            continue;
        FUZZ_CHECK(fuzz_terminated(names->ctl, DPN_LEN) && fuzz_terminated(names->fence, DPN_LEN) &&
                       fuzz_terminated(names->fence_value, DPN_LEN) && fuzz_terminated(names->wake, DPN_LEN) &&
                       fuzz_terminated(names->pixels, DPN_LEN) && fuzz_terminated(names->base, DPN_LEN) &&
                       fuzz_terminated(names->display, DPN_LEN),
                   "a port name without a terminator");
        FUZZ_CHECK(!wcsncmp(names->ctl, global ? L"Global\\DirectPort." : L"Local\\DirectPort.",
                            global ? 18 : 17),
                   "control block name outside its namespace");
        FUZZ_CHECK(!wcscmp(names->display, s), "display name differs from the name");
        FUZZ_CHECK(names->tex[0] == 0, "a port has a legacy texture name");
        fuzz_derived(names, generation, slot, cap);
    }

    if (dpn_legacy_names(names, s, second)) {
        FUZZ_CHECK(dpn_valid_nt(s) && dpn_valid_nt(second), "legacy names made from invalid NT names");
        FUZZ_CHECK(!wcscmp(names->tex, s) && !wcscmp(names->fence, second), "legacy names not kept as given");
        FUZZ_CHECK(names->base[0] == 0, "a legacy port has a generation base");
        FUZZ_CHECK(fuzz_terminated(names->ctl, DPN_LEN) && fuzz_terminated(names->pixels, DPN_LEN) &&
                       fuzz_terminated(names->fence_value, DPN_LEN) && fuzz_terminated(names->wake, DPN_LEN),
                   "a legacy name without a terminator");
        fuzz_derived(names, generation, slot, cap);
    }
    free(names);
    free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_validate(data, size);
    fuzz_init_round_trip(data, size);
    fuzz_names(data, size);
    return 0;
}
