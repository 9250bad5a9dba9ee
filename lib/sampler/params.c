/* params.c -- the sampler's parameter table: kinds, bounds, defaults, names. */
#include <string.h>

#include "sampler.h"

typedef struct param_info {
    int id;
    int is_int;
    int read_only;
    double min, max, def;
} param_info;

/* Defaults follow the reference code of each strategy where they share a
 * parameter (docs/sampling.md lists them with their sources). */
static const param_info params[TDIFF__SAMPLER_N_PARAMS] = {
    {TDIFF_SAMPLER_STRATEGY, 1, 0, TDIFF_STRATEGY_LLADA, TDIFF_STRATEGY_EMBEDDING, TDIFF_STRATEGY_LLADA},
    {TDIFF_SAMPLER_REMASKING, 1, 0, TDIFF_REMASK_LOW_CONFIDENCE, TDIFF_REMASK_ORIGIN, TDIFF_REMASK_LOW_CONFIDENCE},
    {TDIFF_SAMPLER_COMPAT, 1, 0, TDIFF_COMPAT_NONE, TDIFF_COMPAT_LLAMACPP, TDIFF_COMPAT_NONE},
    {TDIFF_SAMPLER_STEPS, 1, 0, 1, 1 << 20, 64},
    {TDIFF_SAMPLER_GEN_LENGTH, 1, 0, 1, 1 << 20, 64},
    {TDIFF_SAMPLER_BLOCK_LENGTH, 1, 0, 0, 1 << 20, 0},
    {TDIFF_SAMPLER_TOP_K, 1, 0, 0, 1 << 30, 0},
    {TDIFF_SAMPLER_SEED, 1, 0, 0, 9223372036854775807.0, 0},
    {TDIFF_SAMPLER_EOS_CONFIDENCE_INF, 1, 0, 0, 1, 0},
    {TDIFF_SAMPLER_CUT_AT_EOS, 1, 0, 0, 1, 1},
    {TDIFF_SAMPLER_KEEP_HISTORY, 1, 0, 0, 1, 0},
    {TDIFF_SAMPLER_N_THREADS, 1, 0, 1, 1024, 1},
    {TDIFF_SAMPLER_CLAMP, 1, 0, 0, 1, 0},
    {TDIFF_SAMPLER_GAUSS_SCHEDULE, 1, 0, TDIFF_SCHEDULE_LINEAR, TDIFF_SCHEDULE_SQRT, TDIFF_SCHEDULE_SQRT},
    {TDIFF_SAMPLER_DDIM, 1, 0, 0, 1, 0},
    {TDIFF_SAMPLER_TEMPERATURE, 0, 0, 0, 100, 0},
    {TDIFF_SAMPLER_TOP_P, 0, 0, 0x1p-30, 1, 1}, /* (0, 1]: the smallest positive we accept */
    {TDIFF_SAMPLER_CFG_SCALE, 0, 0, 0, 100, 0},
    {TDIFF_SAMPLER_THRESHOLD, 0, 0, 0, 1, 0.9},  /* Fast-dLLM's default */
    {TDIFF_SAMPLER_FACTOR, 0, 0, 0x1p-30, 100, 1.0},
    {TDIFF_SAMPLER_ALG_TEMP, 0, 0, 0, 100, 0},
    {TDIFF_SAMPLER_EPS, 0, 0, 0x1p-30, 0.5, 1e-3}, /* Dream's default; < 0.5 keeps t > s */
    {TDIFF_SAMPLER_STAT_FORWARD_PASSES, 1, 1, 0, 9223372036854775807.0, 0},
    {TDIFF_SAMPLER_STAT_STEPS, 1, 1, 0, 9223372036854775807.0, 0},
    {TDIFF_SAMPLER_STAT_FORWARD_SECONDS, 0, 1, 0, 1e300, 0},
    {TDIFF_SAMPLER_STAT_TOTAL_SECONDS, 0, 1, 0, 1e300, 0},
    {0, 0, 1, 0, 0, 0}, /* spare slot (id 0 is never a parameter) */
};

int tdiff__sampler_param_index(int param)
{
    if (param == 0)
        return -1;
    for (int i = 0; i < TDIFF__SAMPLER_N_PARAMS; i++)
        if (params[i].id == param)
            return i;
    return -1;
}

int tdiff__sampler_param_is_int(int param)
{
    int i = tdiff__sampler_param_index(param);
    return i < 0 ? -1 : params[i].is_int;
}

void tdiff__sampler_defaults(tdiff_sampler *s)
{
    for (int i = 0; i < TDIFF__SAMPLER_N_PARAMS; i++) {
        s->ival[i] = (int64_t)params[i].def;
        s->fval[i] = params[i].def;
    }
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

static tdiff_status check_settable(tdiff_sampler *s, int p, int want_int, int *idx)
{
    int i = tdiff__sampler_param_index(p);
    if (i < 0)
        return tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT, "unknown sampler parameter %d", p);
    if (params[i].read_only)
        return tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT, "sampler parameter %d is read-only", p);
    if (params[i].is_int != want_int)
        return tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT, "sampler parameter %d is %s: use tdiff_sampler_set_%s",
                           p, params[i].is_int ? "an integer" : "real", params[i].is_int ? "int" : "float");
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
    if (tdiff__sampler_busy(s))
        return tdiff__fail(&s->env, TDIFF_E_STATE, "a generation is begun (cancel or take its result)");
    if ((double)value < params[i].min || (double)value > params[i].max)
        return tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT, "sampler parameter %d: %lld outside [%.0f, %.0f]",
                           (int)p, (long long)value, params[i].min, params[i].max);
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
    if (tdiff__sampler_busy(s))
        return tdiff__fail(&s->env, TDIFF_E_STATE, "a generation is begun (cancel or take its result)");
    if (!(value >= params[i].min && value <= params[i].max)) /* also rejects NaN */
        return tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT, "sampler parameter %d: %g outside [%g, %g]", (int)p,
                           value, params[i].min, params[i].max);
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

/* ---- names ---- */

static const char *const strategy_names[] = {
    NULL, "llada", "dream", "threshold", "factor", "maskgit", "mask_predict", "mdlm", "mdlm_cache", "d3pm", "first_hitting", "sedd_euler", "sedd_analytic", "embedding",
};
static const char *const remask_names[] = {
    NULL, "low_confidence", "random", "topk_margin", "entropy", "origin",
};

const char *tdiff_strategy_name(int strategy)
{
    if (strategy < 1 || strategy >= (int)(sizeof strategy_names / sizeof strategy_names[0]))
        return "unknown";
    return strategy_names[strategy];
}

const char *tdiff_remasking_name(int remasking)
{
    if (remasking < 1 || remasking >= (int)(sizeof remask_names / sizeof remask_names[0]))
        return "unknown";
    return remask_names[remasking];
}

tdiff_status tdiff_strategy_from_name(const char *name, int *out)
{
    if (!name || !out)
        return TDIFF_E_INVALID_ARGUMENT;
    for (int i = 1; i < (int)(sizeof strategy_names / sizeof strategy_names[0]); i++)
        if (!strcmp(name, strategy_names[i])) {
            *out = i;
            return TDIFF_OK;
        }
    if (!strcmp(name, "ddpm")) { /* MDLM's own sampler names */
        *out = TDIFF_STRATEGY_MDLM;
        return TDIFF_OK;
    }
    if (!strcmp(name, "ddpm_cache")) {
        *out = TDIFF_STRATEGY_MDLM_CACHE;
        return TDIFF_OK;
    }
    return TDIFF_E_NOT_FOUND;
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
