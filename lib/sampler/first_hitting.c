/*
 * first_hitting.c -- the first-hitting sampler for masked diffusion (Zheng et
 * al. 2024, "Masked diffusion models are secretly time-agnostic masked models
 * and exploit inaccurate categorical sampling"): with n positions masked at
 * time t, the next unmasking happens at t·u^(1/n) and reveals ONE position
 * chosen uniformly among the masked; its token is drawn from the model's
 * p(x_0) (temperature / top-p / top-k as Dream; T = 0 takes the arg-max). One
 * network call per token, evaluated at the current t, for one position only.
 * Draws: position pick (seed, step, POS_GLOBAL, 0), time jump (.., 1).
 */
#include <math.h>

#include "core/rng.h"
#include "sampler.h"

typedef struct first_hitting_state {
    double t;
} first_hitting_state;

static tdiff_status first_hitting_begin(tdiff__run *r, void *state, bool *done)
{
    first_hitting_state *m = state;
    m->t = 1.0;
    r->n_steps = tdiff__collect_masked(r, r->region_start, r->n);
    *done = r->n_steps == 0;
    return TDIFF_OK;
}

static tdiff_status first_hitting_step(tdiff__run *r, void *state, bool *stepped, bool *done)
{
    first_hitting_state *m = state;
    size_t na = tdiff__collect_masked(r, r->region_start, r->n);
    *stepped = false;
    *done = true;
    if (na == 0)
        return TDIFF_OK;
    double u = tdiff__rng_uniform_double(r->seed, (uint32_t)r->step, TDIFF__POS_GLOBAL, 0);
    size_t pick = (size_t)(u * (double)na);
    if (pick >= na) /* u < 1 always; kept for safety against rounding */
        pick = na - 1;
    const uint32_t pos = r->pos[pick];
    const float *logits;
    tdiff__eval_req q = {.pos = &pos, .na = 1, .t = (float)m->t};
    tdiff_status st = tdiff__evaluate(r, &q, &logits);
    if (st)
        return st;
    int32_t tok;
    double conf;
    if ((st = tdiff__predict(r, TDIFF__PRED_DREAM, TDIFF_REMASK_LOW_CONFIDENCE, logits, pos, &tok, &conf)))
        return st;
    tdiff__clear_confidence(r);
    r->conf_out[pos] = (float)conf;
    r->x[pos] = tok;
    m->t *= pow(tdiff__rng_uniform_double(r->seed, (uint32_t)r->step, TDIFF__POS_GLOBAL, 1), 1.0 / (double)na);
    *stepped = true;
    *done = na == 1;
    return TDIFF_OK;
}

const tdiff__strategy tdiff__strategy_first_hitting = {
    TDIFF_STRATEGY_FIRST_HITTING, "first_hitting", TDIFF__CAP_CALLBACK | TDIFF__CAP_CFG,
    sizeof(first_hitting_state),  first_hitting_begin, first_hitting_step, NULL};
