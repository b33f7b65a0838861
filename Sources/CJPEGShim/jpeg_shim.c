#include "jpeg_shim.h"
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <jpeglib.h>
#include <jerror.h>  /* the JWRN_* message codes */

struct shim_error {
    struct jpeg_error_mgr base;
    jmp_buf jump;
};

static void shim_error_exit(j_common_ptr cinfo) {
    struct shim_error *err = (struct shim_error *)cinfo->err;
    longjmp(err->jump, 1);
}

/* Warnings (e.g. "premature end of JPEG file", "bad Huffman code") do not stop decoding in
   libjpeg, which fills the lost data with grey; treat them as errors instead of returning
   damaged pixels silently. The few warnings that lose no image data stay warnings, as in PIL:
   padding bytes between markers (common in camera files), an unknown Adobe transform code or
   JFIF revision. */
static void shim_emit_message(j_common_ptr cinfo, int level) {
    if (level >= 0) return;                      /* trace messages */
    switch (cinfo->err->msg_code) {
    case JWRN_EXTRANEOUS_DATA: case JWRN_ADOBE_XFORM: case JWRN_JFIF_MAJOR:
        cinfo->err->num_warnings++;
        return;
    default:
        longjmp(((struct shim_error *)cinfo->err)->jump, 1);
    }
}

static void copy_message(j_common_ptr cinfo, char *message, size_t size) {
    char buffer[JMSG_LENGTH_MAX];
    (*cinfo->err->format_message)(cinfo, buffer);
    snprintf(message, size, "%s", buffer);
}

int vlm_jpeg_read_header(const unsigned char *data, size_t size, int *width, int *height,
                         int *components, char *message, size_t message_size) {
    struct jpeg_decompress_struct cinfo;
    struct shim_error err;
    cinfo.err = jpeg_std_error(&err.base);
    err.base.error_exit = shim_error_exit;
    err.base.emit_message = shim_emit_message;
    if (setjmp(err.jump)) {
        copy_message((j_common_ptr)&cinfo, message, message_size);
        jpeg_destroy_decompress(&cinfo);
        return 1;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);
    *width = (int)cinfo.image_width;
    *height = (int)cinfo.image_height;
    *components = cinfo.num_components;
    jpeg_destroy_decompress(&cinfo);
    return 0;
}

int vlm_jpeg_decode_rgb(const unsigned char *data, size_t size, unsigned char *rgb,
                        int width, int height, char *message, size_t message_size) {
    struct jpeg_decompress_struct cinfo;
    struct shim_error err;
    /* Assigned after setjmp and freed after a longjmp, so it must live in memory (C11 7.13.2.1). */
    JSAMPROW volatile row = NULL;
    cinfo.err = jpeg_std_error(&err.base);
    err.base.error_exit = shim_error_exit;
    err.base.emit_message = shim_emit_message;
    if (setjmp(err.jump)) {
        copy_message((j_common_ptr)&cinfo, message, message_size);
        jpeg_destroy_decompress(&cinfo);
        free(row);
        return 1;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);
    if ((int)cinfo.image_width != width || (int)cinfo.image_height != height) {
        snprintf(message, message_size, "image size changed between header and decode");
        jpeg_destroy_decompress(&cinfo);
        return 2;
    }
    int cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
    int adobe_inverted = cmyk && cinfo.saw_Adobe_marker;
    if (cmyk) cinfo.out_color_space = JCS_CMYK;
    else if (cinfo.jpeg_color_space == JCS_GRAYSCALE) cinfo.out_color_space = JCS_GRAYSCALE;
    else cinfo.out_color_space = JCS_RGB;
    jpeg_start_decompress(&cinfo);
    int channels = cinfo.output_components;
    JSAMPROW line = (JSAMPROW)malloc((size_t)width * (size_t)channels);
    row = line;
    if (!line) { snprintf(message, message_size, "out of memory"); jpeg_destroy_decompress(&cinfo); return 3; }
    while (cinfo.output_scanline < cinfo.output_height) {
        unsigned char *out = rgb + (size_t)cinfo.output_scanline * (size_t)width * 3;
        jpeg_read_scanlines(&cinfo, &line, 1);
        for (int x = 0; x < width; x++) {
            if (channels == 1) {
                out[3 * x] = out[3 * x + 1] = out[3 * x + 2] = line[x];
            } else if (channels == 3) {
                memcpy(out + 3 * x, line + 3 * x, 3);
            } else {
                /* PIL reads Adobe CMYK JPEGs as inverted ("CMYK;I"), then converts with
                   R = (255 - K) - MULDIV255(C, 255 - K) (Pillow's cmyk2rgb). */
                int c = line[4 * x], m = line[4 * x + 1], y = line[4 * x + 2], k = line[4 * x + 3];
                if (adobe_inverted) { c = 255 - c; m = 255 - m; y = 255 - y; k = 255 - k; }
                int nk = 255 - k, t;
                t = c * nk + 128; out[3 * x] = (unsigned char)(nk - (((t >> 8) + t) >> 8));
                t = m * nk + 128; out[3 * x + 1] = (unsigned char)(nk - (((t >> 8) + t) >> 8));
                t = y * nk + 128; out[3 * x + 2] = (unsigned char)(nk - (((t >> 8) + t) >> 8));
            }
        }
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    free(row);
    return 0;
}
