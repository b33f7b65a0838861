// Prefill products on integer units: Y[t x n] = X[t x k] W^T with W in Q4_0 / Q4_1 / Q5_0 / Q8_0
// blocks and X rounded per row to 16-bit blocks (vlm_q16_block, relative 1.5e-5: the output
// head's precision). On AVX-512 VNNI, vpdpwssd multiplies 32 weight-activation pairs per
// instruction, twice the float FMA's 16, so this replaces dequantize-and-sgemm there; other
// paths keep the float GEMM.
//
// Why not 8-bit activations, as llama.cpp's prefill uses and as vlm's decode does: measured on
// the pinned SmolLM2 prompt, 8-bit prefill moved the top two logits by 0.7 and flipped the first
// token of "The capital of France is Paris." (25.33 vs 25.24 in float; 24.61 vs 24.64 in
// 8-bit). 16-bit activations keep prefill float-grade at about 60% of the 8-bit kernel's speed.
#ifndef VLM_GEMM_Q16_H
#define VLM_GEMM_Q16_H
#include "quant_dot.h"

/// Whether the path in force has an integer GEMM for `type`.
int vlm_gemm_q16_supports(int type);

/// y[i * ldy + r] = dot(row r of w, row i of x) for rows r in [r0, r1) and tokens i < t, where
/// x holds t rows of cols / 32 blocks. Equal to vlm_matvec_q16 row by row up to float
/// summation order. Returns 0 (computing nothing) when the path has no kernel for `type`.
int vlm_gemm_q16(int type, const void *w, size_t row_bytes, size_t r0, size_t r1, size_t cols,
                 const vlm_q16_block *x, size_t t, float *y, size_t ldy);
#endif
