/*
 * d3d12util.h - what the D3D12 test cases do with a device: a queue, writing a
 * frame-numbered pattern into a texture on the GPU, reading a texture back.
 */
#ifndef D3D12UTIL_H
#define D3D12UTIL_H

#define COBJMACROS
#include <windows.h>
#include <d3d12.h>
#include <stdbool.h>
#include <stdint.h>
#include "directport.h"

/* The byte at (x, y), channel byte c, of frame `frame`: every byte of a frame is
 * determined by the frame number, so a torn or stale frame shows. */
static inline uint8_t tu_pattern(uint64_t frame, uint32_t x, uint32_t y, uint32_t c)
{
    return (uint8_t)(frame * 31u + x * 7u + y * 13u + c * 59u);
}

/* Fills rows of width*bpp bytes, pitch apart, with frame's pattern. */
void tu_fill(uint8_t *dst, uint32_t pitch, uint32_t width, uint32_t height, uint32_t bpp, uint64_t frame);
/* Number of bytes that differ from frame's pattern. */
uint64_t tu_count_bad(const uint8_t *src, uint32_t pitch, uint32_t width, uint32_t height, uint32_t bpp,
                      uint64_t frame);

typedef struct {
    ID3D12Device *device;
    ID3D12CommandQueue *queue;
    ID3D12CommandAllocator *allocator;
    ID3D12GraphicsCommandList *list;
    ID3D12Fence *fence;
    uint64_t fence_value;
    HANDLE event;
    ID3D12Resource *pending;  /* upload buffer of the last write, until its copy ran */
} tu_gpu;

/* A direct queue, a command list and a fence on dp12_get_device(). */
bool tu_gpu_init(tu_gpu *g);
void tu_gpu_free(tu_gpu *g);
/* Queues a copy of frame's pattern into texture (COMMON -> COMMON) on g's queue and
 * returns without waiting for it. */
bool tu_gpu_write(tu_gpu *g, ID3D12Resource *texture, uint32_t bpp, uint64_t frame);
/* Copies texture into *out (malloc'd, rows of `*out_pitch`) on g's queue and waits
 * for it on the CPU. */
bool tu_gpu_read(tu_gpu *g, ID3D12Resource *texture, uint8_t **out, uint32_t *out_pitch);
/* The same in two steps: queues the copy behind a queue wait for gate (optional) to reach
 * gate_value, without waiting; tu_gpu_collect then waits for it and takes the pixels. */
typedef struct {
    ID3D12Resource *buffer;
    D3D12_PLACED_SUBRESOURCE_FOOTPRINT fp;
} tu_readback;
bool tu_gpu_read_gated(tu_gpu *g, ID3D12Resource *texture, ID3D12Fence *gate, uint64_t gate_value,
                       tu_readback *out);
bool tu_gpu_collect(tu_gpu *g, tu_readback *rb, uint8_t **out, uint32_t *out_pitch);

#endif
