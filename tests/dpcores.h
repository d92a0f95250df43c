/*
 * dpcores.h - the two cores as the test cases see them: one table per API (dpt_d3d11,
 * dpt_d3d12), so that a case written once runs over both. The entries are thin
 * wrappers of the public dp11_* / dp12_* calls; what the cores do differently for the
 * caller (D3D12's queue, D3D11's immediate context, the texture types) stays behind
 * them. Each table also lists its core's handle-taking calls (expect_bad_handle), which
 * both cores' cases use; other checks of one core's own calls stay in its test file.
 */
#ifndef DPCORES_H
#define DPCORES_H

#include "d3d11util.h"

/* Every DP_FORMAT: bytes per pixel and its textures' DXGI format (the reference's for
 * 0..3). */
#define DPT_FORMATS 8
extern const uint32_t dpt_bpp[DPT_FORMATS];
extern const DXGI_FORMAT dpt_dxgi[DPT_FORMATS];

/* What a case renders and reads with. D3D12: its own direct queue. D3D11: the device's
 * immediate context, which needs nothing here. A NULL dpt_gpu given to a call that takes
 * a queue passes a NULL queue. */
typedef struct {
    tu_gpu g;
} dpt_gpu;

/* A texture as both cores describe it. */
typedef struct {
    uint32_t width, height, mips, array, samples;
    DXGI_FORMAT format;
    void *device; /* the device it was made on; for comparison only (not a reference) */
} dpt_texture_desc;

typedef struct dpt_api dpt_api;
struct dpt_api {
    const char *name;     /* "d3d11" / "d3d12": case names, object names, messages */
    const dpt_api *other; /* the other core */
    bool system_ram;      /* has CPU-memory ports (DP_PORT_SYSTEM_RAM, dp12_map_memory) */
    /* A consumer's completed value has reached what gpu_wait waited for once it returns,
     * where the producer signalled before the wait: dp11_wait_fence blocks a
     * host-transport consumer until the frame is in its texture; dp12_queue_wait only
     * queues the wait (and vkd3d moves the value a moment later). */
    bool completed_after_gpu_wait;
    /* A host-transport consumer's signal is refused with DP_ERROR_UNSUPPORTED. dp11
     * refuses it; dp12 takes it and moves the consumer's own fence (the cores disagree). */
    bool refuses_consumer_signal;
    /* When the GPU transport is refused, the message names one of these (NULL-ended). */
    const char *share_words[4];

    /* Device. */
    bool (*init)(void);
    void (*shutdown)(void);
    void *(*get_device)(void);
    bool (*init_with_device)(void *device);
    void *(*create_device)(void);         /* a device of the host's own; NULL if none */
    void (*release_device)(void *device);
    unsigned long (*device_refs)(void *device); /* its reference count */

    /* Ports. create_legacy with system_ram only where the core has it (.system_ram). */
    DP_HANDLE (*create_port)(const DP_PORT_DESC *desc);
    DP_HANDLE (*open_port)(const wchar_t *name);
    DP_HANDLE (*create_legacy)(uint32_t width, uint32_t height, DP_FORMAT format, bool system_ram,
                               const wchar_t *tex_name, const wchar_t *fence_name);
    DP_HANDLE (*open_legacy)(const wchar_t *tex_name, const wchar_t *fence_name);
    void (*close)(DP_HANDLE h);
    void *(*texture)(DP_HANDLE h);        /* dp12_get_resource / dp11_get_texture */
    bool (*texture_desc)(void *texture, dpt_texture_desc *out);

    /* Fences. */
    uint64_t (*completed)(DP_HANDLE h);
    DP_RESULT (*cpu_wait)(DP_HANDLE h, uint64_t value, uint32_t timeout_ms);
    /* The reference API's wait for a value: dp12_cpu_wait; dp11_wait_fence (GPU-side on
     * the GPU transport, the CPU's on a host consumer). */
    void (*wait_fence)(DP_HANDLE h, uint64_t value);

    /* GPU work of a case. write queues frame's pattern into texture without waiting;
     * read copies texture into *out (malloc'd, rows *out_pitch apart), waiting for it. */
    bool (*gpu_init)(dpt_gpu *g);
    void (*gpu_free)(dpt_gpu *g);
    bool (*write)(dpt_gpu *g, void *texture, uint32_t bpp, uint64_t frame);
    bool (*read)(dpt_gpu *g, void *texture, uint8_t **out, uint32_t *out_pitch);
    /* The producer's signal after the GPU work so far: dp12_queue_signal (its result) /
     * dp11_signal_fence (true: it returns nothing). */
    bool (*signal)(dpt_gpu *g, DP_HANDLE h, uint64_t value);
    /* Orders g's later work after value: dp12_queue_wait / dp11_wait_fence. */
    void (*gpu_wait)(dpt_gpu *g, DP_HANDLE h, uint64_t value);

    /* The frame protocol. The texture out-parameters are the core's texture type; what
     * *out held before the call is handed to the core as it was. */
    DP_RESULT (*begin)(DP_HANDLE h, void **out_target);
    DP_RESULT (*end)(dpt_gpu *g, DP_HANDLE h, uint64_t *out_frame);
    DP_RESULT (*acquire)(dpt_gpu *g, DP_HANDLE h, uint32_t timeout_ms, void **out_source, uint64_t *out_frame);
    void (*release)(dpt_gpu *g, DP_HANDLE h);
    DP_RESULT (*resize)(DP_HANDLE h, uint32_t width, uint32_t height);

    /* Checks that every call of this core taking a handle fails on h with
     * DP_ERROR_INVALID_ARGUMENT (`what` names h in the messages), dp*_close last. With
     * other_core, h is a live handle of the other core: the calls both cores share
     * (dp_get_transport, dp_get_port_info) are left out. */
    void (*expect_bad_handle)(dpt_gpu *g, DP_HANDLE h, const char *what, bool other_core);
};

extern const dpt_api dpt_d3d11, dpt_d3d12;

/* The table called `name` ("d3d11", "d3d12": a child's argument); NULL for another. */
const dpt_api *dpt_api_named(const wchar_t *name);

/* Object names unique to this run and core, so a left-over of a crashed run never
 * collides: legacy NT names Local\dptest.<pid>.<core>.<what>, port names (DP_PORT_DESC.name)
 * <core>.<what>.<pid>. */
void dpt_nt_name(const dpt_api *api, wchar_t *out, size_t cap, const char *what);
void dpt_port_name(const dpt_api *api, wchar_t *out, size_t cap, const char *what);

/* Writes frame's pattern into h's texture (queued, not waited for). */
bool dpt_write_frame(const dpt_api *api, dpt_gpu *g, DP_HANDLE h, uint64_t frame);
/* Reads h's texture back and counts the bytes that differ from frame's pattern;
 * UINT64_MAX if it cannot be read. */
uint64_t dpt_bad_bytes(const dpt_api *api, dpt_gpu *g, DP_HANDLE h, uint64_t frame);
/* Checks that texture is w x h and holds exactly frame's pattern (4 bytes a pixel). */
bool dpt_check_frame(const dpt_api *api, dpt_gpu *g, void *texture, uint64_t frame, uint32_t w, uint32_t h);

#endif
