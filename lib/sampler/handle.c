/*
 * handle.c -- the sampler handle: creation over the built-in denoiser or a
 * caller's callbacks, and what is attached to it between generations (banned
 * tokens, transition, scheduler, soft mask, step callback), the history of the
 * last generation and the last error. Freeing is in generation.c (a free
 * requested from inside the step callback waits for the running call).
 */
#include <string.h>

#include "model/model.h"
#include "sampler.h"

static tdiff_status sampler_alloc(tdiff__env *env, size_t n_vocab, int32_t mask_id, tdiff_sampler **out)
{
    tdiff_sampler *s = tdiff__calloc(env, 1, sizeof *s);
    if (!s)
        return tdiff__fail(env, TDIFF_E_OUT_OF_MEMORY, "out of memory for the sampler handle");
    s->env = *env;
    s->n_vocab = n_vocab;
    s->mask_id = mask_id;
    s->banned = tdiff__calloc(env, n_vocab, 1);
    if (!s->banned) {
        tdiff__free(env, s);
        return tdiff__fail(env, TDIFF_E_OUT_OF_MEMORY, "out of memory for a vocabulary of %zu tokens", n_vocab);
    }
    tdiff__sampler_defaults(s);
    *out = s;
    return TDIFF_OK;
}

static tdiff_status create_with_callback(tdiff__env *env, const tdiff_denoise_callbacks *cb, int32_t n_vocab,
                                         int32_t mask_id, int32_t eos_id, tdiff_sampler **out)
{
    size_t need = offsetof(tdiff_denoise_callbacks, logits) + sizeof cb->logits;
    if (!cb || !cb->logits)
        return tdiff__fail(env, TDIFF_E_INVALID_ARGUMENT, "tdiff_sampler_create_with_callback: NULL %s",
                           cb ? "logits callback" : "callbacks");
    if (cb->struct_size < need)
        return tdiff__fail(env, TDIFF_E_INVALID_ARGUMENT,
                           "tdiff_sampler_create_with_callback: struct_size %zu is smaller than %zu", cb->struct_size,
                           need);
    if (n_vocab < 2)
        return tdiff__fail(env, TDIFF_E_INVALID_ARGUMENT,
                           "tdiff_sampler_create_with_callback: n_vocab %d < 2 (the mask and at least one token)",
                           (int)n_vocab);
    if (mask_id < 0 || mask_id >= n_vocab)
        return tdiff__fail(env, TDIFF_E_INVALID_ARGUMENT,
                           "tdiff_sampler_create_with_callback: mask_id %d is outside [0, %d)", (int)mask_id,
                           (int)n_vocab);
    if (eos_id < -1 || eos_id >= n_vocab)
        return tdiff__fail(env, TDIFF_E_INVALID_ARGUMENT,
                           "tdiff_sampler_create_with_callback: eos_id %d is neither -1 nor in [0, %d)", (int)eos_id,
                           (int)n_vocab);
    tdiff_sampler *s;
    tdiff_status st = sampler_alloc(env, (size_t)n_vocab, mask_id, &s);
    if (st)
        return st;
    s->net.cb_logits = cb->logits;
    s->net.cb_user_data = cb->user_data;
    if (cb->struct_size >= offsetof(tdiff_denoise_callbacks, destroy) + sizeof cb->destroy)
        s->net.cb_destroy = cb->destroy;
    s->eos_id = eos_id;
    *out = s;
    return TDIFF_OK;
}

tdiff_status tdiff_sampler_create_with_callback(const tdiff_denoise_callbacks *cb, int32_t n_vocab,
                                                int32_t mask_id, int32_t eos_id, const tdiff_host *host,
                                                tdiff_sampler **out, char *err, size_t err_cap)
{
    if (out)
        *out = NULL;
    tdiff__env env;
    tdiff_status st = tdiff__env_setup(&env, host);
    if (st == TDIFF_OK)
        st = out ? create_with_callback(&env, cb, n_vocab, mask_id, eos_id, out)
                 : tdiff__fail(&env, TDIFF_E_INVALID_ARGUMENT, "tdiff_sampler_create_with_callback: NULL out");
    return tdiff__creator_result(&env, st, err, err_cap);
}

static tdiff_status create_for_model(tdiff__env *env, const tdiff_model *model, tdiff_sampler **out)
{
    if (!model)
        return tdiff__fail(env, TDIFF_E_INVALID_ARGUMENT, "tdiff_sampler_create: NULL model");
    const tdiff__hparams *hp = &model->hp;
    if (hp->n_vocab < 2 || hp->n_vocab > INT32_MAX)
        return tdiff__fail(env, TDIFF_E_BAD_FORMAT, "tdiff_sampler_create: the model has no usable vocabulary (%zu tokens)",
                           hp->n_vocab);
    /* An autoregressive model has no mask token: the canvas placeholder is EOS
     * (or 0), the strategy ar (sampler.h, no_mask). */
    const bool ar = hp->autoregressive;
    int32_t mask = ar ? (hp->eos >= 0 ? hp->eos : 0) : hp->mask;
    if (!ar && (hp->mask < 0 || (size_t)hp->mask >= hp->n_vocab))
        return tdiff__fail(env, TDIFF_E_BAD_FORMAT,
                           "tdiff_sampler_create: the model has no mask token (tokenizer.ggml.mask_token_id); it "
                           "cannot be used as a masked-diffusion denoiser");
    tdiff_sampler *s;
    tdiff_status st = sampler_alloc(env, hp->n_vocab, mask, &s);
    if (st)
        return st;
    s->net.model = model;
    s->no_mask = ar;
    if (ar)
        s->ival[tdiff__sampler_param_index(TDIFF_SAMPLER_STRATEGY)] = TDIFF_STRATEGY_AR;
    s->eos_id = (hp->eos >= 0 && (size_t)hp->eos < hp->n_vocab) ? hp->eos : -1;
    *out = s;
    return TDIFF_OK;
}

tdiff_status tdiff_sampler_create(const tdiff_model *model, const tdiff_host *host, tdiff_sampler **out, char *err,
                                  size_t err_cap)
{
    if (out)
        *out = NULL;
    tdiff__env env;
    tdiff_status st = tdiff__env_setup(&env, host);
    if (st == TDIFF_OK)
        st = out ? create_for_model(&env, model, out)
                 : tdiff__fail(&env, TDIFF_E_INVALID_ARGUMENT, "tdiff_sampler_create: NULL out");
    return tdiff__creator_result(&env, st, err, err_cap);
}

const char *tdiff_sampler_last_error(const tdiff_sampler *s)
{
    return s ? s->env.last_error : "invalid handle";
}

tdiff_status tdiff_sampler_set_banned(tdiff_sampler *s, const int32_t *ids, size_t n)
{
    if (!s)
        return TDIFF_E_INVALID_ARGUMENT;
    tdiff_status st = tdiff__sampler_check_idle(s, "set_banned");
    if (st)
        return st;
    if (n > 0 && !ids)
        return tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT, "set_banned: NULL ids with n = %zu", n);
    size_t left = s->n_vocab - (s->no_mask ? 0 : 1); /* tokens still producible; the mask is never one */
    for (size_t i = 0; i < n; i++) {
        if (ids[i] < 0 || (size_t)ids[i] >= s->n_vocab)
            return tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT, "set_banned: id %d is outside [0, %zu)",
                               (int)ids[i], s->n_vocab);
    }
    /* Count the distinct ids first: banning every token would leave nothing to produce. */
    uint8_t *b = tdiff__calloc(&s->env, s->n_vocab, 1);
    if (!b)
        return tdiff__fail(&s->env, TDIFF_E_OUT_OF_MEMORY, "set_banned: out of memory");
    size_t distinct = 0;
    for (size_t i = 0; i < n; i++)
        if ((ids[i] != s->mask_id || s->no_mask) && !b[ids[i]]++)
            distinct++;
    if (distinct >= left) {
        tdiff__free(&s->env, b);
        return tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT,
                           "set_banned: the %zu ids ban every token but the mask: nothing could be produced", n);
    }
    tdiff__free(&s->env, s->banned);
    s->banned = b;
    s->n_banned = distinct;
    return TDIFF_OK;
}

tdiff_status tdiff_sampler_set_transition(tdiff_sampler *s, tdiff_transition *tr)
{
    if (!s)
        return TDIFF_E_INVALID_ARGUMENT;
    tdiff_status st = tdiff__sampler_check_idle(s, "set_transition");
    if (st)
        return st;
    if (tr && tdiff_transition_n_vocab(tr) != s->n_vocab)
        return tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT,
                           "set_transition: transition vocabulary %zu != sampler vocabulary %zu",
                           tdiff_transition_n_vocab(tr), s->n_vocab);
    s->transition = tr;
    return TDIFF_OK;
}

tdiff_status tdiff_sampler_set_scheduler(tdiff_sampler *s, tdiff_scheduler *sched)
{
    if (!s)
        return TDIFF_E_INVALID_ARGUMENT;
    tdiff_status st = tdiff__sampler_check_idle(s, "set_scheduler");
    if (st)
        return st;
    s->scheduler = sched;
    return TDIFF_OK;
}

tdiff_status tdiff_sampler_set_softmask(tdiff_sampler *s, tdiff_softmask *sm)
{
    if (!s)
        return TDIFF_E_INVALID_ARGUMENT;
    tdiff_status st = tdiff__sampler_check_idle(s, "set_softmask");
    if (st)
        return st;
    if (sm && !s->net.model)
        return tdiff__fail(&s->env, TDIFF_E_UNSUPPORTED,
                           "set_softmask: soft masking needs the built-in denoiser (a sampler created from a model)");
    s->softmask = sm;
    return TDIFF_OK;
}

tdiff_status tdiff_sampler_set_callback(tdiff_sampler *s, tdiff_step_fn fn, void *user_data)
{
    if (!s)
        return TDIFF_E_INVALID_ARGUMENT;
    s->step_fn = fn;
    s->step_ud = user_data;
    return TDIFF_OK;
}

tdiff_status tdiff_sampler_history(const tdiff_sampler *s, const int32_t **data, size_t *n_steps, size_t *n_canvas)
{
    if (!s || !data || !n_steps || !n_canvas)
        return TDIFF_E_INVALID_ARGUMENT;
    if (!s->has_history)
        return TDIFF_E_STATE;
    *data = s->history;
    *n_steps = s->history_steps;
    *n_canvas = s->history_n;
    return TDIFF_OK;
}
