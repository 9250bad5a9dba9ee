/*
 * test_dispatch.c -- choosing the kernel table: the CPU's best variant by
 * default, tdiff_host.isa and a TDIFF_FORCE_ISA value only ever lowering it, a
 * bad TDIFF_FORCE_ISA ignored with a message (never an error), a host request
 * the machine cannot run refused, the public tdiff_isa_* queries, the
 * self-check, and detection that agrees with the compiler's own CPU probe and is
 * stable across threads. How the real environment variable is read (once, and
 * only where the host allows it) is tested by test_force_env.c, which meson runs
 * with TDIFF_FORCE_ISA set.
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

/* The variant a request resolves to under a forced value; fails the test on error. */
static tdiff_isa resolved(int requested, const char *force, char *msg, size_t cap)
{
    tdiff_isa out = TDIFF_ISA_AUTO;
    assert_int_equal(tdiff__isa_resolve(requested, force, &out, msg, cap), TDIFF_OK);
    return out;
}

/* Creates an env through the cmocka allocator host, as every handle does. */
static tdiff_status env_with(tdiff__env *env, int requested, int ignore_env)
{
    test_alloc a = {0};
    tdiff_host host;
    test_host_init(&host, &a);
    host.isa = requested;
    host.ignore_env = ignore_env;
    const tdiff_status st = tdiff__env_setup(env, &host);
    assert_int_equal(a.live, 0);
    return st;
}

static void test_without_force_the_best_variant_is_chosen(void **state)
{
    (void)state;
    char msg[256];
    const tdiff_isa best = tdiff__isa_best();
    assert_true(tdiff_isa_supported(best));
    for (size_t i = 0; i < N_VARIANTS; i++) /* nothing supported ranks above it */
        if (tdiff_isa_supported(all_variants[i]))
            assert_true(all_variants[i] == best || all_variants[i] == TDIFF_ISA_SCALAR ||
                        (best == TDIFF_ISA_AVX512 && all_variants[i] == TDIFF_ISA_AVX2));
    assert_int_equal(resolved(TDIFF_ISA_AUTO, NULL, msg, sizeof msg), best);
    assert_string_equal(msg, "");
    assert_int_equal(resolved(TDIFF_ISA_AUTO, "", msg, sizeof msg), best); /* empty means unset */
    assert_string_equal(msg, "");
    tdiff__env env;
    assert_int_equal(env_with(&env, TDIFF_ISA_AUTO, 1), TDIFF_OK);
    assert_int_equal(env.isa, best);
    assert_ptr_equal(env.k, tdiff__kernels_for(best));
    assert_int_equal(env.k->isa, best);
    assert_string_equal(env.k->name, tdiff_isa_to_string(best));
}

static void test_force_selects_each_supported_variant(void **state)
{
    (void)state;
    size_t tried = 0;
    char msg[256];
    for (size_t i = 0; i < N_VARIANTS; i++) {
        const tdiff_isa isa = all_variants[i];
        if (!tdiff_isa_supported(isa))
            continue;
        assert_int_equal(resolved(TDIFF_ISA_AUTO, tdiff_isa_to_string(isa), msg, sizeof msg), isa);
        assert_string_equal(msg, "");
        tried++;
    }
    assert_true(tried >= 1); /* scalar at least */
}

static void expect_force_ignored(const char *value)
{
    char msg[256];
    assert_int_equal(resolved(TDIFF_ISA_AUTO, value, msg, sizeof msg), tdiff__isa_best());
    assert_non_null(strstr(msg, "TDIFF_FORCE_ISA"));
    assert_non_null(strstr(msg, "ignored"));
    /* a request is kept as it is */
    assert_int_equal(resolved(TDIFF_ISA_SCALAR, value, msg, sizeof msg), TDIFF_ISA_SCALAR);
    assert_non_null(strstr(msg, "ignored"));
}

static void test_unknown_force_values_are_ignored_with_a_message(void **state)
{
    (void)state;
    expect_force_ignored("sse9");
    expect_force_ignored("bogus");
    expect_force_ignored("AVX2 "); /* names are exact */
    expect_force_ignored("auto");
    char longer[200];
    memset(longer, 'x', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    expect_force_ignored(longer);
}

static void test_force_of_a_variant_this_machine_lacks_is_ignored(void **state)
{
    (void)state;
#if defined(__aarch64__)
    expect_force_ignored("avx2");
#else
    expect_force_ignored("neon");
#endif
    if (!tdiff_isa_supported(TDIFF_ISA_AVX512))
        expect_force_ignored("avx512");
}

static void test_host_request_selects_and_force_only_lowers(void **state)
{
    (void)state;
    char msg[256];
    const tdiff_isa best = tdiff__isa_best();
    assert_int_equal(resolved(TDIFF_ISA_SCALAR, NULL, msg, sizeof msg), TDIFF_ISA_SCALAR);
    assert_int_equal(resolved(best, NULL, msg, sizeof msg), best);
    assert_int_equal(resolved(best, "scalar", msg, sizeof msg), TDIFF_ISA_SCALAR); /* lowers */
    assert_int_equal(resolved(TDIFF_ISA_SCALAR, tdiff_isa_to_string(best), msg, sizeof msg),
                     TDIFF_ISA_SCALAR); /* cannot raise */
    assert_string_equal(msg, "");
    tdiff__env env;
    assert_int_equal(env_with(&env, TDIFF_ISA_SCALAR, 1), TDIFF_OK);
    assert_int_equal(env.isa, TDIFF_ISA_SCALAR);
    assert_ptr_equal(env.k, &tdiff__kernels_scalar);
}

static void test_host_request_the_machine_cannot_run_is_refused(void **state)
{
    (void)state;
    tdiff__env env;
#if defined(__aarch64__)
    const tdiff_isa foreign = TDIFF_ISA_AVX2;
#else
    const tdiff_isa foreign = TDIFF_ISA_NEON;
#endif
    assert_int_equal(env_with(&env, foreign, 0), TDIFF_E_UNSUPPORTED);
    assert_non_null(strstr(env.last_error, tdiff_isa_to_string(foreign)));
    assert_int_equal(env_with(&env, 99, 0), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(env_with(&env, -1, 0), TDIFF_E_INVALID_ARGUMENT);
    tdiff_isa out;
    assert_int_equal(tdiff__isa_resolve(foreign, NULL, &out, NULL, 0), TDIFF_E_UNSUPPORTED);
}

static void test_self_check_passes_for_every_supported_variant(void **state)
{
    (void)state;
    tdiff_isa checked = TDIFF_ISA_AUTO;
    tdiff_isa active = TDIFF_ISA_AUTO;
    assert_int_equal(tdiff_isa_active(&active), TDIFF_OK);
    assert_int_equal(tdiff_isa_self_check(NULL, &checked), TDIFF_OK);
    assert_int_equal(checked, active);
    for (size_t i = 0; i < N_VARIANTS; i++) {
        if (!tdiff_isa_supported(all_variants[i]))
            continue;
        test_alloc a = {0};
        tdiff_host host;
        test_host_init(&host, &a);
        host.isa = all_variants[i];
        host.ignore_env = 1;
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
    tdiff_isa active;
    assert_int_equal(tdiff_isa_active(&active), TDIFF_OK);
    assert_string_equal(tdiff_isa_name(), tdiff_isa_to_string(active));
}

/* Every feature name of tdiff_isa_cpu_features is one we know, listed once. */
static void test_cpu_features_are_reported_by_name(void **state)
{
    (void)state;
    const char *s = tdiff_isa_cpu_features();
    assert_non_null(s);
    assert_ptr_equal(s, tdiff_isa_cpu_features()); /* static */
    char buf[256];
    tdiff__cpu_describe(tdiff__cpu_features(), buf, sizeof buf);
    assert_string_equal(s, buf);
    const unsigned f = tdiff__cpu_features();
    assert_int_equal(strstr(s, "avx2") != NULL, (f & TDIFF__CPU_AVX2) != 0);
    assert_int_equal(strstr(s, "avx512vnni") != NULL, (f & TDIFF__CPU_AVX512VNNI) != 0);
    tdiff__cpu_describe(0, buf, sizeof buf);
    assert_string_equal(buf, "");
    tdiff__cpu_describe(TDIFF__CPU_AVX2 | TDIFF__CPU_AVX512BF16, buf, sizeof buf);
    assert_string_equal(buf, "avx2 avx512bf16");
    tdiff__cpu_describe(TDIFF__CPU_AVX2 | TDIFF__CPU_AVX512BF16, buf, 8); /* truncates, stays terminated */
    assert_string_equal(buf, "avx2");
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
    const int want512 = want && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
                        __builtin_cpu_supports("avx512vnni");
    assert_int_equal(!!(tdiff__cpu_features() & TDIFF__CPU_AVX512), want512);
    assert_int_equal(tdiff_isa_supported(TDIFF_ISA_AVX512), want512);
    assert_int_equal(tdiff_isa_supported(TDIFF_ISA_NEON), 0);
#elif defined(__aarch64__)
    assert_true(tdiff__cpu_features() & TDIFF__CPU_NEON); /* Advanced SIMD is baseline on aarch64 Linux */
    assert_int_equal(tdiff_isa_supported(TDIFF_ISA_NEON), 1);
    assert_int_equal(tdiff_isa_supported(TDIFF_ISA_AVX2), 0);
#else
    assert_int_equal(tdiff__isa_best(), TDIFF_ISA_SCALAR);
#endif
}

static void *probe(void *out)
{
    *(unsigned *)out = tdiff__cpu_features() | (unsigned)tdiff__isa_best() << 24;
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
    assert_int_equal(got[0], tdiff__cpu_features() | (unsigned)tdiff__isa_best() << 24);
}

int main(void)
{
    /* this file's detection-from-threads test must be the first to touch cpu.c */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_detection_is_the_same_from_many_threads),
        cmocka_unit_test(test_without_force_the_best_variant_is_chosen),
        cmocka_unit_test(test_force_selects_each_supported_variant),
        cmocka_unit_test(test_unknown_force_values_are_ignored_with_a_message),
        cmocka_unit_test(test_force_of_a_variant_this_machine_lacks_is_ignored),
        cmocka_unit_test(test_host_request_selects_and_force_only_lowers),
        cmocka_unit_test(test_host_request_the_machine_cannot_run_is_refused),
        cmocka_unit_test(test_self_check_passes_for_every_supported_variant),
        cmocka_unit_test(test_names_and_support_queries),
        cmocka_unit_test(test_cpu_features_are_reported_by_name),
        cmocka_unit_test(test_detection_agrees_with_the_compiler_probe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
