/*
 * capture.h - what dpcapture.exe and dphook.dll share: the names of the kernel objects
 * of one attachment and the control block between them (docs/capture.md).
 *
 * For a target process of id PID, all in the session's Local\ namespace:
 *   Local\DirectPort.capture.PID          section: dpcap_block, made by dpcapture before
 *                                         it attaches; dphook refuses to attach without it
 *   Local\DirectPort.capture.PID.ready    event (manual reset, dpcapture's): dphook set
 *                                         its answer (state, message)
 *   Local\DirectPort.capture.PID.attached mutex, open in dphook while attached: "already
 *                                         attached"
 *   Local\DirectPort.capture.PID.stop     event (dphook's): detach
 *   Local\DirectPort.capture.PID.done     event (dphook's): detached, the figures final
 *
 * The block is written by two processes and read by both: each side validates what it
 * reads (magic, version, size, bounded strings) and trusts nothing else in it.
 */
#ifndef DP_CAPTURE_H
#define DP_CAPTURE_H

#include <stdint.h>

#include "directport.h"

#define DPCAP_MAGIC 0x50414344u /* "DCAP" */
#define DPCAP_VERSION 1u
#define DPCAP_PREFIX L"Local\\DirectPort.capture."
#define DPCAP_MESSAGE 256

/* The target was started suspended by dpcapture --launch: dphook attaches during its
 * process initialisation and starts its thread (and loads directport.dll) only at the
 * first swap, once the program runs. */
#define DPCAP_FLAG_LAUNCHED 1u

typedef enum {
    DPCAP_PENDING = 0,  /* dpcapture made the block; dphook has not answered */
    DPCAP_ATTACHED = 1, /* hooks in: swaps publish */
    DPCAP_WAITING = 2,  /* attached, opengl32.dll not loaded yet: hooked when it loads */
    DPCAP_FAILED = 3,   /* dphook did not attach; message says why */
    DPCAP_DETACHED = 4  /* unhooked and unloaded (asked to, or the port closed) */
} dpcap_state;

typedef struct {
    /* dpcapture's */
    uint32_t magic, version, size;
    uint32_t flags; /* DPCAP_FLAG_* */
    wchar_t port[DP_MAX_NAME + 1];
    /* dphook's */
    volatile int32_t state; /* dpcap_state */
    uint32_t width, height; /* the last frame's size */
    uint32_t mode;          /* DPGL_MODE of the port, 0 before it exists */
    wchar_t message[DPCAP_MESSAGE];
    volatile uint64_t swaps;     /* buffer swaps seen */
    volatile uint64_t published; /* frames published */
    volatile uint64_t dropped;   /* DP_ERROR_BUSY: dropped, the application not held */
    volatile uint64_t skipped;   /* swaps not captured (another window, no context current) */
    volatile uint64_t errors;
    double cost_ms_p50, cost_ms_p99, cost_ms_max; /* time in the swap hook, set at detach */
} dpcap_block;

#endif /* DP_CAPTURE_H */
