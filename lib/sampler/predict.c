/*
 * predict.c -- per-position prediction in float64: preparing a logits row
 * (bans, the SUBS rule, broken rows refused), softmax, arg-max, sorting, top-k /
 * top-p filters, confidence measures, and the three prediction chains (LLaDA,
 * Dream, llama-diffusion-cli). Scalar on purpose (see sampler.h): same bits on
 * every ISA and in the Python reference. Sums run sequentially, left to right;
 * every exponential is taken after subtracting the row's maximum.
 */
#include <math.h>

#include "core/rng.h"
#include "sampler.h"

tdiff_status tdiff__row_prepare(tdiff__run *r, const float *logits, uint32_t pos, double *row)
{
    const tdiff_sampler *s = r->s;
    bool any = false;
    for (size_t v = 0; v < s->n_vocab; v++) {
        float l = logits[v];
        if (isnan(l) || l == INFINITY)
            return tdiff__fail(&r->s->env, TDIFF_E_INVALID_ARGUMENT,
                               "the denoiser returned %s for token %zu at position %u (step %zu)",
                               isnan(l) ? "NaN" : "+inf", v, (unsigned)pos, r->step);
        row[v] = tdiff__allowed(s, v) ? (double)l : -INFINITY;
        any |= row[v] > -INFINITY;
    }
    if (!any)
        return tdiff__fail(&r->s->env, TDIFF_E_INVALID_ARGUMENT,
                           "no token may be produced at position %u (step %zu): every allowed token's logit is -inf",
                           (unsigned)pos, r->step);
    return TDIFF_OK;
}

void tdiff__softmax64(double *row, size_t n)
{
    double mx = -INFINITY;
    for (size_t i = 0; i < n; i++)
        if (row[i] > mx)
            mx = row[i];
    if (mx == -INFINITY) { /* nothing allowed: all zero (callers refuse such rows first) */
        for (size_t i = 0; i < n; i++)
            row[i] = 0.0;
        return;
    }
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        row[i] = row[i] == -INFINITY ? 0.0 : exp(row[i] - mx);
        sum += row[i];
    }
    for (size_t i = 0; i < n; i++)
        row[i] /= sum;
}

size_t tdiff__argmax64(const double *row, size_t n)
{
    size_t best = 0;
    for (size_t i = 1; i < n; i++)
        if (row[i] > row[best])
            best = i;
    return best;
}

void tdiff__sort_desc(const double *row, size_t n, uint32_t *order, uint32_t *tmp)
{
    /* Bottom-up merge sort of indices: O(n log n), stable, so ties keep the
     * lower index first. */
    for (size_t i = 0; i < n; i++)
        order[i] = (uint32_t)i;
    for (size_t width = 1; width < n; width *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * width) {
            size_t mid = lo + width < n ? lo + width : n;
            size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
            size_t a = lo, b = mid, k = lo;
            while (a < mid && b < hi)
                tmp[k++] = row[order[b]] > row[order[a]] ? order[b++] : order[a++];
            while (a < mid)
                tmp[k++] = order[a++];
            while (b < hi)
                tmp[k++] = order[b++];
        }
        for (size_t i = 0; i < n; i++)
            order[i] = tmp[i];
    }
}

void tdiff__top_k64(double *row, size_t n, size_t k, uint32_t *order, uint32_t *tmp)
{
    if (k == 0 || k >= n)
        return;
    tdiff__sort_desc(row, n, order, tmp);
    double kth = row[order[k - 1]];
    for (size_t i = 0; i < n; i++)
        if (row[i] < kth) /* torch: logits < topk(...)[-1]; ties with the k-th stay */
            row[i] = -INFINITY;
}

void tdiff__top_p64(double *row, size_t n, double p, double *scratch, uint32_t *order, uint32_t *tmp)
{
    if (!(p < 1.0))
        return;
    /* Dream / HF form: sorted descending, cumulative softmax; drop an entry when
     * the cumulative probability BEFORE it already exceeds p (the first entry
     * that crosses p is kept). */
    tdiff__sort_desc(row, n, order, tmp);
    for (size_t i = 0; i < n; i++)
        scratch[i] = row[order[i]];
    tdiff__softmax64(scratch, n);
    double cum = 0.0;
    for (size_t i = 0; i < n; i++) {
        bool drop = i > 0 && cum > p;
        cum += scratch[i];
        if (drop)
            row[order[i]] = -INFINITY;
    }
}

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

double tdiff__confidence(int remasking, const double *p, size_t n, int32_t tok)
{
    switch (remasking) {
    case TDIFF_REMASK_TOPK_MARGIN: {
        /* top1 - top2 of the SORTED probabilities (llama.cpp reads an unsorted list) */
        double a = -1.0, b = -1.0;
        for (size_t i = 0; i < n; i++) {
            if (p[i] > a) {
                b = a;
                a = p[i];
            } else if (p[i] > b) {
                b = p[i];
            }
        }
        return n > 1 ? a - b : a;
    }
    case TDIFF_REMASK_ENTROPY: {
        /* Dream: sum p log(p + 1e-10), the NEGATIVE entropy, so higher = more
         * certain (llama.cpp returns the entropy itself: an inverted criterion). */
        double acc = 0.0;
        for (size_t i = 0; i < n; i++)
            acc += p[i] * log(p[i] + 1e-10);
        return acc;
    }
    default:
        return p[tok];
    }
}

/* p(x) = exp(row[x] - max) / sum exp(row - max) without storing the distribution:
 * the same bits as tdiff__softmax64's entry x. */
static double probability_of(const double *row, size_t n, size_t x)
{
    double mx = -INFINITY;
    for (size_t i = 0; i < n; i++)
        if (row[i] > mx)
            mx = row[i];
    double sum = 0.0;
    for (size_t i = 0; i < n; i++)
        sum += row[i] == -INFINITY ? 0.0 : exp(row[i] - mx);
    return exp(row[x] - mx) / sum;
}

tdiff_status tdiff__bad_row(tdiff__run *r, uint32_t pos)
{
    return tdiff__fail(&r->s->env, TDIFF_E_INVALID_ARGUMENT,
                       "no token can be drawn at position %u (step %zu): every allowed token has probability 0",
                       (unsigned)pos, r->step);
}

tdiff_status tdiff__predict(tdiff__run *r, int style, int remask, const float *logits, uint32_t pos, int32_t *tok,
                            double *conf)
{
    tdiff_sampler *s = r->s;
    const size_t V = s->n_vocab;
    const double T = tdiff__sp_float(s, TDIFF_SAMPLER_TEMPERATURE);
    const size_t top_k = (size_t)tdiff__sp_int(s, TDIFF_SAMPLER_TOP_K);
    const double top_p = tdiff__sp_float(s, TDIFF_SAMPLER_TOP_P);
    const uint32_t step = (uint32_t)r->step;
    double *row = r->row, *p = r->row2;
    tdiff_status st = tdiff__row_prepare(r, logits, pos, row);
    if (st)
        return st;
    /* The full distribution is materialised only when something reads it
     * (sampling, margin, entropy). */
    const bool samples = style == TDIFF__PRED_LLAMACPP || (style == TDIFF__PRED_DREAM && T > 0.0);
    const bool need_p = samples || remask == TDIFF_REMASK_TOPK_MARGIN || remask == TDIFF_REMASK_ENTROPY;
    size_t x0;
    if (style == TDIFF__PRED_LLADA) {
        /* Optional filters (off by default, LLaDA has none), then Gumbel arg-max.
         * LLaDA computes exp(l) / (-log u)^T, which overflows for large logits;
         * its arg-max is that of l - T log(-log u), computed here in log space. */
        tdiff__top_k64(row, V, top_k, r->order, r->order_tmp);
        tdiff__top_p64(row, V, top_p, r->row3, r->order, r->order_tmp);
        if (T > 0.0) {
            for (size_t v = 0; v < V; v++) {
                double u = tdiff__rng_uniform_double(r->seed, step, pos, (uint32_t)v);
                p[v] = row[v] == -INFINITY ? -INFINITY : row[v] - T * log(-log(u));
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
        if (samples) {
            x0 = tdiff__rng_categorical(p, V, tdiff__rng_uniform_double(r->seed, step, pos, TDIFF__DRAW_SAMPLE));
            if (x0 == V)
                return tdiff__bad_row(r, pos);
        }
    }
    *tok = (int32_t)x0;
    if (remask == TDIFF_REMASK_RANDOM)
        *conf = tdiff__rng_uniform_double(r->seed, step, pos, TDIFF__DRAW_RANDOM_CONF);
    else if (need_p)
        *conf = tdiff__confidence(remask, p, V, *tok);
    else
        *conf = probability_of(row, V, x0);
    if (tdiff__sp_int(s, TDIFF_SAMPLER_EOS_CONFIDENCE_INF) && *tok == s->eos_id)
        *conf = -INFINITY;
    return TDIFF_OK;
}

size_t tdiff__collect_masked(tdiff__run *r, size_t lo, size_t hi)
{
    size_t na = 0;
    for (size_t i = lo; i < hi; i++)
        if (r->x[i] == r->s->mask_id && !r->fixed[i])
            r->pos[na++] = (uint32_t)i;
    return na;
}

float tdiff__masked_fraction(const tdiff__run *r)
{
    size_t m = 0;
    for (size_t i = r->region_start; i < r->n; i++)
        m += r->x[i] == r->s->mask_id && !r->fixed[i];
    return (float)((double)m / (double)(r->n - r->region_start));
}

void tdiff__clear_confidence(tdiff__run *r)
{
    for (size_t i = 0; i < r->n; i++)
        r->conf_out[i] = NAN;
}
