/*
 * capabilities.c - probes the machine once and states it first:
 *   # capabilities: nt_sharing=yes|no (<reason>) d3d11_fences=... wgl_nv_dx_interop2=...
 *     gl_ext_memory_object_win32=...
 */
#include "capabilities.h"

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

__attribute__((constructor)) static void dpt_capabilities_register(void)
{
    dptest_register_prologue(dpt_capabilities_print);
}
