/*
 * refutil.c - the D3D12 side of test_reference.c's checks (see refutil.h).
 */
#include "d3d12util.h"

#include <stdlib.h>

#include "refutil.h"

#include "capabilities.h"

const char *ru_error_name(void)
{
    return dp_result_string(dp_last_error());
}

const char *ru_error_message(void)
{
    return dp_last_error_message();
}

bool ru_gpu_transport(void)
{
    return dpt_capability(DPCAP_NT_SHARING)->yes;
}

bool ru_texture_desc(void *handle, uint32_t *dxgi_format, uint32_t *width, uint32_t *height, bool *row_major)
{
    ID3D12Resource *texture = dp12_get_resource(handle);
    D3D12_RESOURCE_DESC desc;
    if (!texture)
        return false;
    texture->lpVtbl->GetDesc(texture, &desc);
    *dxgi_format = (uint32_t)desc.Format;
    *width = (uint32_t)desc.Width;
    *height = desc.Height;
    *row_major = desc.Layout == D3D12_TEXTURE_LAYOUT_ROW_MAJOR;
    return true;
}

uint8_t *ru_read_texture(void *handle, uint32_t *out_pitch)
{
    ID3D12Resource *texture = dp12_get_resource(handle);
    uint8_t *pixels = NULL;
    tu_gpu g;
    if (!texture)
        return NULL;
    if (tu_gpu_init(&g) && !tu_gpu_read(&g, texture, &pixels, out_pitch)) {
        free(pixels);
        pixels = NULL;
    }
    tu_gpu_free(&g);
    return pixels;
}

bool ru_device_luid(int64_t *out)
{
    ID3D12Device *device = dp12_get_device();
    LUID luid;
    if (!device)
        return false;
    device->lpVtbl->GetAdapterLuid(device, &luid);
    *out = (int64_t)(((uint64_t)(uint32_t)luid.HighPart << 32) | luid.LowPart);
    return true;
}

int ru_device_uma(void)
{
    ID3D12Device *device = dp12_get_device();
    D3D12_FEATURE_DATA_ARCHITECTURE arch = {0};
    if (!device || FAILED(ID3D12Device_CheckFeatureSupport(device, D3D12_FEATURE_ARCHITECTURE, &arch, sizeof(arch))))
        return -1;
    return arch.UMA ? 1 : 0;
}

uint64_t ru_last_frame(void *handle)
{
    DP_PORT_INFO info;
    return dp_get_port_info(handle, &info) ? info.last_frame : 0;
}

bool ru_port_name(void *handle, wchar_t *out, size_t cap)
{
    DP_PORT_INFO info;
    if (!dp_get_port_info(handle, &info) || wcslen(info.name) >= cap)
        return false;
    wcscpy(out, info.name);
    return true;
}

bool ru_listed(const wchar_t *name)
{
    uint32_t cap = dp_list_ports(NULL, 0) + 8, n;
    DP_PORT_INFO *all = calloc(cap, sizeof(*all));
    bool found = false;
    if (!all)
        return false;
    n = dp_list_ports(all, cap);
    for (uint32_t i = 0; i < n && i < cap; i++)
        found |= !wcscmp(all[i].name, name);
    free(all);
    return found;
}

void *ru_create_port(const wchar_t *name, uint32_t width, uint32_t height, uint32_t slots, bool gpu_only)
{
    DP_PORT_DESC d = {0};
    d.name = name;
    d.width = width;
    d.height = height;
    d.slots = slots;
    d.transport = gpu_only ? DP_TRANSPORT_GPU : DP_TRANSPORT_AUTO;
    return dp12_create_port(&d);
}
