/*
 * tables.h -- the kernel tables each variant's translation unit defines.
 * A table exists in the build exactly when meson builds its per-ISA library;
 * meson says which in the generated simd/simd_config.h (TDIFF__BUILD_*).
 */
#ifndef TDIFF_SIMD_TABLES_H
#define TDIFF_SIMD_TABLES_H

#include "simd.h"
#include "simd/simd_config.h"

extern const tdiff__kernels tdiff__kernels_scalar;  /* scalar.c: the reference */
#if defined(TDIFF__BUILD_AVX2)
extern const tdiff__kernels tdiff__kernels_avx2;    /* avx2.c, built with -mavx2 -mfma -mf16c */
#endif
#if defined(TDIFF__BUILD_AVX512)
extern const tdiff__kernels tdiff__kernels_avx512;  /* avx512.c, built with -mavx512{f,bw,dq,vl,vnni} */
#endif
#if defined(TDIFF__BUILD_NEON)
extern const tdiff__kernels tdiff__kernels_neon;    /* neon.c */
#endif

#endif
