/*
 * dpgl.h - DirectPort's OpenGL adapter: publish and receive frames of a port in the
 * caller's current WGL context. Built into directport.dll.
 *
 * Modes (dpgl_mode):
 *   DPGL_MODE_INTEROP  the port's D3D textures bound into GL through WGL_NV_DX_interop2:
 *                      zero copies. Needs the GPU transport and the extension.
 *   DPGL_MODE_COPY     the host transport through a ring of persistently mapped pixel
 *                      buffers: the producer's glReadPixels and the consumer's
 *                      glTexSubImage2D are asynchronous, and their CPU copies (with the
 *                      row flip) run on a worker thread. Used wherever interop is missing.
 *                      A consumer of a GPU-transport port that interop cannot bind reads
 *                      the port's D3D11 textures through a staging copy on a thread of
 *                      its own into the same buffers (docs/gl-adapter.md).
 *
 * Rules for every call:
 *   - the WGL context that was current at dpgl_create / dpgl_open must be current
 *     (else DP_ERROR_INVALID_ARGUMENT); calls on one port are for one thread at a time;
 *   - the caller's GL state is left as it was found (bindings, pixel store, viewport,
 *     scissor, enables, current context and DC); docs/gl-adapter.md lists what is saved;
 *   - the adapter loads its GL and WGL entry points itself: the host needs no loader,
 *     and directport.dll does not import opengl32.dll;
 *   - errors as in directport.h: a NULL or DP_RESULT return, and dp_last_error().
 *
 * Orientation: ports store rows top row first. A producer's framebuffer is read with
 * its top row first; a consumer's texture has v = 0 at the top row.
 *
 * Every port needs GL 4.4 or GL_ARB_buffer_storage (persistent mapping) and
 * GL_ARB_sync. Formats map to GL storage (and the client format its rows move as, so
 * the port holds the DXGI format's bytes): VIDEO GL_RGBA8 (GL_BGRA), FLOAT GL_R32F
 * (GL_RED), HALF GL_R16F (GL_RED), RAW_32BIT GL_R32UI (GL_RED_INTEGER), RGBA8 GL_RGBA8,
 * RGBA16F GL_RGBA16F, RGBA32F GL_RGBA32F, RGB10A2 GL_RGB10_A2
 * (GL_UNSIGNED_INT_2_10_10_10_REV); docs/gl-adapter.md has the table.
 */
#ifndef DPGL_H
#define DPGL_H

#include "directport.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct DPGL_PORT DPGL_PORT;
typedef enum { DPGL_MODE_INTEROP = 1, DPGL_MODE_COPY = 2 } DPGL_MODE;

/* Producer: creates the port desc describes (DP_TRANSPORT_AUTO picks COPY on the host
 * transport unless interop works; desc->flags DP_PORT_SYSTEM_RAM is not supported).
 * NULL on failure. */
DP_API DPGL_PORT *dpgl_create(const DP_PORT_DESC *desc);
/* Consumer: opens the port made under name by any producer (GL, D3D12, D3D11). */
DP_API DPGL_PORT *dpgl_open(const wchar_t *name);
/* Producer: reads the region (x, y, width, height) of read_framebuffer (0: the default
 * framebuffer's back buffer, its front one if it has none) and publishes it as the next
 * frame. A multisampled framebuffer is resolved first (its region must then start at
 * x, y >= 0). DP_ERROR_INVALID_ARGUMENT, nothing published and no GL error raised, for
 * a framebuffer that is not complete, has no read buffer, or holds integer values for
 * a port other than RAW_32BIT (none for a RAW_32BIT one); docs/gl-adapter.md lists the
 * checks. DP_ERROR_BUSY: no free slot or buffer, the frame is dropped. The call never
 * waits for a consumer, nor for its readback or blit (in INTEROP mode the driver's lock
 * and unlock may), except when a region of another size resizes the port: then it
 * first lets its own frames in flight finish (up to a second each). */
DP_API DP_RESULT dpgl_publish_framebuffer(DPGL_PORT *p, unsigned read_framebuffer, int x, int y, int width,
                                          int height);
/* Producer: publishes level 0 of a GL_TEXTURE_2D (GL convention: row 0 at the bottom),
 * in either mode. DP_ERROR_INVALID_ARGUMENT for a depth texture, or integer values for a
 * port other than RAW_32BIT (none for a RAW_32BIT one). */
DP_API DP_RESULT dpgl_publish_texture(DPGL_PORT *p, unsigned texture);
/* Consumer: waits up to timeout_ms for a frame newer than the last acquired, uploads it
 * and returns it as the GL_TEXTURE_2D *out_texture, owned by the port and valid until
 * dpgl_release. DP_ERROR_TIMEOUT, DP_ERROR_DISCONNECTED (producer gone); follows a
 * resize or a restarted producer. */
DP_API DP_RESULT dpgl_acquire(DPGL_PORT *p, uint32_t timeout_ms, unsigned *out_texture, uint64_t *out_frame);
DP_API void dpgl_release(DPGL_PORT *p);
/* The mode, 0 for NULL. */
DP_API DPGL_MODE dpgl_mode(const DPGL_PORT *p);
/* The core handle of the port (for dp_get_port_info, dp_get_transport); owned by p. */
DP_API DP_HANDLE dpgl_port(const DPGL_PORT *p);
/* Closes the port; deletes its GL objects if its context is current (they go with
 * the context otherwise). An INTEROP consumer holding a frame gives its slot back once
 * GL's reads of it are done (at most a second), which needs the context current too.
 * NULL is fine. */
DP_API void dpgl_close(DPGL_PORT *p);

#ifdef __cplusplus
}
#endif

#endif /* DPGL_H */
