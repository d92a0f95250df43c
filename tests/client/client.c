/*
 * client.c - a consumer of the public header and nothing else: directport.h must
 * compile warning-free as C11 (-Wall -Wextra -Werror, no UNICODE or _WIN32_WINNT of
 * ours) and every function must link through libdirectport.dll.a.
 * client.cpp is the same check in C++17.
 */
#include "directport.h"

#include <stdio.h>

typedef void (*any_fn)(void); /* matches any function type in a cast */

/* The reference API first, then the additions. */
static any_fn const public_api[] = {
    (any_fn)dp12_init,
    (any_fn)dp12_shutdown,
    (any_fn)dp12_create_shared_resource,
    (any_fn)dp12_open_shared_resource,
    (any_fn)dp12_map_memory,
    (any_fn)dp12_unmap_memory,
    (any_fn)dp12_signal_fence,
    (any_fn)dp12_cpu_wait,
    (any_fn)dp12_queue_wait,
    (any_fn)dp12_get_completed_value,
    (any_fn)dp12_get_resource_handle,
    (any_fn)dp12_get_fence_handle,
    (any_fn)dp12_close,
    (any_fn)dp11_init,
    (any_fn)dp11_shutdown,
    (any_fn)dp11_create_shared_resource,
    (any_fn)dp11_open_shared_resource,
    (any_fn)dp11_signal_fence,
    (any_fn)dp11_wait_fence,
    (any_fn)dp11_close,
    (any_fn)dp_last_error,
    (any_fn)dp_last_error_message,
    (any_fn)dp_result_string,
    (any_fn)dp_get_transport,
    (any_fn)dp_get_port_info,
    (any_fn)dp_get_stats,
    (any_fn)dp_debug_errors,
    (any_fn)dp12_init_with_device,
    (any_fn)dp12_get_device,
    (any_fn)dp12_create_port,
    (any_fn)dp12_open_port,
    (any_fn)dp12_get_resource,
    (any_fn)dp12_get_fence,
    (any_fn)dp12_queue_signal,
    (any_fn)dp12_cpu_wait_timeout,
    (any_fn)dp11_init_with_device,
    (any_fn)dp11_get_device,
    (any_fn)dp11_create_port,
    (any_fn)dp11_open_port,
    (any_fn)dp11_get_texture,
    (any_fn)dp11_get_completed_value,
    (any_fn)dp11_cpu_wait_timeout,
    (any_fn)dp12_wait_fence,
    (any_fn)dp12_get_adapter_luid,
    (any_fn)dp12_last_hresult,
    (any_fn)dp12_is_uma,
    (any_fn)dp12_upload_bgra,
};

int main(void)
{
    unsigned missing = 0;
    for (size_t i = 0; i < sizeof public_api / sizeof public_api[0]; i++)
        missing += public_api[i] == NULL;
    if (!dp12_init()) {
        printf("dp12_init failed: %s\n", dp_last_error_message());
        return 1;
    }
    dp12_shutdown();
    printf("client: %u functions bound, %u missing\n",
           (unsigned)(sizeof public_api / sizeof public_api[0]), missing);
    return missing ? 1 : 0;
}
