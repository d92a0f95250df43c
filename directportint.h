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
/* DllMain hooks: free a thread's error record / everything at unload. */
void dp_error_thread_detach(void);
void dp_error_process_detach(void);

/* ---- Handles and accounting (directporthandle.c) ------------------------------------- */

typedef enum { DP_KIND_D3D12 = 1, DP_KIND_D3D11 = 2 } dp_kind;

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

typedef struct {
    dp_kind kind;
    bool producer;
    bool legacy;
    bool external;          /* GPU port made by another DirectPort build: no control block */
    DP_TRANSPORT transport; /* GPU or HOST */
    DP_FORMAT format;
    uint32_t width, height, bytes_per_pixel, row_pitch, slots, flags, dxgi_format;
    dpn_names names;
    HANDLE ctl_section;
    dpb_block *block;       /* mapped control block; NULL for external ports */
    HANDLE producer_process;/* consumer: SYNCHRONIZE handle on the producer; NULL if unknown */
    dp_host *host;          /* host transport state; NULL on the GPU transport */
} dp_port;

/* Creates the control block for p (geometry and transport already filled in) under
 * p->names.ctl; DP_ERROR_NAME_IN_USE if the name exists. */
DP_RESULT dp_port_create_block(dp_port *p, const dp_security *sec, LUID adapter);
/* Opens and validates p->names.ctl and fills p's geometry from it. DP_ERROR_NOT_FOUND
 * when there is no such section (the caller may then try an external GPU port). Also
 * opens the producer process for disconnect detection. */
DP_RESULT dp_port_open_block(dp_port *p);
/* Releases what dp_port_* acquired (the host transport included). Safe on a half-built port. */
void dp_port_release(dp_port *p);
/* Fills info from p. */
void dp_port_info(const dp_port *p, DP_PORT_INFO *info);
/* DP_ERROR_DISCONNECTED (with message) if the producer process is gone, else DP_OK. */
DP_RESULT dp_port_check_producer(const dp_port *p);

/* ---- Host transport (directporthost.c) ------------------------------------------------ */

/*
 * The host transport keeps a port's fence semantics in host memory:
 *   - a section <fence>.value holding the fence value, and a semaphore <fence>.wake
 *     that wakes waiters (a count of waiters lives beside the value, so a publish
 *     wakes exactly the threads asleep; a spurious wake only costs a re-check);
 *   - a section <ctl>.px.<generation> with the slots' pixels, rows row_pitch apart;
 *   - a worker thread per handle that moves pixels between the handle's local texture
 *     and the section, so the caller's thread never copies:
 *       producer: waits for the local fence to move, reads the texture back into the
 *                 section (unless the CPU already wrote it there through a map), then
 *                 publishes the fence value;
 *       consumer: waits for a newer published value, uploads the section into the
 *                 local texture, then moves the local fence to that value.
 * The backend (one per core) does the device work the worker asks for.
 */
typedef struct {
    /* Producer: block until the local fence is beyond `after` or stop is signalled;
     * return the fence's value then (<= after on stop or error). */
    uint64_t (*wait_local)(void *ctx, uint64_t after, HANDLE stop);
    /* Producer: copy slot's texture into dst (row_pitch × height bytes). */
    bool (*readback)(void *ctx, uint32_t slot, void *dst);
    /* Consumer: copy src into slot's texture, then move the local fence to value. */
    bool (*upload)(void *ctx, uint32_t slot, const void *src, uint64_t value);
} dp_host_ops;

/* Creates (producer) or opens (consumer) the host objects of p, then starts the
 * worker with ops/ctx. The worker runs until dp_host_destroy. */
DP_RESULT dp_host_create(dp_port *p, const dp_security *sec, const dp_host_ops *ops, void *ctx);
DP_RESULT dp_host_open(dp_port *p, const dp_host_ops *ops, void *ctx);
/* Stops and joins the worker, closes every object. Safe on NULL. */
void dp_host_destroy(dp_host *h);
/* The published fence value. */
uint64_t dp_host_value(const dp_host *h);
/* Publishes value (monotonic: a smaller value is ignored) and wakes waiters. */
void dp_host_publish(dp_host *h, uint64_t value);
/* Pointer to slot's pixels in the section. */
uint8_t *dp_host_slot(dp_host *h, uint32_t slot);
/* The CPU wrote the section directly (dp12_map_memory): the next publish must not
 * overwrite it with a texture readback. */
void dp_host_mark_cpu_written(dp_host *h);
/* Blocks until the published value reaches value: DP_OK, DP_ERROR_TIMEOUT,
 * DP_ERROR_DISCONNECTED (producer gone). Used where no local fence exists. */
DP_RESULT dp_host_wait(dp_host *h, uint64_t value, uint32_t timeout_ms);

/* Waits on `event` (and on the producer's process if known) up to timeout_ms:
 * DP_OK when event is set, DP_ERROR_TIMEOUT, DP_ERROR_DISCONNECTED. */
DP_RESULT dp_wait_event(const dp_port *p, HANDLE event, uint32_t timeout_ms);

#endif /* DIRECTPORTINT_H */
