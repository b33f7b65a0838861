// Float kernels of the decoders and encoders outside the matrix products: half-precision
// conversion, dot and axpy, the exponential and softmax, activations, norms, and one attention
// job over cached keys and values. Written once with 16-lane vector types and compiled for each
// CPU path (portable, AVX2, AVX-512); the path is chosen at run time (cpu_path.h), so a binary
// built anywhere runs at the width of the CPU it is on.
#ifndef VLM_VEC_KERNELS_H
#define VLM_VEC_KERNELS_H
#include <stddef.h>
#include <stdint.h>

void vlm_f16_to_f32(const uint16_t *src, float *dst, size_t n);
/// Round to nearest even, as Float16(x) does.
void vlm_f32_to_f16(const float *src, uint16_t *dst, size_t n);

float vlm_dot_f32(const float *a, const float *b, size_t n);
/// y += a * x.
void vlm_axpy_f32(float a, const float *x, float *y, size_t n);
/// dst += src.
void vlm_add_f32(float *dst, const float *src, size_t n);

/// x[i] = e^(x[i] - m) in place, returning the sum: Cephes' range reduction and degree-6
/// polynomial, relative error about 2e-7 against libm over [-87.3, 88.7] (clamped outside).
float vlm_exp_sum(float *x, size_t n, float m);
/// Numerically stable softmax in place (the exponential above).
void vlm_softmax(float *x, size_t n);

/// Activation kinds (Activation in Swift): silu, gelu with tanh, exact gelu (erf), quick gelu.
enum { VLM_ACT_SILU = 0, VLM_ACT_GELU_TANH = 1, VLM_ACT_GELU = 2, VLM_ACT_QUICK_GELU = 3 };
void vlm_activation(int kind, float *x, size_t n);
/// gate[i] = act(gate[i]) * up[i].
void vlm_activation_gated(int kind, float *gate, const float *up, size_t n);

/// y = x / sqrt(mean(x^2) + eps) * (w + offset), row by row (y may be x).
void vlm_rmsnorm(const float *x, float *y, size_t rows, size_t width, const float *w, float eps, float offset);
/// y = (x - mean) / sqrt(var + eps) * w + b (biased variance; b may be NULL; y may be x).
void vlm_layernorm(const float *x, float *y, size_t rows, size_t width, const float *w, const float *b, float eps);

/// One attention job: `group` query heads of `head_dim` (contiguous in q) against cached rows
/// [lo, hi) of one kv head, whose keys and values are `row_stride` elements apart and stored as
/// float16 (`is_f16`) or float32. `scores` is scratch of group * (hi - lo) floats.
/// With `normalize`, out = softmax(q K^T * scale) V. Without, out holds the unnormalised sum
/// Σ e^(s_j - m) v_j and m_out/s_out each group's max score and Σ e^(s_j - m): the partials of a
/// split over positions, merged by the caller.
void vlm_attend(const float *q, size_t group, size_t head_dim, const void *keys, const void *values,
                int is_f16, size_t row_stride, size_t lo, size_t hi, float scale, float *scores,
                float *out, float *m_out, float *s_out, int normalize);
#endif
