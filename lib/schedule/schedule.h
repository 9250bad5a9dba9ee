/*
 * schedule.h -- internal view of the scheduler handle, shared by lib/schedule,
 * lib/noise and lib/transition (they use it as their context: allocator, SIMD
 * table, last error). Noise schedules themselves are in scheduler.c.
 */
#ifndef TDIFF_SCHEDULE_H
#define TDIFF_SCHEDULE_H

#include "core/core.h"

struct tdiff_scheduler {
    tdiff__env env;
    tdiff_schedule_kind kind;
    double eps;            /* log-linear ε                      */
    double sigma_min;      /* geometric                         */
    double sigma_max;
    double spindle_lambda; /* spindle λ                         */
    double max_beta;       /* discrete β clip (cosine, sqrt)    */
    double cosine_s;       /* cosine offset                     */
    double sqrt_s;         /* sqrt shift                        */
    float *spindle_w;      /* [n_spindle] normalised log-counts */
    size_t n_spindle;
};

/* ᾱ(t) and dᾱ/dt of the handle's schedule in double; t in [0, 1] (unchecked). */
double tdiff__sched_alpha_bar(const tdiff_scheduler *s, double t);
double tdiff__sched_alpha_bar_rate(const tdiff_scheduler *s, double t);
/* Discrete β_t of step t (1..T) of T (unchecked). */
double tdiff__sched_beta(const tdiff_scheduler *s, size_t t, size_t n_steps);
/* Inverse of ᾱ: the t in [0, 1] with ᾱ(t) = a (bisection; ᾱ is non-increasing). */
double tdiff__sched_inverse(const tdiff_scheduler *s, double a);

#endif
