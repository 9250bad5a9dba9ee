/*
 * test_roundtrip.c -- tools/gguf.py -> C loader, bit for bit. data/roundtrip.gguf
 * holds every metadata type (scalars and arrays of each element type) and every
 * tensor type; data/roundtrip.expect (both from make_data.py) says what the
 * loader must report. Format of .expect, one record per line:
 *   alignment A
 *   kv KEY TYPE ELEM_TYPE COUNT V...    ints in decimal, f32/f64 as hex bits,
 *                                       bools 0/1, strings as hex bytes ('-' = empty)
 *   tensor NAME TYPE N_DIMS NE0 NE1 NE2 NE3 NBYTES OFFSET
 *   raw HEX                             the tensor's bytes as Python wrote them
 *   f32 HEX...                          numpy's dequantisation, as f32 bit patterns
 * The C dequantisation (SIMD table) must equal numpy's bit for bit: both compute
 * one float32 product d * q per value.
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "model/cursor.h"
#include "model/model.h"
#include "support.h"

static size_t unhex(const char *s, unsigned char *out, size_t cap)
{
    if (!strcmp(s, "-"))
        return 0;
    size_t n = strlen(s) / 2;
    assert_true(n <= cap);
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        assert_int_equal(sscanf(s + 2 * i, "%2x", &v), 1);
        out[i] = (unsigned char)v;
    }
    return n;
}

static size_t elem_size(unsigned t)
{
    static const size_t sizes[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    return sizes[t];
}

/* Checks element i of entry e against the token `tok` of the expect line. */
static void check_value(const tdiff_model *m, const char *key, const tdiff__meta *e, unsigned t, size_t i,
                        const char *tok)
{
    const uint8_t *p = e->type == TDIFF_META_ARRAY ? NULL : e->data;
    if (t == TDIFF_META_STRING) {
        unsigned char want[256];
        size_t n = unhex(tok, want, sizeof want);
        const char *s;
        size_t len;
        if (e->type == TDIFF_META_ARRAY)
            assert_int_equal(tdiff__meta_arr_str(e, i, &s, &len), TDIFF_OK);
        else
            assert_int_equal(tdiff__meta_get_str(m, key, &s, &len), TDIFF_OK);
        assert_int_equal(len, n);
        assert_memory_equal(s, want, n);
        return;
    }
    if (!p)
        p = e->data + i * elem_size(t);
    uint64_t raw = tdiff__le_u64(p, elem_size(t));
    if (t == TDIFF_META_F32 || t == TDIFF_META_F64) {
        uint64_t bits = strtoull(tok, NULL, 16);
        assert_true(raw == bits);
        if (t == TDIFF_META_F32 && e->type == TDIFF_META_ARRAY) {
            float f;
            assert_int_equal(tdiff__meta_arr_f32(e, i, &f), TDIFF_OK);
            uint32_t fb;
            memcpy(&fb, &f, 4);
            assert_true(fb == (uint32_t)bits);
        } else if (t == TDIFF_META_F32) {
            float f;
            assert_int_equal(tdiff_model_meta_get_f32(m, key, &f), TDIFF_OK);
            uint32_t fb;
            memcpy(&fb, &f, 4);
            assert_true(fb == (uint32_t)bits);
        }
        return;
    }
    if (t == TDIFF_META_BOOL) {
        assert_int_equal(raw, (uint64_t)atoi(tok));
        if (e->type != TDIFF_META_ARRAY) {
            int b;
            assert_int_equal(tdiff_model_meta_get_bool(m, key, &b), TDIFF_OK);
            assert_int_equal(b, atoi(tok));
        }
        return;
    }
    /* integers: compare through the widest getter that represents the value */
    bool is_signed = t == TDIFF_META_I8 || t == TDIFF_META_I16 || t == TDIFF_META_I32 || t == TDIFF_META_I64;
    if (is_signed) {
        long long want = strtoll(tok, NULL, 10);
        int64_t got;
        if (e->type != TDIFF_META_ARRAY) {
            assert_int_equal(tdiff__meta_value_i64(e, &got), TDIFF_OK);
            assert_true(got == want);
        }
        int64_t sx = (int64_t)(raw << (64 - 8 * elem_size(t))) >> (64 - 8 * elem_size(t));
        assert_true(sx == want);
        int32_t i32;
        tdiff_status st = e->type == TDIFF_META_ARRAY ? tdiff__meta_arr_i32(e, i, &i32)
                                                       : tdiff__meta_get_i32(m, key, &i32);
        if (want >= INT32_MIN && want <= INT32_MAX) {
            assert_int_equal(st, TDIFF_OK);
            assert_true(i32 == want);
        } else {
            assert_int_equal(st, TDIFF_E_OVERFLOW);
        }
    } else {
        unsigned long long want = strtoull(tok, NULL, 10);
        assert_true(raw == want);
        if (e->type != TDIFF_META_ARRAY) {
            uint64_t u;
            assert_int_equal(tdiff__meta_get_u64(m, key, &u), TDIFF_OK);
            assert_true(u == want);
            uint32_t u32;
            assert_int_equal(tdiff__meta_get_u32(m, key, &u32), want <= UINT32_MAX ? TDIFF_OK : TDIFF_E_OVERFLOW);
        }
    }
}

static void check_kv(const tdiff_model *m, char *line)
{
    char *save;
    strtok_r(line, " \n", &save);
    const char *key = strtok_r(NULL, " \n", &save);
    unsigned t = (unsigned)atoi(strtok_r(NULL, " \n", &save));
    unsigned et = (unsigned)atoi(strtok_r(NULL, " \n", &save));
    size_t count = (size_t)atoi(strtok_r(NULL, " \n", &save));
    tdiff_meta_type gt, get;
    size_t gn;
    assert_int_equal(tdiff_model_meta_type(m, key, &gt, &get, &gn), TDIFF_OK);
    assert_int_equal(gt, t);
    assert_int_equal(get, et);
    assert_int_equal(gn, count);
    const tdiff__meta *e = tdiff__meta_find(m, key);
    for (size_t i = 0; i < count; i++) {
        const char *tok = strtok_r(NULL, " \n", &save);
        assert_non_null(tok);
        check_value(m, key, e, et, i, tok);
    }
    assert_null(strtok_r(NULL, " \n", &save));
}

/* Every SIMD variant this machine runs dequantises t to exactly `want`, as a
 * whole and row by row. */
static void check_dequant_every_isa(const tdiff__tensor *t, const uint32_t *want)
{
    static const tdiff_isa isas[] = {TDIFF_ISA_SCALAR, TDIFF_ISA_AVX2, TDIFF_ISA_AVX512, TDIFF_ISA_NEON};
    for (size_t v = 0; v < sizeof isas / sizeof isas[0]; v++) {
        const tdiff__kernels *k = tdiff__kernels_for(isas[v]);
        if (!k)
            continue;
        float got[1024], row[1024];
        assert_true(t->n_elems <= 1024 && t->ne[0] <= 1024);
        assert_int_equal(tdiff__tensor_rows_to_f32(k, t, 0, t->n_rows, got), TDIFF_OK);
        for (size_t i = 0; i < t->n_elems; i++) {
            uint32_t g;
            memcpy(&g, &got[i], 4);
            if (g != want[i])
                print_error("%.*s[%zu]: C %08x, numpy %08x (%s kernels)\n", (int)t->name_len, t->name, i, g,
                            want[i], k->name);
            assert_true(g == want[i]);
        }
        for (size_t r = 0; r < t->n_rows; r++) {
            assert_int_equal(tdiff__tensor_row_to_f32(k, t, r, row), TDIFF_OK);
            assert_memory_equal(row, got + r * t->ne[0], t->ne[0] * sizeof(float));
        }
        assert_int_equal(tdiff__tensor_row_to_f32(k, t, t->n_rows, row), TDIFF_E_INVALID_ARGUMENT);
    }
}

/* One whole line of f in *buf (grown as needed; fgets, as Windows has no getline). */
static char *next_line(FILE *f, char **buf, size_t *cap)
{
    size_t len = 0;
    for (;;) {
        if (*cap - len < 2) {
            *cap = *cap ? 2 * *cap : 256;
            *buf = realloc(*buf, *cap);
            assert_non_null(*buf);
        }
        if (!fgets(*buf + len, (int)(*cap - len), f))
            return len ? *buf : NULL;
        len += strlen(*buf + len);
        if ((*buf)[len - 1] == '\n')
            return *buf;
    }
}

static void test_python_writer_round_trips_bit_for_bit(void **state)
{
    (void)state;
    char path[1024];
    test_alloc a = {0};
    tdiff_host host;
    test_host_init(&host, &a);
    tdiff_model *m = NULL;
    char err[512];
    tdiff_status st = tdiff_model_load_file(test_source_path(path, sizeof path, "tests/unit/model/data/roundtrip.gguf"),
                                            &host, &m, err, sizeof err);
    if (st != TDIFF_OK)
        print_error("%s\n", err);
    assert_int_equal(st, TDIFF_OK);
    FILE *f = fopen(test_source_path(path, sizeof path, "tests/unit/model/data/roundtrip.expect"), "r");
    assert_non_null(f);
    char *buf = NULL;
    size_t cap = 0;
    size_t n_kv = 0, n_tensors = 0;
    while (next_line(f, &buf, &cap)) {
        if (!strncmp(buf, "alignment ", 10)) {
            assert_int_equal(m->alignment, (size_t)atoi(buf + 10));
        } else if (!strncmp(buf, "kv ", 3)) {
            check_kv(m, buf);
            n_kv++;
        } else if (!strncmp(buf, "tensor ", 7)) {
            char name[64];
            unsigned type, nd;
            size_t ne[4], nbytes;
            unsigned long long off;
            assert_int_equal(sscanf(buf, "tensor %63s %u %u %zu %zu %zu %zu %zu %llu", name, &type, &nd, &ne[0],
                                    &ne[1], &ne[2], &ne[3], &nbytes, &off), 9);
            const tdiff__tensor *t = tdiff__tensor_find(m, name);
            assert_non_null(t);
            assert_int_equal(t->type, type);
            assert_int_equal(t->n_dims, nd);
            for (int d = 0; d < 4; d++)
                assert_int_equal(t->ne[d], ne[d]);
            assert_int_equal(t->nbytes, nbytes);
            assert_int_equal(t->offset, off);
            assert_non_null(next_line(f, &buf, &cap));
            assert_int_equal(strncmp(buf, "raw ", 4), 0);
            buf[strcspn(buf, "\n")] = '\0';
            unsigned char raw[4096];
            assert_int_equal(unhex(buf + 4, raw, sizeof raw), nbytes);
            assert_memory_equal(t->data, raw, nbytes);
            assert_non_null(next_line(f, &buf, &cap));
            assert_int_equal(strncmp(buf, "f32 ", 4), 0);
            uint32_t want[1024];
            assert_true(t->n_elems <= 1024);
            char *save, *tok = strtok_r(buf + 4, " \n", &save);
            for (size_t i = 0; i < t->n_elems; i++, tok = strtok_r(NULL, " \n", &save)) {
                assert_non_null(tok);
                want[i] = (uint32_t)strtoul(tok, NULL, 16);
            }
            assert_null(tok);
            check_dequant_every_isa(t, want);
            n_tensors++;
        }
    }
    free(buf);
    fclose(f);
    assert_int_equal(n_kv, m->n_meta - 1); /* + general.alignment */
    assert_int_equal(n_tensors, m->n_tensors);
    tdiff_model_free(m);
    assert_int_equal(a.live, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_python_writer_round_trips_bit_for_bit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
