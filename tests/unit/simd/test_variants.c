/*
 * test_variants.c -- every vector variant this machine runs (avx2, neon; avx512
 * when it exists) against the scalar reference, kernel by kernel, on the
 * lengths of simd_test.h, with the tolerances of lib/simd/tolerance.h.
 * Variants the build or CPU cannot run are reported as skipped, never assumed.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "simd/tables.h"
#include "simd/tolerance.h"
#include "simd_test.h"

static const tdiff__kernels *V;                       /* variant under test */
static const tdiff__kernels *const S = &tdiff__kernels_scalar;

static const tdiff__kernels *variant(void)
{
    assert_non_null(V);
    return V;
}

/* Buffers one float past MAX_LEN so that x + 1 (unaligned) also has MAX_LEN. */
static float xa[MAX_LEN + 1], xb[MAX_LEN + 1], ya[MAX_LEN + 1], yb[MAX_LEN + 1], w[MAX_LEN], bias[MAX_LEN];

static void expect_close(const char *what, size_t n, const float *got, const float *want, float rel, float abs)
{
    for (size_t i = 0; i < n; i++)
        if (!tdiff__close(got[i], want[i], rel, abs))
            fail_msg("%s n=%zu i=%zu: %.9g vs reference %.9g", what, n, i, (double)got[i], (double)want[i]);
}

static void expect_same_bits(const char *what, size_t n, const float *got, const float *want)
{
    for (size_t i = 0; i < n; i++)
        if (!tdiff__same_bits(got[i], want[i]))
            fail_msg("%s n=%zu i=%zu: %.9g vs reference %.9g", what, n, i, (double)got[i], (double)want[i]);
}

static void test_dot_is_within_the_summation_bound(void **state)
{
    (void)state;
    const tdiff__kernels *k = variant();
    for (size_t l = 0; l < N_LENGTHS; l++) {
        const size_t n = test_lengths[l];
        test_fill(xa, n + 1, -4, 4, 11 + (uint32_t)n);
        test_fill(xb, n + 1, -4, 4, 12 + (uint32_t)n);
        for (size_t off = 0; off < 2; off++) { /* aligned and misaligned starts */
            float sum_abs = 0;
            for (size_t i = 0; i < n; i++)
                sum_abs += fabsf(xa[off + i] * xb[off + i]);
            const float got = k->dot(xa + off, xb + off, n), want = S->dot(xa + off, xb + off, n);
            if (!tdiff__close(got, want, 0, tdiff__tol_sum(n, sum_abs)))
                fail_msg("dot n=%zu: %.9g vs %.9g", n, (double)got, (double)want);
        }
    }
    assert_true(k->dot(xa, xb, 0) == 0.0f);
}

static void test_axpy_differs_by_at_most_one_rounding(void **state)
{
    (void)state;
    const tdiff__kernels *k = variant();
    for (size_t l = 0; l < N_LENGTHS; l++) {
        const size_t n = test_lengths[l];
        test_fill(xa, n, -4, 4, 21);
        test_fill(ya, n, -4, 4, 22);
        memcpy(yb, ya, n * sizeof *ya);
        k->axpy(ya + 0, -0.3f, xa, n);
        S->axpy(yb, -0.3f, xa, n);
        for (size_t i = 0; i < n; i++) /* fused multiply-add skips one rounding of a*x */
            assert_true(fabsf(ya[i] - yb[i]) <= FLT_EPSILON * (fabsf(yb[i]) + fabsf(0.3f * xa[i])));
    }
}

static void test_scale_add_mul_are_bit_exact(void **state)
{
    (void)state;
    const tdiff__kernels *k = variant();
    for (size_t l = 0; l < N_LENGTHS; l++) {
        const size_t n = test_lengths[l];
        test_fill(xa, n + 1, -1e3f, 1e3f, 31);
        test_fill(ya, n + 1, -1e3f, 1e3f, 32);
        memcpy(yb, ya, (n + 1) * sizeof *ya);
        k->scale(ya + 1, 1.7f, n);
        S->scale(yb + 1, 1.7f, n);
        k->add(ya + 1, xa, n);
        S->add(yb + 1, xa, n);
        k->mul(ya + 1, xa + 1, n);
        S->mul(yb + 1, xa + 1, n);
        expect_same_bits("scale/add/mul", n + 1, ya, yb); /* ya[0] proves nothing before the start is written */
    }
}

static void test_exp_is_within_4_eps_over_the_whole_range(void **state)
{
    (void)state;
    const tdiff__kernels *k = variant();
    for (size_t l = 0; l < N_LENGTHS; l++) {
        const size_t n = test_lengths[l];
        test_fill(xa, n, -110.0f, 90.0f, 41 + (uint32_t)n); /* underflow to 0 ... overflow to inf */
        k->exp(ya, xa, n);
        S->exp(yb, xa, n);
        expect_close("exp", n, ya, yb, TDIFF__TOL_EXP_REL, TDIFF__TOL_ABS_FLOOR);
    }
    const float special[] = {0.0f, -0.0f, 1.0f, -1.0f, 88.72f, 88.73f, -87.3f, -103.0f, -104.5f,
                             INFINITY, -INFINITY, NAN, 1e-30f, -1e-30f, 0.5f * logf(2.0f)};
    const size_t ns = sizeof special / sizeof special[0];
    k->exp(ya, special, ns);
    S->exp(yb, special, ns);
    expect_close("exp special", ns, ya, yb, TDIFF__TOL_EXP_REL, TDIFF__TOL_ABS_FLOOR);
    assert_true(ya[0] == 1.0f && ya[9] == INFINITY && ya[10] == 0.0f && isnan(ya[11]));
    /* a dense sweep over the range that matters for softmax */
    for (size_t i = 0; i < MAX_LEN; i++)
        xa[i] = -20.0f + 21.0f * (float)i / MAX_LEN;
    k->exp(ya, xa, MAX_LEN);
    S->exp(yb, xa, MAX_LEN);
    expect_close("exp sweep", MAX_LEN, ya, yb, TDIFF__TOL_EXP_REL, 0);
}

static void test_exp_works_in_place(void **state)
{
    (void)state;
    const tdiff__kernels *k = variant();
    test_fill(xa, 33, -5, 5, 51);
    S->exp(yb, xa, 33);
    k->exp(xa, xa, 33);
    expect_close("exp in place", 33, xa, yb, TDIFF__TOL_EXP_REL, 0);
}

typedef void (*unary_fn)(float *, const float *, size_t);

/* got vs want elementwise, with a relative tolerance that may depend on the input */
static void expect_close_at(const char *what, size_t n, const float *x, const float *got, const float *want,
                            float (*rel)(float))
{
    for (size_t i = 0; i < n; i++)
        if (!tdiff__close(got[i], want[i], rel(x[i]), TDIFF__TOL_ABS_FLOOR))
            fail_msg("%s n=%zu x=%.9g: %.9g vs reference %.9g", what, n, (double)x[i], (double)got[i],
                     (double)want[i]);
}

static void check_activation(const char *name, unary_fn got_fn, unary_fn want_fn, float (*rel)(float))
{
    static const float special[] = {0.0f, -0.0f, 1e-20f, -1e-20f, 3.0f, -3.0f, 10.0f, -10.0f, 30.0f, -30.0f,
                                    90.0f, -90.0f, 1e6f, -1e6f, INFINITY, -INFINITY, NAN};
    const size_t ns = sizeof special / sizeof special[0];
    got_fn(ya, special, ns);
    want_fn(yb, special, ns);
    expect_close_at(name, ns, special, ya, yb, rel);
    for (size_t l = 0; l < N_LENGTHS; l++) {
        const size_t n = test_lengths[l];
        test_fill(xa, n + 1, -14.0f, 14.0f, 61 + (uint32_t)n); /* gelu(-14) ~ 1e-43: into the subnormals */
        got_fn(ya, xa + 1, n);
        want_fn(yb, xa + 1, n);
        expect_close_at(name, n, xa + 1, ya, yb, rel);
        memcpy(xb, xa, (n + 1) * sizeof *xa);
        got_fn(xb + 1, xb + 1, n); /* in place gives the same as out of place */
        expect_same_bits(name, n, xb + 1, ya);
    }
}

static void test_silu_gelu_gelu_tanh_match_the_reference(void **state)
{
    (void)state;
    const tdiff__kernels *k = variant();
    check_activation("silu", k->silu, S->silu, tdiff__tol_act);
    check_activation("gelu", k->gelu, S->gelu, tdiff__tol_gelu);
    check_activation("gelu_tanh", k->gelu_tanh, S->gelu_tanh, tdiff__tol_act);
}

static void test_swiglu_matches_the_reference(void **state)
{
    (void)state;
    const tdiff__kernels *k = variant();
    for (size_t l = 0; l < N_LENGTHS; l++) {
        const size_t n = test_lengths[l];
        test_fill(xa, n, -12, 12, 71);
        test_fill(xb, n, -3, 3, 72);
        k->swiglu(ya, xa, xb, n);
        S->swiglu(yb, xa, xb, n);
        expect_close("swiglu", n, ya, yb, TDIFF__TOL_ACT_REL, TDIFF__TOL_ABS_FLOOR);
    }
}

/* Runs softmax or log_softmax on copies of x in both tables; checks the outputs
 * and the returned log-sum-exp. */
static void check_softmax_pair(const tdiff__kernels *k, int log_form, const float *x, size_t n, const char *what)
{
    memcpy(ya, x, n * sizeof *x);
    memcpy(yb, x, n * sizeof *x);
    const float lg = log_form ? k->log_softmax(ya, n) : k->softmax(ya, n);
    const float lw = log_form ? S->log_softmax(yb, n) : S->softmax(yb, n);
    const float tol = tdiff__tol_softmax(n);
    if (!tdiff__close(lg, lw, tol, tol))
        fail_msg("%s %s n=%zu: lse %.9g vs %.9g", log_form ? "log_softmax" : "softmax", what, n, (double)lg,
                 (double)lw);
    if (log_form) /* x - lse: the error is absolute, scaled by the magnitudes subtracted */
        expect_close(what, n, ya, yb, 0.0f, tol * (1.0f + fabsf(lw)));
    else
        expect_close(what, n, ya, yb, tol, TDIFF__TOL_ABS_FLOOR);
}

static void test_softmax_and_log_softmax_match_the_reference(void **state)
{
    (void)state;
    const tdiff__kernels *k = variant();
    const float ranges[][2] = {{-1, 1}, {-30, 30}, {-1e4f, 1e4f}, {1e30f, 3e38f}, {-3e38f, 3e38f}};
    for (int log_form = 0; log_form < 2; log_form++)
        for (size_t r = 0; r < sizeof ranges / sizeof ranges[0]; r++)
            for (size_t l = 0; l < N_LENGTHS; l++) {
                const size_t n = test_lengths[l];
                test_fill(xa, n, ranges[r][0], ranges[r][1], 81 + (uint32_t)(r * 7 + n));
                check_softmax_pair(k, log_form, xa, n, "random");
                if (n > 2) { /* masked entries (-inf) at both ends */
                    xa[0] = xa[n - 1] = -INFINITY;
                    check_softmax_pair(k, log_form, xa, n, "masked");
                    assert_true(log_form ? ya[0] == -INFINITY : ya[0] == 0.0f);
                }
            }
}

static void test_softmax_output_sums_to_one(void **state)
{
    (void)state;
    const tdiff__kernels *k = variant();
    for (size_t l = 1; l < N_LENGTHS; l++) {
        const size_t n = test_lengths[l];
        test_fill(ya, n, -20, 20, 91);
        k->softmax(ya, n);
        double s = 0;
        for (size_t i = 0; i < n; i++)
            s += ya[i];
        assert_true(fabs(s - 1.0) <= tdiff__tol_softmax(n));
    }
}

static void test_softmax_special_values_follow_the_contract(void **state)
{
    (void)state;
    const tdiff__kernels *k = variant();
    for (size_t l = 1; l < N_LENGTHS; l++) {
        const size_t n = test_lengths[l];
        for (int log_form = 0; log_form < 2; log_form++) {
            /* any NaN: everything NaN */
            test_fill(xa, n, -5, 5, 101);
            xa[n / 2] = NAN;
            check_softmax_pair(k, log_form, xa, n, "nan");
            for (size_t i = 0; i < n; i++)
                assert_true(isnan(ya[i]));
            /* all -inf: no mass anywhere, lse -inf */
            for (size_t i = 0; i < n; i++)
                xa[i] = -INFINITY;
            check_softmax_pair(k, log_form, xa, n, "all -inf");
            for (size_t i = 0; i < n; i++)
                assert_true(log_form ? ya[i] == -INFINITY : ya[i] == 0.0f);
            /* +inf entries share the mass */
            test_fill(xa, n, -5, 5, 102);
            xa[n - 1] = INFINITY;
            if (n > 2)
                xa[1] = INFINITY;
            check_softmax_pair(k, log_form, xa, n, "+inf");
            const float share = n > 2 ? 0.5f : 1.0f;
            assert_true(log_form ? ya[n - 1] == -logf(1.0f / share) : ya[n - 1] == share);
            /* one huge value next to small ones: exactly one-hot, no overflow */
            test_fill(xa, n, -5, 5, 103);
            xa[n / 3] = 3e38f;
            check_softmax_pair(k, log_form, xa, n, "huge");
            assert_true(log_form ? ya[n / 3] == 0.0f : ya[n / 3] == 1.0f);
        }
    }
    /* n == 0: neutral value, nothing written */
    assert_true(k->softmax(xa, 0) == -INFINITY);
    assert_true(k->log_softmax(xa, 0) == -INFINITY);
}

static void test_rmsnorm_and_layernorm_match_the_reference(void **state)
{
    (void)state;
    const tdiff__kernels *k = variant();
    for (size_t l = 0; l < N_LENGTHS; l++) {
        const size_t n = test_lengths[l];
        const float tol = tdiff__tol_norm(n);
        test_fill(xa, n, -3, 5, 111); /* a non-zero mean, so layernorm's centring matters */
        test_fill(w, n, 0.5f, 1.5f, 112);
        test_fill(bias, n, -1, 1, 113);
        for (int with_w = 0; with_w < 2; with_w++) {
            k->rmsnorm(ya, xa, with_w ? w : NULL, n, 1e-6f);
            S->rmsnorm(yb, xa, with_w ? w : NULL, n, 1e-6f);
            expect_close("rmsnorm", n, ya, yb, tol, TDIFF__TOL_ABS_FLOOR);
            k->layernorm(ya, xa, with_w ? w : NULL, with_w ? bias : NULL, n, 1e-5f);
            S->layernorm(yb, xa, with_w ? w : NULL, with_w ? bias : NULL, n, 1e-5f);
            /* |x - mean| cancels: the error scales with the inputs, not the output */
            for (size_t i = 0; i < n; i++)
                assert_true(fabsf(ya[i] - yb[i]) <= tol * (4.0f + fabsf(bias[i])));
        }
        memcpy(xb, xa, n * sizeof *xa);
        k->rmsnorm(xb, xb, w, n, 1e-6f); /* in place */
        k->rmsnorm(ya, xa, w, n, 1e-6f);
        expect_same_bits("rmsnorm in place", n, xb, ya);
    }
}

static void test_argmax_equals_the_reference_with_ties_and_nan(void **state)
{
    (void)state;
    const tdiff__kernels *k = variant();
    assert_int_equal(k->argmax(xa, 0), 0);
    for (size_t l = 1; l < N_LENGTHS; l++) {
        const size_t n = test_lengths[l];
        for (uint32_t seed = 0; seed < 20; seed++) {
            test_fill(xa, n, -3, 3, 121 + seed);
            for (size_t i = 0; i < n; i++) /* coarse values: many ties */
                xa[i] = roundf(xa[i]);
            if (seed % 3 == 1)
                xa[(seed * 7) % n] = NAN;
            if (seed % 5 == 2)
                xa[(seed * 3) % n] = -INFINITY;
            assert_int_equal(k->argmax(xa, n), S->argmax(xa, n));
        }
        for (size_t i = 0; i < n; i++)
            xa[i] = NAN;
        assert_int_equal(k->argmax(xa, n), 0); /* all NaN */
        xa[n - 1] = -INFINITY;
        assert_int_equal(k->argmax(xa, n), n - 1); /* the only number, however small */
        for (size_t i = 0; i < n; i++)
            xa[i] = 1.0f;
        assert_int_equal(k->argmax(xa, n), 0); /* all tied: the lowest index */
    }
}

static void test_topk_equals_the_reference(void **state)
{
    (void)state;
    const tdiff__kernels *k = variant();
    static uint32_t ia[MAX_LEN + 8], ib[MAX_LEN + 8];
    const size_t ks[] = {0, 1, 2, 5, 40, 999, 1000, 2000};
    for (size_t l = 0; l < N_LENGTHS; l++) {
        const size_t n = test_lengths[l];
        for (uint32_t seed = 0; seed < 6; seed++) {
            test_fill(xa, n, -4, 4, 131 + seed);
            if (seed & 1)
                for (size_t i = 0; i < n; i++) /* ties */
                    xa[i] = roundf(xa[i]);
            if (seed & 2)
                for (size_t i = 0; i < n; i += 5)
                    xa[i] = NAN;
            if (seed == 4 && n)
                xa[n - 1] = INFINITY, xa[0] = -INFINITY;
            for (size_t q = 0; q < sizeof ks / sizeof ks[0]; q++) {
                const size_t m = k->topk(xa, n, ks[q], ia, ya);
                const size_t mr = S->topk(xa, n, ks[q], ib, yb);
                assert_int_equal(m, mr);
                assert_memory_equal(ia, ib, m * sizeof *ia);
                expect_same_bits("topk values", m, ya, yb);
                assert_int_equal(k->topk(xa, n, ks[q], ia, NULL), m); /* val may be NULL */
                assert_memory_equal(ia, ib, m * sizeof *ia);
            }
        }
    }
}

static void test_f16_and_bf16_conversions_are_bit_exact_for_all_65536_values(void **state)
{
    (void)state;
    const tdiff__kernels *k = variant();
    static uint16_t h[65536 + 1];
    static float a[65536], b[65536];
    for (uint32_t i = 0; i < 65536; i++)
        h[i + 1] = (uint16_t)i;
    /* h + 1: misaligned source; 65536 = 8192 full vectors, so also test a ragged length */
    k->f16_to_f32(a, h + 1, 65536);
    S->f16_to_f32(b, h + 1, 65536);
    expect_same_bits("f16_to_f32", 65536, a, b);
    k->bf16_to_f32(a, h + 1, 65536);
    S->bf16_to_f32(b, h + 1, 65536);
    expect_same_bits("bf16_to_f32", 65536, a, b);
    for (size_t l = 0; l < N_LENGTHS; l++) {
        const size_t n = test_lengths[l];
        memset(a, 0x55, sizeof(float) * (n + 1));
        memset(b, 0x55, sizeof(float) * (n + 1));
        k->f16_to_f32(a, h + 31000, n);
        S->f16_to_f32(b, h + 31000, n);
        expect_same_bits("f16_to_f32 ragged (and nothing past n written)", n + 1, a, b);
    }
}

static void test_dequantization_is_bit_exact(void **state)
{
    (void)state;
    const tdiff__kernels *k = variant();
    enum { NB = 31 }; /* blocks */
    static unsigned char q8[NB * sizeof(tdiff__block_q8_0) + 1], q4[NB * sizeof(tdiff__block_q4_0) + 1];
    static float a[NB * TDIFF__QK], b[NB * TDIFF__QK];
    uint32_t s = 141;
    for (size_t i = 0; i < sizeof q8; i++)
        q8[i] = (unsigned char)((s = s * 1664525u + 1013904223u) >> 24);
    for (size_t i = 0; i < sizeof q4; i++)
        q4[i] = (unsigned char)((s = s * 1664525u + 1013904223u) >> 24);
    /* random scale bytes may be inf/NaN/subnormal: those must agree bit for bit too */
    for (size_t blocks = 0; blocks <= NB; blocks += 1 + blocks) {
        k->dequant_q8_0(a, q8 + 1, blocks * TDIFF__QK); /* +1: blocks are only byte-aligned */
        S->dequant_q8_0(b, q8 + 1, blocks * TDIFF__QK);
        expect_same_bits("dequant_q8_0", blocks * TDIFF__QK, a, b);
        k->dequant_q4_0(a, q4 + 1, blocks * TDIFF__QK);
        S->dequant_q4_0(b, q4 + 1, blocks * TDIFF__QK);
        expect_same_bits("dequant_q4_0", blocks * TDIFF__QK, a, b);
    }
    /* K-quants: 3 super-blocks of random bytes (inf/NaN/subnormal scales included) */
    enum { NK = 3 };
    static unsigned char kq[NK * sizeof(tdiff__block_q6_k) + 1]; /* the largest */
    for (size_t i = 0; i < sizeof kq; i++)
        kq[i] = (unsigned char)((s = s * 1664525u + 1013904223u) >> 24);
    for (size_t blocks = 0; blocks <= NK; blocks++) {
        const size_t n = blocks * TDIFF__QK_K;
        k->dequant_q4_k(a, kq + 1, n);
        S->dequant_q4_k(b, kq + 1, n);
        expect_same_bits("dequant_q4_k", n, a, b);
        k->dequant_q5_k(a, kq + 1, n);
        S->dequant_q5_k(b, kq + 1, n);
        expect_same_bits("dequant_q5_k", n, a, b);
        k->dequant_q6_k(a, kq + 1, n);
        S->dequant_q6_k(b, kq + 1, n);
        expect_same_bits("dequant_q6_k", n, a, b);
    }
}

static int run_variant(tdiff_isa isa)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dot_is_within_the_summation_bound),
        cmocka_unit_test(test_axpy_differs_by_at_most_one_rounding),
        cmocka_unit_test(test_scale_add_mul_are_bit_exact),
        cmocka_unit_test(test_exp_is_within_4_eps_over_the_whole_range),
        cmocka_unit_test(test_exp_works_in_place),
        cmocka_unit_test(test_silu_gelu_gelu_tanh_match_the_reference),
        cmocka_unit_test(test_swiglu_matches_the_reference),
        cmocka_unit_test(test_softmax_and_log_softmax_match_the_reference),
        cmocka_unit_test(test_softmax_output_sums_to_one),
        cmocka_unit_test(test_softmax_special_values_follow_the_contract),
        cmocka_unit_test(test_rmsnorm_and_layernorm_match_the_reference),
        cmocka_unit_test(test_argmax_equals_the_reference_with_ties_and_nan),
        cmocka_unit_test(test_topk_equals_the_reference),
        cmocka_unit_test(test_f16_and_bf16_conversions_are_bit_exact_for_all_65536_values),
        cmocka_unit_test(test_dequantization_is_bit_exact),
    };
    if (!tdiff_isa_supported(isa)) {
        print_message("[  SKIPPED ] variant %s: this build or CPU cannot run it\n", tdiff_isa_to_string(isa));
        return 0;
    }
    V = tdiff__kernels_for(isa);
    if (!V || V->isa != isa) {
        print_message("[  FAILED  ] variant %s: supported, but its table is missing or mislabelled\n",
                      tdiff_isa_to_string(isa));
        return 1;
    }
    print_message("[==========] variant %s against the scalar reference\n", V->name);
    return _cmocka_run_group_tests(tdiff_isa_to_string(isa), tests, sizeof tests / sizeof tests[0], NULL, NULL);
}

int main(void)
{
    int failed = 0;
    failed += run_variant(TDIFF_ISA_AVX2);
    failed += run_variant(TDIFF_ISA_AVX512);
    failed += run_variant(TDIFF_ISA_NEON);
    return failed;
}
