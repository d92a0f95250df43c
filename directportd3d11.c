/*
 * directportd3d11.c - the D3D11 core: the DirectPort reference API's dp11_* calls,
 * the frame protocol and the other additions.
 *
 * GPU transport (needs ID3D11Device5): the slot textures and the fence are NT-shared
 * objects carrying the port's names. D3D11 can create such objects but cannot open a
 * fence by name, and ports made by the D3D12 core carry D3D12 names, so a small
 * internal D3D12 device turns names into NT handles that D3D11 then opens.
 *
 * Host transport (Wine, drivers without NT sharing or without ID3D11Device5): the
 * textures are local and the fence is emulated per handle by a 64-bit value and an
 * event. directporthost.c's worker thread calls the backend at the end of this file,
 * which copies on the immediate context; the device's multithread protection is
 * turned on for that, because the caller's threads use the same context.
 *
 * Which textures a handle has:
 *   GPU, either side   the port's slot textures, opened per generation;
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
#define DP11_MAX_PENDING 8u

typedef struct {
    dp_port base;                   /* first: the shared code sees every handle as a dp_port */
    ID3D11Texture2D *texture[DPB_MAX_SLOTS];
    uint32_t textures;
    ID3D11Fence *fence;             /* GPU transport: the port's fence of this generation */
    uint64_t fence_signalled;       /* GPU producer: highest value queued on fence */
    HANDLE texture_nt[DPB_MAX_SLOTS]; /* GPU producer: the NT handles that hold the names */
    HANDLE fence_nt;
    /* Auto-reset. GPU transport: SetEventOnCompletion target of cpu waits. Host
     * producer: wakes the worker after a signal or an end_frame. Host consumer: set
     * after each upload. */
    HANDLE event;
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
    bool frames;                    /* producer: the frame protocol is in use; signals no longer copy */
    volatile LONG64 local;          /* producer: last signalled value; consumer: value in texture */
    volatile LONG64 uploaded[DP11_CONSUMER_TEXTURES]; /* host consumer: frame last uploaded per texture */
    volatile LONG failed;           /* consumer: the worker could not upload a frame */
    /* Consumer frame protocol. */
    uint32_t held_texture;
    uint32_t next_texture;
    /* GPU consumer: the caller signals release_fence on the immediate context when it is
     * done with a frame; claims are dropped once the GPU passed that value, by a
     * thread-pool wait on release_event. */
    ID3D11Fence *release_fence;
    uint64_t release_value;
    SRWLOCK release_lock;
    struct {
        uint32_t slot;
        uint64_t value;
    } releases[DP11_MAX_PENDING];
    uint32_t release_count;
    HANDLE release_event;
    HANDLE release_wait;
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

/* Releases the objects of the current generation: textures, staging textures, the GPU
 * transport's fence and the host worker. What outlives a generation (events, the
 * release fence, the emulated fence values) stays. */
static void dp11_unbuild(dp11_port *p)
{
    unsigned i;
    /* The worker maps the staging textures and uses the context: stop it before they go. */
    dp_host_destroy(p->base.host);
    p->base.host = NULL;
    for (i = 0; i < DPB_MAX_SLOTS; i++) {
        DP_RELEASE(p->staging[i]);
        DP_RELEASE(p->texture[i]);
        dp_close_handle(&p->texture_nt[i]);
    }
    for (i = 0; i < DP_ARRAY_SIZE(p->legacy_staging); i++)
        DP_RELEASE(p->legacy_staging[i]);
    p->textures = 0;
    p->latest = p->reading = -1;
    DP_RELEASE(p->fence);
    dp_close_handle(&p->fence_nt);
    p->fence_signalled = 0;
}

/* Accepts a half-built port: every failed create ends here too. */
static void dp11_port_destroy(dp11_port *p)
{
    /* The thread-pool wait touches the block: gone before the block is. */
    if (p->release_wait)
        UnregisterWaitEx(p->release_wait, INVALID_HANDLE_VALUE);
    p->release_wait = NULL;
    dp11_unbuild(p);
    DP_RELEASE(p->release_fence);
    dp_close_handle(&p->release_event);
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
    p->base.before_change = dp_port_stop_host;
    p->base.reader = -1;
    p->base.held = DP_NO_SLOT;
    p->base.begun = DP_NO_SLOT;
    InitializeSRWLock(&p->lock);
    InitializeSRWLock(&p->release_lock);
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

/* ---- Device objects --------------------------------------------------------------------- */

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

/* A texture callers render to or sample from; NT-shareable on the GPU transport. */
static DP_RESULT dp11_create_main_texture(dp11_port *p, bool shared, ID3D11Texture2D **out)
{
    return dp11_create_texture(p, D3D11_USAGE_DEFAULT, D3D11_BIND_SHADER_RESOURCE | D3D11_BIND_RENDER_TARGET, 0,
                               shared ? D3D11_RESOURCE_MISC_SHARED | D3D11_RESOURCE_MISC_SHARED_NTHANDLE : 0, out,
                               shared ? "CreateTexture2D(shared texture)" : "CreateTexture2D(texture)");
}

static DP_RESULT dp11_create_staging(dp11_port *p, UINT cpu, ID3D11Texture2D **out)
{
    return dp11_create_texture(p, D3D11_USAGE_STAGING, 0, cpu, 0, out, "CreateTexture2D(staging)");
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

/* Producer: makes slot's shared texture under its name in p's generation. */
static DP_RESULT dp11_create_gpu_texture(dp11_port *p, const dp_security *sec, uint32_t slot)
{
    wchar_t name[DPN_LEN];
    IDXGIResource1 *res = NULL;
    HANDLE nt = NULL;
    HRESULT hr;
    DP_RESULT r = dp11_create_main_texture(p, true, &p->texture[slot]);
    if (r != DP_OK)
        return r;
    dpn_texture_name(name, DPN_LEN, &p->base.names, p->base.generation, slot);
    hr = ID3D11Texture2D_QueryInterface(p->texture[slot], &IID_IDXGIResource1, (void **)&res);
    if (FAILED(hr))
        return dp_fail_hr(DP_ERROR_UNSUPPORTED, hr, "QueryInterface(IDXGIResource1)");
    hr = IDXGIResource1_CreateSharedHandle(res, &sec->sa, GENERIC_ALL, name, &nt);
    DP_RELEASE(res);
    if (FAILED(hr))
        return dp11_share_failed(hr, name, "IDXGIResource1::CreateSharedHandle");
    p->texture_nt[slot] = dp_track(nt);
    return DP_OK;
}

/* Producer: makes the generation's shared fence under its name. */
static DP_RESULT dp11_create_gpu_fence(dp11_port *p, const dp_security *sec)
{
    wchar_t name[DPN_LEN];
    HANDLE nt = NULL;
    HRESULT hr = ID3D11Device5_CreateFence(dp11.device5, 0, D3D11_FENCE_FLAG_SHARED, &IID_ID3D11Fence,
                                           (void **)&p->fence);
    if (FAILED(hr))
        return dp_fail_hr(dp_result_from_hr(hr), hr, "ID3D11Device5::CreateFence(shared)");
    dpn_fence_name(name, DPN_LEN, &p->base.names, p->base.generation);
    hr = ID3D11Fence_CreateSharedHandle(p->fence, &sec->sa, GENERIC_ALL, name, &nt);
    if (FAILED(hr))
        return dp11_share_failed(hr, name, "ID3D11Fence::CreateSharedHandle");
    p->fence_nt = dp_track(nt);
    return DP_OK;
}

/* Consumer: opens slot's texture of p's generation; the NT handle is not needed after. */
static DP_RESULT dp11_open_gpu_texture(dp11_port *p, uint32_t slot)
{
    wchar_t name[DPN_LEN];
    HRESULT hr;
    DP_RESULT r;
    dpn_texture_name(name, DPN_LEN, &p->base.names, p->base.generation, slot);
    r = dp11_open_nt(name, &p->texture_nt[slot]);
    if (r != DP_OK)
        return r;
    hr = ID3D11Device1_OpenSharedResource1(dp11.device1, p->texture_nt[slot], &IID_ID3D11Texture2D,
                                           (void **)&p->texture[slot]);
    dp_close_handle(&p->texture_nt[slot]);
    if (FAILED(hr))
        return dp_fail_hr(dp_result_from_hr(hr), hr, "ID3D11Device1::OpenSharedResource1(texture)");
    return DP_OK;
}

/* Consumer: opens the generation's fence. */
static DP_RESULT dp11_open_gpu_fence(dp11_port *p)
{
    wchar_t name[DPN_LEN];
    HRESULT hr;
    DP_RESULT r;
    dpn_fence_name(name, DPN_LEN, &p->base.names, p->base.generation);
    r = dp11_open_nt(name, &p->fence_nt);
    if (r != DP_OK)
        return r;
    hr = ID3D11Device5_OpenSharedFence(dp11.device5, p->fence_nt, &IID_ID3D11Fence, (void **)&p->fence);
    dp_close_handle(&p->fence_nt);
    if (FAILED(hr))
        return dp_fail_hr(dp_result_from_hr(hr), hr, "ID3D11Device5::OpenSharedFence");
    return DP_OK;
}

static VOID CALLBACK dp11_release_done(PVOID ctx, BOOLEAN timed_out);

/* GPU consumer: the fence its releases are signalled on and the thread-pool wait that
 * drops the claims; they outlive generations. */
static DP_RESULT dp11_create_release_tracking(dp11_port *p)
{
    HRESULT hr;
    if (!p->release_fence) {
        hr = ID3D11Device5_CreateFence(dp11.device5, 0, D3D11_FENCE_FLAG_NONE, &IID_ID3D11Fence,
                                       (void **)&p->release_fence);
        if (FAILED(hr))
            return dp_fail_hr(dp_result_from_hr(hr), hr, "ID3D11Device5::CreateFence(release)");
    }
    if (!p->release_event) {
        p->release_event = dp_track(CreateEventW(NULL, FALSE, FALSE, NULL));
        if (!p->release_event)
            return dp_fail_win32(DP_ERROR_OUT_OF_MEMORY, GetLastError(), "CreateEvent(release)");
    }
    if (!p->release_wait && !RegisterWaitForSingleObject(&p->release_wait, p->release_event, dp11_release_done, p,
                                                         INFINITE, WT_EXECUTEDEFAULT)) {
        p->release_wait = NULL;
        return dp_fail_win32(DP_ERROR_OUT_OF_MEMORY, GetLastError(), "RegisterWaitForSingleObject");
    }
    return DP_OK;
}

/* Consumer of a GPU port: can this device open its objects at all? */
static DP_RESULT dp11_check_gpu_consumer(dp11_port *p)
{
    const dpb_block *b = p->base.block;
    if (!dp11_device_can_share())
        return dp_fail(DP_ERROR_UNSUPPORTED, "%ls uses the GPU transport, which this device cannot open: %s",
                       p->base.names.display, dp11.share_missing);
    if (b && (b->adapter_luid_low || b->adapter_luid_high) &&
        (b->adapter_luid_low != dp11.luid.LowPart || b->adapter_luid_high != dp11.luid.HighPart))
        return dp_fail(DP_ERROR_UNSUPPORTED, "%ls lives on adapter %08lx:%08lx and this device on %08lx:%08lx; "
                                             "GPU-transport textures do not cross adapters",
                       p->base.names.display, (unsigned long)b->adapter_luid_high,
                       (unsigned long)b->adapter_luid_low, (unsigned long)dp11.luid.HighPart,
                       (unsigned long)dp11.luid.LowPart);
    return DP_OK;
}

static DP_RESULT dp11_build_gpu(dp11_port *p, const dp_security *sec)
{
    D3D11_TEXTURE2D_DESC desc;
    DP_RESULT r = DP_OK;
    uint32_t i;

    if (!sec) {
        r = dp11_check_gpu_consumer(p);
        if (r == DP_OK)
            r = dp11_create_release_tracking(p);
    }
    p->textures = p->base.slots;
    for (i = 0; i < p->textures && r == DP_OK; i++) {
        if (sec)
            r = dp11_create_gpu_texture(p, sec, i);
        else
            r = dp11_open_gpu_texture(p, i);
        if (r != DP_OK || sec)
            continue;
        /* The names are anyone's to take: check the texture is the one the block describes. */
        ID3D11Texture2D_GetDesc(p->texture[i], &desc);
        if (desc.Width != p->base.width || desc.Height != p->base.height ||
            (uint32_t)desc.Format != p->base.dxgi_format)
            r = dp_fail(DP_ERROR_INCOMPATIBLE, "the texture of slot %u does not match the control block of %ls", i,
                        p->base.names.display);
    }
    if (r == DP_OK)
        r = sec ? dp11_create_gpu_fence(p, sec) : dp11_open_gpu_fence(p);
    return r;
}

static DP_RESULT dp11_build_host(dp11_port *p, const dp_security *sec)
{
    DP_RESULT r = dp11_protect();
    uint32_t i, staging = p->base.producer ? p->base.slots : 1u;
    p->textures = p->base.producer ? p->base.slots : DP11_CONSUMER_TEXTURES;
    for (i = 0; i < p->textures && r == DP_OK; i++)
        r = dp11_create_main_texture(p, false, &p->texture[i]);
    for (i = 0; i < staging && r == DP_OK; i++)
        r = dp11_create_staging(p, p->base.producer ? D3D11_CPU_ACCESS_READ : D3D11_CPU_ACCESS_WRITE,
                                &p->staging[i]);
    for (i = 0; i < DP11_CONSUMER_TEXTURES; i++)
        InterlockedExchange64(&p->uploaded[i], 0);
    InterlockedExchange(&p->failed, 0);
    p->next_texture = 0;
    /* A new worker starts in legacy follow mode: no frame of the old generation's
     * staging textures may look queued to it. */
    p->queued = 0;
    if (r == DP_OK)
        r = dp_host_start(&p->base, sec, &dp11_host_ops, p);
    return r;
}

/* Makes (producer, sec given) or opens (consumer) the objects of p's generation. */
static DP_RESULT dp11_build(dp11_port *p, const dp_security *sec)
{
    return p->base.transport == DP_TRANSPORT_GPU ? dp11_build_gpu(p, sec) : dp11_build_host(p, sec);
}

/* Waits until the GPU and the worker are done with this handle's objects, so they can
 * be released: the producer's last frame, the consumer's last release. */
static void dp11_quiesce(dp11_port *p)
{
    ID3D11Fence *fence = p->base.producer ? p->fence : p->release_fence;
    uint64_t value = p->base.producer ? p->fence_signalled : p->release_value;
    if (p->base.host)
        dp_host_drain(p->base.host);
    if (fence && ID3D11Fence_GetCompletedValue(fence) < value &&
        SUCCEEDED(ID3D11Fence_SetEventOnCompletion(fence, value, p->event)))
        dp_wait_event(&p->base, p->event, 10000);
}

/* ---- Creation ------------------------------------------------------------------------- */

static DP_HANDLE dp11_create(const dp_create_args *a)
{
    dp11_port *p;
    dp_security sec;
    DP_RESULT r;
    bool gpu = a->transport != DP_TRANSPORT_HOST && dp11_device_can_share();

    if (a->flags & DP_PORT_SYSTEM_RAM) {
        dp_fail(DP_ERROR_UNSUPPORTED, "DP_PORT_SYSTEM_RAM: dp11 ports live in GPU memory; map a port "
                                      "through dp12_map_memory");
        return NULL;
    }
    if (a->transport == DP_TRANSPORT_GPU && !gpu) {
        dp_fail(DP_ERROR_UNSUPPORTED, "DP_TRANSPORT_GPU: this device cannot share by NT handle: %s; use "
                                      "DP_TRANSPORT_AUTO or DP_TRANSPORT_HOST", dp11.share_missing);
        return NULL;
    }
    p = dp11_port_new();
    if (!p)
        return NULL;
    dp_port_from_args(&p->base, a);
    p->base.transport = gpu ? DP_TRANSPORT_GPU : DP_TRANSPORT_HOST;
    r = dp_port_security(&p->base, a->sddl, &sec);
    if (r != DP_OK)
        return dp11_finish(p, r);

    /* The control block claims the name first, so a taken name fails before anything
     * of the existing port is touched. */
    r = dp_port_create_block(&p->base, &sec, dp11.luid);
    if (r == DP_OK)
        r = dp11_build(p, &sec);
    if (r == DP_OK)
        dp_port_publish_block(&p->base);
    dp_security_free(&sec);
    return dp11_finish(p, r);
}

DP_HANDLE dp11_create_shared_resource(uint32_t width, uint32_t height, DP_FORMAT format, const wchar_t *tex_name,
                                      const wchar_t *fence_name)
{
    dp_create_args a;
    if (!dp11_ready("dp11_create_shared_resource") ||
        dp_args_legacy(width, height, format, 0, tex_name, fence_name, &a, "dp11_create_shared_resource") != DP_OK)
        return NULL;
    return dp11_create(&a);
}

DP_HANDLE dp11_create_port(const DP_PORT_DESC *desc)
{
    dp_create_args a;
    if (!dp11_ready("dp11_create_port") || dp_args_from_desc(desc, &a, "dp11_create_port") != DP_OK)
        return NULL;
    return dp11_create(&a);
}

/* ---- Opening -------------------------------------------------------------------------- */

/* A GPU port made by another DirectPort build: the two NT names and nothing else. */
static DP_RESULT dp11_open_external(dp11_port *p)
{
    D3D11_TEXTURE2D_DESC desc;
    uint32_t f, dxgi = 0;
    DP_RESULT r;
    HRESULT hr;
    p->base.slots = 1;
    if (dp11_open_nt(p->base.names.tex, &p->texture_nt[0]) != DP_OK)
        return dp_fail(DP_ERROR_NOT_FOUND, "no port named %ls", p->base.names.display);
    hr = ID3D11Device1_OpenSharedResource1(dp11.device1, p->texture_nt[0], &IID_ID3D11Texture2D,
                                           (void **)&p->texture[0]);
    dp_close_handle(&p->texture_nt[0]);
    if (FAILED(hr))
        return dp_fail_hr(dp_result_from_hr(hr), hr, "ID3D11Device1::OpenSharedResource1(texture)");
    p->textures = 1;
    r = dp11_open_gpu_fence(p);
    if (r != DP_OK)
        return r;
    ID3D11Texture2D_GetDesc(p->texture[0], &desc);
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
    p->base.row_pitch = dpb_row_pitch(p->base.width, p->base.bytes_per_pixel);
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
        if (names->tex[0] && dp11_device_can_share())
            r = dp11_open_external(p);
        return dp11_finish(p, r);
    }
    if (r == DP_OK)
        r = dp11_build(p, NULL);
    return dp11_finish(p, r);
}

DP_HANDLE dp11_open_shared_resource(const wchar_t *tex_name, const wchar_t *fence_name)
{
    if (!dp11_ready("dp11_open_shared_resource"))
        return NULL;
    return dp_open_named(tex_name, fence_name ? fence_name : L"", dp11_open, "dp11_open_shared_resource");
}

DP_HANDLE dp11_open_port(const wchar_t *name)
{
    if (!dp11_ready("dp11_open_port"))
        return NULL;
    return dp_open_named(name, NULL, dp11_open, "dp11_open_port");
}

/* ---- Fences ---------------------------------------------------------------------------- */

/* Host producer: snapshots texture 0 into a legacy staging texture the worker is not
 * reading, then hands it over. The caller never waits on the worker. Once the frame
 * protocol is in use the worker no longer follows signals: the value is only kept. */
static void dp11_host_signal(dp11_port *p, uint64_t value)
{
    unsigned i;
    int idx;
    if (p->frames) {
        InterlockedExchange64(&p->local, (LONG64)value);
        return;
    }
    for (i = 0; i < DP_ARRAY_SIZE(p->legacy_staging); i++)
        if (!p->legacy_staging[i] && dp11_create_staging(p, D3D11_CPU_ACCESS_READ, &p->legacy_staging[i]) != DP_OK)
            return;
    AcquireSRWLockExclusive(&p->lock);
    idx = p->reading >= 0 ? 1 - p->reading : p->latest >= 0 ? 1 - p->latest : 0;
    /* Overwriting the unclaimed latest frame: withdraw it until the copy is queued. */
    if (idx == p->latest)
        p->latest = -1;
    ReleaseSRWLockExclusive(&p->lock);
    ID3D11DeviceContext_CopyResource(dp11.context, (ID3D11Resource *)p->legacy_staging[idx],
                                     (ID3D11Resource *)p->texture[0]);
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
    if (value > p->fence_signalled)
        p->fence_signalled = value;
    /* The value is the frame: publish it for acquire and discovery, as dp12 does. */
    if (p->base.producer && p->base.block)
        dp_ring_publish(&p->base, 0, value);
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
    dp_error_state saved;
    HRESULT hr;
    DP_RESULT r;

    if (p->base.host && p->base.producer)
        return value ? dp_port_wait_published(&p->base, value - 1, NULL, timeout_ms) : DP_OK;
    dp_error_save(&saved);
    for (;;) {
        uint32_t remaining = UINT32_MAX;
        if (dp11_completed(p) >= value) {
            /* A disconnect seen on the way, with the value arriving anyway, is no error. */
            dp_error_restore(&saved);
            return DP_OK;
        }
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
            if (dp11_completed(p) >= value) {
                dp_error_restore(&saved);
                return DP_OK;
            }
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
    return p ? p->texture[0] : NULL;
}

/* ---- Frame protocol ------------------------------------------------------------------------ */

static dp11_port *dp11_get_side(DP_HANDLE h, bool producer, const char *fn)
{
    dp11_port *p = dp11_get(h, fn);
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

DP_RESULT dp11_begin_frame(DP_HANDLE h, ID3D11Texture2D **out_target)
{
    dp11_port *p = dp11_get_side(h, true, "dp11_begin_frame");
    uint32_t slot;
    DP_RESULT r;
    if (!p)
        return dp_last_error();
    if (!out_target)
        return dp_fail(DP_ERROR_INVALID_ARGUMENT, "dp11_begin_frame: out_target is NULL");
    if (p->base.begun == DP_NO_SLOT) {
        /* A host slot whose readback is still queued has its staging texture in use. */
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

DP_RESULT dp11_end_frame(DP_HANDLE h, uint64_t *out_frame)
{
    dp11_port *p = dp11_get_side(h, true, "dp11_end_frame");
    uint32_t slot;
    uint64_t frame, seen;
    HRESULT hr;
    if (!p)
        return dp_last_error();
    if (p->base.begun == DP_NO_SLOT)
        return dp_fail(DP_ERROR_INVALID_ARGUMENT, "dp11_end_frame: no frame begun on %ls", p->base.names.display);
    slot = p->base.begun;
    /* Frame values go on from whatever the fence or the port has seen, legacy signals
     * and earlier producers included, so they only ever grow. */
    frame = p->base.last_frame;
    seen = p->base.host ? (uint64_t)InterlockedCompareExchange64(&p->local, 0, 0)
                        : ID3D11Fence_GetCompletedValue(p->fence);
    if (seen > frame)
        frame = seen;
    if (dp_port_published(&p->base) > frame)
        frame = dp_port_published(&p->base);
    frame++;
    if (!p->base.host) {
        hr = ID3D11DeviceContext4_Signal(dp11.context4, p->fence, frame);
        if (FAILED(hr))
            return dp_fail_hr(DP_ERROR_DEVICE, hr, "dp11_end_frame: ID3D11DeviceContext4::Signal");
        /* Consumers wait for the value GPU-side: it must not sit in the command buffer. */
        ID3D11DeviceContext_Flush(dp11.context);
        p->fence_signalled = frame;
        p->base.last_frame = frame;
        dp_ring_publish(&p->base, slot, frame);
    } else {
        /* The copy is queued on the caller's immediate context after the frame's
         * rendering; the worker's Map of the staging texture is ordered after it. */
        ID3D11DeviceContext_CopyResource(dp11.context, (ID3D11Resource *)p->staging[slot],
                                         (ID3D11Resource *)p->texture[slot]);
        ID3D11DeviceContext_Flush(dp11.context);
        p->frames = true;
        p->base.last_frame = frame;
        dp_host_readback(p->base.host, slot, slot, frame);
        /* The emulated local fence reaches the frame only now that the job is queued
         * (the worker is out of legacy follow mode by then). */
        AcquireSRWLockExclusive(&p->lock);
        p->queued = frame;
        ReleaseSRWLockExclusive(&p->lock);
        InterlockedExchange64(&p->local, (LONG64)frame);
        SetEvent(p->event);
    }
    p->base.begun = DP_NO_SLOT;
    if (out_frame)
        *out_frame = frame;
    return DP_OK;
}

/* Consumer: the port moved to a new generation (resize, new producer); rebuild this
 * handle's objects for it once the GPU is done with the old ones. */
static DP_RESULT dp11_follow_generation(dp11_port *p)
{
    uint32_t i;
    dp11_quiesce(p);
    /* The GPU passed every release by now: drop the claims still waiting for the
     * thread pool, which the old generation's slots no longer need. */
    AcquireSRWLockExclusive(&p->release_lock);
    for (i = 0; i < p->release_count; i++)
        dp_ring_unclaim(&p->base, p->base.reader, p->releases[i].slot);
    p->release_count = 0;
    ReleaseSRWLockExclusive(&p->release_lock);
    dp11_unbuild(p);
    return dp11_build(p, NULL);
}

/* Host consumer: blocks until the worker has queued the upload of frame into texture
 * k on the immediate context. */
static DP_RESULT dp11_wait_upload(dp11_port *p, uint32_t k, uint64_t frame)
{
    for (;;) {
        DP_RESULT r;
        if ((uint64_t)InterlockedCompareExchange64(&p->uploaded[k], 0, 0) == frame)
            return DP_OK;
        if (InterlockedCompareExchange(&p->failed, 0, 0))
            return dp_fail(DP_ERROR_DEVICE, "dp11_acquire_frame: the host worker of %ls failed to upload a frame",
                           p->base.names.display);
        /* Wakes are re-checked at the top: the event is auto-reset and may be stale. */
        r = dp_wait_event(&p->base, p->event, UINT32_MAX);
        if (r != DP_OK)
            return (uint64_t)InterlockedCompareExchange64(&p->uploaded[k], 0, 0) == frame ? DP_OK : r;
    }
}

DP_RESULT dp11_acquire_frame(DP_HANDLE h, uint32_t timeout_ms, ID3D11Texture2D **out_source, uint64_t *out_frame)
{
    dp11_port *p = dp11_get_side(h, false, "dp11_acquire_frame");
    uint32_t slot = 0;
    uint64_t frame = 0;
    bool changed = false;
    DP_RESULT r;
    HRESULT hr;
    if (!p)
        return dp_last_error();
    if (!out_source)
        return dp_fail(DP_ERROR_INVALID_ARGUMENT, "dp11_acquire_frame: out_source is NULL");
    *out_source = NULL;
    if (p->base.held != DP_NO_SLOT)
        return dp_fail(DP_ERROR_INVALID_ARGUMENT, "dp11_acquire_frame: release the frame this handle holds first");
    if (p->base.host)
        dp_host_enter_frame_mode(p->base.host);
    r = dp_ring_acquire(&p->base, timeout_ms, &changed, &slot, &frame);
    if (changed) {
        DP_RESULT rebuilt = dp11_follow_generation(p);
        if (rebuilt != DP_OK) {
            if (r == DP_OK)
                dp_ring_unclaim(&p->base, p->base.reader, slot);
            return rebuilt;
        }
    }
    if (r != DP_OK)
        return r;
    p->base.last_frame = frame;
    if (p->base.host) {
        uint32_t k = p->next_texture;
        p->next_texture = (k + 1) % DP11_CONSUMER_TEXTURES;
        /* The worker drops the claim once the pixels are out of the section. */
        dp_host_upload(p->base.host, slot, k, frame);
        r = dp11_wait_upload(p, k, frame);
        if (r != DP_OK)
            return r;
        p->held_texture = k;
    } else {
        /* GPU-side: the immediate context waits, the caller's thread does not. */
        hr = ID3D11DeviceContext4_Wait(dp11.context4, p->fence, frame);
        if (FAILED(hr)) {
            dp_ring_unclaim(&p->base, p->base.reader, slot);
            return dp_fail_hr(DP_ERROR_DEVICE, hr, "dp11_acquire_frame: ID3D11DeviceContext4::Wait");
        }
        p->held_texture = slot;
    }
    p->base.held = slot;
    *out_source = p->texture[p->held_texture];
    if (out_frame)
        *out_frame = frame;
    return DP_OK;
}

/* Thread pool: the caller's GPU passed some release values; drop those claims. */
static VOID CALLBACK dp11_release_done(PVOID ctx, BOOLEAN timed_out)
{
    dp11_port *p = ctx;
    uint64_t done = ID3D11Fence_GetCompletedValue(p->release_fence);
    uint32_t i = 0;
    (void)timed_out;
    AcquireSRWLockExclusive(&p->release_lock);
    while (i < p->release_count) {
        if (p->releases[i].value <= done) {
            dp_ring_unclaim(&p->base, p->base.reader, p->releases[i].slot);
            p->releases[i] = p->releases[--p->release_count];
        } else {
            i++;
        }
    }
    ReleaseSRWLockExclusive(&p->release_lock);
}

void dp11_release_frame(DP_HANDLE h)
{
    dp11_port *p = dp11_get_side(h, false, "dp11_release_frame");
    bool queued = false;
    HRESULT hr;
    if (!p)
        return;
    if (p->base.held == DP_NO_SLOT) {
        dp_fail(DP_ERROR_INVALID_ARGUMENT, "dp11_release_frame: this handle holds no frame");
        return;
    }
    if (p->base.host) {
        /* The section slot was given back after the upload, and the next upload into
         * this texture is queued on the same immediate context as the caller's reads. */
        p->base.held = DP_NO_SLOT;
        return;
    }
    hr = ID3D11DeviceContext4_Signal(dp11.context4, p->release_fence, ++p->release_value);
    if (FAILED(hr)) {
        /* The GPU state is unknown: keep the claim rather than let the slot be rewritten. */
        dp_fail_hr(DP_ERROR_DEVICE, hr, "dp11_release_frame: ID3D11DeviceContext4::Signal");
        p->base.held = DP_NO_SLOT;
        return;
    }
    /* The claim ends only when the GPU gets there: do not let the signal sit. */
    ID3D11DeviceContext_Flush(dp11.context);
    AcquireSRWLockExclusive(&p->release_lock);
    if (p->release_count < DP11_MAX_PENDING) {
        p->releases[p->release_count].slot = p->base.held;
        p->releases[p->release_count].value = p->release_value;
        p->release_count++;
        queued = true;
    }
    ReleaseSRWLockExclusive(&p->release_lock);
    if (!queued ||
        FAILED(ID3D11Fence_SetEventOnCompletion(p->release_fence, p->release_value, p->release_event)))
        dp_fail(DP_ERROR_DEVICE, "dp11_release_frame: cannot track the release; the claim stays");
    p->base.held = DP_NO_SLOT;
}

/* ---- Resize ------------------------------------------------------------------------------ */

static void dp11_resize_release(dp_port *base)
{
    dp11_port *p = (dp11_port *)base;
    dp11_quiesce(p);
    dp11_unbuild(p);
}

static DP_RESULT dp11_resize_build(dp_port *base, const dp_security *sec)
{
    return dp11_build((dp11_port *)base, sec);
}

DP_RESULT dp11_resize_port(DP_HANDLE h, uint32_t width, uint32_t height)
{
    static const dp_resize_ops ops = {dp11_resize_release, dp11_resize_build};
    dp11_port *p = dp11_get_side(h, true, "dp11_resize_port");
    if (!p)
        return dp_last_error();
    return dp_port_resize(&p->base, width, height, &ops, "dp11_resize_port");
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

/* The emulated local fence. Frame protocol: end_frame moves `queued` once the frame's
 * copy into its staging texture is queued. Legacy: a signal hands over a snapshot
 * (latest/pending), which this claims for the readback that follows. */
static uint64_t dp11_host_wait_local(void *ctx, uint64_t after, HANDLE stop)
{
    dp11_port *p = ctx;
    HANDLE handles[2] = {p->event, stop};
    for (;;) {
        uint64_t v = 0;
        AcquireSRWLockExclusive(&p->lock);
        /* A claim readback never used (the section was written by the CPU) ends here. */
        p->reading = -1;
        if (p->queued > after) {
            v = p->queued;
        } else if (p->latest >= 0 && p->pending > after) {
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

/* Producer: a legacy readback reads the snapshot wait_local claimed; a frame job reads
 * the staging texture of its slot. */
static bool dp11_host_readback(void *ctx, uint32_t texture, void *dst)
{
    dp11_port *p = ctx;
    D3D11_MAPPED_SUBRESOURCE m;
    int idx = p->reading; /* only this thread writes it */
    ID3D11Texture2D *src = idx >= 0 ? p->legacy_staging[idx] : texture < p->textures ? p->staging[texture] : NULL;
    bool ok = src && dp11_host_map(src, D3D11_MAP_READ, &m);
    if (ok) {
        dp11_copy_rows(dst, p->base.row_pitch, m.pData, m.RowPitch,
                       (size_t)p->base.width * p->base.bytes_per_pixel, p->base.height);
        ID3D11DeviceContext_Unmap(dp11.context, (ID3D11Resource *)src, 0);
    }
    if (idx >= 0) {
        AcquireSRWLockExclusive(&p->lock);
        p->reading = -1;
        ReleaseSRWLockExclusive(&p->lock);
    }
    return ok;
}

/* Consumer: section -> staging -> local texture, queued on the immediate context. */
static bool dp11_host_upload(void *ctx, uint32_t texture, const void *src, uint64_t value)
{
    dp11_port *p = ctx;
    D3D11_MAPPED_SUBRESOURCE m;
    if (texture >= p->textures || !dp11_host_map(p->staging[0], D3D11_MAP_WRITE, &m)) {
        /* Waiters must not sleep forever. */
        InterlockedExchange(&p->failed, 1);
        SetEvent(p->event);
        return false;
    }
    dp11_copy_rows(m.pData, m.RowPitch, src, p->base.row_pitch, (size_t)p->base.width * p->base.bytes_per_pixel,
                   p->base.height);
    ID3D11DeviceContext_Unmap(dp11.context, (ID3D11Resource *)p->staging[0], 0);
    ID3D11DeviceContext_CopyResource(dp11.context, (ID3D11Resource *)p->texture[texture],
                                     (ID3D11Resource *)p->staging[0]);
    ID3D11DeviceContext_Flush(dp11.context);
    if (texture < DP11_CONSUMER_TEXTURES)
        InterlockedExchange64(&p->uploaded[texture], (LONG64)value);
    InterlockedExchange64(&p->local, (LONG64)value);
    SetEvent(p->event);
    return true;
}

static const dp_host_ops dp11_host_ops = {dp11_host_wait_local, dp11_host_readback, dp11_host_upload};
