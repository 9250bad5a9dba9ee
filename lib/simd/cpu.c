/*
 * cpu.c -- run-time CPU feature detection: cpuid + xgetbv on x86-64, the
 * auxiliary vector's HWCAP on aarch64. Runs once (pthread_once); other
 * architectures report no SIMD features and get the scalar kernels.
 */
#include <pthread.h>
#include <stdint.h>

#include "cpu.h"

#if defined(__x86_64__)
#include <cpuid.h>
#elif defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#ifndef HWCAP_ASIMD
#define HWCAP_ASIMD (1ul << 1) /* value from the kernel's arch/arm64 uapi hwcap.h */
#endif
#endif

static unsigned g_features;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

#if defined(__x86_64__)
/* XCR0 via the raw instruction: the _xgetbv intrinsic would need -mxsave on
 * this (flag-free) file. Only called once OSXSAVE says the instruction exists. */
static uint64_t read_xcr0(void)
{
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

static unsigned detect(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return 0;
    const int osxsave = (c >> 27) & 1, avx = (c >> 28) & 1, fma = (c >> 12) & 1, f16c = (c >> 29) & 1;
    if (!osxsave || !avx)
        return 0;
    const uint64_t xcr0 = read_xcr0();
    const int ymm_saved = (xcr0 & 0x6) == 0x6;      /* XMM (bit 1) and YMM (bit 2) state */
    const int zmm_saved = (xcr0 & 0xe6) == 0xe6;    /* plus opmask, ZMM_Hi256, Hi16_ZMM (bits 5-7) */
    if (__get_cpuid_max(0, 0) < 7)
        return 0;
    __cpuid_count(7, 0, a, b, c, d);
    const int avx2 = (b >> 5) & 1, avx512f = (b >> 16) & 1;
    unsigned f = 0;
    if (ymm_saved && avx2 && fma && f16c)
        f |= TDIFF__CPU_AVX2;
    if ((f & TDIFF__CPU_AVX2) && zmm_saved && avx512f)
        f |= TDIFF__CPU_AVX512;
    return f;
}
#elif defined(__aarch64__) && defined(__linux__)
static unsigned detect(void)
{
    return (getauxval(AT_HWCAP) & HWCAP_ASIMD) ? TDIFF__CPU_NEON : 0;
}
#else
static unsigned detect(void)
{
    return 0;
}
#endif

static void detect_once(void)
{
    g_features = detect();
}

unsigned tdiff__cpu_features(void)
{
    pthread_once(&g_once, detect_once);
    return g_features;
}
