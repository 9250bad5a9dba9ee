/*
 * strategy.c -- the one table of strategies: id, public name, capabilities and
 * the state machine (begin / step / finish) of each. Names, lookups and the
 * check of a sampler's settings against a strategy's capabilities are answered
 * from it; nothing else in the module switches on a strategy id.
 */
#include <string.h>

#include "sampler.h"

static const tdiff__strategy *const table[] = {
    &tdiff__strategy_llada,        &tdiff__strategy_dream,        &tdiff__strategy_threshold,
    &tdiff__strategy_factor,       &tdiff__strategy_maskgit,      &tdiff__strategy_mask_predict,
    &tdiff__strategy_mdlm,         &tdiff__strategy_mdlm_cache,   &tdiff__strategy_d3pm,
    &tdiff__strategy_first_hitting, &tdiff__strategy_sedd_euler,  &tdiff__strategy_sedd_analytic,
    &tdiff__strategy_embedding,    &tdiff__strategy_ar,           &tdiff__strategy_bd3,
    &tdiff__strategy_bd3_first_hitting, &tdiff__strategy_spindle,      &tdiff__strategy_planned,
};
#define N_STRATEGIES (sizeof table / sizeof table[0])

const tdiff__strategy *tdiff__strategy_find(int id)
{
    for (size_t i = 0; i < N_STRATEGIES; i++)
        if (table[i]->id == id)
            return table[i];
    return NULL;
}

const char *tdiff_strategy_name(int strategy)
{
    const tdiff__strategy *st = tdiff__strategy_find(strategy);
    return st ? st->name : "unknown";
}

tdiff_status tdiff_strategy_from_name(const char *name, int *out)
{
    if (!name || !out)
        return TDIFF_E_INVALID_ARGUMENT;
    for (size_t i = 0; i < N_STRATEGIES; i++)
        if (!strcmp(name, table[i]->name)) {
            *out = table[i]->id;
            return TDIFF_OK;
        }
    /* MDLM's own sampler names */
    if (!strcmp(name, "ddpm")) {
        *out = TDIFF_STRATEGY_MDLM;
        return TDIFF_OK;
    }
    if (!strcmp(name, "ddpm_cache")) {
        *out = TDIFF_STRATEGY_MDLM_CACHE;
        return TDIFF_OK;
    }
    return TDIFF_E_NOT_FOUND;
}

tdiff_status tdiff__strategy_check(tdiff_sampler *s, const tdiff__strategy *st)
{
    const unsigned caps = st->caps;
    const char *name = st->name;
    const int remask = (int)tdiff__sp_int(s, TDIFF_SAMPLER_REMASKING);
    const bool llamacpp = tdiff__sp_int(s, TDIFF_SAMPLER_COMPAT) == TDIFF_COMPAT_LLAMACPP;
    if (s->no_mask && !(caps & TDIFF__CAP_NO_MASK))
        return tdiff__fail(&s->env, TDIFF_E_UNSUPPORTED,
                           "the model is autoregressive (%s, no mask token): the %s strategy needs a masked-diffusion "
                           "model; use the ar strategy", s->net.model ? tdiff_model_architecture(s->net.model) : "?",
                           name);
    if (llamacpp && !(caps & TDIFF__CAP_COMPAT))
        return tdiff__fail(&s->env, TDIFF_E_UNSUPPORTED,
                           "compat llamacpp reproduces llama-diffusion-cli's sampler, which has no %s strategy (use "
                           "llada or dream)", name);
    if (remask == TDIFF_REMASK_ORIGIN && !(caps & TDIFF__CAP_ORIGIN) &&
        !(llamacpp && (caps & TDIFF__CAP_ORIGIN_COMPAT)))
        return tdiff__fail(&s->env, TDIFF_E_UNSUPPORTED,
                           "remasking origin is Dream's rule (each mask revealed with probability 1 - s/t; under "
                           "compat llamacpp also llada's); the %s strategy %s", name,
                           (caps & TDIFF__CAP_REMASKING) ? "picks positions by confidence" : "has no remasking rule");
    if (tdiff__sp_int(s, TDIFF_SAMPLER_SUBS) == 0 && !(caps & TDIFF__CAP_NO_SUBS))
        return tdiff__fail(&s->env, TDIFF_E_UNSUPPORTED,
                           "subs 0 (the mask token a valid prediction, as Dream's and LLaDA's reference code) works "
                           "with the llada and dream strategies, not %s", name);
    if (s->softmask && !(caps & TDIFF__CAP_SOFTMASK))
        return tdiff__fail(&s->env, TDIFF_E_UNSUPPORTED,
                           "soft masking works with the llada, dream, threshold, factor and mdlm strategies, not %s",
                           name);
    if (!s->net.model && !(caps & TDIFF__CAP_CALLBACK))
        return tdiff__fail(&s->env, TDIFF_E_UNSUPPORTED,
                           "the %s strategy needs the built-in denoiser (a callback network has no embedding table)",
                           name);
    if (tdiff__sp_float(s, TDIFF_SAMPLER_CFG_SCALE) > 0.0 && !(caps & TDIFF__CAP_CFG))
        return tdiff__fail(&s->env, TDIFF_E_UNSUPPORTED, "the %s strategy does not take classifier-free guidance",
                           name);
    const int64_t cache = tdiff__sp_int(s, TDIFF_SAMPLER_CACHE);
    if (cache != TDIFF_CACHE_NONE && !(caps & TDIFF__CAP_CACHE))
        return tdiff__fail(&s->env, TDIFF_E_UNSUPPORTED,
                           "the KV cache works with the block strategies llada, dream, threshold, factor, bd3 and "
                           "bd3_first_hitting, and with planned; not %s",
                           name);
    if (cache != TDIFF_CACHE_NONE && !s->net.model)
        return tdiff__fail(&s->env, TDIFF_E_UNSUPPORTED,
                           "the KV cache lives in the built-in denoiser; a callback network has none (cache none)");
    if (tdiff__sp_int(s, TDIFF_SAMPLER_EARLY_STOP) && !(caps & TDIFF__CAP_EARLY_STOP))
        return tdiff__fail(&s->env, TDIFF_E_UNSUPPORTED,
                           "early stop needs commits that never change (llada, dream, threshold, factor), not %s",
                           name);
    if ((caps & TDIFF__CAP_TRANSITION) && !s->transition)
        return tdiff__fail(&s->env, TDIFF_E_STATE, "%s needs a transition (tdiff_sampler_set_transition)", name);
    if ((caps & TDIFF__CAP_SCHEDULER) && !s->scheduler)
        return tdiff__fail(&s->env, TDIFF_E_STATE, "%s needs a noise schedule (tdiff_sampler_set_scheduler)", name);
    return TDIFF_OK;
}
