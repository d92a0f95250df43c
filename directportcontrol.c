/*
 * directportcontrol.c - a port's control block and notify objects in their named
 * sections, the producer's liveness, generations (resize, takeover), and the
 * introspection calls both cores share.
 */
#include "directportint.h"

#include <stddef.h>

#define DP_CTL_SECTION_SIZE 4096u
_Static_assert(sizeof(dpb_block) <= DP_CTL_SECTION_SIZE, "control block fits its section");

/* "DPNOTIF1" little-endian. */
#define DP_NOTIFY_MAGIC 0x314649544f4e5044ull
#define DP_NOTIFY_SIZE 4096u

/* The published value and its sleepers: <fence>.value. A publish raises value and
 * releases the semaphore <fence>.wake once per registered waiter, so it wakes exactly
 * the threads asleep; a stale count only costs a waiter one re-check. */
struct dp_notify {
    uint64_t magic;
    volatile LONG64 value;
    volatile LONG waiters;
    uint32_t reserved;
};

static uint64_t dp_filetime64(FILETIME t)
{
    return ((uint64_t)t.dwHighDateTime << 32) | t.dwLowDateTime;
}

/* Creation time of a process, 0 if it cannot be read. */
static uint64_t dp_process_start_time(HANDLE process)
{
    FILETIME created, exited, kernel, user;
    if (!GetProcessTimes(process, &created, &exited, &kernel, &user))
        return 0;
    return dp_filetime64(created);
}

/* Opens pid for SYNCHRONIZE if it is the process that started at start_time; NULL if
 * it is gone (or the pid now belongs to another process). */
static HANDLE dp_open_live_process(uint32_t pid, uint64_t start_time)
{
    HANDLE process = OpenProcess(SYNCHRONIZE | PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pid);
    if (!process)
        return NULL;
    if ((start_time && dp_process_start_time(process) != start_time) ||
        WaitForSingleObject(process, 0) == WAIT_OBJECT_0) {
        CloseHandle(process);
        return NULL;
    }
    return process;
}

bool dp_process_alive(uint32_t pid, uint64_t start_time)
{
    HANDLE process = dp_open_live_process(pid, start_time);
    if (process)
        CloseHandle(process);
    return process != NULL;
}

/* Consumer: the producer of this generation closed the port (dp_port_close_block). */
static bool dp_port_closed(const dp_port *p)
{
    const dpb_block *b = p->block;
    return b && !p->producer && b->magic == DPB_MAGIC && b->producer_pid == 0 && b->generation == p->generation;
}

/* ---- Notify objects ------------------------------------------------------------------- */

/* Creates (create) or opens the notify section and semaphore. A producer taking over a
 * name opens the ones its predecessor left, so waiting consumers keep sleeping on them. */
static DP_RESULT dp_notify_attach(dp_port *p, const dp_security *sec, bool create)
{
    dp_section section;
    bool existed = false;
    DP_RESULT r = dp_section_map(&section, p->names.fence_value, create ? (SECURITY_ATTRIBUTES *)&sec->sa : NULL,
                                 sizeof(dp_notify), false, &existed, "fence value");
    if (r != DP_OK)
        return r == DP_ERROR_NOT_FOUND ? dp_fail(DP_ERROR_NOT_FOUND, "no fence named %ls", p->names.fence) : r;
    p->notify_section = section.handle;
    p->notify = section.view;
    if (create && !existed)
        p->notify->magic = DP_NOTIFY_MAGIC;
    else if (p->notify->magic != DP_NOTIFY_MAGIC)
        return dp_fail(DP_ERROR_INCOMPATIBLE, "%ls is not a DirectPort fence", p->names.fence);

    if (create)
        p->wake = dp_track(CreateSemaphoreW((SECURITY_ATTRIBUTES *)&sec->sa, 0, LONG_MAX, p->names.wake));
    else
        p->wake = dp_track(OpenSemaphoreW(SYNCHRONIZE | SEMAPHORE_MODIFY_STATE, FALSE, p->names.wake));
    if (!p->wake)
        return dp_fail_win32(dp_result_from_win32(GetLastError()), GetLastError(), "CreateSemaphore(fence wake)");
    return DP_OK;
}

uint64_t dp_port_published(const dp_port *p)
{
    return (uint64_t)InterlockedCompareExchange64(&p->notify->value, 0, 0);
}

void dp_port_notify(dp_port *p, uint64_t value)
{
    LONG64 seen = p->notify->value;
    LONG waiters;
    while ((uint64_t)seen < value) {
        LONG64 prev = InterlockedCompareExchange64(&p->notify->value, (LONG64)value, seen);
        if (prev == seen)
            break;
        seen = prev;
    }
    waiters = InterlockedCompareExchange(&p->notify->waiters, 0, 0);
    if (waiters > 0)
        ReleaseSemaphore(p->wake, waiters, NULL);
}

DP_RESULT dp_port_wait_published(const dp_port *p, uint64_t after, HANDLE stop, uint32_t timeout_ms)
{
    HANDLE handles[3];
    DWORD n = 0, w;
    ULONGLONG start = GetTickCount64();
    DP_RESULT r = DP_OK;

    handles[n++] = p->wake;
    if (p->producer_process)
        handles[n++] = p->producer_process;
    if (stop)
        handles[n++] = stop;
    /* Registered before the re-read below, so a publish in between still wakes us. */
    InterlockedIncrement(&p->notify->waiters);
    while (dp_port_published(p) <= after) {
        uint32_t wait = dp_remaining_ms(start, timeout_ms);
        if (dp_port_closed(p)) {
            r = dp_fail(DP_ERROR_DISCONNECTED, "the producer of %ls closed the port", p->names.display);
            break;
        }
        if (!wait) {
            r = dp_fail(DP_ERROR_TIMEOUT, "timed out after %u ms waiting on %ls", timeout_ms, p->names.display);
            break;
        }
        w = WaitForMultipleObjects(n, handles, FALSE, wait == UINT32_MAX ? INFINITE : wait);
        if (w == WAIT_OBJECT_0 || w == WAIT_TIMEOUT)
            continue;
        if (w != WAIT_FAILED && w < WAIT_OBJECT_0 + n && handles[w - WAIT_OBJECT_0] == stop) {
            r = DP_ERROR_TIMEOUT;
            break;
        }
        if (w != WAIT_FAILED && w < WAIT_OBJECT_0 + n && handles[w - WAIT_OBJECT_0] == p->producer_process) {
            /* A last publish may have raced the exit: only a value still short fails. */
            if (dp_port_published(p) <= after)
                r = dp_fail(DP_ERROR_DISCONNECTED, "the producer of %ls has exited", p->names.display);
            break;
        }
        r = dp_fail_win32(DP_ERROR_DEVICE, GetLastError(), "WaitForMultipleObjects(fence)");
        break;
    }
    InterlockedDecrement(&p->notify->waiters);
    return r;
}

/* ---- Control block ---------------------------------------------------------------------- */

/* Writes the producer's identity into a block (generation held odd by the caller). */
static void dp_block_set_producer(dpb_block *b, LUID adapter)
{
    LARGE_INTEGER freq;
    QueryPerformanceFrequency(&freq);
    b->producer_pid = GetCurrentProcessId();
    b->producer_start_time = dp_process_start_time(GetCurrentProcess());
    b->adapter_luid_low = adapter.LowPart;
    b->adapter_luid_high = adapter.HighPart;
    b->qpc_frequency = (uint64_t)freq.QuadPart;
}

static uint32_t dp_block_end_change(dpb_block *b)
{
    return (uint32_t)InterlockedIncrement((volatile LONG *)&b->generation);
}

/* The name exists: take it over if its producer is gone, else NAME_IN_USE. A block that
 * fails validation (a producer killed in the middle of a change, or a vandal) is taken
 * over too once the process it names is gone: its name must not die with it. */
static DP_RESULT dp_port_take_over(dp_port *p, LUID adapter)
{
    dpb_block *b = p->block;
    dpb_block init;
    dpb_view v;
    bool valid = dpb_validate(b, DP_CTL_SECTION_SIZE, &v, NULL);
    uint32_t pid = valid ? v.producer_pid : b->producer_pid, generation;
    uint64_t start = valid ? v.producer_start_time : b->producer_start_time;

    if (dp_process_alive(pid, start) || (valid && (v.legacy != (uint32_t)p->legacy ||
                                                   (v.transport == DPB_TRANSPORT_GPU && p->legacy))))
        return dp_fail(DP_ERROR_NAME_IN_USE, "a port named %ls exists already", p->names.display);
    /* Its consumers still hold the name: carry on under a new generation, the block
     * rewritten whole from this producer's values. Frame values go on from the old ones
     * (the notify section keeps them), so they stay monotonic. */
    generation = b->generation | 1u;
    InterlockedExchange((volatile LONG *)&b->generation, (LONG)generation);
    dpb_init(&init, p->width, p->height, (uint32_t)p->format, p->slots,
             p->transport == DP_TRANSPORT_GPU ? DPB_TRANSPORT_GPU : DPB_TRANSPORT_HOST, p->flags, p->legacy);
    dp_block_set_producer(&init, adapter);
    init.generation = generation;
    for (uint32_t i = 0; i < DPB_MAX_READERS; i++) {
        init.reader[i].pid = b->reader[i].pid;
        init.reader[i].start_time = b->reader[i].start_time;
    }
    memcpy((uint8_t *)b + sizeof(b->magic), (const uint8_t *)&init + sizeof(init.magic),
           sizeof(init) - sizeof(init.magic));
    InterlockedExchange((volatile LONG *)&b->generation, (LONG)generation);
    b->magic = DPB_MAGIC;
    /* Left odd until dp_port_publish_block: consumers wait while the new generation's
     * objects are made. */
    p->generation = generation + 1;
    p->publish = DP_PUBLISH_GENERATION;
    return DP_OK;
}

DP_RESULT dp_port_create_block(dp_port *p, const dp_security *sec, LUID adapter)
{
    dp_section section;
    dpb_block init;
    bool existed;
    DP_RESULT r;

    if (!dpb_init(&init, p->width, p->height, (uint32_t)p->format, p->slots,
                  p->transport == DP_TRANSPORT_GPU ? DPB_TRANSPORT_GPU : DPB_TRANSPORT_HOST, p->flags, p->legacy))
        return dp_fail(DP_ERROR_INVALID_ARGUMENT, "port geometry out of range");
    dp_block_set_producer(&init, adapter);

    r = dp_section_map(&section, p->names.ctl, (SECURITY_ATTRIBUTES *)&sec->sa, DP_CTL_SECTION_SIZE, false,
                       &existed, "control block");
    if (r != DP_OK)
        return r;
    p->ctl_section = section.handle;
    p->block = section.view;
    if (existed) {
        r = dp_port_take_over(p, adapter);
    } else {
        /* A consumer may open the section as soon as it has a name: until
         * dp_port_publish_block stores the magic, it reports the port not found. */
        init.magic = 0;
        *p->block = init;
        p->generation = 0;
        p->publish = DP_PUBLISH_MAGIC;
        r = DP_OK;
    }
    if (r != DP_OK)
        return r;
    p->row_pitch = dpb_row_pitch(p->width, p->bytes_per_pixel);
    r = dp_notify_attach(p, sec, true);
    if (r == DP_OK)
        p->last_frame = dp_port_published(p);
    return r;
}

/* ---- Creation arguments ------------------------------------------------------------------- */

static DP_RESULT dp_args_check(const dp_create_args *a, const char *fn)
{
    if (!a->width || !a->height || a->width > DP_MAX_DIMENSION || a->height > DP_MAX_DIMENSION)
        return dp_fail(DP_ERROR_INVALID_ARGUMENT, "%s: size %ux%u is outside 1..%u", fn, a->width, a->height,
                       DP_MAX_DIMENSION);
    if (!dpb_format_info((uint32_t)a->format, NULL, NULL))
        return dp_fail(DP_ERROR_INVALID_ARGUMENT, "%s: unknown format %d", fn, (int)a->format);
    if (!a->slots || a->slots > DP_MAX_SLOTS)
        return dp_fail(DP_ERROR_INVALID_ARGUMENT, "%s: slots %u is outside 0..%u", fn, a->slots, DP_MAX_SLOTS);
    if ((unsigned)a->transport > DP_TRANSPORT_HOST)
        return dp_fail(DP_ERROR_INVALID_ARGUMENT, "%s: unknown transport %d", fn, (int)a->transport);
    if (a->flags & ~(DP_PORT_SYSTEM_RAM | DP_PORT_GLOBAL | DP_PORT_ALL_USERS))
        return dp_fail(DP_ERROR_INVALID_ARGUMENT, "%s: unknown flags 0x%x", fn, a->flags);
    return DP_OK;
}

DP_RESULT dp_args_from_desc(const DP_PORT_DESC *desc, dp_create_args *a, const char *fn)
{
    memset(a, 0, sizeof(*a));
    if (!desc)
        return dp_fail(DP_ERROR_INVALID_ARGUMENT, "%s: desc is NULL", fn);
    a->width = desc->width;
    a->height = desc->height;
    a->format = desc->format;
    a->slots = desc->slots ? desc->slots : 3;
    a->transport = desc->transport;
    a->flags = desc->flags;
    a->sddl = desc->sddl;
    if (!dpn_port_names(&a->names, desc->name, (desc->flags & DP_PORT_GLOBAL) != 0))
        return dp_fail(DP_ERROR_INVALID_ARGUMENT, "%s: name must be 1..%u characters of [A-Za-z0-9_.-]", fn,
                       DPN_MAX_BASE);
    return dp_args_check(a, fn);
}

DP_RESULT dp_args_legacy(uint32_t width, uint32_t height, DP_FORMAT format, uint32_t flags, const wchar_t *tex_name,
                         const wchar_t *fence_name, dp_create_args *a, const char *fn)
{
    DP_RESULT r;
    memset(a, 0, sizeof(*a));
    a->width = width;
    a->height = height;
    a->format = format;
    a->slots = 1;
    a->transport = DP_TRANSPORT_AUTO;
    a->flags = flags;
    a->legacy = true;
    r = dp_args_check(a, fn);
    if (r == DP_OK && !dpn_legacy_names(&a->names, tex_name, fence_name))
        r = dp_fail(DP_ERROR_INVALID_ARGUMENT, "%s: texture and fence names must be distinct NT names of 1..%u "
                                               "characters", fn, DPN_MAX_NT);
    return r;
}

void dp_port_from_args(dp_port *p, const dp_create_args *a)
{
    p->producer = true;
    p->legacy = a->legacy;
    p->format = a->format;
    p->width = a->width;
    p->height = a->height;
    p->slots = a->slots;
    p->flags = a->flags;
    p->names = a->names;
    dpb_format_info((uint32_t)a->format, &p->dxgi_format, &p->bytes_per_pixel);
}

DP_RESULT dp_names_for_open(const wchar_t *name, const wchar_t *fence_name, bool global, dpn_names *out,
                            const char *fn)
{
    if (fence_name && !dpn_legacy_names(out, name, fence_name))
        return dp_fail(DP_ERROR_INVALID_ARGUMENT, "%s: texture and fence names must be distinct NT names of 1..%u "
                                                  "characters", fn, DPN_MAX_NT);
    if (!fence_name && !dpn_port_names(out, name, global))
        return dp_fail(DP_ERROR_INVALID_ARGUMENT, "%s: name must be 1..%u characters of [A-Za-z0-9_.-]", fn,
                       DPN_MAX_BASE);
    return DP_OK;
}

void dp_port_geometry(const dp_port *p, dp_geometry *out)
{
    out->generation = p->generation;
    out->width = p->width;
    out->height = p->height;
    out->bytes_per_pixel = p->bytes_per_pixel;
    out->row_pitch = p->row_pitch;
    out->slots = p->slots;
    out->flags = p->flags;
    out->dxgi_format = p->dxgi_format;
    out->format = p->format;
    out->transport = p->transport;
    out->legacy = p->legacy;
}

void dp_port_set_geometry(dp_port *p, const dp_geometry *geo)
{
    p->generation = geo->generation;
    p->width = geo->width;
    p->height = geo->height;
    p->bytes_per_pixel = geo->bytes_per_pixel;
    p->row_pitch = geo->row_pitch;
    p->slots = geo->slots;
    p->flags = geo->flags;
    p->dxgi_format = geo->dxgi_format;
    p->format = geo->format;
    p->transport = geo->transport;
    p->legacy = geo->legacy;
}

DP_RESULT dp_port_security(dp_port *p, const wchar_t *sddl, dp_security *out)
{
    if (sddl && !p->sddl) {
        size_t n = wcslen(sddl) + 1;
        p->sddl = HeapAlloc(GetProcessHeap(), 0, n * sizeof(wchar_t));
        if (!p->sddl)
            return dp_fail(DP_ERROR_OUT_OF_MEMORY, "out of memory");
        memcpy(p->sddl, sddl, n * sizeof(wchar_t));
    }
    return dp_security_make(out, p->flags, p->sddl);
}

void dp_port_publish_block(dp_port *p)
{
    if (p->publish == DP_PUBLISH_MAGIC) {
        MemoryBarrier();
        p->block->magic = DPB_MAGIC;
    } else if (p->publish == DP_PUBLISH_GENERATION) {
        dp_block_end_change(p->block);
    }
    p->publish = DP_PUBLISH_NONE;
}

/* The block's fields, validated, retrying (briefly) while a change is under way. */
static DP_RESULT dp_port_read_block(const dp_port *p, int max_tries, dp_geometry *out, dpb_view *view)
{
    const char *why = NULL;
    uint32_t dxgi;

    for (int tries = 0;; tries++) {
        if (dpb_validate(p->block, DP_CTL_SECTION_SIZE, view, &why) && p->block->generation == view->generation)
            break;
        if (why && strcmp(why, "changing"))
            return dp_fail(DP_ERROR_INCOMPATIBLE, "the control block of %ls is invalid: %s", p->names.display, why);
        /* A change under way: the caller waits (within its timeout) and looks again. */
        if (tries >= max_tries)
            return dp_fail(DP_ERROR_TIMEOUT, "the control block of %ls is being changed", p->names.display);
        Sleep(tries < 10 ? 0 : 1);
    }
    dpb_format_info(view->format, &dxgi, NULL);
    out->generation = view->generation;
    out->width = view->width;
    out->height = view->height;
    out->format = (DP_FORMAT)view->format;
    out->bytes_per_pixel = view->bytes_per_pixel;
    out->row_pitch = view->row_pitch;
    out->slots = view->slot_count;
    out->flags = view->flags;
    out->dxgi_format = dxgi;
    out->legacy = view->legacy != 0;
    out->transport = view->transport == DPB_TRANSPORT_GPU ? DP_TRANSPORT_GPU : DP_TRANSPORT_HOST;
    return DP_OK;
}

/* Opens the producer's process for disconnect detection, checking it is the same
 * process (pid + start time) and not a later one that reused the pid. */
static DP_RESULT dp_port_open_producer(dp_port *p, uint32_t pid, uint64_t start_time)
{
    HANDLE process = dp_open_live_process(pid, start_time);
    dp_close_handle(&p->producer_process);
    if (!process)
        return dp_fail(DP_ERROR_DISCONNECTED, "the producer of %ls (pid %u) is gone", p->names.display, pid);
    p->producer_process = dp_track(process);
    return DP_OK;
}

bool dp_port_adapter_of(const wchar_t *name, LUID *out)
{
    for (int global = 0; global < 2; global++) {
        dp_error_state saved;
        dpn_names names;
        dp_section section;
        bool found = false;
        dp_error_save(&saved);
        if (dp_names_for_open(name, NULL, global != 0, &names, "dp_port_adapter_of") == DP_OK &&
            dp_section_map(&section, names.ctl, NULL, DP_CTL_SECTION_SIZE, false, NULL, "control block") == DP_OK) {
            const volatile dpb_block *b = section.view;
            if (b->magic == DPB_MAGIC && b->producer_pid && b->transport == DPB_TRANSPORT_GPU) {
                out->LowPart = b->adapter_luid_low;
                out->HighPart = b->adapter_luid_high;
                found = out->LowPart || out->HighPart;
            }
            dp_section_unmap(&section);
        }
        dp_error_restore(&saved);
        if (found)
            return true;
    }
    return false;
}

DP_RESULT dp_port_open_block(dp_port *p)
{
    dp_section section;
    dp_geometry geo;
    dpb_view v;
    DP_RESULT r;

    r = dp_section_map(&section, p->names.ctl, NULL, DP_CTL_SECTION_SIZE, false, NULL, "control block");
    if (r == DP_ERROR_NOT_FOUND)
        return dp_fail(DP_ERROR_NOT_FOUND, "no port named %ls", p->names.display);
    if (r != DP_OK)
        return r;
    p->ctl_section = section.handle;
    p->block = section.view;
    /* The creator stores the magic last: a zero magic is a port still being made. */
    if (p->block->magic == 0)
        return dp_fail(DP_ERROR_NOT_FOUND, "the port %ls is still being created", p->names.display);
    if (p->block->magic == DPB_MAGIC && p->block->producer_pid == 0)
        return dp_fail(DP_ERROR_NOT_FOUND, "the port %ls was closed by its producer", p->names.display);
    r = dp_port_read_block(p, 200, &geo, &v);
    if (r == DP_ERROR_TIMEOUT)
        r = dp_fail(DP_ERROR_INCOMPATIBLE, "the control block of %ls stayed in a change", p->names.display);
    if (r == DP_OK)
        dp_port_set_geometry(p, &geo);
    if (r == DP_OK)
        r = dp_notify_attach(p, NULL, false);
    if (r == DP_OK)
        r = dp_port_open_producer(p, v.producer_pid, v.producer_start_time);
    return r;
}

DP_RESULT dp_port_read_change(const dp_port *p, dp_geometry *out, bool *moved)
{
    dpb_view v;
    *moved = p->block && p->block->generation != p->generation;
    if (!*moved)
        return DP_OK;
    return dp_port_read_block(p, 5, out, &v);
}

DP_RESULT dp_port_follow_producer(dp_port *p)
{
    dpb_block *b = p->block;
    return dp_port_open_producer(p, b->producer_pid, b->producer_start_time);
}

void dp_port_commit_block(dp_port *p, const dp_geometry *geo)
{
    dpb_block *b = p->block, init;
    const size_t from = offsetof(dpb_block, width), to = offsetof(dpb_block, latest);
    /* The producer's own values, never the block's: every fixed field is written again
     * (what a writer of the block changed is gone), the counters and readers stay. */
    dpb_init(&init, geo->width, geo->height, (uint32_t)geo->format, geo->slots,
             geo->transport == DP_TRANSPORT_GPU ? DPB_TRANSPORT_GPU : DPB_TRANSPORT_HOST, geo->flags, geo->legacy);
    init.row_pitch = geo->row_pitch;
    init.slot_size = (uint64_t)geo->row_pitch * geo->height;
    dp_block_set_producer(&init, p->backend->adapter());
    InterlockedExchange((volatile LONG *)&b->generation, (LONG)(geo->generation - 1));
    b->magic = init.magic;
    b->version = init.version;
    b->size = init.size;
    memcpy((uint8_t *)b + from, (const uint8_t *)&init + from, to - from);
    b->latest = 0;
    memset((void *)b->slot, 0, sizeof(b->slot));
    InterlockedExchange((volatile LONG *)&b->generation, (LONG)geo->generation);
    dp_port_set_geometry(p, geo);
}

uint32_t dp_remaining_ms(ULONGLONG start, uint32_t timeout_ms)
{
    ULONGLONG spent;
    if (timeout_ms == UINT32_MAX)
        return UINT32_MAX;
    spent = GetTickCount64() - start;
    return spent >= timeout_ms ? 0 : (uint32_t)(timeout_ms - spent);
}

DP_RESULT dp_port_check_adapter(const dp_port *p, LUID luid)
{
    const dpb_block *b = p->block;
    if (b && (b->adapter_luid_low || b->adapter_luid_high) &&
        (b->adapter_luid_low != luid.LowPart || b->adapter_luid_high != luid.HighPart))
        return dp_fail(DP_ERROR_UNSUPPORTED, "%ls lives on adapter %08lx:%08lx and this device on %08lx:%08lx; "
                                             "GPU-transport textures do not cross adapters",
                       p->names.display, (unsigned long)b->adapter_luid_high, (unsigned long)b->adapter_luid_low,
                       (unsigned long)luid.HighPart, (unsigned long)luid.LowPart);
    return DP_OK;
}

DP_RESULT dp_port_check_producer(const dp_port *p)
{
    if (p->producer_process && WaitForSingleObject(p->producer_process, 0) == WAIT_OBJECT_0)
        return dp_fail(DP_ERROR_DISCONNECTED, "the producer of %ls has exited", p->names.display);
    if (dp_port_closed(p))
        return dp_fail(DP_ERROR_DISCONNECTED, "the producer of %ls closed the port", p->names.display);
    return DP_OK;
}

void dp_port_close_block(dp_port *p)
{
    dpb_block *b = p->block;
    LONG me = (LONG)GetCurrentProcessId();
    if (!b || !p->complete || p->publish != DP_PUBLISH_NONE || b->generation != p->generation)
        return;
    if (InterlockedCompareExchange((volatile LONG *)&b->producer_pid, 0, me) != me)
        return;
    if (p->notify)
        dp_port_notify(p, 0); /* wakes the waiters: they look at the block again */
}

DP_RESULT dp_wait_event(const dp_port *p, HANDLE event, uint32_t timeout_ms)
{
    HANDLE handles[2] = {event, p->producer_process};
    DWORD n = p->producer_process ? 2 : 1;
    DWORD w = WaitForMultipleObjects(n, handles, FALSE, timeout_ms == UINT32_MAX ? INFINITE : timeout_ms);
    if (w == WAIT_OBJECT_0)
        return DP_OK;
    if (w == WAIT_OBJECT_0 + 1)
        return dp_fail(DP_ERROR_DISCONNECTED, "the producer of %ls has exited", p->names.display);
    if (w == WAIT_TIMEOUT)
        return dp_fail(DP_ERROR_TIMEOUT, "timed out after %u ms waiting on %ls", timeout_ms, p->names.display);
    return dp_fail_win32(DP_ERROR_DEVICE, GetLastError(), "WaitForMultipleObjects");
}

void dp_port_release(dp_port *p)
{
    /* A takeover that failed half-way still ends its change, so consumers are not
     * left retrying an odd generation. */
    if (p->block && p->publish == DP_PUBLISH_GENERATION)
        dp_port_publish_block(p);
    if (p->block)
        UnmapViewOfFile(p->block);
    p->block = NULL;
    if (p->notify)
        UnmapViewOfFile(p->notify);
    p->notify = NULL;
    dp_close_handle(&p->wake);
    dp_close_handle(&p->notify_section);
    dp_close_handle(&p->ctl_section);
    dp_close_handle(&p->producer_process);
    if (p->sddl)
        HeapFree(GetProcessHeap(), 0, p->sddl);
    p->sddl = NULL;
}

void dp_port_info(const dp_port *p, DP_PORT_INFO *info)
{
    memset(info, 0, sizeof(*info));
    wcsncpy(info->name, p->names.display, DP_ARRAY_SIZE(info->name) - 1);
    info->width = p->width;
    info->height = p->height;
    info->format = p->format;
    info->transport = p->transport;
    info->slots = p->slots;
    info->flags = p->flags;
    info->row_pitch = p->row_pitch;
    info->is_producer = p->producer;
    info->generation = p->generation;
    if (p->notify)
        info->last_frame = dp_port_published(p);
    if (p->block) {
        const dpb_block *b = p->block;
        ULONGLONG now = GetTickCount64();
        info->producer_pid = b->producer_pid;
        info->frames_published = b->frames_published;
        info->frames_dropped = b->frames_dropped;
        /* A producer that stopped publishing has no rate, whatever its last window said. */
        info->fps = now - b->heartbeat > 2000 ? 0.0 : b->fps_milli / 1000.0;
    }
}

DP_TRANSPORT dp_get_transport(DP_HANDLE h)
{
    const dp_port *p = dp_handle_get_any(h, NULL, "dp_get_transport");
    return p ? p->transport : DP_TRANSPORT_AUTO;
}

bool dp_get_port_info(DP_HANDLE h, DP_PORT_INFO *out)
{
    const dp_port *p = dp_handle_get_any(h, NULL, "dp_get_port_info");
    if (!p)
        return false;
    if (!out) {
        dp_fail(DP_ERROR_INVALID_ARGUMENT, "dp_get_port_info: out is NULL");
        return false;
    }
    dp_port_info(p, out);
    return true;
}
