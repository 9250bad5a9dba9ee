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

tdiff_status tdiff__strategy_maskgit(tdiff__run *r)
{
    tdiff_sampler *s = r->s;
    const size_t steps = (size_t)tdiff__sp_int(s, TDIFF_SAMPLER_STEPS);
    const double choice_temp = tdiff__sp_float(s, TDIFF_SAMPLER_ALG_TEMP);
    const size_t n0 = tdiff__collect_masked(r, r->region_start, r->n);
    r->n_steps = steps;
    tdiff_status st = TDIFF_OK;
    for (size_t i = 0; i < steps && !st; i++, r->step++) {
        size_t na = tdiff__collect_masked(r, r->region_start, r->n);
        if (na == 0)
            break;
        size_t keep_masked;
        if ((st = tdiff_transfer_maskgit(n0, na, i, steps, &keep_masked)))
            return tdiff__fail(&s->env, st, "maskgit schedule failed");
        if ((st = tdiff__run_logits(r, na, tdiff__masked_fraction(r))))
            return st;
        double ratio = (double)(i + 1) / (double)steps;
        for (size_t j = 0; j < r->n; j++)
            r->conf_out[j] = NAN;
        for (size_t j = 0; j < na; j++) {
            double p;
            if (!tdiff__predict(r, TDIFF__PRED_DREAM, TDIFF_REMASK_LOW_CONFIDENCE, r->logits + j * s->n_vocab,
                                r->pos[j], &r->cand[j], &p))
                return tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT, "the denoiser returned a non-finite logit");
            double g = choice_temp > 0.0
                           ? tdiff__rng_gumbel(r->seed, (uint32_t)r->step, r->pos[j], TDIFF__DRAW_CHOICE)
                           : 0.0;
            r->conf[j] = p == -INFINITY ? p : log(p) + choice_temp * (1.0 - ratio) * g; /* -inf: EOS rule */
            r->conf_out[r->pos[j]] = (float)r->conf[j];
        }
        size_t m = tdiff__select_topk(r->conf, na, na - keep_masked, r->sel, r->order_tmp);
        for (size_t j = 0; j < m; j++)
            r->x[r->pos[r->sel[j]]] = r->cand[r->sel[j]];
        st = tdiff__run_after_step(r);
    }
    return st;
}
