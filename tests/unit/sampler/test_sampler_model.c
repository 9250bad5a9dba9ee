/*
 * test_sampler_model.c -- the sampler over the real model loader and denoiser,
 * on the fixtures written by llama.cpp's own tools (tests/fixtures):
 *   - compat llamacpp reproduces llama-diffusion-cli's recorded output for
 *     llada-tiny.gguf token for token (fixtures/README.md);
 *   - a seeded stochastic run gives the same tokens with 1 and 2 threads and on
 *     every SIMD variant this machine runs;
 *   - dream-tiny.gguf generates (shifted logits handled by the denoiser);
 *   - four threads share one model, each stepping its own sampler, and a
 *     sampler moves between threads mid-generation: the tokens of one thread;
 *   - a canvas longer than the context names the context length.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "libtextdiff.h"
#include "support.h"

static tdiff_model *load(const char *name, tdiff_host *host)
{
    char path[1024];
    return test_load_model(test_fixture_path(path, sizeof path, name), host);
}

static void test_llamacpp_compat_reproduces_fixture_output(void **state)
{
    (void)state;
    test_alloc a = {0};
    tdiff_host host;
    test_host_init(&host, &a);
    tdiff_model *m = load("llada-tiny.gguf", &host);
    tdiff_sampler *s;
    assert_int_equal(tdiff_sampler_create(m, &host, &s, NULL, 0), TDIFF_OK);
    /* llama-diffusion-cli -ub 64 --temp 0 --top-k 1 --diffusion-block-length 16 --diffusion-steps 16 */
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_COMPAT, TDIFF_COMPAT_LLAMACPP), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_GEN_LENGTH, 64), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_BLOCK_LENGTH, 16), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_STEPS, 16), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_TOP_K, 1), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_float(s, TDIFF_SAMPLER_TEMPERATURE, 0.0), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_CUT_AT_EOS, 0), TDIFF_OK);
    const int32_t prompt[13] = {2046, 116, 468, 258, 301, 274, 301, 270, 110, 275, 468, 268, 301};
    const int32_t expect[51] = {
        1991, 1991, 1991, 1991, 1991, 1991, 1991, 1991, 1438, 1438, 1438, 1438, 130,  130,  130,  130,  130,
        130,  130,  130,  130,  130,  130,  130,  130,  130,  130,  130,  130,  130,  130,  130,  130,  130,
        130,  130,  1509, 1509, 1509, 1509, 1509, 1509, 1509, 1509, 1509, 1509, 1509, 1509, 1509, 1509, 1509};
    int32_t out[64];
    size_t n_out;
    tdiff_status st = tdiff_sampler_generate(s, prompt, 13, out, 64, &n_out);
    if (st)
        fail_msg("generate: %s", tdiff_sampler_last_error(s));
    assert_int_equal(n_out, 51);
    for (size_t i = 0; i < 51; i++)
        if (out[i] != expect[i])
            fail_msg("position %zu: %d, llama.cpp %d", 13 + i, (int)out[i], (int)expect[i]);
    tdiff_sampler_free(s);
    tdiff_model_free(m);
    assert_int_equal(a.live, 0);
}

/* A seeded LLaDA run at temperature 1 with the given thread count and ISA;
 * false when that ISA cannot be used here (CPU, build, or TDIFF_FORCE_ISA). */
static bool seeded_run(int threads, int isa, int32_t *out, size_t *n_out)
{
    tdiff_host host = {0};
    host.struct_size = sizeof host;
    host.isa = isa;
    char path[1024], err[256];
    tdiff_model *m = NULL;
    tdiff_status ls = tdiff_model_load_file(test_fixture_path(path, sizeof path, "llada-tiny.gguf"), &host, &m, err,
                                            sizeof err);
    if (ls == TDIFF_E_UNSUPPORTED)
        return false;
    if (ls)
        fail_msg("cannot load %s: %s", path, err);
    tdiff_sampler *s;
    assert_int_equal(tdiff_sampler_create(m, &host, &s, NULL, 0), TDIFF_OK);
    tdiff_sampler_set_int(s, TDIFF_SAMPLER_N_THREADS, threads);
    tdiff_sampler_set_int(s, TDIFF_SAMPLER_GEN_LENGTH, 32);
    tdiff_sampler_set_int(s, TDIFF_SAMPLER_BLOCK_LENGTH, 16);
    tdiff_sampler_set_int(s, TDIFF_SAMPLER_STEPS, 16);
    tdiff_sampler_set_int(s, TDIFF_SAMPLER_SEED, 1234);
    tdiff_sampler_set_int(s, TDIFF_SAMPLER_CUT_AT_EOS, 0);
    tdiff_sampler_set_float(s, TDIFF_SAMPLER_TEMPERATURE, 1.0);
    const int32_t prompt[4] = {2046, 116, 468, 258};
    tdiff_status st = tdiff_sampler_generate(s, prompt, 4, out, 32, n_out);
    if (st)
        fail_msg("generate: %s", tdiff_sampler_last_error(s));
    tdiff_sampler_free(s);
    tdiff_model_free(m);
    return true;
}

static void test_seeded_run_same_tokens_for_any_threads_and_isa(void **state)
{
    (void)state;
    int32_t ref[32], out[32];
    size_t n_ref, n_out;
    assert_true(seeded_run(1, TDIFF_ISA_SCALAR, ref, &n_ref));
    assert_int_equal(n_ref, 32);
    int compared = 0;
    const int isas[] = {TDIFF_ISA_SCALAR, TDIFF_ISA_AVX2, TDIFF_ISA_AVX512, TDIFF_ISA_NEON};
    for (size_t i = 0; i < sizeof isas / sizeof isas[0]; i++) {
        if (!tdiff_isa_supported(isas[i]))
            continue;
        for (int threads = 1; threads <= 2; threads++) {
            if (!seeded_run(threads, isas[i], out, &n_out))
                continue;
            compared++;
            assert_int_equal(n_out, n_ref);
            if (memcmp(out, ref, n_ref * sizeof *out))
                fail_msg("isa %s, %d threads: tokens differ from scalar/1 thread", tdiff_isa_to_string(isas[i]),
                         threads);
        }
    }
    assert_true(compared >= 2); /* at least scalar with 1 and 2 threads */
}

static void test_dream_fixture_generates_with_every_remasking(void **state)
{
    (void)state;
    tdiff_model *m = load("dream-tiny.gguf", NULL);
    const int remasks[] = {TDIFF_REMASK_LOW_CONFIDENCE, TDIFF_REMASK_TOPK_MARGIN, TDIFF_REMASK_ENTROPY,
                           TDIFF_REMASK_ORIGIN};
    for (size_t i = 0; i < 4; i++) {
        tdiff_sampler *s;
        assert_int_equal(tdiff_sampler_create(m, NULL, &s, NULL, 0), TDIFF_OK);
        tdiff_sampler_set_int(s, TDIFF_SAMPLER_STRATEGY, TDIFF_STRATEGY_DREAM);
        tdiff_sampler_set_int(s, TDIFF_SAMPLER_REMASKING, remasks[i]);
        tdiff_sampler_set_int(s, TDIFF_SAMPLER_GEN_LENGTH, 16);
        tdiff_sampler_set_int(s, TDIFF_SAMPLER_STEPS, 8);
        tdiff_sampler_set_int(s, TDIFF_SAMPLER_CUT_AT_EOS, 0);
        tdiff_sampler_set_float(s, TDIFF_SAMPLER_TEMPERATURE, 0.5);
        const int32_t prompt[3] = {2046, 116, 468};
        int32_t out[16];
        size_t n_out;
        tdiff_status st = tdiff_sampler_generate(s, prompt, 3, out, 16, &n_out);
        if (st)
            fail_msg("dream %s: %s", tdiff_remasking_name(remasks[i]), tdiff_sampler_last_error(s));
        assert_int_equal(n_out, 16);
        for (size_t j = 0; j < 16; j++)
            assert_int_not_equal(out[j], 2047); /* nothing left masked */
        tdiff_sampler_free(s);
    }
    tdiff_model_free(m);
}

/* One seeded llada run with a time budget per call (the game loop's way). */
typedef struct worker {
    tdiff_model *model;
    int64_t seed;
    int32_t out[24];
    size_t n;
    tdiff_status st;
} worker;

static tdiff_sampler *seeded_sampler(tdiff_model *m, int64_t seed)
{
    tdiff_sampler *s;
    char err[256];
    if (tdiff_sampler_create(m, NULL, &s, err, sizeof err))
        return NULL;
    tdiff_sampler_set_int(s, TDIFF_SAMPLER_GEN_LENGTH, 24);
    tdiff_sampler_set_int(s, TDIFF_SAMPLER_STEPS, 12);
    tdiff_sampler_set_int(s, TDIFF_SAMPLER_BLOCK_LENGTH, 8);
    tdiff_sampler_set_int(s, TDIFF_SAMPLER_SEED, seed);
    tdiff_sampler_set_int(s, TDIFF_SAMPLER_CUT_AT_EOS, 0);
    tdiff_sampler_set_float(s, TDIFF_SAMPLER_TEMPERATURE, 0.8);
    return s;
}

static const int32_t shared_prompt[3] = {2046, 116, 468};

static void *run_worker(void *arg)
{
    worker *w = arg;
    tdiff_sampler *s = seeded_sampler(w->model, w->seed);
    w->st = TDIFF_E_INTERNAL;
    if (!s)
        return NULL;
    int done = 0;
    tdiff_status st = tdiff_sampler_begin(s, shared_prompt, 3);
    while (!st && !done)
        st = tdiff_sampler_step_for(s, 200, NULL, &done);
    if (!st)
        st = tdiff_sampler_result(s, w->out, 24, &w->n);
    w->st = st;
    tdiff_sampler_free(s);
    return NULL;
}

static void test_four_threads_share_one_model(void **state)
{
    (void)state;
    tdiff_model *m = load("llada-tiny.gguf", NULL);
    worker ref[4], w[4];
    for (int i = 0; i < 4; i++) {
        ref[i] = (worker){.model = m, .seed = 10 + i};
        run_worker(&ref[i]);
        assert_int_equal(ref[i].st, TDIFF_OK);
        w[i] = (worker){.model = m, .seed = 10 + i};
    }
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, run_worker, &w[i]), 0);
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].st, TDIFF_OK);
        assert_int_equal(w[i].n, ref[i].n);
        assert_memory_equal(w[i].out, ref[i].out, ref[i].n * sizeof *w[i].out);
    }
    tdiff_model_free(m);
}

/* A generation begun on one thread, stepped on another, finished on a third. */
typedef struct handoff {
    tdiff_sampler *s;
    tdiff_status st;
    int done;
} handoff;

static void *step_some(void *arg)
{
    handoff *h = arg;
    for (int i = 0; i < 4 && !h->st && !h->done; i++)
        h->st = tdiff_sampler_step(h->s, &h->done);
    return NULL;
}

static void test_a_generation_moves_between_threads(void **state)
{
    (void)state;
    tdiff_model *m = load("llada-tiny.gguf", NULL);
    worker ref = {.model = m, .seed = 77};
    run_worker(&ref);
    tdiff_sampler *s = seeded_sampler(m, 77);
    assert_non_null(s);
    assert_int_equal(tdiff_sampler_begin(s, shared_prompt, 3), TDIFF_OK);
    handoff h = {s, TDIFF_OK, 0};
    while (!h.st && !h.done) {
        pthread_t th;
        assert_int_equal(pthread_create(&th, NULL, step_some, &h), 0);
        pthread_join(th, NULL); /* the host orders the calls */
    }
    assert_int_equal(h.st, TDIFF_OK);
    int32_t out[24];
    size_t n;
    assert_int_equal(tdiff_sampler_result(s, out, 24, &n), TDIFF_OK);
    assert_int_equal(n, ref.n);
    assert_memory_equal(out, ref.out, n * sizeof *out);
    tdiff_sampler_free(s);
    tdiff_model_free(m);
}

static void test_too_long_a_canvas_names_the_context_length(void **state)
{
    (void)state;
    tdiff_model *m = load("llada-tiny.gguf", NULL);
    tdiff_sampler *s = seeded_sampler(m, 1);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_GEN_LENGTH, 4094), TDIFF_OK);
    int32_t out[8];
    size_t n;
    /* refused before the output capacity is even looked at */
    assert_int_equal(tdiff_sampler_generate(s, shared_prompt, 3, out, 8, &n), TDIFF_E_INVALID_ARGUMENT);
    assert_string_equal(tdiff_sampler_last_error(s), "prompt 3 + 4094 new tokens exceed the model's context length 4096");
    assert_int_equal(tdiff_sampler_begin(s, shared_prompt, 3), TDIFF_E_INVALID_ARGUMENT);
    assert_string_equal(tdiff_sampler_last_error(s), "prompt 3 + 4094 new tokens exceed the model's context length 4096");
    int32_t canvas[4100];
    for (size_t i = 0; i < 4100; i++)
        canvas[i] = i % 2 ? 2047 : 116;
    assert_int_equal(tdiff_sampler_begin_infill(s, canvas, 4100), TDIFF_E_INVALID_ARGUMENT);
    assert_non_null(strstr(tdiff_sampler_last_error(s), "context length 4096"));
    tdiff_sampler_free(s);
    tdiff_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_llamacpp_compat_reproduces_fixture_output),
        cmocka_unit_test(test_seeded_run_same_tokens_for_any_threads_and_isa),
        cmocka_unit_test(test_dream_fixture_generates_with_every_remasking),
        cmocka_unit_test(test_four_threads_share_one_model),
        cmocka_unit_test(test_a_generation_moves_between_threads),
        cmocka_unit_test(test_too_long_a_canvas_names_the_context_length),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
