/*
 * pngio.c - PNG reading and writing for the examples (see pngio.h).
 */
#include "pngio.h"

#include <stdio.h>
#include <stdlib.h>

/* stb is third-party code, compiled here with its own warnings left to it. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wall"
#pragma GCC diagnostic ignored "-Wextra"
#pragma GCC diagnostic ignored "-Wconversion"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wtype-limits"
#define STBI_WRITE_NO_STDIO
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include "stb_image_write.h"
#define STBI_NO_STDIO
#define STBI_ONLY_PNG
#define STB_IMAGE_IMPLEMENTATION
#include "stb_image.h"
#pragma GCC diagnostic pop

typedef struct {
    FILE *f;
    bool ok;
} png_sink;

static void png_put(void *ctx, void *data, int size)
{
    png_sink *s = ctx;
    if (size > 0 && fwrite(data, 1, (size_t)size, s->f) != (size_t)size)
        s->ok = false;
}

bool png_write_rgba(const wchar_t *path, int width, int height, const uint8_t *pixels, int pitch)
{
    png_sink s = {_wfopen(path, L"wb"), true};
    if (!s.f)
        return false;
    if (!stbi_write_png_to_func(png_put, &s, width, height, 4, pixels, pitch))
        s.ok = false;
    if (fclose(s.f) != 0)
        s.ok = false;
    if (!s.ok)
        _wremove(path);
    return s.ok;
}

uint8_t *png_read_rgba(const wchar_t *path, int *width, int *height, const char **why)
{
    FILE *f = _wfopen(path, L"rb");
    uint8_t *file = NULL, *pixels = NULL;
    long size;
    int comp = 0;
    *why = NULL;
    if (!f) {
        *why = "cannot open the file";
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) <= 0 || size > 1l << 30 || fseek(f, 0, SEEK_SET) != 0) {
        *why = "cannot size the file";
    } else if (!(file = malloc((size_t)size))) {
        *why = "out of memory";
    } else if (fread(file, 1, (size_t)size, f) != (size_t)size) {
        *why = "cannot read the file";
    } else if (!(pixels = stbi_load_from_memory(file, (int)size, width, height, &comp, 4))) {
        *why = stbi_failure_reason();
    }
    fclose(f);
    free(file);
    return pixels;
}
