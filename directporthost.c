/*
 * directporthost.c - the host transport: a port's fence value and pixels in host
 * memory, kept in step with each handle's local texture by a worker thread.
 * directportint.h describes the objects and the worker's loop.
 */
#include "directportint.h"

/* "DPFENCE1" little-endian. */
#define DP_HOST_FENCE_MAGIC 0x3145434e45465044ull
#define DP_HOST_FENCE_SIZE 4096u

typedef struct {
    uint64_t magic;
    volatile LONG64 value;
    volatile LONG waiters;  /* threads asleep on the wake semaphore */
    uint32_t reserved;
} dp_host_fence;

struct dp_host {
    dp_port *port;
    bool producer;
    HANDLE fence_section;
    dp_host_fence *fence;
    HANDLE wake;
    HANDLE pixel_section;
    uint8_t *pixels;
    uint64_t pixel_size;
    HANDLE stop;
    HANDLE thread;
    volatile LONG cpu_written;
    const dp_host_ops *ops;
    void *ctx;
};

uint64_t dp_host_value(const dp_host *h)
{
    return (uint64_t)InterlockedCompareExchange64((volatile LONG64 *)&h->fence->value, 0, 0);
}

uint8_t *dp_host_slot(dp_host *h, uint32_t slot)
{
    return h->pixels + (uint64_t)slot * h->port->block->slot_size;
}

void dp_host_mark_cpu_written(dp_host *h)
{
    InterlockedExchange(&h->cpu_written, 1);
}

void dp_host_publish(dp_host *h, uint64_t value)
{
    LONG64 seen = h->fence->value;
    LONG waiters;
    while ((uint64_t)seen < value) {
        LONG64 prev = InterlockedCompareExchange64(&h->fence->value, (LONG64)value, seen);
        if (prev == seen)
            break;
        seen = prev;
    }
    h->port->block->latest = dpb_pack_latest(dp_host_value(h), 0);
    h->port->block->heartbeat = GetTickCount64();
    waiters = InterlockedCompareExchange(&h->fence->waiters, 0, 0);
    if (waiters > 0)
        ReleaseSemaphore(h->wake, waiters, NULL);
}

/*
 * Sleeps until the published value exceeds `after`, `stop` is set, the producer dies or
 * the deadline passes. Registers as a waiter first and re-reads the value after, so a
 * publish between the read and the sleep still wakes it.
 */
static DP_RESULT dp_host_wait_beyond(dp_host *h, uint64_t after, HANDLE stop, uint32_t timeout_ms)
{
    HANDLE handles[3];
    DWORD n = 0, w;
    ULONGLONG start = GetTickCount64();
    DP_RESULT r = DP_OK;

    handles[n++] = h->wake;
    if (h->port->producer_process)
        handles[n++] = h->port->producer_process;
    if (stop)
        handles[n++] = stop;
    InterlockedIncrement(&h->fence->waiters);
    while (dp_host_value(h) <= after) {
        DWORD wait = INFINITE;
        if (timeout_ms != UINT32_MAX) {
            ULONGLONG spent = GetTickCount64() - start;
            if (spent >= timeout_ms) {
                r = dp_fail(DP_ERROR_TIMEOUT, "timed out after %u ms waiting on %ls", timeout_ms,
                            h->port->names.display);
                break;
            }
            wait = (DWORD)(timeout_ms - spent);
        }
        w = WaitForMultipleObjects(n, handles, FALSE, wait);
        if (w == WAIT_OBJECT_0 || w == WAIT_TIMEOUT)
            continue;
        if (handles[w - WAIT_OBJECT_0] == stop) {
            r = DP_ERROR_TIMEOUT;
            break;
        }
        if (w != WAIT_FAILED && handles[w - WAIT_OBJECT_0] == h->port->producer_process) {
            /* A final publish may have raced the exit: only a value still short fails. */
            if (dp_host_value(h) <= after)
                r = dp_fail(DP_ERROR_DISCONNECTED, "the producer of %ls has exited",
                            h->port->names.display);
            break;
        }
        r = dp_fail_win32(DP_ERROR_DEVICE, GetLastError(), "WaitForMultipleObjects(host fence)");
        break;
    }
    InterlockedDecrement(&h->fence->waiters);
    return r;
}

DP_RESULT dp_host_wait(dp_host *h, uint64_t value, uint32_t timeout_ms)
{
    if (!value)
        return DP_OK;
    return dp_host_wait_beyond(h, value - 1, NULL, timeout_ms);
}

static DWORD WINAPI dp_host_producer_main(void *arg)
{
    dp_host *h = arg;
    uint64_t last = dp_host_value(h);
    while (WaitForSingleObject(h->stop, 0) != WAIT_OBJECT_0) {
        uint64_t v = h->ops->wait_local(h->ctx, last, h->stop);
        if (v <= last)
            continue;
        /* Pixels the CPU wrote through a map are already in the section. */
        if (!InterlockedExchange(&h->cpu_written, 0)) {
            if (!h->ops->readback(h->ctx, 0, dp_host_slot(h, 0)))
                continue;
            dp_stats_copied(h->port->block->slot_size);
        }
        dp_host_publish(h, v);
        last = v;
    }
    return 0;
}

static DWORD WINAPI dp_host_consumer_main(void *arg)
{
    dp_host *h = arg;
    uint64_t last = 0;
    for (;;) {
        uint64_t v;
        if (dp_host_wait_beyond(h, last, h->stop, UINT32_MAX) != DP_OK)
            break;
        v = dp_host_value(h);
        if (!h->ops->upload(h->ctx, 0, dp_host_slot(h, 0), v))
            break;
        dp_stats_copied(h->port->block->slot_size);
        last = v;
    }
    return 0;
}

/* Maps the pixel section of p's current generation (creating it if create). */
static DP_RESULT dp_host_map_pixels(dp_host *h, const dp_security *sec, bool create)
{
    wchar_t name[DPN_LEN];
    MEMORY_BASIC_INFORMATION mbi;
    DWORD err;

    h->pixel_size = h->port->block->slot_size * h->port->slots;
    if (!dpn_pixels_name(name, DP_ARRAY_SIZE(name), &h->port->names, h->port->block->generation))
        return dp_fail(DP_ERROR_INVALID_ARGUMENT, "port name too long");
    if (create) {
        h->pixel_section = dp_track(CreateFileMappingW(
            INVALID_HANDLE_VALUE, (SECURITY_ATTRIBUTES *)&sec->sa, PAGE_READWRITE,
            (DWORD)(h->pixel_size >> 32), (DWORD)h->pixel_size, name));
        err = GetLastError();
        if (h->pixel_section && err == ERROR_ALREADY_EXISTS) {
            dp_close_handle(&h->pixel_section);
            return dp_fail(DP_ERROR_NAME_IN_USE, "the pixel section %ls exists already", name);
        }
    } else {
        h->pixel_section = dp_track(OpenFileMappingW(FILE_MAP_READ | FILE_MAP_WRITE, FALSE, name));
        err = GetLastError();
    }
    if (!h->pixel_section)
        return dp_fail_win32(dp_result_from_win32(err), err, "CreateFileMapping(pixels)");
    h->pixels = MapViewOfFile(h->pixel_section, FILE_MAP_READ | FILE_MAP_WRITE, 0, 0, 0);
    if (!h->pixels)
        return dp_fail_win32(DP_ERROR_OUT_OF_MEMORY, GetLastError(), "MapViewOfFile(pixels)");
    if (!VirtualQuery(h->pixels, &mbi, sizeof(mbi)) || mbi.RegionSize < h->pixel_size)
        return dp_fail(DP_ERROR_INCOMPATIBLE, "the pixel section of %ls is smaller than its geometry",
                       h->port->names.display);
    return DP_OK;
}

static DP_RESULT dp_host_setup(dp_port *p, const dp_security *sec, const dp_host_ops *ops, void *ctx)
{
    dp_host *h;
    MEMORY_BASIC_INFORMATION mbi;
    DP_RESULT r;
    DWORD err;
    bool create = sec != NULL;

    h = HeapAlloc(GetProcessHeap(), HEAP_ZERO_MEMORY, sizeof(*h));
    if (!h)
        return dp_fail(DP_ERROR_OUT_OF_MEMORY, "out of memory");
    p->host = h;
    h->port = p;
    h->producer = p->producer;
    h->ops = ops;
    h->ctx = ctx;

    if (create) {
        h->fence_section = dp_track(CreateFileMappingW(INVALID_HANDLE_VALUE, (SECURITY_ATTRIBUTES *)&sec->sa,
                                                       PAGE_READWRITE, 0, DP_HOST_FENCE_SIZE,
                                                       p->names.fence_value));
        err = GetLastError();
        if (h->fence_section && err == ERROR_ALREADY_EXISTS) {
            dp_close_handle(&h->fence_section);
            return dp_fail(DP_ERROR_NAME_IN_USE, "the fence %ls exists already", p->names.fence);
        }
    } else {
        h->fence_section = dp_track(OpenFileMappingW(FILE_MAP_READ | FILE_MAP_WRITE, FALSE,
                                                     p->names.fence_value));
        err = GetLastError();
    }
    if (!h->fence_section) {
        if (err == ERROR_FILE_NOT_FOUND)
            return dp_fail(DP_ERROR_NOT_FOUND, "no fence named %ls", p->names.fence);
        return dp_fail_win32(dp_result_from_win32(err), err, "CreateFileMapping(fence)");
    }
    h->fence = MapViewOfFile(h->fence_section, FILE_MAP_READ | FILE_MAP_WRITE, 0, 0, 0);
    if (!h->fence)
        return dp_fail_win32(DP_ERROR_OUT_OF_MEMORY, GetLastError(), "MapViewOfFile(fence)");
    if (create) {
        h->fence->magic = DP_HOST_FENCE_MAGIC;
    } else if (!VirtualQuery(h->fence, &mbi, sizeof(mbi)) || mbi.RegionSize < sizeof(dp_host_fence) ||
               h->fence->magic != DP_HOST_FENCE_MAGIC) {
        return dp_fail(DP_ERROR_INCOMPATIBLE, "%ls is not a DirectPort host fence", p->names.fence);
    }

    if (create) {
        h->wake = dp_track(CreateSemaphoreW((SECURITY_ATTRIBUTES *)&sec->sa, 0, LONG_MAX, p->names.wake));
        err = GetLastError();
        if (h->wake && err == ERROR_ALREADY_EXISTS) {
            dp_close_handle(&h->wake);
            return dp_fail(DP_ERROR_NAME_IN_USE, "the fence %ls exists already", p->names.fence);
        }
    } else {
        h->wake = dp_track(OpenSemaphoreW(SYNCHRONIZE | SEMAPHORE_MODIFY_STATE, FALSE, p->names.wake));
        err = GetLastError();
    }
    if (!h->wake)
        return dp_fail_win32(dp_result_from_win32(err), err, "CreateSemaphore(fence wake)");

    r = dp_host_map_pixels(h, sec, create);
    if (r != DP_OK)
        return r;

    h->stop = dp_track(CreateEventW(NULL, TRUE, FALSE, NULL));
    if (!h->stop)
        return dp_fail_win32(DP_ERROR_OUT_OF_MEMORY, GetLastError(), "CreateEvent(worker stop)");
    h->thread = dp_track(CreateThread(NULL, 0, p->producer ? dp_host_producer_main : dp_host_consumer_main,
                                      h, 0, NULL));
    if (!h->thread)
        return dp_fail_win32(DP_ERROR_OUT_OF_MEMORY, GetLastError(), "CreateThread(host worker)");
    dp_stats_threads(1);
    return DP_OK;
}

DP_RESULT dp_host_create(dp_port *p, const dp_security *sec, const dp_host_ops *ops, void *ctx)
{
    return dp_host_setup(p, sec, ops, ctx);
}

DP_RESULT dp_host_open(dp_port *p, const dp_host_ops *ops, void *ctx)
{
    return dp_host_setup(p, NULL, ops, ctx);
}

void dp_host_destroy(dp_host *h)
{
    if (!h)
        return;
    if (h->thread) {
        SetEvent(h->stop);
        WaitForSingleObject(h->thread, INFINITE);
        dp_close_handle(&h->thread);
        dp_stats_threads(-1);
    }
    dp_close_handle(&h->stop);
    if (h->pixels)
        UnmapViewOfFile(h->pixels);
    dp_close_handle(&h->pixel_section);
    dp_close_handle(&h->wake);
    if (h->fence)
        UnmapViewOfFile(h->fence);
    dp_close_handle(&h->fence_section);
    HeapFree(GetProcessHeap(), 0, h);
}
