/* support.h -- helpers shared by the unit tests. */
#ifndef TDIFF_TEST_SUPPORT_H
#define TDIFF_TEST_SUPPORT_H

#include <stddef.h>

#include "libtextdiff.h"

/* A tdiff_host whose allocator goes through cmocka's test allocator (leaks and
 * double frees fail the test) and can be told to fail allocations: the N-th one
 * only, or (persistent, as SQLite's test harness) the N-th and every later one,
 * so error paths that allocate again are exercised too. A request above
 * max_bytes always fails, so a test can bound what a hostile input may make the
 * library ask for without the machine paying for it. */
typedef struct test_alloc {
    long fail_at;     /* 1-based index of the (first) allocation to fail; 0 = never */
    int persistent;   /* 0: only allocation fail_at fails; 1: every one from fail_at on */
    size_t max_bytes; /* requests larger than this fail; 0 = no limit */
    long count;       /* allocations made so far */
    long live;        /* allocations not yet freed */
    long failed;      /* requests refused (fail_at or max_bytes) */
    size_t largest;   /* largest request seen */
    size_t live_bytes; /* bytes allocated and not yet freed */
    size_t peak_bytes; /* highest live_bytes so far */
} test_alloc;

/* The two failure modes, for loops that run a scenario in both. */
#define TEST_ALLOC_MODES 2

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
