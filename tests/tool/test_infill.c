/*
 * test_infill.c -- the [MASK:n] hole syntax of `textdiff infill` (src/infill.c):
 * pieces tile the text, well-formed holes are read, every other "[MASK:" is
 * refused with its byte offset, and the canvas is the tokenized text with n
 * mask ids per hole (the tokenizer of tests/fixtures/llada-tiny.gguf).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "infill.h"
#include "libtextdiff.h"
#include "support.h"

#define MASK 2047 /* llada-tiny's mask id */
#define BOS 2046

static void test_pieces_tile_the_text_and_holes_are_read(void **state)
{
    (void)state;
    const char *t = "The [MASK:5] sat[MASK:12][MASK:1]. [MASK";
    const struct {
        size_t off, len, n_mask;
    } want[] = {{0, 4, 0}, {4, 8, 5}, {12, 4, 0}, {16, 9, 12}, {25, 8, 1}, {33, 2, 0}};
    size_t pos = 0, k = 0;
    tool_infill_piece p;
    char err[128];
    int r;
    while ((r = tool_infill_next(t, strlen(t) - 5, &pos, &p, err, sizeof err)) == 1) {
        assert_true(k < sizeof want / sizeof want[0]);
        assert_int_equal(p.off, want[k].off);
        assert_int_equal(p.len, want[k].len);
        assert_int_equal(p.n_mask, want[k].n_mask);
        k++;
    }
    assert_int_equal(r, 0);
    assert_int_equal(k, sizeof want / sizeof want[0]);
    assert_int_equal(pos, strlen(t) - 5);
}

static void test_malformed_holes_are_refused_with_their_offset(void **state)
{
    (void)state;
    const char *bad[] = {"[MASK:]", "[MASK:0]", "[MASK: 5]", "[MASK:+5]", "[MASK:-1]", "[MASK:5", "[MASK:5 ]",
                         "[MASK:1234567890]", "[MASK:x]", "[MASK:"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[64], err[128] = "";
        snprintf(text, sizeof text, "ab %s cd", bad[i]);
        size_t pos = 0;
        tool_infill_piece p;
        assert_int_equal(tool_infill_next(text, strlen(text), &pos, &p, err, sizeof err), 1); /* "ab " */
        assert_int_equal(tool_infill_next(text, strlen(text), &pos, &p, err, sizeof err), -1);
        assert_non_null(strstr(err, "byte 3"));
    }
    const char *ok = "[MASK:999999999]";
    size_t pos = 0;
    tool_infill_piece p;
    char err[128];
    assert_int_equal(tool_infill_next(ok, strlen(ok), &pos, &p, err, sizeof err), 1);
    assert_int_equal(p.n_mask, 999999999);
}

static tdiff_tokenizer *fixture_tokenizer(tdiff_model **m, tdiff_host *host)
{
    char path[1024], err[256];
    *m = test_load_model(test_fixture_path(path, sizeof path, "llada-tiny.gguf"), host);
    tdiff_tokenizer *tok = NULL;
    assert_int_equal(tdiff_tokenizer_create(*m, host, &tok, err, sizeof err), TDIFF_OK);
    return tok;
}

/* The canvas is BOS, the tokens of each text piece and n masks per hole. */
static void test_canvas_is_text_tokens_and_masks(void **state)
{
    (void)state;
    test_alloc ta = {0};
    tdiff_host host;
    test_host_init(&host, &ta);
    tdiff_model *m;
    tdiff_tokenizer *tok = fixture_tokenizer(&m, &host);
    int32_t ids[64], a[32], b[32];
    size_t na, nb;
    char err[128];
    assert_int_equal(tdiff_tokenizer_tokenize(tok, "The ", 4, TDIFF_TOKENIZE_ADD_SPECIAL, a, 32, &na), TDIFF_OK);
    assert_int_equal(tdiff_tokenizer_tokenize(tok, " sat", 4, 0, b, 32, &nb), TDIFF_OK);
    const char *t = "The [MASK:3] sat";
    long n = tool_infill_ids(tok, t, strlen(t), MASK, ids, 64, err, sizeof err);
    assert_int_equal(n, (long)(na + 3 + nb));
    assert_int_equal(ids[0], BOS);
    assert_memory_equal(ids, a, na * sizeof *a);
    for (size_t k = 0; k < 3; k++)
        assert_int_equal(ids[na + k], MASK);
    assert_memory_equal(ids + na + 3, b, nb * sizeof *b);
    /* a leading hole still gets BOS; an empty text gives nothing */
    assert_int_equal(tool_infill_ids(tok, "[MASK:2]", 8, MASK, ids, 64, err, sizeof err), 3);
    assert_int_equal(ids[0], BOS);
    assert_int_equal(tool_infill_ids(tok, "", 0, MASK, ids, 64, err, sizeof err), 0);
    /* more tokens than the capacity, and a malformed hole, are errors with a reason */
    assert_int_equal(tool_infill_ids(tok, "a [MASK:70]", 11, MASK, ids, 64, err, sizeof err), -1);
    assert_non_null(strstr(err, "64 tokens"));
    assert_int_equal(tool_infill_ids(tok, "a [MASK:0]", 10, MASK, ids, 64, err, sizeof err), -1);
    assert_non_null(strstr(err, "bad hole"));
    tdiff_tokenizer_free(tok);
    tdiff_model_free(m);
    assert_int_equal(ta.live, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pieces_tile_the_text_and_holes_are_read),
        cmocka_unit_test(test_malformed_holes_are_refused_with_their_offset),
        cmocka_unit_test(test_canvas_is_text_tokens_and_masks),
    };
    return cmocka_run_group_tests_name("tool", tests, NULL, NULL);
}
