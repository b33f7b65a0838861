/* AVX2 + FMA + F16C kernels of quant_dot.h (chosen at run time by quant_dot.c). */
#include "quant_dot_paths.h"
#if defined(__x86_64__)
#include <immintrin.h>
#define AVX2 __attribute__((target("avx2,fma,f16c")))

/* 32 nibbles of 16 bytes as 32 bytes: low nibbles (values 0..15) then high nibbles (16..31). */
AVX2 static inline __m256i unpack_nibbles(const uint8_t *qs) {
    __m128i b = _mm_loadu_si128((const __m128i *)qs);
    __m128i lo = _mm_and_si128(b, _mm_set1_epi8(0x0f));
    __m128i hi = _mm_and_si128(_mm_srli_epi16(b, 4), _mm_set1_epi8(0x0f));
    return _mm256_set_m128i(hi, lo);
}

/* Byte i = 0xFF when bit i of the 32-bit word is set (ggml's bytes_from_bits_32). */
AVX2 static inline __m256i bytes_from_bits(uint32_t bits) {
    const __m256i shuffle = _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202,
                                              0x0101010101010101, 0x0000000000000000);
    __m256i bytes = _mm256_shuffle_epi8(_mm256_set1_epi32((int)bits), shuffle);
    bytes = _mm256_or_si256(bytes, _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe));
    return _mm256_cmpeq_epi8(bytes, _mm256_set1_epi64x(-1));
}

/* Sum of unsigned bytes u times signed bytes s, as 8 floats. */
AVX2 static inline __m256 dot_us(__m256i u, __m256i s) {
    __m256i pairs = _mm256_maddubs_epi16(u, s);
    return _mm256_cvtepi32_ps(_mm256_madd_epi16(pairs, _mm256_set1_epi16(1)));
}

AVX2 void vlm_matvec_q8_avx2(int type, const uint8_t *w, size_t row_bytes, size_t r0, size_t r1,
                             size_t cols, const vlm_q8_block *x, float *y) {
    size_t nb = cols / 32;
    for (size_t r = r0; r < r1; r++) {
        const uint8_t *p = w + r * row_bytes;
        __m256 acc = _mm256_setzero_ps();
        float offset = 0;
        switch (type) {
        case VLM_Q4_1:
            for (size_t b = 0; b < nb; b++, p += 20) {
                __m256i q = unpack_nibbles(p + 4);
                __m256i xs = _mm256_loadu_si256((const __m256i *)x[b].qs);
                float dw = _cvtsh_ss(vlm_read_u16(p));
                acc = _mm256_fmadd_ps(_mm256_set1_ps(dw * x[b].d), dot_us(q, xs), acc);
                offset += _cvtsh_ss(vlm_read_u16(p + 2)) * x[b].s;
            }
            break;
        case VLM_Q4_0:
            for (size_t b = 0; b < nb; b++, p += 18) {
                __m256i q = unpack_nibbles(p + 2);
                __m256i xs = _mm256_loadu_si256((const __m256i *)x[b].qs);
                float dw = _cvtsh_ss(vlm_read_u16(p));
                acc = _mm256_fmadd_ps(_mm256_set1_ps(dw * x[b].d), dot_us(q, xs), acc);
                offset -= 8.0f * dw * x[b].s;
            }
            break;
        case VLM_Q5_0:
            for (size_t b = 0; b < nb; b++, p += 22) {
                __m256i high = _mm256_and_si256(bytes_from_bits(vlm_read_u32(p + 2)), _mm256_set1_epi8(0x10));
                __m256i q = _mm256_or_si256(unpack_nibbles(p + 6), high);
                __m256i xs = _mm256_loadu_si256((const __m256i *)x[b].qs);
                float dw = _cvtsh_ss(vlm_read_u16(p));
                acc = _mm256_fmadd_ps(_mm256_set1_ps(dw * x[b].d), dot_us(q, xs), acc);
                offset -= 16.0f * dw * x[b].s;
            }
            break;
        case VLM_Q8_0:
            for (size_t b = 0; b < nb; b++, p += 34) {
                __m256i q = _mm256_loadu_si256((const __m256i *)(p + 2));
                __m256i xs = _mm256_loadu_si256((const __m256i *)x[b].qs);
                /* maddubs needs one unsigned operand: |q| times x with q's sign moved onto x. */
                __m256i ax = _mm256_sign_epi8(q, q), sx = _mm256_sign_epi8(xs, q);
                float dw = _cvtsh_ss(vlm_read_u16(p));
                acc = _mm256_fmadd_ps(_mm256_set1_ps(dw * x[b].d), dot_us(ax, sx), acc);
            }
            break;
        }
        y[r] = vlm_hsum256(acc) + offset;
    }
}

/* 32 bytes as 4 vectors of 8 floats (signed or unsigned bytes, as given by `sign`). */
AVX2 static inline void bytes_to_floats(__m256i q, int is_signed, __m256 out[4]) {
    __m128i lo = _mm256_castsi256_si128(q), hi = _mm256_extracti128_si256(q, 1);
    __m128i parts[4] = { lo, _mm_srli_si128(lo, 8), hi, _mm_srli_si128(hi, 8) };
    for (int i = 0; i < 4; i++)
        out[i] = _mm256_cvtepi32_ps(is_signed ? _mm256_cvtepi8_epi32(parts[i]) : _mm256_cvtepu8_epi32(parts[i]));
}

AVX2 void vlm_matvec_f32_avx2(int type, const uint8_t *w, size_t row_bytes, size_t r0, size_t r1,
                                 size_t cols, const float *x, float *y) {
    size_t nb = cols / 32;
    for (size_t r = r0; r < r1; r++) {
        const uint8_t *p = w + r * row_bytes;
        __m256 acc = _mm256_setzero_ps();
        for (size_t b = 0; b < nb; b++) {
            const float *xb = x + 32 * b;
            __m256 xv[4] = { _mm256_loadu_ps(xb), _mm256_loadu_ps(xb + 8), _mm256_loadu_ps(xb + 16), _mm256_loadu_ps(xb + 24) };
            __m256 v[4];
            __m256 d = _mm256_set1_ps(_cvtsh_ss(vlm_read_u16(p)));
            switch (type) {
            case VLM_Q4_0:
                bytes_to_floats(_mm256_sub_epi8(unpack_nibbles(p + 2), _mm256_set1_epi8(8)), 1, v); p += 18; break;
            case VLM_Q4_1: {
                bytes_to_floats(unpack_nibbles(p + 4), 0, v);
                __m256 m = _mm256_set1_ps(_cvtsh_ss(vlm_read_u16(p + 2)));
                /* d*q + m, then times x: fold m into the accumulation per lane. */
                for (int i = 0; i < 4; i++) v[i] = _mm256_fmadd_ps(v[i], d, m);
                acc = _mm256_fmadd_ps(v[0], xv[0], acc); acc = _mm256_fmadd_ps(v[1], xv[1], acc);
                acc = _mm256_fmadd_ps(v[2], xv[2], acc); acc = _mm256_fmadd_ps(v[3], xv[3], acc);
                p += 20;
                continue;
            }
            case VLM_Q5_0: {
                __m256i high = _mm256_and_si256(bytes_from_bits(vlm_read_u32(p + 2)), _mm256_set1_epi8(0x10));
                __m256i q = _mm256_sub_epi8(_mm256_or_si256(unpack_nibbles(p + 6), high), _mm256_set1_epi8(16));
                bytes_to_floats(q, 1, v); p += 22; break;
            }
            default: /* VLM_Q8_0 */
                bytes_to_floats(_mm256_loadu_si256((const __m256i *)(p + 2)), 1, v); p += 34; break;
            }
            __m256 s = _mm256_mul_ps(v[0], xv[0]);
            s = _mm256_fmadd_ps(v[1], xv[1], s); s = _mm256_fmadd_ps(v[2], xv[2], s); s = _mm256_fmadd_ps(v[3], xv[3], s);
            acc = _mm256_fmadd_ps(d, s, acc);
        }
        y[r] = vlm_hsum256(acc);
    }
}


/* Q8_0 rows against 16-bit activations: vpmaddwd on sign-extended weight bytes. */
AVX2 void vlm_matvec_q16_avx2(const uint8_t *w, size_t row_bytes, size_t r0, size_t r1,
                              size_t cols, const vlm_q16_block *x, float *y) {
    size_t nb = cols / 32;
    for (size_t r = r0; r < r1; r++) {
        const uint8_t *p = w + r * row_bytes;
        __m256 acc = _mm256_setzero_ps();
        for (size_t b = 0; b < nb; b++, p += 34) {
            __m256i w0 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(p + 2)));
            __m256i w1 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(p + 18)));
            __m256i dot = _mm256_add_epi32(_mm256_madd_epi16(w0, _mm256_loadu_si256((const __m256i *)x[b].qs)),
                                           _mm256_madd_epi16(w1, _mm256_loadu_si256((const __m256i *)(x[b].qs + 16))));
            acc = _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(vlm_read_u16(p)) * x[b].d), _mm256_cvtepi32_ps(dot), acc);
        }
        y[r] = vlm_hsum256(acc);
    }
}

/* ggml's quantize_row_q8_1 in registers: scale amax/127, round to nearest even (cvtps). */
AVX2 void vlm_quantize_q8_avx2(const float *x, size_t n, vlm_q8_block *out) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    for (size_t b = 0; b < n / 32; b++) {
        const float *v = x + 32 * b;
        __m256 v0 = _mm256_loadu_ps(v), v1 = _mm256_loadu_ps(v + 8), v2 = _mm256_loadu_ps(v + 16), v3 = _mm256_loadu_ps(v + 24);
        __m256 m = _mm256_max_ps(_mm256_max_ps(_mm256_andnot_ps(sign, v0), _mm256_andnot_ps(sign, v1)),
                                 _mm256_max_ps(_mm256_andnot_ps(sign, v2), _mm256_andnot_ps(sign, v3)));
        __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
        m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
        m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
        float amax = _mm_cvtss_f32(m4);
        float d = amax / 127.0f, id = d != 0 ? 1.0f / d : 0.0f;
        __m256 idv = _mm256_set1_ps(id);
        __m256i i0 = _mm256_cvtps_epi32(_mm256_mul_ps(v0, idv)), i1 = _mm256_cvtps_epi32(_mm256_mul_ps(v1, idv));
        __m256i i2 = _mm256_cvtps_epi32(_mm256_mul_ps(v2, idv)), i3 = _mm256_cvtps_epi32(_mm256_mul_ps(v3, idv));
        __m256i sum = _mm256_add_epi32(_mm256_add_epi32(i0, i1), _mm256_add_epi32(i2, i3));
        /* Pack 32 int32 to 32 int8; packs interleave 128-bit lanes, the permute restores order. */
        __m256i p16a = _mm256_packs_epi32(i0, i1), p16b = _mm256_packs_epi32(i2, i3);
        __m256i p8 = _mm256_packs_epi16(p16a, p16b);
        p8 = _mm256_permutevar8x32_epi32(p8, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
        _mm256_storeu_si256((__m256i *)out[b].qs, p8);
        __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(sum), _mm256_extracti128_si256(sum, 1));
        s4 = _mm_hadd_epi32(s4, s4); s4 = _mm_hadd_epi32(s4, s4);
        out[b].d = d;
        out[b].s = d * (float)_mm_cvtsi128_si32(s4);
    }
}
#endif
