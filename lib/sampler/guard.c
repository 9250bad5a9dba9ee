/*
 * guard.c -- which calls a sampler accepts when: none that change it from
 * inside its own step callback, no setter while a generation is begun. The
 * bottom of the module: every public entry point asks here first.
 */
#include "sampler.h"

tdiff_status tdiff__sampler_check_reentry(tdiff_sampler *s, const char *call)
{
    if (s->in_callback)
        return tdiff__fail(&s->env, TDIFF_E_STATE,
                           "%s: not allowed inside the step callback (return non-zero from it to stop the run)", call);
    return TDIFF_OK;
}

tdiff_status tdiff__sampler_check_idle(tdiff_sampler *s, const char *call)
{
    tdiff_status st = tdiff__sampler_check_reentry(s, call);
    if (st)
        return st;
    if (s->gen)
        return tdiff__fail(&s->env, TDIFF_E_STATE, "%s: a generation is begun (cancel it or take its result)", call);
    return TDIFF_OK;
}
