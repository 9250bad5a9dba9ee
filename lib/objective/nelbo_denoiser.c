/*
 * nelbo_denoiser.c -- the NELBO with a model's network as the denoiser: adapts a
 * tdiff_denoiser to the callback of tdiff_objective_nelbo (t becomes the total
 * noise σ̄(t) for time-conditioned models) and carries its error text back.
 */
#include "objective/objective.h"
#include "schedule/schedule.h"

#define SIGMA_CAP 1e4f /* σ̄ = +inf at ᾱ = 0; the network needs a finite value */

typedef struct model_ctx {
    const tdiff_scheduler *s;
    tdiff_denoiser *d;
    size_t cap;             /* logits floats available */
    tdiff_status failed;    /* the denoiser's status, TDIFF_OK when it did not fail */
} model_ctx;

static tdiff_status call_model(void *ud, const int32_t *tokens, size_t n, float t, float *logits)
{
    model_ctx *c = ud;
    double sigma = tdiff__sched_sigma_bar(c->s, (double)t); /* t in [1e-6, 1]: the NELBO clamps it */
    float sf = sigma < (double)SIGMA_CAP ? (float)sigma : SIGMA_CAP;
    tdiff_status st = tdiff_denoiser_forward_t(c->d, tokens, n, sf, NULL, 0, logits, c->cap);
    c->failed = st;
    return st;
}

static tdiff_status check_denoiser(tdiff__env *env, const tdiff_scheduler *s, tdiff_denoiser *d, size_t n,
                                   size_t *n_vocab, size_t *cap)
{
    if (!s || !d)
        return tdiff__fail(env, TDIFF_E_INVALID_ARGUMENT, "NELBO: NULL %s", s ? "denoiser" : "scheduler");
    int64_t v = 0, max_len = 0;
    if (tdiff_denoiser_get_int(d, TDIFF_DENOISER_N_VOCAB, &v) != TDIFF_OK ||
        tdiff_denoiser_get_int(d, TDIFF_DENOISER_MAX_LEN, &max_len) != TDIFF_OK || v < 2 || max_len < 1)
        return tdiff__fail(env, TDIFF_E_INVALID_ARGUMENT, "NELBO: cannot read the denoiser's n_vocab / max_len");
    if (n > (size_t)max_len)
        return tdiff__fail(env, TDIFF_E_INVALID_ARGUMENT, "NELBO: n = %zu exceeds the denoiser's max_len %lld", n,
                           (long long)max_len);
    if (!tdiff__mul_size(n, (size_t)v, cap))
        return tdiff__fail(env, TDIFF_E_OVERFLOW, "NELBO: n * n_vocab overflows");
    *n_vocab = (size_t)v;
    return TDIFF_OK;
}

tdiff_status tdiff_objective_nelbo_denoiser(const tdiff_scheduler *s, tdiff_denoiser *d, const int32_t *tokens,
                                            size_t n, int32_t mask_id, tdiff_nelbo_method method, size_t n_samples,
                                            uint64_t seed, double *nelbo, double *per_token, double *std_error,
                                            char *err, size_t err_cap)
{
    tdiff__env env;
    tdiff__objective_env(&env, s ? tdiff__scheduler_env(s) : NULL);
    model_ctx c = {.s = s, .d = d, .failed = TDIFF_OK};
    size_t n_vocab = 0;
    tdiff_status st = check_denoiser(&env, s, d, n, &n_vocab, &c.cap);
    if (st != TDIFF_OK)
        return tdiff__creator_result(&env, st, err, err_cap);
    st = tdiff_objective_nelbo(s, call_model, &c, tokens, n, n_vocab, mask_id, method, n_samples, seed, nelbo,
                               per_token, std_error, err, err_cap);
    if (st != TDIFF_OK && c.failed != TDIFF_OK) {
        tdiff__fail(&env, c.failed, "denoiser: %s", tdiff_denoiser_last_error(d));
        return tdiff__creator_result(&env, c.failed, err, err_cap);
    }
    return st;
}
