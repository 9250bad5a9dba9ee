/*
 * test_from_model.c -- the glue from a loaded model's tokenizer.ggml.* keys to
 * a tokenizer: small GGUF files are written in memory (every key explicit, so a
 * test can store a wrong type or length) and loaded with tdiff_model_load_memory.
 * Some faults are already caught by the model loader (tokens that are not
 * strings, token_type of another length, special ids >= vocabulary size); the
 * tests accept either layer rejecting them, and check the tokenizer's own
 * message when the loader lets the file through.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "support.h"
#include "tokenizer/unicode.h"
#include "tokenizer/tokenizer.h"

enum { T_U32 = 4, T_I32 = 5, T_BOOL = 7, T_STR = 8, T_ARR = 9 };

typedef struct buf {
    uint8_t b[16384];
    size_t n;
} buf;

static void put(buf *w, const void *p, size_t n)
{
    assert_true(w->n + n <= sizeof w->b);
    memcpy(w->b + w->n, p, n);
    w->n += n;
}
static void u32(buf *w, uint32_t v)
{
    uint8_t c[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    put(w, c, 4);
}
static void u64(buf *w, uint64_t v)
{
    u32(w, (uint32_t)v);
    u32(w, (uint32_t)(v >> 32));
}
static void str(buf *w, const char *s, size_t n)
{
    u64(w, n);
    put(w, s, n);
}
static void key(buf *w, const char *k, uint32_t type)
{
    str(w, k, strlen(k));
    u32(w, type);
}

/* What to write: a byte-level vocabulary (256 byte symbols + "ab") with one
 * merge, and the deliberate faults. */
typedef struct spec {
    bool no_model, tokens_as_ints, add_bos_as_u32;
    size_t n_types;          /* 0 = 257 (the right count) */
    uint32_t bos;            /* 256 = "ab" */
} spec;

static size_t write_gguf(buf *w, const spec *s)
{
    w->n = 0;
    put(w, "GGUF", 4);
    u32(w, 3);
    u64(w, 0);                               /* tensors */
    u64(w, s->no_model ? 6 : 7);             /* metadata entries */
    key(w, "general.architecture", T_STR);
    str(w, "tokenizer-test", 14);
    if (!s->no_model) {
        key(w, "tokenizer.ggml.model", T_STR);
        str(w, "gpt2", 4);
    }
    key(w, "tokenizer.ggml.tokens", T_ARR);
    if (s->tokens_as_ints) {
        u32(w, T_I32);
        u64(w, 257);
        for (int i = 0; i < 257; i++)
            u32(w, (uint32_t)i);
    } else {
        u32(w, T_STR);
        u64(w, 257);
        for (int b = 0; b < 256; b++) {
            uint8_t u[4];
            size_t n = tdiff__utf8_encode(tdiff__gpt2_byte_to_cp((uint8_t)b), u);
            str(w, (const char *)u, n);
        }
        str(w, "ab", 2);
    }
    size_t nt = s->n_types ? s->n_types : 257;
    key(w, "tokenizer.ggml.token_type", T_ARR);
    u32(w, T_I32);
    u64(w, nt);
    for (size_t i = 0; i < nt; i++)
        u32(w, 1);
    key(w, "tokenizer.ggml.merges", T_ARR);
    u32(w, T_STR);
    u64(w, 1);
    str(w, "a b", 3);
    key(w, "tokenizer.ggml.bos_token_id", T_U32);
    u32(w, s->bos);
    if (s->add_bos_as_u32) {
        key(w, "tokenizer.ggml.add_bos_token", T_U32);
        u32(w, 1);
    } else {
        key(w, "tokenizer.ggml.add_bos_token", T_BOOL);
        uint8_t one = 1;
        put(w, &one, 1);
    }
    return w->n;
}

/* Loads the file and creates its tokenizer; returns the creation status (or
 * the load status, in *load, when loading already fails). */
static tdiff_status create_from(const spec *s, tdiff_status *load, char *err, size_t cap)
{
    static buf w;
    write_gguf(&w, s);
    test_alloc alloc = {0};
    tdiff_host host;
    test_host_init(&host, &alloc);
    tdiff_model *m = NULL;
    *load = tdiff_model_load_memory(w.b, w.n, &host, &m, err, cap);
    if (*load != TDIFF_OK)
        return *load;
    tdiff_tokenizer *t = NULL;
    tdiff_status st = tdiff_tokenizer_create(m, &host, &t, err, cap);
    if (st == TDIFF_OK) {
        int32_t ids[4];
        size_t n;
        assert_int_equal(tdiff_tokenizer_tokenize(t, "ab", 2, TDIFF_TOKENIZE_ADD_SPECIAL, ids, 4, &n), TDIFF_OK);
        assert_int_equal(n, 2);
        assert_int_equal(ids[0], (int32_t)s->bos);
        assert_int_equal(ids[1], 256);
    } else {
        assert_null(t);
    }
    tdiff_tokenizer_free(t);
    tdiff_model_free(m);
    assert_int_equal(alloc.live, 0);
    return st;
}

static void test_a_well_formed_file_gives_a_working_tokenizer(void **state)
{
    (void)state;
    spec s = {.bos = 256};
    tdiff_status load;
    char err[256] = "";
    assert_int_equal(create_from(&s, &load, err, sizeof err), TDIFF_OK);
}

static void test_a_file_without_tokenizer_model_is_not_found(void **state)
{
    (void)state;
    spec s = {.bos = 256, .no_model = true};
    tdiff_status load;
    char err[256] = "";
    assert_int_equal(create_from(&s, &load, err, sizeof err), TDIFF_E_NOT_FOUND);
    assert_non_null(strstr(err, "tokenizer.ggml.model"));
}

static void test_tokens_that_are_not_strings_are_rejected(void **state)
{
    (void)state;
    spec s = {.bos = 256, .tokens_as_ints = true};
    tdiff_status load;
    char err[256] = "";
    tdiff_status st = create_from(&s, &load, err, sizeof err);
    assert_int_not_equal(st, TDIFF_OK); /* by the loader or by the tokenizer */
    if (load == TDIFF_OK) {
        assert_int_equal(st, TDIFF_E_BAD_FORMAT);
        assert_non_null(strstr(err, "tokenizer.ggml.tokens"));
    }
}

static void test_token_types_of_another_length_in_a_file_are_rejected(void **state)
{
    (void)state;
    spec s = {.bos = 256, .n_types = 200};
    tdiff_status load;
    char err[256] = "";
    tdiff_status st = create_from(&s, &load, err, sizeof err);
    assert_int_not_equal(st, TDIFF_OK);
    if (load == TDIFF_OK)
        assert_non_null(strstr(err, "token_type"));
}

static void test_a_bos_id_outside_the_vocabulary_in_a_file_is_rejected(void **state)
{
    (void)state;
    spec s = {.bos = 257};
    tdiff_status load;
    char err[256] = "";
    tdiff_status st = create_from(&s, &load, err, sizeof err);
    assert_int_not_equal(st, TDIFF_OK); /* the loader checks special ids too */
    if (load == TDIFF_OK)
        assert_non_null(strstr(err, "BOS"));
}

static void test_a_flag_that_is_not_a_bool_is_rejected(void **state)
{
    (void)state;
    spec s = {.bos = 256, .add_bos_as_u32 = true};
    tdiff_status load;
    char err[256] = "";
    assert_int_equal(create_from(&s, &load, err, sizeof err), TDIFF_E_BAD_FORMAT);
    assert_non_null(strstr(err, "add_bos_token"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_well_formed_file_gives_a_working_tokenizer),
        cmocka_unit_test(test_a_file_without_tokenizer_model_is_not_found),
        cmocka_unit_test(test_tokens_that_are_not_strings_are_rejected),
        cmocka_unit_test(test_token_types_of_another_length_in_a_file_are_rejected),
        cmocka_unit_test(test_a_bos_id_outside_the_vocabulary_in_a_file_is_rejected),
        cmocka_unit_test(test_a_flag_that_is_not_a_bool_is_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
