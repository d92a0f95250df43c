/*
 * viewer.c - a host GL application that shows a DirectPort port in its window.
 *
 *   viewer.exe [options]
 *     --name NAME            the port (default: $DIRECTPORT_NAME, else "engine")
 *     --wait-seconds S       how long to wait for the port to appear (default 60)
 *     --frames N             exit after N received frames
 *     --until-frame F        exit once the engine frame numbered F (or a later one) is
 *                            received (the number read from the frame's marks)
 *     --timeout-seconds S    give up after S seconds in all (default: never)
 *     --snapshot FILE.png    at exit, write the last received frame, top row first
 *     --summary FILE         at exit, write key=value statistics
 *     --size WxH             window client size (default: the port's size)
 *     --pos X Y              window position
 *   viewer.exe --compare A.png B.png
 *                            compares two pictures pixel by pixel (tolerance 0): exit 0
 *                            if identical, 1 if they differ, 2 if one cannot be read
 *
 * Each frame: dpgl_acquire the newest frame of the port (its GL texture, v = 0 at the
 * top row), read the engine's marks from it (examples/engine/framestamp.h: frame number
 * and draw time), copy it into the viewer's own texture, dpgl_release, draw it as a
 * textured quad. The title shows received fps, latency, drops.
 *
 * Latency is measured from the engine's QueryPerformanceCounter value when it began
 * drawing the frame (in the marks) to the moment the frame is in the viewer's texture:
 * the whole way, plugin included. It ends at a producer that goes away, after the
 * last frame.
 *
 * Checks on every received frame: the marks are there and upright, whole (top and
 * bottom carry the same frame number) and the frame numbers increase. Any failure
 * makes the exit code 1 and is counted in the summary.
 */
#include <windows.h>
#include <shellapi.h>
#include <GL/gl.h>
#include <GL/glext.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "adapters/gl/dpgl.h"
#include "framestamp.h"
#include "pngio.h"

static struct {
    wchar_t name[DP_MAX_NAME + 1];
    double wait_seconds, timeout_seconds;
    uint32_t frames, until_frame;
    const wchar_t *snapshot, *summary;
    int width, height, x, y;
} opt = {.wait_seconds = 60, .x = CW_USEDEFAULT, .y = CW_USEDEFAULT};

static PFNGLGENFRAMEBUFFERSPROC pglGenFramebuffers;
static PFNGLDELETEFRAMEBUFFERSPROC pglDeleteFramebuffers;
static PFNGLBINDFRAMEBUFFERPROC pglBindFramebuffer;
static PFNGLFRAMEBUFFERTEXTURE2DPROC pglFramebufferTexture2D;
static PFNGLCHECKFRAMEBUFFERSTATUSPROC pglCheckFramebufferStatus;

static volatile bool g_quit;

static void usage(void)
{
    fprintf(stderr, "usage: viewer.exe [--name NAME] [--wait-seconds S] [--frames N] [--until-frame F]\n"
                    "                  [--timeout-seconds S] [--snapshot FILE.png] [--summary FILE]\n"
                    "                  [--size WxH] [--pos X Y]\n"
                    "       viewer.exe --compare A.png B.png\n");
    exit(2);
}

/* ---- --compare ------------------------------------------------------------------------------ */

static int compare(const wchar_t *a, const wchar_t *b)
{
    int aw, ah, bw, bh;
    const char *why;
    uint8_t *pa = png_read_rgba(a, &aw, &ah, &why), *pb;
    size_t differ = 0, first = 0;
    int worst = 0;
    if (!pa) {
        printf("compare: cannot read %ls: %s\n", a, why);
        return 2;
    }
    pb = png_read_rgba(b, &bw, &bh, &why);
    if (!pb) {
        printf("compare: cannot read %ls: %s\n", b, why);
        free(pa);
        return 2;
    }
    if (aw != bw || ah != bh) {
        printf("compare: sizes differ: %dx%d and %dx%d\n", aw, ah, bw, bh);
        free(pa);
        free(pb);
        return 1;
    }
    for (size_t i = 0; i < (size_t)aw * (size_t)ah; i++) {
        int d = 0;
        for (size_t c = 0; c < 4; c++) {
            int e = abs((int)pa[i * 4 + c] - (int)pb[i * 4 + c]);
            d = e > d ? e : d;
        }
        if (d) {
            if (!differ++)
                first = i;
            worst = d > worst ? d : worst;
        }
    }
    if (!differ) {
        printf("compare: identical, %dx%d (%zu pixels)\n", aw, ah, (size_t)aw * (size_t)ah);
    } else {
        const uint8_t *x = pa + first * 4, *y = pb + first * 4;
        printf("compare: %zu of %zu pixels differ (largest difference %d); first at (%d, %d): "
               "%u,%u,%u,%u and %u,%u,%u,%u\n",
               differ, (size_t)aw * (size_t)ah, worst, (int)(first % (size_t)aw), (int)(first / (size_t)aw), x[0],
               x[1], x[2], x[3], y[0], y[1], y[2], y[3]);
    }
    free(pa);
    free(pb);
    return differ ? 1 : 0;
}

/* ---- arguments -------------------------------------------------------------------------------- */

static void parse_args(int argc, wchar_t **argv)
{
    DWORD n = GetEnvironmentVariableW(L"DIRECTPORT_NAME", opt.name, DP_MAX_NAME + 1);
    if (n == 0 || n > DP_MAX_NAME)
        wcscpy(opt.name, L"engine");
    if (argc == 4 && !wcscmp(argv[1], L"--compare"))
        exit(compare(argv[2], argv[3]));
    for (int i = 1; i < argc; i++) {
        const wchar_t *a = argv[i];
        bool more = i + 1 < argc;
        if (!wcscmp(a, L"--name") && more) {
            if (wcslen(argv[++i]) > DP_MAX_NAME)
                usage();
            wcscpy(opt.name, argv[i]);
        } else if (!wcscmp(a, L"--wait-seconds") && more) {
            opt.wait_seconds = wcstod(argv[++i], NULL);
        } else if (!wcscmp(a, L"--timeout-seconds") && more) {
            opt.timeout_seconds = wcstod(argv[++i], NULL);
        } else if (!wcscmp(a, L"--frames") && more) {
            opt.frames = (uint32_t)wcstoul(argv[++i], NULL, 10);
        } else if (!wcscmp(a, L"--until-frame") && more) {
            opt.until_frame = (uint32_t)wcstoul(argv[++i], NULL, 10);
        } else if (!wcscmp(a, L"--snapshot") && more) {
            opt.snapshot = argv[++i];
        } else if (!wcscmp(a, L"--summary") && more) {
            opt.summary = argv[++i];
        } else if (!wcscmp(a, L"--size") && more) {
            if (swscanf(argv[++i], L"%dx%d", &opt.width, &opt.height) != 2 || opt.width <= 0 || opt.height <= 0)
                usage();
        } else if (!wcscmp(a, L"--pos") && i + 2 < argc) {
            opt.x = _wtoi(argv[++i]);
            opt.y = _wtoi(argv[++i]);
        } else {
            usage();
        }
    }
}

/* ---- window ----------------------------------------------------------------------------------- */

static const DWORD STYLE = WS_OVERLAPPEDWINDOW;

static LRESULT CALLBACK wndproc(HWND hwnd, UINT msg, WPARAM wp, LPARAM lp)
{
    switch (msg) {
    case WM_CLOSE:
        g_quit = true;
        return 0;
    case WM_ERASEBKGND:
        return 1;
    default:
        return DefWindowProcW(hwnd, msg, wp, lp);
    }
}

static void set_client_size(HWND hwnd, int w, int h)
{
    RECT r = {0, 0, w, h};
    AdjustWindowRectEx(&r, STYLE, FALSE, 0);
    SetWindowPos(hwnd, NULL, 0, 0, r.right - r.left, r.bottom - r.top, SWP_NOMOVE | SWP_NOZORDER | SWP_NOACTIVATE);
}

static void (*gl_proc(const char *name))(void)
{
    PROC p = wglGetProcAddress(name);
    if ((uintptr_t)p <= 3 || (intptr_t)p == -1)
        return NULL;
    return (void (*)(void))p;
}

static HWND make_window(HDC *dc, HGLRC *rc)
{
    WNDCLASSEXW wc = {0};
    PIXELFORMATDESCRIPTOR pfd = {0};
    RECT r = {0, 0, opt.width ? opt.width : 640, opt.height ? opt.height : 360};
    HWND hwnd;
    int format;
    wc.cbSize = sizeof wc;
    wc.style = CS_OWNDC;
    wc.lpfnWndProc = wndproc;
    wc.hInstance = GetModuleHandleW(NULL);
    wc.hCursor = LoadCursor(NULL, IDC_ARROW);
    wc.lpszClassName = L"DirectPortViewer";
    if (!RegisterClassExW(&wc))
        return NULL;
    AdjustWindowRectEx(&r, STYLE, FALSE, 0);
    hwnd = CreateWindowExW(0, wc.lpszClassName, L"DirectPort viewer", STYLE, opt.x, opt.y, r.right - r.left,
                           r.bottom - r.top, NULL, NULL, wc.hInstance, NULL);
    if (!hwnd)
        return NULL;
    *dc = GetDC(hwnd);
    pfd.nSize = sizeof pfd;
    pfd.nVersion = 1;
    pfd.dwFlags = PFD_DRAW_TO_WINDOW | PFD_SUPPORT_OPENGL | PFD_DOUBLEBUFFER;
    pfd.iPixelType = PFD_TYPE_RGBA;
    pfd.cColorBits = 32;
    pfd.cAlphaBits = 8;
    pfd.iLayerType = PFD_MAIN_PLANE;
    format = ChoosePixelFormat(*dc, &pfd);
    if (!format || !SetPixelFormat(*dc, format, &pfd) || !(*rc = wglCreateContext(*dc)) ||
        !wglMakeCurrent(*dc, *rc))
        return NULL;
    /* Function pointers of different types: copied, not cast through a pointer. */
#define LOAD(var, name)                        \
    do {                                       \
        void (*f_)(void) = gl_proc(name);      \
        memcpy(&var, &f_, sizeof f_);          \
        if (!var)                              \
            return NULL;                       \
    } while (0)
    LOAD(pglGenFramebuffers, "glGenFramebuffers");
    LOAD(pglDeleteFramebuffers, "glDeleteFramebuffers");
    LOAD(pglBindFramebuffer, "glBindFramebuffer");
    LOAD(pglFramebufferTexture2D, "glFramebufferTexture2D");
    LOAD(pglCheckFramebufferStatus, "glCheckFramebufferStatus");
#undef LOAD
    ShowWindow(hwnd, SW_SHOWNOACTIVATE);
    return hwnd;
}

static bool pump(void)
{
    MSG msg;
    while (PeekMessageW(&msg, NULL, 0, 0, PM_REMOVE)) {
        TranslateMessage(&msg);
        DispatchMessageW(&msg);
    }
    return !g_quit;
}

/* ---- statistics -------------------------------------------------------------------------------- */

typedef struct {
    double *v;
    size_t n, cap;
} samples;

static void sample_add(samples *s, double x)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1024;
        double *v = realloc(s->v, cap * sizeof *v);
        if (!v)
            return;
        s->v = v, s->cap = cap;
    }
    s->v[s->n++] = x;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double percentile(samples *s, double p)
{
    size_t i;
    if (!s->n)
        return 0;
    qsort(s->v, s->n, sizeof *s->v, cmp_double);
    i = (size_t)(p * (double)(s->n - 1) + 0.5);
    return s->v[i < s->n ? i : s->n - 1];
}

/* ---- main ------------------------------------------------------------------------------------- */

typedef struct {
    uint64_t received, bad, out_of_order, skipped, unmarked;
    uint32_t first_frame, last_frame; /* engine frame numbers, from the marks */
    bool have_frame;
    uint64_t last_port_frame;         /* the port's frame value of the last received frame */
    int width, height;                /* of the last received frame */
    char first_problem[160];
    samples latency_ms;
    DP_PORT_INFO info;                /* the port, as last seen */
    bool have_info;
} stats;

static void problem(stats *s, const char *fmt, uint32_t a, uint32_t b, const char *what)
{
    if (!s->first_problem[0])
        snprintf(s->first_problem, sizeof s->first_problem, fmt, (unsigned long)a, (unsigned long)b, what);
}

int main(void)
{
    int argc = 0;
    wchar_t **argv = CommandLineToArgvW(GetCommandLineW(), &argc);
    LARGE_INTEGER freq, start, now, title_at;
    HDC dc = NULL;
    HGLRC rc = NULL;
    HWND hwnd;
    DPGL_PORT *port = NULL;
    GLuint fbo = 0, copy = 0;
    int copy_w = 0, copy_h = 0;
    uint8_t *rows = NULL;
    stats st = {0};
    uint64_t title_frames = 0;
    double title_latency = 0;
    int title_latency_n = 0;
    const char *end = "window closed", *failure = NULL;
    int rcode;

    if (!argv)
        return 2;
    parse_args(argc, argv);
    QueryPerformanceFrequency(&freq);
    QueryPerformanceCounter(&start);
    hwnd = make_window(&dc, &rc);
    if (!hwnd) {
        fprintf(stderr, "viewer: cannot make a window with a GL 3 context (%lu)\n", GetLastError());
        return 2;
    }
    pglGenFramebuffers(1, &fbo);
    glGenTextures(1, &copy);

    /* Wait for the port. */
    SetWindowTextW(hwnd, L"DirectPort viewer: waiting for the port");
    for (;;) {
        double waited;
        port = dpgl_open(opt.name);
        if (port || !pump())
            break;
        QueryPerformanceCounter(&now);
        waited = (double)(now.QuadPart - start.QuadPart) / (double)freq.QuadPart;
        if (waited >= opt.wait_seconds) {
            fprintf(stderr, "viewer: no port %ls after %.0f s: %s\n", opt.name, waited, dp_last_error_message());
            failure = "the port did not appear";
            break;
        }
        Sleep(20);
    }
    if (port) {
        DP_PORT_INFO info;
        if (dp_get_port_info(dpgl_port(port), &info)) {
            printf("viewer: opened %ls: %ux%u, %s transport, %u slots, producer pid %u, %s mode\n", opt.name,
                   info.width, info.height, info.transport == DP_TRANSPORT_GPU ? "GPU" : "host", info.slots,
                   info.producer_pid, dpgl_mode(port) == DPGL_MODE_INTEROP ? "INTEROP" : "COPY");
            fflush(stdout);
            if (!opt.width)
                set_client_size(hwnd, (int)info.width, (int)info.height);
        }
    }
    title_at = start;

    while (port && pump()) {
        unsigned tex = 0;
        uint64_t value = 0;
        DP_RESULT r = dpgl_acquire(port, 100, &tex, &value);
        RECT cr;
        bool reached = false;

        QueryPerformanceCounter(&now);
        if (r == DP_OK) {
            GLint w = 0, h = 0;
            fs_stamp stamp;
            fs_status fs;
            glBindTexture(GL_TEXTURE_2D, tex);
            glGetTexLevelParameteriv(GL_TEXTURE_2D, 0, GL_TEXTURE_WIDTH, &w);
            glGetTexLevelParameteriv(GL_TEXTURE_2D, 0, GL_TEXTURE_HEIGHT, &h);
            if (w != copy_w || h != copy_h) {
                uint8_t *more = realloc(rows, (size_t)w * 4 * 3);
                if (!more) {
                    failure = "out of memory";
                    dpgl_release(port);
                    break;
                }
                rows = more;
                glBindTexture(GL_TEXTURE_2D, copy);
                glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA8, w, h, 0, GL_RGBA, GL_UNSIGNED_BYTE, NULL);
                glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_LINEAR);
                glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_LINEAR);
                glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_S, GL_CLAMP_TO_EDGE);
                glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_T, GL_CLAMP_TO_EDGE);
                copy_w = w, copy_h = h;
            }
            /* The port's texture as a framebuffer: its row 0 is the picture's top row. */
            pglBindFramebuffer(GL_FRAMEBUFFER, fbo);
            pglFramebufferTexture2D(GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, GL_TEXTURE_2D, tex, 0);
            if (pglCheckFramebufferStatus(GL_FRAMEBUFFER) != GL_FRAMEBUFFER_COMPLETE) {
                failure = "the port's texture cannot be read through a framebuffer";
                pglBindFramebuffer(GL_FRAMEBUFFER, 0);
                dpgl_release(port);
                break;
            }
            glPixelStorei(GL_PACK_ALIGNMENT, 4);
            fs = FS_TOO_SMALL;
            if (w >= FS_MIN_WIDTH && h >= FS_MIN_HEIGHT) {
                glReadPixels(0, FS_ROW_FRAME, w, 1, GL_RGBA, GL_UNSIGNED_BYTE, rows);
                glReadPixels(0, FS_ROW_TIME, w, 1, GL_RGBA, GL_UNSIGNED_BYTE, rows + (size_t)w * 4);
                glReadPixels(0, FS_ROW_BOTTOM(h), w, 1, GL_RGBA, GL_UNSIGNED_BYTE, rows + (size_t)w * 8);
                fs = fs_decode(rows, rows + (size_t)w * 4, rows + (size_t)w * 8, w, h, &stamp);
            }
            /* Keep the frame: the viewer draws (and snapshots) its own copy. */
            glBindTexture(GL_TEXTURE_2D, copy);
            glCopyTexSubImage2D(GL_TEXTURE_2D, 0, 0, 0, 0, 0, w, h);
            pglFramebufferTexture2D(GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, GL_TEXTURE_2D, 0, 0);
            pglBindFramebuffer(GL_FRAMEBUFFER, 0);
            dpgl_release(port);
            QueryPerformanceCounter(&now);

            st.received++;
            st.last_port_frame = value;
            st.width = w, st.height = h;
            title_frames++;
            if (fs == FS_OK) {
                double ms = (double)(now.QuadPart - stamp.time) * 1000.0 / (double)freq.QuadPart;
                if (st.have_frame && stamp.frame <= st.last_frame) {
                    st.out_of_order++;
                    problem(&st, "frame %lu after frame %lu%s", stamp.frame, st.last_frame, "");
                } else if (st.have_frame) {
                    st.skipped += stamp.frame - st.last_frame - 1;
                }
                if (!st.have_frame)
                    st.first_frame = stamp.frame;
                st.have_frame = true;
                st.last_frame = stamp.frame;
                if (ms >= 0 && ms < 60000) {
                    sample_add(&st.latency_ms, ms);
                    title_latency += ms, title_latency_n++;
                }
                if (opt.until_frame && stamp.frame >= opt.until_frame)
                    reached = true;
            } else if (fs == FS_TOO_SMALL) {
                st.unmarked++;
            } else {
                st.bad++;
                problem(&st, "received frame %lu (port frame %lu): %s", st.have_frame ? st.last_frame + 1 : 0,
                        (uint32_t)value, fs_status_string(fs));
            }
            if (opt.frames && st.received >= opt.frames)
                reached = true;
        } else if (r == DP_ERROR_DISCONNECTED) {
            if (st.received) {
                end = "the producer closed the port";
                break;
            }
        } else if (r != DP_ERROR_TIMEOUT) {
            fprintf(stderr, "viewer: dpgl_acquire: %s: %s\n", dp_result_string(r), dp_last_error_message());
            failure = "dpgl_acquire failed";
            break;
        }

        /* Draw the copy, upright: texture row 0 (v = 0) is the picture's top row. */
        GetClientRect(hwnd, &cr);
        glViewport(0, 0, cr.right, cr.bottom);
        glClearColor(0.1f, 0.1f, 0.1f, 1);
        glClear(GL_COLOR_BUFFER_BIT);
        if (copy_w) {
            glMatrixMode(GL_PROJECTION);
            glLoadIdentity();
            glOrtho(0, 1, 1, 0, -1, 1); /* (0, 0) is the window's top-left corner */
            glMatrixMode(GL_MODELVIEW);
            glLoadIdentity();
            glEnable(GL_TEXTURE_2D);
            glBindTexture(GL_TEXTURE_2D, copy);
            glTexEnvi(GL_TEXTURE_ENV, GL_TEXTURE_ENV_MODE, GL_REPLACE);
            glBegin(GL_QUADS);
            glTexCoord2f(0, 0), glVertex2f(0, 0);
            glTexCoord2f(1, 0), glVertex2f(1, 0);
            glTexCoord2f(1, 1), glVertex2f(1, 1);
            glTexCoord2f(0, 1), glVertex2f(0, 1);
            glEnd();
            glDisable(GL_TEXTURE_2D);
        }
        SwapBuffers(dc);

        QueryPerformanceCounter(&now);
        if (now.QuadPart - title_at.QuadPart >= freq.QuadPart / 2) {
            double secs = (double)(now.QuadPart - title_at.QuadPart) / (double)freq.QuadPart;
            wchar_t title[256];
            if (dp_get_port_info(dpgl_port(port), &st.info))
                st.have_info = true;
            swprintf(title, 256,
                     L"DirectPort viewer: %ls %dx%d %hs | %.1f fps | latency %.1f ms | dropped %llu | "
                     L"skipped %llu | frame %lu",
                     opt.name, st.width, st.height, dpgl_mode(port) == DPGL_MODE_INTEROP ? "INTEROP" : "COPY",
                     (double)title_frames / secs, title_latency_n ? title_latency / title_latency_n : 0.0,
                     st.have_info ? (unsigned long long)st.info.frames_dropped : 0ull,
                     (unsigned long long)st.skipped, (unsigned long)st.last_frame);
            SetWindowTextW(hwnd, title);
            title_at = now;
            title_frames = 0;
            title_latency = 0;
            title_latency_n = 0;
        }
        if (reached) {
            end = opt.until_frame && st.have_frame && st.last_frame >= opt.until_frame ? "reached --until-frame"
                                                                                        : "received --frames";
            break;
        }
        if (opt.timeout_seconds > 0 &&
            (double)(now.QuadPart - start.QuadPart) / (double)freq.QuadPart >= opt.timeout_seconds) {
            end = "timed out";
            failure = "--timeout-seconds ran out";
            break;
        }
    }
    if (port && dp_get_port_info(dpgl_port(port), &st.info))
        st.have_info = true;

    /* The verdict. */
    if (!failure) {
        if (!st.received)
            failure = "no frame received";
        else if (st.bad || st.out_of_order)
            failure = "damaged or out-of-order frames";
        else if (opt.until_frame && !(st.have_frame && st.last_frame >= opt.until_frame))
            failure = "--until-frame not reached";
        else if (opt.frames && st.received < opt.frames)
            failure = "fewer than --frames frames";
    }

    if (opt.snapshot && copy_w) {
        uint8_t *px = malloc((size_t)copy_w * (size_t)copy_h * 4);
        pglBindFramebuffer(GL_FRAMEBUFFER, fbo);
        pglFramebufferTexture2D(GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, GL_TEXTURE_2D, copy, 0);
        if (px) {
            glReadPixels(0, 0, copy_w, copy_h, GL_RGBA, GL_UNSIGNED_BYTE, px);
            if (!png_write_rgba(opt.snapshot, copy_w, copy_h, px, copy_w * 4)) {
                fprintf(stderr, "viewer: cannot write %ls\n", opt.snapshot);
                failure = failure ? failure : "cannot write the snapshot";
            }
        }
        pglBindFramebuffer(GL_FRAMEBUFFER, 0);
        free(px);
    }

    {
        double p50 = percentile(&st.latency_ms, 0.5), p99 = percentile(&st.latency_ms, 0.99);
        double secs;
        QueryPerformanceCounter(&now);
        secs = (double)(now.QuadPart - start.QuadPart) / (double)freq.QuadPart;
        printf("viewer: %llu frames received (engine frames %lu..%lu, %llu skipped), %llu damaged, "
               "%llu out of order; latency p50 %.2f ms, p99 %.2f ms; ended: %s%s%s\n",
               (unsigned long long)st.received, (unsigned long)st.first_frame, (unsigned long)st.last_frame,
               (unsigned long long)st.skipped, (unsigned long long)st.bad, (unsigned long long)st.out_of_order, p50,
               p99, end, failure ? "; FAILED: " : "", failure ? failure : "");
        if (st.first_problem[0])
            printf("viewer: first problem: %s\n", st.first_problem);
        if (opt.summary) {
            FILE *f = _wfopen(opt.summary, L"w");
            if (f) {
                fprintf(f,
                        "port=%ls\nmode=%s\nframes_received=%llu\nfirst_frame=%lu\nlast_frame=%lu\n"
                        "snapshot_frame=%lu\nwidth=%d\nheight=%d\nskipped=%llu\nbad_frames=%llu\n"
                        "out_of_order=%llu\nunmarked=%llu\nlatency_ms_p50=%.3f\nlatency_ms_p99=%.3f\n"
                        "latency_samples=%zu\nproducer_published=%llu\nproducer_dropped=%llu\nseconds=%.3f\n"
                        "ended=%s\nresult=%s\n",
                        opt.name, port ? (dpgl_mode(port) == DPGL_MODE_INTEROP ? "INTEROP" : "COPY") : "none",
                        (unsigned long long)st.received, (unsigned long)st.first_frame,
                        (unsigned long)st.last_frame, (unsigned long)(opt.snapshot && copy_w ? st.last_frame : 0),
                        st.width, st.height, (unsigned long long)st.skipped, (unsigned long long)st.bad,
                        (unsigned long long)st.out_of_order, (unsigned long long)st.unmarked, p50, p99,
                        st.latency_ms.n, st.have_info ? (unsigned long long)st.info.frames_published : 0ull,
                        st.have_info ? (unsigned long long)st.info.frames_dropped : 0ull, secs, end,
                        failure ? failure : "ok");
                if (st.first_problem[0])
                    fprintf(f, "first_problem=%s\n", st.first_problem);
                fclose(f);
            } else {
                fprintf(stderr, "viewer: cannot write %ls\n", opt.summary);
                failure = failure ? failure : "cannot write the summary";
            }
        }
        fflush(stdout);
    }
    rcode = failure ? 1 : 0;

    dpgl_close(port);
    glDeleteTextures(1, &copy);
    pglDeleteFramebuffers(1, &fbo);
    wglMakeCurrent(NULL, NULL);
    wglDeleteContext(rc);
    ReleaseDC(hwnd, dc);
    DestroyWindow(hwnd);
    free(rows);
    free(st.latency_ms.v);
    LocalFree(argv);
    return rcode;
}
