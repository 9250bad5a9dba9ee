/*
 * d3pm_loss.c -- D3PM's discrete-time variational bound for uniform and absorbing
 * transitions under a callback denoiser (x0-parameterisation, Austin et al. 2021):
 * sampled t and x_t for the KL terms, the prior term in closed form.
 * Counters: (seed, k, UINT32_MAX, 0) picks t of sample k; (seed, k, i, 0) decides
 * whether position i is corrupted and (seed, k, i, 1) the uniform replacement.
 */
#include <math.h>
#include <string.h>

#include "core/rng.h"
#include "transition.h"

#define P_FLOOR 1e-300  /* p_θ entries below this count as this in log p (KL stays finite) */
#define PRIOR_EPS 1e-6  /* D3PM adds it inside the logarithms of the prior KL */

typedef struct tdiff_transition tr_t;

/* row[V] ← col ⊙ base, normalised; false when the product is all zero. */
static bool product(const double *col, const double *base, size_t V, double *row)
{
    double z = 0.0;
    for (size_t j = 0; j < V; j++)
        z += (row[j] = col[j] * base[j]);
    if (!(z > 0.0))
        return false;
    for (size_t j = 0; j < V; j++)
        row[j] /= z;
    return true;
}

/* Softmax of a float row into double; false when a logit is NaN or +inf. */
static bool softmax_d(const float *l, size_t V, double *p)
{
    double mx = -INFINITY;
    for (size_t j = 0; j < V; j++) {
        if (isnan(l[j]) || l[j] == INFINITY)
            return false;
        if (l[j] > mx)
            mx = l[j];
    }
    if (mx == -INFINITY)
        return false;
    double z = 0.0;
    for (size_t j = 0; j < V; j++)
        z += (p[j] = exp((double)l[j] - mx));
    for (size_t j = 0; j < V; j++)
        p[j] /= z;
    return true;
}

/* KL(q(x_T | x_0) ‖ prior) with [V] scratch rows q, one, tmp. */
static double prior_kl(const tr_t *tr, int32_t x0, double *q, double *one, double *tmp)
{
    size_t V = tr->V;
    memset(one, 0, V * sizeof *one);
    one[x0] = 1.0;
    tdiff__tr_cum(tr, tr->T, one, q, tmp);
    double kl = 0.0;
    for (size_t j = 0; j < V; j++) {
        double prior = tr->kind == TDIFF_TRANSITION_UNIFORM ? 1.0 / (double)V : (j == (size_t)tr->mask ? 1.0 : 0.0);
        kl += q[j] * (log(q[j] + PRIOR_EPS) - log(prior + PRIOR_EPS));
    }
    return kl;
}

tdiff_status tdiff_transition_d3pm_loss(tdiff_transition *tr, tdiff_denoise_fn fn, void *user_data,
                                        const int32_t *tokens, size_t n, size_t n_samples, uint64_t seed, double *nelbo,
                                        double *per_token, double *std_error)
{
    if (!tr)
        return TDIFF_E_INVALID_ARGUMENT;
    tdiff__env *env = &tr->env;
    if (tr->kind != TDIFF_TRANSITION_UNIFORM && tr->kind != TDIFF_TRANSITION_ABSORBING)
        return tdiff__fail(env, TDIFF_E_UNSUPPORTED, "the D3PM loss is implemented for uniform and absorbing");
    if (!fn || !tokens || n == 0 || n_samples == 0 || n >= UINT32_MAX || n_samples >= UINT32_MAX)
        return tdiff__fail(env, TDIFF_E_INVALID_ARGUMENT, "NULL callback/tokens, or n / n_samples out of range");
    size_t V = tr->V, T = tr->T, nv;
    for (size_t i = 0; i < n; i++)
        if (tokens[i] < 0 || (size_t)tokens[i] >= V)
            return tdiff__fail(env, TDIFF_E_INVALID_ARGUMENT, "token %d at %zu is outside [0, %zu)", (int)tokens[i], i,
                               V);
    if (!tdiff__mul_size(n, V, &nv))
        return tdiff__fail(env, TDIFF_E_OVERFLOW, "n * n_vocab overflows");
    int32_t *xt = tdiff__calloc(env, n, sizeof *xt);
    float *logits = tdiff__calloc(env, nv, sizeof *logits);
    double *w = tdiff__calloc(env, 7 * V, sizeof *w);
    if (!xt || !logits || !w) {
        tdiff__free(env, xt);
        tdiff__free(env, logits);
        tdiff__free(env, w);
        return tdiff__fail(env, TDIFF_E_OUT_OF_MEMORY, "out of memory for %zu x %zu logits", n, V);
    }
    double *pt = w, *col = w + V, *cum = w + 2 * V, *tmp = w + 3 * V, *q = w + 4 * V, *p = w + 5 * V, *one = w + 6 * V;
    tdiff_status st = TDIFF_OK;
    double sum = 0.0, sum2 = 0.0;
    for (size_t k = 0; k < n_samples && st == TDIFF_OK; k++) {
        size_t t = 1 + (size_t)(tdiff__rng_uniform_double(seed, (uint32_t)k, UINT32_MAX, 0) * (double)T);
        if (t > T)
            t = T;
        double keep = tr->abar[t];
        for (size_t i = 0; i < n; i++) {
            double u = tdiff__rng_uniform_double(seed, (uint32_t)k, (uint32_t)i, 0);
            if (u < keep) {
                xt[i] = tokens[i];
            } else if (tr->kind == TDIFF_TRANSITION_ABSORBING) {
                xt[i] = tr->mask;
            } else {
                size_t v = (size_t)(tdiff__rng_uniform_double(seed, (uint32_t)k, (uint32_t)i, 1) * (double)V);
                xt[i] = (int32_t)(v < V ? v : V - 1);
            }
        }
        st = fn(user_data, xt, n, (float)((double)t / (double)T), logits);
        if (st != TDIFF_OK) {
            st = tdiff__fail(env, st < 0 ? st : TDIFF_E_ABORTED, "denoiser callback failed (%d)", (int)st);
            break;
        }
        double lk = 0.0;
        for (size_t i = 0; i < n; i++) {
            if (!softmax_d(logits + i * V, V, pt)) {
                st = tdiff__fail(env, TDIFF_E_INVALID_ARGUMENT, "logits of position %zu are not finite", i);
                break;
            }
            tdiff__tr_column(tr, t, xt[i], col);
            tdiff__tr_cum(tr, t - 1, pt, cum, tmp); /* p̃·Q̄_{t−1} */
            if (!product(col, cum, V, p)) {
                st = tdiff__fail(env, TDIFF_E_INVALID_ARGUMENT, "position %zu: x_t impossible under the model", i);
                break;
            }
            if (t == 1) { /* −log p_θ(x_0 | x_1) */
                lk += -log(p[tokens[i]] > P_FLOOR ? p[tokens[i]] : P_FLOOR);
                continue;
            }
            memset(one, 0, V * sizeof *one);
            one[tokens[i]] = 1.0;
            tdiff__tr_cum(tr, t - 1, one, cum, tmp);
            if (!product(col, cum, V, q)) { /* cannot happen: x_t was drawn from q */
                st = tdiff__fail(env, TDIFF_E_INTERNAL, "position %zu: sampled x_t has zero probability", i);
                break;
            }
            for (size_t j = 0; j < V; j++)
                if (q[j] > 0.0)
                    lk += q[j] * (log(q[j]) - log(p[j] > P_FLOOR ? p[j] : P_FLOOR));
        }
        lk *= (double)T; /* E over uniform t of the per-t term, times T terms */
        sum += lk;
        sum2 += lk * lk;
    }
    double prior = 0.0;
    if (st == TDIFF_OK)
        for (size_t i = 0; i < n; i++)
            prior += prior_kl(tr, tokens[i], q, one, tmp);
    tdiff__free(env, xt);
    tdiff__free(env, logits);
    tdiff__free(env, w);
    if (st != TDIFF_OK)
        return st;
    double K = (double)n_samples, mean = sum / K;
    double var = n_samples > 1 ? (sum2 - sum * sum / K) / (K - 1.0) : 0.0;
    if (nelbo)
        *nelbo = mean + prior;
    if (per_token)
        *per_token = (mean + prior) / (double)n;
    if (std_error)
        *std_error = sqrt((var > 0.0 ? var : 0.0) / K);
    return TDIFF_OK;
}
