/*
 * plan.c -- the control-tag parser of planned diffusion (Israel et al. 2025):
 * what a model wrote between the end of the last round and its `<async>` /
 * `<sync/>` tag, read as a list of spans with their lengths. Pure: no handle,
 * no allocation; every input is untrusted (the model writes it) and every
 * outcome is a plan, never an error.
 *
 * The tag vocabulary (token ids from the model file, `tdiff.planned.*`,
 * docs/model-format.md; docs/sampling.md has the grammar):
 *   <promise> ... </promise>   one plan entry: a topic (any tokens) and a length
 *   digit tokens "0".."9"      the entry's length: its LAST run of digit tokens
 *   <async> ... </async>       a span (laid out by the sampler, never parsed)
 *   <sync/>                    the end of a round's spans
 *
 * Fallbacks, each counted in tdiff__plan.flags:
 *   - an entry not closed (a new <promise>, or the input ends) closes there;
 *   - an entry without digits gets the default length;
 *   - a length of 0 drops the entry;
 *   - a length above max_len (or with more than 9 digits) is max_len;
 *   - entries after max_spans are dropped;
 *   - a </promise> outside an entry, and every token outside entries, is text.
 * Lengths are then multiplied by the scale and rounded (ties up), at least 1.
 */
#include <math.h>

#include "sampler.h"

/* Digits accumulated before a length counts as oversized (reason: 10^9 < 2^32). */
#define PLAN_MAX_DIGITS 9

static int digit_of(const tdiff__plan_tags *t, int32_t tok)
{
    for (int d = 0; d < 10; d++)
        if (t->digit[d] == tok && tok >= 0)
            return d;
    return -1;
}

typedef struct entry {
    bool open;
    bool in_digits;     /* the previous token was a digit of this entry */
    bool has_len;
    size_t digits;      /* digits of the current run */
    uint64_t len;       /* the current run's value */
} entry;

static void entry_close(tdiff__plan *p, const tdiff__plan_tags *t, const tdiff__plan_limits *lim, entry *e)
{
    if (!e->open)
        return;
    e->open = false;
    uint64_t len = e->has_len ? e->len : lim->default_len;
    if (!e->has_len)
        p->flags |= TDIFF__PLAN_NO_LENGTH;
    if (e->has_len && e->digits > PLAN_MAX_DIGITS)
        len = UINT64_MAX;
    if (len == 0) {
        p->flags |= TDIFF__PLAN_ZERO;
        return;
    }
    if (len > lim->max_len) {
        p->flags |= TDIFF__PLAN_CLAMPED;
        len = lim->max_len;
    }
    if (p->n >= lim->max_spans || p->n >= TDIFF__PLAN_MAX_SPANS) {
        p->flags |= TDIFF__PLAN_TOO_MANY;
        return;
    }
    double scaled = floor((double)len * lim->scale + 0.5);
    if (!(scaled >= 1.0))
        scaled = 1.0;
    if (scaled > (double)lim->max_len)
        scaled = (double)lim->max_len;
    p->len[p->n++] = (uint32_t)scaled;
    (void)t;
}

void tdiff__plan_parse(const tdiff__plan_tags *t, const tdiff__plan_limits *lim, const int32_t *tok, size_t n,
                       tdiff__plan *p)
{
    p->n = 0;
    p->flags = 0;
    entry e = {0};
    for (size_t i = 0; i < n; i++) {
        int32_t x = tok[i];
        if (x == t->promise_open) {
            if (e.open)
                p->flags |= TDIFF__PLAN_UNCLOSED;
            entry_close(p, t, lim, &e);
            e = (entry){.open = true};
            continue;
        }
        if (x == t->promise_close) {
            if (!e.open)
                p->flags |= TDIFF__PLAN_STRAY;
            entry_close(p, t, lim, &e);
            continue;
        }
        if (!e.open)
            continue;
        int d = digit_of(t, x);
        if (d < 0) {
            e.in_digits = false;
            continue;
        }
        if (!e.in_digits) { /* a new run replaces the last */
            e.in_digits = true;
            e.has_len = true;
            e.digits = 0;
            e.len = 0;
        }
        if (e.digits < PLAN_MAX_DIGITS + 1)
            e.digits++;
        if (e.digits <= PLAN_MAX_DIGITS)
            e.len = e.len * 10 + (uint64_t)d;
    }
    if (e.open)
        p->flags |= TDIFF__PLAN_UNCLOSED;
    entry_close(p, t, lim, &e);
}
