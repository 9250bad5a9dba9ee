/*
 * gemm.h -- the library's matrix product: Y[m, N] = X[m, K] W^T (+ bias), with W
 * read in its stored encoding (F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K) and
 * never dequantised as a whole. One entry point (tdiff__gemm) for every product
 * of the library: the denoiser's linear layers, attention, nearest-embedding
 * search.
 *
 * What each output element is, exactly (every variant computes these same bits,
 * whatever the thread count or tiling, so results never depend on either):
 *
 *  - F32/F16/BF16 weights (F16/BF16 widened exactly to f32):
 *      acc = 0; for k = 0..K-1: acc = fma(x[i][k], w[c][k], acc);  y = acc (+ bias[c])
 *  - block types: each 32-value block b of row i of X is quantised once per
 *    product: d = amax/127 (amax = max |x|; d = NaN when amax is not finite),
 *    q = round-to-nearest-even(x * (1/d)) (0 when d is 0 or NaN), |q| <= 127.
 *    The weights become signed integers w (Q8_0 as stored, Q4_0 nibble - 8,
 *    Q4_K/Q5_K their 4/5-bit quants, Q6_K 6-bit quant - 32) with f32 scales s
 *    (Q8_0/Q4_0: d; Q4_K/Q5_K: d*scale_j; Q6_K: d*scale per 16 values) and, for
 *    Q4_K/Q5_K, a min coefficient mn = -(dmin*min_j). Then, block by block:
 *      sum = exact integer sum of w*q over the block (over each 16-value half for Q6_K)
 *      acc = fma((float)sum * d_x, s, acc)              (per half for Q6_K)
 *      acc = fma(d_x * (float)sum(q), mn, acc)          (Q4_K, Q5_K)
 *    y = acc (+ bias[c]). Products of fp32 values round once; fma rounds once.
 *
 * Threads split the N output columns in fixed chunks; the activations are
 * packed (and quantised) once per call, shared by every chunk. Scratch comes
 * from the caller (tdiff__gemm_ws), so a call allocates nothing.
 */
#ifndef TDIFF_SIMD_GEMM_H
#define TDIFF_SIMD_GEMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/threads.h"
#include "simd/simd.h"

/* A weight matrix of n rows (= output columns) by k columns (= inputs). */
typedef struct tdiff__gemm_w {
    uint32_t type;        /* TDIFF__W_* (= ggml type number)                          */
    const void *data;
    size_t n, k;
    size_t row_bytes;     /* bytes from row c to row c+1 (whole blocks; F32: 4 * stride) */
    size_t k_stride;      /* F32 only, in floats: element (c, k) at c * row_bytes/4 + k * k_stride;
                           * 0 means 1. A transposed view ([k][n] storage) has row_bytes 4
                           * and k_stride n. */
} tdiff__gemm_w;

/* One product of a call: y[i * ldy + c] for i < m, c < w->n. */
typedef struct tdiff__gemm_op {
    float *y;
    size_t ldy;
    const tdiff__gemm_w *w;
    const float *bias;    /* [w->n] or NULL */
} tdiff__gemm_op;

/* Caller-owned scratch: `shared` for the packed activations, then one region of
 * `per_thread` bytes for each thread of the pool (1 without a pool). Sizes from
 * tdiff__gemm_shared_bytes / tdiff__gemm_thread_bytes; 64-byte aligned regions. */
typedef struct tdiff__gemm_ws {
    void *shared;
    size_t shared_bytes;
    void *threads;
    size_t per_thread;
} tdiff__gemm_ws;

/* Most ops one call takes (Q/K/V, gate/up). */
#define TDIFF__GEMM_MAX_OPS 4

/* Bytes of shared scratch for m rows of K inputs, for calls whose weights
 * include float types (f32) and/or block types (q8). */
size_t tdiff__gemm_shared_bytes(const tdiff__kernels *k, size_t m, size_t K, bool f32, bool q8);
/* Bytes of per-thread scratch for weights of type `type` and K inputs. */
size_t tdiff__gemm_thread_bytes(const tdiff__kernels *k, uint32_t type, size_t K);
/* True when the type is one the products read. */
bool tdiff__gemm_type_ok(uint32_t type);

/* Runs the ops (all over the same x [m, K], row stride ldx) on the pool (NULL:
 * the calling thread alone). Arguments are the caller's contract (no checks
 * beyond asserts of intent): K = every op's w->k, block types need K % 32 == 0
 * (true of any loadable tensor), ws sized for this m, K and these types. */
void tdiff__gemm(const tdiff__kernels *k, tdiff__pool *pool, const float *x, size_t ldx, size_t m,
                 const tdiff__gemm_op *ops, size_t n_ops, const tdiff__gemm_ws *ws);

/* ---- shared by the kernels (scalar and vector) ---- */

/* The scale of one 32-value block of activations with largest magnitude amax
 * (nonfinite: the block holds a NaN or an infinity): d = amax/127, and in *inv
 * what to multiply by before rounding (0: every q is 0). A non-finite block
 * gets d = NaN, so its outputs become NaN; one so small that 1/d overflows
 * gets d = 0 (it contributes nothing). */
static inline float tdiff__q8_scale(float amax, bool nonfinite, float *inv)
{
    *inv = 0.0f;
    if (nonfinite)
        return __builtin_nanf("");
    const float d = amax / 127.0f;
    const float i = d != 0.0f ? 1.0f / d : 0.0f;
    if (!(i <= 3.40282347e+38f)) /* FLT_MAX: i is +inf */
        return 0.0f;
    *inv = i;
    return d;
}

/* Decoded block weights of `cols` columns, in a kernel's scratch:
 * sc [cols][2 * nb] f32 (a scale per 16-value half), mn [cols][nb] f32,
 * w [cols][K] bytes (signed weight + VQ_BIAS of the variant). */
static inline size_t tdiff__gemm_q_scratch(size_t cols, size_t K)
{
    return cols * (K + 12 * (K / 32)) + 64;
}

#endif
