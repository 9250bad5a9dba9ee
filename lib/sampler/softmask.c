/*
 * softmask.c -- soft-masked inputs for the masked-diffusion samplers (Hersche
 * et al. 2025; docs/softmask.md): each evaluation feeds still-masked positions
 * a mixture of the mask embedding and the top-k predictions of the previous
 * evaluation, built by lib/softmask and passed to tdiff_denoiser_forward_mix.
 *
 * Only the built-in denoiser takes mixtures, and only strategies whose logits
 * rows stay the raw network output between steps can feed them back.
 */
#include <string.h>
#include <time.h>

#include "sampler.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

tdiff_status tdiff_sampler_set_softmask(tdiff_sampler *s, tdiff_softmask *sm)
{
    if (!s)
        return TDIFF_E_INVALID_ARGUMENT;
    if (tdiff__sampler_busy(s))
        return tdiff__fail(&s->env, TDIFF_E_STATE, "a generation is begun (cancel or take its result)");
    if (sm && !s->model)
        return tdiff__fail(&s->env, TDIFF_E_UNSUPPORTED,
                           "soft masking needs the built-in denoiser (a sampler created from a model)");
    s->softmask = sm;
    return TDIFF_OK;
}

tdiff_status tdiff__sampler_softmask_check(tdiff_sampler *s)
{
    if (!s->softmask)
        return TDIFF_OK;
    switch ((int)tdiff__sp_int(s, TDIFF_SAMPLER_STRATEGY)) {
    case TDIFF_STRATEGY_LLADA:
    case TDIFF_STRATEGY_DREAM:
    case TDIFF_STRATEGY_THRESHOLD:
    case TDIFF_STRATEGY_FACTOR:
    case TDIFF_STRATEGY_MDLM:
        return TDIFF_OK;
    default:
        return tdiff__fail(&s->env, TDIFF_E_UNSUPPORTED,
                           "soft masking works with the llada, dream, threshold, factor and mdlm strategies, not %s",
                           tdiff_strategy_name((int)tdiff__sp_int(s, TDIFF_SAMPLER_STRATEGY)));
    }
}

tdiff_status tdiff__run_softmask_alloc(tdiff__run *r)
{
    tdiff_sampler *s = r->s;
    if (!s->softmask)
        return TDIFF_OK;
    int64_t k = 0;
    if (tdiff_softmask_get_int(s->softmask, TDIFF_SOFTMASK_TOP_K, &k) != TDIFF_OK || k < 1)
        return tdiff__fail(&s->env, TDIFF_E_INTERNAL, "soft-mask handle without a top-k");
    size_t per, cap, offs;
    if (!tdiff__add_size((size_t)k, 1, &per) || !tdiff__mul_size(r->n, per, &cap) ||
        !tdiff__add_size(r->n, 1, &offs))
        return tdiff__fail(&s->env, TDIFF_E_OVERFLOW, "soft-mask lists for %zu positions overflow", r->n);
    r->sm_cap = cap;
    r->sm_offsets = tdiff__calloc(&s->env, 2 * offs, sizeof *r->sm_offsets);
    r->sm_ids = tdiff__calloc(&s->env, 2 * cap, sizeof *r->sm_ids);
    r->sm_weights = tdiff__calloc(&s->env, 2 * cap, sizeof *r->sm_weights);
    r->sm_prev_pos = tdiff__calloc(&s->env, r->n, sizeof *r->sm_prev_pos);
    if (!r->sm_offsets || !r->sm_ids || !r->sm_weights || !r->sm_prev_pos) {
        tdiff__run_softmask_free(r);
        return tdiff__fail(&s->env, TDIFF_E_OUT_OF_MEMORY, "soft-mask lists: out of memory");
    }
    return TDIFF_OK;
}

void tdiff__run_softmask_free(tdiff__run *r)
{
    tdiff__env *env = &r->s->env;
    tdiff__free(env, r->sm_offsets);
    tdiff__free(env, r->sm_ids);
    tdiff__free(env, r->sm_weights);
    tdiff__free(env, r->sm_prev_pos);
    r->sm_offsets = NULL;
    r->sm_ids = NULL;
    r->sm_weights = NULL;
    r->sm_prev_pos = NULL;
    r->sm_prev_na = 0;
}

/* Builds list set `which` (0 conditional, 1 unconditional) for canvas x from
 * the previous evaluation's rows, which still sit in r->logits. */
static tdiff_status build_lists(tdiff__run *r, const int32_t *x, int which)
{
    tdiff_sampler *s = r->s;
    size_t n_entries = 0;
    const float *prev = r->sm_prev_na ? r->logits : NULL;
    tdiff_status st = tdiff_softmask_build(s->softmask, x, r->n, s->mask_id, prev, r->sm_prev_pos, r->sm_prev_na,
                                           r->sm_offsets + (size_t)which * (r->n + 1),
                                           r->sm_ids + (size_t)which * r->sm_cap,
                                           r->sm_weights + (size_t)which * r->sm_cap, r->sm_cap, &n_entries, NULL);
    if (st)
        return tdiff__fail(&s->env, st, "soft mask: %s", tdiff_softmask_last_error(s->softmask));
    return TDIFF_OK;
}

static tdiff_status forward_lists(tdiff__run *r, const int32_t *x, int which, size_t na, float t, float *logits)
{
    tdiff_sampler *s = r->s;
    tdiff_status st = tdiff_denoiser_forward_mix(s->denoiser, x, r->n, r->sm_offsets + (size_t)which * (r->n + 1),
                                                 r->sm_ids + (size_t)which * r->sm_cap,
                                                 r->sm_weights + (size_t)which * r->sm_cap, t, r->pos, na, logits,
                                                 na * s->n_vocab);
    s->stat_forward++;
    if (st)
        return tdiff__fail(&s->env, st, "denoiser: %s", tdiff_denoiser_last_error(s->denoiser));
    return TDIFF_OK;
}

tdiff_status tdiff__run_logits_softmask(tdiff__run *r, size_t na, float t)
{
    tdiff_sampler *s = r->s;
    double cfg = tdiff__sp_float(s, TDIFF_SAMPLER_CFG_SCALE);
    double t0 = now_s();
    /* Both list sets read the previous rows, so both are built before any
     * forward overwrites r->logits. */
    tdiff_status st = build_lists(r, r->x, 0);
    if (!st && cfg > 0.0) {
        for (size_t i = 0; i < r->n; i++)
            r->ux[i] = r->fixed[i] ? s->mask_id : r->x[i];
        st = build_lists(r, r->ux, 1);
    }
    if (!st)
        st = forward_lists(r, r->x, 0, na, t, r->logits);
    if (!st && cfg > 0.0) {
        st = forward_lists(r, r->ux, 1, na, t, r->ulogits);
        if (!st) {
            const float w1 = (float)cfg + 1.0f;
            size_t m = na * s->n_vocab;
            for (size_t i = 0; i < m; i++)
                r->logits[i] = r->ulogits[i] + w1 * (r->logits[i] - r->ulogits[i]);
        }
    }
    s->stat_forward_s += now_s() - t0;
    if (st) {
        r->sm_prev_na = 0;
        return st;
    }
    memcpy(r->sm_prev_pos, r->pos, na * sizeof *r->pos);
    r->sm_prev_na = na;
    return TDIFF_OK;
}
