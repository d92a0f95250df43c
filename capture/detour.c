/*
 * detour.c - see detour.h. Documented calls it relies on: VirtualQuery / VirtualAlloc
 * (allocation granularity, MEM_FREE), VirtualProtect, FlushInstructionCache ("applications
 * should call FlushInstructionCache if they generate or modify code in memory"),
 * CreateToolhelp32Snapshot(TH32CS_SNAPTHREAD), SuspendThread / GetThreadContext /
 * SetThreadContext / ResumeThread.
 */
#include <windows.h>
#include <tlhelp32.h>

#include <stdio.h>
#include <string.h>

#include "detour.h"
#include "x64len.h"

/* The relay: FF 25 02000000 (jmp [rip + 2]), 2 bytes of int3, then the hook's address at
 * +8, aligned, so that it can be changed in one store. */
#define RELAY_ADDRESS_AT 8
#define TRAMPOLINE_AT 16   /* the trampoline follows the relay in the block */
#define BLOCK_SIZE 4096u
#define NEAR_LIMIT 0x7FF00000ull /* what rel32 reaches, less a margin */

static bool fail(char *why, size_t cap, const char *fmt, const void *at, const char *detail)
{
    if (why && cap)
        snprintf(why, cap, fmt, at, detail);
    return false;
}

/* How many bytes at p can be read (0 if none), up to max. */
static size_t readable(const uint8_t *p, size_t max)
{
    MEMORY_BASIC_INFORMATION mbi;
    const DWORD readable_pages = PAGE_READONLY | PAGE_READWRITE | PAGE_WRITECOPY | PAGE_EXECUTE_READ |
                                 PAGE_EXECUTE_READWRITE | PAGE_EXECUTE_WRITECOPY;
    if (!VirtualQuery(p, &mbi, sizeof mbi) || mbi.State != MEM_COMMIT || (mbi.Protect & PAGE_GUARD) ||
        !(mbi.Protect & readable_pages))
        return 0;
    size_t left = (size_t)((const uint8_t *)mbi.BaseAddress + mbi.RegionSize - p);
    if (left >= max)
        return max;
    /* The rest may sit in the next region. */
    return left + readable(p + left, max - left);
}

static void put_abs_jump(uint8_t *at, const void *to)
{
    static const uint8_t JMP_RIP[6] = {0xFF, 0x25, 0, 0, 0, 0};
    uint64_t a = (uint64_t)(uintptr_t)to;
    memcpy(at, JMP_RIP, sizeof JMP_RIP);
    memcpy(at + 6, &a, sizeof a);
}

/* The relay at block: jmp [rip + 2] over two int3 to the address at +8. */
static void put_relay(uint8_t *block, const void *to)
{
    static const uint8_t JMP_RIP2[8] = {0xFF, 0x25, 2, 0, 0, 0, 0xCC, 0xCC};
    uint64_t a = (uint64_t)(uintptr_t)to;
    memcpy(block, JMP_RIP2, sizeof JMP_RIP2);
    memcpy(block + RELAY_ADDRESS_AT, &a, sizeof a);
}

static bool fits_rel32(int64_t v)
{
    return v >= INT32_MIN && v <= INT32_MAX;
}

/* A block of BLOCK_SIZE bytes within NEAR_LIMIT of p: searched downward, then upward, a
 * granule at a time, skipping regions in use. */
static uint8_t *alloc_near(const uint8_t *p)
{
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    uintptr_t gran = si.dwAllocationGranularity ? si.dwAllocationGranularity : 0x10000;
    uintptr_t origin = (uintptr_t)p & ~(gran - 1);
    uintptr_t lo = origin > NEAR_LIMIT + gran ? origin - NEAR_LIMIT : gran;
    uintptr_t hi = origin + NEAR_LIMIT;
    uintptr_t min_app = (uintptr_t)si.lpMinimumApplicationAddress, max_app = (uintptr_t)si.lpMaximumApplicationAddress;
    for (int dir = -1; dir <= 1; dir += 2) {
        uintptr_t a = dir < 0 ? origin - gran : origin + gran;
        while (a >= lo && a <= hi && a >= min_app && a < max_app) {
            MEMORY_BASIC_INFORMATION mbi;
            if (!VirtualQuery((void *)a, &mbi, sizeof mbi))
                break;
            if (mbi.State == MEM_FREE) {
                void *r = VirtualAlloc((void *)a, BLOCK_SIZE, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
                if (r)
                    return r;
            }
            if (dir < 0) {
                uintptr_t base = (uintptr_t)mbi.AllocationBase;
                uintptr_t next = (mbi.State != MEM_FREE && base && base < a ? base : a) & ~(gran - 1);
                if (next < gran)
                    break;
                a = next - gran;
            } else {
                uintptr_t end = (uintptr_t)mbi.BaseAddress + mbi.RegionSize;
                a = (end + gran - 1) & ~(gran - 1);
                if (a <= (uintptr_t)mbi.BaseAddress)
                    break;
            }
        }
    }
    return NULL;
}

/* ---- other threads, held still while code changes ---------------------------------------- */

typedef struct {
    HANDLE thread[DP_DETOUR_MAX_THREADS];
    size_t n;
} frozen;

static void freeze(frozen *f)
{
    f->n = 0;
    HANDLE snap = CreateToolhelp32Snapshot(TH32CS_SNAPTHREAD, 0);
    if (snap == INVALID_HANDLE_VALUE)
        return;
    THREADENTRY32 te;
    te.dwSize = sizeof te;
    DWORD pid = GetCurrentProcessId(), self = GetCurrentThreadId();
    for (BOOL more = Thread32First(snap, &te); more && f->n < DP_DETOUR_MAX_THREADS; more = Thread32Next(snap, &te)) {
        if (te.th32OwnerProcessID != pid || te.th32ThreadID == self)
            continue;
        HANDLE t = OpenThread(THREAD_SUSPEND_RESUME | THREAD_GET_CONTEXT | THREAD_SET_CONTEXT, FALSE,
                              te.th32ThreadID);
        if (!t)
            continue;
        if (SuspendThread(t) == (DWORD)-1) {
            CloseHandle(t);
            continue;
        }
        f->thread[f->n++] = t;
    }
    CloseHandle(snap);
}

/* Moves a thread stopped in [from, from + n) to the same offset from to. */
static void move_threads(frozen *f, const uint8_t *from, const uint8_t *to, size_t n)
{
    for (size_t i = 0; i < f->n; i++) {
        CONTEXT c;
        memset(&c, 0, sizeof c);
        c.ContextFlags = CONTEXT_CONTROL;
        if (!GetThreadContext(f->thread[i], &c))
            continue;
        uintptr_t rip = (uintptr_t)c.Rip;
        if (rip > (uintptr_t)from && rip < (uintptr_t)from + n) {
            c.Rip = (DWORD64)((uintptr_t)to + (rip - (uintptr_t)from));
            SetThreadContext(f->thread[i], &c);
        }
    }
}

static void thaw(frozen *f)
{
    for (size_t i = 0; i < f->n; i++) {
        ResumeThread(f->thread[i]);
        CloseHandle(f->thread[i]);
    }
    f->n = 0;
}

/* Writes n bytes over code at target: one interlocked 8-byte store where they share an
 * aligned quadword (no thread ever sees half an instruction), else a copy. */
static void write_code(uint8_t *target, const uint8_t *bytes, size_t n)
{
    uintptr_t q = (uintptr_t)target & ~(uintptr_t)7;
    size_t off = (size_t)((uintptr_t)target - q);
    if (off + n <= 8) {
        volatile LONG64 *qw = (volatile LONG64 *)q;
        LONG64 old = *qw, val;
        do {
            uint8_t tmp[8];
            memcpy(tmp, &old, 8);
            memcpy(tmp + off, bytes, n);
            memcpy(&val, tmp, 8);
            LONG64 seen = InterlockedCompareExchange64(qw, val, old);
            if (seen == old)
                break;
            old = seen;
        } while (1);
    } else {
        memcpy(target, bytes, n);
    }
}

enum { PATCH_FAILED, PATCH_WRITTEN, PATCH_NOT_OURS };

/* Writes bytes over n bytes of code at target with the other threads held still, those
 * stopped in (move_from, move_from + n) moved to move_to. With expect, only if the code
 * still is expect (else PATCH_NOT_OURS, nothing written). */
static int patch(uint8_t *target, const uint8_t *bytes, size_t n, const uint8_t *expect, const uint8_t *move_from,
                 const uint8_t *move_to, char *why, size_t cap)
{
    DWORD old;
    int result = PATCH_WRITTEN;
    frozen *f = VirtualAlloc(NULL, sizeof *f, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    if (!f) {
        fail(why, cap, "%p: %s", target, "no memory to hold the other threads");
        return PATCH_FAILED;
    }
    if (!VirtualProtect(target, n, PAGE_EXECUTE_READWRITE, &old)) {
        VirtualFree(f, 0, MEM_RELEASE);
        fail(why, cap, "cannot make %p writable (%s)", target, "VirtualProtect failed");
        return PATCH_FAILED;
    }
    freeze(f); /* no heap use from here to thaw: a stopped thread may hold its lock */
    if (expect && memcmp(target, expect, n)) {
        result = PATCH_NOT_OURS;
    } else {
        move_threads(f, move_from, move_to, n);
        write_code(target, bytes, n);
        FlushInstructionCache(GetCurrentProcess(), target, n);
    }
    thaw(f);
    VirtualFree(f, 0, MEM_RELEASE);
    VirtualProtect(target, n, old, &old);
    return result;
}

/* The function that really runs: leading jumps followed. */
static uint8_t *follow(uint8_t *p)
{
    for (int hop = 0; hop < 8; hop++) {
        uint8_t buf[16];
        size_t n = readable(p, sizeof buf);
        if (n == 0)
            return p;
        memcpy(buf, p, n);
        x64_insn in;
        size_t len = x64_decode(buf, n, &in);
        if (!len)
            return p;
        if (in.kind == X64_JMP_REL32 || in.kind == X64_JMP_REL8) {
            p = p + len + in.rel;
        } else if (in.kind == X64_JMP_RIP_INDIRECT) {
            uint8_t *slot = p + len + in.rel;
            uint8_t *to;
            if (readable(slot, sizeof to) < sizeof to)
                return p;
            memcpy(&to, slot, sizeof to);
            if (!to)
                return p;
            p = to;
        } else if (len == 8 && !memcmp(buf, "\x48\x8D\xA4\x24\0\0\0\0", 8)) {
            /* Wine's hot-patch nop (lea rsp, [rsp + 0]) before a thunk's jump. */
            x64_insn next;
            if (n > 8 && x64_decode(buf + 8, n - 8, &next) &&
                (next.kind == X64_JMP_RIP_INDIRECT || next.kind == X64_JMP_REL32 || next.kind == X64_JMP_REL8))
                p += 8;
            else
                return p;
        } else {
            return p;
        }
    }
    return p;
}

bool dp_detour_install(dp_detour *d, void *function, void *hook, void *volatile *original, char *why, size_t cap)
{
    if (!d || !function || !hook || !original)
        return fail(why, cap, "detour of %p: %s", function, "no function or hook");
    memset(d, 0, sizeof *d);
    uint8_t *p = follow(function);
    uint8_t code[32];
    size_t avail = readable(p, sizeof code);
    if (avail < 5)
        return fail(why, cap, "%p: %s", p, "code not readable");
    memcpy(code, p, avail);

    /* Whole instructions covering at least 5 bytes. */
    x64_insn ins[8];
    size_t count = 0, total = 0;
    while (total < 5 && count < sizeof ins / sizeof ins[0]) {
        x64_insn *in = &ins[count];
        size_t len = x64_decode(code + total, avail - total, in);
        if (!len)
            return fail(why, cap, "%p: %s", p + total, "an instruction the length decoder does not know");
        if (in->kind == X64_JMP_REL8 || in->kind == X64_JCC_REL8)
            return fail(why, cap, "%p: %s", p + total, "a short branch in the first 5 bytes");
        total += len;
        count++;
        if ((in->kind == X64_RET || in->kind == X64_JMP_REL32 || in->kind == X64_JMP_RIP_INDIRECT ||
             in->kind == X64_JMP_INDIRECT) &&
            total < 5)
            return fail(why, cap, "%p: %s", p, "the function is shorter than the 5-byte jump");
    }
    if (total < 5 || total > sizeof d->saved)
        return fail(why, cap, "%p: %s", p, "its first instructions do not make a 5-byte patch");

    uint8_t *block = alloc_near(p);
    if (!block)
        return fail(why, cap, "%p: %s", p, "no free memory within 2 GB for the trampoline");
    uint8_t *tramp = block + TRAMPOLINE_AT;

    /* The moved instructions, re-based. */
    memcpy(tramp, code, total);
    for (size_t i = 0, at = 0; i < count; at += ins[i].length, i++) {
        const x64_insn *in = &ins[i];
        if (in->kind != X64_RIP_RELATIVE && in->kind != X64_CALL_REL32 && in->kind != X64_JMP_REL32 &&
            in->kind != X64_JCC_REL32 && in->kind != X64_JMP_RIP_INDIRECT)
            continue;
        const uint8_t *dest = p + at + in->length + in->rel;
        if (dest > p && dest < p + total) {
            VirtualFree(block, 0, MEM_RELEASE);
            return fail(why, cap, "%p: %s", p + at, "an operand points into the bytes the patch replaces");
        }
        int64_t rel = (int64_t)in->rel + (int64_t)((intptr_t)p - (intptr_t)tramp);
        if (!fits_rel32(rel)) {
            VirtualFree(block, 0, MEM_RELEASE);
            return fail(why, cap, "%p: %s", p + at, "the trampoline is out of rel32 reach");
        }
        int32_t r32 = (int32_t)rel;
        memcpy(tramp + at + in->disp_offset, &r32, sizeof r32);
    }
    put_abs_jump(tramp + total, p + total);
    put_relay(block, hook);
    DWORD old;
    if (!VirtualProtect(block, BLOCK_SIZE, PAGE_EXECUTE_READ, &old)) {
        VirtualFree(block, 0, MEM_RELEASE);
        return fail(why, cap, "%p: %s", block, "cannot make the trampoline executable");
    }
    FlushInstructionCache(GetCurrentProcess(), block, BLOCK_SIZE);

    int64_t to_relay = (int64_t)((intptr_t)block - (intptr_t)(p + 5));
    if (!fits_rel32(to_relay)) {
        VirtualFree(block, 0, MEM_RELEASE);
        return fail(why, cap, "%p: %s", p, "the relay is out of rel32 reach");
    }
    d->target = p;
    d->block = block;
    d->original = tramp;
    d->patched = total;
    memcpy(d->saved, code, total);
    memset(d->jump, 0xCC, sizeof d->jump);
    d->jump[0] = 0xE9;
    int32_t r32 = (int32_t)to_relay;
    memcpy(d->jump + 1, &r32, sizeof r32);
    /* The caller's pointer to the original first: the hook may run the moment the jump
     * is in. */
    InterlockedExchangePointer((void *volatile *)original, tramp);
    if (patch(p, d->jump, total, NULL, p, tramp, why, cap) != PATCH_WRITTEN) {
        InterlockedExchangePointer((void *volatile *)original, NULL);
        VirtualFree(block, 0, MEM_RELEASE);
        memset(d, 0, sizeof *d);
        return false;
    }
    d->installed = true;
    return true;
}

bool dp_detour_remove(dp_detour *d, char *why, size_t cap)
{
    if (!d || !d->installed)
        return true;
    int r = patch(d->target, d->saved, d->patched, d->jump, d->block + TRAMPOLINE_AT, d->target, why, cap);
    if (r == PATCH_FAILED)
        return false;
    if (r == PATCH_NOT_OURS) {
        /* Someone's jump leads into our relay now: it goes straight to the original. */
        DWORD old;
        if (!VirtualProtect(d->block, TRAMPOLINE_AT, PAGE_EXECUTE_READWRITE, &old))
            return fail(why, cap, "%p: %s", d->block, "cannot make the relay writable");
        InterlockedExchange64((volatile LONG64 *)(void *)(d->block + RELAY_ADDRESS_AT),
                              (LONG64)(uintptr_t)(d->block + TRAMPOLINE_AT));
        VirtualProtect(d->block, TRAMPOLINE_AT, old, &old);
        FlushInstructionCache(GetCurrentProcess(), d->block, TRAMPOLINE_AT);
        d->stranded = true;
    }
    d->installed = false;
    return true;
}

void dp_detour_free(dp_detour *d)
{
    if (!d || d->installed || d->stranded)
        return;
    if (d->block)
        VirtualFree(d->block, 0, MEM_RELEASE);
    memset(d, 0, sizeof *d);
}
