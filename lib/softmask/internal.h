/*
 * internal.h -- private to lib/softmask/: the soft-mask handle (learned gate
 * parameters, top-k, scratch) and the per-position mixing shared by the files.
 * Formula (docs/algorithms.md §5, Hersche et al. 2025): for a still-masked
 * position whose previous-step logits are l (length V),
 *   p = softmax(l), nu = sum_v p_v log p_v  (in [-log V, 0]),
 *   lambda = s * sigmoid(a * (nu - c)), s = sigmoid(raw_s), c = -softplus(raw_c),
 *   a = softplus(raw_a),
 *   pi = softmax of the k largest logits,
 *   input = (1 - lambda) E[mask] + lambda * sum_j pi_j E[v_j].
 */
#ifndef TDIFF_SOFTMASK_INTERNAL_H
#define TDIFF_SOFTMASK_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "core/core.h"
#include "libtextdiff.h"

/* Largest k (reason: the top-k ids and values live in the handle, and the paper
 * uses k = 3; mixtures of more tokens than this stop being "soft masks"). */
#define TDIFF__SOFTMASK_MAX_K 64u

struct tdiff_softmask {
    tdiff__env env;
    size_t n_vocab;
    size_t k;
    double raw_s, raw_c, raw_a;    /* as stored / set                 */
    double s, c, a;                /* derived, kept in step with raw  */
    int from_model;                /* 1 when the model gave raw_s     */
    float *scratch;                /* [2 * n_vocab]: log p, then p    */
    uint32_t top_idx[TDIFF__SOFTMASK_MAX_K];
    float top_val[TDIFF__SOFTMASK_MAX_K];
};

/* Recomputes s, c, a from the raw values. */
void tdiff__softmask_derive(tdiff_softmask *sm);

/* One masked position: nu and lambda from `logits` (V finite-or--inf values, at
 * least one finite besides mask_id's, which is ignored), then writes 1 + min(k, V) entries (mask first, then the
 * top-k ids in descending logit order) to ids/weights. Returns the count, or 0
 * with the handle's error set when the row is unusable (NaN, +inf, all -inf). */
size_t tdiff__softmask_mix_row(tdiff_softmask *sm, const float *logits, int32_t mask_id, int32_t *ids,
                               float *weights, float *lambda_out, double *nu_out);

#endif
