/* gemm_q16.h on AVX-512 VNNI. Weight rows are repacked 32 at a time into the layout vpdpwssd
   wants (per block, 16 steps of 2 int16 values for each of the 32 rows), with their block
   scales and offset terms as float vectors; four tokens at a time then multiply-add broadcast
   activation pairs against them. Signed weight values v and the offset per block:
     Q8_0: v = q        Q4_0: v = q - 8        Q5_0: v = q - 16        (y += dw dx Σ v qx)
     Q4_1: v = q, and y += m s besides (s = dx Σ qx, kept with each activation block). */
#include "gemm_q16.h"
#include "cpu_path.h"
#include "quant_dot_paths.h"
#include <stdlib.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

int vlm_gemm_q16_supports(int type) {
#if defined(__x86_64__)
    return vlm_cpu_path() == VLM_PATH_AVX512 &&
           (type == VLM_Q4_0 || type == VLM_Q4_1 || type == VLM_Q5_0 || type == VLM_Q8_0);
#else
    (void)type;
    return 0;
#endif
}

#if defined(__x86_64__)
#define G512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma,f16c")))
enum { TILE = 32 };

typedef struct {
    int16_t *v;     /* [block][step 0..15][row 0..31][2 values] */
    float *scale;   /* [block][row] dw */
    float *coef;    /* [block][row] the offset coefficient of s */
} packed_tile;

float vlm_f16_scalar(uint16_t h);

/* Signed values 0..31 of one block of `type` at p, and its scale and offset coefficient. */
static void unpack_block(int type, const uint8_t *p, int16_t v[32], float *scale, float *coef) {
    float d = vlm_f16_scalar(vlm_read_u16(p));
    *scale = d;
    *coef = 0;
    switch (type) {
    case VLM_Q8_0:
        for (int i = 0; i < 32; i++) v[i] = (int8_t)p[2 + i];
        break;
    case VLM_Q4_0:
        for (int i = 0; i < 16; i++) { v[i] = (int16_t)((p[2 + i] & 0xF) - 8); v[i + 16] = (int16_t)((p[2 + i] >> 4) - 8); }
        break;
    case VLM_Q4_1:
        for (int i = 0; i < 16; i++) { v[i] = p[4 + i] & 0xF; v[i + 16] = p[4 + i] >> 4; }
        *coef = vlm_f16_scalar(vlm_read_u16(p + 2));
        break;
    default: { /* Q5_0 */
        uint32_t qh = vlm_read_u32(p + 2);
        for (int i = 0; i < 16; i++) {
            v[i] = (int16_t)(((p[6 + i] & 0xF) | (((qh >> i) & 1) << 4)) - 16);
            v[i + 16] = (int16_t)(((p[6 + i] >> 4) | (((qh >> (i + 16)) & 1) << 4)) - 16);
        }
    }
    }
}

/* Rows [r, r + n) (n <= 32) into the tile; missing rows are zero (they produce zeros). */
static void pack_tile(int type, const uint8_t *w, size_t row_bytes, size_t r, size_t n, size_t nb, size_t bb, packed_tile *t) {
    memset(t->v, 0, nb * 16 * TILE * 2 * sizeof(int16_t));
    memset(t->scale, 0, nb * TILE * sizeof(float));
    memset(t->coef, 0, nb * TILE * sizeof(float));
    for (size_t j = 0; j < n; j++) {
        const uint8_t *row = w + (r + j) * row_bytes;
        for (size_t b = 0; b < nb; b++) {
            int16_t v[32];
            unpack_block(type, row + b * bb, v, &t->scale[b * TILE + j], &t->coef[b * TILE + j]);
            int16_t *dst = t->v + b * 16 * TILE * 2;
            for (int s = 0; s < 16; s++) memcpy(dst + (s * TILE + j) * 2, v + 2 * s, 2 * sizeof(int16_t));
        }
    }
}

/* T tokens (1..4, a constant after inlining) against one packed tile of 32 rows. */
G512 static inline __attribute__((always_inline)) void tile_rows(const packed_tile *pt, size_t nb, const vlm_q16_block *x,
                                                               size_t nbx, int T, int offset, float *y, size_t ldy, size_t n) {
    __m512 acc[4][2];
    for (int i = 0; i < T; i++) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
    for (size_t b = 0; b < nb; b++) {
        __m512i ia[4][2];
        for (int i = 0; i < T; i++) ia[i][0] = ia[i][1] = _mm512_setzero_si512();
        const int16_t *v = pt->v + b * 16 * TILE * 2;
        for (int s = 0; s < 16; s++) {
            __m512i w0 = _mm512_loadu_si512((const void *)(v + s * TILE * 2));
            __m512i w1 = _mm512_loadu_si512((const void *)(v + s * TILE * 2 + 32));
            for (int i = 0; i < T; i++) {
                int32_t pair;
                memcpy(&pair, x[i * nbx + b].qs + 2 * s, 4);
                __m512i xv = _mm512_set1_epi32(pair);
                ia[i][0] = _mm512_dpwssd_epi32(ia[i][0], w0, xv);
                ia[i][1] = _mm512_dpwssd_epi32(ia[i][1], w1, xv);
            }
        }
        __m512 s0 = _mm512_loadu_ps(pt->scale + b * TILE), s1 = _mm512_loadu_ps(pt->scale + b * TILE + 16);
        __m512 c0 = _mm512_loadu_ps(pt->coef + b * TILE), c1 = _mm512_loadu_ps(pt->coef + b * TILE + 16);
        for (int i = 0; i < T; i++) {
            const vlm_q16_block *xb = &x[i * nbx + b];
            __m512 dx = _mm512_set1_ps(xb->d), sx = _mm512_set1_ps(xb->s);
            acc[i][0] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(ia[i][0]), _mm512_mul_ps(s0, dx), acc[i][0]);
            acc[i][1] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(ia[i][1]), _mm512_mul_ps(s1, dx), acc[i][1]);
            if (offset) { /* Q4_1's min; a constant after inlining */
                acc[i][0] = _mm512_fmadd_ps(c0, sx, acc[i][0]);
                acc[i][1] = _mm512_fmadd_ps(c1, sx, acc[i][1]);
            }
        }
    }
    __mmask16 m0 = n >= 16 ? 0xFFFF : (__mmask16)((1u << n) - 1);
    __mmask16 m1 = n >= 32 ? 0xFFFF : n <= 16 ? 0 : (__mmask16)((1u << (n - 16)) - 1);
    for (int i = 0; i < T; i++) {
        _mm512_mask_storeu_ps(y + i * ldy, m0, acc[i][0]);
        _mm512_mask_storeu_ps(y + i * ldy + 16, m1, acc[i][1]);
    }
}

/* All t tokens against one packed tile, four at a time. */
G512 static inline __attribute__((always_inline)) void tokens(const packed_tile *pt, size_t nb, const vlm_q16_block *x,
                                                            size_t t, int offset, float *y, size_t ldy, size_t n) {
    size_t i = 0;
    for (; i + 4 <= t; i += 4) tile_rows(pt, nb, x + i * nb, nb, 4, offset, y + i * ldy, ldy, n);
    switch (t - i) {
    case 3: tile_rows(pt, nb, x + i * nb, nb, 3, offset, y + i * ldy, ldy, n); break;
    case 2: tile_rows(pt, nb, x + i * nb, nb, 2, offset, y + i * ldy, ldy, n); break;
    case 1: tile_rows(pt, nb, x + i * nb, nb, 1, offset, y + i * ldy, ldy, n); break;
    default: break;
    }
}

G512 static void gemm_avx512(int type, const uint8_t *w, size_t row_bytes, size_t r0, size_t r1, size_t cols,
                             const vlm_q16_block *x, size_t t, float *y, size_t ldy, packed_tile *pt) {
    size_t nb = cols / 32;
    size_t bb = type == VLM_Q4_0 ? 18 : type == VLM_Q4_1 ? 20 : type == VLM_Q5_0 ? 22 : 34;
    for (size_t r = r0; r < r1; r += TILE) {
        size_t n = r1 - r < TILE ? r1 - r : TILE;
        pack_tile(type, w, row_bytes, r, n, nb, bb, pt);
        if (type == VLM_Q4_1) tokens(pt, nb, x, t, 1, y + r, ldy, n);
        else tokens(pt, nb, x, t, 0, y + r, ldy, n);
    }
}
#endif

int vlm_gemm_q16(int type, const void *w, size_t row_bytes, size_t r0, size_t r1, size_t cols,
                 const vlm_q16_block *x, size_t t, float *y, size_t ldy) {
    if (!vlm_gemm_q16_supports(type)) return 0;
#if defined(__x86_64__)
    size_t nb = cols / 32;
    size_t vbytes = nb * 16 * TILE * 2 * sizeof(int16_t), fbytes = nb * TILE * sizeof(float);
    packed_tile pt;
    void *mem = aligned_alloc(64, (vbytes + 2 * fbytes + 63) / 64 * 64);
    if (!mem) return 0;
    pt.v = mem;
    pt.scale = (float *)((uint8_t *)mem + vbytes);
    pt.coef = pt.scale + nb * TILE;
    gemm_avx512(type, (const uint8_t *)w, row_bytes, r0, r1, cols, x, t, y, ldy, &pt);
    free(mem);
    return 1;
#else
    (void)w; (void)row_bytes; (void)r0; (void)r1; (void)cols; (void)x; (void)t; (void)y; (void)ldy;
    return 0;
#endif
}
