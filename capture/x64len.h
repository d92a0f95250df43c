/*
 * x64len.h - the length decoder of dphook's detours: how long an x86-64 instruction is,
 * and whether it can be moved into a trampoline. Plain C, no Win32: the native unit
 * tests (tests/native/test_x64len.c) run it on the prologues it must handle.
 *
 * It knows the instructions compilers put at the start of a function (pushes, moves,
 * lea, arithmetic, stack adjustments, hot-patch nops, SSE moves, calls and jumps) in the
 * one-byte and 0F maps, with legacy and REX prefixes. Anything else (VEX/EVEX, the 0F38
 * and 0F3A maps, x87, string instructions, int3, privileged or 64-bit-invalid opcodes)
 * is X64_UNKNOWN: a detour refuses a function whose prologue it cannot decode rather
 * than guess.
 */
#ifndef X64LEN_H
#define X64LEN_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    X64_UNKNOWN = 0,  /* not decoded: refuse */
    X64_PLAIN,        /* position-independent: copied as it is */
    X64_RIP_RELATIVE, /* a memory operand [rip + disp32] at disp_offset: re-based when moved */
    X64_CALL_REL32,   /* E8: re-based when moved */
    X64_JMP_REL32,    /* E9: ends the straight line; re-based when moved */
    X64_JCC_REL32,    /* 0F 8x: re-based when moved */
    X64_JMP_REL8,     /* EB: cannot be moved; a detour follows it when it comes first */
    X64_JCC_REL8,     /* 7x, E0..E3: cannot be moved */
    X64_JMP_RIP_INDIRECT, /* FF 25 disp32 (any REX): jmp [rip + disp32], an import thunk */
    X64_JMP_INDIRECT, /* FF /4 through a register or memory other than [rip + x]: ends the
                         straight line, its target unknown here */
    X64_RET           /* C3, C2 iw */
} x64_kind;

typedef struct {
    uint8_t length;       /* bytes, 1..15 */
    uint8_t disp_offset;  /* where the rel32 / disp32 field starts (X64_RIP_RELATIVE,
                             *_REL32, X64_JMP_RIP_INDIRECT), else 0 */
    x64_kind kind;
    int32_t rel;          /* the rel8 / rel32 / disp32 value, sign-extended */
} x64_insn;

/* Decodes the instruction at code (avail bytes readable). Returns its length, or 0 with
 * out->kind == X64_UNKNOWN when it is not one the decoder knows or is cut off. */
size_t x64_decode(const uint8_t *code, size_t avail, x64_insn *out);

#endif /* X64LEN_H */
