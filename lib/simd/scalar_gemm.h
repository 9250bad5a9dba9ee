/*
 * scalar_gemm.h -- the reference matrix-product kernels (scalar_gemm.c) that
 * scalar.c puts in the scalar table. Internal to lib/simd.
 */
#ifndef TDIFF_SIMD_SCALAR_GEMM_H
#define TDIFF_SIMD_SCALAR_GEMM_H

#include <stddef.h>
#include <stdint.h>

/* Bytes of one (row, 32-block) of the scalar Q8 pack: 32 quants, d_x, d_x * sum. */
#define TDIFF__SCALAR_QBLOCK 40
void tdiff__scalar_pack_f32(float *xp, const float *x, size_t ldx, size_t m, size_t K, size_t g0, size_t g1);
void tdiff__scalar_pack_q8(void *xp, const float *x, size_t ldx, size_t m, size_t K, size_t g0, size_t g1);
void tdiff__scalar_gemm_f32(float *y, size_t ldy, size_t m, const float *xp, size_t K, const float *w, size_t sn,
                            size_t sk, size_t nc, const float *bias);
void tdiff__scalar_gemm_q(float *y, size_t ldy, size_t m, const void *xp, size_t K, uint32_t type, const void *w,
                          size_t row_bytes, size_t nc, const float *bias, void *scratch);

#endif
