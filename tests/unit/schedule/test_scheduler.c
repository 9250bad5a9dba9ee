/* test_scheduler.c -- the scheduler handle: noise schedules against their closed
 * forms, derivatives against finite differences, discrete β/ᾱ, parameters, spindle. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include <cmocka.h>

#ifdef _WIN32 /* no alarm(): a hang ends at meson's test timeout instead */
#define alarm(seconds) ((void)(seconds))
#endif

#include "libtextdiff.h"
#include "support.h"

#define PI_D 3.14159265358979323846

/* |a − b| ≤ tol in double (cmocka 1.1.5 has no double assertion). */
#define assert_close(a, b, tol)                                                                          \
    do {                                                                                                 \
        double a_ = (a), b_ = (b);                                                                       \
        if (!(fabs(a_ - b_) <= (tol)))                                                                   \
            fail_msg("%s = %.17g, expected %.17g (tol %g)", #a, a_, b_, (double)(tol));                 \
    } while (0)

static const tdiff_schedule_kind all_kinds[] = {
    TDIFF_SCHEDULE_LINEAR,    TDIFF_SCHEDULE_COSINE, TDIFF_SCHEDULE_MASKGIT_COSINE, TDIFF_SCHEDULE_LOGLINEAR,
    TDIFF_SCHEDULE_GEOMETRIC, TDIFF_SCHEDULE_SQRT,   TDIFF_SCHEDULE_SPINDLE};
#define N_KINDS (sizeof all_kinds / sizeof all_kinds[0])

static tdiff_scheduler *make(tdiff_schedule_kind k, tdiff_host *host, test_alloc *ta)
{
    test_host_init(host, ta);
    tdiff_scheduler *s = NULL;
    assert_int_equal(tdiff_scheduler_create(k, host, &s, NULL, 0), TDIFF_OK);
    assert_non_null(s);
    return s;
}

static double q(tdiff_scheduler *s, tdiff_schedule_quantity what, double t)
{
    double v = NAN;
    assert_int_equal(tdiff_scheduler_eval(s, what, t, &v), TDIFF_OK);
    return v;
}

static double qs(tdiff_scheduler *s, tdiff_schedule_quantity what, size_t step, size_t n)
{
    double v = NAN;
    assert_int_equal(tdiff_scheduler_eval_step(s, what, step, n, &v), TDIFF_OK);
    return v;
}

static void test_linear_schedule_is_one_minus_t_with_exact_betas(void **state)
{
    (void)state;
    test_alloc ta = {0};
    tdiff_host h;
    tdiff_scheduler *s = make(TDIFF_SCHEDULE_LINEAR, &h, &ta);
    assert_true(q(s, TDIFF_SQ_ALPHA_BAR, 0.0) == 1.0);
    assert_true(q(s, TDIFF_SQ_ALPHA_BAR, 1.0) == 0.0);
    assert_true(isinf(q(s, TDIFF_SQ_SIGMA_BAR, 1.0)));
    for (size_t T = 1; T <= 50; T++) {
        for (size_t t = 1; t <= T; t++)
            assert_true(qs(s, TDIFF_SQ_BETA, t, T) == 1.0 / (double)(T - t + 1));
        for (size_t t = 0; t <= T; t++) /* product of (1 − β) telescopes to 1 − t/T; 1e-14 for rounding */
            assert_close(qs(s, TDIFF_SQ_ALPHA_BAR, t, T), 1.0 - (double)t / (double)T, 1e-14);
    }
    /* T = 1: one step masks everything. */
    assert_true(qs(s, TDIFF_SQ_BETA, 1, 1) == 1.0);
    assert_true(qs(s, TDIFF_SQ_ALPHA_BAR, 1, 1) == 0.0);
    tdiff_scheduler_free(s);
}

static void test_every_schedule_is_nonincreasing_and_in_unit_interval(void **state)
{
    (void)state;
    for (size_t k = 0; k < N_KINDS; k++) {
        test_alloc ta = {0};
        tdiff_host h;
        tdiff_scheduler *s = make(all_kinds[k], &h, &ta);
        double prev = 2.0;
        for (int i = 0; i <= 1000; i++) {
            double a = q(s, TDIFF_SQ_ALPHA_BAR, i / 1000.0);
            assert_true(a >= 0.0 && a <= 1.0);
            assert_true(a <= prev);
            prev = a;
        }
        for (size_t T = 1; T <= 64; T *= 2) {
            double p = 1.0;
            for (size_t t = 0; t <= T; t++) {
                double a = qs(s, TDIFF_SQ_ALPHA_BAR, t, T);
                assert_true(a >= 0.0 && a <= p);
                p = a;
                if (t) {
                    double b = qs(s, TDIFF_SQ_BETA, t, T);
                    assert_true(b >= 0.0 && b <= 1.0);
                }
            }
        }
        tdiff_scheduler_free(s);
    }
}

static void test_rates_equal_finite_differences(void **state)
{
    (void)state;
    /* Central differences with h = 1e-6 have error O(h²·ᾱ''') ≈ 1e-11 plus rounding
     * ≈ 1e-16/h = 1e-10: a relative tolerance of 1e-6 leaves a wide margin. */
    const double h = 1e-6;
    for (size_t k = 0; k < N_KINDS; k++) {
        test_alloc ta = {0};
        tdiff_host hh;
        tdiff_scheduler *s = make(all_kinds[k], &hh, &ta);
        for (int i = 1; i < 20; i++) {
            double t = i / 20.0;
            if (all_kinds[k] == TDIFF_SCHEDULE_SQRT && t + 1e-4 >= 0.99)
                continue; /* clamped at 0 there: no derivative */
            double d_num = (q(s, TDIFF_SQ_ALPHA_BAR, t + h) - q(s, TDIFF_SQ_ALPHA_BAR, t - h)) / (2 * h);
            double d = q(s, TDIFF_SQ_ALPHA_BAR_RATE, t);
            assert_close(d, d_num, 1e-6 * fmax(1.0, fabs(d)));
            double sg_num = (q(s, TDIFF_SQ_SIGMA_BAR, t + h) - q(s, TDIFF_SQ_SIGMA_BAR, t - h)) / (2 * h);
            double sg = q(s, TDIFF_SQ_SIGMA_RATE, t);
            assert_close(sg, sg_num, 1e-6 * fmax(1.0, fabs(sg)));
            double a = q(s, TDIFF_SQ_ALPHA_BAR, t);
            assert_close(q(s, TDIFF_SQ_ELBO_WEIGHT, t), -d / (1.0 - a), 1e-9 * fmax(1.0, fabs(d / (1 - a))));
        }
        tdiff_scheduler_free(s);
    }
}

static void test_loglinear_matches_sedd_formulas(void **state)
{
    (void)state;
    test_alloc ta = {0};
    tdiff_host h;
    tdiff_scheduler *s = make(TDIFF_SCHEDULE_LOGLINEAR, &h, &ta);
    const double eps = 1e-3;
    for (int i = 1; i <= 10; i++) {
        double t = i / 10.0;
        assert_close(q(s, TDIFF_SQ_SIGMA_BAR, t), -log1p(-(1 - eps) * t), 1e-15);
        assert_close(q(s, TDIFF_SQ_SIGMA_RATE, t), (1 - eps) / (1 - (1 - eps) * t), 1e-12);
        assert_close(q(s, TDIFF_SQ_ELBO_WEIGHT, t), 1.0 / t, 1e-12); /* MDLM's 1/t */
    }
    assert_close(q(s, TDIFF_SQ_ALPHA_BAR, 1.0), eps, 1e-15);
    assert_true(isinf(q(s, TDIFF_SQ_ELBO_WEIGHT, 0.0)));
    tdiff_scheduler_free(s);
}

static void test_geometric_and_cosine_endpoints(void **state)
{
    (void)state;
    test_alloc ta = {0};
    tdiff_host h;
    tdiff_scheduler *s = make(TDIFF_SCHEDULE_GEOMETRIC, &h, &ta);
    assert_close(q(s, TDIFF_SQ_SIGMA_BAR, 0.0), 1e-4, 1e-18);
    assert_close(q(s, TDIFF_SQ_SIGMA_BAR, 1.0), 20.0, 1e-12);
    assert_close(q(s, TDIFF_SQ_SIGMA_RATE, 0.5), sqrt(1e-4 * 20.0) * log(20.0 / 1e-4), 1e-12);
    tdiff_scheduler_free(s);

    s = make(TDIFF_SCHEDULE_COSINE, &h, &ta);
    assert_close(q(s, TDIFF_SQ_ALPHA_BAR, 0.0), cos(0.008 / 1.008 * PI_D / 2), 1e-15);
    assert_true(q(s, TDIFF_SQ_ALPHA_BAR, 1.0) < 1e-15);
    /* D3PM clips β at 0.999: the last step of the cosine schedule hits the clip. */
    assert_close(qs(s, TDIFF_SQ_BETA, 10, 10), 0.999, 0);
    double b3 = 1.0 - cos((0.3 + 0.008) / 1.008 * PI_D / 2) / cos((0.2 + 0.008) / 1.008 * PI_D / 2);
    assert_close(qs(s, TDIFF_SQ_BETA, 3, 10), b3, 1e-15);
    tdiff_scheduler_free(s);

    s = make(TDIFF_SCHEDULE_MASKGIT_COSINE, &h, &ta);
    /* masked fraction after progress r is cos(πr/2), r = 1 − t */
    for (int i = 0; i <= 10; i++) {
        double t = i / 10.0;
        assert_close(1.0 - q(s, TDIFF_SQ_ALPHA_BAR, t), cos(PI_D * (1.0 - t) / 2), 1e-15);
    }
    tdiff_scheduler_free(s);

    s = make(TDIFF_SCHEDULE_SQRT, &h, &ta);
    assert_close(q(s, TDIFF_SQ_ALPHA_BAR, 0.25), 1.0 - sqrt(0.25 + 1e-4), 1e-15);
    assert_true(q(s, TDIFF_SQ_ALPHA_BAR, 1.0) == 0.0); /* clamped: the formula is negative there */
    tdiff_scheduler_free(s);
}

static void test_parameters_are_bounded_and_round_trip(void **state)
{
    (void)state;
    test_alloc ta = {0};
    tdiff_host h;
    tdiff_scheduler *s = make(TDIFF_SCHEDULE_LOGLINEAR, &h, &ta);
    double v, lo, hi;
    assert_int_equal(tdiff_scheduler_get_float(s, TDIFF_SCHEDULER_EPS, &v), TDIFF_OK);
    assert_true(v == 1e-3);
    assert_int_equal(tdiff_scheduler_param_bounds(TDIFF_SCHEDULER_EPS, &lo, &hi, NULL), TDIFF_OK);
    assert_true(lo == 0.0 && hi == 0.5);
    assert_int_equal(tdiff_scheduler_set_float(s, TDIFF_SCHEDULER_EPS, 0.01), TDIFF_OK);
    assert_close(q(s, TDIFF_SQ_ALPHA_BAR, 1.0), 0.01, 1e-15);
    assert_int_equal(tdiff_scheduler_set_float(s, TDIFF_SCHEDULER_EPS, 0.6), TDIFF_E_INVALID_ARGUMENT);
    assert_string_equal(tdiff_scheduler_last_error(s), "eps: 0.6 is outside [0, 0.5]");
    assert_int_equal(tdiff_scheduler_set_float(s, TDIFF_SCHEDULER_EPS, NAN), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_scheduler_set_float(s, (tdiff_scheduler_param)99, 1.0), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_scheduler_set_float(s, TDIFF_SCHEDULER_SIGMA_MIN, 30.0), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_scheduler_param_bounds((tdiff_scheduler_param)0, &lo, &hi, NULL), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_scheduler_eval(s, TDIFF_SQ_ALPHA_BAR, 1.5, &v), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_scheduler_eval(s, TDIFF_SQ_BETA, 0.5, &v), TDIFF_E_INVALID_ARGUMENT);
    assert_string_equal(tdiff_scheduler_last_error(s), "beta is not defined in continuous time");
    assert_int_equal(tdiff_scheduler_eval_step(s, TDIFF_SQ_ELBO_WEIGHT, 1, 4, &v), TDIFF_E_INVALID_ARGUMENT);
    assert_string_equal(tdiff_scheduler_last_error(s), "elbo_weight is not defined in discrete time");
    assert_int_equal(tdiff_scheduler_eval(s, (tdiff_schedule_quantity)9, 0.5, &v), TDIFF_E_INVALID_ARGUMENT);
    assert_string_equal(tdiff_scheduler_last_error(s), "unknown quantity 9");
    assert_int_equal(tdiff_scheduler_eval_step(s, TDIFF_SQ_BETA, 0, 4, &v), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_scheduler_eval_step(s, TDIFF_SQ_ALPHA_BAR, 5, 4, &v), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_scheduler_eval_step(s, TDIFF_SQ_ALPHA_BAR, 0, 0, &v), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_scheduler_kind(s), TDIFF_SCHEDULE_LOGLINEAR);
    tdiff_scheduler_free(s);
    tdiff_scheduler_free(NULL);
    assert_string_equal(tdiff_scheduler_last_error(NULL), "invalid handle");
    tdiff_scheduler *bad = (tdiff_scheduler *)&ta;
    assert_int_equal(tdiff_scheduler_create((tdiff_schedule_kind)0, NULL, &bad, NULL, 0), TDIFF_E_INVALID_ARGUMENT);
    assert_null(bad);
}

/* Every value of tdiff_scheduler_param, in header order. */
static const tdiff_scheduler_param all_params[] = {
    TDIFF_SCHEDULER_EPS,            TDIFF_SCHEDULER_SIGMA_MIN, TDIFF_SCHEDULER_SIGMA_MAX, TDIFF_SCHEDULER_SPINDLE_LAMBDA,
    TDIFF_SCHEDULER_MAX_BETA,       TDIFF_SCHEDULER_COSINE_S,  TDIFF_SCHEDULER_SQRT_S,
};

static void test_every_parameter_name_round_trips_and_its_bounds_hold_the_default(void **state)
{
    (void)state;
    test_alloc ta = {0};
    tdiff_host h;
    tdiff_scheduler *s = make(TDIFF_SCHEDULE_GEOMETRIC, &h, &ta);
    for (size_t i = 0; i < sizeof all_params / sizeof all_params[0]; i++) {
        tdiff_scheduler_param p = all_params[i], back = (tdiff_scheduler_param)0;
        const char *name = tdiff_scheduler_param_name(p);
        assert_string_not_equal(name, "unknown");
        assert_int_equal(tdiff_scheduler_param_from_name(name, &back), TDIFF_OK);
        assert_int_equal(back, p);
        double lo, hi, def, v;
        assert_int_equal(tdiff_scheduler_param_bounds(p, &lo, &hi, &def), TDIFF_OK);
        assert_true(lo <= def && def <= hi);
        assert_int_equal(tdiff_scheduler_get_float(s, p, &v), TDIFF_OK);
        assert_true(v == def); /* a new handle holds the defaults */
        assert_int_equal(tdiff_scheduler_param_bounds(p, NULL, NULL, NULL), TDIFF_OK);
    }
    assert_string_equal(tdiff_scheduler_param_name(TDIFF_SCHEDULER_SIGMA_MIN), "sigma_min");
    assert_string_equal(tdiff_scheduler_param_name((tdiff_scheduler_param)0), "unknown");
    assert_string_equal(tdiff_scheduler_param_name((tdiff_scheduler_param)99), "unknown");
    tdiff_scheduler_param p;
    assert_int_equal(tdiff_scheduler_param_from_name("sigma", &p), TDIFF_E_NOT_FOUND);
    assert_int_equal(tdiff_scheduler_param_from_name("EPS", &p), TDIFF_E_NOT_FOUND);
    assert_int_equal(tdiff_scheduler_param_from_name(NULL, &p), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_scheduler_param_from_name("eps", NULL), TDIFF_E_INVALID_ARGUMENT);
    /* errors name the parameter */
    assert_int_equal(tdiff_scheduler_set_float(s, TDIFF_SCHEDULER_SIGMA_MAX, 2e3), TDIFF_E_INVALID_ARGUMENT);
    assert_string_equal(tdiff_scheduler_last_error(s), "sigma_max: 2000 is outside [1e-08, 1000]");
    assert_int_equal(tdiff_scheduler_set_float(s, (tdiff_scheduler_param)42, 0.1), TDIFF_E_INVALID_ARGUMENT);
    assert_string_equal(tdiff_scheduler_last_error(s), "unknown scheduler parameter 42");
    tdiff_scheduler_free(s);
    assert_int_equal(ta.live, 0);
}

static void test_create_reports_allocation_failure_without_leaking(void **state)
{
    (void)state;
    test_alloc ta = {.fail_at = 1};
    tdiff_host h;
    test_host_init(&h, &ta);
    tdiff_scheduler *s = NULL;
    assert_int_equal(tdiff_scheduler_create(TDIFF_SCHEDULE_LINEAR, &h, &s, NULL, 0), TDIFF_E_OUT_OF_MEMORY);
    assert_null(s);
    assert_int_equal(ta.live, 0);
}

static void test_spindle_keeps_frequent_tokens_longer(void **state)
{
    (void)state;
    test_alloc ta = {0};
    tdiff_host h;
    tdiff_scheduler *s = make(TDIFF_SCHEDULE_SPINDLE, &h, &ta);
    const int32_t toks[4] = {0, 1, 2, 3};
    float keep[4];
    assert_int_equal(tdiff_scheduler_spindle_keep(s, toks, 4, 0.5, keep), TDIFF_E_STATE);
    const float counts[4] = {1000.0f, 100.0f, 10.0f, 0.0f};
    assert_int_equal(tdiff_scheduler_set_token_counts(s, counts, 4), TDIFF_OK);
    assert_int_equal(tdiff_scheduler_spindle_keep(s, toks, 4, 0.0, keep), TDIFF_OK);
    for (int i = 0; i < 4; i++)
        assert_true(keep[i] == 1.0f); /* t = 0 is the identity */
    assert_int_equal(tdiff_scheduler_spindle_keep(s, toks, 4, 1.0, keep), TDIFF_OK);
    for (int i = 0; i < 4; i++)
        assert_true(keep[i] == 0.0f);
    assert_int_equal(tdiff_scheduler_spindle_keep(s, toks, 4, 0.5, keep), TDIFF_OK);
    /* keep_i = 0.5 + 0.3·sin(π/2)·(w_i − mean w), w = log1p(c)/log1p(1000) */
    double w[4], mean = 0;
    for (int i = 0; i < 4; i++)
        mean += (w[i] = log1p(counts[i]) / log1p(1000.0)) / 4;
    for (int i = 0; i < 4; i++)
        assert_close(keep[i], 0.5 + 0.3 * (w[i] - mean), 1e-6);
    assert_true(keep[0] > keep[1] && keep[1] > keep[2] && keep[2] > keep[3]);
    const int32_t out_of_table[1] = {4};
    assert_int_equal(tdiff_scheduler_spindle_keep(s, out_of_table, 1, 0.5, keep), TDIFF_E_INVALID_ARGUMENT);
    const float zero[2] = {0.0f, 0.0f};
    assert_int_equal(tdiff_scheduler_set_token_counts(s, zero, 2), TDIFF_E_INVALID_ARGUMENT);
    tdiff_scheduler_free(s);
}

/* Finding 2 of issue 22: eval_step(ALPHA_BAR, SIZE_MAX, SIZE_MAX) looped over
 * every step. Step counts above TDIFF_MAX_STEPS are refused at once (the alarm
 * turns a hang into a failure); the limit itself is served. */
static void test_huge_step_counts_are_refused_at_once(void **state)
{
    (void)state;
    test_alloc ta = {0};
    tdiff_host h;
    tdiff_scheduler *s = make(TDIFF_SCHEDULE_COSINE, &h, &ta);
    double v = 0.0;
    const size_t big[][2] = {{SIZE_MAX, SIZE_MAX}, {(size_t)1 << 40, (size_t)1 << 41},
                             {1, (size_t)TDIFF_MAX_STEPS + 1}};
    const tdiff_schedule_quantity qs_[] = {TDIFF_SQ_ALPHA_BAR, TDIFF_SQ_SIGMA_BAR, TDIFF_SQ_BETA};
    alarm(20);
    for (size_t i = 0; i < sizeof big / sizeof big[0]; i++)
        for (size_t k = 0; k < 3; k++)
            assert_int_equal(tdiff_scheduler_eval_step(s, qs_[k], big[i][0], big[i][1], &v),
                             TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_scheduler_eval_step(s, TDIFF_SQ_ALPHA_BAR, TDIFF_MAX_STEPS, TDIFF_MAX_STEPS, &v),
                     TDIFF_OK);
    assert_true(v >= 0.0 && v < 1e-3); /* the end of the cosine schedule */
    alarm(0);
    tdiff_scheduler_free(s);
    assert_int_equal(ta.live, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_huge_step_counts_are_refused_at_once),
        cmocka_unit_test(test_linear_schedule_is_one_minus_t_with_exact_betas),
        cmocka_unit_test(test_every_schedule_is_nonincreasing_and_in_unit_interval),
        cmocka_unit_test(test_rates_equal_finite_differences),
        cmocka_unit_test(test_loglinear_matches_sedd_formulas),
        cmocka_unit_test(test_geometric_and_cosine_endpoints),
        cmocka_unit_test(test_parameters_are_bounded_and_round_trip),
        cmocka_unit_test(test_every_parameter_name_round_trips_and_its_bounds_hold_the_default),
        cmocka_unit_test(test_create_reports_allocation_failure_without_leaking),
        cmocka_unit_test(test_spindle_keeps_frequent_tokens_longer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
