/*
 * directportregistry.c - discovery: which ports are live.
 *
 * Named kernel objects cannot be listed through Win32, so every producer writes its
 * port's name into a small table in a well-known section per namespace
 * ([Local|Global]\DirectPort.registry.v2, guarded by the mutex <section>.lock) and
 * removes it at close. An entry whose process is gone (killed producer) counts as
 * free. dp_list_ports reads each live entry's own control block for the details.
 * A section lives while a handle to it is open: every registered producer keeps one.
 */
#include "directportint.h"

#define DP_REGISTRY_ENTRIES 1024u
#define DP_REGISTRY_MAGIC 0x3247455254504450ull /* "DPTREG2" */

typedef struct {
    uint32_t pid;
    uint32_t legacy;
    uint64_t start_time;
    wchar_t ctl[DPN_LEN];       /* the port's control block section */
    wchar_t display[DPN_LEN];   /* its name as dp_get_port_info reports it */
} dp_registry_entry;

typedef struct {
    uint64_t magic;
    uint32_t next;              /* where the next free entry is looked for first (a hint) */
    uint32_t reserved;
    dp_registry_entry entry[DP_REGISTRY_ENTRIES];
} dp_registry;

typedef struct {
    HANDLE section, mutex;
    dp_registry *table;
} dp_registry_view;

/* Opens the registry of a namespace (creating its section if create) and takes its lock. */
static bool dp_registry_lock(dp_registry_view *v, bool global, bool create)
{
    /* v2: entries hold names of DPN_LEN characters (legacy names of 255). Another layout
     * is another section, so builds of both never read each other's tables. */
    const wchar_t *section = global ? L"Global\\DirectPort.registry.v2" : L"Local\\DirectPort.registry.v2";
    const wchar_t *mutex = global ? L"Global\\DirectPort.registry.v2.lock" : L"Local\\DirectPort.registry.v2.lock";
    SECURITY_ATTRIBUTES sa = {sizeof(sa), NULL, FALSE};
    dp_section mapped;
    memset(v, 0, sizeof(*v));
    /* The mutex, like the section, is gone when no handle is open: always create-or-open it. */
    v->mutex = dp_track(CreateMutexW(NULL, FALSE, mutex));
    if (!v->mutex)
        return false;
    dp_error_state saved;
    DP_RESULT r;
    /* Discovery is a convenience: its failures are not the caller's errors. */
    dp_error_save(&saved);
    r = dp_section_map(&mapped, section, create ? &sa : NULL, sizeof(dp_registry), false, NULL, "registry");
    dp_error_restore(&saved);
    if (r != DP_OK) {
        dp_close_handle(&v->mutex);
        return false;
    }
    v->section = mapped.handle;
    v->table = mapped.view;
    /* WAIT_ABANDONED: a process died holding the lock; the table is still consistent
     * entry by entry, because a half-written entry has no pid yet. Discovery is a
     * convenience: a lock held too long never stalls the create or close behind it. */
    switch (WaitForSingleObject(v->mutex, 2000)) {
    case WAIT_OBJECT_0:
    case WAIT_ABANDONED:
        break;
    default:
        UnmapViewOfFile(v->table);
        dp_close_handle(&v->section);
        dp_close_handle(&v->mutex);
        return false;
    }
    if (v->table->magic != DP_REGISTRY_MAGIC) {
        memset(v->table, 0, sizeof(*v->table));
        v->table->magic = DP_REGISTRY_MAGIC;
    }
    return true;
}

/* Unlocks; *keep (if given) takes over the section handle instead of closing it. */
static void dp_registry_unlock(dp_registry_view *v, HANDLE *keep)
{
    ReleaseMutex(v->mutex);
    UnmapViewOfFile(v->table);
    if (keep)
        *keep = v->section;
    else
        dp_close_handle(&v->section);
    dp_close_handle(&v->mutex);
}

/* A free entry (or this port's own from an earlier producer), looked for from the hint
 * on; entries of dead processes are swept only when none is free, so registering costs
 * no process checks until the table fills. NULL when it is full of live ports. */
static dp_registry_entry *dp_registry_free_entry(dp_registry *t, const wchar_t *ctl)
{
    for (int pass = 0; pass < 2; pass++) {
        for (uint32_t n = 0; n < DP_REGISTRY_ENTRIES; n++) {
            uint32_t i = (t->next + n) % DP_REGISTRY_ENTRIES;
            dp_registry_entry *e = &t->entry[i];
            if (!e->pid || !wcsncmp(e->ctl, ctl, DPN_LEN) || (pass && !dp_process_alive(e->pid, e->start_time))) {
                t->next = (i + 1) % DP_REGISTRY_ENTRIES;
                return e;
            }
        }
    }
    return NULL;
}

DP_RESULT dp_registry_add(dp_port *p)
{
    dp_registry_view v;
    dp_registry_entry *e;
    bool global = (p->flags & DP_PORT_GLOBAL) != 0;
    /* Discovery is a convenience: a registry that cannot be reached does not fail a create. */
    if (!p->block || !dp_registry_lock(&v, global, true))
        return DP_OK;
    e = dp_registry_free_entry(v.table, p->names.ctl);
    if (e) {
        e->pid = 0;
        wcsncpy(e->ctl, p->names.ctl, DPN_LEN - 1);
        wcsncpy(e->display, p->names.display, DPN_LEN - 1);
        e->legacy = p->legacy;
        e->start_time = p->block->producer_start_time;
        e->pid = GetCurrentProcessId();
        p->registered = true;
    }
    dp_registry_unlock(&v, p->registered ? &p->registry_section : NULL);
    if (!e)
        return dp_fail(DP_ERROR_OUT_OF_MEMORY, "the %s discovery registry is full: %u live ports",
                       global ? "global" : "session", DP_REGISTRY_ENTRIES);
    return DP_OK;
}

void dp_registry_remove(dp_port *p)
{
    dp_registry_view v;
    p->registered = false;
    if (dp_registry_lock(&v, (p->flags & DP_PORT_GLOBAL) != 0, false)) {
        for (uint32_t i = 0; i < DP_REGISTRY_ENTRIES; i++) {
            dp_registry_entry *e = &v.table->entry[i];
            if (e->pid == GetCurrentProcessId() && !wcscmp(e->ctl, p->names.ctl))
                memset(e, 0, sizeof(*e));
        }
        dp_registry_unlock(&v, NULL);
    }
    dp_close_handle(&p->registry_section);
}

/* Fills info from the control block section named ctl; false if it is not a live port. */
static bool dp_registry_read_port(const dp_registry_entry *e, DP_PORT_INFO *info)
{
    dp_port p;
    bool ok = false;
    memset(&p, 0, sizeof(p));
    p.reader = -1;
    wcsncpy(p.names.ctl, e->ctl, DPN_LEN - 1);
    wcsncpy(p.names.display, e->display, DPN_LEN - 1);
    dp_section section;
    dp_error_state saved;
    DP_RESULT r;
    /* A port that went away meanwhile is no error of the caller's. */
    dp_error_save(&saved);
    r = dp_section_map(&section, e->ctl, NULL, sizeof(dpb_block), false, NULL, "control block");
    dp_error_restore(&saved);
    if (r == DP_OK) {
        dpb_view view;
        if (dpb_validate(section.view, section.size, &view, NULL)) {
            const dpb_block *b = section.view;
            p.block = section.view;
            p.width = view.width;
            p.height = view.height;
            p.format = (DP_FORMAT)view.format;
            p.slots = view.slot_count;
            p.flags = view.flags;
            p.row_pitch = view.row_pitch;
            p.generation = view.generation;
            p.transport = view.transport == DPB_TRANSPORT_GPU ? DP_TRANSPORT_GPU : DP_TRANSPORT_HOST;
            dp_port_info(&p, info);
            info->last_frame = dpb_latest_frame(b->latest);
            p.block = NULL;
            ok = true;
        }
        dp_section_unmap(&section);
    }
    return ok;
}

uint32_t dp_list_ports(DP_PORT_INFO *out, uint32_t capacity)
{
    uint32_t total = 0;
    if (!out && capacity) {
        dp_fail(DP_ERROR_INVALID_ARGUMENT, "dp_list_ports: out is NULL with capacity %u", capacity);
        return 0;
    }
    for (int global = 0; global < 2; global++) {
        dp_registry_view v;
        if (!dp_registry_lock(&v, global != 0, false))
            continue;
        for (uint32_t i = 0; i < DP_REGISTRY_ENTRIES; i++) {
            const dp_registry_entry *e = &v.table->entry[i];
            DP_PORT_INFO info;
            if (!e->pid || !dp_process_alive(e->pid, e->start_time) || !dp_registry_read_port(e, &info))
                continue;
            if (total < capacity)
                out[total] = info;
            total++;
        }
        dp_registry_unlock(&v, NULL);
    }
    return total;
}
