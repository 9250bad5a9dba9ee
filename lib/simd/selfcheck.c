/*
 * selfcheck.c -- tdiff_isa_self_check: runs every kernel of the resolved variant
 * against the scalar reference on built-in inputs, with the tolerances of
 * tolerance.h, plus a few known values so that the scalar variant checks
 * something too. Uses no heap: all buffers are small and on the stack.
 */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "core/core.h"
#include "tables.h"
#include "tolerance.h"

#define N 67            /* not a multiple of 4 or 8: exercises the tails */
#define NQ (2 * TDIFF__QK)

typedef struct check {
    tdiff__env *env;
    const tdiff__kernels *v;   /* variant under test */
    const tdiff__kernels *s;   /* scalar reference   */
} check;

static tdiff_status mismatch(check *c, const char *kernel, size_t i, float got, float want)
{
    return tdiff__fail(c->env, TDIFF_E_INTERNAL,
                       "SIMD self-check: kernel %s of variant %s differs from the scalar reference at %zu (%.9g vs %.9g)",
                       kernel, c->v->name, i, (double)got, (double)want);
}

static tdiff_status compare(check *c, const char *kernel, const float *got, const float *want, size_t n, float rel,
                            float abs)
{
    for (size_t i = 0; i < n; i++)
        if (!tdiff__close(got[i], want[i], rel, abs))
            return mismatch(c, kernel, i, got[i], want[i]);
    return TDIFF_OK;
}

/* Deterministic inputs in [-8, 8): a 32-bit LCG (Numerical Recipes constants). */
static void fill(float *x, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        x[i] = (float)(seed >> 8) * 0x1p-24f * 16.0f - 8.0f;
    }
}

typedef void (*unary_fn)(float *y, const float *x, size_t n);

static tdiff_status check_elementwise(check *c, const float *x, const float *x2)
{
    const struct {
        const char *name;
        unary_fn v, s;
        float (*rel)(float x);
    } un[] = {
        {"exp", c->v->exp, c->s->exp, tdiff__tol_exp},
        {"silu", c->v->silu, c->s->silu, tdiff__tol_act},
        {"gelu", c->v->gelu, c->s->gelu, tdiff__tol_gelu},
        {"gelu_tanh", c->v->gelu_tanh, c->s->gelu_tanh, tdiff__tol_act},
    };
    float a[N], b[N];
    tdiff_status st;
    for (size_t k = 0; k < sizeof un / sizeof un[0]; k++) {
        un[k].v(a, x, N);
        un[k].s(b, x, N);
        for (size_t i = 0; i < N; i++)
            if (!tdiff__close(a[i], b[i], un[k].rel(x[i]), TDIFF__TOL_ABS_FLOOR))
                return mismatch(c, un[k].name, i, a[i], b[i]);
    }
    c->v->swiglu(a, x, x2, N);
    c->s->swiglu(b, x, x2, N);
    if ((st = compare(c, "swiglu", a, b, N, TDIFF__TOL_ACT_REL, TDIFF__TOL_ABS_FLOOR)) != TDIFF_OK)
        return st;

    /* BLAS-1: scale/add/mul are single roundings and must match exactly; axpy may fuse. */
    float sum_abs = 0;
    for (size_t i = 0; i < N; i++)
        sum_abs += fabsf(x[i] * x2[i]);
    const float dv = c->v->dot(x, x2, N), ds = c->s->dot(x, x2, N);
    if (!tdiff__close(dv, ds, 0.0f, tdiff__tol_sum(N, sum_abs)))
        return mismatch(c, "dot", 0, dv, ds);
    memcpy(a, x, sizeof a);
    memcpy(b, x, sizeof b);
    c->v->axpy(a, 0.75f, x2, N);
    c->s->axpy(b, 0.75f, x2, N);
    for (size_t i = 0; i < N; i++)
        if (!tdiff__close(a[i], b[i], 0.0f, FLT_EPSILON * (fabsf(x[i]) + fabsf(0.75f * x2[i])) + FLT_MIN))
            return mismatch(c, "axpy", i, a[i], b[i]);
    return TDIFF_OK;
}

static tdiff_status check_exact_blas(check *c, const float *x, const float *x2)
{
    float a[N], b[N];
    memcpy(a, x, sizeof a);
    memcpy(b, x, sizeof b);
    c->v->scale(a, -1.5f, N);
    c->s->scale(b, -1.5f, N);
    c->v->add(a, x2, N);
    c->s->add(b, x2, N);
    c->v->mul(a, x2, N);
    c->s->mul(b, x2, N);
    for (size_t i = 0; i < N; i++)
        if (!tdiff__same_bits(a[i], b[i]))
            return mismatch(c, "scale/add/mul", i, a[i], b[i]);
    return TDIFF_OK;
}

static tdiff_status check_normalisers(check *c, const float *x, const float *w, const float *bias)
{
    float a[N], b[N];
    tdiff_status st;
    const float tol = tdiff__tol_norm(N), stol = tdiff__tol_softmax(N);
    for (int log_form = 0; log_form < 2; log_form++) {
        memcpy(a, x, sizeof a);
        memcpy(b, x, sizeof b);
        a[3] = b[3] = -INFINITY; /* masked logits are common */
        const float lv = log_form ? c->v->log_softmax(a, N) : c->v->softmax(a, N);
        const float ls = log_form ? c->s->log_softmax(b, N) : c->s->softmax(b, N);
        const char *name = log_form ? "log_softmax" : "softmax";
        if (!tdiff__close(lv, ls, stol, stol))
            return mismatch(c, name, N, lv, ls);
        if ((st = compare(c, name, a, b, N, log_form ? 0.0f : stol, log_form ? stol * (1 + fabsf(ls)) : FLT_MIN)) !=
            TDIFF_OK)
            return st;
    }
    c->v->rmsnorm(a, x, w, N, 1e-5f);
    c->s->rmsnorm(b, x, w, N, 1e-5f);
    if ((st = compare(c, "rmsnorm", a, b, N, tol, FLT_MIN)) != TDIFF_OK)
        return st;
    c->v->layernorm(a, x, w, bias, N, 1e-5f);
    c->s->layernorm(b, x, w, bias, N, 1e-5f);
    /* (x - mean) cancels: the error scales with |x| + |mean| (<= 8 here, and
     * 1/std < 1), not with the output */
    for (size_t i = 0; i < N; i++)
        if (!tdiff__close(a[i], b[i], 0.0f, tol * ((fabsf(x[i]) + 8.0f) * fabsf(w[i]) + fabsf(bias[i])) + FLT_MIN))
            return mismatch(c, "layernorm", i, a[i], b[i]);
    return TDIFF_OK;
}

static tdiff_status check_selection(check *c, float *x)
{
    x[10] = x[40] = 9.0f; /* a tie for the maximum: the lower index wins */
    x[20] = NAN;          /* ignored */
    const size_t av = c->v->argmax(x, N), as = c->s->argmax(x, N);
    if (av != as || as != 10)
        return mismatch(c, "argmax", av, (float)av, (float)as);
    uint32_t iv[8], is[8];
    float vv[8], vs[8];
    const size_t mv = c->v->topk(x, N, 8, iv, vv), ms = c->s->topk(x, N, 8, is, vs);
    if (mv != ms || ms != 8 || is[0] != 10 || is[1] != 40)
        return mismatch(c, "topk", 0, (float)mv, (float)ms);
    for (size_t j = 0; j < ms; j++)
        if (iv[j] != is[j] || !tdiff__same_bits(vv[j], vs[j]))
            return mismatch(c, "topk", j, (float)iv[j], (float)is[j]);
    return TDIFF_OK;
}

static tdiff_status check_conversions(check *c)
{
    uint16_t h[256];
    float a[256], b[256];
    for (uint32_t base = 0; base < 65536; base += 256) { /* every 16-bit pattern */
        for (uint32_t j = 0; j < 256; j++)
            h[j] = (uint16_t)(base + j);
        for (int bf = 0; bf < 2; bf++) {
            (bf ? c->v->bf16_to_f32 : c->v->f16_to_f32)(a, h, 256);
            (bf ? c->s->bf16_to_f32 : c->s->f16_to_f32)(b, h, 256);
            for (size_t j = 0; j < 256; j++)
                if (!tdiff__same_bits(a[j], b[j]))
                    return mismatch(c, bf ? "bf16_to_f32" : "f16_to_f32", base + j, a[j], b[j]);
        }
    }
    unsigned char q8[2 * sizeof(tdiff__block_q8_0)], q4[2 * sizeof(tdiff__block_q4_0)];
    for (size_t i = 0; i < sizeof q8; i++)
        q8[i] = (unsigned char)(i * 37u + 11u);
    for (size_t i = 0; i < sizeof q4; i++)
        q4[i] = (unsigned char)(i * 53u + 7u);
    /* finite, modest scales: 0x3c00 = 1.0, 0x2e66 ~ 0.1 (little-endian d first) */
    q8[0] = 0x00, q8[1] = 0x3c, q8[34] = 0x66, q8[35] = 0x2e;
    q4[0] = 0x66, q4[1] = 0x2e, q4[18] = 0x00, q4[19] = 0xbc;
    float ya[NQ], yb[NQ];
    for (int four = 0; four < 2; four++) {
        (four ? c->v->dequant_q4_0 : c->v->dequant_q8_0)(ya, four ? (void *)q4 : (void *)q8, NQ);
        (four ? c->s->dequant_q4_0 : c->s->dequant_q8_0)(yb, four ? (void *)q4 : (void *)q8, NQ);
        for (size_t j = 0; j < NQ; j++)
            if (!tdiff__same_bits(ya[j], yb[j]))
                return mismatch(c, four ? "dequant_q4_0" : "dequant_q8_0", j, ya[j], yb[j]);
    }
    /* one K-quant super-block of each type, patterned bytes with a finite d/dmin */
    unsigned char kq[sizeof(tdiff__block_q6_k)]; /* the largest of the three */
    for (size_t i = 0; i < sizeof kq; i++)
        kq[i] = (unsigned char)(i * 29u + 3u);
    static const char *const kq_names[] = {"dequant_q4_k", "dequant_q5_k", "dequant_q6_k"};
    float ka[TDIFF__QK_K], kb[TDIFF__QK_K];
    for (int t = 0; t < 3; t++) {
        unsigned char blk[sizeof kq];
        memcpy(blk, kq, sizeof blk);
        const size_t d_at = t == 2 ? offsetof(tdiff__block_q6_k, d) : 0;
        blk[d_at] = 0x66, blk[d_at + 1] = 0x2e; /* d ~ 0.1 */
        if (t < 2)
            blk[2] = 0x00, blk[3] = 0x3c; /* dmin = 1.0 */
        void (*const vk[3])(float *, const void *, size_t) = {c->v->dequant_q4_k, c->v->dequant_q5_k,
                                                              c->v->dequant_q6_k};
        void (*const sk[3])(float *, const void *, size_t) = {c->s->dequant_q4_k, c->s->dequant_q5_k,
                                                              c->s->dequant_q6_k};
        vk[t](ka, blk, TDIFF__QK_K);
        sk[t](kb, blk, TDIFF__QK_K);
        for (size_t j = 0; j < TDIFF__QK_K; j++)
            if (!tdiff__same_bits(ka[j], kb[j]))
                return mismatch(c, kq_names[t], j, ka[j], kb[j]);
    }
    return TDIFF_OK;
}

/* Known values, so that checking the scalar table against itself still means something. */
static tdiff_status check_known_values(check *c)
{
    float one = 1.0f, e;
    c->v->exp(&e, &one, 1);
    if (!tdiff__close(e, 2.71828183f, TDIFF__TOL_EXP_REL, 0.0f))
        return mismatch(c, "exp", 0, e, 2.71828183f);
    float p[3] = {0.0f, 0.0f, 0.0f};
    const float lse = c->v->softmax(p, 3);
    if (!tdiff__close(p[1], 1.0f / 3.0f, 4 * FLT_EPSILON, 0.0f) || !tdiff__close(lse, 1.09861229f, 4 * FLT_EPSILON, 0.0f))
        return mismatch(c, "softmax", 1, p[1], 1.0f / 3.0f);
    return TDIFF_OK;
}

tdiff_status tdiff_isa_self_check(const tdiff_host *host, tdiff_isa *out_isa_checked)
{
    if (out_isa_checked)
        *out_isa_checked = TDIFF_ISA_AUTO; /* until a variant has been resolved */
    tdiff__env env;
    tdiff_status st = tdiff__env_setup(&env, host);
    if (st != TDIFF_OK)
        return st;
    if (out_isa_checked)
        *out_isa_checked = env.isa;
    check c = {&env, env.k, &tdiff__kernels_scalar};
    float x[N], x2[N], w[N], bias[N];
    fill(x, N, 1);
    fill(x2, N, 2);
    fill(w, N, 3);
    fill(bias, N, 4);
    if ((st = check_known_values(&c)) != TDIFF_OK || (st = check_elementwise(&c, x, x2)) != TDIFF_OK ||
        (st = check_exact_blas(&c, x, x2)) != TDIFF_OK || (st = check_normalisers(&c, x, w, bias)) != TDIFF_OK ||
        (st = check_selection(&c, x)) != TDIFF_OK || (st = check_conversions(&c)) != TDIFF_OK)
        return st;
    return TDIFF_OK;
}
