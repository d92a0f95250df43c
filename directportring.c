/*
 * directportring.c - the frame protocol over a port's slots, shared by both cores
 * and both transports.
 *
 * The producer never waits: it writes into a slot that is neither the latest nor
 * claimed, and drops the frame (DP_ERROR_BUSY) when there is none. A consumer claims
 * the latest slot by storing the claim in its reader entry and re-reading 'latest': if
 * it did not move, the producer cannot have picked that slot (it reads the claims
 * after every publish), so the claim holds until the consumer drops it.
 */
#include "directportint.h"

static uint64_t dp_self_start_time(void)
{
    FILETIME created, exited, kernel, user;
    if (!GetProcessTimes(GetCurrentProcess(), &created, &exited, &kernel, &user))
        return 0;
    return ((uint64_t)created.dwHighDateTime << 32) | created.dwLowDateTime;
}

/* Clears the entries and claims of readers whose process is gone. */
static void dp_ring_reclaim(dpb_block *b)
{
    for (uint32_t i = 0; i < DPB_MAX_READERS; i++) {
        uint32_t pid = b->reader[i].pid;
        if (pid && !dp_process_alive(pid, b->reader[i].start_time)) {
            InterlockedExchange((volatile LONG *)&b->reader[i].claim, 0);
            InterlockedCompareExchange((volatile LONG *)&b->reader[i].pid, 0, (LONG)pid);
        }
    }
}

void dp_ring_reclaim_dead(dp_port *p)
{
    dp_ring_reclaim(p->block);
}

DP_RESULT dp_ring_pick(dp_port *p, uint32_t busy_mask, uint32_t *out_slot)
{
    dpb_block *b = p->block;
    uint32_t claimed = 0, newest = DP_NO_SLOT;
    for (int pass = 0; pass < 2; pass++) {
        uint64_t latest = (uint64_t)InterlockedCompareExchange64((volatile LONG64 *)&b->latest, 0, 0);
        uint32_t best = DP_NO_SLOT;
        uint64_t best_frame = UINT64_MAX;
        /* One slot is all a 1-slot port has: it is rewritten in place (legacy semantics). */
        newest = dpb_latest_frame(latest) && p->slots > 1 ? dpb_latest_slot(latest) : DP_NO_SLOT;
        claimed = 0;
        for (uint32_t i = 0; i < DPB_MAX_READERS; i++)
            claimed |= b->reader[i].claim;
        for (uint32_t s = 0; s < p->slots; s++) {
            if (s == newest || (claimed & (1u << s)) || (busy_mask & (1u << s)))
                continue;
            if (b->slot[s].frame < best_frame) {
                best = s;
                best_frame = b->slot[s].frame;
            }
        }
        if (best != DP_NO_SLOT) {
            *out_slot = best;
            return DP_OK;
        }
        /* Claims of consumers that died holding them must not stall the producer. */
        if (pass == 0 && claimed)
            dp_ring_reclaim(b);
    }
    InterlockedIncrement64((volatile LONG64 *)&b->frames_dropped);
    return dp_fail(DP_ERROR_BUSY, "no free slot in %ls (latest: slot %d, held by consumers: 0x%x, still "
                                  "being copied: 0x%x); the frame is dropped",
                   p->names.display, newest == DP_NO_SLOT ? -1 : (int)newest, claimed, busy_mask);
}

void dp_ring_publish(dp_port *p, uint32_t slot, uint64_t frame)
{
    dpb_block *b = p->block;
    LARGE_INTEGER now;
    ULONGLONG tick = GetTickCount64();
    QueryPerformanceCounter(&now);
    b->slot[slot].frame = frame;
    b->slot[slot].publish_time = now.QuadPart;
    InterlockedExchange64((volatile LONG64 *)&b->latest, (LONG64)dpb_pack_latest(frame, slot));
    InterlockedIncrement64((volatile LONG64 *)&b->frames_published);
    /* Only the producer writes these. */
    b->heartbeat = tick;
    if (!b->fps_window_tick)
        b->fps_window_tick = tick;
    b->fps_window_count++;
    if (tick - b->fps_window_tick >= 1000) {
        b->fps_milli = (uint32_t)((uint64_t)b->fps_window_count * 1000000u / (tick - b->fps_window_tick));
        b->fps_window_tick = tick;
        b->fps_window_count = 0;
    }
    dp_port_notify(p, frame);
}

/* Takes a reader entry for p; false if the table is full of live readers. */
static bool dp_ring_join(dp_port *p)
{
    dpb_block *b = p->block;
    DWORD pid = GetCurrentProcessId();
    for (int pass = 0; pass < 2; pass++) {
        for (uint32_t i = 0; i < DPB_MAX_READERS; i++) {
            if (InterlockedCompareExchange((volatile LONG *)&b->reader[i].pid, (LONG)pid, 0) == 0) {
                b->reader[i].start_time = dp_self_start_time();
                b->reader[i].claim = 0;
                p->reader = (int)i;
                return true;
            }
        }
        dp_ring_reclaim(b);
    }
    return false;
}

DP_RESULT dp_ring_claim(dp_port *p, uint32_t slots, uint64_t after, uint32_t *out_slot, uint64_t *out_frame)
{
    dpb_block *b = p->block;
    dpb_reader *r;
    /* An entry someone else wrote over is no longer this handle's: take another. */
    if (p->reader >= 0 && b->reader[p->reader].pid != GetCurrentProcessId())
        p->reader = -1;
    if (p->reader < 0 && !dp_ring_join(p))
        return dp_fail(DP_ERROR_BUSY, "%ls has %u consumers acquiring frames already", p->names.display,
                       DPB_MAX_READERS);
    r = &b->reader[p->reader];
    for (;;) {
        uint64_t latest = (uint64_t)InterlockedCompareExchange64((volatile LONG64 *)&b->latest, 0, 0);
        uint64_t frame = dpb_latest_frame(latest);
        uint32_t slot = dpb_latest_slot(latest);
        if (!frame || frame <= after || slot >= slots)
            return DP_ERROR_TIMEOUT;
        LONG before;
        r->claim_tick = GetTickCount64();
        before = InterlockedOr((volatile LONG *)&r->claim, (LONG)(1u << slot));
        if ((uint64_t)InterlockedCompareExchange64((volatile LONG64 *)&b->latest, 0, 0) == latest) {
            *out_slot = slot;
            *out_frame = frame;
            return DP_OK;
        }
        /* Keep a claim this reader already had on the slot (a release in flight). */
        if (!(before & (LONG)(1u << slot)))
            InterlockedAnd((volatile LONG *)&r->claim, (LONG)~(1u << slot));
    }
}

void dp_ring_unclaim(dp_port *p, int reader, uint32_t slot)
{
    if (reader >= 0 && p->block && slot < DPB_MAX_SLOTS)
        InterlockedAnd((volatile LONG *)&p->block->reader[reader].claim, (LONG)~(1u << slot));
}

void dp_ring_leave(dp_port *p)
{
    if (p->reader < 0)
        return;
    InterlockedExchange((volatile LONG *)&p->block->reader[p->reader].claim, 0);
    InterlockedExchange((volatile LONG *)&p->block->reader[p->reader].pid, 0);
    p->reader = -1;
}
