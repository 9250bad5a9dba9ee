/*
 * cmd_eval.c -- `textdiff eval MODEL --judge AR.gguf`: generate from a set of
 * prompts with one or more generation configurations and report, per
 * configuration, the judge's perplexity of the generated continuations given
 * their prompts (an autoregressive GGUF with the same tokenizer,
 * tdiff_objective_ar_nll), distinct-1/2/3, the repeated-4-gram rate, self-BLEU
 * across the samples of a prompt (eval_metrics.c), forward passes, tokens/s and
 * wall time; a table, or JSON with --json. Definitions: docs/evaluation.md.
 *
 * Generation options are generate's (gen_opts.c); every --compare "OPTS" is one
 * configuration: the common options followed by OPTS (later settings win).
 * Samples k = 0..N-1 of every prompt use the sampler seed S + k (S = --seed,
 * default the sampler's). Prompts: --prompts FILE (one a line, blank lines
 * skipped), else the held-out prompts installed beside the bundled model
 * (models/heldout-prompts.txt, tools/make_eval_prompts.py).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "eval_metrics.h"
#include "gen_opts.h"
#include "libtextdiff.h"
#include "progress.h"

#define MAX_CONFIGS 8
#define MAX_ARGS 128
#define MAX_PROMPTS 4096

typedef struct config {
    char label[256];                  /* the --compare text, or "(options as given)" */
    int argc;
    char *argv[MAX_ARGS];             /* "eval", the common options, the --compare words */
    char words[1024];                 /* the --compare text split in place */
    gen_opts o;
} config;

typedef struct result {
    double nll, judge_s, gen_s, wall_s;
    size_t gen_tokens, scored, samples, passes, empty;
    eval_ngrams ngrams;
    double bleu_sum;
    size_t bleu_n;
} result;

typedef struct judge {
    tdiff_model *m;
    tdiff_denoiser *d;
    size_t max_len;
    int32_t bos;                      /* -1: none */
    int32_t *buf;                     /* [max_len] */
} judge;

static void usage(FILE *f)
{
    fprintf(f, "usage: textdiff eval [MODEL] --judge AR.gguf [options] [generation options]\n\n"
               "Generates from every prompt and reports, per configuration: the judge's perplexity of the\n"
               "generated continuations given their prompts (an autoregressive llama/qwen2 file with the same\n"
               "tokenizer as MODEL), distinct-1/2/3, the repeated-4-gram rate, self-BLEU-4 across the samples of\n"
               "a prompt, forward passes per sample, tokens/s and wall time (docs/evaluation.md).\n"
               "  --judge FILE         the autoregressive judge (required)\n"
               "  --prompts FILE       prompts, one a line (default: the held-out prompts beside the bundled\n"
               "                       model, models/heldout-prompts.txt)\n"
               "  --max-prompts N      the first N prompts only (default all)\n"
               "  --samples N          samples per prompt, seeds S, S+1, ... (default 4)\n"
               "  --compare \"OPTS\"     one configuration: the other generation options, then OPTS; repeat\n"
               "                       it (up to %d) to compare configurations side by side\n"
               "  --json               one JSON object instead of the table\n"
               "Generation options: those of textdiff generate (-n, --steps, --block, --strategy, --temperature,\n"
               "--top-k, --top-p, --remask, -s, -t, ...); -p, -f, --chat, --show and --trace do not apply.\n",
            MAX_CONFIGS);
}

static int parse_count(const char *s, size_t lo, size_t hi, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (!*s || *end || errno || s[0] == '-' || v < lo || v > hi)
        return -1;
    *out = (size_t)v;
    return 0;
}

/* ---- prompts ------------------------------------------------------------ */

static const char *default_prompts(void)
{
    FILE *f = fopen(TDIFF_DEFAULT_PROMPTS_SOURCE, "r");
    if (f) {
        fclose(f);
        return TDIFF_DEFAULT_PROMPTS_SOURCE;
    }
    return TDIFF_DEFAULT_PROMPTS_INSTALLED;
}

/* Splits text into its non-blank lines in place (CR stripped); the count. */
static size_t split_lines(char *text, char **lines, size_t cap)
{
    size_t n = 0;
    for (char *p = text; *p && n < cap;) {
        char *e = strchr(p, '\n');
        if (e)
            *e = '\0';
        size_t len = strlen(p);
        if (len && p[len - 1] == '\r')
            p[--len] = '\0';
        if (strspn(p, " \t") < len)
            lines[n++] = p;
        if (!e)
            break;
        p = e + 1;
    }
    return n;
}

/* ---- the judge ---------------------------------------------------------- */

/* The judge must read ids as the model writes them: the same vocabulary, token for token. */
static int same_vocab(const tdiff_tokenizer *a, const tdiff_tokenizer *b, size_t V, const char *judge_path)
{
    char ta[512], tb[512];
    for (size_t i = 0; i < V; i++) {
        size_t la = 0, lb = 0;
        int ea = tdiff_tokenizer_token_text(a, (int32_t)i, ta, sizeof ta, &la) != TDIFF_OK;
        int eb = tdiff_tokenizer_token_text(b, (int32_t)i, tb, sizeof tb, &lb) != TDIFF_OK;
        if (ea != eb || la != lb || (!ea && memcmp(ta, tb, la))) {
            char ea_s[64], eb_s[64];
            fprintf(stderr, "textdiff: eval: the judge '%s' has another tokenizer (token %zu is %s in the model, "
                            "%s in the judge): judge perplexity needs the same vocabulary\n", judge_path, i,
                    ea ? "unreadable" : tool_escape(ea_s, sizeof ea_s, ta, la, 1),
                    eb ? "unreadable" : tool_escape(eb_s, sizeof eb_s, tb, lb, 1));
            return 0;
        }
    }
    return 1;
}

static int judge_open(judge *j, const char *path, const tdiff_tokenizer *model_tok, size_t model_vocab,
                      int threads)
{
    char err[512];
    memset(j, 0, sizeof *j);
    j->bos = -1;
    if (tdiff_model_load_file(path, NULL, &j->m, err, sizeof err)) {
        fprintf(stderr, "textdiff: eval: cannot load the judge '%s': %s\n", path, err);
        return 1;
    }
    int32_t mask;
    int64_t causal = 0, n_ctx = 0;
    if (tdiff_model_special_id(j->m, TDIFF_SPECIAL_MASK, &mask) == TDIFF_OK ||
        tdiff_model_get_int(j->m, TDIFF_MODEL_CAUSAL, &causal) || !causal) {
        fprintf(stderr, "textdiff: eval: the judge '%s' is not an autoregressive model (llama, qwen2)\n", path);
        return 1;
    }
    tdiff_tokenizer *jt = NULL;
    if (tdiff_tokenizer_create(j->m, NULL, &jt, err, sizeof err)) {
        fprintf(stderr, "textdiff: eval: the judge's tokenizer: %s\n", err);
        return 1;
    }
    int ok = tool_vocab(j->m) == model_vocab;
    if (!ok)
        fprintf(stderr, "textdiff: eval: the judge '%s' has %zu tokens, the model %zu: judge perplexity needs the "
                        "same tokenizer\n", path, tool_vocab(j->m), model_vocab);
    ok = ok && same_vocab(model_tok, jt, model_vocab, path);
    tdiff_tokenizer_free(jt);
    if (!ok)
        return 1;
    if (tdiff_model_special_id(j->m, TDIFF_SPECIAL_BOS, &j->bos))
        j->bos = -1;
    if (tdiff_model_get_int(j->m, TDIFF_MODEL_N_CTX, &n_ctx) || n_ctx < 2)
        n_ctx = 2048;
    j->max_len = (size_t)n_ctx;
    if (!(j->buf = malloc(j->max_len * sizeof *j->buf)) ||
        tdiff_denoiser_create(j->m, j->max_len, threads, NULL, &j->d, err, sizeof err)) {
        fprintf(stderr, "textdiff: eval: the judge's network: %s\n", j->buf ? err : "out of memory");
        return 1;
    }
    return 0;
}

static void judge_close(judge *j)
{
    tdiff_denoiser_free(j->d);
    tdiff_model_free(j->m);
    free(j->buf);
}

/* −log p_judge(gen | prompt) in nats: [BOS] + prompt + gen, the prompt cut from
 * the left when the whole does not fit the judge's context (gen longer than
 * that is cut at the end; *scored says how many tokens were scored). */
static int judge_score(judge *j, const int32_t *prompt, size_t np, const int32_t *gen, size_t ng, double *nll,
                       size_t *scored)
{
    size_t lead = j->bos >= 0 && !(np && prompt[0] == j->bos) ? 1 : 0;
    if (np == 0 && !lead) { /* no condition at all: the first generated token is it */
        prompt = gen;
        np = 1;
        gen++;
        ng--;
    }
    if (ng + 1 > j->max_len)
        ng = j->max_len - 1;
    size_t keep = np + lead + ng <= j->max_len ? np : j->max_len - lead - ng;
    size_t k = 0;
    if (lead)
        j->buf[k++] = j->bos;
    memcpy(j->buf + k, prompt + np - keep, keep * sizeof *prompt);
    k += keep; /* >= 1: BOS, or at least one prompt token since ng < max_len */
    memcpy(j->buf + k, gen, ng * sizeof *gen);
    char err[512];
    if (tdiff_objective_ar_nll(j->d, j->buf, k + ng, k, nll, NULL, err, sizeof err)) {
        fprintf(stderr, "textdiff: eval: judge: %s\n", err);
        return 1;
    }
    *scored = ng;
    return 0;
}

/* ---- configurations ----------------------------------------------------- */

static int config_parse(config *c, char **common, int n_common, const char *extra)
{
    c->argc = 0;
    c->argv[c->argc++] = "eval";
    for (int i = 0; i < n_common; i++)
        c->argv[c->argc++] = common[i];
    snprintf(c->label, sizeof c->label, "%s", extra ? extra : "(options as given)");
    if (extra) {
        if (strlen(extra) >= sizeof c->words) {
            fprintf(stderr, "textdiff: eval: --compare text too long\n");
            return 2;
        }
        strcpy(c->words, extra);
        for (char *w = strtok(c->words, " \t"); w; w = strtok(NULL, " \t")) {
            if (c->argc >= MAX_ARGS) {
                fprintf(stderr, "textdiff: eval: too many options\n");
                return 2;
            }
            c->argv[c->argc++] = w;
        }
    }
    int rc = gen_opts_parse(c->argc, c->argv, GEN_GENERATE | GEN_EVAL, &c->o);
    if (rc)
        return rc;
    const gen_opts *o = &c->o;
    if (o->prompt || o->file || o->ids || o->chat || o->system || o->show || o->trace || o->json) {
        fprintf(stderr, "textdiff: eval: %s does not apply (prompts come from --prompts)\n",
                o->prompt ? "-p" : o->file ? "-f" : o->ids ? "--prompt-ids" : o->chat ? "--chat" : o->system
                ? "--system" : o->show ? "--show" : o->trace ? "--trace" : "--json in a configuration");
        return 2;
    }
    return 0;
}

/* Generates the samples of every prompt under one configuration and scores them. */
static int run_config(config *c, const tdiff_model *model, judge *j, int32_t **prompts, const size_t *n_prompt,
                      size_t n_prompts, size_t samples, result *r)
{
    memset(r, 0, sizeof *r);
    double t0 = tool_seconds();
    tdiff_sampler *s = NULL;
    tdiff_scheduler *sched = NULL;
    tdiff_transition *tr = NULL;
    int32_t **out = calloc(samples, sizeof *out);
    size_t *n_out = calloc(samples, sizeof *n_out);
    char err[512], msg[512];
    int rc = 1;
    int64_t gen = 0, seed0 = 0, eos = -1;
    int32_t mask = -1, eos32 = -1;
    if (!out || !n_out)
        goto done;
    if (tdiff_sampler_create(model, NULL, &s, err, sizeof err)) {
        fprintf(stderr, "textdiff: eval: cannot create the sampler: %s\n", err);
        goto done;
    }
    if (gen_opts_apply(&c->o, s))
        goto done;
    if (tdiff_model_special_id(model, TDIFF_SPECIAL_MASK, &mask))
        mask = -1;
    if (gen_graph_setup(&c->o, model, s, mask, &sched, &tr))
        goto done;
    if (tdiff_model_special_id(model, TDIFF_SPECIAL_EOS, &eos32) == TDIFF_OK)
        eos = eos32;
    tdiff_sampler_get_int(s, TDIFF_SAMPLER_GEN_LENGTH, &gen);
    tdiff_sampler_get_int(s, TDIFF_SAMPLER_SEED, &seed0);
    for (size_t k = 0; k < samples; k++)
        if (!(out[k] = malloc((gen > 0 ? (size_t)gen : 1) * sizeof **out)))
            goto done;
    for (size_t p = 0; p < n_prompts; p++) {
        for (size_t k = 0; k < samples; k++) {
            tdiff_sampler_set_int(s, TDIFF_SAMPLER_SEED, seed0 + (int64_t)k);
            tdiff_status st = tdiff_sampler_generate(s, prompts[p], n_prompt[p], out[k], (size_t)gen, &n_out[k]);
            if (st) {
                fprintf(stderr, "textdiff: eval: prompt %zu: %s: %s\n", p + 1, tdiff_status_string(st),
                        tool_lib_message(msg, sizeof msg, tdiff_sampler_last_error(s)));
                goto done;
            }
            while (n_out[k] && out[k][n_out[k] - 1] == eos) /* --no-cut: the EOS tail is not text */
                n_out[k]--;
            int64_t fw = 0;
            double secs = 0;
            tdiff_sampler_get_int(s, TDIFF_SAMPLER_STAT_FORWARD_PASSES, &fw);
            tdiff_sampler_get_float(s, TDIFF_SAMPLER_STAT_TOTAL_SECONDS, &secs);
            r->passes += (size_t)fw;
            r->gen_s += secs;
            r->gen_tokens += n_out[k];
            r->samples++;
            eval_ngrams_add(&r->ngrams, out[k], n_out[k]);
            if (n_out[k] == 0 || (n_prompt[p] == 0 && j->bos < 0 && n_out[k] < 2)) {
                r->empty++;
                continue;
            }
            double t_j = tool_seconds(), nll = 0;
            size_t scored = 0;
            if (judge_score(j, prompts[p], n_prompt[p], out[k], n_out[k], &nll, &scored))
                goto done;
            r->judge_s += tool_seconds() - t_j;
            r->nll += nll;
            r->scored += scored;
        }
        double b = eval_self_bleu((const int32_t *const *)out, n_out, samples);
        if (b < 0) {
            fprintf(stderr, "textdiff: eval: out of memory\n");
            goto done;
        }
        if (!isnan(b)) {
            r->bleu_sum += b;
            r->bleu_n++;
        }
    }
    rc = 0;
done:
    if (out)
        for (size_t k = 0; k < samples; k++)
            free(out[k]);
    free(out);
    free(n_out);
    tdiff_sampler_free(s);
    tdiff_transition_free(tr);
    tdiff_scheduler_free(sched);
    r->wall_s = tool_seconds() - t0;
    return rc;
}

/* ---- output ------------------------------------------------------------- */

static void json_num(const char *key, double v, int last)
{
    if (isfinite(v))
        printf("\"%s\": %.6g%s", key, v, last ? "" : ", ");
    else
        printf("\"%s\": null%s", key, last ? "" : ", ");
}

static void json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            printf("\\%c", ch);
        else if (ch < 0x20)
            printf("\\u%04x", ch);
        else
            putchar(ch);
    }
    putchar('"');
}

typedef struct summary {
    double ppl, nll_tok, d1, d2, d3, rep4, self_bleu, passes, tps;
} summary;

static summary summarize(const result *r)
{
    summary s;
    s.nll_tok = r->scored ? r->nll / (double)r->scored : NAN;
    s.ppl = exp(s.nll_tok);
    s.d1 = eval_distinct(&r->ngrams, 1);
    s.d2 = eval_distinct(&r->ngrams, 2);
    s.d3 = eval_distinct(&r->ngrams, 3);
    s.rep4 = eval_repeat_rate(&r->ngrams, 4);
    s.self_bleu = r->bleu_n ? r->bleu_sum / (double)r->bleu_n : NAN;
    s.passes = r->samples ? (double)r->passes / (double)r->samples : NAN;
    s.tps = r->gen_s > 0 ? (double)r->gen_tokens / r->gen_s : NAN;
    return s;
}

static void print_json(const char *model, const char *judge_path, const char *prompts, size_t n_prompts,
                       size_t samples, const config *cs, const result *rs, size_t n)
{
    printf("{\"model\": ");
    json_str(model);
    printf(", \"judge\": ");
    json_str(judge_path);
    printf(", \"prompts_file\": ");
    json_str(prompts);
    printf(", \"prompts\": %zu, \"samples_per_prompt\": %zu, \"configs\": [", n_prompts, samples);
    for (size_t i = 0; i < n; i++) {
        const result *r = &rs[i];
        summary s = summarize(r);
        printf("%s{\"options\": ", i ? ", " : "");
        json_str(cs[i].label);
        printf(", ");
        json_num("judge_perplexity", s.ppl, 0);
        json_num("judge_nll_per_token", s.nll_tok, 0);
        printf("\"judged_tokens\": %zu, \"generated_tokens\": %zu, \"samples\": %zu, \"empty_samples\": %zu, ",
               r->scored, r->gen_tokens, r->samples, r->empty);
        json_num("distinct_1", s.d1, 0);
        json_num("distinct_2", s.d2, 0);
        json_num("distinct_3", s.d3, 0);
        json_num("repeat_4", s.rep4, 0);
        json_num("self_bleu", s.self_bleu, 0);
        printf("\"forward_passes\": %zu, ", r->passes);
        json_num("forward_passes_per_sample", s.passes, 0);
        json_num("tokens_per_second", s.tps, 0);
        json_num("generation_seconds", r->gen_s, 0);
        json_num("judge_seconds", r->judge_s, 0);
        json_num("wall_seconds", r->wall_s, 1);
        printf("}");
    }
    printf("]}\n");
}

static void print_table(const char *judge_path, size_t n_prompts, size_t samples, const config *cs, const result *rs,
                        size_t n)
{
    printf("%zu prompts x %zu samples, judge %s\n", n_prompts, samples, judge_path);
    int w = 13; /* the configuration column fits the longest label */
    for (size_t i = 0; i < n; i++)
        w = (int)strlen(cs[i].label) > w ? (int)strlen(cs[i].label) : w;
    printf("%-*s %10s %6s %6s %6s %6s %9s %8s %9s %8s\n", w, "configuration", "judge ppl", "dist-1", "dist-2",
           "dist-3", "rep-4", "self-BLEU", "passes", "tokens/s", "wall s");
    for (size_t i = 0; i < n; i++) {
        summary s = summarize(&rs[i]);
        printf("%-*s %10.2f %6.3f %6.3f %6.3f %6.3f %9.3f %8.1f %9.1f %8.2f\n", w, cs[i].label, s.ppl, s.d1, s.d2,
               s.d3, s.rep4, s.self_bleu, s.passes, s.tps, rs[i].wall_s);
    }
}

/* ---- the command -------------------------------------------------------- */

static int tokenize_prompts(const tdiff_tokenizer *tok, char **lines, size_t n, int32_t **ids, size_t *len)
{
    for (size_t i = 0; i < n; i++) {
        size_t got = 0, tl = strlen(lines[i]);
        tdiff_status st = tdiff_tokenizer_tokenize(tok, lines[i], tl, TDIFF_TOKENIZE_ADD_SPECIAL, NULL, 0, &got);
        if (st == TDIFF_OK || st == TDIFF_E_BUFFER_TOO_SMALL) {
            ids[i] = malloc((got ? got : 1) * sizeof **ids);
            st = ids[i] ? tdiff_tokenizer_tokenize(tok, lines[i], tl, TDIFF_TOKENIZE_ADD_SPECIAL, ids[i], got, &got)
                        : TDIFF_E_OUT_OF_MEMORY;
        }
        if (st) {
            fprintf(stderr, "textdiff: eval: cannot tokenize prompt %zu: %s\n", i + 1, tdiff_status_string(st));
            return 1;
        }
        len[i] = got;
    }
    return 0;
}

int cmd_eval(int argc, char **argv)
{
    const char *judge_path = NULL, *prompts_path = NULL, *compare[MAX_CONFIGS];
    char *common[MAX_ARGS];
    int n_common = 0, json = 0;
    size_t n_compare = 0, samples = 4, max_prompts = MAX_PROMPTS;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc;
        if (tool_is_help(a)) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--judge") && has) {
            judge_path = argv[++i];
        } else if (!strcmp(a, "--prompts") && has) {
            prompts_path = argv[++i];
        } else if (!strcmp(a, "--json")) {
            json = 1;
        } else if (!strcmp(a, "--samples") && has) {
            if (parse_count(argv[++i], 1, 1000, &samples)) {
                fprintf(stderr, "textdiff: eval: --samples '%s': a count in [1, 1000]\n", argv[i]);
                return 2;
            }
        } else if (!strcmp(a, "--max-prompts") && has) {
            if (parse_count(argv[++i], 1, MAX_PROMPTS, &max_prompts)) {
                fprintf(stderr, "textdiff: eval: --max-prompts '%s': a count in [1, %d]\n", argv[i], MAX_PROMPTS);
                return 2;
            }
        } else if (!strcmp(a, "--compare") && has) {
            if (n_compare == MAX_CONFIGS) {
                fprintf(stderr, "textdiff: eval: at most %d --compare configurations\n", MAX_CONFIGS);
                return 2;
            }
            compare[n_compare++] = argv[++i];
        } else if (!strcmp(a, "--judge") || !strcmp(a, "--prompts") || !strcmp(a, "--samples") ||
                   !strcmp(a, "--max-prompts") || !strcmp(a, "--compare")) {
            fprintf(stderr, "textdiff: eval: option %s needs a value\n", a);
            return 2;
        } else if (n_common < MAX_ARGS - 32) {
            common[n_common++] = argv[i];
        } else {
            fprintf(stderr, "textdiff: eval: too many options\n");
            return 2;
        }
    }
    if (!judge_path) {
        fprintf(stderr, "textdiff: eval: no judge: --judge AR.gguf (an autoregressive model with the same "
                        "tokenizer)\n");
        return 2;
    }
    size_t n_cfg = n_compare ? n_compare : 1;
    config *cs = calloc(n_cfg, sizeof *cs);
    result *rs = calloc(n_cfg, sizeof *rs);
    if (!cs || !rs) {
        free(cs);
        free(rs);
        fprintf(stderr, "textdiff: eval: out of memory\n");
        return 1;
    }
    int rc = 2;
    for (size_t i = 0; i < n_cfg; i++)
        if ((rc = config_parse(&cs[i], common, n_common, n_compare ? compare[i] : NULL)) != 0) {
            free(cs);
            free(rs);
            return rc == 1 ? 0 : 2;
        }
    const char *model_path = cs[0].o.model ? cs[0].o.model : tool_default_model();
    for (size_t i = 1; i < n_cfg; i++)
        if (cs[i].o.model && strcmp(cs[i].o.model, model_path)) {
            fprintf(stderr, "textdiff: eval: one model per run ('%s' and '%s'); the configurations differ in "
                            "generation options only\n", model_path, cs[i].o.model);
            free(cs);
            free(rs);
            return 2;
        }
    if (!prompts_path)
        prompts_path = default_prompts();

    rc = 1;
    double t0 = tool_seconds();
    char err[512], *text = NULL, **lines = NULL;
    int32_t **ids = NULL;
    size_t *n_ids = NULL, n_prompts = 0, len = 0;
    tdiff_model *model = NULL;
    tdiff_tokenizer *tok = NULL;
    judge j;
    memset(&j, 0, sizeof j);
    if (!(text = tool_read_file(prompts_path, &len))) {
        fprintf(stderr, "textdiff: eval: cannot read the prompts '%s': %s\n", prompts_path, strerror(errno));
        goto done;
    }
    lines = malloc(MAX_PROMPTS * sizeof *lines);
    if (!lines)
        goto done;
    n_prompts = split_lines(text, lines, max_prompts);
    if (!n_prompts) {
        fprintf(stderr, "textdiff: eval: '%s' has no prompts\n", prompts_path);
        goto done;
    }
    if (tdiff_model_load_file(model_path, NULL, &model, err, sizeof err)) {
        fprintf(stderr, "textdiff: eval: cannot load '%s': %s\n", model_path, err);
        goto done;
    }
    if (tdiff_tokenizer_create(model, NULL, &tok, err, sizeof err)) {
        fprintf(stderr, "textdiff: eval: the model's tokenizer: %s\n", err);
        goto done;
    }
    ids = calloc(n_prompts, sizeof *ids);
    n_ids = calloc(n_prompts, sizeof *n_ids);
    if (!ids || !n_ids || tokenize_prompts(tok, lines, n_prompts, ids, n_ids))
        goto done;
    int threads = 1; /* the judge runs on the first configuration's -t */
    for (size_t i = 0; i < cs[0].o.n_set; i++)
        if (!strcmp(cs[0].o.set_opt[i], "-t") || !strcmp(cs[0].o.set_opt[i], "--threads"))
            threads = atoi(cs[0].o.set_val[i]) > 0 ? atoi(cs[0].o.set_val[i]) : 1;
    if (judge_open(&j, judge_path, tok, tool_vocab(model), threads))
        goto done;
    for (size_t i = 0; i < n_cfg; i++) {
        if (!json)
            fprintf(stderr, "textdiff: eval: %s ...\n", cs[i].label);
        if (run_config(&cs[i], model, &j, ids, n_ids, n_prompts, samples, &rs[i]))
            goto done;
    }
    if (json)
        print_json(model_path, judge_path, prompts_path, n_prompts, samples, cs, rs, n_cfg);
    else
        print_table(judge_path, n_prompts, samples, cs, rs, n_cfg);
    if (!json)
        fprintf(stderr, "textdiff: eval: %.2f s in all\n", tool_seconds() - t0);
    rc = 0;
done:
    judge_close(&j);
    if (ids)
        for (size_t i = 0; i < n_prompts; i++)
            free(ids[i]);
    free(ids);
    free(n_ids);
    free(lines);
    free(text);
    tdiff_tokenizer_free(tok);
    tdiff_model_free(model);
    free(cs);
    free(rs);
    return rc;
}
