/* support.c -- cmocka allocator hook and file helpers for the unit tests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "support.h"

/* Every block carries its size in a header in front of it, so frees can
 * keep live_bytes and peak_bytes; 16 bytes keep the caller's alignment. */
#define HDR 16u

/* True when this request must fail; counts it either way. */
static int refuse(test_alloc *s, size_t n)
{
    s->count++;
    if (n > s->largest)
        s->largest = n;
    int no = (s->fail_at && (s->persistent ? s->count >= s->fail_at : s->count == s->fail_at)) ||
             (s->max_bytes && n > s->max_bytes) || n > SIZE_MAX - HDR;
    s->failed += no;
    return no;
}

static void add_bytes(test_alloc *s, size_t plus, size_t minus)
{
    s->live_bytes = s->live_bytes + plus - minus;
    if (s->live_bytes > s->peak_bytes)
        s->peak_bytes = s->live_bytes;
}

static void *hook_malloc(void *ud, size_t n)
{
    test_alloc *s = ud;
    if (refuse(s, n))
        return NULL;
    unsigned char *p = test_malloc(n + HDR);
    if (!p)
        return NULL;
    memcpy(p, &n, sizeof n);
    s->live++;
    add_bytes(s, n, 0);
    return p + HDR;
}

static void *hook_realloc(void *ud, void *p, size_t n)
{
    test_alloc *s = ud;
    if (refuse(s, n))
        return NULL;
    size_t old = 0;
    unsigned char *b = p ? (unsigned char *)p - HDR : NULL;
    if (b)
        memcpy(&old, b, sizeof old);
    unsigned char *q = test_realloc(b, n + HDR);
    if (!q)
        return NULL;
    memcpy(q, &n, sizeof n);
    if (!p)
        s->live++;
    add_bytes(s, n, old);
    return q + HDR;
}

static void hook_free(void *ud, void *p)
{
    test_alloc *s = ud;
    if (p) {
        unsigned char *b = (unsigned char *)p - HDR;
        size_t n;
        memcpy(&n, b, sizeof n);
        s->live--;
        add_bytes(s, 0, n);
        test_free(b);
    }
}

void test_host_init(tdiff_host *host, test_alloc *state)
{
    *host = (tdiff_host){0};
    host->struct_size = sizeof *host;
    host->malloc_fn = hook_malloc;
    host->realloc_fn = hook_realloc;
    host->free_fn = hook_free;
    host->alloc_user_data = state;
}

void *test_read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) != 0) {
        fclose(f);
        return NULL;
    }
    long n = ftell(f);
    rewind(f);
    unsigned char *buf = n > 0 ? test_malloc((size_t)n) : NULL;
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        if (buf)
            test_free(buf);
        fclose(f);
        return NULL;
    }
    fclose(f);
    *size = (size_t)n;
    return buf;
}

const char *test_fixture_path(char *buf, size_t cap, const char *name)
{
    const char *dir = getenv("TDIFF_FIXTURES");
    snprintf(buf, cap, "%s/%s", dir ? dir : "tests/fixtures", name);
    return buf;
}

const char *test_source_path(char *buf, size_t cap, const char *rel)
{
    const char *dir = getenv("TDIFF_SOURCE_ROOT");
    snprintf(buf, cap, "%s/%s", dir ? dir : ".", rel);
    return buf;
}
