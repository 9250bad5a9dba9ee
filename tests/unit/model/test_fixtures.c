/*
 * test_fixtures.c -- the llama.cpp-written fixtures (tests/fixtures, by
 * gguf-py) and our tiny generated models load and report exactly the
 * hyper-parameters, keys and tensors their README lists; the public queries
 * and internal getters obey their documented status codes.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "model/model.h"
#include "support.h"

static tdiff_model *load_path(const char *path, test_alloc *state)
{
    tdiff_host host;
    test_host_init(&host, state);
    tdiff_model *m = test_load_model(path, &host);
    assert_non_null(m);
    return m;
}

static tdiff_model *load_fixture(const char *name, test_alloc *state)
{
    char path[1024];
    return load_path(test_fixture_path(path, sizeof path, name), state);
}

static int64_t geti(const tdiff_model *m, tdiff_model_param p)
{
    int64_t v = -12345;
    assert_int_equal(tdiff_model_get_int(m, p, &v), TDIFF_OK);
    return v;
}

static double getf(const tdiff_model *m, tdiff_model_param p)
{
    double v = NAN;
    assert_int_equal(tdiff_model_get_float(m, p, &v), TDIFF_OK);
    return v;
}

static int32_t special(const tdiff_model *m, tdiff_special_token w)
{
    int32_t id = -7;
    tdiff_status st = tdiff_model_special_id(m, w, &id);
    if (st == TDIFF_E_NOT_FOUND)
        return -1;
    assert_int_equal(st, TDIFF_OK);
    return id;
}

/* The llama.cpp-side facts both fixtures share (README). */
static void check_common(const tdiff_model *m)
{
    assert_int_equal(geti(m, TDIFF_MODEL_N_VOCAB), 2048);
    assert_int_equal(geti(m, TDIFF_MODEL_N_CTX), 4096);
    assert_int_equal(geti(m, TDIFF_MODEL_N_EMBD), 64);
    assert_int_equal(geti(m, TDIFF_MODEL_N_LAYER), 2);
    assert_int_equal(geti(m, TDIFF_MODEL_N_FF), 172);
    assert_int_equal(geti(m, TDIFF_MODEL_N_HEAD), 4);
    assert_int_equal(geti(m, TDIFF_MODEL_HEAD_DIM), 16);
    assert_int_equal(geti(m, TDIFF_MODEL_ROPE_DIM), 16);
    assert_int_equal(geti(m, TDIFF_MODEL_TIED_OUTPUT), 0);
    assert_int_equal(geti(m, TDIFF_MODEL_CAUSAL), 0);
    assert_int_equal(geti(m, TDIFF_MODEL_GGUF_VERSION), 3);
    assert_int_equal(geti(m, TDIFF_MODEL_ALIGNMENT), 32);
    assert_int_equal(special(m, TDIFF_SPECIAL_BOS), 2046);
    assert_int_equal(special(m, TDIFF_SPECIAL_EOS), 2046);
    assert_int_equal(special(m, TDIFF_SPECIAL_MASK), 2047);
    assert_int_equal(special(m, TDIFF_SPECIAL_PAD), -1);
    assert_int_equal(special(m, TDIFF_SPECIAL_UNK), -1);
    assert_int_equal(special(m, TDIFF_SPECIAL_SEP), -1);
    assert_int_equal(special(m, TDIFF_SPECIAL_CLS), -1);
    size_t nv = 0;
    assert_int_equal(tdiff_model_vocab_size(m, &nv), TDIFF_OK);
    assert_int_equal(nv, 2048);
}

/* Parameters: embeddings + output 2*64*2048, per layer 2 norms + q + o (64x64) +
 * k, v (64 x d_kv) + 3 FFN (64x172) [+ biases]. */
static uint64_t expected_params(uint64_t d_kv, bool bias)
{
    uint64_t layer = 2 * 64 + 2 * 64 * 64 + 2 * 64 * d_kv + 3 * 64 * 172 + (bias ? 64 + 2 * d_kv : 0);
    return 2 * 64 * 2048 + 64 + 2 * layer;
}

static void test_llada_fixture_reports_readme_hparams(void **state)
{
    (void)state;
    test_alloc a = {0};
    tdiff_model *m = load_fixture("llada-tiny.gguf", &a);
    assert_string_equal(tdiff_model_architecture(m), "llada");
    check_common(m);
    assert_int_equal(geti(m, TDIFF_MODEL_N_HEAD_KV), 4);
    assert_int_equal(geti(m, TDIFF_MODEL_SHIFT_LOGITS), 0);
    assert_int_equal(geti(m, TDIFF_MODEL_ROPE_STYLE), 1);
    assert_int_equal(geti(m, TDIFF_MODEL_HAS_QKV_BIAS), 0);
    assert_int_equal(geti(m, TDIFF_MODEL_N_TENSORS), 21);
    assert_int_equal(geti(m, TDIFF_MODEL_N_META), 26);
    assert_int_equal(geti(m, TDIFF_MODEL_FILE_SIZE), 1496480);
    assert_true(getf(m, TDIFF_MODEL_ROPE_BASE) == 500000.0);
    assert_true(getf(m, TDIFF_MODEL_NORM_EPS) == (double)1e-5f);
    uint64_t np = 0;
    assert_int_equal(tdiff_model_weight_count(m, &np), TDIFF_OK);
    assert_int_equal(np, expected_params(64, false));
    assert_int_equal(m->hp.rope_style, TDIFF__ROPE_NORMAL);
    tdiff_model_free(m);
    assert_int_equal(a.live, 0);
}

static void test_dream_fixture_reports_readme_hparams(void **state)
{
    (void)state;
    test_alloc a = {0};
    tdiff_model *m = load_fixture("dream-tiny.gguf", &a);
    assert_string_equal(tdiff_model_architecture(m), "dream");
    check_common(m);
    assert_int_equal(geti(m, TDIFF_MODEL_N_HEAD_KV), 2);
    assert_int_equal(geti(m, TDIFF_MODEL_SHIFT_LOGITS), 1); /* key absent: llama.cpp shifts */
    assert_int_equal(geti(m, TDIFF_MODEL_ROPE_STYLE), 2);
    assert_int_equal(geti(m, TDIFF_MODEL_HAS_QKV_BIAS), 1);
    assert_int_equal(geti(m, TDIFF_MODEL_N_TENSORS), 27);
    assert_int_equal(geti(m, TDIFF_MODEL_N_META), 25);
    assert_true(getf(m, TDIFF_MODEL_ROPE_BASE) == 1e6);
    assert_true(getf(m, TDIFF_MODEL_NORM_EPS) == (double)1e-6f);
    uint64_t np = 0;
    assert_int_equal(tdiff_model_weight_count(m, &np), TDIFF_OK);
    assert_int_equal(np, expected_params(32, true));
    tdiff_model_free(m);
    assert_int_equal(a.live, 0);
}

/* Every key of the llada README table, in file order, with its type. */
static void test_llada_fixture_keys_in_file_order_with_types(void **state)
{
    (void)state;
    static const struct {
        const char *key;
        tdiff_meta_type type, elem;
        size_t count;
    } keys[] = {
        {"general.architecture", TDIFF_META_STRING, TDIFF_META_STRING, 1},
        {"general.name", TDIFF_META_STRING, TDIFF_META_STRING, 1},
        {"general.file_type", TDIFF_META_U32, TDIFF_META_U32, 1},
        {"llada.context_length", TDIFF_META_U32, TDIFF_META_U32, 1},
        {"llada.embedding_length", TDIFF_META_U32, TDIFF_META_U32, 1},
        {"llada.block_count", TDIFF_META_U32, TDIFF_META_U32, 1},
        {"llada.feed_forward_length", TDIFF_META_U32, TDIFF_META_U32, 1},
        {"llada.attention.head_count", TDIFF_META_U32, TDIFF_META_U32, 1},
        {"llada.attention.head_count_kv", TDIFF_META_U32, TDIFF_META_U32, 1},
        {"llada.attention.layer_norm_rms_epsilon", TDIFF_META_F32, TDIFF_META_F32, 1},
        {"llada.rope.freq_base", TDIFF_META_F32, TDIFF_META_F32, 1},
        {"llada.rope.dimension_count", TDIFF_META_U32, TDIFF_META_U32, 1},
        {"llada.vocab_size", TDIFF_META_U32, TDIFF_META_U32, 1},
        {"llada.attention.causal", TDIFF_META_BOOL, TDIFF_META_BOOL, 1},
        {"diffusion.shift_logits", TDIFF_META_BOOL, TDIFF_META_BOOL, 1},
        {"tokenizer.ggml.model", TDIFF_META_STRING, TDIFF_META_STRING, 1},
        {"tokenizer.ggml.pre", TDIFF_META_STRING, TDIFF_META_STRING, 1},
        {"tokenizer.ggml.tokens", TDIFF_META_ARRAY, TDIFF_META_STRING, 2048},
        {"tokenizer.ggml.token_type", TDIFF_META_ARRAY, TDIFF_META_I32, 2048},
        {"tokenizer.ggml.merges", TDIFF_META_ARRAY, TDIFF_META_STRING, 1790},
        {"tokenizer.ggml.bos_token_id", TDIFF_META_U32, TDIFF_META_U32, 1},
        {"tokenizer.ggml.eos_token_id", TDIFF_META_U32, TDIFF_META_U32, 1},
        {"tokenizer.ggml.mask_token_id", TDIFF_META_U32, TDIFF_META_U32, 1},
        {"tokenizer.ggml.add_bos_token", TDIFF_META_BOOL, TDIFF_META_BOOL, 1},
        {"tokenizer.ggml.add_eos_token", TDIFF_META_BOOL, TDIFF_META_BOOL, 1},
        {"tokenizer.chat_template", TDIFF_META_STRING, TDIFF_META_STRING, 1},
    };
    test_alloc a = {0};
    tdiff_model *m = load_fixture("llada-tiny.gguf", &a);
    assert_int_equal(tdiff_model_meta_count(m), sizeof keys / sizeof keys[0]);
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        char buf[64];
        size_t need = 0;
        assert_int_equal(tdiff_model_meta_key(m, i, buf, sizeof buf, &need), TDIFF_OK);
        assert_string_equal(buf, keys[i].key);
        assert_int_equal(need, strlen(keys[i].key) + 1);
        tdiff_meta_type t, e;
        size_t n;
        assert_int_equal(tdiff_model_meta_type(m, keys[i].key, &t, &e, &n), TDIFF_OK);
        assert_int_equal(t, keys[i].type);
        assert_int_equal(e, keys[i].elem);
        assert_int_equal(n, keys[i].count);
    }
    char s[128];
    size_t need = 0;
    assert_int_equal(tdiff_model_meta_get_str(m, "general.name", s, sizeof s, &need), TDIFF_OK);
    assert_string_equal(s, "random-llada-L2-d64");
    assert_int_equal(need, strlen("random-llada-L2-d64") + 1);
    assert_int_equal(tdiff_model_meta_get_str(m, "tokenizer.chat_template", s, sizeof s, NULL), TDIFF_OK);
    assert_string_equal(s, "{% for message in messages %}{{ message['content'] }}{% endfor %}");
    /* ids follow the byte values: id 33 is byte 0x21 '!', id 0 is byte 0 = U+0100 */
    assert_int_equal(tdiff_model_meta_get_arr_str(m, "tokenizer.ggml.tokens", 2047, s, sizeof s, NULL), TDIFF_OK);
    assert_string_equal(s, "<|mdm_mask|>");
    assert_int_equal(tdiff_model_meta_get_arr_str(m, "tokenizer.ggml.tokens", 2046, s, sizeof s, NULL), TDIFF_OK);
    assert_string_equal(s, "<|endoftext|>");
    assert_int_equal(tdiff_model_meta_get_arr_str(m, "tokenizer.ggml.tokens", 33, s, sizeof s, NULL), TDIFF_OK);
    assert_string_equal(s, "!");
    assert_int_equal(tdiff_model_meta_get_arr_str(m, "tokenizer.ggml.tokens", 0, s, sizeof s, NULL), TDIFF_OK);
    assert_string_equal(s, "\xc4\x80");
    int32_t tt = 0;
    assert_int_equal(tdiff_model_meta_get_arr_i32(m, "tokenizer.ggml.token_type", 2047, &tt), TDIFF_OK);
    assert_int_equal(tt, 3); /* control */
    int b = -1;
    assert_int_equal(tdiff_model_meta_get_bool(m, "tokenizer.ggml.add_bos_token", &b), TDIFF_OK);
    assert_int_equal(b, 1);
    tdiff_model_free(m);
    assert_int_equal(a.live, 0);
}

/* Every tensor of the dream README table: name, F32, ne; data inside the map. */
static void test_dream_fixture_tensors_match_readme(void **state)
{
    (void)state;
    test_alloc a = {0};
    tdiff_model *m = load_fixture("dream-tiny.gguf", &a);
    static const char *const per_layer[] = {"attn_norm.weight", "attn_q.weight", "attn_k.weight",
                                            "attn_v.weight", "attn_q.bias", "attn_k.bias", "attn_v.bias",
                                            "attn_output.weight", "ffn_norm.weight", "ffn_gate.weight",
                                            "ffn_up.weight", "ffn_down.weight"};
    static const int64_t shapes[][2] = {{64, 1}, {64, 64}, {64, 32}, {64, 32}, {64, 1}, {32, 1}, {32, 1},
                                        {64, 64}, {64, 1}, {64, 172}, {64, 172}, {172, 64}};
    /* README order puts the biases after attn_v */
    size_t i = 0;
    char name[64];
    int type, nd;
    int64_t ne[4];
    const char *head[] = {"token_embd.weight", "output_norm.weight", "output.weight"};
    const int64_t head_ne[][2] = {{64, 2048}, {64, 1}, {64, 2048}};
    for (; i < 3; i++) {
        assert_int_equal(tdiff_model_tensor_info(m, i, name, sizeof name, NULL, &type, &nd, ne), TDIFF_OK);
        assert_string_equal(name, head[i]);
        assert_int_equal(type, 0);
        assert_int_equal(ne[0], head_ne[i][0]);
        assert_int_equal(ne[1], head_ne[i][1]);
    }
    for (int l = 0; l < 2; l++)
        for (size_t k = 0; k < 12; k++, i++) {
            char want[64];
            snprintf(want, sizeof want, "blk.%d.%s", l, per_layer[k]);
            assert_int_equal(tdiff_model_tensor_info(m, i, name, sizeof name, NULL, &type, &nd, ne), TDIFF_OK);
            assert_string_equal(name, want);
            assert_int_equal(nd, shapes[k][1] == 1 ? 1 : 2);
            assert_int_equal(ne[0], shapes[k][0]);
            assert_int_equal(ne[1], shapes[k][1]);
            assert_int_equal(ne[2], 1);
            const tdiff__tensor *t = tdiff__tensor_find(m, want);
            assert_non_null(t);
            assert_true((const uint8_t *)t->data >= m->base);
            assert_true((const uint8_t *)t->data + t->nbytes <= m->base + m->size);
            assert_int_equal(((uintptr_t)t->data) % 32, 0);
        }
    assert_int_equal(i, tdiff_model_tensor_count(m));
    assert_int_equal(tdiff_model_tensor_info(m, i, name, sizeof name, NULL, NULL, NULL, NULL),
                     TDIFF_E_INVALID_ARGUMENT);
    /* norm weights are exactly 1 (README); row 0 of an F32 tensor is its first 64 floats */
    const tdiff__tensor *norm = tdiff__tensor_find(m, "blk.1.ffn_norm.weight");
    float row[64];
    assert_int_equal(tdiff__tensor_row_to_f32(m->env.k, norm, 0, row), TDIFF_OK);
    for (int j = 0; j < 64; j++)
        assert_true(row[j] == 1.0f);
    assert_int_equal(tdiff__tensor_row_to_f32(m->env.k, norm, 1, row), TDIFF_E_INVALID_ARGUMENT);
    tdiff_model_free(m);
    assert_int_equal(a.live, 0);
}

/* The same bytes through load_memory give the same answers as through the mmap. */
static void test_memory_load_equals_file_load(void **state)
{
    (void)state;
    char path[1024];
    size_t size = 0;
    void *buf = test_read_file(test_fixture_path(path, sizeof path, "llada-tiny.gguf"), &size);
    assert_non_null(buf);
    test_alloc a = {0};
    tdiff_host host;
    test_host_init(&host, &a);
    tdiff_model *mm = NULL;
    assert_int_equal(tdiff_model_load_memory(buf, size, &host, &mm, NULL, 0), TDIFF_OK);
    tdiff_model *mf = load_path(path, &a);
    assert_memory_equal(&mm->hp, &mf->hp, sizeof mm->hp);
    assert_int_equal(mm->n_params, mf->n_params);
    const tdiff__tensor *tm = tdiff__tensor_find(mm, "output.weight");
    const tdiff__tensor *tf = tdiff__tensor_find(mf, "output.weight");
    assert_int_equal(tm->nbytes, tf->nbytes);
    assert_memory_equal(tm->data, tf->data, tm->nbytes);
    assert_ptr_equal(tm->data, (const uint8_t *)buf + ((const uint8_t *)tm->data - (const uint8_t *)buf));
    assert_true((const uint8_t *)tm->data >= (const uint8_t *)buf &&
                (const uint8_t *)tm->data < (const uint8_t *)buf + size); /* not copied */
    tdiff_model_free(mm);
    tdiff_model_free(mf);
    test_free(buf);
    assert_int_equal(a.live, 0);
}

/* Generated tiny models: dream with tied output and Q8_0/F16, llada with Q4_0/BF16. */
static void test_generated_quantized_models_load(void **state)
{
    (void)state;
    char path[1024];
    test_alloc a = {0};
    tdiff_model *m = load_path(test_source_path(path, sizeof path, "tests/unit/model/data/dream-mini.gguf"), &a);
    assert_int_equal(geti(m, TDIFF_MODEL_TIED_OUTPUT), 1);
    assert_int_equal(geti(m, TDIFF_MODEL_N_VOCAB), 260);
    assert_int_equal(geti(m, TDIFF_MODEL_N_HEAD_KV), 2);
    assert_int_equal(special(m, TDIFF_SPECIAL_MASK), 259);
    const tdiff__tensor *t = tdiff__tensor_find(m, "blk.0.attn_q.weight");
    assert_int_equal(t->type, TDIFF__GGML_Q8_0);
    assert_int_equal(t->row_bytes, 34);
    assert_int_equal(t->n_rows, 32);
    assert_int_equal(tdiff__tensor_find(m, "blk.0.attn_norm.weight")->type, TDIFF__GGML_F16);
    assert_null(tdiff__tensor_find(m, "output.weight"));
    tdiff_model_free(m);
    m = load_path(test_source_path(path, sizeof path, "tests/unit/model/data/llada-q4.gguf"), &a);
    assert_int_equal(tdiff__tensor_find(m, "token_embd.weight")->type, TDIFF__GGML_Q4_0);
    assert_int_equal(tdiff__tensor_find(m, "output_norm.weight")->type, TDIFF__GGML_BF16);
    float row[32];
    assert_int_equal(tdiff__tensor_row_to_f32(m->env.k, tdiff__tensor_find(m, "output_norm.weight"), 0, row),
                     TDIFF_OK);
    for (int j = 0; j < 32; j++)
        assert_true(row[j] == 1.0f); /* bf16 ones */
    tdiff_model_free(m);
    m = load_path(test_source_path(path, sizeof path, "tests/unit/model/data/llada-mini.gguf"), &a);
    assert_int_equal(geti(m, TDIFF_MODEL_N_HEAD_KV), 4);
    assert_int_equal(geti(m, TDIFF_MODEL_SHIFT_LOGITS), 0);
    tdiff_model_free(m);
    assert_int_equal(a.live, 0);
}

/* Typed getters: integer widening, ranges, mismatches, absent keys. */
static void test_getters_check_types_and_ranges(void **state)
{
    (void)state;
    test_alloc a = {0};
    tdiff_model *m = load_fixture("llada-tiny.gguf", &a);
    uint32_t u = 0;
    int32_t i = 0;
    uint64_t u64 = 0;
    float f = 0;
    int b = 0;
    char s[8];
    size_t need = 0;
    assert_int_equal(tdiff_model_meta_get_u32(m, "llada.block_count", &u), TDIFF_OK);
    assert_int_equal(u, 2);
    assert_int_equal(tdiff_model_meta_get_i32(m, "llada.block_count", &i), TDIFF_OK);
    assert_int_equal(i, 2);
    assert_int_equal(tdiff_model_meta_get_u64(m, "llada.vocab_size", &u64), TDIFF_OK);
    assert_int_equal(u64, 2048);
    assert_int_equal(tdiff_model_meta_get_f32(m, "llada.rope.freq_base", &f), TDIFF_OK);
    assert_true(f == 500000.0f);
    assert_int_equal(tdiff_model_meta_get_f32(m, "llada.block_count", &f), TDIFF_E_TYPE_MISMATCH);
    assert_int_equal(tdiff_model_meta_get_u32(m, "llada.rope.freq_base", &u), TDIFF_E_TYPE_MISMATCH);
    assert_int_equal(tdiff_model_meta_get_u32(m, "llada.attention.causal", &u), TDIFF_E_TYPE_MISMATCH);
    assert_int_equal(tdiff_model_meta_get_bool(m, "llada.block_count", &b), TDIFF_E_TYPE_MISMATCH);
    assert_int_equal(tdiff_model_meta_get_u32(m, "tokenizer.ggml.tokens", &u), TDIFF_E_TYPE_MISMATCH);
    assert_int_equal(tdiff_model_meta_get_str(m, "llada.block_count", s, sizeof s, NULL), TDIFF_E_TYPE_MISMATCH);
    assert_int_equal(tdiff_model_meta_get_u32(m, "no.such.key", &u), TDIFF_E_NOT_FOUND);
    assert_int_equal(tdiff_model_meta_type(m, "no.such.key", NULL, NULL, NULL), TDIFF_E_NOT_FOUND);
    assert_int_equal(tdiff_model_meta_get_str(m, "general.name", s, sizeof s, &need), TDIFF_E_BUFFER_TOO_SMALL);
    assert_int_equal(need, strlen("random-llada-L2-d64") + 1);
    assert_int_equal(tdiff_model_meta_get_arr_i32(m, "tokenizer.ggml.token_type", 2048, &i),
                     TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_model_meta_get_arr_f32(m, "tokenizer.ggml.token_type", 0, &f), TDIFF_E_TYPE_MISMATCH);
    assert_int_equal(tdiff_model_meta_get_arr_str(m, "tokenizer.ggml.token_type", 0, s, sizeof s, NULL),
                     TDIFF_E_TYPE_MISMATCH);
    assert_int_equal(tdiff_model_meta_get_arr_i32(m, "llada.block_count", 0, &i), TDIFF_E_TYPE_MISMATCH);
    assert_int_equal(tdiff_model_meta_get_u32(NULL, "llada.block_count", &u), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_model_meta_get_u32(m, NULL, &u), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_model_meta_get_u32(m, "llada.block_count", NULL), TDIFF_E_INVALID_ARGUMENT);
    int64_t v;
    assert_int_equal(tdiff_model_get_int(m, (tdiff_model_param)999, &v), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_model_get_int(m, TDIFF_MODEL_ROPE_BASE, &v), TDIFF_E_INVALID_ARGUMENT);
    double d;
    assert_int_equal(tdiff_model_get_float(m, TDIFF_MODEL_N_EMBD, &d), TDIFF_E_INVALID_ARGUMENT);
    int32_t id;
    assert_int_equal(tdiff_model_special_id(m, (tdiff_special_token)99, &id), TDIFF_E_INVALID_ARGUMENT);
    assert_null(tdiff_model_architecture(NULL));
    assert_int_equal(tdiff_model_meta_count(NULL), 0);
    assert_int_equal(tdiff_model_tensor_count(NULL), 0);
    tdiff_model_free(m);
    tdiff_model_free(NULL);
    assert_int_equal(a.live, 0);
}

/* Argument and I/O errors: NULLs, a missing file, a directory, an empty file. */
/* Every value of tdiff_model_param, in header order. */
static const tdiff_model_param all_params[] = {
    TDIFF_MODEL_N_VOCAB,      TDIFF_MODEL_N_CTX,        TDIFF_MODEL_N_EMBD,         TDIFF_MODEL_N_LAYER,
    TDIFF_MODEL_N_FF,         TDIFF_MODEL_N_HEAD,       TDIFF_MODEL_N_HEAD_KV,      TDIFF_MODEL_HEAD_DIM,
    TDIFF_MODEL_ROPE_DIM,     TDIFF_MODEL_SHIFT_LOGITS, TDIFF_MODEL_ROPE_STYLE,     TDIFF_MODEL_HAS_QKV_BIAS,
    TDIFF_MODEL_TIED_OUTPUT,  TDIFF_MODEL_CAUSAL,       TDIFF_MODEL_GGUF_VERSION,   TDIFF_MODEL_N_TENSORS,
    TDIFF_MODEL_N_META,       TDIFF_MODEL_ALIGNMENT,    TDIFF_MODEL_FILE_SIZE,      TDIFF_MODEL_ROPE_BASE,
    TDIFF_MODEL_NORM_EPS,
};

static void test_every_parameter_has_a_name_that_round_trips(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof all_params / sizeof all_params[0]; i++) {
        const char *name = tdiff_model_param_name(all_params[i]);
        tdiff_model_param back = (tdiff_model_param)0;
        assert_string_not_equal(name, "unknown");
        assert_int_equal(tdiff_model_param_from_name(name, &back), TDIFF_OK);
        assert_int_equal(back, all_params[i]);
        for (size_t j = 0; j < i; j++) /* distinct */
            assert_string_not_equal(name, tdiff_model_param_name(all_params[j]));
    }
    assert_string_equal(tdiff_model_param_name(TDIFF_MODEL_N_VOCAB), "n_vocab");
    assert_string_equal(tdiff_model_param_name(TDIFF_MODEL_NORM_EPS), "norm_eps");
    assert_string_equal(tdiff_model_param_name((tdiff_model_param)10), "unknown");
    tdiff_model_param p;
    assert_int_equal(tdiff_model_param_from_name("vocab", &p), TDIFF_E_NOT_FOUND);
    assert_int_equal(tdiff_model_param_from_name(NULL, &p), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_model_param_from_name("n_ctx", NULL), TDIFF_E_INVALID_ARGUMENT);
}

/* The 0.1 names (deprecated, kept one release) answer exactly as the new ones. */
static void test_deprecated_names_answer_as_the_new_ones(void **state)
{
    (void)state;
    test_alloc a = {0};
    tdiff_model *m = load_fixture("llada-tiny.gguf", &a);
    uint64_t w_new = 0, w_old = 1;
    assert_int_equal(tdiff_model_weight_count(m, &w_new), TDIFF_OK);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    assert_int_equal(tdiff_model_param_count(m, &w_old), TDIFF_OK);
    assert_true(w_new == w_old);
    assert_int_equal(tdiff_model_param_count(NULL, &w_old), TDIFF_E_INVALID_ARGUMENT);
    for (int w = 0; w <= 8; w++) { /* every special token, and values outside the enum */
        int32_t a_id = -5, b_id = -5;
        tdiff_status sa = tdiff_model_special_id(m, (tdiff_special_token)w, &a_id);
        tdiff_status sb = tdiff_model_special_token(m, (tdiff_special_token)w, &b_id);
        assert_int_equal(sa, sb);
        assert_int_equal(a_id, b_id);
    }
#pragma GCC diagnostic pop
    tdiff_model_free(m);
    assert_int_equal(a.live, 0);
}

static void test_load_rejects_bad_arguments_and_paths(void **state)
{
    (void)state;
    tdiff_model *m = (tdiff_model *)(uintptr_t)1;
    char err[256];
    assert_int_equal(tdiff_model_load_file(NULL, NULL, &m, err, sizeof err), TDIFF_E_INVALID_ARGUMENT);
    assert_null(m);
    assert_int_equal(tdiff_model_load_file("x", NULL, NULL, err, sizeof err), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_model_load_memory(NULL, 5, NULL, &m, err, sizeof err), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_model_load_file("/nonexistent/model.gguf", NULL, &m, err, sizeof err), TDIFF_E_IO);
    assert_non_null(strstr(err, "/nonexistent/model.gguf"));
    assert_null(m);
    assert_int_equal(tdiff_model_load_file("/", NULL, &m, err, sizeof err), TDIFF_E_IO);
    assert_int_equal(tdiff_model_load_file("/dev/null", NULL, &m, err, 0), TDIFF_E_IO);
    assert_int_equal(tdiff_model_load_memory("", 0, NULL, &m, err, sizeof err), TDIFF_E_BAD_FORMAT);
    assert_non_null(strstr(err, "offset 0: magic"));
    tdiff_host bad = {0};
    bad.struct_size = 3;
    assert_int_equal(tdiff_model_load_memory("GGUF", 4, &bad, &m, err, sizeof err), TDIFF_E_INVALID_ARGUMENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_llada_fixture_reports_readme_hparams),
        cmocka_unit_test(test_dream_fixture_reports_readme_hparams),
        cmocka_unit_test(test_llada_fixture_keys_in_file_order_with_types),
        cmocka_unit_test(test_dream_fixture_tensors_match_readme),
        cmocka_unit_test(test_memory_load_equals_file_load),
        cmocka_unit_test(test_generated_quantized_models_load),
        cmocka_unit_test(test_getters_check_types_and_ranges),
        cmocka_unit_test(test_load_rejects_bad_arguments_and_paths),
        cmocka_unit_test(test_every_parameter_has_a_name_that_round_trips),
        cmocka_unit_test(test_deprecated_names_answer_as_the_new_ones),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
