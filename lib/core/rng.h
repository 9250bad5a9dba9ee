/*
 * rng.h -- counter-based random numbers: Philox4x32-10 (Salmon et al. 2011,
 * Random123) and the draws the library makes from it. A draw is keyed by
 * (seed, step, position, draw index) and needs no state, so results do not depend
 * on thread count or evaluation order.
 */
#ifndef TDIFF_RNG_H
#define TDIFF_RNG_H

#include <stddef.h>
#include <stdint.h>

/* Counter = (step, position, draw, 0); key = (seed low, seed high). */
void tdiff__rng_words(uint64_t seed, uint32_t step, uint32_t position, uint32_t draw, uint32_t out[4]);

/* Uniform double in (0,1): 53 bits from words 0-1, offset by half an ulp so 0 and 1 never occur. */
double tdiff__rng_uniform_double(uint64_t seed, uint32_t step, uint32_t position, uint32_t draw);
/* Uniform float in (0,1): 24 bits from word 0, offset by half an ulp. */
float tdiff__rng_uniform_float(uint64_t seed, uint32_t step, uint32_t position, uint32_t draw);
/* Standard Gumbel -log(-log u) with u from tdiff__rng_uniform_double. */
double tdiff__rng_gumbel(uint64_t seed, uint32_t step, uint32_t position, uint32_t draw);
/* Standard normal (Box-Muller on words 0-1 and 2-3, float64). */
double tdiff__rng_normal(uint64_t seed, uint32_t step, uint32_t position, uint32_t draw);

/*
 * THE inverse-CDF draw of the library (every sampler uses it): from non-negative
 * weights w[0..n) (need not sum to 1) and a uniform u in (0, 1), the first index
 * whose running sum (float64, left to right) exceeds u * total. When rounding leaves
 * the target above the final sum, the last index with a non-zero weight. Returns n
 * (the caller's error) when n == 0, a weight is negative, NaN or infinite, or the
 * weights sum to 0 -- so a zero weight is never chosen.
 */
size_t tdiff__rng_categorical(const double *w, size_t n, double u);

#endif
