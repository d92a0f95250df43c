/*
 * dpgl.c - the OpenGL adapter (adapters/gl/dpgl.h): a port in the caller's WGL context.
 *
 * COPY mode, over the host transport, needs no D3D device: the GL side moves pixels
 * between GL and persistently mapped pixel buffers, and the port's worker thread
 * (directporthost.c) moves them between those buffers and the section.
 *
 *   producer  publish: glReadPixels into a free buffer + a fence; once the fence has
 *             passed (polled, never waited for), a readback job for the worker, which
 *             copies the rows bottom-up into the slot (flipping GL's bottom row first
 *             to the port's top row first) and publishes the frame.
 *   consumer  the worker follows the port: each newer frame goes into a free buffer;
 *             acquire uploads the newest ready buffer into the port's texture with
 *             glTexSubImage2D, which the GL stream orders after the caller's earlier
 *             use of that texture, so one texture serves.
 *
 * Buffer states move FREE -> (caller) READING -> COPYING -> (worker) FREE on the producer,
 * FREE -> (worker) FILLING -> READY -> (caller) UPLOADING -> FREE on the consumer; each
 * change is one interlocked store by the side that owns the buffer in that state.
 *
 * INTEROP mode binds a GPU-transport port's D3D11 slot textures (the dp11 core) into GL
 * with WGL_NV_DX_interop2, detected by its extension string and its functions: the
 * producer blits its framebuffer into the locked slot texture (flipping rows on the
 * GPU) and ends the frame on the D3D11 side after the unlock; the consumer acquires on
 * the D3D11 side (a GPU-side wait) and locks the slot texture for GL until release.
 */
#include "directportint.h"

#include <GL/gl.h>
#include <GL/glext.h>
#include <GL/wglext.h>

#include "adapters/gl/dpgl.h"

#define DPGL_MAGIC 0x4c475044u /* "DPGL" */
#define DPGL_BUFFERS 3u

enum { DPGL_FREE, DPGL_READING, DPGL_COPYING, DPGL_FILLING, DPGL_READY, DPGL_UPLOADING };

/* The entry points, loaded per port from the context current at create/open. */
typedef struct {
    HGLRC(WINAPI *GetCurrentContext)(void);
    HDC(WINAPI *GetCurrentDC)(void);
    PROC(WINAPI *GetProcAddress)(LPCSTR);
    void(APIENTRY *GetIntegerv)(GLenum, GLint *);
    void(APIENTRY *Enable)(GLenum);
    void(APIENTRY *Disable)(GLenum);
    void(APIENTRY *BindTexture)(GLenum, GLuint);
    GLboolean(APIENTRY *IsTexture)(GLuint);
    PFNGLGETTEXTUREPARAMETERIVPROC GetTextureParameteriv; /* GL 4.5; NULL before */
    void(APIENTRY *GenTextures)(GLsizei, GLuint *);
    void(APIENTRY *DeleteTextures)(GLsizei, const GLuint *);
    void(APIENTRY *TexImage2D)(GLenum, GLint, GLint, GLsizei, GLsizei, GLint, GLenum, GLenum, const void *);
    void(APIENTRY *TexSubImage2D)(GLenum, GLint, GLint, GLint, GLsizei, GLsizei, GLenum, GLenum, const void *);
    void(APIENTRY *TexParameteri)(GLenum, GLenum, GLint);
    void(APIENTRY *GetTexLevelParameteriv)(GLenum, GLint, GLenum, GLint *);
    void(APIENTRY *GetTexImage)(GLenum, GLint, GLenum, GLenum, void *);
    void(APIENTRY *PixelStorei)(GLenum, GLint);
    void(APIENTRY *ReadPixels)(GLint, GLint, GLsizei, GLsizei, GLenum, GLenum, void *);
    void(APIENTRY *ReadBuffer)(GLenum);
    const GLubyte *(APIENTRY *GetString)(GLenum);
    PFNGLGENBUFFERSPROC GenBuffers;
    PFNGLDELETEBUFFERSPROC DeleteBuffers;
    PFNGLBINDBUFFERPROC BindBuffer;
    PFNGLBUFFERSTORAGEPROC BufferStorage;
    PFNGLMAPBUFFERRANGEPROC MapBufferRange;
    PFNGLUNMAPBUFFERPROC UnmapBuffer;
    PFNGLFENCESYNCPROC FenceSync;
    PFNGLCLIENTWAITSYNCPROC ClientWaitSync;
    PFNGLDELETESYNCPROC DeleteSync;
    PFNGLBINDFRAMEBUFFERPROC BindFramebuffer;
    /* INTEROP only. */
    PFNGLGENFRAMEBUFFERSPROC GenFramebuffers;
    PFNGLDELETEFRAMEBUFFERSPROC DeleteFramebuffers;
    PFNGLFRAMEBUFFERTEXTURE2DPROC FramebufferTexture2D;
    PFNGLBLITFRAMEBUFFERPROC BlitFramebuffer;
    PFNWGLGETEXTENSIONSSTRINGARBPROC GetExtensionsStringARB;
    PFNWGLDXOPENDEVICENVPROC DXOpenDeviceNV;
    PFNWGLDXCLOSEDEVICENVPROC DXCloseDeviceNV;
    PFNWGLDXREGISTEROBJECTNVPROC DXRegisterObjectNV;
    PFNWGLDXUNREGISTEROBJECTNVPROC DXUnregisterObjectNV;
    PFNWGLDXLOCKOBJECTSNVPROC DXLockObjectsNV;
    PFNWGLDXUNLOCKOBJECTSNVPROC DXUnlockObjectsNV;
    PFNWGLDXSETRESOURCESHAREHANDLENVPROC DXSetResourceShareHandleNV;
} dpgl_gl;

/* A D3D11 slot texture registered with GL (INTEROP). */
typedef struct {
    ID3D11Texture2D *texture;
    GLuint name;
    HANDLE object;
} dpgl_interop_object;

typedef struct {
    GLuint name;
    uint8_t *ptr;               /* persistent mapping, rows tightly packed */
    GLsync sync;
    volatile LONG state;
    uint32_t slot;              /* producer: the port slot it is read for */
    volatile LONG64 frame;
} dpgl_buffer;

struct DPGL_PORT {
    uint32_t magic;
    dp_port base;               /* registered as a DP_KIND_GL handle */
    DP_HANDLE handle;
    HGLRC context;
    dpgl_gl gl;
    GLenum internal_format, format, type;
    uint32_t row_bytes;         /* width * bytes per pixel: a buffer row */
    dpgl_buffer buffer[DPGL_BUFFERS];
    GLuint texture;             /* consumer */
    volatile LONG64 harvested;  /* producer: newest frame whose readback finished on the GPU */
    HANDLE ready;               /* consumer: auto-reset, set by the worker for a READY buffer */
    bool held;
    /* INTEROP. */
    DPGL_MODE mode;
    DP_HANDLE dx;               /* the dp11 handle of the port */
    HANDLE dx_device;           /* wglDXOpenDeviceNV */
    dpgl_interop_object object[DPB_MAX_SLOTS];
    HANDLE locked;              /* consumer: the object locked for the frame held */
    GLuint blit_fbo;            /* producer: draws into the locked slot texture */
};

/* ---- Entry points and state ------------------------------------------------------------ */

static bool dpgl_load(dpgl_gl *gl)
{
    HMODULE gl32 = GetModuleHandleW(L"opengl32.dll");
    memset(gl, 0, sizeof(*gl));
    if (!gl32)
        return false;
    /* Function pointers of different types: copied, not cast through a pointer. */
#define DPGL_WGL(name, sym)                                                                  \
    do {                                                                                     \
        FARPROC f_ = GetProcAddress(gl32, sym);                                              \
        memcpy(&gl->name, &f_, sizeof(f_));                                                  \
    } while (0)
    DPGL_WGL(GetCurrentContext, "wglGetCurrentContext");
    DPGL_WGL(GetCurrentDC, "wglGetCurrentDC");
    DPGL_WGL(GetProcAddress, "wglGetProcAddress");
    DPGL_WGL(GetIntegerv, "glGetIntegerv");
    DPGL_WGL(Enable, "glEnable");
    DPGL_WGL(Disable, "glDisable");
    DPGL_WGL(BindTexture, "glBindTexture");
    DPGL_WGL(IsTexture, "glIsTexture");
    DPGL_WGL(GenTextures, "glGenTextures");
    DPGL_WGL(DeleteTextures, "glDeleteTextures");
    DPGL_WGL(TexImage2D, "glTexImage2D");
    DPGL_WGL(TexSubImage2D, "glTexSubImage2D");
    DPGL_WGL(TexParameteri, "glTexParameteri");
    DPGL_WGL(GetTexLevelParameteriv, "glGetTexLevelParameteriv");
    DPGL_WGL(GetTexImage, "glGetTexImage");
    DPGL_WGL(PixelStorei, "glPixelStorei");
    DPGL_WGL(ReadPixels, "glReadPixels");
    DPGL_WGL(ReadBuffer, "glReadBuffer");
    DPGL_WGL(GetString, "glGetString");
#undef DPGL_WGL
    if (!gl->GetCurrentContext || !gl->GetProcAddress || !gl->GetString || !gl->IsTexture)
        return false;
    return true;
}

/* The GL >= 1.2 functions, from the current context. */
static bool dpgl_load_context(dpgl_gl *gl)
{
#define DPGL_EXT(name, sym)                                                                  \
    do {                                                                                     \
        PROC f_ = gl->GetProcAddress(sym);                                                   \
        memcpy(&gl->name, &f_, sizeof(f_));                                                  \
    } while (0)
    DPGL_EXT(GenBuffers, "glGenBuffers");
    DPGL_EXT(DeleteBuffers, "glDeleteBuffers");
    DPGL_EXT(BindBuffer, "glBindBuffer");
    DPGL_EXT(BufferStorage, "glBufferStorage");
    DPGL_EXT(MapBufferRange, "glMapBufferRange");
    DPGL_EXT(UnmapBuffer, "glUnmapBuffer");
    DPGL_EXT(FenceSync, "glFenceSync");
    DPGL_EXT(ClientWaitSync, "glClientWaitSync");
    DPGL_EXT(DeleteSync, "glDeleteSync");
    DPGL_EXT(BindFramebuffer, "glBindFramebuffer");
    DPGL_EXT(GetTextureParameteriv, "glGetTextureParameteriv");
    DPGL_EXT(GenFramebuffers, "glGenFramebuffers");
    DPGL_EXT(DeleteFramebuffers, "glDeleteFramebuffers");
    DPGL_EXT(FramebufferTexture2D, "glFramebufferTexture2D");
    DPGL_EXT(BlitFramebuffer, "glBlitFramebuffer");
    DPGL_EXT(GetExtensionsStringARB, "wglGetExtensionsStringARB");
    DPGL_EXT(DXOpenDeviceNV, "wglDXOpenDeviceNV");
    DPGL_EXT(DXCloseDeviceNV, "wglDXCloseDeviceNV");
    DPGL_EXT(DXRegisterObjectNV, "wglDXRegisterObjectNV");
    DPGL_EXT(DXUnregisterObjectNV, "wglDXUnregisterObjectNV");
    DPGL_EXT(DXLockObjectsNV, "wglDXLockObjectsNV");
    DPGL_EXT(DXUnlockObjectsNV, "wglDXUnlockObjectsNV");
    DPGL_EXT(DXSetResourceShareHandleNV, "wglDXSetResourceShareHandleNV");
#undef DPGL_EXT
    return gl->GenBuffers && gl->DeleteBuffers && gl->BindBuffer && gl->BufferStorage && gl->MapBufferRange &&
           gl->UnmapBuffer && gl->FenceSync && gl->ClientWaitSync && gl->DeleteSync && gl->BindFramebuffer;
}

/* What any dpgl call may change, saved on entry and put back on the way out. */
typedef struct {
    GLint read_fbo, draw_fbo, read_buffer, pack_buffer, unpack_buffer, texture;
    GLint pack[4], unpack[4];
    GLint scissor_test, srgb;
} dpgl_state;

static const GLenum dpgl_pack_names[4] = {GL_PACK_ALIGNMENT, GL_PACK_ROW_LENGTH, GL_PACK_SKIP_ROWS,
                                          GL_PACK_SKIP_PIXELS};
static const GLenum dpgl_unpack_names[4] = {GL_UNPACK_ALIGNMENT, GL_UNPACK_ROW_LENGTH, GL_UNPACK_SKIP_ROWS,
                                            GL_UNPACK_SKIP_PIXELS};

static void dpgl_save(const dpgl_gl *gl, dpgl_state *s)
{
    gl->GetIntegerv(GL_READ_FRAMEBUFFER_BINDING, &s->read_fbo);
    gl->GetIntegerv(GL_DRAW_FRAMEBUFFER_BINDING, &s->draw_fbo);
    gl->GetIntegerv(GL_SCISSOR_TEST, &s->scissor_test);
    gl->GetIntegerv(GL_FRAMEBUFFER_SRGB, &s->srgb);
    gl->GetIntegerv(GL_READ_BUFFER, &s->read_buffer);
    gl->GetIntegerv(GL_PIXEL_PACK_BUFFER_BINDING, &s->pack_buffer);
    gl->GetIntegerv(GL_PIXEL_UNPACK_BUFFER_BINDING, &s->unpack_buffer);
    gl->GetIntegerv(GL_TEXTURE_BINDING_2D, &s->texture);
    for (int i = 0; i < 4; i++) {
        gl->GetIntegerv(dpgl_pack_names[i], &s->pack[i]);
        gl->GetIntegerv(dpgl_unpack_names[i], &s->unpack[i]);
    }
}

/* Tightly packed rows for our transfers. */
static void dpgl_tight(const dpgl_gl *gl)
{
    for (int i = 0; i < 4; i++) {
        gl->PixelStorei(dpgl_pack_names[i], i == 0 ? 1 : 0);
        gl->PixelStorei(dpgl_unpack_names[i], i == 0 ? 1 : 0);
    }
}

static void dpgl_restore(const dpgl_gl *gl, const dpgl_state *s)
{
    for (int i = 0; i < 4; i++) {
        gl->PixelStorei(dpgl_pack_names[i], s->pack[i]);
        gl->PixelStorei(dpgl_unpack_names[i], s->unpack[i]);
    }
    gl->BindTexture(GL_TEXTURE_2D, (GLuint)s->texture);
    gl->BindBuffer(GL_PIXEL_UNPACK_BUFFER, (GLuint)s->unpack_buffer);
    gl->BindBuffer(GL_PIXEL_PACK_BUFFER, (GLuint)s->pack_buffer);
    /* The read buffer belongs to the framebuffer that was bound when it was read. */
    gl->BindFramebuffer(GL_READ_FRAMEBUFFER, (GLuint)s->read_fbo);
    gl->ReadBuffer((GLenum)s->read_buffer);
    gl->BindFramebuffer(GL_DRAW_FRAMEBUFFER, (GLuint)s->draw_fbo);
    (s->scissor_test ? gl->Enable : gl->Disable)(GL_SCISSOR_TEST);
    (s->srgb ? gl->Enable : gl->Disable)(GL_FRAMEBUFFER_SRGB);
}

static GLint dpgl_bind_read(DPGL_PORT *p, GLuint fbo);
static void dpgl_unbind_read(DPGL_PORT *p, GLuint fbo, GLint previous);

/* ---- INTEROP ------------------------------------------------------------------------------ */

/* Whether the current context offers WGL_NV_DX_interop2: its name and its functions. */
static bool dpgl_interop_available(const dpgl_gl *gl)
{
    const char *ext = gl->GetExtensionsStringARB ? gl->GetExtensionsStringARB(gl->GetCurrentDC()) : NULL;
    return ext && strstr(ext, "WGL_NV_DX_interop2") && gl->DXOpenDeviceNV && gl->DXCloseDeviceNV &&
           gl->DXRegisterObjectNV && gl->DXUnregisterObjectNV && gl->DXLockObjectsNV && gl->DXUnlockObjectsNV &&
           gl->GenFramebuffers && gl->FramebufferTexture2D && gl->BlitFramebuffer;
}

static void dpgl_interop_forget(DPGL_PORT *p, bool gl_current)
{
    for (uint32_t i = 0; i < DPB_MAX_SLOTS; i++) {
        dpgl_interop_object *o = &p->object[i];
        if (gl_current && o->object)
            p->gl.DXUnregisterObjectNV(p->dx_device, o->object);
        if (gl_current && o->name)
            p->gl.DeleteTextures(1, &o->name);
        memset(o, 0, sizeof(*o));
    }
}

/* The GL side of a D3D11 slot texture, registered at first use. */
static HANDLE dpgl_interop_object_for(DPGL_PORT *p, ID3D11Texture2D *texture, GLenum access)
{
    dpgl_interop_object *o = NULL;
    for (uint32_t i = 0; i < DPB_MAX_SLOTS; i++) {
        if (p->object[i].texture == texture)
            return p->object[i].object;
        if (!o && !p->object[i].texture)
            o = &p->object[i];
    }
    if (!o) {
        /* A new generation's textures: the old registrations are stale. */
        dpgl_interop_forget(p, true);
        o = &p->object[0];
    }
    p->gl.GenTextures(1, &o->name);
    o->object = p->gl.DXRegisterObjectNV(p->dx_device, texture, o->name, GL_TEXTURE_2D, access);
    if (!o->object) {
        p->gl.DeleteTextures(1, &o->name);
        memset(o, 0, sizeof(*o));
        dp_fail(DP_ERROR_DEVICE, "wglDXRegisterObjectNV failed: Win32 error %lu", GetLastError());
        return NULL;
    }
    o->texture = texture;
    return o->object;
}

/* Binds p to the dp11 handle dx (a GPU-transport port) through the interop device. */
static DP_RESULT dpgl_interop_attach(DPGL_PORT *p, DP_HANDLE dx)
{
    p->dx = dx;
    p->dx_device = p->gl.DXOpenDeviceNV(dp11_get_device());
    if (!p->dx_device)
        return dp_fail(DP_ERROR_UNSUPPORTED, "wglDXOpenDeviceNV failed: Win32 error %lu", GetLastError());
    if (p->base.producer)
        p->gl.GenFramebuffers(1, &p->blit_fbo);
    p->mode = DPGL_MODE_INTEROP;
    return DP_OK;
}

/* Producer: the framebuffer region into the next slot texture, flipped to top row first. */
static DP_RESULT dpgl_interop_publish(DPGL_PORT *p, GLuint fbo, GLint x, GLint y, GLsizei w, GLsizei h)
{
    ID3D11Texture2D *target = NULL;
    DP_PORT_INFO info;
    HANDLE object;
    dpgl_state s;
    GLint previous;
    DP_RESULT r = DP_OK;

    dp_get_port_info(p->dx, &info);
    if ((uint32_t)w != info.width || (uint32_t)h != info.height) {
        dpgl_interop_forget(p, true);
        r = dp11_resize_port(p->dx, (uint32_t)w, (uint32_t)h);
    }
    if (r == DP_OK)
        r = dp11_begin_frame(p->dx, &target);
    if (r != DP_OK)
        return r;
    object = dpgl_interop_object_for(p, target, WGL_ACCESS_WRITE_DISCARD_NV);
    if (!object || !p->gl.DXLockObjectsNV(p->dx_device, 1, &object))
        return dp_fail(DP_ERROR_DEVICE, "dpgl_publish_framebuffer: wglDXLockObjectsNV failed");
    dpgl_save(&p->gl, &s);
    p->gl.Disable(GL_SCISSOR_TEST);
    p->gl.Disable(GL_FRAMEBUFFER_SRGB);
    previous = dpgl_bind_read(p, fbo);
    p->gl.BindFramebuffer(GL_DRAW_FRAMEBUFFER, p->blit_fbo);
    for (uint32_t i = 0; i < DPB_MAX_SLOTS; i++)
        if (p->object[i].object == object)
            p->gl.FramebufferTexture2D(GL_DRAW_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, GL_TEXTURE_2D, p->object[i].name, 0);
    /* GL's bottom row lands in the texture's last row: the port's rows are top first. */
    p->gl.BlitFramebuffer(x, y, x + w, y + h, 0, h, w, 0, GL_COLOR_BUFFER_BIT, GL_NEAREST);
    dpgl_unbind_read(p, fbo, previous);
    dpgl_restore(&p->gl, &s);
    p->gl.DXUnlockObjectsNV(p->dx_device, 1, &object);
    return dp11_end_frame(p->dx, NULL);
}

static DP_RESULT dpgl_interop_acquire(DPGL_PORT *p, uint32_t timeout_ms, unsigned *out_texture, uint64_t *out_frame)
{
    ID3D11Texture2D *source = NULL;
    HANDLE object;
    DP_RESULT r = dp11_acquire_frame(p->dx, timeout_ms, &source, out_frame);
    if (r != DP_OK)
        return r;
    object = dpgl_interop_object_for(p, source, WGL_ACCESS_READ_ONLY_NV);
    if (!object || !p->gl.DXLockObjectsNV(p->dx_device, 1, &object)) {
        dp11_release_frame(p->dx);
        return dp_fail(DP_ERROR_DEVICE, "dpgl_acquire: wglDXLockObjectsNV failed");
    }
    p->locked = object;
    p->held = true;
    for (uint32_t i = 0; i < DPB_MAX_SLOTS; i++)
        if (p->object[i].object == object)
            *out_texture = p->object[i].name;
    return DP_OK;
}

static void dpgl_interop_release(DPGL_PORT *p)
{
    p->gl.DXUnlockObjectsNV(p->dx_device, 1, &p->locked);
    p->locked = NULL;
    dp11_release_frame(p->dx);
}

/* ---- Ports --------------------------------------------------------------------------------- */

/* The GL storage of the port's texture, and the client format and type whose bytes are
 * the port's rows: what glReadPixels / glGetTexImage write into a pixel buffer and
 * glTexSubImage2D reads from one. VIDEO is stored RGBA8 in GL and moves as B, G, R, A. */
static bool dpgl_format(DPGL_PORT *p)
{
    switch (p->base.format) {
    case DP_FORMAT_VIDEO:
        p->internal_format = GL_RGBA8, p->format = GL_BGRA, p->type = GL_UNSIGNED_BYTE;
        return true;
    case DP_FORMAT_FLOAT:
        p->internal_format = GL_R32F, p->format = GL_RED, p->type = GL_FLOAT;
        return true;
    case DP_FORMAT_HALF:
        p->internal_format = GL_R16F, p->format = GL_RED, p->type = GL_HALF_FLOAT;
        return true;
    case DP_FORMAT_RAW_32BIT:
        p->internal_format = GL_R32UI, p->format = GL_RED_INTEGER, p->type = GL_UNSIGNED_INT;
        return true;
    case DP_FORMAT_RGBA8:
        p->internal_format = GL_RGBA8, p->format = GL_RGBA, p->type = GL_UNSIGNED_BYTE;
        return true;
    case DP_FORMAT_RGBA16F:
        p->internal_format = GL_RGBA16F, p->format = GL_RGBA, p->type = GL_HALF_FLOAT;
        return true;
    case DP_FORMAT_RGBA32F:
        p->internal_format = GL_RGBA32F, p->format = GL_RGBA, p->type = GL_FLOAT;
        return true;
    case DP_FORMAT_RGB10A2:
        p->internal_format = GL_RGB10_A2, p->format = GL_RGBA, p->type = GL_UNSIGNED_INT_2_10_10_10_REV;
        return true;
    }
    return false;
}

/* Checks p and that its context is current; returns p or NULL with the error set. */
static DPGL_PORT *dpgl_get(DPGL_PORT *p, const char *fn)
{
    if (!p || p->magic != DPGL_MAGIC) {
        dp_fail(DP_ERROR_INVALID_ARGUMENT, "%s: not a DPGL_PORT", fn);
        return NULL;
    }
    if (p->gl.GetCurrentContext() != p->context) {
        dp_fail(DP_ERROR_INVALID_ARGUMENT, "%s: the WGL context current at dpgl_create/dpgl_open must be current",
                fn);
        return NULL;
    }
    return p;
}

/* Makes the transfer buffers for the current geometry. Caller saved the state. */
static DP_RESULT dpgl_make_buffers(DPGL_PORT *p)
{
    const GLbitfield access = (p->base.producer ? GL_MAP_READ_BIT : GL_MAP_WRITE_BIT) | GL_MAP_PERSISTENT_BIT |
                              GL_MAP_COHERENT_BIT;
    const GLenum target = p->base.producer ? GL_PIXEL_PACK_BUFFER : GL_PIXEL_UNPACK_BUFFER;
    GLsizeiptr size;
    p->row_bytes = p->base.width * p->base.bytes_per_pixel;
    size = (GLsizeiptr)p->row_bytes * p->base.height;
    for (uint32_t i = 0; i < DPGL_BUFFERS; i++) {
        dpgl_buffer *b = &p->buffer[i];
        p->gl.GenBuffers(1, &b->name);
        p->gl.BindBuffer(target, b->name);
        p->gl.BufferStorage(target, size, NULL, access);
        b->ptr = p->gl.MapBufferRange(target, 0, size, access);
        b->state = DPGL_FREE;
        b->frame = 0;
        if (!b->ptr)
            return dp_fail(DP_ERROR_DEVICE, "GL: could not map a %lld-byte pixel buffer persistently",
                           (long long)size);
    }
    if (!p->base.producer) {
        /* Storage only: no unpack buffer and no caller unpack settings may apply. */
        dpgl_tight(&p->gl);
        p->gl.BindBuffer(GL_PIXEL_UNPACK_BUFFER, 0);
        if (!p->texture)
            p->gl.GenTextures(1, &p->texture);
        p->gl.BindTexture(GL_TEXTURE_2D, p->texture);
        p->gl.TexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_LINEAR);
        p->gl.TexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_LINEAR);
        p->gl.TexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_S, GL_CLAMP_TO_EDGE);
        p->gl.TexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_T, GL_CLAMP_TO_EDGE);
        p->gl.TexImage2D(GL_TEXTURE_2D, 0, (GLint)p->internal_format, (GLsizei)p->base.width,
                         (GLsizei)p->base.height, 0, p->format, p->type, NULL);
    }
    return DP_OK;
}

/* Deletes the buffers (and their syncs). The worker must be stopped or drained. */
static void dpgl_free_buffers(DPGL_PORT *p, bool gl_current)
{
    for (uint32_t i = 0; i < DPGL_BUFFERS; i++) {
        dpgl_buffer *b = &p->buffer[i];
        if (gl_current && b->sync)
            p->gl.DeleteSync(b->sync);
        if (gl_current && b->name) {
            GLenum target = p->base.producer ? GL_PIXEL_PACK_BUFFER : GL_PIXEL_UNPACK_BUFFER;
            p->gl.BindBuffer(target, b->name);
            p->gl.UnmapBuffer(target);
            p->gl.DeleteBuffers(1, &b->name);
        }
        memset(b, 0, sizeof(*b));
    }
}

static const dp_host_ops dpgl_host_ops;

static void dpgl_destroy(DPGL_PORT *p)
{
    bool current = p->gl.GetCurrentContext && p->gl.GetCurrentContext() == p->context;
    dpgl_state s;
    /* The worker reads and writes the mapped buffers: stop it first. */
    dp_host_destroy(p->base.host);
    p->base.host = NULL;
    if (current)
        dpgl_save(&p->gl, &s);
    if (p->dx) {
        if (current && p->locked)
            p->gl.DXUnlockObjectsNV(p->dx_device, 1, &p->locked);
        dpgl_interop_forget(p, current);
        if (current && p->blit_fbo)
            p->gl.DeleteFramebuffers(1, &p->blit_fbo);
        if (current && p->dx_device)
            p->gl.DXCloseDeviceNV(p->dx_device);
        dp11_close(p->dx);
    }
    dpgl_free_buffers(p, current);
    if (current && p->texture)
        p->gl.DeleteTextures(1, &p->texture);
    if (current)
        dpgl_restore(&p->gl, &s);
    dp_close_handle(&p->ready);
    dp_port_release(&p->base);
    p->magic = 0;
    HeapFree(GetProcessHeap(), 0, p);
}

/* A port record with the context checked and the entry points loaded. */
static DPGL_PORT *dpgl_new(bool producer, const char *fn)
{
    DPGL_PORT *p = HeapAlloc(GetProcessHeap(), HEAP_ZERO_MEMORY, sizeof(*p));
    if (!p) {
        dp_fail(DP_ERROR_OUT_OF_MEMORY, "out of memory");
        return NULL;
    }
    p->magic = DPGL_MAGIC;
    p->base.kind = DP_KIND_GL;
    p->base.before_change = dp_port_stop_host;
    p->base.producer = producer;
    p->base.reader = -1;
    p->base.held = DP_NO_SLOT;
    p->base.begun = DP_NO_SLOT;
    if (!dpgl_load(&p->gl) || !(p->context = p->gl.GetCurrentContext())) {
        HeapFree(GetProcessHeap(), 0, p);
        dp_fail(DP_ERROR_INVALID_ARGUMENT, "%s: no WGL context is current on this thread", fn);
        return NULL;
    }
    if (!dpgl_load_context(&p->gl)) {
        HeapFree(GetProcessHeap(), 0, p);
        dp_fail(DP_ERROR_UNSUPPORTED, "%s: the current context lacks GL 4.4 buffer storage or sync objects (%s)",
                fn, (const char *)p->gl.GetString(GL_VERSION));
        return NULL;
    }
    return p;
}

/* Registers a built port, or destroys it and returns NULL on failure r. */
static DPGL_PORT *dpgl_finish(DPGL_PORT *p, DP_RESULT r)
{
    if (r == DP_OK && p->mode == DPGL_MODE_INTEROP)
        return p; /* its handle is the dp11 port's */
    if (r == DP_OK)
        p->handle = dp_handle_add(DP_KIND_GL, &p->base);
    if (r != DP_OK || !p->handle) {
        dpgl_destroy(p);
        return NULL;
    }
    if (p->base.producer)
        dp_registry_add(&p->base);
    return p;
}

DPGL_PORT *dpgl_create(const DP_PORT_DESC *desc)
{
    DPGL_PORT *p;
    dp_security sec;
    dp_error_state saved;
    dp_create_args a;
    dpgl_state s;
    DP_RESULT r;

    if (dp_args_from_desc(desc, &a, "dpgl_create") != DP_OK)
        return NULL;
    if (a.flags & DP_PORT_SYSTEM_RAM) {
        dp_fail(DP_ERROR_UNSUPPORTED, "dpgl_create: DP_PORT_SYSTEM_RAM is for the D3D12 core");
        return NULL;
    }
    p = dpgl_new(true, "dpgl_create");
    if (!p)
        return NULL;
    /* INTEROP where the context and the driver can; COPY on the host transport otherwise. */
    dp_error_save(&saved);
    if (desc->transport != DP_TRANSPORT_HOST && dpgl_interop_available(&p->gl) && dp11_init()) {
        DP_PORT_DESC gpu = *desc;
        DP_HANDLE dx;
        gpu.transport = DP_TRANSPORT_GPU;
        dx = dp11_create_port(&gpu);
        if (dx) {
            p->handle = dx;
            return dpgl_finish(p, dpgl_interop_attach(p, dx));
        }
        if (desc->transport == DP_TRANSPORT_GPU)
            return dpgl_finish(p, dp_last_error());
        dp_error_restore(&saved);
    } else if (desc->transport == DP_TRANSPORT_GPU) {
        return dpgl_finish(p, dp_fail(DP_ERROR_UNSUPPORTED, "dpgl_create: the GPU transport needs "
                                                            "WGL_NV_DX_interop2, which this context does not offer"));
    }
    dp_port_from_args(&p->base, &a);
    p->base.transport = DP_TRANSPORT_HOST;
    dpgl_format(p);
    r = dp_port_security(&p->base, a.sddl, &sec);
    if (r != DP_OK)
        return dpgl_finish(p, r);
    r = dp_port_create_block(&p->base, &sec, (LUID){0, 0});
    if (r == DP_OK) {
        dpgl_save(&p->gl, &s);
        r = dpgl_make_buffers(p);
        dpgl_restore(&p->gl, &s);
    }
    if (r == DP_OK)
        r = dp_host_start(&p->base, &sec, &dpgl_host_ops, p);
    if (r == DP_OK) {
        /* Only frame jobs: the legacy follow mode reads texture 0, which GL has not. */
        dp_host_enter_frame_mode(p->base.host);
        dp_port_publish_block(&p->base);
    }
    dp_security_free(&sec);
    return dpgl_finish(p, r);
}

/* Opens names into p and builds the consumer side. */
static DP_RESULT dpgl_open_names(DPGL_PORT *p, const dpn_names *names)
{
    dpgl_state s;
    DP_RESULT r;
    p->base.names = *names;
    r = dp_port_open_block(&p->base);
    if (r != DP_OK)
        return r;
    if (p->base.transport == DP_TRANSPORT_GPU) {
        DP_HANDLE dx;
        if (!dpgl_interop_available(&p->gl) || !dp11_init())
            return dp_fail(DP_ERROR_UNSUPPORTED, "dpgl_open: %ls uses the GPU transport, which GL reaches only "
                                                 "through WGL_NV_DX_interop2, and this context does not offer it",
                           p->base.names.display);
        dx = p->base.names.base[0] ? dp11_open_port(p->base.names.display) : NULL;
        if (!dx)
            return dp_last_error();
        dp_port_release(&p->base);
        p->handle = dx;
        return dpgl_interop_attach(p, dx);
    }
    dpgl_format(p);
    dpgl_save(&p->gl, &s);
    r = dpgl_make_buffers(p);
    dpgl_restore(&p->gl, &s);
    if (r == DP_OK)
        r = dp_host_start(&p->base, NULL, &dpgl_host_ops, p);
    return r;
}

DPGL_PORT *dpgl_open(const wchar_t *name)
{
    DPGL_PORT *p;
    dpn_names names;
    dp_error_state saved;
    DP_RESULT r;
    if (!dpn_valid_base(name)) {
        dp_fail(DP_ERROR_INVALID_ARGUMENT, "dpgl_open: name must be 1..%u characters of [A-Za-z0-9_.-]",
                DPN_MAX_BASE);
        return NULL;
    }
    p = dpgl_new(false, "dpgl_open");
    if (!p)
        return NULL;
    p->ready = dp_track(CreateEventW(NULL, FALSE, FALSE, NULL));
    if (!p->ready)
        return dpgl_finish(p, dp_fail_win32(DP_ERROR_OUT_OF_MEMORY, GetLastError(), "CreateEvent"));
    dp_error_save(&saved);
    dpn_port_names(&names, name, false);
    r = dpgl_open_names(p, &names);
    if (r == DP_ERROR_NOT_FOUND && !p->base.block) {
        dp_port_release(&p->base);
        dpn_port_names(&names, name, true);
        r = dpgl_open_names(p, &names);
    }
    if (r == DP_OK)
        dp_error_restore(&saved);
    return dpgl_finish(p, r);
}

void dpgl_close(DPGL_PORT *p)
{
    if (!p || p->magic != DPGL_MAGIC) {
        if (p)
            dp_fail(DP_ERROR_INVALID_ARGUMENT, "dpgl_close: not a DPGL_PORT");
        return;
    }
    if (p->mode != DPGL_MODE_INTEROP)
        dp_handle_take(p->handle, DP_KIND_GL, "dpgl_close");
    dpgl_destroy(p);
}

DPGL_MODE dpgl_mode(const DPGL_PORT *p)
{
    if (!p || p->magic != DPGL_MAGIC)
        return (DPGL_MODE)0;
    return p->mode == DPGL_MODE_INTEROP ? DPGL_MODE_INTEROP : DPGL_MODE_COPY;
}

DP_HANDLE dpgl_port(const DPGL_PORT *p)
{
    return p && p->magic == DPGL_MAGIC ? p->handle : NULL;
}

/* ---- Producer ---------------------------------------------------------------------------- */

/* Hands every readback the GPU has finished to the worker; never waits. */
static void dpgl_harvest(DPGL_PORT *p)
{
    for (;;) {
        dpgl_buffer *oldest = NULL;
        GLenum w;
        for (uint32_t i = 0; i < DPGL_BUFFERS; i++)
            if (p->buffer[i].state == DPGL_READING && (!oldest || p->buffer[i].frame < oldest->frame))
                oldest = &p->buffer[i];
        if (!oldest)
            return;
        w = p->gl.ClientWaitSync(oldest->sync, GL_SYNC_FLUSH_COMMANDS_BIT, 0);
        if (w != GL_ALREADY_SIGNALED && w != GL_CONDITION_SATISFIED)
            return;
        p->gl.DeleteSync(oldest->sync);
        oldest->sync = NULL;
        InterlockedExchange(&oldest->state, DPGL_COPYING);
        InterlockedExchange64(&p->harvested, oldest->frame);
        dp_host_readback(p->base.host, (uint32_t)(oldest - p->buffer), oldest->slot, (uint64_t)oldest->frame);
    }
}

/* Slots promised to readbacks not yet handed to the worker. */
static uint32_t dpgl_reading_slots(const DPGL_PORT *p)
{
    uint32_t mask = 0;
    for (uint32_t i = 0; i < DPGL_BUFFERS; i++)
        if (p->buffer[i].state == DPGL_READING)
            mask |= 1u << p->buffer[i].slot;
    return mask;
}

/* Producer resize: lets every frame in flight finish, then rebuilds for the new size
 * under a new generation. The only producer call that waits (for its own GPU work). */
static DP_RESULT dpgl_resize(DPGL_PORT *p, uint32_t width, uint32_t height)
{
    dp_security sec;
    DP_RESULT r;
    for (uint32_t i = 0; i < DPGL_BUFFERS; i++)
        if (p->buffer[i].state == DPGL_READING)
            p->gl.ClientWaitSync(p->buffer[i].sync, GL_SYNC_FLUSH_COMMANDS_BIT, 1000000000ull);
    dpgl_harvest(p);
    dp_host_drain(p->base.host);
    dp_host_destroy(p->base.host);
    p->base.host = NULL;
    dpgl_free_buffers(p, true);
    r = dp_port_security(&p->base, NULL, &sec);
    if (r != DP_OK)
        return r;
    p->base.width = width;
    p->base.height = height;
    p->base.row_pitch = dpb_row_pitch(width, p->base.bytes_per_pixel);
    p->base.generation += 2;
    r = dpgl_make_buffers(p);
    if (r == DP_OK)
        r = dp_host_start(&p->base, &sec, &dpgl_host_ops, p);
    if (r == DP_OK) {
        dp_host_enter_frame_mode(p->base.host);
        r = dp_port_resize_block(&p->base, width, height);
    }
    dp_security_free(&sec);
    return r;
}

/* The common part of both publish calls: `read` issues the readback into the bound
 * pack buffer. */
static DP_RESULT dpgl_publish(DPGL_PORT *p, uint32_t width, uint32_t height, void (*read)(DPGL_PORT *, void *),
                              void *arg)
{
    dpgl_buffer *b = NULL;
    uint32_t slot;
    DP_RESULT r = DP_OK;
    dpgl_state s;

    dpgl_save(&p->gl, &s);
    if (width != p->base.width || height != p->base.height)
        r = dpgl_resize(p, width, height);
    if (r == DP_OK) {
        dpgl_harvest(p);
        for (uint32_t i = 0; i < DPGL_BUFFERS && !b; i++)
            if (p->buffer[i].state == DPGL_FREE)
                b = &p->buffer[i];
        if (!b) {
            InterlockedIncrement64((volatile LONG64 *)&p->base.block->frames_dropped);
            r = dp_fail(DP_ERROR_BUSY, "every pixel buffer of %ls is still in flight; the frame is dropped",
                        p->base.names.display);
        } else {
            r = dp_ring_pick(&p->base, dp_host_busy(p->base.host) | dpgl_reading_slots(p), &slot);
        }
    }
    if (r == DP_OK) {
        uint64_t frame = p->base.last_frame;
        if (dp_port_published(&p->base) > frame)
            frame = dp_port_published(&p->base);
        p->base.last_frame = ++frame;
        dpgl_tight(&p->gl);
        p->gl.BindBuffer(GL_PIXEL_PACK_BUFFER, b->name);
        read(p, arg);
        b->sync = p->gl.FenceSync(GL_SYNC_GPU_COMMANDS_COMPLETE, 0);
        b->slot = slot;
        b->frame = (LONG64)frame;
        InterlockedExchange(&b->state, DPGL_READING);
        /* A software rasterizer has often finished already: no need to wait a frame. */
        dpgl_harvest(p);
    }
    dpgl_restore(&p->gl, &s);
    return r;
}

typedef struct {
    GLuint fbo;
    GLint x, y;
} dpgl_fb_read;

/* Binds fbo for reading; for the default framebuffer also selects its back buffer and
 * returns the read buffer it had (0 otherwise), which the caller puts back. */
static GLint dpgl_bind_read(DPGL_PORT *p, GLuint fbo)
{
    GLint previous = 0;
    p->gl.BindFramebuffer(GL_READ_FRAMEBUFFER, fbo);
    if (!fbo) {
        p->gl.GetIntegerv(GL_READ_BUFFER, &previous);
        p->gl.ReadBuffer(GL_BACK);
    }
    return previous;
}

static void dpgl_unbind_read(DPGL_PORT *p, GLuint fbo, GLint previous)
{
    if (!fbo)
        p->gl.ReadBuffer((GLenum)previous);
}

static void dpgl_read_framebuffer(DPGL_PORT *p, void *arg)
{
    const dpgl_fb_read *a = arg;
    GLint previous = dpgl_bind_read(p, a->fbo);
    p->gl.ReadPixels(a->x, a->y, (GLsizei)p->base.width, (GLsizei)p->base.height, p->format, p->type, NULL);
    dpgl_unbind_read(p, a->fbo, previous);
}

DP_RESULT dpgl_publish_framebuffer(DPGL_PORT *p, unsigned read_framebuffer, int x, int y, int width, int height)
{
    dpgl_fb_read a = {read_framebuffer, x, y};
    if (!dpgl_get(p, "dpgl_publish_framebuffer"))
        return dp_last_error();
    if (!p->base.producer)
        return dp_fail(DP_ERROR_INVALID_ARGUMENT, "dpgl_publish_framebuffer: %ls was opened, not created",
                       p->base.names.display);
    if (width <= 0 || height <= 0 || width > (int)DP_MAX_DIMENSION || height > (int)DP_MAX_DIMENSION)
        return dp_fail(DP_ERROR_INVALID_ARGUMENT, "dpgl_publish_framebuffer: size %dx%d is outside 1..%u", width,
                       height, DP_MAX_DIMENSION);
    if (p->mode == DPGL_MODE_INTEROP)
        return dpgl_interop_publish(p, read_framebuffer, x, y, width, height);
    return dpgl_publish(p, (uint32_t)width, (uint32_t)height, dpgl_read_framebuffer, &a);
}

static void dpgl_read_texture(DPGL_PORT *p, void *arg)
{
    p->gl.BindTexture(GL_TEXTURE_2D, *(const GLuint *)arg);
    p->gl.GetTexImage(GL_TEXTURE_2D, 0, p->format, p->type, NULL);
}

DP_RESULT dpgl_publish_texture(DPGL_PORT *p, unsigned texture)
{
    GLint bound = 0, w = 0, h = 0, target = 0, profile = 0;
    if (!dpgl_get(p, "dpgl_publish_texture"))
        return dp_last_error();
    if (!p->base.producer)
        return dp_fail(DP_ERROR_INVALID_ARGUMENT, "dpgl_publish_texture: %ls was opened, not created",
                       p->base.names.display);
    /* Only a core-profile context can be asked a texture's target (GL_TEXTURE_TARGET);
     * elsewhere binding tells, and a texture of another target leaves the bind's
     * GL_INVALID_OPERATION pending (docs/gl-adapter.md). */
    if (!texture || !p->gl.IsTexture(texture))
        return dp_fail(DP_ERROR_INVALID_ARGUMENT, "dpgl_publish_texture: %u is not a texture", texture);
    p->gl.GetIntegerv(GL_CONTEXT_PROFILE_MASK, &profile);
    if ((profile & GL_CONTEXT_CORE_PROFILE_BIT) && p->gl.GetTextureParameteriv) {
        p->gl.GetTextureParameteriv(texture, GL_TEXTURE_TARGET, &target);
        if (target != GL_TEXTURE_2D)
            return dp_fail(DP_ERROR_INVALID_ARGUMENT, "dpgl_publish_texture: %u is not a 2D texture", texture);
    }
    p->gl.GetIntegerv(GL_TEXTURE_BINDING_2D, &bound);
    p->gl.BindTexture(GL_TEXTURE_2D, texture);
    p->gl.GetIntegerv(GL_TEXTURE_BINDING_2D, &target);
    if ((GLuint)target != texture) {
        p->gl.BindTexture(GL_TEXTURE_2D, (GLuint)bound);
        return dp_fail(DP_ERROR_INVALID_ARGUMENT, "dpgl_publish_texture: %u is not a 2D texture", texture);
    }
    p->gl.GetTexLevelParameteriv(GL_TEXTURE_2D, 0, GL_TEXTURE_WIDTH, &w);
    p->gl.GetTexLevelParameteriv(GL_TEXTURE_2D, 0, GL_TEXTURE_HEIGHT, &h);
    p->gl.BindTexture(GL_TEXTURE_2D, (GLuint)bound);
    if (w <= 0 || h <= 0 || w > (int)DP_MAX_DIMENSION || h > (int)DP_MAX_DIMENSION)
        return dp_fail(DP_ERROR_INVALID_ARGUMENT, "dpgl_publish_texture: %u is not a 2D texture with a level 0",
                       texture);
    if (p->mode == DPGL_MODE_INTEROP)
        return dp_fail(DP_ERROR_UNSUPPORTED, "dpgl_publish_texture: in INTEROP mode, publish a framebuffer the "
                                             "texture is attached to with dpgl_publish_framebuffer");
    return dpgl_publish(p, (uint32_t)w, (uint32_t)h, dpgl_read_texture, &texture);
}

/* ---- Consumer ------------------------------------------------------------------------------- */

/* Frees the buffers whose upload the GPU has finished; wakes the worker if any. */
static void dpgl_recycle(DPGL_PORT *p)
{
    bool freed = false;
    for (uint32_t i = 0; i < DPGL_BUFFERS; i++) {
        dpgl_buffer *b = &p->buffer[i];
        GLenum w;
        if (b->state != DPGL_UPLOADING)
            continue;
        w = p->gl.ClientWaitSync(b->sync, GL_SYNC_FLUSH_COMMANDS_BIT, 0);
        if (w == GL_ALREADY_SIGNALED || w == GL_CONDITION_SATISFIED) {
            p->gl.DeleteSync(b->sync);
            b->sync = NULL;
            InterlockedExchange(&b->state, DPGL_FREE);
            freed = true;
        }
    }
    if (freed)
        dp_host_kick(p->base.host);
}

/* The ready buffer with the newest frame beyond the last acquired; older ready
 * ones are given back. NULL if none. */
static dpgl_buffer *dpgl_newest(DPGL_PORT *p)
{
    dpgl_buffer *best = NULL;
    bool freed = false;
    for (uint32_t i = 0; i < DPGL_BUFFERS; i++) {
        dpgl_buffer *b = &p->buffer[i];
        if (b->state == DPGL_READY && (!best || b->frame > best->frame))
            best = b;
    }
    for (uint32_t i = 0; i < DPGL_BUFFERS; i++) {
        dpgl_buffer *b = &p->buffer[i];
        if (b->state == DPGL_READY && b != best && (uint64_t)b->frame <= (uint64_t)(best ? best->frame : 0) &&
            InterlockedCompareExchange(&b->state, DPGL_FREE, DPGL_READY) == DPGL_READY)
            freed = true;
    }
    if (best && (uint64_t)best->frame <= p->base.last_frame) {
        if (InterlockedCompareExchange(&best->state, DPGL_FREE, DPGL_READY) == DPGL_READY)
            freed = true;
        best = NULL;
    }
    if (freed)
        dp_host_kick(p->base.host);
    return best;
}

/* The port moved to a new generation: rebuild the buffers, texture and worker. */
static DP_RESULT dpgl_follow_generation(DPGL_PORT *p)
{
    DP_RESULT r;
    dp_host_destroy(p->base.host);
    p->base.host = NULL;
    for (uint32_t i = 0; i < DPGL_BUFFERS; i++)
        if (p->buffer[i].state == DPGL_UPLOADING)
            p->gl.ClientWaitSync(p->buffer[i].sync, GL_SYNC_FLUSH_COMMANDS_BIT, 1000000000ull);
    dpgl_free_buffers(p, true);
    if (p->base.transport == DP_TRANSPORT_GPU)
        return dp_fail(DP_ERROR_UNSUPPORTED, "%ls moved to the GPU transport, which needs WGL_NV_DX_interop2",
                       p->base.names.display);
    dpgl_format(p);
    r = dpgl_make_buffers(p);
    if (r == DP_OK)
        r = dp_host_start(&p->base, NULL, &dpgl_host_ops, p);
    return r;
}

DP_RESULT dpgl_acquire(DPGL_PORT *p, uint32_t timeout_ms, unsigned *out_texture, uint64_t *out_frame)
{
    ULONGLONG start = GetTickCount64();
    DP_RESULT r = DP_OK;
    dpgl_state s;
    dpgl_buffer *b = NULL;
    dp_error_state saved;

    if (!dpgl_get(p, "dpgl_acquire"))
        return dp_last_error();
    if (p->base.producer)
        return dp_fail(DP_ERROR_INVALID_ARGUMENT, "dpgl_acquire: %ls was created, not opened", p->base.names.display);
    if (!out_texture)
        return dp_fail(DP_ERROR_INVALID_ARGUMENT, "dpgl_acquire: out_texture is NULL");
    if (p->held)
        return dp_fail(DP_ERROR_INVALID_ARGUMENT, "dpgl_acquire: release the frame this port holds first");
    if (p->mode == DPGL_MODE_INTEROP)
        return dpgl_interop_acquire(p, timeout_ms, out_texture, out_frame);
    dp_error_save(&saved);
    dpgl_save(&p->gl, &s);
    for (;;) {
        bool changed = false;
        uint32_t wait;
        r = dp_port_refresh(&p->base, &changed);
        if (changed && r == DP_OK)
            r = dpgl_follow_generation(p);
        if (r != DP_OK)
            break;
        dpgl_recycle(p);
        b = dpgl_newest(p);
        /* The worker may have taken it back to refill with a newer frame: look again. */
        if (b && InterlockedCompareExchange(&b->state, DPGL_UPLOADING, DPGL_READY) == DPGL_READY)
            break;
        if (b)
            continue;
        if (timeout_ms != UINT32_MAX && GetTickCount64() - start >= timeout_ms) {
            r = dp_fail(DP_ERROR_TIMEOUT, "dpgl_acquire: no new frame on %ls within %u ms", p->base.names.display,
                        timeout_ms);
            break;
        }
        /* Short slices: a resize or a restarted producer is noticed between them. */
        wait = timeout_ms == UINT32_MAX ? 50 : (uint32_t)(timeout_ms - (GetTickCount64() - start));
        if (wait > 50)
            wait = 50;
        r = dp_wait_event(&p->base, p->ready, wait);
        if (r == DP_ERROR_DISCONNECTED && p->base.block->generation == p->base.generation)
            break;
        r = DP_OK;
    }
    if (r == DP_OK) {
        dpgl_tight(&p->gl);
        p->gl.BindBuffer(GL_PIXEL_UNPACK_BUFFER, b->name);
        p->gl.BindTexture(GL_TEXTURE_2D, p->texture);
        p->gl.TexSubImage2D(GL_TEXTURE_2D, 0, 0, 0, (GLsizei)p->base.width, (GLsizei)p->base.height, p->format,
                            p->type, NULL);
        b->sync = p->gl.FenceSync(GL_SYNC_GPU_COMMANDS_COMPLETE, 0);
        p->base.last_frame = (uint64_t)b->frame;
        p->held = true;
        *out_texture = p->texture;
        if (out_frame)
            *out_frame = (uint64_t)b->frame;
        /* The slices it waited in timed out on the way: not an error of this call. */
        dp_error_restore(&saved);
    }
    dpgl_restore(&p->gl, &s);
    return r;
}

void dpgl_release(DPGL_PORT *p)
{
    if (!dpgl_get(p, "dpgl_release"))
        return;
    if (!p->held) {
        dp_fail(DP_ERROR_INVALID_ARGUMENT, "dpgl_release: this port holds no frame");
        return;
    }
    if (p->mode == DPGL_MODE_INTEROP)
        dpgl_interop_release(p);
    p->held = false;
}

/* ---- Worker thread ----------------------------------------------------------------------------- */

/* Producer: the readbacks handed over are done on the GPU already. */
static uint64_t dpgl_host_wait_local(void *ctx, uint64_t after, HANDLE kick)
{
    DPGL_PORT *p = ctx;
    uint64_t done = (uint64_t)InterlockedCompareExchange64(&p->harvested, 0, 0);
    if (done <= after)
        WaitForSingleObject(kick, INFINITE);
    return (uint64_t)InterlockedCompareExchange64(&p->harvested, 0, 0);
}

/* Producer: buffer rows bottom-up and tightly packed -> slot rows top-down at the pitch. */
static bool dpgl_host_readback(void *ctx, uint32_t texture, void *dst)
{
    DPGL_PORT *p = ctx;
    dpgl_buffer *b = &p->buffer[texture];
    uint8_t *out = dst;
    for (uint32_t y = 0; y < p->base.height; y++)
        memcpy(out + (size_t)y * p->base.row_pitch, b->ptr + (size_t)(p->base.height - 1 - y) * p->row_bytes,
               p->row_bytes);
    InterlockedExchange(&b->state, DPGL_FREE);
    return true;
}

/* Takes a buffer for the worker to fill: a free one, else the ready one with the
 * oldest frame (a consumer that acquires rarely still gets the newest). NULL if the
 * caller holds them all. */
static dpgl_buffer *dpgl_take_for_fill(DPGL_PORT *p)
{
    dpgl_buffer *oldest = NULL;
    for (uint32_t i = 0; i < DPGL_BUFFERS; i++)
        if (InterlockedCompareExchange(&p->buffer[i].state, DPGL_FILLING, DPGL_FREE) == DPGL_FREE)
            return &p->buffer[i];
    for (uint32_t i = 0; i < DPGL_BUFFERS; i++)
        if (p->buffer[i].state == DPGL_READY && (!oldest || p->buffer[i].frame < oldest->frame))
            oldest = &p->buffer[i];
    if (oldest && InterlockedCompareExchange(&oldest->state, DPGL_FILLING, DPGL_READY) == DPGL_READY)
        return oldest;
    return NULL;
}

/* Consumer: slot rows -> a buffer, top row first (the texture's v = 0 is the top). */
static bool dpgl_host_upload(void *ctx, uint32_t texture, const void *src, uint64_t value)
{
    DPGL_PORT *p = ctx;
    const uint8_t *in = src;
    dpgl_buffer *b = dpgl_take_for_fill(p);
    (void)texture;
    {
        if (!b)
            return false;
        for (uint32_t y = 0; y < p->base.height; y++)
            memcpy(b->ptr + (size_t)y * p->row_bytes, in + (size_t)y * p->base.row_pitch, p->row_bytes);
        b->frame = (LONG64)value;
        InterlockedExchange(&b->state, DPGL_READY);
        SetEvent(p->ready);
        return true;
    }
}

static const dp_host_ops dpgl_host_ops = {dpgl_host_wait_local, dpgl_host_readback, dpgl_host_upload};
