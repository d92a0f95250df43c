/*
 * client_gl.c - a GL-only client: directport.h and adapters/gl/dpgl.h, nothing else
 * of Windows. Neither header may pull in a D3D header or <windows.h>; both compile
 * warning-free as C11 and the adapter's functions link through libdirectport.dll.a.
 * client_gl.cpp is the same check in C++17.
 */
#include "directport.h"
#include "adapters/gl/dpgl.h"

#if defined(__d3d12_h__) || defined(__d3d11_h__) || defined(_WINDOWS_)
#error "directport.h or dpgl.h included a D3D header or <windows.h>"
#endif

#include <stdio.h>

typedef void (*any_fn)(void); /* matches any function type in a cast */

static any_fn const gl_api[] = {
    (any_fn)dpgl_create,
    (any_fn)dpgl_open,
    (any_fn)dpgl_publish_framebuffer,
    (any_fn)dpgl_publish_texture,
    (any_fn)dpgl_acquire,
    (any_fn)dpgl_release,
    (any_fn)dpgl_mode,
    (any_fn)dpgl_port,
    (any_fn)dpgl_close,
};

int main(void)
{
    unsigned missing = 0;
    for (size_t i = 0; i < sizeof gl_api / sizeof gl_api[0]; i++)
        missing += gl_api[i] == NULL;
    /* No GL context is current: the adapter must refuse, not crash. */
    DPGL_PORT *port = dpgl_open(L"client_gl");
    printf("client_gl: %u functions bound, %u missing; dpgl_open without a context: %s\n",
           (unsigned)(sizeof gl_api / sizeof gl_api[0]), missing,
           dp_result_string(dp_last_error()));
    dpgl_close(port);
    return missing || port ? 1 : 0;
}
