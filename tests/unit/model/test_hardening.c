/*
 * test_hardening.c -- every hardening rule of issue 3 on a handcrafted file:
 * the loader returns the documented status, names the byte offset and the
 * field, allocates nothing it should not, and leaks nothing. Also: every
 * prefix of a small valid file is rejected, and failing the N-th allocation
 * for every N fails cleanly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "gguf_builder.h"
#include "model/model.h"
#include "support.h"

enum { T_U8 = 0, T_U32 = 4, T_I32 = 5, T_BOOL = 7, T_STR = 8, T_ARR = 9, T_U64 = 10 };
enum { F32 = 0, Q8_0 = 8, Q3_K = 11, Q4_K = 12, Q5_K = 13, Q6_K = 14 };

/* Loads b; requires status `want`, a message containing "offset <at>:" (at >= 0)
 * and `field`, no model, no leak. Returns the allocation count. */
static long expect_fail(const gb *b, tdiff_status want, long at, const char *field)
{
    test_alloc a = {0};
    tdiff_host host;
    test_host_init(&host, &a);
    tdiff_model *m = (tdiff_model *)(uintptr_t)1;
    char err[512] = "";
    tdiff_status st = tdiff_model_load_memory(b->p, b->n, &host, &m, err, sizeof err);
    if (st != want || (field && !strstr(err, field)))
        print_error("status %d (want %d), message: %s\n", st, want, err);
    assert_int_equal(st, want);
    assert_null(m);
    if (at >= 0) {
        char off[32];
        snprintf(off, sizeof off, "offset %ld:", at);
        if (!strstr(err, off))
            print_error("message lacks '%s': %s\n", off, err);
        assert_non_null(strstr(err, off));
    }
    if (field)
        assert_non_null(strstr(err, field));
    assert_int_equal(a.live, 0);
    return a.count;
}

static void expect_ok(const gb *b)
{
    test_alloc a = {0};
    tdiff_host host;
    test_host_init(&host, &a);
    tdiff_model *m = NULL;
    char err[512] = "";
    tdiff_status st = tdiff_model_load_memory(b->p, b->n, &host, &m, err, sizeof err);
    if (st != TDIFF_OK)
        print_error("%s\n", err);
    assert_int_equal(st, TDIFF_OK);
    tdiff_model_free(m);
    assert_int_equal(a.live, 0);
}

static const uint64_t NE42[2] = {4, 2};

/* A valid file: 2 keys, one F32 tensor 4x2. Offsets in comments. */
static void valid(gb *b, uint32_t alignment)
{
    gb_init(b);
    gb_header(b, 3, 1, 2);                           /* 0..24 */
    gb_kv_str(b, "general.architecture", "test");    /* 24..68 */
    gb_kv_u32(b, "general.alignment", alignment);    /* 68..101 */
    gb_tinfo(b, "w", 2, NE42, F32, 0);               /* 101..142 */
    gb_pad(b, alignment);
    gb_zeros(b, 32);
}

static void test_valid_handcrafted_file_loads(void **state)
{
    (void)state;
    gb b;
    valid(&b, 32);
    assert_int_equal(b.n, 192);
    expect_ok(&b);
    valid(&b, 8);
    expect_ok(&b);
}

/* Any architecture name loads once the generic checks pass; the loader then
 * defines no hyper-parameters, but the generic fields and getters work. */
static void test_unknown_architecture_loads_with_generic_fields_only(void **state)
{
    (void)state;
    gb b;
    gb_init(&b);
    gb_header(&b, 3, 0, 4);
    gb_kv_str(&b, "general.architecture", "tdiff");
    gb_key(&b, "tokenizer.ggml.tokens", T_ARR);
    gb_u32(&b, T_STR);
    gb_u64(&b, 3);
    gb_str(&b, "a");
    gb_u64(&b, 3);
    gb_bytes(&b, "b\0c", 3); /* counted strings may hold NUL bytes */
    gb_str(&b, "");
    gb_key(&b, "tokenizer.ggml.padding_token_id", T_I32);
    gb_u32(&b, 0xffffffffu); /* -1: absent */
    gb_kv_u32(&b, "tokenizer.ggml.cls_token_id", 2);
    tdiff_model *m = NULL;
    char err[256];
    assert_int_equal(tdiff_model_load_memory(b.p, b.n, NULL, &m, err, sizeof err), TDIFF_OK);
    assert_string_equal(tdiff_model_architecture(m), "tdiff");
    assert_int_equal(m->hp.arch, TDIFF__ARCH_OTHER);
    int64_t v = 0;
    assert_int_equal(tdiff_model_get_int(m, TDIFF_MODEL_N_VOCAB, &v), TDIFF_OK);
    assert_int_equal(v, 3);
    assert_int_equal(tdiff_model_get_int(m, TDIFF_MODEL_N_EMBD, &v), TDIFF_E_NOT_FOUND);
    double d;
    assert_int_equal(tdiff_model_get_float(m, TDIFF_MODEL_NORM_EPS, &d), TDIFF_E_NOT_FOUND);
    int32_t id = 0;
    assert_int_equal(tdiff_model_special_id(m, TDIFF_SPECIAL_PAD, &id), TDIFF_E_NOT_FOUND);
    assert_int_equal(tdiff_model_special_id(m, TDIFF_SPECIAL_CLS, &id), TDIFF_OK);
    assert_int_equal(id, 2);
    char s[8];
    size_t need = 0;
    assert_int_equal(tdiff_model_meta_get_arr_str(m, "tokenizer.ggml.tokens", 1, s, sizeof s, &need), TDIFF_OK);
    assert_int_equal(need, 4);
    assert_memory_equal(s, "b\0c", 4);
    assert_int_equal(tdiff_model_meta_get_arr_str(m, "tokenizer.ggml.tokens", 2, s, 0, &need),
                     TDIFF_E_BUFFER_TOO_SMALL);
    assert_int_equal(need, 1);
    tdiff_model_free(m);
    /* the same file with a special id past the 3 tokens is refused */
    b.p[b.n - 4] = 3;
    expect_fail(&b, TDIFF_E_BAD_FORMAT, -1, "cls_token_id': token id 3 is not below the vocabulary size 3");
}

static void test_magic_must_be_gguf(void **state)
{
    (void)state;
    gb b;
    valid(&b, 32);
    b.p[0] = 'X';
    expect_fail(&b, TDIFF_E_BAD_FORMAT, 0, "magic");
    memcpy(b.p, "FUGG", 4);
    expect_fail(&b, TDIFF_E_UNSUPPORTED, 0, "byte-swapped");
}

static void test_only_versions_2_and_3(void **state)
{
    (void)state;
    gb b;
    valid(&b, 32);
    b.p[4] = 2;
    expect_ok(&b); /* v2 has the same layout */
    b.p[4] = 1;
    expect_fail(&b, TDIFF_E_UNSUPPORTED, 4, "version 1");
    b.p[4] = 4;
    expect_fail(&b, TDIFF_E_UNSUPPORTED, 4, "version 4");
    b.p[4] = 0;
    expect_fail(&b, TDIFF_E_BAD_FORMAT, 4, "version 0");
    b.p[7] = 3; /* 0x03000000: a big-endian v3 file */
    expect_fail(&b, TDIFF_E_UNSUPPORTED, 4, "byte-swapped (big-endian) GGUF v3");
}

/* Counts are checked against the bytes left before anything is allocated for
 * them: only the model struct itself is allocated. */
static void test_huge_counts_rejected_before_allocation(void **state)
{
    (void)state;
    gb b;
    gb_init(&b);
    gb_header(&b, 3, 0, UINT64_MAX / 2);
    gb_zeros(&b, 64);
    assert_true(expect_fail(&b, TDIFF_E_BAD_FORMAT, 16, "metadata count") <= 1);
    gb_init(&b);
    gb_header(&b, 3, UINT64_MAX, 0);
    gb_zeros(&b, 64);
    long n = expect_fail(&b, TDIFF_E_BAD_FORMAT, 24, "tensor count");
    assert_true(n <= 4); /* model, meta tables (empty), arch name: never the tensor table */
    /* array lengths likewise: 2^61 u32 elements, and 2^62 strings */
    gb_init(&b);
    gb_header(&b, 3, 0, 1);
    gb_key(&b, "a", T_ARR);
    gb_u32(&b, T_U32);
    gb_u64(&b, (uint64_t)1 << 61);
    gb_zeros(&b, 16);
    expect_fail(&b, TDIFF_E_BAD_FORMAT, 41, "array 'a'");
    b.p[37] = T_STR;
    b.p[48] = 0x40; /* count 2^62 */
    n = expect_fail(&b, TDIFF_E_BAD_FORMAT, 41, "cannot fit");
    assert_true(n <= 3); /* no string-offset table */
}

static void test_keys_nonempty_bounded_and_inside(void **state)
{
    (void)state;
    gb b;
    gb_init(&b);
    gb_header(&b, 3, 0, 1);
    gb_str(&b, "");
    gb_u32(&b, T_U8);
    gb_u8(&b, 1);
    gb_zeros(&b, 8); /* enough bytes left for the entry count check */
    expect_fail(&b, TDIFF_E_BAD_FORMAT, 24, "key #0 is empty");
    gb_init(&b);
    gb_header(&b, 3, 0, 1);
    gb_u64(&b, 65536);
    gb_zeros(&b, 70); /* length checked before the bytes: no need to write them */
    expect_fail(&b, TDIFF_E_BAD_FORMAT, 24, "exceeds the limit 65535");
    gb_init(&b);
    gb_header(&b, 3, 0, 1);
    gb_u64(&b, 1000);
    gb_zeros(&b, 20);
    expect_fail(&b, TDIFF_E_BAD_FORMAT, 24, "exceeds the 20 bytes left");
    gb_init(&b);
    gb_header(&b, 3, 0, 1);
    gb_u64(&b, UINT64_MAX); /* would wrap pos + len */
    gb_zeros(&b, 20);
    expect_fail(&b, TDIFF_E_BAD_FORMAT, 24, "metadata key");
    gb_init(&b);
    gb_header(&b, 3, 0, 1);
    gb_u64(&b, 3);
    gb_bytes(&b, "a\0b", 3);
    gb_u32(&b, T_U8);
    gb_u8(&b, 0);
    expect_fail(&b, TDIFF_E_BAD_FORMAT, 24, "NUL");
}

static void test_keys_unique(void **state)
{
    (void)state;
    gb b;
    gb_init(&b);
    gb_header(&b, 3, 0, 3);
    gb_kv_u32(&b, "x.a", 1);  /* 24..43 */
    gb_kv_u32(&b, "x.b", 1);  /* 43..62 */
    gb_kv_u32(&b, "x.a", 2);  /* 62.. */
    expect_fail(&b, TDIFF_E_BAD_FORMAT, 62, "'x.a' appears twice");
}

static void test_value_types_in_range_and_no_nested_arrays(void **state)
{
    (void)state;
    gb b;
    gb_init(&b);
    gb_header(&b, 3, 0, 1);
    gb_key(&b, "k", 13);
    gb_u8(&b, 0);
    expect_fail(&b, TDIFF_E_BAD_FORMAT, 33, "value type of 'k': 13");
    gb_init(&b);
    gb_header(&b, 3, 0, 1);
    gb_key(&b, "k", T_ARR);
    gb_u32(&b, T_ARR);
    gb_u64(&b, 1);
    gb_u32(&b, T_U8);
    gb_u64(&b, 1);
    gb_u8(&b, 0);
    expect_fail(&b, TDIFF_E_BAD_FORMAT, 37, "nested arrays");
    gb_init(&b);
    gb_header(&b, 3, 0, 1);
    gb_key(&b, "k", T_ARR);
    gb_u32(&b, 0xffffffffu);
    gb_u64(&b, 0);
    expect_fail(&b, TDIFF_E_BAD_FORMAT, 37, "element type 4294967295");
}

static void test_bools_are_0_or_1(void **state)
{
    (void)state;
    gb b;
    gb_init(&b);
    gb_header(&b, 3, 0, 1);
    gb_key(&b, "flag", T_BOOL);
    gb_u8(&b, 2);
    expect_fail(&b, TDIFF_E_BAD_FORMAT, 40, "bool byte 2");
    gb_init(&b);
    gb_header(&b, 3, 0, 1);
    gb_key(&b, "flags", T_ARR);
    gb_u32(&b, T_BOOL);
    gb_u64(&b, 3);
    gb_u8(&b, 1);
    gb_u8(&b, 0);
    gb_u8(&b, 255);
    expect_fail(&b, TDIFF_E_BAD_FORMAT, 55, "bool byte 255");
}

static void test_alignment_power_of_two_bounded_u32(void **state)
{
    (void)state;
    gb b;
    const uint32_t bad[] = {0, 3, 48, 1u << 25};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        valid(&b, 32);
        b.p[97] = (unsigned char)bad[i];
        b.p[98] = (unsigned char)(bad[i] >> 8);
        b.p[99] = (unsigned char)(bad[i] >> 16);
        b.p[100] = (unsigned char)(bad[i] >> 24);
        expect_fail(&b, TDIFF_E_BAD_FORMAT, 97, "general.alignment");
    }
    gb_init(&b);
    gb_header(&b, 3, 0, 1);
    gb_key(&b, "general.alignment", T_U64);
    gb_u64(&b, 32);
    expect_fail(&b, TDIFF_E_BAD_FORMAT, 53, "expected u32");
}

/* One tensor info after a header with no metadata: info at 24, n_dims at 24+8+len(name). */
static void one_tensor(gb *b, const char *name, uint32_t n_dims, const uint64_t *ne, uint32_t type, uint64_t off,
                       size_t data)
{
    gb_init(b);
    gb_header(b, 3, 1, 0);
    gb_tinfo(b, name, n_dims, ne, type, off);
    gb_pad(b, 32);
    gb_zeros(b, data);
}

static void test_tensor_names_short_unique_nonempty(void **state)
{
    (void)state;
    gb b;
    char name[80];
    memset(name, 'n', sizeof name);
    name[63] = '\0';
    one_tensor(&b, name, 2, NE42, F32, 0, 32);
    expect_ok(&b); /* 63 bytes is the longest name */
    name[63] = 'n';
    name[64] = '\0';
    one_tensor(&b, name, 2, NE42, F32, 0, 32);
    expect_fail(&b, TDIFF_E_BAD_FORMAT, 24, "name length 64");
    one_tensor(&b, "", 2, NE42, F32, 0, 32);
    expect_fail(&b, TDIFF_E_BAD_FORMAT, 24, "name length 0");
    gb_init(&b);
    gb_header(&b, 3, 2, 0);
    gb_tinfo(&b, "t", 2, NE42, F32, 0);   /* 24..65 */
    gb_tinfo(&b, "t", 2, NE42, F32, 32);  /* 65.. */
    gb_pad(&b, 32);
    gb_zeros(&b, 64);
    expect_fail(&b, TDIFF_E_BAD_FORMAT, 65, "'t' appears twice");
}

static void test_tensor_dims_bounded_and_nonnegative(void **state)
{
    (void)state;
    gb b;
    const uint64_t ne5[5] = {1, 1, 1, 1, 1};
    one_tensor(&b, "t", 5, ne5, F32, 0, 32);
    expect_fail(&b, TDIFF_E_BAD_FORMAT, 33, "n_dims 5 exceeds 4");
    const uint64_t neg[2] = {4, (uint64_t)-1};
    one_tensor(&b, "t", 2, neg, F32, 0, 32);
    expect_fail(&b, TDIFF_E_BAD_FORMAT, 45, "dimension 1 is -1");
    const uint64_t zero[2] = {0, 7}; /* an empty tensor is valid */
    one_tensor(&b, "t", 2, zero, F32, 0, 0);
    expect_ok(&b);
    const uint64_t big[3] = {(uint64_t)1 << 32, (uint64_t)1 << 30, 4}; /* 2^64 elements */
    one_tensor(&b, "t", 3, big, F32, 0, 32);
    expect_fail(&b, TDIFF_E_OVERFLOW, 53, "element count overflows");
    const uint64_t big0[3] = {0, (uint64_t)1 << 40, (uint64_t)1 << 40}; /* zero elements, product overflows */
    one_tensor(&b, "t", 3, big0, F32, 0, 32);
    expect_fail(&b, TDIFF_E_OVERFLOW, 53, "element count overflows");
    const uint64_t bytes[2] = {(uint64_t)1 << 31, (uint64_t)1 << 31}; /* 2^62 elements, 2^64 bytes */
    one_tensor(&b, "t", 2, bytes, F32, 0, 32);
    expect_fail(&b, TDIFF_E_OVERFLOW, 53, "overflows");
}

static void test_tensor_types_supported_and_blocks_whole(void **state)
{
    (void)state;
    gb b;
    one_tensor(&b, "t", 2, NE42, 99, 0, 32);
    expect_fail(&b, TDIFF_E_UNSUPPORTED, 53, "ggml type 99 (unknown)");
    one_tensor(&b, "t", 2, NE42, Q3_K, 0, 32);
    expect_fail(&b, TDIFF_E_UNSUPPORTED, 53, "ggml type 11 (Q3_K)");
    const uint64_t ne33[1] = {33};
    one_tensor(&b, "t", 1, ne33, Q8_0, 0, 64);
    expect_fail(&b, TDIFF_E_BAD_FORMAT, 45, "not a multiple of the Q8_0 block size 32");
    const uint64_t ne32[1] = {32};
    one_tensor(&b, "t", 1, ne32, Q8_0, 0, 34);
    expect_ok(&b);
    /* K-quants: rows of whole 256-element super-blocks, every byte inside the file */
    static const struct { unsigned type; const char *name; size_t bytes; } kq[] = {
        {Q4_K, "Q4_K", 144}, {Q5_K, "Q5_K", 176}, {Q6_K, "Q6_K", 210}};
    const uint64_t ne256x2[2] = {256, 2};
    for (size_t i = 0; i < sizeof kq / sizeof kq[0]; i++) {
        char want[64];
        one_tensor(&b, "t", 1, ne32, kq[i].type, 0, 2 * kq[i].bytes);
        snprintf(want, sizeof want, "not a multiple of the %s block size 256", kq[i].name);
        expect_fail(&b, TDIFF_E_BAD_FORMAT, 45, want);
        one_tensor(&b, "t", 2, ne256x2, kq[i].type, 0, 2 * kq[i].bytes);
        expect_ok(&b);
        one_tensor(&b, "t", 2, ne256x2, kq[i].type, 0, 2 * kq[i].bytes - 1); /* one byte short */
        expect_fail(&b, TDIFF_E_BAD_FORMAT, 96, "lies outside");
    }
}

static void test_tensor_offsets_aligned_ordered_inside(void **state)
{
    (void)state;
    gb b;
    one_tensor(&b, "t", 2, NE42, F32, 4, 64);
    expect_fail(&b, TDIFF_E_BAD_FORMAT, 57, "not a multiple of the alignment 32");
    one_tensor(&b, "t", 2, NE42, F32, 32, 32); /* needs [32, 64) of a 32-byte section */
    expect_fail(&b, TDIFF_E_BAD_FORMAT, 96, "lies outside");
    one_tensor(&b, "t", 2, NE42, F32, UINT64_MAX - 31, 32); /* offset + size wraps */
    expect_fail(&b, TDIFF_E_BAD_FORMAT, 96, "lies outside");
    /* two tensors: the second starts inside the first / before it */
    const uint64_t ne16[1] = {16};
    for (int order = 0; order < 2; order++) {
        gb_init(&b);
        gb_header(&b, 3, 2, 0);
        gb_tinfo(&b, "a", 1, ne16, F32, order ? 64 : 0);
        gb_tinfo(&b, "b", 1, ne16, F32, 32);
        gb_pad(&b, 32);
        gb_zeros(&b, 128);
        expect_fail(&b, TDIFF_E_BAD_FORMAT, 96, "overlaps or precedes");
    }
    /* data section starting past the end (header claims a tensor, file ends at infos) */
    gb_init(&b);
    gb_header(&b, 3, 1, 0);
    gb_tinfo(&b, "t", 2, NE42, F32, 0);
    expect_fail(&b, TDIFF_E_BAD_FORMAT, 65, "data section");
}

/* A buffer whose data is only 2-byte aligned cannot hold F32 weights in place. */
static void test_misaligned_buffer_is_refused_not_misread(void **state)
{
    (void)state;
    gb b;
    valid(&b, 32);
    static uint64_t store[64];
    unsigned char *odd = (unsigned char *)store + 2;
    memcpy(odd, b.p, b.n);
    test_alloc a = {0};
    tdiff_host host;
    test_host_init(&host, &a);
    tdiff_model *m = NULL;
    char err[256];
    assert_int_equal(tdiff_model_load_memory(odd, b.n, &host, &m, err, sizeof err), TDIFF_E_UNSUPPORTED);
    assert_non_null(strstr(err, "4-byte aligned"));
    assert_int_equal(a.live, 0);
}

/* Every strict prefix of small.gguf (last tensor ends at the last byte) fails
 * with BAD_FORMAT and a message naming an offset, without leaks. */
static void test_every_truncation_is_rejected(void **state)
{
    (void)state;
    char path[1024];
    size_t size = 0;
    unsigned char *buf = test_read_file(test_source_path(path, sizeof path, "tests/unit/model/data/small.gguf"), &size);
    assert_non_null(buf);
    test_alloc a = {0};
    tdiff_host host;
    test_host_init(&host, &a);
    tdiff_model *m = NULL;
    char err[512];
    assert_int_equal(tdiff_model_load_memory(buf, size, &host, &m, err, sizeof err), TDIFF_OK);
    tdiff_model_free(m);
    for (size_t len = 0; len < size; len++) {
        tdiff_status st = tdiff_model_load_memory(buf, len, &host, &m, err, sizeof err);
        if (st != TDIFF_E_BAD_FORMAT)
            print_error("prefix %zu: status %d: %s\n", len, st, err);
        assert_int_equal(st, TDIFF_E_BAD_FORMAT);
        assert_null(m);
        assert_non_null(strstr(err, "offset "));
        assert_int_equal(a.live, 0);
    }
    test_free(buf);
}

/* Loads buf with allocation N failing (alone, or with every later one when
 * persistent) for N = 1, 2, ... until the load succeeds: each failure must be
 * TDIFF_E_OUT_OF_MEMORY with nothing leaked. Returns the N that succeeded. */
static long load_under_each_allocation_failure(const void *buf, size_t size, int persistent)
{
    long n;
    for (n = 1;; n++) {
        test_alloc a = {.fail_at = n, .persistent = persistent};
        tdiff_host host;
        test_host_init(&host, &a);
        tdiff_model *m = NULL;
        char err[256];
        tdiff_status st = tdiff_model_load_memory(buf, size, &host, &m, err, sizeof err);
        if (st == TDIFF_OK) {
            assert_true(a.count < n); /* the failing allocation was never reached */
            tdiff_model_free(m);
            assert_int_equal(a.live, 0);
            return n;
        }
        assert_int_equal(st, TDIFF_E_OUT_OF_MEMORY);
        assert_null(m);
        assert_int_equal(a.live, 0);
        assert_true(n < 1000);
    }
}

/* Every allocation of a load over a real fixture may fail, alone or with all
 * the later ones: the load fails cleanly each time. */
static void test_every_allocation_failure_is_clean(void **state)
{
    (void)state;
    char path[1024];
    size_t size = 0;
    void *buf = test_read_file(test_fixture_path(path, sizeof path, "dream-tiny.gguf"), &size);
    assert_non_null(buf);
    for (int mode = 0; mode < TEST_ALLOC_MODES; mode++)
        assert_true(load_under_each_allocation_failure(buf, size, mode) > 3); /* several tables are allocated */
    test_free(buf);
}

/* Finding 3 of issue 22: a FIFO made the load block forever in open(). A FIFO
 * and a character device are refused at once with TDIFF_E_IO (the alarm turns
 * a hang into a failure). */
#ifdef _WIN32
/* Windows has no FIFOs: the NUL device (refused by its handle's type) and a
 * directory stand in. */
static void test_fifos_and_devices_are_refused_without_blocking(void **state)
{
    (void)state;
    const char *paths[] = {"NUL", "."};
    for (size_t i = 0; i < 2; i++) {
        tdiff_model *m = (tdiff_model *)&m;
        char err[256] = "";
        assert_int_equal(tdiff_model_load_file(paths[i], NULL, &m, err, sizeof err), TDIFF_E_IO);
        assert_null(m);
        assert_non_null(strstr(err, "not a regular file"));
    }
}
#else
static void test_fifos_and_devices_are_refused_without_blocking(void **state)
{
    (void)state;
    char dir[] = "/tmp/tdiff-fifo-XXXXXX", fifo[64];
    assert_non_null(mkdtemp(dir));
    snprintf(fifo, sizeof fifo, "%s/model.gguf", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    const char *paths[] = {fifo, "/dev/null"};
    alarm(20);
    for (size_t i = 0; i < 2; i++) {
        tdiff_model *m = (tdiff_model *)&m;
        char err[256] = "";
        assert_int_equal(tdiff_model_load_file(paths[i], NULL, &m, err, sizeof err), TDIFF_E_IO);
        assert_null(m);
        assert_non_null(strstr(err, "not a regular file"));
    }
    alarm(0);
    unlink(fifo);
    rmdir(dir);
}
#endif

/* Architecture rules: each file of data/ breaks exactly one (make_data.py). */
static void test_architecture_rules(void **state)
{
    (void)state;
    static const struct {
        const char *file;
        const char *msg;
    } cases[] = {
        {"arch-missing-key.gguf", "required key 'llada.block_count' is missing"},
        {"arch-wrong-type.gguf", "'llada.block_count'"},
        {"arch-heads-divide.gguf", "not a multiple of attention.head_count 3"},
        {"arch-kv-heads-divide.gguf", "not a multiple of attention.head_count_kv 3"},
        {"arch-mask-range.gguf", "token id 260 is not below the vocabulary size 260"},
        {"arch-no-mask.gguf", "mask_token_id' is missing"},
        {"arch-vocab-size.gguf", "vocab_size 300 differs from the 260 tokens"},
        {"arch-token-types.gguf", "tokenizer.ggml.token_type"},
        {"arch-shape.gguf", "tensor 'blk.0.ffn_up.weight': shape 8 x 32, expected 16 x 32"},
        {"arch-missing-tensor.gguf", "tensor 'blk.0.attn_k.weight' (16 x 8) is missing"},
        {"arch-extra-layer.gguf", "tensor 'blk.1.attn_norm.weight' is not part of a llada model with 1 layers"},
        {"arch-llada-bias.gguf", "tensor 'blk.0.attn_q.bias' is not part"},
        {"arch-eps.gguf", "layer_norm_rms_epsilon': must be a finite positive number"},
        {"arch-rope-dim.gguf", "rope.dimension_count 7 is odd"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char rel[128], path[1024], err[512] = "";
        snprintf(rel, sizeof rel, "tests/unit/model/data/%s", cases[i].file);
        test_alloc a = {0};
        tdiff_host host;
        test_host_init(&host, &a);
        tdiff_model *m = NULL;
        tdiff_status st = tdiff_model_load_file(test_source_path(path, sizeof path, rel), &host, &m, err, sizeof err);
        if (st != TDIFF_E_BAD_FORMAT || !strstr(err, cases[i].msg))
            print_error("%s: status %d: %s\n", cases[i].file, st, err);
        assert_int_equal(st, TDIFF_E_BAD_FORMAT);
        assert_non_null(strstr(err, cases[i].msg));
        assert_int_equal(a.live, 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_handcrafted_file_loads),
        cmocka_unit_test(test_unknown_architecture_loads_with_generic_fields_only),
        cmocka_unit_test(test_magic_must_be_gguf),
        cmocka_unit_test(test_only_versions_2_and_3),
        cmocka_unit_test(test_huge_counts_rejected_before_allocation),
        cmocka_unit_test(test_keys_nonempty_bounded_and_inside),
        cmocka_unit_test(test_keys_unique),
        cmocka_unit_test(test_value_types_in_range_and_no_nested_arrays),
        cmocka_unit_test(test_bools_are_0_or_1),
        cmocka_unit_test(test_alignment_power_of_two_bounded_u32),
        cmocka_unit_test(test_tensor_names_short_unique_nonempty),
        cmocka_unit_test(test_tensor_dims_bounded_and_nonnegative),
        cmocka_unit_test(test_tensor_types_supported_and_blocks_whole),
        cmocka_unit_test(test_tensor_offsets_aligned_ordered_inside),
        cmocka_unit_test(test_misaligned_buffer_is_refused_not_misread),
        cmocka_unit_test(test_every_truncation_is_rejected),
        cmocka_unit_test(test_every_allocation_failure_is_clean),
        cmocka_unit_test(test_fifos_and_devices_are_refused_without_blocking),
        cmocka_unit_test(test_architecture_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
