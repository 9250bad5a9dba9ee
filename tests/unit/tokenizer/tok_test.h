/* tok_test.h -- helpers of the tokenizer tests: tokenizers from GGUF files or
 * configurations, the golden text set and golden lines, encode/decode wrappers
 * that grow their buffers. Everything allocates through cmocka's allocator. */
#ifndef TOK_TEST_H
#define TOK_TEST_H

#include <stddef.h>
#include <stdint.h>

#include "libtextdiff.h"
#include "support.h"

typedef struct tok_fixture {
    test_alloc alloc;
    tdiff_host host;
    tdiff_model *model;
    tdiff_tokenizer *tok;
} tok_fixture;

/* Loads `path` (relative to the source root when rel, else a fixture name) and
 * creates its tokenizer; fails the test on error. */
void tok_open(tok_fixture *f, const char *name, int fixture);
void tok_close(tok_fixture *f);

/* The texts of data/texts.bin. */
typedef struct text_set {
    size_t n;
    char **s;
    size_t *len;
} text_set;
void texts_load(text_set *t);
/* Another record file of data/ (same format). */
void texts_load_file(text_set *t, const char *name);
void texts_free(text_set *t);

/* Line i of a golden file of comma-separated integers (data/<name>). */
typedef struct golden {
    size_t n_lines;
    int64_t **v;
    size_t *count;
} golden;
void golden_load(golden *g, const char *name);
void golden_free(golden *g);

/* Tokenize / detokenize into test_malloc'd arrays (freed by the caller with test_free). */
int32_t *tok_encode(const tdiff_tokenizer *tok, const char *s, size_t len, uint32_t flags, size_t *n);
char *tok_decode(const tdiff_tokenizer *tok, const int32_t *ids, size_t n, uint32_t flags, size_t *len);

#endif
