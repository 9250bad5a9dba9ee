/*
 * threads.h -- a small per-handle thread pool: parallel-for over a task count.
 *
 * A pool of n threads is the calling thread plus n - 1 workers that sleep on a
 * condition variable between calls. tdiff__pool_for(p, n_tasks, fn, ctx) runs
 * fn(ctx, task, thread) for every task in [0, n_tasks) and returns when all are
 * done. Tasks are handed out dynamically, so WHICH thread runs a task varies from
 * run to run: a task must compute the same result on any thread (use `thread`
 * only to pick per-thread scratch). That is what keeps results independent of the
 * thread count. fn must not call tdiff__pool_for on the same pool (no nesting);
 * one caller thread at a time.
 */
#ifndef TDIFF_THREADS_H
#define TDIFF_THREADS_H

#include <stddef.h>

#include "core/core.h"

typedef struct tdiff__pool tdiff__pool;

typedef void (*tdiff__pool_fn)(void *ctx, size_t task, size_t thread);

/* Upper bound on n_threads (reason: guards against nonsense values from callers). */
#define TDIFF__POOL_MAX_THREADS 256u

/* Creates a pool of n_threads (1..TDIFF__POOL_MAX_THREADS; 1 starts no worker).
 * env must outlive the pool (its allocator frees it). TDIFF_E_INVALID_ARGUMENT,
 * TDIFF_E_OUT_OF_MEMORY, TDIFF_E_INTERNAL (a thread could not start); message in env. */
tdiff_status tdiff__pool_create(tdiff__env *env, size_t n_threads, tdiff__pool **out);

/* Joins the workers and frees the pool. NULL is harmless. */
void tdiff__pool_free(tdiff__pool *p);

/* Number of threads including the caller (>= 1). */
size_t tdiff__pool_size(const tdiff__pool *p);

/* Runs fn for tasks [0, n_tasks) on all threads; returns when every task is done.
 * thread is in [0, tdiff__pool_size(p)). n_tasks == 0 does nothing. */
void tdiff__pool_for(tdiff__pool *p, size_t n_tasks, tdiff__pool_fn fn, void *ctx);

#endif
