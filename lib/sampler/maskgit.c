/*
 * maskgit.c -- MaskGIT decoding (Chang et al. 2022): every step predicts all
 * masked positions, then re-masks the least confident on the cosine schedule
 * (tdiff_transfer_maskgit). Confidence = log p(chosen) + alg_temp·(1 − r)·Gumbel
 * with r = (step+1)/steps: MaskGIT's annealed "choice temperature" (its paper
 * uses 4.5; alg_temp 0 makes the choice deterministic). The last step keeps
 * every prediction.
 */
#include <math.h>

#include "core/rng.h"
#include "sampler.h"

typedef struct maskgit_state {
    size_t steps, n0, i;
} maskgit_state;

static tdiff_status maskgit_begin(tdiff__run *r, void *state, bool *done)
{
    maskgit_state *m = state;
    m->steps = (size_t)tdiff__sp_int(r->s, TDIFF_SAMPLER_STEPS);
    m->n0 = tdiff__collect_masked(r, r->region_start, r->n);
    r->n_steps = m->steps;
    *done = m->n0 == 0;
    return TDIFF_OK;
}

static tdiff_status maskgit_step(tdiff__run *r, void *state, bool *stepped, bool *done)
{
    maskgit_state *m = state;
    tdiff_sampler *s = r->s;
    const double choice_temp = tdiff__sp_float(s, TDIFF_SAMPLER_ALG_TEMP);
    size_t na = tdiff__collect_masked(r, r->region_start, r->n);
    *stepped = false;
    *done = true;
    if (m->i >= m->steps || na == 0)
        return TDIFF_OK;
    size_t keep_masked;
    tdiff_status st = tdiff_transfer_maskgit(m->n0, na, m->i, m->steps, &keep_masked);
    if (st)
        return tdiff__fail(&s->env, st, "maskgit schedule failed");
    const float *logits;
    tdiff__eval_req q = {.pos = r->pos, .na = na, .t = tdiff__masked_fraction(r)};
    if ((st = tdiff__evaluate(r, &q, &logits)))
        return st;
    const double ratio = (double)(m->i + 1) / (double)m->steps;
    tdiff__clear_confidence(r);
    for (size_t j = 0; j < na; j++) {
        double p;
        if ((st = tdiff__predict(r, TDIFF__PRED_DREAM, TDIFF_REMASK_LOW_CONFIDENCE, logits + j * s->n_vocab,
                                 r->pos[j], &r->cand[j], &p)))
            return st;
        double g = choice_temp > 0.0 ? tdiff__rng_gumbel(r->seed, (uint32_t)r->step, r->pos[j], TDIFF__DRAW_CHOICE)
                                     : 0.0;
        r->conf[j] = p == -INFINITY ? p : log(p) + choice_temp * (1.0 - ratio) * g; /* -inf: EOS rule */
        r->conf_out[r->pos[j]] = (float)r->conf[j];
    }
    size_t n_sel = tdiff__select_topk(r->conf, na, na - keep_masked, r->sel, r->order_tmp);
    for (size_t j = 0; j < n_sel; j++)
        r->x[r->pos[r->sel[j]]] = r->cand[r->sel[j]];
    m->i++;
    *stepped = true;
    *done = m->i >= m->steps || tdiff__collect_masked(r, r->region_start, r->n) == 0;
    return TDIFF_OK;
}

const tdiff__strategy tdiff__strategy_maskgit = {
    TDIFF_STRATEGY_MASKGIT, "maskgit", TDIFF__CAP_CALLBACK | TDIFF__CAP_CFG, sizeof(maskgit_state),
    maskgit_begin,          maskgit_step, NULL};
