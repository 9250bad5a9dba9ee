/*
 * test_shared.c -- what the header promises about threads, as the thread
 * sanitizer stage of CI checks it (scripts/test-all.sh, stage "tsan"; in other
 * builds these are ordinary tests):
 *   - one model and one tokenizer serve any number of threads at once;
 *   - denoisers with their own thread pools run side by side on one model and
 *     give the logits of a one-thread denoiser, bit for bit;
 *   - a sampler whose built-in denoiser has a pool moves between threads in
 *     mid-generation (begun on one, stepped on others, finished on a third)
 *     and gives the tokens of a generation on one thread.
 * Model: tests/fixtures/llada-tiny.gguf.
 */
#include <pthread.h>
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

#define N_THREADS 4
#define N_TOK 24

static tdiff_model *fixture(void)
{
    char path[1024];
    return test_load_model(test_fixture_path(path, sizeof path, "llada-tiny.gguf"), NULL);
}

static const char *const texts[N_THREADS] = {
    "It is a truth universally acknowledged", "caf\xc3\xa9 au lait, 12345 <|endoftext|>",
    "  spaces\tand\nnewlines  ", "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e and emoji \xf0\x9f\x98\x80"};

typedef struct tok_job {
    const tdiff_model *model;
    const tdiff_tokenizer *tok;
    const char *text;
    int32_t ids[256];
    size_t n;
    char back[512];
    size_t back_len;
    tdiff_status st;
} tok_job;

/* Tokenizes, detokenizes and streams one text; reads the model's metadata. */
static void *tok_work(void *arg)
{
    tok_job *j = arg;
    for (int round = 0; round < 20; round++) {
        j->st = tdiff_tokenizer_tokenize(j->tok, j->text, strlen(j->text), TDIFF_TOKENIZE_ADD_SPECIAL, j->ids, 256,
                                         &j->n);
        if (j->st == TDIFF_OK)
            j->st = tdiff_tokenizer_detokenize(j->tok, j->ids, j->n, 0, j->back, sizeof j->back, &j->back_len);
        tdiff_token_stream ts;
        tdiff_token_stream_init(&ts);
        char piece[64];
        size_t got;
        for (size_t i = 0; j->st == TDIFF_OK && i < j->n; i++)
            j->st = tdiff_tokenizer_stream_piece(j->tok, &ts, j->ids[i], 0, piece, sizeof piece, &got);
        int64_t v;
        char name[128];
        size_t need;
        if (j->st == TDIFF_OK && (tdiff_model_get_int(j->model, TDIFF_MODEL_N_EMBD, &v) != TDIFF_OK ||
                                  tdiff_model_meta_get_str(j->model, "general.name", name, sizeof name, &need)))
            j->st = TDIFF_E_INTERNAL;
        if (j->st != TDIFF_OK)
            break;
    }
    return NULL;
}

static void test_threads_share_one_model_and_tokenizer(void **state)
{
    (void)state;
    tdiff_model *m = fixture();
    tdiff_tokenizer *tok = NULL;
    char err[256];
    assert_int_equal(tdiff_tokenizer_create(m, NULL, &tok, err, sizeof err), TDIFF_OK);
    tok_job ref[N_THREADS], job[N_THREADS];
    pthread_t th[N_THREADS];
    for (int i = 0; i < N_THREADS; i++) {
        ref[i] = (tok_job){.model = m, .tok = tok, .text = texts[i]};
        tok_work(&ref[i]);
        assert_int_equal(ref[i].st, TDIFF_OK);
        job[i] = (tok_job){.model = m, .tok = tok, .text = texts[i]};
        assert_int_equal(pthread_create(&th[i], NULL, tok_work, &job[i]), 0);
    }
    for (int i = 0; i < N_THREADS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(job[i].st, TDIFF_OK);
        assert_int_equal(job[i].n, ref[i].n);
        assert_memory_equal(job[i].ids, ref[i].ids, ref[i].n * sizeof *ref[i].ids);
        assert_int_equal(job[i].back_len, ref[i].back_len);
        assert_memory_equal(job[i].back, ref[i].back, ref[i].back_len);
    }
    tdiff_tokenizer_free(tok);
    tdiff_model_free(m);
}

typedef struct net_job {
    const tdiff_model *model;
    int pool;
    float *logits; /* [N_TOK, n_vocab] */
    size_t cap;
    tdiff_status st;
} net_job;

static const int32_t tokens[N_TOK] = {2046, 116, 468, 2047, 2047, 300, 12, 2047, 5, 77, 1000, 2047,
                                      2047, 42, 43, 44, 2047, 1500, 1501, 2047, 9, 2047, 2047, 2045};

static void *net_work(void *arg)
{
    net_job *j = arg;
    tdiff_denoiser *d = NULL;
    j->st = tdiff_denoiser_create(j->model, N_TOK, j->pool, NULL, &d, NULL, 0);
    for (int round = 0; round < 3 && j->st == TDIFF_OK; round++)
        j->st = tdiff_denoiser_forward(d, tokens, N_TOK, NULL, 0, j->logits, j->cap);
    tdiff_denoiser_free(d);
    return NULL;
}

static void test_denoiser_pools_run_side_by_side_on_one_model(void **state)
{
    (void)state;
    tdiff_model *m = fixture();
    size_t nv = 0;
    assert_int_equal(tdiff_model_vocab_size(m, &nv), TDIFF_OK);
    size_t cap = N_TOK * nv;
    net_job ref = {m, 1, malloc(cap * sizeof(float)), cap, TDIFF_OK}, job[2];
    assert_non_null(ref.logits);
    net_work(&ref);
    assert_int_equal(ref.st, TDIFF_OK);
    pthread_t th[2];
    for (int i = 0; i < 2; i++) {
        job[i] = (net_job){m, 3, malloc(cap * sizeof(float)), cap, TDIFF_OK};
        assert_non_null(job[i].logits);
        assert_int_equal(pthread_create(&th[i], NULL, net_work, &job[i]), 0);
    }
    for (int i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(job[i].st, TDIFF_OK);
        assert_memory_equal(job[i].logits, ref.logits, cap * sizeof(float)); /* any thread count, same bits */
        free(job[i].logits);
    }
    free(ref.logits);
    tdiff_model_free(m);
}

typedef struct handoff {
    tdiff_sampler *s;
    tdiff_status st;
    int done;
} handoff;

static void *two_steps(void *arg)
{
    handoff *h = arg;
    for (int i = 0; i < 2 && !h->st && !h->done; i++)
        h->st = tdiff_sampler_step(h->s, &h->done);
    return NULL;
}

static tdiff_sampler *pooled_sampler(const tdiff_model *m)
{
    tdiff_sampler *s = NULL;
    assert_int_equal(tdiff_sampler_create(m, NULL, &s, NULL, 0), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_N_THREADS, 3), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_GEN_LENGTH, 16), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_STEPS, 8), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_SEED, 5), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_float(s, TDIFF_SAMPLER_TEMPERATURE, 0.8), TDIFF_OK);
    return s;
}

static void *begin_on(void *arg)
{
    handoff *h = arg;
    static const int32_t prompt[3] = {2046, 116, 468};
    h->st = tdiff_sampler_begin(h->s, prompt, 3);
    return NULL;
}

static void test_a_pooled_sampler_moves_between_threads(void **state)
{
    (void)state;
    tdiff_model *m = fixture();
    static const int32_t prompt[3] = {2046, 116, 468};
    tdiff_sampler *r = pooled_sampler(m);
    int32_t want[16], got[16];
    size_t n_want, n_got;
    assert_int_equal(tdiff_sampler_generate(r, prompt, 3, want, 16, &n_want), TDIFF_OK);
    tdiff_sampler_free(r);

    tdiff_sampler *s = pooled_sampler(m);
    handoff h = {s, TDIFF_OK, 0};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, begin_on, &h), 0); /* begun on one thread */
    pthread_join(th, NULL);
    while (!h.st && !h.done) { /* stepped on others, one after another */
        assert_int_equal(pthread_create(&th, NULL, two_steps, &h), 0);
        pthread_join(th, NULL);
    }
    assert_int_equal(h.st, TDIFF_OK);
    assert_int_equal(tdiff_sampler_result(s, got, 16, &n_got), TDIFF_OK); /* finished on this one */
    assert_int_equal(n_got, n_want);
    assert_memory_equal(got, want, n_want * sizeof *want);
    tdiff_sampler_free(s);
    tdiff_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threads_share_one_model_and_tokenizer),
        cmocka_unit_test(test_denoiser_pools_run_side_by_side_on_one_model),
        cmocka_unit_test(test_a_pooled_sampler_moves_between_threads),
    };
    return cmocka_run_group_tests_name("threads", tests, NULL, NULL);
}
