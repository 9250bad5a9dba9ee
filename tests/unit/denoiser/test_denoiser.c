/*
 * test_denoiser.c -- the denoiser handle's contract: argument checking, the
 * positions option, the dream shift, thread-count independence, no allocation
 * per forward call, allocation-failure safety, parameters. Numerical agreement
 * with the PyTorch reference is the parity suite's job (tests/parity/).
 * Models: the tiny random files committed in tests/parity/data/.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "denoiser/denoiser.h"
#include "libtextdiff.h"
#include "support.h"

#define NV 320   /* vocabulary of the tiny models (make_goldens.py) */
#define NTOK 20

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
    tdiff_status st = tdiff_model_load_file(test_source_path(path, sizeof path, rel), &f->host, &f->m, err, sizeof err);
    if (st != TDIFF_OK)
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

static void test_create_rejects_bad_arguments(void **state)
{
    (void)state;
    fx f;
    open_model(&f, "llada-f32.gguf");
    tdiff_denoiser *d = (tdiff_denoiser *)&f;
    assert_int_equal(tdiff_denoiser_create(NULL, 8, 1, &f.host, &d, NULL, 0), TDIFF_E_INVALID_ARGUMENT);
    assert_null(d);
    assert_int_equal(tdiff_denoiser_create(f.m, 8, 1, &f.host, NULL, NULL, 0), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_denoiser_create(f.m, 0, 1, &f.host, &d, NULL, 0), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_denoiser_create(f.m, 8, 0, &f.host, &d, NULL, 0), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_denoiser_create(f.m, 8, 100000, &f.host, &d, NULL, 0), TDIFF_E_INVALID_ARGUMENT);
    /* the tiny models have a context of 128 */
    assert_int_equal(tdiff_denoiser_create(f.m, 129, 1, &f.host, &d, NULL, 0), TDIFF_E_INVALID_ARGUMENT);
    assert_null(d);
    tdiff_denoiser_free(NULL);
    close_model(&f);
}

static void test_forward_rejects_bad_arguments(void **state)
{
    (void)state;
    fx f;
    open_model(&f, "llada-f32.gguf");
    tdiff_denoiser *d = make(&f, 16, 1);
    static float out[NTOK * NV];
    int32_t bad[2] = {1, NV};
    uint32_t pos_bad[1] = {4};
    assert_int_equal(tdiff_denoiser_forward(NULL, toks, 4, NULL, 0, out, 4 * NV), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_denoiser_forward(d, NULL, 4, NULL, 0, out, 4 * NV), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_denoiser_forward(d, toks, 4, NULL, 0, NULL, 4 * NV), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_denoiser_forward(d, toks, 0, NULL, 0, out, 4 * NV), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_denoiser_forward(d, toks, 17, NULL, 0, out, 17 * NV), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_denoiser_forward(d, bad, 2, NULL, 0, out, 2 * NV), TDIFF_E_INVALID_ARGUMENT);
    assert_non_null(strstr(tdiff_denoiser_last_error(d), "token"));
    assert_int_equal(tdiff_denoiser_forward(d, toks, 4, pos_bad, 1, out, NV), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_denoiser_forward(d, toks, 4, pos_bad, 0, out, NV), TDIFF_E_INVALID_ARGUMENT);
    /* one float short of 4 rows */
    assert_int_equal(tdiff_denoiser_forward(d, toks, 4, NULL, 0, out, 4 * NV - 1), TDIFF_E_BUFFER_TOO_SMALL);
    assert_non_null(strstr(tdiff_denoiser_last_error(d), "4 x 320"));
    assert_int_equal(tdiff_denoiser_forward(d, toks, 4, NULL, 0, out, 4 * NV), TDIFF_OK);
    assert_int_equal(tdiff_denoiser_forward_t(d, toks, 4, NAN, NULL, 0, out, 4 * NV), TDIFF_E_INVALID_ARGUMENT);
    tdiff_denoiser_free(d);
    close_model(&f);
}

/* Head rows at chosen positions equal the same rows of the full logits. The
 * full run uses cblas_sgemm (20 rows), the 3-row run dot products, so the
 * tolerance is float rounding: 1e-5 * max(1, |logit|). */
static void test_positions_select_rows_of_full_logits(void **state)
{
    (void)state;
    fx f;
    open_model(&f, "llada-f32.gguf");
    tdiff_denoiser *d = make(&f, NTOK, 1);
    static float full[NTOK * NV], part[3 * NV];
    const uint32_t pos[3] = {19, 2, 19};
    assert_int_equal(tdiff_denoiser_forward(d, toks, NTOK, NULL, 0, full, NTOK * NV), TDIFF_OK);
    assert_int_equal(tdiff_denoiser_forward(d, toks, NTOK, pos, 3, part, 3 * NV), TDIFF_OK);
    for (size_t r = 0; r < 3; r++)
        for (size_t v = 0; v < NV; v++) {
            float a = full[pos[r] * NV + v], b = part[r * NV + v];
            assert_true(fabsf(a - b) <= 1e-5f * fmaxf(1.0f, fabsf(a)));
        }
    tdiff_denoiser_free(d);
    close_model(&f);
}

/* dream shifts logits: row p comes from hidden state p - 1 and row 0 from
 * itself, so rows 0 and 1 are the same hidden state through the same head. */
static void test_shifted_model_rows_zero_and_one_are_equal(void **state)
{
    (void)state;
    fx f;
    open_model(&f, "dream-f32.gguf");
    tdiff_denoiser *d = make(&f, NTOK, 1);
    int64_t v;
    assert_int_equal(tdiff_denoiser_get_int(d, TDIFF_DENOISER_SHIFT_LOGITS, &v), TDIFF_OK);
    assert_int_equal(v, 1);
    static float out[NTOK * NV];
    assert_int_equal(tdiff_denoiser_forward(d, toks, NTOK, NULL, 0, out, NTOK * NV), TDIFF_OK);
    assert_memory_equal(out, out + NV, NV * sizeof(float));
    assert_memory_not_equal(out + NV, out + 2 * NV, NV * sizeof(float));
    tdiff_denoiser_free(d);
    close_model(&f);
}

/* Bit-identical logits for 1, 2 and 3 threads, and a forward call allocates nothing. */
static void test_threads_change_no_bit_and_forward_does_not_allocate(void **state)
{
    (void)state;
    static const char *models[] = {"llada-f16.gguf", "dream-q8_0.gguf", "bert-f32.gguf", "dit-q4_0.gguf"};
    for (size_t mi = 0; mi < 4; mi++) {
        fx f;
        open_model(&f, models[mi]);
        static float ref[NTOK * NV], out[NTOK * NV];
        for (int th = 1; th <= 3; th++) {
            tdiff_denoiser *d = make(&f, NTOK, th);
            long before = f.ta.count;
            assert_int_equal(tdiff_denoiser_forward_t(d, toks, NTOK, 0.5f, NULL, 0, th == 1 ? ref : out,
                                                      NTOK * NV), TDIFF_OK);
            assert_int_equal(f.ta.count, before);
            if (th > 1)
                assert_memory_equal(ref, out, sizeof out);
            tdiff_denoiser_free(d);
        }
        close_model(&f);
    }
}

static void test_time_conditioned_model_needs_forward_t(void **state)
{
    (void)state;
    fx f;
    open_model(&f, "dit-f32.gguf");
    tdiff_denoiser *d = make(&f, 8, 1);
    static float a[4 * NV], b[4 * NV];
    int64_t v;
    assert_int_equal(tdiff_denoiser_get_int(d, TDIFF_DENOISER_TIME_CONDITIONED, &v), TDIFF_OK);
    assert_int_equal(v, 1);
    assert_int_equal(tdiff_denoiser_forward(d, toks, 4, NULL, 0, a, 4 * NV), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_denoiser_forward_t(d, toks, 4, 0.1f, NULL, 0, a, 4 * NV), TDIFF_OK);
    assert_int_equal(tdiff_denoiser_forward_t(d, toks, 4, 0.9f, NULL, 0, b, 4 * NV), TDIFF_OK);
    assert_memory_not_equal(a, b, sizeof a);  /* t reaches the network */
    tdiff_denoiser_free(d);
    close_model(&f);

    /* SEDD's scale_by_sigma needs sigma > 0; the input token's own logit is 0 */
    open_model(&f, "sedd-f32.gguf");
    d = make(&f, 8, 1);
    assert_int_equal(tdiff_denoiser_forward_t(d, toks, 4, 0.0f, NULL, 0, a, 4 * NV), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_denoiser_forward_t(d, toks, 4, 0.3f, NULL, 0, a, 4 * NV), TDIFF_OK);
    for (size_t i = 0; i < 4; i++)
        assert_true(a[i * NV + (size_t)toks[i]] == 0.0f);
    tdiff_denoiser_free(d);
    close_model(&f);
}

static void test_parameters_have_bounds_and_read_only_values(void **state)
{
    (void)state;
    fx f;
    open_model(&f, "llada-f32.gguf");
    tdiff_denoiser *d = make(&f, 12, 2);
    int64_t v;
    assert_int_equal(tdiff_denoiser_get_int(d, TDIFF_DENOISER_N_VOCAB, &v), TDIFF_OK);
    assert_int_equal(v, NV);
    assert_int_equal(tdiff_denoiser_get_int(d, TDIFF_DENOISER_N_EMBD, &v), TDIFF_OK);
    assert_int_equal(v, 64);
    assert_int_equal(tdiff_denoiser_get_int(d, TDIFF_DENOISER_MAX_LEN, &v), TDIFF_OK);
    assert_int_equal(v, 12);
    assert_int_equal(tdiff_denoiser_get_int(d, TDIFF_DENOISER_N_THREADS, &v), TDIFF_OK);
    assert_int_equal(v, 2);
    assert_int_equal(tdiff_denoiser_get_int(d, TDIFF_DENOISER_ATTENTION, &v), TDIFF_OK);
    assert_int_equal(v, TDIFF_ATTENTION_FULL);
    assert_int_equal(tdiff_denoiser_set_int(d, TDIFF_DENOISER_ATTENTION, TDIFF_ATTENTION_SPANS),
                     TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_denoiser_set_int(d, TDIFF_DENOISER_ATTENTION, 0), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_denoiser_set_int(d, TDIFF_DENOISER_BLOCK_LENGTH, 0), TDIFF_E_INVALID_ARGUMENT);
    assert_string_equal(tdiff_denoiser_last_error(d), "block_length: 0 is outside [1, 1048576]");
    assert_int_equal(tdiff_denoiser_set_int(d, TDIFF_DENOISER_N_VOCAB, 5), TDIFF_E_INVALID_ARGUMENT);
    assert_string_equal(tdiff_denoiser_last_error(d), "n_vocab is read-only");
    assert_int_equal(tdiff_denoiser_set_int(d, (tdiff_denoiser_param)77, 5), TDIFF_E_INVALID_ARGUMENT);
    assert_string_equal(tdiff_denoiser_last_error(d), "unknown denoiser parameter 77");
    assert_int_equal(tdiff_denoiser_get_int(d, (tdiff_denoiser_param)999, &v), TDIFF_E_INVALID_ARGUMENT);

    /* causal through the setter == causal through the per-call argument */
    static float a[NTOK * NV], b[NTOK * NV];
    assert_int_equal(tdiff_denoiser_set_int(d, TDIFF_DENOISER_ATTENTION, TDIFF_ATTENTION_BLOCK_CAUSAL), TDIFF_OK);
    assert_int_equal(tdiff_denoiser_set_int(d, TDIFF_DENOISER_BLOCK_LENGTH, 4), TDIFF_OK);
    assert_int_equal(tdiff_denoiser_forward(d, toks, 12, NULL, 0, a, 12 * NV), TDIFF_OK);
    tdiff__forward_args args = {.tokens = toks, .n = 12, .attention = TDIFF_ATTENTION_BLOCK_CAUSAL,
                                .block_len = 4, .logits = b, .logits_cap = 12 * NV};
    assert_int_equal(tdiff_denoiser_set_int(d, TDIFF_DENOISER_ATTENTION, TDIFF_ATTENTION_FULL), TDIFF_OK);
    assert_int_equal(tdiff__denoiser_forward_ex(d, &args), TDIFF_OK);
    assert_memory_equal(a, b, 12 * NV * sizeof(float));
    /* block-causal: the first block (positions 0..3) cannot see later tokens */
    int32_t changed[NTOK];
    memcpy(changed, toks, sizeof changed);
    changed[11] = 1;
    args.tokens = changed;
    args.logits = a;
    assert_int_equal(tdiff__denoiser_forward_ex(d, &args), TDIFF_OK);
    assert_memory_equal(a, b, 4 * NV * sizeof(float));
    assert_memory_not_equal(a + 8 * NV, b + 8 * NV, 4 * NV * sizeof(float));
    tdiff_denoiser_free(d);
    close_model(&f);
}

/* Every value of tdiff_denoiser_param, in header order, and whether it is settable. */
static const struct {
    tdiff_denoiser_param p;
    bool settable;
} all_params[] = {
    {TDIFF_DENOISER_ATTENTION, true},        {TDIFF_DENOISER_BLOCK_LENGTH, true},
    {TDIFF_DENOISER_BLOCK_START, true},
    {TDIFF_DENOISER_N_VOCAB, false},         {TDIFF_DENOISER_N_EMBD, false},
    {TDIFF_DENOISER_MAX_LEN, false},         {TDIFF_DENOISER_N_THREADS, false},
    {TDIFF_DENOISER_TIME_CONDITIONED, false}, {TDIFF_DENOISER_SHIFT_LOGITS, false},
};

static void test_every_parameter_name_round_trips_and_bounds_hold_the_defaults(void **state)
{
    (void)state;
    fx f;
    open_model(&f, "llada-f32.gguf");
    tdiff_denoiser *d = make(&f, 12, 1);
    for (size_t i = 0; i < sizeof all_params / sizeof all_params[0]; i++) {
        tdiff_denoiser_param p = all_params[i].p, back = (tdiff_denoiser_param)0;
        const char *name = tdiff_denoiser_param_name(p);
        assert_string_not_equal(name, "unknown");
        assert_int_equal(tdiff_denoiser_param_from_name(name, &back), TDIFF_OK);
        assert_int_equal(back, p);
        double lo = NAN, hi = NAN, def = NAN;
        tdiff_status st = tdiff_denoiser_param_bounds(p, &lo, &hi, &def);
        if (!all_params[i].settable) {
            assert_int_equal(st, TDIFF_E_INVALID_ARGUMENT);
            continue;
        }
        assert_int_equal(st, TDIFF_OK);
        assert_true(lo <= def && def <= hi);
        int64_t v; /* a file without attention keys starts at the library defaults */
        assert_int_equal(tdiff_denoiser_get_int(d, p, &v), TDIFF_OK);
        assert_true((double)v == def);
        assert_int_equal(tdiff_denoiser_set_int(d, p, (int64_t)hi), TDIFF_OK);
        assert_int_equal(tdiff_denoiser_set_int(d, p, (int64_t)hi + 1), TDIFF_E_INVALID_ARGUMENT);
        assert_non_null(strstr(tdiff_denoiser_last_error(d), name)); /* named, not numbered */
        assert_int_equal(tdiff_denoiser_param_bounds(p, NULL, NULL, NULL), TDIFF_OK);
    }
    assert_string_equal(tdiff_denoiser_param_name(TDIFF_DENOISER_BLOCK_LENGTH), "block_length");
    assert_string_equal(tdiff_denoiser_param_name(TDIFF_DENOISER_BLOCK_START), "block_start");
    assert_string_equal(tdiff_denoiser_param_name((tdiff_denoiser_param)4), "unknown");
    tdiff_denoiser_param p;
    assert_int_equal(tdiff_denoiser_param_from_name("block", &p), TDIFF_E_NOT_FOUND);
    assert_int_equal(tdiff_denoiser_param_from_name(NULL, &p), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_denoiser_param_from_name("n_vocab", NULL), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_denoiser_param_bounds((tdiff_denoiser_param)0, NULL, NULL, NULL), TDIFF_E_INVALID_ARGUMENT);
    tdiff_denoiser_free(d);
    close_model(&f);
}

/* Caller-provided embeddings replace token embeddings: passing E[tok] rows
 * themselves reproduces the token run exactly. */
static void test_input_embeddings_replace_token_rows(void **state)
{
    (void)state;
    fx f;
    open_model(&f, "llada-q8_0.gguf");
    tdiff_denoiser *d = make(&f, NTOK, 1);
    static float e[NTOK * 64], a[NTOK * NV], b[NTOK * NV];
    for (size_t i = 0; i < NTOK; i++)
        assert_int_equal(tdiff__denoiser_token_embedding(d, toks[i], e + i * 64), TDIFF_OK);
    assert_int_equal(tdiff__denoiser_token_embedding(d, NV, e), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff__denoiser_forward(d, toks, NTOK, NULL, 0, 0.0f, a, NTOK * NV), TDIFF_OK);
    int32_t zeros[NTOK] = {0};
    tdiff__forward_args args = {.tokens = zeros, .n = NTOK, .embd = e, .logits = b, .logits_cap = NTOK * NV};
    assert_int_equal(tdiff__denoiser_forward_ex(d, &args), TDIFF_OK);
    assert_memory_equal(a, b, sizeof a);
    tdiff_denoiser_free(d);
    close_model(&f);
}

static void test_create_survives_every_allocation_failure(void **state)
{
    (void)state;
    fx f;
    open_model(&f, "dit-f16.gguf");
    long base = f.ta.count;
    tdiff_denoiser *d = make(&f, 8, 2);
    long needed = f.ta.count - base;
    tdiff_denoiser_free(d);
    assert_true(needed >= 2);
    for (int mode = 0; mode < TEST_ALLOC_MODES; mode++) {
        f.ta.persistent = mode;
        for (long k = 1; k <= needed; k++) {
            f.ta.fail_at = f.ta.count + k;
            tdiff_denoiser *x = (tdiff_denoiser *)&f;
            tdiff_status st = tdiff_denoiser_create(f.m, 8, 2, &f.host, &x, NULL, 0);
            assert_int_equal(st, TDIFF_E_OUT_OF_MEMORY);
            assert_null(x);
        }
    }
    f.ta.fail_at = 0;
    f.ta.persistent = 0;
    close_model(&f);
}

/* Head rows beyond max_len are produced in batches of max_len rows. */
static void test_more_positions_than_max_len_are_batched(void **state)
{
    (void)state;
    fx f;
    open_model(&f, "dream-f32.gguf");
    tdiff_denoiser *d = make(&f, 8, 2);
    static float full[8 * NV], many[21 * NV];
    uint32_t pos[21];
    for (size_t r = 0; r < 21; r++)
        pos[r] = (uint32_t)((r * 5) % 8);
    assert_int_equal(tdiff_denoiser_forward(d, toks, 8, NULL, 0, full, 8 * NV), TDIFF_OK);
    assert_int_equal(tdiff_denoiser_forward(d, toks, 8, pos, 21, many, 21 * NV), TDIFF_OK);
    /* 21 rows = batches of 8, 8, 5: the last batch takes the dot-product path */
    for (size_t r = 0; r < 21; r++)
        for (size_t v = 0; v < NV; v++) {
            float a = full[pos[r] * NV + v], b = many[r * NV + v];
            assert_true(fabsf(a - b) <= 1e-5f * fmaxf(1.0f, fabsf(a)));
        }
    tdiff_denoiser_free(d);
    close_model(&f);
}

/* Byte-counting allocator: F32 weights must be used from the map, not copied. */
typedef struct counting {
    size_t live_bytes, peak_bytes;
} counting;
static void *cnt_malloc(void *ud, size_t n)
{
    counting *c = ud;
    size_t *p = malloc(n + 16);
    if (!p)
        return NULL;
    p[0] = n;
    c->live_bytes += n;
    if (c->live_bytes > c->peak_bytes)
        c->peak_bytes = c->live_bytes;
    return (char *)p + 16;
}
static void cnt_free(void *ud, void *q)
{
    counting *c = ud;
    if (!q)
        return;
    size_t *p = (size_t *)((char *)q - 16);
    c->live_bytes -= p[0];
    free(p);
}
static void *cnt_realloc(void *ud, void *q, size_t n)
{
    void *r = cnt_malloc(ud, n);
    if (r && q) {
        size_t old = ((size_t *)((char *)q - 16))[0];
        memcpy(r, q, old < n ? old : n);
        cnt_free(ud, q);
    }
    return r;
}

static void test_f32_weights_are_not_copied_and_f16_scratch_is_bounded(void **state)
{
    (void)state;
    static const char *models[] = {"llada-f32.gguf", "llada-f16.gguf"};
    for (size_t i = 0; i < 2; i++) {
        fx f;
        open_model(&f, models[i]);
        counting c = {0};
        tdiff_host h = {.struct_size = sizeof h, .malloc_fn = cnt_malloc, .realloc_fn = cnt_realloc,
                        .free_fn = cnt_free, .alloc_user_data = &c};
        tdiff_denoiser *d = NULL;
        assert_int_equal(tdiff_denoiser_create(f.m, 8, 1, &h, &d, NULL, 0), TDIFF_OK);
        static float out[8 * NV];
        assert_int_equal(tdiff_denoiser_forward(d, toks, 8, NULL, 0, out, 8 * NV), TDIFF_OK);
        /* the embedding table alone is 320 x 64 floats = 80 KiB, the F32 file 440 KiB:
         * the whole denoiser (workspace, tables, pool) stays below one table */
        print_message("%s: denoiser peak %zu bytes\n", models[i], c.peak_bytes);
        assert_true(c.peak_bytes < 320 * 64 * sizeof(float));
        tdiff_denoiser_free(d);
        assert_int_equal(c.live_bytes, 0);
        close_model(&f);
    }
}

static char last_log[512];
static void capture_log(void *ud, tdiff_log_level level, const char *msg)
{
    (void)ud;
    if (level == TDIFF_LOG_ERROR)
        snprintf(last_log, sizeof last_log, "%s", msg);
}

/* Every tensor of a file must fit the configuration its keys describe. */
static void test_create_rejects_extra_and_misshapen_tensors(void **state)
{
    (void)state;
    static const struct {
        const char *file, *needle;
        tdiff_status want;
    } cases[] = {
        {"small-ok.gguf", NULL, TDIFF_OK},
        {"bad-extra-tensor.gguf", "blk.0.attn_q.bais", TDIFF_E_BAD_FORMAT},
        {"bad-shape.gguf", "blk.0.attn_v.weight", TDIFF_E_BAD_FORMAT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fx f;
        open_model(&f, cases[i].file);
        last_log[0] = '\0';
        f.host.log_fn = capture_log;  /* a failed create has no handle: the reason is logged */
        tdiff_denoiser *d = NULL;
        tdiff_status st = tdiff_denoiser_create(f.m, 8, 1, &f.host, &d, NULL, 0);
        assert_int_equal(st, cases[i].want);
        if (st == TDIFF_OK) {
            static float out[2 * 258];
            assert_int_equal(tdiff_denoiser_forward(d, toks, 2, NULL, 0, out, 2 * 258), TDIFF_OK);
            tdiff_denoiser_free(d);
        } else {
            assert_null(d);
            assert_non_null(strstr(last_log, cases[i].needle));
        }
        close_model(&f);
    }
}

/* An architecture the denoiser does not implement is refused at creation. */
static void test_unknown_architecture_is_unsupported(void **state)
{
    (void)state;
    /* minimal GGUF v3: one key general.architecture = "gpt9", no tensors */
    static const char arch[] = "gpt9";
    uint8_t buf[128];
    size_t o = 0;
#define PUT(p, n) (memcpy(buf + o, (p), (n)), o += (n))
    uint32_t u32;
    uint64_t u64;
    PUT("GGUF", 4);
    u32 = 3, PUT(&u32, 4);
    u64 = 0, PUT(&u64, 8);
    u64 = 1, PUT(&u64, 8);
    u64 = 20, PUT(&u64, 8);
    PUT("general.architecture", 20);
    u32 = 8, PUT(&u32, 4);
    u64 = 4, PUT(&u64, 8);
    PUT(arch, 4);
#undef PUT
    test_alloc ta = {0};
    tdiff_host host;
    test_host_init(&host, &ta);
    tdiff_model *m = NULL;
    if (tdiff_model_load_memory(buf, o, &host, &m, NULL, 0) != TDIFF_OK)
        skip();  /* the loader may insist on a vocabulary; then this path is unreachable */
    tdiff_denoiser *d;
    assert_int_equal(tdiff_denoiser_create(m, 8, 1, &host, &d, NULL, 0), TDIFF_E_UNSUPPORTED);
    tdiff_model_free(m);
    assert_int_equal(ta.live, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_rejects_bad_arguments),
        cmocka_unit_test(test_forward_rejects_bad_arguments),
        cmocka_unit_test(test_positions_select_rows_of_full_logits),
        cmocka_unit_test(test_shifted_model_rows_zero_and_one_are_equal),
        cmocka_unit_test(test_threads_change_no_bit_and_forward_does_not_allocate),
        cmocka_unit_test(test_time_conditioned_model_needs_forward_t),
        cmocka_unit_test(test_parameters_have_bounds_and_read_only_values),
        cmocka_unit_test(test_every_parameter_name_round_trips_and_bounds_hold_the_defaults),
        cmocka_unit_test(test_input_embeddings_replace_token_rows),
        cmocka_unit_test(test_create_survives_every_allocation_failure),
        cmocka_unit_test(test_create_rejects_extra_and_misshapen_tensors),
        cmocka_unit_test(test_more_positions_than_max_len_are_batched),
        cmocka_unit_test(test_f32_weights_are_not_copied_and_f16_scratch_is_bounded),
        cmocka_unit_test(test_unknown_architecture_is_unsupported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
