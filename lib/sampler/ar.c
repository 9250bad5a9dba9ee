/*
 * ar.c -- autoregressive decoding as a strategy: left to right, one token per
 * step. Step i evaluates the next position p that is not fixed, draws its
 * token (Dream's chain: temperature -> top-p -> top-k -> softmax -> inverse-CDF
 * draw at (seed, step, p, DRAW_SAMPLE); temperature 0 takes the arg-max) and
 * writes it. A causal network (llama, qwen2) is run over the prefix x[0..p]
 * only -- its row p reads tokens 0..p-1 alone, so this is the same row as on
 * the whole canvas -- a bidirectional one over the whole canvas (left-to-right
 * unmasking of a masked-diffusion model). Without a KV cache every step is a
 * full forward over the prefix: O(n^2) tokens through the network for n new
 * ones (the cache plugs in behind the evaluation seam, which tells it which
 * positions changed).
 *
 * Stop: when the drawn token is EOS and no fixed position follows, the rest of
 * the region is filled with EOS (what a cut at EOS drops) and the run ends.
 */
#include "sampler.h"

typedef struct ar_state {
    size_t p;           /* the next position to consider */
    size_t last_fixed;  /* 1 + the last fixed position (0: none) */
    bool causal;        /* evaluate x[0..p] only */
} ar_state;

/* Decides position p from its logits row as the ar strategy does (Dream's
 * temperature / top-p / top-k, then draw or arg-max), writes the token and its
 * confidence. Shared with planned.c's plan decoding. */
tdiff_status tdiff__ar_decide(tdiff__run *r, const float *logits, size_t p, int32_t *tok)
{
    double conf;
    tdiff_status st = tdiff__predict(r, TDIFF__PRED_DREAM, TDIFF_REMASK_LOW_CONFIDENCE, logits, (uint32_t)p, tok, &conf);
    if (st)
        return st;
    tdiff__clear_confidence(r);
    r->conf_out[p] = (float)conf;
    r->x[p] = *tok;
    return TDIFF_OK;
}

static tdiff_status ar_begin(tdiff__run *r, void *state, bool *done)
{
    ar_state *a = state;
    if (r->s->no_mask && r->n && !r->fixed[0])
        return tdiff__fail(&r->s->env, TDIFF_E_INVALID_ARGUMENT,
                           "an autoregressive model needs at least one prompt token (BOS) to continue from");
    a->p = r->region_start;
    a->causal = tdiff__net_causal(r->s);
    size_t todo = 0;
    for (size_t i = 0; i < r->n; i++) {
        if (r->fixed[i])
            a->last_fixed = i + 1;
        else if (i >= r->region_start)
            todo++;
    }
    r->frontier = r->region_start;
    r->n_steps = todo;
    *done = todo == 0;
    return TDIFF_OK;
}

static tdiff_status ar_step(tdiff__run *r, void *state, bool *stepped, bool *done)
{
    ar_state *a = state;
    tdiff_sampler *s = r->s;
    *stepped = false;
    while (a->p < r->n && r->fixed[a->p])
        a->p++;
    if (a->p >= r->n) {
        *done = true;
        return TDIFF_OK;
    }
    const size_t p = a->p;
    r->pos[0] = (uint32_t)p;
    const float *logits;
    /* t: the fraction of the region not generated yet (time-conditioned networks) */
    tdiff__eval_req q = {.pos = r->pos, .na = 1, .n_prefix = a->causal ? p + 1 : 0,
                         .t = (float)((double)(r->n - p) / (double)(r->n - r->region_start))};
    tdiff_status st = tdiff__evaluate(r, &q, &logits);
    if (st)
        return st;
    int32_t tok;
    if ((st = tdiff__ar_decide(r, logits, p, &tok)))
        return st;
    a->p = p + 1;
    r->frontier = a->p;
    *stepped = true;
    if (tok == s->eos_id && s->eos_id >= 0 && a->p >= a->last_fixed) {
        for (size_t i = a->p; i < r->n; i++)
            r->x[i] = s->eos_id;
        r->frontier = a->p = r->n;
    }
    while (a->p < r->n && r->fixed[a->p])
        a->p++;
    *done = a->p >= r->n;
    return TDIFF_OK;
}

const tdiff__strategy tdiff__strategy_ar = {TDIFF_STRATEGY_AR, "ar",     TDIFF__CAP_CALLBACK | TDIFF__CAP_NO_MASK,
                                            sizeof(ar_state),  ar_begin, ar_step, NULL};
