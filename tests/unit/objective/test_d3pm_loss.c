/*
 * test_d3pm_loss.c -- D3PM's discrete-time bound against the reference code's
 * formulas (goldens from make_d3pm_goldens.py, dense numpy matrices): the
 * estimator replayed draw for draw matches to 1e-9, the sampled bound converges
 * to the exact expectation, an x_t the model makes impossible is not an error
 * (the reference's floored log space), the deprecated name gives the same numbers.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
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

/* Position i's logits favour the other position's token when visible, and drift with t.
 * "hard" (ud non-NULL): from t = 2/T on, a visible token's own logit is -inf. */
static tdiff_status model(void *ud, const int32_t *tok, size_t n, float t, float *logits)
{
    for (size_t i = 0; i < n; i++) {
        for (int j = 0; j < V; j++)
            logits[i * V + j] = 0.3f * (float)j * t + (tok[1 - i] == j ? 1.0f : 0.0f) + (j == (int)i ? 0.5f : 0.0f);
        if (ud && t > 1.5f / T && tok[i] != MASK)
            logits[i * V + tok[i]] = -INFINITY;
    }
    return TDIFF_OK;
}

typedef struct golden {
    double exact, sampled, std_error;
} golden;

/* One line of d3pm_goldens.txt. */
static golden read_golden(const char *kind, const char *which)
{
    char path[1024], line[512], k[32], m[32];
    FILE *f = fopen(test_source_path(path, sizeof path, "tests/unit/objective/d3pm_goldens.txt"), "r");
    assert_non_null(f);
    golden g = {NAN, NAN, NAN};
    while (fgets(line, sizeof line, f))
        if (line[0] != '#' && sscanf(line, "%31s %31s %lf %lf %lf", k, m, &g.exact, &g.sampled, &g.std_error) == 5 &&
            strcmp(k, kind) == 0 && strcmp(m, which) == 0)
            break;
    fclose(f);
    assert_false(isnan(g.exact));
    return g;
}

static tdiff_transition *make(int absorbing, tdiff_host *h)
{
    tdiff_scheduler *s;
    tdiff_transition *tr;
    assert_int_equal(tdiff_scheduler_create(TDIFF_SCHEDULE_COSINE, h, &s, NULL, 0), TDIFF_OK);
    assert_int_equal(tdiff_transition_create(absorbing ? TDIFF_TRANSITION_ABSORBING : TDIFF_TRANSITION_UNIFORM, V, MASK,
                                             s, T, h, &tr, NULL, 0),
                     TDIFF_OK);
    tdiff_scheduler_free(s);
    return tr;
}

static void test_estimator_matches_the_reference_formulas_draw_for_draw(void **state)
{
    (void)state;
    static int hard = 1;
    for (int absorbing = 0; absorbing <= 1; absorbing++)
        for (int m = 0; m <= 1; m++) {
            test_alloc ta = {0};
            tdiff_host h;
            test_host_init(&h, &ta);
            tdiff_transition *tr = make(absorbing, &h);
            golden g = read_golden(absorbing ? "absorbing" : "uniform", m ? "hard" : "smooth");
            double est, per, se;
            char err[256];
            assert_int_equal(tdiff_objective_d3pm_loss(tr, model, m ? &hard : NULL, x0, N, 64, 17, &est, &per, &se, err,
                                                       sizeof err),
                             TDIFF_OK);
            assert_string_equal(err, "");
            /* the same draws, dense double matrices in numpy: only rounding differs */
            assert_close(est, g.sampled, 1e-9 * g.sampled);
            assert_close(se, g.std_error, 1e-7 * g.std_error);
            assert_close(per, est / N, 1e-12);
            tdiff_transition_free(tr);
            assert_int_equal(ta.live, 0);
        }
}

static void test_sampled_bound_converges_to_the_exact_expectation(void **state)
{
    (void)state;
    for (int absorbing = 0; absorbing <= 1; absorbing++) {
        tdiff_transition *tr = make(absorbing, NULL);
        golden g = read_golden(absorbing ? "absorbing" : "uniform", "smooth");
        double est, se;
        assert_int_equal(tdiff_objective_d3pm_loss(tr, model, NULL, x0, N, 40000, 23, &est, NULL, &se, NULL, 0),
                         TDIFF_OK);
        assert_true(se > 0 && se < 0.02 * g.exact); /* a budget that makes the check sharp */
        assert_close(est, g.exact, 5 * se);          /* 5 standard errors: false alarm < 1e-6 */
        /* same seed, same number */
        double a, b;
        assert_int_equal(tdiff_objective_d3pm_loss(tr, model, NULL, x0, N, 100, 17, &a, NULL, NULL, NULL, 0), TDIFF_OK);
        assert_int_equal(tdiff_objective_d3pm_loss(tr, model, NULL, x0, N, 100, 17, &b, NULL, NULL, NULL, 0), TDIFF_OK);
        assert_true(a == b);
        tdiff_transition_free(tr);
    }
}

/* The t = 1 term is −log p̃(x_0 | x_1) from the logits, not from the posterior: with
 * T = 1 every draw is that term, and the prior term is the only other part. */
static void test_first_step_term_reads_the_network_prediction_directly(void **state)
{
    (void)state;
    tdiff_scheduler *s;
    tdiff_transition *tr;
    assert_int_equal(tdiff_scheduler_create(TDIFF_SCHEDULE_LINEAR, NULL, &s, NULL, 0), TDIFF_OK);
    /* LINEAR with T = 1: β_1 = 1, so x_1 is all mask and the prior term is 0 */
    assert_int_equal(tdiff_transition_create(TDIFF_TRANSITION_ABSORBING, V, MASK, s, 1, NULL, &tr, NULL, 0), TDIFF_OK);
    double est;
    assert_int_equal(tdiff_objective_d3pm_loss(tr, model, NULL, x0, N, 3, 5, &est, NULL, NULL, NULL, 0), TDIFF_OK);
    float lg[N * V];
    const int32_t masked[N] = {MASK, MASK};
    model(NULL, masked, N, 1.0f, lg);
    double want = 0;
    for (int i = 0; i < N; i++) {
        double z = 0;
        for (int j = 0; j < V; j++)
            z += exp((double)lg[i * V + j]);
        want += log(z) - (double)lg[i * V + x0[i]];
    }
    assert_close(est, want, 1e-12);
    tdiff_transition_free(tr);
    tdiff_scheduler_free(s);
}

static void test_bad_kinds_tokens_and_logits_are_reported_in_err(void **state)
{
    (void)state;
    tdiff_scheduler *s;
    tdiff_transition *tr;
    char err[256];
    double v;
    assert_int_equal(tdiff_scheduler_create(TDIFF_SCHEDULE_LINEAR, NULL, &s, NULL, 0), TDIFF_OK);
    assert_int_equal(tdiff_transition_create(TDIFF_TRANSITION_GAUSSIAN, V, 0, s, T, NULL, &tr, NULL, 0), TDIFF_OK);
    assert_int_equal(tdiff_objective_d3pm_loss(tr, model, NULL, x0, N, 10, 1, &v, NULL, NULL, err, sizeof err),
                     TDIFF_E_UNSUPPORTED);
    assert_non_null(strstr(err, "uniform and absorbing"));
    tdiff_transition_free(tr);
    assert_int_equal(tdiff_transition_create(TDIFF_TRANSITION_UNIFORM, V, 0, s, T, NULL, &tr, NULL, 0), TDIFF_OK);
    const int32_t bad[2] = {0, V};
    assert_int_equal(tdiff_objective_d3pm_loss(tr, model, NULL, bad, 2, 10, 1, &v, NULL, NULL, err, sizeof err),
                     TDIFF_E_INVALID_ARGUMENT);
    assert_string_equal(err, "D3PM loss: token 4 at 1 is outside [0, 4)");
    assert_string_equal(tdiff_transition_last_error(tr), ""); /* the handle is only read */
    assert_int_equal(tdiff_objective_d3pm_loss(NULL, model, NULL, x0, N, 10, 1, &v, NULL, NULL, err, sizeof err),
                     TDIFF_E_INVALID_ARGUMENT);
    assert_string_equal(err, "D3PM loss: NULL transition");
    tdiff_transition_free(tr);
    tdiff_scheduler_free(s);
}

/* The old name is the same computation and leaves its message in the handle. */
static void test_deprecated_name_gives_the_same_numbers(void **state)
{
    (void)state;
    tdiff_transition *tr = make(1, NULL);
    double a[3], b[3];
    assert_int_equal(tdiff_objective_d3pm_loss(tr, model, NULL, x0, N, 50, 3, &a[0], &a[1], &a[2], NULL, 0), TDIFF_OK);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    assert_int_equal(tdiff_transition_d3pm_loss(tr, model, NULL, x0, N, 50, 3, &b[0], &b[1], &b[2]), TDIFF_OK);
    assert_memory_equal(a, b, sizeof a);
    const int32_t bad[1] = {-1};
    assert_int_equal(tdiff_transition_d3pm_loss(tr, model, NULL, bad, 1, 50, 3, &b[0], NULL, NULL),
                     TDIFF_E_INVALID_ARGUMENT);
    assert_string_equal(tdiff_transition_last_error(tr), "D3PM loss: token -1 at 0 is outside [0, 4)");
    assert_int_equal(tdiff_transition_d3pm_loss(NULL, model, NULL, x0, N, 50, 3, &b[0], NULL, NULL),
                     TDIFF_E_INVALID_ARGUMENT);
#pragma GCC diagnostic pop
    tdiff_transition_free(tr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_estimator_matches_the_reference_formulas_draw_for_draw),
        cmocka_unit_test(test_sampled_bound_converges_to_the_exact_expectation),
        cmocka_unit_test(test_first_step_term_reads_the_network_prediction_directly),
        cmocka_unit_test(test_bad_kinds_tokens_and_logits_are_reported_in_err),
        cmocka_unit_test(test_deprecated_name_gives_the_same_numbers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
