/*
 * test_transition.c -- D3PM transition matrices checked against dense references in
 * double: Q̄_t against the explicit product Q_1···Q_t, stochastic rows, the posterior
 * against Bayes' rule by brute force, structured and banded fast paths against the
 * generic dense path, user-matrix validation, and the reference code's floored
 * log-space posterior (internal, for the D3PM loss and sampler) against its formula.
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
#include "transition/transition.h"

#define assert_close(a, b, tol)                                                                          \
    do {                                                                                                 \
        double a_ = (a), b_ = (b);                                                                       \
        if (!(fabs(a_ - b_) <= (tol)))                                                                   \
            fail_msg("%s = %.17g, expected %.17g (tol %g)", #a, a_, b_, (double)(tol));                 \
    } while (0)

enum { V = 6, T = 8, MASK = 5 };

typedef struct fixture {
    test_alloc ta;
    tdiff_host host;
    tdiff_scheduler *sched;
    tdiff_transition *tr[3]; /* uniform, absorbing, gaussian */
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    test_host_init(&f->host, &f->ta);
    if (tdiff_scheduler_create(TDIFF_SCHEDULE_COSINE, &f->host, &f->sched, NULL, 0) != TDIFF_OK)
        return -1;
    const tdiff_transition_kind kinds[3] = {TDIFF_TRANSITION_UNIFORM, TDIFF_TRANSITION_ABSORBING,
                                            TDIFF_TRANSITION_GAUSSIAN};
    for (int k = 0; k < 3; k++)
        if (tdiff_transition_create(kinds[k], V, MASK, f->sched, T, &f->host, &f->tr[k], NULL, 0) != TDIFF_OK)
            return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    for (int k = 0; k < 3; k++)
        tdiff_transition_free(f->tr[k]);
    tdiff_scheduler_free(f->sched);
    int leaked = f->ta.live != 0;
    free(f);
    return leaked ? -1 : 0;
}

static void matrix(tdiff_transition *tr, size_t t, int cum, double *m)
{
    size_t need = 0;
    assert_int_equal(tdiff_transition_matrix(tr, t, cum, m, V * V, &need), TDIFF_OK);
    assert_int_equal(need, V * V);
}

static void matmul(const double *a, const double *b, double *c)
{
    for (int i = 0; i < V; i++)
        for (int j = 0; j < V; j++) {
            double s = 0;
            for (int k = 0; k < V; k++)
                s += a[i * V + k] * b[k * V + j];
            c[i * V + j] = s;
        }
}

static void test_qbar_equals_explicit_product_of_q(void **state)
{
    fixture *f = *state;
    for (int k = 0; k < 3; k++) {
        double prod[V * V], q[V * V], tmp[V * V], qbar[V * V];
        memset(prod, 0, sizeof prod);
        for (int i = 0; i < V; i++)
            prod[i * V + i] = 1.0;
        matrix(f->tr[k], 0, 1, qbar);
        for (int i = 0; i < V * V; i++)
            assert_close(qbar[i], prod[i], 0); /* Q̄_0 = I */
        for (size_t t = 1; t <= T; t++) {
            matrix(f->tr[k], t, 0, q);
            matmul(prod, q, tmp);
            memcpy(prod, tmp, sizeof prod);
            matrix(f->tr[k], t, 1, qbar);
            for (int i = 0; i < V * V; i++)
                assert_close(qbar[i], prod[i], 1e-12);
        }
    }
}

static void test_every_row_is_a_distribution(void **state)
{
    fixture *f = *state;
    for (int k = 0; k < 3; k++)
        for (size_t t = 0; t <= T; t++)
            for (int cum = 0; cum <= 1; cum++) {
                if (t == 0 && !cum)
                    continue;
                double m[V * V];
                matrix(f->tr[k], t, cum, m);
                for (int i = 0; i < V; i++) {
                    double s = 0;
                    for (int j = 0; j < V; j++) {
                        assert_true(m[i * V + j] >= 0.0);
                        s += m[i * V + j];
                    }
                    assert_close(s, 1.0, 1e-12);
                }
            }
}

static void test_structured_matrices_match_their_closed_forms(void **state)
{
    fixture *f = *state;
    for (size_t t = 1; t <= T; t++) {
        double beta, abar, q[V * V], qb[V * V];
        assert_int_equal(tdiff_scheduler_eval_step(f->sched, TDIFF_SQ_BETA, t, T, &beta), TDIFF_OK);
        assert_int_equal(tdiff_scheduler_eval_step(f->sched, TDIFF_SQ_ALPHA_BAR, t, T, &abar), TDIFF_OK);
        matrix(f->tr[0], t, 0, q);
        matrix(f->tr[0], t, 1, qb);
        for (int i = 0; i < V; i++)
            for (int j = 0; j < V; j++) {
                assert_close(q[i * V + j], (i == j) * (1 - beta) + beta / V, 1e-15);
                assert_close(qb[i * V + j], (i == j) * abar + (1 - abar) / V, 1e-12);
            }
        matrix(f->tr[1], t, 0, q);
        matrix(f->tr[1], t, 1, qb);
        for (int i = 0; i < V; i++)
            for (int j = 0; j < V; j++) {
                assert_close(q[i * V + j], (i == j) * (1 - beta) + (j == MASK) * beta, 1e-15);
                assert_close(qb[i * V + j], (i == j) * abar + (j == MASK) * (1 - abar), 1e-12);
            }
        /* discretised Gaussian, D3PM appendix A.2.2 */
        matrix(f->tr[2], t, 0, q);
        double z = 0;
        for (int n = -(V - 1); n <= V - 1; n++)
            z += exp(-4.0 * n * n / ((V - 1.0) * (V - 1.0) * beta));
        for (int i = 0; i < V; i++) {
            double off = 0;
            for (int j = 0; j < V; j++)
                if (i != j) {
                    double e = exp(-4.0 * (i - j) * (i - j) / ((V - 1.0) * (V - 1.0) * beta)) / z;
                    assert_close(q[i * V + j], e, 1e-15);
                    off += e;
                }
            assert_close(q[i * V + i], 1 - off, 1e-15);
        }
    }
}

/* Bayes by brute force from dense matrices:
 * p(x_{t−1} = j | x_t, x0 ~ p) ∝ Q_t[j, x_t] · Σ_i p_i Q̄_{t−1}[i, j]. */
static void bayes(tdiff_transition *tr, size_t t, int32_t xt, const double *p, double *out)
{
    double q[V * V], qb[V * V];
    matrix(tr, t, 0, q);
    matrix(tr, t - 1, 1, qb);
    double z = 0;
    for (int j = 0; j < V; j++) {
        double prior = 0;
        for (int i = 0; i < V; i++)
            prior += p[i] * qb[i * V + j];
        out[j] = q[j * V + xt] * prior;
        z += out[j];
    }
    for (int j = 0; j < V; j++)
        out[j] /= z;
}

static void test_posterior_equals_bayes_rule(void **state)
{
    fixture *f = *state;
    for (int k = 0; k < 3; k++)
        for (size_t t = 1; t <= T; t++)
            for (int32_t x0 = 0; x0 < V; x0++)
                for (int32_t xt = 0; xt < V; xt++) {
                    float p0[V] = {0}, out[V];
                    double pd[V] = {0}, ref[V];
                    p0[x0] = 1.0f;
                    pd[x0] = 1.0;
                    double qb[V * V], q[V * V];
                    matrix(f->tr[k], t, 1, qb);
                    matrix(f->tr[k], t, 0, q);
                    (void)q;
                    tdiff_status st = tdiff_transition_posterior(f->tr[k], t, &xt, p0, 1, out);
                    if (qb[x0 * V + xt] == 0.0) { /* x_t unreachable from x_0: reported */
                        assert_int_equal(st, TDIFF_E_INVALID_ARGUMENT);
                        continue;
                    }
                    assert_int_equal(st, TDIFF_OK);
                    bayes(f->tr[k], t, xt, pd, ref);
                    for (int j = 0; j < V; j++)
                        assert_close(out[j], ref[j], 1e-6); /* float output */
                }
    /* a predicted x0 distribution (x0-parameterised reverse), several positions at once */
    const float pred[2 * V] = {0.1f, 0.2f, 0.3f, 0.15f, 0.25f, 0.0f, 0.5f, 0.0f, 0.0f, 0.5f, 0.0f, 0.0f};
    const int32_t xts[2] = {MASK, 3};
    for (int k = 0; k < 3; k++) {
        float out[2 * V];
        assert_int_equal(tdiff_transition_posterior(f->tr[k], 4, xts, pred, 2, out), TDIFF_OK);
        for (int r = 0; r < 2; r++) {
            double pd[V], ref[V];
            for (int j = 0; j < V; j++)
                pd[j] = pred[r * V + j];
            bayes(f->tr[k], 4, xts[r], pd, ref);
            for (int j = 0; j < V; j++)
                assert_close(out[r * V + j], ref[j], 1e-6);
        }
    }
}

/* tdiff__transition_posterior_logits: log(Q_t[j, x_t] + 1e-6) + log((p0·Q̄_{t−1})[j] + 1e-6)
 * from dense matrices, for every kind, step and x_t -- including the x_t a one-hot x_0
 * cannot reach, where the exact posterior is undefined and this one is finite. */
static void test_log_space_posterior_matches_the_reference_formula(void **state)
{
    fixture *f = *state;
    const double pred[V] = {0.1, 0.2, 0.3, 0.15, 0.25, 0.0};
    for (int k = 0; k < 3; k++)
        for (size_t t = 1; t <= T; t++)
            for (int32_t x0 = -1; x0 < V; x0++) /* -1: the predicted distribution */
                for (int32_t xt = 0; xt < V; xt++) {
                    double p[V] = {0}, out[V], scratch[2 * V], q[V * V], qb[V * V];
                    if (x0 < 0)
                        memcpy(p, pred, sizeof p);
                    else
                        p[x0] = 1.0;
                    matrix(f->tr[k], t, 0, q);
                    matrix(f->tr[k], t - 1, 1, qb);
                    tdiff__transition_posterior_logits(f->tr[k], t, xt, p, out, scratch);
                    for (int j = 0; j < V; j++) {
                        double prior = 0;
                        for (int i = 0; i < V; i++)
                            prior += p[i] * qb[i * V + j];
                        assert_true(isfinite(out[j]));
                        assert_close(out[j], log(q[j * V + xt] + 1e-6) + log(prior + 1e-6), 1e-12);
                    }
                }
    /* absorbing, x_t visible but given probability 0 by p0: exact posterior refuses, this one does not */
    const float p0f[V] = {0.0f, 0.5f, 0.5f, 0.0f, 0.0f, 0.0f};
    const int32_t xt = 0;
    float out_f[V];
    assert_int_equal(tdiff_transition_posterior(f->tr[1], 3, &xt, p0f, 1, out_f), TDIFF_E_INVALID_ARGUMENT);
    double p0[V] = {0.0, 0.5, 0.5, 0.0, 0.0, 0.0}, out[V], scratch[2 * V];
    tdiff__transition_posterior_logits(f->tr[1], 3, xt, p0, out, scratch);
    for (int j = 0; j < V; j++)
        assert_true(isfinite(out[j]));
}

static void test_structured_fast_paths_equal_the_dense_path(void **state)
{
    fixture *f = *state;
    for (int k = 0; k < 3; k++) {
        /* the same Q_1..Q_T handed over as caller matrices */
        static float stack[T * V * V];
        for (size_t t = 1; t <= T; t++) {
            double q[V * V];
            matrix(f->tr[k], t, 0, q);
            for (int i = 0; i < V * V; i++)
                stack[(t - 1) * V * V + i] = (float)q[i];
        }
        tdiff_transition *dense = NULL;
        assert_int_equal(tdiff_transition_create_user(TDIFF_TRANSITION_DENSE, V, T, 0, stack, T, 1e-5, &f->host, &dense, NULL, 0),
                         TDIFF_OK);
        const float p[V] = {0.05f, 0.3f, 0.1f, 0.2f, 0.15f, 0.2f};
        for (size_t t = 1; t <= T; t++)
            for (int cum = 0; cum <= 1; cum++) {
                float a[V], b[V];
                assert_int_equal(tdiff_transition_apply(f->tr[k], t, cum, p, 1, a), TDIFF_OK);
                assert_int_equal(tdiff_transition_apply(dense, t, cum, p, 1, b), TDIFF_OK);
                for (int j = 0; j < V; j++)
                    assert_close(a[j], b[j], 1e-6); /* the dense copy is float-rounded */
                int32_t x = 2;
                assert_int_equal(tdiff_transition_rows(f->tr[k], t, cum, &x, 1, a), TDIFF_OK);
                assert_int_equal(tdiff_transition_rows(dense, t, cum, &x, 1, b), TDIFF_OK);
                for (int j = 0; j < V; j++)
                    assert_close(a[j], b[j], 1e-6);
            }
        const int32_t xt = k == 1 ? MASK : 1;
        float a[V], b[V];
        assert_int_equal(tdiff_transition_posterior(f->tr[k], 5, &xt, p, 1, a), TDIFF_OK);
        assert_int_equal(tdiff_transition_posterior(dense, 5, &xt, p, 1, b), TDIFF_OK);
        for (int j = 0; j < V; j++)
            assert_close(a[j], b[j], 1e-5);
        tdiff_transition_free(dense);
    }
}

static void test_banded_matrices_equal_their_dense_form(void **state)
{
    fixture *f = *state;
    enum { B = 1, W = 2 * B + 1 };
    float band[V * W] = {0}, dense[V * V] = {0};
    for (int i = 0; i < V; i++) {
        /* a random walk that stays put with 0.5 and moves ±1 otherwise (reflecting) */
        float left = i > 0 ? (i < V - 1 ? 0.25f : 0.5f) : 0.0f;
        float right = i < V - 1 ? (i > 0 ? 0.25f : 0.5f) : 0.0f;
        band[i * W + 0] = left;
        band[i * W + 1] = 0.5f;
        band[i * W + 2] = right;
        if (i > 0)
            dense[i * V + i - 1] = left;
        dense[i * V + i] = 0.5f;
        if (i < V - 1)
            dense[i * V + i + 1] = right;
    }
    tdiff_transition *tb = NULL, *td = NULL;
    assert_int_equal(tdiff_transition_create_user(TDIFF_TRANSITION_BANDED, V, T, B, band, 1, 1e-6, &f->host, &tb, NULL, 0),
                     TDIFF_OK);
    assert_int_equal(tdiff_transition_create_user(TDIFF_TRANSITION_DENSE, V, T, 0, dense, 1, 1e-6, &f->host, &td, NULL, 0),
                     TDIFF_OK);
    for (size_t t = 0; t <= T; t++) {
        double a[V * V], b[V * V];
        matrix(tb, t, 1, a);
        matrix(td, t, 1, b);
        for (int i = 0; i < V * V; i++)
            assert_close(a[i], b[i], 1e-15);
    }
    tdiff_transition_free(tb);
    tdiff_transition_free(td);
}

static void test_user_matrices_are_validated(void **state)
{
    fixture *f = *state;
    float m[V * V] = {0};
    for (int i = 0; i < V; i++)
        m[i * V + i] = 1.0f;
    tdiff_transition *tr = NULL;
    assert_int_equal(tdiff_transition_create_user(TDIFF_TRANSITION_DENSE, V, T, 0, m, 1, 1e-6, &f->host, &tr, NULL, 0), TDIFF_OK);
    tdiff_transition_free(tr);
    m[2 * V + 2] = 1.001f; /* row sum 1.001: outside 1e-6, inside 1e-2 */
    assert_int_equal(tdiff_transition_create_user(TDIFF_TRANSITION_DENSE, V, T, 0, m, 1, 1e-6, &f->host, &tr, NULL, 0),
                     TDIFF_E_INVALID_ARGUMENT);
    assert_null(tr);
    assert_int_equal(tdiff_transition_create_user(TDIFF_TRANSITION_DENSE, V, T, 0, m, 1, 1e-2, &f->host, &tr, NULL, 0), TDIFF_OK);
    tdiff_transition_free(tr);
    m[2 * V + 2] = 1.5f;
    m[2 * V + 3] = -0.5f; /* sums to 1 but negative */
    assert_int_equal(tdiff_transition_create_user(TDIFF_TRANSITION_DENSE, V, T, 0, m, 1, 1e-2, &f->host, &tr, NULL, 0),
                     TDIFF_E_INVALID_ARGUMENT);
    m[2 * V + 2] = NAN;
    m[2 * V + 3] = 0.0f;
    assert_int_equal(tdiff_transition_create_user(TDIFF_TRANSITION_DENSE, V, T, 0, m, 1, 1e-2, &f->host, &tr, NULL, 0),
                     TDIFF_E_INVALID_ARGUMENT);
    /* banded: a non-zero entry outside the matrix (row 0, offset −1) */
    float band[V * 3] = {0};
    for (int i = 0; i < V; i++)
        band[i * 3 + 1] = 1.0f;
    band[0] = 0.5f;
    band[1] = 0.5f;
    assert_int_equal(tdiff_transition_create_user(TDIFF_TRANSITION_BANDED, V, T, 1, band, 1, 1e-6, &f->host, &tr, NULL, 0),
                     TDIFF_E_INVALID_ARGUMENT);
    /* n_mats must be 1 or T */
    assert_int_equal(tdiff_transition_create_user(TDIFF_TRANSITION_DENSE, V, T, 0, m, 2, 1e-6, &f->host, &tr, NULL, 0),
                     TDIFF_E_INVALID_ARGUMENT);
    /* an absorbing mask outside the vocabulary */
    assert_int_equal(tdiff_transition_create(TDIFF_TRANSITION_ABSORBING, V, V, f->sched, T, &f->host, &tr, NULL, 0),
                     TDIFF_E_INVALID_ARGUMENT);
    double small[4];
    size_t need = 0;
    assert_int_equal(tdiff_transition_matrix(f->tr[0], 1, 0, small, 4, &need), TDIFF_E_BUFFER_TOO_SMALL);
    assert_int_equal(need, V * V);
    assert_int_equal(tdiff_transition_matrix(f->tr[0], T + 1, 1, small, 4, &need), TDIFF_E_INVALID_ARGUMENT);
}

/* Finding 2 of issue 22: n_steps = 2^32 asked for a 32 GiB table. Step counts
 * above TDIFF_MAX_STEPS are refused before anything is allocated, for the
 * scheduler-built and the caller-matrix transitions. */
static void test_huge_step_counts_are_refused_before_allocating(void **state)
{
    (void)state;
    test_alloc ta = {.max_bytes = 64u << 20}; /* 64 MiB: the limit's own tables need 16 MiB */
    tdiff_host h;
    test_host_init(&h, &ta);
    tdiff_scheduler *s = NULL;
    assert_int_equal(tdiff_scheduler_create(TDIFF_SCHEDULE_LINEAR, &h, &s, NULL, 0), TDIFF_OK);
    const size_t steps[] = {(size_t)1 << 32, (size_t)TDIFF_MAX_STEPS + 1, SIZE_MAX};
    static const float q[2 * 2] = {1, 0, 0, 1};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        tdiff_transition *tr = (tdiff_transition *)&ta;
        assert_int_equal(tdiff_transition_create(TDIFF_TRANSITION_ABSORBING, 4, 3, s, steps[i], &h, &tr, NULL, 0),
                         TDIFF_E_INVALID_ARGUMENT);
        assert_null(tr);
        assert_int_equal(tdiff_transition_create_user(TDIFF_TRANSITION_DENSE, 2, steps[i], 0, q, 1, 0.0, &h, &tr,
                                                      NULL, 0),
                         TDIFF_E_INVALID_ARGUMENT);
        assert_null(tr);
    }
    assert_int_equal(ta.failed, 0);
    tdiff_transition *tr = NULL;
    assert_int_equal(tdiff_transition_create(TDIFF_TRANSITION_ABSORBING, 4, 3, s, TDIFF_MAX_STEPS, &h, &tr, NULL, 0),
                     TDIFF_OK);
    assert_int_equal(tdiff_transition_n_steps(tr), TDIFF_MAX_STEPS);
    tdiff_transition_free(tr);
    tdiff_scheduler_free(s);
    assert_int_equal(ta.live, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_qbar_equals_explicit_product_of_q, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_row_is_a_distribution, setup, teardown),
        cmocka_unit_test_setup_teardown(test_structured_matrices_match_their_closed_forms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_posterior_equals_bayes_rule, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_space_posterior_matches_the_reference_formula, setup, teardown),
        cmocka_unit_test_setup_teardown(test_structured_fast_paths_equal_the_dense_path, setup, teardown),
        cmocka_unit_test_setup_teardown(test_banded_matrices_equal_their_dense_form, setup, teardown),
        cmocka_unit_test_setup_teardown(test_user_matrices_are_validated, setup, teardown),
        cmocka_unit_test(test_huge_step_counts_are_refused_before_allocating),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
