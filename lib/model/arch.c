/*
 * arch.c -- architecture validation: the generic part every model gets
 * (vocabulary size, special token ids), the llada/dream rules and the
 * autoregressive llama/qwen2 rules, exactly as llama.cpp's converter writes
 * those files (tests/fixtures/README.md) and as its loader reads them
 * (src/models/llama.cpp, qwen2.cpp): keys, defaults, every tensor with its
 * shape, and no unexpected tensor.
 *
 * To add an architecture: write a tdiff__arch_fill_fn and add a line to
 * `arches` below. Unknown names load with hp.arch = TDIFF__ARCH_OTHER.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "model.h"

/* Upper bounds on hyper-parameters, before any tensor is looked at. They are far
 * above real models (LLaDA-8B: 32 layers, Dream-7B: 28, context 4096..131072)
 * and keep loops and later allocations in the denoiser sane. */
#define MAX_LAYERS 4096u
#define MAX_CTX (1u << 24)
#define MAX_HEADS 4096u

/* ---- generic: vocabulary and special ids ---- */

static const struct {
    const char *key;
    size_t field; /* offset of the int32_t in tdiff__hparams */
} special_keys[] = {
    {"tokenizer.ggml.bos_token_id", offsetof(tdiff__hparams, bos)},
    {"tokenizer.ggml.eos_token_id", offsetof(tdiff__hparams, eos)},
    {"tokenizer.ggml.mask_token_id", offsetof(tdiff__hparams, mask)},
    {"tokenizer.ggml.padding_token_id", offsetof(tdiff__hparams, pad)},
    {"tokenizer.ggml.unknown_token_id", offsetof(tdiff__hparams, unk)},
    {"tokenizer.ggml.seperator_token_id", offsetof(tdiff__hparams, sep)}, /* sic: llama.cpp's spelling */
    {"tokenizer.ggml.cls_token_id", offsetof(tdiff__hparams, cls)},
};

static tdiff_status meta_fail(tdiff__env *env, const tdiff_model *m, const char *key, tdiff_status st,
                              const char *what)
{
    const tdiff__meta *e = tdiff__meta_find(m, key);
    size_t at = e ? (size_t)(e->data - m->base) : 0;
    if (st == TDIFF_E_NOT_FOUND)
        return tdiff__fail(env, TDIFF_E_BAD_FORMAT, "metadata: required key '%s' is missing", key);
    return tdiff__fail(env, TDIFF_E_BAD_FORMAT, "offset %zu: metadata '%s': %s (%s)", at, key, what,
                       tdiff_status_string(st));
}

static tdiff_status fill_generic(tdiff_model *m, tdiff__env *env)
{
    tdiff__hparams *hp = &m->hp;
    const char *tok_key = "tokenizer.ggml.tokens";
    const tdiff__meta *tokens = tdiff__meta_find(m, tok_key);
    if (tokens) {
        if (tokens->type != TDIFF_META_ARRAY || tokens->elem_type != TDIFF_META_STRING)
            return meta_fail(env, m, tok_key, TDIFF_E_TYPE_MISMATCH, "expected an array of strings");
        if (tokens->count > (size_t)INT32_MAX) /* token ids are int32_t */
            return meta_fail(env, m, tok_key, TDIFF_E_OVERFLOW, "more tokens than int32 ids");
        hp->n_vocab = tokens->count;
    }
    /* Per-token arrays must have one entry per token. */
    static const char *const per_token[] = {"tokenizer.ggml.token_type", "tokenizer.ggml.scores"};
    for (size_t i = 0; i < sizeof per_token / sizeof per_token[0]; i++) {
        const tdiff__meta *e = tdiff__meta_find(m, per_token[i]);
        if (!e)
            continue;
        if (e->type != TDIFF_META_ARRAY || !tokens || e->count != tokens->count)
            return tdiff__fail(env, TDIFF_E_BAD_FORMAT,
                               "offset %zu: metadata '%s': expected an array of %zu entries (one per token)",
                               (size_t)(e->data - m->base), per_token[i], hp->n_vocab);
    }
    for (size_t i = 0; i < sizeof special_keys / sizeof special_keys[0]; i++) {
        int32_t *dst = (int32_t *)(void *)((char *)hp + special_keys[i].field);
        int32_t id;
        *dst = -1;
        tdiff_status st = tdiff__meta_get_i32(m, special_keys[i].key, &id);
        if (st == TDIFF_E_NOT_FOUND)
            continue;
        if (st != TDIFF_OK)
            return meta_fail(env, m, special_keys[i].key, st, "expected an integer token id");
        if (id == -1) /* some converters write -1 for "none" */
            continue;
        if (id < 0 || (size_t)id >= hp->n_vocab)
            return tdiff__fail(env, TDIFF_E_BAD_FORMAT, "metadata '%s': token id %d is not below the vocabulary size %zu",
                               special_keys[i].key, id, hp->n_vocab);
        *dst = id;
    }
    return TDIFF_OK;
}

/* ---- llada / dream ---- */

/* Reads "<arch>.<suffix>" as a size in [lo, hi]; `def` when absent and not required. */
static tdiff_status get_dim(tdiff_model *m, tdiff__env *env, const char *suffix, bool required, size_t def,
                            size_t lo, size_t hi, size_t *out)
{
    char key[128];
    snprintf(key, sizeof key, "%s.%s", m->arch_name, suffix);
    uint32_t v;
    tdiff_status st = tdiff__meta_get_u32(m, key, &v);
    if (st == TDIFF_E_NOT_FOUND && !required) {
        *out = def;
        return TDIFF_OK;
    }
    if (st != TDIFF_OK)
        return meta_fail(env, m, key, st, "expected an unsigned 32-bit integer");
    if (v < lo || v > hi) {
        const tdiff__meta *e = tdiff__meta_find(m, key);
        return tdiff__fail(env, TDIFF_E_BAD_FORMAT, "offset %zu: metadata '%s': %u is not in [%zu, %zu]",
                           (size_t)(e->data - m->base), key, v, lo, hi);
    }
    *out = v;
    return TDIFF_OK;
}

static tdiff_status get_pos_float(tdiff_model *m, tdiff__env *env, const char *key, bool required, float def,
                                  float *out)
{
    tdiff_status st = tdiff__meta_get_f32(m, key, out);
    if (st == TDIFF_E_NOT_FOUND && !required) {
        *out = def;
        return TDIFF_OK;
    }
    if (st != TDIFF_OK)
        return meta_fail(env, m, key, st, "expected a float");
    if (!(*out > 0.0f) || !isfinite(*out))
        return meta_fail(env, m, key, TDIFF_E_BAD_FORMAT, "must be a finite positive number");
    return TDIFF_OK;
}

static tdiff_status get_flag(tdiff_model *m, tdiff__env *env, const char *key, bool def, bool *out)
{
    tdiff_status st = tdiff__meta_get_bool(m, key, out);
    if (st == TDIFF_E_NOT_FOUND) {
        *out = def;
        return TDIFF_OK;
    }
    return st == TDIFF_OK ? st : meta_fail(env, m, key, st, "expected a bool");
}

/* Keys llama.cpp reads for these architectures that change the network in ways
 * the denoiser does not implement: refused instead of silently ignored. */
static tdiff_status refuse_unsupported_keys(tdiff_model *m, tdiff__env *env)
{
    tdiff__hparams *hp = &m->hp;
    char key[128];
    size_t v;
    tdiff_status st;
    static const char *const head_len[] = {"attention.key_length", "attention.value_length"};
    for (size_t i = 0; i < 2; i++) {
        if ((st = get_dim(m, env, head_len[i], false, hp->head_dim, 1, UINT32_MAX, &v)))
            return st;
        if (v != hp->head_dim)
            return tdiff__fail(env, TDIFF_E_UNSUPPORTED, "metadata: %s.%s %zu differs from embedding_length / "
                               "head_count = %zu (not supported)", m->arch_name, head_len[i], v, hp->head_dim);
    }
    if ((st = get_dim(m, env, "expert_count", false, 0, 0, UINT32_MAX, &v)))
        return st;
    if (v)
        return tdiff__fail(env, TDIFF_E_UNSUPPORTED, "metadata: %s.expert_count %zu: mixture-of-experts layers are "
                           "not supported", m->arch_name, v);
    const char *s;
    size_t len;
    snprintf(key, sizeof key, "%s.rope.scaling.type", m->arch_name);
    if (tdiff__meta_get_str(m, key, &s, &len) == TDIFF_OK && !(len == 4 && !memcmp(s, "none", 4))) {
        float factor = 1.0f;
        snprintf(key, sizeof key, "%s.rope.scaling.factor", m->arch_name);
        (void)tdiff__meta_get_f32(m, key, &factor);
        if (factor != 1.0f && factor != 0.0f)
            return tdiff__fail(env, TDIFF_E_UNSUPPORTED, "metadata: %s.rope.scaling.type '%.*s' (factor %g): RoPE "
                               "scaling is not supported", m->arch_name, (int)len, s, (double)factor);
    }
    return TDIFF_OK;
}

/* The keys of llada/dream (ar = false) and llama/qwen2 (ar = true). */
static tdiff_status llama_like_keys(tdiff_model *m, tdiff__env *env, bool ar)
{
    tdiff__hparams *hp = &m->hp;
    char key[128];
    tdiff_status st;
    if ((st = get_dim(m, env, "context_length", true, 0, 1, MAX_CTX, &hp->n_ctx)) ||
        (st = get_dim(m, env, "embedding_length", true, 0, 1, UINT32_MAX, &hp->n_embd)) ||
        (st = get_dim(m, env, "block_count", true, 0, 1, MAX_LAYERS, &hp->n_layer)) ||
        (st = get_dim(m, env, "feed_forward_length", true, 0, 1, UINT32_MAX, &hp->n_ff)) ||
        (st = get_dim(m, env, "attention.head_count", true, 0, 1, MAX_HEADS, &hp->n_head)) ||
        (st = get_dim(m, env, "attention.head_count_kv", false, hp->n_head, 1, MAX_HEADS, &hp->n_head_kv)))
        return st;
    if (hp->n_embd % hp->n_head)
        return tdiff__fail(env, TDIFF_E_BAD_FORMAT, "metadata: %s.embedding_length %zu is not a multiple of "
                           "attention.head_count %zu", m->arch_name, hp->n_embd, hp->n_head);
    if (hp->n_head % hp->n_head_kv)
        return tdiff__fail(env, TDIFF_E_BAD_FORMAT, "metadata: %s.attention.head_count %zu is not a multiple of "
                           "attention.head_count_kv %zu", m->arch_name, hp->n_head, hp->n_head_kv);
    hp->head_dim = hp->n_embd / hp->n_head;
    if (ar && (st = refuse_unsupported_keys(m, env)))
        return st;
    if ((st = get_dim(m, env, "rope.dimension_count", false, hp->head_dim, 0, hp->head_dim, &hp->rope_dim)))
        return st;
    if (hp->rope_dim % 2)
        return tdiff__fail(env, TDIFF_E_BAD_FORMAT, "metadata: %s.rope.dimension_count %zu is odd", m->arch_name,
                           hp->rope_dim);
    snprintf(key, sizeof key, "%s.attention.layer_norm_rms_epsilon", m->arch_name);
    if ((st = get_pos_float(m, env, key, true, 0.0f, &hp->norm_eps)))
        return st;
    snprintf(key, sizeof key, "%s.rope.freq_base", m->arch_name);
    if ((st = get_pos_float(m, env, key, false, 10000.0f, &hp->rope_base)))
        return st;
    /* llama.cpp: attention is causal unless the file says otherwise; an
     * autoregressive model's hidden state p predicts token p + 1, which is the
     * denoiser's shifted-logits convention (row p from hidden state p - 1). */
    snprintf(key, sizeof key, "%s.attention.causal", m->arch_name);
    if ((st = get_flag(m, env, key, ar, &hp->causal)) ||
        (st = get_flag(m, env, "diffusion.shift_logits", true, &hp->shift_logits)))
        return st;
    if (ar) {
        if (!hp->causal)
            return tdiff__fail(env, TDIFF_E_UNSUPPORTED, "metadata: %s.attention.causal is false: a non-causal %s "
                               "model is not an autoregressive model", m->arch_name, m->arch_name);
        hp->shift_logits = true;
        hp->autoregressive = true;
    }
    if (!tdiff__meta_find(m, "tokenizer.ggml.tokens") || hp->n_vocab == 0)
        return tdiff__fail(env, TDIFF_E_BAD_FORMAT, "metadata: 'tokenizer.ggml.tokens' is missing or empty");
    size_t vocab_key;
    if ((st = get_dim(m, env, "vocab_size", false, hp->n_vocab, 1, UINT32_MAX, &vocab_key)))
        return st;
    if (vocab_key != hp->n_vocab)
        return tdiff__fail(env, TDIFF_E_BAD_FORMAT, "metadata: %s.vocab_size %zu differs from the %zu tokens of "
                           "tokenizer.ggml.tokens", m->arch_name, vocab_key, hp->n_vocab);
    if (hp->mask < 0 && !ar)
        return tdiff__fail(env, TDIFF_E_BAD_FORMAT,
                           "metadata: 'tokenizer.ggml.mask_token_id' is missing (required for a diffusion model)");
    return TDIFF_OK;
}

/* Marks a found tensor as expected; counts them so extras can be reported. */
typedef struct expect_ctx {
    tdiff_model *m;
    tdiff__env *env;
    size_t n_found;
} expect_ctx;

static tdiff_status want(expect_ctx *x, const char *name, bool required, size_t ne0, size_t ne1)
{
    const size_t ne[4] = {ne0, ne1 ? ne1 : 1, 1, 1};
    const tdiff__tensor *t;
    tdiff_status st = tdiff__tensor_expect(x->m, x->env, name, required, ne1 ? 2 : 1, ne, &t);
    if (st == TDIFF_OK && t)
        x->n_found++;
    return st;
}

/* Which optional tensors an architecture may have (as llama.cpp loads it). */
enum {
    OPT_QKV_BIAS = 1u << 0,    /* attn_q/k/v.bias, each layer on its own             */
    OPT_OUT_BIAS = 1u << 1,    /* attn_output.bias                                   */
    OPT_FFN_BIAS = 1u << 2,    /* ffn_gate/up/down.bias                              */
    OPT_HEAD_BIAS = 1u << 3    /* output.bias                                        */
};

static tdiff_status llama_like_tensors(tdiff_model *m, tdiff__env *env, bool qkv_bias, unsigned optional)
{
    tdiff__hparams *hp = &m->hp;
    expect_ctx x = {m, env, 0};
    size_t d = hp->n_embd, d_kv = hp->n_head_kv * hp->head_dim, V = hp->n_vocab, ff = hp->n_ff;
    tdiff_status st;
    if ((st = want(&x, "token_embd.weight", true, d, V)) || (st = want(&x, "output_norm.weight", true, d, 0)) ||
        (st = want(&x, "output.weight", false, d, V)) ||
        ((optional & OPT_HEAD_BIAS) && (st = want(&x, "output.bias", false, V, 0))))
        return st;
    hp->tied_output = tdiff__tensor_find(m, "output.weight") == NULL;
    if (tdiff__tensor_find(m, "blk.0.attn_qkv.weight"))
        return tdiff__fail(env, TDIFF_E_UNSUPPORTED, "tensor 'blk.0.attn_qkv.weight': fused Q/K/V projections are "
                           "not supported (separate attn_q/k/v are)");
    bool all_qkv_bias = true;
    for (size_t l = 0; l < hp->n_layer; l++) {
        char n[64];
#define W(suffix, req, a, b) (snprintf(n, sizeof n, "blk.%zu.%s", l, suffix), want(&x, n, req, a, b))
        if ((st = W("attn_norm.weight", true, d, 0)) || (st = W("attn_q.weight", true, d, d)) ||
            (st = W("attn_k.weight", true, d, d_kv)) || (st = W("attn_v.weight", true, d, d_kv)) ||
            (st = W("attn_output.weight", true, d, d)) || (st = W("ffn_norm.weight", true, d, 0)) ||
            (st = W("ffn_gate.weight", true, d, ff)) || (st = W("ffn_up.weight", true, d, ff)) ||
            (st = W("ffn_down.weight", true, ff, d)))
            return st;
        if ((qkv_bias || (optional & OPT_QKV_BIAS)) &&
            ((st = W("attn_q.bias", qkv_bias, d, 0)) || (st = W("attn_k.bias", qkv_bias, d_kv, 0)) ||
             (st = W("attn_v.bias", qkv_bias, d_kv, 0))))
            return st;
        if ((optional & OPT_OUT_BIAS) && (st = W("attn_output.bias", false, d, 0)))
            return st;
        if ((optional & OPT_FFN_BIAS) && ((st = W("ffn_gate.bias", false, ff, 0)) ||
                                          (st = W("ffn_up.bias", false, ff, 0)) ||
                                          (st = W("ffn_down.bias", false, d, 0))))
            return st;
        static const char *const qkv_names[] = {"attn_q.bias", "attn_k.bias", "attn_v.bias"};
        for (size_t k = 0; k < 3; k++) {
            snprintf(n, sizeof n, "blk.%zu.%s", l, qkv_names[k]);
            all_qkv_bias = all_qkv_bias && tdiff__tensor_find(m, n) != NULL;
        }
#undef W
    }
    hp->has_qkv_bias = all_qkv_bias;
    if (x.n_found == m->n_tensors)
        return TDIFF_OK;
    /* Some tensor was not expected (a layer beyond block_count, a bias llada does
     * not have, a fused attn_qkv, rope_freqs, ...): name the first one. */
    for (size_t i = 0; i < m->n_tensors; i++) {
        const tdiff__tensor *t = &m->tensors[i];
        char n[64];
        memcpy(n, t->name, t->name_len);
        n[t->name_len] = '\0';
        bool known = false;
        if (!strcmp(n, "token_embd.weight") || !strcmp(n, "output_norm.weight") || !strcmp(n, "output.weight") ||
            ((optional & OPT_HEAD_BIAS) && !strcmp(n, "output.bias")))
            known = true;
        unsigned long l;
        char rest[64];
        if (!known && sscanf(n, "blk.%lu.%63s", &l, rest) == 2 && l < hp->n_layer) {
            static const struct {
                const char *name;
                unsigned opt; /* 0: always expected */
            } per_layer[] = {
                {"attn_norm.weight", 0}, {"attn_q.weight", 0}, {"attn_k.weight", 0}, {"attn_v.weight", 0},
                {"attn_output.weight", 0}, {"ffn_norm.weight", 0}, {"ffn_gate.weight", 0}, {"ffn_up.weight", 0},
                {"ffn_down.weight", 0}, {"attn_q.bias", OPT_QKV_BIAS}, {"attn_k.bias", OPT_QKV_BIAS},
                {"attn_v.bias", OPT_QKV_BIAS}, {"attn_output.bias", OPT_OUT_BIAS}, {"ffn_gate.bias", OPT_FFN_BIAS},
                {"ffn_up.bias", OPT_FFN_BIAS}, {"ffn_down.bias", OPT_FFN_BIAS}};
            const unsigned have = optional | (qkv_bias ? OPT_QKV_BIAS : 0);
            char canon[96];
            snprintf(canon, sizeof canon, "blk.%lu.%s", l, rest);
            for (size_t k = 0; k < sizeof per_layer / sizeof per_layer[0] && strcmp(canon, n) == 0; k++)
                known = known || (!strcmp(rest, per_layer[k].name) && (!per_layer[k].opt || (have & per_layer[k].opt)));
        }
        if (!known)
            return tdiff__fail(env, TDIFF_E_BAD_FORMAT,
                               "tensor '%s' is not part of a %s model with %zu layers (unexpected tensors are refused)",
                               n, m->arch_name, hp->n_layer);
    }
    return tdiff__fail(env, TDIFF_E_INTERNAL, "tensor count mismatch without an unexpected tensor");
}

static tdiff_status fill_llada(tdiff_model *m, tdiff__env *env)
{
    tdiff_status st = llama_like_keys(m, env, false);
    m->hp.rope_style = TDIFF__ROPE_NORMAL;
    return st ? st : llama_like_tensors(m, env, false, 0);
}

static tdiff_status fill_dream(tdiff_model *m, tdiff__env *env)
{
    tdiff_status st = llama_like_keys(m, env, false);
    m->hp.rope_style = TDIFF__ROPE_NEOX;
    return st ? st : llama_like_tensors(m, env, true, 0);
}

/* llama.cpp's `llama`: LLAMA_ROPE_TYPE_NORM (its converter permutes Q/K so
 * adjacent pairs rotate), every bias optional (src/models/llama.cpp). */
static tdiff_status fill_llama(tdiff_model *m, tdiff__env *env)
{
    tdiff_status st = llama_like_keys(m, env, true);
    m->hp.rope_style = TDIFF__ROPE_NORMAL;
    return st ? st : llama_like_tensors(m, env, false, OPT_QKV_BIAS | OPT_OUT_BIAS | OPT_FFN_BIAS);
}

/* llama.cpp's `qwen2`: LLAMA_ROPE_TYPE_NEOX (no permutation), Q/K/V biases
 * (optional to its loader), an optional output.bias (src/models/qwen2.cpp). */
static tdiff_status fill_qwen2(tdiff_model *m, tdiff__env *env)
{
    tdiff_status st = llama_like_keys(m, env, true);
    m->hp.rope_style = TDIFF__ROPE_NEOX;
    return st ? st : llama_like_tensors(m, env, false, OPT_QKV_BIAS | OPT_HEAD_BIAS);
}

static const struct {
    const char *name;
    tdiff__arch arch;
    tdiff__arch_fill_fn fill;
} arches[] = {
    {"llada", TDIFF__ARCH_LLADA, fill_llada},
    {"dream", TDIFF__ARCH_DREAM, fill_dream},
    {"llama", TDIFF__ARCH_LLAMA, fill_llama},
    {"qwen2", TDIFF__ARCH_QWEN2, fill_qwen2},
};

tdiff_status tdiff__arch_fill(tdiff_model *m, tdiff__env *env)
{
    memset(&m->hp, 0, sizeof m->hp);
    tdiff_status st = fill_generic(m, env);
    if (st != TDIFF_OK)
        return st;
    for (size_t i = 0; i < sizeof arches / sizeof arches[0]; i++)
        if (!strcmp(m->arch_name, arches[i].name)) {
            m->hp.arch = arches[i].arch;
            return arches[i].fill(m, env);
        }
    m->hp.arch = TDIFF__ARCH_OTHER;
    return TDIFF_OK;
}
