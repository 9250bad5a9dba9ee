/*
 * spindle.c -- DiffusionBERT's reverse process (He et al. 2023; the reference
 * code's diffusion_word_freq.py, p_forward + discrete_diffusion_predict_fn):
 * absorbing diffusion with the spindle schedule, x0-parameterised, decoded
 * time-agnostically (the network is never told the time: t = 0 on every call).
 *
 * T = TDIFF_SAMPLER_STEPS; t runs T..1. The base schedule is the linear one of
 * the source (ᾱ_t = 1 − t/T, one-step β_t = 1/(T − t + 1)); the per-token keep
 * probability of the previous time is the scheduler's spindle formula
 * (tdiff_scheduler_spindle_keep):
 *   k_i = clip((1 − (t−1)/T) + λ·sin(π(t−1)/T)·(w_{a_i} − mean_j w_{a_j}), 0, 0.999),  k_i = 1 at t = 1,
 * where a_i, the token the weight is read for, is x_t[i] where the canvas holds a
 * token and arg-max p̃(x_0 | x_t) where it holds the mask; the mean runs over the
 * whole canvas. (The reference code takes the network's arg-max at every
 * position; at an unmasked position the forward process says x_0 = x_t, which
 * is what a trained network predicts there.)
 *
 * Posterior of a masked position, p̃ = softmax(logits) over the tokens the
 * sampler may produce (SUBS: p̃(mask) = 0 unless SUBS is off):
 *   q(x_{t−1} = v) ∝ k_i·p̃_v·β_t                 (v ≠ mask)
 *   q(x_{t−1} = mask) ∝ 1 − k_i·(1 − p̃_mask)
 * = (p̃ Q̄^{(i)}_{t−1}) ⊙ (Q_t[:, mask]), the D3PM posterior with the per-token
 * marginal Q̄^{(i)}_{t−1} and the base one-step matrix Q_t, as the source builds
 * it (without its 1e-20 floor). An unmasked position stays (Q_t[v, u] = 0 for
 * v ≠ u). One inverse-CDF draw per masked position and step, keyed
 * (seed, step, position, TDIFF__DRAW_SAMPLE); at t = 1 the mask has weight 0,
 * so every position is decided. Steps in which nothing changed leave the canvas
 * as the network saw it: the next evaluation reuses the rows (no time input).
 */
#include <math.h>
#include <string.h>

#include "core/rng.h"
#include "sampler.h"
#include "schedule/schedule.h"

typedef struct spindle_state {
    size_t T, i;
    int32_t *anchor; /* [n] a_i: the token whose weight position i reads */
} spindle_state;

void tdiff__spindle_posterior(const double *p0, size_t V, int32_t mask_id, double keep, double beta, double *post)
{
    double total = 0.0;
    for (size_t v = 0; v < V; v++) {
        post[v] = (int32_t)v == mask_id ? 1.0 - keep * (1.0 - p0[v]) : keep * p0[v] * beta;
        total += post[v];
    }
    for (size_t v = 0; v < V; v++)
        post[v] /= total;
}

static tdiff_status spindle_begin(tdiff__run *r, void *state, bool *done)
{
    spindle_state *m = state;
    tdiff_sampler *s = r->s;
    const size_t n_w = tdiff__sched_spindle_n(s->scheduler);
    if (n_w == 0)
        return tdiff__fail(&s->env, TDIFF_E_STATE,
                           "spindle needs token counts on the scheduler (tdiff_scheduler_set_token_counts)");
    if (n_w < s->n_vocab)
        return tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT,
                           "spindle: the scheduler's count table has %zu entries, the model's vocabulary %zu", n_w,
                           s->n_vocab);
    for (size_t i = 0; i < r->n; i++)
        if (r->x[i] < 0 || (size_t)r->x[i] >= n_w)
            return tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT, "spindle: token %d at %zu has no count",
                               (int)r->x[i], i);
    m->T = (size_t)tdiff__sp_int(s, TDIFF_SAMPLER_STEPS);
    m->anchor = tdiff__calloc(&s->env, r->n, sizeof *m->anchor);
    if (!m->anchor)
        return tdiff__fail(&s->env, TDIFF_E_OUT_OF_MEMORY, "spindle: out of memory");
    r->n_steps = m->T;
    *done = tdiff__collect_masked(r, r->region_start, r->n) == 0;
    return TDIFF_OK;
}

static void spindle_finish(tdiff__run *r, void *state)
{
    spindle_state *m = state;
    tdiff__free(&r->s->env, m->anchor);
}

static tdiff_status spindle_step(tdiff__run *r, void *state, bool *stepped, bool *done)
{
    spindle_state *m = state;
    tdiff_sampler *s = r->s;
    const size_t V = s->n_vocab;
    size_t na = tdiff__collect_masked(r, r->region_start, r->n);
    *stepped = false;
    *done = true;
    if (m->i >= m->T || na == 0)
        return TDIFF_OK;
    const size_t t = m->T - m->i;
    const double beta = 1.0 / (double)(m->T - t + 1), t_prev = (double)(t - 1) / (double)m->T;
    const float *logits;
    tdiff__eval_req q = {.pos = r->pos, .na = na, .t = 0.0f, .reuse = true}; /* time-agnostic */
    tdiff_status st = tdiff__evaluate(r, &q, &logits);
    if (st)
        return st;
    /* a_i: the canvas, with the arg-max prediction at every masked position */
    memcpy(m->anchor, r->x, r->n * sizeof *m->anchor);
    for (size_t j = 0; j < na; j++) {
        if ((st = tdiff__row_prepare(r, logits + j * V, r->pos[j], r->row)))
            return st;
        m->anchor[r->pos[j]] = (int32_t)tdiff__argmax64(r->row, V);
    }
    const double mean = tdiff__sched_spindle_mean(s->scheduler, m->anchor, r->n);
    tdiff__clear_confidence(r);
    for (size_t j = 0; j < na; j++) {
        const uint32_t pos = r->pos[j];
        double *p0 = r->row, *post = r->row2;
        if ((st = tdiff__row_prepare(r, logits + j * V, pos, p0)))
            return st;
        tdiff__softmax64(p0, V);
        const double keep = tdiff__sched_spindle_keep1(s->scheduler, m->anchor[pos], mean, t_prev);
        tdiff__spindle_posterior(p0, V, s->mask_id, keep, beta, post);
        size_t v = tdiff__rng_categorical(post, V,
                                          tdiff__rng_uniform_double(r->seed, (uint32_t)r->step, pos, TDIFF__DRAW_SAMPLE));
        if (v == V)
            return tdiff__bad_row(r, pos);
        r->cand[j] = (int32_t)v;
        r->conf_out[pos] = (float)post[v];
    }
    for (size_t j = 0; j < na; j++) /* every position read x_t before any moved */
        r->x[r->pos[j]] = r->cand[j];
    m->i++;
    *stepped = true;
    *done = m->i >= m->T || tdiff__collect_masked(r, r->region_start, r->n) == 0;
    return TDIFF_OK;
}

const tdiff__strategy tdiff__strategy_spindle = {
    TDIFF_STRATEGY_SPINDLE, "spindle", TDIFF__CAP_CALLBACK | TDIFF__CAP_CFG | TDIFF__CAP_SCHEDULER,
    sizeof(spindle_state), spindle_begin, spindle_step, spindle_finish};
