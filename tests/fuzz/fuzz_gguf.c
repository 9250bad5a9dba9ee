/*
 * fuzz_gguf.c -- libFuzzer target over tdiff_model_load_memory: any byte string
 * must load or fail cleanly (no crash, over-read, leak, UB); a model that loads
 * is then walked through every public query and every tensor row conversion,
 * so values the loader accepted are also safe to use, and handed to the
 * modules that read files: the tokenizer (tokenize / detokenize / stream), the
 * denoiser (one forward pass of 4 tokens), the soft-mask handle, the built-in
 * sampler (one short generation). Every load is repeated with one allocation
 * failing and with every allocation from some point on failing (both must fail
 * cleanly), and no single request may exceed FUZZ_BYTES_PER_FILE_BYTE times
 * the file size plus FUZZ_FIXED_BYTES (docs/model-format.md, "Resource limits"):
 * a count the file cannot back shows up as an abort, not as paging.
 * Built by run.sh with clang (-fsanitize=fuzzer,address,undefined) and, with
 * replay.c, by meson with gcc as the 'fuzz' test suite over corpus/gguf.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "libtextdiff.h"
#include "model/model.h"

/* The documented bound on one allocation caused by a file of n bytes:
 * 16·n + 4 MiB (the fixed part: the denoiser's workspace for 4 tokens and the
 * tokenizer's fixed tables; docs/model-format.md). */
#define FUZZ_BYTES_PER_FILE_BYTE 16u
#define FUZZ_FIXED_BYTES (4u << 20)

/* Walks every metadata entry through the public getters. */
static void walk_meta(const tdiff_model *m)
{
    char key[512], buf[64];
    size_t n = tdiff_model_meta_count(m);
    for (size_t i = 0; i < n; i++) {
        size_t need;
        if (tdiff_model_meta_key(m, i, key, sizeof key, &need) != TDIFF_OK)
            continue;
        tdiff_meta_type t, et;
        size_t count = 0;
        if (tdiff_model_meta_type(m, key, &t, &et, &count) != TDIFF_OK)
            abort(); /* a listed key must be found */
        uint32_t u32;
        int32_t i32;
        uint64_t u64;
        float f;
        int b;
        (void)tdiff_model_meta_get_u32(m, key, &u32);
        (void)tdiff_model_meta_get_i32(m, key, &i32);
        (void)tdiff_model_meta_get_u64(m, key, &u64);
        (void)tdiff_model_meta_get_f32(m, key, &f);
        (void)tdiff_model_meta_get_bool(m, key, &b);
        (void)tdiff_model_meta_get_str(m, key, buf, sizeof buf, &need);
        if (t == TDIFF_META_ARRAY && count) {
            size_t idx[2] = {0, count - 1};
            for (int k = 0; k < 2; k++) {
                (void)tdiff_model_meta_get_arr_str(m, key, idx[k], buf, sizeof buf, &need);
                (void)tdiff_model_meta_get_arr_i32(m, key, idx[k], &i32);
                (void)tdiff_model_meta_get_arr_f32(m, key, idx[k], &f);
            }
        }
    }
}

/* Converts the first and last row of every tensor (rows up to 4096 values). */
static void walk_tensors(const tdiff_model *m)
{
    static float row[4096];
    for (size_t i = 0; i < m->n_tensors; i++) {
        const tdiff__tensor *t = &m->tensors[i];
        char name[64];
        memcpy(name, t->name, t->name_len);
        name[t->name_len] = '\0';
        if (tdiff__tensor_find(m, name) != t)
            abort(); /* names are unique: lookup finds this very tensor */
        int type, nd;
        int64_t ne[4];
        (void)tdiff_model_tensor_info(m, i, name, sizeof name, NULL, &type, &nd, ne);
        if (t->n_rows == 0 || t->ne[0] > 4096)
            continue;
        if (tdiff__tensor_row_to_f32(m->env.k, t, 0, row) != TDIFF_OK ||
            tdiff__tensor_row_to_f32(m->env.k, t, t->n_rows - 1, row) != TDIFF_OK)
            abort();
    }
}

static tdiff_status load_counted(const uint8_t *data, size_t size, fuzz_alloc *a, tdiff_model **m, char *err,
                                 size_t cap)
{
    tdiff_host host = fuzz_host(a);
    return tdiff_model_load_memory(data, size, &host, m, err, cap);
}

/* The tokenizer of a model that has one: tokenize the input's tail as text,
 * detokenize it, and check that streaming gives the same bytes. */
static void use_tokenizer(const tdiff_model *m, const uint8_t *data, size_t size, fuzz_alloc *a)
{
    tdiff_host host = fuzz_host(a);
    tdiff_tokenizer *tok = NULL;
    char err[256];
    if (tdiff_tokenizer_create(m, &host, &tok, err, sizeof err) != TDIFF_OK) {
        FUZZ_CHECK(!tok && err[0]);
        return;
    }
    size_t tl = size < 64 ? size : 64, n = 0, vocab = 0;
    int32_t ids[256];
    FUZZ_CHECK(tdiff_tokenizer_vocab_size(tok, &vocab) == TDIFF_OK && vocab > 0);
    tdiff_status st = tdiff_tokenizer_tokenize(tok, (const char *)data + size - tl, tl,
                                               TDIFF_TOKENIZE_ADD_SPECIAL | TDIFF_TOKENIZE_PARSE_SPECIAL, ids, 256, &n);
    FUZZ_CHECK(st == TDIFF_OK || st == TDIFF_E_BUFFER_TOO_SMALL || st == TDIFF_E_OUT_OF_MEMORY);
    if (st == TDIFF_OK) {
        char text[4096], piece[512];
        size_t len = 0, streamed = 0;
        for (size_t i = 0; i < n; i++)
            FUZZ_CHECK(ids[i] >= 0 && (size_t)ids[i] < vocab);
        if (tdiff_tokenizer_detokenize(tok, ids, n, 0, text, sizeof text, &len) == TDIFF_OK) {
            tdiff_token_stream ts;
            tdiff_token_stream_init(&ts);
            for (size_t i = 0; i < n; i++) {
                size_t got = 0;
                if (tdiff_tokenizer_stream_piece(tok, &ts, ids[i], 0, piece, sizeof piece, &got) != TDIFF_OK) {
                    tdiff_tokenizer_free(tok); /* a piece longer than our buffer */
                    return;
                }
                FUZZ_CHECK(streamed + got <= len && !memcmp(text + streamed, piece, got));
                streamed += got;
            }
            size_t got = 0;
            FUZZ_CHECK(tdiff_token_stream_flush(&ts, piece, sizeof piece, &got) == TDIFF_OK);
            FUZZ_CHECK(streamed + got == len && !memcmp(text + streamed, piece, got));
        }
    }
    tdiff_tokenizer_free(tok);
}

/* The network of a model the denoiser implements: one forward pass over 4
 * tokens (t = 0.5 for time-conditioned files). */
static void use_denoiser(const tdiff_model *m, fuzz_alloc *a)
{
    tdiff_host host = fuzz_host(a);
    tdiff_denoiser *d = NULL;
    char err[256] = "";
    if (tdiff_denoiser_create(m, 4, 1, &host, &d, err, sizeof err) != TDIFF_OK) {
        FUZZ_CHECK(!d && err[0]); /* a failure always says why */
        return;
    }
    int64_t nv = 0;
    FUZZ_CHECK(tdiff_denoiser_get_int(d, TDIFF_DENOISER_N_VOCAB, &nv) == TDIFF_OK && nv > 0);
    float *logits = malloc((size_t)nv * 4 * sizeof *logits);
    static const int32_t toks[4] = {0, 0, 0, 0};
    if (logits) {
        tdiff_status st = tdiff_denoiser_forward_t(d, toks, 4, 0.5f, NULL, 0, logits, (size_t)nv * 4);
        FUZZ_CHECK(st == TDIFF_OK || st == TDIFF_E_INVALID_ARGUMENT || st == TDIFF_E_OUT_OF_MEMORY);
        if (getenv("FUZZ_VERBOSE"))
            fprintf(stderr, "denoiser: forward %s\n", tdiff_status_string(st));
    }
    free(logits);
    tdiff_denoiser_free(d);
}

/* The soft-mask handle (reads tdiff.softmask.* keys) and one short generation
 * of the built-in sampler. */
static void use_sampler(const tdiff_model *m, fuzz_alloc *a)
{
    tdiff_host host = fuzz_host(a);
    size_t nv = 0;
    if (tdiff_model_vocab_size(m, &nv) == TDIFF_OK && nv > 0) {
        tdiff_softmask *sm = NULL;
        if (tdiff_softmask_create(m, nv, &host, &sm, NULL, 0) == TDIFF_OK)
            tdiff_softmask_free(sm);
    }
    tdiff_sampler *s = NULL;
    char err[256] = "";
    if (tdiff_sampler_create(m, &host, &s, err, sizeof err) != TDIFF_OK) {
        FUZZ_CHECK(!s && err[0]);
        return;
    }
    int32_t out[4];
    size_t n_out = 0;
    tdiff_status st = TDIFF_E_INTERNAL;
    if (tdiff_sampler_set_int(s, TDIFF_SAMPLER_GEN_LENGTH, 4) == TDIFF_OK &&
        tdiff_sampler_set_int(s, TDIFF_SAMPLER_STEPS, 2) == TDIFF_OK)
        st = tdiff_sampler_generate(s, NULL, 0, out, 4, &n_out);
    if (getenv("FUZZ_VERBOSE"))
        fprintf(stderr, "sampler: generate %s (%s)\n", tdiff_status_string(st), tdiff_sampler_last_error(s));
    if (st == TDIFF_OK) {
        FUZZ_CHECK(n_out <= 4);
        for (size_t i = 0; i < n_out; i++)
            FUZZ_CHECK(out[i] >= 0 && (size_t)out[i] < nv);
    }
    tdiff_sampler_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tdiff_model *m = NULL;
    char err[256];
    fuzz_alloc c = {0};
    c.max_bytes = FUZZ_BYTES_PER_FILE_BYTE * size + FUZZ_FIXED_BYTES;
    if (load_counted(data, size, &c, &m, err, sizeof err) != TDIFF_OK) {
        if (m || !err[0] || c.live)
            abort(); /* a failure leaves no model, no allocation, and always says why */
        return 0;
    }
    /* The same load with one allocation failing, and with every allocation from
     * some point on failing (both chosen by the input), must fail cleanly: out
     * of memory, nothing left allocated. */
    long n_allocs = c.count;
    for (int persistent = 0; persistent < 2 && n_allocs > 0; persistent++) {
        fuzz_alloc f = {0};
        f.fail_at = 1 + (long)((size / (persistent + 1)) % (size_t)n_allocs);
        f.persistent = persistent;
        tdiff_model *m2 = NULL;
        if (load_counted(data, size, &f, &m2, err, sizeof err) != TDIFF_E_OUT_OF_MEMORY || m2 || f.live)
            abort();
    }
    static const tdiff_model_param ints[] = {
        TDIFF_MODEL_N_VOCAB, TDIFF_MODEL_N_CTX, TDIFF_MODEL_N_EMBD, TDIFF_MODEL_N_LAYER, TDIFF_MODEL_N_FF,
        TDIFF_MODEL_N_HEAD, TDIFF_MODEL_N_HEAD_KV, TDIFF_MODEL_HEAD_DIM, TDIFF_MODEL_ROPE_DIM,
        TDIFF_MODEL_SHIFT_LOGITS, TDIFF_MODEL_ROPE_STYLE, TDIFF_MODEL_HAS_QKV_BIAS, TDIFF_MODEL_TIED_OUTPUT,
        TDIFF_MODEL_CAUSAL, TDIFF_MODEL_GGUF_VERSION, TDIFF_MODEL_N_TENSORS, TDIFF_MODEL_N_META,
        TDIFF_MODEL_ALIGNMENT, TDIFF_MODEL_FILE_SIZE};
    int64_t v;
    double d;
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
        (void)tdiff_model_get_int(m, ints[i], &v);
    (void)tdiff_model_get_float(m, TDIFF_MODEL_ROPE_BASE, &d);
    (void)tdiff_model_get_float(m, TDIFF_MODEL_NORM_EPS, &d);
    size_t nv = 0;
    (void)tdiff_model_vocab_size(m, &nv);
    for (int w = TDIFF_SPECIAL_BOS; w <= TDIFF_SPECIAL_CLS; w++) {
        int32_t id;
        if (tdiff_model_special_id(m, (tdiff_special_token)w, &id) == TDIFF_OK && (size_t)id >= nv)
            abort(); /* special ids are below the vocabulary size */
    }
    walk_meta(m);
    walk_tensors(m);
    /* The modules that read the file allocate through their own counting hosts,
     * under the same per-request bound. */
    fuzz_alloc u = {0};
    u.max_bytes = c.max_bytes;
    use_tokenizer(m, data, size, &u);
    use_denoiser(m, &u);
    use_sampler(m, &u);
    FUZZ_CHECK(u.live == 0);
    tdiff_model_free(m);
    if (c.live)
        abort(); /* free releases every allocation */
    return 0;
}
