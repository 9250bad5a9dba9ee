/*
 * scalar_gemm.c -- the reference matrix-product kernels of the scalar table:
 * gemm.h's recipe written as plainly as possible (one row and one column at a
 * time, fmaf for every fused step). The vector kernels (vector_gemm.h) must
 * give these bits; tests/unit/simd checks that they do.
 */
#include <math.h>
#include <string.h>

#include "core/fmaf.h"
#include "gemm.h"
#include "half.h"
#include "scalar_gemm.h"

#if defined(__wasm__)
/* No fused multiply-add instruction: fmaf through double, the same bits
 * without a library call per product (fma_double.h). */
#include "fma_double.h"
#define fmaf tdiff__fmaf_double
#endif

/* One 32-value block of one row of a Q8 pack (groups of one row). */
typedef struct qpack1 {
    int8_t qs[32];
    float dx, dxs;       /* d_x and d_x * sum(q) */
} qpack1;

_Static_assert(sizeof(qpack1) == TDIFF__SCALAR_QBLOCK, "scalar.c sizes the Q8 pack with TDIFF__SCALAR_QBLOCK");

void tdiff__scalar_pack_f32(float *xp, const float *x, size_t ldx, size_t m, size_t K, size_t g0, size_t g1)
{
    for (size_t i = g0; i < g1; i++)
        for (size_t k = 0; k < K; k++)
            xp[i * K + k] = i < m ? x[i * ldx + k] : 0.0f;
}

void tdiff__scalar_pack_q8(void *xp, const float *x, size_t ldx, size_t m, size_t K, size_t g0, size_t g1)
{
    const size_t nb = K / 32;
    for (size_t i = g0; i < g1; i++)
        for (size_t b = 0; b < nb; b++) {
            qpack1 *p = (qpack1 *)xp + i * nb + b;
            memset(p->qs, 0, sizeof p->qs);
            p->dx = 0.0f;
            if (i >= m) {
                p->dxs = 0.0f;
                continue;
            }
            const float *xb = x + i * ldx + 32 * b;
            float amax = 0.0f;
            int bad = 0;
            for (int e = 0; e < 32; e++) {
                const float a = fabsf(xb[e]);
                bad |= !(a <= 3.40282347e+38f); /* NaN or inf */
                amax = a > amax ? a : amax;
            }
            float inv;
            p->dx = tdiff__q8_scale(amax, bad, &inv);
            int32_t s = 0;
            if (inv != 0.0f)
                for (int e = 0; e < 32; e++) {
                    p->qs[e] = (int8_t)nearbyintf(xb[e] * inv); /* default rounding: to nearest even */
                    s += p->qs[e];
                }
            p->dxs = p->dx * (float)s;
        }
}

void tdiff__scalar_gemm_f32(float *y, size_t ldy, size_t m, const float *xp, size_t K, const float *w, size_t sn,
                            size_t sk, size_t nc, const float *bias)
{
#if defined(__wasm__)
    /* Four columns at a time, every row against them: each output's chain is
     * the one of the plain loop below (the same bits), but four independent
     * chains hide most of the emulated fmaf's latency (4x the plain loop with
     * libc's fmaf in Chromium: 0.34 s a step of the bundled model, not 1.5 s). */
    size_t c = 0;
    for (; c + 4 <= nc; c += 4) {
        const float *w0 = w + c * sn;
        for (size_t i = 0; i < m; i++) {
            const float *x = xp + i * K;
            float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f;
            for (size_t k = 0; k < K; k++) {
                const float xk = x[k];
                a0 = fmaf(xk, w0[k * sk], a0);
                a1 = fmaf(xk, w0[sn + k * sk], a1);
                a2 = fmaf(xk, w0[2 * sn + k * sk], a2);
                a3 = fmaf(xk, w0[3 * sn + k * sk], a3);
            }
            float *yr = y + i * ldy + c;
            yr[0] = bias ? a0 + bias[c] : a0;
            yr[1] = bias ? a1 + bias[c + 1] : a1;
            yr[2] = bias ? a2 + bias[c + 2] : a2;
            yr[3] = bias ? a3 + bias[c + 3] : a3;
        }
    }
    for (size_t i = 0; i < m; i++)
        for (size_t c2 = c; c2 < nc; c2++) {
            float acc = 0.0f;
            for (size_t k = 0; k < K; k++)
                acc = fmaf(xp[i * K + k], w[c2 * sn + k * sk], acc);
            y[i * ldy + c2] = bias ? acc + bias[c2] : acc;
        }
#else
    for (size_t i = 0; i < m; i++)
        for (size_t c = 0; c < nc; c++) {
            float acc = 0.0f;
            for (size_t k = 0; k < K; k++)
                acc = tdiff__fmaf(xp[i * K + k], w[c * sn + k * sk], acc);
            y[i * ldy + c] = bias ? acc + bias[c] : acc;
        }
#endif
}

/* One row of block weights as signed integers w[K] with scales sc[2 nb] (per
 * 16-value half) and min coefficients mn[nb], straight from blocks.h. */
static void decode_row(uint32_t type, const uint8_t *src, size_t K, int8_t *w, float *sc, float *mn)
{
    const size_t nb = K / 32;
    uint8_t q[TDIFF__QK_K];
    switch (type) {
    case TDIFF__W_Q8_0:
        for (size_t b = 0; b < nb; b++, src += sizeof(tdiff__block_q8_0)) {
            tdiff__block_q8_0 blk;
            memcpy(&blk, src, sizeof blk);
            sc[2 * b] = sc[2 * b + 1] = tdiff__f16_to_f32(blk.d);
            memcpy(w + 32 * b, blk.qs, 32);
        }
        break;
    case TDIFF__W_Q4_0:
        for (size_t b = 0; b < nb; b++, src += sizeof(tdiff__block_q4_0)) {
            tdiff__block_q4_0 blk;
            memcpy(&blk, src, sizeof blk);
            sc[2 * b] = sc[2 * b + 1] = tdiff__f16_to_f32(blk.d);
            for (int j = 0; j < 16; j++) {
                w[32 * b + (size_t)j] = (int8_t)((blk.qs[j] & 15) - 8);
                w[32 * b + 16 + (size_t)j] = (int8_t)((blk.qs[j] >> 4) - 8);
            }
        }
        break;
    case TDIFF__W_Q4_K:
    case TDIFF__W_Q5_K:
        for (size_t s = 0; s < nb / 8; s++) {
            tdiff__block_q5_k blk; /* a Q4_K block is the same without qh */
            const size_t bytes = type == TDIFF__W_Q4_K ? sizeof(tdiff__block_q4_k) : sizeof blk;
            memcpy(&blk, src + s * bytes, 16);                                /* d, dmin, scales */
            if (type == TDIFF__W_Q4_K)
                memcpy(blk.qs, src + s * bytes + 16, sizeof blk.qs);
            else
                memcpy(&blk, src + s * bytes, sizeof blk);
            uint8_t scl[8], mnl[8];
            tdiff__kq_scale_min(blk.scales, scl, mnl);
            tdiff__kq_unpack45(blk.qs, type == TDIFF__W_Q5_K ? blk.qh : NULL, q);
            const float d = tdiff__f16_to_f32(blk.d), dmin = tdiff__f16_to_f32(blk.dmin);
            for (int j = 0; j < 8; j++) {
                const size_t b = 8 * s + (size_t)j;
                sc[2 * b] = sc[2 * b + 1] = d * (float)scl[j];
                mn[b] = -(dmin * (float)mnl[j]);
            }
            for (int e = 0; e < TDIFF__QK_K; e++)
                w[256 * s + (size_t)e] = (int8_t)q[e];
        }
        break;
    case TDIFF__W_Q6_K:
        for (size_t s = 0; s < nb / 8; s++) {
            tdiff__block_q6_k blk;
            memcpy(&blk, src + s * sizeof blk, sizeof blk);
            tdiff__kq_unpack6(blk.ql, blk.qh, q);
            const float d = tdiff__f16_to_f32(blk.d);
            for (int j = 0; j < 16; j++)
                sc[16 * s + (size_t)j] = d * (float)blk.scales[j];
            for (int e = 0; e < TDIFF__QK_K; e++)
                w[256 * s + (size_t)e] = (int8_t)(q[e] - 32);
        }
        break;
    default:
        break; /* unreachable: gemm.c passes only the types above */
    }
}

void tdiff__scalar_gemm_q(float *y, size_t ldy, size_t m, const void *xp, size_t K, uint32_t type, const void *w,
                          size_t row_bytes, size_t nc, const float *bias, void *scratch)
{
    const size_t nb = K / 32;
    const qpack1 *xq = xp;
    float *sc = scratch, *mn = sc + 2 * nb;
    int8_t *wq = (int8_t *)(mn + nb);
    const int halves = type == TDIFF__W_Q6_K, mins = type == TDIFF__W_Q4_K || type == TDIFF__W_Q5_K;
    for (size_t c = 0; c < nc; c++) {
        decode_row(type, (const uint8_t *)w + c * row_bytes, K, wq, sc, mn);
        for (size_t i = 0; i < m; i++) {
            float acc = 0.0f;
            for (size_t b = 0; b < nb; b++) {
                const qpack1 *p = xq + i * nb + b;
                const int8_t *wb = wq + 32 * b;
                if (halves) {
                    for (int h = 0; h < 2; h++) {
                        int32_t sum = 0;
                        for (int e = 16 * h; e < 16 * h + 16; e++)
                            sum += wb[e] * p->qs[e];
                        acc = tdiff__fmaf((float)sum * p->dx, sc[2 * b + (size_t)h], acc);
                    }
                } else {
                    int32_t sum = 0;
                    for (int e = 0; e < 32; e++)
                        sum += wb[e] * p->qs[e];
                    acc = tdiff__fmaf((float)sum * p->dx, sc[2 * b], acc);
                    if (mins)
                        acc = tdiff__fmaf(p->dxs, mn[b], acc);
                }
            }
            y[i * ldy + c] = bias ? acc + bias[c] : acc;
        }
    }
}
