/*
 * eval.c -- the evaluation seam: the one function through which every
 * strategy asks the network for logits.
 *
 * It owns what every strategy would otherwise repeat: soft-masked inputs built
 * from the previous evaluation's rows (docs/softmask.md), classifier-free
 * guidance (an unconditional pass with the caller-fixed positions masked,
 * logits = u + (w+1)(c - u)), reuse of the previous rows when nothing the
 * network reads has changed (MDLM's ddpm_cache), counting and timing forward
 * passes, the interrupt flag, and error messages. It also tracks which
 * positions' inputs changed since the previous call of each pass and passes
 * the strategy's block on: what the KV cache behind the network (kvcache.c)
 * needs, so strategies never know it exists. A causal network may be asked
 * about a prefix of the canvas only (autoregressive decoding).
 */
#include <string.h>

#include "sampler.h"

static void *take(tdiff__run *r, size_t count, size_t size, bool *ok)
{
    void *p = tdiff__calloc(&r->s->env, count ? count : 1, size);
    *ok = *ok && p;
    return p;
}

tdiff_status tdiff__eval_init(tdiff__run *r, size_t rows)
{
    tdiff_sampler *s = r->s;
    tdiff__eval *ev = &r->ev;
    const size_t V = s->n_vocab, n = r->n;
    size_t nv;
    if (!tdiff__mul_size(rows, V, &nv) || nv > SIZE_MAX / sizeof(float) / 2)
        return tdiff__fail(&s->env, TDIFF_E_OVERFLOW, "logits for %zu rows x vocabulary %zu overflow", rows, V);
    memset(ev, 0, sizeof *ev);
    ev->rows = rows;
    bool ok = true;
    ev->logits = take(r, nv, sizeof(float), &ok);
    ev->seen[0] = take(r, n, sizeof(int32_t), &ok);
    ev->seen[1] = take(r, n, sizeof(int32_t), &ok);
    ev->changed = take(r, n, sizeof(uint32_t), &ok);
    ev->prev_pos = take(r, n, sizeof(uint32_t), &ok);
    if (tdiff__sp_float(s, TDIFF_SAMPLER_CFG_SCALE) > 0.0) {
        ev->ulogits = take(r, nv, sizeof(float), &ok);
        ev->ux = take(r, n, sizeof(int32_t), &ok);
    }
    if (ok && s->softmask) {
        int64_t k = 0;
        size_t per, cap;
        if (tdiff_softmask_get_int(s->softmask, TDIFF_SOFTMASK_TOP_K, &k) != TDIFF_OK || k < 1)
            return tdiff__fail(&s->env, TDIFF_E_INTERNAL, "soft-mask handle without a top-k");
        if (!tdiff__add_size((size_t)k, 1, &per) || !tdiff__mul_size(n, per, &cap))
            return tdiff__fail(&s->env, TDIFF_E_OVERFLOW, "soft-mask lists for %zu positions overflow", n);
        ev->sm_cap = cap;
        ev->sm_offsets = take(r, 2 * (n + 1), sizeof(size_t), &ok);
        ev->sm_ids = take(r, 2 * cap, sizeof(int32_t), &ok);
        ev->sm_weights = take(r, 2 * cap, sizeof(float), &ok);
    }
    if (!ok)
        return tdiff__fail(&s->env, TDIFF_E_OUT_OF_MEMORY, "out of memory for the logits of %zu positions", rows);
    return TDIFF_OK;
}

void tdiff__eval_free(tdiff__run *r)
{
    const tdiff__env *env = &r->s->env;
    tdiff__eval *ev = &r->ev;
    void *bufs[] = {ev->logits, ev->ulogits, ev->ux, ev->seen[0], ev->seen[1], ev->changed, ev->prev_pos,
                    ev->sm_offsets, ev->sm_ids, ev->sm_weights};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        tdiff__free(env, bufs[i]);
    memset(ev, 0, sizeof *ev);
}

/* True when the previous rows answer q: same rows, same canvas, and a time value
 * the network either ignores or saw already. */
static bool can_reuse(const tdiff__run *r, const tdiff__eval_req *q)
{
    const tdiff__eval *ev = &r->ev;
    const tdiff_sampler *s = r->s;
    if (!q->reuse || s->softmask || q->embd || q->n_prefix || !ev->have_seen[0] || ev->seen_n[0] != r->n ||
        ev->prev_na != q->na)
        return false;
    if (memcmp(ev->prev_pos, q->pos, q->na * sizeof *q->pos) || memcmp(ev->seen[0], r->x, r->n * sizeof *r->x))
        return false;
    int64_t conditioned = 0;
    if (s->net.denoiser)
        (void)tdiff_denoiser_get_int(s->net.denoiser, TDIFF_DENOISER_TIME_CONDITIONED, &conditioned);
    return !conditioned || ev->prev_t == q->t;
}

/* Soft-mask lists of pass `pass` for canvas x from the rows now in ev->logits. */
static tdiff_status build_mix(tdiff__run *r, const int32_t *x, int pass)
{
    tdiff_sampler *s = r->s;
    tdiff__eval *ev = &r->ev;
    size_t n_entries = 0;
    const float *prev = ev->prev_na ? ev->logits : NULL;
    tdiff_status st = tdiff_softmask_build(s->softmask, x, r->n, s->mask_id, prev, ev->prev_pos, ev->prev_na,
                                           ev->sm_offsets + (size_t)pass * (r->n + 1),
                                           ev->sm_ids + (size_t)pass * ev->sm_cap,
                                           ev->sm_weights + (size_t)pass * ev->sm_cap, ev->sm_cap, &n_entries, NULL);
    if (st)
        return tdiff__fail(&s->env, st, "soft mask: %s", tdiff_softmask_last_error(s->softmask));
    return TDIFF_OK;
}

/* The positions among the first n whose network input changed since the last
 * call of this pass (a position the last call did not see counts as changed).
 * Mixtures and caller vectors (vectors != NULL) may differ on every call. */
static size_t collect_changed(tdiff__run *r, const int32_t *x, size_t n, int pass, const size_t *offsets,
                              const float *vectors)
{
    tdiff__eval *ev = &r->ev;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        bool mixed = vectors || (offsets && offsets[i + 1] > offsets[i]);
        if (!ev->have_seen[pass] || i >= ev->seen_n[pass] || mixed || ev->seen[pass][i] != x[i])
            ev->changed[m++] = (uint32_t)i;
    }
    memcpy(ev->seen[pass], x, n * sizeof *x);
    ev->seen_n[pass] = n;
    ev->have_seen[pass] = true;
    return m;
}

static tdiff_status forward_pass(tdiff__run *r, const tdiff__eval_req *q, const int32_t *x, int pass, float *out)
{
    tdiff__eval *ev = &r->ev;
    tdiff__net_call c = {0};
    c.tokens = x;
    c.n = q->n_prefix ? q->n_prefix : r->n;
    c.t = q->t;
    c.positions = q->pos;
    c.n_positions = q->na;
    if (ev->sm_offsets) {
        c.mix_offsets = ev->sm_offsets + (size_t)pass * (r->n + 1);
        c.mix_ids = ev->sm_ids + (size_t)pass * ev->sm_cap;
        c.mix_weights = ev->sm_weights + (size_t)pass * ev->sm_cap;
    }
    c.embd = q->embd;
    c.embd_rows = q->embd_rows;
    c.first = !ev->have_seen[pass];
    c.n_changed = collect_changed(r, x, c.n, pass, c.mix_offsets, c.embd);
    c.changed = ev->changed;
    c.pass = pass;
    c.span_lo = q->span_lo;
    c.span_hi = q->span_hi;
    c.fixed = r->fixed;
    c.block_start = r->region_start;
    c.span = q->span;
    c.logits = out;
    r->s->stat_forward++;
    return tdiff__net_forward(r->s, &c);
}

tdiff_status tdiff__evaluate(tdiff__run *r, const tdiff__eval_req *q, const float **out)
{
    tdiff_sampler *s = r->s;
    tdiff__eval *ev = &r->ev;
    if (atomic_load(&s->interrupt))
        return tdiff__fail(&s->env, TDIFF_E_ABORTED, "interrupted (tdiff_sampler_interrupt) at step %zu", r->step);
    if (q->na == 0 || q->na > ev->rows)
        return tdiff__fail(&s->env, TDIFF_E_INTERNAL, "evaluation of %zu rows (capacity %zu)", q->na, ev->rows);
    if (q->n_prefix && (q->n_prefix > r->n || s->softmask || q->embd || q->pos[q->na - 1] >= q->n_prefix))
        return tdiff__fail(&s->env, TDIFF_E_INTERNAL, "prefix evaluation of %zu positions is not possible here",
                           q->n_prefix);
    if (can_reuse(r, q)) {
        s->stat_reused++;
        *out = ev->logits;
        return TDIFF_OK;
    }
    const double cfg = tdiff__sp_float(s, TDIFF_SAMPLER_CFG_SCALE);
    const double t0 = tdiff__clock_s();
    tdiff_status st = TDIFF_OK;
    if (cfg > 0.0) /* unconditional canvas: every caller-fixed position (the prompt) masked */
        for (size_t i = 0; i < r->n; i++)
            ev->ux[i] = r->fixed[i] ? s->mask_id : r->x[i];
    /* Both passes' mixtures read the previous rows: build them before any forward. */
    if (s->softmask) {
        st = build_mix(r, r->x, 0);
        if (!st && cfg > 0.0)
            st = build_mix(r, ev->ux, 1);
    }
    if (!st)
        st = forward_pass(r, q, r->x, 0, ev->logits);
    if (!st && cfg > 0.0) {
        st = forward_pass(r, q, ev->ux, 1, ev->ulogits);
        if (!st) {
            const float w1 = (float)cfg + 1.0f;
            const size_t m = q->na * s->n_vocab;
            for (size_t i = 0; i < m; i++)
                ev->logits[i] = ev->ulogits[i] + w1 * (ev->logits[i] - ev->ulogits[i]);
        }
    }
    s->stat_forward_s += tdiff__clock_s() - t0;
    if (st) {
        ev->prev_na = 0; /* the rows are garbage now */
        ev->have_seen[0] = ev->have_seen[1] = false;
        return st;
    }
    memcpy(ev->prev_pos, q->pos, q->na * sizeof *q->pos);
    ev->prev_na = q->na;
    ev->prev_t = q->t;
    *out = ev->logits;
    return TDIFF_OK;
}
