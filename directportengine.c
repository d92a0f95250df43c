/*
 * directportengine.c - the port engine: the body of every public port call, written
 * once over the backends (dp12, dp11, the GL adapter's COPY mode; see dp_backend in
 * directportint.h). Layers below: the host transport (directporthost.c), the frame
 * ring (directportring.c), discovery (directportregistry.c), the control block and
 * named sections (directportcontrol.c, directportsection.c).
 *
 * Generations are transactions. Whoever moves a handle to a new generation (a producer
 * resizing, a consumer following a resize or a new producer) builds every object of it
 * first and commits last; a failed build leaves the handle on the generation it had,
 * holding no claim, and the next call tries again from scratch.
 */
#include "directportint.h"

static bool dp_engine_ready(const dp_backend *b, const char *fn)
{
    if (b->ready())
        return true;
    dp_fail(DP_ERROR_NOT_INITIALIZED, "%s: call %s first", fn, b->init_call);
    return false;
}

dp_port *dp_engine_new(const dp_backend *b, bool producer)
{
    dp_port *p = HeapAlloc(GetProcessHeap(), HEAP_ZERO_MEMORY, b->port_size);
    if (!p) {
        dp_fail(DP_ERROR_OUT_OF_MEMORY, "out of memory");
        return NULL;
    }
    p->backend = b;
    p->kind = b->kind;
    p->producer = producer;
    p->reader = -1;
    p->held = DP_NO_SLOT;
    p->begun = DP_NO_SLOT;
    InitializeSRWLock(&p->pending_lock);
    return p;
}

bool dp_engine_init(const dp_backend *b, const char *fn)
{
    HRESULT hr = b->create_device();
    if (FAILED(hr)) {
        dp_fail_hr(DP_ERROR_DEVICE, hr, fn);
        return false;
    }
    return true;
}

bool dp_engine_init_with_device(const dp_backend *b, void *device, const char *fn)
{
    if (!device) {
        dp_fail(DP_ERROR_INVALID_ARGUMENT, "%s: device is NULL", fn);
        return false;
    }
    /* init and shutdown are not raced with other calls (directport.h). */
    if (b->device() && b->device() != device) {
        dp_fail(DP_ERROR_INVALID_ARGUMENT, "%s: another device is in use; call %s first", fn, b->shutdown_call);
        return false;
    }
    if (!b->device())
        b->adopt_device(device);
    return true;
}

void *dp_engine_device(const dp_backend *b, const char *fn)
{
    return dp_engine_ready(b, fn) ? b->device() : NULL;
}

/* Per kind: the library's own users of a core that its shutdown must not pull the
 * handles and device from under (dp_engine_pin). */
static volatile LONG dp_engine_pins[4];

void dp_engine_pin(const dp_backend *b, int delta)
{
    InterlockedExchangeAdd(&dp_engine_pins[b->kind & 3], delta);
}

void dp_engine_shutdown(const dp_backend *b)
{
    LONG pins = InterlockedCompareExchange(&dp_engine_pins[b->kind & 3], 0, 0);
    if (pins) {
        dp_fail(DP_ERROR_INVALID_ARGUMENT, "%s: %ld GL port(s) read through this core are open: dpgl_close them first",
                b->shutdown_call, (long)pins);
        return;
    }
    dp_engine_close_all(b);
    b->release_device();
}

dp_port *dp_engine_get(const dp_backend *b, DP_HANDLE h, const char *fn)
{
    if (!dp_engine_ready(b, fn))
        return NULL;
    return dp_handle_get(h, b->kind, fn);
}

dp_gen *dp_engine_gen(const dp_backend *b, DP_HANDLE h, const char *fn)
{
    dp_port *p = dp_engine_get(b, h, fn);
    return p ? p->gen : NULL;
}

dp_port *dp_engine_get_side(const dp_backend *b, DP_HANDLE h, bool producer, const char *fn)
{
    dp_port *p = dp_engine_get(b, h, fn);
    if (!p)
        return NULL;
    if (p->producer != producer) {
        dp_fail(DP_ERROR_INVALID_ARGUMENT, "%s: %ls was %s by this handle; this call is for its %s", fn,
                p->names.display, p->producer ? "created" : "opened", producer ? "producer" : "consumers");
        return NULL;
    }
    if (p->external) {
        dp_fail(DP_ERROR_UNSUPPORTED, "%s: %ls was made by another DirectPort build and has no control block", fn,
                p->names.display);
        return NULL;
    }
    return p;
}

/* ---- Lifetime ---------------------------------------------------------------------------- */

static dp_gen *dp_engine_gen_new(dp_port *p, const dp_geometry *geo)
{
    dp_gen *g = HeapAlloc(GetProcessHeap(), HEAP_ZERO_MEMORY, p->backend->gen_size);
    if (!g) {
        dp_fail(DP_ERROR_OUT_OF_MEMORY, "out of memory");
        return NULL;
    }
    g->port = p;
    g->geo = *geo;
    return g;
}

/* A whole generation for geo, or NULL (error set) and nothing of it left. */
static dp_gen *dp_engine_build_gen(dp_port *p, const dp_geometry *geo, const dp_security *sec)
{
    dp_gen *g = dp_engine_gen_new(p, geo);
    if (g && p->backend->gen_build(p, g, sec) != DP_OK) {
        p->backend->gen_free(p, g);
        HeapFree(GetProcessHeap(), 0, g);
        return NULL;
    }
    return g;
}

/* Waits (bounded) until the worker and the GPU are done with g's objects: the
 * producer's last signalled value, the consumer's last release. */
static void dp_engine_quiesce(dp_port *p, dp_gen *g)
{
    const dp_backend *b = p->backend;
    dp_fence_role role = p->producer ? DP_FENCE_FRAMES : DP_FENCE_RELEASE;
    uint64_t value = p->producer ? p->signalled : p->release_value;
    if (b->gen_quiesce) {
        b->gen_quiesce(p, g);
        return;
    }
    ULONGLONG start = GetTickCount64();
    if (g->host)
        dp_host_drain(g->host);
    /* The handle's own GPU work, whatever became of the producer; the event is auto-reset
     * and may be stale, so the value is looked at again after every wake. */
    while (p->wait_event && b->fence_value(p, g, role) < value && dp_remaining_ms(start, DP_OWN_WORK_WAIT_MS) &&
           b->fence_arm(p, g, role, value, p->wait_event))
        WaitForSingleObject(p->wait_event, dp_remaining_ms(start, DP_OWN_WORK_WAIT_MS));
}

/* Lets go of a generation once the GPU and the worker are done with it. */
static void dp_engine_drop_gen(dp_port *p, dp_gen *g)
{
    if (!g)
        return;
    dp_engine_quiesce(p, g);
    p->backend->gen_free(p, g);
    HeapFree(GetProcessHeap(), 0, g);
}

/* Consumer: drops the claims still waiting for the caller's GPU (their generation is
 * done: quiesced) . */
static void dp_engine_drop_pending(dp_port *p)
{
    AcquireSRWLockExclusive(&p->pending_lock);
    while (p->pending_count)
        dp_ring_unclaim(p, p->reader, p->pending[--p->pending_count].slot);
    ReleaseSRWLockExclusive(&p->pending_lock);
}

/* Consumer closing with a frame still held: its release is signalled now, on the queue
 * of its acquire (after the caller's reads there), so the quiesce before the
 * generation's objects go waits for those reads, and the slot goes back only then. */
static void dp_engine_release_held(dp_port *p)
{
    uint64_t value = p->release_value + 1;
    bool signalled = false;
    if (p->producer || p->held == DP_NO_SLOT || !p->gen)
        return;
    if (p->backend->release(p, p->held_queue, value, &signalled) == DP_OK && signalled)
        p->release_value = value;
    p->held = DP_NO_SLOT;
}

/* Drops the reference on the queue of the frame held last (hold_queue). */
static void dp_engine_drop_queue(dp_port *p)
{
    if (p->held_queue && p->backend->hold_queue)
        p->backend->hold_queue(p->held_queue, false);
    p->held_queue = NULL;
}

/* Accepts a half-built port: every failed create or open ends here too. */
static void dp_engine_destroy(dp_port *p)
{
    /* The thread-pool wait touches the block: gone before the block is. */
    if (p->release_wait)
        UnregisterWaitEx(p->release_wait, INVALID_HANDLE_VALUE);
    p->release_wait = NULL;
    dp_engine_release_held(p);
    /* A takeover that failed half-way still ends its change, so consumers are not
     * left retrying an odd generation. */
    if (p->block && p->publish == DP_PUBLISH_GENERATION)
        dp_port_publish_block(p);
    dp_port_close_block(p);
    dp_engine_drop_gen(p, p->gen);
    p->gen = NULL;
    /* Only now: the release signalled on it above has run (or the quiesce gave up). */
    dp_engine_drop_queue(p);
    if (p->registered)
        dp_registry_remove(p);
    if (p->block && !p->producer)
        dp_ring_leave(p);
    p->backend->teardown(p);
    dp_close_handle(&p->release_event);
    dp_close_handle(&p->wait_event);
    dp_port_release(p);
    HeapFree(GetProcessHeap(), 0, p);
}

/* Registers a built port, or destroys it and returns NULL on failure r. */
static DP_HANDLE dp_engine_finish(dp_port *p, DP_RESULT r)
{
    DP_HANDLE h = NULL;
    if (r == DP_OK)
        h = dp_handle_add(p->kind, p);
    if (h && p->producer && p->block && dp_registry_add(p) != DP_OK) {
        dp_handle_take(h, p->kind, "create");
        h = NULL;
    }
    if (!h)
        dp_engine_destroy(p);
    else
        p->complete = p->producer;
    return h;
}

/* The handle's lasting objects: the engine's wait event, then the backend's. */
static DP_RESULT dp_engine_setup(dp_port *p)
{
    p->wait_event = dp_track(CreateEventW(NULL, FALSE, FALSE, NULL));
    if (!p->wait_event)
        return dp_fail_win32(DP_ERROR_OUT_OF_MEMORY, GetLastError(), "CreateEvent");
    return p->backend->setup(p);
}

/* Builds p's first generation from its own geometry. */
static DP_RESULT dp_engine_first_gen(dp_port *p, const dp_security *sec)
{
    dp_geometry geo;
    dp_port_geometry(p, &geo);
    p->gen = dp_engine_build_gen(p, &geo, sec);
    return p->gen ? DP_OK : dp_last_error();
}

DP_HANDLE dp_engine_create(const dp_backend *b, const dp_create_args *a)
{
    DP_TRANSPORT transport;
    dp_security sec;
    dp_port *p;
    DP_RESULT r;

    if (b->choose_transport(a, &transport) != DP_OK)
        return NULL;
    p = dp_engine_new(b, true);
    if (!p)
        return NULL;
    dp_port_from_args(p, a);
    p->transport = transport;
    r = dp_port_security(p, a->sddl, &sec);
    if (r != DP_OK)
        return dp_engine_finish(p, r);
    /* The control block claims the name first, so a taken name fails before anything
     * of the existing port is touched. */
    r = dp_port_create_block(p, &sec, b->adapter());
    if (r == DP_OK)
        r = dp_engine_setup(p);
    if (r == DP_OK)
        r = dp_engine_first_gen(p, &sec);
    if (r == DP_OK)
        dp_port_publish_block(p);
    dp_security_free(&sec);
    return dp_engine_finish(p, r);
}

DP_HANDLE dp_engine_create_port(const dp_backend *b, const DP_PORT_DESC *desc, const char *fn)
{
    dp_create_args a;
    DP_HANDLE h = NULL;
    if (dp_engine_ready(b, fn) && dp_args_from_desc(desc, &a, fn) == DP_OK)
        h = dp_engine_create(b, &a);
    if (!h)
        dp_error_note_create_failed();
    return h;
}

DP_HANDLE dp_engine_create_legacy(const dp_backend *b, uint32_t width, uint32_t height, DP_FORMAT format,
                                  uint32_t flags, const wchar_t *tex_name, const wchar_t *fence_name, const char *fn)
{
    dp_create_args a;
    DP_HANDLE h = NULL;
    if (dp_engine_ready(b, fn) && dp_args_legacy(width, height, format, flags, tex_name, fence_name, &a, fn) == DP_OK)
        h = dp_engine_create(b, &a);
    if (!h)
        dp_error_note_create_failed();
    return h;
}

/* A GPU port made by another DirectPort build: its two NT names and nothing else. The
 * texture tells the geometry; one slot, one generation. */
static DP_RESULT dp_engine_open_external(dp_port *p)
{
    const dp_backend *b = p->backend;
    dp_geometry geo = {0};
    uint32_t f, dxgi = 0, dxgi_format = 0, height = 0, flags = 0;
    uint64_t width = 0;
    DP_RESULT r;
    /* Only a device that can share could open one: otherwise keep the open's error. */
    if (!b->can_share())
        return dp_last_error();
    p->gen = dp_engine_gen_new(p, &geo);
    if (!p->gen)
        return dp_last_error();
    r = b->open_external(p, p->gen, &dxgi_format, &width, &height, &flags);
    if (r != DP_OK)
        return r;
    for (f = 0; dpb_format_info(f, &dxgi, &geo.bytes_per_pixel); f++)
        if (dxgi == dxgi_format)
            break;
    if (dxgi != dxgi_format || !width || !height || width > DP_MAX_DIMENSION || height > DP_MAX_DIMENSION)
        return dp_fail(DP_ERROR_INCOMPATIBLE, "the texture %ls has a format or size DirectPort does not use",
                       p->names.tex);
    geo.format = (DP_FORMAT)f;
    geo.dxgi_format = dxgi;
    geo.width = (uint32_t)width;
    geo.height = height;
    geo.slots = 1;
    geo.legacy = true;
    geo.transport = DP_TRANSPORT_GPU;
    geo.flags = flags;
    geo.row_pitch = dpb_row_pitch(geo.width, geo.bytes_per_pixel);
    p->gen->geo = geo;
    dp_port_set_geometry(p, &geo);
    p->external = true;
    return DP_OK;
}

static VOID CALLBACK dp_engine_release_done(PVOID ctx, BOOLEAN timed_out);

DP_HANDLE dp_engine_open_names(const dp_backend *b, const dpn_names *names)
{
    dp_port *p = dp_engine_new(b, false);
    DP_RESULT r;
    if (!p)
        return NULL;
    p->names = *names;
    r = dp_port_open_block(p);
    if (r == DP_ERROR_NOT_FOUND && !p->block && names->tex[0] && b->open_external) {
        /* No control block: perhaps a GPU port of another DirectPort build. */
        r = dp_engine_open_external(p);
        if (r == DP_OK)
            r = dp_engine_setup(p);
        return dp_engine_finish(p, r);
    }
    if (r == DP_OK)
        r = dp_engine_setup(p);
    if (r == DP_OK)
        r = dp_engine_first_gen(p, NULL);
    if (r == DP_OK && b->fence_arm) {
        p->release_event = dp_track(CreateEventW(NULL, FALSE, FALSE, NULL));
        if (!p->release_event ||
            !RegisterWaitForSingleObject(&p->release_wait, p->release_event, dp_engine_release_done, p, INFINITE,
                                         WT_EXECUTEDEFAULT)) {
            p->release_wait = NULL;
            r = dp_fail_win32(DP_ERROR_OUT_OF_MEMORY, GetLastError(), "RegisterWaitForSingleObject");
        }
    }
    return dp_engine_finish(p, r);
}

DP_HANDLE dp_engine_open(const dp_backend *b, const wchar_t *name, const wchar_t *fence_name, const char *fn)
{
    dpn_names names;
    dp_error_state saved;
    DP_HANDLE h;
    if (!dp_engine_ready(b, fn) || dp_names_for_open(name, fence_name, false, &names, fn) != DP_OK)
        return NULL;
    dp_error_save(&saved);
    h = dp_engine_open_names(b, &names);
    /* A port's namespace is its creator's choice: the session's first, then the global one. */
    if (!h && !fence_name && dp_last_error() == DP_ERROR_NOT_FOUND) {
        dp_names_for_open(name, NULL, true, &names, fn);
        h = dp_engine_open_names(b, &names);
    }
    if (h)
        dp_error_restore(&saved);
    return h;
}

void dp_engine_close(const dp_backend *b, DP_HANDLE h, const char *fn)
{
    dp_port *p;
    if (!dp_engine_ready(b, fn))
        return;
    p = dp_handle_take(h, b->kind, fn);
    if (p)
        dp_engine_destroy(p);
}

void dp_engine_close_all(const dp_backend *b)
{
    dp_port *p;
    while ((p = dp_handle_take_any(b->kind)))
        dp_engine_destroy(p);
}

/* ---- Producer ---------------------------------------------------------------------------- */

DP_RESULT dp_engine_begin_frame(const dp_backend *b, DP_HANDLE h, void **out_target, const char *fn)
{
    dp_port *p = dp_engine_get_side(b, h, true, fn);
    dp_host *host;
    uint32_t slot;
    DP_RESULT r;
    if (!p)
        return dp_last_error();
    if (!out_target)
        return dp_fail(DP_ERROR_INVALID_ARGUMENT, "%s: out_target is NULL", fn);
    host = dp_port_host(p);
    /* Before the frame's fence value exists: a legacy follow step must never see it. */
    if (host)
        dp_host_enter_frame_mode(host);
    if (p->begun == DP_NO_SLOT) {
        /* A host slot whose readback is still queued is not free either. */
        uint32_t busy = (host ? dp_host_busy(host) : 0) | (b->busy_slots ? b->busy_slots(p) : 0);
        r = dp_ring_pick(p, busy, &slot);
        if (r != DP_OK) {
            *out_target = NULL;
            return r;
        }
        p->begun = slot;
    }
    *out_target = b->slot_texture(p, p->begun);
    return DP_OK;
}


/* A GPU-transport port's frame fence reading UINT64_MAX: its device was removed ("If the
 * device has been removed, the return value will be UINT64_MAX", ID3D12Fence::
 * GetCompletedValue; a removal signals every fence to that value,
 * ID3D12Device::GetDeviceRemovedReason). That value completes no frame. Host-transport
 * values are counts, never that; a legacy port's values are its caller's, who may signal
 * any value: only the frame protocol's own values are judged. */
static bool dp_engine_device_removed(const dp_backend *b, dp_port *p)
{
    return p->transport == DP_TRANSPORT_GPU && !p->legacy && p->gen && b->fence_arm &&
           b->fence_value(p, p->gen, DP_FENCE_FRAMES) == UINT64_MAX;
}
DP_RESULT dp_engine_end_frame(const dp_backend *b, DP_HANDLE h, void *queue, bool need_queue, uint64_t *out_frame,
                              const char *fn)
{
    dp_port *p = dp_engine_get_side(b, h, true, fn);
    uint32_t slot, texture;
    uint64_t frame;
    dp_host *host;
    DP_RESULT r;
    if (!p)
        return dp_last_error();
    if (need_queue && !queue)
        return dp_fail(DP_ERROR_INVALID_ARGUMENT, "%s: queue is NULL", fn);
    if (p->begun == DP_NO_SLOT)
        return dp_fail(DP_ERROR_INVALID_ARGUMENT, "%s: no frame begun on %ls", fn, p->names.display);
    if (dp_engine_device_removed(b, p))
        return dp_fail(DP_ERROR_DEVICE, "%s: the fence of %ls reads UINT64_MAX: the device was removed", fn,
                       p->names.display);
    /* Frame values go on from whatever the fence or the port has seen, legacy signals
     * and earlier producers included, so they only ever grow. */
    frame = p->last_frame;
    if (b->fence_value(p, p->gen, DP_FENCE_FRAMES) > frame)
        frame = b->fence_value(p, p->gen, DP_FENCE_FRAMES);
    if (dp_port_published(p) > frame)
        frame = dp_port_published(p);
    frame++;
    slot = p->begun;
    texture = slot;
    r = b->end_frame(p, queue, slot, frame, &texture);
    if (r != DP_OK)
        return r;
    p->last_frame = frame;
    if (frame > p->signalled)
        p->signalled = frame;
    host = dp_port_host(p);
    if (host)
        dp_host_readback(host, texture, slot, frame);
    else
        dp_ring_publish(p, slot, frame);
    p->begun = DP_NO_SLOT;
    if (out_frame)
        *out_frame = frame;
    return DP_OK;
}

void dp_engine_signalled(dp_port *p, uint64_t value)
{
    if (p->producer && value > p->signalled)
        p->signalled = value;
    /* Only a 1-slot port's value is its frame: a port of more slots publishes through
     * end_frame, and slot 0 may be being written. */
    if (p->transport == DP_TRANSPORT_GPU && p->producer && p->block && p->slots == 1)
        dp_ring_publish(p, 0, value);
}

void dp_engine_abort_frame(DP_HANDLE h, dp_kind kind)
{
    dp_port *p = dp_handle_get(h, kind, "abort_frame");
    if (p)
        p->begun = DP_NO_SLOT;
}

DP_RESULT dp_engine_resize(const dp_backend *b, DP_HANDLE h, uint32_t width, uint32_t height, const char *fn)
{
    dp_port *p = dp_engine_get_side(b, h, true, fn);
    dp_security sec;
    dp_geometry geo;
    dp_gen *g;
    DP_RESULT r;
    if (!p)
        return dp_last_error();
    if (!width || !height || width > DP_MAX_DIMENSION || height > DP_MAX_DIMENSION)
        return dp_fail(DP_ERROR_INVALID_ARGUMENT, "%s: size %ux%u is outside 1..%u", fn, width, height,
                       DP_MAX_DIMENSION);
    if (p->begun != DP_NO_SLOT)
        return dp_fail(DP_ERROR_INVALID_ARGUMENT, "%s: end the frame begun first", fn);
    if (p->legacy && p->transport == DP_TRANSPORT_GPU)
        return dp_fail(DP_ERROR_UNSUPPORTED, "%s: a legacy GPU port's texture has a fixed name", fn);
    if (width == p->width && height == p->height)
        return DP_OK;
    r = dp_port_security(p, NULL, &sec);
    if (r != DP_OK)
        return r;
    /* The new generation is built whole under its own names while the old one serves
     * on; only then does the block switch, so a consumer that sees the new generation
     * finds all of it, and a failed build changes nothing. */
    dp_port_geometry(p, &geo);
    geo.width = width;
    geo.height = height;
    geo.row_pitch = dpb_row_pitch(width, geo.bytes_per_pixel);
    geo.generation = p->generation + 2;
    g = dp_engine_build_gen(p, &geo, &sec);
    dp_security_free(&sec);
    if (!g)
        return dp_last_error();
    dp_engine_drop_gen(p, p->gen);
    p->gen = g;
    dp_port_commit_block(p, &geo);
    return DP_OK;
}

/* ---- Consumer ---------------------------------------------------------------------------- */

/* Consumer: moves to the block's generation if it moved (a resize, a new producer).
 * DP_ERROR_TIMEOUT while the block is being changed by a live producer. */
static DP_RESULT dp_engine_follow(dp_port *p)
{
    for (;;) {
        dp_geometry geo;
        bool moved = false;
        dp_gen *g;
        DP_RESULT r = dp_port_read_change(p, &geo, &moved);
        /* A block that stays odd or broken after its producer died is a disconnect. */
        if (r != DP_OK)
            return dp_port_check_producer(p) == DP_ERROR_DISCONNECTED ? DP_ERROR_DISCONNECTED : r;
        if (!moved)
            return dp_port_check_producer(p);
        /* The new generation's worker waits on the producer's process from its first
         * moment: the block's producer first. */
        r = dp_port_follow_producer(p);
        if (r != DP_OK)
            return r;
        g = dp_engine_build_gen(p, &geo, NULL);
        /* Its objects may have gone already under a producer that resized again: look again. */
        if (!g && p->block->generation != geo.generation)
            continue;
        if (!g)
            return dp_last_error();
        dp_engine_drop_gen(p, p->gen);
        /* Claims of the old generation's slots mean nothing in the new one. */
        dp_engine_drop_pending(p);
        p->gen = g;
        dp_port_set_geometry(p, &geo);
        /* Every frame of a new generation is newer than the last one acquired: a frame
         * value a writer of the block made up cannot hold this consumer back past it. */
        p->last_frame = 0;
        return DP_OK;
    }
}

/* Consumer: claims the newest frame beyond the last acquired (or, for a prefetching
 * backend, takes the one its worker brought in): DP_ERROR_TIMEOUT when none is there yet. */
static DP_RESULT dp_engine_take(dp_port *p, uint32_t *out_slot, uint64_t *out_frame)
{
    const dp_backend *b = p->backend;
    DP_RESULT r;
    if (b->take_ready)
        return b->take_ready(p, out_slot, out_frame);
    r = dp_ring_claim(p, p->slots, p->last_frame, out_slot, out_frame);
    /* A claim made as the generation moved may be of a slot of the next one. */
    if (r == DP_OK && p->block->generation != p->generation) {
        dp_ring_unclaim(p, p->reader, *out_slot);
        return DP_ERROR_TIMEOUT;
    }
    return r;
}

DP_RESULT dp_engine_acquire_frame(const dp_backend *b, DP_HANDLE h, void *queue, bool need_queue,
                                  uint32_t timeout_ms, void **out_source, uint64_t *out_frame, const char *fn)
{
    dp_port *p = dp_engine_get_side(b, h, false, fn);
    ULONGLONG start = GetTickCount64();
    dp_error_state saved;
    uint32_t slot = 0;
    uint64_t frame = 0;
    DP_RESULT r;
    if (!p)
        return dp_last_error();
    if ((need_queue && !queue) || !out_source)
        return dp_fail(DP_ERROR_INVALID_ARGUMENT, "%s: %s must not be NULL", fn,
                       need_queue ? "queue and out_source" : "out_source");
    *out_source = NULL;
    if (p->held != DP_NO_SLOT)
        return dp_fail(DP_ERROR_INVALID_ARGUMENT, "%s: release the frame this handle holds first", fn);
    dp_error_save(&saved);
    for (;;) {
        uint64_t seen = dp_port_published(p);
        uint32_t remaining;
        bool changing;
        r = dp_engine_follow(p);
        changing = r == DP_ERROR_TIMEOUT;
        if (r == DP_OK) {
            /* A prefetching worker follows the port by itself; others copy only on request. */
            if (dp_port_host(p) && !b->take_ready)
                dp_host_enter_frame_mode(dp_port_host(p));
            r = dp_engine_take(p, &slot, &frame);
            if (r == DP_OK)
                break;
        }
        if (r != DP_ERROR_TIMEOUT)
            return r;
        remaining = dp_remaining_ms(start, timeout_ms);
        if (!remaining)
            return dp_fail(DP_ERROR_TIMEOUT, "%s: no new frame on %ls within %u ms", fn, p->names.display,
                           timeout_ms);
        if (changing)
            r = dp_wait_event(p, p->wait_event, remaining < 10 ? remaining : 10);
        else if (b->take_ready)
            /* Short slices: a resize or a restarted producer is noticed between them. */
            r = dp_wait_event(p, b->ready_event(p), remaining < 50 ? remaining : 50);
        else
            r = dp_port_wait_published(p, seen, NULL, remaining);
        if (r == DP_ERROR_DISCONNECTED) {
            /* A new producer may have taken the name over meanwhile: look again. */
            if (p->block->generation == p->generation)
                return r;
        } else if (r != DP_OK && r != DP_ERROR_TIMEOUT) {
            return r;
        }
    }
    /* GPU transport: the caller's queue is about to wait for the frame's fence value. A
     * producer that died before its GPU signal ran would leave that wait unsatisfied for
     * good (a queue wait has no timeout), so a value not reached yet is waited for on the
     * CPU first, with the producer's process, within the call's timeout. */
    while (r == DP_OK && p->transport == DP_TRANSPORT_GPU && b->fence_arm &&
           b->fence_value(p, p->gen, DP_FENCE_FRAMES) < frame) {
        if (!b->fence_arm(p, p->gen, DP_FENCE_FRAMES, frame, p->wait_event))
            r = dp_fail(DP_ERROR_DEVICE, "%s: cannot wait for frame %llu of %ls", fn, (unsigned long long)frame,
                        p->names.display);
        else
            r = dp_wait_event(p, p->wait_event, dp_remaining_ms(start, timeout_ms));
        if (r == DP_ERROR_DISCONNECTED && b->fence_value(p, p->gen, DP_FENCE_FRAMES) >= frame)
            r = DP_OK;
    }
    if (r == DP_OK && dp_engine_device_removed(b, p))
        r = dp_fail(DP_ERROR_DEVICE, "%s: the fence of %ls reads UINT64_MAX: the device was removed", fn,
                    p->names.display);
    if (r == DP_OK)
        r = b->consume(p, queue, slot, frame, out_source);
    if (r != DP_OK) {
        /* Nothing is held after a failed acquire: not the claim, not a half-made wait. */
        if (!b->take_ready)
            dp_ring_unclaim(p, p->reader, slot);
        *out_source = NULL;
        return r;
    }
    p->last_frame = frame;
    p->held = slot;
    if (queue && b->hold_queue) {
        b->hold_queue(queue, true);
        p->held_queue = queue;
    }
    if (out_frame)
        *out_frame = frame;
    /* Timeouts and disconnects on the way that the call got past are not its errors. */
    dp_error_restore(&saved);
    return DP_OK;
}

/* Thread pool: the caller's GPU passed some release values; drop those claims. */
static VOID CALLBACK dp_engine_release_done(PVOID ctx, BOOLEAN timed_out)
{
    dp_port *p = ctx;
    uint64_t done = p->backend->fence_value(p, p->gen, DP_FENCE_RELEASE);
    uint32_t i = 0;
    (void)timed_out;
    AcquireSRWLockExclusive(&p->pending_lock);
    while (i < p->pending_count) {
        if (p->pending[i].value <= done) {
            dp_ring_unclaim(p, p->reader, p->pending[i].slot);
            p->pending[i] = p->pending[--p->pending_count];
        } else {
            i++;
        }
    }
    ReleaseSRWLockExclusive(&p->pending_lock);
}

void dp_engine_release_frame(const dp_backend *b, DP_HANDLE h, void *queue, bool need_queue, const char *fn)
{
    dp_port *p = dp_engine_get_side(b, h, false, fn);
    uint64_t value;
    bool queued = false, signalled = false, failed;
    uint32_t slot;
    if (!p)
        return;
    if (need_queue && !queue) {
        dp_fail(DP_ERROR_INVALID_ARGUMENT, "%s: queue is NULL", fn);
        return;
    }
    if (p->held == DP_NO_SLOT) {
        dp_fail(DP_ERROR_INVALID_ARGUMENT, "%s: this handle holds no frame", fn);
        return;
    }
    slot = p->held;
    p->held = DP_NO_SLOT;
    /* A failed signal leaves the GPU state unknown: the claim stays rather than let the
     * slot be rewritten under the caller's reads (the error says so). */
    value = p->release_value + 1;
    failed = b->release(p, queue, value, &signalled) != DP_OK || !signalled;
    dp_engine_drop_queue(p);
    if (failed)
        return;
    p->release_value = value;
    if (p->transport != DP_TRANSPORT_GPU)
        return;
    AcquireSRWLockExclusive(&p->pending_lock);
    if (p->pending_count < DP_MAX_PENDING) {
        p->pending[p->pending_count].slot = slot;
        p->pending[p->pending_count].value = value;
        p->pending_count++;
        queued = true;
    }
    ReleaseSRWLockExclusive(&p->pending_lock);
    if (!queued || !b->fence_arm(p, p->gen, DP_FENCE_RELEASE, value, p->release_event))
        dp_fail(DP_ERROR_DEVICE, "%s: cannot track the release; the claim stays", fn);
}

/* ---- Waits ------------------------------------------------------------------------------- */

DP_RESULT dp_engine_gpu_wait_ready(const dp_backend *b, DP_HANDLE h, uint64_t value, const char *fn)
{
    dp_port *p = dp_engine_get(b, h, fn);
    if (!p)
        return dp_last_error();
    if (p->producer || b->fence_value(p, p->gen, DP_FENCE_FRAMES) >= value)
        return DP_OK;
    /* A value the producer has published already is under way (its GPU signal, or the
     * worker's upload): up to the bound of the library's own work for it. */
    return dp_engine_cpu_wait(b, h, value,
                              p->notify && dp_port_published(p) >= value ? DP_OWN_WORK_WAIT_MS : DP_LEGACY_WAIT_MS, fn);
}

DP_RESULT dp_engine_cpu_wait(const dp_backend *b, DP_HANDLE h, uint64_t value, uint32_t timeout_ms, const char *fn)
{
    dp_port *p = dp_engine_get(b, h, fn);
    ULONGLONG start = GetTickCount64();
    bool producer_gone = false;
    dp_error_state saved;
    if (!p)
        return dp_last_error();
    dp_error_save(&saved);
    for (;;) {
        HANDLE event = NULL;
        uint32_t remaining;
        DP_RESULT r = DP_OK;
        if (b->fence_value(p, p->gen, DP_FENCE_FRAMES) >= value) {
            if (dp_engine_device_removed(b, p))
                return dp_fail(DP_ERROR_DEVICE, "%s: the fence of %ls reads UINT64_MAX: the device was removed", fn,
                               p->names.display);
            /* A disconnect seen on the way, with the value arriving anyway, is no error. */
            dp_error_restore(&saved);
            return DP_OK;
        }
        remaining = dp_remaining_ms(start, timeout_ms);
        if (!remaining)
            return dp_fail(DP_ERROR_TIMEOUT, "%s: %ls did not reach %llu within %u ms", fn, p->names.display,
                           (unsigned long long)value, timeout_ms);
        if (b->arm_wait)
            r = b->arm_wait(p, value, &event);
        else if (b->fence_arm(p, p->gen, DP_FENCE_FRAMES, value, p->wait_event))
            event = p->wait_event;
        else
            r = dp_fail(DP_ERROR_DEVICE, "%s: cannot wait for the fence of %ls", fn, p->names.display);
        if (r != DP_OK)
            return r;
        /* Wakes are re-checked at the top: an auto-reset event may be stale. */
        if (!event)
            r = dp_port_wait_published(p, value - 1, NULL, remaining);
        else if (producer_gone)
            r = WaitForSingleObject(event, remaining == UINT32_MAX ? INFINITE : remaining) == WAIT_FAILED
                    ? dp_fail_win32(DP_ERROR_DEVICE, GetLastError(), "WaitForSingleObject")
                    : DP_OK;
        else
            r = dp_wait_event(p, event, remaining);
        if (r == DP_ERROR_DISCONNECTED) {
            if (b->fence_value(p, p->gen, DP_FENCE_FRAMES) >= value) {
                dp_error_restore(&saved);
                return DP_OK;
            }
            /* Frames published before the exit still arrive; only a value that can no
             * longer come is a disconnect. */
            if (!dp_port_host(p) || !p->notify || dp_port_published(p) < value)
                return r;
            producer_gone = true;
        } else if (r != DP_OK && r != DP_ERROR_TIMEOUT) {
            return r;
        }
    }
}

uint64_t dp_engine_completed(const dp_backend *b, DP_HANDLE h, const char *fn)
{
    dp_port *p = dp_engine_get(b, h, fn);
    return p ? b->fence_value(p, p->gen, DP_FENCE_FRAMES) : 0;
}
