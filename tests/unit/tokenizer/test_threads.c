/*
 * test_threads.c -- one tokenizer shared by several threads: every thread
 * tokenizes and detokenizes the whole text set at the same time and must get
 * the golden GPT-2 ids and the texts back. (Default allocator: cmocka's test
 * allocator is not thread-safe; checks are made in the main thread.)
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

#include "tok_test.h"

#define N_THREADS 4
#define ROUNDS 5

typedef struct job {
    const tdiff_tokenizer *tok;
    const text_set *texts;
    const golden *gold;
    size_t mismatches, calls;
} job;

static void *worker(void *arg)
{
    job *j = arg;
    int32_t ids[4096];
    char back[16384];
    for (int r = 0; r < ROUNDS; r++) {
        for (size_t i = 0; i < j->texts->n; i++) {
            size_t n, len;
            if (tdiff_tokenizer_tokenize(j->tok, j->texts->s[i], j->texts->len[i], 0, ids, 4096, &n) != TDIFF_OK) {
                j->mismatches++;
                continue;
            }
            j->calls++;
            if (n != j->gold->count[i])
                j->mismatches++;
            for (size_t k = 0; k < n && k < j->gold->count[i]; k++)
                j->mismatches += ids[k] != j->gold->v[i][k];
            if (tdiff_tokenizer_detokenize(j->tok, ids, n, 0, back, sizeof back, &len) != TDIFF_OK)
                j->mismatches++;
        }
    }
    return NULL;
}

static void test_threads_sharing_a_tokenizer_get_the_golden_ids(void **state)
{
    (void)state;
    char path[1024], err[256];
    test_source_path(path, sizeof path, "tests/unit/tokenizer/data/gpt2.gguf");
    tdiff_model *model;
    tdiff_tokenizer *tok;
    assert_int_equal(tdiff_model_load_file(path, NULL, &model, err, sizeof err), TDIFF_OK);
    assert_int_equal(tdiff_tokenizer_create(model, NULL, &tok, err, sizeof err), TDIFF_OK);
    tdiff_model_free(model); /* the tokenizer copies what it needs */
    text_set t;
    golden g;
    texts_load(&t);
    golden_load(&g, "gpt2_ids.txt");
    pthread_t th[N_THREADS];
    job jobs[N_THREADS];
    for (int i = 0; i < N_THREADS; i++) {
        jobs[i] = (job){tok, &t, &g, 0, 0};
        assert_int_equal(pthread_create(&th[i], NULL, worker, &jobs[i]), 0);
    }
    for (int i = 0; i < N_THREADS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(jobs[i].mismatches, 0);
        assert_int_equal(jobs[i].calls, ROUNDS * t.n);
    }
    golden_free(&g);
    texts_free(&t);
    tdiff_tokenizer_free(tok);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threads_sharing_a_tokenizer_get_the_golden_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
