/*
 * cmd_generate.c -- `textdiff generate` (text after a prompt) and `textdiff
 * infill` (fill [MASK:n] holes in a text): option parsing, tokenizing, the
 * sampler run, progress on a terminal, plain or JSON output. Everything the
 * sampler does is in lib/sampler; this file only drives it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "libtextdiff.h"
#include "view.h"

#define MAX_IDS 65536

static void usage(FILE *f, int infill)
{
    if (infill)
        fprintf(f, "usage: textdiff infill [MODEL] \"The [MASK:5] sat on the [MASK:2].\" [options]\n"
                   "       textdiff infill MODEL --canvas-ids 1,2,MASK_ID,MASK_ID,3 [options]\n\n"
                   "Fills every [MASK:n] hole (n tokens) of the text with a diffusion sampler; the text\n"
                   "around the holes stays fixed and conditions the fill. Prints the whole filled text.\n"
                   "  --canvas-ids IDS      the canvas as raw token ids, the mask token's id at the holes\n\n");
    else
        fprintf(f, "usage: textdiff generate [MODEL] -p \"prompt\" [options]\n"
                   "       textdiff generate MODEL --prompt-ids 1,2,3 [options]\n\n"
                   "Generates text after the prompt with a diffusion sampler: the new tokens start\n"
                   "masked and are unmasked over --steps steps (docs/sampling.md). Prints the text\n"
                   "(or the ids when the model has no tokenizer). Exit status 0 ok, 1 library error,\n"
                   "2 bad usage. Example: textdiff generate model.gguf -p \"It is a truth\" --show\n"
                   "  -p, --prompt TEXT     the prompt (BOS added as the model asks); -p \"\" starts from nothing\n\n");
    fprintf(f, "MODEL is a GGUF file; when it is left out, $TEXTDIFF_MODEL or the bundled\n"
               "models/austen-llada.gguf (models/README.md) is used.\n\n");
    fprintf(f, "options:\n"
               "  -n, --gen-length N    tokens to generate (compat llamacpp: the whole canvas; alias -ub)\n"
               "  --steps N             diffusion steps (default 64)\n"
               "  --block B             block length, 0 = one block (default 0)\n"
               "  --strategy S          llada|dream|threshold|factor|maskgit|mask_predict|mdlm|mdlm_cache|\n"
               "                        d3pm|first_hitting|sedd_euler|sedd_analytic|embedding\n"
               "  --clamp               embedding: clamp x0-hat to the nearest token embedding every step\n"
               "  --ddim                embedding: deterministic DDIM steps (default DDPM)\n"
               "  --schedule K          embedding: sqrt|cosine|linear Gaussian schedule (default sqrt)\n"
               "  --graph G             d3pm/sedd: uniform|absorbing (default absorbing); d3pm uses the linear\n"
               "                        schedule over --steps, sedd the log-linear sigma(t)\n"
               "  --remask R            low_confidence|random|topk_margin|entropy|origin (maskgit_plus = low_confidence)\n"
               "  --temperature T       (alias --temp; default 0)   --top-k K (0 = off)   --top-p P (1 = off)\n"
               "  --cfg W               classifier-free guidance scale (default 0)\n"
               "  --threshold X         threshold strategy (default 0.9)   --factor F (default 1)\n"
               "  --alg-temp A          sample positions by confidence (default 0)   --eps E (default 1e-3)\n"
               "  --seed S              --threads N\n"
               "  --cache MODE          KV cache: none|prefix|dual|delayed (default none; llada, dream, threshold,\n"
               "                        factor). Exact on causal / block-causal models, approximate otherwise\n"
               "                        (docs/sampling.md)   --cache-refresh N: recompute all every N steps\n"
               "  --early-stop          stop once everything before the first EOS is decided (the output is\n"
               "                        the full run's; the masks after it become EOS)\n"
               "  --prompt-ids 1,2,3    the prompt as raw token ids, used as given (no BOS)\n"
               "  --compat llamacpp     llama-diffusion-cli semantics (docs/sampling.md)\n"
               "  --eos-inf             EOS predictions get confidence -inf   --no-cut (keep text after EOS)\n"
               "  --no-subs             llada/dream: the mask token may be predicted, as their reference code\n"
               "  --json                one JSON object: tokens, text, forward passes, rows computed, cache\n"
               "                        hits, timings\n"
               "  --show                animate the canvas on the terminal as masks resolve (stdout a tty;\n"
               "                        otherwise plain output)   --show-delay MS (default 40 per step)\n"
               "  --soft-mask K         soft-masked inputs: masked positions see the mask embedding mixed\n"
               "                        with the previous step's top-K predictions (docs/softmask.md;\n"
               "                        gate parameters from the model file, else the paper's defaults)\n"
               "  --trace FILE.json     record every step: canvas ids and pieces, confidences, commits\n"
               "                        (draw it with tools/plot_trace.py)\n"
               "  -h, --help            this text\n");
}

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

/* ---- progress ----------------------------------------------------------- */

static int on_step(void *ud, size_t step, size_t n_steps, const int32_t *canvas, size_t n, const float *conf)
{
    (void)ud, (void)canvas, (void)n, (void)conf;
    fprintf(stderr, "\rstep %zu/%zu", step + 1, n_steps);
    fflush(stderr);
    return 0;
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
    int state = 0;
    tdiff_sampler_progress(s, &state, NULL, NULL);
    if (state) /* a failing step has already ended the generation; its message stays */
        tdiff_sampler_cancel(s);
    free(canvas);
    free(masked);
    return st;
}

/* ---- options ------------------------------------------------------------ */

#define OWN_ERROR (-100) /* set_named already printed the problem */

/* Applies one option with a value; a tdiff_status, or OWN_ERROR. */
static int set_named(tdiff_sampler *s, const char *opt, const char *val)
{
    int v;
    if (!strcmp(opt, "--strategy")) {
        if (tdiff_strategy_from_name(val, &v))
            return fprintf(stderr, "unknown strategy '%s'\n", val), OWN_ERROR;
        return tdiff_sampler_set_int(s, TDIFF_SAMPLER_STRATEGY, v);
    }
    if (!strcmp(opt, "--remask")) {
        if (tdiff_remasking_from_name(val, &v))
            return fprintf(stderr, "unknown remasking '%s'\n", val), OWN_ERROR;
        return tdiff_sampler_set_int(s, TDIFF_SAMPLER_REMASKING, v);
    }
    if (!strcmp(opt, "--schedule")) {
        int k = !strcmp(val, "sqrt") ? TDIFF_SCHEDULE_SQRT
                : !strcmp(val, "cosine") ? TDIFF_SCHEDULE_COSINE
                : !strcmp(val, "linear") ? TDIFF_SCHEDULE_LINEAR : 0;
        if (!k)
            return fprintf(stderr, "unknown schedule '%s' (sqrt|cosine|linear)\n", val), OWN_ERROR;
        return tdiff_sampler_set_int(s, TDIFF_SAMPLER_GAUSS_SCHEDULE, k);
    }
    if (!strcmp(opt, "--cache")) {
        static const char *const modes[] = {"none", "prefix", "dual", "delayed"}; /* tdiff_cache_mode order */
        for (int m = 0; m < 4; m++)
            if (!strcmp(val, modes[m]))
                return tdiff_sampler_set_int(s, TDIFF_SAMPLER_CACHE, m);
        return fprintf(stderr, "unknown cache mode '%s' (none|prefix|dual|delayed)\n", val), OWN_ERROR;
    }
    if (!strcmp(opt, "--compat")) {
        if (strcmp(val, "llamacpp") && strcmp(val, "none"))
            return fprintf(stderr, "unknown compat mode '%s' (llamacpp|none)\n", val), OWN_ERROR;
        return tdiff_sampler_set_int(s, TDIFF_SAMPLER_COMPAT,
                                     strcmp(val, "llamacpp") ? TDIFF_COMPAT_NONE : TDIFF_COMPAT_LLAMACPP);
    }
    static const struct {
        const char *opt;
        int param, is_int;
    } map[] = {
        {"-n", TDIFF_SAMPLER_GEN_LENGTH, 1},       {"--gen-length", TDIFF_SAMPLER_GEN_LENGTH, 1},
        {"-ub", TDIFF_SAMPLER_GEN_LENGTH, 1},      {"--steps", TDIFF_SAMPLER_STEPS, 1},
        {"--block", TDIFF_SAMPLER_BLOCK_LENGTH, 1}, {"--top-k", TDIFF_SAMPLER_TOP_K, 1},
        {"--seed", TDIFF_SAMPLER_SEED, 1},         {"--threads", TDIFF_SAMPLER_N_THREADS, 1},
        {"--temperature", TDIFF_SAMPLER_TEMPERATURE, 0}, {"--temp", TDIFF_SAMPLER_TEMPERATURE, 0},
        {"--top-p", TDIFF_SAMPLER_TOP_P, 0},       {"--cfg", TDIFF_SAMPLER_CFG_SCALE, 0},
        {"--threshold", TDIFF_SAMPLER_THRESHOLD, 0}, {"--factor", TDIFF_SAMPLER_FACTOR, 0},
        {"--alg-temp", TDIFF_SAMPLER_ALG_TEMP, 0}, {"--eps", TDIFF_SAMPLER_EPS, 0},
        {"--cache-refresh", TDIFF_SAMPLER_CACHE_REFRESH, 1},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        if (strcmp(opt, map[i].opt))
            continue;
        char *end;
        errno = 0;
        if (map[i].is_int) {
            long long x = strtoll(val, &end, 10);
            if (*end || errno || end == val)
                return fprintf(stderr, "%s: not an integer: '%s'\n", opt, val), OWN_ERROR;
            return tdiff_sampler_set_int(s, map[i].param, x);
        }
        double x = strtod(val, &end);
        if (*end || errno || end == val)
            return fprintf(stderr, "%s: not a number: '%s'\n", opt, val), OWN_ERROR;
        return tdiff_sampler_set_float(s, map[i].param, x);
    }
    return fprintf(stderr, "unknown option '%s'\n", opt), OWN_ERROR;
}

/* ---- infill text: "The [MASK:5] sat" -> ids ---------------------------- */

static long infill_ids(const tdiff_tokenizer *tok, const char *text, int32_t mask, int32_t *ids, size_t cap)
{
    size_t n = 0;
    int first = 1;
    while (*text) {
        const char *m = strstr(text, "[MASK:");
        size_t seg = m ? (size_t)(m - text) : strlen(text);
        if (seg || first) {
            size_t got;
            uint32_t flags = first ? TDIFF_TOKENIZE_ADD_SPECIAL : 0;
            if (tdiff_tokenizer_tokenize(tok, text, seg, flags, ids + n, cap - n, &got))
                return -1;
            n += got;
        }
        first = 0;
        if (!m)
            break;
        char *end;
        long k = strtol(m + 6, &end, 10);
        if (*end != ']' || k <= 0 || (size_t)k > cap - n)
            return fprintf(stderr, "infill: bad hole '%.12s' (write [MASK:n], n >= 1)\n", m), -1;
        for (long i = 0; i < k; i++)
            ids[n++] = mask;
        text = end + 1;
    }
    return (long)n;
}

static int run(int argc, char **argv, int infill)
{
    if (argc < 2 || tool_is_help(argv[1])) {
        usage(argc < 2 ? stderr : stdout, infill);
        return argc < 2 ? 2 : 0;
    }
    /* No model named: the bundled default (tool_default_model). */
    int first = 2;
    const char *model_path = argv[1];
    if (argv[1][0] == '-' || (infill && access(argv[1], R_OK) != 0 && strstr(argv[1], "[MASK"))) {
        model_path = tool_default_model();
        first = 1;
    }
    const char *prompt = NULL, *prompt_ids = NULL, *text = NULL, *graph = "absorbing";
    tdiff_scheduler *sched = NULL;
    tdiff_transition *tr = NULL;
    tdiff_softmask *softmask = NULL;
    int json = 0, cut = 1, eos_inf = 0, show = 0, subs = 1;
    long show_delay = 40;
    const char *trace_path = NULL;
    FILE *trace = NULL;
    tool_view view;
    memset(&view, 0, sizeof view);
    tdiff_model *model = NULL;
    char err[512];
    if (tdiff_model_load_file(model_path, NULL, &model, err, sizeof err)) {
        fprintf(stderr, "textdiff: cannot load '%s': %s\n", model_path, err);
        return 1;
    }
    tdiff_sampler *s = NULL;
    tdiff_tokenizer *tok = NULL;
    int32_t *ids = malloc(MAX_IDS * sizeof *ids), *out = NULL;
    int rc = 2;
    if (!ids || tdiff_sampler_create(model, NULL, &s, err, sizeof err)) {
        fprintf(stderr, "textdiff: cannot create the sampler: %s\n", ids ? err : "out of memory");
        rc = 1;
        goto done;
    }
    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
        if (tool_is_help(a)) {
            usage(stdout, infill);
            rc = 0;
            goto done;
        } else if (!strcmp(a, "--json")) {
            json = 1;
        } else if (!strcmp(a, "--no-cut")) {
            cut = 0;
        } else if (!strcmp(a, "--eos-inf")) {
            eos_inf = 1;
        } else if (!strcmp(a, "--no-subs")) {
            subs = 0;
        } else if (!strcmp(a, "--early-stop")) {
            tdiff_sampler_set_int(s, TDIFF_SAMPLER_EARLY_STOP, 1);
        } else if (!strcmp(a, "--show")) {
            show = 1;
        } else if (!strcmp(a, "--clamp") || !strcmp(a, "--ddim")) {
            tdiff_sampler_set_int(s, a[2] == 'c' ? TDIFF_SAMPLER_CLAMP : TDIFF_SAMPLER_DDIM, 1);
        } else if (a[0] != '-' && infill && !text) {
            text = a;
        } else if (i + 1 >= argc) {
            fprintf(stderr, "textdiff: option %s needs a value\n", a);
            goto done;
        } else if (!strcmp(a, "-p") || !strcmp(a, "--prompt")) {
            prompt = argv[++i];
        } else if (!strcmp(a, "--graph")) {
            graph = argv[++i];
        } else if (!strcmp(a, "--trace")) {
            trace_path = argv[++i];
        } else if (!strcmp(a, "--show-delay")) {
            char *end;
            show_delay = strtol(argv[++i], &end, 10);
            if (*end || show_delay < 0 || show_delay > 10000) {
                fprintf(stderr, "textdiff: --show-delay wants milliseconds in [0, 10000]\n");
                goto done;
            }
        } else if (!strcmp(a, "--prompt-ids") || !strcmp(a, "--canvas-ids")) {
            prompt_ids = argv[++i];
        } else if (!strcmp(a, "--soft-mask")) {
            char *end;
            long k = strtol(argv[++i], &end, 10);
            tdiff_softmask_free(softmask);
            softmask = NULL;
            if (*end || k < 1 || k > 64) {
                fprintf(stderr, "textdiff: --soft-mask wants k in [1, 64], not '%s'\n", argv[i]);
                goto done;
            }
            if (tdiff_softmask_create(model, tool_vocab(model), NULL, &softmask, err, sizeof err)) {
                fprintf(stderr, "textdiff: --soft-mask: %s\n", err);
                goto done;
            }
            if (tdiff_softmask_set_int(softmask, TDIFF_SOFTMASK_TOP_K, k) || tdiff_sampler_set_softmask(s, softmask)) {
                fprintf(stderr, "textdiff: --soft-mask: %s\n", tdiff_sampler_last_error(s));
                goto done;
            }
        } else {
            int st = set_named(s, a, argv[i + 1]);
            if (st) {
                if (st != OWN_ERROR)
                    fprintf(stderr, "textdiff: %s %s: %s\n", a, argv[i + 1], tdiff_sampler_last_error(s));
                goto done;
            }
            i++;
        }
    }
    tdiff_sampler_set_int(s, TDIFF_SAMPLER_CUT_AT_EOS, cut);
    tdiff_sampler_set_int(s, TDIFF_SAMPLER_EOS_CONFIDENCE_INF, eos_inf);
    tdiff_sampler_set_int(s, TDIFF_SAMPLER_SUBS, subs);
    if (tdiff_tokenizer_create(model, NULL, &tok, err, sizeof err))
        tok = NULL; /* ids still work; text output is then omitted */
    int32_t mask = -1;
    if (tdiff_model_special_token(model, TDIFF_SPECIAL_MASK, &mask)) {
        fprintf(stderr, "textdiff: the model has no mask token\n");
        rc = 1;
        goto done;
    }
    long n_ids;
    if (prompt_ids) {
        n_ids = tool_parse_ids(prompt_ids, ids, MAX_IDS);
    } else if (!tok) {
        fprintf(stderr, "textdiff: no tokenizer in the model (%s); use --prompt-ids\n", err);
        rc = 1;
        goto done;
    } else if (infill) {
        n_ids = text ? infill_ids(tok, text, mask, ids, MAX_IDS) : -1;
    } else {
        size_t got = 0;
        n_ids = prompt && !tdiff_tokenizer_tokenize(tok, prompt, strlen(prompt), TDIFF_TOKENIZE_ADD_SPECIAL, ids,
                                                    MAX_IDS, &got)
                    ? (long)got
                    : -1;
    }
    if (n_ids < 0 || (!infill && !prompt && !prompt_ids)) {
        fprintf(stderr, "textdiff: no usable %s (see --help)\n", infill ? "text with [MASK:n] holes" : "prompt");
        goto done;
    }
    int64_t strategy = 0, graph_steps = 0;
    tdiff_sampler_get_int(s, TDIFF_SAMPLER_STRATEGY, &strategy);
    tdiff_sampler_get_int(s, TDIFF_SAMPLER_STEPS, &graph_steps);
    if (strategy == TDIFF_STRATEGY_D3PM || strategy == TDIFF_STRATEGY_SEDD_EULER ||
        strategy == TDIFF_STRATEGY_SEDD_ANALYTIC) {
        size_t V = 0;
        tdiff_model_vocab_size(model, &V);
        int uniform = !strcmp(graph, "uniform");
        if (!uniform && strcmp(graph, "absorbing")) {
            fprintf(stderr, "textdiff: --graph must be uniform or absorbing\n");
            goto done;
        }
        tdiff_schedule_kind kind = strategy == TDIFF_STRATEGY_D3PM ? TDIFF_SCHEDULE_LINEAR : TDIFF_SCHEDULE_LOGLINEAR;
        if (tdiff_scheduler_create(kind, NULL, &sched, err, sizeof err) ||
            tdiff_transition_create(uniform ? TDIFF_TRANSITION_UNIFORM : TDIFF_TRANSITION_ABSORBING, V, mask, sched,
                                    (size_t)graph_steps, NULL, &tr, err, sizeof err)) {
            fprintf(stderr, "textdiff: cannot set up the %s graph: %s\n", graph, err);
            rc = 1;
            goto done;
        }
        if (tdiff_sampler_set_transition(s, tr) || tdiff_sampler_set_scheduler(s, sched)) {
            fprintf(stderr, "textdiff: cannot set up the %s graph: %s\n", graph, tdiff_sampler_last_error(s));
            rc = 1;
            goto done;
        }
    }
    show = show && isatty(1) && !json; /* plain output when stdout is not a terminal */
    int progress = isatty(2) && !json && !show && !trace_path;
    if (progress)
        tdiff_sampler_set_callback(s, on_step, NULL);
    int64_t gen = 0;
    tdiff_sampler_get_int(s, TDIFF_SAMPLER_GEN_LENGTH, &gen);
    size_t cap = infill ? (size_t)n_ids : (size_t)gen, n_out = 0;
    out = malloc((cap ? cap : 1) * sizeof *out);
    tdiff_status st;
    if (!out) {
        st = TDIFF_E_OUT_OF_MEMORY;
    } else if (show || trace_path) {
        if (trace_path && !(trace = fopen(trace_path, "w"))) {
            fprintf(stderr, "textdiff: cannot write '%s': %s\n", trace_path, strerror(errno));
            rc = 1;
            goto done;
        }
        st = watch(s, tok, ids, (size_t)n_ids, infill, show ? stdout : NULL, show_delay, trace, &view, out, cap,
                   &n_out);
        if (trace && fclose(trace) && !st) {
            fprintf(stderr, "textdiff: writing '%s' failed\n", trace_path);
            st = TDIFF_E_IO;
        }
        trace = NULL;
    } else {
        st = infill ? tdiff_sampler_infill(s, ids, (size_t)n_ids, out, cap, &n_out)
                    : tdiff_sampler_generate(s, ids, (size_t)n_ids, out, cap, &n_out);
    }
    if (progress)
        fputc('\n', stderr);
    if (st) {
        fprintf(stderr, "textdiff: %s: %s\n", tdiff_status_string(st), tdiff_sampler_last_error(s));
        rc = 1;
        goto done;
    }
    char *txt = NULL;
    size_t txt_len = 0;
    if (tok) {
        tdiff_tokenizer_detokenize(tok, out, n_out, 0, NULL, 0, &txt_len);
        txt = malloc(txt_len + 1);
        if (txt && tdiff_tokenizer_detokenize(tok, out, n_out, 0, txt, txt_len + 1, &txt_len))
            txt_len = 0;
    }
    if (json) {
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
        printf(", \"forward_passes\": %lld, \"steps\": %lld, \"rows_computed\": %lld, \"cache_hits\": %lld, "
               "\"seconds\": %.6f, \"forward_seconds\": %.6f, \"tokens_per_second\": %.3f}\n",
               (long long)fw, (long long)steps, (long long)rows, (long long)hits, total, fws,
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
    return run(argc, argv, 0);
}

int cmd_infill(int argc, char **argv)
{
    return run(argc, argv, 1);
}
