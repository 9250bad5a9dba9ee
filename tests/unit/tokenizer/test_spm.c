/*
 * test_spm.c -- SentencePiece BPE ("llama") against Debian's spm_encode on a
 * model trained with spm_train (gen_spm_golden.py); byte fallback, BOS, round
 * trips.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "tok_test.h"
#include "tokenizer/tokenizer.h"

#define SPM_MODEL "tests/unit/tokenizer/data/spm.gguf"

static void test_spm_ids_match_spm_encode_on_every_line(void **state)
{
    (void)state;
    tok_fixture f;
    tok_open(&f, SPM_MODEL, 0);
    assert_int_equal(tdiff_tokenizer_kind(f.tok), TDIFF_TOKENIZER_SPM);
    text_set t;
    golden g;
    texts_load_file(&t, "spm_texts.bin");
    golden_load(&g, "spm_ids.txt");
    assert_int_equal(t.n, g.n_lines);
    size_t ok = 0, agree = 0, total = 0;
    for (size_t i = 0; i < t.n; i++) {
        size_t n;
        int32_t *ids = tok_encode(f.tok, t.s[i], t.len[i], 0, &n);
        bool same = n == g.count[i];
        for (size_t j = 0; j < n && j < g.count[i]; j++) {
            same = same && ids[j] == g.v[i][j];
            agree += ids[j] == g.v[i][j];
        }
        if (!same) {
            print_message("line %zu \"%s\": %zu ids, spm_encode %zu:", i, t.s[i], n, g.count[i]);
            for (size_t j = 0; j < n; j++)
                print_message(" %d", (int)ids[j]);
            print_message("\n");
        }
        ok += same;
        total += g.count[i];
        test_free(ids);
    }
    print_message("spm: %zu/%zu lines, %zu/%zu ids agree with spm_encode\n", ok, t.n, agree, total);
    assert_int_equal(ok, t.n);
    golden_free(&g);
    texts_free(&t);
    tok_close(&f);
}

/* detokenize(tokenize(x)) == x, and streaming gives the same bytes */
static void test_spm_round_trip_gives_every_line_back(void **state)
{
    (void)state;
    tok_fixture f;
    tok_open(&f, SPM_MODEL, 0);
    text_set t;
    texts_load_file(&t, "spm_texts.bin");
    for (size_t i = 0; i < t.n; i++) {
        size_t n, len;
        int32_t *ids = tok_encode(f.tok, t.s[i], t.len[i], TDIFF_TOKENIZE_ADD_SPECIAL, &n);
        char *back = tok_decode(f.tok, ids, n, 0, &len);
        if (len != t.len[i] || memcmp(back, t.s[i], len))
            fail_msg("line %zu \"%s\" came back as \"%s\"", i, t.s[i], back);
        /* streaming writes the same bytes (the prefix space dropped once) */
        char *cat = test_malloc(len + 64);
        size_t c = 0, k;
        tdiff_token_stream s;
        tdiff_token_stream_init(&s);
        for (size_t j = 0; j < n; j++) {
            assert_int_equal(tdiff_tokenizer_stream_piece(f.tok, &s, ids[j], 0, cat + c, len + 64 - c, &k), TDIFF_OK);
            c += k;
        }
        assert_int_equal(tdiff_token_stream_flush(&s, cat + c, len + 64 - c, &k), TDIFF_OK);
        c += k;
        assert_int_equal(c, len);
        assert_memory_equal(cat, back, len);
        test_free(cat);
        test_free(back);
        test_free(ids);
    }
    texts_free(&t);
    tok_close(&f);
}

static void test_unseen_characters_fall_back_to_byte_tokens(void **state)
{
    (void)state;
    tok_fixture f;
    tok_open(&f, SPM_MODEL, 0);
    const char *text = "\xe6\xbc\xa2"; /* U+6F22, not in the training text */
    size_t n;
    int32_t *ids = tok_encode(f.tok, text, 3, TDIFF_TOKENIZE_ADD_SPECIAL, &n);
    assert_int_equal(n, 5); /* <s> ▁ <0xE6> <0xBC> <0xA2> */
    assert_int_equal(ids[0], 1);
    char buf[16];
    size_t len;
    assert_int_equal(tdiff_tokenizer_token_text(f.tok, ids[2], buf, sizeof buf, &len), TDIFF_OK);
    assert_int_equal(len, 6);
    assert_memory_equal(buf, "<0xE6>", 6);
    test_free(ids);
    tok_close(&f);
}

/* Long texts are cut into chunks and words are merged one by one (the test
 * vocabulary allows it): the ids must be those of merging everything at once. */
static void test_chunks_and_per_word_merging_do_not_change_the_ids(void **state)
{
    (void)state;
    tok_fixture f;
    tok_open(&f, SPM_MODEL, 0);
    text_set t;
    texts_load_file(&t, "spm_texts.bin");
    size_t cap = 300000, len = 0;
    char *big = test_malloc(cap);
    while (len < cap - 4096)
        for (size_t i = 0; i < t.n && len + t.len[i] + 4 < cap; i++) {
            memcpy(big + len, t.s[i], t.len[i]);
            len += t.len[i];
            big[len++] = ' ';
        }
    tdiff__env env;
    assert_int_equal(tdiff__env_init(&env, &f.host), TDIFF_OK);
    tdiff__ids fast = {NULL, 0, 0, &env}, whole = {NULL, 0, 0, &env};
    assert_int_equal(tdiff__spm_encode_opts(f.tok, big, len, true, true, &fast), TDIFF_OK);
    assert_int_equal(tdiff__spm_encode_opts(f.tok, big, len, true, false, &whole), TDIFF_OK);
    assert_true(len > 2 * 65536);
    assert_int_equal(fast.n, whole.n);
    assert_memory_equal(fast.v, whole.v, fast.n * sizeof *fast.v);
    print_message("%zu bytes, %zu ids identical on both paths\n", len, fast.n);
    tdiff__free(&env, fast.v);
    tdiff__free(&env, whole.v);
    test_free(big);
    texts_free(&t);
    tok_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spm_ids_match_spm_encode_on_every_line),
        cmocka_unit_test(test_spm_round_trip_gives_every_line_back),
        cmocka_unit_test(test_unseen_characters_fall_back_to_byte_tokens),
        cmocka_unit_test(test_chunks_and_per_word_merging_do_not_change_the_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
