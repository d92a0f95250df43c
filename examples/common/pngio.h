/*
 * pngio.h - PNG files of RGBA8 pixels for the examples, over Debian's stb headers
 * (libstb-dev: stb_image_write.h and stb_image.h). Paths are wide (_wfopen).
 */
#ifndef PNGIO_H
#define PNGIO_H

#include <stdbool.h>
#include <stdint.h>
#include <wchar.h>

/* Writes width x height RGBA8 pixels, rows `pitch` bytes apart, the first row at the
 * top of the picture. false on failure. */
bool png_write_rgba(const wchar_t *path, int width, int height, const uint8_t *pixels, int pitch);
/* Reads a PNG as tightly packed RGBA8, top row first; malloc'd (free()), NULL on
 * failure with the reason in *why (static text). */
uint8_t *png_read_rgba(const wchar_t *path, int *width, int *height, const char **why);

#endif /* PNGIO_H */
