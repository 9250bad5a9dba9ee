/*
 * cache.c -- the KV cache: per layer, the keys (after RoPE) and values of every
 * position of a canvas, kept between forward calls so a call runs only some
 * positions through the layers and reads the others' keys and values here.
 *
 * The cache is a mechanism, not a policy: it knows which entries it holds and
 * under which attention pattern they were computed, and it plans a call's rows
 * so that nothing is ever read that was not stored. Whether a stored entry is
 * still RIGHT is the caller's knowledge: an exact caller reports every changed
 * input (tdiff__kv_cache_invalidate drops what the change reaches through the
 * mask), an approximate one (the sampler's prefix / dual / delayed policies)
 * names the positions to recompute and accepts stale entries elsewhere.
 *
 * Shapes: dkv = n_head_kv * head_dim; per layer K [cap, dkv] then V [cap, dkv],
 * row = canvas position.
 */
#include <string.h>

#include "internal.h"

tdiff_status tdiff__kv_cache_create(tdiff_denoiser *d, tdiff__kv_cache **out)
{
    if (!d || !out)
        return TDIFF_E_INVALID_ARGUMENT;
    *out = NULL;
    const dn_config *c = &d->cfg;
    size_t dkv = c->n_head_kv * c->head_dim, floats;
    /* n_layer * 2 * max_len * dkv: each factor was bounded at create (max_len <= 2^20) */
    if (!tdiff__mul_size(c->n_layer * 2, d->max_len, &floats) || !tdiff__mul_size(floats, dkv, &floats) ||
        floats > SIZE_MAX / sizeof(float))
        return tdiff__fail(&d->env, TDIFF_E_OVERFLOW, "KV cache: %zu layers x %zu positions overflow", c->n_layer,
                           d->max_len);
    tdiff__kv_cache *kc = tdiff__calloc(&d->env, 1, sizeof *kc);
    if (!kc)
        return tdiff__fail(&d->env, TDIFF_E_OUT_OF_MEMORY, "out of memory for a KV cache");
    kc->owner = d;
    kc->cap = d->max_len;
    kc->dkv = dkv;
    kc->n_layer = c->n_layer;
    /* calloc: a key that is read is always stored first (plan), but zeroed memory
     * keeps even a bug from reading indeterminate values */
    kc->kv = tdiff__calloc(&d->env, floats, sizeof(float));
    kc->valid = tdiff__calloc(&d->env, kc->cap, 1);
    kc->need = tdiff__calloc(&d->env, kc->cap, 1);
    kc->rows = tdiff__calloc(&d->env, kc->cap, sizeof *kc->rows);
    kc->row_of = tdiff__calloc(&d->env, kc->cap, sizeof *kc->row_of);
    kc->span = tdiff__calloc(&d->env, kc->cap, sizeof *kc->span);
    if (!kc->kv || !kc->valid || !kc->need || !kc->rows || !kc->row_of || !kc->span) {
        tdiff__kv_cache_free(d, kc);
        return tdiff__fail(&d->env, TDIFF_E_OUT_OF_MEMORY, "out of memory for a KV cache of %zu MiB",
                           floats * sizeof(float) >> 20);
    }
    *out = kc;
    return TDIFF_OK;
}

void tdiff__kv_cache_free(tdiff_denoiser *d, tdiff__kv_cache *c)
{
    if (!c)
        return;
    void *bufs[] = {c->kv, c->valid, c->need, c->rows, c->row_of, c->span, c};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        tdiff__free(&d->env, bufs[i]);
}

void tdiff__kv_cache_clear(tdiff__kv_cache *c)
{
    memset(c->valid, 0, c->cap);
    c->keyed = false;
    c->span_n = 0;
}

void tdiff__kv_cache_invalidate_spans(tdiff__kv_cache *c, const uint32_t *changed, size_t n, const uint32_t *span)
{
    if (!n || !c->keyed)
        return;
    if (c->mask.attention != TDIFF_ATTENTION_SPANS) { /* the call rekeys and empties it anyway */
        tdiff__kv_cache_clear(c);
        return;
    }
    /* Readers of input i among the stored entries: rows at or after i, and the
     * stored rows of i's own span group (a span row sees no later position
     * outside its group; a group-0 row none at all). */
    size_t from = c->cap;
    for (size_t k = 0; k < n && from > 0; k++) {
        size_t i = changed[k], f = i;
        if (span[i] != 0)
            for (size_t j = 0; j < i && j < c->span_n; j++)
                if (c->span[j] == span[i]) {
                    f = j;
                    break;
                }
        from = f < from ? f : from;
    }
    if (from < c->cap)
        memset(c->valid + from, 0, c->cap - from);
}

void tdiff__kv_cache_invalidate(tdiff__kv_cache *c, const uint32_t *changed, size_t n)
{
    if (!n || !c->keyed)
        return;
    /* Under causal and block-causal masks the keys that read input i are those
     * of the positions from i's first reader on (their K/V at layer l depend on
     * every visible input through layers < l); under full or span masks, any. */
    size_t from = c->cap;
    for (size_t i = 0; i < n; i++) {
        size_t f = changed[i] < c->cap ? tdiff__dn_mask_first_reader(&c->mask, changed[i]) : c->cap;
        from = f < from ? f : from;
    }
    if (c->mask.attention != TDIFF_ATTENTION_CAUSAL && c->mask.attention != TDIFF_ATTENTION_BLOCK_CAUSAL)
        from = 0;
    if (from < c->cap)
        memset(c->valid + from, 0, c->cap - from);
}

void tdiff__kv_cache_last(const tdiff__kv_cache *c, size_t *computed, size_t *reused)
{
    if (computed)
        *computed = c->last_computed;
    if (reused)
        *reused = c->last_reused;
}

/* Empties the cache when the call's mask or t differ from its entries', and
 * records the call's. */
static void rekey(tdiff__kv_cache *c, const tdiff_denoiser *d, const tdiff__forward_args *a, const dn_mask *mask)
{
    bool timed = d->cfg.dit && d->cfg.time_input;
    bool same = c->keyed && c->mask.attention == mask->attention;
    if (same && mask->attention == TDIFF_ATTENTION_BLOCK_CAUSAL)
        same = c->mask.block_len == mask->block_len && c->mask.block_start == mask->block_start;
    if (same && mask->attention == TDIFF_ATTENTION_SPANS)
        same = c->mask.span_earlier == mask->span_earlier &&
               !memcmp(c->span, mask->span, (a->n < c->span_n ? a->n : c->span_n) * sizeof *c->span);
    if (same && timed)
        same = c->t == a->t;
    if (!same)
        tdiff__kv_cache_clear(c);
    c->keyed = true;
    c->mask = *mask;
    c->mask.span = NULL; /* the caller's array; the groups are copied below */
    if (mask->attention == TDIFF_ATTENTION_SPANS) {
        memcpy(c->span, mask->span, a->n * sizeof *c->span);
        c->span_n = a->n > c->span_n ? a->n : c->span_n;
    }
    c->t = a->t;
}

void tdiff__kv_cache_plan(tdiff_denoiser *d, const tdiff__forward_args *a, const dn_mask *mask, dn_rows *rows)
{
    tdiff__kv_cache *c = a->cache;
    const size_t n = a->n;
    rekey(c, d, a, mask);
    uint8_t *need = c->need;
    memset(need, 0, n);
    for (size_t i = 0; i < a->n_compute; i++)
        need[a->compute[i]] = 1;
    /* the hidden states the head reads (a shifted model predicts p from p - 1) */
    size_t n_out = a->positions ? a->n_positions : n;
    for (size_t r = 0; r < n_out; r++) {
        size_t q = a->positions ? a->positions[r] : r;
        need[d->cfg.shift_logits && q > 0 ? q - 1 : q] = 1;
    }
    /* Every key in the span of the rows' attention tiles must be stored or
     * computed now: [0, end of the last row's mask), since ends never decrease.
     * Adding a row below that end cannot widen it. */
    size_t last = 0;
    for (size_t i = 0; i < n; i++)
        if (need[i])
            last = i;
    size_t end = tdiff__dn_mask_end(mask, last, n), m = 0, reused = 0;
    for (size_t i = 0; i < n; i++) {
        if (i < end && !c->valid[i])
            need[i] = 1;
        reused += i < end && !need[i];
        if (need[i]) {
            c->row_of[i] = (uint32_t)m;
            c->rows[m++] = (uint32_t)i;
        }
    }
    rows->m = m;
    rows->pos = c->rows;
    rows->row_of = c->row_of;
    rows->n = n;
    c->last_computed = m;
    c->last_reused = reused;
}

float *tdiff__kv_cache_layer(tdiff__kv_cache *c, size_t il, int which)
{
    return c->kv + (2 * il + (size_t)which) * c->cap * c->dkv;
}

void tdiff__kv_cache_store(tdiff__kv_cache *c, size_t il, const dn_rows *rows, const float *k, const float *v)
{
    float *K = tdiff__kv_cache_layer(c, il, 0), *V = tdiff__kv_cache_layer(c, il, 1);
    size_t w = c->dkv * sizeof(float);
    for (size_t r = 0; r < rows->m; r++) {
        size_t p = tdiff__dn_row_pos(rows, r);
        memcpy(K + p * c->dkv, k + r * c->dkv, w);
        memcpy(V + p * c->dkv, v + r * c->dkv, w);
    }
}

void tdiff__kv_cache_commit(tdiff__kv_cache *c, const dn_rows *rows)
{
    for (size_t r = 0; r < rows->m; r++)
        c->valid[tdiff__dn_row_pos(rows, r)] = 1;
}
