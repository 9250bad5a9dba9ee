/* support.h -- helpers shared by the unit tests. */
#ifndef TDIFF_TEST_SUPPORT_H
#define TDIFF_TEST_SUPPORT_H

#include <stddef.h>

#include "libtextdiff.h"

/* A tdiff_host whose allocator goes through cmocka's test allocator (leaks and
 * double frees fail the test) and can be told to fail the N-th allocation. */
typedef struct test_alloc {
    long fail_at;   /* 1-based index of the allocation to fail; 0 = never */
    long count;     /* allocations made so far */
    long live;      /* allocations not yet freed */
} test_alloc;

/* Fills *host so allocations go to cmocka's test_malloc family via *state. */
void test_host_init(tdiff_host *host, test_alloc *state);

/* Reads a whole file into a malloc'd buffer (test_malloc); NULL on failure. */
void *test_read_file(const char *path, size_t *size);
/* Joins $TDIFF_FIXTURES (or tests/fixtures) with a file name into buf. */
const char *test_fixture_path(char *buf, size_t cap, const char *name);
/* Joins $TDIFF_SOURCE_ROOT with a relative path into buf. */
const char *test_source_path(char *buf, size_t cap, const char *rel);
/* Loads a model file with host; a failure fails the running test with the
 * library's status and message (support_model.c: not in kernels-only builds). */
tdiff_model *test_load_model(const char *path, const tdiff_host *host);

#endif
