/*
 * spm.c -- SentencePiece BPE ("llama"): spaces become U+2581, a U+2581 is put
 * before the text (add_space_prefix), then adjacent symbols (one per UTF-8
 * character at first) are merged best score first whenever their concatenation
 * is a vocabulary piece; ties go to the leftmost pair. A character that is no
 * piece falls back to its bytes' <0xNN> tokens, or to the unknown token when
 * the vocabulary has no byte tokens. Same algorithm as sentencepiece's
 * bpe_model.cc and llama.cpp's llm_tokenizer_spm.
 *
 * When no piece has a U+2581 right after another character (checked when the
 * tokenizer is built: true for vocabularies trained with whitespace splitting),
 * no merge can join a word to the U+2581 that starts the next one, so each
 * word is merged on its own: same result, small heaps.
 */
#include <string.h>

#include "tokenizer/heap.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

typedef struct ssym {
    size_t start, len;    /* bytes in the escaped text */
    int32_t prev, next;
} ssym;

typedef struct sbig {
    float score;
    int32_t left, right;
    size_t len;           /* bytes of the merged text when pushed */
} sbig;

static bool sbig_before(const sbig *a, const sbig *b)
{
    return a->score > b->score || (a->score == b->score && a->left < b->left);
}

TDIFF__HEAP_DEFINE(sbig_heap, sbig, sbig_before)

typedef struct spm_state {
    const struct tdiff_tokenizer *tok;
    const uint8_t *text;
    ssym *syms;
    sbig_heap heap;        /* candidate merges, best score first */
    const tdiff__env *env;
} spm_state;

/* Pieces that may come out of plain text: normal and user-defined ones. */
static int32_t find_piece(const struct tdiff_tokenizer *t, const uint8_t *s, size_t n)
{
    int32_t id = tdiff__tok_find(t, s, n);
    if (id >= 0 && t->types[id] != TDIFF__TOK_NORMAL && t->types[id] != TDIFF__TOK_USER_DEFINED)
        return -1;
    return id;
}

static tdiff_status try_bigram(spm_state *s, int32_t l, int32_t r)
{
    if (l < 0 || r < 0)
        return TDIFF_OK;
    size_t len = s->syms[l].len + s->syms[r].len;
    int32_t id = find_piece(s->tok, s->text + s->syms[l].start, len);
    if (id < 0)
        return TDIFF_OK;
    return sbig_heap_push(&s->heap, s->env, (sbig){s->tok->scores[id], l, r, len});
}

static tdiff_status emit_symbol(spm_state *s, const ssym *y, tdiff__ids *ids)
{
    const struct tdiff_tokenizer *t = s->tok;
    int32_t id = find_piece(t, s->text + y->start, y->len);
    if (id >= 0)
        return tdiff__ids_push(ids, id);
    bool have_bytes = true;
    for (size_t j = 0; j < y->len; j++)
        have_bytes = have_bytes && t->byte_token[s->text[y->start + j]] >= 0;
    if (!have_bytes)
        return t->unk >= 0 ? tdiff__ids_push(ids, t->unk) : TDIFF_OK;
    for (size_t j = 0; j < y->len; j++) {
        tdiff_status st = tdiff__ids_push(ids, t->byte_token[s->text[y->start + j]]);
        if (st != TDIFF_OK)
            return st;
    }
    return TDIFF_OK;
}

static bool is_space_sym(const uint8_t *text, const ssym *y)
{
    return y->len == 3 && text[y->start] == 0xE2 && text[y->start + 1] == 0x96 && text[y->start + 2] == 0x81;
}

/* Merges symbols [a, b) and emits their ids. */
static tdiff_status merge_segment(spm_state *s, size_t a, size_t b, tdiff__ids *ids)
{
    ssym *syms = s->syms;
    tdiff_status st = TDIFF_OK;
    for (size_t i = a; i < b; i++) {
        syms[i].prev = i > a ? (int32_t)i - 1 : -1;
        syms[i].next = i + 1 < b ? (int32_t)i + 1 : -1;
    }
    s->heap.n = 0;
    for (size_t i = a; i + 1 < b && st == TDIFF_OK; i++)
        st = try_bigram(s, (int32_t)i, (int32_t)i + 1);
    while (st == TDIFF_OK && s->heap.n) {
        sbig g = sbig_heap_pop(&s->heap);
        ssym *l = &syms[g.left], *r = &syms[g.right];
        if (l->len == 0 || r->len == 0 || l->len + r->len != g.len || l->next != g.right)
            continue;
        l->len += r->len;
        r->len = 0;
        l->next = r->next;
        if (r->next >= 0)
            syms[r->next].prev = g.left;
        st = try_bigram(s, l->prev, g.left);
        if (st == TDIFF_OK)
            st = try_bigram(s, g.left, l->next);
    }
    for (int32_t i = (int32_t)a; i >= 0 && st == TDIFF_OK; i = syms[i].next)
        st = emit_symbol(s, &syms[i], ids);
    return st;
}

static tdiff_status encode_chunk(const struct tdiff_tokenizer *tok, const char *str, size_t len, bool at_start,
                                 bool split, tdiff__ids *ids)
{
    const tdiff__env *env = ids->env;
    tdiff__text x;
    tdiff_status st = tdiff__text_decode(env, str, len, &x);
    if (st != TDIFF_OK)
        return st;
    /* escape: ' ' -> U+2581 (3 bytes), plus the prefix */
    size_t cap = 3 * (x.n + 1) + x.off[x.n];
    uint8_t *text = tdiff__malloc(env, cap);
    size_t nsym;
    ssym *syms = tdiff__mul_size(x.n + 1, sizeof *syms, &nsym) ? tdiff__malloc(env, nsym) : NULL;
    spm_state s = {.tok = tok, .text = text, .syms = syms, .env = env};
    if (!text || !syms) {
        st = TDIFF_E_OUT_OF_MEMORY;
        goto done;
    }
    size_t n = 0, o = 0;
    static const uint8_t space[3] = {0xE2, 0x96, 0x81};
    if (at_start && tok->add_space_prefix && x.n) {
        memcpy(text, space, 3);
        syms[n++] = (ssym){0, 3, -1, -1};
        o = 3;
    }
    for (size_t i = 0; i < x.n; i++) {
        size_t start = o;
        if (x.cp[i] == ' ') {
            memcpy(text + o, space, 3);
            o += 3;
        } else {
            memcpy(text + o, x.utf8 + x.off[i], x.off[i + 1] - x.off[i]);
            o += x.off[i + 1] - x.off[i];
        }
        syms[n++] = (ssym){start, o - start, -1, -1};
    }
    /* merge each segment on its own (all at once when segments may interact) */
    for (size_t a = 0; a < n && st == TDIFF_OK;) {
        size_t b = a + 1;
        if (split)
            while (b < n && !(is_space_sym(text, &syms[b]) && !is_space_sym(text, &syms[b - 1])))
                b++;
        else
            b = n;
        st = merge_segment(&s, a, b, ids);
        a = b;
    }
done:
    tdiff__free(env, text);
    tdiff__free(env, syms);
    tdiff__free(env, s.heap.a);
    tdiff__text_free(env, &x);
    return st;
}

#define SPM_CHUNK 65536 /* input bytes per chunk (at least), for long texts */

/* With independent words, a long text is encoded in chunks that end before a
 * space following a non-space (where a new word's U+2581 starts): same ids,
 * small per-call arrays. Only the first chunk gets the space prefix. */
tdiff_status tdiff__spm_encode(const struct tdiff_tokenizer *tok, const char *str, size_t len, bool at_start,
                               tdiff__ids *ids)
{
    return tdiff__spm_encode_opts(tok, str, len, at_start, true, ids);
}

tdiff_status tdiff__spm_encode_opts(const struct tdiff_tokenizer *tok, const char *str, size_t len, bool at_start,
                                    bool fast, tdiff__ids *ids)
{
    bool split = fast && tok->spm_split_words;
    size_t start = 0;
    while (split && len - start > 2 * SPM_CHUNK) {
        size_t p = start + SPM_CHUNK;
        while (p < len && !(str[p] == ' ' && str[p - 1] != ' '))
            p++;
        if (p >= len)
            break;
        tdiff_status st = encode_chunk(tok, str + start, p - start, at_start && start == 0, true, ids);
        if (st != TDIFF_OK)
            return st;
        start = p;
    }
    return encode_chunk(tok, str + start, len - start, at_start && start == 0, split, ids);
}
