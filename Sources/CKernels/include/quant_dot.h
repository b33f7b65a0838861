// Decode-path dot products between quantized weight rows and an 8-bit quantized activation
// vector, the scheme llama.cpp uses: x is quantized once per mat-vec into blocks of 32 int8
// values with a float scale, and each weight block's dot product is computed in integers.
// Written in C because Swift cannot express the AVX2 byte multiply-add (vpmaddubsw) these
// kernels are built on. The path (portable, AVX2, AVX-512 VNNI) is chosen at run time (cpu_path.h).
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
enum { VLM_Q4_0 = 2, VLM_Q4_1 = 3, VLM_Q5_0 = 6, VLM_Q8_0 = 8, VLM_Q4_K = 12, VLM_Q6_K = 14 };

/// Whether `type` has a kernel here. Rows of K-quants (Q4_K, Q6_K) are multiples of 256.
int vlm_quant_dot_supports(int type);

/// Quantizes n floats (a multiple of 32) into n/32 blocks.
void vlm_quantize_q8(const float *x, size_t n, vlm_q8_block *out);

/// y[r] = dot(row r, x) for r in [row_begin, row_end); rows are `row_bytes` apart from `w`.
/// `force_portable` selects the plain-C path whatever the CPU path (tests compare the two).
void vlm_matvec_q8(int type, const void *w, size_t row_bytes, size_t row_begin, size_t row_end,
                   size_t cols, const vlm_q8_block *x, float *y, int force_portable);

/// y[r] = dot(row r, x) with x in float: weights are widened in registers and multiplied in
/// float, so the result equals a float dot of the dequantized row (up to summation order).
void vlm_matvec_f32(int type, const void *w, size_t row_bytes, size_t row_begin, size_t row_end,
                    size_t cols, const float *x, float *y, int force_portable);

/// One 32-value block of activations rounded to 16 bits: x[i] ~= d * qs[i], d = amax / 32767.
/// For the output head, where 8-bit activations could decide a near-tie between the top logits:
/// the rounding here is 1/32767 of each block's largest value (relative ~1.5e-5), far below any
/// logit gap that matters, and the products stay in integers.
typedef struct {
    float d;
    float s; /* d * sum(qs), for weight types with an offset (Q4_1's min) */
    int16_t qs[32];
} vlm_q16_block;

/// Whether `type` has a 16-bit-activation kernel (Q8_0).
int vlm_q16_supports(int type);

/// Rounds n floats (a multiple of 32) to n/32 blocks.
void vlm_quantize_q16(const float *x, size_t n, vlm_q16_block *out);

/// y[r] = dot(row r, x) with x in 16-bit blocks, for Q8_0 rows.
void vlm_matvec_q16(int type, const void *w, size_t row_bytes, size_t row_begin, size_t row_end,
                    size_t cols, const vlm_q16_block *x, float *y, int force_portable);
#endif
