/*
 * dpcaps.h - what this machine offers DirectPort's zero-copy paths, probed without
 * touching the library's own devices: the capabilities the test harness states first
 * and dpinfo prints.
 *
 *   nt_sharing                  a shared D3D12 fence and CreateSharedHandle: the GPU transport
 *   d3d11_fences                ID3D11Device5 and ID3D11DeviceContext4: dp11 on the GPU transport
 *   wgl_nv_dx_interop2          the WGL extension and its functions: dpgl's INTEROP mode
 *   gl_ext_memory_object_win32  the GL extension (adapter LUIDs, shared memory objects)
 */
#ifndef DPCAPS_H
#define DPCAPS_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    const char *name;
    bool yes;
    char reason[200];
} dpcap;

enum { DPCAP_NT_SHARING, DPCAP_D3D11_FENCES, DPCAP_WGL_NV_DX_INTEROP2, DPCAP_GL_EXT_MEMORY_OBJECT_WIN32, DPCAP_COUNT };

typedef struct {
    dpcap cap[DPCAP_COUNT];
    char d3d12_adapter[256];    /* the default adapter, or why there is no device */
    char d3d11_device[64];
    char gl[256];               /* GL version and renderer of a hidden window's context */
} dpcaps;

/* Probes every capability once (a hidden window and GL context included). */
void dpcaps_probe(dpcaps *out);
/* "nt_sharing=no (reason) d3d11_fences=..." into out. */
void dpcaps_line(const dpcaps *c, char *out, size_t cap);

#endif
