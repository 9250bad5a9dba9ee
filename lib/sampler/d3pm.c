/*
 * d3pm.c -- D3PM ancestral sampling (Austin et al. 2021) for UNIFORM and
 * ABSORBING transitions, through the x0-parameterised posterior of the
 * transition module: p(x_{t-1} | x_t) ∝ Q_t[:, x_t] ⊙ (p̃(x_0|x_t)·Q̄_{t-1}),
 * p̃ = softmax(logits) with banned tokens (the mask) at 0. t runs T..1 over the
 * transition's steps; the t = 1 draw is x_0. Prior x_T: the mask for absorbing
 * (the canvas already holds it), a uniform non-banned token otherwise -- chosen
 * by whether the transition keeps a masked position masked at t = T.
 * Every non-fixed position of the region is updated each step.
 */
#include <math.h>

#include "core/rng.h"
#include "sampler.h"

size_t tdiff__sample_allowed(const tdiff_sampler *s, const float *w, double u, bool keep_mask)
{
    double total = 0.0;
    for (size_t v = 0; v < s->n_vocab; v++)
        if (!s->banned[v] || (keep_mask && (int32_t)v == s->mask_id))
            total += w[v];
    double target = u * total, acc = 0.0;
    size_t last = 0;
    for (size_t v = 0; v < s->n_vocab; v++) {
        if ((s->banned[v] && !(keep_mask && (int32_t)v == s->mask_id)) || !(w[v] > 0.0f))
            continue;
        acc += w[v];
        last = v;
        if (target < acc)
            return v;
    }
    return last;
}

tdiff_status tdiff__graph_prior(tdiff__run *r, size_t *na, bool *absorbing)
{
    tdiff_sampler *s = r->s;
    const size_t V = s->n_vocab;
    /* A masked state stays masked with probability 1 under Q̄_T only for the
     * absorbing kind (uniform keeps it with ᾱ_T + (1 − ᾱ_T)/V < 1). */
    size_t T = tdiff_transition_n_steps(s->transition);
    float *row = r->logits; /* scratch: V floats */
    tdiff_status st = tdiff_transition_rows(s->transition, T, 1, &s->mask_id, 1, row);
    if (st)
        return tdiff__fail(&s->env, st, "transition: %s", tdiff_transition_last_error(s->transition));
    *absorbing = row[s->mask_id] == 1.0f;
    *na = tdiff__collect_masked(r, r->region_start, r->n);
    if (*absorbing)
        return TDIFF_OK;
    size_t allowed = 0;
    for (size_t v = 0; v < V; v++)
        allowed += !s->banned[v];
    for (size_t j = 0; j < *na; j++) {
        size_t k = (size_t)(tdiff__rng_uniform_double(r->seed, 0, r->pos[j], TDIFF__DRAW_INIT) * (double)allowed);
        for (size_t v = 0; v < V; v++)
            if (!s->banned[v] && k-- == 0) {
                r->x[r->pos[j]] = (int32_t)v;
                break;
            }
    }
    return TDIFF_OK;
}

tdiff_status tdiff__strategy_d3pm(tdiff__run *r)
{
    tdiff_sampler *s = r->s;
    const size_t V = s->n_vocab;
    if (!s->transition)
        return tdiff__fail(&s->env, TDIFF_E_STATE, "d3pm needs a transition (tdiff_sampler_set_transition)");
    const size_t T = tdiff_transition_n_steps(s->transition);
    size_t na;
    bool absorbing = false;
    tdiff_status st = tdiff__graph_prior(r, &na, &absorbing);
    if (st)
        return st;
    float *p0 = tdiff__calloc(&s->env, na * V + 1, sizeof *p0);
    int32_t *xt = tdiff__calloc(&s->env, na + 1, sizeof *xt);
    if (!p0 || !xt) {
        tdiff__free(&s->env, p0);
        tdiff__free(&s->env, xt);
        return tdiff__fail(&s->env, TDIFF_E_OUT_OF_MEMORY, "d3pm: out of memory");
    }
    r->n_steps = T;
    for (size_t i = 0; i < T && !st; i++, r->step++) {
        size_t t = T - i;
        if ((st = tdiff__run_logits(r, na, (float)((double)t / (double)T))))
            break;
        for (size_t j = 0; j < na && !st; j++) {
            double *row = r->row;
            if (!tdiff__row_prepare(s, r->logits + j * V, row)) {
                st = tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT, "the denoiser returned a non-finite logit");
                break;
            }
            tdiff__softmax64(row, V);
            for (size_t v = 0; v < V; v++)
                p0[j * V + v] = (float)row[v];
            xt[j] = r->x[r->pos[j]];
        }
        if (st)
            break;
        /* the posterior overwrites r->logits (no longer needed this step) */
        if ((st = tdiff_transition_posterior(s->transition, t, xt, p0, na, r->logits))) {
            st = tdiff__fail(&s->env, st, "d3pm posterior: %s", tdiff_transition_last_error(s->transition));
            break;
        }
        for (size_t k = 0; k < r->n; k++)
            r->conf_out[k] = NAN;
        for (size_t j = 0; j < na; j++) {
            double u = tdiff__rng_uniform_double(r->seed, (uint32_t)r->step, r->pos[j], TDIFF__DRAW_SAMPLE);
            size_t v = tdiff__sample_allowed(s, r->logits + j * V, u, absorbing); /* staying masked is a state */
            r->x[r->pos[j]] = (int32_t)v;
            r->conf_out[r->pos[j]] = r->logits[j * V + v];
        }
        st = tdiff__run_after_step(r);
    }
    tdiff__free(&s->env, p0);
    tdiff__free(&s->env, xt);
    return st;
}
