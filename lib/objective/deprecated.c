/*
 * deprecated.c -- the objectives under their 0.1 names (removed after 0.2):
 * tdiff_scheduler_nelbo, tdiff_scheduler_nelbo_denoiser, tdiff_transition_d3pm_loss.
 * Each runs the new function and, as documented for the old name, leaves the error
 * text in the handle's last error instead of a caller buffer.
 */
#include "core/core.h"
#include "schedule/schedule.h"
#include "transition/transition.h"

tdiff_status tdiff_scheduler_nelbo(tdiff_scheduler *s, tdiff_denoise_fn fn, void *user_data, const int32_t *tokens,
                                   size_t n, size_t n_vocab, int32_t mask_id, tdiff_nelbo_method method,
                                   size_t n_samples, uint64_t seed, double *nelbo, double *per_token,
                                   double *std_error)
{
    if (!s)
        return TDIFF_E_INVALID_ARGUMENT;
    char err[TDIFF__ERR_CAP];
    tdiff_status st = tdiff_objective_nelbo(s, fn, user_data, tokens, n, n_vocab, mask_id, method, n_samples, seed,
                                            nelbo, per_token, std_error, err, sizeof err);
    if (st != TDIFF_OK)
        tdiff__scheduler_set_error(s, err);
    return st;
}

tdiff_status tdiff_scheduler_nelbo_denoiser(tdiff_scheduler *s, tdiff_denoiser *d, const int32_t *tokens, size_t n,
                                            int32_t mask_id, tdiff_nelbo_method method, size_t n_samples,
                                            uint64_t seed, double *nelbo, double *per_token, double *std_error)
{
    if (!s)
        return TDIFF_E_INVALID_ARGUMENT;
    char err[TDIFF__ERR_CAP];
    tdiff_status st = tdiff_objective_nelbo_denoiser(s, d, tokens, n, mask_id, method, n_samples, seed, nelbo,
                                                     per_token, std_error, err, sizeof err);
    if (st != TDIFF_OK)
        tdiff__scheduler_set_error(s, err);
    return st;
}

tdiff_status tdiff_transition_d3pm_loss(tdiff_transition *tr, tdiff_denoise_fn fn, void *user_data,
                                        const int32_t *tokens, size_t n, size_t n_samples, uint64_t seed,
                                        double *nelbo, double *per_token, double *std_error)
{
    if (!tr)
        return TDIFF_E_INVALID_ARGUMENT;
    char err[TDIFF__ERR_CAP];
    tdiff_status st = tdiff_objective_d3pm_loss(tr, fn, user_data, tokens, n, n_samples, seed, nelbo, per_token,
                                                std_error, err, sizeof err);
    if (st != TDIFF_OK)
        tdiff__transition_set_error(tr, err);
    return st;
}
