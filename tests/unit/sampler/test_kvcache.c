/*
 * test_kvcache.c -- the KV cache behind the evaluation seam
 * (TDIFF_SAMPLER_CACHE, lib/sampler/kvcache.c) and early stop:
 *   - block-causal model (tests/parity/data/mix-f32.gguf: a random-weight tdiff
 *     file written by tools/gguf.py, blocks of 4 from the file, shifted logits,
 *     GQA): every cache mode gives the uncached tokens, token for token, for
 *     every block strategy, with CFG and with soft masking, for sampler blocks
 *     equal to the model's and twice as long, while computing fewer rows;
 *   - full-attention model (llada-tiny fixture): every mode runs with every
 *     block strategy and CFG, reads keys from the cache, and a seeded run gives
 *     the same tokens with 1 and 2 threads; refreshing every step is the
 *     uncached run bit for bit;
 *   - combinations the cache cannot serve are refused with a message;
 *   - early stop ends a generation once everything before the first EOS is
 *     decided, with the output of the full run;
 *   - block diffusion (bd3, bd3_first_hitting) on the converted BD3-LM layout
 *     (tests/parity/data/bd3lm-f32.gguf, blocks of 4 from the file): every mode
 *     gives the uncached tokens and computes about one block per forward; the
 *     block length comes from the file; a block holding EOS ends the run.
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

#define CAP 64

static const int strategies[] = {TDIFF_STRATEGY_LLADA, TDIFF_STRATEGY_DREAM, TDIFF_STRATEGY_THRESHOLD,
                                 TDIFF_STRATEGY_FACTOR};
static const int modes[] = {TDIFF_CACHE_PREFIX, TDIFF_CACHE_DUAL, TDIFF_CACHE_DELAYED};

typedef struct setup {
    int strategy, cache, block, threads, refresh;
    double cfg, temperature;
    tdiff_softmask *sm;
} setup;

typedef struct outcome {
    int32_t out[CAP];
    size_t n_out;
    int64_t forwards, rows, hits;
} outcome;

static void run(tdiff_model *m, const tdiff_host *host, const setup *u, const int32_t *prompt, size_t n_prompt,
                size_t gen, size_t steps, outcome *o)
{
    tdiff_sampler *s;
    assert_int_equal(tdiff_sampler_create(m, host, &s, NULL, 0), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_STRATEGY, u->strategy), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_CACHE, u->cache), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_CACHE_REFRESH, u->refresh), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_GEN_LENGTH, (int64_t)gen), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_STEPS, (int64_t)steps), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_BLOCK_LENGTH, u->block), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_N_THREADS, u->threads ? u->threads : 1), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_SEED, 11), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_CUT_AT_EOS, 0), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_float(s, TDIFF_SAMPLER_TEMPERATURE, u->temperature), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_float(s, TDIFF_SAMPLER_CFG_SCALE, u->cfg), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_float(s, TDIFF_SAMPLER_THRESHOLD, 0.05), TDIFF_OK); /* commits several */
    assert_int_equal(tdiff_sampler_set_softmask(s, u->sm), TDIFF_OK);
    tdiff_status st = tdiff_sampler_generate(s, prompt, n_prompt, o->out, CAP, &o->n_out);
    if (st)
        fail_msg("generate (strategy %d, cache %d, cfg %g): %s", u->strategy, u->cache, u->cfg,
                 tdiff_sampler_last_error(s));
    tdiff_sampler_get_int(s, TDIFF_SAMPLER_STAT_FORWARD_PASSES, &o->forwards);
    tdiff_sampler_get_int(s, TDIFF_SAMPLER_STAT_ROWS_COMPUTED, &o->rows);
    tdiff_sampler_get_int(s, TDIFF_SAMPLER_STAT_CACHE_HITS, &o->hits);
    tdiff_sampler_free(s);
}

static void assert_same_tokens(const outcome *a, const outcome *b, const setup *u)
{
    assert_int_equal(a->n_out, b->n_out);
    for (size_t i = 0; i < a->n_out; i++)
        if (a->out[i] != b->out[i])
            fail_msg("strategy %d cache %d block %d cfg %g softmask %d: position %zu: %d, uncached %d", u->strategy,
                     u->cache, u->block, u->cfg, u->sm != NULL, i, (int)a->out[i], (int)b->out[i]);
}

/* ---- block-causal: exact ---------------------------------------------------- */

static tdiff_model *load_source(const char *rel, tdiff_host *host)
{
    char path[1024];
    return test_load_model(test_source_path(path, sizeof path, rel), host);
}

static const int32_t bc_prompt[7] = {5, 17, 300, 2, 99, 150, 151};

static void check_exact(tdiff_model *m, const tdiff_host *host, setup u, size_t steps)
{
    outcome plain, cached;
    u.cache = TDIFF_CACHE_NONE;
    run(m, host, &u, bc_prompt, 7, 24, steps, &plain);
    for (size_t k = 0; k < sizeof modes / sizeof modes[0]; k++) {
        u.cache = modes[k];
        run(m, host, &u, bc_prompt, 7, 24, steps, &cached);
        assert_same_tokens(&cached, &plain, &u);
        assert_int_equal(cached.forwards, plain.forwards);
        assert_true(cached.rows < plain.rows);
        assert_true(cached.hits > 0);
    }
}

static void test_block_causal_cache_is_exact_for_every_mode_and_block_strategy(void **state)
{
    (void)state;
    test_alloc a = {0};
    tdiff_host host;
    test_host_init(&host, &a);
    tdiff_model *m = load_source("tests/parity/data/mix-f32.gguf", &host);
    for (size_t i = 0; i < sizeof strategies / sizeof strategies[0]; i++)
        for (int block = 4; block <= 8; block += 4) {
            setup u = {.strategy = strategies[i], .block = block};
            check_exact(m, &host, u, 24);
            u.temperature = 0.8; /* seeded sampling: Gumbel draws keyed by (seed, step, position) */
            check_exact(m, &host, u, 24);
        }
    tdiff_model_free(m);
    assert_int_equal(a.live, 0);
}

static void test_block_causal_cache_computes_one_block_per_step(void **state)
{
    (void)state;
    tdiff_model *m = load_source("tests/parity/data/mix-f32.gguf", NULL);
    setup u = {.strategy = TDIFF_STRATEGY_LLADA, .block = 4, .cache = TDIFF_CACHE_DUAL};
    outcome o;
    run(m, NULL, &u, bc_prompt, 7, 24, 24, &o);
    /* 24 steps over a canvas of 31: the first computes what the first block sees
     * (prompt and block: 11), every later one its block (4), the head's row
     * before it (shifted logits: 1) and, at a block's first step, the previous
     * block again (its last commit): at most 11 + 23 * (4 + 1) + 5 * 4 */
    print_message("exact cache: %lld rows in %lld forwards (uncached: %d)\n", (long long)o.rows,
                  (long long)o.forwards, 24 * 31);
    assert_int_equal(o.forwards, 24);
    assert_true(o.rows <= 11 + 23 * 5 + 5 * 4);
    tdiff_model_free(m);
}

static void test_block_causal_cache_is_exact_with_cfg_and_soft_masking(void **state)
{
    (void)state;
    tdiff_model *m = load_source("tests/parity/data/mix-f32.gguf", NULL);
    tdiff_softmask *sm;
    assert_int_equal(tdiff_softmask_create(NULL, 320, NULL, &sm, NULL, 0), TDIFF_OK);
    for (size_t i = 0; i < sizeof strategies / sizeof strategies[0]; i++) {
        setup u = {.strategy = strategies[i], .block = 4, .cfg = 1.5};
        check_exact(m, NULL, u, 24);
        u.cfg = 0;
        u.sm = sm; /* every masked position's input changes every step */
        check_exact(m, NULL, u, 24);
        u.cfg = 0.5;
        check_exact(m, NULL, u, 24);
    }
    tdiff_softmask_free(sm);
    tdiff_model_free(m);
}

/* ---- full attention: approximate ---------------------------------------------- */

static const int32_t fa_prompt[5] = {2046, 116, 468, 258, 301};

static void test_every_mode_runs_with_every_block_strategy_and_cfg(void **state)
{
    (void)state;
    test_alloc a = {0};
    tdiff_host host;
    test_host_init(&host, &a);
    char path[1024];
    tdiff_model *m = test_load_model(test_fixture_path(path, sizeof path, "llada-tiny.gguf"), &host);
    for (size_t i = 0; i < sizeof strategies / sizeof strategies[0]; i++)
        for (double cfg = 0; cfg <= 1.0; cfg += 1.0) {
            outcome plain, cached;
            setup u = {.strategy = strategies[i], .block = 8, .cfg = cfg};
            run(m, &host, &u, fa_prompt, 5, 24, 12, &plain);
            assert_int_equal(plain.hits, 0);
            assert_int_equal(plain.rows, plain.forwards * 29);
            for (size_t k = 0; k < sizeof modes / sizeof modes[0]; k++) {
                u.cache = modes[k];
                run(m, &host, &u, fa_prompt, 5, 24, 12, &cached);
                assert_int_equal(cached.n_out, 24);
                for (size_t j = 0; j < cached.n_out; j++)
                    assert_true(cached.out[j] != 2047); /* everything unmasked */
                assert_true(cached.rows < plain.rows);
                assert_true(cached.hits > 0);
                /* full attention: every forward reads every key, computed or cached */
                assert_int_equal(cached.rows + cached.hits, cached.forwards * 29);
            }
        }
    tdiff_model_free(m);
    assert_int_equal(a.live, 0);
}

static void test_every_mode_gives_the_same_tokens_for_any_thread_count(void **state)
{
    (void)state;
    char path[1024];
    tdiff_model *m = test_load_model(test_fixture_path(path, sizeof path, "llada-tiny.gguf"), NULL);
    for (int mode = TDIFF_CACHE_NONE; mode <= TDIFF_CACHE_DELAYED; mode++)
        for (size_t i = 0; i < sizeof strategies / sizeof strategies[0]; i++) {
            outcome one, two;
            setup u = {.strategy = strategies[i], .block = 8, .cache = mode, .temperature = 0.7, .threads = 1,
                       .cfg = i == 0 ? 0.5 : 0.0};
            run(m, NULL, &u, fa_prompt, 5, 24, 12, &one);
            u.threads = 2;
            run(m, NULL, &u, fa_prompt, 5, 24, 12, &two);
            assert_same_tokens(&two, &one, &u);
            assert_int_equal(two.rows, one.rows);
        }
    tdiff_model_free(m);
}

static void test_refreshing_every_step_is_the_uncached_run(void **state)
{
    (void)state;
    char path[1024];
    tdiff_model *m = test_load_model(test_fixture_path(path, sizeof path, "llada-tiny.gguf"), NULL);
    for (size_t k = 0; k < sizeof modes / sizeof modes[0]; k++) {
        outcome plain, cached;
        setup u = {.strategy = TDIFF_STRATEGY_LLADA, .block = 8, .temperature = 0.7};
        run(m, NULL, &u, fa_prompt, 5, 32, 16, &plain);
        u.cache = modes[k];
        u.refresh = 1;
        run(m, NULL, &u, fa_prompt, 5, 32, 16, &cached);
        assert_same_tokens(&cached, &plain, &u);
        assert_int_equal(cached.hits, 0);
    }
    tdiff_model_free(m);
}

static int syn_net(void *ud, const int32_t *tokens, size_t n, float t, const uint32_t *positions, size_t np,
                   float *logits)
{
    (void)ud, (void)tokens, (void)n, (void)t;
    for (size_t k = 0; k < np; k++)
        for (size_t v = 0; v < 8; v++)
            logits[k * 8 + v] = (float)((positions[k] + v) % 8);
    return 0;
}

static void test_combinations_the_cache_cannot_serve_are_refused(void **state)
{
    (void)state;
    char path[1024];
    tdiff_model *m = test_load_model(test_fixture_path(path, sizeof path, "llada-tiny.gguf"), NULL);
    tdiff_sampler *s;
    assert_int_equal(tdiff_sampler_create(m, NULL, &s, NULL, 0), TDIFF_OK);
    int32_t out[16];
    size_t n;
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_CACHE, TDIFF_CACHE_DELAYED + 1), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_CACHE, TDIFF_CACHE_DUAL), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_GEN_LENGTH, 16), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_STEPS, 8), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_STRATEGY, TDIFF_STRATEGY_MASKGIT), TDIFF_OK);
    assert_int_equal(tdiff_sampler_generate(s, fa_prompt, 5, out, 16, &n), TDIFF_E_UNSUPPORTED);
    assert_non_null(strstr(tdiff_sampler_last_error(s), "KV cache works with the block strategies"));
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_CACHE, TDIFF_CACHE_NONE), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_EARLY_STOP, 1), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_STRATEGY, TDIFF_STRATEGY_MASK_PREDICT), TDIFF_OK);
    assert_int_equal(tdiff_sampler_generate(s, fa_prompt, 5, out, 16, &n), TDIFF_E_UNSUPPORTED);
    assert_non_null(strstr(tdiff_sampler_last_error(s), "early stop"));
    tdiff_sampler_free(s);
    tdiff_model_free(m);

    tdiff_denoise_callbacks cb = {sizeof cb, NULL, syn_net, NULL};
    assert_int_equal(tdiff_sampler_create_with_callback(&cb, 8, 7, 6, NULL, &s, NULL, 0), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_CACHE, TDIFF_CACHE_PREFIX), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_GEN_LENGTH, 16), TDIFF_OK);
    const int32_t p[2] = {1, 2};
    assert_int_equal(tdiff_sampler_generate(s, p, 2, out, 16, &n), TDIFF_E_UNSUPPORTED);
    assert_non_null(strstr(tdiff_sampler_last_error(s), "callback network"));
    tdiff_sampler_free(s);
}

/* ---- early stop ------------------------------------------------------------------- */

/* V = 8, mask 7, EOS 6: positions < 10 predict (p % 5) with confidence rising
 * to the left, positions >= 10 predict EOS very confidently. */
static int eos_net(void *ud, const int32_t *tokens, size_t n, float t, const uint32_t *positions, size_t np,
                   float *logits)
{
    (void)tokens, (void)n, (void)t;
    ++*(long *)ud;
    for (size_t k = 0; k < np; k++) {
        uint32_t p = positions[k];
        for (size_t v = 0; v < 8; v++)
            logits[k * 8 + v] = 0.0f;
        if (p >= 10)
            logits[k * 8 + 6] = 20.0f;
        else
            logits[k * 8 + p % 5] = 10.0f - 0.5f * (float)p;
    }
    return 0;
}

static void early_run(int strategy, int early, int cut, int32_t *out, size_t *n_out, long *calls)
{
    tdiff_denoise_callbacks cb = {sizeof cb, calls, eos_net, NULL};
    tdiff_sampler *s;
    assert_int_equal(tdiff_sampler_create_with_callback(&cb, 8, 7, 6, NULL, &s, NULL, 0), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_STRATEGY, strategy), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_GEN_LENGTH, 30), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_STEPS, 30), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_BLOCK_LENGTH, 10), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_EARLY_STOP, early), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_CUT_AT_EOS, cut), TDIFF_OK);
    const int32_t p[2] = {1, 2};
    *calls = 0;
    assert_int_equal(tdiff_sampler_generate(s, p, 2, out, 30, n_out), TDIFF_OK);
    tdiff_sampler_free(s);
}

static void test_early_stop_keeps_the_output_and_saves_the_rest(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof strategies / sizeof strategies[0]; i++) {
        int32_t full[30], early[30];
        size_t n_full, n_early;
        long c_full, c_early;
        early_run(strategies[i], 0, 1, full, &n_full, &c_full);
        early_run(strategies[i], 1, 1, early, &n_early, &c_early);
        /* the first block (positions 2..11) holds the first EOS at 10: the
         * blocks after it are never run */
        assert_int_equal(n_early, n_full);
        assert_int_equal(n_full, 8);
        assert_memory_equal(early, full, n_full * sizeof *full);
        print_message("strategy %d: %ld forwards with early stop, %ld without\n", strategies[i], c_early, c_full);
        assert_true(c_early < c_full);
        /* without the cut the tail is EOS */
        early_run(strategies[i], 1, 0, early, &n_early, &c_early);
        assert_int_equal(n_early, 30);
        for (size_t j = 8; j < 30; j++)
            assert_int_equal(early[j], 6);
    }
}

/* ---- block diffusion (bd3) ------------------------------------------------------ */

static const int bd3_strategies[] = {TDIFF_STRATEGY_BD3, TDIFF_STRATEGY_BD3_FIRST_HITTING};
static const int32_t bd3_prompt[4] = {17, 300, 2, 99};

static void test_bd3_cache_is_exact_and_computes_about_one_block_per_forward(void **state)
{
    (void)state;
    test_alloc a = {0};
    tdiff_host host;
    test_host_init(&host, &a);
    tdiff_model *m = load_source("tests/parity/data/bd3lm-f32.gguf", &host);
    for (size_t i = 0; i < 2; i++) {
        outcome plain, cached;
        setup u = {.strategy = bd3_strategies[i]};
        run(m, &host, &u, bd3_prompt, 4, 24, 4, &plain);
        assert_int_equal(plain.rows, plain.forwards * 28);
        for (size_t k = 0; k < sizeof modes / sizeof modes[0]; k++) {
            u.cache = modes[k];
            run(m, &host, &u, bd3_prompt, 4, 24, 4, &cached);
            assert_same_tokens(&cached, &plain, &u);
            assert_int_equal(cached.forwards, plain.forwards);
            /* the first forward computes the prompt and the first block (8 rows); every later
             * one its block (4) and, at a block's first step, the previous block's last
             * commits (<= 4): 6 blocks of 4 */
            print_message("%s, cache %d: %lld rows in %lld forwards (uncached %lld)\n",
                          tdiff_strategy_name(u.strategy), u.cache, (long long)cached.rows,
                          (long long)cached.forwards, (long long)plain.rows);
            assert_true(cached.rows <= 8 + (cached.forwards - 1) * 4 + 5 * 4);
            assert_true(cached.hits > 0);
        }
    }
    tdiff_model_free(m);
    assert_int_equal(a.live, 0);
}

static void test_bd3_takes_the_block_length_from_the_file(void **state)
{
    (void)state;
    tdiff_model *m = load_source("tests/parity/data/bd3lm-f32.gguf", NULL);
    outcome from_file, four;
    setup u = {.strategy = TDIFF_STRATEGY_BD3, .block = 0};
    run(m, NULL, &u, bd3_prompt, 4, 12, 4, &from_file);
    u.block = 4;
    run(m, NULL, &u, bd3_prompt, 4, 12, 4, &four);
    assert_same_tokens(&four, &from_file, &u);
    /* 3 blocks of at most 4 steps: the plan is per block, not STEPS in all */
    assert_true(from_file.forwards > 4 && from_file.forwards <= 12);
    tdiff_sampler *s;
    assert_int_equal(tdiff_sampler_create(m, NULL, &s, NULL, 0), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_STRATEGY, TDIFF_STRATEGY_BD3), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_GEN_LENGTH, 12), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_BLOCK_LENGTH, 8), TDIFF_OK);
    int32_t out[CAP];
    size_t n_out = 0;
    assert_int_equal(tdiff_sampler_generate(s, bd3_prompt, 4, out, CAP, &n_out), TDIFF_E_INVALID_ARGUMENT);
    assert_non_null(strstr(tdiff_sampler_last_error(s), "blocks of 4"));
    tdiff_sampler_free(s);
    tdiff_model_free(m);
}

static void test_bd3_stops_after_the_block_that_holds_eos(void **state)
{
    (void)state;
    tdiff_model *m = load_source("tests/parity/data/bd3lm-f32.gguf", NULL);
    size_t V = 0;
    assert_int_equal(tdiff_model_vocab_size(m, &V), TDIFF_OK);
    const int32_t eos = (int32_t)V - 2; /* GPT-2's <|endoftext|>, the mask after it */
    int32_t banned[CAP * 8];
    size_t n_banned = 0;
    for (int32_t v = 0; v < eos; v++) /* two tokens left: 7 and EOS */
        if (v != 7)
            banned[n_banned++] = v;
    for (size_t i = 0; i < 2; i++)
        for (int cut = 0; cut <= 1; cut++) {
            tdiff_sampler *s;
            assert_int_equal(tdiff_sampler_create(m, NULL, &s, NULL, 0), TDIFF_OK);
            assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_STRATEGY, bd3_strategies[i]), TDIFF_OK);
            assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_GEN_LENGTH, 40), TDIFF_OK);
            assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_STEPS, 4), TDIFF_OK);
            assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_CUT_AT_EOS, cut), TDIFF_OK);
            assert_int_equal(tdiff_sampler_set_banned(s, banned, n_banned), TDIFF_OK);
            int32_t out[CAP];
            size_t n_out = 0;
            assert_int_equal(tdiff_sampler_generate(s, bd3_prompt, 4, out, CAP, &n_out), TDIFF_OK);
            int64_t forwards = 0;
            tdiff_sampler_get_int(s, TDIFF_SAMPLER_STAT_FORWARD_PASSES, &forwards);
            size_t first = 0;
            while (first < 40 && out[first] != eos)
                first++;
            print_message("%s cut %d: first EOS at %zu, %zu tokens out, %lld forwards (10 blocks)\n",
                          tdiff_strategy_name(bd3_strategies[i]), cut, first, n_out, (long long)forwards);
            assert_true(first < 36); /* drawn before the last block */
            size_t block_end = (first / 4 + 1) * 4;
            for (size_t j = 0; j < block_end && j < n_out; j++) /* the block's tokens are its own draws */
                assert_true(out[j] == 7 || out[j] == eos);
            if (cut) {
                assert_int_equal(n_out, first);
            } else {
                assert_int_equal(n_out, 40);
                for (size_t j = block_end; j < 40; j++)
                    assert_int_equal(out[j], eos);
            }
            /* no forward ran after the block that holds EOS */
            assert_true((size_t)forwards <= block_end);
            tdiff_sampler_free(s);
        }
    tdiff_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_block_causal_cache_is_exact_for_every_mode_and_block_strategy),
        cmocka_unit_test(test_block_causal_cache_computes_one_block_per_step),
        cmocka_unit_test(test_block_causal_cache_is_exact_with_cfg_and_soft_masking),
        cmocka_unit_test(test_every_mode_runs_with_every_block_strategy_and_cfg),
        cmocka_unit_test(test_every_mode_gives_the_same_tokens_for_any_thread_count),
        cmocka_unit_test(test_refreshing_every_step_is_the_uncached_run),
        cmocka_unit_test(test_combinations_the_cache_cannot_serve_are_refused),
        cmocka_unit_test(test_early_stop_keeps_the_output_and_saves_the_rest),
        cmocka_unit_test(test_bd3_cache_is_exact_and_computes_about_one_block_per_forward),
        cmocka_unit_test(test_bd3_takes_the_block_length_from_the_file),
        cmocka_unit_test(test_bd3_stops_after_the_block_that_holds_eos),
    };
    const char *only = getenv("TDIFF_TEST_FILTER"); /* a cmocka pattern: run the matching tests only */
    if (only && *only)
        cmocka_set_test_filter(only);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
