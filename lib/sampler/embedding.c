/*
 * embedding.c -- continuous embedding diffusion (Diffusion-LM, Li et al. 2022;
 * algorithms.md §6): the generated positions start as x_T ~ N(0, I) in the
 * model's input-embedding space; at each of T steps the network reads the
 * vectors (time t = k/T), x̂0 is the expected embedding under
 * softmax(logits/temperature) (E[argmax] at temperature 0), optionally clamped
 * to the nearest embedding row, and a DDPM posterior step (or DDIM, eta 0)
 * gives x_{k-1} on the discrete ᾱ of the chosen schedule. The canvas shows the
 * arg-max of the latest logits after every step; that is also the final
 * rounding. Caller-fixed positions keep their clean embedding (infilling).
 * Built-in network only: a callback network has no embedding table.
 * Draws: x_T at (seed, first step, pos, d), the step-k noise at (seed, step+1, pos, d).
 */
#include <math.h>
#include <string.h>

#include "core/rng.h"
#include "embedding.h"

size_t tdiff__embedding_ws_bytes(const tdiff_sampler *s, size_t na)
{
    return tdiff__gemm_shared_bytes(s->env.k, na, s->n_vocab, true, false) + 64; /* 64: alignment slack */
}

size_t tdiff__embedding_x0hat(const tdiff_sampler *s, const float *logits, float *probs, size_t na,
                              double temperature, const float *E, size_t dim, void *ws, double *row, float *x0,
                              int32_t *tok, double *conf)
{
    const size_t V = s->n_vocab;
    for (size_t j = 0; j < na; j++) {
        const float *l = logits + j * V;
        bool any = false;
        for (size_t v = 0; v < V; v++) {
            if (isnan(l[v]) || l[v] == INFINITY)
                return j;
            row[v] = tdiff__allowed(s, v) ? (double)l[v] : -INFINITY;
            any |= row[v] > -INFINITY;
        }
        if (!any)
            return j;
        size_t best = tdiff__argmax64(row, V);
        tok[j] = (int32_t)best;
        if (temperature > 0.0)
            for (size_t v = 0; v < V; v++)
                row[v] /= temperature;
        tdiff__softmax64(row, V);
        conf[j] = row[best];
        if (temperature <= 0.0)
            memcpy(x0 + j * dim, E + best * dim, dim * sizeof *x0);
        else
            for (size_t v = 0; v < V; v++)
                probs[j * V + v] = (float)row[v];
    }
    /* One product for all positions: E is read once per step, not once per position. */
    if (temperature > 0.0 && na > 0) {
        /* x0[na, dim] = probs[na, V] E[V, dim]: E read as the transposed view W[dim][V]
         * (element (c, v) at v * dim + c) of the library's product, on this thread */
        const size_t pack = tdiff__gemm_shared_bytes(s->env.k, na, V, true, false);
        const tdiff__gemm_ws g = {(void *)(((uintptr_t)ws + 63) & ~(uintptr_t)63), pack, NULL, 0};
        const tdiff__gemm_w w = {TDIFF__W_F32, E, dim, V, sizeof(float), dim};
        const tdiff__gemm_op op = {x0, dim, &w, NULL};
        tdiff__gemm(s->env.k, NULL, probs, V, na, &op, 1, &g);
    }
    return na;
}

void tdiff__embedding_gauss_step(float *x, const float *x0, size_t dim, double ab_t, double ab_prev, bool ddim,
                                 uint64_t seed, uint32_t step, uint32_t pos)
{
    if (ddim) {
        double a = sqrt(ab_t), b = sqrt(1.0 - ab_t), ap = sqrt(ab_prev), bp = sqrt(1.0 - ab_prev);
        for (size_t d = 0; d < dim; d++) {
            double eps = b > 0.0 ? ((double)x[d] - a * (double)x0[d]) / b : 0.0;
            x[d] = (float)(ap * (double)x0[d] + bp * eps);
        }
        return;
    }
    double c0 = 0.0, ct = 0.0, var = 0.0;
    (void)tdiff_gauss_posterior_coefs(ab_t, ab_prev, &c0, &ct, &var);
    double sd = sqrt(var > 0.0 ? var : 0.0);
    for (size_t d = 0; d < dim; d++) {
        double z = sd > 0.0 ? tdiff__rng_normal(seed, step, pos, (uint32_t)d) : 0.0;
        x[d] = (float)(c0 * (double)x0[d] + ct * (double)x[d] + sd * z);
    }
}

typedef struct emb_state {
    tdiff_scheduler *sched;
    size_t T, k, na, dim;   /* k: the step to run next, T..1 */
    double temperature;
    bool clamp, ddim;
    uint32_t *pos;          /* [na] the generated positions */
    float *E;               /* [V, dim] input embedding table */
    float *xe;              /* [n, dim] network input: fixed rows clean, active rows x_t */
    float *x0;              /* [na, dim] x̂0 of the active positions */
    float *probs;           /* [na, V] */
    void *ws;               /* tdiff__embedding_ws_bytes(na): the product's packed probabilities */
    double *ab;             /* [T + 1] discrete ᾱ_k */
    double *conf;           /* [na] probability of each position's arg-max */
} emb_state;

static void emb_finish(tdiff__run *r, void *state)
{
    emb_state *e = state;
    tdiff__env *env = &r->s->env;
    tdiff_scheduler_free(e->sched);
    void *bufs[] = {e->pos, e->E, e->xe, e->x0, e->probs, e->ws, e->ab, e->conf};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        tdiff__free(env, bufs[i]);
}

static tdiff_status emb_alloc(tdiff__run *r, emb_state *e)
{
    tdiff_sampler *s = r->s;
    const size_t V = s->n_vocab, dim = e->dim, na = e->na;
    size_t ev, xn, an, pn, tn;
    if (!tdiff__mul_size(V, dim, &ev) || !tdiff__mul_size(r->n, dim, &xn) || !tdiff__mul_size(na, dim, &an) ||
        !tdiff__mul_size(na, V, &pn) || !tdiff__add_size(e->T, 1, &tn))
        return tdiff__fail(&s->env, TDIFF_E_OVERFLOW, "embedding sampler: sizes overflow");
    e->pos = tdiff__calloc(&s->env, na ? na : 1, sizeof *e->pos);
    e->E = tdiff__calloc(&s->env, ev, sizeof *e->E);
    e->xe = tdiff__calloc(&s->env, xn, sizeof *e->xe);
    e->x0 = tdiff__calloc(&s->env, an ? an : 1, sizeof *e->x0);
    e->probs = tdiff__calloc(&s->env, pn ? pn : 1, sizeof *e->probs);
    e->ws = tdiff__malloc(&s->env, tdiff__embedding_ws_bytes(s, na));
    e->ab = tdiff__calloc(&s->env, tn, sizeof *e->ab);
    e->conf = tdiff__calloc(&s->env, na ? na : 1, sizeof *e->conf);
    if (!e->pos || !e->E || !e->xe || !e->x0 || !e->probs || !e->ws || !e->ab || !e->conf)
        return tdiff__fail(&s->env, TDIFF_E_OUT_OF_MEMORY, "embedding sampler: out of memory");
    return TDIFF_OK;
}

static tdiff_status emb_begin(tdiff__run *r, void *state, bool *done)
{
    emb_state *e = state;
    tdiff_sampler *s = r->s;
    const size_t V = s->n_vocab;
    const int kind = (int)tdiff__sp_int(s, TDIFF_SAMPLER_GAUSS_SCHEDULE);
    if (kind != TDIFF_SCHEDULE_SQRT && kind != TDIFF_SCHEDULE_COSINE && kind != TDIFF_SCHEDULE_LINEAR)
        return tdiff__fail(&s->env, TDIFF_E_UNSUPPORTED,
                           "embedding sampler: gauss_schedule %d is not SQRT, COSINE or LINEAR", kind);
    e->T = e->k = (size_t)tdiff__sp_int(s, TDIFF_SAMPLER_STEPS);
    e->temperature = tdiff__sp_float(s, TDIFF_SAMPLER_TEMPERATURE);
    e->clamp = tdiff__sp_int(s, TDIFF_SAMPLER_CLAMP) != 0;
    e->ddim = tdiff__sp_int(s, TDIFF_SAMPLER_DDIM) != 0;
    e->dim = tdiff__net_n_embd(s);
    e->na = tdiff__collect_masked(r, r->region_start, r->n);
    r->n_steps = e->T;
    *done = e->na == 0;
    tdiff_status st = emb_alloc(r, e);
    if (st)
        return st;
    memcpy(e->pos, r->pos, e->na * sizeof *e->pos);
    char why[TDIFF__ERR_CAP];
    if ((st = tdiff_scheduler_create((tdiff_schedule_kind)kind, &s->env.host, &e->sched, why, sizeof why)))
        return tdiff__fail(&s->env, st, "embedding sampler: cannot create the schedule: %s", why);
    for (size_t v = 0; v < V; v++)
        if ((st = tdiff__net_token_embedding(s, (int32_t)v, e->E + v * e->dim)))
            return tdiff__fail(&s->env, st, "embedding sampler: cannot read embedding row %zu", v);
    /* ᾱ_k = Π_{j<=k} (1 − β_j) as a running product: the bits of tdiff_scheduler_eval_step's
     * ALPHA_BAR (which multiplies the same factors in the same order) in O(T), not O(T²) */
    e->ab[0] = 1.0;
    for (size_t k = 1; k <= e->T; k++) {
        double beta;
        if ((st = tdiff_scheduler_eval_step(e->sched, TDIFF_SQ_BETA, k, e->T, &beta)))
            return tdiff__fail(&s->env, st, "embedding sampler: schedule: %s", tdiff_scheduler_last_error(e->sched));
        e->ab[k] = e->ab[k - 1] * (1.0 - beta);
    }
    for (size_t i = 0; i < r->n; i++)
        memcpy(e->xe + i * e->dim, e->E + (size_t)r->x[i] * e->dim, e->dim * sizeof *e->xe);
    for (size_t j = 0; j < e->na; j++)
        for (size_t d = 0; d < e->dim; d++)
            e->xe[(size_t)e->pos[j] * e->dim + d] =
                (float)tdiff__rng_normal(r->seed, (uint32_t)r->step, e->pos[j], (uint32_t)d);
    return TDIFF_OK;
}

static tdiff_status emb_step(tdiff__run *r, void *state, bool *stepped, bool *done)
{
    emb_state *e = state;
    tdiff_sampler *s = r->s;
    const size_t V = s->n_vocab, dim = e->dim;
    *stepped = false;
    *done = true;
    if (e->k == 0)
        return TDIFF_OK;
    const size_t k = e->k;
    const float *logits;
    tdiff__eval_req q = {.pos = e->pos, .na = e->na, .t = (float)((double)k / (double)e->T), .embd = e->xe};
    tdiff_status st = tdiff__evaluate(r, &q, &logits);
    if (st)
        return st;
    size_t bad = tdiff__embedding_x0hat(s, logits, e->probs, e->na, e->temperature, e->E, dim, e->ws, r->row,
                                        e->x0, r->cand, e->conf);
    if (bad < e->na)
        return tdiff__row_prepare(r, logits + bad * V, e->pos[bad], r->row);
    tdiff__clear_confidence(r);
    for (size_t j = 0; j < e->na; j++)
        r->conf_out[e->pos[j]] = (float)e->conf[j];
    if (e->clamp && (st = tdiff_embed_nearest(&s->env.host, e->E, V, dim, e->x0, e->na, NULL, e->x0)))
        return tdiff__fail(&s->env, st, "clamping: %s", tdiff_status_string(st));
    for (size_t j = 0; j < e->na; j++) {
        tdiff__embedding_gauss_step(e->xe + (size_t)e->pos[j] * dim, e->x0 + j * dim, dim, e->ab[k], e->ab[k - 1],
                                    e->ddim, r->seed, (uint32_t)r->step + 1u, e->pos[j]);
        r->x[e->pos[j]] = r->cand[j];
    }
    e->k--;
    *stepped = true;
    *done = e->k == 0;
    return TDIFF_OK;
}

const tdiff__strategy tdiff__strategy_embedding = {TDIFF_STRATEGY_EMBEDDING, "embedding", 0, sizeof(emb_state),
                                                   emb_begin, emb_step, emb_finish};
