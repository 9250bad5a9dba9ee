/*
 * test_ar_nll.c -- tdiff_objective_ar_nll, the exact NLL under an autoregressive
 * file, against make_ar_nll_goldens.py's float64 numpy reference
 * (tests/parity/data/ar_nll.txt) on the llama / qwen2 files of make_ar_goldens.py:
 * |nll − expected| ≤ 2 × logit tolerance × scored tokens (2e-4 per token F32,
 * 2e-3 F16; a log-softmax moves by at most twice the largest logit error).
 * Also: the same bits on 1 and 3 threads, per_token = nll / scored, and the
 * refusals (a bidirectional model, n_cond out of range, a bad token, too long).
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

#define MAX_CASES 16
#define MAX_IDS 256

typedef struct nll_case {
    char model[128];
    size_t n_cond, n;
    double expect;
    int32_t ids[MAX_IDS];
} nll_case;

static nll_case cases[MAX_CASES];
static char names[MAX_CASES][200];

static tdiff_model *load(const char *rel)
{
    char path[1024], err[256] = "";
    tdiff_model *m = NULL;
    if (tdiff_model_load_file(test_source_path(path, sizeof path, rel), NULL, &m, err, sizeof err) != TDIFF_OK)
        fail_msg("load %s: %s", path, err);
    return m;
}

static double run(tdiff_model *m, const int32_t *ids, size_t n, size_t n_cond, int threads, double *per_token)
{
    tdiff_denoiser *d = NULL;
    char err[256] = "x";
    assert_int_equal(tdiff_denoiser_create(m, n, threads, NULL, &d, err, sizeof err), TDIFF_OK);
    double nll = NAN;
    tdiff_status st = tdiff_objective_ar_nll(d, ids, n, n_cond, &nll, per_token, err, sizeof err);
    if (st != TDIFF_OK)
        fail_msg("ar_nll: %s", err);
    assert_string_equal(err, "");
    tdiff_denoiser_free(d);
    return nll;
}

static void test_nll_matches_reference(void **state)
{
    const nll_case *c = *state;
    char rel[256];
    snprintf(rel, sizeof rel, "tests/parity/data/%s", c->model);
    tdiff_model *m = load(rel);
    double per = NAN;
    double got = run(m, c->ids, c->n, c->n_cond, 1, &per);
    double per_tok_tol = strstr(c->model, "f16") ? 2e-3 : 2e-4;
    double tol = per_tok_tol * (double)(c->n - c->n_cond);
    if (!(fabs(got - c->expect) <= tol))
        fail_msg("%s n_cond %zu: nll %.8f, reference %.8f (|diff| %.2e > %.2e)", c->model, c->n_cond, got, c->expect,
                 fabs(got - c->expect), tol);
    assert_true(per == got / (double)(c->n - c->n_cond));
    double per3 = NAN;
    double got3 = run(m, c->ids, c->n, c->n_cond, 3, &per3);
    assert_true(got3 == got); /* the denoiser's products do not depend on the thread count */
    tdiff_model_free(m);
}

static void test_refusals(void **state)
{
    (void)state;
    int32_t ids[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    char err[256];
    double nll = 0;
    tdiff_model *m = load("tests/parity/data/ar-llama-f32.gguf");
    tdiff_denoiser *d = NULL;
    assert_int_equal(tdiff_denoiser_create(m, 8, 1, NULL, &d, err, sizeof err), TDIFF_OK);
    assert_int_equal(tdiff_objective_ar_nll(d, ids, 8, 0, &nll, NULL, err, sizeof err), TDIFF_E_INVALID_ARGUMENT);
    assert_non_null(strstr(err, "n_cond"));
    assert_int_equal(tdiff_objective_ar_nll(d, ids, 8, 8, &nll, NULL, err, sizeof err), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_objective_ar_nll(d, ids, 9, 1, &nll, NULL, err, sizeof err), TDIFF_E_INVALID_ARGUMENT);
    assert_non_null(strstr(err, "max_len"));
    assert_int_equal(tdiff_objective_ar_nll(NULL, ids, 8, 1, &nll, NULL, err, sizeof err), TDIFF_E_INVALID_ARGUMENT);
    ids[3] = 100000;
    assert_int_equal(tdiff_objective_ar_nll(d, ids, 8, 1, &nll, NULL, err, sizeof err), TDIFF_E_INVALID_ARGUMENT);
    assert_non_null(strstr(err, "token 3"));
    ids[3] = 4;
    /* the same file with its attention switched to full: no longer autoregressive */
    assert_int_equal(tdiff_denoiser_set_int(d, TDIFF_DENOISER_ATTENTION, TDIFF_ATTENTION_FULL), TDIFF_OK);
    assert_int_equal(tdiff_objective_ar_nll(d, ids, 8, 1, &nll, NULL, err, sizeof err), TDIFF_E_INVALID_ARGUMENT);
    assert_non_null(strstr(err, "not autoregressive"));
    tdiff_denoiser_free(d);
    tdiff_model_free(m);
    /* a bidirectional masked-diffusion file */
    char path[1024];
    assert_int_equal(tdiff_model_load_file(test_fixture_path(path, sizeof path, "llada-tiny.gguf"), NULL, &m, err,
                                           sizeof err), TDIFF_OK);
    assert_int_equal(tdiff_denoiser_create(m, 8, 1, NULL, &d, err, sizeof err), TDIFF_OK);
    assert_int_equal(tdiff_objective_ar_nll(d, ids, 8, 1, &nll, NULL, err, sizeof err), TDIFF_E_INVALID_ARGUMENT);
    assert_non_null(strstr(err, "not autoregressive"));
    tdiff_denoiser_free(d);
    tdiff_model_free(m);
}

int main(void)
{
    char path[1024], line[8192];
    FILE *f = fopen(test_source_path(path, sizeof path, "tests/parity/data/ar_nll.txt"), "r");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        return 1;
    }
    struct CMUnitTest tests[MAX_CASES + 1];
    size_t n = 0;
    while (fgets(line, sizeof line, f) && n < MAX_CASES) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        nll_case *c = &cases[n];
        char *colon = strchr(line, ':');
        if (!colon || sscanf(line, "%127s %zu %lf", c->model, &c->n_cond, &c->expect) != 3) {
            fprintf(stderr, "bad line in %s\n", path);
            fclose(f);
            return 1;
        }
        c->n = 0;
        for (char *t = strtok(colon + 1, " \t\r\n"); t && c->n < MAX_IDS; t = strtok(NULL, " \t\r\n"))
            c->ids[c->n++] = (int32_t)strtol(t, NULL, 10);
        snprintf(names[n], sizeof names[n], "nll %s n=%zu n_cond=%zu", c->model, c->n, c->n_cond);
        tests[n] = (struct CMUnitTest){names[n], test_nll_matches_reference, NULL, NULL, c};
        n++;
    }
    fclose(f);
    if (n == 0)
        return 1;
    tests[n++] = (struct CMUnitTest){"refusals", test_refusals, NULL, NULL, NULL};
    return _cmocka_run_group_tests("ar_nll", tests, n, NULL, NULL);
}
