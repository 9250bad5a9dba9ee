/*
 * sampler.h -- the internal contract of the sampler module.
 *
 * The module is layered; each file calls only the layers below its own:
 *
 *   handle.c, params.c   the public handle: creation, attachments, parameters
 *   generation.c         a generation's life: begin, step, result, cancel, the
 *                        one-call generate/infill, the after-step hook
 *   strategy.c           the strategy table {id, name, begin, step, finish, caps}
 *   masked.c maskgit.c mask_predict.c mdlm.c d3pm.c sedd.c first_hitting.c
 *   embedding.c ar.c bd3.c spindle.c   the strategies, each an explicit state machine
 *   eval.c               THE evaluation seam: every network call of every strategy
 *   net.c                the network behind it: the built-in denoiser or callbacks
 *   kvcache.c            the KV-cache policy behind the network: which positions
 *                        a forward recomputes (none, prefix, dual, delayed, exact)
 *   predict.c select.c graph.c   decision math shared by the strategies
 *   params.c guard.c     the bottom: the parameter table; which calls are
 *                        allowed when (re-entry from the callback, setters idle)
 *
 * A strategy never calls back up: it runs one step when generation.c asks and
 * says whether more are needed; generation.c runs the after-step hook (history,
 * statistics, the caller's step callback). There are no coroutines: the state
 * of a generation between steps is plain data (tdiff__run + the strategy's
 * state struct), so a generation can be stepped, read, cancelled or freed at
 * any step boundary, on any thread the caller moves it to.
 *
 * Dimension legend: V vocabulary size, n canvas length, A the positions a step
 * asks the network about (the "active" positions, ascending).
 *
 * Decision math (softmax, Gumbel, confidences) is scalar float64 on purpose: it
 * is a small share of the time (A x V per step), it is bit-identical on every
 * ISA, and the Python reference (tests/unit/sampler/reference.py) reproduces it
 * token for token.
 */
#ifndef TDIFF_SAMPLER_H
#define TDIFF_SAMPLER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

/* ---- random draws: (seed, step, position, draw) -------------------------
 * step = the run's global step index (0-based, counting across blocks, skipped
 * steps included). Per-vocabulary draws (Gumbel noise, exponential races) use
 * draw = v. Per-position draws use draw = TDIFF__DRAW_* (above any vocabulary
 * id). Draws not tied to one position use position = TDIFF__POS_GLOBAL. */
#define TDIFF__DRAW_RANDOM_CONF 0x80000000u  /* uniform: `random` remasking confidence */
#define TDIFF__DRAW_SAMPLE 0x80000001u       /* uniform: inverse-CDF token sample */
#define TDIFF__DRAW_REVEAL 0x80000002u       /* uniform: Dream `origin` reveal test */
#define TDIFF__DRAW_CHOICE 0x80000003u       /* Gumbel: MaskGIT annealed choice noise */
#define TDIFF__DRAW_INIT 0x80000004u         /* uniform: uniform-graph prior token (step 0) */
#define TDIFF__POS_GLOBAL 0xFFFFFFFFu

/* ---- the network (net.c) ---------------------------------------------------- */

/* One forward call as the evaluation seam hands it to the network. */
typedef struct tdiff__net_call {
    const int32_t *tokens;      /* [n] the canvas                                   */
    size_t n;
    float t;                    /* the strategy's time value (docs/sampling.md)     */
    const uint32_t *positions;  /* [n_positions] rows wanted, ascending             */
    size_t n_positions;
    /* Vector inputs, built-in network only (NULL: token embeddings everywhere):
     * soft-mask mixtures in CSR form, or embedding rows for the embedding strategy. */
    const size_t *mix_offsets;  /* [n + 1] */
    const int32_t *mix_ids;
    const float *mix_weights;
    const float *embd;          /* [n, d] */
    const uint8_t *embd_rows;   /* [n] 1 = row of embd replaces the token embedding */
    /* Positions whose input differs from the previous call of the same pass
     * (cond / uncond), ascending; all of them on the first call (`first`). What
     * the KV cache behind the network needs to know (kvcache.c). */
    const uint32_t *changed;
    size_t n_changed;
    bool first;                 /* the first call of this pass in the generation    */
    int pass;                   /* 0 conditional, 1 unconditional (CFG)             */
    /* The block the strategy works on, [span_lo, span_hi); span_hi = 0: none. */
    size_t span_lo, span_hi;
    const uint8_t *fixed;       /* [n] 1 = caller-fixed (prompt, infill context)    */
    size_t block_start;         /* the generated region's start: where a block-causal
                                   model's blocks begin (TDIFF_DENOISER_BLOCK_START) */
    const uint32_t *span;       /* [n] span groups (planned; built-in network only), or NULL */
    float *logits;              /* out: [n_positions, V]                            */
} tdiff__net_call;

/* The KV-cache policy's state (kvcache.c): one cache per pass, created with the
 * denoiser and freed before it. */
typedef struct tdiff__kv_policy {
    struct tdiff__kv_cache *kv[2];
    size_t lo[2];               /* the block start at the last full recompute       */
    size_t since[2];            /* forwards since the last full recompute           */
    uint32_t *compute;          /* [cap] scratch: positions a forward recomputes    */
    size_t cap;
} tdiff__kv_policy;

typedef struct tdiff__net {
    /* the caller's network (create_with_callback) */
    int (*cb_logits)(void *, const int32_t *, size_t, float, const uint32_t *, size_t, float *);
    void *cb_user_data;
    void (*cb_destroy)(void *);
    /* the built-in network (create from a model): the denoiser is created at the
     * first generation, sized for its canvas, and kept for later ones */
    const tdiff_model *model;
    tdiff_denoiser *denoiser;
    size_t denoiser_len;
    int denoiser_threads;
    tdiff__kv_policy kv;
} tdiff__net;

/* True when the network's rows depend only on earlier positions (the built-in
 * denoiser with causal attention): a forward over a prefix gives the same rows. */
bool tdiff__net_causal(const tdiff_sampler *s);
/* Makes sure the network accepts a canvas of n tokens with `threads` threads. */
tdiff_status tdiff__net_prepare(tdiff_sampler *s, size_t n, int threads);
/* One forward call. Errors carry a message in s->env. */
tdiff_status tdiff__net_forward(tdiff_sampler *s, const tdiff__net_call *c);
/* Hidden-state width of the built-in network (0 for callbacks). */
size_t tdiff__net_n_embd(const tdiff_sampler *s);
/* Input embedding row of token v (built-in network only). */
tdiff_status tdiff__net_token_embedding(const tdiff_sampler *s, int32_t v, float *out);
/* The model's context length (0: unknown, e.g. callbacks). */
size_t tdiff__net_context_length(const tdiff_sampler *s);
void tdiff__net_free(tdiff__net *net, const tdiff__env *env);

/* ---- the KV-cache policy (kvcache.c) --------------------------------------- */

struct tdiff__forward_args;
/* Sets the cache fields of a forward of the built-in network (nothing when
 * TDIFF_SAMPLER_CACHE is none): which cache, which positions to recompute.
 * Errors (no memory for a cache) carry a message in s->env. */
tdiff_status tdiff__kv_prepare(tdiff_sampler *s, const tdiff__net_call *c, struct tdiff__forward_args *a);
/* Statistics of the forward just run (rows computed, cache hits). */
void tdiff__kv_account(tdiff_sampler *s, const tdiff__net_call *c, const struct tdiff__forward_args *a);
/* Frees the caches (before their denoiser) and the scratch (from env). */
void tdiff__kv_free(tdiff__net *net, const tdiff__env *env);

/* ---- the handle ------------------------------------------------------------- */

/* Parameter storage: every value lives as a double or an int64 in one table. */
#define TDIFF__SAMPLER_N_PARAMS 38

struct tdiff_sampler {
    tdiff__env env;
    tdiff__net net;
    tdiff_transition *transition;   /* borrowed; D3PM and SEDD */
    tdiff_scheduler *scheduler;     /* borrowed; SEDD */
    tdiff_softmask *softmask;       /* borrowed; soft-masked inputs (built-in network) */
    size_t n_vocab;
    int32_t mask_id, eos_id;
    /* An autoregressive model (llama, qwen2): it has no mask token. mask_id is
     * then only the placeholder of the canvas positions not generated yet (EOS,
     * or 0 without one): a token like any other, never banned, allowed in
     * prompts; only strategies with TDIFF__CAP_NO_MASK run, and no infilling. */
    bool no_mask;
    int64_t ival[TDIFF__SAMPLER_N_PARAMS];
    double fval[TDIFF__SAMPLER_N_PARAMS];
    uint8_t *banned;                /* [V] caller bans (tdiff_sampler_set_banned); the mask is not in it */
    size_t n_banned;
    tdiff_step_fn step_fn;
    void *step_ud;
    /* results of the last generation */
    int32_t *history;               /* [history_steps, history_n] */
    size_t history_steps, history_n, history_cap;
    bool has_history;
    int64_t stat_forward, stat_steps, stat_reused, stat_rows, stat_hits;
    double stat_forward_s, stat_total_s;
    /* the generation in progress (generation.c); NULL when idle */
    struct tdiff__gen *gen;
    /* re-entry: > 0 while the step callback runs; free requested from inside it */
    int in_callback;
    bool free_pending;
    atomic_int interrupt;           /* tdiff_sampler_interrupt: set from any thread */
};

/* Index of a parameter in ival/fval, or -1 when unknown. */
int tdiff__sampler_param_index(int param);
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
/* True when token v may be produced: not banned by the caller, and not the mask
 * unless SUBS is off (TDIFF_SAMPLER_SUBS = 0). */
static inline bool tdiff__allowed(const tdiff_sampler *s, size_t v)
{
    if ((int32_t)v == s->mask_id && !s->no_mask)
        return tdiff__sp_int(s, TDIFF_SAMPLER_SUBS) == 0;
    return !s->banned[v];
}
/* Refuses a call made from inside the step callback (TDIFF_E_STATE). */
tdiff_status tdiff__sampler_check_reentry(tdiff_sampler *s, const char *call);
/* Refuses a call while a generation is begun (TDIFF_E_STATE), and from the callback. */
tdiff_status tdiff__sampler_check_idle(tdiff_sampler *s, const char *call);

/* ---- the evaluation seam (eval.c) ----------------------------------------- */

/* What a strategy asks of one evaluation. */
typedef struct tdiff__eval_req {
    const uint32_t *pos;      /* [na] rows wanted (ascending canvas positions) */
    size_t na;
    float t;                  /* the strategy's time value for the network */
    bool reuse;               /* may return the previous rows when nothing the network reads changed */
    /* The block the strategy works on, [span_lo, span_hi) (span_hi = 0: none).
     * Block strategies name it; the KV cache (behind the seam) needs it. */
    size_t span_lo, span_hi;
    size_t n_prefix;          /* > 0: the network sees x[0..n_prefix) only (a causal network, every
                                 pos < n_prefix); 0: the whole canvas */
    const float *embd;        /* embedding strategy: [n, d] input vectors ... */
    const uint8_t *embd_rows; /* ... used at these positions */
    const uint32_t *span;     /* [n] span groups: TDIFF_ATTENTION_SPANS (planned), NULL: the model's mask */
} tdiff__eval_req;

/* The evaluation state of one generation. */
typedef struct tdiff__eval {
    float *logits;            /* [rows, V] the rows of the last evaluation        */
    float *ulogits;           /* [rows, V] unconditional pass (CFG), or NULL      */
    int32_t *ux;              /* [n] unconditional canvas (CFG), or NULL          */
    size_t rows;              /* capacity in rows                                 */
    /* what the network saw last, per pass (dirty tracking, reuse) */
    int32_t *seen[2];         /* [n] */
    size_t seen_n[2];         /* positions of seen[pass] the network saw (a prefix evaluation sees fewer) */
    bool have_seen[2];
    uint32_t *changed;        /* [n] scratch */
    uint32_t *prev_pos;       /* [n] the positions of the rows now in logits */
    size_t prev_na;           /* 0: no previous evaluation */
    float prev_t;
    /* soft masking: CSR lists per pass, built from the previous rows */
    size_t *sm_offsets;       /* [2][n + 1] */
    int32_t *sm_ids;          /* [2][sm_cap] */
    float *sm_weights;        /* [2][sm_cap] */
    size_t sm_cap;
} tdiff__eval;

struct tdiff__run;
tdiff_status tdiff__eval_init(struct tdiff__run *r, size_t rows);
void tdiff__eval_free(struct tdiff__run *r);
/*
 * THE network evaluation: logits predicting the tokens at q->pos of the canvas
 * r->x, with soft-mask inputs and classifier-free guidance applied, forward
 * passes counted and timed, the interrupt flag honoured, errors wrapped with a
 * message. *out points at [na, V] rows owned by the evaluation state, valid
 * until the next evaluation; strategies read them and never write them (soft
 * masking feeds them back into the next evaluation).
 */
tdiff_status tdiff__evaluate(struct tdiff__run *r, const tdiff__eval_req *q, const float **out);

/* ---- one generation ----------------------------------------------------------- */

typedef struct tdiff__strategy tdiff__strategy;

/* The state a strategy works on; buffers come from the sampler's env. */
typedef struct tdiff__run {
    tdiff_sampler *s;
    int32_t *x;            /* [n] the canvas */
    size_t n;
    uint8_t *fixed;        /* [n] 1 = caller-fixed (prompt, infill context) */
    size_t region_start;   /* first position of the generated region (blocks tile [region_start, n)) */
    uint32_t *pos;         /* [n] scratch: active positions */
    double *row, *row2, *row3; /* [V] scratch rows */
    uint32_t *order;       /* [max(V, n)] scratch for sorting */
    uint32_t *order_tmp;   /* [max(V, n)] */
    int32_t *cand;         /* [n] predicted token per active slot */
    double *conf;          /* [n] confidence per active slot */
    float *conf_out;       /* [n] per-position confidence for the step callback (NaN: none) */
    uint32_t *sel;         /* [n] scratch: selection */
    double *aux;           /* [n] scratch */
    size_t step;           /* the RNG's step (global step index, skipped steps included) */
    size_t frontier;       /* no-mask models (ar): positions >= frontier, not fixed, are not generated yet */
    size_t n_steps;        /* planned steps (adaptive strategies: an upper bound) */
    uint64_t seed;
    bool llamacpp;         /* compat mode */
    tdiff__eval ev;
} tdiff__run;

/* ---- strategies (strategy.c holds the table) -------------------------------- */

enum {
    TDIFF__CAP_SOFTMASK = 1u << 0,   /* leaves the evaluation's rows intact: soft-mask inputs work */
    TDIFF__CAP_CALLBACK = 1u << 1,   /* works over a caller's network (needs no embeddings) */
    TDIFF__CAP_CFG = 1u << 2,        /* classifier-free guidance */
    TDIFF__CAP_ORIGIN = 1u << 3,     /* remasking `origin` (Dream's rule) */
    TDIFF__CAP_REMASKING = 1u << 4,  /* reads TDIFF_SAMPLER_REMASKING */
    TDIFF__CAP_BLOCKS = 1u << 5,     /* reads TDIFF_SAMPLER_BLOCK_LENGTH */
    TDIFF__CAP_TRANSITION = 1u << 6, /* needs tdiff_sampler_set_transition */
    TDIFF__CAP_SCHEDULER = 1u << 7,  /* needs tdiff_sampler_set_scheduler */
    TDIFF__CAP_COMPAT = 1u << 8,     /* TDIFF_COMPAT_LLAMACPP applies */
    TDIFF__CAP_ORIGIN_COMPAT = 1u << 9, /* remasking `origin` under compat llamacpp (its ORIGIN algorithm) */
    TDIFF__CAP_NO_SUBS = 1u << 10,   /* TDIFF_SAMPLER_SUBS = 0 (the mask a valid prediction): a fixed step
                                        count, so a committed mask cannot make it loop */
    TDIFF__CAP_CACHE = 1u << 11,     /* names its block in every evaluation (span): the KV cache applies */
    TDIFF__CAP_EARLY_STOP = 1u << 12, /* a committed token never changes: early stop applies */
    TDIFF__CAP_NO_MASK = 1u << 13    /* runs on a model without a mask token (autoregressive) */
};

struct tdiff__strategy {
    int id;
    const char *name;
    unsigned caps;
    size_t state_size;     /* bytes of the strategy's state, zeroed before begin */
    /* Validates what only this strategy knows, lays out its plan, allocates its
     * scratch (through s->env), sets r->n_steps. *done when nothing is to do. */
    tdiff_status (*begin)(tdiff__run *r, void *state, bool *done);
    /* Runs exactly one step (*stepped = 1: the canvas may have changed and the
     * after-step hook runs) and says whether another is needed (*done). A call
     * that finds nothing left to do returns *stepped = 0, *done = 1. */
    tdiff_status (*step)(tdiff__run *r, void *state, bool *stepped, bool *done);
    /* Frees what begin allocated; called once for every successful begin. */
    void (*finish)(tdiff__run *r, void *state);
};

/* The table entry of a strategy id, or NULL. */
const tdiff__strategy *tdiff__strategy_find(int id);
/* Checks the sampler's settings against the chosen strategy's capabilities:
 * every combination either runs or is refused here with a message. */
tdiff_status tdiff__strategy_check(tdiff_sampler *s, const tdiff__strategy *st);

extern const tdiff__strategy tdiff__strategy_llada, tdiff__strategy_dream, tdiff__strategy_threshold,
    tdiff__strategy_factor, tdiff__strategy_maskgit, tdiff__strategy_mask_predict, tdiff__strategy_mdlm,
    tdiff__strategy_mdlm_cache, tdiff__strategy_d3pm, tdiff__strategy_first_hitting, tdiff__strategy_sedd_euler,
    tdiff__strategy_sedd_analytic, tdiff__strategy_embedding, tdiff__strategy_ar, tdiff__strategy_bd3,
    tdiff__strategy_bd3_first_hitting, tdiff__strategy_spindle, tdiff__strategy_planned;

/* ar.c: decides position p from its logits row the way the ar strategy does and
 * writes the token and its confidence (planned.c decodes its plan with it). */
tdiff_status tdiff__ar_decide(tdiff__run *r, const float *logits, size_t p, int32_t *tok);

/* DiffusionBERT's posterior of one masked position (spindle.c): post[0..V) =
 * q(x_{t−1} | x_t = mask, p̃) for p0 = p̃(x_0 | x_t) (probabilities), the
 * position's spindle keep probability k of time t−1 and the base one-step β_t:
 * ∝ k·p0[v]·β_t for v ≠ mask_id, 1 − k·(1 − p0[mask_id]) for the mask; normalised. */
void tdiff__spindle_posterior(const double *p0, size_t V, int32_t mask_id, double keep, double beta, double *post);

/* ---- planned diffusion's control tags (plan.c) ---------------------------- */

/* Spans one round can hold, whatever the setting (reason: a plan is a short
 * list; this bounds the strategy's state without an allocation per round). */
#define TDIFF__PLAN_MAX_SPANS 256

/* The tag token ids (`tdiff.planned.*`; -1 = none). */
typedef struct tdiff__plan_tags {
    int32_t promise_open, promise_close, async_open, async_close, sync;
    int32_t digit[10];
} tdiff__plan_tags;

typedef struct tdiff__plan_limits {
    size_t max_spans;    /* entries kept, <= TDIFF__PLAN_MAX_SPANS */
    size_t max_len;      /* a longer length is this (>= 1) */
    size_t default_len;  /* an entry without a length */
    double scale;        /* lengths are multiplied by it (> 0) */
} tdiff__plan_limits;

/* What a plan said and which fallbacks it needed (docs/sampling.md). */
enum {
    TDIFF__PLAN_UNCLOSED = 1u << 0,  /* an entry without </promise> */
    TDIFF__PLAN_NO_LENGTH = 1u << 1, /* an entry without digits: default length */
    TDIFF__PLAN_ZERO = 1u << 2,      /* an entry of length 0: dropped */
    TDIFF__PLAN_CLAMPED = 1u << 3,   /* a length above the maximum */
    TDIFF__PLAN_TOO_MANY = 1u << 4,  /* entries beyond max_spans: dropped */
    TDIFF__PLAN_STRAY = 1u << 5      /* a </promise> outside an entry: text */
};
typedef struct tdiff__plan {
    size_t n;                           /* spans */
    uint32_t len[TDIFF__PLAN_MAX_SPANS]; /* their lengths, each in [1, max_len] */
    unsigned flags;
} tdiff__plan;

/* Reads the entries of tok[0..n) (any ids, any order). Never fails. */
void tdiff__plan_parse(const tdiff__plan_tags *t, const tdiff__plan_limits *lim, const int32_t *tok, size_t n,
                       tdiff__plan *p);

/* ---- prediction pieces (predict.c) ---------------------------------------- */

/* Copies the logits row of position pos to double, -inf at tokens that may not
 * be produced. Fails with a message when the row holds NaN or +inf (a broken
 * network) or when no allowed token has a finite logit (nothing can be produced). */
tdiff_status tdiff__row_prepare(tdiff__run *r, const float *logits, uint32_t pos, double *row);
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
/* Confidence of choosing tok from probabilities p[0..n): p[tok] (low_confidence;
 * random is handled by the caller), sorted top1-top2 (margin), sum p log(p+1e-10)
 * (entropy). */
double tdiff__confidence(int remasking, const double *p, size_t n, int32_t tok);

enum {
    TDIFF__PRED_LLADA = 1,   /* optional filters, Gumbel arg-max in float64, confidence from softmax */
    TDIFF__PRED_DREAM = 2,   /* temperature -> top-p -> top-k -> softmax -> sample (T > 0) or arg-max */
    TDIFF__PRED_LLAMACPP = 3 /* top-k -> top-p -> temperature -> softmax -> sample (always) */
};
/* Predicts the token at canvas position pos from its logits row and its
 * confidence under `remask` (RANDOM: a uniform draw); EOS gets -inf when
 * EOS_CONFIDENCE_INF is set. Draws are keyed by (seed, r->step, pos, .).
 * Fails (with a message) on a logits row that allows no token. */
tdiff_status tdiff__predict(tdiff__run *r, int style, int remask, const float *logits, uint32_t pos, int32_t *tok,
                            double *conf);
/* A row that cannot be used: the error every strategy returns for it. */
tdiff_status tdiff__bad_row(tdiff__run *r, uint32_t pos);
/* Masked, non-fixed positions of [lo, hi) into r->pos (ascending); returns the count. */
size_t tdiff__collect_masked(tdiff__run *r, size_t lo, size_t hi);
/* Fraction of the generated region still masked. */
float tdiff__masked_fraction(const tdiff__run *r);
/* Sets every per-position confidence to NaN (the start of a step's report). */
void tdiff__clear_confidence(tdiff__run *r);

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

/* ---- graph-based samplers (graph.c): D3PM and SEDD ------------------------- */

/* r->pos[0..*na) = the region's masked positions; *absorbing tells the
 * transition's kind; for a uniform graph each of them gets a uniform allowed
 * token (the prior), drawn at (seed, 0, pos, DRAW_INIT). */
tdiff_status tdiff__graph_prior(tdiff__run *r, size_t *na, bool *absorbing);
/* Draws a token from the weights w[0..V) restricted to allowed tokens (the mask
 * also allowed when keep_mask: in the absorbing graph it is a state). Fails with
 * a message when no allowed token has weight. */
tdiff_status tdiff__graph_sample(tdiff__run *r, const float *w, uint32_t pos, bool keep_mask, int32_t *tok);

#endif
