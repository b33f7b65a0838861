// A small C layer over libpng's full reading API, for the one thing Swift cannot do: libpng
// reports errors by longjmp from its error callback. The full API (rather than the simplified
// png_image one) is needed to match PIL's convert("RGB") exactly: png_image applies the file's
// gAMA to 8-bit data and rounds 16-bit samples, where PIL ignores gAMA and keeps the high byte.
// Functions return 0 on success and a non-zero code with a one-line message on any error.
#ifndef VLM_PNG_SHIM_H
#define VLM_PNG_SHIM_H
#include <stddef.h>

/// Reads the signature and chunks up to the image data: width and height only.
int vlm_png_read_header(const unsigned char *data, size_t size, int *width, int *height,
                        char *message, size_t message_size);

/// Decodes to 8-bit RGB into `rgb` (width*height*3 bytes of the header's size), as PIL's
/// Image.open(...).convert("RGB"): palette expanded, grey replicated, alpha and tRNS dropped
/// (not composited), 16-bit samples reduced to their high byte except 16-bit grey, which PIL
/// opens as "I;16" and clips at 255; no gamma, sBIT or colour-profile transform. Interlaced or not.
int vlm_png_decode_rgb(const unsigned char *data, size_t size, unsigned char *rgb,
                       int width, int height, char *message, size_t message_size);
#endif
