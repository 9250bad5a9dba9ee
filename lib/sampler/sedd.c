/*
 * sedd.c -- SEDD sampling (Lou et al. 2024, "Discrete Diffusion Modeling by
 * Estimating the Ratios of the Data Distribution"): the network's logits are
 * log concrete scores, score = exp(logits) (banned tokens 0, the mask kept: it
 * is a state of the absorbing graph). Times t_i = 1 + i·(eps − 1)/steps,
 * Δt = (1 − eps)/steps; the network is told σ̄(t) from the sampler's scheduler.
 *   Euler (τ-leaping):  dσ = σ'(t)·Δt, step = e_x + dσ·R  (tdiff_transition_sedd_euler)
 *   analytic (Tweedie): dσ = σ̄(t) − σ̄(t − Δt)          (tdiff_transition_sedd_analytic)
 * then a final denoising step at t = eps with dσ = σ̄(eps), mask dropped (SEDD's
 * `denoise=True`). Prior: the mask (absorbing) or uniform tokens (uniform graph).
 */
#include <math.h>

#include "core/rng.h"
#include "sampler.h"

static tdiff_status sigma_at(tdiff_sampler *s, tdiff_schedule_quantity q, double t, double *out)
{
    tdiff_status st = tdiff_scheduler_eval(s->scheduler, q, t, out);
    if (st)
        return tdiff__fail(&s->env, st, "scheduler: %s", tdiff_scheduler_last_error(s->scheduler));
    return TDIFF_OK;
}

tdiff_status tdiff__strategy_sedd(tdiff__run *r)
{
    tdiff_sampler *s = r->s;
    const size_t V = s->n_vocab;
    if (!s->transition || !s->scheduler)
        return tdiff__fail(&s->env, TDIFF_E_STATE,
                           "sedd needs a transition and a scheduler (tdiff_sampler_set_transition/_scheduler)");
    const bool euler = tdiff__sp_int(s, TDIFF_SAMPLER_STRATEGY) == TDIFF_STRATEGY_SEDD_EULER;
    const size_t steps = (size_t)tdiff__sp_int(s, TDIFF_SAMPLER_STEPS);
    const double eps = tdiff__sp_float(s, TDIFF_SAMPLER_EPS);
    const double dt = (1.0 - eps) / (double)steps;
    size_t na;
    bool absorbing = false;
    tdiff_status st = tdiff__graph_prior(r, &na, &absorbing);
    if (st)
        return st;
    float *score = tdiff__calloc(&s->env, na * V + 1, sizeof *score);
    int32_t *xt = tdiff__calloc(&s->env, na + 1, sizeof *xt);
    if (!score || !xt) {
        tdiff__free(&s->env, score);
        tdiff__free(&s->env, xt);
        return tdiff__fail(&s->env, TDIFF_E_OUT_OF_MEMORY, "sedd: out of memory");
    }
    r->n_steps = steps + 1;
    for (size_t i = 0; i <= steps && !st; i++, r->step++) {
        bool last = i == steps; /* the denoising step */
        double t = last ? eps : 1.0 + (double)i * (eps - 1.0) / (double)steps, sig, dsig;
        if ((st = sigma_at(s, TDIFF_SQ_SIGMA_BAR, t, &sig)))
            break;
        if (last) {
            dsig = sig;
        } else if (euler) {
            if ((st = sigma_at(s, TDIFF_SQ_SIGMA_RATE, t, &dsig)))
                break;
            dsig *= dt;
        } else {
            double next;
            if ((st = sigma_at(s, TDIFF_SQ_SIGMA_BAR, t - dt, &next)))
                break;
            dsig = sig - next;
        }
        if ((st = tdiff__run_logits(r, na, (float)sig)))
            break;
        for (size_t j = 0; j < na; j++) {
            const float *l = r->logits + j * V;
            for (size_t v = 0; v < V; v++) {
                if (isnan(l[v]) || l[v] == INFINITY) {
                    st = tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT, "the denoiser returned a non-finite logit");
                    break;
                }
                bool off = s->banned[v] && (int32_t)v != s->mask_id;
                score[j * V + v] = off ? 0.0f : (float)exp((double)l[v]);
            }
            xt[j] = r->x[r->pos[j]];
        }
        if (st)
            break;
        st = euler && !last ? tdiff_transition_sedd_euler(s->transition, xt, score, na, dsig, r->logits)
                            : tdiff_transition_sedd_analytic(s->transition, xt, score, na, dsig, last, r->logits);
        if (st) {
            st = tdiff__fail(&s->env, st, "sedd step: %s", tdiff_transition_last_error(s->transition));
            break;
        }
        for (size_t k = 0; k < r->n; k++)
            r->conf_out[k] = NAN;
        for (size_t j = 0; j < na; j++) {
            double u = tdiff__rng_uniform_double(r->seed, (uint32_t)r->step, r->pos[j], TDIFF__DRAW_SAMPLE);
            size_t v = tdiff__sample_allowed(s, r->logits + j * V, u, absorbing && !last);
            r->x[r->pos[j]] = (int32_t)v;
            r->conf_out[r->pos[j]] = r->logits[j * V + v];
        }
        st = tdiff__run_after_step(r);
    }
    tdiff__free(&s->env, score);
    tdiff__free(&s->env, xt);
    return st;
}
