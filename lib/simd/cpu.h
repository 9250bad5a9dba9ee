/*
 * cpu.h -- what the running CPU (and OS) can execute, detected once.
 * Internal to lib/simd: dispatch.c turns these bits into a kernel table.
 */
#ifndef TDIFF_SIMD_CPU_H
#define TDIFF_SIMD_CPU_H

enum {
    TDIFF__CPU_AVX2 = 1u << 0,    /* AVX2 + FMA + F16C, and the OS saves YMM state */
    TDIFF__CPU_AVX512 = 1u << 1,  /* AVX-512F with ZMM/opmask state saved (reported, not built) */
    TDIFF__CPU_NEON = 1u << 2     /* aarch64 Advanced SIMD (HWCAP_ASIMD) */
};

/* TDIFF__CPU_* bits; detected on the first call, thread-safe, constant afterwards. */
unsigned tdiff__cpu_features(void);

#endif
