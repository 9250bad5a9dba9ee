/*
 * test_core.c -- the sampler core's contracts, with synthetic networks:
 *   - every combination of settings either runs or is refused with a message
 *     (the fuzzer's crashes: threshold/factor + compat llamacpp + origin);
 *   - re-entry from the step callback is refused, free from it is deferred,
 *     in generate() and in step mode;
 *   - a network row that allows no token fails cleanly in every strategy (no
 *     hang, no mask token in the output), and banning every token is refused;
 *   - LLaDA's Gumbel choice does not overflow: logits shifted by +-800 give the
 *     same tokens; graph samplers never return a banned id;
 *   - tdiff_sampler_interrupt from another thread stops a run;
 *   - mdlm_cache reuses the network's rows only when nothing changed;
 *   - parameter names in messages, and the SUBS switch.
 */
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "libtextdiff.h"
#include "support.h"
#include "synthetic.h"

/* ---- networks ------------------------------------------------------------ */

/* The synthetic network with every logit shifted by `shift` (and, with
 * all_inf, every logit -inf). */
typedef struct shifted {
    float shift;
    int all_inf;      /* 1: every logit -inf; 2: NaN at the first row */
    long calls;
    volatile int *started;
} shifted;

static int shifted_logits(void *ud, const int32_t *tokens, size_t n, float t, const uint32_t *positions,
                          size_t n_positions, float *logits)
{
    shifted *sh = ud;
    sh->calls++;
    syn_logits(NULL, tokens, n, t, positions, n_positions, logits);
    for (size_t i = 0; i < n_positions * SYN_V; i++) {
        if (sh->all_inf == 1)
            logits[i] = -INFINITY;
        else
            logits[i] += sh->shift;
    }
    if (sh->all_inf == 2)
        logits[3] = NAN;
    return 0;
}

static tdiff_sampler *make(tdiff_host *host, shifted *sh)
{
    tdiff_denoise_callbacks cb = {sizeof cb, sh, shifted_logits, NULL};
    tdiff_sampler *s = NULL;
    char err[256];
    assert_int_equal(tdiff_sampler_create_with_callback(&cb, SYN_V, SYN_MASK, SYN_EOS, host, &s, err, sizeof err),
                     TDIFF_OK);
    assert_string_equal(err, "");
    return s;
}

static void set(tdiff_sampler *s, tdiff_sampler_param p, int64_t v)
{
    if (tdiff_sampler_set_int(s, p, v) != TDIFF_OK)
        fail_msg("set %s = %lld: %s", tdiff_sampler_param_name(p), (long long)v, tdiff_sampler_last_error(s));
}

static const int32_t prompt[3] = {4, 9, 17};

static const int all_strategies[] = {
    TDIFF_STRATEGY_LLADA,     TDIFF_STRATEGY_DREAM,         TDIFF_STRATEGY_THRESHOLD,  TDIFF_STRATEGY_FACTOR,
    TDIFF_STRATEGY_MASKGIT,   TDIFF_STRATEGY_MASK_PREDICT,  TDIFF_STRATEGY_MDLM,       TDIFF_STRATEGY_MDLM_CACHE,
    TDIFF_STRATEGY_FIRST_HITTING,
};
#define N_STRATEGIES (sizeof all_strategies / sizeof all_strategies[0])

/* ---- combinations ---------------------------------------------------------- */

/* The fuzzer's crash (counts read while NULL): refused now, with a message. */
static void test_adaptive_strategies_refuse_origin_under_compat(void **state)
{
    (void)state;
    test_alloc a = {0};
    tdiff_host host;
    test_host_init(&host, &a);
    const int adaptive[2] = {TDIFF_STRATEGY_THRESHOLD, TDIFF_STRATEGY_FACTOR};
    for (int i = 0; i < 2; i++) {
        tdiff_sampler *s = make(&host, &(shifted){0});
        set(s, TDIFF_SAMPLER_STRATEGY, adaptive[i]);
        set(s, TDIFF_SAMPLER_COMPAT, TDIFF_COMPAT_LLAMACPP);
        set(s, TDIFF_SAMPLER_REMASKING, TDIFF_REMASK_ORIGIN);
        set(s, TDIFF_SAMPLER_BLOCK_LENGTH, 8);
        set(s, TDIFF_SAMPLER_GEN_LENGTH, 16);
        set(s, TDIFF_SAMPLER_STEPS, 8);
        int32_t out[16];
        size_t n;
        assert_int_equal(tdiff_sampler_generate(s, prompt, 3, out, 16, &n), TDIFF_E_UNSUPPORTED);
        assert_non_null(strstr(tdiff_sampler_last_error(s), "origin"));
        assert_int_equal(tdiff_sampler_begin(s, prompt, 3), TDIFF_E_UNSUPPORTED);
        /* the same with dream's own rule under compat works */
        set(s, TDIFF_SAMPLER_STRATEGY, TDIFF_STRATEGY_DREAM);
        assert_int_equal(tdiff_sampler_generate(s, prompt, 3, out, 16, &n), TDIFF_OK);
        tdiff_sampler_free(s);
    }
    assert_int_equal(a.live, 0);
}

/* A fuzzer finding: origin under compat llamacpp reveals with probability
 * count / masked, and llama.cpp's block schedule can end a block with masks
 * left; the last step of a block now reveals what is left (infill and generate). */
static void test_origin_under_compat_leaves_no_mask(void **state)
{
    (void)state;
    for (int64_t seed = 0; seed < 16; seed++) {
        tdiff_sampler *s = make(NULL, &(shifted){0});
        set(s, TDIFF_SAMPLER_REMASKING, TDIFF_REMASK_ORIGIN);
        set(s, TDIFF_SAMPLER_COMPAT, TDIFF_COMPAT_LLAMACPP);
        set(s, TDIFF_SAMPLER_GEN_LENGTH, 24);
        set(s, TDIFF_SAMPLER_BLOCK_LENGTH, 16);
        set(s, TDIFF_SAMPLER_SEED, seed);
        const int32_t canvas[6] = {SYN_MASK, SYN_MASK, SYN_MASK, SYN_MASK, SYN_MASK, SYN_MASK};
        int32_t out[32];
        size_t n;
        assert_int_equal(tdiff_sampler_infill(s, canvas, 6, out, 32, &n), TDIFF_OK);
        for (size_t i = 0; i < n; i++)
            assert_int_not_equal(out[i], SYN_MASK);
        set(s, TDIFF_SAMPLER_CUT_AT_EOS, 0);
        set(s, TDIFF_SAMPLER_GEN_LENGTH, 32); /* compat: the whole canvas, a multiple of the block */
        assert_int_equal(tdiff_sampler_generate(s, prompt, 3, out, 32, &n), TDIFF_OK);
        for (size_t i = 0; i < n; i++)
            assert_int_not_equal(out[i], SYN_MASK);
        tdiff_sampler_free(s);
    }
}

/* Every strategy x remasking x compat x block combination either completes or is
 * refused up front (UNSUPPORTED / INVALID_ARGUMENT), never anything else. */
static void test_every_combination_runs_or_is_refused(void **state)
{
    (void)state;
    test_alloc a = {0};
    tdiff_host host;
    test_host_init(&host, &a);
    tdiff_sampler *s = make(&host, &(shifted){0});
    int32_t out[32];
    size_t n, ran = 0, refused = 0;
    for (size_t k = 0; k < N_STRATEGIES; k++)
        for (int remask = TDIFF_REMASK_LOW_CONFIDENCE; remask <= TDIFF_REMASK_ORIGIN; remask++)
            for (int compat = 0; compat <= 1; compat++)
                for (int block = 0; block <= 8; block += 8) {
                    set(s, TDIFF_SAMPLER_STRATEGY, all_strategies[k]);
                    set(s, TDIFF_SAMPLER_REMASKING, remask);
                    set(s, TDIFF_SAMPLER_COMPAT, compat);
                    set(s, TDIFF_SAMPLER_BLOCK_LENGTH, block);
                    set(s, TDIFF_SAMPLER_GEN_LENGTH, compat ? 19 : 16);
                    set(s, TDIFF_SAMPLER_STEPS, 8);
                    tdiff_status st = tdiff_sampler_generate(s, prompt, 3, out, 32, &n);
                    if (st == TDIFF_OK) {
                        ran++;
                        for (size_t i = 0; i < n; i++)
                            assert_int_not_equal(out[i], SYN_MASK);
                    } else {
                        refused++;
                        if (st != TDIFF_E_UNSUPPORTED && st != TDIFF_E_INVALID_ARGUMENT)
                            fail_msg("%s remask %d compat %d block %d: status %d: %s",
                                     tdiff_strategy_name(all_strategies[k]), remask, compat, block, st,
                                     tdiff_sampler_last_error(s));
                        assert_true(strlen(tdiff_sampler_last_error(s)) > 10);
                    }
                }
    assert_true(ran > 0 && refused > 0);
    tdiff_sampler_free(s);
    assert_int_equal(a.live, 0);
}

/* ---- re-entry from the step callback ----------------------------------------- */

typedef struct reentry {
    tdiff_sampler *s;
    int mode; /* 0 cancel, 1 step, 2 set_int, 3 result, 4 generate, 5 free, 6 read */
    tdiff_status got;
    int calls;
} reentry;

static int reenter(void *ud, size_t step, size_t n_steps, const int32_t *canvas, size_t n, const float *conf)
{
    (void)step, (void)n_steps, (void)canvas, (void)conf;
    reentry *r = ud;
    int32_t out[64];
    size_t m;
    int done, st;
    r->calls++;
    switch (r->mode) {
    case 0: r->got = tdiff_sampler_cancel(r->s); break;
    case 1: r->got = tdiff_sampler_step(r->s, &done); break;
    case 2: r->got = tdiff_sampler_set_int(r->s, TDIFF_SAMPLER_STEPS, 4); break;
    case 3: r->got = tdiff_sampler_result(r->s, out, 64, &m); break;
    case 4: r->got = tdiff_sampler_generate(r->s, prompt, 3, out, 64, &m); break;
    case 5: tdiff_sampler_free(r->s); r->got = TDIFF_OK; break;
    default:
        r->got = tdiff_sampler_canvas(r->s, out, NULL, NULL, 64, &m);
        if (r->got == TDIFF_OK)
            r->got = tdiff_sampler_progress(r->s, &st, NULL, NULL);
        assert_int_equal(m, n);
        break;
    }
    return 0;
}

static void test_callback_reentry_is_refused_and_free_is_deferred(void **state)
{
    (void)state;
    test_alloc a = {0};
    tdiff_host host;
    test_host_init(&host, &a);
    for (int stepping = 0; stepping <= 1; stepping++)
        for (int mode = 0; mode <= 6; mode++) {
            reentry r = {0};
            r.mode = mode;
            r.s = make(&host, &(shifted){0});
            set(r.s, TDIFF_SAMPLER_GEN_LENGTH, 8);
            set(r.s, TDIFF_SAMPLER_STEPS, 8);
            assert_int_equal(tdiff_sampler_set_callback(r.s, reenter, &r), TDIFF_OK);
            int32_t out[8];
            size_t n;
            tdiff_status st;
            if (stepping) {
                assert_int_equal(tdiff_sampler_begin(r.s, prompt, 3), TDIFF_OK);
                int done = 0;
                st = tdiff_sampler_step(r.s, &done);
                while (st == TDIFF_OK && !done)
                    st = tdiff_sampler_step(r.s, &done);
                if (st == TDIFF_OK)
                    st = tdiff_sampler_result(r.s, out, 8, &n);
            } else {
                st = tdiff_sampler_generate(r.s, prompt, 3, out, 8, &n);
            }
            if (mode == 5) { /* freed by its callback: the call reports it, nothing leaks */
                assert_int_equal(st, TDIFF_E_ABORTED);
                assert_int_equal(r.calls, 1);
                continue;
            }
            assert_int_equal(st, TDIFF_OK);
            assert_int_equal(r.calls, 8);
            assert_int_equal(r.got, mode == 6 ? TDIFF_OK : TDIFF_E_STATE);
            if (mode != 6)
                assert_non_null(strstr(tdiff_sampler_last_error(r.s), "callback"));
            tdiff_sampler_free(r.s);
        }
    assert_int_equal(a.live, 0);
}

/* ---- networks that allow nothing -------------------------------------------- */

static void test_rows_that_allow_no_token_fail_cleanly_everywhere(void **state)
{
    (void)state;
    test_alloc a = {0};
    tdiff_host host;
    test_host_init(&host, &a);
    for (int kind = 1; kind <= 2; kind++)
        for (size_t k = 0; k < N_STRATEGIES; k++) {
            shifted sh = {0};
            sh.all_inf = kind;
            tdiff_sampler *s = make(&host, &sh);
            set(s, TDIFF_SAMPLER_STRATEGY, all_strategies[k]);
            set(s, TDIFF_SAMPLER_GEN_LENGTH, 8);
            set(s, TDIFF_SAMPLER_STEPS, 8);
            int32_t out[8];
            size_t n;
            assert_int_equal(tdiff_sampler_generate(s, prompt, 3, out, 8, &n), TDIFF_E_INVALID_ARGUMENT);
            assert_non_null(strstr(tdiff_sampler_last_error(s), "position"));
            assert_true(sh.calls <= 2); /* the first evaluation already fails */
            /* step mode: the failing step ends the generation, no endless steps */
            assert_int_equal(tdiff_sampler_begin(s, prompt, 3), TDIFF_OK);
            int done = 0;
            assert_int_equal(tdiff_sampler_step(s, &done), TDIFF_E_INVALID_ARGUMENT);
            int st;
            assert_int_equal(tdiff_sampler_progress(s, &st, NULL, NULL), TDIFF_OK);
            assert_int_equal(st, 0);
            tdiff_sampler_free(s);
        }
    assert_int_equal(a.live, 0);
}

static void test_banning_every_token_is_refused(void **state)
{
    (void)state;
    tdiff_sampler *s = make(NULL, &(shifted){0});
    int32_t ids[SYN_V];
    for (int i = 0; i < SYN_V; i++)
        ids[i] = i;
    assert_int_equal(tdiff_sampler_set_banned(s, ids, SYN_V), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_sampler_set_banned(s, ids, SYN_V - 1), TDIFF_E_INVALID_ARGUMENT); /* all but the mask */
    assert_int_equal(tdiff_sampler_set_banned(s, ids, SYN_V - 2), TDIFF_OK); /* token 46 (EOS) is left */
    int32_t out[8];
    size_t n;
    set(s, TDIFF_SAMPLER_GEN_LENGTH, 8);
    set(s, TDIFF_SAMPLER_CUT_AT_EOS, 0);
    assert_int_equal(tdiff_sampler_generate(s, prompt, 3, out, 8, &n), TDIFF_OK);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(out[i], SYN_EOS);
    tdiff_sampler_free(s);
}

/* ---- numerics -------------------------------------------------------------- */

/* exp(l) without the maximum subtracted overflowed at +800 and underflowed at
 * -800: the Gumbel choice now runs in log space, so a uniform shift changes nothing. */
static void test_gumbel_choice_is_shift_invariant(void **state)
{
    (void)state;
    const float shifts[4] = {0.0f, -800.0f, 800.0f, 300.0f};
    int32_t want[16];
    for (int i = 0; i < 4; i++) {
        tdiff_sampler *s = make(NULL, &(shifted){.shift = shifts[i]});
        set(s, TDIFF_SAMPLER_GEN_LENGTH, 16);
        set(s, TDIFF_SAMPLER_STEPS, 16);
        set(s, TDIFF_SAMPLER_SEED, 5);
        set(s, TDIFF_SAMPLER_CUT_AT_EOS, 0);
        assert_int_equal(tdiff_sampler_set_float(s, TDIFF_SAMPLER_TEMPERATURE, 0.9), TDIFF_OK);
        int32_t out[16];
        size_t n;
        assert_int_equal(tdiff_sampler_generate(s, prompt, 3, out, 16, &n), TDIFF_OK);
        if (i == 0)
            memcpy(want, out, sizeof want);
        else
            assert_memory_equal(out, want, sizeof want);
        tdiff_sampler_free(s);
    }
}

/* The old fallback of the graph samplers returned id 0 when rounding ran out,
 * banned or not (1 in 128 outputs with the uniform graph and CFG 0.625). */
static void test_graph_samplers_never_return_a_banned_id(void **state)
{
    (void)state;
    tdiff_scheduler *sched;
    tdiff_transition *tr;
    assert_int_equal(tdiff_scheduler_create(TDIFF_SCHEDULE_LOGLINEAR, NULL, &sched, NULL, 0), TDIFF_OK);
    assert_int_equal(tdiff_transition_create(TDIFF_TRANSITION_UNIFORM, SYN_V, SYN_MASK, sched, 6, NULL, &tr, NULL, 0),
                     TDIFF_OK);
    const int32_t banned[4] = {0, 1, 2, 40};
    const int strategies[3] = {TDIFF_STRATEGY_D3PM, TDIFF_STRATEGY_SEDD_EULER, TDIFF_STRATEGY_SEDD_ANALYTIC};
    for (int k = 0; k < 3; k++)
        for (int64_t seed = 0; seed < 24; seed++) {
            tdiff_sampler *s = make(NULL, &(shifted){0});
            set(s, TDIFF_SAMPLER_STRATEGY, strategies[k]);
            set(s, TDIFF_SAMPLER_GEN_LENGTH, 16);
            set(s, TDIFF_SAMPLER_STEPS, 6);
            set(s, TDIFF_SAMPLER_SEED, seed);
            set(s, TDIFF_SAMPLER_CUT_AT_EOS, 0);
            assert_int_equal(tdiff_sampler_set_float(s, TDIFF_SAMPLER_CFG_SCALE, 0.625), TDIFF_OK);
            assert_int_equal(tdiff_sampler_set_banned(s, banned, 4), TDIFF_OK);
            assert_int_equal(tdiff_sampler_set_transition(s, tr), TDIFF_OK);
            assert_int_equal(tdiff_sampler_set_scheduler(s, sched), TDIFF_OK);
            int32_t out[16];
            size_t n;
            tdiff_status st = tdiff_sampler_generate(s, prompt, 3, out, 16, &n);
            if (st)
                fail_msg("%s seed %lld: %s", tdiff_strategy_name(strategies[k]), (long long)seed,
                         tdiff_sampler_last_error(s));
            for (size_t i = 0; i < n; i++)
                for (int b = 0; b < 4; b++)
                    assert_int_not_equal(out[i], banned[b]);
            tdiff_sampler_free(s);
        }
    tdiff_transition_free(tr);
    tdiff_scheduler_free(sched);
}

/* ---- interrupt ------------------------------------------------------------------ */

typedef struct slow {
    volatile int started;
} slow;

static int slow_logits(void *ud, const int32_t *tokens, size_t n, float t, const uint32_t *positions,
                       size_t n_positions, float *logits)
{
    slow *sl = ud;
    sl->started = 1;
    struct timespec ts = {0, 2000000}; /* 2 ms a forward: the other thread has time to interrupt */
    nanosleep(&ts, NULL);
    return syn_logits(NULL, tokens, n, t, positions, n_positions, logits);
}

static void *interrupter(void *arg)
{
    tdiff_sampler *s = arg;
    struct timespec ts = {0, 5000000};
    nanosleep(&ts, NULL);
    tdiff_sampler_interrupt(s);
    return NULL;
}

static void test_interrupt_from_another_thread_stops_the_run(void **state)
{
    (void)state;
    slow sl = {0};
    tdiff_denoise_callbacks cb = {sizeof cb, &sl, slow_logits, NULL};
    tdiff_sampler *s;
    assert_int_equal(tdiff_sampler_create_with_callback(&cb, SYN_V, SYN_MASK, SYN_EOS, NULL, &s, NULL, 0), TDIFF_OK);
    set(s, TDIFF_SAMPLER_GEN_LENGTH, 64);
    set(s, TDIFF_SAMPLER_STEPS, 64); /* ~130 ms uninterrupted */
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, interrupter, s), 0);
    int32_t out[64];
    size_t n;
    assert_int_equal(tdiff_sampler_generate(s, prompt, 3, out, 64, &n), TDIFF_E_ABORTED);
    assert_non_null(strstr(tdiff_sampler_last_error(s), "interrupt"));
    pthread_join(th, NULL);
    int64_t steps;
    tdiff_sampler_get_int(s, TDIFF_SAMPLER_STAT_STEPS, &steps);
    assert_true(steps < 64);
    /* the request ends with that run: the next generation completes */
    assert_int_equal(tdiff_sampler_generate(s, prompt, 3, out, 64, &n), TDIFF_OK);
    /* an interrupt between begin and the first step stops that step */
    assert_int_equal(tdiff_sampler_begin(s, prompt, 3), TDIFF_OK);
    tdiff_sampler_interrupt(s);
    int done;
    assert_int_equal(tdiff_sampler_step(s, &done), TDIFF_E_ABORTED);
    tdiff_sampler_interrupt(NULL); /* harmless */
    tdiff_sampler_free(s);
}

/* ---- mdlm_cache reuse, SUBS, names ---------------------------------------------- */

static void test_mdlm_cache_reuses_only_unchanged_canvases(void **state)
{
    (void)state;
    int32_t want[12], got[12];
    size_t n;
    int64_t fw_plain, fw_cache, reused, steps;
    shifted a = {0}, b = {0};
    tdiff_sampler *plain = make(NULL, &a), *cached = make(NULL, &b);
    tdiff_sampler *both[2] = {plain, cached};
    for (int i = 0; i < 2; i++) {
        set(both[i], TDIFF_SAMPLER_STRATEGY, i ? TDIFF_STRATEGY_MDLM_CACHE : TDIFF_STRATEGY_MDLM);
        set(both[i], TDIFF_SAMPLER_GEN_LENGTH, 12);
        set(both[i], TDIFF_SAMPLER_STEPS, 48); /* many steps change nothing: room to reuse */
        set(both[i], TDIFF_SAMPLER_SEED, 3);
        set(both[i], TDIFF_SAMPLER_CUT_AT_EOS, 0);
    }
    assert_int_equal(tdiff_sampler_generate(plain, prompt, 3, want, 12, &n), TDIFF_OK);
    assert_int_equal(tdiff_sampler_generate(cached, prompt, 3, got, 12, &n), TDIFF_OK);
    assert_memory_equal(got, want, sizeof want); /* the synthetic network ignores t: same tokens */
    tdiff_sampler_get_int(plain, TDIFF_SAMPLER_STAT_FORWARD_PASSES, &fw_plain);
    tdiff_sampler_get_int(cached, TDIFF_SAMPLER_STAT_FORWARD_PASSES, &fw_cache);
    tdiff_sampler_get_int(cached, TDIFF_SAMPLER_STAT_REUSED, &reused);
    tdiff_sampler_get_int(cached, TDIFF_SAMPLER_STAT_STEPS, &steps);
    assert_true(reused > 0);
    assert_int_equal(fw_cache + reused, fw_plain);
    assert_int_equal(b.calls, fw_cache);
    tdiff_sampler_get_int(plain, TDIFF_SAMPLER_STAT_REUSED, &reused);
    assert_int_equal(reused, 0);
    tdiff_sampler_free(plain);
    tdiff_sampler_free(cached);
}

static void test_subs_off_lets_dream_predict_the_mask_and_is_refused_elsewhere(void **state)
{
    (void)state;
    /* a network that favours the mask token everywhere */
    shifted sh = {0};
    tdiff_sampler *s = make(NULL, &sh);
    set(s, TDIFF_SAMPLER_GEN_LENGTH, 8);
    set(s, TDIFF_SAMPLER_STEPS, 8);
    set(s, TDIFF_SAMPLER_SUBS, 0);
    set(s, TDIFF_SAMPLER_STRATEGY, TDIFF_STRATEGY_MASKGIT);
    int32_t out[8];
    size_t n;
    assert_int_equal(tdiff_sampler_generate(s, prompt, 3, out, 8, &n), TDIFF_E_UNSUPPORTED);
    assert_non_null(strstr(tdiff_sampler_last_error(s), "subs"));
    set(s, TDIFF_SAMPLER_STRATEGY, TDIFF_STRATEGY_DREAM);
    assert_int_equal(tdiff_sampler_generate(s, prompt, 3, out, 8, &n), TDIFF_OK);
    tdiff_sampler_free(s);
}

static void test_messages_name_parameters(void **state)
{
    (void)state;
    tdiff_sampler *s = make(NULL, &(shifted){0});
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_GEN_LENGTH, 0), TDIFF_E_INVALID_ARGUMENT);
    assert_non_null(strstr(tdiff_sampler_last_error(s), "gen_length"));
    assert_int_equal(tdiff_sampler_set_float(s, TDIFF_SAMPLER_TOP_P, 2.0), TDIFF_E_INVALID_ARGUMENT);
    assert_non_null(strstr(tdiff_sampler_last_error(s), "top_p"));
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_N_THREADS, 1000), TDIFF_E_INVALID_ARGUMENT);
    assert_non_null(strstr(tdiff_sampler_last_error(s), "n_threads"));
    assert_int_equal(tdiff_sampler_set_float(s, TDIFF_SAMPLER_STEPS, 2.0), TDIFF_E_INVALID_ARGUMENT);
    assert_non_null(strstr(tdiff_sampler_last_error(s), "steps"));
    /* every parameter: a unique name that maps back, bounds that hold the default */
    int ids[64], n_ids = 0;
    for (int p = 0; p < 200; p++)
        if (strcmp(tdiff_sampler_param_name((tdiff_sampler_param)p), "unknown"))
            ids[n_ids++] = p;
    assert_int_equal(n_ids, 38); /* 33 + the five PLANNED_* */
    for (int i = 0; i < n_ids; i++) {
        tdiff_sampler_param back;
        const char *name = tdiff_sampler_param_name((tdiff_sampler_param)ids[i]);
        assert_int_equal(tdiff_sampler_param_from_name(name, &back), TDIFF_OK);
        assert_int_equal(back, ids[i]);
        double lo, hi, def;
        assert_int_equal(tdiff_sampler_param_bounds((tdiff_sampler_param)ids[i], &lo, &hi, &def), TDIFF_OK);
        assert_true(lo <= def && def <= hi);
        assert_true(tdiff_sampler_param_is_int((tdiff_sampler_param)ids[i]) >= 0);
    }
    tdiff_sampler_param p;
    assert_int_equal(tdiff_sampler_param_from_name("bogus", &p), TDIFF_E_NOT_FOUND);
    assert_int_equal(tdiff_sampler_param_is_int((tdiff_sampler_param)999), -1);
    tdiff_sampler_free(s);
}

static void test_creators_say_why_they_failed(void **state)
{
    (void)state;
    char err[256];
    tdiff_sampler *s = (tdiff_sampler *)1;
    tdiff_denoise_callbacks cb = {sizeof cb, NULL, syn_logits, NULL};
    assert_int_equal(tdiff_sampler_create_with_callback(&cb, SYN_V, SYN_V, -1, NULL, &s, err, sizeof err),
                     TDIFF_E_INVALID_ARGUMENT);
    assert_null(s);
    assert_non_null(strstr(err, "mask_id"));
    assert_int_equal(tdiff_sampler_create_with_callback(&cb, 1, 0, -1, NULL, &s, err, sizeof err),
                     TDIFF_E_INVALID_ARGUMENT);
    assert_non_null(strstr(err, "n_vocab"));
    assert_int_equal(tdiff_sampler_create(NULL, NULL, &s, err, sizeof err), TDIFF_E_INVALID_ARGUMENT);
    assert_non_null(strstr(err, "model"));
    tdiff_host bad = {0};
    bad.struct_size = 3;
    assert_int_equal(tdiff_sampler_create_with_callback(&cb, SYN_V, SYN_MASK, -1, &bad, &s, err, sizeof err),
                     TDIFF_E_INVALID_ARGUMENT);
    assert_non_null(strstr(err, "struct_size"));
    /* a short buffer gets a NUL-terminated prefix; NULL / 0 is allowed */
    char tiny[8];
    assert_int_equal(tdiff_sampler_create(NULL, NULL, &s, tiny, sizeof tiny), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(strlen(tiny), 7);
    assert_int_equal(tdiff_sampler_create(NULL, NULL, &s, NULL, 0), TDIFF_E_INVALID_ARGUMENT);
    tdiff_scheduler *sch;
    assert_int_equal(tdiff_scheduler_create((tdiff_schedule_kind)99, NULL, &sch, err, sizeof err),
                     TDIFF_E_INVALID_ARGUMENT);
    assert_non_null(strstr(err, "kind"));
    tdiff_transition *tr;
    assert_int_equal(tdiff_transition_create(TDIFF_TRANSITION_ABSORBING, 4, 9, NULL, 3, NULL, &tr, err, sizeof err),
                     TDIFF_E_INVALID_ARGUMENT);
    assert_true(strlen(err) > 10);
    tdiff_softmask *sm;
    assert_int_equal(tdiff_softmask_create(NULL, 0, NULL, &sm, err, sizeof err), TDIFF_E_INVALID_ARGUMENT);
    assert_non_null(strstr(err, "n_vocab"));
    /* success leaves "" */
    assert_int_equal(tdiff_scheduler_create(TDIFF_SCHEDULE_LINEAR, NULL, &sch, err, sizeof err), TDIFF_OK);
    assert_string_equal(err, "");
    tdiff_scheduler_free(sch);
}

/* ---- spindle (DiffusionBERT) ----------------------------------------------- */

typedef struct time_probe {
    long calls;
    float max_abs_t;
} time_probe;

static int probe_logits(void *ud, const int32_t *tokens, size_t n, float t, const uint32_t *positions,
                        size_t n_positions, float *logits)
{
    time_probe *p = ud;
    p->calls++;
    p->max_abs_t = fmaxf(p->max_abs_t, fabsf(t));
    return syn_logits(NULL, tokens, n, t, positions, n_positions, logits);
}

static void test_spindle_needs_counts_decides_everything_and_never_tells_the_time(void **state)
{
    (void)state;
    test_alloc a = {0};
    tdiff_host host;
    test_host_init(&host, &a);
    time_probe tp = {0};
    tdiff_denoise_callbacks cb = {sizeof cb, &tp, probe_logits, NULL};
    tdiff_sampler *s = NULL;
    assert_int_equal(tdiff_sampler_create_with_callback(&cb, SYN_V, SYN_MASK, SYN_EOS, &host, &s, NULL, 0), TDIFF_OK);
    set(s, TDIFF_SAMPLER_STRATEGY, TDIFF_STRATEGY_SPINDLE);
    set(s, TDIFF_SAMPLER_GEN_LENGTH, 12);
    set(s, TDIFF_SAMPLER_STEPS, 200);
    set(s, TDIFF_SAMPLER_CUT_AT_EOS, 0);
    int32_t out[16];
    size_t n = 0;
    /* no scheduler, then a scheduler without counts, then too few counts */
    assert_int_equal(tdiff_sampler_generate(s, prompt, 3, out, 16, &n), TDIFF_E_STATE);
    tdiff_scheduler *sc = NULL;
    assert_int_equal(tdiff_scheduler_create(TDIFF_SCHEDULE_SPINDLE, &host, &sc, NULL, 0), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_scheduler(s, sc), TDIFF_OK);
    assert_int_equal(tdiff_sampler_generate(s, prompt, 3, out, 16, &n), TDIFF_E_STATE);
    assert_non_null(strstr(tdiff_sampler_last_error(s), "counts"));
    float counts[SYN_V];
    for (int v = 0; v < SYN_V; v++)
        counts[v] = (float)(v * v % 97);
    assert_int_equal(tdiff_scheduler_set_token_counts(sc, counts, SYN_V - 1), TDIFF_OK);
    assert_int_equal(tdiff_sampler_generate(s, prompt, 3, out, 16, &n), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_scheduler_set_token_counts(sc, counts, SYN_V), TDIFF_OK);
    tp = (time_probe){0};
    assert_int_equal(tdiff_sampler_generate(s, prompt, 3, out, 16, &n), TDIFF_OK);
    assert_int_equal(n, 12);
    for (size_t i = 0; i < n; i++)
        assert_int_not_equal(out[i], SYN_MASK);
    assert_true(tp.max_abs_t == 0.0f); /* time-agnostic: t = 0 on every call */
    /* 200 steps for 12 tokens: steps that unmask nothing reuse the rows */
    int64_t passes = 0;
    assert_int_equal(tdiff_sampler_get_int(s, TDIFF_SAMPLER_STAT_FORWARD_PASSES, &passes), TDIFF_OK);
    assert_true(passes == tp.calls && passes <= 12);
    /* seeded: the same tokens again; another seed gives other tokens */
    int32_t again[16];
    assert_int_equal(tdiff_sampler_generate(s, prompt, 3, again, 16, &n), TDIFF_OK);
    assert_memory_equal(out, again, 12 * sizeof *out);
    set(s, TDIFF_SAMPLER_SEED, 12345);
    assert_int_equal(tdiff_sampler_generate(s, prompt, 3, again, 16, &n), TDIFF_OK);
    assert_memory_not_equal(out, again, 12 * sizeof *out);
    tdiff_sampler_free(s);
    tdiff_scheduler_free(sc);
    assert_int_equal(a.live, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_adaptive_strategies_refuse_origin_under_compat),
        cmocka_unit_test(test_every_combination_runs_or_is_refused),
        cmocka_unit_test(test_origin_under_compat_leaves_no_mask),
        cmocka_unit_test(test_callback_reentry_is_refused_and_free_is_deferred),
        cmocka_unit_test(test_rows_that_allow_no_token_fail_cleanly_everywhere),
        cmocka_unit_test(test_banning_every_token_is_refused),
        cmocka_unit_test(test_gumbel_choice_is_shift_invariant),
        cmocka_unit_test(test_graph_samplers_never_return_a_banned_id),
        cmocka_unit_test(test_interrupt_from_another_thread_stops_the_run),
        cmocka_unit_test(test_mdlm_cache_reuses_only_unchanged_canvases),
        cmocka_unit_test(test_subs_off_lets_dream_predict_the_mask_and_is_refused_elsewhere),
        cmocka_unit_test(test_messages_name_parameters),
        cmocka_unit_test(test_creators_say_why_they_failed),
        cmocka_unit_test(test_spindle_needs_counts_decides_everything_and_never_tells_the_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
