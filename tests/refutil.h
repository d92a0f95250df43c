/*
 * refutil.h - what test_reference.c checks beyond the reference API, behind a header
 * that names no D3D and no DirectPort type: test_reference.c is built against
 * reference_api.h alone, as the reference's callers are, and refutil.c (built against
 * directport.h and D3D12) answers for it.
 */
#ifndef REFUTIL_H
#define REFUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The calling thread's last error as its DP_RESULT name ("DP_ERROR_INVALID_ARGUMENT",
 * "DP_OK") and its message. */
const char *ru_error_name(void);
const char *ru_error_message(void);
/* Whether the driver shares NT handles (the harness's nt_sharing capability). */
bool ru_gpu_transport(void);
/* dp12_get_resource(handle)'s description: DXGI format, size, whether it is row-major. */
bool ru_texture_desc(void *handle, uint32_t *dxgi_format, uint32_t *width, uint32_t *height, bool *row_major);
/* dp12_get_resource(handle) copied back on a queue of dp12_get_device(), rows *out_pitch
 * bytes apart (malloc'd; NULL on failure). */
uint8_t *ru_read_texture(void *handle, uint32_t *out_pitch);
/* The adapter LUID of dp12_get_device() as the reference packs it (LowPart low, HighPart
 * high); false without a device. */
bool ru_device_luid(int64_t *out);
/* D3D12_FEATURE_DATA_ARCHITECTURE.UMA of dp12_get_device(): 1, 0, or -1 if it cannot be asked. */
int ru_device_uma(void);
/* The frame value a port last published (dp_get_port_info); 0 for a bad handle. */
uint64_t ru_last_frame(void *handle);
/* dp_get_port_info(handle).name into out (cap characters with the terminator). */
bool ru_port_name(void *handle, wchar_t *out, size_t cap);
/* Whether dp_list_ports lists a port of that name. */
bool ru_listed(const wchar_t *name);
/* dp12_create_port of a DP_FORMAT_VIDEO port named name with `slots` slots, on the GPU
 * transport only if gpu_only. */
void *ru_create_port(const wchar_t *name, uint32_t width, uint32_t height, uint32_t slots, bool gpu_only);

#endif
