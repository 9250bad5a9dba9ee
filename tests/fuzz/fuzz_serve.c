/*
 * fuzz_serve.c -- libFuzzer target over the request side of `textdiff serve`
 * (src/serve_json.c): request bodies into jobs (srv_parse_job, for
 * /v1/completions, /infill and /score) and the cheap endpoints (srv_tokenize,
 * srv_detokenize). HTTP parsing is libmicrohttpd's; what this covers is the
 * JSON -> request mapping and its validation. No sockets, no worker threads:
 * one srv over tests/fixtures/llada-tiny.gguf is built once, as cmd_serve
 * builds it, and every input is parsed on the fuzzer's thread.
 *
 * Input: the first byte picks the endpoint (low 3 bits, modulo 5) and the
 * server (bits 3-4: the fixture as is; as an autoregressive model, no mask
 * token; without a tokenizer; with --max-tokens 8 --max-steps 4); the rest is
 * the body.
 *
 * Properties, beyond "no crash, over-read, leak or UB":
 *  - srv_parse_job returns a job with status 200, or NULL with a 4xx status
 *    (400/413) and a non-empty message;
 *  - a job is of the kind asked; each setting is a writable parameter other
 *    than n_threads, of its type, inside its bounds and the server's limits,
 *    and a sampler over the model with its defaults accepts it alone (the
 *    worker applies exactly these); stops are at most SRV_MAX_STOPS strings;
 *  - the job says what the body said: "stream", "stop" (each string, bytes and
 *    length), a prompt of ids (those ids), a prompt string (its tokens with
 *    the special ones added);
 *  - its ids are inside the vocabulary and at most the canvas limit; a
 *    completion's prompt never holds the mask token; an infill canvas holds at
 *    least one mask; a score text is non-empty, its samples, window, method
 *    and schedule in range;
 *  - srv_tokenize / srv_detokenize answer a JSON object that serialises: 200
 *    with "tokens" (ids in the vocabulary; "pieces" of the same length when
 *    asked) or "text", else 4xx with error.message (non-empty) and error.type;
 *  - the error object srv_error builds from any message serialises (the
 *    message may hold a key cut mid-character).
 * The fixture is found through $TDIFF_FIXTURES, else FUZZ_FIXTURES_DIR (set by
 * the build). FUZZ_VERBOSE=1 prints each input's endpoint, server, status and
 * message (or the job's size).
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "libtextdiff.h"
#include "serve.h"

#ifndef FUZZ_FIXTURES_DIR
#define FUZZ_FIXTURES_DIR "tests/fixtures"
#endif

#define N_SERVERS 4

static srv servers[N_SERVERS];
static tdiff_sampler *sampler; /* defaults kept: every check sets one parameter and puts it back */

static void setup(void)
{
    static tdiff_model *model;
    static tdiff_tokenizer *tok;
    if (model)
        return;
    const char *dir = getenv("TDIFF_FIXTURES");
    char path[1024], err[256] = "";
    snprintf(path, sizeof path, "%s/llada-tiny.gguf", dir && *dir ? dir : FUZZ_FIXTURES_DIR);
    int32_t mask = -1;
    int64_t n_ctx = 0;
    size_t n_vocab = 0;
    if (tdiff_model_load_file(path, NULL, &model, err, sizeof err) != TDIFF_OK ||
        tdiff_tokenizer_create(model, NULL, &tok, err, sizeof err) != TDIFF_OK ||
        tdiff_model_special_id(model, TDIFF_SPECIAL_MASK, &mask) != TDIFF_OK ||
        tdiff_model_vocab_size(model, &n_vocab) != TDIFF_OK ||
        tdiff_sampler_create(model, NULL, &sampler, err, sizeof err) != TDIFF_OK) {
        fprintf(stderr, "fuzz_serve: cannot use %s: %s\n", path, err);
        abort();
    }
    tdiff_model_get_int(model, TDIFF_MODEL_N_CTX, &n_ctx);
    for (int k = 0; k < N_SERVERS; k++) {
        srv *s = &servers[k];
        /* textdiff serve's defaults (src/serve.c, parse_opts) */
        s->o = (srv_opts){.host = "127.0.0.1", .port = 8080, .parallel = 1, .max_queue = 16, .timeout_s = 300,
                          .max_body = 1 << 20, .threads = 1, .max_tokens = 4096, .max_steps = 4096, .grace_s = 10};
        s->model = model;
        s->tok = tok;
        s->mask_id = mask;
        s->n_ctx = n_ctx;
        s->n_vocab = n_vocab;
        snprintf(s->model_name, sizeof s->model_name, "llada-tiny");
    }
    servers[1].mask_id = -1; /* as an autoregressive model */
    servers[2].tok = NULL;   /* a model without a tokenizer */
    servers[3].o.max_tokens = 8;
    servers[3].o.max_steps = 4;
}

static int verbose(void)
{
    static int v = -1;
    if (v < 0) {
        const char *e = getenv("FUZZ_VERBOSE");
        v = e && *e == '1';
    }
    return v;
}

static size_t canvas_limit(const srv *s)
{
    return s->n_ctx > 0 && s->n_ctx < 65536 ? (size_t)s->n_ctx : 65536;
}

/* The sampler's setter, from its defaults, takes the setting; then it is put back. */
static void check_setting(const srv *s, const srv_setting *st)
{
    int is_int = tdiff_sampler_param_is_int(st->p);
    FUZZ_CHECK(is_int >= 0 && st->is_int == is_int);
    FUZZ_CHECK(st->p < TDIFF_SAMPLER_STAT_FORWARD_PASSES && st->p != TDIFF_SAMPLER_N_THREADS);
    double lo = 0, hi = 0, def = 0;
    FUZZ_CHECK(tdiff_sampler_param_bounds(st->p, &lo, &hi, &def) == TDIFF_OK);
    double v = st->is_int ? (double)st->i : st->f;
    FUZZ_CHECK(v >= lo && v <= hi);
    if (st->p == TDIFF_SAMPLER_GEN_LENGTH)
        FUZZ_CHECK(st->i >= 1 && (size_t)st->i <= s->o.max_tokens);
    if (st->p == TDIFF_SAMPLER_STEPS)
        FUZZ_CHECK(st->i >= 1 && (size_t)st->i <= s->o.max_steps);
    if (st->is_int) {
        int64_t old = 0;
        FUZZ_CHECK(tdiff_sampler_get_int(sampler, st->p, &old) == TDIFF_OK);
        FUZZ_CHECK(tdiff_sampler_set_int(sampler, st->p, st->i) == TDIFF_OK);
        FUZZ_CHECK(tdiff_sampler_set_int(sampler, st->p, old) == TDIFF_OK);
    } else {
        double old = 0;
        FUZZ_CHECK(tdiff_sampler_get_float(sampler, st->p, &old) == TDIFF_OK);
        FUZZ_CHECK(tdiff_sampler_set_float(sampler, st->p, st->f) == TDIFF_OK);
        FUZZ_CHECK(tdiff_sampler_set_float(sampler, st->p, old) == TDIFF_OK);
    }
}

static void check_job(const srv *s, srv_kind kind, const srv_job *j)
{
    FUZZ_CHECK(j->kind == kind && (j->stream == 0 || j->stream == 1));
    FUZZ_CHECK(j->uniform_graph == 0 || j->uniform_graph == 1);
    FUZZ_CHECK(j->n_set <= SRV_MAX_SETTINGS);
    for (size_t k = 0; k < j->n_set; k++)
        check_setting(s, &j->set[k]);
    FUZZ_CHECK(j->n_stops <= SRV_MAX_STOPS);
    for (size_t k = 0; k < j->n_stops; k++)
        FUZZ_CHECK(j->stops[k] != NULL);
    if (kind != JOB_COMPLETE)
        FUZZ_CHECK(j->n_stops == 0);
    size_t lim = kind == JOB_SCORE ? (size_t)1 << 20 : canvas_limit(s), masks = 0;
    FUZZ_CHECK(j->n_ids <= lim && (j->n_ids == 0 || j->ids));
    for (size_t i = 0; i < j->n_ids; i++) {
        FUZZ_CHECK(j->ids[i] >= 0 && (size_t)j->ids[i] < s->n_vocab);
        masks += s->mask_id >= 0 && j->ids[i] == s->mask_id;
    }
    switch (kind) {
    case JOB_COMPLETE:
        FUZZ_CHECK(j->ids && masks == 0);
        break;
    case JOB_INFILL:
        FUZZ_CHECK(s->mask_id >= 0 && s->tok && masks >= 1);
        break;
    case JOB_SCORE:
        FUZZ_CHECK(s->mask_id >= 0 && s->tok && j->n_ids >= 1 && masks == 0);
        FUZZ_CHECK(j->samples >= 1 && j->samples <= 1024 && j->window >= 1 && j->window <= (size_t)1 << 20);
        FUZZ_CHECK(j->seed <= (uint64_t)INT64_MAX);
        FUZZ_CHECK(j->method == TDIFF_NELBO_QUADRATURE || j->method == TDIFF_NELBO_ANTITHETIC ||
                   j->method == TDIFF_NELBO_STRATIFIED);
        FUZZ_CHECK(j->schedule == TDIFF_SCHEDULE_LOGLINEAR || j->schedule == TDIFF_SCHEDULE_LINEAR ||
                   j->schedule == TDIFF_SCHEDULE_MASKGIT_COSINE);
        break;
    }
}

/* The job against the body, read again. */
static void check_mapping(const srv *s, const srv_job *j, const char *body, size_t len)
{
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
    FUZZ_CHECK(json_is_object(root)); /* a job came from an object */
    json_t *stream = json_object_get(root, "stream"), *stop = json_object_get(root, "stop");
    json_t *prompt = json_object_get(root, "prompt");
    FUZZ_CHECK(j->stream == (stream && j->kind != JOB_SCORE && json_is_true(stream)));
    if (j->kind == JOB_COMPLETE) {
        size_t n = json_is_string(stop) ? 1 : json_array_size(stop);
        FUZZ_CHECK(j->n_stops == n);
        for (size_t k = 0; k < n; k++) {
            json_t *e = json_is_string(stop) ? stop : json_array_get(stop, k);
            size_t sl = json_string_length(e);
            /* jansson refuses "\u0000" unless JSON_ALLOW_NUL: a C string holds all of a stop */
            FUZZ_CHECK(strlen(j->stops[k]) == sl && !memcmp(j->stops[k], json_string_value(e), sl));
        }
        if (json_is_array(prompt)) {
            FUZZ_CHECK(j->n_ids == json_array_size(prompt));
            for (size_t i = 0; i < j->n_ids; i++) {
                json_t *e = json_array_get(prompt, i);
                FUZZ_CHECK(j->ids[i] == (json_is_integer(e) ? (int32_t)json_integer_value(e)
                                                            : (int32_t)json_real_value(e)));
            }
        } else {
            static int32_t ids[65536];
            size_t n_ids = 0;
            FUZZ_CHECK(json_is_string(prompt) && s->tok);
            FUZZ_CHECK(tdiff_tokenizer_tokenize(s->tok, json_string_value(prompt), json_string_length(prompt),
                                                TDIFF_TOKENIZE_ADD_SPECIAL, ids, 65536, &n_ids) == TDIFF_OK);
            FUZZ_CHECK(n_ids == j->n_ids && !memcmp(ids, j->ids, n_ids * sizeof *ids));
        }
    }
    json_decref(root);
}

/* What serve.c sends: the object serialises, and a 4xx carries error.message and error.type. */
static void check_answer(const srv *s, json_t *r, int status, int tokenize, int pieces_asked)
{
    FUZZ_CHECK(r && json_is_object(r));
    char *txt = json_dumps(r, JSON_COMPACT);
    FUZZ_CHECK(txt != NULL);
    free(txt);
    FUZZ_CHECK(status == 200 || (status >= 400 && status < 500));
    if (status != 200) {
        json_t *e = json_object_get(r, "error");
        const char *msg = json_string_value(json_object_get(e, "message"));
        FUZZ_CHECK(msg && msg[0] && json_is_string(json_object_get(e, "type")));
        return;
    }
    if (!tokenize) {
        FUZZ_CHECK(json_is_string(json_object_get(r, "text")));
        return;
    }
    json_t *tokens = json_object_get(r, "tokens"), *pieces = json_object_get(r, "pieces"), *t;
    size_t i;
    FUZZ_CHECK(json_is_array(tokens));
    json_array_foreach(tokens, i, t)
    {
        FUZZ_CHECK(json_is_integer(t) && json_integer_value(t) >= 0 &&
                   (size_t)json_integer_value(t) < s->n_vocab);
    }
    if (pieces_asked)
        FUZZ_CHECK(json_is_array(pieces) && json_array_size(pieces) == json_array_size(tokens));
}

/* Did the body ask for pieces? (only then must "pieces" be there) */
static int asks_pieces(const char *body, size_t len)
{
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
    int r = json_is_true(json_object_get(root, "with_pieces"));
    json_decref(root);
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    setup();
    srv *s = &servers[(data[0] >> 3) & 3];
    int ep = (data[0] & 7) % 5;
    const char *body = (const char *)data + 1;
    size_t len = size - 1;
    if (ep < 3) {
        srv_kind kind = ep == 0 ? JOB_COMPLETE : ep == 1 ? JOB_INFILL : JOB_SCORE;
        char err[512];
        memset(err, 'x', sizeof err);
        int status = 0;
        srv_job *j = srv_parse_job(s, kind, body, len, &status, err, sizeof err);
        if (verbose())
            fprintf(stderr, "fuzz_serve: endpoint %d server %d: %d %s (%zu ids, %zu settings)\n", ep,
                    (data[0] >> 3) & 3, status, j ? "job" : err, j ? j->n_ids : 0, j ? j->n_set : 0);
        if (j) {
            FUZZ_CHECK(status == 200);
            check_job(s, kind, j);
            check_mapping(s, j, body, len);
            srv_job_free(j);
        } else {
            FUZZ_CHECK(status == 400 || status == 413);
            FUZZ_CHECK(memchr(err, '\0', sizeof err) && err[0]);
            json_t *e = srv_error("invalid_request_error", "%s", err); /* as serve.c's reply_error */
            check_answer(s, e, status, 0, 0);
            json_decref(e);
        }
        return 0;
    }
    int status = 0;
    json_t *r = ep == 3 ? srv_tokenize(s, body, len, &status) : srv_detokenize(s, body, len, &status);
    if (verbose()) {
        char *txt = json_dumps(r, JSON_COMPACT);
        fprintf(stderr, "fuzz_serve: endpoint %d server %d: %d %.200s\n", ep, (data[0] >> 3) & 3, status,
                txt ? txt : "(null)");
        free(txt);
    }
    check_answer(s, r, status, ep == 3, ep == 3 && status == 200 && asks_pieces(body, len));
    json_decref(r);
    return 0;
}
