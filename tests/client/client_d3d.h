/*
 * client_d3d.h - the body of the clients that include directport.h together with
 * d3d12.h and d3d11.h: client_d3d_after.c/.cpp include directport.h first,
 * client_d3d_before.c/.cpp the D3D headers first; each as C11 and C++17.
 *
 * The D3D interfaces directport.h declares must be the very types d3d12.h and d3d11.h
 * define, in either order and either language. Here they meet three ways: the
 * declarations are repeated with DP_EXPORT and the D3D headers' types, as code written
 * against the reference header has them (a different type would be a conflicting
 * declaration); devices made by D3D12CreateDevice / D3D11CreateDevice go into
 * dp12_init_with_device / dp11_init_with_device; and the pointers dp12_get_device /
 * dp11_get_device return are used through the D3D headers' interfaces.
 */
#if !defined(DIRECTPORT_H) || !defined(__d3d12_h__) || !defined(__d3d11_h__)
#error "include directport.h, d3d12.h and d3d11.h before client_d3d.h"
#endif

#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif
DP_EXPORT bool dp12_init_with_device(ID3D12Device *device);
DP_EXPORT ID3D12Device *dp12_get_device(void);
DP_EXPORT ID3D12Resource *dp12_get_resource(DP_HANDLE h);
DP_EXPORT ID3D12Fence *dp12_get_fence(DP_HANDLE h);
DP_EXPORT bool dp12_queue_signal(DP_HANDLE h, ID3D12CommandQueue *queue, uint64_t value);
DP_EXPORT DP_RESULT dp12_acquire_frame(DP_HANDLE h, ID3D12CommandQueue *queue, uint32_t timeout_ms,
                                       ID3D12Resource **out_source, uint64_t *out_frame);
DP_EXPORT bool dp11_init_with_device(ID3D11Device *device);
DP_EXPORT ID3D11Device *dp11_get_device(void);
DP_EXPORT ID3D11Texture2D *dp11_get_texture(DP_HANDLE h);
DP_EXPORT DP_RESULT dp11_begin_frame(DP_HANDLE h, ID3D11Texture2D **out_target);
#ifdef __cplusplus
}
#endif

/* COM calls and IID arguments as each language writes them. */
#ifdef __cplusplus
#define CLIENT_CALL(obj, method) ((obj)->method())
#define CLIENT_REFIID(iid) (iid)
#else
#define CLIENT_CALL(obj, method) ((obj)->lpVtbl->method(obj))
#define CLIENT_REFIID(iid) (&(iid))
#endif

/* IID_ID3D12Device, which mingw-w64's libdxguid lacks. */
static const IID client_iid_d3d12_device = {
    0x189819f1, 0x1db6, 0x4b57, {0xbe, 0x54, 0x18, 0x21, 0x33, 0x9b, 0x85, 0xf7}};

static int client_d3d12(void)
{
    ID3D12Device *device = NULL;
    HRESULT hr = D3D12CreateDevice(NULL, D3D_FEATURE_LEVEL_11_0,
                                   CLIENT_REFIID(client_iid_d3d12_device), (void **)&device);
    if (FAILED(hr)) {
        printf("client_d3d: no D3D12 device (hr 0x%08lx), not run\n", (unsigned long)hr);
        return 0;
    }
    int bad = !dp12_init_with_device(device) || dp12_get_device() != device;
    if (!bad) {
        ID3D12Device *in_use = dp12_get_device();
        printf("client_d3d: dp12 on the caller's device, %u node(s)\n",
               CLIENT_CALL(in_use, GetNodeCount));
    }
    dp12_shutdown();
    CLIENT_CALL(device, Release);
    return bad;
}

static int client_d3d11(void)
{
    ID3D11Device *device = NULL;
    HRESULT hr = D3D11CreateDevice(NULL, D3D_DRIVER_TYPE_HARDWARE, NULL, 0, NULL, 0,
                                   D3D11_SDK_VERSION, &device, NULL, NULL);
    if (FAILED(hr)) {
        printf("client_d3d: no D3D11 device (hr 0x%08lx), not run\n", (unsigned long)hr);
        return 0;
    }
    int bad = !dp11_init_with_device(device) || dp11_get_device() != device;
    if (!bad) {
        ID3D11Device *in_use = dp11_get_device();
        printf("client_d3d: dp11 on the caller's device, feature level 0x%x\n",
               (unsigned)CLIENT_CALL(in_use, GetFeatureLevel));
    }
    dp11_shutdown();
    CLIENT_CALL(device, Release);
    return bad;
}

int main(void)
{
    int bad = client_d3d12();
    bad |= client_d3d11();
    if (bad)
        printf("client_d3d: %s\n", dp_last_error_message());
    return bad;
}
