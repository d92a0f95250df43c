/*
 * client_gl.cpp - a GL-only client: directport.h and adapters/gl/dpgl.h, nothing else
 * of Windows. Neither header may pull in a D3D header or <windows.h>; both compile
 * warning-free as C++17 and the adapter's functions link through libdirectport.dll.a.
 * client_gl.c is the same check in C11.
 */
#include "directport.h"
#include "adapters/gl/dpgl.h"

#if defined(__d3d12_h__) || defined(__d3d11_h__) || defined(_WINDOWS_)
#error "directport.h or dpgl.h included a D3D header or <windows.h>"
#endif

#include <cstddef>
#include <cstdio>

using any_fn = void (*)(); /* matches any function type in a cast */

static any_fn const gl_api[] = {
    reinterpret_cast<any_fn>(dpgl_create),
    reinterpret_cast<any_fn>(dpgl_open),
    reinterpret_cast<any_fn>(dpgl_publish_framebuffer),
    reinterpret_cast<any_fn>(dpgl_publish_texture),
    reinterpret_cast<any_fn>(dpgl_acquire),
    reinterpret_cast<any_fn>(dpgl_release),
    reinterpret_cast<any_fn>(dpgl_mode),
    reinterpret_cast<any_fn>(dpgl_port),
    reinterpret_cast<any_fn>(dpgl_close),
};

int main(void)
{
    unsigned missing = 0;
    for (std::size_t i = 0; i < sizeof gl_api / sizeof gl_api[0]; i++)
        missing += gl_api[i] == nullptr;
    /* No GL context is current: the adapter must refuse, not crash. */
    DPGL_PORT *port = dpgl_open(L"client_gl");
    std::printf("client_gl: %u functions bound, %u missing; dpgl_open without a context: %s\n",
                static_cast<unsigned>(sizeof gl_api / sizeof gl_api[0]), missing,
                dp_result_string(dp_last_error()));
    dpgl_close(port);
    return missing || port ? 1 : 0;
}
