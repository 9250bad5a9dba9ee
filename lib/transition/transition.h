/*
 * transition.h -- internal view of the transition handle: D3PM matrices in the
 * structured form each kind allows (never V×V for uniform/absorbing), and the
 * row/column primitives every operation is built from (transition.c).
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

#endif
