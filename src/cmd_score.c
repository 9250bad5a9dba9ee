/*
 * cmd_score.c -- `textdiff score [MODEL] FILE`: the masked-diffusion NELBO of a text
 * (nats per token) and the perplexity upper bound exp(NELBO/token) it implies, as
 * MDLM and SEDD report. The text is tokenized without special tokens and scored in
 * consecutive windows of --window tokens, each on its own (so the bound is that of
 * the windows, not of one long sequence).
 *
 * On an autoregressive model (llama / qwen2: causal, no mask token) the score is
 * the exact NLL instead (tdiff_objective_ar_nll, one causal pass per window): each
 * window is one condition token -- BOS when the model has one, else the token
 * before the window (so the text's very first token is then not scored) --
 * followed by up to --window - 1 scored tokens.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "libtextdiff.h"
#include "progress.h"

static int usage(FILE *f, int code)
{
    fprintf(f, "usage: textdiff score [MODEL] FILE [options]\n\n"
               "Prints the masked-diffusion negative ELBO of the text in FILE under MODEL, in nats per\n"
               "token, the perplexity upper bound exp(NELBO per token), and the number of tokens scored.\n"
               "An autoregressive MODEL (llama, qwen2) gets its exact negative log-likelihood and perplexity\n"
               "instead (one causal pass per window; --method, --samples, --seed and --schedule do not apply).\n"
               "MODEL left out: $TEXTDIFF_MODEL or the bundled model. On a terminal, progress (windows,\n"
               "tokens/s, time left) goes to stderr.\n"
               "  -m, --model FILE   the model (same as MODEL)    -f, --file FILE  the text (same as FILE)\n"
               "  --json             one JSON object instead of text\n"
               "  --method M         quadrature (default: deterministic, reproducible), antithetic or stratified\n"
               "  --samples N        network evaluations per window (default 32)\n"
               "  -s, --seed S       random seed for masks and times (default 0)\n"
               "  --window W         tokens per scored window (default 256, at most the model's context)\n"
               "  --schedule K       linear, loglinear (default, as MDLM/SEDD) or cosine2; the bound is the\n"
               "                     same for any schedule, only the t the model sees changes\n"
               "  -t, --threads N    threads for the network (default 1); results do not depend on it\n"
               "  -v, --verbose      a timing summary on stderr\n");
    return code;
}

static int parse_size(const char *s, size_t lo, size_t hi, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end || errno || s[0] == '-' || v < lo || v > hi)
        return -1;
    *out = (size_t)v;
    return 0;
}

/* A bad value for an option: says which and returns the usage-error status. */
static int bad_value(const char *opt, const char *val, const char *want)
{
    fprintf(stderr, "textdiff: score: %s '%s': %s\n", opt, val, want);
    return 2;
}

/* The exact NLL of ids under an autoregressive model, window by window (see the
 * file comment); prints the result. Returns the exit status. */
static int score_ar(const tdiff_model *m, tdiff_denoiser *d, const int32_t *ids, size_t n_ids, size_t window,
                    int json, int verbose, double t0)
{
    int32_t bos = -1;
    int has_bos = tdiff_model_special_id(m, TDIFF_SPECIAL_BOS, &bos) == TDIFF_OK;
    size_t first = has_bos ? 0 : 1; /* the first scored token */
    if (window < 2 || n_ids <= first) {
        fprintf(stderr, "textdiff: score: an autoregressive model needs at least %s\n",
                window < 2 ? "--window 2 (a condition token and a scored one)" : "two tokens of text (it has no BOS)");
        return 1;
    }
    int32_t *buf = malloc(window * sizeof *buf);
    if (!buf) {
        fprintf(stderr, "textdiff: score: out of memory\n");
        return 1;
    }
    char err[512];
    double total = 0.0, t_score = tool_seconds();
    size_t per_win = window - 1, n_windows = (n_ids - first + per_win - 1) / per_win, scored = 0;
    tool_progress progress;
    progress_begin(&progress, "window", !json);
    for (size_t w0 = first, k = 0; w0 < n_ids; w0 += per_win, k++) {
        size_t n = n_ids - w0 < per_win ? n_ids - w0 : per_win;
        progress_update(&progress, k, n_windows, (double)(w0 - first));
        buf[0] = has_bos ? bos : ids[w0 - 1];
        memcpy(buf + 1, ids + w0, n * sizeof *buf);
        double nats = 0.0;
        if (tdiff_objective_ar_nll(d, buf, n + 1, 1, &nats, NULL, err, sizeof err) != TDIFF_OK) {
            progress_end(&progress);
            fprintf(stderr, "textdiff: score: %s\n", err);
            free(buf);
            return 1;
        }
        total += nats;
        scored += n;
    }
    progress_end(&progress);
    free(buf);
    t_score = tool_seconds() - t_score;
    double per = total / (double)scored;
    if (verbose)
        fprintf(stderr, "textdiff: %zu tokens scored in %zu causal passes of at most %zu: %.3f s scoring "
                        "(%.1f tokens/s), %.3f s in all\n",
                scored, n_windows, window, t_score, t_score > 0 ? (double)scored / t_score : 0.0,
                tool_seconds() - t0);
    if (json)
        printf("{\"nll_nats_per_token\": %.6f, \"perplexity\": %.6f, \"tokens\": %zu, \"nll_nats_total\": %.6f, "
               "\"window\": %zu, \"windows\": %zu, \"condition\": \"%s\", \"kind\": \"autoregressive\"}\n",
               per, exp(per), scored, total, window, n_windows, has_bos ? "bos" : "previous token");
    else
        printf("nll              %.6f nats/token\nperplexity       %.6f\ntokens           %zu\n", per, exp(per),
               scored);
    return 0;
}

int cmd_score(int argc, char **argv)
{
    const char *model_path = NULL, *file = NULL, *method_s = "quadrature", *sched_s = "loglinear";
    const char *pos[3] = {NULL, NULL, NULL};
    size_t n_pos = 0, samples = 32, window = 256, threads = 1, seed = 0;
    int json = 0, verbose = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has_val = i + 1 < argc;
        if (tool_is_help(a))
            return usage(stdout, 0);
        if (!strcmp(a, "--json"))
            json = 1;
        else if (!strcmp(a, "-v") || !strcmp(a, "--verbose"))
            verbose = 1;
        else if ((!strcmp(a, "-m") || !strcmp(a, "--model")) && has_val)
            model_path = argv[++i];
        else if ((!strcmp(a, "-f") || !strcmp(a, "--file")) && has_val)
            file = argv[++i];
        else if (!strcmp(a, "--method") && has_val)
            method_s = argv[++i];
        else if (!strcmp(a, "--schedule") && has_val)
            sched_s = argv[++i];
        else if (!strcmp(a, "--samples") && has_val) {
            if (parse_size(argv[++i], 1, 1000000, &samples))
                return bad_value(a, argv[i], "evaluations in [1, 1000000]");
        } else if ((!strcmp(a, "--seed") || !strcmp(a, "-s")) && has_val) {
            if (parse_size(argv[++i], 0, (size_t)-1, &seed))
                return bad_value(a, argv[i], "a non-negative integer");
        } else if (!strcmp(a, "--window") && has_val) {
            if (parse_size(argv[++i], 1, 1 << 20, &window))
                return bad_value(a, argv[i], "tokens in [1, 1048576]");
        } else if ((!strcmp(a, "--threads") || !strcmp(a, "-t")) && has_val) {
            if (parse_size(argv[++i], 1, 256, &threads))
                return bad_value(a, argv[i], "threads in [1, 256]");
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "textdiff: score: unknown option '%s' (or it needs a value)\n", a);
            return 2;
        } else if (n_pos < 3) {
            pos[n_pos++] = a;
        }
    }
    /* positionals: FILE, or MODEL FILE (a -m / -f given takes its place) */
    if (n_pos == 2 && !model_path && !file) {
        model_path = pos[0];
        file = pos[1];
    } else if (n_pos == 1 && !file && !(tool_is_model_path(pos[0]) && !model_path)) {
        file = pos[0];
    } else if (n_pos == 1 && !model_path) {
        model_path = pos[0];
    } else if (n_pos) {
        fprintf(stderr, "textdiff: score: too many arguments (textdiff score [MODEL] FILE)\n");
        return 2;
    }
    if (!file) {
        fprintf(stderr, "textdiff: score: no text file (textdiff score [MODEL] FILE)\n");
        return 2;
    }
    if (!model_path)
        model_path = tool_default_model();
    tdiff_nelbo_method method;
    if (!strcmp(method_s, "quadrature"))
        method = TDIFF_NELBO_QUADRATURE;
    else if (!strcmp(method_s, "antithetic"))
        method = TDIFF_NELBO_ANTITHETIC;
    else if (!strcmp(method_s, "stratified"))
        method = TDIFF_NELBO_STRATIFIED;
    else
        return bad_value("--method", method_s, "quadrature, antithetic or stratified");
    tdiff_schedule_kind kind;
    if (!strcmp(sched_s, "loglinear"))
        kind = TDIFF_SCHEDULE_LOGLINEAR;
    else if (!strcmp(sched_s, "linear"))
        kind = TDIFF_SCHEDULE_LINEAR;
    else if (!strcmp(sched_s, "cosine2"))
        kind = TDIFF_SCHEDULE_MASKGIT_COSINE;
    else
        return bad_value("--schedule", sched_s, "linear, loglinear or cosine2");

    int rc = 1;
    size_t len = 0, n_ids = 0;
    double t0 = tool_seconds();
    char *text = tool_read_file(file, &len);
    int32_t *ids = NULL;
    tdiff_model *m = NULL;
    tdiff_tokenizer *tok = NULL;
    tdiff_denoiser *d = NULL;
    tdiff_scheduler *s = NULL;
    char err[512];
    if (!text) {
        fprintf(stderr, "textdiff: score: cannot read %s\n", file);
        goto done;
    }
    tdiff_status st = tdiff_model_load_file(model_path, NULL, &m, err, sizeof err);
    if (st != TDIFF_OK) {
        fprintf(stderr, "textdiff: score: %s: %s\n", model_path, err);
        goto done;
    }
    int32_t mask;
    int64_t causal = 0;
    int ar = tdiff_model_special_id(m, TDIFF_SPECIAL_MASK, &mask) != TDIFF_OK;
    if (ar && (tdiff_model_get_int(m, TDIFF_MODEL_CAUSAL, &causal) != TDIFF_OK || !causal)) {
        fprintf(stderr, "textdiff: score: %s has no mask token and is not causal: neither a masked diffusion nor "
                        "an autoregressive model\n", model_path);
        goto done;
    }
    if ((st = tdiff_tokenizer_create(m, NULL, &tok, err, sizeof err)) != TDIFF_OK) {
        fprintf(stderr, "textdiff: score: tokenizer: %s\n", err);
        goto done;
    }
    st = tdiff_tokenizer_tokenize(tok, text, len, 0, NULL, 0, &n_ids);
    if (st == TDIFF_OK || st == TDIFF_E_BUFFER_TOO_SMALL) {
        ids = malloc((n_ids ? n_ids : 1) * sizeof *ids);
        st = ids ? tdiff_tokenizer_tokenize(tok, text, len, 0, ids, n_ids, &n_ids) : TDIFF_E_OUT_OF_MEMORY;
    }
    if (st != TDIFF_OK) {
        fprintf(stderr, "textdiff: score: cannot tokenize %s: %s\n", file, tdiff_status_string(st));
        goto done;
    }
    if (n_ids == 0) {
        fprintf(stderr, "textdiff: score: %s has no tokens\n", file);
        goto done;
    }
    int64_t n_ctx = 0;
    if (tdiff_model_get_int(m, TDIFF_MODEL_N_CTX, &n_ctx) == TDIFF_OK && n_ctx > 0 && window > (size_t)n_ctx)
        window = (size_t)n_ctx;
    if (window > n_ids + (size_t)ar) /* an autoregressive window also holds its condition token */
        window = n_ids + (size_t)ar;
    if ((st = tdiff_denoiser_create(m, window, (int)threads, NULL, &d, err, sizeof err)) != TDIFF_OK) {
        fprintf(stderr, "textdiff: score: cannot create the denoiser: %s\n", err);
        goto done;
    }
    if (ar) {
        rc = score_ar(m, d, ids, n_ids, window, json, verbose, t0);
        goto done;
    }
    if ((st = tdiff_scheduler_create(kind, NULL, &s, err, sizeof err)) != TDIFF_OK) {
        fprintf(stderr, "textdiff: score: cannot create the scheduler: %s\n", err);
        goto done;
    }
    double total = 0.0, var = 0.0, t_score = tool_seconds();
    size_t n_windows = (n_ids + window - 1) / window;
    tool_progress progress;
    progress_begin(&progress, "window", !json);
    for (size_t w0 = 0, k = 0; w0 < n_ids; w0 += window, k++) {
        size_t n = n_ids - w0 < window ? n_ids - w0 : window;
        progress_update(&progress, k, n_windows, (double)w0);
        double nats, se;
        st = tdiff_objective_nelbo_denoiser(s, d, ids + w0, n, mask, method, samples, (uint64_t)seed + k, &nats, NULL,
                                            &se, err, sizeof err);
        if (st != TDIFF_OK) {
            fprintf(stderr, "textdiff: score: %s\n", err);
            goto done;
        }
        total += nats;
        var += se * se;
    }
    progress_end(&progress);
    t_score = tool_seconds() - t_score;
    double per = total / (double)n_ids;
    if (verbose)
        fprintf(stderr, "textdiff: %zu tokens in %zu windows of %zu, %zu evaluations each: %.3f s scoring "
                        "(%.1f tokens/s), %.3f s in all\n",
                n_ids, n_windows, window, samples, t_score, t_score > 0 ? (double)n_ids / t_score : 0.0,
                tool_seconds() - t0);
    if (json)
        printf("{\"nelbo_nats_per_token\": %.6f, \"perplexity_bound\": %.6f, \"tokens\": %zu, "
               "\"nelbo_nats_total\": %.6f, \"std_error_total\": %.6f, \"method\": \"%s\", \"samples\": %zu, "
               "\"window\": %zu, \"schedule\": \"%s\", \"seed\": %zu}\n",
               per, exp(per), n_ids, total, sqrt(var), method_s, samples, window, sched_s, seed);
    else
        printf("nelbo            %.6f nats/token\nperplexity_bound %.6f\ntokens           %zu\n", per, exp(per),
               n_ids);
    rc = 0;
done:
    tdiff_scheduler_free(s);
    tdiff_denoiser_free(d);
    tdiff_tokenizer_free(tok);
    tdiff_model_free(m);
    free(ids);
    free(text);
    return rc;
}
