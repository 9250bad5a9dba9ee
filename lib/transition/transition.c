/*
 * transition.c -- the transition handle: creation and validation, and the three
 * primitives (p·Q_t, p·Q̄_t, column Q_t[:, x]) in each kind's own form:
 *   UNIFORM    Q_t = (1−β)I + β/V·11ᵀ        O(V) per row, Q̄_t in closed form
 *   ABSORBING  Q_t = (1−β)I + β·1e_mᵀ        O(V) per row, Q̄_t in closed form
 *   GAUSSIAN   Toeplitz off-diagonal + diagonal, stored as [T][V] kernels
 *   DENSE      caller [V][V] per step;  BANDED  caller [V][2b+1] per step
 * Q̄_t of the last three is applied as t successive products (never formed).
 */
#include <math.h>
#include <string.h>

#include "schedule/schedule.h"
#include "simd/simd.h"
#include "transition.h"

typedef struct tdiff_transition tr_t;

static const float *user_mat(const tr_t *tr, size_t t)
{
    size_t idx = tr->n_mats == 1 ? 0 : t - 1;
    size_t w = tr->kind == TDIFF_TRANSITION_DENSE ? tr->V : 2 * tr->band + 1;
    return tr->mats + idx * tr->V * w;
}

double tdiff__tr_entry(const tr_t *tr, size_t t, size_t i, size_t j)
{
    switch (tr->kind) {
    case TDIFF_TRANSITION_UNIFORM:
        return (i == j ? 1.0 - tr->beta[t] : 0.0) + tr->beta[t] / (double)tr->V;
    case TDIFF_TRANSITION_ABSORBING:
        return (i == j ? 1.0 - tr->beta[t] : 0.0) + (j == (size_t)tr->mask ? tr->beta[t] : 0.0);
    case TDIFF_TRANSITION_GAUSSIAN:
        return i == j ? tr->gdiag[t * tr->V + i] : tr->gkern[t * tr->V + (i > j ? i - j : j - i)];
    case TDIFF_TRANSITION_DENSE:
        return user_mat(tr, t)[i * tr->V + j];
    case TDIFF_TRANSITION_BANDED: {
        size_t b = tr->band;
        if ((i > j ? i - j : j - i) > b)
            return 0.0;
        return user_mat(tr, t)[i * (2 * b + 1) + (j + b - i)];
    }
    }
    return 0.0;
}

static double sum(const double *p, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += p[i];
    return s;
}

void tdiff__tr_step(const tr_t *tr, size_t t, const double *p, double *out)
{
    size_t V = tr->V;
    switch (tr->kind) {
    case TDIFF_TRANSITION_UNIFORM: {
        double b = tr->beta[t], add = b / (double)V * sum(p, V);
        for (size_t j = 0; j < V; j++)
            out[j] = (1.0 - b) * p[j] + add;
        return;
    }
    case TDIFF_TRANSITION_ABSORBING: {
        double b = tr->beta[t], total = sum(p, V);
        for (size_t j = 0; j < V; j++)
            out[j] = (1.0 - b) * p[j];
        out[tr->mask] += b * total;
        return;
    }
    case TDIFF_TRANSITION_BANDED: {
        size_t b = tr->band, w = 2 * b + 1;
        const float *m = user_mat(tr, t);
        memset(out, 0, V * sizeof *out);
        for (size_t i = 0; i < V; i++) {
            if (p[i] == 0.0)
                continue;
            size_t lo = i > b ? i - b : 0, hi = i + b < V - 1 ? i + b : V - 1;
            for (size_t j = lo; j <= hi; j++)
                out[j] += p[i] * (double)m[i * w + (j + b - i)];
        }
        return;
    }
    case TDIFF_TRANSITION_GAUSSIAN:
    case TDIFF_TRANSITION_DENSE:
        memset(out, 0, V * sizeof *out);
        for (size_t i = 0; i < V; i++) {
            if (p[i] == 0.0) /* one-hot and sparse rows skip most of the work */
                continue;
            for (size_t j = 0; j < V; j++)
                out[j] += p[i] * tdiff__tr_entry(tr, t, i, j);
        }
        return;
    }
}

void tdiff__tr_cum(const tr_t *tr, size_t t, const double *p, double *out, double *tmp)
{
    size_t V = tr->V;
    if (tr->kind == TDIFF_TRANSITION_UNIFORM || tr->kind == TDIFF_TRANSITION_ABSORBING) {
        double a = tr->abar[t], total = sum(p, V);
        for (size_t j = 0; j < V; j++)
            out[j] = a * p[j];
        if (tr->kind == TDIFF_TRANSITION_UNIFORM) {
            for (size_t j = 0; j < V; j++)
                out[j] += (1.0 - a) / (double)V * total;
        } else {
            out[tr->mask] += (1.0 - a) * total;
        }
        return;
    }
    /* p·Q_1·Q_2···Q_t, ping-ponging between out and tmp so the result lands in out */
    double *cur = (t % 2 == 0) ? out : tmp, *nxt = (t % 2 == 0) ? tmp : out;
    memcpy(cur, p, V * sizeof *cur);
    for (size_t s = 1; s <= t; s++) {
        tdiff__tr_step(tr, s, cur, nxt);
        double *x = cur;
        cur = nxt;
        nxt = x;
    }
}

void tdiff__tr_column(const tr_t *tr, size_t t, int32_t x, double *col)
{
    size_t V = tr->V, xi = (size_t)x;
    switch (tr->kind) {
    case TDIFF_TRANSITION_UNIFORM: {
        double b = tr->beta[t];
        for (size_t j = 0; j < V; j++)
            col[j] = b / (double)V;
        col[xi] += 1.0 - b;
        return;
    }
    case TDIFF_TRANSITION_ABSORBING: {
        double b = tr->beta[t];
        if (x == tr->mask) {
            for (size_t j = 0; j < V; j++)
                col[j] = b;
            col[xi] = 1.0;
        } else {
            memset(col, 0, V * sizeof *col);
            col[xi] = 1.0 - b;
        }
        return;
    }
    default:
        for (size_t j = 0; j < V; j++)
            col[j] = tdiff__tr_entry(tr, t, j, xi);
        return;
    }
}

/* ---- creation ---- */

/* Allocates the handle with a copy of env (the creator's, host already checked). */
static tdiff_status alloc_handle(tdiff__env *env, tdiff_transition_kind kind, size_t V, size_t T, tr_t **out)
{
    tr_t *tr = tdiff__calloc(env, 1, sizeof *tr);
    if (!tr)
        return tdiff__fail(env, TDIFF_E_OUT_OF_MEMORY, "out of memory for the transition handle");
    tr->env = *env;
    tr->kind = kind;
    tr->V = V;
    tr->T = T;
    *out = tr;
    return TDIFF_OK;
}

void tdiff_transition_free(tdiff_transition *tr)
{
    if (!tr)
        return;
    tdiff__free(&tr->env, tr->beta);
    tdiff__free(&tr->env, tr->abar);
    tdiff__free(&tr->env, tr->gkern);
    tdiff__free(&tr->env, tr->gdiag);
    tdiff__free(&tr->env, tr->mats);
    tdiff__env env = tr->env;
    tdiff__free(&env, tr);
}

/* Discretised Gaussian (D3PM appendix A.2.2): off-diagonal exp(−4d²/((V−1)²β))/Z with
 * Z = Σ_{n=−(V−1)}^{V−1} exp(−4n²/((V−1)²β)), diagonal = 1 − the row's off-diagonal sum.
 * Row i's off-diagonal sum is P[i] + P[V−1−i] with P[k] = g[1] + … + g[k]: O(V) per step. */
static void build_gaussian(tr_t *tr)
{
    size_t V = tr->V;
    double span2 = (double)(V - 1) * (double)(V - 1);
    for (size_t t = 1; t <= tr->T; t++) {
        double *g = tr->gkern + t * V, *dg = tr->gdiag + t * V;
        double z = 0.0;
        for (size_t d = 0; d < V; d++) {
            g[d] = exp(-4.0 * (double)d * (double)d / (span2 * tr->beta[t]));
            z += d ? 2.0 * g[d] : g[d];
        }
        for (size_t d = 0; d < V; d++)
            g[d] /= z;
        double p = 0.0;
        dg[0] = 0.0;
        for (size_t d = 1; d < V; d++) /* dg holds P first, then (pairwise, in place) the diagonal */
            dg[d] = p += g[d];
        for (size_t i = 0, j = V - 1; i <= j; i++, j--)
            dg[i] = dg[j] = 1.0 - (dg[i] + dg[j]);
    }
}

static tdiff_status create_closed_form(tdiff__env *env, tdiff_transition_kind kind, size_t n_vocab,
                                       int32_t mask_id, tdiff_scheduler *sched, size_t n_steps, tr_t **out)
{
    if (kind != TDIFF_TRANSITION_UNIFORM && kind != TDIFF_TRANSITION_ABSORBING && kind != TDIFF_TRANSITION_GAUSSIAN)
        return tdiff__fail(env, TDIFF_E_INVALID_ARGUMENT,
                           "tdiff_transition_create: kind %d is not UNIFORM, ABSORBING or GAUSSIAN (caller "
                           "matrices: tdiff_transition_create_user)", (int)kind);
    if (!sched)
        return tdiff__fail(env, TDIFF_E_INVALID_ARGUMENT, "tdiff_transition_create: NULL scheduler");
    if (n_steps == 0 || n_steps > TDIFF_MAX_STEPS)
        return tdiff__fail(env, TDIFF_E_INVALID_ARGUMENT, "tdiff_transition_create: n_steps %zu is outside 1..%u",
                           n_steps, TDIFF_MAX_STEPS);
    if (n_vocab == 0 || n_vocab > (size_t)INT32_MAX)
        return tdiff__fail(env, TDIFF_E_INVALID_ARGUMENT, "tdiff_transition_create: n_vocab %zu is outside 1..%d",
                           n_vocab, INT32_MAX);
    if (kind == TDIFF_TRANSITION_ABSORBING && (mask_id < 0 || (size_t)mask_id >= n_vocab))
        return tdiff__fail(env, TDIFF_E_INVALID_ARGUMENT,
                           "tdiff_transition_create: mask_id %d is outside the vocabulary 0..%zu", (int)mask_id,
                           n_vocab - 1);
    if (kind == TDIFF_TRANSITION_GAUSSIAN && n_vocab < 2)
        return tdiff__fail(env, TDIFF_E_INVALID_ARGUMENT,
                           "tdiff_transition_create: a discretised Gaussian needs n_vocab >= 2");
    size_t tv;
    if (n_steps == SIZE_MAX || !tdiff__mul_size(n_steps + 1, n_vocab, &tv))
        return tdiff__fail(env, TDIFF_E_OVERFLOW, "tdiff_transition_create: %zu steps x %zu tokens overflow",
                           n_steps, n_vocab);
    tr_t *tr;
    tdiff_status st = alloc_handle(env, kind, n_vocab, n_steps, &tr);
    if (st != TDIFF_OK)
        return st;
    tr->mask = kind == TDIFF_TRANSITION_ABSORBING ? mask_id : -1;
    tr->beta = tdiff__calloc(env, n_steps + 1, sizeof *tr->beta);
    tr->abar = tdiff__calloc(env, n_steps + 1, sizeof *tr->abar);
    if (kind == TDIFF_TRANSITION_GAUSSIAN) {
        tr->gkern = tdiff__calloc(env, tv, sizeof *tr->gkern);
        tr->gdiag = tdiff__calloc(env, tv, sizeof *tr->gdiag);
    }
    if (!tr->beta || !tr->abar || (kind == TDIFF_TRANSITION_GAUSSIAN && (!tr->gkern || !tr->gdiag))) {
        tdiff_transition_free(tr);
        return tdiff__fail(env, TDIFF_E_OUT_OF_MEMORY, "out of memory for %zu steps of the transition", n_steps);
    }
    tr->abar[0] = 1.0;
    for (size_t t = 1; t <= n_steps; t++) {
        tr->beta[t] = tdiff__sched_beta(sched, t, n_steps);
        tr->abar[t] = tr->abar[t - 1] * (1.0 - tr->beta[t]);
        if (kind == TDIFF_TRANSITION_GAUSSIAN && !(tr->beta[t] > 0.0)) {
            tdiff_transition_free(tr);
            return tdiff__fail(env, TDIFF_E_INVALID_ARGUMENT,
                               "tdiff_transition_create: gaussian transitions need beta_t > 0 (step %zu)", t);
        }
    }
    if (kind == TDIFF_TRANSITION_GAUSSIAN)
        build_gaussian(tr);
    *out = tr;
    return TDIFF_OK;
}

tdiff_status tdiff_transition_create(tdiff_transition_kind kind, size_t n_vocab, int32_t mask_id,
                                     tdiff_scheduler *sched, size_t n_steps, const tdiff_host *host,
                                     tdiff_transition **out, char *err, size_t err_cap)
{
    if (out)
        *out = NULL;
    tdiff__env env;
    tdiff_status st = tdiff__env_setup(&env, host);
    if (st == TDIFF_OK)
        st = out ? create_closed_form(&env, kind, n_vocab, mask_id, sched, n_steps, out)
                 : tdiff__fail(&env, TDIFF_E_INVALID_ARGUMENT, "tdiff_transition_create: NULL out");
    return tdiff__creator_result(&env, st, err, err_cap);
}

static tdiff_status create_user(tdiff__env *env, tdiff_transition_kind kind, size_t n_vocab, size_t n_steps,
                                size_t bandwidth, const float *q, size_t n_mats, double tol, tr_t **out)
{
    if (kind != TDIFF_TRANSITION_DENSE && kind != TDIFF_TRANSITION_BANDED)
        return tdiff__fail(env, TDIFF_E_INVALID_ARGUMENT,
                           "tdiff_transition_create_user: kind %d is not DENSE or BANDED", (int)kind);
    if (!q)
        return tdiff__fail(env, TDIFF_E_INVALID_ARGUMENT, "tdiff_transition_create_user: NULL matrices");
    if (n_vocab == 0 || n_vocab > (size_t)INT32_MAX)
        return tdiff__fail(env, TDIFF_E_INVALID_ARGUMENT,
                           "tdiff_transition_create_user: n_vocab %zu is outside 1..%d", n_vocab, INT32_MAX);
    if (n_steps == 0 || n_steps > TDIFF_MAX_STEPS || (n_mats != 1 && n_mats != n_steps))
        return tdiff__fail(env, TDIFF_E_INVALID_ARGUMENT,
                           "tdiff_transition_create_user: n_mats %zu must be 1 or n_steps (%zu), n_steps in 1..%u",
                           n_mats, n_steps, TDIFF_MAX_STEPS);
    if (!(tol >= 0.0 && tol <= 1e-2))
        return tdiff__fail(env, TDIFF_E_INVALID_ARGUMENT,
                           "tdiff_transition_create_user: tol %g is outside [0, 1e-2]", tol);
    if (kind == TDIFF_TRANSITION_BANDED && bandwidth >= n_vocab)
        return tdiff__fail(env, TDIFF_E_INVALID_ARGUMENT,
                           "tdiff_transition_create_user: bandwidth %zu must be below n_vocab %zu", bandwidth,
                           n_vocab);
    size_t w = kind == TDIFF_TRANSITION_DENSE ? n_vocab : 2 * bandwidth + 1, per, total;
    if (!tdiff__mul_size(n_vocab, w, &per) || !tdiff__mul_size(per, n_mats, &total) ||
        !tdiff__mul_size(total, sizeof(float), &total))
        return tdiff__fail(env, TDIFF_E_OVERFLOW, "tdiff_transition_create_user: %zu matrices of %zu x %zu overflow",
                           n_mats, n_vocab, w);
    /* validate before copying: finite, non-negative, rows sum to 1 within tol */
    for (size_t m = 0; m < n_mats; m++) {
        for (size_t i = 0; i < n_vocab; i++) {
            const float *row = q + m * per + i * w;
            double s = 0.0;
            for (size_t k = 0; k < w; k++) {
                bool outside = kind == TDIFF_TRANSITION_BANDED && (i + k < bandwidth || i + k - bandwidth >= n_vocab);
                if (!(row[k] >= 0.0f) || isinf(row[k]) || (outside && row[k] != 0.0f))
                    return tdiff__fail(env, TDIFF_E_INVALID_ARGUMENT,
                                       "transition matrix %zu row %zu: entry %zu is negative, not finite, or "
                                       "outside the band", m, i, k);
                s += row[k];
            }
            if (!(fabs(s - 1.0) <= tol))
                return tdiff__fail(env, TDIFF_E_INVALID_ARGUMENT,
                                   "transition matrix %zu row %zu sums to %.9g, not 1 (tol %g)", m, i, s, tol);
        }
    }
    tr_t *tr;
    tdiff_status st = alloc_handle(env, kind, n_vocab, n_steps, &tr);
    if (st != TDIFF_OK)
        return st;
    tr->mask = -1;
    tr->n_mats = n_mats;
    tr->band = kind == TDIFF_TRANSITION_BANDED ? bandwidth : 0;
    tr->mats = tdiff__malloc(env, total);
    if (!tr->mats) {
        tdiff_transition_free(tr);
        return tdiff__fail(env, TDIFF_E_OUT_OF_MEMORY, "out of memory for %zu bytes of transition matrices", total);
    }
    memcpy(tr->mats, q, total);
    *out = tr;
    return TDIFF_OK;
}

tdiff_status tdiff_transition_create_user(tdiff_transition_kind kind, size_t n_vocab, size_t n_steps,
                                          size_t bandwidth, const float *q, size_t n_mats, double tol,
                                          const tdiff_host *host, tdiff_transition **out, char *err,
                                          size_t err_cap)
{
    if (out)
        *out = NULL;
    tdiff__env env;
    tdiff_status st = tdiff__env_setup(&env, host);
    if (st == TDIFF_OK)
        st = out ? create_user(&env, kind, n_vocab, n_steps, bandwidth, q, n_mats, tol, out)
                 : tdiff__fail(&env, TDIFF_E_INVALID_ARGUMENT, "tdiff_transition_create_user: NULL out");
    return tdiff__creator_result(&env, st, err, err_cap);
}

const char *tdiff_transition_last_error(const tdiff_transition *tr)
{
    return tr ? tr->env.last_error : "invalid handle";
}

size_t tdiff_transition_n_vocab(const tdiff_transition *tr)
{
    return tr ? tr->V : 0;
}

size_t tdiff_transition_n_steps(const tdiff_transition *tr)
{
    return tr ? tr->T : 0;
}

const tdiff__env *tdiff__transition_env(const tdiff_transition *tr)
{
    return &tr->env;
}

tdiff_transition_kind tdiff__transition_kind(const tdiff_transition *tr)
{
    return tr->kind;
}

int32_t tdiff__transition_mask(const tdiff_transition *tr)
{
    return tr->mask;
}

double tdiff__transition_alpha_bar(const tdiff_transition *tr, size_t t)
{
    return tr->abar[t];
}

void tdiff__transition_set_error(tdiff_transition *tr, const char *msg)
{
    tdiff__copy_message(tr->env.last_error, sizeof tr->env.last_error, msg);
}
