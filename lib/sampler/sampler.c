/*
 * sampler.c -- the sampler handle: creation over the built-in denoiser or a
 * caller's callbacks, banned tokens, step callback, history, and the plumbing
 * every step uses (network evaluation, after-step hook). A generation's life
 * (begin/step/result, generate, infill) is in incremental.c; the strategies
 * live in their own files.
 */
#include <math.h>
#include <string.h>
#include <time.h>

#include "model/model.h"
#include "sampler.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

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
    s->banned[mask_id] = 1; /* SUBS: the mask is never a prediction */
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
    if (n_vocab < 1)
        return tdiff__fail(env, TDIFF_E_INVALID_ARGUMENT, "tdiff_sampler_create_with_callback: n_vocab %d < 1",
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
    s->logits_fn = cb->logits;
    s->logits_ctx = cb->user_data;
    if (cb->struct_size >= offsetof(tdiff_denoise_callbacks, destroy) + sizeof cb->destroy)
        s->destroy = cb->destroy;
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
    tdiff_status st = tdiff__env_init(&env, host);
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
    if (hp->n_vocab == 0 || hp->n_vocab > INT32_MAX)
        return tdiff__fail(env, TDIFF_E_BAD_FORMAT, "tdiff_sampler_create: the model has no usable vocabulary (%zu tokens)",
                           hp->n_vocab);
    if (hp->mask < 0 || (size_t)hp->mask >= hp->n_vocab)
        return tdiff__fail(env, TDIFF_E_BAD_FORMAT,
                           "tdiff_sampler_create: the model has no mask token (tokenizer.ggml.mask_token_id); it "
                           "cannot be used as a masked-diffusion denoiser");
    tdiff_sampler *s;
    tdiff_status st = sampler_alloc(env, hp->n_vocab, hp->mask, &s);
    if (st)
        return st;
    s->model = model;
    s->eos_id = (hp->eos >= 0 && (size_t)hp->eos < hp->n_vocab) ? hp->eos : -1;
    s->logits_fn = tdiff__sampler_model_logits;
    s->logits_ctx = s;
    *out = s;
    return TDIFF_OK;
}

tdiff_status tdiff_sampler_create(const tdiff_model *model, const tdiff_host *host, tdiff_sampler **out, char *err,
                                  size_t err_cap)
{
    if (out)
        *out = NULL;
    tdiff__env env;
    tdiff_status st = tdiff__env_init(&env, host);
    if (st == TDIFF_OK)
        st = out ? create_for_model(&env, model, out)
                 : tdiff__fail(&env, TDIFF_E_INVALID_ARGUMENT, "tdiff_sampler_create: NULL out");
    return tdiff__creator_result(&env, st, err, err_cap);
}

void tdiff_sampler_free(tdiff_sampler *s)
{
    if (!s)
        return;
    tdiff__gen_discard(s);
    if (s->destroy)
        s->destroy(s->logits_ctx);
    tdiff_denoiser_free(s->denoiser);
    tdiff__env env = s->env;
    tdiff__free(&env, s->banned);
    tdiff__free(&env, s->history);
    tdiff__free(&env, s);
}

const char *tdiff_sampler_last_error(const tdiff_sampler *s)
{
    return s ? s->env.last_error : "invalid handle";
}

tdiff_status tdiff_sampler_set_banned(tdiff_sampler *s, const int32_t *ids, size_t n)
{
    if (!s)
        return TDIFF_E_INVALID_ARGUMENT;
    if (tdiff__sampler_busy(s))
        return tdiff__fail(&s->env, TDIFF_E_STATE, "a generation is begun (cancel or take its result)");
    if (n > 0 && !ids)
        return tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT, "banned ids: NULL with n = %zu", n);
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || (size_t)ids[i] >= s->n_vocab)
            return tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT, "banned id %d outside [0, %zu)", (int)ids[i],
                               s->n_vocab);
    memset(s->banned, 0, s->n_vocab);
    for (size_t i = 0; i < n; i++)
        s->banned[ids[i]] = 1;
    s->banned[s->mask_id] = 1;
    return TDIFF_OK;
}

tdiff_status tdiff_sampler_set_transition(tdiff_sampler *s, tdiff_transition *tr)
{
    if (!s)
        return TDIFF_E_INVALID_ARGUMENT;
    if (tdiff__sampler_busy(s))
        return tdiff__fail(&s->env, TDIFF_E_STATE, "a generation is begun (cancel or take its result)");
    if (tr && tdiff_transition_n_vocab(tr) != s->n_vocab)
        return tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT, "transition vocabulary %zu != sampler vocabulary %zu",
                           tdiff_transition_n_vocab(tr), s->n_vocab);
    s->transition = tr;
    return TDIFF_OK;
}

tdiff_status tdiff_sampler_set_scheduler(tdiff_sampler *s, tdiff_scheduler *sched)
{
    if (!s)
        return TDIFF_E_INVALID_ARGUMENT;
    if (tdiff__sampler_busy(s))
        return tdiff__fail(&s->env, TDIFF_E_STATE, "a generation is begun (cancel or take its result)");
    s->scheduler = sched;
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

/* ---- one run: shared plumbing ---------------------------------------------- */

tdiff_status tdiff__run_logits(tdiff__run *r, size_t na, float t)
{
    tdiff_sampler *s = r->s;
    tdiff_status yst = tdiff__gen_yield(r);
    if (yst)
        return yst;
    if (s->softmask)
        return tdiff__run_logits_softmask(r, na, t);
    double t0 = now_s();
    int rc = s->logits_fn(s->logits_ctx, r->x, r->n, t, r->pos, na, r->logits);
    s->stat_forward++;
    double cfg = tdiff__sp_float(s, TDIFF_SAMPLER_CFG_SCALE);
    if (rc == 0 && cfg > 0.0) {
        /* Unconditional pass: every caller-fixed position (the prompt) masked. */
        for (size_t i = 0; i < r->n; i++)
            r->ux[i] = r->fixed[i] ? s->mask_id : r->x[i];
        rc = s->logits_fn(s->logits_ctx, r->ux, r->n, t, r->pos, na, r->ulogits);
        s->stat_forward++;
        if (rc == 0) {
            const float w1 = (float)cfg + 1.0f;
            size_t m = na * s->n_vocab;
            for (size_t i = 0; i < m; i++)
                r->logits[i] = r->ulogits[i] + w1 * (r->logits[i] - r->ulogits[i]);
        }
    }
    s->stat_forward_s += now_s() - t0;
    if (rc != 0) {
        tdiff_status st = (rc < 0 && rc >= TDIFF_E_INTERNAL) ? (tdiff_status)rc : TDIFF_E_INTERNAL;
        if (s->model)
            return st; /* the built-in path already wrote the message */
        return tdiff__fail(&s->env, st, "denoiser callback failed with %d at step %zu", rc, r->step);
    }
    return TDIFF_OK;
}

tdiff_status tdiff__run_after_step(tdiff__run *r)
{
    tdiff_sampler *s = r->s;
    s->stat_steps++;
    if (s->has_history) {
        if (s->history_steps * r->n + r->n > s->history_cap) {
            size_t cap = s->history_cap ? 2 * s->history_cap : 16 * r->n;
            size_t bytes;
            if (!tdiff__mul_size(cap, sizeof(int32_t), &bytes))
                return tdiff__fail(&s->env, TDIFF_E_OVERFLOW, "history too large");
            int32_t *h = tdiff__realloc(&s->env, s->history, bytes);
            if (!h)
                return tdiff__fail(&s->env, TDIFF_E_OUT_OF_MEMORY, "history: out of memory");
            s->history = h;
            s->history_cap = cap;
        }
        memcpy(s->history + s->history_steps * r->n, r->x, r->n * sizeof(int32_t));
        s->history_steps++;
    }
    if (s->step_fn && s->step_fn(s->step_ud, r->step, r->n_steps, r->x, r->n, r->conf_out))
        return tdiff__fail(&s->env, TDIFF_E_ABORTED, "aborted by the step callback at step %zu", r->step);
    tdiff__gen_step_done(r);
    return TDIFF_OK;
}

tdiff_status tdiff__sampler_run(tdiff__run *r)
{
    switch ((int)tdiff__sp_int(r->s, TDIFF_SAMPLER_STRATEGY)) {
    case TDIFF_STRATEGY_LLADA:
    case TDIFF_STRATEGY_DREAM:
    case TDIFF_STRATEGY_THRESHOLD:
    case TDIFF_STRATEGY_FACTOR:
        return tdiff__strategy_masked(r);
    case TDIFF_STRATEGY_MASKGIT:
        return tdiff__strategy_maskgit(r);
    case TDIFF_STRATEGY_MASK_PREDICT:
        return tdiff__strategy_mask_predict(r);
    case TDIFF_STRATEGY_MDLM:
    case TDIFF_STRATEGY_MDLM_CACHE:
        return tdiff__strategy_mdlm(r);
    case TDIFF_STRATEGY_D3PM:
        return tdiff__strategy_d3pm(r);
    case TDIFF_STRATEGY_FIRST_HITTING:
        return tdiff__strategy_first_hitting(r);
    case TDIFF_STRATEGY_SEDD_EULER:
    case TDIFF_STRATEGY_SEDD_ANALYTIC:
        return tdiff__strategy_sedd(r);
    case TDIFF_STRATEGY_EMBEDDING:
        return tdiff__strategy_embedding(r);
    default:
        return tdiff__fail(&r->s->env, TDIFF_E_INVALID_ARGUMENT, "unknown strategy");
    }
}
