/*
 * masked.c -- the confidence-ordered masked-diffusion strategies that share one
 * state machine: LLaDA (Nie et al. 2025, generate.py), Dream (Ye et al. 2025,
 * generation_utils.py), Fast-dLLM's threshold and factor rules (Wu et al.
 * 2025), and llama-diffusion-cli's semantics (compat mode).
 *
 * Plan: the generated region is tiled by blocks; each block gets `steps per
 * block` steps (adaptive strategies: as many as it takes). One step: the masked
 * positions of the current block are the active set A (ascending); the network
 * gives logits at A; each active position predicts a token and a confidence;
 * the step commits the positions its rule selects. Fixed positions never change.
 * A step whose transfer count is zero changes nothing and is skipped without a
 * network call (the RNG is keyed by the step number, so skipping changes no
 * other draw). Each evaluation names the current block (span_lo/hi): the KV
 * cache behind the seam needs it, nothing here depends on it.
 */
#include <math.h>

#include "core/rng.h"
#include "sampler.h"

typedef struct masked_state {
    int strategy, style, remask;
    bool adaptive;         /* threshold, factor: steps until the block is filled */
    bool timestep;         /* Dream's eps timestep schedule (or llama.cpp's B = 0 form) */
    size_t B, n_blocks, spb;
    size_t *counts;        /* [spb] LLaDA transfer counts of the current block */
    float *ts;             /* [spb + 1] Dream's float32 timesteps (`origin`) */
    /* the cursor: block b, step i inside it */
    size_t b, i, lo, hi;
    bool in_block;
} masked_state;

/* llama-diffusion-cli's timestep count, float32 as it computes it. */
static size_t llamacpp_timestep_count(size_t step, size_t steps, size_t n_masked, float eps)
{
    float t = 1.0f - (float)step / (float)steps * (1.0f - eps);
    float s = 1.0f - (float)(step + 1) / (float)steps * (1.0f - eps);
    float p_transfer = step < steps - 1 ? 1.0f - s / t : 1.0f;
    return (size_t)(int32_t)((float)n_masked * p_transfer);
}

static tdiff_status masked_begin(tdiff__run *r, void *state, bool *done)
{
    masked_state *m = state;
    tdiff_sampler *s = r->s;
    const size_t steps = (size_t)tdiff__sp_int(s, TDIFF_SAMPLER_STEPS);
    const double eps = tdiff__sp_float(s, TDIFF_SAMPLER_EPS);
    const size_t region = r->n - r->region_start;
    m->strategy = (int)tdiff__sp_int(s, TDIFF_SAMPLER_STRATEGY);
    m->remask = (int)tdiff__sp_int(s, TDIFF_SAMPLER_REMASKING);
    m->adaptive = m->strategy == TDIFF_STRATEGY_THRESHOLD || m->strategy == TDIFF_STRATEGY_FACTOR;
    m->style = r->llamacpp ? TDIFF__PRED_LLAMACPP
               : m->strategy == TDIFF_STRATEGY_DREAM ? TDIFF__PRED_DREAM
                                                     : TDIFF__PRED_LLADA;
    size_t B = (size_t)tdiff__sp_int(s, TDIFF_SAMPLER_BLOCK_LENGTH);
    /* Block layout. llama.cpp: blocks = canvas / B (asserted exact), starting at
     * the region; B = 0 there means its timestep (eps) schedule over everything. */
    m->timestep = r->llamacpp ? B == 0 : m->strategy == TDIFF_STRATEGY_DREAM;
    if (B == 0 || B > region) {
        B = region;
        m->n_blocks = 1;
    } else if (r->llamacpp) {
        if (r->n % B)
            return tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT,
                               "compat llamacpp: canvas %zu is not a multiple of block_length %zu", r->n, B);
        m->n_blocks = r->n / B;
    } else {
        m->n_blocks = (region + B - 1) / B; /* the last block may be short (infilling) */
    }
    m->B = B;
    m->spb = steps;
    if (!m->adaptive) {
        if (steps % m->n_blocks)
            return tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT, "steps %zu is not a multiple of the %zu blocks",
                               steps, m->n_blocks);
        m->spb = steps / m->n_blocks;
    }
    if (!m->adaptive && !m->timestep) {
        m->counts = tdiff__calloc(&s->env, m->spb, sizeof *m->counts);
        if (!m->counts)
            return tdiff__fail(&s->env, TDIFF_E_OUT_OF_MEMORY, "transfer counts: out of memory");
    }
    if (m->remask == TDIFF_REMASK_ORIGIN && !r->llamacpp) {
        tdiff_status st;
        m->ts = tdiff__calloc(&s->env, m->spb + 1, sizeof *m->ts);
        if (!m->ts)
            return tdiff__fail(&s->env, TDIFF_E_OUT_OF_MEMORY, "timesteps: out of memory");
        if ((st = tdiff_transfer_dream_timesteps(m->spb, eps, m->ts, m->spb + 1, NULL)))
            return tdiff__fail(&s->env, st, "dream timesteps for %zu steps failed", m->spb);
    }
    r->n_steps = m->adaptive ? tdiff__collect_masked(r, r->region_start, r->n) : steps;
    *done = false;
    return TDIFF_OK;
}

static void masked_finish(tdiff__run *r, void *state)
{
    masked_state *m = state;
    tdiff__free(&r->s->env, m->counts);
    tdiff__free(&r->s->env, m->ts);
}

/* Tokens to commit at step i of the block from na masked ones, and the reveal
 * probability of `origin`. */
static tdiff_status transfer_count(tdiff__run *r, masked_state *m, size_t na, size_t *k, double *p_reveal)
{
    const double eps = tdiff__sp_float(r->s, TDIFF_SAMPLER_EPS);
    *p_reveal = 0.0;
    if (m->remask == TDIFF_REMASK_ORIGIN) {
        if (r->llamacpp) { /* llama.cpp: reveal with probability count / masked */
            size_t c = m->timestep ? llamacpp_timestep_count(m->i, m->spb, na, (float)eps) : m->counts[m->i];
            *p_reveal = (double)((float)c / (float)na);
        } else {
            float p_t = m->i < m->spb - 1 ? 1.0f - m->ts[m->i + 1] / m->ts[m->i] : 1.0f;
            *p_reveal = (double)p_t;
        }
        /* The last step of a block reveals what is left, as Dream's schedule does (llama.cpp's block
         * schedule reveals with probability count / masked there too, and can end with masks left). */
        if (m->i == m->spb - 1)
            *p_reveal = 1.0;
        *k = 1;
    } else if (m->adaptive) {
        *k = na;
    } else if (!m->timestep) {
        *k = m->counts[m->i];
    } else if (r->llamacpp) {
        *k = llamacpp_timestep_count(m->i, m->spb, na, (float)eps);
    } else {
        tdiff_status st = tdiff_transfer_dream(na, m->i, m->spb, eps, k);
        if (st)
            return tdiff__fail(&r->s->env, st, "dream transfer count failed");
    }
    return TDIFF_OK;
}

/* One step over the active set r->pos[0..na): predict, select, commit. */
static tdiff_status commit_step(tdiff__run *r, masked_state *m, size_t na, size_t k, double p_reveal)
{
    tdiff_sampler *s = r->s;
    const double alg_temp = tdiff__sp_float(s, TDIFF_SAMPLER_ALG_TEMP);
    const float *logits;
    tdiff__eval_req q = {.pos = r->pos, .na = na, .t = tdiff__masked_fraction(r), .span_lo = m->lo, .span_hi = m->hi};
    tdiff_status st = tdiff__evaluate(r, &q, &logits);
    if (st)
        return st;
    tdiff__clear_confidence(r);
    for (size_t j = 0; j < na; j++) {
        if ((st = tdiff__predict(r, m->style, m->remask, logits + j * s->n_vocab, r->pos[j], &r->cand[j],
                                 &r->conf[j])))
            return st;
        r->conf_out[r->pos[j]] = (float)r->conf[j];
    }
    size_t n_sel;
    if (m->remask == TDIFF_REMASK_ORIGIN) {
        n_sel = 0;
        for (size_t j = 0; j < na; j++)
            if (tdiff__rng_uniform_double(r->seed, (uint32_t)r->step, r->pos[j], TDIFF__DRAW_REVEAL) < p_reveal)
                r->sel[n_sel++] = (uint32_t)j;
    } else if (m->strategy == TDIFF_STRATEGY_THRESHOLD) {
        n_sel = tdiff__select_threshold(r->conf, na, tdiff__sp_float(s, TDIFF_SAMPLER_THRESHOLD), r->sel,
                                        r->order_tmp);
    } else if (m->strategy == TDIFF_STRATEGY_FACTOR) {
        n_sel = tdiff__select_factor(r->conf, na, tdiff__sp_float(s, TDIFF_SAMPLER_FACTOR), r->sel, r->order_tmp);
    } else if (alg_temp > 0.0) {
        n_sel = tdiff__select_sampled(r->conf, na, k, alg_temp, r->seed, (uint32_t)r->step, r->aux, r->sel);
    } else {
        n_sel = tdiff__select_topk(r->conf, na, k, r->sel, r->order_tmp);
    }
    for (size_t j = 0; j < n_sel; j++)
        r->x[r->pos[r->sel[j]]] = r->cand[r->sel[j]];
    return TDIFF_OK;
}

static tdiff_status masked_step(tdiff__run *r, void *state, bool *stepped, bool *done)
{
    masked_state *m = state;
    tdiff_sampler *s = r->s;
    *stepped = false;
    for (;;) {
        if (m->b >= m->n_blocks) {
            *done = true;
            return TDIFF_OK;
        }
        if (!m->in_block) { /* a new block: its span and its transfer counts */
            m->lo = r->region_start + m->b * m->B < r->n ? r->region_start + m->b * m->B : r->n;
            m->hi = m->lo + m->B < r->n ? m->lo + m->B : r->n;
            m->i = 0;
            m->in_block = true;
            size_t m0 = tdiff__collect_masked(r, m->lo, m->hi);
            tdiff_status st;
            if (m->counts && m0 && (st = tdiff_transfer_llada(m0, m->spb, m->counts, m->spb, NULL)))
                return tdiff__fail(&s->env, st, "llada transfer counts failed");
        }
        size_t na = tdiff__collect_masked(r, m->lo, m->hi);
        bool block_over = m->adaptive ? na == 0 : m->i >= m->spb;
        if (block_over) {
            m->b++;
            m->in_block = false;
            continue;
        }
        size_t k = 0;
        double p_reveal = 0.0;
        tdiff_status st = na ? transfer_count(r, m, na, &k, &p_reveal) : TDIFF_OK;
        if (st)
            return st;
        if (na == 0 || k == 0) { /* nothing to commit: skip the step, keep its RNG slot */
            r->step++;
            m->i++;
            continue;
        }
        if ((st = commit_step(r, m, na, k, p_reveal)))
            return st;
        m->i++;
        *stepped = true;
        /* Done when nothing is masked any more; with SUBS off a committed mask token
         * keeps a position masked, and a later call finds the plan exhausted. */
        *done = tdiff__collect_masked(r, r->region_start, r->n) == 0;
        return TDIFF_OK;
    }
}

#define MASKED_STRATEGY(ident, id_, name_, caps_)                                                                     \
    const tdiff__strategy ident = {id_, name_, caps_, sizeof(masked_state), masked_begin, masked_step, masked_finish}

enum {
    MASKED_CAPS = TDIFF__CAP_SOFTMASK | TDIFF__CAP_CALLBACK | TDIFF__CAP_CFG | TDIFF__CAP_REMASKING |
                  TDIFF__CAP_BLOCKS | TDIFF__CAP_COMPAT | TDIFF__CAP_CACHE | TDIFF__CAP_EARLY_STOP
};
MASKED_STRATEGY(tdiff__strategy_llada, TDIFF_STRATEGY_LLADA, "llada",
                MASKED_CAPS | TDIFF__CAP_ORIGIN_COMPAT | TDIFF__CAP_NO_SUBS);
MASKED_STRATEGY(tdiff__strategy_dream, TDIFF_STRATEGY_DREAM, "dream", MASKED_CAPS | TDIFF__CAP_ORIGIN | TDIFF__CAP_NO_SUBS);
MASKED_STRATEGY(tdiff__strategy_threshold, TDIFF_STRATEGY_THRESHOLD, "threshold", MASKED_CAPS);
MASKED_STRATEGY(tdiff__strategy_factor, TDIFF_STRATEGY_FACTOR, "factor", MASKED_CAPS);
