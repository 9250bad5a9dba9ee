/*
 * d3pm.c -- D3PM ancestral sampling (Austin et al. 2021) for UNIFORM and
 * ABSORBING transitions, as the reference code (diffusion_categorical.py,
 * p_sample) does it. t runs T..1 over the transition's steps:
 *   t > 1: x_{t-1} ~ softmax(log(Q_t[:, x_t] + 1e-6) + log(p̃·Q̄_{t-1} + 1e-6)),
 *          the x0-parameterised posterior in log space with the reference's
 *          1e-6 floor (tdiff__transition_posterior_logits), so a state p̃ makes
 *          impossible is not an error;
 *   t = 1: x_0 = arg-max p̃(x_0 | x_1), the network's prediction itself.
 * p̃ = softmax(logits) over the tokens the sampler may produce. The absorbing
 * graph keeps "still masked" as a state until t = 1. Prior x_T: the mask for
 * absorbing (the canvas already holds it), a uniform allowed token otherwise.
 * Every non-fixed position of the region is updated each step.
 */
#include <math.h>
#include <string.h>

#include "core/rng.h"
#include "sampler.h"
#include "transition/transition.h"

typedef struct d3pm_state {
    size_t T, i, na;
    bool absorbing;
    uint32_t *pos;     /* [na] the region's positions, fixed for the run */
    double *post;      /* [V] the posterior's log weights, then its probabilities */
    double *scratch;   /* [2V] */
} d3pm_state;

static tdiff_status d3pm_begin(tdiff__run *r, void *state, bool *done)
{
    d3pm_state *m = state;
    tdiff_sampler *s = r->s;
    const size_t V = s->n_vocab;
    m->T = tdiff_transition_n_steps(s->transition);
    tdiff_status st = tdiff__graph_prior(r, &m->na, &m->absorbing);
    if (st)
        return st;
    m->pos = tdiff__calloc(&s->env, m->na + 1, sizeof *m->pos);
    m->post = tdiff__calloc(&s->env, V, sizeof *m->post);
    m->scratch = tdiff__calloc(&s->env, V, 2 * sizeof *m->scratch);
    if (!m->pos || !m->post || !m->scratch)
        return tdiff__fail(&s->env, TDIFF_E_OUT_OF_MEMORY, "d3pm: out of memory");
    memcpy(m->pos, r->pos, m->na * sizeof *m->pos);
    r->n_steps = m->T;
    *done = m->na == 0;
    return TDIFF_OK;
}

static void d3pm_finish(tdiff__run *r, void *state)
{
    d3pm_state *m = state;
    tdiff__free(&r->s->env, m->pos);
    tdiff__free(&r->s->env, m->post);
    tdiff__free(&r->s->env, m->scratch);
}

/* x_{t-1} of one position from p0 = p̃(x_0 | x_t) (t > 1). */
static tdiff_status posterior_draw(tdiff__run *r, d3pm_state *m, size_t t, uint32_t pos, const double *p0,
                                   int32_t *tok, float *conf)
{
    tdiff_sampler *s = r->s;
    const size_t V = s->n_vocab;
    double *w = m->post;
    tdiff__transition_posterior_logits(s->transition, t, r->x[pos], p0, w, m->scratch);
    for (size_t v = 0; v < V; v++) /* staying masked is a state of the absorbing graph */
        if (!tdiff__allowed(s, v) && !(m->absorbing && (int32_t)v == s->mask_id))
            w[v] = -INFINITY;
    tdiff__softmax64(w, V);
    size_t v = tdiff__rng_categorical(w, V, tdiff__rng_uniform_double(r->seed, (uint32_t)r->step, pos,
                                                                      TDIFF__DRAW_SAMPLE));
    if (v == V)
        return tdiff__bad_row(r, pos);
    *tok = (int32_t)v;
    *conf = (float)w[v];
    return TDIFF_OK;
}

static tdiff_status d3pm_step(tdiff__run *r, void *state, bool *stepped, bool *done)
{
    d3pm_state *m = state;
    tdiff_sampler *s = r->s;
    const size_t V = s->n_vocab;
    *stepped = false;
    *done = true;
    if (m->i >= m->T)
        return TDIFF_OK;
    const size_t t = m->T - m->i;
    const float *logits;
    tdiff__eval_req q = {.pos = m->pos, .na = m->na, .t = (float)((double)t / (double)m->T)};
    tdiff_status st = tdiff__evaluate(r, &q, &logits);
    if (st)
        return st;
    tdiff__clear_confidence(r);
    /* all positions read the canvas x_t before any of them moves to x_{t-1} */
    for (size_t j = 0; j < m->na; j++) {
        double *p0 = r->row;
        if ((st = tdiff__row_prepare(r, logits + j * V, m->pos[j], p0)))
            return st;
        tdiff__softmax64(p0, V);
        if (t == 1) {
            r->cand[j] = (int32_t)tdiff__argmax64(p0, V);
            r->conf_out[m->pos[j]] = (float)p0[r->cand[j]];
        } else if ((st = posterior_draw(r, m, t, m->pos[j], p0, &r->cand[j], &r->conf_out[m->pos[j]]))) {
            return st;
        }
    }
    for (size_t j = 0; j < m->na; j++)
        r->x[m->pos[j]] = r->cand[j];
    m->i++;
    *stepped = true;
    *done = m->i >= m->T;
    return TDIFF_OK;
}

const tdiff__strategy tdiff__strategy_d3pm = {
    TDIFF_STRATEGY_D3PM, "d3pm", TDIFF__CAP_CALLBACK | TDIFF__CAP_CFG | TDIFF__CAP_TRANSITION, sizeof(d3pm_state),
    d3pm_begin,          d3pm_step, d3pm_finish};
