/* AVX-512 kernels of quant_dot.h (F/BW/VL/DQ + VNNI; chosen at run time by quant_dot.c).
   The integer kernels take two 32-value blocks per 512-bit register and multiply-add bytes with
   one vpdpbusd (unsigned weights x signed activations), where AVX2 needs vpmaddubsw + vpmaddwd
   and a conversion per block. Results equal the portable kernels' integer sums exactly; only the
   float summation order differs. */
#include "quant_dot_paths.h"
#if defined(__x86_64__)
#include <immintrin.h>
#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma,f16c")))

AVX512 static inline __m512i join(__m256i a, __m256i b) { return _mm512_inserti64x4(_mm512_castsi256_si512(a), b, 1); }
AVX512 static inline __m512 join_scales(float a, float b) {
    return _mm512_insertf32x8(_mm512_castps256_ps512(_mm256_set1_ps(a)), _mm256_set1_ps(b), 1);
}
AVX512 static inline __m256i load256(const void *p) { return _mm256_loadu_si256((const __m256i *)p); }

/* Byte i = 0x10 when bit i of the 32-bit word is set: Q5_0's fifth bits. */
AVX512 static inline __m256i fifth_bits(uint32_t bits) {
    return _mm256_maskz_mov_epi8((__mmask32)bits, _mm256_set1_epi8(0x10));
}

/* Block b's unsigned weight bytes (values 0..31 of the block) and its float offset term:
   the dot is dw * dx * Σ q x + offset, offset = -bias * dw * s (Q4_1: + m * s). */
AVX512 static inline __m256i block_bytes(int type, const uint8_t *p, const vlm_q8_block *x, float *offset) {
    switch (type) {
    case VLM_Q4_0: {
        *offset -= 8.0f * _cvtsh_ss(vlm_read_u16(p)) * x->s;
        __m128i b = _mm_loadu_si128((const __m128i *)(p + 2));
        return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(b, 4), _mm_set1_epi8(0x0f)), _mm_and_si128(b, _mm_set1_epi8(0x0f)));
    }
    case VLM_Q4_1: {
        *offset += _cvtsh_ss(vlm_read_u16(p + 2)) * x->s;
        __m128i b = _mm_loadu_si128((const __m128i *)(p + 4));
        return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(b, 4), _mm_set1_epi8(0x0f)), _mm_and_si128(b, _mm_set1_epi8(0x0f)));
    }
    case VLM_Q5_0: {
        *offset -= 16.0f * _cvtsh_ss(vlm_read_u16(p)) * x->s;
        __m128i b = _mm_loadu_si128((const __m128i *)(p + 6));
        __m256i q = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(b, 4), _mm_set1_epi8(0x0f)), _mm_and_si128(b, _mm_set1_epi8(0x0f)));
        return _mm256_or_si256(q, fifth_bits(vlm_read_u32(p + 2)));
    }
    default: /* Q8_0: q + 128 is unsigned; Σ (q + 128) x = Σ q x + 128 Σ x */
        *offset -= 128.0f * _cvtsh_ss(vlm_read_u16(p)) * x->s;
        return _mm256_xor_si256(load256(p + 2), _mm256_set1_epi8((char)0x80));
    }
}

/* The activations rearranged once per call for the grouped kernels below: per quad of blocks,
   the low halves (values 0..15) of its four blocks side by side, then the high halves; block
   scales d and scaled sums s in groups of 16, zero past the last block. */
enum { GROUP_MAX_BLOCKS = 256 }; /* rows up to 8192 values; longer rows take row1 */
typedef struct {
    _Alignas(64) int8_t lo[GROUP_MAX_BLOCKS * 16];
    _Alignas(64) int8_t hi[GROUP_MAX_BLOCKS * 16];
    _Alignas(64) float d[GROUP_MAX_BLOCKS];
    _Alignas(64) float s[GROUP_MAX_BLOCKS];
} grouped_x;

static void arrange_x(const vlm_q8_block *x, size_t nb, grouped_x *g) {
    size_t padded = (nb + 15) / 16 * 16;
    for (size_t b = 0; b < padded; b++) {
        if (b < nb) {
            memcpy(g->lo + 16 * b, x[b].qs, 16);
            memcpy(g->hi + 16 * b, x[b].qs + 16, 16);
            g->d[b] = x[b].d;
            g->s[b] = x[b].s;
        } else {
            memset(g->lo + 16 * b, 0, 16);
            memset(g->hi + 16 * b, 0, 16);
            g->d[b] = g->s[b] = 0;
        }
    }
}

/* Lane i of a dot over a quad reads block i / 4 of the quad: the index vectors that spread
   16 per-block scales over those lanes, one per quad of a group. */
AVX512 static inline __m512i quad_spread(size_t quad) {
    int b = (int)(4 * quad);
    return _mm512_setr_epi32(b, b, b, b, b + 1, b + 1, b + 1, b + 1, b + 2, b + 2, b + 2, b + 2, b + 3, b + 3, b + 3, b + 3);
}

/* The scale words (f16 d, and Q4_1's f16 m above it) of every group of up to 16 blocks of one
   row, copied into 64-byte slots with plain 32-bit loads: vpgatherdd is slow to complete on some
   CPUs (Zen 4: the kernel waited on it), and the caller collects the next row's words before
   working on this row, so these loads run ahead. Slots past the last block stay zero. */
AVX512 static inline void gather_words(const uint8_t *p, size_t nb, size_t bb, __m512i *words) {
    uint32_t *slots = (uint32_t *)words;
    size_t groups = (nb + 15) / 16;
    for (size_t b = 0; b < nb; b++) slots[b] = vlm_read_u32(p + b * bb);
    for (size_t b = nb; b < groups * 16; b++) slots[b] = 0;
}

/* One Q4_0 / Q4_1 row, given its gathered scale words: each quad of blocks is one 64-byte
   register of nibbles, two vpdpbusd, one conversion and one FMA, where the per-block loop
   needs all of that per block. */
AVX512 static float row_q4_grouped(int type, const uint8_t *p, size_t nb, const grouped_x *x, const __m512i *words) {
    size_t bb = type == VLM_Q4_1 ? 20 : 18, qo = type == VLM_Q4_1 ? 4 : 2;
    const __m512i low4 = _mm512_set1_epi8(0x0f);
    const __m512i spread[4] = { quad_spread(0), quad_spread(1), quad_spread(2), quad_spread(3) };
    __m512 acc = _mm512_setzero_ps(), offset = _mm512_setzero_ps();
    for (size_t g0 = 0, g = 0; g0 < nb; g0 += 16, g++) {
        size_t k = nb - g0 < 16 ? nb - g0 : 16;
        const uint8_t *pg = p + g0 * bb;
        __m512 d = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(words[g]));
        __m512 xd = _mm512_load_ps(x->d + g0), xs = _mm512_load_ps(x->s + g0);
        __m512 scale = _mm512_mul_ps(d, xd);
        if (type == VLM_Q4_1) offset = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(words[g], 16))), xs, offset);
        else offset = _mm512_fmadd_ps(_mm512_mul_ps(d, _mm512_set1_ps(-8.0f)), xs, offset);
        for (size_t quad = 0; quad * 4 < k; quad++) {
            const uint8_t *pq = pg + 4 * quad * bb + qo;
            size_t present = k - 4 * quad < 4 ? k - 4 * quad : 4;
            __m512i w;
            if (present == 4) {
                __m256i w01 = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)pq)),
                                                      _mm_loadu_si128((const __m128i *)(pq + bb)), 1);
                __m256i w23 = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(pq + 2 * bb))),
                                                      _mm_loadu_si128((const __m128i *)(pq + 3 * bb)), 1);
                w = _mm512_inserti64x4(_mm512_castsi256_si512(w01), w23, 1);
            } else {
                _Alignas(64) uint8_t t[64] = { 0 };
                for (size_t i = 0; i < present; i++) memcpy(t + 16 * i, pq + i * bb, 16);
                w = _mm512_load_si512((const void *)t);
            }
            size_t b = g0 + 4 * quad;
            __m512i lo = _mm512_and_si512(w, low4), hi = _mm512_and_si512(_mm512_srli_epi16(w, 4), low4);
            __m512i dot = _mm512_dpbusd_epi32(_mm512_setzero_si512(), lo, _mm512_load_si512((const void *)(x->lo + 16 * b)));
            dot = _mm512_dpbusd_epi32(dot, hi, _mm512_load_si512((const void *)(x->hi + 16 * b)));
            acc = _mm512_fmadd_ps(_mm512_permutexvar_ps(spread[quad], scale), _mm512_cvtepi32_ps(dot), acc);
        }
    }
    return _mm512_reduce_add_ps(acc) + _mm512_reduce_add_ps(offset);
}

/* One row, any supported type, two blocks per register (the odd last block on its own). */
AVX512 static float row1(int type, const uint8_t *p, size_t nb, const vlm_q8_block *x) {
    size_t bb = type == VLM_Q4_0 ? 18 : type == VLM_Q4_1 ? 20 : type == VLM_Q5_0 ? 22 : 34;
    __m512 acc = _mm512_setzero_ps();
    float offset = 0, tail = 0;
    size_t b = 0;
    for (; b + 2 <= nb; b += 2, p += 2 * bb) {
        __m512i q = join(block_bytes(type, p, &x[b], &offset), block_bytes(type, p + bb, &x[b + 1], &offset));
        __m512i xs = join(load256(x[b].qs), load256(x[b + 1].qs));
        __m512i dot = _mm512_dpbusd_epi32(_mm512_setzero_si512(), q, xs);
        float d0 = _cvtsh_ss(vlm_read_u16(p)), d1 = _cvtsh_ss(vlm_read_u16(p + bb));
        acc = _mm512_fmadd_ps(join_scales(d0 * x[b].d, d1 * x[b + 1].d), _mm512_cvtepi32_ps(dot), acc);
    }
    for (; b < nb; b++, p += bb) {
        __m256i q = block_bytes(type, p, &x[b], &offset);
        __m256i dot = _mm256_dpbusd_epi32(_mm256_setzero_si256(), q, load256(x[b].qs));
        tail += _cvtsh_ss(vlm_read_u16(p)) * x[b].d * vlm_hsum256(_mm256_cvtepi32_ps(dot));
    }
    return _mm512_reduce_add_ps(acc) + offset + tail;
}

AVX512 void vlm_matvec_q8_avx512(int type, const uint8_t *w, size_t row_bytes, size_t r0, size_t r1,
                                 size_t cols, const vlm_q8_block *x, float *y) {
    size_t nb = cols / 32, r = r0;
    if ((type == VLM_Q4_0 || type == VLM_Q4_1) && nb <= GROUP_MAX_BLOCKS && r1 - r0 >= 2) {
        grouped_x g;
        arrange_x(x, nb, &g);
        size_t bb = type == VLM_Q4_1 ? 20 : 18;
        __m512i words[2][GROUP_MAX_BLOCKS / 16];
        gather_words(w + r * row_bytes, nb, bb, words[0]);
        for (int cur = 0; r < r1; r++, cur ^= 1) {
            if (r + 1 < r1) gather_words(w + (r + 1) * row_bytes, nb, bb, words[cur ^ 1]);
            y[r] = row_q4_grouped(type, w + r * row_bytes, nb, &g, words[cur]);
        }
        return;
    }
    for (; r < r1; r++) y[r] = row1(type, w + r * row_bytes, nb, x);
}

/* Q8_0 rows against 16-bit activations (the output head): per block one sign extension of the
   32 weight bytes to words and one vpdpwssd. */
AVX512 void vlm_matvec_q16_avx512(const uint8_t *w, size_t row_bytes, size_t r0, size_t r1,
                                  size_t cols, const vlm_q16_block *x, float *y) {
    size_t nb = cols / 32;
    for (size_t r = r0; r < r1; r++) {
        const uint8_t *p = w + r * row_bytes;
        __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
        size_t b = 0;
        for (; b + 2 <= nb; b += 2, p += 68) {
            __m512i d0 = _mm512_dpwssd_epi32(_mm512_setzero_si512(), _mm512_cvtepi8_epi16(load256(p + 2)),
                                             _mm512_loadu_si512((const void *)x[b].qs));
            __m512i d1 = _mm512_dpwssd_epi32(_mm512_setzero_si512(), _mm512_cvtepi8_epi16(load256(p + 36)),
                                             _mm512_loadu_si512((const void *)x[b + 1].qs));
            acc0 = _mm512_fmadd_ps(_mm512_set1_ps(_cvtsh_ss(vlm_read_u16(p)) * x[b].d), _mm512_cvtepi32_ps(d0), acc0);
            acc1 = _mm512_fmadd_ps(_mm512_set1_ps(_cvtsh_ss(vlm_read_u16(p + 34)) * x[b + 1].d), _mm512_cvtepi32_ps(d1), acc1);
        }
        if (b < nb) {
            __m512i d0 = _mm512_dpwssd_epi32(_mm512_setzero_si512(), _mm512_cvtepi8_epi16(load256(p + 2)),
                                             _mm512_loadu_si512((const void *)x[b].qs));
            acc0 = _mm512_fmadd_ps(_mm512_set1_ps(_cvtsh_ss(vlm_read_u16(p)) * x[b].d), _mm512_cvtepi32_ps(d0), acc0);
        }
        y[r] = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
    }
}

/* Float activations (the output head): 16 weights widened per register, one FMA each. */
AVX512 void vlm_matvec_f32_avx512(int type, const uint8_t *w, size_t row_bytes, size_t r0, size_t r1,
                                  size_t cols, const float *x, float *y) {
    size_t nb = cols / 32;
    for (size_t r = r0; r < r1; r++) {
        const uint8_t *p = w + r * row_bytes;
        __m512 acc = _mm512_setzero_ps(), acc2 = _mm512_setzero_ps();
        for (size_t b = 0; b < nb; b++) {
            const float *xb = x + 32 * b;
            __m512 x0 = _mm512_loadu_ps(xb), x1 = _mm512_loadu_ps(xb + 16);
            __m512 d = _mm512_set1_ps(_cvtsh_ss(vlm_read_u16(p)));
            __m512 w0, w1;
            switch (type) {
            case VLM_Q8_0:
                w0 = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(p + 2))));
                w1 = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(p + 18))));
                p += 34;
                break;
            case VLM_Q4_1: {
                __m128i q = _mm_loadu_si128((const __m128i *)(p + 4));
                __m512 m = _mm512_set1_ps(_cvtsh_ss(vlm_read_u16(p + 2)));
                w0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_and_si128(q, _mm_set1_epi8(0x0f)))), d, m);
                w1 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_and_si128(_mm_srli_epi16(q, 4), _mm_set1_epi8(0x0f)))), d, m);
                acc = _mm512_fmadd_ps(w0, x0, acc);
                acc2 = _mm512_fmadd_ps(w1, x1, acc2);
                p += 20;
                continue;
            }
            case VLM_Q4_0: {
                __m128i q = _mm_loadu_si128((const __m128i *)(p + 2));
                __m128i lo = _mm_sub_epi8(_mm_and_si128(q, _mm_set1_epi8(0x0f)), _mm_set1_epi8(8));
                __m128i hi = _mm_sub_epi8(_mm_and_si128(_mm_srli_epi16(q, 4), _mm_set1_epi8(0x0f)), _mm_set1_epi8(8));
                w0 = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(lo));
                w1 = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(hi));
                p += 18;
                break;
            }
            default: { /* Q5_0 */
                __m256i q = _mm256_sub_epi8(_mm256_or_si256(
                    _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(_mm_loadu_si128((const __m128i *)(p + 6)), 4), _mm_set1_epi8(0x0f)),
                                     _mm_and_si128(_mm_loadu_si128((const __m128i *)(p + 6)), _mm_set1_epi8(0x0f))),
                    fifth_bits(vlm_read_u32(p + 2))), _mm256_set1_epi8(16));
                w0 = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm256_castsi256_si128(q)));
                w1 = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm256_extracti128_si256(q, 1)));
                p += 22;
                break;
            }
            }
            acc = _mm512_fmadd_ps(_mm512_mul_ps(w0, d), x0, acc);
            acc2 = _mm512_fmadd_ps(_mm512_mul_ps(w1, d), x1, acc2);
        }
        y[r] = _mm512_reduce_add_ps(_mm512_add_ps(acc, acc2));
    }
}
#endif
