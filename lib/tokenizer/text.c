/*
 * text.c -- per-call helpers shared by the encoders: the growing id array and
 * the normalised text (code points + re-encoded UTF-8, invalid bytes replaced).
 */
#include <string.h>

#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

tdiff_status tdiff__ids_push(tdiff__ids *ids, int32_t id)
{
    if (ids->n == ids->cap) {
        size_t cap = ids->cap ? ids->cap * 2 : 64;
        int32_t *v = tdiff__realloc(ids->env, ids->v, cap * sizeof *v);
        if (!v)
            return TDIFF_E_OUT_OF_MEMORY;
        ids->v = v;
        ids->cap = cap;
    }
    ids->v[ids->n++] = id;
    return TDIFF_OK;
}

tdiff_status tdiff__text_decode(const tdiff__env *env, const char *s, size_t len, tdiff__text *out)
{
    memset(out, 0, sizeof *out);
    size_t n8;
    /* each input byte gives at most one code point and at most 3 output bytes (U+FFFD) */
    if (!tdiff__mul_size(len, 3, &n8))
        return TDIFF_E_OVERFLOW;
    size_t ncp, noff;
    if (!tdiff__mul_size(len + 1, sizeof *out->cp, &ncp) || !tdiff__mul_size(len + 1, sizeof *out->off, &noff))
        return TDIFF_E_OVERFLOW;
    /* every entry up to n is written below: no need to zero */
    out->cp = tdiff__malloc(env, ncp);
    out->off = tdiff__malloc(env, noff);
    out->utf8 = tdiff__malloc(env, n8 + 1);
    if (!out->cp || !out->off || !out->utf8) {
        tdiff__text_free(env, out);
        return TDIFF_E_OUT_OF_MEMORY;
    }
    const uint8_t *p = (const uint8_t *)s;
    size_t n = 0, o = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t k = tdiff__utf8_decode(p + i, len - i, &cp);
        out->cp[n] = cp;
        out->off[n] = o;
        if (k == 1 && cp == TDIFF__UC_REPLACEMENT)
            o += tdiff__utf8_encode(cp, out->utf8 + o);
        else {
            memcpy(out->utf8 + o, p + i, k);
            o += k;
        }
        n++;
        i += k;
    }
    out->off[n] = o;
    out->n = n;
    return TDIFF_OK;
}

void tdiff__text_free(const tdiff__env *env, tdiff__text *t)
{
    tdiff__free(env, t->cp);
    tdiff__free(env, t->off);
    tdiff__free(env, t->utf8);
    memset(t, 0, sizeof *t);
}
