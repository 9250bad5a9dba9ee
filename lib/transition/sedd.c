/*
 * sedd.c -- SEDD (Lou et al. 2024) reverse steps on the uniform and absorbing
 * graphs: the Euler (τ-leaping) step from the reverse rate and the analytic
 * (Tweedie) step from the staggered score, following the formulas of the
 * reference graph code with the mask at an arbitrary id instead of the last one.
 * Forward rates (row convention, rate y → x): uniform 1/V for y ≠ x;
 * absorbing 1 for x = m, y ≠ m, else 0.
 */
#include <math.h>

#include "transition.h"

typedef struct tdiff_transition tr_t;

/* Forward rate y → x. */
static double rate_into(const tr_t *tr, size_t y, size_t x)
{
    if (y == x)
        return 0.0;
    if (tr->kind == TDIFF_TRANSITION_UNIFORM)
        return 1.0 / (double)tr->V;
    return x == (size_t)tr->mask ? 1.0 : 0.0;
}

static tdiff_status check(tr_t *tr, const int32_t *x, const float *score, float *out)
{
    if (tr->kind != TDIFF_TRANSITION_UNIFORM && tr->kind != TDIFF_TRANSITION_ABSORBING)
        return tdiff__fail(&tr->env, TDIFF_E_UNSUPPORTED, "SEDD steps need a uniform or absorbing transition");
    if (!x || !score || !out)
        return tdiff__fail(&tr->env, TDIFF_E_INVALID_ARGUMENT, "x/score/out is NULL");
    return TDIFF_OK;
}

/* Clips negatives to 0 and normalises row[V] into out; false when nothing is left. */
static bool normalise(const double *row, size_t V, float *out)
{
    double z = 0.0;
    for (size_t j = 0; j < V; j++)
        z += row[j] > 0.0 ? row[j] : 0.0;
    if (!(z > 0.0) || isinf(z))
        return false;
    for (size_t j = 0; j < V; j++)
        out[j] = (float)(row[j] > 0.0 ? row[j] / z : 0.0);
    return true;
}

static tdiff_status check_row(tr_t *tr, size_t r, int32_t xr, const float *s)
{
    if (xr < 0 || (size_t)xr >= tr->V)
        return tdiff__fail(&tr->env, TDIFF_E_INVALID_ARGUMENT, "token %d at %zu is outside [0, %zu)", (int)xr, r,
                           tr->V);
    for (size_t j = 0; j < tr->V; j++)
        if (!(s[j] >= 0.0f) || isinf(s[j]))
            return tdiff__fail(&tr->env, TDIFF_E_INVALID_ARGUMENT, "score[%zu, %zu] is negative or not finite", r, j);
    return TDIFF_OK;
}

tdiff_status tdiff_transition_sedd_euler(tdiff_transition *tr, const int32_t *x, const float *score, size_t n,
                                         double dsigma, float *out)
{
    if (!tr)
        return TDIFF_E_INVALID_ARGUMENT;
    tdiff_status st = check(tr, x, score, out);
    if (st != TDIFF_OK)
        return st;
    if (!(dsigma >= 0.0) || isinf(dsigma))
        return tdiff__fail(&tr->env, TDIFF_E_INVALID_ARGUMENT, "dsigma %g must be finite and >= 0", dsigma);
    size_t V = tr->V;
    double *row = tdiff__calloc(&tr->env, V, sizeof *row);
    if (!row)
        return tdiff__fail(&tr->env, TDIFF_E_OUT_OF_MEMORY, "out of memory");
    for (size_t r = 0; r < n && st == TDIFF_OK; r++) {
        const float *s = score + r * V;
        size_t xr = (size_t)x[r];
        if ((st = check_row(tr, r, x[r], s)) != TDIFF_OK)
            break;
        /* e_x + dσ·R with R_y = rate(y → x)·s_y, R_x = −Σ_{y≠x} R_y */
        double out_rate = 0.0;
        for (size_t y = 0; y < V; y++) {
            double ry = rate_into(tr, y, xr) * (double)s[y];
            row[y] = dsigma * ry;
            out_rate += ry;
        }
        row[xr] = 1.0 - dsigma * out_rate;
        if (!normalise(row, V, out + r * V))
            st = tdiff__fail(&tr->env, TDIFF_E_INVALID_ARGUMENT, "position %zu: the step has no probability mass", r);
    }
    tdiff__free(&tr->env, row);
    return st;
}

tdiff_status tdiff_transition_sedd_analytic(tdiff_transition *tr, const int32_t *x, const float *score, size_t n,
                                            double dsigma, int drop_mask, float *out)
{
    if (!tr)
        return TDIFF_E_INVALID_ARGUMENT;
    tdiff_status st = check(tr, x, score, out);
    if (st != TDIFF_OK)
        return st;
    if (!(dsigma >= 0.0) || isinf(dsigma))
        return tdiff__fail(&tr->env, TDIFF_E_INVALID_ARGUMENT, "dsigma %g must be finite and >= 0", dsigma);
    size_t V = tr->V;
    double *row = tdiff__calloc(&tr->env, V, sizeof *row);
    if (!row)
        return tdiff__fail(&tr->env, TDIFF_E_OUT_OF_MEMORY, "out of memory");
    double emin = exp(-dsigma); /* e^{−dσ} */
    for (size_t r = 0; r < n && st == TDIFF_OK; r++) {
        const float *s = score + r * V;
        size_t xr = (size_t)x[r];
        if ((st = check_row(tr, r, x[r], s)) != TDIFF_OK)
            break;
        double total = 0.0;
        for (size_t y = 0; y < V; y++)
            total += s[y];
        if (tr->kind == TDIFF_TRANSITION_UNIFORM) {
            /* stag_y = (e^{−dσ} − 1)/(V e^{−dσ})·Σs + s_y/e^{−dσ};
             * exp(dσQ)[y, x] = (1 − e^{−dσ})/V off the diagonal, the rest on it */
            double off = (1.0 - emin) / (double)V;
            for (size_t y = 0; y < V; y++) {
                double stag = (emin - 1.0) / ((double)V * emin) * total + (double)s[y] / emin;
                double tr_yx = y == xr ? 1.0 - (double)(V - 1) * off : off;
                row[y] = stag * tr_yx;
            }
        } else {
            /* stag = s·e^{dσ}, stag_m += (1 − e^{dσ})·Σs;
             * exp(dσQ)[y, x]: x = m: 1 − e^{−dσ} for y ≠ m, 1 for y = m; x ≠ m: e^{−dσ}·δ_{xy} */
            size_t m = (size_t)tr->mask;
            double epos = exp(dsigma);
            for (size_t y = 0; y < V; y++) {
                double stag = (double)s[y] * epos + (y == m ? (1.0 - epos) * total : 0.0);
                double tr_yx = xr == m ? (y == m ? 1.0 : 1.0 - emin) : (y == xr ? emin : 0.0);
                row[y] = stag * tr_yx;
            }
            if (drop_mask)
                row[m] = 0.0;
        }
        if (!normalise(row, V, out + r * V))
            st = tdiff__fail(&tr->env, TDIFF_E_INVALID_ARGUMENT, "position %zu: the step has no probability mass", r);
    }
    tdiff__free(&tr->env, row);
    return st;
}
