/*
 * textdiff_web.c -- the C side of the in-browser infill page (examples/web):
 * a handful of functions the page's JavaScript calls through emscripten's
 * ccall. It owns one model, its tokenizer and one sampler, builds the canvas
 * from a text with [MASK:n] holes (src/infill.c, the same syntax and the same
 * tokens as `textdiff infill`), and hands the canvas back after every slice of
 * steps as JSON the page draws.
 *
 * What it deliberately is not: a general binding. Everything is a global of
 * this file because a page has exactly one of each; the library itself keeps no
 * global state. Strings returned to JavaScript live in one growing buffer and
 * are valid until the next call.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <emscripten/emscripten.h>

#include "../../src/infill.h"
#include "libtextdiff.h"

/* What the page calls (ccall / Module._web_*), in the order it calls them. */
const char *web_error(void);
int web_load(const void *data, size_t size);
int web_begin(const char *text, int steps, double seed);
int web_step_for(double budget_us);
const char *web_canvas_json(void);
const char *web_result_json(void);

/* The largest canvas the page accepts: the bundled model's context is 256
 * tokens; the sampler refuses longer canvases itself with a message. */
#define WEB_MAX_IDS 4096

static tdiff_model *model;
static tdiff_tokenizer *tok;
static tdiff_sampler *sampler;
static int32_t mask_id = -1;
static int32_t ids[WEB_MAX_IDS];
static char err[512];

/* ---- one growing output buffer for the strings handed to JavaScript ------ */

static char *out;
static size_t out_len, out_cap;

static int out_reserve(size_t extra)
{
    if (out_len + extra + 1 <= out_cap)
        return 0;
    size_t cap = out_cap ? out_cap : 4096;
    while (cap < out_len + extra + 1)
        cap *= 2;
    char *p = realloc(out, cap);
    if (!p)
        return -1;
    out = p;
    out_cap = cap;
    return 0;
}

static void out_bytes(const char *s, size_t n)
{
    if (out_reserve(n))
        return;
    memcpy(out + out_len, s, n);
    out_len += n;
    out[out_len] = 0;
}

static void out_printf(const char *fmt, ...)
{
    char buf[64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n > 0)
        out_bytes(buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

/* A JSON string of s[0..n): quotes, backslashes and control bytes escaped.
 * Bytes >= 0x80 pass through: the page decodes the whole buffer as UTF-8, and
 * a token that cuts a character shows as U+FFFD there, as in a terminal. */
static void out_json_string(const char *s, size_t n)
{
    out_bytes("\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            out_bytes(e, 2);
        } else if (c < 0x20) {
            out_printf("\\u%04x", c);
        } else {
            out_bytes(s + i, 1);
        }
    }
    out_bytes("\"", 1);
}

static const char *fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, sizeof err, fmt, ap);
    va_end(ap);
    return NULL;
}

/* ---- the functions the page calls ----------------------------------------- */

/* The last error's text ("" when none). */
EMSCRIPTEN_KEEPALIVE const char *web_error(void)
{
    return err;
}

/* Loads the model from data[0..size) (the page's malloc'd copy of the fetched
 * file, which must outlive the model: the library reads tensors in place) and
 * creates the tokenizer and the sampler. Returns 0, or -1 with web_error(). */
EMSCRIPTEN_KEEPALIVE int web_load(const void *data, size_t size)
{
    err[0] = 0;
    if (tdiff_model_load_memory(data, size, NULL, &model, err, sizeof err) ||
        tdiff_tokenizer_create(model, NULL, &tok, err, sizeof err) ||
        tdiff_sampler_create(model, NULL, &sampler, err, sizeof err))
        return -1;
    if (tdiff_model_special_id(model, TDIFF_SPECIAL_MASK, &mask_id)) {
        snprintf(err, sizeof err, "the model has no mask token: it cannot infill");
        return -1;
    }
    return 0;
}

/* Starts an infill of text (UTF-8, [MASK:n] holes) with `steps` steps and
 * `seed` (an integer below 2^53, as JavaScript numbers hold it); everything
 * else keeps the sampler's defaults, as `textdiff infill` does. Returns the
 * canvas length, or -1 with web_error(). A generation still running is
 * cancelled first. */
EMSCRIPTEN_KEEPALIVE int web_begin(const char *text, int steps, double seed)
{
    err[0] = 0;
    if (!sampler) {
        fail("no model loaded");
        return -1;
    }
    int state = 0;
    tdiff_sampler_progress(sampler, &state, NULL, NULL);
    if (state != 0)
        tdiff_sampler_cancel(sampler);
    long n = tool_infill_ids(tok, text, strlen(text), mask_id, ids, WEB_MAX_IDS, err, sizeof err);
    if (n < 0)
        return -1;
    if (tdiff_sampler_set_int(sampler, TDIFF_SAMPLER_STEPS, steps) ||
        tdiff_sampler_set_int(sampler, TDIFF_SAMPLER_SEED, (int64_t)seed) ||
        tdiff_sampler_begin_infill(sampler, ids, (size_t)n)) {
        snprintf(err, sizeof err, "%s", tdiff_sampler_last_error(sampler));
        return -1;
    }
    return (int)n;
}

/* Runs steps for about budget_us microseconds (at least one step; a step is
 * never cut). Returns the steps taken, 1000000 + that count when the
 * generation is done, or -1 with web_error(). */
EMSCRIPTEN_KEEPALIVE int web_step_for(double budget_us)
{
    size_t taken = 0;
    int done = 0;
    if (!sampler) {
        fail("no model loaded");
        return -1;
    }
    if (tdiff_sampler_step_for(sampler, budget_us > 0 ? (uint64_t)budget_us : 0, &taken, &done)) {
        snprintf(err, sizeof err, "%s", tdiff_sampler_last_error(sampler));
        return -1;
    }
    return (int)taken + (done ? 1000000 : 0);
}

/* The canvas as JSON: {"step":k,"steps":n,"tokens":[{"id":..,"text":"..",
 * "masked":0|1,"conf":c}...]}; conf is -1 where nothing was predicted yet.
 * Returns NULL with web_error() when no generation is running or done. */
EMSCRIPTEN_KEEPALIVE const char *web_canvas_json(void)
{
    static int32_t canvas[WEB_MAX_IDS];
    static float conf[WEB_MAX_IDS];
    static uint8_t masked[WEB_MAX_IDS];
    size_t n = 0, taken = 0, planned = 0;
    if (!sampler || tdiff_sampler_canvas(sampler, canvas, conf, masked, WEB_MAX_IDS, &n))
        return fail("no canvas (no generation begun)");
    tdiff_sampler_progress(sampler, NULL, &taken, &planned);
    out_len = 0;
    out_printf("{\"step\":%zu,\"steps\":%zu,\"tokens\":[", taken, planned);
    for (size_t i = 0; i < n; i++) {
        char piece[256];
        size_t len = 0;
        if (masked[i] || tdiff_tokenizer_is_special(tok, canvas[i]) ||
            tdiff_tokenizer_token_piece(tok, canvas[i], piece, sizeof piece, &len))
            len = 0;
        out_printf("%s{\"id\":%d,\"masked\":%d,\"conf\":%.3f,\"text\":", i ? "," : "", (int)canvas[i], masked[i] ? 1 : 0,
                   conf[i] == conf[i] ? (double)conf[i] : -1.0);
        out_json_string(piece, len);
        out_bytes("}", 1);
    }
    out_bytes("]}", 2);
    return out;
}

/* Ends a DONE generation: {"tokens":[...],"text":"..."}, the whole canvas and
 * its text exactly as `textdiff infill --json` prints them. NULL with
 * web_error() when the generation is not DONE. */
EMSCRIPTEN_KEEPALIVE const char *web_result_json(void)
{
    static int32_t res[WEB_MAX_IDS];
    size_t n = 0, len = 0;
    if (!sampler || tdiff_sampler_result(sampler, res, WEB_MAX_IDS, &n))
        return fail("no finished generation: %s", sampler ? tdiff_sampler_last_error(sampler) : "no model");
    char *txt = NULL;
    tdiff_tokenizer_detokenize(tok, res, n, 0, NULL, 0, &len); /* the size; the call below checks */
    txt = malloc(len + 1);
    if (!txt || tdiff_tokenizer_detokenize(tok, res, n, 0, txt, len + 1, &len)) {
        free(txt);
        return fail("cannot detokenize the result");
    }
    out_len = 0;
    out_bytes("{\"tokens\":[", 11);
    for (size_t i = 0; i < n; i++)
        out_printf("%s%d", i ? "," : "", (int)res[i]);
    out_bytes("],\"text\":", 9);
    out_json_string(txt, len);
    out_bytes("}", 1);
    free(txt);
    return out;
}
