/*
 * wordpiece.c -- WordPiece ("bert", uncased) with BERT's basic tokenization:
 *   1. clean: drop NUL, U+FFFD and control/format/unassigned characters (C*
 *      except tab, newline, carriage return); tab/newline/CR and Zs are blanks;
 *   2. put blanks around CJK ideographs;
 *   3. lower-case, decompose (NFD), drop non-spacing marks (accent stripping);
 *   4. split at blanks (White_Space) and make every punctuation character (P*,
 *      and ASCII symbols) a word of its own;
 *   5. greedy longest-match-first per word; the first piece is looked up as
 *      U+2581 + piece, the next ones as they are (the GGUF phantom-space form of
 *      "##" continuations, as llama.cpp's converter writes BERT vocabularies);
 *      a word longer than 100 characters or with a part that matches nothing
 *      becomes the unknown token.
 * The vocabulary is assumed uncased: GGUF has no key for BERT's do_lower_case,
 * and llama.cpp lower-cases unconditionally too.
 */
#include <string.h>

#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

#define WPM_MAX_WORD_CHARS 100 /* BERT's max_input_chars_per_word */

static bool is_cjk(uint32_t c)
{
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
           (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

static bool is_punct(uint32_t c)
{
    if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126))
        return true;
    return c >= 128 && (tdiff__uc_flags(c) & TDIFF__UC_P);
}

typedef enum { CH_DROP, CH_BLANK, CH_ALONE, CH_WORD } ch_class;

static ch_class classify(uint32_t c)
{
    if (c == 0 || c == TDIFF__UC_REPLACEMENT)
        return CH_DROP;
    if (c == '\t' || c == '\n' || c == '\r')
        return CH_BLANK;
    uint8_t f = tdiff__uc_flags(c);
    if (f & TDIFF__UC_C)
        return CH_DROP;
    if (f & TDIFF__UC_WS)
        return CH_BLANK;
    if (f & TDIFF__UC_MN)
        return CH_DROP; /* accents go after decomposition; a bare one goes too */
    if (is_cjk(c) || is_punct(c))
        return CH_ALONE;
    return CH_WORD;
}

typedef struct wbuf {
    uint8_t *b;
    size_t n, cap;
    size_t n_chars;
    const tdiff__env *env;
} wbuf;

static tdiff_status wbuf_put(wbuf *w, uint32_t c)
{
    if (w->n + 4 > w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 256;
        uint8_t *b = tdiff__realloc(w->env, w->b, cap);
        if (!b)
            return TDIFF_E_OUT_OF_MEMORY;
        w->b = b;
        w->cap = cap;
    }
    w->n += tdiff__utf8_encode(c, w->b + w->n);
    w->n_chars++;
    return TDIFF_OK;
}

/* Greedy longest match of the word in w (the first 3 bytes are U+2581). */
static tdiff_status emit_word(const struct tdiff_tokenizer *t, wbuf *w, tdiff__ids *ids)
{
    size_t word_chars = w->n_chars - 1;
    if (word_chars == 0)
        return TDIFF_OK;
    size_t mark = ids->n;
    tdiff_status st;
    if (word_chars > WPM_MAX_WORD_CHARS)
        goto unknown;
    for (size_t pos = 0; pos < w->n;) {
        /* the first piece includes the U+2581 prefix; later ones start after it */
        size_t best_end = 0;
        int32_t best = -1;
        size_t limit = w->n - pos < t->max_token_len ? w->n : pos + t->max_token_len;
        for (size_t end = limit; end > pos; end--) {
            if (end < w->n && (w->b[end] & 0xC0u) == 0x80u)
                continue; /* not a character boundary */
            if (pos == 0 && end <= 3)
                break;
            int32_t id = tdiff__tok_find(t, w->b + pos, end - pos);
            if (id >= 0) {
                best = id;
                best_end = end;
                break;
            }
        }
        if (best < 0)
            goto unknown;
        if ((st = tdiff__ids_push(ids, best)) != TDIFF_OK)
            return st;
        pos = best_end;
    }
    return TDIFF_OK;
unknown:
    ids->n = mark;
    return t->unk >= 0 ? tdiff__ids_push(ids, t->unk) : TDIFF_OK;
}

static tdiff_status word_start(wbuf *w)
{
    w->n = 0;
    w->n_chars = 0;
    return wbuf_put(w, 0x2581u);
}

tdiff_status tdiff__wpm_encode(const struct tdiff_tokenizer *tok, const char *str, size_t len, tdiff__ids *ids)
{
    const tdiff__env *env = ids->env;
    wbuf w = {NULL, 0, 0, 0, env};
    tdiff_status st = word_start(&w);
    const uint8_t *p = (const uint8_t *)str;
    for (size_t i = 0; i < len && st == TDIFF_OK;) {
        uint32_t c;
        i += tdiff__utf8_decode(p + i, len - i, &c);
        ch_class k = classify(c);
        if (k == CH_DROP)
            continue;
        if (k == CH_BLANK) {
            if ((st = emit_word(tok, &w, ids)) == TDIFF_OK)
                st = word_start(&w);
            continue;
        }
        uint32_t d[18];
        size_t nd = tdiff__uc_decompose(tdiff__uc_tolower(c), d, 18);
        for (size_t j = 0; j < nd && st == TDIFF_OK; j++) {
            uint32_t e = d[j];
            if (tdiff__uc_flags(e) & TDIFF__UC_MN)
                continue;
            if (classify(e) == CH_ALONE) {
                if ((st = emit_word(tok, &w, ids)) == TDIFF_OK && (st = word_start(&w)) == TDIFF_OK &&
                    (st = wbuf_put(&w, e)) == TDIFF_OK && (st = emit_word(tok, &w, ids)) == TDIFF_OK)
                    st = word_start(&w);
            } else {
                st = wbuf_put(&w, e);
            }
        }
    }
    if (st == TDIFF_OK)
        st = emit_word(tok, &w, ids);
    tdiff__free(env, w.b);
    return st;
}
