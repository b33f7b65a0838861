/* The per-path variants behind quant_dot.h (quant_dot.c dispatches between them), and the
   block layouts and f16 reads they share. Private to CKernels. */
#ifndef VLM_QUANT_DOT_PATHS_H
#define VLM_QUANT_DOT_PATHS_H
#include "quant_dot.h"
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
/* The sum of 8 float lanes (every x86 kernel file's row epilogue; AVX2 is the least they need). */
__attribute__((target("avx2,fma,f16c"))) static inline float vlm_hsum256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
#endif

static inline uint16_t vlm_read_u16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static inline uint32_t vlm_read_u32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }

typedef void (*vlm_matvec_q8_fn)(int type, const uint8_t *w, size_t row_bytes, size_t r0, size_t r1,
                                 size_t cols, const vlm_q8_block *x, float *y);
typedef void (*vlm_matvec_f32_fn)(int type, const uint8_t *w, size_t row_bytes, size_t r0, size_t r1,
                                  size_t cols, const float *x, float *y);

void vlm_matvec_q8_portable(int type, const uint8_t *w, size_t row_bytes, size_t r0, size_t r1,
                            size_t cols, const vlm_q8_block *x, float *y);
void vlm_matvec_f32_portable(int type, const uint8_t *w, size_t row_bytes, size_t r0, size_t r1,
                             size_t cols, const float *x, float *y);
void vlm_quantize_q8_portable(const float *x, size_t n, vlm_q8_block *out);

void vlm_matvec_q16_portable(const uint8_t *w, size_t row_bytes, size_t r0, size_t r1,
                             size_t cols, const vlm_q16_block *x, float *y);
void vlm_quantize_q16_portable(const float *x, size_t n, vlm_q16_block *out);

/* quant_dot_k.c: Q4_K and Q6_K. */
static inline int vlm_is_k_type(int type) { return type == VLM_Q4_K || type == VLM_Q6_K; }
void vlm_matvec_q8_k_portable(int type, const uint8_t *w, size_t row_bytes, size_t r0, size_t r1,
                              size_t cols, const vlm_q8_block *x, float *y);
void vlm_matvec_f32_k(int type, const uint8_t *w, size_t row_bytes, size_t r0, size_t r1,
                      size_t cols, const float *x, float *y);

#if defined(__x86_64__)
void vlm_matvec_q8_k_avx2(int type, const uint8_t *w, size_t row_bytes, size_t r0, size_t r1,
                          size_t cols, const vlm_q8_block *x, float *y);
void vlm_matvec_q8_k_avx512(int type, const uint8_t *w, size_t row_bytes, size_t r0, size_t r1,
                            size_t cols, const vlm_q8_block *x, float *y);
void vlm_matvec_q16_avx2(const uint8_t *w, size_t row_bytes, size_t r0, size_t r1,
                         size_t cols, const vlm_q16_block *x, float *y);
void vlm_matvec_q16_avx512(const uint8_t *w, size_t row_bytes, size_t r0, size_t r1,
                           size_t cols, const vlm_q16_block *x, float *y);
void vlm_matvec_q8_avx2(int type, const uint8_t *w, size_t row_bytes, size_t r0, size_t r1,
                        size_t cols, const vlm_q8_block *x, float *y);
void vlm_matvec_f32_avx2(int type, const uint8_t *w, size_t row_bytes, size_t r0, size_t r1,
                         size_t cols, const float *x, float *y);
void vlm_quantize_q8_avx2(const float *x, size_t n, vlm_q8_block *out);
void vlm_matvec_q8_avx512(int type, const uint8_t *w, size_t row_bytes, size_t r0, size_t r1,
                          size_t cols, const vlm_q8_block *x, float *y);
void vlm_matvec_f32_avx512(int type, const uint8_t *w, size_t row_bytes, size_t r0, size_t r1,
                           size_t cols, const float *x, float *y);
#endif
#endif
