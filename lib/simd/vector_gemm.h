/*
 * vector_gemm.h -- the matrix-product micro-kernels of tdiff__kernels (gemm.h
 * says what they compute), written once for any vector ISA; included by
 * vector_kernels.h after the vocabulary (VW, vf, vq, vb, GEMM_ACC ...).
 *
 * Layout: activations are packed in groups of G = VW rows, one lane per row,
 * so that a vector holds the same input of VW rows; a weight is broadcast and
 * multiplied into VW rows at once. Each lane then runs exactly the scalar
 * recipe of gemm.h -- one accumulator per output, k (or block) in order -- and
 * the results are the scalar reference's bits.
 *
 * A tile is RV row groups x NC weight columns; RV follows the rows left (4, 3,
 * 2, 1 groups) and NC = GEMM_ACC / RV (GEMM_QACC / RV for block types), so the
 * accumulators stay in registers. Columns past the end of a tile repeat the
 * last real column and are not stored.
 */
#include "gemm.h"

#define G VW /* rows per group */
/* Tile loops run over compile-time counts: unrolled, the accumulators live in registers. */
#define UNROLL _Pragma("GCC unroll 32")

/* ---- activation packs ---- */

static void k_pack_f32(float *xp, const float *x, size_t ldx, size_t m, size_t K, size_t g0, size_t g1)
{
    for (size_t g = g0; g < g1; g++) {
        float *o = xp + g * K * G; /* [K][G] */
        for (size_t r = 0; r < G; r++) {
            const size_t i = g * G + r;
            const float *xi = x + i * ldx;
            for (size_t k = 0; k < K; k++)
                o[k * G + r] = i < m ? xi[k] : 0.0f;
        }
    }
}

/* One (group, block) of a Q8 pack. */
typedef struct qpack {
    int8_t qs[8][G][4];  /* qs[t][r] = q of row r, values 4t..4t+3 of the block   */
    float dx[G];         /* the row's block scale d_x                               */
    float dxs[G];        /* d_x * sum(q)                                            */
    int32_t start[G];    /* -VQ_BIAS * sum(q): where a block's integer sum starts   */
    int32_t start16[2][G]; /* the same for each 16-value half                       */
} qpack;

/* q[0..32) and the scale of 32 activations (gemm.h), VW at a time. */
static float quantize32(const float *x, int8_t q[32], int32_t *s0, int32_t *s1)
{
    vf mx = vf_set1(0.0f);
    vm bad = vm_none();
    for (int j = 0; j < 32; j += VW) {
        const vf a = vf_abs(vf_load(x + j));
        bad = vm_or(bad, vm_or(vf_isnan(a), vf_gt(a, vf_set1(3.40282347e+38f))));
        mx = vf_max(mx, a);
    }
    float inv;
    const float d = tdiff__q8_scale(vf_hmax(mx), vm_any(bad), &inv);
    vf s[2] = {vf_set1(0.0f), vf_set1(0.0f)};
    const vf vinv = vf_set1(inv);
    for (int j = 0; j < 32; j += VW) {
        const vi qi = inv != 0.0f ? vf_round_i(vf_mul(vf_load(x + j), vinv)) : vf_round_i(vf_set1(0.0f));
        vi_store_i8(q + j, qi);
        s[j >= 16] = vf_add(s[j >= 16], vi_to_vf(qi)); /* small integers: exact in f32 */
    }
    *s0 = (int32_t)vf_hsum(s[0]);
    *s1 = (int32_t)vf_hsum(s[1]);
    return d;
}

static void k_pack_q8(void *xp, const float *x, size_t ldx, size_t m, size_t K, size_t g0, size_t g1)
{
    const size_t nb = K / 32;
    for (size_t g = g0; g < g1; g++) {
        qpack *p = (qpack *)xp + g * nb;
        for (size_t r = 0; r < G; r++) {
            const size_t i = g * G + r;
            for (size_t b = 0; b < nb; b++) {
                int8_t q[32] = {0};
                int32_t s0 = 0, s1 = 0;
                const float d = i < m ? quantize32(x + i * ldx + 32 * b, q, &s0, &s1) : 0.0f;
                for (int t = 0; t < 8; t++)
                    memcpy(p[b].qs[t][r], q + 4 * t, 4);
                p[b].dx[r] = d;
                p[b].dxs[r] = d * (float)(s0 + s1);
                p[b].start[r] = -VQ_BIAS * (s0 + s1);
                p[b].start16[0][r] = -VQ_BIAS * s0;
                p[b].start16[1][r] = -VQ_BIAS * s1;
            }
        }
    }
}

/* ---- float weights ---- */

/* Columns are computed GEMM_SLICE at a time (a multiple of every tile width): the
 * tiles of a row group write their accumulators as whole vectors into a stage
 * [GEMM_SLICE][4 G] on the stack, and the stage goes out to y row by row. Writing a
 * tile's 16 rows straight into y would hit one cache set over and over when
 * y's row stride is a multiple of 4 KiB (N = 1024, 2048, ...). */
#define GEMM_SLICE 48
#define STAGE_LD (4 * G)

/* Inputs a float tile takes per pass (reason: RV x 16 rows x KF_STEP / RV floats
 * = 32 KiB of packed activations, which then stay in L1 while every column of
 * the slice streams past them). The accumulators wait in the stage between
 * passes, so each output is still one fma chain over k = 0..K-1. */
#define KF_STEP 512

/* Rows [g0 G, (g0 + RV) G) x slice columns [c0, c0 + NC), inputs [k0, k1),
 * accumulated into stage (which holds the previous passes' sums unless k0 = 0). */
static inline __attribute__((always_inline)) void ftile(const int RV, const int NC, float *stage, const float *xp,
                                                        size_t K, size_t g0, const float *w, size_t sn, size_t sk,
                                                        size_t c0, size_t ns, size_t k0, size_t k1)
{
    vf acc[4][GEMM_ACC];
    const float *wc[GEMM_ACC];
    UNROLL
    for (int c = 0; c < NC; c++) {
        const size_t cc = c0 + (size_t)c < ns ? c0 + (size_t)c : ns - 1; /* past the end: repeat */
        wc[c] = w + cc * sn;
        UNROLL
        for (int r = 0; r < RV; r++)
            acc[r][c] = k0 ? vf_load(stage + (c0 + (size_t)c) * STAGE_LD + (size_t)r * G) : vf_set1(0.0f);
    }
    const float *xg = xp + g0 * K * G;
    for (size_t k = k0; k < k1; k++) {
        vf xv[4];
        UNROLL
        for (int r = 0; r < RV; r++)
            xv[r] = vf_load(xg + (size_t)r * K * G + k * G);
        UNROLL
        for (int c = 0; c < NC; c++) {
            const vf wv = vf_bcast(wc[c] + k * sk);
            UNROLL
            for (int r = 0; r < RV; r++)
                acc[r][c] = vf_fma(xv[r], wv, acc[r][c]);
        }
    }
    UNROLL
    for (int c = 0; c < NC; c++)
        UNROLL
        for (int r = 0; r < RV; r++)
            vf_store(stage + (c0 + (size_t)c) * STAGE_LD + (size_t)r * G, acc[r][c]);
}

/* The stage of row groups [g0, g0 + rv) to y (+ bias), rows < m, columns < ns:
 * G x G blocks transposed in registers, then stored a row at a time. */
static void write_out(float *y, size_t ldy, size_t m, size_t g0, size_t rv, const float *stage, size_t ns,
                      const float *bias)
{
    for (size_t cb = 0; cb < ns; cb += G) {
        const size_t nw = ns - cb < G ? ns - cb : G;
        const vf bv = bias ? ld(bias + cb, nw, 0.0f) : vf_set1(0.0f);
        for (size_t r = 0; r < rv && (g0 + r) * G < m; r++) {
            vf v[G];
            UNROLL
            for (size_t j = 0; j < G; j++) /* columns past ns were never written: zeros */
                v[j] = j < nw ? vf_load(stage + (cb + j) * STAGE_LD + r * G) : vf_set1(0.0f);
            vf_transpose(v);
            const size_t rows = m - (g0 + r) * G < G ? m - (g0 + r) * G : G;
            float *yr = y + (g0 + r) * G * ldy + cb;
            if (rows == G && nw == G) { /* the common case: whole vectors */
                UNROLL
                for (size_t l = 0; l < G; l++) /* no bias: acc as is (keeps -0) */
                    vf_store(yr + l * ldy, bias ? vf_add(v[l], bv) : v[l]);
            } else {
                for (size_t l = 0; l < rows; l++)
                    st(yr + l * ldy, bias ? vf_add(v[l], bv) : v[l], nw);
            }
        }
    }
}

static void k_gemm_f32(float *y, size_t ldy, size_t m, const float *xp, size_t K, const float *w, size_t sn,
                       size_t sk, size_t nc, const float *bias)
{
    _Alignas(64) float stage[GEMM_SLICE * STAGE_LD];
    const size_t ng = (m + G - 1) / G;
    for (size_t s0 = 0; s0 < nc; s0 += GEMM_SLICE) {
        const size_t ns = nc - s0 < GEMM_SLICE ? nc - s0 : GEMM_SLICE;
        const float *ws = w + s0 * sn;
        for (size_t g0 = 0; g0 < ng;) {
            const size_t rv = ng - g0 >= 4 ? 4 : ng - g0, step = KF_STEP / rv;
            for (size_t k0 = 0; k0 < K; k0 += step) {
                const size_t k1 = K - k0 < step ? K : k0 + step;
                for (size_t c0 = 0; c0 < ns; c0 += GEMM_ACC / rv) {
                    switch (rv) {
                    case 4: ftile(4, GEMM_ACC / 4, stage, xp, K, g0, ws, sn, sk, c0, ns, k0, k1); break;
                    case 3: ftile(3, GEMM_ACC / 3, stage, xp, K, g0, ws, sn, sk, c0, ns, k0, k1); break;
                    case 2: ftile(2, GEMM_ACC / 2, stage, xp, K, g0, ws, sn, sk, c0, ns, k0, k1); break;
                    default: ftile(1, GEMM_ACC, stage, xp, K, g0, ws, sn, sk, c0, ns, k0, k1); break;
                    }
                }
            }
            write_out(y + s0, ldy, m, g0, rv, stage, ns, bias ? bias + s0 : NULL);
            g0 += rv;
        }
    }
}

/* ---- block weights: decoding ---- */

/* Where a tile's decoded columns live in the scratch (gemm.h). */
typedef struct qcols {
    float *sc;     /* [cols][2 nb] */
    float *mn;     /* [cols][nb]   */
    uint8_t *w;    /* [cols][K]    */
} qcols;

static qcols qcols_in(void *scratch, size_t K)
{
    const size_t nb = K / 32, cols = GEMM_SLICE;
    qcols q;
    q.sc = scratch;
    q.mn = q.sc + cols * 2 * nb;
    q.w = (uint8_t *)(q.mn + cols * nb);
    return q;
}

/* 16 signed weights (as bytes) stored in their final form. */
static inline void put16(uint8_t *dst, vb w) { vb_store(dst, vb_final(w)); }

/* Decodes one row of `nb` 32-blocks into w[K] bytes, sc[2 nb], mn[nb]. */
static void decode_row(uint32_t type, const uint8_t *src, size_t K, uint8_t *w, float *sc, float *mn)
{
    const size_t nb = K / 32;
    const vb lo4 = vb_set1(15);
    switch (type) {
    case TDIFF__W_Q8_0:
        for (size_t b = 0; b < nb; b++, src += sizeof(tdiff__block_q8_0)) {
            uint16_t d;
            memcpy(&d, src, 2);
            sc[2 * b] = sc[2 * b + 1] = tdiff__f16_to_f32(d);
            put16(w + 32 * b, vb_load(src + 2));
            put16(w + 32 * b + 16, vb_load(src + 18));
        }
        break;
    case TDIFF__W_Q4_0:
        for (size_t b = 0; b < nb; b++, src += sizeof(tdiff__block_q4_0)) {
            uint16_t d;
            memcpy(&d, src, 2);
            sc[2 * b] = sc[2 * b + 1] = tdiff__f16_to_f32(d);
            const vb v = vb_load(src + 2);
            put16(w + 32 * b, vb_sub(vb_and(v, lo4), vb_set1(8)));
            put16(w + 32 * b + 16, vb_sub(vb_srl_and(v, 4, 15), vb_set1(8)));
        }
        break;
    case TDIFF__W_Q4_K:
    case TDIFF__W_Q5_K: {
        const int five = type == TDIFF__W_Q5_K;
        const size_t bytes = five ? sizeof(tdiff__block_q5_k) : sizeof(tdiff__block_q4_k);
        for (size_t s = 0; s < nb / 8; s++, src += bytes) {
            uint16_t d16, m16;
            memcpy(&d16, src, 2);
            memcpy(&m16, src + 2, 2);
            const float d = tdiff__f16_to_f32(d16), dmin = tdiff__f16_to_f32(m16);
            uint8_t scl[8], mnl[8];
            tdiff__kq_scale_min(src + 4, scl, mnl);
            const uint8_t *qh = src + 16, *qs = src + (five ? 48 : 16);
            for (int j = 0; j < 8; j++) {
                const size_t b = 8 * s + (size_t)j;
                sc[2 * b] = sc[2 * b + 1] = d * (float)scl[j];
                mn[b] = -(dmin * (float)mnl[j]);
                for (int h = 0; h < 2; h++) {
                    const vb v = vb_load(qs + 32 * (j / 2) + 16 * h);
                    vb q = (j & 1) ? vb_srl_and(v, 4, 15) : vb_and(v, lo4);
                    if (five)
                        q = vb_or(q, vb_shl4(vb_srl_and(vb_load(qh + 16 * h), j, 1)));
                    put16(w + 32 * b + 16 * (size_t)h, q);
                }
            }
        }
        break;
    }
    case TDIFF__W_Q6_K:
        for (size_t s = 0; s < nb / 8; s++, src += sizeof(tdiff__block_q6_k)) {
            const uint8_t *ql = src, *qh = src + 128;
            int8_t scl[16];
            uint16_t d16;
            memcpy(scl, src + 192, 16);
            memcpy(&d16, src + 208, 2);
            const float d = tdiff__f16_to_f32(d16);
            for (int j = 0; j < 16; j++)
                sc[16 * s + (size_t)j] = d * (float)scl[j];
            uint8_t *o = w + 256 * s;
            for (int h = 0; h < 2; h++)
                for (int c = 0; c < 2; c++) { /* 16 of the 32 l of half h */
                    const vb a = vb_load(ql + 64 * h + 16 * c), bb = vb_load(ql + 64 * h + 32 + 16 * c);
                    const vb hb = vb_load(qh + 32 * h + 16 * c), k32 = vb_set1(32);
                    uint8_t *oh = o + 128 * h + 16 * c;
                    put16(oh, vb_sub(vb_or(vb_and(a, lo4), vb_shl4(vb_srl_and(hb, 0, 3))), k32));
                    put16(oh + 32, vb_sub(vb_or(vb_and(bb, lo4), vb_shl4(vb_srl_and(hb, 2, 3))), k32));
                    put16(oh + 64, vb_sub(vb_or(vb_srl_and(a, 4, 15), vb_shl4(vb_srl_and(hb, 4, 3))), k32));
                    put16(oh + 96, vb_sub(vb_or(vb_srl_and(bb, 4, 15), vb_shl4(vb_srl_and(hb, 6, 3))), k32));
                }
        }
        break;
    default:
        break; /* unreachable: gemm.c passes only the types above */
    }
}

/* ---- block weights: the tiles ---- */

enum { QK_PLAIN = 0, QK_MIN = 1, QK_HALVES = 2 };

static inline __attribute__((always_inline)) void qtile(const int RV, const int NC, const int KIND, float *stage,
                                                        const qpack *xp, size_t nb, size_t g0, const qcols *q,
                                                        size_t K, size_t c0, size_t ns)
{
    vf acc[4][GEMM_QACC];
    size_t col[GEMM_QACC];
    UNROLL
    for (int c = 0; c < NC; c++) {
        col[c] = c0 + (size_t)c < ns ? c0 + (size_t)c : ns - 1; /* decoded column; past the end: repeat */
        UNROLL
        for (int r = 0; r < RV; r++)
            acc[r][c] = vf_set1(0.0f);
    }
    for (size_t b = 0; b < nb; b++) {
        const qpack *xb[4];
        vf dx[4];
        UNROLL
        for (int r = 0; r < RV; r++) {
            xb[r] = xp + (g0 + (size_t)r) * nb + b;
            dx[r] = vf_load(xb[r]->dx);
        }
        UNROLL
        for (int c = 0; c < NC; c++) {
            const uint8_t *wb = q->w + col[c] * K + 32 * b;
            const float *s = q->sc + col[c] * 2 * nb + 2 * b;
            for (int h = 0; h < (KIND == QK_HALVES ? 2 : 1); h++) { /* a constant once inlined */
                vi sum[4];
                UNROLL
                for (int r = 0; r < RV; r++)
                    sum[r] = vi_load(KIND == QK_HALVES ? xb[r]->start16[h] : xb[r]->start);
                const int t0 = KIND == QK_HALVES ? 4 * h : 0, t1 = KIND == QK_HALVES ? t0 + 4 : 8;
                UNROLL
                for (int t = t0; t < t1; t++) {
                    const vq wv = vq_bcast(wb + 4 * t);
                    UNROLL
                    for (int r = 0; r < RV; r++)
                        sum[r] = vq_dot(sum[r], wv, vq_load(xb[r]->qs[t]));
                }
                const vf sv = vf_set1(s[h]);
                UNROLL
                for (int r = 0; r < RV; r++)
                    acc[r][c] = vf_fma(vf_mul(vi_to_vf(sum[r]), dx[r]), sv, acc[r][c]);
            }
            if (KIND == QK_MIN) {
                const vf mv = vf_set1(q->mn[col[c] * nb + b]);
                UNROLL
                for (int r = 0; r < RV; r++)
                    acc[r][c] = vf_fma(vf_load(xb[r]->dxs), mv, acc[r][c]);
            }
        }
    }
    UNROLL
    for (int c = 0; c < NC; c++)
        UNROLL
        for (int r = 0; r < RV; r++)
            vf_store(stage + (c0 + (size_t)c) * STAGE_LD + (size_t)r * G, acc[r][c]);
}

/* Tile widths of the block kernels: GEMM_SLICE must be a multiple of each. */
#define QNC(rv) ((rv) == 3 ? GEMM_QACC / 4 : GEMM_QACC / (rv))

#define QTILES(KIND)                                                                                        \
    switch (rv) {                                                                                            \
    case 4: qtile(4, QNC(4), KIND, stage, xq, nb, g0, &q, K, c0, ns); break;                                 \
    case 3: qtile(3, QNC(3), KIND, stage, xq, nb, g0, &q, K, c0, ns); break;                                 \
    case 2: qtile(2, QNC(2), KIND, stage, xq, nb, g0, &q, K, c0, ns); break;                                 \
    default: qtile(1, QNC(1), KIND, stage, xq, nb, g0, &q, K, c0, ns); break;                                \
    }

static void k_gemm_q(float *y, size_t ldy, size_t m, const void *xp, size_t K, uint32_t type, const void *w,
                     size_t row_bytes, size_t nc, const float *bias, void *scratch)
{
    _Alignas(64) float stage[GEMM_SLICE * STAGE_LD];
    const size_t nb = K / 32, ng = (m + G - 1) / G;
    const qpack *xq = xp;
    const qcols q = qcols_in(scratch, K);
    const int kind = type == TDIFF__W_Q6_K ? QK_HALVES
                     : (type == TDIFF__W_Q4_K || type == TDIFF__W_Q5_K) ? QK_MIN : QK_PLAIN;
    /* A slice of columns is decoded once and used by every row group. */
    for (size_t s0 = 0; s0 < nc; s0 += GEMM_SLICE) {
        const size_t ns = nc - s0 < GEMM_SLICE ? nc - s0 : GEMM_SLICE;
        for (size_t c = 0; c < ns; c++)
            decode_row(type, (const uint8_t *)w + (s0 + c) * row_bytes, K, q.w + c * K, q.sc + c * 2 * nb,
                       q.mn + c * nb);
        for (size_t g0 = 0; g0 < ng;) {
            const size_t rv = ng - g0 >= 4 ? 4 : ng - g0;
            for (size_t c0 = 0; c0 < ns; c0 += QNC(rv)) {
                if (kind == QK_HALVES) {
                    QTILES(QK_HALVES)
                } else if (kind == QK_MIN) {
                    QTILES(QK_MIN)
                } else {
                    QTILES(QK_PLAIN)
                }
            }
            write_out(y + s0, ldy, m, g0, rv, stage, ns, bias ? bias + s0 : NULL);
            g0 += rv;
        }
    }
}

#undef QTILES
#undef QNC
#undef STAGE_LD
#undef G
#undef UNROLL
