/*
 * test_quantize.c -- writing re-encoded copies (tdiff_model_quantize,
 * lib/model/quants.c):
 *  - f32 -> f16 / bf16 round to nearest even, round trip every value, overflow
 *    to inf, keep NaN;
 *  - each block encoder, read back by the (numpy-verified) dequantisation
 *    kernels, stays within its error budget on many kinds of blocks;
 *  - the written file copies every metadata entry byte for byte, picks the
 *    types llama.cpp's quantizer picks (output head, _M mixes, fallbacks), does
 *    not depend on the thread count, and reports errors and aborts cleanly;
 *  - the bundled model, quantised to every type, gives logits close to F32's.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "model/model.h"
#include "simd/half.h"
#include "simd/tables.h"
#include "support.h"

/* ---- f16 / bf16 ---- */

static void test_f16_and_bf16_round_to_nearest_even_and_round_trip(void **state)
{
    (void)state;
    for (uint32_t h = 0; h < 65536; h++) {
        const float f = tdiff__f16_to_f32((uint16_t)h);
        if (isnan(f)) {
            assert_true(isnan(tdiff__f16_to_f32(tdiff__f32_to_f16(f))));
            continue;
        }
        assert_int_equal(tdiff__f32_to_f16(f), h); /* every f16 value round-trips, subnormals and -0 included */
        const float b = tdiff__bf16_to_f32((uint16_t)h);
        if (!isnan(b))
            assert_int_equal(tdiff__f32_to_bf16(b), h);
        /* the midpoint to the next value up (same sign) goes to the even neighbour */
        if ((h & 0x7fff) < 0x7bff) {
            const double mid = 0.5 * ((double)f + (double)tdiff__f16_to_f32((uint16_t)(h + 1)));
            assert_int_equal(tdiff__f32_to_f16((float)mid), (h & 1) ? h + 1 : h);
        }
    }
    assert_int_equal(tdiff__f32_to_f16(65519.99f), 0x7bff);
    assert_int_equal(tdiff__f32_to_f16(65520.0f), 0x7c00);
    assert_int_equal(tdiff__f32_to_f16(-1e30f), 0xfc00);
    assert_int_equal(tdiff__f32_to_f16(INFINITY), 0x7c00);
    assert_true(isnan(tdiff__f16_to_f32(tdiff__f32_to_f16(NAN))));
    assert_int_equal(tdiff__f32_to_f16(0x1p-25f), 0x0000);          /* half the smallest subnormal: to even (0) */
    assert_int_equal(tdiff__f32_to_f16(0x1.8p-24f), 0x0002);        /* 1.5 subnormal steps: to even (2) */
    assert_int_equal(tdiff__f32_to_bf16(tdiff__f32_from_bits(0x3f808000u)), 0x3f80); /* tie: even */
    assert_int_equal(tdiff__f32_to_bf16(tdiff__f32_from_bits(0x3f818000u)), 0x3f82);
    assert_int_equal(tdiff__f32_to_bf16(3.4e38f), 0x7f80);          /* overflow */
}

/* ---- block encoders ---- */

static uint32_t rng = 99;
static float gauss(void)
{
    float u1, u2;
    do {
        rng = rng * 1664525u + 1013904223u;
        u1 = (float)(rng >> 8) / 16777216.0f;
    } while (u1 <= 0.0f);
    rng = rng * 1664525u + 1013904223u;
    u2 = (float)(rng >> 8) / 16777216.0f;
    return sqrtf(-2.0f * logf(u1)) * cosf(6.2831853f * u2);
}

static void decode(uint32_t type, const void *blocks, size_t n, float *y)
{
    const tdiff__kernels *k = &tdiff__kernels_scalar;
    switch (type) {
    case TDIFF__GGML_F16: k->f16_to_f32(y, blocks, n); break;
    case TDIFF__GGML_BF16: k->bf16_to_f32(y, blocks, n); break;
    case TDIFF__GGML_Q8_0: k->dequant_q8_0(y, blocks, n); break;
    case TDIFF__GGML_Q4_0: k->dequant_q4_0(y, blocks, n); break;
    case TDIFF__GGML_Q4_K: k->dequant_q4_k(y, blocks, n); break;
    case TDIFF__GGML_Q5_K: k->dequant_q5_k(y, blocks, n); break;
    default: k->dequant_q6_k(y, blocks, n); break;
    }
}

/* Relative RMS error budgets on Gaussian rows with outliers (the data are
 * fixed, so the measured values repeat exactly) and a worst element below half the row's
 * largest magnitude whatever the data (down to the f16 range's floor). */
static const struct {
    uint32_t type;
    double rms;
} budgets[] = {
    {TDIFF__GGML_F16, 4e-4},   /* measured 2.1e-4 (2^-11 relative rounding) */
    {TDIFF__GGML_BF16, 3e-3},  /* measured 1.65e-3 (2^-8) */
    {TDIFF__GGML_Q8_0, 8e-3},  /* measured 6.4e-3 */
    {TDIFF__GGML_Q4_0, 0.12},  /* measured 0.106 */
    {TDIFF__GGML_Q4_K, 0.10},  /* measured 0.084 */
    {TDIFF__GGML_Q5_K, 0.05},  /* measured 0.039 */
    {TDIFF__GGML_Q6_K, 0.026}, /* measured 0.0226 */
};

static void test_block_encoders_stay_within_their_error_budgets(void **state)
{
    (void)state;
    enum { N = 4096 };
    static float x[N], y[N];
    static uint8_t blocks[N * 4];
    for (size_t t = 0; t < sizeof budgets / sizeof budgets[0]; t++) {
        const uint32_t type = budgets[t].type;
        /* Gaussian rows with a few outliers: the budget */
        for (size_t i = 0; i < N; i++)
            x[i] = gauss() * (i % 509 == 0 ? 8.0f : 1.0f);
        assert_int_equal(tdiff__quantize_row(type, x, N, blocks), TDIFF_OK);
        decode(type, blocks, N, y);
        double se = 0, sx = 0;
        for (size_t i = 0; i < N; i++)
            se += ((double)y[i] - x[i]) * ((double)y[i] - x[i]), sx += (double)x[i] * x[i];
        const double rel = sqrt(se / sx);
        print_message("type %2u: relative rms error %.2e (budget %.1e)\n", type, rel, budgets[t].rms);
        assert_true(rel <= budgets[t].rms);
        /* odd rows: zeros, constants, one spike, tiny and huge values, all-negative */
        static const float scales[] = {0.0f, 1e-30f, 1e-6f, 1.0f, 1e4f}; /* 1e4: 4 sigma stays below f16's 65504 */
        for (size_t s = 0; s < sizeof scales / sizeof scales[0]; s++)
            for (int kind = 0; kind < 4; kind++) {
                float amax = 0;
                for (size_t i = 0; i < 512; i++) {
                    const float v = kind == 0 ? 1.0f : kind == 1 ? (i == 7 ? 1.0f : 0.0f)
                                    : kind == 2 ? -fabsf(gauss()) : gauss();
                    x[i] = v * scales[s];
                    amax = fmaxf(amax, fabsf(x[i]));
                }
                assert_int_equal(tdiff__quantize_row(type, x, 512, blocks), TDIFF_OK);
                decode(type, blocks, 512, y);
                /* below what the format's f16 numbers reach, values may flush to 0:
                 * F16 values under 2^-25, block scales under 2^-24 (values ~1e-5) */
                const float floor = type == TDIFF__GGML_BF16 ? 0.0f : type == TDIFF__GGML_F16 ? 3e-8f : 1e-5f;
                for (size_t i = 0; i < 512; i++)
                    if (!(fabsf(y[i] - x[i]) <= 0.5f * amax + floor))
                        fail_msg("type %u, scale %g, kind %d: x[%zu] = %g decoded as %g", type, (double)scales[s], kind,
                                 i, (double)x[i], (double)y[i]);
            }
    }
    /* block types need finite values; F16 carries them */
    x[3] = NAN;
    assert_int_equal(tdiff__quantize_row(TDIFF__GGML_Q4_K, x, 256, blocks), TDIFF_E_BAD_FORMAT);
    assert_int_equal(tdiff__quantize_row(TDIFF__GGML_F16, x, 256, blocks), TDIFF_OK);
    assert_int_equal(tdiff__quantize_row(TDIFF__GGML_Q8_0, x, 33, blocks), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff__quantize_row(99, x, 32, blocks), TDIFF_E_INVALID_ARGUMENT);
}

/* ---- whole files ---- */

/* A growing GGUF v3 writer for a synthetic model (any architecture loads). */
typedef struct wbuf {
    uint8_t *p;
    size_t n, cap;
} wbuf;

static void wput(wbuf *b, const void *s, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2;
        b->p = realloc(b->p, b->cap);
        assert_non_null(b->p);
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
}
static void wle(wbuf *b, uint64_t v, int n)
{
    for (int i = 0; i < n; i++) {
        const uint8_t c = (uint8_t)(v >> (8 * i));
        wput(b, &c, 1);
    }
}
static void wstr(wbuf *b, const char *s)
{
    wle(b, strlen(s), 8);
    wput(b, s, strlen(s));
}

typedef struct syn_tensor {
    char name[48];
    size_t ne0, ne1; /* ne1 = 0: a vector */
} syn_tensor;

enum { SYN_LAYERS = 8, SYN_D = 256, SYN_MAX = 64 };

/* token_embd, 8 layers of attn_q/attn_v/ffn_down/attn_norm, a position table,
 * two tensors whose rows no K-quant blocks (96 and 40 values), output. */
static size_t syn_tensors(syn_tensor *t, int with_output)
{
    size_t n = 0;
    snprintf(t[n].name, sizeof t[n].name, "token_embd.weight"), t[n].ne0 = SYN_D, t[n++].ne1 = 100;
    snprintf(t[n].name, sizeof t[n].name, "position_embd.weight"), t[n].ne0 = SYN_D, t[n++].ne1 = 8;
    for (int l = 0; l < SYN_LAYERS; l++) {
        snprintf(t[n].name, sizeof t[n].name, "blk.%d.attn_norm.weight", l), t[n].ne0 = SYN_D, t[n++].ne1 = 0;
        snprintf(t[n].name, sizeof t[n].name, "blk.%d.attn_q.weight", l), t[n].ne0 = SYN_D, t[n++].ne1 = 64;
        snprintf(t[n].name, sizeof t[n].name, "blk.%d.attn_v.weight", l), t[n].ne0 = SYN_D, t[n++].ne1 = 64;
        snprintf(t[n].name, sizeof t[n].name, "blk.%d.ffn_down.weight", l), t[n].ne0 = 2 * SYN_D, t[n++].ne1 = 32;
    }
    snprintf(t[n].name, sizeof t[n].name, "odd96.weight"), t[n].ne0 = 96, t[n++].ne1 = 4;
    snprintf(t[n].name, sizeof t[n].name, "odd40.weight"), t[n].ne0 = 40, t[n++].ne1 = 4;
    if (with_output)
        snprintf(t[n].name, sizeof t[n].name, "output.weight"), t[n].ne0 = SYN_D, t[n++].ne1 = 100;
    return n;
}

static uint8_t *syn_model(int with_output, float poison, size_t *size)
{
    syn_tensor t[SYN_MAX];
    const size_t nt = syn_tensors(t, with_output);
    wbuf b = {0};
    wput(&b, "GGUF", 4);
    wle(&b, 3, 4);
    wle(&b, nt, 8);
    wle(&b, 4, 8);
    wstr(&b, "general.architecture"), wle(&b, 8, 4), wstr(&b, "synthetic");
    wstr(&b, "general.file_type"), wle(&b, 4, 4), wle(&b, 0, 4);
    wstr(&b, "tokenizer.ggml.tokens"), wle(&b, 9, 4), wle(&b, 8, 4), wle(&b, 2, 8), wstr(&b, "a"), wstr(&b, "b\xc3\xa9");
    wstr(&b, "synthetic.values"), wle(&b, 9, 4), wle(&b, 6, 4), wle(&b, 3, 8);
    const float vals[3] = {1.5f, -2.0f, 0.25f};
    wput(&b, vals, sizeof vals);
    uint64_t off = 0;
    for (size_t i = 0; i < nt; i++) {
        wstr(&b, t[i].name);
        wle(&b, t[i].ne1 ? 2 : 1, 4);
        wle(&b, t[i].ne0, 8);
        if (t[i].ne1)
            wle(&b, t[i].ne1, 8);
        wle(&b, 0, 4); /* F32 */
        wle(&b, off, 8);
        off += (t[i].ne0 * (t[i].ne1 ? t[i].ne1 : 1) * 4 + 31) / 32 * 32;
    }
    while (b.n % 32)
        wle(&b, 0, 1);
    for (size_t i = 0; i < nt; i++) {
        const size_t n = t[i].ne0 * (t[i].ne1 ? t[i].ne1 : 1);
        for (size_t e = 0; e < n; e++) {
            const float v = (i == 3 && e == 5) ? poison : gauss() * 0.02f;
            wput(&b, &v, 4);
        }
        while (b.n % 32)
            wle(&b, 0, 1);
    }
    *size = b.n;
    return b.p;
}

static char g_out[512];

static int setup_out(void **state)
{
    (void)state;
    snprintf(g_out, sizeof g_out, "%s/quantize-test-%ld.gguf", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
             (long)getpid());
    return 0;
}

static int teardown_out(void **state)
{
    (void)state;
    char part[600];
    snprintf(part, sizeof part, "%s.part", g_out);
    remove(g_out);
    remove(part);
    return 0;
}

static tdiff_model *load_buf(const uint8_t *p, size_t n)
{
    tdiff_model *m = NULL;
    char err[256];
    if (tdiff_model_load_memory(p, n, NULL, &m, err, sizeof err) != TDIFF_OK)
        fail_msg("synthetic model does not load: %s", err);
    return m;
}

static uint32_t type_of(const tdiff_model *m, const char *name)
{
    const tdiff__tensor *t = tdiff__tensor_find(m, name);
    assert_non_null(t);
    return t->type;
}

typedef struct progress_log {
    size_t calls, stop_at;
} progress_log;

static int on_progress(void *ud, const tdiff_quantize_tensor *t)
{
    progress_log *p = ud;
    assert_int_equal(t->index, p->calls);
    assert_non_null(t->name);
    p->calls++;
    return p->stop_at && p->calls == p->stop_at;
}

static void test_quantize_picks_llama_cpp_types_and_copies_metadata(void **state)
{
    (void)state;
    size_t n;
    uint8_t *src = syn_model(1, 0.5f, &n);
    tdiff_model *m = load_buf(src, n);
    char err[256], name[64];
    progress_log log = {0, 0};
    assert_int_equal(tdiff_model_quantize(m, g_out, TDIFF_QUANT_Q4_K_M, 2, on_progress, &log, err, sizeof err), TDIFF_OK);
    assert_int_equal(log.calls, m->n_tensors);
    tdiff_model *q = test_load_model(g_out, NULL);
    /* metadata: every entry as it was, file type = llama.cpp's Q4_K_M (15), version 2 */
    assert_int_equal(q->n_meta, m->n_meta + 1);
    for (size_t i = 0; i < m->n_meta; i++) {
        const tdiff__meta *a = &m->meta[i];
        if (a->key_len == 17 && !memcmp(a->key, "general.file_type", 17))
            continue;
        const tdiff__meta *b = &q->meta[i];
        assert_int_equal(a->key_len, b->key_len);
        assert_memory_equal(a->key, b->key, a->key_len);
        assert_int_equal(a->type, b->type);
        assert_int_equal(a->count, b->count);
        assert_int_equal(a->nbytes, b->nbytes);
        assert_memory_equal(a->data, b->data, a->nbytes);
    }
    uint32_t v;
    assert_int_equal(tdiff__meta_get_u32(q, "general.file_type", &v), TDIFF_OK);
    assert_int_equal(v, 15);
    assert_int_equal(tdiff__meta_get_u32(q, "general.quantization_version", &v), TDIFF_OK);
    assert_int_equal(v, 2);
    /* types: llama.cpp's Q4_K_M rules */
    assert_int_equal(type_of(q, "output.weight"), TDIFF__GGML_Q6_K);
    assert_int_equal(type_of(q, "token_embd.weight"), TDIFF__GGML_Q4_K);
    assert_int_equal(type_of(q, "position_embd.weight"), TDIFF__GGML_F32);
    assert_int_equal(type_of(q, "odd96.weight"), TDIFF__GGML_Q8_0); /* 96 values: no 256-block, Q8_0 */
    assert_int_equal(type_of(q, "odd40.weight"), TDIFF__GGML_F16);  /* 40: not even a 32-block */
    for (int l = 0; l < SYN_LAYERS; l++) {
        /* use_more_bits over 8 layers: 0 (first eighth), 7 (last eighth), 3 and 6 ((l - 1) % 3 == 2) */
        const uint32_t more = l == 0 || l == 3 || l == 6 || l == 7 ? TDIFF__GGML_Q6_K : TDIFF__GGML_Q4_K;
        snprintf(name, sizeof name, "blk.%d.attn_v.weight", l);
        assert_int_equal(type_of(q, name), more);
        snprintf(name, sizeof name, "blk.%d.ffn_down.weight", l);
        assert_int_equal(type_of(q, name), more);
        snprintf(name, sizeof name, "blk.%d.attn_q.weight", l);
        assert_int_equal(type_of(q, name), TDIFF__GGML_Q4_K);
        snprintf(name, sizeof name, "blk.%d.attn_norm.weight", l);
        assert_int_equal(type_of(q, name), TDIFF__GGML_F32);
    }
    /* values: decoded within the Q4_K budget of the originals; vectors exact */
    const tdiff__tensor *a = tdiff__tensor_find(m, "blk.2.attn_q.weight"), *b = tdiff__tensor_find(q, "blk.2.attn_q.weight");
    static float fa[256 * 64], fb[256 * 64];
    assert_int_equal(tdiff__tensor_rows_to_f32(&tdiff__kernels_scalar, a, 0, a->n_rows, fa), TDIFF_OK);
    assert_int_equal(tdiff__tensor_rows_to_f32(&tdiff__kernels_scalar, b, 0, b->n_rows, fb), TDIFF_OK);
    double se = 0, sx = 0;
    for (size_t i = 0; i < a->n_elems; i++)
        se += ((double)fb[i] - fa[i]) * ((double)fb[i] - fa[i]), sx += (double)fa[i] * fa[i];
    assert_true(sqrt(se / sx) < 0.11);
    a = tdiff__tensor_find(m, "blk.5.attn_norm.weight"), b = tdiff__tensor_find(q, "blk.5.attn_norm.weight");
    assert_memory_equal(a->data, b->data, a->nbytes);
    tdiff_model_free(q);
    /* without output.weight the tied token_embd takes the head's Q6_K */
    tdiff_model_free(m);
    free(src);
    src = syn_model(0, 0.5f, &n);
    m = load_buf(src, n);
    assert_int_equal(tdiff_model_quantize(m, g_out, TDIFF_QUANT_Q5_K_M, 1, NULL, NULL, err, sizeof err), TDIFF_OK);
    q = test_load_model(g_out, NULL);
    assert_int_equal(type_of(q, "token_embd.weight"), TDIFF__GGML_Q6_K);
    assert_int_equal(type_of(q, "blk.1.attn_q.weight"), TDIFF__GGML_Q5_K);
    assert_int_equal(type_of(q, "blk.3.ffn_down.weight"), TDIFF__GGML_Q6_K);
    tdiff_model_free(q);
    /* Q8_0 keeps its head in Q8_0; F16 touches every weight, the head too */
    assert_int_equal(tdiff_model_quantize(m, g_out, TDIFF_QUANT_Q8_0, 1, NULL, NULL, err, sizeof err), TDIFF_OK);
    q = test_load_model(g_out, NULL);
    assert_int_equal(type_of(q, "token_embd.weight"), TDIFF__GGML_Q8_0);
    assert_int_equal(type_of(q, "odd40.weight"), TDIFF__GGML_F16);
    tdiff_model_free(q);
    assert_int_equal(tdiff_model_quantize(m, g_out, TDIFF_QUANT_F16, 1, NULL, NULL, err, sizeof err), TDIFF_OK);
    q = test_load_model(g_out, NULL);
    assert_int_equal(type_of(q, "token_embd.weight"), TDIFF__GGML_F16);
    assert_int_equal(type_of(q, "odd40.weight"), TDIFF__GGML_F16);
    assert_int_equal(type_of(q, "position_embd.weight"), TDIFF__GGML_F32);
    tdiff_model_free(q);
    tdiff_model_free(m);
    free(src);
}

static uint8_t *read_all(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc(*n);
    assert_int_equal(fread(p, 1, *n, f), *n);
    fclose(f);
    return p;
}

static void test_quantized_bytes_do_not_depend_on_the_thread_count(void **state)
{
    (void)state;
    size_t n, n1, n3;
    uint8_t *src = syn_model(1, 0.5f, &n);
    tdiff_model *m = load_buf(src, n);
    char err[256];
    static const tdiff_quant_type types[] = {TDIFF_QUANT_Q4_0, TDIFF_QUANT_Q6_K, TDIFF_QUANT_Q5_K_M, TDIFF_QUANT_BF16};
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
        assert_int_equal(tdiff_model_quantize(m, g_out, types[t], 1, NULL, NULL, err, sizeof err), TDIFF_OK);
        uint8_t *one = read_all(g_out, &n1);
        assert_int_equal(tdiff_model_quantize(m, g_out, types[t], 3, NULL, NULL, err, sizeof err), TDIFF_OK);
        uint8_t *three = read_all(g_out, &n3);
        assert_int_equal(n1, n3);
        assert_memory_equal(one, three, n1);
        free(one);
        free(three);
    }
    tdiff_model_free(m);
    free(src);
}

static void test_quantize_refuses_bad_calls_and_stops_cleanly(void **state)
{
    (void)state;
    size_t n;
    uint8_t *src = syn_model(1, 0.5f, &n);
    tdiff_model *m = load_buf(src, n);
    char err[256], part[600];
    snprintf(part, sizeof part, "%s.part", g_out);
    remove(g_out);
    assert_int_equal(tdiff_model_quantize(NULL, g_out, TDIFF_QUANT_Q8_0, 1, NULL, NULL, err, sizeof err),
                     TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_model_quantize(m, NULL, TDIFF_QUANT_Q8_0, 1, NULL, NULL, err, sizeof err),
                     TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_model_quantize(m, g_out, (tdiff_quant_type)0, 1, NULL, NULL, err, sizeof err),
                     TDIFF_E_INVALID_ARGUMENT);
    assert_non_null(strstr(err, "tdiff_quant_type"));
    assert_int_equal(tdiff_model_quantize(m, g_out, TDIFF_QUANT_Q8_0, 0, NULL, NULL, err, sizeof err),
                     TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_model_quantize(m, "/nonexistent-dir/x.gguf", TDIFF_QUANT_Q8_0, 1, NULL, NULL, err,
                                          sizeof err), TDIFF_E_IO);
    assert_non_null(strstr(err, "/nonexistent-dir/x.gguf.part"));
    /* a callback that says stop: no file is left behind */
    progress_log log = {0, 3};
    assert_int_equal(tdiff_model_quantize(m, g_out, TDIFF_QUANT_Q4_K, 2, on_progress, &log, err, sizeof err),
                     TDIFF_E_ABORTED);
    assert_int_equal(log.calls, 3);
    assert_int_not_equal(access(g_out, F_OK), 0);
    assert_int_not_equal(access(part, F_OK), 0);
    tdiff_model_free(m);
    free(src);
    /* a non-finite weight cannot go into blocks (but into F16) */
    src = syn_model(1, INFINITY, &n);
    m = load_buf(src, n);
    assert_int_equal(tdiff_model_quantize(m, g_out, TDIFF_QUANT_Q8_0, 2, NULL, NULL, err, sizeof err),
                     TDIFF_E_BAD_FORMAT);
    assert_non_null(strstr(err, "not finite"));
    assert_int_not_equal(access(part, F_OK), 0);
    assert_int_equal(tdiff_model_quantize(m, g_out, TDIFF_QUANT_F16, 2, NULL, NULL, err, sizeof err), TDIFF_OK);
    tdiff_model_free(m);
    free(src);
}

/* ---- the bundled model ---- */

static void logits_of(const tdiff_model *m, const int32_t *tok, size_t n, float *out, size_t cap)
{
    tdiff_denoiser *d = NULL;
    char err[256];
    assert_int_equal(tdiff_denoiser_create(m, n, 2, NULL, &d, err, sizeof err), TDIFF_OK);
    assert_int_equal(tdiff_denoiser_forward(d, tok, n, NULL, 0, out, cap), TDIFF_OK);
    tdiff_denoiser_free(d);
}

static void test_quantized_bundled_model_stays_close_to_f32(void **state)
{
    (void)state;
    char path[1024];
    test_source_path(path, sizeof path, "models/austen-llada.gguf");
    tdiff_model *m = test_load_model(path, NULL);
    size_t V = 0;
    assert_int_equal(tdiff_model_vocab_size(m, &V), TDIFF_OK);
    enum { N = 24 };
    int32_t tok[N];
    for (size_t i = 0; i < N; i++)
        tok[i] = (int32_t)((i * 37 + 5) % (V - 1));
    float *ref = malloc(N * V * sizeof *ref), *got = malloc(N * V * sizeof *got);
    logits_of(m, tok, N, ref, N * V);
    /* max |diff| / max |ref| per type; measured 2.0e-4, 0.0081, 0.0174, 0.107 */
    static const struct {
        tdiff_quant_type type;
        double tol;
    } cases[] = {{TDIFF_QUANT_F16, 0.002}, {TDIFF_QUANT_Q8_0, 0.02}, {TDIFF_QUANT_Q6_K, 0.04},
                 {TDIFF_QUANT_Q4_K_M, 0.2}};
    char err[256];
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        assert_int_equal(tdiff_model_quantize(m, g_out, cases[c].type, 2, NULL, NULL, err, sizeof err), TDIFF_OK);
        tdiff_model *q = test_load_model(g_out, NULL);
        logits_of(q, tok, N, got, N * V);
        double dmax = 0, rmax = 0;
        for (size_t i = 0; i < N * V; i++)
            dmax = fmax(dmax, fabs((double)got[i] - ref[i])), rmax = fmax(rmax, fabs((double)ref[i]));
        print_message("type %d: max |diff| / max |ref| = %.4f (tolerance %.3f)\n", (int)cases[c].type, dmax / rmax,
                      cases[c].tol);
        assert_true(dmax / rmax <= cases[c].tol);
        tdiff_model_free(q);
    }
    free(ref);
    free(got);
    tdiff_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_f16_and_bf16_round_to_nearest_even_and_round_trip),
        cmocka_unit_test(test_block_encoders_stay_within_their_error_budgets),
        cmocka_unit_test_setup_teardown(test_quantize_picks_llama_cpp_types_and_copies_metadata, setup_out,
                                        teardown_out),
        cmocka_unit_test_setup_teardown(test_quantized_bytes_do_not_depend_on_the_thread_count, setup_out,
                                        teardown_out),
        cmocka_unit_test_setup_teardown(test_quantize_refuses_bad_calls_and_stops_cleanly, setup_out, teardown_out),
        cmocka_unit_test_setup_teardown(test_quantized_bundled_model_stays_close_to_f32, setup_out, teardown_out),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
