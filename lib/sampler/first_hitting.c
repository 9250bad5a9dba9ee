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

tdiff_status tdiff__strategy_first_hitting(tdiff__run *r)
{
    tdiff_sampler *s = r->s;
    double t = 1.0;
    tdiff_status st = TDIFF_OK;
    r->n_steps = tdiff__collect_masked(r, r->region_start, r->n);
    for (;; r->step++) {
        size_t na = tdiff__collect_masked(r, r->region_start, r->n);
        if (na == 0)
            break;
        double u = tdiff__rng_uniform_double(r->seed, (uint32_t)r->step, TDIFF__POS_GLOBAL, 0);
        size_t pick = (size_t)(u * (double)na);
        if (pick >= na) /* u < 1 always; kept for safety against rounding */
            pick = na - 1;
        r->pos[0] = r->pos[pick];
        if ((st = tdiff__run_logits(r, 1, (float)t)))
            break;
        int32_t tok;
        double conf;
        if (!tdiff__predict(r, TDIFF__PRED_DREAM, TDIFF_REMASK_LOW_CONFIDENCE, r->logits, r->pos[0], &tok, &conf)) {
            st = tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT, "the denoiser returned a non-finite logit");
            break;
        }
        for (size_t k = 0; k < r->n; k++)
            r->conf_out[k] = NAN;
        r->conf_out[r->pos[0]] = (float)conf;
        r->x[r->pos[0]] = tok;
        t *= pow(tdiff__rng_uniform_double(r->seed, (uint32_t)r->step, TDIFF__POS_GLOBAL, 1), 1.0 / (double)na);
        if ((st = tdiff__run_after_step(r)))
            break;
    }
    return st;
}
