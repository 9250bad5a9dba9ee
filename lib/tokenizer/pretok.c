/*
 * pretok.c -- the pre-tokenizers of byte-level BPE: hand-written scanners that
 * split text into the pieces llama.cpp's split patterns give (llama-vocab.cpp
 * chooses the patterns by tokenizer.ggml.pre, unicode.cpp applies them). No
 * regex engine: every pattern is an ordered alternation, so each scanner tries
 * the alternatives in order at the current position and returns the end of the
 * first that matches. Text that no alternative matches becomes its own piece,
 * as in llama.cpp's splitter (matches and the gaps between them are pieces).
 *
 * \p{L} = general category L*, \p{N} = N*, \s = White_Space (unicode.h).
 */
#include <string.h>

#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

static inline uint8_t fl(uint32_t cp)
{
    return tdiff__uc_flags(cp);
}

#define IS_L(f) (((f) & TDIFF__UC_L) != 0)
#define IS_N(f) (((f) & TDIFF__UC_N) != 0)
#define IS_WS(f) (((f) & TDIFF__UC_WS) != 0)
#define IS_OTHER(f) (((f) & (TDIFF__UC_L | TDIFF__UC_N | TDIFF__UC_WS)) == 0)

/* 's 't 're 've 'm 'll 'd (ASCII; `fold` also accepts upper case). Returns the
 * match length or 0. */
static size_t contraction(const uint32_t *cp, size_t pos, size_t end, bool fold)
{
    if (cp[pos] != '\'' || pos + 1 >= end)
        return 0;
    uint32_t a = cp[pos + 1];
    if (fold && a >= 'A' && a <= 'Z')
        a += 32;
    if (a == 's' || a == 't' || a == 'm' || a == 'd')
        return 2;
    if (pos + 2 >= end)
        return 0;
    uint32_t b = cp[pos + 2];
    if (fold && b >= 'A' && b <= 'Z')
        b += 32;
    if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l'))
        return 3;
    return 0;
}

/*
 * GPT-2: 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)
 * Returns the end of the piece that starts at pos (< end).
 */
static size_t gpt2_next(const uint32_t *cp, size_t pos, size_t end)
{
    size_t k = contraction(cp, pos, end, false);
    if (k)
        return pos + k;
    size_t q = pos;
    uint8_t f;
    if (cp[pos] == ' ') {
        if (pos + 1 >= end)
            return pos + 1;
        q = pos + 1;
    }
    f = fl(cp[q]);
    if (IS_L(f)) {
        while (q < end && IS_L(fl(cp[q])))
            q++;
        return q;
    }
    if (IS_N(f)) {
        while (q < end && IS_N(fl(cp[q])))
            q++;
        return q;
    }
    if (IS_OTHER(f)) {
        while (q < end && IS_OTHER(fl(cp[q])))
            q++;
        return q;
    }
    /* whitespace: \s+(?!\S) leaves the last blank to the word that follows */
    size_t n = 0;
    while (pos + n < end && IS_WS(fl(cp[pos + n])))
        n++;
    if (n > 1 && pos + n < end)
        return pos + n - 1;
    return pos + (n ? n : 1);
}

/*
 * Llama-3 (max_digits 3) and Qwen2 (max_digits 1):
 * (?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}
 * | ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
 */
static size_t llama3_next(const uint32_t *cp, size_t pos, size_t end, size_t max_digits)
{
    size_t k = contraction(cp, pos, end, true);
    if (k)
        return pos + k;
    uint32_t c = cp[pos];
    uint8_t f = fl(c);
    if (c != '\r' && c != '\n' && !IS_N(f) && (IS_L(f) || (pos + 1 < end && IS_L(fl(cp[pos + 1]))))) {
        size_t q = pos + 1;
        while (q < end && IS_L(fl(cp[q])))
            q++;
        return q;
    }
    if (IS_N(f)) {
        size_t q = pos + 1;
        while (q < end && q - pos < max_digits && IS_N(fl(cp[q])))
            q++;
        return q;
    }
    size_t q = pos;
    uint8_t f2 = f;
    if (c == ' ') {
        q = pos + 1;
        f2 = q < end ? fl(cp[q]) : (uint8_t)TDIFF__UC_WS; /* past the end: no match */
    }
    if (IS_OTHER(f2)) {
        while (q < end && IS_OTHER(fl(cp[q])))
            q++;
        while (q < end && (cp[q] == '\r' || cp[q] == '\n'))
            q++;
        return q;
    }
    size_t n = 0, last_nl = 0;
    while (pos + n < end && IS_WS(fl(cp[pos + n]))) {
        if (cp[pos + n] == '\r' || cp[pos + n] == '\n')
            last_nl = pos + n + 1;
        n++;
    }
    if (last_nl)
        return last_nl;
    if (n > 1 && pos + n < end)
        return pos + n - 1;
    return pos + (n ? n : 1);
}

/* The default cascade's first stage: [\p{P}\$\+<=>\^~\|]+ -- every printable
 * ASCII character that is neither alphanumeric nor '`', and non-ASCII P*. */
static bool is_punct_run(uint32_t c)
{
    if (c < 128)
        return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) || (c >= 0x5B && c <= 0x5F) ||
               (c >= 0x7B && c <= 0x7E);
    uint8_t f = fl(c);
    return (f & TDIFF__UC_P) && !IS_WS(f);
}

static bool is_digit_run(uint32_t c)
{
    if (c < 128)
        return c >= '0' && c <= '9';
    uint8_t f = fl(c);
    return IS_N(f) && !IS_WS(f);
}

static bool is_ascii_digit(uint32_t c)
{
    return c >= '0' && c <= '9';
}

/* Stage 4 of the default cascade on [a, b): [0-9][0-9][0-9] matched left to
 * right without overlap; the text between matches becomes pieces of its own. */
static tdiff_status split_triples(const uint32_t *cp, size_t a, size_t b, tdiff__piece_fn piece, void *ud)
{
    size_t gap = a, p = a;
    while (p + 3 <= b) {
        if (is_ascii_digit(cp[p]) && is_ascii_digit(cp[p + 1]) && is_ascii_digit(cp[p + 2])) {
            tdiff_status st;
            if (p > gap && (st = piece(ud, gap, p)) != TDIFF_OK)
                return st;
            if ((st = piece(ud, p, p + 3)) != TDIFF_OK)
                return st;
            p += 3;
            gap = p;
        } else {
            p++;
        }
    }
    return gap < b ? piece(ud, gap, b) : TDIFF_OK;
}

/* Stages 3 and 4 on one stage-2 piece: runs of digits and runs of the rest. */
static tdiff_status split_digit_runs(const uint32_t *cp, size_t a, size_t b, tdiff__piece_fn piece, void *ud)
{
    while (a < b) {
        bool d = is_digit_run(cp[a]);
        size_t e = a + 1;
        while (e < b && is_digit_run(cp[e]) == d)
            e++;
        tdiff_status st = split_triples(cp, a, e, piece, ud);
        if (st != TDIFF_OK)
            return st;
        a = e;
    }
    return TDIFF_OK;
}

static tdiff_status split_default(const uint32_t *cp, size_t n, tdiff__piece_fn piece, void *ud)
{
    size_t a = 0;
    while (a < n) {
        bool p = is_punct_run(cp[a]);
        size_t e = a + 1;
        while (e < n && is_punct_run(cp[e]) == p)
            e++;
        for (size_t s = a; s < e;) {
            size_t t = gpt2_next(cp, s, e);
            tdiff_status st = split_digit_runs(cp, s, t, piece, ud);
            if (st != TDIFF_OK)
                return st;
            s = t;
        }
        a = e;
    }
    return TDIFF_OK;
}

tdiff_status tdiff__pretok_split(tdiff__pre_kind kind, const uint32_t *cp, size_t n, tdiff__piece_fn piece, void *ud)
{
    if (kind == TDIFF__PRE_DEFAULT)
        return split_default(cp, n, piece, ud);
    for (size_t s = 0; s < n;) {
        size_t t;
        switch (kind) {
        case TDIFF__PRE_GPT2: t = gpt2_next(cp, s, n); break;
        case TDIFF__PRE_LLAMA3: t = llama3_next(cp, s, n, 3); break;
        default: t = llama3_next(cp, s, n, 1); break;
        }
        tdiff_status st = piece(ud, s, t);
        if (st != TDIFF_OK)
            return st;
        s = t;
    }
    return TDIFF_OK;
}

/* llama.cpp's names (llama-vocab.cpp) for the patterns implemented here. An
 * absent or empty name means "default", as in llama.cpp. */
static const struct {
    const char *name;
    tdiff__pre_kind kind;
} pre_names[] = {
    {"default", TDIFF__PRE_DEFAULT},
    {"gpt-2", TDIFF__PRE_GPT2},       {"phi-2", TDIFF__PRE_GPT2},       {"jina-es", TDIFF__PRE_GPT2},
    {"jina-de", TDIFF__PRE_GPT2},     {"gigachat", TDIFF__PRE_GPT2},    {"jina-v2-es", TDIFF__PRE_GPT2},
    {"jina-v2-de", TDIFF__PRE_GPT2},  {"mpt", TDIFF__PRE_GPT2},         {"olmo", TDIFF__PRE_GPT2},
    {"jais", TDIFF__PRE_GPT2},
    {"llama3", TDIFF__PRE_LLAMA3},    {"llama-v3", TDIFF__PRE_LLAMA3},  {"llama-bpe", TDIFF__PRE_LLAMA3},
    {"falcon3", TDIFF__PRE_LLAMA3},   {"pixtral", TDIFF__PRE_LLAMA3},   {"dbrx", TDIFF__PRE_LLAMA3},
    {"smaug-bpe", TDIFF__PRE_LLAMA3},
    {"qwen2", TDIFF__PRE_QWEN2},      {"deepseek-r1-qwen", TDIFF__PRE_QWEN2},
    {"stablelm2", TDIFF__PRE_QWEN2},  {"hunyuan", TDIFF__PRE_QWEN2},    {"grok-2", TDIFF__PRE_QWEN2},
    /* bailingmoe/llada-moe: "\s*[\r\n]" instead of "\s*[\r\n]+" -- the same pieces,
     * since the greedy \s* already ends at the last line break of the blank run */
    {"bailingmoe", TDIFF__PRE_QWEN2}, {"bailingmoe2", TDIFF__PRE_QWEN2}, {"llada-moe", TDIFF__PRE_QWEN2},
};

bool tdiff__pretok_from_name(const char *name, size_t len, tdiff__pre_kind *out)
{
    if (!name || len == 0) {
        *out = TDIFF__PRE_DEFAULT;
        return true;
    }
    for (size_t i = 0; i < sizeof pre_names / sizeof pre_names[0]; i++) {
        if (strlen(pre_names[i].name) == len && !memcmp(pre_names[i].name, name, len)) {
            *out = pre_names[i].kind;
            return true;
        }
    }
    return false;
}
