/* eval_metrics.h -- the sample-quality statistics of `textdiff eval` on token ids
 * (docs/evaluation.md): distinct-n, the repeated-n-gram rate and BLEU-4 /
 * self-BLEU. Pure functions of id arrays; no model, no allocation but BLEU's. */
#ifndef TEXTDIFF_EVAL_METRICS_H
#define TEXTDIFF_EVAL_METRICS_H

#include <stddef.h>
#include <stdint.h>

#define EVAL_MAX_ORDER 4

/* n-gram counts summed over samples, n-grams counted WITHIN each sample:
 * total[k] = (k+1)-grams, unique[k] = those that do not repeat an earlier
 * (k+1)-gram of the same sample. Zero-initialise, then add each sample. */
typedef struct eval_ngrams {
    size_t total[EVAL_MAX_ORDER], unique[EVAL_MAX_ORDER];
} eval_ngrams;

void eval_ngrams_add(eval_ngrams *acc, const int32_t *x, size_t n);
/* distinct-n = Σ unique / Σ total over the samples added (order 1..4); NaN when no
 * sample had n tokens. */
double eval_distinct(const eval_ngrams *acc, int order);
/* The fraction of n-grams that repeat an earlier n-gram of the same sample:
 * 1 − distinct-n (the same counts); NaN as above. */
double eval_repeat_rate(const eval_ngrams *acc, int order);

/* BLEU-4 of hyp[0..nh) against the references (Papineni et al.): clipped n-gram
 * precisions p_1..p_4 with uniform weights 1/4, a zero clipped count smoothed to
 * 0.1 / (hypothesis n-grams) (NLTK's SmoothingFunction().method1, epsilon 0.1), brevity
 * penalty exp(1 − r/c) when c ≤ r, r the reference length closest to c (ties: the
 * shorter); 0 when no unigram matches (NLTK returns 0 there before smoothing). NaN when nh < 4 or n_refs = 0; -1 when out of memory. */
double eval_bleu4(const int32_t *hyp, size_t nh, const int32_t *const *refs, const size_t *ref_len, size_t n_refs);

/* Self-BLEU of n samples: the mean over samples i of BLEU-4(sample i | the other
 * samples), samples shorter than 4 tokens skipped as hypotheses (still references).
 * NaN when fewer than 2 samples or no hypothesis qualifies; -1 when out of memory. */
double eval_self_bleu(const int32_t *const *samples, const size_t *len, size_t n);

#endif
