/*
 * tolerance.h -- how far a vector variant may be from the scalar reference, per
 * kernel. One definition used by tdiff_isa_self_check and tests/unit/simd, and
 * documented in docs/simd.md. FLT_EPSILON = 2^-23.
 */
#ifndef TDIFF_SIMD_TOLERANCE_H
#define TDIFF_SIMD_TOLERANCE_H

#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Elementwise transcendental kernels (exp, silu, swiglu, gelu, gelu_tanh):
 * relative error, and an absolute floor for results in the subnormal range. */
#define TDIFF__TOL_EXP_REL (4.0f * FLT_EPSILON)     /* ~4.8e-7: Cephes polynomial + 2 scalings */
#define TDIFF__TOL_ACT_REL (8.0f * FLT_EPSILON)     /* silu/swiglu/gelu_tanh: exp then a division */
#define TDIFF__TOL_GELU_REL (8.0f * FLT_EPSILON)    /* erfc fit good to ~1.2e-7 relative, plus exp */
#define TDIFF__TOL_ABS_FLOOR FLT_MIN                /* below the normal range only absolute error counts */

/* gelu at x: exp(-x^2/2 + ...) takes an argument rounded to float, whose absolute
 * error (x^2/2 * eps/2) becomes relative error of the result; it only matters
 * for x << 0, where gelu(x) is tiny. */
static inline float tdiff__tol_gelu(float x)
{
    return TDIFF__TOL_GELU_REL + 0.5f * x * x * FLT_EPSILON;
}

/* The relative tolerances above as functions of the input, so that tables of
 * kernels can carry one `float (*)(float x)` each. */
static inline float tdiff__tol_exp(float x)
{
    (void)x;
    return TDIFF__TOL_EXP_REL;
}
static inline float tdiff__tol_act(float x)
{
    (void)x;
    return TDIFF__TOL_ACT_REL;
}

/* Sums of n terms: the recursive-summation bound n*eps*sum|terms| (vector and
 * scalar orders differ; the bound holds for any order). */
static inline float tdiff__tol_sum(size_t n, float sum_abs)
{
    return ((float)n + 4.0f) * FLT_EPSILON * sum_abs + FLT_MIN;
}

/* rmsnorm/layernorm outputs: (n + 8) eps -- the normaliser is a sum of n terms
 * (relative for rmsnorm; absolute, scaled by the inputs, for layernorm). */
static inline float tdiff__tol_norm(size_t n)
{
    return ((float)n + 8.0f) * FLT_EPSILON;
}

/* softmax/log_softmax: the vector variants sum exp in blocks of 64 vectors
 * (VW >= 4), so a lane chains at most 64 + n/256 additions; plus exp (4 eps)
 * and the final scaling. Relative for softmax outputs and the log-sum-exp,
 * absolute (times 1 + |lse|) for log_softmax outputs. */
static inline float tdiff__tol_softmax(size_t n)
{
    return (80.0f + (float)n / 256.0f) * FLT_EPSILON;
}

/* |got - want| <= rel*|want| + abs; NaN matches NaN, infinities must be equal. */
static inline bool tdiff__close(float got, float want, float rel, float abs)
{
    if (isnan(want) || isnan(got))
        return isnan(want) && isnan(got);
    if (isinf(want) || isinf(got))
        return got == want;
    return fabsf(got - want) <= rel * fabsf(want) + abs;
}

/* Bitwise equality: conversions and dequantization must be exact, NaN payloads included. */
static inline bool tdiff__same_bits(float a, float b)
{
    uint32_t ua, ub;
    memcpy(&ua, &a, sizeof ua);
    memcpy(&ub, &b, sizeof ub);
    return ua == ub;
}

#endif
