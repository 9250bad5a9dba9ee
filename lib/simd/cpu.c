/*
 * cpu.c -- run-time CPU feature detection: cpuid + xgetbv on x86-64, the
 * auxiliary vector's HWCAP on aarch64. Runs once (pthread_once); other
 * architectures report no SIMD features and get the scalar kernels.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

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
    if (!ymm_saved || __get_cpuid_max(0, 0) < 7)
        return 0;
    unsigned f = (fma ? TDIFF__CPU_FMA : 0) | (f16c ? TDIFF__CPU_F16C : 0);
    __cpuid_count(7, 0, a, b, c, d);
    const int avx2 = (b >> 5) & 1;
    unsigned a1 = 0, b1, c1, d1;
    if (a >= 1) /* leaf 7 has sub-leaf 1 */
        __cpuid_count(7, 1, a1, b1, c1, d1);
    f |= (a1 >> 4) & 1 ? TDIFF__CPU_AVXVNNI : 0;
    if (zmm_saved)
        f |= ((b >> 16) & 1 ? TDIFF__CPU_AVX512F : 0) | ((b >> 17) & 1 ? TDIFF__CPU_AVX512DQ : 0) |
             ((b >> 30) & 1 ? TDIFF__CPU_AVX512BW : 0) | ((b >> 31) & 1 ? TDIFF__CPU_AVX512VL : 0) |
             ((c >> 11) & 1 ? TDIFF__CPU_AVX512VNNI : 0) | ((a1 >> 5) & 1 ? TDIFF__CPU_AVX512BF16 : 0);
    if (avx2 && fma && f16c)
        f |= TDIFF__CPU_AVX2;
    const unsigned v4 = TDIFF__CPU_AVX512F | TDIFF__CPU_AVX512BW | TDIFF__CPU_AVX512DQ | TDIFF__CPU_AVX512VL |
                        TDIFF__CPU_AVX512VNNI;
    if ((f & TDIFF__CPU_AVX2) && (f & v4) == v4)
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

void tdiff__cpu_describe(unsigned bits, char *buf, size_t cap)
{
    static const struct {
        unsigned bit;
        const char *name;
    } names[] = {
        {TDIFF__CPU_AVX2, "avx2"}, {TDIFF__CPU_FMA, "fma"}, {TDIFF__CPU_F16C, "f16c"},
        {TDIFF__CPU_AVXVNNI, "avxvnni"}, {TDIFF__CPU_AVX512F, "avx512f"}, {TDIFF__CPU_AVX512BW, "avx512bw"},
        {TDIFF__CPU_AVX512DQ, "avx512dq"}, {TDIFF__CPU_AVX512VL, "avx512vl"},
        {TDIFF__CPU_AVX512VNNI, "avx512vnni"}, {TDIFF__CPU_AVX512BF16, "avx512bf16"}, {TDIFF__CPU_NEON, "neon"},
    };
    size_t used = 0;
    if (!buf || cap == 0)
        return;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (!(bits & names[i].bit))
            continue;
        int w = snprintf(buf + used, cap - used, "%s%s", used ? " " : "", names[i].name);
        if (w < 0 || (size_t)w >= cap - used) {
            buf[used] = '\0'; /* whole names only */
            return;
        }
        used += (size_t)w;
    }
}
