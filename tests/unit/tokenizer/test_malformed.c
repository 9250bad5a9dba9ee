/*
 * test_malformed.c -- malformed tokenizer metadata is rejected at creation with
 * a message that names the problem; one test per malformation. The tokenizers
 * are built from plain configurations (what tokenizer.ggml.* would hold), which
 * also serve the small behaviour tests here (merging, Llama-3 ignore_merges).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "support.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

/* A small valid byte-level vocabulary: the 256 byte symbols, "ab", "abc",
 * "<|end|>" (control); merges "a b", "ab c". */
typedef struct vocab {
    char text[300][8];
    const char *tokens[300];
    size_t lens[300];
    int32_t types[300];
    float scores[300];
    const char *merges[4];
    size_t merge_lens[4];
    tdiff__tok_config cfg;
} vocab;

static void vocab_init(vocab *v)
{
    memset(v, 0, sizeof *v);
    size_t n = 0;
    for (int b = 0; b < 256; b++, n++)
        v->lens[n] = tdiff__utf8_encode(tdiff__gpt2_byte_to_cp((uint8_t)b), (uint8_t *)v->text[n]);
    strcpy(v->text[n], "ab"), v->lens[n++] = 2;
    strcpy(v->text[n], "abc"), v->lens[n++] = 3;
    strcpy(v->text[n], "<|end|>"), v->lens[n++] = 7;
    for (size_t i = 0; i < n; i++) {
        v->tokens[i] = v->text[i];
        v->types[i] = TDIFF__TOK_NORMAL;
        v->scores[i] = -(float)i;
    }
    v->types[n - 1] = TDIFF__TOK_CONTROL;
    v->merges[0] = "a b", v->merge_lens[0] = 3;
    v->merges[1] = "ab c", v->merge_lens[1] = 4;
    tdiff__tok_config *c = &v->cfg;
    c->model = "gpt2", c->model_len = 4;
    c->pre = "default", c->pre_len = 7;
    c->n_tokens = n, c->tokens = v->tokens, c->token_lens = v->lens;
    c->n_types = n, c->types = v->types;
    c->n_merges = 2, c->merges = v->merges, c->merge_lens = v->merge_lens;
    c->bos = c->eos = (int64_t)n - 1;
    c->unk = c->pad = c->mask = c->sep = c->cls = -1;
    c->add_bos = c->add_eos = c->add_space_prefix = -1;
}

/* Creates from v->cfg; returns the status and checks the message mentions `word`. */
static tdiff_status create(vocab *v, const char *word)
{
    test_alloc alloc = {0};
    tdiff_host host;
    test_host_init(&host, &alloc);
    struct tdiff_tokenizer *t = NULL;
    char err[512] = "";
    tdiff_status st = tdiff__tokenizer_create_config(&v->cfg, &host, &t, err, sizeof err);
    if (st == TDIFF_OK) {
        assert_non_null(t);
        tdiff_tokenizer_free(t);
    } else {
        assert_null(t);
        if (word && !strstr(err, word))
            fail_msg("message \"%s\" does not mention \"%s\"", err, word);
    }
    assert_int_equal(alloc.live, 0);
    return st;
}

static void test_the_valid_vocabulary_is_accepted_and_merges(void **state)
{
    (void)state;
    vocab v;
    vocab_init(&v);
    test_alloc alloc = {0};
    tdiff_host host;
    test_host_init(&host, &alloc);
    struct tdiff_tokenizer *t;
    char err[256];
    assert_int_equal(tdiff__tokenizer_create_config(&v.cfg, &host, &t, err, sizeof err), TDIFF_OK);
    int32_t ids[8];
    size_t n;
    assert_int_equal(tdiff_tokenizer_tokenize(t, "abc", 3, 0, ids, 8, &n), TDIFF_OK);
    assert_int_equal(n, 1);
    assert_int_equal(ids[0], 257);
    tdiff_tokenizer_free(t);
    assert_int_equal(alloc.live, 0);
}

/* "abc" is a token that no merge makes: Llama-3 pre-tokenizers take a piece that
 * is a whole token as is (llama.cpp's ignore_merges), the others merge. */
static void test_llama3_takes_pieces_that_are_whole_tokens(void **state)
{
    (void)state;
    const char *pres[] = {"default", "llama3", "qwen2", "llama-bpe"};
    const size_t want_n[] = {2, 1, 2, 1};
    for (int k = 0; k < 4; k++) {
        vocab v;
        vocab_init(&v);
        v.cfg.n_merges = 1; /* only "a b" */
        v.cfg.pre = pres[k], v.cfg.pre_len = strlen(pres[k]);
        test_alloc alloc = {0};
        tdiff_host host;
        test_host_init(&host, &alloc);
        struct tdiff_tokenizer *t;
        assert_int_equal(tdiff__tokenizer_create_config(&v.cfg, &host, &t, NULL, 0), TDIFF_OK);
        int32_t ids[8];
        size_t n;
        assert_int_equal(tdiff_tokenizer_tokenize(t, "abc", 3, 0, ids, 8, &n), TDIFF_OK);
        assert_int_equal(n, want_n[k]);
        assert_int_equal(ids[0], n == 1 ? 257 : 256);
        tdiff_tokenizer_free(t);
        assert_int_equal(alloc.live, 0);
    }
}

static void test_token_types_of_another_length_are_rejected(void **state)
{
    (void)state;
    vocab v;
    vocab_init(&v);
    v.cfg.n_types = v.cfg.n_tokens - 1;
    assert_int_equal(create(&v, "token_type"), TDIFF_E_BAD_FORMAT);
}

static void test_scores_of_another_length_are_rejected(void **state)
{
    (void)state;
    vocab v;
    vocab_init(&v);
    v.cfg.scores = v.scores;
    v.cfg.n_scores = 3;
    assert_int_equal(create(&v, "scores"), TDIFF_E_BAD_FORMAT);
}

static void test_token_types_outside_the_enum_are_rejected(void **state)
{
    (void)state;
    vocab v;
    vocab_init(&v);
    v.types[5] = 7;
    assert_int_equal(create(&v, "type"), TDIFF_E_BAD_FORMAT);
}

static void test_byte_tokens_not_spelled_0xNN_are_rejected(void **state)
{
    (void)state;
    const char *bad[] = {"<0x0a>", "<0xG0>", "<0x0A", "0x0A>", "<0x0AA>", "<0X0A>"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        vocab v;
        vocab_init(&v);
        v.cfg.model = "llama", v.cfg.model_len = 5;
        v.cfg.scores = v.scores, v.cfg.n_scores = v.cfg.n_tokens, v.cfg.n_merges = 0;
        strcpy(v.text[256], bad[i]);
        v.lens[256] = strlen(bad[i]);
        v.types[256] = TDIFF__TOK_BYTE;
        assert_int_equal(create(&v, "BYTE"), TDIFF_E_BAD_FORMAT);
    }
    /* the strict spelling is accepted */
    vocab v;
    vocab_init(&v);
    v.cfg.model = "llama", v.cfg.model_len = 5;
    v.cfg.scores = v.scores, v.cfg.n_scores = v.cfg.n_tokens, v.cfg.n_merges = 0;
    strcpy(v.text[256], "<0x0A>");
    v.lens[256] = 6;
    v.types[256] = TDIFF__TOK_BYTE;
    assert_int_equal(create(&v, "(accepted)"), TDIFF_OK);
}

static void test_special_ids_outside_the_vocabulary_are_rejected(void **state)
{
    (void)state;
    const char *names[] = {"BOS", "EOS", "unknown", "padding", "mask"};
    for (int k = 0; k < 5; k++) {
        vocab v;
        vocab_init(&v);
        int64_t *field[] = {&v.cfg.bos, &v.cfg.eos, &v.cfg.unk, &v.cfg.pad, &v.cfg.mask};
        *field[k] = (int64_t)v.cfg.n_tokens;
        assert_int_equal(create(&v, names[k]), TDIFF_E_BAD_FORMAT);
    }
}

static void test_duplicate_tokens_are_rejected(void **state)
{
    (void)state;
    vocab v;
    vocab_init(&v);
    strcpy(v.text[257], "ab");
    v.lens[257] = 2;
    assert_int_equal(create(&v, "same text"), TDIFF_E_BAD_FORMAT);
}

static void test_merges_naming_unknown_tokens_are_rejected(void **state)
{
    (void)state;
    vocab v;
    vocab_init(&v);
    v.merges[1] = "abx c", v.merge_lens[1] = 5;
    assert_int_equal(create(&v, "not in the vocabulary"), TDIFF_E_BAD_FORMAT);
}

static void test_merges_making_unknown_tokens_are_rejected(void **state)
{
    (void)state;
    vocab v;
    vocab_init(&v);
    v.merges[1] = "b c", v.merge_lens[1] = 3; /* "bc" is no token */
    assert_int_equal(create(&v, "makes a token"), TDIFF_E_BAD_FORMAT);
}

static void test_merges_without_a_separating_space_are_rejected(void **state)
{
    (void)state;
    const char *bad[] = {"abc", "ab ", " ab"};
    for (size_t i = 0; i < 3; i++) {
        vocab v;
        vocab_init(&v);
        v.merges[1] = bad[i], v.merge_lens[1] = strlen(bad[i]);
        assert_int_equal(create(&v, "separated by a space"), TDIFF_E_BAD_FORMAT);
    }
}

static void test_byte_level_vocabulary_missing_a_byte_symbol_is_rejected(void **state)
{
    (void)state;
    vocab v;
    vocab_init(&v);
    strcpy(v.text[0x41], "zz"); /* the symbol of 'A' is gone */
    v.lens[0x41] = 2;
    assert_int_equal(create(&v, "0x41"), TDIFF_E_BAD_FORMAT);
}

static void test_unknown_models_and_pre_tokenizers_are_unsupported(void **state)
{
    (void)state;
    vocab v;
    vocab_init(&v);
    v.cfg.model = "rwkv", v.cfg.model_len = 4;
    assert_int_equal(create(&v, "rwkv"), TDIFF_E_UNSUPPORTED);
    vocab_init(&v);
    v.cfg.pre = "no-such-pre", v.cfg.pre_len = 11;
    assert_int_equal(create(&v, "no-such-pre"), TDIFF_E_UNSUPPORTED);
}

static void test_empty_vocabulary_is_rejected(void **state)
{
    (void)state;
    vocab v;
    vocab_init(&v);
    v.cfg.n_tokens = 0, v.cfg.n_types = 0;
    assert_int_equal(create(&v, "empty"), TDIFF_E_BAD_FORMAT);
}

/* Creation under allocation failure: every failing allocation (alone, or with
 * every later one: persistent) gives TDIFF_E_OUT_OF_MEMORY and nothing leaks. */
static void test_creation_survives_allocation_failures(void **state)
{
    (void)state;
    vocab v;
    vocab_init(&v);
    for (int mode = 0; mode < TEST_ALLOC_MODES; mode++) {
        size_t failures = 0;
        for (long k = 1; k < 100; k++) {
            test_alloc alloc = {.fail_at = k, .persistent = mode};
            tdiff_host host;
            test_host_init(&host, &alloc);
            struct tdiff_tokenizer *t = NULL;
            tdiff_status st = tdiff__tokenizer_create_config(&v.cfg, &host, &t, NULL, 0);
            if (st == TDIFF_OK) {
                tdiff_tokenizer_free(t);
                assert_int_equal(alloc.live, 0);
                break;
            }
            assert_int_equal(st, TDIFF_E_OUT_OF_MEMORY);
            assert_int_equal(alloc.live, 0);
            failures++;
        }
        assert_true(failures >= 5);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_valid_vocabulary_is_accepted_and_merges),
        cmocka_unit_test(test_llama3_takes_pieces_that_are_whole_tokens),
        cmocka_unit_test(test_token_types_of_another_length_are_rejected),
        cmocka_unit_test(test_scores_of_another_length_are_rejected),
        cmocka_unit_test(test_token_types_outside_the_enum_are_rejected),
        cmocka_unit_test(test_byte_tokens_not_spelled_0xNN_are_rejected),
        cmocka_unit_test(test_special_ids_outside_the_vocabulary_are_rejected),
        cmocka_unit_test(test_duplicate_tokens_are_rejected),
        cmocka_unit_test(test_merges_naming_unknown_tokens_are_rejected),
        cmocka_unit_test(test_merges_making_unknown_tokens_are_rejected),
        cmocka_unit_test(test_merges_without_a_separating_space_are_rejected),
        cmocka_unit_test(test_byte_level_vocabulary_missing_a_byte_symbol_is_rejected),
        cmocka_unit_test(test_unknown_models_and_pre_tokenizers_are_unsupported),
        cmocka_unit_test(test_empty_vocabulary_is_rejected),
        cmocka_unit_test(test_creation_survives_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
