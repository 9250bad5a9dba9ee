/*
 * api.c -- the public queries on a loaded model: architecture, hyper-parameters,
 * sizes, special tokens, metadata by key, tensor listing. All read-only.
 */
#include <string.h>

#include "model.h"

const char *tdiff_model_architecture(const tdiff_model *model)
{
    return model ? tdiff__model_arch(model) : NULL;
}

tdiff_status tdiff_model_get_int(const tdiff_model *model, tdiff_model_param param, int64_t *out)
{
    if (!model || !out)
        return TDIFF_E_INVALID_ARGUMENT;
    const tdiff__hparams *hp = &model->hp;
    bool known = hp->arch != TDIFF__ARCH_OTHER;
    int64_t v;
    switch (param) {
    case TDIFF_MODEL_N_VOCAB: *out = (int64_t)hp->n_vocab; return TDIFF_OK;
    case TDIFF_MODEL_GGUF_VERSION: *out = model->version; return TDIFF_OK;
    case TDIFF_MODEL_N_TENSORS: *out = (int64_t)model->n_tensors; return TDIFF_OK;
    case TDIFF_MODEL_N_META: *out = (int64_t)model->n_meta; return TDIFF_OK;
    case TDIFF_MODEL_ALIGNMENT: *out = (int64_t)model->alignment; return TDIFF_OK;
    case TDIFF_MODEL_FILE_SIZE: *out = (int64_t)model->size; return TDIFF_OK;
    case TDIFF_MODEL_N_CTX: v = (int64_t)hp->n_ctx; break;
    case TDIFF_MODEL_N_EMBD: v = (int64_t)hp->n_embd; break;
    case TDIFF_MODEL_N_LAYER: v = (int64_t)hp->n_layer; break;
    case TDIFF_MODEL_N_FF: v = (int64_t)hp->n_ff; break;
    case TDIFF_MODEL_N_HEAD: v = (int64_t)hp->n_head; break;
    case TDIFF_MODEL_N_HEAD_KV: v = (int64_t)hp->n_head_kv; break;
    case TDIFF_MODEL_HEAD_DIM: v = (int64_t)hp->head_dim; break;
    case TDIFF_MODEL_ROPE_DIM: v = (int64_t)hp->rope_dim; break;
    case TDIFF_MODEL_SHIFT_LOGITS: v = hp->shift_logits; break;
    case TDIFF_MODEL_ROPE_STYLE: v = hp->rope_style; break;
    case TDIFF_MODEL_HAS_QKV_BIAS: v = hp->has_qkv_bias; break;
    case TDIFF_MODEL_TIED_OUTPUT: v = hp->tied_output; break;
    case TDIFF_MODEL_CAUSAL: v = hp->causal; break;
    default: return TDIFF_E_INVALID_ARGUMENT; /* unknown or a float parameter */
    }
    if (!known)
        return TDIFF_E_NOT_FOUND;
    *out = v;
    return TDIFF_OK;
}

tdiff_status tdiff_model_get_float(const tdiff_model *model, tdiff_model_param param, double *out)
{
    if (!model || !out)
        return TDIFF_E_INVALID_ARGUMENT;
    double v;
    switch (param) {
    case TDIFF_MODEL_ROPE_BASE: v = model->hp.rope_base; break;
    case TDIFF_MODEL_NORM_EPS: v = model->hp.norm_eps; break;
    default: return TDIFF_E_INVALID_ARGUMENT;
    }
    if (model->hp.arch == TDIFF__ARCH_OTHER)
        return TDIFF_E_NOT_FOUND;
    *out = v;
    return TDIFF_OK;
}

static const tdiff__name param_names[] = {
    {TDIFF_MODEL_N_VOCAB, "n_vocab"},
    {TDIFF_MODEL_N_CTX, "n_ctx"},
    {TDIFF_MODEL_N_EMBD, "n_embd"},
    {TDIFF_MODEL_N_LAYER, "n_layer"},
    {TDIFF_MODEL_N_FF, "n_ff"},
    {TDIFF_MODEL_N_HEAD, "n_head"},
    {TDIFF_MODEL_N_HEAD_KV, "n_head_kv"},
    {TDIFF_MODEL_HEAD_DIM, "head_dim"},
    {TDIFF_MODEL_ROPE_DIM, "rope_dim"},
    {TDIFF_MODEL_SHIFT_LOGITS, "shift_logits"},
    {TDIFF_MODEL_ROPE_STYLE, "rope_style"},
    {TDIFF_MODEL_HAS_QKV_BIAS, "has_qkv_bias"},
    {TDIFF_MODEL_TIED_OUTPUT, "tied_output"},
    {TDIFF_MODEL_CAUSAL, "causal"},
    {TDIFF_MODEL_GGUF_VERSION, "gguf_version"},
    {TDIFF_MODEL_N_TENSORS, "n_tensors"},
    {TDIFF_MODEL_N_META, "n_meta"},
    {TDIFF_MODEL_ALIGNMENT, "alignment"},
    {TDIFF_MODEL_FILE_SIZE, "file_size"},
    {TDIFF_MODEL_ROPE_BASE, "rope_base"},
    {TDIFF_MODEL_NORM_EPS, "norm_eps"},
};

const char *tdiff_model_param_name(tdiff_model_param param)
{
    return tdiff__name_of(param_names, TDIFF__COUNT(param_names), (int)param);
}

tdiff_status tdiff_model_param_from_name(const char *name, tdiff_model_param *out)
{
    int v;
    tdiff_status st = tdiff__value_of(param_names, TDIFF__COUNT(param_names), name, out ? &v : NULL);
    if (st == TDIFF_OK)
        *out = (tdiff_model_param)v;
    return st;
}

tdiff_status tdiff_model_weight_count(const tdiff_model *model, uint64_t *out)
{
    if (!model || !out)
        return TDIFF_E_INVALID_ARGUMENT;
    *out = model->n_params;
    return TDIFF_OK;
}

tdiff_status tdiff_model_param_count(const tdiff_model *model, uint64_t *out)
{
    return tdiff_model_weight_count(model, out);
}

tdiff_status tdiff_model_vocab_size(const tdiff_model *model, size_t *out)
{
    if (!model || !out)
        return TDIFF_E_INVALID_ARGUMENT;
    *out = model->hp.n_vocab;
    return TDIFF_OK;
}

tdiff_status tdiff_model_special_id(const tdiff_model *model, tdiff_special_token which, int32_t *out_id)
{
    if (!model || !out_id)
        return TDIFF_E_INVALID_ARGUMENT;
    const tdiff__hparams *hp = &model->hp;
    int32_t id;
    switch (which) {
    case TDIFF_SPECIAL_BOS: id = hp->bos; break;
    case TDIFF_SPECIAL_EOS: id = hp->eos; break;
    case TDIFF_SPECIAL_MASK: id = hp->mask; break;
    case TDIFF_SPECIAL_PAD: id = hp->pad; break;
    case TDIFF_SPECIAL_UNK: id = hp->unk; break;
    case TDIFF_SPECIAL_SEP: id = hp->sep; break;
    case TDIFF_SPECIAL_CLS: id = hp->cls; break;
    default: return TDIFF_E_INVALID_ARGUMENT;
    }
    if (id < 0)
        return TDIFF_E_NOT_FOUND;
    *out_id = id;
    return TDIFF_OK;
}

tdiff_status tdiff_model_special_token(const tdiff_model *model, tdiff_special_token which, int32_t *out_id)
{
    return tdiff_model_special_id(model, which, out_id);
}

/* ---- metadata ---- */

/* Copies (s, n) as a NUL-terminated string into (buf, cap). */
static tdiff_status copy_out(const char *s, size_t n, char *buf, size_t cap, size_t *needed)
{
    if (needed)
        *needed = n + 1; /* n < file size: cannot overflow */
    if (!buf || cap < n + 1)
        return TDIFF_E_BUFFER_TOO_SMALL;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return TDIFF_OK;
}

size_t tdiff_model_meta_count(const tdiff_model *model)
{
    return model ? model->n_meta : 0;
}

tdiff_status tdiff_model_meta_key(const tdiff_model *model, size_t i, char *buf, size_t cap, size_t *needed)
{
    if (!model || i >= model->n_meta)
        return TDIFF_E_INVALID_ARGUMENT;
    return copy_out(model->meta[i].key, model->meta[i].key_len, buf, cap, needed);
}

tdiff_status tdiff_model_meta_type(const tdiff_model *model, const char *key, tdiff_meta_type *out_type,
                                   tdiff_meta_type *out_elem_type, size_t *out_count)
{
    if (!model || !key)
        return TDIFF_E_INVALID_ARGUMENT;
    const tdiff__meta *e = tdiff__meta_find(model, key);
    if (!e)
        return TDIFF_E_NOT_FOUND;
    if (out_type)
        *out_type = (tdiff_meta_type)e->type;
    if (out_elem_type)
        *out_elem_type = (tdiff_meta_type)e->elem_type;
    if (out_count)
        *out_count = e->count;
    return TDIFF_OK;
}

tdiff_status tdiff_model_meta_get_u32(const tdiff_model *model, const char *key, uint32_t *out)
{
    return out ? tdiff__meta_get_u32(model, key, out) : TDIFF_E_INVALID_ARGUMENT;
}

tdiff_status tdiff_model_meta_get_i32(const tdiff_model *model, const char *key, int32_t *out)
{
    return out ? tdiff__meta_get_i32(model, key, out) : TDIFF_E_INVALID_ARGUMENT;
}

tdiff_status tdiff_model_meta_get_u64(const tdiff_model *model, const char *key, uint64_t *out)
{
    return out ? tdiff__meta_get_u64(model, key, out) : TDIFF_E_INVALID_ARGUMENT;
}

tdiff_status tdiff_model_meta_get_f32(const tdiff_model *model, const char *key, float *out)
{
    return out ? tdiff__meta_get_f32(model, key, out) : TDIFF_E_INVALID_ARGUMENT;
}

tdiff_status tdiff_model_meta_get_bool(const tdiff_model *model, const char *key, int *out)
{
    bool b;
    tdiff_status st = out ? tdiff__meta_get_bool(model, key, &b) : TDIFF_E_INVALID_ARGUMENT;
    if (st == TDIFF_OK)
        *out = b;
    return st;
}

tdiff_status tdiff_model_meta_get_str(const tdiff_model *model, const char *key, char *buf, size_t cap,
                                      size_t *needed)
{
    const char *s;
    size_t n;
    tdiff_status st = tdiff__meta_get_str(model, key, &s, &n);
    return st != TDIFF_OK ? st : copy_out(s, n, buf, cap, needed);
}

/* The array entry under key, or a status for the caller. */
static tdiff_status array_entry(const tdiff_model *model, const char *key, const tdiff__meta **e)
{
    if (!model || !key)
        return TDIFF_E_INVALID_ARGUMENT;
    *e = tdiff__meta_find(model, key);
    return *e ? TDIFF_OK : TDIFF_E_NOT_FOUND;
}

tdiff_status tdiff_model_meta_get_arr_str(const tdiff_model *model, const char *key, size_t index, char *buf,
                                          size_t cap, size_t *needed)
{
    const tdiff__meta *e;
    const char *s;
    size_t n;
    tdiff_status st = array_entry(model, key, &e);
    if (st == TDIFF_OK)
        st = tdiff__meta_arr_str(e, index, &s, &n);
    return st != TDIFF_OK ? st : copy_out(s, n, buf, cap, needed);
}

tdiff_status tdiff_model_meta_get_arr_i32(const tdiff_model *model, const char *key, size_t index, int32_t *out)
{
    const tdiff__meta *e;
    tdiff_status st = out ? array_entry(model, key, &e) : TDIFF_E_INVALID_ARGUMENT;
    return st != TDIFF_OK ? st : tdiff__meta_arr_i32(e, index, out);
}

tdiff_status tdiff_model_meta_get_arr_f32(const tdiff_model *model, const char *key, size_t index, float *out)
{
    const tdiff__meta *e;
    tdiff_status st = out ? array_entry(model, key, &e) : TDIFF_E_INVALID_ARGUMENT;
    return st != TDIFF_OK ? st : tdiff__meta_arr_f32(e, index, out);
}

/* ---- tensors ---- */

size_t tdiff_model_tensor_count(const tdiff_model *model)
{
    return model ? model->n_tensors : 0;
}

tdiff_status tdiff_model_tensor_info(const tdiff_model *model, size_t i, char *name_buf, size_t cap,
                                     size_t *needed, int *out_type, int *out_n_dims, int64_t out_ne[4])
{
    if (!model || i >= model->n_tensors)
        return TDIFF_E_INVALID_ARGUMENT;
    const tdiff__tensor *t = &model->tensors[i];
    if (out_type)
        *out_type = (int)t->type;
    if (out_n_dims)
        *out_n_dims = (int)t->n_dims;
    for (int d = 0; out_ne && d < 4; d++)
        out_ne[d] = (int64_t)t->ne[d];
    if (!name_buf && cap == 0) {
        if (needed)
            *needed = t->name_len + 1;
        return TDIFF_OK;
    }
    return copy_out(t->name, t->name_len, name_buf, cap, needed);
}
