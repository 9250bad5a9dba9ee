/*
 * config.c -- turns a loaded model into the denoiser's configuration and weight
 * views: llada/dream/llama/qwen2 from the model module's validated hyper-parameters, `tdiff`
 * from its own `tdiff.*` keys (docs/model-format.md, "tdiff" section). Every tensor is
 * checked for shape and type through tdiff__tensor_expect; small vectors (norms,
 * biases) that are not F32 are converted once into vec_store.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* Upper bound for any single dimension (reason: keeps every product of two or
 * three dimensions far from size_t overflow before the checked sums). */
#define DN_MAX_DIM (1u << 24)
/* Required tensors of every layer (attn_norm, attn_q/k/v/output, ffn_norm,
 * ffn_up/down): a block count the file's tensors cannot fill is refused before
 * the layer table (one dn_layer per block) is allocated. */
#define DN_MIN_LAYER_TENSORS 8u

typedef struct binder {
    tdiff_denoiser *d;
    float *store;        /* next free float in vec_store */
    uint8_t *used;       /* [n_tensors]: bound by the configuration */
} binder;

static void mark(binder *b, const tdiff__tensor *t)
{
    if (t)
        b->used[t - b->d->model->tensors] = 1;
}

static tdiff_status bind_mat(binder *b, const char *name, bool required, size_t rows, size_t cols, dn_mat *out)
{
    const size_t ne[4] = {cols, rows, 1, 1};
    const tdiff__tensor *t;
    tdiff_status st = tdiff__tensor_expect(b->d->model, &b->d->env, name, required, 2, ne, &t);
    if (st != TDIFF_OK)
        return st;
    mark(b, t);
    out->t = t;
    out->rows = rows;
    out->cols = cols;
    return TDIFF_OK;
}

static tdiff_status bind_vec(binder *b, const char *name, bool required, size_t len, const float **out)
{
    const size_t ne[4] = {len, 1, 1, 1};
    const tdiff__tensor *t;
    *out = NULL;
    tdiff_status st = tdiff__tensor_expect(b->d->model, &b->d->env, name, required, 1, ne, &t);
    if (st != TDIFF_OK || !t)
        return st;
    mark(b, t);
    if (tdiff__dn_in_place(t)) {
        *out = t->data;
        return TDIFF_OK;
    }
    st = tdiff__tensor_rows_to_f32(b->d->env.k, t, 0, 1, b->store);
    if (st != TDIFF_OK)
        return tdiff__fail(&b->d->env, TDIFF_E_BAD_FORMAT, "tensor %s could not be converted to F32", name);
    *out = b->store;
    b->store += len;
    return TDIFF_OK;
}

/* A table of rows we read one row at a time (embeddings). */
static tdiff_status bind_table(binder *b, const char *name, bool required, size_t rows, size_t cols,
                               const tdiff__tensor **out)
{
    const size_t ne[4] = {cols, rows, 1, 1};
    tdiff_status st = tdiff__tensor_expect(b->d->model, &b->d->env, name, required, 2, ne, out);
    if (st == TDIFF_OK)
        mark(b, *out);
    return st;
}

static tdiff_status bind_layer_name(char *buf, size_t cap, size_t il, const char *what)
{
    int r = snprintf(buf, cap, "blk.%zu.%s", il, what);
    return (r < 0 || (size_t)r >= cap) ? TDIFF_E_INTERNAL : TDIFF_OK;
}

/* Binds every tensor the configuration asks for; optional biases are used when
 * present (and rejected when their shape is wrong). */
static tdiff_status bind_weights(tdiff_denoiser *d, uint8_t *used)
{
    const dn_config *c = &d->cfg;
    dn_weights *w = &d->w;
    binder b = {d, d->vec_store, used};
    size_t dkv = c->n_head_kv * c->head_dim;
    tdiff_status st;
    char nm[96];

#define TRY(expr)                  \
    do {                           \
        if ((st = (expr)) != TDIFF_OK) \
            return st;             \
    } while (0)
#define LNAME(what) TRY(bind_layer_name(nm, sizeof nm, il, what))

    TRY(bind_table(&b, "token_embd.weight", true, c->n_vocab, c->n_embd, &w->tok_embd));
    if (c->learned_pos)
        TRY(bind_table(&b, "position_embd.weight", true, c->n_ctx, c->n_embd, &w->pos_embd));
    if (c->n_token_types)
        TRY(bind_table(&b, "token_types.weight", true, c->n_token_types, c->n_embd, &w->type_embd));
    if (c->embd_norm) {
        TRY(bind_vec(&b, "token_embd_norm.weight", true, c->n_embd, &w->embd_norm_w));
        TRY(bind_vec(&b, "token_embd_norm.bias", false, c->n_embd, &w->embd_norm_b));
    }
    for (size_t il = 0; il < c->n_layer; il++) {
        dn_layer *L = &w->layers[il];
        LNAME("attn_norm.weight");
        TRY(bind_vec(&b, nm, true, c->n_embd, &L->attn_norm_w));
        LNAME("attn_norm.bias");
        TRY(bind_vec(&b, nm, false, c->n_embd, &L->attn_norm_b));
        LNAME("attn_q.weight");
        TRY(bind_mat(&b, nm, true, c->n_embd, c->n_embd, &L->wq));
        LNAME("attn_k.weight");
        TRY(bind_mat(&b, nm, true, dkv, c->n_embd, &L->wk));
        LNAME("attn_v.weight");
        TRY(bind_mat(&b, nm, true, dkv, c->n_embd, &L->wv));
        LNAME("attn_output.weight");
        TRY(bind_mat(&b, nm, true, c->n_embd, c->n_embd, &L->wo));
        LNAME("attn_q.bias");
        TRY(bind_vec(&b, nm, false, c->n_embd, &L->bq));
        LNAME("attn_k.bias");
        TRY(bind_vec(&b, nm, false, dkv, &L->bk));
        LNAME("attn_v.bias");
        TRY(bind_vec(&b, nm, false, dkv, &L->bv));
        LNAME("attn_output.bias");
        TRY(bind_vec(&b, nm, false, c->n_embd, &L->bo));
        LNAME("ffn_norm.weight");
        TRY(bind_vec(&b, nm, true, c->n_embd, &L->ffn_norm_w));
        LNAME("ffn_norm.bias");
        TRY(bind_vec(&b, nm, false, c->n_embd, &L->ffn_norm_b));
        if (c->ffn == DN_FFN_SWIGLU) {
            LNAME("ffn_gate.weight");
            TRY(bind_mat(&b, nm, true, c->n_ff, c->n_embd, &L->w_gate));
            LNAME("ffn_gate.bias");
            TRY(bind_vec(&b, nm, false, c->n_ff, &L->b_gate));
        }
        LNAME("ffn_up.weight");
        TRY(bind_mat(&b, nm, true, c->n_ff, c->n_embd, &L->w_up));
        LNAME("ffn_up.bias");
        TRY(bind_vec(&b, nm, false, c->n_ff, &L->b_up));
        LNAME("ffn_down.weight");
        TRY(bind_mat(&b, nm, true, c->n_embd, c->n_ff, &L->w_down));
        LNAME("ffn_down.bias");
        TRY(bind_vec(&b, nm, false, c->n_embd, &L->b_down));
        if (c->dit) {
            LNAME("adaln.weight");
            TRY(bind_mat(&b, nm, true, 6 * c->n_embd, c->n_cond, &L->w_ada));
            LNAME("adaln.bias");
            TRY(bind_vec(&b, nm, false, 6 * c->n_embd, &L->b_ada));
        }
    }
    if (c->final_norm) {
        TRY(bind_vec(&b, "output_norm.weight", true, c->n_embd, &w->out_norm_w));
        TRY(bind_vec(&b, "output_norm.bias", false, c->n_embd, &w->out_norm_b));
    }
    if (c->head_transform) {
        TRY(bind_mat(&b, "output_transform.weight", true, c->n_embd, c->n_embd, &w->w_transform));
        TRY(bind_vec(&b, "output_transform.bias", false, c->n_embd, &w->b_transform));
        TRY(bind_vec(&b, "output_transform_norm.weight", true, c->n_embd, &w->transform_norm_w));
        TRY(bind_vec(&b, "output_transform_norm.bias", false, c->n_embd, &w->transform_norm_b));
    }
    TRY(bind_mat(&b, "output.weight", false, c->n_vocab, c->n_embd, &w->w_out));
    if (!w->w_out.t) {  /* tied: the head is the embedding table */
        w->w_out.t = w->tok_embd;
        w->w_out.rows = c->n_vocab;
        w->w_out.cols = c->n_embd;
    }
    TRY(bind_vec(&b, "output.bias", false, c->n_vocab, &w->b_out));
    if (c->dit) {
        TRY(bind_mat(&b, "time_embd.in.weight", true, c->n_cond, c->n_freq, &w->w_t_in));
        TRY(bind_vec(&b, "time_embd.in.bias", false, c->n_cond, &w->b_t_in));
        TRY(bind_mat(&b, "time_embd.out.weight", true, c->n_cond, c->n_cond, &w->w_t_out));
        TRY(bind_vec(&b, "time_embd.out.bias", false, c->n_cond, &w->b_t_out));
        TRY(bind_mat(&b, "output_adaln.weight", true, 2 * c->n_embd, c->n_cond, &w->w_out_ada));
        TRY(bind_vec(&b, "output_adaln.bias", false, 2 * c->n_embd, &w->b_out_ada));
    }
#undef LNAME
#undef TRY
    return TDIFF_OK;
}

/* ---- llada / dream / llama / qwen2: the model module already read and checked
 * the keys. llama and qwen2 are causal with shifted logits (hp.causal,
 * hp.shift_logits): row p predicts token p from hidden state p - 1. ---- */

static void config_llama_like(tdiff_denoiser *d)
{
    const tdiff__hparams *hp = &d->model->hp;
    dn_config *c = &d->cfg;
    c->n_vocab = hp->n_vocab;
    c->n_ctx = hp->n_ctx;
    c->n_embd = hp->n_embd;
    c->n_layer = hp->n_layer;
    c->n_ff = hp->n_ff;
    c->n_head = hp->n_head;
    c->n_head_kv = hp->n_head_kv;
    c->head_dim = hp->head_dim;
    c->rope_dim = hp->rope_dim;
    c->rope_base = hp->rope_base;
    c->rope_style = hp->rope_style;
    c->norm = DN_NORM_RMS;
    c->norm_eps = hp->norm_eps;
    c->final_norm = true;
    c->ffn = DN_FFN_SWIGLU;
    c->shift_logits = hp->shift_logits;
    c->attention = hp->causal ? TDIFF_ATTENTION_CAUSAL : TDIFF_ATTENTION_FULL;
}

/* ---- tdiff: our own keys ---- */

typedef struct keys {
    tdiff_denoiser *d;
    tdiff_status st;     /* first failure; later reads are skipped */
} keys;

static size_t key_u32(keys *k, const char *key, bool required, uint32_t def)
{
    uint32_t v = def;
    if (k->st != TDIFF_OK)
        return def;
    tdiff_status st = tdiff__meta_get_u32(k->d->model, key, &v);
    if (st == TDIFF_E_NOT_FOUND && !required)
        return def;
    if (st != TDIFF_OK) {
        k->st = tdiff__fail(&k->d->env, TDIFF_E_BAD_FORMAT, "key %s: %s", key,
                            st == TDIFF_E_NOT_FOUND ? "required but absent" : "not an unsigned 32-bit integer");
        return def;
    }
    if (v > DN_MAX_DIM) {
        k->st = tdiff__fail(&k->d->env, TDIFF_E_BAD_FORMAT, "key %s: %u is larger than %u", key, v, DN_MAX_DIM);
        return def;
    }
    return v;
}

static float key_f32(keys *k, const char *key, float def)
{
    float v = def;
    if (k->st != TDIFF_OK)
        return def;
    tdiff_status st = tdiff__meta_get_f32(k->d->model, key, &v);
    if (st == TDIFF_E_NOT_FOUND)
        return def;
    if (st != TDIFF_OK || !isfinite(v)) {
        k->st = tdiff__fail(&k->d->env, TDIFF_E_BAD_FORMAT, "key %s: not a finite float", key);
        return def;
    }
    return v;
}

static bool key_bool(keys *k, const char *key, bool def)
{
    bool v = def;
    if (k->st != TDIFF_OK)
        return def;
    tdiff_status st = tdiff__meta_get_bool(k->d->model, key, &v);
    if (st == TDIFF_E_NOT_FOUND)
        return def;
    if (st != TDIFF_OK) {
        k->st = tdiff__fail(&k->d->env, TDIFF_E_BAD_FORMAT, "key %s: not a bool", key);
        return def;
    }
    return v;
}

/* A string key that must be one of `names` (NULL-terminated); returns its index. */
static int key_enum(keys *k, const char *key, const char *const *names, int def)
{
    const char *s;
    size_t len;
    if (k->st != TDIFF_OK)
        return def;
    tdiff_status st = tdiff__meta_get_str(k->d->model, key, &s, &len);
    if (st == TDIFF_E_NOT_FOUND)
        return def;
    if (st == TDIFF_OK)
        for (int i = 0; names[i]; i++)
            if (strlen(names[i]) == len && !memcmp(names[i], s, len))
                return i;
    k->st = tdiff__fail(&k->d->env, TDIFF_E_BAD_FORMAT, "key %s: not a string of the documented values", key);
    return def;
}

static tdiff_status config_tdiff(tdiff_denoiser *d)
{
    static const char *const norm_names[] = {"rms", "layer", NULL};
    static const char *const pos_names[] = {"pre", "post", NULL};
    static const char *const ffn_names[] = {"swiglu", "gelu", "gelu_tanh", NULL};
    static const char *const rope_names[] = {"none", "normal", "neox", NULL};
    static const char *const time_names[] = {"none", "dit", NULL};
    dn_config *c = &d->cfg;
    keys k = {d, TDIFF_OK};

    c->n_ctx = key_u32(&k, "tdiff.context_length", true, 0);
    c->n_embd = key_u32(&k, "tdiff.embedding_length", true, 0);
    c->n_layer = key_u32(&k, "tdiff.block_count", true, 0);
    c->n_ff = key_u32(&k, "tdiff.feed_forward_length", true, 0);
    c->n_head = key_u32(&k, "tdiff.attention.head_count", true, 0);
    c->n_head_kv = key_u32(&k, "tdiff.attention.head_count_kv", false, (uint32_t)c->n_head);
    c->norm = key_enum(&k, "tdiff.norm.type", norm_names, 1) == 0 ? DN_NORM_RMS : DN_NORM_LAYER;
    c->norm_eps = key_f32(&k, "tdiff.norm.epsilon", 1e-5f);
    c->post_norm = key_enum(&k, "tdiff.norm.position", pos_names, 0) == 1;
    c->final_norm = key_bool(&k, "tdiff.norm.final", !c->post_norm);
    c->embd_norm = key_bool(&k, "tdiff.embedding.norm", false);
    c->ffn = (dn_ffn)(key_enum(&k, "tdiff.ffn.type", ffn_names, 0) + 1);
    int rope = key_enum(&k, "tdiff.rope.type", rope_names, 0);
    c->rope_style = rope == 0 ? TDIFF__ROPE_NONE : rope == 1 ? TDIFF__ROPE_NORMAL : TDIFF__ROPE_NEOX;
    c->rope_base = key_f32(&k, "tdiff.rope.freq_base", 10000.0f);
    c->learned_pos = key_bool(&k, "tdiff.position.learned", false);
    c->n_token_types = key_u32(&k, "tdiff.token_types", false, 0);
    c->head_transform = key_bool(&k, "tdiff.head.transform", false);
    c->shift_logits = key_bool(&k, "diffusion.shift_logits", false);
    bool causal = key_bool(&k, "tdiff.attention.causal", false);
    c->block_len = key_u32(&k, "tdiff.attention.block_length", false, 0);
    c->span_earlier = key_bool(&k, "tdiff.attention.spans_see_earlier", false);
    c->attention = c->block_len ? TDIFF_ATTENTION_BLOCK_CAUSAL : causal ? TDIFF_ATTENTION_CAUSAL
                                                                       : TDIFF_ATTENTION_FULL;
    c->dit = key_enum(&k, "tdiff.time.type", time_names, 0) == 1;
    if (c->dit) {
        c->n_cond = key_u32(&k, "tdiff.time.embedding_length", true, 0);
        c->n_freq = key_u32(&k, "tdiff.time.frequency_dim", false, 256);  /* MDLM/SEDD default */
        c->max_period = key_f32(&k, "tdiff.time.max_period", 10000.0f);  /* DiT default */
        c->scale_by_sigma = key_bool(&k, "tdiff.time.scale_by_sigma", false);
        c->time_input = key_bool(&k, "tdiff.time.conditioning", true);
    }
    if (k.st != TDIFF_OK)
        return k.st;
    if (c->n_head == 0 || c->n_embd % c->n_head)
        return tdiff__fail(&d->env, TDIFF_E_BAD_FORMAT, "tdiff: head count %zu does not divide embedding length %zu",
                           c->n_head, c->n_embd);
    c->head_dim = c->n_embd / c->n_head;
    c->rope_dim = key_u32(&k, "tdiff.rope.dimension_count", false, (uint32_t)c->head_dim);
    if (k.st != TDIFF_OK)
        return k.st;
    /* Vocabulary: the token list when there is one, else the embedding's rows. */
    c->n_vocab = d->model->hp.n_vocab;
    if (c->n_vocab == 0) {
        const tdiff__tensor *te = tdiff__tensor_find(d->model, "token_embd.weight");
        if (!te || te->n_dims != 2)
            return tdiff__fail(&d->env, TDIFF_E_BAD_FORMAT, "tdiff: token_embd.weight is missing or not 2-D");
        c->n_vocab = te->ne[1];
    }
    if (c->n_embd == 0 || c->n_layer == 0 || c->n_ff == 0 || c->n_ctx == 0 || (c->dit && (!c->n_cond || !c->n_freq)))
        return tdiff__fail(&d->env, TDIFF_E_BAD_FORMAT, "tdiff: a required dimension is zero");
    if (c->dit && c->post_norm)
        return tdiff__fail(&d->env, TDIFF_E_UNSUPPORTED, "tdiff: time conditioning needs tdiff.norm.position = pre");
    return TDIFF_OK;
}

/* Shape rules every architecture must satisfy. */
static tdiff_status check_config(tdiff_denoiser *d)
{
    const dn_config *c = &d->cfg;
    if (c->n_vocab == 0 || c->n_vocab > INT32_MAX || c->n_embd == 0 || c->n_embd > DN_MAX_DIM ||
        c->n_ff > DN_MAX_DIM || c->n_layer == 0 || c->n_layer > DN_MAX_DIM)
        return tdiff__fail(&d->env, TDIFF_E_BAD_FORMAT, "dimensions out of range (vocab %zu, embd %zu, ff %zu)",
                           c->n_vocab, c->n_embd, c->n_ff);
    if (c->n_head == 0 || c->n_head_kv == 0 || c->n_head % c->n_head_kv || c->head_dim * c->n_head != c->n_embd)
        return tdiff__fail(&d->env, TDIFF_E_BAD_FORMAT, "heads %zu / kv heads %zu do not fit embedding %zu",
                           c->n_head, c->n_head_kv, c->n_embd);
    if (c->rope_style != TDIFF__ROPE_NONE &&
        (c->rope_dim == 0 || c->rope_dim % 2 || c->rope_dim > c->head_dim || !(c->rope_base > 0.0f)))
        return tdiff__fail(&d->env, TDIFF_E_BAD_FORMAT, "RoPE dimension %zu / base %g unusable with head dim %zu",
                           c->rope_dim, (double)c->rope_base, c->head_dim);
    if (!(c->norm_eps >= 0.0f) || !isfinite(c->norm_eps))
        return tdiff__fail(&d->env, TDIFF_E_BAD_FORMAT, "norm epsilon is not a finite value >= 0");
    return TDIFF_OK;
}

/* Floats needed to convert every non-F32 1-D tensor (upper bound for vec_store). */
static size_t vector_floats(const tdiff_model *m)
{
    size_t total = 0;
    for (size_t i = 0; i < m->n_tensors; i++) {
        const tdiff__tensor *t = &m->tensors[i];
        if (t->n_dims == 1 && !tdiff__dn_in_place(t))
            total += t->n_elems;  /* bounded by the file size: no overflow */
    }
    return total;
}

tdiff_status tdiff__dn_configure(tdiff_denoiser *d)
{
    const tdiff_model *m = d->model;
    tdiff_status st;
    memset(&d->cfg, 0, sizeof d->cfg);
    if (m->hp.arch == TDIFF__ARCH_LLADA || m->hp.arch == TDIFF__ARCH_DREAM || m->hp.arch == TDIFF__ARCH_LLAMA ||
        m->hp.arch == TDIFF__ARCH_QWEN2)
        config_llama_like(d);
    else if (!strcmp(tdiff__model_arch(m), "tdiff")) {
        if ((st = config_tdiff(d)) != TDIFF_OK)
            return st;
    } else
        return tdiff__fail(&d->env, TDIFF_E_UNSUPPORTED, "the denoiser does not implement architecture '%s'",
                           tdiff__model_arch(m));
    if ((st = check_config(d)) != TDIFF_OK)
        return st;
    if (d->cfg.block_len == 0)
        d->cfg.block_len = DN_DEFAULT_BLOCK;
    if (d->cfg.n_layer > m->n_tensors / DN_MIN_LAYER_TENSORS)
        return tdiff__fail(&d->env, TDIFF_E_BAD_FORMAT,
                           "%zu layers need at least %zu tensors; the file has %zu", d->cfg.n_layer,
                           d->cfg.n_layer * DN_MIN_LAYER_TENSORS, m->n_tensors);
    size_t nvec = vector_floats(m);
    if (nvec) {
        d->vec_store = tdiff__calloc(&d->env, nvec, sizeof(float));
        if (!d->vec_store)
            return tdiff__fail(&d->env, TDIFF_E_OUT_OF_MEMORY, "out of memory converting vectors");
    }
    d->w.layers = tdiff__calloc(&d->env, d->cfg.n_layer, sizeof *d->w.layers);
    if (!d->w.layers)
        return tdiff__fail(&d->env, TDIFF_E_OUT_OF_MEMORY, "out of memory for %zu layers", d->cfg.n_layer);
    /* Every tensor must belong to the configuration: a misspelt optional bias
     * would otherwise be silently ignored. */
    uint8_t *used = tdiff__calloc(&d->env, m->n_tensors ? m->n_tensors : 1, 1);
    if (!used)
        return tdiff__fail(&d->env, TDIFF_E_OUT_OF_MEMORY, "out of memory checking tensors");
    st = bind_weights(d, used);
    for (size_t i = 0; st == TDIFF_OK && i < m->n_tensors; i++)
        if (!used[i])
            st = tdiff__fail(&d->env, TDIFF_E_BAD_FORMAT, "tensor %.*s is not used by this %s configuration",
                             (int)m->tensors[i].name_len, m->tensors[i].name, tdiff__model_arch(m));
    tdiff__free(&d->env, used);
    return st;
}
