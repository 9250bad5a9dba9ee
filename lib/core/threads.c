/*
 * threads.c -- the per-handle thread pool (threads.h): workers sleep on a
 * condition variable; each tdiff__pool_for bumps a generation counter, wakes
 * them, and everyone (the caller included) takes task indices from an atomic
 * counter until none are left.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "threads.h"

struct tdiff__pool {
    tdiff__env *env;
    size_t n_threads;
    pthread_t *workers;          /* n_threads - 1 */
    size_t n_started;
    pthread_mutex_t mu;
    pthread_cond_t wake;         /* workers wait here for a new generation */
    pthread_cond_t done;         /* the caller waits here for the workers  */
    unsigned long generation;
    size_t n_busy;               /* workers still inside the current generation */
    int quit;
    /* the current job */
    tdiff__pool_fn fn;
    void *ctx;
    size_t n_tasks;
    atomic_size_t next;
};

typedef struct worker_arg {
    tdiff__pool *p;
    size_t index;
} worker_arg;

static void run_tasks(tdiff__pool *p, size_t thread)
{
    for (;;) {
        size_t t = atomic_fetch_add_explicit(&p->next, 1, memory_order_relaxed);
        if (t >= p->n_tasks)
            return;
        p->fn(p->ctx, t, thread);
    }
}

static void *worker_main(void *arg)
{
    tdiff__pool *p = ((worker_arg *)arg)->p;
    size_t index = ((worker_arg *)arg)->index;
    unsigned long seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->quit && p->generation == seen)
            pthread_cond_wait(&p->wake, &p->mu);
        if (p->quit)
            break;
        seen = p->generation;
        pthread_mutex_unlock(&p->mu);
        run_tasks(p, index);
        pthread_mutex_lock(&p->mu);
        if (--p->n_busy == 0)
            pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

tdiff_status tdiff__pool_create(tdiff__env *env, size_t n_threads, tdiff__pool **out)
{
    *out = NULL;
    if (n_threads < 1 || n_threads > TDIFF__POOL_MAX_THREADS)
        return tdiff__fail(env, TDIFF_E_INVALID_ARGUMENT, "thread count %zu is outside 1..%u", n_threads,
                           TDIFF__POOL_MAX_THREADS);
    tdiff__pool *p = tdiff__calloc(env, 1, sizeof *p);
    if (!p)
        return tdiff__fail(env, TDIFF_E_OUT_OF_MEMORY, "out of memory for the thread pool");
    p->env = env;
    p->n_threads = n_threads;
    atomic_init(&p->next, 0);
    if (n_threads == 1) {
        *out = p;
        return TDIFF_OK;
    }
    /* The arguments live right after the thread ids, in one allocation. */
    size_t bytes;
    if (!tdiff__mul_size(n_threads, sizeof(pthread_t) + sizeof(worker_arg), &bytes)) {
        tdiff__free(env, p);
        return tdiff__fail(env, TDIFF_E_OVERFLOW, "thread pool size overflows");
    }
    p->workers = tdiff__malloc(env, bytes);
    if (!p->workers) {
        tdiff__free(env, p);
        return tdiff__fail(env, TDIFF_E_OUT_OF_MEMORY, "out of memory for the thread pool");
    }
    if (pthread_mutex_init(&p->mu, NULL) != 0) {
        tdiff__free(env, p->workers);
        tdiff__free(env, p);
        return tdiff__fail(env, TDIFF_E_INTERNAL, "pthread_mutex_init failed");
    }
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    worker_arg *args = (worker_arg *)(p->workers + n_threads);
    for (size_t i = 0; i + 1 < n_threads; i++) {
        args[i].p = p;
        args[i].index = i + 1;
        if (pthread_create(&p->workers[i], NULL, worker_main, &args[i]) != 0) {
            tdiff__pool_free(p);
            return tdiff__fail(env, TDIFF_E_INTERNAL, "could not start worker thread %zu of %zu", i + 1,
                               n_threads - 1);
        }
        p->n_started++;
    }
    *out = p;
    return TDIFF_OK;
}

void tdiff__pool_free(tdiff__pool *p)
{
    if (!p)
        return;
    if (p->n_threads > 1) {
        pthread_mutex_lock(&p->mu);
        p->quit = 1;
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->mu);
        for (size_t i = 0; i < p->n_started; i++)
            pthread_join(p->workers[i], NULL);
        pthread_cond_destroy(&p->wake);
        pthread_cond_destroy(&p->done);
        pthread_mutex_destroy(&p->mu);
        tdiff__free(p->env, p->workers);
    }
    tdiff__free(p->env, p);
}

size_t tdiff__pool_size(const tdiff__pool *p)
{
    return p->n_threads;
}

void tdiff__pool_for(tdiff__pool *p, size_t n_tasks, tdiff__pool_fn fn, void *ctx)
{
    if (n_tasks == 0)
        return;
    /* One task or no workers: run inline, no wake-up cost. */
    if (p->n_threads == 1 || n_tasks == 1) {
        for (size_t t = 0; t < n_tasks; t++)
            fn(ctx, t, 0);
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->ctx = ctx;
    p->n_tasks = n_tasks;
    atomic_store_explicit(&p->next, 0, memory_order_relaxed);
    p->n_busy = p->n_threads - 1;
    p->generation++;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    run_tasks(p, 0);
    pthread_mutex_lock(&p->mu);
    while (p->n_busy > 0)
        pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}
