/*
 * dpinfo.c - what this machine offers DirectPort, and the ports alive right now.
 *
 *   dpinfo.exe            capabilities, then the table of live ports
 *   dpinfo.exe --ports    the table of live ports only
 *
 * Capabilities (tools/dpcaps.c, the same probes the test harness states first): the
 * D3D12 and D3D11 devices, GL, then nt_sharing, d3d11_fences, wgl_nv_dx_interop2 and
 * gl_ext_memory_object_win32. Each line says yes or no, and why not.
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
#include "dpcaps.h"

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

/* The capabilities of tools/dpcaps.c, one line each, as the test harness states them. */
static void caps(void)
{
    static const char *const labels[DPCAP_COUNT] = {"NT sharing", "D3D11 fences", "WGL_NV_DX_interop2",
                                                    "GL_EXT_memory_object_win32"};
    dpcaps c;
    char all[1200];
    dpcaps_probe(&c);
    line("D3D12 device", strncmp(c.d3d12_adapter, "no device", 9) != 0, "%s", c.d3d12_adapter);
    line("D3D11 device", strncmp(c.d3d11_device, "no device", 9) != 0, "%s", c.d3d11_device);
    line("OpenGL", strncmp(c.gl, "no GL", 5) != 0, "%s", c.gl);
    for (int i = 0; i < DPCAP_COUNT; i++)
        line(labels[i], c.cap[i].yes, "%s", c.cap[i].reason);
    dpcaps_line(&c, all, sizeof(all));
    printf("  capabilities: %s\n", all);
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
        caps();
    }
    ports();
    fflush(stdout);
    return 0;
}
