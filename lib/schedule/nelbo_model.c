/*
 * nelbo_model.c -- the NELBO with a model's network as the denoiser: adapts a
 * tdiff_denoiser to the callback of tdiff_scheduler_nelbo (t becomes the total
 * noise σ̄(t) for time-conditioned models) and carries its error text back.
 */
#include <math.h>

#include "schedule.h"

#define SIGMA_CAP 1e4f /* σ̄ = +inf at ᾱ = 0; the network needs a finite value */

typedef struct model_ctx {
    tdiff_scheduler *s;
    tdiff_denoiser *d;
    size_t cap;             /* logits floats available */
    tdiff_status failed;    /* the denoiser's status, TDIFF_OK when it did not fail */
} model_ctx;

static tdiff_status call_model(void *ud, const int32_t *tokens, size_t n, float t, float *logits)
{
    model_ctx *c = ud;
    double sigma;
    tdiff_status st = tdiff_scheduler_eval(c->s, TDIFF_SQ_SIGMA_BAR, (double)t, &sigma);
    if (st != TDIFF_OK)
        return st;
    float sf = sigma < (double)SIGMA_CAP ? (float)sigma : SIGMA_CAP;
    st = tdiff_denoiser_forward_t(c->d, tokens, n, sf, NULL, 0, logits, c->cap);
    c->failed = st;
    return st;
}

tdiff_status tdiff_scheduler_nelbo_denoiser(tdiff_scheduler *s, tdiff_denoiser *d, const int32_t *tokens, size_t n,
                                            int32_t mask_id, tdiff_nelbo_method method, size_t n_samples,
                                            uint64_t seed, double *nelbo, double *per_token, double *std_error)
{
    if (!s)
        return TDIFF_E_INVALID_ARGUMENT;
    if (!d)
        return tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT, "denoiser is NULL");
    int64_t v = 0, max_len = 0;
    if (tdiff_denoiser_get_int(d, TDIFF_DENOISER_N_VOCAB, &v) != TDIFF_OK ||
        tdiff_denoiser_get_int(d, TDIFF_DENOISER_MAX_LEN, &max_len) != TDIFF_OK || v < 2 || max_len < 1)
        return tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT, "cannot read the denoiser's vocabulary / max length");
    if (n > (size_t)max_len)
        return tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT, "n = %zu exceeds the denoiser's max_len %lld", n,
                           (long long)max_len);
    model_ctx c = {.s = s, .d = d, .failed = TDIFF_OK};
    if (!tdiff__mul_size(n, (size_t)v, &c.cap))
        return tdiff__fail(&s->env, TDIFF_E_OVERFLOW, "n * n_vocab overflows");
    tdiff_status st = tdiff_scheduler_nelbo(s, call_model, &c, tokens, n, (size_t)v, mask_id, method, n_samples, seed,
                                            nelbo, per_token, std_error);
    if (st != TDIFF_OK && c.failed != TDIFF_OK)
        return tdiff__fail(&s->env, c.failed, "denoiser: %s", tdiff_denoiser_last_error(d));
    return st;
}
