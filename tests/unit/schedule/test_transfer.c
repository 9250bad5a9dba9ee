/* test_transfer.c -- transfer schedules: integer semantics, sums, edge cases, and
 * golden counts from the reference arithmetic (golden/transfer.txt, made by
 * make_golden.py with numpy float32 and, where available, torch). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "libtextdiff.h"
#include "support.h"

static void test_llada_remainder_goes_to_first_steps_and_counts_sum(void **state)
{
    (void)state;
    size_t c[64], need = 0;
    assert_int_equal(tdiff_transfer_llada(10, 4, c, 64, &need), TDIFF_OK);
    assert_int_equal(need, 4);
    assert_int_equal(c[0], 3);
    assert_int_equal(c[1], 3);
    assert_int_equal(c[2], 2);
    assert_int_equal(c[3], 2);
    for (size_t n = 0; n <= 200; n++) {
        for (size_t steps = 1; steps <= 64; steps++) {
            assert_int_equal(tdiff_transfer_llada(n, steps, c, 64, NULL), TDIFF_OK);
            size_t sum = 0;
            for (size_t i = 0; i < steps; i++) {
                sum += c[i];
                if (i)
                    assert_true(c[i] <= c[i - 1]); /* non-increasing: extra tokens first */
                assert_true(c[0] - c[i] <= 1);
            }
            assert_int_equal(sum, n);
        }
    }
    assert_int_equal(tdiff_transfer_llada(5, 8, c, 7, &need), TDIFF_E_BUFFER_TOO_SMALL);
    assert_int_equal(need, 8);
    assert_int_equal(tdiff_transfer_llada(5, 0, c, 7, &need), TDIFF_E_INVALID_ARGUMENT);
}

static void test_dream_single_step_commits_everything_and_schedule_sums(void **state)
{
    (void)state;
    size_t k;
    assert_int_equal(tdiff_transfer_dream(37, 0, 1, 1e-3, &k), TDIFF_OK);
    assert_int_equal(k, 37);
    for (size_t steps = 1; steps <= 40; steps++) {
        for (size_t n0 = 0; n0 <= 100; n0 += 7) {
            size_t n = n0;
            for (size_t i = 0; i < steps; i++) {
                assert_int_equal(tdiff_transfer_dream(n, i, steps, 1e-3, &k), TDIFF_OK);
                assert_true(k <= n);
                n -= k;
            }
            assert_int_equal(n, 0); /* everything is committed by the last step */
        }
    }
    assert_int_equal(tdiff_transfer_dream(5, 3, 3, 1e-3, &k), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_transfer_dream(5, 0, 3, 0.0, &k), TDIFF_E_INVALID_ARGUMENT);
    float ts[3];
    size_t need;
    assert_int_equal(tdiff_transfer_dream_timesteps(4, 1e-3, ts, 3, &need), TDIFF_E_BUFFER_TOO_SMALL);
    assert_int_equal(need, 5);
    assert_int_equal(tdiff_transfer_dream_timesteps(2, 1e-3, ts, 3, &need), TDIFF_OK);
    assert_true(ts[0] == 1.0f && ts[2] == (float)1e-3); /* linspace hits both ends exactly */
}

static void test_maskgit_and_mask_predict_edges(void **state)
{
    (void)state;
    size_t r;
    assert_int_equal(tdiff_transfer_maskgit(16, 16, 0, 1, &r), TDIFF_OK);
    assert_int_equal(r, 0); /* T = 1: the only step is the last */
    assert_int_equal(tdiff_transfer_maskgit(16, 1, 0, 4, &r), TDIFF_OK);
    assert_int_equal(r, 1); /* reference clamps to at least 1 before the last step */
    assert_int_equal(tdiff_transfer_maskgit(16, 17, 0, 4, &r), TDIFF_E_INVALID_ARGUMENT);
    size_t m;
    assert_int_equal(tdiff_transfer_mask_predict(10, 0, 4, &m), TDIFF_OK);
    assert_int_equal(m, 10);
    assert_int_equal(tdiff_transfer_mask_predict(10, 4, 4, &m), TDIFF_OK);
    assert_int_equal(m, 0);
    assert_int_equal(tdiff_transfer_mask_predict(10, 1, 4, &m), TDIFF_OK);
    assert_int_equal(m, 7); /* floor(10 · 0.75) */
    assert_int_equal(tdiff_transfer_mask_predict(10, 5, 4, &m), TDIFF_E_INVALID_ARGUMENT);
}

static void test_counts_equal_reference_golden_file(void **state)
{
    (void)state;
    char path[1024];
    test_source_path(path, sizeof path, "tests/unit/schedule/golden/transfer.txt");
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char line[1 << 16];
    size_t checked = 0;
    while (fgets(line, sizeof line, f)) {
        char *p = line, *end;
        char kind[16];
        int used = 0;
        assert_int_equal(sscanf(p, "%15s%n", kind, &used), 1);
        p += used;
        if (!strcmp(kind, "dream") || !strcmp(kind, "dreamts")) {
            size_t steps = strtoul(p, &end, 10);
            double eps = strtod(end, &end);
            p = end;
            if (!strcmp(kind, "dreamts")) {
                float ts[600];
                assert_int_equal(tdiff_transfer_dream_timesteps(steps, eps, ts, 600, NULL), TDIFF_OK);
                for (size_t i = 0; i <= steps; i++) {
                    uint32_t want = (uint32_t)strtoul(p, &end, 16), got;
                    p = end;
                    memcpy(&got, &ts[i], 4);
                    if (got != want)
                        fail_msg("dream timesteps steps=%zu eps=%g i=%zu: %08x != %08x", steps, eps, i, got, want);
                }
            } else {
                size_t n = strtoul(p, &end, 10);
                p = end;
                for (size_t i = 0; i < steps; i++) {
                    size_t want = strtoul(p, &end, 10), got;
                    p = end;
                    assert_int_equal(tdiff_transfer_dream(n, i, steps, eps, &got), TDIFF_OK);
                    if (got != want)
                        fail_msg("dream steps=%zu eps=%g step %zu with %zu masked: %zu != %zu", steps, eps, i, n, got,
                                 want);
                    n -= got;
                }
            }
        } else if (!strcmp(kind, "maskgit")) {
            size_t n0 = strtoul(p, &end, 10), steps = strtoul(end, &end, 10);
            p = end;
            size_t masked = n0;
            for (size_t i = 0; i < steps; i++) {
                size_t want = strtoul(p, &end, 10), got;
                p = end;
                assert_int_equal(tdiff_transfer_maskgit(n0, masked, i, steps, &got), TDIFF_OK);
                if (got != want)
                    fail_msg("maskgit n0=%zu steps=%zu step %zu: %zu != %zu", n0, steps, i, got, want);
                masked = got;
            }
        } else if (!strcmp(kind, "maskpredict")) {
            size_t n = strtoul(p, &end, 10), iters = strtoul(end, &end, 10);
            p = end;
            for (size_t it = 0; it <= iters; it++) {
                size_t want = strtoul(p, &end, 10), got;
                p = end;
                assert_int_equal(tdiff_transfer_mask_predict(n, it, iters, &got), TDIFF_OK);
                if (got != want)
                    fail_msg("mask-predict n=%zu iters=%zu it %zu: %zu != %zu", n, iters, it, got, want);
            }
        } else {
            fail_msg("unknown golden line kind %s", kind);
        }
        checked++;
    }
    fclose(f);
    assert_true(checked >= 300); /* the file has 351 cases; a truncated file must fail */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_llada_remainder_goes_to_first_steps_and_counts_sum),
        cmocka_unit_test(test_dream_single_step_commits_everything_and_schedule_sums),
        cmocka_unit_test(test_maskgit_and_mask_predict_edges),
        cmocka_unit_test(test_counts_equal_reference_golden_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
