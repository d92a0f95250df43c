/*
 * client.cpp - a consumer of the public header and nothing else: directport.h must
 * compile warning-free as C++17 (-Wall -Wextra -Werror, no UNICODE or _WIN32_WINNT of
 * ours) and every function must link through libdirectport.dll.a.
 * client.c is the same check in C11.
 */
#include "directport.h"

#include <cstddef>
#include <cstdio>

using any_fn = void (*)(); /* matches any function type in a cast */

/* The reference API first, then the additions. */
static any_fn const public_api[] = {
    reinterpret_cast<any_fn>(dp12_init),
    reinterpret_cast<any_fn>(dp12_shutdown),
    reinterpret_cast<any_fn>(dp12_create_shared_resource),
    reinterpret_cast<any_fn>(dp12_open_shared_resource),
    reinterpret_cast<any_fn>(dp12_map_memory),
    reinterpret_cast<any_fn>(dp12_unmap_memory),
    reinterpret_cast<any_fn>(dp12_signal_fence),
    reinterpret_cast<any_fn>(dp12_cpu_wait),
    reinterpret_cast<any_fn>(dp12_queue_wait),
    reinterpret_cast<any_fn>(dp12_get_completed_value),
    reinterpret_cast<any_fn>(dp12_get_resource_handle),
    reinterpret_cast<any_fn>(dp12_get_fence_handle),
    reinterpret_cast<any_fn>(dp12_close),
    reinterpret_cast<any_fn>(dp11_init),
    reinterpret_cast<any_fn>(dp11_shutdown),
    reinterpret_cast<any_fn>(dp11_create_shared_resource),
    reinterpret_cast<any_fn>(dp11_open_shared_resource),
    reinterpret_cast<any_fn>(dp11_signal_fence),
    reinterpret_cast<any_fn>(dp11_wait_fence),
    reinterpret_cast<any_fn>(dp11_close),
    reinterpret_cast<any_fn>(dp_last_error),
    reinterpret_cast<any_fn>(dp_last_error_message),
    reinterpret_cast<any_fn>(dp_result_string),
    reinterpret_cast<any_fn>(dp_get_transport),
    reinterpret_cast<any_fn>(dp_get_port_info),
    reinterpret_cast<any_fn>(dp_get_stats),
    reinterpret_cast<any_fn>(dp_debug_errors),
    reinterpret_cast<any_fn>(dp12_init_with_device),
    reinterpret_cast<any_fn>(dp12_get_device),
    reinterpret_cast<any_fn>(dp12_create_port),
    reinterpret_cast<any_fn>(dp12_open_port),
    reinterpret_cast<any_fn>(dp12_get_resource),
    reinterpret_cast<any_fn>(dp12_get_fence),
    reinterpret_cast<any_fn>(dp12_queue_signal),
    reinterpret_cast<any_fn>(dp12_cpu_wait_timeout),
    reinterpret_cast<any_fn>(dp11_init_with_device),
    reinterpret_cast<any_fn>(dp11_get_device),
    reinterpret_cast<any_fn>(dp11_create_port),
    reinterpret_cast<any_fn>(dp11_open_port),
    reinterpret_cast<any_fn>(dp11_get_texture),
    reinterpret_cast<any_fn>(dp11_get_completed_value),
    reinterpret_cast<any_fn>(dp11_cpu_wait_timeout),
    reinterpret_cast<any_fn>(dp12_wait_fence),
    reinterpret_cast<any_fn>(dp12_get_adapter_luid),
    reinterpret_cast<any_fn>(dp12_last_hresult),
    reinterpret_cast<any_fn>(dp12_is_uma),
    reinterpret_cast<any_fn>(dp12_upload_bgra),
};

int main(void)
{
    unsigned missing = 0;
    for (std::size_t i = 0; i < sizeof public_api / sizeof public_api[0]; i++)
        missing += public_api[i] == nullptr;
    if (!dp12_init()) {
        std::printf("dp12_init failed: %s\n", dp_last_error_message());
        return 1;
    }
    dp12_shutdown();
    std::printf("client: %u functions bound, %u missing\n",
           static_cast<unsigned>(sizeof public_api / sizeof public_api[0]), missing);
    return missing ? 1 : 0;
}
