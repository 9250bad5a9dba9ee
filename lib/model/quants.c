/*
 * quants.c -- encoding rows of f32 values into the tensor types a model file
 * can hold (F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K), in ggml's exact block
 * layouts (simd/blocks.h; the decoders there and in simd/ read them back).
 *
 * The choices of scales are our own: each block (or sub-block) takes the scale
 * that minimises a weighted squared error over a small set of candidates, the
 * weights favouring large values (w = |x| + rms of the block). Only the layout
 * has to match llama.cpp, not the search.
 */
#include <math.h>
#include <string.h>

#include "model.h"
#include "simd/half.h"

uint16_t tdiff__f32_to_f16(float f)
{
    const uint32_t x = tdiff__f32_bits(f), sign = (x >> 16) & 0x8000u, ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u) /* NaN: quiet, top of the payload kept */
        return (uint16_t)(sign | 0x7e00u | ((ax >> 13) & 0x3ffu));
    if (ax >= 0x477ff000u) /* >= 65520 (halfway past the largest, 65504): inf */
        return (uint16_t)(sign | 0x7c00u);
    if (ax < 0x38800000u) /* below 2^-14: a subnormal (or 0), m * 2^-24; m = 1024 is the smallest normal */
        return (uint16_t)(sign | (uint32_t)nearbyintf(tdiff__f32_from_bits(ax) * 0x1p24f));
    /* normal: 13 mantissa bits dropped, rounded to nearest even; exponent 127 -> 15 */
    const uint32_t r = ax + 0xfffu + ((ax >> 13) & 1u) - ((127u - 15u) << 23);
    return (uint16_t)(sign | (r >> 13));
}

uint16_t tdiff__f32_to_bf16(float f)
{
    const uint32_t u = tdiff__f32_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((u >> 16) | 0x40u); /* NaN stays a quiet NaN */
    return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

/* The f32 value an f16 bit pattern stands for: what a decoder will use. */
static float f16_round(float v)
{
    return tdiff__f16_to_f32(tdiff__f32_to_f16(v));
}

static int clampi(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* ---- blocks of 32 with one scale ---- */

static void q8_0_block(const float *x, uint8_t *out)
{
    float amax = 0.0f;
    for (int i = 0; i < 32; i++)
        amax = fmaxf(amax, fabsf(x[i]));
    const float d = f16_round(amax / 127.0f);
    const uint16_t dh = tdiff__f32_to_f16(d);
    memcpy(out, &dh, 2);
    for (int i = 0; i < 32; i++)
        out[2 + i] = (uint8_t)(int8_t)(d != 0.0f ? clampi((int)nearbyintf(x[i] / d), -127, 127) : 0);
}

/* The value of largest magnitude maps to -8 (so the other side reaches +7). */
static void q4_0_block(const float *x, uint8_t *out)
{
    float mx = 0.0f;
    for (int i = 0; i < 32; i++)
        if (fabsf(x[i]) > fabsf(mx))
            mx = x[i];
    const float d = f16_round(mx / -8.0f);
    const uint16_t dh = tdiff__f32_to_f16(d);
    memcpy(out, &dh, 2);
    for (int j = 0; j < 16; j++) {
        const int a = d != 0.0f ? clampi((int)nearbyintf(x[j] / d) + 8, 0, 15) : 8;
        const int b = d != 0.0f ? clampi((int)nearbyintf(x[j + 16] / d) + 8, 0, 15) : 8;
        out[2 + j] = (uint8_t)(a | (b << 4));
    }
}

/* ---- scale searches ---- */

/* Weights of a (sub-)block: |x| + rms (large values count more, none count 0). */
static void block_weights(const float *x, int n, float *w)
{
    float ss = 0.0f;
    for (int i = 0; i < n; i++)
        ss += x[i] * x[i];
    const float rms = sqrtf(ss / (float)n);
    for (int i = 0; i < n; i++)
        w[i] = fabsf(x[i]) + rms;
}

/* Symmetric: x ~ s * q, q in [-nmax, nmax - 1]. Tries the scales that map the
 * value of largest magnitude to -nmax + k/4 (k = -4..4), refits each by weighted
 * least squares for its q, keeps the best. Returns s (0 for an all-zero block). */
static float sym_scale(const float *x, const float *w, int n, int nmax)
{
    float mx = 0.0f;
    for (int i = 0; i < n; i++)
        if (fabsf(x[i]) > fabsf(mx))
            mx = x[i];
    if (mx == 0.0f)
        return 0.0f;
    float best_s = mx / (float)-nmax, best_err = INFINITY;
    for (int k = -4; k <= 4; k++) {
        const float s0 = mx / ((float)-nmax + 0.25f * (float)k);
        float sxq = 0.0f, sqq = 0.0f;
        for (int i = 0; i < n; i++) {
            const float q = (float)clampi((int)nearbyintf(x[i] / s0), -nmax, nmax - 1);
            sxq += w[i] * x[i] * q;
            sqq += w[i] * q * q;
        }
        const float s = sqq > 0.0f ? sxq / sqq : s0;
        float err = 0.0f;
        for (int i = 0; i < n; i++) {
            const float q = (float)clampi((int)nearbyintf(x[i] / s), -nmax, nmax - 1);
            const float e = x[i] - s * q;
            err += w[i] * e * e;
        }
        if (err < best_err) {
            best_err = err;
            best_s = s;
        }
    }
    return best_s;
}

/* Affine: x ~ a * q - m with a >= 0, m >= 0 and q in [0, qmax]. Tries ranges
 * [lo, hi] split into qmax + k/4 steps (k = -4..4, lo = min(x, 0)), refits (a, m)
 * by weighted least squares for each assignment (m clamped at 0), keeps the best. */
static void affine_scale(const float *x, const float *w, int n, int qmax, float *a_out, float *m_out)
{
    float lo = 0.0f, hi = x[0];
    for (int i = 0; i < n; i++) {
        lo = fminf(lo, x[i]);
        hi = fmaxf(hi, x[i]);
    }
    *a_out = 0.0f;
    *m_out = -lo;
    if (!(hi > lo))
        return;
    float best_err = INFINITY;
    for (int k = -4; k <= 4; k++) {
        const float a0 = (hi - lo) / ((float)qmax + 0.25f * (float)k), m0 = -lo;
        float sw = 0, sq = 0, sqq = 0, sx = 0, sxq = 0;
        for (int i = 0; i < n; i++) {
            const float q = (float)clampi((int)nearbyintf((x[i] + m0) / a0), 0, qmax);
            sw += w[i], sq += w[i] * q, sqq += w[i] * q * q, sx += w[i] * x[i], sxq += w[i] * x[i] * q;
        }
        /* minimise sum w (a q - m - x)^2: normal equations in (a, m) */
        const float det = sw * sqq - sq * sq;
        float a = a0, m = m0;
        if (det > 0.0f) {
            a = (sw * sxq - sq * sx) / det;
            m = (sq * sxq - sqq * sx) / det;
        }
        if (!(m >= 0.0f)) { /* the offset may only lower the range: refit a alone */
            m = 0.0f;
            a = sqq > 0.0f ? sxq / sqq : a0;
        }
        if (!(a > 0.0f))
            continue;
        float err = 0.0f;
        for (int i = 0; i < n; i++) {
            const float q = (float)clampi((int)nearbyintf((x[i] + m) / a), 0, qmax);
            const float e = x[i] - (a * q - m);
            err += w[i] * e * e;
        }
        if (err < best_err) {
            best_err = err;
            *a_out = a;
            *m_out = m;
        }
    }
}

/* The inverse of tdiff__kq_scale_min: eight 6-bit scales and mins into 12 bytes. */
static void pack_scale_min(const uint8_t sc[8], const uint8_t mn[8], uint8_t s[12])
{
    for (int j = 0; j < 4; j++) {
        s[j] = (uint8_t)(sc[j] | ((sc[j + 4] >> 4) << 6));
        s[j + 4] = (uint8_t)(mn[j] | ((mn[j + 4] >> 4) << 6));
        s[j + 8] = (uint8_t)((sc[j + 4] & 15) | ((mn[j + 4] & 15) << 4));
    }
}

/* ---- K-quant super-blocks of 256 ---- */

/* Q4_K (qmax 15) and Q5_K (qmax 31): per 32 an affine scale, both quantised to
 * 6 bits against the super-block's f16 d and dmin. */
static void q45_k_block(const float *x, int qmax, uint8_t *out)
{
    float a[8], m[8], w[32], amax = 0.0f, mmax = 0.0f;
    for (int j = 0; j < 8; j++) {
        block_weights(x + 32 * j, 32, w);
        affine_scale(x + 32 * j, w, 32, qmax, &a[j], &m[j]);
        amax = fmaxf(amax, a[j]);
        mmax = fmaxf(mmax, m[j]);
    }
    const float d = f16_round(amax / 63.0f), dmin = f16_round(mmax / 63.0f);
    uint8_t sc[8], mn[8], q[256];
    for (int j = 0; j < 8; j++) {
        sc[j] = (uint8_t)(d > 0.0f ? clampi((int)nearbyintf(a[j] / d), 0, 63) : 0);
        mn[j] = (uint8_t)(dmin > 0.0f ? clampi((int)nearbyintf(m[j] / dmin), 0, 63) : 0);
        const float ds = d * (float)sc[j], ms = dmin * (float)mn[j]; /* what a decoder computes */
        for (int l = 0; l < 32; l++)
            q[32 * j + l] = (uint8_t)(ds > 0.0f ? clampi((int)nearbyintf((x[32 * j + l] + ms) / ds), 0, qmax) : 0);
    }
    const uint16_t dh = tdiff__f32_to_f16(d), mh = tdiff__f32_to_f16(dmin);
    memcpy(out, &dh, 2);
    memcpy(out + 2, &mh, 2);
    pack_scale_min(sc, mn, out + 4);
    uint8_t *qh = out + 16, *qs = out + (qmax == 31 ? 48 : 16);
    if (qmax == 31)
        memset(qh, 0, 32);
    memset(qs, 0, 128);
    for (int j = 0; j < 8; j++)
        for (int l = 0; l < 32; l++) {
            const uint8_t v = q[32 * j + l];
            qs[32 * (j / 2) + l] |= (uint8_t)((v & 15) << ((j & 1) ? 4 : 0));
            if (qmax == 31)
                qh[l] |= (uint8_t)(((v >> 4) & 1) << j);
        }
}

/* Q6_K: per 16 a symmetric scale, quantised to int8 against the f16 d. */
static void q6_k_block(const float *x, uint8_t *out)
{
    float s[16], w[16], smax = 0.0f;
    for (int j = 0; j < 16; j++) {
        block_weights(x + 16 * j, 16, w);
        s[j] = sym_scale(x + 16 * j, w, 16, 32);
        if (fabsf(s[j]) > fabsf(smax))
            smax = s[j];
    }
    const float d = f16_round(smax / -128.0f); /* the largest scale maps to -128 */
    int8_t sc[16];
    uint8_t q[256];
    for (int j = 0; j < 16; j++) {
        sc[j] = (int8_t)(d != 0.0f ? clampi((int)nearbyintf(s[j] / d), -128, 127) : 0);
        const float ds = d * (float)sc[j];
        for (int l = 0; l < 16; l++)
            q[16 * j + l] = (uint8_t)(ds != 0.0f ? clampi((int)nearbyintf(x[16 * j + l] / ds), -32, 31) + 32 : 32);
    }
    uint8_t *ql = out, *qh = out + 128;
    memset(ql, 0, 128);
    memset(qh, 0, 64);
    for (int h = 0; h < 2; h++)
        for (int i = 0; i < 4; i++)
            for (int l = 0; l < 32; l++) { /* the inverse of tdiff__kq_unpack6 */
                const uint8_t v = q[128 * h + 32 * i + l];
                ql[64 * h + 32 * (i & 1) + l] |= (uint8_t)((v & 15) << ((i >> 1) * 4));
                qh[32 * h + l] |= (uint8_t)((v >> 4) << (2 * i));
            }
    memcpy(out + 192, sc, 16);
    const uint16_t dh = tdiff__f32_to_f16(d);
    memcpy(out + 208, &dh, 2);
}

tdiff_status tdiff__quantize_row(uint32_t type, const float *x, size_t n, void *out)
{
    uint8_t *o = out;
    size_t block, bytes;
    if (!tdiff__ggml_type_info(type, &block, &bytes) || n % block)
        return TDIFF_E_INVALID_ARGUMENT;
    if (block > 1) /* the scale searches need finite values; F16/BF16 carry inf and NaN */
        for (size_t i = 0; i < n; i++)
            if (!isfinite(x[i]))
                return TDIFF_E_BAD_FORMAT;
    for (size_t i = 0; i < n; i += block, o += bytes) {
        switch (type) {
        case TDIFF__GGML_F32: memcpy(o, x + i, 4); break;
        case TDIFF__GGML_F16: {
            const uint16_t h = tdiff__f32_to_f16(x[i]);
            memcpy(o, &h, 2);
            break;
        }
        case TDIFF__GGML_BF16: {
            const uint16_t h = tdiff__f32_to_bf16(x[i]);
            memcpy(o, &h, 2);
            break;
        }
        case TDIFF__GGML_Q8_0: q8_0_block(x + i, o); break;
        case TDIFF__GGML_Q4_0: q4_0_block(x + i, o); break;
        case TDIFF__GGML_Q4_K: q45_k_block(x + i, 15, o); break;
        case TDIFF__GGML_Q5_K: q45_k_block(x + i, 31, o); break;
        case TDIFF__GGML_Q6_K: q6_k_block(x + i, o); break;
        default: return TDIFF_E_UNSUPPORTED;
        }
    }
    return TDIFF_OK;
}
