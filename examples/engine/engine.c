/*
 * engine.c - a stand-in for a closed third-party GL application. It knows nothing of
 * DirectPort: it opens its own window, makes its own WGL context, draws an animated
 * scene in its own render loop, and offers plugins the small C interface of plugin.h.
 *
 *   engine.exe [options] [plugin.dll ...]
 *     --size WxH             client area (default 640x360)
 *     --frames N             stop after frame N (frames are numbered from 1)
 *     --seconds S            stop after S seconds (with neither: when the window closes)
 *     --fps F                pace the loop to F frames per second with Sleep (default 60;
 *                            0 = as fast as it goes)
 *     --resize-at N WxH      resize the window's client area before drawing frame N
 *     --dump-frame N FILE    write frame N's back buffer as a PNG, top row first (read
 *                            before SwapBuffers; written at exit); may be repeated
 *     --report FILE          write key=value statistics at exit
 *     --pos X Y              window position
 *
 * Exit status: 0, or 1 if a file could not be written, 2 for a bad command line, 3 if
 * there is no window with a GL context to be had.
 *
 * Each frame: draw, read the back buffer for --dump-frame, call every plugin's
 * plugin_frame(width, height), SwapBuffers, wait for the next frame's time. The picture
 * depends only on the frame number and the size, plus framestamp.h's marks (the frame
 * number, and the QueryPerformanceCounter value when drawing began).
 */
#include <windows.h>
#include <shellapi.h>
#include <GL/gl.h>

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "framestamp.h"
#include "plugin.h"
#include "pngio.h"

#define MAX_PLUGINS 16
#define MAX_DUMPS 64

typedef struct {
    wchar_t path[MAX_PATH];
    HMODULE dll;
    plugin_frame_fn frame;
    plugin_unload_fn unload;
} plugin;

typedef struct {
    uint32_t frame;
    const wchar_t *path;
    uint8_t *pixels; /* top row first, tightly packed */
    int width, height;
} dump;

static struct {
    int width, height, x, y;
    uint32_t frames;
    double seconds;
    double fps;
    uint32_t resize_at;
    int resize_w, resize_h;
    const wchar_t *report;
    dump dumps[MAX_DUMPS];
    int ndumps;
    const wchar_t *plugin_paths[MAX_PLUGINS];
    int nplugins;
} opt = {.width = 640, .height = 360, .x = CW_USEDEFAULT, .y = CW_USEDEFAULT, .fps = 60.0};

static volatile bool g_quit;

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

static void usage(void)
{
    fprintf(stderr, "usage: engine.exe [--size WxH] [--frames N | --seconds S] [--fps F] [--resize-at N WxH]\n"
                    "                  [--dump-frame N FILE.png]... [--report FILE] [--pos X Y] [plugin.dll...]\n");
    exit(2);
}

static bool parse_size(const wchar_t *s, int *w, int *h)
{
    return swscanf(s, L"%dx%d", w, h) == 2 && *w > 0 && *h > 0 && *w <= 8192 && *h <= 8192;
}

static void parse_args(int argc, wchar_t **argv)
{
    for (int i = 1; i < argc; i++) {
        const wchar_t *a = argv[i];
        bool more = i + 1 < argc;
        if (!wcscmp(a, L"--size") && more) {
            if (!parse_size(argv[++i], &opt.width, &opt.height))
                usage();
        } else if (!wcscmp(a, L"--frames") && more) {
            opt.frames = (uint32_t)wcstoul(argv[++i], NULL, 10);
        } else if (!wcscmp(a, L"--seconds") && more) {
            opt.seconds = wcstod(argv[++i], NULL);
        } else if (!wcscmp(a, L"--fps") && more) {
            opt.fps = wcstod(argv[++i], NULL);
        } else if (!wcscmp(a, L"--resize-at") && i + 2 < argc) {
            opt.resize_at = (uint32_t)wcstoul(argv[++i], NULL, 10);
            if (!parse_size(argv[++i], &opt.resize_w, &opt.resize_h))
                usage();
        } else if (!wcscmp(a, L"--dump-frame") && i + 2 < argc) {
            if (opt.ndumps == MAX_DUMPS)
                usage();
            opt.dumps[opt.ndumps].frame = (uint32_t)wcstoul(argv[++i], NULL, 10);
            opt.dumps[opt.ndumps++].path = argv[++i];
        } else if (!wcscmp(a, L"--report") && more) {
            opt.report = argv[++i];
        } else if (!wcscmp(a, L"--pos") && i + 2 < argc) {
            opt.x = _wtoi(argv[++i]);
            opt.y = _wtoi(argv[++i]);
        } else if (a[0] == L'-') {
            usage();
        } else {
            if (opt.nplugins == MAX_PLUGINS)
                usage();
            opt.plugin_paths[opt.nplugins++] = a;
        }
    }
    if (opt.fps < 0)
        usage();
}

/* ---- window and context ------------------------------------------------------------------ */

static const DWORD STYLE = WS_OVERLAPPEDWINDOW;

static bool window_rect_for(int cw, int ch, int *ww, int *wh)
{
    RECT r = {0, 0, cw, ch};
    if (!AdjustWindowRectEx(&r, STYLE, FALSE, 0))
        return false;
    *ww = r.right - r.left;
    *wh = r.bottom - r.top;
    return true;
}

static HWND make_window(HDC *dc, HGLRC *rc)
{
    WNDCLASSEXW wc = {0};
    PIXELFORMATDESCRIPTOR pfd = {0};
    HWND hwnd;
    int ww, wh, format;
    wc.cbSize = sizeof wc;
    wc.style = CS_OWNDC;
    wc.lpfnWndProc = wndproc;
    wc.hInstance = GetModuleHandleW(NULL);
    wc.hCursor = LoadCursor(NULL, IDC_ARROW);
    wc.lpszClassName = L"ExampleEngine";
    if (!RegisterClassExW(&wc) || !window_rect_for(opt.width, opt.height, &ww, &wh))
        return NULL;
    hwnd = CreateWindowExW(0, wc.lpszClassName, L"Example engine (a closed application)", STYLE, opt.x, opt.y, ww,
                           wh, NULL, NULL, wc.hInstance, NULL);
    if (!hwnd)
        return NULL;
    *dc = GetDC(hwnd);
    pfd.nSize = sizeof pfd;
    pfd.nVersion = 1;
    pfd.dwFlags = PFD_DRAW_TO_WINDOW | PFD_SUPPORT_OPENGL | PFD_DOUBLEBUFFER;
    pfd.iPixelType = PFD_TYPE_RGBA;
    pfd.cColorBits = 32;
    pfd.cAlphaBits = 8;
    pfd.cDepthBits = 24;
    pfd.iLayerType = PFD_MAIN_PLANE;
    format = ChoosePixelFormat(*dc, &pfd);
    if (!format || !SetPixelFormat(*dc, format, &pfd) || !(*rc = wglCreateContext(*dc)) ||
        !wglMakeCurrent(*dc, *rc)) {
        fprintf(stderr, "engine: no GL context (%lu)\n", GetLastError());
        return NULL;
    }
    ShowWindow(hwnd, SW_SHOWNOACTIVATE);
    return hwnd;
}

static void client_size(HWND hwnd, int *w, int *h)
{
    RECT r;
    GetClientRect(hwnd, &r);
    *w = r.right - r.left;
    *h = r.bottom - r.top;
    if (*w < 1)
        *w = 1;
    if (*h < 1)
        *h = 1;
}

/* ---- the scene ----------------------------------------------------------------------------- */

static void hsv(float h, float s, float v, float out[3])
{
    float r, g, b, f, p, q, t;
    int i;
    h = h - floorf(h);
    i = (int)(h * 6.0f);
    f = h * 6.0f - (float)i;
    p = v * (1 - s);
    q = v * (1 - s * f);
    t = v * (1 - s * (1 - f));
    switch (i % 6) {
    case 0: r = v, g = t, b = p; break;
    case 1: r = q, g = v, b = p; break;
    case 2: r = p, g = v, b = t; break;
    case 3: r = p, g = q, b = v; break;
    case 4: r = t, g = p, b = v; break;
    default: r = v, g = p, b = q; break;
    }
    out[0] = r, out[1] = g, out[2] = b;
}

static void rect(int x0, int y0, int x1, int y1)
{
    glRecti(x0, y0, x1, y1);
}

/* A seven-segment digit, its box at (x, y) (top-left) of dw x dh, strokes t thick. */
static void digit(int d, int x, int y, int dw, int dh, int t)
{
    static const uint8_t SEGMENTS[10] = {0x3F, 0x06, 0x5B, 0x4F, 0x66, 0x6D, 0x7D, 0x07, 0x7F, 0x6F}; /* gfedcba */
    int mid = y + dh / 2;
    uint8_t s = SEGMENTS[d % 10];
    if (s & 0x01) rect(x + t, y, x + dw - t, y + t);                     /* a */
    if (s & 0x02) rect(x + dw - t, y + t, x + dw, mid);                  /* b */
    if (s & 0x04) rect(x + dw - t, mid, x + dw, y + dh - t);             /* c */
    if (s & 0x08) rect(x + t, y + dh - t, x + dw - t, y + dh);           /* d */
    if (s & 0x10) rect(x, mid, x + t, y + dh - t);                       /* e */
    if (s & 0x20) rect(x, y + t, x + t, mid);                            /* f */
    if (s & 0x40) rect(x + t, mid - t / 2, x + dw - t, mid - t / 2 + t); /* g */
}

static void stamp_row(int y, int marker, uint64_t bits)
{
    static const uint8_t MARKER[3][3] = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}};
    glColor3ub(MARKER[marker][0], MARKER[marker][1], MARKER[marker][2]);
    rect(0, y, FS_BLOCK, y + FS_BLOCK);
    for (int i = 0; i < 64; i++) {
        uint8_t c = (bits >> i) & 1 ? 255 : 0;
        glColor3ub(c, c, c);
        rect((1 + i) * FS_BLOCK, y, (2 + i) * FS_BLOCK, y + FS_BLOCK);
    }
}

static void draw_scene(uint32_t f, int w, int h, int64_t now)
{
    float c[3], c2[3];
    float ft = (float)f;
    int m = w < h ? w : h;

    glViewport(0, 0, w, h);
    glMatrixMode(GL_PROJECTION);
    glLoadIdentity();
    glOrtho(0, w, h, 0, -1, 1); /* y down: (0, 0) is the top-left pixel's corner */
    glMatrixMode(GL_MODELVIEW);
    glLoadIdentity();
    glDisable(GL_DEPTH_TEST);
    glDisable(GL_BLEND);
    glDisable(GL_TEXTURE_2D);
    glShadeModel(GL_SMOOTH);

    /* Background: a vertical gradient whose hue drifts. */
    hsv(ft * 0.002f, 0.6f, 0.35f, c);
    hsv(ft * 0.002f + 0.3f, 0.7f, 0.15f, c2);
    glBegin(GL_QUADS);
    glColor3f(c[0], c[1], c[2]);
    glVertex2i(0, 0);
    glVertex2i(w, 0);
    glColor3f(c2[0], c2[1], c2[2]);
    glVertex2i(w, h);
    glVertex2i(0, h);
    glEnd();

    /* Bars sliding right. */
    for (int i = 0; i < 6; i++) {
        int bw = w / 24 + 1, span = w + bw;
        int x = (int)((f * 3u + (uint32_t)(i * span / 6)) % (uint32_t)span) - bw;
        hsv((float)i / 6.0f + ft * 0.004f, 0.8f, 0.8f, c);
        glColor3f(c[0], c[1], c[2]);
        rect(x, h / 6, x + bw, h - h / 6);
    }

    /* A pinwheel turning at the centre. */
    glPushMatrix();
    glTranslatef((float)w / 2, (float)h / 2, 0);
    glRotatef(ft * 2.0f, 0, 0, 1);
    glBegin(GL_TRIANGLES);
    for (int i = 0; i < 8; i++) {
        float a0 = (float)i * 0.785398f, a1 = a0 + 0.5f, r = (float)m * 0.38f;
        hsv((float)i / 8.0f - ft * 0.01f, 0.9f, 1.0f, c);
        glColor3f(1, 1, 1);
        glVertex2f(0, 0);
        glColor3f(c[0], c[1], c[2]);
        glVertex2f(r * cosf(a0), r * sinf(a0));
        glVertex2f(r * cosf(a1), r * sinf(a1));
    }
    glEnd();
    glPopMatrix();

    /* A square bouncing around. */
    {
        int s = m / 8 + 2;
        int px = (int)((f * 5u) % (uint32_t)(2 * (w - s))), py = (int)((f * 3u) % (uint32_t)(2 * (h - s)));
        if (px > w - s)
            px = 2 * (w - s) - px;
        if (py > h - s)
            py = 2 * (h - s) - py;
        hsv(ft * 0.013f + 0.5f, 1.0f, 1.0f, c);
        glColor3f(c[0], c[1], c[2]);
        rect(px, py, px + s, py + s);
    }

    /* The frame number, in seven-segment digits on a dark panel at the bottom left. */
    {
        char text[16];
        int n = snprintf(text, sizeof text, "%lu", (unsigned long)f);
        int dh = h / 8 > 14 ? h / 8 : 14, dw = dh / 2 + 1, t = dh / 8 + 1, gap = t * 2;
        int x = 8, y = h - FS_BLOCK - 8 - dh;
        glColor3ub(16, 16, 16);
        rect(x - 4, y - 4, x + n * (dw + gap) - gap + 4, y + dh + 4);
        glColor3ub(255, 200, 40);
        for (int i = 0; i < n; i++)
            digit(text[i] - '0', x + i * (dw + gap), y, dw, dh, t);
    }

    /* The marks (framestamp.h). */
    if (w >= FS_MIN_WIDTH && h >= FS_MIN_HEIGHT) {
        uint64_t number = (uint64_t)f | (uint64_t)(uint32_t)~f << 32;
        stamp_row(0, 0, number);
        stamp_row(FS_BLOCK, 1, (uint64_t)now);
        stamp_row(h - FS_BLOCK, 2, number);
    }
}

/* ---- plugins -------------------------------------------------------------------------------- */

static plugin g_plugins[MAX_PLUGINS];
static int g_nplugins;

static void load_plugins(void)
{
    for (int i = 0; i < opt.nplugins; i++) {
        plugin *p = &g_plugins[g_nplugins];
        plugin_load_fn load;
        FARPROC f;
        if (!GetFullPathNameW(opt.plugin_paths[i], MAX_PATH, p->path, NULL))
            wcsncpy(p->path, opt.plugin_paths[i], MAX_PATH - 1);
        /* Its own directory first for what it imports. */
        p->dll = LoadLibraryExW(p->path, NULL, LOAD_WITH_ALTERED_SEARCH_PATH);
        if (!p->dll) {
            fprintf(stderr, "engine: cannot load %ls (%lu)\n", p->path, GetLastError());
            continue;
        }
        /* Function pointers of different types: copied, not cast. */
        f = GetProcAddress(p->dll, "plugin_frame");
        memcpy(&p->frame, &f, sizeof f);
        f = GetProcAddress(p->dll, "plugin_unload");
        memcpy(&p->unload, &f, sizeof f);
        f = GetProcAddress(p->dll, "plugin_load");
        memcpy(&load, &f, sizeof f);
        if (!p->frame) {
            fprintf(stderr, "engine: %ls exports no plugin_frame: not a plugin\n", p->path);
            FreeLibrary(p->dll);
            continue;
        }
        if (load && load() != 0) {
            fprintf(stderr, "engine: %ls refused to load\n", p->path);
            FreeLibrary(p->dll);
            continue;
        }
        printf("engine: loaded plugin %ls\n", p->path);
        g_nplugins++;
    }
    fflush(stdout);
}

static void unload_plugins(void)
{
    for (int i = 0; i < g_nplugins; i++) {
        if (g_plugins[i].unload)
            g_plugins[i].unload();
        FreeLibrary(g_plugins[i].dll);
    }
    g_nplugins = 0;
}

/* ---- statistics ----------------------------------------------------------------------------- */

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

/* ---- main ----------------------------------------------------------------------------------- */

int main(void)
{
    int argc = 0;
    wchar_t **argv = CommandLineToArgvW(GetCommandLineW(), &argc);
    LARGE_INTEGER freq, start, t0, t1, next;
    HDC dc = NULL;
    HGLRC rc = NULL;
    HWND hwnd;
    samples frame_ms = {0}, plugin_ms = {0};
    uint32_t f;
    int w = 0, h = 0, rcode = 0;
    double elapsed;
    bool paced;

    if (!argv)
        return 2;
    parse_args(argc, argv);
    paced = opt.fps > 0;
    QueryPerformanceFrequency(&freq);
    timeBeginPeriod(1);
    hwnd = make_window(&dc, &rc);
    if (!hwnd) {
        fprintf(stderr, "engine: cannot make a window with a GL context (%lu)\n", GetLastError());
        return 3;
    }
    load_plugins();
    printf("engine: %dx%d, GL %s (%s), %s%s\n", opt.width, opt.height, (const char *)glGetString(GL_VERSION),
           (const char *)glGetString(GL_RENDERER), paced ? "paced" : "unpaced",
           g_nplugins ? "" : ", no plugins");
    fflush(stdout);

    QueryPerformanceCounter(&start);
    next = start;
    for (f = 1; !g_quit; f++) {
        MSG msg;
        while (PeekMessageW(&msg, NULL, 0, 0, PM_REMOVE)) {
            TranslateMessage(&msg);
            DispatchMessageW(&msg);
        }
        if (g_quit)
            break;
        if (f == opt.resize_at) {
            int ww, wh;
            if (window_rect_for(opt.resize_w, opt.resize_h, &ww, &wh))
                SetWindowPos(hwnd, NULL, 0, 0, ww, wh, SWP_NOMOVE | SWP_NOZORDER | SWP_NOACTIVATE);
        }
        client_size(hwnd, &w, &h);

        QueryPerformanceCounter(&t0);
        draw_scene(f, w, h, t0.QuadPart);
        for (int i = 0; i < opt.ndumps; i++) {
            dump *d = &opt.dumps[i];
            uint8_t *raw;
            if (d->frame != f || d->pixels)
                continue;
            raw = malloc((size_t)w * (size_t)h * 4);
            d->pixels = malloc((size_t)w * (size_t)h * 4);
            if (!raw || !d->pixels) {
                free(raw);
                free(d->pixels);
                d->pixels = NULL;
                continue;
            }
            glPixelStorei(GL_PACK_ALIGNMENT, 4);
            glReadBuffer(GL_BACK);
            glReadPixels(0, 0, w, h, GL_RGBA, GL_UNSIGNED_BYTE, raw);
            for (int y = 0; y < h; y++) /* GL's bottom row first -> top row first */
                memcpy(d->pixels + (size_t)y * (size_t)w * 4, raw + (size_t)(h - 1 - y) * (size_t)w * 4,
                       (size_t)w * 4);
            free(raw);
            d->width = w, d->height = h;
        }
        {
            LARGE_INTEGER p0, p1;
            QueryPerformanceCounter(&p0);
            for (int i = 0; i < g_nplugins; i++)
                g_plugins[i].frame(w, h);
            QueryPerformanceCounter(&p1);
            sample_add(&plugin_ms, (double)(p1.QuadPart - p0.QuadPart) * 1000.0 / (double)freq.QuadPart);
        }
        SwapBuffers(dc);
        QueryPerformanceCounter(&t1);
        sample_add(&frame_ms, (double)(t1.QuadPart - t0.QuadPart) * 1000.0 / (double)freq.QuadPart);

        elapsed = (double)(t1.QuadPart - start.QuadPart) / (double)freq.QuadPart;
        if ((opt.frames && f >= opt.frames) || (opt.seconds > 0 && elapsed >= opt.seconds))
            break;
        if (paced) {
            /* Like vsync: frame f + 1 starts at the next multiple of the period; a frame
             * that ran late moves the schedule instead of bunching frames up. */
            LONGLONG period = (LONGLONG)((double)freq.QuadPart / opt.fps);
            next.QuadPart += period;
            if (t1.QuadPart > next.QuadPart)
                next.QuadPart = t1.QuadPart;
            for (;;) {
                LARGE_INTEGER now;
                LONGLONG left;
                QueryPerformanceCounter(&now);
                left = (next.QuadPart - now.QuadPart) * 1000 / freq.QuadPart;
                if (left <= 0)
                    break;
                Sleep(left > 1 ? (DWORD)(left - 1) : 0);
            }
        }
    }
    if (g_quit)
        f--;
    QueryPerformanceCounter(&t1);
    elapsed = (double)(t1.QuadPart - start.QuadPart) / (double)freq.QuadPart;

    unload_plugins();
    wglMakeCurrent(NULL, NULL);
    wglDeleteContext(rc);
    ReleaseDC(hwnd, dc);
    DestroyWindow(hwnd);
    timeEndPeriod(1);

    for (int i = 0; i < opt.ndumps; i++) {
        dump *d = &opt.dumps[i];
        if (!d->pixels) {
            fprintf(stderr, "engine: frame %lu was not drawn: %ls not written\n", (unsigned long)d->frame, d->path);
            continue;
        }
        if (!png_write_rgba(d->path, d->width, d->height, d->pixels, d->width * 4)) {
            fprintf(stderr, "engine: cannot write %ls\n", d->path);
            rcode = 1;
        }
        free(d->pixels);
    }
    {
        double fp50 = percentile(&frame_ms, 0.5), fp99 = percentile(&frame_ms, 0.99);
        double pp50 = percentile(&plugin_ms, 0.5), pp99 = percentile(&plugin_ms, 0.99);
        printf("engine: drew %lu frames in %.2f s (%.1f fps); frame time p50 %.2f ms, p99 %.2f ms; plugins p50 "
               "%.3f ms, p99 %.3f ms\n",
               (unsigned long)f, elapsed, elapsed > 0 ? f / elapsed : 0.0, fp50, fp99, pp50, pp99);
        if (opt.report) {
            FILE *r = _wfopen(opt.report, L"w");
            if (r) {
                fprintf(r, "frames=%lu\nseconds=%.3f\nfps=%.2f\nwidth=%d\nheight=%d\nframe_ms_p50=%.3f\n"
                           "frame_ms_p99=%.3f\nplugins_ms_p50=%.4f\nplugins_ms_p99=%.4f\nplugins=%d\n",
                        (unsigned long)f, elapsed, elapsed > 0 ? f / elapsed : 0.0, w, h, fp50, fp99, pp50, pp99,
                        g_nplugins);
                fclose(r);
            } else {
                fprintf(stderr, "engine: cannot write %ls\n", opt.report);
                rcode = 1;
            }
        }
    }
    fflush(stdout);
    free(frame_ms.v);
    free(plugin_ms.v);
    LocalFree(argv);
    return rcode;
}
