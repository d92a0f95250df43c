/*
 * test_gl.c - the OpenGL adapter (adapters/gl/dpgl.h): contexts, the caller's GL state,
 * GL -> GL, D3D12 -> GL and GL -> D3D12 frames across processes, resize, interop,
 * a killed producer.
 *
 * A GL producer draws gu_draw_pattern of the frame value it is about to publish (its
 * bands say which frame it is and which way up it is); a D3D12 producer writes
 * tu_pattern. Consumers check every pixel of every frame they acquire against the
 * pattern of the frame value the library returned, with the top row first. Ports are
 * DP_FORMAT_VIDEO: bytes B, G, R, A on the D3D12 side, an RGBA8 texture read as RGBA in GL.
 */
#include "glutil.h"
#include "d3d12util.h"
#include <d3d11.h>
#include <dxgi.h>
#include "adapters/gl/dpgl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capabilities.h"
#include "dptest.h"

#define GL_W 256
#define GL_H 144

static void gl_name(wchar_t *out, size_t cap, const char *what)
{
    swprintf(out, cap, L"gl.%hs.%lu", what, (unsigned long)GetCurrentProcessId());
}

/* A named kernel object of the test, derived from the port name. */
static void gl_object(wchar_t *out, size_t cap, const wchar_t *port, const wchar_t *what)
{
    swprintf(out, cap, L"Local\\dptest.%ls.%ls", port, what);
}

/* The synchronisation of a stream: consumers release `ready` once they have the port
 * open, the producer sets `finished` after its last frame, consumers release `done`
 * and the producer lingers until then. */
typedef struct {
    HANDLE ready, done, finished;
} gl_sync;

static void gl_sync_create(gl_sync *s, const wchar_t *port)
{
    wchar_t obj[160];
    gl_object(obj, 160, port, L"ready");
    s->ready = CreateSemaphoreW(NULL, 0, 16, obj);
    gl_object(obj, 160, port, L"done");
    s->done = CreateSemaphoreW(NULL, 0, 16, obj);
    gl_object(obj, 160, port, L"finished");
    s->finished = CreateEventW(NULL, TRUE, FALSE, obj);
    ok(s->ready && s->done && s->finished, "sync objects of %ls: %lu", port, GetLastError());
}

static void gl_sync_open(gl_sync *s, const wchar_t *port)
{
    wchar_t obj[160];
    gl_object(obj, 160, port, L"ready");
    s->ready = OpenSemaphoreW(SYNCHRONIZE | SEMAPHORE_MODIFY_STATE, FALSE, obj);
    gl_object(obj, 160, port, L"done");
    s->done = OpenSemaphoreW(SYNCHRONIZE | SEMAPHORE_MODIFY_STATE, FALSE, obj);
    gl_object(obj, 160, port, L"finished");
    s->finished = OpenEventW(SYNCHRONIZE | EVENT_MODIFY_STATE, FALSE, obj);
    ok(s->ready && s->done && s->finished, "opening the sync objects of %ls: %lu", port, GetLastError());
}

static void gl_sync_close(gl_sync *s)
{
    if (s->ready)
        CloseHandle(s->ready);
    if (s->done)
        CloseHandle(s->done);
    if (s->finished)
        CloseHandle(s->finished);
    memset(s, 0, sizeof(*s));
}

/* Waits for a child, then checks its exit code. */
static void gl_wait(dptest_child *c, DWORD timeout_ms, const char *what)
{
    DWORD code = 99;
    bool exited = dptest_wait_child(c, timeout_ms, &code);
    ok(exited && code == 0, "%s: %s, exit code %lu", what, exited ? "exited" : "timed out", code);
}

/* dpgl_open, retrying while the producer is still starting. */
static DPGL_PORT *gl_open(const wchar_t *name)
{
    DPGL_PORT *p = NULL;
    for (ULONGLONG start = GetTickCount64(); !p && GetTickCount64() - start < 20000; Sleep(10))
        p = dpgl_open(name);
    return p;
}

static DP_PORT_DESC gl_desc(const wchar_t *name, int w, int h, DP_TRANSPORT transport)
{
    DP_PORT_DESC d = {0};
    d.name = name;
    d.width = (uint32_t)w;
    d.height = (uint32_t)h;
    d.transport = transport;
    return d;
}

/* The adapter leaves no GL error behind (checked once per kind, not per frame). */
static void gl_no_gl_error(const char *after, uint64_t frame)
{
    GLenum e = glGetError();
    if (e != GL_NO_ERROR) {
        ok(0, "GL error 0x%x after %s (frame %llu)", e, after, (unsigned long long)frame);
        while (glGetError() != GL_NO_ERROR)
            ;
    }
}

/* ---- consumer side ----------------------------------------------------------------------- */

/* Reads an acquired texture back and checks that it is frame's pattern at its own size:
 * gu's (GL producer) or tu's (D3D12 producer), top row first. *w, *h get its size. */
static bool gl_check_texture(unsigned tex, uint64_t frame, bool d3d12_pattern, int *w, int *h)
{
    GLint bound = 0, format = 0;
    uint8_t *px;
    char why[512] = "";
    size_t bad;
    *w = *h = 0;
    if (!ok(tex && glIsTexture(tex), "frame %llu: %u is not a texture", (unsigned long long)frame, tex))
        return false;
    glGetIntegerv(GL_TEXTURE_BINDING_2D, &bound);
    glBindTexture(GL_TEXTURE_2D, tex);
    glGetTexLevelParameteriv(GL_TEXTURE_2D, 0, GL_TEXTURE_INTERNAL_FORMAT, &format);
    glBindTexture(GL_TEXTURE_2D, (GLuint)bound);
    ok(format == GL_RGBA8, "frame %llu: internal format 0x%x, expected GL_RGBA8", (unsigned long long)frame,
       (unsigned)format);
    px = gu_read_texture(tex, w, h);
    if (!ok(px != NULL, "frame %llu: reading texture %u back failed (%dx%d)", (unsigned long long)frame, tex, *w, *h))
        return false;
    if (d3d12_pattern) {
        /* The D3D12 producer wrote tu_pattern's bytes as B, G, R, A; GL reads them as RGBA. */
        gu_bgra_to_rgba(px, (size_t)*w * 4, *w, *h);
        bad = (size_t)tu_count_bad(px, (uint32_t)*w * 4, (uint32_t)*w, (uint32_t)*h, 4, frame);
        if (bad) {
            for (int y = 0; y < *h && !why[0]; y++)
                for (int x = 0; x < *w && !why[0]; x++)
                    for (int c = 0; c < 4; c++)
                        if (px[((size_t)y * (size_t)*w + (size_t)x) * 4 + (size_t)c] !=
                            tu_pattern(frame, (uint32_t)x, (uint32_t)y, (uint32_t)c)) {
                            snprintf(why, sizeof why, "first at (%d,%d) byte %d: %02x, expected %02x", x, y, c,
                                     px[((size_t)y * (size_t)*w + (size_t)x) * 4 + (size_t)c],
                                     tu_pattern(frame, (uint32_t)x, (uint32_t)y, (uint32_t)c));
                            break;
                        }
        }
    } else {
        bad = gu_check_pattern(px, (size_t)*w * 4, *w, *h, frame, why, sizeof why);
    }
    free(px);
    return ok(bad == 0, "frame %llu (%dx%d): %zu wrong %s; %s", (unsigned long long)frame, *w, *h, bad,
              d3d12_pattern ? "bytes" : "pixels", why);
}

/* What a consumer of a stream expects and what it saw. */
typedef struct {
    int w, h;            /* the size frames have... */
    int w2, h2;          /* ...or this one, once a frame had it (a resize); 0: no resize */
    bool d3d12_pattern;  /* tu_pattern instead of gu's */
    long acquired, first_size, second_size;
    uint64_t last, first_second;
} gl_stream;

/* Acquires until the producer has finished and nothing newer comes: every frame whole,
 * newer than the one before, of an expected size, the old size never after the new. */
static void gl_consume(DPGL_PORT *p, HANDLE finished, gl_stream *s)
{
    for (;;) {
        unsigned tex = 0;
        uint64_t frame = 0;
        int w = 0, h = 0;
        DP_RESULT r = dpgl_acquire(p, 2000, &tex, &frame);
        if (r == DP_ERROR_TIMEOUT && WaitForSingleObject(finished, 0) == WAIT_OBJECT_0)
            break;
        if (!ok(r == DP_OK, "acquire after frame %llu: %s (%s)", (unsigned long long)s->last, dp_result_string(r),
                dp_last_error_message()))
            break;
        gl_no_gl_error("dpgl_acquire", frame);
        ok(frame > s->last, "frame %llu after %llu", (unsigned long long)frame, (unsigned long long)s->last);
        gl_check_texture(tex, frame, s->d3d12_pattern, &w, &h);
        if (s->w2 && w == s->w2 && h == s->h2) {
            s->second_size++;
            if (!s->first_second)
                s->first_second = frame;
        } else if (ok(w == s->w && h == s->h, "frame %llu is %dx%d, expected %dx%d", (unsigned long long)frame, w, h,
                      s->w, s->h)) {
            s->first_size++;
            ok(!s->first_second, "frame %llu has the old size %dx%d after frame %llu had the new", (unsigned long long)frame,
               w, h, (unsigned long long)s->first_second);
        }
        dpgl_release(p);
        s->last = frame;
        s->acquired++;
        if (dptest_failures())
            break;
    }
}

/* ---- producer side ----------------------------------------------------------------------- */

typedef struct {
    const wchar_t *name;
    long frames;          /* <= 0: until killed */
    long pace_ms;
    int w, h;             /* the region published... */
    int w2, h2;           /* ...and from frame index switch_at on (switch_at 0: never) */
    long switch_at;
    DP_TRANSPORT transport;
    int expect_mode;      /* a DPGL_MODE the port must have; 0: either */
    long consumers;       /* ready signals to wait for, done signals to linger for */
} gl_producer_args;

/* A GL producer on its own hidden window: draws the pattern of the frame value it is
 * about to publish into the bottom-left region of the back buffer (the rest is junk),
 * publishes it, swaps. Only DP_OK publishes use up a frame value. */
static int gl_produce(const gl_producer_args *a)
{
    gu_window win;
    gl_sync sync;
    DP_PORT_DESC desc = gl_desc(a->name, a->w, a->h, a->transport);
    DP_PORT_INFO info;
    DPGL_PORT *p;
    long published = 0, dropped = 0;
    uint64_t next;
    int ww = a->w > a->w2 ? a->w : a->w2, wh = a->h > a->h2 ? a->h : a->h2;
    if (!ok(gu_window_create(&win, ww, wh), "producer window: %s", gu_error()))
        return 2;
    gl_sync_open(&sync, a->name);
    p = dpgl_create(&desc);
    if (!ok(p != NULL, "dpgl_create %ls: %s", a->name, dp_last_error_message())) {
        gu_window_destroy(&win);
        return 1;
    }
    if (a->expect_mode)
        ok(dpgl_mode(p) == (DPGL_MODE)a->expect_mode, "producer mode %d, expected %d", (int)dpgl_mode(p),
           a->expect_mode);
    /* A producer taking over a port goes on from the frame value it finds. */
    ok(dp_get_port_info(dpgl_port(p), &info), "port info: %s", dp_last_error_message());
    next = info.last_frame + 1;
    for (long i = 0; i < a->consumers; i++)
        ok(WaitForSingleObject(sync.ready, 30000) == WAIT_OBJECT_0, "consumer %ld never got ready", i);
    for (long i = 0; (a->frames <= 0 || i < a->frames) && !dptest_failures(); i++) {
        bool second = a->switch_at && i >= a->switch_at;
        int w = second ? a->w2 : a->w, h = second ? a->h2 : a->h;
        DP_RESULT r;
        glClearColor(1.0f, 0.0f, 1.0f, 0.5f);
        glClear(GL_COLOR_BUFFER_BIT);
        gu_draw_pattern(next, 0, 0, w, h);
        gl_no_gl_error("drawing", next);
        r = dpgl_publish_framebuffer(p, 0, 0, 0, w, h);
        gl_no_gl_error("dpgl_publish_framebuffer", next);
        if (r == DP_OK) {
            next++;
            published++;
        } else if (ok(r == DP_ERROR_BUSY, "publish of frame %llu: %s (%s)", (unsigned long long)next,
                      dp_result_string(r), dp_last_error_message())) {
            dropped++;
        }
        SwapBuffers(win.dc);
        if (a->pace_ms)
            Sleep((DWORD)a->pace_ms);
    }
    /* Frames reach the port a moment after their publish: see the last one there. */
    for (ULONGLONG start = GetTickCount64(); GetTickCount64() - start < 3000; Sleep(5))
        if (dp_get_port_info(dpgl_port(p), &info) && info.last_frame >= next - 1)
            break;
    dptest_diag("GL producer %ls: %ld published, %ld dropped, port at frame %llu (%ux%u), mode %d", a->name, published,
                dropped, (unsigned long long)info.last_frame, info.width, info.height, (int)dpgl_mode(p));
    ok(info.last_frame == next - 1, "the port is at frame %llu, the producer published up to %llu",
       (unsigned long long)info.last_frame, (unsigned long long)(next - 1));
    SetEvent(sync.finished);
    for (long i = 0; i < a->consumers; i++)
        ok(WaitForSingleObject(sync.done, 60000) == WAIT_OBJECT_0, "consumer %ld never finished", i);
    dpgl_close(p);
    gl_sync_close(&sync);
    gu_window_destroy(&win);
    return dptest_failures() ? 1 : 0;
}

/* argv: role name frames pace_ms w h w2 h2 switch_at transport expect_mode consumers */
DP_CHILD(gl_producer)
{
    gl_producer_args a = {0};
    if (argc < 12)
        return 2;
    a.name = argv[1];
    a.frames = wcstol(argv[2], NULL, 10);
    a.pace_ms = wcstol(argv[3], NULL, 10);
    a.w = (int)wcstol(argv[4], NULL, 10);
    a.h = (int)wcstol(argv[5], NULL, 10);
    a.w2 = (int)wcstol(argv[6], NULL, 10);
    a.h2 = (int)wcstol(argv[7], NULL, 10);
    a.switch_at = wcstol(argv[8], NULL, 10);
    a.transport = (DP_TRANSPORT)wcstol(argv[9], NULL, 10);
    a.expect_mode = (int)wcstol(argv[10], NULL, 10);
    a.consumers = wcstol(argv[11], NULL, 10);
    return gl_produce(&a);
}

static dptest_child gl_spawn_producer(const gl_producer_args *a)
{
    return dptest_spawn(L"gl_producer %ls %ld %ld %d %d %d %d %ld %d %d %ld", a->name, a->frames, a->pace_ms, a->w,
                        a->h, a->w2, a->h2, a->switch_at, (int)a->transport, a->expect_mode, a->consumers);
}

/* ---- the helpers themselves -------------------------------------------------------------- */

DP_TEST(gl_util_pattern_roundtrip)
{
    gu_window w;
    gu_state a, b;
    char why[512];
    unsigned tex, fbo;
    uint8_t *px;
    int tw, th;
    if (!gu_window_create(&w, 200, 120))
        skip("no WGL context: %s", gu_error());
    dptest_diag("GL %s, %s", (const char *)glGetString(GL_VERSION), (const char *)glGetString(GL_RENDERER));
    /* The pattern reads back as drawn, and the checker sees a wrong frame, a flip, an
     * offset. */
    gu_draw_pattern(77, 0, 0, 200, 120);
    px = gu_read_framebuffer(0, 0, 200, 120);
    ok(px && gu_check_pattern(px, 800, 200, 120, 77, why, sizeof why) == 0, "back buffer: %s", why);
    ok(px && gu_check_pattern(px, 800, 200, 120, 78, why, sizeof why) == 200 * 120, "frame 78 passed for 77");
    free(px);
    gu_draw_pattern(300, 10, 20, 61, 37);
    px = gu_read_framebuffer(10, 20, 61, 37);
    ok(px && gu_check_pattern(px, 61 * 4, 61, 37, 300, why, sizeof why) == 0, "region: %s", why);
    free(px);
    px = gu_read_framebuffer(11, 20, 61, 37);
    ok(px && gu_check_pattern(px, 61 * 4, 61, 37, 300, why, sizeof why) != 0, "a region one pixel off passed");
    free(px);
    tex = gu_make_texture(33, 5);
    fbo = gu_make_fbo(tex);
    ok(fbo != 0, "framebuffer object incomplete");
    gu_draw_pattern(5, 0, 0, 33, 5);
    glBindFramebuffer(GL_FRAMEBUFFER, 0);
    px = gu_read_texture(tex, &tw, &th);
    /* Texture row 0 is the framebuffer's bottom row. */
    if (ok(px && tw == 33 && th == 5, "read texture %dx%d", tw, th)) {
        uint8_t flip[33 * 4 * 5];
        for (int r = 0; r < 5; r++)
            memcpy(flip + r * 33 * 4, px + (4 - r) * 33 * 4, 33 * 4);
        ok(gu_check_pattern(flip, 33 * 4, 33, 5, 5, why, sizeof why) == 0, "texture: %s", why);
        ok(gu_check_pattern(px, 33 * 4, 33, 5, 5, why, sizeof why) != 0, "an upside-down frame passed");
    }
    free(px);
    /* Snapshots: stable, and they see a change (they query GL 4.4 state). */
    if (gu_gl_version() < 44) {
        glDeleteFramebuffers(1, &fbo);
        glDeleteTextures(1, &tex);
        gu_window_destroy(&w);
        return;
    }
    gu_state_capture(&a);
    gu_state_capture(&b);
    ok(gu_state_equal(&a, &b, why, sizeof why), "two snapshots differ: %s", why);
    ok(a.item[a.count - 1].v[0] == GL_NO_ERROR, "the snapshot raises GL error 0x%llx",
       (unsigned long long)a.item[a.count - 1].v[0]);
    glPixelStorei(GL_UNPACK_SKIP_ROWS, 3);
    gu_state_capture(&b);
    ok(!gu_state_equal(&a, &b, why, sizeof why) && strstr(why, "GL_UNPACK_SKIP_ROWS"), "a change was not seen: %s",
       why);
    glPixelStorei(GL_UNPACK_SKIP_ROWS, 0);
    glBindTexture(GL_TEXTURE_2D, 12345); /* not a name made by glGenTextures: harmless in compat */
    glBindTexture(GL_TEXTURE_CUBE_MAP, tex);
    gu_state_capture(&b);
    ok(!gu_state_equal(&a, &b, why, sizeof why), "a changed binding and a GL error were not seen");
    glDeleteFramebuffers(1, &fbo);
    glDeleteTextures(1, &tex);
    gu_window_destroy(&w);
}

/* ---- contexts ------------------------------------------------------------------------------ */

DP_TEST(gl_no_context_fails_cleanly)
{
    wchar_t name[64], other_name[64];
    DP_PORT_DESC desc, other_desc;
    gu_window w;
    HGLRC other;
    DPGL_PORT *prod, *cons;
    unsigned tex = 0;
    uint64_t frame = 0;
    int tw, th;
    DP_RESULT r;
    gl_name(name, 64, "noctx");
    gl_name(other_name, 64, "noctx2");
    desc = gl_desc(name, 64, 48, DP_TRANSPORT_AUTO);
    other_desc = gl_desc(other_name, 64, 48, DP_TRANSPORT_AUTO);

    /* No context at all on this thread. */
    wglMakeCurrent(NULL, NULL);
    ok(dpgl_create(&desc) == NULL, "dpgl_create without a context succeeded");
    ok(dp_last_error() == DP_ERROR_INVALID_ARGUMENT && dp_last_error_message()[0], "dpgl_create: %s (%s)",
       dp_result_string(dp_last_error()), dp_last_error_message());
    dptest_diag("no context: %s", dp_last_error_message());
    dpgl_close(NULL);
    dpgl_release(NULL);
    ok(dpgl_port(NULL) == NULL, "dpgl_port(NULL)");
    ok(dpgl_publish_framebuffer(NULL, 0, 0, 0, 64, 48) == DP_ERROR_INVALID_ARGUMENT, "publish on NULL: %s",
       dp_result_string(dp_last_error()));
    ok(dpgl_acquire(NULL, 0, &tex, &frame) == DP_ERROR_INVALID_ARGUMENT, "acquire on NULL: %s",
       dp_result_string(dp_last_error()));

    if (!gu_window_create(&w, 64, 48))
        skip("no WGL context: %s", gu_error());
    ok(dpgl_create(NULL) == NULL && dp_last_error() == DP_ERROR_INVALID_ARGUMENT, "dpgl_create(NULL): %s",
       dp_result_string(dp_last_error()));
    prod = dpgl_create(&desc);
    if (!ok(prod != NULL, "dpgl_create: %s", dp_last_error_message())) {
        gu_window_destroy(&w);
        return;
    }
    /* The port exists: what fails is the missing context. */
    wglMakeCurrent(NULL, NULL);
    ok(dpgl_open(name) == NULL && dp_last_error() == DP_ERROR_INVALID_ARGUMENT, "dpgl_open without a context: %s",
       dp_result_string(dp_last_error()));
    ok(dpgl_create(&other_desc) == NULL && dp_last_error() == DP_ERROR_INVALID_ARGUMENT,
       "dpgl_create of a second port without a context: %s", dp_result_string(dp_last_error()));
    gu_make_current(&w);
    cons = dpgl_open(name);
    if (!ok(cons != NULL, "dpgl_open: %s", dp_last_error_message())) {
        dpgl_close(prod);
        gu_window_destroy(&w);
        return;
    }
    gu_draw_pattern(1, 0, 0, 64, 48);
    r = dpgl_publish_framebuffer(prod, 0, 0, 0, 64, 48);
    ok(r == DP_OK, "publish: %s", dp_result_string(r));

    /* Another context current: every call refuses, and leaves that context current. */
    other = wglCreateContext(w.dc);
    if (ok(other && wglMakeCurrent(w.dc, other), "second context: %lu", GetLastError())) {
        r = dpgl_publish_framebuffer(prod, 0, 0, 0, 64, 48);
        ok(r == DP_ERROR_INVALID_ARGUMENT && dp_last_error() == r,
           "publish_framebuffer with another context: %s", dp_result_string(r));
        r = dpgl_publish_texture(prod, 1);
        ok(r == DP_ERROR_INVALID_ARGUMENT && dp_last_error() == r,
           "publish_texture with another context: %s", dp_result_string(r));
        r = dpgl_acquire(cons, 0, &tex, &frame);
        ok(r == DP_ERROR_INVALID_ARGUMENT && dp_last_error() == r,
           "acquire with another context: %s", dp_result_string(r));
        dpgl_release(cons);
        ok(dp_last_error() == DP_ERROR_INVALID_ARGUMENT, "release with another context: %s",
           dp_result_string(dp_last_error()));
        ok(wglGetCurrentContext() == other && wglGetCurrentDC() == w.dc, "the current context changed");
    }
    /* None current. */
    wglMakeCurrent(NULL, NULL);
    r = dpgl_publish_framebuffer(prod, 0, 0, 0, 64, 48);
    ok(r == DP_ERROR_INVALID_ARGUMENT,
       "publish_framebuffer without a context: %s", dp_result_string(r));
    r = dpgl_publish_texture(prod, 1);
    ok(r == DP_ERROR_INVALID_ARGUMENT, "publish_texture without a context: %s",
       dp_result_string(r));
    r = dpgl_acquire(cons, 0, &tex, &frame);
    ok(r == DP_ERROR_INVALID_ARGUMENT, "acquire without a context: %s",
       dp_result_string(r));
    ok(wglGetCurrentContext() == NULL, "a context became current");

    /* Back in the right context: the refused calls took nothing, frame 1 is there. */
    gu_make_current(&w);
    r = dpgl_acquire(cons, 5000, &tex, &frame);
    if (ok(r == DP_OK && frame == 1, "acquire: %s, frame %llu (%s)", dp_result_string(r), (unsigned long long)frame,
           dp_last_error_message())) {
        gl_check_texture(tex, frame, false, &tw, &th);
        ok(tw == 64 && th == 48, "texture %dx%d", tw, th);
        dpgl_release(cons);
    }
    dpgl_close(cons);
    dpgl_close(prod);
    if (other)
        wglDeleteContext(other);
    gu_window_destroy(&w);
}

DP_TEST(gl_port_handle_and_info)
{
    wchar_t name[64];
    DP_PORT_DESC desc;
    DP_PORT_INFO info, *list;
    gu_window w;
    DPGL_PORT *prod, *cons;
    uint32_t n, cap, found = 0;
    gl_name(name, 64, "info");
    desc = gl_desc(name, 80, 60, DP_TRANSPORT_AUTO);
    if (!gu_window_create(&w, 80, 60))
        skip("no WGL context: %s", gu_error());
    prod = dpgl_create(&desc);
    cons = prod ? dpgl_open(name) : NULL;
    if (!ok(prod && cons, "create/open: %s", dp_last_error_message()))
        goto out;
    ok(dpgl_mode(prod) == DPGL_MODE_COPY || dpgl_mode(prod) == DPGL_MODE_INTEROP, "mode %d", (int)dpgl_mode(prod));
    ok(dpgl_mode(cons) == dpgl_mode(prod), "consumer mode %d, producer %d", (int)dpgl_mode(cons),
       (int)dpgl_mode(prod));
    ok(dpgl_port(prod) && dpgl_port(cons) && dpgl_port(prod) != dpgl_port(cons), "core handles %p %p",
       dpgl_port(prod), dpgl_port(cons));
    /* COPY is the host transport, INTEROP the GPU's. */
    ok(dp_get_transport(dpgl_port(prod)) ==
           (dpgl_mode(prod) == DPGL_MODE_COPY ? DP_TRANSPORT_HOST : DP_TRANSPORT_GPU),
       "mode %d on transport %d", (int)dpgl_mode(prod), (int)dp_get_transport(dpgl_port(prod)));
    dptest_diag("mode %d, transport %d", (int)dpgl_mode(prod), (int)dp_get_transport(dpgl_port(prod)));
    if (ok(dp_get_port_info(dpgl_port(prod), &info), "producer info: %s", dp_last_error_message()))
        ok(info.width == 80 && info.height == 60 && info.format == DP_FORMAT_VIDEO && info.is_producer &&
               !wcscmp(info.name, name) && info.producer_pid == GetCurrentProcessId(),
           "producer info: %ls %ux%u format %d producer %d pid %u", info.name, info.width, info.height,
           (int)info.format, info.is_producer, info.producer_pid);
    if (ok(dp_get_port_info(dpgl_port(cons), &info), "consumer info: %s", dp_last_error_message()))
        ok(info.width == 80 && info.height == 60 && !info.is_producer, "consumer info: %ux%u producer %d",
           info.width, info.height, info.is_producer);
    cap = dp_list_ports(NULL, 0) + 8;
    list = calloc(cap, sizeof(*list));
    if (list) {
        n = dp_list_ports(list, cap);
        for (uint32_t i = 0; i < n && i < cap; i++)
            found += !wcscmp(list[i].name, name);
        free(list);
    }
    ok(found == 1, "dp_list_ports lists %ls %u times", name, found);
out:
    dpgl_close(cons);
    dpgl_close(prod);
    gu_window_destroy(&w);
}

/* ---- the caller's GL state -------------------------------------------------------------- */

/* Compares the state now with *before; names the call on a difference, which then
 * becomes the state compared with, so that each call is blamed only for its own. */
static void gl_same_state(gu_state *before, const char *after_call)
{
    gu_state now;
    char why[512];
    gu_state_capture(&now);
    if (!ok(gu_state_equal(before, &now, why, sizeof why), "after %s: %s", after_call, why)) {
        *before = now;
        /* The snapshot took the pending error: the next one starts without. */
        for (int i = 0; i < before->count; i++)
            if (!strcmp(before->item[i].name, "glGetError (pending error)"))
                before->item[i].v[0] = GL_NO_ERROR;
    }
}

/* Acquires a frame in the middle of odd state and checks it, putting the state back. */
static void gl_take_checked(DPGL_PORT *cons, gu_state *before, uint64_t want, int want_w, int want_h,
                            const char *what)
{
    unsigned tex = 0;
    uint64_t frame = 0;
    int w, h;
    DP_RESULT r = dpgl_acquire(cons, 5000, &tex, &frame);
    gl_same_state(before, what);
    if (!ok(r == DP_OK && frame == want, "%s: %s, frame %llu, expected %llu (%s)", what, dp_result_string(r),
            (unsigned long long)frame, (unsigned long long)want, dp_last_error_message()))
        return;
    r = dpgl_acquire(cons, 0, &tex, &frame);
    ok(r == DP_ERROR_INVALID_ARGUMENT, "acquire while holding a frame: %s", dp_result_string(r));
    gl_same_state(before, "dpgl_acquire while holding a frame");
    gl_check_texture(tex, want, false, &w, &h);
    ok(w == want_w && h == want_h, "%s: texture %dx%d, expected %dx%d", what, w, h, want_w, want_h);
    dpgl_release(cons);
    gl_same_state(before, "dpgl_release");
}

DP_TEST(gl_state_preserved)
{
    wchar_t name[64];
    DP_PORT_DESC desc;
    gu_window w;
    gu_state before;
    DPGL_PORT *prod = NULL, *cons = NULL;
    GLuint tex_pub, fbo_pub, tex_read, fbo_read, tex_draw, fbo_draw, tex_u1, tex_u3, cube, buffers[3], vao, sampler,
        prog;
    DP_RESULT r;
    gl_name(name, 64, "state");
    desc = gl_desc(name, 96, 64, DP_TRANSPORT_AUTO);
    if (!gu_window_create(&w, 160, 100))
        skip("no WGL context: %s", gu_error());
    if (gu_gl_version() < 44) {
        char version[128];
        snprintf(version, sizeof version, "%s", (const char *)glGetString(GL_VERSION));
        gu_window_destroy(&w);
        skip("GL %s: the state snapshot (and the adapter) need 4.4", version);
    }

    /* Frames to publish: 1 in the back buffer at (20, 10), 2 in a texture, 3 in the
     * framebuffer object that will be bound for reading, 4 (10x6) in the one that will
     * be bound for drawing. */
    gu_draw_pattern(1, 20, 10, 96, 64);
    tex_pub = gu_make_texture(96, 64);
    fbo_pub = gu_make_fbo(tex_pub);
    gu_draw_pattern(2, 0, 0, 96, 64);
    tex_read = gu_make_texture(96, 64);
    fbo_read = gu_make_fbo(tex_read);
    gu_draw_pattern(3, 0, 0, 96, 64);
    tex_draw = gu_make_texture(32, 32);
    fbo_draw = gu_make_fbo(tex_draw);
    gu_draw_pattern(4, 0, 0, 10, 6);
    tex_u1 = gu_make_texture(8, 8);
    tex_u3 = gu_make_texture(4, 4);
    glGenTextures(1, &cube);
    glBindTexture(GL_TEXTURE_CUBE_MAP, cube);
    glBindTexture(GL_TEXTURE_CUBE_MAP, 0);
    glGenBuffers(3, buffers);
    for (int i = 0; i < 3; i++) {
        glBindBuffer(GL_ARRAY_BUFFER, buffers[i]);
        glBufferData(GL_ARRAY_BUFFER, 4096, NULL, GL_STREAM_DRAW);
    }
    glGenVertexArrays(1, &vao);
    glGenSamplers(1, &sampler);
    prog = gu_make_program();
    ok(fbo_pub && fbo_read && fbo_draw && prog, "setup: fbo %u %u %u, program %u", fbo_pub, fbo_read, fbo_draw, prog);

    /* Odd state everywhere. The default framebuffer reads its FRONT buffer (the adapter
     * must read the back one and leave that alone). */
    glBindFramebuffer(GL_FRAMEBUFFER, 0);
    glReadBuffer(GL_FRONT);
    glBindFramebuffer(GL_DRAW_FRAMEBUFFER, fbo_draw);
    glBindFramebuffer(GL_READ_FRAMEBUFFER, fbo_read);
    glBindBuffer(GL_PIXEL_PACK_BUFFER, buffers[0]);
    glBindBuffer(GL_PIXEL_UNPACK_BUFFER, buffers[1]);
    glBindVertexArray(vao);
    glBindBuffer(GL_ARRAY_BUFFER, buffers[2]);
    glBindBuffer(GL_ELEMENT_ARRAY_BUFFER, buffers[0]);
    glPixelStorei(GL_PACK_ALIGNMENT, 1);
    glPixelStorei(GL_UNPACK_ALIGNMENT, 1);
    glPixelStorei(GL_PACK_ROW_LENGTH, 7);
    glPixelStorei(GL_UNPACK_ROW_LENGTH, 7);
    glPixelStorei(GL_PACK_SKIP_ROWS, 2);
    glPixelStorei(GL_UNPACK_SKIP_ROWS, 3);
    glPixelStorei(GL_PACK_SKIP_PIXELS, 1);
    glPixelStorei(GL_UNPACK_SKIP_PIXELS, 5);
    glPixelStorei(GL_PACK_IMAGE_HEIGHT, 9);
    glPixelStorei(GL_UNPACK_IMAGE_HEIGHT, 11);
    glPixelStorei(GL_UNPACK_SKIP_IMAGES, 1);
    glPixelStorei(GL_PACK_SWAP_BYTES, GL_TRUE);
    glPixelStorei(GL_UNPACK_SWAP_BYTES, GL_TRUE);
    glActiveTexture(GL_TEXTURE1);
    glBindTexture(GL_TEXTURE_2D, tex_u1);
    glActiveTexture(GL_TEXTURE3);
    glBindTexture(GL_TEXTURE_2D, tex_u3);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_S, GL_MIRRORED_REPEAT);
    glBindSampler(3, sampler);
    glEnable(GL_TEXTURE_2D);
    glClientActiveTexture(GL_TEXTURE2);
    glViewport(3, 4, 50, 60);
    glScissor(1, 2, 3, 4);
    glEnable(GL_SCISSOR_TEST);
    glEnable(GL_BLEND);
    glBlendFuncSeparate(GL_SRC_ALPHA, GL_ONE_MINUS_SRC_ALPHA, GL_ONE, GL_ZERO);
    glBlendEquationSeparate(GL_FUNC_ADD, GL_MAX);
    glBlendColor(0.1f, 0.2f, 0.3f, 0.4f);
    glEnable(GL_FRAMEBUFFER_SRGB);
    glClearColor(0.25f, 0.5f, 0.75f, 0.125f);
    glColorMask(GL_TRUE, GL_FALSE, GL_TRUE, GL_FALSE);
    glEnable(GL_DEPTH_TEST);
    glDepthMask(GL_FALSE);
    glDepthFunc(GL_GEQUAL);
    glEnable(GL_CULL_FACE);
    glCullFace(GL_FRONT);
    glFrontFace(GL_CW);
    glPolygonMode(GL_FRONT_AND_BACK, GL_LINE);
    glEnable(GL_PRIMITIVE_RESTART);
    glPrimitiveRestartIndex(7);
    glEnable(GL_DITHER);
    glDisable(GL_MULTISAMPLE);
    glUseProgram(prog);
    glMatrixMode(GL_TEXTURE);
    glColor4f(0.5f, 0.25f, 1.0f, 0.75f);
    while (glGetError() != GL_NO_ERROR)
        ;
    gu_state_capture(&before);
    ok(before.item[before.count - 1].v[0] == GL_NO_ERROR, "the snapshot raises GL error 0x%llx",
       (unsigned long long)before.item[before.count - 1].v[0]);

    prod = dpgl_create(&desc);
    gl_same_state(&before, "dpgl_create");
    if (!ok(prod != NULL, "dpgl_create: %s", dp_last_error_message()))
        goto out;
    cons = dpgl_open(name);
    gl_same_state(&before, "dpgl_open");
    if (!ok(cons != NULL, "dpgl_open: %s", dp_last_error_message()))
        goto out;
    ok(dpgl_mode(prod) != 0 && dpgl_mode(cons) != 0 && dpgl_port(prod) && dpgl_port(cons), "mode/port");
    gl_same_state(&before, "dpgl_mode, dpgl_port");

    /* Frame 1: the default framebuffer's back buffer, an offset region. */
    r = dpgl_publish_framebuffer(prod, 0, 20, 10, 96, 64);
    ok(r == DP_OK, "publish_framebuffer(0): %s (%s)", dp_result_string(r), dp_last_error_message());
    gl_same_state(&before, "dpgl_publish_framebuffer(0)");
    gl_take_checked(cons, &before, 1, 96, 64, "dpgl_acquire of frame 1 (the back buffer)");

    /* Frame 2: a texture (GL convention, its row 0 is the bottom). */
    r = dpgl_publish_texture(prod, tex_pub);
    ok(r == DP_OK, "publish_texture: %s (%s)", dp_result_string(r), dp_last_error_message());
    gl_same_state(&before, "dpgl_publish_texture");
    gl_take_checked(cons, &before, 2, 96, 64, "dpgl_acquire of frame 2 (a texture)");

    /* Frame 3: the framebuffer object bound for reading. */
    r = dpgl_publish_framebuffer(prod, fbo_read, 0, 0, 96, 64);
    ok(r == DP_OK, "publish_framebuffer(fbo): %s (%s)", dp_result_string(r), dp_last_error_message());
    gl_same_state(&before, "dpgl_publish_framebuffer(fbo)");
    gl_take_checked(cons, &before, 3, 96, 64, "dpgl_acquire of frame 3 (an FBO)");

    /* Frame 4: a small region of the FBO bound for drawing, which resizes the port;
     * the consumer's texture follows under the caller's odd unpack state. */
    r = dpgl_publish_framebuffer(prod, fbo_draw, 0, 0, 10, 6);
    ok(r == DP_OK, "publish_framebuffer(fbo, 10x6): %s (%s)", dp_result_string(r), dp_last_error_message());
    gl_same_state(&before, "dpgl_publish_framebuffer that resizes");
    gl_take_checked(cons, &before, 4, 10, 6, "dpgl_acquire of frame 4 (resized)");

    /* Refused calls leave the state alone too, GL error flags included. */
    r = dpgl_publish_texture(cons, tex_pub);
    ok(r == DP_ERROR_INVALID_ARGUMENT, "publish_texture on a consumer: %s", dp_result_string(r));
    gl_same_state(&before, "dpgl_publish_texture on a consumer");
    dpgl_release(cons);
    gl_same_state(&before, "dpgl_release without a frame");
    {
        unsigned tex = 0;
        r = dpgl_acquire(cons, 50, &tex, NULL);
        ok(r == DP_ERROR_TIMEOUT, "acquire with no new frame: %s", dp_result_string(r));
        gl_same_state(&before, "dpgl_acquire that timed out");
    }

    /* Last, as a wrong answer here publishes a frame. A compatibility-profile context
     * is not asked a texture's target, so the adapter learns it by binding, which
     * leaves GL_INVALID_OPERATION pending there (documented in docs/gl-adapter.md);
     * a core-profile context is asked and stays clean. */
    r = dpgl_publish_texture(prod, cube);
    ok(r == DP_ERROR_INVALID_ARGUMENT, "publish_texture of a cube map: %s", dp_result_string(r));
    {
        GLint profile = 0;
        glGetIntegerv(GL_CONTEXT_PROFILE_MASK, &profile);
        if (!(profile & GL_CONTEXT_CORE_PROFILE_BIT)) {
            GLenum e = glGetError();
            ok(e == GL_INVALID_OPERATION, "the bind of a cube map left 0x%x, not GL_INVALID_OPERATION", e);
        }
    }
    gl_same_state(&before, "dpgl_publish_texture of a cube map");

    dpgl_close(cons);
    cons = NULL;
    gl_same_state(&before, "dpgl_close (consumer)");
    dpgl_close(prod);
    prod = NULL;
    gl_same_state(&before, "dpgl_close (producer)");
out:
    dpgl_close(cons);
    dpgl_close(prod);
    gu_window_destroy(&w);
}

/* ---- what a publish reads from ----------------------------------------------------------- */

/* A framebuffer object over one renderbuffer of format, w x h, of `samples` samples (at
 * most the context's). 0 if it is not complete. */
static GLuint gl_make_rb_fbo(GLenum format, int w, int h, GLint samples, GLuint *rb)
{
    GLint max = 0;
    GLuint fbo = 0;
    glGetIntegerv(GL_MAX_SAMPLES, &max);
    glGenRenderbuffers(1, rb);
    glBindRenderbuffer(GL_RENDERBUFFER, *rb);
    glRenderbufferStorageMultisample(GL_RENDERBUFFER, samples < max ? samples : max, format, w, h);
    glBindRenderbuffer(GL_RENDERBUFFER, 0);
    glGenFramebuffers(1, &fbo);
    glBindFramebuffer(GL_FRAMEBUFFER, fbo);
    glFramebufferRenderbuffer(GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, GL_RENDERBUFFER, *rb);
    if (glCheckFramebufferStatus(GL_FRAMEBUFFER) != GL_FRAMEBUFFER_COMPLETE) {
        glBindFramebuffer(GL_FRAMEBUFFER, 0);
        glDeleteFramebuffers(1, &fbo);
        return 0;
    }
    return fbo;
}

/* Acquires the next frame and checks that it is frame `want`'s pattern at w x h. */
static void gl_take_pattern(DPGL_PORT *cons, uint64_t want, int w, int h, const char *what)
{
    unsigned tex = 0;
    uint64_t frame = 0;
    int tw = 0, th = 0;
    DP_RESULT r = dpgl_acquire(cons, 5000, &tex, &frame);
    if (ok(r == DP_OK && frame == want, "%s: acquire %s (%s), frame %llu, expected %llu", what, dp_result_string(r),
           dp_last_error_message(), (unsigned long long)frame, (unsigned long long)want)) {
        gl_check_texture(tex, want, false, &tw, &th);
        ok(tw == w && th == h, "%s: %dx%d, expected %dx%d", what, tw, th, w, h);
        dpgl_release(cons);
    }
    gl_no_gl_error(what, want);
}

/* A refused publish returns DP_ERROR_INVALID_ARGUMENT and leaves no GL error (the
 * adapter checks its source instead of reading glGetError). */
static void gl_refused(DP_RESULT r, const char *what)
{
    GLenum e = glGetError();
    ok(r == DP_ERROR_INVALID_ARGUMENT, "%s: %s (%s), expected DP_ERROR_INVALID_ARGUMENT", what, dp_result_string(r),
       dp_last_error_message());
    ok(e == GL_NO_ERROR, "%s left GL error 0x%x", what, e);
    while (e != GL_NO_ERROR)
        e = glGetError();
}

DP_TEST(gl_publish_resolves_and_checks_its_source)
{
    enum { W = 64, H = 48, FB_W = 80, FB_H = 60, X = 5, Y = 3 };
    wchar_t name[64];
    DP_PORT_DESC desc;
    gu_window w;
    gu_state before, after;
    char why[512];
    DPGL_PORT *prod = NULL, *cons = NULL;
    GLuint rb[4] = {0, 0, 0, 0}, fbo_ms8, fbo_ms16f, fbo_int, fbo_none, fbo_empty, tex_int, tex_depth;
    GLenum e;
    DP_RESULT r;
    gl_name(name, 64, "source");
    desc = gl_desc(name, W, H, DP_TRANSPORT_AUTO);
    if (!gu_window_create(&w, 160, 100))
        skip("no WGL context: %s", gu_error());
    if (gu_gl_version() < 44) {
        gu_window_destroy(&w);
        skip("GL %s: the state snapshot (and the adapter) need 4.4", (const char *)glGetString(GL_VERSION));
    }
    /* Frame 1 in a 4x multisampled RGBA8 framebuffer at (5, 3); frame 2 in a multisampled
     * RGBA16F one: glReadPixels refuses both, and a resolve blit takes identical formats. */
    fbo_ms8 = gl_make_rb_fbo(GL_RGBA8, FB_W, FB_H, 4, &rb[0]);
    gu_draw_pattern(1, X, Y, W, H);
    fbo_ms16f = gl_make_rb_fbo(GL_RGBA16F, W, H, 4, &rb[1]);
    gu_draw_pattern(2, 0, 0, W, H);
    fbo_int = gl_make_rb_fbo(GL_R32UI, W, H, 0, &rb[2]);
    fbo_none = gl_make_rb_fbo(GL_RGBA8, W, H, 0, &rb[3]);
    glReadBuffer(GL_NONE);
    glGenFramebuffers(1, &fbo_empty);
    glBindFramebuffer(GL_FRAMEBUFFER, 0);
    gu_draw_pattern(3, 0, 0, W, H);
    glGenTextures(1, &tex_int);
    glBindTexture(GL_TEXTURE_2D, tex_int);
    glTexImage2D(GL_TEXTURE_2D, 0, GL_R32UI, W, H, 0, GL_RED_INTEGER, GL_UNSIGNED_INT, NULL);
    glGenTextures(1, &tex_depth);
    glBindTexture(GL_TEXTURE_2D, tex_depth);
    glTexImage2D(GL_TEXTURE_2D, 0, GL_DEPTH_COMPONENT24, W, H, 0, GL_DEPTH_COMPONENT, GL_UNSIGNED_INT, NULL);
    glBindTexture(GL_TEXTURE_2D, 0);
    glBindFramebuffer(GL_FRAMEBUFFER, 0);
    if (!ok(fbo_ms8 && fbo_ms16f && fbo_int && fbo_none, "setup: framebuffers %u %u %u %u", fbo_ms8, fbo_ms16f,
            fbo_int, fbo_none))
        goto out;
    while (glGetError() != GL_NO_ERROR)
        ;
    prod = dpgl_create(&desc);
    cons = prod ? dpgl_open(name) : NULL;
    if (!ok(prod && cons, "create/open: %s", dp_last_error_message()))
        goto out;

    /* The resolve leaves the caller's state as it was: scissor on, bindings elsewhere. */
    glEnable(GL_SCISSOR_TEST);
    glScissor(1, 1, 2, 2);
    glBindFramebuffer(GL_READ_FRAMEBUFFER, fbo_int);
    glBindFramebuffer(GL_DRAW_FRAMEBUFFER, fbo_none);
    glBindRenderbuffer(GL_RENDERBUFFER, rb[2]);
    gu_state_capture(&before);
    r = dpgl_publish_framebuffer(prod, fbo_ms8, X, Y, W, H);
    gu_state_capture(&after);
    ok(r == DP_OK, "publish of a multisampled RGBA8 region: %s (%s)", dp_result_string(r), dp_last_error_message());
    ok(gu_state_equal(&before, &after, why, sizeof why), "after the multisampled publish: %s", why);
    glDisable(GL_SCISSOR_TEST);
    gl_take_pattern(cons, 1, W, H, "multisampled RGBA8 at (5, 3)");

    /* The caller's pending GL error is still its own afterwards. */
    glEnable(0x7fff);
    r = dpgl_publish_framebuffer(prod, fbo_ms16f, 0, 0, W, H);
    e = glGetError();
    ok(r == DP_OK, "publish of a multisampled RGBA16F framebuffer: %s (%s)", dp_result_string(r),
       dp_last_error_message());
    ok(e == GL_INVALID_ENUM, "the caller's pending GL_INVALID_ENUM became 0x%x", e);
    e = glGetError();
    ok(e == GL_NO_ERROR, "the publish added GL error 0x%x", e);
    gl_take_pattern(cons, 2, W, H, "multisampled RGBA16F");

    /* Sources the reads would refuse are refused before anything is published. */
    gl_refused(dpgl_publish_framebuffer(prod, fbo_int, 0, 0, W, H), "an integer framebuffer into a VIDEO port");
    gl_refused(dpgl_publish_framebuffer(prod, fbo_none, 0, 0, W, H), "a framebuffer whose read buffer is GL_NONE");
    gl_refused(dpgl_publish_framebuffer(prod, fbo_empty, 0, 0, W, H), "an incomplete framebuffer");
    gl_refused(dpgl_publish_framebuffer(prod, fbo_ms8, -1, 0, W, H), "a multisampled region left of x = 0");
    gl_refused(dpgl_publish_texture(prod, tex_int), "an integer texture into a VIDEO port");
    gl_refused(dpgl_publish_texture(prod, tex_depth), "a depth texture");
    {
        unsigned tex = 0;
        r = dpgl_acquire(cons, 100, &tex, NULL);
        ok(r == DP_ERROR_TIMEOUT, "after the refusals: acquire %s, expected DP_ERROR_TIMEOUT", dp_result_string(r));
    }
    /* And the port goes on. */
    r = dpgl_publish_framebuffer(prod, 0, 0, 0, W, H);
    ok(r == DP_OK, "publish of the back buffer: %s (%s)", dp_result_string(r), dp_last_error_message());
    gl_take_pattern(cons, 3, W, H, "the back buffer after the refusals");
out:
    dpgl_close(cons);
    dpgl_close(prod);
    glBindFramebuffer(GL_FRAMEBUFFER, 0);
    glBindRenderbuffer(GL_RENDERBUFFER, 0);
    gu_window_destroy(&w);
}

/* The caller's window goes while its context lives on (moved to another window of the
 * same pixel format): the producer's harvest thread, whose context was current on the
 * old window's DC, stops at the next publish, and frames go on arriving. */
DP_TEST(gl_producer_outlives_its_window)
{
    enum { W = 64, H = 48 };
    wchar_t name[64];
    DP_PORT_DESC desc;
    gu_window a, b;
    DP_STATS before, during, after;
    DPGL_PORT *prod = NULL, *cons = NULL;
    DP_RESULT r;
    memset(&b, 0, sizeof b);
    gl_name(name, 64, "window");
    desc = gl_desc(name, W, H, DP_TRANSPORT_AUTO);
    if (!gu_window_create(&a, 160, 100))
        skip("no WGL context: %s", gu_error());
    /* No copy helpers: the producer's threads are its worker and its harvest thread. */
    SetEnvironmentVariableA("DIRECTPORT_COPY_HELPERS", "0");
    dp_get_stats(&before);
    prod = dpgl_create(&desc);
    dp_get_stats(&during);
    SetEnvironmentVariableA("DIRECTPORT_COPY_HELPERS", NULL);
    cons = prod ? dpgl_open(name) : NULL;
    if (!ok(prod && cons, "create/open: %s", dp_last_error_message()))
        goto out;
    ok(during.worker_threads == before.worker_threads + 2, "the producer runs %u threads, not its worker and harvest "
       "thread", during.worker_threads - before.worker_threads);
    gu_draw_pattern(1, 0, 0, W, H);
    r = dpgl_publish_framebuffer(prod, 0, 0, 0, W, H);
    ok(r == DP_OK, "publish 1: %s (%s)", dp_result_string(r), dp_last_error_message());
    gl_take_pattern(cons, 1, W, H, "frame 1, drawn in the first window");
    dp_get_stats(&during);
    /* A second window; the first one's context moves to it, and the first window goes. */
    if (!ok(gu_window_create(&b, 160, 100), "second window: %s", gu_error()))
        goto out;
    ok(wglMakeCurrent(b.dc, a.rc) != FALSE, "wglMakeCurrent of the first context on the second window: %lu",
       GetLastError());
    ReleaseDC(a.hwnd, a.dc);
    DestroyWindow(a.hwnd);
    a.hwnd = NULL;
    a.dc = NULL;
    gu_draw_pattern(2, 0, 0, W, H);
    r = dpgl_publish_framebuffer(prod, 0, 0, 0, W, H);
    ok(r == DP_OK, "publish 2 in the second window: %s (%s)", dp_result_string(r), dp_last_error_message());
    gl_take_pattern(cons, 2, W, H, "frame 2, drawn in the second window");
    dp_get_stats(&after);
    ok(after.worker_threads + 1 == during.worker_threads, "%u threads after the window went, %u before: the harvest "
       "thread on its DC runs on", after.worker_threads, during.worker_threads);
    gu_draw_pattern(3, 0, 0, W, H);
    r = dpgl_publish_framebuffer(prod, 0, 0, 0, W, H);
    ok(r == DP_OK, "publish 3: %s (%s)", dp_result_string(r), dp_last_error_message());
    gl_take_pattern(cons, 3, W, H, "frame 3, harvested at the publish");
out:
    dpgl_close(cons);
    dpgl_close(prod);
    if (b.rc) {
        /* The first context is current on the second window: delete it, then the window. */
        wglMakeCurrent(NULL, NULL);
        wglDeleteContext(a.rc);
        a.rc = NULL;
    }
    gu_window_destroy(&a);
    gu_window_destroy(&b);
}

/* A program that writes the integer texture on unit 0, sampled at its centre with
 * texture() (which, as texelFetch, reads 0 from an incomplete texture), to an unsigned
 * integer target. 0 if it does not link. */
static GLuint gl_make_usampler_program(void)
{
    return gu_make_program_from("#version 130\n"
                                "void main() {\n"
                                "    vec2 q = vec2(float((gl_VertexID & 1) * 4 - 1), float((gl_VertexID & 2) * 2 - 1));\n"
                                "    gl_Position = vec4(q, 0.0, 1.0);\n"
                                "}\n",
                                "#version 130\n"
                                "uniform usampler2D t;\n"
                                "out uvec4 c;\n"
                                "void main() { c = texture(t, vec2(0.5, 0.5)); }\n");
}

/* A RAW_32BIT port: an integer framebuffer published, and the consumer's GL_R32UI
 * texture sampled in a shader. Any filter but GL_NEAREST makes an integer texture
 * incomplete (GL 4.6 §8.17), and an incomplete texture samples 0. */
DP_TEST(gl_raw_32bit_texture_samples_in_a_shader)
{
    enum { W = 32, H = 16 };
    wchar_t name[64];
    DP_PORT_DESC desc;
    gu_window w;
    DPGL_PORT *prod = NULL, *cons = NULL;
    GLuint rb_src = 0, rb_dst = 0, fbo_src, fbo_dst, prog = 0;
    unsigned tex = 0;
    uint64_t frame = 0;
    DP_RESULT r;
    gl_name(name, 64, "raw");
    desc = gl_desc(name, W, H, DP_TRANSPORT_AUTO);
    desc.format = DP_FORMAT_RAW_32BIT;
    if (!gu_window_create(&w, 64, 64))
        skip("no WGL context: %s", gu_error());
    fbo_src = gl_make_rb_fbo(GL_R32UI, W, H, 0, &rb_src);
    if (fbo_src) {
        const GLuint value[4] = {0x12345678u, 0, 0, 0};
        glClearBufferuiv(GL_COLOR, 0, value);
    }
    fbo_dst = gl_make_rb_fbo(GL_R32UI, 1, 1, 0, &rb_dst);
    glBindFramebuffer(GL_FRAMEBUFFER, 0);
    prog = gl_make_usampler_program();
    if (!ok(fbo_src && fbo_dst && prog, "setup: framebuffers %u %u, program %u", fbo_src, fbo_dst, prog))
        goto out;
    prod = dpgl_create(&desc);
    cons = prod ? dpgl_open(name) : NULL;
    if (!ok(prod && cons, "create/open: %s", dp_last_error_message()))
        goto out;
    r = dpgl_publish_framebuffer(prod, fbo_src, 0, 0, W, H);
    ok(r == DP_OK, "publish of an R32UI framebuffer: %s (%s)", dp_result_string(r), dp_last_error_message());
    r = dpgl_acquire(cons, 5000, &tex, &frame);
    if (ok(r == DP_OK, "acquire: %s (%s)", dp_result_string(r), dp_last_error_message())) {
        GLuint got = 0;
        const GLuint clear[4] = {0, 0, 0, 0};
        glBindFramebuffer(GL_FRAMEBUFFER, fbo_dst);
        glClearBufferuiv(GL_COLOR, 0, clear);
        glViewport(0, 0, 1, 1);
        glUseProgram(prog);
        glActiveTexture(GL_TEXTURE0);
        glBindTexture(GL_TEXTURE_2D, tex);
        glDrawArrays(GL_TRIANGLES, 0, 3);
        glBindTexture(GL_TEXTURE_2D, 0);
        glUseProgram(0);
        glPixelStorei(GL_PACK_ALIGNMENT, 4);
        glReadPixels(0, 0, 1, 1, GL_RED_INTEGER, GL_UNSIGNED_INT, &got);
        glBindFramebuffer(GL_FRAMEBUFFER, 0);
        ok(got == 0x12345678u, "the shader sampled 0x%08x from the RAW_32BIT texture, not 0x12345678 (0 is an "
           "incomplete texture)", got);
        dpgl_release(cons);
    }
    gl_no_gl_error("the RAW_32BIT round trip", frame);
out:
    dpgl_close(cons);
    dpgl_close(prod);
    if (prog)
        glDeleteProgram(prog);
    glBindFramebuffer(GL_FRAMEBUFFER, 0);
    gu_window_destroy(&w);
}

/* ---- across processes -------------------------------------------------------------------- */

/* Runs a GL producer child and consumes its stream in this process, in GL. */
static void gl_stream_from_child(const char *what, const gl_producer_args *base, gl_stream *s)
{
    wchar_t name[64];
    gu_window w;
    gl_sync sync;
    gl_producer_args a = *base;
    dptest_child c;
    DPGL_PORT *p;
    DP_PORT_INFO info;
    gl_name(name, 64, what);
    a.name = name;
    a.consumers = 1;
    if (!ok(gu_window_create(&w, 64, 64), "consumer window: %s", gu_error()))
        return;
    gl_sync_create(&sync, name);
    c = gl_spawn_producer(&a);
    p = gl_open(name);
    if (ok(p != NULL, "dpgl_open %ls: %s", name, dp_last_error_message())) {
        ok(dpgl_mode(p) == (a.expect_mode ? (DPGL_MODE)a.expect_mode : dpgl_mode(p)), "consumer mode %d",
           (int)dpgl_mode(p));
        ReleaseSemaphore(sync.ready, 1, NULL);
        gl_consume(p, sync.finished, s);
        dptest_diag("%s: %ld frames acquired (%ld at %dx%d, %ld at %dx%d), last %llu", what, s->acquired,
                    s->first_size, s->w, s->h, s->second_size, s->w2, s->h2, (unsigned long long)s->last);
        ok(s->acquired > 0, "no frame acquired");
        /* The newest frame got through. */
        if (ok(dp_get_port_info(dpgl_port(p), &info), "port info: %s", dp_last_error_message()))
            ok(s->last == info.last_frame, "last frame acquired %llu, the port's last %llu",
               (unsigned long long)s->last, (unsigned long long)info.last_frame);
        ReleaseSemaphore(sync.done, 1, NULL);
        dpgl_close(p);
    }
    gl_wait(&c, 60000, "GL producer");
    gl_sync_close(&sync);
    gu_window_destroy(&w);
}

DP_TEST(gl_to_gl_300_frames)
{
    gl_producer_args a = {0};
    gl_stream s = {0};
    a.frames = 300;
    a.pace_ms = 2;
    a.w = a.w2 = GL_W;
    a.h = a.h2 = GL_H;
    s.w = GL_W;
    s.h = GL_H;
    gl_stream_from_child("gl2gl", &a, &s);
    ok(s.acquired >= 30, "only %ld of 300 frames acquired", s.acquired);
}

static void gl_resize_stream(const char *tag)
{
    gl_producer_args a = {0};
    gl_stream s = {0};
    a.frames = 120;
    a.pace_ms = 4;
    a.w = GL_W;
    a.h = GL_H;
    /* Narrower and taller: a mixed-up pitch or row count shows. */
    a.w2 = 150;
    a.h2 = 203;
    a.switch_at = 60;
    s.w = a.w;
    s.h = a.h;
    s.w2 = a.w2;
    s.h2 = a.h2;
    gl_stream_from_child(tag, &a, &s);
    ok(s.first_size > 0 && s.second_size > 0, "frames of both sizes: %ld at %dx%d, %ld at %dx%d", s.first_size, s.w,
       s.h, s.second_size, s.w2, s.h2);
}

DP_TEST(gl_resize_mid_stream)
{
    gl_resize_stream("resize");
}

/* A resize followed through the D3D11 feed (see gl_consumer_through_the_d3d11_feed): the
 * new generation gets a feed of its own, and no frame of one size passes as the other. */
DP_TEST(gl_resize_through_the_d3d11_feed)
{
    SetEnvironmentVariableA("DIRECTPORT_GL_CONSUMER", "d3d11");
    gl_resize_stream("feedresize");
    SetEnvironmentVariableA("DIRECTPORT_GL_CONSUMER", NULL);
}

/* argv: role name frames pace_ms w h -> a D3D12 producer of tu_pattern frames, one consumer. */
DP_CHILD(gl_d3d12_producer)
{
    gl_sync sync;
    DP_PORT_DESC desc;
    DP_PORT_INFO info = {0};
    DP_HANDLE h;
    tu_gpu g;
    long frames, pace, published = 0, dropped = 0;
    uint64_t last = 0;
    if (argc < 6 || !dp12_init() || !tu_gpu_init(&g))
        return 2;
    frames = wcstol(argv[2], NULL, 10);
    pace = wcstol(argv[3], NULL, 10);
    desc = gl_desc(argv[1], (int)wcstol(argv[4], NULL, 10), (int)wcstol(argv[5], NULL, 10), DP_TRANSPORT_AUTO);
    gl_sync_open(&sync, argv[1]);
    h = dp12_create_port(&desc);
    if (!ok(h != NULL, "dp12_create_port %ls: %s", argv[1], dp_last_error_message()))
        return 1;
    ok(WaitForSingleObject(sync.ready, 30000) == WAIT_OBJECT_0, "the consumer never got ready");
    for (long i = 0; i < frames && !dptest_failures(); i++) {
        ID3D12Resource *target = NULL;
        uint64_t frame = 0;
        DP_RESULT r = dp12_begin_frame(h, &target);
        if (r == DP_OK) {
            ok(tu_gpu_write(&g, target, 4, last + 1), "writing frame %llu", (unsigned long long)(last + 1));
            r = dp12_end_frame(h, g.queue, &frame);
            ok(r == DP_OK && frame == last + 1, "end_frame: %s, frame %llu, expected %llu", dp_result_string(r),
               (unsigned long long)frame, (unsigned long long)(last + 1));
            last = frame;
            published++;
        } else if (ok(r == DP_ERROR_BUSY, "begin_frame: %s", dp_result_string(r))) {
            dropped++;
        }
        Sleep((DWORD)pace);
    }
    for (ULONGLONG start = GetTickCount64(); GetTickCount64() - start < 3000; Sleep(5))
        if (dp_get_port_info(h, &info) && info.last_frame >= last)
            break;
    dptest_diag("D3D12 producer: %ld published, %ld dropped, transport %d", published, dropped,
                (int)dp_get_transport(h));
    SetEvent(sync.finished);
    ok(WaitForSingleObject(sync.done, 60000) == WAIT_OBJECT_0, "the consumer never finished");
    gl_sync_close(&sync);
    tu_gpu_free(&g);
    dp12_close(h);
    dp12_shutdown();
    return dptest_failures() ? 1 : 0;
}

/* How gl_from_d3d12's consumer is served: as dpgl_open chooses, or through the D3D11
 * feed (DIRECTPORT_GL_CONSUMER=d3d11), on whatever transport the port has or on the GPU
 * transport only. */
typedef enum { GL_SERVED_AS_CHOSEN, GL_SERVED_BY_FEED, GL_SERVED_BY_FEED_GPU } gl_served;

/* A D3D12 producer's w x h frames into a GL consumer, every byte checked. */
static void gl_from_d3d12_served(const char *tag, int width, int height, gl_served how)
{
    wchar_t name[64];
    gu_window w;
    gl_sync sync;
    gl_stream s = {0};
    dptest_child c;
    DPGL_PORT *p;
    DP_STATS before = {0}, during = {0}, after = {0};
    gl_name(name, 64, tag);
    if (!gu_window_create(&w, 64, 64))
        skip("no WGL context: %s", gu_error());
    gl_sync_create(&sync, name);
    c = dptest_spawn(L"gl_d3d12_producer %ls 120 3 %d %d", name, width, height);
    /* The producer child inherits the setting too: it concerns consumers only. */
    if (how != GL_SERVED_AS_CHOSEN)
        SetEnvironmentVariableA("DIRECTPORT_GL_CONSUMER", "d3d11");
    dp_get_stats(&before);
    p = gl_open(name);
    SetEnvironmentVariableA("DIRECTPORT_GL_CONSUMER", NULL);
    if (ok(p != NULL, "dpgl_open %ls: %s", name, dp_last_error_message())) {
        DP_TRANSPORT transport = dp_get_transport(dpgl_port(p));
        s.w = width;
        s.h = height;
        s.d3d12_pattern = true;
        dp_get_stats(&during);
        if (how == GL_SERVED_BY_FEED_GPU)
            ok(transport == DP_TRANSPORT_GPU, "the port's transport is %d, not the GPU transport", (int)transport);
        if (how != GL_SERVED_AS_CHOSEN) {
            /* The feed thread, and on the host transport the dp11 handle's worker too,
             * where the host worker alone would run. */
            uint32_t want = transport == DP_TRANSPORT_HOST ? 2 : 1;
            ok(dpgl_mode(p) == DPGL_MODE_COPY, "mode %d, not COPY", (int)dpgl_mode(p));
            ok(during.worker_threads == before.worker_threads + want,
               "%u threads run for the port, not the %u of the D3D11 feed", during.worker_threads - before.worker_threads,
               want);
        }
        ReleaseSemaphore(sync.ready, 1, NULL);
        gl_consume(p, sync.finished, &s);
        dptest_diag("GL consumer of D3D12 (%dx%d): %ld frames acquired, last %llu, mode %d", width, height,
                    s.acquired, (unsigned long long)s.last, (int)dpgl_mode(p));
        ok(s.acquired >= 10, "only %ld of 120 frames acquired", s.acquired);
        ReleaseSemaphore(sync.done, 1, NULL);
        dpgl_close(p);
        dp_get_stats(&after);
        ok(after.worker_threads == before.worker_threads, "%u threads left after dpgl_close (%u before)",
           after.worker_threads, before.worker_threads);
    }
    gl_wait(&c, 60000, "D3D12 producer");
    gl_sync_close(&sync);
    gu_window_destroy(&w);
}

static void gl_from_d3d12(const char *tag, int width, int height)
{
    gl_from_d3d12_served(tag, width, height, GL_SERVED_AS_CHOSEN);
}

DP_TEST(gl_from_d3d12_producer)
{
    gl_from_d3d12("fromd3d12", GL_W, GL_H);
}

/* The GL consumer's path for a GPU-transport port without interop (dpgl_open falls back
 * to it when interop is missing or refused): the frames through a dp11 consumer handle,
 * a staging texture and the feed thread. Forced here onto this machine's host-transport
 * port; every byte checked, the threads gone after close. */
DP_TEST(gl_consumer_through_the_d3d11_feed)
{
    gl_from_d3d12_served("feed", GL_W, GL_H, GL_SERVED_BY_FEED);
}

/* The feed's dp11 handle is the library's own: dp11_shutdown while such a GL port is open
 * refuses (INVALID_ARGUMENT) instead of closing it and the device under the feed thread,
 * and the frames keep coming; after dpgl_close it shuts down. */
DP_TEST(gl_feed_keeps_dp11_up_until_closed)
{
    wchar_t name[64];
    gu_window w;
    gl_sync sync;
    dptest_child c;
    DPGL_PORT *p;
    unsigned tex = 0;
    uint64_t first = 0, later = 0;
    DP_RESULT r;
    gl_name(name, 64, "feedpin");
    if (!gu_window_create(&w, 64, 64))
        skip("no WGL context: %s", gu_error());
    gl_sync_create(&sync, name);
    c = dptest_spawn(L"gl_d3d12_producer %ls 400 3 %d %d", name, GL_W, GL_H);
    SetEnvironmentVariableA("DIRECTPORT_GL_CONSUMER", "d3d11");
    p = gl_open(name);
    SetEnvironmentVariableA("DIRECTPORT_GL_CONSUMER", NULL);
    if (ok(p != NULL, "dpgl_open %ls: %s", name, dp_last_error_message())) {
        ReleaseSemaphore(sync.ready, 1, NULL);
        r = dpgl_acquire(p, 10000, &tex, &first);
        if (ok(r == DP_OK, "first acquire: %s (%s)", dp_result_string(r), dp_last_error_message()))
            dpgl_release(p);
        dp11_shutdown();
        ok(dp_last_error() == DP_ERROR_INVALID_ARGUMENT, "dp11_shutdown with a feed open: %s (%s)",
           dp_result_string(dp_last_error()), dp_last_error_message());
        ok(dp11_get_device() != NULL, "dp11_shutdown released the device under the feed");
        r = dpgl_acquire(p, 10000, &tex, &later);
        ok(r == DP_OK && later > first, "acquire after the refused shutdown: %s, frame %llu after %llu (%s)",
           dp_result_string(r), (unsigned long long)later, (unsigned long long)first, dp_last_error_message());
        if (r == DP_OK) {
            int tw, th;
            gl_check_texture(tex, later, true, &tw, &th);
            dpgl_release(p);
        }
        ReleaseSemaphore(sync.done, 1, NULL);
        dpgl_close(p);
        dp11_shutdown();
        ok(dp11_get_device() == NULL, "dp11_shutdown after dpgl_close kept its device");
    }
    gl_wait(&c, 60000, "D3D12 producer");
    gl_sync_close(&sync);
    gu_window_destroy(&w);
}

/* The same on the GPU transport, the case the feed exists for: the port's shared D3D11
 * textures read back (forced even where interop would bind them). */
DP_TEST(gl_consumer_of_a_gpu_transport_port_through_the_d3d11_feed)
{
    DPT_REQUIRE(DPCAP_NT_SHARING);
    gl_from_d3d12_served("feedgpu", GL_W, GL_H, GL_SERVED_BY_FEED_GPU);
}

/* A frame of over a MiB is copied by the host workers in bands across threads (three
 * helpers asked for, whatever the machine's processors): an odd width (a D3D12 row pitch
 * wider than the row) and an odd row count check the bands' edges byte for byte (the
 * pattern differs row to row). The child inherits the setting. */
DP_TEST(gl_from_d3d12_producer_large_odd_frame)
{
    SetEnvironmentVariableA("DIRECTPORT_COPY_HELPERS", "3");
    gl_from_d3d12("fromd3d12big", 1001, 347);
    SetEnvironmentVariableA("DIRECTPORT_COPY_HELPERS", NULL);
}

/* argv: role name w h -> a D3D12 consumer of a GL producer: the texture's row 0 is the
 * producer's top band. */
DP_CHILD(gl_d3d12_consumer)
{
    gl_sync sync;
    DP_HANDLE h = NULL;
    tu_gpu g;
    uint64_t last = 0;
    long acquired = 0;
    uint32_t w, hh;
    if (argc < 4 || !dp12_init() || !tu_gpu_init(&g))
        return 2;
    w = (uint32_t)wcstoul(argv[2], NULL, 10);
    hh = (uint32_t)wcstoul(argv[3], NULL, 10);
    gl_sync_open(&sync, argv[1]);
    for (ULONGLONG start = GetTickCount64(); !h && GetTickCount64() - start < 20000; Sleep(10))
        h = dp12_open_port(argv[1]);
    if (!ok(h != NULL, "dp12_open_port %ls: %s", argv[1], dp_last_error_message()))
        return 1;
    ReleaseSemaphore(sync.ready, 1, NULL);
    for (;;) {
        ID3D12Resource *tex = NULL;
        D3D12_RESOURCE_DESC desc;
        uint8_t *px = NULL;
        uint32_t pitch = 0;
        uint64_t frame = 0;
        char why[512] = "";
        DP_RESULT r = dp12_acquire_frame(h, g.queue, 2000, &tex, &frame);
        if (r == DP_ERROR_TIMEOUT && WaitForSingleObject(sync.finished, 0) == WAIT_OBJECT_0)
            break;
        if (!ok(r == DP_OK, "acquire after %llu: %s (%s)", (unsigned long long)last, dp_result_string(r),
                dp_last_error_message()))
            break;
        ok(frame > last, "frame %llu after %llu", (unsigned long long)frame, (unsigned long long)last);
        tex->lpVtbl->GetDesc(tex, &desc);
        if (ok(desc.Width == w && desc.Height == hh && desc.Format == DXGI_FORMAT_B8G8R8A8_UNORM,
               "frame %llu is %llux%u format %d, expected %ux%u BGRA8", (unsigned long long)frame,
               (unsigned long long)desc.Width, desc.Height, (int)desc.Format, w, hh) &&
            ok(tu_gpu_read(&g, tex, &px, &pitch), "reading frame %llu back", (unsigned long long)frame)) {
            size_t bad;
            gu_bgra_to_rgba(px, pitch, (int)w, (int)hh);
            bad = gu_check_pattern(px, pitch, (int)w, (int)hh, frame, why, sizeof why);
            ok(bad == 0, "frame %llu: %zu wrong pixels; %s", (unsigned long long)frame, bad, why);
        }
        free(px);
        dp12_release_frame(h, g.queue);
        last = frame;
        acquired++;
        if (dptest_failures())
            break;
    }
    dptest_diag("D3D12 consumer of GL: %ld frames acquired, last %llu", acquired, (unsigned long long)last);
    ok(acquired >= 10, "only %ld frames acquired", acquired);
    ReleaseSemaphore(sync.done, 1, NULL);
    gl_sync_close(&sync);
    tu_gpu_free(&g);
    dp12_close(h);
    dp12_shutdown();
    return dptest_failures() ? 1 : 0;
}

/* This process's GL producer (w x h) into a D3D12 consumer child. */
static void gl_to_d3d12(const char *tag, int width, int height)
{
    wchar_t name[64];
    gl_sync sync;
    gl_producer_args a = {0};
    dptest_child c;
    gl_name(name, 64, tag);
    gl_sync_create(&sync, name);
    c = dptest_spawn(L"gl_d3d12_consumer %ls %d %d", name, width, height);
    a.name = name;
    a.frames = 120;
    a.pace_ms = 3;
    a.w = a.w2 = width;
    a.h = a.h2 = height;
    a.consumers = 1;
    gl_produce(&a);
    gl_wait(&c, 60000, "D3D12 consumer");
    gl_sync_close(&sync);
}

DP_TEST(gl_to_d3d12_consumer)
{
    gl_to_d3d12("tod3d12", GL_W, GL_H);
}

/* The GL producer's flipped copy into the section, in bands across threads (see
 * gl_from_d3d12_producer_large_odd_frame). */
DP_TEST(gl_to_d3d12_consumer_large_odd_frame)
{
    SetEnvironmentVariableA("DIRECTPORT_COPY_HELPERS", "3");
    gl_to_d3d12("tod3d12big", 1001, 347);
    SetEnvironmentVariableA("DIRECTPORT_COPY_HELPERS", NULL);
}

/* The D3D11 device interop binds is on the GL context's adapter (GL_DEVICE_LUID_EXT),
 * not merely the default one: on a hybrid laptop they differ. */
DP_TEST(gl_interop_device_on_the_context_adapter)
{
    wchar_t name[64];
    gu_window w;
    DP_PORT_DESC desc;
    DPGL_PORT *p;
    DPT_REQUIRE(DPCAP_WGL_NV_DX_INTEROP2);
    DPT_REQUIRE(DPCAP_GL_EXT_MEMORY_OBJECT_WIN32);
    DPT_REQUIRE(DPCAP_NT_SHARING);
    DPT_REQUIRE(DPCAP_D3D11_FENCES);
    if (!gu_window_create(&w, 64, 64))
        skip("no WGL context: %s", gu_error());
    PFNGLGETUNSIGNEDBYTEVEXTPROC get = (PFNGLGETUNSIGNEDBYTEVEXTPROC)(void *)wglGetProcAddress("glGetUnsignedBytevEXT");
    GLubyte gl_luid[GL_LUID_SIZE_EXT] = {0};
    if (ok(get != NULL, "glGetUnsignedBytevEXT is missing although GL_EXT_memory_object_win32 is listed"))
        get(GL_DEVICE_LUID_EXT, gl_luid);
    dp11_shutdown(); /* the next device is made for this context */
    gl_name(name, 64, "interop.luid");
    desc = gl_desc(name, 64, 64, DP_TRANSPORT_GPU);
    p = dpgl_create(&desc);
    ok(p && dpgl_mode(p) == DPGL_MODE_INTEROP, "GPU-transport port: mode %d (%s)", p ? (int)dpgl_mode(p) : 0,
       dp_last_error_message());
    ID3D11Device *device = dp11_get_device();
    IDXGIDevice *dxgi = NULL;
    IDXGIAdapter *adapter = NULL;
    DXGI_ADAPTER_DESC ad;
    memset(&ad, 0, sizeof ad);
    if (device && SUCCEEDED(device->lpVtbl->QueryInterface(device, &IID_IDXGIDevice, (void **)&dxgi)) &&
        SUCCEEDED(dxgi->lpVtbl->GetAdapter(dxgi, &adapter)))
        adapter->lpVtbl->GetDesc(adapter, &ad);
    ok(!memcmp(&ad.AdapterLuid, gl_luid, sizeof ad.AdapterLuid),
       "the D3D11 device is on adapter %08lx:%08lx, the GL context on another", (unsigned long)ad.AdapterLuid.HighPart,
       (unsigned long)ad.AdapterLuid.LowPart);
    if (adapter)
        adapter->lpVtbl->Release(adapter);
    if (dxgi)
        dxgi->lpVtbl->Release(dxgi);
    dpgl_close(p);
    gu_window_destroy(&w);
    dp11_shutdown();
}

DP_TEST(gl_interop_mode)
{
    wchar_t name[64];
    gu_window w;
    DP_PORT_DESC desc;
    DPGL_PORT *probe;
    gl_producer_args a = {0};
    gl_stream s = {0};
    DPT_REQUIRE(DPCAP_WGL_NV_DX_INTEROP2);
    DPT_REQUIRE(DPCAP_NT_SHARING);
    DPT_REQUIRE(DPCAP_D3D11_FENCES);
    if (!gu_window_create(&w, 64, 64))
        skip("no WGL context: %s", gu_error());
    /* Every capability INTEROP needs is here: a port that is not INTEROP is a failure. */
    gl_name(name, 64, "interop.probe");
    desc = gl_desc(name, 64, 64, DP_TRANSPORT_GPU);
    probe = dpgl_create(&desc);
    ok(probe && dpgl_mode(probe) == DPGL_MODE_INTEROP, "GPU-transport port: %p, mode %d (%s)", (void *)probe,
       probe ? (int)dpgl_mode(probe) : 0, dp_last_error_message());
    dpgl_close(probe);
    gu_window_destroy(&w);

    a.frames = 60;
    a.pace_ms = 5;
    a.w = a.w2 = GL_W;
    a.h = a.h2 = GL_H;
    a.transport = DP_TRANSPORT_GPU;
    a.expect_mode = DPGL_MODE_INTEROP;
    s.w = GL_W;
    s.h = GL_H;
    gl_stream_from_child("interop", &a, &s);
}

DP_TEST(gl_producer_disconnect)
{
    wchar_t name[64];
    gu_window w;
    gl_sync sync;
    gl_producer_args a = {0};
    dptest_child c, c2;
    DPGL_PORT *p;
    uint64_t last = 0;
    DP_RESULT r = DP_OK;
    gl_name(name, 64, "disconnect");
    if (!gu_window_create(&w, 64, 64))
        skip("no WGL context: %s", gu_error());
    gl_sync_create(&sync, name);
    a.name = name;
    a.frames = 0; /* until killed */
    a.pace_ms = 5;
    a.w = a.w2 = 96;
    a.h = a.h2 = 64;
    a.consumers = 1;
    c = gl_spawn_producer(&a);
    p = gl_open(name);
    if (!ok(p != NULL, "dpgl_open: %s", dp_last_error_message()))
        goto out;
    ReleaseSemaphore(sync.ready, 1, NULL);
    for (int i = 0; i < 5 && r == DP_OK; i++) {
        unsigned tex = 0;
        uint64_t frame = 0;
        int tw, th;
        r = dpgl_acquire(p, 10000, &tex, &frame);
        if (!ok(r == DP_OK, "acquire %d: %s (%s)", i, dp_result_string(r), dp_last_error_message()))
            break;
        ok(frame > last, "frame %llu after %llu", (unsigned long long)frame, (unsigned long long)last);
        gl_check_texture(tex, frame, false, &tw, &th);
        dpgl_release(p);
        last = frame;
    }

    /* Killed mid-stream: the consumer hears of it instead of waiting out its timeout. */
    TerminateProcess(c.process, 9);
    WaitForSingleObject(c.process, 10000);
    dptest_wait_child(&c, 1000, NULL);
    {
        ULONGLONG start = GetTickCount64();
        for (int i = 0; i < 100 && r == DP_OK; i++) {
            unsigned tex = 0;
            uint64_t frame = 0;
            int tw, th;
            r = dpgl_acquire(p, 20000, &tex, &frame);
            if (r == DP_OK) {
                /* Frames already on their way may still come: whole, in order. */
                ok(frame > last, "frame %llu after %llu", (unsigned long long)frame, (unsigned long long)last);
                gl_check_texture(tex, frame, false, &tw, &th);
                dpgl_release(p);
                last = frame;
            }
        }
        ok(r == DP_ERROR_DISCONNECTED, "acquire after the producer was killed: %s (%s)", dp_result_string(r),
           dp_last_error_message());
        ok(GetTickCount64() - start < 15000, "DP_ERROR_DISCONNECTED took %llu ms",
           (unsigned long long)(GetTickCount64() - start));
        r = dpgl_acquire(p, 0, &(unsigned){0}, NULL);
        ok(r == DP_ERROR_DISCONNECTED, "acquire again: %s", dp_result_string(r));
    }

    /* A new producer under the same name: the same consumer goes on with its frames. */
    c2 = gl_spawn_producer(&a);
    ReleaseSemaphore(sync.ready, 1, NULL);
    r = DP_ERROR_DISCONNECTED;
    for (ULONGLONG start = GetTickCount64(); r != DP_OK && GetTickCount64() - start < 20000;) {
        unsigned tex = 0;
        uint64_t frame = 0;
        int tw, th;
        r = dpgl_acquire(p, 5000, &tex, &frame);
        if (r == DP_OK) {
            ok(frame > last, "frame %llu of the restarted producer after %llu", (unsigned long long)frame,
               (unsigned long long)last);
            gl_check_texture(tex, frame, false, &tw, &th);
            dpgl_release(p);
        } else if (!ok(r == DP_ERROR_DISCONNECTED || r == DP_ERROR_TIMEOUT, "acquire while restarting: %s",
                       dp_result_string(r))) {
            break;
        } else {
            Sleep(20);
        }
    }
    ok(r == DP_OK, "acquire from the restarted producer: %s (%s)", dp_result_string(r), dp_last_error_message());
    TerminateProcess(c2.process, 9);
    dptest_wait_child(&c2, 10000, NULL);
    dpgl_close(p);
out:
    if (c.process) {
        TerminateProcess(c.process, 9);
        dptest_wait_child(&c, 10000, NULL);
    }
    gl_sync_close(&sync);
    gu_window_destroy(&w);
}

/* A publish is followed by a pause: the frame must still arrive, though its readback
 * was not done when the publish returned (heavy drawing before it makes sure of that,
 * even on a software rasterizer). */
DP_TEST(gl_last_frame_before_a_pause_arrives)
{
    enum { W = 512, H = 512 };
    wchar_t name[64];
    DP_PORT_DESC desc;
    DPGL_PORT *prod, *cons;
    unsigned tex = 0;
    uint64_t frame = 0;
    ULONGLONG start;
    DP_RESULT r;
    gu_window w;
    if (!gu_window_create(&w, W, H))
        skip("no WGL context: %s", gu_error());
    gl_name(name, 64, "pause");
    desc = gl_desc(name, W, H, DP_TRANSPORT_HOST);
    prod = dpgl_create(&desc);
    cons = prod ? dpgl_open(name) : NULL;
    if (!ok(cons != NULL, "create/open: %s", dp_last_error_message()))
        goto out;
    glClearColor(0.0f, 0.0f, 0.0f, 1.0f);
    glClear(GL_COLOR_BUFFER_BIT);
    glEnable(GL_BLEND);
    glBlendFunc(GL_ONE, GL_ONE);
    glColor4f(0.001f, 0.001f, 0.001f, 0.0f);
    for (int i = 0; i < 3000; i++) {
        glBegin(GL_QUADS);
        glVertex2f(-1.0f, -1.0f);
        glVertex2f(1.0f, -1.0f);
        glVertex2f(1.0f, 1.0f);
        glVertex2f(-1.0f, 1.0f);
        glEnd();
    }
    glDisable(GL_BLEND);
    gu_draw_pattern(1, 0, 0, W, H);
    r = dpgl_publish_framebuffer(prod, 0, 0, 0, W, H);
    ok(r == DP_OK, "publish: %s", dp_last_error_message());
    /* No further producer call: the frame reaches the port by itself. */
    start = GetTickCount64();
    r = dpgl_acquire(cons, 5000, &tex, &frame);
    ok(r == DP_OK && frame == 1, "acquire after the pause: %s, frame %llu (%s)", dp_result_string(r),
       (unsigned long long)frame, dp_last_error_message());
    dptest_diag("the paused frame arrived after %llu ms", (unsigned long long)(GetTickCount64() - start));
    if (r == DP_OK) {
        int tw, th;
        gl_check_texture(tex, frame, false, &tw, &th);
        dpgl_release(cons);
    }
out:
    dpgl_close(cons);
    dpgl_close(prod);
    gu_window_destroy(&w);
}
