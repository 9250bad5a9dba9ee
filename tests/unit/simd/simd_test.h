/* simd_test.h -- inputs shared by the simd unit tests: the lengths that straddle
 * every vector width, and a deterministic generator (no RNG state to share). */
#ifndef TDIFF_SIMD_TEST_H
#define TDIFF_SIMD_TEST_H

#include <stddef.h>
#include <stdint.h>

/* 0, 1, around 8 (AVX2) and 4/16 (NEON, unrolled loops), 33, and a long one. */
static const size_t test_lengths[] = {0, 1, 7, 8, 9, 15, 16, 17, 33, 1000};
#define N_LENGTHS (sizeof test_lengths / sizeof test_lengths[0])
#define MAX_LEN 1000

/* x[i] uniform in [lo, hi), from a 32-bit LCG (Numerical Recipes constants). */
static inline void test_fill(float *x, size_t n, float lo, float hi, uint32_t seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        x[i] = lo + (hi - lo) * (float)(seed >> 8) * 0x1p-24f;
    }
}

#endif
