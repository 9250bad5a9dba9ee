/*
 * test_wordpiece.c -- WordPiece ("bert") against the independent Python
 * reference (gen_wordpiece_golden.py) on the whole text set; [CLS]/[SEP];
 * detokenization of word pieces.
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

#define BERT_MODEL "tests/unit/tokenizer/data/bert.gguf"

static void test_wordpiece_ids_match_the_reference_on_every_text(void **state)
{
    (void)state;
    tok_fixture f;
    tok_open(&f, BERT_MODEL, 0);
    assert_int_equal(tdiff_tokenizer_kind(f.tok), TDIFF_TOKENIZER_WORDPIECE);
    assert_int_equal(tdiff_tokenizer_kind(NULL), 0);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    assert_int_equal(tdiff_tokenizer_get_kind(f.tok), TDIFF_TOKENIZER_WORDPIECE); /* the 0.1 name, one release */
    assert_int_equal(tdiff_tokenizer_get_kind(NULL), 0);
#pragma GCC diagnostic pop
    text_set t;
    golden g;
    texts_load(&t);
    golden_load(&g, "bert_ids.txt");
    assert_int_equal(t.n, g.n_lines);
    size_t texts_ok = 0, agree = 0, total = 0;
    for (size_t i = 0; i < t.n; i++) {
        size_t n;
        int32_t *ids = tok_encode(f.tok, t.s[i], t.len[i], 0, &n);
        bool same = n == g.count[i];
        for (size_t j = 0; j < n && j < g.count[i]; j++) {
            same = same && ids[j] == g.v[i][j];
            agree += ids[j] == g.v[i][j];
        }
        if (!same) {
            print_message("text %zu: %zu ids, reference %zu:", i, n, g.count[i]);
            for (size_t j = 0; j < n; j++)
                print_message(" %d", (int)ids[j]);
            print_message("\n");
        }
        texts_ok += same;
        total += g.count[i];
        test_free(ids);
    }
    print_message("wordpiece: %zu/%zu texts, %zu/%zu ids agree with the reference\n", texts_ok, t.n, agree, total);
    assert_int_equal(texts_ok, t.n);
    golden_free(&g);
    texts_free(&t);
    tok_close(&f);
}

static void test_add_special_wraps_in_cls_and_sep(void **state)
{
    (void)state;
    tok_fixture f;
    tok_open(&f, BERT_MODEL, 0);
    size_t n;
    int32_t *ids = tok_encode(f.tok, "Hello, World!", 13, TDIFF_TOKENIZE_ADD_SPECIAL, &n);
    const int32_t want[] = {101, 7592, 1010, 2088, 999, 102};
    assert_int_equal(n, 6);
    assert_memory_equal(ids, want, sizeof want);
    int32_t id;
    assert_int_equal(tdiff_tokenizer_special_id(f.tok, TDIFF_SPECIAL_MASK, &id), TDIFF_OK);
    assert_int_equal(id, 103);
    test_free(ids);
    tok_close(&f);
}

static void test_word_pieces_detokenize_to_words(void **state)
{
    (void)state;
    tok_fixture f;
    tok_open(&f, BERT_MODEL, 0);
    const char *text = "tokenization is unbelievable";
    size_t n, len;
    int32_t *ids = tok_encode(f.tok, text, strlen(text), TDIFF_TOKENIZE_ADD_SPECIAL, &n);
    assert_true(n > 5); /* the long words are split into pieces */
    char *s = tok_decode(f.tok, ids, n, 0, &len);
    assert_int_equal(len, strlen(text));
    assert_memory_equal(s, text, len);
    test_free(s);
    test_free(ids);
    tok_close(&f);
}

static void test_too_long_words_become_unknown(void **state)
{
    (void)state;
    tok_fixture f;
    tok_open(&f, BERT_MODEL, 0);
    char text[128];
    memset(text, 'a', 101);
    strcpy(text + 101, " b");
    size_t n;
    int32_t *ids = tok_encode(f.tok, text, strlen(text), 0, &n);
    assert_int_equal(n, 2);
    assert_int_equal(ids[0], 100); /* [UNK] */
    assert_int_equal(ids[1], 1038); /* b */
    test_free(ids);
    text[100] = ' '; /* 100 characters are still a word */
    ids = tok_encode(f.tok, text, strlen(text), 0, &n);
    assert_true(n > 2 && ids[0] != 100);
    test_free(ids);
    tok_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wordpiece_ids_match_the_reference_on_every_text),
        cmocka_unit_test(test_add_special_wraps_in_cls_and_sep),
        cmocka_unit_test(test_word_pieces_detokenize_to_words),
        cmocka_unit_test(test_too_long_words_become_unknown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
