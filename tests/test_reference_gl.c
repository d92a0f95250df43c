/*
 * test_reference_gl.c - the reference's formats through this library's own calls:
 * DP_FORMAT_VIDEO is B, G, R, A with the top row first between GL and D3D12 in both
 * directions, and dp12_upload_bgra in a port that also uses the frame protocol.
 * (test_reference.c is the reference callers' own view; these cases need directport.h,
 * the GL adapter and D3D12.)
 *
 * A frame is two colours: the top REF_TOP_ROWS rows one, the rest another; each given as
 * R, G, B, A. GL writes and reads them as RGBA; the D3D12 side sees their bytes B, G, R, A.
 */
#include "glutil.h"
#include "d3d12util.h"
#include "adapters/gl/dpgl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capabilities.h"
#include "dptest.h"

#define REF_W 64
#define REF_H 32
#define REF_TOP_ROWS 4

static const uint8_t ref_top[4] = {0x10, 0x80, 0xF0, 0x40};    /* R, G, B, A */
static const uint8_t ref_bottom[4] = {0xF0, 0x08, 0x10, 0xC0}; /* R, G, B, A */

static void ref_gl_name(wchar_t *out, size_t cap, const char *what)
{
    swprintf(out, cap, L"refgl.%hs.%lu", what, (unsigned long)GetCurrentProcessId());
}

/* Rows of w x h pixels, `pitch` apart, y from the top, checked against the two colours with
 * byte order `order` (indices into R, G, B, A: {2,1,0,3} for B, G, R, A; {0,1,2,3} for RGBA). */
static size_t ref_check_rows(const uint8_t *px, size_t pitch, int w, int h, const int order[4], char *why, size_t cap)
{
    size_t bad = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            const uint8_t *c = y < REF_TOP_ROWS ? ref_top : ref_bottom, *got = px + (size_t)y * pitch + (size_t)x * 4;
            uint8_t want[4] = {c[order[0]], c[order[1]], c[order[2]], c[order[3]]};
            if (memcmp(got, want, 4) && !bad++)
                snprintf(why, cap, "pixel (%d,%d) from the top is %02x %02x %02x %02x, expected %02x %02x %02x %02x", x,
                         y, got[0], got[1], got[2], got[3], want[0], want[1], want[2], want[3]);
        }
    return bad;
}

static const int ref_bgra_order[4] = {2, 1, 0, 3};
static const int ref_rgba_order[4] = {0, 1, 2, 3};

static void ref_wait_child(dptest_child *c, const char *what)
{
    DWORD code = 99;
    bool exited = dptest_wait_child(c, 60000, &code);
    ok(exited && code == 0, "%s: %s, exit code %lu", what, exited ? "exited" : "timed out", code);
}

/* ---- GL producer -> D3D12 consumer ---------------------------------------------------------- */

/* argv: role name -> dp12_open_port, acquires a frame, checks its DXGI format and its
 * bytes as B, G, R, A with the top row first. */
DP_CHILD(ref_d3d12_reader)
{
    DP_HANDLE h = NULL;
    ID3D12Resource *tex = NULL;
    D3D12_RESOURCE_DESC desc;
    uint8_t *px = NULL;
    uint32_t pitch = 0;
    uint64_t frame = 0;
    char why[200] = "";
    tu_gpu g;
    DP_RESULT r;
    if (argc < 2 || !dp12_init() || !tu_gpu_init(&g))
        return 2;
    for (ULONGLONG start = GetTickCount64(); !h && GetTickCount64() - start < 20000; Sleep(10))
        h = dp12_open_port(argv[1]);
    if (!ok(h != NULL, "dp12_open_port %ls: %s", argv[1], dp_last_error_message()))
        return 1;
    r = dp12_acquire_frame(h, g.queue, 20000, &tex, &frame);
    if (ok(r == DP_OK, "acquire: %s (%s)", dp_result_string(r), dp_last_error_message())) {
        tex->lpVtbl->GetDesc(tex, &desc);
        ok(desc.Format == DXGI_FORMAT_B8G8R8A8_UNORM && desc.Width == REF_W && desc.Height == REF_H,
           "the texture is DXGI format %d %llux%u, expected B8G8R8A8_UNORM (87) %dx%d", (int)desc.Format,
           (unsigned long long)desc.Width, desc.Height, REF_W, REF_H);
        if (ok(tu_gpu_read(&g, tex, &px, &pitch), "reading frame %llu back", (unsigned long long)frame)) {
            size_t bad = ref_check_rows(px, pitch, REF_W, REF_H, ref_bgra_order, why, sizeof why);
            ok(bad == 0, "frame %llu as B, G, R, A, top row first: %zu wrong pixels; %s", (unsigned long long)frame, bad,
               why);
        }
        free(px);
        dp12_release_frame(h, g.queue);
    }
    tu_gpu_free(&g);
    dp12_close(h);
    dp12_shutdown();
    return dptest_failures() ? 1 : 0;
}

DP_TEST(reference_gl_producer_to_d3d12_bgra)
{
    wchar_t name[64];
    DP_PORT_DESC d = {0};
    gu_window w;
    dptest_child c;
    DPGL_PORT *p;
    GLuint tex, fbo;
    DWORD code = STILL_ACTIVE;
    ref_gl_name(name, 64, "tod3d12");
    if (!gu_window_create(&w, REF_W, REF_H))
        skip("no WGL context: %s", gu_error());
    /* An RGBA8 framebuffer object keeps the alpha the default framebuffer may not. */
    tex = gu_make_texture(REF_W, REF_H);
    fbo = gu_make_fbo(tex);
    if (!ok(fbo != 0, "no framebuffer object")) {
        gu_window_destroy(&w);
        return;
    }
    glDisable(GL_SCISSOR_TEST);
    glClearColor(ref_bottom[0] / 255.0f, ref_bottom[1] / 255.0f, ref_bottom[2] / 255.0f, ref_bottom[3] / 255.0f);
    glClear(GL_COLOR_BUFFER_BIT);
    /* GL counts rows from the bottom: the top rows are the highest. */
    glEnable(GL_SCISSOR_TEST);
    glScissor(0, REF_H - REF_TOP_ROWS, REF_W, REF_TOP_ROWS);
    glClearColor(ref_top[0] / 255.0f, ref_top[1] / 255.0f, ref_top[2] / 255.0f, ref_top[3] / 255.0f);
    glClear(GL_COLOR_BUFFER_BIT);
    glDisable(GL_SCISSOR_TEST);
    d.name = name;
    d.width = REF_W;
    d.height = REF_H;
    p = dpgl_create(&d);
    if (ok(p != NULL, "dpgl_create: %s", dp_last_error_message())) {
        c = dptest_spawn(L"ref_d3d12_reader %ls", name);
        /* Publish until the reader is done: a frame reaches the port at a later publish. */
        for (ULONGLONG start = GetTickCount64(); c.process && GetTickCount64() - start < 30000; Sleep(20)) {
            DP_RESULT r = dpgl_publish_framebuffer(p, fbo, 0, 0, REF_W, REF_H);
            ok(r == DP_OK || r == DP_ERROR_BUSY, "publish: %s (%s)", dp_result_string(r), dp_last_error_message());
            if (!GetExitCodeProcess(c.process, &code) || code != STILL_ACTIVE)
                break;
        }
        ref_wait_child(&c, "D3D12 reader");
        dpgl_close(p);
    }
    glBindFramebuffer(GL_FRAMEBUFFER, 0);
    glDeleteFramebuffers(1, &fbo);
    glDeleteTextures(1, &tex);
    gu_window_destroy(&w);
}

/* ---- D3D12 producer -> GL consumer ---------------------------------------------------------- */

/* argv: role name done -> a 1-slot DP_FORMAT_VIDEO port fed with dp12_upload_bgra until
 * the event `done` is set. */
DP_CHILD(ref_d3d12_uploader)
{
    DP_PORT_DESC d = {0};
    HANDLE done;
    DP_HANDLE h;
    uint8_t *px = malloc((size_t)REF_W * 4 * REF_H);
    uint64_t v = 0;
    if (argc < 3 || !px || !dp12_init())
        return 2;
    done = OpenEventW(SYNCHRONIZE, FALSE, argv[2]);
    d.name = argv[1];
    d.width = REF_W;
    d.height = REF_H;
    d.slots = 1;
    h = dp12_create_port(&d);
    if (!ok(h != NULL && done != NULL, "create %ls: %s", argv[1], dp_last_error_message()))
        return 1;
    for (int y = 0; y < REF_H; y++)
        for (int x = 0; x < REF_W; x++) {
            const uint8_t *c = y < REF_TOP_ROWS ? ref_top : ref_bottom;
            uint8_t *o = px + ((size_t)y * REF_W + (size_t)x) * 4;
            o[0] = c[2], o[1] = c[1], o[2] = c[0], o[3] = c[3]; /* B, G, R, A */
        }
    for (ULONGLONG start = GetTickCount64(); GetTickCount64() - start < 30000; ) {
        v++;
        if (!ok(dp12_upload_bgra(h, px, REF_W * 4, REF_W, REF_H, v), "upload %llu: %s", (unsigned long long)v,
                dp_last_error_message()))
            break;
        if (WaitForSingleObject(done, 20) == WAIT_OBJECT_0)
            break;
    }
    CloseHandle(done);
    dp12_close(h);
    dp12_shutdown();
    free(px);
    return dptest_failures() ? 1 : 0;
}

DP_TEST(reference_d3d12_upload_to_gl_bgra)
{
    wchar_t name[64], done_name[96];
    gu_window w;
    dptest_child c;
    DPGL_PORT *p = NULL;
    HANDLE done;
    ref_gl_name(name, 64, "fromd3d12");
    if (!gu_window_create(&w, 16, 16))
        skip("no WGL context: %s", gu_error());
    swprintf(done_name, 96, L"Local\\dptest.%ls.done", name);
    done = CreateEventW(NULL, TRUE, FALSE, done_name);
    c = dptest_spawn(L"ref_d3d12_uploader %ls %ls", name, done_name);
    for (ULONGLONG start = GetTickCount64(); !p && GetTickCount64() - start < 20000; Sleep(10))
        p = dpgl_open(name);
    if (ok(p != NULL, "dpgl_open %ls: %s", name, dp_last_error_message())) {
        unsigned tex = 0;
        uint64_t frame = 0;
        DP_RESULT r = dpgl_acquire(p, 20000, &tex, &frame);
        if (ok(r == DP_OK, "acquire: %s (%s)", dp_result_string(r), dp_last_error_message())) {
            GLint format = 0, bound = 0;
            int tw = 0, th = 0;
            char why[200] = "";
            uint8_t *px;
            glGetIntegerv(GL_TEXTURE_BINDING_2D, &bound);
            glBindTexture(GL_TEXTURE_2D, tex);
            glGetTexLevelParameteriv(GL_TEXTURE_2D, 0, GL_TEXTURE_INTERNAL_FORMAT, &format);
            glBindTexture(GL_TEXTURE_2D, (GLuint)bound);
            ok(format == GL_RGBA8, "internal format 0x%x, expected GL_RGBA8", (unsigned)format);
            /* Texture row 0 (v = 0) is the top row; read as RGBA. */
            px = gu_read_texture(tex, &tw, &th);
            if (ok(px && tw == REF_W && th == REF_H, "reading the texture back: %dx%d", tw, th)) {
                size_t bad = ref_check_rows(px, (size_t)tw * 4, tw, th, ref_rgba_order, why, sizeof why);
                ok(bad == 0, "frame %llu as RGBA, row 0 the top: %zu wrong pixels; %s", (unsigned long long)frame, bad,
                   why);
            }
            free(px);
            dpgl_release(p);
        }
        dpgl_close(p);
    }
    SetEvent(done);
    ref_wait_child(&c, "D3D12 uploader");
    CloseHandle(done);
    gu_window_destroy(&w);
}

/* ---- dp12_upload_bgra next to the frame protocol ---------------------------------------------- */

/* A 1-slot port takes a frame through begin/end, then uploads, then begin/end again; a
 * consumer acquires each with its pixels. */
DP_TEST(reference_upload_bgra_with_frame_protocol)
{
    wchar_t name[64];
    DP_PORT_DESC d = {0};
    DP_HANDLE prod = NULL, cons = NULL;
    uint8_t px[32 * 4 * 16];
    tu_gpu g;
    if (!dp12_init())
        skip("no D3D12 device: %s", dp_last_error_message());
    ref_gl_name(name, 64, "frames");
    d.name = name;
    d.width = 32;
    d.height = 16;
    d.slots = 1;
    if (!ok(tu_gpu_init(&g), "no queue"))
        goto done;
    prod = dp12_create_port(&d);
    cons = dp12_open_port(name);
    if (!ok(prod && cons, "create and open: %s", dp_last_error_message()))
        goto done;
    for (uint64_t v = 1; v <= 5 && !dptest_failures(); v++) {
        ID3D12Resource *target = NULL, *src = NULL;
        uint64_t frame = 0;
        uint8_t *back = NULL;
        uint32_t pitch = 0;
        DP_RESULT r;
        if (v == 1 || v == 5) {
            r = dp12_begin_frame(prod, &target);
            ok(r == DP_OK && tu_gpu_write(&g, target, 4, v), "begin_frame %llu: %s", (unsigned long long)v,
               dp_result_string(r));
            r = dp12_end_frame(prod, g.queue, &frame);
            ok(r == DP_OK && frame == v, "end_frame: %s, frame %llu", dp_result_string(r), (unsigned long long)frame);
        } else {
            tu_fill(px, 32 * 4, 32, 16, 4, v);
            ok(dp12_upload_bgra(prod, px, 32 * 4, 32, 16, v), "upload %llu: %s", (unsigned long long)v,
               dp_last_error_message());
        }
        r = dp12_acquire_frame(cons, g.queue, 10000, &src, &frame);
        if (!ok(r == DP_OK && frame == v, "acquire: %s, frame %llu, expected %llu", dp_result_string(r),
                (unsigned long long)frame, (unsigned long long)v))
            continue;
        if (ok(tu_gpu_read(&g, src, &back, &pitch), "reading frame %llu", (unsigned long long)v))
            ok(tu_count_bad(back, pitch, 32, 16, 4, v) == 0, "frame %llu (%s) is not the one published",
               (unsigned long long)v, v == 1 || v == 5 ? "begin/end" : "upload");
        free(back);
        dp12_release_frame(cons, g.queue);
    }
done:
    tu_gpu_free(&g);
    dp12_close(cons);
    dp12_close(prod);
    dp12_shutdown();
}

/* The GPU transport's upload path: more uploads than upload buffers, back to back, then
 * the last frame in a consumer's texture. Needs NT shared handles. */
DP_TEST(reference_upload_bgra_gpu_transport)
{
    wchar_t name[64];
    DP_PORT_DESC d = {0};
    DP_HANDLE prod, cons = NULL;
    uint8_t px[(61 * 4 + 20) * 37], *back = NULL;
    uint32_t pitch = 0;
    tu_gpu g = {0};
    DP_RESULT r;
    DPT_REQUIRE(DPCAP_NT_SHARING);
    if (!dp12_init())
        skip("no D3D12 device: %s", dp_last_error_message());
    ref_gl_name(name, 64, "gpuupload");
    d.name = name;
    d.width = 61;
    d.height = 37;
    d.slots = 1;
    d.transport = DP_TRANSPORT_GPU;
    prod = dp12_create_port(&d);
    if (!ok(prod != NULL, "create: %s", dp_last_error_message()) || !ok(tu_gpu_init(&g), "no queue"))
        goto done;
    cons = dp12_open_port(name);
    if (!ok(cons != NULL, "open: %s", dp_last_error_message()))
        goto done;
    for (uint64_t v = 1; v <= 10; v++) {
        tu_fill(px, 61 * 4 + 20, 61, 37, 4, v);
        ok(dp12_upload_bgra(prod, px, 61 * 4 + 20, 61, 37, v), "upload %llu: %s", (unsigned long long)v,
           dp_last_error_message());
    }
    r = dp12_cpu_wait_timeout(cons, 10, 10000);
    ok(r == DP_OK, "the consumer's fence did not reach 10: %s", dp_last_error_message());
    if (ok(tu_gpu_read(&g, dp12_get_resource(cons), &back, &pitch), "reading the consumer's texture"))
        ok(tu_count_bad(back, pitch, 61, 37, 4, 10) == 0, "the consumer's texture is not frame 10");
done:
    free(back);
    tu_gpu_free(&g);
    dp12_close(cons);
    dp12_close(prod);
    dp12_shutdown();
}

/* ---- The GL mapping of every normalised and float format ------------------------------------ */

/* A producer and a consumer port of format f on one context: a framebuffer cleared to a
 * colour goes through the port; the consumer's texture, read as RGBA floats, holds it (the
 * red channel only for the 1-channel formats, G and B 0 and A 1 there). RAW_32BIT needs an
 * integer framebuffer and is left out. */
static void ref_gl_format_round_trip(DP_FORMAT f, bool one_channel, float tolerance)
{
    static const float colour[4] = {0.25f, 0.5f, 0.75f, 1.0f};
    wchar_t name[64];
    char what[32];
    DP_PORT_DESC d = {0};
    DPGL_PORT *prod, *cons = NULL;
    GLuint tex = gu_make_texture(8, 4), fbo = gu_make_fbo(tex);
    GLenum e;
    snprintf(what, sizeof what, "fmt%d", (int)f);
    ref_gl_name(name, 64, what);
    glClearColor(colour[0], colour[1], colour[2], colour[3]);
    glClear(GL_COLOR_BUFFER_BIT);
    d.name = name;
    d.width = 8;
    d.height = 4;
    d.format = f;
    prod = dpgl_create(&d);
    if (prod)
        cons = dpgl_open(name);
    if (ok(prod && cons, "format %d: create and open: %s", (int)f, dp_last_error_message())) {
        unsigned got = 0;
        DP_RESULT r = DP_ERROR_TIMEOUT;
        for (ULONGLONG start = GetTickCount64(); r == DP_ERROR_TIMEOUT && GetTickCount64() - start < 10000;) {
            ok(dpgl_publish_framebuffer(prod, fbo, 0, 0, 8, 4) == DP_OK, "format %d: publish: %s", (int)f,
               dp_last_error_message());
            r = dpgl_acquire(cons, 50, &got, NULL);
        }
        if (ok(r == DP_OK, "format %d: acquire: %s", (int)f, dp_result_string(r))) {
            float px[8 * 4 * 4];
            GLint bound = 0;
            glGetIntegerv(GL_TEXTURE_BINDING_2D, &bound);
            glBindTexture(GL_TEXTURE_2D, got);
            glPixelStorei(GL_PACK_ALIGNMENT, 4);
            glGetTexImage(GL_TEXTURE_2D, 0, GL_RGBA, GL_FLOAT, px);
            glBindTexture(GL_TEXTURE_2D, (GLuint)bound);
            for (int c = 0; c < 4; c++) {
                float want = one_channel ? (c == 0 ? colour[0] : c == 3 ? 1.0f : 0.0f) : colour[c];
                float diff = px[c] - want, last = px[(8 * 4 - 1) * 4 + c] - want;
                ok(diff <= tolerance && diff >= -tolerance && last <= tolerance && last >= -tolerance,
                   "format %d: channel %d is %f (first pixel), %f (last), expected %f", (int)f, c, (double)px[c],
                   (double)px[(8 * 4 - 1) * 4 + c], (double)want);
            }
            dpgl_release(cons);
        }
    }
    e = glGetError();
    ok(e == GL_NO_ERROR, "format %d: GL error 0x%x", (int)f, e);
    dpgl_close(cons);
    dpgl_close(prod);
    glBindFramebuffer(GL_FRAMEBUFFER, 0);
    glDeleteFramebuffers(1, &fbo);
    glDeleteTextures(1, &tex);
}

DP_TEST(reference_gl_formats_round_trip)
{
    gu_window w;
    if (!gu_window_create(&w, 16, 16))
        skip("no WGL context: %s", gu_error());
    ref_gl_format_round_trip(DP_FORMAT_VIDEO, false, 1.0f / 255);
    ref_gl_format_round_trip(DP_FORMAT_FLOAT, true, 1.0f / 255);
    ref_gl_format_round_trip(DP_FORMAT_HALF, true, 1.0f / 255);
    ref_gl_format_round_trip(DP_FORMAT_RGBA8, false, 1.0f / 255);
    ref_gl_format_round_trip(DP_FORMAT_RGBA16F, false, 1.0f / 255);
    ref_gl_format_round_trip(DP_FORMAT_RGBA32F, false, 1.0f / 255);
    /* The framebuffer read is RGBA8: its 8-bit steps, not 10-bit ones. */
    ref_gl_format_round_trip(DP_FORMAT_RGB10A2, false, 1.0f / 255);
    gu_window_destroy(&w);
}
