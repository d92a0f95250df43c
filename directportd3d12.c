/*
 * directportd3d12.c - the D3D12 core: the DirectPort reference API, the frame
 * protocol and the other additions.
 *
 * GPU transport: the slot textures and the fence are NT-shared objects carrying the
 * port's names. Host transport (drivers without NT sharing, such as Wine's vkd3d):
 * the textures and the fence are local objects, and directporthost.c's worker keeps
 * them in step with the port's sections through the backend at the end of this file,
 * which does its device work on a private copy queue.
 *
 * Which textures a handle has:
 *   GPU, either side   the port's slot textures, opened per generation;
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
#define DP12_MAX_PENDING 8u

typedef struct {
    dp_port base;               /* first: the shared code sees every handle as a dp_port */
    ID3D12Resource *texture[DPB_MAX_SLOTS];
    uint32_t textures;
    ID3D12Fence *fence;         /* GPU: the port's shared fence; host: this handle's own */
    HANDLE texture_nt[DPB_MAX_SLOTS]; /* NT shared handles (GPU transport) */
    HANDLE fence_nt;
    bool system_ram;
    HANDLE wait_event;          /* cpu waits on the caller's thread */
    /* Map state. */
    uint8_t *map_ptr;
    uint8_t *map_staging;       /* CPU copy where the driver cannot map a row-major texture */
    uint32_t map_pitch;
    /* Consumer frame protocol. The caller signals release_fence on its queue when it
     * is done with a frame; what waits on that depends on the transport. */
    ID3D12Fence *release_fence;
    uint64_t release_value;
    uint32_t held_texture;
    uint32_t next_texture;
    uint64_t texture_free_at[DP12_CONSUMER_TEXTURES]; /* host: release value before reuse */
    /* GPU consumer: claims dropped once the caller's GPU passed their release value,
     * by a thread-pool wait on release_event. */
    SRWLOCK pending_lock;
    struct {
        uint32_t slot;
        uint64_t value;
    } pending[DP12_MAX_PENDING];
    uint32_t pending_count;
    HANDLE release_event;
    HANDLE release_wait;
    /* Host transport: used by the worker thread only. */
    ID3D12Resource *buffer;     /* readback (producer) or upload (consumer) buffer */
    uint8_t *buffer_ptr;
    D3D12_PLACED_SUBRESOURCE_FOOTPRINT footprint;
    ID3D12CommandQueue *copy_queue;
    ID3D12CommandAllocator *allocator;
    ID3D12GraphicsCommandList *list;
    ID3D12Fence *copy_fence;
    uint64_t copy_value;
    HANDLE copy_event;
    HANDLE local_event;
    /* dp12_upload_bgra's objects, made at its first call; the lock keeps them from the
     * host worker, which takes uploaded rows from them (zeroed memory: initialised). */
    SRWLOCK upload_lock;
    struct dp12_uploader *uploader;
} dp12_port;

static struct {
    SRWLOCK lock;
    ID3D12Device *device;
    int can_share;                  /* -1 unknown, 0 no, 1 yes */
} dp12 = {SRWLOCK_INIT, NULL, -1};

static const dp_host_ops dp12_host_ops;

/* The reference's extras, at the end of this file. */
static void dp12_upload_release(dp12_port *p);
static bool dp12_upload_take(dp12_port *p, void *dst);
static DP_HANDLE dp12_created(DP_HANDLE h);

/* ---- Device ------------------------------------------------------------------------- */

static bool dp12_ready(const char *fn)
{
    if (dp12.device)
        return true;
    dp_fail(DP_ERROR_NOT_INITIALIZED, "%s: call dp12_init first", fn);
    return false;
}

bool dp12_init(void)
{
    HRESULT hr = S_OK;
    AcquireSRWLockExclusive(&dp12.lock);
    if (!dp12.device)
        hr = D3D12CreateDevice(NULL, D3D_FEATURE_LEVEL_11_0, &IID_ID3D12Device, (void **)&dp12.device);
    ReleaseSRWLockExclusive(&dp12.lock);
    if (FAILED(hr)) {
        dp_fail_hr(DP_ERROR_DEVICE, hr, "dp12_init: D3D12CreateDevice");
        return false;
    }
    return true;
}

bool dp12_init_with_device(ID3D12Device *device)
{
    bool ok = true;
    if (!device) {
        dp_fail(DP_ERROR_INVALID_ARGUMENT, "dp12_init_with_device: device is NULL");
        return false;
    }
    AcquireSRWLockExclusive(&dp12.lock);
    if (!dp12.device) {
        ID3D12Device_AddRef(device);
        dp12.device = device;
    } else if (dp12.device != device) {
        ok = false;
    }
    ReleaseSRWLockExclusive(&dp12.lock);
    if (!ok)
        dp_fail(DP_ERROR_INVALID_ARGUMENT,
                "dp12_init_with_device: another device is in use; call dp12_shutdown first");
    return ok;
}

ID3D12Device *dp12_get_device(void)
{
    return dp12.device;
}

static void dp12_port_destroy(dp12_port *p);

void dp12_shutdown(void)
{
    dp12_port *p;
    while ((p = dp_handle_take_any(DP_KIND_D3D12)))
        dp12_port_destroy(p);
    AcquireSRWLockExclusive(&dp12.lock);
    DP_RELEASE(dp12.device);
    dp12.can_share = -1;
    ReleaseSRWLockExclusive(&dp12.lock);
}

/* Whether the driver implements NT shared handles: asked once of a throwaway fence. */
static bool dp12_device_can_share(void)
{
    ID3D12Fence *fence = NULL;
    HANDLE nt = NULL;
    HRESULT hr;
    if (dp12.can_share >= 0)
        return dp12.can_share == 1;
    hr = ID3D12Device_CreateFence(dp12.device, 0, D3D12_FENCE_FLAG_SHARED, &IID_ID3D12Fence, (void **)&fence);
    if (SUCCEEDED(hr))
        hr = ID3D12Device_CreateSharedHandle(dp12.device, (ID3D12DeviceChild *)fence, NULL, GENERIC_ALL,
                                             NULL, &nt);
    if (SUCCEEDED(hr))
        CloseHandle(nt);
    DP_RELEASE(fence);
    dp12.can_share = SUCCEEDED(hr) ? 1 : 0;
    return dp12.can_share == 1;
}

/* ---- Handles ------------------------------------------------------------------------- */

static dp12_port *dp12_get(DP_HANDLE h, const char *fn)
{
    if (!dp12_ready(fn))
        return NULL;
    return dp_handle_get(h, DP_KIND_D3D12, fn);
}

/* Releases the objects of the current generation: textures, the GPU transport's
 * fence, the host worker and its copy objects. What outlives a generation (the local
 * and release fences, events) stays. */
static void dp12_unbuild(dp12_port *p)
{
    /* The worker uses the copy objects: stop it before they go. */
    dp_host_destroy(p->base.host);
    p->base.host = NULL;
    dp12_upload_release(p);
    if (p->map_ptr && !p->map_staging && p->texture[0])
        ID3D12Resource_Unmap(p->texture[0], 0, NULL);
    p->map_ptr = NULL;
    if (p->map_staging)
        HeapFree(GetProcessHeap(), 0, p->map_staging);
    p->map_staging = NULL;
    if (p->buffer_ptr)
        ID3D12Resource_Unmap(p->buffer, 0, NULL);
    p->buffer_ptr = NULL;
    DP_RELEASE(p->list);
    DP_RELEASE(p->allocator);
    DP_RELEASE(p->copy_queue);
    DP_RELEASE(p->buffer);
    for (uint32_t i = 0; i < DPB_MAX_SLOTS; i++) {
        DP_RELEASE(p->texture[i]);
        dp_close_handle(&p->texture_nt[i]);
    }
    p->textures = 0;
    if (p->base.transport == DP_TRANSPORT_GPU) {
        DP_RELEASE(p->fence);
        dp_close_handle(&p->fence_nt);
    }
}

static void dp12_port_destroy(dp12_port *p)
{
    /* The thread-pool wait touches the block: gone before the block is. */
    if (p->release_wait)
        UnregisterWaitEx(p->release_wait, INVALID_HANDLE_VALUE);
    p->release_wait = NULL;
    dp12_unbuild(p);
    DP_RELEASE(p->fence);
    DP_RELEASE(p->release_fence);
    DP_RELEASE(p->copy_fence);
    dp_close_handle(&p->fence_nt);
    dp_close_handle(&p->copy_event);
    dp_close_handle(&p->local_event);
    dp_close_handle(&p->wait_event);
    dp_close_handle(&p->release_event);
    dp_port_release(&p->base);
    HeapFree(GetProcessHeap(), 0, p);
}

void dp12_close(DP_HANDLE h)
{
    dp12_port *p;
    if (!dp12_ready("dp12_close"))
        return;
    p = dp_handle_take(h, DP_KIND_D3D12, "dp12_close");
    if (p)
        dp12_port_destroy(p);
}

/* Registers a built port, or destroys it and returns NULL on failure r. */
static DP_HANDLE dp12_finish(dp12_port *p, DP_RESULT r)
{
    DP_HANDLE h = NULL;
    if (r == DP_OK)
        h = dp_handle_add(DP_KIND_D3D12, p);
    if (!h)
        dp12_port_destroy(p);
    else if (p->base.producer && p->base.block)
        dp_registry_add(&p->base);
    return h;
}

static dp12_port *dp12_port_new(bool producer)
{
    dp12_port *p = HeapAlloc(GetProcessHeap(), HEAP_ZERO_MEMORY, sizeof(*p));
    if (!p) {
        dp_fail(DP_ERROR_OUT_OF_MEMORY, "out of memory");
        return NULL;
    }
    p->base.kind = DP_KIND_D3D12;
    p->base.before_change = dp_port_stop_host;
    p->base.producer = producer;
    p->base.reader = -1;
    p->base.held = DP_NO_SLOT;
    p->base.begun = DP_NO_SLOT;
    InitializeSRWLock(&p->pending_lock);
    return p;
}

/* ---- Device objects ------------------------------------------------------------------- */

/* A slot texture: GPU memory, or with system_ram CPU-visible row-major memory. */
static DP_RESULT dp12_create_texture(dp12_port *p, bool shared, ID3D12Resource **out)
{
    D3D12_HEAP_PROPERTIES heap = {0};
    D3D12_RESOURCE_DESC desc = {0};
    D3D12_HEAP_FLAGS heap_flags = shared ? D3D12_HEAP_FLAG_SHARED : D3D12_HEAP_FLAG_NONE;
    HRESULT hr;

    desc.Dimension = D3D12_RESOURCE_DIMENSION_TEXTURE2D;
    desc.Width = p->base.width;
    desc.Height = p->base.height;
    desc.DepthOrArraySize = 1;
    desc.MipLevels = 1;
    desc.Format = (DXGI_FORMAT)p->base.dxgi_format;
    desc.SampleDesc.Count = 1;
    if (p->system_ram) {
        /* Row-major textures exist only as cross-adapter resources. */
        heap.Type = D3D12_HEAP_TYPE_CUSTOM;
        heap.CPUPageProperty = D3D12_CPU_PAGE_PROPERTY_WRITE_BACK;
        heap.MemoryPoolPreference = D3D12_MEMORY_POOL_L0;
        heap_flags = D3D12_HEAP_FLAG_SHARED | D3D12_HEAP_FLAG_SHARED_CROSS_ADAPTER;
        desc.Layout = D3D12_TEXTURE_LAYOUT_ROW_MAJOR;
        desc.Flags = D3D12_RESOURCE_FLAG_ALLOW_CROSS_ADAPTER;
    } else {
        heap.Type = D3D12_HEAP_TYPE_DEFAULT;
        desc.Layout = D3D12_TEXTURE_LAYOUT_UNKNOWN;
        desc.Flags = D3D12_RESOURCE_FLAG_ALLOW_RENDER_TARGET | D3D12_RESOURCE_FLAG_ALLOW_SIMULTANEOUS_ACCESS;
    }
    hr = ID3D12Device_CreateCommittedResource(dp12.device, &heap, heap_flags, &desc, D3D12_RESOURCE_STATE_COMMON,
                                              NULL, &IID_ID3D12Resource, (void **)out);
    if (FAILED(hr))
        return dp_fail_hr(dp_result_from_hr(hr), hr, "CreateCommittedResource(texture)");
    return DP_OK;
}

static DP_RESULT dp12_create_fence(bool shared, ID3D12Fence **out)
{
    HRESULT hr = ID3D12Device_CreateFence(dp12.device, 0, shared ? D3D12_FENCE_FLAG_SHARED : D3D12_FENCE_FLAG_NONE,
                                          &IID_ID3D12Fence, (void **)out);
    if (FAILED(hr))
        return dp_fail_hr(dp_result_from_hr(hr), hr, "CreateFence");
    return DP_OK;
}

/* Exports obj under name; a taken name is DP_ERROR_NAME_IN_USE. */
static DP_RESULT dp12_share(ID3D12DeviceChild *obj, const dp_security *sec, const wchar_t *name, HANDLE *out)
{
    HANDLE nt = NULL;
    HRESULT hr = ID3D12Device_CreateSharedHandle(dp12.device, obj, &sec->sa, GENERIC_ALL, name, &nt);
    if (hr == HRESULT_FROM_WIN32(ERROR_ALREADY_EXISTS) || hr == E_ACCESSDENIED)
        return dp_fail(DP_ERROR_NAME_IN_USE, "CreateSharedHandle: the name %ls is taken (hr 0x%08lx)", name,
                       (unsigned long)hr);
    if (FAILED(hr))
        return dp_fail_hr(dp_result_from_hr(hr), hr, "CreateSharedHandle");
    *out = dp_track(nt);
    return DP_OK;
}

static DP_RESULT dp12_open_shared(const wchar_t *name, REFIID iid, void **out, HANDLE *out_nt)
{
    HANDLE nt = NULL;
    HRESULT hr = ID3D12Device_OpenSharedHandleByName(dp12.device, name, GENERIC_ALL, &nt);
    if (FAILED(hr)) {
        if (hr == HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND) || dp_hr_is_unsupported(hr))
            return dp_fail_hr(DP_ERROR_NOT_FOUND, hr, "OpenSharedHandleByName");
        return dp_fail_hr(dp_result_from_hr(hr), hr, "OpenSharedHandleByName");
    }
    *out_nt = dp_track(nt);
    hr = ID3D12Device_OpenSharedHandle(dp12.device, nt, iid, out);
    if (FAILED(hr))
        return dp_fail_hr(dp_result_from_hr(hr), hr, "OpenSharedHandle");
    return DP_OK;
}

/* Objects that live as long as the handle: events, the host transport's local fence,
 * a consumer's release fence. */
static DP_RESULT dp12_create_lasting(dp12_port *p)
{
    HRESULT hr = S_OK;
    p->wait_event = dp_track(CreateEventW(NULL, FALSE, FALSE, NULL));
    p->local_event = dp_track(CreateEventW(NULL, FALSE, FALSE, NULL));
    p->copy_event = dp_track(CreateEventW(NULL, FALSE, FALSE, NULL));
    p->release_event = dp_track(CreateEventW(NULL, FALSE, FALSE, NULL));
    if (!p->wait_event || !p->local_event || !p->copy_event || !p->release_event)
        return dp_fail_win32(DP_ERROR_OUT_OF_MEMORY, GetLastError(), "CreateEvent");
    if (p->base.transport == DP_TRANSPORT_HOST && dp12_create_fence(false, &p->fence) != DP_OK)
        return DP_ERROR_DEVICE;
    if (!p->base.producer && dp12_create_fence(false, &p->release_fence) != DP_OK)
        return DP_ERROR_DEVICE;
    hr = ID3D12Device_CreateFence(dp12.device, 0, D3D12_FENCE_FLAG_NONE, &IID_ID3D12Fence, (void **)&p->copy_fence);
    if (FAILED(hr))
        return dp_fail_hr(DP_ERROR_DEVICE, hr, "CreateFence(copy)");
    return DP_OK;
}

/* The host worker's copy objects: a buffer laid out as the section's rows (readback
 * for a producer, upload for a consumer) and a command list for the copy queue. */
static DP_RESULT dp12_create_copy_objects(dp12_port *p)
{
    D3D12_RESOURCE_DESC tex_desc, buf_desc = {0};
    D3D12_HEAP_PROPERTIES heap = {0};
    UINT64 total = 0;
    HRESULT hr;

    if (p->system_ram)
        return DP_OK; /* the worker reads and writes the row-major textures with the CPU */
    /* A queue per handle: one handle's copies never wait behind another's GPU-side
     * waits (a consumer's copy waits for its caller's release). */
    {
        D3D12_COMMAND_QUEUE_DESC qd = {D3D12_COMMAND_LIST_TYPE_COPY, 0, D3D12_COMMAND_QUEUE_FLAG_NONE, 0};
        hr = ID3D12Device_CreateCommandQueue(dp12.device, &qd, &IID_ID3D12CommandQueue, (void **)&p->copy_queue);
        if (FAILED(hr))
            return dp_fail_hr(DP_ERROR_DEVICE, hr, "CreateCommandQueue(copy)");
    }
    p->texture[0]->lpVtbl->GetDesc(p->texture[0], &tex_desc);
    ID3D12Device_GetCopyableFootprints(dp12.device, &tex_desc, 0, 1, 0, &p->footprint, NULL, NULL, &total);
    if (p->footprint.Footprint.RowPitch != p->base.row_pitch)
        return dp_fail(DP_ERROR_DEVICE, "the driver's copy row pitch %u differs from the port's %u",
                       p->footprint.Footprint.RowPitch, p->base.row_pitch);
    heap.Type = p->base.producer ? D3D12_HEAP_TYPE_READBACK : D3D12_HEAP_TYPE_UPLOAD;
    buf_desc.Dimension = D3D12_RESOURCE_DIMENSION_BUFFER;
    /* The footprint's last row is unpadded; the section's is not, and the worker copies
     * whole slots. */
    buf_desc.Width = (UINT64)p->base.row_pitch * p->base.height;
    if (buf_desc.Width < total)
        buf_desc.Width = total;
    buf_desc.Height = 1;
    buf_desc.DepthOrArraySize = 1;
    buf_desc.MipLevels = 1;
    buf_desc.SampleDesc.Count = 1;
    buf_desc.Layout = D3D12_TEXTURE_LAYOUT_ROW_MAJOR;
    hr = ID3D12Device_CreateCommittedResource(dp12.device, &heap, D3D12_HEAP_FLAG_NONE, &buf_desc,
                                              p->base.producer ? D3D12_RESOURCE_STATE_COPY_DEST
                                                               : D3D12_RESOURCE_STATE_GENERIC_READ,
                                              NULL, &IID_ID3D12Resource, (void **)&p->buffer);
    if (FAILED(hr))
        return dp_fail_hr(dp_result_from_hr(hr), hr, "CreateCommittedResource(copy buffer)");
    hr = ID3D12Resource_Map(p->buffer, 0, NULL, (void **)&p->buffer_ptr);
    if (FAILED(hr))
        return dp_fail_hr(DP_ERROR_DEVICE, hr, "Map(copy buffer)");
    hr = ID3D12Device_CreateCommandAllocator(dp12.device, D3D12_COMMAND_LIST_TYPE_COPY, &IID_ID3D12CommandAllocator,
                                             (void **)&p->allocator);
    if (SUCCEEDED(hr))
        hr = ID3D12Device_CreateCommandList(dp12.device, 0, D3D12_COMMAND_LIST_TYPE_COPY, p->allocator, NULL,
                                            &IID_ID3D12GraphicsCommandList, (void **)&p->list);
    if (SUCCEEDED(hr))
        hr = ID3D12GraphicsCommandList_Close(p->list);
    if (FAILED(hr))
        return dp_fail_hr(DP_ERROR_DEVICE, hr, "creating the copy command list");
    return DP_OK;
}

static const dp_host_ops dp12_host_ops;

/* The names are anyone's to take: an opened texture must be the one the control block
 * describes, on this device's adapter, or the copies sized from the block overrun. */
static DP_RESULT dp12_check_opened(dp12_port *p, ID3D12Resource *texture, const wchar_t *name)
{
    D3D12_RESOURCE_DESC desc;
    LUID luid;
    const dpb_block *b = p->base.block;
    dp12.device->lpVtbl->GetAdapterLuid(dp12.device, &luid);
    if (b && (b->adapter_luid_low || b->adapter_luid_high) &&
        (b->adapter_luid_low != luid.LowPart || b->adapter_luid_high != luid.HighPart))
        return dp_fail(DP_ERROR_UNSUPPORTED, "%ls lives on adapter %08lx:%08lx and this device on %08lx:%08lx; "
                                             "GPU-transport textures do not cross adapters",
                       p->base.names.display, (unsigned long)b->adapter_luid_high, (unsigned long)b->adapter_luid_low,
                       (unsigned long)luid.HighPart, (unsigned long)luid.LowPart);
    texture->lpVtbl->GetDesc(texture, &desc);
    if (desc.Dimension != D3D12_RESOURCE_DIMENSION_TEXTURE2D || desc.Width != p->base.width ||
        desc.Height != p->base.height || (uint32_t)desc.Format != p->base.dxgi_format ||
        (desc.Layout == D3D12_TEXTURE_LAYOUT_ROW_MAJOR) != p->system_ram)
        return dp_fail(DP_ERROR_INCOMPATIBLE, "the texture %ls does not match the control block of %ls", name,
                       p->base.names.display);
    return DP_OK;
}

/* Makes (producer, sec given) or opens (consumer) the objects of p's generation. */
static DP_RESULT dp12_build(dp12_port *p, const dp_security *sec)
{
    wchar_t name[DPN_LEN];
    DP_RESULT r = DP_OK;
    uint32_t i;

    if (p->base.transport == DP_TRANSPORT_GPU) {
        p->textures = p->base.slots;
        for (i = 0; i < p->textures && r == DP_OK; i++) {
            dpn_texture_name(name, DPN_LEN, &p->base.names, p->base.generation, i);
            if (sec) {
                r = dp12_create_texture(p, true, &p->texture[i]);
                if (r == DP_OK)
                    r = dp12_share((ID3D12DeviceChild *)p->texture[i], sec, name, &p->texture_nt[i]);
            } else {
                r = dp12_open_shared(name, &IID_ID3D12Resource, (void **)&p->texture[i], &p->texture_nt[i]);
                if (r == DP_OK)
                    r = dp12_check_opened(p, p->texture[i], name);
            }
        }
        dpn_fence_name(name, DPN_LEN, &p->base.names, p->base.generation);
        if (r == DP_OK && sec) {
            r = dp12_create_fence(true, &p->fence);
            if (r == DP_OK)
                r = dp12_share((ID3D12DeviceChild *)p->fence, sec, name, &p->fence_nt);
        } else if (r == DP_OK) {
            r = dp12_open_shared(name, &IID_ID3D12Fence, (void **)&p->fence, &p->fence_nt);
        }
        return r;
    }
    p->textures = p->base.producer ? p->base.slots : DP12_CONSUMER_TEXTURES;
    for (i = 0; i < p->textures && r == DP_OK; i++)
        r = dp12_create_texture(p, false, &p->texture[i]);
    if (r == DP_OK)
        r = dp12_create_copy_objects(p);
    if (r == DP_OK)
        r = dp_host_start(&p->base, sec, &dp12_host_ops, p);
    return r;
}

/* Waits until the GPU is done with this handle's textures, so they can be released:
 * the producer's last frame and the consumer's last release. */
static void dp12_quiesce(dp12_port *p)
{
    ID3D12Fence *fence = p->base.producer ? p->fence : p->release_fence;
    uint64_t value = p->base.producer ? p->base.last_frame : p->release_value;
    if (p->base.host)
        dp_host_drain(p->base.host);
    if (fence && ID3D12Fence_GetCompletedValue(fence) < value &&
        SUCCEEDED(ID3D12Fence_SetEventOnCompletion(fence, value, p->wait_event)))
        dp_wait_event(&p->base, p->wait_event, 10000);
}

/* ---- Creation ------------------------------------------------------------------------- */

static LUID dp12_adapter_luid(void)
{
    LUID luid;
    dp12.device->lpVtbl->GetAdapterLuid(dp12.device, &luid);
    return luid;
}

static DP_HANDLE dp12_create(const dp_create_args *a)
{
    dp12_port *p;
    dp_security sec;
    DP_RESULT r;
    bool gpu;

    gpu = a->transport != DP_TRANSPORT_HOST && dp12_device_can_share();
    if (a->transport == DP_TRANSPORT_GPU && !gpu) {
        dp_fail(DP_ERROR_UNSUPPORTED, "DP_TRANSPORT_GPU: this driver does not implement NT shared handles "
                                      "(ID3D12Device::CreateSharedHandle returns E_NOTIMPL); use "
                                      "DP_TRANSPORT_AUTO or DP_TRANSPORT_HOST");
        return NULL;
    }
    p = dp12_port_new(true);
    if (!p)
        return NULL;
    dp_port_from_args(&p->base, a);
    p->base.transport = gpu ? DP_TRANSPORT_GPU : DP_TRANSPORT_HOST;
    p->system_ram = (a->flags & DP_PORT_SYSTEM_RAM) != 0;
    r = dp_port_security(&p->base, a->sddl, &sec);
    if (r != DP_OK)
        return dp12_finish(p, r);

    /* The control block claims the name first, so a taken name fails before anything
     * of the existing port is touched. */
    r = dp_port_create_block(&p->base, &sec, dp12_adapter_luid());
    if (r == DP_OK)
        r = dp12_create_lasting(p);
    if (r == DP_OK)
        r = dp12_build(p, &sec);
    if (r == DP_OK)
        dp_port_publish_block(&p->base);
    dp_security_free(&sec);
    return dp12_finish(p, r);
}

DP_HANDLE dp12_create_shared_resource(uint32_t width, uint32_t height, DP_FORMAT format, bool is_system_ram,
                                      const wchar_t *tex_name, const wchar_t *fence_name)
{
    dp_create_args a;
    if (!dp12_ready("dp12_create_shared_resource") ||
        dp_args_legacy(width, height, format, is_system_ram ? DP_PORT_SYSTEM_RAM : 0u, tex_name, fence_name, &a,
                       "dp12_create_shared_resource") != DP_OK)
        return dp12_created(NULL);
    return dp12_created(dp12_create(&a));
}

DP_HANDLE dp12_create_port(const DP_PORT_DESC *desc)
{
    dp_create_args a;
    if (!dp12_ready("dp12_create_port") || dp_args_from_desc(desc, &a, "dp12_create_port") != DP_OK)
        return dp12_created(NULL);
    return dp12_created(dp12_create(&a));
}

/* ---- Opening -------------------------------------------------------------------------- */

/* A GPU port made by another DirectPort build: the two NT names and nothing else. */
static DP_RESULT dp12_open_external(dp12_port *p)
{
    D3D12_RESOURCE_DESC desc;
    DP_RESULT r = dp12_open_shared(p->base.names.tex, &IID_ID3D12Resource, (void **)&p->texture[0],
                                   &p->texture_nt[0]);
    uint32_t f;
    if (r != DP_OK)
        return dp_fail(DP_ERROR_NOT_FOUND, "no port named %ls", p->base.names.display);
    p->textures = 1;
    r = dp12_open_shared(p->base.names.fence, &IID_ID3D12Fence, (void **)&p->fence, &p->fence_nt);
    if (r != DP_OK)
        return r;
    p->texture[0]->lpVtbl->GetDesc(p->texture[0], &desc);
    for (f = 0; f < DPB_FORMATS; f++) {
        uint32_t dxgi;
        dpb_format_info(f, &dxgi, &p->base.bytes_per_pixel);
        if (dxgi == (uint32_t)desc.Format)
            break;
    }
    if (f >= DPB_FORMATS || desc.Width > DP_MAX_DIMENSION || desc.Height > DP_MAX_DIMENSION)
        return dp_fail(DP_ERROR_INCOMPATIBLE, "the texture %ls has a format or size DirectPort does not use",
                       p->base.names.tex);
    p->base.external = true;
    p->base.transport = DP_TRANSPORT_GPU;
    p->base.format = (DP_FORMAT)f;
    p->base.dxgi_format = (uint32_t)desc.Format;
    p->base.width = (uint32_t)desc.Width;
    p->base.height = desc.Height;
    p->base.slots = 1;
    p->base.legacy = true;
    p->system_ram = desc.Layout == D3D12_TEXTURE_LAYOUT_ROW_MAJOR;
    p->base.flags = p->system_ram ? DP_PORT_SYSTEM_RAM : 0;
    p->base.row_pitch = dpb_row_pitch(p->base.width, p->base.bytes_per_pixel);
    return dp12_create_lasting(p);
}

static VOID CALLBACK dp12_release_done(PVOID ctx, BOOLEAN timed_out);

static DP_HANDLE dp12_open(const dpn_names *names)
{
    dp12_port *p = dp12_port_new(false);
    DP_RESULT r;
    if (!p)
        return NULL;
    p->base.names = *names;
    r = dp_port_open_block(&p->base);
    if (r == DP_ERROR_NOT_FOUND && !p->base.block && names->tex[0] && dp12_device_can_share())
        return dp12_finish(p, dp12_open_external(p));
    if (r != DP_OK)
        return dp12_finish(p, r);
    p->system_ram = (p->base.flags & DP_PORT_SYSTEM_RAM) != 0;
    r = dp12_create_lasting(p);
    if (r == DP_OK)
        r = dp12_build(p, NULL);
    if (r == DP_OK && p->base.transport == DP_TRANSPORT_GPU &&
        !RegisterWaitForSingleObject(&p->release_wait, p->release_event, dp12_release_done, p, INFINITE,
                                     WT_EXECUTEDEFAULT))
        r = dp_fail_win32(DP_ERROR_OUT_OF_MEMORY, GetLastError(), "RegisterWaitForSingleObject");
    return dp12_finish(p, r);
}

DP_HANDLE dp12_open_shared_resource(const wchar_t *tex_name, const wchar_t *fence_name)
{
    if (!dp12_ready("dp12_open_shared_resource"))
        return NULL;
    return dp_open_named(tex_name, fence_name ? fence_name : L"", dp12_open, "dp12_open_shared_resource");
}

DP_HANDLE dp12_open_port(const wchar_t *name)
{
    if (!dp12_ready("dp12_open_port"))
        return NULL;
    return dp_open_named(name, NULL, dp12_open, "dp12_open_port");
}

/* ---- Fences ---------------------------------------------------------------------------- */

void dp12_signal_fence(DP_HANDLE h, uint64_t value)
{
    dp12_port *p = dp12_get(h, "dp12_signal_fence");
    HRESULT hr;
    if (!p)
        return;
    hr = ID3D12Fence_Signal(p->fence, value);
    if (FAILED(hr)) {
        dp_fail_hr(DP_ERROR_DEVICE, hr, "dp12_signal_fence: ID3D12Fence::Signal");
        return;
    }
    /* On the GPU transport the value is the frame: publish it for acquire and discovery. */
    if (p->base.transport == DP_TRANSPORT_GPU && p->base.producer && p->base.block)
        dp_ring_publish(&p->base, 0, value);
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
    hr = ID3D12CommandQueue_Signal(queue, p->fence, value);
    if (FAILED(hr)) {
        dp_fail_hr(DP_ERROR_DEVICE, hr, "dp12_queue_signal: ID3D12CommandQueue::Signal");
        return false;
    }
    if (p->base.transport == DP_TRANSPORT_GPU && p->base.producer && p->base.block)
        dp_ring_publish(&p->base, 0, value);
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
    hr = ID3D12CommandQueue_Wait(queue, p->fence, value);
    if (FAILED(hr))
        dp_fail_hr(DP_ERROR_DEVICE, hr, "dp12_queue_wait: ID3D12CommandQueue::Wait");
}

uint64_t dp12_get_completed_value(DP_HANDLE h)
{
    dp12_port *p = dp12_get(h, "dp12_get_completed_value");
    return p ? ID3D12Fence_GetCompletedValue(p->fence) : 0;
}

DP_RESULT dp12_cpu_wait_timeout(DP_HANDLE h, uint64_t value, uint32_t timeout_ms)
{
    dp12_port *p = dp12_get(h, "dp12_cpu_wait_timeout");
    ULONGLONG start = GetTickCount64();
    dp_error_state saved;
    if (!p)
        return dp_last_error();
    dp_error_save(&saved);
    for (;;) {
        uint32_t remaining = UINT32_MAX;
        DP_RESULT r;
        HRESULT hr;
        if (ID3D12Fence_GetCompletedValue(p->fence) >= value)
            return DP_OK;
        if (timeout_ms != UINT32_MAX) {
            ULONGLONG spent = GetTickCount64() - start;
            remaining = spent >= timeout_ms ? 0 : (uint32_t)(timeout_ms - spent);
        }
        hr = ID3D12Fence_SetEventOnCompletion(p->fence, value, p->wait_event);
        if (FAILED(hr))
            return dp_fail_hr(DP_ERROR_DEVICE, hr, "dp12_cpu_wait_timeout: SetEventOnCompletion");
        /* The event may be set by an older wait's registration: the loop re-checks. */
        r = dp_wait_event(&p->base, p->wait_event, remaining);
        if (r == DP_ERROR_TIMEOUT && remaining)
            r = dp_fail(DP_ERROR_TIMEOUT, "dp12_cpu_wait_timeout: %ls did not reach %llu within %u ms",
                        p->base.names.display, (unsigned long long)value, timeout_ms);
        if (r == DP_ERROR_DISCONNECTED && ID3D12Fence_GetCompletedValue(p->fence) >= value) {
            dp_error_restore(&saved);
            return DP_OK;
        }
        if (r != DP_OK)
            return r;
    }
}

void dp12_cpu_wait(DP_HANDLE h, uint64_t value)
{
    dp12_cpu_wait_timeout(h, value, UINT32_MAX);
}

/* ---- Getters ---------------------------------------------------------------------------- */

ID3D12Resource *dp12_get_resource(DP_HANDLE h)
{
    dp12_port *p = dp12_get(h, "dp12_get_resource");
    return p ? p->texture[0] : NULL;
}

ID3D12Fence *dp12_get_fence(DP_HANDLE h)
{
    dp12_port *p = dp12_get(h, "dp12_get_fence");
    return p ? p->fence : NULL;
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
    return texture ? p->texture_nt[0] : p->fence_nt;
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

void *dp12_map_memory(DP_HANDLE h, uint32_t *out_row_pitch)
{
    dp12_port *p = dp12_get(h, "dp12_map_memory");
    HRESULT hr;
    if (!p)
        return NULL;
    if (!p->system_ram) {
        dp_fail(DP_ERROR_UNSUPPORTED, "dp12_map_memory: %ls was not created in system RAM", p->base.names.display);
        return NULL;
    }
    if (!p->map_ptr) {
        p->map_pitch = p->base.row_pitch;
        if (p->base.host) {
            /* The section is the port's memory: no copy at all. A consumer sees the
             * latest frame's slot; a producer writes slot 0, as the legacy API does. */
            uint32_t slot = p->base.producer ? 0 : dpb_latest_slot(p->base.block->latest);
            p->map_ptr = dp_host_slot(p->base.host, slot < p->base.slots ? slot : 0);
        } else {
            hr = ID3D12Resource_Map(p->texture[0], 0, NULL, (void **)&p->map_ptr);
            if (FAILED(hr)) {
                /* Drivers that cannot map row-major textures (vkd3d) keep the contract
                 * through a CPU copy in and out. */
                p->map_ptr = NULL;
                if (!p->map_staging)
                    p->map_staging = HeapAlloc(GetProcessHeap(), 0, (SIZE_T)p->map_pitch * p->base.height);
                if (!p->map_staging) {
                    dp_fail(DP_ERROR_OUT_OF_MEMORY, "dp12_map_memory: out of memory");
                    return NULL;
                }
                hr = ID3D12Resource_ReadFromSubresource(p->texture[0], p->map_staging, p->map_pitch,
                                                        p->map_pitch * p->base.height, 0, NULL);
                if (FAILED(hr)) {
                    dp_fail_hr(DP_ERROR_DEVICE, hr, "dp12_map_memory: ReadFromSubresource");
                    return NULL;
                }
                p->map_ptr = p->map_staging;
            }
        }
    }
    if (out_row_pitch)
        *out_row_pitch = p->map_pitch;
    return p->map_ptr;
}

void dp12_unmap_memory(DP_HANDLE h)
{
    dp12_port *p = dp12_get(h, "dp12_unmap_memory");
    HRESULT hr;
    if (!p)
        return;
    if (!p->map_ptr) {
        dp_fail(DP_ERROR_INVALID_ARGUMENT, "dp12_unmap_memory: %ls is not mapped", p->base.names.display);
        return;
    }
    if (p->base.host) {
        if (p->base.producer)
            dp_host_mark_cpu_written(p->base.host);
    } else if (p->map_ptr == p->map_staging) {
        hr = ID3D12Resource_WriteToSubresource(p->texture[0], 0, NULL, p->map_staging, p->map_pitch,
                                               p->map_pitch * p->base.height);
        if (FAILED(hr))
            dp_fail_hr(DP_ERROR_DEVICE, hr, "dp12_unmap_memory: WriteToSubresource");
    } else {
        ID3D12Resource_Unmap(p->texture[0], 0, NULL);
    }
    p->map_ptr = NULL;
}

/* ---- Frame protocol ------------------------------------------------------------------------ */

static dp12_port *dp12_get_side(DP_HANDLE h, bool producer, const char *fn)
{
    dp12_port *p = dp12_get(h, fn);
    if (!p)
        return NULL;
    if (p->base.producer != producer) {
        dp_fail(DP_ERROR_INVALID_ARGUMENT, "%s: %ls was %s by this handle; this call is for its %s", fn,
                p->base.names.display, p->base.producer ? "created" : "opened",
                producer ? "producer" : "consumers");
        return NULL;
    }
    if (p->base.external) {
        dp_fail(DP_ERROR_UNSUPPORTED, "%s: %ls was made by another DirectPort build and has no control block", fn,
                p->base.names.display);
        return NULL;
    }
    return p;
}

DP_RESULT dp12_begin_frame(DP_HANDLE h, ID3D12Resource **out_target)
{
    dp12_port *p = dp12_get_side(h, true, "dp12_begin_frame");
    uint32_t slot;
    DP_RESULT r;
    if (!p)
        return dp_last_error();
    if (!out_target)
        return dp_fail(DP_ERROR_INVALID_ARGUMENT, "dp12_begin_frame: out_target is NULL");
    /* Before the frame's fence value exists: a legacy follow step must never see it. */
    if (p->base.host)
        dp_host_enter_frame_mode(p->base.host);
    if (p->base.begun == DP_NO_SLOT) {
        r = dp_ring_pick(&p->base, p->base.host ? dp_host_busy(p->base.host) : 0, &slot);
        if (r != DP_OK) {
            *out_target = NULL;
            return r;
        }
        p->base.begun = slot;
    }
    *out_target = p->texture[p->base.begun];
    return DP_OK;
}

DP_RESULT dp12_end_frame(DP_HANDLE h, ID3D12CommandQueue *queue, uint64_t *out_frame)
{
    dp12_port *p = dp12_get_side(h, true, "dp12_end_frame");
    uint64_t frame;
    HRESULT hr;
    if (!p)
        return dp_last_error();
    if (!queue)
        return dp_fail(DP_ERROR_INVALID_ARGUMENT, "dp12_end_frame: queue is NULL");
    if (p->base.begun == DP_NO_SLOT)
        return dp_fail(DP_ERROR_INVALID_ARGUMENT, "dp12_end_frame: no frame begun on %ls", p->base.names.display);
    /* Frame values go on from whatever the fence or the port has seen, legacy signals
     * and earlier producers included, so they only ever grow. */
    frame = p->base.last_frame;
    if (ID3D12Fence_GetCompletedValue(p->fence) > frame)
        frame = ID3D12Fence_GetCompletedValue(p->fence);
    if (dp_port_published(&p->base) > frame)
        frame = dp_port_published(&p->base);
    frame++;
    hr = ID3D12CommandQueue_Signal(queue, p->fence, frame);
    if (FAILED(hr))
        return dp_fail_hr(DP_ERROR_DEVICE, hr, "dp12_end_frame: ID3D12CommandQueue::Signal");
    p->base.last_frame = frame;
    if (p->base.host)
        dp_host_readback(p->base.host, p->base.begun, p->base.begun, frame);
    else
        dp_ring_publish(&p->base, p->base.begun, frame);
    p->base.begun = DP_NO_SLOT;
    if (out_frame)
        *out_frame = frame;
    return DP_OK;
}

/* Consumer: the port moved to a new generation (resize, new producer); rebuild this
 * handle's objects for it once the GPU is done with the old ones. */
static DP_RESULT dp12_follow_generation(dp12_port *p)
{
    dp12_quiesce(p);
    dp12_unbuild(p);
    p->system_ram = (p->base.flags & DP_PORT_SYSTEM_RAM) != 0;
    memset(p->texture_free_at, 0, sizeof(p->texture_free_at));
    if (p->base.transport == DP_TRANSPORT_GPU) {
        /* Frames of the old generation were on the old fence: its pending releases will
         * never be seen complete there, so their claims go now (the GPU is done: quiesced). */
        AcquireSRWLockExclusive(&p->pending_lock);
        while (p->pending_count)
            dp_ring_unclaim(&p->base, p->base.reader, p->pending[--p->pending_count].slot);
        ReleaseSRWLockExclusive(&p->pending_lock);
    }
    return dp12_build(p, NULL);
}

DP_RESULT dp12_acquire_frame(DP_HANDLE h, ID3D12CommandQueue *queue, uint32_t timeout_ms,
                             ID3D12Resource **out_source, uint64_t *out_frame)
{
    dp12_port *p = dp12_get_side(h, false, "dp12_acquire_frame");
    uint32_t slot = 0;
    uint64_t frame = 0;
    bool changed = false;
    DP_RESULT r;
    HRESULT hr;
    if (!p)
        return dp_last_error();
    if (!queue || !out_source)
        return dp_fail(DP_ERROR_INVALID_ARGUMENT, "dp12_acquire_frame: queue and out_source must not be NULL");
    *out_source = NULL;
    if (p->base.held != DP_NO_SLOT)
        return dp_fail(DP_ERROR_INVALID_ARGUMENT, "dp12_acquire_frame: release the frame this handle holds first");
    if (p->base.host)
        dp_host_enter_frame_mode(p->base.host);
    r = dp_ring_acquire(&p->base, timeout_ms, &changed, &slot, &frame);
    if (changed) {
        DP_RESULT rebuilt = dp12_follow_generation(p);
        if (rebuilt != DP_OK) {
            if (r == DP_OK)
                dp_ring_unclaim(&p->base, p->base.reader, slot);
            return rebuilt;
        }
    }
    if (r != DP_OK)
        return r;
    p->base.last_frame = frame;
    p->base.held = slot;
    if (p->base.host) {
        uint32_t k = p->next_texture;
        p->next_texture = (k + 1) % DP12_CONSUMER_TEXTURES;
        p->held_texture = k;
        dp_host_upload(p->base.host, slot, k, frame);
        *out_source = p->texture[k];
        /* The worker's copy finishes first, then the caller's queue waits on a value
         * already reached: under Wine, vkd3d can deadlock a queue that waits for a value
         * another queue has yet to signal. Waiting for the job itself, not for the
         * fence value, matters: the legacy follow step may have moved the fence that far
         * already. This costs the caller the copy's time. */
        dp_host_drain(p->base.host);
    } else {
        p->held_texture = slot;
        *out_source = p->texture[slot];
    }
    /* GPU-side: the caller's queue waits, its thread does not. */
    hr = ID3D12CommandQueue_Wait(queue, p->fence, frame);
    if (FAILED(hr))
        return dp_fail_hr(DP_ERROR_DEVICE, hr, "dp12_acquire_frame: ID3D12CommandQueue::Wait");
    if (out_frame)
        *out_frame = frame;
    return DP_OK;
}

/* Thread pool: the caller's GPU passed some release values; drop those claims. */
static VOID CALLBACK dp12_release_done(PVOID ctx, BOOLEAN timed_out)
{
    dp12_port *p = ctx;
    uint64_t done = ID3D12Fence_GetCompletedValue(p->release_fence);
    uint32_t i = 0;
    (void)timed_out;
    AcquireSRWLockExclusive(&p->pending_lock);
    while (i < p->pending_count) {
        if (p->pending[i].value <= done) {
            dp_ring_unclaim(&p->base, p->base.reader, p->pending[i].slot);
            p->pending[i] = p->pending[--p->pending_count];
        } else {
            i++;
        }
    }
    ReleaseSRWLockExclusive(&p->pending_lock);
}

void dp12_release_frame(DP_HANDLE h, ID3D12CommandQueue *queue)
{
    dp12_port *p = dp12_get_side(h, false, "dp12_release_frame");
    HRESULT hr;
    if (!p)
        return;
    if (!queue) {
        dp_fail(DP_ERROR_INVALID_ARGUMENT, "dp12_release_frame: queue is NULL");
        return;
    }
    if (p->base.held == DP_NO_SLOT) {
        dp_fail(DP_ERROR_INVALID_ARGUMENT, "dp12_release_frame: this handle holds no frame");
        return;
    }
    hr = ID3D12CommandQueue_Signal(queue, p->release_fence, ++p->release_value);
    if (FAILED(hr)) {
        /* The GPU state is unknown: keep the claim rather than let the slot be rewritten. */
        dp_fail_hr(DP_ERROR_DEVICE, hr, "dp12_release_frame: ID3D12CommandQueue::Signal");
        p->base.held = DP_NO_SLOT;
        return;
    }
    if (p->base.host) {
        /* The section slot was given back after the upload; the local texture is
         * rewritten only once the copy queue has waited for this value. */
        p->texture_free_at[p->held_texture] = p->release_value;
    } else {
        bool queued = false;
        AcquireSRWLockExclusive(&p->pending_lock);
        if (p->pending_count < DP12_MAX_PENDING) {
            p->pending[p->pending_count].slot = p->base.held;
            p->pending[p->pending_count].value = p->release_value;
            p->pending_count++;
            queued = true;
        }
        ReleaseSRWLockExclusive(&p->pending_lock);
        if (!queued || FAILED(ID3D12Fence_SetEventOnCompletion(p->release_fence, p->release_value,
                                                               p->release_event)))
            dp_fail(DP_ERROR_DEVICE, "dp12_release_frame: cannot track the release; the claim stays");
    }
    p->base.held = DP_NO_SLOT;
}

/* ---- Resize ------------------------------------------------------------------------------ */

static void dp12_resize_release(dp_port *base)
{
    dp12_port *p = (dp12_port *)base;
    dp12_quiesce(p);
    dp12_unbuild(p);
}

static DP_RESULT dp12_resize_build(dp_port *base, const dp_security *sec)
{
    return dp12_build((dp12_port *)base, sec);
}

DP_RESULT dp12_resize_port(DP_HANDLE h, uint32_t width, uint32_t height)
{
    static const dp_resize_ops ops = {dp12_resize_release, dp12_resize_build};
    dp12_port *p = dp12_get_side(h, true, "dp12_resize_port");
    if (!p)
        return dp_last_error();
    return dp_port_resize(&p->base, width, height, &ops, "dp12_resize_port");
}

/* ---- Host transport backend (worker thread) ---------------------------------------------- */

static uint64_t dp12_host_wait_local(void *ctx, uint64_t after, HANDLE kick)
{
    dp12_port *p = ctx;
    HANDLE handles[2] = {p->local_event, kick};
    if (SUCCEEDED(ID3D12Fence_SetEventOnCompletion(p->fence, after + 1, p->local_event)))
        WaitForMultipleObjects(2, handles, FALSE, INFINITE);
    else
        WaitForSingleObject(kick, 10);
    return ID3D12Fence_GetCompletedValue(p->fence);
}

/* Runs the recorded copy on the copy queue after `wait` reaches wait_value (if
 * given), then signals `signal` (if given) to value, and waits for the copy so the
 * buffer and allocator may be reused. */
static bool dp12_host_submit(dp12_port *p, ID3D12Fence *wait, uint64_t wait_value, ID3D12Fence *signal,
                             uint64_t value)
{
    ID3D12CommandList *lists[1] = {(ID3D12CommandList *)p->list};
    HRESULT hr = ID3D12GraphicsCommandList_Close(p->list);
    if (FAILED(hr))
        return false;
    if (wait && wait_value && FAILED(ID3D12CommandQueue_Wait(p->copy_queue, wait, wait_value)))
        return false;
    ID3D12CommandQueue_ExecuteCommandLists(p->copy_queue, 1, lists);
    if (signal && FAILED(ID3D12CommandQueue_Signal(p->copy_queue, signal, value)))
        return false;
    if (FAILED(ID3D12CommandQueue_Signal(p->copy_queue, p->copy_fence, ++p->copy_value)))
        return false;
    if (FAILED(ID3D12Fence_SetEventOnCompletion(p->copy_fence, p->copy_value, p->copy_event)))
        return false;
    WaitForSingleObject(p->copy_event, INFINITE);
    return true;
}

static bool dp12_host_record(dp12_port *p, uint32_t texture, bool to_texture)
{
    D3D12_TEXTURE_COPY_LOCATION tex = {0}, buf = {0};
    if (FAILED(ID3D12CommandAllocator_Reset(p->allocator)) ||
        FAILED(ID3D12GraphicsCommandList_Reset(p->list, p->allocator, NULL)))
        return false;
    tex.pResource = p->texture[texture];
    tex.Type = D3D12_TEXTURE_COPY_TYPE_SUBRESOURCE_INDEX;
    buf.pResource = p->buffer;
    buf.Type = D3D12_TEXTURE_COPY_TYPE_PLACED_FOOTPRINT;
    buf.PlacedFootprint = p->footprint;
    if (to_texture)
        ID3D12GraphicsCommandList_CopyTextureRegion(p->list, &tex, 0, 0, 0, &buf, NULL);
    else
        ID3D12GraphicsCommandList_CopyTextureRegion(p->list, &buf, 0, 0, 0, &tex, NULL);
    return true;
}

static bool dp12_host_readback(void *ctx, uint32_t texture, void *dst)
{
    dp12_port *p = ctx;
    size_t size = (size_t)p->base.row_pitch * p->base.height;
    /* Rows dp12_upload_bgra left for the section are the frame, not the texture. */
    if (texture == 0 && dp12_upload_take(p, dst))
        return true;
    if (p->system_ram)
        return SUCCEEDED(ID3D12Resource_ReadFromSubresource(p->texture[texture], dst, p->base.row_pitch,
                                                            (UINT)size, 0, NULL));
    if (!dp12_host_record(p, texture, false) || !dp12_host_submit(p, NULL, 0, NULL, 0))
        return false;
    memcpy(dst, p->buffer_ptr, size);
    return true;
}

static bool dp12_host_upload(void *ctx, uint32_t texture, const void *src, uint64_t value)
{
    dp12_port *p = ctx;
    size_t size = (size_t)p->base.row_pitch * p->base.height;
    uint64_t free_at = texture < DP12_CONSUMER_TEXTURES ? p->texture_free_at[texture] : 0;
    if (p->system_ram) {
        /* A CPU write: wait on the CPU for the caller's GPU to let go of the texture. */
        if (free_at && ID3D12Fence_GetCompletedValue(p->release_fence) < free_at &&
            SUCCEEDED(ID3D12Fence_SetEventOnCompletion(p->release_fence, free_at, p->copy_event)))
            WaitForSingleObject(p->copy_event, INFINITE);
        return SUCCEEDED(ID3D12Resource_WriteToSubresource(p->texture[texture], 0, NULL, src, p->base.row_pitch,
                                                           (UINT)size)) &&
               SUCCEEDED(ID3D12Fence_Signal(p->fence, value));
    }
    memcpy(p->buffer_ptr, src, size);
    return dp12_host_record(p, texture, true) && dp12_host_submit(p, p->release_fence, free_at, p->fence, value);
}

static const dp_host_ops dp12_host_ops = {dp12_host_wait_local, dp12_host_readback, dp12_host_upload};

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
#define DP12_UPLOAD_WAIT_MS 10000u

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
    if (!dp12_ready("dp12_get_adapter_luid"))
        return false;
    if (!out_luid) {
        dp_fail(DP_ERROR_INVALID_ARGUMENT, "dp12_get_adapter_luid: out_luid is NULL");
        return false;
    }
    luid = dp12_adapter_luid();
    *out_luid = (int64_t)(((uint64_t)(uint32_t)luid.HighPart << 32) | luid.LowPart);
    return true;
}

int32_t dp12_last_hresult(void)
{
    return (int32_t)dp_error_create_hr();
}

/* Every dp12 create returns through here: a failure's HRESULT is what dp12_last_hresult
 * reports from then on. */
static DP_HANDLE dp12_created(DP_HANDLE h)
{
    if (!h)
        dp_error_note_create_failed();
    return h;
}

bool dp12_is_uma(void)
{
    D3D12_FEATURE_DATA_ARCHITECTURE arch = {0};
    HRESULT hr;
    if (!dp12_ready("dp12_is_uma"))
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
    ULONGLONG start = GetTickCount64();
    while (ID3D12Fence_GetCompletedValue(u->fence) < value) {
        ULONGLONG spent = GetTickCount64() - start;
        if (spent >= DP12_UPLOAD_WAIT_MS || FAILED(ID3D12Fence_SetEventOnCompletion(u->fence, value, u->event)))
            return false;
        /* The auto-reset event may be left set by an earlier value: the loop re-checks. */
        WaitForSingleObject(u->event, (DWORD)(DP12_UPLOAD_WAIT_MS - spent));
    }
    return true;
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

/* Called with the generation's objects going (dp12_unbuild), the host worker stopped. */
static void dp12_upload_release(dp12_port *p)
{
    if (p->uploader)
        dp12_upload_free(p->uploader);
    p->uploader = NULL;
}

/* Host worker: the staged rows into dst (a section slot), if an upload left some. */
static bool dp12_upload_take(dp12_port *p, void *dst)
{
    bool taken = false;
    AcquireSRWLockExclusive(&p->upload_lock);
    if (p->uploader && p->uploader->pending) {
        memcpy(dst, p->uploader->staging, (size_t)p->base.row_pitch * p->base.height);
        p->uploader->pending = false;
        taken = true;
    }
    ReleaseSRWLockExclusive(&p->upload_lock);
    return taken;
}

/* p's uploader for its current generation, made at the first upload. */
static DP_RESULT dp12_upload_start(dp12_port *p, struct dp12_uploader **out)
{
    D3D12_COMMAND_QUEUE_DESC qd = {D3D12_COMMAND_LIST_TYPE_COPY, 0, D3D12_COMMAND_QUEUE_FLAG_NONE, 0};
    D3D12_RESOURCE_DESC desc;
    struct dp12_uploader *u = p->uploader;
    DP_RESULT r = DP_OK;
    HRESULT hr;
    if (u) {
        *out = u;
        return DP_OK;
    }
    u = HeapAlloc(GetProcessHeap(), HEAP_ZERO_MEMORY, sizeof(*u));
    if (!u)
        return dp_fail(DP_ERROR_OUT_OF_MEMORY, "dp12_upload_bgra: out of memory");
    if (p->base.host) {
        u->staging = HeapAlloc(GetProcessHeap(), HEAP_ZERO_MEMORY, (SIZE_T)p->base.row_pitch * p->base.height);
        if (!u->staging)
            r = dp_fail(DP_ERROR_OUT_OF_MEMORY, "dp12_upload_bgra: out of memory");
    } else {
        p->texture[0]->lpVtbl->GetDesc(p->texture[0], &desc);
        ID3D12Device_GetCopyableFootprints(dp12.device, &desc, 0, 1, 0, &u->footprint, NULL, NULL, &u->size);
        hr = ID3D12Device_CreateCommandQueue(dp12.device, &qd, &IID_ID3D12CommandQueue, (void **)&u->queue);
        if (SUCCEEDED(hr))
            hr = ID3D12Device_CreateFence(dp12.device, 0, D3D12_FENCE_FLAG_NONE, &IID_ID3D12Fence, (void **)&u->fence);
        if (FAILED(hr))
            r = dp_fail_hr(DP_ERROR_DEVICE, hr, "dp12_upload_bgra: creating the copy queue and its fence");
        else if (!(u->event = dp_track(CreateEventW(NULL, FALSE, FALSE, NULL))))
            r = dp_fail_win32(DP_ERROR_OUT_OF_MEMORY, GetLastError(), "dp12_upload_bgra: CreateEvent");
    }
    if (r != DP_OK) {
        dp12_upload_free(u);
        return r;
    }
    p->uploader = u;
    *out = u;
    return DP_OK;
}

/* An upload buffer laid out as the texture's copy footprint, and its command list. */
static DP_RESULT dp12_upload_buffer_make(const struct dp12_uploader *u, dp12_upload_buffer *b)
{
    D3D12_HEAP_PROPERTIES heap = {0};
    D3D12_RESOURCE_DESC desc = {0};
    D3D12_RANGE none = {0, 0};
    HRESULT hr;
    heap.Type = D3D12_HEAP_TYPE_UPLOAD;
    desc.Dimension = D3D12_RESOURCE_DIMENSION_BUFFER;
    desc.Width = u->size;
    desc.Height = 1;
    desc.DepthOrArraySize = 1;
    desc.MipLevels = 1;
    desc.SampleDesc.Count = 1;
    desc.Layout = D3D12_TEXTURE_LAYOUT_ROW_MAJOR;
    hr = ID3D12Device_CreateCommittedResource(dp12.device, &heap, D3D12_HEAP_FLAG_NONE, &desc,
                                              D3D12_RESOURCE_STATE_GENERIC_READ, NULL, &IID_ID3D12Resource,
                                              (void **)&b->buffer);
    if (SUCCEEDED(hr))
        hr = ID3D12Resource_Map(b->buffer, 0, &none, (void **)&b->ptr);
    if (SUCCEEDED(hr))
        hr = ID3D12Device_CreateCommandAllocator(dp12.device, D3D12_COMMAND_LIST_TYPE_COPY,
                                                 &IID_ID3D12CommandAllocator, (void **)&b->allocator);
    if (SUCCEEDED(hr))
        hr = ID3D12Device_CreateCommandList(dp12.device, 0, D3D12_COMMAND_LIST_TYPE_COPY, b->allocator, NULL,
                                            &IID_ID3D12GraphicsCommandList, (void **)&b->list);
    if (SUCCEEDED(hr))
        hr = ID3D12GraphicsCommandList_Close(b->list);
    if (FAILED(hr)) {
        dp12_upload_buffer_free(b);
        return dp_fail_hr(dp_result_from_hr(hr), hr, "dp12_upload_bgra: creating an upload buffer");
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
                       DP12_UPLOAD_WAIT_MS);
    *out = oldest;
    return DP_OK;
}

/* GPU transport: rows -> upload buffer -> the port's texture on the copy queue, which
 * then signals the port's fence with value. */
static DP_RESULT dp12_upload_gpu(dp12_port *p, const uint8_t *src, uint32_t pitch, uint64_t value)
{
    D3D12_TEXTURE_COPY_LOCATION dst = {0}, from = {0};
    const D3D12_SUBRESOURCE_FOOTPRINT *fp;
    ID3D12CommandList *lists[1];
    struct dp12_uploader *u = NULL;
    dp12_upload_buffer *b = NULL;
    DP_RESULT r;
    HRESULT hr;
    r = dp12_upload_start(p, &u);
    if (r == DP_OK)
        r = dp12_upload_buffer_get(u, &b);
    if (r != DP_OK)
        return r;
    fp = &u->footprint.Footprint;
    for (uint32_t y = 0; y < p->base.height; y++)
        memcpy(b->ptr + u->footprint.Offset + (size_t)y * fp->RowPitch, src + (size_t)y * pitch,
               (size_t)p->base.width * 4);
    hr = ID3D12CommandAllocator_Reset(b->allocator);
    if (SUCCEEDED(hr))
        hr = ID3D12GraphicsCommandList_Reset(b->list, b->allocator, NULL);
    if (FAILED(hr))
        return dp_fail_hr(DP_ERROR_DEVICE, hr, "dp12_upload_bgra: resetting the copy command list");
    /* COMMON -> COPY_DEST by implicit promotion; back to COMMON when the copy queue's
     * ExecuteCommandLists is done. */
    dst.pResource = p->texture[0];
    dst.Type = D3D12_TEXTURE_COPY_TYPE_SUBRESOURCE_INDEX;
    dst.SubresourceIndex = 0;
    from.pResource = b->buffer;
    from.Type = D3D12_TEXTURE_COPY_TYPE_PLACED_FOOTPRINT;
    from.PlacedFootprint = u->footprint;
    ID3D12GraphicsCommandList_CopyTextureRegion(b->list, &dst, 0, 0, 0, &from, NULL);
    hr = ID3D12GraphicsCommandList_Close(b->list);
    if (FAILED(hr))
        return dp_fail_hr(DP_ERROR_DEVICE, hr, "dp12_upload_bgra: ID3D12GraphicsCommandList::Close");
    lists[0] = (ID3D12CommandList *)b->list;
    ID3D12CommandQueue_ExecuteCommandLists(u->queue, 1, lists);
    /* Whatever happens to the signals, the buffer is the GPU's until the copy fence says so. */
    b->done_at = ++u->value;
    hr = ID3D12CommandQueue_Signal(u->queue, p->fence, value);
    if (FAILED(hr)) {
        ID3D12CommandQueue_Signal(u->queue, u->fence, u->value);
        return dp_fail_hr(DP_ERROR_DEVICE, hr, "dp12_upload_bgra: ID3D12CommandQueue::Signal(port fence)");
    }
    hr = ID3D12CommandQueue_Signal(u->queue, u->fence, u->value);
    if (FAILED(hr))
        return dp_fail_hr(DP_ERROR_DEVICE, hr, "dp12_upload_bgra: ID3D12CommandQueue::Signal(copy fence)");
    if (p->base.block)
        dp_ring_publish(&p->base, 0, value);
    return DP_OK;
}

/* Host transport: rows -> the staging copy, then the local fence to value. frame_job
 * (the worker is in frame mode: the handle used begin/end frame): a readback job
 * publishes slot; otherwise the legacy follow step does when it sees the fence move. */
static DP_RESULT dp12_upload_host(dp12_port *p, const uint8_t *src, uint32_t pitch, uint64_t value, bool frame_job,
                                  uint32_t slot)
{
    struct dp12_uploader *u = NULL;
    DP_RESULT r;
    HRESULT hr;
    AcquireSRWLockExclusive(&p->upload_lock);
    r = dp12_upload_start(p, &u);
    if (r == DP_OK) {
        for (uint32_t y = 0; y < p->base.height; y++)
            memcpy(u->staging + (size_t)y * p->base.row_pitch, src + (size_t)y * pitch, (size_t)p->base.width * 4);
        u->pending = true;
    }
    ReleaseSRWLockExclusive(&p->upload_lock);
    if (r != DP_OK)
        return r;
    hr = ID3D12Fence_Signal(p->fence, value);
    if (FAILED(hr))
        return dp_fail_hr(DP_ERROR_DEVICE, hr, "dp12_upload_bgra: ID3D12Fence::Signal");
    if (frame_job)
        dp_host_readback(p->base.host, 0, slot, value);
    return DP_OK;
}

bool dp12_upload_bgra(DP_HANDLE h, const void *src, uint32_t src_row_pitch, uint32_t width, uint32_t height,
                      uint64_t frame_value)
{
    dp12_port *p = dp12_get(h, "dp12_upload_bgra");
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
    if (ID3D12Fence_GetCompletedValue(p->fence) > latest)
        latest = ID3D12Fence_GetCompletedValue(p->fence);
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
    frame_job = p->base.host && dp_host_in_frame_mode(p->base.host);
    if ((!p->base.host || frame_job) &&
        dp_ring_pick(&p->base, p->base.host ? dp_host_busy(p->base.host) : 0, &slot) != DP_OK)
        return false;
    r = p->base.host ? dp12_upload_host(p, src, src_row_pitch, frame_value, frame_job, slot)
                     : dp12_upload_gpu(p, src, src_row_pitch, frame_value);
    if (r != DP_OK)
        return false;
    p->base.last_frame = frame_value;
    return true;
}
