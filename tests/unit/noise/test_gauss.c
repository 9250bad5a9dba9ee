/*
 * test_gauss.c -- Gaussian diffusion: posterior coefficients against Bayes' rule in
 * float64, forward noise statistics, DDPM/DDIM steps, nearest-embedding rounding
 * against a brute-force float64 search (both the SIMD-dot and the sgemm paths).
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

#define assert_close(a, b, tol)                                                                          \
    do {                                                                                                 \
        double a_ = (a), b_ = (b);                                                                       \
        if (!(fabs(a_ - b_) <= (tol)))                                                                   \
            fail_msg("%s = %.17g, expected %.17g (tol %g)", #a, a_, b_, (double)(tol));                 \
    } while (0)

static void test_posterior_equals_product_of_gaussians(void **state)
{
    (void)state;
    /* Bayes: q(x_{t−1}|x_0) = N(√ᾱ_{t−1}x_0, 1−ᾱ_{t−1}), q(x_t|x_{t−1}) = N(√α_t x_{t−1}, β_t);
     * the product in x_{t−1} has precision 1/(1−ᾱ_{t−1}) + α_t/β_t and mean
     * var·(√ᾱ_{t−1}x_0/(1−ᾱ_{t−1}) + √α_t x_t/β_t). */
    const double pairs[][2] = {{0.9, 0.95}, {0.5, 0.7}, {0.01, 0.02}, {0.3, 0.31}, {1e-4, 0.5}};
    for (size_t k = 0; k < sizeof pairs / sizeof pairs[0]; k++) {
        double ab_t = pairs[k][0], ab_p = pairs[k][1];
        double alpha = ab_t / ab_p, beta = 1 - alpha;
        double prec = 1 / (1 - ab_p) + alpha / beta;
        double var_ref = 1 / prec;
        double c0_ref = var_ref * sqrt(ab_p) / (1 - ab_p), ct_ref = var_ref * sqrt(alpha) / beta;
        double c0, ct, var;
        assert_int_equal(tdiff_gauss_posterior_coefs(ab_t, ab_p, &c0, &ct, &var), TDIFF_OK);
        assert_close(c0, c0_ref, 1e-12 * fmax(1, c0_ref));
        assert_close(ct, ct_ref, 1e-12 * fmax(1, ct_ref));
        assert_close(var, var_ref, 1e-12);
    }
    /* ᾱ_{t−1} = 1 (the last step): the posterior is the point mass on x_0 */
    double c0, ct, var;
    assert_int_equal(tdiff_gauss_posterior_coefs(0.9, 1.0, &c0, &ct, &var), TDIFF_OK);
    assert_close(c0, 1.0, 1e-15);
    assert_close(ct, 0.0, 1e-15);
    assert_close(var, 0.0, 1e-15);
    assert_int_equal(tdiff_gauss_posterior_coefs(0.9, 0.8, &c0, &ct, &var), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_gauss_posterior_coefs(1.0, 1.0, &c0, &ct, &var), TDIFF_E_INVALID_ARGUMENT);
}

#define NG 100000
static float a0[NG], at[NG], eps[NG], out[NG];

static void test_forward_noise_has_unit_normal_eps_and_exact_mixture(void **state)
{
    (void)state;
    for (int i = 0; i < NG; i++)
        a0[i] = (float)((i % 13) - 6) * 0.25f;
    const double ab = 0.36;
    assert_int_equal(tdiff_gauss_noise(a0, at, NG, ab, 42, 0, eps), TDIFF_OK);
    double m = 0, v = 0;
    for (int i = 0; i < NG; i++) {
        m += eps[i];
        v += (double)eps[i] * eps[i];
        assert_close(at[i], 0.6 * a0[i] + 0.8 * eps[i], 1e-5);
    }
    m /= NG;
    v = v / NG - m * m;
    /* 6 standard errors: mean se 1/√n, variance se √(2/n); false alarm ~2e-9 each */
    assert_true(fabs(m) < 6 / sqrt(NG));
    assert_true(fabs(v - 1) < 6 * sqrt(2.0 / NG));
}

static void test_ddpm_step_samples_the_posterior(void **state)
{
    (void)state;
    for (int i = 0; i < NG; i++) {
        a0[i] = (float)((i % 7) - 3) * 0.5f;
        at[i] = (float)((i % 11) - 5) * 0.3f;
    }
    const double ab_t = 0.4, ab_p = 0.5;
    double var;
    static float mean[NG];
    assert_int_equal(tdiff_gauss_posterior_mean(a0, at, mean, NG, ab_t, ab_p, &var), TDIFF_OK);
    assert_int_equal(tdiff_gauss_ddpm_step(a0, at, out, NG, ab_t, ab_p, 7, 0), TDIFF_OK);
    double m = 0, v = 0;
    for (int i = 0; i < NG; i++) {
        double z = (out[i] - mean[i]) / sqrt(var);
        m += z;
        v += z * z;
    }
    m /= NG;
    v = v / NG - m * m;
    assert_true(fabs(m) < 6 / sqrt(NG));
    assert_true(fabs(v - 1) < 6 * sqrt(2.0 / NG));
}

static void test_ddim_eta0_from_true_x0_recovers_the_noise_path(void **state)
{
    (void)state;
    for (int i = 0; i < 1000; i++)
        a0[i] = (float)((i % 9) - 4) * 0.3f;
    const double ab_t = 0.2, ab_p = 0.6;
    assert_int_equal(tdiff_gauss_noise(a0, at, 1000, ab_t, 3, 0, eps), TDIFF_OK);
    /* η = 0 with the exact x0: x_prev = √ᾱ_prev·x_0 + √(1−ᾱ_prev)·ε (deterministic DDIM) */
    assert_int_equal(tdiff_gauss_ddim_step(a0, at, out, 1000, ab_t, ab_p, 0.0, 0, 0), TDIFF_OK);
    for (int i = 0; i < 1000; i++)
        assert_close(out[i], sqrt(ab_p) * a0[i] + sqrt(1 - ab_p) * eps[i], 1e-5);
    /* η = 1 has DDPM's variance: σ² = var of the posterior */
    double var;
    assert_int_equal(tdiff_gauss_posterior_coefs(ab_t, ab_p, NULL, NULL, &var), TDIFF_OK);
    double sigma = sqrt((1 - ab_p) / (1 - ab_t)) * sqrt(1 - ab_t / ab_p);
    assert_close(sigma * sigma, var, 1e-14);
    assert_int_equal(tdiff_gauss_ddim_step(a0, at, out, 10, ab_t, ab_p, 1.5, 0, 0), TDIFF_E_INVALID_ARGUMENT);
}

/* Brute force in double: lowest squared distance, lowest id on ties. */
static int32_t nearest_ref(const float *emb, size_t V, size_t d, const float *x)
{
    double best = INFINITY;
    int32_t id = -1;
    for (size_t v = 0; v < V; v++) {
        double dist = 0;
        for (size_t j = 0; j < d; j++) {
            double df = (double)x[j] - emb[v * d + j];
            dist += df * df;
        }
        if (dist < best) {
            best = dist;
            id = (int32_t)v;
        }
    }
    return id;
}

static void run_nearest(size_t n)
{
    test_alloc ta = {0};
    tdiff_host h;
    test_host_init(&h, &ta);
    enum { V = 1500, D = 24 }; /* V > 1024 exercises the vocabulary tiling */
    float *emb = malloc(sizeof(float) * V * D), *x = malloc(sizeof(float) * n * D), *cl = malloc(sizeof(float) * n * D);
    int32_t *ids = malloc(sizeof(int32_t) * n);
    assert_non_null(emb);
    assert_non_null(x);
    assert_non_null(cl);
    assert_non_null(ids);
    uint32_t r = 12345;
    for (size_t i = 0; i < (size_t)V * D; i++) {
        r = r * 1664525u + 1013904223u;
        emb[i] = (float)((r >> 8) / 16777216.0 - 0.5);
    }
    for (size_t i = 0; i < n; i++) {
        size_t target = (i * 7919) % V;
        for (size_t j = 0; j < D; j++) {
            r = r * 1664525u + 1013904223u;
            x[i * D + j] = emb[target * D + j] + (float)(((r >> 8) / 16777216.0 - 0.5) * 0.05);
        }
    }
    assert_int_equal(tdiff_embed_nearest(&h, emb, V, D, x, n, ids, cl), TDIFF_OK);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(ids[i], nearest_ref(emb, V, D, x + i * D));
        assert_memory_equal(cl + i * D, emb + (size_t)ids[i] * D, D * sizeof(float));
    }
    /* clamping in place */
    assert_int_equal(tdiff_embed_nearest(&h, emb, V, D, x, n, NULL, x), TDIFF_OK);
    assert_memory_equal(x, cl, n * D * sizeof(float));
    assert_int_equal(ta.live, 0); /* the scratch went through the host and was freed */
    assert_true(ta.count > 0);
    free(emb);
    free(x);
    free(cl);
    free(ids);
}

static void test_nearest_embedding_small_batch_matches_brute_force(void **state)
{
    (void)state;
    run_nearest(5);
}

static void test_nearest_embedding_gemm_batch_matches_brute_force(void **state)
{
    (void)state;
    run_nearest(300); /* > 256: two row tiles */
}

static void test_nearest_embedding_breaks_ties_by_lowest_id(void **state)
{
    (void)state;
    test_alloc ta = {0};
    tdiff_host h;
    test_host_init(&h, &ta);
    const float emb[3 * 2] = {1, 0, 0, 1, 1, 0};
    const float x[2] = {2, 0};
    int32_t id = -1;
    assert_int_equal(tdiff_embed_nearest(&h, emb, 3, 2, x, 1, &id, NULL), TDIFF_OK);
    assert_int_equal(id, 0);
    assert_int_equal(tdiff_embed_nearest(&h, emb, 3, 2, x, 1, NULL, NULL), TDIFF_E_INVALID_ARGUMENT);
    /* NULL host: the C library's allocator; a bad host is refused */
    id = -1;
    assert_int_equal(tdiff_embed_nearest(NULL, emb, 3, 2, x, 1, &id, NULL), TDIFF_OK);
    assert_int_equal(id, 0);
    tdiff_host bad = h;
    bad.free_fn = NULL;
    assert_int_equal(tdiff_embed_nearest(&bad, emb, 3, 2, x, 1, &id, NULL), TDIFF_E_INVALID_ARGUMENT);
    const float nan_x[2] = {NAN, 0};
    assert_int_equal(tdiff_embed_nearest(&h, emb, 3, 2, nan_x, 1, &id, NULL), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(ta.live, 0);
}

/* The Gaussian helpers are pure: NULL vectors and bad ᾱ give a status, nothing else. */
static void test_gauss_helpers_check_their_own_arguments(void **state)
{
    (void)state;
    float v[4] = {0}, w[4] = {0};
    assert_int_equal(tdiff_gauss_noise(NULL, w, 4, 0.5, 1, 0, NULL), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_gauss_noise(v, NULL, 4, 0.5, 1, 0, NULL), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_gauss_noise(v, w, 4, 1.5, 1, 0, NULL), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_gauss_posterior_mean(v, NULL, w, 4, 0.4, 0.5, NULL), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_gauss_posterior_mean(v, v, w, 4, 0.6, 0.5, NULL), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_gauss_ddpm_step(v, v, NULL, 4, 0.4, 0.5, 1, 0), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_gauss_ddpm_step(v, v, w, 4, 1.0, 1.0, 1, 0), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_gauss_ddim_step(NULL, v, w, 4, 0.4, 0.5, 0.0, 1, 0), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_gauss_ddim_step(v, v, w, 4, 0.4, 0.5, NAN, 1, 0), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_gauss_posterior_mean(v, v, w, 4, 0.4, 0.5, NULL), TDIFF_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_posterior_equals_product_of_gaussians),
        cmocka_unit_test(test_forward_noise_has_unit_normal_eps_and_exact_mixture),
        cmocka_unit_test(test_ddpm_step_samples_the_posterior),
        cmocka_unit_test(test_ddim_eta0_from_true_x0_recovers_the_noise_path),
        cmocka_unit_test(test_nearest_embedding_small_batch_matches_brute_force),
        cmocka_unit_test(test_nearest_embedding_gemm_batch_matches_brute_force),
        cmocka_unit_test(test_nearest_embedding_breaks_ties_by_lowest_id),
        cmocka_unit_test(test_gauss_helpers_check_their_own_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
