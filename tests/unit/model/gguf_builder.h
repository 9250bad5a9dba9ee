/*
 * gguf_builder.h -- writes GGUF bytes by hand for the hardening tests: every
 * field is appended explicitly, so a test can put any wrong value anywhere.
 * The buffer is fixed-size (tests build small files); overflowing it fails
 * the test through cmocka.
 */
#ifndef TDIFF_TEST_GGUF_BUILDER_H
#define TDIFF_TEST_GGUF_BUILDER_H

#include <stdint.h>
#include <string.h>

#define GB_CAP 8192

typedef struct gb {
    unsigned char *p; /* 8-byte aligned storage (tensor data must be aligned) */
    size_t n;
    uint64_t store[GB_CAP / 8];
} gb;

static inline void gb_init(gb *b)
{
    memset(b, 0, sizeof *b);
    b->p = (unsigned char *)b->store;
}

static inline void gb_bytes(gb *b, const void *s, size_t n)
{
    assert_true(b->n + n <= GB_CAP);
    memcpy(b->p + b->n, s, n);
    b->n += n;
}

static inline void gb_le(gb *b, uint64_t v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)(v >> (8 * i));
        gb_bytes(b, &c, 1);
    }
}

static inline void gb_u8(gb *b, uint8_t v) { gb_le(b, v, 1); }
static inline void gb_u32(gb *b, uint32_t v) { gb_le(b, v, 4); }
static inline void gb_u64(gb *b, uint64_t v) { gb_le(b, v, 8); }

static inline void gb_str(gb *b, const char *s)
{
    gb_u64(b, strlen(s));
    gb_bytes(b, s, strlen(s));
}

static inline void gb_header(gb *b, uint32_t version, uint64_t n_tensors, uint64_t n_kv)
{
    gb_bytes(b, "GGUF", 4);
    gb_u32(b, version);
    gb_u64(b, n_tensors);
    gb_u64(b, n_kv);
}

/* key + type u32 */
static inline void gb_key(gb *b, const char *key, uint32_t type)
{
    gb_str(b, key);
    gb_u32(b, type);
}

static inline void gb_kv_u32(gb *b, const char *key, uint32_t v)
{
    gb_key(b, key, 4);
    gb_u32(b, v);
}

static inline void gb_kv_str(gb *b, const char *key, const char *v)
{
    gb_key(b, key, 8);
    gb_str(b, v);
}

/* tensor info with up to 4 dims */
static inline void gb_tinfo(gb *b, const char *name, uint32_t n_dims, const uint64_t *ne, uint32_t type,
                            uint64_t offset)
{
    gb_str(b, name);
    gb_u32(b, n_dims);
    for (uint32_t d = 0; d < n_dims; d++)
        gb_u64(b, ne[d]);
    gb_u32(b, type);
    gb_u64(b, offset);
}

static inline void gb_pad(gb *b, size_t align)
{
    while (b->n % align)
        gb_u8(b, 0);
}

static inline void gb_zeros(gb *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        gb_u8(b, 0);
}

#endif
