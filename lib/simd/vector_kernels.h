/*
 * vector_kernels.h -- every kernel of tdiff__kernels written once for any vector
 * ISA. A per-ISA file (avx2.c, neon.c) includes its vocabulary header first
 * (vec_<isa>.h: VW, vf/vm/vi and vf_* operations), defines TDIFF__VEC_TABLE,
 * TDIFF__VEC_ISA and TDIFF__VEC_NAME, then includes this file, which defines the
 * table. Semantics are those of simd.h and the scalar reference (scalar.c).
 *
 * Tails (n not a multiple of VW) go through the same vector code via padded
 * loads and partial stores, so a kernel has one code path for every length.
 */
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "half.h"
#include "special.h"
#include "tables.h"

/* Elements left from i, at most one vector. */
#define REST(n, i) ((n) - (i) < VW ? (n) - (i) : (size_t)VW)

/* Loads m <= VW floats, padding the missing lanes with `fill`. */
static inline vf ld(const float *p, size_t m, float fill)
{
    if (m == VW)
        return vf_load(p);
    float b[VW];
    for (size_t i = 0; i < VW; i++)
        b[i] = i < m ? p[i] : fill;
    return vf_load(b);
}

/* Stores the first m <= VW lanes. */
static inline void st(float *p, vf v, size_t m)
{
    if (m == VW) {
        vf_store(p, v);
        return;
    }
    float b[VW];
    vf_store(b, v);
    memcpy(p, b, m * sizeof *p);
}

/* ---- exp: Cephes-style range reduction + degree-5 polynomial ------------------
 * x = n ln2 + r with |r| <= ln2/2, exp(x) = 2^n exp(r). ln2 is split into a part
 * with few mantissa bits (C1, exact in n*C1) and a small correction (C2). 2^n is
 * applied in two halves so that results down into the subnormal range and up to
 * overflow are right without a special case. */
static inline vf vf_exp(vf x)
{
    const vf t = vf_min(vf_max(x, vf_set1(-110.0f)), vf_set1(89.0f)); /* beyond: 0 and inf anyway */
    const vi n = vf_round_i(vf_mul(t, vf_set1(1.44269504088896341f)));  /* log2(e) */
    const vf nf = vi_to_vf(n);
    vf r = vf_fma(nf, vf_set1(-0.693359375f), t);      /* C1: ln2 rounded to 9 bits */
    r = vf_fma(nf, vf_set1(2.12194440e-4f), r);        /* C2 = C1 - ln2 */
    vf p = vf_set1(1.9875691500e-4f);                  /* Cephes expf minimax coefficients */
    p = vf_fma(p, r, vf_set1(1.3981999507e-3f));
    p = vf_fma(p, r, vf_set1(8.3334519073e-3f));
    p = vf_fma(p, r, vf_set1(4.1665795894e-2f));
    p = vf_fma(p, r, vf_set1(1.6666665459e-1f));
    p = vf_fma(p, r, vf_set1(5.0000001201e-1f));
    vf y = vf_fma(p, vf_mul(r, r), vf_add(r, vf_set1(1.0f)));
    const vi n1 = vi_half(n);                          /* n in [-159, 129]: both halves normal */
    y = vf_mul(vf_mul(y, vf_pow2i(n1)), vf_pow2i(vi_sub(n, n1)));
    return vf_select(vf_isnan(x), x, y);               /* the clamp may have eaten a NaN */
}

/* erfc(z) for z >= 0 with relative error ~1e-7 (Numerical Recipes' Chebyshev
 * fit "erfcc": erfc(z) = t exp(-z^2 + P(t)), t = 1/(1 + z/2)). */
static inline vf vf_erfc_nonneg(vf z)
{
    const vf t = vf_div(vf_set1(1.0f), vf_fma(z, vf_set1(0.5f), vf_set1(1.0f)));
    vf p = vf_set1(0.17087277f);
    p = vf_fma(p, t, vf_set1(-0.82215223f));
    p = vf_fma(p, t, vf_set1(1.48851587f));
    p = vf_fma(p, t, vf_set1(-1.13520398f));
    p = vf_fma(p, t, vf_set1(0.27886807f));
    p = vf_fma(p, t, vf_set1(-0.18628806f));
    p = vf_fma(p, t, vf_set1(0.09678418f));
    p = vf_fma(p, t, vf_set1(0.37409196f));
    p = vf_fma(p, t, vf_set1(1.00002368f));
    p = vf_fma(p, t, vf_set1(-1.26551223f));
    return vf_mul(t, vf_exp(vf_fma(vf_sub(vf_set1(0.0f), z), z, p))); /* -z*z rounded once */
}

/* 1/(1+exp(-t)) through exp(-|t|), which never overflows (as scalar.c). */
static inline vf vf_sigmoid(vf t)
{
    const vf e = vf_exp(vf_sub(vf_set1(0.0f), vf_abs(t)));
    return vf_div(vf_select(vf_lt(t, vf_set1(0.0f)), e, vf_set1(1.0f)), vf_add(vf_set1(1.0f), e));
}

static inline vf vf_silu(vf x)
{
    return vf_mul(x, vf_sigmoid(x));
}

/* ---- BLAS-1 ---- */

static float k_dot(const float *a, const float *b, size_t n)
{
    vf s0 = vf_set1(0.0f), s1 = s0, s2 = s0, s3 = s0; /* 4 chains hide the FMA latency */
    size_t i = 0;
    for (; i + 4 * VW <= n; i += 4 * VW) {
        s0 = vf_fma(vf_load(a + i), vf_load(b + i), s0);
        s1 = vf_fma(vf_load(a + i + VW), vf_load(b + i + VW), s1);
        s2 = vf_fma(vf_load(a + i + 2 * VW), vf_load(b + i + 2 * VW), s2);
        s3 = vf_fma(vf_load(a + i + 3 * VW), vf_load(b + i + 3 * VW), s3);
    }
    for (; i < n; i += VW) {
        const size_t m = REST(n, i);
        s0 = vf_fma(ld(a + i, m, 0.0f), ld(b + i, m, 0.0f), s0);
    }
    return vf_hsum(vf_add(vf_add(s0, s1), vf_add(s2, s3)));
}

static void k_axpy(float *y, float a, const float *x, size_t n)
{
    const vf va = vf_set1(a);
    for (size_t i = 0; i < n; i += VW) {
        const size_t m = REST(n, i);
        st(y + i, vf_fma(va, ld(x + i, m, 0.0f), ld(y + i, m, 0.0f)), m);
    }
}

static void k_scale(float *x, float a, size_t n)
{
    const vf va = vf_set1(a);
    for (size_t i = 0; i < n; i += VW) {
        const size_t m = REST(n, i);
        st(x + i, vf_mul(ld(x + i, m, 0.0f), va), m);
    }
}

static void k_add(float *y, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i += VW) {
        const size_t m = REST(n, i);
        st(y + i, vf_add(ld(y + i, m, 0.0f), ld(x + i, m, 0.0f)), m);
    }
}

static void k_mul(float *y, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i += VW) {
        const size_t m = REST(n, i);
        st(y + i, vf_mul(ld(y + i, m, 0.0f), ld(x + i, m, 0.0f)), m);
    }
}

/* ---- elementwise and normalisation ---- */

static void k_exp(float *y, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i += VW) {
        const size_t m = REST(n, i);
        st(y + i, vf_exp(ld(x + i, m, 0.0f)), m);
    }
}

/* Largest non-NaN value (-inf when none) and whether any NaN is present. */
static float max_and_nan(const float *x, size_t n, bool *has_nan)
{
    vf mx = vf_set1(-INFINITY);
    vm nan = vm_none();
    for (size_t i = 0; i < n; i += VW) {
        const vf v = ld(x + i, REST(n, i), -INFINITY);
        mx = vf_max_skip_nan(mx, v);
        nan = vm_or(nan, vf_isnan(v));
    }
    *has_nan = vm_any(nan);
    return vf_hmax(mx);
}

/* Writes exp(x - max) to y (may be NULL) and returns its sum. Padding lanes
 * load -inf, whose exp is 0. Summed in blocks of 64 vectors: a vocabulary-sized
 * n would otherwise chain n/VW rounding errors in each lane. */
static float sum_exp_shifted(float *y, const float *x, size_t n, float max)
{
    const vf vmx = vf_set1(max);
    vf s = vf_set1(0.0f);
    for (size_t i = 0; i < n;) {
        const size_t end = n - i > 64 * VW ? i + 64 * VW : n;
        vf blk = vf_set1(0.0f);
        for (; i < end; i += VW) {
            const size_t m = REST(end, i);
            const vf e = vf_exp(vf_sub(ld(x + i, m, -INFINITY), vmx));
            if (y)
                st(y + i, e, m);
            blk = vf_add(blk, e);
        }
        s = vf_add(s, blk);
    }
    return vf_hsum(s);
}

static float k_softmax(float *x, size_t n)
{
    if (n == 0)
        return -INFINITY;
    bool has_nan;
    const float mx = max_and_nan(x, n, &has_nan);
    float lse;
    if (tdiff__softmax_nonfinite(x, n, mx, has_nan, false, &lse))
        return lse;
    const float s = sum_exp_shifted(x, x, n, mx); /* >= 1: the max contributes exp(0) */
    k_scale(x, 1.0f / s, n);
    return mx + logf(s);
}

static float k_log_softmax(float *x, size_t n)
{
    if (n == 0)
        return -INFINITY;
    bool has_nan;
    const float mx = max_and_nan(x, n, &has_nan);
    float lse;
    if (tdiff__softmax_nonfinite(x, n, mx, has_nan, true, &lse))
        return lse;
    const float ls = logf(sum_exp_shifted(NULL, x, n, mx));
    const vf vmx = vf_set1(mx), vls = vf_set1(ls);
    for (size_t i = 0; i < n; i += VW) {
        const size_t m = REST(n, i);
        st(x + i, vf_sub(vf_sub(ld(x + i, m, 0.0f), vmx), vls), m);
    }
    return mx + ls;
}

/* y = (x - mu) * r * w + b, with w/b NULL meaning ones/zeros. */
static void normalize_affine(float *y, const float *x, const float *w, const float *b, size_t n, float mu, float r)
{
    const vf vmu = vf_set1(mu), vr = vf_set1(r);
    for (size_t i = 0; i < n; i += VW) {
        const size_t m = REST(n, i);
        vf v = vf_mul(vf_sub(ld(x + i, m, 0.0f), vmu), vr);
        if (w)
            v = vf_mul(v, ld(w + i, m, 0.0f));
        if (b)
            v = vf_add(v, ld(b + i, m, 0.0f));
        st(y + i, v, m);
    }
}

/* sum (x - c)^2 */
static float sum_sq_dev(const float *x, size_t n, float c)
{
    const vf vc = vf_set1(c);
    vf s0 = vf_set1(0.0f), s1 = s0;
    size_t i = 0;
    for (; i + 2 * VW <= n; i += 2 * VW) {
        const vf d0 = vf_sub(vf_load(x + i), vc), d1 = vf_sub(vf_load(x + i + VW), vc);
        s0 = vf_fma(d0, d0, s0);
        s1 = vf_fma(d1, d1, s1);
    }
    for (; i < n; i += VW) {
        const size_t m = REST(n, i);
        const vf d = vf_sub(ld(x + i, m, c), vc); /* padding c gives d = 0 */
        s0 = vf_fma(d, d, s0);
    }
    return vf_hsum(vf_add(s0, s1));
}

static void k_rmsnorm(float *y, const float *x, const float *w, size_t n, float eps)
{
    if (n == 0)
        return;
    const float r = 1.0f / sqrtf(sum_sq_dev(x, n, 0.0f) / (float)n + eps);
    normalize_affine(y, x, w, NULL, n, 0.0f, r);
}

static void k_layernorm(float *y, const float *x, const float *w, const float *b, size_t n, float eps)
{
    if (n == 0)
        return;
    vf s = vf_set1(0.0f);
    for (size_t i = 0; i < n; i += VW)
        s = vf_add(s, ld(x + i, REST(n, i), 0.0f));
    const float mu = vf_hsum(s) / (float)n;
    const float r = 1.0f / sqrtf(sum_sq_dev(x, n, mu) / (float)n + eps); /* two-pass variance */
    normalize_affine(y, x, w, b, n, mu, r);
}

static void k_silu(float *y, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i += VW) {
        const size_t m = REST(n, i);
        st(y + i, vf_silu(ld(x + i, m, 0.0f)), m);
    }
}

static void k_gelu(float *y, const float *x, size_t n)
{
    /* x*Phi(x) = x/2 * erfc(z), z = -x/sqrt2; erfc(z) = 2 - erfc(-z) for z < 0 */
    for (size_t i = 0; i < n; i += VW) {
        const size_t m = REST(n, i);
        const vf v = ld(x + i, m, 0.0f);
        const vf z = vf_mul(v, vf_set1(-0.70710678118654752f));
        const vf e = vf_erfc_nonneg(vf_abs(z));
        const vf c = vf_select(vf_lt(z, vf_set1(0.0f)), vf_sub(vf_set1(2.0f), e), e);
        st(y + i, vf_mul(vf_mul(vf_set1(0.5f), v), c), m);
    }
}

static void k_gelu_tanh(float *y, const float *x, size_t n)
{
    /* x/2*(1+tanh(u)) = x*sigmoid(2u), u = sqrt(2/pi)*(x + 0.044715 x^3) */
    for (size_t i = 0; i < n; i += VW) {
        const size_t m = REST(n, i);
        const vf v = ld(x + i, m, 0.0f);
        const vf cube = vf_mul(vf_mul(vf_mul(vf_set1(0.044715f), v), v), v);
        const vf u = vf_mul(vf_set1(0.79788456080286536f), vf_add(v, cube));
        st(y + i, vf_mul(v, vf_sigmoid(vf_mul(vf_set1(2.0f), u))), m);
    }
}

static void k_swiglu(float *y, const float *gate, const float *up, size_t n)
{
    for (size_t i = 0; i < n; i += VW) {
        const size_t m = REST(n, i);
        st(y + i, vf_mul(vf_silu(ld(gate + i, m, 0.0f)), ld(up + i, m, 0.0f)), m);
    }
}

/* ---- selection ---- */

static size_t k_argmax(const float *x, size_t n)
{
    bool has_nan;
    const float mx = max_and_nan(x, n, &has_nan);
    for (size_t i = 0; i < n; i++) /* the first index holding the max wins ties */
        if (x[i] == mx)
            return i;
    return 0; /* n == 0 or all NaN */
}

/* Order of the top-k: larger value first, then lower index. */
static inline bool worse(const float *x, uint32_t a, uint32_t b)
{
    return x[a] < x[b] || (x[a] == x[b] && a > b);
}

/* Restores the heap property below slot i of a heap whose root is the worst. */
static void sift_down(const float *x, uint32_t *h, size_t m, size_t i)
{
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= m)
            return;
        if (c + 1 < m && worse(x, h[c + 1], h[c]))
            c++;
        if (!worse(x, h[c], h[i]))
            return;
        const uint32_t t = h[i];
        h[i] = h[c];
        h[c] = t;
        i = c;
    }
}

static void sift_up(const float *x, uint32_t *h, size_t i)
{
    while (i > 0 && worse(x, h[i], h[(i - 1) / 2])) {
        const uint32_t t = h[i];
        h[i] = h[(i - 1) / 2];
        h[(i - 1) / 2] = t;
        i = (i - 1) / 2;
    }
}

/* A heap of the k best so far (root = worst of them) kept in idx. Once full, a
 * whole vector is skipped unless a lane beats the root strictly (equal values
 * come later, so they lose the tie); NaN lanes never compare greater. */
static size_t k_topk(const float *x, size_t n, size_t k, uint32_t *idx, float *val)
{
    if (k > n)
        k = n;
    if (k == 0)
        return 0;
    size_t m = 0;
    for (size_t i = 0; i < n; i += VW) {
        const size_t r = REST(n, i);
        if (m == k && !vm_any(vf_gt(ld(x + i, r, -INFINITY), vf_set1(x[idx[0]]))))
            continue;
        for (size_t j = i; j < i + r; j++) {
            if (isnan(x[j]))
                continue;
            if (m < k) {
                idx[m] = (uint32_t)j;
                sift_up(x, idx, m++);
            } else if (x[j] > x[idx[0]]) {
                idx[0] = (uint32_t)j;
                sift_down(x, idx, m, 0);
            }
        }
    }
    for (size_t e = m; e > 1; e--) { /* heap sort: the worst goes last */
        const uint32_t t = idx[0];
        idx[0] = idx[e - 1];
        idx[e - 1] = t;
        sift_down(x, idx, e - 1, 0);
    }
    if (val)
        for (size_t j = 0; j < m; j++)
            val[j] = x[idx[j]];
    return m;
}

/* ---- conversions ---- */

static void k_f16_to_f32(float *y, const uint16_t *x, size_t n)
{
    size_t i = 0;
    for (; i + VW <= n; i += VW)
        vf_store(y + i, vf_from_f16(x + i));
    if (i < n) { /* the tail through a zero-padded copy: never read past x + n */
        uint16_t b[VW] = {0};
        memcpy(b, x + i, (n - i) * sizeof *x);
        st(y + i, vf_from_f16(b), n - i);
    }
}

static void k_bf16_to_f32(float *y, const uint16_t *x, size_t n)
{
    size_t i = 0;
    for (; i + VW <= n; i += VW)
        vf_store(y + i, vf_from_bf16(x + i));
    if (i < n) { /* the tail through a zero-padded copy: never read past x + n */
        uint16_t b[VW] = {0};
        memcpy(b, x + i, (n - i) * sizeof *x);
        st(y + i, vf_from_bf16(b), n - i);
    }
}

/* ---- dequantization: 32 weights per block, VW at a time ---- */

static void k_dequant_q8_0(float *y, const void *blocks, size_t n)
{
    const unsigned char *p = blocks;
    for (size_t b = 0; b < n / TDIFF__QK; b++, p += sizeof(tdiff__block_q8_0), y += TDIFF__QK) {
        tdiff__block_q8_0 blk;
        memcpy(&blk, p, sizeof blk); /* blocks are only byte-aligned */
        const vf d = vf_set1(tdiff__f16_to_f32(blk.d));
        for (size_t j = 0; j < TDIFF__QK; j += VW)
            vf_store(y + j, vf_mul(d, vf_from_i8(blk.qs + j)));
    }
}

static void k_dequant_q4_0(float *y, const void *blocks, size_t n)
{
    const unsigned char *p = blocks;
    for (size_t b = 0; b < n / TDIFF__QK; b++, p += sizeof(tdiff__block_q4_0), y += TDIFF__QK) {
        tdiff__block_q4_0 blk;
        memcpy(&blk, p, sizeof blk);
        uint8_t q[TDIFF__QK]; /* low nibbles are elements 0..15, high nibbles 16..31 */
        for (size_t j = 0; j < TDIFF__QK / 2; j++) {
            q[j] = blk.qs[j] & 15;
            q[j + TDIFF__QK / 2] = blk.qs[j] >> 4;
        }
        const vf d = vf_set1(tdiff__f16_to_f32(blk.d));
        for (size_t j = 0; j < TDIFF__QK; j += VW)
            vf_store(y + j, vf_mul(d, vf_sub(vf_from_u8(q + j), vf_set1(8.0f))));
    }
}

/* K-quants: the bits are unpacked by blocks.h (shared with scalar.c), the
 * affine map y = d1*(q - offset) - m1 runs VW at a time (mul then sub, like
 * the scalar kernel, so the results are the same bits). */
static void kq_affine(float *y, const uint8_t *q, size_t n, float d1, float m1, int offset)
{
    const vf vd = vf_set1(d1), vm1 = vf_set1(m1), vo = vf_set1((float)offset);
    for (size_t j = 0; j < n; j += VW)
        vf_store(y + j, vf_sub(vf_mul(vd, vf_sub(vf_from_u8(q + j), vo)), vm1));
}

static void k_dequant_q4_k(float *y, const void *blocks, size_t n) { tdiff__kq_dequant_q45_k(y, blocks, n, 0, kq_affine); }
static void k_dequant_q5_k(float *y, const void *blocks, size_t n) { tdiff__kq_dequant_q45_k(y, blocks, n, 1, kq_affine); }
static void k_dequant_q6_k(float *y, const void *blocks, size_t n) { tdiff__kq_dequant_q6_k(y, blocks, n, kq_affine); }

#include "vector_gemm.h"

const tdiff__kernels TDIFF__VEC_TABLE = {
    .isa = TDIFF__VEC_ISA,
    .name = TDIFF__VEC_NAME,
    .dot = k_dot,
    .axpy = k_axpy,
    .scale = k_scale,
    .add = k_add,
    .mul = k_mul,
    .exp = k_exp,
    .softmax = k_softmax,
    .log_softmax = k_log_softmax,
    .rmsnorm = k_rmsnorm,
    .layernorm = k_layernorm,
    .silu = k_silu,
    .gelu = k_gelu,
    .gelu_tanh = k_gelu_tanh,
    .swiglu = k_swiglu,
    .argmax = k_argmax,
    .topk = k_topk,
    .f16_to_f32 = k_f16_to_f32,
    .bf16_to_f32 = k_bf16_to_f32,
    .dequant_q8_0 = k_dequant_q8_0,
    .dequant_q4_0 = k_dequant_q4_0,
    .dequant_q4_k = k_dequant_q4_k,
    .dequant_q5_k = k_dequant_q5_k,
    .dequant_q6_k = k_dequant_q6_k,
    .gemm_group = VW,
    .gemm_qblock = sizeof(qpack),
    .gemm_cols = GEMM_SLICE,
    .pack_f32 = k_pack_f32,
    .pack_q8 = k_pack_q8,
    .gemm_f32 = k_gemm_f32,
    .gemm_q = k_gemm_q,
};
