/* infill.c -- the [MASK:n] hole syntax of `textdiff infill` (infill.h): the
 * piece reader and the canvas it makes with a tokenizer. Free of any global
 * state, so the unit test and the fuzz target drive it directly. */
#include <stdio.h>
#include <string.h>

#include "infill.h"

static const char hole_open[] = "[MASK:";
#define HOLE_OPEN_LEN (sizeof hole_open - 1)
/* 9 digits: any such n fits a size_t product with the 4-byte token size. */
#define HOLE_MAX_DIGITS 9u

static int starts_hole(const char *s, size_t left)
{
    return left >= HOLE_OPEN_LEN && !memcmp(s, hole_open, HOLE_OPEN_LEN);
}

int tool_infill_next(const char *text, size_t len, size_t *pos, tool_infill_piece *p, char *err, size_t err_cap)
{
    size_t at = *pos;
    if (at >= len)
        return 0;
    if (!starts_hole(text + at, len - at)) {
        size_t end = at + 1;
        while (end < len && !starts_hole(text + end, len - end))
            end++;
        *p = (tool_infill_piece){at, end - at, 0};
        *pos = end;
        return 1;
    }
    size_t i = at + HOLE_OPEN_LEN, n = 0, digits = 0;
    while (i < len && text[i] >= '0' && text[i] <= '9' && digits < HOLE_MAX_DIGITS) {
        n = n * 10 + (size_t)(text[i++] - '0');
        digits++;
    }
    if (digits == 0 || n == 0 || i >= len || text[i] != ']') {
        snprintf(err, err_cap, "bad hole at byte %zu (write [MASK:n] with n from 1 to 999999999)", at);
        return -1;
    }
    *p = (tool_infill_piece){at, i + 1 - at, n};
    *pos = i + 1;
    return 1;
}

/* Appends the tokens of text[0..len) to ids[*n..cap). */
static int add_text(const tdiff_tokenizer *tok, const char *text, size_t len, uint32_t flags, int32_t *ids,
                    size_t cap, size_t *n, char *err, size_t err_cap)
{
    size_t got = 0;
    tdiff_status st = tdiff_tokenizer_tokenize(tok, text, len, flags, ids + *n, cap - *n, &got);
    if (st != TDIFF_OK) {
        snprintf(err, err_cap, "%s", st == TDIFF_E_BUFFER_TOO_SMALL ? "the text needs more tokens than the canvas holds"
                                                                     : tdiff_status_string(st));
        return -1;
    }
    *n += got;
    return 0;
}

long tool_infill_ids(const tdiff_tokenizer *tok, const char *text, size_t len, int32_t mask, int32_t *ids,
                     size_t cap, char *err, size_t err_cap)
{
    size_t n = 0, pos = 0;
    tool_infill_piece p;
    int r;
    for (int first = 1; (r = tool_infill_next(text, len, &pos, &p, err, err_cap)) == 1; first = 0) {
        uint32_t flags = first ? TDIFF_TOKENIZE_ADD_SPECIAL : 0;
        if (p.n_mask == 0) {
            if (add_text(tok, text + p.off, p.len, flags, ids, cap, &n, err, err_cap))
                return -1;
            continue;
        }
        if (first && add_text(tok, "", 0, flags, ids, cap, &n, err, err_cap)) /* BOS before a leading hole */
            return -1;
        if (p.n_mask > cap - n) {
            snprintf(err, err_cap, "the holes and text need more than %zu tokens", cap);
            return -1;
        }
        for (size_t k = 0; k < p.n_mask; k++)
            ids[n++] = mask;
    }
    return r < 0 ? -1 : (long)n;
}
