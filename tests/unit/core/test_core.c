/* test_core.c -- status codes, version, host validation, allocator hooks, Philox RNG. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/core.h"
#include "core/rng.h"
#include "support.h"

static void test_version_number_matches_macros(void **state)
{
    (void)state;
    assert_int_equal(tdiff_version_number(), TDIFF_VERSION_NUMBER);
    char expect[32];
    snprintf(expect, sizeof expect, "%d.%d.%d", TDIFF_VERSION_MAJOR, TDIFF_VERSION_MINOR, TDIFF_VERSION_PATCH);
    assert_string_equal(tdiff_version_string(), expect);
}

static void test_status_codes_keep_their_numbers(void **state)
{
    (void)state;
    /* The ABI promise: these values never change. */
    assert_int_equal(TDIFF_OK, 0);
    assert_int_equal(TDIFF_E_INVALID_ARGUMENT, -1);
    assert_int_equal(TDIFF_E_OUT_OF_MEMORY, -2);
    assert_int_equal(TDIFF_E_IO, -3);
    assert_int_equal(TDIFF_E_BAD_FORMAT, -4);
    assert_int_equal(TDIFF_E_UNSUPPORTED, -5);
    assert_int_equal(TDIFF_E_BUFFER_TOO_SMALL, -6);
    assert_int_equal(TDIFF_E_NOT_FOUND, -7);
    assert_int_equal(TDIFF_E_TYPE_MISMATCH, -8);
    assert_int_equal(TDIFF_E_ABORTED, -9);
    assert_int_equal(TDIFF_E_STATE, -10);
    assert_int_equal(TDIFF_E_OVERFLOW, -11);
    assert_int_equal(TDIFF_E_INTERNAL, -12);
}

static void test_status_strings_are_distinct_and_never_null(void **state)
{
    (void)state;
    for (int a = -12; a <= 0; a++) {
        const char *sa = tdiff_status_string(a);
        assert_non_null(sa);
        assert_string_not_equal(sa, "unknown status");
        for (int b = a + 1; b <= 0; b++)
            assert_string_not_equal(sa, tdiff_status_string(b));
    }
    assert_string_equal(tdiff_status_string(-13), "unknown status");
    assert_string_equal(tdiff_status_string(1), "unknown status");
    assert_string_equal(tdiff_status_string(-2147483647 - 1), "unknown status");
}

static void test_env_defaults_without_host(void **state)
{
    (void)state;
    tdiff__env env;
    assert_int_equal(tdiff__env_init(&env, NULL), TDIFF_OK);
    assert_null(env.k); /* core knows no kernels: simd's tdiff__env_setup binds them */
    void *p = tdiff__malloc(&env, 10);
    assert_non_null(p);
    tdiff__free(&env, p);
}

static void test_env_rejects_partial_allocator(void **state)
{
    (void)state;
    test_alloc a = {0};
    tdiff_host host;
    test_host_init(&host, &a);
    host.realloc_fn = NULL;
    tdiff__env env;
    assert_int_equal(tdiff__env_init(&env, &host), TDIFF_E_INVALID_ARGUMENT);
    assert_non_null(strstr(env.last_error, "all set or all NULL"));
}

static void test_env_rejects_bad_struct_size_and_log_level(void **state)
{
    (void)state;
    tdiff_host host = {0};
    tdiff__env env;
    host.struct_size = 3;
    assert_int_equal(tdiff__env_init(&env, &host), TDIFF_E_INVALID_ARGUMENT);
    host.struct_size = sizeof host + 8;
    assert_int_equal(tdiff__env_init(&env, &host), TDIFF_E_INVALID_ARGUMENT);
    host.struct_size = sizeof host;
    host.log_level = (tdiff_log_level)9;
    assert_int_equal(tdiff__env_init(&env, &host), TDIFF_E_INVALID_ARGUMENT);
}

static void test_env_routes_allocations_to_hooks(void **state)
{
    (void)state;
    test_alloc a = {0};
    tdiff_host host;
    test_host_init(&host, &a);
    tdiff__env env;
    assert_int_equal(tdiff__env_init(&env, &host), TDIFF_OK);
    char *s = tdiff__strndup(&env, "abc", 3);
    assert_string_equal(s, "abc");
    assert_int_equal(a.live, 1);
    tdiff__free(&env, s);
    assert_int_equal(a.live, 0);
    a.fail_at = a.count + 1;
    assert_null(tdiff__malloc(&env, 16));
    /* count*size overflow never reaches the allocator */
    long before = a.count;
    assert_null(tdiff__calloc(&env, SIZE_MAX / 2, 3));
    assert_int_equal(a.count, before);
}

/* The test allocator's failure modes: transient fails only the N-th request,
 * persistent the N-th and every later one; max_bytes refuses large requests;
 * live and peak bytes follow mallocs, reallocs and frees. */
static void test_test_allocator_fails_once_or_persistently_and_counts_bytes(void **state)
{
    (void)state;
    for (int mode = 0; mode < TEST_ALLOC_MODES; mode++) {
        test_alloc a = {.fail_at = 2, .persistent = mode};
        tdiff_host host;
        test_host_init(&host, &a);
        tdiff__env env;
        assert_int_equal(tdiff__env_init(&env, &host), TDIFF_OK);
        void *p[4];
        for (int i = 0; i < 4; i++)
            p[i] = tdiff__malloc(&env, 8);
        assert_non_null(p[0]);
        assert_null(p[1]);
        if (mode) {
            assert_null(p[2]);
            assert_null(p[3]);
            assert_int_equal(a.failed, 3);
        } else {
            assert_non_null(p[2]);
            assert_non_null(p[3]);
            assert_int_equal(a.failed, 1);
        }
        for (int i = 0; i < 4; i++)
            tdiff__free(&env, p[i]);
        assert_int_equal(a.live, 0);
        assert_int_equal(a.live_bytes, 0);
    }
    test_alloc b = {.max_bytes = 100};
    tdiff_host host;
    test_host_init(&host, &b);
    tdiff__env env;
    assert_int_equal(tdiff__env_init(&env, &host), TDIFF_OK);
    assert_null(tdiff__malloc(&env, 101));
    char *q = tdiff__malloc(&env, 60);
    assert_non_null(q);
    q = tdiff__realloc(&env, q, 100);
    assert_non_null(q);
    assert_null(tdiff__realloc(&env, q, 1000)); /* q stays valid */
    char *r = tdiff__malloc(&env, 10);
    assert_int_equal(b.live_bytes, 110);
    assert_int_equal(b.peak_bytes, 110);
    assert_int_equal(b.largest, 1000);
    assert_int_equal(b.failed, 2);
    tdiff__free(&env, q);
    tdiff__free(&env, r);
    assert_int_equal(b.live_bytes, 0);
    assert_int_equal(b.peak_bytes, 110);
}

struct log_capture {
    int calls;
    tdiff_log_level level;
    char msg[128];
};

static void capture_log(void *ud, tdiff_log_level level, const char *msg)
{
    struct log_capture *c = ud;
    c->calls++;
    c->level = level;
    snprintf(c->msg, sizeof c->msg, "%s", msg);
}

static void test_fail_records_message_and_logs_at_error(void **state)
{
    (void)state;
    struct log_capture cap = {0};
    tdiff_host host = {.struct_size = sizeof host, .log_fn = capture_log, .log_user_data = &cap};
    tdiff__env env;
    assert_int_equal(tdiff__env_init(&env, &host), TDIFF_OK);
    assert_int_equal(tdiff__fail(&env, TDIFF_E_BAD_FORMAT, "field %s at %d", "x", 12), TDIFF_E_BAD_FORMAT);
    assert_string_equal(env.last_error, "field x at 12");
    assert_int_equal(cap.calls, 1);
    assert_int_equal(cap.level, TDIFF_LOG_ERROR);
    assert_string_equal(cap.msg, "field x at 12");
    /* default level WARN drops INFO */
    tdiff__log(&env, TDIFF_LOG_INFO, "quiet");
    assert_int_equal(cap.calls, 1);
}

/* Messages quote names from files: terminal controls in them (ESC, BEL, DEL, a
 * UTF-8 C1 control, a stray byte, a cut character) become '?', in the last error
 * and in the log; well-formed UTF-8 stays. */
static void test_messages_carry_no_terminal_controls(void **state)
{
    (void)state;
    struct log_capture cap = {0};
    tdiff_host host = {.struct_size = sizeof host, .log_fn = capture_log, .log_user_data = &cap};
    tdiff__env env;
    assert_int_equal(tdiff__env_init(&env, &host), TDIFF_OK);
    tdiff__fail(&env, TDIFF_E_BAD_FORMAT, "key '%s'", "a\x1b[2J\x07\x7f\xc2\x9b\xff caf\xc3\xa9 \xe2\x82");
    assert_string_equal(env.last_error, "key 'a?[2J????? caf\xc3\xa9 ?\?'");
    assert_string_equal(cap.msg, "key 'a?[2J????? caf\xc3\xa9 ?\?'");
}

static void test_copy_message_truncates_safely(void **state)
{
    (void)state;
    char buf[4] = {'x', 'x', 'x', 'x'};
    tdiff__copy_message(buf, sizeof buf, "abcdef");
    assert_string_equal(buf, "abc");
    tdiff__copy_message(NULL, 10, "abc");
    tdiff__copy_message(buf, 0, "zz");
    assert_string_equal(buf, "abc");
}

/* Random123 known-answer vectors for Philox4x32-10 (kat_vectors). */
static void test_philox_known_answers(void **state)
{
    (void)state;
    uint32_t out[4];
    const uint32_t c0[4] = {0, 0, 0, 0}, k0[2] = {0, 0};
    tdiff_philox4x32(c0, k0, out);
    assert_int_equal(out[0], 0x6627e8d5u);
    assert_int_equal(out[1], 0xe169c58du);
    assert_int_equal(out[2], 0xbc57ac4cu);
    assert_int_equal(out[3], 0x9b00dbd8u);
    const uint32_t c1[4] = {0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}, k1[2] = {0xffffffffu, 0xffffffffu};
    tdiff_philox4x32(c1, k1, out);
    assert_int_equal(out[0], 0x408f276du);
    assert_int_equal(out[1], 0x41c83b0eu);
    assert_int_equal(out[2], 0xa20bc7c6u);
    assert_int_equal(out[3], 0x6d5451fdu);
    /* pi digits vector from the same file */
    const uint32_t c2[4] = {0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u};
    const uint32_t k2[2] = {0xa4093822u, 0x299f31d0u};
    tdiff_philox4x32(c2, k2, out);
    assert_int_equal(out[0], 0xd16cfe09u);
    assert_int_equal(out[1], 0x94fdccebu);
    assert_int_equal(out[2], 0x5001e420u);
    assert_int_equal(out[3], 0x24126ea1u);
}

static void test_uniform_draws_stay_inside_open_interval_with_right_moments(void **state)
{
    (void)state;
    const int n = 200000;
    double sum = 0, sum2 = 0;
    for (int i = 0; i < n; i++) {
        double u = tdiff_rng_uniform(42, 7, (uint32_t)i, 0);
        assert_true(u > 0.0 && u < 1.0);
        float f = tdiff__rng_uniform_float(42, 7, (uint32_t)i, 1);
        assert_true(f > 0.0f && f < 1.0f);
        sum += u;
        sum2 += u * u;
    }
    double mean = sum / n, var = sum2 / n - mean * mean;
    /* sd of the mean is sqrt(1/12/n) = 6.5e-4: 6 sigma bounds */
    assert_true(fabs(mean - 0.5) < 4e-3);
    assert_true(fabs(var - 1.0 / 12.0) < 2e-3);
}

static void test_draws_depend_only_on_their_key(void **state)
{
    (void)state;
    double a = tdiff__rng_uniform_double(1, 2, 3, 4);
    for (int i = 0; i < 100; i++)
        (void)tdiff__rng_uniform_double(9, 9, (uint32_t)i, 9);
    assert_true(a == tdiff__rng_uniform_double(1, 2, 3, 4));
    assert_true(a != tdiff__rng_uniform_double(1, 2, 3, 5));
    assert_true(a != tdiff__rng_uniform_double(1ull << 32 | 1, 2, 3, 4)); /* high seed bits matter */
}

static void test_normal_draws_have_unit_variance(void **state)
{
    (void)state;
    const int n = 200000;
    double sum = 0, sum2 = 0;
    for (int i = 0; i < n; i++) {
        double z = tdiff__rng_normal(5, 0, (uint32_t)i, 0);
        assert_true(isfinite(z));
        sum += z;
        sum2 += z * z;
    }
    assert_true(fabs(sum / n) < 0.015);       /* 6.7 sigma */
    assert_true(fabs(sum2 / n - 1.0) < 0.02); /* sd of var estimate ~0.0032 */
}

static void test_gumbel_mean_is_euler_gamma(void **state)
{
    (void)state;
    const int n = 200000;
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += tdiff__rng_gumbel(11, 1, (uint32_t)i, 0);
    /* mean gamma = 0.5772, sd pi/sqrt(6) = 1.28 -> sd of mean 2.9e-3 */
    assert_true(fabs(sum / n - 0.5772156649) < 0.02);
}

static void test_categorical_chi_square(void **state)
{
    (void)state;
    const double w[5] = {1, 0, 2, 3, 4};
    const int n = 100000;
    int counts[6] = {0};
    for (int i = 0; i < n; i++)
        counts[tdiff__rng_categorical(w, 5, tdiff__rng_uniform_double(3, 0, (uint32_t)i, 0))]++;
    assert_int_equal(counts[1], 0);
    assert_int_equal(counts[5], 0);
    double chi2 = 0;
    for (int i = 0; i < 5; i++) {
        if (w[i] == 0)
            continue;
        double e = n * w[i] / 10.0;
        chi2 += (counts[i] - e) * (counts[i] - e) / e;
    }
    /* 3 degrees of freedom: P(chi2 > 27.9) = 4e-6 */
    assert_true(chi2 < 27.9);
}

static void test_categorical_rejects_bad_weights(void **state)
{
    (void)state;
    const double zero[3] = {0, 0, 0};
    const double neg[3] = {1, -1, 1};
    const double bad[3] = {1, NAN, 1};
    const double inf[3] = {1, INFINITY, 1};
    assert_int_equal(tdiff__rng_categorical(zero, 3, 0.5), 3);
    assert_int_equal(tdiff__rng_categorical(neg, 3, 0.5), 3);
    assert_int_equal(tdiff__rng_categorical(bad, 3, 0.5), 3);
    assert_int_equal(tdiff__rng_categorical(inf, 3, 0.5), 3);
    assert_int_equal(tdiff__rng_categorical(zero, 0, 0.5), 0);
}

static void test_categorical_never_returns_a_zero_weight_when_rounding_runs_out(void **state)
{
    (void)state;
    /* u just below 1 with weights whose float64 sum rounds below the target:
     * the last NON-ZERO weight is taken, never the zero-weight tail. */
    const double w[4] = {0.1, 0.2, 0.7, 0.0};
    assert_int_equal(tdiff__rng_categorical(w, 4, 1.0 - 0x1p-53), 2);
    const double lead[3] = {0.0, 1.0, 0.0};
    assert_int_equal(tdiff__rng_categorical(lead, 3, 0x1p-60), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version_number_matches_macros),
        cmocka_unit_test(test_status_codes_keep_their_numbers),
        cmocka_unit_test(test_status_strings_are_distinct_and_never_null),
        cmocka_unit_test(test_env_defaults_without_host),
        cmocka_unit_test(test_env_rejects_partial_allocator),
        cmocka_unit_test(test_env_rejects_bad_struct_size_and_log_level),
        cmocka_unit_test(test_env_routes_allocations_to_hooks),
        cmocka_unit_test(test_test_allocator_fails_once_or_persistently_and_counts_bytes),
        cmocka_unit_test(test_fail_records_message_and_logs_at_error),
        cmocka_unit_test(test_messages_carry_no_terminal_controls),
        cmocka_unit_test(test_copy_message_truncates_safely),
        cmocka_unit_test(test_philox_known_answers),
        cmocka_unit_test(test_uniform_draws_stay_inside_open_interval_with_right_moments),
        cmocka_unit_test(test_draws_depend_only_on_their_key),
        cmocka_unit_test(test_normal_draws_have_unit_variance),
        cmocka_unit_test(test_gumbel_mean_is_euler_gamma),
        cmocka_unit_test(test_categorical_chi_square),
        cmocka_unit_test(test_categorical_rejects_bad_weights),
        cmocka_unit_test(test_categorical_never_returns_a_zero_weight_when_rounding_runs_out),
    };
    return cmocka_run_group_tests_name("core", tests, NULL, NULL);
}
