/*
 * fma_double.h -- fmaf(x, y, z) through double arithmetic, for targets without
 * a fused multiply-add instruction (WebAssembly: there fmaf is a call into the
 * C library per product, the whole cost of a matrix product). Same bits as a
 * correctly rounded fmaf:
 *
 *   x*y is exact in double (24 + 24 significant bits <= 53), so d = x*y + z is
 *   rounded once, to double, and (float)d rounds a second time. Two roundings
 *   give the correctly rounded result unless d is exactly halfway between two
 *   floats (its low 29 bits are 0x10000000) or lies below the normal float
 *   range (fewer result bits there); those rare cases call the library's
 *   fmaf. A zero d is exact: a non-zero exact sum of these magnitudes never
 *   rounds to zero in double.
 *
 * Portable C: tests/unit/simd/test_fma_double.c checks it against the native
 * fmaf, halfway cases included. Used by scalar_gemm.c on __wasm__ only.
 */
#ifndef TDIFF_SIMD_FMA_DOUBLE_H
#define TDIFF_SIMD_FMA_DOUBLE_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "core/fmaf.h"

static inline float tdiff__fmaf_double(float x, float y, float z)
{
    const double d = (double)x * (double)y + (double)z;
    uint64_t b;
    memcpy(&b, &d, sizeof b);
    if (((b & 0x1fffffffu) != 0x10000000u && fabs(d) >= 0x1p-126) || d == 0.0)
        return (float)d;
    return tdiff__fmaf(x, y, z); /* the C library's fmaf, or (mingw-w64) its exact emulation */
}

#endif
