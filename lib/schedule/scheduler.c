/*
 * scheduler.c -- the scheduler handle and its noise schedules: ᾱ(t), σ̄(t), σ'(t),
 * the NELBO weight, discrete β_t and ᾱ_t, spindle per-token keep probabilities.
 * Formulas and sources: docs/algorithms.md, "Noise schedules".
 */
#include <math.h>
#include <string.h>

#include "simd/simd.h"
#include "schedule.h"

#define PI_D 3.14159265358979323846

/* Parameter table: default and inclusive bounds (reasons in the header). */
static const struct {
    double def, lo, hi;
} param_info[] = {
    [TDIFF_SCHEDULER_EPS] = {1e-3, 0.0, 0.5},
    [TDIFF_SCHEDULER_SIGMA_MIN] = {1e-4, 1e-8, 1e3},
    [TDIFF_SCHEDULER_SIGMA_MAX] = {20.0, 1e-8, 1e3},
    [TDIFF_SCHEDULER_SPINDLE_LAMBDA] = {0.3, 0.0, 1.0},
    [TDIFF_SCHEDULER_MAX_BETA] = {0.999, 0.5, 1.0},
    [TDIFF_SCHEDULER_COSINE_S] = {0.008, 0.0, 0.5},
    [TDIFF_SCHEDULER_SQRT_S] = {1e-4, 0.0, 0.5},
};
#define N_PARAMS (sizeof param_info / sizeof param_info[0])

static double *param_slot(tdiff_scheduler *s, tdiff_scheduler_param p)
{
    switch (p) {
    case TDIFF_SCHEDULER_EPS: return &s->eps;
    case TDIFF_SCHEDULER_SIGMA_MIN: return &s->sigma_min;
    case TDIFF_SCHEDULER_SIGMA_MAX: return &s->sigma_max;
    case TDIFF_SCHEDULER_SPINDLE_LAMBDA: return &s->spindle_lambda;
    case TDIFF_SCHEDULER_MAX_BETA: return &s->max_beta;
    case TDIFF_SCHEDULER_COSINE_S: return &s->cosine_s;
    case TDIFF_SCHEDULER_SQRT_S: return &s->sqrt_s;
    }
    return NULL;
}

tdiff_status tdiff_scheduler_create(tdiff_schedule_kind kind, const tdiff_host *host, tdiff_scheduler **out,
                                    char *err, size_t err_cap)
{
    if (out)
        *out = NULL;
    tdiff__env env;
    tdiff_status st = tdiff__env_setup(&env, host);
    if (st != TDIFF_OK)
        return tdiff__creator_result(&env, st, err, err_cap);
    if (!out)
        st = tdiff__fail(&env, TDIFF_E_INVALID_ARGUMENT, "tdiff_scheduler_create: NULL out");
    else if (kind < TDIFF_SCHEDULE_LINEAR || kind > TDIFF_SCHEDULE_SPINDLE)
        st = tdiff__fail(&env, TDIFF_E_INVALID_ARGUMENT, "tdiff_scheduler_create: kind %d is not a tdiff_schedule_kind",
                         (int)kind);
    if (st != TDIFF_OK)
        return tdiff__creator_result(&env, st, err, err_cap);
    tdiff_scheduler *s = tdiff__calloc(&env, 1, sizeof *s);
    if (!s)
        return tdiff__creator_result(
            &env, tdiff__fail(&env, TDIFF_E_OUT_OF_MEMORY, "out of memory for the scheduler handle"), err, err_cap);
    s->env = env;
    s->kind = kind;
    for (size_t p = 1; p < N_PARAMS; p++)
        *param_slot(s, (tdiff_scheduler_param)p) = param_info[p].def;
    *out = s;
    return tdiff__creator_result(&env, TDIFF_OK, err, err_cap);
}

void tdiff_scheduler_free(tdiff_scheduler *s)
{
    if (!s)
        return;
    tdiff__free(&s->env, s->spindle_w);
    tdiff__env env = s->env;
    tdiff__free(&env, s);
}

tdiff_schedule_kind tdiff_scheduler_kind(const tdiff_scheduler *s)
{
    return s ? s->kind : (tdiff_schedule_kind)0;
}

const char *tdiff_scheduler_last_error(const tdiff_scheduler *s)
{
    return s ? s->env.last_error : "invalid handle";
}

static const tdiff__name param_names[] = {
    {TDIFF_SCHEDULER_EPS, "eps"},
    {TDIFF_SCHEDULER_SIGMA_MIN, "sigma_min"},
    {TDIFF_SCHEDULER_SIGMA_MAX, "sigma_max"},
    {TDIFF_SCHEDULER_SPINDLE_LAMBDA, "spindle_lambda"},
    {TDIFF_SCHEDULER_MAX_BETA, "max_beta"},
    {TDIFF_SCHEDULER_COSINE_S, "cosine_s"},
    {TDIFF_SCHEDULER_SQRT_S, "sqrt_s"},
};

const char *tdiff_scheduler_param_name(tdiff_scheduler_param p)
{
    return tdiff__name_of(param_names, TDIFF__COUNT(param_names), (int)p);
}

tdiff_status tdiff_scheduler_param_from_name(const char *name, tdiff_scheduler_param *out)
{
    int v;
    tdiff_status st = tdiff__value_of(param_names, TDIFF__COUNT(param_names), name, out ? &v : NULL);
    if (st == TDIFF_OK)
        *out = (tdiff_scheduler_param)v;
    return st;
}

tdiff_status tdiff_scheduler_param_bounds(tdiff_scheduler_param p, double *min, double *max, double *default_value)
{
    if ((size_t)p == 0 || (size_t)p >= N_PARAMS)
        return TDIFF_E_INVALID_ARGUMENT;
    if (min)
        *min = param_info[p].lo;
    if (max)
        *max = param_info[p].hi;
    if (default_value)
        *default_value = param_info[p].def;
    return TDIFF_OK;
}

tdiff_status tdiff_scheduler_set_float(tdiff_scheduler *s, tdiff_scheduler_param p, double value)
{
    if (!s)
        return TDIFF_E_INVALID_ARGUMENT;
    if ((size_t)p == 0 || (size_t)p >= N_PARAMS)
        return tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT, "unknown scheduler parameter %d", (int)p);
    if (!(value >= param_info[p].lo && value <= param_info[p].hi))
        return tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT, "%s: %g is outside [%g, %g]",
                           tdiff_scheduler_param_name(p), value, param_info[p].lo, param_info[p].hi);
    double lo = p == TDIFF_SCHEDULER_SIGMA_MIN ? value : s->sigma_min;
    double hi = p == TDIFF_SCHEDULER_SIGMA_MAX ? value : s->sigma_max;
    if (!(lo < hi))
        return tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT, "sigma_min %g must be below sigma_max %g", lo, hi);
    *param_slot(s, p) = value;
    return TDIFF_OK;
}

tdiff_status tdiff_scheduler_get_float(const tdiff_scheduler *s, tdiff_scheduler_param p, double *out)
{
    if (!s || !out || (size_t)p == 0 || (size_t)p >= N_PARAMS)
        return TDIFF_E_INVALID_ARGUMENT;
    *out = *param_slot((tdiff_scheduler *)s, p);
    return TDIFF_OK;
}

/* ---- the schedules ---- */

static double geometric_sigma(const tdiff_scheduler *s, double t)
{
    return pow(s->sigma_min, 1.0 - t) * pow(s->sigma_max, t);
}

double tdiff__sched_alpha_bar(const tdiff_scheduler *s, double t)
{
    switch (s->kind) {
    case TDIFF_SCHEDULE_LINEAR:
    case TDIFF_SCHEDULE_SPINDLE:
        return 1.0 - t;
    case TDIFF_SCHEDULE_COSINE:
        return cos((t + s->cosine_s) / (1.0 + s->cosine_s) * (PI_D / 2));
    case TDIFF_SCHEDULE_MASKGIT_COSINE:
        return t >= 1.0 ? 0.0 : 1.0 - sin(PI_D * t / 2);
    case TDIFF_SCHEDULE_LOGLINEAR:
        return 1.0 - (1.0 - s->eps) * t;
    case TDIFF_SCHEDULE_GEOMETRIC:
        return exp(-geometric_sigma(s, t));
    case TDIFF_SCHEDULE_SQRT: {
        double a = 1.0 - sqrt(t + s->sqrt_s);
        return a > 0.0 ? a : 0.0; /* the source lets it go negative; β clipping hides that */
    }
    }
    return NAN;
}

double tdiff__sched_alpha_bar_rate(const tdiff_scheduler *s, double t)
{
    switch (s->kind) {
    case TDIFF_SCHEDULE_LINEAR:
    case TDIFF_SCHEDULE_SPINDLE:
        return -1.0;
    case TDIFF_SCHEDULE_COSINE: {
        double k = (PI_D / 2) / (1.0 + s->cosine_s);
        return -k * sin((t + s->cosine_s) * k);
    }
    case TDIFF_SCHEDULE_MASKGIT_COSINE:
        return -(PI_D / 2) * cos(PI_D * t / 2);
    case TDIFF_SCHEDULE_LOGLINEAR:
        return -(1.0 - s->eps);
    case TDIFF_SCHEDULE_GEOMETRIC: {
        double sig = geometric_sigma(s, t);
        return -sig * log(s->sigma_max / s->sigma_min) * exp(-sig);
    }
    case TDIFF_SCHEDULE_SQRT: {
        double r = sqrt(t + s->sqrt_s);
        if (r >= 1.0 || r == 0.0)
            return r == 0.0 ? -INFINITY : 0.0;
        return -0.5 / r;
    }
    }
    return NAN;
}

/* σ̄ = −ln ᾱ with the accurate forms where the schedule gives them. */
static double sigma_bar(const tdiff_scheduler *s, double t)
{
    switch (s->kind) {
    case TDIFF_SCHEDULE_LOGLINEAR:
        return -log1p(-(1.0 - s->eps) * t);
    case TDIFF_SCHEDULE_LINEAR:
    case TDIFF_SCHEDULE_SPINDLE:
        return -log1p(-t);
    case TDIFF_SCHEDULE_GEOMETRIC:
        return geometric_sigma(s, t);
    default:
        return -log(tdiff__sched_alpha_bar(s, t));
    }
}

/* 1 − ᾱ without cancellation where it matters (geometric at small σ). */
static double one_minus_alpha_bar(const tdiff_scheduler *s, double t)
{
    if (s->kind == TDIFF_SCHEDULE_GEOMETRIC)
        return -expm1(-geometric_sigma(s, t));
    if (s->kind == TDIFF_SCHEDULE_LOGLINEAR)
        return (1.0 - s->eps) * t;
    if (s->kind == TDIFF_SCHEDULE_LINEAR || s->kind == TDIFF_SCHEDULE_SPINDLE)
        return t;
    return 1.0 - tdiff__sched_alpha_bar(s, t);
}

double tdiff__sched_beta(const tdiff_scheduler *s, size_t t, size_t n_steps)
{
    if (s->kind == TDIFF_SCHEDULE_LINEAR || s->kind == TDIFF_SCHEDULE_SPINDLE)
        return 1.0 / (double)(n_steps - t + 1); /* exact, as D3PM's absorbing schedule */
    double a_now = tdiff__sched_alpha_bar(s, (double)t / (double)n_steps);
    double a_prev = tdiff__sched_alpha_bar(s, (double)(t - 1) / (double)n_steps);
    double beta = a_prev > 0.0 ? 1.0 - a_now / a_prev : 1.0;
    if (beta < 0.0)
        beta = 0.0;
    if (beta > 1.0)
        beta = 1.0;
    if ((s->kind == TDIFF_SCHEDULE_COSINE || s->kind == TDIFF_SCHEDULE_SQRT) && beta > s->max_beta)
        beta = s->max_beta;
    return beta;
}

double tdiff__sched_inverse(const tdiff_scheduler *s, double a)
{
    double lo = 0.0, hi = 1.0;
    for (int i = 0; i < 80; i++) { /* 2^-80 < any double spacing in [0,1] that matters */
        double mid = 0.5 * (lo + hi);
        if (tdiff__sched_alpha_bar(s, mid) > a)
            lo = mid;
        else
            hi = mid;
    }
    return 0.5 * (lo + hi);
}

double tdiff__sched_sigma_bar(const tdiff_scheduler *s, double t)
{
    return tdiff__sched_alpha_bar(s, t) > 0.0 ? sigma_bar(s, t) : INFINITY;
}

double tdiff__sched_elbo_weight(const tdiff_scheduler *s, double t)
{
    double m = one_minus_alpha_bar(s, t);
    return m > 0.0 ? -tdiff__sched_alpha_bar_rate(s, t) / m : INFINITY;
}

const tdiff__env *tdiff__scheduler_env(const tdiff_scheduler *s)
{
    return &s->env;
}

void tdiff__scheduler_set_error(tdiff_scheduler *s, const char *msg)
{
    tdiff__copy_message(s->env.last_error, sizeof s->env.last_error, msg);
}

/* Names of the quantities, for messages ("beta is not defined in continuous time"). */
static const tdiff__name quantity_names[] = {
    {TDIFF_SQ_ALPHA_BAR, "alpha_bar"},     {TDIFF_SQ_SIGMA_BAR, "sigma_bar"},     {TDIFF_SQ_SIGMA_RATE, "sigma_rate"},
    {TDIFF_SQ_ALPHA_BAR_RATE, "alpha_bar_rate"}, {TDIFF_SQ_ELBO_WEIGHT, "elbo_weight"}, {TDIFF_SQ_BETA, "beta"},
};

static tdiff_status bad_quantity(tdiff_scheduler *s, tdiff_schedule_quantity q, const char *where)
{
    const char *name = tdiff__name_of(quantity_names, TDIFF__COUNT(quantity_names), (int)q);
    if (strcmp(name, "unknown") == 0)
        return tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT, "unknown quantity %d", (int)q);
    return tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT, "%s is not defined in %s time", name, where);
}

tdiff_status tdiff_scheduler_eval(tdiff_scheduler *s, tdiff_schedule_quantity q, double t, double *out)
{
    if (!s)
        return TDIFF_E_INVALID_ARGUMENT;
    if (!out)
        return tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT, "out is NULL");
    if (!(t >= 0.0 && t <= 1.0))
        return tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT, "t = %g is outside [0, 1]", t);
    double a = tdiff__sched_alpha_bar(s, t);
    switch (q) {
    case TDIFF_SQ_ALPHA_BAR:
        *out = a;
        return TDIFF_OK;
    case TDIFF_SQ_SIGMA_BAR:
        *out = tdiff__sched_sigma_bar(s, t);
        return TDIFF_OK;
    case TDIFF_SQ_SIGMA_RATE:
        if (s->kind == TDIFF_SCHEDULE_GEOMETRIC)
            *out = geometric_sigma(s, t) * log(s->sigma_max / s->sigma_min);
        else
            *out = a > 0.0 ? -tdiff__sched_alpha_bar_rate(s, t) / a : INFINITY;
        return TDIFF_OK;
    case TDIFF_SQ_ALPHA_BAR_RATE:
        *out = tdiff__sched_alpha_bar_rate(s, t);
        return TDIFF_OK;
    case TDIFF_SQ_ELBO_WEIGHT:
        *out = tdiff__sched_elbo_weight(s, t);
        return TDIFF_OK;
    case TDIFF_SQ_BETA:
        break;
    }
    return bad_quantity(s, q, "continuous");
}

tdiff_status tdiff_scheduler_eval_step(tdiff_scheduler *s, tdiff_schedule_quantity q, size_t step,
                                       size_t n_steps, double *out)
{
    if (!s)
        return TDIFF_E_INVALID_ARGUMENT;
    if (!out)
        return tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT, "out is NULL");
    if (n_steps == 0 || n_steps > TDIFF_MAX_STEPS || step > n_steps)
        return tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT, "step %zu of %zu is out of range (steps 1..%u)", step,
                           n_steps, TDIFF_MAX_STEPS);
    if (q == TDIFF_SQ_BETA) {
        if (step == 0)
            return tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT, "beta is defined for steps 1..T, not 0");
        *out = tdiff__sched_beta(s, step, n_steps);
        return TDIFF_OK;
    }
    if (q != TDIFF_SQ_ALPHA_BAR && q != TDIFF_SQ_SIGMA_BAR)
        return bad_quantity(s, q, "discrete");
    double a = 1.0;
    for (size_t k = 1; k <= step; k++)
        a *= 1.0 - tdiff__sched_beta(s, k, n_steps);
    *out = q == TDIFF_SQ_ALPHA_BAR ? a : (a > 0.0 ? -log(a) : INFINITY);
    return TDIFF_OK;
}

/* ---- spindle ---- */

tdiff_status tdiff_scheduler_set_token_counts(tdiff_scheduler *s, const float *counts, size_t n_vocab)
{
    if (!s)
        return TDIFF_E_INVALID_ARGUMENT;
    if (!counts || n_vocab == 0)
        return tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT, "counts is NULL or n_vocab is 0");
    double top = 0.0;
    for (size_t v = 0; v < n_vocab; v++) {
        if (!(counts[v] >= 0.0f) || isinf(counts[v]))
            return tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT, "count of token %zu is negative or not finite",
                               v);
        double l = log1p((double)counts[v]);
        if (l > top)
            top = l;
    }
    if (!(top > 0.0))
        return tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT, "all token counts are zero");
    float *w = tdiff__calloc(&s->env, n_vocab, sizeof *w);
    if (!w)
        return tdiff__fail(&s->env, TDIFF_E_OUT_OF_MEMORY, "out of memory for %zu token weights", n_vocab);
    for (size_t v = 0; v < n_vocab; v++)
        w[v] = (float)(log1p((double)counts[v]) / top);
    tdiff__free(&s->env, s->spindle_w);
    s->spindle_w = w;
    s->n_spindle = n_vocab;
    return TDIFF_OK;
}

double tdiff__sched_spindle_mean(const tdiff_scheduler *s, const int32_t *tokens, size_t n)
{
    double mean = 0.0;
    for (size_t i = 0; i < n; i++)
        mean += s->spindle_w[tokens[i]];
    return mean / (double)n;
}

double tdiff__sched_spindle_keep1(const tdiff_scheduler *s, int32_t token, double mean, double t)
{
    if (t == 0.0) /* DiffusionBERT returns x_0 unchanged at t = 0 */
        return 1.0;
    double wave = s->spindle_lambda * sin(PI_D * (t < 0.5 ? t : 1.0 - t)); /* exact 0 at t = 1 */
    double k = (1.0 - t) + wave * ((double)s->spindle_w[token] - mean);
    return k < 0.0 ? 0.0 : k > 0.999 ? 0.999 : k; /* 0.999: the source's clip */
}

size_t tdiff__sched_spindle_n(const tdiff_scheduler *s)
{
    return s->spindle_w ? s->n_spindle : 0;
}

tdiff_status tdiff_scheduler_spindle_keep(tdiff_scheduler *s, const int32_t *tokens, size_t n, double t,
                                          float *keep)
{
    if (!s)
        return TDIFF_E_INVALID_ARGUMENT;
    if (!tokens || !keep || n == 0)
        return tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT, "tokens/keep NULL or n is 0");
    if (!(t >= 0.0 && t <= 1.0))
        return tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT, "t = %g is outside [0, 1]", t);
    if (!s->spindle_w)
        return tdiff__fail(&s->env, TDIFF_E_STATE, "spindle needs tdiff_scheduler_set_token_counts first");
    for (size_t i = 0; i < n; i++)
        if (tokens[i] < 0 || (size_t)tokens[i] >= s->n_spindle)
            return tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT, "token %d at %zu is outside the count table",
                               (int)tokens[i], i);
    const double mean = tdiff__sched_spindle_mean(s, tokens, n);
    for (size_t i = 0; i < n; i++)
        keep[i] = (float)tdiff__sched_spindle_keep1(s, tokens[i], mean, t);
    return TDIFF_OK;
}
