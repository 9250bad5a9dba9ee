/*
 * unicode.c -- UTF-8 decoding/encoding and the table lookups declared in
 * unicode.h. The tables themselves are generated (unicode_tables.c).
 */
#include "tokenizer/unicode.h"

size_t tdiff__utf8_decode(const uint8_t *s, size_t n, uint32_t *cp)
{
    uint8_t b = s[0];
    if (b < 0x80u) {
        *cp = b;
        return 1;
    }
    size_t len;
    uint32_t v, min;
    if (b >= 0xC2u && b < 0xE0u) {
        len = 2, v = b & 0x1Fu, min = 0x80u;
    } else if (b >= 0xE0u && b < 0xF0u) {
        len = 3, v = b & 0x0Fu, min = 0x800u;
    } else if (b >= 0xF0u && b < 0xF5u) {
        len = 4, v = b & 0x07u, min = 0x10000u;
    } else {
        *cp = TDIFF__UC_REPLACEMENT;
        return 1;
    }
    if (len > n) {
        *cp = TDIFF__UC_REPLACEMENT;
        return 1;
    }
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0u) != 0x80u) {
            *cp = TDIFF__UC_REPLACEMENT;
            return 1;
        }
        v = (v << 6) | (s[i] & 0x3Fu);
    }
    if (v < min || v > 0x10FFFFu || (v >= 0xD800u && v <= 0xDFFFu)) {
        *cp = TDIFF__UC_REPLACEMENT;
        return 1;
    }
    *cp = v;
    return len;
}

size_t tdiff__utf8_encode(uint32_t cp, uint8_t out[4])
{
    if (cp < 0x80u) {
        out[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800u) {
        out[0] = (uint8_t)(0xC0u | (cp >> 6));
        out[1] = (uint8_t)(0x80u | (cp & 0x3Fu));
        return 2;
    }
    if (cp < 0x10000u) {
        out[0] = (uint8_t)(0xE0u | (cp >> 12));
        out[1] = (uint8_t)(0x80u | ((cp >> 6) & 0x3Fu));
        out[2] = (uint8_t)(0x80u | (cp & 0x3Fu));
        return 3;
    }
    out[0] = (uint8_t)(0xF0u | (cp >> 18));
    out[1] = (uint8_t)(0x80u | ((cp >> 12) & 0x3Fu));
    out[2] = (uint8_t)(0x80u | ((cp >> 6) & 0x3Fu));
    out[3] = (uint8_t)(0x80u | (cp & 0x3Fu));
    return 4;
}

uint32_t tdiff__uc_tolower(uint32_t cp)
{
    if (cp < 0x80u)
        return (cp >= 'A' && cp <= 'Z') ? cp + 32u : cp;
    size_t lo = 0, hi = tdiff__uc_lower_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (tdiff__uc_lower[mid][0] < cp)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (lo < tdiff__uc_lower_count && tdiff__uc_lower[lo][0] == cp) ? tdiff__uc_lower[lo][1] : cp;
}

/* Hangul syllables decompose arithmetically (Unicode ch. 3.12). */
enum { HANGUL_S = 0xAC00, HANGUL_L = 0x1100, HANGUL_V = 0x1161, HANGUL_T = 0x11A7,
       HANGUL_VCOUNT = 21, HANGUL_TCOUNT = 28, HANGUL_NCOUNT = 21 * 28, HANGUL_SCOUNT = 19 * 21 * 28 };

size_t tdiff__uc_decompose(uint32_t cp, uint32_t *out, size_t cap)
{
    if (cap == 0)
        return 0;
    if (cp < 0xC0u) {
        out[0] = cp;
        return 1;
    }
    if (cp >= HANGUL_S && cp < HANGUL_S + HANGUL_SCOUNT && cap >= 3) {
        uint32_t s = cp - HANGUL_S;
        out[0] = HANGUL_L + s / HANGUL_NCOUNT;
        out[1] = HANGUL_V + (s % HANGUL_NCOUNT) / HANGUL_TCOUNT;
        if (s % HANGUL_TCOUNT == 0)
            return 2;
        out[2] = HANGUL_T + s % HANGUL_TCOUNT;
        return 3;
    }
    size_t lo = 0, hi = tdiff__uc_decomp_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (tdiff__uc_decomp_index[mid][0] < cp)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < tdiff__uc_decomp_count && tdiff__uc_decomp_index[lo][0] == cp &&
        tdiff__uc_decomp_index[lo][2] <= cap) {
        size_t off = tdiff__uc_decomp_index[lo][1], len = tdiff__uc_decomp_index[lo][2];
        for (size_t i = 0; i < len; i++)
            out[i] = tdiff__uc_decomp_pool[off + i];
        return len;
    }
    out[0] = cp;
    return 1;
}
