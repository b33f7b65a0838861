// Decode-path dot products between quantized weight rows and an 8-bit quantized activation
// vector, the scheme llama.cpp uses: x is quantized once per mat-vec into blocks of 32 int8
// values with a float scale, and each weight block's dot product is computed in integers.
// Written in C because Swift cannot express the AVX2 byte multiply-add (vpmaddubsw) these
// kernels are built on. The AVX2 path is chosen at run time; a portable path runs elsewhere.
#ifndef VLM_QUANT_DOT_H
#define VLM_QUANT_DOT_H
#include <stddef.h>
#include <stdint.h>

/// One 32-value block of the quantized activation: x[i] ~= d * qs[i]; s = d * sum(qs).
typedef struct {
    float d;
    float s;
    int8_t qs[32];
} vlm_q8_block;

/// ggml type ids this file accelerates (the values of ggml's enum).
enum { VLM_Q4_0 = 2, VLM_Q4_1 = 3, VLM_Q5_0 = 6, VLM_Q8_0 = 8 };

/// Whether `type` has a kernel here.
int vlm_quant_dot_supports(int type);

/// Quantizes n floats (a multiple of 32) into n/32 blocks.
void vlm_quantize_q8(const float *x, size_t n, vlm_q8_block *out);

/// y[r] = dot(row r, x) for r in [row_begin, row_end); rows are `row_bytes` apart from `w`.
/// `force_portable` selects the plain-C path even on AVX2 machines (tests compare the two).
void vlm_matvec_q8(int type, const void *w, size_t row_bytes, size_t row_begin, size_t row_end,
                   size_t cols, const vlm_q8_block *x, float *y, int force_portable);

/// y[r] = dot(row r, x) with x in float: weights are widened in registers and multiplied in
/// float, so the result equals a float dot of the dequantized row (up to summation order).
void vlm_matvec_f32(int type, const void *w, size_t row_bytes, size_t row_begin, size_t row_end,
                    size_t cols, const float *x, float *y, int force_portable);
#endif
