/*
 * serve_json.c -- the JSON side of `textdiff serve` (jansson): request bodies
 * into jobs with a clear 400 message for anything wrong (syntax with line and
 * column, unknown fields, wrong types, values outside a parameter's bounds or
 * the server's limits), and the answers of the cheap endpoints (/tokenize,
 * /detokenize, /v1/models), which run on the connection's thread over the one
 * shared tokenizer (a tokenizer is immutable: any number of threads may use it).
 *
 * Sampler parameters are accepted by their public names
 * (tdiff_sampler_param_from_name: "steps", "gen_length", "remasking", ...);
 * strategy and remasking also by name ("llada", "low_confidence", ...).
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "infill.h"
#include "serve.h"

#define MAX_CANVAS 65536 /* tokens of a prompt or canvas when the model states no context length */
#define MAX_SCORE_SAMPLES 1024

/* ---- strings --------------------------------------------------------------- */

/* Length of the well-formed UTF-8 sequence at s[0..n), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t len = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    if (len == 0 || len > n)
        return 0;
    for (size_t k = 1; k < len; k++)
        if ((s[k] & 0xC0) != 0x80)
            return 0;
    if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] > 0x9F) || (c == 0xF0 && s[1] < 0x90) ||
        (c == 0xF4 && s[1] > 0x8F))
        return 0; /* overlong, surrogate, above U+10FFFF */
    return len;
}

json_t *srv_text(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        size_t l = utf8_len(u + i, n - i);
        if (!l)
            break;
        i += l;
    }
    if (i == n) /* valid: the common case */
        return json_stringn(s, n);
    srv_buf b = {0};
    for (i = 0; i < n;) {
        size_t l = utf8_len(u + i, n - i);
        if (srv_buf_add(&b, l ? s + i : "\xEF\xBF\xBD", l ? l : 3)) {
            srv_buf_free(&b);
            return json_null();
        }
        i += l ? l : 1;
    }
    json_t *r = json_stringn(b.data ? b.data : "", b.len);
    srv_buf_free(&b);
    return r ? r : json_null();
}

json_t *srv_error(const char *type, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return json_pack("{s:{s:o,s:s}}", "error", "message", srv_text(msg, strlen(msg)), "type", type);
}

char *srv_detok_raw(srv *s, const int32_t *ids, size_t n, size_t *len)
{
    *len = 0;
    if (!s->tok)
        return NULL;
    size_t need = 0;
    tdiff_status st = tdiff_tokenizer_detokenize(s->tok, ids, n, 0, NULL, 0, &need);
    if (st != TDIFF_OK && st != TDIFF_E_BUFFER_TOO_SMALL)
        return NULL;
    char *buf = malloc(need + 1);
    if (!buf || tdiff_tokenizer_detokenize(s->tok, ids, n, 0, buf, need + 1, len)) {
        free(buf);
        *len = 0;
        return NULL;
    }
    buf[*len] = '\0';
    return buf;
}

json_t *srv_detok(srv *s, const int32_t *ids, size_t n)
{
    size_t len;
    char *t = srv_detok_raw(s, ids, n, &len);
    json_t *r = t ? srv_text(t, len) : json_null();
    free(t);
    return r;
}

json_t *srv_load_object(const char *body, size_t len, json_t **why)
{
    json_error_t e;
    json_t *root = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, &e);
    if (!root) {
        *why = srv_error("invalid_request_error", "invalid JSON at line %d, column %d: %s", e.line, e.column, e.text);
        return NULL;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        *why = srv_error("invalid_request_error", "the body must be a JSON object");
        return NULL;
    }
    return root;
}

/* ---- field readers: 0, or -1 with the message in err ------------------------ */

static int want_bool(const char *key, json_t *v, int *out, char *err, size_t cap)
{
    if (!json_is_boolean(v)) {
        snprintf(err, cap, "%s: expected true or false", key);
        return -1;
    }
    *out = json_is_true(v);
    return 0;
}

static int want_int(const char *key, json_t *v, long long lo, long long hi, long long *out, char *err, size_t cap)
{
    double d = json_is_real(v) ? json_real_value(v) : 0;
    if (!json_is_integer(v) && !(json_is_real(v) && d == floor(d) && fabs(d) < 9e15)) {
        snprintf(err, cap, "%s: expected an integer", key);
        return -1;
    }
    long long x = json_is_integer(v) ? (long long)json_integer_value(v) : (long long)d;
    if (x < lo || x > hi) {
        snprintf(err, cap, "%s: %lld is outside [%lld, %lld]", key, x, lo, hi);
        return -1;
    }
    *out = x;
    return 0;
}

/* A sampler parameter by its public name; 1 when key is not one, 0 when set, -1 on error. */
static int sampler_setting(srv *s, const char *key, json_t *v, srv_setting *out, char *err, size_t cap)
{
    tdiff_sampler_param p;
    if (!strcmp(key, "max_tokens")) /* OpenAI's name of gen_length */
        p = TDIFF_SAMPLER_GEN_LENGTH;
    else if (tdiff_sampler_param_from_name(key, &p) != TDIFF_OK)
        return 1;
    if (p >= TDIFF_SAMPLER_STAT_FORWARD_PASSES) {
        snprintf(err, cap, "%s is a read-only statistic", key);
        return -1;
    }
    if (p == TDIFF_SAMPLER_N_THREADS) {
        snprintf(err, cap, "n_threads is the server's setting (textdiff serve --threads)");
        return -1;
    }
    double lo = 0, hi = 0;
    tdiff_sampler_param_bounds(p, &lo, &hi, NULL);
    if (p == TDIFF_SAMPLER_GEN_LENGTH && hi > (double)s->o.max_tokens)
        hi = (double)s->o.max_tokens;
    if (p == TDIFF_SAMPLER_STEPS && hi > (double)s->o.max_steps)
        hi = (double)s->o.max_steps;
    out->p = p;
    out->is_int = tdiff_sampler_param_is_int(p) == 1;
    if (!out->is_int) {
        if (!json_is_number(v)) {
            snprintf(err, cap, "%s: expected a number", key);
            return -1;
        }
        out->f = json_number_value(v);
        if (!(out->f >= lo && out->f <= hi)) {
            snprintf(err, cap, "%s: %g is outside [%g, %g]", key, out->f, lo, hi);
            return -1;
        }
        return 0;
    }
    if (json_is_string(v)) {
        const char *name = json_string_value(v);
        int value = -1;
        if (p == TDIFF_SAMPLER_STRATEGY ? tdiff_strategy_from_name(name, &value) != TDIFF_OK
            : p == TDIFF_SAMPLER_REMASKING ? tdiff_remasking_from_name(name, &value) != TDIFF_OK
            : p == TDIFF_SAMPLER_COMPAT ? (value = !strcmp(name, "none") ? TDIFF_COMPAT_NONE
                                          : !strcmp(name, "llamacpp") ? TDIFF_COMPAT_LLAMACPP : -1) < 0
            : 1) {
            snprintf(err, cap, "%s: unknown value \"%.64s\"", key, name);
            return -1;
        }
        out->i = value;
        return 0;
    }
    if (json_is_boolean(v)) {
        out->i = json_is_true(v);
        if (hi != 1 || lo != 0) {
            snprintf(err, cap, "%s: expected an integer", key);
            return -1;
        }
        return 0;
    }
    long long x;
    if (want_int(key, v, (long long)lo, hi >= 9.2e18 ? INT64_MAX : (long long)hi, &x, err, cap))
        return -1;
    out->i = x;
    return 0;
}

/* OpenAI fields we accept but whose only meaningful value is the default. */
static int openai_field(const char *key, json_t *v, char *err, size_t cap)
{
    if (!strcmp(key, "model") || !strcmp(key, "user") || !strcmp(key, "stream_options"))
        return 0;
    if (!strcmp(key, "n") || !strcmp(key, "best_of")) {
        if (json_is_null(v) || (json_is_integer(v) && json_integer_value(v) == 1))
            return 0;
        snprintf(err, cap, "%s: only 1 is supported", key);
        return -1;
    }
    if (!strcmp(key, "echo") || !strcmp(key, "logprobs") || !strcmp(key, "presence_penalty") ||
        !strcmp(key, "frequency_penalty") || !strcmp(key, "suffix") || !strcmp(key, "logit_bias")) {
        if (json_is_null(v) || json_is_false(v) || (json_is_number(v) && json_number_value(v) == 0))
            return 0;
        snprintf(err, cap, "%s is not supported%s", key, !strcmp(key, "suffix") ? " (POST /infill fills holes)" : "");
        return -1;
    }
    return 1;
}

static size_t canvas_cap(const srv *s)
{
    return s->n_ctx > 0 && s->n_ctx < MAX_CANVAS ? (size_t)s->n_ctx : MAX_CANVAS;
}

/* text (with ADD_SPECIAL when first) appended to ids[*n..cap). */
static int add_tokens(srv *s, const char *text, size_t len, int first, int32_t *ids, size_t cap, size_t *n,
                      char *err, size_t ecap)
{
    size_t got = 0;
    tdiff_status st = tdiff_tokenizer_tokenize(s->tok, text, len, first ? TDIFF_TOKENIZE_ADD_SPECIAL : 0, ids + *n,
                                               cap - *n, &got);
    if (st) {
        snprintf(err, ecap, "%s", st == TDIFF_E_BUFFER_TOO_SMALL ? "more tokens than the model's context"
                                                                  : tdiff_status_string(st));
        return -1;
    }
    *n += got;
    return 0;
}

/* "prompt": a string or an array of token ids. */
static int read_prompt(srv *s, json_t *v, srv_job *j, char *err, size_t cap)
{
    size_t lim = canvas_cap(s);
    j->ids = malloc(lim * sizeof *j->ids);
    if (!j->ids) {
        snprintf(err, cap, "out of memory");
        return -1;
    }
    if (json_is_string(v)) {
        if (!s->tok) {
            snprintf(err, cap, "the model has no tokenizer: give the prompt as token ids");
            return -1;
        }
        j->n_ids = 0;
        return add_tokens(s, json_string_value(v), json_string_length(v), 1, j->ids, lim, &j->n_ids, err, cap);
    }
    if (!json_is_array(v) || json_array_size(v) > lim) {
        snprintf(err, cap, "prompt: expected a string or an array of at most %zu token ids", lim);
        return -1;
    }
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e)
    {
        long long x;
        if (want_int("prompt[]", e, 0, (long long)s->n_vocab - 1, &x, err, cap))
            return -1;
        if (s->mask_id >= 0 && x == s->mask_id) {
            snprintf(err, cap, "prompt[%zu] is the mask token (use POST /infill to fill masks)", i);
            return -1;
        }
        j->ids[i] = (int32_t)x;
    }
    j->n_ids = json_array_size(v);
    return 0;
}

/* /infill: "text" with [MASK:n] holes, or "segments": strings and hole sizes. */
static int read_canvas(srv *s, json_t *text, json_t *segs, srv_job *j, char *err, size_t cap)
{
    size_t lim = canvas_cap(s);
    if (s->mask_id < 0) {
        snprintf(err, cap, "infilling needs a masked diffusion model (this one has no mask token)");
        return -1;
    }
    if (!s->tok) {
        snprintf(err, cap, "the model has no tokenizer");
        return -1;
    }
    if (!!text == !!segs) {
        snprintf(err, cap, "give either \"text\" (with [MASK:n] holes) or \"segments\"");
        return -1;
    }
    j->ids = malloc(lim * sizeof *j->ids);
    if (!j->ids) {
        snprintf(err, cap, "out of memory");
        return -1;
    }
    if (text) {
        if (!json_is_string(text)) {
            snprintf(err, cap, "text: expected a string");
            return -1;
        }
        long n = tool_infill_ids(s->tok, json_string_value(text), json_string_length(text), s->mask_id, j->ids, lim,
                                 err, cap);
        if (n < 0)
            return -1;
        j->n_ids = (size_t)n;
    } else {
        if (!json_is_array(segs)) {
            snprintf(err, cap, "segments: expected an array of strings and hole sizes");
            return -1;
        }
        size_t i, n = 0;
        json_t *e;
        json_array_foreach(segs, i, e)
        {
            if (json_is_string(e)) {
                if (add_tokens(s, json_string_value(e), json_string_length(e), i == 0, j->ids, lim, &n, err, cap))
                    return -1;
                continue;
            }
            long long holes;
            if (want_int("segments[] (a hole size)", e, 1, (long long)lim, &holes, err, cap))
                return -1;
            if (i == 0 && add_tokens(s, "", 0, 1, j->ids, lim, &n, err, cap)) /* BOS before a leading hole */
                return -1;
            if ((size_t)holes > lim - n) {
                snprintf(err, cap, "the segments need more than %zu tokens", lim);
                return -1;
            }
            for (long long k = 0; k < holes; k++)
                j->ids[n++] = s->mask_id;
        }
        j->n_ids = n;
    }
    int holes = 0;
    for (size_t i = 0; i < j->n_ids; i++)
        holes |= j->ids[i] == s->mask_id;
    if (!holes) {
        snprintf(err, cap, "the canvas has no hole to fill (write [MASK:n])");
        return -1;
    }
    return 0;
}

static int read_stops(json_t *v, srv_job *j, char *err, size_t cap)
{
    if (json_is_null(v))
        return 0;
    json_t *one = json_is_string(v) ? v : NULL;
    size_t n = one ? 1 : json_is_array(v) ? json_array_size(v) : SRV_MAX_STOPS + 1;
    if (n > SRV_MAX_STOPS) {
        snprintf(err, cap, "stop: expected a string or an array of at most %d strings", SRV_MAX_STOPS);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *e = one ? one : json_array_get(v, i);
        if (!json_is_string(e)) {
            snprintf(err, cap, "stop: expected strings");
            return -1;
        }
        if (!(j->stops[j->n_stops++] = strdup(json_string_value(e)))) {
            snprintf(err, cap, "out of memory");
            return -1;
        }
    }
    return 0;
}

static int read_score(srv *s, const char *key, json_t *v, srv_job *j, char *err, size_t cap)
{
    long long x;
    if (!strcmp(key, "samples")) {
        if (want_int(key, v, 1, MAX_SCORE_SAMPLES, &x, err, cap))
            return -1;
        j->samples = (size_t)x;
    } else if (!strcmp(key, "window")) {
        if (want_int(key, v, 1, 1 << 20, &x, err, cap))
            return -1;
        j->window = (size_t)x;
    } else if (!strcmp(key, "seed")) {
        if (want_int(key, v, 0, INT64_MAX, &x, err, cap))
            return -1;
        j->seed = (uint64_t)x;
    } else if (!strcmp(key, "method") || !strcmp(key, "schedule")) {
        const char *m = json_string_value(v);
        int method = !m ? -1 : !strcmp(m, "quadrature") ? TDIFF_NELBO_QUADRATURE
                             : !strcmp(m, "antithetic") ? TDIFF_NELBO_ANTITHETIC
                             : !strcmp(m, "stratified") ? TDIFF_NELBO_STRATIFIED : -1;
        int sched = !m ? -1 : !strcmp(m, "loglinear") ? TDIFF_SCHEDULE_LOGLINEAR
                            : !strcmp(m, "linear") ? TDIFF_SCHEDULE_LINEAR
                            : !strcmp(m, "cosine2") ? TDIFF_SCHEDULE_MASKGIT_COSINE : -1;
        if (key[0] == 'm' ? method < 0 : sched < 0) {
            snprintf(err, cap, "%s: expected %s", key, key[0] == 'm' ? "\"quadrature\", \"antithetic\" or "
                                                                       "\"stratified\""
                                                                     : "\"loglinear\", \"linear\" or \"cosine2\"");
            return -1;
        }
        if (key[0] == 'm')
            j->method = method;
        else
            j->schedule = sched;
    } else if (!strcmp(key, "text")) {
        size_t lim = 1u << 20, n = 0;
        if (!json_is_string(v) || !s->tok) {
            snprintf(err, cap, s->tok ? "text: expected a string" : "the model has no tokenizer");
            return -1;
        }
        if (!(j->ids = malloc(lim * sizeof *j->ids))) {
            snprintf(err, cap, "out of memory");
            return -1;
        }
        size_t got = 0;
        tdiff_status st = tdiff_tokenizer_tokenize(s->tok, json_string_value(v), json_string_length(v), 0, j->ids,
                                                   lim, &got);
        if (st) {
            snprintf(err, cap, "cannot tokenize the text: %s", tdiff_status_string(st));
            return -1;
        }
        n = got;
        j->n_ids = n;
    } else {
        return 1;
    }
    return 0;
}

srv_job *srv_parse_job(srv *s, srv_kind kind, const char *body, size_t len, int *status, char *err, size_t cap)
{
    json_t *why = NULL, *root = srv_load_object(body, len, &why);
    *status = 400;
    err[0] = '\0';
    if (!root) {
        snprintf(err, cap, "%s", json_string_value(json_object_get(json_object_get(why, "error"), "message")));
        json_decref(why);
        return NULL;
    }
    srv_job *j = srv_job_new();
    if (!j) {
        json_decref(root);
        *status = 500;
        snprintf(err, cap, "out of memory");
        return NULL;
    }
    j->kind = kind;
    j->method = TDIFF_NELBO_QUADRATURE;
    j->schedule = TDIFF_SCHEDULE_LOGLINEAR;
    j->samples = 32;
    j->window = 256;
    const char *key;
    json_t *v, *prompt = NULL, *text = NULL, *segs = NULL;
    int bad = 0;
    json_object_foreach(root, key, v)
    {
        int r;
        if (bad)
            break;
        if (kind == JOB_SCORE) {
            if ((r = read_score(s, key, v, j, err, cap)) == 1 && (r = openai_field(key, v, err, cap)) == 1) {
                snprintf(err, cap, "unknown field \"%.64s\"", key);
                r = -1;
            }
            bad = r < 0;
            continue;
        }
        if (!strcmp(key, "stream")) {
            bad = want_bool(key, v, &j->stream, err, cap) < 0;
        } else if (kind == JOB_COMPLETE && !strcmp(key, "prompt")) {
            prompt = v;
        } else if (kind == JOB_COMPLETE && !strcmp(key, "stop")) {
            bad = read_stops(v, j, err, cap) < 0;
        } else if (kind == JOB_INFILL && !strcmp(key, "text")) {
            text = v;
        } else if (kind == JOB_INFILL && !strcmp(key, "segments")) {
            segs = v;
        } else if (!strcmp(key, "graph")) {
            const char *g = json_string_value(v);
            if (!g || (strcmp(g, "absorbing") && strcmp(g, "uniform"))) {
                snprintf(err, cap, "graph: expected \"absorbing\" or \"uniform\"");
                bad = 1;
            }
            j->uniform_graph = g && !strcmp(g, "uniform");
        } else if ((r = openai_field(key, v, err, cap)) != 1) {
            bad = r < 0;
        } else if (j->n_set == SRV_MAX_SETTINGS) {
            snprintf(err, cap, "too many settings");
            bad = 1;
        } else if ((r = sampler_setting(s, key, v, &j->set[j->n_set], err, cap)) == 1) {
            snprintf(err, cap, "unknown field \"%.64s\" (sampler parameters: docs/server.md)", key);
            bad = 1;
        } else {
            bad = r < 0;
            j->n_set += r == 0;
        }
    }
    if (!bad && kind == JOB_COMPLETE) {
        if (!prompt) {
            snprintf(err, cap, "prompt is required");
            bad = 1;
        } else {
            bad = read_prompt(s, prompt, j, err, cap) < 0;
        }
    }
    if (!bad && kind == JOB_INFILL)
        bad = read_canvas(s, text, segs, j, err, cap) < 0;
    if (!bad && kind == JOB_SCORE && s->mask_id < 0) {
        snprintf(err, cap, "the NELBO score needs a masked diffusion model (this one has no mask token)");
        bad = 1;
    }
    if (!bad && kind == JOB_SCORE && j->n_ids == 0) {
        snprintf(err, cap, j->ids ? "the text has no tokens" : "text is required");
        bad = 1;
    }
    json_decref(root);
    if (bad) {
        srv_job_free(j);
        return NULL;
    }
    *status = 200;
    return j;
}

/* ---- the cheap endpoints ------------------------------------------------------ */

json_t *srv_tokenize(srv *s, const char *body, size_t len, int *status)
{
    json_t *why = NULL, *root = srv_load_object(body, len, &why);
    *status = 400;
    if (!root)
        return why;
    char err[256] = "";
    int add_special = 1, parse_special = 0, pieces = 0, bad = 0;
    json_t *text = NULL, *v;
    const char *key;
    json_object_foreach(root, key, v)
    {
        if (bad)
            break;
        if (!strcmp(key, "text") || !strcmp(key, "content"))
            text = v;
        else if (!strcmp(key, "add_special"))
            bad = want_bool(key, v, &add_special, err, sizeof err);
        else if (!strcmp(key, "parse_special"))
            bad = want_bool(key, v, &parse_special, err, sizeof err);
        else if (!strcmp(key, "with_pieces"))
            bad = want_bool(key, v, &pieces, err, sizeof err);
        else if (strcmp(key, "model")) {
            snprintf(err, sizeof err, "unknown field \"%.64s\"", key);
            bad = 1;
        }
    }
    if (!bad && !json_is_string(text)) {
        snprintf(err, sizeof err, "text: a string is required");
        bad = 1;
    }
    if (!bad && !s->tok) {
        snprintf(err, sizeof err, "the model has no tokenizer");
        bad = 1;
    }
    json_t *r = NULL;
    if (!bad) {
        uint32_t flags = (add_special ? TDIFF_TOKENIZE_ADD_SPECIAL : 0) | (parse_special ? TDIFF_TOKENIZE_PARSE_SPECIAL
                                                                                         : 0);
        size_t n = 0;
        const char *t = json_string_value(text);
        size_t tl = json_string_length(text);
        tdiff_status st = tdiff_tokenizer_tokenize(s->tok, t, tl, flags, NULL, 0, &n);
        int32_t *ids = (st == TDIFF_OK || st == TDIFF_E_BUFFER_TOO_SMALL) ? malloc((n + 1) * sizeof *ids) : NULL;
        if (ids && tdiff_tokenizer_tokenize(s->tok, t, tl, flags, ids, n, &n) == TDIFF_OK) {
            json_t *arr = json_array(), *pcs = pieces ? json_array() : NULL;
            for (size_t i = 0; i < n; i++) {
                json_array_append_new(arr, json_integer(ids[i]));
                if (pcs) {
                    char buf[256];
                    size_t pl = 0;
                    json_array_append_new(pcs, tdiff_tokenizer_token_piece(s->tok, ids[i], buf, sizeof buf, &pl)
                                                   ? json_null() : srv_text(buf, pl));
                }
            }
            r = json_pack("{s:o}", "tokens", arr);
            if (pcs)
                json_object_set_new(r, "pieces", pcs);
            *status = 200;
        } else {
            *status = 500;
            r = srv_error("server_error", "cannot tokenize the text");
        }
        free(ids);
    }
    json_decref(root);
    return r ? r : srv_error("invalid_request_error", "%s", err);
}

json_t *srv_detokenize(srv *s, const char *body, size_t len, int *status)
{
    json_t *why = NULL, *root = srv_load_object(body, len, &why);
    *status = 400;
    if (!root)
        return why;
    char err[256] = "";
    int render = 0, bad = 0;
    json_t *tokens = NULL, *v;
    const char *key;
    json_object_foreach(root, key, v)
    {
        if (bad)
            break;
        if (!strcmp(key, "tokens"))
            tokens = v;
        else if (!strcmp(key, "render_special"))
            bad = want_bool(key, v, &render, err, sizeof err);
        else if (strcmp(key, "model")) {
            snprintf(err, sizeof err, "unknown field \"%.64s\"", key);
            bad = 1;
        }
    }
    size_t n = json_array_size(tokens);
    if (!bad && (!json_is_array(tokens) || n > (1u << 20))) {
        snprintf(err, sizeof err, "tokens: an array of token ids is required");
        bad = 1;
    }
    if (!bad && !s->tok) {
        snprintf(err, sizeof err, "the model has no tokenizer");
        bad = 1;
    }
    int32_t *ids = bad ? NULL : malloc((n + 1) * sizeof *ids);
    for (size_t i = 0; ids && i < n && !bad; i++) {
        long long x;
        bad = want_int("tokens[]", json_array_get(tokens, i), 0, (long long)s->n_vocab - 1, &x, err, sizeof err);
        ids[i] = (int32_t)x;
    }
    json_t *r = NULL;
    if (!bad && ids) {
        size_t need = 0, got = 0;
        uint32_t flags = render ? TDIFF_DETOKENIZE_RENDER_SPECIAL : 0;
        tdiff_status st = tdiff_tokenizer_detokenize(s->tok, ids, n, flags, NULL, 0, &need);
        char *buf = (st == TDIFF_OK || st == TDIFF_E_BUFFER_TOO_SMALL) ? malloc(need + 1) : NULL;
        if (buf && tdiff_tokenizer_detokenize(s->tok, ids, n, flags, buf, need + 1, &got) == TDIFF_OK) {
            r = json_pack("{s:o}", "text", srv_text(buf, got));
            *status = 200;
        }
        free(buf);
        if (!r) {
            *status = 500;
            r = srv_error("server_error", "cannot detokenize");
        }
    }
    free(ids);
    json_decref(root);
    return r ? r : srv_error("invalid_request_error", "%s", err);
}

json_t *srv_models(srv *s)
{
    return json_pack("{s:s,s:[{s:s,s:s,s:I,s:s,s:s,s:I,s:I}]}", "object", "list", "data", "id", s->model_name,
                     "object", "model", "created", (json_int_t)0, "owned_by", "libtextdiff", "architecture",
                     tdiff_model_architecture(s->model) ? tdiff_model_architecture(s->model) : "",
                     "context_length", (json_int_t)s->n_ctx, "vocab_size", (json_int_t)s->n_vocab);
}
