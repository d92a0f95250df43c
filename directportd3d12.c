/*
 * directportd3d12.c - the D3D12 core: the DirectPort reference API and its additions.
 *
 * GPU transport: the slot texture and the fence are NT-shared objects carrying the
 * port's names. Host transport (drivers without NT sharing, such as Wine's vkd3d):
 * the texture and fence are local objects, and directporthost.c keeps them in step
 * with the port's sections through the backend at the end of this file, which does
 * its device work on a private copy queue from the worker thread.
 */
#include "directportint.h"

_Static_assert(DXGI_FORMAT_R8G8B8A8_UNORM == 28 && DXGI_FORMAT_R32G32B32A32_FLOAT == 2 &&
                   DXGI_FORMAT_R16G16B16A16_FLOAT == 10 && DXGI_FORMAT_R32_UINT == 42,
               "directportblock.c's format table uses these DXGI numbers");

typedef struct {
    dp_port base;               /* first: the shared code sees every handle as a dp_port */
    ID3D12Resource *texture;
    ID3D12Fence *fence;
    HANDLE texture_nt;          /* NT shared handles (GPU transport) */
    HANDLE fence_nt;
    bool system_ram;
    HANDLE wait_event;          /* cpu waits on the caller's thread */
    /* Map state. */
    uint8_t *map_ptr;
    uint8_t *map_staging;       /* CPU copy where the driver cannot map a row-major texture */
    uint32_t map_pitch;
    /* Host transport: used by the worker thread only. */
    ID3D12Resource *buffer;     /* readback (producer) or upload (consumer) buffer */
    uint8_t *buffer_ptr;
    D3D12_PLACED_SUBRESOURCE_FOOTPRINT footprint;
    ID3D12CommandAllocator *allocator;
    ID3D12GraphicsCommandList *list;
    ID3D12Fence *copy_fence;
    uint64_t copy_value;
    HANDLE copy_event;
    HANDLE local_event;
} dp12_port;

static struct {
    SRWLOCK lock;
    ID3D12Device *device;
    ID3D12CommandQueue *copy_queue; /* host transport copies; made on first use */
    int can_share;                  /* -1 unknown, 0 no, 1 yes */
} dp12 = {SRWLOCK_INIT, NULL, NULL, -1};

static const dp_host_ops dp12_host_ops;

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
    DP_RELEASE(dp12.copy_queue);
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

static ID3D12CommandQueue *dp12_copy_queue(void)
{
    D3D12_COMMAND_QUEUE_DESC desc = {D3D12_COMMAND_LIST_TYPE_COPY, 0, D3D12_COMMAND_QUEUE_FLAG_NONE, 0};
    HRESULT hr = S_OK;
    AcquireSRWLockExclusive(&dp12.lock);
    if (!dp12.copy_queue)
        hr = ID3D12Device_CreateCommandQueue(dp12.device, &desc, &IID_ID3D12CommandQueue,
                                             (void **)&dp12.copy_queue);
    ReleaseSRWLockExclusive(&dp12.lock);
    if (FAILED(hr))
        dp_fail_hr(DP_ERROR_DEVICE, hr, "CreateCommandQueue(copy)");
    return dp12.copy_queue;
}

/* ---- Handles ------------------------------------------------------------------------- */

static dp12_port *dp12_get(DP_HANDLE h, const char *fn)
{
    if (!dp12_ready(fn))
        return NULL;
    return dp_handle_get(h, DP_KIND_D3D12, fn);
}

static void dp12_port_destroy(dp12_port *p)
{
    /* The worker uses the copy objects: stop it before they go. */
    dp_host_destroy(p->base.host);
    p->base.host = NULL;
    if (p->map_ptr && !p->map_staging)
        ID3D12Resource_Unmap(p->texture, 0, NULL);
    if (p->map_staging)
        HeapFree(GetProcessHeap(), 0, p->map_staging);
    if (p->buffer_ptr)
        ID3D12Resource_Unmap(p->buffer, 0, NULL);
    DP_RELEASE(p->list);
    DP_RELEASE(p->allocator);
    DP_RELEASE(p->buffer);
    DP_RELEASE(p->copy_fence);
    DP_RELEASE(p->texture);
    DP_RELEASE(p->fence);
    dp_close_handle(&p->copy_event);
    dp_close_handle(&p->local_event);
    dp_close_handle(&p->wait_event);
    dp_close_handle(&p->texture_nt);
    dp_close_handle(&p->fence_nt);
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
    if (r == DP_OK) {
        p->wait_event = dp_track(CreateEventW(NULL, FALSE, FALSE, NULL));
        if (!p->wait_event)
            r = dp_fail_win32(DP_ERROR_OUT_OF_MEMORY, GetLastError(), "CreateEvent(wait)");
    }
    if (r == DP_OK)
        h = dp_handle_add(DP_KIND_D3D12, p);
    if (!h)
        dp12_port_destroy(p);
    return h;
}

/* ---- Creation ------------------------------------------------------------------------- */

/* The slot texture: GPU memory, or with system_ram CPU-visible row-major memory. */
static DP_RESULT dp12_create_texture(dp12_port *p, bool shared)
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
                                              NULL, &IID_ID3D12Resource, (void **)&p->texture);
    if (FAILED(hr))
        return dp_fail_hr(dp_result_from_hr(hr), hr, "CreateCommittedResource(texture)");
    return DP_OK;
}

static DP_RESULT dp12_create_fence(dp12_port *p, bool shared)
{
    HRESULT hr = ID3D12Device_CreateFence(dp12.device, 0, shared ? D3D12_FENCE_FLAG_SHARED : D3D12_FENCE_FLAG_NONE,
                                          &IID_ID3D12Fence, (void **)&p->fence);
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

/* Device objects the host worker copies with: a buffer laid out as the section's rows
 * (readback for a producer, upload for a consumer), a command list and a fence. */
static DP_RESULT dp12_create_copy_objects(dp12_port *p)
{
    D3D12_RESOURCE_DESC tex_desc, buf_desc = {0};
    D3D12_HEAP_PROPERTIES heap = {0};
    UINT64 total = 0;
    HRESULT hr;

    p->local_event = dp_track(CreateEventW(NULL, FALSE, FALSE, NULL));
    p->copy_event = dp_track(CreateEventW(NULL, FALSE, FALSE, NULL));
    if (!p->local_event || !p->copy_event)
        return dp_fail_win32(DP_ERROR_OUT_OF_MEMORY, GetLastError(), "CreateEvent(copy)");
    if (p->system_ram)
        return DP_OK; /* the worker reads and writes the row-major texture with the CPU */
    if (!dp12_copy_queue())
        return DP_ERROR_DEVICE;

    p->texture->lpVtbl->GetDesc(p->texture, &tex_desc);
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
    if (SUCCEEDED(hr))
        hr = ID3D12Device_CreateFence(dp12.device, 0, D3D12_FENCE_FLAG_NONE, &IID_ID3D12Fence, (void **)&p->copy_fence);
    if (FAILED(hr))
        return dp_fail_hr(DP_ERROR_DEVICE, hr, "creating the copy command list");
    return DP_OK;
}

static LUID dp12_adapter_luid(void)
{
    LUID luid;
    dp12.device->lpVtbl->GetAdapterLuid(dp12.device, &luid);
    return luid;
}

typedef struct {
    uint32_t width, height;
    DP_FORMAT format;
    uint32_t slots;
    DP_TRANSPORT transport;
    uint32_t flags;
    const wchar_t *sddl;
    bool legacy;
} dp12_create_args;

static DP_RESULT dp12_check_args(const dp12_create_args *a)
{
    if (!a->width || !a->height || a->width > DP_MAX_DIMENSION || a->height > DP_MAX_DIMENSION)
        return dp_fail(DP_ERROR_INVALID_ARGUMENT, "size %ux%u is outside 1..%u", a->width, a->height,
                       DP_MAX_DIMENSION);
    if (!dpb_format_info((uint32_t)a->format, NULL, NULL))
        return dp_fail(DP_ERROR_INVALID_ARGUMENT, "unknown format %d", (int)a->format);
    if (a->slots > DP_MAX_SLOTS)
        return dp_fail(DP_ERROR_INVALID_ARGUMENT, "slots %u is outside 0..%u", a->slots, DP_MAX_SLOTS);
    if (a->slots != 1)
        return dp_fail(DP_ERROR_UNSUPPORTED, "ports of %u slots: this release makes 1-slot ports only", a->slots);
    if ((unsigned)a->transport > DP_TRANSPORT_HOST)
        return dp_fail(DP_ERROR_INVALID_ARGUMENT, "unknown transport %d", (int)a->transport);
    if (a->flags & ~(DP_PORT_SYSTEM_RAM | DP_PORT_GLOBAL | DP_PORT_ALL_USERS))
        return dp_fail(DP_ERROR_INVALID_ARGUMENT, "unknown flags 0x%x", a->flags);
    return DP_OK;
}

static DP_HANDLE dp12_create(const dp12_create_args *a, const dpn_names *names)
{
    dp12_port *p;
    dp_security sec;
    DP_RESULT r;
    bool gpu;

    r = dp_security_make(&sec, a->flags, a->sddl);
    if (r != DP_OK)
        return NULL;
    gpu = a->transport != DP_TRANSPORT_HOST && dp12_device_can_share();
    if (a->transport == DP_TRANSPORT_GPU && !gpu) {
        dp_security_free(&sec);
        dp_fail(DP_ERROR_UNSUPPORTED, "DP_TRANSPORT_GPU: this driver does not implement NT shared handles "
                                      "(ID3D12Device::CreateSharedHandle returns E_NOTIMPL); use "
                                      "DP_TRANSPORT_AUTO or DP_TRANSPORT_HOST");
        return NULL;
    }
    p = HeapAlloc(GetProcessHeap(), HEAP_ZERO_MEMORY, sizeof(*p));
    if (!p) {
        dp_security_free(&sec);
        dp_fail(DP_ERROR_OUT_OF_MEMORY, "out of memory");
        return NULL;
    }
    p->base.kind = DP_KIND_D3D12;
    p->base.producer = true;
    p->base.legacy = a->legacy;
    p->base.transport = gpu ? DP_TRANSPORT_GPU : DP_TRANSPORT_HOST;
    p->base.format = a->format;
    p->base.width = a->width;
    p->base.height = a->height;
    p->base.slots = a->slots;
    p->base.flags = a->flags;
    p->base.names = *names;
    dpb_format_info((uint32_t)a->format, &p->base.dxgi_format, &p->base.bytes_per_pixel);
    p->system_ram = (a->flags & DP_PORT_SYSTEM_RAM) != 0;

    /* The control block claims the name first, so a taken name fails before anything
     * of the existing port is touched. */
    r = dp_port_create_block(&p->base, &sec, dp12_adapter_luid());
    if (r == DP_OK)
        r = dp12_create_texture(p, gpu);
    if (r == DP_OK)
        r = dp12_create_fence(p, gpu);
    if (r == DP_OK && gpu)
        r = dp12_share((ID3D12DeviceChild *)p->fence, &sec, names->fence, &p->fence_nt);
    if (r == DP_OK && gpu)
        r = dp12_share((ID3D12DeviceChild *)p->texture, &sec, names->tex[0], &p->texture_nt);
    if (r == DP_OK && !gpu)
        r = dp12_create_copy_objects(p);
    if (r == DP_OK && !gpu)
        r = dp_host_create(&p->base, &sec, &dp12_host_ops, p);
    dp_security_free(&sec);
    return dp12_finish(p, r);
}

DP_HANDLE dp12_create_shared_resource(uint32_t width, uint32_t height, DP_FORMAT format, bool is_system_ram,
                                      const wchar_t *tex_name, const wchar_t *fence_name)
{
    dp12_create_args a = {width, height, format, 1, DP_TRANSPORT_AUTO,
                          is_system_ram ? DP_PORT_SYSTEM_RAM : 0u, NULL, true};
    dpn_names names;
    if (!dp12_ready("dp12_create_shared_resource") || dp12_check_args(&a) != DP_OK)
        return NULL;
    if (!dpn_legacy_names(&names, tex_name, fence_name)) {
        dp_fail(DP_ERROR_INVALID_ARGUMENT, "dp12_create_shared_resource: texture and fence names must be distinct "
                                           "NT names of 1..%u characters", DPN_MAX_NT);
        return NULL;
    }
    return dp12_create(&a, &names);
}

DP_HANDLE dp12_create_port(const DP_PORT_DESC *desc)
{
    dp12_create_args a;
    dpn_names names;
    if (!dp12_ready("dp12_create_port"))
        return NULL;
    if (!desc) {
        dp_fail(DP_ERROR_INVALID_ARGUMENT, "dp12_create_port: desc is NULL");
        return NULL;
    }
    a.width = desc->width;
    a.height = desc->height;
    a.format = desc->format;
    a.slots = desc->slots ? desc->slots : 1; /* 3 once the frame ring lands */
    a.transport = desc->transport;
    a.flags = desc->flags;
    a.sddl = desc->sddl;
    a.legacy = false;
    if (!dpn_port_names(&names, desc->name, (desc->flags & DP_PORT_GLOBAL) != 0)) {
        dp_fail(DP_ERROR_INVALID_ARGUMENT, "dp12_create_port: name must be 1..%u characters of [A-Za-z0-9_.-]",
                DPN_MAX_BASE);
        return NULL;
    }
    if (dp12_check_args(&a) != DP_OK)
        return NULL;
    return dp12_create(&a, &names);
}

/* ---- Opening -------------------------------------------------------------------------- */

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

/* A GPU port made by another DirectPort build: the two NT names and nothing else. */
static DP_RESULT dp12_open_external(dp12_port *p)
{
    D3D12_RESOURCE_DESC desc;
    DP_RESULT r = dp12_open_shared(p->base.names.tex[0], &IID_ID3D12Resource, (void **)&p->texture,
                                   &p->texture_nt);
    uint32_t f;
    if (r != DP_OK)
        return dp_fail(DP_ERROR_NOT_FOUND, "no port named %ls", p->base.names.display);
    r = dp12_open_shared(p->base.names.fence, &IID_ID3D12Fence, (void **)&p->fence, &p->fence_nt);
    if (r != DP_OK)
        return r;
    p->texture->lpVtbl->GetDesc(p->texture, &desc);
    for (f = 0; f <= DP_FORMAT_RAW_32BIT; f++) {
        uint32_t dxgi;
        dpb_format_info(f, &dxgi, &p->base.bytes_per_pixel);
        if (dxgi == (uint32_t)desc.Format)
            break;
    }
    if (f > DP_FORMAT_RAW_32BIT || desc.Width > DP_MAX_DIMENSION || desc.Height > DP_MAX_DIMENSION)
        return dp_fail(DP_ERROR_INCOMPATIBLE, "the texture %ls has a format or size DirectPort does not use",
                       p->base.names.tex[0]);
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
    return DP_OK;
}

static DP_HANDLE dp12_open(const dpn_names *names)
{
    dp12_port *p = HeapAlloc(GetProcessHeap(), HEAP_ZERO_MEMORY, sizeof(*p));
    DP_RESULT r;
    if (!p) {
        dp_fail(DP_ERROR_OUT_OF_MEMORY, "out of memory");
        return NULL;
    }
    p->base.kind = DP_KIND_D3D12;
    p->base.names = *names;
    r = dp_port_open_block(&p->base);
    if (r == DP_ERROR_NOT_FOUND && !p->base.block && dp12_device_can_share())
        return dp12_finish(p, dp12_open_external(p));
    if (r != DP_OK)
        return dp12_finish(p, r);
    p->system_ram = (p->base.flags & DP_PORT_SYSTEM_RAM) != 0;
    if (p->base.transport == DP_TRANSPORT_GPU) {
        r = dp12_open_shared(names->tex[0], &IID_ID3D12Resource, (void **)&p->texture, &p->texture_nt);
        if (r == DP_OK)
            r = dp12_open_shared(names->fence, &IID_ID3D12Fence, (void **)&p->fence, &p->fence_nt);
        return dp12_finish(p, r);
    }
    r = dp12_create_texture(p, false);
    if (r == DP_OK)
        r = dp12_create_fence(p, false);
    if (r == DP_OK)
        r = dp12_create_copy_objects(p);
    if (r == DP_OK)
        r = dp_host_open(&p->base, &dp12_host_ops, p);
    return dp12_finish(p, r);
}

DP_HANDLE dp12_open_shared_resource(const wchar_t *tex_name, const wchar_t *fence_name)
{
    dpn_names names;
    if (!dp12_ready("dp12_open_shared_resource"))
        return NULL;
    if (!dpn_legacy_names(&names, tex_name, fence_name)) {
        dp_fail(DP_ERROR_INVALID_ARGUMENT, "dp12_open_shared_resource: texture and fence names must be distinct "
                                           "NT names of 1..%u characters", DPN_MAX_NT);
        return NULL;
    }
    return dp12_open(&names);
}

DP_HANDLE dp12_open_port(const wchar_t *name)
{
    dpn_names names;
    if (!dp12_ready("dp12_open_port"))
        return NULL;
    /* The namespace is the creator's choice: try the session's, then the global one. */
    if (!dpn_port_names(&names, name, false)) {
        dp_fail(DP_ERROR_INVALID_ARGUMENT, "dp12_open_port: name must be 1..%u characters of [A-Za-z0-9_.-]",
                DPN_MAX_BASE);
        return NULL;
    }
    {
        DP_HANDLE h = dp12_open(&names);
        if (h || dp_last_error() != DP_ERROR_NOT_FOUND)
            return h;
    }
    dpn_port_names(&names, name, true);
    return dp12_open(&names);
}

/* ---- Fences ---------------------------------------------------------------------------- */

void dp12_signal_fence(DP_HANDLE h, uint64_t value)
{
    dp12_port *p = dp12_get(h, "dp12_signal_fence");
    HRESULT hr;
    if (!p)
        return;
    hr = ID3D12Fence_Signal(p->fence, value);
    if (FAILED(hr))
        dp_fail_hr(DP_ERROR_DEVICE, hr, "dp12_signal_fence: ID3D12Fence::Signal");
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
    HRESULT hr;
    if (!p)
        return dp_last_error();
    if (ID3D12Fence_GetCompletedValue(p->fence) >= value)
        return DP_OK;
    hr = ID3D12Fence_SetEventOnCompletion(p->fence, value, p->wait_event);
    if (FAILED(hr))
        return dp_fail_hr(DP_ERROR_DEVICE, hr, "dp12_cpu_wait_timeout: SetEventOnCompletion");
    return dp_wait_event(&p->base, p->wait_event, timeout_ms);
}

void dp12_cpu_wait(DP_HANDLE h, uint64_t value)
{
    dp12_cpu_wait_timeout(h, value, UINT32_MAX);
}

/* ---- Getters ---------------------------------------------------------------------------- */

ID3D12Resource *dp12_get_resource(DP_HANDLE h)
{
    dp12_port *p = dp12_get(h, "dp12_get_resource");
    return p ? p->texture : NULL;
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
    return texture ? p->texture_nt : p->fence_nt;
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
            /* The section is the port's memory: no copy at all. */
            p->map_ptr = dp_host_slot(p->base.host, 0);
        } else {
            hr = ID3D12Resource_Map(p->texture, 0, NULL, (void **)&p->map_ptr);
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
                hr = ID3D12Resource_ReadFromSubresource(p->texture, p->map_staging, p->map_pitch,
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
        hr = ID3D12Resource_WriteToSubresource(p->texture, 0, NULL, p->map_staging, p->map_pitch,
                                               p->map_pitch * p->base.height);
        if (FAILED(hr))
            dp_fail_hr(DP_ERROR_DEVICE, hr, "dp12_unmap_memory: WriteToSubresource");
    } else {
        ID3D12Resource_Unmap(p->texture, 0, NULL);
    }
    p->map_ptr = NULL;
}

/* ---- Host transport backend (worker thread) ---------------------------------------------- */

static uint64_t dp12_host_wait_local(void *ctx, uint64_t after, HANDLE stop)
{
    dp12_port *p = ctx;
    HANDLE handles[2] = {p->local_event, stop};
    if (SUCCEEDED(ID3D12Fence_SetEventOnCompletion(p->fence, after + 1, p->local_event)))
        WaitForMultipleObjects(2, handles, FALSE, INFINITE);
    else
        WaitForSingleObject(stop, 10);
    return ID3D12Fence_GetCompletedValue(p->fence);
}

/* Runs the recorded copy on the copy queue, then signals `signal` (if any) to value
 * and waits for the copy to finish so the buffer and allocator may be reused. */
static bool dp12_host_submit(dp12_port *p, ID3D12Fence *signal, uint64_t value)
{
    ID3D12CommandList *lists[1] = {(ID3D12CommandList *)p->list};
    HRESULT hr = ID3D12GraphicsCommandList_Close(p->list);
    if (FAILED(hr))
        return false;
    ID3D12CommandQueue_ExecuteCommandLists(dp12.copy_queue, 1, lists);
    if (signal && FAILED(ID3D12CommandQueue_Signal(dp12.copy_queue, signal, value)))
        return false;
    if (FAILED(ID3D12CommandQueue_Signal(dp12.copy_queue, p->copy_fence, ++p->copy_value)))
        return false;
    if (FAILED(ID3D12Fence_SetEventOnCompletion(p->copy_fence, p->copy_value, p->copy_event)))
        return false;
    WaitForSingleObject(p->copy_event, INFINITE);
    return true;
}

static void dp12_host_locations(dp12_port *p, D3D12_TEXTURE_COPY_LOCATION *tex, D3D12_TEXTURE_COPY_LOCATION *buf)
{
    tex->pResource = p->texture;
    tex->Type = D3D12_TEXTURE_COPY_TYPE_SUBRESOURCE_INDEX;
    tex->SubresourceIndex = 0;
    buf->pResource = p->buffer;
    buf->Type = D3D12_TEXTURE_COPY_TYPE_PLACED_FOOTPRINT;
    buf->PlacedFootprint = p->footprint;
}

static bool dp12_host_readback(void *ctx, uint32_t slot, void *dst)
{
    dp12_port *p = ctx;
    D3D12_TEXTURE_COPY_LOCATION tex, buf;
    size_t size = (size_t)p->base.row_pitch * p->base.height;
    (void)slot;
    if (p->system_ram)
        return SUCCEEDED(ID3D12Resource_ReadFromSubresource(p->texture, dst, p->base.row_pitch, (UINT)size, 0, NULL));
    if (FAILED(ID3D12CommandAllocator_Reset(p->allocator)) ||
        FAILED(ID3D12GraphicsCommandList_Reset(p->list, p->allocator, NULL)))
        return false;
    dp12_host_locations(p, &tex, &buf);
    ID3D12GraphicsCommandList_CopyTextureRegion(p->list, &buf, 0, 0, 0, &tex, NULL);
    if (!dp12_host_submit(p, NULL, 0))
        return false;
    memcpy(dst, p->buffer_ptr, size);
    return true;
}

static bool dp12_host_upload(void *ctx, uint32_t slot, const void *src, uint64_t value)
{
    dp12_port *p = ctx;
    D3D12_TEXTURE_COPY_LOCATION tex, buf;
    size_t size = (size_t)p->base.row_pitch * p->base.height;
    (void)slot;
    if (p->system_ram)
        return SUCCEEDED(ID3D12Resource_WriteToSubresource(p->texture, 0, NULL, src, p->base.row_pitch, (UINT)size)) &&
               SUCCEEDED(ID3D12Fence_Signal(p->fence, value));
    memcpy(p->buffer_ptr, src, size);
    if (FAILED(ID3D12CommandAllocator_Reset(p->allocator)) ||
        FAILED(ID3D12GraphicsCommandList_Reset(p->list, p->allocator, NULL)))
        return false;
    dp12_host_locations(p, &tex, &buf);
    ID3D12GraphicsCommandList_CopyTextureRegion(p->list, &tex, 0, 0, 0, &buf, NULL);
    return dp12_host_submit(p, p->fence, value);
}

static const dp_host_ops dp12_host_ops = {dp12_host_wait_local, dp12_host_readback, dp12_host_upload};
