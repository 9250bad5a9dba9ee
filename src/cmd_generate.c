/*
 * cmd_generate.c -- `textdiff generate` (text after a prompt) and `textdiff
 * infill` (fill [MASK:n] holes in a text): the prompt or canvas as ids (plain,
 * through the chat template, or with holes), the sampler run, progress on a
 * terminal, plain or JSON output, the -v summary. Options are gen_opts.c's;
 * everything the sampler does is in lib/sampler; this file only drives it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chat.h"
#include "cmd.h"
#include "gen_opts.h"
#include "infill.h"
#include "libtextdiff.h"
#include "progress.h"
#include "view.h"

#define MAX_IDS 65536

/* ---- JSON output -------------------------------------------------------- */

static void json_string(const char *s, size_t n)
{
    putchar('"');
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            printf("\\%c", c);
            i++;
        } else if (c < 0x20) {
            printf("\\u%04x", c);
            i++;
        } else if (c < 0x80) {
            putchar(c);
            i++;
        } else {
            /* pass a well-formed UTF-8 sequence through, replace a broken byte */
            size_t len = c >= 0xF0 && c < 0xF5 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c < 0xE0 ? 2 : 0;
            int ok = len > 0 && i + len <= n;
            for (size_t k = 1; ok && k < len; k++)
                ok = ((unsigned char)s[i + k] & 0xC0) == 0x80;
            if (ok) {
                fwrite(s + i, 1, len, stdout);
                i += len;
            } else {
                fputs("\\ufffd", stdout);
                i++;
            }
        }
    }
    putchar('"');
}

/* ---- --show / --trace: the incremental API, one step at a time ---------- */

static tdiff_status watch(tdiff_sampler *s, const tdiff_tokenizer *tok, const int32_t *ids, size_t n_ids, int infill,
                          FILE *show, long delay_ms, FILE *trace, tool_view *v, int32_t *out, size_t cap,
                          size_t *n_out)
{
    tdiff_status st = infill ? tdiff_sampler_begin_infill(s, ids, n_ids) : tdiff_sampler_begin(s, ids, n_ids);
    if (st)
        return st;
    size_t n = 0;
    int state = 0;
    int32_t *canvas = NULL;
    uint8_t *masked = NULL;
    tdiff_sampler_canvas(s, NULL, NULL, NULL, 0, &n);
    canvas = malloc((n ? n : 1) * sizeof *canvas);
    masked = malloc(n ? n : 1);
    if (!canvas || !masked || tdiff_sampler_canvas(s, canvas, NULL, masked, n, &n)) {
        st = TDIFF_E_OUT_OF_MEMORY;
        goto fail;
    }
    v->tok = tok;
    v->mask_id = -1;
    v->region_start = n;
    for (size_t i = 0; i < n; i++)
        if (masked[i]) {
            v->mask_id = canvas[i];
            v->region_start = i < v->region_start ? i : v->region_start;
        }
    v->show = show;
    v->delay_ms = delay_ms;
    v->trace = trace;
    if (view_begin(v, canvas, n)) {
        st = TDIFF_E_OUT_OF_MEMORY;
        goto fail;
    }
    tdiff_sampler_set_callback(s, view_step, v);
    int done = 0;
    while (!st && !done)
        st = tdiff_sampler_step(s, &done);
    if (!st)
        st = tdiff_sampler_result(s, out, cap, n_out);
    view_end(v, out, *n_out, st);
    tdiff_sampler_set_callback(s, NULL, NULL);
fail:
    tdiff_sampler_progress(s, &state, NULL, NULL);
    if (state) /* a failing step has already ended the generation; its message stays */
        tdiff_sampler_cancel(s);
    free(canvas);
    free(masked);
    return st;
}

/* ---- the prompt or canvas as ids ---------------------------------------- */

/* Fills ids from -p/-f/--prompt-ids/the infill text (through the chat template
 * with --chat); the count, or -1 after printing why. */
static long input_ids(const gen_opts *o, const tdiff_tokenizer *tok, int32_t mask, int32_t *ids)
{
    char *file_text = NULL;
    const char *text = o->mode == GEN_INFILL ? o->text : o->prompt;
    long n = -1;
    if (o->ids) {
        n = tool_parse_ids(o->ids, ids, MAX_IDS);
        if (n < 0)
            fprintf(stderr, "textdiff: %s: not a list of token ids: '%.40s'\n", o->mode == GEN_INFILL ?
                    "--canvas-ids" : "--prompt-ids", o->ids);
        return n;
    }
    if (!tok) {
        fprintf(stderr, "textdiff: the model has no tokenizer: give the %s as ids (%s)\n",
                o->mode == GEN_INFILL ? "canvas" : "prompt", o->mode == GEN_INFILL ? "--canvas-ids" : "--prompt-ids");
        return -1;
    }
    if (o->file) {
        size_t len;
        if (!(file_text = tool_read_file(o->file, &len))) {
            fprintf(stderr, "textdiff: cannot read '%s': %s\n", o->file, strerror(errno));
            return -1;
        }
        text = file_text;
    }
    if (o->mode == GEN_INFILL) {
        char why[160];
        n = tool_infill_ids(tok, text, strlen(text), mask, ids, MAX_IDS, why, sizeof why);
        if (n < 0)
            fprintf(stderr, "textdiff: infill: %s\n", why);
    } else if (o->chat) {
        n = chat_prompt_ids(tok, o->system, text, ids, MAX_IDS);
    } else {
        size_t got = 0;
        tdiff_status st = tdiff_tokenizer_tokenize(tok, text, strlen(text), TDIFF_TOKENIZE_ADD_SPECIAL, ids, MAX_IDS,
                                                   &got);
        if (st == TDIFF_OK)
            n = (long)got;
        else
            fprintf(stderr, "textdiff: cannot tokenize the prompt: %s\n", st == TDIFF_E_BUFFER_TOO_SMALL
                    ? "more than 65536 tokens" : tdiff_status_string(st));
    }
    free(file_text);
    return n;
}

/* --seed -1: a seed from the system's entropy (time as a fallback), printed so
 * the run can be repeated. */
static int64_t random_seed(void)
{
    uint32_t v = 0;
    FILE *f = fopen("/dev/urandom", "rb");
    if (!f || fread(&v, sizeof v, 1, f) != 1)
        v = (uint32_t)(tool_seconds() * 1e6) ^ (uint32_t)getpid();
    if (f)
        fclose(f);
    return (int64_t)v;
}

/* Spindle: counts[v] = 1 + occurrences of v in the --spindle-corpus text (the 1 keeps
 * unseen tokens at weight log 2 rather than 0, as a smoothed count), or all 1 without
 * one, which makes every weight equal and the schedule the linear one. */
static int spindle_setup(const gen_opts *o, const tdiff_model *model, tdiff_sampler *s, tdiff_scheduler **sched)
{
    size_t V = 0;
    char err[512];
    tdiff_model_vocab_size(model, &V);
    float *counts = malloc(V * sizeof *counts);
    int32_t *ids = NULL;
    char *text = NULL;
    tdiff_tokenizer *tok = NULL;
    int rc = 1;
    if (!counts) {
        fprintf(stderr, "textdiff: out of memory\n");
        return 1;
    }
    for (size_t v = 0; v < V; v++)
        counts[v] = 1.0f;
    if (o->spindle_corpus) {
        size_t len = 0, n = 0;
        if (!(text = tool_read_file(o->spindle_corpus, &len))) {
            fprintf(stderr, "textdiff: cannot read %s\n", o->spindle_corpus);
            goto out;
        }
        if (tdiff_tokenizer_create(model, NULL, &tok, err, sizeof err)) {
            fprintf(stderr, "textdiff: --spindle-corpus needs the model's tokenizer: %s\n", err);
            goto out;
        }
        tdiff_tokenizer_tokenize(tok, text, len, 0, NULL, 0, &n);
        if (!(ids = malloc((n ? n : 1) * sizeof *ids)) || tdiff_tokenizer_tokenize(tok, text, len, 0, ids, n, &n)) {
            fprintf(stderr, "textdiff: cannot tokenize %s\n", o->spindle_corpus);
            goto out;
        }
        for (size_t i = 0; i < n; i++)
            counts[ids[i]] += 1.0f;
    } else if (o->verbose) {
        fprintf(stderr, "textdiff: spindle without --spindle-corpus: equal token weights (the linear schedule)\n");
    }
    if (tdiff_scheduler_create(TDIFF_SCHEDULE_SPINDLE, NULL, sched, err, sizeof err)) {
        fprintf(stderr, "textdiff: cannot create the spindle schedule: %s\n", err);
        goto out;
    }
    if (tdiff_scheduler_set_token_counts(*sched, counts, V) || tdiff_sampler_set_scheduler(s, *sched)) {
        fprintf(stderr, "textdiff: cannot set up the spindle schedule: %s\n", tdiff_sampler_last_error(s));
        goto out;
    }
    rc = 0;
out:
    tdiff_tokenizer_free(tok);
    free(text);
    free(ids);
    free(counts);
    return rc;
}

/* D3PM and SEDD need a transition graph and a schedule beside the sampler; spindle
 * a scheduler with token counts. */
int gen_graph_setup(const gen_opts *o, const tdiff_model *model, tdiff_sampler *s, int32_t mask,
                    tdiff_scheduler **sched, tdiff_transition **tr)
{
    int64_t strategy = 0, steps = 0;
    tdiff_sampler_get_int(s, TDIFF_SAMPLER_STRATEGY, &strategy);
    tdiff_sampler_get_int(s, TDIFF_SAMPLER_STEPS, &steps);
    if (strategy == TDIFF_STRATEGY_SPINDLE)
        return spindle_setup(o, model, s, sched);
    if (strategy != TDIFF_STRATEGY_D3PM && strategy != TDIFF_STRATEGY_SEDD_EULER &&
        strategy != TDIFF_STRATEGY_SEDD_ANALYTIC)
        return 0;
    size_t V = 0;
    char err[512];
    tdiff_model_vocab_size(model, &V);
    int uniform = !strcmp(o->graph, "uniform");
    tdiff_schedule_kind kind = strategy == TDIFF_STRATEGY_D3PM ? TDIFF_SCHEDULE_LINEAR : TDIFF_SCHEDULE_LOGLINEAR;
    if (tdiff_scheduler_create(kind, NULL, sched, err, sizeof err) ||
        tdiff_transition_create(uniform ? TDIFF_TRANSITION_UNIFORM : TDIFF_TRANSITION_ABSORBING, V, mask, *sched,
                                (size_t)steps, NULL, tr, err, sizeof err)) {
        fprintf(stderr, "textdiff: cannot set up the %s graph: %s\n", o->graph, err);
        return 1;
    }
    if (tdiff_sampler_set_transition(s, *tr) || tdiff_sampler_set_scheduler(s, *sched)) {
        fprintf(stderr, "textdiff: cannot set up the %s graph: %s\n", o->graph, tdiff_sampler_last_error(s));
        return 1;
    }
    return 0;
}

static void print_result(const gen_opts *o, tdiff_sampler *s, const tdiff_tokenizer *tok, const int32_t *out,
                         size_t n_out, int64_t seed)
{
    char *txt = NULL;
    size_t txt_len = 0;
    if (tok) {
        tdiff_tokenizer_detokenize(tok, out, n_out, 0, NULL, 0, &txt_len);
        txt = malloc(txt_len + 1);
        if (txt && tdiff_tokenizer_detokenize(tok, out, n_out, 0, txt, txt_len + 1, &txt_len))
            txt_len = 0;
    }
    if (o->json) {
        int64_t fw = 0, steps = 0, rows = 0, hits = 0;
        double total = 0, fws = 0;
        tdiff_sampler_get_int(s, TDIFF_SAMPLER_STAT_FORWARD_PASSES, &fw);
        tdiff_sampler_get_int(s, TDIFF_SAMPLER_STAT_STEPS, &steps);
        tdiff_sampler_get_int(s, TDIFF_SAMPLER_STAT_ROWS_COMPUTED, &rows);
        tdiff_sampler_get_int(s, TDIFF_SAMPLER_STAT_CACHE_HITS, &hits);
        tdiff_sampler_get_float(s, TDIFF_SAMPLER_STAT_TOTAL_SECONDS, &total);
        tdiff_sampler_get_float(s, TDIFF_SAMPLER_STAT_FORWARD_SECONDS, &fws);
        printf("{\"tokens\": [");
        for (size_t i = 0; i < n_out; i++)
            printf("%s%d", i ? ", " : "", (int)out[i]);
        printf("], \"text\": ");
        if (txt)
            json_string(txt, txt_len);
        else
            printf("null");
        printf(", \"seed\": %lld, \"forward_passes\": %lld, \"steps\": %lld, \"rows_computed\": %lld, "
               "\"cache_hits\": %lld, \"seconds\": %.6f, \"forward_seconds\": %.6f, \"tokens_per_second\": %.3f}\n",
               (long long)seed, (long long)fw, (long long)steps, (long long)rows, (long long)hits, total, fws,
               total > 0 ? (double)n_out / total : 0.0);
    } else if (txt) {
        fwrite(txt, 1, txt_len, stdout);
        putchar('\n');
    } else {
        for (size_t i = 0; i < n_out; i++)
            printf("%s%d", i ? "," : "", (int)out[i]);
        putchar('\n');
    }
    free(txt);
}

/* -v: where the time went, on stderr. */
void gen_summary(tdiff_sampler *s, double load_seconds, size_t n_tokens, int64_t seed)
{
    int64_t fw = 0, steps = 0, reused = 0;
    double total = 0, fws = 0;
    tdiff_sampler_get_int(s, TDIFF_SAMPLER_STAT_FORWARD_PASSES, &fw);
    tdiff_sampler_get_int(s, TDIFF_SAMPLER_STAT_STEPS, &steps);
    tdiff_sampler_get_int(s, TDIFF_SAMPLER_STAT_REUSED, &reused);
    tdiff_sampler_get_float(s, TDIFF_SAMPLER_STAT_TOTAL_SECONDS, &total);
    tdiff_sampler_get_float(s, TDIFF_SAMPLER_STAT_FORWARD_SECONDS, &fws);
    fprintf(stderr, "textdiff: model loaded in %.3f s; %lld steps, %lld forward passes (%lld reused) in %.3f s "
                    "(%.3f s in the network, %.3f s per pass), %zu tokens, %.2f tokens/s, seed %lld\n",
            load_seconds, (long long)steps, (long long)fw, (long long)reused, total, fws,
            fw > 0 ? fws / (double)fw : 0.0, n_tokens, total > 0 ? (double)n_tokens / total : 0.0, (long long)seed);
}

static int run(int argc, char **argv, int mode)
{
    gen_opts o;
    int rc = gen_opts_parse(argc, argv, mode, &o);
    if (rc)
        return rc == 1 ? 0 : 2;
    const char *model_path = o.model ? o.model : tool_default_model();
    tdiff_scheduler *sched = NULL;
    tdiff_transition *tr = NULL;
    tdiff_softmask *softmask = NULL;
    tdiff_sampler *s = NULL;
    tdiff_tokenizer *tok = NULL;
    tdiff_model *model = NULL;
    int32_t *ids = NULL, *out = NULL;
    FILE *trace = NULL;
    tool_view view;
    memset(&view, 0, sizeof view);
    char err[512], msg[512];
    double t_load = tool_seconds();
    if (tdiff_model_load_file(model_path, NULL, &model, err, sizeof err)) {
        fprintf(stderr, "textdiff: cannot load '%s': %s\n", model_path, err);
        return 1;
    }
    t_load = tool_seconds() - t_load;
    rc = 1;
    if (!(ids = malloc(MAX_IDS * sizeof *ids))) {
        fprintf(stderr, "textdiff: out of memory\n");
        goto done;
    }
    if (tdiff_sampler_create(model, NULL, &s, err, sizeof err)) {
        fprintf(stderr, "textdiff: cannot create the sampler: %s\n", err);
        goto done;
    }
    if ((rc = gen_opts_apply(&o, s)) != 0)
        goto done;
    rc = 1;
    int64_t seed = 0;
    if (o.random_seed) {
        seed = random_seed();
        tdiff_sampler_set_int(s, TDIFF_SAMPLER_SEED, seed);
        fprintf(stderr, "textdiff: seed %lld\n", (long long)seed);
    }
    tdiff_sampler_get_int(s, TDIFF_SAMPLER_SEED, &seed);
    if (o.soft_mask) {
        if (tdiff_softmask_create(model, tool_vocab(model), NULL, &softmask, err, sizeof err)) {
            fprintf(stderr, "textdiff: --soft-mask: %s\n", err);
            goto done;
        }
        if (tdiff_softmask_set_int(softmask, TDIFF_SOFTMASK_TOP_K, o.soft_mask) ||
            tdiff_sampler_set_softmask(s, softmask)) {
            fprintf(stderr, "textdiff: --soft-mask: %s\n", tool_lib_message(msg, sizeof msg,
                                                                         tdiff_sampler_last_error(s)));
            goto done;
        }
    }
    if (tdiff_tokenizer_create(model, NULL, &tok, err, sizeof err))
        tok = NULL; /* ids still work; text output is then omitted */
    /* No mask token: an autoregressive model (the sampler refuses the others and
     * runs it with the ar strategy); it generates, it cannot fill holes. */
    int32_t mask = -1;
    if (tdiff_model_special_id(model, TDIFF_SPECIAL_MASK, &mask) && mode == GEN_INFILL) {
        fprintf(stderr, "textdiff: '%s' has no mask token (tokenizer.ggml.mask_token_id): infilling needs a masked "
                        "diffusion model\n", model_path);
        goto done;
    }
    long n_ids = input_ids(&o, tok, mask, ids);
    if (n_ids < 0 || gen_graph_setup(&o, model, s, mask, &sched, &tr))
        goto done;
    int show = o.show && isatty(1) && !o.json; /* plain output when stdout is not a terminal */
    int64_t gen = 0, compat = 0;
    tdiff_sampler_get_int(s, TDIFF_SAMPLER_GEN_LENGTH, &gen);
    tdiff_sampler_get_int(s, TDIFF_SAMPLER_COMPAT, &compat);
    step_progress sp = {.mask = mask};
    if (mode == GEN_INFILL)
        for (long i = 0; i < n_ids; i++)
            sp.masks0 += ids[i] == mask;
    else
        sp.masks0 = compat == TDIFF_COMPAT_LLAMACPP && gen > n_ids ? (size_t)(gen - n_ids) : (size_t)gen;
    progress_begin(&sp.p, "step", !o.json && !show && !o.trace);
    if (sp.p.on)
        tdiff_sampler_set_callback(s, progress_on_step, &sp);
    size_t cap = mode == GEN_INFILL ? (size_t)n_ids : (size_t)gen, n_out = 0;
    out = malloc((cap ? cap : 1) * sizeof *out);
    tdiff_status st;
    if (!out) {
        st = TDIFF_E_OUT_OF_MEMORY;
    } else if (show || o.trace) {
        if (o.trace && !(trace = fopen(o.trace, "w"))) {
            fprintf(stderr, "textdiff: cannot write '%s': %s\n", o.trace, strerror(errno));
            goto done;
        }
        st = watch(s, tok, ids, (size_t)n_ids, mode == GEN_INFILL, show ? stdout : NULL, o.show_delay, trace, &view,
                   out, cap, &n_out);
        if (trace && fclose(trace) && !st) {
            fprintf(stderr, "textdiff: writing '%s' failed\n", o.trace);
            st = TDIFF_E_IO;
        }
        trace = NULL;
    } else {
        st = mode == GEN_INFILL ? tdiff_sampler_infill(s, ids, (size_t)n_ids, out, cap, &n_out)
                                : tdiff_sampler_generate(s, ids, (size_t)n_ids, out, cap, &n_out);
    }
    progress_end(&sp.p);
    if (st) {
        fprintf(stderr, "textdiff: %s: %s\n", tdiff_status_string(st),
                tool_lib_message(msg, sizeof msg, tdiff_sampler_last_error(s)));
        goto done;
    }
    print_result(&o, s, tok, out, n_out, seed);
    if (o.verbose)
        gen_summary(s, t_load, n_out, seed);
    rc = 0;
done:
    if (trace)
        fclose(trace);
    view_free(&view);
    free(ids);
    free(out);
    tdiff_tokenizer_free(tok);
    tdiff_sampler_free(s);
    tdiff_softmask_free(softmask); /* after the sampler that borrowed it */
    tdiff_transition_free(tr);
    tdiff_scheduler_free(sched);
    tdiff_model_free(model);
    return rc;
}

int cmd_generate(int argc, char **argv)
{
    return run(argc, argv, GEN_GENERATE);
}

int cmd_infill(int argc, char **argv)
{
    return run(argc, argv, GEN_INFILL);
}
