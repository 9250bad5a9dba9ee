/*
 * test_planned.c -- the planned strategy (planned diffusion) against the
 * independent float64 sampler of make_planned_goldens.py: for every case of
 * data/planned_cases.txt (a free run whose random model writes its own,
 * malformed, plan; caller plans; oversized plans and too many entries) the
 * canvas after the prompt must match token for token and the forward passes
 * count for count, on 1 and 2 denoiser threads. Also: a model without the
 * tdiff.planned.* keys is refused with a message, and the strategy is named.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "libtextdiff.h"
#include "sampler/sampler.h"
#include "support.h"

#define MAX_CASES 16
#define MAX_IDS 256

typedef struct planned_case {
    char name[64];
    long gen, max_spans, max_len, default_len;
    double per_token, scale;
    int32_t prompt[MAX_IDS], expect[MAX_IDS];
    size_t n_prompt, n_expect;
    long forwards;
} planned_case;

static planned_case cases[MAX_CASES];

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

static void test_planned_matches_reference(void **state)
{
    const planned_case *c = *state;
    tdiff_model *m = load("planned-llada-f32.gguf");
    int64_t rows_plain = 0;
    for (int run = 0; run < 3; run++) { /* 1 thread, 2 threads, 1 thread with the KV cache */
        const int threads = run == 1 ? 2 : 1;
        tdiff_sampler *s = NULL;
        char err[256] = "";
        if (tdiff_sampler_create(m, NULL, &s, err, sizeof err) != TDIFF_OK)
            fail_msg("sampler: %s", err);
        assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_STRATEGY, TDIFF_STRATEGY_PLANNED), TDIFF_OK);
        assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_GEN_LENGTH, c->gen), TDIFF_OK);
        assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_CUT_AT_EOS, 0), TDIFF_OK);
        assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_N_THREADS, threads), TDIFF_OK);
        if (run == 2)
            assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_CACHE, TDIFF_CACHE_PREFIX), TDIFF_OK);
        assert_int_equal(tdiff_sampler_set_float(s, TDIFF_SAMPLER_PLANNED_STEPS_PER_TOKEN, c->per_token), TDIFF_OK);
        assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_PLANNED_MAX_SPANS, c->max_spans), TDIFF_OK);
        assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_PLANNED_MAX_SPAN_LENGTH, c->max_len), TDIFF_OK);
        assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_PLANNED_DEFAULT_SPAN_LENGTH, c->default_len),
                         TDIFF_OK);
        assert_int_equal(tdiff_sampler_set_float(s, TDIFF_SAMPLER_PLANNED_LENGTH_SCALE, c->scale), TDIFF_OK);
        int32_t out[MAX_IDS];
        size_t n = 0;
        if (tdiff_sampler_generate(s, c->prompt, c->n_prompt, out, MAX_IDS, &n) != TDIFF_OK)
            fail_msg("generate: %s", tdiff_sampler_last_error(s));
        assert_int_equal(n, c->n_expect);
        for (size_t i = 0; i < n; i++)
            if (out[i] != c->expect[i])
                fail_msg("%s: position %zu of the generated region: %d, reference %d", c->name, i, out[i],
                         c->expect[i]);
        int64_t fw = 0;
        assert_int_equal(tdiff_sampler_get_int(s, TDIFF_SAMPLER_STAT_FORWARD_PASSES, &fw), TDIFF_OK);
        assert_int_equal(fw, c->forwards);
        int64_t rows = 0;
        assert_int_equal(tdiff_sampler_get_int(s, TDIFF_SAMPLER_STAT_ROWS_COMPUTED, &rows), TDIFF_OK);
        if (run == 0)
            rows_plain = rows;
        if (run == 2) { /* exact: the same tokens from fewer rows */
            print_message("%-24s rows through the network: %lld without the cache, %lld with it\n", c->name,
                          (long long)rows_plain, (long long)rows);
            assert_true(rows < rows_plain);
        }
        tdiff_sampler_free(s);
    }
    print_message("%-24s %zu tokens, %ld forward passes match the reference (1, 2 threads, KV cache)\n", c->name,
                  c->n_expect, c->forwards);
    tdiff_model_free(m);
}

static void test_model_without_tags_is_refused(void **state)
{
    (void)state;
    tdiff_model *m = load("llada-f32.gguf");
    tdiff_sampler *s = NULL;
    assert_int_equal(tdiff_sampler_create(m, NULL, &s, NULL, 0), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_STRATEGY, TDIFF_STRATEGY_PLANNED), TDIFF_OK);
    int32_t prompt[3] = {1, 2, 3}, out[64];
    size_t n = 0;
    assert_int_equal(tdiff_sampler_generate(s, prompt, 3, out, 64, &n), TDIFF_E_UNSUPPORTED);
    assert_non_null(strstr(tdiff_sampler_last_error(s), "tdiff.planned."));
    int id = 0;
    assert_int_equal(tdiff_strategy_from_name("planned", &id), TDIFF_OK);
    assert_int_equal(id, TDIFF_STRATEGY_PLANNED);
    assert_string_equal(tdiff_strategy_name(TDIFF_STRATEGY_PLANNED), "planned");
    tdiff_sampler_free(s);
    tdiff_model_free(m);
}

/* The tag parser's rules, one row each (docs/sampling.md, "Parsing"): digits are ids 0..9. */
enum { P = 10, Q = 11, A = 12, T = 20, END = -100 };
typedef struct parse_row {
    const char *rule;
    int32_t tok[24];
    size_t max_spans;
    double scale;
    size_t n;
    uint32_t len[4];
    unsigned flags;
} parse_row;

static void test_tag_parser_fallbacks(void **state)
{
    (void)state;
    static const parse_row rows[] = {
        {"two entries, lengths from digit runs", {T, P, T, 1, 2, Q, P, 7, Q, END}, 8, 1.0, 2, {12, 7}, 0},
        {"the last digit run counts", {P, 3, T, 4, 5, Q, END}, 8, 1.0, 1, {45}, 0},
        {"unclosed entry without length: default", {P, T, T, END}, 8, 1.0, 1, {16},
         TDIFF__PLAN_UNCLOSED | TDIFF__PLAN_NO_LENGTH},
        {"a new <promise> closes the open entry", {P, 2, P, 3, Q, END}, 8, 1.0, 2, {2, 3}, TDIFF__PLAN_UNCLOSED},
        {"length 0 drops the entry", {P, 0, Q, P, 5, Q, END}, 8, 1.0, 1, {5}, TDIFF__PLAN_ZERO},
        {"oversized and 10-digit lengths clamp", {P, 9, 9, 9, Q, P, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, Q, END}, 8, 1.0,
         2, {64, 64}, TDIFF__PLAN_CLAMPED},
        {"entries past max_spans are dropped", {P, 1, Q, P, 2, Q, P, 3, Q, END}, 2, 1.0, 2, {1, 2},
         TDIFF__PLAN_TOO_MANY},
        {"a stray </promise> is text", {Q, T, A, P, 4, Q, END}, 8, 1.0, 1, {4}, TDIFF__PLAN_STRAY},
        {"lengths scale, round half up, at least 1", {P, 7, Q, P, 1, Q, END}, 8, 0.5, 2, {4, 1}, 0},
        {"no entry: no span", {T, 3, A, 1, END}, 8, 1.0, 0, {0}, 0},
    };
    tdiff__plan_tags tags = {.promise_open = P, .promise_close = Q, .async_open = A, .async_close = 13, .sync = 14};
    for (int d = 0; d < 10; d++)
        tags.digit[d] = d;
    static tdiff__plan plan;
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        const parse_row *w = &rows[r];
        size_t n = 0;
        while (w->tok[n] != END)
            n++;
        tdiff__plan_limits lim = {.max_spans = w->max_spans, .max_len = 64, .default_len = 16, .scale = w->scale};
        tdiff__plan_parse(&tags, &lim, w->tok, n, &plan);
        if (plan.n != w->n || plan.flags != w->flags)
            fail_msg("%s: %zu spans, flags %#x (want %zu, %#x)", w->rule, plan.n, plan.flags, w->n, w->flags);
        for (size_t k = 0; k < w->n; k++)
            if (plan.len[k] != w->len[k])
                fail_msg("%s: span %zu has length %u (want %u)", w->rule, k, plan.len[k], w->len[k]);
    }
}

int main(void)
{
    char path[1024], line[8192];
    FILE *f = fopen(test_source_path(path, sizeof path, "tests/parity/data/planned_cases.txt"), "r");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        return 1;
    }
    static struct CMUnitTest tests[MAX_CASES + 2];
    size_t n = 0;
    while (fgets(line, sizeof line, f) && n < MAX_CASES) {
        char *field[6] = {line};
        for (int i = 1; i < 6; i++) {
            field[i] = field[i - 1] ? strchr(field[i - 1], '|') : NULL;
            if (field[i])
                *field[i]++ = '\0';
        }
        planned_case *c = &cases[n];
        if (!field[5] || sscanf(field[0], "%63s", c->name) != 1 ||
            sscanf(field[1], "%ld %lf %ld %ld %ld %lf", &c->gen, &c->per_token, &c->max_spans, &c->max_len,
                   &c->default_len, &c->scale) != 6) {
            fprintf(stderr, "bad line in %s\n", path);
            fclose(f);
            return 1;
        }
        c->n_prompt = parse_ids(field[2], c->prompt);
        c->n_expect = parse_ids(field[3], c->expect);
        c->forwards = strtol(field[4], NULL, 10);
        tests[n] = (struct CMUnitTest){c->name, test_planned_matches_reference, NULL, NULL, c};
        n++;
    }
    fclose(f);
    if (n == 0)
        return 1;
    tests[n++] = (struct CMUnitTest){"model_without_tags_is_refused", test_model_without_tags_is_refused, NULL,
                                     NULL, NULL};
    tests[n++] = (struct CMUnitTest){"tag_parser_fallbacks", test_tag_parser_fallbacks, NULL, NULL, NULL};
    return _cmocka_run_group_tests("planned", tests, n, NULL, NULL);
}
