/*
 * test_softmask_sampler.c -- soft-masked inputs inside the samplers
 * (tdiff_sampler_set_softmask), on the llama.cpp-written llada fixture and the
 * bundled Austen model:
 *   - with s = 0 the tokens are bit-identical to plain masking, for every
 *     strategy that accepts a soft mask, with and without CFG;
 *   - an open gate changes what the network sees (the tokens of the trained
 *     model differ from plain masking) and still unmasks everything;
 *   - strategies that cannot feed logits back, and callback samplers, refuse.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "libtextdiff.h"
#include "support.h"

/* Generates with strategy/cfg, optionally through a soft-mask handle; returns n_out. */
static size_t run(tdiff_model *m, tdiff_host *host, tdiff_softmask *sm, int strategy, double cfg, int block,
                  const int32_t *prompt, size_t n_prompt, int32_t *out, size_t cap)
{
    tdiff_sampler *s;
    assert_int_equal(tdiff_sampler_create(m, host, &s, NULL, 0), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_STRATEGY, strategy), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_GEN_LENGTH, 16), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_STEPS, 8), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_BLOCK_LENGTH, block), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_SEED, 7), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_CUT_AT_EOS, 0), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_float(s, TDIFF_SAMPLER_CFG_SCALE, cfg), TDIFF_OK);
    if (strategy == TDIFF_STRATEGY_MDLM)
        assert_int_equal(tdiff_sampler_set_float(s, TDIFF_SAMPLER_TEMPERATURE, 1.0), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_softmask(s, sm), TDIFF_OK);
    size_t n_out = 0;
    tdiff_status st = tdiff_sampler_generate(s, prompt, n_prompt, out, cap, &n_out);
    if (st)
        fail_msg("generate (strategy %d, cfg %g, softmask %p): %s", strategy, cfg, (void *)sm,
                 tdiff_sampler_last_error(s));
    tdiff_sampler_free(s);
    return n_out;
}

static void test_closed_gate_gives_plain_masking_tokens(void **state)
{
    (void)state;
    test_alloc a = {0};
    tdiff_host host;
    test_host_init(&host, &a);
    char path[1024];
    tdiff_model *m = test_load_model(test_fixture_path(path, sizeof path, "llada-tiny.gguf"), &host);
    tdiff_softmask *sm;
    assert_int_equal(tdiff_softmask_create(m, 2048, &host, &sm, NULL, 0), TDIFF_OK);
    assert_int_equal(tdiff_softmask_set_float(sm, TDIFF_SOFTMASK_RAW_S, -INFINITY), TDIFF_OK);
    const int32_t prompt[5] = {2046, 116, 468, 258, 301};
    const int strategies[] = {TDIFF_STRATEGY_LLADA, TDIFF_STRATEGY_DREAM, TDIFF_STRATEGY_THRESHOLD,
                              TDIFF_STRATEGY_FACTOR, TDIFF_STRATEGY_MDLM};
    for (size_t i = 0; i < sizeof strategies / sizeof strategies[0]; i++) {
        for (int c = 0; c < 2; c++) {
            int32_t plain[32], soft[32];
            double cfg = c ? 1.5 : 0.0;
            int block = strategies[i] == TDIFF_STRATEGY_LLADA ? 8 : 0;
            size_t np = run(m, &host, NULL, strategies[i], cfg, block, prompt, 5, plain, 32);
            size_t ns = run(m, &host, sm, strategies[i], cfg, block, prompt, 5, soft, 32);
            assert_int_equal(np, ns);
            assert_memory_equal(plain, soft, np * sizeof plain[0]);
        }
    }
    tdiff_softmask_free(sm);
    tdiff_model_free(m);
    assert_int_equal(a.live, 0);
}

static void test_open_gate_changes_trained_model_output(void **state)
{
    (void)state;
    test_alloc a = {0};
    tdiff_host host;
    test_host_init(&host, &a);
    char path[1024];
    tdiff_model *m = test_load_model(test_source_path(path, sizeof path, "models/austen-llada.gguf"), &host);
    size_t n_vocab = 0;
    assert_int_equal(tdiff_model_vocab_size(m, &n_vocab), TDIFF_OK);
    assert_int_equal(n_vocab, 4096);
    tdiff_softmask *sm;
    assert_int_equal(tdiff_softmask_create(m, n_vocab, &host, &sm, NULL, 0), TDIFF_OK);
    /* s = 0.9, c = -softplus(20) = -20: lambda ~ s at any entropy of this
     * model (its nu stays far above -20), so the feedback is strong. */
    assert_int_equal(tdiff_softmask_set_float(sm, TDIFF_SOFTMASK_RAW_S, log(0.9 / 0.1)), TDIFF_OK);
    assert_int_equal(tdiff_softmask_set_float(sm, TDIFF_SOFTMASK_RAW_C, 20.0), TDIFF_OK);
    /* "It is a truth" in the model's BPE (textdiff tokenize models/austen-llada.gguf) */
    int32_t prompt[16];
    size_t n_prompt = 0;
    tdiff_tokenizer *tok;
    assert_int_equal(tdiff_tokenizer_create(m, &host, &tok, NULL, 0), TDIFF_OK);
    assert_int_equal(tdiff_tokenizer_tokenize(tok, "It is a truth", 13, 0, prompt, 16, &n_prompt), TDIFF_OK);
    tdiff_tokenizer_free(tok);
    int32_t plain[32], soft[32];
    size_t np = run(m, &host, NULL, TDIFF_STRATEGY_LLADA, 0.0, 0, prompt, n_prompt, plain, 32);
    size_t ns = run(m, &host, sm, TDIFF_STRATEGY_LLADA, 0.0, 0, prompt, n_prompt, soft, 32);
    assert_int_equal(np, 16);
    assert_int_equal(ns, 16);
    size_t differ = 0;
    for (size_t i = 0; i < 16; i++) {
        assert_true(soft[i] != 4095); /* nothing left masked */
        differ += plain[i] != soft[i];
    }
    assert_true(differ > 0);
    tdiff_softmask_free(sm);
    tdiff_model_free(m);
    assert_int_equal(a.live, 0);
}

static int fake_logits(void *ud, const int32_t *tokens, size_t n, float t, const uint32_t *positions,
                       size_t n_positions, float *logits)
{
    (void)ud;
    (void)tokens;
    (void)n;
    (void)t;
    (void)positions;
    memset(logits, 0, n_positions * 8 * sizeof *logits);
    return 0;
}

static void test_soft_mask_refused_where_it_cannot_work(void **state)
{
    (void)state;
    char path[1024];
    tdiff_model *m = test_load_model(test_fixture_path(path, sizeof path, "llada-tiny.gguf"), NULL);
    tdiff_softmask *sm;
    assert_int_equal(tdiff_softmask_create(m, 2048, NULL, &sm, NULL, 0), TDIFF_OK);
    tdiff_sampler *s;
    assert_int_equal(tdiff_sampler_create(m, NULL, &s, NULL, 0), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_softmask(s, sm), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_STRATEGY, TDIFF_STRATEGY_MASKGIT), TDIFF_OK);
    const int32_t prompt[2] = {116, 468};
    int32_t out[128];
    size_t n_out;
    assert_int_equal(tdiff_sampler_generate(s, prompt, 2, out, 128, &n_out), TDIFF_E_UNSUPPORTED);
    assert_non_null(strstr(tdiff_sampler_last_error(s), "soft masking"));
    /* detaching makes the same call work */
    assert_int_equal(tdiff_sampler_set_softmask(s, NULL), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_GEN_LENGTH, 8), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_STEPS, 4), TDIFF_OK);
    assert_int_equal(tdiff_sampler_generate(s, prompt, 2, out, 128, &n_out), TDIFF_OK);
    tdiff_sampler_free(s);
    assert_int_equal(tdiff_sampler_set_softmask(NULL, sm), TDIFF_E_INVALID_ARGUMENT);

    tdiff_denoise_callbacks cb;
    memset(&cb, 0, sizeof cb);
    cb.struct_size = sizeof cb;
    cb.logits = fake_logits;
    assert_int_equal(tdiff_sampler_create_with_callback(&cb, 8, 7, 6, NULL, &s, NULL, 0), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_softmask(s, sm), TDIFF_E_UNSUPPORTED);
    tdiff_sampler_free(s);
    tdiff_softmask_free(sm);
    tdiff_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_closed_gate_gives_plain_masking_tokens),
        cmocka_unit_test(test_open_gate_changes_trained_model_output),
        cmocka_unit_test(test_soft_mask_refused_where_it_cannot_work),
    };
    return cmocka_run_group_tests_name("sampler_softmask", tests, NULL, NULL);
}
