/*
 * api.c -- the public tokenizer functions: creation (from a loaded model or,
 * internally, from a plain configuration), tokenize with special-token parsing
 * and BOS/EOS, detokenize, per-token pieces and the streaming decoder.
 * Nothing here writes to the tokenizer after creation.
 */
#include <string.h>

#include "simd/simd.h"
#include "tokenizer/tokenizer.h"

tdiff_status tdiff__tokenizer_create_config(const tdiff__tok_config *cfg, const tdiff_host *host,
                                            tdiff_tokenizer **out, char *err, size_t err_cap)
{
    if (out)
        *out = NULL;
    if (!cfg || !out) {
        tdiff__copy_message(err, err_cap, "tokenizer: NULL argument");
        return TDIFF_E_INVALID_ARGUMENT;
    }
    tdiff__env env;
    tdiff_status st = tdiff__env_setup(&env, host);
    if (st != TDIFF_OK) {
        tdiff__copy_message(err, err_cap, env.last_error);
        return st;
    }
    tdiff_tokenizer *t = tdiff__calloc(&env, 1, sizeof *t);
    if (!t) {
        tdiff__copy_message(err, err_cap, "tokenizer: out of memory");
        return TDIFF_E_OUT_OF_MEMORY;
    }
    t->env = env;
    st = tdiff__tok_build(t, cfg);
    if (st != TDIFF_OK) {
        tdiff__copy_message(err, err_cap, t->env.last_error);
        tdiff__free(&env, t);
        return st;
    }
    *out = t;
    return TDIFF_OK;
}

void tdiff_tokenizer_free(tdiff_tokenizer *tok)
{
    if (!tok)
        return;
    tdiff__env env = tok->env;
    tdiff__tok_release(tok);
    tdiff__free(&env, tok);
}

/* ---- tokenize ---- */

typedef struct frag {
    size_t start, len;
    int32_t id; /* >= 0: a special token cut out of the text */
} frag;

typedef struct frag_list {
    frag *v;
    size_t n, cap;
} frag_list;

static tdiff_status frag_push(const tdiff__env *env, frag_list *l, frag f)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        frag *v = tdiff__realloc(env, l->v, cap * sizeof *v);
        if (!v)
            return TDIFF_E_OUT_OF_MEMORY;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = f;
    return TDIFF_OK;
}

static const char *find_bytes(const char *h, size_t hn, const char *n, size_t nn)
{
    if (nn == 0 || nn > hn)
        return NULL;
    const char *end = h + hn - nn;
    for (const char *p = h; p <= end; p++) {
        p = memchr(p, (unsigned char)n[0], (size_t)(end - p) + 1);
        if (!p)
            return NULL;
        if (!memcmp(p, n, nn))
            return p;
    }
    return NULL;
}

/* llama.cpp's partition: each special token in turn (longest first) is cut out of
 * every text fragment that remains. */
static tdiff_status partition_special(const tdiff_tokenizer *t, const char *text, size_t len, frag_list *out)
{
    const tdiff__env *env = &t->env;
    frag_list cur = {0}, next = {0};
    tdiff_status st = frag_push(env, &cur, (frag){0, len, -1});
    for (size_t k = 0; k < t->n_special && st == TDIFF_OK; k++) {
        int32_t id = t->special_order[k];
        const char *tt = t->text_pool + t->text_off[id];
        size_t tl = t->text_off[id + 1] - t->text_off[id];
        next.n = 0;
        for (size_t i = 0; i < cur.n && st == TDIFF_OK; i++) {
            frag f = cur.v[i];
            if (f.id >= 0) {
                st = frag_push(env, &next, f);
                continue;
            }
            size_t pos = f.start, end = f.start + f.len;
            const char *hit;
            while (st == TDIFF_OK && (hit = find_bytes(text + pos, end - pos, tt, tl)) != NULL) {
                size_t h = (size_t)(hit - text);
                if (h > pos)
                    st = frag_push(env, &next, (frag){pos, h - pos, -1});
                if (st == TDIFF_OK)
                    st = frag_push(env, &next, (frag){h, tl, id});
                pos = h + tl;
            }
            if (st == TDIFF_OK && pos < end)
                st = frag_push(env, &next, (frag){pos, end - pos, -1});
        }
        frag_list tmp = cur;
        cur = next;
        next = tmp;
    }
    tdiff__free(env, next.v);
    if (st != TDIFF_OK) {
        tdiff__free(env, cur.v);
        return st;
    }
    *out = cur;
    return TDIFF_OK;
}

static tdiff_status encode_text(const tdiff_tokenizer *t, const char *s, size_t len, bool at_start, tdiff__ids *ids)
{
    switch (t->kind) {
    case TDIFF__KIND_BPE: return tdiff__bpe_encode(t, s, len, ids);
    case TDIFF__KIND_SPM: return tdiff__spm_encode(t, s, len, at_start, ids);
    default: return tdiff__wpm_encode(t, s, len, ids);
    }
}

tdiff_status tdiff_tokenizer_tokenize(const tdiff_tokenizer *tok, const char *text, size_t len, uint32_t flags,
                                      int32_t *ids, size_t cap, size_t *n_ids)
{
    if (!tok || (!text && len) || (!ids && cap) || !n_ids ||
        (flags & ~(uint32_t)(TDIFF_TOKENIZE_ADD_SPECIAL | TDIFF_TOKENIZE_PARSE_SPECIAL)))
        return TDIFF_E_INVALID_ARGUMENT;
    tdiff__ids out = {NULL, 0, 0, &tok->env};
    tdiff_status st = TDIFF_OK;
    bool add = (flags & TDIFF_TOKENIZE_ADD_SPECIAL) != 0;
    int32_t bos = tok->kind == TDIFF__KIND_WORDPIECE && tok->cls >= 0 ? tok->cls : tok->bos;
    int32_t eos = tok->kind == TDIFF__KIND_WORDPIECE && tok->sep >= 0 ? tok->sep : tok->eos;
    if (add && tok->add_bos && bos >= 0)
        st = tdiff__ids_push(&out, bos);
    if (st == TDIFF_OK && len) {
        if ((flags & TDIFF_TOKENIZE_PARSE_SPECIAL) && tok->n_special) {
            frag_list fr = {0};
            st = partition_special(tok, text, len, &fr);
            for (size_t i = 0; i < fr.n && st == TDIFF_OK; i++) {
                if (fr.v[i].id >= 0)
                    st = tdiff__ids_push(&out, fr.v[i].id);
                else
                    /* SentencePiece puts its space prefix before every text fragment: the
                     * first, and each that follows a special token (llama.cpp) */
                    st = encode_text(tok, text + fr.v[i].start, fr.v[i].len, true, &out);
            }
            tdiff__free(&tok->env, fr.v);
        } else {
            st = encode_text(tok, text, len, true, &out);
        }
    }
    if (st == TDIFF_OK && add && tok->add_eos && eos >= 0)
        st = tdiff__ids_push(&out, eos);
    if (st == TDIFF_OK) {
        *n_ids = out.n;
        if (out.n > cap)
            st = TDIFF_E_BUFFER_TOO_SMALL;
        else if (out.n)
            memcpy(ids, out.v, out.n * sizeof *ids);
    }
    tdiff__free(&tok->env, out.v);
    return st;
}

/* ---- detokenize ---- */

/* SentencePiece (with its space prefix) and WordPiece start their text with a
 * space the input did not have. */
static bool drops_lead_space(const tdiff_tokenizer *t)
{
    return t->kind == TDIFF__KIND_WORDPIECE || (t->kind == TDIFF__KIND_SPM && t->add_space_prefix);
}

static bool is_special_type(const tdiff_tokenizer *t, int32_t id)
{
    uint8_t ty = t->types[id];
    return ty == TDIFF__TOK_CONTROL || ty == TDIFF__TOK_UNKNOWN || ty == TDIFF__TOK_UNUSED;
}

/* The bytes of token id under `flags`: empty for control/unknown/unused tokens
 * unless TDIFF_DETOKENIZE_RENDER_SPECIAL. */
static const uint8_t *piece_bytes(const tdiff_tokenizer *t, int32_t id, uint32_t flags, size_t *len)
{
    if (is_special_type(t, id) && !(flags & TDIFF_DETOKENIZE_RENDER_SPECIAL)) {
        *len = 0;
        return t->piece_pool;
    }
    *len = t->piece_off[id + 1] - t->piece_off[id];
    return t->piece_pool + t->piece_off[id];
}

tdiff_status tdiff_tokenizer_detokenize(const tdiff_tokenizer *tok, const int32_t *ids, size_t n, uint32_t flags,
                                        char *buf, size_t cap, size_t *out_len)
{
    if (!tok || (!ids && n) || (!buf && cap) || !out_len || (flags & ~(uint32_t)TDIFF_DETOKENIZE_RENDER_SPECIAL))
        return TDIFF_E_INVALID_ARGUMENT;
    size_t total = 0;
    bool first = true;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] < 0 || (size_t)ids[i] >= tok->n_tokens)
            return TDIFF_E_INVALID_ARGUMENT;
        size_t l;
        const uint8_t *p = piece_bytes(tok, ids[i], flags, &l);
        /* SentencePiece: the space the encoder put before the text is not part of it */
        if (first && l) {
            /* only the first piece that writes anything may carry the prefix */
            if (drops_lead_space(tok) && p[0] == ' ' && !is_special_type(tok, ids[i])) {
                p++;
                l--;
            }
            first = false;
        }
        if (total + l <= cap && l)
            memcpy(buf + total, p, l);
        total += l;
    }
    *out_len = total;
    return total > cap ? TDIFF_E_BUFFER_TOO_SMALL : TDIFF_OK;
}

tdiff_status tdiff_tokenizer_token_piece(const tdiff_tokenizer *tok, int32_t id, char *buf, size_t cap,
                                         size_t *out_len)
{
    if (!tok || (!buf && cap) || !out_len || id < 0 || (size_t)id >= tok->n_tokens)
        return TDIFF_E_INVALID_ARGUMENT;
    size_t l = tok->piece_off[id + 1] - tok->piece_off[id];
    *out_len = l;
    if (l > cap)
        return TDIFF_E_BUFFER_TOO_SMALL;
    if (l)
        memcpy(buf, tok->piece_pool + tok->piece_off[id], l);
    return TDIFF_OK;
}

tdiff_status tdiff_tokenizer_token_text(const tdiff_tokenizer *tok, int32_t id, char *buf, size_t cap,
                                        size_t *out_len)
{
    if (!tok || (!buf && cap) || !out_len || id < 0 || (size_t)id >= tok->n_tokens)
        return TDIFF_E_INVALID_ARGUMENT;
    size_t l = tok->text_off[id + 1] - tok->text_off[id];
    *out_len = l;
    if (l > cap)
        return TDIFF_E_BUFFER_TOO_SMALL;
    if (l)
        memcpy(buf, tok->text_pool + tok->text_off[id], l);
    return TDIFF_OK;
}

/* ---- streaming ---- */

void tdiff_token_stream_init(tdiff_token_stream *s)
{
    if (s)
        memset(s, 0, sizeof *s);
}

/* How many bytes at the end of b[0..n) are an incomplete but still possible
 * UTF-8 sequence (0..3): they are held back until the next piece. */
static size_t incomplete_tail(const uint8_t *b, size_t n)
{
    for (size_t k = 1; k <= 3 && k <= n; k++) {
        uint8_t c = b[n - k];
        if ((c & 0xC0u) == 0x80u)
            continue; /* continuation: look further back */
        size_t need = (c >= 0xC2u && c < 0xE0u) ? 2 : (c >= 0xE0u && c < 0xF0u) ? 3 : (c >= 0xF0u && c < 0xF5u) ? 4 : 0;
        return need > k ? k : 0;
    }
    return 0;
}

tdiff_status tdiff_tokenizer_stream_piece(const tdiff_tokenizer *tok, tdiff_token_stream *s, int32_t id,
                                          uint32_t flags, char *buf, size_t cap, size_t *out_len)
{
    if (!tok || !s || (!buf && cap) || !out_len || id < 0 || (size_t)id >= tok->n_tokens || s->n_pending > 3 ||
        (flags & ~(uint32_t)TDIFF_DETOKENIZE_RENDER_SPECIAL))
        return TDIFF_E_INVALID_ARGUMENT;
    size_t l;
    const uint8_t *p = piece_bytes(tok, id, flags, &l);
    bool lead = s->n_emitted == 0 && l > 0;
    if (lead && drops_lead_space(tok) && p[0] == ' ' && !is_special_type(tok, id)) {
        p++;
        l--;
    }
    /* the candidate output is pending + piece; keep back an incomplete tail */
    size_t total = s->n_pending + l, keep;
    uint8_t tail[8];
    size_t tn = total < 8 ? total : 8; /* the last bytes of pending + piece */
    for (size_t i = 0; i < tn; i++) {
        size_t gi = total - tn + i;
        tail[i] = gi < s->n_pending ? s->pending[gi] : p[gi - s->n_pending];
    }
    keep = incomplete_tail(tail, tn);
    size_t emit = total - keep;
    *out_len = emit;
    if (emit > cap)
        return TDIFF_E_BUFFER_TOO_SMALL;
    uint8_t newpend[4];
    for (size_t i = 0; i < keep; i++)
        newpend[i] = tail[tn - keep + i];
    size_t from_pend = emit < s->n_pending ? emit : s->n_pending;
    if (from_pend)
        memcpy(buf, s->pending, from_pend);
    if (emit > from_pend)
        memcpy(buf + from_pend, p, emit - from_pend);
    memcpy(s->pending, newpend, keep);
    s->n_pending = (uint32_t)keep;
    if (lead)
        s->n_emitted++;
    return TDIFF_OK;
}

tdiff_status tdiff_token_stream_flush(tdiff_token_stream *s, char *buf, size_t cap, size_t *out_len)
{
    if (!s || (!buf && cap) || !out_len || s->n_pending > 3)
        return TDIFF_E_INVALID_ARGUMENT;
    *out_len = s->n_pending;
    if (s->n_pending > cap)
        return TDIFF_E_BUFFER_TOO_SMALL;
    if (s->n_pending) /* buf may be NULL with nothing to write */
        memcpy(buf, s->pending, s->n_pending);
    s->n_pending = 0;
    return TDIFF_OK;
}

/* ---- queries ---- */

tdiff_status tdiff_tokenizer_vocab_size(const tdiff_tokenizer *tok, size_t *out)
{
    if (!tok || !out)
        return TDIFF_E_INVALID_ARGUMENT;
    *out = tok->n_tokens;
    return TDIFF_OK;
}

tdiff_status tdiff_tokenizer_special_id(const tdiff_tokenizer *tok, tdiff_special_token which, int32_t *out_id)
{
    if (!tok || !out_id)
        return TDIFF_E_INVALID_ARGUMENT;
    int32_t v;
    switch (which) {
    case TDIFF_SPECIAL_BOS: v = tok->bos; break;
    case TDIFF_SPECIAL_EOS: v = tok->eos; break;
    case TDIFF_SPECIAL_MASK: v = tok->mask; break;
    case TDIFF_SPECIAL_PAD: v = tok->pad; break;
    case TDIFF_SPECIAL_UNK: v = tok->unk; break;
    case TDIFF_SPECIAL_SEP: v = tok->sep; break;
    case TDIFF_SPECIAL_CLS: v = tok->cls; break;
    default: return TDIFF_E_INVALID_ARGUMENT;
    }
    if (v < 0)
        return TDIFF_E_NOT_FOUND;
    *out_id = v;
    return TDIFF_OK;
}

enum tdiff_tokenizer_kind tdiff_tokenizer_kind(const tdiff_tokenizer *tok)
{
    if (!tok)
        return (enum tdiff_tokenizer_kind)0;
    return (enum tdiff_tokenizer_kind)tok->kind;
}

enum tdiff_tokenizer_kind tdiff_tokenizer_get_kind(const tdiff_tokenizer *tok)
{
    return tdiff_tokenizer_kind(tok);
}

int tdiff_tokenizer_is_special(const tdiff_tokenizer *tok, int32_t id)
{
    if (!tok || id < 0 || (size_t)id >= tok->n_tokens)
        return 0;
    uint8_t ty = tok->types[id];
    return ty == TDIFF__TOK_CONTROL || ty == TDIFF__TOK_USER_DEFINED || ty == TDIFF__TOK_UNKNOWN;
}
