/*
 * test_dispatch.c -- choosing the kernel table: the CPU's best variant by
 * default, TDIFF_FORCE_ISA and tdiff_host.isa only ever lowering it, clear
 * TDIFF_E_UNSUPPORTED errors for unknown or unavailable variants, the public
 * tdiff_isa_* queries, the self-check, and detection that agrees with the
 * compiler's own CPU probe and is stable across threads.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/core.h"
#include "simd/cpu.h"
#include "simd/tables.h"
#include "support.h"

static const tdiff_isa all_variants[] = {TDIFF_ISA_SCALAR, TDIFF_ISA_AVX2, TDIFF_ISA_AVX512, TDIFF_ISA_NEON};
#define N_VARIANTS (sizeof all_variants / sizeof all_variants[0])

static int clear_force(void **state)
{
    (void)state;
    unsetenv("TDIFF_FORCE_ISA");
    return 0;
}

static void force(const char *value)
{
    assert_int_equal(setenv("TDIFF_FORCE_ISA", value, 1), 0);
}

/* Creates an env through the cmocka allocator host, as every handle does. */
static tdiff_status env_with(tdiff__env *env, int requested)
{
    test_alloc a = {0};
    tdiff_host host;
    test_host_init(&host, &a);
    host.isa = requested;
    const tdiff_status st = tdiff__env_init(env, &host);
    assert_int_equal(a.live, 0);
    return st;
}

static void expect_env_uses(tdiff_isa isa, int requested)
{
    tdiff__env env;
    assert_int_equal(env_with(&env, requested), TDIFF_OK);
    assert_int_equal(env.isa, isa);
    assert_ptr_equal(env.k, tdiff__kernels_for(isa));
    assert_int_equal(env.k->isa, isa);
    assert_string_equal(env.k->name, tdiff_isa_to_string(isa));
}

static void test_without_force_the_best_variant_is_active(void **state)
{
    (void)state;
    const tdiff_isa best = tdiff__isa_best();
    assert_true(tdiff_isa_supported(best));
    for (size_t i = 0; i < N_VARIANTS; i++) /* nothing supported ranks above it */
        if (tdiff_isa_supported(all_variants[i]))
            assert_true(all_variants[i] == best || all_variants[i] == TDIFF_ISA_SCALAR);
    tdiff_isa active = TDIFF_ISA_AUTO;
    assert_int_equal(tdiff_isa_active(&active), TDIFF_OK);
    assert_int_equal(active, best);
    assert_string_equal(tdiff_isa_name(), tdiff_isa_to_string(best));
    expect_env_uses(best, TDIFF_ISA_AUTO);
    force(""); /* empty means unset */
    assert_int_equal(tdiff_isa_active(&active), TDIFF_OK);
    assert_int_equal(active, best);
}

static void test_force_selects_each_supported_variant(void **state)
{
    (void)state;
    size_t tried = 0;
    for (size_t i = 0; i < N_VARIANTS; i++) {
        const tdiff_isa isa = all_variants[i];
        if (!tdiff_isa_supported(isa))
            continue;
        force(tdiff_isa_to_string(isa));
        tdiff_isa active = TDIFF_ISA_AUTO;
        assert_int_equal(tdiff_isa_active(&active), TDIFF_OK);
        assert_int_equal(active, isa);
        assert_string_equal(tdiff_isa_name(), tdiff_isa_to_string(isa));
        expect_env_uses(isa, TDIFF_ISA_AUTO); /* the table a handle captures is the forced one */
        tried++;
    }
    assert_true(tried >= 1); /* scalar at least */
}

static void expect_force_rejected(const char *value)
{
    force(value);
    tdiff_isa active = TDIFF_ISA_AUTO;
    assert_int_equal(tdiff_isa_active(&active), TDIFF_E_UNSUPPORTED);
    assert_string_equal(tdiff_isa_name(), "invalid");
    tdiff__env env;
    assert_int_equal(env_with(&env, TDIFF_ISA_AUTO), TDIFF_E_UNSUPPORTED);
    assert_non_null(strstr(env.last_error, "TDIFF_FORCE_ISA"));
    assert_int_equal(tdiff_isa_self_check(NULL, NULL), TDIFF_E_UNSUPPORTED);
}

static void test_unknown_force_values_are_unsupported_with_a_message(void **state)
{
    (void)state;
    expect_force_rejected("sse9");
    expect_force_rejected("AVX2 "); /* names are exact */
    expect_force_rejected("auto");
}

static void test_force_avx512_is_unsupported_in_this_build(void **state)
{
    (void)state;
    assert_false(tdiff_isa_supported(TDIFF_ISA_AVX512));
    expect_force_rejected("avx512");
}

static void test_force_of_another_architecture_is_unsupported(void **state)
{
    (void)state;
#if defined(__aarch64__)
    expect_force_rejected("avx2");
#else
    expect_force_rejected("neon");
#endif
}

static void test_host_request_selects_and_force_only_lowers(void **state)
{
    (void)state;
    const tdiff_isa best = tdiff__isa_best();
    expect_env_uses(TDIFF_ISA_SCALAR, TDIFF_ISA_SCALAR);
    expect_env_uses(best, best);
    force("scalar"); /* lowers a request for the best variant */
    expect_env_uses(TDIFF_ISA_SCALAR, best);
    force(tdiff_isa_to_string(best)); /* cannot raise a request for scalar */
    expect_env_uses(TDIFF_ISA_SCALAR, TDIFF_ISA_SCALAR);
    unsetenv("TDIFF_FORCE_ISA");
    tdiff__env env;
    assert_int_equal(env_with(&env, TDIFF_ISA_AVX512), TDIFF_E_UNSUPPORTED);
    assert_non_null(strstr(env.last_error, "avx512"));
    assert_int_equal(env_with(&env, 99), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(env_with(&env, -1), TDIFF_E_INVALID_ARGUMENT);
}

static void test_self_check_passes_for_every_supported_variant(void **state)
{
    (void)state;
    tdiff_isa checked = TDIFF_ISA_AUTO;
    assert_int_equal(tdiff_isa_self_check(NULL, &checked), TDIFF_OK);
    assert_int_equal(checked, tdiff__isa_best());
    for (size_t i = 0; i < N_VARIANTS; i++) {
        if (!tdiff_isa_supported(all_variants[i]))
            continue;
        test_alloc a = {0};
        tdiff_host host;
        test_host_init(&host, &a);
        host.isa = all_variants[i];
        assert_int_equal(tdiff_isa_self_check(&host, &checked), TDIFF_OK);
        assert_int_equal(checked, all_variants[i]);
        assert_int_equal(a.live, 0);
    }
}

static void test_names_and_support_queries(void **state)
{
    (void)state;
    assert_string_equal(tdiff_isa_to_string(TDIFF_ISA_AUTO), "auto");
    assert_string_equal(tdiff_isa_to_string(TDIFF_ISA_SCALAR), "scalar");
    assert_string_equal(tdiff_isa_to_string(TDIFF_ISA_AVX2), "avx2");
    assert_string_equal(tdiff_isa_to_string(TDIFF_ISA_AVX512), "avx512");
    assert_string_equal(tdiff_isa_to_string(TDIFF_ISA_NEON), "neon");
    assert_string_equal(tdiff_isa_to_string(-1), "unknown");
    assert_string_equal(tdiff_isa_to_string(5), "unknown");
    assert_int_equal(tdiff_isa_supported(TDIFF_ISA_SCALAR), 1);
    assert_int_equal(tdiff_isa_supported(TDIFF_ISA_AUTO), 0); /* not a variant */
    assert_int_equal(tdiff_isa_supported(99), 0);
    assert_int_equal(tdiff_isa_supported(-3), 0);
    assert_int_equal(tdiff_isa_active(NULL), TDIFF_E_INVALID_ARGUMENT);
    assert_null(tdiff__kernels_for(TDIFF_ISA_AUTO));
    assert_null(tdiff__kernels_for(TDIFF_ISA_AVX512));
}

static void test_detection_agrees_with_the_compiler_probe(void **state)
{
    (void)state;
#if defined(__x86_64__)
    __builtin_cpu_init();
#if defined(__clang__)
    const int f16c = 1; /* clang's builtin does not know "f16c"; every AVX2 CPU has it */
#else
    const int f16c = __builtin_cpu_supports("f16c");
#endif
    const int want = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && f16c;
    assert_int_equal(!!(tdiff__cpu_features() & TDIFF__CPU_AVX2), want);
    assert_int_equal(tdiff_isa_supported(TDIFF_ISA_AVX2), want);
    assert_int_equal(tdiff_isa_supported(TDIFF_ISA_NEON), 0);
#elif defined(__aarch64__)
    assert_true(tdiff__cpu_features() & TDIFF__CPU_NEON); /* Advanced SIMD is baseline on aarch64 Linux */
    assert_int_equal(tdiff_isa_supported(TDIFF_ISA_NEON), 1);
    assert_int_equal(tdiff_isa_supported(TDIFF_ISA_AVX2), 0);
#else
    assert_int_equal(tdiff__isa_best(), TDIFF_ISA_SCALAR);
#endif
}

/* TDIFF_FORCE_ISA as the test run was started with (CI runs the suite once per variant). */
static char inherited_force[32];

static void test_inherited_force_is_the_active_variant(void **state)
{
    (void)state;
    if (!inherited_force[0])
        skip(); /* started without TDIFF_FORCE_ISA: the other tests cover forcing */
    force(inherited_force);
    tdiff_isa active = TDIFF_ISA_AUTO;
    assert_int_equal(tdiff_isa_active(&active), TDIFF_OK);
    assert_string_equal(tdiff_isa_to_string(active), inherited_force);
    expect_env_uses(active, TDIFF_ISA_AUTO);
}

static void *probe(void *out)
{
    *(unsigned *)out = tdiff__cpu_features() | (unsigned)tdiff__isa_best() << 8;
    return NULL;
}

static void test_detection_is_the_same_from_many_threads(void **state)
{
    (void)state;
    enum { T = 8 };
    pthread_t th[T];
    unsigned got[T];
    for (int i = 0; i < T; i++)
        assert_int_equal(pthread_create(&th[i], NULL, probe, &got[i]), 0);
    for (int i = 0; i < T; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    for (int i = 1; i < T; i++)
        assert_int_equal(got[i], got[0]);
    assert_int_equal(got[0], tdiff__cpu_features() | (unsigned)tdiff__isa_best() << 8);
}

int main(void)
{
    /* this file's detection-from-threads test must be the first to touch cpu.c */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_detection_is_the_same_from_many_threads),
        cmocka_unit_test_teardown(test_without_force_the_best_variant_is_active, clear_force),
        cmocka_unit_test_teardown(test_force_selects_each_supported_variant, clear_force),
        cmocka_unit_test_teardown(test_unknown_force_values_are_unsupported_with_a_message, clear_force),
        cmocka_unit_test_teardown(test_force_avx512_is_unsupported_in_this_build, clear_force),
        cmocka_unit_test_teardown(test_force_of_another_architecture_is_unsupported, clear_force),
        cmocka_unit_test_teardown(test_host_request_selects_and_force_only_lowers, clear_force),
        cmocka_unit_test(test_self_check_passes_for_every_supported_variant),
        cmocka_unit_test(test_names_and_support_queries),
        cmocka_unit_test(test_detection_agrees_with_the_compiler_probe),
        cmocka_unit_test_teardown(test_inherited_force_is_the_active_variant, clear_force),
    };
    const char *f = getenv("TDIFF_FORCE_ISA");
    if (f)
        tdiff__copy_message(inherited_force, sizeof inherited_force, f);
    unsetenv("TDIFF_FORCE_ISA"); /* each test sets its own */
    return cmocka_run_group_tests(tests, NULL, NULL);
}
