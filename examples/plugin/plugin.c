/*
 * plugin.c - dpplugin.dll: publishes the example engine's framebuffer through
 * DirectPort, every frame, from inside the engine's render loop (examples/engine/plugin.h).
 *
 * All it takes is the GL adapter (adapters/gl/dpgl.h):
 *   - on the first frame, dpgl_create makes the port (its size is the engine's
 *     framebuffer's; the engine's context is current, as dpgl needs);
 *   - every frame, dpgl_publish_framebuffer(port, 0, 0, 0, width, height) reads the back
 *     buffer into the port. It never waits: when no slot or buffer is free it returns
 *     DP_ERROR_BUSY and the frame is dropped. A new size resizes the port;
 *   - at unload, dpgl_close.
 * Silent per frame. At unload it prints what it cost the engine: the time spent inside
 * plugin_frame (QueryPerformanceCounter), p50 and p99, and frames published / dropped.
 *
 * Environment: DIRECTPORT_NAME       the port's name (default "engine");
 *              DIRECTPORT_PLUGIN_REPORT  a file to write the same numbers to as key=value.
 */
#include <windows.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/gl/dpgl.h"
#include "plugin.h"

static struct {
    wchar_t name[DP_MAX_NAME + 1];
    DPGL_PORT *port;
    bool failed;             /* dpgl_create failed: do nothing more */
    LARGE_INTEGER freq;
    uint64_t frames, published, dropped, errors;
    DP_RESULT first_error;
    char first_error_text[256];
    double *cost_ms;         /* one per frame */
    size_t ncost, capcost;
} g;

PLUGIN_EXPORT int plugin_load(void);
PLUGIN_EXPORT void plugin_frame(int width, int height);
PLUGIN_EXPORT void plugin_unload(void);

PLUGIN_EXPORT int plugin_load(void)
{
    DWORD n = GetEnvironmentVariableW(L"DIRECTPORT_NAME", g.name, DP_MAX_NAME + 1);
    if (n == 0 || n > DP_MAX_NAME)
        wcscpy(g.name, L"engine");
    QueryPerformanceFrequency(&g.freq);
    g.capcost = 1 << 14;
    g.cost_ms = malloc(g.capcost * sizeof *g.cost_ms);
    return g.cost_ms ? 0 : 1;
}

static void note_error(DP_RESULT r)
{
    if (g.errors++ == 0) {
        g.first_error = r;
        snprintf(g.first_error_text, sizeof g.first_error_text, "%s", dp_last_error_message());
    }
}

PLUGIN_EXPORT void plugin_frame(int width, int height)
{
    LARGE_INTEGER t0, t1;
    QueryPerformanceCounter(&t0);
    g.frames++;
    if (!g.port && !g.failed) {
        DP_PORT_DESC desc = {0};
        desc.name = g.name;
        desc.width = (uint32_t)width;
        desc.height = (uint32_t)height;
        desc.format = DP_FORMAT_VIDEO; /* B, G, R, A: the fast readback format of Windows drivers */
        g.port = dpgl_create(&desc);
        if (!g.port) {
            g.failed = true;
            fprintf(stderr, "dpplugin: cannot create port %ls: %s\n", g.name, dp_last_error_message());
        }
    }
    if (g.port) {
        DP_RESULT r = dpgl_publish_framebuffer(g.port, 0, 0, 0, width, height);
        if (r == DP_OK)
            g.published++;
        else if (r == DP_ERROR_BUSY)
            g.dropped++;
        else
            note_error(r);
    }
    QueryPerformanceCounter(&t1);
    if (g.ncost == g.capcost) {
        double *more = realloc(g.cost_ms, 2 * g.capcost * sizeof *more);
        if (more)
            g.cost_ms = more, g.capcost *= 2;
    }
    if (g.ncost < g.capcost)
        g.cost_ms[g.ncost++] = (double)(t1.QuadPart - t0.QuadPart) * 1000.0 / (double)g.freq.QuadPart;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double percentile(double p)
{
    size_t i;
    if (!g.ncost)
        return 0;
    i = (size_t)(p * (double)(g.ncost - 1) + 0.5);
    return g.cost_ms[i < g.ncost ? i : g.ncost - 1];
}

PLUGIN_EXPORT void plugin_unload(void)
{
    const char *mode = !g.port ? "none" : dpgl_mode(g.port) == DPGL_MODE_INTEROP ? "INTEROP" : "COPY";
    double p50, p99, max;
    wchar_t report[MAX_PATH];
    DWORD n;

    dpgl_close(g.port);
    g.port = NULL;
    qsort(g.cost_ms, g.ncost, sizeof *g.cost_ms, cmp_double);
    p50 = percentile(0.5);
    p99 = percentile(0.99);
    max = g.ncost ? g.cost_ms[g.ncost - 1] : 0;
    printf("dpplugin: port %ls (%s): %llu frames, %llu published, %llu dropped, %llu failed; "
           "cost per frame p50 %.3f ms, p99 %.3f ms, max %.3f ms\n",
           g.name, mode, (unsigned long long)g.frames, (unsigned long long)g.published,
           (unsigned long long)g.dropped, (unsigned long long)g.errors, p50, p99, max);
    if (g.errors)
        printf("dpplugin: first error: %s: %s\n", dp_result_string(g.first_error), g.first_error_text);
    fflush(stdout);

    n = GetEnvironmentVariableW(L"DIRECTPORT_PLUGIN_REPORT", report, MAX_PATH);
    if (n > 0 && n < MAX_PATH) {
        FILE *f = _wfopen(report, L"w");
        if (f) {
            fprintf(f, "port=%ls\nmode=%s\nframes=%llu\npublished=%llu\ndropped=%llu\nfailed=%llu\n"
                       "cost_ms_p50=%.4f\ncost_ms_p99=%.4f\ncost_ms_max=%.4f\n",
                    g.name, mode, (unsigned long long)g.frames, (unsigned long long)g.published,
                    (unsigned long long)g.dropped, (unsigned long long)g.errors, p50, p99, max);
            fclose(f);
        } else {
            fprintf(stderr, "dpplugin: cannot write %ls\n", report);
        }
    }
    free(g.cost_ms);
    memset(&g, 0, sizeof g);
}
