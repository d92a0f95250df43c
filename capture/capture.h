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

#include <windows.h>
#include <tlhelp32.h>

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

/* Whether process pid has a module of that file name loaded: 1, 0, or -1 (cannot tell).
 * A process starting or loading fails the snapshot (ERROR_BAD_LENGTH /
 * ERROR_PARTIAL_COPY) for a moment: tried for half a second. Used by dpcapture and the
 * capture tests. */
static inline int dpcap_has_module(DWORD pid, const wchar_t *module)
{
    HANDLE snap = INVALID_HANDLE_VALUE;
    for (int attempt = 0; attempt < 20 && snap == INVALID_HANDLE_VALUE; attempt++) {
        snap = CreateToolhelp32Snapshot(TH32CS_SNAPMODULE, pid);
        if (snap == INVALID_HANDLE_VALUE)
            Sleep(25);
    }
    if (snap == INVALID_HANDLE_VALUE)
        return -1;
    MODULEENTRY32W me;
    me.dwSize = sizeof me;
    int found = 0;
    for (BOOL more = Module32FirstW(snap, &me); more && !found; more = Module32NextW(snap, &me))
        found = !_wcsicmp(me.szModule, module);
    CloseHandle(snap);
    return found;
}

#endif /* DP_CAPTURE_H */
