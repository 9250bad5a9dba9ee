/* tok_test.c -- see tok_test.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tok_test.h"

void tok_open(tok_fixture *f, const char *name, int fixture)
{
    char path[1024], err[512];
    memset(f, 0, sizeof *f);
    test_host_init(&f->host, &f->alloc);
    if (fixture)
        test_fixture_path(path, sizeof path, name);
    else
        test_source_path(path, sizeof path, name);
    tdiff_status st = tdiff_model_load_file(path, &f->host, &f->model, err, sizeof err);
    if (st != TDIFF_OK)
        fail_msg("loading %s: %s", path, err);
    st = tdiff_tokenizer_create(f->model, &f->host, &f->tok, err, sizeof err);
    if (st != TDIFF_OK)
        fail_msg("tokenizer of %s: %s", path, err);
}

void tok_close(tok_fixture *f)
{
    tdiff_tokenizer_free(f->tok);
    tdiff_model_free(f->model);
    assert_int_equal(f->alloc.live, 0);
}

void texts_load(text_set *t)
{
    texts_load_file(t, "texts.bin");
}

void texts_load_file(text_set *t, const char *name)
{
    char path[1024], rel[512];
    size_t size;
    snprintf(rel, sizeof rel, "tests/unit/tokenizer/data/%s", name);
    test_source_path(path, sizeof path, rel);
    uint8_t *b = test_read_file(path, &size);
    assert_non_null(b);
    memset(t, 0, sizeof *t);
    for (size_t pass = 0; pass < 2; pass++) {
        size_t n = 0;
        for (size_t o = 0; o + 4 <= size;) {
            size_t len = (size_t)b[o] | (size_t)b[o + 1] << 8 | (size_t)b[o + 2] << 16 | (size_t)b[o + 3] << 24;
            assert_true(o + 4 + len <= size);
            if (pass) {
                t->s[n] = test_malloc(len + 1);
                memcpy(t->s[n], b + o + 4, len);
                t->s[n][len] = 0;
                t->len[n] = len;
            }
            n++;
            o += 4 + len;
        }
        if (!pass) {
            t->n = n;
            t->s = test_calloc(n, sizeof *t->s);
            t->len = test_calloc(n, sizeof *t->len);
        }
    }
    test_free(b);
}

void texts_free(text_set *t)
{
    for (size_t i = 0; i < t->n; i++)
        test_free(t->s[i]);
    test_free(t->s);
    test_free(t->len);
}

void golden_load(golden *g, const char *name)
{
    char path[1024], rel[512];
    size_t size;
    snprintf(rel, sizeof rel, "tests/unit/tokenizer/data/%s", name);
    test_source_path(path, sizeof path, rel);
    char *b = test_read_file(path, &size);
    assert_non_null(b);
    size_t lines = 0;
    for (size_t i = 0; i < size; i++)
        lines += b[i] == '\n';
    g->n_lines = lines;
    g->v = test_calloc(lines ? lines : 1, sizeof *g->v);
    g->count = test_calloc(lines ? lines : 1, sizeof *g->count);
    size_t o = 0;
    for (size_t l = 0; l < lines; l++) {
        size_t e = o;
        while (b[e] != '\n')
            e++;
        size_t commas = 0;
        for (size_t i = o; i < e; i++)
            commas += b[i] == ',';
        g->v[l] = test_calloc(commas + 1, sizeof **g->v);
        size_t k = 0;
        for (size_t i = o; i < e;) {
            char *end;
            g->v[l][k++] = strtoll(b + i, &end, 10);
            i = (size_t)(end - b) + 1;
        }
        g->count[l] = k;
        o = e + 1;
    }
    test_free(b);
}

void golden_free(golden *g)
{
    for (size_t l = 0; l < g->n_lines; l++)
        test_free(g->v[l]);
    test_free(g->v);
    test_free(g->count);
}

int32_t *tok_encode(const tdiff_tokenizer *tok, const char *s, size_t len, uint32_t flags, size_t *n)
{
    size_t need = 0;
    tdiff_status st = tdiff_tokenizer_tokenize(tok, s, len, flags, NULL, 0, &need);
    assert_true(st == TDIFF_OK || st == TDIFF_E_BUFFER_TOO_SMALL);
    assert_true(st == TDIFF_OK ? need == 0 : need > 0);
    int32_t *ids = test_malloc((need ? need : 1) * sizeof *ids);
    assert_int_equal(tdiff_tokenizer_tokenize(tok, s, len, flags, ids, need, n), TDIFF_OK);
    assert_int_equal(*n, need);
    return ids;
}

char *tok_decode(const tdiff_tokenizer *tok, const int32_t *ids, size_t n, uint32_t flags, size_t *len)
{
    size_t need = 0;
    tdiff_status st = tdiff_tokenizer_detokenize(tok, ids, n, flags, NULL, 0, &need);
    assert_true(st == TDIFF_OK || st == TDIFF_E_BUFFER_TOO_SMALL);
    char *buf = test_malloc(need + 1);
    assert_int_equal(tdiff_tokenizer_detokenize(tok, ids, n, flags, buf, need, len), TDIFF_OK);
    assert_int_equal(*len, need);
    buf[need] = 0;
    return buf;
}
