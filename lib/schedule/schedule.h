/*
 * schedule.h -- internal view of the scheduler handle: the struct (read only by
 * lib/schedule's own files) and the accessors other modules use -- lib/transition
 * for β_t, lib/objective for ᾱ(t), σ̄(t), the NELBO weight, the allocator and
 * the deprecated wrappers' last error. Noise schedules themselves are in scheduler.c.
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
/* σ̄(t) = −ln ᾱ(t) (+inf where ᾱ = 0) and the NELBO weight −ᾱ'/(1 − ᾱ) (+inf where
 * ᾱ = 1), as tdiff_scheduler_eval computes them; t in [0, 1] (unchecked). */
double tdiff__sched_sigma_bar(const tdiff_scheduler *s, double t);
double tdiff__sched_elbo_weight(const tdiff_scheduler *s, double t);
/* Spindle (DiffusionBERT), the one formula behind tdiff_scheduler_spindle_keep, in
 * double: the number of weights (0 before tdiff_scheduler_set_token_counts); the
 * mean weight of tokens[0..n) (n > 0, every token < that number: unchecked); one
 * token's keep probability clip((1 − t) + λ·sin(πt)·(w_token − mean), 0, 0.999),
 * exactly 1 at t = 0. */
size_t tdiff__sched_spindle_n(const tdiff_scheduler *s);
double tdiff__sched_spindle_mean(const tdiff_scheduler *s, const int32_t *tokens, size_t n);
double tdiff__sched_spindle_keep1(const tdiff_scheduler *s, int32_t token, double mean, double t);

/* The handle's environment (allocator, logging, SIMD table), for callers that take
 * scratch from it. */
const tdiff__env *tdiff__scheduler_env(const tdiff_scheduler *s);
/* Sets the handle's last error text (nothing is logged: the caller did that). */
void tdiff__scheduler_set_error(tdiff_scheduler *s, const char *msg);

#endif
