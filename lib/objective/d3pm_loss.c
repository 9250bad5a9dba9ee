/*
 * d3pm_loss.c -- D3PM's discrete-time variational bound for uniform and absorbing
 * transitions under a callback denoiser (x0-parameterisation, Austin et al. 2021),
 * as the reference code computes it (google-research d3pm, diffusion_categorical.py;
 * docs/algorithms.md, "D3PM loss"):
 *   t ≥ 2   KL(softmax(log(Q_t[:, x_t] + ε) + log(e_{x_0}·Q̄_{t−1} + ε))
 *              ‖ softmax(log(Q_t[:, x_t] + ε) + log(p̃·Q̄_{t−1} + ε))),  ε = 1e-6,
 *   t = 1   −log p̃(x_0 | x_1), read from the network's softmax directly,
 * sampled t and x_t for those terms, the prior term in closed form.
 * Counters: (seed, k, UINT32_MAX, 0) picks t of sample k; (seed, k, i, 0) decides
 * whether position i is corrupted and (seed, k, i, 1) the uniform replacement.
 */
#include <math.h>
#include <string.h>

#include "core/rng.h"
#include "objective/objective.h"
#include "transition/transition.h"

#define PRIOR_EPS 1e-6  /* D3PM adds it inside the logarithms of the prior KL (categorical_kl_probs) */

/* Log-softmax of a row of V finite-or-−inf values into out[V] (double);
 * false when a value is NaN or +inf, or every value is −inf. */
static bool log_softmax(const float *l, size_t V, double *out)
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
        z += exp((double)l[j] - mx);
    double lz = mx + log(z);
    for (size_t j = 0; j < V; j++)
        out[j] = (double)l[j] - lz;
    return true;
}

/* In place: a row of finite logits becomes its log-softmax. */
static void normalise_logits(double *l, size_t V)
{
    double mx = -INFINITY, z = 0.0;
    for (size_t j = 0; j < V; j++)
        if (l[j] > mx)
            mx = l[j];
    for (size_t j = 0; j < V; j++)
        z += exp(l[j] - mx);
    double lz = mx + log(z);
    for (size_t j = 0; j < V; j++)
        l[j] -= lz;
}

/* KL(softmax(a) ‖ softmax(b)) of two log-softmax rows (finite: the posteriors are floored). */
static double kl_logits(const double *a, const double *b, size_t V)
{
    double kl = 0.0;
    for (size_t j = 0; j < V; j++)
        kl += exp(a[j]) * (a[j] - b[j]);
    return kl;
}

/* KL(q(x_T | x_0) ‖ prior) with [V] scratch rows q, one, tmp. */
static double prior_kl(const tdiff_transition *tr, int32_t x0, double *q, double *one, double *tmp)
{
    size_t V = tdiff_transition_n_vocab(tr);
    bool uniform = tdiff__transition_kind(tr) == TDIFF_TRANSITION_UNIFORM;
    memset(one, 0, V * sizeof *one);
    one[x0] = 1.0;
    tdiff__tr_cum(tr, tdiff_transition_n_steps(tr), one, q, tmp);
    double kl = 0.0;
    for (size_t j = 0; j < V; j++) {
        double prior = uniform ? 1.0 / (double)V : (j == (size_t)tdiff__transition_mask(tr) ? 1.0 : 0.0);
        kl += q[j] * (log(q[j] + PRIOR_EPS) - log(prior + PRIOR_EPS));
    }
    return kl;
}

/* x_t ~ q(x_t | x_0) for sample k: kept with probability ᾱ_t, else the mask
 * (absorbing) or a uniform token. */
static void corrupt(const tdiff_transition *tr, size_t t, const int32_t *x0, size_t n, uint64_t seed, uint32_t k,
                    int32_t *xt)
{
    size_t V = tdiff_transition_n_vocab(tr);
    double keep = tdiff__transition_alpha_bar(tr, t);
    bool absorbing = tdiff__transition_kind(tr) == TDIFF_TRANSITION_ABSORBING;
    for (size_t i = 0; i < n; i++) {
        double u = tdiff__rng_uniform_double(seed, k, (uint32_t)i, 0);
        if (u < keep) {
            xt[i] = x0[i];
        } else if (absorbing) {
            xt[i] = tdiff__transition_mask(tr);
        } else {
            size_t v = (size_t)(tdiff__rng_uniform_double(seed, k, (uint32_t)i, 1) * (double)V);
            xt[i] = (int32_t)(v < V ? v : V - 1);
        }
    }
}

typedef struct loss_rows {
    double *lp;      /* [V] log p̃(x_0 | x_t) of the network           */
    double *pt;      /* [V] p̃                                          */
    double *one;     /* [V] one-hot x_0                                 */
    double *lq;      /* [V] log q(x_{t−1} | x_t, x_0), floored          */
    double *lm;      /* [V] log p_θ(x_{t−1} | x_t), floored              */
    double *scratch; /* [2V]                                            */
} loss_rows;

/* Σ_i of position i's term at step t, from the network's logits[n, V]. */
static tdiff_status term(tdiff__env *env, const tdiff_transition *tr, size_t t, const int32_t *x0,
                         const int32_t *xt, size_t n, const float *logits, const loss_rows *w, double *out)
{
    size_t V = tdiff_transition_n_vocab(tr);
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (!log_softmax(logits + i * V, V, w->lp))
            return tdiff__fail(env, TDIFF_E_INVALID_ARGUMENT,
                               "D3PM loss: logits of position %zu hold NaN or +inf, or are all -inf", i);
        if (t == 1) { /* L_0: −log p̃(x_0 | x_1), not through the posterior (the reference's p_logits at t = 0) */
            sum += -w->lp[x0[i]];
            continue;
        }
        for (size_t j = 0; j < V; j++)
            w->pt[j] = exp(w->lp[j]);
        memset(w->one, 0, V * sizeof *w->one);
        w->one[x0[i]] = 1.0;
        tdiff__transition_posterior_logits(tr, t, xt[i], w->one, w->lq, w->scratch);
        tdiff__transition_posterior_logits(tr, t, xt[i], w->pt, w->lm, w->scratch);
        normalise_logits(w->lq, V);
        normalise_logits(w->lm, V);
        sum += kl_logits(w->lq, w->lm, V);
    }
    *out = sum;
    return TDIFF_OK;
}

static tdiff_status check_args(tdiff__env *env, const tdiff_transition *tr, tdiff_denoise_fn fn,
                               const int32_t *tokens, size_t n, size_t n_samples)
{
    if (!tr)
        return tdiff__fail(env, TDIFF_E_INVALID_ARGUMENT, "D3PM loss: NULL transition");
    tdiff_transition_kind kind = tdiff__transition_kind(tr);
    if (kind != TDIFF_TRANSITION_UNIFORM && kind != TDIFF_TRANSITION_ABSORBING)
        return tdiff__fail(env, TDIFF_E_UNSUPPORTED, "D3PM loss: implemented for uniform and absorbing transitions");
    if (!fn || !tokens || n == 0 || n_samples == 0 || n >= UINT32_MAX || n_samples >= UINT32_MAX)
        return tdiff__fail(env, TDIFF_E_INVALID_ARGUMENT,
                           "D3PM loss: NULL callback/tokens, or n / n_samples out of range");
    size_t V = tdiff_transition_n_vocab(tr);
    for (size_t i = 0; i < n; i++)
        if (tokens[i] < 0 || (size_t)tokens[i] >= V)
            return tdiff__fail(env, TDIFF_E_INVALID_ARGUMENT, "D3PM loss: token %d at %zu is outside [0, %zu)",
                               (int)tokens[i], i, V);
    return TDIFF_OK;
}

static tdiff_status d3pm_loss(tdiff__env *env, const tdiff_transition *tr, tdiff_denoise_fn fn, void *user_data,
                              const int32_t *tokens, size_t n, size_t n_samples, uint64_t seed, double *nelbo,
                              double *per_token, double *std_error)
{
    tdiff_status st = check_args(env, tr, fn, tokens, n, n_samples);
    if (st != TDIFF_OK)
        return st;
    size_t V = tdiff_transition_n_vocab(tr), T = tdiff_transition_n_steps(tr), nv;
    if (!tdiff__mul_size(n, V, &nv))
        return tdiff__fail(env, TDIFF_E_OVERFLOW, "D3PM loss: n * n_vocab overflows");
    int32_t *xt = tdiff__calloc(env, n, sizeof *xt);
    float *logits = tdiff__calloc(env, nv, sizeof *logits);
    double *buf = tdiff__calloc(env, V, 7 * sizeof *buf);
    if (!xt || !logits || !buf) {
        tdiff__free(env, xt);
        tdiff__free(env, logits);
        tdiff__free(env, buf);
        return tdiff__fail(env, TDIFF_E_OUT_OF_MEMORY, "D3PM loss: out of memory for %zu x %zu logits", n, V);
    }
    loss_rows w = {buf, buf + V, buf + 2 * V, buf + 3 * V, buf + 4 * V, buf + 5 * V};
    double sum = 0.0, sum2 = 0.0;
    for (size_t k = 0; k < n_samples && st == TDIFF_OK; k++) {
        size_t t = 1 + (size_t)(tdiff__rng_uniform_double(seed, (uint32_t)k, UINT32_MAX, 0) * (double)T);
        if (t > T)
            t = T;
        corrupt(tr, t, tokens, n, seed, (uint32_t)k, xt);
        st = fn(user_data, xt, n, (float)((double)t / (double)T), logits);
        if (st != TDIFF_OK) {
            st = tdiff__fail(env, st < 0 ? st : TDIFF_E_ABORTED, "D3PM loss: denoiser callback failed (%d)", (int)st);
            break;
        }
        double lk = 0.0;
        if ((st = term(env, tr, t, tokens, xt, n, logits, &w, &lk)) != TDIFF_OK)
            break;
        lk *= (double)T; /* E over uniform t of the per-t term, times T terms */
        sum += lk;
        sum2 += lk * lk;
    }
    double prior = 0.0;
    if (st == TDIFF_OK)
        for (size_t i = 0; i < n; i++)
            prior += prior_kl(tr, tokens[i], w.lq, w.one, w.scratch);
    tdiff__free(env, xt);
    tdiff__free(env, logits);
    tdiff__free(env, buf);
    if (st != TDIFF_OK)
        return st;
    double K = (double)n_samples, mean = sum / K;
    double var = n_samples > 1 ? (sum2 - sum * sum / K) / (K - 1.0) : 0.0;
    if (nelbo)
        *nelbo = mean + prior;
    if (per_token)
        *per_token = (mean + prior) / (double)n;
    if (std_error) /* an infinite term (a −inf logit for the true token at t = 1) has no finite spread */
        *std_error = isfinite(mean) ? sqrt((var > 0.0 ? var : 0.0) / K) : INFINITY;
    return TDIFF_OK;
}

tdiff_status tdiff_objective_d3pm_loss(const tdiff_transition *tr, tdiff_denoise_fn fn, void *user_data,
                                       const int32_t *tokens, size_t n, size_t n_samples, uint64_t seed,
                                       double *nelbo, double *per_token, double *std_error, char *err, size_t err_cap)
{
    tdiff__env env;
    tdiff__objective_env(&env, tr ? tdiff__transition_env(tr) : NULL);
    tdiff_status st = d3pm_loss(&env, tr, fn, user_data, tokens, n, n_samples, seed, nelbo, per_token, std_error);
    return tdiff__creator_result(&env, st, err, err_cap);
}
