/*
 * dphook.c - dphook.dll: loaded into a GL application by dpcapture.exe, it publishes
 * every frame the application presents into a DirectPort port (docs/capture.md).
 *
 * At load (DllMain, as dpcapture's LoadLibraryW runs in the target):
 *   - it attaches only when dpcapture asked: the control block Local\DirectPort.capture.PID
 *     (capture.h) must exist; its port name is validated like any untrusted input;
 *   - it starts one thread of its own, the watcher. In a running program the watcher
 *     detours gdi32!SwapBuffers, opengl32!wglSwapBuffers, opengl32!wglSwapLayerBuffers
 *     and opengl32!wglDeleteContext (detour.h), outside the loader lock, answers in the
 *     block, loads directport.dll (from dphook.dll's directory) and waits for the stop
 *     event. In a program dpcapture --launch started, the detours go in in DllMain itself,
 *     before the program's entry point, and directport.dll is loaded at the first swap.
 *     opengl32.dll not loaded yet: its detours go in when it loads
 *     (LdrRegisterDllNotification).
 *
 * In a swap, before the original runs, on the application's thread, with its context
 * current: the window's back buffer is published with dpgl_publish_framebuffer (the
 * window's client size; a new size resizes the port). The port is made at the first
 * swap, in that context; a swap in another context or window than the port's makes the
 * port again there (same name: consumers follow); wglDeleteContext of the port's
 * context closes the port first. A busy port drops the frame (never waits); nested
 * swaps (SwapBuffers calling wglSwapBuffers) publish once; a swap while another thread
 * is in the hook, of another window while the port's is alive, or of a DC whose context
 * is not current is not captured (skipped). GetLastError is kept across the hook; the
 * GL adapter restores every GL state it touches.
 *
 * Detach (the stop event from dpcapture --stop, or the port closed: a failed create or
 * publish): the next swap closes the port in its own context (waited for up to 500 ms);
 * then the detours come out, the watcher waits until no thread is inside a hook, closes
 * the port if no swap did, unloads directport.dll, writes the figures, and unloads
 * dphook.dll with FreeLibraryAndExitThread. The application goes on.
 */
#include <windows.h>
#include <winternl.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/gl/dpgl.h"
#include "capture.h"
#include "detour.h"

/* directport.dll's calls, loaded at run time: dphook.dll imports only system DLLs. */
typedef DPGL_PORT *(*fn_dpgl_create)(const DP_PORT_DESC *);
typedef DP_RESULT (*fn_dpgl_publish_framebuffer)(DPGL_PORT *, unsigned, int, int, int, int);
typedef void (*fn_dpgl_close)(DPGL_PORT *);
typedef DPGL_MODE (*fn_dpgl_mode)(const DPGL_PORT *);
typedef DP_RESULT (*fn_dp_last_error)(void);
typedef const char *(*fn_dp_last_error_message)(void);
typedef const char *(*fn_dp_result_string)(DP_RESULT);

typedef BOOL(WINAPI *fn_swap)(HDC);
typedef BOOL(WINAPI *fn_swap_layer)(HDC, UINT);
typedef BOOL(WINAPI *fn_delete_context)(HGLRC);
typedef HGLRC(WINAPI *fn_get_context)(void);
typedef HDC(WINAPI *fn_get_dc)(void);

/* LdrRegisterDllNotification (ntdll; documented on Microsoft Learn, not in the SDK's
 * headers). */
typedef struct {
    ULONG Flags;
    const UNICODE_STRING *FullDllName;
    const UNICODE_STRING *BaseDllName;
    PVOID DllBase;
    ULONG SizeOfImage;
} dph_dll_loaded;
typedef VOID(CALLBACK *dph_dll_notify_fn)(ULONG reason, const dph_dll_loaded *data, PVOID context);
typedef LONG(NTAPI *fn_register_notify)(ULONG, dph_dll_notify_fn, PVOID, PVOID *);
typedef LONG(NTAPI *fn_unregister_notify)(PVOID);
#define DPH_DLL_LOADED 1

enum { H_SWAP, H_WGLSWAP, H_LAYER, H_DELETE, H_COUNT };
#define DPH_COSTS 8192
#define DPH_STOP_WAIT_MS 500
#define DPH_DRAIN_MS 2000

static struct {
    HMODULE self, dp;
    DWORD pid, tls;
    wchar_t name[DP_MAX_NAME + 1];
    wchar_t dp_path[MAX_PATH];

    /* the attachment */
    HANDLE section, ready, stop, done, attached, port_closed, watcher, detach_now;
    dpcap_block *block;

    /* hooks */
    SRWLOCK install_lock;
    dp_detour detour[H_COUNT];
    /* the originals (trampolines), set before their detour goes in */
    void *volatile real[H_COUNT];
    fn_get_context get_context;
    fn_get_dc get_dc;
    PVOID notify_cookie;
    volatile LONG inflight, stopping;
    volatile LONG live; /* attached: the hooks publish (0 before, after a failure, while detaching) */

    /* directport.dll */
    INIT_ONCE dp_once;
    bool dp_ok;
    fn_dpgl_create create;
    fn_dpgl_publish_framebuffer publish;
    fn_dpgl_close close;
    fn_dpgl_mode mode;
    fn_dp_last_error last_result;
    fn_dp_last_error_message last_error;
    fn_dp_result_string result_string;

    /* the port: under lock, used by one swapping thread at a time */
    SRWLOCK lock;
    DPGL_PORT *port;
    HGLRC port_ctx;
    HWND hwnd;
    LARGE_INTEGER freq;
    float cost_ms[DPH_COSTS];
    uint64_t ncost;
} g;

static void dph_message(const wchar_t *fmt, ...)
{
    if (!g.block)
        return;
    va_list ap;
    va_start(ap, fmt);
    _vsnwprintf(g.block->message, DPCAP_MESSAGE - 1, fmt, ap);
    va_end(ap);
    g.block->message[DPCAP_MESSAGE - 1] = 0;
}

static void dph_set_state(dpcap_state s)
{
    if (g.block)
        InterlockedExchange((volatile LONG *)&g.block->state, (LONG)s);
}

static HANDLE dph_object(const wchar_t *suffix, bool event, bool create)
{
    wchar_t name[128];
    _snwprintf(name, 127, L"%ls%lu%ls", DPCAP_PREFIX, (unsigned long)g.pid, suffix);
    name[127] = 0;
    if (!event)
        return CreateMutexW(NULL, FALSE, name); /* its existence is what "attached" means */
    return create ? CreateEventW(NULL, TRUE, FALSE, name) : OpenEventW(EVENT_MODIFY_STATE, FALSE, name);
}

/* ---- directport.dll ------------------------------------------------------------------- */

static FARPROC dph_dp_proc(const char *name)
{
    FARPROC f = GetProcAddress(g.dp, name);
    if (!f)
        g.dp_ok = false;
    return f;
}

/* Function pointers of other types: copied, not cast. */
#define DPH_LOAD(field, symbol)                                                                                        \
    do {                                                                                                               \
        FARPROC f_ = dph_dp_proc(symbol);                                                                              \
        memcpy(&g.field, &f_, sizeof f_);                                                                              \
    } while (0)

static BOOL CALLBACK dph_load_dp(PINIT_ONCE once, PVOID param, PVOID *context)
{
    (void)once, (void)param, (void)context;
    g.dp = LoadLibraryExW(g.dp_path, NULL, LOAD_WITH_ALTERED_SEARCH_PATH);
    if (!g.dp) {
        dph_message(L"cannot load %ls (error %lu)", g.dp_path, GetLastError());
        return TRUE;
    }
    g.dp_ok = true;
    DPH_LOAD(create, "dpgl_create");
    DPH_LOAD(publish, "dpgl_publish_framebuffer");
    DPH_LOAD(close, "dpgl_close");
    DPH_LOAD(mode, "dpgl_mode");
    DPH_LOAD(last_result, "dp_last_error");
    DPH_LOAD(last_error, "dp_last_error_message");
    DPH_LOAD(result_string, "dp_result_string");
    if (!g.dp_ok)
        dph_message(L"%ls lacks the GL adapter's exports", g.dp_path);
    return TRUE;
}

static bool dph_dp_ready(void)
{
    InitOnceExecuteOnce(&g.dp_once, dph_load_dp, NULL, NULL);
    return g.dp_ok;
}

/* ---- the port ------------------------------------------------------------------------- */

/* The block's counters: several threads may swap. */
static void dph_count(volatile uint64_t *counter)
{
    InterlockedIncrement64((volatile LONG64 *)(void *)counter);
}


static void dph_close_port(void)
{
    if (g.port)
        g.close(g.port);
    g.port = NULL;
    g.port_ctx = NULL; /* block->mode stays: the last port's, for the report */
}

/* The port closed on its own (failed create or publish): detach. */
static void dph_port_failed(const char *what, DP_RESULT r)
{
    dph_count(&g.block->errors);
    dph_message(L"%hs failed (%hs: %hs); detached", what, g.result_string(r), g.last_error());
    dph_close_port();
    SetEvent(g.detach_now);
}

static void dph_cost(LARGE_INTEGER t0)
{
    LARGE_INTEGER t1;
    QueryPerformanceCounter(&t1);
    g.cost_ms[g.ncost++ % DPH_COSTS] = (float)((double)(t1.QuadPart - t0.QuadPart) * 1000.0 / (double)g.freq.QuadPart);
}

/* A swap of dc, on the thread that swaps, before the original. */
static void dph_on_swap(HDC dc)
{
    LARGE_INTEGER t0;
    QueryPerformanceCounter(&t0);
    dph_count(&g.block->swaps);
    if (!TryAcquireSRWLockExclusive(&g.lock)) {
        dph_count(&g.block->skipped); /* another thread is in the hook: never wait for it */
        return;
    }
    if (g.stopping) {
        dph_count(&g.block->skipped);
        /* Detaching: the port goes in its own context, if this is it. */
        if (g.port && g.get_context && g.get_context() == g.port_ctx) {
            dph_close_port();
            SetEvent(g.port_closed);
        }
        ReleaseSRWLockExclusive(&g.lock);
        return;
    }
    HGLRC ctx = g.get_context ? g.get_context() : NULL;
    /* The swapped window must be the one the current context draws to (its DC may be
     * another handle of the same window). */
    HDC cur = ctx ? g.get_dc() : NULL;
    HWND wnd = cur ? WindowFromDC(dc) : NULL;
    if (wnd && WindowFromDC(cur) != wnd)
        wnd = NULL;
    RECT r = {0, 0, 0, 0};
    if (!wnd || !GetClientRect(wnd, &r) || r.right - r.left < 1 || r.bottom - r.top < 1 ||
        (g.port && wnd != g.hwnd && IsWindow(g.hwnd)) || !dph_dp_ready()) {
        /* no context current on this DC, not a window, minimized, another window, or no
         * directport.dll: nothing to read */
        dph_count(&g.block->skipped);
        ReleaseSRWLockExclusive(&g.lock);
        return;
    }
    int w = r.right - r.left, h = r.bottom - r.top;
    if (g.port && (ctx != g.port_ctx || wnd != g.hwnd))
        dph_close_port(); /* made again below, in this context */
    if (!g.port) {
        DP_PORT_DESC desc;
        memset(&desc, 0, sizeof desc);
        desc.name = g.name;
        desc.width = (uint32_t)w;
        desc.height = (uint32_t)h;
        desc.format = DP_FORMAT_VIDEO;
        g.port = g.create(&desc);
        if (!g.port) {
            dph_port_failed("dpgl_create", g.last_result());
            ReleaseSRWLockExclusive(&g.lock);
            return;
        }
        g.port_ctx = ctx;
        g.hwnd = wnd;
        g.block->mode = (uint32_t)g.mode(g.port);
    }
    DP_RESULT res = g.publish(g.port, 0, 0, 0, w, h);
    if (res == DP_OK) {
        dph_count(&g.block->published);
        g.block->width = (uint32_t)w;
        g.block->height = (uint32_t)h;
    } else if (res == DP_ERROR_BUSY) {
        dph_count(&g.block->dropped);
    } else {
        dph_port_failed("dpgl_publish_framebuffer", res);
    }
    dph_cost(t0);
    ReleaseSRWLockExclusive(&g.lock);
}

/* ---- the hooks ------------------------------------------------------------------------ */

/* Runs before the original of every hooked swap: the outermost one on a thread
 * publishes, GetLastError as the application left it. */
static bool dph_enter(void)
{
    InterlockedIncrement(&g.inflight);
    DWORD err = GetLastError();
    bool outer = TlsGetValue(g.tls) == NULL;
    if (outer)
        TlsSetValue(g.tls, (LPVOID)1);
    SetLastError(err);
    return outer;
}

static void dph_leave(bool outer)
{
    DWORD err = GetLastError();
    if (outer)
        TlsSetValue(g.tls, NULL);
    SetLastError(err);
    InterlockedDecrement(&g.inflight);
}

static void dph_swap_of(HDC dc)
{
    DWORD err = GetLastError();
    if (g.live && g.block)
        dph_on_swap(dc);
    SetLastError(err);
}

/* SwapBuffers and wglSwapBuffers: publish (the outermost hook on the thread), then the
 * original of detour `which`. */
static BOOL dph_swap_through(int which, HDC dc)
{
    bool outer = dph_enter();
    if (outer)
        dph_swap_of(dc);
    fn_swap real;
    void *at = g.real[which];
    memcpy(&real, &at, sizeof real);
    BOOL r = real(dc);
    dph_leave(outer);
    return r;
}

static BOOL WINAPI dph_SwapBuffers(HDC dc)
{
    return dph_swap_through(H_SWAP, dc);
}

static BOOL WINAPI dph_wglSwapBuffers(HDC dc)
{
    return dph_swap_through(H_WGLSWAP, dc);
}

static BOOL WINAPI dph_wglSwapLayerBuffers(HDC dc, UINT planes)
{
    bool outer = dph_enter();
    if (outer && (planes & WGL_SWAP_MAIN_PLANE))
        dph_swap_of(dc);
    fn_swap_layer real;
    void *at = g.real[H_LAYER];
    memcpy(&real, &at, sizeof real);
    BOOL r = real(dc, planes);
    dph_leave(outer);
    return r;
}

static BOOL WINAPI dph_wglDeleteContext(HGLRC ctx)
{
    bool outer = dph_enter();
    /* The port's context only (read unlocked: a dpgl thread deleting its own context
     * while the swap thread holds the lock in dpgl_close must not wait for it). */
    if (outer && g.live && ctx && ctx == g.port_ctx) {
        DWORD err = GetLastError();
        /* A short wait at most: another thread's publish. A holder that never lets go
         * (killed by ExitProcess mid-publish) leaves the port alone: it goes with ctx. */
        bool locked = false;
        for (int i = 0; i < 200 && !(locked = TryAcquireSRWLockExclusive(&g.lock)); i++)
            Sleep(1);
        if (locked) {
            if (g.port && ctx == g.port_ctx)
                dph_close_port(); /* its GL objects go now if ctx is current here, else with ctx */
            ReleaseSRWLockExclusive(&g.lock);
        }
        SetLastError(err);
    }
    fn_delete_context real;
    void *at = g.real[H_DELETE];
    memcpy(&real, &at, sizeof real);
    BOOL r = real(ctx);
    dph_leave(outer);
    return r;
}

/* Function pointers of other types: copied, not cast. */
static void *dph_fn(FARPROC f)
{
    void *p;
    memcpy(&p, &f, sizeof p);
    return p;
}

static bool dph_hook(int which, HMODULE m, const char *symbol, void *hook, void *volatile *real_out)
{
    char why[160];
    void *fn = m ? dph_fn(GetProcAddress(m, symbol)) : NULL;
    if (g.detour[which].installed)
        return true;
    if (!fn) {
        dph_message(L"%hs not found", symbol);
        return false;
    }
    /* real_out holds the original before the patch makes the hook reachable. */
    if (!dp_detour_install(&g.detour[which], fn, hook, real_out, why, sizeof why)) {
        dph_message(L"cannot hook %hs: %hs", symbol, why);
        return false;
    }
    return true;
}

/* The detours of what is loaded; under install_lock. Each g.real[] is set before its
 * jump goes in (dp_detour_install), so a hook reached at once has its original. */
static bool dph_install_loaded(void)
{
    HMODULE gdi = GetModuleHandleW(L"gdi32.dll"), gl = GetModuleHandleW(L"opengl32.dll");
    bool ok = true;
    if (gl) {
        fn_get_context gc;
        fn_get_dc gd;
        FARPROC f = GetProcAddress(gl, "wglGetCurrentContext");
        memcpy(&gc, &f, sizeof f);
        f = GetProcAddress(gl, "wglGetCurrentDC");
        memcpy(&gd, &f, sizeof f);
        if (!gc || !gd) {
            dph_message(L"opengl32.dll lacks wglGetCurrentContext / wglGetCurrentDC");
            return false;
        }
        g.get_dc = gd;
        g.get_context = gc;
        ok = dph_hook(H_DELETE, gl, "wglDeleteContext", (void *)dph_wglDeleteContext, &g.real[H_DELETE]) &&
             dph_hook(H_WGLSWAP, gl, "wglSwapBuffers", (void *)dph_wglSwapBuffers, &g.real[H_WGLSWAP]) &&
             dph_hook(H_LAYER, gl, "wglSwapLayerBuffers", (void *)dph_wglSwapLayerBuffers, &g.real[H_LAYER]);
    }
    if (ok && gdi)
        ok = dph_hook(H_SWAP, gdi, "SwapBuffers", (void *)dph_SwapBuffers, &g.real[H_SWAP]);
    return ok;
}

static void dph_remove_all(void)
{
    char why[160];
    for (int i = H_COUNT - 1; i >= 0; i--)
        if (g.detour[i].installed && !dp_detour_remove(&g.detour[i], why, sizeof why))
            dph_message(L"cannot unhook: %hs", why);
}

static bool dph_base_name_is(const UNICODE_STRING *s, const wchar_t *name)
{
    size_t n = wcslen(name);
    return s && s->Buffer && s->Length == n * sizeof(wchar_t) && !_wcsnicmp(s->Buffer, name, n);
}

/* A DLL loaded after attach: opengl32.dll or gdi32.dll brings its detours. Runs under
 * the loader lock, after the DLL is mapped and relocated. */
static VOID CALLBACK dph_dll_loaded_cb(ULONG reason, const dph_dll_loaded *data, PVOID context)
{
    (void)context;
    if (reason != DPH_DLL_LOADED || !data || g.stopping)
        return;
    if (!dph_base_name_is(data->BaseDllName, L"opengl32.dll") && !dph_base_name_is(data->BaseDllName, L"gdi32.dll"))
        return;
    AcquireSRWLockExclusive(&g.install_lock);
    if (dph_install_loaded() && g.detour[H_WGLSWAP].installed) {
        dph_message(L"hooked SwapBuffers, wglSwapBuffers, wglSwapLayerBuffers, wglDeleteContext");
        dph_set_state(DPCAP_ATTACHED);
    } else if (!g.detour[H_WGLSWAP].installed && GetModuleHandleW(L"opengl32.dll")) {
        dph_set_state(DPCAP_FAILED);
        SetEvent(g.detach_now);
    }
    ReleaseSRWLockExclusive(&g.install_lock);
}

static void dph_notify(bool on)
{
    HMODULE nt = GetModuleHandleW(L"ntdll.dll");
    if (on) {
        fn_register_notify reg;
        FARPROC f = GetProcAddress(nt, "LdrRegisterDllNotification");
        memcpy(&reg, &f, sizeof f);
        if (reg && reg(0, dph_dll_loaded_cb, NULL, &g.notify_cookie) != 0)
            g.notify_cookie = NULL;
    } else if (g.notify_cookie) {
        fn_unregister_notify unreg;
        FARPROC f = GetProcAddress(nt, "LdrUnregisterDllNotification");
        memcpy(&unreg, &f, sizeof f);
        if (unreg)
            unreg(g.notify_cookie);
        g.notify_cookie = NULL;
    }
}

/* The detours of what is loaded, and the DLL notification for opengl32.dll if it is not
 * loaded yet; the answer in the block. false (the message says why) if they cannot go in. */
static bool dph_hook_all(void)
{
    AcquireSRWLockExclusive(&g.install_lock);
    bool hooked = dph_install_loaded();
    bool gl_loaded = GetModuleHandleW(L"opengl32.dll") != NULL;
    if (hooked && !gl_loaded)
        dph_notify(true);
    ReleaseSRWLockExclusive(&g.install_lock);
    if (!hooked)
        return false;
    if (!gl_loaded && !g.notify_cookie) {
        dph_message(L"opengl32.dll is not loaded and DLL load notifications are missing: not a GL application");
        return false;
    }
    if (gl_loaded) {
        dph_message(L"hooked SwapBuffers, wglSwapBuffers, wglSwapLayerBuffers, wglDeleteContext");
        dph_set_state(DPCAP_ATTACHED);
    } else {
        dph_message(L"opengl32.dll not loaded yet: its swaps are hooked when it loads");
        dph_set_state(DPCAP_WAITING);
    }
    return true;
}

static bool dph_fail_attach(void);

/* ---- detach --------------------------------------------------------------------------- */

static int dph_cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return x < y ? -1 : x > y;
}

static void dph_figures(void)
{
    size_t n = g.ncost < DPH_COSTS ? (size_t)g.ncost : DPH_COSTS;
    if (!n)
        return;
    qsort(g.cost_ms, n, sizeof g.cost_ms[0], dph_cmp_float);
    g.block->cost_ms_p50 = g.cost_ms[(size_t)(0.5 * (double)(n - 1) + 0.5)];
    g.block->cost_ms_p99 = g.cost_ms[(size_t)(0.99 * (double)(n - 1) + 0.5)];
    g.block->cost_ms_max = g.cost_ms[n - 1];
}

/* Closes the attachment's handles. all: the block and the TLS index too, which a hook
 * still reachable (dphook.dll staying loaded) would use. */
static void dph_close_handles(bool all)
{
    HANDLE *hs[] = {&g.attached, &g.ready, &g.stop, &g.done, &g.port_closed, &g.detach_now, &g.watcher};
    for (size_t i = 0; i < sizeof hs / sizeof hs[0]; i++)
        if (*hs[i]) {
            CloseHandle(*hs[i]);
            *hs[i] = NULL;
        }
    if (!all)
        return;
    if (g.block)
        UnmapViewOfFile(g.block);
    g.block = NULL;
    if (g.section)
        CloseHandle(g.section);
    g.section = NULL;
    if (g.tls != TLS_OUT_OF_INDEXES)
        TlsFree(g.tls);
    g.tls = TLS_OUT_OF_INDEXES;
}

static DWORD WINAPI dph_watch(LPVOID arg)
{
    (void)arg;
    /* A running program: the detours go in now (see dph_attach), then the answer. A
     * launched one is still initialising: directport.dll comes at its first swap (a
     * thread loading DLLs beside its loader deadlocked Wine's first-time initialisation
     * under load). */
    if (!(g.block->flags & DPCAP_FLAG_LAUNCHED)) {
        if (!dph_hook_all()) {
            if (dph_fail_attach())
                return 0; /* a detour was in: pinned, inert */
            FreeLibraryAndExitThread(g.self, 0);
        }
        InterlockedExchange(&g.live, 1);
        SetEvent(g.ready);
        dph_dp_ready();
    }
    HANDLE wake[2] = {g.stop, g.detach_now};
    if (WaitForMultipleObjects(2, wake, FALSE, INFINITE) == WAIT_OBJECT_0)
        dph_message(L"detached on request");

    /* No new port from here; the next swap in the port's context closes it there. */
    InterlockedExchange(&g.stopping, 1);
    AcquireSRWLockExclusive(&g.lock);
    bool open = g.port != NULL;
    ReleaseSRWLockExclusive(&g.lock);
    if (open)
        WaitForSingleObject(g.port_closed, DPH_STOP_WAIT_MS);
    InterlockedExchange(&g.live, 0); /* the hooks only pass through now */
    dph_notify(false);
    AcquireSRWLockExclusive(&g.install_lock);
    dph_remove_all();
    bool all_out = true;
    for (int i = 0; i < H_COUNT; i++)
        all_out = all_out && !g.detour[i].installed;
    ReleaseSRWLockExclusive(&g.install_lock);
    /* Threads already past a patched entry finish their hook. */
    ULONGLONG end = GetTickCount64() + DPH_DRAIN_MS;
    while (g.inflight > 0 && GetTickCount64() < end)
        Sleep(1);
    Sleep(20); /* the last instructions after the count: the hook's epilogue */
    bool unload = g.inflight == 0 && all_out;
    AcquireSRWLockExclusive(&g.lock);
    dph_close_port(); /* no swap came: its GL objects stay with the context */
    ReleaseSRWLockExclusive(&g.lock);
    if (g.dp)
        FreeLibrary(g.dp);
    g.dp = NULL;
    if (unload)
        for (int i = 0; i < H_COUNT; i++)
            dp_detour_free(&g.detour[i]);
    dph_figures();
    if (g.block->state != DPCAP_FAILED)
        dph_set_state(DPCAP_DETACHED);
    if (!all_out)
        dph_message(L"a detour could not be taken out: dphook.dll stays loaded, its hooks passing through");
    else if (!unload)
        dph_message(L"a thread stayed inside a swap for %u ms: dphook.dll stays loaded, unhooked", DPH_DRAIN_MS);
    /* Not attached any more before "done": an attach right after --stop is not refused. */
    if (g.attached)
        CloseHandle(g.attached);
    g.attached = NULL;
    SetEvent(g.done);
    if (!unload) {
        /* unloading now could pull code from under a thread: the hooks keep their TLS
         * index and block, and the DLL stays */
        dph_close_handles(false);
        return 0;
    }
    dph_close_handles(true);
    FreeLibraryAndExitThread(g.self, 0);
    return 0;
}

/* ---- attach --------------------------------------------------------------------------- */

static bool dph_valid_name(const wchar_t *s)
{
    size_t n = 0;
    for (; n <= DP_MAX_NAME && s[n]; n++) {
        wchar_t c = s[n];
        if (!((c >= L'a' && c <= L'z') || (c >= L'A' && c <= L'Z') || (c >= L'0' && c <= L'9') || c == L'_' ||
              c == L'.' || c == L'-'))
            return false;
    }
    return n >= 1 && n <= DP_MAX_NAME;
}

/* The attach failed. With no detour ever in, dphook.dll unloads (DllMain returns FALSE,
 * or the watcher frees it: false here). Once one was in, a thread may already be inside a hook or a trampoline: the detours
 * come out, and the DLL pins itself and stays loaded, inert (live never set), its TLS
 * index and trampolines kept. */
static bool dph_fail_attach(void)
{
    bool any = false;
    for (int i = 0; i < H_COUNT; i++)
        any = any || g.detour[i].installed;
    dph_notify(false);
    dph_remove_all();
    dph_set_state(DPCAP_FAILED);
    if (any) {
        HMODULE pinned = NULL;
        GetModuleHandleExW(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS | GET_MODULE_HANDLE_EX_FLAG_PIN,
                           (LPCWSTR)(void *)&g, &pinned);
        size_t len = g.block ? wcslen(g.block->message) : 0;
        if (g.block && len < DPCAP_MESSAGE - 48)
            wcscat(g.block->message, L" (dphook.dll stays loaded, unhooked)");
    }
    if (g.ready)
        SetEvent(g.ready);
    dph_close_handles(!any);
    return any;
}

static bool dph_attach(void)
{
    wchar_t name[128];
    g.pid = GetCurrentProcessId();
    g.tls = TLS_OUT_OF_INDEXES;
    InitializeSRWLock(&g.lock);
    InitializeSRWLock(&g.install_lock);
    InitOnceInitialize(&g.dp_once);
    QueryPerformanceFrequency(&g.freq);

    /* Nothing is attached to without being asked: dpcapture's block must be there. */
    _snwprintf(name, 127, L"%ls%lu", DPCAP_PREFIX, (unsigned long)g.pid);
    name[127] = 0;
    g.section = OpenFileMappingW(FILE_MAP_READ | FILE_MAP_WRITE, FALSE, name);
    if (!g.section)
        return false;
    g.block = MapViewOfFile(g.section, FILE_MAP_READ | FILE_MAP_WRITE, 0, 0, sizeof(dpcap_block));
    if (!g.block) {
        dph_close_handles(true);
        return false;
    }
    g.ready = dph_object(L".ready", true, false);
    if (g.block->magic != DPCAP_MAGIC || g.block->version != DPCAP_VERSION || g.block->size != sizeof(dpcap_block)) {
        UnmapViewOfFile(g.block); /* not ours to write in */
        g.block = NULL;
        dph_close_handles(true);
        return false;
    }
    memcpy(g.name, g.block->port, sizeof g.name);
    g.name[DP_MAX_NAME] = 0;
    if (!dph_valid_name(g.name)) {
        dph_message(L"the port name in the control block is not 1..%u characters of [A-Za-z0-9_.-]", DP_MAX_NAME);
        return dph_fail_attach();
    }
    g.attached = dph_object(L".attached", false, true);
    if (!g.attached || GetLastError() == ERROR_ALREADY_EXISTS) {
        dph_message(L"already attached");
        if (g.attached)
            CloseHandle(g.attached);
        g.attached = NULL;
        return dph_fail_attach();
    }
    g.stop = dph_object(L".stop", true, true);
    g.done = dph_object(L".done", true, true);
    g.port_closed = CreateEventW(NULL, FALSE, FALSE, NULL);
    g.detach_now = CreateEventW(NULL, TRUE, FALSE, NULL);
    g.tls = TlsAlloc();
    if (!g.stop || !g.done || !g.port_closed || !g.detach_now || g.tls == TLS_OUT_OF_INDEXES) {
        dph_message(L"cannot create its events (error %lu)", GetLastError());
        return dph_fail_attach();
    }

    /* directport.dll beside dphook.dll. */
    DWORD n = GetModuleFileNameW(g.self, g.dp_path, MAX_PATH);
    wchar_t *slash = n && n < MAX_PATH ? wcsrchr(g.dp_path, L'\\') : NULL;
    if (!slash || (size_t)(slash + 1 - g.dp_path) + wcslen(L"directport.dll") >= MAX_PATH) {
        dph_message(L"cannot tell dphook.dll's directory");
        return dph_fail_attach();
    }
    wcscpy(slash + 1, L"directport.dll");
    if (GetFileAttributesW(g.dp_path) == INVALID_FILE_ATTRIBUTES) {
        dph_message(L"%ls is missing", g.dp_path);
        return dph_fail_attach();
    }

    /* In a running program the detours go in from our thread, outside the loader lock:
     * the program's threads are held still while code changes, and one of them may be
     * waiting for that lock (a load gets stuck half-way otherwise; seen under load). A
     * program launched by dpcapture has no thread of its own yet: its detours go in here,
     * before its entry point runs. */
    bool launched = (g.block->flags & DPCAP_FLAG_LAUNCHED) != 0;
    if (launched && !dph_hook_all())
        return dph_fail_attach();
    g.watcher = CreateThread(NULL, 0, dph_watch, NULL, 0, NULL);
    if (!g.watcher) {
        dph_message(L"cannot start its thread (error %lu)", GetLastError());
        return dph_fail_attach();
    }
    if (launched) {
        InterlockedExchange(&g.live, 1);
        SetEvent(g.ready);
    }
    return true;
}

BOOL WINAPI DllMain(HINSTANCE instance, DWORD reason, LPVOID reserved);
BOOL WINAPI DllMain(HINSTANCE instance, DWORD reason, LPVOID reserved)
{
    (void)reserved;
    if (reason == DLL_PROCESS_ATTACH) {
        g.self = instance;
        DisableThreadLibraryCalls(instance);
        return dph_attach() ? TRUE : FALSE;
    }
    /* DLL_PROCESS_DETACH: the watcher has undone everything before its
     * FreeLibraryAndExitThread; at process exit there is nothing to undo. */
    return TRUE;
}
