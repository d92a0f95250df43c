/*
 * make_seed.c - writes the fuzzer's seed corpus: valid control blocks made by
 * dpb_init, and a few names as Windows wchar_t strings (16-bit little-endian units).
 *
 *     make_seed DIR        writes DIR/seed-*; run by the Makefile before fuzzing
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "directportblock.h"

static int write_file(const char *dir, const char *name, const void *data, size_t size)
{
    char path[4096];
    FILE *f;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) {
        perror(path);
        return 1;
    }
    return 0;
}

static int write_block(const char *dir, const char *name, uint32_t width, uint32_t height, uint32_t format,
                       uint32_t slots, uint32_t transport, uint64_t latest, int legacy)
{
    dpb_block b;
    if (!dpb_init(&b, width, height, format, slots, transport, 0, legacy != 0)) {
        fprintf(stderr, "make_seed: dpb_init refused %s\n", name);
        return 1;
    }
    b.producer_pid = 4242;
    b.generation = 2;
    b.latest = latest;
    return write_file(dir, name, &b, sizeof(b));
}

/* s (ASCII, '|' for a NUL between two strings) as 16-bit units. */
static int write_name(const char *dir, const char *name, const char *s)
{
    unsigned char buf[512];
    size_t n = strlen(s), i;
    if (2 * n > sizeof(buf))
        return 1;
    for (i = 0; i < n; i++) {
        buf[2 * i] = s[i] == '|' ? 0 : (unsigned char)s[i];
        buf[2 * i + 1] = 0;
    }
    return write_file(dir, name, buf, 2 * n);
}

int main(int argc, char **argv)
{
    int bad = 0;
    if (argc != 2) {
        fprintf(stderr, "usage: make_seed DIR\n");
        return 2;
    }
    bad |= write_block(argv[1], "seed-block-video", 640, 360, 0, 1, DPB_TRANSPORT_HOST, 0, 1);
    bad |= write_block(argv[1], "seed-block-half-3slots", 96, 64, 2, 3, DPB_TRANSPORT_HOST, dpb_pack_latest(7, 2), 0);
    bad |= write_block(argv[1], "seed-block-float-8slots", 16384, 16384, 1, 8, DPB_TRANSPORT_GPU,
                       dpb_pack_latest(1000, 7), 0);
    bad |= write_name(argv[1], "seed-name-base", "engine");
    bad |= write_name(argv[1], "seed-name-base-64",
                      "a234567890123456789012345678901234567890123456789012345678901234");
    bad |= write_name(argv[1], "seed-name-legacy", "Local\\MyTexture|Global\\MyFence");
    bad |= write_name(argv[1], "seed-name-legacy-plain", "Tex|Fence");
    return bad;
}
