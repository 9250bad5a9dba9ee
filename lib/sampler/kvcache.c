/*
 * kvcache.c -- the KV-cache policy behind the evaluation seam: for each forward
 * of the built-in network, which cache it uses and which positions it
 * recomputes (docs/sampling.md, "KV cache"). Strategies never see it: they name
 * their block in the evaluation request, the seam tracks which inputs changed,
 * and this file turns both into the denoiser's `compute` list.
 *
 * Full-attention models (approximate; the paper's rules):
 *   prefix   (Fast-dLLM) the block and everything after it;
 *   dual     (Fast-dLLM) the block only;
 *   delayed  (dKV-Cache-Decode) the masked positions and those whose input
 *            changed since the last call -- the tokens decoded one step ago, so
 *            a token's keys enter the cache one step after it is decoded.
 * Every position is recomputed at a pass's first call, every cache_refresh
 * calls, and (prefix, dual) when the block moves.
 *
 * Causal and block-causal models, and calls under a span mask (planned; exact,
 * every mode): each changed input drops the entries from its first reader on
 * (tdiff__kv_cache_invalidate, _invalidate_spans); the denoiser
 * then recomputes the dropped keys its rows can see, and nothing else.
 *
 * The rows the head reads and every key never stored are added by the denoiser
 * (lib/denoiser/cache.c), so no policy can read a missing entry.
 */
#include <string.h>

#include "denoiser/denoiser.h"
#include "sampler.h"

static tdiff_status ensure(tdiff_sampler *s, int pass, size_t n)
{
    tdiff__kv_policy *p = &s->net.kv;
    if (!p->kv[pass]) {
        tdiff_status st = tdiff__kv_cache_create(s->net.denoiser, &p->kv[pass]);
        if (st)
            return tdiff__fail(&s->env, st, "KV cache: %s", tdiff_denoiser_last_error(s->net.denoiser));
    }
    if (p->cap < n) {
        tdiff__free(&s->env, p->compute);
        p->compute = tdiff__calloc(&s->env, n, sizeof *p->compute);
        p->cap = p->compute ? n : 0;
        if (!p->compute)
            return tdiff__fail(&s->env, TDIFF_E_OUT_OF_MEMORY, "KV cache: out of memory for %zu positions", n);
    }
    return TDIFF_OK;
}

/* Causal or block-causal attention: the cache can be exact. */
static bool exact_model(const tdiff_sampler *s)
{
    int64_t att = 0;
    (void)tdiff_denoiser_get_int(s->net.denoiser, TDIFF_DENOISER_ATTENTION, &att);
    return att == TDIFF_ATTENTION_CAUSAL || att == TDIFF_ATTENTION_BLOCK_CAUSAL;
}

/* The positions an approximate cache recomputes at a call that is no refresh. */
static size_t approximate_rows(int mode, const tdiff__net_call *c, int32_t mask_id, uint32_t *out)
{
    size_t m = 0;
    if (mode == TDIFF_CACHE_PREFIX || mode == TDIFF_CACHE_DUAL) {
        size_t hi = mode == TDIFF_CACHE_DUAL ? c->span_hi : c->n;
        for (size_t i = c->span_lo; i < hi; i++)
            out[m++] = (uint32_t)i;
        return m;
    }
    /* delayed: still masked (a fixed position masked by CFG's unconditional pass
     * never changes), or decoded since the last call; both lists ascend */
    size_t k = 0;
    for (size_t i = 0; i < c->n; i++) {
        bool changed = k < c->n_changed && c->changed[k] == i;
        k += changed;
        if (changed || (c->tokens[i] == mask_id && !c->fixed[i]))
            out[m++] = (uint32_t)i;
    }
    return m;
}

tdiff_status tdiff__kv_prepare(tdiff_sampler *s, const tdiff__net_call *c, struct tdiff__forward_args *a)
{
    const int mode = (int)tdiff__sp_int(s, TDIFF_SAMPLER_CACHE);
    if (mode == TDIFF_CACHE_NONE)
        return TDIFF_OK;
    tdiff__kv_policy *p = &s->net.kv;
    const int pass = c->pass;
    tdiff_status st = ensure(s, pass, c->n);
    if (st)
        return st;
    tdiff__kv_cache *kc = p->kv[pass];
    a->cache = kc;
    if (c->span) { /* planned diffusion's span mask: exact as well */
        if (c->first)
            tdiff__kv_cache_clear(kc);
        else
            tdiff__kv_cache_invalidate_spans(kc, c->changed, c->n_changed, c->span);
        return TDIFF_OK;
    }
    if (exact_model(s)) {
        if (c->first)
            tdiff__kv_cache_clear(kc);
        else
            tdiff__kv_cache_invalidate(kc, c->changed, c->n_changed);
        return TDIFF_OK;
    }
    const size_t every = (size_t)tdiff__sp_int(s, TDIFF_SAMPLER_CACHE_REFRESH);
    const bool moved = mode != TDIFF_CACHE_DELAYED && (c->span_hi == 0 || c->span_lo != p->lo[pass]);
    if (c->first || moved || (every && p->since[pass] >= every)) {
        tdiff__kv_cache_clear(kc); /* every position is then a missing key: all recomputed */
        p->lo[pass] = c->span_lo;
        p->since[pass] = 1;
        return TDIFF_OK;
    }
    p->since[pass]++;
    a->compute = p->compute;
    a->n_compute = approximate_rows(mode, c, s->mask_id, p->compute);
    return TDIFF_OK;
}

void tdiff__kv_account(tdiff_sampler *s, const tdiff__net_call *c, const struct tdiff__forward_args *a)
{
    size_t computed = c->n, reused = 0;
    if (a && a->cache)
        tdiff__kv_cache_last(a->cache, &computed, &reused);
    s->stat_rows += (int64_t)computed;
    s->stat_hits += (int64_t)reused;
}

void tdiff__kv_free(tdiff__net *net, const tdiff__env *env)
{
    tdiff__kv_policy *p = &net->kv;
    for (int i = 0; i < 2; i++)
        tdiff__kv_cache_free(net->denoiser, p->kv[i]);
    tdiff__free(env, p->compute);
    memset(p, 0, sizeof *p);
}
