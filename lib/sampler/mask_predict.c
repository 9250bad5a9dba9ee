/*
 * mask_predict.c -- Mask-Predict (Ghazvininejad et al. 2019): iteration 0
 * predicts every masked position; iteration t re-masks the
 * tdiff_transfer_mask_predict(N, t, T) generated tokens of lowest probability
 * (ties: lowest position first) and predicts them again, keeping each token's
 * probability from the iteration that produced it.
 */
#include <math.h>

#include "sampler.h"

typedef struct mask_predict_state {
    size_t steps, it;
    size_t N;          /* generated positions: the masked ones at the start */
    uint32_t *genpos;  /* [N] their canvas positions, ascending */
    double *prob;      /* [N] probability of each one's current token */
} mask_predict_state;

static tdiff_status mask_predict_begin(tdiff__run *r, void *state, bool *done)
{
    mask_predict_state *m = state;
    tdiff_sampler *s = r->s;
    m->steps = (size_t)tdiff__sp_int(s, TDIFF_SAMPLER_STEPS);
    m->N = tdiff__collect_masked(r, r->region_start, r->n);
    m->genpos = tdiff__calloc(&s->env, m->N ? m->N : 1, sizeof *m->genpos);
    m->prob = tdiff__calloc(&s->env, m->N ? m->N : 1, sizeof *m->prob);
    if (!m->genpos || !m->prob)
        return tdiff__fail(&s->env, TDIFF_E_OUT_OF_MEMORY, "mask-predict: out of memory");
    for (size_t j = 0; j < m->N; j++)
        m->genpos[j] = r->pos[j];
    r->n_steps = m->steps;
    *done = m->N == 0;
    return TDIFF_OK;
}

static void mask_predict_finish(tdiff__run *r, void *state)
{
    mask_predict_state *m = state;
    tdiff__free(&r->s->env, m->genpos);
    tdiff__free(&r->s->env, m->prob);
}

/* Tokens re-masked at iteration it (> 0); 0 ends the run. */
static tdiff_status remask_count(tdiff__run *r, const mask_predict_state *m, size_t it, size_t *n_mask)
{
    tdiff_status st = tdiff_transfer_mask_predict(m->N, it, m->steps, n_mask);
    if (st)
        return tdiff__fail(&r->s->env, st, "mask-predict schedule failed");
    return TDIFF_OK;
}

static tdiff_status mask_predict_step(tdiff__run *r, void *state, bool *stepped, bool *done)
{
    mask_predict_state *m = state;
    tdiff_sampler *s = r->s;
    uint32_t *gen = r->sel; /* slot -> generated index */
    tdiff_status st;
    *stepped = false;
    *done = true;
    if (m->it >= m->steps)
        return TDIFF_OK;
    if (m->it > 0) {
        size_t n_mask;
        if ((st = remask_count(r, m, m->it, &n_mask)))
            return st;
        if (n_mask == 0)
            return TDIFF_OK;
        /* lowest probability first = highest of -p, ties by lower slot */
        for (size_t j = 0; j < m->N; j++)
            r->conf[j] = -m->prob[j];
        tdiff__sort_desc(r->conf, m->N, gen, r->order);
        for (size_t j = 0; j < n_mask; j++)
            r->x[m->genpos[gen[j]]] = s->mask_id;
    }
    /* active set = masked generated positions, ascending */
    size_t na = 0;
    for (size_t j = 0; j < m->N; j++)
        if (r->x[m->genpos[j]] == s->mask_id) {
            r->pos[na] = m->genpos[j];
            gen[na++] = (uint32_t)j;
        }
    if (na == 0)
        return TDIFF_OK;
    const float *logits;
    tdiff__eval_req q = {.pos = r->pos, .na = na, .t = tdiff__masked_fraction(r)};
    if ((st = tdiff__evaluate(r, &q, &logits)))
        return st;
    tdiff__clear_confidence(r);
    for (size_t a = 0; a < na; a++) {
        double p;
        if ((st = tdiff__predict(r, TDIFF__PRED_DREAM, TDIFF_REMASK_LOW_CONFIDENCE, logits + a * s->n_vocab,
                                 r->pos[a], &r->cand[a], &p)))
            return st;
        r->conf_out[r->pos[a]] = (float)p;
        m->prob[gen[a]] = p;
    }
    for (size_t a = 0; a < na; a++)
        r->x[r->pos[a]] = r->cand[a];
    m->it++;
    *stepped = true;
    size_t next = 0;
    if (m->it < m->steps && (st = remask_count(r, m, m->it, &next)))
        return st;
    *done = next == 0;
    return TDIFF_OK;
}

const tdiff__strategy tdiff__strategy_mask_predict = {
    TDIFF_STRATEGY_MASK_PREDICT, "mask_predict", TDIFF__CAP_CALLBACK | TDIFF__CAP_CFG, sizeof(mask_predict_state),
    mask_predict_begin,          mask_predict_step, mask_predict_finish};
