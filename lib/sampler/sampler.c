/*
 * sampler.c -- the sampler handle: creation over the built-in denoiser or a
 * caller's callbacks, banned tokens, step callback, history, and the two entry
 * points (generate, infill) that lay out the canvas, run a strategy and hand
 * back the tokens. The strategies themselves live in their own files.
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

static tdiff_status sampler_alloc(const tdiff_host *host, size_t n_vocab, int32_t mask_id, tdiff_sampler **out)
{
    tdiff__env env;
    tdiff_status st = tdiff__env_init(&env, host);
    if (st)
        return st;
    tdiff_sampler *s = tdiff__calloc(&env, 1, sizeof *s);
    if (!s)
        return TDIFF_E_OUT_OF_MEMORY;
    s->env = env;
    s->n_vocab = n_vocab;
    s->mask_id = mask_id;
    s->banned = tdiff__calloc(&s->env, n_vocab, 1);
    if (!s->banned) {
        tdiff__free(&env, s);
        return TDIFF_E_OUT_OF_MEMORY;
    }
    s->banned[mask_id] = 1; /* SUBS: the mask is never a prediction */
    tdiff__sampler_defaults(s);
    *out = s;
    return TDIFF_OK;
}

tdiff_status tdiff_sampler_create_with_callback(const tdiff_denoise_callbacks *cb, int32_t n_vocab,
                                                int32_t mask_id, int32_t eos_id, const tdiff_host *host,
                                                tdiff_sampler **out)
{
    if (!out)
        return TDIFF_E_INVALID_ARGUMENT;
    *out = NULL;
    size_t need = offsetof(tdiff_denoise_callbacks, logits) + sizeof cb->logits;
    if (!cb || cb->struct_size < need || !cb->logits || n_vocab < 1 || mask_id < 0 || mask_id >= n_vocab ||
        eos_id < -1 || eos_id >= n_vocab)
        return TDIFF_E_INVALID_ARGUMENT;
    tdiff_sampler *s;
    tdiff_status st = sampler_alloc(host, (size_t)n_vocab, mask_id, &s);
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

tdiff_status tdiff_sampler_create(const tdiff_model *model, const tdiff_host *host, tdiff_sampler **out)
{
    if (!out)
        return TDIFF_E_INVALID_ARGUMENT;
    *out = NULL;
    if (!model)
        return TDIFF_E_INVALID_ARGUMENT;
    const tdiff__hparams *hp = &model->hp;
    if (hp->n_vocab == 0 || hp->n_vocab > INT32_MAX || hp->mask < 0 || (size_t)hp->mask >= hp->n_vocab)
        return TDIFF_E_BAD_FORMAT;
    tdiff_sampler *s;
    tdiff_status st = sampler_alloc(host, hp->n_vocab, hp->mask, &s);
    if (st)
        return st;
    s->model = model;
    s->eos_id = (hp->eos >= 0 && (size_t)hp->eos < hp->n_vocab) ? hp->eos : -1;
    s->logits_fn = tdiff__sampler_model_logits;
    s->logits_ctx = s;
    *out = s;
    return TDIFF_OK;
}

void tdiff_sampler_free(tdiff_sampler *s)
{
    if (!s)
        return;
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
    return TDIFF_OK;
}

/* ---- generate / infill ----------------------------------------------------- */

static void run_free(tdiff__run *r)
{
    const tdiff__env *env = &r->s->env;
    void *bufs[] = {r->x, r->fixed, r->pos, r->logits, r->ulogits, r->ux, r->row, r->row2, r->row3,
                    r->order, r->order_tmp, r->cand, r->conf, r->conf_out, r->sel, r->aux};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        tdiff__free(env, bufs[i]);
}

/* Allocates the run's buffers for a canvas of n tokens of which `rows` are
 * masked: no strategy asks the network about more positions than that. */
static tdiff_status run_alloc(tdiff__run *r, tdiff_sampler *s, size_t n, size_t rows)
{
    memset(r, 0, sizeof *r);
    r->s = s;
    r->n = n;
    r->seed = (uint64_t)tdiff__sp_int(s, TDIFF_SAMPLER_SEED);
    r->llamacpp = tdiff__sp_int(s, TDIFF_SAMPLER_COMPAT) == TDIFF_COMPAT_LLAMACPP;
    size_t V = s->n_vocab, nv, big = n > V ? n : V;
    if (!tdiff__mul_size(rows, V, &nv) || nv > SIZE_MAX / sizeof(float) / 2)
        return tdiff__fail(&s->env, TDIFF_E_OVERFLOW, "canvas of %zu x vocabulary %zu is too large", n, V);
    tdiff__env *env = &s->env;
    r->x = tdiff__calloc(env, n, sizeof *r->x);
    r->fixed = tdiff__calloc(env, n, 1);
    r->pos = tdiff__calloc(env, n, sizeof *r->pos);
    r->logits = tdiff__calloc(env, nv, sizeof(float));
    r->row = tdiff__calloc(env, V, sizeof(double));
    r->row2 = tdiff__calloc(env, V, sizeof(double));
    r->row3 = tdiff__calloc(env, V, sizeof(double));
    r->order = tdiff__calloc(env, big, sizeof(uint32_t));
    r->order_tmp = tdiff__calloc(env, big, sizeof(uint32_t));
    r->cand = tdiff__calloc(env, n, sizeof *r->cand);
    r->conf = tdiff__calloc(env, n, sizeof *r->conf);
    r->conf_out = tdiff__calloc(env, n, sizeof *r->conf_out);
    r->sel = tdiff__calloc(env, n, sizeof *r->sel);
    r->aux = tdiff__calloc(env, n, sizeof *r->aux);
    bool ok = r->x && r->fixed && r->pos && r->logits && r->row && r->row2 && r->row3 && r->order &&
              r->order_tmp && r->cand && r->conf && r->conf_out && r->sel && r->aux;
    if (ok && tdiff__sp_float(s, TDIFF_SAMPLER_CFG_SCALE) > 0.0) {
        r->ulogits = tdiff__calloc(env, nv, sizeof(float));
        r->ux = tdiff__calloc(env, n, sizeof *r->ux);
        ok = r->ulogits && r->ux;
    }
    if (!ok) {
        run_free(r);
        return tdiff__fail(env, TDIFF_E_OUT_OF_MEMORY, "sampler workspace: out of memory");
    }
    return TDIFF_OK;
}

/* Resets results, prepares the denoiser, runs the strategy, records timings. */
static tdiff_status run_execute(tdiff__run *r)
{
    tdiff_sampler *s = r->s;
    double t0 = now_s();
    s->stat_forward = 0;
    s->stat_steps = 0;
    s->stat_forward_s = 0.0;
    s->history_steps = 0;
    s->history_n = r->n;
    s->has_history = tdiff__sp_int(s, TDIFF_SAMPLER_KEEP_HISTORY) != 0;
    s->env.last_error[0] = '\0';
    tdiff_status st = TDIFF_OK;
    if (s->model)
        st = tdiff__sampler_ensure_denoiser(s, r->n);
    if (!st)
        st = tdiff__sampler_run(r);
    s->stat_total_s = now_s() - t0;
    return st;
}

static tdiff_status check_tokens(tdiff_sampler *s, const int32_t *t, size_t n, bool allow_mask, const char *what)
{
    for (size_t i = 0; i < n; i++) {
        if (t[i] < 0 || (size_t)t[i] >= s->n_vocab)
            return tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT, "%s token %zu = %d outside [0, %zu)", what, i,
                               (int)t[i], s->n_vocab);
        if (!allow_mask && t[i] == s->mask_id)
            return tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT,
                               "%s token %zu is the mask token (use tdiff_sampler_infill for holes)", what, i);
    }
    return TDIFF_OK;
}

tdiff_status tdiff_sampler_generate(tdiff_sampler *s, const int32_t *prompt, size_t n_prompt, int32_t *out,
                                    size_t cap, size_t *n_out)
{
    if (!s)
        return TDIFF_E_INVALID_ARGUMENT;
    if ((!prompt && n_prompt) || !n_out || (!out && cap))
        return tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT, "generate: NULL argument");
    tdiff_status st = check_tokens(s, prompt, n_prompt, false, "prompt");
    if (st)
        return st;
    size_t gen = (size_t)tdiff__sp_int(s, TDIFF_SAMPLER_GEN_LENGTH), n;
    bool compat = tdiff__sp_int(s, TDIFF_SAMPLER_COMPAT) == TDIFF_COMPAT_LLAMACPP;
    if (compat) {
        if (gen <= n_prompt)
            return tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT,
                               "compat llamacpp: the canvas (%zu) must be longer than the prompt (%zu)", gen,
                               n_prompt);
        n = gen;
        gen = n - n_prompt;
    } else if (!tdiff__add_size(n_prompt, gen, &n)) {
        return tdiff__fail(&s->env, TDIFF_E_OVERFLOW, "prompt + generation length overflows");
    }
    if (cap < gen) {
        *n_out = gen;
        return tdiff__fail(&s->env, TDIFF_E_BUFFER_TOO_SMALL, "output needs %zu tokens, capacity %zu", gen, cap);
    }
    tdiff__run r;
    if ((st = run_alloc(&r, s, n, gen)))
        return st;
    for (size_t i = 0; i < n; i++) {
        r.x[i] = i < n_prompt ? prompt[i] : s->mask_id;
        r.fixed[i] = i < n_prompt;
    }
    r.region_start = n_prompt;
    st = run_execute(&r);
    if (!st) {
        size_t m = gen;
        if (tdiff__sp_int(s, TDIFF_SAMPLER_CUT_AT_EOS) && s->eos_id >= 0)
            for (size_t i = 0; i < gen; i++)
                if (r.x[n_prompt + i] == s->eos_id) {
                    m = i;
                    break;
                }
        memcpy(out, r.x + n_prompt, m * sizeof *out);
        *n_out = m;
    }
    run_free(&r);
    return st;
}

tdiff_status tdiff_sampler_infill(tdiff_sampler *s, const int32_t *canvas, size_t n, int32_t *out, size_t cap,
                                  size_t *n_out)
{
    if (!s)
        return TDIFF_E_INVALID_ARGUMENT;
    if (!canvas || !n_out || !out || n == 0)
        return tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT, "infill: NULL argument or empty canvas");
    tdiff_status st = check_tokens(s, canvas, n, true, "canvas");
    if (st)
        return st;
    size_t first = n, holes = 0;
    for (size_t i = 0; i < n; i++)
        if (canvas[i] == s->mask_id) {
            first = first < i ? first : i;
            holes++;
        }
    if (first == n)
        return tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT, "infill: the canvas has no mask token to fill");
    if (cap < n) {
        *n_out = n;
        return tdiff__fail(&s->env, TDIFF_E_BUFFER_TOO_SMALL, "output needs %zu tokens, capacity %zu", n, cap);
    }
    tdiff__run r;
    if ((st = run_alloc(&r, s, n, holes)))
        return st;
    for (size_t i = 0; i < n; i++) {
        r.x[i] = canvas[i];
        r.fixed[i] = canvas[i] != s->mask_id;
    }
    r.region_start = first;
    st = run_execute(&r);
    if (!st) {
        memcpy(out, r.x, n * sizeof *out);
        *n_out = n;
    }
    run_free(&r);
    return st;
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
    default:
        return tdiff__fail(&r->s->env, TDIFF_E_INVALID_ARGUMENT, "unknown strategy");
    }
}
