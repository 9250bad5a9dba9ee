/*
 * vec_neon.h -- the vector vocabulary of vector_kernels.h for aarch64 Advanced
 * SIMD: 4 floats per vector. Only included by neon.c (aarch64 builds).
 */
#ifndef TDIFF_SIMD_VEC_NEON_H
#define TDIFF_SIMD_VEC_NEON_H

#include <arm_neon.h>
#include <stdint.h>
#include <string.h>

#define VW 4
typedef float32x4_t vf;  /* 4 x float                  */
typedef uint32x4_t vm;   /* lane mask: all ones / zero */
typedef int32x4_t vi;    /* 4 x int32                  */

static inline vf vf_load(const float *p) { return vld1q_f32(p); }
static inline void vf_store(float *p, vf v) { vst1q_f32(p, v); }
static inline vf vf_set1(float a) { return vdupq_n_f32(a); }
static inline vf vf_add(vf a, vf b) { return vaddq_f32(a, b); }
static inline vf vf_sub(vf a, vf b) { return vsubq_f32(a, b); }
static inline vf vf_mul(vf a, vf b) { return vmulq_f32(a, b); }
static inline vf vf_div(vf a, vf b) { return vdivq_f32(a, b); }
static inline vf vf_fma(vf a, vf b, vf c) { return vfmaq_f32(c, a, b); } /* a*b + c, one rounding */
static inline vf vf_min(vf a, vf b) { return vminq_f32(a, b); }
static inline vf vf_max(vf a, vf b) { return vmaxq_f32(a, b); }
static inline vf vf_abs(vf a) { return vabsq_f32(a); }
/* max(acc, x) where a NaN x leaves acc unchanged (IEEE maxNum). */
static inline vf vf_max_skip_nan(vf acc, vf x) { return vmaxnmq_f32(acc, x); }

static inline float vf_hsum(vf v) { return vaddvq_f32(v); }
static inline float vf_hmax(vf v) { return vmaxvq_f32(v); }

static inline vm vf_isnan(vf a) { return vmvnq_u32(vceqq_f32(a, a)); }
static inline vm vf_gt(vf a, vf b) { return vcgtq_f32(a, b); }
static inline vm vf_lt(vf a, vf b) { return vcltq_f32(a, b); }
static inline vm vm_none(void) { return vdupq_n_u32(0); }
static inline vm vm_or(vm a, vm b) { return vorrq_u32(a, b); }
static inline int vm_any(vm m) { return vmaxvq_u32(m) != 0; }
static inline vf vf_select(vm m, vf a, vf b) { return vbslq_f32(m, a, b); } /* m ? a : b */

static inline vi vf_round_i(vf a) { return vcvtnq_s32_f32(a); } /* nearest, ties to even */
static inline vf vi_to_vf(vi a) { return vcvtq_f32_s32(a); }
static inline vi vi_sub(vi a, vi b) { return vsubq_s32(a, b); }
static inline vi vi_half(vi a) { return vshrq_n_s32(a, 1); } /* floor(a / 2) */
/* 2^n for n in the normal exponent range [-126, 127]. */
static inline vf vf_pow2i(vi n) { return vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(n, vdupq_n_s32(127)), 23)); }

/* Widening loads of VW narrow elements (unaligned). */
static inline vf vf_from_f16(const uint16_t *p) { return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(p))); }
static inline vf vf_from_bf16(const uint16_t *p) { return vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(p), 16)); }
static inline vf vf_from_i8(const int8_t *p)
{
    int8_t b[8] = {0};
    memcpy(b, p, VW);
    return vcvtq_f32_s32(vmovl_s16(vget_low_s16(vmovl_s8(vld1_s8(b)))));
}
static inline vf vf_from_u8(const uint8_t *p)
{
    uint8_t b[8] = {0};
    memcpy(b, p, VW);
    return vcvtq_f32_u32(vmovl_u16(vget_low_u16(vmovl_u8(vld1_u8(b)))));
}

/* ---- matrix products (vector_gemm.h) ---- */

#define GEMM_ACC 24   /* float accumulators of a tile (of 32 registers) */
#define GEMM_QACC 16
static inline vf vf_bcast(const float *p) { return vld1q_dup_f32(p); }
static inline vi vi_load(const int32_t *p) { return vld1q_s32(p); }
/* VW lanes of 4 bytes each. */
typedef int8x16_t vq;
static inline vq vq_load(const void *p) { return vld1q_s8((const int8_t *)p); }
static inline vq vq_bcast(const void *p)
{
    int32_t v;
    memcpy(&v, p, sizeof v);
    return vreinterpretq_s8_s32(vdupq_n_s32(v));
}
/* Signed bytes both sides: 16-bit products, then pairwise sums to 32 bits. */
#define VQ_BIAS 0
static inline vi vq_dot(vi acc, vq w, vq x)
{
    const int16x8_t lo = vmull_s8(vget_low_s8(w), vget_low_s8(x));
    const int16x8_t hi = vmull_s8(vget_high_s8(w), vget_high_s8(x));
    return vaddq_s32(acc, vpaddq_s32(vpaddlq_s16(lo), vpaddlq_s16(hi)));
}

/* Transposes the 4 x 4 matrix whose rows are r[0..4). */
static inline void vf_transpose(vf r[4])
{
    const float32x4x2_t a = vtrnq_f32(r[0], r[1]), b = vtrnq_f32(r[2], r[3]);
    r[0] = vcombine_f32(vget_low_f32(a.val[0]), vget_low_f32(b.val[0]));
    r[1] = vcombine_f32(vget_low_f32(a.val[1]), vget_low_f32(b.val[1]));
    r[2] = vcombine_f32(vget_high_f32(a.val[0]), vget_high_f32(b.val[0]));
    r[3] = vcombine_f32(vget_high_f32(a.val[1]), vget_high_f32(b.val[1]));
}

/* VW int32 values in [-128, 127] stored as bytes. */
static inline void vi_store_i8(int8_t *p, vi v)
{
    const int8x8_t b = vmovn_s16(vcombine_s16(vmovn_s32(v), vmovn_s32(v)));
    const int32_t w = vget_lane_s32(vreinterpret_s32_s8(b), 0);
    memcpy(p, &w, sizeof w);
}

/* The byte vocabulary of the weight decoders: 16 bytes per vector. */
typedef uint8x16_t vb;
static inline vb vb_load(const void *p) { return vld1q_u8((const uint8_t *)p); }
static inline void vb_store(void *p, vb v) { vst1q_u8((uint8_t *)p, v); }
static inline vb vb_set1(uint8_t a) { return vdupq_n_u8(a); }
static inline vb vb_and(vb a, vb b) { return vandq_u8(a, b); }
static inline vb vb_or(vb a, vb b) { return vorrq_u8(a, b); }
static inline vb vb_sub(vb a, vb b) { return vsubq_u8(a, b); }
static inline vb vb_srl_and(vb v, int s, uint8_t m) { return vandq_u8(vshlq_u8(v, vdupq_n_s8((int8_t)-s)), vdupq_n_u8(m)); }
static inline vb vb_shl4(vb v) { return vshlq_n_u8(v, 4); }
static inline vb vb_final(vb w) { return w; }

#endif
