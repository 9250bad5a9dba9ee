/*
 * params.c -- the sampler's parameter table (kind, bounds, default, name) and
 * the public functions over it: set/get, bounds, names.
 */
#include <string.h>

#include "core/threads.h"
#include "sampler.h"

typedef struct param_info {
    int id;
    const char *name;
    int is_int;
    int read_only;
    double min, max, def;
} param_info;

#define INT64_MAX_D 9223372036854775807.0

/* Defaults follow the reference code of each strategy where they share a
 * parameter (docs/sampling.md lists them with their sources). */
static const param_info params[] = {
    {TDIFF_SAMPLER_STRATEGY, "strategy", 1, 0, TDIFF_STRATEGY_LLADA, TDIFF_STRATEGY_PLANNED, TDIFF_STRATEGY_LLADA},
    {TDIFF_SAMPLER_REMASKING, "remasking", 1, 0, TDIFF_REMASK_LOW_CONFIDENCE, TDIFF_REMASK_ORIGIN,
     TDIFF_REMASK_LOW_CONFIDENCE},
    {TDIFF_SAMPLER_COMPAT, "compat", 1, 0, TDIFF_COMPAT_NONE, TDIFF_COMPAT_LLAMACPP, TDIFF_COMPAT_NONE},
    {TDIFF_SAMPLER_STEPS, "steps", 1, 0, 1, 1 << 20, 64},
    {TDIFF_SAMPLER_GEN_LENGTH, "gen_length", 1, 0, 1, 1 << 20, 64},
    {TDIFF_SAMPLER_BLOCK_LENGTH, "block_length", 1, 0, 0, 1 << 20, 0},
    {TDIFF_SAMPLER_TOP_K, "top_k", 1, 0, 0, 1 << 30, 0},
    {TDIFF_SAMPLER_SEED, "seed", 1, 0, 0, INT64_MAX_D, 0},
    {TDIFF_SAMPLER_EOS_CONFIDENCE_INF, "eos_confidence_inf", 1, 0, 0, 1, 0},
    {TDIFF_SAMPLER_CUT_AT_EOS, "cut_at_eos", 1, 0, 0, 1, 1},
    {TDIFF_SAMPLER_KEEP_HISTORY, "keep_history", 1, 0, 0, 1, 0},
    /* the denoiser's own bound: one limit, checked where it is set */
    {TDIFF_SAMPLER_N_THREADS, "n_threads", 1, 0, 1, TDIFF__POOL_MAX_THREADS, 1},
    {TDIFF_SAMPLER_CLAMP, "clamp", 1, 0, 0, 1, 0},
    {TDIFF_SAMPLER_GAUSS_SCHEDULE, "gauss_schedule", 1, 0, TDIFF_SCHEDULE_LINEAR, TDIFF_SCHEDULE_SQRT,
     TDIFF_SCHEDULE_SQRT},
    {TDIFF_SAMPLER_DDIM, "ddim", 1, 0, 0, 1, 0},
    {TDIFF_SAMPLER_SUBS, "subs", 1, 0, 0, 1, 1},
    {TDIFF_SAMPLER_CACHE, "cache", 1, 0, TDIFF_CACHE_NONE, TDIFF_CACHE_DELAYED, TDIFF_CACHE_NONE},
    {TDIFF_SAMPLER_CACHE_REFRESH, "cache_refresh", 1, 0, 0, 1 << 20, 0},
    {TDIFF_SAMPLER_EARLY_STOP, "early_stop", 1, 0, 0, 1, 0},
    {TDIFF_SAMPLER_TEMPERATURE, "temperature", 0, 0, 0, 100, 0},
    {TDIFF_SAMPLER_TOP_P, "top_p", 0, 0, 0x1p-30, 1, 1}, /* (0, 1]: the smallest positive we accept */
    {TDIFF_SAMPLER_CFG_SCALE, "cfg_scale", 0, 0, 0, 100, 0},
    {TDIFF_SAMPLER_THRESHOLD, "threshold", 0, 0, 0, 1, 0.9}, /* Fast-dLLM's default */
    {TDIFF_SAMPLER_FACTOR, "factor", 0, 0, 0x1p-30, 100, 1.0},
    {TDIFF_SAMPLER_ALG_TEMP, "alg_temp", 0, 0, 0, 100, 0},
    {TDIFF_SAMPLER_EPS, "eps", 0, 0, 0x1p-30, 0.5, 1e-3}, /* Dream's default; < 0.5 keeps t > s */
    /* planned: two tokens per step by default (reason: the paper's speed-up comes from
     * several tokens per forward); bounds keep a plan's scratch small */
    {TDIFF_SAMPLER_PLANNED_STEPS_PER_TOKEN, "planned_steps_per_token", 0, 0, 0x1p-30, 16, 0.5},
    {TDIFF_SAMPLER_PLANNED_MAX_SPANS, "planned_max_spans", 1, 0, 1, TDIFF__PLAN_MAX_SPANS, 16},
    {TDIFF_SAMPLER_PLANNED_MAX_SPAN_LENGTH, "planned_max_span_length", 1, 0, 1, 1 << 20, 64},
    {TDIFF_SAMPLER_PLANNED_DEFAULT_SPAN_LENGTH, "planned_default_span_length", 1, 0, 1, 1 << 20, 16},
    {TDIFF_SAMPLER_PLANNED_LENGTH_SCALE, "planned_length_scale", 0, 0, 0x1p-30, 16, 1.0},
    {TDIFF_SAMPLER_STAT_FORWARD_PASSES, "stat_forward_passes", 1, 1, 0, INT64_MAX_D, 0},
    {TDIFF_SAMPLER_STAT_STEPS, "stat_steps", 1, 1, 0, INT64_MAX_D, 0},
    {TDIFF_SAMPLER_STAT_REUSED, "stat_reused", 1, 1, 0, INT64_MAX_D, 0},
    {TDIFF_SAMPLER_STAT_ROWS_COMPUTED, "stat_rows_computed", 1, 1, 0, INT64_MAX_D, 0},
    {TDIFF_SAMPLER_STAT_CACHE_HITS, "stat_cache_hits", 1, 1, 0, INT64_MAX_D, 0},
    {TDIFF_SAMPLER_STAT_FORWARD_SECONDS, "stat_forward_seconds", 0, 1, 0, 1e300, 0},
    {TDIFF_SAMPLER_STAT_TOTAL_SECONDS, "stat_total_seconds", 0, 1, 0, 1e300, 0},
};
_Static_assert(sizeof params / sizeof params[0] == TDIFF__SAMPLER_N_PARAMS, "one storage slot per parameter");

int tdiff__sampler_param_index(int param)
{
    for (int i = 0; i < TDIFF__SAMPLER_N_PARAMS; i++)
        if (params[i].id == param)
            return i;
    return -1;
}

void tdiff__sampler_defaults(tdiff_sampler *s)
{
    for (int i = 0; i < TDIFF__SAMPLER_N_PARAMS; i++) {
        s->ival[i] = (int64_t)params[i].def;
        s->fval[i] = params[i].def;
    }
}

const char *tdiff_sampler_param_name(tdiff_sampler_param p)
{
    int i = tdiff__sampler_param_index((int)p);
    return i < 0 ? "unknown" : params[i].name;
}

tdiff_status tdiff_sampler_param_from_name(const char *name, tdiff_sampler_param *out)
{
    if (!name || !out)
        return TDIFF_E_INVALID_ARGUMENT;
    for (int i = 0; i < TDIFF__SAMPLER_N_PARAMS; i++)
        if (!strcmp(name, params[i].name)) {
            *out = (tdiff_sampler_param)params[i].id;
            return TDIFF_OK;
        }
    return TDIFF_E_NOT_FOUND;
}

tdiff_status tdiff_sampler_param_bounds(tdiff_sampler_param p, double *min, double *max, double *default_value)
{
    int i = tdiff__sampler_param_index((int)p);
    if (i < 0)
        return TDIFF_E_INVALID_ARGUMENT;
    if (min)
        *min = params[i].min;
    if (max)
        *max = params[i].max;
    if (default_value)
        *default_value = params[i].def;
    return TDIFF_OK;
}

int tdiff_sampler_param_is_int(tdiff_sampler_param p)
{
    int i = tdiff__sampler_param_index((int)p);
    return i < 0 ? -1 : params[i].is_int;
}

static tdiff_status check_settable(tdiff_sampler *s, int p, int want_int, int *idx)
{
    tdiff_status st = tdiff__sampler_check_idle(s, want_int ? "set_int" : "set_float");
    if (st)
        return st;
    int i = tdiff__sampler_param_index(p);
    if (i < 0)
        return tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT, "unknown sampler parameter %d", p);
    if (params[i].read_only)
        return tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT, "%s is a read-only statistic", params[i].name);
    if (params[i].is_int != want_int)
        return tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT, "%s is %s: use tdiff_sampler_set_%s", params[i].name,
                           params[i].is_int ? "an integer" : "real", params[i].is_int ? "int" : "float");
    *idx = i;
    return TDIFF_OK;
}

tdiff_status tdiff_sampler_set_int(tdiff_sampler *s, tdiff_sampler_param p, int64_t value)
{
    if (!s)
        return TDIFF_E_INVALID_ARGUMENT;
    int i;
    tdiff_status st = check_settable(s, (int)p, 1, &i);
    if (st)
        return st;
    if ((double)value < params[i].min || (double)value > params[i].max)
        return tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT, "%s: %lld is outside [%.0f, %.0f]", params[i].name,
                           (long long)value, params[i].min, params[i].max);
    s->ival[i] = value;
    return TDIFF_OK;
}

tdiff_status tdiff_sampler_set_float(tdiff_sampler *s, tdiff_sampler_param p, double value)
{
    if (!s)
        return TDIFF_E_INVALID_ARGUMENT;
    int i;
    tdiff_status st = check_settable(s, (int)p, 0, &i);
    if (st)
        return st;
    if (!(value >= params[i].min && value <= params[i].max)) /* also rejects NaN */
        return tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT, "%s: %g is outside [%g, %g]", params[i].name, value,
                           params[i].min, params[i].max);
    s->fval[i] = value;
    return TDIFF_OK;
}

tdiff_status tdiff_sampler_get_int(const tdiff_sampler *s, tdiff_sampler_param p, int64_t *value)
{
    int i = tdiff__sampler_param_index((int)p);
    if (!s || !value || i < 0 || !params[i].is_int)
        return TDIFF_E_INVALID_ARGUMENT;
    if (p == TDIFF_SAMPLER_STAT_FORWARD_PASSES)
        *value = s->stat_forward;
    else if (p == TDIFF_SAMPLER_STAT_STEPS)
        *value = s->stat_steps;
    else if (p == TDIFF_SAMPLER_STAT_REUSED)
        *value = s->stat_reused;
    else if (p == TDIFF_SAMPLER_STAT_ROWS_COMPUTED)
        *value = s->stat_rows;
    else if (p == TDIFF_SAMPLER_STAT_CACHE_HITS)
        *value = s->stat_hits;
    else
        *value = s->ival[i];
    return TDIFF_OK;
}

tdiff_status tdiff_sampler_get_float(const tdiff_sampler *s, tdiff_sampler_param p, double *value)
{
    int i = tdiff__sampler_param_index((int)p);
    if (!s || !value || i < 0 || params[i].is_int)
        return TDIFF_E_INVALID_ARGUMENT;
    if (p == TDIFF_SAMPLER_STAT_FORWARD_SECONDS)
        *value = s->stat_forward_s;
    else if (p == TDIFF_SAMPLER_STAT_TOTAL_SECONDS)
        *value = s->stat_total_s;
    else
        *value = s->fval[i];
    return TDIFF_OK;
}

/* ---- remasking names (strategy names live with the strategy table) ---- */

static const char *const remask_names[] = {
    NULL, "low_confidence", "random", "topk_margin", "entropy", "origin",
};

const char *tdiff_remasking_name(int remasking)
{
    if (remasking < 1 || remasking >= (int)(sizeof remask_names / sizeof remask_names[0]))
        return "unknown";
    return remask_names[remasking];
}

tdiff_status tdiff_remasking_from_name(const char *name, int *out)
{
    if (!name || !out)
        return TDIFF_E_INVALID_ARGUMENT;
    for (int i = 1; i < (int)(sizeof remask_names / sizeof remask_names[0]); i++)
        if (!strcmp(name, remask_names[i])) {
            *out = i;
            return TDIFF_OK;
        }
    if (!strcmp(name, "maskgit_plus") || !strcmp(name, "confidence")) { /* Dream's / llama.cpp's names */
        *out = TDIFF_REMASK_LOW_CONFIDENCE;
        return TDIFF_OK;
    }
    if (!strcmp(name, "margin")) {
        *out = TDIFF_REMASK_TOPK_MARGIN;
        return TDIFF_OK;
    }
    return TDIFF_E_NOT_FOUND;
}
