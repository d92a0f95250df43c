/*
 * framestamp.h - the machine-readable marks the example engine draws into every frame,
 * and their decoder (used by the viewer and the tests to check what arrived).
 *
 * Three rows of FS_BLOCK x FS_BLOCK blocks, counted in image rows from the TOP:
 *
 *   rows [0, 4)          red marker block, then 32 blocks: the frame number (bit 0
 *                        first), then 32 blocks: its complement
 *   rows [4, 8)          green marker block, then 64 blocks: the engine's
 *                        QueryPerformanceCounter value when it began drawing the frame
 *   rows [h - 4, h)      blue marker block, then the frame number and its complement
 *                        again (a frame torn between two frames disagrees top to bottom)
 *
 * A 1 bit is a white block, a 0 bit a black one. A picture upside down has the blue
 * marker at the top: that is reported as FS_FLIPPED. The marks need a frame at least
 * FS_MIN_WIDTH x FS_MIN_HEIGHT; the engine leaves them out of smaller frames.
 *
 * Plain C, no Win32: the decoder works on rows of RGBA8 pixels.
 */
#ifndef FRAMESTAMP_H
#define FRAMESTAMP_H

#include <stdint.h>

#define FS_BLOCK 4
#define FS_BLOCKS 65 /* marker + 64 bits */
#define FS_MIN_WIDTH (FS_BLOCKS * FS_BLOCK)
#define FS_MIN_HEIGHT (4 * FS_BLOCK)

/* Image rows (from the top) whose pixels fs_decode reads: the middle of each block row. */
#define FS_ROW_FRAME (FS_BLOCK / 2)
#define FS_ROW_TIME (FS_BLOCK + FS_BLOCK / 2)
#define FS_ROW_BOTTOM(h) ((h) - FS_BLOCK + FS_BLOCK / 2)

typedef enum {
    FS_OK = 0,
    FS_TOO_SMALL,  /* the frame is smaller than FS_MIN_WIDTH x FS_MIN_HEIGHT */
    FS_NO_MARKER,  /* no marks where they belong: not an engine frame, or mangled */
    FS_FLIPPED,    /* the marks are there, upside down */
    FS_BAD_NUMBER, /* a number and its complement disagree: damaged pixels */
    FS_TORN        /* top and bottom carry different frame numbers */
} fs_status;

typedef struct {
    uint32_t frame;
    int64_t time; /* the engine's QueryPerformanceCounter ticks */
} fs_stamp;

static inline const char *fs_status_string(fs_status s)
{
    switch (s) {
    case FS_OK: return "ok";
    case FS_TOO_SMALL: return "frame too small for the marks";
    case FS_NO_MARKER: return "no frame marks";
    case FS_FLIPPED: return "picture upside down";
    case FS_BAD_NUMBER: return "frame number damaged";
    case FS_TORN: return "torn frame (top and bottom differ)";
    }
    return "?";
}

/* Which marker (0 red, 1 green, 2 blue) the pixel px is; -1 if none. */
static inline int fs_marker_of(const uint8_t *px)
{
    static const uint8_t FS_MARKER[3][3] = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}};
    for (int m = 0; m < 3; m++) {
        int match = 1;
        for (int c = 0; c < 3; c++) {
            int d = (int)px[c] - (int)FS_MARKER[m][c];
            if (d < -48 || d > 48)
                match = 0;
        }
        if (match)
            return m;
    }
    return -1;
}

/* The 64 bits of a row of RGBA8 pixels (the row's leftmost pixel first). */
static inline uint64_t fs_row_bits(const uint8_t *row)
{
    uint64_t v = 0;
    for (int i = 0; i < 64; i++) {
        const uint8_t *px = row + 4 * ((1 + i) * FS_BLOCK + FS_BLOCK / 2);
        if ((int)px[0] + px[1] + px[2] > 3 * 127)
            v |= 1ull << i;
    }
    return v;
}

/* Decodes a frame's marks from its three rows FS_ROW_FRAME, FS_ROW_TIME and
 * FS_ROW_BOTTOM(height) (RGBA8 pixels, at least FS_MIN_WIDTH of them each). */
static inline fs_status fs_decode(const uint8_t *row_frame, const uint8_t *row_time, const uint8_t *row_bottom,
                                  int width, int height, fs_stamp *out)
{
    const uint8_t *m0 = row_frame + 4 * (FS_BLOCK / 2);
    uint64_t top, bottom;
    if (width < FS_MIN_WIDTH || height < FS_MIN_HEIGHT)
        return FS_TOO_SMALL;
    if (fs_marker_of(m0) == 2 && fs_marker_of(row_bottom + 4 * (FS_BLOCK / 2)) == 0)
        return FS_FLIPPED;
    if (fs_marker_of(m0) != 0 || fs_marker_of(row_time + 4 * (FS_BLOCK / 2)) != 1 ||
        fs_marker_of(row_bottom + 4 * (FS_BLOCK / 2)) != 2)
        return FS_NO_MARKER;
    top = fs_row_bits(row_frame);
    bottom = fs_row_bits(row_bottom);
    if ((uint32_t)top != (uint32_t)~(top >> 32) || (uint32_t)bottom != (uint32_t)~(bottom >> 32))
        return FS_BAD_NUMBER;
    if ((uint32_t)top != (uint32_t)bottom)
        return FS_TORN;
    out->frame = (uint32_t)top;
    out->time = (int64_t)fs_row_bits(row_time);
    return FS_OK;
}

#endif /* FRAMESTAMP_H */
