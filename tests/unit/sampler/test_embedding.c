/*
 * test_embedding.c -- the continuous-embedding (Diffusion-LM) sampler:
 *   - x̂0 is E[argmax] exactly at temperature 0 and the float64 expectation of
 *     the embedding rows under softmax(logits/T) otherwise, banned tokens at 0;
 *   - one DDPM / DDIM step equals a float64 recomputation from the same draws;
 *   - on the llada-tiny fixture: fixed positions never change, every step
 *     counts one network call, no banned token appears, same seed gives the
 *     same tokens on 1 and 2 threads, for DDPM, DDIM and clamping, and the
 *     same pinned tokens on the default and the scalar ISA;
 *   - the incremental API and a callback abort;
 *   - callback samplers, CFG and a non-Gaussian schedule are refused; SQRT,
 *     COSINE and LINEAR all generate;
 *   - the bundled continuous model (models/austen-dlm.gguf) recovers an Austen
 *     sentence from x_t on the sqrt schedule as its held-out numbers say it
 *     should (models/austen-dlm.md), and infills through the sampler.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/rng.h"
#include "denoiser/denoiser.h"
#include "libtextdiff.h"
#include "sampler/embedding.h"
#include "support.h"

enum { TV = 5, TD = 3 };

static int zero_logits(void *ud, const int32_t *tokens, size_t n, float t, const uint32_t *pos, size_t np,
                       float *logits)
{
    (void)ud, (void)tokens, (void)n, (void)t, (void)pos;
    memset(logits, 0, np * TV * sizeof *logits);
    return 0;
}

static tdiff_sampler *callback_sampler(tdiff_host *host)
{
    tdiff_denoise_callbacks cb = {0};
    cb.struct_size = sizeof cb;
    cb.logits = zero_logits;
    tdiff_sampler *s;
    assert_int_equal(tdiff_sampler_create_with_callback(&cb, TV, TV - 1, -1, host, &s, NULL, 0), TDIFF_OK);
    return s;
}

static void test_x0hat_is_argmax_row_or_expectation(void **state)
{
    (void)state;
    test_alloc a = {0};
    tdiff_host host;
    test_host_init(&host, &a);
    tdiff_sampler *s = callback_sampler(&host); /* mask = 4 is banned */
    const int32_t ban = 1;
    assert_int_equal(tdiff_sampler_set_banned(s, &ban, 1), TDIFF_OK);
    const float E[TV * TD] = {1, 0, 0, 0, 1, 0, 0, 0, 1, 0.5f, -2, 3, 9, 9, 9};
    const float logits[TV] = {0.3f, 5.0f, -0.7f, 1.1f, 8.0f};
    float scratch[TV];
    double row[TV], conf;
    float x0[TD];
    int32_t tok;
    void *ws = test_malloc(tdiff__embedding_ws_bytes(s, 1));
    /* temperature 0: the arg-max allowed token (3; 1 and 4 are banned), its row bit for bit */
    assert_int_equal(tdiff__embedding_x0hat(s, logits, scratch, 1, 0.0, E, TD, ws, row, x0, &tok, &conf), 1);
    assert_int_equal(tok, 3);
    assert_memory_equal(x0, E + 3 * TD, sizeof x0);
    /* temperature 0.7: float64 expectation over tokens 0, 2, 3 */
    assert_int_equal(tdiff__embedding_x0hat(s, logits, scratch, 1, 0.7, E, TD, ws, row, x0, &tok, &conf), 1);
    const int allowed[3] = {0, 2, 3};
    double w[3], z = 0.0, mx = 1.1 / 0.7;
    for (int i = 0; i < 3; i++)
        z += w[i] = exp((double)logits[allowed[i]] / 0.7 - mx);
    for (int d = 0; d < TD; d++) {
        double want = 0.0;
        for (int i = 0; i < 3; i++)
            want += w[i] / z * (double)E[allowed[i] * TD + d];
        assert_float_equal(x0[d], want, 2e-6); /* float32 probabilities and sums (3 terms, |E| <= 3) */
    }
    assert_float_equal(conf, w[2] / z, 1e-12);
    test_free(ws);
    tdiff_sampler_free(s);
}

static void test_gauss_steps_match_float64_recomputation(void **state)
{
    (void)state;
    const size_t dim = 7;
    float xt[7], x0[7], x[7];
    for (size_t d = 0; d < dim; d++) {
        xt[d] = (float)tdiff__rng_normal(3, 0, 2, (uint32_t)d);
        x0[d] = 0.25f * (float)d - 0.5f;
    }
    const double abt = 0.31, abp = 0.57;
    /* DDPM: posterior mean + sqrt(var)·z with z keyed (seed, step, pos, d) */
    memcpy(x, xt, sizeof x);
    tdiff__embedding_gauss_step(x, x0, dim, abt, abp, false, 11, 5, 2);
    double beta = 1.0 - abt / abp;
    double c0 = sqrt(abp) * beta / (1.0 - abt), ct = sqrt(1.0 - beta) * (1.0 - abp) / (1.0 - abt);
    double sd = sqrt(beta * (1.0 - abp) / (1.0 - abt));
    for (size_t d = 0; d < dim; d++) {
        double want = c0 * x0[d] + ct * xt[d] + sd * tdiff__rng_normal(11, 5, 2, (uint32_t)d);
        assert_float_equal(x[d], want, 1e-6 * (1.0 + fabs(want)));
    }
    /* DDIM eta 0: sqrt(ᾱp)·x0 + sqrt(1−ᾱp)·ε̂, no draws */
    memcpy(x, xt, sizeof x);
    tdiff__embedding_gauss_step(x, x0, dim, abt, abp, true, 11, 5, 2);
    for (size_t d = 0; d < dim; d++) {
        double eps = (xt[d] - sqrt(abt) * x0[d]) / sqrt(1.0 - abt);
        double want = sqrt(abp) * x0[d] + sqrt(1.0 - abp) * eps;
        assert_float_equal(x[d], want, 1e-6 * (1.0 + fabs(want)));
    }
    /* the last step (ᾱ_0 = 1) lands exactly on x̂0 in both forms */
    for (int ddim = 0; ddim < 2; ddim++) {
        memcpy(x, xt, sizeof x);
        tdiff__embedding_gauss_step(x, x0, dim, abt, 1.0, ddim, 11, 5, 2);
        assert_memory_equal(x, x0, sizeof x);
    }
}

typedef struct trace {
    int32_t first[64];
    size_t n, calls;
} trace;

static tdiff_model *load_tiny(tdiff_host *host)
{
    char path[1024];
    return test_load_model(test_fixture_path(path, sizeof path, "llada-tiny.gguf"), host);
}

static tdiff_sampler *fixture_sampler(tdiff_model *m, tdiff_host *host, int threads, int clamp, int ddim,
                                      double temperature)
{
    tdiff_sampler *s;
    assert_int_equal(tdiff_sampler_create(m, host, &s, NULL, 0), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_STRATEGY, TDIFF_STRATEGY_EMBEDDING), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_STEPS, 6), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_SEED, 42), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_N_THREADS, threads), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_CLAMP, clamp), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_DDIM, ddim), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_float(s, TDIFF_SAMPLER_TEMPERATURE, temperature), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_KEEP_HISTORY, 1), TDIFF_OK);
    return s;
}

/* Infill canvas: fixed context around masked holes; returns its length. */
static size_t infill_canvas(const tdiff_model *m, int32_t *c)
{
    (void)m;
    const int32_t ctx[12] = {116, 468, 258, 301, -1, -1, -1, 77, -1, -1, 300, 12};
    for (size_t i = 0; i < 12; i++)
        c[i] = ctx[i];
    return 12;
}

static void run_infill(tdiff_model *m, tdiff_host *host, int threads, int clamp, int ddim, double temperature,
                       int32_t *out)
{
    tdiff_sampler *s = fixture_sampler(m, host, threads, clamp, ddim, temperature);
    int32_t c[12], mask;
    size_t n = infill_canvas(m, c);
    const int32_t banned = 5;
    assert_int_equal(tdiff_sampler_set_banned(s, &banned, 1), TDIFF_OK);
    assert_int_equal(tdiff_model_special_id(m, TDIFF_SPECIAL_MASK, &mask), TDIFF_OK);
    for (size_t i = 0; i < n; i++)
        if (c[i] < 0)
            c[i] = mask;
    size_t n_out = 0;
    tdiff_status st = tdiff_sampler_infill(s, c, n, out, 12, &n_out);
    if (st)
        fail_msg("infill: %s", tdiff_sampler_last_error(s));
    assert_int_equal(n_out, n);
    int64_t fwd, steps;
    assert_int_equal(tdiff_sampler_get_int(s, TDIFF_SAMPLER_STAT_FORWARD_PASSES, &fwd), TDIFF_OK);
    assert_int_equal(tdiff_sampler_get_int(s, TDIFF_SAMPLER_STAT_STEPS, &steps), TDIFF_OK);
    assert_int_equal(fwd, 6);
    assert_int_equal(steps, 6);
    const int32_t *h;
    size_t hs, hn;
    assert_int_equal(tdiff_sampler_history(s, &h, &hs, &hn), TDIFF_OK);
    assert_int_equal(hs, 6);
    assert_int_equal(hn, n);
    for (size_t k = 0; k < hs; k++)
        for (size_t i = 0; i < n; i++) {
            if (c[i] != mask)
                assert_int_equal(h[k * n + i], c[i]); /* fixed positions never change */
            else
                assert_true(h[k * n + i] != mask && h[k * n + i] != banned);
        }
    assert_memory_equal(out, h + (hs - 1) * n, n * sizeof *out); /* final rounding = last step's tokens */
    tdiff_sampler_free(s);
}

static void test_fixture_infill_keeps_context_and_is_deterministic(void **state)
{
    (void)state;
    test_alloc a = {0};
    tdiff_host host;
    test_host_init(&host, &a);
    tdiff_model *m = load_tiny(&host);
    const int modes[4][2] = {{0, 0}, {1, 0}, {0, 1}, {1, 1}}; /* clamp, ddim */
    for (int i = 0; i < 4; i++)
        for (int ti = 0; ti < 2; ti++) {
            double temperature = ti ? 1.0 : 0.0;
            int32_t one[12], two[12], again[12];
            run_infill(m, &host, 1, modes[i][0], modes[i][1], temperature, one);
            run_infill(m, &host, 2, modes[i][0], modes[i][1], temperature, two);
            run_infill(m, &host, 1, modes[i][0], modes[i][1], temperature, again);
            assert_memory_equal(one, two, sizeof one);
            assert_memory_equal(one, again, sizeof one);
        }
    tdiff_model_free(m);
}

/* The setup is linear in the step count: a million steps begin and take a step at
 * once (the schedule used to be rebuilt from scratch for every step: O(T^2), hours). */
static void test_a_million_steps_begin_at_once(void **state)
{
    (void)state;
    tdiff_model *m = load_tiny(NULL);
    tdiff_sampler *s = fixture_sampler(m, NULL, 1, 0, 0, 0.0);
    const int32_t prompt[2] = {116, 468};
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_GEN_LENGTH, 4), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_STEPS, 1 << 20), TDIFF_OK);
    assert_int_equal(tdiff_sampler_begin(s, prompt, 2), TDIFF_OK);
    int done = 1;
    assert_int_equal(tdiff_sampler_step(s, &done), TDIFF_OK);
    assert_int_equal(done, 0);
    assert_int_equal(tdiff_sampler_cancel(s), TDIFF_OK);
    tdiff_sampler_free(s);
    tdiff_model_free(m);
}

static void test_refusals(void **state)
{
    (void)state;
    test_alloc a = {0};
    tdiff_host host;
    test_host_init(&host, &a);
    int32_t out[16];
    size_t n_out;
    /* a callback network has no embedding table */
    tdiff_sampler *cs = callback_sampler(&host);
    assert_int_equal(tdiff_sampler_set_int(cs, TDIFF_SAMPLER_STRATEGY, TDIFF_STRATEGY_EMBEDDING), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_int(cs, TDIFF_SAMPLER_GEN_LENGTH, 4), TDIFF_OK);
    assert_int_equal(tdiff_sampler_generate(cs, NULL, 0, out, 16, &n_out), TDIFF_E_UNSUPPORTED);
    tdiff_sampler_free(cs);
    tdiff_model *m = load_tiny(&host);
    const int32_t prompt[2] = {116, 468};
    tdiff_sampler *s = fixture_sampler(m, &host, 1, 0, 0, 0.0);
    int32_t mask;
    assert_int_equal(tdiff_model_special_id(m, TDIFF_SPECIAL_MASK, &mask), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_GEN_LENGTH, 4), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_CLAMP, 2), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_sampler_set_float(s, TDIFF_SAMPLER_CFG_SCALE, 1.0), TDIFF_OK);
    assert_int_equal(tdiff_sampler_generate(s, prompt, 2, out, 16, &n_out), TDIFF_E_UNSUPPORTED);
    assert_int_equal(tdiff_sampler_set_float(s, TDIFF_SAMPLER_CFG_SCALE, 0.0), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_GAUSS_SCHEDULE, TDIFF_SCHEDULE_LOGLINEAR), TDIFF_OK);
    assert_int_equal(tdiff_sampler_generate(s, prompt, 2, out, 16, &n_out), TDIFF_E_UNSUPPORTED);
    /* every Gaussian schedule runs, prompt kept */
    const int kinds[3] = {TDIFF_SCHEDULE_SQRT, TDIFF_SCHEDULE_COSINE, TDIFF_SCHEDULE_LINEAR};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_GAUSS_SCHEDULE, kinds[i]), TDIFF_OK);
        assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_CUT_AT_EOS, 0), TDIFF_OK);
        tdiff_status st = tdiff_sampler_generate(s, prompt, 2, out, 16, &n_out);
        if (st)
            fail_msg("schedule %d: %s", kinds[i], tdiff_sampler_last_error(s));
        assert_int_equal(n_out, 4); /* the generated tokens only, never a mask */
        for (size_t j = 0; j < n_out; j++)
            assert_true(out[j] >= 0 && out[j] != mask);
    }
    tdiff_sampler_free(s);
    tdiff_model_free(m);
}

static int abort_at_2(void *ud, size_t step, size_t n_steps, const int32_t *tokens, size_t n, const float *conf)
{
    (void)n_steps, (void)tokens, (void)n, (void)conf;
    ++*(int *)ud;
    return step == 2;
}

/* Step by step through begin/step/result gives generate()'s tokens, one step
 * (one forward) per call; an abort from the callback unwinds without leaks
 * and the sampler is reusable. */
static void test_incremental_and_abort(void **state)
{
    (void)state;
    test_alloc a = {0};
    tdiff_host host;
    test_host_init(&host, &a);
    tdiff_model *m = load_tiny(&host);
    const int32_t prompt[2] = {116, 468};
    tdiff_sampler *s = fixture_sampler(m, &host, 1, 1, 0, 1.0);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_GEN_LENGTH, 8), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_CUT_AT_EOS, 0), TDIFF_OK);
    int32_t whole[8], inc[8];
    size_t n_whole = 0, n_inc = 0;
    assert_int_equal(tdiff_sampler_generate(s, prompt, 2, whole, 8, &n_whole), TDIFF_OK);
    assert_int_equal(tdiff_sampler_begin(s, prompt, 2), TDIFF_OK);
    int done = 0, calls = 0;
    while (!done) {
        assert_int_equal(tdiff_sampler_step(s, &done), TDIFF_OK);
        calls++;
        int64_t fwd;
        assert_int_equal(tdiff_sampler_get_int(s, TDIFF_SAMPLER_STAT_FORWARD_PASSES, &fwd), TDIFF_OK);
        assert_int_equal(fwd, calls);
    }
    assert_int_equal(calls, 6);
    assert_int_equal(tdiff_sampler_result(s, inc, 8, &n_inc), TDIFF_OK);
    assert_int_equal(n_inc, n_whole);
    assert_memory_equal(inc, whole, n_whole * sizeof *inc);
    int seen = 0;
    assert_int_equal(tdiff_sampler_set_callback(s, abort_at_2, &seen), TDIFF_OK);
    assert_int_equal(tdiff_sampler_generate(s, prompt, 2, inc, 8, &n_inc), TDIFF_E_ABORTED);
    assert_int_equal(seen, 3);
    assert_int_equal(tdiff_sampler_set_callback(s, NULL, NULL), TDIFF_OK);
    assert_int_equal(tdiff_sampler_generate(s, prompt, 2, inc, 8, &n_inc), TDIFF_OK);
    assert_memory_equal(inc, whole, n_whole * sizeof *inc);
    tdiff_sampler_free(s);
    tdiff_model_free(m);
}

/* Pinned tokens (recorded from this implementation on the default ISA): the
 * same program runs again under TDIFF_FORCE_ISA=scalar (sampler-embedding-scalar),
 * so passing both shows the trajectory is identical on every SIMD variant. */
static void test_pinned_tokens_same_on_every_isa(void **state)
{
    (void)state;
    test_alloc a = {0};
    tdiff_host host;
    test_host_init(&host, &a);
    tdiff_model *m = load_tiny(&host);
    const int32_t prompt[2] = {116, 468};
    const int32_t greedy[8] = {1478, 1946, 1061, 939, 854, 170, 1196, 1603};
    const int32_t ddim_t1[8] = {1062, 446, 1261, 477, 1466, 200, 1888, 1388};
    const struct {
        int clamp, ddim;
        double temperature;
        const int32_t *want;
    } cases[3] = {{0, 0, 0.0, greedy}, {1, 0, 0.0, greedy}, {0, 1, 1.0, ddim_t1}};
    for (int i = 0; i < 3; i++) {
        tdiff_sampler *s = fixture_sampler(m, &host, 1, cases[i].clamp, cases[i].ddim, cases[i].temperature);
        assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_GEN_LENGTH, 8), TDIFF_OK);
        assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_CUT_AT_EOS, 0), TDIFF_OK);
        int32_t out[8];
        size_t n_out = 0;
        assert_int_equal(tdiff_sampler_generate(s, prompt, 2, out, 8, &n_out), TDIFF_OK);
        assert_int_equal(n_out, 8);
        assert_memory_equal(out, cases[i].want, sizeof out);
        tdiff_sampler_free(s);
    }
    tdiff_model_free(m);
}

/* The trained file: the network fed x_t = sqrt(ᾱ) E[w] + sqrt(1 − ᾱ) z (ᾱ of
 * the sqrt schedule, z Philox normals) at its t returns w as the arg-max. A
 * model that had not learned the task, or a sampler/trainer disagreement on
 * the embedding table, the time input or the schedule, fails this. The bounds
 * sit below the held-out accuracies of the model card (1.00 at t = 0.1, 0.94
 * at t = 0.3) by the binomial spread of a 29-token sentence. */
static void test_bundled_model_recovers_text_from_noise(void **state)
{
    (void)state;
    test_alloc a = {0};
    tdiff_host host;
    test_host_init(&host, &a);
    char path[1024];
    tdiff_model *m = test_load_model(test_source_path(path, sizeof path, "models/austen-dlm.gguf"), &host);
    tdiff_tokenizer *tok;
    assert_int_equal(tdiff_tokenizer_create(m, &host, &tok, NULL, 0), TDIFF_OK);
    const char *text = "It is a truth universally acknowledged, that a single man in possession of a good "
                       "fortune, must be in want of a wife.";
    int32_t w[64];
    size_t n = 0;
    assert_int_equal(tdiff_tokenizer_tokenize(tok, text, strlen(text), 0, w, 64, &n), TDIFF_OK);
    tdiff_tokenizer_free(tok);
    assert_true(n >= 20);
    tdiff_denoiser *d;
    assert_int_equal(tdiff_denoiser_create(m, n, 1, &host, &d, NULL, 0), TDIFF_OK);
    const size_t dim = tdiff__denoiser_n_embd(d), V = 4096;
    float *x = test_calloc(n * dim, sizeof *x), *logits = test_calloc(n * V, sizeof *logits);
    tdiff_scheduler *sch;
    assert_int_equal(tdiff_scheduler_create(TDIFF_SCHEDULE_SQRT, &host, &sch, NULL, 0), TDIFF_OK);
    const double ts[2] = {0.1, 0.3}, min_acc[2] = {1.0, 0.75};
    for (int k = 0; k < 2; k++) {
        double ab;
        assert_int_equal(tdiff_scheduler_eval(sch, TDIFF_SQ_ALPHA_BAR, ts[k], &ab), TDIFF_OK);
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(tdiff__denoiser_token_embedding(d, w[i], x + i * dim), TDIFF_OK);
            for (size_t j = 0; j < dim; j++)
                x[i * dim + j] = (float)(sqrt(ab) * x[i * dim + j] +
                                         sqrt(1.0 - ab) * tdiff__rng_normal(7, (uint32_t)k, (uint32_t)i, (uint32_t)j));
        }
        assert_int_equal(tdiff_denoiser_forward_embd(d, NULL, x, NULL, n, (float)ts[k], NULL, 0, logits, n * V),
                         TDIFF_OK);
        size_t right = 0;
        for (size_t i = 0; i < n; i++) {
            size_t best = 0;
            for (size_t v = 1; v < V; v++)
                if (logits[i * V + v] > logits[i * V + best])
                    best = v;
            right += (int32_t)best == w[i];
        }
        if ((double)right < min_acc[k] * (double)n)
            fail_msg("t = %.1f: %zu of %zu tokens recovered (need %.2f)", ts[k], right, n, min_acc[k]);
    }
    /* the sampler around the same sentence: a 5-token hole filled, context kept */
    tdiff_sampler *s = fixture_sampler(m, &host, 1, 0, 0, 1.0);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_STEPS, 40), TDIFF_OK);
    int32_t canvas[64], out[64], mask;
    assert_int_equal(tdiff_model_special_id(m, TDIFF_SPECIAL_MASK, &mask), TDIFF_OK);
    memcpy(canvas, w, n * sizeof *w);
    for (size_t i = 8; i < 13; i++)
        canvas[i] = mask;
    size_t n_out = 0;
    assert_int_equal(tdiff_sampler_infill(s, canvas, n, out, 64, &n_out), TDIFF_OK);
    assert_int_equal(n_out, n);
    for (size_t i = 0; i < n; i++) {
        if (i < 8 || i >= 13)
            assert_int_equal(out[i], w[i]);
        else
            assert_true(out[i] >= 0 && out[i] < (int32_t)V && out[i] != mask);
    }
    tdiff_sampler_free(s);
    tdiff_scheduler_free(sch);
    test_free(x);
    test_free(logits);
    tdiff_denoiser_free(d);
    tdiff_model_free(m);
    assert_int_equal(a.live, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_x0hat_is_argmax_row_or_expectation),
        cmocka_unit_test(test_gauss_steps_match_float64_recomputation),
        cmocka_unit_test(test_fixture_infill_keeps_context_and_is_deterministic),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_a_million_steps_begin_at_once),
        cmocka_unit_test(test_incremental_and_abort),
        cmocka_unit_test(test_pinned_tokens_same_on_every_isa),
        cmocka_unit_test(test_bundled_model_recovers_text_from_noise),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
