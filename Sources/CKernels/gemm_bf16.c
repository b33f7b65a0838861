/* gemm_bf16.h. Packed tile t holds rows [32t, 32t + 32) as [k/2 pairs][32 rows][2 values], so
   one 64-byte load is 16 rows' values (2c, 2c + 1) and vdpbf16ps against a broadcast pair of
   activations adds both products into 16 float lanes. Tokens go in blocks of 128 (their bf16
   rows stay in L2) and then 8 at a time, 16 accumulators, against each tile. */
#include "gemm_bf16.h"
#include "cpu_path.h"
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

enum { TILE = 32, TOKENS = 8, TOKEN_BLOCK = 128 };

int vlm_gemm_bf16_supports(void) {
    return vlm_cpu_path() == VLM_PATH_AVX512 && vlm_cpu_has_avx512_bf16();
}

static size_t even(size_t k) { return (k + 1) & ~(size_t)1; }

size_t vlm_bf16_packed_count(size_t n, size_t k) { return (n + TILE - 1) / TILE * TILE * even(k); }

/* Round to nearest even (NaN stays NaN), as torch's float -> bfloat16. */
static uint16_t to_bf16(float f) {
    uint32_t b;
    memcpy(&b, &f, 4);
    if ((b & 0x7fffffff) > 0x7f800000) return (uint16_t)((b >> 16) | 0x40);
    return (uint16_t)((b + 0x7fff + ((b >> 16) & 1)) >> 16);
}

void vlm_bf16_pack(const float *w, size_t n, size_t k, uint16_t *packed) {
    size_t k2 = even(k), tiles = (n + TILE - 1) / TILE;
    memset(packed, 0, vlm_bf16_packed_count(n, k) * sizeof(uint16_t));
    for (size_t t = 0; t < tiles; t++) {
        uint16_t *tile = packed + t * TILE * k2;
        for (size_t j = 0; j < TILE && t * TILE + j < n; j++) {
            const float *row = w + (t * TILE + j) * k;
            for (size_t c = 0; c < k; c++) tile[(c / 2) * TILE * 2 + j * 2 + (c & 1)] = to_bf16(row[c]);
        }
    }
}

#if defined(__x86_64__)
#define B16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,avx2,fma,f16c")))

/* T (1..8, constant after inlining) tokens of bf16 rows `xb` (k2 values apart) against one tile. */
B16 static inline __attribute__((always_inline)) void tile_tokens(const uint16_t *tile, size_t pairs, const uint16_t *xb,
                                                                 size_t k2, int T, float *y, size_t ldy, size_t n) {
    __m512 acc[TOKENS][2];
    for (int i = 0; i < T; i++) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
    for (size_t p = 0; p < pairs; p++) {
        __m512bh w0 = (__m512bh)_mm512_loadu_si512((const void *)(tile + p * TILE * 2));
        __m512bh w1 = (__m512bh)_mm512_loadu_si512((const void *)(tile + p * TILE * 2 + 32));
        for (int i = 0; i < T; i++) {
            int32_t pair;
            memcpy(&pair, xb + i * k2 + 2 * p, 4);
            __m512bh xv = (__m512bh)_mm512_set1_epi32(pair);
            acc[i][0] = _mm512_dpbf16_ps(acc[i][0], w0, xv);
            acc[i][1] = _mm512_dpbf16_ps(acc[i][1], w1, xv);
        }
    }
    __mmask16 m0 = n >= 16 ? 0xFFFF : (__mmask16)((1u << n) - 1);
    __mmask16 m1 = n >= 32 ? 0xFFFF : n <= 16 ? 0 : (__mmask16)((1u << (n - 16)) - 1);
    for (int i = 0; i < T; i++) {
        _mm512_mask_storeu_ps(y + i * ldy, m0, acc[i][0]);
        _mm512_mask_storeu_ps(y + i * ldy + 16, m1, acc[i][1]);
    }
}

/* Rows of x to bf16, k2 values per row (an odd k ends with a zero). */
B16 static void round_rows(const float *x, size_t rows, size_t ldx, size_t k, uint16_t *out, size_t k2) {
    for (size_t r = 0; r < rows; r++) {
        const float *src = x + r * ldx;
        uint16_t *dst = out + r * k2;
        size_t c = 0;
        for (; c + 32 <= k; c += 32) {
            __m512bh v = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(src + c + 16), _mm512_loadu_ps(src + c));
            _mm512_storeu_si512((void *)(dst + c), (__m512i)v);
        }
        for (; c < k; c++) dst[c] = to_bf16(src[c]);
        if (k2 > k) dst[k] = 0;
    }
}

B16 static void gemm(const uint16_t *packed, size_t n, size_t k, const float *x, size_t m, size_t ldx,
                     float *y, size_t ldy, uint16_t *xb) {
    size_t k2 = even(k), pairs = k2 / 2, tiles = (n + TILE - 1) / TILE;
    for (size_t i0 = 0; i0 < m; i0 += TOKEN_BLOCK) {
        size_t rows = m - i0 < TOKEN_BLOCK ? m - i0 : TOKEN_BLOCK;
        round_rows(x + i0 * ldx, rows, ldx, k, xb, k2);
        for (size_t t = 0; t < tiles; t++) {
            const uint16_t *tile = packed + t * TILE * k2;
            size_t cols = n - t * TILE < TILE ? n - t * TILE : TILE;
            float *yt = y + i0 * ldy + t * TILE;
            size_t i = 0;
            for (; i + TOKENS <= rows; i += TOKENS) tile_tokens(tile, pairs, xb + i * k2, k2, TOKENS, yt + i * ldy, ldy, cols);
            switch (rows - i) {
            case 7: tile_tokens(tile, pairs, xb + i * k2, k2, 7, yt + i * ldy, ldy, cols); break;
            case 6: tile_tokens(tile, pairs, xb + i * k2, k2, 6, yt + i * ldy, ldy, cols); break;
            case 5: tile_tokens(tile, pairs, xb + i * k2, k2, 5, yt + i * ldy, ldy, cols); break;
            case 4: tile_tokens(tile, pairs, xb + i * k2, k2, 4, yt + i * ldy, ldy, cols); break;
            case 3: tile_tokens(tile, pairs, xb + i * k2, k2, 3, yt + i * ldy, ldy, cols); break;
            case 2: tile_tokens(tile, pairs, xb + i * k2, k2, 2, yt + i * ldy, ldy, cols); break;
            case 1: tile_tokens(tile, pairs, xb + i * k2, k2, 1, yt + i * ldy, ldy, cols); break;
            default: break;
            }
        }
    }
}
#endif

int vlm_gemm_bf16(const uint16_t *packed, size_t n, size_t k, const float *x, size_t m, size_t ldx,
                  float *y, size_t ldy) {
    if (!vlm_gemm_bf16_supports()) return 0;
#if defined(__x86_64__)
    uint16_t *xb = malloc(TOKEN_BLOCK * even(k) * sizeof(uint16_t));
    if (!xb) return 0;
    gemm(packed, n, k, x, m, ldx, y, ldy, xb);
    free(xb);
    return 1;
#else
    (void)packed; (void)n; (void)k; (void)x; (void)m; (void)ldx; (void)y; (void)ldy;
    return 0;
#endif
}
