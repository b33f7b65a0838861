#include "png_shim.h"
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <png.h>

/* The error callback's context: where to jump, the message buffer, and the in-memory source. */
struct shim_state {
    jmp_buf jump;
    char *message;
    size_t message_size;
    const unsigned char *data;
    size_t size, pos;
};

/* libpng aborts the process if the error callback returns, so it must longjmp. */
static void shim_error(png_structp png, png_const_charp text) {
    struct shim_state *s = (struct shim_state *)png_get_error_ptr(png);
    snprintf(s->message, s->message_size, "%s", text);
    longjmp(s->jump, 1);
}

/* Warnings (bad ancillary chunks, known-incorrect sRGB profiles) lose no pixels: stay quiet. */
static void shim_warning(png_structp png, png_const_charp text) { (void)png; (void)text; }

static void shim_read(png_structp png, png_bytep out, size_t count) {
    struct shim_state *s = (struct shim_state *)png_get_io_ptr(png);
    if (count > s->size - s->pos) png_error(png, "truncated PNG data");
    memcpy(out, s->data + s->pos, count);
    s->pos += count;
}

/* One decoded row (after libpng's expansion transforms) to RGB. */
static void row_to_rgb(const unsigned char *row, unsigned char *out, size_t width, int channels,
                       int gray16) {
    for (size_t x = 0; x < width; x++) {
        unsigned char *o = out + 3 * x;
        if (gray16) {                                /* PIL: I;16 -> RGB clips at 255 */
            unsigned v = ((unsigned)row[2 * x] << 8) | row[2 * x + 1];
            o[0] = o[1] = o[2] = (unsigned char)(v > 255 ? 255 : v);
        } else if (channels <= 2) {                  /* grey, grey + alpha */
            o[0] = o[1] = o[2] = row[channels * x];
        } else {                                     /* RGB, RGBA */
            memcpy(o, row + (size_t)channels * x, 3);
        }
    }
}

/* Header only when rgb is NULL; otherwise a full decode into rgb. */
static int decode(const unsigned char *data, size_t size, int *width, int *height,
                  unsigned char *rgb, char *message, size_t message_size) {
    struct shim_state s;
    s.message = message; s.message_size = message_size; s.data = data; s.size = size; s.pos = 0;
    if (size < 8 || png_sig_cmp(data, 0, 8) != 0) {
        snprintf(message, message_size, "not a PNG file");
        return 1;
    }
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &s, shim_error, shim_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        snprintf(message, message_size, "out of memory");
        png_destroy_read_struct(&png, NULL, NULL);
        return 3;
    }
    /* Assigned after setjmp and freed after a longjmp, so it must live in memory (C11 7.13.2.1). */
    unsigned char *volatile buffer = NULL;
    if (setjmp(s.jump)) {
        png_destroy_read_struct(&png, &info, NULL);
        free(buffer);
        return 1;
    }
    png_set_read_fn(png, &s, shim_read);
    png_read_info(png, info);
    png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    if (!rgb) {
        *width = (int)w; *height = (int)h;           /* libpng caps both at 2^31 - 1 */
        png_destroy_read_struct(&png, &info, NULL);
        return 0;
    }
    if ((int)w != *width || (int)h != *height) png_error(png, "image size changed between header and decode");

    int depth = png_get_bit_depth(png, info), type = png_get_color_type(png, info);
    int gray16 = depth == 16 && type == PNG_COLOR_TYPE_GRAY;
    /* Only expansions are requested: no gamma, background, sBIT shift or alpha handling. */
    if (type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);   /* RGB, or RGBA with tRNS */
    if (type == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (depth == 16 && !gray16) png_set_strip_16(png);                 /* keeps the high byte */
    int passes = png_set_interlace_handling(png);
    png_read_update_info(png, info);
    int channels = png_get_channels(png, info), out_depth = png_get_bit_depth(png, info);
    size_t rowbytes = png_get_rowbytes(png, info);
    if (channels < 1 || channels > 4 || out_depth != (gray16 ? 16 : 8)
        || rowbytes != (size_t)w * (size_t)channels * (size_t)(out_depth / 8))
        png_error(png, "unexpected row layout after expansion");

    /* Interlaced images fill every row over 7 passes, so keep them all; otherwise one row. */
    size_t rows = passes > 1 ? h : 1;
    unsigned char *rowbuf = (unsigned char *)malloc(rowbytes * rows);
    buffer = rowbuf;
    if (!rowbuf) png_error(png, "out of memory");
    if (passes == 1) {
        for (png_uint_32 y = 0; y < h; y++) {
            png_read_row(png, rowbuf, NULL);
            row_to_rgb(rowbuf, rgb + (size_t)y * w * 3, w, channels, gray16);
        }
    } else {
        for (int p = 0; p < passes; p++)
            for (png_uint_32 y = 0; y < h; y++) png_read_row(png, rowbuf + (size_t)y * rowbytes, NULL);
        for (png_uint_32 y = 0; y < h; y++)
            row_to_rgb(rowbuf + (size_t)y * rowbytes, rgb + (size_t)y * w * 3, w, channels, gray16);
    }
    /* Chunks after the image data (text, IEND) are not read: PIL also accepts a missing IEND. */
    png_destroy_read_struct(&png, &info, NULL);
    free(rowbuf);
    return 0;
}

int vlm_png_read_header(const unsigned char *data, size_t size, int *width, int *height,
                        char *message, size_t message_size) {
    return decode(data, size, width, height, NULL, message, message_size);
}

int vlm_png_decode_rgb(const unsigned char *data, size_t size, unsigned char *rgb,
                       int width, int height, char *message, size_t message_size) {
    return decode(data, size, &width, &height, rgb, message, message_size);
}
