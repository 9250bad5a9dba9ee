/*
 * mix.c -- the soft-mask arithmetic for one position: negative entropy of the
 * previous distribution, the gate lambda, and the top-k mixture weights.
 */
#include <math.h>
#include <string.h>

#include "simd/simd.h"
#include "softmask/internal.h"

static double sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }

/* log(1 + e^x) without overflow for large x. */
static double softplus(double x) { return x > 30.0 ? x + log1p(exp(-x)) : log1p(exp(x)); }

void tdiff__softmask_derive(tdiff_softmask *sm)
{
    sm->s = sigmoid(sm->raw_s);
    sm->c = -softplus(sm->raw_c);
    sm->a = softplus(sm->raw_a);
}

size_t tdiff__softmask_mix_row(tdiff_softmask *sm, const float *logits, int32_t mask_id, int32_t *ids,
                               float *weights, float *lambda_out, double *nu_out)
{
    const tdiff__kernels *k = sm->env.k;
    size_t V = sm->n_vocab;
    float *lp = sm->scratch, *p = sm->scratch + V;
    memcpy(lp, logits, V * sizeof *lp);
    /* The mask is never a prediction (SUBS, as the samplers ban it): its logit
     * takes part in neither the entropy nor the top-k. */
    lp[mask_id] = -INFINITY;
    size_t m = k->topk(lp, V, sm->k, sm->top_idx, sm->top_val);
    float lse = k->log_softmax(lp, V);
    if (!isfinite(lse)) {
        (void)tdiff__fail(&sm->env, TDIFF_E_INVALID_ARGUMENT,
                          "softmask: logits row has NaN, +inf or no finite value (logsumexp %g)", (double)lse);
        return 0;
    }
    k->exp(p, lp, V);
    /* p log p is 0 where p = 0 (a -inf logit): zero those log terms so the
     * dot product stays finite. */
    for (size_t v = 0; v < V; v++)
        if (p[v] == 0.0f)
            lp[v] = 0.0f;
    double nu = (double)k->dot(p, lp, V);
    double lambda = sm->s * sigmoid(sm->a * (nu - sm->c));
    (void)k->softmax(sm->top_val, m);  /* pi over the k largest logits */
    ids[0] = mask_id;
    weights[0] = (float)(1.0 - lambda);
    for (size_t j = 0; j < m; j++) {
        ids[1 + j] = (int32_t)sm->top_idx[j];
        weights[1 + j] = (float)(lambda * (double)sm->top_val[j]);
    }
    if (lambda_out)
        *lambda_out = (float)lambda;
    if (nu_out)
        *nu_out = nu;
    return 1 + m;
}
