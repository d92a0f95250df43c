/*
 * directporthost.c - the host transport: a port's pixels in a named section, kept in
 * step with each handle's local textures by a worker thread per handle.
 * directportint.h describes the jobs and the legacy follow mode.
 */
#include "directportint.h"

#define DP_HOST_JOBS 16u
_Static_assert(DP_HOST_JOBS >= 2 * DPB_MAX_SLOTS, "a producer can queue a readback per slot");
/* A frame's copy between the section and a backend's mapped memory is split across the
 * worker and up to this many helpers (one per four processors), for slots of
 * DP_HOST_SPLIT_MIN bytes or more: one
 * core copies about 10 GB/s when warm and much less when woken from idle at 60 Hz (an
 * 8 MB frame took 1.4 ms there, docs/benchmarks.md), and every copy is on a frame's path. */
#define DP_HOST_COPIERS 3u
#define DP_HOST_SPLIT_MIN (1u << 20)

typedef struct {
    uint32_t texture;
    uint32_t slot;
    uint64_t frame;
} dp_host_job;

/* The rows one dp_host_copy moves: dst row r is src row r, or rows - 1 - r with flip. */
typedef struct {
    uint8_t *dst;
    const uint8_t *src;
    size_t dst_pitch, src_pitch, row_bytes;
    uint32_t rows;
    bool flip;
} dp_host_rows;

typedef struct dp_host_copier {
    struct dp_host *host;
    uint32_t index;         /* its band: index + 1 of copiers + 1 */
    HANDLE go;              /* auto-reset: a copy, or stop */
    HANDLE done;            /* auto-reset: its band is copied */
    HANDLE thread;
} dp_host_copier;

struct dp_host {
    dp_port *port;
    dp_gen *gen;            /* the generation whose pixels these are; ops get it */
    dp_section pixels;
    uint64_t slot_size;
    HANDLE kick;            /* auto-reset: a job, a mode change or stop */
    HANDLE idle;            /* manual-reset: no job queued or running */
    HANDLE thread;
    volatile LONG stop;
    volatile LONG cpu_written;
    volatile LONG frame_mode;
    uint64_t followed;      /* consumer: the last frame the legacy follow mode uploaded */
    SRWLOCK follow;         /* held by the worker around one legacy follow step */
    SRWLOCK lock;           /* guards the queue and busy */
    dp_host_job jobs[DP_HOST_JOBS];
    uint32_t head, count;
    uint32_t busy;          /* producer: slots with a readback queued or running */
    const dp_backend *ops;  /* the port's backend: its host_* members */
    dp_host_rows copy;      /* the copy the helpers share, written before their go */
    uint32_t copiers;       /* helpers running */
    dp_host_copier copier[DP_HOST_COPIERS];
};

uint8_t *dp_host_slot(dp_host *h, uint32_t slot)
{
    return (uint8_t *)h->pixels.view + (uint64_t)slot * h->slot_size;
}

void dp_host_mark_cpu_written(dp_host *h)
{
    InterlockedExchange(&h->cpu_written, 1);
}

void dp_host_enter_frame_mode(dp_host *h)
{
    if (InterlockedExchange(&h->frame_mode, 1))
        return;
    SetEvent(h->kick);
    AcquireSRWLockExclusive(&h->follow);
    ReleaseSRWLockExclusive(&h->follow);
}

static void dp_host_push(dp_host *h, uint32_t texture, uint32_t slot, uint64_t frame, bool busy)
{
    dp_host_enter_frame_mode(h);
    AcquireSRWLockExclusive(&h->lock);
    if (h->count < DP_HOST_JOBS) {
        dp_host_job *j = &h->jobs[(h->head + h->count++) % DP_HOST_JOBS];
        j->texture = texture;
        j->slot = slot;
        j->frame = frame;
        if (busy)
            h->busy |= 1u << slot;
        ResetEvent(h->idle);
    }
    ReleaseSRWLockExclusive(&h->lock);
    SetEvent(h->kick);
}

void dp_host_readback(dp_host *h, uint32_t texture, uint32_t slot, uint64_t frame)
{
    dp_host_push(h, texture, slot, frame, true);
}

void dp_host_upload(dp_host *h, uint32_t slot, uint32_t texture, uint64_t frame)
{
    dp_host_push(h, texture, slot, frame, false);
}

uint32_t dp_host_busy(dp_host *h)
{
    uint32_t busy;
    AcquireSRWLockShared(&h->lock);
    busy = h->busy;
    ReleaseSRWLockShared(&h->lock);
    return busy;
}

void dp_host_kick(dp_host *h)
{
    SetEvent(h->kick);
}

void dp_host_drain(dp_host *h)
{
    WaitForSingleObject(h->idle, INFINITE);
}

static bool dp_host_stopping(dp_host *h)
{
    return InterlockedCompareExchange(&h->stop, 0, 0) != 0;
}

/* Band `part` of `parts` of the copy c. */
static void dp_host_copy_band(const dp_host_rows *c, uint32_t part, uint32_t parts)
{
    uint32_t first = (uint32_t)((uint64_t)c->rows * part / parts);
    uint32_t end = (uint32_t)((uint64_t)c->rows * (part + 1) / parts);
    if (!c->flip && c->dst_pitch == c->row_bytes && c->src_pitch == c->row_bytes) {
        memcpy(c->dst + (size_t)first * c->row_bytes, c->src + (size_t)first * c->row_bytes,
               (size_t)(end - first) * c->row_bytes);
        return;
    }
    for (uint32_t y = first; y < end; y++)
        memcpy(c->dst + (size_t)y * c->dst_pitch, c->src + (size_t)(c->flip ? c->rows - 1 - y : y) * c->src_pitch,
               c->row_bytes);
}

void dp_host_copy(dp_host *h, uint8_t *dst, size_t dst_pitch, const uint8_t *src, size_t src_pitch,
                  size_t row_bytes, uint32_t rows, bool flip)
{
    dp_host_rows c = {dst, src, dst_pitch, src_pitch, row_bytes, rows, flip};
    uint32_t n = h && (uint64_t)row_bytes * rows >= DP_HOST_SPLIT_MIN && rows > DP_HOST_COPIERS ? h->copiers : 0;
    HANDLE done[DP_HOST_COPIERS];
    if (!n) {
        dp_host_copy_band(&c, 0, 1);
        return;
    }
    h->copy = c; /* SetEvent orders this before the helpers' reads */
    for (uint32_t i = 0; i < n; i++) {
        done[i] = h->copier[i].done;
        SetEvent(h->copier[i].go);
    }
    dp_host_copy_band(&c, 0, n + 1);
    WaitForMultipleObjects(n, done, TRUE, INFINITE);
}

static DWORD WINAPI dp_host_copier_main(void *arg)
{
    dp_host_copier *k = arg;
    dp_host *h = k->host;
    for (;;) {
        WaitForSingleObject(k->go, INFINITE);
        if (dp_host_stopping(h))
            return 0;
        dp_host_copy_band(&h->copy, k->index + 1, h->copiers + 1);
        SetEvent(k->done);
    }
}

/* Starts a helper per four processors, up to DP_HOST_COPIERS: the render threads, the
 * driver's threads and the other side's worker keep the rest (none on 2 cores, where
 * llvmpipe renders on both). DIRECTPORT_COPY_HELPERS=0..3 sets the count instead. A
 * helper that cannot start leaves the copies to those that did. */
static void dp_host_start_copiers(dp_host *h)
{
    SYSTEM_INFO si;
    char v[4];
    uint32_t want;
    GetSystemInfo(&si);
    want = si.dwNumberOfProcessors / 4;
    if (GetEnvironmentVariableA("DIRECTPORT_COPY_HELPERS", v, sizeof(v)) == 1 && v[0] >= '0' &&
        v[0] <= (char)('0' + DP_HOST_COPIERS))
        want = (uint32_t)(v[0] - '0');
    if (want > DP_HOST_COPIERS)
        want = DP_HOST_COPIERS;
    if (h->slot_size < DP_HOST_SPLIT_MIN)
        return;
    for (uint32_t i = 0; i < want; i++) {
        dp_host_copier *k = &h->copier[i];
        k->host = h;
        k->index = i;
        k->go = dp_track(CreateEventW(NULL, FALSE, FALSE, NULL));
        k->done = dp_track(CreateEventW(NULL, FALSE, FALSE, NULL));
        k->thread = k->go && k->done ? dp_track(CreateThread(NULL, 0, dp_host_copier_main, k, 0, NULL)) : NULL;
        if (!k->thread) {
            dp_close_handle(&k->go);
            dp_close_handle(&k->done);
            break;
        }
        dp_stats_threads(1);
        h->copiers++;
    }
}

/* After the worker is stopped (h->stop set): no copy is under way. */
static void dp_host_stop_copiers(dp_host *h)
{
    for (uint32_t i = 0; i < h->copiers; i++) {
        dp_host_copier *k = &h->copier[i];
        dp_thread_stop(&k->thread, &h->stop, k->go);
        dp_close_handle(&k->go);
        dp_close_handle(&k->done);
    }
    h->copiers = 0;
}

/* Runs one queued job; false if the queue was empty. */
static bool dp_host_run_job(dp_host *h)
{
    dp_port *p = h->port;
    dp_host_job j;
    AcquireSRWLockExclusive(&h->lock);
    if (!h->count) {
        SetEvent(h->idle);
        ReleaseSRWLockExclusive(&h->lock);
        return false;
    }
    j = h->jobs[h->head];
    ReleaseSRWLockExclusive(&h->lock);

    if (p->producer) {
        uint64_t done = 0;
        while (done < j.frame && !dp_host_stopping(h))
            done = h->ops->host_wait_local(h->gen, j.frame - 1, h->kick);
        if (done >= j.frame && h->ops->host_readback(h->gen, j.texture, dp_host_slot(h, j.slot))) {
            dp_stats_copied(h->slot_size);
            dp_ring_publish(p, j.slot, j.frame);
        }
    } else {
        if (h->ops->host_upload(h->gen, j.texture, dp_host_slot(h, j.slot), j.frame))
            dp_stats_copied(h->slot_size);
        /* The pixels are in the handle's own texture now: the section slot is free. */
        dp_ring_unclaim(p, p->reader, j.slot);
    }

    AcquireSRWLockExclusive(&h->lock);
    h->head = (h->head + 1) % DP_HOST_JOBS;
    h->count--;
    if (p->producer)
        h->busy &= ~(1u << j.slot);
    ReleaseSRWLockExclusive(&h->lock);
    return true;
}

/* Whether any consumer claims slot 0. */
static bool dp_host_slot0_claimed(const dp_host *h)
{
    for (uint32_t i = 0; i < DPB_MAX_READERS; i++)
        if (h->port->block->reader[i].claim & 1u)
            return true;
    return false;
}

/* Legacy producer: publish whatever the local fence reached, from texture 0. */
static void dp_host_follow_producer(dp_host *h, uint64_t *last)
{
    volatile LONG64 *latest = (volatile LONG64 *)&h->port->block->latest;
    uint64_t v = h->ops->host_wait_local(h->gen, *last, h->kick);
    LONG64 was;
    bool published = false;
    if (v <= *last || h->frame_mode || dp_host_stopping(h))
        return;
    /* Slot 0 is the only one a legacy producer writes, in place. Its frame is withdrawn
     * first: a consumer that claimed it before still holds its claim (claims are made,
     * then latest is read again), one that comes after finds no frame. Then this thread
     * (never the caller's) waits for the claims to go, so no consumer gets a torn frame
     * or one frame's pixels under another's value. A claim a dead consumer left is
     * reclaimed after a second. */
    was = InterlockedExchange64(latest, 0);
    for (int spins = 0; dp_host_slot0_claimed(h) && !h->frame_mode && !dp_host_stopping(h); spins++) {
        if (spins == 1000)
            dp_ring_reclaim_dead(h->port);
        Sleep(1);
    }
    AcquireSRWLockShared(&h->follow);
    if (!h->frame_mode && !dp_host_stopping(h)) {
        /* Pixels the CPU wrote through a map are already in the section. */
        published = InterlockedExchange(&h->cpu_written, 0) || h->ops->host_readback(h->gen, 0, dp_host_slot(h, 0));
        if (published) {
            dp_ring_publish(h->port, 0, v);
            *last = v;
        }
    }
    /* Nothing new went into the slot: its frame is back. */
    if (!published)
        InterlockedCompareExchange64(latest, was, 0);
    ReleaseSRWLockShared(&h->follow);
}

/* Legacy consumer: bring each newer frame into texture 0. */
static void dp_host_follow_consumer(dp_host *h)
{
    dp_port *p = h->port;
    uint64_t seen = dp_port_published(p);
    uint32_t slot;
    uint64_t frame;
    bool claimed;

    AcquireSRWLockShared(&h->follow);
    claimed = !h->frame_mode && p->block->generation == h->gen->geo.generation &&
              dp_ring_claim(p, h->gen->geo.slots, h->followed, &slot, &frame) == DP_OK;
    bool uploaded = false;
    if (claimed) {
        uploaded = h->ops->host_upload(h->gen, 0, dp_host_slot(h, slot), frame);
        if (uploaded) {
            dp_stats_copied(h->slot_size);
            h->followed = frame;
        }
        dp_ring_unclaim(p, p->reader, slot);
    }
    ReleaseSRWLockShared(&h->follow);
    if (claimed && !uploaded)
        WaitForSingleObject(h->kick, INFINITE);
    if (claimed)
        return;
    /* Nothing new (or the port moved to a new generation, which the handle follows at
     * its next acquire): sleep until a publish or a kick. A dead producer only wakes
     * us once: after that, wait for the kick alone. */
    if (dp_port_wait_published(p, seen, h->kick, UINT32_MAX) == DP_ERROR_DISCONNECTED)
        WaitForSingleObject(h->kick, INFINITE);
}

static DWORD WINAPI dp_host_main(void *arg)
{
    dp_host *h = arg;
    uint64_t last = h->port->producer ? dp_port_published(h->port) : 0;
    while (!dp_host_stopping(h)) {
        if (dp_host_run_job(h))
            continue;
        if (InterlockedCompareExchange(&h->frame_mode, 0, 0))
            WaitForSingleObject(h->kick, INFINITE);
        else if (h->port->producer)
            dp_host_follow_producer(h, &last);
        else
            dp_host_follow_consumer(h);
    }
    return 0;
}

DP_RESULT dp_host_start(dp_gen *g, const dp_security *sec)
{
    wchar_t name[DPN_LEN];
    dp_port *p = g->port;
    dp_host *h = HeapAlloc(GetProcessHeap(), HEAP_ZERO_MEMORY, sizeof(*h));
    DP_RESULT r;
    if (!h)
        return dp_fail(DP_ERROR_OUT_OF_MEMORY, "out of memory");
    g->host = h;
    h->port = p;
    h->gen = g;
    h->ops = p->backend;
    h->slot_size = (uint64_t)g->geo.row_pitch * g->geo.height;
    InitializeSRWLock(&h->lock);
    InitializeSRWLock(&h->follow);
    if (!dpn_pixels_name(name, DP_ARRAY_SIZE(name), &p->names, g->geo.generation))
        return dp_fail(DP_ERROR_INVALID_ARGUMENT, "port name too long");
    /* A generation's section is made once, by its producer: an existing one is someone
     * else's. A consumer finds it no smaller than the geometry it validated. */
    r = dp_section_map(&h->pixels, name, sec ? (SECURITY_ATTRIBUTES *)&sec->sa : NULL, h->slot_size * g->geo.slots,
                       true, NULL, "pixel");
    if (r != DP_OK)
        return r;
    h->kick = dp_track(CreateEventW(NULL, FALSE, FALSE, NULL));
    h->idle = dp_track(CreateEventW(NULL, TRUE, TRUE, NULL));
    if (!h->kick || !h->idle)
        return dp_fail_win32(DP_ERROR_OUT_OF_MEMORY, GetLastError(), "CreateEvent(host worker)");
    /* The helpers first: the worker may copy at once. */
    dp_host_start_copiers(h);
    h->thread = dp_track(CreateThread(NULL, 0, dp_host_main, h, 0, NULL));
    if (!h->thread)
        return dp_fail_win32(DP_ERROR_OUT_OF_MEMORY, GetLastError(), "CreateThread(host worker)");
    dp_stats_threads(1);
    return DP_OK;
}

void dp_host_destroy(dp_host *h)
{
    if (!h)
        return;
    dp_thread_stop(&h->thread, &h->stop, h->kick);
    /* The copiers too, the worker gone: no copy is under way. */
    InterlockedExchange(&h->stop, 1);
    dp_host_stop_copiers(h);
    dp_close_handle(&h->kick);
    dp_close_handle(&h->idle);
    dp_section_unmap(&h->pixels);
    HeapFree(GetProcessHeap(), 0, h);
}

/* ---- The reference's extras ---- */

bool dp_host_in_frame_mode(dp_host *h)
{
    return InterlockedCompareExchange(&h->frame_mode, 0, 0) != 0;
}
