/*
 * d3pm.c -- D3PM ancestral sampling (Austin et al. 2021) for UNIFORM and
 * ABSORBING transitions, through the x0-parameterised posterior of the
 * transition module: p(x_{t-1} | x_t) ∝ Q_t[:, x_t] ⊙ (p̃(x_0|x_t)·Q̄_{t-1}),
 * p̃ = softmax(logits) over the tokens the sampler may produce. t runs T..1 over
 * the transition's steps; the t = 1 draw is x_0. Prior x_T: the mask for
 * absorbing (the canvas already holds it), a uniform allowed token otherwise.
 * Every non-fixed position of the region is updated each step.
 */
#include <math.h>
#include <string.h>

#include "sampler.h"

typedef struct d3pm_state {
    size_t T, i, na;
    bool absorbing;
    uint32_t *pos;  /* [na] the region's positions, fixed for the run */
    float *p0;      /* [na, V] p̃(x_0 | x_t) */
    float *post;    /* [na, V] p(x_{t-1} | x_t) */
    int32_t *xt;    /* [na] */
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
    size_t nv;
    if (!tdiff__mul_size(m->na, V, &nv))
        return tdiff__fail(&s->env, TDIFF_E_OVERFLOW, "d3pm: %zu positions x %zu tokens overflow", m->na, V);
    m->pos = tdiff__calloc(&s->env, m->na + 1, sizeof *m->pos);
    m->p0 = tdiff__calloc(&s->env, nv + 1, sizeof *m->p0);
    m->post = tdiff__calloc(&s->env, nv + 1, sizeof *m->post);
    m->xt = tdiff__calloc(&s->env, m->na + 1, sizeof *m->xt);
    if (!m->pos || !m->p0 || !m->post || !m->xt)
        return tdiff__fail(&s->env, TDIFF_E_OUT_OF_MEMORY, "d3pm: out of memory");
    memcpy(m->pos, r->pos, m->na * sizeof *m->pos);
    r->n_steps = m->T;
    *done = m->na == 0;
    return TDIFF_OK;
}

static void d3pm_finish(tdiff__run *r, void *state)
{
    d3pm_state *m = state;
    void *bufs[] = {m->pos, m->p0, m->post, m->xt};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        tdiff__free(&r->s->env, bufs[i]);
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
    for (size_t j = 0; j < m->na; j++) {
        double *row = r->row;
        if ((st = tdiff__row_prepare(r, logits + j * V, m->pos[j], row)))
            return st;
        tdiff__softmax64(row, V);
        for (size_t v = 0; v < V; v++)
            m->p0[j * V + v] = (float)row[v];
        m->xt[j] = r->x[m->pos[j]];
    }
    if ((st = tdiff_transition_posterior(s->transition, t, m->xt, m->p0, m->na, m->post)))
        return tdiff__fail(&s->env, st, "d3pm posterior: %s", tdiff_transition_last_error(s->transition));
    tdiff__clear_confidence(r);
    for (size_t j = 0; j < m->na; j++) {
        int32_t v; /* staying masked is a state of the absorbing graph */
        if ((st = tdiff__graph_sample(r, m->post + j * V, m->pos[j], m->absorbing, &v)))
            return st;
        r->x[m->pos[j]] = v;
        r->conf_out[m->pos[j]] = m->post[j * V + (size_t)v];
    }
    m->i++;
    *stepped = true;
    *done = m->i >= m->T;
    return TDIFF_OK;
}

const tdiff__strategy tdiff__strategy_d3pm = {
    TDIFF_STRATEGY_D3PM, "d3pm", TDIFF__CAP_CALLBACK | TDIFF__CAP_CFG | TDIFF__CAP_TRANSITION, sizeof(d3pm_state),
    d3pm_begin,          d3pm_step, d3pm_finish};
