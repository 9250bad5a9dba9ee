/*
 * sampler.h -- the internal contract of the sampler module: the handle, the
 * logits source it drives, the random-draw layout, and the pieces each strategy
 * is built from (prediction, confidence, selection).
 *
 * Dimension legend: V vocabulary size, n canvas length, A the positions a step
 * asks the network about (the "active" masked positions).
 *
 * Decision math (softmax, Gumbel, confidences) is scalar float64 on purpose: it
 * is a small share of the time (A x V per step, A <= block length for LLaDA),
 * it is bit-identical on every ISA, and the Python reference
 * (tests/unit/sampler/reference.py) reproduces it exactly, token for token.
 */
#ifndef TDIFF_SAMPLER_H
#define TDIFF_SAMPLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

/* ---- random draws: (seed, step, position, draw) -------------------------
 * step = the global step index of the run (0-based, counting across blocks).
 * Per-vocabulary draws (Gumbel noise, exponential races) use draw = v.
 * Per-position draws use draw = TDIFF__DRAW_* (above any vocabulary id).
 * Draws that are not tied to one position (alg_temp choice of positions) use
 * position = TDIFF__POS_GLOBAL and draw = the pick index. */
#define TDIFF__DRAW_RANDOM_CONF 0x80000000u  /* uniform: `random` remasking confidence */
#define TDIFF__DRAW_SAMPLE 0x80000001u       /* uniform: inverse-CDF token sample */
#define TDIFF__DRAW_REVEAL 0x80000002u       /* uniform: Dream `origin` reveal test */
#define TDIFF__DRAW_CHOICE 0x80000003u       /* Gumbel: MaskGIT annealed choice noise */
#define TDIFF__DRAW_INIT 0x80000004u         /* uniform: D3PM uniform prior token (step 0) */
#define TDIFF__POS_GLOBAL 0xFFFFFFFFu

/* Where logits come from: the built-in denoiser or the caller's callbacks.
 * Writes logits [n_positions, V] predicting the token at each position. */
typedef int (*tdiff__logits_fn)(void *ctx, const int32_t *tokens, size_t n, float t, const uint32_t *positions,
                                size_t n_positions, float *logits);

/* Parameter storage: every value lives as a double or an int64 in one table. */
#define TDIFF__SAMPLER_N_PARAMS 27

struct tdiff_sampler {
    tdiff__env env;
    /* the network */
    tdiff__logits_fn logits_fn;
    void *logits_ctx;
    void (*destroy)(void *);        /* callback mode: the user's destroy */
    const tdiff_model *model;       /* built-in mode */
    tdiff_denoiser *denoiser;       /* built-in mode: created on first use */
    tdiff_transition *transition;   /* borrowed; D3PM and SEDD */
    tdiff_scheduler *scheduler;     /* borrowed; SEDD */
    tdiff_softmask *softmask;       /* borrowed; soft-masked inputs (built-in mode) */
    size_t denoiser_len;            /* max_len it was created with */
    int denoiser_threads;
    size_t n_vocab;
    int32_t mask_id, eos_id;
    /* parameters */
    int64_t ival[TDIFF__SAMPLER_N_PARAMS];
    double fval[TDIFF__SAMPLER_N_PARAMS];
    /* controls */
    uint8_t *banned;                /* [V] 1 = never produce; the mask token is always 1 */
    tdiff_step_fn step_fn;
    void *step_ud;
    /* results of the last run */
    int32_t *history;               /* [history_steps, history_n] */
    size_t history_steps, history_n, history_cap;
    bool has_history;
    int64_t stat_forward, stat_steps;
    double stat_forward_s, stat_total_s;
    /* the generation in progress (incremental.c); NULL when idle */
    struct tdiff__gen *gen;
};

/* Index of a parameter in ival/fval, or -1 when unknown. */
int tdiff__sampler_param_index(int param);
/* 1 for integer parameters, 0 for real ones; -1 unknown. */
int tdiff__sampler_param_is_int(int param);
/* Puts every parameter at its default. */
void tdiff__sampler_defaults(tdiff_sampler *s);

static inline int64_t tdiff__sp_int(const tdiff_sampler *s, int param)
{
    return s->ival[tdiff__sampler_param_index(param)];
}
static inline double tdiff__sp_float(const tdiff_sampler *s, int param)
{
    return s->fval[tdiff__sampler_param_index(param)];
}

/* ---- one run ------------------------------------------------------------ */

/* The state of one generate/infill call. Buffers come from the sampler's env. */
typedef struct tdiff__run {
    tdiff_sampler *s;
    int32_t *x;            /* [n] the canvas */
    size_t n;
    uint8_t *fixed;        /* [n] 1 = caller-fixed (prompt, infill context) */
    size_t region_start;   /* first position of the generated region (blocks tile [region_start, n)) */
    uint32_t *pos;         /* [n] scratch: active positions */
    float *logits;         /* [rows, V] network output for the active positions (rows = masks at the start) */
    float *ulogits;        /* [rows, V] unconditional pass (CFG), or NULL */
    int32_t *ux;           /* [n] unconditional canvas (CFG), or NULL */
    double *row;           /* [V] scratch */
    double *row2;          /* [V] scratch */
    double *row3;          /* [V] scratch */
    uint32_t *order;       /* [max(V, n)] scratch for sorting */
    uint32_t *order_tmp;   /* [max(V, n)] scratch for sorting */
    int32_t *cand;         /* [n] predicted token per active slot */
    double *conf;          /* [n] confidence per active slot */
    float *conf_out;       /* [n] per-position confidence for the step callback */
    uint32_t *sel;         /* [n] scratch: selection */
    double *aux;           /* [n] strategy scratch (e.g. probabilities kept across steps) */
    size_t step;           /* global step counter (the RNG's step) */
    size_t n_steps;        /* planned steps (for the callback; adaptive strategies: an upper bound) */
    uint64_t seed;
    bool llamacpp;         /* compat mode */
    /* soft masking (softmask.c); all NULL when the sampler has no soft-mask handle */
    size_t *sm_offsets;    /* [2][n + 1] CSR offsets: conditional, unconditional (CFG) */
    int32_t *sm_ids;       /* [2][sm_cap] */
    float *sm_weights;     /* [2][sm_cap] */
    size_t sm_cap;         /* entries per list set: n * (1 + k) */
    uint32_t *sm_prev_pos; /* [n] the positions of the rows now in logits */
    size_t sm_prev_na;     /* rows of logits that belong to the previous evaluation; 0 = none */
} tdiff__run;

/* Runs the strategy chosen in s on r (canvas prepared). */
tdiff_status tdiff__sampler_run(tdiff__run *r);

/* Evaluates the network at positions pos[0..na) of the canvas (CFG included) into r->logits.
 * t: fraction of the region still masked. Counts the forward passes and their time. */
tdiff_status tdiff__run_logits(tdiff__run *r, size_t na, float t);

/* Called after each step: history, callback (abort -> TDIFF_E_ABORTED), and
 * marks the step complete for the incremental caller. */
tdiff_status tdiff__run_after_step(tdiff__run *r);

/* ---- incremental generation (incremental.c) -------------------------------- */

/* Counts a completed step (from tdiff__run_after_step). */
void tdiff__gen_step_done(tdiff__run *r);
/* The yield point, at the start of every network evaluation: when a step has
 * completed since the last suspension and the run is advanced step by step,
 * suspends it until the next advance. Returns TDIFF_E_ABORTED when it was
 * cancelled meanwhile, so the strategy unwinds through its normal error path. */
tdiff_status tdiff__gen_yield(tdiff__run *r);
/* True while a generation is begun (setters refuse then). */
static inline bool tdiff__sampler_busy(const tdiff_sampler *s)
{
    return s->gen != NULL;
}
/* Abandons a generation in progress, if any (tdiff_sampler_free). */
void tdiff__gen_discard(tdiff_sampler *s);

/* ---- prediction pieces (predict.c) ---------------------------------------- */

/* Copies a logits row to double, -inf at banned tokens (the mask included).
 * False when the row holds NaN or +inf (a broken network). */
bool tdiff__row_prepare(const tdiff_sampler *s, const float *logits, double *row);
/* The softmax denominator sum exp(row - max) exactly as tdiff__softmax64 accumulates
 * it; *max gets the maximum (-inf: all entries -inf, sum 0). */
double tdiff__softmax_sum(const double *row, size_t n, double *max);
/* In place softmax in float64 (max subtracted, sequential sum); -inf -> 0. */
void tdiff__softmax64(double *row, size_t n);
/* Index of the largest value (lowest index on ties). */
size_t tdiff__argmax64(const double *row, size_t n);
/* order[0..n) = indices sorted by row descending, ties by lower index (tmp: n scratch). */
void tdiff__sort_desc(const double *row, size_t n, uint32_t *order, uint32_t *tmp);
/* Keeps the k largest logits (every value equal to the k-th stays, as torch's
 * `logits < kth` test), others -> -inf. k = 0 or k >= n: no-op. */
void tdiff__top_k64(double *row, size_t n, size_t k, uint32_t *order, uint32_t *tmp);
/* Nucleus filter on logits, Dream/HF form: sorted descending, an entry is dropped
 * when the cumulative probability before it exceeds p. p >= 1: no-op. */
void tdiff__top_p64(double *row, size_t n, double p, double *scratch, uint32_t *order, uint32_t *tmp);
/* Inverse-CDF sample from probabilities with a uniform u in (0,1). */
size_t tdiff__sample_probs(const double *p, size_t n, double u);
/* Confidence of choosing tok from probabilities p[0..n): p[tok] (low_confidence,
 * random is handled by the caller), sorted top1-top2 (margin), sum p log(p+1e-10) (entropy). */
double tdiff__confidence(int remasking, const double *p, size_t n, int32_t tok);

/* ---- selection (select.c) -------------------------------------------------- */

/* Slots are indices into the active set, which is in ascending position order,
 * so "ties to the lower slot" means ties to the lowest position. Each function
 * writes the chosen slots to sel (capacity na) and returns how many; tmp is na
 * scratch. */

/* The k slots with the highest conf (ties: lower slot first); min(k, na) of them. */
size_t tdiff__select_topk(const double *conf, size_t na, size_t k, uint32_t *sel, uint32_t *tmp);
/* Dream alg_temp: k slots drawn one by one without replacement from
 * softmax(conf / alg_temp), pick j using u = uniform(seed, step, POS_GLOBAL, j).
 * Slots with zero weight are taken last, lowest first. w: na doubles of scratch. */
size_t tdiff__select_sampled(const double *conf, size_t na, size_t k, double alg_temp, uint64_t seed,
                             uint32_t step, double *w, uint32_t *sel);
/* Fast-dLLM threshold: the best slot plus every slot with conf >= threshold. */
size_t tdiff__select_threshold(const double *conf, size_t na, double threshold, uint32_t *sel, uint32_t *tmp);
/* Fast-dLLM factor: sorted descending, accept index j (0-based) while
 * conf >= 1 - factor/(j+2); the first always. */
size_t tdiff__select_factor(const double *conf, size_t na, double factor, uint32_t *sel, uint32_t *tmp);

/* ---- prediction (masked.c) ------------------------------------------------ */
enum {
    TDIFF__PRED_LLADA = 1,   /* optional filters, Gumbel arg-max in float64, confidence from softmax */
    TDIFF__PRED_DREAM = 2,   /* temperature -> top-p -> top-k -> softmax -> sample (T > 0) or arg-max */
    TDIFF__PRED_LLAMACPP = 3 /* top-k -> top-p -> temperature -> softmax -> sample (always) */
};
/* Predicts the token at canvas position pos from its logits row and its
 * confidence under `remask` (RANDOM: a uniform draw); EOS gets -inf when
 * EOS_CONFIDENCE_INF is set. Draws are keyed by (seed, r->step, pos, .).
 * False for a non-finite logit row. */
bool tdiff__predict(tdiff__run *r, int style, int remask, const float *logits, uint32_t pos, int32_t *tok,
                    double *conf);
/* Masked, non-fixed positions of [lo, hi) into r->pos (ascending); returns the count. */
size_t tdiff__collect_masked(tdiff__run *r, size_t lo, size_t hi);
/* Fraction of the generated region still masked. */
float tdiff__masked_fraction(const tdiff__run *r);

/* ---- strategies ------------------------------------------------------------ */
tdiff_status tdiff__strategy_masked(tdiff__run *r);       /* llada, dream, threshold, factor, compat */
tdiff_status tdiff__strategy_maskgit(tdiff__run *r);
tdiff_status tdiff__strategy_mask_predict(tdiff__run *r);
tdiff_status tdiff__strategy_mdlm(tdiff__run *r);
tdiff_status tdiff__strategy_d3pm(tdiff__run *r);
tdiff_status tdiff__strategy_first_hitting(tdiff__run *r);
tdiff_status tdiff__strategy_sedd(tdiff__run *r);
tdiff_status tdiff__strategy_embedding(tdiff__run *r); /* embedding.c */

/* Graph-based samplers (d3pm.c): r->pos[0..na) = the region's masked positions;
 * *absorbing tells the transition's kind; for a uniform graph each of them gets a
 * uniform allowed token (the prior), drawn at (seed, 0, pos, DRAW_INIT). */
tdiff_status tdiff__graph_prior(tdiff__run *r, size_t *na, bool *absorbing);
/* Inverse-CDF sample from float weights w[0..V) with banned ids zeroed, except
 * the mask when keep_mask (SEDD: staying masked is a state). */
size_t tdiff__sample_allowed(const tdiff_sampler *s, const float *w, double u, bool keep_mask);

/* ---- the built-in denoiser (model_denoiser.c) ---------------------------- */
/* Makes sure s->denoiser exists and accepts n tokens. */
tdiff_status tdiff__sampler_ensure_denoiser(tdiff_sampler *s, size_t n);

/* ---- soft masking (softmask.c) ---- */
/* Allocates the run's soft-mask lists when the sampler has a soft-mask handle. */
tdiff_status tdiff__run_softmask_alloc(tdiff__run *r);
void tdiff__run_softmask_free(tdiff__run *r);
/* Checks that the chosen strategy can take soft-masked inputs. */
tdiff_status tdiff__sampler_softmask_check(tdiff_sampler *s);
/* One network evaluation with soft-masked inputs (CFG included) into r->logits. */
tdiff_status tdiff__run_logits_softmask(tdiff__run *r, size_t na, float t);
int tdiff__sampler_model_logits(void *ctx, const int32_t *tokens, size_t n, float t, const uint32_t *positions,
                                size_t n_positions, float *logits);

#endif
