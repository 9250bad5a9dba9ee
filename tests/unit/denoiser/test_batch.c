/*
 * test_batch.c -- the packed batched forward (tdiff_denoiser_forward_batch,
 * lib/denoiser/forward.c): several sequences of different lengths in one pass.
 *   - every sequence's logits are bit-identical to a forward over it alone, for
 *     the full-attention llada file (F32 and Q4_0 weights), dream (shifted
 *     logits, GQA), the BERT-style MLM and the block-causal mix file, with
 *     lengths that end inside and beyond one attention tile (64 rows), position
 *     subsets and all positions, 1 and 3 threads, and the order of the
 *     sequences changed;
 *   - a batch needs the rows reserved for it: more is refused until
 *     tdiff_denoiser_reserve_batch grows the buffers, after which the single
 *     forward is unchanged;
 *   - time-conditioned models are refused (UNSUPPORTED), bad arguments are
 *     refused with a message naming the sequence, a short buffer gets
 *     BUFFER_TOO_SMALL;
 *   - reserve_batch survives allocation failures with the old buffers intact.
 * The single forward is the reference; it is itself checked against PyTorch by
 * the parity suite (tests/parity).
 */
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

#define NV 320   /* vocabulary of the tiny models (tests/parity/make_goldens.py) */
#define CTX 128  /* their context length */
#define NSEQ 5

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

/* Deterministic tokens for sequence b (an LCG: reason, no dependence on rand()). */
static void fill_tokens(int32_t *t, size_t n, uint32_t seed)
{
    uint32_t x = seed * 2654435761u + 1u;
    for (size_t i = 0; i < n; i++) {
        x = x * 1664525u + 1013904223u;
        t[i] = (int32_t)((x >> 8) % NV);
    }
}

/* Lengths: one tile and a bit (70 > 64), short ones, one token, the context. */
static const size_t lens[NSEQ] = {70, 20, 1, 33, CTX};

typedef struct batch {
    int32_t tok[NSEQ][CTX];
    const int32_t *tp[NSEQ];
    size_t n[NSEQ];
    uint32_t pos[NSEQ][8];
    const uint32_t *pp[NSEQ];
    size_t np[NSEQ];
    size_t rows; /* head rows */
} batch;

/* Sequence b of the batch: sequences 1 and 3 ask for every position, the
 * others for a few in any order, a repeat included. */
static void make_batch(batch *bt, const size_t *order)
{
    memset(bt, 0, sizeof *bt);
    for (size_t k = 0; k < NSEQ; k++) {
        size_t b = order[k], n = lens[b];
        fill_tokens(bt->tok[k], n, (uint32_t)b);
        bt->tp[k] = bt->tok[k];
        bt->n[k] = n;
        if (b == 1 || b == 3) {
            bt->pp[k] = NULL;
            bt->rows += n;
            continue;
        }
        const uint32_t want[4] = {(uint32_t)(n - 1), 0, (uint32_t)(n / 2), (uint32_t)(n - 1)};
        memcpy(bt->pos[k], want, sizeof want);
        bt->pp[k] = bt->pos[k];
        bt->np[k] = 4;
        bt->rows += 4;
    }
}

/* The batch's logits against each sequence alone, bit for bit. */
static void check_batch_equals_alone(tdiff_denoiser *d, const size_t *order)
{
    batch bt;
    make_batch(&bt, order);
    float *got = malloc(bt.rows * NV * sizeof *got), *want = malloc(CTX * NV * sizeof *want);
    assert_non_null(got);
    assert_non_null(want);
    if (tdiff_denoiser_forward_batch(d, NSEQ, bt.tp, bt.n, bt.pp, bt.np, got, bt.rows * NV))
        fail_msg("forward_batch: %s", tdiff_denoiser_last_error(d));
    size_t r = 0;
    for (size_t k = 0; k < NSEQ; k++) {
        size_t rows = bt.pp[k] ? bt.np[k] : bt.n[k];
        assert_int_equal(tdiff_denoiser_forward(d, bt.tp[k], bt.n[k], bt.pp[k], bt.np[k], want, CTX * NV), TDIFF_OK);
        if (memcmp(got + r * NV, want, rows * NV * sizeof *want) != 0) {
            size_t i = 0;
            while (got[r * NV + i] == want[i])
                i++;
            fail_msg("sequence %zu (length %zu): logit %zu of %zu differs: batched %.9g, alone %.9g", order[k],
                     bt.n[k], i, rows * NV, (double)got[r * NV + i], (double)want[i]);
        }
        r += rows;
    }
    free(got);
    free(want);
}

static void test_batch_equals_each_sequence_alone_bit_for_bit(void **state)
{
    (void)state;
    static const char *const models[] = {"llada-f32.gguf", "llada-q4_0.gguf", "dream-f32.gguf", "bert-f32.gguf",
                                         "mix-f32.gguf"};
    static const size_t orders[2][NSEQ] = {{0, 1, 2, 3, 4}, {4, 2, 0, 3, 1}};
    /* every model on one thread; the first also on 3 threads with the order changed
     * (reason: a few runs keep the test short under valgrind) */
    for (size_t mi = 0; mi < sizeof models / sizeof models[0]; mi++) {
        fx f;
        open_model(&f, models[mi]);
        for (int run = 0; run < (mi == 0 ? 2 : 1); run++) {
            tdiff_denoiser *d = NULL;
            assert_int_equal(tdiff_denoiser_create(f.m, CTX, run ? 3 : 1, &f.host, &d, NULL, 0), TDIFF_OK);
            assert_int_equal(tdiff_denoiser_reserve_batch(d, 2 * CTX + 124), TDIFF_OK);
            check_batch_equals_alone(d, orders[run]);
            tdiff_denoiser_free(d);
        }
        close_model(&f);
    }
}

static void test_batch_needs_the_rows_reserved(void **state)
{
    (void)state;
    fx f;
    open_model(&f, "llada-f32.gguf");
    tdiff_denoiser *d = NULL;
    assert_int_equal(tdiff_denoiser_create(f.m, CTX, 2, &f.host, &d, NULL, 0), TDIFF_OK);
    int32_t t[CTX];
    fill_tokens(t, CTX, 7);
    const int32_t *tp[2] = {t, t};
    size_t n[2] = {CTX, 1};
    static float out[(CTX + 1) * NV], alone[CTX * NV];
    /* CTX + 1 rows: one more than max_len */
    assert_int_equal(tdiff_denoiser_forward_batch(d, 2, tp, n, NULL, NULL, out, sizeof out / sizeof *out),
                     TDIFF_E_INVALID_ARGUMENT);
    assert_non_null(strstr(tdiff_denoiser_last_error(d), "reserve"));
    n[0] = CTX - 1; /* exactly max_len rows fit without reserving */
    assert_int_equal(tdiff_denoiser_forward_batch(d, 2, tp, n, NULL, NULL, out, sizeof out / sizeof *out), TDIFF_OK);
    n[0] = CTX;
    assert_int_equal(tdiff_denoiser_reserve_batch(d, CTX + 1), TDIFF_OK);
    int64_t max_len = 0;
    assert_int_equal(tdiff_denoiser_get_int(d, TDIFF_DENOISER_MAX_LEN, &max_len), TDIFF_OK);
    assert_int_equal(max_len, CTX); /* sequences are no longer than before */
    assert_int_equal(tdiff_denoiser_forward_batch(d, 2, tp, n, NULL, NULL, out, sizeof out / sizeof *out), TDIFF_OK);
    assert_int_equal(tdiff_denoiser_forward(d, t, CTX, NULL, 0, alone, CTX * NV), TDIFF_OK);
    assert_memory_equal(out, alone, sizeof alone);
    assert_int_equal(tdiff_denoiser_reserve_batch(d, 1), TDIFF_OK); /* below max_len: max_len */
    assert_int_equal(tdiff_denoiser_forward(d, t, CTX, NULL, 0, out, CTX * NV), TDIFF_OK);
    assert_memory_equal(out, alone, sizeof alone);
    tdiff_denoiser_free(d);
    close_model(&f);
}

static void test_batch_refuses_bad_arguments(void **state)
{
    (void)state;
    fx f;
    open_model(&f, "llada-f32.gguf");
    tdiff_denoiser *d = NULL;
    assert_int_equal(tdiff_denoiser_create(f.m, 16, 1, &f.host, &d, NULL, 0), TDIFF_OK);
    int32_t t[4] = {1, 2, 3, 4}, bad[2] = {1, NV};
    const int32_t *tp[2] = {t, bad};
    size_t n[2] = {4, 2}, np[2] = {1, 0};
    uint32_t p0 = 4;
    const uint32_t *pp[2] = {&p0, NULL};
    float out[6 * NV];
    assert_int_equal(tdiff_denoiser_forward_batch(NULL, 1, tp, n, NULL, NULL, out, 6 * NV), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_denoiser_forward_batch(d, 0, tp, n, NULL, NULL, out, 6 * NV), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_denoiser_forward_batch(d, 1, NULL, n, NULL, NULL, out, 6 * NV), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_denoiser_forward_batch(d, 1, tp, n, pp, NULL, out, 6 * NV), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_denoiser_forward_batch(d, 2, tp, n, NULL, NULL, out, 6 * NV), TDIFF_E_INVALID_ARGUMENT);
    assert_non_null(strstr(tdiff_denoiser_last_error(d), "sequence 1"));  /* the bad token */
    assert_int_equal(tdiff_denoiser_forward_batch(d, 1, tp, n, pp, np, out, 6 * NV), TDIFF_E_INVALID_ARGUMENT);
    assert_non_null(strstr(tdiff_denoiser_last_error(d), "position 4"));
    p0 = 3;
    n[1] = 0;
    tp[1] = t;
    assert_int_equal(tdiff_denoiser_forward_batch(d, 2, tp, n, pp, np, out, 6 * NV), TDIFF_E_INVALID_ARGUMENT);
    n[1] = 17; /* longer than max_len */
    assert_int_equal(tdiff_denoiser_forward_batch(d, 2, tp, n, pp, np, out, 6 * NV), TDIFF_E_INVALID_ARGUMENT);
    n[1] = 2;
    assert_int_equal(tdiff_denoiser_forward_batch(d, 2, tp, n, pp, np, out, 3 * NV - 1), TDIFF_E_BUFFER_TOO_SMALL);
    assert_int_equal(tdiff_denoiser_forward_batch(d, 2, tp, n, pp, np, out, 3 * NV), TDIFF_OK);
    assert_int_equal(tdiff_denoiser_reserve_batch(d, 0), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_denoiser_reserve_batch(NULL, 4), TDIFF_E_INVALID_ARGUMENT);
    tdiff_denoiser_free(d);
    close_model(&f);

    open_model(&f, "dit-f32.gguf");
    assert_int_equal(tdiff_denoiser_create(f.m, 16, 1, &f.host, &d, NULL, 0), TDIFF_OK);
    assert_int_equal(tdiff_denoiser_forward_batch(d, 1, tp, n, NULL, NULL, out, 6 * NV), TDIFF_E_UNSUPPORTED);
    tdiff_denoiser_free(d);
    close_model(&f);
}

static void test_reserve_survives_allocation_failures(void **state)
{
    (void)state;
    fx f;
    open_model(&f, "llada-f32.gguf");
    tdiff_denoiser *d = NULL;
    assert_int_equal(tdiff_denoiser_create(f.m, 32, 1, &f.host, &d, NULL, 0), TDIFF_OK);
    int32_t t[32];
    fill_tokens(t, 32, 3);
    static float want[32 * NV], got[32 * NV];
    assert_int_equal(tdiff_denoiser_forward(d, t, 32, NULL, 0, want, 32 * NV), TDIFF_OK);
    f.ta.fail_at = f.ta.count + 1; /* the next allocation fails */
    assert_int_equal(tdiff_denoiser_reserve_batch(d, 256), TDIFF_E_OUT_OF_MEMORY);
    f.ta.fail_at = 0;
    const int32_t *tp[2] = {t, t};
    size_t n[2] = {32, 1};
    assert_int_equal(tdiff_denoiser_forward_batch(d, 2, tp, n, NULL, NULL, got, 32 * NV), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_denoiser_forward(d, t, 32, NULL, 0, got, 32 * NV), TDIFF_OK);
    assert_memory_equal(want, got, sizeof want);
    tdiff_denoiser_free(d);
    close_model(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch_equals_each_sequence_alone_bit_for_bit),
        cmocka_unit_test(test_batch_needs_the_rows_reserved),
        cmocka_unit_test(test_batch_refuses_bad_arguments),
        cmocka_unit_test(test_reserve_survives_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
