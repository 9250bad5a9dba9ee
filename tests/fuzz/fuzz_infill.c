/*
 * fuzz_infill.c -- libFuzzer target over the [MASK:n] hole syntax of `textdiff
 * infill` (src/infill.c). The input is the text. Properties:
 *  - the pieces tile the text in order; text pieces are non-empty and never
 *    contain "[MASK:"; a hole's bytes are "[MASK:" digits "]" and spell its
 *    n_mask; parsing either reaches the end or stops at a malformed hole with a
 *    message naming its byte offset;
 *  - the canvas (tokenizer of tests/fixtures/llada-tiny.gguf, loaded once) is
 *    the first piece tokenized with special tokens, every other text piece
 *    without, and n_mask mask ids per hole: the mask id appears exactly
 *    Σ n_mask times (text never yields it), every id is inside the vocabulary,
 *    and a capacity one short of the count is refused.
 * The fixture is found through $TDIFF_FIXTURES, else FUZZ_FIXTURES_DIR (set by
 * the build).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "infill.h"
#include "libtextdiff.h"

#ifndef FUZZ_FIXTURES_DIR
#define FUZZ_FIXTURES_DIR "tests/fixtures"
#endif

#define CAP 4096

static const tdiff_tokenizer *fixture_tokenizer(int32_t *mask, size_t *vocab)
{
    static tdiff_model *model; /* loaded once, kept for the process (a fuzzer's life) */
    static tdiff_tokenizer *tok;
    static int32_t mask_id;
    static size_t n_vocab;
    if (!tok) {
        const char *dir = getenv("TDIFF_FIXTURES");
        char path[1024], err[256];
        snprintf(path, sizeof path, "%s/llada-tiny.gguf", dir && *dir ? dir : FUZZ_FIXTURES_DIR);
        if (tdiff_model_load_file(path, NULL, &model, err, sizeof err) != TDIFF_OK ||
            tdiff_tokenizer_create(model, NULL, &tok, err, sizeof err) != TDIFF_OK ||
            tdiff_model_special_id(model, TDIFF_SPECIAL_MASK, &mask_id) != TDIFF_OK ||
            tdiff_tokenizer_vocab_size(tok, &n_vocab) != TDIFF_OK) {
            fprintf(stderr, "fuzz_infill: cannot use %s: %s\n", path, err);
            abort();
        }
    }
    *mask = mask_id;
    *vocab = n_vocab;
    return tok;
}

static int is_hole_spelling(const char *s, size_t len, size_t n)
{
    if (len < 8 || memcmp(s, "[MASK:", 6) || s[len - 1] != ']')
        return 0;
    size_t v = 0;
    for (size_t i = 6; i + 1 < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (size_t)(s[i] - '0');
    }
    return v == n && n >= 1;
}

static int contains_open(const char *s, size_t len)
{
    for (size_t i = 0; i + 6 <= len; i++)
        if (!memcmp(s + i, "[MASK:", 6))
            return 1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    size_t pos = 0, masks = 0, pieces = 0;
    tool_infill_piece p;
    char err[160] = "";
    int r;
    while ((r = tool_infill_next(text, size, &pos, &p, err, sizeof err)) == 1) {
        FUZZ_CHECK(p.off + p.len == pos && p.len > 0 && pos <= size);
        if (p.n_mask)
            FUZZ_CHECK(is_hole_spelling(text + p.off, p.len, p.n_mask));
        else
            FUZZ_CHECK(!contains_open(text + p.off, p.len));
        masks += p.n_mask;
        pieces++;
    }
    if (r < 0) {
        char want[32];
        snprintf(want, sizeof want, "byte %zu ", pos);
        FUZZ_CHECK(strstr(err, want) && pos < size && size - pos >= 6 && !memcmp(text + pos, "[MASK:", 6));
    } else {
        FUZZ_CHECK(r == 0 && pos == size);
    }

    int32_t mask;
    size_t vocab;
    const tdiff_tokenizer *tok = fixture_tokenizer(&mask, &vocab);
    static int32_t ids[CAP];
    long n = tool_infill_ids(tok, text, size, mask, ids, CAP, err, sizeof err);
    if (r < 0 || masks > CAP) {
        FUZZ_CHECK(n == -1 && err[0]);
        return 0;
    }
    if (n < 0) /* only a canvas longer than CAP may fail now */
        return 0;
    size_t seen = 0;
    for (long i = 0; i < n; i++) {
        FUZZ_CHECK(ids[i] >= 0 && (size_t)ids[i] < vocab);
        seen += ids[i] == mask;
    }
    FUZZ_CHECK(seen == masks);
    FUZZ_CHECK(size == 0 ? n == 0 : pieces > 0 && n >= 1);
    if (n > 0) {
        static int32_t short_ids[CAP];
        FUZZ_CHECK(tool_infill_ids(tok, text, size, mask, short_ids, (size_t)n - 1, err, sizeof err) == -1);
        FUZZ_CHECK(tool_infill_ids(tok, text, size, mask, short_ids, (size_t)n, err, sizeof err) == n);
        FUZZ_CHECK(!memcmp(short_ids, ids, (size_t)n * sizeof *ids));
    }
    return 0;
}
