/*
 * dpcores.c - the two cores' tables for the test cases (see dpcores.h).
 */
#include "dpcores.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dptest.h"

const uint32_t dpt_bpp[DPT_FORMATS] = {4, 4, 2, 4, 4, 8, 16, 4};
const DXGI_FORMAT dpt_dxgi[DPT_FORMATS] = {DXGI_FORMAT_B8G8R8A8_UNORM,     DXGI_FORMAT_R32_FLOAT,
                                           DXGI_FORMAT_R16_FLOAT,          DXGI_FORMAT_R32_UINT,
                                           DXGI_FORMAT_R8G8B8A8_UNORM,     DXGI_FORMAT_R16G16B16A16_FLOAT,
                                           DXGI_FORMAT_R32G32B32A32_FLOAT, DXGI_FORMAT_R10G10B10A2_UNORM};

/* The last error check of a call whose own result (if any) another ok() checks. */
#define EXPECT_INVALID(call)                                                                     \
    do {                                                                                         \
        call;                                                                                    \
        ok(dp_last_error() == DP_ERROR_INVALID_ARGUMENT, "%s: %s gave %s", what, #call,            \
           dp_result_string(dp_last_error()));                                                   \
    } while (0)

/* ---- D3D12 ------------------------------------------------------------------------------ */

static ID3D12CommandQueue *queue_of(dpt_gpu *g)
{
    return g ? g->g.queue : NULL;
}

static void *d12_get_device(void)
{
    return dp12_get_device();
}

static bool d12_init_with_device(void *device)
{
    return dp12_init_with_device(device);
}

static void *d12_create_device(void)
{
    ID3D12Device *device = NULL;
    if (FAILED(D3D12CreateDevice(NULL, D3D_FEATURE_LEVEL_11_0, &IID_ID3D12Device, (void **)&device)))
        return NULL;
    return device;
}

static void d12_release_device(void *device)
{
    ID3D12Device_Release((ID3D12Device *)device);
}

static unsigned long d12_device_refs(void *device)
{
    ID3D12Device_AddRef((ID3D12Device *)device);
    return ID3D12Device_Release((ID3D12Device *)device);
}

static void *d12_texture(DP_HANDLE h)
{
    return dp12_get_resource(h);
}

static bool d12_texture_desc(void *texture, dpt_texture_desc *out)
{
    ID3D12Resource *res = texture;
    D3D12_RESOURCE_DESC desc;
    ID3D12Device *device = NULL;
    memset(out, 0, sizeof(*out));
    if (!res)
        return false;
    res->lpVtbl->GetDesc(res, &desc);
    out->width = (uint32_t)desc.Width;
    out->height = desc.Height;
    out->mips = desc.MipLevels;
    out->array = desc.DepthOrArraySize;
    out->samples = desc.SampleDesc.Count;
    out->format = desc.Format;
    if (SUCCEEDED(ID3D12Resource_GetDevice(res, &IID_ID3D12Device, (void **)&device))) {
        out->device = device;
        ID3D12Device_Release(device);
    }
    return true;
}

static bool d12_gpu_init(dpt_gpu *g)
{
    return tu_gpu_init(&g->g);
}

static void d12_gpu_free(dpt_gpu *g)
{
    tu_gpu_free(&g->g);
}

static bool d12_write(dpt_gpu *g, void *texture, uint32_t bpp, uint64_t frame)
{
    return texture && tu_gpu_write(&g->g, texture, bpp, frame);
}

static bool d12_read(dpt_gpu *g, void *texture, uint8_t **out, uint32_t *out_pitch)
{
    *out = NULL;
    return texture && tu_gpu_read(&g->g, texture, out, out_pitch);
}

static bool d12_signal(dpt_gpu *g, DP_HANDLE h, uint64_t value)
{
    return dp12_queue_signal(h, queue_of(g), value);
}

static void d12_gpu_wait(dpt_gpu *g, DP_HANDLE h, uint64_t value)
{
    dp12_queue_wait(h, queue_of(g), value);
}

static DP_RESULT d12_begin(DP_HANDLE h, void **out_target)
{
    ID3D12Resource *t = out_target ? *out_target : NULL;
    DP_RESULT r = dp12_begin_frame(h, out_target ? &t : NULL);
    if (out_target)
        *out_target = t;
    return r;
}

static DP_RESULT d12_end(dpt_gpu *g, DP_HANDLE h, uint64_t *out_frame)
{
    return dp12_end_frame(h, queue_of(g), out_frame);
}

static DP_RESULT d12_acquire(dpt_gpu *g, DP_HANDLE h, uint32_t timeout_ms, void **out_source, uint64_t *out_frame)
{
    ID3D12Resource *t = out_source ? *out_source : NULL;
    DP_RESULT r = dp12_acquire_frame(h, queue_of(g), timeout_ms, out_source ? &t : NULL, out_frame);
    if (out_source)
        *out_source = t;
    return r;
}

static void d12_release(dpt_gpu *g, DP_HANDLE h)
{
    dp12_release_frame(h, queue_of(g));
}

static DP_HANDLE d12_create_legacy(uint32_t width, uint32_t height, DP_FORMAT format, bool system_ram,
                                   const wchar_t *tex_name, const wchar_t *fence_name)
{
    return dp12_create_shared_resource(width, height, format, system_ram, tex_name, fence_name);
}

static void d12_expect_bad_handle(dpt_gpu *g, DP_HANDLE h, const char *what, bool other_core)
{
    DP_PORT_INFO info;
    uint32_t pitch;
    ID3D12CommandQueue *queue = queue_of(g);
    EXPECT_INVALID(ok(dp12_map_memory(h, &pitch) == NULL, "%s: mapped", what));
    EXPECT_INVALID(dp12_unmap_memory(h));
    EXPECT_INVALID(dp12_signal_fence(h, 1));
    EXPECT_INVALID(ok(dp12_cpu_wait_timeout(h, 1, 0) == DP_ERROR_INVALID_ARGUMENT, "%s: wait", what));
    EXPECT_INVALID(dp12_cpu_wait(h, 1));
    EXPECT_INVALID(dp12_queue_wait(h, queue, 1));
    EXPECT_INVALID(ok(!dp12_queue_signal(h, queue, 1), "%s: queue signal", what));
    EXPECT_INVALID(ok(dp12_get_completed_value(h) == 0, "%s: completed", what));
    EXPECT_INVALID(ok(dp12_get_resource(h) == NULL, "%s: resource", what));
    EXPECT_INVALID(ok(dp12_get_fence(h) == NULL, "%s: fence", what));
    EXPECT_INVALID(ok(dp12_get_resource_handle(h) == NULL, "%s: resource handle", what));
    EXPECT_INVALID(ok(dp12_get_fence_handle(h) == NULL, "%s: fence handle", what));
    if (!other_core) {
        EXPECT_INVALID(ok(dp_get_transport(h) == DP_TRANSPORT_AUTO, "%s: transport", what));
        EXPECT_INVALID(ok(!dp_get_port_info(h, &info), "%s: info", what));
    }
    EXPECT_INVALID(dp12_close(h));
}

const dpt_api dpt_d3d12 = {
    .name = "d3d12",
    .other = &dpt_d3d11,
    .system_ram = true,
    .completed_after_gpu_wait = false,
    .refuses_consumer_signal = false,
    .share_words = {"CreateSharedHandle", NULL},
    .init = dp12_init,
    .shutdown = dp12_shutdown,
    .get_device = d12_get_device,
    .init_with_device = d12_init_with_device,
    .create_device = d12_create_device,
    .release_device = d12_release_device,
    .device_refs = d12_device_refs,
    .create_port = dp12_create_port,
    .open_port = dp12_open_port,
    .create_legacy = d12_create_legacy,
    .open_legacy = dp12_open_shared_resource,
    .close = dp12_close,
    .texture = d12_texture,
    .texture_desc = d12_texture_desc,
    .completed = dp12_get_completed_value,
    .cpu_wait = dp12_cpu_wait_timeout,
    .wait_fence = dp12_cpu_wait,
    .gpu_init = d12_gpu_init,
    .gpu_free = d12_gpu_free,
    .write = d12_write,
    .read = d12_read,
    .signal = d12_signal,
    .gpu_wait = d12_gpu_wait,
    .begin = d12_begin,
    .end = d12_end,
    .acquire = d12_acquire,
    .release = d12_release,
    .resize = dp12_resize_port,
    .expect_bad_handle = d12_expect_bad_handle,
};

/* ---- D3D11 ------------------------------------------------------------------------------ */

static void *d11_get_device(void)
{
    return dp11_get_device();
}

static bool d11_init_with_device(void *device)
{
    return dp11_init_with_device(device);
}

static void *d11_create_device(void)
{
    ID3D11Device *device = NULL;
    if (FAILED(D3D11CreateDevice(NULL, D3D_DRIVER_TYPE_HARDWARE, NULL, 0, NULL, 0, D3D11_SDK_VERSION, &device, NULL,
                                 NULL)))
        return NULL;
    return device;
}

static void d11_release_device(void *device)
{
    ID3D11Device_Release((ID3D11Device *)device);
}

static unsigned long d11_device_refs(void *device)
{
    ID3D11Device_AddRef((ID3D11Device *)device);
    return ID3D11Device_Release((ID3D11Device *)device);
}

static void *d11_texture(DP_HANDLE h)
{
    return dp11_get_texture(h);
}

static bool d11_texture_desc(void *texture, dpt_texture_desc *out)
{
    ID3D11Texture2D *tex = texture;
    D3D11_TEXTURE2D_DESC desc;
    ID3D11Device *device = NULL;
    memset(out, 0, sizeof(*out));
    if (!tex)
        return false;
    ID3D11Texture2D_GetDesc(tex, &desc);
    out->width = desc.Width;
    out->height = desc.Height;
    out->mips = desc.MipLevels;
    out->array = desc.ArraySize;
    out->samples = desc.SampleDesc.Count;
    out->format = desc.Format;
    ID3D11Texture2D_GetDevice(tex, &device);
    if (device) {
        out->device = device;
        ID3D11Device_Release(device);
    }
    return true;
}

static bool d11_gpu_init(dpt_gpu *g)
{
    memset(g, 0, sizeof(*g));
    return true;
}

static void d11_gpu_free(dpt_gpu *g)
{
    memset(g, 0, sizeof(*g));
}

static bool d11_write(dpt_gpu *g, void *texture, uint32_t bpp, uint64_t frame)
{
    (void)g;
    return tu11_write(texture, bpp, frame);
}

static bool d11_read(dpt_gpu *g, void *texture, uint8_t **out, uint32_t *out_pitch)
{
    (void)g;
    return tu11_read(texture, out, out_pitch);
}

static bool d11_signal(dpt_gpu *g, DP_HANDLE h, uint64_t value)
{
    (void)g;
    dp11_signal_fence(h, value);
    return true;
}

static void d11_gpu_wait(dpt_gpu *g, DP_HANDLE h, uint64_t value)
{
    (void)g;
    dp11_wait_fence(h, value);
}

static DP_RESULT d11_begin(DP_HANDLE h, void **out_target)
{
    ID3D11Texture2D *t = out_target ? *out_target : NULL;
    DP_RESULT r = dp11_begin_frame(h, out_target ? &t : NULL);
    if (out_target)
        *out_target = t;
    return r;
}

static DP_RESULT d11_end(dpt_gpu *g, DP_HANDLE h, uint64_t *out_frame)
{
    (void)g;
    return dp11_end_frame(h, out_frame);
}

static DP_RESULT d11_acquire(dpt_gpu *g, DP_HANDLE h, uint32_t timeout_ms, void **out_source, uint64_t *out_frame)
{
    ID3D11Texture2D *t = out_source ? *out_source : NULL;
    DP_RESULT r;
    (void)g;
    r = dp11_acquire_frame(h, timeout_ms, out_source ? &t : NULL, out_frame);
    if (out_source)
        *out_source = t;
    return r;
}

static void d11_release(dpt_gpu *g, DP_HANDLE h)
{
    (void)g;
    dp11_release_frame(h);
}

/* dp11 has no CPU-memory ports: a case must not ask for one. */
static DP_HANDLE d11_create_legacy(uint32_t width, uint32_t height, DP_FORMAT format, bool system_ram,
                                   const wchar_t *tex_name, const wchar_t *fence_name)
{
    if (!ok(!system_ram, "a case asked dp11 for a system-RAM legacy port"))
        return NULL;
    return dp11_create_shared_resource(width, height, format, tex_name, fence_name);
}

static void d11_expect_bad_handle(dpt_gpu *g, DP_HANDLE h, const char *what, bool other_core)
{
    DP_PORT_INFO info;
    (void)g;
    EXPECT_INVALID(dp11_signal_fence(h, 1));
    EXPECT_INVALID(dp11_wait_fence(h, 1));
    EXPECT_INVALID(ok(dp11_cpu_wait_timeout(h, 1, 0) == DP_ERROR_INVALID_ARGUMENT, "%s: wait", what));
    EXPECT_INVALID(ok(dp11_get_completed_value(h) == 0, "%s: completed", what));
    EXPECT_INVALID(ok(dp11_get_texture(h) == NULL, "%s: texture", what));
    if (!other_core) {
        EXPECT_INVALID(ok(dp_get_transport(h) == DP_TRANSPORT_AUTO, "%s: transport", what));
        EXPECT_INVALID(ok(!dp_get_port_info(h, &info), "%s: info", what));
    }
    EXPECT_INVALID(dp11_close(h));
}

const dpt_api dpt_d3d11 = {
    .name = "d3d11",
    .other = &dpt_d3d12,
    .system_ram = false,
    .completed_after_gpu_wait = true,
    .refuses_consumer_signal = true,
    .share_words = {"ID3D11", "IDXGI", "CreateTexture2D", NULL},
    .init = dp11_init,
    .shutdown = dp11_shutdown,
    .get_device = d11_get_device,
    .init_with_device = d11_init_with_device,
    .create_device = d11_create_device,
    .release_device = d11_release_device,
    .device_refs = d11_device_refs,
    .create_port = dp11_create_port,
    .open_port = dp11_open_port,
    .create_legacy = d11_create_legacy,
    .open_legacy = dp11_open_shared_resource,
    .close = dp11_close,
    .texture = d11_texture,
    .texture_desc = d11_texture_desc,
    .completed = dp11_get_completed_value,
    .cpu_wait = dp11_cpu_wait_timeout,
    .wait_fence = dp11_wait_fence,
    .gpu_init = d11_gpu_init,
    .gpu_free = d11_gpu_free,
    .write = d11_write,
    .read = d11_read,
    .signal = d11_signal,
    .gpu_wait = d11_gpu_wait,
    .begin = d11_begin,
    .end = d11_end,
    .acquire = d11_acquire,
    .release = d11_release,
    .resize = dp11_resize_port,
    .expect_bad_handle = d11_expect_bad_handle,
};

/* ---- Both --------------------------------------------------------------------------------- */

const dpt_api *dpt_api_named(const wchar_t *name)
{
    if (wcscmp(name, L"d3d11") == 0)
        return &dpt_d3d11;
    if (wcscmp(name, L"d3d12") == 0)
        return &dpt_d3d12;
    return NULL;
}

void dpt_nt_name(const dpt_api *api, wchar_t *out, size_t cap, const char *what)
{
    swprintf(out, cap, L"Local\\dptest.%lu.%hs.%hs", (unsigned long)GetCurrentProcessId(), api->name, what);
}

void dpt_port_name(const dpt_api *api, wchar_t *out, size_t cap, const char *what)
{
    swprintf(out, cap, L"%hs.%hs.%lu", api->name, what, (unsigned long)GetCurrentProcessId());
}

bool dpt_write_frame(const dpt_api *api, dpt_gpu *g, DP_HANDLE h, uint64_t frame)
{
    DP_PORT_INFO info;
    return dp_get_port_info(h, &info) && (unsigned)info.format < DPT_FORMATS &&
           api->write(g, api->texture(h), dpt_bpp[info.format], frame);
}

uint64_t dpt_bad_bytes(const dpt_api *api, dpt_gpu *g, DP_HANDLE h, uint64_t frame)
{
    DP_PORT_INFO info;
    uint8_t *pixels = NULL;
    uint32_t pitch = 0;
    uint64_t bad = UINT64_MAX;
    if (dp_get_port_info(h, &info) && (unsigned)info.format < DPT_FORMATS &&
        api->read(g, api->texture(h), &pixels, &pitch))
        bad = tu_count_bad(pixels, pitch, info.width, info.height, dpt_bpp[info.format], frame);
    free(pixels);
    return bad;
}

bool dpt_check_frame(const dpt_api *api, dpt_gpu *g, void *texture, uint64_t frame, uint32_t w, uint32_t h)
{
    dpt_texture_desc desc;
    uint8_t *pixels = NULL;
    uint32_t pitch = 0;
    uint64_t bad;
    api->texture_desc(texture, &desc);
    if (!ok(desc.width == w && desc.height == h, "frame %llu is %ux%u, expected %ux%u", (unsigned long long)frame,
            desc.width, desc.height, w, h))
        return false;
    if (!ok(api->read(g, texture, &pixels, &pitch), "reading frame %llu back", (unsigned long long)frame))
        return false;
    bad = tu_count_bad(pixels, pitch, w, h, 4, frame);
    free(pixels);
    return ok(bad == 0, "frame %llu: %llu of %u bytes are not its pattern (torn or stale)", (unsigned long long)frame,
              (unsigned long long)bad, w * h * 4);
}
