/* quant_dot.h for the K-quants Q4_K and Q6_K (256-value super-blocks; llama.cpp's Q4_K_M files
   mix them with Q5_0 and Q8_0): each 32-value sub-block meets one activation block, so the
   same 8-bit activations (vlm_q8_block) serve every type.

     Q4_K: w = d * sc_j * q - dmin * m_j, q 4-bit, (sc_j, m_j) 6-bit per 32 values, so
           dot_j = d sc_j dx Σ q qx - dmin m_j s  (s = dx Σ qx, stored with the block).
     Q6_K: w = d * sc_k * (q - 32), q 6-bit, sc_k int8 per 16 values, so per activation block
           dot = d dx (sc_a Σ_0..15 q qx + sc_b Σ_16..31 q qx) - 32 d dx (sc_a Σ_0..15 qx + sc_b Σ_16..31 qx);
           the half sums of qx are taken once per call.

   The portable, AVX2 and AVX-512 variants compute the same integer sums; only float
   summation order differs. Layouts and formulas follow ggml's dequantize_row_q4_K/q6_K. */
#include "quant_dot_paths.h"
#include "vec_kernels.h"
#include <stdlib.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

float vlm_f16_scalar(uint16_t h);

/* ggml's get_scale_min_k4: sub-block j's 6-bit scale and min from the 12 packed bytes. */
static inline void scale_min_k4(int j, const uint8_t *q, int *sc, int *m) {
    if (j < 4) { *sc = q[j] & 63; *m = q[j + 4] & 63; }
    else { *sc = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4); *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4); }
}

/* Q6_K's 6-bit value l (0..31) of group m (0..3) in the 128-value chunk at ql/qh. */
static inline int q6_value(const uint8_t *ql, const uint8_t *qh, int m, int l) {
    switch (m) {
    case 0: return (ql[l] & 0xF) | ((qh[l] & 3) << 4);
    case 1: return (ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4);
    case 2: return (ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4);
    default: return (ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4);
    }
}

/* ---- portable ----------------------------------------------------------------------------- */

static float q4k_row_portable(const uint8_t *p, size_t nsb, const vlm_q8_block *x) {
    float acc = 0;
    for (size_t sb = 0; sb < nsb; sb++, p += 144) {
        float d = vlm_f16_scalar(vlm_read_u16(p)), dmin = vlm_f16_scalar(vlm_read_u16(p + 2));
        const uint8_t *qs = p + 16;
        for (int j = 0; j < 8; j++) {
            int sc, m;
            scale_min_k4(j, p + 4, &sc, &m);
            const vlm_q8_block *xb = &x[8 * sb + j];
            const uint8_t *q = qs + 32 * (j / 2);
            int sum = 0;
            for (int l = 0; l < 32; l++) sum += ((j & 1) ? q[l] >> 4 : q[l] & 0xF) * xb->qs[l];
            acc += d * (float)sc * xb->d * (float)sum - dmin * (float)m * xb->s;
        }
    }
    return acc;
}

static float q6k_row_portable(const uint8_t *p, size_t nsb, const vlm_q8_block *x) {
    float acc = 0;
    for (size_t sb = 0; sb < nsb; sb++, p += 210) {
        const int8_t *sc = (const int8_t *)(p + 192);
        float d = vlm_f16_scalar(vlm_read_u16(p + 208));
        for (int c = 0; c < 2; c++) {
            const uint8_t *ql = p + 64 * c, *qh = p + 128 + 32 * c;
            for (int m = 0; m < 4; m++) {
                const vlm_q8_block *xb = &x[8 * sb + 4 * c + m];
                int lo = 0, hi = 0;
                for (int l = 0; l < 16; l++) lo += (q6_value(ql, qh, m, l) - 32) * xb->qs[l];
                for (int l = 16; l < 32; l++) hi += (q6_value(ql, qh, m, l) - 32) * xb->qs[l];
                acc += d * xb->d * (float)(sc[8 * c + 2 * m] * lo + sc[8 * c + 2 * m + 1] * hi);
            }
        }
    }
    return acc;
}

/* Dequantized rows for the float-activation path (ggml's reference order). */
static void dequantize_k_row(int type, const uint8_t *p, size_t nsb, float *y) {
    for (size_t sb = 0; sb < nsb; sb++) {
        if (type == VLM_Q4_K) {
            const uint8_t *b = p + 144 * sb, *qs = b + 16;
            float d = vlm_f16_scalar(vlm_read_u16(b)), dmin = vlm_f16_scalar(vlm_read_u16(b + 2));
            for (int j = 0; j < 8; j++) {
                int sc, m;
                scale_min_k4(j, b + 4, &sc, &m);
                float dj = d * (float)sc, mj = dmin * (float)m;
                const uint8_t *q = qs + 32 * (j / 2);
                for (int l = 0; l < 32; l++) *y++ = dj * (float)((j & 1) ? q[l] >> 4 : q[l] & 0xF) - mj;
            }
        } else {
            const uint8_t *b = p + 210 * sb;
            const int8_t *sc = (const int8_t *)(b + 192);
            float d = vlm_f16_scalar(vlm_read_u16(b + 208));
            for (int c = 0; c < 2; c++)
                for (int m = 0; m < 4; m++)
                    for (int l = 0; l < 32; l++)
                        *y++ = d * (float)sc[8 * c + 2 * m + l / 16] * (float)(q6_value(b + 64 * c, b + 128 + 32 * c, m, l) - 32);
        }
    }
}

void vlm_matvec_f32_k(int type, const uint8_t *w, size_t row_bytes, size_t r0, size_t r1,
                      size_t cols, const float *x, float *y) {
    float stack[4096];
    float *row = cols <= 4096 ? stack : malloc(cols * sizeof(float));
    if (!row) return;
    for (size_t r = r0; r < r1; r++) {
        dequantize_k_row(type, w + r * row_bytes, cols / 256, row);
        y[r] = vlm_dot_f32(row, x, cols);
    }
    if (row != stack) free(row);
}

void vlm_matvec_q8_k_portable(int type, const uint8_t *w, size_t row_bytes, size_t r0, size_t r1,
                              size_t cols, const vlm_q8_block *x, float *y) {
    for (size_t r = r0; r < r1; r++)
        y[r] = type == VLM_Q4_K ? q4k_row_portable(w + r * row_bytes, cols / 256, x)
                                : q6k_row_portable(w + r * row_bytes, cols / 256, x);
}

/* Σ qx over each half (16 values) of each activation block, for Q6_K's -32 offset. */
static void half_sums(const vlm_q8_block *x, size_t nb, int *out) {
    for (size_t b = 0; b < nb; b++) {
        int lo = 0, hi = 0;
        for (int l = 0; l < 16; l++) { lo += x[b].qs[l]; hi += x[b].qs[l + 16]; }
        out[2 * b] = lo;
        out[2 * b + 1] = hi;
    }
}

/* ---- AVX2 and AVX-512 (the same code; the integer product is vpmaddubsw + vpmaddwd on AVX2
   and one vpdpbusd on AVX-512 VNNI) -------------------------------------------------------- */
#if defined(__x86_64__)
#define K_AVX2 __attribute__((target("avx2,fma,f16c")))
#define K_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma,f16c")))

K_AVX2 static inline __m256i dot_avx2(__m256i u, __m256i s) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}
K_AVX512 static inline __m256i dot_avx512(__m256i u, __m256i s) {
    return _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, s);
}

#define K_BODY(TGT, SUFFIX, DOT)                                                                   \
TGT static float q4k_row_##SUFFIX(const uint8_t *p, size_t nsb, const vlm_q8_block *x) {           \
    const __m256i low4 = _mm256_set1_epi8(0x0f);                                                   \
    __m256 acc = _mm256_setzero_ps();                                                              \
    float off = 0;                                                                                 \
    for (size_t sb = 0; sb < nsb; sb++, p += 144) {                                                \
        float d = _cvtsh_ss(vlm_read_u16(p)), dmin = _cvtsh_ss(vlm_read_u16(p + 2));               \
        for (int j = 0; j < 4; j++) {                                                              \
            int s1, m1, s2, m2;                                                                    \
            scale_min_k4(2 * j, p + 4, &s1, &m1);                                                  \
            scale_min_k4(2 * j + 1, p + 4, &s2, &m2);                                              \
            const vlm_q8_block *x1 = &x[8 * sb + 2 * j], *x2 = x1 + 1;                             \
            __m256i b = _mm256_loadu_si256((const __m256i *)(p + 16 + 32 * j));                    \
            __m256i lo = _mm256_and_si256(b, low4), hi = _mm256_and_si256(_mm256_srli_epi16(b, 4), low4); \
            __m256i d1 = DOT(lo, _mm256_loadu_si256((const __m256i *)x1->qs));                     \
            __m256i d2 = DOT(hi, _mm256_loadu_si256((const __m256i *)x2->qs));                     \
            acc = _mm256_fmadd_ps(_mm256_set1_ps(d * (float)s1 * x1->d), _mm256_cvtepi32_ps(d1), acc); \
            acc = _mm256_fmadd_ps(_mm256_set1_ps(d * (float)s2 * x2->d), _mm256_cvtepi32_ps(d2), acc); \
            off -= dmin * ((float)m1 * x1->s + (float)m2 * x2->s);                                 \
        }                                                                                          \
    }                                                                                              \
    return vlm_hsum256(acc) + off;                                                               \
}                                                                                                  \
TGT static float q6k_row_##SUFFIX(const uint8_t *p, size_t nsb, const vlm_q8_block *x, const int *hs) { \
    const __m256i low4 = _mm256_set1_epi8(0x0f), two = _mm256_set1_epi8(3);                        \
    __m256 acc = _mm256_setzero_ps();                                                              \
    float off = 0;                                                                                 \
    for (size_t sb = 0; sb < nsb; sb++, p += 210) {                                                \
        const int8_t *sc = (const int8_t *)(p + 192);                                              \
        float d = _cvtsh_ss(vlm_read_u16(p + 208));                                                \
        for (int c = 0; c < 2; c++) {                                                              \
            __m256i l0 = _mm256_loadu_si256((const __m256i *)(p + 64 * c));                        \
            __m256i l1 = _mm256_loadu_si256((const __m256i *)(p + 64 * c + 32));                   \
            __m256i h = _mm256_loadu_si256((const __m256i *)(p + 128 + 32 * c));                   \
            __m256i q[4];                                                                          \
            q[0] = _mm256_or_si256(_mm256_and_si256(l0, low4), _mm256_slli_epi16(_mm256_and_si256(h, two), 4)); \
            q[1] = _mm256_or_si256(_mm256_and_si256(l1, low4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 2), two), 4)); \
            q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), low4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 4), two), 4)); \
            q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), low4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 6), two), 4)); \
            for (int m = 0; m < 4; m++) {                                                          \
                size_t b = 8 * sb + 4 * c + m;                                                     \
                float f = d * x[b].d, sa = (float)sc[8 * c + 2 * m], sbb = (float)sc[8 * c + 2 * m + 1]; \
                __m256i dot = DOT(q[m], _mm256_loadu_si256((const __m256i *)x[b].qs));             \
                __m256 scale = _mm256_set_m128(_mm_set1_ps(sbb * f), _mm_set1_ps(sa * f));         \
                acc = _mm256_fmadd_ps(scale, _mm256_cvtepi32_ps(dot), acc);                        \
                off -= 32.0f * f * (sa * (float)hs[2 * b] + sbb * (float)hs[2 * b + 1]);           \
            }                                                                                      \
        }                                                                                          \
    }                                                                                              \
    return vlm_hsum256(acc) + off;                                                               \
}                                                                                                  \
void vlm_matvec_q8_k_##SUFFIX(int type, const uint8_t *w, size_t row_bytes, size_t r0, size_t r1,  \
                              size_t cols, const vlm_q8_block *x, float *y) {                      \
    size_t nsb = cols / 256;                                                                       \
    if (type == VLM_Q4_K) {                                                                        \
        for (size_t r = r0; r < r1; r++) y[r] = q4k_row_##SUFFIX(w + r * row_bytes, nsb, x);       \
        return;                                                                                    \
    }                                                                                              \
    int stack[512];                                                                                \
    int *hs = cols / 16 <= 512 ? stack : malloc(cols / 16 * sizeof(int));                          \
    if (!hs) return;                                                                               \
    half_sums(x, cols / 32, hs);                                                                   \
    for (size_t r = r0; r < r1; r++) y[r] = q6k_row_##SUFFIX(w + r * row_bytes, nsb, x, hs);       \
    if (hs != stack) free(hs);                                                                     \
}

K_BODY(K_AVX2, avx2, dot_avx2)
K_BODY(K_AVX512, avx512, dot_avx512)
#endif
