/*
 * transition.h -- internal view of the transition handle: D3PM matrices in the
 * structured form each kind allows (never V×V for uniform/absorbing), the
 * row/column primitives every operation is built from (transition.c), the
 * reference code's log-space posterior (ops.c), and the accessors lib/objective
 * and lib/sampler use instead of the struct's fields.
 */
#ifndef TDIFF_TRANSITION_H
#define TDIFF_TRANSITION_H

#include "core/core.h"

struct tdiff_transition {
    tdiff__env env;
    tdiff_transition_kind kind;
    size_t V, T;
    int32_t mask;     /* ABSORBING only                                          */
    double *beta;     /* [T+1], β_t at t (index 0 unused)  UNIFORM/ABSORBING/GAUSSIAN */
    double *abar;     /* [T+1], ᾱ_t = Π_{s≤t}(1 − β_s)     UNIFORM/ABSORBING        */
    double *gkern;    /* [T+1][V] GAUSSIAN: off-diagonal value at distance d        */
    double *gdiag;    /* [T+1][V] GAUSSIAN: diagonal of row i                        */
    float *mats;      /* DENSE [n_mats][V][V], BANDED [n_mats][V][2b+1]             */
    size_t n_mats, band;
};

/* out[V] = p[V]·Q_t (1 ≤ t ≤ T). out must not alias p. */
void tdiff__tr_step(const struct tdiff_transition *tr, size_t t, const double *p, double *out);
/* out[V] = p[V]·Q̄_t (0 ≤ t ≤ T); tmp[V] is scratch. out must not alias p or tmp. */
void tdiff__tr_cum(const struct tdiff_transition *tr, size_t t, const double *p, double *out, double *tmp);
/* col[V]: col[j] = Q_t[j, x] (the likelihood of x_t = x from each x_{t−1}). */
void tdiff__tr_column(const struct tdiff_transition *tr, size_t t, int32_t x, double *col);
/* Q_t[i, j]. */
double tdiff__tr_entry(const struct tdiff_transition *tr, size_t t, size_t i, size_t j);

/* The floor D3PM's reference code adds inside the logarithms of its posterior
 * (diffusion_categorical.py, `self.eps = 1.e-6`; docs/algorithms.md). */
#define TDIFF__D3PM_LOG_FLOOR 1e-6

/*
 * The reference's x0-parameterised posterior as unnormalised log-probabilities,
 * for one position (1 ≤ t ≤ T, 0 ≤ x_t < V, unchecked):
 *   out[j] = log(Q_t[j, x_t] + 1e-6) + log((p0·Q̄_{t−1})[j] + 1e-6),
 * p0[V] a distribution over x_0 (one-hot x_0: q(x_{t−1} | x_t, x_0); the network's
 * p̃(x_0 | x_t): p_θ(x_{t−1} | x_t)). softmax(out) is the distribution; it is
 * defined for every x_t, even one p0 makes impossible. scratch: [2V] doubles.
 */
void tdiff__transition_posterior_logits(const struct tdiff_transition *tr, size_t t, int32_t xt, const double *p0,
                                        double *out, double *scratch);

/* Accessors: the handle's environment (allocator, logging), its kind, ABSORBING's
 * mask id (−1 for other kinds), ᾱ_t (UNIFORM and ABSORBING only, 0 ≤ t ≤ T). */
const tdiff__env *tdiff__transition_env(const struct tdiff_transition *tr);
tdiff_transition_kind tdiff__transition_kind(const struct tdiff_transition *tr);
int32_t tdiff__transition_mask(const struct tdiff_transition *tr);
double tdiff__transition_alpha_bar(const struct tdiff_transition *tr, size_t t);
/* Sets the handle's last error text (nothing is logged: the caller did that). */
void tdiff__transition_set_error(struct tdiff_transition *tr, const char *msg);

#endif
