/*
 * test_ar_generation.c -- autoregressive decoding (strategy ar) on the llama /
 * qwen2 files of make_ar_goldens.py against its numpy reference's greedy
 * decodings (data/ar_greedy.txt): token for token, on 1 and 3 threads, with the
 * cut at EOS on and off (off: the tail after EOS is EOS). Also: a sampled run
 * (temperature, top-k, top-p) gives the same tokens on any thread count and for
 * the same seed, another seed changes them; an autoregressive model defaults to
 * the ar strategy and refuses the masked-diffusion ones and infilling.
 */
#include <setjmp.h>
#include <stdbool.h>
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

typedef struct ar_case {
    char model[128];
    size_t gen;
    int32_t eos;
    int32_t prompt[MAX_IDS], expect[MAX_IDS];
    size_t n_prompt, n_expect;
} ar_case;

static ar_case cases[MAX_CASES];
static char names[MAX_CASES][160];

static size_t parse_ids(char *s, int32_t *out)
{
    size_t n = 0;
    for (char *tok = strtok(s, " \t\r\n"); tok && n < MAX_IDS; tok = strtok(NULL, " \t\r\n"))
        out[n++] = (int32_t)strtol(tok, NULL, 10);
    return n;
}

static tdiff_model *load(const char *file)
{
    char rel[256], path[1024], err[256] = "";
    snprintf(rel, sizeof rel, "tests/parity/data/%s", file);
    tdiff_model *m = NULL;
    if (tdiff_model_load_file(test_source_path(path, sizeof path, rel), NULL, &m, err, sizeof err) != TDIFF_OK)
        fail_msg("load %s: %s", path, err);
    return m;
}

/* Generates with the given settings; returns the token count written to out. */
static size_t run(tdiff_model *m, const ar_case *c, int threads, int cut, double temp, int top_k, double top_p,
                  int64_t seed, int32_t *out)
{
    tdiff_sampler *s = NULL;
    char err[256] = "";
    if (tdiff_sampler_create(m, NULL, &s, err, sizeof err) != TDIFF_OK)
        fail_msg("sampler: %s", err);
    int64_t strategy = 0;
    assert_int_equal(tdiff_sampler_get_int(s, TDIFF_SAMPLER_STRATEGY, &strategy), TDIFF_OK);
    assert_int_equal(strategy, TDIFF_STRATEGY_AR); /* the default on an autoregressive model */
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_GEN_LENGTH, (int64_t)c->gen), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_N_THREADS, threads), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_CUT_AT_EOS, cut), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_float(s, TDIFF_SAMPLER_TEMPERATURE, temp), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_TOP_K, top_k), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_float(s, TDIFF_SAMPLER_TOP_P, top_p), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_SEED, seed), TDIFF_OK);
    size_t n = 0;
    tdiff_status st = tdiff_sampler_generate(s, c->prompt, c->n_prompt, out, MAX_IDS, &n);
    if (st != TDIFF_OK)
        fail_msg("generate: %s", tdiff_sampler_last_error(s));
    int64_t fw = 0, steps = 0;
    tdiff_sampler_get_int(s, TDIFF_SAMPLER_STAT_FORWARD_PASSES, &fw);
    tdiff_sampler_get_int(s, TDIFF_SAMPLER_STAT_STEPS, &steps);
    assert_int_equal(fw, steps); /* one forward pass per generated token */
    tdiff_sampler_free(s);
    return n;
}

static void test_greedy_matches_reference(void **state)
{
    const ar_case *c = *state;
    tdiff_model *m = load(c->model);
    int32_t out[MAX_IDS];
    const int threads[] = {1, 3};
    for (size_t k = 0; k < 2; k++) {
        size_t n = run(m, c, threads[k], 1, 0.0, 0, 1.0, 0, out);
        bool stops = c->n_expect && c->expect[c->n_expect - 1] == c->eos;
        assert_int_equal(n, stops ? c->n_expect - 1 : c->n_expect); /* cut before EOS */
        assert_memory_equal(out, c->expect, n * sizeof *out);
        n = run(m, c, threads[k], 0, 0.0, 0, 1.0, 0, out);
        assert_int_equal(n, c->gen);
        assert_memory_equal(out, c->expect, c->n_expect * sizeof *out);
        for (size_t i = c->n_expect; i < n; i++)
            assert_int_equal(out[i], c->eos); /* after EOS: EOS */
        /* top-k 1 at any temperature is greedy too */
        n = run(m, c, threads[k], 0, 0.9, 1, 1.0, 5, out);
        assert_memory_equal(out, c->expect, c->n_expect * sizeof *out);
    }
    print_message("%-28s %zu greedy tokens match the reference (1 and 3 threads)\n", c->model, c->n_expect);
    tdiff_model_free(m);
}

static void test_sampling_is_seeded_and_thread_independent(void **state)
{
    (void)state;
    const ar_case *c = &cases[0];
    tdiff_model *m = load(c->model);
    int32_t a[MAX_IDS], b[MAX_IDS], d[MAX_IDS];
    size_t na = run(m, c, 1, 0, 0.8, 40, 0.95, 11, a);
    size_t nb = run(m, c, 4, 0, 0.8, 40, 0.95, 11, b);
    size_t nd = run(m, c, 2, 0, 0.8, 40, 0.95, 12, d);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na * sizeof *a);
    assert_int_equal(na, nd);
    assert_memory_not_equal(a, d, na * sizeof *a);
    assert_memory_not_equal(a, c->expect, c->n_expect * sizeof *a); /* sampled, not greedy */
    tdiff_model_free(m);
}

static void test_refusals(void **state)
{
    (void)state;
    tdiff_model *m = load(cases[0].model);
    tdiff_sampler *s = NULL;
    assert_int_equal(tdiff_sampler_create(m, NULL, &s, NULL, 0), TDIFF_OK);
    int32_t out[64], prompt[3] = {1, 2, 3};
    size_t n = 0;
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_STRATEGY, TDIFF_STRATEGY_LLADA), TDIFF_OK);
    assert_int_equal(tdiff_sampler_generate(s, prompt, 3, out, 64, &n), TDIFF_E_UNSUPPORTED);
    assert_non_null(strstr(tdiff_sampler_last_error(s), "use the ar strategy"));
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_STRATEGY, TDIFF_STRATEGY_AR), TDIFF_OK);
    assert_int_equal(tdiff_sampler_infill(s, prompt, 3, out, 64, &n), TDIFF_E_UNSUPPORTED);
    assert_int_equal(tdiff_sampler_begin_infill(s, prompt, 3), TDIFF_E_UNSUPPORTED);
    /* a prompt may hold any token, EOS included (no mask token to refuse) */
    int64_t eos = -1;
    int32_t e = -1;
    assert_int_equal(tdiff_model_special_id(m, TDIFF_SPECIAL_EOS, &e), TDIFF_OK);
    eos = e;
    int32_t p2[2] = {(int32_t)eos, 5};
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_GEN_LENGTH, 4), TDIFF_OK);
    assert_int_equal(tdiff_sampler_generate(s, p2, 2, out, 64, &n), TDIFF_OK);
    tdiff_sampler_free(s);
    tdiff_model_free(m);
}

/* The small files of make_ar_goldens.py: one loads (causal, shifted whatever
 * diffusion.shift_logits says, no mask token), the others are refused with a reason. */
static void test_loader_accepts_and_refuses(void **state)
{
    (void)state;
    tdiff_model *m = load("ar-small-ok.gguf");
    int64_t v = -1;
    assert_int_equal(tdiff_model_get_int(m, TDIFF_MODEL_CAUSAL, &v), TDIFF_OK);
    assert_int_equal(v, 1);
    assert_int_equal(tdiff_model_get_int(m, TDIFF_MODEL_SHIFT_LOGITS, &v), TDIFF_OK);
    assert_int_equal(v, 1);
    int32_t id = 0;
    assert_int_not_equal(tdiff_model_special_id(m, TDIFF_SPECIAL_MASK, &id), TDIFF_OK);
    tdiff_model_free(m);
    static const struct {
        const char *file;
        tdiff_status st;
        const char *why;
    } bad[] = {
        {"ar-bad-keylen.gguf", TDIFF_E_UNSUPPORTED, "key_length 16 differs"},
        {"ar-bad-experts.gguf", TDIFF_E_UNSUPPORTED, "mixture-of-experts"},
        {"ar-bad-scaling.gguf", TDIFF_E_UNSUPPORTED, "RoPE scaling"},
        {"ar-bad-noncausal.gguf", TDIFF_E_UNSUPPORTED, "not an autoregressive model"},
        {"ar-bad-rope-freqs.gguf", TDIFF_E_BAD_FORMAT, "'rope_freqs.weight' is not part of a llama model"},
        {"ar-bad-fused-qkv.gguf", TDIFF_E_UNSUPPORTED, "fused Q/K/V"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char rel[256], path[1024], err[256] = "";
        snprintf(rel, sizeof rel, "tests/parity/data/%s", bad[i].file);
        tdiff_model *b = NULL;
        tdiff_status st = tdiff_model_load_file(test_source_path(path, sizeof path, rel), NULL, &b, err, sizeof err);
        if (st != bad[i].st || !strstr(err, bad[i].why))
            fail_msg("%s: status %d, message '%s'", bad[i].file, (int)st, err);
        assert_null(b);
    }
}

/* No prompt: nothing for the first token to follow. */
static void test_empty_prompt_is_refused(void **state)
{
    (void)state;
    tdiff_model *m = load(cases[0].model);
    tdiff_sampler *s = NULL;
    assert_int_equal(tdiff_sampler_create(m, NULL, &s, NULL, 0), TDIFF_OK);
    int32_t out[8];
    size_t n = 0;
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_GEN_LENGTH, 4), TDIFF_OK);
    assert_int_equal(tdiff_sampler_generate(s, NULL, 0, out, 8, &n), TDIFF_E_INVALID_ARGUMENT);
    assert_non_null(strstr(tdiff_sampler_last_error(s), "at least one prompt token"));
    tdiff_sampler_free(s);
    tdiff_model_free(m);
}

int main(void)
{
    char path[1024], line[4096];
    FILE *f = fopen(test_source_path(path, sizeof path, "tests/parity/data/ar_greedy.txt"), "r");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        return 1;
    }
    static struct CMUnitTest tests[MAX_CASES + 4];
    size_t n = 0;
    while (fgets(line, sizeof line, f) && n < MAX_CASES) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        ar_case *c = &cases[n];
        char *a = strchr(line, ':'), *b = a ? strchr(a + 1, ':') : NULL;
        if (!b) {
            fprintf(stderr, "bad line in %s\n", path);
            fclose(f);
            return 1;
        }
        *a = *b = '\0';
        long eos = -1;
        unsigned long gen = 0;
        if (sscanf(line, "%127s %lu %ld", c->model, &gen, &eos) != 3) {
            fclose(f);
            return 1;
        }
        c->gen = gen;
        c->eos = (int32_t)eos;
        c->n_prompt = parse_ids(a + 1, c->prompt);
        c->n_expect = parse_ids(b + 1, c->expect);
        snprintf(names[n], sizeof names[n], "greedy %s", c->model);
        tests[n] = (struct CMUnitTest){names[n], test_greedy_matches_reference, NULL, NULL, c};
        n++;
    }
    fclose(f);
    if (n == 0)
        return 1;
    tests[n++] = (struct CMUnitTest){"sampling_is_seeded_and_thread_independent",
                                     test_sampling_is_seeded_and_thread_independent, NULL, NULL, NULL};
    tests[n++] = (struct CMUnitTest){"refusals", test_refusals, NULL, NULL, NULL};
    tests[n++] = (struct CMUnitTest){"loader_accepts_and_refuses", test_loader_accepts_and_refuses, NULL, NULL, NULL};
    tests[n++] = (struct CMUnitTest){"empty_prompt_is_refused", test_empty_prompt_is_refused, NULL, NULL, NULL};
    return _cmocka_run_group_tests("ar_generation", tests, n, NULL, NULL);
}
