/*
 * test_incremental.c -- the incremental generation API (begin / step /
 * step_for / canvas / progress / cancel / result) with the synthetic denoiser:
 * stepping gives exactly generate()'s tokens, the state machine refuses calls
 * in the wrong state, cancel and errors leave the sampler reusable, and no path
 * (cancel, free mid-run, allocation failure) leaks.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "libtextdiff.h"
#include "support.h"
#include "synthetic.h"

static tdiff_sampler *make_syn(tdiff_host *host)
{
    tdiff_denoise_callbacks cb = {sizeof cb, NULL, syn_logits, NULL};
    tdiff_sampler *s = NULL;
    assert_int_equal(tdiff_sampler_create_with_callback(&cb, SYN_V, SYN_MASK, SYN_EOS, host, &s, NULL, 0), TDIFF_OK);
    return s;
}

typedef struct config {
    int strategy;
    int64_t steps, gen, block;
    double temperature;
} config;

/* Strategies with their own loops; MDLM_CACHE has steps without a network call. */
static const config configs[] = {
    {TDIFF_STRATEGY_LLADA, 16, 16, 8, 0.8},    {TDIFF_STRATEGY_DREAM, 12, 16, 0, 0.7},
    {TDIFF_STRATEGY_THRESHOLD, 16, 16, 0, 0.0}, {TDIFF_STRATEGY_MASKGIT, 8, 16, 0, 1.0},
    {TDIFF_STRATEGY_MASK_PREDICT, 6, 16, 0, 0.5}, {TDIFF_STRATEGY_MDLM_CACHE, 24, 12, 0, 0.0},
    {TDIFF_STRATEGY_FIRST_HITTING, 12, 12, 0, 1.0},
};

static void configure(tdiff_sampler *s, const config *c, int64_t seed)
{
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_STRATEGY, c->strategy), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_STEPS, c->steps), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_GEN_LENGTH, c->gen), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_BLOCK_LENGTH, c->block), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_float(s, TDIFF_SAMPLER_TEMPERATURE, c->temperature), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_SEED, seed), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_CUT_AT_EOS, 0), TDIFF_OK);
}

static const int32_t prompt[3] = {4, 9, 17};

/* Steps s (already begun) to the end one tdiff_sampler_step at a time, checking
 * the canvas never gains a mask and progress counts every step; returns the calls. */
static size_t step_to_end(tdiff_sampler *s)
{
    int32_t canvas[64];
    uint8_t masked[64];
    size_t n, calls = 0, before = 64, taken = 0;
    int done = 0, state;
    while (!done) {
        assert_int_equal(tdiff_sampler_step(s, &done), TDIFF_OK);
        calls++;
        assert_int_equal(tdiff_sampler_canvas(s, canvas, NULL, masked, 64, &n), TDIFF_OK);
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            m += masked[i];
        assert_true(m <= before);
        before = m;
        assert_int_equal(tdiff_sampler_progress(s, &state, &taken, NULL), TDIFF_OK);
        assert_int_equal(state, done ? 2 : 1);
        assert_true(taken >= calls);
    }
    return calls;
}

static void test_stepping_gives_generate_tokens_for_every_strategy_and_seed(void **state)
{
    (void)state;
    test_alloc a = {0};
    tdiff_host host;
    test_host_init(&host, &a);
    for (size_t c = 0; c < sizeof configs / sizeof configs[0]; c++)
        for (int64_t seed = 1; seed <= 3; seed++) {
            tdiff_sampler *ref = make_syn(&host), *s = make_syn(&host);
            configure(ref, &configs[c], seed);
            configure(s, &configs[c], seed);
            int32_t want[64], got[64];
            size_t n_want, n_got;
            assert_int_equal(tdiff_sampler_generate(ref, prompt, 3, want, 64, &n_want), TDIFF_OK);
            int64_t ref_steps, steps;
            tdiff_sampler_get_int(ref, TDIFF_SAMPLER_STAT_STEPS, &ref_steps);
            assert_int_equal(tdiff_sampler_begin(s, prompt, 3), TDIFF_OK);
            size_t calls = step_to_end(s);
            tdiff_sampler_get_int(s, TDIFF_SAMPLER_STAT_STEPS, &steps);
            assert_int_equal(steps, ref_steps);
            /* one call per step, except MDLM_CACHE's network-free steps that ride along */
            if (configs[c].strategy == TDIFF_STRATEGY_MDLM_CACHE)
                assert_true(calls <= (size_t)steps);
            else
                assert_int_equal(calls, (size_t)steps);
            assert_int_equal(tdiff_sampler_result(s, got, 64, &n_got), TDIFF_OK);
            assert_int_equal(n_got, n_want);
            assert_memory_equal(got, want, n_want * sizeof *want);
            tdiff_sampler_free(ref);
            tdiff_sampler_free(s);
        }
    assert_int_equal(a.live, 0);
}

static void test_stepping_infill_gives_infill_tokens(void **state)
{
    (void)state;
    tdiff_sampler *ref = make_syn(NULL), *s = make_syn(NULL);
    const config c = {TDIFF_STRATEGY_LLADA, 6, 1, 4, 0.9}; /* 3 blocks over the region [2, 12) */
    configure(ref, &c, 7);
    configure(s, &c, 7);
    int32_t canvas[14] = {3, 5, SYN_MASK, SYN_MASK, SYN_MASK, 8, 8, SYN_MASK, SYN_MASK, SYN_MASK, SYN_MASK, SYN_MASK,
                          2, 1};
    int32_t want[14], got[14];
    size_t n_want, n_got;
    assert_int_equal(tdiff_sampler_infill(ref, canvas, 14, want, 14, &n_want), TDIFF_OK);
    assert_int_equal(tdiff_sampler_begin_infill(s, canvas, 14), TDIFF_OK);
    step_to_end(s);
    assert_int_equal(tdiff_sampler_result(s, got, 14, &n_got), TDIFF_OK);
    assert_int_equal(n_got, 14);
    assert_memory_equal(got, want, sizeof want);
    tdiff_sampler_free(ref);
    tdiff_sampler_free(s);
}

static void test_canvas_shows_prompt_masks_and_confidences(void **state)
{
    (void)state;
    tdiff_sampler *s = make_syn(NULL);
    const config c = {TDIFF_STRATEGY_LLADA, 4, 8, 0, 0.0};
    configure(s, &c, 1);
    int32_t tok[11];
    float conf[11];
    uint8_t masked[11];
    size_t n;
    assert_int_equal(tdiff_sampler_begin(s, prompt, 3), TDIFF_OK);
    assert_int_equal(tdiff_sampler_canvas(s, NULL, NULL, NULL, 0, &n), TDIFF_OK); /* size query */
    assert_int_equal(n, 11);
    assert_int_equal(tdiff_sampler_canvas(s, tok, conf, masked, 10, &n), TDIFF_E_BUFFER_TOO_SMALL);
    assert_int_equal(tdiff_sampler_canvas(s, tok, conf, masked, 11, &n), TDIFF_OK);
    for (size_t i = 0; i < 11; i++) {
        assert_true(isnan(conf[i]));                /* no step yet */
        assert_int_equal(masked[i], i >= 3);
        assert_int_equal(tok[i], i < 3 ? prompt[i] : SYN_MASK);
    }
    int done;
    assert_int_equal(tdiff_sampler_step(s, &done), TDIFF_OK);
    assert_int_equal(done, 0);
    assert_int_equal(tdiff_sampler_canvas(s, tok, conf, masked, 11, &n), TDIFF_OK);
    size_t still = 0;
    for (size_t i = 0; i < 11; i++) {
        still += masked[i];
        if (i < 3)
            assert_true(isnan(conf[i])); /* the prompt is never predicted */
        else
            assert_true(conf[i] > 0.0f && conf[i] <= 1.0f); /* p(chosen) of this step */
    }
    assert_int_equal(still, 6); /* 8 masks, 4 steps: LLaDA commits 2 per step */
    size_t planned;
    assert_int_equal(tdiff_sampler_progress(s, NULL, NULL, &planned), TDIFF_OK);
    assert_int_equal(planned, 4);
    tdiff_sampler_free(s);
}

static void test_cancel_midway_then_a_new_generation_matches_generate(void **state)
{
    (void)state;
    test_alloc a = {0};
    tdiff_host host;
    test_host_init(&host, &a);
    /* LLaDA and Mask-Predict hold strategy-local buffers while suspended. */
    const int strategies[2] = {TDIFF_STRATEGY_LLADA, TDIFF_STRATEGY_MASK_PREDICT};
    for (int k = 0; k < 2; k++) {
        tdiff_sampler *ref = make_syn(&host), *s = make_syn(&host);
        const config c = {strategies[k], 8, 16, 0, 0.6};
        configure(ref, &c, 5);
        configure(s, &c, 5);
        int32_t want[16], got[16];
        size_t n_want, n_got;
        assert_int_equal(tdiff_sampler_generate(ref, prompt, 3, want, 16, &n_want), TDIFF_OK);
        assert_int_equal(tdiff_sampler_begin(s, prompt, 3), TDIFF_OK);
        int done;
        for (int i = 0; i < 3; i++)
            assert_int_equal(tdiff_sampler_step(s, &done), TDIFF_OK);
        assert_int_equal(done, 0);
        assert_int_equal(tdiff_sampler_cancel(s), TDIFF_OK);
        int st;
        tdiff_sampler_progress(s, &st, NULL, NULL);
        assert_int_equal(st, 0);
        assert_string_equal(tdiff_sampler_last_error(s), "");
        assert_int_equal(tdiff_sampler_generate(s, prompt, 3, got, 16, &n_got), TDIFF_OK);
        assert_int_equal(n_got, n_want);
        assert_memory_equal(got, want, n_want * sizeof *want);
        /* cancel after DONE too */
        assert_int_equal(tdiff_sampler_begin(s, prompt, 3), TDIFF_OK);
        assert_int_equal(tdiff_sampler_step_for(s, UINT64_MAX, NULL, &done), TDIFF_OK);
        assert_int_equal(done, 1);
        assert_int_equal(tdiff_sampler_cancel(s), TDIFF_OK);
        tdiff_sampler_free(ref);
        tdiff_sampler_free(s);
    }
    assert_int_equal(a.live, 0);
}

static void test_free_while_running_releases_everything(void **state)
{
    (void)state;
    test_alloc a = {0};
    tdiff_host host;
    test_host_init(&host, &a);
    tdiff_sampler *s = make_syn(&host);
    const config c = {TDIFF_STRATEGY_LLADA, 8, 16, 8, 0.0};
    configure(s, &c, 1);
    assert_int_equal(tdiff_sampler_begin(s, prompt, 3), TDIFF_OK);
    assert_int_equal(tdiff_sampler_step(s, NULL), TDIFF_OK);
    tdiff_sampler_free(s);
    assert_int_equal(a.live, 0);
}

static void test_tiny_budgets_still_make_progress(void **state)
{
    (void)state;
    tdiff_sampler *s = make_syn(NULL);
    const config c = {TDIFF_STRATEGY_LLADA, 16, 16, 0, 0.0};
    configure(s, &c, 1);
    assert_int_equal(tdiff_sampler_begin(s, prompt, 3), TDIFF_OK);
    size_t taken, total = 0;
    int done = 0;
    for (uint64_t budget = 0; !done; budget = 1 - budget) { /* alternate 0 and 1 microsecond */
        assert_int_equal(tdiff_sampler_step_for(s, budget, &taken, &done), TDIFF_OK);
        assert_true(taken >= 1);
        total += taken;
        assert_true(total <= 16);
    }
    assert_int_equal(total, 16);
    int32_t out[16];
    size_t n;
    assert_int_equal(tdiff_sampler_result(s, out, 16, &n), TDIFF_OK);
    /* a generous budget runs every step in one call */
    assert_int_equal(tdiff_sampler_begin(s, prompt, 3), TDIFF_OK);
    assert_int_equal(tdiff_sampler_step_for(s, 60u * 1000000u, &taken, &done), TDIFF_OK);
    assert_int_equal(taken, 16);
    assert_int_equal(done, 1);
    tdiff_sampler_free(s);
}

static void test_calls_in_the_wrong_state_are_refused(void **state)
{
    (void)state;
    tdiff_sampler *s = make_syn(NULL);
    const config c = {TDIFF_STRATEGY_LLADA, 2, 4, 0, 0.0};
    configure(s, &c, 1);
    int32_t out[8];
    size_t n;
    int done;
    /* IDLE */
    assert_int_equal(tdiff_sampler_step(s, &done), TDIFF_E_STATE);
    assert_int_equal(tdiff_sampler_step_for(s, 10, NULL, NULL), TDIFF_E_STATE);
    assert_int_equal(tdiff_sampler_canvas(s, out, NULL, NULL, 8, &n), TDIFF_E_STATE);
    assert_int_equal(tdiff_sampler_result(s, out, 8, &n), TDIFF_E_STATE);
    assert_int_equal(tdiff_sampler_cancel(s), TDIFF_E_STATE);
    /* RUNNING */
    assert_int_equal(tdiff_sampler_begin(s, prompt, 3), TDIFF_OK);
    assert_int_equal(tdiff_sampler_begin(s, prompt, 3), TDIFF_E_STATE);
    assert_int_equal(tdiff_sampler_begin_infill(s, prompt, 3), TDIFF_E_STATE);
    assert_int_equal(tdiff_sampler_result(s, out, 8, &n), TDIFF_E_STATE);
    assert_int_equal(tdiff_sampler_generate(s, prompt, 3, out, 8, &n), TDIFF_E_STATE);
    assert_int_equal(tdiff_sampler_infill(s, prompt, 3, out, 8, &n), TDIFF_E_STATE);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_STEPS, 4), TDIFF_E_STATE);
    assert_int_equal(tdiff_sampler_set_float(s, TDIFF_SAMPLER_TEMPERATURE, 1.0), TDIFF_E_STATE);
    assert_int_equal(tdiff_sampler_set_banned(s, NULL, 0), TDIFF_E_STATE);
    assert_int_equal(tdiff_sampler_set_callback(s, NULL, NULL), TDIFF_OK); /* allowed */
    assert_int_equal(tdiff_sampler_step(s, &done), TDIFF_OK);
    assert_int_equal(done, 0);
    assert_int_equal(tdiff_sampler_step(s, &done), TDIFF_OK);
    assert_int_equal(done, 1);
    /* DONE */
    assert_int_equal(tdiff_sampler_step(s, &done), TDIFF_E_STATE);
    assert_int_equal(done, 0);
    assert_int_equal(tdiff_sampler_result(s, out, 3, &n), TDIFF_E_BUFFER_TOO_SMALL);
    assert_int_equal(n, 4);
    assert_int_equal(tdiff_sampler_result(s, out, 8, &n), TDIFF_OK); /* still DONE after too-small */
    assert_int_equal(n, 4);
    /* IDLE again */
    assert_int_equal(tdiff_sampler_result(s, out, 8, &n), TDIFF_E_STATE);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_STEPS, 4), TDIFF_OK);
    /* invalid arguments change nothing */
    assert_int_equal(tdiff_sampler_step(NULL, &done), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_sampler_begin(s, NULL, 2), TDIFF_E_INVALID_ARGUMENT);
    const int32_t bad[2] = {1, SYN_MASK};
    assert_int_equal(tdiff_sampler_begin(s, bad, 2), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_sampler_begin_infill(s, prompt, 3), TDIFF_E_INVALID_ARGUMENT); /* no mask */
    int st;
    assert_int_equal(tdiff_sampler_progress(s, &st, NULL, NULL), TDIFF_OK);
    assert_int_equal(st, 0);
    tdiff_sampler_free(s);
}

static int abort_at_two(void *ud, size_t step, size_t n_steps, const int32_t *canvas, size_t n, const float *conf)
{
    (void)ud, (void)n_steps, (void)canvas, (void)n, (void)conf;
    return step == 2;
}

static void test_a_failing_step_ends_the_generation(void **state)
{
    (void)state;
    test_alloc a = {0};
    tdiff_host host;
    test_host_init(&host, &a);
    tdiff_sampler *s = make_syn(&host);
    const config c = {TDIFF_STRATEGY_LLADA, 8, 8, 0, 0.0};
    configure(s, &c, 1);
    tdiff_sampler_set_callback(s, abort_at_two, NULL);
    assert_int_equal(tdiff_sampler_begin(s, prompt, 3), TDIFF_OK);
    tdiff_status st;
    int done = 0, calls = 0;
    while ((st = tdiff_sampler_step(s, &done)) == TDIFF_OK)
        calls++;
    assert_int_equal(st, TDIFF_E_ABORTED);
    assert_int_equal(calls, 2);
    int gs;
    tdiff_sampler_progress(s, &gs, NULL, NULL);
    assert_int_equal(gs, 0);
    tdiff_sampler_set_callback(s, NULL, NULL);
    assert_int_equal(tdiff_sampler_begin(s, prompt, 3), TDIFF_OK);
    assert_int_equal(tdiff_sampler_step_for(s, UINT64_MAX, NULL, &done), TDIFF_OK);
    assert_int_equal(done, 1);
    tdiff_sampler_free(s);
    assert_int_equal(a.live, 0);
}

static void test_allocation_failures_while_stepping_leak_nothing(void **state)
{
    (void)state;
    int ok = 0;
    for (long k = 1; k < 200 && !ok; k++) {
        test_alloc a = {0};
        a.fail_at = k;
        tdiff_host host;
        test_host_init(&host, &a);
        tdiff_denoise_callbacks cb = {sizeof cb, NULL, syn_logits, NULL};
        tdiff_sampler *s = NULL;
        tdiff_status st = tdiff_sampler_create_with_callback(&cb, SYN_V, SYN_MASK, SYN_EOS, &host, &s, NULL, 0);
        if (st == TDIFF_OK) {
            tdiff_sampler_set_int(s, TDIFF_SAMPLER_GEN_LENGTH, 8);
            tdiff_sampler_set_int(s, TDIFF_SAMPLER_STEPS, 4);
            tdiff_sampler_set_int(s, TDIFF_SAMPLER_KEEP_HISTORY, 1);
            tdiff_sampler_set_float(s, TDIFF_SAMPLER_CFG_SCALE, 0.5);
            int done = 0;
            st = tdiff_sampler_begin(s, prompt, 3);
            while (!st && !done)
                st = tdiff_sampler_step(s, &done);
            int32_t out[8];
            size_t n;
            if (!st)
                st = tdiff_sampler_result(s, out, 8, &n);
            ok = st == TDIFF_OK;
            if (!ok) {
                assert_int_equal(st, TDIFF_E_OUT_OF_MEMORY);
                int gs;
                tdiff_sampler_progress(s, &gs, NULL, NULL);
                assert_int_equal(gs, 0); /* the failure ended the generation */
            }
            tdiff_sampler_free(s);
        } else {
            assert_int_equal(st, TDIFF_E_OUT_OF_MEMORY);
        }
        assert_int_equal(a.live, 0);
    }
    assert_true(ok);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stepping_gives_generate_tokens_for_every_strategy_and_seed),
        cmocka_unit_test(test_stepping_infill_gives_infill_tokens),
        cmocka_unit_test(test_canvas_shows_prompt_masks_and_confidences),
        cmocka_unit_test(test_cancel_midway_then_a_new_generation_matches_generate),
        cmocka_unit_test(test_free_while_running_releases_everything),
        cmocka_unit_test(test_tiny_budgets_still_make_progress),
        cmocka_unit_test(test_calls_in_the_wrong_state_are_refused),
        cmocka_unit_test(test_a_failing_step_ends_the_generation),
        cmocka_unit_test(test_allocation_failures_while_stepping_leak_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
