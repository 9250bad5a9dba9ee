/*
 * test_vector_inputs.c -- the public vector-input forward calls
 * (tdiff_denoiser_forward_embd, tdiff_denoiser_forward_mix): token rows fed as
 * vectors reproduce token-id logits bit for bit, a mixture equals its explicit
 * weighted sum fed as vectors, the argument checks, and no allocation per call.
 * Models: the tiny random files committed in tests/parity/data/.
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

#define NV 320 /* vocabulary of the tiny models (make_goldens.py) */
#define NTOK 12
#define MAXD 128

static const int32_t toks[NTOK] = {5, 17, 300, 2, 99, 150, 150, 7, 0, 319, 44, 45};

typedef struct fx {
    test_alloc ta;
    tdiff_host host;
    tdiff_model *m;
    tdiff_denoiser *d;
    size_t dm;
} fx;

static void open_fx(fx *f, const char *name)
{
    char rel[256], path[1024], err[256] = "";
    memset(f, 0, sizeof *f);
    test_host_init(&f->host, &f->ta);
    snprintf(rel, sizeof rel, "tests/parity/data/%s", name);
    if (tdiff_model_load_file(test_source_path(path, sizeof path, rel), &f->host, &f->m, err, sizeof err) != TDIFF_OK)
        fail_msg("load %s: %s", path, err);
    assert_int_equal(tdiff_denoiser_create(f->m, 32, 1, &f->host, &f->d, NULL, 0), TDIFF_OK);
    f->dm = tdiff__denoiser_n_embd(f->d);
    assert_true(f->dm <= MAXD);
}

static void close_fx(fx *f)
{
    tdiff_denoiser_free(f->d);
    tdiff_model_free(f->m);
    assert_int_equal(f->ta.live, 0);
}

/* t used for every call: > 0 for SEDD-style files, ignored by the others. */
#define T_COND 0.7f

static float *alloc_logits(size_t rows) { return test_malloc(rows * NV * sizeof(float)); }

/* Feeding token x's own embedding row as a vector gives exactly token x's logits,
 * on every architecture (learned positions, token types, embedding norm, dream's
 * shift, time conditioning) and for quantised tables (the row is dequantised). */
static void test_token_rows_as_vectors_reproduce_token_logits_exactly(void **state)
{
    (void)state;
    const char *models[] = {"llada-f32.gguf", "dream-f32.gguf", "bert-f32.gguf", "dit-f32.gguf", "llada-q8_0.gguf",
                            "mix-q8_0.gguf"};
    for (size_t mi = 0; mi < sizeof models / sizeof models[0]; mi++) {
        fx f;
        open_fx(&f, models[mi]);
        float *embd = test_malloc(NTOK * f.dm * sizeof(float));
        for (size_t i = 0; i < NTOK; i++)
            assert_int_equal(tdiff__denoiser_token_embedding(f.d, toks[i], embd + i * f.dm), TDIFF_OK);
        float *ref = alloc_logits(NTOK), *got = alloc_logits(NTOK);
        assert_int_equal(tdiff_denoiser_forward_t(f.d, toks, NTOK, T_COND, NULL, 0, ref, NTOK * NV), TDIFF_OK);
        assert_int_equal(tdiff_denoiser_forward_embd(f.d, NULL, embd, NULL, NTOK, T_COND, NULL, 0, got, NTOK * NV),
                         TDIFF_OK);
        assert_memory_equal(ref, got, NTOK * NV * sizeof(float));
        /* half the rows from vectors, half from ids */
        uint8_t rows[NTOK];
        for (size_t i = 0; i < NTOK; i++)
            rows[i] = (uint8_t)(i % 2);
        memset(got, 0, NTOK * NV * sizeof(float));
        assert_int_equal(tdiff_denoiser_forward_embd(f.d, toks, embd, rows, NTOK, T_COND, NULL, 0, got, NTOK * NV),
                         TDIFF_OK);
        assert_memory_equal(ref, got, NTOK * NV * sizeof(float));
        /* single-entry mixtures (x, 1) and empty lists (use the id) */
        size_t off[NTOK + 1] = {0};
        int32_t ids[NTOK];
        float w[NTOK];
        size_t e = 0;
        for (size_t i = 0; i < NTOK; i++) {
            if (i % 3) {
                ids[e] = toks[i];
                w[e++] = 1.0f;
            }
            off[i + 1] = e;
        }
        memset(got, 0, NTOK * NV * sizeof(float));
        assert_int_equal(tdiff_denoiser_forward_mix(f.d, toks, NTOK, off, ids, w, T_COND, NULL, 0, got, NTOK * NV),
                         TDIFF_OK);
        assert_memory_equal(ref, got, NTOK * NV * sizeof(float));
        test_free(ref);
        test_free(got);
        test_free(embd);
        close_fx(&f);
    }
}

/* A mixture's logits equal those of its weighted sum (formed here in float64,
 * rounded once) fed through forward_embd. Tolerance: the library sums in float32
 * (rounding ~1e-7 relative per term), so logits agree to 1e-5 * max(1, |logit|).
 * Float weights only: block types (Q8_0, Q4_0, K-quants) quantise the activations
 * to 8 bits per product, where one ulp of input can move a value across a bin
 * (docs/simd.md), so the same identity holds only to the quantisation step. */
static void test_mixture_equals_explicit_weighted_sum(void **state)
{
    (void)state;
    const char *models[] = {"llada-f32.gguf", "dit-f32.gguf", "dream-f16.gguf"};
    for (size_t mi = 0; mi < sizeof models / sizeof models[0]; mi++) {
        fx f;
        open_fx(&f, models[mi]);
        /* position i mixes 1 + i % 4 tokens with uneven, partly negative weights */
        size_t off[NTOK + 1] = {0}, e = 0;
        int32_t ids[NTOK * 4];
        float w[NTOK * 4];
        for (size_t i = 0; i < NTOK; i++) {
            for (size_t j = 0; j <= i % 4; j++, e++) {
                ids[e] = (int32_t)((toks[i] + 37 * j) % NV);
                w[e] = (float)(0.9 / (double)(j + 1)) * (j == 2 ? -0.5f : 1.0f);
            }
            off[i + 1] = e;
        }
        float *embd = test_malloc(NTOK * f.dm * sizeof(float));
        float row[MAXD];
        for (size_t i = 0; i < NTOK; i++) {
            double acc[MAXD] = {0};
            for (size_t k = off[i]; k < off[i + 1]; k++) {
                assert_int_equal(tdiff__denoiser_token_embedding(f.d, ids[k], row), TDIFF_OK);
                for (size_t c = 0; c < f.dm; c++)
                    acc[c] += (double)w[k] * row[c];
            }
            for (size_t c = 0; c < f.dm; c++)
                embd[i * f.dm + c] = (float)acc[c];
        }
        const uint32_t pos[3] = {11, 0, 5};  /* the positions option works as for ids */
        float *ref = alloc_logits(3), *got = alloc_logits(3);
        assert_int_equal(tdiff_denoiser_forward_embd(f.d, NULL, embd, NULL, NTOK, T_COND, pos, 3, ref, 3 * NV),
                         TDIFF_OK);
        assert_int_equal(tdiff_denoiser_forward_mix(f.d, NULL, NTOK, off, ids, w, T_COND, pos, 3, got, 3 * NV),
                         TDIFF_OK);
        double worst = 0;
        for (size_t i = 0; i < 3 * NV; i++) {
            double dlt = fabs((double)ref[i] - got[i]) / fmax(1.0, fabs((double)ref[i]));
            worst = fmax(worst, dlt);
        }
        if (worst > 1e-5)
            fail_msg("%s: mixture vs explicit sum, worst relative difference %g > 1e-5", models[mi], worst);
        /* and the mixture is not the plain token input (the test can fail) */
        float *tok = alloc_logits(3);
        assert_int_equal(tdiff_denoiser_forward_t(f.d, toks, NTOK, T_COND, pos, 3, tok, 3 * NV), TDIFF_OK);
        assert_memory_not_equal(tok, got, 3 * NV * sizeof(float));
        test_free(tok);
        test_free(ref);
        test_free(got);
        test_free(embd);
        close_fx(&f);
    }
}

/* Every malformed input is rejected with TDIFF_E_INVALID_ARGUMENT (or
 * BUFFER_TOO_SMALL) and a message, before anything runs. */
static void test_vector_calls_reject_bad_arguments(void **state)
{
    (void)state;
    fx f;
    open_fx(&f, "llada-f32.gguf");
    float *embd = test_calloc(NTOK * f.dm, sizeof(float));
    float *lg = alloc_logits(NTOK);
    size_t cap = NTOK * NV;
    tdiff_denoiser *d = f.d;
    assert_int_equal(tdiff_denoiser_forward_embd(NULL, NULL, embd, NULL, NTOK, 0, NULL, 0, lg, cap),
                     TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_denoiser_forward_embd(d, NULL, NULL, NULL, NTOK, 0, NULL, 0, lg, cap),
                     TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_denoiser_forward_embd(d, NULL, embd, NULL, 0, 0, NULL, 0, lg, cap),
                     TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_denoiser_forward_embd(d, NULL, embd, NULL, 33, 0, NULL, 0, lg, cap),
                     TDIFF_E_INVALID_ARGUMENT);
    uint8_t rows[NTOK] = {1};
    assert_int_equal(tdiff_denoiser_forward_embd(d, NULL, embd, rows, NTOK, 0, NULL, 0, lg, cap),
                     TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_denoiser_forward_embd(d, NULL, embd, NULL, NTOK, NAN, NULL, 0, lg, cap),
                     TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_denoiser_forward_embd(d, NULL, embd, NULL, NTOK, 0, NULL, 0, lg, cap - 1),
                     TDIFF_E_BUFFER_TOO_SMALL);
    embd[3 * f.dm + 7] = INFINITY;
    assert_int_equal(tdiff_denoiser_forward_embd(d, NULL, embd, NULL, NTOK, 0, NULL, 0, lg, cap),
                     TDIFF_E_INVALID_ARGUMENT);
    assert_non_null(strstr(tdiff_denoiser_last_error(d), "not finite"));
    /* a non-finite value in a row that is NOT used (embd_rows[3] == 0) is fine */
    memset(rows, 1, sizeof rows);
    rows[3] = 0;
    assert_int_equal(tdiff_denoiser_forward_embd(d, toks, embd, rows, NTOK, 0, NULL, 0, lg, cap), TDIFF_OK);

    size_t off[NTOK + 1];
    int32_t ids[NTOK];
    float w[NTOK];
    for (size_t i = 0; i < NTOK; i++) {
        off[i] = i;
        ids[i] = toks[i];
        w[i] = 0.5f;
    }
    off[NTOK] = NTOK;
    assert_int_equal(tdiff_denoiser_forward_mix(d, NULL, NTOK, off, ids, w, 0, NULL, 0, lg, cap), TDIFF_OK);
    assert_int_equal(tdiff_denoiser_forward_mix(d, NULL, NTOK, NULL, ids, w, 0, NULL, 0, lg, cap),
                     TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_denoiser_forward_mix(d, NULL, NTOK, off, NULL, w, 0, NULL, 0, lg, cap),
                     TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_denoiser_forward_mix(d, NULL, NTOK, off, ids, NULL, 0, NULL, 0, lg, cap),
                     TDIFF_E_INVALID_ARGUMENT);
    ids[4] = NV;
    assert_int_equal(tdiff_denoiser_forward_mix(d, NULL, NTOK, off, ids, w, 0, NULL, 0, lg, cap),
                     TDIFF_E_INVALID_ARGUMENT);
    assert_non_null(strstr(tdiff_denoiser_last_error(d), "outside"));
    ids[4] = -1;
    assert_int_equal(tdiff_denoiser_forward_mix(d, NULL, NTOK, off, ids, w, 0, NULL, 0, lg, cap),
                     TDIFF_E_INVALID_ARGUMENT);
    ids[4] = 4;
    w[2] = NAN;
    assert_int_equal(tdiff_denoiser_forward_mix(d, NULL, NTOK, off, ids, w, 0, NULL, 0, lg, cap),
                     TDIFF_E_INVALID_ARGUMENT);
    w[2] = -INFINITY;
    assert_int_equal(tdiff_denoiser_forward_mix(d, NULL, NTOK, off, ids, w, 0, NULL, 0, lg, cap),
                     TDIFF_E_INVALID_ARGUMENT);
    w[2] = 0.5f;
    off[0] = 1;
    assert_int_equal(tdiff_denoiser_forward_mix(d, NULL, NTOK, off, ids, w, 0, NULL, 0, lg, cap),
                     TDIFF_E_INVALID_ARGUMENT);
    off[0] = 0;
    off[5] = 3;  /* decreasing: 4 -> 3 */
    assert_int_equal(tdiff_denoiser_forward_mix(d, NULL, NTOK, off, ids, w, 0, NULL, 0, lg, cap),
                     TDIFF_E_INVALID_ARGUMENT);
    off[5] = 4;  /* position 4 empty: needs tokens */
    assert_int_equal(tdiff_denoiser_forward_mix(d, NULL, NTOK, off, ids, w, 0, NULL, 0, lg, cap),
                     TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_denoiser_forward_mix(d, toks, NTOK, off, ids, w, 0, NULL, 0, lg, cap), TDIFF_OK);
    int32_t bad[NTOK];
    memcpy(bad, toks, sizeof bad);
    bad[4] = NV;  /* the id at an empty list is looked up, so it is checked */
    assert_int_equal(tdiff_denoiser_forward_mix(d, bad, NTOK, off, ids, w, 0, NULL, 0, lg, cap),
                     TDIFF_E_INVALID_ARGUMENT);
    off[5] = 5;
    assert_int_equal(tdiff_denoiser_forward_mix(d, toks, 0, off, ids, w, 0, NULL, 0, lg, cap),
                     TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_denoiser_forward_mix(d, toks, NTOK, off, ids, w, INFINITY, NULL, 0, lg, cap),
                     TDIFF_E_INVALID_ARGUMENT);
    test_free(lg);
    test_free(embd);
    close_fx(&f);
}

/* SEDD-style output reads the input ids, so vector calls there need tokens. */
static void test_sedd_vector_input_needs_tokens(void **state)
{
    (void)state;
    fx f;
    open_fx(&f, "sedd-f32.gguf");
    float *embd = test_malloc(NTOK * f.dm * sizeof(float));
    for (size_t i = 0; i < NTOK; i++)
        assert_int_equal(tdiff__denoiser_token_embedding(f.d, toks[i], embd + i * f.dm), TDIFF_OK);
    float *lg = alloc_logits(NTOK), *ref = alloc_logits(NTOK);
    assert_int_equal(tdiff_denoiser_forward_embd(f.d, NULL, embd, NULL, NTOK, T_COND, NULL, 0, lg, NTOK * NV),
                     TDIFF_E_INVALID_ARGUMENT);
    uint8_t rows[NTOK];
    memset(rows, 1, sizeof rows);
    assert_int_equal(tdiff_denoiser_forward_embd(f.d, toks, embd, rows, NTOK, T_COND, NULL, 0, lg, NTOK * NV),
                     TDIFF_OK);
    assert_int_equal(tdiff_denoiser_forward_t(f.d, toks, NTOK, T_COND, NULL, 0, ref, NTOK * NV), TDIFF_OK);
    assert_memory_equal(ref, lg, NTOK * NV * sizeof(float));
    test_free(lg);
    test_free(ref);
    test_free(embd);
    close_fx(&f);
}

/* Neither vector call allocates (the mixture buffer is part of the workspace). */
static void test_vector_calls_do_not_allocate(void **state)
{
    (void)state;
    fx f;
    open_fx(&f, "dit-f32.gguf");
    float *embd = test_calloc(NTOK * f.dm, sizeof(float));
    float *lg = alloc_logits(NTOK);
    size_t off[NTOK + 1];
    int32_t ids[NTOK];
    float w[NTOK];
    for (size_t i = 0; i < NTOK; i++) {
        off[i] = i;
        ids[i] = toks[i];
        w[i] = 0.25f;
    }
    off[NTOK] = NTOK;
    long before = f.ta.count;
    assert_int_equal(tdiff_denoiser_forward_embd(f.d, NULL, embd, NULL, NTOK, 0.5f, NULL, 0, lg, NTOK * NV), TDIFF_OK);
    assert_int_equal(tdiff_denoiser_forward_mix(f.d, NULL, NTOK, off, ids, w, 0.5f, NULL, 0, lg, NTOK * NV), TDIFF_OK);
    assert_int_equal(f.ta.count, before);
    test_free(lg);
    test_free(embd);
    close_fx(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_token_rows_as_vectors_reproduce_token_logits_exactly),
        cmocka_unit_test(test_mixture_equals_explicit_weighted_sum),
        cmocka_unit_test(test_vector_calls_reject_bad_arguments),
        cmocka_unit_test(test_sedd_vector_input_needs_tokens),
        cmocka_unit_test(test_vector_calls_do_not_allocate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
