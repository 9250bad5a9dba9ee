/*
 * fuzz_common.h -- what every fuzz target shares: a host allocator that counts,
 * bounds and fails allocations (the N-th only, or the N-th and every later one),
 * a reader that turns the fuzz input into values (zeros once it runs dry), and
 * FUZZ_CHECK, which aborts with the broken property so libFuzzer keeps the
 * input. Header-only: each target is one translation unit (plus replay.c).
 */
#ifndef TDIFF_FUZZ_COMMON_H
#define TDIFF_FUZZ_COMMON_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libtextdiff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                                   \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "%s:%d: property broken: %s\n", __FILE__, __LINE__, #cond);  \
            abort();                                                                       \
        }                                                                                  \
    } while (0)

/* ---- the allocator ---- */

typedef struct fuzz_alloc {
    long fail_at;       /* 1-based index of the (first) allocation to fail; 0 = never */
    int persistent;     /* every allocation from fail_at on fails                    */
    size_t max_bytes;   /* a larger single request is a finding (abort); 0 = none    */
    long count, live, failed;
    size_t live_bytes, peak_bytes;
} fuzz_alloc;

#define FUZZ_HDR 16u /* size header in front of every block (keeps 16-byte alignment) */

static inline int fuzz_refuse(fuzz_alloc *a, size_t n)
{
    a->count++;
    if (a->max_bytes && n > a->max_bytes) {
        fprintf(stderr, "allocation of %zu bytes exceeds the bound %zu\n", n, a->max_bytes);
        abort();
    }
    int no = (a->fail_at && (a->persistent ? a->count >= a->fail_at : a->count == a->fail_at)) ||
             n > SIZE_MAX - FUZZ_HDR;
    a->failed += no;
    return no;
}

static inline void fuzz_bytes(fuzz_alloc *a, size_t plus, size_t minus)
{
    a->live_bytes = a->live_bytes + plus - minus;
    if (a->live_bytes > a->peak_bytes)
        a->peak_bytes = a->live_bytes;
}

static void *fuzz_malloc(void *ud, size_t n)
{
    fuzz_alloc *a = ud;
    if (fuzz_refuse(a, n))
        return NULL;
    unsigned char *p = malloc(n + FUZZ_HDR);
    if (!p)
        return NULL;
    memcpy(p, &n, sizeof n);
    a->live++;
    fuzz_bytes(a, n, 0);
    return p + FUZZ_HDR;
}

static void *fuzz_realloc(void *ud, void *p, size_t n)
{
    fuzz_alloc *a = ud;
    if (fuzz_refuse(a, n))
        return NULL;
    unsigned char *b = p ? (unsigned char *)p - FUZZ_HDR : NULL;
    size_t old = 0;
    if (b)
        memcpy(&old, b, sizeof old);
    unsigned char *q = realloc(b, n + FUZZ_HDR);
    if (!q)
        return NULL;
    memcpy(q, &n, sizeof n);
    a->live += !p;
    fuzz_bytes(a, n, old);
    return q + FUZZ_HDR;
}

static void fuzz_free(void *ud, void *p)
{
    fuzz_alloc *a = ud;
    if (!p)
        return;
    unsigned char *b = (unsigned char *)p - FUZZ_HDR;
    size_t n;
    memcpy(&n, b, sizeof n);
    a->live--;
    fuzz_bytes(a, 0, n);
    free(b);
}

static inline tdiff_host fuzz_host(fuzz_alloc *a)
{
    tdiff_host h;
    memset(&h, 0, sizeof h);
    h.struct_size = sizeof h;
    h.malloc_fn = fuzz_malloc;
    h.realloc_fn = fuzz_realloc;
    h.free_fn = fuzz_free;
    h.alloc_user_data = a;
    return h;
}

/* ---- the input reader ---- */

typedef struct fuzz_reader {
    const uint8_t *p;
    size_t n;
} fuzz_reader;

static inline uint32_t fuzz_u8(fuzz_reader *r)
{
    if (!r->n)
        return 0;
    r->n--;
    return *r->p++;
}

static inline uint32_t fuzz_u16(fuzz_reader *r)
{
    uint32_t lo = fuzz_u8(r);
    return lo | fuzz_u8(r) << 8;
}

static inline uint32_t fuzz_u32(fuzz_reader *r)
{
    uint32_t lo = fuzz_u16(r);
    return lo | fuzz_u16(r) << 16;
}

/* A value in [lo, hi] (hi - lo < 2^32). */
static inline int64_t fuzz_range(fuzz_reader *r, int64_t lo, int64_t hi)
{
    uint64_t span = (uint64_t)(hi - lo) + 1;
    uint64_t v = span <= 256 ? fuzz_u8(r) : span <= 65536 ? fuzz_u16(r) : fuzz_u32(r);
    return lo + (int64_t)(v % span);
}

/* Up to `max` bytes (fewer when the input runs dry); *len gets the count. */
static inline const uint8_t *fuzz_take(fuzz_reader *r, size_t max, size_t *len)
{
    size_t n = max < r->n ? max : r->n;
    const uint8_t *p = r->p;
    r->p += n;
    r->n -= n;
    *len = n;
    return p;
}

/* A double that is usually ordinary and sometimes the values that break
 * arithmetic: NaN, ±inf, huge, tiny, negative zero. */
static inline double fuzz_double(fuzz_reader *r, double scale)
{
    uint32_t k = fuzz_u8(r);
    switch (k) {
    case 250: return NAN;
    case 251: return INFINITY;
    case 252: return -INFINITY;
    case 253: return 1e300;
    case 254: return -0.0;
    case 255: return 1e-300;
    default: return ((double)(int32_t)fuzz_u16(r) - 32768.0) / 32768.0 * scale * ((double)k / 64.0);
    }
}

#endif
