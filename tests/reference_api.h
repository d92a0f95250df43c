/*
 * reference_api.h - the DirectPort reference's C API as its callers declare it: the v6.1
 * header's declarations, the v6.0 name of the CPU wait, and the four extras its C#
 * binding calls. Written here on purpose instead of including directport.h: like the
 * reference header it needs only stdint.h/stdbool.h (and stddef.h for wchar_t in C),
 * marks every function DP_EXPORT (dllexport, as the reference does) and names no D3D
 * type. test_reference.c is built against it and linked with libdirectport.dll.a, as
 * the reference's callers are.
 */
#ifndef REFERENCE_API_H
#define REFERENCE_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DP_EXPORT __declspec(dllexport)

typedef enum {
    DP_FORMAT_VIDEO = 0,     /* DXGI_FORMAT_B8G8R8A8_UNORM (4 bytes per unit) */
    DP_FORMAT_FLOAT = 1,     /* DXGI_FORMAT_R32_FLOAT      (4 bytes per unit) */
    DP_FORMAT_HALF = 2,      /* DXGI_FORMAT_R16_FLOAT      (2 bytes per unit) */
    DP_FORMAT_RAW_32BIT = 3  /* DXGI_FORMAT_R32_UINT       (4 bytes per unit) */
} DP_FORMAT;

typedef void *DP_HANDLE;

DP_EXPORT bool dp12_init(void);
DP_EXPORT void dp12_shutdown(void);
DP_EXPORT DP_HANDLE dp12_create_shared_resource(uint32_t width, uint32_t height, DP_FORMAT format, bool is_system_ram,
                                                const wchar_t *tex_name, const wchar_t *fence_name);
DP_EXPORT DP_HANDLE dp12_open_shared_resource(const wchar_t *tex_name, const wchar_t *fence_name);
DP_EXPORT void *dp12_map_memory(DP_HANDLE handle, uint32_t *out_row_pitch);
DP_EXPORT void dp12_unmap_memory(DP_HANDLE handle);
DP_EXPORT void dp12_signal_fence(DP_HANDLE handle, uint64_t frame_value);
DP_EXPORT void dp12_cpu_wait(DP_HANDLE handle, uint64_t target_value);
DP_EXPORT uint64_t dp12_get_completed_value(DP_HANDLE handle);
DP_EXPORT void *dp12_get_resource_handle(DP_HANDLE handle);
DP_EXPORT void *dp12_get_fence_handle(DP_HANDLE handle);
DP_EXPORT void dp12_close(DP_HANDLE handle);

DP_EXPORT bool dp11_init(void);
DP_EXPORT void dp11_shutdown(void);
DP_EXPORT DP_HANDLE dp11_create_shared_resource(uint32_t width, uint32_t height, DP_FORMAT format,
                                                const wchar_t *tex_name, const wchar_t *fence_name);
DP_EXPORT DP_HANDLE dp11_open_shared_resource(const wchar_t *tex_name, const wchar_t *fence_name);
DP_EXPORT void dp11_signal_fence(DP_HANDLE handle, uint64_t frame_value);
DP_EXPORT void dp11_wait_fence(DP_HANDLE handle, uint64_t target_value);
DP_EXPORT void dp11_close(DP_HANDLE handle);

/* The v6.0 header's name of the CPU wait. */
DP_EXPORT void dp12_wait_fence(DP_HANDLE handle, uint64_t target_value);

/* What the C# binding declares besides. */
DP_EXPORT bool dp12_get_adapter_luid(int64_t *out_luid);
DP_EXPORT int32_t dp12_last_hresult(void);
DP_EXPORT bool dp12_is_uma(void);
DP_EXPORT bool dp12_upload_bgra(DP_HANDLE handle, const void *src, uint32_t src_row_pitch, uint32_t width,
                                uint32_t height, uint64_t frame_value);

#ifdef __cplusplus
}
#endif

#endif /* REFERENCE_API_H */
