/*
 * bench.h - DirectPort's benchmark (dpbench.exe): what the producer pays per frame and
 * how fast frames arrive, beside the blocking shared-memory baseline. docs/benchmarks.md
 * describes the method and the results.
 *
 * One executable, three kinds of process:
 *   dpbench.exe [options]                  the orchestrator: runs every scenario, spawns
 *                                          the children, prints the tables, writes JSON
 *   dpbench.exe --child ROLE SECTION INDEX a producer, a consumer or the floors probe of
 *                                          one run; everything else it needs is in the
 *                                          run's named section (bench_shared)
 *
 * A run's section carries the parameters in, the raw samples out: the producer stamps
 * QueryPerformanceCounter for each frame sequence number when it calls publish
 * (publish_qpc[seq]) and writes seq into the frame's top-left pixels; a consumer reads
 * those pixels back from the texture it got and stamps QPC once they are readable
 * (ready_qpc[seq]). QPC is machine-wide, so the two stamps share a clock.
 */
#ifndef DPBENCH_H
#define DPBENCH_H

#define COBJMACROS
#include <windows.h>
#include <stdbool.h>
#include <stdint.h>

#define BENCH_MAGIC 0x48434e42u /* "BNCH" */
#define BENCH_MAX_FRAMES 1200u  /* measured + warm-up frames of one run */
#define BENCH_MAX_CONSUMERS 4u
#define BENCH_STAMP_PIXELS 2    /* pixels of row 0 (the top row) that carry seq */
#define BENCH_FRAME_LATENCY 2   /* frames a producer lets the GPU queue, as a swap chain would */

typedef enum {
    BENCH_BASELINE = 1, /* glReadPixels + memcpy into a section + SetEvent / wait + glTexSubImage2D */
    BENCH_DPGL = 2,     /* dpgl_publish_framebuffer / dpgl_acquire */
    BENCH_D3D12 = 3,    /* dp12_begin/end_frame / dp12_acquire/release_frame */
    BENCH_FLOORS = 4    /* one memcpy, one glReadPixels, one glTexSubImage2D */
} bench_kind;

typedef struct {
    volatile int64_t ready_qpc[BENCH_MAX_FRAMES + 1]; /* seq -> QPC when its pixels were readable; 0: never */
    volatile LONG done;         /* finished (results below are final) */
    uint32_t acquired;          /* successful acquires, warm-up included */
    uint32_t stale;             /* acquires that gave a seq already seen or out of range */
    uint32_t torn;              /* baseline: the producer rewrote the section during the upload */
    uint64_t bytes_copied;      /* dp_get_stats().bytes_copied_cpu delta of this process */
    double idle_cpu_s, idle_wall_s; /* idle runs: process CPU time over the idle window */
    double calib_cpu_s, calib_wall_s; /* GetProcessTimes over a busy spin: is it trustworthy? */
    double cpu_tick_s;          /* the smallest step GetProcessTimes moved by */
    char error[256];
} bench_consumer;

typedef struct {
    uint32_t magic;
    uint32_t kind;              /* bench_kind */
    uint32_t width, height;
    uint32_t frames;            /* measured frames; 0: idle run (the producer publishes nothing) */
    uint32_t warmup;            /* frames before the measured ones (seq 1..warmup) */
    uint32_t pace_hz;           /* 0: unthrottled */
    uint32_t consumers;
    uint32_t idle_ms;
    uint32_t settle;            /* 1: the producer waits for its render before publishing (not timed) */
    wchar_t port[64];           /* the port name (and the baseline's object prefix) */
    volatile LONG producer_ready;
    volatile LONG consumers_ready;
    volatile LONG producer_done;/* every frame published (or dropped) */
    volatile LONG consumers_done;
    volatile LONG abort;        /* the orchestrator gave up: children exit */
    int64_t qpc_freq;
    /* producer */
    volatile int64_t publish_qpc[BENCH_MAX_FRAMES + 1]; /* seq -> QPC at the publish call */
    int64_t publish_ticks[BENCH_MAX_FRAMES + 1];         /* seq -> QPC ticks inside the publish call(s) */
    uint8_t publish_busy[BENCH_MAX_FRAMES + 1];          /* seq -> 1: dropped (DP_ERROR_BUSY) */
    uint32_t published;         /* successful publishes, warm-up included */
    double publish_cpu_s;       /* producer thread CPU time inside the measured successful publishes */
    uint32_t publish_cpu_n;     /* ... and how many they were */
    uint64_t producer_bytes;    /* CPU bytes the producer process copied */
    int64_t producer_start_qpc, producer_end_qpc; /* first measured publish, after the last */
    char transport[16];         /* what the port runs on */
    char producer_error[256];
    /* floors (kind BENCH_FLOORS), median ms */
    double floor_memcpy_ms, floor_readback_ms, floor_upload_ms;
    double floor_render_ms;     /* the producer's frame (a full clear + the stamp) + glFinish */
    double floor_readback_pbo_ms; /* glReadPixels into a pixel pack buffer: the call alone */
    char gl_renderer[128], gl_version[128];
    char d3d12_adapter[128];
    bench_consumer consumer[BENCH_MAX_CONSUMERS];
} bench_shared;

/* ---- helpers (bench_main.c) ---- */
int64_t bench_qpc(void);
double bench_ms(const bench_shared *s, int64_t ticks);
/* Sleeps until QPC reaches deadline (Sleep for the bulk, a short spin at the end). */
void bench_sleep_until(int64_t deadline);
/* The QPC deadline of frame i (0-based) of a paced producer, or 0 when unthrottled;
 * *start is set on the first call; a producer running late is not made to catch up. */
int64_t bench_pace(const bench_shared *s, int64_t *next);
/* Waits (polling) until *v >= target, s->abort, or timeout_ms; true if reached. */
bool bench_wait_count(const bench_shared *s, volatile LONG *v, LONG target, DWORD timeout_ms);
void bench_error(char *dst, const char *fmt, ...);
/* Process CPU seconds (kernel + user) of the current process. */
double bench_process_cpu(void);
/* CPU seconds of the calling thread. Coarse (10 ms under Wine), but summed over
 * hundreds of calls whose start is unrelated to the tick it is an unbiased estimate. */
double bench_thread_cpu(void);
/* A producer's bookkeeping for one measured publish: CPU time, ticks, busy. */
void bench_record_publish(bench_shared *s, uint32_t seq, int64_t ticks, bool busy, double cpu_s);
/* Measures how well GetProcessTimes follows a busy spin of ms. */
void bench_calibrate_cpu(bench_consumer *c, DWORD ms);
/* seq from the BENCH_STAMP_PIXELS RGBA8 stamp pixels; 0 if they disagree. */
uint32_t bench_stamp_seq(const uint8_t *px);

/* ---- children (bench_gl.c, bench_d3d12.c) ---- */
int bench_gl_producer(bench_shared *s);
int bench_gl_consumer(bench_shared *s, uint32_t index);
int bench_gl_floors(bench_shared *s);
int bench_d3d12_producer(bench_shared *s);
int bench_d3d12_consumer(bench_shared *s, uint32_t index);

/* Shared by every consumer kind: records frame seq as ready at QPC `ready`; returns
 * true when it was the last one. */
bool bench_consumer_got(bench_shared *s, bench_consumer *c, uint32_t seq, int64_t ready);
/* Whether a consumer that waited in vain should stop: the producer is done and no
 * frame came for a second, or the run is aborted. */
bool bench_consumer_should_stop(const bench_shared *s, int64_t last_frame_qpc);

#endif
