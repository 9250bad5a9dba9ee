/*
 * test_sampler.c -- the sampler against its specification, with synthetic
 * denoisers (no model file needed):
 *   - every strategy token for token against the Python reference (goldens.txt,
 *     made by reference.py), on every SIMD variant this machine runs;
 *   - distribution tests (chi-square) for the stochastic choices;
 *   - CFG against a hand-computed case, transfer counts per step, infilling,
 *     banned tokens, EOS handling, the step callback (abort, reuse), history,
 *     parameters and their bounds, argument checks, allocation failures.
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

#include "sampler/sampler.h"
#include "support.h"
#include "synthetic.h"

/* ---- helpers ---------------------------------------------------------- */

static tdiff_sampler *make_syn(tdiff_host *host, long *calls)
{
    tdiff_denoise_callbacks cb = {sizeof cb, calls, syn_logits, NULL};
    tdiff_sampler *s = NULL;
    assert_int_equal(tdiff_sampler_create_with_callback(&cb, SYN_V, SYN_MASK, SYN_EOS, host, &s, NULL, 0), TDIFF_OK);
    return s;
}

static size_t parse_ids(const char *v, int32_t *out, size_t cap)
{
    size_t n = 0;
    while (*v && n < cap) {
        char *end;
        out[n++] = (int32_t)strtol(v, &end, 10);
        v = *end == ',' ? end + 1 : end;
        if (*end != ',')
            break;
    }
    return n;
}

typedef struct golden {
    char name[64];
    int32_t prompt[64], canvas[64], banned[64], expect[64];
    size_t n_prompt, n_canvas, n_banned, n_expect;
    tdiff_scheduler *sched;  /* d3pm cases: the linear schedule and its transition */
    tdiff_transition *tr;
} golden;

/* Applies one key=value of goldens.txt to the sampler (or the case). */
static void apply_kv(tdiff_sampler *s, golden *g, const char *k, const char *v)
{
    int e;
    if (!strcmp(k, "strategy")) {
        assert_int_equal(tdiff_strategy_from_name(v, &e), TDIFF_OK);
        assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_STRATEGY, e), TDIFF_OK);
    } else if (!strcmp(k, "remask")) {
        assert_int_equal(tdiff_remasking_from_name(v, &e), TDIFF_OK);
        assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_REMASKING, e), TDIFF_OK);
    } else if (!strcmp(k, "prompt")) {
        g->n_prompt = parse_ids(v, g->prompt, 64);
    } else if (!strcmp(k, "canvas")) {
        g->n_canvas = parse_ids(v, g->canvas, 64);
    } else if (!strcmp(k, "banned")) {
        g->n_banned = parse_ids(v, g->banned, 64);
    } else if (!strcmp(k, "d3pm_kind")) {
        int64_t steps;
        assert_int_equal(tdiff_sampler_get_int(s, TDIFF_SAMPLER_STEPS, &steps), TDIFF_OK);
        int64_t strategy;
        assert_int_equal(tdiff_sampler_get_int(s, TDIFF_SAMPLER_STRATEGY, &strategy), TDIFF_OK);
        bool sedd = strategy == TDIFF_STRATEGY_SEDD_EULER || strategy == TDIFF_STRATEGY_SEDD_ANALYTIC;
        /* D3PM: the linear schedule's betas; SEDD: the log-linear sigma_bar(t) */
        assert_int_equal(tdiff_scheduler_create(sedd ? TDIFF_SCHEDULE_LOGLINEAR : TDIFF_SCHEDULE_LINEAR, NULL,
                                                &g->sched, NULL, 0),
                         TDIFF_OK);
        assert_int_equal(tdiff_sampler_set_scheduler(s, g->sched), TDIFF_OK);
        tdiff_transition_kind kind = !strcmp(v, "uniform") ? TDIFF_TRANSITION_UNIFORM : TDIFF_TRANSITION_ABSORBING;
        assert_int_equal(tdiff_transition_create(kind, SYN_V, SYN_MASK, g->sched, (size_t)steps, NULL, &g->tr, NULL, 0),
                         TDIFF_OK);
        assert_int_equal(tdiff_sampler_set_transition(s, g->tr), TDIFF_OK);
    } else if (!strcmp(k, "expect")) {
        g->n_expect = parse_ids(v, g->expect, 64);
    } else {
        static const struct {
            const char *key;
            int param;
        } map[] = {
            {"steps", TDIFF_SAMPLER_STEPS},         {"gen", TDIFF_SAMPLER_GEN_LENGTH},
            {"block", TDIFF_SAMPLER_BLOCK_LENGTH},  {"temp", TDIFF_SAMPLER_TEMPERATURE},
            {"topk", TDIFF_SAMPLER_TOP_K},          {"topp", TDIFF_SAMPLER_TOP_P},
            {"cfg", TDIFF_SAMPLER_CFG_SCALE},       {"threshold", TDIFF_SAMPLER_THRESHOLD},
            {"factor", TDIFF_SAMPLER_FACTOR},       {"alg_temp", TDIFF_SAMPLER_ALG_TEMP},
            {"eps", TDIFF_SAMPLER_EPS},             {"seed", TDIFF_SAMPLER_SEED},
            {"compat", TDIFF_SAMPLER_COMPAT},       {"eos_inf", TDIFF_SAMPLER_EOS_CONFIDENCE_INF},
        };
        for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
            if (strcmp(k, map[i].key))
                continue;
            if (tdiff_sampler_param_is_int(map[i].param) == 1)
                assert_int_equal(tdiff_sampler_set_int(s, map[i].param, strtoll(v, NULL, 10)), TDIFF_OK);
            else
                assert_int_equal(tdiff_sampler_set_float(s, map[i].param, strtod(v, NULL)), TDIFF_OK);
            return;
        }
        fail_msg("goldens.txt: unknown key %s", k);
    }
}

/* Runs every case of goldens.txt with a sampler on `host`; returns the number run. */
static int run_goldens(tdiff_host *host)
{
    char path[1024];
    FILE *f = fopen(test_source_path(path, sizeof path, "tests/unit/sampler/goldens.txt"), "r");
    assert_non_null(f);
    char line[4096];
    int n_cases = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        tdiff_sampler *s = make_syn(host, NULL);
        assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_CUT_AT_EOS, 0), TDIFF_OK);
        golden g;
        memset(&g, 0, sizeof g);
        char *save = NULL;
        char *tok = strtok_r(line, " \n", &save);
        snprintf(g.name, sizeof g.name, "%s", tok);
        while ((tok = strtok_r(NULL, " \n", &save))) {
            char *eq = strchr(tok, '=');
            assert_non_null(eq);
            *eq = '\0';
            apply_kv(s, &g, tok, eq + 1);
        }
        if (g.n_banned)
            assert_int_equal(tdiff_sampler_set_banned(s, g.banned, g.n_banned), TDIFF_OK);
        int32_t out[64];
        size_t n_out = 0;
        tdiff_status st = g.n_canvas ? tdiff_sampler_infill(s, g.canvas, g.n_canvas, out, 64, &n_out)
                                     : tdiff_sampler_generate(s, g.prompt, g.n_prompt, out, 64, &n_out);
        if (st != TDIFF_OK)
            fail_msg("case %s: %s (%s)", g.name, tdiff_status_string(st), tdiff_sampler_last_error(s));
        if (n_out != g.n_expect)
            fail_msg("case %s: %zu tokens, reference %zu", g.name, n_out, g.n_expect);
        for (size_t i = 0; i < n_out; i++)
            if (out[i] != g.expect[i])
                fail_msg("case %s: token %zu is %d, reference %d", g.name, i, (int)out[i], (int)g.expect[i]);
        tdiff_sampler_free(s);
        tdiff_transition_free(g.tr);
        tdiff_scheduler_free(g.sched);
        n_cases++;
    }
    fclose(f);
    return n_cases;
}

/* ---- token for token against the reference -------------------------- */

static void test_every_strategy_matches_python_reference(void **state)
{
    (void)state;
    test_alloc a = {0};
    tdiff_host host;
    test_host_init(&host, &a);
    int n = run_goldens(&host);
    assert_true(n >= 42); /* the file really was read */
    assert_int_equal(a.live, 0);
}

static void test_reference_cases_identical_on_every_isa(void **state)
{
    (void)state;
    const int isas[] = {TDIFF_ISA_SCALAR, TDIFF_ISA_AVX2, TDIFF_ISA_AVX512, TDIFF_ISA_NEON};
    int ran = 0;
    for (size_t i = 0; i < sizeof isas / sizeof isas[0]; i++) {
        if (!tdiff_isa_supported(isas[i]))
            continue;
        test_alloc a = {0};
        tdiff_host host;
        test_host_init(&host, &a);
        host.isa = isas[i];
        run_goldens(&host);
        ran++;
    }
    assert_true(ran >= 1);
}

/* ---- distributions ------------------------------------------------------ */

/* A denoiser whose logits are the same fixed row at every position. */
static const float fixed_row[4] = {0.0f, 1.0f, -0.5f, 2.0f};
static int fixed_logits(void *ud, const int32_t *tokens, size_t n, float t, const uint32_t *positions,
                        size_t n_positions, float *logits)
{
    (void)ud, (void)tokens, (void)n, (void)t, (void)positions;
    for (size_t k = 0; k < n_positions; k++)
        for (size_t v = 0; v < 5; v++)
            logits[k * 5 + v] = v < 4 ? fixed_row[v] : 0.0f; /* id 4 is the mask */
    return 0;
}

/* chi-square statistic of counts[0..k) against probabilities p (n draws). */
static double chi_square(const long *counts, const double *p, size_t k, long n)
{
    double x2 = 0.0;
    for (size_t i = 0; i < k; i++) {
        double e = p[i] * (double)n;
        if (e > 0)
            x2 += ((double)counts[i] - e) * ((double)counts[i] - e) / e;
        else
            assert_int_equal(counts[i], 0); /* an impossible token was drawn */
    }
    return x2;
}

/* Expected distribution: softmax(row / T) over the top_k best (0: all). */
static void expected_probs(double T, int top_k, double *expect)
{
    const int order[4] = {3, 1, 0, 2}; /* fixed_row sorted descending */
    double z = 0.0;
    for (int i = 0; i < 4; i++)
        expect[i] = 0.0;
    for (int i = 0; i < 4; i++)
        if (top_k == 0 || i < top_k)
            z += expect[order[i]] = exp(fixed_row[order[i]] / T);
    for (int i = 0; i < 4; i++)
        expect[i] /= z;
}

/* Histogram of the single generated token over n_seeds seeds. */
static void draw_counts(int strategy, double T, int top_k, long n_seeds, long *counts)
{
    tdiff_denoise_callbacks cb = {sizeof cb, NULL, fixed_logits, NULL};
    tdiff_sampler *s;
    assert_int_equal(tdiff_sampler_create_with_callback(&cb, 5, 4, -1, NULL, &s, NULL, 0), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_STRATEGY, strategy), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_GEN_LENGTH, 1), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_STEPS, 1), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_TOP_K, top_k), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_float(s, TDIFF_SAMPLER_TEMPERATURE, T), TDIFF_OK);
    const int32_t prompt[1] = {0};
    for (int i = 0; i < 4; i++)
        counts[i] = 0;
    for (long seed = 0; seed < n_seeds; seed++) {
        int32_t out[1];
        size_t n_out;
        assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_SEED, seed * 7919 + 1), TDIFF_OK);
        assert_int_equal(tdiff_sampler_generate(s, prompt, 1, out, 1, &n_out), TDIFF_OK);
        assert_int_equal(n_out, 1);
        assert_in_range(out[0], 0, 3);
        counts[out[0]]++;
    }
    tdiff_sampler_free(s);
}

static double draw_chi2(int strategy, double T, int top_k, long n)
{
    long counts[4];
    double p[4];
    draw_counts(strategy, T, top_k, n, counts);
    expected_probs(T, top_k, p);
    return chi_square(counts, p, 4, n);
}

/* 3 degrees of freedom: P(X2 > 16.27) = 0.001; with 2: 13.82. Fixed seeds, so
 * the outcome is deterministic; the bound says how surprising a failure is. */
static void test_llada_gumbel_draws_follow_softmax_over_t(void **state)
{
    (void)state;
    assert_true(draw_chi2(TDIFF_STRATEGY_LLADA, 1.0, 0, 4000) < 16.27);
    assert_true(draw_chi2(TDIFF_STRATEGY_LLADA, 0.5, 0, 4000) < 16.27);
    /* the test has power: T = 0.5 draws are far from softmax(row / 1) */
    long counts[4];
    double p1[4];
    draw_counts(TDIFF_STRATEGY_LLADA, 0.5, 0, 4000, counts);
    expected_probs(1.0, 0, p1);
    assert_true(chi_square(counts, p1, 4, 4000) > 100.0);
}

static void test_dream_samples_follow_filtered_softmax(void **state)
{
    (void)state;
    assert_true(draw_chi2(TDIFF_STRATEGY_DREAM, 1.0, 0, 4000) < 16.27);
    assert_true(draw_chi2(TDIFF_STRATEGY_DREAM, 1.0, 3, 4000) < 13.82); /* token 2 never drawn */
    assert_true(draw_chi2(TDIFF_STRATEGY_DREAM, 2.0, 0, 4000) < 16.27);
}

static void test_alg_temp_picks_positions_by_softmax_of_confidence(void **state)
{
    (void)state;
    const double conf[3] = {0.1, 0.5, 0.9};
    const double at = 0.5;
    double w[3], e[3], z = 0.0;
    for (int i = 0; i < 3; i++)
        z += e[i] = exp(conf[i] / at);
    for (int i = 0; i < 3; i++)
        e[i] /= z;
    long counts[3] = {0};
    for (uint64_t seed = 1; seed <= 6000; seed++) {
        uint32_t sel[3];
        assert_int_equal(tdiff__select_sampled(conf, 3, 1, at, seed, 0, w, sel), 1);
        counts[sel[0]]++;
    }
    assert_true(chi_square(counts, e, 3, 6000) < 13.82);
    /* without replacement: k = 3 gives each slot exactly once */
    uint32_t sel[3];
    assert_int_equal(tdiff__select_sampled(conf, 3, 3, at, 42, 0, w, sel), 3);
    assert_int_equal((1u << sel[0]) | (1u << sel[1]) | (1u << sel[2]), 7u);
}

/* ---- CFG: a hand-computed case ----------------------------------------- */

/* V = 4 (mask 3): conditional row c = (1, 0, 0.5), unconditional u = (2, 0, 0)
 * (the prompt token masked). Guidance w: u + (w+1)(c-u):
 *   w = 0 -> c = (1, 0, 0.5)     -> token 0
 *   w = 1 -> (0, 0, 1)           -> token 2 */
static long cfg_uncond_calls;
static int cfg_logits(void *ud, const int32_t *tokens, size_t n, float t, const uint32_t *positions,
                      size_t n_positions, float *logits)
{
    (void)ud, (void)n, (void)t, (void)positions;
    bool uncond = tokens[0] == 3;
    cfg_uncond_calls += uncond;
    const float c[4] = {1.0f, 0.0f, 0.5f, 0.0f}, u[4] = {2.0f, 0.0f, 0.0f, 0.0f};
    for (size_t k = 0; k < n_positions; k++)
        memcpy(logits + 4 * k, uncond ? u : c, sizeof c);
    return 0;
}

static int32_t cfg_run(double w, int64_t *forwards)
{
    tdiff_denoise_callbacks cb = {sizeof cb, NULL, cfg_logits, NULL};
    tdiff_sampler *s;
    assert_int_equal(tdiff_sampler_create_with_callback(&cb, 4, 3, -1, NULL, &s, NULL, 0), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_GEN_LENGTH, 1), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_STEPS, 1), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_float(s, TDIFF_SAMPLER_CFG_SCALE, w), TDIFF_OK);
    const int32_t prompt[1] = {1};
    int32_t out[1];
    size_t n_out;
    assert_int_equal(tdiff_sampler_generate(s, prompt, 1, out, 1, &n_out), TDIFF_OK);
    assert_int_equal(tdiff_sampler_get_int(s, TDIFF_SAMPLER_STAT_FORWARD_PASSES, forwards), TDIFF_OK);
    tdiff_sampler_free(s);
    return out[0];
}

static void test_cfg_combines_conditional_and_prompt_masked_pass(void **state)
{
    (void)state;
    int64_t fw;
    cfg_uncond_calls = 0;
    assert_int_equal(cfg_run(0.0, &fw), 0);
    assert_int_equal(fw, 1);
    assert_int_equal(cfg_uncond_calls, 0);
    assert_int_equal(cfg_run(1.0, &fw), 2);
    assert_int_equal(fw, 2);                 /* the guidance flag is not ignored: two passes */
    assert_int_equal(cfg_uncond_calls, 1);   /* one of them with the prompt masked */
}

/* ---- transfer counts, observed through the history ---------------------- */

static size_t unmasked_in(const int32_t *row, size_t lo, size_t hi)
{
    size_t m = 0;
    for (size_t i = lo; i < hi; i++)
        m += row[i] != SYN_MASK;
    return m;
}

static void test_llada_commits_schedule_counts_per_block(void **state)
{
    (void)state;
    tdiff_sampler *s = make_syn(NULL, NULL);
    /* 2 blocks of 8, 10 steps -> 5 per block: counts 2,2,2,1,1 (remainder first) */
    tdiff_sampler_set_int(s, TDIFF_SAMPLER_GEN_LENGTH, 16);
    tdiff_sampler_set_int(s, TDIFF_SAMPLER_BLOCK_LENGTH, 8);
    tdiff_sampler_set_int(s, TDIFF_SAMPLER_STEPS, 10);
    tdiff_sampler_set_int(s, TDIFF_SAMPLER_KEEP_HISTORY, 1);
    const int32_t prompt[2] = {1, 2};
    int32_t out[16];
    size_t n_out;
    assert_int_equal(tdiff_sampler_generate(s, prompt, 2, out, 16, &n_out), TDIFF_OK);
    const int32_t *h;
    size_t hs, hn;
    assert_int_equal(tdiff_sampler_history(s, &h, &hs, &hn), TDIFF_OK);
    assert_int_equal(hs, 10);
    assert_int_equal(hn, 18);
    const size_t expect[10] = {2, 2, 2, 1, 1, 2, 2, 2, 1, 1};
    size_t prev = 0;
    for (size_t i = 0; i < hs; i++) {
        size_t now = unmasked_in(h + i * hn, 2, 18);
        assert_int_equal(now - prev, expect[i]);
        /* semi-autoregressive: nothing of block 2 before block 1 is complete */
        if (i < 5)
            assert_int_equal(unmasked_in(h + i * hn, 10, 18), 0);
        prev = now;
    }
    tdiff_sampler_free(s);
}

static void test_dream_commits_eps_schedule_counts(void **state)
{
    (void)state;
    tdiff_sampler *s = make_syn(NULL, NULL);
    tdiff_sampler_set_int(s, TDIFF_SAMPLER_STRATEGY, TDIFF_STRATEGY_DREAM);
    tdiff_sampler_set_int(s, TDIFF_SAMPLER_GEN_LENGTH, 20);
    tdiff_sampler_set_int(s, TDIFF_SAMPLER_STEPS, 6);
    tdiff_sampler_set_int(s, TDIFF_SAMPLER_KEEP_HISTORY, 1);
    const int32_t prompt[1] = {1};
    int32_t out[20];
    size_t n_out;
    assert_int_equal(tdiff_sampler_generate(s, prompt, 1, out, 20, &n_out), TDIFF_OK);
    const int32_t *h;
    size_t hs, hn;
    assert_int_equal(tdiff_sampler_history(s, &h, &hs, &hn), TDIFF_OK);
    size_t masked = 20, prev = 0, step_of_row = 0;
    /* recompute the expected counts with the schedule module, step by step */
    for (size_t i = 0; i < 6 && step_of_row < hs; i++) {
        size_t k;
        assert_int_equal(tdiff_transfer_dream(masked, i, 6, 1e-3, &k), TDIFF_OK);
        if (k == 0)
            continue; /* a zero-count step is skipped and leaves no history row */
        size_t now = unmasked_in(h + step_of_row * hn, 1, 21);
        assert_int_equal(now - prev, k);
        prev = now;
        masked -= k;
        step_of_row++;
    }
    assert_int_equal(masked, 0);
    assert_int_equal(step_of_row, hs);
    tdiff_sampler_free(s);
}

/* ---- reveal rates of the ancestral samplers (independent of the reference) --- */

/* Fraction of 64 masked positions revealed by the first step, over 40 seeds. */
static double first_step_reveal_fraction(int strategy, size_t steps, double eps)
{
    tdiff_scheduler *sched = NULL;
    tdiff_transition *tr = NULL;
    long revealed = 0, total = 0;
    for (int64_t seed = 0; seed < 40; seed++) {
        tdiff_sampler *s = make_syn(NULL, NULL);
        tdiff_sampler_set_int(s, TDIFF_SAMPLER_STRATEGY, strategy);
        tdiff_sampler_set_int(s, TDIFF_SAMPLER_GEN_LENGTH, 64);
        tdiff_sampler_set_int(s, TDIFF_SAMPLER_STEPS, (int64_t)steps);
        tdiff_sampler_set_float(s, TDIFF_SAMPLER_EPS, eps);
        tdiff_sampler_set_int(s, TDIFF_SAMPLER_SEED, seed);
        tdiff_sampler_set_int(s, TDIFF_SAMPLER_KEEP_HISTORY, 1);
        if (strategy == TDIFF_STRATEGY_D3PM && !tr) {
            assert_int_equal(tdiff_scheduler_create(TDIFF_SCHEDULE_LINEAR, NULL, &sched, NULL, 0), TDIFF_OK);
            assert_int_equal(tdiff_transition_create(TDIFF_TRANSITION_ABSORBING, SYN_V, SYN_MASK, sched, steps, NULL,
                                                     &tr, NULL, 0),
                             TDIFF_OK);
        }
        if (tr)
            assert_int_equal(tdiff_sampler_set_transition(s, tr), TDIFF_OK);
        const int32_t prompt[1] = {3};
        int32_t out[64];
        size_t n_out;
        assert_int_equal(tdiff_sampler_generate(s, prompt, 1, out, 64, &n_out), TDIFF_OK);
        const int32_t *h;
        size_t hs, hn;
        assert_int_equal(tdiff_sampler_history(s, &h, &hs, &hn), TDIFF_OK);
        revealed += (long)unmasked_in(h, 1, hn);
        total += 64;
        tdiff_sampler_free(s);
    }
    tdiff_transition_free(tr);
    tdiff_scheduler_free(sched);
    return (double)revealed / (double)total;
}

/* D3PM absorbing, linear schedule: at t = T a mask is revealed with probability
 * β_T·ᾱ_{T-1} / (β_T·ᾱ_{T-1} + 1 - ᾱ_{T-1}) = 1/T. MDLM: 1 - s/t = (1 - eps)/steps
 * at t = 1. Tolerance: 4 binomial standard deviations over 2560 positions. */
static void test_ancestral_samplers_reveal_at_the_schedule_rate(void **state)
{
    (void)state;
    const double n = 2560.0;
    double f = first_step_reveal_fraction(TDIFF_STRATEGY_D3PM, 8, 1e-3);
    assert_true(fabs(f - 0.125) < 4.0 * sqrt(0.125 * 0.875 / n));
    double p = (1.0 - 1e-3) / 10.0;
    f = first_step_reveal_fraction(TDIFF_STRATEGY_MDLM, 10, 1e-3);
    assert_true(fabs(f - p) < 4.0 * sqrt(p * (1.0 - p) / n));
}

/* ---- infilling ------------------------------------------------------------ */

static void test_infill_never_changes_fixed_positions(void **state)
{
    (void)state;
    const int strategies[] = {TDIFF_STRATEGY_LLADA, TDIFF_STRATEGY_DREAM, TDIFF_STRATEGY_THRESHOLD,
                              TDIFF_STRATEGY_FACTOR, TDIFF_STRATEGY_MASKGIT, TDIFF_STRATEGY_MASK_PREDICT,
                              TDIFF_STRATEGY_MDLM, TDIFF_STRATEGY_MDLM_CACHE, TDIFF_STRATEGY_FIRST_HITTING};
    for (size_t si = 0; si < sizeof strategies / sizeof strategies[0]; si++) {
        for (uint64_t trial = 0; trial < 6; trial++) {
            int32_t canvas[30], out[30];
            size_t n_out;
            int any = 0;
            for (size_t i = 0; i < 30; i++) {
                double u = tdiff_rng_uniform(99, (uint32_t)trial, (uint32_t)i, 0);
                canvas[i] = u < 0.4 ? SYN_MASK : (int32_t)(u * 40.0);
                any |= canvas[i] == SYN_MASK;
            }
            if (!any)
                canvas[7] = SYN_MASK;
            tdiff_sampler *s = make_syn(NULL, NULL);
            tdiff_sampler_set_int(s, TDIFF_SAMPLER_STRATEGY, strategies[si]);
            tdiff_sampler_set_int(s, TDIFF_SAMPLER_STEPS, 12);
            tdiff_sampler_set_float(s, TDIFF_SAMPLER_TEMPERATURE, trial % 2 ? 1.0 : 0.0);
            tdiff_sampler_set_int(s, TDIFF_SAMPLER_SEED, (int64_t)trial);
            tdiff_status st = tdiff_sampler_infill(s, canvas, 30, out, 30, &n_out);
            if (st)
                fail_msg("strategy %s: %s", tdiff_strategy_name(strategies[si]), tdiff_sampler_last_error(s));
            assert_int_equal(n_out, 30);
            for (size_t i = 0; i < 30; i++) {
                if (canvas[i] != SYN_MASK)
                    assert_int_equal(out[i], canvas[i]);
                else
                    assert_int_not_equal(out[i], SYN_MASK); /* every hole is filled */
            }
            tdiff_sampler_free(s);
        }
    }
}

/* ---- controls: banned tokens, EOS ------------------------------------------ */

static void test_banned_tokens_never_appear(void **state)
{
    (void)state;
    int32_t banned[24];
    for (int i = 0; i < 24; i++)
        banned[i] = i * 2; /* every even id */
    const int strategies[] = {TDIFF_STRATEGY_LLADA, TDIFF_STRATEGY_DREAM, TDIFF_STRATEGY_MDLM};
    for (size_t si = 0; si < 3; si++) {
        tdiff_sampler *s = make_syn(NULL, NULL);
        tdiff_sampler_set_int(s, TDIFF_SAMPLER_STRATEGY, strategies[si]);
        tdiff_sampler_set_int(s, TDIFF_SAMPLER_CUT_AT_EOS, 0);
        tdiff_sampler_set_int(s, TDIFF_SAMPLER_GEN_LENGTH, 32);
        tdiff_sampler_set_int(s, TDIFF_SAMPLER_STEPS, 16);
        tdiff_sampler_set_float(s, TDIFF_SAMPLER_TEMPERATURE, 1.0);
        assert_int_equal(tdiff_sampler_set_banned(s, banned, 24), TDIFF_OK);
        const int32_t prompt[2] = {5, 7};
        int32_t out[32];
        size_t n_out;
        assert_int_equal(tdiff_sampler_generate(s, prompt, 2, out, 32, &n_out), TDIFF_OK);
        assert_int_equal(n_out, 32);
        for (size_t i = 0; i < n_out; i++)
            assert_int_equal(out[i] % 2, 1);
        tdiff_sampler_free(s);
    }
}

/* Predicts EOS (id 2 of V = 4, mask 3) everywhere after position 3, token 1 before. */
static int eos_logits(void *ud, const int32_t *tokens, size_t n, float t, const uint32_t *positions,
                      size_t n_positions, float *logits)
{
    (void)ud, (void)tokens, (void)n, (void)t;
    for (size_t k = 0; k < n_positions; k++) {
        float *row = logits + 4 * k;
        row[0] = 0.0f, row[3] = 0.0f;
        row[1] = positions[k] <= 3 ? 5.0f : 0.0f;
        row[2] = positions[k] <= 3 ? 0.0f : 6.0f; /* EOS is the more confident prediction */
    }
    return 0;
}

static void test_eos_cut_and_minus_infinity_confidence(void **state)
{
    (void)state;
    tdiff_denoise_callbacks cb = {sizeof cb, NULL, eos_logits, NULL};
    tdiff_sampler *s;
    assert_int_equal(tdiff_sampler_create_with_callback(&cb, 4, 3, 2, NULL, &s, NULL, 0), TDIFF_OK);
    tdiff_sampler_set_int(s, TDIFF_SAMPLER_GEN_LENGTH, 8);
    tdiff_sampler_set_int(s, TDIFF_SAMPLER_STEPS, 8);
    tdiff_sampler_set_int(s, TDIFF_SAMPLER_KEEP_HISTORY, 1);
    const int32_t prompt[2] = {0, 0};
    int32_t out[8];
    size_t n_out;
    assert_int_equal(tdiff_sampler_generate(s, prompt, 2, out, 8, &n_out), TDIFF_OK);
    assert_int_equal(n_out, 2); /* positions 2, 3 hold token 1; position 4 is EOS: cut there */
    assert_int_equal(out[0], 1);
    assert_int_equal(out[1], 1);
    const int32_t *h;
    size_t hs, hn;
    assert_int_equal(tdiff_sampler_history(s, &h, &hs, &hn), TDIFF_OK);
    assert_int_equal(h[0 * hn + 4], 2); /* plain confidence: EOS (p higher) goes first */
    tdiff_sampler_set_int(s, TDIFF_SAMPLER_EOS_CONFIDENCE_INF, 1);
    assert_int_equal(tdiff_sampler_generate(s, prompt, 2, out, 8, &n_out), TDIFF_OK);
    assert_int_equal(tdiff_sampler_history(s, &h, &hs, &hn), TDIFF_OK);
    assert_int_equal(h[0 * hn + 2], 1); /* -inf EOS confidence: the non-EOS position goes first */
    assert_int_equal(h[0 * hn + 4], 3);
    tdiff_sampler_set_int(s, TDIFF_SAMPLER_CUT_AT_EOS, 0);
    assert_int_equal(tdiff_sampler_generate(s, prompt, 2, out, 8, &n_out), TDIFF_OK);
    assert_int_equal(n_out, 8);
    assert_int_equal(out[7], 2);
    tdiff_sampler_free(s);
}

/* ---- step callback: streaming and abort --------------------------------- */

typedef struct cb_state {
    int abort_at;      /* step at which to return non-zero; -1 never */
    int calls;
    int nan_at_fixed;  /* confidence NaN at every fixed position in every call */
    size_t last_n_steps;
} cb_state;

static int on_step(void *ud, size_t step, size_t n_steps, const int32_t *canvas, size_t n, const float *conf)
{
    cb_state *c = ud;
    (void)canvas;
    c->calls++;
    c->last_n_steps = n_steps;
    for (size_t i = 0; i < 2 && i < n; i++)
        c->nan_at_fixed &= isnan(conf[i]) ? 1 : 0;
    return c->abort_at >= 0 && (int)step == c->abort_at;
}

static void test_abort_from_callback_leaves_sampler_reusable(void **state)
{
    (void)state;
    test_alloc a = {0};
    tdiff_host host;
    test_host_init(&host, &a);
    tdiff_sampler *ref = make_syn(&host, NULL), *s = make_syn(&host, NULL);
    const int32_t prompt[2] = {4, 9};
    tdiff_sampler *both[2] = {ref, s};
    for (int i = 0; i < 2; i++) {
        tdiff_sampler_set_int(both[i], TDIFF_SAMPLER_GEN_LENGTH, 16);
        tdiff_sampler_set_int(both[i], TDIFF_SAMPLER_STEPS, 16);
    }
    int32_t want[16], out[16];
    size_t n_want, n_out;
    tdiff_sampler_set_float(ref, TDIFF_SAMPLER_TEMPERATURE, 0.8);
    tdiff_sampler_set_float(s, TDIFF_SAMPLER_TEMPERATURE, 0.8);
    tdiff_sampler_set_int(ref, TDIFF_SAMPLER_CUT_AT_EOS, 0);
    tdiff_sampler_set_int(s, TDIFF_SAMPLER_CUT_AT_EOS, 0);
    assert_int_equal(tdiff_sampler_generate(ref, prompt, 2, want, 16, &n_want), TDIFF_OK);
    cb_state c = {2, 0, 1, 0};
    tdiff_sampler_set_callback(s, on_step, &c);
    assert_int_equal(tdiff_sampler_generate(s, prompt, 2, out, 16, &n_out), TDIFF_E_ABORTED);
    assert_int_equal(c.calls, 3);
    assert_non_null(strstr(tdiff_sampler_last_error(s), "abort"));
    c.abort_at = -1;
    c.calls = 0;
    assert_int_equal(tdiff_sampler_generate(s, prompt, 2, out, 16, &n_out), TDIFF_OK);
    assert_int_equal(n_out, n_want);
    assert_memory_equal(out, want, n_out * sizeof *out);
    assert_int_equal(c.calls, 16);
    tdiff_sampler_free(ref);
    tdiff_sampler_free(s);
    assert_int_equal(a.live, 0);
}

static void test_callback_sees_every_step_and_nan_at_fixed_positions(void **state)
{
    (void)state;
    tdiff_sampler *s = make_syn(NULL, NULL);
    tdiff_sampler_set_int(s, TDIFF_SAMPLER_GEN_LENGTH, 12);
    tdiff_sampler_set_int(s, TDIFF_SAMPLER_STEPS, 6);
    cb_state c = {-1, 0, 1, 0};
    tdiff_sampler_set_callback(s, on_step, &c);
    const int32_t prompt[2] = {4, 9};
    int32_t out[12];
    size_t n_out;
    assert_int_equal(tdiff_sampler_generate(s, prompt, 2, out, 12, &n_out), TDIFF_OK);
    int64_t steps, fw;
    tdiff_sampler_get_int(s, TDIFF_SAMPLER_STAT_STEPS, &steps);
    tdiff_sampler_get_int(s, TDIFF_SAMPLER_STAT_FORWARD_PASSES, &fw);
    assert_int_equal(c.calls, 6);
    assert_int_equal(steps, 6);
    assert_int_equal(fw, 6);
    assert_int_equal(c.last_n_steps, 6);
    assert_int_equal(c.nan_at_fixed, 1);
    double total, fwd;
    assert_int_equal(tdiff_sampler_get_float(s, TDIFF_SAMPLER_STAT_TOTAL_SECONDS, &total), TDIFF_OK);
    assert_int_equal(tdiff_sampler_get_float(s, TDIFF_SAMPLER_STAT_FORWARD_SECONDS, &fwd), TDIFF_OK);
    assert_true(total >= fwd && fwd >= 0.0);
    tdiff_sampler_free(s);
}

static void test_history_absent_unless_asked(void **state)
{
    (void)state;
    tdiff_sampler *s = make_syn(NULL, NULL);
    const int32_t *h;
    size_t a, b;
    assert_int_equal(tdiff_sampler_history(s, &h, &a, &b), TDIFF_E_STATE);
    tdiff_sampler_set_int(s, TDIFF_SAMPLER_GEN_LENGTH, 4);
    tdiff_sampler_set_int(s, TDIFF_SAMPLER_STEPS, 4);
    const int32_t prompt[1] = {1};
    int32_t out[4];
    size_t n_out;
    assert_int_equal(tdiff_sampler_generate(s, prompt, 1, out, 4, &n_out), TDIFF_OK);
    assert_int_equal(tdiff_sampler_history(s, &h, &a, &b), TDIFF_E_STATE);
    tdiff_sampler_free(s);
}

/* ---- parameters ------------------------------------------------------------ */

static void test_parameters_have_bounds_defaults_and_kinds(void **state)
{
    (void)state;
    tdiff_sampler *s = make_syn(NULL, NULL);
    double lo, hi, def;
    assert_int_equal(tdiff_sampler_param_bounds(TDIFF_SAMPLER_THRESHOLD, &lo, &hi, &def), TDIFF_OK);
    assert_true(lo == 0.0 && hi == 1.0 && def == 0.9);
    assert_int_equal(tdiff_sampler_param_bounds((tdiff_sampler_param)9999, &lo, &hi, &def),
                     TDIFF_E_INVALID_ARGUMENT);
    int64_t iv;
    double fv;
    assert_int_equal(tdiff_sampler_get_int(s, TDIFF_SAMPLER_STEPS, &iv), TDIFF_OK);
    assert_int_equal(iv, 64);
    assert_int_equal(tdiff_sampler_get_float(s, TDIFF_SAMPLER_EPS, &fv), TDIFF_OK);
    assert_true(fv == 1e-3);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_STEPS, 0), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_sampler_set_float(s, TDIFF_SAMPLER_TOP_P, 0.0), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_sampler_set_float(s, TDIFF_SAMPLER_TEMPERATURE, NAN), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_sampler_set_float(s, TDIFF_SAMPLER_STEPS, 3.0), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_TEMPERATURE, 1), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_STAT_STEPS, 1), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_STRATEGY, 99), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_STEPS, 7), TDIFF_OK);
    assert_int_equal(tdiff_sampler_get_int(s, TDIFF_SAMPLER_STEPS, &iv), TDIFF_OK);
    assert_int_equal(iv, 7);
    assert_int_equal(tdiff_sampler_get_int(s, TDIFF_SAMPLER_TEMPERATURE, &iv), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_sampler_set_int(NULL, TDIFF_SAMPLER_STEPS, 7), TDIFF_E_INVALID_ARGUMENT);
    /* the enum values are ABI: never renumbered */
    assert_int_equal(TDIFF_SAMPLER_STEPS, 10);
    assert_int_equal(TDIFF_SAMPLER_TEMPERATURE, 30);
    assert_int_equal(TDIFF_STRATEGY_DREAM, 2);
    assert_int_equal(TDIFF_REMASK_ENTROPY, 4);
    tdiff_sampler_free(s);
}

static void test_names_round_trip(void **state)
{
    (void)state;
    for (int i = 1; i <= TDIFF_STRATEGY_SEDD_ANALYTIC; i++) {
        int v = 0;
        assert_int_equal(tdiff_strategy_from_name(tdiff_strategy_name(i), &v), TDIFF_OK);
        assert_int_equal(v, i);
    }
    for (int i = 1; i <= TDIFF_REMASK_ORIGIN; i++) {
        int v = 0;
        assert_int_equal(tdiff_remasking_from_name(tdiff_remasking_name(i), &v), TDIFF_OK);
        assert_int_equal(v, i);
    }
    int v;
    assert_int_equal(tdiff_remasking_from_name("maskgit_plus", &v), TDIFF_OK);
    assert_int_equal(v, TDIFF_REMASK_LOW_CONFIDENCE);
    assert_int_equal(tdiff_strategy_from_name("nope", &v), TDIFF_E_NOT_FOUND);
    assert_string_equal(tdiff_strategy_name(0), "unknown");
}

/* ---- argument checks and failures ------------------------------------------ */

static int failing_logits(void *ud, const int32_t *tokens, size_t n, float t, const uint32_t *positions,
                          size_t n_positions, float *logits)
{
    (void)ud, (void)tokens, (void)n, (void)t, (void)positions, (void)n_positions, (void)logits;
    return TDIFF_E_IO;
}

static void test_invalid_arguments_are_reported(void **state)
{
    (void)state;
    tdiff_sampler *s = make_syn(NULL, NULL);
    int32_t out[64];
    size_t n_out = 0;
    const int32_t bad_prompt[2] = {1, SYN_MASK}, prompt[2] = {1, 2};
    assert_int_equal(tdiff_sampler_generate(s, bad_prompt, 2, out, 64, &n_out), TDIFF_E_INVALID_ARGUMENT);
    const int32_t oob[1] = {SYN_V};
    assert_int_equal(tdiff_sampler_generate(s, oob, 1, out, 64, &n_out), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_sampler_generate(s, prompt, 2, out, 10, &n_out), TDIFF_E_BUFFER_TOO_SMALL);
    assert_int_equal(n_out, 64);
    tdiff_sampler_set_int(s, TDIFF_SAMPLER_BLOCK_LENGTH, 16); /* 4 blocks */
    tdiff_sampler_set_int(s, TDIFF_SAMPLER_STEPS, 10);
    assert_int_equal(tdiff_sampler_generate(s, prompt, 2, out, 64, &n_out), TDIFF_E_INVALID_ARGUMENT);
    assert_non_null(strstr(tdiff_sampler_last_error(s), "multiple"));
    const int32_t no_holes[3] = {1, 2, 3};
    assert_int_equal(tdiff_sampler_infill(s, no_holes, 3, out, 64, &n_out), TDIFF_E_INVALID_ARGUMENT);
    const int32_t banned_bad[1] = {-1};
    assert_int_equal(tdiff_sampler_set_banned(s, banned_bad, 1), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_sampler_generate(NULL, prompt, 2, out, 64, &n_out), TDIFF_E_INVALID_ARGUMENT);
    /* d3pm without a transition, and a transition of another vocabulary */
    tdiff_sampler_set_int(s, TDIFF_SAMPLER_BLOCK_LENGTH, 0);
    tdiff_sampler_set_int(s, TDIFF_SAMPLER_STRATEGY, TDIFF_STRATEGY_D3PM);
    assert_int_equal(tdiff_sampler_generate(s, prompt, 2, out, 64, &n_out), TDIFF_E_STATE);
    tdiff_sampler_set_int(s, TDIFF_SAMPLER_STRATEGY, TDIFF_STRATEGY_SEDD_EULER);
    assert_int_equal(tdiff_sampler_generate(s, prompt, 2, out, 64, &n_out), TDIFF_E_STATE);
    tdiff_scheduler *sched;
    tdiff_transition *tr;
    assert_int_equal(tdiff_scheduler_create(TDIFF_SCHEDULE_LINEAR, NULL, &sched, NULL, 0), TDIFF_OK);
    assert_int_equal(tdiff_transition_create(TDIFF_TRANSITION_UNIFORM, SYN_V + 1, 0, sched, 4, NULL, &tr, NULL, 0), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_transition(s, tr), TDIFF_E_INVALID_ARGUMENT);
    tdiff_transition_free(tr);
    tdiff_scheduler_free(sched);
    tdiff_sampler_free(s);
    tdiff_sampler_free(NULL);

    tdiff_denoise_callbacks cb = {sizeof cb, NULL, failing_logits, NULL};
    assert_int_equal(tdiff_sampler_create_with_callback(&cb, 4, 4, -1, NULL, &s, NULL, 0), TDIFF_E_INVALID_ARGUMENT);
    assert_null(s);
    cb.struct_size = 4;
    assert_int_equal(tdiff_sampler_create_with_callback(&cb, 4, 3, -1, NULL, &s, NULL, 0), TDIFF_E_INVALID_ARGUMENT);
    cb.struct_size = sizeof cb;
    assert_int_equal(tdiff_sampler_create_with_callback(&cb, 4, 3, -1, NULL, &s, NULL, 0), TDIFF_OK);
    tdiff_sampler_set_int(s, TDIFF_SAMPLER_GEN_LENGTH, 2);
    tdiff_sampler_set_int(s, TDIFF_SAMPLER_STEPS, 2);
    assert_int_equal(tdiff_sampler_generate(s, prompt, 2, out, 64, &n_out), TDIFF_E_IO); /* passed through */
    tdiff_sampler_free(s);
}

static int destroyed;
static void on_destroy(void *ud)
{
    (void)ud;
    destroyed++;
}

static void test_callback_destroy_runs_once_at_free(void **state)
{
    (void)state;
    tdiff_denoise_callbacks cb = {sizeof cb, NULL, syn_logits, on_destroy};
    tdiff_sampler *s;
    destroyed = 0;
    assert_int_equal(tdiff_sampler_create_with_callback(&cb, SYN_V, SYN_MASK, SYN_EOS, NULL, &s, NULL, 0), TDIFF_OK);
    assert_int_equal(destroyed, 0);
    tdiff_sampler_free(s);
    assert_int_equal(destroyed, 1);
}

static void test_allocation_failures_fail_cleanly(void **state)
{
    (void)state;
    const int32_t prompt[2] = {1, 2};
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
            int32_t out[8];
            size_t n_out;
            st = tdiff_sampler_generate(s, prompt, 2, out, 8, &n_out);
            ok = st == TDIFF_OK;
            if (!ok)
                assert_int_equal(st, TDIFF_E_OUT_OF_MEMORY);
            tdiff_sampler_free(s);
        } else {
            assert_int_equal(st, TDIFF_E_OUT_OF_MEMORY);
            assert_null(s);
        }
        assert_int_equal(a.live, 0);
    }
    assert_true(ok);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_strategy_matches_python_reference),
        cmocka_unit_test(test_reference_cases_identical_on_every_isa),
        cmocka_unit_test(test_llada_gumbel_draws_follow_softmax_over_t),
        cmocka_unit_test(test_dream_samples_follow_filtered_softmax),
        cmocka_unit_test(test_alg_temp_picks_positions_by_softmax_of_confidence),
        cmocka_unit_test(test_cfg_combines_conditional_and_prompt_masked_pass),
        cmocka_unit_test(test_llada_commits_schedule_counts_per_block),
        cmocka_unit_test(test_dream_commits_eps_schedule_counts),
        cmocka_unit_test(test_ancestral_samplers_reveal_at_the_schedule_rate),
        cmocka_unit_test(test_infill_never_changes_fixed_positions),
        cmocka_unit_test(test_banned_tokens_never_appear),
        cmocka_unit_test(test_eos_cut_and_minus_infinity_confidence),
        cmocka_unit_test(test_abort_from_callback_leaves_sampler_reusable),
        cmocka_unit_test(test_callback_sees_every_step_and_nan_at_fixed_positions),
        cmocka_unit_test(test_history_absent_unless_asked),
        cmocka_unit_test(test_parameters_have_bounds_defaults_and_kinds),
        cmocka_unit_test(test_names_round_trip),
        cmocka_unit_test(test_invalid_arguments_are_reported),
        cmocka_unit_test(test_callback_destroy_runs_once_at_free),
        cmocka_unit_test(test_allocation_failures_fail_cleanly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
