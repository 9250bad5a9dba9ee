/*
 * embedding.h -- the per-position pieces of the continuous-embedding sampler
 * (embedding.c), exposed for the unit tests: the predicted clean embedding and
 * one Gaussian reverse step.
 */
#ifndef TDIFF_SAMPLER_EMBEDDING_H
#define TDIFF_SAMPLER_EMBEDDING_H

#include "sampler.h"
#include "simd/gemm.h"

/* Bytes of the scratch tdiff__embedding_x0hat's product needs for na positions. */
size_t tdiff__embedding_ws_bytes(const tdiff_sampler *s, size_t na);

/* x̂0 of na positions from their logits rows ([na, V]): per position
 * sum_v softmax(row/temperature)_v E[v] over the tokens the sampler may produce
 * (the others get 0), formed for all positions by one product (simd/gemm.h) of the
 * float probabilities (written to probs, [na, V]; may alias logits) against E
 * ([V, dim]), or E[argmax] copied bit for bit at temperature 0. ws holds
 * tdiff__embedding_ws_bytes(s, na) bytes; row is V doubles of scratch;
 * tok[j] gets the arg-max allowed token, conf[j] its probability (at temperature
 * 1 when temperature is 0). Returns na, or the index of the first row that holds
 * NaN/+inf or allows no token (nothing after it is computed). */
size_t tdiff__embedding_x0hat(const tdiff_sampler *s, const float *logits, float *probs, size_t na,
                              double temperature, const float *E, size_t dim, void *ws, double *row, float *x0,
                              int32_t *tok, double *conf);

/* One reverse step of position `pos` in place: x <- DDPM posterior sample
 * c0·x0 + ct·x + sqrt(var)·z (z = tdiff__rng_normal(seed, step, pos, d)) or,
 * with ddim, the deterministic DDIM (eta 0) update. Arithmetic in float64. */
void tdiff__embedding_gauss_step(float *x, const float *x0, size_t dim, double ab_t, double ab_prev, bool ddim,
                                 uint64_t seed, uint32_t step, uint32_t pos);

#endif
