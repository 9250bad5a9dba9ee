/*
 * avx2.c -- the AVX2 + FMA kernel table: vector_kernels.h instantiated with the
 * vec_avx2.h vocabulary. Built alone with -mavx2 -mfma -mf16c (lib/simd/meson.build);
 * dispatch.c hands it out only when cpu.c has seen AVX2, FMA, F16C and OS YMM state.
 */
#include "vec_avx2.h"

#define TDIFF__VEC_TABLE tdiff__kernels_avx2
#define TDIFF__VEC_ISA TDIFF_ISA_AVX2
#define TDIFF__VEC_NAME "avx2"
#include "vector_kernels.h"
