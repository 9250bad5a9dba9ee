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

#endif
