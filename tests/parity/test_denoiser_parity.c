/*
 * test_denoiser_parity.c -- the denoiser against the PyTorch reference
 * (reference.py): for every case in data/cases.txt (written by
 * make_goldens.py), or in the list named by argv[1] (data/ar_cases.txt: the
 * autoregressive llama/qwen2 files against make_ar_goldens.py's numpy
 * reference), load the model, run the same tokens / positions / t /
 * attention, and require max|ours - reference| <= tol * max(1, max|reference|)
 * with tol = 1e-4 for F32 weights, 1e-3 for F16/BF16/Q8_0/Q4_0 (issue 4). Each
 * case also runs with 2 threads and must give bit-identical logits.
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

#include "denoiser/denoiser.h"
#include "libtextdiff.h"
#include "support.h"

#define MAX_CASES 128

typedef struct gold {
    uint32_t n, n_pos, n_vocab, attention, block_len, has_t;
    bool has_block_start;
    uint32_t block_start;
    float t, tol;
    char model[256];
    int32_t *tokens;
    uint32_t *positions, *span;
    float *logits;
    void *blob;
} gold;

static char case_names[MAX_CASES][128];

static uint32_t rd_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Parses a .gold file (layout in make_goldens.py); pointers into g->blob. */
static void load_gold(const char *name, gold *g)
{
    char rel[128], path[1024];
    snprintf(rel, sizeof rel, "tests/parity/data/%s.gold", name);
    size_t size;
    uint8_t *b = test_read_file(test_source_path(path, sizeof path, rel), &size);
    assert_non_null(b);
    g->blob = b;
    assert_true(size >= 44 && (!memcmp(b, "TDGOLD01", 8) || !memcmp(b, "TDGOLD02", 8)));
    g->has_block_start = b[7] == '2';
    uint32_t h[7];
    for (int i = 0; i < 7; i++)
        h[i] = rd_u32(b + 8 + 4 * i);
    g->n = h[0], g->n_pos = h[1], g->n_vocab = h[2], g->attention = h[3], g->block_len = h[4], g->has_t = h[5];
    size_t off = 36;
    g->block_start = g->has_block_start ? rd_u32(b + off) : 0;
    off += g->has_block_start ? 4 : 0;
    memcpy(&g->t, b + off, 4);
    memcpy(&g->tol, b + off + 4, 4);
    off += 8;
    assert_true(h[6] < sizeof g->model && off + h[6] <= size);
    memcpy(g->model, b + off, h[6]);
    g->model[h[6]] = '\0';
    off += h[6];
    size_t need = off + 4 * ((size_t)g->n + g->n_pos + (g->attention == TDIFF_ATTENTION_SPANS ? g->n : 0) +
                             (size_t)g->n_pos * g->n_vocab);
    assert_int_equal(need, size);
    /* copy into aligned arrays: the blob's offsets are not 4-aligned */
    g->tokens = test_malloc(4 * (size_t)g->n);
    memcpy(g->tokens, b + off, 4 * (size_t)g->n);
    off += 4 * (size_t)g->n;
    g->positions = test_malloc(4 * (size_t)g->n_pos);
    memcpy(g->positions, b + off, 4 * (size_t)g->n_pos);
    off += 4 * (size_t)g->n_pos;
    g->span = NULL;
    if (g->attention == TDIFF_ATTENTION_SPANS) {
        g->span = test_malloc(4 * (size_t)g->n);
        memcpy(g->span, b + off, 4 * (size_t)g->n);
        off += 4 * (size_t)g->n;
    }
    g->logits = test_malloc(4 * (size_t)g->n_pos * g->n_vocab);
    memcpy(g->logits, b + off, 4 * (size_t)g->n_pos * g->n_vocab);
}

static void free_gold(gold *g)
{
    test_free(g->tokens);
    test_free(g->positions);
    test_free(g->span);
    test_free(g->logits);
    test_free(g->blob);
}

/* Runs the case with n_threads; returns malloc'd logits [n_pos, V]. */
static float *run_case(const gold *g, tdiff_model *m, int n_threads, const tdiff_host *host)
{
    tdiff_denoiser *d = NULL;
    /* max_len above n so the workspace is not sized exactly to the input */
    tdiff_status st = tdiff_denoiser_create(m, g->n + 5, n_threads, host, &d, NULL, 0);
    assert_int_equal(st, TDIFF_OK);
    size_t cap = (size_t)g->n_pos * g->n_vocab;
    float *out = test_malloc(cap * sizeof *out);
    tdiff__forward_args a = {0};
    a.tokens = g->tokens;
    a.n = g->n;
    a.positions = g->positions;
    a.n_positions = g->n_pos;
    a.t = g->t;
    a.attention = (int)g->attention;
    /* for span masks the header's block_len field carries span_earlier (make_goldens.py) */
    const bool spans = g->attention == TDIFF_ATTENTION_SPANS;
    a.block_len = spans ? 0 : g->block_len;
    a.span_earlier = !spans ? 0 : g->block_len == 1 ? 1 : g->block_len == 2 ? -1 : 0;
    a.span = g->span;
    a.has_block_start = g->has_block_start;
    a.block_start = g->block_start;
    a.logits = out;
    a.logits_cap = cap;
    st = tdiff__denoiser_forward_ex(d, &a);
    if (st != TDIFF_OK)
        fail_msg("forward: %s", tdiff_denoiser_last_error(d));
    tdiff_denoiser_free(d);
    return out;
}

static void test_case_matches_reference(void **state)
{
    const char *name = *state;
    gold g;
    load_gold(name, &g);
    char path[1024];
    if (!strncmp(g.model, "fixture:", 8)) {
        test_fixture_path(path, sizeof path, g.model + 8);
        FILE *f = fopen(path, "rb");
        if (!f) {
            free_gold(&g);
            fail_msg("missing fixture %s (tests/fixtures is part of the repository)", path);
        }
        fclose(f);
    } else {
        char rel[512];
        snprintf(rel, sizeof rel, "tests/parity/data/%s", g.model);
        test_source_path(path, sizeof path, rel);
    }
    test_alloc ta = {0};
    tdiff_host host;
    test_host_init(&host, &ta);
    tdiff_model *m = NULL;
    char err[256] = "";
    tdiff_status st = tdiff_model_load_file(path, &host, &m, err, sizeof err);
    if (st != TDIFF_OK)
        fail_msg("load %s: %s", path, err);

    float *one = run_case(&g, m, 1, &host);  /* cmocka allocator: leaks fail */
    size_t cnt = (size_t)g.n_pos * g.n_vocab;
    double ref_max = 0, diff_max = 0;
    for (size_t i = 0; i < cnt; i++) {
        double r = fabs((double)g.logits[i]), dd = fabs((double)one[i] - (double)g.logits[i]);
        if (r > ref_max)
            ref_max = r;
        if (!(dd <= diff_max))  /* NaN counts as a failure */
            diff_max = isnan(dd) ? INFINITY : dd;
    }
    double bound = g.tol * (ref_max > 1 ? ref_max : 1);
    print_message("%-24s max|ref| %.4g  max|diff| %.3g  bound %.3g\n", name, ref_max, diff_max, bound);
    assert_true(ref_max > 0.1);  /* the case must exercise real values */
    assert_true(diff_max <= bound);

    float *two = run_case(&g, m, 2, NULL);  /* libc allocator: ASan sees exact bounds */
    assert_memory_equal(one, two, cnt * sizeof *one);  /* thread count never changes a bit */

    test_free(one);
    test_free(two);
    tdiff_model_free(m);
    free_gold(&g);
}

int main(int argc, char **argv)
{
    /* argv[1]: the case list (default cases.txt; ar_cases.txt from make_ar_goldens.py) */
    char path[1024], rel[256];
    snprintf(rel, sizeof rel, "tests/parity/data/%s", argc > 1 ? argv[1] : "cases.txt");
    FILE *f = fopen(test_source_path(path, sizeof path, rel), "r");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        return 1;
    }
    static struct CMUnitTest tests[MAX_CASES];
    size_t n = 0;
    char line[128];
    while (fgets(line, sizeof line, f) && n < MAX_CASES) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0] || line[0] == '#')
            continue;
        snprintf(case_names[n], sizeof case_names[n], "%s", line);
        tests[n] = (struct CMUnitTest){case_names[n], test_case_matches_reference, NULL, NULL, case_names[n]};
        n++;
    }
    fclose(f);
    return _cmocka_run_group_tests(argc > 1 ? argv[1] : "denoiser_parity", tests, n, NULL, NULL);
}
