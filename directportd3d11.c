/*
 * directportd3d11.c - the D3D11 core: the DirectPort reference API's dp11_* calls and
 * their additions.
 *
 * GPU transport: the texture and fence are NT-shared objects carrying the port's names.
 * D3D11 can create such objects but cannot open a fence by name, and ports made by the
 * D3D12 core carry D3D12 names, so a small internal D3D12 device turns names into NT
 * handles that D3D11 then opens.
 *
 * Host transport (Wine, drivers without NT sharing or without ID3D11Device5): the
 * texture is local and the fence is emulated per handle by a 64-bit value and an event.
 * directporthost.c's worker thread calls the backend at the end of this file, which
 * copies on the immediate context; the device's multithread protection is turned on
 * for that, because the caller's threads use the same context.
 */
#include "directportint.h"

#include <stdio.h>
#include <string.h>

typedef struct {
    dp_port base;                   /* first: the shared code sees every handle as a dp_port */
    ID3D11Texture2D *texture;
    ID3D11Fence *fence;             /* GPU transport */
    HANDLE texture_nt;              /* GPU producer: the NT handles that hold the names */
    HANDLE fence_nt;
    /* Auto-reset. GPU transport: SetEventOnCompletion target of cpu waits. Host
     * producer: wakes the worker after a signal. Host consumer: set after each upload. */
    HANDLE event;
    /* Host transport. A producer reads back through two staging textures so the
     * caller's next signal never copies into the one the worker has mapped; a consumer
     * uploads through staging[0] alone. */
    ID3D11Texture2D *staging[2];
    SRWLOCK lock;                   /* latest, reading, pending */
    int latest;                     /* staging holding the newest signalled frame, -1 none */
    int reading;                    /* staging the worker has claimed, -1 none */
    uint64_t pending;               /* fence value of the frame in staging[latest] */
    volatile LONG64 local;          /* producer: last signalled value; consumer: value in texture */
    volatile LONG failed;           /* consumer: the worker could not upload and has stopped */
} dp11_port;

static struct {
    SRWLOCK lock;                   /* guards the lazily made members below */
    ID3D11Device *device;
    ID3D11Device1 *device1;         /* OpenSharedResource1; NULL where missing */
    ID3D11Device5 *device5;         /* shared fences; NULL on Wine and before Windows 10 1703 */
    ID3D11DeviceContext *context;   /* immediate */
    ID3D11DeviceContext4 *context4; /* fence Signal / Wait; NULL where missing */
    LUID luid;
    /* Whether the device can share: asked once; share_missing says why not. */
    bool share_known, can_share;
    char share_missing[200];
    ID3D11Multithread *mt;          /* set once the host transport turned protection on */
    BOOL mt_was;                    /* protection before that, restored at shutdown */
    ID3D12Device *resolver;         /* opens names to NT handles; made at the first GPU open */
} dp11 = {.lock = SRWLOCK_INIT};

static const dp_host_ops dp11_host_ops;

/* ---- Device ------------------------------------------------------------------------- */

static bool dp11_ready(const char *fn)
{
    if (dp11.device)
        return true;
    dp_fail(DP_ERROR_NOT_INITIALIZED, "%s: call dp11_init first", fn);
    return false;
}

/* Takes a reference on device and looks up the optional interfaces. Lock held. */
static void dp11_adopt(ID3D11Device *device)
{
    IDXGIDevice *dxgi = NULL;
    IDXGIAdapter *adapter = NULL;
    DXGI_ADAPTER_DESC desc;

    ID3D11Device_AddRef(device);
    dp11.device = device;
    ID3D11Device_GetImmediateContext(device, &dp11.context);
    /* Optional: each stays NULL where the runtime lacks it. */
    ID3D11Device_QueryInterface(device, &IID_ID3D11Device1, (void **)&dp11.device1);
    ID3D11Device_QueryInterface(device, &IID_ID3D11Device5, (void **)&dp11.device5);
    ID3D11DeviceContext_QueryInterface(dp11.context, &IID_ID3D11DeviceContext4, (void **)&dp11.context4);
    /* The LUID only labels the port and picks the resolver's adapter: zero if unknown. */
    memset(&dp11.luid, 0, sizeof(dp11.luid));
    if (SUCCEEDED(ID3D11Device_QueryInterface(device, &IID_IDXGIDevice, (void **)&dxgi)) &&
        SUCCEEDED(IDXGIDevice_GetAdapter(dxgi, &adapter)) && SUCCEEDED(IDXGIAdapter_GetDesc(adapter, &desc)))
        dp11.luid = desc.AdapterLuid;
    DP_RELEASE(adapter);
    DP_RELEASE(dxgi);
}

bool dp11_init(void)
{
    D3D_FEATURE_LEVEL levels[] = {D3D_FEATURE_LEVEL_11_1, D3D_FEATURE_LEVEL_11_0};
    ID3D11Device *device = NULL;
    HRESULT hr = S_OK;

    AcquireSRWLockExclusive(&dp11.lock);
    if (!dp11.device) {
        hr = D3D11CreateDevice(NULL, D3D_DRIVER_TYPE_HARDWARE, NULL, D3D11_CREATE_DEVICE_BGRA_SUPPORT, levels,
                               DP_ARRAY_SIZE(levels), D3D11_SDK_VERSION, &device, NULL, NULL);
        /* A runtime that predates 11_1 rejects the whole list. */
        if (hr == E_INVALIDARG)
            hr = D3D11CreateDevice(NULL, D3D_DRIVER_TYPE_HARDWARE, NULL, D3D11_CREATE_DEVICE_BGRA_SUPPORT,
                                   levels + 1, 1, D3D11_SDK_VERSION, &device, NULL, NULL);
        if (SUCCEEDED(hr))
            dp11_adopt(device);
        DP_RELEASE(device);
    }
    ReleaseSRWLockExclusive(&dp11.lock);
    if (FAILED(hr)) {
        dp_fail_hr(DP_ERROR_DEVICE, hr, "dp11_init: D3D11CreateDevice");
        return false;
    }
    return true;
}

bool dp11_init_with_device(ID3D11Device *device)
{
    bool ok = true;
    if (!device) {
        dp_fail(DP_ERROR_INVALID_ARGUMENT, "dp11_init_with_device: device is NULL");
        return false;
    }
    AcquireSRWLockExclusive(&dp11.lock);
    if (!dp11.device)
        dp11_adopt(device);
    else if (dp11.device != device)
        ok = false;
    ReleaseSRWLockExclusive(&dp11.lock);
    if (!ok)
        dp_fail(DP_ERROR_INVALID_ARGUMENT, "dp11_init_with_device: another device is in use; call dp11_shutdown first");
    return ok;
}

ID3D11Device *dp11_get_device(void)
{
    return dp11_ready("dp11_get_device") ? dp11.device : NULL;
}

static void dp11_port_destroy(dp11_port *p);

void dp11_shutdown(void)
{
    dp11_port *p;
    while ((p = dp_handle_take_any(DP_KIND_D3D11)))
        dp11_port_destroy(p);
    AcquireSRWLockExclusive(&dp11.lock);
    /* An adopted device goes back to its owner as it came. */
    if (dp11.mt)
        ID3D11Multithread_SetMultithreadProtected(dp11.mt, dp11.mt_was);
    DP_RELEASE(dp11.mt);
    DP_RELEASE(dp11.resolver);
    DP_RELEASE(dp11.context4);
    DP_RELEASE(dp11.context);
    DP_RELEASE(dp11.device5);
    DP_RELEASE(dp11.device1);
    DP_RELEASE(dp11.device);
    dp11.share_known = false;
    dp11.can_share = false;
    ReleaseSRWLockExclusive(&dp11.lock);
}

/* Exports a throwaway object to learn whether the driver implements NT sharing.
 * Returns false only for a definite "cannot"; other failures are not cached. */
static bool dp11_probe_hr(HRESULT hr, const char *step, bool *definite)
{
    if (SUCCEEDED(hr))
        return true;
    *definite = dp_hr_is_unsupported(hr);
    snprintf(dp11.share_missing, sizeof(dp11.share_missing), "%s failed with hr 0x%08lx", step,
             (unsigned long)hr);
    return false;
}

/* Whether this device can make NT-shared textures and fences; if not, share_missing
 * says what is missing. */
static bool dp11_device_can_share(void)
{
    D3D11_TEXTURE2D_DESC desc = {0};
    ID3D11Texture2D *tex = NULL;
    IDXGIResource1 *res = NULL;
    ID3D11Fence *fence = NULL;
    HANDLE nt = NULL;
    bool definite = true, ok = false;

    AcquireSRWLockExclusive(&dp11.lock);
    if (dp11.share_known) {
        ok = dp11.can_share;
        goto done;
    }
    if (!dp11.device5) {
        snprintf(dp11.share_missing, sizeof(dp11.share_missing), "the device has no ID3D11Device5 (shared fences)");
    } else if (!dp11.context4) {
        snprintf(dp11.share_missing, sizeof(dp11.share_missing),
                 "the immediate context has no ID3D11DeviceContext4 (fence signal and wait)");
    } else if (!dp11.device1) {
        snprintf(dp11.share_missing, sizeof(dp11.share_missing),
                 "the device has no ID3D11Device1 (OpenSharedResource1)");
    } else {
        ok = dp11_probe_hr(ID3D11Device5_CreateFence(dp11.device5, 0, D3D11_FENCE_FLAG_SHARED, &IID_ID3D11Fence,
                                                     (void **)&fence),
                           "ID3D11Device5::CreateFence(shared)", &definite) &&
             dp11_probe_hr(ID3D11Fence_CreateSharedHandle(fence, NULL, GENERIC_ALL, NULL, &nt),
                           "ID3D11Fence::CreateSharedHandle", &definite);
        if (nt)
            CloseHandle(nt);
        nt = NULL;
        if (ok) {
            desc.Width = desc.Height = 1;
            desc.MipLevels = desc.ArraySize = 1;
            desc.Format = DXGI_FORMAT_R8G8B8A8_UNORM;
            desc.SampleDesc.Count = 1;
            desc.Usage = D3D11_USAGE_DEFAULT;
            desc.BindFlags = D3D11_BIND_SHADER_RESOURCE | D3D11_BIND_RENDER_TARGET;
            desc.MiscFlags = D3D11_RESOURCE_MISC_SHARED | D3D11_RESOURCE_MISC_SHARED_NTHANDLE;
            ok = dp11_probe_hr(ID3D11Device_CreateTexture2D(dp11.device, &desc, NULL, &tex),
                               "CreateTexture2D(SHARED_NTHANDLE)", &definite) &&
                 dp11_probe_hr(ID3D11Texture2D_QueryInterface(tex, &IID_IDXGIResource1, (void **)&res),
                               "QueryInterface(IDXGIResource1)", &definite) &&
                 dp11_probe_hr(IDXGIResource1_CreateSharedHandle(res, NULL, GENERIC_ALL, NULL, &nt),
                               "IDXGIResource1::CreateSharedHandle", &definite);
            if (nt)
                CloseHandle(nt);
        }
    }
    if (ok || definite) {
        dp11.share_known = true;
        dp11.can_share = ok;
    }
done:
    ReleaseSRWLockExclusive(&dp11.lock);
    DP_RELEASE(res);
    DP_RELEASE(tex);
    DP_RELEASE(fence);
    return ok;
}

/* The host worker copies on the immediate context while the caller's threads use it:
 * turns on the device's multithread protection, once. ID3D10Multithread has the same
 * IID and is what older runtimes expose on the device rather than the context. */
static DP_RESULT dp11_protect(void)
{
    ID3D11Multithread *mt = NULL;
    HRESULT hr = S_OK;
    AcquireSRWLockExclusive(&dp11.lock);
    if (!dp11.mt) {
        hr = ID3D11DeviceContext_QueryInterface(dp11.context, &IID_ID3D11Multithread, (void **)&mt);
        if (FAILED(hr))
            hr = ID3D11Device_QueryInterface(dp11.device, &IID_ID3D11Multithread, (void **)&mt);
        if (SUCCEEDED(hr)) {
            dp11.mt_was = ID3D11Multithread_SetMultithreadProtected(mt, TRUE);
            dp11.mt = mt;
        }
    }
    ReleaseSRWLockExclusive(&dp11.lock);
    if (FAILED(hr))
        return dp_fail_hr(DP_ERROR_UNSUPPORTED, hr,
                          "QueryInterface(ID3D11Multithread), which the host transport needs to copy beside "
                          "the caller's threads");
    return DP_OK;
}

/* The internal D3D12 device that opens names; on our adapter where it can be found. */
static ID3D12Device *dp11_resolver(void)
{
    IDXGIFactory4 *factory = NULL;
    IDXGIAdapter *adapter = NULL;
    HRESULT hr = S_OK;
    AcquireSRWLockExclusive(&dp11.lock);
    if (!dp11.resolver) {
        if (SUCCEEDED(CreateDXGIFactory1(&IID_IDXGIFactory4, (void **)&factory)) &&
            FAILED(IDXGIFactory4_EnumAdapterByLuid(factory, dp11.luid, &IID_IDXGIAdapter, (void **)&adapter)))
            adapter = NULL;
        hr = D3D12CreateDevice((IUnknown *)adapter, D3D_FEATURE_LEVEL_11_0, &IID_ID3D12Device,
                               (void **)&dp11.resolver);
        DP_RELEASE(adapter);
        DP_RELEASE(factory);
    }
    ReleaseSRWLockExclusive(&dp11.lock);
    if (FAILED(hr))
        dp_fail_hr(DP_ERROR_DEVICE, hr, "D3D12CreateDevice(name resolver)");
    return dp11.resolver;
}

/* ---- Handles ------------------------------------------------------------------------- */

static dp11_port *dp11_get(DP_HANDLE h, const char *fn)
{
    if (!dp11_ready(fn))
        return NULL;
    return dp_handle_get(h, DP_KIND_D3D11, fn);
}

/* Accepts a half-built port: every failed create ends here too. */
static void dp11_port_destroy(dp11_port *p)
{
    unsigned i;
    /* The worker maps the staging textures and uses the context: stop it before they go. */
    dp_host_destroy(p->base.host);
    p->base.host = NULL;
    for (i = 0; i < DP_ARRAY_SIZE(p->staging); i++)
        DP_RELEASE(p->staging[i]);
    DP_RELEASE(p->texture);
    DP_RELEASE(p->fence);
    dp_close_handle(&p->texture_nt);
    dp_close_handle(&p->fence_nt);
    dp_close_handle(&p->event);
    dp_port_release(&p->base);
    HeapFree(GetProcessHeap(), 0, p);
}

void dp11_close(DP_HANDLE h)
{
    dp11_port *p;
    if (!dp11_ready("dp11_close"))
        return;
    p = dp_handle_take(h, DP_KIND_D3D11, "dp11_close");
    if (p)
        dp11_port_destroy(p);
}

static dp11_port *dp11_port_new(void)
{
    dp11_port *p = HeapAlloc(GetProcessHeap(), HEAP_ZERO_MEMORY, sizeof(*p));
    if (!p) {
        dp_fail(DP_ERROR_OUT_OF_MEMORY, "out of memory");
        return NULL;
    }
    p->base.kind = DP_KIND_D3D11;
    p->base.reader = -1;
    p->base.held = DP_NO_SLOT;
    p->base.begun = DP_NO_SLOT;
    InitializeSRWLock(&p->lock);
    p->latest = p->reading = -1;
    /* Made before anything else: the host worker waits on it from its first moment. */
    p->event = dp_track(CreateEventW(NULL, FALSE, FALSE, NULL));
    if (!p->event) {
        dp_fail_win32(DP_ERROR_OUT_OF_MEMORY, GetLastError(), "CreateEvent(port)");
        dp11_port_destroy(p);
        return NULL;
    }
    return p;
}

/* Registers a built port, or destroys it and returns NULL on failure r. */
static DP_HANDLE dp11_finish(dp11_port *p, DP_RESULT r)
{
    DP_HANDLE h = NULL;
    if (r == DP_OK)
        h = dp_handle_add(DP_KIND_D3D11, p);
    if (!h)
        dp11_port_destroy(p);
    else if (p->base.producer && p->base.block)
        dp_registry_add(&p->base);
    return h;
}

/* ---- Creation ------------------------------------------------------------------------- */

static DP_RESULT dp11_create_texture(dp11_port *p, D3D11_USAGE usage, UINT bind, UINT cpu, UINT misc,
                                     ID3D11Texture2D **out, const char *step)
{
    D3D11_TEXTURE2D_DESC desc = {0};
    HRESULT hr;
    desc.Width = p->base.width;
    desc.Height = p->base.height;
    desc.MipLevels = 1;
    desc.ArraySize = 1;
    desc.Format = (DXGI_FORMAT)p->base.dxgi_format;
    desc.SampleDesc.Count = 1;
    desc.Usage = usage;
    desc.BindFlags = bind;
    desc.CPUAccessFlags = cpu;
    desc.MiscFlags = misc;
    hr = ID3D11Device_CreateTexture2D(dp11.device, &desc, NULL, out);
    if (FAILED(hr))
        return dp_fail_hr(dp_result_from_hr(hr), hr, step);
    return DP_OK;
}

/* The texture callers render to or sample from; NT-shareable on the GPU transport. */
static DP_RESULT dp11_create_main_texture(dp11_port *p, bool shared)
{
    return dp11_create_texture(p, D3D11_USAGE_DEFAULT, D3D11_BIND_SHADER_RESOURCE | D3D11_BIND_RENDER_TARGET, 0,
                               shared ? D3D11_RESOURCE_MISC_SHARED | D3D11_RESOURCE_MISC_SHARED_NTHANDLE : 0,
                               &p->texture, shared ? "CreateTexture2D(shared texture)" : "CreateTexture2D(texture)");
}

/* What a failed CreateSharedHandle means; a taken name is DP_ERROR_NAME_IN_USE. */
static DP_RESULT dp11_share_failed(HRESULT hr, const wchar_t *name, const char *step)
{
    if (hr == DXGI_ERROR_NAME_ALREADY_EXISTS || hr == HRESULT_FROM_WIN32(ERROR_ALREADY_EXISTS) ||
        hr == E_ACCESSDENIED)
        return dp_fail(DP_ERROR_NAME_IN_USE, "%s: the name %ls is taken (hr 0x%08lx)", step, name,
                       (unsigned long)hr);
    return dp_fail_hr(dp_result_from_hr(hr), hr, step);
}

static DP_RESULT dp11_create_gpu_objects(dp11_port *p, const dp_security *sec)
{
    wchar_t tex_name[DPN_LEN], fence_name[DPN_LEN];
    IDXGIResource1 *res = NULL;
    HANDLE nt = NULL;
    HRESULT hr;
    DP_RESULT r = dp11_create_main_texture(p, true);
    if (r != DP_OK)
        return r;
    hr = ID3D11Device5_CreateFence(dp11.device5, 0, D3D11_FENCE_FLAG_SHARED, &IID_ID3D11Fence, (void **)&p->fence);
    if (FAILED(hr))
        return dp_fail_hr(dp_result_from_hr(hr), hr, "ID3D11Device5::CreateFence(shared)");
    dpn_fence_name(fence_name, DPN_LEN, &p->base.names, p->base.generation);
    dpn_texture_name(tex_name, DPN_LEN, &p->base.names, p->base.generation, 0);
    hr = ID3D11Fence_CreateSharedHandle(p->fence, &sec->sa, GENERIC_ALL, fence_name, &nt);
    if (FAILED(hr))
        return dp11_share_failed(hr, fence_name, "ID3D11Fence::CreateSharedHandle");
    p->fence_nt = dp_track(nt);
    hr = ID3D11Texture2D_QueryInterface(p->texture, &IID_IDXGIResource1, (void **)&res);
    if (FAILED(hr))
        return dp_fail_hr(DP_ERROR_UNSUPPORTED, hr, "QueryInterface(IDXGIResource1)");
    nt = NULL;
    hr = IDXGIResource1_CreateSharedHandle(res, &sec->sa, GENERIC_ALL, tex_name, &nt);
    DP_RELEASE(res);
    if (FAILED(hr))
        return dp11_share_failed(hr, tex_name, "IDXGIResource1::CreateSharedHandle");
    p->texture_nt = dp_track(nt);
    return DP_OK;
}

/* The local texture of a host-transport handle and its staging textures. */
static DP_RESULT dp11_create_host_objects(dp11_port *p)
{
    DP_RESULT r = dp11_protect();
    unsigned i, n = p->base.producer ? 2u : 1u;
    if (r == DP_OK)
        r = dp11_create_main_texture(p, false);
    for (i = 0; i < n && r == DP_OK; i++)
        r = dp11_create_texture(p, D3D11_USAGE_STAGING, 0,
                                p->base.producer ? D3D11_CPU_ACCESS_READ : D3D11_CPU_ACCESS_WRITE, 0,
                                &p->staging[i], "CreateTexture2D(staging)");
    return r;
}

typedef struct {
    uint32_t width, height;
    DP_FORMAT format;
    uint32_t slots;
    DP_TRANSPORT transport;
    uint32_t flags;
    const wchar_t *sddl;
    bool legacy;
} dp11_create_args;

static DP_RESULT dp11_check_args(const dp11_create_args *a)
{
    if (!a->width || !a->height || a->width > DP_MAX_DIMENSION || a->height > DP_MAX_DIMENSION)
        return dp_fail(DP_ERROR_INVALID_ARGUMENT, "size %ux%u is outside 1..%u", a->width, a->height,
                       DP_MAX_DIMENSION);
    if (!dpb_format_info((uint32_t)a->format, NULL, NULL))
        return dp_fail(DP_ERROR_INVALID_ARGUMENT, "unknown format %d", (int)a->format);
    if (a->slots > DP_MAX_SLOTS)
        return dp_fail(DP_ERROR_INVALID_ARGUMENT, "slots %u is outside 0..%u", a->slots, DP_MAX_SLOTS);
    if (a->slots != 1)
        return dp_fail(DP_ERROR_UNSUPPORTED,
                       "ports of %u slots: this release makes 1-slot ports only; the frame ring comes later",
                       a->slots);
    if ((unsigned)a->transport > DP_TRANSPORT_HOST)
        return dp_fail(DP_ERROR_INVALID_ARGUMENT, "unknown transport %d", (int)a->transport);
    if (a->flags & ~(DP_PORT_SYSTEM_RAM | DP_PORT_GLOBAL | DP_PORT_ALL_USERS))
        return dp_fail(DP_ERROR_INVALID_ARGUMENT, "unknown flags 0x%x", a->flags);
    if (a->flags & DP_PORT_SYSTEM_RAM)
        return dp_fail(DP_ERROR_UNSUPPORTED, "DP_PORT_SYSTEM_RAM: dp11 ports live in GPU memory; map a port "
                                             "through dp12_map_memory");
    return DP_OK;
}

static DP_HANDLE dp11_create(const dp11_create_args *a, const dpn_names *names)
{
    dp11_port *p;
    dp_security sec;
    DP_RESULT r;
    bool gpu = a->transport != DP_TRANSPORT_HOST && dp11_device_can_share();

    if (a->transport == DP_TRANSPORT_GPU && !gpu) {
        dp_fail(DP_ERROR_UNSUPPORTED, "DP_TRANSPORT_GPU: this device cannot share by NT handle: %s; use "
                                      "DP_TRANSPORT_AUTO or DP_TRANSPORT_HOST", dp11.share_missing);
        return NULL;
    }
    if (dp_security_make(&sec, a->flags, a->sddl) != DP_OK)
        return NULL;
    p = dp11_port_new();
    if (!p) {
        dp_security_free(&sec);
        return NULL;
    }
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

    /* The control block claims the name first, so a taken name fails before anything
     * of the existing port is touched. */
    r = dp_port_create_block(&p->base, &sec, dp11.luid);
    if (r == DP_OK && gpu)
        r = dp11_create_gpu_objects(p, &sec);
    if (r == DP_OK && !gpu)
        r = dp11_create_host_objects(p);
    if (r == DP_OK && !gpu)
        r = dp_host_start(&p->base, &sec, &dp11_host_ops, p);
    dp_security_free(&sec);
    return dp11_finish(p, r);
}

DP_HANDLE dp11_create_shared_resource(uint32_t width, uint32_t height, DP_FORMAT format, const wchar_t *tex_name,
                                      const wchar_t *fence_name)
{
    dp11_create_args a = {width, height, format, 1, DP_TRANSPORT_AUTO, 0, NULL, true};
    dpn_names names;
    if (!dp11_ready("dp11_create_shared_resource") || dp11_check_args(&a) != DP_OK)
        return NULL;
    if (!dpn_legacy_names(&names, tex_name, fence_name)) {
        dp_fail(DP_ERROR_INVALID_ARGUMENT, "dp11_create_shared_resource: texture and fence names must be distinct "
                                           "NT names of 1..%u characters", DPN_MAX_NT);
        return NULL;
    }
    return dp11_create(&a, &names);
}

DP_HANDLE dp11_create_port(const DP_PORT_DESC *desc)
{
    dp11_create_args a;
    dpn_names names;
    if (!dp11_ready("dp11_create_port"))
        return NULL;
    if (!desc) {
        dp_fail(DP_ERROR_INVALID_ARGUMENT, "dp11_create_port: desc is NULL");
        return NULL;
    }
    a.width = desc->width;
    a.height = desc->height;
    a.format = desc->format;
    a.slots = desc->slots ? desc->slots : 1; /* as dp12_create_port: 3 once the frame ring lands */
    a.transport = desc->transport;
    a.flags = desc->flags;
    a.sddl = desc->sddl;
    a.legacy = false;
    if (!dpn_port_names(&names, desc->name, (desc->flags & DP_PORT_GLOBAL) != 0)) {
        dp_fail(DP_ERROR_INVALID_ARGUMENT, "dp11_create_port: name must be 1..%u characters of [A-Za-z0-9_.-]",
                DPN_MAX_BASE);
        return NULL;
    }
    if (dp11_check_args(&a) != DP_OK)
        return NULL;
    return dp11_create(&a, &names);
}

/* ---- Opening -------------------------------------------------------------------------- */

/* An NT handle on the object called name, whichever API made it. */
static DP_RESULT dp11_open_nt(const wchar_t *name, HANDLE *out)
{
    ID3D12Device *resolver = dp11_resolver();
    HANDLE nt = NULL;
    HRESULT hr;
    if (!resolver)
        return DP_ERROR_DEVICE;
    hr = ID3D12Device_OpenSharedHandleByName(resolver, name, GENERIC_ALL, &nt);
    if (FAILED(hr)) {
        if (hr == HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND) || dp_hr_is_unsupported(hr))
            return dp_fail_hr(DP_ERROR_NOT_FOUND, hr, "OpenSharedHandleByName");
        return dp_fail_hr(dp_result_from_hr(hr), hr, "OpenSharedHandleByName");
    }
    *out = dp_track(nt);
    return DP_OK;
}

/* Opens the texture and fence of a GPU port; the NT handles are not needed after. */
static DP_RESULT dp11_open_gpu_objects(dp11_port *p)
{
    wchar_t tex_name[DPN_LEN], fence_name[DPN_LEN];
    HRESULT hr;
    DP_RESULT r;
    dpn_texture_name(tex_name, DPN_LEN, &p->base.names, p->base.generation, 0);
    dpn_fence_name(fence_name, DPN_LEN, &p->base.names, p->base.generation);
    r = dp11_open_nt(tex_name, &p->texture_nt);
    if (r != DP_OK)
        return r;
    hr = ID3D11Device1_OpenSharedResource1(dp11.device1, p->texture_nt, &IID_ID3D11Texture2D, (void **)&p->texture);
    if (FAILED(hr))
        return dp_fail_hr(dp_result_from_hr(hr), hr, "ID3D11Device1::OpenSharedResource1(texture)");
    r = dp11_open_nt(fence_name, &p->fence_nt);
    if (r != DP_OK)
        return r;
    hr = ID3D11Device5_OpenSharedFence(dp11.device5, p->fence_nt, &IID_ID3D11Fence, (void **)&p->fence);
    if (FAILED(hr))
        return dp_fail_hr(dp_result_from_hr(hr), hr, "ID3D11Device5::OpenSharedFence");
    dp_close_handle(&p->texture_nt);
    dp_close_handle(&p->fence_nt);
    return DP_OK;
}

/* A GPU port made by another DirectPort build: the two NT names and nothing else. */
static DP_RESULT dp11_open_external(dp11_port *p)
{
    D3D11_TEXTURE2D_DESC desc;
    uint32_t f, dxgi = 0;
    DP_RESULT r = dp11_open_gpu_objects(p);
    if (r != DP_OK && !p->texture_nt && !p->texture)
        return dp_fail(DP_ERROR_NOT_FOUND, "no port named %ls", p->base.names.display);
    if (r != DP_OK)
        return r;
    ID3D11Texture2D_GetDesc(p->texture, &desc);
    for (f = 0; dpb_format_info(f, &dxgi, &p->base.bytes_per_pixel); f++)
        if (dxgi == (uint32_t)desc.Format)
            break;
    if (dxgi != (uint32_t)desc.Format || !desc.Width || !desc.Height || desc.Width > DP_MAX_DIMENSION ||
        desc.Height > DP_MAX_DIMENSION)
        return dp_fail(DP_ERROR_INCOMPATIBLE, "the texture %ls has a format or size DirectPort does not use",
                       p->base.names.tex);
    p->base.external = true;
    p->base.legacy = true;
    p->base.transport = DP_TRANSPORT_GPU;
    p->base.format = (DP_FORMAT)f;
    p->base.dxgi_format = dxgi;
    p->base.width = desc.Width;
    p->base.height = desc.Height;
    p->base.slots = 1;
    p->base.row_pitch = dpb_row_pitch(p->base.width, p->base.bytes_per_pixel);
    return DP_OK;
}

static DP_RESULT dp11_open_gpu_port(dp11_port *p)
{
    const dpb_block *b = p->base.block;
    D3D11_TEXTURE2D_DESC desc;
    DP_RESULT r;
    if (!dp11_device_can_share())
        return dp_fail(DP_ERROR_UNSUPPORTED, "%ls uses the GPU transport, which this device cannot open: %s",
                       p->base.names.display, dp11.share_missing);
    if ((b->adapter_luid_low || b->adapter_luid_high) &&
        (b->adapter_luid_low != dp11.luid.LowPart || b->adapter_luid_high != dp11.luid.HighPart))
        return dp_fail(DP_ERROR_UNSUPPORTED, "%ls lives on adapter %08lx:%08lx and this device on %08lx:%08lx; "
                                             "GPU-transport textures do not cross adapters",
                       p->base.names.display, (unsigned long)b->adapter_luid_high,
                       (unsigned long)b->adapter_luid_low, (unsigned long)dp11.luid.HighPart,
                       (unsigned long)dp11.luid.LowPart);
    r = dp11_open_gpu_objects(p);
    if (r != DP_OK)
        return r;
    /* The names are anyone's to take: check the texture is the one the block describes. */
    ID3D11Texture2D_GetDesc(p->texture, &desc);
    if (desc.Width != p->base.width || desc.Height != p->base.height || (uint32_t)desc.Format != p->base.dxgi_format)
        return dp_fail(DP_ERROR_INCOMPATIBLE, "the texture %ls does not match the control block of %ls",
                       p->base.names.tex, p->base.names.display);
    return DP_OK;
}

static DP_HANDLE dp11_open(const dpn_names *names)
{
    dp11_port *p = dp11_port_new();
    DP_RESULT r;
    if (!p)
        return NULL;
    p->base.names = *names;
    r = dp_port_open_block(&p->base);
    if (r == DP_ERROR_NOT_FOUND && !p->base.block) {
        /* Only a device that can share could open an external port; keep the error. */
        if (dp11_device_can_share())
            r = dp11_open_external(p);
        return dp11_finish(p, r);
    }
    if (r == DP_OK && p->base.transport == DP_TRANSPORT_GPU)
        r = dp11_open_gpu_port(p);
    else if (r == DP_OK)
        r = dp11_create_host_objects(p);
    if (r == DP_OK && p->base.transport == DP_TRANSPORT_HOST)
        r = dp_host_start(&p->base, NULL, &dp11_host_ops, p);
    return dp11_finish(p, r);
}

DP_HANDLE dp11_open_shared_resource(const wchar_t *tex_name, const wchar_t *fence_name)
{
    dpn_names names;
    if (!dp11_ready("dp11_open_shared_resource"))
        return NULL;
    if (!dpn_legacy_names(&names, tex_name, fence_name)) {
        dp_fail(DP_ERROR_INVALID_ARGUMENT, "dp11_open_shared_resource: texture and fence names must be distinct "
                                           "NT names of 1..%u characters", DPN_MAX_NT);
        return NULL;
    }
    return dp11_open(&names);
}

DP_HANDLE dp11_open_port(const wchar_t *name)
{
    dpn_names names;
    DP_HANDLE h;
    if (!dp11_ready("dp11_open_port"))
        return NULL;
    if (!dpn_port_names(&names, name, false)) {
        dp_fail(DP_ERROR_INVALID_ARGUMENT, "dp11_open_port: name must be 1..%u characters of [A-Za-z0-9_.-]",
                DPN_MAX_BASE);
        return NULL;
    }
    /* The namespace is the creator's choice: the session's first, then the global one. */
    h = dp11_open(&names);
    if (h || dp_last_error() != DP_ERROR_NOT_FOUND)
        return h;
    dpn_port_names(&names, name, true);
    return dp11_open(&names);
}

/* ---- Fences ---------------------------------------------------------------------------- */

/* Host producer: snapshots the texture into a staging texture the worker is not
 * reading, then hands it over. The caller never waits on the worker. */
static void dp11_host_signal(dp11_port *p, uint64_t value)
{
    int idx;
    AcquireSRWLockExclusive(&p->lock);
    idx = p->reading >= 0 ? 1 - p->reading : p->latest >= 0 ? 1 - p->latest : 0;
    /* Overwriting the unclaimed latest frame: withdraw it until the copy is queued. */
    if (idx == p->latest)
        p->latest = -1;
    ReleaseSRWLockExclusive(&p->lock);
    ID3D11DeviceContext_CopyResource(dp11.context, (ID3D11Resource *)p->staging[idx], (ID3D11Resource *)p->texture);
    ID3D11DeviceContext_Flush(dp11.context);
    AcquireSRWLockExclusive(&p->lock);
    p->latest = idx;
    p->pending = value;
    ReleaseSRWLockExclusive(&p->lock);
    InterlockedExchange64(&p->local, (LONG64)value);
    SetEvent(p->event);
}

void dp11_signal_fence(DP_HANDLE h, uint64_t value)
{
    dp11_port *p = dp11_get(h, "dp11_signal_fence");
    HRESULT hr;
    if (!p)
        return;
    if (p->base.transport == DP_TRANSPORT_HOST) {
        if (p->base.producer)
            dp11_host_signal(p, value);
        else
            dp_fail(DP_ERROR_UNSUPPORTED, "dp11_signal_fence: %ls is a host-transport port, where only its "
                                          "producer signals", p->base.names.display);
        return;
    }
    hr = ID3D11DeviceContext4_Signal(dp11.context4, p->fence, value);
    if (FAILED(hr)) {
        dp_fail_hr(DP_ERROR_DEVICE, hr, "dp11_signal_fence: ID3D11DeviceContext4::Signal");
        return;
    }
    /* Another process waits on the value: do not let it sit in the command buffer. */
    ID3D11DeviceContext_Flush(dp11.context);
}

static uint64_t dp11_completed(dp11_port *p)
{
    if (!p->base.host)
        return ID3D11Fence_GetCompletedValue(p->fence);
    if (p->base.producer)
        return dp_port_published(&p->base);
    return (uint64_t)InterlockedCompareExchange64(&p->local, 0, 0);
}

/* Blocks until the handle's fence reaches value. A host producer waits for the value
 * to be published; a consumer, GPU or host, for it to be complete in its texture. */
static DP_RESULT dp11_cpu_wait(dp11_port *p, uint64_t value, uint32_t timeout_ms, const char *fn)
{
    ULONGLONG start = GetTickCount64();
    bool producer_gone = false;
    HRESULT hr;
    DP_RESULT r;

    if (p->base.host && p->base.producer)
        return value ? dp_port_wait_published(&p->base, value - 1, NULL, timeout_ms) : DP_OK;
    for (;;) {
        uint32_t remaining = UINT32_MAX;
        if (dp11_completed(p) >= value)
            return DP_OK;
        if (InterlockedCompareExchange(&p->failed, 0, 0))
            return dp_fail(DP_ERROR_DEVICE, "%s: the host worker of %ls failed to upload a frame", fn,
                           p->base.names.display);
        if (timeout_ms != UINT32_MAX) {
            ULONGLONG spent = GetTickCount64() - start;
            if (spent >= timeout_ms)
                return dp_fail(DP_ERROR_TIMEOUT, "%s: timed out after %u ms waiting for %llu on %ls", fn,
                               timeout_ms, (unsigned long long)value, p->base.names.display);
            remaining = (uint32_t)(timeout_ms - spent);
        }
        if (!p->base.host) {
            hr = ID3D11Fence_SetEventOnCompletion(p->fence, value, p->event);
            if (FAILED(hr))
                return dp_fail_hr(DP_ERROR_DEVICE, hr, "ID3D11Fence::SetEventOnCompletion");
        }
        if (producer_gone) {
            if (WaitForSingleObject(p->event, remaining == UINT32_MAX ? INFINITE : remaining) == WAIT_FAILED)
                return dp_fail_win32(DP_ERROR_DEVICE, GetLastError(), "WaitForSingleObject");
            continue;
        }
        /* Wakes are re-checked at the top: the event is auto-reset and may be stale. */
        r = dp_wait_event(&p->base, p->event, remaining);
        if (r == DP_ERROR_DISCONNECTED) {
            /* Frames published before the exit still arrive; only a value that can no
             * longer come is a disconnect. */
            if (dp11_completed(p) >= value)
                return DP_OK;
            if (!p->base.host || dp_port_published(&p->base) < value)
                return r;
            producer_gone = true;
        } else if (r != DP_OK) {
            return r;
        }
    }
}

/* On the host transport there is no GPU-side wait without ID3D11Device5: the CPU waits
 * until the worker's copy is queued, which, being on the same immediate context, is
 * ordered before anything the caller submits afterwards. */
void dp11_wait_fence(DP_HANDLE h, uint64_t value)
{
    dp11_port *p = dp11_get(h, "dp11_wait_fence");
    HRESULT hr;
    if (!p)
        return;
    if (!p->base.host) {
        hr = ID3D11DeviceContext4_Wait(dp11.context4, p->fence, value);
        if (FAILED(hr))
            dp_fail_hr(DP_ERROR_DEVICE, hr, "dp11_wait_fence: ID3D11DeviceContext4::Wait");
        return;
    }
    if (p->base.producer) {
        /* The producer's own work is already in order; a value it never signalled
         * would never come. */
        if ((uint64_t)InterlockedCompareExchange64(&p->local, 0, 0) < value)
            dp_fail(DP_ERROR_INVALID_ARGUMENT, "dp11_wait_fence: %ls never signalled %llu on this handle",
                    p->base.names.display, (unsigned long long)value);
        return;
    }
    dp11_cpu_wait(p, value, UINT32_MAX, "dp11_wait_fence");
}

uint64_t dp11_get_completed_value(DP_HANDLE h)
{
    dp11_port *p = dp11_get(h, "dp11_get_completed_value");
    return p ? dp11_completed(p) : 0;
}

DP_RESULT dp11_cpu_wait_timeout(DP_HANDLE h, uint64_t value, uint32_t timeout_ms)
{
    dp11_port *p = dp11_get(h, "dp11_cpu_wait_timeout");
    if (!p)
        return dp_last_error();
    return dp11_cpu_wait(p, value, timeout_ms, "dp11_cpu_wait_timeout");
}

ID3D11Texture2D *dp11_get_texture(DP_HANDLE h)
{
    dp11_port *p = dp11_get(h, "dp11_get_texture");
    return p ? p->texture : NULL;
}

/* ---- Host transport backend (worker thread) ---------------------------------------------- */

/* Maps a staging texture without holding the device: with multithread protection on,
 * a blocking Map would keep the caller's render thread out of the context until the
 * GPU finished the copy. */
static bool dp11_host_map(ID3D11Texture2D *tex, D3D11_MAP type, D3D11_MAPPED_SUBRESOURCE *out)
{
    unsigned tries;
    for (tries = 0;; tries++) {
        HRESULT hr = ID3D11DeviceContext_Map(dp11.context, (ID3D11Resource *)tex, 0, type, D3D11_MAP_FLAG_DO_NOT_WAIT,
                                             out);
        if (hr != DXGI_ERROR_WAS_STILL_DRAWING)
            return SUCCEEDED(hr);
        if (tries < 16)
            SwitchToThread();
        else
            Sleep(1);
    }
}

static void dp11_copy_rows(uint8_t *dst, size_t dst_pitch, const uint8_t *src, size_t src_pitch, size_t row_bytes,
                           uint32_t rows)
{
    uint32_t y;
    for (y = 0; y < rows; y++)
        memcpy(dst + y * dst_pitch, src + y * src_pitch, row_bytes);
}

static uint64_t dp11_host_wait_local(void *ctx, uint64_t after, HANDLE stop)
{
    dp11_port *p = ctx;
    HANDLE handles[2] = {p->event, stop};
    for (;;) {
        uint64_t v = 0;
        AcquireSRWLockExclusive(&p->lock);
        /* A claim readback never used (the section was written by the CPU) ends here. */
        p->reading = -1;
        if (p->latest >= 0 && p->pending > after) {
            p->reading = p->latest;
            p->latest = -1;
            v = p->pending;
        }
        ReleaseSRWLockExclusive(&p->lock);
        if (v)
            return v;
        if (WaitForMultipleObjects(2, handles, FALSE, INFINITE) != WAIT_OBJECT_0)
            return after;
    }
}

static bool dp11_host_readback(void *ctx, uint32_t slot, void *dst)
{
    dp11_port *p = ctx;
    D3D11_MAPPED_SUBRESOURCE m;
    int idx = p->reading; /* only this thread writes it */
    bool ok;
    (void)slot;
    if (idx < 0)
        return false;
    ok = dp11_host_map(p->staging[idx], D3D11_MAP_READ, &m);
    if (ok) {
        dp11_copy_rows(dst, p->base.row_pitch, m.pData, m.RowPitch,
                       (size_t)p->base.width * p->base.bytes_per_pixel, p->base.height);
        ID3D11DeviceContext_Unmap(dp11.context, (ID3D11Resource *)p->staging[idx], 0);
    }
    AcquireSRWLockExclusive(&p->lock);
    p->reading = -1;
    ReleaseSRWLockExclusive(&p->lock);
    return ok;
}

static bool dp11_host_upload(void *ctx, uint32_t slot, const void *src, uint64_t value)
{
    dp11_port *p = ctx;
    D3D11_MAPPED_SUBRESOURCE m;
    (void)slot;
    if (!dp11_host_map(p->staging[0], D3D11_MAP_WRITE, &m)) {
        /* The worker stops after a failed upload: waiters must not sleep forever. */
        InterlockedExchange(&p->failed, 1);
        SetEvent(p->event);
        return false;
    }
    dp11_copy_rows(m.pData, m.RowPitch, src, p->base.row_pitch, (size_t)p->base.width * p->base.bytes_per_pixel,
                   p->base.height);
    ID3D11DeviceContext_Unmap(dp11.context, (ID3D11Resource *)p->staging[0], 0);
    ID3D11DeviceContext_CopyResource(dp11.context, (ID3D11Resource *)p->texture, (ID3D11Resource *)p->staging[0]);
    ID3D11DeviceContext_Flush(dp11.context);
    InterlockedExchange64(&p->local, (LONG64)value);
    SetEvent(p->event);
    return true;
}

static const dp_host_ops dp11_host_ops = {dp11_host_wait_local, dp11_host_readback, dp11_host_upload};
