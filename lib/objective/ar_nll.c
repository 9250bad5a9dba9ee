/*
 * ar_nll.c -- the exact negative log-likelihood of a text under an autoregressive
 * (causal, shifted-logit) denoiser: one forward pass, then the log-softmax of
 * row p at token p for every scored position. No estimator, no schedule: this is
 * the perplexity an autoregressive model is judged by, and what `textdiff score`
 * and `textdiff eval`'s judge report for llama / qwen2 files.
 *
 * Why the denoiser must be causal with shifted logits: only then is row p a
 * function of tokens[0..p) alone (lib/denoiser/denoiser.h), so −log p(x_p | x_<p)
 * is read off one pass. A bidirectional or unshifted model would see the token it
 * is asked to predict; it is refused rather than given a meaningless number.
 */
#include <math.h>

#include "denoiser/denoiser.h"
#include "objective/objective.h"

static tdiff_status check(tdiff__env *env, tdiff_denoiser *d, const int32_t *tokens, size_t n, size_t n_cond,
                          size_t *V)
{
    if (!d || !tokens)
        return tdiff__fail(env, TDIFF_E_INVALID_ARGUMENT, "AR NLL: NULL %s", d ? "tokens" : "denoiser");
    int64_t v = 0, max_len = 0, attn = 0, shift = 0;
    if (tdiff_denoiser_get_int(d, TDIFF_DENOISER_N_VOCAB, &v) != TDIFF_OK ||
        tdiff_denoiser_get_int(d, TDIFF_DENOISER_MAX_LEN, &max_len) != TDIFF_OK ||
        tdiff_denoiser_get_int(d, TDIFF_DENOISER_ATTENTION, &attn) != TDIFF_OK ||
        tdiff_denoiser_get_int(d, TDIFF_DENOISER_SHIFT_LOGITS, &shift) != TDIFF_OK || v < 1)
        return tdiff__fail(env, TDIFF_E_INVALID_ARGUMENT, "AR NLL: cannot read the denoiser's parameters");
    if (attn != TDIFF_ATTENTION_CAUSAL || !shift)
        return tdiff__fail(env, TDIFF_E_INVALID_ARGUMENT,
                           "AR NLL: the denoiser is not autoregressive (%s attention, %s logits): row p would see "
                           "the token it predicts", attn == TDIFF_ATTENTION_CAUSAL ? "causal" : "non-causal",
                           shift ? "shifted" : "unshifted");
    if (n_cond < 1 || n_cond >= n)
        return tdiff__fail(env, TDIFF_E_INVALID_ARGUMENT,
                           "AR NLL: n_cond = %zu must be in [1, n - 1] (n = %zu): the first token has no prediction "
                           "and at least one token must be scored", n_cond, n);
    if (n > (size_t)max_len)
        return tdiff__fail(env, TDIFF_E_INVALID_ARGUMENT, "AR NLL: n = %zu exceeds the denoiser's max_len %lld", n,
                           (long long)max_len);
    for (size_t i = 0; i < n; i++)
        if (tokens[i] < 0 || (int64_t)tokens[i] >= v)
            return tdiff__fail(env, TDIFF_E_INVALID_ARGUMENT, "AR NLL: token %zu = %d is not in [0, %lld)", i,
                               (int)tokens[i], (long long)v);
    *V = (size_t)v;
    return TDIFF_OK;
}

/* −log softmax(row)[x] in double; NaN / +inf logits or a −inf row are errors. */
static tdiff_status row_nll(tdiff__env *env, const float *row, size_t V, int32_t x, size_t p, double *out)
{
    double mx = -INFINITY;
    for (size_t j = 0; j < V; j++) {
        if (isnan(row[j]) || row[j] == INFINITY)
            return tdiff__fail(env, TDIFF_E_INVALID_ARGUMENT, "AR NLL: logit [%zu, %zu] is not finite", p, j);
        if (row[j] > mx)
            mx = row[j];
    }
    if (mx == -INFINITY)
        return tdiff__fail(env, TDIFF_E_INVALID_ARGUMENT, "AR NLL: all logits of position %zu are -inf", p);
    double z = 0.0;
    for (size_t j = 0; j < V; j++)
        z += exp((double)row[j] - mx);
    *out = mx + log(z) - (double)row[x]; /* +inf when the token's logit is -inf */
    return TDIFF_OK;
}

tdiff_status tdiff_objective_ar_nll(tdiff_denoiser *d, const int32_t *tokens, size_t n, size_t n_cond, double *nll,
                                    double *per_token, char *err, size_t err_cap)
{
    tdiff__env env;
    tdiff__objective_env(&env, d ? tdiff__denoiser_env(d) : NULL);
    size_t V = 0, rows = n - n_cond, cap = 0;
    tdiff_status st = check(&env, d, tokens, n, n_cond, &V);
    if (st != TDIFF_OK)
        return tdiff__creator_result(&env, st, err, err_cap);
    if (!tdiff__mul_size(rows, V, &cap))
        return tdiff__creator_result(&env, tdiff__fail(&env, TDIFF_E_OVERFLOW, "AR NLL: rows * n_vocab overflows"),
                                     err, err_cap);
    uint32_t *pos = tdiff__calloc(&env, rows, sizeof *pos); /* [rows]: n_cond .. n-1 */
    float *logits = tdiff__calloc(&env, cap, sizeof *logits); /* [rows, V] */
    if (!pos || !logits) {
        st = tdiff__fail(&env, TDIFF_E_OUT_OF_MEMORY, "AR NLL: out of memory for %zu x %zu logits", rows, V);
        goto done;
    }
    for (size_t r = 0; r < rows; r++)
        pos[r] = (uint32_t)(n_cond + r);
    st = tdiff_denoiser_forward(d, tokens, n, pos, rows, logits, cap);
    if (st != TDIFF_OK) {
        tdiff__fail(&env, st, "denoiser: %s", tdiff_denoiser_last_error(d));
        goto done;
    }
    double total = 0.0;
    for (size_t r = 0; r < rows && st == TDIFF_OK; r++) {
        double v = 0.0;
        st = row_nll(&env, logits + r * V, V, tokens[pos[r]], pos[r], &v);
        total += v;
    }
    if (st == TDIFF_OK) {
        if (nll)
            *nll = total;
        if (per_token)
            *per_token = total / (double)rows;
    }
done:
    tdiff__free(&env, pos);
    tdiff__free(&env, logits);
    return tdiff__creator_result(&env, st, err, err_cap);
}
