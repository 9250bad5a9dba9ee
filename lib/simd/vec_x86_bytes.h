/*
 * vec_x86_bytes.h -- the byte vocabulary vector_gemm.h decodes quantised
 * weights with, for both x86 variants: 16 bytes per vector (SSE2, which every
 * AVX2 CPU has). Included by vec_avx2.h and vec_avx512.h after they define
 * VQ_BIAS.
 */
#ifndef TDIFF_SIMD_VEC_X86_BYTES_H
#define TDIFF_SIMD_VEC_X86_BYTES_H

#include <immintrin.h>
#include <stdint.h>

typedef __m128i vb; /* 16 x uint8 */

static inline vb vb_load(const void *p) { return _mm_loadu_si128((const __m128i *)p); }
static inline void vb_store(void *p, vb v) { _mm_storeu_si128((__m128i *)p, v); }
static inline vb vb_set1(uint8_t a) { return _mm_set1_epi8((char)a); }
static inline vb vb_and(vb a, vb b) { return _mm_and_si128(a, b); }
static inline vb vb_or(vb a, vb b) { return _mm_or_si128(a, b); }
static inline vb vb_sub(vb a, vb b) { return _mm_sub_epi8(a, b); }
/* (v >> s) & m in every byte; m must fit in the low 8 - s bits. */
static inline vb vb_srl_and(vb v, int s, uint8_t m) { return _mm_and_si128(_mm_srli_epi16(v, s), vb_set1(m)); }
/* v << 4 in every byte, for bytes < 16. */
static inline vb vb_shl4(vb v) { return _mm_slli_epi16(v, 4); }
/* The stored form of a signed weight byte: w + VQ_BIAS (mod 256). */
static inline vb vb_final(vb w) { return VQ_BIAS ? _mm_xor_si128(w, vb_set1(0x80)) : w; }

#endif
