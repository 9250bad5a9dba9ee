/*
 * ops.c -- public operations on a transition handle: distributions pushed through
 * Q_t / Q̄_t, whole matrices for inspection, and the D3PM posterior /
 * x0-parameterised reverse step -- exact (public) and in the reference code's
 * floored log space (internal). All arithmetic in double on [V] scratch rows.
 */
#include <math.h>
#include <string.h>

#include "transition.h"

typedef struct tdiff_transition tr_t;

/* Three [V] double rows of scratch. */
static double *scratch(tr_t *tr, size_t rows)
{
    double *s = tdiff__calloc(&tr->env, rows * tr->V, sizeof *s);
    if (!s)
        tdiff__fail(&tr->env, TDIFF_E_OUT_OF_MEMORY, "out of memory for %zu x %zu scratch", rows, tr->V);
    return s;
}

static tdiff_status check_t(tr_t *tr, size_t t, int cumulative)
{
    if (t > tr->T || (t == 0 && !cumulative))
        return tdiff__fail(&tr->env, TDIFF_E_INVALID_ARGUMENT, "t = %zu is outside %d..%zu", t, cumulative ? 0 : 1,
                           tr->T);
    return TDIFF_OK;
}

/* p·Q_t or p·Q̄_t for one row (in double). */
static void push(const tr_t *tr, size_t t, int cumulative, const double *p, double *out, double *tmp)
{
    if (cumulative)
        tdiff__tr_cum(tr, t, p, out, tmp);
    else
        tdiff__tr_step(tr, t, p, out);
}

tdiff_status tdiff_transition_apply(tdiff_transition *tr, size_t t, int cumulative, const float *p, size_t n,
                                    float *out)
{
    if (!tr)
        return TDIFF_E_INVALID_ARGUMENT;
    if (!p || !out)
        return tdiff__fail(&tr->env, TDIFF_E_INVALID_ARGUMENT, "p/out is NULL");
    tdiff_status st = check_t(tr, t, cumulative);
    if (st != TDIFF_OK)
        return st;
    size_t V = tr->V;
    double *w = scratch(tr, 3);
    if (!w)
        return TDIFF_E_OUT_OF_MEMORY;
    for (size_t r = 0; r < n; r++) {
        for (size_t j = 0; j < V; j++)
            w[j] = p[r * V + j];
        push(tr, t, cumulative, w, w + V, w + 2 * V);
        for (size_t j = 0; j < V; j++)
            out[r * V + j] = (float)w[V + j];
    }
    tdiff__free(&tr->env, w);
    return TDIFF_OK;
}

tdiff_status tdiff_transition_rows(tdiff_transition *tr, size_t t, int cumulative, const int32_t *x, size_t n,
                                   float *out)
{
    if (!tr)
        return TDIFF_E_INVALID_ARGUMENT;
    if (!x || !out)
        return tdiff__fail(&tr->env, TDIFF_E_INVALID_ARGUMENT, "x/out is NULL");
    tdiff_status st = check_t(tr, t, cumulative);
    if (st != TDIFF_OK)
        return st;
    size_t V = tr->V;
    for (size_t r = 0; r < n; r++)
        if (x[r] < 0 || (size_t)x[r] >= V)
            return tdiff__fail(&tr->env, TDIFF_E_INVALID_ARGUMENT, "token %d at %zu is outside [0, %zu)", (int)x[r],
                               r, V);
    double *w = scratch(tr, 3);
    if (!w)
        return TDIFF_E_OUT_OF_MEMORY;
    for (size_t r = 0; r < n; r++) {
        memset(w, 0, V * sizeof *w);
        w[x[r]] = 1.0;
        push(tr, t, cumulative, w, w + V, w + 2 * V);
        for (size_t j = 0; j < V; j++)
            out[r * V + j] = (float)w[V + j];
    }
    tdiff__free(&tr->env, w);
    return TDIFF_OK;
}

tdiff_status tdiff_transition_matrix(tdiff_transition *tr, size_t t, int cumulative, double *out, size_t cap,
                                     size_t *needed)
{
    if (!tr)
        return TDIFF_E_INVALID_ARGUMENT;
    if (!out)
        return tdiff__fail(&tr->env, TDIFF_E_INVALID_ARGUMENT, "out is NULL");
    tdiff_status st = check_t(tr, t, cumulative);
    if (st != TDIFF_OK)
        return st;
    size_t V = tr->V, vv;
    if (!tdiff__mul_size(V, V, &vv))
        return tdiff__fail(&tr->env, TDIFF_E_OVERFLOW, "V*V overflows");
    if (needed)
        *needed = vv;
    if (cap < vv)
        return tdiff__fail(&tr->env, TDIFF_E_BUFFER_TOO_SMALL, "matrix needs %zu doubles, cap is %zu", vv, cap);
    double *w = scratch(tr, 2);
    if (!w)
        return TDIFF_E_OUT_OF_MEMORY;
    for (size_t i = 0; i < V; i++) {
        memset(w, 0, V * sizeof *w);
        w[i] = 1.0;
        push(tr, t, cumulative, w, out + i * V, w + V);
    }
    tdiff__free(&tr->env, w);
    return TDIFF_OK;
}

/*
 * Posterior rows of UNIFORM and ABSORBING in two passes over V, with the
 * normaliser in closed form (ᾱ' = ᾱ_{t−1}, S = Σ p):
 *   uniform   col_j = β/V + (1−β)δ_{j,x}, prior_j = ᾱ'p_j + (1−ᾱ')S/V,
 *             z = βS/V + (1−β)·prior_x;
 *   absorbing x ≠ m: the point mass on x (when prior_x > 0);
 *             x = m: β·ᾱ'p_j off the mask, ᾱ'p_m + (1−ᾱ')S on it.
 * Returns false when the row is impossible (z = 0).
 */
static bool posterior_structured(const tr_t *tr, size_t t, int32_t x, const float *p, double S, float *out)
{
    size_t V = tr->V;
    double b = tr->beta[t], a = tr->abar[t - 1];
    if (tr->kind == TDIFF_TRANSITION_UNIFORM) {
        double prior_x = a * p[x] + (1.0 - a) * S / (double)V;
        double z = b * S / (double)V + (1.0 - b) * prior_x;
        if (!(z > 0.0))
            return false;
        for (size_t j = 0; j < V; j++)
            out[j] = (float)(b / (double)V * (a * p[j] + (1.0 - a) * S / (double)V) / z);
        out[x] = (float)((b / (double)V + 1.0 - b) * prior_x / z);
        return true;
    }
    size_t m = (size_t)tr->mask;
    if ((size_t)x != m) {
        if (!(a * p[x] > 0.0) || !(b < 1.0))
            return false;
        memset(out, 0, V * sizeof *out);
        out[x] = 1.0f;
        return true;
    }
    double on_mask = a * p[m] + (1.0 - a) * S;
    double z = b * a * (S - p[m]) + on_mask;
    if (!(z > 0.0))
        return false;
    double k = b * a / z;
    for (size_t j = 0; j < V; j++)
        out[j] = (float)(k * p[j]);
    out[m] = (float)(on_mask / z);
    return true;
}

void tdiff__transition_posterior_logits(const tr_t *tr, size_t t, int32_t xt, const double *p0, double *out,
                                        double *scratch)
{
    double *cum = scratch, *tmp = scratch + tr->V;
    tdiff__tr_column(tr, t, xt, out);   /* Q_t[:, x_t]: q(x_t | x_{t−1} = j)    */
    tdiff__tr_cum(tr, t - 1, p0, cum, tmp); /* p0·Q̄_{t−1}: q(x_{t−1} = j | x_0 ~ p0) */
    for (size_t j = 0; j < tr->V; j++)
        out[j] = log(out[j] + TDIFF__D3PM_LOG_FLOOR) + log(cum[j] + TDIFF__D3PM_LOG_FLOOR);
}

tdiff_status tdiff_transition_posterior(tdiff_transition *tr, size_t t, const int32_t *xt, const float *p0, size_t n,
                                        float *out)
{
    if (!tr)
        return TDIFF_E_INVALID_ARGUMENT;
    if (!xt || !p0 || !out)
        return tdiff__fail(&tr->env, TDIFF_E_INVALID_ARGUMENT, "xt/p0/out is NULL");
    tdiff_status st = check_t(tr, t, 0);
    if (st != TDIFF_OK)
        return st;
    size_t V = tr->V;
    double *w = scratch(tr, 4);
    if (!w)
        return TDIFF_E_OUT_OF_MEMORY;
    double *p = w, *col = w + V, *cum = w + 2 * V, *tmp = w + 3 * V;
    for (size_t r = 0; r < n; r++) {
        if (xt[r] < 0 || (size_t)xt[r] >= V) {
            st = tdiff__fail(&tr->env, TDIFF_E_INVALID_ARGUMENT, "x_t %d at %zu is outside [0, %zu)", (int)xt[r], r, V);
            break;
        }
        for (size_t j = 0; j < V; j++) {
            p[j] = p0[r * V + j];
            if (!(p[j] >= 0.0) || isinf(p[j])) {
                st = tdiff__fail(&tr->env, TDIFF_E_INVALID_ARGUMENT, "p0[%zu, %zu] is negative or not finite", r, j);
                break;
            }
        }
        if (st != TDIFF_OK)
            break;
        if (tr->kind == TDIFF_TRANSITION_UNIFORM || tr->kind == TDIFF_TRANSITION_ABSORBING) {
            double S = 0.0;
            for (size_t j = 0; j < V; j++)
                S += p[j];
            if (!posterior_structured(tr, t, xt[r], p0 + r * V, S, out + r * V)) {
                st = tdiff__fail(&tr->env, TDIFF_E_INVALID_ARGUMENT,
                                 "position %zu: x_t = %d is impossible under p0 at step %zu", r, (int)xt[r], t);
                break;
            }
            continue;
        }
        tdiff__tr_column(tr, t, xt[r], col);  /* q(x_t | x_{t−1} = j)          */
        tdiff__tr_cum(tr, t - 1, p, cum, tmp); /* q(x_{t−1} = j | x_0 ~ p)      */
        double z = 0.0;
        for (size_t j = 0; j < V; j++)
            z += col[j] * cum[j];
        if (!(z > 0.0)) {
            st = tdiff__fail(&tr->env, TDIFF_E_INVALID_ARGUMENT,
                             "position %zu: x_t = %d is impossible under p0 at step %zu", r, (int)xt[r], t);
            break;
        }
        for (size_t j = 0; j < V; j++)
            out[r * V + j] = (float)(col[j] * cum[j] / z);
    }
    tdiff__free(&tr->env, w);
    return st;
}
