/*
 * capabilities.h - the machine's capabilities as the harness states them before any
 * case (tools/dpcaps.h probes them). A case that needs one skips only when it is
 * missing, with the line "capability <name>: <reason>"; where it is present, any failure
 * of that case is a failure.
 */
#ifndef CAPABILITIES_H
#define CAPABILITIES_H

#include <string.h>

#include "dpcaps.h"

/* The capability `which` (DPCAP_*), probed once. */
const dpcap *dpt_capability(int which);

/* In a case: skips it, naming the capability, when the machine lacks it. */
#define DPT_REQUIRE(which)                                                               \
    do {                                                                                 \
        const dpcap *cap_ = dpt_capability(which);                                       \
        if (!cap_->yes)                                                                  \
            skip("capability %s: %s", cap_->name, cap_->reason);                         \
    } while (0)

/* What a core's GPU transport needs: NT sharing, and for dp11 shared fences too. */
#define DPT_REQUIRE_GPU(api_name)                                                        \
    do {                                                                                 \
        DPT_REQUIRE(DPCAP_NT_SHARING);                                                   \
        if (!strcmp((api_name), "d3d11"))                                                \
            DPT_REQUIRE(DPCAP_D3D11_FENCES);                                             \
    } while (0)

#endif
