/*
 * dpgl.c - the OpenGL adapter (adapters/gl/dpgl.h): a port in the caller's WGL context.
 *
 * COPY mode is a backend of the port engine (directportengine.c) over the host
 * transport and needs no D3D device: the GL side moves pixels between GL and
 * persistently mapped pixel buffers, and the generation's worker thread
 * (directporthost.c) moves them between those buffers and the section.
 *
 *   producer  publish: glReadPixels into a free buffer + a fence, and the engine queues
 *             the frame's readback job; the worker runs it once a harvest (polled at
 *             each publish, never waited for) has seen the fence pass: it copies the
 *             rows bottom-up into the slot (flipping GL's bottom row first to the
 *             port's top row first) and publishes the frame.
 *   consumer  the worker follows the port: each newer frame goes into a free buffer;
 *             acquire uploads the newest ready buffer into the port's texture with
 *             glTexSubImage2D, which the GL stream orders after the caller's earlier
 *             use of that texture, so one texture serves.
 *
 * Buffer states move FREE -> (caller) READING -> COPYING -> (worker) FREE on the producer,
 * FREE -> (worker) FILLING -> READY -> (caller) UPLOADING -> FREE on the consumer; each
 * change is one interlocked store by the side that owns the buffer in that state.
 *
 * A consumer of a GPU-transport port without interop is a COPY port too: its feed thread
 * (in place of the host worker) acquires each frame through a dp11 consumer handle,
 * copies it through a staging texture into a free buffer, and acquire uploads it.
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
#define DPGL_INTEROP_WAIT_NS 1000000000ull /* the most a close waits for GL's reads of a held frame */

enum { DPGL_FREE, DPGL_READING, DPGL_COPYING, DPGL_FILLING, DPGL_READY, DPGL_UPLOADING };

/* The entry points, loaded per port from the context current at create/open. */
typedef struct {
    HGLRC(WINAPI *GetCurrentContext)(void);
    HGLRC(WINAPI *CreateContext)(HDC);
    BOOL(WINAPI *DeleteContext)(HGLRC);
    BOOL(WINAPI *MakeCurrent)(HDC, HGLRC);
    BOOL(WINAPI *ShareLists)(HGLRC, HGLRC);
    void(APIENTRY *Flush)(void);
    HDC(WINAPI *GetCurrentDC)(void);
    PROC(WINAPI *GetProcAddress)(LPCSTR);
    /* user32's, where the process has it loaded (any with a GL window does): NULL otherwise. */
    HWND(WINAPI *WindowFromDC)(HDC);
    BOOL(WINAPI *IsWindow)(HWND);
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
    PFNGLCHECKFRAMEBUFFERSTATUSPROC CheckFramebufferStatus;
    PFNGLGENRENDERBUFFERSPROC GenRenderbuffers;
    PFNGLDELETERENDERBUFFERSPROC DeleteRenderbuffers;
    PFNGLBINDRENDERBUFFERPROC BindRenderbuffer;
    PFNGLRENDERBUFFERSTORAGEPROC RenderbufferStorage;
    PFNGLFRAMEBUFFERRENDERBUFFERPROC FramebufferRenderbuffer;
    PFNGLGETFRAMEBUFFERATTACHMENTPARAMETERIVPROC GetFramebufferAttachmentParameteriv;
    PFNWGLGETEXTENSIONSSTRINGARBPROC GetExtensionsStringARB;
    PFNWGLDXOPENDEVICENVPROC DXOpenDeviceNV;
    PFNWGLDXCLOSEDEVICENVPROC DXCloseDeviceNV;
    PFNWGLDXREGISTEROBJECTNVPROC DXRegisterObjectNV;
    PFNWGLDXUNREGISTEROBJECTNVPROC DXUnregisterObjectNV;
    PFNWGLDXLOCKOBJECTSNVPROC DXLockObjectsNV;
    PFNWGLDXUNLOCKOBJECTSNVPROC DXUnlockObjectsNV;
    PFNWGLDXSETRESOURCESHAREHANDLENVPROC DXSetResourceShareHandleNV;
    /* The GL context's adapter (GL_EXT_memory_object_win32 / GL_EXT_semaphore_win32). */
    PFNGLGETSTRINGIPROC GetStringi;
    PFNGLGETUNSIGNEDBYTEVEXTPROC GetUnsignedBytevEXT;
} dpgl_gl;

/* A D3D11 slot texture registered with GL (INTEROP). */
typedef struct {
    ID3D11Texture2D *texture;
    GLuint name;
    HANDLE object;
    bool ready;                 /* its sampling parameters are set (done under its first lock) */
} dpgl_interop_object;

typedef struct {
    GLuint name;
    uint8_t *ptr;               /* persistent mapping, rows tightly packed */
    GLsync sync;
    volatile LONG state;
    uint32_t slot;              /* producer: the port slot it is read for */
    volatile LONG64 frame;
} dpgl_buffer;

/* One generation of a COPY port: its pixel buffers and (consumer) texture. */
typedef struct {
    dp_gen base;
    GLenum internal_format, format, type;
    uint32_t row_bytes;         /* width * bytes per pixel: a buffer row */
    dpgl_buffer buffer[DPGL_BUFFERS];
    GLuint texture;             /* consumer */
    volatile LONG64 harvested;  /* producer: newest frame whose readback finished on the GPU */
    /* Producer: the harvest thread, which waits for each readback's fence on a context of
     * its own (shared with the caller's, current only on that thread) and hands the frame
     * to the worker the moment it is done. NULL: harvests happen at each publish. */
    HANDLE harvester;
    HANDLE harvest_kick;        /* auto-reset: a readback was issued, or stop */
    volatile LONG harvest_stop;
    volatile LONG harvest_current;  /* 1: the thread made its context current; -1: it could not */
    HGLRC harvest_context;
    HDC harvest_dc;
    HWND harvest_window;        /* the window of harvest_dc (NULL: not a window's DC) */
    /* Consumer of a GPU-transport port without interop: the feed thread (in place of the
     * host worker) acquires each frame through a dp11 consumer handle of its own, copies
     * it into a staging texture, maps it and fills a free buffer. */
    HANDLE feeder;
    HANDLE feed_kick;           /* auto-reset: a buffer came free, or stop */
    volatile LONG feed_stop;
    DP_HANDLE feed_dx;          /* the thread's alone while it runs; pins dp11 (dp11_pin) */
    ID3D11Texture2D *feed_staging;
    SRWLOCK feed_lock;          /* guards the two below */
    DP_RESULT feed_result;      /* the feed's last failure (not a timeout or a producer gone),
                                 * DP_OK since its last good frame */
    char feed_message[256];
} dpgl_gen;

struct DPGL_PORT {
    dp_port base;               /* first: a COPY port is an engine port (DP_KIND_GL) */
    uint32_t magic;
    DP_HANDLE handle;
    HGLRC context;
    dpgl_gl gl;
    HANDLE ready;               /* consumer: auto-reset, set by the worker for a READY buffer */
    dpgl_buffer *filling;       /* producer: the buffer a publish reads into */
    /* INTEROP. */
    DPGL_MODE mode;
    bool held;
    DP_HANDLE dx;               /* the dp11 handle of the port */
    HANDLE dx_device;           /* wglDXOpenDeviceNV */
    dpgl_interop_object object[DPB_MAX_SLOTS];
    HANDLE locked;              /* consumer: the object locked for the frame held */
    GLsync release_sync;        /* consumer: GL's reads of the frame released last, not yet
                                 * seen done: its slot goes back once they are */
    GLuint blit_fbo;            /* producer: draws into the locked slot texture */
    ID3D11Texture2D *touch;     /* producer: one texel of D3D11's own, copied from each slot
                                 * after its blit (dpgl_interop_touch) */
    GLuint read_fbo;            /* producer: reads a texture dpgl_publish_texture is given */
    GLuint resolve_fbo, resolve_rb; /* producer: a multisampled source resolved unflipped first */
    GLint resolve_w, resolve_h;
    GLenum resolve_format;
    uint32_t interop_generation; /* the dp11 port's generation the registrations are of */
};

static const dp_backend dpgl_backend;
static bool dpgl_feed_forced(void);

/* The port's format: the dp11 port's in INTEROP mode, the committed generation's in COPY. */
static DP_FORMAT dpgl_port_format(const DPGL_PORT *p)
{
    DP_PORT_INFO info;
    if (p->mode == DPGL_MODE_INTEROP)
        return dp_get_port_info(p->dx, &info) ? info.format : DP_FORMAT_VIDEO;
    return p->base.gen->geo.format;
}
static DP_RESULT dpgl_feed_start(DPGL_PORT *p, dpgl_gen *g);
static void dpgl_feed_stop(dpgl_gen *g);
static DP_RESULT dpgl_feed_failure(dpgl_gen *g);

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
    DPGL_WGL(CreateContext, "wglCreateContext");
    DPGL_WGL(DeleteContext, "wglDeleteContext");
    DPGL_WGL(MakeCurrent, "wglMakeCurrent");
    DPGL_WGL(ShareLists, "wglShareLists");
    DPGL_WGL(Flush, "glFlush");
    gl32 = GetModuleHandleW(L"user32.dll");
    if (gl32) {
        DPGL_WGL(WindowFromDC, "WindowFromDC");
        DPGL_WGL(IsWindow, "IsWindow");
    }
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
    DPGL_EXT(CheckFramebufferStatus, "glCheckFramebufferStatus");
    DPGL_EXT(GenRenderbuffers, "glGenRenderbuffers");
    DPGL_EXT(DeleteRenderbuffers, "glDeleteRenderbuffers");
    DPGL_EXT(BindRenderbuffer, "glBindRenderbuffer");
    DPGL_EXT(RenderbufferStorage, "glRenderbufferStorage");
    DPGL_EXT(FramebufferRenderbuffer, "glFramebufferRenderbuffer");
    DPGL_EXT(GetFramebufferAttachmentParameteriv, "glGetFramebufferAttachmentParameteriv");
    DPGL_EXT(GetExtensionsStringARB, "wglGetExtensionsStringARB");
    DPGL_EXT(DXOpenDeviceNV, "wglDXOpenDeviceNV");
    DPGL_EXT(DXCloseDeviceNV, "wglDXCloseDeviceNV");
    DPGL_EXT(DXRegisterObjectNV, "wglDXRegisterObjectNV");
    DPGL_EXT(DXUnregisterObjectNV, "wglDXUnregisterObjectNV");
    DPGL_EXT(DXLockObjectsNV, "wglDXLockObjectsNV");
    DPGL_EXT(DXUnlockObjectsNV, "wglDXUnlockObjectsNV");
    DPGL_EXT(DXSetResourceShareHandleNV, "wglDXSetResourceShareHandleNV");
    DPGL_EXT(GetStringi, "glGetStringi");
    DPGL_EXT(GetUnsignedBytevEXT, "glGetUnsignedBytevEXT");
#undef DPGL_EXT
    return gl->GenBuffers && gl->DeleteBuffers && gl->BindBuffer && gl->BufferStorage && gl->MapBufferRange &&
           gl->UnmapBuffer && gl->FenceSync && gl->ClientWaitSync && gl->DeleteSync && gl->BindFramebuffer;
}

/* What any dpgl call may change, saved on entry and put back on the way out. */
typedef struct {
    GLint read_fbo, draw_fbo, read_buffer, pack_buffer, unpack_buffer, texture;
    GLint pack[4], unpack[4];
    GLint scissor_test, srgb, renderbuffer;
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
    gl->GetIntegerv(GL_RENDERBUFFER_BINDING, &s->renderbuffer);
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
    if (gl->BindRenderbuffer)
        gl->BindRenderbuffer(GL_RENDERBUFFER, (GLuint)s->renderbuffer);
    gl->BindBuffer(GL_PIXEL_UNPACK_BUFFER, (GLuint)s->unpack_buffer);
    gl->BindBuffer(GL_PIXEL_PACK_BUFFER, (GLuint)s->pack_buffer);
    /* The read buffer belongs to the framebuffer that was bound when it was read. */
    gl->BindFramebuffer(GL_READ_FRAMEBUFFER, (GLuint)s->read_fbo);
    gl->ReadBuffer((GLenum)s->read_buffer);
    gl->BindFramebuffer(GL_DRAW_FRAMEBUFFER, (GLuint)s->draw_fbo);
    (s->scissor_test ? gl->Enable : gl->Disable)(GL_SCISSOR_TEST);
    (s->srgb ? gl->Enable : gl->Disable)(GL_FRAMEBUFFER_SRGB);
}

/* ---- The producer's source ---------------------------------------------------------------- */

/* Binds fbo for reading; for the default framebuffer also selects its back buffer (its
 * front one if it has no back one) and returns the read buffer it had (0 otherwise),
 * which dpgl_unbind_read puts back. */
static GLint dpgl_bind_read(DPGL_PORT *p, GLuint fbo)
{
    GLint previous = 0, draw = 0, doubled = 1;
    p->gl.BindFramebuffer(GL_READ_FRAMEBUFFER, fbo);
    if (!fbo) {
        /* GL_DOUBLEBUFFER is the draw framebuffer's: asked of the default one. */
        p->gl.GetIntegerv(GL_DRAW_FRAMEBUFFER_BINDING, &draw);
        p->gl.BindFramebuffer(GL_DRAW_FRAMEBUFFER, 0);
        p->gl.GetIntegerv(GL_DOUBLEBUFFER, &doubled);
        p->gl.BindFramebuffer(GL_DRAW_FRAMEBUFFER, (GLuint)draw);
        p->gl.GetIntegerv(GL_READ_BUFFER, &previous);
        p->gl.ReadBuffer(doubled ? GL_BACK : GL_FRONT);
    }
    return previous;
}

/* The default framebuffer's read buffer belongs to it: put back with it bound (a resolve
 * may have bound another framebuffer for reading since). */
static void dpgl_unbind_read(DPGL_PORT *p, GLuint fbo, GLint previous)
{
    if (!fbo) {
        p->gl.BindFramebuffer(GL_READ_FRAMEBUFFER, 0);
        p->gl.ReadBuffer((GLenum)previous);
    }
}

/* The sized internal format of a color buffer of this component type, these red, green,
 * blue and alpha bits and this encoding (glGetFramebufferAttachmentParameteriv): what a
 * multisampled source is resolved into, as a resolve blit takes identical formats. 0 for
 * none of these. */
static GLenum dpgl_sized_format(GLint component, const GLint bits[4], bool srgb)
{
    static const struct {
        GLint component;
        GLint r, g, b, a;
        GLenum format, srgb;
    } table[] = {
        {GL_UNSIGNED_NORMALIZED, 8, 8, 8, 8, GL_RGBA8, GL_SRGB8_ALPHA8},
        {GL_UNSIGNED_NORMALIZED, 8, 8, 8, 0, GL_RGB8, GL_SRGB8},
        {GL_UNSIGNED_NORMALIZED, 10, 10, 10, 2, GL_RGB10_A2, 0},
        {GL_UNSIGNED_NORMALIZED, 16, 16, 16, 16, GL_RGBA16, 0},
        {GL_UNSIGNED_NORMALIZED, 16, 16, 16, 0, GL_RGB16, 0},
        {GL_UNSIGNED_NORMALIZED, 5, 6, 5, 0, GL_RGB565, 0},
        {GL_UNSIGNED_NORMALIZED, 5, 5, 5, 1, GL_RGB5_A1, 0},
        {GL_UNSIGNED_NORMALIZED, 4, 4, 4, 4, GL_RGBA4, 0},
        {GL_UNSIGNED_NORMALIZED, 8, 8, 0, 0, GL_RG8, 0},
        {GL_UNSIGNED_NORMALIZED, 8, 0, 0, 0, GL_R8, 0},
        {GL_UNSIGNED_NORMALIZED, 16, 16, 0, 0, GL_RG16, 0},
        {GL_UNSIGNED_NORMALIZED, 16, 0, 0, 0, GL_R16, 0},
        {GL_SIGNED_NORMALIZED, 8, 8, 8, 8, GL_RGBA8_SNORM, 0},
        {GL_SIGNED_NORMALIZED, 16, 16, 16, 16, GL_RGBA16_SNORM, 0},
        {GL_FLOAT, 16, 16, 16, 16, GL_RGBA16F, 0},
        {GL_FLOAT, 32, 32, 32, 32, GL_RGBA32F, 0},
        {GL_FLOAT, 16, 16, 16, 0, GL_RGB16F, 0},
        {GL_FLOAT, 32, 32, 32, 0, GL_RGB32F, 0},
        {GL_FLOAT, 11, 11, 10, 0, GL_R11F_G11F_B10F, 0},
        {GL_FLOAT, 16, 16, 0, 0, GL_RG16F, 0},
        {GL_FLOAT, 32, 32, 0, 0, GL_RG32F, 0},
        {GL_FLOAT, 16, 0, 0, 0, GL_R16F, 0},
        {GL_FLOAT, 32, 0, 0, 0, GL_R32F, 0},
        {GL_UNSIGNED_INT, 32, 0, 0, 0, GL_R32UI, 0},
        {GL_UNSIGNED_INT, 8, 8, 8, 8, GL_RGBA8UI, 0},
        {GL_UNSIGNED_INT, 16, 16, 16, 16, GL_RGBA16UI, 0},
        {GL_UNSIGNED_INT, 32, 32, 32, 32, GL_RGBA32UI, 0},
        {GL_INT, 32, 0, 0, 0, GL_R32I, 0},
        {GL_INT, 32, 32, 32, 32, GL_RGBA32I, 0},
    };
    for (size_t i = 0; i < DP_ARRAY_SIZE(table); i++)
        if (table[i].component == component && table[i].r == bits[0] && table[i].g == bits[1] &&
            table[i].b == bits[2] && table[i].a == bits[3])
            return srgb ? table[i].srgb : table[i].format;
    return 0;
}

/* glReadPixels, glGetTexImage and the blit take integer values into a RAW_32BIT port only,
 * and nothing else into one. component: GL_FRAMEBUFFER_ATTACHMENT_COMPONENT_TYPE or
 * GL_TEXTURE_RED_TYPE of the source, what and name: the source, for the message. */
static DP_RESULT dpgl_check_integer(GLint component, DP_FORMAT format, const char *what, GLuint name, const char *fn)
{
    bool integer = component == GL_INT || component == GL_UNSIGNED_INT;
    if (integer && format != DP_FORMAT_RAW_32BIT)
        return dp_fail(DP_ERROR_INVALID_ARGUMENT, "%s: %s %u holds integer values: only a RAW_32BIT port takes those",
                       fn, what, name);
    if (!integer && format == DP_FORMAT_RAW_32BIT)
        return dp_fail(DP_ERROR_INVALID_ARGUMENT, "%s: a RAW_32BIT port takes integer values, and %s %u holds none",
                       fn, what, name);
    return DP_OK;
}

/* Where a publish reads its region from. */
typedef struct {
    GLuint fbo;     /* the caller's framebuffer, or the adapter's resolved copy of it */
    GLint x, y;
    GLenum resolve; /* 0, or the format a multisampled source is resolved into first */
} dpgl_source;

/* Checks the framebuffer bound for reading (dpgl_bind_read) as a publish's source. The
 * adapter never calls glGetError, which would take the caller's pending errors, so what
 * it issues must not fail: every error the glBlitFramebuffer and glReadPixels reference
 * pages give for a source is ruled out here. An incomplete framebuffer, no read buffer,
 * integer values for a port of another format or the other way round:
 * DP_ERROR_INVALID_ARGUMENT. A multisampled source, which a flipped blit, a blit into
 * another format and glReadPixels from a framebuffer object all refuse, is resolved
 * first (dpgl_resolve): any framebuffer object, and the default framebuffer for a blit
 * (glReadPixels resolves that one itself). blit: INTEROP's flipped blit reads the region,
 * not glReadPixels. Leaves the draw framebuffer binding changed: the caller restores it. */
static DP_RESULT dpgl_check_source(DPGL_PORT *p, GLuint fbo, GLint x, GLint y, GLsizei w, GLsizei h,
                                   DP_FORMAT format, bool blit, dpgl_source *out, const char *fn)
{
    static const GLenum bit_names[4] = {GL_FRAMEBUFFER_ATTACHMENT_RED_SIZE, GL_FRAMEBUFFER_ATTACHMENT_GREEN_SIZE,
                                        GL_FRAMEBUFFER_ATTACHMENT_BLUE_SIZE, GL_FRAMEBUFFER_ATTACHMENT_ALPHA_SIZE};
    GLint read_buffer = GL_NONE, type = GL_NONE, component = GL_NONE, encoding = GL_LINEAR, samples = 0;
    GLint bits[4] = {0, 0, 0, 0}, max = 0;
    GLenum status, attachment;
    DP_RESULT r;
    out->fbo = fbo, out->x = x, out->y = y, out->resolve = 0;
    if (!p->gl.CheckFramebufferStatus || !p->gl.GetFramebufferAttachmentParameteriv || !p->gl.BlitFramebuffer ||
        !p->gl.GenRenderbuffers || !p->gl.RenderbufferStorage || !p->gl.FramebufferRenderbuffer)
        return dp_fail(DP_ERROR_UNSUPPORTED, "%s: the context lacks the framebuffer object functions of GL 3.0", fn);
    status = p->gl.CheckFramebufferStatus(GL_READ_FRAMEBUFFER);
    if (status != GL_FRAMEBUFFER_COMPLETE)
        return dp_fail(DP_ERROR_INVALID_ARGUMENT, "%s: framebuffer %u is not complete (status 0x%x)", fn, fbo, status);
    p->gl.GetIntegerv(GL_READ_BUFFER, &read_buffer);
    attachment = (GLenum)read_buffer;
    if (!fbo)
        attachment = attachment == GL_FRONT ? GL_FRONT_LEFT : GL_BACK_LEFT;
    if (read_buffer != GL_NONE)
        p->gl.GetFramebufferAttachmentParameteriv(GL_READ_FRAMEBUFFER, attachment,
                                                  GL_FRAMEBUFFER_ATTACHMENT_OBJECT_TYPE, &type);
    if (type == GL_NONE)
        return dp_fail(DP_ERROR_INVALID_ARGUMENT, "%s: framebuffer %u has no color image at its read buffer (0x%x)", fn,
                       fbo, read_buffer);
    p->gl.GetFramebufferAttachmentParameteriv(GL_READ_FRAMEBUFFER, attachment,
                                              GL_FRAMEBUFFER_ATTACHMENT_COMPONENT_TYPE, &component);
    r = dpgl_check_integer(component, format, "framebuffer", fbo, fn);
    if (r != DP_OK)
        return r;
    if (blit && component == GL_INT)
        return dp_fail(DP_ERROR_INVALID_ARGUMENT, "%s: framebuffer %u holds signed integers: a blit into the "
                                                  "port's unsigned texture (R32_UINT) would be refused", fn, fbo);
    /* GL_SAMPLE_BUFFERS is the draw framebuffer's: asked of the source bound for drawing. */
    p->gl.BindFramebuffer(GL_DRAW_FRAMEBUFFER, fbo);
    p->gl.GetIntegerv(GL_SAMPLE_BUFFERS, &samples);
    if (!samples || (!blit && !fbo))
        return DP_OK;
    /* A resolve blit takes the same rectangle on both sides and identical formats. */
    if (x < 0 || y < 0)
        return dp_fail(DP_ERROR_INVALID_ARGUMENT, "%s: framebuffer %u is multisampled: its region must start at "
                                                  "x, y >= 0, not %d, %d", fn, fbo, x, y);
    for (int i = 0; i < 4; i++)
        p->gl.GetFramebufferAttachmentParameteriv(GL_READ_FRAMEBUFFER, attachment, bit_names[i], &bits[i]);
    p->gl.GetFramebufferAttachmentParameteriv(GL_READ_FRAMEBUFFER, attachment,
                                              GL_FRAMEBUFFER_ATTACHMENT_COLOR_ENCODING, &encoding);
    out->resolve = dpgl_sized_format(component, bits, encoding == GL_SRGB);
    if (!out->resolve)
        return dp_fail(DP_ERROR_UNSUPPORTED, "%s: framebuffer %u is multisampled in a format the adapter cannot "
                                             "resolve (component type 0x%x, %d/%d/%d/%d bits)", fn, fbo, component,
                       bits[0], bits[1], bits[2], bits[3]);
    p->gl.GetIntegerv(GL_MAX_RENDERBUFFER_SIZE, &max);
    if ((int64_t)x + w > max || (int64_t)y + h > max)
        return dp_fail(DP_ERROR_UNSUPPORTED, "%s: the region of multisampled framebuffer %u ends beyond "
                                             "GL_MAX_RENDERBUFFER_SIZE (%d)", fn, fbo, max);
    return DP_OK;
}

/* Resolves a multisampled source (dpgl_check_source) into the adapter's renderbuffer of
 * its own format, over the same rectangle (a resolve blit takes no flip and no offset),
 * and binds that for reading in its place. The scissor test and sRGB conversion, which
 * apply to blits, are turned off: the caller's dpgl_restore puts them back. */
static DP_RESULT dpgl_resolve(DPGL_PORT *p, dpgl_source *s, GLsizei w, GLsizei h, const char *fn)
{
    GLint rw = s->x + w, rh = s->y + h;
    GLenum status;
    if (!s->resolve)
        return DP_OK;
    if (!p->resolve_fbo) {
        p->gl.GenFramebuffers(1, &p->resolve_fbo);
        p->gl.GenRenderbuffers(1, &p->resolve_rb);
    }
    if (p->resolve_w != rw || p->resolve_h != rh || p->resolve_format != s->resolve) {
        p->gl.BindRenderbuffer(GL_RENDERBUFFER, p->resolve_rb);
        p->gl.RenderbufferStorage(GL_RENDERBUFFER, s->resolve, rw, rh);
        p->gl.BindFramebuffer(GL_DRAW_FRAMEBUFFER, p->resolve_fbo);
        p->gl.FramebufferRenderbuffer(GL_DRAW_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, GL_RENDERBUFFER, p->resolve_rb);
        p->resolve_w = rw, p->resolve_h = rh, p->resolve_format = s->resolve;
    }
    p->gl.BindFramebuffer(GL_DRAW_FRAMEBUFFER, p->resolve_fbo);
    status = p->gl.CheckFramebufferStatus(GL_DRAW_FRAMEBUFFER);
    if (status != GL_FRAMEBUFFER_COMPLETE) {
        p->resolve_w = 0;
        return dp_fail(DP_ERROR_DEVICE, "%s: the resolve renderbuffer (format 0x%x, %dx%d) is not complete (0x%x)", fn,
                       s->resolve, rw, rh, status);
    }
    p->gl.Disable(GL_SCISSOR_TEST);
    p->gl.Disable(GL_FRAMEBUFFER_SRGB);
    p->gl.BlitFramebuffer(s->x, s->y, rw, rh, s->x, s->y, rw, rh, GL_COLOR_BUFFER_BIT, GL_NEAREST);
    p->gl.BindFramebuffer(GL_READ_FRAMEBUFFER, p->resolve_fbo);
    s->fbo = p->resolve_fbo;
    return DP_OK;
}

/* ---- INTEROP ------------------------------------------------------------------------------ */

/* Whether the current context offers WGL_NV_DX_interop2: its name and its functions. */
static bool dpgl_interop_available(const dpgl_gl *gl)
{
    const char *ext = gl->GetExtensionsStringARB ? gl->GetExtensionsStringARB(gl->GetCurrentDC()) : NULL;
    return ext && strstr(ext, "WGL_NV_DX_interop2") && gl->CheckFramebufferStatus && gl->GenRenderbuffers &&
           gl->DeleteRenderbuffers && gl->BindRenderbuffer && gl->RenderbufferStorage && gl->FramebufferRenderbuffer &&
           gl->DXOpenDeviceNV && gl->DXCloseDeviceNV &&
           gl->DXRegisterObjectNV && gl->DXUnregisterObjectNV && gl->DXLockObjectsNV && gl->DXUnlockObjectsNV &&
           gl->GenFramebuffers && gl->FramebufferTexture2D && gl->BlitFramebuffer;
}

/* Whether the current context lists the GL extension ext (glGetStringi: a core profile
 * has no GL_EXTENSIONS string, and asking for one would leave GL_INVALID_ENUM behind). */
static bool dpgl_has_gl_extension(const dpgl_gl *gl, const char *ext)
{
    GLint n = 0;
    if (!gl->GetStringi)
        return false;
    gl->GetIntegerv(GL_NUM_EXTENSIONS, &n);
    for (GLint i = 0; i < n; i++) {
        const char *e = (const char *)gl->GetStringi(GL_EXTENSIONS, (GLuint)i);
        if (e && !strcmp(e, ext))
            return true;
    }
    return false;
}

/* The adapter the current context runs on, where the context says
 * (GL_EXT_external_objects_win32: GL_DEVICE_LUID_EXT, GL_LUID_SIZE_EXT bytes). */
static bool dpgl_context_luid(const dpgl_gl *gl, LUID *out)
{
    GLubyte luid[GL_LUID_SIZE_EXT];
    if (!gl->GetUnsignedBytevEXT || (!dpgl_has_gl_extension(gl, "GL_EXT_memory_object_win32") &&
                                     !dpgl_has_gl_extension(gl, "GL_EXT_semaphore_win32")))
        return false;
    memset(luid, 0, sizeof luid);
    gl->GetUnsignedBytevEXT(GL_DEVICE_LUID_EXT, luid);
    memcpy(out, luid, sizeof *out);
    return out->LowPart || out->HighPart;
}

/* The D3D11 device interop binds: on the GL context's adapter where the context names
 * it (a hybrid laptop's GL may run on either GPU), else the default one. A device made
 * earlier stays: interop then fails on another adapter, and the port takes COPY. */
static bool dpgl_dx_init(const dpgl_gl *gl)
{
    LUID luid;
    return dpgl_context_luid(gl, &luid) ? dp11_init_on_adapter(luid) : dp11_init();
}

static void dpgl_interop_forget(DPGL_PORT *p, bool gl_current)
{
    for (uint32_t i = 0; i < DPB_MAX_SLOTS; i++) {
        dpgl_interop_object *o = &p->object[i];
        if (gl_current && o->object)
            p->gl.DXUnregisterObjectNV(p->dx_device, o->object);
        if (gl_current && o->name)
            p->gl.DeleteTextures(1, &o->name);
        DP_RELEASE(o->texture);
        memset(o, 0, sizeof(*o));
    }
}

/* The GL side of a D3D11 slot texture, registered at first use. A registration holds a
 * reference on its texture, so no other texture can come at its address while it lives,
 * and all of them go when the port moves to a new generation (resize, new producer). */
static HANDLE dpgl_interop_object_for(DPGL_PORT *p, ID3D11Texture2D *texture, GLenum access)
{
    dpgl_interop_object *o = NULL;
    DP_PORT_INFO info;
    if (dp_get_port_info(p->dx, &info) && info.generation != p->interop_generation) {
        dpgl_interop_forget(p, true);
        p->interop_generation = info.generation;
    }
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
    ID3D11Texture2D_AddRef(texture);
    o->texture = texture;
    return o->object;
}

/* A port texture's sampling parameters, for a texture of one level: GL_LINEAR and
 * GL_CLAMP_TO_EDGE (the default GL_NEAREST_MIPMAP_LINEAR would make it incomplete, and
 * it would sample black); GL_NEAREST for RAW_32BIT's integer texture, which any other
 * filter makes incomplete (GL 4.6 §8.17). Binds the texture: the caller restores. */
static void dpgl_texture_params(const dpgl_gl *gl, GLuint name, DP_FORMAT format)
{
    GLint filter = format == DP_FORMAT_RAW_32BIT ? GL_NEAREST : GL_LINEAR;
    gl->BindTexture(GL_TEXTURE_2D, name);
    gl->TexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, filter);
    gl->TexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, filter);
    gl->TexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_S, GL_CLAMP_TO_EDGE);
    gl->TexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_T, GL_CLAMP_TO_EDGE);
}

/* Locks a registered object for GL. A GL object tied to a D3D resource may be used only
 * while locked (WGL_NV_DX_interop), so its parameters are set here, under its first lock. */
static bool dpgl_interop_lock(DPGL_PORT *p, HANDLE object)
{
    GLint bound = 0;
    if (!object || !p->gl.DXLockObjectsNV(p->dx_device, 1, &object))
        return false;
    for (uint32_t i = 0; i < DPB_MAX_SLOTS; i++) {
        dpgl_interop_object *o = &p->object[i];
        if (o->object != object || o->ready)
            continue;
        p->gl.GetIntegerv(GL_TEXTURE_BINDING_2D, &bound);
        dpgl_texture_params(&p->gl, o->name, dpgl_port_format(p));
        p->gl.BindTexture(GL_TEXTURE_2D, (GLuint)bound);
        o->ready = true;
    }
    return true;
}

/* The GL texture name of a registered interop object. */
static GLuint dpgl_interop_name(const DPGL_PORT *p, HANDLE object)
{
    for (uint32_t i = 0; i < DPB_MAX_SLOTS; i++)
        if (p->object[i].object == object)
            return p->object[i].name;
    return 0;
}

/* Producer: binds the adapter's draw framebuffer for drawing with the slot texture of
 * the locked object attached (NULL: detached, so that GL keeps no reference to it past
 * the unlock); the framebuffer's status. */
static GLenum dpgl_interop_draw_into(DPGL_PORT *p, HANDLE object)
{
    p->gl.BindFramebuffer(GL_DRAW_FRAMEBUFFER, p->blit_fbo);
    p->gl.FramebufferTexture2D(GL_DRAW_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, GL_TEXTURE_2D,
                               object ? dpgl_interop_name(p, object) : 0, 0);
    return object ? p->gl.CheckFramebufferStatus(GL_DRAW_FRAMEBUFFER) : GL_FRAMEBUFFER_COMPLETE;
}

/* Binds p to the dp11 handle dx (a GPU-transport port) through the interop device, tried
 * completely before the port commits to it: the device opened, slot 0's texture
 * registered with the access the port will use (a producer's WRITE_DISCARD, a consumer's
 * READ_ONLY), locked, for a producer found a complete draw target, and unlocked. Any
 * refusal is DP_ERROR_UNSUPPORTED with its reason (the caller then serves the port in
 * COPY mode where it can). The registration stays for the port's use. */
static DP_RESULT dpgl_interop_attach(DPGL_PORT *p, DP_HANDLE dx)
{
    ID3D11Texture2D *slot0 = dp11_get_texture(dx);
    bool producer = p->base.producer;
    GLenum status = GL_FRAMEBUFFER_COMPLETE;
    GLint draw = 0;
    HANDLE object;
    DP_RESULT r;
    p->dx = dx;
    /* Each INTEROP port drives dp11's immediate context (its waits and signals) from the
     * thread of its GL context, and ports may live on different threads: by default a
     * D3D11 immediate context takes one thread at a time (ID3D11Multithread). */
    r = dp11_protect_device();
    if (r != DP_OK)
        return dp_fail(DP_ERROR_UNSUPPORTED, "the D3D11 device cannot be made thread-safe for interop: %s",
                       dp_last_error_message());
    p->dx_device = p->gl.DXOpenDeviceNV(dp11_get_device());
    if (!p->dx_device)
        return dp_fail(DP_ERROR_UNSUPPORTED, "wglDXOpenDeviceNV failed: Win32 error %lu (the GL context may be on "
                                             "another adapter than the D3D11 device)", GetLastError());
    object = slot0 ? dpgl_interop_object_for(p, slot0, producer ? WGL_ACCESS_WRITE_DISCARD_NV : WGL_ACCESS_READ_ONLY_NV)
                   : NULL;
    if (!object)
        return dp_fail(DP_ERROR_UNSUPPORTED, "wglDXRegisterObjectNV refused the port's texture: %s",
                       dp_last_error_message());
    if (!dpgl_interop_lock(p, object))
        return dp_fail(DP_ERROR_UNSUPPORTED, "wglDXLockObjectsNV refused the port's texture: Win32 error %lu",
                       GetLastError());
    if (producer) {
        /* What each publish draws into: the slot texture attached to the adapter's framebuffer. */
        p->gl.GenFramebuffers(1, &p->blit_fbo);
        p->gl.GetIntegerv(GL_DRAW_FRAMEBUFFER_BINDING, &draw);
        status = dpgl_interop_draw_into(p, object);
        dpgl_interop_draw_into(p, NULL);
        p->gl.BindFramebuffer(GL_DRAW_FRAMEBUFFER, (GLuint)draw);
    }
    p->gl.DXUnlockObjectsNV(p->dx_device, 1, &object);
    if (status != GL_FRAMEBUFFER_COMPLETE)
        return dp_fail(DP_ERROR_UNSUPPORTED, "the port's texture, registered with GL, is not a complete draw target "
                                             "(status 0x%x)", status);
    p->mode = DPGL_MODE_INTEROP;
    return DP_OK;
}

/* Producer, after the unlock: a one-texel D3D11 copy from the slot texture into a texture
 * of the adapter's own, queued on dp11's immediate context before dp11_end_frame's Signal.
 * Lock and unlock order the texture only between GL and D3D11 of this process
 * (WGL_NV_DX_interop: "They ensure that any rendering operations that affect the resource
 * on one driver are complete before the other driver takes ownership of it"); the copy is
 * D3D11 taking the texture over, so it runs once GL's blit is complete, and the Signal
 * after it comes "after all previous work has completed" (ID3D11DeviceContext4::Signal).
 * So the fence other processes wait on covers the blit, and the render thread never waits
 * for GL. */
static DP_RESULT dpgl_interop_touch(DPGL_PORT *p, ID3D11Texture2D *slot, const char *fn)
{
    ID3D11Device *device = dp11_get_device();
    ID3D11DeviceContext *context = NULL;
    D3D11_BOX box = {0, 0, 0, 1, 1, 1};
    if (!device)
        return dp_fail(DP_ERROR_DEVICE, "%s: the D3D11 device is gone", fn);
    if (!p->touch) {
        D3D11_TEXTURE2D_DESC d;
        HRESULT hr;
        ID3D11Texture2D_GetDesc(slot, &d);
        d.Width = d.Height = 1;
        d.MipLevels = d.ArraySize = 1;
        d.SampleDesc.Count = 1;
        d.SampleDesc.Quality = 0;
        d.Usage = D3D11_USAGE_DEFAULT;
        d.BindFlags = d.CPUAccessFlags = d.MiscFlags = 0;
        hr = ID3D11Device_CreateTexture2D(device, &d, NULL, &p->touch);
        if (FAILED(hr))
            return dp_fail(DP_ERROR_DEVICE, "%s: ID3D11Device::CreateTexture2D (1x1, for the blit's completion): hr "
                                            "0x%08lx", fn, (unsigned long)hr);
    }
    ID3D11Device_GetImmediateContext(device, &context);
    ID3D11DeviceContext_CopySubresourceRegion(context, (ID3D11Resource *)p->touch, 0, 0, 0, 0, (ID3D11Resource *)slot,
                                              0, &box);
    ID3D11DeviceContext_Release(context);
    return DP_OK;
}

/* Producer: the framebuffer region into the next slot texture, flipped to top row first.
 * The source is checked before the frame is begun, so a refused one costs no slot. */
static DP_RESULT dpgl_interop_publish(DPGL_PORT *p, GLuint fbo, GLint x, GLint y, GLsizei w, GLsizei h,
                                      const char *fn)
{
    ID3D11Texture2D *target = NULL;
    DP_PORT_INFO info;
    HANDLE object = NULL;
    dpgl_source src;
    dpgl_state s;
    GLint previous;
    bool begun = false;
    DP_RESULT r = DP_OK;

    if (!dp_get_port_info(p->dx, &info))
        return dp_last_error();
    dpgl_save(&p->gl, &s);
    previous = dpgl_bind_read(p, fbo);
    r = dpgl_check_source(p, fbo, x, y, w, h, info.format, true, &src, fn);
    if (r == DP_OK && ((uint32_t)w != info.width || (uint32_t)h != info.height)) {
        dpgl_interop_forget(p, true);
        r = dp11_resize_port(p->dx, (uint32_t)w, (uint32_t)h);
    }
    if (r == DP_OK)
        r = dp11_begin_frame(p->dx, &target);
    begun = r == DP_OK;
    if (r == DP_OK) {
        object = dpgl_interop_object_for(p, target, WGL_ACCESS_WRITE_DISCARD_NV);
        if (!dpgl_interop_lock(p, object)) {
            object = NULL;
            r = dp_fail(DP_ERROR_DEVICE, "%s: wglDXLockObjectsNV failed", fn);
        }
    }
    if (r == DP_OK)
        r = dpgl_resolve(p, &src, w, h, fn);
    if (r == DP_OK) {
        p->gl.Disable(GL_SCISSOR_TEST);
        p->gl.Disable(GL_FRAMEBUFFER_SRGB);
        /* A slot texture GL cannot draw into would publish whatever it held as this frame. */
        if (dpgl_interop_draw_into(p, object) != GL_FRAMEBUFFER_COMPLETE)
            r = dp_fail(DP_ERROR_DEVICE, "%s: the slot texture is not a complete draw target", fn);
    }
    if (r == DP_OK) {
        /* GL's bottom row lands in the texture's last row: the port's rows are top first. */
        p->gl.BlitFramebuffer(src.x, src.y, src.x + w, src.y + h, 0, h, w, 0, GL_COLOR_BUFFER_BIT, GL_NEAREST);
    }
    /* Detached while locked: an attachment would keep the slot texture referenced by GL
     * past the unlock (and past its unregistration). */
    if (object)
        dpgl_interop_draw_into(p, NULL);
    dpgl_unbind_read(p, fbo, previous);
    dpgl_restore(&p->gl, &s);
    if (object) {
        /* The blit goes to the GPU now, not at the caller's next flush. */
        p->gl.Flush();
        p->gl.DXUnlockObjectsNV(p->dx_device, 1, &object);
    }
    if (r == DP_OK)
        r = dpgl_interop_touch(p, target, fn);
    if (r != DP_OK) {
        if (begun)
            dp_engine_abort_frame(p->dx, DP_KIND_D3D11);
        return r;
    }
    return dp11_end_frame(p->dx, NULL);
}

/* Attaches texture (0: none) to the adapter's read framebuffer; the caller's read
 * framebuffer binding is put back. */
static void dpgl_attach_read(DPGL_PORT *p, GLuint texture)
{
    GLint read = 0;
    p->gl.GetIntegerv(GL_READ_FRAMEBUFFER_BINDING, &read);
    p->gl.BindFramebuffer(GL_READ_FRAMEBUFFER, p->read_fbo);
    p->gl.FramebufferTexture2D(GL_READ_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, GL_TEXTURE_2D, texture, 0);
    p->gl.BindFramebuffer(GL_READ_FRAMEBUFFER, (GLuint)read);
}

/* Producer: a texture is published as a framebuffer of the adapter's own that it is
 * attached to. */
static DP_RESULT dpgl_interop_publish_texture(DPGL_PORT *p, GLuint texture, GLint w, GLint h)
{
    DP_RESULT r;
    if (!p->read_fbo)
        p->gl.GenFramebuffers(1, &p->read_fbo);
    dpgl_attach_read(p, texture);
    r = dpgl_interop_publish(p, p->read_fbo, 0, 0, w, h, "dpgl_publish_texture");
    /* The caller's texture is not kept attached (referenced) by the adapter's framebuffer. */
    dpgl_attach_read(p, 0);
    return r;
}

/* Consumer: gives the last released frame's slot back (dp11_release_frame signals the
 * release fence the producer waits on) once GL is past the fence put after the caller's
 * reads, waiting for it at most timeout_ns (0: only looks). The unlock orders the texture
 * between GL and D3D11 of this process (WGL_NV_DX_interop); the producer's writes come
 * from another process's device, which only that fence orders. False: not yet. With the
 * port's context not current the reads cannot be asked about: the slot goes back. */
static bool dpgl_current(const DPGL_PORT *p);

static bool dpgl_interop_finish_release(DPGL_PORT *p, GLuint64 timeout_ns)
{
    if (!p->release_sync)
        return true;
    if (dpgl_current(p)) {
        GLenum w = p->gl.ClientWaitSync(p->release_sync, GL_SYNC_FLUSH_COMMANDS_BIT, timeout_ns);
        if (w == GL_TIMEOUT_EXPIRED)
            return false;
        p->gl.DeleteSync(p->release_sync);
    }
    p->release_sync = NULL;
    dp11_release_frame(p->dx);
    return true;
}

static DP_RESULT dpgl_interop_acquire(DPGL_PORT *p, uint32_t timeout_ms, unsigned *out_texture, uint64_t *out_frame)
{
    ID3D11Texture2D *source = NULL;
    HANDLE object;
    ULONGLONG start = GetTickCount64();
    DP_RESULT r;
    /* The previous frame's reads first, within this call's timeout: normally long done. */
    if (!dpgl_interop_finish_release(p, (GLuint64)timeout_ms * 1000000u))
        return dp_fail(DP_ERROR_TIMEOUT, "dpgl_acquire: GL's reads of the previous frame were not done within %u ms",
                       timeout_ms);
    r = dp11_acquire_frame(p->dx, dp_remaining_ms(start, timeout_ms), &source, out_frame);
    if (r != DP_OK)
        return r;
    object = dpgl_interop_object_for(p, source, WGL_ACCESS_READ_ONLY_NV);
    if (!dpgl_interop_lock(p, object)) {
        dp11_release_frame(p->dx);
        return dp_fail(DP_ERROR_DEVICE, "dpgl_acquire: wglDXLockObjectsNV failed");
    }
    p->locked = object;
    p->held = true;
    *out_texture = dpgl_interop_name(p, object);
    return DP_OK;
}

/* A fence after the caller's reads of the texture, then the unlock; the slot goes back
 * now if GL is already past the fence, else at the next acquire (or close). On a 1-slot
 * port too: the producer may then have to wait (drop) until the consumer's next acquire,
 * but it never writes the slot GL is still reading (a Signal is not ordered by the unlock). */
static void dpgl_interop_release(DPGL_PORT *p)
{
    p->release_sync = p->gl.FenceSync(GL_SYNC_GPU_COMMANDS_COMPLETE, 0);
    p->gl.DXUnlockObjectsNV(p->dx_device, 1, &p->locked);
    p->locked = NULL;
    dpgl_interop_finish_release(p, 0);
}

/* ---- Ports --------------------------------------------------------------------------------- */

/* The GL storage of the port's texture, and the client format and type whose bytes are
 * the port's rows, per DP_FORMAT: what glReadPixels / glGetTexImage write into a pixel
 * buffer and glTexSubImage2D reads from one. VIDEO is stored RGBA8 in GL and moves as
 * B, G, R, A. */
static const GLenum dpgl_formats[][3] = {
    {GL_RGBA8, GL_BGRA, GL_UNSIGNED_BYTE},      {GL_R32F, GL_RED, GL_FLOAT},
    {GL_R16F, GL_RED, GL_HALF_FLOAT},           {GL_R32UI, GL_RED_INTEGER, GL_UNSIGNED_INT},
    {GL_RGBA8, GL_RGBA, GL_UNSIGNED_BYTE},      {GL_RGBA16F, GL_RGBA, GL_HALF_FLOAT},
    {GL_RGBA32F, GL_RGBA, GL_FLOAT},            {GL_RGB10_A2, GL_RGBA, GL_UNSIGNED_INT_2_10_10_10_REV},
};
_Static_assert(DP_ARRAY_SIZE(dpgl_formats) == DPB_FORMATS, "a GL mapping per DP_FORMAT");

static bool dpgl_format(dpgl_gen *g)
{
    uint32_t f = (uint32_t)g->base.geo.format;
    if (f >= DP_ARRAY_SIZE(dpgl_formats))
        return false;
    g->internal_format = dpgl_formats[f][0];
    g->format = dpgl_formats[f][1];
    g->type = dpgl_formats[f][2];
    return true;
}

static dpgl_gen *dpgl_gen_of(const DPGL_PORT *p)
{
    return (dpgl_gen *)p->base.gen;
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

static bool dpgl_current(const DPGL_PORT *p)
{
    return p->gl.GetCurrentContext && p->gl.GetCurrentContext() == p->context;
}

/* The entry points of the context current on this thread, which must offer GL 4.4's
 * buffer storage and sync objects; *out_context (optional) gets the context. */
static DP_RESULT dpgl_bind(dpgl_gl *gl, HGLRC *out_context, const char *fn)
{
    HGLRC context = dpgl_load(gl) ? gl->GetCurrentContext() : NULL;
    if (!context)
        return dp_fail(DP_ERROR_INVALID_ARGUMENT, "%s: no WGL context is current on this thread", fn);
    if (!dpgl_load_context(gl))
        return dp_fail(DP_ERROR_UNSUPPORTED, "%s: the current context lacks GL 4.4 buffer storage or sync objects (%s)",
                       fn, (const char *)gl->GetString(GL_VERSION));
    if (out_context)
        *out_context = context;
    return DP_OK;
}

/* Binds a port record to the context current on this thread: entry points, magic. */
static DP_RESULT dpgl_setup(dp_port *base)
{
    DPGL_PORT *p = (DPGL_PORT *)base;
    DP_RESULT r = dpgl_bind(&p->gl, &p->context, base->producer ? "dpgl_create" : "dpgl_open");
    if (r != DP_OK)
        return r;
    if (!base->producer) {
        p->ready = dp_track(CreateEventW(NULL, FALSE, FALSE, NULL));
        if (!p->ready)
            return dp_fail_win32(DP_ERROR_OUT_OF_MEMORY, GetLastError(), "CreateEvent");
    }
    p->magic = DPGL_MAGIC;
    return DP_OK;
}

static void dpgl_teardown(dp_port *base)
{
    DPGL_PORT *p = (DPGL_PORT *)base;
    dp_close_handle(&p->ready);
    p->magic = 0;
}

/* An INTEROP port: the adapter's own record over a dp11 handle, never an engine port. */
static DPGL_PORT *dpgl_interop_new(bool producer)
{
    DPGL_PORT *p = (DPGL_PORT *)dp_engine_new(&dpgl_backend, producer);
    if (p && dpgl_setup(&p->base) != DP_OK) {
        HeapFree(GetProcessHeap(), 0, p);
        return NULL;
    }
    return p;
}

static void dpgl_interop_destroy(DPGL_PORT *p)
{
    bool current = dpgl_current(p);
    dpgl_state s;
    if (current)
        dpgl_save(&p->gl, &s);
    /* A frame still held: a fence after the caller's reads of it, then the unlock, as
     * dpgl_release does, so the slot goes back only once GL is done with it (below). */
    if (current && p->held)
        dpgl_interop_release(p);
    else if (current && p->locked)
        p->gl.DXUnlockObjectsNV(p->dx_device, 1, &p->locked);
    p->held = false;
    /* The handle's close below ends the claim of a slot whose reads never finished. */
    if (!dpgl_interop_finish_release(p, DPGL_INTEROP_WAIT_NS)) {
        p->gl.DeleteSync(p->release_sync);
        p->release_sync = NULL;
    }
    dpgl_interop_forget(p, current);
    if (current && p->blit_fbo)
        p->gl.DeleteFramebuffers(1, &p->blit_fbo);
    if (current && p->read_fbo)
        p->gl.DeleteFramebuffers(1, &p->read_fbo);
    if (current && p->resolve_fbo)
        p->gl.DeleteFramebuffers(1, &p->resolve_fbo);
    if (current && p->resolve_rb)
        p->gl.DeleteRenderbuffers(1, &p->resolve_rb);
    if (current && p->dx_device)
        p->gl.DXCloseDeviceNV(p->dx_device);
    /* D3D11 keeps an object its queued copy uses alive itself. */
    DP_RELEASE(p->touch);
    if (current)
        dpgl_restore(&p->gl, &s);
    if (p->dx)
        dp11_close(p->dx);
    dpgl_teardown(&p->base);
    HeapFree(GetProcessHeap(), 0, p);
}

/* Binds a new INTEROP record to dx, or closes dx; NULL with the error set. */
static DPGL_PORT *dpgl_interop_port(bool producer, DP_HANDLE dx)
{
    DPGL_PORT *p = dpgl_interop_new(producer);
    DP_RESULT r;
    if (!p) {
        dp11_close(dx);
        return NULL;
    }
    p->handle = dx;
    r = dpgl_interop_attach(p, dx);
    if (r != DP_OK) {
        dpgl_interop_destroy(p);
        return NULL;
    }
    return p;
}

/* The COPY port behind an engine handle. */
static DPGL_PORT *dpgl_copy_port(DP_HANDLE h, const char *fn)
{
    DPGL_PORT *p = h ? dp_handle_get(h, DP_KIND_GL, fn) : NULL;
    if (p)
        p->handle = h;
    return p;
}

DPGL_PORT *dpgl_create(const DP_PORT_DESC *desc)
{
    dp_error_state saved;
    dp_create_args a;
    dpgl_gl gl;

    if (dp_args_from_desc(desc, &a, "dpgl_create") != DP_OK)
        return NULL;
    if (a.flags & DP_PORT_SYSTEM_RAM) {
        dp_fail(DP_ERROR_UNSUPPORTED, "dpgl_create: DP_PORT_SYSTEM_RAM is for the D3D12 core");
        return NULL;
    }
    if (dpgl_bind(&gl, NULL, "dpgl_create") != DP_OK)
        return NULL;
    /* INTEROP where the context and the driver can; COPY on the host transport otherwise. */
    dp_error_save(&saved);
    /* A blit cannot write an integer texture from a framebuffer of colours (GL 4.6
     * §18.3.2): an integer port is published through COPY mode. */
    if (desc->transport != DP_TRANSPORT_HOST && desc->format != DP_FORMAT_RAW_32BIT &&
        dpgl_interop_available(&gl) && dpgl_dx_init(&gl)) {
        DP_PORT_DESC gpu = *desc;
        DP_HANDLE dx;
        gpu.transport = DP_TRANSPORT_GPU;
        dx = dp11_create_port(&gpu);
        if (dx) {
            DPGL_PORT *p = dpgl_interop_port(true, dx);
            /* Interop refused somewhere on its way: COPY mode serves the port instead. */
            if (p || desc->transport == DP_TRANSPORT_GPU)
                return p;
        } else if (desc->transport == DP_TRANSPORT_GPU) {
            return NULL;
        }
        dp_error_restore(&saved);
    }
    return dpgl_copy_port(dp_engine_create(&dpgl_backend, &a), "dpgl_create");
}

DPGL_PORT *dpgl_open(const wchar_t *name)
{
    dp_error_state saved;
    dpgl_gl gl;
    if (!dpn_valid_base(name)) {
        dp_fail(DP_ERROR_INVALID_ARGUMENT, "dpgl_open: name must be 1..%u characters of [A-Za-z0-9_.-]",
                DPN_MAX_BASE);
        return NULL;
    }
    if (dpgl_bind(&gl, NULL, "dpgl_open") != DP_OK)
        return NULL;
    /* A GPU-transport port is bound through interop where the context offers it. A
     * consumer's D3D11 device is made on the producer's adapter (its control block's),
     * where the port's textures are: interop then works if the GL context is there too,
     * and COPY mode's feed reads them either way. */
    dp_error_save(&saved);
    if (dpgl_interop_available(&gl) && !dpgl_feed_forced()) {
        LUID producer;
        bool device = dp_port_adapter_of(name, &producer) ? dp11_init_on_adapter(producer) : dpgl_dx_init(&gl);
        DP_HANDLE dx = device ? dp11_open_port(name) : NULL;
        if (dx && dp_get_transport(dx) == DP_TRANSPORT_GPU) {
            DPGL_PORT *p = dpgl_interop_port(false, dx);
            if (p)
                return p;
            /* Interop refused somewhere on its way (the device, the registration, the
             * lock): COPY mode serves the port from its D3D11 textures instead. */
        } else if (dx) {
            dp11_close(dx);
        }
        dp_error_restore(&saved);
    }
    /* COPY: the host transport's section, or a GPU-transport port's D3D11 textures through
     * the feed thread (a producer on another adapter than this process's D3D11 device
     * fails there, naming both). */
    return dpgl_copy_port(dp_engine_open(&dpgl_backend, name, NULL, "dpgl_open"), "dpgl_open");
}

void dpgl_close(DPGL_PORT *p)
{
    if (!p || p->magic != DPGL_MAGIC) {
        if (p)
            dp_fail(DP_ERROR_INVALID_ARGUMENT, "dpgl_close: not a DPGL_PORT");
        return;
    }
    if (p->mode == DPGL_MODE_INTEROP)
        dpgl_interop_destroy(p);
    else
        dp_engine_close(&dpgl_backend, p->handle, "dpgl_close");
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

/* ---- COPY: harvesting readbacks --------------------------------------------------------- */

/* The oldest readback still in flight, NULL if none. */
static dpgl_buffer *dpgl_oldest_reading(dpgl_gen *g)
{
    dpgl_buffer *oldest = NULL;
    for (uint32_t i = 0; i < DPGL_BUFFERS; i++)
        if (g->buffer[i].state == DPGL_READING && (!oldest || g->buffer[i].frame < oldest->frame))
            oldest = &g->buffer[i];
    return oldest;
}

/* Waits up to timeout_ns for b's readback; once it is done, hands it to the worker. */
static bool dpgl_harvest_one(DPGL_PORT *p, dpgl_gen *g, dpgl_buffer *b, GLuint64 timeout_ns)
{
    GLenum w = p->gl.ClientWaitSync(b->sync, GL_SYNC_FLUSH_COMMANDS_BIT, timeout_ns);
    if (w != GL_ALREADY_SIGNALED && w != GL_CONDITION_SATISFIED)
        return false;
    p->gl.DeleteSync(b->sync);
    b->sync = NULL;
    InterlockedExchange(&b->state, DPGL_COPYING);
    InterlockedExchange64(&g->harvested, b->frame);
    dp_host_kick(g->base.host);
    return true;
}

static void dpgl_harvest_stop(DPGL_PORT *p, dpgl_gen *g);

/* Without a harvest thread: hands every readback the GPU has finished to the worker,
 * at each publish; never waits. */
static void dpgl_harvest(DPGL_PORT *p, dpgl_gen *g)
{
    dpgl_buffer *b;
    /* The harvest context is current on the DC of the caller's window at the generation's
     * start: once that window is gone (the caller's context moved to another), the
     * thread stops, and publishes harvest from then on. */
    if (g->harvester && g->harvest_window && !p->gl.IsWindow(g->harvest_window))
        dpgl_harvest_stop(p, g);
    if (g->harvester)
        return;
    while ((b = dpgl_oldest_reading(g)) && dpgl_harvest_one(p, g, b, 0))
        ;
}

/* The harvest thread: its own context current on the caller's DC (the caller's context
 * stays the caller's), every readback's fence waited for in turn. */
static DWORD WINAPI dpgl_harvest_main(void *arg)
{
    dpgl_gen *g = arg;
    DPGL_PORT *p = (DPGL_PORT *)g->base.port;
    bool current = p->gl.MakeCurrent(g->harvest_dc, g->harvest_context) != FALSE;
    InterlockedExchange(&g->harvest_current, current ? 1 : -1);
    SetEvent(g->harvest_kick);
    if (current) {
        while (!InterlockedCompareExchange(&g->harvest_stop, 0, 0)) {
            dpgl_buffer *b = dpgl_oldest_reading(g);
            /* Short waits: a stop is seen within one. */
            if (!b)
                WaitForSingleObject(g->harvest_kick, INFINITE);
            else
                dpgl_harvest_one(p, g, b, 50000000ull);
        }
        p->gl.MakeCurrent(NULL, NULL);
    }
    return 0;
}

/* Starts g's harvest thread with a context shared with the caller's (current here) on
 * the caller's DC; false (and publishes harvest instead) where any step fails. */
static bool dpgl_harvest_start(DPGL_PORT *p, dpgl_gen *g)
{
    HDC dc = p->gl.GetCurrentDC();
    HGLRC context = dc && p->gl.CreateContext && p->gl.ShareLists ? p->gl.CreateContext(dc) : NULL;
    if (!context)
        return false;
    g->harvest_kick = dp_track(CreateEventW(NULL, FALSE, FALSE, NULL));
    if (!g->harvest_kick || !p->gl.ShareLists(p->context, context)) {
        p->gl.DeleteContext(context);
        dp_close_handle(&g->harvest_kick);
        return false;
    }
    g->harvest_context = context;
    g->harvest_dc = dc;
    g->harvest_window = p->gl.WindowFromDC && p->gl.IsWindow ? p->gl.WindowFromDC(dc) : NULL;
    g->harvester = dp_track(CreateThread(NULL, 0, dpgl_harvest_main, g, 0, NULL));
    if (!g->harvester) {
        p->gl.DeleteContext(context);
        g->harvest_context = NULL;
        dp_close_handle(&g->harvest_kick);
        return false;
    }
    dp_stats_threads(1);
    /* Publishes rely on the thread only once its context is current there. */
    WaitForSingleObject(g->harvest_kick, 2000);
    if (InterlockedCompareExchange(&g->harvest_current, 0, 0) != 1) {
        dpgl_harvest_stop(p, g);
        return false;
    }
    return true;
}

/* Stops g's harvest thread and deletes its context. */
static void dpgl_harvest_stop(DPGL_PORT *p, dpgl_gen *g)
{
    dp_thread_stop(&g->harvester, &g->harvest_stop, g->harvest_kick);
    if (g->harvest_context)
        p->gl.DeleteContext(g->harvest_context);
    g->harvest_context = NULL;
    dp_close_handle(&g->harvest_kick);
}

/* ---- COPY: generations --------------------------------------------------------------------- */

/* Makes g's transfer buffers (and a consumer's texture). Caller saved the state. */
static DP_RESULT dpgl_make_buffers(DPGL_PORT *p, dpgl_gen *g)
{
    const bool producer = p->base.producer;
    const GLbitfield access = (producer ? GL_MAP_READ_BIT : GL_MAP_WRITE_BIT) | GL_MAP_PERSISTENT_BIT |
                              GL_MAP_COHERENT_BIT;
    const GLenum target = producer ? GL_PIXEL_PACK_BUFFER : GL_PIXEL_UNPACK_BUFFER;
    const dp_geometry *geo = &g->base.geo;
    GLsizeiptr size;
    g->row_bytes = geo->width * geo->bytes_per_pixel;
    size = (GLsizeiptr)g->row_bytes * geo->height;
    for (uint32_t i = 0; i < DPGL_BUFFERS; i++) {
        dpgl_buffer *b = &g->buffer[i];
        p->gl.GenBuffers(1, &b->name);
        p->gl.BindBuffer(target, b->name);
        p->gl.BufferStorage(target, size, NULL, access);
        b->ptr = p->gl.MapBufferRange(target, 0, size, access);
        b->state = DPGL_FREE;
        if (!b->ptr)
            return dp_fail(DP_ERROR_DEVICE, "GL: could not map a %lld-byte pixel buffer persistently",
                           (long long)size);
    }
    if (producer)
        return DP_OK;
    /* Storage only: no unpack buffer and no caller unpack settings may apply. */
    dpgl_tight(&p->gl);
    p->gl.BindBuffer(GL_PIXEL_UNPACK_BUFFER, 0);
    p->gl.GenTextures(1, &g->texture);
    dpgl_texture_params(&p->gl, g->texture, geo->format);
    p->gl.TexImage2D(GL_TEXTURE_2D, 0, (GLint)g->internal_format, (GLsizei)geo->width, (GLsizei)geo->height, 0,
                     g->format, g->type, NULL);
    return DP_OK;
}

static void dpgl_gen_free(dp_port *base, dp_gen *gen)
{
    DPGL_PORT *p = (DPGL_PORT *)base;
    dpgl_gen *g = (dpgl_gen *)gen;
    bool current = dpgl_current(p);
    GLenum target = base->producer ? GL_PIXEL_PACK_BUFFER : GL_PIXEL_UNPACK_BUFFER;
    dpgl_state s;
    /* The harvest thread waits on the buffers' syncs and the worker reads and writes the
     * mapped buffers: both stop first. */
    dpgl_harvest_stop(p, g);
    dpgl_feed_stop(g);
    dp_host_destroy(g->base.host);
    if (current) {
        dpgl_save(&p->gl, &s);
        for (uint32_t i = 0; i < DPGL_BUFFERS; i++) {
            dpgl_buffer *b = &g->buffer[i];
            if (b->sync)
                p->gl.DeleteSync(b->sync);
            if (b->name) {
                p->gl.BindBuffer(target, b->name);
                p->gl.UnmapBuffer(target);
                p->gl.DeleteBuffers(1, &b->name);
            }
        }
        if (g->texture)
            p->gl.DeleteTextures(1, &g->texture);
        dpgl_restore(&p->gl, &s);
    }
}

static DP_RESULT dpgl_gen_build(dp_port *base, dp_gen *gen, const dp_security *sec)
{
    DPGL_PORT *p = (DPGL_PORT *)base;
    dpgl_gen *g = (dpgl_gen *)gen;
    dpgl_state s;
    DP_RESULT r;
    bool feed = !base->producer && (gen->geo.transport == DP_TRANSPORT_GPU || dpgl_feed_forced());
    if (gen->geo.transport == DP_TRANSPORT_GPU && base->producer)
        return dp_fail(DP_ERROR_UNSUPPORTED, "%ls uses the GPU transport, which a GL producer reaches only through "
                                             "WGL_NV_DX_interop2, and this context does not offer it",
                       base->names.display);
    if (!dpgl_format(g))
        return dp_fail(DP_ERROR_INCOMPATIBLE, "%ls has a format the GL adapter does not know", base->names.display);
    dpgl_save(&p->gl, &s);
    r = dpgl_make_buffers(p, g);
    dpgl_restore(&p->gl, &s);
    /* A GPU-transport port without interop: its D3D11 textures, read back by the feed
     * thread, in place of the host worker. */
    if (r == DP_OK)
        r = feed ? dpgl_feed_start(p, g) : dp_host_start(&g->base, sec);
    /* A producer queues only frame jobs (the legacy follow mode reads texture 0, which
     * GL has not); a consumer's worker follows the port and prefetches each frame. */
    if (r == DP_OK && base->producer) {
        dp_host_enter_frame_mode(g->base.host);
        dpgl_harvest_start(p, g);
    }
    return r;
}

/* Lets the frames in flight finish (bounded), so none is lost and the buffers can go. */
static void dpgl_gen_quiesce(dp_port *base, dp_gen *gen)
{
    DPGL_PORT *p = (DPGL_PORT *)base;
    dpgl_gen *g = (dpgl_gen *)gen;
    bool pending = false;
    if (g->harvester) {
        /* The harvest thread hands over what is in flight (bounded). */
        for (ULONGLONG start = GetTickCount64(); dpgl_oldest_reading(g) && GetTickCount64() - start < 1000;)
            Sleep(1);
    } else if (dpgl_current(p)) {
        for (uint32_t i = 0; i < DPGL_BUFFERS; i++)
            if (g->buffer[i].sync && (g->buffer[i].state == DPGL_READING || g->buffer[i].state == DPGL_UPLOADING))
                p->gl.ClientWaitSync(g->buffer[i].sync, GL_SYNC_FLUSH_COMMANDS_BIT, 1000000000ull);
        dpgl_harvest(p, g);
    } else {
        return;
    }
    if (!base->producer)
        return;
    for (uint32_t i = 0; i < DPGL_BUFFERS; i++)
        pending |= g->buffer[i].state == DPGL_READING;
    /* A readback the GPU never finished would hold the worker's queue for good. */
    if (!pending)
        dp_host_drain(g->base.host);
}

static DP_RESULT dpgl_choose_transport(const dp_create_args *a, DP_TRANSPORT *out)
{
    if (a->transport == DP_TRANSPORT_GPU)
        return dp_fail(DP_ERROR_UNSUPPORTED, "dpgl_create: the GPU transport needs WGL_NV_DX_interop2, which this "
                                             "context does not offer");
    *out = DP_TRANSPORT_HOST;
    return DP_OK;
}

static bool dpgl_ready(void)
{
    return true;
}

static LUID dpgl_adapter(void)
{
    return (LUID){0, 0};
}

/* ---- COPY: producer ------------------------------------------------------------------------ */

static void *dpgl_slot_texture(dp_port *p, uint32_t slot)
{
    (void)p;
    (void)slot;
    return NULL;
}

/* No free buffer to read into: no slot can take a frame. */
static uint32_t dpgl_busy_slots(dp_port *base)
{
    dpgl_gen *g = dpgl_gen_of((DPGL_PORT *)base);
    for (uint32_t i = 0; i < DPGL_BUFFERS; i++)
        if (g->buffer[i].state == DPGL_FREE)
            return 0;
    return (1u << DPB_MAX_SLOTS) - 1u;
}

/* No GPU fences here: the frame "fence" is the newest harvested readback, and there
 * are no releases to wait for. */
static uint64_t dpgl_fence_value(dp_port *base, dp_gen *gen, dp_fence_role role)
{
    (void)base;
    if (role == DP_FENCE_RELEASE)
        return UINT64_MAX;
    return (uint64_t)InterlockedCompareExchange64(&((dpgl_gen *)gen)->harvested, 0, 0);
}

/* The readback into p->filling is issued: a fence marks its end, and the worker's job
 * waits for the harvest that sees it passed. */
static DP_RESULT dpgl_end_frame(dp_port *base, void *queue, uint32_t slot, uint64_t frame, uint32_t *out_texture)
{
    DPGL_PORT *p = (DPGL_PORT *)base;
    dpgl_buffer *b = p->filling;
    (void)queue;
    dpgl_gen *g = dpgl_gen_of(p);
    b->sync = p->gl.FenceSync(GL_SYNC_GPU_COMMANDS_COMPLETE, 0);
    b->slot = slot;
    b->frame = (LONG64)frame;
    InterlockedExchange(&b->state, DPGL_READING);
    if (g->harvester) {
        /* The fence reaches the GPU only with a flush of this context. */
        p->gl.Flush();
        SetEvent(g->harvest_kick);
    }
    *out_texture = (uint32_t)(b - g->buffer);
    return DP_OK;
}

/* The common part of both publish calls: `check` (optional) looks at the source before
 * anything is begun, `read` issues the readback into the bound pack buffer; a failed
 * read gives the frame up. */
static DP_RESULT dpgl_publish(DPGL_PORT *p, uint32_t width, uint32_t height, DP_RESULT (*check)(DPGL_PORT *, void *),
                              DP_RESULT (*read)(DPGL_PORT *, void *), void *arg, const char *fn)
{
    DP_RESULT r = DP_OK;
    void *target;
    dpgl_state s;
    dpgl_gen *g;

    dpgl_save(&p->gl, &s);
    if (check)
        r = check(p, arg);
    if (r == DP_OK && (width != p->base.width || height != p->base.height))
        r = dp_engine_resize(&dpgl_backend, p->handle, width, height, fn);
    if (r == DP_OK) {
        dpgl_harvest(p, dpgl_gen_of(p));
        r = dp_engine_begin_frame(&dpgl_backend, p->handle, &target, fn);
    }
    if (r == DP_OK) {
        g = dpgl_gen_of(p);
        for (uint32_t i = 0; i < DPGL_BUFFERS && !p->filling; i++)
            if (g->buffer[i].state == DPGL_FREE)
                p->filling = &g->buffer[i];
        dpgl_tight(&p->gl);
        p->gl.BindBuffer(GL_PIXEL_PACK_BUFFER, p->filling->name);
        r = read(p, arg);
        if (r == DP_OK)
            r = dp_engine_end_frame(&dpgl_backend, p->handle, NULL, false, NULL, fn);
        else
            dp_engine_abort_frame(p->handle, DP_KIND_GL);
        p->filling = NULL;
        /* A software rasterizer has often finished already: no need to wait a frame. */
        dpgl_harvest(p, g);
    }
    dpgl_restore(&p->gl, &s);
    return r;
}

typedef struct {
    GLuint fbo;
    GLint x, y;
    GLsizei w, h;
    dpgl_source source;
} dpgl_fb_read;

static DP_RESULT dpgl_check_framebuffer(DPGL_PORT *p, void *arg)
{
    dpgl_fb_read *a = arg;
    GLint previous = dpgl_bind_read(p, a->fbo);
    DP_RESULT r = dpgl_check_source(p, a->fbo, a->x, a->y, a->w, a->h, dpgl_port_format(p), false,
                                    &a->source, "dpgl_publish_framebuffer");
    dpgl_unbind_read(p, a->fbo, previous);
    return r;
}

static DP_RESULT dpgl_read_framebuffer(DPGL_PORT *p, void *arg)
{
    dpgl_fb_read *a = arg;
    const dpgl_gen *g = dpgl_gen_of(p);
    GLint previous = dpgl_bind_read(p, a->fbo);
    DP_RESULT r = dpgl_resolve(p, &a->source, a->w, a->h, "dpgl_publish_framebuffer");
    if (r == DP_OK)
        p->gl.ReadPixels(a->source.x, a->source.y, a->w, a->h, g->format, g->type, NULL);
    dpgl_unbind_read(p, a->fbo, previous);
    return r;
}

/* Checks a publish call's port: a producer's, its context current. */
static DPGL_PORT *dpgl_get_producer(DPGL_PORT *p, const char *fn)
{
    if (!dpgl_get(p, fn))
        return NULL;
    if (!p->base.producer) {
        dp_fail(DP_ERROR_INVALID_ARGUMENT, "%s: %ls was opened, not created", fn, p->base.names.display);
        return NULL;
    }
    return p;
}

DP_RESULT dpgl_publish_framebuffer(DPGL_PORT *p, unsigned read_framebuffer, int x, int y, int width, int height)
{
    dpgl_fb_read a = {read_framebuffer, x, y, width, height, {0, 0, 0, 0}};
    if (!dpgl_get_producer(p, "dpgl_publish_framebuffer"))
        return dp_last_error();
    if (width <= 0 || height <= 0 || width > (int)DP_MAX_DIMENSION || height > (int)DP_MAX_DIMENSION)
        return dp_fail(DP_ERROR_INVALID_ARGUMENT, "dpgl_publish_framebuffer: size %dx%d is outside 1..%u", width,
                       height, DP_MAX_DIMENSION);
    if (p->mode == DPGL_MODE_INTEROP)
        return dpgl_interop_publish(p, read_framebuffer, x, y, width, height, "dpgl_publish_framebuffer");
    return dpgl_publish(p, (uint32_t)width, (uint32_t)height, dpgl_check_framebuffer, dpgl_read_framebuffer, &a,
                        "dpgl_publish_framebuffer");
}

static DP_RESULT dpgl_read_texture(DPGL_PORT *p, void *arg)
{
    const dpgl_gen *g = dpgl_gen_of(p);
    p->gl.BindTexture(GL_TEXTURE_2D, *(const GLuint *)arg);
    p->gl.GetTexImage(GL_TEXTURE_2D, 0, g->format, g->type, NULL);
    return DP_OK;
}

DP_RESULT dpgl_publish_texture(DPGL_PORT *p, unsigned texture)
{
    GLint bound = 0, w = 0, h = 0, target = 0, profile = 0, component = GL_NONE;
    DP_RESULT r;
    if (!dpgl_get_producer(p, "dpgl_publish_texture"))
        return dp_last_error();
    /* Only a core-profile context is asked a texture's target (GL_TEXTURE_TARGET, GL 4.5):
     * Mesa's compatibility profile refuses the query (GL_INVALID_ENUM) although the
     * reference page sets no profile. Elsewhere binding tells, and a texture of another
     * target leaves the bind's GL_INVALID_OPERATION pending (docs/gl-adapter.md). */
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
    p->gl.GetTexLevelParameteriv(GL_TEXTURE_2D, 0, GL_TEXTURE_RED_TYPE, &component);
    p->gl.BindTexture(GL_TEXTURE_2D, (GLuint)bound);
    if (w <= 0 || h <= 0 || w > (int)DP_MAX_DIMENSION || h > (int)DP_MAX_DIMENSION)
        return dp_fail(DP_ERROR_INVALID_ARGUMENT, "dpgl_publish_texture: %u is not a 2D texture with a level 0",
                       texture);
    /* glGetTexImage and the blit refuse a texture without color (a depth texture). */
    if (component == GL_NONE)
        return dp_fail(DP_ERROR_INVALID_ARGUMENT, "dpgl_publish_texture: %u holds no color (a depth texture?)",
                       texture);
    r = dpgl_check_integer(component, dpgl_port_format(p), "texture", texture, "dpgl_publish_texture");
    if (r != DP_OK)
        return r;
    if (p->mode == DPGL_MODE_INTEROP)
        return dpgl_interop_publish_texture(p, texture, w, h);
    return dpgl_publish(p, (uint32_t)w, (uint32_t)h, NULL, dpgl_read_texture, &texture, "dpgl_publish_texture");
}

/* ---- COPY: consumer ------------------------------------------------------------------------- */

/* Consumer: a buffer came free; whoever fills buffers (the host worker or the feed
 * thread) may go on. */
static void dpgl_kick(dpgl_gen *g)
{
    if (g->base.host)
        dp_host_kick(g->base.host);
    else if (g->feed_kick)
        SetEvent(g->feed_kick);
}

/* Frees the buffers whose upload the GPU has finished; wakes the filler if any. */
static void dpgl_recycle(DPGL_PORT *p, dpgl_gen *g)
{
    bool freed = false;
    for (uint32_t i = 0; i < DPGL_BUFFERS; i++) {
        dpgl_buffer *b = &g->buffer[i];
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
        dpgl_kick(g);
}

/* The ready buffer with the newest frame beyond the last acquired; older ready
 * ones are given back. NULL if none. */
static dpgl_buffer *dpgl_newest(DPGL_PORT *p, dpgl_gen *g)
{
    dpgl_buffer *best = NULL;
    bool freed = false;
    for (uint32_t i = 0; i < DPGL_BUFFERS; i++) {
        dpgl_buffer *b = &g->buffer[i];
        if (b->state == DPGL_READY && (!best || b->frame > best->frame))
            best = b;
    }
    for (uint32_t i = 0; i < DPGL_BUFFERS; i++) {
        dpgl_buffer *b = &g->buffer[i];
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
        dpgl_kick(g);
    return best;
}

static DP_RESULT dpgl_take_ready(dp_port *base, uint32_t *out_slot, uint64_t *out_frame)
{
    DPGL_PORT *p = (DPGL_PORT *)base;
    dpgl_gen *g = dpgl_gen_of(p);
    for (;;) {
        dpgl_buffer *b;
        dpgl_recycle(p, g);
        b = dpgl_newest(p, g);
        if (!b) {
            DP_RESULT failed = dpgl_feed_failure(g);
            return failed != DP_OK ? failed : DP_ERROR_TIMEOUT;
        }
        /* The worker may have taken it back to refill with a newer frame: look again. */
        if (InterlockedCompareExchange(&b->state, DPGL_UPLOADING, DPGL_READY) == DPGL_READY) {
            *out_slot = (uint32_t)(b - g->buffer);
            *out_frame = (uint64_t)b->frame;
            return DP_OK;
        }
    }
}

static HANDLE dpgl_ready_event(dp_port *base)
{
    return ((DPGL_PORT *)base)->ready;
}

/* The buffer taken is uploaded into the port's texture; glTexSubImage2D is ordered
 * after the caller's earlier use of that texture by the GL stream itself. */
static DP_RESULT dpgl_consume(dp_port *base, void *queue, uint32_t slot, uint64_t frame, void **out_source)
{
    DPGL_PORT *p = (DPGL_PORT *)base;
    dpgl_gen *g = dpgl_gen_of(p);
    dpgl_buffer *b = &g->buffer[slot];
    (void)queue;
    (void)frame;
    dpgl_tight(&p->gl);
    p->gl.BindBuffer(GL_PIXEL_UNPACK_BUFFER, b->name);
    p->gl.BindTexture(GL_TEXTURE_2D, g->texture);
    p->gl.TexSubImage2D(GL_TEXTURE_2D, 0, 0, 0, (GLsizei)g->base.geo.width, (GLsizei)g->base.geo.height, g->format,
                        g->type, NULL);
    b->sync = p->gl.FenceSync(GL_SYNC_GPU_COMMANDS_COMPLETE, 0);
    *out_source = (void *)(uintptr_t)g->texture;
    return DP_OK;
}

/* The next upload into the texture is ordered after the caller's reads by GL itself. */
static DP_RESULT dpgl_release_api(dp_port *base, void *queue, uint64_t value, bool *out_signalled)
{
    (void)base;
    (void)queue;
    (void)value;
    (void)out_signalled;
    return DP_OK;
}

DP_RESULT dpgl_acquire(DPGL_PORT *p, uint32_t timeout_ms, unsigned *out_texture, uint64_t *out_frame)
{
    void *texture = NULL;
    dpgl_state s;
    DP_RESULT r;
    if (!dpgl_get(p, "dpgl_acquire"))
        return dp_last_error();
    if (p->base.producer)
        return dp_fail(DP_ERROR_INVALID_ARGUMENT, "dpgl_acquire: %ls was created, not opened", p->base.names.display);
    if (!out_texture)
        return dp_fail(DP_ERROR_INVALID_ARGUMENT, "dpgl_acquire: out_texture is NULL");
    if (p->mode == DPGL_MODE_INTEROP) {
        if (p->held)
            return dp_fail(DP_ERROR_INVALID_ARGUMENT, "dpgl_acquire: release the frame this port holds first");
        return dpgl_interop_acquire(p, timeout_ms, out_texture, out_frame);
    }
    dpgl_save(&p->gl, &s);
    r = dp_engine_acquire_frame(&dpgl_backend, p->handle, NULL, false, timeout_ms, &texture, out_frame,
                                "dpgl_acquire");
    dpgl_restore(&p->gl, &s);
    if (r == DP_OK)
        *out_texture = (unsigned)(uintptr_t)texture;
    return r;
}

void dpgl_release(DPGL_PORT *p)
{
    if (!dpgl_get(p, "dpgl_release"))
        return;
    if (p->mode != DPGL_MODE_INTEROP) {
        dp_engine_release_frame(&dpgl_backend, p->handle, NULL, false, "dpgl_release");
        return;
    }
    if (!p->held) {
        dp_fail(DP_ERROR_INVALID_ARGUMENT, "dpgl_release: this port holds no frame");
        return;
    }
    dpgl_interop_release(p);
    p->held = false;
}

/* ---- COPY: worker thread --------------------------------------------------------------------- */

/* Producer: the readbacks handed over are done on the GPU already. */
static uint64_t dpgl_host_wait_local(dp_gen *gen, uint64_t after, HANDLE kick)
{
    dpgl_gen *g = (dpgl_gen *)gen;
    uint64_t done = (uint64_t)InterlockedCompareExchange64(&g->harvested, 0, 0);
    if (done <= after)
        WaitForSingleObject(kick, INFINITE);
    return (uint64_t)InterlockedCompareExchange64(&g->harvested, 0, 0);
}

/* Producer: buffer rows bottom-up and tightly packed -> slot rows top-down at the pitch. */
static bool dpgl_host_readback(dp_gen *gen, uint32_t texture, void *dst)
{
    dpgl_gen *g = (dpgl_gen *)gen;
    const dp_geometry *geo = &g->base.geo;
    dpgl_buffer *b = &g->buffer[texture];
    dp_host_copy(gen->host, dst, geo->row_pitch, b->ptr, g->row_bytes, g->row_bytes, geo->height, true);
    InterlockedExchange(&b->state, DPGL_FREE);
    return true;
}

/* Takes a buffer for the worker to fill: a free one, else the ready one with the
 * oldest frame (a consumer that acquires rarely still gets the newest). NULL if the
 * caller holds them all. */
static dpgl_buffer *dpgl_take_for_fill(dpgl_gen *g)
{
    dpgl_buffer *oldest = NULL;
    for (uint32_t i = 0; i < DPGL_BUFFERS; i++)
        if (InterlockedCompareExchange(&g->buffer[i].state, DPGL_FILLING, DPGL_FREE) == DPGL_FREE)
            return &g->buffer[i];
    for (uint32_t i = 0; i < DPGL_BUFFERS; i++)
        if (g->buffer[i].state == DPGL_READY && (!oldest || g->buffer[i].frame < oldest->frame))
            oldest = &g->buffer[i];
    if (oldest && InterlockedCompareExchange(&oldest->state, DPGL_FILLING, DPGL_READY) == DPGL_READY)
        return oldest;
    return NULL;
}

/* Consumer: slot rows -> a buffer, top row first (the texture's v = 0 is the top). */
static bool dpgl_host_upload(dp_gen *gen, uint32_t texture, const void *src, uint64_t value)
{
    dpgl_gen *g = (dpgl_gen *)gen;
    const dp_geometry *geo = &g->base.geo;
    dpgl_buffer *b = dpgl_take_for_fill(g);
    (void)texture;
    if (!b)
        return false;
    dp_host_copy(gen->host, b->ptr, g->row_bytes, src, geo->row_pitch, g->row_bytes, geo->height, false);
    b->frame = (LONG64)value;
    InterlockedExchange(&b->state, DPGL_READY);
    SetEvent(((DPGL_PORT *)g->base.port)->ready);
    return true;
}

/* ---- COPY from a GPU-transport port: the feed thread ------------------------------------------ */

/* Whether DIRECTPORT_GL_CONSUMER=d3d11 asks for the feed on every port, host transport
 * included (for tests and comparisons: the same code as for a GPU-transport port). */
static bool dpgl_feed_forced(void)
{
    char v[8];
    return GetEnvironmentVariableA("DIRECTPORT_GL_CONSUMER", v, sizeof(v)) == 5 && !strcmp(v, "d3d11");
}

static bool dpgl_feed_stopping(dpgl_gen *g)
{
    return InterlockedCompareExchange(&g->feed_stop, 0, 0) != 0;
}

/* The feed thread: r (DP_OK after a good frame) and the thread's last error message,
 * for the caller's acquire to report. */
static void dpgl_feed_note(dpgl_gen *g, DP_RESULT r)
{
    AcquireSRWLockExclusive(&g->feed_lock);
    g->feed_result = r;
    if (r != DP_OK) {
        strncpy(g->feed_message, dp_last_error_message(), sizeof g->feed_message - 1);
        g->feed_message[sizeof g->feed_message - 1] = '\0';
    }
    ReleaseSRWLockExclusive(&g->feed_lock);
}

/* The caller's thread, no frame ready: the feed's failure as its error; DP_OK if none. */
static DP_RESULT dpgl_feed_failure(dpgl_gen *g)
{
    DP_RESULT r;
    char message[256];
    if (!g->feeder)
        return DP_OK;
    AcquireSRWLockShared(&g->feed_lock);
    r = g->feed_result;
    memcpy(message, g->feed_message, sizeof message);
    ReleaseSRWLockShared(&g->feed_lock);
    return r == DP_OK ? DP_OK : dp_fail(r, "the D3D11 feed of this port: %s", message);
}

/* Takes the port's next frame on the D3D11 side (the acquire waits for the frame's fence
 * on the CPU first and queues the GPU-side wait), then a buffer as the host worker does (a
 * free one, else the ready one of the oldest frame; none while the caller uploads from
 * all three: the frame is let go), copies the frame through the staging texture into it
 * and releases the frame at once: the producer's slot is held for one copy. A frame of
 * another geometry than this generation's is a resize the engine is about to follow: it
 * is let go. Errors (a producer gone, a restart) are the engine's to report at the
 * caller's acquire; this thread tries again a little later. */
static DWORD WINAPI dpgl_feed_main(void *arg)
{
    dpgl_gen *g = arg;
    DPGL_PORT *p = (DPGL_PORT *)g->base.port;
    const dp_geometry *geo = &g->base.geo;
    while (!dpgl_feed_stopping(g)) {
        ID3D11Texture2D *source = NULL;
        D3D11_TEXTURE2D_DESC d;
        uint64_t frame = 0;
        dpgl_buffer *b;
        DP_RESULT r = dp11_acquire_frame(g->feed_dx, 50, &source, &frame);
        if (r != DP_OK) {
            /* A producer gone is the engine's to tell (it watches the port itself). */
            if (r != DP_ERROR_TIMEOUT && r != DP_ERROR_DISCONNECTED)
                dpgl_feed_note(g, r);
            if (r != DP_ERROR_TIMEOUT)
                WaitForSingleObject(g->feed_kick, 20);
            continue;
        }
        b = dpgl_take_for_fill(g);
        if (!b) {
            dp11_release_frame(g->feed_dx);
            WaitForSingleObject(g->feed_kick, 50);
            continue;
        }
        source->lpVtbl->GetDesc(source, &d);
        r = d.Width == geo->width && d.Height == geo->height && d.Format == (DXGI_FORMAT)geo->dxgi_format
                ? dp11_read_frame(source, &g->feed_staging, b->ptr, g->row_bytes, g->row_bytes, geo->height)
                : DP_ERROR_TIMEOUT; /* a resize on its way: not a failure */
        if (r == DP_OK) {
            dp_stats_copied((uint64_t)g->row_bytes * geo->height);
            b->frame = (LONG64)frame;
            InterlockedExchange(&b->state, DPGL_READY);
            SetEvent(p->ready);
        } else {
            InterlockedExchange(&b->state, DPGL_FREE);
        }
        if (r != DP_ERROR_TIMEOUT)
            dpgl_feed_note(g, r);
        dp11_release_frame(g->feed_dx);
    }
    return 0;
}

/* Consumer, generation of a GPU-transport port (or any, forced): the D3D11 device on the
 * producer's adapter (the control block's; one already made elsewhere in the process
 * stays, and opening then names both adapters if they differ), a dp11 consumer handle
 * of the port and the feed thread. */
static DP_RESULT dpgl_feed_start(DPGL_PORT *p, dpgl_gen *g)
{
    const dpb_block *blk = p->base.block;
    LUID luid = {blk ? blk->adapter_luid_low : 0, blk ? blk->adapter_luid_high : 0};
    bool device = luid.LowPart || luid.HighPart ? dp11_init_on_adapter(luid) : dp11_init();
    DP_RESULT r;
    if (!device) {
        char why[256] = "";
        strncpy(why, dp_last_error_message(), sizeof why - 1);
        return dp_fail(DP_ERROR_UNSUPPORTED, "%ls uses the GPU transport; GL without WGL_NV_DX_interop2 reads it "
                                             "through D3D11, and no D3D11 device could be made: %s",
                       p->base.names.display, why);
    }
    /* The thread shares the immediate context with the process's dp11 users from its first
     * acquire (a GPU-side wait queued there) on. */
    r = dp11_protect_device();
    if (r != DP_OK)
        return r;
    /* The names the engine resolved: the same namespace as this port's. */
    g->feed_dx = dp11_open_names(&p->base.names);
    if (!g->feed_dx)
        return dp_last_error();
    dp11_pin(1);
    InitializeSRWLock(&g->feed_lock);
    g->feed_kick = dp_track(CreateEventW(NULL, FALSE, FALSE, NULL));
    if (!g->feed_kick)
        return dp_fail_win32(DP_ERROR_OUT_OF_MEMORY, GetLastError(), "CreateEvent(feed)");
    g->feeder = dp_track(CreateThread(NULL, 0, dpgl_feed_main, g, 0, NULL));
    if (!g->feeder)
        return dp_fail_win32(DP_ERROR_OUT_OF_MEMORY, GetLastError(), "CreateThread(feed)");
    dp_stats_threads(1);
    return DP_OK;
}

/* Stops and joins the feed thread (within one of its 50 ms slices and a copy, the copy's
 * map bounded by 1 s), then closes its handle and staging texture. */
static void dpgl_feed_stop(dpgl_gen *g)
{
    dp_thread_stop(&g->feeder, &g->feed_stop, g->feed_kick);
    DP_RELEASE(g->feed_staging);
    if (g->feed_dx) {
        dp11_close(g->feed_dx);
        dp11_pin(-1);
    }
    g->feed_dx = NULL;
    dp_close_handle(&g->feed_kick);
}

static const dp_backend dpgl_backend = {
    .kind = DP_KIND_GL,
    .api = "GL",
    .init_call = "dpgl_create or dpgl_open",
    .shutdown_call = "dpgl_close",
    .port_size = sizeof(DPGL_PORT),
    .gen_size = sizeof(dpgl_gen),
    .ready = dpgl_ready,
    .choose_transport = dpgl_choose_transport,
    .adapter = dpgl_adapter,
    .setup = dpgl_setup,
    .teardown = dpgl_teardown,
    .gen_build = dpgl_gen_build,
    .gen_quiesce = dpgl_gen_quiesce,
    .gen_free = dpgl_gen_free,
    .slot_texture = dpgl_slot_texture,
    .busy_slots = dpgl_busy_slots,
    .fence_value = dpgl_fence_value,
    .end_frame = dpgl_end_frame,
    .consume = dpgl_consume,
    .release = dpgl_release_api,
    .take_ready = dpgl_take_ready,
    .ready_event = dpgl_ready_event,
    .host_wait_local = dpgl_host_wait_local,
    .host_readback = dpgl_host_readback,
    .host_upload = dpgl_host_upload,
};
