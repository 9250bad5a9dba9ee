/*
 * test_fmaf.c -- core/fmaf.h: the double-precision fmaf emulation (the one the
 * Windows build uses, since mingw-w64's fmaf is not correctly rounded) gives
 * exactly the correctly rounded a*b + c: on known answers (written by glibc's
 * fmaf, including double-rounding traps where (float)(a*b + c in double) is one
 * ulp off) everywhere, and against the C library's fmaf on random and
 * cancellation-heavy inputs where that one is right (not mingw-w64).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/fmaf.h"

static float f32(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static uint32_t bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* {a, b, c, fmaf(a, b, c)} from glibc (x86-64): a Dream timestep, an ordinary
 * product, exact cancellation, a sum below half an ulp, overflow, a subnormal
 * result, an exact zero, and two double-rounding traps (the double sum is a tie
 * that float rounding would break the wrong way). */
static const uint32_t known[][4] = {
        {0x3effbe77u, 0x3f800000u, 0x3a83126fu, 0x3f0020c5u},
        {0x3dcccccdu, 0x40533333u, 0x33d6bf95u, 0x3ea8f5c6u},
        {0x3f800001u, 0x3f7fffffu, 0xbf800000u, 0x337ffffeu},
        {0x40400000u, 0x33000000u, 0x3f800000u, 0x3f800001u},
        {0x71800000u, 0x71800000u, 0xbf800000u, 0x7f800000u},
        {0x1e3ce508u, 0x1e3ce508u, 0x00000001u, 0x000116c3u},
        {0xc0200000u, 0x3fe00000u, 0x408c0000u, 0x00000000u},
        {0x42000001u, 0x3f7ffffeu, 0x4e000001u, 0x4e000001u},
        {0xc2000001u, 0x3f7ffffeu, 0xce000001u, 0xce000001u},
};

static void test_emulation_matches_known_correctly_rounded_answers(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        const uint32_t got = bits(tdiff__fmaf_odd(f32(known[i][0]), f32(known[i][1]), f32(known[i][2])));
        if (got != known[i][3])
            fail_msg("case %zu: %08x, want %08x", i, (unsigned)got, (unsigned)known[i][3]);
        assert_int_equal(bits(tdiff__fmaf(f32(known[i][0]), f32(known[i][1]), f32(known[i][2]))), known[i][3]);
    }
    assert_true(isnan(tdiff__fmaf_odd(NAN, 1.0f, 1.0f)));
    assert_true(isinf(tdiff__fmaf_odd(INFINITY, 2.0f, -1.0f)));
}

#if !defined(__MINGW32__)
static uint32_t xorshift(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}
#endif

static void test_emulation_matches_the_c_library_on_random_inputs(void **state)
{
    (void)state;
#if defined(__MINGW32__)
    skip(); /* the C library's fmaf is the thing that is wrong here */
#else
    uint32_t s = 12345;
    for (int i = 0; i < 1000000; i++) {
        /* random signs and mantissas, exponents within +-20 of each other so that
         * cancellation and ties happen; c near -a*b every fourth case */
        float a = f32((xorshift(&s) & 0x807fffffu) | ((uint32_t)(117 + xorshift(&s) % 20) << 23));
        float b = f32((xorshift(&s) & 0x807fffffu) | ((uint32_t)(117 + xorshift(&s) % 20) << 23));
        float c = f32((xorshift(&s) & 0x807fffffu) | ((uint32_t)(107 + xorshift(&s) % 40) << 23));
        if (i % 4 == 0)
            c = -(a * b) * (1.0f + (float)(xorshift(&s) % 5) * 0x1p-23f);
        const uint32_t want = bits(fmaf(a, b, c)), got = bits(tdiff__fmaf_odd(a, b, c));
        if (got != want)
            fail_msg("fmaf(%a, %a, %a): %08x, want %08x", (double)a, (double)b, (double)c, (unsigned)got,
                     (unsigned)want);
    }
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_emulation_matches_known_correctly_rounded_answers),
        cmocka_unit_test(test_emulation_matches_the_c_library_on_random_inputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
