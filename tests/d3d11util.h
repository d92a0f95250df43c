/*
 * d3d11util.h - what the D3D11 test cases do with a texture: write a frame-numbered
 * pattern into it, read it back. The pattern and its checks are d3d12util.h's
 * (tu_pattern, tu_fill, tu_count_bad), so frames compare across the two cores.
 */
#ifndef D3D11UTIL_H
#define D3D11UTIL_H

#include "d3d12util.h"
#include <d3d11.h>

/* Writes frame's pattern into texture with UpdateSubresource on its device's immediate
 * context (bpp bytes per pixel); returns without waiting for the GPU. */
bool tu11_write(ID3D11Texture2D *texture, uint32_t bpp, uint64_t frame);
/* Copies texture into a STAGING texture on the immediate context, maps it (waiting for
 * the copy) and copies it into *out (malloc'd, rows of `*out_pitch`). */
bool tu11_read(ID3D11Texture2D *texture, uint8_t **out, uint32_t *out_pitch);

#endif
