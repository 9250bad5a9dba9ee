/*
 * predict.c -- per-position prediction pieces in float64: softmax, arg-max,
 * sorting, top-k / top-p filters, inverse-CDF sampling and the confidence
 * measures. Scalar on purpose (see sampler.h): same bits on every ISA and in
 * the Python reference. Sums run sequentially, left to right.
 */
#include <math.h>

#include "sampler.h"

bool tdiff__row_prepare(const tdiff_sampler *s, const float *logits, double *row)
{
    for (size_t v = 0; v < s->n_vocab; v++) {
        float l = logits[v];
        if (isnan(l) || l == INFINITY)
            return false;
        row[v] = s->banned[v] ? -INFINITY : (double)l;
    }
    return true;
}

double tdiff__softmax_sum(const double *row, size_t n, double *max)
{
    double mx = -INFINITY;
    for (size_t i = 0; i < n; i++)
        if (row[i] > mx)
            mx = row[i];
    *max = mx;
    if (mx == -INFINITY)
        return 0.0;
    double sum = 0.0; /* the same accumulation as tdiff__softmax64 */
    for (size_t i = 0; i < n; i++)
        sum += row[i] == -INFINITY ? 0.0 : exp(row[i] - mx);
    return sum;
}

void tdiff__softmax64(double *row, size_t n)
{
    double mx = -INFINITY;
    for (size_t i = 0; i < n; i++)
        if (row[i] > mx)
            mx = row[i];
    if (mx == -INFINITY) { /* nothing allowed (every token banned): all zero */
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

/* The k-th largest value (1-based k <= n) by partial selection over a sorted copy. */
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

size_t tdiff__sample_probs(const double *p, size_t n, double u)
{
    /* Inverse CDF, sequential sum; u in (0,1). Rounding may leave u above the
     * final sum: then the last token with non-zero probability is taken. */
    double acc = 0.0;
    size_t last = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] <= 0.0)
            continue;
        acc += p[i];
        last = i;
        if (u < acc)
            return i;
    }
    return last;
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
