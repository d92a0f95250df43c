/*
 * directportd3d12.c - the D3D12 backend of the port engine and the dp12_* entry points.
 *
 * The entry points are thin: the engine (directportengine.c) holds every call's body
 * and reaches D3D12 through dp12_backend, at the end of this file. What only D3D12
 * has stays here: the device, textures and fences, NT sharing and opening, the host
 * worker's copy queue, map, the legacy fence calls.
 *
 * GPU transport: the slot textures and the fence are NT-shared objects carrying the
 * port's names, one set per generation. Host transport (drivers without NT sharing,
 * such as Wine's vkd3d): the textures are local, the fence is the handle's own, and
 * directporthost.c's worker keeps them in step with the port's sections through the
 * host ops below, on a private copy queue.
 *
 * Which textures a generation has:
 *   GPU, either side   the port's slot textures;
 *   host producer      a local texture per slot (begin_frame hands them out);
 *   host consumer      two local textures that acquires alternate between, so the
 *                      worker uploads the next frame while the caller reads the last.
 */
#include "directportint.h"

_Static_assert(DXGI_FORMAT_B8G8R8A8_UNORM == 87 && DXGI_FORMAT_R32_FLOAT == 41 && DXGI_FORMAT_R16_FLOAT == 54 &&
                   DXGI_FORMAT_R32_UINT == 42 && DXGI_FORMAT_R8G8B8A8_UNORM == 28 &&
                   DXGI_FORMAT_R16G16B16A16_FLOAT == 10 && DXGI_FORMAT_R32G32B32A32_FLOAT == 2 &&
                   DXGI_FORMAT_R10G10B10A2_UNORM == 24,
               "directportblock.c's format table uses these DXGI numbers");

#define DP12_CONSUMER_TEXTURES 2u

/* One generation's objects. */
typedef struct {
    dp_gen base;
    ID3D12Resource *texture[DPB_MAX_SLOTS];
    uint32_t textures;
    bool row_major;                     /* external ports only: CPU-visible row-major texture 0 */
    ID3D12Fence *shared_fence;          /* GPU transport: the generation's fence */
    HANDLE texture_nt[DPB_MAX_SLOTS];   /* NT shared handles (GPU transport) */
    HANDLE fence_nt;
    /* Map state (texture 0 or the host section). */
    uint8_t *map_ptr;
    uint8_t *map_staging;               /* CPU copy where the driver cannot map a row-major texture */
    uint32_t map_pitch;
    uint64_t texture_free_at[DP12_CONSUMER_TEXTURES]; /* host consumer: release value before reuse */
    /* Host transport: used by the worker thread only. */
    ID3D12Resource *buffer;             /* readback (producer) or upload (consumer) buffer */
    uint8_t *buffer_ptr;
    D3D12_PLACED_SUBRESOURCE_FOOTPRINT footprint;
    ID3D12CommandQueue *copy_queue;
    ID3D12CommandAllocator *allocator;
    ID3D12GraphicsCommandList *list;
    ID3D12Fence *copy_fence;
    uint64_t copy_value;
    HANDLE copy_event;
    HANDLE local_event;
    bool copy_stuck;                    /* a copy outlived its bound: list and allocator may be in use */
    /* dp12_upload_bgra's objects, made at its first call; the lock keeps them from the
     * host worker, which takes uploaded rows from them (zeroed memory: initialised). */
    SRWLOCK upload_lock;
    struct dp12_uploader *uploader;
} dp12_gen;

typedef struct {
    dp_port base;                       /* first: the engine sees every handle as a dp_port */
    ID3D12Fence *local_fence;           /* host transport: the handle's own fence */
    /* Consumer: the caller signals release_fence on its queue when done with a frame. */
    ID3D12Fence *release_fence;
    uint32_t held_texture;
    uint32_t next_texture;
} dp12_port;

static struct {
    SRWLOCK lock;
    ID3D12Device *device;
    int can_share;                      /* -1 unknown, 0 no, 1 yes */
} dp12 = {SRWLOCK_INIT, NULL, -1};

static const dp_backend dp12_backend;

/* dp12_upload_bgra's, with the reference's extras at the end of this file. */
static void dp12_upload_release(dp12_gen *g);
static bool dp12_upload_take(dp12_gen *g, void *dst);

static dp12_gen *dp12_gen_of(const dp12_port *p)
{
    return (dp12_gen *)p->base.gen;
}

/* The frame fence of a generation: its shared one, or the handle's own. */
static ID3D12Fence *dp12_gen_fence(const dp12_port *p, const dp_gen *gen)
{
    const dp12_gen *g = (const dp12_gen *)gen;
    return g && g->shared_fence ? g->shared_fence : p->local_fence;
}

static ID3D12Fence *dp12_fence(const dp12_port *p)
{
    return dp12_gen_fence(p, p->base.gen);
}

static dp12_port *dp12_get(DP_HANDLE h, const char *fn)
{
    return (dp12_port *)dp_engine_get(&dp12_backend, h, fn);
}

/* ---- Device ------------------------------------------------------------------------- */

static bool dp12_ready(void)
{
    return dp12.device != NULL;
}

static HRESULT dp12_create_device(void)
{
    ID3D12Debug *debug = NULL;
    HRESULT hr = S_OK;
    AcquireSRWLockExclusive(&dp12.lock);
    /* Opt-in only: the debug layer is the process's from then on. */
    if (!dp12.device && dp_debug_layers() && SUCCEEDED(D3D12GetDebugInterface(&IID_ID3D12Debug, (void **)&debug))) {
        ID3D12Debug_EnableDebugLayer(debug);
        ID3D12Debug_Release(debug);
    }
    if (!dp12.device)
        hr = D3D12CreateDevice(NULL, D3D_FEATURE_LEVEL_11_0, &IID_ID3D12Device, (void **)&dp12.device);
    ReleaseSRWLockExclusive(&dp12.lock);
    return hr;
}

/* The D3D12 debug layer's errors and corruptions for the library's device since the last
 * look (none without the layer). */
uint32_t dp12_debug_harvest(void)
{
    ID3D12InfoQueue *queue = NULL;
    uint32_t errors = 0;
    AcquireSRWLockExclusive(&dp12.lock);
    if (dp12.device && SUCCEEDED(ID3D12Device_QueryInterface(dp12.device, &IID_ID3D12InfoQueue, (void **)&queue))) {
        UINT64 n = ID3D12InfoQueue_GetNumStoredMessages(queue);
        for (UINT64 i = 0; i < n; i++) {
            SIZE_T len = 0;
            D3D12_MESSAGE *m;
            if (FAILED(ID3D12InfoQueue_GetMessage(queue, i, NULL, &len)) ||
                !(m = HeapAlloc(GetProcessHeap(), 0, len)))
                continue;
            if (SUCCEEDED(ID3D12InfoQueue_GetMessage(queue, i, m, &len)) &&
                m->Severity <= D3D12_MESSAGE_SEVERITY_ERROR)
                errors++;
            HeapFree(GetProcessHeap(), 0, m);
        }
        ID3D12InfoQueue_ClearStoredMessages(queue);
        ID3D12InfoQueue_Release(queue);
    }
    ReleaseSRWLockExclusive(&dp12.lock);
    return errors;
}

static void *dp12_device(void)
{
    return dp12.device;
}

static void dp12_adopt_device(void *device)
{
    ID3D12Device_AddRef((ID3D12Device *)device);
    dp12.device = device;
}

static void dp12_release_device(void)
{
    dp_debug_add(dp12_debug_harvest());
    AcquireSRWLockExclusive(&dp12.lock);
    DP_RELEASE(dp12.device);
    dp12.can_share = -1;
    ReleaseSRWLockExclusive(&dp12.lock);
}

/* Whether the driver implements NT shared handles, both halves a port needs: asked once
 * of a throwaway fence, shared under a name and opened by it (a driver that can create
 * but not open by name, as Wine 11's vkd3d-proton, would leave every consumer out). */
static bool dp12_device_can_share(void)
{
    static volatile LONG probes;
    ID3D12Fence *fence = NULL;
    HANDLE nt = NULL, opened = NULL;
    wchar_t name[64] = {0};
    HRESULT hr;
    bool yes;
    AcquireSRWLockExclusive(&dp12.lock);
    if (dp12.can_share >= 0) {
        yes = dp12.can_share == 1;
        ReleaseSRWLockExclusive(&dp12.lock);
        return yes;
    }
    _snwprintf(name, DP_ARRAY_SIZE(name) - 1, L"Local\\DirectPort.probe.%lu.%ld", (unsigned long)GetCurrentProcessId(),
               (long)InterlockedIncrement(&probes));
    hr = ID3D12Device_CreateFence(dp12.device, 0, D3D12_FENCE_FLAG_SHARED, &IID_ID3D12Fence, (void **)&fence);
    if (SUCCEEDED(hr))
        hr = ID3D12Device_CreateSharedHandle(dp12.device, (ID3D12DeviceChild *)fence, NULL, GENERIC_ALL, name, &nt);
    if (SUCCEEDED(hr))
        hr = ID3D12Device_OpenSharedHandleByName(dp12.device, name, GENERIC_ALL, &opened);
    if (opened)
        CloseHandle(opened);
    if (nt)
        CloseHandle(nt);
    DP_RELEASE(fence);
    /* Only a definite answer is kept: a passing failure (memory) is asked again next time. */
    yes = SUCCEEDED(hr);
    if (yes || dp_hr_is_unsupported(hr) || hr == HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND))
        dp12.can_share = yes ? 1 : 0;
    ReleaseSRWLockExclusive(&dp12.lock);
    return yes;
}

static LUID dp12_adapter(void)
{
    LUID luid;
    dp12.device->lpVtbl->GetAdapterLuid(dp12.device, &luid);
    return luid;
}

/* ---- Device objects ------------------------------------------------------------------- */

/* A slot texture in GPU memory. System-RAM ports keep their pixels in the host section
 * (their textures are ordinary): D3D12 has no shared CPU-visible heaps, and refuses a
 * CPU-visible texture outright on discrete GPUs. */
static DP_RESULT dp12_create_texture(const dp12_gen *g, bool shared, ID3D12Resource **out)
{
    D3D12_HEAP_PROPERTIES heap = {D3D12_HEAP_TYPE_DEFAULT, 0, 0, 0, 0};
    D3D12_RESOURCE_DESC desc = {0};
    D3D12_HEAP_FLAGS heap_flags = shared ? D3D12_HEAP_FLAG_SHARED : D3D12_HEAP_FLAG_NONE;
    HRESULT hr;

    desc.Dimension = D3D12_RESOURCE_DIMENSION_TEXTURE2D;
    desc.Width = g->base.geo.width;
    desc.Height = g->base.geo.height;
    desc.DepthOrArraySize = 1;
    desc.MipLevels = 1;
    desc.Format = (DXGI_FORMAT)g->base.geo.dxgi_format;
    desc.SampleDesc.Count = 1;
    desc.Layout = D3D12_TEXTURE_LAYOUT_UNKNOWN;
    desc.Flags = D3D12_RESOURCE_FLAG_ALLOW_RENDER_TARGET | D3D12_RESOURCE_FLAG_ALLOW_SIMULTANEOUS_ACCESS;
    hr = ID3D12Device_CreateCommittedResource(dp12.device, &heap, heap_flags, &desc, D3D12_RESOURCE_STATE_COMMON,
                                              NULL, &IID_ID3D12Resource, (void **)out);
    if (FAILED(hr))
        return dp_fail_d3d(hr, "CreateCommittedResource(texture)");
    return DP_OK;
}

static DP_RESULT dp12_create_fence(bool shared, ID3D12Fence **out)
{
    HRESULT hr = ID3D12Device_CreateFence(dp12.device, 0, shared ? D3D12_FENCE_FLAG_SHARED : D3D12_FENCE_FLAG_NONE,
                                          &IID_ID3D12Fence, (void **)out);
    if (FAILED(hr))
        return dp_fail_d3d(hr, "CreateFence");
    return DP_OK;
}

/* Exports obj under name; a taken name is DP_ERROR_NAME_IN_USE. */
static DP_RESULT dp12_share(ID3D12DeviceChild *obj, const dp_security *sec, const wchar_t *name, HANDLE *out)
{
    HANDLE nt = NULL;
    HRESULT hr = ID3D12Device_CreateSharedHandle(dp12.device, obj, &sec->sa, GENERIC_ALL, name, &nt);
    if (FAILED(hr))
        return dp_fail_share(hr, name, "ID3D12Device::CreateSharedHandle");
    *out = dp_track(nt);
    return DP_OK;
}

DP_RESULT dp12_open_nt(ID3D12Device *device, const wchar_t *name, HANDLE *out)
{
    HANDLE nt = NULL;
    HRESULT hr = ID3D12Device_OpenSharedHandleByName(device, name, GENERIC_ALL, &nt);
    if (FAILED(hr)) {
        if (hr == HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND) || dp_hr_is_unsupported(hr))
            return dp_fail_hr(DP_ERROR_NOT_FOUND, hr, "OpenSharedHandleByName");
        return dp_fail_d3d(hr, "OpenSharedHandleByName");
    }
    *out = dp_track(nt);
    return DP_OK;
}

static DP_RESULT dp12_open_shared(const wchar_t *name, REFIID iid, void **out, HANDLE *out_nt)
{
    DP_RESULT r = dp12_open_nt(dp12.device, name, out_nt);
    HRESULT hr;
    if (r != DP_OK)
        return r;
    hr = ID3D12Device_OpenSharedHandle(dp12.device, *out_nt, iid, out);
    if (FAILED(hr))
        return dp_fail_d3d(hr, "OpenSharedHandle");
    return DP_OK;
}

/* A buffer of size bytes in a READBACK or UPLOAD heap, mapped for its lifetime. */
static HRESULT dp12_copy_buffer(D3D12_HEAP_TYPE type, UINT64 size, ID3D12Resource **out, uint8_t **out_ptr)
{
    D3D12_HEAP_PROPERTIES heap = {0};
    D3D12_RESOURCE_DESC desc = {0};
    HRESULT hr;
    heap.Type = type;
    desc.Dimension = D3D12_RESOURCE_DIMENSION_BUFFER;
    desc.Width = size;
    desc.Height = 1;
    desc.DepthOrArraySize = 1;
    desc.MipLevels = 1;
    desc.SampleDesc.Count = 1;
    desc.Layout = D3D12_TEXTURE_LAYOUT_ROW_MAJOR;
    hr = ID3D12Device_CreateCommittedResource(dp12.device, &heap, D3D12_HEAP_FLAG_NONE, &desc,
                                              type == D3D12_HEAP_TYPE_READBACK ? D3D12_RESOURCE_STATE_COPY_DEST
                                                                               : D3D12_RESOURCE_STATE_GENERIC_READ,
                                              NULL, &IID_ID3D12Resource, (void **)out);
    return SUCCEEDED(hr) ? ID3D12Resource_Map(*out, 0, NULL, (void **)out_ptr) : hr;
}

/* A copy queue of its own (a handle's copies never wait behind another's GPU-side
 * waits), or a closed copy command list and its allocator. */
static HRESULT dp12_copy_queue(ID3D12CommandQueue **out)
{
    D3D12_COMMAND_QUEUE_DESC qd = {D3D12_COMMAND_LIST_TYPE_COPY, 0, D3D12_COMMAND_QUEUE_FLAG_NONE, 0};
    return ID3D12Device_CreateCommandQueue(dp12.device, &qd, &IID_ID3D12CommandQueue, (void **)out);
}

static HRESULT dp12_copy_list(ID3D12CommandAllocator **allocator, ID3D12GraphicsCommandList **list)
{
    HRESULT hr = ID3D12Device_CreateCommandAllocator(dp12.device, D3D12_COMMAND_LIST_TYPE_COPY,
                                                     &IID_ID3D12CommandAllocator, (void **)allocator);
    if (SUCCEEDED(hr))
        hr = ID3D12Device_CreateCommandList(dp12.device, 0, D3D12_COMMAND_LIST_TYPE_COPY, *allocator, NULL,
                                            &IID_ID3D12GraphicsCommandList, (void **)list);
    return SUCCEEDED(hr) ? ID3D12GraphicsCommandList_Close(*list) : hr;
}

/* The host worker's copy objects: a buffer laid out as the section's rows (readback
 * for a producer, upload for a consumer) and a command list for the copy queue. */
static DP_RESULT dp12_create_copy_objects(dp12_gen *g, bool producer)
{
    const dp_geometry *geo = &g->base.geo;
    D3D12_RESOURCE_DESC tex_desc;
    UINT64 total = 0;
    HRESULT hr;

    g->copy_event = dp_track(CreateEventW(NULL, FALSE, FALSE, NULL));
    g->local_event = dp_track(CreateEventW(NULL, FALSE, FALSE, NULL));
    if (!g->copy_event || !g->local_event)
        return dp_fail_win32(DP_ERROR_OUT_OF_MEMORY, GetLastError(), "CreateEvent(copy)");
    hr = ID3D12Device_CreateFence(dp12.device, 0, D3D12_FENCE_FLAG_NONE, &IID_ID3D12Fence, (void **)&g->copy_fence);
    if (FAILED(hr))
        return dp_fail_d3d(hr, "CreateFence(copy)");
    hr = dp12_copy_queue(&g->copy_queue);
    if (FAILED(hr))
        return dp_fail_d3d(hr, "CreateCommandQueue(copy)");
    g->texture[0]->lpVtbl->GetDesc(g->texture[0], &tex_desc);
    ID3D12Device_GetCopyableFootprints(dp12.device, &tex_desc, 0, 1, 0, &g->footprint, NULL, NULL, &total);
    if (g->footprint.Footprint.RowPitch != geo->row_pitch)
        return dp_fail(DP_ERROR_DEVICE, "the driver's copy row pitch %u differs from the port's %u",
                       g->footprint.Footprint.RowPitch, geo->row_pitch);
    /* The footprint's last row is unpadded; the section's is not, and the worker copies
     * whole slots. */
    if (total < (UINT64)geo->row_pitch * geo->height)
        total = (UINT64)geo->row_pitch * geo->height;
    hr = dp12_copy_buffer(producer ? D3D12_HEAP_TYPE_READBACK : D3D12_HEAP_TYPE_UPLOAD, total, &g->buffer,
                          &g->buffer_ptr);
    if (FAILED(hr))
        return dp_fail_d3d(hr, "creating the copy buffer");
    hr = dp12_copy_list(&g->allocator, &g->list);
    if (FAILED(hr))
        return dp_fail_d3d(hr, "creating the copy command list");
    return DP_OK;
}

/* The names are anyone's to take: an opened texture must be the one the control block
 * describes, on this device's adapter, or the copies sized from the block overrun. */
static DP_RESULT dp12_check_opened(const dp12_gen *g, ID3D12Resource *texture, const wchar_t *name)
{
    const dp_port *p = g->base.port;
    const dp_geometry *geo = &g->base.geo;
    D3D12_RESOURCE_DESC desc;
    DP_RESULT r = dp_port_check_adapter(p, dp12_adapter());
    if (r != DP_OK)
        return r;
    texture->lpVtbl->GetDesc(texture, &desc);
    if (desc.Dimension != D3D12_RESOURCE_DIMENSION_TEXTURE2D || desc.Width != geo->width ||
        desc.Height != geo->height || (uint32_t)desc.Format != geo->dxgi_format ||
        desc.Layout == D3D12_TEXTURE_LAYOUT_ROW_MAJOR)
        return dp_fail(DP_ERROR_INCOMPATIBLE, "the texture %ls does not match the control block of %ls", name,
                       p->names.display);
    return DP_OK;
}

/* GPU transport: makes (producer, sec given) or opens the generation's shared objects. */
static DP_RESULT dp12_build_gpu(dp12_gen *g, const dp_security *sec)
{
    const dp_port *p = g->base.port;
    wchar_t name[DPN_LEN];
    DP_RESULT r = DP_OK;
    uint32_t i;

    g->textures = g->base.geo.slots;
    for (i = 0; i < g->textures && r == DP_OK; i++) {
        dpn_texture_name(name, DPN_LEN, &p->names, g->base.geo.generation, i);
        if (sec) {
            r = dp12_create_texture(g, true, &g->texture[i]);
            if (r == DP_OK)
                r = dp12_share((ID3D12DeviceChild *)g->texture[i], sec, name, &g->texture_nt[i]);
        } else {
            r = dp12_open_shared(name, &IID_ID3D12Resource, (void **)&g->texture[i], &g->texture_nt[i]);
            if (r == DP_OK)
                r = dp12_check_opened(g, g->texture[i], name);
        }
    }
    dpn_fence_name(name, DPN_LEN, &p->names, g->base.geo.generation);
    if (r == DP_OK && sec) {
        r = dp12_create_fence(true, &g->shared_fence);
        if (r == DP_OK)
            r = dp12_share((ID3D12DeviceChild *)g->shared_fence, sec, name, &g->fence_nt);
    } else if (r == DP_OK) {
        r = dp12_open_shared(name, &IID_ID3D12Fence, (void **)&g->shared_fence, &g->fence_nt);
    }
    return r;
}

static void dp12_gen_free(dp_port *base, dp_gen *gen)
{
    dp12_gen *g = (dp12_gen *)gen;
    (void)base;
    /* The worker uses the copy objects: stop it before they go. */
    dp_host_destroy(g->base.host);
    dp12_upload_release(g);
    if (g->map_ptr && !g->map_staging && g->texture[0] && !g->base.host)
        ID3D12Resource_Unmap(g->texture[0], 0, NULL);
    if (g->map_staging)
        HeapFree(GetProcessHeap(), 0, g->map_staging);
    if (g->buffer_ptr)
        ID3D12Resource_Unmap(g->buffer, 0, NULL);
    DP_RELEASE(g->list);
    DP_RELEASE(g->allocator);
    DP_RELEASE(g->copy_queue);
    DP_RELEASE(g->buffer);
    DP_RELEASE(g->copy_fence);
    for (uint32_t i = 0; i < DPB_MAX_SLOTS; i++) {
        DP_RELEASE(g->texture[i]);
        dp_close_handle(&g->texture_nt[i]);
    }
    DP_RELEASE(g->shared_fence);
    dp_close_handle(&g->fence_nt);
    dp_close_handle(&g->copy_event);
    dp_close_handle(&g->local_event);
}

static DP_RESULT dp12_gen_build(dp_port *p, dp_gen *gen, const dp_security *sec)
{
    dp12_gen *g = (dp12_gen *)gen;
    const dp_geometry *geo = &gen->geo;
    DP_RESULT r = DP_OK;
    if (geo->transport == DP_TRANSPORT_GPU)
        return dp12_build_gpu(g, sec);
    g->textures = p->producer ? geo->slots : DP12_CONSUMER_TEXTURES;
    for (uint32_t i = 0; i < g->textures && r == DP_OK; i++)
        r = dp12_create_texture(g, false, &g->texture[i]);
    if (r == DP_OK)
        r = dp12_create_copy_objects(g, p->producer);
    if (r == DP_OK)
        r = dp_host_start(&g->base, sec);
    return r;
}

/* Objects that live as long as the handle: the host transport's own fence, a
 * consumer's release fence. */
static DP_RESULT dp12_setup(dp_port *base)
{
    dp12_port *p = (dp12_port *)base;
    /* A consumer may follow a port from one transport to the other: it keeps both. */
    if ((base->transport == DP_TRANSPORT_HOST || !base->producer) && dp12_create_fence(false, &p->local_fence) != DP_OK)
        return dp_last_error();
    if (!base->producer && dp12_create_fence(false, &p->release_fence) != DP_OK)
        return dp_last_error();
    return DP_OK;
}

static void dp12_teardown(dp_port *base)
{
    dp12_port *p = (dp12_port *)base;
    DP_RELEASE(p->local_fence);
    DP_RELEASE(p->release_fence);
}

static DP_RESULT dp12_choose_transport(const dp_create_args *a, DP_TRANSPORT *out)
{
    bool system_ram = (a->flags & DP_PORT_SYSTEM_RAM) != 0;
    bool gpu = a->transport != DP_TRANSPORT_HOST && !system_ram && dp12_device_can_share();
    /* "Shared heaps are not supported on CPU-accessible heaps" (D3D12_HEAP_FLAGS): a
     * system-RAM port's memory is the host section, the same on every driver. */
    if (a->transport == DP_TRANSPORT_GPU && system_ram)
        return dp_fail(DP_ERROR_UNSUPPORTED, "DP_PORT_SYSTEM_RAM with DP_TRANSPORT_GPU: D3D12 cannot share a "
                                             "CPU-visible texture; system-RAM ports use the host transport (AUTO or "
                                             "HOST)");
    if (a->transport == DP_TRANSPORT_GPU && !gpu)
        return dp_fail(DP_ERROR_UNSUPPORTED, "DP_TRANSPORT_GPU: this driver does not implement NT shared handles "
                                             "(ID3D12Device::CreateSharedHandle returns E_NOTIMPL); use "
                                             "DP_TRANSPORT_AUTO or DP_TRANSPORT_HOST");
    *out = gpu ? DP_TRANSPORT_GPU : DP_TRANSPORT_HOST;
    return DP_OK;
}

/* A GPU port of another DirectPort build: its texture and fence by their names. */
static DP_RESULT dp12_open_external(dp_port *p, dp_gen *gen, uint32_t *out_dxgi, uint64_t *out_width,
                                    uint32_t *out_height, uint32_t *out_flags)
{
    dp12_gen *g = (dp12_gen *)gen;
    D3D12_RESOURCE_DESC desc;
    DP_RESULT r = dp12_open_shared(p->names.tex, &IID_ID3D12Resource, (void **)&g->texture[0], &g->texture_nt[0]);
    if (r != DP_OK)
        return dp_fail(DP_ERROR_NOT_FOUND, "no port named %ls", p->names.display);
    g->textures = 1;
    r = dp12_open_shared(p->names.fence, &IID_ID3D12Fence, (void **)&g->shared_fence, &g->fence_nt);
    if (r != DP_OK)
        return r;
    g->texture[0]->lpVtbl->GetDesc(g->texture[0], &desc);
    g->row_major = desc.Layout == D3D12_TEXTURE_LAYOUT_ROW_MAJOR;
    *out_dxgi = (uint32_t)desc.Format;
    *out_width = desc.Width;
    *out_height = desc.Height;
    *out_flags = g->row_major ? DP_PORT_SYSTEM_RAM : 0u;
    return DP_OK;
}

/* ---- Frame protocol: the D3D12 halves ------------------------------------------------------ */

static void *dp12_slot_texture(dp_port *p, uint32_t slot)
{
    return dp12_gen_of((dp12_port *)p)->texture[slot];
}

static ID3D12Fence *dp12_role_fence(dp_port *base, dp_gen *g, dp_fence_role role)
{
    dp12_port *p = (dp12_port *)base;
    return role == DP_FENCE_FRAMES ? dp12_gen_fence(p, g) : p->release_fence;
}

static uint64_t dp12_fence_value(dp_port *base, dp_gen *g, dp_fence_role role)
{
    ID3D12Fence *fence = dp12_role_fence(base, g, role);
    return fence ? ID3D12Fence_GetCompletedValue(fence) : UINT64_MAX;
}

static bool dp12_fence_arm(dp_port *base, dp_gen *g, dp_fence_role role, uint64_t value, HANDLE event)
{
    ID3D12Fence *fence = dp12_role_fence(base, g, role);
    return fence && SUCCEEDED(ID3D12Fence_SetEventOnCompletion(fence, value, event));
}

static DP_RESULT dp12_end_frame_api(dp_port *p, void *queue, uint32_t slot, uint64_t frame, uint32_t *out_texture)
{
    HRESULT hr = ID3D12CommandQueue_Signal((ID3D12CommandQueue *)queue, dp12_fence((dp12_port *)p), frame);
    (void)slot;
    (void)out_texture; /* a host readback reads the slot's own texture */
    if (FAILED(hr))
        return dp_fail_d3d(hr, "dp12_end_frame: ID3D12CommandQueue::Signal");
    return DP_OK;
}

static DP_RESULT dp12_consume(dp_port *base, void *queue, uint32_t slot, uint64_t frame, void **out_source)
{
    dp12_port *p = (dp12_port *)base;
    dp12_gen *g = dp12_gen_of(p);
    HRESULT hr;
    if (g->base.host) {
        uint32_t k = p->next_texture % DP12_CONSUMER_TEXTURES;
        p->next_texture = (k + 1) % DP12_CONSUMER_TEXTURES;
        p->held_texture = k;
        dp_host_upload(g->base.host, slot, k, frame);
        /* The worker's copy finishes first, then the caller's queue waits on a value
         * already reached: under Wine, vkd3d can deadlock a queue that waits for a value
         * another queue has yet to signal. Waiting for the job itself, not for the
         * fence value, matters: the legacy follow step may have moved the fence that far
         * already. This costs the caller the copy's time. */
        dp_host_drain(g->base.host);
        /* A copy that failed never moves the local fence: the caller's queue must not
         * wait for it (a queue wait has no timeout). */
        if (ID3D12Fence_GetCompletedValue(p->local_fence) < frame)
            return dp_fail(DP_ERROR_DEVICE, "dp12_acquire_frame: the host worker of %ls could not upload frame %llu",
                           base->names.display, (unsigned long long)frame);
    } else {
        p->held_texture = slot;
    }
    /* GPU-side: the caller's queue waits, its thread does not. */
    hr = ID3D12CommandQueue_Wait((ID3D12CommandQueue *)queue, dp12_fence(p), frame);
    if (FAILED(hr))
        return dp_fail_d3d(hr, "dp12_acquire_frame: ID3D12CommandQueue::Wait");
    *out_source = g->texture[p->held_texture];
    return DP_OK;
}

static DP_RESULT dp12_release_api(dp_port *base, void *queue, uint64_t value, bool *out_signalled)
{
    dp12_port *p = (dp12_port *)base;
    dp12_gen *g = dp12_gen_of(p);
    HRESULT hr = ID3D12CommandQueue_Signal((ID3D12CommandQueue *)queue, p->release_fence, value);
    if (FAILED(hr))
        return dp_fail_d3d(hr, "dp12_release_frame: ID3D12CommandQueue::Signal");
    /* Host: the section slot was given back after the upload; the local texture is
     * rewritten only once the copy queue has waited for this value. */
    if (g->base.host && p->held_texture < DP12_CONSUMER_TEXTURES)
        g->texture_free_at[p->held_texture] = value;
    *out_signalled = true;
    return DP_OK;
}

static void dp12_hold_queue(void *queue, bool hold)
{
    if (hold)
        ID3D12CommandQueue_AddRef((ID3D12CommandQueue *)queue);
    else
        ID3D12CommandQueue_Release((ID3D12CommandQueue *)queue);
}

/* ---- Entry points ------------------------------------------------------------------------ */

DP_HANDLE dp12_create_shared_resource(uint32_t width, uint32_t height, DP_FORMAT format, bool is_system_ram,
                                      const wchar_t *tex_name, const wchar_t *fence_name)
{
    return dp_engine_create_legacy(&dp12_backend, width, height, format, is_system_ram ? DP_PORT_SYSTEM_RAM : 0u,
                                   tex_name, fence_name, "dp12_create_shared_resource");
}

DP_ENGINE_ENTRY_POINTS(dp12, dp12_backend, ID3D12Device, ID3D12Resource)

DP_RESULT dp12_end_frame(DP_HANDLE h, ID3D12CommandQueue *queue, uint64_t *out_frame)
{
    return dp_engine_end_frame(&dp12_backend, h, queue, true, out_frame, "dp12_end_frame");
}

DP_RESULT dp12_acquire_frame(DP_HANDLE h, ID3D12CommandQueue *queue, uint32_t timeout_ms,
                             ID3D12Resource **out_source, uint64_t *out_frame)
{
    return dp_engine_acquire_frame(&dp12_backend, h, queue, true, timeout_ms, (void **)out_source, out_frame,
                                   "dp12_acquire_frame");
}

void dp12_release_frame(DP_HANDLE h, ID3D12CommandQueue *queue)
{
    dp_engine_release_frame(&dp12_backend, h, queue, true, "dp12_release_frame");
}

void dp12_cpu_wait(DP_HANDLE h, uint64_t value)
{
    dp_engine_cpu_wait(&dp12_backend, h, value, UINT32_MAX, "dp12_cpu_wait");
}

/* ---- Fences ---------------------------------------------------------------------------- */

void dp12_signal_fence(DP_HANDLE h, uint64_t value)
{
    dp12_port *p = dp12_get(h, "dp12_signal_fence");
    HRESULT hr;
    if (!p)
        return;
    hr = ID3D12Fence_Signal(dp12_fence(p), value);
    if (FAILED(hr)) {
        dp_fail_d3d(hr, "dp12_signal_fence: ID3D12Fence::Signal");
        return;
    }
    dp_engine_signalled(&p->base, value);
}

bool dp12_queue_signal(DP_HANDLE h, ID3D12CommandQueue *queue, uint64_t value)
{
    dp12_port *p = dp12_get(h, "dp12_queue_signal");
    HRESULT hr;
    if (!p)
        return false;
    if (!queue) {
        dp_fail(DP_ERROR_INVALID_ARGUMENT, "dp12_queue_signal: queue is NULL");
        return false;
    }
    hr = ID3D12CommandQueue_Signal(queue, dp12_fence(p), value);
    if (FAILED(hr)) {
        dp_fail_d3d(hr, "dp12_queue_signal: ID3D12CommandQueue::Signal");
        return false;
    }
    dp_engine_signalled(&p->base, value);
    return true;
}

void dp12_queue_wait(DP_HANDLE h, ID3D12CommandQueue *queue, uint64_t value)
{
    dp12_port *p = dp12_get(h, "dp12_queue_wait");
    HRESULT hr;
    if (!p)
        return;
    if (!queue) {
        dp_fail(DP_ERROR_INVALID_ARGUMENT, "dp12_queue_wait: queue is NULL");
        return;
    }
    if (dp_engine_gpu_wait_ready(&dp12_backend, h, value, "dp12_queue_wait") != DP_OK)
        return;
    hr = ID3D12CommandQueue_Wait(queue, dp12_fence(p), value);
    if (FAILED(hr))
        dp_fail_d3d(hr, "dp12_queue_wait: ID3D12CommandQueue::Wait");
}

/* ---- Getters ---------------------------------------------------------------------------- */

ID3D12Resource *dp12_get_resource(DP_HANDLE h)
{
    dp12_port *p = dp12_get(h, "dp12_get_resource");
    return p ? dp12_gen_of(p)->texture[0] : NULL;
}

ID3D12Fence *dp12_get_fence(DP_HANDLE h)
{
    dp12_port *p = dp12_get(h, "dp12_get_fence");
    return p ? dp12_fence(p) : NULL;
}

static void *dp12_nt_handle(DP_HANDLE h, bool texture, const char *fn)
{
    dp12_port *p = dp12_get(h, fn);
    if (!p)
        return NULL;
    if (p->base.transport != DP_TRANSPORT_GPU) {
        dp_fail(DP_ERROR_UNSUPPORTED, "%s: a host-transport port has no NT shared handle", fn);
        return NULL;
    }
    return texture ? dp12_gen_of(p)->texture_nt[0] : dp12_gen_of(p)->fence_nt;
}

void *dp12_get_resource_handle(DP_HANDLE h)
{
    return dp12_nt_handle(h, true, "dp12_get_resource_handle");
}

void *dp12_get_fence_handle(DP_HANDLE h)
{
    return dp12_nt_handle(h, false, "dp12_get_fence_handle");
}

/* ---- Map ------------------------------------------------------------------------------- */

/* Texture 0 mapped for the CPU; through a CPU copy where the driver cannot map a
 * row-major texture (vkd3d). */
static uint8_t *dp12_map_texture(dp12_gen *g)
{
    size_t size = (size_t)g->map_pitch * g->base.geo.height;
    HRESULT hr = ID3D12Resource_Map(g->texture[0], 0, NULL, (void **)&g->map_ptr);
    if (SUCCEEDED(hr))
        return g->map_ptr;
    g->map_ptr = NULL;
    if (!g->map_staging)
        g->map_staging = HeapAlloc(GetProcessHeap(), 0, size);
    if (!g->map_staging) {
        dp_fail(DP_ERROR_OUT_OF_MEMORY, "dp12_map_memory: out of memory");
        return NULL;
    }
    hr = ID3D12Resource_ReadFromSubresource(g->texture[0], g->map_staging, g->map_pitch, (UINT)size, 0, NULL);
    if (FAILED(hr)) {
        dp_fail_d3d(hr, "dp12_map_memory: ReadFromSubresource");
        return NULL;
    }
    g->map_ptr = g->map_staging;
    return g->map_ptr;
}

void *dp12_map_memory(DP_HANDLE h, uint32_t *out_row_pitch)
{
    dp12_gen *g = (dp12_gen *)dp_engine_gen(&dp12_backend, h, "dp12_map_memory");
    const dp_port *p = g ? g->base.port : NULL;
    if (!g)
        return NULL;
    if (!(g->base.geo.flags & DP_PORT_SYSTEM_RAM)) {
        dp_fail(DP_ERROR_UNSUPPORTED, "dp12_map_memory: %ls was not created in system RAM", p->names.display);
        return NULL;
    }
    if (!g->map_ptr) {
        g->map_pitch = g->base.geo.row_pitch;
        if (g->base.host) {
            /* The section is the port's memory: no copy at all. A consumer sees the
             * latest frame's slot; a producer writes slot 0, as the legacy API does. */
            uint32_t slot = p->producer ? 0 : dpb_latest_slot(p->block->latest);
            g->map_ptr = dp_host_slot(g->base.host, slot < g->base.geo.slots ? slot : 0);
        } else if (!dp12_map_texture(g)) {
            return NULL;
        }
    }
    if (out_row_pitch)
        *out_row_pitch = g->map_pitch;
    return g->map_ptr;
}

void dp12_unmap_memory(DP_HANDLE h)
{
    dp12_gen *g = (dp12_gen *)dp_engine_gen(&dp12_backend, h, "dp12_unmap_memory");
    const dp_port *p = g ? g->base.port : NULL;
    HRESULT hr;
    if (!g)
        return;
    if (!g->map_ptr) {
        dp_fail(DP_ERROR_INVALID_ARGUMENT, "dp12_unmap_memory: %ls is not mapped", p->names.display);
        return;
    }
    if (g->base.host) {
        if (p->producer)
            dp_host_mark_cpu_written(g->base.host);
    } else if (g->map_ptr == g->map_staging) {
        hr = ID3D12Resource_WriteToSubresource(g->texture[0], 0, NULL, g->map_staging, g->map_pitch,
                                               g->map_pitch * g->base.geo.height);
        if (FAILED(hr))
            dp_fail_d3d(hr, "dp12_unmap_memory: WriteToSubresource");
    } else {
        ID3D12Resource_Unmap(g->texture[0], 0, NULL);
    }
    g->map_ptr = NULL;
}

/* ---- Host transport (worker thread) ---------------------------------------------- */

static uint64_t dp12_host_wait_local(dp_gen *gen, uint64_t after, HANDLE kick)
{
    dp12_gen *g = (dp12_gen *)gen;
    ID3D12Fence *fence = ((dp12_port *)g->base.port)->local_fence;
    HANDLE handles[2] = {g->local_event, kick};
    if (SUCCEEDED(ID3D12Fence_SetEventOnCompletion(fence, after + 1, g->local_event)))
        WaitForMultipleObjects(2, handles, FALSE, INFINITE);
    else
        WaitForSingleObject(kick, 10);
    return ID3D12Fence_GetCompletedValue(fence);
}

/* Waits on the CPU, at most timeout_ms, until fence reaches value; false if it does not. */
static bool dp12_fence_wait(ID3D12Fence *fence, uint64_t value, HANDLE event, uint32_t timeout_ms)
{
    ULONGLONG start = GetTickCount64();
    while (ID3D12Fence_GetCompletedValue(fence) < value) {
        uint32_t remaining = dp_remaining_ms(start, timeout_ms);
        if (!remaining || FAILED(ID3D12Fence_SetEventOnCompletion(fence, value, event)))
            return false;
        /* The auto-reset event may be left set by an earlier value: the loop re-checks. */
        WaitForSingleObject(event, remaining);
    }
    return true;
}

/* Runs the recorded copy on the copy queue once `wait` has reached wait_value (if
 * given), then signals `signal` (if given) to value, and waits for the copy so the
 * buffer and allocator may be reused. `wait` is the caller's release fence, which its
 * own queue signals: it is waited for on the CPU first (bounded), so the copy queue
 * never holds a wait that may not be satisfied (a queue wait has no timeout, and it
 * would hang this worker, and the close joining it, with it). */
static bool dp12_host_submit(dp12_gen *g, ID3D12Fence *wait, uint64_t wait_value, ID3D12Fence *signal,
                             uint64_t value)
{
    ID3D12CommandList *lists[1] = {(ID3D12CommandList *)g->list};
    HRESULT hr = ID3D12GraphicsCommandList_Close(g->list);
    if (FAILED(hr))
        return false;
    if (wait && wait_value && !dp12_fence_wait(wait, wait_value, g->copy_event, DP_OWN_WORK_WAIT_MS))
        return false;
    ID3D12CommandQueue_ExecuteCommandLists(g->copy_queue, 1, lists);
    if (signal && FAILED(ID3D12CommandQueue_Signal(g->copy_queue, signal, value)))
        return false;
    if (FAILED(ID3D12CommandQueue_Signal(g->copy_queue, g->copy_fence, ++g->copy_value)))
        return false;
    if (!dp12_fence_wait(g->copy_fence, g->copy_value, g->copy_event, DP_OWN_WORK_WAIT_MS)) {
        g->copy_stuck = true;
        return false;
    }
    return true;
}

static bool dp12_host_record(dp12_gen *g, uint32_t texture, bool to_texture)
{
    D3D12_TEXTURE_COPY_LOCATION tex = {0}, buf = {0};
    if (g->copy_stuck || FAILED(ID3D12CommandAllocator_Reset(g->allocator)) ||
        FAILED(ID3D12GraphicsCommandList_Reset(g->list, g->allocator, NULL)))
        return false;
    tex.pResource = g->texture[texture];
    tex.Type = D3D12_TEXTURE_COPY_TYPE_SUBRESOURCE_INDEX;
    buf.pResource = g->buffer;
    buf.Type = D3D12_TEXTURE_COPY_TYPE_PLACED_FOOTPRINT;
    buf.PlacedFootprint = g->footprint;
    if (to_texture)
        ID3D12GraphicsCommandList_CopyTextureRegion(g->list, &tex, 0, 0, 0, &buf, NULL);
    else
        ID3D12GraphicsCommandList_CopyTextureRegion(g->list, &buf, 0, 0, 0, &tex, NULL);
    return true;
}

static bool dp12_host_readback(dp_gen *gen, uint32_t texture, void *dst)
{
    dp12_gen *g = (dp12_gen *)gen;
    /* Rows dp12_upload_bgra left for the section are the frame, not the texture. */
    if (texture == 0 && dp12_upload_take(g, dst))
        return true;
    if (!dp12_host_record(g, texture, false) || !dp12_host_submit(g, NULL, 0, NULL, 0))
        return false;
    dp_host_copy(g->base.host, dst, g->base.geo.row_pitch, g->buffer_ptr, g->base.geo.row_pitch,
                 g->base.geo.row_pitch, g->base.geo.height, false);
    return true;
}

static bool dp12_host_upload(dp_gen *gen, uint32_t texture, const void *src, uint64_t value)
{
    dp12_gen *g = (dp12_gen *)gen;
    dp12_port *p = (dp12_port *)g->base.port;
    uint64_t free_at = texture < DP12_CONSUMER_TEXTURES ? g->texture_free_at[texture] : 0;
    dp_host_copy(g->base.host, g->buffer_ptr, g->base.geo.row_pitch, src, g->base.geo.row_pitch,
                 g->base.geo.row_pitch, g->base.geo.height, false);
    return dp12_host_record(g, texture, true) && dp12_host_submit(g, p->release_fence, free_at, p->local_fence, value);
}

/* ---- The reference's extras ------------------------------------------------------------------ */
/*
 * What the reference's callers call besides its v6.1 API: dp12_wait_fence (the v6.0 name
 * of the CPU wait), and dp12_get_adapter_luid, dp12_last_hresult, dp12_is_uma and
 * dp12_upload_bgra, which its C# binding declares.
 *
 * dp12_upload_bgra, GPU transport: the rows go into an upload buffer, and a copy queue of
 * the handle's own copies them into the port's texture and then signals the port's fence
 * with the frame value. An upload buffer is reused once the queue's own fence has passed
 * its copy; only with DP12_UPLOADS copies still in flight does the caller wait, for the
 * oldest one.
 * Host transport: the rows go into a CPU copy (staging) and the local fence moves to the
 * frame value; the host worker, publishing that value, copies the staged rows into the
 * port's section (dp12_upload_take) instead of reading the local texture back. No GPU
 * work at all, and the caller never waits for the worker longer than one such copy.
 * Either way an upload writes the port's one slot as dp12_begin_frame would: not while a
 * dp12_acquire_frame consumer holds it (DP_ERROR_BUSY, the frame dropped). The host
 * worker's legacy follow step makes that check itself, on its own thread.
 */

#define DP12_UPLOADS 4u

typedef struct {
    ID3D12Resource *buffer;
    uint8_t *ptr;                   /* mapped for the buffer's lifetime */
    ID3D12CommandAllocator *allocator;
    ID3D12GraphicsCommandList *list;
    uint64_t done_at;               /* the upload fence's value once its last copy is done */
} dp12_upload_buffer;

struct dp12_uploader {
    /* GPU transport. */
    ID3D12CommandQueue *queue;
    ID3D12Fence *fence;             /* the queue's own: which copies are done */
    uint64_t value;                 /* last value signalled on it */
    HANDLE event;
    D3D12_PLACED_SUBRESOURCE_FOOTPRINT footprint;
    UINT64 size;                    /* bytes of an upload buffer */
    uint32_t count;                 /* upload buffers made so far */
    dp12_upload_buffer buffer[DP12_UPLOADS];
    /* Host transport, under the port's upload_lock. */
    uint8_t *staging;               /* row_pitch x height bytes, padding zeroed */
    bool pending;                   /* staging holds rows the section has not had yet */
};

void dp12_wait_fence(DP_HANDLE h, uint64_t value)
{
    dp12_cpu_wait(h, value);
}

bool dp12_get_adapter_luid(int64_t *out_luid)
{
    LUID luid;
    if (!dp_engine_device(&dp12_backend, "dp12_get_adapter_luid"))
        return false;
    if (!out_luid) {
        dp_fail(DP_ERROR_INVALID_ARGUMENT, "dp12_get_adapter_luid: out_luid is NULL");
        return false;
    }
    luid = dp12_adapter();
    *out_luid = (int64_t)(((uint64_t)(uint32_t)luid.HighPart << 32) | luid.LowPart);
    return true;
}

int32_t dp12_last_hresult(void)
{
    return (int32_t)dp_error_create_hr();
}

bool dp12_is_uma(void)
{
    D3D12_FEATURE_DATA_ARCHITECTURE arch = {0};
    HRESULT hr;
    if (!dp_engine_device(&dp12_backend, "dp12_is_uma"))
        return false;
    hr = ID3D12Device_CheckFeatureSupport(dp12.device, D3D12_FEATURE_ARCHITECTURE, &arch, sizeof(arch));
    if (FAILED(hr)) {
        dp_fail_hr(DP_ERROR_DEVICE, hr, "dp12_is_uma: CheckFeatureSupport(D3D12_FEATURE_ARCHITECTURE)");
        return false;
    }
    return arch.UMA != FALSE;
}

/* Waits (bounded) until the upload fence reaches value; false if it does not. */
static bool dp12_upload_wait(struct dp12_uploader *u, uint64_t value)
{
    return dp12_fence_wait(u->fence, value, u->event, DP_OWN_WORK_WAIT_MS);
}

static void dp12_upload_buffer_free(dp12_upload_buffer *b)
{
    if (b->ptr)
        ID3D12Resource_Unmap(b->buffer, 0, NULL);
    b->ptr = NULL;
    DP_RELEASE(b->list);
    DP_RELEASE(b->allocator);
    DP_RELEASE(b->buffer);
}

static void dp12_upload_free(struct dp12_uploader *u)
{
    /* The copy queue may still write the texture and read the buffers. */
    if (u->fence && u->value)
        dp12_upload_wait(u, u->value);
    for (uint32_t i = 0; i < u->count; i++)
        dp12_upload_buffer_free(&u->buffer[i]);
    DP_RELEASE(u->queue);
    DP_RELEASE(u->fence);
    dp_close_handle(&u->event);
    if (u->staging)
        HeapFree(GetProcessHeap(), 0, u->staging);
    HeapFree(GetProcessHeap(), 0, u);
}

/* Called with the generation's objects going (dp12_gen_free), the host worker stopped. */
static void dp12_upload_release(dp12_gen *g)
{
    if (g->uploader)
        dp12_upload_free(g->uploader);
    g->uploader = NULL;
}

/* Host worker: the staged rows into dst (a section slot), if an upload left some. */
static bool dp12_upload_take(dp12_gen *g, void *dst)
{
    bool taken = false;
    AcquireSRWLockExclusive(&g->upload_lock);
    if (g->uploader && g->uploader->pending) {
        memcpy(dst, g->uploader->staging, (size_t)g->base.geo.row_pitch * g->base.geo.height);
        g->uploader->pending = false;
        taken = true;
    }
    ReleaseSRWLockExclusive(&g->upload_lock);
    return taken;
}

/* The generation's uploader, made at its first upload. */
static DP_RESULT dp12_upload_start(dp12_gen *g, struct dp12_uploader **out)
{
    D3D12_RESOURCE_DESC desc;
    struct dp12_uploader *u = g->uploader;
    DP_RESULT r = DP_OK;
    HRESULT hr;
    if (u) {
        *out = u;
        return DP_OK;
    }
    u = HeapAlloc(GetProcessHeap(), HEAP_ZERO_MEMORY, sizeof(*u));
    if (!u)
        return dp_fail(DP_ERROR_OUT_OF_MEMORY, "dp12_upload_bgra: out of memory");
    if (g->base.host) {
        u->staging = HeapAlloc(GetProcessHeap(), HEAP_ZERO_MEMORY, (SIZE_T)g->base.geo.row_pitch * g->base.geo.height);
        if (!u->staging)
            r = dp_fail(DP_ERROR_OUT_OF_MEMORY, "dp12_upload_bgra: out of memory");
    } else {
        g->texture[0]->lpVtbl->GetDesc(g->texture[0], &desc);
        ID3D12Device_GetCopyableFootprints(dp12.device, &desc, 0, 1, 0, &u->footprint, NULL, NULL, &u->size);
        hr = dp12_copy_queue(&u->queue);
        if (SUCCEEDED(hr))
            hr = ID3D12Device_CreateFence(dp12.device, 0, D3D12_FENCE_FLAG_NONE, &IID_ID3D12Fence, (void **)&u->fence);
        if (FAILED(hr))
            r = dp_fail_d3d(hr, "dp12_upload_bgra: creating the copy queue and its fence");
        else if (!(u->event = dp_track(CreateEventW(NULL, FALSE, FALSE, NULL))))
            r = dp_fail_win32(DP_ERROR_OUT_OF_MEMORY, GetLastError(), "dp12_upload_bgra: CreateEvent");
    }
    if (r != DP_OK) {
        dp12_upload_free(u);
        return r;
    }
    g->uploader = u;
    *out = u;
    return DP_OK;
}

/* An upload buffer laid out as the texture's copy footprint, and its command list. */
static DP_RESULT dp12_upload_buffer_make(const struct dp12_uploader *u, dp12_upload_buffer *b)
{
    HRESULT hr = dp12_copy_buffer(D3D12_HEAP_TYPE_UPLOAD, u->size, &b->buffer, &b->ptr);
    if (SUCCEEDED(hr))
        hr = dp12_copy_list(&b->allocator, &b->list);
    if (FAILED(hr)) {
        dp12_upload_buffer_free(b);
        return dp_fail_d3d(hr, "dp12_upload_bgra: creating an upload buffer");
    }
    b->done_at = 0;
    return DP_OK;
}

/* GPU transport: a free upload buffer (waiting for the oldest copy when none is). */
static DP_RESULT dp12_upload_buffer_get(struct dp12_uploader *u, dp12_upload_buffer **out)
{
    uint64_t done = ID3D12Fence_GetCompletedValue(u->fence);
    dp12_upload_buffer *oldest = NULL;
    DP_RESULT r;
    for (uint32_t i = 0; i < u->count; i++) {
        if (u->buffer[i].done_at <= done) {
            *out = &u->buffer[i];
            return DP_OK;
        }
        if (!oldest || u->buffer[i].done_at < oldest->done_at)
            oldest = &u->buffer[i];
    }
    if (u->count < DP12_UPLOADS) {
        r = dp12_upload_buffer_make(u, &u->buffer[u->count]);
        if (r == DP_OK)
            *out = &u->buffer[u->count++];
        return r;
    }
    if (!dp12_upload_wait(u, oldest->done_at))
        return dp_fail(DP_ERROR_DEVICE, "dp12_upload_bgra: the GPU did not finish an earlier upload within %u ms",
                       DP_OWN_WORK_WAIT_MS);
    *out = oldest;
    return DP_OK;
}

/* GPU transport: rows -> upload buffer -> the port's texture on the copy queue, which
 * then signals the port's fence with value. */
static DP_RESULT dp12_upload_gpu(dp12_port *p, dp12_gen *g, const uint8_t *src, uint32_t pitch, uint64_t value)
{
    D3D12_TEXTURE_COPY_LOCATION dst = {0}, from = {0};
    const D3D12_SUBRESOURCE_FOOTPRINT *fp;
    ID3D12CommandList *lists[1];
    struct dp12_uploader *u = NULL;
    dp12_upload_buffer *b = NULL;
    DP_RESULT r;
    HRESULT hr;
    r = dp12_upload_start(g, &u);
    if (r == DP_OK)
        r = dp12_upload_buffer_get(u, &b);
    if (r != DP_OK)
        return r;
    fp = &u->footprint.Footprint;
    for (uint32_t y = 0; y < g->base.geo.height; y++)
        memcpy(b->ptr + u->footprint.Offset + (size_t)y * fp->RowPitch, src + (size_t)y * pitch,
               (size_t)g->base.geo.width * 4);
    hr = ID3D12CommandAllocator_Reset(b->allocator);
    if (SUCCEEDED(hr))
        hr = ID3D12GraphicsCommandList_Reset(b->list, b->allocator, NULL);
    if (FAILED(hr))
        return dp_fail_d3d(hr, "dp12_upload_bgra: resetting the copy command list");
    /* COMMON -> COPY_DEST by implicit promotion; back to COMMON when the copy queue's
     * ExecuteCommandLists is done. */
    dst.pResource = g->texture[0];
    dst.Type = D3D12_TEXTURE_COPY_TYPE_SUBRESOURCE_INDEX;
    dst.SubresourceIndex = 0;
    from.pResource = b->buffer;
    from.Type = D3D12_TEXTURE_COPY_TYPE_PLACED_FOOTPRINT;
    from.PlacedFootprint = u->footprint;
    ID3D12GraphicsCommandList_CopyTextureRegion(b->list, &dst, 0, 0, 0, &from, NULL);
    hr = ID3D12GraphicsCommandList_Close(b->list);
    if (FAILED(hr))
        return dp_fail_d3d(hr, "dp12_upload_bgra: ID3D12GraphicsCommandList::Close");
    lists[0] = (ID3D12CommandList *)b->list;
    ID3D12CommandQueue_ExecuteCommandLists(u->queue, 1, lists);
    /* Whatever happens to the signals, the buffer is the GPU's until the copy fence says so. */
    b->done_at = ++u->value;
    hr = ID3D12CommandQueue_Signal(u->queue, dp12_fence(p), value);
    if (FAILED(hr)) {
        ID3D12CommandQueue_Signal(u->queue, u->fence, u->value);
        return dp_fail_d3d(hr, "dp12_upload_bgra: ID3D12CommandQueue::Signal(port fence)");
    }
    hr = ID3D12CommandQueue_Signal(u->queue, u->fence, u->value);
    if (FAILED(hr))
        return dp_fail_d3d(hr, "dp12_upload_bgra: ID3D12CommandQueue::Signal(copy fence)");
    dp_engine_signalled(&p->base, value);
    return DP_OK;
}

/* Host transport: rows -> the staging copy, then the local fence to value. frame_job
 * (the worker is in frame mode: the handle used begin/end frame): a readback job
 * publishes slot; otherwise the legacy follow step does when it sees the fence move. */
static DP_RESULT dp12_upload_host(dp12_port *p, dp12_gen *g, const uint8_t *src, uint32_t pitch, uint64_t value,
                                  bool frame_job, uint32_t slot)
{
    const dp_geometry *geo = &g->base.geo;
    struct dp12_uploader *u = NULL;
    DP_RESULT r;
    HRESULT hr;
    AcquireSRWLockExclusive(&g->upload_lock);
    r = dp12_upload_start(g, &u);
    if (r == DP_OK) {
        for (uint32_t y = 0; y < geo->height; y++)
            memcpy(u->staging + (size_t)y * geo->row_pitch, src + (size_t)y * pitch, (size_t)geo->width * 4);
        u->pending = true;
    }
    ReleaseSRWLockExclusive(&g->upload_lock);
    if (r != DP_OK)
        return r;
    hr = ID3D12Fence_Signal(p->local_fence, value);
    if (FAILED(hr))
        return dp_fail_d3d(hr, "dp12_upload_bgra: ID3D12Fence::Signal");
    dp_engine_signalled(&p->base, value);
    if (frame_job)
        dp_host_readback(g->base.host, 0, slot, value);
    return DP_OK;
}

bool dp12_upload_bgra(DP_HANDLE h, const void *src, uint32_t src_row_pitch, uint32_t width, uint32_t height,
                      uint64_t frame_value)
{
    dp12_port *p = dp12_get(h, "dp12_upload_bgra");
    dp12_gen *g = p ? dp12_gen_of(p) : NULL;
    dp_host *host = g ? g->base.host : NULL;
    uint64_t latest;
    uint32_t slot = 0;
    bool frame_job;
    DP_RESULT r;
    if (!p)
        return false;
    if (!p->base.producer) {
        dp_fail(DP_ERROR_INVALID_ARGUMENT, "dp12_upload_bgra: %ls was opened by this handle; uploads are for the "
                                           "handle that created it", p->base.names.display);
        return false;
    }
    if (p->base.format != DP_FORMAT_VIDEO) {
        dp_fail(DP_ERROR_INVALID_ARGUMENT, "dp12_upload_bgra: %ls has format %d; BGRA pixels go into a "
                                           "DP_FORMAT_VIDEO (B8G8R8A8_UNORM) port", p->base.names.display,
                (int)p->base.format);
        return false;
    }
    if (p->base.slots != 1) {
        dp_fail(DP_ERROR_UNSUPPORTED, "dp12_upload_bgra: %ls has %u slots; publish its frames with "
                                      "dp12_begin_frame and dp12_end_frame", p->base.names.display, p->base.slots);
        return false;
    }
    if (!src || width != p->base.width || height != p->base.height || src_row_pitch < width * 4u) {
        dp_fail(DP_ERROR_INVALID_ARGUMENT, "dp12_upload_bgra: src %s, %ux%u with a row pitch of %u bytes; %ls is "
                                           "%ux%u, rows of at least %u bytes", src ? "given" : "NULL", width, height,
                src_row_pitch, p->base.names.display, p->base.width, p->base.height, p->base.width * 4u);
        return false;
    }
    if (p->base.begun != DP_NO_SLOT) {
        dp_fail(DP_ERROR_INVALID_ARGUMENT, "dp12_upload_bgra: end the frame begun on %ls first", p->base.names.display);
        return false;
    }
    /* Values only grow: one the port has seen would never be published. */
    latest = p->base.last_frame;
    if (ID3D12Fence_GetCompletedValue(dp12_fence(p)) > latest)
        latest = ID3D12Fence_GetCompletedValue(dp12_fence(p));
    if (dp_port_published(&p->base) > latest)
        latest = dp_port_published(&p->base);
    if (frame_value <= latest) {
        dp_fail(DP_ERROR_INVALID_ARGUMENT, "dp12_upload_bgra: frame value %llu must be above %llu, the latest of %ls",
                (unsigned long long)frame_value, (unsigned long long)latest, p->base.names.display);
        return false;
    }
    /* Like begin_frame, an upload writes the slot only if no dp12_acquire_frame consumer
     * holds it (legacy consumers hold none). The legacy follow step on the host transport
     * waits for the section slot itself, on the worker's thread. */
    frame_job = host && dp_host_in_frame_mode(host);
    if ((!host || frame_job) && dp_ring_pick(&p->base, host ? dp_host_busy(host) : 0, &slot) != DP_OK)
        return false;
    r = host ? dp12_upload_host(p, g, src, src_row_pitch, frame_value, frame_job, slot)
             : dp12_upload_gpu(p, g, src, src_row_pitch, frame_value);
    if (r != DP_OK)
        return false;
    p->base.last_frame = frame_value;
    return true;
}

static const dp_backend dp12_backend = {DP_BACKEND_D3D(dp12, DP_KIND_D3D12, "D3D12"), .hold_queue = dp12_hold_queue};
