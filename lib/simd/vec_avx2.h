/*
 * vec_avx2.h -- the vector vocabulary of vector_kernels.h for AVX2 + FMA (+F16C):
 * 8 floats per vector. Only included by avx2.c, which is compiled with
 * -mavx2 -mfma -mf16c and called only when cpu.c has seen those features.
 */
#ifndef TDIFF_SIMD_VEC_AVX2_H
#define TDIFF_SIMD_VEC_AVX2_H

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#define VW 8
typedef __m256 vf;   /* 8 x float                  */
typedef __m256 vm;   /* lane mask: all ones / zero */
typedef __m256i vi;  /* 8 x int32                  */

static inline vf vf_load(const float *p) { return _mm256_loadu_ps(p); }
static inline void vf_store(float *p, vf v) { _mm256_storeu_ps(p, v); }
static inline vf vf_set1(float a) { return _mm256_set1_ps(a); }
static inline vf vf_add(vf a, vf b) { return _mm256_add_ps(a, b); }
static inline vf vf_sub(vf a, vf b) { return _mm256_sub_ps(a, b); }
static inline vf vf_mul(vf a, vf b) { return _mm256_mul_ps(a, b); }
static inline vf vf_div(vf a, vf b) { return _mm256_div_ps(a, b); }
static inline vf vf_fma(vf a, vf b, vf c) { return _mm256_fmadd_ps(a, b, c); } /* a*b + c, one rounding */
static inline vf vf_min(vf a, vf b) { return _mm256_min_ps(a, b); }
static inline vf vf_max(vf a, vf b) { return _mm256_max_ps(a, b); }
static inline vf vf_abs(vf a) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), a); }
/* max(acc, x) where a NaN x leaves acc unchanged (maxps returns its 2nd operand on NaN). */
static inline vf vf_max_skip_nan(vf acc, vf x) { return _mm256_max_ps(x, acc); }

static inline float vf_hsum(vf v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
static inline float vf_hmax(vf v)
{
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline vm vf_isnan(vf a) { return _mm256_cmp_ps(a, a, _CMP_UNORD_Q); }
static inline vm vf_gt(vf a, vf b) { return _mm256_cmp_ps(a, b, _CMP_GT_OQ); }
static inline vm vf_lt(vf a, vf b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
static inline vm vm_none(void) { return _mm256_setzero_ps(); }
static inline vm vm_or(vm a, vm b) { return _mm256_or_ps(a, b); }
static inline int vm_any(vm m) { return _mm256_movemask_ps(m) != 0; }
static inline vf vf_select(vm m, vf a, vf b) { return _mm256_blendv_ps(b, a, m); } /* m ? a : b */

/* Round to nearest (ties to even) independently of MXCSR, then convert. */
static inline vi vf_round_i(vf a)
{
    return _mm256_cvttps_epi32(_mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}
static inline vf vi_to_vf(vi a) { return _mm256_cvtepi32_ps(a); }
static inline vi vi_sub(vi a, vi b) { return _mm256_sub_epi32(a, b); }
static inline vi vi_half(vi a) { return _mm256_srai_epi32(a, 1); } /* floor(a / 2) */
/* 2^n for n in the normal exponent range [-126, 127]. */
static inline vf vf_pow2i(vi n)
{
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n, _mm256_set1_epi32(127)), 23));
}

/* Widening loads of VW narrow elements (unaligned). */
static inline vf vf_from_f16(const uint16_t *p) { return _mm256_cvtph_ps(_mm_loadu_si128((const void *)p)); }
static inline vf vf_from_bf16(const uint16_t *p)
{
    const __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128((const void *)p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
}
static inline vf vf_from_i8(const int8_t *p) { return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const void *)p))); }
static inline vf vf_from_u8(const uint8_t *p) { return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const void *)p))); }

/* ---- matrix products (vector_gemm.h) ---- */

#define GEMM_ACC 12   /* float accumulators of a tile (of 16 registers) */
#define GEMM_QACC 8   /* quantised tiles also keep a running integer sum per row group */
static inline vf vf_bcast(const float *p) { return _mm256_broadcast_ss(p); }
static inline vi vi_load(const int32_t *p) { return _mm256_loadu_si256((const void *)p); }
/* VW lanes of 4 bytes each. */
typedef __m256i vq;
static inline vq vq_load(const void *p) { return _mm256_loadu_si256((const void *)p); }
static inline vq vq_bcast(const void *p)
{
    int32_t v;
    memcpy(&v, p, sizeof v);
    return _mm256_set1_epi32(v);
}
/* Weights are stored as signed bytes (|w| <= 128, |x| <= 127): maddubs takes |w|
 * unsigned and x with w's sign, so no 16-bit pair sum can saturate (<= 32512). */
#define VQ_BIAS 0
static inline vi vq_dot(vi acc, vq w, vq x)
{
    const __m256i p = _mm256_maddubs_epi16(_mm256_abs_epi8(w), _mm256_sign_epi8(x, w));
    return _mm256_add_epi32(acc, _mm256_madd_epi16(p, _mm256_set1_epi16(1)));
}

/* Transposes the 8 x 8 matrix whose rows are r[0..8). */
static inline void vf_transpose(vf r[8])
{
    vf t[8], u[8];
    _Pragma("GCC unroll 16")
    for (int i = 0; i < 4; i++) {
        t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    _Pragma("GCC unroll 16")
    for (int q = 0; q < 2; q++) { /* u[4q + c], 128-bit lane k: column 4k + c of rows 4q..4q+3 */
        u[4 * q] = _mm256_shuffle_ps(t[4 * q], t[4 * q + 2], 0x44);
        u[4 * q + 1] = _mm256_shuffle_ps(t[4 * q], t[4 * q + 2], 0xEE);
        u[4 * q + 2] = _mm256_shuffle_ps(t[4 * q + 1], t[4 * q + 3], 0x44);
        u[4 * q + 3] = _mm256_shuffle_ps(t[4 * q + 1], t[4 * q + 3], 0xEE);
    }
    _Pragma("GCC unroll 16")
    for (int c = 0; c < 4; c++) {
        r[c] = _mm256_permute2f128_ps(u[c], u[4 + c], 0x20);
        r[4 + c] = _mm256_permute2f128_ps(u[c], u[4 + c], 0x31);
    }
}

/* VW int32 values in [-128, 127] stored as bytes. */
static inline void vi_store_i8(int8_t *p, vi v)
{
    const __m256i b = _mm256_packs_epi16(_mm256_packs_epi32(v, v), _mm256_setzero_si256());
    const int32_t lo = _mm_cvtsi128_si32(_mm256_castsi256_si128(b)), hi = _mm_cvtsi128_si32(_mm256_extracti128_si256(b, 1));
    memcpy(p, &lo, 4);
    memcpy(p + 4, &hi, 4);
}

#include "vec_x86_bytes.h"

#endif
