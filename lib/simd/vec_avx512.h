/*
 * vec_avx512.h -- the vector vocabulary of vector_kernels.h for AVX-512
 * (F, BW, DQ, VL, VNNI): 16 floats per vector, opmask registers as lane masks.
 * Only included by avx512.c, which is compiled with the matching -m flags and
 * called only when cpu.c has seen every one of those features.
 */
#ifndef TDIFF_SIMD_VEC_AVX512_H
#define TDIFF_SIMD_VEC_AVX512_H

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#define VW 16
typedef __m512 vf;     /* 16 x float      */
typedef __mmask16 vm;  /* one bit a lane  */
typedef __m512i vi;    /* 16 x int32      */

static inline vf vf_load(const float *p) { return _mm512_loadu_ps(p); }
static inline void vf_store(float *p, vf v) { _mm512_storeu_ps(p, v); }
static inline vf vf_set1(float a) { return _mm512_set1_ps(a); }
static inline vf vf_add(vf a, vf b) { return _mm512_add_ps(a, b); }
static inline vf vf_sub(vf a, vf b) { return _mm512_sub_ps(a, b); }
static inline vf vf_mul(vf a, vf b) { return _mm512_mul_ps(a, b); }
static inline vf vf_div(vf a, vf b) { return _mm512_div_ps(a, b); }
static inline vf vf_fma(vf a, vf b, vf c) { return _mm512_fmadd_ps(a, b, c); } /* a*b + c, one rounding */
static inline vf vf_min(vf a, vf b) { return _mm512_min_ps(a, b); }
static inline vf vf_max(vf a, vf b) { return _mm512_max_ps(a, b); }
static inline vf vf_abs(vf a) { return _mm512_abs_ps(a); }
/* max(acc, x) where a NaN x leaves acc unchanged (vmaxps returns its 2nd operand on NaN). */
static inline vf vf_max_skip_nan(vf acc, vf x) { return _mm512_max_ps(x, acc); }

/* Pairwise halving, like the AVX2 file: 8 + 4 + 2 + 1 lanes. */
static inline float vf_hsum(vf v)
{
    const __m256 h = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
static inline float vf_hmax(vf v)
{
    const __m256 h = _mm256_max_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline vm vf_isnan(vf a) { return _mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q); }
static inline vm vf_gt(vf a, vf b) { return _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ); }
static inline vm vf_lt(vf a, vf b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
static inline vm vm_none(void) { return 0; }
static inline vm vm_or(vm a, vm b) { return (vm)(a | b); }
static inline int vm_any(vm m) { return m != 0; }
static inline vf vf_select(vm m, vf a, vf b) { return _mm512_mask_blend_ps(m, b, a); } /* m ? a : b */

/* Round to nearest (ties to even) independently of MXCSR, then convert. */
static inline vi vf_round_i(vf a) { return _mm512_cvt_roundps_epi32(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
static inline vf vi_to_vf(vi a) { return _mm512_cvtepi32_ps(a); }
static inline vi vi_sub(vi a, vi b) { return _mm512_sub_epi32(a, b); }
static inline vi vi_half(vi a) { return _mm512_srai_epi32(a, 1); } /* floor(a / 2) */
/* 2^n for n in the normal exponent range [-126, 127]. */
static inline vf vf_pow2i(vi n)
{
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(n, _mm512_set1_epi32(127)), 23));
}

/* Widening loads of VW narrow elements (unaligned). */
static inline vf vf_from_f16(const uint16_t *p) { return _mm512_cvtph_ps(_mm256_loadu_si256((const void *)p)); }
static inline vf vf_from_bf16(const uint16_t *p)
{
    const __m512i w = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const void *)p));
    return _mm512_castsi512_ps(_mm512_slli_epi32(w, 16));
}
static inline vf vf_from_i8(const int8_t *p) { return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const void *)p))); }
static inline vf vf_from_u8(const uint8_t *p) { return _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const void *)p))); }

/* ---- matrix products (vector_gemm.h) ---- */

#define GEMM_ACC 24   /* float accumulators of a tile (of 32 registers; the rest hold operands) */
#define GEMM_QACC 16  /* quantised tiles also keep a running integer sum per row group */
static inline vf vf_bcast(const float *p) { return _mm512_set1_ps(*p); }
static inline vi vi_load(const int32_t *p) { return _mm512_loadu_si512(p); }
/* VW lanes of 4 bytes each. */
typedef __m512i vq;
static inline vq vq_load(const void *p) { return _mm512_loadu_si512(p); }
static inline vq vq_bcast(const void *p)
{
    int32_t v;
    memcpy(&v, p, sizeof v);
    return _mm512_set1_epi32(v);
}
/* Weights are stored as w + 128 (an unsigned byte) so that VNNI's unsigned x
 * signed dot product applies; the kernels start each sum at -128 * sum(x). */
#define VQ_BIAS 128
/* acc + sum over each lane's 4 bytes of (stored weight) * x, exactly. */
static inline vi vq_dot(vi acc, vq w, vq x) { return _mm512_dpbusd_epi32(acc, w, x); }

/* Transposes the 16 x 16 matrix whose rows are r[0..16). */
static inline void vf_transpose(vf r[16])
{
    vf t[16], u[16];
    _Pragma("GCC unroll 16")
    for (int i = 0; i < 8; i++) { /* per 128-bit lane: [a0 b0 a1 b1], [a2 b2 a3 b3] */
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    _Pragma("GCC unroll 16")
    for (int q = 0; q < 4; q++) { /* u[4q + c], lane k: column 4k + c of rows 4q..4q+3 */
        u[4 * q] = _mm512_shuffle_ps(t[4 * q], t[4 * q + 2], 0x44);
        u[4 * q + 1] = _mm512_shuffle_ps(t[4 * q], t[4 * q + 2], 0xEE);
        u[4 * q + 2] = _mm512_shuffle_ps(t[4 * q + 1], t[4 * q + 3], 0x44);
        u[4 * q + 3] = _mm512_shuffle_ps(t[4 * q + 1], t[4 * q + 3], 0xEE);
    }
    _Pragma("GCC unroll 16")
    for (int c = 0; c < 4; c++) { /* gather lane k of the four row groups */
        const vf p = _mm512_shuffle_f32x4(u[c], u[4 + c], 0x88), q = _mm512_shuffle_f32x4(u[c], u[4 + c], 0xDD);
        const vf a = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0x88), b = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0xDD);
        r[c] = _mm512_shuffle_f32x4(p, a, 0x88);
        r[8 + c] = _mm512_shuffle_f32x4(p, a, 0xDD);
        r[4 + c] = _mm512_shuffle_f32x4(q, b, 0x88);
        r[12 + c] = _mm512_shuffle_f32x4(q, b, 0xDD);
    }
}

/* VW int32 values in [-128, 127] stored as bytes. */
static inline void vi_store_i8(int8_t *p, vi v) { _mm_storeu_si128((__m128i *)p, _mm512_cvtepi32_epi8(v)); }

#include "vec_x86_bytes.h"

#endif
