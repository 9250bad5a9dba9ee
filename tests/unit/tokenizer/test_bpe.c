/*
 * test_bpe.c -- byte-level BPE against independent references: llama.cpp's ids
 * for the fixtures, gpt-3-encoder's GPT-2 ids, JavaScript-regex pre-tokenizer
 * splits; plus round trips, streaming, special tokens and buffer contracts.
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
#include "tokenizer/unicode.h"

#define GPT2_MODEL "tests/unit/tokenizer/data/gpt2.gguf"

static const int32_t prompt_ids[] = {2046, 116, 468, 258, 301, 274, 301, 270, 110, 275, 468, 268, 301};

/* fixtures/README.md: llama.cpp tokenizes the prompt (with BOS) to these ids */
static void check_prompt(const char *fixture)
{
    tok_fixture f;
    tok_open(&f, fixture, 1);
    size_t n;
    const char *text = "the cat sat on the mat";
    int32_t *ids = tok_encode(f.tok, text, strlen(text), TDIFF_TOKENIZE_ADD_SPECIAL, &n);
    assert_int_equal(n, sizeof prompt_ids / sizeof prompt_ids[0]);
    assert_memory_equal(ids, prompt_ids, sizeof prompt_ids);
    test_free(ids);
    tok_close(&f);
}

static void test_llada_fixture_prompt_matches_llama_cpp(void **state)
{
    (void)state;
    check_prompt("llada-tiny.gguf");
}

static void test_dream_fixture_prompt_matches_llama_cpp(void **state)
{
    (void)state;
    check_prompt("dream-tiny.gguf");
}

/* fixtures/README.md: the ids llama.cpp generated and the bytes they stand for */
static void test_fixture_generated_ids_detokenize_to_llama_cpp_bytes(void **state)
{
    (void)state;
    tok_fixture f;
    tok_open(&f, "llada-tiny.gguf", 1);
    int32_t ids[51];
    size_t k = 0;
    for (int i = 0; i < 8; i++)
        ids[k++] = 1991;
    for (int i = 0; i < 4; i++)
        ids[k++] = 1438;
    for (int i = 0; i < 24; i++)
        ids[k++] = 130;
    for (int i = 0; i < 15; i++)
        ids[k++] = 1509;
    char want[256];
    size_t w = 0;
    for (int i = 0; i < 8; i++)
        w += (size_t)sprintf(want + w, " dt");
    for (int i = 0; i < 4; i++)
        w += (size_t)sprintf(want + w, "Sm");
    for (int i = 0; i < 24; i++)
        want[w++] = (char)0x82;
    for (int i = 0; i < 15; i++)
        w += (size_t)sprintf(want + w, "Vf");
    size_t len;
    char *got = tok_decode(f.tok, ids, k, 0, &len);
    assert_int_equal(len, w);
    assert_memory_equal(got, want, w);
    test_free(got);
    tok_close(&f);
}

static void test_gpt2_ids_match_gpt3_encoder_on_every_text(void **state)
{
    (void)state;
    tok_fixture f;
    tok_open(&f, GPT2_MODEL, 0);
    text_set t;
    golden g;
    texts_load(&t);
    golden_load(&g, "gpt2_ids.txt");
    assert_int_equal(t.n, g.n_lines);
    size_t agree = 0, total = 0, texts_ok = 0;
    for (size_t i = 0; i < t.n; i++) {
        size_t n;
        int32_t *ids = tok_encode(f.tok, t.s[i], t.len[i], 0, &n);
        bool same = n == g.count[i];
        for (size_t j = 0; j < n && j < g.count[i]; j++) {
            agree += ids[j] == g.v[i][j];
            same = same && ids[j] == g.v[i][j];
        }
        total += g.count[i];
        texts_ok += same;
        if (!same)
            print_message("text %zu differs from gpt-3-encoder (%zu vs %zu ids)\n", i, n, g.count[i]);
        test_free(ids);
    }
    print_message("gpt-2: %zu/%zu texts, %zu/%zu ids agree with gpt-3-encoder\n", texts_ok, t.n, agree, total);
    assert_int_equal(texts_ok, t.n);
    golden_free(&g);
    texts_free(&t);
    tok_close(&f);
}

typedef struct split_rec {
    const tdiff__text *x;
    size_t *lens;
    size_t n, cap;
} split_rec;

static tdiff_status record_piece(void *ud, size_t a, size_t b)
{
    split_rec *r = ud;
    if (r->n < r->cap)
        r->lens[r->n] = r->x->off[b] - r->x->off[a];
    r->n++;
    return TDIFF_OK;
}

static void check_split(tdiff__pre_kind kind, const char *golden_name)
{
    text_set t;
    golden g;
    texts_load(&t);
    golden_load(&g, golden_name);
    assert_int_equal(t.n, g.n_lines);
    tdiff__env env;
    assert_int_equal(tdiff__env_init(&env, NULL), TDIFF_OK);
    size_t pieces = 0;
    for (size_t i = 0; i < t.n; i++) {
        tdiff__text x;
        assert_int_equal(tdiff__text_decode(&env, t.s[i], t.len[i], &x), TDIFF_OK);
        size_t lens[4096];
        split_rec r = {&x, lens, 0, 4096};
        assert_int_equal(tdiff__pretok_split(kind, x.cp, x.n, record_piece, &r), TDIFF_OK);
        if (r.n != g.count[i])
            print_message("%s text %zu: %zu pieces, reference %zu\n", golden_name, i, r.n, g.count[i]);
        assert_int_equal(r.n, g.count[i]);
        for (size_t j = 0; j < r.n; j++)
            assert_int_equal(lens[j], g.v[i][j]);
        pieces += r.n;
        tdiff__text_free(&env, &x);
    }
    print_message("%s: %zu pieces agree\n", golden_name, pieces);
    golden_free(&g);
    texts_free(&t);
}

static void test_gpt2_split_matches_regex_reference(void **state)
{
    (void)state;
    check_split(TDIFF__PRE_GPT2, "split_gpt-2.txt");
}

static void test_default_cascade_split_matches_regex_reference(void **state)
{
    (void)state;
    check_split(TDIFF__PRE_DEFAULT, "split_default.txt");
}

static void test_llama3_split_matches_regex_reference(void **state)
{
    (void)state;
    check_split(TDIFF__PRE_LLAMA3, "split_llama3.txt");
}

static void test_qwen2_split_matches_regex_reference(void **state)
{
    (void)state;
    check_split(TDIFF__PRE_QWEN2, "split_qwen2.txt");
}

static bool valid_utf8(const char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t k = tdiff__utf8_decode((const uint8_t *)s + i, n - i, &cp);
        if (k == 1 && cp == TDIFF__UC_REPLACEMENT && (uint8_t)s[i] != 0xEF)
            return false;
        i += k;
    }
    return true;
}

/* Lossless for valid UTF-8; invalid bytes come back as U+FFFD, and the result
 * is then a fixed point. */
static void test_round_trip_gives_the_text_back(void **state)
{
    (void)state;
    tok_fixture f;
    tok_open(&f, GPT2_MODEL, 0);
    text_set t;
    texts_load(&t);
    size_t exact = 0;
    for (size_t i = 0; i < t.n; i++) {
        size_t n, len;
        int32_t *ids = tok_encode(f.tok, t.s[i], t.len[i], 0, &n);
        char *back = tok_decode(f.tok, ids, n, 0, &len);
        if (valid_utf8(t.s[i], t.len[i])) {
            assert_int_equal(len, t.len[i]);
            assert_memory_equal(back, t.s[i], len);
            exact++;
        } else {
            assert_true(valid_utf8(back, len));
            size_t n2, len2;
            int32_t *ids2 = tok_encode(f.tok, back, len, 0, &n2);
            char *back2 = tok_decode(f.tok, ids2, n2, 0, &len2);
            assert_int_equal(len2, len);
            assert_memory_equal(back2, back, len);
            test_free(ids2);
            test_free(back2);
        }
        test_free(ids);
        test_free(back);
    }
    assert_true(exact + 2 >= t.n); /* two texts of the set hold invalid bytes */
    texts_free(&t);
    tok_close(&f);
}

/* Streaming pieces with exactly-sized buffers: the concatenation is the
 * detokenized text and, for valid text, every chunk is whole characters. */
static void test_streaming_chunks_are_whole_characters_and_concatenate_to_detokenize(void **state)
{
    (void)state;
    tok_fixture f;
    tok_open(&f, GPT2_MODEL, 0);
    text_set t;
    texts_load(&t);
    size_t split_chars = 0;
    for (size_t i = 0; i < t.n; i++) {
        size_t n, len;
        int32_t *ids = tok_encode(f.tok, t.s[i], t.len[i], 0, &n);
        char *whole = tok_decode(f.tok, ids, n, 0, &len);
        char *cat = test_malloc(len + 8);
        size_t c = 0;
        tdiff_token_stream s;
        tdiff_token_stream_init(&s);
        for (size_t j = 0; j < n; j++) {
            size_t need;
            char tiny[1];
            tdiff_status st = tdiff_tokenizer_stream_piece(f.tok, &s, ids[j], 0, tiny, 0, &need);
            if (st == TDIFF_E_BUFFER_TOO_SMALL) {
                assert_true(need > 0);
                assert_int_equal(tdiff_tokenizer_stream_piece(f.tok, &s, ids[j], 0, cat + c, need, &need), TDIFF_OK);
            } else {
                assert_int_equal(st, TDIFF_OK);
                assert_int_equal(need, 0);
                split_chars++;
            }
            if (valid_utf8(whole, len))
                assert_true(valid_utf8(cat + c, need));
            c += need;
        }
        size_t tail;
        assert_int_equal(tdiff_token_stream_flush(&s, cat + c, 8, &tail), TDIFF_OK);
        c += tail;
        /* nothing held back now: no buffer is needed (UBSan: no memcpy to NULL) */
        size_t none = 1;
        assert_int_equal(tdiff_token_stream_flush(&s, NULL, 0, &none), TDIFF_OK);
        assert_int_equal(none, 0);
        assert_int_equal(c, len);
        assert_memory_equal(cat, whole, len);
        test_free(cat);
        test_free(whole);
        test_free(ids);
    }
    assert_true(split_chars > 0); /* the CJK/emoji texts do split characters across tokens */
    texts_free(&t);
    tok_close(&f);
}

static void test_special_tokens_come_from_text_only_when_asked(void **state)
{
    (void)state;
    tok_fixture f;
    tok_open(&f, GPT2_MODEL, 0);
    const char *text = "a<|endoftext|>b";
    size_t n;
    int32_t *ids = tok_encode(f.tok, text, strlen(text), 0, &n);
    for (size_t i = 0; i < n; i++)
        assert_int_not_equal(ids[i], 50256);
    test_free(ids);
    ids = tok_encode(f.tok, text, strlen(text), TDIFF_TOKENIZE_PARSE_SPECIAL, &n);
    assert_int_equal(n, 3);
    assert_int_equal(ids[0], 64);   /* "a" */
    assert_int_equal(ids[1], 50256);
    assert_int_equal(ids[2], 65);   /* "b" */
    /* rendered only on request */
    size_t len;
    char *s = tok_decode(f.tok, ids, n, 0, &len);
    assert_int_equal(len, 2);
    assert_memory_equal(s, "ab", 2);
    test_free(s);
    s = tok_decode(f.tok, ids, n, TDIFF_DETOKENIZE_RENDER_SPECIAL, &len);
    assert_int_equal(len, strlen(text));
    assert_memory_equal(s, text, len);
    test_free(s);
    test_free(ids);
    tok_close(&f);
}

static void test_add_special_follows_the_model_flags(void **state)
{
    (void)state;
    tok_fixture f;
    tok_open(&f, "llada-tiny.gguf", 1);
    size_t n;
    int32_t *ids = tok_encode(f.tok, "hi", 2, 0, &n);
    assert_true(n > 0 && ids[0] != 2046);
    test_free(ids);
    ids = tok_encode(f.tok, "", 0, TDIFF_TOKENIZE_ADD_SPECIAL, &n);
    assert_int_equal(n, 1); /* add_bos_token true, add_eos_token false */
    assert_int_equal(ids[0], 2046);
    test_free(ids);
    tok_close(&f);
    tok_open(&f, GPT2_MODEL, 0); /* add_bos_token false */
    ids = tok_encode(f.tok, "hi", 2, TDIFF_TOKENIZE_ADD_SPECIAL, &n);
    assert_int_equal(n, 1);
    assert_int_equal(ids[0], 5303);
    test_free(ids);
    tok_close(&f);
}

static void test_special_ids_include_the_mask_token(void **state)
{
    (void)state;
    tok_fixture f;
    tok_open(&f, "dream-tiny.gguf", 1);
    int32_t id;
    assert_int_equal(tdiff_tokenizer_special_id(f.tok, TDIFF_SPECIAL_MASK, &id), TDIFF_OK);
    assert_int_equal(id, 2047);
    assert_int_equal(tdiff_tokenizer_special_id(f.tok, TDIFF_SPECIAL_BOS, &id), TDIFF_OK);
    assert_int_equal(id, 2046);
    assert_int_equal(tdiff_tokenizer_special_id(f.tok, TDIFF_SPECIAL_PAD, &id), TDIFF_E_NOT_FOUND);
    assert_int_equal(tdiff_tokenizer_special_id(f.tok, (tdiff_special_token)99, &id), TDIFF_E_INVALID_ARGUMENT);
    size_t v;
    assert_int_equal(tdiff_tokenizer_vocab_size(f.tok, &v), TDIFF_OK);
    assert_int_equal(v, 2048);
    assert_int_equal(tdiff_tokenizer_kind(f.tok), TDIFF_TOKENIZER_BPE);
    assert_true(tdiff_tokenizer_is_special(f.tok, 2047));
    assert_false(tdiff_tokenizer_is_special(f.tok, 116));
    tok_close(&f);
}

static void test_small_buffers_report_the_needed_size(void **state)
{
    (void)state;
    tok_fixture f;
    tok_open(&f, GPT2_MODEL, 0);
    const char *text = "Hello world";
    int32_t ids[2];
    size_t n = 0;
    assert_int_equal(tdiff_tokenizer_tokenize(f.tok, text, strlen(text), 0, ids, 1, &n), TDIFF_E_BUFFER_TOO_SMALL);
    assert_int_equal(n, 2);
    assert_int_equal(tdiff_tokenizer_tokenize(f.tok, text, strlen(text), 0, ids, 2, &n), TDIFF_OK);
    char buf[16];
    size_t len = 0;
    assert_int_equal(tdiff_tokenizer_detokenize(f.tok, ids, 2, 0, buf, 5, &len), TDIFF_E_BUFFER_TOO_SMALL);
    assert_int_equal(len, 11);
    assert_int_equal(tdiff_tokenizer_detokenize(f.tok, ids, 2, 0, buf, 11, &len), TDIFF_OK);
    assert_memory_equal(buf, text, 11);
    assert_int_equal(tdiff_tokenizer_token_piece(f.tok, ids[1], buf, 2, &len), TDIFF_E_BUFFER_TOO_SMALL);
    assert_int_equal(len, 6); /* " world" */
    assert_int_equal(tdiff_tokenizer_token_text(f.tok, ids[1], buf, sizeof buf, &len), TDIFF_OK);
    assert_int_equal(len, 7); /* "Ġworld": Ġ is two bytes */
    tok_close(&f);
}

static void test_bad_arguments_are_rejected(void **state)
{
    (void)state;
    tok_fixture f;
    tok_open(&f, GPT2_MODEL, 0);
    int32_t ids[4] = {0, 1, -1, 50257};
    size_t n;
    char buf[8];
    assert_int_equal(tdiff_tokenizer_tokenize(NULL, "a", 1, 0, ids, 4, &n), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_tokenizer_tokenize(f.tok, NULL, 1, 0, ids, 4, &n), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_tokenizer_tokenize(f.tok, "a", 1, 0, NULL, 4, &n), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_tokenizer_tokenize(f.tok, "a", 1, 0, ids, 4, NULL), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_tokenizer_tokenize(f.tok, "a", 1, 0x80, ids, 4, &n), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_tokenizer_tokenize(f.tok, NULL, 0, 0, ids, 4, &n), TDIFF_OK);
    assert_int_equal(n, 0);
    assert_int_equal(tdiff_tokenizer_detokenize(f.tok, ids + 2, 1, 0, buf, 8, &n), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_tokenizer_detokenize(f.tok, ids + 3, 1, 0, buf, 8, &n), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_tokenizer_token_piece(f.tok, 50257, buf, 8, &n), TDIFF_E_INVALID_ARGUMENT);
    tdiff_tokenizer *t = (tdiff_tokenizer *)1;
    char err[64];
    assert_int_equal(tdiff_tokenizer_create(NULL, NULL, &t, err, sizeof err), TDIFF_E_INVALID_ARGUMENT);
    assert_null(t);
    tdiff_tokenizer_free(NULL);
    tok_close(&f);
}

/* Every allocation of a tokenize call may fail, alone or with every later one
 * (persistent): the call then reports TDIFF_E_OUT_OF_MEMORY and leaks nothing
 * (cmocka checks the leaks). */
static void test_allocation_failures_are_reported_without_leaks(void **state)
{
    (void)state;
    tok_fixture f;
    tok_open(&f, GPT2_MODEL, 0);
    const char *text = "Allocation failure test: 12345 caf\xc3\xa9 <|endoftext|>";
    int32_t ids[64];
    for (int mode = 0; mode < TEST_ALLOC_MODES; mode++) {
        size_t n, failures = 0;
        for (long k = 1; k < 64; k++) {
            f.alloc.count = 0;
            f.alloc.fail_at = k;
            f.alloc.persistent = mode;
            tdiff_status st = tdiff_tokenizer_tokenize(f.tok, text, strlen(text), TDIFF_TOKENIZE_PARSE_SPECIAL, ids,
                                                       64, &n);
            f.alloc.fail_at = 0;
            if (st == TDIFF_OK)
                break;
            assert_int_equal(st, TDIFF_E_OUT_OF_MEMORY);
            failures++;
        }
        assert_true(failures >= 3);
    }
    tok_close(&f);
}

/* Long texts go through chunking and the piece cache: the ids must be those
 * of the plain path (whole text at once, no cache). */
static void test_chunking_and_cache_do_not_change_the_ids(void **state)
{
    (void)state;
    tok_fixture f;
    tok_open(&f, GPT2_MODEL, 0);
    text_set t;
    texts_load(&t);
    size_t cap = 600000, len = 0;
    char *big = test_malloc(cap);
    for (size_t rep = 0; len < cap - 4096; rep++)
        for (size_t i = 0; i < t.n && len + t.len[i] + 8 < cap; i++) {
            memcpy(big + len, t.s[i], t.len[i]);
            len += t.len[i];
            big[len++] = rep % 2 ? ' ' : '\n';
        }
    tdiff__ids fast = {NULL, 0, 0, NULL}, plain = {NULL, 0, 0, NULL};
    tdiff__env env;
    assert_int_equal(tdiff__env_init(&env, &f.host), TDIFF_OK);
    fast.env = plain.env = &env;
    assert_int_equal(tdiff__bpe_encode_opts(f.tok, big, len, true, &fast), TDIFF_OK);
    assert_int_equal(tdiff__bpe_encode_opts(f.tok, big, len, false, &plain), TDIFF_OK);
    assert_true(len > 4 * 65536);
    assert_int_equal(fast.n, plain.n);
    assert_memory_equal(fast.v, plain.v, fast.n * sizeof *fast.v);
    print_message("%zu bytes, %zu ids identical on both paths\n", len, fast.n);
    tdiff__free(&env, fast.v);
    tdiff__free(&env, plain.v);
    test_free(big);
    texts_free(&t);
    tok_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_llada_fixture_prompt_matches_llama_cpp),
        cmocka_unit_test(test_dream_fixture_prompt_matches_llama_cpp),
        cmocka_unit_test(test_fixture_generated_ids_detokenize_to_llama_cpp_bytes),
        cmocka_unit_test(test_gpt2_ids_match_gpt3_encoder_on_every_text),
        cmocka_unit_test(test_gpt2_split_matches_regex_reference),
        cmocka_unit_test(test_default_cascade_split_matches_regex_reference),
        cmocka_unit_test(test_llama3_split_matches_regex_reference),
        cmocka_unit_test(test_qwen2_split_matches_regex_reference),
        cmocka_unit_test(test_round_trip_gives_the_text_back),
        cmocka_unit_test(test_streaming_chunks_are_whole_characters_and_concatenate_to_detokenize),
        cmocka_unit_test(test_special_tokens_come_from_text_only_when_asked),
        cmocka_unit_test(test_add_special_follows_the_model_flags),
        cmocka_unit_test(test_special_ids_include_the_mask_token),
        cmocka_unit_test(test_small_buffers_report_the_needed_size),
        cmocka_unit_test(test_bad_arguments_are_rejected),
        cmocka_unit_test(test_allocation_failures_are_reported_without_leaks),
        cmocka_unit_test(test_chunking_and_cache_do_not_change_the_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
