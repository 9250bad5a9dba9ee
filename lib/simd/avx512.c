/*
 * avx512.c -- the AVX-512 kernel table: vector_kernels.h instantiated with the
 * vec_avx512.h vocabulary. Built alone with -mavx512f -mavx512bw -mavx512dq
 * -mavx512vl -mavx512vnni (plus the AVX2 set) by lib/simd/meson.build;
 * dispatch.c hands it out only when cpu.c has seen all of them and ZMM state.
 */
#include "vec_avx512.h"

#define TDIFF__VEC_TABLE tdiff__kernels_avx512
#define TDIFF__VEC_ISA TDIFF_ISA_AVX512
#define TDIFF__VEC_NAME "avx512"
#include "vector_kernels.h"
