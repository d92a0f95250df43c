/*
 * d3d12util.c - D3D12 helpers for the test cases (see d3d12util.h).
 */
#include "d3d12util.h"

#include <stdlib.h>
#include <string.h>

void tu_fill(uint8_t *dst, uint32_t pitch, uint32_t width, uint32_t height, uint32_t bpp, uint64_t frame)
{
    for (uint32_t y = 0; y < height; y++)
        for (uint32_t x = 0; x < width; x++)
            for (uint32_t c = 0; c < bpp; c++)
                dst[(size_t)y * pitch + (size_t)x * bpp + c] = tu_pattern(frame, x, y, c);
}

uint64_t tu_count_bad(const uint8_t *src, uint32_t pitch, uint32_t width, uint32_t height, uint32_t bpp,
                      uint64_t frame)
{
    uint64_t bad = 0;
    for (uint32_t y = 0; y < height; y++)
        for (uint32_t x = 0; x < width; x++)
            for (uint32_t c = 0; c < bpp; c++)
                bad += src[(size_t)y * pitch + (size_t)x * bpp + c] != tu_pattern(frame, x, y, c);
    return bad;
}

bool tu_gpu_init(tu_gpu *g)
{
    D3D12_COMMAND_QUEUE_DESC desc = {D3D12_COMMAND_LIST_TYPE_DIRECT, 0, D3D12_COMMAND_QUEUE_FLAG_NONE, 0};
    memset(g, 0, sizeof(*g));
    g->device = dp12_get_device();
    if (!g->device)
        return false;
    g->event = CreateEventW(NULL, FALSE, FALSE, NULL);
    return SUCCEEDED(ID3D12Device_CreateCommandQueue(g->device, &desc, &IID_ID3D12CommandQueue, (void **)&g->queue)) &&
           SUCCEEDED(ID3D12Device_CreateCommandAllocator(g->device, D3D12_COMMAND_LIST_TYPE_DIRECT,
                                                         &IID_ID3D12CommandAllocator, (void **)&g->allocator)) &&
           SUCCEEDED(ID3D12Device_CreateCommandList(g->device, 0, D3D12_COMMAND_LIST_TYPE_DIRECT, g->allocator, NULL,
                                                    &IID_ID3D12GraphicsCommandList, (void **)&g->list)) &&
           SUCCEEDED(ID3D12GraphicsCommandList_Close(g->list)) &&
           SUCCEEDED(ID3D12Device_CreateFence(g->device, 0, D3D12_FENCE_FLAG_NONE, &IID_ID3D12Fence,
                                              (void **)&g->fence)) &&
           g->event;
}

static bool tu_gpu_finish(tu_gpu *g)
{
    ++g->fence_value;
    if (FAILED(ID3D12CommandQueue_Signal(g->queue, g->fence, g->fence_value)) ||
        FAILED(ID3D12Fence_SetEventOnCompletion(g->fence, g->fence_value, g->event)))
        return false;
    return WaitForSingleObject(g->event, 10000) == WAIT_OBJECT_0;
}

void tu_gpu_free(tu_gpu *g)
{
    if (g->queue && g->fence)
        tu_gpu_finish(g);
    if (g->pending)
        ID3D12Resource_Release(g->pending);
    if (g->list)
        ID3D12GraphicsCommandList_Release(g->list);
    if (g->allocator)
        ID3D12CommandAllocator_Release(g->allocator);
    if (g->queue)
        ID3D12CommandQueue_Release(g->queue);
    if (g->fence)
        ID3D12Fence_Release(g->fence);
    if (g->event)
        CloseHandle(g->event);
    memset(g, 0, sizeof(*g));
}

/* A buffer on heap type `type` laid out as texture's copy footprint. */
static ID3D12Resource *tu_buffer(tu_gpu *g, ID3D12Resource *texture, D3D12_HEAP_TYPE type,
                                 D3D12_PLACED_SUBRESOURCE_FOOTPRINT *fp)
{
    D3D12_RESOURCE_DESC tex_desc, desc = {0};
    D3D12_HEAP_PROPERTIES heap = {0};
    ID3D12Resource *buffer = NULL;
    UINT64 total = 0;
    texture->lpVtbl->GetDesc(texture, &tex_desc);
    ID3D12Device_GetCopyableFootprints(g->device, &tex_desc, 0, 1, 0, fp, NULL, NULL, &total);
    heap.Type = type;
    desc.Dimension = D3D12_RESOURCE_DIMENSION_BUFFER;
    desc.Width = total;
    desc.Height = 1;
    desc.DepthOrArraySize = 1;
    desc.MipLevels = 1;
    desc.SampleDesc.Count = 1;
    desc.Layout = D3D12_TEXTURE_LAYOUT_ROW_MAJOR;
    if (FAILED(ID3D12Device_CreateCommittedResource(
            g->device, &heap, D3D12_HEAP_FLAG_NONE, &desc,
            type == D3D12_HEAP_TYPE_UPLOAD ? D3D12_RESOURCE_STATE_GENERIC_READ : D3D12_RESOURCE_STATE_COPY_DEST, NULL,
            &IID_ID3D12Resource, (void **)&buffer)))
        return NULL;
    return buffer;
}

/* gate (optional): the queue waits for it to reach gate_value before the copy. */
static bool tu_copy(tu_gpu *g, ID3D12Resource *texture, ID3D12Resource *buffer,
                    const D3D12_PLACED_SUBRESOURCE_FOOTPRINT *fp, bool to_texture, ID3D12Fence *gate,
                    uint64_t gate_value)
{
    D3D12_TEXTURE_COPY_LOCATION tex = {0}, buf = {0};
    ID3D12CommandList *lists[1] = {(ID3D12CommandList *)g->list};
    tex.pResource = texture;
    tex.Type = D3D12_TEXTURE_COPY_TYPE_SUBRESOURCE_INDEX;
    buf.pResource = buffer;
    buf.Type = D3D12_TEXTURE_COPY_TYPE_PLACED_FOOTPRINT;
    buf.PlacedFootprint = *fp;
    /* The allocator is reset below, and D3D12 forbids that while the GPU still runs a
     * list it recorded: the last copy (a write's, still queued) must be done first.
     * Without this wait vkd3d drops a queued write now and then. */
    if (!tu_gpu_finish(g) || FAILED(ID3D12CommandAllocator_Reset(g->allocator)) ||
        FAILED(ID3D12GraphicsCommandList_Reset(g->list, g->allocator, NULL)))
        return false;
    if (to_texture)
        ID3D12GraphicsCommandList_CopyTextureRegion(g->list, &tex, 0, 0, 0, &buf, NULL);
    else
        ID3D12GraphicsCommandList_CopyTextureRegion(g->list, &buf, 0, 0, 0, &tex, NULL);
    if (FAILED(ID3D12GraphicsCommandList_Close(g->list)))
        return false;
    if (gate && FAILED(ID3D12CommandQueue_Wait(g->queue, gate, gate_value)))
        return false;
    ID3D12CommandQueue_ExecuteCommandLists(g->queue, 1, lists);
    return true;
}

bool tu_gpu_write(tu_gpu *g, ID3D12Resource *texture, uint32_t bpp, uint64_t frame)
{
    D3D12_PLACED_SUBRESOURCE_FOOTPRINT fp;
    ID3D12Resource *buffer = tu_buffer(g, texture, D3D12_HEAP_TYPE_UPLOAD, &fp);
    uint8_t *ptr = NULL;
    bool ok;
    if (!buffer)
        return false;
    ok = SUCCEEDED(ID3D12Resource_Map(buffer, 0, NULL, (void **)&ptr));
    if (ok) {
        tu_fill(ptr, fp.Footprint.RowPitch, fp.Footprint.Width, fp.Footprint.Height, bpp, frame);
        ID3D12Resource_Unmap(buffer, 0, NULL);
        ok = tu_copy(g, texture, buffer, &fp, true, NULL, 0);
    }
    /* The copy is still queued: the buffer lives until the next copy (which waits for
     * this one first) or tu_gpu_free. */
    if (g->pending) {
        ok = tu_gpu_finish(g) && ok;
        ID3D12Resource_Release(g->pending);
    }
    g->pending = buffer;
    return ok;
}

bool tu_gpu_read_gated(tu_gpu *g, ID3D12Resource *texture, ID3D12Fence *gate, uint64_t gate_value,
                       tu_readback *out)
{
    out->buffer = tu_buffer(g, texture, D3D12_HEAP_TYPE_READBACK, &out->fp);
    return out->buffer && tu_copy(g, texture, out->buffer, &out->fp, false, gate, gate_value);
}

bool tu_gpu_collect(tu_gpu *g, tu_readback *rb, uint8_t **out, uint32_t *out_pitch)
{
    ID3D12Resource *buffer = rb->buffer;
    D3D12_PLACED_SUBRESOURCE_FOOTPRINT fp = rb->fp;
    uint8_t *ptr = NULL;
    size_t size;
    bool ok;
    *out = NULL;
    rb->buffer = NULL;
    if (!buffer)
        return false;
    ok = tu_gpu_finish(g) && SUCCEEDED(ID3D12Resource_Map(buffer, 0, NULL, (void **)&ptr));
    if (ok) {
        size = (size_t)fp.Footprint.RowPitch * fp.Footprint.Height;
        *out = malloc(size);
        if (*out)
            memcpy(*out, ptr, size);
        *out_pitch = fp.Footprint.RowPitch;
        ID3D12Resource_Unmap(buffer, 0, NULL);
    }
    ID3D12Resource_Release(buffer);
    return ok && *out;
}

bool tu_gpu_read(tu_gpu *g, ID3D12Resource *texture, uint8_t **out, uint32_t *out_pitch)
{
    tu_readback rb;
    *out = NULL;
    return tu_gpu_read_gated(g, texture, NULL, 0, &rb) && tu_gpu_collect(g, &rb, out, out_pitch);
}
