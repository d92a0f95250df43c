/*
 * directportint.h - what the D3D12 and D3D11 cores share: errors, handles, kernel
 * object accounting, security, the port record and the host transport.
 * Private: never installed.
 */
#ifndef DIRECTPORTINT_H
#define DIRECTPORTINT_H

#ifndef COBJMACROS
#define COBJMACROS
#endif
#include <windows.h>
#include <d3d12.h>
#include <d3d11_4.h>
#include <dxgi1_4.h>

#include "directport.h"
#include "directportblock.h"

#define DP_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Releases a COM object through its IUnknown and clears the pointer; NULL is fine. */
#define DP_RELEASE(p)                                       \
    do {                                                    \
        if (p) {                                            \
            IUnknown_Release((IUnknown *)(void *)(p));      \
            (p) = NULL;                                     \
        }                                                   \
    } while (0)

/* ---- Errors (directporterror.c) ------------------------------------------------------ */

/* Sets the calling thread's last error to r with a printf-style message; returns r. */
DP_RESULT dp_fail(DP_RESULT r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* As dp_fail, for a failed HRESULT: "<step> failed: hr 0x... (<system text>)". */
DP_RESULT dp_fail_hr(DP_RESULT r, HRESULT hr, const char *step);
/* As dp_fail, for a failed Win32 call; err = GetLastError(). */
DP_RESULT dp_fail_win32(DP_RESULT r, DWORD err, const char *step);
/* The DP_RESULT a failed HRESULT maps to (DEVICE, OUT_OF_MEMORY, ACCESS_DENIED...). */
DP_RESULT dp_result_from_hr(HRESULT hr);
/* The DP_RESULT a failed Win32 call maps to. */
DP_RESULT dp_result_from_win32(DWORD err);
/* True if hr says the driver cannot share (E_NOTIMPL, DXGI_ERROR_UNSUPPORTED...). */
bool dp_hr_is_unsupported(HRESULT hr);
/* The calling thread's last error, kept across a call that may fail on the way to
 * success (a retry in another namespace), which must leave it as it found it. */
typedef struct {
    DP_RESULT result;
    HRESULT hr;             /* the failing call's HRESULT, or the one its result stands for */
    char message[512];
} dp_error_state;
void dp_error_save(dp_error_state *out);
void dp_error_restore(const dp_error_state *saved);
/* A dp12 create call failed: its HRESULT (the last error's) becomes what
 * dp12_last_hresult returns on this thread. */
void dp_error_note_create_failed(void);
/* The HRESULT of the calling thread's last failed dp12 create; S_OK if none failed. */
HRESULT dp_error_create_hr(void);
/* DllMain hooks: free a thread's error record / everything at unload. */
void dp_error_thread_detach(void);
void dp_error_process_detach(void);

/* ---- Handles and accounting (directporthandle.c) ------------------------------------- */

typedef enum { DP_KIND_D3D12 = 1, DP_KIND_D3D11 = 2, DP_KIND_GL = 3 } dp_kind;

/* Registers obj and returns its handle: a tagged value, never a pointer, so a closed
 * or foreign handle is recognised rather than dereferenced. NULL when the table is full. */
DP_HANDLE dp_handle_add(dp_kind kind, void *obj);
/* The object behind h if h is live and of that kind; otherwise NULL and the last error
 * is DP_ERROR_INVALID_ARGUMENT naming fn. */
void *dp_handle_get(DP_HANDLE h, dp_kind kind, const char *fn);
/* As dp_handle_get, and removes h from the table (close). */
void *dp_handle_take(DP_HANDLE h, dp_kind kind, const char *fn);
/* Removes and returns any one live object of that kind (shutdown), NULL when none. */
void *dp_handle_take_any(dp_kind kind);
/* Any live handle regardless of kind: for calls shared by both cores. */
void *dp_handle_get_any(DP_HANDLE h, dp_kind *out_kind, const char *fn);

/* Every kernel handle the library holds goes through these, so dp_get_stats can
 * report them and tests can prove nothing leaks. dp_track returns h. */
HANDLE dp_track(HANDLE h);
void dp_close_handle(HANDLE *h);
void dp_stats_threads(LONG delta);
void dp_stats_copied(uint64_t bytes);

/* ---- Security (directportsecurity.c) ------------------------------------------------- */

/* A security descriptor for a port's objects per DESIGN §4: the creating user and
 * SYSTEM; + authenticated users with DP_PORT_ALL_USERS; or the caller's SDDL. */
typedef struct {
    SECURITY_ATTRIBUTES sa;
    PSECURITY_DESCRIPTOR sd;  /* LocalFree'd by dp_security_free */
} dp_security;

DP_RESULT dp_security_make(dp_security *out, uint32_t flags, const wchar_t *sddl);
void dp_security_free(dp_security *s);

/* ---- The port record shared by both cores --------------------------------------------- */

typedef struct dp_host dp_host;
typedef struct dp_notify dp_notify;

#define DP_NO_SLOT 0xffffffffu

typedef struct dp_port {
    dp_kind kind;
    bool producer;
    bool legacy;
    bool external;          /* GPU port made by another DirectPort build: no control block */
    DP_TRANSPORT transport; /* GPU or HOST */
    DP_FORMAT format;
    uint32_t width, height, bytes_per_pixel, row_pitch, slots, flags, dxgi_format;
    uint32_t generation;    /* of the block, when this handle's objects were made */
    dpn_names names;
    HANDLE ctl_section;
    dpb_block *block;       /* mapped control block; NULL for external ports */
    HANDLE notify_section;  /* published value + waiters, both transports */
    dp_notify *notify;
    HANDLE wake;            /* semaphore waking waiters on a publish */
    HANDLE producer_process;/* consumer: SYNCHRONIZE handle on the producer; NULL if unknown */
    dp_host *host;          /* host transport state; NULL on the GPU transport */
    bool registered;        /* producer: listed in the discovery registry */
    HANDLE registry_section;/* producer: keeps the registry alive while listed */
    wchar_t *sddl;          /* producer: the creator's SDDL (HeapAlloc'd), for objects made later */
    enum { DP_PUBLISH_NONE, DP_PUBLISH_MAGIC, DP_PUBLISH_GENERATION } publish; /* producer: block not yet visible */
    /* Frame protocol. */
    uint32_t begun;         /* producer: slot between begin and end, DP_NO_SLOT outside */
    uint64_t last_frame;    /* producer: last frame value issued; consumer: last acquired */
    int reader;             /* consumer: its reader entry in the block, -1 before the first acquire */
    uint32_t held;          /* consumer: slot claimed by acquire until release, DP_NO_SLOT */
    /* Consumer: called by dp_port_refresh before a new generation's geometry replaces
     * the handle's, to stop whatever still copies with the old one (the host worker). */
    void (*before_change)(struct dp_port *p);
} dp_port;

/* What a creator asked for, from a DP_PORT_DESC or the legacy arguments. */
typedef struct {
    uint32_t width, height;
    DP_FORMAT format;
    uint32_t slots;
    DP_TRANSPORT transport;
    uint32_t flags;
    const wchar_t *sddl;
    bool legacy;
    dpn_names names;
} dp_create_args;

/* Fills *a from desc (defaults applied, names derived) and checks it; fn names the
 * public call in messages. DP_ERROR_INVALID_ARGUMENT on a bad field. */
DP_RESULT dp_args_from_desc(const DP_PORT_DESC *desc, dp_create_args *a, const char *fn);
/* The same for the reference API's create calls (1 slot, AUTO, the NT names given). */
DP_RESULT dp_args_legacy(uint32_t width, uint32_t height, DP_FORMAT format, uint32_t flags, const wchar_t *tex_name,
                         const wchar_t *fence_name, dp_create_args *a, const char *fn);
/* Opens a port by its legacy NT names (fence_name given) or by its DP_PORT_DESC name
 * (the session namespace, then the global one) with the core's open; a successful open
 * leaves the last error as it was. */
DP_HANDLE dp_open_named(const wchar_t *name, const wchar_t *fence_name, DP_HANDLE (*open)(const dpn_names *),
                        const char *fn);
/* A producer port record's fields from *a (transport left to the caller). */
void dp_port_from_args(dp_port *p, const dp_create_args *a);

/* Creates the control block and notify objects for p (geometry and transport filled
 * in), not yet visible (dp_port_publish_block). If the name exists but its producer
 * process is gone, takes it over: the block is rewritten under a new generation and
 * consumers follow at their next acquire. DP_ERROR_NAME_IN_USE if the name's producer
 * is alive. */
DP_RESULT dp_port_create_block(dp_port *p, const dp_security *sec, LUID adapter);
/* The security descriptor of p's objects: from sddl (kept for objects made later,
 * on resize) or, when NULL, from what p was created with. */
DP_RESULT dp_port_security(dp_port *p, const wchar_t *sddl, dp_security *out);
/* Makes the block created by dp_port_create_block visible to consumers, once every
 * object of the port exists: a consumer never finds half a port. */
void dp_port_publish_block(dp_port *p);
/* Opens and validates p->names.ctl and fills p's geometry from it. DP_ERROR_NOT_FOUND
 * when there is no such section (the caller may then try an external GPU port). Also
 * opens the producer process for disconnect detection. */
DP_RESULT dp_port_open_block(dp_port *p);
/* Consumer: if the block's generation moved (resize, new producer), re-reads the
 * geometry and the producer. *changed tells whether the caller must rebuild its
 * objects. DP_ERROR_DISCONNECTED if the producer is gone and no other took over. */
DP_RESULT dp_port_refresh(dp_port *p, bool *changed);
/* A before_change hook for host-transport consumers: stops and frees p->host. */
void dp_port_stop_host(dp_port *p);
/* What a core does in a producer's resize: let go of the current generation's
 * objects once the GPU is done with them, and build the new one's. */
typedef struct {
    void (*release)(dp_port *p);
    DP_RESULT (*build)(dp_port *p, const dp_security *sec);
} dp_resize_ops;
/* Producer: checks the arguments, then releases, rebuilds at width x height under the
 * next generation's names and switches the block (dp_port_resize_block). */
DP_RESULT dp_port_resize(dp_port *p, uint32_t width, uint32_t height, const dp_resize_ops *ops, const char *fn);
/* Producer: rewrites the geometry for a new size under a new generation; latest is
 * reset so no consumer takes a frame of the old size for one of the new. */
DP_RESULT dp_port_resize_block(dp_port *p, uint32_t width, uint32_t height);
/* Releases what dp_port_* acquired (the host transport included). Safe on a half-built port. */
void dp_port_release(dp_port *p);
/* Fills info from p. */
void dp_port_info(const dp_port *p, DP_PORT_INFO *info);
/* DP_ERROR_DISCONNECTED (with message) if the producer process is gone, else DP_OK. */
DP_RESULT dp_port_check_producer(const dp_port *p);
/* Waits on `event` (and on the producer's process if known) up to timeout_ms:
 * DP_OK when event is set, DP_ERROR_TIMEOUT, DP_ERROR_DISCONNECTED. */
DP_RESULT dp_wait_event(const dp_port *p, HANDLE event, uint32_t timeout_ms);

/* Whether pid is the live process that started at start_time (0: any). */
bool dp_process_alive(uint32_t pid, uint64_t start_time);
/* Raises the published value to value (never lowers it) and wakes the sleepers. */
void dp_port_notify(dp_port *p, uint64_t value);
/* The published value: the newest frame value a producer made visible. */
uint64_t dp_port_published(const dp_port *p);
/* Blocks until the published value passes `after`: DP_OK, DP_ERROR_TIMEOUT,
 * DP_ERROR_DISCONNECTED; also returns DP_ERROR_TIMEOUT (without an error) when stop
 * (optional) is set. */
DP_RESULT dp_port_wait_published(const dp_port *p, uint64_t after, HANDLE stop, uint32_t timeout_ms);

/* ---- Frame ring (directportring.c) -------------------------------------------------- */

/* Producer: a slot that is not the latest, not claimed by a live consumer and not in
 * busy_mask; claims of dead consumers are reclaimed on the way. DP_ERROR_BUSY (the
 * frame is dropped and counted) if none. */
DP_RESULT dp_ring_pick(dp_port *p, uint32_t busy_mask, uint32_t *out_slot);
/* Producer: drops the claims and entries of consumers whose process is gone. */
void dp_ring_reclaim_dead(dp_port *p);
/* Producer: slot holds frame: makes it the latest, counts it, wakes consumers. */
void dp_ring_publish(dp_port *p, uint32_t slot, uint64_t frame);
/* Consumer: claims the latest frame if it is newer than `after`: DP_OK with
 * *out_slot and *out_frame, or DP_ERROR_TIMEOUT (no error set) when there is none yet;
 * DP_ERROR_BUSY if the block has no free reader entry. */
DP_RESULT dp_ring_claim(dp_port *p, uint64_t after, uint32_t *out_slot, uint64_t *out_frame);
/* Consumer: waits (up to timeout_ms) for a frame newer than p->last_frame and claims
 * it. Follows a new generation first (*changed). */
DP_RESULT dp_ring_acquire(dp_port *p, uint32_t timeout_ms, bool *changed, uint32_t *out_slot,
                          uint64_t *out_frame);
/* Consumer: drops reader entry `reader`'s claim on slot. Safe from any thread. */
void dp_ring_unclaim(dp_port *p, int reader, uint32_t slot);
/* Consumer: gives back the reader entry (close). */
void dp_ring_leave(dp_port *p);

/* ---- Discovery (directportregistry.c) ----------------------------------------------- */

/* Lists p (a producer) in its namespace's registry, or removes it. */
void dp_registry_add(dp_port *p);
void dp_registry_remove(dp_port *p);

/* ---- Host transport (directporthost.c) ------------------------------------------------ */

/*
 * The host transport keeps a port's pixels in a section <ctl>.px.<generation>, one
 * slot after the other, rows row_pitch apart, and a worker thread per handle moves
 * them between the handle's local textures and the section, so the caller's thread
 * never copies. The worker runs jobs in order:
 *   readback (producer): wait until the local fence reaches the frame, read local
 *            texture k back into section slot s, publish (s, frame);
 *   upload (consumer): copy section slot s into local texture k, move the local fence
 *            to the frame, drop the claim on s.
 * Before the first frame-protocol call a handle's worker follows the legacy API
 * instead: a producer's worker reads texture 0 back into slot 0 whenever the local
 * fence moves; a consumer's uploads each newer frame into texture 0.
 * The backend (one per core) does the device work the worker asks for.
 */
typedef struct {
    /* Producer: block until the local fence is beyond `after` or kick is signalled;
     * return the fence's value then. */
    uint64_t (*wait_local)(void *ctx, uint64_t after, HANDLE kick);
    /* Producer: copy local texture `texture` into dst (row_pitch × height bytes). */
    bool (*readback)(void *ctx, uint32_t texture, void *dst);
    /* Consumer: copy src into local texture `texture`, then move the local fence to value.
     * false: not now (the worker waits for dp_host_kick before it tries again). */
    bool (*upload)(void *ctx, uint32_t texture, const void *src, uint64_t value);
} dp_host_ops;

/* Creates (producer, sec given) or opens (consumer, sec NULL) the pixel section of
 * p's generation, then starts the worker with ops/ctx. */
DP_RESULT dp_host_start(dp_port *p, const dp_security *sec, const dp_host_ops *ops, void *ctx);
/* Stops and joins the worker (queued jobs are dropped), unmaps and closes. Safe on NULL. */
void dp_host_destroy(dp_host *h);
/* Pointer to slot's pixels in the section. */
uint8_t *dp_host_slot(dp_host *h, uint32_t slot);
/* The CPU wrote the section directly (dp12_map_memory): the next legacy publish must not
 * overwrite it with a texture readback. */
void dp_host_mark_cpu_written(dp_host *h);
/* Leaves legacy follow mode; returns once no follow step is under way (a consumer calls
 * it before its first claim: the follow step shares its reader entry). */
void dp_host_enter_frame_mode(dp_host *h);
/* Queues a job (see above) and leaves legacy follow mode. Never blocks on the worker. */
void dp_host_readback(dp_host *h, uint32_t texture, uint32_t slot, uint64_t frame);
void dp_host_upload(dp_host *h, uint32_t slot, uint32_t texture, uint64_t frame);
/* Wakes the worker: a consumer's backend that refused an upload (no free buffer) has
 * one again. */
void dp_host_kick(dp_host *h);
/* Producer: slots whose readback is queued or running (bit per slot). */
uint32_t dp_host_busy(dp_host *h);
/* Blocks until the worker has run every queued job (resize). */
void dp_host_drain(dp_host *h);
/* Whether the worker left legacy follow mode (a frame-protocol call or a queued job). */
bool dp_host_in_frame_mode(dp_host *h);

#endif /* DIRECTPORTINT_H */
