/*
 * gauss.c -- Gaussian diffusion on float vectors (Diffusion-LM / DDPM / DDIM):
 * forward noise, the closed-form posterior q(x_{t−1} | x_t, x_0), ancestral (DDPM)
 * and DDIM steps from a predicted x_0. Pure functions: coefficients in double,
 * vectors in float, normal draws from Philox keyed (seed, stream, element index, 0).
 */
#include <math.h>
#include <stdbool.h>

#include "core/rng.h"
#include "libtextdiff.h"

/* Three vectors present and n within the 32-bit Philox position counter. */
static bool valid_vectors(const void *a, const void *b, const void *c, size_t n)
{
    return a && b && c && (uint64_t)n <= ((uint64_t)1 << 32);
}

tdiff_status tdiff_gauss_noise(const float *x0, float *xt, size_t n, double alpha_bar, uint64_t seed,
                               uint32_t stream, float *eps_out)
{
    if (!valid_vectors(x0, xt, x0, n) || !(alpha_bar >= 0.0 && alpha_bar <= 1.0))
        return TDIFF_E_INVALID_ARGUMENT;
    double a = sqrt(alpha_bar), b = sqrt(1.0 - alpha_bar);
    for (size_t i = 0; i < n; i++) {
        double e = tdiff__rng_normal(seed, stream, (uint32_t)i, 0);
        if (eps_out)
            eps_out[i] = (float)e;
        xt[i] = (float)(a * (double)x0[i] + b * e);
    }
    return TDIFF_OK;
}

tdiff_status tdiff_gauss_posterior_coefs(double ab_t, double ab_prev, double *c0, double *ct, double *var)
{
    if (!(ab_t >= 0.0 && ab_t < 1.0 && ab_prev >= ab_t && ab_prev <= 1.0 && ab_prev > 0.0))
        return TDIFF_E_INVALID_ARGUMENT;
    double beta = 1.0 - ab_t / ab_prev;
    double denom = 1.0 - ab_t;
    if (c0)
        *c0 = sqrt(ab_prev) * beta / denom;
    if (ct)
        *ct = sqrt(1.0 - beta) * (1.0 - ab_prev) / denom;
    if (var)
        *var = beta * (1.0 - ab_prev) / denom;
    return TDIFF_OK;
}

tdiff_status tdiff_gauss_posterior_mean(const float *x0, const float *xt, float *mean, size_t n, double ab_t,
                                        double ab_prev, double *var)
{
    double c0, ct;
    if (!valid_vectors(x0, xt, mean, n) || tdiff_gauss_posterior_coefs(ab_t, ab_prev, &c0, &ct, var) != TDIFF_OK)
        return TDIFF_E_INVALID_ARGUMENT;
    for (size_t i = 0; i < n; i++)
        mean[i] = (float)(c0 * (double)x0[i] + ct * (double)xt[i]);
    return TDIFF_OK;
}

tdiff_status tdiff_gauss_ddpm_step(const float *x0_pred, const float *xt, float *x_prev, size_t n, double ab_t,
                                   double ab_prev, uint64_t seed, uint32_t stream)
{
    double c0, ct, var;
    if (!valid_vectors(x0_pred, xt, x_prev, n) ||
        tdiff_gauss_posterior_coefs(ab_t, ab_prev, &c0, &ct, &var) != TDIFF_OK)
        return TDIFF_E_INVALID_ARGUMENT;
    double sd = sqrt(var);
    for (size_t i = 0; i < n; i++) {
        double z = sd > 0.0 ? tdiff__rng_normal(seed, stream, (uint32_t)i, 0) : 0.0;
        x_prev[i] = (float)(c0 * (double)x0_pred[i] + ct * (double)xt[i] + sd * z);
    }
    return TDIFF_OK;
}

tdiff_status tdiff_gauss_ddim_step(const float *x0_pred, const float *xt, float *x_prev, size_t n, double ab_t,
                                   double ab_prev, double eta, uint64_t seed, uint32_t stream)
{
    if (!valid_vectors(x0_pred, xt, x_prev, n) ||
        tdiff_gauss_posterior_coefs(ab_t, ab_prev, NULL, NULL, NULL) != TDIFF_OK || !(eta >= 0.0 && eta <= 1.0))
        return TDIFF_E_INVALID_ARGUMENT;
    double sigma = eta * sqrt((1.0 - ab_prev) / (1.0 - ab_t)) * sqrt(1.0 - ab_t / ab_prev);
    double dir = 1.0 - ab_prev - sigma * sigma;
    double cdir = sqrt(dir > 0.0 ? dir : 0.0);
    double sa_t = sqrt(ab_t), sb_t = sqrt(1.0 - ab_t), sa_p = sqrt(ab_prev);
    for (size_t i = 0; i < n; i++) {
        double x0 = x0_pred[i];
        double eps_hat = ((double)xt[i] - sa_t * x0) / sb_t;
        double z = sigma > 0.0 ? tdiff__rng_normal(seed, stream, (uint32_t)i, 0) : 0.0;
        x_prev[i] = (float)(sa_p * x0 + cdir * eps_hat + sigma * z);
    }
    return TDIFF_OK;
}
