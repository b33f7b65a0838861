// A small C layer over libjpeg for the one thing Swift cannot do: libjpeg reports fatal errors
// by calling error_exit, which by default ends the process; recovering needs setjmp/longjmp.
// These functions return 0 on success and a non-zero code with a message on any error.
#ifndef VLM_JPEG_SHIM_H
#define VLM_JPEG_SHIM_H
#include <stddef.h>

/// Reads the header only: width, height and component count, without decoding.
int vlm_jpeg_read_header(const unsigned char *data, size_t size, int *width, int *height,
                         int *components, char *message, size_t message_size);

/// Decodes to 8-bit RGB (grayscale replicated, CMYK/YCCK converted as PIL does) into `rgb`,
/// which must hold width*height*3 bytes of the header's size. Baseline and progressive.
int vlm_jpeg_decode_rgb(const unsigned char *data, size_t size, unsigned char *rgb,
                        int width, int height, char *message, size_t message_size);
#endif
