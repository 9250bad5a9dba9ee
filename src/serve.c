/*
 * serve.c -- `textdiff serve [MODEL]`: an HTTP server (libmicrohttpd) over one
 * loaded model. This file owns the command line, the listening socket, routing,
 * the limits (body size, API key, per-request deadline) and the answers'
 * transport: plain JSON, or Server-Sent Events with every refinement step.
 * The compute side (queue, workers, metrics) is serve_work.c; JSON is
 * serve_json.c. docs/server.md is the user's page.
 *
 * libmicrohttpd runs one thread per connection (MHD_USE_THREAD_PER_CONNECTION),
 * so a connection thread may block while its job waits or runs. While it
 * waits it looks at its socket every 200 ms: a peer that closed (recv returns
 * 0) cancels the job, which interrupts the worker's sampler. Every path in a
 * request is matched against a fixed table; none reaches the file system.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "progress.h"
#include "serve.h"

#define POLL_MS 200        /* how often a waiting connection looks at its socket and deadline */
#define KEEPALIVE_S 15.0   /* an SSE comment after this long without an event (proxies drop idle streams) */

static int usage(FILE *f, int code)
{
    fprintf(f,
            "usage: textdiff serve [MODEL] [options]\n\n"
            "An HTTP server over one model: POST /v1/completions (OpenAI-style; \"stream\": true sends every\n"
            "refinement step as Server-Sent Events), /infill, /tokenize, /detokenize, /score; GET /health,\n"
            "/metrics (Prometheus), /v1/models. Sampler parameters go by their public names (docs/server.md).\n"
            "MODEL left out: $TEXTDIFF_MODEL or the bundled model.\n"
            "  -m, --model FILE     the model (same as MODEL)\n"
            "  --host H             address to bind (default 127.0.0.1; 0.0.0.0 or :: for every interface)\n"
            "  --port N             port (default 8080; 0 = any free port, printed on stderr)\n"
            "  --parallel N         worker threads = concurrent generations (default 1)\n"
            "  --max-queue N        requests that may wait for a worker; more get 503 + Retry-After (default 16)\n"
            "  --timeout S          seconds a request may take from arrival to its answer (default 300)\n"
            "  --api-key K          require 'Authorization: Bearer K' (or $TEXTDIFF_API_KEY); /health stays open\n"
            "  --threads N          threads of each worker's network (default 1)\n"
            "  --batch              step the running generations together: one batched forward per step\n"
            "                       across them (identical results; docs/server.md)\n"
            "  --batch-rows N       tokens one batched forward may carry (default 4096)\n"
            "  --max-body BYTES     largest request body (default 1048576)\n"
            "  --max-tokens N       largest gen_length / max_tokens of a request (default 4096)\n"
            "  --max-steps N        largest steps of a request (default 4096)\n"
            "  --grace S            on SIGTERM/SIGINT, seconds running requests may finish (default 10)\n");
    return code;
}

static int num(const char *opt, const char *v, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (!*v || *end || errno || !(x >= lo && x <= hi)) {
        fprintf(stderr, "textdiff: serve: %s '%s': expected a number in [%g, %g]\n", opt, v, lo, hi);
        return -1;
    }
    *out = x;
    return 0;
}

static int parse_opts(int argc, char **argv, srv_opts *o)
{
    *o = (srv_opts){.host = "127.0.0.1", .port = 8080, .parallel = 1, .max_queue = 16, .timeout_s = 300,
                    .max_body = 1 << 20, .threads = 1, .max_tokens = 4096, .max_steps = 4096, .grace_s = 10,
                    .batch_rows = 4096};
    o->api_key = getenv("TEXTDIFF_API_KEY");
    if (o->api_key && !*o->api_key)
        o->api_key = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc;
        double x;
        if (tool_is_help(a))
            return usage(stdout, 0) - 1; /* -1: stop, exit 0 */
        if ((!strcmp(a, "-m") || !strcmp(a, "--model")) && has) {
            o->model_path = argv[++i];
        } else if (!strcmp(a, "--host") && has) {
            o->host = argv[++i];
        } else if (!strcmp(a, "--api-key") && has) {
            o->api_key = argv[++i];
        } else if (!strcmp(a, "--port") && has) {
            if (num(a, argv[++i], 0, 65535, &x))
                return 2;
            o->port = (int)x;
        } else if (!strcmp(a, "--parallel") && has) {
            if (num(a, argv[++i], 1, 256, &x))
                return 2;
            o->parallel = (int)x;
        } else if (!strcmp(a, "--max-queue") && has) {
            if (num(a, argv[++i], 0, 100000, &x))
                return 2;
            o->max_queue = (int)x;
        } else if (!strcmp(a, "--timeout") && has) {
            if (num(a, argv[++i], 0.001, 1e6, &x))
                return 2;
            o->timeout_s = x;
        } else if (!strcmp(a, "--threads") && has) {
            if (num(a, argv[++i], 1, 256, &x))
                return 2;
            o->threads = (int)x;
        } else if (!strcmp(a, "--batch")) {
            o->batch = 1;
        } else if (!strcmp(a, "--batch-rows") && has) {
            if (num(a, argv[++i], 1, 1 << 20, &x))
                return 2;
            o->batch_rows = (int)x;
        } else if (!strcmp(a, "--max-body") && has) {
            if (num(a, argv[++i], 64, 1 << 30, &x))
                return 2;
            o->max_body = (size_t)x;
        } else if (!strcmp(a, "--max-tokens") && has) {
            if (num(a, argv[++i], 1, 1 << 20, &x))
                return 2;
            o->max_tokens = (size_t)x;
        } else if (!strcmp(a, "--max-steps") && has) {
            if (num(a, argv[++i], 1, 1 << 20, &x))
                return 2;
            o->max_steps = (size_t)x;
        } else if (!strcmp(a, "--grace") && has) {
            if (num(a, argv[++i], 0, 3600, &x))
                return 2;
            o->grace_s = x;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "textdiff: serve: unknown option '%s' (or it needs a value)\n", a);
            return 2;
        } else if (!o->model_path) {
            o->model_path = a;
        } else {
            fprintf(stderr, "textdiff: serve: too many arguments (textdiff serve [MODEL] [options])\n");
            return 2;
        }
    }
    return 0;
}

/* ---- per-request state ---------------------------------------------------- */

typedef struct conn_state {
    int endpoint;
    int too_big;
    srv_buf body;
} conn_state;

typedef struct stream_ctx {
    srv *s;
    srv_job *j;
    struct MHD_Connection *c;
    int final_queued;
    double last_write;
} stream_ctx;

static const struct route {
    const char *path, *method;
    int endpoint;
} routes[] = {
    {"/v1/completions", "POST", EP_COMPLETIONS}, {"/completions", "POST", EP_COMPLETIONS},
    {"/infill", "POST", EP_INFILL},              {"/tokenize", "POST", EP_TOKENIZE},
    {"/detokenize", "POST", EP_DETOKENIZE},      {"/score", "POST", EP_SCORE},
    {"/health", "GET", EP_HEALTH},               {"/metrics", "GET", EP_METRICS},
    {"/v1/models", "GET", EP_MODELS},            {"/models", "GET", EP_MODELS},
};

static const struct route *route_of(const char *url)
{
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        if (!strcmp(url, routes[i].path))
            return &routes[i];
    return NULL;
}

/* Constant-time comparison: the time depends on the lengths only, never on where the bytes differ. */
static int key_equal(const char *given, size_t n, const char *key)
{
    size_t k = strlen(key);
    unsigned diff = (unsigned)(n != k);
    for (size_t i = 0; i < k; i++)
        diff |= (unsigned char)key[i] ^ (unsigned char)(i < n ? given[i] : 0);
    return diff == 0;
}

static int authorized(srv *s, struct MHD_Connection *c)
{
    if (!s->o.api_key)
        return 1;
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    if (h && !strncmp(h, "Bearer ", 7))
        return key_equal(h + 7, strlen(h + 7), s->o.api_key);
    h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-API-Key");
    return h && key_equal(h, strlen(h), s->o.api_key);
}

static enum MHD_Result reply_text(srv *s, struct MHD_Connection *c, int endpoint, int status, char *txt, size_t len,
                                  const char *type, const char *retry_after)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, txt, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(txt);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", type);
    if (retry_after)
        MHD_add_response_header(r, "Retry-After", retry_after);
    if (status == 401)
        MHD_add_response_header(r, "WWW-Authenticate", "Bearer");
    if (status == 405)
        MHD_add_response_header(r, "Allow", endpoint == EP_HEALTH || endpoint == EP_METRICS || endpoint == EP_MODELS
                                                ? "GET" : "POST");
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    srv_count(s, endpoint, status);
    return ret;
}

/* Answers obj (stolen) as JSON. */
static enum MHD_Result reply(srv *s, struct MHD_Connection *c, int endpoint, int status, json_t *obj,
                             const char *retry_after)
{
    char *txt = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
    json_decref(obj);
    if (!txt)
        return MHD_NO;
    size_t len = strlen(txt);
    char *t = realloc(txt, len + 2);
    if (!t) {
        free(txt);
        return MHD_NO;
    }
    t[len] = '\n';
    t[len + 1] = '\0';
    return reply_text(s, c, endpoint, status, t, len + 1, "application/json", retry_after);
}

static enum MHD_Result reply_error(srv *s, struct MHD_Connection *c, int endpoint, int status, const char *type,
                                   const char *msg)
{
    return reply(s, c, endpoint, status, srv_error(type, "%s", msg), NULL);
}

static enum MHD_Result overloaded(srv *s, struct MHD_Connection *c, int endpoint)
{
    char retry[32];
    pthread_mutex_lock(&s->mu);
    int draining = s->draining;
    double wait = s->avg_job_s * (double)(s->n_queued + 1) / (double)s->o.parallel;
    pthread_mutex_unlock(&s->mu);
    snprintf(retry, sizeof retry, "%d", wait < 1 ? 1 : wait > 3600 ? 3600 : (int)(wait + 0.999));
    return reply(s, c, endpoint, 503,
                 srv_error("overloaded", draining ? "the server is shutting down"
                                                  : "every worker is busy and the queue is full (--max-queue); "
                                                    "retry later"),
                 retry);
}

/* ---- waiting for a job ------------------------------------------------------ */

/* 1 when the peer has closed its side (or the socket failed). */
static int peer_gone(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!ci)
        return 0;
    char b;
    ssize_t r = recv(ci->connect_fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

static void deadline_in(struct timespec *ts, long ms)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_nsec += ms * 1000000L;
    ts->tv_sec += ts->tv_nsec / 1000000000L;
    ts->tv_nsec %= 1000000000L;
}

/* Checks the deadline (lock held): past it, the job is marked and its worker interrupted. */
static void check_deadline(srv *s, srv_job *j)
{
    if (j->state != JOB_DONE && !j->timed_out && tool_seconds() > j->deadline) {
        j->timed_out = 1;
        if (j->state == JOB_QUEUED)
            s->m.timeouts++;
        if (j->worker && j->kind != JOB_SCORE)
            tdiff_sampler_interrupt(j->worker->sampler);
    }
}

enum { WAIT_DONE, WAIT_BEGUN };

/* Waits (lock held) until the job is done (or, WAIT_BEGUN, has begun with status 200).
 * 0; -1 when the peer left; -2 when the deadline passed while it was still queued. */
static int wait_job(srv *s, srv_job *j, struct MHD_Connection *c, int until)
{
    for (;;) {
        if (j->state == JOB_DONE || (until == WAIT_BEGUN && j->http_status == 200))
            return 0;
        check_deadline(s, j);
        if (j->timed_out && j->state == JOB_QUEUED)
            return -2;
        struct timespec ts;
        deadline_in(&ts, POLL_MS);
        pthread_cond_timedwait(&j->cond, &s->mu, &ts);
        pthread_mutex_unlock(&s->mu);
        int gone = peer_gone(c);
        pthread_mutex_lock(&s->mu);
        if (gone && j->state != JOB_DONE)
            return -1;
    }
}

/* ---- Server-Sent Events ------------------------------------------------------ */

static void queue_final(stream_ctx *x)
{
    srv_job *j = x->j;
    char *txt = j->result ? json_dumps(j->result, JSON_COMPACT) : NULL;
    srv_buf_add(&j->events, "data: ", 6);
    srv_buf_add(&j->events, txt ? txt : "{\"error\":{\"message\":\"no result\",\"type\":\"server_error\"}}",
                txt ? strlen(txt) : 56);
    srv_buf_add(&j->events, "\n\ndata: [DONE]\n\n", 16);
    free(txt);
    x->final_queued = 1;
}

static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    stream_ctx *x = cls;
    srv *s = x->s;
    srv_job *j = x->j;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        size_t avail = j->events.len - j->events_sent;
        if (avail) {
            size_t n = avail < max ? avail : max;
            memcpy(buf, j->events.data + j->events_sent, n);
            j->events_sent += n;
            pthread_mutex_unlock(&s->mu);
            x->last_write = tool_seconds();
            return (ssize_t)n;
        }
        if (j->state == JOB_DONE) {
            if (!x->final_queued) {
                queue_final(x);
                continue;
            }
            pthread_mutex_unlock(&s->mu);
            return MHD_CONTENT_READER_END_OF_STREAM;
        }
        if (tool_seconds() - x->last_write > KEEPALIVE_S) {
            pthread_mutex_unlock(&s->mu);
            x->last_write = tool_seconds();
            memcpy(buf, ": keep-alive\n\n", 14); /* max is at least the block size, 4096 */
            return 14;
        }
        check_deadline(s, j);
        struct timespec ts;
        deadline_in(&ts, POLL_MS);
        pthread_cond_timedwait(&j->cond, &s->mu, &ts);
        if (j->events.len > j->events_sent || j->state == JOB_DONE)
            continue;
        pthread_mutex_unlock(&s->mu);
        int gone = peer_gone(x->c);
        pthread_mutex_lock(&s->mu);
        if (gone) {
            pthread_mutex_unlock(&s->mu);
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
    }
}

static void sse_free(void *cls)
{
    stream_ctx *x = cls;
    srv_release(x->s, x->j); /* cancels a generation the client did not wait for */
    free(x);
}

/* ---- the compute endpoints ----------------------------------------------------- */

static enum MHD_Result compute(srv *s, struct MHD_Connection *c, conn_state *cs, srv_kind kind)
{
    int status;
    char err[512];
    srv_job *j = srv_parse_job(s, kind, cs->body.data, cs->body.len, &status, err, sizeof err);
    if (!j)
        return reply_error(s, c, cs->endpoint, status, status == 400 ? "invalid_request_error" : "server_error",
                           err);
    j->endpoint = cs->endpoint;
    j->t_arrive = tool_seconds();
    j->deadline = j->t_arrive + s->o.timeout_s;
    if (srv_submit(s, j)) {
        srv_job_free(j); /* never queued: the connection's alone */
        return overloaded(s, c, cs->endpoint);
    }
    pthread_mutex_lock(&s->mu);
    int w = wait_job(s, j, c, j->stream ? WAIT_BEGUN : WAIT_DONE);
    if (w == -1) { /* the client left: srv_release cancels */
        pthread_mutex_unlock(&s->mu);
        srv_release(s, j);
        return MHD_NO;
    }
    if (w == -2 || (j->state == JOB_DONE && (!j->stream || j->http_status != 200))) {
        int st = w == -2 ? 504 : j->http_status;
        json_t *res = w == -2 ? srv_error("timeout", "the request waited past --timeout (%g s) in the queue",
                                          s->o.timeout_s)
                              : json_incref(j->result);
        pthread_mutex_unlock(&s->mu);
        srv_release(s, j);
        return reply(s, c, cs->endpoint, st, res, NULL);
    }
    pthread_mutex_unlock(&s->mu);
    /* a stream that has begun: hand its events to libmicrohttpd */
    stream_ctx *x = calloc(1, sizeof *x);
    struct MHD_Response *r = x ? MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, sse_read, x, sse_free)
                               : NULL;
    if (!r) {
        free(x);
        srv_release(s, j);
        return MHD_NO;
    }
    *x = (stream_ctx){.s = s, .j = j, .c = c, .last_write = tool_seconds()};
    MHD_add_response_header(r, "Content-Type", "text/event-stream");
    MHD_add_response_header(r, "Cache-Control", "no-cache");
    MHD_add_response_header(r, "X-Accel-Buffering", "no"); /* nginx: pass the events through unbuffered */
    enum MHD_Result ret = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    srv_count(s, cs->endpoint, 200);
    return ret;
}

static enum MHD_Result health(srv *s, struct MHD_Connection *c)
{
    pthread_mutex_lock(&s->mu);
    int draining = s->draining;
    json_t *o = json_pack("{s:s,s:s,s:i,s:I,s:I,s:I,s:f}", "status", draining ? "shutting_down" : "ok", "model",
                          s->model_name, "workers", s->o.parallel, "running", (json_int_t)s->n_running, "queued",
                          (json_int_t)s->n_queued, "max_queue", (json_int_t)s->o.max_queue, "uptime_seconds",
                          tool_seconds() - s->t_start);
    pthread_mutex_unlock(&s->mu);
    return reply(s, c, EP_HEALTH, draining ? 503 : 200, o, NULL);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                              const char *version, const char *upload, size_t *upload_size, void **ptr)
{
    (void)version;
    srv *s = cls;
    conn_state *cs = *ptr;
    if (!cs) { /* the headers: route, method, key and declared size before any body is read */
        const struct route *rt = route_of(url);
        if (!(cs = calloc(1, sizeof *cs)))
            return MHD_NO;
        *ptr = cs;
        cs->endpoint = rt ? rt->endpoint : EP_OTHER;
        if (!rt)
            return reply_error(s, c, EP_OTHER, 404, "not_found", "no such endpoint (docs/server.md lists them)");
        if (strcmp(method, rt->method) && !(rt->method[0] == 'G' && !strcmp(method, "HEAD")))
            return reply_error(s, c, cs->endpoint, 405, "invalid_request_error", "method not allowed");
        if (cs->endpoint != EP_HEALTH && !authorized(s, c))
            return reply_error(s, c, cs->endpoint, 401, "authentication_error",
                               "a valid API key is required (Authorization: Bearer KEY)");
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
        if (cl && strtoull(cl, NULL, 10) > s->o.max_body)
            return reply_error(s, c, cs->endpoint, 413, "invalid_request_error", "the body is larger than --max-body");
        return MHD_YES;
    }
    if (*upload_size) {
        if (cs->body.len + *upload_size > s->o.max_body)
            cs->too_big = 1;
        else if (srv_buf_add(&cs->body, upload, *upload_size))
            return MHD_NO;
        *upload_size = 0;
        return MHD_YES;
    }
    if (cs->too_big)
        return reply_error(s, c, cs->endpoint, 413, "invalid_request_error", "the body is larger than --max-body");
    pthread_mutex_lock(&s->mu);
    int draining = s->draining;
    pthread_mutex_unlock(&s->mu);
    int st;
    switch (cs->endpoint) {
    case EP_HEALTH:
        return health(s, c);
    case EP_METRICS: {
        size_t len = 0;
        char *txt = srv_metrics_text(s, &len);
        return txt ? reply_text(s, c, EP_METRICS, 200, txt, len, "text/plain; version=0.0.4", NULL) : MHD_NO;
    }
    case EP_MODELS:
        return reply(s, c, EP_MODELS, 200, srv_models(s), NULL);
    case EP_TOKENIZE: {
        json_t *r = srv_tokenize(s, cs->body.data, cs->body.len, &st);
        return reply(s, c, EP_TOKENIZE, st, r, NULL);
    }
    case EP_DETOKENIZE: {
        json_t *r = srv_detokenize(s, cs->body.data, cs->body.len, &st);
        return reply(s, c, EP_DETOKENIZE, st, r, NULL);
    }
    default:
        if (draining)
            return overloaded(s, c, cs->endpoint);
        return compute(s, c, cs, cs->endpoint == EP_COMPLETIONS ? JOB_COMPLETE
                                 : cs->endpoint == EP_INFILL    ? JOB_INFILL : JOB_SCORE);
    }
}

static void completed(void *cls, struct MHD_Connection *c, void **ptr, enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    conn_state *cs = *ptr;
    if (cs) {
        srv_buf_free(&cs->body);
        free(cs);
    }
    *ptr = NULL;
}

/* ---- life ----------------------------------------------------------------------- */

static void model_name(const char *path, char *out, size_t cap)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    size_t n = strlen(b);
    if (n > 5 && !strcmp(b + n - 5, ".gguf"))
        n -= 5;
    snprintf(out, cap, "%.*s", (int)n, b);
}

/* SIGTERM and SIGINT write a byte here (async-signal-safe); the main thread reads it. A handler,
 * not sigwait: threads started before main (OpenBLAS's) do not block the signals, and the
 * default action there would kill the process mid-drain. */
static int signal_pipe[2] = {-1, -1};

static void on_signal(int sig)
{
    int saved = errno;
    unsigned char b = (unsigned char)sig;
    if (write(signal_pipe[1], &b, 1) < 0) {
        /* the pipe is full: a signal is already pending */
    }
    errno = saved;
}

/* SIGTERM: refuse new work, let running requests finish for --grace seconds (a
 * second signal: at once), then cancel the rest. */
static void drain(srv *s, struct MHD_Daemon *d)
{
    pthread_mutex_lock(&s->mu);
    s->draining = 1;
    pthread_mutex_unlock(&s->mu);
    MHD_socket fd = MHD_quiesce_daemon(d);
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
    double t0 = tool_seconds();
    for (int cancelled = 0, again = 0;;) {
        unsigned char b;
        again |= read(signal_pipe[0], &b, 1) == 1;
        pthread_mutex_lock(&s->mu);
        size_t active = s->n_active;
        if (active && !cancelled && (again || tool_seconds() - t0 > s->o.grace_s)) {
            for (srv_job *j = s->head; j; j = j->next)
                srv_cancel_locked(s, j);
            for (int i = 0; i < s->o.parallel; i++)
                tdiff_sampler_interrupt(s->workers[i].sampler);
            s->stopping = 1; /* workers skip what is left */
            cancelled = 1;
            fprintf(stderr, "textdiff: serve: cancelling %zu request(s)\n", active);
        }
        pthread_mutex_unlock(&s->mu);
        if (!active || tool_seconds() - t0 > s->o.grace_s + 10)
            break;
        nanosleep(&(struct timespec){0, 20000000L}, NULL);
    }
}

int cmd_serve(int argc, char **argv)
{
    srv *s = calloc(1, sizeof *s);
    if (!s)
        return 1;
    int rc = parse_opts(argc, argv, &s->o);
    if (rc) {
        free(s);
        return rc < 0 ? 0 : rc;
    }
    const char *path = s->o.model_path ? s->o.model_path : tool_default_model();
    char err[512];
    struct MHD_Daemon *d = NULL;
    struct addrinfo *ai = NULL;
    rc = 1;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->work, NULL);
    s->t_start = tool_seconds();
    if (tdiff_model_load_file(path, NULL, &s->model, err, sizeof err)) {
        fprintf(stderr, "textdiff: serve: cannot load '%s': %s\n", path, err);
        goto done;
    }
    if (tdiff_model_special_id(s->model, TDIFF_SPECIAL_MASK, &s->mask_id))
        s->mask_id = -1; /* an autoregressive model; any other is refused by tdiff_sampler_create below */
    if (tdiff_tokenizer_create(s->model, NULL, &s->tok, err, sizeof err))
        s->tok = NULL; /* token ids still work */
    tdiff_model_get_int(s->model, TDIFF_MODEL_N_CTX, &s->n_ctx);
    tdiff_model_vocab_size(s->model, &s->n_vocab);
    model_name(path, s->model_name, sizeof s->model_name);

    if (pipe(signal_pipe)) {
        fprintf(stderr, "textdiff: serve: pipe: %s\n", strerror(errno));
        goto done;
    }
    fcntl(signal_pipe[0], F_SETFL, O_NONBLOCK);
    fcntl(signal_pipe[1], F_SETFL, O_NONBLOCK);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    char port[16];
    snprintf(port, sizeof port, "%d", s->o.port);
    int gai = getaddrinfo(s->o.host, port, &hints, &ai);
    if (gai) {
        fprintf(stderr, "textdiff: serve: --host '%s': %s\n", s->o.host, gai_strerror(gai));
        goto done;
    }
    if (s->o.batch && srv_batch_start(s, err, sizeof err)) {
        fprintf(stderr, "textdiff: serve: %s\n", err);
        goto done;
    }
    if (srv_workers_start(s, err, sizeof err)) {
        fprintf(stderr, "textdiff: serve: %s\n", err);
        goto done;
    }
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC |
                     MHD_USE_ERROR_LOG | (ai->ai_family == AF_INET6 ? MHD_USE_IPv6 : 0);
    d = MHD_start_daemon(flags, (uint16_t)s->o.port, NULL, NULL, handle, s, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
                         MHD_OPTION_CONNECTION_LIMIT, (unsigned)(s->o.parallel + s->o.max_queue + 64),
                         MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60, MHD_OPTION_NOTIFY_COMPLETED, completed, s,
                         MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "textdiff: serve: cannot listen on %s port %d (in use? permission?)\n", s->o.host, s->o.port);
        goto done;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    int bound = di ? (int)di->port : s->o.port;
    fprintf(stderr, "textdiff: serving %s on http://%s%s%s:%d/ (%d worker%s, queue %d%s%s)\n", s->model_name,
            ai->ai_family == AF_INET6 ? "[" : "", s->o.host, ai->ai_family == AF_INET6 ? "]" : "", bound,
            s->o.parallel, s->o.parallel == 1 ? "" : "s", s->o.max_queue, s->batch ? ", batched" : "",
            s->o.api_key ? ", API key required" : "");
    fflush(stderr);
    unsigned char sig = 0;
    struct pollfd pfd = {.fd = signal_pipe[0], .events = POLLIN};
    while (poll(&pfd, 1, -1) < 1 || read(signal_pipe[0], &sig, 1) != 1) {
        /* EINTR: the handler ran; the byte is read on the next turn */
    }
    fprintf(stderr, "textdiff: serve: %s: finishing running requests\n", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    drain(s, d);
    rc = 0;
done:
    if (d)
        MHD_stop_daemon(d);
    srv_workers_stop(s);
    srv_batch_stop(s);
    if (ai)
        freeaddrinfo(ai);
    tdiff_tokenizer_free(s->tok);
    tdiff_model_free(s->model);
    pthread_cond_destroy(&s->work);
    pthread_mutex_destroy(&s->mu);
    if (rc == 0)
        fprintf(stderr, "textdiff: serve: stopped\n");
    for (int k = 0; k < 2; k++)
        if (signal_pipe[k] >= 0) {
            close(signal_pipe[k]);
            signal_pipe[k] = -1;
        }
    free(s);
    return rc;
}
