/*
 * nelbo.c -- the masked-diffusion negative ELBO of a text under a denoiser given
 * as a callback (MDLM / SEDD-absorb / LLaDA's bound), SUBS parameterisation:
 * the mask logit is −∞ and only masked positions are scored. The schedule is
 * read through lib/schedule's accessors; the handle is never written.
 *
 * Estimators (docs/algorithms.md, "NELBO"):
 *   ANTITHETIC, STRATIFIED  E_t[ w(t)·Σ_{i masked} −log p(x_0^i | x_t) ],
 *                           w = −ᾱ'/(1−ᾱ), Bernoulli masks with P = 1 − ᾱ(t);
 *   QUADRATURE              Σ_m (1/m)·E_{|M|=m}[Σ_{i∈M} −log p], the same integral
 *                           after integrating t out analytically, with the counts
 *                           m = 1..n in strata and fixed Philox subsets.
 * Counter use: per evaluation k, position i: (seed, k, i, 0) for the mask draw,
 * (seed, k, i, 1) for subset shuffles, (seed, k, UINT32_MAX, 0) for t.
 */
#include <math.h>
#include <string.h>

#include "core/rng.h"
#include "objective/objective.h"
#include "schedule/schedule.h"

#define T_MIN 1e-6 /* t is clamped here: w(t) ~ 1/t and ᾱ'(0) must stay finite */

typedef struct nelbo_ctx {
    const tdiff_scheduler *s;
    tdiff__env *env;               /* the call's copy: allocator, log, message */
    tdiff_denoise_fn fn;
    void *ud;
    const int32_t *x0;
    size_t n, V;
    int32_t mask;
    int32_t *xt;   /* [n]    */
    float *logits; /* [n, V] */
} nelbo_ctx;

/* Calls the denoiser on ctx->xt at time t and returns Σ over masked i of
 * −log p(x_0^i) with the mask logit removed (SUBS), in double. */
static tdiff_status masked_nll(nelbo_ctx *c, double t, double *out)
{
    tdiff_status st = c->fn(c->ud, c->xt, c->n, (float)t, c->logits);
    if (st != TDIFF_OK)
        return tdiff__fail(c->env, st < 0 ? st : TDIFF_E_ABORTED, "denoiser callback failed (%d)", (int)st);
    double total = 0.0;
    for (size_t i = 0; i < c->n; i++) {
        if (c->xt[i] != c->mask)
            continue;
        const float *row = c->logits + i * c->V;
        double mx = -INFINITY;
        for (size_t j = 0; j < c->V; j++) {
            if ((int32_t)j == c->mask)
                continue;
            if (isnan(row[j]) || row[j] == INFINITY)
                return tdiff__fail(c->env, TDIFF_E_INVALID_ARGUMENT, "logit [%zu, %zu] is not finite", i, j);
            if (row[j] > mx)
                mx = row[j];
        }
        if (mx == -INFINITY)
            return tdiff__fail(c->env, TDIFF_E_INVALID_ARGUMENT, "all logits of position %zu are -inf", i);
        double z = 0.0;
        for (size_t j = 0; j < c->V; j++)
            if ((int32_t)j != c->mask)
                z += exp((double)row[j] - mx);
        total += mx + log(z) - (double)row[c->x0[i]]; /* may be +inf if the true token's logit is −inf */
    }
    *out = total;
    return TDIFF_OK;
}

/* Continuous-time estimator with the given t for evaluation k. */
static tdiff_status sample_at(nelbo_ctx *c, uint64_t seed, uint32_t k, double t, double *out)
{
    double keep = tdiff__sched_alpha_bar(c->s, t);
    size_t masked = 0;
    for (size_t i = 0; i < c->n; i++) {
        bool m = tdiff__rng_uniform_double(seed, k, (uint32_t)i, 0) < 1.0 - keep;
        c->xt[i] = m ? c->mask : c->x0[i];
        masked += m;
    }
    if (masked == 0) { /* nothing to score: the term is 0 without a network call */
        *out = 0.0;
        return TDIFF_OK;
    }
    double nll;
    tdiff_status st = masked_nll(c, t, &nll);
    if (st != TDIFF_OK)
        return st;
    *out = tdiff__sched_elbo_weight(c->s, t) * nll;
    return TDIFF_OK;
}

static double clamp_t(double t)
{
    return t < T_MIN ? T_MIN : t > 1.0 ? 1.0 : t;
}

static tdiff_status stochastic(nelbo_ctx *c, tdiff_nelbo_method method, size_t K, uint64_t seed, double *mean,
                               double *se)
{
    /* ANTITHETIC: pairs share u and use (u, 1 − u); the pair mean is the unit of the
     * standard error. STRATIFIED: t_k = (k + u_k)/K. */
    bool anti = method == TDIFF_NELBO_ANTITHETIC;
    if (anti && K % 2)
        K++;
    size_t units = anti ? K / 2 : K;
    double sum = 0.0, sum2 = 0.0;
    for (size_t u = 0; u < units; u++) {
        double val;
        tdiff_status st;
        if (anti) {
            double r = tdiff__rng_uniform_double(seed, (uint32_t)u, UINT32_MAX, 0);
            double a, b;
            if ((st = sample_at(c, seed, (uint32_t)(2 * u), clamp_t(r), &a)) != TDIFF_OK ||
                (st = sample_at(c, seed, (uint32_t)(2 * u + 1), clamp_t(1.0 - r), &b)) != TDIFF_OK)
                return st;
            val = 0.5 * (a + b);
        } else {
            double r = tdiff__rng_uniform_double(seed, (uint32_t)u, UINT32_MAX, 0);
            if ((st = sample_at(c, seed, (uint32_t)u, clamp_t(((double)u + r) / (double)K), &val)) != TDIFF_OK)
                return st;
        }
        sum += val;
        sum2 += val * val;
    }
    *mean = sum / (double)units;
    double var = units > 1 ? (sum2 - sum * sum / (double)units) / (double)(units - 1) : 0.0;
    /* stratified samples are not i.i.d.; the i.i.d. formula over-states their error */
    *se = sqrt((var > 0.0 ? var : 0.0) / (double)units);
    return TDIFF_OK;
}

static tdiff_status quadrature(nelbo_ctx *c, size_t n_samples, uint64_t seed, uint32_t *perm, double *total)
{
    size_t n = c->n;
    size_t S = n_samples < n ? n_samples : n;       /* strata of counts 1..n   */
    size_t R = n_samples / S;                       /* subsets per stratum     */
    size_t base = n / S, rem = n % S, lo = 1;
    double acc = 0.0;
    for (size_t j = 0; j < S; j++) {
        size_t size = base + (j < rem ? 1 : 0), m = lo + (size - 1) / 2;
        lo += size;
        double t = tdiff__sched_inverse(c->s, 1.0 - (double)m / (double)n);
        double sum = 0.0;
        for (size_t r = 0; r < R; r++) {
            uint32_t k = (uint32_t)(j * R + r);
            for (size_t i = 0; i < n; i++)
                perm[i] = (uint32_t)i;
            for (size_t i = 0; i < m; i++) { /* partial Fisher–Yates: the first m are a uniform subset */
                double u = tdiff__rng_uniform_double(seed, k, (uint32_t)i, 1);
                size_t p = i + (size_t)(u * (double)(n - i));
                if (p >= n)
                    p = n - 1;
                uint32_t x = perm[i];
                perm[i] = perm[p];
                perm[p] = x;
            }
            memcpy(c->xt, c->x0, n * sizeof *c->xt);
            for (size_t i = 0; i < m; i++)
                c->xt[perm[i]] = c->mask;
            double nll;
            tdiff_status st = masked_nll(c, t, &nll);
            if (st != TDIFF_OK)
                return st;
            sum += nll;
        }
        acc += (double)size / (double)m * (sum / (double)R);
    }
    *total = acc;
    return TDIFF_OK;
}

/* Every check of tdiff_objective_nelbo before it allocates. */
static tdiff_status check_args(tdiff__env *env, const tdiff_scheduler *s, tdiff_denoise_fn fn, const int32_t *tokens,
                               size_t n, size_t n_vocab, int32_t mask_id, tdiff_nelbo_method method, size_t n_samples)
{
    if (!s)
        return tdiff__fail(env, TDIFF_E_INVALID_ARGUMENT, "NELBO: NULL scheduler");
    if (!fn || !tokens || n == 0 || n_vocab < 2 || n_samples == 0)
        return tdiff__fail(env, TDIFF_E_INVALID_ARGUMENT,
                           "NELBO: NULL callback/tokens, n == 0, n_vocab < 2 or n_samples 0");
    if (mask_id < 0 || (size_t)mask_id >= n_vocab)
        return tdiff__fail(env, TDIFF_E_INVALID_ARGUMENT, "NELBO: mask_id %d is outside [0, %zu)", (int)mask_id,
                           n_vocab);
    if (method < TDIFF_NELBO_ANTITHETIC || method > TDIFF_NELBO_QUADRATURE)
        return tdiff__fail(env, TDIFF_E_INVALID_ARGUMENT, "NELBO: unknown method %d", (int)method);
    if (tdiff_scheduler_kind(s) == TDIFF_SCHEDULE_SPINDLE)
        return tdiff__fail(env, TDIFF_E_INVALID_ARGUMENT, "NELBO: needs a shared schedule, not spindle");
    if (n >= UINT32_MAX || n_samples >= UINT32_MAX / 2)
        return tdiff__fail(env, TDIFF_E_INVALID_ARGUMENT, "NELBO: n or n_samples exceeds the RNG counter range");
    for (size_t i = 0; i < n; i++)
        if (tokens[i] < 0 || (size_t)tokens[i] >= n_vocab || tokens[i] == mask_id)
            return tdiff__fail(env, TDIFF_E_INVALID_ARGUMENT, "NELBO: token %d at %zu is out of range or the mask",
                               (int)tokens[i], i);
    return TDIFF_OK;
}

static tdiff_status nelbo(tdiff__env *env, const tdiff_scheduler *s, tdiff_denoise_fn fn, void *user_data,
                          const int32_t *tokens, size_t n, size_t n_vocab, int32_t mask_id, tdiff_nelbo_method method,
                          size_t n_samples, uint64_t seed, double *nelbo_out, double *per_token, double *std_error)
{
    tdiff_status st = check_args(env, s, fn, tokens, n, n_vocab, mask_id, method, n_samples);
    if (st != TDIFF_OK)
        return st;
    size_t nv;
    if (!tdiff__mul_size(n, n_vocab, &nv))
        return tdiff__fail(env, TDIFF_E_OVERFLOW, "NELBO: n * n_vocab overflows");
    nelbo_ctx c = {.s = s, .env = env, .fn = fn, .ud = user_data, .x0 = tokens, .n = n, .V = n_vocab, .mask = mask_id};
    c.xt = tdiff__calloc(env, n, sizeof *c.xt);
    c.logits = tdiff__calloc(env, nv, sizeof *c.logits);
    uint32_t *perm = method == TDIFF_NELBO_QUADRATURE ? tdiff__calloc(env, n, sizeof *perm) : NULL;
    double total = 0.0, se = 0.0;
    if (!c.xt || !c.logits || (method == TDIFF_NELBO_QUADRATURE && !perm))
        st = tdiff__fail(env, TDIFF_E_OUT_OF_MEMORY, "NELBO: out of memory for %zu x %zu logits", n, n_vocab);
    else if (method == TDIFF_NELBO_QUADRATURE)
        st = quadrature(&c, n_samples, seed, perm, &total);
    else
        st = stochastic(&c, method, n_samples, seed, &total, &se);
    tdiff__free(env, c.xt);
    tdiff__free(env, c.logits);
    tdiff__free(env, perm);
    if (st != TDIFF_OK)
        return st;
    if (nelbo_out)
        *nelbo_out = total;
    if (per_token)
        *per_token = total / (double)n;
    if (std_error)
        *std_error = se;
    return TDIFF_OK;
}

tdiff_status tdiff_objective_nelbo(const tdiff_scheduler *s, tdiff_denoise_fn fn, void *user_data,
                                   const int32_t *tokens, size_t n, size_t n_vocab, int32_t mask_id,
                                   tdiff_nelbo_method method, size_t n_samples, uint64_t seed, double *nelbo_out,
                                   double *per_token, double *std_error, char *err, size_t err_cap)
{
    tdiff__env env;
    tdiff__objective_env(&env, s ? tdiff__scheduler_env(s) : NULL);
    tdiff_status st = nelbo(&env, s, fn, user_data, tokens, n, n_vocab, mask_id, method, n_samples, seed, nelbo_out,
                            per_token, std_error);
    return tdiff__creator_result(&env, st, err, err_cap);
}
