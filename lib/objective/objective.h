/*
 * objective.h -- private to lib/objective/: how an objective borrows its handle's
 * environment. The objectives only read the scheduler / transition handle; they
 * allocate through a private copy of its environment and report through the
 * caller's (err, err_cap), so the handle itself is never written.
 */
#ifndef TDIFF_OBJECTIVE_H
#define TDIFF_OBJECTIVE_H

#include "core/core.h"

/* env = a copy of `from` with an empty last error; from NULL (no handle): the
 * defaults, enough to record the message that says so. */
static inline void tdiff__objective_env(tdiff__env *env, const tdiff__env *from)
{
    if (from) {
        *env = *from;
        env->last_error[0] = '\0';
    } else {
        (void)tdiff__env_init(env, NULL);
        env->last_error[0] = '\0';
    }
}

#endif
