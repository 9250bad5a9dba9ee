/*
 * serve.h -- `textdiff serve`: the parts of the HTTP server that talk to each
 * other. serve.c owns the command line, libmicrohttpd, routing, limits and the
 * API key; serve_work.c owns the job queue, the worker threads (each with its
 * own sampler and scoring denoiser over the one shared model) and the metrics;
 * serve_json.c turns request bodies into jobs and results into JSON (jansson).
 *
 * serve_batch.c (--batch) steps the running generations together: one batched
 * forward per refinement step across them (docs/server.md).
 */
#ifndef TEXTDIFF_SERVE_H
#define TEXTDIFF_SERVE_H

#include <jansson.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "libtextdiff.h"

/* ---- a growable byte buffer -------------------------------------------- */

typedef struct srv_buf {
    char *data;
    size_t len, cap;
} srv_buf;

int srv_buf_add(srv_buf *b, const char *s, size_t n); /* 0, or -1 out of memory */
void srv_buf_free(srv_buf *b);

/* ---- jobs ---------------------------------------------------------------- */

typedef enum srv_kind { JOB_COMPLETE = 1, JOB_INFILL = 2, JOB_SCORE = 3 } srv_kind;
typedef enum srv_state { JOB_QUEUED = 0, JOB_RUNNING = 1, JOB_DONE = 2 } srv_state;

#define SRV_MAX_SETTINGS 32 /* sampler parameters one request may set (there are fewer than 32) */
#define SRV_MAX_STOPS 4     /* OpenAI's limit on stop strings */

typedef struct srv_setting {
    tdiff_sampler_param p;
    int is_int;
    int64_t i;
    double f;
} srv_setting;

struct srv_worker;

typedef struct srv_job {
    /* ---- the request (set before it is queued, then read-only) ---- */
    srv_kind kind;
    int stream;                   /* Server-Sent Events with every step */
    int32_t *ids;                 /* prompt (complete), canvas (infill), text (score) */
    size_t n_ids;
    size_t n_set;
    srv_setting set[SRV_MAX_SETTINGS];
    int uniform_graph;            /* d3pm/sedd: "graph": "uniform" (default absorbing) */
    char *stops[SRV_MAX_STOPS];   /* complete: cut the text before the first of these */
    size_t n_stops;
    /* score */
    int method, schedule;         /* tdiff_nelbo_method, tdiff_schedule_kind */
    size_t samples, window;
    uint64_t seed;
    /* bookkeeping */
    unsigned long long id;        /* cmpl-<id> */
    double t_arrive, deadline;    /* tool_seconds() clock */
    int endpoint;                 /* index into the metrics' endpoint table */

    /* ---- shared state: guarded by the server's mutex ---- */
    pthread_cond_t cond;          /* signalled on every new event and when done */
    srv_state state;
    int refs;                     /* the connection and, while queued or running, the queue/worker */
    int cancelled;                /* the client went away (or the server stops): stop at the next step */
    int timed_out;                /* the deadline passed */
    struct srv_worker *worker;    /* while RUNNING: whose sampler to interrupt */
    srv_buf events;               /* stream: SSE bytes not yet handed to the connection */
    size_t events_sent;
    int http_status;              /* when DONE */
    json_t *result;               /* when DONE: the response object (or an error object) */
    struct srv_job *next;         /* the queue */
} srv_job;

/* ---- options and the server ---------------------------------------------- */

typedef struct srv_opts {
    const char *model_path;
    const char *host;
    int port;
    int parallel;           /* worker threads = concurrent generations */
    int max_queue;          /* requests waiting beyond the running ones; more get 503 */
    double timeout_s;       /* per request, from arrival to the last byte of the answer */
    const char *api_key;    /* NULL: no key */
    size_t max_body;        /* bytes of a request body */
    int threads;            /* threads of each worker's network */
    size_t max_tokens;      /* gen_length limit per request */
    size_t max_steps;       /* steps limit per request */
    double grace_s;         /* SIGTERM: how long running requests may finish */
    int batch;              /* 1: running generations share one batched forward per step */
    int batch_rows;         /* tokens one batched forward may carry */
} srv_opts;

/* Endpoints, for the metrics (requests by endpoint and status). */
enum { EP_COMPLETIONS, EP_INFILL, EP_TOKENIZE, EP_DETOKENIZE, EP_SCORE, EP_HEALTH, EP_METRICS, EP_MODELS, EP_OTHER,
       EP_COUNT };
extern const char *const srv_endpoint_names[EP_COUNT];

#define SRV_N_BUCKETS 13

typedef struct srv_metrics {
    unsigned long long requests[EP_COUNT][6]; /* by status class: 2xx 4xx(not 401/413) 401 413 503 5xx(other) */
    unsigned long long prompt_tokens, completion_tokens, scored_tokens, forward_passes, steps;
    unsigned long long rejected, cancelled, timeouts;
    unsigned long long latency[SRV_N_BUCKETS]; /* compute jobs: arrival to done, cumulative buckets */
    double latency_sum;
    unsigned long long latency_count;
    unsigned long long qwait[SRV_N_BUCKETS];   /* arrival to start */
    double qwait_sum;
    unsigned long long qwait_count;
} srv_metrics;

typedef struct srv_worker {
    struct srv *srv;
    pthread_t thread;
    int index;
    tdiff_sampler *sampler;
    tdiff_sampler *bsampler; /* --batch: the same over the batcher's callback network */
    tdiff_sampler *active;   /* the one the current job runs on (set under the server's mutex) */
    srv_setting defaults[SRV_MAX_SETTINGS]; /* the sampler's parameters as created (an autoregressive */
    size_t n_defaults;                      /* model's default strategy is ar, not the table's llada) */
    tdiff_denoiser *score_d; /* built at the first /score, grown as windows need */
    size_t score_len;
} srv_worker;

typedef struct srv {
    srv_opts o;
    tdiff_model *model;
    tdiff_tokenizer *tok;   /* immutable: shared by every thread */
    int32_t mask_id;        /* -1: an autoregressive model (no /infill, no /score) */
    int64_t n_ctx;
    size_t n_vocab;
    char model_name[128];
    double t_start;

    pthread_mutex_t mu;     /* guards everything below and every job's shared state */
    pthread_cond_t work;    /* a job was queued, or the server stops */
    srv_job *head, *tail;
    size_t n_queued, n_running, n_active; /* active = queued + running + answering */
    int stopping;           /* workers leave once the queue is empty */
    int draining;           /* SIGTERM: new requests get 503 */
    unsigned long long next_id;
    double avg_job_s;       /* for Retry-After */
    srv_metrics m;
    srv_worker *workers;
    struct srv_batch *batch; /* NULL: no batching */
} srv;

/* serve_work.c */
int srv_workers_start(srv *s, char *err, size_t cap);
void srv_workers_stop(srv *s);
/* Queues a job (refs: the connection's and the queue's). 0; -1 when the queue is
 * full or the server drains (the caller answers 503). */
int srv_submit(srv *s, srv_job *j);
/* The connection lets go of the job (cancelling it when it is not done). */
void srv_release(srv *s, srv_job *j);
/* Marks the job cancelled and interrupts its worker's sampler (lock held). */
void srv_cancel_locked(srv *s, srv_job *j);
srv_job *srv_job_new(void);
void srv_job_free(srv_job *j); /* a job no other thread holds */
void srv_count(srv *s, int endpoint, int status);
/* The Prometheus text (malloc'd). */
char *srv_metrics_text(srv *s, size_t *len);

/* serve_batch.c */
typedef struct srv_batch srv_batch;
/* Starts the batcher (s->batch; left NULL with a note on stderr when the model
 * cannot be batched). 0, or -1 with err. */
int srv_batch_start(srv *s, char *err, size_t cap);
void srv_batch_stop(srv *s); /* after the workers have stopped */
/* A sampler whose network is the batcher, for worker w. 0, or -1 with err. */
int srv_batch_sampler(srv *s, srv_worker *w, tdiff_sampler **out, char *err, size_t cap);
/* A worker enters / leaves a batched generation (the batcher waits for members only). */
void srv_batch_join(srv_batch *b);
void srv_batch_leave(srv_batch *b);
void srv_batch_stats(srv_batch *b, unsigned long long *forwards, unsigned long long *rows, unsigned long long *seqs);

/* serve_json.c */
/* A request body into a job; NULL with *status (400/413) and a message in err. */
srv_job *srv_parse_job(srv *s, srv_kind kind, const char *body, size_t len, int *status, char *err, size_t cap);
/* The answers of the cheap endpoints, run on the connection's thread. */
json_t *srv_tokenize(srv *s, const char *body, size_t len, int *status);
json_t *srv_detokenize(srv *s, const char *body, size_t len, int *status);
json_t *srv_models(srv *s);
json_t *srv_error(const char *type, const char *fmt, ...);
/* A JSON string of bytes that may not be UTF-8 (each bad byte becomes U+FFFD). */
json_t *srv_text(const char *s, size_t n);
/* The bytes of ids (malloc'd, NUL-terminated; NULL without a tokenizer or on error). */
char *srv_detok_raw(srv *s, const int32_t *ids, size_t n, size_t *len);
/* The detokenized text of ids as a JSON string (JSON null on error). */
json_t *srv_detok(srv *s, const int32_t *ids, size_t n);
/* Loads a body as one JSON object; NULL with a 400 error object in *why. */
json_t *srv_load_object(const char *body, size_t len, json_t **why);

#endif
