/*
 * directportcontrol.c - a port's control block in its named section, the producer's
 * liveness, and the introspection calls both cores share.
 */
#include "directportint.h"

#define DP_CTL_SECTION_SIZE 4096u
_Static_assert(sizeof(dpb_block) <= DP_CTL_SECTION_SIZE, "control block fits its section");

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

DP_RESULT dp_port_create_block(dp_port *p, const dp_security *sec, LUID adapter)
{
    dpb_block init;
    LARGE_INTEGER freq;
    DWORD err;

    if (!dpb_init(&init, p->width, p->height, (uint32_t)p->format, p->slots,
                  p->transport == DP_TRANSPORT_GPU ? DPB_TRANSPORT_GPU : DPB_TRANSPORT_HOST,
                  p->flags, p->legacy))
        return dp_fail(DP_ERROR_INVALID_ARGUMENT, "port geometry out of range");
    init.producer_pid = GetCurrentProcessId();
    init.producer_start_time = dp_process_start_time(GetCurrentProcess());
    init.adapter_luid_low = adapter.LowPart;
    init.adapter_luid_high = adapter.HighPart;
    QueryPerformanceFrequency(&freq);
    init.qpc_frequency = (uint64_t)freq.QuadPart;

    p->ctl_section = dp_track(CreateFileMappingW(INVALID_HANDLE_VALUE, (SECURITY_ATTRIBUTES *)&sec->sa,
                                                 PAGE_READWRITE, 0, DP_CTL_SECTION_SIZE,
                                                 p->names.ctl));
    err = GetLastError();
    if (!p->ctl_section)
        return dp_fail_win32(dp_result_from_win32(err), err, "CreateFileMapping(control block)");
    if (err == ERROR_ALREADY_EXISTS) {
        dp_close_handle(&p->ctl_section);
        return dp_fail(DP_ERROR_NAME_IN_USE, "a port named %ls exists already", p->names.display);
    }
    p->block = MapViewOfFile(p->ctl_section, FILE_MAP_READ | FILE_MAP_WRITE, 0, 0, 0);
    if (!p->block)
        return dp_fail_win32(DP_ERROR_OUT_OF_MEMORY, GetLastError(), "MapViewOfFile(control block)");
    /* A consumer may open the section as soon as it has a name: until the last store
     * below publishes the block, it sees a zero magic and reports the port not found. */
    init.magic = 0;
    *p->block = init;
    MemoryBarrier();
    p->block->magic = DPB_MAGIC;
    p->row_pitch = init.row_pitch;
    p->bytes_per_pixel = init.bytes_per_pixel;
    return DP_OK;
}

/* Opens the producer's process for disconnect detection, checking it is the same
 * process (pid + start time) and not a later one that reused the pid. */
static DP_RESULT dp_port_open_producer(dp_port *p, uint32_t pid, uint64_t start_time)
{
    HANDLE process = OpenProcess(SYNCHRONIZE | PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pid);
    if (!process)
        return dp_fail(DP_ERROR_DISCONNECTED, "the producer of %ls (pid %u) is gone",
                       p->names.display, pid);
    if (start_time && dp_process_start_time(process) != start_time) {
        CloseHandle(process);
        return dp_fail(DP_ERROR_DISCONNECTED, "the producer of %ls (pid %u) is gone",
                       p->names.display, pid);
    }
    p->producer_process = dp_track(process);
    return dp_port_check_producer(p);
}

DP_RESULT dp_port_open_block(dp_port *p)
{
    MEMORY_BASIC_INFORMATION mbi;
    dpb_view v;
    const char *why = NULL;
    DWORD err;
    uint32_t dxgi;

    p->ctl_section = dp_track(OpenFileMappingW(FILE_MAP_READ | FILE_MAP_WRITE, FALSE, p->names.ctl));
    if (!p->ctl_section) {
        err = GetLastError();
        if (err == ERROR_FILE_NOT_FOUND)
            return dp_fail(DP_ERROR_NOT_FOUND, "no port named %ls", p->names.display);
        return dp_fail_win32(dp_result_from_win32(err), err, "OpenFileMapping(control block)");
    }
    p->block = MapViewOfFile(p->ctl_section, FILE_MAP_READ | FILE_MAP_WRITE, 0, 0, 0);
    if (!p->block)
        return dp_fail_win32(DP_ERROR_OUT_OF_MEMORY, GetLastError(), "MapViewOfFile(control block)");
    if (!VirtualQuery(p->block, &mbi, sizeof(mbi)))
        return dp_fail_win32(DP_ERROR_INCOMPATIBLE, GetLastError(), "VirtualQuery(control block)");
    /* The creator stores the magic last: a zero magic is a port still being made. */
    if (p->block->magic == 0)
        return dp_fail(DP_ERROR_NOT_FOUND, "the port %ls is still being created", p->names.display);
    if (!dpb_validate(p->block, mbi.RegionSize, &v, &why))
        return dp_fail(DP_ERROR_INCOMPATIBLE, "the control block of %ls is invalid: %s",
                       p->names.display, why);
    dpb_format_info(v.format, &dxgi, NULL);
    p->width = v.width;
    p->height = v.height;
    p->format = (DP_FORMAT)v.format;
    p->bytes_per_pixel = v.bytes_per_pixel;
    p->row_pitch = v.row_pitch;
    p->slots = v.slot_count;
    p->flags = v.flags;
    p->dxgi_format = dxgi;
    p->legacy = v.legacy != 0;
    p->transport = v.transport == DPB_TRANSPORT_GPU ? DP_TRANSPORT_GPU : DP_TRANSPORT_HOST;
    return dp_port_open_producer(p, v.producer_pid, v.producer_start_time);
}

DP_RESULT dp_port_check_producer(const dp_port *p)
{
    if (p->producer_process && WaitForSingleObject(p->producer_process, 0) == WAIT_OBJECT_0)
        return dp_fail(DP_ERROR_DISCONNECTED, "the producer of %ls has exited", p->names.display);
    return DP_OK;
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
        return dp_fail(DP_ERROR_TIMEOUT, "timed out after %u ms waiting on %ls", timeout_ms,
                       p->names.display);
    return dp_fail_win32(DP_ERROR_DEVICE, GetLastError(), "WaitForMultipleObjects");
}

void dp_port_release(dp_port *p)
{
    dp_host_destroy(p->host);
    p->host = NULL;
    if (p->block)
        UnmapViewOfFile(p->block);
    p->block = NULL;
    dp_close_handle(&p->ctl_section);
    dp_close_handle(&p->producer_process);
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
    if (p->block) {
        info->producer_pid = p->block->producer_pid;
        info->last_frame = dpb_latest_frame(p->block->latest);
    }
    if (p->host)
        info->last_frame = dp_host_value(p->host);
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
