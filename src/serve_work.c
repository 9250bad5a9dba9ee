/*
 * serve_work.c -- the compute side of `textdiff serve`: a bounded FIFO of jobs,
 * --parallel worker threads, each owning one sampler (and, for /score, one
 * denoiser) over the server's one shared, immutable model, and the metrics.
 *
 * A job is shared by its connection thread (serve.c) and, while queued or
 * running, by the queue/worker: a reference count under the server's mutex.
 * Cancelling (the client left, the deadline passed, SIGTERM's grace ran out)
 * sets a flag the worker reads between steps and calls tdiff_sampler_interrupt
 * -- the one sampler call allowed from another thread -- so a long forward pass
 * stops at its next network evaluation. A worker clears job->worker under the
 * mutex before it takes the next job, so an interrupt never reaches the wrong one.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "progress.h"
#include "serve.h"

const char *const srv_endpoint_names[EP_COUNT] = {"/v1/completions", "/infill", "/tokenize", "/detokenize",
                                                  "/score", "/health", "/metrics", "/v1/models", "other"};

/* Upper bounds of the latency histograms, seconds: a tiny model's request is
 * milliseconds, an 8B model's on a CPU is minutes. */
static const double buckets[SRV_N_BUCKETS] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};

/* ---- buffers ------------------------------------------------------------- */

int srv_buf_add(srv_buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d)
            return -1;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

void srv_buf_free(srv_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

/* ---- jobs ---------------------------------------------------------------- */

srv_job *srv_job_new(void)
{
    srv_job *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    if (pthread_cond_init(&j->cond, NULL)) {
        free(j);
        return NULL;
    }
    j->refs = 1;
    return j;
}

void srv_job_free(srv_job *j)
{
    if (!j)
        return;
    pthread_cond_destroy(&j->cond);
    free(j->ids);
    for (size_t i = 0; i < j->n_stops; i++)
        free(j->stops[i]);
    srv_buf_free(&j->events);
    json_decref(j->result);
    free(j);
}

/* Drops one reference (lock held); returns the job when it must be freed. */
static srv_job *unref_locked(srv_job *j)
{
    return --j->refs == 0 ? j : NULL;
}

void srv_cancel_locked(srv *s, srv_job *j)
{
    (void)s;
    if (j->state == JOB_DONE)
        return;
    j->cancelled = 1;
    if (j->worker && j->kind != JOB_SCORE && j->worker->active)
        tdiff_sampler_interrupt(j->worker->active);
}

int srv_submit(srv *s, srv_job *j)
{
    pthread_mutex_lock(&s->mu);
    if (s->draining || s->n_queued >= (size_t)s->o.max_queue + (size_t)s->o.parallel - s->n_running) {
        s->m.rejected++;
        pthread_mutex_unlock(&s->mu);
        return -1;
    }
    j->id = ++s->next_id;
    j->refs++;
    j->state = JOB_QUEUED;
    if (s->tail)
        s->tail->next = j;
    else
        s->head = j;
    s->tail = j;
    s->n_queued++;
    s->n_active++;
    pthread_cond_signal(&s->work);
    pthread_mutex_unlock(&s->mu);
    return 0;
}

void srv_release(srv *s, srv_job *j)
{
    pthread_mutex_lock(&s->mu);
    if (j->state != JOB_DONE) {
        if (!j->cancelled && !j->timed_out)
            s->m.cancelled++;
        srv_cancel_locked(s, j);
    }
    s->n_active--;
    srv_job *f = unref_locked(j);
    pthread_mutex_unlock(&s->mu);
    srv_job_free(f);
}

/* ---- metrics ------------------------------------------------------------- */

void srv_count(srv *s, int endpoint, int status)
{
    int c = status == 401 ? 2 : status == 413 ? 3 : status == 503 ? 4 : status >= 500 ? 5 : status >= 400 ? 1 : 0;
    pthread_mutex_lock(&s->mu);
    s->m.requests[endpoint][c]++;
    pthread_mutex_unlock(&s->mu);
}

static void observe(unsigned long long *hist, double *sum, unsigned long long *count, double v)
{
    for (int b = 0; b < SRV_N_BUCKETS; b++)
        hist[b] += v <= buckets[b];
    *sum += v;
    (*count)++;
}

static int histogram(srv_buf *b, const char *name, const char *help, const unsigned long long *hist, double sum,
                     unsigned long long count)
{
    char line[256];
    int r = 0;
    snprintf(line, sizeof line, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
    r |= srv_buf_add(b, line, strlen(line));
    for (int k = 0; k < SRV_N_BUCKETS; k++) {
        snprintf(line, sizeof line, "%s_bucket{le=\"%g\"} %llu\n", name, buckets[k], hist[k]);
        r |= srv_buf_add(b, line, strlen(line));
    }
    snprintf(line, sizeof line, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n%s_count %llu\n", name, count, name, sum,
             name, count);
    r |= srv_buf_add(b, line, strlen(line));
    return r;
}

static int counter(srv_buf *b, const char *name, const char *help, const char *type, double v)
{
    char line[320];
    snprintf(line, sizeof line, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", name, help, name, type, name, v);
    return srv_buf_add(b, line, strlen(line));
}

char *srv_metrics_text(srv *s, size_t *len)
{
    static const char *const classes[6] = {"2xx", "4xx", "401", "413", "503", "5xx"};
    srv_buf b = {0};
    char line[256];
    int r = 0;
    pthread_mutex_lock(&s->mu);
    srv_metrics m = s->m;
    size_t queued = s->n_queued, running = s->n_running;
    pthread_mutex_unlock(&s->mu);
    static const char head[] = "# HELP textdiff_requests_total HTTP requests answered, by endpoint and status class\n"
                               "# TYPE textdiff_requests_total counter\n";
    r |= srv_buf_add(&b, head, sizeof head - 1);
    for (int e = 0; e < EP_COUNT; e++)
        for (int c = 0; c < 6; c++)
            if (m.requests[e][c]) {
                snprintf(line, sizeof line, "textdiff_requests_total{endpoint=\"%s\",code=\"%s\"} %llu\n",
                         srv_endpoint_names[e], classes[c], m.requests[e][c]);
                r |= srv_buf_add(&b, line, strlen(line));
            }
    r |= counter(&b, "textdiff_prompt_tokens_total", "prompt and canvas tokens of finished generations", "counter",
                 (double)m.prompt_tokens);
    r |= counter(&b, "textdiff_completion_tokens_total", "tokens generated", "counter", (double)m.completion_tokens);
    r |= counter(&b, "textdiff_scored_tokens_total", "tokens scored by /score", "counter", (double)m.scored_tokens);
    r |= counter(&b, "textdiff_forward_passes_total", "network evaluations of generations", "counter",
                 (double)m.forward_passes);
    r |= counter(&b, "textdiff_steps_total", "sampler steps", "counter", (double)m.steps);
    r |= counter(&b, "textdiff_rejected_total", "requests refused with 503 (queue full or shutting down)", "counter",
                 (double)m.rejected);
    r |= counter(&b, "textdiff_cancelled_total", "generations cancelled because the client went away", "counter",
                 (double)m.cancelled);
    r |= counter(&b, "textdiff_timeouts_total", "requests past --timeout", "counter", (double)m.timeouts);
    r |= counter(&b, "textdiff_queue_depth", "requests waiting for a worker", "gauge", (double)queued);
    r |= counter(&b, "textdiff_running", "requests on a worker", "gauge", (double)running);
    r |= counter(&b, "textdiff_workers", "worker threads (--parallel)", "gauge", (double)s->o.parallel);
    if (s->batch) {
        unsigned long long bf = 0, br = 0, bs = 0;
        srv_batch_stats(s->batch, &bf, &br, &bs);
        r |= counter(&b, "textdiff_batch_forwards_total", "batched forward passes (--batch)", "counter", (double)bf);
        r |= counter(&b, "textdiff_batch_sequences_total", "canvases carried by batched forwards", "counter",
                     (double)bs);
        r |= counter(&b, "textdiff_batch_rows_total", "tokens carried by batched forwards", "counter", (double)br);
    }
    r |= histogram(&b, "textdiff_request_duration_seconds", "generation and score requests, arrival to result",
                   m.latency, m.latency_sum, m.latency_count);
    r |= histogram(&b, "textdiff_queue_wait_seconds", "arrival to the start on a worker", m.qwait, m.qwait_sum,
                   m.qwait_count);
    if (r) {
        srv_buf_free(&b);
        return NULL;
    }
    *len = b.len;
    return b.data;
}

/* ---- running one job ------------------------------------------------------ */

/* 1 when the job should stop: the client left, the deadline passed, or the server stops hard. */
static int should_stop(srv *s, srv_job *j)
{
    pthread_mutex_lock(&s->mu);
    if (!j->cancelled && !j->timed_out && tool_seconds() > j->deadline)
        j->timed_out = 1;
    int stop = j->cancelled || j->timed_out;
    pthread_mutex_unlock(&s->mu);
    return stop;
}

/* Appends one SSE event "data: <json>\n\n" (steals obj). */
static void emit(srv *s, srv_job *j, json_t *obj)
{
    char *txt = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
    json_decref(obj);
    if (!txt)
        return;
    pthread_mutex_lock(&s->mu);
    if (j->events_sent == j->events.len) /* everything handed over: start again at the front */
        j->events.len = j->events_sent = 0;
    int r = srv_buf_add(&j->events, "data: ", 6);
    r |= srv_buf_add(&j->events, txt, strlen(txt));
    r |= srv_buf_add(&j->events, "\n\n", 2);
    (void)r; /* out of memory: the client misses a step event, the final message still comes */
    pthread_cond_broadcast(&j->cond);
    pthread_mutex_unlock(&s->mu);
    free(txt);
}

/* The sampler's settable parameters as they are now (after creation: its defaults). */
static void snapshot(srv_worker *w)
{
    w->n_defaults = 0;
    for (int p = 1; p < TDIFF_SAMPLER_STAT_FORWARD_PASSES && w->n_defaults < SRV_MAX_SETTINGS; p++) {
        srv_setting *d = &w->defaults[w->n_defaults];
        d->p = (tdiff_sampler_param)p;
        d->is_int = tdiff_sampler_param_is_int(d->p) == 1;
        if (tdiff_sampler_param_is_int(d->p) < 0 || p == TDIFF_SAMPLER_N_THREADS)
            continue;
        if (d->is_int ? tdiff_sampler_get_int(w->sampler, d->p, &d->i) : tdiff_sampler_get_float(w->sampler, d->p, &d->f))
            continue;
        w->n_defaults++;
    }
}

/* Every parameter back to the (built-in) sampler's default: a worker's samplers
 * serve requests one after another, and the batched one takes the same defaults. */
static void reset_params(srv_worker *w, tdiff_sampler *sp)
{
    for (size_t k = 0; k < w->n_defaults; k++) {
        const srv_setting *d = &w->defaults[k];
        if (d->is_int)
            tdiff_sampler_set_int(sp, d->p, d->i);
        else
            tdiff_sampler_set_float(sp, d->p, d->f);
    }
}

/* Whether a job can run on the batched sampler: everything but what needs the
 * library's denoiser behind the sampler (a KV cache, the embedding strategy). */
static int batchable(const srv_job *j)
{
    if (j->kind == JOB_SCORE)
        return 0;
    for (size_t k = 0; k < j->n_set; k++) {
        const srv_setting *st = &j->set[k];
        if (st->p == TDIFF_SAMPLER_CACHE && st->i != TDIFF_CACHE_NONE)
            return 0;
        if (st->p == TDIFF_SAMPLER_STRATEGY && st->i == TDIFF_STRATEGY_EMBEDDING)
            return 0;
    }
    return 1;
}

static int status_of(tdiff_status st)
{
    switch (st) {
    case TDIFF_E_INVALID_ARGUMENT:
    case TDIFF_E_UNSUPPORTED:
    case TDIFF_E_STATE:
    case TDIFF_E_OVERFLOW:
    case TDIFF_E_BUFFER_TOO_SMALL:
        return 400;
    default:
        return 500;
    }
}

static void fail(srv_job *j, int status, json_t *err)
{
    json_decref(j->result);
    j->result = err;
    j->http_status = status;
}

/* The ids of canvas[from..n) that are not masked (placeholders), as text. */
static json_t *canvas_text(srv *s, const int32_t *canvas, const uint8_t *masked, size_t from, size_t n,
                           int32_t *scratch)
{
    size_t k = 0;
    for (size_t i = from; i < n; i++)
        if (!masked[i])
            scratch[k++] = canvas[i];
    return srv_detok(s, scratch, k);
}

static json_t *token_piece(srv *s, int32_t id)
{
    char buf[256];
    size_t len = 0;
    if (!s->tok || tdiff_tokenizer_token_piece(s->tok, id, buf, sizeof buf, &len))
        return json_null();
    return srv_text(buf, len);
}

/* One step event: the canvas as text (masks left out), which positions changed. */
static void step_event(srv *s, srv_job *j, size_t step, size_t planned, const int32_t *canvas,
                       const uint8_t *masked_at, int32_t *prev, size_t n, size_t from, int32_t *scratch)
{
    json_t *changed = json_array();
    size_t masked = 0;
    for (size_t i = from; i < n; i++) {
        masked += masked_at[i] != 0;
        if (canvas[i] != prev[i])
            json_array_append_new(changed, json_pack("{s:I,s:i,s:o}", "position", (json_int_t)(i - from), "token",
                                                     (int)canvas[i], "piece", token_piece(s, canvas[i])));
        prev[i] = canvas[i];
    }
    char id[32];
    snprintf(id, sizeof id, "cmpl-%llu", j->id);
    json_t *ev = json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:o,s:o}", "id", id, "object", "text_completion.step", "step",
                           (json_int_t)step, "steps", (json_int_t)planned, "masked", (json_int_t)masked, "offset",
                           (json_int_t)from, "text", canvas_text(s, canvas, masked_at, from, n, scratch), "changed", changed);
    emit(s, j, ev);
}

/* d3pm and sedd: a transition graph and a schedule beside the sampler (as textdiff generate). */
static tdiff_status graph_setup(srv *s, srv_job *j, tdiff_sampler *sp, tdiff_scheduler **sched,
                                tdiff_transition **tr, char *err, size_t cap)
{
    int64_t strategy = 0, steps = 0;
    tdiff_sampler_get_int(sp, TDIFF_SAMPLER_STRATEGY, &strategy);
    tdiff_sampler_get_int(sp, TDIFF_SAMPLER_STEPS, &steps);
    if (strategy != TDIFF_STRATEGY_D3PM && strategy != TDIFF_STRATEGY_SEDD_EULER &&
        strategy != TDIFF_STRATEGY_SEDD_ANALYTIC)
        return TDIFF_OK;
    tdiff_schedule_kind kind = strategy == TDIFF_STRATEGY_D3PM ? TDIFF_SCHEDULE_LINEAR : TDIFF_SCHEDULE_LOGLINEAR;
    tdiff_status st = tdiff_scheduler_create(kind, NULL, sched, err, cap);
    if (!st)
        st = tdiff_transition_create(j->uniform_graph ? TDIFF_TRANSITION_UNIFORM : TDIFF_TRANSITION_ABSORBING,
                                     s->n_vocab, s->mask_id, *sched, (size_t)steps, NULL, tr, err, cap);
    if (!st && (st = tdiff_sampler_set_transition(sp, *tr)) == TDIFF_OK)
        st = tdiff_sampler_set_scheduler(sp, *sched);
    if (st && !err[0])
        snprintf(err, cap, "%s", tdiff_sampler_last_error(sp));
    return st;
}

static size_t find_stop(const srv_job *j, const char *txt, size_t len)
{
    size_t cut = len;
    for (size_t k = 0; k < j->n_stops; k++) {
        size_t sl = strlen(j->stops[k]);
        for (size_t i = 0; sl && i + sl <= cut; i++)
            if (!memcmp(txt + i, j->stops[k], sl)) {
                cut = i;
                break;
            }
    }
    return cut;
}

/* The final answer of a generation: OpenAI's text_completion object (plus tokens and timings). */
static json_t *completion_result(srv *s, srv_job *j, tdiff_sampler *sp, const int32_t *out, size_t n_out,
                                 size_t planned_len)
{
    char id[32];
    snprintf(id, sizeof id, "cmpl-%llu", j->id);
    size_t len = 0;
    int stopped = n_out < planned_len;
    char *txt = srv_detok_raw(s, out, n_out, &len);
    if (txt && j->kind == JOB_COMPLETE) {
        size_t cut = find_stop(j, txt, len);
        stopped |= cut < len;
        len = cut;
    }
    json_t *tokens = json_array();
    for (size_t i = 0; i < n_out; i++)
        json_array_append_new(tokens, json_integer(out[i]));
    int64_t fw = 0, steps = 0;
    double total = 0;
    tdiff_sampler_get_int(sp, TDIFF_SAMPLER_STAT_FORWARD_PASSES, &fw);
    tdiff_sampler_get_int(sp, TDIFF_SAMPLER_STAT_STEPS, &steps);
    tdiff_sampler_get_float(sp, TDIFF_SAMPLER_STAT_TOTAL_SECONDS, &total);
    size_t completion = j->kind == JOB_COMPLETE ? n_out : 0;
    if (j->kind == JOB_INFILL)
        for (size_t i = 0; i < j->n_ids; i++)
            completion += j->ids[i] == s->mask_id;
    json_t *choice = json_pack("{s:i,s:o,s:o,s:s}", "index", 0, "text", srv_text(txt ? txt : "", txt ? len : 0),
                               "tokens", tokens, "finish_reason", j->kind == JOB_INFILL ? "stop"
                                                                  : stopped ? "stop" : "length");
    if (choice && j->kind == JOB_INFILL) { /* the text of each hole, in order */
        json_t *fills = json_array();
        for (size_t i = 0; i < n_out && i < j->n_ids;) {
            if (j->ids[i] != s->mask_id) {
                i++;
                continue;
            }
            size_t e = i;
            while (e < j->n_ids && e < n_out && j->ids[e] == s->mask_id)
                e++;
            json_array_append_new(fills, srv_detok(s, out + i, e - i));
            i = e;
        }
        json_object_set_new(choice, "fills", fills);
    }
    free(txt);
    json_t *r = json_pack("{s:s,s:s,s:I,s:s,s:[o],s:{s:I,s:I,s:I},s:{s:I,s:I,s:f}}", "id", id, "object",
                          j->kind == JOB_INFILL ? "infill" : "text_completion", "created", (json_int_t)time(NULL),
                          "model", s->model_name, "choices", choice, "usage", "prompt_tokens",
                          (json_int_t)(j->kind == JOB_COMPLETE ? j->n_ids : j->n_ids - completion),
                          "completion_tokens", (json_int_t)completion, "total_tokens",
                          (json_int_t)(j->kind == JOB_COMPLETE ? j->n_ids + completion : j->n_ids), "timings",
                          "forward_passes", (json_int_t)fw, "steps", (json_int_t)steps, "seconds", total);
    pthread_mutex_lock(&s->mu);
    s->m.prompt_tokens += j->kind == JOB_COMPLETE ? j->n_ids : j->n_ids - completion;
    s->m.completion_tokens += completion;
    s->m.forward_passes += (unsigned long long)fw;
    s->m.steps += (unsigned long long)steps;
    pthread_mutex_unlock(&s->mu);
    return r;
}

static void run_generation(srv *s, srv_worker *w, srv_job *j)
{
    tdiff_sampler *sp = w->active;
    srv_batch *batch = sp == w->bsampler ? s->batch : NULL;
    int member = 0;
    tdiff_scheduler *sched = NULL;
    tdiff_transition *tr = NULL;
    int32_t *canvas = NULL, *prev = NULL, *scratch = NULL, *out = NULL;
    uint8_t *masked = NULL;
    char err[512] = "";
    reset_params(w, sp);
    tdiff_sampler_set_int(sp, TDIFF_SAMPLER_N_THREADS, s->o.threads);
    tdiff_status st = TDIFF_OK;
    for (size_t k = 0; k < j->n_set && !st; k++)
        st = j->set[k].is_int ? tdiff_sampler_set_int(sp, j->set[k].p, j->set[k].i)
                              : tdiff_sampler_set_float(sp, j->set[k].p, j->set[k].f);
    if (st) {
        fail(j, 400, srv_error("invalid_request_error", "%s", tdiff_sampler_last_error(sp)));
        goto done;
    }
    if ((st = graph_setup(s, j, sp, &sched, &tr, err, sizeof err)) != TDIFF_OK) {
        fail(j, status_of(st), srv_error("invalid_request_error", "%s", err));
        goto done;
    }
    if (batch) { /* from here to the end of the generation, the batcher waits for this worker's steps */
        srv_batch_join(batch);
        member = 1;
    }
    st = j->kind == JOB_INFILL ? tdiff_sampler_begin_infill(sp, j->ids, j->n_ids)
                               : tdiff_sampler_begin(sp, j->ids, j->n_ids);
    if (st) {
        fail(j, status_of(st), srv_error(status_of(st) == 400 ? "invalid_request_error" : "server_error", "%s: %s",
                                         tdiff_status_string(st), tdiff_sampler_last_error(sp)));
        goto done;
    }
    size_t n = 0, planned = 0;
    tdiff_sampler_canvas(sp, NULL, NULL, NULL, 0, &n);
    tdiff_sampler_progress(sp, NULL, NULL, &planned);
    canvas = malloc((n + 1) * sizeof *canvas);
    prev = malloc((n + 1) * sizeof *prev);
    scratch = malloc((n + 1) * sizeof *scratch);
    out = malloc((n + 1) * sizeof *out);
    masked = malloc(n + 1);
    if (!canvas || !prev || !scratch || !out || !masked || tdiff_sampler_canvas(sp, prev, NULL, masked, n, &n)) {
        tdiff_sampler_cancel(sp);
        fail(j, 500, srv_error("server_error", "out of memory"));
        goto done;
    }
    /* the region the client sees: after the prompt (generate), the whole canvas (infill) */
    size_t from = j->kind == JOB_INFILL ? 0 : n;
    for (size_t i = 0; i < n; i++)
        if (masked[i] && i < from)
            from = i;
    if (from == n)
        from = j->n_ids < n ? j->n_ids : 0;
    pthread_mutex_lock(&s->mu);
    j->http_status = 200; /* begun: a streaming answer can start */
    pthread_cond_broadcast(&j->cond);
    pthread_mutex_unlock(&s->mu);
    int done = 0;
    size_t step = 0;
    while (!done) {
        if (should_stop(s, j)) {
            tdiff_sampler_cancel(sp);
            st = TDIFF_E_ABORTED;
            break;
        }
        if ((st = tdiff_sampler_step(sp, &done)) != TDIFF_OK)
            break;
        step++;
        if (j->stream && tdiff_sampler_canvas(sp, canvas, NULL, masked, n, &n) == TDIFF_OK) {
            tdiff_sampler_progress(sp, NULL, NULL, &planned);
            step_event(s, j, step, planned, canvas, masked, prev, n, from, scratch);
        }
    }
    if (st == TDIFF_E_ABORTED) {
        pthread_mutex_lock(&s->mu);
        int timed_out = j->timed_out;
        s->m.timeouts += (unsigned long long)timed_out;
        pthread_mutex_unlock(&s->mu);
        fail(j, timed_out ? 504 : 503,
             srv_error(timed_out ? "timeout" : "cancelled", timed_out ? "the request ran past --timeout (%g s)"
                                                                      : "cancelled (the client left, or the server "
                                                                        "stops)", s->o.timeout_s));
        goto done;
    }
    size_t n_out = 0;
    if (st || (st = tdiff_sampler_result(sp, out, n + 1, &n_out)) != TDIFF_OK) {
        int progress_state = 0;
        tdiff_sampler_progress(sp, &progress_state, NULL, NULL);
        if (progress_state)
            tdiff_sampler_cancel(sp);
        fail(j, status_of(st), srv_error(status_of(st) == 400 ? "invalid_request_error" : "server_error", "%s: %s",
                                         tdiff_status_string(st), tdiff_sampler_last_error(sp)));
        goto done;
    }
    fail(j, 200, completion_result(s, j, sp, out, n_out, j->kind == JOB_INFILL ? n : n - from));
done:
    if (member)
        srv_batch_leave(batch);
    tdiff_sampler_set_transition(sp, NULL);
    tdiff_sampler_set_scheduler(sp, NULL);
    tdiff_transition_free(tr);
    tdiff_scheduler_free(sched);
    free(canvas);
    free(prev);
    free(scratch);
    free(out);
    free(masked);
}

static void run_score(srv *s, srv_worker *w, srv_job *j)
{
    char err[512] = "";
    size_t window = j->window;
    if (s->n_ctx > 0 && window > (size_t)s->n_ctx)
        window = (size_t)s->n_ctx;
    if (window > j->n_ids)
        window = j->n_ids;
    if (window > w->score_len) {
        tdiff_denoiser_free(w->score_d);
        w->score_d = NULL;
        w->score_len = 0;
        if (tdiff_denoiser_create(s->model, window, s->o.threads, NULL, &w->score_d, err, sizeof err)) {
            fail(j, 500, srv_error("server_error", "cannot create the denoiser: %s", err));
            return;
        }
        w->score_len = window;
    }
    tdiff_scheduler *sched = NULL;
    if (tdiff_scheduler_create((tdiff_schedule_kind)j->schedule, NULL, &sched, err, sizeof err)) {
        fail(j, 500, srv_error("server_error", "cannot create the scheduler: %s", err));
        return;
    }
    double total = 0.0, var = 0.0;
    for (size_t w0 = 0, k = 0; w0 < j->n_ids; w0 += window, k++) {
        if (should_stop(s, j)) {
            fail(j, j->timed_out ? 504 : 503, srv_error(j->timed_out ? "timeout" : "cancelled", "%s",
                                                        j->timed_out ? "the request ran past --timeout"
                                                                     : "cancelled"));
            tdiff_scheduler_free(sched);
            return;
        }
        size_t n = j->n_ids - w0 < window ? j->n_ids - w0 : window;
        double nats = 0, se = 0;
        tdiff_status st = tdiff_objective_nelbo_denoiser(sched, w->score_d, j->ids + w0, n, s->mask_id,
                                                         (tdiff_nelbo_method)j->method, j->samples, j->seed + k,
                                                         &nats, NULL, &se, err, sizeof err);
        if (st) {
            fail(j, status_of(st), srv_error("invalid_request_error", "%s", err));
            tdiff_scheduler_free(sched);
            return;
        }
        total += nats;
        var += se * se;
    }
    tdiff_scheduler_free(sched);
    double per = total / (double)j->n_ids;
    fail(j, 200, json_pack("{s:f,s:f,s:I,s:f,s:f,s:I,s:I,s:I}", "nelbo_nats_per_token", per, "perplexity_bound",
                           exp(per), "tokens", (json_int_t)j->n_ids, "nelbo_nats_total", total, "std_error_total",
                           sqrt(var), "samples", (json_int_t)j->samples, "window", (json_int_t)window, "seed",
                           (json_int_t)j->seed));
    pthread_mutex_lock(&s->mu);
    s->m.scored_tokens += j->n_ids;
    pthread_mutex_unlock(&s->mu);
}

/* ---- the workers ----------------------------------------------------------- */

static void *worker_main(void *arg)
{
    srv_worker *w = arg;
    srv *s = w->srv;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->head && !s->stopping)
            pthread_cond_wait(&s->work, &s->mu);
        if (!s->head)
            break;
        srv_job *j = s->head;
        s->head = j->next;
        if (!s->head)
            s->tail = NULL;
        j->next = NULL;
        s->n_queued--;
        s->n_running++;
        j->state = JOB_RUNNING;
        j->worker = w;
        w->active = s->batch && batchable(j) ? w->bsampler : w->sampler;
        double t0 = tool_seconds();
        observe(s->m.qwait, &s->m.qwait_sum, &s->m.qwait_count, t0 - j->t_arrive);
        int skip = j->cancelled || t0 > j->deadline;
        if (!j->cancelled && t0 > j->deadline) {
            j->timed_out = 1;
            s->m.timeouts++;
        }
        pthread_mutex_unlock(&s->mu);

        if (skip)
            fail(j, j->timed_out ? 504 : 503, srv_error(j->timed_out ? "timeout" : "cancelled", "%s",
                                                        j->timed_out ? "the request waited past --timeout in the queue"
                                                                     : "cancelled before it started"));
        else if (j->kind == JOB_SCORE)
            run_score(s, w, j);
        else
            run_generation(s, w, j);

        pthread_mutex_lock(&s->mu);
        double t1 = tool_seconds();
        if (!skip && j->http_status == 200) {
            observe(s->m.latency, &s->m.latency_sum, &s->m.latency_count, t1 - j->t_arrive);
            s->avg_job_s = s->avg_job_s > 0 ? 0.8 * s->avg_job_s + 0.2 * (t1 - t0) : t1 - t0;
        }
        j->worker = NULL;
        w->active = NULL;
        j->state = JOB_DONE;
        s->n_running--;
        pthread_cond_broadcast(&j->cond);
        srv_job *f = unref_locked(j);
        pthread_mutex_unlock(&s->mu);
        srv_job_free(f);
        pthread_mutex_lock(&s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

int srv_workers_start(srv *s, char *err, size_t cap)
{
    s->workers = calloc((size_t)s->o.parallel, sizeof *s->workers);
    if (!s->workers) {
        snprintf(err, cap, "out of memory");
        return -1;
    }
    for (int i = 0; i < s->o.parallel; i++) {
        srv_worker *w = &s->workers[i];
        w->srv = s;
        w->index = i;
        if (tdiff_sampler_create(s->model, NULL, &w->sampler, err, cap))
            return -1;
        snapshot(w);
        if (s->batch && srv_batch_sampler(s, w, &w->bsampler, err, cap)) {
            tdiff_sampler_free(w->sampler);
            w->sampler = NULL;
            return -1;
        }
        if (pthread_create(&w->thread, NULL, worker_main, w)) {
            tdiff_sampler_free(w->sampler);
            tdiff_sampler_free(w->bsampler);
            w->sampler = w->bsampler = NULL;
            snprintf(err, cap, "cannot start worker thread %d", i);
            return -1;
        }
    }
    return 0;
}

void srv_workers_stop(srv *s)
{
    if (!s->workers)
        return;
    pthread_mutex_lock(&s->mu);
    s->stopping = 1;
    pthread_cond_broadcast(&s->work);
    pthread_mutex_unlock(&s->mu);
    for (int i = 0; i < s->o.parallel; i++) {
        srv_worker *w = &s->workers[i];
        if (w->sampler)
            pthread_join(w->thread, NULL);
        tdiff_sampler_free(w->sampler);
        tdiff_sampler_free(w->bsampler);
        tdiff_denoiser_free(w->score_d);
    }
    free(s->workers);
    s->workers = NULL;
}
