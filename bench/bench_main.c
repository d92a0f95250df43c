/*
 * bench_main.c - dpbench.exe: the orchestrator (runs every scenario as child processes,
 * computes the statistics, prints the markdown tables, writes results.json) and the
 * child entry point. See bench.h and docs/benchmarks.md.
 *
 *   dpbench.exe [--out results.json] [--md results.md] [--frames N] [--frames-60 N]
 *               [--sizes WxH,WxH...] [--only baseline,dpgl,d3d12,floors,fanout,idle]
 *               [--idle-ms MS] [--consumers N] [--no-settle] [--quick]
 */
#include "bench.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "directport.h"

/* ---- helpers shared with the children ------------------------------------------------------ */

static int64_t g_freq;

int64_t bench_qpc(void)
{
    LARGE_INTEGER t;
    QueryPerformanceCounter(&t);
    return t.QuadPart;
}

static int64_t bench_freq(void)
{
    if (!g_freq) {
        LARGE_INTEGER f;
        QueryPerformanceFrequency(&f);
        g_freq = f.QuadPart;
    }
    return g_freq;
}

double bench_ms(const bench_shared *s, int64_t ticks)
{
    return (double)ticks * 1000.0 / (double)s->qpc_freq;
}

void bench_sleep_until(int64_t deadline)
{
    if (!deadline)
        return;
    for (;;) {
        int64_t now = bench_qpc();
        int64_t ms;
        if (now >= deadline)
            return;
        ms = (deadline - now) * 1000 / bench_freq();
        if (ms >= 2)
            Sleep((DWORD)(ms - 1));
        else
            SwitchToThread();
    }
}

int64_t bench_pace(const bench_shared *s, int64_t *next)
{
    int64_t now, period, deadline;
    if (!s->pace_hz)
        return 0;
    now = bench_qpc();
    period = s->qpc_freq / s->pace_hz;
    if (!*next || now > *next + period)
        *next = now; /* the first frame, or running a frame late: no catch-up burst */
    deadline = *next;
    *next += period;
    return deadline;
}

bool bench_wait_count(const bench_shared *s, volatile LONG *v, LONG target, DWORD timeout_ms)
{
    ULONGLONG start = GetTickCount64();
    while (InterlockedCompareExchange(v, 0, 0) < target) {
        if (s->abort || GetTickCount64() - start > timeout_ms)
            return false;
        Sleep(2);
    }
    return true;
}

void bench_error(char *dst, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dst, 256, fmt, ap);
    va_end(ap);
}

double bench_process_cpu(void)
{
    FILETIME c, e, k, u;
    if (!GetProcessTimes(GetCurrentProcess(), &c, &e, &k, &u))
        return 0;
    return (double)((((uint64_t)k.dwHighDateTime << 32) | k.dwLowDateTime) +
                    (((uint64_t)u.dwHighDateTime << 32) | u.dwLowDateTime)) /
           1e7;
}

double bench_thread_cpu(void)
{
    FILETIME c, e, k, u;
    if (!GetThreadTimes(GetCurrentThread(), &c, &e, &k, &u))
        return 0;
    return (double)((((uint64_t)k.dwHighDateTime << 32) | k.dwLowDateTime) +
                    (((uint64_t)u.dwHighDateTime << 32) | u.dwLowDateTime)) /
           1e7;
}

void bench_record_publish(bench_shared *s, uint32_t seq, int64_t ticks, bool busy, double cpu_s)
{
    s->publish_ticks[seq] = ticks;
    s->publish_busy[seq] = busy;
    if (!busy) {
        s->published++;
        if (seq > s->warmup) {
            s->publish_cpu_s += cpu_s;
            s->publish_cpu_n++;
        }
    }
}

void bench_calibrate_cpu(bench_consumer *c, DWORD ms)
{
    ULONGLONG start = GetTickCount64();
    double cpu0 = bench_process_cpu(), prev = cpu0, tick = 0;
    volatile uint64_t x = 0;
    while (GetTickCount64() - start < ms) {
        double now;
        for (int i = 0; i < 1000; i++)
            x += (uint64_t)i;
        now = bench_process_cpu();
        if (now > prev && (tick == 0 || now - prev < tick))
            tick = now - prev;
        prev = now;
    }
    c->calib_cpu_s = bench_process_cpu() - cpu0;
    c->calib_wall_s = (double)(GetTickCount64() - start) / 1000.0;
    c->cpu_tick_s = tick;
}

uint32_t bench_stamp_seq(const uint8_t *px)
{
    uint32_t seq = (uint32_t)px[0] | (uint32_t)px[1] << 8 | (uint32_t)px[2] << 16;
    for (int i = 1; i < BENCH_STAMP_PIXELS; i++)
        if (memcmp(px, px + 4 * i, 4) != 0)
            return 0;
    return seq;
}

bool bench_consumer_got(bench_shared *s, bench_consumer *c, uint32_t seq, int64_t ready)
{
    const uint32_t last = s->warmup + s->frames;
    if (!seq || seq > last || c->ready_qpc[seq])
        c->stale++;
    else
        c->ready_qpc[seq] = ready;
    return seq == last;
}

bool bench_consumer_should_stop(const bench_shared *s, int64_t last_frame_qpc)
{
    return s->abort || (s->producer_done && bench_qpc() - last_frame_qpc > s->qpc_freq);
}

/* ---- child entry ------------------------------------------------------------------------------ */

static int bench_child(const char *role, const char *section_name, uint32_t index)
{
    wchar_t name[128];
    HANDLE m;
    bench_shared *s;
    int rc = 2;
    swprintf(name, 128, L"%hs", section_name);
    m = OpenFileMappingW(FILE_MAP_ALL_ACCESS, FALSE, name);
    s = m ? MapViewOfFile(m, FILE_MAP_ALL_ACCESS, 0, 0, sizeof(bench_shared)) : NULL;
    if (!s || s->magic != BENCH_MAGIC || index >= BENCH_MAX_CONSUMERS) {
        fprintf(stderr, "dpbench: child %s: no run section %s\n", role, section_name);
        return 2;
    }
    bench_freq();
    if (!strcmp(role, "producer"))
        rc = s->kind == BENCH_D3D12 ? bench_d3d12_producer(s) : bench_gl_producer(s);
    else if (!strcmp(role, "floors"))
        rc = bench_gl_floors(s);
    else if (!strcmp(role, "consumer")) {
        rc = s->kind == BENCH_D3D12 ? bench_d3d12_consumer(s, index) : bench_gl_consumer(s, index);
        InterlockedExchange(&s->consumer[index].done, 1);
        InterlockedIncrement(&s->consumers_done);
    }
    UnmapViewOfFile(s);
    CloseHandle(m);
    return rc;
}

/* ---- orchestrator: runs -------------------------------------------------------------------- */

typedef struct {
    uint32_t w, h;
    double memcpy_ms, readback_ms, upload_ms, render_ms, readback_pbo_ms;
    bool ok;
} floor_result;

typedef struct {
    bench_kind kind;
    uint32_t w, h, pace, consumers, frames, settle;
    bool ok;
    char error[600];
    char transport[16];
    double seconds;
    uint32_t prod_samples, lat_samples;
    double prod_p50, prod_p99, prod_mean, lat_p50, lat_p99;
    double prod_cpu_mean;   /* producer thread CPU ms per successful publish (mean) */
    double fps;             /* delivered frames per second, mean over consumers */
    uint32_t delivered_min; /* of the measured frames, by the worst consumer */
    uint32_t dropped_max;   /* measured frames that worst consumer never saw */
    uint32_t busy;          /* measured frames the producer dropped (DP_ERROR_BUSY) */
    uint32_t stale, torn;
    double prod_bytes, cons_bytes; /* CPU bytes copied per frame */
    double calib;           /* idle: CPU/wall over a busy spin (should be ~1) */
    double cpu_tick_ms;     /* idle: the resolution of GetProcessTimes */
    double idle_cpu_pct;
} run_result;

static const char *kind_name(bench_kind k)
{
    switch (k) {
    case BENCH_BASELINE:
        return "baseline";
    case BENCH_DPGL:
        return "dpgl";
    case BENCH_D3D12:
        return "d3d12";
    case BENCH_FLOORS:
        return "floors";
    }
    return "?";
}

static const char *kind_label(bench_kind k)
{
    switch (k) {
    case BENCH_BASELINE:
        return "baseline GL->GL (readback+section+event)";
    case BENCH_DPGL:
        return "DirectPort GL->GL (dpgl)";
    case BENCH_D3D12:
        return "DirectPort D3D12->D3D12";
    default:
        return kind_name(k);
    }
}

static uint32_t g_run_counter;
static uint32_t g_target_w = 1920, g_target_h = 1080; /* where the targets and the fan-out are measured */
static double g_load_start, g_load_end; /* the host's load average around the run */
static uint32_t g_settle = 1; /* the main runs: the frame is rendered before publish */
static uint32_t g_consumers = 1; /* --consumers: of the stream scenarios (0: producer alone) */
static char g_gl_renderer[128], g_gl_version[128], g_d3d12_adapter[128];

static HANDLE spawn(const char *role, const char *section, uint32_t index)
{
    wchar_t exe[MAX_PATH * 2], cmd[MAX_PATH * 2 + 256];
    STARTUPINFOW si;
    PROCESS_INFORMATION pi;
    GetModuleFileNameW(NULL, exe, MAX_PATH * 2);
    swprintf(cmd, MAX_PATH * 2 + 256, L"\"%ls\" --child %hs %hs %u", exe, role, section, index);
    memset(&si, 0, sizeof(si));
    si.cb = sizeof(si);
    si.dwFlags = STARTF_USESTDHANDLES;
    si.hStdInput = GetStdHandle(STD_INPUT_HANDLE);
    si.hStdOutput = GetStdHandle(STD_OUTPUT_HANDLE);
    si.hStdError = GetStdHandle(STD_ERROR_HANDLE);
    memset(&pi, 0, sizeof(pi));
    fflush(stdout);
    fflush(stderr);
    if (!CreateProcessW(exe, cmd, NULL, NULL, TRUE, 0, NULL, NULL, &si, &pi)) {
        fprintf(stderr, "dpbench: CreateProcess failed (%lu)\n", GetLastError());
        return NULL;
    }
    CloseHandle(pi.hThread);
    return pi.hProcess;
}

/* A run's section, filled with the parameters. */
static bench_shared *new_run(HANDLE *mapping, char *section, bench_kind kind, uint32_t w, uint32_t h,
                             uint32_t frames, uint32_t pace, uint32_t consumers)
{
    wchar_t wname[128];
    bench_shared *s;
    uint32_t n = ++g_run_counter;
    snprintf(section, 96, "Local\\dpbench.%lu.%u.run", (unsigned long)GetCurrentProcessId(), n);
    swprintf(wname, 128, L"%hs", section);
    *mapping = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, sizeof(bench_shared), wname);
    s = *mapping ? MapViewOfFile(*mapping, FILE_MAP_ALL_ACCESS, 0, 0, sizeof(bench_shared)) : NULL;
    if (!s)
        return NULL;
    memset(s, 0, sizeof(*s));
    s->kind = kind;
    s->width = w;
    s->height = h;
    s->frames = frames;
    s->warmup = frames ? 10 : 0;
    s->pace_hz = pace;
    s->consumers = consumers;
    s->qpc_freq = bench_freq();
    swprintf(s->port, 64, L"dpbench.%lu.%u", (unsigned long)GetCurrentProcessId(), n);
    s->magic = BENCH_MAGIC;
    return s;
}

/* Starts the producer (unless none) and the consumers, waits for all of them (or
 * gives up after limit_s: abort, then terminate what is left). true if all exited 0. */
static bool run_children(bench_shared *s, const char *section, const char *producer_role, uint32_t consumers,
                         DWORD limit_s, char *err)
{
    HANDLE procs[1 + BENCH_MAX_CONSUMERS];
    uint32_t n = 0;
    bool ok = true;
    DWORD w;
    procs[n] = spawn(producer_role, section, 0);
    if (procs[n])
        n++;
    for (uint32_t i = 0; i < consumers; i++)
        if ((procs[n] = spawn("consumer", section, i)) != NULL)
            n++;
    if (n != 1 + consumers) {
        InterlockedExchange(&s->abort, 1);
        snprintf(err, 600, "could not start the child processes");
        ok = false;
    }
    w = WaitForMultipleObjects(n, procs, TRUE, limit_s * 1000);
    if (w == WAIT_TIMEOUT) {
        InterlockedExchange(&s->abort, 1);
        snprintf(err, 600, "timed out after %lu s", (unsigned long)limit_s);
        ok = false;
        if (WaitForMultipleObjects(n, procs, TRUE, 10000) == WAIT_TIMEOUT)
            for (uint32_t i = 0; i < n; i++)
                TerminateProcess(procs[i], 0xDEAD); /* our own children only */
    }
    for (uint32_t i = 0; i < n; i++) {
        DWORD code = 1;
        GetExitCodeProcess(procs[i], &code);
        if (code != 0 && ok) {
            snprintf(err, 600, "child %u exited with %lu", i, (unsigned long)code);
            ok = false;
        }
        CloseHandle(procs[i]);
    }
    if (s->producer_error[0])
        snprintf(err, 600, "producer: %s", s->producer_error), ok = false;
    for (uint32_t i = 0; i < consumers; i++)
        if (s->consumer[i].error[0])
            snprintf(err, 600, "consumer %u: %s", i, s->consumer[i].error), ok = false;
    return ok;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of n sorted values. */
static double pct(const double *v, uint32_t n, double p)
{
    uint32_t k;
    if (!n)
        return 0;
    k = (uint32_t)(p / 100.0 * n + 0.999999);
    if (k < 1)
        k = 1;
    if (k > n)
        k = n;
    return v[k - 1];
}

static void floors_run(floor_result *f, uint32_t w, uint32_t h)
{
    char section[96], err[600] = "";
    HANDLE m;
    bench_shared *s = new_run(&m, section, BENCH_FLOORS, w, h, 0, 0, 0);
    memset(f, 0, sizeof(*f));
    f->w = w;
    f->h = h;
    if (!s)
        return;
    f->ok = run_children(s, section, "floors", 0, 180, err);
    if (!f->ok)
        fprintf(stderr, "dpbench: floors %ux%u: %s\n", w, h, err);
    f->memcpy_ms = s->floor_memcpy_ms;
    f->readback_ms = s->floor_readback_ms;
    f->upload_ms = s->floor_upload_ms;
    f->render_ms = s->floor_render_ms;
    f->readback_pbo_ms = s->floor_readback_pbo_ms;
    if (s->gl_renderer[0]) {
        memcpy(g_gl_renderer, s->gl_renderer, sizeof(g_gl_renderer));
        memcpy(g_gl_version, s->gl_version, sizeof(g_gl_version));
    }
    UnmapViewOfFile(s);
    CloseHandle(m);
}

static void stream_run(run_result *r, bench_kind kind, uint32_t w, uint32_t h, uint32_t frames, uint32_t pace,
                       uint32_t consumers, uint32_t idle_ms, uint32_t settle)
{
    char section[96];
    HANDLE m;
    int64_t t0 = bench_qpc();
    bench_shared *s = new_run(&m, section, kind, w, h, frames, pace, consumers);
    const uint32_t first = frames ? 11 : 1, last = frames ? 10 + frames : 0;
    double *v;
    uint32_t n = 0;
    DWORD limit = 60 + (DWORD)((frames + 10) * (w * h > 4000000 ? 400 : 150) / 1000) + idle_ms / 1000;

    memset(r, 0, sizeof(*r));
    r->kind = kind;
    r->w = w;
    r->h = h;
    r->pace = pace;
    r->consumers = consumers;
    r->frames = frames;
    r->settle = settle;
    if (!s) {
        snprintf(r->error, sizeof(r->error), "could not create the run section");
        return;
    }
    s->idle_ms = idle_ms;
    s->settle = settle;
    r->ok = run_children(s, section, "producer", consumers, limit, r->error);
    r->seconds = (double)(bench_qpc() - t0) / (double)bench_freq();
    memcpy(r->transport, s->transport, sizeof(r->transport));
    if (s->d3d12_adapter[0])
        memcpy(g_d3d12_adapter, s->d3d12_adapter, sizeof(g_d3d12_adapter));
    if (!frames) { /* idle */
        double cpu = 0, wall = 0;
        for (uint32_t i = 0; i < consumers; i++) {
            cpu += s->consumer[i].idle_cpu_s;
            wall += s->consumer[i].idle_wall_s;
            r->calib = s->consumer[i].calib_wall_s > 0 ? s->consumer[i].calib_cpu_s / s->consumer[i].calib_wall_s : 0;
            r->cpu_tick_ms = s->consumer[i].cpu_tick_s * 1000.0;
        }
        r->idle_cpu_pct = wall > 0 ? 100.0 * cpu / wall : 0;
        goto done;
    }
    v = malloc(sizeof(double) * (BENCH_MAX_FRAMES + 1) * BENCH_MAX_CONSUMERS);
    if (!v)
        goto done;
    /* producer: the successful publishes of the measured frames */
    for (uint32_t q = first; q <= last; q++) {
        if (s->publish_busy[q]) {
            r->busy++;
            continue;
        }
        if (s->publish_qpc[q])
            v[n++] = bench_ms(s, s->publish_ticks[q]);
    }
    qsort(v, n, sizeof(double), cmp_double);
    r->prod_samples = n;
    r->prod_p50 = pct(v, n, 50);
    r->prod_p99 = pct(v, n, 99);
    for (uint32_t i = 0; i < n; i++)
        r->prod_mean += v[i] / n;
    /* consumers: latency of every measured frame each one got */
    n = 0;
    r->delivered_min = UINT32_MAX;
    for (uint32_t c = 0; c < consumers; c++) {
        bench_consumer *bc = &s->consumer[c];
        uint32_t got = 0;
        int64_t end = 0;
        for (uint32_t q = first; q <= last; q++) {
            if (!bc->ready_qpc[q] || !s->publish_qpc[q])
                continue;
            v[n++] = bench_ms(s, bc->ready_qpc[q] - s->publish_qpc[q]);
            got++;
            if (bc->ready_qpc[q] > end)
                end = bc->ready_qpc[q];
        }
        if (got && end > s->producer_start_qpc)
            r->fps += (double)got / ((double)(end - s->producer_start_qpc) / (double)s->qpc_freq) / consumers;
        if (got < r->delivered_min)
            r->delivered_min = got;
        if (frames - got > r->dropped_max)
            r->dropped_max = frames - got;
        r->stale += bc->stale;
        r->torn += bc->torn;
        if (bc->acquired)
            r->cons_bytes += (double)bc->bytes_copied / bc->acquired / consumers;
    }
    if (r->delivered_min == UINT32_MAX)
        r->delivered_min = 0;
    qsort(v, n, sizeof(double), cmp_double);
    r->lat_samples = n;
    r->lat_p50 = pct(v, n, 50);
    r->lat_p99 = pct(v, n, 99);
    if (s->published)
        r->prod_bytes = (double)s->producer_bytes / s->published;
    if (s->publish_cpu_n)
        r->prod_cpu_mean = s->publish_cpu_s * 1000.0 / s->publish_cpu_n;
    free(v);
done:
    UnmapViewOfFile(s);
    CloseHandle(m);
}

/* ---- orchestrator: report ------------------------------------------------------------------ */

typedef struct {
    const char *id, *what;
    int met;          /* 1 met, 0 not met, -1 not measured */
    double value, limit;
    const char *unit;
    char detail[400];
} target;

static run_result g_runs[64];
static uint32_t g_nruns;
static floor_result g_floors[8];
static uint32_t g_nfloors;
static run_result g_idle[2];
static uint32_t g_nidle;
static target g_targets[8];
static uint32_t g_ntargets;

static const run_result *find_run_settle(bench_kind k, uint32_t w, uint32_t h, uint32_t pace, uint32_t consumers,
                                         uint32_t settle)
{
    for (uint32_t i = 0; i < g_nruns; i++)
        if (g_runs[i].kind == k && g_runs[i].w == w && g_runs[i].h == h && g_runs[i].pace == pace &&
            g_runs[i].consumers == consumers && g_runs[i].settle == settle)
            return g_runs[i].ok ? &g_runs[i] : NULL;
    return NULL;
}

/* One of the main runs (the frame rendered before publish, unless --no-settle). */
static const run_result *find_run(bench_kind k, uint32_t w, uint32_t h, uint32_t pace, uint32_t consumers)
{
    return find_run_settle(k, w, h, pace, consumers, g_settle);
}

static const floor_result *find_floor(uint32_t w, uint32_t h)
{
    for (uint32_t i = 0; i < g_nfloors; i++)
        if (g_floors[i].w == w && g_floors[i].h == h && g_floors[i].ok)
            return &g_floors[i];
    return NULL;
}

static double ratio(double a, double b)
{
    return b > 0 ? a / b : 0;
}

static const char *pace_name(uint32_t pace)
{
    return pace ? "60 Hz" : "unthrottled";
}

static void print_ratio(FILE *f, double x)
{
    if (x > 0)
        fprintf(f, "%.2fx", x);
    else
        fprintf(f, "-");
}

static void print_tables(FILE *f, double total_s)
{
    fprintf(f, "### Streams\n\n");
    fprintf(f, "| scenario | size | producer | consumers | frames | transport | producer ms p50 / p99 (thread CPU mean) | "
               "latency ms p50 / p99 | delivered fps | dropped (producer BUSY) | CPU bytes/frame producer / "
               "consumer | producer vs baseline | latency vs baseline | latency vs floors |\n");
    fprintf(f, "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (uint32_t i = 0; i < g_nruns; i++) {
        const run_result *r = &g_runs[i];
        const run_result *b = find_run_settle(BENCH_BASELINE, r->w, r->h, r->pace, 1, r->settle);
        const floor_result *fl = find_floor(r->w, r->h);
        fprintf(f, "| %s%s | %ux%u | %s | %u | %u | %s | ", kind_label(r->kind),
                r->settle ? "" : ", render pending at publish", r->w, r->h, pace_name(r->pace), r->consumers,
                r->frames, r->transport[0] ? r->transport : "-");
        if (!r->ok) {
            fprintf(f, "FAILED: %s | | | | | | | |\n", r->error);
            continue;
        }
        fprintf(f, "%.2f / %.2f (%.2f) | %.2f / %.2f | %.1f | %u (%u)%s | %.0f / %.0f | ", r->prod_p50, r->prod_p99,
                r->prod_cpu_mean, r->lat_p50, r->lat_p99, r->fps, r->dropped_max, r->busy, r->torn ? ", torn" : "", r->prod_bytes,
                r->cons_bytes);
        print_ratio(f, r->kind != BENCH_BASELINE && b ? ratio(r->prod_p50, b->prod_p50) : 0);
        fprintf(f, " | ");
        print_ratio(f, r->kind != BENCH_BASELINE && b ? ratio(r->lat_p50, b->lat_p50) : 0);
        fprintf(f, " | ");
        print_ratio(f, fl ? ratio(r->lat_p50, fl->readback_ms + fl->upload_ms) : 0);
        fprintf(f, " |\n");
    }
    fprintf(f, "\nBaseline frames torn (the producer rewrote the section during the consumer's upload): ");
    for (uint32_t i = 0, first = 1; i < g_nruns; i++)
        if (g_runs[i].kind == BENCH_BASELINE && g_runs[i].ok) {
            fprintf(f, "%s%ux%u %s%s: %u", first ? "" : ", ", g_runs[i].w, g_runs[i].h, pace_name(g_runs[i].pace),
                    g_runs[i].settle ? "" : " (render pending)", g_runs[i].torn);
            first = 0;
        }
    fprintf(f, ".\n\n### Floors (median of one operation on this machine)\n\n");
    fprintf(f, "| size | frame bytes | memcpy ms | glReadPixels ms | glTexSubImage2D + glFinish ms | readback + "
               "upload ms | producer's frame (clear + stamp) + glFinish ms | glReadPixels into a PBO, call ms |\n"
               "|---|---|---|---|---|---|---|---|\n");
    for (uint32_t i = 0; i < g_nfloors; i++) {
        const floor_result *fl = &g_floors[i];
        if (!fl->ok) {
            fprintf(f, "| %ux%u | FAILED | | | | | | |\n", fl->w, fl->h);
            continue;
        }
        fprintf(f, "| %ux%u | %u | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f |\n", fl->w, fl->h, fl->w * fl->h * 4,
                fl->memcpy_ms, fl->readback_ms, fl->upload_ms, fl->readback_ms + fl->upload_ms, fl->render_ms,
                fl->readback_pbo_ms);
    }
    fprintf(f, "\n### Idle consumer (no frames published)\n\n| consumer | window s | CPU %% of one core | "
               "GetProcessTimes check: CPU/wall of a busy spin | GetProcessTimes resolution ms |\n"
               "|---|---|---|---|---|\n");
    for (uint32_t i = 0; i < g_nidle; i++) {
        const run_result *r = &g_idle[i];
        if (!r->ok)
            fprintf(f, "| %s | FAILED: %s | | | |\n", kind_label(r->kind), r->error);
        else
            fprintf(f, "| %s | %.1f | %.4f | %.2f | %.3g |\n", kind_label(r->kind), r->seconds, r->idle_cpu_pct,
                    r->calib, r->cpu_tick_ms);
    }
    fprintf(f, "\n### Targets (%ux%u)\n\n| target | value | limit | met |\n|---|---|---|---|\n", g_target_w, g_target_h);
    for (uint32_t i = 0; i < g_ntargets; i++) {
        const target *t = &g_targets[i];
        fprintf(f, "| %s | ", t->what);
        if (t->met < 0)
            fprintf(f, "- | %.3g %s | not measured: %s |\n", t->limit, t->unit, t->detail);
        else
            fprintf(f, "%.3g %s | %.3g %s | %s%s%s |\n", t->value, t->unit, t->limit, t->unit, t->met ? "yes" : "NO",
                    t->detail[0] ? ": " : "", t->detail);
    }
    fprintf(f, "\nWhole run: %.0f s; host load average %.2f at the start, %.2f at the end. GL: %s (%s). D3D12: %s.\n",
            total_s, g_load_start, g_load_end, g_gl_renderer[0] ? g_gl_renderer : "?",
            g_gl_version[0] ? g_gl_version : "?", g_d3d12_adapter[0] ? g_d3d12_adapter : "?");
}

static target *add_target(const char *id, const char *what, const char *unit, double limit)
{
    target *t = &g_targets[g_ntargets++];
    memset(t, 0, sizeof(*t));
    t->id = id;
    t->what = what;
    t->unit = unit;
    t->limit = limit;
    t->met = -1;
    return t;
}

static void eval_targets(uint32_t fw, uint32_t fh)
{
    const run_result *d60 = find_run(BENCH_DPGL, fw, fh, 60, 1), *d0 = find_run(BENCH_DPGL, fw, fh, 0, 1);
    const run_result *b60 = find_run(BENCH_BASELINE, fw, fh, 60, 1), *b0 = find_run(BENCH_BASELINE, fw, fh, 0, 1);
    const floor_result *fl = find_floor(fw, fh);
    target *t;

    /* 1. producer time vs baseline, both pacings (the worse ratio counts) */
    t = add_target("producer_time", "DirectPort GL->GL producer time p50 / baseline's", "x", 0.5);
    if (d60 && b60 && d0 && b0) {
        double r60 = ratio(d60->prod_p50, b60->prod_p50), r0 = ratio(d0->prod_p50, b0->prod_p50);
        t->value = r60 > r0 ? r60 : r0;
        t->met = t->value <= t->limit;
        snprintf(t->detail, sizeof(t->detail), "60 Hz %.2f / %.2f ms = %.2fx, unthrottled %.2f / %.2f ms = %.2fx",
                 d60->prod_p50, b60->prod_p50, r60, d0->prod_p50, b0->prod_p50, r0);
    } else {
        snprintf(t->detail, sizeof(t->detail), "a run is missing or failed");
    }
    /* 2. latency vs floors, at 60 Hz (a frame at a time); unthrottled for information */
    t = add_target("latency", "DirectPort GL->GL latency p50 / (readback + upload floor), 60 Hz", "x", 1.25);
    if (d60 && fl) {
        t->value = ratio(d60->lat_p50, fl->readback_ms + fl->upload_ms);
        t->met = t->value <= t->limit;
        snprintf(t->detail, sizeof(t->detail), "%.2f ms / (%.2f + %.2f) ms; unthrottled: %.2fx", d60->lat_p50,
                 fl->readback_ms, fl->upload_ms,
                 d0 ? ratio(d0->lat_p50, fl->readback_ms + fl->upload_ms) : 0.0);
    } else {
        snprintf(t->detail, sizeof(t->detail), "a run is missing or failed");
    }
    /* 3. no drops at 60 Hz with one consumer */
    t = add_target("drops_60hz", "DirectPort GL->GL dropped frames at 60 Hz, 1 consumer", "frames", 0);
    if (d60) {
        t->value = d60->dropped_max;
        t->met = d60->dropped_max == 0 && d60->busy == 0;
        snprintf(t->detail, sizeof(t->detail), "%u of %u frames delivered, %u BUSY at the producer",
                 d60->delivered_min, d60->frames, d60->busy);
    } else {
        snprintf(t->detail, sizeof(t->detail), "the run is missing or failed");
    }
    /* 4. fan-out: producer time with 4 consumers vs 1 */
    t = add_target("fanout", "Producer time p50, 4 consumers / 1 consumer", "x", 1.10);
    {
        const run_result *f4_60 = find_run(BENCH_DPGL, fw, fh, 60, 4), *f4_0 = find_run(BENCH_DPGL, fw, fh, 0, 4);
        if (d60 && f4_60 && d0 && f4_0) {
            double r60 = ratio(f4_60->prod_p50, d60->prod_p50), r0 = ratio(f4_0->prod_p50, d0->prod_p50);
            t->value = r60 > r0 ? r60 : r0;
            t->met = t->value <= t->limit;
            snprintf(t->detail, sizeof(t->detail),
                     "60 Hz %.2f / %.2f ms = %.2fx, unthrottled %.2f / %.2f ms = %.2fx; render-thread CPU per "
                     "publish 60 Hz %.2f / %.2f ms, unthrottled %.2f / %.2f ms",
                     f4_60->prod_p50, d60->prod_p50, r60, f4_0->prod_p50, d0->prod_p50, r0, f4_60->prod_cpu_mean,
                     d60->prod_cpu_mean, f4_0->prod_cpu_mean, d0->prod_cpu_mean);
        } else {
            snprintf(t->detail, sizeof(t->detail), "a run is missing or failed");
        }
    }
    /* 5. idle CPU */
    t = add_target("idle_cpu", "Idle consumer CPU (worst of GL and D3D12)", "% of a core", 1.0);
    for (uint32_t i = 0; i < g_nidle; i++)
        if (g_idle[i].ok && (t->met < 0 || g_idle[i].idle_cpu_pct > t->value)) {
            t->value = g_idle[i].idle_cpu_pct;
            t->met = 1;
        }
    if (t->met >= 0)
        t->met = t->value <= t->limit;
    /* 6. CPU bytes per frame on the host path: one frame each side (60 Hz, consumer keeping up) */
    t = add_target("bytes_host", "CPU bytes copied per frame, host path (GL and D3D12, 60 Hz), each side", "B",
                   (double)fw * fh * 4);
    {
        const run_result *x60 = find_run(BENCH_D3D12, fw, fh, 60, 1);
        if (d60 && x60) {
            double worst = d60->prod_bytes;
            const double v[3] = {d60->cons_bytes, x60->prod_bytes, x60->cons_bytes};
            for (int i = 0; i < 3; i++)
                if (v[i] > worst)
                    worst = v[i];
            t->value = worst;
            /* a frame the consumer's worker copied and its render thread then skipped
             * for a newer one counts against it: 1 % slack */
            t->met = worst <= t->limit * 1.01;
            snprintf(t->detail, sizeof(t->detail), "dpgl %.0f / %.0f, d3d12 %.0f / %.0f (producer / consumer)",
                     d60->prod_bytes, d60->cons_bytes, x60->prod_bytes, x60->cons_bytes);
        } else {
            snprintf(t->detail, sizeof(t->detail), "a run is missing or failed");
        }
    }
    t = add_target("bytes_gpu", "CPU bytes copied per frame, GPU path", "B", 0);
    {
        bool gpu = false;
        for (uint32_t i = 0; i < g_nruns; i++)
            gpu |= strncmp(g_runs[i].transport, "gpu", 3) == 0;
        if (!gpu)
            snprintf(t->detail, sizeof(t->detail), "no port ran on the GPU transport here (no NT shared handles)");
        for (uint32_t i = 0; i < g_nruns; i++)
            if (g_runs[i].ok && strncmp(g_runs[i].transport, "gpu", 3) == 0) {
                double worst = g_runs[i].prod_bytes > g_runs[i].cons_bytes ? g_runs[i].prod_bytes : g_runs[i].cons_bytes;
                if (t->met < 0 || worst > t->value)
                    t->value = worst;
                t->met = t->value == 0;
            }
    }
}

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fprintf(f, "\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            fprintf(f, "\\u%04x", *s);
        else
            fputc(*s, f);
    }
    fputc('"', f);
}

static void write_json(FILE *f, double total_s, const char *wine, uint32_t cpus)
{
    fprintf(f, "{\n  \"schema\": \"directport-bench/1\",\n  \"settled\": %s,\n  \"machine\": {\"cpus\": %u, \"wine\": ",
            g_settle ? "true" : "false", cpus);
    json_str(f, wine);
    fprintf(f, ", \"gl_renderer\": ");
    json_str(f, g_gl_renderer);
    fprintf(f, ", \"gl_version\": ");
    json_str(f, g_gl_version);
    fprintf(f, ", \"d3d12_adapter\": ");
    json_str(f, g_d3d12_adapter);
    fprintf(f, ", \"loadavg_start\": %.2f, \"loadavg_end\": %.2f},\n  \"duration_s\": %.1f,\n  \"floors\": [",
            g_load_start, g_load_end, total_s);
    for (uint32_t i = 0; i < g_nfloors; i++) {
        const floor_result *fl = &g_floors[i];
        fprintf(f, "%s\n    {\"width\": %u, \"height\": %u, \"ok\": %s, \"frame_bytes\": %u, \"memcpy_ms\": %.4f, "
                   "\"readback_ms\": %.4f, \"upload_ms\": %.4f, \"render_ms\": %.4f, \"readback_pbo_call_ms\": %.4f}",
                i ? "," : "", fl->w, fl->h, fl->ok ? "true" : "false", fl->w * fl->h * 4, fl->memcpy_ms,
                fl->readback_ms, fl->upload_ms, fl->render_ms, fl->readback_pbo_ms);
    }
    fprintf(f, "\n  ],\n  \"runs\": [");
    for (uint32_t i = 0; i < g_nruns; i++) {
        const run_result *r = &g_runs[i];
        const run_result *b = find_run_settle(BENCH_BASELINE, r->w, r->h, r->pace, 1, r->settle);
        const floor_result *fl = find_floor(r->w, r->h);
        fprintf(f, "%s\n    {\"scenario\": \"%s\", \"width\": %u, \"height\": %u, \"pace_hz\": %u, \"consumers\": %u, "
                   "\"frames\": %u, \"settled\": %s, \"ok\": %s, \"error\": ",
                i ? "," : "", kind_name(r->kind), r->w, r->h, r->pace, r->consumers, r->frames,
                r->settle ? "true" : "false", r->ok ? "true" : "false");
        json_str(f, r->error);
        fprintf(f, ", \"transport\": ");
        json_str(f, r->transport);
        fprintf(f, ", \"seconds\": %.2f,\n     \"producer_ms\": {\"p50\": %.4f, \"p99\": %.4f, \"mean\": %.4f, "
                   "\"samples\": %u, \"cpu_mean\": %.4f},\n     \"latency_ms\": {\"p50\": %.4f, \"p99\": %.4f, \"samples\": %u},\n"
                   "     \"delivered_fps\": %.2f, \"delivered_min\": %u, \"dropped\": %u, \"producer_busy\": %u, "
                   "\"stale\": %u, \"torn\": %u,\n     \"cpu_bytes_per_frame\": {\"producer\": %.1f, \"consumer\": %.1f},\n"
                   "     \"ratios\": {\"producer_vs_baseline\": %.4f, \"latency_vs_baseline\": %.4f, "
                   "\"latency_vs_floors\": %.4f, \"producer_vs_readback_floor\": %.4f}}",
                r->seconds, r->prod_p50, r->prod_p99, r->prod_mean, r->prod_samples, r->prod_cpu_mean, r->lat_p50, r->lat_p99,
                r->lat_samples, r->fps, r->delivered_min, r->dropped_max, r->busy, r->stale, r->torn, r->prod_bytes,
                r->cons_bytes, b ? ratio(r->prod_p50, b->prod_p50) : 0.0, b ? ratio(r->lat_p50, b->lat_p50) : 0.0,
                fl ? ratio(r->lat_p50, fl->readback_ms + fl->upload_ms) : 0.0,
                fl ? ratio(r->prod_p50, fl->readback_ms) : 0.0);
    }
    fprintf(f, "\n  ],\n  \"idle\": [");
    for (uint32_t i = 0; i < g_nidle; i++) {
        const run_result *r = &g_idle[i];
        fprintf(f, "%s\n    {\"scenario\": \"%s\", \"ok\": %s, \"window_s\": %.2f, \"cpu_percent\": %.4f, "
                   "\"cpu_timer_check\": %.3f, \"cpu_timer_resolution_ms\": %.3f}",
                i ? "," : "", kind_name(r->kind), r->ok ? "true" : "false", r->seconds, r->idle_cpu_pct, r->calib,
                r->cpu_tick_ms);
    }
    fprintf(f, "\n  ],\n  \"targets\": [");
    for (uint32_t i = 0; i < g_ntargets; i++) {
        const target *t = &g_targets[i];
        fprintf(f, "%s\n    {\"id\": \"%s\", \"met\": %s, \"value\": %.6g, \"limit\": %.6g, \"unit\": ", i ? "," : "",
                t->id, t->met < 0 ? "null" : t->met ? "true" : "false", t->value, t->limit);
        json_str(f, t->unit);
        fprintf(f, ", \"detail\": ");
        json_str(f, t->detail);
        fprintf(f, "}");
    }
    fprintf(f, "\n  ]\n}\n");
}

/* ---- orchestrator: main ------------------------------------------------------------------- */

static bool wanted(const char *only, const char *what)
{
    const char *p;
    size_t n = strlen(what);
    if (!only)
        return true;
    for (p = strstr(only, what); p; p = strstr(p + 1, what))
        if ((p == only || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
            return true;
    return false;
}

/* The host's 1-minute load average, where Wine shows the Unix root as Z: (else -1):
 * other work on the machine skews every figure, so the report says how busy it was. */
static double load_average(void)
{
    FILE *f = fopen("Z:\\proc\\loadavg", "r");
    double v = -1;
    if (f) {
        if (fscanf(f, "%lf", &v) != 1)
            v = -1;
        fclose(f);
    }
    return v;
}


static void progress(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "# ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    fflush(stderr);
    va_end(ap);
}

int main(int argc, char **argv)
{
    const char *out = NULL, *md = NULL, *only = NULL, *sizes = "1280x720,1920x1080,3840x2160";
    uint32_t frames = 300, frames60 = 600, idle_ms = 5000, fw = 1920, fh = 1080;
    uint32_t sw[8], sh[8], nsizes = 0;
    const char *(*wine_version)(void) = NULL;
    const char *wine = "";
    SYSTEM_INFO si;
    int64_t t0;
    double total;
    bool failed = false;

    if (argc >= 5 && !strcmp(argv[1], "--child"))
        return bench_child(argv[2], argv[3], (uint32_t)strtoul(argv[4], NULL, 10));
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--no-settle")) {
            g_settle = 0;
            continue;
        }
        if (!strcmp(a, "--quick")) {
            sizes = "640x360";
            frames = frames60 = 60;
            idle_ms = 1000;
            continue;
        }
        if (!v) {
            fprintf(stderr, "usage: dpbench.exe [--out F] [--md F] [--frames N] [--frames-60 N] [--sizes WxH,...] "
                            "[--only baseline,dpgl,d3d12,floors,fanout,pending,idle] [--idle-ms MS] [--consumers N] [--no-settle] "
                            "[--quick]\n");
            return 2;
        }
        i++;
        if (!strcmp(a, "--out"))
            out = v;
        else if (!strcmp(a, "--md"))
            md = v;
        else if (!strcmp(a, "--frames"))
            frames = (uint32_t)strtoul(v, NULL, 10);
        else if (!strcmp(a, "--frames-60"))
            frames60 = (uint32_t)strtoul(v, NULL, 10);
        else if (!strcmp(a, "--sizes"))
            sizes = v;
        else if (!strcmp(a, "--only"))
            only = v;
        else if (!strcmp(a, "--consumers"))
            g_consumers = (uint32_t)strtoul(v, NULL, 10) % (BENCH_MAX_CONSUMERS + 1);
        else if (!strcmp(a, "--idle-ms"))
            idle_ms = (uint32_t)strtoul(v, NULL, 10);
        else {
            fprintf(stderr, "dpbench: unknown option %s\n", a);
            return 2;
        }
    }
    if (frames < 1 || frames + 10 > BENCH_MAX_FRAMES || frames60 + 10 > BENCH_MAX_FRAMES) {
        fprintf(stderr, "dpbench: frames must be 1..%u\n", BENCH_MAX_FRAMES - 10);
        return 2;
    }
    for (const char *p = sizes; p && *p && nsizes < 8;) {
        unsigned w = 0, h = 0;
        if (sscanf(p, "%ux%u", &w, &h) != 2 || !w || !h || w > 8192 || h > 8192) {
            fprintf(stderr, "dpbench: bad size list %s\n", sizes);
            return 2;
        }
        sw[nsizes] = w, sh[nsizes++] = h;
        p = strchr(p, ',');
        if (p)
            p++;
    }
    /* The targets and the fan-out are at 1920x1080, or the first size without it. */
    {
        bool has = false;
        for (uint32_t i = 0; i < nsizes; i++)
            has |= sw[i] == 1920 && sh[i] == 1080;
        if (!has)
            fw = sw[0], fh = sh[0];
        g_target_w = fw;
        g_target_h = fh;
    }
    {
        HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
        FARPROC p = ntdll ? GetProcAddress(ntdll, "wine_get_version") : NULL;
        memcpy(&wine_version, &p, sizeof(p));
        if (wine_version)
            wine = wine_version();
    }
    GetSystemInfo(&si);
    bench_freq();
    t0 = bench_qpc();
    g_load_start = load_average();
    progress("dpbench: %u CPUs, Wine %s, QPC %lld Hz, load average %.2f", (unsigned)si.dwNumberOfProcessors,
             wine[0] ? wine : "(none)", (long long)bench_freq(), g_load_start);

    if (wanted(only, "floors"))
        for (uint32_t i = 0; i < nsizes; i++) {
            floor_result *f = &g_floors[g_nfloors++];
            floors_run(f, sw[i], sh[i]);
            failed |= !f->ok;
            progress("floors %ux%u: memcpy %.2f ms, glReadPixels %.2f ms, glTexSubImage2D %.2f ms", sw[i], sh[i],
                     f->memcpy_ms, f->readback_ms, f->upload_ms);
        }
    for (uint32_t i = 0; i < nsizes; i++)
        for (uint32_t pace = 0; pace <= 60; pace += 60) {
            static const bench_kind kinds[3] = {BENCH_BASELINE, BENCH_DPGL, BENCH_D3D12};
            for (int k = 0; k < 3; k++) {
                run_result *r;
                uint32_t n = pace && sw[i] == fw && sh[i] == fh ? frames60 : frames;
                if (!wanted(only, kind_name(kinds[k])))
                    continue;
                r = &g_runs[g_nruns++];
                stream_run(r, kinds[k], sw[i], sh[i], n, pace, g_consumers, 0, g_settle);
                failed |= !r->ok;
                progress("%s %ux%u %s: %s producer p50 %.2f ms, latency p50 %.2f ms, %.1f fps, %u dropped (%.1f s)",
                         kind_name(kinds[k]), sw[i], sh[i], pace_name(pace), r->ok ? "" : r->error, r->prod_p50,
                         r->lat_p50, r->fps, r->dropped_max, r->seconds);
            }
        }
    if (wanted(only, "fanout"))
        for (uint32_t pace = 0; pace <= 60; pace += 60)
            for (uint32_t n = 2; n <= BENCH_MAX_CONSUMERS; n *= 2) {
                run_result *r = &g_runs[g_nruns++];
                stream_run(r, BENCH_DPGL, fw, fh, pace ? frames60 : frames, pace, n, 0, g_settle);
                failed |= !r->ok;
                progress("fan-out %u consumers %ux%u %s: %s producer p50 %.2f ms, latency p50 %.2f ms, %.1f fps, "
                         "%u dropped (%.1f s)",
                         n, fw, fh, pace_name(pace), r->ok ? "" : r->error, r->prod_p50, r->lat_p50, r->fps,
                         r->dropped_max, r->seconds);
            }
    /* The realistic loop on a software rasterizer: the frame's rendering is still queued
     * when publish is called, so whichever call syncs first does it. */
    if (g_settle && wanted(only, "pending"))
        for (uint32_t pace = 0; pace <= 60; pace += 60)
            for (int k = 0; k < 2; k++) {
                run_result *r = &g_runs[g_nruns++];
                stream_run(r, k ? BENCH_DPGL : BENCH_BASELINE, fw, fh, frames, pace, 1, 0, 0);
                failed |= !r->ok;
                progress("%s %ux%u %s, render pending: %s producer p50 %.2f ms, latency p50 %.2f ms, %.1f fps, "
                         "%u dropped (%.1f s)",
                         kind_name(r->kind), fw, fh, pace_name(pace), r->ok ? "" : r->error, r->prod_p50, r->lat_p50,
                         r->fps, r->dropped_max, r->seconds);
            }
    if (wanted(only, "idle"))
        for (int k = 0; k < 2; k++) {
            run_result *r = &g_idle[g_nidle++];
            stream_run(r, k ? BENCH_D3D12 : BENCH_DPGL, 1280, 720, 0, 0, 1, idle_ms, g_settle);
            failed |= !r->ok;
            r->seconds = (double)idle_ms / 1000.0;
            progress("idle %s consumer: %.3f %% of a core over %.1f s (timer check %.2f)", kind_name(r->kind),
                     r->idle_cpu_pct, r->seconds, r->calib);
        }
    g_load_end = load_average();
    eval_targets(fw, fh);
    total = (double)(bench_qpc() - t0) / (double)bench_freq();
    print_tables(stdout, total);
    if (md) {
        FILE *f = fopen(md, "w");
        if (f) {
            print_tables(f, total);
            fclose(f);
        }
    }
    if (out) {
        FILE *f = fopen(out, "w");
        if (!f) {
            fprintf(stderr, "dpbench: cannot write %s\n", out);
            return 1;
        }
        write_json(f, total, wine, (uint32_t)si.dwNumberOfProcessors);
        fclose(f);
    }
    return failed ? 1 : 0;
}
