/* test_threads.c -- the per-handle thread pool (lib/core/threads.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/core.h"
#include "core/threads.h"
#include "support.h"

typedef struct counts {
    int hits[1000];
    int thread_ok;
    size_t n_threads;
} counts;

static void count_task(void *ctx, size_t task, size_t thread)
{
    counts *c = ctx;
    __atomic_fetch_add(&c->hits[task], 1, __ATOMIC_RELAXED);
    if (thread >= c->n_threads)
        __atomic_store_n(&c->thread_ok, 0, __ATOMIC_RELAXED);
}

static void test_pool_runs_every_task_exactly_once(void **state)
{
    (void)state;
    test_alloc ta = {0};
    tdiff_host host;
    test_host_init(&host, &ta);
    tdiff__env env;
    assert_int_equal(tdiff__env_init(&env, &host), TDIFF_OK);
    static const size_t threads[] = {1, 2, 3, 8};
    static const size_t tasks[] = {0, 1, 2, 7, 1000};
    for (size_t i = 0; i < sizeof threads / sizeof threads[0]; i++) {
        tdiff__pool *p;
        assert_int_equal(tdiff__pool_create(&env, threads[i], &p), TDIFF_OK);
        assert_int_equal(tdiff__pool_size(p), threads[i]);
        for (int rep = 0; rep < 3; rep++)  /* the pool is reusable */
            for (size_t j = 0; j < sizeof tasks / sizeof tasks[0]; j++) {
                static counts c;
                memset(&c, 0, sizeof c);
                c.thread_ok = 1;
                c.n_threads = threads[i];
                tdiff__pool_for(p, tasks[j], count_task, &c);
                for (size_t t = 0; t < 1000; t++)
                    assert_int_equal(c.hits[t], t < tasks[j] ? 1 : 0);
                assert_true(c.thread_ok);
            }
        tdiff__pool_free(p);
    }
    assert_int_equal(ta.live, 0);
}

static void test_pool_rejects_bad_thread_counts(void **state)
{
    (void)state;
    tdiff__env env;
    assert_int_equal(tdiff__env_init(&env, NULL), TDIFF_OK);
    tdiff__pool *p = (tdiff__pool *)&env;
    assert_int_equal(tdiff__pool_create(&env, 0, &p), TDIFF_E_INVALID_ARGUMENT);
    assert_null(p);
    assert_int_equal(tdiff__pool_create(&env, TDIFF__POOL_MAX_THREADS + 1, &p), TDIFF_E_INVALID_ARGUMENT);
    assert_true(strlen(env.last_error) > 0);
    tdiff__pool_free(NULL);  /* harmless */
}

static void test_pool_creation_survives_allocation_failures(void **state)
{
    (void)state;
    for (int mode = 0; mode < TEST_ALLOC_MODES; mode++) {
        for (long k = 1; k <= 2; k++) {
            test_alloc ta = {.fail_at = k, .persistent = mode};
            tdiff_host host;
            test_host_init(&host, &ta);
            tdiff__env env;
            assert_int_equal(tdiff__env_init(&env, &host), TDIFF_OK);
            tdiff__pool *p;
            assert_int_equal(tdiff__pool_create(&env, 4, &p), TDIFF_E_OUT_OF_MEMORY);
            assert_null(p);
            assert_int_equal(ta.live, 0);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pool_runs_every_task_exactly_once),
        cmocka_unit_test(test_pool_rejects_bad_thread_counts),
        cmocka_unit_test(test_pool_creation_survives_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
