// Float products at bfloat16 precision for the vision encoders' linear layers, on CPUs with
// AVX-512-BF16 (vdpbf16ps: 32 multiply-adds per instruction, twice float32's FMA). Weights are
// rounded to bf16 once, at load, into a packed layout (half of float32's memory); activations
// are rounded per call; products accumulate in float32. Opt-in (`--vision-bf16`): the cost is
// bf16's 8-bit mantissa on both operands, measured against float32 in docs/PERFORMANCE.md.
#ifndef VLM_GEMM_BF16_H
#define VLM_GEMM_BF16_H
#include <stddef.h>
#include <stdint.h>

/// Whether the path in force has the bf16 GEMM (AVX-512 with AVX512_BF16).
int vlm_gemm_bf16_supports(void);

/// uint16 elements of the packed form of an [n x k] matrix.
size_t vlm_bf16_packed_count(size_t n, size_t k);

/// Packs W[n x k] (row-major floats, one output feature per row), rounded to nearest even, into
/// tiles of 32 rows with k in pairs (zero-padded to whole tiles and an even k).
void vlm_bf16_pack(const float *w, size_t n, size_t k, uint16_t *packed);

/// y[i * ldy + j] = Σ_c x[i * ldx + c] W[j][c] for i < m, j < n, with x rounded to bf16.
/// Returns 0, computing nothing, when the path has no bf16 GEMM.
int vlm_gemm_bf16(const uint16_t *packed, size_t n, size_t k, const float *x, size_t m, size_t ldx,
                  float *y, size_t ldy);
#endif
