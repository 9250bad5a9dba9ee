/*
 * neon.c -- the aarch64 Advanced SIMD kernel table: vector_kernels.h instantiated
 * with the vec_neon.h vocabulary. Built only for aarch64 (lib/simd/meson.build).
 */
#include "vec_neon.h"

#define TDIFF__VEC_TABLE tdiff__kernels_neon
#define TDIFF__VEC_ISA TDIFF_ISA_NEON
#define TDIFF__VEC_NAME "neon"
#include "vector_kernels.h"
