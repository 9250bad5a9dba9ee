/*
 * mdlm.c -- MDLM's ancestral samplers (Sahoo et al. 2024, diffusion.py):
 * `ddpm` and `ddpm_cache`. Times t_i = 1 + i·(eps − 1)/steps, s = t − (1 − eps)/steps;
 * log-linear schedule with move chance m(t) = (1 − 1e-3)·t (algorithms.md §1).
 * For a masked position: q(v) = p_θ(v)·(m(t) − m(s)) for tokens, q(mask) = m(s),
 * sampled by an exponential race argmax_v q(v)/(−log u_v) (MDLM's Gumbel form);
 * unmasked positions are carried over (SUBS). A final noise-removal pass
 * commits the arg-max at whatever is still masked. `ddpm_cache` reuses the last
 * network output while no token changed (valid for networks without time
 * conditioning, as MDLM states).
 */
#include <math.h>

#include "core/rng.h"
#include "sampler.h"

#define MDLM_SCHEDULE_EPS 1e-3 /* log-linear schedule: alpha_bar(1) = 1e-3, not 0 */

tdiff_status tdiff__strategy_mdlm(tdiff__run *r)
{
    tdiff_sampler *s = r->s;
    const size_t V = s->n_vocab;
    const size_t steps = (size_t)tdiff__sp_int(s, TDIFF_SAMPLER_STEPS);
    const double eps = tdiff__sp_float(s, TDIFF_SAMPLER_EPS);
    const bool cache = tdiff__sp_int(s, TDIFF_SAMPLER_STRATEGY) == TDIFF_STRATEGY_MDLM_CACHE;
    const double dt = (1.0 - eps) / (double)steps;
    r->n_steps = steps + 1;
    bool have = false; /* r->logits hold the output for the current canvas */
    size_t na_cached = 0;
    tdiff_status st = TDIFF_OK;
    for (size_t i = 0; i <= steps && !st; i++, r->step++) {
        size_t na = tdiff__collect_masked(r, r->region_start, r->n);
        if (na == 0)
            break;
        bool last = i == steps; /* noise removal */
        double t = 1.0 + (double)i * (eps - 1.0) / (double)steps;
        if (last)
            t = eps;
        if (!(cache && have && na == na_cached)) {
            if ((st = tdiff__run_logits(r, na, (float)t)))
                break;
            have = true;
            na_cached = na;
        }
        double mt = (1.0 - MDLM_SCHEDULE_EPS) * t, ms = (1.0 - MDLM_SCHEDULE_EPS) * (t - dt);
        bool changed = false;
        for (size_t j = 0; j < r->n; j++)
            r->conf_out[j] = NAN;
        for (size_t j = 0; j < na; j++) {
            double *p = r->row2;
            if (!tdiff__row_prepare(s, r->logits + j * V, p)) {
                st = tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT, "the denoiser returned a non-finite logit");
                break;
            }
            tdiff__softmax64(p, V);
            size_t pick;
            if (last) {
                pick = tdiff__argmax64(p, V);
            } else {
                for (size_t v = 0; v < V; v++)
                    p[v] *= mt - ms;
                p[s->mask_id] = ms;
                double best = -1.0;
                pick = (size_t)s->mask_id;
                for (size_t v = 0; v < V; v++) {
                    double u = tdiff__rng_uniform_double(r->seed, (uint32_t)r->step, r->pos[j], (uint32_t)v);
                    double score = p[v] / -log(u);
                    if (score > best) {
                        best = score;
                        pick = v;
                    }
                }
            }
            r->cand[j] = (int32_t)pick;
            r->conf_out[r->pos[j]] = (float)p[pick];
        }
        if (st)
            break;
        for (size_t j = 0; j < na; j++)
            if (r->cand[j] != s->mask_id) {
                r->x[r->pos[j]] = r->cand[j];
                changed = true;
            }
        if (changed)
            have = false;
        st = tdiff__run_after_step(r);
    }
    return st;
}
