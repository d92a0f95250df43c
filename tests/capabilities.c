/*
 * capabilities.c - probes the machine once and states it first:
 *   # capabilities: nt_sharing=yes|no (<reason>) d3d11_fences=... wgl_nv_dx_interop2=...
 *     gl_ext_memory_object_win32=...
 */
#include "capabilities.h"

#include <windows.h>

#include "directport.h"

#include "dptest.h"

static dpcaps dpt_caps;
static bool dpt_caps_probed;

const dpcap *dpt_capability(int which)
{
    if (!dpt_caps_probed) {
        dpcaps_probe(&dpt_caps);
        dpt_caps_probed = true;
    }
    return &dpt_caps.cap[which];
}

static void dpt_capabilities_print(void)
{
    char line[1200];
    dpt_capability(0);
    dpcaps_line(&dpt_caps, line, sizeof(line));
    dptest_diag("capabilities: %s", line);
    dptest_diag("D3D12: %s; D3D11: %s; GL: %s", dpt_caps.d3d12_adapter, dpt_caps.d3d11_device, dpt_caps.gl);
}

/* With DIRECTPORT_D3D_DEBUG=1 the library's devices run on the D3D12 and D3D11 debug
 * layers (where installed): any error or corruption they report fails the case. */
static uint32_t dpt_debug_seen;

static void dpt_debug_check(void)
{
    uint32_t now = dp_debug_errors();
    ok(now == dpt_debug_seen, "the D3D debug layers reported %u error(s) during this case", now - dpt_debug_seen);
    dpt_debug_seen = now;
}

__attribute__((constructor)) static void dpt_capabilities_register(void)
{
    char v[4] = {0};
    dptest_register_prologue(dpt_capabilities_print);
    if (GetEnvironmentVariableA("DIRECTPORT_D3D_DEBUG", v, sizeof(v)) == 1 && v[0] == '1')
        dptest_register_epilogue(dpt_debug_check);
}
