/*
 * mask_predict.c -- Mask-Predict (Ghazvininejad et al. 2019): iteration 0
 * predicts every masked position; iteration t re-masks the
 * tdiff_transfer_mask_predict(N, t, T) generated tokens of lowest probability
 * (ties: lowest position first) and predicts them again, keeping each token's
 * probability from the iteration that produced it (r->aux).
 */
#include <math.h>

#include "sampler.h"

tdiff_status tdiff__strategy_mask_predict(tdiff__run *r)
{
    tdiff_sampler *s = r->s;
    const size_t steps = (size_t)tdiff__sp_int(s, TDIFF_SAMPLER_STEPS);
    /* the generated positions: the masked ones at the start */
    size_t N = tdiff__collect_masked(r, r->region_start, r->n);
    uint32_t *gen = r->sel; /* reuse: sel is rebuilt below only after gen is consumed */
    double *prob = r->aux;  /* prob[j] of generated slot j */
    uint32_t *genpos = tdiff__calloc(&s->env, N ? N : 1, sizeof *genpos);
    if (!genpos)
        return tdiff__fail(&s->env, TDIFF_E_OUT_OF_MEMORY, "mask-predict: out of memory");
    for (size_t j = 0; j < N; j++)
        genpos[j] = r->pos[j];
    r->n_steps = steps;
    tdiff_status st = TDIFF_OK;
    for (size_t it = 0; it < steps && !st; it++, r->step++) {
        if (it > 0) {
            size_t n_mask;
            if ((st = tdiff_transfer_mask_predict(N, it, steps, &n_mask))) {
                st = tdiff__fail(&s->env, st, "mask-predict schedule failed");
                break;
            }
            if (n_mask == 0)
                break;
            /* lowest probability first = highest of -p, ties by lower slot */
            for (size_t j = 0; j < N; j++)
                r->conf[j] = -prob[j];
            tdiff__sort_desc(r->conf, N, gen, r->order);
            for (size_t j = 0; j < n_mask; j++)
                r->x[genpos[gen[j]]] = s->mask_id;
        }
        /* active set = masked generated slots, ascending position */
        size_t na = 0;
        for (size_t j = 0; j < N; j++)
            if (r->x[genpos[j]] == s->mask_id) {
                r->pos[na] = genpos[j];
                gen[na++] = (uint32_t)j;
            }
        if (na == 0)
            break;
        if ((st = tdiff__run_logits(r, na, tdiff__masked_fraction(r))))
            break;
        for (size_t j = 0; j < r->n; j++)
            r->conf_out[j] = NAN;
        for (size_t a = 0; a < na; a++) {
            int32_t tok;
            double p;
            if (!tdiff__predict(r, TDIFF__PRED_DREAM, TDIFF_REMASK_LOW_CONFIDENCE, r->logits + a * s->n_vocab,
                                r->pos[a], &tok, &p)) {
                st = tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT, "the denoiser returned a non-finite logit");
                break;
            }
            r->cand[a] = tok;
            r->conf_out[r->pos[a]] = (float)p;
            prob[gen[a]] = p;
        }
        if (st)
            break;
        for (size_t a = 0; a < na; a++)
            r->x[r->pos[a]] = r->cand[a];
        st = tdiff__run_after_step(r);
    }
    tdiff__free(&s->env, genpos);
    return st;
}
