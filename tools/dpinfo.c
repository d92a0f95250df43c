/*
 * dpinfo.c - what this machine offers DirectPort, and the ports alive right now.
 *
 *   dpinfo.exe            capabilities, then the table of live ports
 *   dpinfo.exe --ports    the table of live ports only
 *
 * Capabilities: the D3D12 device and its adapter (by name, through DXGI); NT sharing
 * (a shared D3D12 fence and CreateSharedHandle: what the GPU transport needs); D3D11
 * fences (ID3D11Device5); WGL_NV_DX_interop2 (a hidden window and GL context: the
 * extension string and its functions). Each line says yes or no, and why not.
 */
#define COBJMACROS
#include <windows.h>
#include <initguid.h> /* the IIDs used here, defined in this file (mingw's dxguid lacks some) */
#include <d3d11_4.h>
#include <d3d12.h>
#include <dxgi1_4.h>
#include <GL/gl.h>
#include <GL/wglext.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "directport.h"

static void line(const char *what, bool yes, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void line(const char *what, bool yes, const char *fmt, ...)
{
    va_list ap;
    printf("  %-22s %-4s ", what, yes ? "yes" : "no");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

static void adapter_name(LUID luid, char *out, size_t cap)
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

static void d3d12_caps(void)
{
    ID3D12Device *dev = NULL;
    ID3D12Fence *fence = NULL;
    HANDLE nt = NULL;
    HRESULT hr = D3D12CreateDevice(NULL, D3D_FEATURE_LEVEL_11_0, &IID_ID3D12Device, (void **)&dev);
    char name[256];
    LUID luid;
    if (FAILED(hr)) {
        line("D3D12 device", false, "D3D12CreateDevice failed: hr 0x%08lx", (unsigned long)hr);
        line("NT sharing", false, "no D3D12 device");
        return;
    }
    dev->lpVtbl->GetAdapterLuid(dev, &luid);
    adapter_name(luid, name, sizeof name);
    line("D3D12 device", true, "%s", name);
    hr = ID3D12Device_CreateFence(dev, 0, D3D12_FENCE_FLAG_SHARED, &IID_ID3D12Fence, (void **)&fence);
    if (FAILED(hr)) {
        line("NT sharing", false, "CreateFence(SHARED) failed: hr 0x%08lx", (unsigned long)hr);
    } else {
        hr = ID3D12Device_CreateSharedHandle(dev, (ID3D12DeviceChild *)fence, NULL, GENERIC_ALL, NULL, &nt);
        if (SUCCEEDED(hr) && nt)
            line("NT sharing", true, "shared fence + CreateSharedHandle: the GPU transport can be used");
        else
            line("NT sharing", false, "CreateSharedHandle failed: hr 0x%08lx: ports use the host transport",
                 (unsigned long)hr);
        if (nt)
            CloseHandle(nt);
        ID3D12Fence_Release(fence);
    }
    ID3D12Device_Release(dev);
}

static void d3d11_caps(void)
{
    ID3D11Device *dev = NULL;
    ID3D11Device5 *dev5 = NULL;
    D3D_FEATURE_LEVEL level;
    HRESULT hr = D3D11CreateDevice(NULL, D3D_DRIVER_TYPE_HARDWARE, NULL, 0, NULL, 0, D3D11_SDK_VERSION, &dev, &level,
                                   NULL);
    if (FAILED(hr)) {
        line("D3D11 device", false, "D3D11CreateDevice failed: hr 0x%08lx", (unsigned long)hr);
        line("D3D11 fences", false, "no D3D11 device");
        return;
    }
    line("D3D11 device", true, "feature level %u.%u", ((unsigned)level >> 12) & 0xF, ((unsigned)level >> 8) & 0xF);
    hr = ID3D11Device_QueryInterface(dev, &IID_ID3D11Device5, (void **)&dev5);
    if (SUCCEEDED(hr) && dev5) {
        line("D3D11 fences", true, "ID3D11Device5");
        ID3D11Device5_Release(dev5);
    } else {
        line("D3D11 fences", false, "no ID3D11Device5 (hr 0x%08lx): dp11 ports use the host transport",
             (unsigned long)hr);
    }
    ID3D11Device_Release(dev);
}

static LRESULT CALLBACK wndproc(HWND hwnd, UINT msg, WPARAM wp, LPARAM lp)
{
    return DefWindowProcW(hwnd, msg, wp, lp);
}

static bool has_word(const char *all, const char *word)
{
    size_t len = strlen(word);
    for (const char *p = all; p && (p = strstr(p, word)) != NULL; p += len)
        if ((p == all || p[-1] == ' ') && (p[len] == ' ' || p[len] == '\0'))
            return true;
    return false;
}

static void wgl_caps(void)
{
    static const char *const FUNCTIONS[] = {"wglDXOpenDeviceNV",   "wglDXCloseDeviceNV",
                                            "wglDXRegisterObjectNV", "wglDXUnregisterObjectNV",
                                            "wglDXLockObjectsNV",  "wglDXUnlockObjectsNV",
                                            "wglDXSetResourceShareHandleNV"};
    WNDCLASSEXW wc = {0};
    PIXELFORMATDESCRIPTOR pfd = {0};
    HWND hwnd;
    HDC dc;
    HGLRC rc;
    int format;
    PROC get;
    const char *exts = NULL, *missing = NULL;

    wc.cbSize = sizeof wc;
    wc.style = CS_OWNDC;
    wc.lpfnWndProc = wndproc;
    wc.hInstance = GetModuleHandleW(NULL);
    wc.lpszClassName = L"dpinfo";
    RegisterClassExW(&wc);
    hwnd = CreateWindowExW(WS_EX_TOOLWINDOW, wc.lpszClassName, L"dpinfo", WS_POPUP, 0, 0, 16, 16, NULL, NULL,
                           wc.hInstance, NULL);
    if (!hwnd) {
        line("WGL_NV_DX_interop2", false, "cannot create a window (%lu)", GetLastError());
        return;
    }
    dc = GetDC(hwnd);
    pfd.nSize = sizeof pfd;
    pfd.nVersion = 1;
    pfd.dwFlags = PFD_DRAW_TO_WINDOW | PFD_SUPPORT_OPENGL | PFD_DOUBLEBUFFER;
    pfd.iPixelType = PFD_TYPE_RGBA;
    pfd.cColorBits = 32;
    format = ChoosePixelFormat(dc, &pfd);
    if (!format || !SetPixelFormat(dc, format, &pfd) || !(rc = wglCreateContext(dc))) {
        line("WGL_NV_DX_interop2", false, "no GL context (%lu)", GetLastError());
        ReleaseDC(hwnd, dc);
        DestroyWindow(hwnd);
        return;
    }
    wglMakeCurrent(dc, rc);
    line("OpenGL", true, "%s, %s", (const char *)glGetString(GL_VERSION), (const char *)glGetString(GL_RENDERER));
    get = wglGetProcAddress("wglGetExtensionsStringARB");
    if (get) {
        PFNWGLGETEXTENSIONSSTRINGARBPROC fn;
        memcpy(&fn, &get, sizeof fn);
        exts = fn(dc);
    }
    if (!exts) {
        line("WGL_NV_DX_interop2", false, "no wglGetExtensionsStringARB");
    } else if (!has_word(exts, "WGL_NV_DX_interop2")) {
        line("WGL_NV_DX_interop2", false, "not in the WGL extension string: GL ports use COPY mode");
    } else {
        for (size_t i = 0; i < sizeof FUNCTIONS / sizeof FUNCTIONS[0] && !missing; i++)
            if (!wglGetProcAddress(FUNCTIONS[i]))
                missing = FUNCTIONS[i];
        if (missing)
            line("WGL_NV_DX_interop2", false, "advertised, but %s is missing", missing);
        else
            line("WGL_NV_DX_interop2", true, "extension and functions present: GL ports can use INTEROP mode");
    }
    wglMakeCurrent(NULL, NULL);
    wglDeleteContext(rc);
    ReleaseDC(hwnd, dc);
    DestroyWindow(hwnd);
}

static const char *format_name(DP_FORMAT f)
{
    switch (f) {
    case DP_FORMAT_VIDEO: return "BGRA8";
    case DP_FORMAT_FLOAT: return "R32F";
    case DP_FORMAT_HALF: return "R16F";
    case DP_FORMAT_RAW_32BIT: return "R32UI";
    case DP_FORMAT_RGBA8: return "RGBA8";
    case DP_FORMAT_RGBA16F: return "RGBA16F";
    case DP_FORMAT_RGBA32F: return "RGBA32F";
    case DP_FORMAT_RGB10A2: return "RGB10A2";
    }
    return "?";
}

static void ports(void)
{
    DP_PORT_INFO info[64];
    uint32_t total = dp_list_ports(info, 64), shown = total < 64 ? total : 64;
    printf("Live ports: %lu\n", (unsigned long)total);
    if (!total)
        return;
    printf("  %-24s %11s %-8s %-9s %5s %7s %12s %8s\n", "name", "size", "format", "transport", "slots", "pid",
           "last frame", "fps");
    for (uint32_t i = 0; i < shown; i++) {
        char size[32];
        snprintf(size, sizeof size, "%lux%lu", (unsigned long)info[i].width, (unsigned long)info[i].height);
        printf("  %-24ls %11s %-8s %-9s %5lu %7lu %12llu %8.1f\n", info[i].name, size, format_name(info[i].format),
               info[i].transport == DP_TRANSPORT_GPU ? "GPU" : "host", (unsigned long)info[i].slots,
               (unsigned long)info[i].producer_pid, (unsigned long long)info[i].last_frame, info[i].fps);
    }
}

int main(int argc, char **argv)
{
    bool only_ports = argc > 1 && !strcmp(argv[1], "--ports");
    if (argc > 2 || (argc == 2 && !only_ports)) {
        fprintf(stderr, "usage: dpinfo.exe [--ports]\n");
        return 2;
    }
    if (!only_ports) {
        printf("DirectPort %d.%d.%d on this machine:\n", DIRECTPORT_VERSION_MAJOR, DIRECTPORT_VERSION_MINOR,
               DIRECTPORT_VERSION_PATCH);
        d3d12_caps();
        d3d11_caps();
        wgl_caps();
    }
    ports();
    fflush(stdout);
    return 0;
}
