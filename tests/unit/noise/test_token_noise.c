/*
 * test_token_noise.c -- forward noise on tokens: marginals and independence by
 * chi-square with fixed seeds, determinism under array splitting.
 *
 * Thresholds: a chi-square statistic with k degrees of freedom is compared with its
 * 1 − 1e-9 quantile (Wilson–Hilferty: k·(1 − 2/(9k) + 6·sqrt(2/(9k)))³, z = 6.0), so a
 * correct kernel fails a check with probability about 1e-9; seeds are fixed, so the
 * outcome is in fact deterministic and the threshold only states how unusual a failure is.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "libtextdiff.h"
#include "support.h"

#define N 200000
#define MASK 999

static double chi2_limit(double k)
{
    double a = 2.0 / (9.0 * k);
    double c = 1.0 - a + 6.0 * sqrt(a);
    return k * c * c * c;
}

static int32_t x0[N], xt[N], xt2[N];

static void fill_x0(void)
{
    for (int i = 0; i < N; i++)
        x0[i] = i % 97;
}

/* Chi-square of a 2×2 table of (a masked, b masked) over position pairs. */
static double independence_chi2(const int32_t *a, const int32_t *b, size_t n, int32_t mask)
{
    double c[2][2] = {{0}};
    for (size_t i = 0; i < n; i++)
        c[a[i] == mask][b[i] == mask] += 1.0;
    double chi = 0;
    for (int r = 0; r < 2; r++)
        for (int k = 0; k < 2; k++) {
            double e = (c[r][0] + c[r][1]) * (c[0][k] + c[1][k]) / (double)n;
            chi += (c[r][k] - e) * (c[r][k] - e) / e;
        }
    return chi;
}

static void test_mask_marginal_matches_one_minus_alpha_bar(void **state)
{
    (void)state;
    fill_x0();
    const double alphas[] = {0.05, 0.3, 0.5, 0.9};
    double chi = 0;
    for (int a = 0; a < 4; a++) {
        assert_int_equal(tdiff_noise_mask(x0, xt, N, alphas[a], MASK, 1234, (uint32_t)a, 0), TDIFF_OK);
        double masked = 0;
        for (int i = 0; i < N; i++) {
            if (xt[i] == MASK)
                masked++;
            else
                assert_int_equal(xt[i], x0[i]); /* unmasked tokens are untouched */
        }
        double e1 = N * (1 - alphas[a]), e0 = N * alphas[a];
        chi += (masked - e1) * (masked - e1) / e1 + ((N - masked) - e0) * ((N - masked) - e0) / e0;
    }
    assert_true(chi < chi2_limit(4)); /* 4 independent 1-dof statistics */
    /* ᾱ = 1 is the identity, ᾱ = 0 masks everything. */
    assert_int_equal(tdiff_noise_mask(x0, xt, N, 1.0, MASK, 1, 0, 0), TDIFF_OK);
    assert_memory_equal(xt, x0, sizeof x0);
    assert_int_equal(tdiff_noise_mask(x0, xt, N, 0.0, MASK, 1, 0, 0), TDIFF_OK);
    for (int i = 0; i < N; i++)
        assert_int_equal(xt[i], MASK);
}

static void test_mask_positions_and_streams_are_independent(void **state)
{
    (void)state;
    fill_x0();
    assert_int_equal(tdiff_noise_mask(x0, xt, N, 0.5, MASK, 77, 0, 0), TDIFF_OK);
    /* neighbours i and i+1 (lag 1), and a far lag 1000 */
    assert_true(independence_chi2(xt, xt + 1, N - 1, MASK) < chi2_limit(1));
    assert_true(independence_chi2(xt, xt + 1000, N - 1000, MASK) < chi2_limit(1));
    /* the same position under another stream, and under another seed */
    assert_int_equal(tdiff_noise_mask(x0, xt2, N, 0.5, MASK, 77, 1, 0), TDIFF_OK);
    assert_true(independence_chi2(xt, xt2, N, MASK) < chi2_limit(1));
    assert_int_equal(tdiff_noise_mask(x0, xt2, N, 0.5, MASK, 78, 0, 0), TDIFF_OK);
    assert_true(independence_chi2(xt, xt2, N, MASK) < chi2_limit(1));
}

static void test_corruption_does_not_depend_on_how_the_array_is_split(void **state)
{
    (void)state;
    fill_x0();
    assert_int_equal(tdiff_noise_uniform(x0, xt, N, 0.4, 97, 5, 3, 0), TDIFF_OK);
    /* three pieces, as three threads would do them */
    assert_int_equal(tdiff_noise_uniform(x0, xt2, 1000, 0.4, 97, 5, 3, 0), TDIFF_OK);
    assert_int_equal(tdiff_noise_uniform(x0 + 1000, xt2 + 1000, 77777, 0.4, 97, 5, 3, 1000), TDIFF_OK);
    assert_int_equal(tdiff_noise_uniform(x0 + 78777, xt2 + 78777, N - 78777, 0.4, 97, 5, 3, 78777), TDIFF_OK);
    assert_memory_equal(xt, xt2, sizeof xt);
    /* in place (xt == x0) gives the same */
    memcpy(xt2, x0, sizeof x0);
    assert_int_equal(tdiff_noise_uniform(xt2, xt2, N, 0.4, 97, 5, 3, 0), TDIFF_OK);
    assert_memory_equal(xt, xt2, sizeof xt);
}

static void test_uniform_kernel_matches_qbar_marginal(void **state)
{
    (void)state;
    enum { V = 16 };
    for (int i = 0; i < N; i++)
        x0[i] = 3;
    const double ab = 0.25;
    assert_int_equal(tdiff_noise_uniform(x0, xt, N, ab, V, 99, 0, 0), TDIFF_OK);
    /* Q̄ row of token 3: ᾱ + (1−ᾱ)/V on 3, (1−ᾱ)/V elsewhere: chi-square with V−1 dof. */
    double cnt[V] = {0};
    for (int i = 0; i < N; i++) {
        assert_true(xt[i] >= 0 && xt[i] < V);
        cnt[xt[i]]++;
    }
    double chi = 0;
    for (int v = 0; v < V; v++) {
        double e = N * ((1 - ab) / V + (v == 3 ? ab : 0.0));
        chi += (cnt[v] - e) * (cnt[v] - e) / e;
    }
    assert_true(chi < chi2_limit(V - 1));
    /* a wrong marginal (no self-replacement mass) must be rejected by the same test */
    double chi_wrong = 0;
    for (int v = 0; v < V; v++) {
        double e = v == 3 ? N * ab : N * (1 - ab) / (V - 1);
        chi_wrong += (cnt[v] - e) * (cnt[v] - e) / e;
    }
    assert_true(chi_wrong > chi2_limit(V - 1));
    int32_t bad = V;
    assert_int_equal(tdiff_noise_uniform(&bad, xt, 1, ab, V, 1, 0, 0), TDIFF_E_INVALID_ARGUMENT);
}

static void test_per_token_kernel_uses_each_keep_probability(void **state)
{
    (void)state;
    static float keep[N];
    const float levels[5] = {0.0f, 0.1f, 0.5f, 0.8f, 1.0f};
    fill_x0();
    for (int i = 0; i < N; i++)
        keep[i] = levels[i % 5];
    assert_int_equal(tdiff_noise_per_token(x0, xt, N, keep, MASK, 4, 0, 0), TDIFF_OK);
    double masked[5] = {0};
    for (int i = 0; i < N; i++)
        masked[i % 5] += xt[i] == MASK;
    assert_true(masked[0] == N / 5 && masked[4] == 0);
    double chi = 0;
    for (int l = 1; l < 4; l++) {
        double n = N / 5, e1 = n * (1 - levels[l]), e0 = n * levels[l];
        chi += (masked[l] - e1) * (masked[l] - e1) / e1 + (n - masked[l] - e0) * (n - masked[l] - e0) / e0;
    }
    assert_true(chi < chi2_limit(3));
    keep[7] = 1.5f;
    assert_int_equal(tdiff_noise_per_token(x0, xt, N, keep, MASK, 4, 0, 0), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_noise_mask(x0, xt, 2, 0.5, MASK, 4, 0, UINT32_MAX), TDIFF_E_INVALID_ARGUMENT);
}

/* The kernels are pure: their own checks, a status for each mistake, nothing written. */
static void test_pure_kernels_refuse_bad_arguments_without_writing(void **state)
{
    (void)state;
    const int32_t src[3] = {1, 2, 3};
    int32_t dst[3] = {-7, -7, -7};
    const float keep[3] = {0.5f, NAN, 0.5f};
    assert_int_equal(tdiff_noise_mask(NULL, dst, 3, 0.5, MASK, 1, 0, 0), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_noise_mask(src, NULL, 3, 0.5, MASK, 1, 0, 0), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_noise_mask(src, dst, 3, NAN, MASK, 1, 0, 0), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_noise_mask(src, dst, 3, -0.1, MASK, 1, 0, 0), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_noise_uniform(src, dst, 3, 1.5, 4, 1, 0, 0), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_noise_uniform(src, dst, 3, 0.5, 0, 1, 0, 0), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_noise_uniform(src, dst, 3, 0.5, 3, 1, 0, 0), TDIFF_E_INVALID_ARGUMENT); /* token 3 */
    assert_int_equal(tdiff_noise_per_token(src, dst, 3, NULL, MASK, 1, 0, 0), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_noise_per_token(src, dst, 3, keep, MASK, 1, 0, 0), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_noise_per_token(src, dst, 3, keep, MASK, 1, 0, UINT32_MAX - 1), TDIFF_E_INVALID_ARGUMENT);
    for (int i = 0; i < 3; i++)
        assert_int_equal(dst[i], -7);
    /* n = 0 and the last valid counter are fine */
    assert_int_equal(tdiff_noise_mask(src, dst, 0, 0.5, MASK, 1, 0, UINT32_MAX), TDIFF_OK);
    assert_int_equal(tdiff_noise_mask(src, dst, 1, 0.5, MASK, 1, 0, UINT32_MAX), TDIFF_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mask_marginal_matches_one_minus_alpha_bar),
        cmocka_unit_test(test_mask_positions_and_streams_are_independent),
        cmocka_unit_test(test_corruption_does_not_depend_on_how_the_array_is_split),
        cmocka_unit_test(test_uniform_kernel_matches_qbar_marginal),
        cmocka_unit_test(test_per_token_kernel_uses_each_keep_probability),
        cmocka_unit_test(test_pure_kernels_refuse_bad_arguments_without_writing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
