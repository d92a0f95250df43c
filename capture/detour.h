/*
 * detour.h - inline detours for x86-64, the one hook mechanism of dphook.dll.
 *
 * dp_detour_install(d, function, hook, &original) makes every call of function, however
 * the caller found its address (imports, GetProcAddress, wglGetProcAddress, a pointer
 * kept from before), run hook instead; original (also d->original) calls what function
 * did before.
 *
 *   - Leading jumps are followed first (E9 / EB, and jmp [rip+x] import thunks such as
 *     Windows 10's gdi32 -> gdi32full stubs): the function that really runs is patched.
 *   - Its first instructions, at least 5 bytes of them, are decoded (x64len.h) and
 *     moved into a trampoline allocated within 2 GB, their rip-relative operands and
 *     rel32 branches re-based; then the first 5 bytes become "jmp rel32" to a relay
 *     that jumps to hook. A prologue it cannot decode, a short branch inside those bytes,
 *     or a branch back into them is refused with the reason: nothing is patched.
 *   - While it writes, the process's other threads are suspended; a thread stopped
 *     inside the bytes being replaced is moved to the same instruction in the
 *     trampoline (and back at removal). Up to DP_DETOUR_MAX_THREADS threads.
 *
 * dp_detour_remove puts the original bytes back; the trampoline stays allocated, as a
 * thread may still run in it, until dp_detour_free, once no thread can be inside the
 * hook or the trampoline. If the bytes are no longer the jump it wrote (an overlay hooked
 * the function after us, and its jump leads into our relay), they are left alone: the
 * relay is pointed at the trampoline instead, so the other hook reaches the original,
 * and the block is never freed (stranded). Calls on detours are serialized by the
 * caller.
 */
#ifndef DP_DETOUR_H
#define DP_DETOUR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DP_DETOUR_MAX_THREADS 512

typedef struct {
    uint8_t *target;   /* the patched entry (after following jumps); NULL: not installed */
    uint8_t *block;    /* relay + trampoline */
    void *original;    /* the trampoline: call it as the function */
    uint8_t saved[32]; /* target's bytes before the patch */
    uint8_t jump[32];  /* what the patch wrote there */
    size_t patched;    /* how many of them the patch covers (whole instructions, >= 5) */
    bool installed;
    bool stranded;     /* another hook went over ours: the block stays for good */
} dp_detour;

/* *original gets the trampoline before the jump goes in (the hook may run at once). */
bool dp_detour_install(dp_detour *d, void *function, void *hook, void *volatile *original, char *why, size_t cap);
bool dp_detour_remove(dp_detour *d, char *why, size_t cap);
void dp_detour_free(dp_detour *d);

#endif /* DP_DETOUR_H */
