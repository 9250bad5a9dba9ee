/*
 * masked.c -- the confidence-ordered masked-diffusion samplers that share one
 * loop: LLaDA (Nie et al. 2025, generate.py), Dream (Ye et al. 2025,
 * generation_utils.py), Fast-dLLM's threshold and factor rules (Wu et al.
 * 2025), and llama-diffusion-cli's semantics (compat mode).
 *
 * One step: the masked positions of the current block are the active set A (in
 * ascending position order); the network gives logits at A; each active
 * position predicts a token and a confidence; the step commits the positions
 * its rule selects. Fixed positions never change. A step whose transfer count
 * is zero changes nothing and is skipped without a network call (the RNG is
 * keyed by the step number, so skipping changes no other draw).
 */
#include <math.h>

#include "core/rng.h"
#include "sampler.h"

/* llama.cpp's top-k: exactly the k best survive (ties: lower id first). */
static void llamacpp_top_k(double *row, size_t V, size_t k, uint32_t *order, uint32_t *tmp)
{
    if (k == 0 || k >= V)
        return;
    tdiff__sort_desc(row, V, order, tmp);
    for (size_t i = k; i < V; i++)
        row[order[i]] = -INFINITY;
}

/* llama.cpp's top-p: sorted, keep up to and including the first entry where the
 * cumulative probability reaches p. */
static void llamacpp_top_p(double *row, size_t V, double p, double *scratch, uint32_t *order, uint32_t *tmp)
{
    if (!(p < 1.0))
        return;
    tdiff__sort_desc(row, V, order, tmp);
    for (size_t i = 0; i < V; i++)
        scratch[i] = row[order[i]];
    tdiff__softmax64(scratch, V);
    double cum = 0.0;
    size_t keep = V;
    for (size_t i = 0; i < V; i++) {
        cum += scratch[i];
        if (cum >= p) {
            keep = i + 1;
            break;
        }
    }
    for (size_t i = keep; i < V; i++)
        row[order[i]] = -INFINITY;
}

/* Predicts a token and its confidence for canvas position `pos` from its logits.
 * Returns false for a non-finite logit row. */
bool tdiff__predict(tdiff__run *r, int style, int remask, const float *logits, uint32_t pos, int32_t *tok,
                    double *conf)
{
    tdiff_sampler *s = r->s;
    const size_t V = s->n_vocab;
    const double T = tdiff__sp_float(s, TDIFF_SAMPLER_TEMPERATURE);
    const size_t top_k = (size_t)tdiff__sp_int(s, TDIFF_SAMPLER_TOP_K);
    const double top_p = tdiff__sp_float(s, TDIFF_SAMPLER_TOP_P);
    const uint32_t step = (uint32_t)r->step;
    double *row = r->row, *p = r->row2;
    if (!tdiff__row_prepare(s, logits, row))
        return false;
    /* The full distribution is materialised only when something reads it
     * (sampling, margin, entropy); otherwise p(x0) = exp(l_x0 - max) / sum costs
     * the same exps but no stores or divides -- same bits as softmax64's p[x0]. */
    const bool samples = style == TDIFF__PRED_LLAMACPP || (style == TDIFF__PRED_DREAM && T > 0.0);
    const bool need_p = samples || remask == TDIFF_REMASK_TOPK_MARGIN || remask == TDIFF_REMASK_ENTROPY;
    size_t x0;
    if (style == TDIFF__PRED_LLADA) {
        /* Optional filters (off by default, LLaDA has none), then Gumbel arg-max:
         * exp(l) / (-log u)^T in float64, as generate.py's add_gumbel_noise. */
        tdiff__top_k64(row, V, top_k, r->order, r->order_tmp);
        tdiff__top_p64(row, V, top_p, r->row3, r->order, r->order_tmp);
        if (T > 0.0) {
            for (size_t v = 0; v < V; v++) {
                double u = tdiff__rng_uniform_double(r->seed, step, pos, (uint32_t)v);
                p[v] = exp(row[v]) / pow(-log(u), T);
            }
            x0 = tdiff__argmax64(p, V);
        } else {
            x0 = tdiff__argmax64(row, V);
        }
    } else {
        if (style == TDIFF__PRED_DREAM) {
            if (T > 0.0)
                for (size_t v = 0; v < V; v++)
                    row[v] /= T;
            tdiff__top_p64(row, V, top_p, r->row3, r->order, r->order_tmp);
            tdiff__top_k64(row, V, top_k, r->order, r->order_tmp);
        } else {
            llamacpp_top_k(row, V, top_k, r->order, r->order_tmp);
            llamacpp_top_p(row, V, top_p, r->row3, r->order, r->order_tmp);
            if (T > 0.0)
                for (size_t v = 0; v < V; v++)
                    row[v] /= T;
        }
        x0 = tdiff__argmax64(row, V); /* = arg-max of softmax(row): exp keeps the order of distinct floats */
    }
    if (need_p) {
        for (size_t v = 0; v < V; v++)
            p[v] = row[v];
        tdiff__softmax64(p, V);
        if (samples)
            x0 = tdiff__sample_probs(p, V, tdiff__rng_uniform_double(r->seed, step, pos, TDIFF__DRAW_SAMPLE));
    }
    *tok = (int32_t)x0;
    if (remask == TDIFF_REMASK_RANDOM) {
        *conf = tdiff__rng_uniform_double(r->seed, step, pos, TDIFF__DRAW_RANDOM_CONF);
    } else if (need_p) {
        *conf = tdiff__confidence(remask, p, V, *tok);
    } else {
        double mx, sum = tdiff__softmax_sum(row, V, &mx);
        *conf = mx == -INFINITY ? 0.0 : exp(row[x0] - mx) / sum;
    }
    if (tdiff__sp_int(s, TDIFF_SAMPLER_EOS_CONFIDENCE_INF) && *tok == s->eos_id)
        *conf = -INFINITY;
    return true;
}

/* Masked positions of [lo, hi) into r->pos; returns their count. */
size_t tdiff__collect_masked(tdiff__run *r, size_t lo, size_t hi)
{
    size_t na = 0;
    for (size_t i = lo; i < hi; i++)
        if (r->x[i] == r->s->mask_id && !r->fixed[i])
            r->pos[na++] = (uint32_t)i;
    return na;
}

/* Fraction of the generated region still masked (the t handed to the network). */
float tdiff__masked_fraction(const tdiff__run *r)
{
    size_t m = 0;
    for (size_t i = r->region_start; i < r->n; i++)
        m += r->x[i] == r->s->mask_id && !r->fixed[i];
    return (float)((double)m / (double)(r->n - r->region_start));
}

/* llama-diffusion-cli's timestep count, float32 as it computes it. */
static size_t llamacpp_timestep_count(size_t step, size_t steps, size_t n_masked, float eps)
{
    float t = 1.0f - (float)step / (float)steps * (1.0f - eps);
    float s = 1.0f - (float)(step + 1) / (float)steps * (1.0f - eps);
    float p_transfer = step < steps - 1 ? 1.0f - s / t : 1.0f;
    return (size_t)(int32_t)((float)n_masked * p_transfer);
}

/* One step over the active set r->pos[0..na): predict, select, commit. */
static tdiff_status masked_step(tdiff__run *r, int style, size_t na, size_t k, double p_reveal)
{
    tdiff_sampler *s = r->s;
    const int strategy = (int)tdiff__sp_int(s, TDIFF_SAMPLER_STRATEGY);
    const int remask = (int)tdiff__sp_int(s, TDIFF_SAMPLER_REMASKING);
    const double alg_temp = tdiff__sp_float(s, TDIFF_SAMPLER_ALG_TEMP);
    tdiff_status st = tdiff__run_logits(r, na, tdiff__masked_fraction(r));
    if (st)
        return st;
    for (size_t i = 0; i < r->n; i++)
        r->conf_out[i] = NAN;
    for (size_t j = 0; j < na; j++) {
        if (!tdiff__predict(r, style, remask, r->logits + j * s->n_vocab, r->pos[j], &r->cand[j], &r->conf[j]))
            return tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT,
                               "the denoiser returned a non-finite logit at position %u, step %zu",
                               (unsigned)r->pos[j], r->step);
        r->conf_out[r->pos[j]] = (float)r->conf[j];
    }
    size_t m;
    if (remask == TDIFF_REMASK_ORIGIN) {
        m = 0;
        for (size_t j = 0; j < na; j++)
            if (tdiff__rng_uniform_double(r->seed, (uint32_t)r->step, r->pos[j], TDIFF__DRAW_REVEAL) < p_reveal)
                r->sel[m++] = (uint32_t)j;
    } else if (strategy == TDIFF_STRATEGY_THRESHOLD) {
        m = tdiff__select_threshold(r->conf, na, tdiff__sp_float(s, TDIFF_SAMPLER_THRESHOLD), r->sel, r->order_tmp);
    } else if (strategy == TDIFF_STRATEGY_FACTOR) {
        m = tdiff__select_factor(r->conf, na, tdiff__sp_float(s, TDIFF_SAMPLER_FACTOR), r->sel, r->order_tmp);
    } else if (alg_temp > 0.0) {
        m = tdiff__select_sampled(r->conf, na, k, alg_temp, r->seed, (uint32_t)r->step, r->aux, r->sel);
    } else {
        m = tdiff__select_topk(r->conf, na, k, r->sel, r->order_tmp);
    }
    for (size_t j = 0; j < m; j++)
        r->x[r->pos[r->sel[j]]] = r->cand[r->sel[j]];
    return tdiff__run_after_step(r);
}

tdiff_status tdiff__strategy_masked(tdiff__run *r)
{
    tdiff_sampler *s = r->s;
    const int strategy = (int)tdiff__sp_int(s, TDIFF_SAMPLER_STRATEGY);
    const int remask = (int)tdiff__sp_int(s, TDIFF_SAMPLER_REMASKING);
    const size_t steps = (size_t)tdiff__sp_int(s, TDIFF_SAMPLER_STEPS);
    const double eps = tdiff__sp_float(s, TDIFF_SAMPLER_EPS);
    const bool adaptive = strategy == TDIFF_STRATEGY_THRESHOLD || strategy == TDIFF_STRATEGY_FACTOR;
    const size_t region = r->n - r->region_start;
    size_t B = (size_t)tdiff__sp_int(s, TDIFF_SAMPLER_BLOCK_LENGTH);
    int style = r->llamacpp                      ? TDIFF__PRED_LLAMACPP
                       : strategy == TDIFF_STRATEGY_DREAM ? TDIFF__PRED_DREAM
                                                          : TDIFF__PRED_LLADA;
    if (remask == TDIFF_REMASK_ORIGIN && (adaptive || strategy == TDIFF_STRATEGY_LLADA) && !r->llamacpp)
        return tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT, "remasking `origin` belongs to the dream strategy");

    /* Block layout. llama.cpp: blocks = canvas / B (asserted exact), starting at
     * the region; B = 0 there means its timestep (eps) schedule over everything. */
    bool timestep = r->llamacpp ? B == 0 : strategy == TDIFF_STRATEGY_DREAM;
    size_t n_blocks;
    if (B == 0 || B > region) {
        B = region;
        n_blocks = 1;
    } else if (r->llamacpp) {
        if (r->n % B)
            return tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT,
                               "compat llamacpp: canvas %zu is not a multiple of the block length %zu", r->n, B);
        n_blocks = r->n / B;
    } else {
        n_blocks = (region + B - 1) / B; /* the last block may be short (infilling) */
    }
    size_t spb = steps;
    if (!adaptive) {
        if (steps % n_blocks)
            return tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT, "steps %zu is not a multiple of the %zu blocks",
                               steps, n_blocks);
        spb = steps / n_blocks;
    }
    size_t *counts = NULL;
    if (!adaptive && !timestep) {
        counts = tdiff__calloc(&s->env, spb, sizeof *counts);
        if (!counts)
            return tdiff__fail(&s->env, TDIFF_E_OUT_OF_MEMORY, "transfer counts: out of memory");
    }
    r->n_steps = adaptive ? tdiff__collect_masked(r, r->region_start, r->n) : steps;
    float *ts = NULL; /* Dream's float32 timesteps for `origin` */
    tdiff_status st = TDIFF_OK;
    if (remask == TDIFF_REMASK_ORIGIN && !r->llamacpp) {
        ts = tdiff__calloc(&s->env, spb + 1, sizeof *ts);
        if (!ts)
            st = tdiff__fail(&s->env, TDIFF_E_OUT_OF_MEMORY, "timesteps: out of memory");
        else if ((st = tdiff_transfer_dream_timesteps(spb, eps, ts, spb + 1, NULL)))
            st = tdiff__fail(&s->env, st, "dream timesteps failed");
    }
    for (size_t b = 0; b < n_blocks && !st; b++) {
        size_t lo = r->region_start + b * B < r->n ? r->region_start + b * B : r->n;
        size_t hi = lo + B < r->n ? lo + B : r->n;
        size_t m0 = tdiff__collect_masked(r, lo, hi);
        if (counts && m0 && (st = tdiff_transfer_llada(m0, spb, counts, spb, NULL))) {
            st = tdiff__fail(&s->env, st, "llada transfer counts failed");
            break;
        }
        for (size_t i = 0; !st; i++) {
            if (!adaptive && i >= spb)
                break;
            size_t na = tdiff__collect_masked(r, lo, hi);
            if (na == 0) {
                if (adaptive)
                    break;
                r->step++;
                continue;
            }
            size_t k = 0;
            double p_reveal = 0.0;
            if (remask == TDIFF_REMASK_ORIGIN) {
                if (r->llamacpp) { /* llama.cpp: reveal with probability count / masked */
                    size_t c = timestep ? llamacpp_timestep_count(i, spb, na, (float)eps) : counts[i];
                    p_reveal = (double)((float)c / (float)na);
                } else {
                    float p_t = i < spb - 1 ? 1.0f - ts[i + 1] / ts[i] : 1.0f;
                    p_reveal = (double)p_t;
                }
                k = 1;
            } else if (adaptive) {
                k = na;
            } else if (!timestep) {
                k = counts[i];
            } else if (r->llamacpp) {
                k = llamacpp_timestep_count(i, spb, na, (float)eps);
            } else if ((st = tdiff_transfer_dream(na, i, spb, eps, &k))) {
                st = tdiff__fail(&s->env, st, "dream transfer count failed");
                break;
            }
            if (k > 0)
                st = masked_step(r, style, na, k, p_reveal);
            r->step++;
        }
    }
    tdiff__free(&s->env, counts);
    tdiff__free(&s->env, ts);
    return st;
}
