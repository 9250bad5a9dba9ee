/*
 * test_fma_double.c -- lib/simd/fma_double.h, the fmaf of the WebAssembly
 * build (no fused multiply-add there), run natively: it must give the bits of
 * the C library's correctly rounded fmaf for
 *  - the halfway case it exists for (double rounding would tie to even),
 *  - results below the normal range, zeros of both signs, infinities and NaN,
 *  - millions of random triples over the whole exponent range and the narrow
 *    one of the network's products.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/fmaf.h"
#include "simd/fma_double.h"

static uint32_t bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static float from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* NaN results compare as "both NaN" (the payload is not specified). */
static int same(float a, float b)
{
    return (isnan(a) && isnan(b)) || bits(a) == bits(b);
}

static void check(float x, float y, float z)
{
    /* tdiff__fmaf: the library's fmaf, except on mingw-w64, whose fmaf is wrong (core/fmaf.h) */
    const float want = tdiff__fmaf(x, y, z), got = tdiff__fmaf_double(x, y, z);
    if (!same(want, got))
        fail_msg("fmaf(%a, %a, %a): library %a, fma_double %a", (double)x, (double)y, (double)z, (double)want,
                 (double)got);
}

static void test_halfway_case_rounds_like_one_rounding(void **state)
{
    (void)state;
    /* x*y = 2^-24 (1 - 2^-46), z = 1 + 2^-23: the exact sum lies just below the
     * midpoint 1 + 2^-23 + 2^-24, so fmaf gives 1 + 2^-23; rounded to double it
     * IS the midpoint, which (float) would round to the even 1 + 2^-22. */
    const float x = 1.0f + 0x1p-23f, y = 0x1p-24f * (1.0f - 0x1p-23f), z = 1.0f + 0x1p-23f;
    assert_true(bits((float)((double)x * (double)y + (double)z)) != bits(tdiff__fmaf(x, y, z))); /* the trap is real */
    check(x, y, z);
    check(-x, y, -z);
    check(x, -y, z);
}

static void test_tiny_zero_and_special_values(void **state)
{
    (void)state;
    const float v[] = {0.0f, -0.0f, 1.0f, -1.0f, 0x1p-149f, -0x1p-149f, 0x1p-126f, 0x1.fffffep-127f, 0x1p-75f,
                       0x1p-63f, 3.0f, 0x1.fffffep+127f, -0x1.fffffep+127f, INFINITY, -INFINITY, NAN, 1e-20f, 1e20f};
    const size_t n = sizeof v / sizeof v[0];
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            for (size_t k = 0; k < n; k++)
                check(v[i], v[j], v[k]);
}

/* xorshift64*: a fixed stream, so a failure reproduces. */
static uint64_t next(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1DULL;
}

static void test_random_triples_match_the_library(void **state)
{
    (void)state;
    uint64_t s = 0x9E3779B97F4A7C15ULL;
    for (long i = 0; i < 4000000; i++) {
        const uint64_t r = next(&s), q = next(&s);
        /* any bit pattern (every exponent, subnormals, NaN) for half the draws;
         * the other half: the magnitudes of activations, weights and sums */
        if (i & 1) {
            check(from_bits((uint32_t)r), from_bits((uint32_t)(r >> 32)), from_bits((uint32_t)q));
        } else {
            const float x = ldexpf((float)(int32_t)(uint32_t)r * 0x1p-31f, (int)(q % 16) - 8);
            const float y = ldexpf((float)(int32_t)(uint32_t)(r >> 32) * 0x1p-31f, (int)((q >> 8) % 16) - 12);
            const float z = ldexpf((float)(int32_t)(uint32_t)(q >> 16) * 0x1p-31f, (int)((q >> 56) % 24) - 14);
            check(x, y, z);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_halfway_case_rounds_like_one_rounding),
        cmocka_unit_test(test_tiny_zero_and_special_values),
        cmocka_unit_test(test_random_triples_match_the_library),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
