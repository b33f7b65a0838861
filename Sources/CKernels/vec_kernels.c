/* Dispatch of vec_kernels.h: the body (vec_kernels_body.h) is compiled once per CPU path and
   each entry point calls the variant of the path in force (cpu_path.h). */
#include "vec_kernels.h"
#include "cpu_path.h"
#include <math.h>
#include <string.h>

typedef float vf __attribute__((vector_size(64)));
typedef int32_t vi __attribute__((vector_size(64)));
typedef uint16_t vu16 __attribute__((vector_size(32)));
typedef _Float16 vh __attribute__((vector_size(32)));

#define TGT
#define SUFFIX portable
#define HAS_F16C 0
#include "vec_kernels_body.h"
#undef TGT
#undef SUFFIX
#undef HAS_F16C

#if defined(__x86_64__)
#define TGT __attribute__((target("avx2,fma,f16c")))
#define SUFFIX avx2
#define HAS_F16C 1
#include "vec_kernels_body.h"
#undef TGT
#undef SUFFIX
#undef HAS_F16C

#define TGT __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c")))
#define SUFFIX avx512
#define HAS_F16C 1
#include "vec_kernels_body.h"
#undef TGT
#undef SUFFIX
#undef HAS_F16C

#define DISPATCH(name, ...)                                              \
    switch (vlm_cpu_path()) {                                            \
    case VLM_PATH_AVX512: return name##_avx512(__VA_ARGS__);             \
    case VLM_PATH_AVX2: return name##_avx2(__VA_ARGS__);                 \
    default: return name##_portable(__VA_ARGS__);                        \
    }
#else
#define DISPATCH(name, ...) return name##_portable(__VA_ARGS__);
#endif

void vlm_f16_to_f32(const uint16_t *src, float *dst, size_t n) { DISPATCH(f16_to_f32, src, dst, n) }
void vlm_f32_to_f16(const float *src, uint16_t *dst, size_t n) { DISPATCH(f32_to_f16, src, dst, n) }
float vlm_dot_f32(const float *a, const float *b, size_t n) { DISPATCH(dot, a, b, n) }
void vlm_axpy_f32(float a, const float *x, float *y, size_t n) { DISPATCH(axpy, a, x, y, n) }
void vlm_add_f32(float *dst, const float *src, size_t n) { DISPATCH(add, dst, src, n) }
float vlm_exp_sum(float *x, size_t n, float m) { DISPATCH(exp_sum, x, n, m) }
void vlm_softmax(float *x, size_t n) { DISPATCH(softmax, x, n) }
void vlm_activation(int kind, float *x, size_t n) { DISPATCH(activation, kind, x, n) }
void vlm_activation_gated(int kind, float *gate, const float *up, size_t n) { DISPATCH(activation_gated, kind, gate, up, n) }
void vlm_rmsnorm(const float *x, float *y, size_t rows, size_t width, const float *w, float eps, float offset) {
    DISPATCH(rmsnorm, x, y, rows, width, w, eps, offset)
}
void vlm_layernorm(const float *x, float *y, size_t rows, size_t width, const float *w, const float *b, float eps) {
    DISPATCH(layernorm, x, y, rows, width, w, b, eps)
}
void vlm_attend(const float *q, size_t group, size_t head_dim, const void *keys, const void *values,
                int is_f16, size_t row_stride, size_t lo, size_t hi, float scale, float *scores,
                float *out, float *m_out, float *s_out, int normalize) {
    DISPATCH(attend, q, group, head_dim, keys, values, is_f16, row_stride, lo, hi, scale, scores, out, m_out, s_out, normalize)
}
