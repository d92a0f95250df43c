/*
 * glutil.c - WGL/GL helpers for the OpenGL test cases (see glutil.h).
 */
#include "glutil.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GU_DEFINE(type, name) type gu_##name;
GU_GL_FUNCTIONS(GU_DEFINE)
#undef GU_DEFINE

static char g_error[512];
static bool g_loaded;

static bool gu_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_error, sizeof g_error, fmt, ap);
    va_end(ap);
    return false;
}

const char *gu_error(void)
{
    return g_error;
}

/* wglGetProcAddress, whose PROC is called through the type the caller names. */
static void (*gu_proc(const char *name))(void)
{
    PROC p = wglGetProcAddress(name);
    /* Some ICDs return small integers instead of NULL for what they lack. */
    if ((uintptr_t)p <= 3 || (intptr_t)p == -1)
        return NULL;
    return (void (*)(void))p;
}

static bool gu_load(void)
{
    if (g_loaded)
        return true;
#define GU_LOAD(type, name)                                 \
    if (!(gu_##name = (type)gu_proc(#name)))                \
        return gu_fail("wglGetProcAddress(%s) failed", #name);
    GU_GL_FUNCTIONS(GU_LOAD)
#undef GU_LOAD
    g_loaded = true;
    return true;
}

static const wchar_t GU_CLASS[] = L"dptest.gl";

static LRESULT CALLBACK gu_wndproc(HWND hwnd, UINT msg, WPARAM wp, LPARAM lp)
{
    return DefWindowProcW(hwnd, msg, wp, lp);
}

bool gu_window_create(gu_window *w, int width, int height)
{
    WNDCLASSEXW wc = {0};
    PIXELFORMATDESCRIPTOR pfd = {0}, got = {0};
    int format;
    memset(w, 0, sizeof(*w));
    wc.cbSize = sizeof(wc);
    wc.style = CS_OWNDC;
    wc.lpfnWndProc = gu_wndproc;
    wc.hInstance = GetModuleHandleW(NULL);
    wc.lpszClassName = GU_CLASS;
    if (!RegisterClassExW(&wc) && GetLastError() != ERROR_CLASS_ALREADY_EXISTS)
        return gu_fail("RegisterClassExW failed (%lu)", GetLastError());
    /* A popup has no frame: the client area is the window. Never shown. */
    w->hwnd = CreateWindowExW(WS_EX_TOOLWINDOW, GU_CLASS, L"dptest GL", WS_POPUP | WS_CLIPCHILDREN | WS_CLIPSIBLINGS,
                              0, 0, width, height, NULL, NULL, wc.hInstance, NULL);
    if (!w->hwnd)
        return gu_fail("CreateWindowExW failed (%lu)", GetLastError());
    w->width = width;
    w->height = height;
    w->dc = GetDC(w->hwnd);
    if (!w->dc) {
        gu_window_destroy(w);
        return gu_fail("GetDC failed");
    }
    pfd.nSize = sizeof(pfd);
    pfd.nVersion = 1;
    pfd.dwFlags = PFD_DRAW_TO_WINDOW | PFD_SUPPORT_OPENGL | PFD_DOUBLEBUFFER;
    pfd.iPixelType = PFD_TYPE_RGBA;
    pfd.cColorBits = 32;
    pfd.cAlphaBits = 8;
    pfd.cDepthBits = 24;
    pfd.cStencilBits = 8;
    pfd.iLayerType = PFD_MAIN_PLANE;
    format = ChoosePixelFormat(w->dc, &pfd);
    if (!format || !DescribePixelFormat(w->dc, format, sizeof(got), &got) || !SetPixelFormat(w->dc, format, &pfd)) {
        gu_window_destroy(w);
        return gu_fail("no usable pixel format (%d, %lu)", format, GetLastError());
    }
    if (got.cRedBits != 8 || got.cGreenBits != 8 || got.cBlueBits != 8 || !(got.dwFlags & PFD_DOUBLEBUFFER)) {
        gu_window_destroy(w);
        return gu_fail("pixel format %d is not double-buffered RGB8 (%d/%d/%d)", format, got.cRedBits, got.cGreenBits,
                       got.cBlueBits);
    }
    w->rc = wglCreateContext(w->dc);
    if (!w->rc || !wglMakeCurrent(w->dc, w->rc)) {
        DWORD err = GetLastError();
        gu_window_destroy(w);
        return gu_fail("wglCreateContext/wglMakeCurrent failed (%lu)", err);
    }
    if (!gu_load()) {
        char why[sizeof g_error];
        memcpy(why, g_error, sizeof why);
        gu_window_destroy(w);
        return gu_fail("%s (GL %s)", why, (const char *)glGetString(GL_VERSION));
    }
    glViewport(0, 0, width, height);
    return true;
}

void gu_window_destroy(gu_window *w)
{
    if (w->rc) {
        if (wglGetCurrentContext() == w->rc)
            wglMakeCurrent(NULL, NULL);
        wglDeleteContext(w->rc);
    }
    if (w->dc)
        ReleaseDC(w->hwnd, w->dc);
    if (w->hwnd)
        DestroyWindow(w->hwnd);
    memset(w, 0, sizeof(*w));
}

bool gu_make_current(const gu_window *w)
{
    return w ? wglMakeCurrent(w->dc, w->rc) != FALSE : wglMakeCurrent(NULL, NULL) != FALSE;
}

int gu_gl_version(void)
{
    const char *v = wglGetCurrentContext() ? (const char *)glGetString(GL_VERSION) : NULL;
    int major = 0, minor = 0;
    if (!v || sscanf(v, "%d.%d", &major, &minor) != 2)
        return 0;
    return major * 10 + minor;
}

bool gu_has_wgl_extension(HDC dc, const char *ext)
{
    PFNWGLGETEXTENSIONSSTRINGARBPROC get = (PFNWGLGETEXTENSIONSSTRINGARBPROC)gu_proc("wglGetExtensionsStringARB");
    const char *all = get ? get(dc) : NULL;
    size_t len = strlen(ext);
    for (const char *p = all; p && (p = strstr(p, ext)) != NULL; p += len)
        if ((p == all || p[-1] == ' ') && (p[len] == ' ' || p[len] == '\0'))
            return true;
    return false;
}

/* ---- the frame pattern ------------------------------------------------------------------- */

/* Band of row y (from the top) of a frame h rows high: the last band starting at or
 * above y. */
static int gu_band_of_row(int h, int y)
{
    int b = GU_BANDS - 1;
    while (b > 0 && b * h / GU_BANDS > y)
        b--;
    return b;
}

void gu_pattern_pixel(uint64_t frame, int w, int h, int x, int y, uint8_t out[4])
{
    out[0] = (uint8_t)(frame & 255);
    out[1] = (uint8_t)((frame >> 8) & 255);
    out[2] = gu_band_blue(gu_band_of_row(h, y), x >= w / 2);
    out[3] = 255;
}

void gu_draw_pattern(uint64_t frame, int x, int y, int w, int h)
{
    glEnable(GL_SCISSOR_TEST);
    glColorMask(GL_TRUE, GL_TRUE, GL_TRUE, GL_TRUE);
    for (int b = 0; b < GU_BANDS; b++) {
        int top = b * h / GU_BANDS, bottom = (b + 1) * h / GU_BANDS; /* rows [top, bottom) from the top */
        if (bottom == top)
            continue;
        for (int half = 0; half < 2; half++) {
            int x0 = half ? w / 2 : 0, x1 = half ? w : w / 2;
            if (x1 == x0)
                continue;
            glClearColor((float)(frame & 255) / 255.0f, (float)((frame >> 8) & 255) / 255.0f,
                         (float)gu_band_blue(b, half) / 255.0f, 1.0f);
            /* GL rows count from the bottom. */
            glScissor(x + x0, y + h - bottom, x1 - x0, bottom - top);
            glClear(GL_COLOR_BUFFER_BIT);
        }
    }
    glDisable(GL_SCISSOR_TEST);
}

size_t gu_check_pattern(const uint8_t *pixels, size_t pitch, int w, int h, uint64_t frame, char *why, size_t cap)
{
    size_t bad = 0;
    if (why && cap)
        why[0] = '\0';
    for (int y = 0; y < h; y++) {
        const uint8_t *row = pixels + (size_t)y * pitch;
        for (int x = 0; x < w; x++) {
            uint8_t want[4];
            const uint8_t *got = row + (size_t)x * 4;
            gu_pattern_pixel(frame, w, h, x, y, want);
            if (!memcmp(got, want, 4))
                continue;
            if (!bad++ && why && cap)
                snprintf(why, cap,
                         "pixel (%d,%d) from the top of %dx%d is %02x%02x%02x%02x (frame %llu, band blue %02x), "
                         "expected %02x%02x%02x%02x (frame %llu, band %d)",
                         x, y, w, h, got[0], got[1], got[2], got[3], (unsigned long long)gu_pixel_frame(got), got[2],
                         want[0], want[1], want[2], want[3], (unsigned long long)frame, gu_band_of_row(h, y));
        }
    }
    return bad;
}

void gu_bgra_to_rgba(uint8_t *pixels, size_t pitch, int w, int h)
{
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *px = pixels + (size_t)y * pitch + (size_t)x * 4, b = px[0];
            px[0] = px[2];
            px[2] = b;
        }
}

/* ---- reading back ------------------------------------------------------------------------ */

typedef struct {
    GLint buffer, alignment, row_length, skip_rows, skip_pixels;
} gu_pack;

static void gu_pack_plain(gu_pack *saved)
{
    glGetIntegerv(GL_PIXEL_PACK_BUFFER_BINDING, &saved->buffer);
    glGetIntegerv(GL_PACK_ALIGNMENT, &saved->alignment);
    glGetIntegerv(GL_PACK_ROW_LENGTH, &saved->row_length);
    glGetIntegerv(GL_PACK_SKIP_ROWS, &saved->skip_rows);
    glGetIntegerv(GL_PACK_SKIP_PIXELS, &saved->skip_pixels);
    glBindBuffer(GL_PIXEL_PACK_BUFFER, 0);
    glPixelStorei(GL_PACK_ALIGNMENT, 1);
    glPixelStorei(GL_PACK_ROW_LENGTH, 0);
    glPixelStorei(GL_PACK_SKIP_ROWS, 0);
    glPixelStorei(GL_PACK_SKIP_PIXELS, 0);
}

static void gu_pack_restore(const gu_pack *saved)
{
    glBindBuffer(GL_PIXEL_PACK_BUFFER, (GLuint)saved->buffer);
    glPixelStorei(GL_PACK_ALIGNMENT, saved->alignment);
    glPixelStorei(GL_PACK_ROW_LENGTH, saved->row_length);
    glPixelStorei(GL_PACK_SKIP_ROWS, saved->skip_rows);
    glPixelStorei(GL_PACK_SKIP_PIXELS, saved->skip_pixels);
}

uint8_t *gu_read_texture(unsigned texture, int *w, int *h)
{
    gu_pack pack;
    GLint bound = 0, tw = 0, th = 0;
    uint8_t *out = NULL;
    *w = *h = 0;
    gu_pack_plain(&pack);
    glGetIntegerv(GL_TEXTURE_BINDING_2D, &bound);
    glBindTexture(GL_TEXTURE_2D, texture);
    glGetTexLevelParameteriv(GL_TEXTURE_2D, 0, GL_TEXTURE_WIDTH, &tw);
    glGetTexLevelParameteriv(GL_TEXTURE_2D, 0, GL_TEXTURE_HEIGHT, &th);
    if (tw > 0 && th > 0 && (out = malloc((size_t)tw * (size_t)th * 4)) != NULL) {
        glGetTexImage(GL_TEXTURE_2D, 0, GL_RGBA, GL_UNSIGNED_BYTE, out);
        *w = tw;
        *h = th;
    }
    glBindTexture(GL_TEXTURE_2D, (GLuint)bound);
    gu_pack_restore(&pack);
    return out;
}

uint8_t *gu_read_framebuffer(int x, int y, int w, int h)
{
    gu_pack pack;
    size_t row = (size_t)w * 4;
    uint8_t *bottom_up = malloc(row * (size_t)h), *out = malloc(row * (size_t)h);
    if (bottom_up && out) {
        gu_pack_plain(&pack);
        glReadPixels(x, y, w, h, GL_RGBA, GL_UNSIGNED_BYTE, bottom_up);
        gu_pack_restore(&pack);
        for (int r = 0; r < h; r++)
            memcpy(out + (size_t)r * row, bottom_up + (size_t)(h - 1 - r) * row, row);
    } else {
        free(out);
        out = NULL;
    }
    free(bottom_up);
    return out;
}

unsigned gu_make_texture(int w, int h)
{
    GLuint tex = 0;
    glGenTextures(1, &tex);
    glBindTexture(GL_TEXTURE_2D, tex);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_NEAREST);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_NEAREST);
    glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA8, w, h, 0, GL_RGBA, GL_UNSIGNED_BYTE, NULL);
    return tex;
}

unsigned gu_make_fbo(unsigned texture)
{
    GLuint fbo = 0;
    glGenFramebuffers(1, &fbo);
    glBindFramebuffer(GL_FRAMEBUFFER, fbo);
    glFramebufferTexture2D(GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, GL_TEXTURE_2D, texture, 0);
    if (glCheckFramebufferStatus(GL_FRAMEBUFFER) != GL_FRAMEBUFFER_COMPLETE) {
        glBindFramebuffer(GL_FRAMEBUFFER, 0);
        glDeleteFramebuffers(1, &fbo);
        return 0;
    }
    return fbo;
}

unsigned gu_make_program(void)
{
    return gu_make_program_from("#version 130\nin vec4 p;\nvoid main() { gl_Position = p; }\n",
                                "#version 130\nout vec4 c;\nvoid main() { c = vec4(1.0); }\n");
}

unsigned gu_make_program_from(const char *vs_src, const char *fs_src)
{
    GLuint vs = glCreateShader(GL_VERTEX_SHADER), fs = glCreateShader(GL_FRAGMENT_SHADER), prog = glCreateProgram();
    GLint linked = 0;
    glShaderSource(vs, 1, &vs_src, NULL);
    glShaderSource(fs, 1, &fs_src, NULL);
    glCompileShader(vs);
    glCompileShader(fs);
    glAttachShader(prog, vs);
    glAttachShader(prog, fs);
    glLinkProgram(prog);
    glGetProgramiv(prog, GL_LINK_STATUS, &linked);
    glDeleteShader(vs);
    glDeleteShader(fs);
    if (!linked) {
        glDeleteProgram(prog);
        return 0;
    }
    return prog;
}

/* ---- GL state snapshots ------------------------------------------------------------------ */

enum { GU_INT, GU_FLOAT, GU_BOOL, GU_ENABLED };

typedef struct {
    const char *name;
    GLenum e;
    int kind;
    int n;
} gu_query;

#define Q(e, kind, n) {#e, e, kind, n}
static const gu_query g_queries[] = {
    /* framebuffers and buffers */
    Q(GL_DRAW_FRAMEBUFFER_BINDING, GU_INT, 1),
    Q(GL_READ_FRAMEBUFFER_BINDING, GU_INT, 1),
    Q(GL_RENDERBUFFER_BINDING, GU_INT, 1),
    Q(GL_READ_BUFFER, GU_INT, 1),
    Q(GL_DRAW_BUFFER, GU_INT, 1),
    Q(GL_DRAW_BUFFER0, GU_INT, 1),
    Q(GL_ARRAY_BUFFER_BINDING, GU_INT, 1),
    Q(GL_ELEMENT_ARRAY_BUFFER_BINDING, GU_INT, 1),
    Q(GL_PIXEL_PACK_BUFFER_BINDING, GU_INT, 1),
    Q(GL_PIXEL_UNPACK_BUFFER_BINDING, GU_INT, 1),
    Q(GL_COPY_READ_BUFFER_BINDING, GU_INT, 1),
    Q(GL_COPY_WRITE_BUFFER_BINDING, GU_INT, 1),
    Q(GL_UNIFORM_BUFFER_BINDING, GU_INT, 1),
    Q(GL_SHADER_STORAGE_BUFFER_BINDING, GU_INT, 1),
    Q(GL_TRANSFORM_FEEDBACK_BUFFER_BINDING, GU_INT, 1),
    Q(GL_DRAW_INDIRECT_BUFFER_BINDING, GU_INT, 1),
    Q(GL_DISPATCH_INDIRECT_BUFFER_BINDING, GU_INT, 1),
    Q(GL_QUERY_BUFFER_BINDING, GU_INT, 1),
    Q(GL_CURRENT_PROGRAM, GU_INT, 1),
    Q(GL_PROGRAM_PIPELINE_BINDING, GU_INT, 1),
    Q(GL_VERTEX_ARRAY_BINDING, GU_INT, 1),
    Q(GL_TRANSFORM_FEEDBACK_BINDING, GU_INT, 1),
    Q(GL_ACTIVE_TEXTURE, GU_INT, 1),
    Q(GL_CLIENT_ACTIVE_TEXTURE, GU_INT, 1),
    /* pixel store */
    Q(GL_PACK_ALIGNMENT, GU_INT, 1),
    Q(GL_PACK_ROW_LENGTH, GU_INT, 1),
    Q(GL_PACK_SKIP_ROWS, GU_INT, 1),
    Q(GL_PACK_SKIP_PIXELS, GU_INT, 1),
    Q(GL_PACK_IMAGE_HEIGHT, GU_INT, 1),
    Q(GL_PACK_SKIP_IMAGES, GU_INT, 1),
    Q(GL_PACK_SWAP_BYTES, GU_INT, 1),
    Q(GL_PACK_LSB_FIRST, GU_INT, 1),
    Q(GL_UNPACK_ALIGNMENT, GU_INT, 1),
    Q(GL_UNPACK_ROW_LENGTH, GU_INT, 1),
    Q(GL_UNPACK_SKIP_ROWS, GU_INT, 1),
    Q(GL_UNPACK_SKIP_PIXELS, GU_INT, 1),
    Q(GL_UNPACK_IMAGE_HEIGHT, GU_INT, 1),
    Q(GL_UNPACK_SKIP_IMAGES, GU_INT, 1),
    Q(GL_UNPACK_SWAP_BYTES, GU_INT, 1),
    Q(GL_UNPACK_LSB_FIRST, GU_INT, 1),
    /* rasterizer, per-fragment */
    Q(GL_VIEWPORT, GU_INT, 4),
    Q(GL_SCISSOR_BOX, GU_INT, 4),
    Q(GL_DEPTH_RANGE, GU_FLOAT, 2),
    Q(GL_BLEND_SRC_RGB, GU_INT, 1),
    Q(GL_BLEND_DST_RGB, GU_INT, 1),
    Q(GL_BLEND_SRC_ALPHA, GU_INT, 1),
    Q(GL_BLEND_DST_ALPHA, GU_INT, 1),
    Q(GL_BLEND_EQUATION_RGB, GU_INT, 1),
    Q(GL_BLEND_EQUATION_ALPHA, GU_INT, 1),
    Q(GL_BLEND_COLOR, GU_FLOAT, 4),
    Q(GL_COLOR_CLEAR_VALUE, GU_FLOAT, 4),
    Q(GL_COLOR_WRITEMASK, GU_BOOL, 4),
    Q(GL_DEPTH_CLEAR_VALUE, GU_FLOAT, 1),
    Q(GL_DEPTH_WRITEMASK, GU_BOOL, 1),
    Q(GL_DEPTH_FUNC, GU_INT, 1),
    Q(GL_STENCIL_CLEAR_VALUE, GU_INT, 1),
    Q(GL_STENCIL_WRITEMASK, GU_INT, 1),
    Q(GL_STENCIL_FUNC, GU_INT, 1),
    Q(GL_STENCIL_REF, GU_INT, 1),
    Q(GL_STENCIL_VALUE_MASK, GU_INT, 1),
    Q(GL_STENCIL_FAIL, GU_INT, 1),
    Q(GL_STENCIL_PASS_DEPTH_PASS, GU_INT, 1),
    Q(GL_CULL_FACE_MODE, GU_INT, 1),
    Q(GL_FRONT_FACE, GU_INT, 1),
    Q(GL_POLYGON_MODE, GU_INT, 2),
    Q(GL_POLYGON_OFFSET_FACTOR, GU_FLOAT, 1),
    Q(GL_POLYGON_OFFSET_UNITS, GU_FLOAT, 1),
    Q(GL_LOGIC_OP_MODE, GU_INT, 1),
    Q(GL_PRIMITIVE_RESTART_INDEX, GU_INT, 1),
    Q(GL_PROVOKING_VERTEX, GU_INT, 1),
    Q(GL_LINE_WIDTH, GU_FLOAT, 1),
    Q(GL_POINT_SIZE, GU_FLOAT, 1),
    Q(GL_CLAMP_READ_COLOR, GU_INT, 1),
    /* compatibility-profile state */
    Q(GL_MATRIX_MODE, GU_INT, 1),
    Q(GL_SHADE_MODEL, GU_INT, 1),
    Q(GL_CURRENT_COLOR, GU_FLOAT, 4),
    Q(GL_CURRENT_RASTER_POSITION, GU_FLOAT, 4),
    Q(GL_PIXEL_MAP_I_TO_I_SIZE, GU_INT, 1),
    Q(GL_RED_SCALE, GU_FLOAT, 1),
    Q(GL_RED_BIAS, GU_FLOAT, 1),
    Q(GL_ZOOM_X, GU_FLOAT, 1),
    Q(GL_ZOOM_Y, GU_FLOAT, 1),
    /* enables */
    Q(GL_SCISSOR_TEST, GU_ENABLED, 1),
    Q(GL_BLEND, GU_ENABLED, 1),
    Q(GL_FRAMEBUFFER_SRGB, GU_ENABLED, 1),
    Q(GL_DEPTH_TEST, GU_ENABLED, 1),
    Q(GL_STENCIL_TEST, GU_ENABLED, 1),
    Q(GL_CULL_FACE, GU_ENABLED, 1),
    Q(GL_DITHER, GU_ENABLED, 1),
    Q(GL_RASTERIZER_DISCARD, GU_ENABLED, 1),
    Q(GL_MULTISAMPLE, GU_ENABLED, 1),
    Q(GL_SAMPLE_ALPHA_TO_COVERAGE, GU_ENABLED, 1),
    Q(GL_SAMPLE_COVERAGE, GU_ENABLED, 1),
    Q(GL_POLYGON_OFFSET_FILL, GU_ENABLED, 1),
    Q(GL_COLOR_LOGIC_OP, GU_ENABLED, 1),
    Q(GL_PRIMITIVE_RESTART, GU_ENABLED, 1),
    Q(GL_PRIMITIVE_RESTART_FIXED_INDEX, GU_ENABLED, 1),
    Q(GL_PROGRAM_POINT_SIZE, GU_ENABLED, 1),
    Q(GL_DEPTH_CLAMP, GU_ENABLED, 1),
    Q(GL_TEXTURE_CUBE_MAP_SEAMLESS, GU_ENABLED, 1),
    Q(GL_LINE_SMOOTH, GU_ENABLED, 1),
    Q(GL_POLYGON_SMOOTH, GU_ENABLED, 1),
    Q(GL_CLIP_DISTANCE0, GU_ENABLED, 1),
    Q(GL_DEBUG_OUTPUT, GU_ENABLED, 1),
    Q(GL_ALPHA_TEST, GU_ENABLED, 1),
    Q(GL_LIGHTING, GU_ENABLED, 1),
    Q(GL_FOG, GU_ENABLED, 1),
};
#undef Q

/* Per texture unit, read with that unit active. */
#define Q(e, kind) {#e, e, kind, 1}
static const gu_query g_unit_queries[] = {
    Q(GL_TEXTURE_BINDING_1D, GU_INT),
    Q(GL_TEXTURE_BINDING_2D, GU_INT),
    Q(GL_TEXTURE_BINDING_3D, GU_INT),
    Q(GL_TEXTURE_BINDING_RECTANGLE, GU_INT),
    Q(GL_TEXTURE_BINDING_CUBE_MAP, GU_INT),
    Q(GL_TEXTURE_BINDING_2D_ARRAY, GU_INT),
    Q(GL_TEXTURE_BINDING_BUFFER, GU_INT),
    Q(GL_SAMPLER_BINDING, GU_INT),
    Q(GL_TEXTURE_2D, GU_ENABLED),
};
#undef Q
#define GU_UNITS 4

static void gu_add(gu_state *s, const char *name, int n, bool is_float, const int64_t *v)
{
    if (s->count >= GU_STATE_MAX)
        return;
    s->item[s->count].name = name;
    s->item[s->count].n = n;
    s->item[s->count].is_float = is_float;
    for (int i = 0; i < 4; i++)
        s->item[s->count].v[i] = i < n ? v[i] : 0;
    s->count++;
}

static void gu_add_int(gu_state *s, const char *name, int64_t v)
{
    gu_add(s, name, 1, false, &v);
}

static void gu_run_query(gu_state *s, const gu_query *q, const char *name)
{
    int64_t v[4] = {0};
    switch (q->kind) {
    case GU_INT: {
        GLint iv[4] = {0};
        glGetIntegerv(q->e, iv);
        for (int i = 0; i < q->n; i++)
            v[i] = iv[i];
        break;
    }
    case GU_FLOAT: {
        GLfloat fv[4] = {0};
        glGetFloatv(q->e, fv);
        for (int i = 0; i < q->n; i++) {
            int32_t bits;
            memcpy(&bits, &fv[i], 4);
            v[i] = bits;
        }
        break;
    }
    case GU_BOOL: {
        GLboolean bv[4] = {0};
        glGetBooleanv(q->e, bv);
        for (int i = 0; i < q->n; i++)
            v[i] = bv[i];
        break;
    }
    default:
        v[0] = glIsEnabled(q->e);
        break;
    }
    gu_add(s, name, q->n, q->kind == GU_FLOAT, v);
}

void gu_state_capture(gu_state *s)
{
    static char unit_names[GU_UNITS][sizeof g_unit_queries / sizeof g_unit_queries[0]][64];
    GLint active = GL_TEXTURE0, draw_fb = 0, read_fb = 0, tex = 0;
    GLenum err, first_err;
    int64_t v[4];
    memset(s, 0, sizeof(*s));
    gu_add_int(s, "wglGetCurrentContext", (int64_t)(intptr_t)wglGetCurrentContext());
    gu_add_int(s, "wglGetCurrentDC", (int64_t)(intptr_t)wglGetCurrentDC());
    if (!wglGetCurrentContext())
        return;
    /* A GL error left pending by the call before. */
    first_err = glGetError();
    while (first_err != GL_NO_ERROR && glGetError() != GL_NO_ERROR)
        ;
    gu_add_int(s, "glGetError (pending error)", first_err);

    for (size_t i = 0; i < sizeof g_queries / sizeof g_queries[0]; i++)
        gu_run_query(s, &g_queries[i], g_queries[i].name);

    /* The bound 2D texture's own parameters, on the active unit. */
    glGetIntegerv(GL_TEXTURE_BINDING_2D, &tex);
    if (tex) {
        GLint p[4] = {0};
        glGetTexParameteriv(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, &p[0]);
        glGetTexParameteriv(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, &p[1]);
        glGetTexParameteriv(GL_TEXTURE_2D, GL_TEXTURE_WRAP_S, &p[2]);
        glGetTexParameteriv(GL_TEXTURE_2D, GL_TEXTURE_WRAP_T, &p[3]);
        for (int i = 0; i < 4; i++)
            v[i] = p[i];
        gu_add(s, "bound GL_TEXTURE_2D min/mag filter, wrap s/t", 4, false, v);
        glGetTexParameteriv(GL_TEXTURE_2D, GL_TEXTURE_BASE_LEVEL, &p[0]);
        glGetTexParameteriv(GL_TEXTURE_2D, GL_TEXTURE_MAX_LEVEL, &p[1]);
        v[0] = p[0];
        v[1] = p[1];
        gu_add(s, "bound GL_TEXTURE_2D base/max level", 2, false, v);
    }

    /* Per texture unit. */
    glGetIntegerv(GL_ACTIVE_TEXTURE, &active);
    for (int u = 0; u < GU_UNITS; u++) {
        glActiveTexture((GLenum)(GL_TEXTURE0 + u));
        for (size_t i = 0; i < sizeof g_unit_queries / sizeof g_unit_queries[0]; i++) {
            snprintf(unit_names[u][i], sizeof unit_names[u][i], "unit %d %s", u, g_unit_queries[i].name);
            gu_run_query(s, &g_unit_queries[i], unit_names[u][i]);
        }
    }
    glActiveTexture((GLenum)active);

    /* The default framebuffer's own read and draw buffers, whatever is bound now. */
    glGetIntegerv(GL_DRAW_FRAMEBUFFER_BINDING, &draw_fb);
    glGetIntegerv(GL_READ_FRAMEBUFFER_BINDING, &read_fb);
    glBindFramebuffer(GL_FRAMEBUFFER, 0);
    {
        GLint rb = 0, db = 0;
        glGetIntegerv(GL_READ_BUFFER, &rb);
        glGetIntegerv(GL_DRAW_BUFFER, &db);
        v[0] = rb;
        v[1] = db;
        gu_add(s, "default framebuffer GL_READ_BUFFER, GL_DRAW_BUFFER", 2, false, v);
    }
    glBindFramebuffer(GL_DRAW_FRAMEBUFFER, (GLuint)draw_fb);
    glBindFramebuffer(GL_READ_FRAMEBUFFER, (GLuint)read_fb);

    /* The snapshot's own errors (a query this GL lacks), drained so that they do not
     * show as the next call's. */
    err = glGetError();
    while (err != GL_NO_ERROR && glGetError() != GL_NO_ERROR)
        ;
    gu_add_int(s, "GL error raised by the snapshot itself", err);
}

static int gu_format_values(char *out, size_t cap, const gu_state *s, int i)
{
    int len = snprintf(out, cap, "(");
    for (int k = 0; k < s->item[i].n && len >= 0 && (size_t)len < cap; k++) {
        if (s->item[i].is_float) {
            int32_t bits = (int32_t)s->item[i].v[k];
            float f;
            memcpy(&f, &bits, 4);
            len += snprintf(out + len, cap - (size_t)len, "%s%g", k ? ", " : "", (double)f);
        } else {
            len += snprintf(out + len, cap - (size_t)len, "%s%lld (0x%llx)", k ? ", " : "",
                            (long long)s->item[i].v[k], (unsigned long long)s->item[i].v[k]);
        }
    }
    if (len >= 0 && (size_t)len < cap)
        len += snprintf(out + len, cap - (size_t)len, ")");
    return len;
}

bool gu_state_equal(const gu_state *a, const gu_state *b, char *why, size_t cap)
{
    char va[200], vb[200];
    int n = a->count < b->count ? a->count : b->count;
    for (int i = 0; i < n; i++) {
        if (strcmp(a->item[i].name, b->item[i].name) != 0) {
            snprintf(why, cap, "snapshots differ in shape at item %d: %s vs %s", i, a->item[i].name, b->item[i].name);
            return false;
        }
        if (a->item[i].n == b->item[i].n && !memcmp(a->item[i].v, b->item[i].v, sizeof a->item[i].v))
            continue;
        gu_format_values(va, sizeof va, a, i);
        gu_format_values(vb, sizeof vb, b, i);
        snprintf(why, cap, "%s was %s, now %s", a->item[i].name, va, vb);
        return false;
    }
    if (a->count != b->count) {
        snprintf(why, cap, "snapshots have %d and %d items (was a context current in both?)", a->count, b->count);
        return false;
    }
    return true;
}
