/*
 * dpcaps.c - probes of what the zero-copy paths need (dpcaps.h). Each probe makes and
 * releases its own objects; the library's devices are not touched.
 */
#define COBJMACROS
#include <windows.h>
#include <d3d11_4.h>
#include <d3d12.h>
#include <dxgi1_4.h>
#include <GL/gl.h>
#include <GL/wglext.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "dpcaps.h"

static void dpcaps_set(dpcap *c, bool yes, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void dpcaps_set(dpcap *c, bool yes, const char *fmt, ...)
{
    va_list ap;
    c->yes = yes;
    va_start(ap, fmt);
    vsnprintf(c->reason, sizeof(c->reason), fmt, ap);
    va_end(ap);
}

static void dpcaps_adapter_name(LUID luid, char *out, size_t cap)
{
    IDXGIFactory4 *factory = NULL;
    IDXGIAdapter *adapter = NULL;
    DXGI_ADAPTER_DESC desc;
    snprintf(out, cap, "(unknown adapter)");
    if (FAILED(CreateDXGIFactory1(&IID_IDXGIFactory4, (void **)&factory)))
        return;
    if (SUCCEEDED(IDXGIFactory4_EnumAdapterByLuid(factory, luid, &IID_IDXGIAdapter, (void **)&adapter)) &&
        SUCCEEDED(IDXGIAdapter_GetDesc(adapter, &desc)))
        snprintf(out, cap, "%ls (vendor 0x%04x, device 0x%04x, %zu MB video memory)", desc.Description,
                 desc.VendorId, desc.DeviceId, desc.DedicatedVideoMemory >> 20);
    if (adapter)
        IDXGIAdapter_Release(adapter);
    IDXGIFactory4_Release(factory);
}

static void dpcaps_d3d12(dpcaps *c)
{
    dpcap *share = &c->cap[DPCAP_NT_SHARING];
    ID3D12Device *dev = NULL;
    ID3D12Fence *fence = NULL;
    HANDLE nt = NULL, opened = NULL;
    wchar_t name[64];
    HRESULT hr = D3D12CreateDevice(NULL, D3D_FEATURE_LEVEL_11_0, &IID_ID3D12Device, (void **)&dev);
    LUID luid;
    if (FAILED(hr)) {
        snprintf(c->d3d12_adapter, sizeof(c->d3d12_adapter), "no device: D3D12CreateDevice hr 0x%08lx",
                 (unsigned long)hr);
        dpcaps_set(share, false, "no D3D12 device (hr 0x%08lx)", (unsigned long)hr);
        return;
    }
    dev->lpVtbl->GetAdapterLuid(dev, &luid);
    dpcaps_adapter_name(luid, c->d3d12_adapter, sizeof(c->d3d12_adapter));
    /* Both halves a port needs: share under a name, and open by it. */
    swprintf(name, 64, L"Local\\DirectPort.caps.%lu", (unsigned long)GetCurrentProcessId());
    hr = ID3D12Device_CreateFence(dev, 0, D3D12_FENCE_FLAG_SHARED, &IID_ID3D12Fence, (void **)&fence);
    if (SUCCEEDED(hr) && FAILED(hr = ID3D12Device_CreateSharedHandle(dev, (ID3D12DeviceChild *)fence, NULL,
                                                                      GENERIC_ALL, name, &nt)))
        dpcaps_set(share, false, "CreateSharedHandle of a shared fence: hr 0x%08lx", (unsigned long)hr);
    else if (SUCCEEDED(hr) && FAILED(hr = ID3D12Device_OpenSharedHandleByName(dev, name, GENERIC_ALL, &opened)))
        dpcaps_set(share, false, "OpenSharedHandleByName of a shared fence: hr 0x%08lx", (unsigned long)hr);
    else if (SUCCEEDED(hr))
        dpcaps_set(share, true, "a fence shared under a name and opened by it");
    else
        dpcaps_set(share, false, "CreateFence(SHARED): hr 0x%08lx", (unsigned long)hr);
    if (opened)
        CloseHandle(opened);
    if (nt)
        CloseHandle(nt);
    if (fence)
        ID3D12Fence_Release(fence);
    ID3D12Device_Release(dev);
}

static void dpcaps_d3d11(dpcaps *c)
{
    dpcap *fences = &c->cap[DPCAP_D3D11_FENCES];
    ID3D11Device *dev = NULL;
    ID3D11DeviceContext *ctx = NULL;
    ID3D11Device5 *dev5 = NULL;
    ID3D11DeviceContext4 *ctx4 = NULL;
    D3D_FEATURE_LEVEL level;
    HRESULT hr = D3D11CreateDevice(NULL, D3D_DRIVER_TYPE_HARDWARE, NULL, 0, NULL, 0, D3D11_SDK_VERSION, &dev, &level,
                                   &ctx);
    if (FAILED(hr)) {
        snprintf(c->d3d11_device, sizeof(c->d3d11_device), "no device: hr 0x%08lx", (unsigned long)hr);
        dpcaps_set(fences, false, "no D3D11 device (hr 0x%08lx)", (unsigned long)hr);
        return;
    }
    snprintf(c->d3d11_device, sizeof(c->d3d11_device), "feature level %u.%u", ((unsigned)level >> 12) & 0xF,
             ((unsigned)level >> 8) & 0xF);
    hr = ID3D11Device_QueryInterface(dev, &IID_ID3D11Device5, (void **)&dev5);
    if (FAILED(hr))
        dpcaps_set(fences, false, "no ID3D11Device5 (hr 0x%08lx)", (unsigned long)hr);
    else if (FAILED(hr = ID3D11DeviceContext_QueryInterface(ctx, &IID_ID3D11DeviceContext4, (void **)&ctx4)))
        dpcaps_set(fences, false, "no ID3D11DeviceContext4 (hr 0x%08lx)", (unsigned long)hr);
    else
        dpcaps_set(fences, true, "ID3D11Device5 and ID3D11DeviceContext4");
    if (ctx4)
        ID3D11DeviceContext4_Release(ctx4);
    if (dev5)
        ID3D11Device5_Release(dev5);
    ID3D11DeviceContext_Release(ctx);
    ID3D11Device_Release(dev);
}

static LRESULT CALLBACK dpcaps_wndproc(HWND hwnd, UINT msg, WPARAM wp, LPARAM lp)
{
    return DefWindowProcW(hwnd, msg, wp, lp);
}

static bool dpcaps_has_word(const char *all, const char *word)
{
    size_t len = strlen(word);
    for (const char *p = all; p && (p = strstr(p, word)) != NULL; p += len)
        if ((p == all || p[-1] == ' ') && (p[len] == ' ' || p[len] == '\0'))
            return true;
    return false;
}

/* WGL and GL extensions of a context on a hidden window, current only in here. */
static void dpcaps_gl(dpcaps *c, HDC dc)
{
    static const char *const functions[] = {"wglDXOpenDeviceNV",     "wglDXCloseDeviceNV",
                                            "wglDXRegisterObjectNV", "wglDXUnregisterObjectNV",
                                            "wglDXLockObjectsNV",    "wglDXUnlockObjectsNV"};
    dpcap *interop = &c->cap[DPCAP_WGL_NV_DX_INTEROP2], *memory = &c->cap[DPCAP_GL_EXT_MEMORY_OBJECT_WIN32];
    const char *wgl = NULL, *missing = NULL, *gl_exts = (const char *)glGetString(GL_EXTENSIONS);
    PROC get = wglGetProcAddress("wglGetExtensionsStringARB");
    snprintf(c->gl, sizeof(c->gl), "%s, %s", (const char *)glGetString(GL_VERSION),
             (const char *)glGetString(GL_RENDERER));
    if (get) {
        PFNWGLGETEXTENSIONSSTRINGARBPROC fn;
        memcpy(&fn, &get, sizeof fn);
        wgl = fn(dc);
    }
    for (size_t i = 0; i < sizeof functions / sizeof functions[0] && !missing; i++)
        if (!wglGetProcAddress(functions[i]))
            missing = functions[i];
    if (!wgl || !dpcaps_has_word(wgl, "WGL_NV_DX_interop2"))
        dpcaps_set(interop, false, "not in the WGL extension string (%s)", c->gl);
    else if (missing)
        dpcaps_set(interop, false, "advertised, but %s is missing", missing);
    else
        dpcaps_set(interop, true, "extension and functions present");
    if (gl_exts && dpcaps_has_word(gl_exts, "GL_EXT_memory_object_win32"))
        dpcaps_set(memory, true, "in the GL extension string");
    else
        dpcaps_set(memory, false, "not in the GL extension string (%s)", c->gl);
}

static void dpcaps_wgl(dpcaps *c)
{
    WNDCLASSEXW wc = {0};
    PIXELFORMATDESCRIPTOR pfd = {0};
    HGLRC rc = NULL, old_rc = wglGetCurrentContext();
    HDC old_dc = wglGetCurrentDC(), dc = NULL;
    HWND hwnd;
    int format;

    dpcaps_set(&c->cap[DPCAP_WGL_NV_DX_INTEROP2], false, "no GL context");
    dpcaps_set(&c->cap[DPCAP_GL_EXT_MEMORY_OBJECT_WIN32], false, "no GL context");
    wc.cbSize = sizeof wc;
    wc.style = CS_OWNDC;
    wc.lpfnWndProc = dpcaps_wndproc;
    wc.hInstance = GetModuleHandleW(NULL);
    wc.lpszClassName = L"dpcaps";
    RegisterClassExW(&wc);
    hwnd = CreateWindowExW(WS_EX_TOOLWINDOW, wc.lpszClassName, L"dpcaps", WS_POPUP, 0, 0, 16, 16, NULL, NULL,
                           wc.hInstance, NULL);
    if (hwnd)
        dc = GetDC(hwnd);
    pfd.nSize = sizeof pfd;
    pfd.nVersion = 1;
    pfd.dwFlags = PFD_DRAW_TO_WINDOW | PFD_SUPPORT_OPENGL | PFD_DOUBLEBUFFER;
    pfd.iPixelType = PFD_TYPE_RGBA;
    pfd.cColorBits = 32;
    format = dc ? ChoosePixelFormat(dc, &pfd) : 0;
    if (format && SetPixelFormat(dc, format, &pfd) && (rc = wglCreateContext(dc)) && wglMakeCurrent(dc, rc))
        dpcaps_gl(c, dc);
    else
        snprintf(c->gl, sizeof(c->gl), "no GL context (Win32 error %lu)", GetLastError());
    wglMakeCurrent(old_dc, old_rc);
    if (rc)
        wglDeleteContext(rc);
    if (dc)
        ReleaseDC(hwnd, dc);
    if (hwnd)
        DestroyWindow(hwnd);
}

void dpcaps_probe(dpcaps *out)
{
    static const char *const names[DPCAP_COUNT] = {"nt_sharing", "d3d11_fences", "wgl_nv_dx_interop2",
                                                   "gl_ext_memory_object_win32"};
    memset(out, 0, sizeof(*out));
    for (int i = 0; i < DPCAP_COUNT; i++)
        out->cap[i].name = names[i];
    dpcaps_d3d12(out);
    dpcaps_d3d11(out);
    dpcaps_wgl(out);
}

void dpcaps_line(const dpcaps *c, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = 0;
    for (int i = 0; i < DPCAP_COUNT && n < cap; i++) {
        int k = snprintf(out + n, cap - n, "%s%s=%s (%s)", i ? " " : "", c->cap[i].name, c->cap[i].yes ? "yes" : "no",
                         c->cap[i].reason);
        if (k < 0)
            break;
        n += (size_t)k;
    }
}
