/*
 * d3d11util.c - D3D11 helpers for the test cases (see d3d11util.h).
 */
#include "d3d11util.h"

#include <stdlib.h>
#include <string.h>

bool tu11_write(ID3D11Texture2D *texture, uint32_t bpp, uint64_t frame)
{
    D3D11_TEXTURE2D_DESC desc;
    ID3D11Device *device = NULL;
    ID3D11DeviceContext *context = NULL;
    uint8_t *pixels;
    uint32_t pitch;
    if (!texture)
        return false;
    ID3D11Texture2D_GetDesc(texture, &desc);
    pitch = desc.Width * bpp;
    pixels = malloc((size_t)pitch * desc.Height);
    if (!pixels)
        return false;
    tu_fill(pixels, pitch, desc.Width, desc.Height, bpp, frame);
    ID3D11Texture2D_GetDevice(texture, &device);
    ID3D11Device_GetImmediateContext(device, &context);
    ID3D11DeviceContext_UpdateSubresource(context, (ID3D11Resource *)texture, 0, NULL, pixels, pitch, 0);
    ID3D11DeviceContext_Release(context);
    ID3D11Device_Release(device);
    free(pixels);
    return true;
}

bool tu11_read(ID3D11Texture2D *texture, uint8_t **out, uint32_t *out_pitch)
{
    D3D11_TEXTURE2D_DESC desc;
    D3D11_MAPPED_SUBRESOURCE mapped;
    ID3D11Device *device = NULL;
    ID3D11DeviceContext *context = NULL;
    ID3D11Texture2D *staging = NULL;
    bool ok = false;
    *out = NULL;
    if (!texture)
        return false;
    ID3D11Texture2D_GetDesc(texture, &desc);
    desc.Usage = D3D11_USAGE_STAGING;
    desc.BindFlags = 0;
    desc.CPUAccessFlags = D3D11_CPU_ACCESS_READ;
    desc.MiscFlags = 0;
    ID3D11Texture2D_GetDevice(texture, &device);
    ID3D11Device_GetImmediateContext(device, &context);
    if (SUCCEEDED(ID3D11Device_CreateTexture2D(device, &desc, NULL, &staging))) {
        ID3D11DeviceContext_CopyResource(context, (ID3D11Resource *)staging, (ID3D11Resource *)texture);
        if (SUCCEEDED(ID3D11DeviceContext_Map(context, (ID3D11Resource *)staging, 0, D3D11_MAP_READ, 0, &mapped))) {
            *out = malloc((size_t)mapped.RowPitch * desc.Height);
            if (*out) {
                memcpy(*out, mapped.pData, (size_t)mapped.RowPitch * desc.Height);
                *out_pitch = mapped.RowPitch;
                ok = true;
            }
            ID3D11DeviceContext_Unmap(context, (ID3D11Resource *)staging, 0);
        }
        ID3D11Texture2D_Release(staging);
    }
    ID3D11DeviceContext_Release(context);
    ID3D11Device_Release(device);
    return ok;
}
