/*
 * transfer.c -- transfer schedules: how many tokens a decoding step commits (or
 * leaves masked), with the integer and float32 arithmetic of each reference
 * implementation, because a floor that differs by one changes the output text.
 * Stateless; no handle.
 */
#include <math.h>

#include "core/fmaf.h"
#include "libtextdiff.h"

#define FLOAT_EXACT_INT ((size_t)1 << 24) /* integers up to 2^24 are exact in float32 */

tdiff_status tdiff_transfer_llada(size_t n_masked, size_t steps, size_t *counts, size_t cap, size_t *needed)
{
    if (steps == 0 || !counts)
        return TDIFF_E_INVALID_ARGUMENT;
    if (needed)
        *needed = steps;
    if (cap < steps)
        return TDIFF_E_BUFFER_TOO_SMALL;
    size_t base = n_masked / steps, rem = n_masked % steps;
    for (size_t i = 0; i < steps; i++)
        counts[i] = base + (i < rem ? 1 : 0); /* remainder on the FIRST steps, as LLaDA */
    return TDIFF_OK;
}

/*
 * torch.linspace(start, end, n) element i in float32: forward from start for the
 * first half, backward from end for the rest, step = (end − start)/(n − 1) in
 * float32, and each element rounded ONCE (fmaf): that is what CUDA gives (nvcc
 * contracts start + step·i into an FMA) and what torch's scalar CPU path gives
 * (checked against torch for n < 16; its vectorised CPU path, n ≥ 16, rounds some
 * elements differently in the last bit -- Dream runs on CUDA).
 */
static float linspace_f32(float start, float end, size_t n, size_t i)
{
    float step = (end - start) / (float)(n - 1);
    size_t halfway = n / 2;
    if (i < halfway)
        return tdiff__fmaf(step, (float)i, start);
    return tdiff__fmaf(-step, (float)(n - i - 1), end);
}

tdiff_status tdiff_transfer_dream_timesteps(size_t steps, double eps, float *out, size_t cap, size_t *needed)
{
    if (steps == 0 || !out || !(eps > 0.0 && eps < 1.0) || steps >= FLOAT_EXACT_INT)
        return TDIFF_E_INVALID_ARGUMENT;
    if (needed)
        *needed = steps + 1;
    if (cap < steps + 1)
        return TDIFF_E_BUFFER_TOO_SMALL;
    for (size_t i = 0; i <= steps; i++)
        out[i] = linspace_f32(1.0f, (float)eps, steps + 1, i);
    return TDIFF_OK;
}

tdiff_status tdiff_transfer_dream(size_t n_masked, size_t step, size_t steps, double eps, size_t *out_count)
{
    if (!out_count || steps == 0 || step >= steps || !(eps > 0.0 && eps < 1.0) || n_masked > FLOAT_EXACT_INT ||
        steps >= FLOAT_EXACT_INT)
        return TDIFF_E_INVALID_ARGUMENT;
    if (step == steps - 1) { /* the last step commits everything left */
        *out_count = n_masked;
        return TDIFF_OK;
    }
    float t = linspace_f32(1.0f, (float)eps, steps + 1, step);
    float s = linspace_f32(1.0f, (float)eps, steps + 1, step + 1);
    float frac = 1.0f - s / t;              /* float32 tensors in the reference */
    float k = (float)n_masked * frac;       /* int64 count promoted to float32   */
    size_t c = k > 0.0f ? (size_t)k : 0;    /* Python int() truncates toward 0   */
    *out_count = c > n_masked ? n_masked : c;
    return TDIFF_OK;
}

tdiff_status tdiff_transfer_maskgit(size_t n_initial, size_t n_masked, size_t step, size_t steps,
                                    size_t *out_remasked)
{
    if (!out_remasked || steps == 0 || step >= steps || n_masked > n_initial || n_initial > FLOAT_EXACT_INT ||
        steps >= FLOAT_EXACT_INT)
        return TDIFF_E_INVALID_ARGUMENT;
    if (step == steps - 1 || n_masked == 0) {
        *out_remasked = 0;
        return TDIFF_OK;
    }
    /* JAX reference: ratio in Python double, cos in float32, product and floor in float32. */
    double ratio = (double)(step + 1) / (double)steps;
    float gamma = cosf((float)(3.14159265358979323846 / 2.0 * ratio));
    float len = floorf((float)n_initial * gamma);
    size_t want = len > 0.0f ? (size_t)len : 0;
    size_t cap = n_masked - 1;
    size_t r = want < cap ? want : cap;
    *out_remasked = r < 1 ? 1 : r; /* reference: maximum(1, minimum(masked − 1, len)) */
    return TDIFF_OK;
}

tdiff_status tdiff_transfer_mask_predict(size_t n, size_t iter, size_t n_iters, size_t *out_masked)
{
    if (!out_masked || n_iters == 0 || iter > n_iters || n > FLOAT_EXACT_INT)
        return TDIFF_E_INVALID_ARGUMENT;
    /* Reference: (length.float() * (1.0 - counter / max_iter)).long(): the Python
     * double factor is rounded to float32 before the float32 product. */
    float factor = (float)(1.0 - (double)iter / (double)n_iters);
    float k = (float)n * factor;
    *out_masked = k > 0.0f ? (size_t)k : 0;
    return TDIFF_OK;
}
