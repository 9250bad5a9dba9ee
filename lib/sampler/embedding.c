/*
 * embedding.c -- continuous embedding diffusion (Diffusion-LM, Li et al. 2022;
 * algorithms.md §6): the generated positions start as x_T ~ N(0, I) in the
 * model's input-embedding space; at each of T steps the network reads the
 * vectors (tdiff_denoiser_forward_embd, time t = k/T), x̂0 is the expected
 * embedding under softmax(logits/temperature) (E[argmax] at temperature 0),
 * optionally clamped to the nearest embedding row, and a DDPM posterior step
 * (or DDIM, eta 0) gives x_{k-1} on the discrete ᾱ of the chosen schedule.
 * The canvas shows the arg-max of the latest logits after every step; that is
 * also the final rounding. Caller-fixed positions keep their clean embedding
 * (infilling). Built-in model only: a callback network has no embedding table.
 * Draws: x_T at (seed, first step, pos, d), the step-k noise at (seed, step+1, pos, d).
 */
#include <math.h>
#include <string.h>
#include <time.h>

#include <cblas.h>

#include "core/rng.h"
#include "denoiser/denoiser.h"
#include "embedding.h"

static double clock_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

bool tdiff__embedding_x0hat(const tdiff_sampler *s, float *logits, size_t na, double temperature, const float *E,
                            size_t dim, double *row, float *x0, int32_t *tok, double *conf)
{
    const size_t V = s->n_vocab;
    for (size_t j = 0; j < na; j++) {
        float *l = logits + j * V;
        if (!tdiff__row_prepare(s, l, row))
            return false;
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
            for (size_t v = 0; v < V; v++) /* the row now lives in `row`: reuse its storage */
                l[v] = (float)row[v];
    }
    /* One product for all positions: E is read once per step, not once per position. */
    if (temperature > 0.0)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)na, (int)dim, (int)V, 1.0f, logits, (int)V, E,
                    (int)dim, 0.0f, x0, (int)dim);
    return true;
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
    float *E;   /* [V, dim] input embedding table */
    float *xe;  /* [n, dim] network input: fixed rows clean, active rows x_t */
    float *x0;  /* [na, dim] x̂0 of the active positions */
    double *ab; /* [T + 1] discrete ᾱ_k */
    double *conf; /* [na] probability of each position's arg-max */
} emb_state;

static void emb_free(tdiff__env *env, emb_state *e)
{
    tdiff_scheduler_free(e->sched);
    tdiff__free(env, e->E);
    tdiff__free(env, e->xe);
    tdiff__free(env, e->x0);
    tdiff__free(env, e->ab);
    tdiff__free(env, e->conf);
}

static tdiff_status emb_prepare(tdiff__run *r, emb_state *e, size_t dim, size_t na, size_t T)
{
    tdiff_sampler *s = r->s;
    const size_t V = s->n_vocab;
    size_t ev, xn, an, tn;
    if (!tdiff__mul_size(V, dim, &ev) || !tdiff__mul_size(r->n, dim, &xn) || !tdiff__mul_size(na, dim, &an) ||
        !tdiff__add_size(T, 1, &tn))
        return tdiff__fail(&s->env, TDIFF_E_OVERFLOW, "embedding sampler: sizes overflow");
    int kind = (int)tdiff__sp_int(s, TDIFF_SAMPLER_GAUSS_SCHEDULE);
    if (kind != TDIFF_SCHEDULE_SQRT && kind != TDIFF_SCHEDULE_COSINE && kind != TDIFF_SCHEDULE_LINEAR)
        return tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT,
                           "embedding sampler: schedule %d is not SQRT, COSINE or LINEAR", kind);
    char why[TDIFF__ERR_CAP];
    tdiff_status st = tdiff_scheduler_create((tdiff_schedule_kind)kind, &s->env.host, &e->sched, why, sizeof why);
    if (st)
        return tdiff__fail(&s->env, st, "embedding sampler: cannot create the schedule: %s", why);
    e->E = tdiff__calloc(&s->env, ev, sizeof *e->E);
    e->xe = tdiff__calloc(&s->env, xn, sizeof *e->xe);
    e->x0 = tdiff__calloc(&s->env, an ? an : 1, sizeof *e->x0);
    e->ab = tdiff__calloc(&s->env, tn, sizeof *e->ab);
    e->conf = tdiff__calloc(&s->env, na ? na : 1, sizeof *e->conf);
    if (!e->E || !e->xe || !e->x0 || !e->ab || !e->conf)
        return tdiff__fail(&s->env, TDIFF_E_OUT_OF_MEMORY, "embedding sampler: out of memory");
    for (size_t v = 0; v < V; v++)
        if ((st = tdiff__denoiser_token_embedding(s->denoiser, (int32_t)v, e->E + v * dim)))
            return tdiff__fail(&s->env, st, "embedding sampler: cannot read embedding row %zu", v);
    for (size_t k = 0; k <= T; k++)
        if ((st = tdiff_scheduler_eval_step(e->sched, TDIFF_SQ_ALPHA_BAR, k, T, &e->ab[k])))
            return tdiff__fail(&s->env, st, "embedding sampler: schedule: %s", tdiff_scheduler_last_error(e->sched));
    for (size_t i = 0; i < r->n; i++)
        memcpy(e->xe + i * dim, e->E + (size_t)r->x[i] * dim, dim * sizeof *e->xe);
    for (size_t j = 0; j < na; j++)
        for (size_t d = 0; d < dim; d++)
            e->xe[(size_t)r->pos[j] * dim + d] = (float)tdiff__rng_normal(r->seed, (uint32_t)r->step, r->pos[j],
                                                                          (uint32_t)d);
    return TDIFF_OK;
}

/* One network evaluation over the vectors, counted like tdiff__run_logits. */
static tdiff_status emb_logits(tdiff__run *r, const emb_state *e, size_t na, float t)
{
    tdiff_sampler *s = r->s;
    tdiff_status st = tdiff__gen_yield(r);
    if (st)
        return st;
    double t0 = clock_s();
    st = tdiff_denoiser_forward_embd(s->denoiser, r->x, e->xe, NULL, r->n, t, r->pos, na, r->logits,
                                     na * s->n_vocab);
    s->stat_forward++;
    s->stat_forward_s += clock_s() - t0;
    if (st)
        return tdiff__fail(&s->env, st, "denoiser: %s", tdiff_denoiser_last_error(s->denoiser));
    return TDIFF_OK;
}

tdiff_status tdiff__strategy_embedding(tdiff__run *r)
{
    tdiff_sampler *s = r->s;
    if (!s->model || !s->denoiser)
        return tdiff__fail(&s->env, TDIFF_E_UNSUPPORTED,
                           "the embedding strategy needs the built-in denoiser (a callback has no embedding table)");
    if (tdiff__sp_float(s, TDIFF_SAMPLER_CFG_SCALE) > 0.0)
        return tdiff__fail(&s->env, TDIFF_E_UNSUPPORTED, "the embedding strategy does not take CFG");
    const size_t V = s->n_vocab, dim = tdiff__denoiser_n_embd(s->denoiser);
    const size_t T = (size_t)tdiff__sp_int(s, TDIFF_SAMPLER_STEPS);
    const double temperature = tdiff__sp_float(s, TDIFF_SAMPLER_TEMPERATURE);
    const bool clamp = tdiff__sp_int(s, TDIFF_SAMPLER_CLAMP) != 0;
    const bool ddim = tdiff__sp_int(s, TDIFF_SAMPLER_DDIM) != 0;
    size_t na = tdiff__collect_masked(r, r->region_start, r->n);
    r->n_steps = T;
    if (na == 0)
        return TDIFF_OK;
    emb_state e = {0};
    tdiff_status st = emb_prepare(r, &e, dim, na, T);
    for (size_t k = T; k >= 1 && !st; k--, r->step++) {
        if ((st = emb_logits(r, &e, na, (float)((double)k / (double)T))))
            break;
        for (size_t i = 0; i < r->n; i++)
            r->conf_out[i] = NAN;
        if (!tdiff__embedding_x0hat(s, r->logits, na, temperature, e.E, dim, r->row, e.x0, r->cand, e.conf)) {
            st = tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT, "the denoiser returned a non-finite logit");
            break;
        }
        for (size_t j = 0; j < na; j++)
            r->conf_out[r->pos[j]] = (float)e.conf[j];
        if (clamp && (st = tdiff_embed_nearest(e.sched, e.E, V, dim, e.x0, na, NULL, e.x0))) {
            st = tdiff__fail(&s->env, st, "clamping: %s", tdiff_scheduler_last_error(e.sched));
            break;
        }
        for (size_t j = 0; j < na; j++) {
            tdiff__embedding_gauss_step(e.xe + (size_t)r->pos[j] * dim, e.x0 + j * dim, dim, e.ab[k], e.ab[k - 1],
                                        ddim, r->seed, (uint32_t)r->step + 1u, r->pos[j]);
            r->x[r->pos[j]] = r->cand[j];
        }
        st = tdiff__run_after_step(r);
    }
    emb_free(&s->env, &e);
    return st;
}
