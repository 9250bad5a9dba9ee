/*
 * test_worker.c -- the worker-thread pattern of docs/embedding.md ("Threads"),
 * as written there: a long-lived worker owns the sampler while it runs a slice
 * (tdiff_sampler_step_for) under one mutex, publishes a copy of the canvas, and
 * the host's loop (the "main thread") only ever try-locks, so it never waits on
 * a step. Checked as a specification:
 *   - an infill stepped that way gives the tokens of tdiff_sampler_infill run
 *     on one thread (same seed, steps, temperature);
 *   - the published canvas only ever loses masks, one step per requested slice;
 *   - tdiff_sampler_interrupt, called without the lock, stops the worker's
 *     slice with TDIFF_E_ABORTED and leaves the sampler idle and reusable.
 * Suite 'embed' (a C test: it also runs under valgrind, ASan and TSan).
 * Model: tests/fixtures/llada-tiny.gguf.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "libtextdiff.h"
#include "support.h"

#define CAP 64

/* ---- the pattern of docs/embedding.md -------------------------------------- */
typedef struct npc_worker {
    pthread_mutex_t mu;
    pthread_cond_t wake;
    tdiff_sampler *s;
    int want_slice, finished, quit;
    tdiff_status st;         /* the last slice's status */
    int32_t shown[CAP];      /* the canvas as of the last slice, for drawing */
    uint8_t shown_masked[CAP];
    size_t n_shown, slices;
} npc_worker;

static void *npc_worker_main(void *arg)
{
    npc_worker *w = arg;
    pthread_mutex_lock(&w->mu);
    while (!w->quit) {
        while (!w->want_slice && !w->quit)
            pthread_cond_wait(&w->wake, &w->mu);
        if (w->quit)
            break;
        int done = 0;
        /* budget 0: exactly one step a slice, so slices can be counted */
        w->st = tdiff_sampler_step_for(w->s, 0, NULL, &done);
        if (w->st == TDIFF_OK)
            tdiff_sampler_canvas(w->s, w->shown, NULL, w->shown_masked, CAP, &w->n_shown);
        w->slices++;
        w->finished = done || w->st != TDIFF_OK;
        w->want_slice = 0; /* one slice per request: the lock is free between slices */
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

static void sleep_us(long us)
{
    struct timespec ts = {0, us * 1000L};
    nanosleep(&ts, NULL);
}

/* ---- fixtures -------------------------------------------------------------- */

static tdiff_model *fixture(void)
{
    char path[1024];
    return test_load_model(test_fixture_path(path, sizeof path, "llada-tiny.gguf"), NULL);
}

/* 3 fixed tokens, 8 masks, 2 fixed tokens. */
static size_t make_canvas(const tdiff_model *m, int32_t *canvas)
{
    int32_t mask = 0;
    assert_int_equal(tdiff_model_special_id(m, TDIFF_SPECIAL_MASK, &mask), TDIFF_OK);
    static const int32_t fixed[5] = {2046, 116, 468, 2046, 116};
    size_t n = 0;
    for (int i = 0; i < 3; i++)
        canvas[n++] = fixed[i];
    for (int i = 0; i < 8; i++)
        canvas[n++] = mask;
    for (int i = 3; i < 5; i++)
        canvas[n++] = fixed[i];
    return n;
}

static tdiff_sampler *make_sampler(const tdiff_model *m)
{
    tdiff_sampler *s = NULL;
    assert_int_equal(tdiff_sampler_create(m, NULL, &s, NULL, 0), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_STEPS, 8), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_SEED, 11), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_float(s, TDIFF_SAMPLER_TEMPERATURE, 0.7), TDIFF_OK);
    return s;
}

static size_t count_masked(const uint8_t *masked, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += masked[i] != 0;
    return k;
}

static void start_worker(npc_worker *w, tdiff_sampler *s, pthread_t *th)
{
    memset(w, 0, sizeof *w);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->wake, NULL);
    w->s = s;
    assert_int_equal(pthread_create(th, NULL, npc_worker_main, w), 0);
}

static void stop_worker(npc_worker *w, pthread_t th)
{
    pthread_mutex_lock(&w->mu);
    w->quit = 1;
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->mu);
    pthread_join(th, NULL);
    pthread_cond_destroy(&w->wake);
    pthread_mutex_destroy(&w->mu);
}

/* ---- tests ----------------------------------------------------------------- */

static void test_a_worker_stepped_infill_gives_the_one_thread_tokens(void **state)
{
    (void)state;
    tdiff_model *m = fixture();
    int32_t canvas[CAP], want[CAP], got[CAP];
    size_t n = make_canvas(m, canvas), n_want = 0, n_got = 0;
    tdiff_sampler *r = make_sampler(m);
    assert_int_equal(tdiff_sampler_infill(r, canvas, n, want, CAP, &n_want), TDIFF_OK);
    tdiff_sampler_free(r);

    tdiff_sampler *s = make_sampler(m);
    assert_int_equal(tdiff_sampler_begin_infill(s, canvas, n), TDIFF_OK); /* begun on this thread */
    npc_worker w;
    pthread_t th;
    start_worker(&w, s, &th);
    size_t last_masked = 8, frames = 0, requests = 0, seen_slices = 0;
    int finished = 0;
    while (!finished && frames < 1000000) { /* the host's loop: never waits on a step */
        frames++;
        if (pthread_mutex_trylock(&w.mu) == 0) {
            if (w.slices > seen_slices) { /* a new slice was published: "draw" it */
                assert_int_equal(w.st, TDIFF_OK);
                assert_int_equal(w.n_shown, n);
                size_t masked = count_masked(w.shown_masked, n);
                assert_true(masked < last_masked || (w.finished && masked == 0));
                for (size_t i = 0; i < n; i++) /* the fixed tokens never change */
                    if (i < 3 || i >= 11)
                        assert_int_equal(w.shown[i], canvas[i]);
                last_masked = masked;
                seen_slices = w.slices;
            }
            finished = w.finished;
            if (!finished && !w.want_slice) {
                w.want_slice = 1;
                requests++;
                pthread_cond_signal(&w.wake);
            }
            pthread_mutex_unlock(&w.mu);
        }
        sleep_us(100); /* the rest of the frame */
    }
    assert_true(finished);
    pthread_mutex_lock(&w.mu); /* the result, taken on this thread under the lock */
    assert_int_equal(w.slices, 8); /* one step a slice, 8 steps */
    assert_int_equal(requests, 8);
    assert_int_equal(tdiff_sampler_result(s, got, CAP, &n_got), TDIFF_OK);
    pthread_mutex_unlock(&w.mu);
    stop_worker(&w, th);
    assert_int_equal(n_got, n_want);
    assert_memory_equal(got, want, n_want * sizeof *want);
    tdiff_sampler_free(s);
    tdiff_model_free(m);
}

static void test_interrupt_without_the_lock_stops_the_worker_slice(void **state)
{
    (void)state;
    tdiff_model *m = fixture();
    int32_t canvas[CAP], out[CAP];
    size_t n = make_canvas(m, canvas), n_out = 0;
    tdiff_sampler *s = make_sampler(m);
    assert_int_equal(tdiff_sampler_begin_infill(s, canvas, n), TDIFF_OK);
    npc_worker w;
    pthread_t th;
    start_worker(&w, s, &th);
    tdiff_sampler_interrupt(s); /* the UI's stop button: no lock needed */
    pthread_mutex_lock(&w.mu);
    w.want_slice = 1;
    pthread_cond_signal(&w.wake);
    pthread_mutex_unlock(&w.mu);
    int finished = 0;
    while (!finished) {
        pthread_mutex_lock(&w.mu);
        finished = w.finished;
        pthread_mutex_unlock(&w.mu);
        sleep_us(100);
    }
    stop_worker(&w, th);
    assert_int_equal(w.st, TDIFF_E_ABORTED);
    int st = -1;
    assert_int_equal(tdiff_sampler_progress(s, &st, NULL, NULL), TDIFF_OK);
    assert_int_equal(st, 0); /* idle: the generation ended */
    assert_int_equal(tdiff_sampler_infill(s, canvas, n, out, CAP, &n_out), TDIFF_OK); /* and reusable */
    tdiff_sampler_free(s);
    tdiff_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_worker_stepped_infill_gives_the_one_thread_tokens),
        cmocka_unit_test(test_interrupt_without_the_lock_stops_the_worker_slice),
    };
    return cmocka_run_group_tests_name("embed-worker", tests, NULL, NULL);
}
