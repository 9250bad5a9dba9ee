/*
 * cpu.h -- what the running CPU (and OS) can execute, detected once.
 * Internal to lib/simd: dispatch.c turns these bits into a kernel table.
 */
#ifndef TDIFF_SIMD_CPU_H
#define TDIFF_SIMD_CPU_H

#include <stddef.h>

enum {
    /* The variants: everything a table's kernels may use. */
    TDIFF__CPU_AVX2 = 1u << 0,       /* AVX2 + FMA + F16C, and the OS saves YMM state */
    TDIFF__CPU_AVX512 = 1u << 1,     /* AVX2 set + AVX-512 F/BW/DQ/VL/VNNI, OS saves ZMM + opmask */
    TDIFF__CPU_NEON = 1u << 2,       /* aarch64 Advanced SIMD (HWCAP_ASIMD) */
    /* Single features, detected and reported (tdiff_isa_cpu_features); the
     * AVX-512 ones count only when the OS saves ZMM and opmask state. */
    TDIFF__CPU_FMA = 1u << 8,
    TDIFF__CPU_F16C = 1u << 9,
    TDIFF__CPU_AVX512F = 1u << 10,
    TDIFF__CPU_AVX512BW = 1u << 11,
    TDIFF__CPU_AVX512DQ = 1u << 12,
    TDIFF__CPU_AVX512VL = 1u << 13,
    TDIFF__CPU_AVX512VNNI = 1u << 14,
    TDIFF__CPU_AVX512BF16 = 1u << 15,
    TDIFF__CPU_AVXVNNI = 1u << 16     /* VEX-encoded VNNI (reported; no table uses it) */
};

/* TDIFF__CPU_* bits; detected on the first call, thread-safe, constant afterwards. */
unsigned tdiff__cpu_features(void);

/* The single features of `bits` as lower-case names separated by spaces
 * ("avx2 fma f16c avx512f ..."; "" when none), NUL-terminated in buf[cap]. */
void tdiff__cpu_describe(unsigned bits, char *buf, size_t cap);

#endif
