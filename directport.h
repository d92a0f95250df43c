/*
 * directport.h - DirectPort: share GPU frames between processes by name.
 *
 * A *port* is a name, a control block, N texture slots and one fence. A producer
 * creates it, any number of consumers open it by name from other processes.
 *
 * Two transports carry a port:
 *   DP_TRANSPORT_GPU   every slot is an NT-shared texture, the fence an NT-shared fence:
 *                      zero copies; needs a driver that implements NT shared handles.
 *   DP_TRANSPORT_HOST  slot pixels live in a named section, the fence value in host
 *                      memory; worker threads copy between the local texture and the
 *                      section, never on the caller's thread. Works everywhere.
 *   DP_TRANSPORT_AUTO  (default) GPU where the driver can share, HOST otherwise.
 *
 * The dp12_* / dp11_* names, signatures and DP_FORMAT values are those of the
 * DirectPort reference API, so existing callers rebind unchanged. docs/api.md is the
 * full reference; each declaration below says what it returns, how it fails, its
 * thread safety and who owns what.
 *
 * Errors: every call that can fail says so by its return value (NULL, false, 0 or a
 * DP_RESULT) and sets a per-thread last error, read with dp_last_error() and
 * dp_last_error_message(). A successful call leaves the last error as it was.
 *
 * Threads: init/shutdown are not to be raced with any other call. Distinct handles
 * may be used on distinct threads at once; one handle must not be used by two threads
 * at once, nor closed while another thread uses it.
 */
#ifndef DIRECTPORT_H
#define DIRECTPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <wchar.h>

#if defined(DIRECTPORT_BUILD)
#define DP_API __declspec(dllexport)
#elif defined(DIRECTPORT_STATIC)
#define DP_API
#else
#define DP_API __declspec(dllimport)
#endif

/* The reference header's name for its export macro, for code written against it: it
 * means what DP_API means (dllimport for callers, dllexport within the library). */
#ifndef DP_EXPORT
#define DP_EXPORT DP_API
#endif

/* The D3D interfaces this header's functions take and return, declared but not defined:
 * it includes no D3D header and no <windows.h>. A caller that uses them includes
 * <d3d12.h> / <d3d11.h> itself, before or after this header. Each declaration is the one
 * those headers make (Windows SDK and mingw-w64 alike), under the same guard, so
 * whichever comes first declares the name and the other skips it. `struct` is what their
 * `interface` expands to (it is not defined without <objbase.h>): in C the tag that their
 * definitions complete, in C++ the class key MIDL_INTERFACE defines the class with, so
 * the types and their C++ mangling agree. The guard names are the SDK's, leading
 * underscores included. */
#ifndef __ID3D12Device_FWD_DEFINED__
#define __ID3D12Device_FWD_DEFINED__
typedef struct ID3D12Device ID3D12Device;
#endif
#ifndef __ID3D12Resource_FWD_DEFINED__
#define __ID3D12Resource_FWD_DEFINED__
typedef struct ID3D12Resource ID3D12Resource;
#endif
#ifndef __ID3D12Fence_FWD_DEFINED__
#define __ID3D12Fence_FWD_DEFINED__
typedef struct ID3D12Fence ID3D12Fence;
#endif
#ifndef __ID3D12CommandQueue_FWD_DEFINED__
#define __ID3D12CommandQueue_FWD_DEFINED__
typedef struct ID3D12CommandQueue ID3D12CommandQueue;
#endif
#ifndef __ID3D11Device_FWD_DEFINED__
#define __ID3D11Device_FWD_DEFINED__
typedef struct ID3D11Device ID3D11Device;
#endif
#ifndef __ID3D11Texture2D_FWD_DEFINED__
#define __ID3D11Texture2D_FWD_DEFINED__
typedef struct ID3D11Texture2D ID3D11Texture2D;
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define DIRECTPORT_VERSION_MAJOR 0
#define DIRECTPORT_VERSION_MINOR 1
#define DIRECTPORT_VERSION_PATCH 0

typedef void *DP_HANDLE;

/* Pixel formats: a port's texture has exactly this DXGI format in every transport, and
 * its rows these bytes per pixel. Values 0..3 are the reference's, byte for byte (VIDEO
 * is stored B, G, R, A), so a reference producer's texture opens here and ours opens
 * there; 4.. are this library's. docs/api.md lists the GL formats of each. */
typedef enum {
    DP_FORMAT_VIDEO = 0,     /* DXGI_FORMAT_B8G8R8A8_UNORM (87),      4 bytes per pixel */
    DP_FORMAT_FLOAT = 1,     /* DXGI_FORMAT_R32_FLOAT (41),           4 bytes per pixel */
    DP_FORMAT_HALF = 2,      /* DXGI_FORMAT_R16_FLOAT (54),           2 bytes per pixel */
    DP_FORMAT_RAW_32BIT = 3, /* DXGI_FORMAT_R32_UINT (42),            4 bytes per pixel */
    DP_FORMAT_RGBA8 = 4,     /* DXGI_FORMAT_R8G8B8A8_UNORM (28),      4 bytes per pixel */
    DP_FORMAT_RGBA16F = 5,   /* DXGI_FORMAT_R16G16B16A16_FLOAT (10),  8 bytes per pixel */
    DP_FORMAT_RGBA32F = 6,   /* DXGI_FORMAT_R32G32B32A32_FLOAT (2),  16 bytes per pixel */
    DP_FORMAT_RGB10A2 = 7    /* DXGI_FORMAT_R10G10B10A2_UNORM (24),   4 bytes per pixel: HDR video */
} DP_FORMAT;

typedef enum {
    DP_OK = 0,
    DP_ERROR_INVALID_ARGUMENT,  /* NULL, bad name, zero/oversize size, bad or closed handle */
    DP_ERROR_NOT_INITIALIZED,   /* dp12_init / dp11_init not called, or shut down */
    DP_ERROR_UNSUPPORTED,       /* the driver or OS cannot do what was asked */
    DP_ERROR_NAME_IN_USE,       /* a port of that name exists already */
    DP_ERROR_NOT_FOUND,         /* no port of that name */
    DP_ERROR_ACCESS_DENIED,     /* the port's security descriptor refuses this caller */
    DP_ERROR_TIMEOUT,           /* a wait ran out of time */
    DP_ERROR_DISCONNECTED,      /* the producer process is gone, or it closed the port */
    DP_ERROR_BUSY,              /* no free slot: the producer drops this frame */
    DP_ERROR_DEVICE,            /* a D3D call failed (device removed, out of video memory...) */
    DP_ERROR_OUT_OF_MEMORY,     /* a host allocation or section failed */
    DP_ERROR_INCOMPATIBLE       /* the port's control block fails validation or is another version */
} DP_RESULT;

typedef enum { DP_TRANSPORT_AUTO = 0, DP_TRANSPORT_GPU = 1, DP_TRANSPORT_HOST = 2 } DP_TRANSPORT;

#define DP_PORT_SYSTEM_RAM 0x1u /* CPU-mappable slots (dp12_map_memory); always the host transport */
#define DP_PORT_GLOBAL 0x2u     /* objects in the Global\ namespace instead of Local\ */
#define DP_PORT_ALL_USERS 0x4u  /* any authenticated user may open the port */

#define DP_MAX_NAME 64u         /* longest DP_PORT_DESC.name, in characters */
#define DP_MAX_DIMENSION 16384u /* largest width or height */
#define DP_MAX_SLOTS 8u

/* Describes a port to create. Zero is the default for every field but name, width and
 * height:
 *   format     DP_FORMAT_VIDEO
 *   slots      3 (1..8): frames in flight; see the frame protocol below
 *   transport  DP_TRANSPORT_AUTO
 *   flags      none: session namespace, creating user and SYSTEM only, GPU-only memory
 *   sddl       NULL: the access implied by flags; otherwise this SDDL string is the
 *              objects' security descriptor and DP_PORT_ALL_USERS is ignored
 * name: 1..64 characters of [A-Za-z0-9_.-]; objects are named
 * Local\DirectPort.<name>.<part> (Global\ with DP_PORT_GLOBAL). */
typedef struct {
    const wchar_t *name;
    uint32_t width, height;
    DP_FORMAT format;
    uint32_t slots;
    DP_TRANSPORT transport;
    uint32_t flags;
    const wchar_t *sddl;
} DP_PORT_DESC;

/* What a handle knows of its port. */
typedef struct {
    wchar_t name[256];        /* the texture name (legacy) or DP_PORT_DESC.name */
    uint32_t width, height;
    DP_FORMAT format;
    DP_TRANSPORT transport;   /* GPU or HOST, never AUTO */
    uint32_t slots;
    uint32_t flags;           /* DP_PORT_* the port was created with */
    uint32_t row_pitch;       /* bytes between rows in a mapped slot */
    uint32_t producer_pid;
    bool is_producer;         /* this handle created the port */
    uint64_t last_frame;      /* the frame (fence) value last published */
    uint64_t frames_published;/* frames published since the port was made */
    uint64_t frames_dropped;  /* frames the producer dropped: no free slot (DP_ERROR_BUSY) */
    double fps;               /* frames published per second over the last second */
    uint32_t generation;      /* moves by 2 on each resize or producer takeover */
} DP_PORT_INFO;

/* Library-wide counters, for leak checks and benchmarks. */
typedef struct {
    uint32_t live_handles;        /* DP_HANDLEs not yet closed */
    uint32_t kernel_objects;      /* sections, events, threads, processes... held open */
    uint32_t worker_threads;      /* host-transport threads running */
    uint64_t bytes_copied_cpu;    /* bytes the CPU copied between textures and sections */
} DP_STATS;

/* ---- Errors ------------------------------------------------------------------------ */

/* The calling thread's last error; DP_OK if no call on this thread failed yet. */
DP_API DP_RESULT dp_last_error(void);
/* UTF-8 text of the calling thread's last error: the failing step and the HRESULT or
 * Win32 error. Valid until the next DirectPort call on this thread; never NULL. */
DP_API const char *dp_last_error_message(void);
/* Static name of a result ("DP_ERROR_TIMEOUT"); "DP_RESULT(?)" for unknown values. */
DP_API const char *dp_result_string(DP_RESULT r);

/* ---- Introspection ----------------------------------------------------------------- */

/* The transport carrying h's port; DP_TRANSPORT_AUTO (0) with an error for a bad handle. */
DP_API DP_TRANSPORT dp_get_transport(DP_HANDLE h);
/* Fills *out; false with an error for a bad handle or NULL out. */
DP_API bool dp_get_port_info(DP_HANDLE h, DP_PORT_INFO *out);
/* With the environment variable DIRECTPORT_D3D_DEBUG=1 when a device is made, the
 * library turns on the D3D12 debug layer (ID3D12Debug::EnableDebugLayer, which applies to
 * every D3D12 device the process makes afterwards) and creates its D3D11 device with
 * D3D11_CREATE_DEVICE_DEBUG, where the SDK layers are installed. Returns how many errors
 * and corruptions their info queues have reported for the library's devices so far
 * (counted at each dp12_shutdown / dp11_shutdown and at each call of this). 0 otherwise.
 * Thread-safe. */
DP_API uint32_t dp_debug_errors(void);
/* Fills *out with the library's counters; false for NULL. Thread-safe. */
DP_API bool dp_get_stats(DP_STATS *out);
/* The live ports of this session and the global namespace: fills up to capacity
 * entries of out (NULL with capacity 0 to count) and returns how many there are.
 * Needs no init. Thread-safe. */
DP_API uint32_t dp_list_ports(DP_PORT_INFO *out, uint32_t capacity);

/* ---- D3D12 core: the reference API --------------------------------------------------- */

/* Creates the library's D3D12 device on the default adapter. Idempotent: true at once
 * if a device is set. Returns false with DP_ERROR_DEVICE if no device can be made. */
DP_API bool dp12_init(void);
/* Closes every dp12 handle still open, releases the device. Safe to call twice. */
DP_API void dp12_shutdown(void);
/* Creates a 1-slot port; on the GPU transport its texture and fence carry exactly the
 * NT names given ("Name", "Local\\Name" or "Global\\Name"; both 1..255 characters,
 * prefix included, distinct), on the host transport the port's objects are named after them.
 * is_system_ram: the port's pixels live in host memory, which dp12_map_memory hands out;
 * such a port takes the host transport on every driver (D3D12 has no shared CPU-visible
 * heaps), and DP_TRANSPORT_GPU with DP_PORT_SYSTEM_RAM is DP_ERROR_UNSUPPORTED.
 * Returns NULL with DP_ERROR_NAME_IN_USE if either name is taken by a live producer
 * (a host-transport port whose producer died is taken over). The handle owns the
 * port: dp12_close destroys it once every opener has closed too. */
DP_API DP_HANDLE dp12_create_shared_resource(uint32_t width, uint32_t height, DP_FORMAT format,
                                             bool is_system_ram, const wchar_t *tex_name,
                                             const wchar_t *fence_name);
/* Opens a port made by dp12_create_shared_resource or dp11_create_shared_resource in
 * any process. NULL with DP_ERROR_NOT_FOUND if there is none. */
DP_API DP_HANDLE dp12_open_shared_resource(const wchar_t *tex_name, const wchar_t *fence_name);
/* Maps a system-RAM port for CPU access; *out_row_pitch (optional) gets the bytes
 * between rows, a multiple of 256. The pointer stays valid until dp12_unmap_memory (or
 * a resize). A producer's writes are published at its next fence signal. On the host
 * transport the pointer is the port's shared memory itself: a consumer's map shows the
 * latest frame's slot as it is now, and a frame published during the read can tear it
 * (the frame protocol does not). NULL with DP_ERROR_UNSUPPORTED for a port without
 * DP_PORT_SYSTEM_RAM. */
DP_API void *dp12_map_memory(DP_HANDLE h, uint32_t *out_row_pitch);
DP_API void dp12_unmap_memory(DP_HANDLE h);
/* CPU-side signal, as the reference: the fence takes `value` now. For GPU work use
 * dp12_queue_signal, which moves the fence when the queue gets there. */
DP_API void dp12_signal_fence(DP_HANDLE h, uint64_t value);
/* Blocks until the fence reaches value, the producer disconnects, or forever. */
DP_API void dp12_cpu_wait(DP_HANDLE h, uint64_t value);
/* Makes `queue` wait (GPU-side) until the fence reaches value. On the host transport the
 * value also means "the frame is in this handle's texture". A consumer first waits on
 * the CPU, with the producer's process, for a value not reached yet (at most 1 s, or
 * 10 s for a frame already published): a queue wait has no timeout. Not reached then:
 * nothing is queued, and the last error says why. */
DP_API void dp12_queue_wait(DP_HANDLE h, ID3D12CommandQueue *queue, uint64_t value);
/* The fence value this handle has reached: for a consumer, the latest value whose
 * frame is in its texture. 0 with an error for a bad handle. */
DP_API uint64_t dp12_get_completed_value(DP_HANDLE h);
/* The NT handle of the shared texture / fence (GPU transport), owned by the port;
 * NULL on the host transport, where no such object exists. */
DP_API void *dp12_get_resource_handle(DP_HANDLE h);
DP_API void *dp12_get_fence_handle(DP_HANDLE h);
/* Closes h and every object it holds. A consumer holding a frame releases it on the
 * queue of its acquire first and waits (at most 10 s) for that queue to pass it, so the
 * caller's reads submitted before the close finish on live textures. A NULL or already
 * closed handle sets DP_ERROR_INVALID_ARGUMENT and does nothing else. */
DP_API void dp12_close(DP_HANDLE h);

/* ---- D3D12 core: additions ----------------------------------------------------------- */

/* Uses the host's device instead of creating one (AddRef'd; released at shutdown).
 * Idempotent for the same device; false with DP_ERROR_INVALID_ARGUMENT if another device
 * is already in use. */
DP_API bool dp12_init_with_device(ID3D12Device *device);
/* The device in use, not AddRef'd; NULL with DP_ERROR_NOT_INITIALIZED before init. */
DP_API ID3D12Device *dp12_get_device(void);
/* Creates a port from *desc; see DP_PORT_DESC. */
DP_API DP_HANDLE dp12_create_port(const DP_PORT_DESC *desc);
/* Opens the port that dp12_create_port or dp11_create_port made under desc->name. */
DP_API DP_HANDLE dp12_open_port(const wchar_t *name);
/* This handle's texture (slot 0) and fence, owned by the handle: AddRef to keep them
 * beyond dp12_close; a resize or a followed generation replaces them. On the host
 * transport these are local objects that the library keeps in step with the port. Textures are in D3D12_RESOURCE_STATE_COMMON between
 * frames; return them to COMMON before signalling. */
DP_API ID3D12Resource *dp12_get_resource(DP_HANDLE h);
DP_API ID3D12Fence *dp12_get_fence(DP_HANDLE h);
/* Signals the fence with value on queue: it moves when the queue's earlier work is
 * done. The producer's correct signal for GPU-written frames. */
DP_API bool dp12_queue_signal(DP_HANDLE h, ID3D12CommandQueue *queue, uint64_t value);
/* Blocks until the fence reaches value (DP_OK), timeout_ms passes (DP_ERROR_TIMEOUT;
 * 0xFFFFFFFF waits forever) or the producer is gone (DP_ERROR_DISCONNECTED). */
DP_API DP_RESULT dp12_cpu_wait_timeout(DP_HANDLE h, uint64_t value, uint32_t timeout_ms);

/* ---- D3D12 core: the frame protocol ---------------------------------------------------
 *
 * A port made by dp12_create_port has N slots (DP_PORT_DESC.slots). The producer
 * renders each frame into a slot that no consumer reads, and never waits:
 *   dp12_begin_frame  hands out the slot texture to render into (COMMON state), or
 *                     DP_ERROR_BUSY when every slot is the latest or held by a
 *                     consumer: drop this frame and go on (the drop is counted).
 *   dp12_end_frame    signals the port's fence with the next frame value on `queue`
 *                     (after the frame's GPU work) and publishes the slot.
 * A consumer takes the newest frame and gives it back:
 *   dp12_acquire_frame  waits (up to timeout_ms; 0 polls) for a frame newer than the
 *                     last it acquired, claims it, makes `queue` wait GPU-side for it
 *                     and returns its texture (valid until release or close; the
 *                     handle keeps a reference on `queue` until then); on the host
 *                     transport the CPU first waits for the copy into that texture
 *                     (a millisecond or two at 1080p). Follows a resize
 *                     or a restarted producer on the way. DP_ERROR_TIMEOUT,
 *                     DP_ERROR_DISCONNECTED (producer gone), DP_ERROR_BUSY (more than
 *                     16 consumer handles use the port).
 *   dp12_release_frame  signals on `queue` that the caller's GPU reads are queued; the
 *                     claim ends when the GPU passes that point (on the host transport
 *                     the slot was given back after the copy already). Never blocks.
 * begin_frame's DP_ERROR_BUSY also covers, on the host transport, slots whose frames
 * are still being copied out.
 * A producer handle's calls are for one thread at a time, as are a consumer's. */
DP_API DP_RESULT dp12_begin_frame(DP_HANDLE h, ID3D12Resource **out_target);
DP_API DP_RESULT dp12_end_frame(DP_HANDLE h, ID3D12CommandQueue *queue, uint64_t *out_frame);
DP_API DP_RESULT dp12_acquire_frame(DP_HANDLE h, ID3D12CommandQueue *queue, uint32_t timeout_ms,
                                    ID3D12Resource **out_source, uint64_t *out_frame);
DP_API void dp12_release_frame(DP_HANDLE h, ID3D12CommandQueue *queue);
/* Producer: gives the port a new size between frames. Consumers follow at their next
 * acquire, never seeing a frame of the old size as one of the new. Waits for the GPU
 * to finish with the old textures. DP_ERROR_UNSUPPORTED for a legacy GPU-transport
 * port, whose texture name is fixed. */
DP_API DP_RESULT dp12_resize_port(DP_HANDLE h, uint32_t width, uint32_t height);

/* ---- D3D12 core: the reference's extras ------------------------------------------------
 *
 * Names the reference's callers use besides its v6.1 API: the v6.0 header's name of the
 * CPU wait, and four calls its C# binding declares. docs/api.md, "Coming from the
 * reference", says what else to know when moving a caller over. */

/* The v6.0 name of dp12_cpu_wait: blocks until the fence reaches value or the producer
 * disconnects. */
DP_API void dp12_wait_fence(DP_HANDLE h, uint64_t value);
/* The adapter LUID of the library's device: LowPart in the low 32 bits, HighPart in the
 * high 32. false with DP_ERROR_NOT_INITIALIZED before dp12_init, DP_ERROR_INVALID_ARGUMENT
 * for NULL. Thread-safe between init and shutdown. */
DP_API bool dp12_get_adapter_luid(int64_t *out_luid);
/* The HRESULT of the last dp12_/dp11_create_shared_resource or _create_port that failed on
 * the calling thread; S_OK (0) if none has. A success leaves it as it was; other calls
 * (opens included) never change it. Where no D3D or Win32 call failed the create, it is
 * the HRESULT the error stands for: an argument the library refuses is E_INVALIDARG
 * (0x80070057), a taken name HRESULT_FROM_WIN32(ERROR_ALREADY_EXISTS), no dp12_init
 * HRESULT_FROM_WIN32(ERROR_INVALID_STATE), no NT sharing DXGI_ERROR_UNSUPPORTED; docs/api.md
 * lists them all. dp_last_error_message() says more. */
DP_API int32_t dp12_last_hresult(void);
/* Whether the device's adapter is UMA (D3D12_FEATURE_DATA_ARCHITECTURE.UMA of node 0):
 * CPU and GPU share memory, so system-RAM ports cost no copy there. false also before
 * dp12_init (DP_ERROR_NOT_INITIALIZED) or if the driver cannot say (DP_ERROR_DEVICE); a
 * successful false leaves the last error as it was. */
DP_API bool dp12_is_uma(void);
/* Producer: copies width x height B, G, R, A pixels (rows src_row_pitch bytes apart, at
 * least width * 4) into the port's texture and signals its fence with frame_value; a
 * consumer that sees dp12_get_completed_value() >= frame_value sees exactly those bytes.
 * The discrete-GPU producer path. The port must be DP_FORMAT_VIDEO, of 1 slot (the legacy
 * API's, or dp12_create_port's with slots = 1), and width x height its size.
 * GPU transport: the rows go through an upload buffer; a copy queue of the handle's own
 * copies them and then signals the fence, so the call returns before the GPU has the
 * frame (dp12_get_completed_value tells when). It waits for the GPU only when 4 earlier
 * uploads of the handle are still being copied.
 * Host transport: the rows go into the port's shared memory through the host worker (the
 * handle's local texture is not written); no GPU work. Frames of one handle come from
 * uploads or from its texture (dp12_signal_fence / dp12_queue_signal after GPU writes,
 * dp12_map_memory), not both in turn: the next publish after an upload takes the
 * uploaded rows.
 * Returns false with: DP_ERROR_INVALID_ARGUMENT for a NULL src, a size other than the
 * port's, a short row pitch, a consumer's handle, a port of another format, a frame begun
 * and not ended, or a frame_value not above the port's latest; DP_ERROR_UNSUPPORTED for a
 * port of more slots (use the frame protocol); DP_ERROR_BUSY, the frame dropped, while a
 * consumer holds the slot through dp12_acquire_frame (legacy consumers hold none) or, on
 * the host transport once the handle used dp12_begin_frame, the slot's previous frame is
 * still being copied; DP_ERROR_DEVICE if D3D fails. The caller keeps src. */
DP_API bool dp12_upload_bgra(DP_HANDLE h, const void *src, uint32_t src_row_pitch, uint32_t width, uint32_t height,
                             uint64_t frame_value);

/* ---- D3D11 core: the reference API --------------------------------------------------- */

DP_API bool dp11_init(void);
DP_API void dp11_shutdown(void);
/* As dp12_create_shared_resource, on the D3D11 device (GPU memory only). */
DP_API DP_HANDLE dp11_create_shared_resource(uint32_t width, uint32_t height, DP_FORMAT format,
                                             const wchar_t *tex_name, const wchar_t *fence_name);
/* Opens a port made by either core, by its names. */
DP_API DP_HANDLE dp11_open_shared_resource(const wchar_t *tex_name, const wchar_t *fence_name);
/* Producer: signals the fence with value after the immediate context's work
 * (GPU-side with ID3D11Device5; on the host transport the library copies the texture
 * out and publishes the value). DP_ERROR_UNSUPPORTED on a host-transport consumer. */
DP_API void dp11_signal_fence(DP_HANDLE h, uint64_t value);
/* Makes the immediate context wait for value: GPU-side on the GPU transport (a consumer
 * first waits on the CPU for a value not reached yet, as dp12_queue_wait does); on the
 * host transport a consumer blocks the CPU until the frame is in its texture, and a
 * producer returns at once (its own work is already in order). */
DP_API void dp11_wait_fence(DP_HANDLE h, uint64_t value);
DP_API void dp11_close(DP_HANDLE h);

/* ---- D3D11 core: additions ----------------------------------------------------------- */

DP_API bool dp11_init_with_device(ID3D11Device *device);
DP_API ID3D11Device *dp11_get_device(void);
/* As dp12_create_port, on the D3D11 device: slots default to 3; DP_PORT_SYSTEM_RAM is
 * DP_ERROR_UNSUPPORTED (dp11 ports live in GPU memory). */
DP_API DP_HANDLE dp11_create_port(const DP_PORT_DESC *desc);
DP_API DP_HANDLE dp11_open_port(const wchar_t *name);
/* The handle's texture (slot 0; the legacy API's texture), owned by the handle (AddRef
 * to keep it). */
DP_API ID3D11Texture2D *dp11_get_texture(DP_HANDLE h);
DP_API uint64_t dp11_get_completed_value(DP_HANDLE h);
DP_API DP_RESULT dp11_cpu_wait_timeout(DP_HANDLE h, uint64_t value, uint32_t timeout_ms);

/* ---- D3D11 core: the frame protocol ---------------------------------------------------
 *
 * The dp12 frame protocol on the D3D11 device's immediate context; ports are the same,
 * so a dp11 producer serves dp12 consumers and the other way round. A port made by
 * dp11_create_port has N slots (DP_PORT_DESC.slots, default 3).
 *   dp11_begin_frame  hands out the slot texture to render into, or DP_ERROR_BUSY when
 *                     every slot is the latest or held by a consumer: drop this frame
 *                     and go on (the drop is counted). Never waits.
 *   dp11_end_frame    ends the frame begun on the immediate context: signals the port's
 *                     fence with the next frame value after the frame's work and
 *                     publishes the slot; *out_frame (optional) gets the value. On the
 *                     host transport it queues a copy of the slot into a staging texture
 *                     on the immediate context and leaves the rest to the worker thread.
 *                     Never waits. DP_ERROR_INVALID_ARGUMENT without a frame begun.
 *   dp11_acquire_frame  waits (up to timeout_ms; 0 polls; 0xFFFFFFFF forever) for a frame
 *                     newer than the last it acquired, claims it, makes the immediate
 *                     context wait GPU-side for it and returns its texture in
 *                     *out_source (valid until release); *out_frame (optional) gets its
 *                     value. Follows a resize or a restarted producer on the way.
 *                     DP_ERROR_TIMEOUT, DP_ERROR_DISCONNECTED (producer gone),
 *                     DP_ERROR_BUSY (more than 16 consumers acquire from the port),
 *                     DP_ERROR_INVALID_ARGUMENT while a frame is held.
 *                     Host transport (no ID3D11Device5, e.g. Wine): D3D11 has no GPU-side
 *                     wait there, so the call also BLOCKS until the worker has queued the
 *                     frame's upload into the returned texture on the immediate context
 *                     (a copy out of host memory; the producer is not waited for), after
 *                     which the caller's reads on that context are ordered after it.
 *   dp11_release_frame  ends the caller's use of the frame: the claim ends when the GPU
 *                     passes the reads queued so far on the immediate context. Never
 *                     blocks. Sets DP_ERROR_INVALID_ARGUMENT when no frame is held.
 * Producer-only calls on a consumer's handle and the other way round fail with
 * DP_ERROR_INVALID_ARGUMENT; on a port of another DirectPort build (no control block)
 * with DP_ERROR_UNSUPPORTED. A producer handle's calls are for one thread at a time, as
 * are a consumer's; the immediate context is the caller's to share as D3D11 allows. */
DP_API DP_RESULT dp11_begin_frame(DP_HANDLE h, ID3D11Texture2D **out_target);
DP_API DP_RESULT dp11_end_frame(DP_HANDLE h, uint64_t *out_frame);
DP_API DP_RESULT dp11_acquire_frame(DP_HANDLE h, uint32_t timeout_ms, ID3D11Texture2D **out_source,
                                    uint64_t *out_frame);
DP_API void dp11_release_frame(DP_HANDLE h);
/* Producer: gives the port a new size between frames (DP_ERROR_INVALID_ARGUMENT for a
 * size outside 1..DP_MAX_DIMENSION or with a frame begun). Consumers follow at their
 * next acquire, never seeing a frame of the old size as one of the new. Waits for the
 * GPU and the worker to finish with the old textures. DP_ERROR_UNSUPPORTED for a legacy
 * GPU-transport port, whose texture name is fixed. */
DP_API DP_RESULT dp11_resize_port(DP_HANDLE h, uint32_t width, uint32_t height);

#ifdef __cplusplus
}
#endif

#endif /* DIRECTPORT_H */
