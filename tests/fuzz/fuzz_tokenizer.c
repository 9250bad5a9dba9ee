/*
 * fuzz_tokenizer.c -- libFuzzer target over tokenizers built from fuzzed
 * vocabularies (the plain configuration tokenizer.ggml.* turns into; the GGUF
 * path to it is fuzz_gguf.c's), then used on fuzzed text and id sequences.
 * Properties checked, beyond "no crash, over-read, leak or UB":
 *  - creation succeeds or fails with a message, leaking nothing, also when any
 *    one allocation fails or every allocation from some point on fails;
 *  - tokenize: ids inside the vocabulary; asking with cap 0 gives the size and
 *    that size is enough; an allocation failure is TDIFF_E_OUT_OF_MEMORY with
 *    nothing leaked (both failure modes);
 *  - byte-level BPE round trip: detokenize(tokenize(x)) == x for valid UTF-8 x
 *    (no special parsing; every id an ordinary token);
 *  - streaming == detokenize, for the tokenized ids and for arbitrary ids, with
 *    and without rendering special tokens; token_piece/token_text work for every id.
 *
 * Input layout (every field read with fuzz_common.h's reader; missing bytes are 0):
 *   u8 kind (gpt2 | bert | llama | an unknown name), u8 pre-tokenizer, u8 flags,
 *   u8 extra token count, then per extra token: u8 length (0..15), bytes, u8 type;
 *   u8 merge count, then per merge: u8 left, u8 right (indices into the extra
 *   tokens) -- "left right" and the joined token are added; 7 special ids (u8:
 *   255 absent, else an index that may fall outside the vocabulary); u8 OOM
 *   points; u16 id count + u16 ids; the rest is the text.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "libtextdiff.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

#define MAX_EXTRA 64u
#define MAX_MERGES 32u
#define MAX_TOKENS (256u + MAX_EXTRA + MAX_MERGES + 4u)
#define TOKEN_BYTES 40u /* two joined extras (15 + 15) or "<0xNN>", with room */

typedef struct vocab {
    char text[MAX_TOKENS][TOKEN_BYTES];
    const char *tokens[MAX_TOKENS];
    size_t lens[MAX_TOKENS];
    int32_t types[MAX_TOKENS];
    float scores[MAX_TOKENS];
    char merge_text[MAX_MERGES][2 * TOKEN_BYTES];
    const char *merges[MAX_MERGES];
    size_t merge_lens[MAX_MERGES];
    tdiff__tok_config cfg;
} vocab;

static size_t add_token(vocab *v, const void *s, size_t len, int32_t type)
{
    size_t n = v->cfg.n_tokens;
    if (n >= MAX_TOKENS || len >= TOKEN_BYTES)
        return n;
    memcpy(v->text[n], s, len);
    v->lens[n] = len;
    v->tokens[n] = v->text[n];
    v->types[n] = type;
    v->scores[n] = -(float)n;
    v->cfg.n_tokens = n + 1;
    return n;
}

/* Reads a vocabulary; returns the flags byte. */
static uint32_t read_vocab(fuzz_reader *r, vocab *v)
{
    static const char *const models[] = {"gpt2", "bert", "llama", "t5"};
    static const char *const pres[] = {"default", "gpt-2", "llama3", "qwen2", "no-such-pre"};
    memset(v, 0, sizeof *v);
    tdiff__tok_config *c = &v->cfg;
    uint32_t kind = fuzz_u8(r) % 4, pre = fuzz_u8(r) % 6, flags = fuzz_u8(r);
    c->model = models[kind];
    c->model_len = strlen(models[kind]);
    if (pre < 5) {
        c->pre = pres[pre];
        c->pre_len = strlen(pres[pre]);
    }
    if (flags & 1) { /* the 256 byte symbols (byte-level BPE) or <0xNN> byte tokens (SentencePiece) */
        for (int b = 0; b < 256; b++) {
            char s[8];
            size_t len;
            if (kind == 2) {
                static const char hex[] = "0123456789ABCDEF";
                memcpy(s, "<0x", 3), s[3] = hex[b >> 4], s[4] = hex[b & 15], s[5] = '>';
                len = 6;
            } else {
                len = tdiff__utf8_encode(tdiff__gpt2_byte_to_cp((uint8_t)b), (uint8_t *)s);
            }
            add_token(v, s, len, kind == 2 ? TDIFF__TOK_BYTE : TDIFF__TOK_NORMAL);
        }
    }
    size_t first_extra = c->n_tokens, n_extra = fuzz_u8(r) % (MAX_EXTRA + 1);
    for (size_t i = 0; i < n_extra; i++) {
        size_t len;
        const uint8_t *s = fuzz_take(r, fuzz_u8(r) % 16, &len);
        add_token(v, s, len, (int32_t)(fuzz_u8(r) % 8)); /* 7: outside the enum */
    }
    size_t n_extra_made = c->n_tokens - first_extra, n_merges = fuzz_u8(r) % (MAX_MERGES + 1);
    for (size_t i = 0; i < n_merges && n_extra_made; i++) {
        size_t a = first_extra + fuzz_u8(r) % n_extra_made, b = first_extra + fuzz_u8(r) % n_extra_made;
        char *m = v->merge_text[c->n_merges];
        size_t la = v->lens[a], lb = v->lens[b];
        memcpy(m, v->text[a], la), m[la] = ' ', memcpy(m + la + 1, v->text[b], lb);
        v->merges[c->n_merges] = m;
        v->merge_lens[c->n_merges++] = la + 1 + lb;
        char joined[2 * TOKEN_BYTES];
        memcpy(joined, v->text[a], la), memcpy(joined + la, v->text[b], lb);
        if (!(flags & 2)) /* flag 2: leave the merge's result out (an invalid merge) */
            add_token(v, joined, la + lb, TDIFF__TOK_NORMAL);
    }
    c->merges = v->merges;
    c->merge_lens = v->merge_lens;
    c->tokens = v->tokens;
    c->token_lens = v->lens;
    if (!(flags & 4)) {
        c->n_types = c->n_tokens;
        c->types = v->types;
    }
    if (!(flags & 8) || kind == 2) {
        c->n_scores = c->n_tokens;
        c->scores = v->scores;
    }
    int64_t *ids[] = {&c->bos, &c->eos, &c->unk, &c->pad, &c->mask, &c->sep, &c->cls};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        uint32_t x = fuzz_u8(r);
        *ids[i] = x == 255 ? -1 : (int64_t)(x % (c->n_tokens + 2)); /* sometimes outside */
        if (x < 255 && x >= 200 && c->n_tokens) /* reach ids above 255 too */
            *ids[i] = (int64_t)c->n_tokens - 1 - (x - 200) % c->n_tokens;
    }
    c->add_bos = flags & 16 ? 1 : -1;
    c->add_eos = flags & 32 ? 1 : -1;
    c->add_space_prefix = flags & 64 ? 0 : -1;
    return flags;
}

static int valid_utf8(const uint8_t *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t len = tdiff__utf8_decode(s + i, n - i, &cp);
        if (len == 0 || cp == 0xFFFD)
            return 0;
        i += len;
    }
    return 1;
}

/* Streaming ids through tdiff_tokenizer_stream_piece gives detokenize's bytes. */
static void check_stream(const tdiff_tokenizer *tok, const int32_t *ids, size_t n, uint32_t flags)
{
    size_t len = 0;
    tdiff_status st = tdiff_tokenizer_detokenize(tok, ids, n, flags, NULL, 0, &len);
    FUZZ_CHECK(st == TDIFF_OK || st == TDIFF_E_BUFFER_TOO_SMALL);
    char *text = malloc(len + 1), *piece = NULL;
    FUZZ_CHECK(text);
    FUZZ_CHECK(tdiff_tokenizer_detokenize(tok, ids, n, flags, text, len + 1, &len) == TDIFF_OK);
    tdiff_token_stream ts;
    tdiff_token_stream_init(&ts);
    size_t at = 0;
    for (size_t i = 0; i <= n; i++) {
        /* first with no room: either nothing was due (a complete call) or the
         * size comes back and the stream is unchanged */
        size_t need = 0, got = 0;
        st = i < n ? tdiff_tokenizer_stream_piece(tok, &ts, ids[i], flags, NULL, 0, &need)
                   : tdiff_token_stream_flush(&ts, NULL, 0, &need);
        FUZZ_CHECK(st == TDIFF_OK ? need == 0 : st == TDIFF_E_BUFFER_TOO_SMALL && need > 0);
        if (st == TDIFF_OK)
            continue;
        free(piece);
        piece = malloc(need);
        FUZZ_CHECK(piece);
        st = i < n ? tdiff_tokenizer_stream_piece(tok, &ts, ids[i], flags, piece, need, &got)
                   : tdiff_token_stream_flush(&ts, piece, need, &got);
        FUZZ_CHECK(st == TDIFF_OK && got == need);
        FUZZ_CHECK(at + got <= len && !memcmp(text + at, piece, got));
        at += got;
    }
    FUZZ_CHECK(at == len);
    free(piece);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_reader r = {data, size};
    static vocab v; /* 40 KB: not on the stack */
    uint32_t flags = read_vocab(&r, &v);
    uint32_t oom1 = fuzz_u8(&r), oom2 = fuzz_u8(&r);
    size_t n_ids = fuzz_u16(&r) % 256;
    int32_t arbitrary[256];
    for (size_t i = 0; i < n_ids; i++)
        arbitrary[i] = (int32_t)fuzz_u16(&r);
    size_t text_len;
    const char *text = (const char *)fuzz_take(&r, 4096, &text_len);

    fuzz_alloc a = {0};
    tdiff_host host = fuzz_host(&a);
    struct tdiff_tokenizer *tok = NULL;
    char err[256] = "";
    if (tdiff__tokenizer_create_config(&v.cfg, &host, &tok, err, sizeof err) != TDIFF_OK) {
        FUZZ_CHECK(!tok && err[0] && a.live == 0);
        return 0;
    }
    /* creation again with allocations failing: out of memory, nothing leaked */
    long made = a.count;
    for (int persistent = 0; persistent < 2; persistent++) {
        fuzz_alloc f = {0};
        f.fail_at = 1 + (long)((persistent ? oom2 : oom1) % (uint32_t)made);
        f.persistent = persistent;
        tdiff_host fh = fuzz_host(&f);
        struct tdiff_tokenizer *t2 = NULL;
        FUZZ_CHECK(tdiff__tokenizer_create_config(&v.cfg, &fh, &t2, NULL, 0) == TDIFF_E_OUT_OF_MEMORY);
        FUZZ_CHECK(!t2 && f.live == 0);
    }
    size_t vocab_n = 0;
    FUZZ_CHECK(tdiff_tokenizer_vocab_size(tok, &vocab_n) == TDIFF_OK && vocab_n == v.cfg.n_tokens);
    char buf[64];
    for (size_t id = 0; id < vocab_n; id++) {
        size_t len;
        tdiff_status st = tdiff_tokenizer_token_piece(tok, (int32_t)id, buf, sizeof buf, &len);
        FUZZ_CHECK(st == TDIFF_OK || st == TDIFF_E_BUFFER_TOO_SMALL);
        st = tdiff_tokenizer_token_text(tok, (int32_t)id, buf, sizeof buf, &len);
        FUZZ_CHECK(st == TDIFF_OK && len == v.lens[id] && !memcmp(buf, v.text[id], len));
    }

    /* tokenize: size query, then exactly that size */
    uint32_t tflags = (flags & 128 ? TDIFF_TOKENIZE_PARSE_SPECIAL : 0) | (flags & 16 ? TDIFF_TOKENIZE_ADD_SPECIAL : 0);
    size_t need = 0, n = 0;
    tdiff_status st = tdiff_tokenizer_tokenize(tok, text, text_len, tflags, NULL, 0, &need);
    FUZZ_CHECK(st == TDIFF_OK || st == TDIFF_E_BUFFER_TOO_SMALL);
    int32_t *ids = malloc((need ? need : 1) * sizeof *ids);
    FUZZ_CHECK(ids);
    FUZZ_CHECK(tdiff_tokenizer_tokenize(tok, text, text_len, tflags, ids, need, &n) == TDIFF_OK && n == need);
    int all_ordinary = 1;
    for (size_t i = 0; i < n; i++) {
        FUZZ_CHECK(ids[i] >= 0 && (size_t)ids[i] < vocab_n);
        all_ordinary &= !tdiff_tokenizer_is_special(tok, ids[i]);
    }
    /* byte-level BPE gives the text back */
    if (tok->kind == TDIFF__KIND_BPE && tflags == 0 && all_ordinary && valid_utf8((const uint8_t *)text, text_len)) {
        char *back = malloc(text_len + 1);
        size_t blen = 0;
        FUZZ_CHECK(back);
        FUZZ_CHECK(tdiff_tokenizer_detokenize(tok, ids, n, 0, back, text_len + 1, &blen) == TDIFF_OK);
        FUZZ_CHECK(blen == text_len && !memcmp(back, text, text_len));
        free(back);
    }
    check_stream(tok, ids, n, 0);
    check_stream(tok, ids, n, TDIFF_DETOKENIZE_RENDER_SPECIAL);
    for (size_t i = 0; i < n_ids; i++)
        arbitrary[i] %= (int32_t)vocab_n;
    check_stream(tok, arbitrary, n_ids, flags & 128 ? TDIFF_DETOKENIZE_RENDER_SPECIAL : 0);

    /* tokenize with allocations failing (the tokenizer's own host): out of
     * memory, nothing leaked, the tokenizer still usable */
    long live = a.live;
    for (int persistent = 0; persistent < 2; persistent++) {
        long before = a.count;
        a.fail_at = before + 1 + (persistent ? oom2 : oom1) % 16;
        a.persistent = persistent;
        size_t m = 0;
        st = tdiff_tokenizer_tokenize(tok, text, text_len, tflags, ids, need, &m);
        FUZZ_CHECK(st == TDIFF_OK || st == TDIFF_E_OUT_OF_MEMORY);
        FUZZ_CHECK(st != TDIFF_OK || a.count < a.fail_at);
        FUZZ_CHECK(a.live == live);
        a.fail_at = 0;
        a.persistent = 0;
    }
    size_t again = 0;
    FUZZ_CHECK(tdiff_tokenizer_tokenize(tok, text, text_len, tflags, ids, need, &again) == TDIFF_OK && again == n);
    free(ids);
    tdiff_tokenizer_free(tok);
    FUZZ_CHECK(a.live == 0);
    return 0;
}
