/*
 * directportblock.c - control block layout, validation and the format table.
 * Plain C, no Win32: also built natively for unit tests and fuzzing.
 */
#include "directportblock.h"

#include <string.h>

/* DXGI_FORMAT numbers; directportd3d12.c checks them against dxgiformat.h. */
static const struct {
    uint32_t dxgi;
    uint32_t bytes_per_pixel;
} dpb_formats[] = {
    {87, 4},  /* DP_FORMAT_VIDEO: B8G8R8A8_UNORM */
    {41, 4},  /* DP_FORMAT_FLOAT: R32_FLOAT */
    {54, 2},  /* DP_FORMAT_HALF: R16_FLOAT */
    {42, 4},  /* DP_FORMAT_RAW_32BIT: R32_UINT */
    {28, 4},  /* DP_FORMAT_RGBA8: R8G8B8A8_UNORM */
    {10, 8},  /* DP_FORMAT_RGBA16F: R16G16B16A16_FLOAT */
    {2, 16},  /* DP_FORMAT_RGBA32F: R32G32B32A32_FLOAT */
    {24, 4},  /* DP_FORMAT_RGB10A2: R10G10B10A2_UNORM */
};
_Static_assert(sizeof(dpb_formats) / sizeof(dpb_formats[0]) == DPB_FORMATS, "one entry per format");

bool dpb_format_info(uint32_t format, uint32_t *out_dxgi, uint32_t *out_bytes_per_pixel)
{
    if (format >= sizeof(dpb_formats) / sizeof(dpb_formats[0]))
        return false;
    if (out_dxgi)
        *out_dxgi = dpb_formats[format].dxgi;
    if (out_bytes_per_pixel)
        *out_bytes_per_pixel = dpb_formats[format].bytes_per_pixel;
    return true;
}

uint32_t dpb_row_pitch(uint32_t width, uint32_t bytes_per_pixel)
{
    uint64_t row = (uint64_t)width * bytes_per_pixel;
    uint64_t pitch = (row + DPB_PITCH_ALIGN - 1) / DPB_PITCH_ALIGN * DPB_PITCH_ALIGN;
    return pitch > UINT32_MAX ? 0 : (uint32_t)pitch;
}

bool dpb_set_size(dpb_block *b, uint32_t width, uint32_t height)
{
    if (!width || !height || width > DPB_MAX_DIMENSION || height > DPB_MAX_DIMENSION)
        return false;
    b->width = width;
    b->height = height;
    b->row_pitch = dpb_row_pitch(width, b->bytes_per_pixel);
    b->slot_size = (uint64_t)b->row_pitch * height;
    return true;
}

bool dpb_init(dpb_block *b, uint32_t width, uint32_t height, uint32_t format, uint32_t slots,
              uint32_t transport, uint32_t flags, bool legacy)
{
    uint32_t bpp;
    if (!slots || slots > DPB_MAX_SLOTS || !dpb_format_info(format, NULL, &bpp))
        return false;
    if (transport != DPB_TRANSPORT_GPU && transport != DPB_TRANSPORT_HOST)
        return false;
    memset(b, 0, sizeof(*b));
    b->magic = DPB_MAGIC;
    b->version = DPB_VERSION;
    b->size = (uint32_t)sizeof(*b);
    b->format = format;
    b->bytes_per_pixel = bpp;
    b->slot_count = slots;
    b->transport = transport;
    b->flags = flags;
    b->legacy = legacy ? 1u : 0u;
    return dpb_set_size(b, width, height);
}

static bool dpb_reject(const char **why, const char *reason)
{
    if (why)
        *why = reason;
    return false;
}

bool dpb_validate(const void *mem, size_t mem_size, dpb_view *out, const char **why)
{
    const dpb_block *b = mem;
    dpb_view v = {0};
    uint64_t magic, latest;
    uint32_t version, size, bpp;

    if (!mem || !out)
        return dpb_reject(why, "no block");
    if (mem_size < sizeof(dpb_block))
        return dpb_reject(why, "section smaller than a control block");
    /* Every field is read once into a local: the other process may change it meanwhile. */
    magic = b->magic;
    version = b->version;
    size = b->size;
    if (magic != DPB_MAGIC)
        return dpb_reject(why, "bad magic");
    if (version != DPB_VERSION)
        return dpb_reject(why, "unknown layout version");
    if (size < sizeof(dpb_block) || size > mem_size)
        return dpb_reject(why, "block size out of range");
    v.generation = b->generation;
    if (v.generation & 1u)
        return dpb_reject(why, "changing");

    v.width = b->width;
    v.height = b->height;
    v.format = b->format;
    v.bytes_per_pixel = b->bytes_per_pixel;
    v.row_pitch = b->row_pitch;
    v.slot_count = b->slot_count;
    v.transport = b->transport;
    v.flags = b->flags;
    v.producer_pid = b->producer_pid;
    v.legacy = b->legacy;
    v.producer_start_time = b->producer_start_time;
    v.slot_size = b->slot_size;
    v.qpc_frequency = b->qpc_frequency;
    v.adapter_luid_low = b->adapter_luid_low;
    v.adapter_luid_high = b->adapter_luid_high;
    latest = b->latest;

    if (!v.width || !v.height || v.width > DPB_MAX_DIMENSION || v.height > DPB_MAX_DIMENSION)
        return dpb_reject(why, "dimensions out of range");
    if (!dpb_format_info(v.format, NULL, &bpp))
        return dpb_reject(why, "unknown format");
    if (v.bytes_per_pixel != bpp)
        return dpb_reject(why, "bytes per pixel do not match the format");
    if (v.row_pitch != dpb_row_pitch(v.width, bpp))
        return dpb_reject(why, "row pitch does not match width and format");
    if (!v.slot_count || v.slot_count > DPB_MAX_SLOTS)
        return dpb_reject(why, "slot count out of range");
    if (v.transport != DPB_TRANSPORT_GPU && v.transport != DPB_TRANSPORT_HOST)
        return dpb_reject(why, "unknown transport");
    if (v.legacy > 1)
        return dpb_reject(why, "bad legacy flag");
    if (v.slot_size != (uint64_t)v.row_pitch * v.height)
        return dpb_reject(why, "slot size does not match the geometry");
    if (dpb_latest_slot(latest) >= v.slot_count)
        return dpb_reject(why, "latest slot out of range");
    if (!v.producer_pid)
        return dpb_reject(why, "no producer process");
    *out = v;
    return true;
}
