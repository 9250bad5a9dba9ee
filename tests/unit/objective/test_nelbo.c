/*
 * test_nelbo.c -- the masked-diffusion NELBO with callback denoisers:
 * a uniform model scores exactly log V nats per token (deterministic method),
 * the estimators converge to the exact bound of a context-dependent model computed
 * by enumerating every mask subset, results are reproducible and schedule-free
 * (the continuous bound does not depend on the schedule), errors propagate.
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

enum { NV = 9, MASK = 8, NT = 6 }; /* 8 real tokens + the mask */

typedef struct model {
    int uniform;
    long calls;
    tdiff_status fail_with;
} model;

/* A t-independent denoiser. Uniform: every logit 0.7. Otherwise the logits of
 * position i favour the left neighbour's token when it is visible and lean on the
 * number of visible tokens, so the loss depends on which positions are masked. */
static tdiff_status denoise(void *ud, const int32_t *tok, size_t n, float t, float *logits)
{
    model *m = ud;
    (void)t;
    m->calls++;
    if (m->fail_with != TDIFF_OK)
        return m->fail_with;
    size_t visible = 0;
    for (size_t i = 0; i < n; i++)
        visible += tok[i] != MASK;
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < NV; j++) {
            float l = 0.7f;
            if (!m->uniform) {
                l = 0.25f * (float)j * (float)visible / (float)n;
                if (i > 0 && tok[i - 1] == j)
                    l += 1.5f;
                if (j == MASK)
                    l = 40.0f; /* SUBS must ignore the mask logit however large */
            }
            logits[i * NV + j] = l;
        }
    return TDIFF_OK;
}

static const int32_t text[NT] = {3, 3, 1, 4, 1, 5};

/* Σ_{i∈M} −log p(x_i | x with M masked), in double, straight from the definition. */
static double subset_loss(unsigned set)
{
    int32_t tok[NT];
    float lg[NT * NV];
    for (int i = 0; i < NT; i++)
        tok[i] = (set >> i) & 1 ? MASK : text[i];
    model m = {0};
    denoise(&m, tok, NT, 0.5f, lg);
    double loss = 0;
    for (int i = 0; i < NT; i++) {
        if (!((set >> i) & 1))
            continue;
        double z = 0;
        for (int j = 0; j < NV - 1; j++) /* the mask (last id) excluded */
            z += exp(lg[i * NV + j]);
        loss += log(z) - lg[i * NV + text[i]];
    }
    return loss;
}

/* The exact bound: Σ_m (1/m)·mean over |M| = m of subset_loss(M). */
static double exact_nelbo(void)
{
    double by_m[NT + 1] = {0}, cnt[NT + 1] = {0};
    for (unsigned set = 1; set < (1u << NT); set++) {
        int m = __builtin_popcount(set);
        by_m[m] += subset_loss(set);
        cnt[m] += 1;
    }
    double total = 0;
    for (int m = 1; m <= NT; m++)
        total += by_m[m] / cnt[m] / m;
    return total;
}

static tdiff_scheduler *make(tdiff_schedule_kind k, tdiff_host *h, test_alloc *ta)
{
    test_host_init(h, ta);
    tdiff_scheduler *s = NULL;
    assert_int_equal(tdiff_scheduler_create(k, h, &s, NULL, 0), TDIFF_OK);
    return s;
}

static void test_uniform_model_scores_log_v_per_token(void **state)
{
    (void)state;
    test_alloc ta = {0};
    tdiff_host h;
    tdiff_scheduler *s = make(TDIFF_SCHEDULE_LINEAR, &h, &ta);
    model m = {.uniform = 1};
    double total, per, se;
    const size_t budgets[] = {1, 2, 3, NT, 5 * NT};
    for (size_t b = 0; b < 5; b++) {
        assert_int_equal(tdiff_objective_nelbo(s, denoise, &m, text, NT, NV, MASK, TDIFF_NELBO_QUADRATURE, budgets[b], 1,
                                               &total, &per, &se, NULL, 0),
                         TDIFF_OK);
        assert_close(per, log(NV - 1), 1e-13); /* only rounding: exact in real arithmetic */
        assert_true(se == 0.0);
    }
    /* the stochastic estimators agree within 5 standard errors (false alarm < 1e-6) */
    const tdiff_nelbo_method ms[2] = {TDIFF_NELBO_ANTITHETIC, TDIFF_NELBO_STRATIFIED};
    for (int k = 0; k < 2; k++) {
        assert_int_equal(tdiff_objective_nelbo(s, denoise, &m, text, NT, NV, MASK, ms[k], 4000, 2, &total, &per, &se, NULL, 0),
                         TDIFF_OK);
        assert_true(se > 0.0);
        assert_close(total, NT * log(NV - 1), 5 * se);
    }
    assert_int_equal(ta.live, 1);
    tdiff_scheduler_free(s);
}

static void test_estimators_converge_to_the_exact_bound(void **state)
{
    (void)state;
    test_alloc ta = {0};
    tdiff_host h;
    tdiff_scheduler *s = make(TDIFF_SCHEDULE_LINEAR, &h, &ta);
    model m = {0};
    const double exact = exact_nelbo();
    double total, se;
    const tdiff_nelbo_method ms[2] = {TDIFF_NELBO_ANTITHETIC, TDIFF_NELBO_STRATIFIED};
    for (int k = 0; k < 2; k++) {
        assert_int_equal(tdiff_objective_nelbo(s, denoise, &m, text, NT, NV, MASK, ms[k], 20000, 11, &total, NULL, &se, NULL, 0),
                         TDIFF_OK);
        assert_close(total, exact, 5 * se);
        assert_true(se < 0.02 * exact); /* the budget is large enough to make the check sharp */
    }
    /* quadrature: one stratum per count, R = 2000 subsets each. A stratum's term is the
     * mean over its subsets of the loss per masked position, which lies in [1.1, 3.1]
     * for this model (so its sd is ≤ 1): standard error ≤ 1/√2000 per count and
     * ≤ √6/√2000 ≈ 0.055 for the sum of the six; 0.3 is over 5 standard errors. */
    assert_int_equal(tdiff_objective_nelbo(s, denoise, &m, text, NT, NV, MASK, TDIFF_NELBO_QUADRATURE, 2000 * NT, 3,
                                           &total, NULL, &se, NULL, 0),
                     TDIFF_OK);
    assert_close(total, exact, 0.3);
    /* stochastic vs quadrature with large budgets: they estimate the same number */
    double q;
    assert_int_equal(tdiff_objective_nelbo(s, denoise, &m, text, NT, NV, MASK, TDIFF_NELBO_ANTITHETIC, 20000, 5, &q,
                                           NULL, &se, NULL, 0),
                     TDIFF_OK);
    assert_close(q, total, 5 * se + 0.3);
    tdiff_scheduler_free(s);
}

static void test_results_are_reproducible_and_do_not_depend_on_the_schedule(void **state)
{
    (void)state;
    test_alloc ta = {0};
    tdiff_host h;
    tdiff_scheduler *lin = make(TDIFF_SCHEDULE_LINEAR, &h, &ta);
    tdiff_scheduler *cos2 = make(TDIFF_SCHEDULE_MASKGIT_COSINE, &h, &ta);
    model m = {0};
    double a, b, c;
    assert_int_equal(tdiff_objective_nelbo(lin, denoise, &m, text, NT, NV, MASK, TDIFF_NELBO_QUADRATURE, 12, 9, &a, NULL,
                                           NULL, NULL, 0),
                     TDIFF_OK);
    assert_int_equal(tdiff_objective_nelbo(lin, denoise, &m, text, NT, NV, MASK, TDIFF_NELBO_QUADRATURE, 12, 9, &b, NULL,
                                           NULL, NULL, 0),
                     TDIFF_OK);
    assert_true(a == b);
    /* the count form only moves the t handed to the model: a t-free model gets the same bound */
    assert_int_equal(tdiff_objective_nelbo(cos2, denoise, &m, text, NT, NV, MASK, TDIFF_NELBO_QUADRATURE, 12, 9, &c,
                                           NULL, NULL, NULL, 0),
                     TDIFF_OK);
    assert_true(a == c);
    /* another seed draws other subsets */
    assert_int_equal(tdiff_objective_nelbo(lin, denoise, &m, text, NT, NV, MASK, TDIFF_NELBO_QUADRATURE, 12, 10, &c,
                                           NULL, NULL, NULL, 0),
                     TDIFF_OK);
    assert_true(a != c);
    /* and the stochastic one is reproducible too */
    assert_int_equal(tdiff_objective_nelbo(cos2, denoise, &m, text, NT, NV, MASK, TDIFF_NELBO_STRATIFIED, 64, 9, &a, NULL,
                                           NULL, NULL, 0),
                     TDIFF_OK);
    assert_int_equal(tdiff_objective_nelbo(cos2, denoise, &m, text, NT, NV, MASK, TDIFF_NELBO_STRATIFIED, 64, 9, &b, NULL,
                                           NULL, NULL, 0),
                     TDIFF_OK);
    assert_true(a == b);
    tdiff_scheduler_free(lin);
    tdiff_scheduler_free(cos2);
}

static void test_callback_errors_and_bad_arguments_are_reported_in_err(void **state)
{
    (void)state;
    test_alloc ta = {0};
    tdiff_host h;
    tdiff_scheduler *s = make(TDIFF_SCHEDULE_LOGLINEAR, &h, &ta);
    model m = {.fail_with = TDIFF_E_ABORTED};
    double v;
    char err[256];
    assert_int_equal(tdiff_objective_nelbo(s, denoise, &m, text, NT, NV, MASK, TDIFF_NELBO_QUADRATURE, 4, 0, &v, NULL,
                                           NULL, err, sizeof err),
                     TDIFF_E_ABORTED);
    assert_non_null(strstr(err, "callback"));
    assert_string_equal(tdiff_scheduler_last_error(s), ""); /* the handle is only read */
    assert_int_equal(m.calls, 1); /* stopped at the first failure */
    m.fail_with = TDIFF_OK;
    const int32_t with_mask[2] = {1, MASK};
    assert_int_equal(tdiff_objective_nelbo(s, denoise, &m, with_mask, 2, NV, MASK, TDIFF_NELBO_QUADRATURE, 4, 0, &v,
                                           NULL, NULL, err, sizeof err),
                     TDIFF_E_INVALID_ARGUMENT);
    assert_non_null(strstr(err, "token 8 at 1"));
    assert_int_equal(tdiff_objective_nelbo(s, denoise, &m, text, NT, NV, MASK, (tdiff_nelbo_method)7, 4, 0, &v, NULL,
                                           NULL, err, sizeof err),
                     TDIFF_E_INVALID_ARGUMENT);
    assert_non_null(strstr(err, "method 7"));
    assert_int_equal(tdiff_objective_nelbo(s, NULL, &m, text, NT, NV, MASK, TDIFF_NELBO_QUADRATURE, 4, 0, &v, NULL,
                                           NULL, err, sizeof err),
                     TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_objective_nelbo(NULL, denoise, &m, text, NT, NV, MASK, TDIFF_NELBO_QUADRATURE, 4, 0, &v,
                                           NULL, NULL, err, sizeof err),
                     TDIFF_E_INVALID_ARGUMENT);
    assert_non_null(strstr(err, "NULL scheduler"));
    /* success leaves "" in err; a NULL err is fine */
    assert_int_equal(tdiff_objective_nelbo(s, denoise, &m, text, NT, NV, MASK, TDIFF_NELBO_QUADRATURE, 4, 0, &v, NULL,
                                           NULL, err, sizeof err),
                     TDIFF_OK);
    assert_string_equal(err, "");
    tdiff_scheduler_free(s);
    /* out-of-memory for the logits is reported and leaks nothing */
    test_alloc t2 = {.fail_at = 3};
    tdiff_scheduler *s2 = make(TDIFF_SCHEDULE_LINEAR, &h, &t2);
    assert_int_equal(tdiff_objective_nelbo(s2, denoise, &m, text, NT, NV, MASK, TDIFF_NELBO_QUADRATURE, 4, 0, &v, NULL,
                                           NULL, err, sizeof err),
                     TDIFF_E_OUT_OF_MEMORY);
    assert_non_null(strstr(err, "out of memory"));
    tdiff_scheduler_free(s2);
    assert_int_equal(t2.live, 0);
}

/* tdiff_scheduler_nelbo (deprecated) is the same computation, its error in the handle. */
static void test_deprecated_name_gives_the_same_bound_and_writes_the_handle_error(void **state)
{
    (void)state;
    tdiff_scheduler *s = make(TDIFF_SCHEDULE_LINEAR, &(tdiff_host){0}, &(test_alloc){0});
    model m = {0};
    double a[3], b[3];
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    for (int method = TDIFF_NELBO_ANTITHETIC; method <= TDIFF_NELBO_QUADRATURE; method++) {
        assert_int_equal(tdiff_objective_nelbo(s, denoise, &m, text, NT, NV, MASK, (tdiff_nelbo_method)method, 8, 4,
                                               &a[0], &a[1], &a[2], NULL, 0),
                         TDIFF_OK);
        assert_int_equal(tdiff_scheduler_nelbo(s, denoise, &m, text, NT, NV, MASK, (tdiff_nelbo_method)method, 8, 4,
                                               &b[0], &b[1], &b[2]),
                         TDIFF_OK);
        assert_memory_equal(a, b, sizeof a);
    }
    m.fail_with = TDIFF_E_IO;
    assert_int_equal(tdiff_scheduler_nelbo(s, denoise, &m, text, NT, NV, MASK, TDIFF_NELBO_QUADRATURE, 4, 0, &b[0],
                                           NULL, NULL),
                     TDIFF_E_IO);
    assert_non_null(strstr(tdiff_scheduler_last_error(s), "callback"));
    assert_int_equal(tdiff_scheduler_nelbo(NULL, denoise, &m, text, NT, NV, MASK, TDIFF_NELBO_QUADRATURE, 4, 0, &b[0],
                                           NULL, NULL),
                     TDIFF_E_INVALID_ARGUMENT);
#pragma GCC diagnostic pop
    tdiff_scheduler_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uniform_model_scores_log_v_per_token),
        cmocka_unit_test(test_estimators_converge_to_the_exact_bound),
        cmocka_unit_test(test_results_are_reproducible_and_do_not_depend_on_the_schedule),
        cmocka_unit_test(test_callback_errors_and_bad_arguments_are_reported_in_err),
        cmocka_unit_test(test_deprecated_name_gives_the_same_bound_and_writes_the_handle_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
