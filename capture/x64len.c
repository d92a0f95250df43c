/*
 * x64len.c - see x64len.h. Opcode maps after the Intel SDM, volume 2, appendix A
 * ("Opcode Map"), 64-bit mode.
 */
#include "x64len.h"

#include <stdbool.h>
#include <string.h>

/* What follows an opcode. */
enum {
    F_NONE = 0,
    F_MODRM = 1 << 0,
    F_I8 = 1 << 1,  /* imm8 */
    F_IZ = 1 << 2,  /* imm16 with 66, else imm32 */
    F_I16 = 1 << 3, /* imm16 */
    F_BAD = 1 << 4  /* not decoded */
};

static unsigned one_byte(uint8_t op)
{
    if (op < 0x40) {
        unsigned low = op & 7u;
        if (op == 0x0F || low >= 6)
            return F_BAD; /* escape (handled apart), segment pushes/pops, BCD ops */
        return low < 4 ? F_MODRM : low == 4 ? F_I8 : F_IZ;
    }
    if (op >= 0x50 && op <= 0x5F)
        return F_NONE; /* push / pop r64 */
    if (op >= 0xB0 && op <= 0xB7)
        return F_I8;
    if (op >= 0xB8 && op <= 0xBF)
        return F_NONE; /* mov r, imm: its immediate's size depends on REX.W, below */
    if (op >= 0x84 && op <= 0x8F)
        return F_MODRM; /* test, xchg, mov, lea, pop r/m */
    if ((op >= 0x90 && op <= 0x99) || (op >= 0x9B && op <= 0x9F) || op == 0xC9 || op == 0xF5 ||
        (op >= 0xF8 && op <= 0xFD))
        return F_NONE; /* nop/xchg, cwde/cdq, fwait, pushf/popf, sahf/lahf, leave, flags */
    switch (op) {
    case 0x63: return F_MODRM;         /* movsxd */
    case 0x68: return F_IZ;            /* push imm */
    case 0x69: return F_MODRM | F_IZ;  /* imul */
    case 0x6A: return F_I8;
    case 0x6B: return F_MODRM | F_I8;
    case 0x80: return F_MODRM | F_I8;
    case 0x81: return F_MODRM | F_IZ;
    case 0x83: return F_MODRM | F_I8;
    case 0xA8: return F_I8;            /* test al */
    case 0xA9: return F_IZ;            /* test eax */
    case 0xC0: case 0xC1: return F_MODRM | F_I8;
    case 0xC6: return F_MODRM | F_I8;
    case 0xC7: return F_MODRM | F_IZ;
    case 0xC8: return F_I16 | F_I8;    /* enter */
    case 0xD0: case 0xD1: case 0xD2: case 0xD3: return F_MODRM;
    case 0xF6: case 0xF7: case 0xFE: case 0xFF: return F_MODRM; /* immediates by reg, below */
    default: return F_BAD;
    }
}

static unsigned two_byte(uint8_t op)
{
    if ((op >= 0x10 && op <= 0x17) || (op >= 0x18 && op <= 0x1F) || (op >= 0x28 && op <= 0x2F) ||
        (op >= 0x40 && op <= 0x6F) || (op >= 0x74 && op <= 0x76) || op == 0x7E || op == 0x7F ||
        (op >= 0x90 && op <= 0x9F) || op == 0x0D)
        return F_MODRM;
    if (op >= 0x70 && op <= 0x73)
        return F_MODRM | F_I8;
    if (op >= 0xC8 && op <= 0xCF)
        return F_NONE; /* bswap */
    if (op >= 0xD0 && op <= 0xFE)
        return F_MODRM; /* SSE2 integer ops */
    switch (op) {
    case 0x05: case 0x31: case 0x77: case 0xA2: return F_NONE; /* syscall, rdtsc, emms, cpuid */
    case 0xA3: case 0xA5: case 0xAB: case 0xAD: case 0xAE: case 0xAF: case 0xB0: case 0xB1:
    case 0xB3: case 0xB6: case 0xB7: case 0xBB: case 0xBC: case 0xBD: case 0xBE: case 0xBF:
    case 0xC0: case 0xC1: case 0xC3: case 0xC7:
        return F_MODRM;
    case 0xA4: case 0xAC: case 0xBA: case 0xC2: case 0xC4: case 0xC5: case 0xC6:
        return F_MODRM | F_I8;
    default: return F_BAD;
    }
}

static int32_t read_rel(const uint8_t *p, size_t size)
{
    if (size == 1)
        return (int8_t)p[0];
    uint32_t v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    int32_t s;
    memcpy(&s, &v, sizeof s);
    return s;
}

static size_t unknown(x64_insn *out)
{
    memset(out, 0, sizeof *out);
    out->kind = X64_UNKNOWN;
    return 0;
}

size_t x64_decode(const uint8_t *code, size_t avail, x64_insn *out)
{
    size_t i = 0;
    bool opsize16 = false, rex_w = false;
    unsigned flags;
    uint8_t op;

    memset(out, 0, sizeof *out);
    if (!code)
        return unknown(out);
    /* Legacy prefixes, then at most one REX, which must come last. */
    for (;; i++) {
        if (i >= avail || i >= 14)
            return unknown(out);
        uint8_t b = code[i];
        if (b == 0x66)
            opsize16 = true;
        else if (!(b == 0x67 || b == 0xF2 || b == 0xF3 || b == 0xF0 || b == 0x2E || b == 0x3E ||
                   b == 0x26 || b == 0x36 || b == 0x64 || b == 0x65))
            break;
    }
    if ((code[i] & 0xF0) == 0x40) {
        rex_w = (code[i] & 0x08) != 0;
        if (++i >= avail)
            return unknown(out);
    }
    op = code[i++];

    /* Branches and returns, whose operands are what a detour needs. */
    /* With 66, E8 / E9 / 0F 8x take rel16 on some processors: not moved. */
    if (opsize16 && (op == 0xE8 || op == 0xE9 || (op == 0x0F && i < avail && (code[i] & 0xF0) == 0x80)))
        return unknown(out);
    switch (op) {
    case 0xE8: case 0xE9:
        if (i + 4 > avail)
            return unknown(out);
        out->kind = op == 0xE8 ? X64_CALL_REL32 : X64_JMP_REL32;
        out->disp_offset = (uint8_t)i;
        out->rel = read_rel(code + i, 4);
        out->length = (uint8_t)(i + 4);
        return out->length;
    case 0xEB: case 0x70: case 0x71: case 0x72: case 0x73: case 0x74: case 0x75: case 0x76: case 0x77:
    case 0x78: case 0x79: case 0x7A: case 0x7B: case 0x7C: case 0x7D: case 0x7E: case 0x7F:
    case 0xE0: case 0xE1: case 0xE2: case 0xE3:
        if (i + 1 > avail)
            return unknown(out);
        out->kind = op == 0xEB ? X64_JMP_REL8 : X64_JCC_REL8;
        out->disp_offset = (uint8_t)i;
        out->rel = read_rel(code + i, 1);
        out->length = (uint8_t)(i + 1);
        return out->length;
    case 0xC3:
        out->kind = X64_RET;
        out->length = (uint8_t)i;
        return out->length;
    case 0xC2:
        if (i + 2 > avail)
            return unknown(out);
        out->kind = X64_RET;
        out->length = (uint8_t)(i + 2);
        return out->length;
    default:
        break;
    }

    if (op == 0x0F) {
        if (i >= avail)
            return unknown(out);
        op = code[i++];
        if (op >= 0x80 && op <= 0x8F) { /* jcc rel32 */
            if (i + 4 > avail)
                return unknown(out);
            out->kind = X64_JCC_REL32;
            out->disp_offset = (uint8_t)i;
            out->rel = read_rel(code + i, 4);
            out->length = (uint8_t)(i + 4);
            return out->length;
        }
        flags = two_byte(op);
        op = 0; /* no one-byte special cases below */
    } else {
        flags = one_byte(op);
    }
    if (flags & F_BAD)
        return unknown(out);

    out->kind = X64_PLAIN;
    if (flags & F_MODRM) {
        if (i >= avail)
            return unknown(out);
        uint8_t m = code[i++];
        unsigned mod = m >> 6, reg = (m >> 3) & 7u, rm = m & 7u;
        size_t disp = 0;
        bool rip = false;
        if (mod != 3) {
            if (rm == 4) {
                if (i >= avail)
                    return unknown(out);
                if (mod == 0 && (code[i] & 7u) == 5)
                    disp = 4; /* [index * scale + disp32], no base */
                i++;
            }
            if (mod == 0 && rm == 5) {
                rip = true;
                disp = 4;
            } else if (mod == 1) {
                disp = 1;
            } else if (mod == 2) {
                disp = 4;
            }
        }
        /* Immediates and the forms that depend on reg. */
        if (op == 0xF6 && reg < 2)
            flags |= F_I8;
        else if (op == 0xF7 && reg < 2)
            flags |= F_IZ;
        else if (op == 0xFE && reg > 1)
            return unknown(out);
        else if (op == 0xFF && (reg == 3 || reg == 5 || reg == 7))
            return unknown(out); /* far call / jmp, invalid */
        else if (op == 0x8F && reg != 0)
            return unknown(out); /* XOP */
        else if (op == 0xC6 && reg != 0)
            return unknown(out); /* xabort and friends */
        else if (op == 0xC7 && reg != 0)
            return unknown(out); /* xbegin */
        if (i + disp > avail)
            return unknown(out);
        if (rip) {
            out->kind = op == 0xFF && reg == 4 ? X64_JMP_RIP_INDIRECT : X64_RIP_RELATIVE;
            out->disp_offset = (uint8_t)i;
            out->rel = read_rel(code + i, 4);
        } else if (op == 0xFF && reg == 4) {
            out->kind = X64_JMP_INDIRECT;
        }
        i += disp;
    }
    if (flags & F_I16)
        i += 2;
    if (flags & F_I8)
        i += 1;
    if (flags & F_IZ)
        i += opsize16 && !rex_w ? 2 : 4; /* REX.W wins over 66: imm32 */
    if (op >= 0xB8 && op <= 0xBF) /* mov r, imm: imm64 with REX.W */
        i += rex_w ? 8 : opsize16 ? 2 : 4;
    if (i > avail || i > 15)
        return unknown(out);
    out->length = (uint8_t)i;
    return i;
}
