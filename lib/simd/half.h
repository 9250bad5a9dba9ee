/*
 * half.h -- bit-exact scalar conversions of IEEE binary16 and bfloat16 to
 * binary32, shared by the scalar kernels and the vector kernels' block scales.
 * NaNs come out quiet with their payload kept (what F16C and FCVT do).
 */
#ifndef TDIFF_SIMD_HALF_H
#define TDIFF_SIMD_HALF_H

#include <stdint.h>
#include <string.h>

static inline float tdiff__f32_from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static inline uint32_t tdiff__f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static inline float tdiff__f16_to_f32(uint16_t h)
{
    const uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    const uint32_t e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
    if (e == 0) {
        /* zero or subnormal: m * 2^-24 is exact in binary32 (m < 2^10) */
        return tdiff__f32_from_bits(sign | tdiff__f32_bits((float)m * 0x1p-24f));
    }
    if (e == 31) /* inf, or NaN made quiet (bit 22) with the 10-bit payload on top */
        return tdiff__f32_from_bits(sign | 0x7f800000u | (m ? 0x400000u | (m << 13) : 0));
    /* normal: rebias the exponent from 15 to 127 */
    return tdiff__f32_from_bits(sign | ((e + 112u) << 23) | (m << 13));
}

static inline float tdiff__bf16_to_f32(uint16_t h)
{
    return tdiff__f32_from_bits((uint32_t)h << 16);
}

#endif
