/*
 * eval_metrics.c -- distinct-n, repeated-n-gram rate, BLEU-4 and self-BLEU on
 * token ids (definitions: eval_metrics.h, docs/evaluation.md). Samples are short
 * (hundreds of tokens), so n-grams are compared directly: O(len² · n) per sample,
 * no hashing, nothing to get wrong.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval_metrics.h"

#define BLEU_EPS 0.1 /* NLTK method1's epsilon: a zero clipped count counts as 0.1 */

static int same(const int32_t *a, const int32_t *b, size_t order)
{
    return !memcmp(a, b, order * sizeof *a);
}

/* Occurrences of the gram g (order tokens) in x[0..n). */
static size_t count_in(const int32_t *g, size_t order, const int32_t *x, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i + order <= n; i++)
        c += same(g, x + i, order);
    return c;
}

void eval_ngrams_add(eval_ngrams *acc, const int32_t *x, size_t n)
{
    for (size_t k = 0; k < EVAL_MAX_ORDER; k++) {
        size_t order = k + 1;
        for (size_t i = 0; i + order <= n; i++) {
            acc->total[k]++;
            acc->unique[k] += count_in(x + i, order, x, i + order - 1) == 0; /* not seen at j < i */
        }
    }
}

double eval_distinct(const eval_ngrams *acc, int order)
{
    if (order < 1 || order > EVAL_MAX_ORDER || !acc->total[order - 1])
        return NAN;
    return (double)acc->unique[order - 1] / (double)acc->total[order - 1];
}

double eval_repeat_rate(const eval_ngrams *acc, int order)
{
    return 1.0 - eval_distinct(acc, order);
}

double eval_bleu4(const int32_t *hyp, size_t nh, const int32_t *const *refs, const size_t *ref_len, size_t n_refs)
{
    if (nh < EVAL_MAX_ORDER || n_refs == 0)
        return NAN;
    double log_p = 0.0;
    for (size_t order = 1; order <= EVAL_MAX_ORDER; order++) {
        size_t den = nh - order + 1, num = 0;
        for (size_t i = 0; i < den; i++) {
            const int32_t *g = hyp + i;
            if (count_in(g, order, hyp, i + order - 1)) /* each distinct gram once */
                continue;
            size_t c = count_in(g, order, hyp, nh), mx = 0;
            for (size_t r = 0; r < n_refs; r++) {
                size_t cr = count_in(g, order, refs[r], ref_len[r]);
                mx = cr > mx ? cr : mx;
            }
            num += c < mx ? c : mx;
        }
        if (order == 1 && num == 0)
            return 0.0; /* no token in common: 0, as NLTK's sentence_bleu (before smoothing) */
        log_p += log(num ? (double)num / (double)den : BLEU_EPS / (double)den) / EVAL_MAX_ORDER;
    }
    size_t r = ref_len[0];
    for (size_t k = 1; k < n_refs; k++) {
        size_t d = ref_len[k] > nh ? ref_len[k] - nh : nh - ref_len[k];
        size_t dr = r > nh ? r - nh : nh - r;
        if (d < dr || (d == dr && ref_len[k] < r))
            r = ref_len[k];
    }
    double bp = nh > r ? 1.0 : exp(1.0 - (double)r / (double)nh);
    return bp * exp(log_p);
}

double eval_self_bleu(const int32_t *const *samples, const size_t *len, size_t n)
{
    if (n < 2)
        return NAN;
    const int32_t **refs = malloc((n - 1) * sizeof *refs);
    size_t *rl = malloc((n - 1) * sizeof *rl);
    if (!refs || !rl) {
        free(refs);
        free(rl);
        return -1.0;
    }
    double sum = 0.0;
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        if (len[i] < EVAL_MAX_ORDER)
            continue;
        for (size_t j = 0, k = 0; j < n; j++)
            if (j != i) {
                refs[k] = samples[j];
                rl[k++] = len[j];
            }
        sum += eval_bleu4(samples[i], len[i], refs, rl, n - 1);
        used++;
    }
    free(refs);
    free(rl);
    return used ? sum / (double)used : NAN;
}
