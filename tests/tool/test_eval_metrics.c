/*
 * test_eval_metrics.c -- src/eval_metrics.c against hand-computed values and the
 * Counter-based Python reference of make_eval_metrics_ref.py (whose BLEU agrees
 * with NLTK's sentence_bleu, method1 smoothing, to 1e-12): distinct-1..4,
 * repeated-4-gram rate and self-BLEU for every case of data/eval_metrics_cases.txt
 * to 1e-12 (NaN where the reference says nan).
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

#include "eval_metrics.h"
#include "support.h"

#define TOL 1e-12
#define MAX_S 8
#define MAX_L 128

static void close_to(double got, double want, const char *what, const char *name)
{
    if (isnan(want) ? !isnan(got) : !(fabs(got - want) <= TOL))
        fail_msg("%s %s: got %.17g, reference %.17g", name, what, got, want);
}

static void test_hand_computed(void **state)
{
    (void)state;
    /* 1 2 1 2 1: unigrams 2 of 5 new, bigrams 2 of 4, trigrams 2 of 3, 4-grams 2 of 2 */
    const int32_t x[] = {1, 2, 1, 2, 1};
    eval_ngrams acc = {0};
    eval_ngrams_add(&acc, x, 5);
    assert_true(fabs(eval_distinct(&acc, 1) - 0.4) < TOL);
    assert_true(fabs(eval_distinct(&acc, 2) - 0.5) < TOL);
    assert_true(fabs(eval_distinct(&acc, 3) - 2.0 / 3.0) < TOL);
    assert_true(fabs(eval_repeat_rate(&acc, 4) - 0.0) < TOL);
    /* a second sample 7 7 7 7 7: its 4-grams (2) repeat once; pooled 4-grams 4, unique 3 */
    const int32_t y[] = {7, 7, 7, 7, 7};
    eval_ngrams_add(&acc, y, 5);
    assert_true(fabs(eval_repeat_rate(&acc, 4) - 0.25) < TOL);
    assert_true(fabs(eval_distinct(&acc, 1) - 0.3) < TOL); /* (2 + 1) / 10 */
    /* BLEU: 1 2 3 5 6 against 1 2 3 4 6: p = 4/5, 2/4, 1/3, (0.1)/2; BP 1 */
    const int32_t h[] = {1, 2, 3, 5, 6}, r[] = {1, 2, 3, 4, 6};
    const int32_t *refs[] = {r};
    size_t rl[] = {5};
    double want = pow(0.8 * 0.5 * (1.0 / 3.0) * 0.05, 0.25);
    assert_true(fabs(eval_bleu4(h, 5, refs, rl, 1) - want) < TOL);
    /* a 4-token hypothesis equal to the first 4 of a 5-token reference: BP exp(1 − 5/4) */
    assert_true(fabs(eval_bleu4(r, 4, refs, rl, 1) - exp(-0.25)) < TOL);
    assert_true(isnan(eval_bleu4(h, 3, refs, rl, 1)));
    assert_true(isnan(eval_self_bleu(refs, rl, 1)));
}

static void test_reference_cases(void **state)
{
    (void)state;
    char path[1024], line[4096], name[128] = "";
    FILE *f = fopen(test_source_path(path, sizeof path, "tests/tool/data/eval_metrics_cases.txt"), "r");
    assert_non_null(f);
    static int32_t buf[MAX_S][MAX_L];
    size_t len[MAX_S], n_s = 0, n_cases = 0;
    eval_ngrams acc = {0};
    while (fgets(line, sizeof line, f)) {
        char *rest = strchr(line, ' ');
        if (line[0] == '#' || !rest)
            continue;
        *rest++ = '\0';
        if (!strcmp(line, "case")) {
            sscanf(rest, "%127s", name);
            n_s = 0;
            memset(&acc, 0, sizeof acc);
        } else if (!strcmp(line, "sample")) {
            assert_true(n_s < MAX_S);
            len[n_s] = 0;
            for (char *t = strtok(rest, " \n"); t && len[n_s] < MAX_L; t = strtok(NULL, " \n"))
                buf[n_s][len[n_s]++] = (int32_t)strtol(t, NULL, 10);
            eval_ngrams_add(&acc, buf[n_s], len[n_s]);
            n_s++;
        } else if (!strcmp(line, "distinct")) {
            double d[4];
            assert_int_equal(sscanf(rest, "%lf %lf %lf %lf", &d[0], &d[1], &d[2], &d[3]), 4);
            for (int k = 0; k < 4; k++)
                close_to(eval_distinct(&acc, k + 1), d[k], "distinct", name);
        } else if (!strcmp(line, "repeat4")) {
            double v;
            assert_int_equal(sscanf(rest, "%lf", &v), 1);
            close_to(eval_repeat_rate(&acc, 4), v, "repeat4", name);
        } else if (!strcmp(line, "selfbleu")) {
            double v;
            assert_int_equal(sscanf(rest, "%lf", &v), 1);
            const int32_t *ptr[MAX_S];
            for (size_t i = 0; i < n_s; i++)
                ptr[i] = buf[i];
            close_to(eval_self_bleu(ptr, len, n_s), v, "self-BLEU", name);
            n_cases++;
        }
    }
    fclose(f);
    assert_true(n_cases >= 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand_computed),
        cmocka_unit_test(test_reference_cases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
