#include "quant_dot.h"
#include <math.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

/* ---- f16 ---------------------------------------------------------------------------------- */

static inline float f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ff, bits;
    if (exp == 0) {
        if (mant == 0) { bits = sign; }
        else {                                   /* subnormal: normalise */
            exp = 127 - 15 + 1;
            while (!(mant & 0x400)) { mant <<= 1; exp--; }
            bits = sign | (exp << 23) | ((mant & 0x3ff) << 13);
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000 | (mant << 13);
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
    }
    float f; memcpy(&f, &bits, 4); return f;
}

static inline uint16_t read_u16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static inline uint32_t read_u32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }

int vlm_quant_dot_supports(int type) {
    return type == VLM_Q4_0 || type == VLM_Q4_1 || type == VLM_Q5_0 || type == VLM_Q8_0;
}

/* ---- activation quantization (ggml's q8_1: round to nearest, scale amax/127) --------------- */

void vlm_quantize_q8(const float *x, size_t n, vlm_q8_block *out) {
    for (size_t b = 0; b < n / 32; b++) {
        const float *v = x + 32 * b;
        float amax = 0;
        for (int i = 0; i < 32; i++) { float a = fabsf(v[i]); if (a > amax) amax = a; }
        float d = amax / 127.0f, id = d != 0 ? 1.0f / d : 0.0f;
        int sum = 0;
        for (int i = 0; i < 32; i++) {
            int q = (int)lrintf(v[i] * id);
            out[b].qs[i] = (int8_t)q;
            sum += q;
        }
        out[b].d = d;
        out[b].s = d * (float)sum;
    }
}

/* ---- portable kernels ---------------------------------------------------------------------- */

/* Integer dot of one weight block with one activation block; returns the float contribution.
   Weight values are w = d_w * (q - offset) (+ m for Q4_1). */
static float block_dot_portable(int type, const uint8_t *p, const vlm_q8_block *x) {
    int sum = 0;
    switch (type) {
    case VLM_Q4_0: {
        const uint8_t *qs = p + 2;
        for (int j = 0; j < 16; j++) sum += (qs[j] & 0xf) * x->qs[j] + (qs[j] >> 4) * x->qs[j + 16];
        float dw = f16_to_f32(read_u16(p));
        return dw * x->d * (float)sum - 8.0f * dw * x->s;
    }
    case VLM_Q4_1: {
        const uint8_t *qs = p + 4;
        for (int j = 0; j < 16; j++) sum += (qs[j] & 0xf) * x->qs[j] + (qs[j] >> 4) * x->qs[j + 16];
        return f16_to_f32(read_u16(p)) * x->d * (float)sum + f16_to_f32(read_u16(p + 2)) * x->s;
    }
    case VLM_Q5_0: {
        uint32_t qh = read_u32(p + 2);
        const uint8_t *qs = p + 6;
        for (int j = 0; j < 16; j++) {
            int lo = (qs[j] & 0xf) | (((qh >> j) & 1) << 4);
            int hi = (qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4);
            sum += lo * x->qs[j] + hi * x->qs[j + 16];
        }
        float dw = f16_to_f32(read_u16(p));
        return dw * x->d * (float)sum - 16.0f * dw * x->s;
    }
    case VLM_Q8_0: {
        const int8_t *qs = (const int8_t *)(p + 2);
        for (int j = 0; j < 32; j++) sum += qs[j] * x->qs[j];
        return f16_to_f32(read_u16(p)) * x->d * (float)sum;
    }
    }
    return 0;
}

static size_t block_bytes(int type) {
    switch (type) { case VLM_Q4_0: return 18; case VLM_Q4_1: return 20; case VLM_Q5_0: return 22; default: return 34; }
}

static void matvec_portable(int type, const uint8_t *w, size_t row_bytes, size_t r0, size_t r1,
                            size_t cols, const vlm_q8_block *x, float *y) {
    size_t nb = cols / 32, bb = block_bytes(type);
    for (size_t r = r0; r < r1; r++) {
        const uint8_t *p = w + r * row_bytes;
        float acc = 0;
        for (size_t b = 0; b < nb; b++) acc += block_dot_portable(type, p + b * bb, &x[b]);
        y[r] = acc;
    }
}

static void matvec_f32_portable(int type, const uint8_t *w, size_t row_bytes, size_t r0, size_t r1,
                                size_t cols, const float *x, float *y) {
    size_t nb = cols / 32, bb = block_bytes(type);
    for (size_t r = r0; r < r1; r++) {
        const uint8_t *p = w + r * row_bytes;
        float acc = 0;
        for (size_t b = 0; b < nb; b++, p += bb) {
            const float *xb = x + 32 * b;
            float d = f16_to_f32(read_u16(p)), s = 0;
            switch (type) {
            case VLM_Q4_0:
                for (int j = 0; j < 16; j++) s += ((p[2 + j] & 0xf) - 8) * xb[j] + ((p[2 + j] >> 4) - 8) * xb[j + 16];
                acc += d * s; break;
            case VLM_Q4_1: {
                float m = f16_to_f32(read_u16(p + 2)), sx = 0;
                for (int j = 0; j < 16; j++) { s += (p[4 + j] & 0xf) * xb[j] + (p[4 + j] >> 4) * xb[j + 16]; sx += xb[j] + xb[j + 16]; }
                acc += d * s + m * sx; break;
            }
            case VLM_Q5_0: {
                uint32_t qh = read_u32(p + 2);
                for (int j = 0; j < 16; j++) {
                    int lo = ((p[6 + j] & 0xf) | (((qh >> j) & 1) << 4)) - 16;
                    int hi = ((p[6 + j] >> 4) | (((qh >> (j + 16)) & 1) << 4)) - 16;
                    s += lo * xb[j] + hi * xb[j + 16];
                }
                acc += d * s; break;
            }
            case VLM_Q8_0:
                for (int j = 0; j < 32; j++) s += (int8_t)p[2 + j] * xb[j];
                acc += d * s; break;
            }
        }
        y[r] = acc;
    }
}

/* ---- AVX2 kernels -------------------------------------------------------------------------- */

#if defined(__x86_64__)
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

AVX2 static inline float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

AVX2 static void matvec_avx2(int type, const uint8_t *w, size_t row_bytes, size_t r0, size_t r1,
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
                float dw = _cvtsh_ss(read_u16(p));
                acc = _mm256_fmadd_ps(_mm256_set1_ps(dw * x[b].d), dot_us(q, xs), acc);
                offset += _cvtsh_ss(read_u16(p + 2)) * x[b].s;
            }
            break;
        case VLM_Q4_0:
            for (size_t b = 0; b < nb; b++, p += 18) {
                __m256i q = unpack_nibbles(p + 2);
                __m256i xs = _mm256_loadu_si256((const __m256i *)x[b].qs);
                float dw = _cvtsh_ss(read_u16(p));
                acc = _mm256_fmadd_ps(_mm256_set1_ps(dw * x[b].d), dot_us(q, xs), acc);
                offset -= 8.0f * dw * x[b].s;
            }
            break;
        case VLM_Q5_0:
            for (size_t b = 0; b < nb; b++, p += 22) {
                __m256i high = _mm256_and_si256(bytes_from_bits(read_u32(p + 2)), _mm256_set1_epi8(0x10));
                __m256i q = _mm256_or_si256(unpack_nibbles(p + 6), high);
                __m256i xs = _mm256_loadu_si256((const __m256i *)x[b].qs);
                float dw = _cvtsh_ss(read_u16(p));
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
                float dw = _cvtsh_ss(read_u16(p));
                acc = _mm256_fmadd_ps(_mm256_set1_ps(dw * x[b].d), dot_us(ax, sx), acc);
            }
            break;
        }
        y[r] = hsum(acc) + offset;
    }
}

/* 32 bytes as 4 vectors of 8 floats (signed or unsigned bytes, as given by `sign`). */
AVX2 static inline void bytes_to_floats(__m256i q, int is_signed, __m256 out[4]) {
    __m128i lo = _mm256_castsi256_si128(q), hi = _mm256_extracti128_si256(q, 1);
    __m128i parts[4] = { lo, _mm_srli_si128(lo, 8), hi, _mm_srli_si128(hi, 8) };
    for (int i = 0; i < 4; i++)
        out[i] = _mm256_cvtepi32_ps(is_signed ? _mm256_cvtepi8_epi32(parts[i]) : _mm256_cvtepu8_epi32(parts[i]));
}

AVX2 static void matvec_f32_avx2(int type, const uint8_t *w, size_t row_bytes, size_t r0, size_t r1,
                                 size_t cols, const float *x, float *y) {
    size_t nb = cols / 32;
    for (size_t r = r0; r < r1; r++) {
        const uint8_t *p = w + r * row_bytes;
        __m256 acc = _mm256_setzero_ps();
        for (size_t b = 0; b < nb; b++) {
            const float *xb = x + 32 * b;
            __m256 xv[4] = { _mm256_loadu_ps(xb), _mm256_loadu_ps(xb + 8), _mm256_loadu_ps(xb + 16), _mm256_loadu_ps(xb + 24) };
            __m256 v[4];
            __m256 d = _mm256_set1_ps(_cvtsh_ss(read_u16(p)));
            switch (type) {
            case VLM_Q4_0:
                bytes_to_floats(_mm256_sub_epi8(unpack_nibbles(p + 2), _mm256_set1_epi8(8)), 1, v); p += 18; break;
            case VLM_Q4_1: {
                bytes_to_floats(unpack_nibbles(p + 4), 0, v);
                __m256 m = _mm256_set1_ps(_cvtsh_ss(read_u16(p + 2)));
                /* d*q + m, then times x: fold m into the accumulation per lane. */
                for (int i = 0; i < 4; i++) v[i] = _mm256_fmadd_ps(v[i], d, m);
                acc = _mm256_fmadd_ps(v[0], xv[0], acc); acc = _mm256_fmadd_ps(v[1], xv[1], acc);
                acc = _mm256_fmadd_ps(v[2], xv[2], acc); acc = _mm256_fmadd_ps(v[3], xv[3], acc);
                p += 20;
                continue;
            }
            case VLM_Q5_0: {
                __m256i high = _mm256_and_si256(bytes_from_bits(read_u32(p + 2)), _mm256_set1_epi8(0x10));
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
        y[r] = hsum(acc);
    }
}

static int has_avx2(void) {
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
    }
    return cached;
}
#endif

void vlm_matvec_q8(int type, const void *w, size_t row_bytes, size_t row_begin, size_t row_end,
                   size_t cols, const vlm_q8_block *x, float *y, int force_portable) {
#if defined(__x86_64__)
    if (!force_portable && has_avx2()) {
        matvec_avx2(type, (const uint8_t *)w, row_bytes, row_begin, row_end, cols, x, y);
        return;
    }
#endif
    matvec_portable(type, (const uint8_t *)w, row_bytes, row_begin, row_end, cols, x, y);
}

void vlm_matvec_f32(int type, const void *w, size_t row_bytes, size_t row_begin, size_t row_end,
                    size_t cols, const float *x, float *y, int force_portable) {
#if defined(__x86_64__)
    if (!force_portable && has_avx2()) {
        matvec_f32_avx2(type, (const uint8_t *)w, row_bytes, row_begin, row_end, cols, x, y);
        return;
    }
#endif
    matvec_f32_portable(type, (const uint8_t *)w, row_bytes, row_begin, row_end, cols, x, y);
}
