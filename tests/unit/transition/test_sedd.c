/*
 * test_sedd.c -- SEDD reverse steps. With the exact concrete score of a known
 * distribution, the analytic (Tweedie) step must equal the true reverse posterior
 * computed by Bayes' rule from exp(σQ) in closed form; the Euler step must equal
 * e_x + dσ·R by hand and agree with the analytic step to O(dσ²).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "libtextdiff.h"
#include "support.h"

#define assert_close(a, b, tol)                                                                          \
    do {                                                                                                 \
        double a_ = (a), b_ = (b);                                                                       \
        if (!(fabs(a_ - b_) <= (tol)))                                                                   \
            fail_msg("%s = %.17g, expected %.17g (tol %g)", #a, a_, b_, (double)(tol));                 \
    } while (0)

enum { V = 5, MASK = 4 };

/* exp(σQ)[i, j] (row convention: from i to j) for SEDD's uniform (11ᵀ/V − I) and
 * absorbing (1e_mᵀ − I) rate matrices. */
static double heat(int absorbing, double sigma, int i, int j)
{
    double e = exp(-sigma);
    if (!absorbing)
        return (i == j) * e + (1 - e) / V;
    return (i == j) * e + (j == MASK) * (1 - e);
}

static void marginal(int absorbing, const double *p0, double sigma, double *p)
{
    for (int j = 0; j < V; j++) {
        p[j] = 0;
        for (int i = 0; i < V; i++)
            p[j] += p0[i] * heat(absorbing, sigma, i, j);
    }
}

static tdiff_transition *make(int absorbing, tdiff_host *h, test_alloc *ta, tdiff_scheduler **s)
{
    test_host_init(h, ta);
    assert_int_equal(tdiff_scheduler_create(TDIFF_SCHEDULE_LOGLINEAR, h, s, NULL, 0), TDIFF_OK);
    tdiff_transition *tr = NULL;
    assert_int_equal(tdiff_transition_create(absorbing ? TDIFF_TRANSITION_ABSORBING : TDIFF_TRANSITION_UNIFORM, V, MASK,
                                             *s, 4, h, &tr, NULL, 0),
                     TDIFF_OK);
    return tr;
}

static void test_analytic_step_with_exact_score_is_the_true_reverse_posterior(void **state)
{
    (void)state;
    for (int absorbing = 0; absorbing <= 1; absorbing++) {
        test_alloc ta = {0};
        tdiff_host h;
        tdiff_scheduler *s;
        tdiff_transition *tr = make(absorbing, &h, &ta, &s);
        /* data distribution; no mass on the mask for the absorbing graph */
        const double p0[V] = {0.4, 0.1, 0.3, 0.2, absorbing ? 0.0 : 0.25};
        double z = 0, p0n[V];
        for (int i = 0; i < V; i++)
            z += p0[i];
        for (int i = 0; i < V; i++)
            p0n[i] = p0[i] / z;
        const double sigma = 1.3, ds = 0.4;
        double ps[V], pprev[V];
        marginal(absorbing, p0n, sigma, ps);
        marginal(absorbing, p0n, sigma - ds, pprev);
        for (int32_t x = 0; x < V; x++) {
            float score[V], out[V];
            for (int y = 0; y < V; y++)
                score[y] = (float)(ps[y] / ps[x]); /* the exact concrete score */
            assert_int_equal(tdiff_transition_sedd_analytic(tr, &x, score, 1, ds, 0, out), TDIFF_OK);
            /* Bayes: P(x_{σ−dσ} = y | x_σ = x) = p_{σ−dσ}(y)·exp(dσQ)[y, x] / p_σ(x) */
            for (int y = 0; y < V; y++)
                assert_close(out[y], pprev[y] * heat(absorbing, ds, y, x) / ps[x], 2e-6);
        }
        tdiff_transition_free(tr);
        tdiff_scheduler_free(s);
        assert_int_equal(ta.live, 0);
    }
}

static void test_final_denoising_step_drops_the_mask(void **state)
{
    (void)state;
    test_alloc ta = {0};
    tdiff_host h;
    tdiff_scheduler *s;
    tdiff_transition *tr = make(1, &h, &ta, &s);
    const int32_t x = MASK;
    const float score[V] = {0.5f, 1.0f, 2.0f, 0.5f, 1.0f};
    float out[V];
    assert_int_equal(tdiff_transition_sedd_analytic(tr, &x, score, 1, 1e-3, 1, out), TDIFF_OK);
    assert_true(out[MASK] == 0.0f);
    /* at a mask the non-mask entries are ∝ score·e^{dσ}(1 − e^{−dσ}): ∝ score */
    assert_close(out[2] / out[0], 4.0, 1e-5);
    assert_close(out[0] + out[1] + out[2] + out[3], 1.0, 1e-6);
    /* an unmasked token stays itself */
    const int32_t y = 2;
    assert_int_equal(tdiff_transition_sedd_analytic(tr, &y, score, 1, 0.3, 1, out), TDIFF_OK);
    assert_true(out[2] == 1.0f);
    tdiff_transition_free(tr);
    tdiff_scheduler_free(s);
}

static void test_euler_step_is_identity_plus_reverse_rate(void **state)
{
    (void)state;
    test_alloc ta = {0};
    tdiff_host h;
    tdiff_scheduler *s;
    tdiff_transition *tr = make(0, &h, &ta, &s);
    const int32_t x = 0;
    const float score[V] = {1.0f, 2.0f, 4.0f, 0.5f, 0.5f};
    float out[V];
    const double ds = 0.1;
    assert_int_equal(tdiff_transition_sedd_euler(tr, &x, score, 1, ds, out), TDIFF_OK);
    /* R_y = s_y/V for y ≠ x; out = e_x + dσ·R, R_x = −Σ R_y */
    double off = 0;
    for (int y = 1; y < V; y++) {
        assert_close(out[y], ds * score[y] / V, 1e-7);
        off += ds * score[y] / V;
    }
    assert_close(out[0], 1 - off, 1e-7);
    /* Euler and analytic agree to first order: difference O(dσ²) */
    const double small = 1e-3;
    float a[V];
    assert_int_equal(tdiff_transition_sedd_euler(tr, &x, score, 1, small, out), TDIFF_OK);
    assert_int_equal(tdiff_transition_sedd_analytic(tr, &x, score, 1, small, 0, a), TDIFF_OK);
    for (int y = 0; y < V; y++)
        assert_close(out[y], a[y], 10 * small * small);
    /* too large a step makes the diagonal negative: clipped, still a distribution */
    assert_int_equal(tdiff_transition_sedd_euler(tr, &x, score, 1, 10.0, out), TDIFF_OK);
    assert_true(out[0] == 0.0f);
    tdiff_transition_free(tr);
    tdiff_scheduler_free(s);
}

static void test_sedd_rejects_other_kinds_and_bad_scores(void **state)
{
    (void)state;
    test_alloc ta = {0};
    tdiff_host h;
    tdiff_scheduler *s;
    tdiff_transition *tr = make(0, &h, &ta, &s);
    const int32_t x = 0;
    float score[V] = {1, -1, 1, 1, 1}, out[V];
    assert_int_equal(tdiff_transition_sedd_euler(tr, &x, score, 1, 0.1, out), TDIFF_E_INVALID_ARGUMENT);
    score[1] = 1;
    assert_int_equal(tdiff_transition_sedd_euler(tr, &x, score, 1, -0.1, out), TDIFF_E_INVALID_ARGUMENT);
    tdiff_transition *g = NULL;
    assert_int_equal(tdiff_transition_create(TDIFF_TRANSITION_GAUSSIAN, V, 0, s, 4, &h, &g, NULL, 0), TDIFF_OK);
    assert_int_equal(tdiff_transition_sedd_euler(g, &x, score, 1, 0.1, out), TDIFF_E_UNSUPPORTED);
    tdiff_transition_free(g);
    tdiff_transition_free(tr);
    tdiff_scheduler_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_analytic_step_with_exact_score_is_the_true_reverse_posterior),
        cmocka_unit_test(test_final_denoising_step_drops_the_mask),
        cmocka_unit_test(test_euler_step_is_identity_plus_reverse_rate),
        cmocka_unit_test(test_sedd_rejects_other_kinds_and_bad_scores),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
