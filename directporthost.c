/*
 * directporthost.c - the host transport: a port's pixels in a named section, kept in
 * step with each handle's local textures by a worker thread per handle.
 * directportint.h describes the jobs and the legacy follow mode.
 */
#include "directportint.h"

#define DP_HOST_JOBS 16u
_Static_assert(DP_HOST_JOBS >= 2 * DPB_MAX_SLOTS, "a producer can queue a readback per slot");

typedef struct {
    uint32_t texture;
    uint32_t slot;
    uint64_t frame;
} dp_host_job;

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
    if (h->thread) {
        InterlockedExchange(&h->stop, 1);
        SetEvent(h->kick);
        WaitForSingleObject(h->thread, INFINITE);
        dp_close_handle(&h->thread);
        dp_stats_threads(-1);
    }
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
