/*
 * directporthandle.c - the handle table, the library's counters and DllMain.
 *
 * A DP_HANDLE is a tagged value, not a pointer: tag byte, kind, a per-entry generation
 * and the entry index. A closed handle's generation no longer matches its entry and
 * a foreign pointer fails the tag check, so neither is ever dereferenced. An entry's
 * first generation is random, per process: a handle value from another process (whose
 * table fills the same way) matches one of ours only by a 1 in 2^32 chance.
 */
#include "directportint.h"

#include <ntsecapi.h>

#define DP_HANDLE_CAPACITY 4096u
#define DP_HANDLE_TAG 0xD7ull

typedef struct {
    void *obj;
    uint32_t generation;
    dp_kind kind;
} dp_handle_entry;

static SRWLOCK dp_handle_lock = SRWLOCK_INIT;
static dp_handle_entry dp_handles[DP_HANDLE_CAPACITY];
static uint32_t dp_handle_live;

static volatile LONG dp_stat_kernel;
static volatile LONG dp_stat_threads;
static volatile LONG64 dp_stat_copied;

static DP_HANDLE dp_handle_encode(uint32_t index, uint32_t generation, dp_kind kind)
{
    uint64_t v = (DP_HANDLE_TAG << 56) | ((uint64_t)kind << 48) |
                 ((uint64_t)generation << 16) | index;
    return (DP_HANDLE)(uintptr_t)v;
}

/* Entry index of h if its tag, kind range and generation match a live entry; else -1.
 * Caller holds the lock. */
static int dp_handle_find(DP_HANDLE h)
{
    uint64_t v = (uint64_t)(uintptr_t)h;
    uint32_t index = (uint32_t)(v & 0xffffu);
    uint32_t generation = (uint32_t)((v >> 16) & 0xffffffffu);
    uint32_t kind = (uint32_t)((v >> 48) & 0xffu);
    if ((v >> 56) != DP_HANDLE_TAG || index >= DP_HANDLE_CAPACITY)
        return -1;
    if (!dp_handles[index].obj || dp_handles[index].generation != generation ||
        (uint32_t)dp_handles[index].kind != kind)
        return -1;
    return (int)index;
}

DP_HANDLE dp_handle_add(dp_kind kind, void *obj)
{
    DP_HANDLE h = NULL;
    uint32_t i;
    AcquireSRWLockExclusive(&dp_handle_lock);
    for (i = 0; i < DP_HANDLE_CAPACITY; i++) {
        if (!dp_handles[i].obj) {
            /* Generation 0 is never issued, so a zeroed value never matches. */
            if (!dp_handles[i].generation && !RtlGenRandom(&dp_handles[i].generation, sizeof(uint32_t)))
                dp_handles[i].generation = (uint32_t)(GetTickCount64() * 2654435761u) ^ GetCurrentProcessId();
            dp_handles[i].generation = dp_handles[i].generation + 1 ? dp_handles[i].generation + 1 : 1;
            dp_handles[i].obj = obj;
            dp_handles[i].kind = kind;
            dp_handle_live++;
            h = dp_handle_encode(i, dp_handles[i].generation, kind);
            break;
        }
    }
    ReleaseSRWLockExclusive(&dp_handle_lock);
    if (!h)
        dp_fail(DP_ERROR_OUT_OF_MEMORY, "too many open handles (%u)", DP_HANDLE_CAPACITY);
    return h;
}

static void *dp_handle_lookup(DP_HANDLE h, dp_kind kind, bool any, bool take, dp_kind *out_kind,
                              const char *fn)
{
    void *obj = NULL;
    dp_kind found = 0;
    int i;
    if (take)
        AcquireSRWLockExclusive(&dp_handle_lock);
    else
        AcquireSRWLockShared(&dp_handle_lock);
    i = dp_handle_find(h);
    if (i >= 0 && (any || dp_handles[i].kind == kind)) {
        obj = dp_handles[i].obj;
        found = dp_handles[i].kind;
        if (take) {
            dp_handles[i].obj = NULL;
            dp_handle_live--;
        }
    }
    if (take)
        ReleaseSRWLockExclusive(&dp_handle_lock);
    else
        ReleaseSRWLockShared(&dp_handle_lock);
    if (!obj) {
        if (!h)
            dp_fail(DP_ERROR_INVALID_ARGUMENT, "%s: handle is NULL", fn);
        else if (i >= 0)
            dp_fail(DP_ERROR_INVALID_ARGUMENT, "%s: handle belongs to the %s core", fn,
                    dp_handles[i].kind == DP_KIND_D3D11 ? "dp11" : dp_handles[i].kind == DP_KIND_GL ? "dpgl" : "dp12");
        else
            dp_fail(DP_ERROR_INVALID_ARGUMENT, "%s: not a live DirectPort handle (closed or foreign)",
                    fn);
    }
    if (out_kind)
        *out_kind = found;
    return obj;
}

void *dp_handle_get(DP_HANDLE h, dp_kind kind, const char *fn)
{
    return dp_handle_lookup(h, kind, false, false, NULL, fn);
}

void *dp_handle_take(DP_HANDLE h, dp_kind kind, const char *fn)
{
    return dp_handle_lookup(h, kind, false, true, NULL, fn);
}

void *dp_handle_get_any(DP_HANDLE h, dp_kind *out_kind, const char *fn)
{
    return dp_handle_lookup(h, 0, true, false, out_kind, fn);
}

void *dp_handle_take_any(dp_kind kind)
{
    void *obj = NULL;
    uint32_t i;
    AcquireSRWLockExclusive(&dp_handle_lock);
    for (i = 0; i < DP_HANDLE_CAPACITY && !obj; i++) {
        if (dp_handles[i].obj && dp_handles[i].kind == kind) {
            obj = dp_handles[i].obj;
            dp_handles[i].obj = NULL;
            dp_handle_live--;
        }
    }
    ReleaseSRWLockExclusive(&dp_handle_lock);
    return obj;
}

HANDLE dp_track(HANDLE h)
{
    if (h && h != INVALID_HANDLE_VALUE)
        InterlockedIncrement(&dp_stat_kernel);
    return h;
}

void dp_close_handle(HANDLE *h)
{
    if (*h && *h != INVALID_HANDLE_VALUE) {
        CloseHandle(*h);
        InterlockedDecrement(&dp_stat_kernel);
    }
    *h = NULL;
}

void dp_stats_threads(LONG delta)
{
    InterlockedExchangeAdd(&dp_stat_threads, delta);
}

void dp_thread_stop(HANDLE *thread, volatile LONG *stop, HANDLE kick)
{
    if (!*thread)
        return;
    InterlockedExchange(stop, 1);
    SetEvent(kick);
    WaitForSingleObject(*thread, INFINITE);
    dp_close_handle(thread);
    dp_stats_threads(-1);
}

void dp_stats_copied(uint64_t bytes)
{
    InterlockedExchangeAdd64(&dp_stat_copied, (LONG64)bytes);
}

bool dp_get_stats(DP_STATS *out)
{
    if (!out) {
        dp_fail(DP_ERROR_INVALID_ARGUMENT, "dp_get_stats: out is NULL");
        return false;
    }
    AcquireSRWLockShared(&dp_handle_lock);
    out->live_handles = dp_handle_live;
    ReleaseSRWLockShared(&dp_handle_lock);
    out->kernel_objects = (uint32_t)InterlockedCompareExchange(&dp_stat_kernel, 0, 0);
    out->worker_threads = (uint32_t)InterlockedCompareExchange(&dp_stat_threads, 0, 0);
    out->bytes_copied_cpu = (uint64_t)InterlockedCompareExchange64(&dp_stat_copied, 0, 0);
    return true;
}

BOOL WINAPI DllMain(HINSTANCE instance, DWORD reason, LPVOID reserved)
{
    (void)instance;
    if (reason == DLL_THREAD_DETACH)
        dp_error_thread_detach();
    else if (reason == DLL_PROCESS_DETACH && !reserved)
        dp_error_process_detach();
    return TRUE;
}
