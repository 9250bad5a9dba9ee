/* support.c -- cmocka allocator hook and file helpers for the unit tests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "support.h"

static void *hook_malloc(void *ud, size_t n)
{
    test_alloc *s = ud;
    s->count++;
    if (s->fail_at && s->count == s->fail_at)
        return NULL;
    void *p = test_malloc(n ? n : 1);
    if (p)
        s->live++;
    return p;
}

static void *hook_realloc(void *ud, void *p, size_t n)
{
    test_alloc *s = ud;
    s->count++;
    if (s->fail_at && s->count == s->fail_at)
        return NULL;
    void *q = test_realloc(p, n ? n : 1);
    if (q && !p)
        s->live++;
    return q;
}

static void hook_free(void *ud, void *p)
{
    test_alloc *s = ud;
    if (p) {
        s->live--;
        test_free(p);
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
