/*
 * sedd.c -- SEDD sampling (Lou et al. 2024, "Discrete Diffusion Modeling by
 * Estimating the Ratios of the Data Distribution"): the network's logits are
 * log concrete scores, score = exp(logits) (tokens the sampler may not produce
 * get 0; the mask is kept: it is a state of the absorbing graph). Times
 * t_i = 1 + i·(eps − 1)/steps, Δt = (1 − eps)/steps; the network is told σ̄(t)
 * from the sampler's scheduler.
 *   Euler (τ-leaping):  dσ = σ'(t)·Δt, step = e_x + dσ·R  (tdiff_transition_sedd_euler)
 *   analytic (Tweedie): dσ = σ̄(t) − σ̄(t − Δt)          (tdiff_transition_sedd_analytic)
 * then a final denoising step at t = eps with dσ = σ̄(eps), mask dropped (SEDD's
 * `denoise=True`). Prior: the mask (absorbing) or uniform tokens (uniform graph).
 */
#include <math.h>
#include <string.h>

#include "sampler.h"

typedef struct sedd_state {
    bool euler, absorbing;
    size_t steps, i, na;
    double eps, dt;
    uint32_t *pos;  /* [na] */
    float *score;   /* [na, V] */
    float *next;    /* [na, V] next-state distributions */
    int32_t *xt;    /* [na] */
} sedd_state;

static tdiff_status sigma_at(tdiff_sampler *s, tdiff_schedule_quantity q, double t, double *out)
{
    tdiff_status st = tdiff_scheduler_eval(s->scheduler, q, t, out);
    if (st)
        return tdiff__fail(&s->env, st, "scheduler: %s", tdiff_scheduler_last_error(s->scheduler));
    return TDIFF_OK;
}

static tdiff_status sedd_begin(tdiff__run *r, void *state, bool *done)
{
    sedd_state *m = state;
    tdiff_sampler *s = r->s;
    const size_t V = s->n_vocab;
    m->euler = tdiff__sp_int(s, TDIFF_SAMPLER_STRATEGY) == TDIFF_STRATEGY_SEDD_EULER;
    m->steps = (size_t)tdiff__sp_int(s, TDIFF_SAMPLER_STEPS);
    m->eps = tdiff__sp_float(s, TDIFF_SAMPLER_EPS);
    m->dt = (1.0 - m->eps) / (double)m->steps;
    tdiff_status st = tdiff__graph_prior(r, &m->na, &m->absorbing);
    if (st)
        return st;
    size_t nv;
    if (!tdiff__mul_size(m->na, V, &nv))
        return tdiff__fail(&s->env, TDIFF_E_OVERFLOW, "sedd: %zu positions x %zu tokens overflow", m->na, V);
    m->pos = tdiff__calloc(&s->env, m->na + 1, sizeof *m->pos);
    m->score = tdiff__calloc(&s->env, nv + 1, sizeof *m->score);
    m->next = tdiff__calloc(&s->env, nv + 1, sizeof *m->next);
    m->xt = tdiff__calloc(&s->env, m->na + 1, sizeof *m->xt);
    if (!m->pos || !m->score || !m->next || !m->xt)
        return tdiff__fail(&s->env, TDIFF_E_OUT_OF_MEMORY, "sedd: out of memory");
    memcpy(m->pos, r->pos, m->na * sizeof *m->pos);
    r->n_steps = m->steps + 1;
    *done = m->na == 0;
    return TDIFF_OK;
}

static void sedd_finish(tdiff__run *r, void *state)
{
    sedd_state *m = state;
    void *bufs[] = {m->pos, m->score, m->next, m->xt};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        tdiff__free(&r->s->env, bufs[i]);
}

/* σ̄ at the step's time (what the network is told) and the step's dσ. */
static tdiff_status step_sigmas(tdiff_sampler *s, const sedd_state *m, bool last, double *sig, double *dsig)
{
    const double t = last ? m->eps : 1.0 + (double)m->i * (m->eps - 1.0) / (double)m->steps;
    tdiff_status st = sigma_at(s, TDIFF_SQ_SIGMA_BAR, t, sig);
    if (st)
        return st;
    if (last) {
        *dsig = *sig;
    } else if (m->euler) {
        if ((st = sigma_at(s, TDIFF_SQ_SIGMA_RATE, t, dsig)))
            return st;
        *dsig *= m->dt;
    } else {
        double next;
        if ((st = sigma_at(s, TDIFF_SQ_SIGMA_BAR, t - m->dt, &next)))
            return st;
        *dsig = *sig - next;
    }
    return TDIFF_OK;
}

static tdiff_status sedd_step(tdiff__run *r, void *state, bool *stepped, bool *done)
{
    sedd_state *m = state;
    tdiff_sampler *s = r->s;
    const size_t V = s->n_vocab;
    *stepped = false;
    *done = true;
    if (m->i > m->steps)
        return TDIFF_OK;
    const bool last = m->i == m->steps; /* the denoising step */
    double sig, dsig;
    tdiff_status st = step_sigmas(s, m, last, &sig, &dsig);
    if (st)
        return st;
    const float *logits;
    tdiff__eval_req q = {.pos = m->pos, .na = m->na, .t = (float)sig};
    if ((st = tdiff__evaluate(r, &q, &logits)))
        return st;
    for (size_t j = 0; j < m->na; j++) {
        const float *l = logits + j * V;
        for (size_t v = 0; v < V; v++) {
            if (isnan(l[v]) || l[v] == INFINITY)
                return tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT,
                                   "the denoiser returned %s for token %zu at position %u (step %zu)",
                                   isnan(l[v]) ? "NaN" : "+inf", v, (unsigned)m->pos[j], r->step);
            bool off = !tdiff__allowed(s, v) && (int32_t)v != s->mask_id;
            m->score[j * V + v] = off ? 0.0f : (float)exp((double)l[v]);
        }
        m->xt[j] = r->x[m->pos[j]];
    }
    st = m->euler && !last ? tdiff_transition_sedd_euler(s->transition, m->xt, m->score, m->na, dsig, m->next)
                           : tdiff_transition_sedd_analytic(s->transition, m->xt, m->score, m->na, dsig, last, m->next);
    if (st)
        return tdiff__fail(&s->env, st, "sedd step: %s", tdiff_transition_last_error(s->transition));
    tdiff__clear_confidence(r);
    for (size_t j = 0; j < m->na; j++) {
        int32_t v;
        if ((st = tdiff__graph_sample(r, m->next + j * V, m->pos[j], m->absorbing && !last, &v)))
            return st;
        r->x[m->pos[j]] = v;
        r->conf_out[m->pos[j]] = m->next[j * V + (size_t)v];
    }
    m->i++;
    *stepped = true;
    *done = m->i > m->steps;
    return TDIFF_OK;
}

enum { SEDD_CAPS = TDIFF__CAP_CALLBACK | TDIFF__CAP_CFG | TDIFF__CAP_TRANSITION | TDIFF__CAP_SCHEDULER };
const tdiff__strategy tdiff__strategy_sedd_euler = {TDIFF_STRATEGY_SEDD_EULER, "sedd_euler", SEDD_CAPS,
                                                    sizeof(sedd_state), sedd_begin, sedd_step, sedd_finish};
const tdiff__strategy tdiff__strategy_sedd_analytic = {TDIFF_STRATEGY_SEDD_ANALYTIC, "sedd_analytic", SEDD_CAPS,
                                                       sizeof(sedd_state), sedd_begin, sedd_step, sedd_finish};
