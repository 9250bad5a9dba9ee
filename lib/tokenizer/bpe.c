/*
 * bpe.c -- byte-level BPE ("gpt2"): pre-tokenize, turn each piece's bytes into
 * the GPT-2 byte symbols, then apply merges lowest rank first. The merge loop is
 * llama.cpp's: a doubly linked list of symbols plus a binary heap of adjacent
 * pairs ordered by (rank, left position); a popped pair whose symbols changed
 * since it was pushed is skipped. O(n log n) in the piece length n.
 *
 * Speed: long texts are pre-tokenized in chunks (so the per-character arrays
 * stay small) and each call keeps a small direct-mapped cache of the pieces it
 * has already encoded (prose repeats its words).
 */
#include <string.h>

#include "tokenizer/heap.h"
#include "tokenizer/tokenizer.h"

typedef struct sym {
    int32_t id;
    int32_t prev, next;   /* -1 at the ends; a merged-away symbol has id -1 */
} sym;

typedef struct pair {
    int32_t rank;
    int32_t left, right;  /* symbol indices */
    int32_t left_id, right_id;
} pair;

static bool pair_less(const pair *a, const pair *b)
{
    return a->rank < b->rank || (a->rank == b->rank && a->left < b->left);
}

TDIFF__HEAP_DEFINE(pair_heap, pair, pair_less)

#define CACHE_KEY 24   /* bytes of a cacheable piece */
#define CACHE_IDS 12   /* ids of a cacheable piece */
#define CHUNK 65536    /* input bytes per pre-tokenized chunk (at least) */

typedef struct cache_slot {
    uint64_t hash;
    uint8_t len, n_ids;
    uint8_t key[CACHE_KEY];
    int32_t ids[CACHE_IDS];
} cache_slot;

typedef struct bpe_state {
    const struct tdiff_tokenizer *tok;
    const tdiff__text *text;
    tdiff__ids *ids;
    sym *syms;
    pair_heap heap;        /* candidate merges, lowest rank first */
    size_t cap;            /* symbols (and pairs: at most 2 per merge + initial) */
    cache_slot *cache;     /* NULL for short texts */
    size_t cache_mask;
} bpe_state;

static tdiff_status try_pair(bpe_state *s, int32_t left, int32_t right)
{
    if (left < 0 || right < 0)
        return TDIFF_OK;
    int32_t m = tdiff__tok_find_merge(s->tok, s->syms[left].id, s->syms[right].id);
    if (m < 0)
        return TDIFF_OK;
    return pair_heap_push(&s->heap, s->ids->env, (pair){m, left, right, s->syms[left].id, s->syms[right].id});
}

/* Encodes the bytes b[0..n) of one pre-token. */
static tdiff_status merge_word(bpe_state *s, const uint8_t *b, size_t n);

static uint64_t piece_hash(const uint8_t *b, size_t n)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

static tdiff_status encode_word(bpe_state *s, const uint8_t *b, size_t n)
{
    if (!s->cache || n > CACHE_KEY || n < 2)
        return merge_word(s, b, n);
    uint64_t h = piece_hash(b, n);
    cache_slot *c = &s->cache[(h ^ (h >> 29)) & s->cache_mask];
    if (c->hash == h && c->len == n && !memcmp(c->key, b, n)) {
        for (size_t i = 0; i < c->n_ids; i++) {
            tdiff_status st = tdiff__ids_push(s->ids, c->ids[i]);
            if (st != TDIFF_OK)
                return st;
        }
        return TDIFF_OK;
    }
    size_t before = s->ids->n;
    tdiff_status st = merge_word(s, b, n);
    size_t k = s->ids->n - before;
    if (st == TDIFF_OK && k <= CACHE_IDS) {
        c->hash = h;
        c->len = (uint8_t)n;
        c->n_ids = (uint8_t)k;
        memcpy(c->key, b, n);
        memcpy(c->ids, s->ids->v + before, k * sizeof *c->ids);
    }
    return st;
}

static tdiff_status merge_word(bpe_state *s, const uint8_t *b, size_t n)
{
    const struct tdiff_tokenizer *t = s->tok;
    tdiff_status st;
    if (n == 1)
        return tdiff__ids_push(s->ids, t->byte_token[b[0]]);
    if (t->ignore_merges) {
        /* the piece's text in symbol form: at most 2 bytes per byte symbol */
        uint8_t small[256];
        if (2 * n <= sizeof small) {
            size_t k = 0;
            for (size_t i = 0; i < n; i++) {
                size_t l = t->text_off[t->byte_token[b[i]] + 1] - t->text_off[t->byte_token[b[i]]];
                memcpy(small + k, t->text_pool + t->text_off[t->byte_token[b[i]]], l);
                k += l;
            }
            int32_t id = tdiff__tok_find(t, small, k);
            if (id >= 0)
                return tdiff__ids_push(s->ids, id);
        }
    }
    if (n > s->cap) {
        sym *ns = tdiff__realloc(s->ids->env, s->syms, n * sizeof *ns);
        if (!ns)
            return TDIFF_E_OUT_OF_MEMORY;
        s->syms = ns;
        s->cap = n;
    }
    for (size_t i = 0; i < n; i++)
        s->syms[i] = (sym){t->byte_token[b[i]], (int32_t)i - 1, i + 1 < n ? (int32_t)i + 1 : -1};
    s->heap.n = 0;
    for (size_t i = 0; i + 1 < n; i++)
        if ((st = try_pair(s, (int32_t)i, (int32_t)i + 1)) != TDIFF_OK)
            return st;
    while (s->heap.n) {
        pair p = pair_heap_pop(&s->heap);
        sym *l = &s->syms[p.left], *r = &s->syms[p.right];
        if (l->id != p.left_id || r->id != p.right_id || l->next != p.right)
            continue; /* stale: one side was merged since */
        l->id = t->merges[p.rank].result;
        l->next = r->next;
        if (r->next >= 0)
            s->syms[r->next].prev = p.left;
        r->id = -1;
        if ((st = try_pair(s, l->prev, p.left)) != TDIFF_OK || (st = try_pair(s, p.left, l->next)) != TDIFF_OK)
            return st;
    }
    for (int32_t i = 0; i >= 0; i = s->syms[i].next)
        if ((st = tdiff__ids_push(s->ids, s->syms[i].id)) != TDIFF_OK)
            return st;
    return TDIFF_OK;
}

static tdiff_status on_piece(void *ud, size_t a, size_t b)
{
    bpe_state *s = ud;
    const tdiff__text *x = s->text;
    return encode_word(s, x->utf8 + x->off[a], x->off[b] - x->off[a]);
}

/* End of the chunk that starts at `start`: the first " x" after CHUNK bytes
 * whose space follows an ASCII letter and precedes one. Every pre-tokenizer
 * starts a piece there (a letter run ends at the space and " x" begins the next
 * word), so chunking does not change the pieces. */
static size_t chunk_end(const char *s, size_t start, size_t len)
{
    if (len - start <= 2 * CHUNK)
        return len;
    for (size_t p = start + CHUNK; p + 1 < len; p++) {
        if (s[p] == ' ') {
            unsigned char a = (unsigned char)s[p - 1] | 0x20u, c = (unsigned char)s[p + 1] | 0x20u;
            if (a >= 'a' && a <= 'z' && c >= 'a' && c <= 'z')
                return p;
        }
    }
    return len;
}

tdiff_status tdiff__bpe_encode(const struct tdiff_tokenizer *tok, const char *str, size_t len, tdiff__ids *ids)
{
    return tdiff__bpe_encode_opts(tok, str, len, true, ids);
}

tdiff_status tdiff__bpe_encode_opts(const struct tdiff_tokenizer *tok, const char *str, size_t len, bool fast,
                                    tdiff__ids *ids)
{
    bpe_state s = {.tok = tok, .ids = ids};
    if (fast && len >= 4096) { /* the cache pays off only on longer texts */
        size_t slots = len >= (1u << 20) ? 8192 : 1024;
        s.cache = tdiff__calloc(ids->env, slots, sizeof *s.cache);
        if (!s.cache)
            return TDIFF_E_OUT_OF_MEMORY;
        s.cache_mask = slots - 1;
    }
    tdiff_status st = TDIFF_OK;
    for (size_t start = 0; start < len && st == TDIFF_OK;) {
        size_t end = fast ? chunk_end(str, start, len) : len;
        tdiff__text text;
        st = tdiff__text_decode(ids->env, str + start, end - start, &text);
        if (st != TDIFF_OK)
            break;
        s.text = &text;
        st = tdiff__pretok_split(tok->pre, text.cp, text.n, on_piece, &s);
        tdiff__text_free(ids->env, &text);
        start = end;
    }
    tdiff__free(ids->env, s.syms);
    tdiff__free(ids->env, s.heap.a);
    tdiff__free(ids->env, s.cache);
    return st;
}
