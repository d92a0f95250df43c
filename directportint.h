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
#include <d3d11sdklayers.h>
#include <d3d12sdklayers.h>
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
/* dp_fail_hr with the DP_RESULT that hr maps to: the one way a failed D3D call becomes
 * an error. */
DP_RESULT dp_fail_d3d(HRESULT hr, const char *step);
/* A failed CreateSharedHandle of name: DP_ERROR_NAME_IN_USE for a taken name. */
DP_RESULT dp_fail_share(HRESULT hr, const wchar_t *name, const char *step);
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
/* DIRECTPORT_D3D_DEBUG=1: devices on the D3D debug layers (dp_debug_errors). */
bool dp_debug_layers(void);
/* Counts n errors the debug layers reported. */
void dp_debug_add(uint32_t n);
/* The backends' info queues, counted into dp_debug_add (each backend's file). */
uint32_t dp12_debug_harvest(void);
uint32_t dp11_debug_harvest(void);
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
/* Stops one of the library's threads: sets *stop, wakes it with kick, joins it, closes
 * *thread (NULLed) and counts it out of dp_stats_threads. Nothing if *thread is NULL. */
void dp_thread_stop(HANDLE *thread, volatile LONG *stop, HANDLE kick);
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

/* ---- The port record ----------------------------------------------------------------- */

typedef struct dp_host dp_host;
typedef struct dp_notify dp_notify;
typedef struct dp_backend dp_backend;

#define DP_NO_SLOT 0xffffffffu
#define DP_MAX_PENDING 8u

/* What one generation of a port is: its size and layout. A generation's objects are
 * built for one of these and the port takes it over when the generation commits. */
typedef struct {
    uint32_t generation;    /* of the block: names of GPU objects and pixel sections */
    uint32_t width, height, bytes_per_pixel, row_pitch, slots, flags, dxgi_format;
    DP_FORMAT format;
    DP_TRANSPORT transport; /* GPU or HOST */
    bool legacy;
} dp_geometry;

/* One generation's objects: a backend's record begins with this. */
typedef struct dp_gen {
    struct dp_port *port;
    dp_geometry geo;
    dp_host *host;          /* host transport: this generation's pixel section and worker */
} dp_gen;

typedef struct dp_port {
    const dp_backend *backend;
    dp_kind kind;
    bool producer;
    bool legacy;
    bool external;          /* GPU port made by another DirectPort build: no control block */
    DP_TRANSPORT transport; /* GPU or HOST */
    DP_FORMAT format;
    /* The committed generation's geometry (gen->geo, as plain fields). */
    uint32_t width, height, bytes_per_pixel, row_pitch, slots, flags, dxgi_format;
    uint32_t generation;    /* of the block, when this handle's objects were made */
    dp_gen *gen;            /* the committed generation's objects; NULL before the first */
    dpn_names names;
    HANDLE ctl_section;
    dpb_block *block;       /* mapped control block; NULL for external ports */
    HANDLE notify_section;  /* published value + waiters, both transports */
    dp_notify *notify;
    HANDLE wake;            /* semaphore waking waiters on a publish */
    HANDLE producer_process;/* consumer: SYNCHRONIZE handle on the producer; NULL if unknown */
    bool registered;        /* producer: listed in the discovery registry */
    bool complete;          /* producer: made whole (a handle was returned): its close hands
                             * the name back; a failed create's does not */
    HANDLE registry_section;/* producer: keeps the registry alive while listed */
    wchar_t *sddl;          /* producer: the creator's SDDL (HeapAlloc'd), for objects made later */
    enum { DP_PUBLISH_NONE, DP_PUBLISH_MAGIC, DP_PUBLISH_GENERATION } publish; /* producer: block not yet visible */
    /* Frame protocol. */
    uint32_t begun;         /* producer: slot between begin and end, DP_NO_SLOT outside */
    uint64_t last_frame;    /* producer: last frame value issued; consumer: last acquired */
    int reader;             /* consumer: its reader entry in the block, -1 before the first acquire */
    uint32_t held;          /* consumer: slot claimed by acquire until release, DP_NO_SLOT */
    void *held_queue;       /* consumer: the queue of that acquire (a reference: hold_queue) */
    /* GPU consumer: claims kept until the caller's GPU passes their release value,
     * dropped by a thread-pool wait on release_event. */
    SRWLOCK pending_lock;
    struct {
        uint32_t slot;
        uint64_t value;
    } pending[DP_MAX_PENDING];
    uint32_t pending_count;
    HANDLE release_event;
    HANDLE release_wait;
    uint64_t release_value; /* consumer: the last release the caller's queue signalled */
    uint64_t signalled;     /* producer: the highest value its fence was given to reach */
    HANDLE wait_event;      /* cpu waits and quiesce, on the caller's thread */
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
/* The names a consumer opens: legacy NT names (fence_name given) or a DP_PORT_DESC
 * name in the session (global false) or global namespace. DP_ERROR_INVALID_ARGUMENT
 * naming fn for a bad name. */
DP_RESULT dp_names_for_open(const wchar_t *name, const wchar_t *fence_name, bool global, dpn_names *out,
                            const char *fn);
/* A producer port record's fields from *a (transport left to the caller). */
void dp_port_from_args(dp_port *p, const dp_create_args *a);
/* The geometry p's fields describe (a new producer's, before its first generation). */
void dp_port_geometry(const dp_port *p, dp_geometry *out);
/* Makes geo p's geometry (a generation commits). */
void dp_port_set_geometry(dp_port *p, const dp_geometry *geo);

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
/* Consumer: the block's current geometry, validated, when its generation differs from
 * p's (*moved true); p is not changed. DP_ERROR_INCOMPATIBLE for a block that fails
 * validation, DP_ERROR_TIMEOUT while a change is under way (look again later). */
DP_RESULT dp_port_read_change(const dp_port *p, dp_geometry *out, bool *moved);
/* Consumer: (re)opens the process of the block's producer for disconnect detection. */
DP_RESULT dp_port_follow_producer(dp_port *p);
/* Producer: commits geo (built under geo->generation) to the block: geometry and
 * generation change together; latest is reset so no consumer takes a frame of the old
 * size for one of the new. */
void dp_port_commit_block(dp_port *p, const dp_geometry *geo);
/* Releases the control block, notify objects and producer handle. Safe on a
 * half-built port. */
void dp_port_release(dp_port *p);
/* Producer: hands the name back as the port closes (the block names no producer; the
 * consumers waiting wake and see DP_ERROR_DISCONNECTED; a new producer may take the name
 * over at once). Nothing if the block is another producer's by now. */
void dp_port_close_block(dp_port *p);
/* dp11_init, the device (if none exists yet) made on the adapter of that LUID where one
 * has it: the GL adapter's interop device follows the GL context's GPU. */
bool dp11_init_on_adapter(LUID luid);
/* Fills info from p. */
void dp_port_info(const dp_port *p, DP_PORT_INFO *info);
/* The GL adapter's feed thread, holding a frame of a dp11 consumer handle: copies source
 * into *staging (made, or made again for another size or format, on the library's device;
 * the caller releases it), maps it without holding the device, copies `rows` rows of
 * row_bytes into dst and unmaps. Turns on the device's multithread protection. */
DP_RESULT dp11_read_frame(ID3D11Texture2D *source, ID3D11Texture2D **staging, uint8_t *dst, size_t dst_pitch,
                          size_t row_bytes, uint32_t rows);
/* Turns on the dp11 device's multithread protection (once), before another thread of the
 * library shares its immediate context. */
DP_RESULT dp11_protect_device(void);
/* The adapter of the producer of the GPU-transport port `name` (a base name, the
 * session's namespace first, then the global one) as its control block says; false if
 * there is no such port, it is on the host transport or names none. A hint only: opening
 * the port checks the adapter again. */
bool dp_port_adapter_of(const wchar_t *name, LUID *out);
/* GPU transport: DP_ERROR_UNSUPPORTED naming both adapters when the block's producer is
 * on another adapter than luid (textures do not cross adapters). */
DP_RESULT dp_port_check_adapter(const dp_port *p, LUID luid);
/* DP_ERROR_DISCONNECTED (with message) if the producer process is gone or closed the
 * port (of this generation), else DP_OK. */
DP_RESULT dp_port_check_producer(const dp_port *p);
/* Waits on `event` (and on the producer's process if known) up to timeout_ms:
 * DP_OK when event is set, DP_ERROR_TIMEOUT, DP_ERROR_DISCONNECTED. */
DP_RESULT dp_wait_event(const dp_port *p, HANDLE event, uint32_t timeout_ms);
/* What is left of timeout_ms since start (GetTickCount64): UINT32_MAX stays infinite,
 * 0 once it has run out. */
uint32_t dp_remaining_ms(ULONGLONG start, uint32_t timeout_ms);

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

/* ---- Named sections (directportsection.c) ---------------------------------------------- */

/* A named section mapped read/write. */
typedef struct {
    HANDLE handle;
    void *view;
    size_t size;            /* bytes mapped (the region VirtualQuery reports) */
} dp_section;

/* Creates (sa given) or opens (sa NULL) the section `name` of `size` bytes and maps it.
 * *existed (optional, create only) tells whether the name was there already; with
 * exclusive, an existing name is DP_ERROR_NAME_IN_USE. Opening: DP_ERROR_NOT_FOUND when
 * there is none, DP_ERROR_INCOMPATIBLE when it maps fewer than size bytes. `what`
 * names the section in messages. On failure *s is released. */
DP_RESULT dp_section_map(dp_section *s, const wchar_t *name, SECURITY_ATTRIBUTES *sa, uint64_t size, bool exclusive,
                         bool *existed, const char *what);
void dp_section_unmap(dp_section *s);

/* ---- The port engine (directportengine.c) ---------------------------------------------- */

/*
 * Every public call's body is written once, in the engine: handle and side checks,
 * argument checks, create/open/close, the frame protocol, following and committing
 * generations, waits, resize. It reaches a graphics API only through that API's
 * backend, a table each API file fills in (dp12_backend, dp11_backend, the GL adapter's
 * COPY backend). A generation is a transaction: its objects are built whole (gen_build)
 * before the port commits to it; a failed build leaves the port on the old one.
 */
typedef enum {
    DP_FENCE_FRAMES,    /* the handle's frame fence: the port's shared one, or its own local one */
    DP_FENCE_RELEASE    /* a consumer's release fence, signalled on the caller's queue */
} dp_fence_role;

struct dp_backend {
    dp_kind kind;
    const char *api;                /* "D3D12", "D3D11", "GL": messages */
    const char *init_call;          /* what DP_ERROR_NOT_INITIALIZED tells the caller to call */
    const char *shutdown_call;
    size_t port_size;               /* the backend's port record, dp_port first */
    bool (*ready)(void);            /* its device exists */
    /* Device: the one in use (NULL before init); creates the library's own (its
     * HRESULT); adopts the caller's (AddRef'd); releases it at shutdown. */
    void *(*device)(void);
    HRESULT (*create_device)(void);
    void (*adopt_device)(void *device);
    void (*release_device)(void);
    /* Whether the device can make and open NT-shared objects. */
    bool (*can_share)(void);
    /* Creation: the transport a creator gets for a (GPU or HOST, or an error set). */
    DP_RESULT (*choose_transport)(const dp_create_args *a, DP_TRANSPORT *out);
    LUID (*adapter)(void);
    /* The objects that live as long as the handle (events, lasting fences), once p's
     * side and transport are known; and their release (half-built records too). */
    DP_RESULT (*setup)(dp_port *p);
    void (*teardown)(dp_port *p);
    /* Optional: opens a GPU port of another DirectPort build (names only, no block)
     * into g: its texture and fence; *out_* describe the texture. */
    DP_RESULT (*open_external)(dp_port *p, dp_gen *g, uint32_t *out_dxgi, uint64_t *out_width, uint32_t *out_height,
                               uint32_t *out_flags);
    /* A generation's objects: the engine allocates gen_size zeroed bytes (port and geo
     * set), gen_build makes (producer, sec given) or opens (consumer) them, gen_free
     * releases whatever was made (a failed build's too), never the record itself. */
    size_t gen_size;
    DP_RESULT (*gen_build)(dp_port *p, dp_gen *g, const dp_security *sec);
    void (*gen_free)(dp_port *p, dp_gen *g);
    /* Optional: waits (bounded) until the GPU and the worker are done with g's objects,
     * where the engine's own quiesce (drain the worker, wait for the fence) does not
     * fit (GL's syncs). */
    void (*gen_quiesce)(dp_port *p, dp_gen *g);
    /* The value a fence of g's handle has reached; and arranging for event to be set
     * once it reaches value (false: it cannot, or there is no such fence). For a
     * producer, DP_FENCE_FRAMES is also what frame values go on from. */
    uint64_t (*fence_value)(dp_port *p, dp_gen *g, dp_fence_role role);
    bool (*fence_arm)(dp_port *p, dp_gen *g, dp_fence_role role, uint64_t value, HANDLE event);
    /* Frame protocol. slot_texture: what begin_frame hands out. */
    void *(*slot_texture)(dp_port *p, uint32_t slot);
    /* Slots that begin_frame must not pick besides the ring's (copies in flight). */
    uint32_t (*busy_slots)(dp_port *p);
    /* Producer: the API half of end_frame, frame being the value the engine chose:
     * signals it after the frame's work. *out_texture: on the host transport, the local
     * texture whose readback into `slot` the worker queues. */
    DP_RESULT (*end_frame)(dp_port *p, void *queue, uint32_t slot, uint64_t frame, uint32_t *out_texture);
    /* Consumer: the API half of acquire once `slot` holding `frame` is claimed: makes
     * the frame reach a texture the caller's queue (or context) waits for. */
    DP_RESULT (*consume)(dp_port *p, void *queue, uint32_t slot, uint64_t frame, void **out_source);
    /* Consumer: the API half of release: signals the caller's release on its queue as
     * `value` (*out_signalled; false: nothing for the engine to track). */
    DP_RESULT (*release)(dp_port *p, void *queue, uint64_t value, bool *out_signalled);
    /* Optional: takes (hold) or drops a reference on the caller's queue, kept from an
     * acquire to its release, so that a close with a frame still held can signal the
     * release after the caller's reads on it (D3D12). */
    void (*hold_queue)(void *queue, bool hold);
    /* Optional, cpu waits: arranges for *out_event to be set when the frame fence may
     * have reached value (NULL: wait for the port's published value instead). Without
     * it, the engine arms the frame fence with the handle's wait event. */
    DP_RESULT (*arm_wait)(dp_port *p, uint64_t value, HANDLE *out_event);
    /* Optional (prefetching consumers, the GL adapter): takes a frame newer than
     * last_frame that the worker has brought in already (DP_ERROR_TIMEOUT: none yet;
     * *out_slot: the backend's own token, handed to consume), and the event its worker
     * sets when one arrives. */
    DP_RESULT (*take_ready)(dp_port *p, uint32_t *out_slot, uint64_t *out_frame);
    HANDLE (*ready_event)(dp_port *p);
    /* The host transport's worker (directporthost.c) calls these, on its own thread. */
    /* Producer: block until the local fence is beyond `after` or kick is signalled;
     * return the fence's value then. */
    uint64_t (*host_wait_local)(dp_gen *g, uint64_t after, HANDLE kick);
    /* Producer: copy local texture `texture` into dst (row_pitch × height bytes). */
    bool (*host_readback)(dp_gen *g, uint32_t texture, void *dst);
    /* Consumer: copy src into local texture `texture`, then move the local fence to value.
     * false: not now (the worker waits for dp_host_kick before it tries again). */
    bool (*host_upload)(dp_gen *g, uint32_t texture, const void *src, uint64_t value);
};

/* A zeroed port record of b's size for one side. */
dp_port *dp_engine_new(const dp_backend *b, bool producer);
/* The record behind h: b's device exists and h is a live handle of b's kind; NULL with
 * the error set naming fn otherwise. */
dp_port *dp_engine_get(const dp_backend *b, DP_HANDLE h, const char *fn);
/* As dp_engine_get, and h is the producer's (producer) or a consumer's, with a block. */
dp_port *dp_engine_get_side(const dp_backend *b, DP_HANDLE h, bool producer, const char *fn);

DP_HANDLE dp_engine_create(const dp_backend *b, const dp_create_args *a);
DP_HANDLE dp_engine_create_port(const dp_backend *b, const DP_PORT_DESC *desc, const char *fn);
DP_HANDLE dp_engine_create_legacy(const dp_backend *b, uint32_t width, uint32_t height, DP_FORMAT format,
                                  uint32_t flags, const wchar_t *tex_name, const wchar_t *fence_name,
                                  const char *fn);
/* Opens by legacy names (fence_name given) or by port name, session namespace first. */
DP_HANDLE dp_engine_open(const dp_backend *b, const wchar_t *name, const wchar_t *fence_name, const char *fn);
void dp_engine_close(const dp_backend *b, DP_HANDLE h, const char *fn);
/* The library itself uses b's core (the GL adapter's D3D11 feed): delta +1 while it
 * does, -1 after. b's shutdown refuses meanwhile (DP_ERROR_INVALID_ARGUMENT) rather than
 * close handles and the device under that user's thread. */
void dp_engine_pin(const dp_backend *b, int delta);
/* Opens the port of the names given (resolved already: their namespace is the one
 * meant); NULL with the error set. */
DP_HANDLE dp_engine_open_names(const dp_backend *b, const dpn_names *names);
/* The dp11 core for the GL adapter's feed: a consumer handle of the port of those names,
 * and its pin (dp_engine_pin). */
DP_HANDLE dp11_open_names(const dpn_names *names);
void dp11_pin(int delta);
/* Closes every handle of b's kind (dp12_shutdown, dp11_shutdown). */
void dp_engine_close_all(const dp_backend *b);

DP_RESULT dp_engine_begin_frame(const dp_backend *b, DP_HANDLE h, void **out_target, const char *fn);
DP_RESULT dp_engine_end_frame(const dp_backend *b, DP_HANDLE h, void *queue, bool need_queue, uint64_t *out_frame,
                              const char *fn);
DP_RESULT dp_engine_acquire_frame(const dp_backend *b, DP_HANDLE h, void *queue, bool need_queue,
                                  uint32_t timeout_ms, void **out_source, uint64_t *out_frame, const char *fn);
void dp_engine_release_frame(const dp_backend *b, DP_HANDLE h, void *queue, bool need_queue, const char *fn);
DP_RESULT dp_engine_resize(const dp_backend *b, DP_HANDLE h, uint32_t width, uint32_t height, const char *fn);
/* The most the library waits for GPU work it queued itself, or for a caller's release
 * its copies must follow, before it calls the work failed (a stuck or removed GPU): a
 * close or a worker never hangs on it. */
#define DP_OWN_WORK_WAIT_MS 10000u
/* The most a legacy GPU-side wait (dp12_queue_wait, dp11_wait_fence) waits on the CPU
 * first for a value the port's fence has not reached. */
#define DP_LEGACY_WAIT_MS 1000u
/* A consumer's legacy GPU-side wait for value: DP_OK once a queue wait for it is safe
 * to queue, that is when the fence has reached it, waited for on the CPU (with the
 * producer's process, at most DP_LEGACY_WAIT_MS, or DP_OWN_WORK_WAIT_MS for a value
 * the producer has published already); a queue wait has no timeout, and
 * a producer that died before its signal ran would leave it unsatisfied for good.
 * DP_ERROR_TIMEOUT, DP_ERROR_DISCONNECTED or DP_ERROR_DEVICE otherwise: nothing is to be
 * queued. On the host transport the value is the frame in the handle's texture, which the
 * worker's upload signals only once a live producer has published it. A producer's own
 * handle: DP_OK at once (its values are its own). */
DP_RESULT dp_engine_gpu_wait_ready(const dp_backend *b, DP_HANDLE h, uint64_t value, const char *fn);
/* Blocks until the handle's fence reaches value (see dp12_cpu_wait_timeout). */
DP_RESULT dp_engine_cpu_wait(const dp_backend *b, DP_HANDLE h, uint64_t value, uint32_t timeout_ms,
                             const char *fn);
uint64_t dp_engine_completed(const dp_backend *b, DP_HANDLE h, const char *fn);
/* The legacy API's signal moved the fence to value: a GPU-transport producer's value is
 * the frame, published for acquire and discovery. */
void dp_engine_signalled(dp_port *p, uint64_t value);
/* Producer: forgets the frame begun (its slot was never written); for the GL adapter's
 * INTEROP publish, whose steps after dp11_begin_frame can fail. */
void dp_engine_abort_frame(DP_HANDLE h, dp_kind kind);
/* init, init_with_device, get_device and shutdown of a D3D backend. */
bool dp_engine_init(const dp_backend *b, const char *fn);
bool dp_engine_init_with_device(const dp_backend *b, void *device, const char *fn);
void *dp_engine_device(const dp_backend *b, const char *fn);
void dp_engine_shutdown(const dp_backend *b);
/* The committed generation's objects of a live handle of b's kind; NULL with the error set. */
dp_gen *dp_engine_gen(const dp_backend *b, DP_HANDLE h, const char *fn);
/*
 * The entry points whose signatures both cores share, defined once for each core: api
 * is dp12 or dp11, backend its table, device and texture its device and slot texture types.
 */
#define DP_ENGINE_ENTRY_POINTS(api, backend, device_type, texture)                                            \
    bool api##_init(void)                                                                                     \
    {                                                                                                         \
        return dp_engine_init(&backend, #api "_init");                                                        \
    }                                                                                                         \
    bool api##_init_with_device(device_type *device)                                                          \
    {                                                                                                         \
        return dp_engine_init_with_device(&backend, device, #api "_init_with_device");                        \
    }                                                                                                         \
    device_type *api##_get_device(void)                                                                       \
    {                                                                                                         \
        return (device_type *)dp_engine_device(&backend, #api "_get_device");                                 \
    }                                                                                                         \
    void api##_shutdown(void)                                                                                 \
    {                                                                                                         \
        dp_engine_shutdown(&backend);                                                                         \
    }                                                                                                         \
    DP_HANDLE api##_create_port(const DP_PORT_DESC *desc)                                                     \
    {                                                                                                         \
        return dp_engine_create_port(&backend, desc, #api "_create_port");                                    \
    }                                                                                                         \
    DP_HANDLE api##_open_port(const wchar_t *name)                                                            \
    {                                                                                                         \
        return dp_engine_open(&backend, name, NULL, #api "_open_port");                                       \
    }                                                                                                         \
    DP_HANDLE api##_open_shared_resource(const wchar_t *tex_name, const wchar_t *fence_name)                  \
    {                                                                                                         \
        return dp_engine_open(&backend, tex_name, fence_name ? fence_name : L"", #api "_open_shared_resource"); \
    }                                                                                                         \
    void api##_close(DP_HANDLE h)                                                                             \
    {                                                                                                         \
        dp_engine_close(&backend, h, #api "_close");                                                          \
    }                                                                                                         \
    DP_RESULT api##_begin_frame(DP_HANDLE h, texture **out_target)                                            \
    {                                                                                                         \
        return dp_engine_begin_frame(&backend, h, (void **)out_target, #api "_begin_frame");                  \
    }                                                                                                         \
    DP_RESULT api##_resize_port(DP_HANDLE h, uint32_t width, uint32_t height)                                 \
    {                                                                                                         \
        return dp_engine_resize(&backend, h, width, height, #api "_resize_port");                             \
    }                                                                                                         \
    DP_RESULT api##_cpu_wait_timeout(DP_HANDLE h, uint64_t value, uint32_t timeout_ms)                        \
    {                                                                                                         \
        return dp_engine_cpu_wait(&backend, h, value, timeout_ms, #api "_cpu_wait_timeout");                  \
    }                                                                                                         \
    uint64_t api##_get_completed_value(DP_HANDLE h)                                                           \
    {                                                                                                         \
        return dp_engine_completed(&backend, h, #api "_get_completed_value");                                 \
    }

/* The members a D3D backend (prefix dp12 or dp11) fills from its functions of the same
 * names; a table adds what only it has. */
#define DP_BACKEND_D3D(prefix, kind_, api_)                                                                   \
    .kind = kind_, .api = api_, .init_call = #prefix "_init", .shutdown_call = #prefix "_shutdown",          \
    .port_size = sizeof(prefix##_port), .gen_size = sizeof(prefix##_gen), .ready = prefix##_ready,            \
    .device = prefix##_device, .create_device = prefix##_create_device, .adopt_device = prefix##_adopt_device, \
    .release_device = prefix##_release_device, .can_share = prefix##_device_can_share,                        \
    .choose_transport = prefix##_choose_transport, .adapter = prefix##_adapter, .setup = prefix##_setup,     \
    .teardown = prefix##_teardown, .open_external = prefix##_open_external, .gen_build = prefix##_gen_build,  \
    .gen_free = prefix##_gen_free, .fence_value = prefix##_fence_value, .fence_arm = prefix##_fence_arm,      \
    .slot_texture = prefix##_slot_texture, .end_frame = prefix##_end_frame_api, .consume = prefix##_consume,  \
    .release = prefix##_release_api, .host_wait_local = prefix##_host_wait_local,                             \
    .host_readback = prefix##_host_readback, .host_upload = prefix##_host_upload

/* The committed generation's worker, NULL on the GPU transport. */
static inline dp_host *dp_port_host(const dp_port *p) { return p->gen ? p->gen->host : NULL; }

/* ---- D3D12 backend (directportd3d12.c), for the D3D11 backend's resolver ------------- */

/* An NT handle (tracked) on the shared object called name, opened through device:
 * DP_ERROR_NOT_FOUND when there is none (or the driver cannot open names). */
DP_RESULT dp12_open_nt(ID3D12Device *device, const wchar_t *name, HANDLE *out);

/* ---- Frame ring (directportring.c) -------------------------------------------------- */

/* Producer: a slot that is not the latest, not claimed by a live consumer and not in
 * busy_mask; claims of dead consumers are reclaimed on the way. DP_ERROR_BUSY (the
 * frame is dropped and counted) if none. */
DP_RESULT dp_ring_pick(dp_port *p, uint32_t busy_mask, uint32_t *out_slot);
/* Producer: drops the claims and entries of consumers whose process is gone. */
void dp_ring_reclaim_dead(dp_port *p);
/* Producer: slot holds frame: makes it the latest, counts it, wakes consumers. */
void dp_ring_publish(dp_port *p, uint32_t slot, uint64_t frame);
/* Consumer: claims the latest frame if it is newer than `after` and in one of the
 * generation's `slots`: DP_OK with *out_slot and *out_frame, or DP_ERROR_TIMEOUT (no
 * error set) when there is none yet; DP_ERROR_BUSY if the block has no free reader entry. */
DP_RESULT dp_ring_claim(dp_port *p, uint32_t slots, uint64_t after, uint32_t *out_slot, uint64_t *out_frame);
/* Consumer: drops reader entry `reader`'s claim on slot. Safe from any thread. */
void dp_ring_unclaim(dp_port *p, int reader, uint32_t slot);
/* Consumer: gives back the reader entry (close). */
void dp_ring_leave(dp_port *p);

/* ---- Discovery (directportregistry.c) ----------------------------------------------- */

/* Lists p (a producer) in its namespace's registry, or removes it. DP_ERROR_OUT_OF_MEMORY
 * when the registry is full of live ports (the create fails); a registry that cannot be
 * reached is no error (discovery is a convenience). */
DP_RESULT dp_registry_add(dp_port *p);
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
 * The backend's host_* members do the device work the worker asks for.
 */

/* Creates (producer, sec given) or opens (consumer, sec NULL) the pixel section of
 * g's generation, then starts its worker, which calls the backend's host_* members
 * with g (g->host is set). */
DP_RESULT dp_host_start(dp_gen *g, const dp_security *sec);
/* Stops and joins the worker (queued jobs are dropped), unmaps and closes. Safe on NULL. */
void dp_host_destroy(dp_host *h);
/* Pointer to slot's pixels in the section. */
uint8_t *dp_host_slot(dp_host *h, uint32_t slot);
/* The worker's copies (host_readback, host_upload) between the section and a backend's
 * mapped memory: `rows` rows of row_bytes, dst row r from src row r (rows - 1 - r with
 * flip). A frame of a MiB or more is split across the worker and its helper threads;
 * call only from h's worker (h NULL: one thread). */
void dp_host_copy(dp_host *h, uint8_t *dst, size_t dst_pitch, const uint8_t *src, size_t src_pitch,
                  size_t row_bytes, uint32_t rows, bool flip);
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
