/*
 * blocks.h -- the weight encodings the kernels read, with ggml's type numbers
 * and block layouts (GGUF stores them byte for byte), and the bit unpacking of
 * the K-quant super-blocks, shared by the scalar and the vector kernels so that
 * both see the same integers. All multi-byte fields are little-endian; blocks
 * are only byte-aligned in a file, so they are read through memcpy.
 */
#ifndef TDIFF_SIMD_BLOCKS_H
#define TDIFF_SIMD_BLOCKS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "half.h"

/* ggml type numbers (never renumbered by ggml; model.h's tdiff__ggml_type agrees). */
enum {
    TDIFF__W_F32 = 0,
    TDIFF__W_F16 = 1,
    TDIFF__W_Q4_0 = 2,
    TDIFF__W_Q8_0 = 8,
    TDIFF__W_Q4_K = 12,
    TDIFF__W_Q5_K = 13,
    TDIFF__W_Q6_K = 14,
    TDIFF__W_BF16 = 30
};

/* Blocks of 32 weights (Q8_0, Q4_0). d is an IEEE binary16 scale. */
#define TDIFF__QK 32
typedef struct tdiff__block_q8_0 {
    uint16_t d;
    int8_t qs[TDIFF__QK];          /* element i = d * qs[i] */
} tdiff__block_q8_0;               /* 34 bytes */
typedef struct tdiff__block_q4_0 {
    uint16_t d;
    uint8_t qs[TDIFF__QK / 2];     /* element j = d*((qs[j] & 15) - 8), j+16 = d*((qs[j] >> 4) - 8) */
} tdiff__block_q4_0;               /* 18 bytes */
_Static_assert(sizeof(tdiff__block_q8_0) == 34, "Q8_0 block must be 34 bytes");
_Static_assert(sizeof(tdiff__block_q4_0) == 18, "Q4_0 block must be 18 bytes");

/* K-quant super-blocks of 256 weights. Q4_K and Q5_K: 8 sub-blocks of 32, each
 * with a 6-bit scale and a 6-bit min packed into 12 bytes (tdiff__kq_scale_min);
 * element = (d * scale) * q - (dmin * min). Q6_K: 16 sub-blocks of 16 with int8
 * scales; element = (d * scale) * (q - 32). Each product is rounded to f32. */
#define TDIFF__QK_K 256
typedef struct tdiff__block_q4_k {
    uint16_t d, dmin;
    uint8_t scales[12];
    uint8_t qs[TDIFF__QK_K / 2];   /* sub-block j: bytes 32*(j/2).., low nibble for even j, high for odd */
} tdiff__block_q4_k;               /* 144 bytes */
typedef struct tdiff__block_q5_k {
    uint16_t d, dmin;
    uint8_t scales[12];
    uint8_t qh[TDIFF__QK_K / 8];   /* bit j of qh[l]: +16 for element l of sub-block j */
    uint8_t qs[TDIFF__QK_K / 2];   /* as Q4_K */
} tdiff__block_q5_k;               /* 176 bytes */
typedef struct tdiff__block_q6_k {
    uint8_t ql[TDIFF__QK_K / 2];   /* low 4 bits */
    uint8_t qh[TDIFF__QK_K / 4];   /* high 2 bits */
    int8_t scales[TDIFF__QK_K / 16];
    uint16_t d;
} tdiff__block_q6_k;               /* 210 bytes */
_Static_assert(sizeof(tdiff__block_q4_k) == 144, "Q4_K block must be 144 bytes");
_Static_assert(sizeof(tdiff__block_q5_k) == 176, "Q5_K block must be 176 bytes");
_Static_assert(sizeof(tdiff__block_q6_k) == 210, "Q6_K block must be 210 bytes");

/* The eight 6-bit (scale, min) pairs of Q4_K/Q5_K: bytes 0-3 hold scales 0-3 and
 * bytes 4-7 mins 0-3 in their low 6 bits; scales/mins 4-7 take their low 4 bits
 * from the low/high nibble of bytes 8-11 and their top 2 bits from bits 6-7 of
 * bytes 0-3 (scales) and 4-7 (mins). */
static inline void tdiff__kq_scale_min(const uint8_t s[12], uint8_t sc[8], uint8_t mn[8])
{
    for (int j = 0; j < 4; j++) {
        sc[j] = s[j] & 63;
        mn[j] = s[j + 4] & 63;
        sc[j + 4] = (uint8_t)((s[j + 8] & 15) | ((s[j] >> 6) << 4));
        mn[j + 4] = (uint8_t)((s[j + 8] >> 4) | ((s[j + 4] >> 6) << 4));
    }
}

/* The 256 quants of a Q4_K (qh NULL) or Q5_K super-block in element order, 0..31. */
static inline void tdiff__kq_unpack45(const uint8_t qs[128], const uint8_t *qh, uint8_t q[256])
{
    for (int j = 0; j < 8; j++) {
        const uint8_t *src = qs + 32 * (j / 2);
        for (int l = 0; l < 32; l++) {
            uint8_t v = (j & 1) ? (uint8_t)(src[l] >> 4) : (uint8_t)(src[l] & 15);
            if (qh)
                v = (uint8_t)(v | (((qh[l] >> j) & 1) << 4));
            q[32 * j + l] = v;
        }
    }
}

/* The 256 quants of a Q6_K super-block in element order, 0..63 (subtract 32). In
 * half h and for l < 32, elements l, l+32, l+64, l+96 take the low nibble of
 * ql[64h+l], of ql[64h+32+l], the high nibble of ql[64h+l], of ql[64h+32+l], and
 * bits 0-1, 2-3, 4-5, 6-7 of qh[32h+l] as their bits 4-5. */
static inline void tdiff__kq_unpack6(const uint8_t ql[128], const uint8_t qh[64], uint8_t q[256])
{
    for (int h = 0; h < 2; h++)
        for (int l = 0; l < 32; l++) {
            const uint8_t a = ql[64 * h + l], b = ql[64 * h + 32 + l], c = qh[32 * h + l];
            uint8_t *o = q + 128 * h + l;
            o[0] = (uint8_t)((a & 15) | ((c & 3) << 4));
            o[32] = (uint8_t)((b & 15) | (((c >> 2) & 3) << 4));
            o[64] = (uint8_t)((a >> 4) | (((c >> 4) & 3) << 4));
            o[96] = (uint8_t)((b >> 4) | (((c >> 6) & 3) << 4));
        }
}

/* The K-quant dequantisers' walk over super-blocks, shared by scalar.c and the
 * vector kernels: the unpacking above, then `affine` maps each sub-block,
 * y[i] = d1 * (q[i] - offset) - m1 (mul then sub, no FMA, so every variant gives
 * the same bits). Called with a constant `affine`, the call inlines. */
typedef void (*tdiff__kq_affine_fn)(float *y, const uint8_t *q, size_t n, float d1, float m1, int offset);

static inline void tdiff__kq_dequant_q45_k(float *y, const void *blocks, size_t n, int q5, tdiff__kq_affine_fn affine)
{
    const unsigned char *p = blocks;
    const size_t bytes = q5 ? sizeof(tdiff__block_q5_k) : sizeof(tdiff__block_q4_k);
    for (size_t b = 0; b < n / TDIFF__QK_K; b++, p += bytes, y += TDIFF__QK_K) {
        uint8_t sc[8], mn[8], q[TDIFF__QK_K];
        uint16_t d16, dmin16;
        if (q5) {
            tdiff__block_q5_k blk;
            memcpy(&blk, p, sizeof blk);
            d16 = blk.d, dmin16 = blk.dmin;
            tdiff__kq_scale_min(blk.scales, sc, mn);
            tdiff__kq_unpack45(blk.qs, blk.qh, q);
        } else {
            tdiff__block_q4_k blk;
            memcpy(&blk, p, sizeof blk);
            d16 = blk.d, dmin16 = blk.dmin;
            tdiff__kq_scale_min(blk.scales, sc, mn);
            tdiff__kq_unpack45(blk.qs, NULL, q);
        }
        const float d = tdiff__f16_to_f32(d16), dmin = tdiff__f16_to_f32(dmin16);
        for (int j = 0; j < 8; j++)
            affine(y + 32 * j, q + 32 * j, 32, d * (float)sc[j], dmin * (float)mn[j], 0);
    }
}

static inline void tdiff__kq_dequant_q6_k(float *y, const void *blocks, size_t n, tdiff__kq_affine_fn affine)
{
    const unsigned char *p = blocks;
    for (size_t b = 0; b < n / TDIFF__QK_K; b++, p += sizeof(tdiff__block_q6_k), y += TDIFF__QK_K) {
        tdiff__block_q6_k blk;
        memcpy(&blk, p, sizeof blk);
        uint8_t q[TDIFF__QK_K];
        tdiff__kq_unpack6(blk.ql, blk.qh, q);
        const float d = tdiff__f16_to_f32(blk.d);
        for (int j = 0; j < 16; j++) /* (d*scale)*(q-32) - 0 is exactly (d*scale)*(q-32) */
            affine(y + 16 * j, q + 16 * j, 16, d * (float)blk.scales[j], 0.0f, 32);
    }
}

#endif
