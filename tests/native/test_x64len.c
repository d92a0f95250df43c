/*
 * test_x64len.c - native unit tests of dphook's length decoder (capture/x64len.c): the
 * prologues it must move, measured from Wine 8's gdi32/opengl32/kernel32 and typical of
 * MSVC and GCC on Windows, and what it must refuse.
 */
#include <stdlib.h>
#include <string.h>

#include "capture/x64len.h"
#include "dptest.h"

typedef struct {
    const char *what;
    uint8_t bytes[16];
    size_t n;       /* bytes given */
    size_t length;  /* expected, 0: refused */
    x64_kind kind;
    int32_t rel;
} x64_case;

static const x64_case CASES[] = {
    {"push rbx", {0x53}, 1, 1, X64_PLAIN, 0},
    {"push rbx (REX)", {0x40, 0x53}, 2, 2, X64_PLAIN, 0},
    {"push r12", {0x41, 0x54}, 2, 2, X64_PLAIN, 0},
    {"sub rsp, 0x20", {0x48, 0x83, 0xEC, 0x20}, 4, 4, X64_PLAIN, 0},
    {"sub rsp, 0x420", {0x48, 0x81, 0xEC, 0x20, 0x04, 0x00, 0x00}, 7, 7, X64_PLAIN, 0},
    {"lea rsp, [rsp+0] (Wine hot-patch nop)", {0x48, 0x8D, 0xA4, 0x24, 0, 0, 0, 0}, 8, 8, X64_PLAIN, 0},
    {"mov [rsp+8], rbx", {0x48, 0x89, 0x5C, 0x24, 0x08}, 5, 5, X64_PLAIN, 0},
    {"mov [rsp+0x10], rsi", {0x48, 0x89, 0x74, 0x24, 0x10}, 5, 5, X64_PLAIN, 0},
    {"mov r11, rsp", {0x4C, 0x8B, 0xDC}, 3, 3, X64_PLAIN, 0},
    {"mov [r11+8], rbx", {0x49, 0x89, 0x5B, 0x08}, 4, 4, X64_PLAIN, 0},
    {"mov rax, [rip+0x4b324]", {0x48, 0x8B, 0x05, 0x24, 0xB3, 0x04, 0x00}, 7, 7, X64_RIP_RELATIVE, 0x4B324},
    {"lea rdi, [rip+0x79f2]", {0x48, 0x8D, 0x3D, 0xF2, 0x79, 0x00, 0x00}, 7, 7, X64_RIP_RELATIVE, 0x79F2},
    {"cmp byte [rip-4], 0", {0x80, 0x3D, 0xFC, 0xFF, 0xFF, 0xFF, 0x00}, 7, 7, X64_RIP_RELATIVE, -4},
    {"test byte [rip+x], 1", {0xF6, 0x05, 0xE6, 0x79, 0x00, 0x00, 0x01}, 7, 7, X64_RIP_RELATIVE, 0x79E6},
    {"mov rax, gs:[0x30]", {0x65, 0x48, 0x8B, 0x04, 0x25, 0x30, 0, 0, 0}, 9, 9, X64_PLAIN, 0},
    {"mov qword [rsp+0x28], 0", {0x48, 0xC7, 0x44, 0x24, 0x28, 0, 0, 0, 0}, 9, 9, X64_PLAIN, 0},
    {"mov edx, 0xb", {0xBA, 0x0B, 0, 0, 0}, 5, 5, X64_PLAIN, 0},
    {"mov rax, imm64", {0x48, 0xB8, 1, 2, 3, 4, 5, 6, 7, 8}, 10, 10, X64_PLAIN, 0},
    {"mov ax, imm16", {0x66, 0xB8, 1, 2}, 4, 4, X64_PLAIN, 0},
    {"movaps [rsp+0x20], xmm6", {0x0F, 0x29, 0x74, 0x24, 0x20}, 5, 5, X64_PLAIN, 0},
    {"nop dword [rax+rax+0]", {0x0F, 0x1F, 0x44, 0x00, 0x00}, 5, 5, X64_PLAIN, 0},
    {"xchg ax, ax (66 90)", {0x66, 0x90}, 2, 2, X64_PLAIN, 0},
    {"mov edi, edi", {0x8B, 0xFF}, 2, 2, X64_PLAIN, 0},
    {"call rel32", {0xE8, 0xE7, 0xF3, 0xFF, 0xFF}, 5, 5, X64_CALL_REL32, -0xC19},
    {"jmp rel32", {0xE9, 0x10, 0x00, 0x00, 0x00}, 5, 5, X64_JMP_REL32, 0x10},
    {"jmp rel8", {0xEB, 0xFE}, 2, 2, X64_JMP_REL8, -2},
    {"je rel8", {0x74, 0x0C}, 2, 2, X64_JCC_REL8, 12},
    {"jne rel32", {0x0F, 0x85, 0x00, 0x01, 0x00, 0x00}, 6, 6, X64_JCC_REL32, 0x100},
    {"jmp [rip+x] (import thunk)", {0xFF, 0x25, 0x4E, 0xE3, 0x03, 0x00}, 6, 6, X64_JMP_RIP_INDIRECT, 0x3E34E},
    {"rex.w jmp [rip+x] (Windows 10 gdi32 stub)", {0x48, 0xFF, 0x25, 0x01, 0, 0, 0}, 7, 7, X64_JMP_RIP_INDIRECT, 1},
    {"call [rip+x]", {0xFF, 0x15, 0x08, 0, 0, 0}, 6, 6, X64_RIP_RELATIVE, 8},
    {"add rax, imm32 with 66 and REX.W (REX.W wins)", {0x66, 0x48, 0x81, 0xC0, 1, 2, 3, 4}, 8, 8, X64_PLAIN, 0},
    {"add ax, imm16", {0x66, 0x81, 0xC0, 1, 2}, 5, 5, X64_PLAIN, 0},
    {"test rax, imm32 (F7 /0) with 66 and REX.W", {0x66, 0x48, 0xF7, 0xC0, 1, 2, 3, 4}, 8, 8, X64_PLAIN, 0},
    {"jmp rax", {0xFF, 0xE0}, 2, 2, X64_JMP_INDIRECT, 0},
    {"jmp [rax]", {0xFF, 0x20}, 2, 2, X64_JMP_INDIRECT, 0},
    {"call rax", {0xFF, 0xD0}, 2, 2, X64_PLAIN, 0},
    {"gcc alignment nop (14 bytes)", {0x66, 0x66, 0x66, 0x66, 0x66, 0x2E, 0x0F, 0x1F, 0x84, 0, 0, 0, 0, 0}, 14, 14,
     X64_PLAIN, 0},
    {"ret", {0xC3}, 1, 1, X64_RET, 0},
    {"ret 8", {0xC2, 0x08, 0x00}, 3, 3, X64_RET, 0},
    /* Refused. */
    {"int3", {0xCC}, 1, 0, X64_UNKNOWN, 0},
    {"ud2", {0x0F, 0x0B}, 2, 0, X64_UNKNOWN, 0},
    {"VEX vmovaps", {0xC5, 0xF8, 0x29, 0x04, 0x24}, 5, 0, X64_UNKNOWN, 0},
    {"0F 38 map", {0x66, 0x0F, 0x38, 0x00, 0xC1}, 5, 0, X64_UNKNOWN, 0},
    {"x87 fld", {0xD9, 0x05, 0, 0, 0, 0}, 6, 0, X64_UNKNOWN, 0},
    {"movs (string)", {0xF3, 0xA4}, 2, 0, X64_UNKNOWN, 0},
    {"far jmp", {0xFF, 0x2D, 0, 0, 0, 0}, 6, 0, X64_UNKNOWN, 0},
    {"66 call (rel16 on some processors)", {0x66, 0xE8, 0, 0}, 4, 0, X64_UNKNOWN, 0},
    {"66 jne (rel16 on some processors)", {0x66, 0x0F, 0x85, 0, 0}, 5, 0, X64_UNKNOWN, 0},
    {"cut off: sub rsp with 3 of 4 bytes", {0x48, 0x83, 0xEC}, 3, 0, X64_UNKNOWN, 0},
    {"cut off: call with 2 of 5 bytes", {0xE8, 0x00}, 2, 0, X64_UNKNOWN, 0},
    {"cut off: only prefixes", {0x66, 0x66, 0x48}, 3, 0, X64_UNKNOWN, 0},
    {"15 prefixes", {0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x90},
     16, 0, X64_UNKNOWN, 0},
};

DP_TEST(x64len_prologues_and_refusals)
{
    for (size_t c = 0; c < sizeof CASES / sizeof CASES[0]; c++) {
        const x64_case *t = &CASES[c];
        x64_insn in;
        size_t n = x64_decode(t->bytes, t->n, &in);
        ok(n == t->length && in.length == t->length, "%s: length %zu (insn %u), expected %zu", t->what, n,
           in.length, t->length);
        ok(in.kind == t->kind, "%s: kind %d, expected %d", t->what, (int)in.kind, (int)t->kind);
        ok(in.rel == t->rel, "%s: rel %d, expected %d", t->what, in.rel, t->rel);
        if (t->kind == X64_RIP_RELATIVE || t->kind == X64_CALL_REL32 || t->kind == X64_JMP_REL32 ||
            t->kind == X64_JCC_REL32 || t->kind == X64_JMP_RIP_INDIRECT) {
            int32_t at;
            memcpy(&at, t->bytes + in.disp_offset, sizeof at);
            ok(in.disp_offset + 4u <= in.length && at == t->rel, "%s: displacement at %u reads %d", t->what,
               in.disp_offset, at);
        }
    }
}

/* Whole prologues as Wine 8 has them, decoded instruction by instruction. */
DP_TEST(x64len_wine_prologues_walk)
{
    static const struct {
        const char *what;
        uint8_t bytes[24];
        size_t lengths[6];
    } WALKS[] = {
        {"gdi32!SwapBuffers",
         {0x53, 0x48, 0x83, 0xEC, 0x20, 0x48, 0x8B, 0x05, 0x24, 0xB3, 0x04, 0x00, 0x48, 0x89, 0xCB, 0x48, 0x85,
          0xC0, 0x74, 0x0C, 0x48, 0x89, 0xD9, 0xFF},
         {1, 4, 7, 3, 3, 2}},
        {"opengl32!wglSwapBuffers",
         {0x48, 0x8D, 0xA4, 0x24, 0x00, 0x00, 0x00, 0x00, 0x56, 0x53, 0x48, 0x83, 0xEC, 0x58, 0xBA, 0x0B, 0x00,
          0x00, 0x00, 0x65, 0x48, 0x8B, 0x04, 0x25},
         {8, 1, 1, 4, 5, 0}},
        {"opengl32!wglSwapLayerBuffers",
         {0x57, 0x56, 0x53, 0x48, 0x83, 0xEC, 0x30, 0x48, 0x8D, 0x3D, 0xF2, 0x79, 0x00, 0x00, 0x48, 0x89, 0xCE,
          0x89, 0xD3, 0xF6, 0x05, 0xE6, 0x79, 0x00},
         {1, 1, 1, 4, 7, 3}},
    };
    for (size_t w = 0; w < sizeof WALKS / sizeof WALKS[0]; w++) {
        size_t at = 0;
        for (size_t k = 0; k < 6 && WALKS[w].lengths[k]; k++) {
            x64_insn in;
            size_t n = x64_decode(WALKS[w].bytes + at, sizeof WALKS[w].bytes - at, &in);
            ok(n == WALKS[w].lengths[k], "%s: instruction %zu at +%zu is %zu bytes, expected %zu", WALKS[w].what,
               k, at, n, WALKS[w].lengths[k]);
            if (!n)
                break;
            at += n;
        }
    }
}

/* Every byte string decodes to 0 or to a length within what it was given: never reads
 * past avail (ASan watches) and never claims more than 15 bytes. */
DP_TEST(x64len_never_reads_past_the_end)
{
    uint32_t seed = 12345;
    for (int round = 0; round < 200000; round++) {
        uint8_t buf[15];
        size_t avail = (size_t)(round % 16);
        for (size_t i = 0; i < avail; i++) {
            seed = seed * 1103515245u + 12345u;
            buf[i] = (uint8_t)(seed >> 16);
        }
        uint8_t *heap = malloc(avail ? avail : 1);
        if (!heap)
            continue;
        memcpy(heap, buf, avail);
        x64_insn in;
        size_t n = x64_decode(heap, avail, &in);
        free(heap);
        if (n > avail || n > 15) {
            ok(0, "round %d: length %zu of %zu bytes", round, n, avail);
            break;
        }
    }
}
