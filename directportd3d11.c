/*
 * directportd3d11.c - the D3D11 backend of the port engine and the dp11_* entry points.
 *
 * The entry points are thin: the engine (directportengine.c) holds every call's body
 * and reaches D3D11 through dp11_backend, at the end of this file. What only D3D11 has
 * stays here: the device and its optional interfaces, the D3D12 name resolver, shared
 * textures and fences, staging copies, the emulated fence of the host transport.
 *
 * GPU transport (needs ID3D11Device5): the slot textures and the fence are NT-shared
 * objects carrying the port's names. D3D11 can create such objects but cannot open a
 * fence by name, and ports made by the D3D12 core carry D3D12 names, so a small
 * internal D3D12 device turns names into NT handles that D3D11 then opens.
 *
 * Host transport (Wine, drivers without NT sharing or without ID3D11Device5): the
 * textures are local and the fence is emulated per handle by a 64-bit value and an
 * event. directporthost.c's worker thread calls the host ops at the end of this file,
 * which copy on the immediate context; the device's multithread protection is turned
 * on for that, because the caller's threads use the same context.
 *
 * Which textures a generation has:
 *   GPU, either side   the port's slot textures;
 *   host producer      a local texture per slot (begin_frame hands them out) and a
 *                      STAGING texture per slot that end_frame copies the frame into
 *                      on the caller's thread; the worker maps it and fills the
 *                      section. Legacy signals snapshot texture 0 into two more
 *                      staging textures, made at the first signal;
 *   host consumer      two local textures that acquires alternate between (texture 0
 *                      is also the legacy one) and one STAGING texture to upload through.
 */
#include "directportint.h"

#include <stdio.h>
#include <string.h>

#define DP11_CONSUMER_TEXTURES 2u

/* One generation's objects. */
typedef struct {
    dp_gen base;
    ID3D11Texture2D *texture[DPB_MAX_SLOTS];
    uint32_t textures;
    ID3D11Fence *fence;             /* GPU transport: the generation's fence */
    HANDLE texture_nt[DPB_MAX_SLOTS]; /* GPU producer: the NT handles that hold the names */
    HANDLE fence_nt;
    /* Host transport. Producer: staging[s] holds the frame end_frame copied out of
     * texture[s] until the worker has read it (the slot is busy until then); consumer:
     * staging[0] is the upload texture. */
    ID3D11Texture2D *staging[DPB_MAX_SLOTS];
    /* Host producer, legacy signals: two snapshots of texture 0, so the caller's next
     * signal never copies into the one the worker has mapped. */
    ID3D11Texture2D *legacy_staging[2];
    SRWLOCK lock;                   /* latest, reading, pending, queued */
    int latest;                     /* legacy staging holding the newest signalled frame, -1 none */
    int reading;                    /* legacy staging the worker has claimed, -1 none */
    uint64_t pending;               /* fence value of the frame in legacy_staging[latest] */
    uint64_t queued;                /* frame protocol: newest frame whose copy to staging is queued */
    volatile LONG64 uploaded[DP11_CONSUMER_TEXTURES]; /* host consumer: frame last uploaded per texture */
    volatile LONG failed;           /* consumer: the worker could not upload a frame */
} dp11_gen;

typedef struct {
    dp_port base;                   /* first: the engine sees every handle as a dp_port */
    /* Auto-reset. GPU transport: SetEventOnCompletion target of cpu waits. Host
     * producer: wakes the worker after a signal or an end_frame. Host consumer: set
     * after each upload. */
    HANDLE event;
    bool frames;                    /* producer: the frame protocol is in use; signals no longer copy */
    volatile LONG64 local;          /* host: producer's last signalled value; consumer's value in texture */
    uint32_t held_texture;
    uint32_t next_texture;
    /* GPU consumer: the caller signals release_fence on the immediate context when it is
     * done with a frame. */
    ID3D11Fence *release_fence;
} dp11_port;

static const dp_backend dp11_backend;

static dp11_gen *dp11_gen_of(const dp11_port *p)
{
    return (dp11_gen *)p->base.gen;
}

static dp11_port *dp11_get(DP_HANDLE h, const char *fn)
{
    return (dp11_port *)dp_engine_get(&dp11_backend, h, fn);
}

static struct {
    SRWLOCK lock;                   /* guards the lazily made members below */
    ID3D11Device *device;
    ID3D11Device1 *device1;         /* OpenSharedResource1; NULL where missing */
    ID3D11Device5 *device5;         /* shared fences; NULL on Wine and before Windows 10 1703 */
    ID3D11DeviceContext *context;   /* immediate */
    ID3D11DeviceContext4 *context4; /* fence Signal / Wait; NULL where missing */
    LUID luid;
    /* The adapter the next device is made on (dp11_init_on_adapter), if want. */
    bool want;
    LUID want_luid;
    /* Whether the device can share: asked once; share_missing says why not. */
    bool share_known, can_share;
    char share_missing[200];
    ID3D11Multithread *mt;          /* set once the host transport turned protection on */
    BOOL mt_was;                    /* protection before that, restored at shutdown */
    ID3D12Device *resolver;         /* opens names to NT handles; made at the first GPU open */
} dp11 = {.lock = SRWLOCK_INIT};


/* ---- Device ------------------------------------------------------------------------- */

static bool dp11_ready(void)
{
    return dp11.device != NULL;
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

/* The DXGI adapter of that LUID, NULL if none has it. */
static IDXGIAdapter *dp11_adapter_of(LUID luid)
{
    IDXGIFactory1 *factory = NULL;
    IDXGIAdapter1 *adapter = NULL;
    IDXGIAdapter *found = NULL;
    if (FAILED(CreateDXGIFactory1(&IID_IDXGIFactory1, (void **)&factory)))
        return NULL;
    for (UINT i = 0; !found && IDXGIFactory1_EnumAdapters1(factory, i, &adapter) == S_OK; i++) {
        DXGI_ADAPTER_DESC1 desc;
        if (SUCCEEDED(IDXGIAdapter1_GetDesc1(adapter, &desc)) && desc.AdapterLuid.LowPart == luid.LowPart &&
            desc.AdapterLuid.HighPart == luid.HighPart)
            IDXGIAdapter1_QueryInterface(adapter, &IID_IDXGIAdapter, (void **)&found);
        IDXGIAdapter1_Release(adapter);
    }
    IDXGIFactory1_Release(factory);
    return found;
}

static HRESULT dp11_create_device(void)
{
    D3D_FEATURE_LEVEL levels[] = {D3D_FEATURE_LEVEL_11_1, D3D_FEATURE_LEVEL_11_0};
    ID3D11Device *device = NULL;
    IDXGIAdapter *adapter = NULL;
    HRESULT hr = S_OK;

    UINT flags = D3D11_CREATE_DEVICE_BGRA_SUPPORT | (dp_debug_layers() ? D3D11_CREATE_DEVICE_DEBUG : 0u);

    AcquireSRWLockExclusive(&dp11.lock);
    if (!dp11.device) {
        /* D3D11CreateDevice: with an adapter, the driver type must be UNKNOWN. */
        adapter = dp11.want ? dp11_adapter_of(dp11.want_luid) : NULL;
        D3D_DRIVER_TYPE type = adapter ? D3D_DRIVER_TYPE_UNKNOWN : D3D_DRIVER_TYPE_HARDWARE;
        for (int tries = 0; tries < 2; tries++) {
            hr = D3D11CreateDevice(adapter, type, NULL, flags, levels, DP_ARRAY_SIZE(levels), D3D11_SDK_VERSION,
                                   &device, NULL, NULL);
            /* A runtime that predates 11_1 rejects the whole list. */
            if (hr == E_INVALIDARG)
                hr = D3D11CreateDevice(adapter, type, NULL, flags, levels + 1, 1, D3D11_SDK_VERSION, &device, NULL,
                                       NULL);
            /* Without the SDK layers installed, the debug flag fails the create: go on without. */
            if (SUCCEEDED(hr) || !(flags & D3D11_CREATE_DEVICE_DEBUG))
                break;
            flags &= ~(UINT)D3D11_CREATE_DEVICE_DEBUG;
        }
        if (SUCCEEDED(hr))
            dp11_adopt(device);
        DP_RELEASE(device);
        DP_RELEASE(adapter);
        dp11.want = false;
    }
    ReleaseSRWLockExclusive(&dp11.lock);
    return hr;
}

bool dp11_init_on_adapter(LUID luid)
{
    AcquireSRWLockExclusive(&dp11.lock);
    if (!dp11.device) {
        dp11.want = true;
        dp11.want_luid = luid;
    }
    ReleaseSRWLockExclusive(&dp11.lock);
    return dp11_init();
}

static void *dp11_device(void)
{
    return dp11.device;
}

static void dp11_adopt_device(void *device)
{
    AcquireSRWLockExclusive(&dp11.lock);
    dp11_adopt(device);
    ReleaseSRWLockExclusive(&dp11.lock);
}

/* The D3D11 debug layer's errors and corruptions for the library's device since the last
 * look (none without the layer). */
uint32_t dp11_debug_harvest(void)
{
    ID3D11InfoQueue *queue = NULL;
    uint32_t errors = 0;
    AcquireSRWLockExclusive(&dp11.lock);
    if (dp11.device && SUCCEEDED(ID3D11Device_QueryInterface(dp11.device, &IID_ID3D11InfoQueue, (void **)&queue))) {
        UINT64 n = ID3D11InfoQueue_GetNumStoredMessages(queue);
        for (UINT64 i = 0; i < n; i++) {
            SIZE_T len = 0;
            D3D11_MESSAGE *m;
            if (FAILED(ID3D11InfoQueue_GetMessage(queue, i, NULL, &len)) ||
                !(m = HeapAlloc(GetProcessHeap(), 0, len)))
                continue;
            if (SUCCEEDED(ID3D11InfoQueue_GetMessage(queue, i, m, &len)) &&
                m->Severity <= D3D11_MESSAGE_SEVERITY_ERROR)
                errors++;
            HeapFree(GetProcessHeap(), 0, m);
        }
        ID3D11InfoQueue_ClearStoredMessages(queue);
        ID3D11InfoQueue_Release(queue);
    }
    ReleaseSRWLockExclusive(&dp11.lock);
    return errors;
}

static void dp11_release_device(void)
{
    dp_debug_add(dp11_debug_harvest());
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
        dp_fail_d3d(hr, "D3D12CreateDevice(name resolver)");
    return dp11.resolver;
}

/* ---- Device objects --------------------------------------------------------------------- */

static DP_RESULT dp11_create_texture(const dp_geometry *geo, D3D11_USAGE usage, UINT bind, UINT cpu, UINT misc,
                                     ID3D11Texture2D **out, const char *step)
{
    D3D11_TEXTURE2D_DESC desc = {0};
    HRESULT hr;
    desc.Width = geo->width;
    desc.Height = geo->height;
    desc.MipLevels = 1;
    desc.ArraySize = 1;
    desc.Format = (DXGI_FORMAT)geo->dxgi_format;
    desc.SampleDesc.Count = 1;
    desc.Usage = usage;
    desc.BindFlags = bind;
    desc.CPUAccessFlags = cpu;
    desc.MiscFlags = misc;
    hr = ID3D11Device_CreateTexture2D(dp11.device, &desc, NULL, out);
    if (FAILED(hr))
        return dp_fail_d3d(hr, step);
    return DP_OK;
}

/* A texture callers render to or sample from; NT-shareable on the GPU transport. */
static DP_RESULT dp11_create_main_texture(const dp_geometry *geo, bool shared, ID3D11Texture2D **out)
{
    return dp11_create_texture(geo, D3D11_USAGE_DEFAULT, D3D11_BIND_SHADER_RESOURCE | D3D11_BIND_RENDER_TARGET, 0,
                               shared ? D3D11_RESOURCE_MISC_SHARED | D3D11_RESOURCE_MISC_SHARED_NTHANDLE : 0, out,
                               shared ? "CreateTexture2D(shared texture)" : "CreateTexture2D(texture)");
}

static DP_RESULT dp11_create_staging(const dp_geometry *geo, UINT cpu, ID3D11Texture2D **out)
{
    return dp11_create_texture(geo, D3D11_USAGE_STAGING, 0, cpu, 0, out, "CreateTexture2D(staging)");
}

/* An NT handle on the object called name, whichever API made it. */
static DP_RESULT dp11_open_nt(const wchar_t *name, HANDLE *out)
{
    ID3D12Device *resolver = dp11_resolver();
    return resolver ? dp12_open_nt(resolver, name, out) : DP_ERROR_DEVICE;
}

/* Producer: makes slot's shared texture under its name in g's generation. */
static DP_RESULT dp11_create_gpu_texture(dp11_gen *g, const dp_security *sec, uint32_t slot)
{
    wchar_t name[DPN_LEN];
    IDXGIResource1 *res = NULL;
    HANDLE nt = NULL;
    HRESULT hr;
    DP_RESULT r = dp11_create_main_texture(&g->base.geo, true, &g->texture[slot]);
    if (r != DP_OK)
        return r;
    dpn_texture_name(name, DPN_LEN, &g->base.port->names, g->base.geo.generation, slot);
    hr = ID3D11Texture2D_QueryInterface(g->texture[slot], &IID_IDXGIResource1, (void **)&res);
    if (FAILED(hr))
        return dp_fail_hr(DP_ERROR_UNSUPPORTED, hr, "QueryInterface(IDXGIResource1)");
    hr = IDXGIResource1_CreateSharedHandle(res, &sec->sa, GENERIC_ALL, name, &nt);
    DP_RELEASE(res);
    if (FAILED(hr))
        return dp_fail_share(hr, name, "IDXGIResource1::CreateSharedHandle");
    g->texture_nt[slot] = dp_track(nt);
    return DP_OK;
}

/* Producer: makes the generation's shared fence under its name. */
static DP_RESULT dp11_create_gpu_fence(dp11_gen *g, const dp_security *sec)
{
    wchar_t name[DPN_LEN];
    HANDLE nt = NULL;
    HRESULT hr = ID3D11Device5_CreateFence(dp11.device5, 0, D3D11_FENCE_FLAG_SHARED, &IID_ID3D11Fence,
                                           (void **)&g->fence);
    if (FAILED(hr))
        return dp_fail_d3d(hr, "ID3D11Device5::CreateFence(shared)");
    dpn_fence_name(name, DPN_LEN, &g->base.port->names, g->base.geo.generation);
    hr = ID3D11Fence_CreateSharedHandle(g->fence, &sec->sa, GENERIC_ALL, name, &nt);
    if (FAILED(hr))
        return dp_fail_share(hr, name, "ID3D11Fence::CreateSharedHandle");
    g->fence_nt = dp_track(nt);
    return DP_OK;
}

/* Consumer: opens the texture (or, with fence, the fence) called name; the NT handle is
 * not needed after. */
static DP_RESULT dp11_open_shared(const wchar_t *name, bool fence, void **out)
{
    HANDLE nt = NULL;
    HRESULT hr;
    DP_RESULT r = dp11_open_nt(name, &nt);
    if (r != DP_OK)
        return r;
    hr = fence ? ID3D11Device5_OpenSharedFence(dp11.device5, nt, &IID_ID3D11Fence, out)
               : ID3D11Device1_OpenSharedResource1(dp11.device1, nt, &IID_ID3D11Texture2D, out);
    dp_close_handle(&nt);
    if (FAILED(hr))
        return dp_fail_d3d(hr, fence ? "ID3D11Device5::OpenSharedFence" : "ID3D11Device1::OpenSharedResource1");
    return DP_OK;
}

/* Consumer of a GPU port: can this device open its objects at all? */
static DP_RESULT dp11_check_gpu_consumer(const dp_port *p)
{
    if (!dp11_device_can_share())
        return dp_fail(DP_ERROR_UNSUPPORTED, "%ls uses the GPU transport, which this device cannot open: %s",
                       p->names.display, dp11.share_missing);
    return dp_port_check_adapter(p, dp11.luid);
}

static DP_RESULT dp11_build_gpu(dp11_gen *g, const dp_security *sec)
{
    const dp_port *p = g->base.port;
    const dp_geometry *geo = &g->base.geo;
    D3D11_TEXTURE2D_DESC desc;
    wchar_t name[DPN_LEN];
    DP_RESULT r = sec ? DP_OK : dp11_check_gpu_consumer(p);
    uint32_t i;

    g->textures = geo->slots;
    for (i = 0; i < g->textures && r == DP_OK; i++) {
        if (sec) {
            r = dp11_create_gpu_texture(g, sec, i);
            continue;
        }
        dpn_texture_name(name, DPN_LEN, &p->names, geo->generation, i);
        r = dp11_open_shared(name, false, (void **)&g->texture[i]);
        if (r != DP_OK)
            continue;
        /* The names are anyone's to take: check the texture is the one the block describes. */
        ID3D11Texture2D_GetDesc(g->texture[i], &desc);
        if (desc.Width != geo->width || desc.Height != geo->height || (uint32_t)desc.Format != geo->dxgi_format)
            r = dp_fail(DP_ERROR_INCOMPATIBLE, "the texture of slot %u does not match the control block of %ls", i,
                        p->names.display);
    }
    if (r == DP_OK && sec)
        return dp11_create_gpu_fence(g, sec);
    if (r == DP_OK) {
        dpn_fence_name(name, DPN_LEN, &p->names, geo->generation);
        r = dp11_open_shared(name, true, (void **)&g->fence);
    }
    return r;
}

static DP_RESULT dp11_build_host(dp11_gen *g, const dp_security *sec)
{
    const dp_geometry *geo = &g->base.geo;
    bool producer = g->base.port->producer;
    DP_RESULT r = dp11_protect();
    uint32_t i, staging = producer ? geo->slots : 1u;
    g->textures = producer ? geo->slots : DP11_CONSUMER_TEXTURES;
    for (i = 0; i < g->textures && r == DP_OK; i++)
        r = dp11_create_main_texture(geo, false, &g->texture[i]);
    for (i = 0; i < staging && r == DP_OK; i++)
        r = dp11_create_staging(geo, producer ? D3D11_CPU_ACCESS_READ : D3D11_CPU_ACCESS_WRITE, &g->staging[i]);
    if (r == DP_OK)
        r = dp_host_start(&g->base, sec);
    return r;
}

static void dp11_gen_free(dp_port *base, dp_gen *gen)
{
    dp11_gen *g = (dp11_gen *)gen;
    unsigned i;
    (void)base;
    /* The worker maps the staging textures and uses the context: stop it before they go. */
    dp_host_destroy(g->base.host);
    for (i = 0; i < DPB_MAX_SLOTS; i++) {
        DP_RELEASE(g->staging[i]);
        DP_RELEASE(g->texture[i]);
        dp_close_handle(&g->texture_nt[i]);
    }
    for (i = 0; i < DP_ARRAY_SIZE(g->legacy_staging); i++)
        DP_RELEASE(g->legacy_staging[i]);
    DP_RELEASE(g->fence);
    dp_close_handle(&g->fence_nt);
}

static DP_RESULT dp11_gen_build(dp_port *p, dp_gen *gen, const dp_security *sec)
{
    dp11_gen *g = (dp11_gen *)gen;
    (void)p;
    InitializeSRWLock(&g->lock);
    g->latest = g->reading = -1;
    return gen->geo.transport == DP_TRANSPORT_GPU ? dp11_build_gpu(g, sec) : dp11_build_host(g, sec);
}

/* The objects that live as long as the handle: its event and, for a consumer that may
 * read a GPU-transport port, its release fence. */
static DP_RESULT dp11_setup(dp_port *base)
{
    dp11_port *p = (dp11_port *)base;
    HRESULT hr;
    p->event = dp_track(CreateEventW(NULL, FALSE, FALSE, NULL));
    if (!p->event)
        return dp_fail_win32(DP_ERROR_OUT_OF_MEMORY, GetLastError(), "CreateEvent(port)");
    if (!base->producer && dp11.device5) {
        hr = ID3D11Device5_CreateFence(dp11.device5, 0, D3D11_FENCE_FLAG_NONE, &IID_ID3D11Fence,
                                       (void **)&p->release_fence);
        if (FAILED(hr))
            return dp_fail_d3d(hr, "ID3D11Device5::CreateFence(release)");
    }
    return DP_OK;
}

static void dp11_teardown(dp_port *base)
{
    dp11_port *p = (dp11_port *)base;
    DP_RELEASE(p->release_fence);
    dp_close_handle(&p->event);
}

static DP_RESULT dp11_choose_transport(const dp_create_args *a, DP_TRANSPORT *out)
{
    bool gpu = a->transport != DP_TRANSPORT_HOST && dp11_device_can_share();
    if (a->flags & DP_PORT_SYSTEM_RAM)
        return dp_fail(DP_ERROR_UNSUPPORTED, "DP_PORT_SYSTEM_RAM: dp11 ports live in GPU memory; map a port "
                                             "through dp12_map_memory");
    if (a->transport == DP_TRANSPORT_GPU && !gpu)
        return dp_fail(DP_ERROR_UNSUPPORTED, "DP_TRANSPORT_GPU: this device cannot share by NT handle: %s; use "
                                             "DP_TRANSPORT_AUTO or DP_TRANSPORT_HOST", dp11.share_missing);
    *out = gpu ? DP_TRANSPORT_GPU : DP_TRANSPORT_HOST;
    return DP_OK;
}

static LUID dp11_adapter(void)
{
    return dp11.luid;
}

/* A GPU port of another DirectPort build: its texture and fence by their names. */
static DP_RESULT dp11_open_external(dp_port *p, dp_gen *gen, uint32_t *out_dxgi, uint64_t *out_width,
                                    uint32_t *out_height, uint32_t *out_flags)
{
    dp11_gen *g = (dp11_gen *)gen;
    D3D11_TEXTURE2D_DESC desc;
    if (dp11_open_shared(p->names.tex, false, (void **)&g->texture[0]) != DP_OK)
        return dp_fail(DP_ERROR_NOT_FOUND, "no port named %ls", p->names.display);
    g->textures = 1;
    if (dp11_open_shared(p->names.fence, true, (void **)&g->fence) != DP_OK)
        return dp_last_error();
    ID3D11Texture2D_GetDesc(g->texture[0], &desc);
    *out_dxgi = (uint32_t)desc.Format;
    *out_width = desc.Width;
    *out_height = desc.Height;
    *out_flags = 0;
    return DP_OK;
}

/* ---- Frame protocol: the D3D11 halves ------------------------------------------------------ */

static void *dp11_slot_texture(dp_port *p, uint32_t slot)
{
    return dp11_gen_of((dp11_port *)p)->texture[slot];
}

/* Host transport: a producer's frame fence is the published value, a consumer's the
 * emulated value of its texture; the release fence exists only with ID3D11Device5. */
static uint64_t dp11_fence_value(dp_port *base, dp_gen *gen, dp_fence_role role)
{
    dp11_port *p = (dp11_port *)base;
    dp11_gen *g = (dp11_gen *)gen;
    if (role == DP_FENCE_RELEASE)
        return p->release_fence ? ID3D11Fence_GetCompletedValue(p->release_fence) : UINT64_MAX;
    if (!g->base.host)
        return ID3D11Fence_GetCompletedValue(g->fence);
    if (base->producer)
        return dp_port_published(base);
    return (uint64_t)InterlockedCompareExchange64(&p->local, 0, 0);
}

static bool dp11_fence_arm(dp_port *base, dp_gen *gen, dp_fence_role role, uint64_t value, HANDLE event)
{
    ID3D11Fence *fence = role == DP_FENCE_RELEASE ? ((dp11_port *)base)->release_fence : ((dp11_gen *)gen)->fence;
    return fence && SUCCEEDED(ID3D11Fence_SetEventOnCompletion(fence, value, event));
}

static DP_RESULT dp11_end_frame_api(dp_port *base, void *queue, uint32_t slot, uint64_t frame, uint32_t *out_texture)
{
    dp11_port *p = (dp11_port *)base;
    dp11_gen *g = dp11_gen_of(p);
    HRESULT hr;
    (void)queue;
    (void)out_texture; /* a host readback reads the slot's own staging texture */
    if (!g->base.host) {
        hr = ID3D11DeviceContext4_Signal(dp11.context4, g->fence, frame);
        if (FAILED(hr))
            return dp_fail_d3d(hr, "dp11_end_frame: ID3D11DeviceContext4::Signal");
        /* Consumers wait for the value GPU-side: it must not sit in the command buffer. */
        ID3D11DeviceContext_Flush(dp11.context);
        return DP_OK;
    }
    /* The copy is queued on the caller's immediate context after the frame's rendering;
     * the worker's Map of the staging texture is ordered after it. */
    ID3D11DeviceContext_CopyResource(dp11.context, (ID3D11Resource *)g->staging[slot],
                                     (ID3D11Resource *)g->texture[slot]);
    ID3D11DeviceContext_Flush(dp11.context);
    p->frames = true;
    /* The emulated local fence reaches the frame now (the worker is in frame mode:
     * begin_frame put it there), and the engine queues the readback. */
    AcquireSRWLockExclusive(&g->lock);
    g->queued = frame;
    ReleaseSRWLockExclusive(&g->lock);
    InterlockedExchange64(&p->local, (LONG64)frame);
    SetEvent(p->event);
    return DP_OK;
}

/* Host consumer: blocks until the worker has queued the upload of frame into texture
 * k on the immediate context: at most DP_OWN_WORK_WAIT_MS, the frame being in the
 * section already (a worker that does not get there is stuck: DP_ERROR_DEVICE). */
static DP_RESULT dp11_wait_upload(dp11_port *p, dp11_gen *g, uint32_t k, uint64_t frame)
{
    ULONGLONG start = GetTickCount64();
    for (;;) {
        uint32_t remaining;
        DP_RESULT r;
        if ((uint64_t)InterlockedCompareExchange64(&g->uploaded[k], 0, 0) == frame)
            return DP_OK;
        if (InterlockedCompareExchange(&g->failed, 0, 0))
            return dp_fail(DP_ERROR_DEVICE, "dp11_acquire_frame: the host worker of %ls failed to upload a frame",
                           p->base.names.display);
        remaining = dp_remaining_ms(start, DP_OWN_WORK_WAIT_MS);
        if (!remaining)
            return dp_fail(DP_ERROR_DEVICE, "dp11_acquire_frame: the host worker of %ls did not upload frame %llu "
                                            "within %u ms", p->base.names.display, (unsigned long long)frame,
                           DP_OWN_WORK_WAIT_MS);
        /* Wakes are re-checked at the top: the event is auto-reset and may be stale. */
        r = dp_wait_event(&p->base, p->event, remaining);
        if (r == DP_ERROR_TIMEOUT)
            continue;
        if (r != DP_OK)
            return (uint64_t)InterlockedCompareExchange64(&g->uploaded[k], 0, 0) == frame ? DP_OK : r;
    }
}

static DP_RESULT dp11_consume(dp_port *base, void *queue, uint32_t slot, uint64_t frame, void **out_source)
{
    dp11_port *p = (dp11_port *)base;
    dp11_gen *g = dp11_gen_of(p);
    HRESULT hr;
    (void)queue;
    if (g->base.host) {
        uint32_t k = p->next_texture % DP11_CONSUMER_TEXTURES;
        DP_RESULT r;
        p->next_texture = (k + 1) % DP11_CONSUMER_TEXTURES;
        /* An earlier upload's failure (a GPU stalled past the map's bound) is not this
         * one's: each acquire gets its own try. */
        InterlockedExchange(&g->failed, 0);
        /* The worker drops the claim once the pixels are out of the section. */
        dp_host_upload(g->base.host, slot, k, frame);
        r = dp11_wait_upload(p, g, k, frame);
        if (r != DP_OK)
            return r;
        p->held_texture = k;
    } else {
        /* GPU-side: the immediate context waits, the caller's thread does not. */
        hr = ID3D11DeviceContext4_Wait(dp11.context4, g->fence, frame);
        if (FAILED(hr))
            return dp_fail_d3d(hr, "dp11_acquire_frame: ID3D11DeviceContext4::Wait");
        p->held_texture = slot;
    }
    *out_source = g->texture[p->held_texture];
    return DP_OK;
}

static DP_RESULT dp11_release_api(dp_port *base, void *queue, uint64_t value, bool *out_signalled)
{
    dp11_port *p = (dp11_port *)base;
    HRESULT hr;
    (void)queue;
    /* Host: the section slot was given back after the upload, and the next upload into
     * this texture is queued on the same immediate context as the caller's reads. */
    if (dp_port_host(base))
        return DP_OK;
    hr = ID3D11DeviceContext4_Signal(dp11.context4, p->release_fence, value);
    if (FAILED(hr))
        return dp_fail_d3d(hr, "dp11_release_frame: ID3D11DeviceContext4::Signal");
    /* The claim ends only when the GPU gets there: do not let the signal sit. */
    ID3D11DeviceContext_Flush(dp11.context);
    *out_signalled = true;
    return DP_OK;
}

/* A host producer waits for the value to be published; a consumer, GPU or host, for it
 * to be complete in its texture. */
static DP_RESULT dp11_arm_wait(dp_port *base, uint64_t value, HANDLE *out_event)
{
    dp11_port *p = (dp11_port *)base;
    dp11_gen *g = dp11_gen_of(p);
    HRESULT hr;
    if (!g->base.host) {
        hr = ID3D11Fence_SetEventOnCompletion(g->fence, value, p->event);
        if (FAILED(hr))
            return dp_fail_d3d(hr, "ID3D11Fence::SetEventOnCompletion");
    } else if (InterlockedCompareExchange(&g->failed, 0, 0)) {
        return dp_fail(DP_ERROR_DEVICE, "the host worker of %ls failed to upload a frame", base->names.display);
    }
    *out_event = g->base.host && base->producer ? NULL : p->event;
    return DP_OK;
}

/* ---- Entry points ------------------------------------------------------------------------ */

DP_HANDLE dp11_create_shared_resource(uint32_t width, uint32_t height, DP_FORMAT format, const wchar_t *tex_name,
                                      const wchar_t *fence_name)
{
    return dp_engine_create_legacy(&dp11_backend, width, height, format, 0, tex_name, fence_name,
                                   "dp11_create_shared_resource");
}

DP_ENGINE_ENTRY_POINTS(dp11, dp11_backend, ID3D11Device, ID3D11Texture2D)

DP_RESULT dp11_end_frame(DP_HANDLE h, uint64_t *out_frame)
{
    return dp_engine_end_frame(&dp11_backend, h, NULL, false, out_frame, "dp11_end_frame");
}

DP_RESULT dp11_acquire_frame(DP_HANDLE h, uint32_t timeout_ms, ID3D11Texture2D **out_source, uint64_t *out_frame)
{
    return dp_engine_acquire_frame(&dp11_backend, h, NULL, false, timeout_ms, (void **)out_source, out_frame,
                                   "dp11_acquire_frame");
}

void dp11_release_frame(DP_HANDLE h)
{
    dp_engine_release_frame(&dp11_backend, h, NULL, false, "dp11_release_frame");
}

ID3D11Texture2D *dp11_get_texture(DP_HANDLE h)
{
    dp11_port *p = dp11_get(h, "dp11_get_texture");
    return p ? dp11_gen_of(p)->texture[0] : NULL;
}

/* ---- Fences ---------------------------------------------------------------------------- */

/* Host producer: snapshots texture 0 into a legacy staging texture the worker is not
 * reading, then hands it over. The caller never waits on the worker. Once the frame
 * protocol is in use the worker no longer follows signals: the value is only kept. */
static void dp11_host_signal(dp11_port *p, uint64_t value)
{
    dp11_gen *g = dp11_gen_of(p);
    unsigned i;
    int idx;
    if (p->frames) {
        InterlockedExchange64(&p->local, (LONG64)value);
        return;
    }
    for (i = 0; i < DP_ARRAY_SIZE(g->legacy_staging); i++)
        if (!g->legacy_staging[i] &&
            dp11_create_staging(&g->base.geo, D3D11_CPU_ACCESS_READ, &g->legacy_staging[i]) != DP_OK)
            return;
    AcquireSRWLockExclusive(&g->lock);
    idx = g->reading >= 0 ? 1 - g->reading : g->latest >= 0 ? 1 - g->latest : 0;
    /* Overwriting the unclaimed latest frame: withdraw it until the copy is queued. */
    if (idx == g->latest)
        g->latest = -1;
    ReleaseSRWLockExclusive(&g->lock);
    ID3D11DeviceContext_CopyResource(dp11.context, (ID3D11Resource *)g->legacy_staging[idx],
                                     (ID3D11Resource *)g->texture[0]);
    ID3D11DeviceContext_Flush(dp11.context);
    AcquireSRWLockExclusive(&g->lock);
    g->latest = idx;
    g->pending = value;
    ReleaseSRWLockExclusive(&g->lock);
    InterlockedExchange64(&p->local, (LONG64)value);
    SetEvent(p->event);
}

void dp11_signal_fence(DP_HANDLE h, uint64_t value)
{
    dp11_gen *g = (dp11_gen *)dp_engine_gen(&dp11_backend, h, "dp11_signal_fence");
    dp11_port *p = g ? (dp11_port *)g->base.port : NULL;
    HRESULT hr;
    if (!g)
        return;
    if (g->base.host) {
        if (p->base.producer)
            dp11_host_signal(p, value);
        else
            dp_fail(DP_ERROR_UNSUPPORTED, "dp11_signal_fence: %ls is a host-transport port, where only its "
                                          "producer signals", p->base.names.display);
        return;
    }
    hr = ID3D11DeviceContext4_Signal(dp11.context4, g->fence, value);
    if (FAILED(hr)) {
        dp_fail_d3d(hr, "dp11_signal_fence: ID3D11DeviceContext4::Signal");
        return;
    }
    /* Another process waits on the value: do not let it sit in the command buffer. */
    ID3D11DeviceContext_Flush(dp11.context);
    dp_engine_signalled(&p->base, value);
}

/* On the host transport there is no GPU-side wait without ID3D11Device5: the CPU waits
 * until the worker's copy is queued, which, being on the same immediate context, is
 * ordered before anything the caller submits afterwards. */
void dp11_wait_fence(DP_HANDLE h, uint64_t value)
{
    dp11_gen *g = (dp11_gen *)dp_engine_gen(&dp11_backend, h, "dp11_wait_fence");
    dp11_port *p = g ? (dp11_port *)g->base.port : NULL;
    HRESULT hr;
    if (!g)
        return;
    if (!g->base.host) {
        if (dp_engine_gpu_wait_ready(&dp11_backend, h, value, "dp11_wait_fence") != DP_OK)
            return;
        hr = ID3D11DeviceContext4_Wait(dp11.context4, g->fence, value);
        if (FAILED(hr))
            dp_fail_d3d(hr, "dp11_wait_fence: ID3D11DeviceContext4::Wait");
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
    dp_engine_cpu_wait(&dp11_backend, h, value, UINT32_MAX, "dp11_wait_fence");
}

/* ---- Host transport (worker thread) ---------------------------------------------- */

/* Maps a staging texture without holding the device: with multithread protection on,
 * a blocking Map would keep the caller's render thread out of the context until the
 * GPU finished the copy. At most DP_OWN_WORK_WAIT_MS: a GPU that never finishes it
 * fails the copy rather than hang the worker (and the close that joins it). */
static bool dp11_host_map(ID3D11Texture2D *tex, D3D11_MAP type, D3D11_MAPPED_SUBRESOURCE *out)
{
    ULONGLONG start = GetTickCount64();
    for (unsigned tries = 0;; tries++) {
        HRESULT hr = ID3D11DeviceContext_Map(dp11.context, (ID3D11Resource *)tex, 0, type, D3D11_MAP_FLAG_DO_NOT_WAIT,
                                             out);
        if (hr != DXGI_ERROR_WAS_STILL_DRAWING)
            return SUCCEEDED(hr);
        if (!dp_remaining_ms(start, DP_OWN_WORK_WAIT_MS))
            return false;
        if (tries < 16)
            SwitchToThread();
        else
            Sleep(1);
    }
}

DP_RESULT dp11_protect_device(void)
{
    return dp11_protect();
}

DP_HANDLE dp11_open_names(const dpn_names *names)
{
    if (!dp11_init())
        return NULL;
    return dp_engine_open_names(&dp11_backend, names);
}

void dp11_pin(int delta)
{
    dp_engine_pin(&dp11_backend, delta);
}

DP_RESULT dp11_read_frame(ID3D11Texture2D *source, ID3D11Texture2D **staging, uint8_t *dst, size_t dst_pitch,
                          size_t row_bytes, uint32_t rows)
{
    D3D11_TEXTURE2D_DESC want, have;
    D3D11_MAPPED_SUBRESOURCE m;
    HRESULT hr;
    DP_RESULT r = dp11_protect();
    if (r != DP_OK)
        return r;
    source->lpVtbl->GetDesc(source, &want);
    if (*staging) {
        (*staging)->lpVtbl->GetDesc(*staging, &have);
        if (have.Width != want.Width || have.Height != want.Height || have.Format != want.Format)
            DP_RELEASE(*staging);
    }
    if (!*staging) {
        want.MipLevels = 1;
        want.ArraySize = 1;
        want.SampleDesc.Count = 1;
        want.SampleDesc.Quality = 0;
        want.Usage = D3D11_USAGE_STAGING;
        want.BindFlags = 0;
        want.CPUAccessFlags = D3D11_CPU_ACCESS_READ;
        want.MiscFlags = 0;
        hr = ID3D11Device_CreateTexture2D(dp11.device, &want, NULL, staging);
        if (FAILED(hr))
            return dp_fail_hr(DP_ERROR_DEVICE, hr, "CreateTexture2D(staging)");
    }
    /* Ordered after the GPU-side wait dp11_acquire_frame queued on the same context; the
     * flush submits it, since a Map that does not wait need not. */
    ID3D11DeviceContext_CopyResource(dp11.context, (ID3D11Resource *)*staging, (ID3D11Resource *)source);
    ID3D11DeviceContext_Flush(dp11.context);
    for (ULONGLONG start = GetTickCount64(), tries = 0;; tries++) {
        hr = ID3D11DeviceContext_Map(dp11.context, (ID3D11Resource *)*staging, 0, D3D11_MAP_READ,
                                     D3D11_MAP_FLAG_DO_NOT_WAIT, &m);
        if (hr != DXGI_ERROR_WAS_STILL_DRAWING)
            break;
        if (tries < 16)
            SwitchToThread();
        else
            Sleep(1);
        /* A GPU that never finishes the copy must not hold the caller's close for good. */
        if (GetTickCount64() - start > 1000)
            return dp_fail(DP_ERROR_DEVICE, "the copy of a frame into its staging texture did not finish in 1 s");
    }
    if (FAILED(hr))
        return dp_fail_hr(DP_ERROR_DEVICE, hr, "Map(staging) of a frame");
    if (want.Height >= rows && m.RowPitch >= row_bytes)
        dp_host_copy(NULL, dst, dst_pitch, m.pData, m.RowPitch, row_bytes, rows, false);
    ID3D11DeviceContext_Unmap(dp11.context, (ID3D11Resource *)*staging, 0);
    if (want.Height < rows || m.RowPitch < row_bytes)
        return dp_fail(DP_ERROR_INCOMPATIBLE, "a %ux%u frame has fewer than %u rows of %lu bytes", want.Width,
                       want.Height, rows, (unsigned long)row_bytes);
    return DP_OK;
}

/* The emulated local fence. Frame protocol: end_frame moves `queued` once the frame's
 * copy into its staging texture is queued. Legacy: a signal hands over a snapshot
 * (latest/pending), which this claims for the readback that follows. */
static uint64_t dp11_host_wait_local(dp_gen *gen, uint64_t after, HANDLE stop)
{
    dp11_gen *g = (dp11_gen *)gen;
    dp11_port *p = (dp11_port *)g->base.port;
    HANDLE handles[2] = {p->event, stop};
    for (;;) {
        uint64_t v = 0;
        AcquireSRWLockExclusive(&g->lock);
        /* A claim readback never used (the section was written by the CPU) ends here. */
        g->reading = -1;
        if (g->queued > after) {
            v = g->queued;
        } else if (g->latest >= 0 && g->pending > after) {
            g->reading = g->latest;
            g->latest = -1;
            v = g->pending;
        }
        ReleaseSRWLockExclusive(&g->lock);
        if (v)
            return v;
        if (WaitForMultipleObjects(2, handles, FALSE, INFINITE) != WAIT_OBJECT_0)
            return after;
    }
}

/* Producer: a legacy readback reads the snapshot wait_local claimed; a frame job reads
 * the staging texture of its slot. */
static bool dp11_host_readback(dp_gen *gen, uint32_t texture, void *dst)
{
    dp11_gen *g = (dp11_gen *)gen;
    const dp_geometry *geo = &g->base.geo;
    D3D11_MAPPED_SUBRESOURCE m;
    int idx = g->reading; /* only this thread writes it */
    ID3D11Texture2D *src = idx >= 0 ? g->legacy_staging[idx] : texture < g->textures ? g->staging[texture] : NULL;
    bool ok = src && dp11_host_map(src, D3D11_MAP_READ, &m);
    if (ok) {
        dp_host_copy(g->base.host, dst, geo->row_pitch, m.pData, m.RowPitch, (size_t)geo->width * geo->bytes_per_pixel,
                     geo->height, false);
        ID3D11DeviceContext_Unmap(dp11.context, (ID3D11Resource *)src, 0);
    }
    if (idx >= 0) {
        AcquireSRWLockExclusive(&g->lock);
        g->reading = -1;
        ReleaseSRWLockExclusive(&g->lock);
    }
    return ok;
}

/* Consumer: section -> staging -> local texture, queued on the immediate context. */
static bool dp11_host_upload(dp_gen *gen, uint32_t texture, const void *src, uint64_t value)
{
    dp11_gen *g = (dp11_gen *)gen;
    dp11_port *p = (dp11_port *)g->base.port;
    const dp_geometry *geo = &g->base.geo;
    D3D11_MAPPED_SUBRESOURCE m;
    if (texture >= g->textures || !dp11_host_map(g->staging[0], D3D11_MAP_WRITE, &m)) {
        /* Waiters must not sleep forever. */
        InterlockedExchange(&g->failed, 1);
        SetEvent(p->event);
        return false;
    }
    dp_host_copy(g->base.host, m.pData, m.RowPitch, src, geo->row_pitch, (size_t)geo->width * geo->bytes_per_pixel,
                 geo->height, false);
    ID3D11DeviceContext_Unmap(dp11.context, (ID3D11Resource *)g->staging[0], 0);
    ID3D11DeviceContext_CopyResource(dp11.context, (ID3D11Resource *)g->texture[texture],
                                     (ID3D11Resource *)g->staging[0]);
    ID3D11DeviceContext_Flush(dp11.context);
    InterlockedExchange(&g->failed, 0);
    if (texture < DP11_CONSUMER_TEXTURES)
        InterlockedExchange64(&g->uploaded[texture], (LONG64)value);
    InterlockedExchange64(&p->local, (LONG64)value);
    SetEvent(p->event);
    return true;
}

static const dp_backend dp11_backend = {DP_BACKEND_D3D(dp11, DP_KIND_D3D11, "D3D11"), .arm_wait = dp11_arm_wait};
