/*
 * from_model.c -- reads tokenizer.ggml.* from a loaded model into a
 * tdiff__tok_config (pointers into the model's mapping; only the small pointer
 * and length arrays are allocated) and builds the tokenizer from it.
 */
#include <stdio.h>
#include <string.h>

#include "model/model.h"
#include "tokenizer/tokenizer.h"

typedef struct strs {
    const char **s;
    size_t *len;
    size_t n;
} strs;

static tdiff_status read_strs(const tdiff_model *m, tdiff__env *env, const char *key, bool required, strs *out)
{
    memset(out, 0, sizeof *out);
    const tdiff__meta *e = tdiff__meta_find(m, key);
    if (!e)
        return required ? tdiff__fail(env, TDIFF_E_BAD_FORMAT, "the model has no %s", key) : TDIFF_OK;
    out->s = tdiff__calloc(env, e->count ? e->count : 1, sizeof *out->s);
    out->len = tdiff__calloc(env, e->count ? e->count : 1, sizeof *out->len);
    if (!out->s || !out->len)
        return tdiff__fail(env, TDIFF_E_OUT_OF_MEMORY, "out of memory reading %s", key);
    out->n = e->count;
    for (size_t i = 0; i < e->count; i++) {
        tdiff_status st = tdiff__meta_arr_str(e, i, &out->s[i], &out->len[i]);
        if (st != TDIFF_OK)
            return tdiff__fail(env, TDIFF_E_BAD_FORMAT, "%s is not an array of strings", key);
    }
    return TDIFF_OK;
}

static void free_strs(tdiff__env *env, strs *s)
{
    tdiff__free(env, s->s);
    tdiff__free(env, s->len);
}

static tdiff_status read_special(const tdiff_model *m, tdiff__env *env, const char *key, int64_t *out)
{
    uint64_t v;
    tdiff_status st = tdiff__meta_get_u64(m, key, &v);
    if (st == TDIFF_E_NOT_FOUND) {
        *out = -1;
        return TDIFF_OK;
    }
    if (st == TDIFF_E_OVERFLOW) { /* a negative id: some converters write -1 for "none" */
        int32_t s;
        if (tdiff__meta_get_i32(m, key, &s) == TDIFF_OK && s == -1) {
            *out = -1;
            return TDIFF_OK;
        }
    }
    if (st != TDIFF_OK)
        return tdiff__fail(env, TDIFF_E_BAD_FORMAT, "%s is not a non-negative integer", key);
    *out = v > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)v;
    return TDIFF_OK;
}

static tdiff_status read_flag(const tdiff_model *m, tdiff__env *env, const char *key, int *out)
{
    bool b;
    tdiff_status st = tdiff__meta_get_bool(m, key, &b);
    if (st == TDIFF_E_NOT_FOUND) {
        *out = -1;
        return TDIFF_OK;
    }
    if (st != TDIFF_OK)
        return tdiff__fail(env, TDIFF_E_BAD_FORMAT, "%s is not a bool", key);
    *out = b;
    return TDIFF_OK;
}

static tdiff_status read_config(const tdiff_model *m, tdiff__env *env, tdiff__tok_config *c, strs *tokens,
                                strs *merges, int32_t **types, float **scores)
{
    tdiff_status st;
    memset(c, 0, sizeof *c);
    if ((st = tdiff__meta_get_str(m, "tokenizer.ggml.model", &c->model, &c->model_len)) != TDIFF_OK)
        return tdiff__fail(env, st == TDIFF_E_NOT_FOUND ? TDIFF_E_NOT_FOUND : TDIFF_E_BAD_FORMAT,
                           "the model has no tokenizer.ggml.model string");
    st = tdiff__meta_get_str(m, "tokenizer.ggml.pre", &c->pre, &c->pre_len);
    if (st != TDIFF_OK && st != TDIFF_E_NOT_FOUND)
        return tdiff__fail(env, TDIFF_E_BAD_FORMAT, "tokenizer.ggml.pre is not a string");
    st = tdiff__meta_get_str(m, "tokenizer.chat_template", &c->chat_template, &c->chat_template_len);
    if (st != TDIFF_OK && st != TDIFF_E_NOT_FOUND)
        return tdiff__fail(env, TDIFF_E_BAD_FORMAT, "tokenizer.chat_template is not a string");
    if ((st = read_strs(m, env, "tokenizer.ggml.tokens", true, tokens)) != TDIFF_OK ||
        (st = read_strs(m, env, "tokenizer.ggml.merges", false, merges)) != TDIFF_OK)
        return st;
    c->n_tokens = tokens->n;
    c->tokens = tokens->s;
    c->token_lens = tokens->len;
    c->n_merges = merges->n;
    c->merges = merges->s;
    c->merge_lens = merges->len;
    const tdiff__meta *e = tdiff__meta_find(m, "tokenizer.ggml.token_type");
    if (e) {
        *types = tdiff__calloc(env, e->count ? e->count : 1, sizeof **types);
        if (!*types)
            return tdiff__fail(env, TDIFF_E_OUT_OF_MEMORY, "out of memory reading token types");
        for (size_t i = 0; i < e->count; i++)
            if (tdiff__meta_arr_i32(e, i, &(*types)[i]) != TDIFF_OK)
                return tdiff__fail(env, TDIFF_E_BAD_FORMAT, "tokenizer.ggml.token_type is not an integer array");
        c->n_types = e->count;
        c->types = *types;
    }
    e = tdiff__meta_find(m, "tokenizer.ggml.scores");
    if (e) {
        *scores = tdiff__calloc(env, e->count ? e->count : 1, sizeof **scores);
        if (!*scores)
            return tdiff__fail(env, TDIFF_E_OUT_OF_MEMORY, "out of memory reading scores");
        for (size_t i = 0; i < e->count; i++)
            if (tdiff__meta_arr_f32(e, i, &(*scores)[i]) != TDIFF_OK)
                return tdiff__fail(env, TDIFF_E_BAD_FORMAT, "tokenizer.ggml.scores is not a float array");
        c->n_scores = e->count;
        c->scores = *scores;
    }
    /* "seperator" is the GGUF spelling; the corrected one is accepted too */
    int64_t sep2;
    if ((st = read_special(m, env, "tokenizer.ggml.bos_token_id", &c->bos)) != TDIFF_OK ||
        (st = read_special(m, env, "tokenizer.ggml.eos_token_id", &c->eos)) != TDIFF_OK ||
        (st = read_special(m, env, "tokenizer.ggml.unknown_token_id", &c->unk)) != TDIFF_OK ||
        (st = read_special(m, env, "tokenizer.ggml.padding_token_id", &c->pad)) != TDIFF_OK ||
        (st = read_special(m, env, "tokenizer.ggml.mask_token_id", &c->mask)) != TDIFF_OK ||
        (st = read_special(m, env, "tokenizer.ggml.seperator_token_id", &c->sep)) != TDIFF_OK ||
        (st = read_special(m, env, "tokenizer.ggml.separator_token_id", &sep2)) != TDIFF_OK ||
        (st = read_special(m, env, "tokenizer.ggml.cls_token_id", &c->cls)) != TDIFF_OK)
        return st;
    if (c->sep < 0)
        c->sep = sep2;
    if ((st = read_flag(m, env, "tokenizer.ggml.add_bos_token", &c->add_bos)) != TDIFF_OK ||
        (st = read_flag(m, env, "tokenizer.ggml.add_eos_token", &c->add_eos)) != TDIFF_OK ||
        (st = read_flag(m, env, "tokenizer.ggml.add_space_prefix", &c->add_space_prefix)) != TDIFF_OK)
        return st;
    return TDIFF_OK;
}

tdiff_status tdiff_tokenizer_create(const tdiff_model *model, const tdiff_host *host, tdiff_tokenizer **out,
                                    char *err, size_t err_cap)
{
    if (out)
        *out = NULL;
    if (!model || !out) {
        tdiff__copy_message(err, err_cap, "tokenizer: NULL model or output pointer");
        return TDIFF_E_INVALID_ARGUMENT;
    }
    tdiff__env env;
    tdiff_status st = tdiff__env_setup(&env, host);
    if (st != TDIFF_OK) {
        tdiff__copy_message(err, err_cap, env.last_error);
        return st;
    }
    tdiff__tok_config c;
    strs tokens = {0}, merges = {0};
    int32_t *types = NULL;
    float *scores = NULL;
    st = read_config(model, &env, &c, &tokens, &merges, &types, &scores);
    if (st == TDIFF_OK)
        st = tdiff__tokenizer_create_config(&c, host, out, err, err_cap);
    else
        tdiff__copy_message(err, err_cap, env.last_error);
    free_strs(&env, &tokens);
    free_strs(&env, &merges);
    tdiff__free(&env, types);
    tdiff__free(&env, scores);
    return st;
}
