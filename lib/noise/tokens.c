/*
 * tokens.c -- forward noise on token arrays: absorbing (mask), uniform (D3PM) and
 * per-token absorbing (spindle). Pure functions: every position draws from Philox
 * keyed by (seed, stream, position, draw), so the result depends on the inputs
 * alone -- no handle, no state, no dependence on threads or on how the array is
 * split into calls. Draw 0 decides whether the token is corrupted, draw 1 picks the
 * uniform replacement. Arguments are checked before anything is written.
 */
#include <stdbool.h>

#include "core/rng.h"
#include "libtextdiff.h"

enum { DRAW_CORRUPT = 0, DRAW_REPLACE = 1 };

/* NULL arrays, and positions past the 32-bit Philox position counter. */
static bool valid_arrays(const int32_t *x0, const int32_t *xt, size_t n, uint32_t first_position)
{
    return x0 && xt && (uint64_t)first_position + (uint64_t)n <= ((uint64_t)1 << 32);
}

static bool valid_prob(double p)
{
    return p >= 0.0 && p <= 1.0;
}

tdiff_status tdiff_noise_mask(const int32_t *x0, int32_t *xt, size_t n, double alpha_bar, int32_t mask_id,
                              uint64_t seed, uint32_t stream, uint32_t first_position)
{
    if (!valid_arrays(x0, xt, n, first_position) || !valid_prob(alpha_bar))
        return TDIFF_E_INVALID_ARGUMENT;
    for (size_t i = 0; i < n; i++) {
        uint32_t pos = first_position + (uint32_t)i;
        /* u < 1 − ᾱ has probability exactly 1 − ᾱ up to the 2^-53 grid of u */
        double u = tdiff__rng_uniform_double(seed, stream, pos, DRAW_CORRUPT);
        xt[i] = u < 1.0 - alpha_bar ? mask_id : x0[i];
    }
    return TDIFF_OK;
}

tdiff_status tdiff_noise_uniform(const int32_t *x0, int32_t *xt, size_t n, double alpha_bar, size_t n_vocab,
                                 uint64_t seed, uint32_t stream, uint32_t first_position)
{
    if (!valid_arrays(x0, xt, n, first_position) || !valid_prob(alpha_bar) || n_vocab == 0 ||
        n_vocab > (size_t)INT32_MAX + 1)
        return TDIFF_E_INVALID_ARGUMENT;
    for (size_t i = 0; i < n; i++)
        if (x0[i] < 0 || (size_t)x0[i] >= n_vocab)
            return TDIFF_E_INVALID_ARGUMENT;
    for (size_t i = 0; i < n; i++) {
        uint32_t pos = first_position + (uint32_t)i;
        double u = tdiff__rng_uniform_double(seed, stream, pos, DRAW_CORRUPT);
        if (u < 1.0 - alpha_bar) {
            /* floor(u·V) with u in (0,1): uniform on [0, V) up to V·2^-53 */
            double r = tdiff__rng_uniform_double(seed, stream, pos, DRAW_REPLACE);
            size_t v = (size_t)(r * (double)n_vocab);
            xt[i] = (int32_t)(v < n_vocab ? v : n_vocab - 1);
        } else {
            xt[i] = x0[i];
        }
    }
    return TDIFF_OK;
}

tdiff_status tdiff_noise_per_token(const int32_t *x0, int32_t *xt, size_t n, const float *keep, int32_t mask_id,
                                   uint64_t seed, uint32_t stream, uint32_t first_position)
{
    if (!valid_arrays(x0, xt, n, first_position) || !keep)
        return TDIFF_E_INVALID_ARGUMENT;
    for (size_t i = 0; i < n; i++)
        if (!valid_prob(keep[i]))
            return TDIFF_E_INVALID_ARGUMENT;
    for (size_t i = 0; i < n; i++) {
        uint32_t pos = first_position + (uint32_t)i;
        double u = tdiff__rng_uniform_double(seed, stream, pos, DRAW_CORRUPT);
        xt[i] = u < 1.0 - (double)keep[i] ? mask_id : x0[i];
    }
    return TDIFF_OK;
}
