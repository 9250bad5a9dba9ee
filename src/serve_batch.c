/*
 * serve_batch.c -- the batching scheduler of `textdiff serve --batch`: the
 * generations that run at the same time take their refinement steps together,
 * one batched forward (tdiff_denoiser_forward_batch) per step across them.
 *
 * How: each worker generates with a second sampler whose network is a callback
 * (tdiff_sampler_create_with_callback), so every request keeps its own sampler,
 * strategy, parameters and seed. The callback hands its canvas to the batcher
 * and waits. The batcher thread owns one denoiser over the shared model; it runs
 * a forward as soon as every worker inside a generation (a "member") is waiting
 * in its callback -- so B running requests cost one pass per step, each weight
 * matrix read once for all B canvases -- and hands each caller its rows. The
 * batched forward gives each sequence the bits the sampler's own denoiser would
 * (tests/unit/denoiser/test_batch.c), so a request's tokens do not depend on
 * what else ran beside it (tests/serve/check_serve.py checks it end to end).
 *
 * What it is not: a continuous-batching server for autoregressive decoding, or
 * one that pads to a common length (sequences are packed, attention stays
 * inside each). Requests it cannot batch run on the worker's own sampler as
 * before: a KV cache (needs the library's denoiser behind the sampler), the
 * embedding strategy; and models it cannot batch disable it at start:
 * time-conditioned (DiT), causal or block-causal attention, no mask token.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef TDIFF_EXPERIMENTAL
#define TDIFF_EXPERIMENTAL /* tdiff_denoiser_forward_batch, tdiff_denoiser_reserve_batch */
#endif
#include "serve.h"

/* One worker's forward call, waiting for the batcher (guarded by srv_batch.mu). */
typedef struct srv_fwd {
    const int32_t *tokens;
    size_t n;
    const uint32_t *positions;
    size_t n_positions;
    float *logits;
    int done;
    tdiff_status st;
} srv_fwd;

struct srv_batch {
    srv *s;
    tdiff_denoiser *d;
    size_t max_rows;         /* tokens one forward may carry (reserved in d) */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t ready;    /* a call arrived, a member left, or stop */
    pthread_cond_t done;     /* a batch finished */
    size_t n_members;        /* workers inside a batched generation */
    size_t n_pending;        /* of them, waiting in their callback */
    srv_fwd **pending;       /* [parallel] */
    int stopping;
    /* the batcher's own scratch (only its thread touches these) */
    srv_fwd **take;
    const int32_t **tp;
    size_t *tn, *tnp;
    const uint32_t **tpp;
    float *logits;
    size_t logits_cap;
    unsigned long long forwards, rows, seqs; /* totals, for /metrics */
};

/* The callback network of a worker's batched sampler: queue the call, wait. */
static int batch_logits(void *user_data, const int32_t *tokens, size_t n, float t, const uint32_t *positions,
                        size_t n_positions, float *logits)
{
    (void)t; /* batching is refused for time-conditioned models */
    srv_worker *w = user_data;
    srv_batch *b = w->srv->batch;
    srv_fwd f = {tokens, n, positions, n_positions, logits, 0, TDIFF_OK};
    pthread_mutex_lock(&b->mu);
    b->pending[b->n_pending++] = &f;
    pthread_cond_signal(&b->ready);
    while (!f.done)
        pthread_cond_wait(&b->done, &b->mu);
    pthread_mutex_unlock(&b->mu);
    return f.st;
}

/* Runs calls take[0..k) as packed forwards of at most max_rows tokens each and
 * hands every caller its rows. */
static void run_calls(srv_batch *b, size_t k)
{
    size_t V = b->s->n_vocab;
    for (size_t i0 = 0; i0 < k;) {
        size_t rows = 0, heads = 0, i1 = i0;
        while (i1 < k && rows + b->take[i1]->n <= b->max_rows) {
            const srv_fwd *f = b->take[i1];
            b->tp[i1 - i0] = f->tokens;
            b->tn[i1 - i0] = f->n;
            b->tpp[i1 - i0] = f->positions;
            b->tnp[i1 - i0] = f->n_positions;
            rows += f->n;
            heads += f->positions ? f->n_positions : f->n;
            i1++;
        }
        tdiff_status st = TDIFF_OK;
        if (i1 == i0) { /* longer than max_rows: the sampler's canvas never is (max_rows >= n_ctx) */
            st = TDIFF_E_INVALID_ARGUMENT;
            i1 = i0 + 1;
        } else if (heads * V > b->logits_cap) {
            float *p = realloc(b->logits, heads * V * sizeof *p);
            if (p) {
                b->logits = p;
                b->logits_cap = heads * V;
            } else {
                st = TDIFF_E_OUT_OF_MEMORY;
            }
        }
        if (st == TDIFF_OK)
            st = tdiff_denoiser_forward_batch(b->d, i1 - i0, b->tp, b->tn, b->tpp, b->tnp, b->logits, b->logits_cap);
        if (st != TDIFF_OK)
            fprintf(stderr, "textdiff: serve: batched forward of %zu requests failed: %s\n", i1 - i0,
                    tdiff_denoiser_last_error(b->d));
        size_t r = 0;
        for (size_t i = i0; i < i1; i++) {
            srv_fwd *f = b->take[i];
            size_t h = f->positions ? f->n_positions : f->n;
            if (st == TDIFF_OK)
                memcpy(f->logits, b->logits + r * V, h * V * sizeof(float));
            f->st = st;
            r += h;
        }
        b->forwards++;
        b->rows += rows;
        b->seqs += i1 - i0;
        i0 = i1;
    }
}

static void *batch_main(void *arg)
{
    srv_batch *b = arg;
    pthread_mutex_lock(&b->mu);
    for (;;) {
        /* wait until every member is waiting: then no one else can join this step */
        while (!(b->n_pending > 0 && b->n_pending >= b->n_members) && !(b->stopping && b->n_pending == 0))
            pthread_cond_wait(&b->ready, &b->mu);
        if (b->n_pending == 0)
            break; /* stopping, nothing left */
        size_t k = b->n_pending;
        memcpy(b->take, b->pending, k * sizeof *b->take);
        b->n_pending = 0;
        pthread_mutex_unlock(&b->mu);
        run_calls(b, k);
        pthread_mutex_lock(&b->mu);
        for (size_t i = 0; i < k; i++)
            b->take[i]->done = 1;
        pthread_cond_broadcast(&b->done);
    }
    pthread_mutex_unlock(&b->mu);
    return NULL;
}

void srv_batch_join(srv_batch *b)
{
    pthread_mutex_lock(&b->mu);
    b->n_members++;
    pthread_mutex_unlock(&b->mu);
}

void srv_batch_leave(srv_batch *b)
{
    pthread_mutex_lock(&b->mu);
    b->n_members--;
    pthread_cond_signal(&b->ready); /* the others may all be waiting for this one */
    pthread_mutex_unlock(&b->mu);
}

void srv_batch_stats(srv_batch *b, unsigned long long *forwards, unsigned long long *rows, unsigned long long *seqs)
{
    pthread_mutex_lock(&b->mu);
    *forwards = b->forwards;
    *rows = b->rows;
    *seqs = b->seqs;
    pthread_mutex_unlock(&b->mu);
}

int srv_batch_sampler(srv *s, srv_worker *w, tdiff_sampler **out, char *err, size_t cap)
{
    int32_t eos = -1;
    if (tdiff_model_special_id(s->model, TDIFF_SPECIAL_EOS, &eos) || eos < 0 || (size_t)eos >= s->n_vocab)
        eos = -1;
    tdiff_denoise_callbacks cb = {sizeof cb, w, batch_logits, NULL};
    return tdiff_sampler_create_with_callback(&cb, (int32_t)s->n_vocab, s->mask_id, eos, NULL, out, err, cap) ? -1 : 0;
}

/* Why this model cannot be batched (NULL: it can). */
static const char *unbatchable(srv *s, tdiff_denoiser *d)
{
    int64_t tc = 0, att = 0;
    if (s->mask_id < 0)
        return "an autoregressive model (no mask token)";
    tdiff_denoiser_get_int(d, TDIFF_DENOISER_TIME_CONDITIONED, &tc);
    tdiff_denoiser_get_int(d, TDIFF_DENOISER_ATTENTION, &att);
    if (tc)
        return "a time-conditioned model";
    if (att != TDIFF_ATTENTION_FULL)
        return "a causal or block-causal model";
    return NULL;
}

/* Everything a batcher owns (its thread and locks are not: the caller ends them). */
static void batch_free(srv_batch *b)
{
    tdiff_denoiser_free(b->d);
    free(b->pending);
    free(b->take);
    free(b->tp);
    free(b->tn);
    free(b->tnp);
    free(b->tpp);
    free(b->logits);
    free(b);
}

int srv_batch_start(srv *s, char *err, size_t cap)
{
    srv_batch *b = calloc(1, sizeof *b);
    if (!b) {
        snprintf(err, cap, "out of memory");
        return -1;
    }
    b->s = s;
    size_t ctx = s->n_ctx > 0 && s->n_ctx <= 65536 ? (size_t)s->n_ctx : 65536;
    size_t par = (size_t)s->o.parallel;
    /* every running request's canvas in one forward, up to --batch-rows tokens */
    b->max_rows = par * ctx < (size_t)s->o.batch_rows ? par * ctx : (size_t)s->o.batch_rows;
    if (b->max_rows < ctx)
        b->max_rows = ctx;
    const char *why = NULL;
    if (tdiff_denoiser_create(s->model, ctx, s->o.threads, NULL, &b->d, err, cap))
        goto fail;
    if ((why = unbatchable(s, b->d)) != NULL) {
        fprintf(stderr, "textdiff: serve: --batch is off: %s\n", why);
        tdiff_denoiser_free(b->d);
        free(b);
        s->batch = NULL;
        return 0;
    }
    if (tdiff_denoiser_reserve_batch(b->d, b->max_rows)) {
        snprintf(err, cap, "cannot reserve %zu batch rows: %s", b->max_rows, tdiff_denoiser_last_error(b->d));
        goto fail;
    }
    b->pending = calloc(par, sizeof *b->pending);
    b->take = calloc(par, sizeof *b->take);
    b->tp = calloc(par, sizeof *b->tp);
    b->tn = calloc(par, sizeof *b->tn);
    b->tnp = calloc(par, sizeof *b->tnp);
    b->tpp = calloc(par, sizeof *b->tpp);
    if (!b->pending || !b->take || !b->tp || !b->tn || !b->tnp || !b->tpp) {
        snprintf(err, cap, "out of memory");
        goto fail;
    }
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->ready, NULL);
    pthread_cond_init(&b->done, NULL);
    if (pthread_create(&b->thread, NULL, batch_main, b)) {
        snprintf(err, cap, "cannot start the batcher thread");
        pthread_mutex_destroy(&b->mu);
        pthread_cond_destroy(&b->ready);
        pthread_cond_destroy(&b->done);
        goto fail;
    }
    s->batch = b;
    return 0;
fail:
    batch_free(b);
    return -1;
}

void srv_batch_stop(srv *s)
{
    srv_batch *b = s->batch;
    if (!b)
        return;
    pthread_mutex_lock(&b->mu);
    b->stopping = 1;
    pthread_cond_signal(&b->ready);
    pthread_mutex_unlock(&b->mu);
    pthread_join(b->thread, NULL);
    pthread_mutex_destroy(&b->mu);
    pthread_cond_destroy(&b->ready);
    pthread_cond_destroy(&b->done);
    batch_free(b);
    s->batch = NULL;
}
