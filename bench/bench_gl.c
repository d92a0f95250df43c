/*
 * bench_gl.c - the OpenGL children of dpbench.exe: the baseline and DirectPort GL
 * producers and consumers, and the floors probe.
 *
 * Every GL child makes a hidden window with a wglCreateContext context (the default
 * framebuffer is not used: frames are rendered into a framebuffer object of the run's
 * size, which an engine's loop would equally publish).
 */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <GL/gl.h>
#include <GL/glext.h>

#include "adapters/gl/dpgl.h"

/* The client format of every full-frame transfer, the baseline's and the floors' as
 * DirectPort's: a DP_FORMAT_VIDEO port moves its rows as B, G, R, A. */
#define BENCH_GL_PIXELS GL_BGRA

/* ---- context and entry points ---------------------------------------------------------- */

static PFNGLGENFRAMEBUFFERSPROC pglGenFramebuffers;
static PFNGLDELETEFRAMEBUFFERSPROC pglDeleteFramebuffers;
static PFNGLBINDFRAMEBUFFERPROC pglBindFramebuffer;
static PFNGLFRAMEBUFFERTEXTURE2DPROC pglFramebufferTexture2D;
static PFNGLCHECKFRAMEBUFFERSTATUSPROC pglCheckFramebufferStatus;
static PFNGLFENCESYNCPROC pglFenceSync;
static PFNGLCLIENTWAITSYNCPROC pglClientWaitSync;
static PFNGLDELETESYNCPROC pglDeleteSync;
static PFNGLGENBUFFERSPROC pglGenBuffers;
static PFNGLBINDBUFFERPROC pglBindBuffer;
static PFNGLBUFFERDATAPROC pglBufferData;

typedef struct {
    HWND hwnd;
    HDC dc;
    HGLRC rc;
} bench_gl;

static LRESULT CALLBACK bench_wndproc(HWND hwnd, UINT msg, WPARAM wp, LPARAM lp)
{
    return DefWindowProcW(hwnd, msg, wp, lp);
}

static bool bench_load(const char *name, void *out)
{
    PROC p = wglGetProcAddress(name);
    if ((uintptr_t)p <= 3 || (intptr_t)p == -1)
        return false;
    memcpy(out, &p, sizeof(p));
    return true;
}

static bool bench_gl_init(bench_gl *g, char *err)
{
    WNDCLASSEXW wc = {0};
    PIXELFORMATDESCRIPTOR pfd = {0};
    int format;
    memset(g, 0, sizeof(*g));
    wc.cbSize = sizeof(wc);
    wc.style = CS_OWNDC;
    wc.lpfnWndProc = bench_wndproc;
    wc.hInstance = GetModuleHandleW(NULL);
    wc.lpszClassName = L"dpbench.gl";
    RegisterClassExW(&wc);
    g->hwnd = CreateWindowExW(WS_EX_TOOLWINDOW, wc.lpszClassName, L"dpbench", WS_POPUP, 0, 0, 64, 64, NULL, NULL,
                              wc.hInstance, NULL);
    g->dc = g->hwnd ? GetDC(g->hwnd) : NULL;
    pfd.nSize = sizeof(pfd);
    pfd.nVersion = 1;
    pfd.dwFlags = PFD_DRAW_TO_WINDOW | PFD_SUPPORT_OPENGL | PFD_DOUBLEBUFFER;
    pfd.iPixelType = PFD_TYPE_RGBA;
    pfd.cColorBits = 32;
    pfd.cAlphaBits = 8;
    pfd.iLayerType = PFD_MAIN_PLANE;
    format = g->dc ? ChoosePixelFormat(g->dc, &pfd) : 0;
    if (!format || !SetPixelFormat(g->dc, format, &pfd)) {
        bench_error(err, "no window or pixel format for GL (%lu)", GetLastError());
        return false;
    }
    g->rc = wglCreateContext(g->dc);
    if (!g->rc || !wglMakeCurrent(g->dc, g->rc)) {
        bench_error(err, "wglCreateContext/wglMakeCurrent failed (%lu)", GetLastError());
        return false;
    }
    if (!bench_load("glGenFramebuffers", &pglGenFramebuffers) ||
        !bench_load("glDeleteFramebuffers", &pglDeleteFramebuffers) ||
        !bench_load("glBindFramebuffer", &pglBindFramebuffer) ||
        !bench_load("glFramebufferTexture2D", &pglFramebufferTexture2D) ||
        !bench_load("glCheckFramebufferStatus", &pglCheckFramebufferStatus) ||
        !bench_load("glFenceSync", &pglFenceSync) || !bench_load("glClientWaitSync", &pglClientWaitSync) ||
        !bench_load("glDeleteSync", &pglDeleteSync) || !bench_load("glGenBuffers", &pglGenBuffers) ||
        !bench_load("glBindBuffer", &pglBindBuffer) || !bench_load("glBufferData", &pglBufferData)) {
        bench_error(err, "GL %s lacks framebuffer objects or sync objects", (const char *)glGetString(GL_VERSION));
        return false;
    }
    return true;
}

static void bench_gl_free(bench_gl *g)
{
    if (g->rc) {
        wglMakeCurrent(NULL, NULL);
        wglDeleteContext(g->rc);
    }
    if (g->dc)
        ReleaseDC(g->hwnd, g->dc);
    if (g->hwnd)
        DestroyWindow(g->hwnd);
}

/* An RGBA8 texture of w x h (left bound). */
static GLuint bench_texture(uint32_t w, uint32_t h)
{
    GLuint t = 0;
    glGenTextures(1, &t);
    glBindTexture(GL_TEXTURE_2D, t);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_NEAREST);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_NEAREST);
    glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA8, (GLsizei)w, (GLsizei)h, 0, GL_RGBA, GL_UNSIGNED_BYTE, NULL);
    return t;
}

/* A framebuffer object around texture (left bound for drawing and reading); 0 if incomplete. */
static GLuint bench_fbo(GLuint texture)
{
    GLuint f = 0;
    pglGenFramebuffers(1, &f);
    pglBindFramebuffer(GL_FRAMEBUFFER, f);
    pglFramebufferTexture2D(GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, GL_TEXTURE_2D, texture, 0);
    if (pglCheckFramebufferStatus(GL_FRAMEBUFFER) != GL_FRAMEBUFFER_COMPLETE) {
        pglDeleteFramebuffers(1, &f);
        return 0;
    }
    return f;
}

/* The producer's frame seq into the bound framebuffer: a full clear (the "render") and
 * the stamp in the top row's first pixels (GL row h - 1). */
static void bench_render(uint32_t seq, uint32_t w, uint32_t h)
{
    glDisable(GL_SCISSOR_TEST);
    glClearColor((float)(seq % 7) / 7.0f, 0.25f, 0.5f, 1.0f);
    glClear(GL_COLOR_BUFFER_BIT);
    glEnable(GL_SCISSOR_TEST);
    glScissor(0, (GLint)h - 1, BENCH_STAMP_PIXELS, 1);
    glClearColor((float)(seq & 255) / 255.0f, (float)((seq >> 8) & 255) / 255.0f,
                 (float)((seq >> 16) & 255) / 255.0f, 1.0f);
    glClear(GL_COLOR_BUFFER_BIT);
    glDisable(GL_SCISSOR_TEST);
    (void)w;
}

/* Reads the stamp at GL row `row` of the framebuffer bound for reading; the call
 * returns once every earlier GL command touching it (the upload) is done. */
static uint32_t bench_read_stamp(GLint row)
{
    uint8_t px[4 * BENCH_STAMP_PIXELS] = {0};
    glPixelStorei(GL_PACK_ALIGNMENT, 1);
    glReadPixels(0, row, BENCH_STAMP_PIXELS, 1, GL_RGBA, GL_UNSIGNED_BYTE, px);
    return bench_stamp_seq(px);
}

static uint64_t bench_copied(void)
{
    DP_STATS st;
    return dp_get_stats(&st) ? st.bytes_copied_cpu : 0;
}

/* ---- the baseline's shared memory ---------------------------------------------------------- */

/* Header of the baseline section, pixels follow at offset 64. A seqlock tells a
 * consumer whether the producer rewrote the frame while it was being uploaded. */
typedef struct {
    volatile LONG64 seq_begin, seq_end;
} bench_base_header;
#define BENCH_BASE_OFFSET 64u

static void bench_base_names(const bench_shared *s, wchar_t *px, wchar_t *ev)
{
    swprintf(px, 128, L"Local\\dpbench.%ls.px", s->port);
    swprintf(ev, 128, L"Local\\dpbench.%ls.ev", s->port);
}

/* ---- producer ------------------------------------------------------------------------------ */

int bench_gl_producer(bench_shared *s)
{
    const uint32_t w = s->width, h = s->height, total = s->warmup + s->frames;
    const size_t size = (size_t)w * h * 4;
    bench_gl g;
    GLuint tex, fbo;
    DPGL_PORT *port = NULL;
    HANDLE section = NULL, event = NULL;
    uint8_t *view = NULL, *priv = NULL;
    uint64_t bytes0 = 0, own_bytes = 0;
    int64_t next = 0;
    GLsync inflight[BENCH_FRAME_LATENCY] = {0};
    int rc = 1;

    if (!bench_gl_init(&g, s->producer_error))
        goto out;
    tex = bench_texture(w, h);
    fbo = bench_fbo(tex);
    if (!fbo) {
        bench_error(s->producer_error, "incomplete %ux%u framebuffer", w, h);
        goto out;
    }
    bytes0 = bench_copied();
    if (s->kind == BENCH_BASELINE) {
        wchar_t px[128], ev[128];
        bench_base_names(s, px, ev);
        section = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0,
                                     (DWORD)(BENCH_BASE_OFFSET + size), px);
        event = CreateEventW(NULL, FALSE, FALSE, ev);
        view = section ? MapViewOfFile(section, FILE_MAP_ALL_ACCESS, 0, 0, 0) : NULL;
        priv = malloc(size);
        if (!view || !event || !priv) {
            bench_error(s->producer_error, "baseline section/event (%lu)", GetLastError());
            goto out;
        }
        memset(priv, 0, size);
        memset(view, 0, BENCH_BASE_OFFSET + size);
        strcpy(s->transport, "shared memory");
    } else {
        DP_PORT_DESC d = {0};
        d.name = s->port;
        d.width = w;
        d.height = h;
        port = dpgl_create(&d);
        if (!port) {
            bench_error(s->producer_error, "dpgl_create: %s", dp_last_error_message());
            goto out;
        }
        strcpy(s->transport, dp_get_transport(dpgl_port(port)) == DP_TRANSPORT_GPU ? "gpu" : "host");
        strcat(s->transport, dpgl_mode(port) == DPGL_MODE_INTEROP ? "/interop" : "/copy");
    }
    InterlockedExchange(&s->producer_ready, 1);
    if (!bench_wait_count(s, &s->consumers_ready, (LONG)s->consumers, 60000)) {
        bench_error(s->producer_error, "the consumers did not get ready");
        goto out;
    }
    pglBindFramebuffer(GL_FRAMEBUFFER, fbo);
    glViewport(0, 0, (GLsizei)w, (GLsizei)h);
    glPixelStorei(GL_PACK_ALIGNMENT, 4);
    for (uint32_t seq = 1; seq <= total && !s->abort; seq++) {
        int64_t t0, t1;
        double cpu0;
        GLsync *done = &inflight[seq % BENCH_FRAME_LATENCY];
        bench_sleep_until(bench_pace(s, &next));
        /* What SwapBuffers does for a real loop: at most BENCH_FRAME_LATENCY frames
         * queued on the GPU. Not timed. */
        if (*done) {
            pglClientWaitSync(*done, GL_SYNC_FLUSH_COMMANDS_BIT, 2000000000ull);
            pglDeleteSync(*done);
            *done = NULL;
        }
        bench_render(seq, w, h);
        if (s->settle)
            glFinish(); /* --settle: the frame is rendered before it is published */
        cpu0 = bench_thread_cpu();
        t0 = bench_qpc();
        s->publish_qpc[seq] = t0;
        if (seq == s->warmup + 1)
            s->producer_start_qpc = t0;
        if (port) {
            DP_RESULT r = dpgl_publish_framebuffer(port, fbo, 0, 0, (int)w, (int)h);
            t1 = bench_qpc();
            if (r != DP_OK && r != DP_ERROR_BUSY) {
                bench_error(s->producer_error, "dpgl_publish_framebuffer: %s", dp_last_error_message());
                goto out;
            }
            bench_record_publish(s, seq, t1 - t0, r == DP_ERROR_BUSY, bench_thread_cpu() - cpu0);
        } else {
            bench_base_header *hd = (bench_base_header *)view;
            glReadPixels(0, 0, (GLsizei)w, (GLsizei)h, BENCH_GL_PIXELS, GL_UNSIGNED_BYTE, priv);
            InterlockedExchange64(&hd->seq_begin, seq);
            memcpy(view + BENCH_BASE_OFFSET, priv, size);
            InterlockedExchange64(&hd->seq_end, seq);
            SetEvent(event);
            t1 = bench_qpc();
            own_bytes += size;
            bench_record_publish(s, seq, t1 - t0, false, bench_thread_cpu() - cpu0);
        }
        /* The end of the engine's frame (SwapBuffers would flush too); not timed. */
        *done = pglFenceSync(GL_SYNC_GPU_COMMANDS_COMPLETE, 0);
        glFlush();
    }
    for (uint32_t i = 0; i < BENCH_FRAME_LATENCY; i++)
        if (inflight[i])
            pglDeleteSync(inflight[i]);
    s->producer_end_qpc = bench_qpc();
    InterlockedExchange(&s->producer_done, 1);
    /* Keep the port up until the consumers have what they will get. */
    bench_wait_count(s, &s->consumers_done, (LONG)s->consumers, 30000);
    rc = 0;
out:
    InterlockedExchange(&s->producer_done, 1);
    if (rc)
        fprintf(stderr, "dpbench: producer: %s\n", s->producer_error);
    if (port)
        dpgl_close(port); /* stops the worker: its counts are final */
    s->producer_bytes = port ? bench_copied() - bytes0 : own_bytes;
    if (view)
        UnmapViewOfFile(view);
    if (section)
        CloseHandle(section);
    if (event)
        CloseHandle(event);
    free(priv);
    bench_gl_free(&g);
    return rc;
}

/* ---- consumer ------------------------------------------------------------------------------ */

/* Idle: acquire in a loop for idle_ms on a port that publishes nothing; the process's CPU
 * time over that window. */
static void bench_gl_idle(bench_shared *s, bench_consumer *c, DPGL_PORT *port)
{
    int64_t start = bench_qpc(), end = start + s->qpc_freq * s->idle_ms / 1000;
    double cpu0 = bench_process_cpu();
    while (bench_qpc() < end && !s->abort) {
        unsigned texture = 0;
        if (dpgl_acquire(port, 1000, &texture, NULL) == DP_OK)
            dpgl_release(port);
    }
    c->idle_cpu_s = bench_process_cpu() - cpu0;
    c->idle_wall_s = bench_ms(s, bench_qpc() - start) / 1000.0;
}

int bench_gl_consumer(bench_shared *s, uint32_t index)
{
    bench_consumer *c = &s->consumer[index];
    const uint32_t w = s->width, h = s->height;
    bench_gl g;
    DPGL_PORT *port = NULL;
    HANDLE section = NULL, event = NULL;
    uint8_t *view = NULL;
    GLuint tex = 0, fbo = 0, fbo_tex = 0;
    uint64_t bytes0 = 0;
    int64_t last_frame_qpc;
    int rc = 1;

    if (!bench_gl_init(&g, c->error))
        goto out;
    if (!bench_wait_count(s, &s->producer_ready, 1, 60000)) {
        bench_error(c->error, "the producer did not get ready: %s", s->producer_error);
        goto out;
    }
    bytes0 = bench_copied();
    if (s->kind == BENCH_BASELINE) {
        wchar_t px[128], ev[128];
        bench_base_names(s, px, ev);
        section = OpenFileMappingW(FILE_MAP_READ, FALSE, px);
        event = OpenEventW(SYNCHRONIZE, FALSE, ev);
        view = section ? MapViewOfFile(section, FILE_MAP_READ, 0, 0, 0) : NULL;
        if (!view || !event) {
            bench_error(c->error, "opening the baseline section/event (%lu)", GetLastError());
            goto out;
        }
        tex = bench_texture(w, h);
        fbo = bench_fbo(tex);
        fbo_tex = tex;
    } else {
        port = dpgl_open(s->port);
        if (!port) {
            bench_error(c->error, "dpgl_open: %s", dp_last_error_message());
            goto out;
        }
    }
    InterlockedIncrement(&s->consumers_ready);
    if (!s->frames) {
        bench_calibrate_cpu(c, 200);
        bench_gl_idle(s, c, port);
        rc = 0;
        goto out;
    }
    last_frame_qpc = bench_qpc();
    for (;;) {
        uint32_t seq;
        if (port) {
            unsigned texture = 0;
            DP_RESULT r = dpgl_acquire(port, 200, &texture, NULL);
            if (r == DP_ERROR_TIMEOUT || r == DP_ERROR_DISCONNECTED) {
                if (bench_consumer_should_stop(s, last_frame_qpc) || r == DP_ERROR_DISCONNECTED)
                    break;
                continue;
            }
            if (r != DP_OK) {
                bench_error(c->error, "dpgl_acquire: %s", dp_last_error_message());
                goto out;
            }
            if (texture != fbo_tex) {
                if (fbo)
                    pglDeleteFramebuffers(1, &fbo);
                fbo = bench_fbo(texture);
                fbo_tex = texture;
            }
            pglBindFramebuffer(GL_FRAMEBUFFER, fbo);
            seq = bench_read_stamp(0); /* the port's texture: v = 0 is the top row */
            last_frame_qpc = bench_qpc();
            dpgl_release(port);
        } else {
            const bench_base_header *hd = (const bench_base_header *)view;
            LONG64 end;
            if (WaitForSingleObject(event, 200) != WAIT_OBJECT_0) {
                if (bench_consumer_should_stop(s, last_frame_qpc))
                    break;
                continue;
            }
            end = hd->seq_end; /* a read-only view: no interlocked reads */
            MemoryBarrier();
            glBindTexture(GL_TEXTURE_2D, tex);
            glPixelStorei(GL_UNPACK_ALIGNMENT, 4);
            glTexSubImage2D(GL_TEXTURE_2D, 0, 0, 0, (GLsizei)w, (GLsizei)h, BENCH_GL_PIXELS, GL_UNSIGNED_BYTE,
                            view + BENCH_BASE_OFFSET);
            /* The client memory is consumed by now: a producer that began another frame
             * meanwhile has torn this one. */
            MemoryBarrier();
            if (hd->seq_begin != end)
                c->torn++;
            pglBindFramebuffer(GL_FRAMEBUFFER, fbo);
            seq = bench_read_stamp((GLint)h - 1); /* GL convention: the top row is the last */
            last_frame_qpc = bench_qpc();
        }
        c->acquired++;
        if (bench_consumer_got(s, c, seq, last_frame_qpc))
            break;
    }
    rc = 0;
out:
    if (rc)
        fprintf(stderr, "dpbench: consumer %u: %s\n", index, c->error);
    if (port)
        dpgl_close(port); /* stops the worker: its counts are final */
    c->bytes_copied = bench_copied() - bytes0;
    if (view)
        UnmapViewOfFile(view);
    if (section)
        CloseHandle(section);
    if (event)
        CloseHandle(event);
    bench_gl_free(&g);
    return rc;
}

/* ---- floors -------------------------------------------------------------------------------- */

static int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double bench_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), bench_cmp_double);
    return v[n / 2];
}

int bench_gl_floors(bench_shared *s)
{
    const uint32_t w = s->width, h = s->height;
    const size_t size = (size_t)w * h * 4;
    const int reps = w * h > 4000000 ? 15 : 31;
    double t[31];
    uint8_t *a = malloc(size), *b = malloc(size);
    bench_gl g;
    GLuint tex, fbo, up;
    int rc = 1;

    if (!a || !b || !bench_gl_init(&g, s->producer_error))
        goto out;
    snprintf(s->gl_renderer, sizeof(s->gl_renderer), "%s", (const char *)glGetString(GL_RENDERER));
    snprintf(s->gl_version, sizeof(s->gl_version), "%s", (const char *)glGetString(GL_VERSION));
    memset(a, 1, size);
    memset(b, 2, size);
    /* memcpy of one frame, warm buffers */
    for (int i = -2; i < reps; i++) {
        int64_t t0 = bench_qpc();
        memcpy(b, a, size);
        if (i >= 0)
            t[i] = bench_ms(s, bench_qpc() - t0);
    }
    s->floor_memcpy_ms = bench_median(t, reps);
    /* glReadPixels of one rendered frame into client memory (synchronous) */
    tex = bench_texture(w, h);
    fbo = bench_fbo(tex);
    glViewport(0, 0, (GLsizei)w, (GLsizei)h);
    glPixelStorei(GL_PACK_ALIGNMENT, 4);
    for (int i = -2; i < reps; i++) {
        int64_t t0;
        bench_render((uint32_t)i + 3, w, h);
        glFinish();
        t0 = bench_qpc();
        glReadPixels(0, 0, (GLsizei)w, (GLsizei)h, BENCH_GL_PIXELS, GL_UNSIGNED_BYTE, a);
        if (i >= 0)
            t[i] = bench_ms(s, bench_qpc() - t0);
    }
    s->floor_readback_ms = bench_median(t, reps);
    /* the producer's frame itself: what a readback right after it waits for */
    for (int i = -2; i < reps; i++) {
        int64_t t0;
        glFinish();
        t0 = bench_qpc();
        bench_render((uint32_t)i + 3, w, h);
        glFinish();
        if (i >= 0)
            t[i] = bench_ms(s, bench_qpc() - t0);
    }
    s->floor_render_ms = bench_median(t, reps);
    /* glReadPixels into a pixel pack buffer, rendered frame: the call alone (on a GPU it
     * queues a copy; a driver that does it on the CPU returns when it is done) */
    {
        GLuint pbo = 0;
        pglGenBuffers(1, &pbo);
        pglBindBuffer(GL_PIXEL_PACK_BUFFER, pbo);
        pglBufferData(GL_PIXEL_PACK_BUFFER, (GLsizeiptr)size, NULL, GL_STREAM_READ);
        for (int i = -2; i < reps; i++) {
            int64_t t0;
            bench_render((uint32_t)i + 3, w, h);
            glFinish();
            t0 = bench_qpc();
            glReadPixels(0, 0, (GLsizei)w, (GLsizei)h, BENCH_GL_PIXELS, GL_UNSIGNED_BYTE, NULL);
            if (i >= 0)
                t[i] = bench_ms(s, bench_qpc() - t0);
            glFinish();
        }
        s->floor_readback_pbo_ms = bench_median(t, reps);
        pglBindBuffer(GL_PIXEL_PACK_BUFFER, 0);
    }
    (void)fbo;
    /* glTexSubImage2D of one frame from client memory, until the GPU has it (glFinish) */
    up = bench_texture(w, h);
    glPixelStorei(GL_UNPACK_ALIGNMENT, 4);
    for (int i = -2; i < reps; i++) {
        int64_t t0;
        glFinish();
        t0 = bench_qpc();
        glBindTexture(GL_TEXTURE_2D, up);
        glTexSubImage2D(GL_TEXTURE_2D, 0, 0, 0, (GLsizei)w, (GLsizei)h, BENCH_GL_PIXELS, GL_UNSIGNED_BYTE, a);
        glFinish();
        if (i >= 0)
            t[i] = bench_ms(s, bench_qpc() - t0);
    }
    s->floor_upload_ms = bench_median(t, reps);
    rc = 0;
    bench_gl_free(&g);
out:
    if (rc)
        fprintf(stderr, "dpbench: floors: %s\n", s->producer_error);
    free(a);
    free(b);
    return rc;
}
