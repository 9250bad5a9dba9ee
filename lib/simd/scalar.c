/*
 * scalar.c -- the reference kernels: plain C11 + libm, no intrinsics. Every
 * other variant is tested against these (tests/unit/simd), and these are
 * tested against float64 math. Reductions accumulate in double so that the
 * reference is at least as accurate as any vector variant.
 */
#include <math.h>
#include <string.h>

#include "half.h"
#include "scalar_gemm.h"
#include "special.h"
#include "tables.h"

#define SQRT1_2 0.70710678118654752440 /* 1/sqrt(2): erf-form GELU argument scale */
#define SQRT_2_PI 0.79788456080286535588 /* sqrt(2/pi): tanh-form GELU constant */
#define GELU_TANH_C 0.044715              /* cubic coefficient of the tanh form */

static float dot(const float *a, const float *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)a[i] * b[i];
    return (float)s;
}

static void axpy(float *y, float a, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] += a * x[i];
}

static void scale(float *x, float a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] *= a;
}

static void add(float *y, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] += x[i];
}

static void mul(float *y, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] *= x[i];
}

static void vexp(float *y, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = expf(x[i]);
}

bool tdiff__softmax_nonfinite(float *x, size_t n, float max, bool has_nan, bool log_form, float *lse)
{
    if (has_nan) {
        for (size_t i = 0; i < n; i++)
            x[i] = NAN;
        *lse = NAN;
        return true;
    }
    if (max == -INFINITY) { /* every entry is -inf: no mass anywhere */
        for (size_t i = 0; i < n; i++)
            x[i] = log_form ? -INFINITY : 0.0f;
        *lse = -INFINITY;
        return true;
    }
    if (max == INFINITY) { /* the limit: the +inf entries share the mass equally */
        size_t c = 0;
        for (size_t i = 0; i < n; i++)
            c += x[i] == INFINITY;
        const float in = log_form ? -logf((float)c) : 1.0f / (float)c;
        const float out = log_form ? -INFINITY : 0.0f;
        for (size_t i = 0; i < n; i++)
            x[i] = x[i] == INFINITY ? in : out;
        *lse = INFINITY;
        return true;
    }
    return false;
}

/* Largest non-NaN value (-inf when none) and whether any NaN is present. */
static float max_and_nan(const float *x, size_t n, bool *has_nan)
{
    float m = -INFINITY;
    *has_nan = false;
    for (size_t i = 0; i < n; i++) {
        if (isnan(x[i]))
            *has_nan = true;
        else if (x[i] > m)
            m = x[i];
    }
    return m;
}

static float softmax(float *x, size_t n)
{
    if (n == 0)
        return -INFINITY;
    bool has_nan;
    const float m = max_and_nan(x, n, &has_nan);
    float lse;
    if (tdiff__softmax_nonfinite(x, n, m, has_nan, false, &lse))
        return lse;
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        x[i] = expf(x[i] - m);
        s += x[i];
    }
    const float inv = (float)(1.0 / s);
    for (size_t i = 0; i < n; i++)
        x[i] *= inv;
    return m + (float)log(s);
}

static float log_softmax(float *x, size_t n)
{
    if (n == 0)
        return -INFINITY;
    bool has_nan;
    const float m = max_and_nan(x, n, &has_nan);
    float lse;
    if (tdiff__softmax_nonfinite(x, n, m, has_nan, true, &lse))
        return lse;
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += expf(x[i] - m);
    const float ls = (float)log(s);
    for (size_t i = 0; i < n; i++)
        x[i] = (x[i] - m) - ls;
    return m + ls;
}

static void rmsnorm(float *y, const float *x, const float *w, size_t n, float eps)
{
    if (n == 0)
        return;
    double ss = 0;
    for (size_t i = 0; i < n; i++)
        ss += (double)x[i] * x[i];
    const float r = (float)(1.0 / sqrt(ss / (double)n + eps));
    for (size_t i = 0; i < n; i++)
        y[i] = x[i] * r * (w ? w[i] : 1.0f);
}

static void layernorm(float *y, const float *x, const float *w, const float *b, size_t n, float eps)
{
    if (n == 0)
        return;
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += x[i];
    const double mean = s / (double)n;
    double v = 0; /* two-pass variance: no cancellation for large means */
    for (size_t i = 0; i < n; i++)
        v += (x[i] - mean) * (x[i] - mean);
    const float r = (float)(1.0 / sqrt(v / (double)n + eps));
    const float mu = (float)mean;
    for (size_t i = 0; i < n; i++)
        y[i] = (x[i] - mu) * r * (w ? w[i] : 1.0f) + (b ? b[i] : 0.0f);
}

/* 1/(1+exp(-t)) through exp(-|t|), which never overflows: keeps x*sigmoid(x)
 * right down into the subnormals for x << 0. */
static float sigmoid1(float t)
{
    const float e = expf(-fabsf(t));
    return (t < 0 ? e : 1.0f) / (1.0f + e);
}

static float silu1(float x)
{
    return x * sigmoid1(x);
}

static void silu(float *y, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = silu1(x[i]);
}

static void gelu(float *y, const float *x, size_t n)
{
    /* x*Phi(x) = x/2 * erfc(-x/sqrt2): erfc keeps relative accuracy for x << 0 */
    for (size_t i = 0; i < n; i++)
        y[i] = 0.5f * x[i] * erfcf(-x[i] * (float)SQRT1_2);
}

static void gelu_tanh(float *y, const float *x, size_t n)
{
    /* x/2*(1+tanh(u)) = x*sigmoid(2u): no cancellation for x << 0 */
    for (size_t i = 0; i < n; i++) {
        const float v = x[i];
        const float u = (float)SQRT_2_PI * (v + (float)GELU_TANH_C * v * v * v);
        y[i] = v * sigmoid1(2.0f * u);
    }
}

static void swiglu(float *y, const float *gate, const float *up, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = silu1(gate[i]) * up[i];
}

static size_t argmax(const float *x, size_t n)
{
    size_t best = 0;
    bool found = false;
    for (size_t i = 0; i < n; i++) {
        if (isnan(x[i]))
            continue;
        if (!found || x[i] > x[best]) {
            best = i;
            found = true;
        }
    }
    return best;
}

/* Insertion into a sorted prefix: simple, and obviously right, which is what a
 * reference needs. Indices arrive in increasing order, so an equal value never
 * moves ahead of an earlier one (ties by lower index). */
static size_t topk(const float *x, size_t n, size_t k, uint32_t *idx, float *val)
{
    if (k > n)
        k = n;
    size_t m = 0;
    for (size_t i = 0; i < n && k > 0; i++) {
        const float v = x[i];
        if (isnan(v))
            continue;
        if (m == k && !(v > x[idx[m - 1]]))
            continue;
        size_t pos = m < k ? m++ : k - 1;
        while (pos > 0 && v > x[idx[pos - 1]]) {
            idx[pos] = idx[pos - 1];
            pos--;
        }
        idx[pos] = (uint32_t)i;
    }
    if (val)
        for (size_t j = 0; j < m; j++)
            val[j] = x[idx[j]];
    return m;
}

static void f16_to_f32(float *y, const uint16_t *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = tdiff__f16_to_f32(x[i]);
}

static void bf16_to_f32(float *y, const uint16_t *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = tdiff__bf16_to_f32(x[i]);
}

static void dequant_q8_0(float *y, const void *blocks, size_t n)
{
    const unsigned char *p = blocks;
    for (size_t b = 0; b < n / TDIFF__QK; b++, p += sizeof(tdiff__block_q8_0)) {
        tdiff__block_q8_0 blk;
        memcpy(&blk, p, sizeof blk); /* blocks are only byte-aligned */
        const float d = tdiff__f16_to_f32(blk.d);
        for (size_t j = 0; j < TDIFF__QK; j++)
            y[b * TDIFF__QK + j] = d * (float)blk.qs[j];
    }
}

static void dequant_q4_0(float *y, const void *blocks, size_t n)
{
    const unsigned char *p = blocks;
    for (size_t b = 0; b < n / TDIFF__QK; b++, p += sizeof(tdiff__block_q4_0)) {
        tdiff__block_q4_0 blk;
        memcpy(&blk, p, sizeof blk);
        const float d = tdiff__f16_to_f32(blk.d);
        float *o = y + b * TDIFF__QK;
        for (size_t j = 0; j < TDIFF__QK / 2; j++) {
            o[j] = d * (float)((int)(blk.qs[j] & 15) - 8);
            o[j + TDIFF__QK / 2] = d * (float)((int)(blk.qs[j] >> 4) - 8);
        }
    }
}

/* One sub-block of a K-quant: y[i] = d1 * q[i] - m1 (two roundings, no FMA). */
static void kq_affine(float *y, const uint8_t *q, size_t n, float d1, float m1, int offset)
{
    for (size_t i = 0; i < n; i++)
        y[i] = d1 * (float)((int)q[i] - offset) - m1;
}

static void dequant_q4_k(float *y, const void *blocks, size_t n) { tdiff__kq_dequant_q45_k(y, blocks, n, 0, kq_affine); }
static void dequant_q5_k(float *y, const void *blocks, size_t n) { tdiff__kq_dequant_q45_k(y, blocks, n, 1, kq_affine); }
static void dequant_q6_k(float *y, const void *blocks, size_t n) { tdiff__kq_dequant_q6_k(y, blocks, n, kq_affine); }

const tdiff__kernels tdiff__kernels_scalar = {
    .isa = TDIFF_ISA_SCALAR,
    .name = "scalar",
    .dot = dot,
    .axpy = axpy,
    .scale = scale,
    .add = add,
    .mul = mul,
    .exp = vexp,
    .softmax = softmax,
    .log_softmax = log_softmax,
    .rmsnorm = rmsnorm,
    .layernorm = layernorm,
    .silu = silu,
    .gelu = gelu,
    .gelu_tanh = gelu_tanh,
    .swiglu = swiglu,
    .argmax = argmax,
    .topk = topk,
    .f16_to_f32 = f16_to_f32,
    .bf16_to_f32 = bf16_to_f32,
    .dequant_q8_0 = dequant_q8_0,
    .dequant_q4_0 = dequant_q4_0,
    .dequant_q4_k = dequant_q4_k,
    .dequant_q5_k = dequant_q5_k,
    .dequant_q6_k = dequant_q6_k,
    .gemm_group = 1,
    .gemm_qblock = TDIFF__SCALAR_QBLOCK,
    .gemm_cols = 1,
    .pack_f32 = tdiff__scalar_pack_f32,
    .pack_q8 = tdiff__scalar_pack_q8,
    .gemm_f32 = tdiff__scalar_gemm_f32,
    .gemm_q = tdiff__scalar_gemm_q,
};
