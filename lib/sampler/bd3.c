/*
 * bd3.c -- block diffusion (BD3-LM, Arriola et al. 2025, "Block Diffusion:
 * Interpolating Between Autoregressive and Diffusion Language Models"; the
 * semi-autoregressive sampler of kuleshov-group/bd3lms, diffusion.py
 * _semi_ar_sampler / _ddpm_caching_update), as a state machine over the
 * evaluation seam.
 *
 * The generated region is cut into blocks of B positions from the prompt's end
 * (B = the model file's tdiff.attention.block_length on a block-causal model,
 * else TDIFF_SAMPLER_BLOCK_LENGTH; 0 = one block). Blocks are denoised one after
 * the other, each to the end before the next starts; a block-causal network's
 * rows of a block see the prompt, the finished blocks and the block itself, so
 * the exact KV cache behind the seam (kvcache.c) keeps the finished blocks' keys
 * and recomputes only the block. Per block, with p = the network's p(x_0) at a
 * masked position (SUBS: the mask excluded) and nucleus filtering at
 * TDIFF_SAMPLER_TOP_P (sorted descending, keep while the cumulative probability
 * is <= p, the first always; renormalised -- bd3lms' _nucleus_sample):
 *
 *   bd3 (ddpm with caching): T = TDIFF_SAMPLER_STEPS steps per block at
 *     t_i = linspace(1, 0, T)[i], s = t - 1/T, move chance m(t) = t; a masked
 *     position draws from q(v) = p(v)·(1 - s/t), q(mask) = s/t by the exponential
 *     race argmax_v q(v)/(-log u_v), u at (seed, step, position, v). The last
 *     step (t = 0; s/t is -inf/NaN in the reference) and T = 1 use s/t = 0: every
 *     position left is revealed, so a block always ends within its T steps. The
 *     network output is reused while the canvas did not change (the reference's
 *     p_x0 cache). Steps after a block is complete are not taken.
 *   bd3_first_hitting: per step one masked position of the block, chosen
 *     uniformly (u at (seed, step, POS_GLOBAL, 0): index floor(u·M) among the M
 *     masked, ascending), takes its token from the race argmax_v p(v)/(-log u_v);
 *     the clock t ← t·u'^(1/M) (u' at draw 1) is only the network's time value.
 *     A block takes exactly as many steps as it has masks (STEPS is not read).
 *
 * The network's time value is σ = min(-log(1 - t), -log(1e-3)) (bd3lms'
 * _sigma_from_p; its checkpoints have no time conditioning and ignore it).
 * Variable length: when a block is complete and holds EOS (not caller-fixed)
 * with no caller-fixed position after the block, the rest of the region is
 * filled with EOS (what a cut at EOS drops) and the run ends; bd3lms stops at
 * its second EOS (its first is the BOS) -- with TDIFF_SAMPLER_CUT_AT_EOS the
 * result is the text up to that EOS.
 */
#include <math.h>

#include "core/rng.h"
#include "denoiser/denoiser.h"
#include "sampler.h"

#define BD3_SIGMA_MAX 6.907755278982137 /* -log(1e-3): the log-linear schedule's sigma at t = 1 (eps 1e-3) */

typedef struct bd3_state {
    size_t B;          /* block length */
    size_t lo, hi;     /* the current block [lo, hi) */
    size_t T, i;       /* ddpm: steps per block, the step within the block */
    double t;          /* first hitting: the clock */
    size_t last_fixed; /* 1 + the last caller-fixed position (0: none) */
    bool first_hitting;
} bd3_state;

static tdiff_status bd3_begin(tdiff__run *r, void *state, bool *done)
{
    bd3_state *b = state;
    tdiff_sampler *s = r->s;
    size_t B = (size_t)tdiff__sp_int(s, TDIFF_SAMPLER_BLOCK_LENGTH);
    int64_t att = 0, file_b = 0;
    if (s->net.denoiser && tdiff_denoiser_get_int(s->net.denoiser, TDIFF_DENOISER_ATTENTION, &att) == TDIFF_OK &&
        att == TDIFF_ATTENTION_BLOCK_CAUSAL &&
        tdiff_denoiser_get_int(s->net.denoiser, TDIFF_DENOISER_BLOCK_LENGTH, &file_b) == TDIFF_OK) {
        if (B && B != (size_t)file_b)
            return tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT,
                               "block_length %zu: the model is block-causal with blocks of %lld (its file says so); "
                               "leave block_length at 0 or set %lld",
                               B, (long long)file_b, (long long)file_b);
        B = (size_t)file_b;
    }
    const size_t region = r->n - r->region_start;
    b->B = B == 0 || B > region ? region : B;
    b->first_hitting = tdiff__sp_int(s, TDIFF_SAMPLER_STRATEGY) == TDIFF_STRATEGY_BD3_FIRST_HITTING;
    b->T = (size_t)tdiff__sp_int(s, TDIFF_SAMPLER_STEPS);
    b->lo = r->region_start;
    b->hi = b->lo + b->B < r->n ? b->lo + b->B : r->n;
    b->t = 1.0;
    size_t todo = 0;
    for (size_t i = 0; i < r->n; i++) {
        if (r->fixed[i])
            b->last_fixed = i + 1;
        else if (i >= r->region_start && r->x[i] == s->mask_id)
            todo++;
    }
    const size_t n_blocks = b->B ? (region + b->B - 1) / b->B : 0;
    r->n_steps = b->first_hitting ? todo : n_blocks * b->T; /* ddpm: an upper bound */
    *done = todo == 0;
    return TDIFF_OK;
}

/* bd3lms' _nucleus_sample on one probability row: sorted descending, keep an
 * entry while the cumulative probability up to it is <= top_p (the first one
 * always), renormalise. */
static void nucleus(tdiff__run *r, double *p, double top_p)
{
    const size_t V = r->s->n_vocab;
    if (!(top_p < 1.0))
        return;
    tdiff__sort_desc(p, V, r->order, r->order_tmp);
    double cum = 0.0, kept = 0.0;
    for (size_t k = 0; k < V; k++) {
        const uint32_t v = r->order[k];
        cum += p[v];
        if (k > 0 && cum > top_p)
            p[v] = 0.0;
        else
            kept += p[v];
    }
    for (size_t v = 0; v < V; v++)
        p[v] /= kept;
}

/* The exponential race argmax_v w(v)/(-log u_v) over one position's weights. */
static size_t race(const tdiff__run *r, const double *w, uint32_t pos)
{
    double best = -1.0;
    size_t best_v = 0;
    for (size_t v = 0; v < r->s->n_vocab; v++) {
        if (w[v] <= 0.0)
            continue;
        double score = w[v] / -log(tdiff__rng_uniform_double(r->seed, (uint32_t)r->step, pos, (uint32_t)v));
        if (score > best) {
            best = score;
            best_v = v;
        }
    }
    return best_v;
}

/* p(x_0) at one position: the prepared row (bans, SUBS), softmax, nucleus. */
static tdiff_status p_x0(tdiff__run *r, const float *logits, uint32_t pos, double *p)
{
    tdiff_status st = tdiff__row_prepare(r, logits, pos, p);
    if (st)
        return st;
    tdiff__softmax64(p, r->s->n_vocab);
    nucleus(r, p, tdiff__sp_float(r->s, TDIFF_SAMPLER_TOP_P));
    return TDIFF_OK;
}

/* After a step: the block complete? Then EOS ends the run, or the next block starts. */
static bool advance(tdiff__run *r, bd3_state *b)
{
    const tdiff_sampler *s = r->s;
    while (b->lo < r->n && tdiff__collect_masked(r, b->lo, b->hi) == 0) {
        if (s->eos_id >= 0 && b->hi >= b->last_fixed)
            for (size_t i = b->lo; i < b->hi; i++)
                if (r->x[i] == s->eos_id && !r->fixed[i]) {
                    for (size_t j = b->hi; j < r->n; j++)
                        r->x[j] = s->eos_id;
                    b->lo = b->hi = r->n;
                    return true;
                }
        b->lo = b->hi;
        b->hi = b->lo + b->B < r->n ? b->lo + b->B : r->n;
        b->i = 0;
        b->t = 1.0;
    }
    return b->lo >= r->n;
}

static tdiff_status ddpm_step(tdiff__run *r, bd3_state *b, size_t na)
{
    tdiff_sampler *s = r->s;
    const size_t V = s->n_vocab;
    const double t = b->T > 1 ? 1.0 - (double)b->i / (double)(b->T - 1) : 1.0;
    const double sv = t - 1.0 / (double)b->T;
    const double keep_masked = t > 0.0 && sv > 0.0 ? sv / t : 0.0; /* s/t: the chance a mask stays */
    const float *logits;
    tdiff__eval_req q = {.pos = r->pos, .na = na, .reuse = true, .span_lo = b->lo, .span_hi = b->hi,
                         .t = (float)fmin(-log1p(-t), BD3_SIGMA_MAX)};
    tdiff_status st = tdiff__evaluate(r, &q, &logits);
    if (st)
        return st;
    tdiff__clear_confidence(r);
    for (size_t j = 0; j < na; j++) {
        double *p = r->row2;
        if ((st = p_x0(r, logits + j * V, r->pos[j], p)))
            return st;
        for (size_t v = 0; v < V; v++)
            p[v] *= 1.0 - keep_masked;
        p[s->mask_id] = keep_masked;
        size_t pick = race(r, p, r->pos[j]);
        r->cand[j] = (int32_t)pick;
        r->conf_out[r->pos[j]] = (float)p[pick];
    }
    for (size_t j = 0; j < na; j++)
        if (r->cand[j] != s->mask_id)
            r->x[r->pos[j]] = r->cand[j];
    b->i++;
    return TDIFF_OK;
}

static tdiff_status first_hitting_step(tdiff__run *r, bd3_state *b, size_t na)
{
    double u = tdiff__rng_uniform_double(r->seed, (uint32_t)r->step, TDIFF__POS_GLOBAL, 0);
    size_t k = (size_t)(u * (double)na);
    if (k >= na) /* u < 1 always; kept against rounding */
        k = na - 1;
    const uint32_t pos = r->pos[k];
    b->t *= pow(tdiff__rng_uniform_double(r->seed, (uint32_t)r->step, TDIFF__POS_GLOBAL, 1), 1.0 / (double)na);
    const float *logits;
    tdiff__eval_req q = {.pos = &pos, .na = 1, .span_lo = b->lo, .span_hi = b->hi,
                         .t = (float)fmin(-log1p(-b->t), BD3_SIGMA_MAX)};
    tdiff_status st = tdiff__evaluate(r, &q, &logits);
    if (st)
        return st;
    double *p = r->row2;
    if ((st = p_x0(r, logits, pos, p)))
        return st;
    size_t pick = race(r, p, pos);
    tdiff__clear_confidence(r);
    r->conf_out[pos] = (float)p[pick];
    r->x[pos] = (int32_t)pick;
    return TDIFF_OK;
}

static tdiff_status bd3_step(tdiff__run *r, void *state, bool *stepped, bool *done)
{
    bd3_state *b = state;
    *stepped = false;
    *done = advance(r, b);
    if (*done)
        return TDIFF_OK;
    const size_t na = tdiff__collect_masked(r, b->lo, b->hi);
    tdiff_status st = b->first_hitting ? first_hitting_step(r, b, na) : ddpm_step(r, b, na);
    if (st)
        return st;
    *stepped = true;
    *done = advance(r, b);
    return TDIFF_OK;
}

enum { BD3_CAPS = TDIFF__CAP_CALLBACK | TDIFF__CAP_BLOCKS | TDIFF__CAP_CACHE };
const tdiff__strategy tdiff__strategy_bd3 = {TDIFF_STRATEGY_BD3, "bd3",    BD3_CAPS, sizeof(bd3_state),
                                             bd3_begin,          bd3_step, NULL};
const tdiff__strategy tdiff__strategy_bd3_first_hitting = {
    TDIFF_STRATEGY_BD3_FIRST_HITTING, "bd3_first_hitting", BD3_CAPS, sizeof(bd3_state), bd3_begin, bd3_step, NULL};
