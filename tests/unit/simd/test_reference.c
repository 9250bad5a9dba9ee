/*
 * test_reference.c -- the scalar reference kernels (lib/simd/scalar.c) against
 * float64 math and against references computed independently here: decoding
 * every f16/bf16 bit pattern from its fields, hand-built Q8_0/Q4_0 blocks with
 * known values, brute-force top-k by sorting. Everything else in the simd suite
 * trusts the scalar table, so this is where it earns that trust.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "simd/half.h"
#include "simd/tables.h"
#include "simd/tolerance.h"
#include "simd_test.h"

static const tdiff__kernels *const S = &tdiff__kernels_scalar;
static float x[MAX_LEN], x2[MAX_LEN], y[MAX_LEN], wv[MAX_LEN], bv[MAX_LEN];

/* |got - want| <= ulps * eps * |want| against a double; results below the normal
 * range (|want| < FLT_MIN) only need to be within FLT_MIN. */
static void expect_rel(const char *what, float xin, float got, double want, double ulps)
{
    if (isnan(want) ? !isnan(got) : fabs((double)got - want) > ulps * FLT_EPSILON * fabs(want) + FLT_MIN)
        fail_msg("%s(%.9g) = %.9g, float64 says %.17g", what, (double)xin, (double)got, want);
}

static void test_exp_and_activations_agree_with_float64(void **state)
{
    (void)state;
    test_fill(x, MAX_LEN, -20, 20, 1);
    test_fill(x2, MAX_LEN, -3, 3, 2);
    const double s2pi = sqrt(2.0 / acos(-1.0));
    for (size_t i = 0; i < MAX_LEN; i++) {
        const double v = x[i];
        S->exp(y, x + i, 1);
        expect_rel("exp", x[i], y[0], exp(v), 1);
        S->silu(y, x + i, 1);
        expect_rel("silu", x[i], y[0], v / (1 + exp(-v)), 4);
        S->gelu(y, x + i, 1);
        /* rounding 1/sqrt2 and x/sqrt2 to float costs up to x^2/2 eps relative each
         * once erfc(z) ~ exp(-z^2) is tiny */
        expect_rel("gelu", x[i], y[0], 0.5 * v * erfc(-v / sqrt(2.0)), 4 + v * v);
        S->gelu_tanh(y, x + i, 1);
        /* 0.5 v (1 + tanh u) written as v / (1 + exp(-2u)): no cancellation in float64 either */
        const double u = s2pi * (v + 0.044715 * v * v * v);
        expect_rel("gelu_tanh", x[i], y[0], v / (1 + exp(-2 * u)), 8 + 2 * fabs(u));
        S->swiglu(y, x + i, x2 + i, 1);
        expect_rel("swiglu", x[i], y[0], v / (1 + exp(-v)) * x2[i], 4);
    }
    /* gelu of known values: gelu(1) = Phi(1) = 0.8413447460685429, gelu(-1) = -0.15865525393145707 */
    const float in[2] = {1.0f, -1.0f};
    S->gelu(y, in, 2);
    expect_rel("gelu", 1.0f, y[0], 0.8413447460685429, 4);
    expect_rel("gelu", -1.0f, y[1], -0.15865525393145707, 4);
}

static void test_reductions_agree_with_float64(void **state)
{
    (void)state;
    for (size_t l = 1; l < N_LENGTHS; l++) {
        const size_t n = test_lengths[l];
        test_fill(x, n, -4, 6, 3 + (uint32_t)n);
        test_fill(x2, n, -1, 1, 4 + (uint32_t)n);
        test_fill(wv, n, 0.5f, 2, 5);
        test_fill(bv, n, -1, 1, 6);
        double dot = 0, sum = 0, ss = 0, mx = -INFINITY;
        for (size_t i = 0; i < n; i++) {
            dot += (double)x[i] * x2[i];
            sum += x[i];
            ss += (double)x[i] * x[i];
            mx = x[i] > mx ? x[i] : mx;
        }
        /* the reference accumulates in double: one final rounding */
        expect_rel("dot", (float)n, S->dot(x, x2, n), dot, 1);
        double se = 0;
        for (size_t i = 0; i < n; i++)
            se += exp(x[i] - mx);
        memcpy(y, x, n * sizeof *x);
        expect_rel("softmax lse", (float)n, S->softmax(y, n), mx + log(se), 2);
        for (size_t i = 0; i < n; i++) /* x - max is rounded to float first: |x - max|/2 eps more */
            expect_rel("softmax", x[i], y[i], exp(x[i] - mx) / se, 4 + fabs(x[i] - mx) / 2);
        memcpy(y, x, n * sizeof *x);
        S->log_softmax(y, n);
        for (size_t i = 0; i < n; i++) /* absolute: x - lse cancels */
            assert_true(fabs(y[i] - ((x[i] - mx) - log(se))) <= 4 * FLT_EPSILON * (fabs(x[i] - mx) + log(se) + 1));
        const double r = 1 / sqrt(ss / n + 1e-5);
        S->rmsnorm(y, x, wv, n, 1e-5f);
        for (size_t i = 0; i < n; i++)
            expect_rel("rmsnorm", x[i], y[i], x[i] * r * wv[i], 4);
        const double mean = sum / n;
        double var = 0;
        for (size_t i = 0; i < n; i++)
            var += (x[i] - mean) * (x[i] - mean);
        const double rs = 1 / sqrt(var / n + 1e-5);
        S->layernorm(y, x, wv, bv, n, 1e-5f);
        for (size_t i = 0; i < n; i++) { /* absolute, scaled by the terms: x - mean and + b cancel */
            const double want = (x[i] - mean) * rs * wv[i] + bv[i];
            const double scale = (fabs(x[i]) + fabs(mean)) * rs * wv[i] + fabs(bv[i]);
            assert_true(fabs(y[i] - want) <= 4 * FLT_EPSILON * scale);
        }
        S->layernorm(y, x, NULL, NULL, n, 1e-5f); /* NULL w, b: ones and zeros */
        for (size_t i = 0; i < n; i++)
            assert_true(fabs(y[i] - (x[i] - mean) * rs) <= 4 * FLT_EPSILON * (fabs(x[i]) + fabs(mean)) * rs);
    }
}

static void test_zero_length_calls_touch_nothing(void **state)
{
    (void)state;
    y[0] = 42.0f;
    assert_true(S->dot(x, x2, 0) == 0.0f);
    S->axpy(y, 2.0f, x, 0);
    S->scale(y, 2.0f, 0);
    S->exp(y, x, 0);
    S->rmsnorm(y, x, NULL, 0, 1e-5f);
    S->layernorm(y, x, NULL, NULL, 0, 1e-5f);
    S->gelu(y, x, 0);
    assert_true(S->softmax(y, 0) == -INFINITY);
    assert_true(y[0] == 42.0f);
    uint32_t idx[1] = {7};
    assert_int_equal(S->topk(x, 0, 3, idx, NULL), 0);
    assert_int_equal(S->topk(x, 5, 0, idx, NULL), 0);
    assert_int_equal(idx[0], 7);
    assert_int_equal(S->argmax(x, 0), 0);
}

/* Sort order of the top-k contract: value descending, then index ascending. */
static const float *g_sort_x;
static int by_value_then_index(const void *pa, const void *pb)
{
    const uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;
    const float va = g_sort_x[a], vb = g_sort_x[b];
    if (va != vb)
        return va > vb ? -1 : 1;
    return a < b ? -1 : (a > b);
}

static void test_topk_and_argmax_equal_a_full_sort(void **state)
{
    (void)state;
    static uint32_t all[MAX_LEN], idx[MAX_LEN];
    static float val[MAX_LEN];
    for (size_t l = 1; l < N_LENGTHS; l++) {
        const size_t n = test_lengths[l];
        for (uint32_t seed = 0; seed < 8; seed++) {
            test_fill(x, n, -3, 3, 7 + seed);
            if (seed & 1)
                for (size_t i = 0; i < n; i++)
                    x[i] = roundf(x[i]); /* ties */
            size_t valid = 0;
            for (size_t i = 0; i < n; i++) {
                if ((seed & 2) && i % 3 == 0)
                    x[i] = NAN;
                if (!isnan(x[i]))
                    all[valid++] = (uint32_t)i;
            }
            g_sort_x = x;
            qsort(all, valid, sizeof *all, by_value_then_index);
            for (size_t k = 0; k <= n + 2; k += 1 + k / 2) {
                const size_t m = S->topk(x, n, k, idx, val);
                assert_int_equal(m, k < valid ? k : valid);
                assert_memory_equal(idx, all, m * sizeof *idx);
                for (size_t j = 0; j < m; j++)
                    assert_true(val[j] == x[idx[j]]);
            }
            assert_int_equal(S->argmax(x, n), valid ? all[0] : 0);
        }
    }
}

/* binary16 decoded from its fields with double arithmetic, independent of half.h. */
static double f16_value(uint16_t h)
{
    const int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
    double v;
    if (e == 0)
        v = ldexp(m, -24);
    else if (e == 31)
        v = m ? NAN : INFINITY;
    else
        v = ldexp(1024 + m, e - 25);
    return s ? -v : v;
}

static void test_f16_all_65536_values_decode_exactly(void **state)
{
    (void)state;
    static uint16_t h[65536];
    static float out[65536];
    for (uint32_t i = 0; i < 65536; i++)
        h[i] = (uint16_t)i;
    S->f16_to_f32(out, h, 65536);
    size_t subnormals = 0, nans = 0;
    for (uint32_t i = 0; i < 65536; i++) {
        const double want = f16_value((uint16_t)i);
        const uint32_t bits = tdiff__f32_bits(out[i]);
        if (isnan(want)) {
            /* quiet NaN, sign and 10-bit payload kept in the top mantissa bits */
            nans++;
            assert_int_equal(bits, ((i & 0x8000u) << 16) | 0x7fc00000u | ((i & 0x3ffu) << 13));
        } else {
            if (((i >> 10) & 31) == 0 && (i & 1023))
                subnormals++;
            if ((double)out[i] != want || !signbit(out[i]) != !signbit(want))
                fail_msg("f16 0x%04x: %.9g, expected %.17g", i, (double)out[i], want);
        }
    }
    assert_int_equal(subnormals, 2 * 1023);
    assert_int_equal(nans, 2 * 1023);
    assert_true(out[0x3c00] == 1.0f && out[0xfc00] == -INFINITY && out[0x7bff] == 65504.0f);
    assert_true(out[0x0001] == 0x1p-24f); /* smallest subnormal */
}

static void test_bf16_all_65536_values_are_the_top_half_of_a_float(void **state)
{
    (void)state;
    static uint16_t h[65536];
    static float out[65536];
    for (uint32_t i = 0; i < 65536; i++)
        h[i] = (uint16_t)i;
    S->bf16_to_f32(out, h, 65536);
    for (uint32_t i = 0; i < 65536; i++) {
        /* decoded from the fields: 8-bit exponent (bias 127), 7-bit mantissa */
        const int s = i >> 15, e = (i >> 7) & 255, m = i & 127;
        double want = e == 0 ? ldexp(m, -133) : e == 255 ? (m ? NAN : INFINITY) : ldexp(128 + m, e - 134);
        want = s ? -want : want;
        if (isnan(want))
            assert_int_equal(tdiff__f32_bits(out[i]), i << 16); /* NaNs pass through untouched */
        else if ((double)out[i] != want || !signbit(out[i]) != !signbit(want))
            fail_msg("bf16 0x%04x: %.9g, expected %.17g", i, (double)out[i], want);
    }
    assert_true(out[0x3f80] == 1.0f && out[0xc000] == -2.0f);
}

static void test_q8_0_hand_built_blocks_dequantize_to_d_times_q(void **state)
{
    (void)state;
    unsigned char raw[2 * 34];
    /* block 0: d = 0.5 (f16 0x3800, little-endian), q = -128, -127, ..., -97 */
    raw[0] = 0x00, raw[1] = 0x38;
    for (int j = 0; j < 32; j++)
        raw[2 + j] = (unsigned char)(int8_t)(-128 + j);
    /* block 1: d = -2^-14 (f16 0x8400, smallest normal), q = 127, 126, ..., 96 */
    raw[34] = 0x00, raw[35] = 0x84;
    for (int j = 0; j < 32; j++)
        raw[36 + j] = (unsigned char)(127 - j);
    float out[64];
    S->dequant_q8_0(out, raw, 64);
    for (int j = 0; j < 32; j++) {
        assert_true(out[j] == 0.5f * (float)(-128 + j));
        assert_true(out[32 + j] == -0x1p-14f * (float)(127 - j));
    }
}

static void test_q4_0_hand_built_block_puts_low_nibbles_first(void **state)
{
    (void)state;
    unsigned char raw[18];
    raw[0] = 0x00, raw[1] = 0x40; /* d = 2.0 */
    for (int j = 0; j < 16; j++)
        raw[2 + j] = (unsigned char)(j | ((15 - j) << 4)); /* low nibble j, high nibble 15-j */
    float out[32];
    S->dequant_q4_0(out, raw, 32);
    for (int j = 0; j < 16; j++) {
        assert_true(out[j] == 2.0f * (float)(j - 8));       /* elements 0..15: low nibbles */
        assert_true(out[16 + j] == 2.0f * (float)(7 - j));  /* elements 16..31: high nibbles */
    }
    assert_true(out[0] == -16.0f && out[15] == 14.0f && out[16] == 14.0f && out[31] == -16.0f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exp_and_activations_agree_with_float64),
        cmocka_unit_test(test_reductions_agree_with_float64),
        cmocka_unit_test(test_zero_length_calls_touch_nothing),
        cmocka_unit_test(test_topk_and_argmax_equal_a_full_sort),
        cmocka_unit_test(test_f16_all_65536_values_decode_exactly),
        cmocka_unit_test(test_bf16_all_65536_values_are_the_top_half_of_a_float),
        cmocka_unit_test(test_q8_0_hand_built_blocks_dequantize_to_d_times_q),
        cmocka_unit_test(test_q4_0_hand_built_block_puts_low_nibbles_first),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
