/*
 * dpcases.h - the cases of test_d3d11.c and test_d3d12.c written once, over a core's
 * table (dpcores.h): lifecycle, creation, transports, fences, cross-process and
 * cross-core frames, disconnects, bad arguments, leaks. Each core's file registers them
 * under its own case names and adds the checks of its own calls, through the hooks
 * below where they belong inside a case.
 *
 * A case inits its core (skipping when there is no device) and shuts it down again,
 * unless it says otherwise.
 */
#ifndef DPCASES_H
#define DPCASES_H

#include "dpcores.h"

/* A core's own checks of a port a case made or opened. */
typedef void (*case_port_hook)(DP_HANDLE h);

/* Init, a second init, shutdown closing what is open, a second shutdown, init again.
 * The core must not be initialized when it starts. */
void case_init_and_shutdown(const dpt_api *api);

/* Adopts `device` (a device of the host's own, no init before) and checks that the
 * library uses it, keeps it, refuses another, and makes its ports on it. Returns a
 * 16x16 port on it (or NULL); the core stays initialized. */
DP_HANDLE case_adopt_device(const dpt_api *api, void *device);
/* After the caller shut the core down: no device, and `device` has the references it
 * had before it was adopted (refs_before). Releases the caller's reference. */
void case_device_given_back(const dpt_api *api, void *device, unsigned long refs_before);

/* A legacy port of every reference format (and, where the core has them, in system
 * RAM): its info, texture, fence and an opener's view; `extra(h, format, system_ram)`
 * adds the core's own checks. */
void case_create_each_format(const dpt_api *api, void (*extra)(DP_HANDLE h, DP_FORMAT format, bool system_ram));

/* A GPU-transport port where the driver shares, a clean refusal (naming the missing
 * piece) and the AUTO fallback where not; the host transport everywhere. `extra` sees
 * each port made. */
void case_gpu_transport_where_supported(const dpt_api *api, case_port_hook extra);

/* A producer and a consumer in this process: waits, timeouts, the last error, frames
 * byte for byte in every format, a burst. */
void case_fence_signal_wait_timeout(const dpt_api *api);

/* A `prod` producer in this process writes frames 76 and 77 into a 200x120 port
 * (legacy names, or a port on `transport`); a `cons` consumer child opens it, waits
 * (`wait`: "gpu" the core's GPU-side wait, "cpu" cpu_wait) and checks frame 77. `what`
 * names the port. Skips where prod has no device or `transport` is GPU and absent. */
void case_cross_process_frame(const dpt_api *prod, const dpt_api *cons, const char *what, bool port,
                              DP_TRANSPORT transport, const char *wait);

/* A producer child publishes a frame and exits without closing: the consumer hears of
 * it, and keeps the frame it had. */
void case_producer_exit_disconnects(const dpt_api *api);

/* Sections named like a port's control block holding garbage: opening fails cleanly. */
void case_open_rejects_garbage_control_block(const dpt_api *api);

/* Bad arguments before init, after init and after shutdown; bad, closed and the other
 * core's handles; taken names. `extra(good, g)` adds the core's own misuse checks on a
 * live legacy producer. */
void case_bad_arguments(const dpt_api *api, void (*extra)(DP_HANDLE good, dpt_gpu *g));

/* `warm` then `cycles` create/open/close cycles of both port kinds and every format
 * leak no D3D object, kernel object, handle, thread, memory or named object. */
void case_create_close_cycles(const dpt_api *api, int warm, int cycles);

#endif
