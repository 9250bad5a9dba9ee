/*
 * special.h -- the non-finite cases of softmax / log_softmax, written once in
 * scalar.c and used by every variant, so they agree exactly on NaN and inf.
 */
#ifndef TDIFF_SIMD_SPECIAL_H
#define TDIFF_SIMD_SPECIAL_H

#include <stdbool.h>
#include <stddef.h>

/* For x[0..n) (n > 0) whose largest non-NaN value is `max`: when the input has a
 * NaN or `max` is not finite, rewrites x per simd.h, stores log(sum exp(x)) in
 * *lse and returns true. Returns false (x untouched) for the finite case. */
bool tdiff__softmax_nonfinite(float *x, size_t n, float max, bool has_nan, bool log_form, float *lse);

#endif
