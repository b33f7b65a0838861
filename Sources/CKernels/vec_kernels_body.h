/* The body of vec_kernels.c, included once per CPU path with TGT (a target attribute, or
   nothing), SUFFIX (the path's name) and HAS_F16C defined. Every function is static; the
   dispatchers in vec_kernels.c call the variant of the path in force. */

#define VK_CAT2(a, b) a##_##b
#define VK_CAT(a, b) VK_CAT2(a, b)
#define FN(name) VK_CAT(name, SUFFIX)
#define INL TGT static inline __attribute__((always_inline))

INL vf FN(load)(const float *p) { vf v; memcpy(&v, p, sizeof v); return v; }
INL void FN(store)(float *p, vf v) { memcpy(p, &v, sizeof v); }
/* The first n < 16 values, the rest `fill`. */
INL vf FN(load_part)(const float *p, size_t n, float fill) {
    float t[16];
    for (int i = 0; i < 16; i++) t[i] = fill;
    memcpy(t, p, n * sizeof(float));
    return FN(load)(t);
}
INL void FN(store_part)(float *p, vf v, size_t n) { float t[16]; FN(store)(t, v); memcpy(p, t, n * sizeof(float)); }
INL float FN(hsum)(vf v) {
    float s = 0;
    for (int i = 0; i < 16; i++) s += v[i];
    return s;
}
INL float FN(hmax)(vf v) {
    float m = v[0];
    for (int i = 1; i < 16; i++) m = v[i] > m ? v[i] : m;
    return m;
}
INL vf FN(splat)(float x) { return (vf){ x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x }; }

INL vf FN(exp)(vf input) {
    vf x = __builtin_elementwise_min(__builtin_elementwise_max(input, FN(splat)(-87.3f)), FN(splat)(88.7f));
    const vf magic = FN(splat)(12582912.0f); /* 1.5 * 2^23: n = round(x / ln 2) in the low mantissa */
    vf shifted = x * 1.44269504088896341f + magic;
    vf n = shifted - magic;
    x = x - n * 0.693359375f;
    x = x + n * 2.12194440e-4f;
    vf z = x * x;
    vf y = FN(splat)(1.9875691500e-4f);
    y = y * x + 1.3981999507e-3f;
    y = y * x + 8.3334519073e-3f;
    y = y * x + 4.1665795894e-2f;
    y = y * x + 1.6666665459e-1f;
    y = y * x + 5.0000001201e-1f;
    y = y * z + x + 1.0f;
    vi bits = (vi)shifted - (vi)magic;
    return y * (vf)((bits + 127) << 23);
}

/* 16 halves to floats. */
INL vf FN(half16)(const uint16_t *p) {
#if HAS_F16C
    vh h; memcpy(&h, p, sizeof h);
    return __builtin_convertvector(h, vf);
#else
    /* Bit arithmetic: exponent rebias by a multiply by 2^112 (right for subnormals too),
       then infinities and NaNs get the all-ones exponent. */
    vu16 h16; memcpy(&h16, p, sizeof h16);
    vi h = __builtin_convertvector(h16, vi);
    vi mag = (h & 0x7fff) << 13;
    vf f = (vf)mag * 0x1p112f;
    vi bits = (vi)f | ((h & 0x8000) << 16);
    bits |= ((h & 0x7c00) == 0x7c00) & 0x7f800000;
    return (vf)bits;
#endif
}

TGT static void FN(f16_to_f32)(const uint16_t *src, float *dst, size_t n) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16) FN(store)(dst + i, FN(half16)(src + i));
    if (i < n) {
        uint16_t t[16] = { 0 };
        memcpy(t, src + i, (n - i) * 2);
        FN(store_part)(dst + i, FN(half16)(t), n - i);
    }
}

TGT static void FN(f32_to_f16)(const float *src, uint16_t *dst, size_t n) {
    size_t i = 0;
#if HAS_F16C
    for (; i + 16 <= n; i += 16) {
        vh h = __builtin_convertvector(FN(load)(src + i), vh);
        memcpy(dst + i, &h, sizeof h);
    }
#endif
    for (; i < n; i++) { _Float16 h = (_Float16)src[i]; memcpy(dst + i, &h, 2); }
}

TGT static float FN(dot)(const float *a, const float *b, size_t n) {
    vf acc0 = FN(splat)(0), acc1 = FN(splat)(0);
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        acc0 += FN(load)(a + i) * FN(load)(b + i);
        acc1 += FN(load)(a + i + 16) * FN(load)(b + i + 16);
    }
    for (; i + 16 <= n; i += 16) acc0 += FN(load)(a + i) * FN(load)(b + i);
    float s = FN(hsum)(acc0 + acc1);
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}

TGT static void FN(axpy)(float a, const float *x, float *y, size_t n) {
    vf av = FN(splat)(a);
    size_t i = 0;
    for (; i + 16 <= n; i += 16) FN(store)(y + i, FN(load)(y + i) + av * FN(load)(x + i));
    for (; i < n; i++) y[i] += a * x[i];
}

TGT static void FN(add)(float *dst, const float *src, size_t n) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16) FN(store)(dst + i, FN(load)(dst + i) + FN(load)(src + i));
    for (; i < n; i++) dst[i] += src[i];
}

TGT static float FN(exp_sum)(float *x, size_t n, float m) {
    vf mv = FN(splat)(m), acc = FN(splat)(0);
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        vf e = FN(exp)(FN(load)(x + i) - mv);
        FN(store)(x + i, e);
        acc += e;
    }
    float s = FN(hsum)(acc);
    if (i < n) {
        vf e = FN(exp)(FN(load_part)(x + i, n - i, m) - mv);
        FN(store_part)(x + i, e, n - i);
        for (size_t j = 0; j < n - i; j++) s += e[j];
    }
    return s;
}

TGT static float FN(max)(const float *x, size_t n) {
    size_t i = 0;
    float m = x[0];
    if (n >= 16) {
        vf mv = FN(load)(x);
        for (i = 16; i + 16 <= n; i += 16) mv = __builtin_elementwise_max(mv, FN(load)(x + i));
        m = FN(hmax)(mv);
    }
    for (; i < n; i++) m = x[i] > m ? x[i] : m;
    return m;
}

TGT static void FN(scale)(float *x, size_t n, float s) {
    vf sv = FN(splat)(s);
    size_t i = 0;
    for (; i + 16 <= n; i += 16) FN(store)(x + i, FN(load)(x + i) * sv);
    for (; i < n; i++) x[i] *= s;
}

TGT static void FN(softmax)(float *x, size_t n) {
    if (n == 0) return;
    float sum = FN(exp_sum)(x, n, FN(max)(x, n));
    FN(scale)(x, n, 1.0f / sum);
}

/* act(v) for the kinds with an exponential form: tanh(u) = 1 - 2/(e^{2u} + 1), sigmoid(v) = 1/(1 + e^{-v}). */
INL vf FN(act)(int kind, vf v) {
    switch (kind) {
    case VLM_ACT_GELU_TANH: {
        vf u = 0.7978845608028654f * (v + 0.044715f * v * v * v);
        vf t = 1.0f - 2.0f / (FN(exp)(2.0f * u) + 1.0f);
        return 0.5f * v * (1.0f + t);
    }
    case VLM_ACT_QUICK_GELU: return v / (1.0f + FN(exp)(-1.702f * v));
    default: return v / (1.0f + FN(exp)(-v));
    }
}

TGT static void FN(activation)(int kind, float *x, size_t n) {
    size_t i = 0;
    if (kind == VLM_ACT_GELU) {
        for (; i < n; i++) x[i] = 0.5f * x[i] * (1.0f + erff(x[i] * 0.7071067811865476f));
        return;
    }
    for (; i + 16 <= n; i += 16) FN(store)(x + i, FN(act)(kind, FN(load)(x + i)));
    if (i < n) FN(store_part)(x + i, FN(act)(kind, FN(load_part)(x + i, n - i, 0)), n - i);
}

TGT static void FN(activation_gated)(int kind, float *gate, const float *up, size_t n) {
    size_t i = 0;
    if (kind == VLM_ACT_GELU) {
        for (; i < n; i++) gate[i] = 0.5f * gate[i] * (1.0f + erff(gate[i] * 0.7071067811865476f)) * up[i];
        return;
    }
    for (; i + 16 <= n; i += 16) FN(store)(gate + i, FN(act)(kind, FN(load)(gate + i)) * FN(load)(up + i));
    if (i < n) {
        vf g = FN(act)(kind, FN(load_part)(gate + i, n - i, 0)) * FN(load_part)(up + i, n - i, 0);
        FN(store_part)(gate + i, g, n - i);
    }
}

TGT static void FN(rmsnorm)(const float *x, float *y, size_t rows, size_t width, const float *w, float eps, float offset) {
    vf off = FN(splat)(offset);
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * width;
        float *yr = y + r * width;
        float inv = 1.0f / sqrtf(FN(dot)(xr, xr, width) / (float)width + eps);
        vf iv = FN(splat)(inv);
        size_t i = 0;
        for (; i + 16 <= width; i += 16) FN(store)(yr + i, FN(load)(xr + i) * iv * (FN(load)(w + i) + off));
        for (; i < width; i++) yr[i] = xr[i] * inv * (w[i] + offset);
    }
}

TGT static void FN(layernorm)(const float *x, float *y, size_t rows, size_t width, const float *w, const float *b, float eps) {
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * width;
        float *yr = y + r * width;
        vf acc = FN(splat)(0);
        size_t i = 0;
        for (; i + 16 <= width; i += 16) acc += FN(load)(xr + i);
        float mean = FN(hsum)(acc);
        for (; i < width; i++) mean += xr[i];
        mean /= (float)width;
        vf mv = FN(splat)(mean), var = FN(splat)(0);
        for (i = 0; i + 16 <= width; i += 16) { vf d = FN(load)(xr + i) - mv; var += d * d; }
        float variance = FN(hsum)(var);
        for (; i < width; i++) { float d = xr[i] - mean; variance += d * d; }
        float inv = 1.0f / sqrtf(variance / (float)width + eps);
        vf iv = FN(splat)(inv);
        for (i = 0; i + 16 <= width; i += 16) {
            vf v = (FN(load)(xr + i) - mv) * iv * FN(load)(w + i);
            FN(store)(yr + i, b ? v + FN(load)(b + i) : v);
        }
        for (; i < width; i++) yr[i] = (xr[i] - mean) * inv * w[i] + (b ? b[i] : 0.0f);
    }
}

/* One cached row as floats: float16 rows are widened into `buf`, float32 rows used in place. */
INL const float *FN(cached_row)(const void *base, int is_f16, size_t index, size_t head_dim, float *buf) {
    if (!is_f16) return (const float *)base + index;
    FN(f16_to_f32)((const uint16_t *)base + index, buf, head_dim);
    return buf;
}

TGT static void FN(attend)(const float *q, size_t group, size_t hd, const void *keys, const void *values,
                           int is_f16, size_t stride, size_t lo, size_t hi, float scale, float *scores,
                           float *out, float *m_out, float *s_out, int normalize) {
    size_t n = hi - lo;
    float buf[512];
    for (size_t j = lo; j < hi; j++) {
        const float *k = FN(cached_row)(keys, is_f16, j * stride, hd, buf);
        for (size_t g = 0; g < group; g++) scores[g * n + j - lo] = FN(dot)(q + g * hd, k, hd) * scale;
    }
    for (size_t g = 0; g < group; g++) {
        float m = n ? FN(max)(scores + g * n, n) : 0.0f;
        float s = FN(exp_sum)(scores + g * n, n, m);
        if (normalize) FN(scale)(scores + g * n, n, s > 0 ? 1.0f / s : 0.0f);
        if (m_out) m_out[g] = m;
        if (s_out) s_out[g] = s;
    }
    memset(out, 0, group * hd * sizeof(float));
    for (size_t j = lo; j < hi; j++) {
        const float *v = FN(cached_row)(values, is_f16, j * stride, hd, buf);
        for (size_t g = 0; g < group; g++) FN(axpy)(scores[g * n + j - lo], v, out + g * hd, hd);
    }
}

#undef FN
#undef INL
#undef VK_CAT
#undef VK_CAT2
