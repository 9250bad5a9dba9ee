/*
 * softmask.c -- the public soft-mask handle: creation (parameters from the
 * model file's `tdiff.softmask.*` keys or defaults), parameters, and building
 * a whole sequence's mixture lists for tdiff_denoiser_forward_mix.
 */
#include <float.h>
#include <math.h>
#include <string.h>

#include "model/model.h"
#include "softmask/internal.h"

/* Defaults: the paper's Dream example s = 0.25, c = -1, a = 5, as raw values
 * (raw_s = logit(0.25), raw_c = softplus^-1(1), raw_a = softplus^-1(5)). */
#define SM_DEFAULT_RAW_S (-1.0986122886681098)
#define SM_DEFAULT_RAW_C 0.541324854612918
#define SM_DEFAULT_RAW_A 4.993239250550511
#define SM_DEFAULT_K 3u

/* Reads one optional f32 key; absent keeps *out. */
static tdiff_status read_f32(tdiff__env *env, const tdiff_model *m, const char *key, bool allow_minus_inf,
                             double *out)
{
    float v;
    tdiff_status st = tdiff__meta_get_f32(m, key, &v);
    if (st == TDIFF_E_NOT_FOUND)
        return TDIFF_OK;
    if (st != TDIFF_OK)
        return tdiff__fail(env, TDIFF_E_BAD_FORMAT, "%s: expected an f32 value", key);
    if (!(isfinite(v) || (allow_minus_inf && v == -INFINITY)))
        return tdiff__fail(env, TDIFF_E_BAD_FORMAT, "%s = %g is not usable", key, (double)v);
    *out = v;
    return TDIFF_OK;
}

static tdiff_status read_model(tdiff_softmask *sm, const tdiff_model *m)
{
    tdiff_status st;
    sm->from_model = tdiff__meta_find(m, "tdiff.softmask.raw_s") != NULL;
    if ((st = read_f32(&sm->env, m, "tdiff.softmask.raw_s", true, &sm->raw_s)) != TDIFF_OK ||
        (st = read_f32(&sm->env, m, "tdiff.softmask.raw_c", false, &sm->raw_c)) != TDIFF_OK ||
        (st = read_f32(&sm->env, m, "tdiff.softmask.raw_a", false, &sm->raw_a)) != TDIFF_OK)
        return st;
    uint32_t k;
    st = tdiff__meta_get_u32(m, "tdiff.softmask.k", &k);
    if (st == TDIFF_OK) {
        if (k < 1 || k > TDIFF__SOFTMASK_MAX_K)
            return tdiff__fail(&sm->env, TDIFF_E_BAD_FORMAT, "tdiff.softmask.k = %u is outside 1..%u", k,
                               TDIFF__SOFTMASK_MAX_K);
        sm->k = k;
    } else if (st != TDIFF_E_NOT_FOUND) {
        return tdiff__fail(&sm->env, TDIFF_E_BAD_FORMAT, "tdiff.softmask.k: expected an unsigned integer");
    }
    return TDIFF_OK;
}

tdiff_status tdiff_softmask_create(const tdiff_model *model, size_t n_vocab, const tdiff_host *host,
                                   tdiff_softmask **out, char *err, size_t err_cap)
{
    if (out)
        *out = NULL;
    tdiff__env env;
    tdiff_status st = tdiff__env_setup(&env, host);
    if (st != TDIFF_OK)
        return tdiff__creator_result(&env, st, err, err_cap);
    if (!out)
        return tdiff__creator_result(
            &env, tdiff__fail(&env, TDIFF_E_INVALID_ARGUMENT, "tdiff_softmask_create: NULL out"), err, err_cap);
    if (n_vocab < 1 || n_vocab > (size_t)INT32_MAX)
        return tdiff__creator_result(&env,
                                     tdiff__fail(&env, TDIFF_E_INVALID_ARGUMENT,
                                                 "tdiff_softmask_create: n_vocab %zu is outside 1..%d", n_vocab,
                                                 INT32_MAX),
                                     err, err_cap);
    tdiff_softmask *sm = tdiff__calloc(&env, 1, sizeof *sm);
    if (!sm)
        return tdiff__creator_result(
            &env, tdiff__fail(&env, TDIFF_E_OUT_OF_MEMORY, "out of memory for the soft-mask handle"), err, err_cap);
    sm->env = env;
    sm->n_vocab = n_vocab;
    sm->k = SM_DEFAULT_K;
    sm->raw_s = SM_DEFAULT_RAW_S;
    sm->raw_c = SM_DEFAULT_RAW_C;
    sm->raw_a = SM_DEFAULT_RAW_A;
    if (model && (st = read_model(sm, model)) != TDIFF_OK)
        goto fail;
    sm->scratch = tdiff__calloc(&sm->env, n_vocab, 2 * sizeof(float));
    if (!sm->scratch) {
        st = tdiff__fail(&sm->env, TDIFF_E_OUT_OF_MEMORY, "out of memory for %zu floats of scratch", 2 * n_vocab);
        goto fail;
    }
    tdiff__softmask_derive(sm);
    *out = sm;
    return tdiff__creator_result(&sm->env, TDIFF_OK, err, err_cap);
fail:
    st = tdiff__creator_result(&sm->env, st, err, err_cap);
    tdiff__free(&env, sm);
    return st;
}

void tdiff_softmask_free(tdiff_softmask *sm)
{
    if (!sm)
        return;
    tdiff__free(&sm->env, sm->scratch);
    tdiff__free(&sm->env, sm);
}

const char *tdiff_softmask_last_error(const tdiff_softmask *sm)
{
    return sm ? sm->env.last_error : "invalid handle";
}

static const tdiff__name param_names[] = {
    {TDIFF_SOFTMASK_TOP_K, "top_k"},
    {TDIFF_SOFTMASK_RAW_S, "raw_s"},
    {TDIFF_SOFTMASK_RAW_C, "raw_c"},
    {TDIFF_SOFTMASK_RAW_A, "raw_a"},
    {TDIFF_SOFTMASK_S, "s"},
    {TDIFF_SOFTMASK_C, "c"},
    {TDIFF_SOFTMASK_A, "a"},
    {TDIFF_SOFTMASK_FROM_MODEL, "from_model"},
};

const char *tdiff_softmask_param_name(tdiff_softmask_param p)
{
    return tdiff__name_of(param_names, TDIFF__COUNT(param_names), (int)p);
}

tdiff_status tdiff_softmask_param_from_name(const char *name, tdiff_softmask_param *out)
{
    int v;
    tdiff_status st = tdiff__value_of(param_names, TDIFF__COUNT(param_names), name, out ? &v : NULL);
    if (st == TDIFF_OK)
        *out = (tdiff_softmask_param)v;
    return st;
}

tdiff_status tdiff_softmask_param_bounds(tdiff_softmask_param p, double *min, double *max, double *default_value)
{
    double lo = -DBL_MAX, hi = DBL_MAX, def;
    switch (p) {
    case TDIFF_SOFTMASK_TOP_K: lo = 1.0, hi = TDIFF__SOFTMASK_MAX_K, def = SM_DEFAULT_K; break;
    case TDIFF_SOFTMASK_RAW_S: lo = -INFINITY, def = SM_DEFAULT_RAW_S; break; /* -inf: s = 0 */
    case TDIFF_SOFTMASK_RAW_C: def = SM_DEFAULT_RAW_C; break;
    case TDIFF_SOFTMASK_RAW_A: def = SM_DEFAULT_RAW_A; break;
    default: return TDIFF_E_INVALID_ARGUMENT; /* unknown or read-only */
    }
    if (min)
        *min = lo;
    if (max)
        *max = hi;
    if (default_value)
        *default_value = def;
    return TDIFF_OK;
}

/* The error for a parameter that set_int / set_float cannot take. */
static tdiff_status not_settable(tdiff_softmask *sm, tdiff_softmask_param p, const char *kind)
{
    const char *name = tdiff_softmask_param_name(p);
    if (strcmp(name, "unknown") == 0)
        return tdiff__fail(&sm->env, TDIFF_E_INVALID_ARGUMENT, "unknown soft-mask parameter %d", (int)p);
    double lo;
    if (tdiff_softmask_param_bounds(p, &lo, NULL, NULL) != TDIFF_OK)
        return tdiff__fail(&sm->env, TDIFF_E_INVALID_ARGUMENT, "%s is read-only", name);
    return tdiff__fail(&sm->env, TDIFF_E_INVALID_ARGUMENT, "%s is not %s parameter", name, kind);
}

tdiff_status tdiff_softmask_set_int(tdiff_softmask *sm, tdiff_softmask_param p, int64_t value)
{
    if (!sm)
        return TDIFF_E_INVALID_ARGUMENT;
    if (p != TDIFF_SOFTMASK_TOP_K)
        return not_settable(sm, p, "an integer");
    if (value < 1 || value > (int64_t)TDIFF__SOFTMASK_MAX_K)
        return tdiff__fail(&sm->env, TDIFF_E_INVALID_ARGUMENT, "top_k: %lld is outside [1, %u]", (long long)value,
                           TDIFF__SOFTMASK_MAX_K);
    sm->k = (size_t)value;
    return TDIFF_OK;
}

tdiff_status tdiff_softmask_get_int(const tdiff_softmask *sm, tdiff_softmask_param p, int64_t *out)
{
    if (!sm || !out)
        return TDIFF_E_INVALID_ARGUMENT;
    switch (p) {
    case TDIFF_SOFTMASK_TOP_K: *out = (int64_t)sm->k; return TDIFF_OK;
    case TDIFF_SOFTMASK_FROM_MODEL: *out = sm->from_model; return TDIFF_OK;
    default: return TDIFF_E_INVALID_ARGUMENT;
    }
}

tdiff_status tdiff_softmask_set_float(tdiff_softmask *sm, tdiff_softmask_param p, double value)
{
    if (!sm)
        return TDIFF_E_INVALID_ARGUMENT;
    double *dst = p == TDIFF_SOFTMASK_RAW_S ? &sm->raw_s
                  : p == TDIFF_SOFTMASK_RAW_C ? &sm->raw_c
                  : p == TDIFF_SOFTMASK_RAW_A ? &sm->raw_a
                                                : NULL;
    if (!dst)
        return not_settable(sm, p, "a real");
    double lo, hi; /* every real parameter is bounded only by being finite (raw_s: or -inf) */
    (void)tdiff_softmask_param_bounds(p, &lo, &hi, NULL);
    if (!(value >= lo && value <= hi))
        return tdiff__fail(&sm->env, TDIFF_E_INVALID_ARGUMENT, "%s: %g is not %s", tdiff_softmask_param_name(p),
                           value, p == TDIFF_SOFTMASK_RAW_S ? "finite or -inf" : "finite");
    *dst = value;
    tdiff__softmask_derive(sm);
    return TDIFF_OK;
}

tdiff_status tdiff_softmask_get_float(const tdiff_softmask *sm, tdiff_softmask_param p, double *out)
{
    if (!sm || !out)
        return TDIFF_E_INVALID_ARGUMENT;
    switch (p) {
    case TDIFF_SOFTMASK_RAW_S: *out = sm->raw_s; break;
    case TDIFF_SOFTMASK_RAW_C: *out = sm->raw_c; break;
    case TDIFF_SOFTMASK_RAW_A: *out = sm->raw_a; break;
    case TDIFF_SOFTMASK_S: *out = sm->s; break;
    case TDIFF_SOFTMASK_C: *out = sm->c; break;
    case TDIFF_SOFTMASK_A: *out = sm->a; break;
    default: return TDIFF_E_INVALID_ARGUMENT;
    }
    return TDIFF_OK;
}

tdiff_status tdiff_softmask_mix_position(tdiff_softmask *sm, const float *logits, int32_t mask_id, int32_t *ids,
                                         float *weights, size_t cap, size_t *n_out, float *lambda)
{
    if (!sm)
        return TDIFF_E_INVALID_ARGUMENT;
    if (!logits || !ids || !weights || !n_out)
        return tdiff__fail(&sm->env, TDIFF_E_INVALID_ARGUMENT, "softmask_mix_position: NULL argument");
    if (mask_id < 0 || (size_t)mask_id >= sm->n_vocab)
        return tdiff__fail(&sm->env, TDIFF_E_INVALID_ARGUMENT, "mask id %d is outside 0..%zu", mask_id,
                           sm->n_vocab - 1);
    size_t need = 1 + (sm->k < sm->n_vocab ? sm->k : sm->n_vocab);
    *n_out = need;
    if (cap < need)
        return tdiff__fail(&sm->env, TDIFF_E_BUFFER_TOO_SMALL, "softmask: %zu entries needed, capacity %zu", need,
                           cap);
    if (tdiff__softmask_mix_row(sm, logits, mask_id, ids, weights, lambda, NULL) == 0)
        return TDIFF_E_INVALID_ARGUMENT;
    return TDIFF_OK;
}

tdiff_status tdiff_softmask_build(tdiff_softmask *sm, const int32_t *tokens, size_t n, int32_t mask_id,
                                  const float *prev_logits, const uint32_t *prev_positions, size_t n_prev,
                                  size_t *offsets, int32_t *ids, float *weights, size_t cap, size_t *n_entries,
                                  float *lambda)
{
    if (!sm)
        return TDIFF_E_INVALID_ARGUMENT;
    if (!tokens || !offsets || !n_entries || (cap > 0 && (!ids || !weights)))
        return tdiff__fail(&sm->env, TDIFF_E_INVALID_ARGUMENT, "softmask_build: NULL argument");
    if (n == 0)
        return tdiff__fail(&sm->env, TDIFF_E_INVALID_ARGUMENT, "softmask_build: n is 0");
    if (mask_id < 0 || (size_t)mask_id >= sm->n_vocab)
        return tdiff__fail(&sm->env, TDIFF_E_INVALID_ARGUMENT, "mask id %d is outside 0..%zu", mask_id,
                           sm->n_vocab - 1);
    size_t rows = prev_logits ? (prev_positions ? n_prev : n) : 0;
    /* offsets[i + 1] first holds 1 + the previous-logits row of masked position i
     * (0: none), then is overwritten in order with the running entry count. */
    for (size_t i = 0; i < n; i++)
        offsets[i + 1] = 0;
    for (size_t r = 0; r < rows; r++) {
        size_t pos = prev_positions ? prev_positions[r] : r;
        if (pos >= n)
            return tdiff__fail(&sm->env, TDIFF_E_INVALID_ARGUMENT,
                               "softmask_build: previous position %zu (row %zu) is >= n = %zu", pos, r, n);
        if (tokens[pos] == mask_id)
            offsets[pos + 1] = r + 1;
    }
    size_t per = 1 + (sm->k < sm->n_vocab ? sm->k : sm->n_vocab), need = 0;
    for (size_t i = 0; i < n; i++)
        if (tokens[i] == mask_id)
            need += offsets[i + 1] ? per : 1;
    *n_entries = need;
    if (cap < need)
        return tdiff__fail(&sm->env, TDIFF_E_BUFFER_TOO_SMALL, "softmask_build: %zu entries needed, capacity %zu",
                           need, cap);
    size_t cur = 0;
    offsets[0] = 0;
    for (size_t i = 0; i < n; i++) {
        size_t r = offsets[i + 1];
        float lam = 0.0f;
        if (tokens[i] == mask_id) {
            if (r) {
                size_t m = tdiff__softmask_mix_row(sm, prev_logits + (r - 1) * sm->n_vocab, mask_id, ids + cur,
                                                   weights + cur, &lam, NULL);
                if (m == 0)
                    return TDIFF_E_INVALID_ARGUMENT;  /* message set; the row was unusable */
                cur += m;
            } else {
                /* no feedback for this position (first step): the plain mask */
                ids[cur] = mask_id;
                weights[cur++] = 1.0f;
            }
        }
        if (lambda)
            lambda[i] = lam;
        offsets[i + 1] = cur;
    }
    return TDIFF_OK;
}
