/*
 * planned.c -- planned diffusion (Israel et al. 2025, "Planned Diffusion") as a
 * strategy: two phases that alternate until EOS or the canvas ends.
 *
 *   PLAN   autoregressive steps, one position per step, exactly as the ar
 *          strategy (row p of x[0..p], Dream's prediction chain): the model
 *          writes text and a plan of <promise> entries (plan.c). When it writes
 *          <async> or <sync/> the plan since the last round is parsed and laid
 *          out from that position:
 *              <async> m x L_1 </async> <async> m x L_2 </async> ... <sync/>
 *          span k (its tags included) is attention group k (unique over the
 *          run), the rest group 0 (TDIFF_ATTENTION_SPANS, denoiser.h).
 *   SPANS  every span denoised in parallel, one evaluation of all their masks
 *          per step: span k of L_k masks gets T_k = max(1, ceil(L_k x
 *          steps_per_token)) steps and commits LLaDA's transfer count per step
 *          (L_k / T_k, the remainder on its first steps) by low confidence
 *          (LLaDA's prediction: Gumbel arg-max at the temperature, ties to the
 *          lowest position); the round lasts max_k T_k steps.
 *
 * KV cache (any --cache mode): exact, as on causal models -- each changed input
 * drops the entries from its first reader on (kvcache.c), so the context, the
 * plan and finished rounds are computed once per round.
 *
 * Fallbacks (the plan is untrusted; docs/sampling.md): a plan without a usable
 * entry leaves the tag as text and decoding goes on autoregressively; spans
 * that do not fit the canvas are shortened, the last ones dropped. A prompt
 * that ends with <async> lays out the plan it holds at the first step (a
 * caller's plan). Every evaluation passes the span groups, so later rounds read
 * earlier spans' keys under the mask they were trained with.
 */
#include <math.h>

#include "model/model.h"
#include "sampler.h"

typedef struct span_info {
    size_t lo, hi;     /* mask positions [lo, hi) */
    size_t steps;      /* T_k */
} span_info;

typedef struct planned_state {
    tdiff__plan_tags tags;
    tdiff__plan_limits lim;
    double per_token;
    uint32_t *group;   /* [n] attention groups */
    uint32_t next_group;
    bool spans;        /* phase SPANS */
    size_t p;          /* PLAN: the next position */
    size_t round_lo;   /* PLAN: where the current round's text began */
    size_t layout_end; /* SPANS: one past <sync/> */
    size_t sstep, round_steps;
    size_t n_spans;
    span_info span[TDIFF__PLAN_MAX_SPANS];
    tdiff__plan plan;  /* the last parse (its flags: the fallbacks taken) */
} planned_state;

static tdiff_status tag_id(tdiff_sampler *s, const char *key, int32_t *out)
{
    const tdiff_model *m = s->net.model;
    if (tdiff__meta_get_i32(m, key, out) || *out < 0 || (size_t)*out >= s->n_vocab)
        return tdiff__fail(&s->env, TDIFF_E_UNSUPPORTED,
                           "the planned strategy needs a planned model: %s missing or not a token id "
                           "(docs/model-format.md)", key);
    return TDIFF_OK;
}

static tdiff_status read_tags(tdiff_sampler *s, tdiff__plan_tags *t)
{
    static const char *const keys[5] = {"tdiff.planned.promise_open_id", "tdiff.planned.promise_close_id",
                                        "tdiff.planned.async_open_id", "tdiff.planned.async_close_id",
                                        "tdiff.planned.sync_id"};
    int32_t *ids[5] = {&t->promise_open, &t->promise_close, &t->async_open, &t->async_close, &t->sync};
    for (int i = 0; i < 5; i++) {
        tdiff_status st = tag_id(s, keys[i], ids[i]);
        if (st)
            return st;
    }
    const tdiff__meta *e = tdiff__meta_find(s->net.model, "tdiff.planned.digit_ids");
    for (int d = 0; d < 10; d++)
        if (!e || tdiff__meta_arr_i32(e, (size_t)d, &t->digit[d]) || t->digit[d] < 0 ||
            (size_t)t->digit[d] >= s->n_vocab)
            return tdiff__fail(&s->env, TDIFF_E_UNSUPPORTED,
                               "the planned strategy needs tdiff.planned.digit_ids: 10 token ids (\"0\"..\"9\")");
    return TDIFF_OK;
}

static tdiff_status planned_begin(tdiff__run *r, void *state, bool *done)
{
    planned_state *a = state;
    tdiff_sampler *s = r->s;
    if (!s->net.model)
        return tdiff__fail(&s->env, TDIFF_E_UNSUPPORTED, "the planned strategy needs the built-in denoiser");
    tdiff_status st = read_tags(s, &a->tags);
    if (st)
        return st;
    for (size_t i = r->region_start; i < r->n; i++)
        if (r->fixed[i])
            return tdiff__fail(&s->env, TDIFF_E_UNSUPPORTED,
                               "the planned strategy lays out its own spans: no fixed position after the prompt "
                               "(position %zu is fixed)", i);
    a->lim.max_spans = (size_t)tdiff__sp_int(s, TDIFF_SAMPLER_PLANNED_MAX_SPANS);
    a->lim.max_len = (size_t)tdiff__sp_int(s, TDIFF_SAMPLER_PLANNED_MAX_SPAN_LENGTH);
    a->lim.default_len = (size_t)tdiff__sp_int(s, TDIFF_SAMPLER_PLANNED_DEFAULT_SPAN_LENGTH);
    a->lim.scale = tdiff__sp_float(s, TDIFF_SAMPLER_PLANNED_LENGTH_SCALE);
    a->per_token = tdiff__sp_float(s, TDIFF_SAMPLER_PLANNED_STEPS_PER_TOKEN);
    if (!(a->group = tdiff__calloc(&s->env, r->n, sizeof *a->group)))
        return tdiff__fail(&s->env, TDIFF_E_OUT_OF_MEMORY, "planned: %zu span groups", r->n);
    a->next_group = 1;
    a->p = r->region_start;
    a->round_lo = 0; /* the first round's plan may begin in the prompt */
    r->frontier = r->region_start;
    r->n_steps = r->n - r->region_start; /* an upper bound: every step writes a position */
    *done = r->n_steps == 0;
    return TDIFF_OK;
}

static void planned_finish(tdiff__run *r, void *state)
{
    planned_state *a = state;
    tdiff__free(&r->s->env, a->group);
}

/* Lays the plan of x[round_lo, q) out from q (which holds, or gets, <async>).
 * False when no span fits or the plan has none (the tag stays text). */
static bool lay_out(tdiff__run *r, planned_state *a, size_t q)
{
    tdiff__plan_parse(&a->tags, &a->lim, r->x + a->round_lo, q - a->round_lo, &a->plan);
    size_t pos = q, k = 0;
    for (; k < a->plan.n; k++) {
        if (r->n - pos < 4) /* <async>, one mask, </async>, <sync/> */
            break;
        size_t len = a->plan.len[k], room = r->n - pos - 3;
        len = len < room ? len : room;
        span_info *sp = &a->span[k];
        sp->lo = pos + 1;
        sp->hi = pos + 1 + len;
        double t = ceil((double)len * a->per_token);
        sp->steps = t < 1.0 ? 1 : t > (double)len ? len : (size_t)t;
        pos += len + 2;
    }
    if (k == 0)
        return false;
    a->n_spans = k;
    a->round_steps = 0;
    for (size_t i = 0; i < k; i++) {
        const span_info *sp = &a->span[i];
        uint32_t g = a->next_group++;
        for (size_t j = sp->lo - 1; j <= sp->hi; j++)
            a->group[j] = g;
        if (!r->fixed[sp->lo - 1])
            r->x[sp->lo - 1] = a->tags.async_open;
        for (size_t j = sp->lo; j < sp->hi; j++)
            r->x[j] = r->s->mask_id;
        r->x[sp->hi] = a->tags.async_close;
        a->round_steps = sp->steps > a->round_steps ? sp->steps : a->round_steps;
    }
    r->x[pos] = a->tags.sync;
    a->group[pos] = 0;
    a->layout_end = pos + 1;
    a->spans = true;
    a->sstep = 0;
    r->frontier = a->layout_end;
    return true;
}

/* One autoregressive step at a->p (ar.c's step, with the span groups). */
static tdiff_status plan_step(tdiff__run *r, planned_state *a, bool *done)
{
    tdiff_sampler *s = r->s;
    const size_t p = a->p;
    r->pos[0] = (uint32_t)p;
    const float *logits;
    tdiff__eval_req q = {.pos = r->pos, .na = 1, .n_prefix = p + 1, .span = a->group,
                         .t = (float)((double)(r->n - p) / (double)(r->n - r->region_start))};
    tdiff_status st = tdiff__evaluate(r, &q, &logits);
    if (st)
        return st;
    int32_t tok;
    if ((st = tdiff__ar_decide(r, logits, p, &tok)))
        return st;
    a->group[p] = 0;
    a->p = p + 1;
    r->frontier = a->p;
    if (tok == s->eos_id && s->eos_id >= 0) {
        for (size_t i = a->p; i < r->n; i++)
            r->x[i] = s->eos_id;
        r->frontier = a->p = r->n;
    } else if ((tok == a->tags.async_open || tok == a->tags.sync) && lay_out(r, a, p)) {
        *done = false;
        return TDIFF_OK;
    }
    *done = a->p >= r->n;
    return TDIFF_OK;
}

/* One parallel denoising step of every span. */
static tdiff_status span_step(tdiff__run *r, planned_state *a, bool *done)
{
    size_t na = tdiff__collect_masked(r, a->span[0].lo, a->layout_end);
    const float *logits = NULL;
    tdiff__eval_req q = {.pos = r->pos, .na = na, .n_prefix = a->layout_end, .span = a->group,
                         .t = tdiff__masked_fraction(r)};
    tdiff_status st = na ? tdiff__evaluate(r, &q, &logits) : TDIFF_OK;
    if (st)
        return st;
    tdiff__clear_confidence(r);
    for (size_t i = 0; i < na; i++)
        if ((st = tdiff__predict(r, TDIFF__PRED_LLADA, TDIFF_REMASK_LOW_CONFIDENCE, logits + i * r->s->n_vocab,
                                 r->pos[i], &r->cand[i], &r->conf[i])))
            return st;
    /* per span: its slots [i0, i1) of the ascending active set */
    size_t i0 = 0;
    for (size_t k = 0; k < a->n_spans; k++) {
        const span_info *sp = &a->span[k];
        size_t i1 = i0;
        while (i1 < na && r->pos[i1] < sp->hi)
            i1++;
        size_t len = sp->hi - sp->lo, left = i1 - i0, want = 0;
        if (a->sstep < sp->steps)
            want = a->sstep + 1 == sp->steps ? left
                                             : len / sp->steps + (a->sstep < len % sp->steps ? 1 : 0);
        want = want < left ? want : left;
        for (size_t c = 0; c < want; c++) { /* the best uncommitted slot, ties to the lowest position */
            size_t best = i1;
            for (size_t i = i0; i < i1; i++)
                if (r->x[r->pos[i]] == r->s->mask_id && (best == i1 || r->conf[i] > r->conf[best]))
                    best = i;
            r->x[r->pos[best]] = r->cand[best];
            r->conf_out[r->pos[best]] = (float)r->conf[best];
        }
        i0 = i1;
    }
    if (++a->sstep >= a->round_steps) {
        a->spans = false;
        a->p = a->round_lo = a->layout_end;
        *done = a->p >= r->n;
    } else {
        *done = false;
    }
    return TDIFF_OK;
}

static tdiff_status planned_step(tdiff__run *r, void *state, bool *stepped, bool *done)
{
    planned_state *a = state;
    *stepped = false;
    if (!a->spans && a->p == r->region_start && a->p > 0 && r->x[a->p - 1] == a->tags.async_open &&
        lay_out(r, a, a->p - 1)) { /* the prompt ends with a plan and <async> */
        *stepped = true;
        *done = false;
        return TDIFF_OK;
    }
    if (!a->spans && a->p >= r->n) {
        *done = true;
        return TDIFF_OK;
    }
    *stepped = true;
    return a->spans ? span_step(r, a, done) : plan_step(r, a, done);
}

const tdiff__strategy tdiff__strategy_planned = {TDIFF_STRATEGY_PLANNED, "planned", TDIFF__CAP_CACHE,
                                                 sizeof(planned_state),
                                                 planned_begin, planned_step, planned_finish};
