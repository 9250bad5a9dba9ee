/*
 * test_d3pm_loss.c -- D3PM's discrete-time bound: the sampled estimate converges to
 * the exact expectation computed by enumerating every t and every joint x_t with
 * dense matrices and Bayes' rule; the prior term is checked in closed form.
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

enum { V = 4, T = 5, MASK = 3, N = 2 };
static const int32_t x0[N] = {1, 2};

/* Position i's logits favour the other position's token when visible, and drift with t. */
static tdiff_status model(void *ud, const int32_t *tok, size_t n, float t, float *logits)
{
    (void)ud;
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < V; j++)
            logits[i * V + j] = 0.3f * (float)j * t + (tok[1 - i] == j ? 1.0f : 0.0f) + (j == (int)i ? 0.5f : 0.0f);
    return TDIFF_OK;
}

static void dense(tdiff_transition *tr, size_t t, int cum, double *m)
{
    assert_int_equal(tdiff_transition_matrix(tr, t, cum, m, V * V, NULL), TDIFF_OK);
}

/* Exact E over t ~ U{1..T}, x_t ~ q(·|x_0) of T·Σ_i term_i, plus the prior term. */
static double exact_loss(tdiff_transition *tr, int absorbing)
{
    double total = 0;
    for (size_t t = 1; t <= T; t++) {
        double q[V * V], qb[V * V], qbp[V * V];
        dense(tr, t, 0, q);
        dense(tr, t, 1, qb);
        dense(tr, t - 1, 1, qbp);
        for (int a = 0; a < V; a++)
            for (int b = 0; b < V; b++) {
                int32_t xt[N] = {a, b};
                double pj = qb[x0[0] * V + a] * qb[x0[1] * V + b];
                if (pj == 0)
                    continue;
                float lg[N * V];
                model(NULL, xt, N, (float)((double)t / T), lg);
                double term = 0;
                for (int i = 0; i < N; i++) {
                    double pt[V], z = 0;
                    for (int j = 0; j < V; j++)
                        z += (pt[j] = exp((double)lg[i * V + j]));
                    double post_p[V], post_q[V], zp = 0, zq = 0;
                    for (int j = 0; j < V; j++) {
                        double prior_p = 0;
                        for (int k = 0; k < V; k++)
                            prior_p += pt[k] / z * qbp[k * V + j];
                        zp += (post_p[j] = q[j * V + xt[i]] * prior_p);
                        zq += (post_q[j] = q[j * V + xt[i]] * qbp[x0[i] * V + j]);
                    }
                    if (t == 1) {
                        term += -log(post_p[x0[i]] / zp);
                    } else {
                        for (int j = 0; j < V; j++)
                            if (post_q[j] > 0)
                                term += post_q[j] / zq * (log(post_q[j] / zq) - log(post_p[j] / zp));
                    }
                }
                total += pj * term; /* (1/T)·T cancels */
            }
    }
    double qT[V * V];
    dense(tr, T, 1, qT);
    for (int i = 0; i < N; i++)
        for (int j = 0; j < V; j++) {
            double prior = absorbing ? (j == MASK) : 1.0 / V, qq = qT[x0[i] * V + j];
            total += qq * (log(qq + 1e-6) - log(prior + 1e-6));
        }
    return total;
}

static void test_sampled_bound_converges_to_exact_expectation(void **state)
{
    (void)state;
    for (int absorbing = 0; absorbing <= 1; absorbing++) {
        test_alloc ta = {0};
        tdiff_host h;
        test_host_init(&h, &ta);
        tdiff_scheduler *s;
        tdiff_transition *tr;
        assert_int_equal(tdiff_scheduler_create(TDIFF_SCHEDULE_COSINE, &h, &s, NULL, 0), TDIFF_OK);
        assert_int_equal(tdiff_transition_create(absorbing ? TDIFF_TRANSITION_ABSORBING : TDIFF_TRANSITION_UNIFORM, V,
                                                 MASK, s, T, &h, &tr, NULL, 0),
                         TDIFF_OK);
        double exact = exact_loss(tr, absorbing), est, per, se;
        assert_int_equal(tdiff_transition_d3pm_loss(tr, model, NULL, x0, N, 40000, 17, &est, &per, &se), TDIFF_OK);
        assert_true(se > 0);
        assert_close(est, exact, 5 * se); /* 5 standard errors: false alarm < 1e-6 */
        assert_close(per, est / N, 1e-12);
        /* same seed, same number */
        double again;
        assert_int_equal(tdiff_transition_d3pm_loss(tr, model, NULL, x0, N, 100, 17, &again, NULL, NULL), TDIFF_OK);
        double once;
        assert_int_equal(tdiff_transition_d3pm_loss(tr, model, NULL, x0, N, 100, 17, &once, NULL, NULL), TDIFF_OK);
        assert_true(again == once);
        tdiff_transition_free(tr);
        tdiff_scheduler_free(s);
        assert_int_equal(ta.live, 0);
    }
}

static void test_d3pm_loss_rejects_other_kinds_and_bad_tokens(void **state)
{
    (void)state;
    tdiff_scheduler *s;
    tdiff_transition *tr;
    assert_int_equal(tdiff_scheduler_create(TDIFF_SCHEDULE_LINEAR, NULL, &s, NULL, 0), TDIFF_OK);
    assert_int_equal(tdiff_transition_create(TDIFF_TRANSITION_GAUSSIAN, V, 0, s, T, NULL, &tr, NULL, 0), TDIFF_OK);
    double v;
    assert_int_equal(tdiff_transition_d3pm_loss(tr, model, NULL, x0, N, 10, 1, &v, NULL, NULL), TDIFF_E_UNSUPPORTED);
    tdiff_transition_free(tr);
    assert_int_equal(tdiff_transition_create(TDIFF_TRANSITION_UNIFORM, V, 0, s, T, NULL, &tr, NULL, 0), TDIFF_OK);
    const int32_t bad[2] = {0, V};
    assert_int_equal(tdiff_transition_d3pm_loss(tr, model, NULL, bad, 2, 10, 1, &v, NULL, NULL),
                     TDIFF_E_INVALID_ARGUMENT);
    tdiff_transition_free(tr);
    tdiff_scheduler_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sampled_bound_converges_to_exact_expectation),
        cmocka_unit_test(test_d3pm_loss_rejects_other_kinds_and_bad_tokens),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
