/*
 * test_d3d11.c - the D3D11 core: the cases both cores share (dpcases.h) over its table,
 * cross-core round trips, and its own: a reason from dp11_get_device before init,
 * multithread protection of an adopted device, GPU-only textures.
 */
#include "dpcases.h"

#include <d3d11_4.h>

#include "dptest.h"

/* ID3D11Multithread's IID, which mingw-w64's libdxguid does not carry. */
static const IID iid_multithread = {0x9b7e4e00, 0x342c, 0x4106, {0xa1, 0x9f, 0x4f, 0x27, 0x04, 0xf6, 0x89, 0xf0}};

DP_TEST(d3d11_init_and_shutdown)
{
    /* dp11_get_device says why there is no device; dp12_get_device sets no error yet. */
    ok(dp11_get_device() == NULL, "a device before init");
    ok(dp_last_error() == DP_ERROR_NOT_INITIALIZED, "dp11_get_device before init: %s",
       dp_result_string(dp_last_error()));
    case_init_and_shutdown(&dpt_d3d11);
}

DP_TEST(d3d11_init_with_host_device)
{
    ID3D11Device *device = dpt_d3d11.create_device();
    ID3D11DeviceContext *context = NULL;
    ID3D11Multithread *mt = NULL;
    DP_HANDLE h;
    unsigned long refs_start;
    bool honours_mt = false;
    if (!device)
        skip("no D3D11 device on this system");
    refs_start = dpt_d3d11.device_refs(device);
    /* Protection off, as many hosts leave it: the host transport turns it on and must
     * give the device back as it came. Wine's ID3D11Multithread is a stub that is
     * always on, so there this part checks nothing. */
    ID3D11Device_GetImmediateContext(device, &context);
    if (FAILED(ID3D11DeviceContext_QueryInterface(context, &iid_multithread, (void **)&mt)))
        ID3D11Device_QueryInterface(device, &iid_multithread, (void **)&mt);
    ID3D11DeviceContext_Release(context);
    if (mt) {
        ID3D11Multithread_SetMultithreadProtected(mt, FALSE);
        honours_mt = !ID3D11Multithread_GetMultithreadProtected(mt);
    }
    if (!honours_mt)
        dptest_diag("ID3D11Multithread cannot be turned off here: its restoration is not checked");

    h = case_adopt_device(&dpt_d3d11, device);
    if (h && honours_mt && dp_get_transport(h) == DP_TRANSPORT_HOST)
        ok(ID3D11Multithread_GetMultithreadProtected(mt), "a host-transport port without multithread protection");
    /* Shutdown closes h. */
    dp11_shutdown();
    if (mt) {
        if (honours_mt)
            ok(!ID3D11Multithread_GetMultithreadProtected(mt), "shutdown left multithread protection on");
        ID3D11Multithread_Release(mt);
    }
    case_device_given_back(&dpt_d3d11, device, refs_start);
}

/* dp11 textures live in GPU memory. */
static void check_usage(DP_HANDLE h, DP_FORMAT format, bool system_ram)
{
    D3D11_TEXTURE2D_DESC desc;
    (void)format;
    (void)system_ram;
    if (!dp11_get_texture(h))
        return;
    ID3D11Texture2D_GetDesc(dp11_get_texture(h), &desc);
    ok(desc.Usage == D3D11_USAGE_DEFAULT, "texture usage %d", (int)desc.Usage);
}

DP_TEST(d3d11_create_each_format)
{
    case_create_each_format(&dpt_d3d11, check_usage);
}

DP_TEST(d3d11_gpu_transport_where_supported)
{
    case_gpu_transport_where_supported(&dpt_d3d11, NULL);
}

DP_TEST(d3d11_fence_signal_wait_timeout)
{
    case_fence_signal_wait_timeout(&dpt_d3d11);
}

/* ---- Cross-process and cross-core round trips ----------------------------------------- */

DP_TEST(d3d11_cross_process_frame)
{
    /* dp11_wait_fence in the consumer on legacy names; its CPU wait on a port. */
    case_cross_process_frame(&dpt_d3d11, &dpt_d3d11, "fence", false, DP_TRANSPORT_AUTO, "gpu");
    case_cross_process_frame(&dpt_d3d11, &dpt_d3d11, "cpu", true, DP_TRANSPORT_AUTO, "cpu");
}

DP_TEST(d3d11_from_d3d12_producer)
{
    case_cross_process_frame(&dpt_d3d12, &dpt_d3d11, "from12", false, DP_TRANSPORT_AUTO, "gpu");
}

DP_TEST(d3d11_to_d3d12_consumer)
{
    case_cross_process_frame(&dpt_d3d11, &dpt_d3d12, "to12", false, DP_TRANSPORT_AUTO, "gpu");
}

DP_TEST(d3d11_producer_exit_disconnects)
{
    case_producer_exit_disconnects(&dpt_d3d11);
}

/* ---- Validation ---------------------------------------------------------------------- */

DP_TEST(d3d11_open_rejects_garbage_control_block)
{
    case_open_rejects_garbage_control_block(&dpt_d3d11);
}

DP_TEST(d3d11_bad_arguments)
{
    case_bad_arguments(&dpt_d3d11, NULL);
}

DP_TEST(d3d11_create_close_cycles_leak_nothing)
{
    case_create_close_cycles(&dpt_d3d11, 16, 500);
}
