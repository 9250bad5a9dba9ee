/*
 * model_denoiser.c -- wires the sampler to the library's own denoiser: created
 * at the first run (sized for that canvas), re-created when a longer canvas or
 * another thread count is asked for.
 */
#include "model/model.h"
#include "sampler.h"

tdiff_status tdiff__sampler_ensure_denoiser(tdiff_sampler *s, size_t n)
{
    int threads = (int)tdiff__sp_int(s, TDIFF_SAMPLER_N_THREADS);
    if (s->denoiser && s->denoiser_len >= n && s->denoiser_threads == threads)
        return TDIFF_OK;
    tdiff_denoiser_free(s->denoiser);
    s->denoiser = NULL;
    char why[TDIFF__ERR_CAP];
    tdiff_status st = tdiff_denoiser_create(s->model, n, threads, &s->env.host, &s->denoiser, why, sizeof why);
    if (st)
        return tdiff__fail(&s->env, st, "cannot create the denoiser for a canvas of %zu tokens: %s", n, why);
    s->denoiser_len = n;
    s->denoiser_threads = threads;
    return TDIFF_OK;
}

int tdiff__sampler_model_logits(void *ctx, const int32_t *tokens, size_t n, float t, const uint32_t *positions,
                                size_t n_positions, float *logits)
{
    tdiff_sampler *s = ctx;
    size_t cap = n_positions * s->n_vocab; /* the run sized logits for n >= n_positions rows */
    tdiff_status st = tdiff_denoiser_forward_t(s->denoiser, tokens, n, t, positions, n_positions, logits, cap);
    if (st)
        return tdiff__fail(&s->env, st, "denoiser: %s", tdiff_denoiser_last_error(s->denoiser));
    return 0;
}
