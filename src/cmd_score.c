/*
 * cmd_score.c -- `textdiff score MODEL FILE`: the masked-diffusion NELBO of a text
 * (nats per token) and the perplexity upper bound exp(NELBO/token) it implies, as
 * MDLM and SEDD report. The text is tokenized without special tokens and scored in
 * consecutive windows of --window tokens, each on its own (so the bound is that of
 * the windows, not of one long sequence).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "libtextdiff.h"

static int usage(FILE *f, int code)
{
    fprintf(f, "usage: textdiff score MODEL FILE [--json] [--method quadrature|antithetic|stratified]\n"
               "                      [--samples N] [--seed S] [--window W] [--schedule linear|loglinear|cosine2]\n"
               "                      [--threads N]\n\n"
               "Prints the masked-diffusion negative ELBO of the text in FILE under MODEL, in nats per\n"
               "token, the perplexity upper bound exp(NELBO per token), and the number of tokens scored.\n"
               "  --json       one JSON object instead of text\n"
               "  --method     quadrature (default: deterministic, reproducible), antithetic or stratified\n"
               "  --samples N  network evaluations per window (default 32)\n"
               "  --seed S     random seed for masks and times (default 0)\n"
               "  --window W   tokens per scored window (default 256, at most the model's context)\n"
               "  --schedule   noise schedule; the bound is the same for any schedule, only the t the\n"
               "               model sees changes (default loglinear, as MDLM/SEDD)\n"
               "  --threads N  threads for the network (default 1); results do not depend on it\n");
    return code;
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n < cap)
            break;
        char *nb = realloc(buf, cap * 2);
        if (!nb) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap *= 2;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
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

int cmd_score(int argc, char **argv)
{
    const char *model_path = NULL, *file = NULL, *method_s = "quadrature", *sched_s = "loglinear";
    size_t samples = 32, window = 256, threads = 1, seed = 0;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has_val = i + 1 < argc;
        if (tool_is_help(a))
            return usage(stdout, 0);
        if (!strcmp(a, "--json"))
            json = 1;
        else if (!strcmp(a, "--method") && has_val)
            method_s = argv[++i];
        else if (!strcmp(a, "--schedule") && has_val)
            sched_s = argv[++i];
        else if (!strcmp(a, "--samples") && has_val) {
            if (parse_size(argv[++i], 1, 1000000, &samples))
                return usage(stderr, 2);
        } else if (!strcmp(a, "--seed") && has_val) {
            if (parse_size(argv[++i], 0, (size_t)-1, &seed))
                return usage(stderr, 2);
        } else if (!strcmp(a, "--window") && has_val) {
            if (parse_size(argv[++i], 1, 1 << 20, &window))
                return usage(stderr, 2);
        } else if (!strcmp(a, "--threads") && has_val) {
            if (parse_size(argv[++i], 1, 256, &threads))
                return usage(stderr, 2);
        } else if (a[0] != '-' && !model_path)
            model_path = a;
        else if (a[0] != '-' && !file)
            file = a;
        else
            return usage(stderr, 2);
    }
    if (!model_path || !file)
        return usage(stderr, 2);
    tdiff_nelbo_method method;
    if (!strcmp(method_s, "quadrature"))
        method = TDIFF_NELBO_QUADRATURE;
    else if (!strcmp(method_s, "antithetic"))
        method = TDIFF_NELBO_ANTITHETIC;
    else if (!strcmp(method_s, "stratified"))
        method = TDIFF_NELBO_STRATIFIED;
    else
        return usage(stderr, 2);
    tdiff_schedule_kind kind;
    if (!strcmp(sched_s, "loglinear"))
        kind = TDIFF_SCHEDULE_LOGLINEAR;
    else if (!strcmp(sched_s, "linear"))
        kind = TDIFF_SCHEDULE_LINEAR;
    else if (!strcmp(sched_s, "cosine2"))
        kind = TDIFF_SCHEDULE_MASKGIT_COSINE;
    else
        return usage(stderr, 2);

    int rc = 1;
    size_t len = 0, n_ids = 0;
    char *text = read_all(file, &len);
    int32_t *ids = NULL;
    tdiff_model *m = NULL;
    tdiff_tokenizer *tok = NULL;
    tdiff_denoiser *d = NULL;
    tdiff_scheduler *s = NULL;
    char err[512];
    if (!text) {
        fprintf(stderr, "textdiff score: cannot read %s\n", file);
        goto done;
    }
    tdiff_status st = tdiff_model_load_file(model_path, NULL, &m, err, sizeof err);
    if (st != TDIFF_OK) {
        fprintf(stderr, "textdiff score: %s: %s\n", model_path, err);
        goto done;
    }
    int32_t mask;
    if (tdiff_model_special_id(m, TDIFF_SPECIAL_MASK, &mask) != TDIFF_OK) {
        fprintf(stderr, "textdiff score: %s has no mask token: not a masked diffusion model\n", model_path);
        goto done;
    }
    if ((st = tdiff_tokenizer_create(m, NULL, &tok, err, sizeof err)) != TDIFF_OK) {
        fprintf(stderr, "textdiff score: tokenizer: %s\n", err);
        goto done;
    }
    st = tdiff_tokenizer_tokenize(tok, text, len, 0, NULL, 0, &n_ids);
    if (st == TDIFF_OK || st == TDIFF_E_BUFFER_TOO_SMALL) {
        ids = malloc((n_ids ? n_ids : 1) * sizeof *ids);
        st = ids ? tdiff_tokenizer_tokenize(tok, text, len, 0, ids, n_ids, &n_ids) : TDIFF_E_OUT_OF_MEMORY;
    }
    if (st != TDIFF_OK) {
        fprintf(stderr, "textdiff score: cannot tokenize %s: %s\n", file, tdiff_status_string(st));
        goto done;
    }
    if (n_ids == 0) {
        fprintf(stderr, "textdiff score: %s has no tokens\n", file);
        goto done;
    }
    int64_t n_ctx = 0;
    if (tdiff_model_get_int(m, TDIFF_MODEL_N_CTX, &n_ctx) == TDIFF_OK && n_ctx > 0 && window > (size_t)n_ctx)
        window = (size_t)n_ctx;
    if (window > n_ids)
        window = n_ids;
    if ((st = tdiff_denoiser_create(m, window, (int)threads, NULL, &d, err, sizeof err)) != TDIFF_OK) {
        fprintf(stderr, "textdiff score: cannot create the denoiser: %s\n", err);
        goto done;
    }
    if ((st = tdiff_scheduler_create(kind, NULL, &s, err, sizeof err)) != TDIFF_OK) {
        fprintf(stderr, "textdiff score: cannot create the scheduler: %s\n", err);
        goto done;
    }
    double total = 0.0, var = 0.0;
    for (size_t w0 = 0, k = 0; w0 < n_ids; w0 += window, k++) {
        size_t n = n_ids - w0 < window ? n_ids - w0 : window;
        double nats, se;
        st = tdiff_objective_nelbo_denoiser(s, d, ids + w0, n, mask, method, samples, (uint64_t)seed + k, &nats, NULL,
                                            &se, err, sizeof err);
        if (st != TDIFF_OK) {
            fprintf(stderr, "textdiff score: %s\n", err);
            goto done;
        }
        total += nats;
        var += se * se;
    }
    double per = total / (double)n_ids;
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
