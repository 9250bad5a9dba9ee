/*
 * mdlm.c -- MDLM's ancestral samplers (Sahoo et al. 2024, diffusion.py):
 * `ddpm` and `ddpm_cache`. Times t_i = 1 + i·(eps − 1)/steps, s = t − (1 − eps)/steps;
 * log-linear schedule with move chance m(t) = (1 − 1e-3)·t (algorithms.md §1).
 * For a masked position: q(v) = p_θ(v)·(m(t) − m(s)) for tokens, q(mask) = m(s),
 * sampled by an exponential race argmax_v q(v)/(−log u_v) (MDLM's Gumbel form);
 * unmasked positions are carried over (SUBS). A final noise-removal pass
 * commits the arg-max at whatever is still masked.
 *
 * The network is told the total noise σ̄(t) = −log1p(−(1 − 1e-3)·t), what MDLM's
 * backbone receives (a DiT file without time conditioning ignores it, as MDLM
 * feeds zeros then). `ddpm_cache` reuses the last network output while no token
 * changed; the evaluation seam never reuses it for a time-conditioned network,
 * whose input σ̄(t) changes every step.
 */
#include <math.h>

#include "core/rng.h"
#include "sampler.h"

#define MDLM_SCHEDULE_EPS 1e-3 /* log-linear schedule: alpha_bar(1) = 1e-3, not 0 */

typedef struct mdlm_state {
    size_t steps, i;
    double eps, dt;
    bool cache;
} mdlm_state;

static tdiff_status mdlm_begin(tdiff__run *r, void *state, bool *done)
{
    mdlm_state *m = state;
    tdiff_sampler *s = r->s;
    m->steps = (size_t)tdiff__sp_int(s, TDIFF_SAMPLER_STEPS);
    m->eps = tdiff__sp_float(s, TDIFF_SAMPLER_EPS);
    m->dt = (1.0 - m->eps) / (double)m->steps;
    m->cache = tdiff__sp_int(s, TDIFF_SAMPLER_STRATEGY) == TDIFF_STRATEGY_MDLM_CACHE;
    r->n_steps = m->steps + 1;
    *done = false;
    return TDIFF_OK;
}

/* Draws the update of one masked position: a token, or the mask itself. */
static tdiff_status update_position(tdiff__run *r, const float *logits, uint32_t pos, bool last, double mt, double ms,
                                    int32_t *pick, float *conf)
{
    tdiff_sampler *s = r->s;
    const size_t V = s->n_vocab;
    double *p = r->row2;
    tdiff_status st = tdiff__row_prepare(r, logits, pos, p);
    if (st)
        return st;
    tdiff__softmax64(p, V);
    size_t best_v;
    if (last) {
        best_v = tdiff__argmax64(p, V);
    } else {
        for (size_t v = 0; v < V; v++)
            p[v] *= mt - ms;
        p[s->mask_id] = ms;
        double best = -1.0;
        best_v = (size_t)s->mask_id;
        for (size_t v = 0; v < V; v++) {
            double u = tdiff__rng_uniform_double(r->seed, (uint32_t)r->step, pos, (uint32_t)v);
            double score = p[v] / -log(u);
            if (score > best) {
                best = score;
                best_v = v;
            }
        }
    }
    *pick = (int32_t)best_v;
    *conf = (float)p[best_v];
    return TDIFF_OK;
}

static tdiff_status mdlm_step(tdiff__run *r, void *state, bool *stepped, bool *done)
{
    mdlm_state *m = state;
    tdiff_sampler *s = r->s;
    size_t na = tdiff__collect_masked(r, r->region_start, r->n);
    *stepped = false;
    *done = true;
    if (m->i > m->steps || na == 0)
        return TDIFF_OK;
    const bool last = m->i == m->steps; /* noise removal */
    const double t = last ? m->eps : 1.0 + (double)m->i * (m->eps - 1.0) / (double)m->steps;
    const double mt = (1.0 - MDLM_SCHEDULE_EPS) * t, ms = (1.0 - MDLM_SCHEDULE_EPS) * (t - m->dt);
    const float *logits;
    tdiff__eval_req q = {.pos = r->pos, .na = na, .t = (float)-log1p(-mt), .reuse = m->cache};
    tdiff_status st = tdiff__evaluate(r, &q, &logits);
    if (st)
        return st;
    tdiff__clear_confidence(r);
    for (size_t j = 0; j < na; j++) {
        if ((st = update_position(r, logits + j * s->n_vocab, r->pos[j], last, mt, ms, &r->cand[j],
                                  &r->conf_out[r->pos[j]])))
            return st;
    }
    for (size_t j = 0; j < na; j++)
        if (r->cand[j] != s->mask_id)
            r->x[r->pos[j]] = r->cand[j];
    m->i++;
    *stepped = true;
    *done = m->i > m->steps || tdiff__collect_masked(r, r->region_start, r->n) == 0;
    return TDIFF_OK;
}

enum { MDLM_CAPS = TDIFF__CAP_SOFTMASK | TDIFF__CAP_CALLBACK | TDIFF__CAP_CFG };
const tdiff__strategy tdiff__strategy_mdlm = {TDIFF_STRATEGY_MDLM, "mdlm", MDLM_CAPS, sizeof(mdlm_state),
                                              mdlm_begin, mdlm_step, NULL};
/* no soft masking: mixtures change every step, so there would be nothing to reuse */
const tdiff__strategy tdiff__strategy_mdlm_cache = {TDIFF_STRATEGY_MDLM_CACHE, "mdlm_cache",
                                                    MDLM_CAPS & ~TDIFF__CAP_SOFTMASK,
                                                    sizeof(mdlm_state), mdlm_begin, mdlm_step, NULL};
