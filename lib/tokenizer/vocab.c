/*
 * vocab.c -- builds a tokenizer from its configuration: validates the metadata
 * (every malformation is rejected here, with a message naming the entry),
 * copies the token texts, hashes them, parses merges and byte tokens, and
 * precomputes what each token detokenizes to.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

static uint64_t hash_bytes(const void *p, size_t n)
{
    const uint8_t *s = p;
    uint64_t h = 1469598103934665603ull; /* FNV-1a 64 offset basis */
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 1099511628211ull;
    return h ^ (h >> 29);
}

/* murmur3's 64-bit finaliser: every input bit reaches the low bits we mask */
static uint64_t hash_pair(int32_t a, int32_t b)
{
    uint64_t h = (uint64_t)(uint32_t)a << 32 | (uint32_t)b;
    h ^= h >> 33;
    h *= 0xFF51AFD7ED558CCDull;
    h ^= h >> 33;
    h *= 0xC4CEB9FE1A85EC53ull;
    return h ^ (h >> 33);
}

static size_t pow2_at_least(size_t n)
{
    size_t c = 16;
    while (c < n)
        c <<= 1;
    return c;
}

static inline const char *tok_text(const struct tdiff_tokenizer *t, size_t id, size_t *len)
{
    *len = t->text_off[id + 1] - t->text_off[id];
    return t->text_pool + t->text_off[id];
}

int32_t tdiff__tok_find(const struct tdiff_tokenizer *t, const void *text, size_t len)
{
    size_t mask = t->hash_cap - 1;
    for (size_t i = (size_t)hash_bytes(text, len) & mask;; i = (i + 1) & mask) {
        uint32_t e = t->hash[i];
        if (!e)
            return -1;
        size_t l;
        const char *s = tok_text(t, e - 1, &l);
        if (l == len && !memcmp(s, text, len))
            return (int32_t)(e - 1);
    }
}

int32_t tdiff__tok_find_merge(const struct tdiff_tokenizer *t, int32_t left, int32_t right)
{
    if (!t->merge_hash_cap)
        return -1;
    size_t mask = t->merge_hash_cap - 1;
    for (size_t i = (size_t)hash_pair(left, right) & mask;; i = (i + 1) & mask) {
        uint32_t e = t->merge_hash[i];
        if (!e)
            return -1;
        const tdiff__merge *m = &t->merges[e - 1];
        if (m->left == left && m->right == right)
            return (int32_t)(e - 1);
    }
}

/* ---- GPT-2 byte map ---- */

static bool gpt2_printable(unsigned b)
{
    return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

uint32_t tdiff__gpt2_byte_to_cp(uint8_t b)
{
    if (gpt2_printable(b))
        return b;
    unsigned k = 0; /* rank of b among the non-printable bytes */
    for (unsigned x = 0; x < b; x++)
        k += !gpt2_printable(x);
    return 256u + k;
}

int tdiff__gpt2_cp_to_byte(uint32_t cp)
{
    if (cp < 256)
        return gpt2_printable(cp) ? (int)cp : -1;
    if (cp >= 256 + 68) /* 68 bytes are not printable */
        return -1;
    unsigned k = cp - 256;
    for (unsigned x = 0; x < 256; x++)
        if (!gpt2_printable(x) && k-- == 0)
            return (int)x;
    return -1;
}

/* ---- building ---- */

static tdiff_status copy_tokens(struct tdiff_tokenizer *t, const tdiff__tok_config *c)
{
    tdiff__env *env = &t->env;
    size_t total = 0;
    for (size_t i = 0; i < c->n_tokens; i++) {
        if (!c->tokens[i] && c->token_lens[i])
            return tdiff__fail(env, TDIFF_E_INVALID_ARGUMENT, "token %zu: NULL text", i);
        if (!tdiff__add_size(total, c->token_lens[i], &total))
            return tdiff__fail(env, TDIFF_E_OVERFLOW, "token texts too large");
        if (c->token_lens[i] > t->max_token_len)
            t->max_token_len = c->token_lens[i];
    }
    t->text_pool = tdiff__malloc(env, total ? total : 1);
    t->text_off = tdiff__calloc(env, c->n_tokens + 1, sizeof *t->text_off);
    t->types = tdiff__calloc(env, c->n_tokens, 1);
    if (!t->text_pool || !t->text_off || !t->types)
        return tdiff__fail(env, TDIFF_E_OUT_OF_MEMORY, "out of memory copying the vocabulary");
    size_t off = 0;
    for (size_t i = 0; i < c->n_tokens; i++) {
        if (c->token_lens[i])
            memcpy(t->text_pool + off, c->tokens[i], c->token_lens[i]);
        t->text_off[i] = off;
        off += c->token_lens[i];
        int32_t ty = c->n_types ? c->types[i] : TDIFF__TOK_NORMAL;
        if (ty < 0 || ty > TDIFF__TOK_BYTE)
            return tdiff__fail(env, TDIFF_E_BAD_FORMAT, "token %zu: token type %d is not one of 0..6", i, (int)ty);
        t->types[i] = (uint8_t)(ty == TDIFF__TOK_UNDEFINED ? TDIFF__TOK_NORMAL : ty);
    }
    t->text_off[c->n_tokens] = off;
    if (c->n_scores) {
        t->scores = tdiff__calloc(env, c->n_tokens, sizeof *t->scores);
        if (!t->scores)
            return tdiff__fail(env, TDIFF_E_OUT_OF_MEMORY, "out of memory copying scores");
        memcpy(t->scores, c->scores, c->n_tokens * sizeof *t->scores);
    }
    return TDIFF_OK;
}

static tdiff_status build_hash(struct tdiff_tokenizer *t)
{
    tdiff__env *env = &t->env;
    t->hash_cap = pow2_at_least(t->n_tokens * 2);
    t->hash = tdiff__calloc(env, t->hash_cap, sizeof *t->hash);
    if (!t->hash)
        return tdiff__fail(env, TDIFF_E_OUT_OF_MEMORY, "out of memory hashing the vocabulary");
    size_t mask = t->hash_cap - 1;
    for (size_t id = 0; id < t->n_tokens; id++) {
        size_t len;
        const char *s = tok_text(t, id, &len);
        size_t i = (size_t)hash_bytes(s, len) & mask;
        for (;; i = (i + 1) & mask) {
            uint32_t e = t->hash[i];
            if (!e)
                break;
            size_t l2;
            const char *s2 = tok_text(t, e - 1, &l2);
            if (l2 == len && !memcmp(s, s2, len))
                return tdiff__fail(env, TDIFF_E_BAD_FORMAT, "tokens %u and %zu have the same text \"%.*s\"",
                                   e - 1, id, (int)(len > 40 ? 40 : len), s);
        }
        t->hash[i] = (uint32_t)id + 1;
    }
    return TDIFF_OK;
}

static tdiff_status check_special(struct tdiff_tokenizer *t, const char *what, int64_t v, int32_t *out)
{
    if (v < 0) {
        *out = -1;
        return TDIFF_OK;
    }
    if ((uint64_t)v >= t->n_tokens)
        return tdiff__fail(&t->env, TDIFF_E_BAD_FORMAT, "%s token id %lld is outside the vocabulary (%zu tokens)",
                           what, (long long)v, t->n_tokens);
    *out = (int32_t)v;
    return TDIFF_OK;
}

/* "<0xNN>" with two upper-case hex digits, exactly as llama.cpp writes them. */
static int parse_byte_token(const char *s, size_t len)
{
    if (len != 6 || memcmp(s, "<0x", 3) != 0 || s[5] != '>')
        return -1;
    int v = 0;
    for (int i = 3; i < 5; i++) {
        char c = s[i];
        int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

static tdiff_status build_byte_tokens(struct tdiff_tokenizer *t)
{
    for (int b = 0; b < 256; b++)
        t->byte_token[b] = -1;
    if (t->kind == TDIFF__KIND_BPE) {
        for (int b = 0; b < 256; b++) {
            uint8_t u[4];
            size_t n = tdiff__utf8_encode(tdiff__gpt2_byte_to_cp((uint8_t)b), u);
            t->byte_token[b] = tdiff__tok_find(t, u, n);
            if (t->byte_token[b] < 0)
                return tdiff__fail(&t->env, TDIFF_E_BAD_FORMAT,
                                   "byte-level BPE vocabulary has no token for byte 0x%02X (symbol U+%04X)", b,
                                   (unsigned)tdiff__gpt2_byte_to_cp((uint8_t)b));
        }
        return TDIFF_OK;
    }
    for (size_t id = 0; id < t->n_tokens; id++) {
        if (t->types[id] != TDIFF__TOK_BYTE)
            continue;
        size_t len;
        const char *s = tok_text(t, id, &len);
        int b = parse_byte_token(s, len);
        if (b < 0)
            return tdiff__fail(&t->env, TDIFF_E_BAD_FORMAT, "token %zu has type BYTE but text \"%.*s\" is not <0xNN>",
                               id, (int)(len > 20 ? 20 : len), s);
        t->byte_token[b] = (int32_t)id;
    }
    return TDIFF_OK;
}

static tdiff_status build_merges(struct tdiff_tokenizer *t, const tdiff__tok_config *c)
{
    tdiff__env *env = &t->env;
    if (c->n_merges == 0)
        return TDIFF_OK;
    if (c->n_merges > INT32_MAX)
        return tdiff__fail(env, TDIFF_E_BAD_FORMAT, "too many merges (%zu)", c->n_merges);
    t->merges = tdiff__calloc(env, c->n_merges, sizeof *t->merges);
    t->merge_hash_cap = pow2_at_least(c->n_merges * 2);
    t->merge_hash = tdiff__calloc(env, t->merge_hash_cap, sizeof *t->merge_hash);
    char *buf = tdiff__malloc(env, t->max_token_len * 2 + 1);
    if (!t->merges || !t->merge_hash || !buf) {
        tdiff__free(env, buf);
        return tdiff__fail(env, TDIFF_E_OUT_OF_MEMORY, "out of memory for merges");
    }
    tdiff_status st = TDIFF_OK;
    size_t mask = t->merge_hash_cap - 1;
    for (size_t r = 0; r < c->n_merges && st == TDIFF_OK; r++) {
        const char *s = c->merges[r];
        size_t len = c->merge_lens[r];
        /* split at the first space after the first byte, as llama.cpp does */
        const char *sp = (s && len > 1) ? memchr(s + 1, ' ', len - 1) : NULL;
        if (!sp || sp + 1 == s + len) {
            st = tdiff__fail(env, TDIFF_E_BAD_FORMAT, "merge %zu \"%.*s\" is not two tokens separated by a space", r,
                             (int)(len > 40 ? 40 : len), s ? s : "");
            break;
        }
        size_t la = (size_t)(sp - s), lb = len - la - 1;
        int32_t a = tdiff__tok_find(t, s, la), b = tdiff__tok_find(t, sp + 1, lb);
        if (a < 0 || b < 0) {
            st = tdiff__fail(env, TDIFF_E_BAD_FORMAT, "merge %zu \"%.*s\" names a token that is not in the vocabulary",
                             r, (int)(len > 40 ? 40 : len), s);
            break;
        }
        int32_t res = -1;
        if (la + lb <= t->max_token_len) {
            memcpy(buf, s, la);
            memcpy(buf + la, sp + 1, lb);
            res = tdiff__tok_find(t, buf, la + lb);
        }
        if (res < 0) {
            st = tdiff__fail(env, TDIFF_E_BAD_FORMAT, "merge %zu \"%.*s\" makes a token that is not in the vocabulary",
                             r, (int)(len > 40 ? 40 : len), s);
            break;
        }
        if (tdiff__tok_find_merge(t, a, b) >= 0)
            continue; /* a repeated pair keeps its first (best) rank, as in llama.cpp */
        size_t idx = t->n_merges++;
        t->merges[idx] = (tdiff__merge){a, b, res};
        size_t i = (size_t)hash_pair(a, b) & mask;
        while (t->merge_hash[i])
            i = (i + 1) & mask;
        t->merge_hash[i] = (uint32_t)idx + 1;
    }
    tdiff__free(env, buf);
    return st;
}

/* What a token turns into when detokenized (control tokens: their text, used
 * only when the caller asks for special tokens to be rendered). */
static size_t piece_of(const struct tdiff_tokenizer *t, size_t id, uint8_t *out)
{
    size_t len;
    const char *s = tok_text(t, id, &len);
    uint8_t ty = t->types[id];
    if (ty == TDIFF__TOK_CONTROL || ty == TDIFF__TOK_USER_DEFINED || ty == TDIFF__TOK_UNKNOWN ||
        ty == TDIFF__TOK_UNUSED) {
        memcpy(out, s, len);
        return len;
    }
    if (ty == TDIFF__TOK_BYTE && t->kind != TDIFF__KIND_BPE) {
        out[0] = (uint8_t)parse_byte_token(s, len);
        return 1;
    }
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t k = tdiff__utf8_decode((const uint8_t *)s + i, len - i, &cp);
        int b;
        if (t->kind == TDIFF__KIND_BPE && (b = tdiff__gpt2_cp_to_byte(cp)) >= 0) {
            out[n++] = (uint8_t)b;
        } else if (t->kind != TDIFF__KIND_BPE && cp == 0x2581u) {
            out[n++] = ' '; /* U+2581 LOWER ONE EIGHTH BLOCK marks a space */
        } else {
            memcpy(out + n, s + i, k);
            n += k;
        }
        i += k;
    }
    return n;
}

static tdiff_status build_pieces(struct tdiff_tokenizer *t)
{
    tdiff__env *env = &t->env;
    size_t total = t->text_off[t->n_tokens];
    /* a piece is never longer than its text (decoding only shrinks or keeps) */
    t->piece_pool = tdiff__malloc(env, total ? total : 1);
    t->piece_off = tdiff__calloc(env, t->n_tokens + 1, sizeof *t->piece_off);
    if (!t->piece_pool || !t->piece_off)
        return tdiff__fail(env, TDIFF_E_OUT_OF_MEMORY, "out of memory for token pieces");
    size_t off = 0;
    for (size_t id = 0; id < t->n_tokens; id++) {
        t->piece_off[id] = off;
        size_t n = piece_of(t, id, t->piece_pool + off);
        if (n > t->max_piece)
            t->max_piece = n;
        off += n;
    }
    t->piece_off[t->n_tokens] = off;
    return TDIFF_OK;
}

static int u64_cmp(const void *pa, const void *pb)
{
    uint64_t a = *(const uint64_t *)pa, b = *(const uint64_t *)pb;
    return a < b ? -1 : a > b;
}

/* Tokens that special parsing may cut out of the text: control, user-defined and
 * unknown tokens (llama.cpp's set), longest first. */
static tdiff_status build_special(struct tdiff_tokenizer *t)
{
    size_t n = 0;
    for (size_t id = 0; id < t->n_tokens; id++) {
        uint8_t ty = t->types[id];
        if ((ty == TDIFF__TOK_CONTROL || ty == TDIFF__TOK_USER_DEFINED || ty == TDIFF__TOK_UNKNOWN) &&
            t->text_off[id + 1] > t->text_off[id])
            n++;
    }
    if (!n)
        return TDIFF_OK;
    uint64_t *keys = tdiff__calloc(&t->env, n, sizeof *keys);
    t->special_order = tdiff__calloc(&t->env, n, sizeof *t->special_order);
    if (!keys || !t->special_order) {
        tdiff__free(&t->env, keys);
        return tdiff__fail(&t->env, TDIFF_E_OUT_OF_MEMORY, "out of memory for special tokens");
    }
    /* key = (inverted length, id): ascending order is longest first, then by id */
    for (size_t id = 0, k = 0; id < t->n_tokens; id++) {
        uint8_t ty = t->types[id];
        size_t len = t->text_off[id + 1] - t->text_off[id];
        if ((ty == TDIFF__TOK_CONTROL || ty == TDIFF__TOK_USER_DEFINED || ty == TDIFF__TOK_UNKNOWN) && len)
            keys[k++] = ((uint64_t)(UINT32_MAX - (uint32_t)(len > UINT32_MAX ? UINT32_MAX : len)) << 32) | id;
    }
    qsort(keys, n, sizeof *keys, u64_cmp);
    for (size_t k = 0; k < n; k++)
        t->special_order[k] = (int32_t)(keys[k] & 0xFFFFFFFFu);
    t->n_special = n;
    tdiff__free(&t->env, keys);
    return TDIFF_OK;
}

/* SentencePiece pieces that may come from text: does any hold U+2581 right
 * after a character other than U+2581? */
static bool spm_words_independent(const struct tdiff_tokenizer *t)
{
    for (size_t id = 0; id < t->n_tokens; id++) {
        if (t->types[id] != TDIFF__TOK_NORMAL && t->types[id] != TDIFF__TOK_USER_DEFINED)
            continue;
        size_t len;
        const uint8_t *s = (const uint8_t *)tok_text(t, id, &len);
        for (size_t i = 1; i + 2 < len; i++) {
            if (s[i] == 0xE2 && s[i + 1] == 0x96 && s[i + 2] == 0x81 &&
                !(i >= 3 && s[i - 3] == 0xE2 && s[i - 2] == 0x96 && s[i - 1] == 0x81))
                return false;
        }
    }
    return true;
}

static bool name_is(const char *s, size_t len, const char *name)
{
    return s && strlen(name) == len && !memcmp(s, name, len);
}

static tdiff_status build(struct tdiff_tokenizer *t, const tdiff__tok_config *c)
{
    tdiff__env *env = &t->env;
    tdiff_status st;
    if (name_is(c->model, c->model_len, "gpt2"))
        t->kind = TDIFF__KIND_BPE;
    else if (name_is(c->model, c->model_len, "bert"))
        t->kind = TDIFF__KIND_WORDPIECE;
    else if (name_is(c->model, c->model_len, "llama"))
        t->kind = TDIFF__KIND_SPM;
    else
        return tdiff__fail(env, TDIFF_E_UNSUPPORTED, "tokenizer model \"%.*s\" is not supported (gpt2, bert, llama)",
                           (int)(c->model_len > 40 ? 40 : c->model_len), c->model ? c->model : "");
    if (c->n_tokens == 0)
        return tdiff__fail(env, TDIFF_E_BAD_FORMAT, "the token list is empty");
    if (c->n_tokens >= INT32_MAX)
        return tdiff__fail(env, TDIFF_E_BAD_FORMAT, "too many tokens (%zu)", c->n_tokens);
    if (c->n_types && c->n_types != c->n_tokens)
        return tdiff__fail(env, TDIFF_E_BAD_FORMAT, "token_type has %zu entries but tokens has %zu", c->n_types,
                           c->n_tokens);
    if (c->n_scores && c->n_scores != c->n_tokens)
        return tdiff__fail(env, TDIFF_E_BAD_FORMAT, "scores has %zu entries but tokens has %zu", c->n_scores,
                           c->n_tokens);
    if (t->kind == TDIFF__KIND_SPM && !c->n_scores)
        return tdiff__fail(env, TDIFF_E_BAD_FORMAT, "a SentencePiece (llama) tokenizer needs tokenizer.ggml.scores");
    if (t->kind == TDIFF__KIND_BPE && !c->n_merges)
        return tdiff__fail(env, TDIFF_E_BAD_FORMAT, "a byte-level BPE (gpt2) tokenizer needs tokenizer.ggml.merges");
    t->n_tokens = c->n_tokens;
    if ((st = copy_tokens(t, c)) != TDIFF_OK || (st = build_hash(t)) != TDIFF_OK)
        return st;
    if ((st = check_special(t, "BOS", c->bos, &t->bos)) != TDIFF_OK ||
        (st = check_special(t, "EOS", c->eos, &t->eos)) != TDIFF_OK ||
        (st = check_special(t, "unknown", c->unk, &t->unk)) != TDIFF_OK ||
        (st = check_special(t, "padding", c->pad, &t->pad)) != TDIFF_OK ||
        (st = check_special(t, "mask", c->mask, &t->mask)) != TDIFF_OK ||
        (st = check_special(t, "separator", c->sep, &t->sep)) != TDIFF_OK ||
        (st = check_special(t, "classifier", c->cls, &t->cls)) != TDIFF_OK)
        return st;
    if (t->kind == TDIFF__KIND_BPE) {
        if (!tdiff__pretok_from_name(c->pre, c->pre_len, &t->pre))
            return tdiff__fail(env, TDIFF_E_UNSUPPORTED, "pre-tokenizer \"%.*s\" is not supported",
                               (int)(c->pre_len > 40 ? 40 : c->pre_len), c->pre);
        t->ignore_merges = name_is(c->pre, c->pre_len, "llama3") || name_is(c->pre, c->pre_len, "llama-v3") ||
                           name_is(c->pre, c->pre_len, "llama-bpe") || name_is(c->pre, c->pre_len, "falcon3") ||
                           name_is(c->pre, c->pre_len, "pixtral");
    }
    if (t->kind == TDIFF__KIND_WORDPIECE && t->unk < 0)
        t->unk = tdiff__tok_find(t, "[UNK]", 5);
    /* defaults as llama.cpp: SentencePiece and WordPiece add BOS (WordPiece: [CLS]
     * ... [SEP]), byte-level BPE adds nothing unless Llama-3 or the file says so */
    bool def_bos = t->kind != TDIFF__KIND_BPE || t->ignore_merges;
    bool def_eos = t->kind == TDIFF__KIND_WORDPIECE;
    t->add_bos = c->add_bos < 0 ? def_bos : c->add_bos != 0;
    t->add_eos = c->add_eos < 0 ? def_eos : c->add_eos != 0;
    t->add_space_prefix = c->add_space_prefix != 0;
    if (t->kind == TDIFF__KIND_SPM)
        t->spm_split_words = spm_words_independent(t);
    if ((st = build_byte_tokens(t)) != TDIFF_OK || (st = build_merges(t, c)) != TDIFF_OK ||
        (st = build_pieces(t)) != TDIFF_OK || (st = build_special(t)) != TDIFF_OK ||
        (st = tdiff__chat_parse(&t->env, c->chat_template, c->chat_template_len, &t->chat)) != TDIFF_OK)
        return st;
    return TDIFF_OK;
}

void tdiff__tok_release(struct tdiff_tokenizer *t)
{
    tdiff__env *env = &t->env;
    tdiff__free(env, t->text_pool);
    tdiff__free(env, t->text_off);
    tdiff__free(env, t->types);
    tdiff__free(env, t->scores);
    tdiff__free(env, t->piece_pool);
    tdiff__free(env, t->piece_off);
    tdiff__free(env, t->hash);
    tdiff__free(env, t->merges);
    tdiff__free(env, t->merge_hash);
    tdiff__free(env, t->special_order);
    tdiff__chat_release(env, &t->chat);
}

tdiff_status tdiff__tok_build(struct tdiff_tokenizer *t, const tdiff__tok_config *c)
{
    tdiff_status st = build(t, c);
    if (st != TDIFF_OK)
        tdiff__tok_release(t);
    return st;
}
