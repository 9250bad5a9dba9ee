/*
 * test_nelbo_denoiser.c -- the NELBO under a real network (the llama.cpp-written
 * llada-tiny fixture, random weights): it equals the callback route driven by the
 * same denoiser, is close to log V per token (random weights of std 0.02 give
 * near-uniform predictions), reports a too-long text in err, and the deprecated
 * name tdiff_scheduler_nelbo_denoiser gives the same bound.
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

typedef struct ctx {
    tdiff_denoiser *d;
    tdiff_scheduler *s;
    size_t cap;
} ctx;

/* The documented contract written out by hand: σ̄(t) to the network, all positions. */
static tdiff_status by_hand(void *ud, const int32_t *tok, size_t n, float t, float *logits)
{
    ctx *c = ud;
    double sigma;
    tdiff_scheduler_eval(c->s, TDIFF_SQ_SIGMA_BAR, t, &sigma);
    return tdiff_denoiser_forward_t(c->d, tok, n, (float)(sigma < 1e4 ? sigma : 1e4), NULL, 0, logits, c->cap);
}

static void test_model_nelbo_matches_callback_route_and_is_near_log_v(void **state)
{
    (void)state;
    char path[1024];
    test_fixture_path(path, sizeof path, "llada-tiny.gguf");
    test_alloc ta = {0};
    tdiff_host h;
    test_host_init(&h, &ta);
    tdiff_model *m = NULL;
    char err[256];
    assert_int_equal(tdiff_model_load_file(path, &h, &m, err, sizeof err), TDIFF_OK);
    int32_t mask;
    assert_int_equal(tdiff_model_special_id(m, TDIFF_SPECIAL_MASK, &mask), TDIFF_OK);
    tdiff_denoiser *d = NULL;
    assert_int_equal(tdiff_denoiser_create(m, 12, 1, &h, &d, NULL, 0), TDIFF_OK);
    tdiff_scheduler *s = NULL;
    assert_int_equal(tdiff_scheduler_create(TDIFF_SCHEDULE_LOGLINEAR, &h, &s, NULL, 0), TDIFF_OK);
    int64_t V;
    assert_int_equal(tdiff_denoiser_get_int(d, TDIFF_DENOISER_N_VOCAB, &V), TDIFF_OK);
    const int32_t text[10] = {72, 101, 108, 300, 1000, 32, 119, 1500, 2000, 33};
    double a, per, b;
    char why[256];
    assert_int_equal(tdiff_objective_nelbo_denoiser(s, d, text, 10, mask, TDIFF_NELBO_QUADRATURE, 10, 4, &a, &per, NULL,
                                                    why, sizeof why),
                     TDIFF_OK);
    assert_string_equal(why, "");
    ctx c = {d, s, 10 * (size_t)V};
    assert_int_equal(tdiff_objective_nelbo(s, by_hand, &c, text, 10, (size_t)V, mask, TDIFF_NELBO_QUADRATURE, 10, 4, &b,
                                           NULL, NULL, NULL, 0),
                     TDIFF_OK);
    assert_true(a == b);
    /* random weights: per-token bound within 0.5 nats of log(V − 1) (the mask excluded) */
    assert_true(fabs(per - log((double)V - 1)) < 0.5);
    const int32_t long_text[13] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13};
    assert_int_equal(tdiff_objective_nelbo_denoiser(s, d, long_text, 13, mask, TDIFF_NELBO_QUADRATURE, 4, 4, &a, NULL,
                                                    NULL, why, sizeof why),
                     TDIFF_E_INVALID_ARGUMENT);
    assert_string_equal(why, "NELBO: n = 13 exceeds the denoiser's max_len 12");
    /* a token outside the vocabulary is refused before the network runs */
    const int32_t bad[2] = {1, (int32_t)V + 5};
    assert_int_equal(tdiff_objective_nelbo_denoiser(s, d, bad, 2, mask, TDIFF_NELBO_QUADRATURE, 2, 4, &a, NULL, NULL,
                                                    why, sizeof why),
                     TDIFF_E_INVALID_ARGUMENT);
    assert_non_null(strstr(why, "NELBO: token"));
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    assert_int_equal(tdiff_scheduler_nelbo_denoiser(s, d, text, 10, mask, TDIFF_NELBO_QUADRATURE, 10, 4, &b, NULL, NULL),
                     TDIFF_OK);
    assert_true(a == b); /* the failing calls above left a untouched */
    assert_int_equal(tdiff_scheduler_nelbo_denoiser(s, d, long_text, 13, mask, TDIFF_NELBO_QUADRATURE, 4, 4, &b, NULL,
                                                    NULL),
                     TDIFF_E_INVALID_ARGUMENT);
    assert_string_equal(tdiff_scheduler_last_error(s), "NELBO: n = 13 exceeds the denoiser's max_len 12");
#pragma GCC diagnostic pop
    tdiff_scheduler_free(s);
    tdiff_denoiser_free(d);
    tdiff_model_free(m);
    assert_int_equal(ta.live, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_model_nelbo_matches_callback_route_and_is_near_log_v),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
