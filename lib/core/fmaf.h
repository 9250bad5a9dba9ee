/*
 * fmaf.h -- tdiff__fmaf(a, b, c) = a*b + c rounded once to float, on every
 * platform. It is C's fmaf, except on mingw-w64 (Windows): that libm's fmaf is
 * not correctly rounded (fmaf(0.4995f, 1, 0.001f) comes out one ulp low, and its
 * fma too), so the scalar kernels and Dream's timesteps would lose the bits the
 * other platforms and the vector kernels agree on. There it is computed in
 * double: a*b is exact (24 + 24 bits < 53), the sum is rounded to odd (round to
 * nearest, then, when inexact and the last bit is even, one ulp toward the
 * exact value, found by TwoSum), and rounding that to float is correct since
 * 53 >= 2*24 + 2 (Boldo and Melquiond, "Emulation of FMA and correctly rounded
 * sums: proved algorithms using rounding to odd", IEEE TC 2008).
 */
#ifndef TDIFF_CORE_FMAF_H
#define TDIFF_CORE_FMAF_H

#include <math.h>

#include <stdint.h>
#include <string.h>

/* The double-precision emulation, on every platform (tests/unit/core checks it
 * against the C library's fmaf where that one is right). */
static inline float tdiff__fmaf_odd(float a, float b, float c)
{
    const double p = (double)a * (double)b, s = p + (double)c;
    if (!isfinite(s))
        return (float)s;
    const double bb = s - p, err = (p - (s - bb)) + ((double)c - bb); /* TwoSum: p + c = s + err exactly */
    uint64_t u;
    memcpy(&u, &s, sizeof u);
    if (err != 0.0 && (u & 1) == 0) {
        u += (s > 0.0) == (err > 0.0) ? 1 : (uint64_t)-1; /* away from zero when err has s's sign */
        double odd;
        memcpy(&odd, &u, sizeof odd);
        return (float)odd;
    }
    return (float)s;
}

#if defined(__MINGW32__)
#define tdiff__fmaf tdiff__fmaf_odd
#else
#define tdiff__fmaf fmaf
#endif

#endif
