/*
 * directportblock.h - the port control block, the format table and the name rules.
 *
 * Plain C with no Win32 headers: the control block is untrusted input read from
 * another process's section, so its validator also builds natively for unit tests and
 * fuzzing (tests/native). Everything here is free of side effects.
 */
#ifndef DIRECTPORTBLOCK_H
#define DIRECTPORTBLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <wchar.h>

/* "DPPORTCB" little-endian. */
#define DPB_MAGIC 0x424354524f505044ull
/* 2: the format field holds the DP_FORMAT values 0..7 of the reference's DXGI formats
 * (1 held the earlier 0..3, a different mapping). */
#define DPB_VERSION 2u
#define DPB_MAX_SLOTS 8u
#define DPB_MAX_DIMENSION 16384u
#define DPB_PITCH_ALIGN 256u

/* Transport values as stored in the block (DP_TRANSPORT_GPU / _HOST). */
#define DPB_TRANSPORT_GPU 1u
#define DPB_TRANSPORT_HOST 2u

#define DPB_MAX_READERS 16u

/* One slot's shared state. frame: the fence value of the frame the slot holds (0: none
 * in this generation). */
typedef struct {
    volatile uint64_t frame;
    volatile int64_t publish_time;   /* QueryPerformanceCounter ticks at publish */
} dpb_slot;

/* A consumer's entry, taken at its first acquire. claim: a bit per slot it holds (a
 * frame it reads, or one whose release its GPU has not reached yet). A producer looking
 * for a free slot skips claimed ones, and reclaims the claims of processes that no
 * longer exist. */
typedef struct {
    volatile uint32_t pid;
    volatile uint32_t claim;
    volatile uint64_t start_time;    /* the reader process's creation time (pid reuse) */
    volatile uint64_t claim_tick;    /* GetTickCount64 at the claim */
} dpb_reader;

/*
 * The control block, at offset 0 of the section Local\DirectPort.<name>.ctl (or
 * <texture name>.ctl for legacy ports). Layout version 2; 'size' lets later versions
 * append fields.
 *
 * The geometry fields and the producer identity change only on resize or when a new
 * producer takes over the name; 'generation' guards them like a seqlock: odd while
 * they change, +2 per change. A reader copies them between two equal even reads.
 * latest: (frame << 8) | slot of the newest frame of this generation, 0 for none.
 */
typedef struct {
    uint64_t magic;
    uint32_t version;
    uint32_t size;                  /* bytes of this structure as the producer wrote it */
    volatile uint32_t generation;
    uint32_t width, height;
    uint32_t format;                /* DP_FORMAT */
    uint32_t bytes_per_pixel;
    uint32_t row_pitch;             /* host payload row pitch, multiple of 256 */
    uint32_t slot_count;
    uint32_t transport;             /* DPB_TRANSPORT_* */
    uint32_t flags;                 /* DP_PORT_* */
    uint32_t producer_pid;
    uint32_t legacy;                /* 1: made by the reference-compatible API */
    uint32_t reserved0;
    uint64_t producer_start_time;   /* FILETIME of the producer's process creation */
    uint32_t adapter_luid_low;
    int32_t adapter_luid_high;
    uint64_t slot_size;             /* bytes of one slot's payload in the host section */
    uint64_t qpc_frequency;         /* producer's QueryPerformanceFrequency */
    volatile uint64_t latest;
    volatile uint64_t heartbeat;    /* producer's GetTickCount64 at its last publish */
    volatile uint64_t frames_published;
    volatile uint64_t frames_dropped;
    volatile uint64_t fps_window_tick;  /* start of the current one-second window */
    volatile uint32_t fps_window_count; /* frames published in it so far */
    volatile uint32_t fps_milli;        /* frames per second x 1000 over the last window */
    dpb_slot slot[DPB_MAX_SLOTS];
    dpb_reader reader[DPB_MAX_READERS];
} dpb_block;

/* A validated copy of a control block's fixed fields. */
typedef struct {
    uint32_t width, height, format, bytes_per_pixel, row_pitch, slot_count, transport, flags;
    uint32_t producer_pid, legacy, generation;
    uint64_t producer_start_time, slot_size, qpc_frequency;
    uint32_t adapter_luid_low;
    int32_t adapter_luid_high;
} dpb_view;

/* Format table: DXGI format number and bytes per pixel of DP_FORMAT values 0..DPB_FORMATS-1;
 * false for an unknown format. */
#define DPB_FORMATS 8u
bool dpb_format_info(uint32_t format, uint32_t *out_dxgi, uint32_t *out_bytes_per_pixel);

/* Row pitch of a host payload row (width * bpp rounded up to 256); 0 on overflow. */
uint32_t dpb_row_pitch(uint32_t width, uint32_t bytes_per_pixel);

/* Fills a fresh block's fixed fields. Returns false if the geometry is invalid. */
bool dpb_init(dpb_block *b, uint32_t width, uint32_t height, uint32_t format, uint32_t slots,
              uint32_t transport, uint32_t flags, bool legacy);
/* Sets the geometry fields of b for width x height (format and slots unchanged);
 * false if out of range. The caller holds the generation odd. */
bool dpb_set_size(dpb_block *b, uint32_t width, uint32_t height);

/*
 * Validates the block at mem (mem_size bytes readable) and copies its fixed fields to
 * *out. Reads each field exactly once, so a writer racing the check cannot make a
 * checked value differ from the copied one; the caller re-reads the generation after
 * and retries if it moved (dpb_view.generation). On failure returns false and, if why
 * is not NULL, a static reason ("changing" for an odd generation: retry).
 */
bool dpb_validate(const void *mem, size_t mem_size, dpb_view *out, const char **why);

/* latest packing. */
static inline uint64_t dpb_pack_latest(uint64_t frame, uint32_t slot) { return (frame << 8) | slot; }
static inline uint64_t dpb_latest_frame(uint64_t latest) { return latest >> 8; }
static inline uint32_t dpb_latest_slot(uint64_t latest) { return (uint32_t)(latest & 0xffu); }

/* ---- Names --------------------------------------------------------------------------- */

#define DPN_MAX_BASE 64u    /* DP_PORT_DESC.name */
#define DPN_MAX_NT 255u     /* a legacy NT object name, prefix included: what the reference's
                             * discovery manifest carries (wchar_t[256]) */
/* Room for any derived name and its terminator. The longest is a legacy port's pixel
 * section: <texture name>.px.<generation>, 255 + 3 + 1 + 10 characters. */
#define DPN_LEN 272u

/* The NT object names of one port. */
typedef struct {
    wchar_t ctl[DPN_LEN];               /* control block section */
    wchar_t fence[DPN_LEN];             /* legacy: the shared fence; both: base of the notify names */
    wchar_t fence_value[DPN_LEN];       /* host fence section */
    wchar_t wake[DPN_LEN];              /* host fence waiters' semaphore */
    wchar_t tex[DPN_LEN];               /* legacy: the shared texture; "" for ports */
    wchar_t pixels[DPN_LEN];            /* host payload section; generation appended */
    wchar_t base[DPN_LEN];              /* prefix of per-generation GPU names; "" for legacy */
    wchar_t display[DPN_LEN];           /* what dp_get_port_info reports as the name */
} dpn_names;

/* 1..64 characters of [A-Za-z0-9_.-]. */
bool dpn_valid_base(const wchar_t *name);
/* An NT object name as the reference API takes it: 1..255 characters, an optional
 * Local\ or Global\ prefix, no other backslash, no control characters. */
bool dpn_valid_nt(const wchar_t *name);
/* Names of a port made by dp12_create_port: [Local|Global]\DirectPort.<name>.<part>. */
bool dpn_port_names(dpn_names *out, const wchar_t *name, bool global);
/* Names of a legacy port: the texture and fence exactly as given, the rest derived. */
bool dpn_legacy_names(dpn_names *out, const wchar_t *tex_name, const wchar_t *fence_name);
/* out = pixels name with ".<generation>" appended. */
bool dpn_pixels_name(wchar_t *out, size_t cap, const dpn_names *n, uint32_t generation);
/* The NT name of slot's shared texture in a generation: legacy ports keep the name
 * given (one slot, one generation of GPU objects); others <base>.<gen>.tex.<slot>. */
bool dpn_texture_name(wchar_t *out, size_t cap, const dpn_names *n, uint32_t generation, uint32_t slot);
/* The shared fence's NT name in a generation: as given (legacy), <base>.<gen>.fence. */
bool dpn_fence_name(wchar_t *out, size_t cap, const dpn_names *n, uint32_t generation);

#endif /* DIRECTPORTBLOCK_H */
