/*
 * glutil.h - what the OpenGL test cases do with WGL and GL: a hidden window with a
 * double-buffered RGBA8 context, the GL > 1.1 entry points the tests use, a
 * frame-numbered band pattern drawn with scissored clears and its checker, reading a
 * texture back, and a snapshot of a long list of GL state to prove that a call left it
 * alone.
 */
#ifndef GLUTIL_H
#define GLUTIL_H

#include <windows.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <GL/gl.h>
#include <GL/glext.h>
#include <GL/wglext.h>

/* ---- window and context ---------------------------------------------------------------- */

typedef struct {
    HWND hwnd;
    HDC dc;
    HGLRC rc;
    int width, height;   /* the client area: the default framebuffer's size */
} gu_window;

/* A hidden popup window of width x height with a double-buffered RGBA8 pixel format (24
 * depth, 8 stencil) and a wglCreateContext context, made current; the GL entry points
 * below are loaded on first success. false (and nothing left behind) on failure, with
 * the reason in gu_error(). */
bool gu_window_create(gu_window *w, int width, int height);
/* Unmakes the context if it is current, deletes it, releases the DC, destroys the
 * window. Accepts a half-built or zeroed gu_window. */
void gu_window_destroy(gu_window *w);
/* Makes w's context current (NULL: no context). */
bool gu_make_current(const gu_window *w);
/* What the last failing gu_ call says. */
const char *gu_error(void);
/* GL_VERSION as major * 10 + minor (45 for 4.5); 0 without a context. */
int gu_gl_version(void);
/* Whether `ext` is in the WGL extension string of dc (wglGetExtensionsStringARB). */
bool gu_has_wgl_extension(HDC dc, const char *ext);

/* ---- GL > 1.1 entry points --------------------------------------------------------------- */

#define GU_GL_FUNCTIONS(X)                                                        \
    X(PFNGLACTIVETEXTUREPROC, glActiveTexture)                                    \
    X(PFNGLCLIENTACTIVETEXTUREPROC, glClientActiveTexture)                        \
    X(PFNGLBLENDFUNCSEPARATEPROC, glBlendFuncSeparate)                            \
    X(PFNGLBLENDEQUATIONSEPARATEPROC, glBlendEquationSeparate)                    \
    X(PFNGLBLENDCOLORPROC, glBlendColor)                                          \
    X(PFNGLGENBUFFERSPROC, glGenBuffers)                                          \
    X(PFNGLDELETEBUFFERSPROC, glDeleteBuffers)                                    \
    X(PFNGLBINDBUFFERPROC, glBindBuffer)                                          \
    X(PFNGLBUFFERDATAPROC, glBufferData)                                          \
    X(PFNGLGENFRAMEBUFFERSPROC, glGenFramebuffers)                                \
    X(PFNGLDELETEFRAMEBUFFERSPROC, glDeleteFramebuffers)                          \
    X(PFNGLBINDFRAMEBUFFERPROC, glBindFramebuffer)                                \
    X(PFNGLFRAMEBUFFERTEXTURE2DPROC, glFramebufferTexture2D)                      \
    X(PFNGLFRAMEBUFFERRENDERBUFFERPROC, glFramebufferRenderbuffer)                \
    X(PFNGLCHECKFRAMEBUFFERSTATUSPROC, glCheckFramebufferStatus)                  \
    X(PFNGLGENRENDERBUFFERSPROC, glGenRenderbuffers)                              \
    X(PFNGLDELETERENDERBUFFERSPROC, glDeleteRenderbuffers)                        \
    X(PFNGLBINDRENDERBUFFERPROC, glBindRenderbuffer)                              \
    X(PFNGLRENDERBUFFERSTORAGEPROC, glRenderbufferStorage)                        \
    X(PFNGLRENDERBUFFERSTORAGEMULTISAMPLEPROC, glRenderbufferStorageMultisample)  \
    X(PFNGLCLEARBUFFERUIVPROC, glClearBufferuiv)                                  \
    X(PFNGLGENVERTEXARRAYSPROC, glGenVertexArrays)                                \
    X(PFNGLDELETEVERTEXARRAYSPROC, glDeleteVertexArrays)                          \
    X(PFNGLBINDVERTEXARRAYPROC, glBindVertexArray)                                \
    X(PFNGLGENSAMPLERSPROC, glGenSamplers)                                        \
    X(PFNGLDELETESAMPLERSPROC, glDeleteSamplers)                                  \
    X(PFNGLBINDSAMPLERPROC, glBindSampler)                                        \
    X(PFNGLCREATESHADERPROC, glCreateShader)                                      \
    X(PFNGLDELETESHADERPROC, glDeleteShader)                                      \
    X(PFNGLSHADERSOURCEPROC, glShaderSource)                                      \
    X(PFNGLCOMPILESHADERPROC, glCompileShader)                                    \
    X(PFNGLCREATEPROGRAMPROC, glCreateProgram)                                    \
    X(PFNGLDELETEPROGRAMPROC, glDeleteProgram)                                    \
    X(PFNGLATTACHSHADERPROC, glAttachShader)                                      \
    X(PFNGLLINKPROGRAMPROC, glLinkProgram)                                        \
    X(PFNGLGETPROGRAMIVPROC, glGetProgramiv)                                      \
    X(PFNGLUSEPROGRAMPROC, glUseProgram)                                          \
    X(PFNGLPRIMITIVERESTARTINDEXPROC, glPrimitiveRestartIndex)                    \
    X(PFNGLGETSTRINGIPROC, glGetStringi)

#define GU_DECLARE(type, name) extern type gu_##name;
GU_GL_FUNCTIONS(GU_DECLARE)
#undef GU_DECLARE

/* Call them by their GL names. */
#define glActiveTexture gu_glActiveTexture
#define glClientActiveTexture gu_glClientActiveTexture
#define glBlendFuncSeparate gu_glBlendFuncSeparate
#define glBlendEquationSeparate gu_glBlendEquationSeparate
#define glBlendColor gu_glBlendColor
#define glGenBuffers gu_glGenBuffers
#define glDeleteBuffers gu_glDeleteBuffers
#define glBindBuffer gu_glBindBuffer
#define glBufferData gu_glBufferData
#define glGenFramebuffers gu_glGenFramebuffers
#define glDeleteFramebuffers gu_glDeleteFramebuffers
#define glBindFramebuffer gu_glBindFramebuffer
#define glFramebufferTexture2D gu_glFramebufferTexture2D
#define glFramebufferRenderbuffer gu_glFramebufferRenderbuffer
#define glCheckFramebufferStatus gu_glCheckFramebufferStatus
#define glGenRenderbuffers gu_glGenRenderbuffers
#define glDeleteRenderbuffers gu_glDeleteRenderbuffers
#define glBindRenderbuffer gu_glBindRenderbuffer
#define glRenderbufferStorage gu_glRenderbufferStorage
#define glRenderbufferStorageMultisample gu_glRenderbufferStorageMultisample
#define glClearBufferuiv gu_glClearBufferuiv
#define glGenVertexArrays gu_glGenVertexArrays
#define glDeleteVertexArrays gu_glDeleteVertexArrays
#define glBindVertexArray gu_glBindVertexArray
#define glGenSamplers gu_glGenSamplers
#define glDeleteSamplers gu_glDeleteSamplers
#define glBindSampler gu_glBindSampler
#define glCreateShader gu_glCreateShader
#define glDeleteShader gu_glDeleteShader
#define glShaderSource gu_glShaderSource
#define glCompileShader gu_glCompileShader
#define glCreateProgram gu_glCreateProgram
#define glDeleteProgram gu_glDeleteProgram
#define glAttachShader gu_glAttachShader
#define glLinkProgram gu_glLinkProgram
#define glGetProgramiv gu_glGetProgramiv
#define glUseProgram gu_glUseProgram
#define glPrimitiveRestartIndex gu_glPrimitiveRestartIndex
#define glGetStringi gu_glGetStringi

/* ---- the frame pattern ------------------------------------------------------------------- */

/* A frame is GU_BANDS horizontal bands, each split into a left and a right half. Band 0
 * is the TOP band. Every pixel of band b, half s (0 left, 1 right) of frame f is
 *   R = f & 255, G = (f >> 8) & 255, B = gu_band_blue(b, s), A = 255
 * so a stale or torn frame shows in R/G, a flipped one in B (band 0 and band
 * GU_BANDS - 1 differ the most), a mirrored one in B's low bits. The bands split the
 * height as rows [b * h / GU_BANDS, (b + 1) * h / GU_BANDS), counted from the top; the
 * halves split the width at w / 2. */
#define GU_BANDS 8

static inline uint8_t gu_band_blue(int band, int half)
{
    return (uint8_t)(band == 0 ? 0xF0 + half : band * 0x18 + half * 4);
}

/* The expected RGBA of pixel (x, y), y counted from the top, of frame at w x h. */
void gu_pattern_pixel(uint64_t frame, int w, int h, int x, int y, uint8_t out[4]);
/* Draws frame's pattern with glScissor + glClear into the w x h rectangle whose
 * lower-left corner is (x, y) of the framebuffer bound for drawing, top band at the top
 * (the highest rows). Leaves the scissor test disabled; changes the scissor box, clear
 * color and color mask (all channels on). */
void gu_draw_pattern(uint64_t frame, int x, int y, int w, int h);
/* Pixels of rows `pitch` bytes apart, top row first, RGBA8, checked against frame's
 * pattern at w x h: the number of wrong pixels (0 = the frame, whole). The first wrong
 * pixel is described in why (if why). */
size_t gu_check_pattern(const uint8_t *pixels, size_t pitch, int w, int h, uint64_t frame, char *why, size_t cap);
/* Swaps bytes 0 and 2 of every pixel of w x h rows `pitch` bytes apart: a DP_FORMAT_VIDEO
 * frame's B, G, R, A bytes become the R, G, B, A that gu_check_pattern reads. */
void gu_bgra_to_rgba(uint8_t *pixels, size_t pitch, int w, int h);
/* The R/G frame number of a pixel of the pattern. */
static inline uint64_t gu_pixel_frame(const uint8_t *px)
{
    return (uint64_t)px[0] | (uint64_t)px[1] << 8;
}

/* ---- reading back ------------------------------------------------------------------------ */

/* Level 0 of GL_TEXTURE_2D `texture` as tightly packed RGBA8 rows in texture row order
 * (row 0 first), malloc'd; *w and *h get its size. Restores the state it touches. NULL
 * on failure. */
uint8_t *gu_read_texture(unsigned texture, int *w, int *h);
/* The w x h rectangle at (x, y) of the framebuffer bound for reading, top row FIRST
 * (flipped from GL's order), tightly packed RGBA8, malloc'd. Restores the state it
 * touches. */
uint8_t *gu_read_framebuffer(int x, int y, int w, int h);
/* A GL_TEXTURE_2D, RGBA8, w x h, uninitialised, NEAREST; left bound to the active unit. */
unsigned gu_make_texture(int w, int h);
/* A framebuffer object with `texture` as its color attachment 0 (left bound for
 * drawing and reading); 0 if incomplete. */
unsigned gu_make_fbo(unsigned texture);
/* A linked program of a trivial vertex + fragment shader; 0 on failure. */
unsigned gu_make_program(void);
/* A program of these vertex and fragment shader sources; 0 if it does not link. */
unsigned gu_make_program_from(const char *vs_src, const char *fs_src);

/* ---- GL state snapshots ------------------------------------------------------------------ */

#define GU_STATE_MAX 224

typedef struct {
    int count;
    struct {
        const char *name;   /* "GL_VIEWPORT", "unit 1 GL_TEXTURE_BINDING_2D", ... */
        int n;              /* values used */
        bool is_float;      /* v holds float bit patterns */
        int64_t v[4];
    } item[GU_STATE_MAX];
} gu_state;

/* Captures the current context and DC and a long list of GL state (bindings, pixel
 * store, viewport and scissor, enables, blend, clear values, masks, per-unit texture
 * bindings, the program and VAO, the pending GL error...). Restores what it has to
 * change to read it (the active texture unit). */
void gu_state_capture(gu_state *s);
/* true if a and b are the same; otherwise why gets the first difference, by name. */
bool gu_state_equal(const gu_state *a, const gu_state *b, char *why, size_t cap);

#endif
