/* quant_dot.h: the portable kernels, and the dispatch to the AVX2 and AVX-512 variants
   (quant_dot_avx2.c, quant_dot_avx512.c) by the CPU path in force (cpu_path.h). */
#include "quant_dot_paths.h"
#include "cpu_path.h"
#include <math.h>

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


float vlm_f16_scalar(uint16_t h) { return f16_to_f32(h); }

int vlm_quant_dot_supports(int type) {
    return type == VLM_Q4_0 || type == VLM_Q4_1 || type == VLM_Q5_0 || type == VLM_Q8_0 || vlm_is_k_type(type);
}

/* ---- activation quantization (ggml's q8_1: round to nearest, scale amax/127) --------------- */

/* 32 values rounded to integers of at most `levels` in magnitude: q = round(v / d) with
   d = amax / levels; returns d, and the sum of q in *sum. */
static float round_block(const float *v, float levels, int32_t q[32], int *sum) {
    float amax = 0;
    for (int i = 0; i < 32; i++) { float a = fabsf(v[i]); if (a > amax) amax = a; }
    float d = amax / levels, id = d != 0 ? 1.0f / d : 0.0f;
    *sum = 0;
    for (int i = 0; i < 32; i++) { q[i] = (int32_t)lrintf(v[i] * id); *sum += q[i]; }
    return d;
}

void vlm_quantize_q8_portable(const float *x, size_t n, vlm_q8_block *out) {
    for (size_t b = 0; b < n / 32; b++) {
        int32_t q[32];
        int sum;
        float d = round_block(x + 32 * b, 127.0f, q, &sum);
        for (int i = 0; i < 32; i++) out[b].qs[i] = (int8_t)q[i];
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
        float dw = f16_to_f32(vlm_read_u16(p));
        return dw * x->d * (float)sum - 8.0f * dw * x->s;
    }
    case VLM_Q4_1: {
        const uint8_t *qs = p + 4;
        for (int j = 0; j < 16; j++) sum += (qs[j] & 0xf) * x->qs[j] + (qs[j] >> 4) * x->qs[j + 16];
        return f16_to_f32(vlm_read_u16(p)) * x->d * (float)sum + f16_to_f32(vlm_read_u16(p + 2)) * x->s;
    }
    case VLM_Q5_0: {
        uint32_t qh = vlm_read_u32(p + 2);
        const uint8_t *qs = p + 6;
        for (int j = 0; j < 16; j++) {
            int lo = (qs[j] & 0xf) | (((qh >> j) & 1) << 4);
            int hi = (qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4);
            sum += lo * x->qs[j] + hi * x->qs[j + 16];
        }
        float dw = f16_to_f32(vlm_read_u16(p));
        return dw * x->d * (float)sum - 16.0f * dw * x->s;
    }
    case VLM_Q8_0: {
        const int8_t *qs = (const int8_t *)(p + 2);
        for (int j = 0; j < 32; j++) sum += qs[j] * x->qs[j];
        return f16_to_f32(vlm_read_u16(p)) * x->d * (float)sum;
    }
    }
    return 0;
}

static size_t block_bytes(int type) {
    switch (type) { case VLM_Q4_0: return 18; case VLM_Q4_1: return 20; case VLM_Q5_0: return 22; default: return 34; }
}

void vlm_matvec_q8_portable(int type, const uint8_t *w, size_t row_bytes, size_t r0, size_t r1,
                            size_t cols, const vlm_q8_block *x, float *y) {
    size_t nb = cols / 32, bb = block_bytes(type);
    for (size_t r = r0; r < r1; r++) {
        const uint8_t *p = w + r * row_bytes;
        float acc = 0;
        for (size_t b = 0; b < nb; b++) acc += block_dot_portable(type, p + b * bb, &x[b]);
        y[r] = acc;
    }
}

void vlm_matvec_f32_portable(int type, const uint8_t *w, size_t row_bytes, size_t r0, size_t r1,
                                size_t cols, const float *x, float *y) {
    size_t nb = cols / 32, bb = block_bytes(type);
    for (size_t r = r0; r < r1; r++) {
        const uint8_t *p = w + r * row_bytes;
        float acc = 0;
        for (size_t b = 0; b < nb; b++, p += bb) {
            const float *xb = x + 32 * b;
            float d = f16_to_f32(vlm_read_u16(p)), s = 0;
            switch (type) {
            case VLM_Q4_0:
                for (int j = 0; j < 16; j++) s += ((p[2 + j] & 0xf) - 8) * xb[j] + ((p[2 + j] >> 4) - 8) * xb[j + 16];
                acc += d * s; break;
            case VLM_Q4_1: {
                float m = f16_to_f32(vlm_read_u16(p + 2)), sx = 0;
                for (int j = 0; j < 16; j++) { s += (p[4 + j] & 0xf) * xb[j] + (p[4 + j] >> 4) * xb[j + 16]; sx += xb[j] + xb[j + 16]; }
                acc += d * s + m * sx; break;
            }
            case VLM_Q5_0: {
                uint32_t qh = vlm_read_u32(p + 2);
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

/* ---- 16-bit activations (the Q8_0 output head) -------------------------------------------- */

int vlm_q16_supports(int type) { return type == VLM_Q8_0; }

void vlm_quantize_q16_portable(const float *x, size_t n, vlm_q16_block *out) {
    for (size_t b = 0; b < n / 32; b++) {
        int32_t q[32];
        int sum;
        float d = round_block(x + 32 * b, 32767.0f, q, &sum);
        for (int i = 0; i < 32; i++) out[b].qs[i] = (int16_t)q[i];
        out[b].d = d;
        out[b].s = d * (float)sum;
    }
}

void vlm_matvec_q16_portable(const uint8_t *w, size_t row_bytes, size_t r0, size_t r1,
                             size_t cols, const vlm_q16_block *x, float *y) {
    size_t nb = cols / 32;
    for (size_t r = r0; r < r1; r++) {
        const uint8_t *p = w + r * row_bytes;
        float acc = 0;
        for (size_t b = 0; b < nb; b++, p += 34) {
            int sum = 0;
            for (int j = 0; j < 32; j++) sum += (int8_t)p[2 + j] * x[b].qs[j];
            acc += f16_to_f32(vlm_read_u16(p)) * x[b].d * (float)sum;
        }
        y[r] = acc;
    }
}

void vlm_quantize_q16(const float *x, size_t n, vlm_q16_block *out) { vlm_quantize_q16_portable(x, n, out); }

void vlm_matvec_q16(int type, const void *w, size_t row_bytes, size_t row_begin, size_t row_end,
                    size_t cols, const vlm_q16_block *x, float *y, int force_portable) {
    (void)type; /* Q8_0 only (vlm_q16_supports) */
    int path = force_portable ? VLM_PATH_PORTABLE : vlm_cpu_path();
#if defined(__x86_64__)
    if (path == VLM_PATH_AVX512) { vlm_matvec_q16_avx512((const uint8_t *)w, row_bytes, row_begin, row_end, cols, x, y); return; }
    if (path == VLM_PATH_AVX2) { vlm_matvec_q16_avx2((const uint8_t *)w, row_bytes, row_begin, row_end, cols, x, y); return; }
#endif
    (void)path;
    vlm_matvec_q16_portable((const uint8_t *)w, row_bytes, row_begin, row_end, cols, x, y);
}

/* ---- dispatch ------------------------------------------------------------------------------ */

void vlm_quantize_q8(const float *x, size_t n, vlm_q8_block *out) {
#if defined(__x86_64__)
    if (vlm_cpu_path() >= VLM_PATH_AVX2) { vlm_quantize_q8_avx2(x, n, out); return; }
#endif
    vlm_quantize_q8_portable(x, n, out);
}

void vlm_matvec_q8(int type, const void *w, size_t row_bytes, size_t row_begin, size_t row_end,
                   size_t cols, const vlm_q8_block *x, float *y, int force_portable) {
    int path = force_portable ? VLM_PATH_PORTABLE : vlm_cpu_path();
    int k = vlm_is_k_type(type);
    vlm_matvec_q8_fn fn = k ? vlm_matvec_q8_k_portable : vlm_matvec_q8_portable;
#if defined(__x86_64__)
    if (path == VLM_PATH_AVX512) fn = k ? vlm_matvec_q8_k_avx512 : vlm_matvec_q8_avx512;
    else if (path == VLM_PATH_AVX2) fn = k ? vlm_matvec_q8_k_avx2 : vlm_matvec_q8_avx2;
#endif
    fn(type, (const uint8_t *)w, row_bytes, row_begin, row_end, cols, x, y);
}

void vlm_matvec_f32(int type, const void *w, size_t row_bytes, size_t row_begin, size_t row_end,
                    size_t cols, const float *x, float *y, int force_portable) {
    int path = force_portable ? VLM_PATH_PORTABLE : vlm_cpu_path();
    if (vlm_is_k_type(type)) { /* dequantized row by row, then the path's float dot */
        vlm_matvec_f32_k(type, (const uint8_t *)w, row_bytes, row_begin, row_end, cols, x, y);
        return;
    }
    vlm_matvec_f32_fn fn = vlm_matvec_f32_portable;
#if defined(__x86_64__)
    if (path == VLM_PATH_AVX512) fn = vlm_matvec_f32_avx512;
    else if (path == VLM_PATH_AVX2) fn = vlm_matvec_f32_avx2;
#endif
    fn(type, (const uint8_t *)w, row_bytes, row_begin, row_end, cols, x, y);
}
