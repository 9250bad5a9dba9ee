/*
 * test_cache.c -- the denoiser's KV cache (lib/denoiser/cache.c): a cached call
 * computes only the rows it must and gives the logits of an uncached call.
 *   - an empty cache computes every position: bit-identical to no cache;
 *   - unchanged inputs: recomputing a few rows against cached keys gives the
 *     uncached logits (float rounding of the smaller products only);
 *   - block-causal model (mix-f32.gguf: blocks of 4 from the file, shifted
 *     logits, GQA), blocks counted from a prompt's end: a sampler-like loop that
 *     reports each change recomputes only the changed block (and never a later
 *     one) and matches the uncached logits at every step, for 1 and 2 threads
 *     bit for bit;
 *   - causal mask, one new position per call (autoregressive decoding): one row
 *     per call, the uncached logits;
 *   - invalidation drops exactly what a change reaches through the mask;
 *   - another mask or another t (time-conditioned model) empties the cache;
 *   - bad arguments are refused with a message.
 * The uncached forward is the reference here; it is itself checked against
 * PyTorch by the parity suite (tests/parity), block starts included.
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
#include "denoiser/internal.h"
#include "libtextdiff.h"
#include "support.h"

#define NV 320  /* vocabulary of the tiny models (make_goldens.py) */
#define NTOK 20
/* Relative agreement of cached and uncached logits (reason: the cached call runs
 * smaller products over the same operands; F32 rounding differs by ~1e-6). */
#define TOL 1e-5

static const int32_t toks[NTOK] = {5, 17, 300, 2, 99, 150, 150, 7, 0, 319, 44, 45, 46, 200, 201, 3, 9, 12, 250, 31};

typedef struct fx {
    test_alloc ta;
    tdiff_host host;
    tdiff_model *m;
} fx;

static void open_model(fx *f, const char *name)
{
    char rel[256], path[1024], err[256] = "";
    memset(&f->ta, 0, sizeof f->ta);
    test_host_init(&f->host, &f->ta);
    snprintf(rel, sizeof rel, "tests/parity/data/%s", name);
    if (tdiff_model_load_file(test_source_path(path, sizeof path, rel), &f->host, &f->m, err, sizeof err))
        fail_msg("load %s: %s", path, err);
}

static void close_model(fx *f)
{
    tdiff_model_free(f->m);
    assert_int_equal(f->ta.live, 0);
}

static tdiff_denoiser *make(fx *f, size_t max_len, int threads)
{
    tdiff_denoiser *d = NULL;
    assert_int_equal(tdiff_denoiser_create(f->m, max_len, threads, &f->host, &d, NULL, 0), TDIFF_OK);
    return d;
}

/* Logits at pos[0..np) of tokens[0..n), through cache c (NULL: uncached). */
static void run(tdiff_denoiser *d, tdiff__kv_cache *c, const tdiff__forward_args *base, const int32_t *tokens,
                size_t n, const uint32_t *pos, size_t np, float *out)
{
    tdiff__forward_args a = *base;
    a.tokens = tokens;
    a.n = n;
    a.positions = pos;
    a.n_positions = np;
    a.cache = c;
    a.logits = out;
    a.logits_cap = np * NV;
    if (tdiff__denoiser_forward_ex(d, &a))
        fail_msg("forward: %s", tdiff_denoiser_last_error(d));
}

static double max_rel_diff(const float *a, const float *b, size_t cnt)
{
    double mx = 0, ref = 1;
    for (size_t i = 0; i < cnt; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        mx = d > mx || isnan(d) ? (isnan(d) ? INFINITY : d) : mx;
        ref = fabs((double)b[i]) > ref ? fabs((double)b[i]) : ref;
    }
    return mx / ref;
}

static void test_empty_cache_computes_everything_bit_for_bit(void **state)
{
    (void)state;
    fx f;
    open_model(&f, "llada-f32.gguf");
    tdiff_denoiser *d = make(&f, NTOK, 2);
    tdiff__kv_cache *c;
    assert_int_equal(tdiff__kv_cache_create(d, &c), TDIFF_OK);
    const uint32_t pos[3] = {4, 11, 19};
    float want[3 * NV], got[3 * NV];
    tdiff__forward_args base = {0};
    run(d, NULL, &base, toks, NTOK, pos, 3, want);
    run(d, c, &base, toks, NTOK, pos, 3, got);
    assert_memory_equal(want, got, sizeof want);
    size_t computed, reused;
    tdiff__kv_cache_last(c, &computed, &reused);
    assert_int_equal(computed, NTOK);
    assert_int_equal(reused, 0);
    tdiff__kv_cache_free(d, c);
    tdiff_denoiser_free(d);
    close_model(&f);
}

static void test_recomputing_rows_of_unchanged_inputs_matches_uncached(void **state)
{
    (void)state;
    fx f;
    open_model(&f, "dream-f32.gguf"); /* full attention, shifted logits, GQA */
    tdiff_denoiser *d = make(&f, NTOK, 1);
    tdiff__kv_cache *c;
    assert_int_equal(tdiff__kv_cache_create(d, &c), TDIFF_OK);
    const uint32_t pos[4] = {8, 9, 10, 11};
    float want[4 * NV], got[4 * NV];
    tdiff__forward_args base = {0};
    run(d, NULL, &base, toks, NTOK, pos, 4, want);
    run(d, c, &base, toks, NTOK, pos, 4, got); /* fills the cache */
    const uint32_t compute[2] = {2, 15};
    base.compute = compute;
    base.n_compute = 2;
    run(d, c, &base, toks, NTOK, pos, 4, got);
    size_t computed, reused;
    tdiff__kv_cache_last(c, &computed, &reused);
    assert_int_equal(computed, 2 + 4); /* 2, 15 and the hidden states 7..10 the shifted head reads */
    assert_int_equal(reused, NTOK - computed);
    double diff = max_rel_diff(got, want, 4 * NV);
    print_message("dream, 6 of 20 rows recomputed: max relative difference %.3g\n", diff);
    assert_true(diff <= TOL);
    tdiff__kv_cache_free(d, c);
    tdiff_denoiser_free(d);
    close_model(&f);
}

/* A sampler's loop over a block-causal model: a prompt of 5, blocks of 4 after
 * it; each step commits one token of the current block, reports it, and asks
 * for the logits of the block. out: every step's logits. */
static size_t block_loop(fx *f, int threads, bool cached, float *out, size_t *max_rows)
{
    enum { PROMPT = 5, B = 4 };
    tdiff_denoiser *d = make(f, NTOK, threads);
    tdiff__kv_cache *c = NULL;
    if (cached)
        assert_int_equal(tdiff__kv_cache_create(d, &c), TDIFF_OK);
    int32_t x[NTOK];
    for (size_t i = 0; i < NTOK; i++)
        x[i] = i < PROMPT ? toks[i] : NV - 1; /* the mask */
    tdiff__forward_args base = {.has_block_start = true, .block_start = PROMPT};
    size_t steps = 0;
    *max_rows = 0;
    for (size_t lo = PROMPT; lo < NTOK; lo += B) {
        size_t hi = lo + B < NTOK ? lo + B : NTOK;
        uint32_t pos[B];
        for (size_t i = lo; i < hi; i++)
            pos[i - lo] = (uint32_t)i;
        for (size_t i = lo; i < hi; i++) {
            run(d, c, &base, x, NTOK, pos, hi - lo, out + steps * B * NV);
            if (c) {
                size_t computed;
                tdiff__kv_cache_last(c, &computed, NULL);
                *max_rows = computed > *max_rows ? computed : *max_rows;
                /* never a position of a later block */
                for (size_t p = hi; p < NTOK; p++)
                    assert_false(c->valid[p]);
            }
            steps++;
            x[i] = toks[i]; /* commit one token */
            const uint32_t changed = (uint32_t)i;
            if (c)
                tdiff__kv_cache_invalidate(c, &changed, 1);
        }
    }
    tdiff__kv_cache_free(d, c);
    tdiff_denoiser_free(d);
    return steps;
}

static void test_block_causal_cache_is_exact_and_computes_one_block(void **state)
{
    (void)state;
    fx f;
    open_model(&f, "mix-f32.gguf");
    static float want[NTOK * 4 * NV], got1[NTOK * 4 * NV], got2[NTOK * 4 * NV];
    size_t rows_unc, rows1, rows2;
    size_t steps = block_loop(&f, 1, false, want, &rows_unc);
    assert_int_equal(block_loop(&f, 1, true, got1, &rows1), steps);
    assert_int_equal(block_loop(&f, 2, true, got2, &rows2), steps);
    double diff = max_rel_diff(got1, want, steps * 4 * NV);
    print_message("block-causal loop, %zu steps: max relative difference %.3g, at most %zu rows per call\n", steps,
                  diff, rows1);
    assert_true(diff <= TOL);
    assert_memory_equal(got1, got2, steps * 4 * NV * sizeof(float)); /* thread count changes no bit */
    /* a call computes its block, the previous block at the block's first step
     * (its last commit), and the shifted head's row before the block */
    assert_true(rows1 <= 2 * 4 + 1);
    close_model(&f);
}

static void test_causal_cache_decodes_one_row_per_call(void **state)
{
    (void)state;
    fx f;
    open_model(&f, "llada-f32.gguf");
    tdiff_denoiser *d = make(&f, NTOK, 2);
    tdiff__kv_cache *c;
    assert_int_equal(tdiff__kv_cache_create(d, &c), TDIFF_OK);
    tdiff__forward_args base = {.attention = TDIFF_ATTENTION_CAUSAL};
    float want[NV], got[NV];
    double worst = 0;
    for (size_t n = 1; n <= NTOK; n++) {
        const uint32_t last = (uint32_t)(n - 1);
        run(d, NULL, &base, toks, n, &last, 1, want);
        run(d, c, &base, toks, n, &last, 1, got);
        size_t computed, reused;
        tdiff__kv_cache_last(c, &computed, &reused);
        assert_int_equal(computed, 1);
        assert_int_equal(reused, n - 1);
        double diff = max_rel_diff(got, want, NV);
        worst = diff > worst ? diff : worst;
    }
    print_message("causal, one row per call: max relative difference %.3g\n", worst);
    assert_true(worst <= TOL);
    tdiff__kv_cache_free(d, c);
    tdiff_denoiser_free(d);
    close_model(&f);
}

static void test_invalidate_drops_exactly_what_the_mask_reaches(void **state)
{
    (void)state;
    fx f;
    open_model(&f, "llada-f32.gguf");
    tdiff_denoiser *d = make(&f, NTOK, 1);
    tdiff__kv_cache *c;
    assert_int_equal(tdiff__kv_cache_create(d, &c), TDIFF_OK);
    float out[NV];
    struct {
        int attention;
        uint32_t changed;
        size_t first_dropped;
    } cases[] = {
        {TDIFF_ATTENTION_BLOCK_CAUSAL, 10, 9}, /* prompt 5, blocks [5,9) [9,13): block of 10 and later */
        {TDIFF_ATTENTION_BLOCK_CAUSAL, 3, 0},  /* the prompt block: every block sees it */
        {TDIFF_ATTENTION_CAUSAL, 10, 10},
        {TDIFF_ATTENTION_FULL, 19, 0},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        tdiff__forward_args base = {.attention = cases[k].attention, .block_len = 4, .has_block_start = true,
                                    .block_start = 5};
        tdiff__kv_cache_clear(c);
        const uint32_t last = NTOK - 1;
        run(d, c, &base, toks, NTOK, &last, 1, out); /* everything visible from 19: all */
        for (size_t p = 0; p < NTOK; p++)
            assert_true(c->valid[p]);
        tdiff__kv_cache_invalidate(c, &cases[k].changed, 1);
        for (size_t p = 0; p < NTOK; p++)
            if (c->valid[p] != (p < cases[k].first_dropped))
                fail_msg("case %zu: position %zu valid %d", k, p, c->valid[p]);
    }
    tdiff__kv_cache_free(d, c);
    tdiff_denoiser_free(d);
    close_model(&f);
}

static void test_another_mask_or_t_empties_the_cache(void **state)
{
    (void)state;
    fx f;
    open_model(&f, "llada-f32.gguf");
    tdiff_denoiser *d = make(&f, NTOK, 1);
    tdiff__kv_cache *c;
    assert_int_equal(tdiff__kv_cache_create(d, &c), TDIFF_OK);
    float out[NV], want[NV];
    const uint32_t p = 6;
    size_t computed;
    tdiff__forward_args full = {0}, causal = {.attention = TDIFF_ATTENTION_CAUSAL};
    run(d, c, &full, toks, NTOK, &p, 1, out);
    run(d, c, &full, toks, NTOK, &p, 1, out);
    tdiff__kv_cache_last(c, &computed, NULL);
    assert_int_equal(computed, 1);
    run(d, c, &causal, toks, NTOK, &p, 1, out); /* keys computed under the full mask are wrong here */
    tdiff__kv_cache_last(c, &computed, NULL);
    assert_int_equal(computed, 7);
    run(d, NULL, &causal, toks, NTOK, &p, 1, want);
    assert_true(max_rel_diff(out, want, NV) <= TOL);
    tdiff__kv_cache_free(d, c);
    tdiff_denoiser_free(d);
    close_model(&f);

    open_model(&f, "dit-f32.gguf"); /* time-conditioned: keys depend on t */
    d = make(&f, NTOK, 1);
    assert_int_equal(tdiff__kv_cache_create(d, &c), TDIFF_OK);
    tdiff__forward_args t1 = {.t = 0.5f}, t2 = {.t = 0.25f};
    run(d, c, &t1, toks, NTOK, &p, 1, out);
    run(d, c, &t1, toks, NTOK, &p, 1, out);
    tdiff__kv_cache_last(c, &computed, NULL);
    assert_int_equal(computed, 1);
    run(d, c, &t2, toks, NTOK, &p, 1, out);
    tdiff__kv_cache_last(c, &computed, NULL);
    assert_int_equal(computed, NTOK);
    run(d, NULL, &t2, toks, NTOK, &p, 1, want);
    assert_memory_equal(out, want, sizeof out);
    tdiff__kv_cache_free(d, c);
    tdiff_denoiser_free(d);
    close_model(&f);
}

static void test_cache_arguments_are_checked(void **state)
{
    (void)state;
    fx f;
    open_model(&f, "llada-f32.gguf");
    tdiff_denoiser *d = make(&f, NTOK, 1), *other = make(&f, NTOK, 1);
    tdiff__kv_cache *c;
    assert_int_equal(tdiff__kv_cache_create(other, &c), TDIFF_OK);
    assert_int_equal(tdiff__kv_cache_create(d, NULL), TDIFF_E_INVALID_ARGUMENT);
    float out[NV];
    const uint32_t p = 0, far = NTOK;
    tdiff__forward_args a = {.tokens = toks, .n = NTOK, .positions = &p, .n_positions = 1, .logits = out,
                             .logits_cap = NV, .cache = c};
    assert_int_equal(tdiff__denoiser_forward_ex(d, &a), TDIFF_E_INVALID_ARGUMENT);
    assert_non_null(strstr(tdiff_denoiser_last_error(d), "another denoiser"));
    a.cache = NULL;
    a.compute = &p;
    a.n_compute = 1;
    assert_int_equal(tdiff__denoiser_forward_ex(d, &a), TDIFF_E_INVALID_ARGUMENT);
    assert_non_null(strstr(tdiff_denoiser_last_error(d), "without a KV cache"));
    a.cache = c;
    a.compute = &far;
    assert_int_equal(tdiff__denoiser_forward_ex(other, &a), TDIFF_E_INVALID_ARGUMENT);
    assert_non_null(strstr(tdiff_denoiser_last_error(other), "compute position 20"));
    tdiff__kv_cache_free(other, c);
    tdiff_denoiser_free(other);
    tdiff_denoiser_free(d);
    close_model(&f);
}

static void test_cache_creation_survives_allocation_failures(void **state)
{
    (void)state;
    fx f;
    open_model(&f, "llada-f32.gguf");
    tdiff_denoiser *d = make(&f, NTOK, 1);
    for (long k = 1;; k++) {
        assert_true(k < 16);
        f.ta.fail_at = f.ta.count + k; /* the k-th allocation of this attempt */
        tdiff__kv_cache *c = (tdiff__kv_cache *)&f;
        tdiff_status st = tdiff__kv_cache_create(d, &c);
        f.ta.fail_at = 0;
        if (st == TDIFF_OK) {
            tdiff__kv_cache_free(d, c);
            break;
        }
        assert_int_equal(st, TDIFF_E_OUT_OF_MEMORY);
        assert_null(c);
    }
    tdiff_denoiser_free(d);
    close_model(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_cache_computes_everything_bit_for_bit),
        cmocka_unit_test(test_recomputing_rows_of_unchanged_inputs_matches_uncached),
        cmocka_unit_test(test_block_causal_cache_is_exact_and_computes_one_block),
        cmocka_unit_test(test_causal_cache_decodes_one_row_per_call),
        cmocka_unit_test(test_invalidate_drops_exactly_what_the_mask_reaches),
        cmocka_unit_test(test_another_mask_or_t_empties_the_cache),
        cmocka_unit_test(test_cache_arguments_are_checked),
        cmocka_unit_test(test_cache_creation_survives_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
