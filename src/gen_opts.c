/*
 * gen_opts.c -- the options of `textdiff generate`, `infill` and `chat` as one
 * table: every spelling (ours and llama-diffusion-cli's), whether it takes a
 * value, which commands accept it, its help line. Parsing needs no model, so an
 * unknown option, a missing value or a misplaced argument is reported before
 * anything loads; sampler settings are kept in order and applied to the sampler
 * later (gen_opts_apply), where the library checks their ranges. The help prints
 * each sampler default from tdiff_sampler_param_bounds, so it cannot go stale.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "gen_opts.h"

#define ALL (GEN_GENERATE | GEN_INFILL | GEN_CHAT)
#define GEN_CHAT_ONLY (GEN_GENERATE | GEN_CHAT)

enum what {
    W_MODEL = 1, W_PROMPT, W_FILE, W_IDS, W_SYSTEM, W_CHAT, W_GRAPH, W_TRACE, W_SHOW_DELAY, W_SOFT_MASK,
    W_SPINDLE_CORPUS, W_JSON, W_NO_CUT, W_EOS_INF, W_NO_SUBS, W_SHOW, W_CLAMP, W_DDIM, W_VERBOSE, W_HELP, W_EARLY_STOP,
    W_SAMPLER /* a sampler setting: applied by gen_opts_apply */
};

typedef struct opt {
    const char *names[4];  /* first = the canonical spelling */
    int value;             /* takes a value */
    enum what what;
    int modes;             /* commands that accept it */
    const char *arg, *help;
    int param;             /* W_SAMPLER: the tdiff_sampler_param shown as default (0: none) */
} opt;

static const opt OPTS[] = {
    {{"-m", "--model"}, 1, W_MODEL, ALL, "FILE", "the model (same as the MODEL argument)", 0},
    {{"-p", "--prompt"}, 1, W_PROMPT, GEN_CHAT_ONLY, "TEXT",
     "the prompt (BOS added as the model asks); -p \"\" starts from nothing", 0},
    {{"-f", "--file"}, 1, W_FILE, GEN_GENERATE | GEN_INFILL, "FILE", "read the prompt (infill: the text) from FILE", 0},
    {{"--prompt-ids"}, 1, W_IDS, GEN_GENERATE, "1,2,3", "the prompt as raw token ids, used as given (no BOS)", 0},
    {{"--canvas-ids"}, 1, W_IDS, GEN_INFILL, "IDS", "the canvas as raw token ids, the mask token's id at the holes", 0},
    {{"--chat"}, 0, W_CHAT, GEN_GENERATE, NULL,
     "put the prompt through the model's chat template (tokenizer.chat_template)", 0},
    {{"--system"}, 1, W_SYSTEM, GEN_CHAT_ONLY, "TEXT", "with --chat: a system message before the prompt", 0},
    {{"-n", "--gen-length", "-ub", "--n-predict"}, 1, W_SAMPLER, GEN_CHAT_ONLY, "N",
     "tokens to generate (--compat llamacpp: the whole canvas, as llama.cpp's -ub)", TDIFF_SAMPLER_GEN_LENGTH},
    {{"--steps", "--diffusion-steps"}, 1, W_SAMPLER, ALL, "N", "diffusion steps (bd3: per block)", TDIFF_SAMPLER_STEPS},
    {{"--block", "--diffusion-block-length"}, 1, W_SAMPLER, ALL, "B",
     "block length, 0 = one block (bd3: the file's on a block-causal model)", TDIFF_SAMPLER_BLOCK_LENGTH},
    {{"--strategy"}, 1, W_SAMPLER, ALL, "S", NULL, TDIFF_SAMPLER_STRATEGY},
    {{"--remask"}, 1, W_SAMPLER, ALL, "R", NULL, TDIFF_SAMPLER_REMASKING},
    {{"--diffusion-algorithm"}, 1, W_SAMPLER, ALL, "N",
     "llama.cpp's numbers for --remask: 0 origin, 1 entropy, 2 topk_margin, 3 random, 4 low_confidence "
     "(default 4, --remask's default)", 0},
    {{"--temperature", "--temp"}, 1, W_SAMPLER, ALL, "T", "sampling temperature, 0 = greedy", TDIFF_SAMPLER_TEMPERATURE},
    {{"--top-k"}, 1, W_SAMPLER, ALL, "K", "0 = off", TDIFF_SAMPLER_TOP_K},
    {{"--top-p"}, 1, W_SAMPLER, ALL, "P", "1 = off (bd3: BD3-LM's nucleus)", TDIFF_SAMPLER_TOP_P},
    {{"--cfg", "--diffusion-cfg-scale"}, 1, W_SAMPLER, ALL, "W", "classifier-free guidance scale",
     TDIFF_SAMPLER_CFG_SCALE},
    {{"--threshold"}, 1, W_SAMPLER, ALL, "X", "threshold strategy: commit what is this confident",
     TDIFF_SAMPLER_THRESHOLD},
    {{"--factor"}, 1, W_SAMPLER, ALL, "F", "factor strategy", TDIFF_SAMPLER_FACTOR},
    {{"--alg-temp", "--diffusion-alg-temp"}, 1, W_SAMPLER, ALL, "A", "sample positions by confidence (Dream)",
     TDIFF_SAMPLER_ALG_TEMP},
    {{"--eps", "--diffusion-eps"}, 1, W_SAMPLER, ALL, "E", "final time of the eps schedules", TDIFF_SAMPLER_EPS},
    {{"--planned-steps-per-token"}, 1, W_SAMPLER, ALL, "R",
     "planned: a span of L tokens gets max(1, ceil(L x R)) denoising steps", TDIFF_SAMPLER_PLANNED_STEPS_PER_TOKEN},
    {{"--planned-max-spans"}, 1, W_SAMPLER, ALL, "N", "planned: plan entries kept per round",
     TDIFF_SAMPLER_PLANNED_MAX_SPANS},
    {{"--planned-max-span"}, 1, W_SAMPLER, ALL, "N", "planned: longer planned lengths are clamped to N",
     TDIFF_SAMPLER_PLANNED_MAX_SPAN_LENGTH},
    {{"--planned-default-span"}, 1, W_SAMPLER, ALL, "N", "planned: the length of an entry that gives none",
     TDIFF_SAMPLER_PLANNED_DEFAULT_SPAN_LENGTH},
    {{"--planned-length-scale"}, 1, W_SAMPLER, ALL, "X", "planned: planned lengths times X",
     TDIFF_SAMPLER_PLANNED_LENGTH_SCALE},
    {{"-s", "--seed"}, 1, W_SAMPLER, ALL, "S", "random seed; -1 picks one and prints it", TDIFF_SAMPLER_SEED},
    {{"-t", "--threads"}, 1, W_SAMPLER, ALL, "N", "threads of the network", TDIFF_SAMPLER_N_THREADS},
    {{"--compat"}, 1, W_SAMPLER, ALL, "MODE", "llamacpp: llama-diffusion-cli's semantics (docs/sampling.md); none",
     TDIFF_SAMPLER_COMPAT},
    {{"--schedule"}, 1, W_SAMPLER, ALL, "K", "embedding: sqrt|cosine|linear Gaussian schedule",
     TDIFF_SAMPLER_GAUSS_SCHEDULE},
    {{"--cache"}, 1, W_SAMPLER, ALL, "MODE",
     "KV cache: none|prefix|dual|delayed (llada, dream, threshold, factor, bd3); exact on causal and block-causal "
     "models, approximate otherwise (docs/sampling.md)", TDIFF_SAMPLER_CACHE},
    {{"--cache-refresh"}, 1, W_SAMPLER, ALL, "N", "with --cache: recompute everything every N steps, 0 = never",
     TDIFF_SAMPLER_CACHE_REFRESH},
    {{"--early-stop"}, 0, W_EARLY_STOP, GEN_CHAT_ONLY, NULL,
     "stop once everything before the first EOS is decided (the output is the full run's; default off)", 0},
    {{"--graph"}, 1, W_GRAPH, ALL, "G",
     "d3pm/sedd: uniform|absorbing (default absorbing); d3pm steps the linear schedule, sedd log-linear", 0},
    {{"--spindle-corpus"}, 1, W_SPINDLE_CORPUS, ALL, "FILE",
     "spindle: token counts from this text (tokenized with the model); default: equal counts, i.e. the linear "
     "schedule", 0},
    {{"--clamp"}, 0, W_CLAMP, ALL, NULL, "embedding: clamp x0-hat to the nearest token embedding (default off)", 0},
    {{"--ddim"}, 0, W_DDIM, ALL, NULL, "embedding: deterministic DDIM steps (default DDPM)", 0},
    {{"--eos-inf"}, 0, W_EOS_INF, ALL, NULL, "EOS predictions get confidence -inf (default off)", 0},
    {{"--no-cut"}, 0, W_NO_CUT, GEN_CHAT_ONLY, NULL, "keep the text after EOS (default: cut there)", 0},
    {{"--no-subs"}, 0, W_NO_SUBS, ALL, NULL,
     "llada/dream: the mask token may be predicted, as their reference code (default: never)", 0},
    {{"--soft-mask"}, 1, W_SOFT_MASK, ALL, "K",
     "soft-masked inputs: masks mixed with the previous step's top-K predictions (docs/softmask.md; default off)", 0},
    {{"--json"}, 0, W_JSON, GEN_GENERATE | GEN_INFILL, NULL, "one JSON object: tokens, text, seed, passes, timings", 0},
    {{"--show", "--diffusion-visual"}, 0, W_SHOW, GEN_GENERATE | GEN_INFILL, NULL,
     "animate the canvas as masks resolve (stdout a terminal; else plain output; default off)", 0},
    {{"--show-delay"}, 1, W_SHOW_DELAY, GEN_GENERATE | GEN_INFILL, "MS", "pause after each --show frame (default 40)",
     0},
    {{"--trace"}, 1, W_TRACE, GEN_GENERATE | GEN_INFILL, "FILE.json",
     "record every step: canvas, confidences, commits (draw it with tools/plot_trace.py)", 0},
    {{"-v", "--verbose"}, 0, W_VERBOSE, ALL, NULL, "a timing summary on stderr when done", 0},
    {{"-h", "--help"}, 0, W_HELP, ALL, NULL, "this text", 0},
};
#define N_OPTS (sizeof OPTS / sizeof OPTS[0])

static const opt *find(const char *a)
{
    for (size_t i = 0; i < N_OPTS; i++)
        for (size_t k = 0; k < 4 && OPTS[i].names[k]; k++)
            if (!strcmp(a, OPTS[i].names[k]))
                return &OPTS[i];
    return NULL;
}

static const char *mode_name(int mode)
{
    return mode == GEN_INFILL ? "infill" : mode == GEN_CHAT ? "chat" : mode & GEN_EVAL ? "eval" : "generate";
}

/* Ids a name function is asked about (reason: enum numbers are gapped, e.g.
 * reserved strategy ids; 64 is above every id the header defines). */
#define NAME_IDS 64

/* "llada, dream, ..." of a name function over the ids it knows. */
static void list_names(FILE *f, const char *(*name)(int))
{
    for (int i = 1, first = 1; i < NAME_IDS; i++)
        if (strcmp(name(i), "unknown")) {
            fprintf(f, "%s%s", first ? "" : ", ", name(i));
            first = 0;
        }
}

static size_t names_into(char *buf, size_t cap, const char *(*name)(int))
{
    size_t k = 0;
    for (int i = 1, first = 1; i < NAME_IDS && k < cap; i++)
        if (strcmp(name(i), "unknown")) {
            k += (size_t)snprintf(buf + k, cap - k, "%s%s", first ? "" : ", ", name(i));
            first = 0;
        }
    return k < cap ? k : cap - 1;
}

static const char *const cache_names[] = {"none", "prefix", "dual", "delayed"}; /* tdiff_cache_mode order */

static void default_into(char *buf, size_t cap, int param)
{
    double def = 0;
    buf[0] = '\0';
    if (!param || tdiff_sampler_param_bounds((tdiff_sampler_param)param, NULL, NULL, &def) != TDIFF_OK)
        return;
    if (param == TDIFF_SAMPLER_STRATEGY)
        snprintf(buf, cap, " (default %s)", tdiff_strategy_name((int)def));
    else if (param == TDIFF_SAMPLER_REMASKING)
        snprintf(buf, cap, " (default %s)", tdiff_remasking_name((int)def));
    else if (param == TDIFF_SAMPLER_COMPAT)
        snprintf(buf, cap, " (default %s)", def == TDIFF_COMPAT_LLAMACPP ? "llamacpp" : "none");
    else if (param == TDIFF_SAMPLER_CACHE)
        snprintf(buf, cap, " (default %s)", cache_names[(int)def & 3]);
    else if (param == TDIFF_SAMPLER_GAUSS_SCHEDULE)
        snprintf(buf, cap, " (default %s)", def == TDIFF_SCHEDULE_COSINE ? "cosine" : def == TDIFF_SCHEDULE_LINEAR
                                                                                          ? "linear" : "sqrt");
    else
        snprintf(buf, cap, " (default %g)", def);
}

#define HELP_COL 30    /* where descriptions start */
#define HELP_WIDTH 100 /* wrap before this column */

/* Writes text from column HELP_COL (already reached), wrapping at word boundaries. */
static void wrap(FILE *f, const char *text)
{
    size_t at = HELP_COL;
    for (const char *w = text; *w;) {
        while (*w == ' ')
            w++;
        size_t n = strcspn(w, " ");
        if (!n)
            break;
        if (at > HELP_COL && at + 1 + n > HELP_WIDTH) {
            fprintf(f, "\n%*s", HELP_COL, "");
            at = HELP_COL;
        } else if (at > HELP_COL) {
            fputc(' ', f);
            at++;
        }
        fwrite(w, 1, n, f);
        at += n;
        w += n;
    }
    fputc('\n', f);
}

void gen_opts_usage(FILE *f, int mode)
{
    if (mode == GEN_INFILL)
        fprintf(f, "usage: textdiff infill [MODEL] \"The [MASK:5] sat on the [MASK:2].\" [options]\n"
                   "       textdiff infill [MODEL] --canvas-ids 1,2,MASK_ID,MASK_ID,3 [options]\n\n"
                   "Fills every [MASK:n] hole (n tokens, n written in digits) of the text with a diffusion\n"
                   "sampler; the text around the holes stays fixed and conditions the fill. Prints the\n"
                   "whole filled text.\n\n");
    else if (mode == GEN_CHAT)
        fprintf(f, "usage: textdiff chat [MODEL] [options]\n\n"
                   "Talks with an instruct model (LLaDA-8B-Instruct, Dream-v0-Instruct-7B, ...): each line\n"
                   "read from stdin is your message, the model's answer is printed after it. The whole\n"
                   "conversation goes through the model's chat template (tokenizer.chat_template) every\n"
                   "turn. /reset forgets the conversation; an empty line, /exit or end of input quits.\n"
                   "Example: textdiff chat llada-8b-instruct.gguf -n 128 --block 32 --system \"Be brief.\"\n\n");
    else
        fprintf(f, "usage: textdiff generate [MODEL] -p \"prompt\" [options]\n"
                   "       textdiff generate [MODEL] --prompt-ids 1,2,3 [options]\n\n"
                   "Generates text after the prompt with a diffusion sampler: the new tokens start\n"
                   "masked and are unmasked over --steps steps (docs/sampling.md). Prints the text\n"
                   "(or the ids when the model has no tokenizer). Example:\n"
                   "  textdiff generate model.gguf -p \"It is a truth\" --show\n"
                   "  textdiff generate -m llada-8b-instruct.gguf --chat -p \"Why is the sky blue?\" -n 128\n\n");
    fprintf(f, "MODEL is a GGUF file (docs/models.md); left out, $TEXTDIFF_MODEL or the bundled\n"
               "models/austen-llada.gguf (models/README.md) is used. Exit status 0 ok, 1 library\n"
               "error, 2 bad usage. On a terminal, progress (steps, tokens/s, time left) goes to stderr.\n\n"
               "options:\n");
    for (size_t i = 0; i < N_OPTS; i++) {
        const opt *o = &OPTS[i];
        if (!(o->modes & mode))
            continue;
        char names[96], help[512], def[64];
        int k = 0;
        for (size_t j = 0; j < 4 && o->names[j]; j++)
            k += snprintf(names + k, sizeof names - (size_t)k, "%s%s", j ? ", " : "", o->names[j]);
        if (o->arg)
            snprintf(names + k, sizeof names - (size_t)k, " %s", o->arg);
        size_t h;
        if (o->param == TDIFF_SAMPLER_STRATEGY) {
            h = (size_t)snprintf(help, sizeof help, "sampler: ");
            h += names_into(help + h, sizeof help - h, tdiff_strategy_name);
        } else if (o->param == TDIFF_SAMPLER_REMASKING) {
            h = (size_t)snprintf(help, sizeof help, "which masks to commit: ");
            h += names_into(help + h, sizeof help - h, tdiff_remasking_name);
        } else {
            h = (size_t)snprintf(help, sizeof help, "%s", o->help);
        }
        default_into(def, sizeof def, o->param);
        snprintf(help + h, sizeof help - h, "%s", def);
        size_t col = 2 + strlen(names);
        fprintf(f, "  %s", names);
        if (col + 1 >= HELP_COL)
            fprintf(f, "\n%*s", HELP_COL, "");
        else
            fprintf(f, "%*s", (int)(HELP_COL - col), "");
        wrap(f, help);
    }
}

int gen_opts_parse(int argc, char **argv, int mode, gen_opts *o)
{
    memset(o, 0, sizeof *o);
    o->mode = mode;
    o->graph = "absorbing";
    o->cut = 1;
    o->subs = 1;
    o->show_delay = 40;
    const char *cmd = mode_name(mode);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || !a[1]) { /* positional (or "-") */
            if (!o->model && tool_is_model_path(a) && !(mode == GEN_INFILL && o->text)) {
                o->model = a;
            } else if (o->model && tool_is_model_path(a) && strcmp(a, o->model)) {
                fprintf(stderr, "textdiff: %s: two models given ('%s' and '%s')\n", cmd, o->model, a);
                return 2;
            } else if (mode == GEN_INFILL && !o->text) {
                o->text = a;
            } else if (mode == GEN_INFILL) {
                fprintf(stderr, "textdiff: infill takes one text, '%s' is a second one (quote the text)\n", a);
                return 2;
            } else {
                fprintf(stderr, "textdiff: %s: unexpected argument '%.60s': the prompt goes after -p, as in\n"
                                "  textdiff %s %s-p \"%.60s\"\n",
                        cmd, a, cmd, o->model ? "MODEL " : "", a);
                return 2;
            }
            continue;
        }
        const opt *p = find(a);
        if (!p) {
            fprintf(stderr, "textdiff: %s: unknown option '%s' (textdiff %s --help lists them)\n", cmd, a, cmd);
            return 2;
        }
        if (p->what == W_HELP) {
            gen_opts_usage(stdout, mode);
            return 1;
        }
        if (!(p->modes & mode)) {
            fprintf(stderr, "textdiff: %s has no option %s%s\n", cmd, a,
                    mode == GEN_INFILL && p->param == TDIFF_SAMPLER_GEN_LENGTH
                        ? ": the holes give the length ([MASK:n])"
                    : mode == GEN_INFILL ? ": the text with its holes is the whole input" : "");
            return 2;
        }
        const char *v = NULL;
        if (p->value) {
            if (i + 1 >= argc) {
                fprintf(stderr, "textdiff: %s: option %s needs a value (%s)\n", cmd, a, p->arg);
                return 2;
            }
            v = argv[++i];
        }
        char *end;
        switch (p->what) {
        case W_MODEL: o->model = v; break;
        case W_PROMPT: o->prompt = v; break;
        case W_FILE: o->file = v; break;
        case W_IDS: o->ids = v; break;
        case W_SYSTEM: o->system = v; break;
        case W_CHAT: o->chat = 1; break;
        case W_GRAPH:
            if (strcmp(v, "uniform") && strcmp(v, "absorbing")) {
                fprintf(stderr, "textdiff: --graph '%s': uniform or absorbing\n", v);
                return 2;
            }
            o->graph = v;
            break;
        case W_TRACE: o->trace = v; break;
        case W_SPINDLE_CORPUS: o->spindle_corpus = v; break;
        case W_SHOW_DELAY:
            errno = 0;
            o->show_delay = strtol(v, &end, 10);
            if (*end || end == v || errno || o->show_delay < 0 || o->show_delay > 10000) {
                fprintf(stderr, "textdiff: --show-delay '%s': milliseconds in [0, 10000]\n", v);
                return 2;
            }
            break;
        case W_SOFT_MASK:
            errno = 0;
            o->soft_mask = strtol(v, &end, 10);
            if (*end || end == v || errno || o->soft_mask < 1 || o->soft_mask > 64) {
                fprintf(stderr, "textdiff: --soft-mask '%s': k in [1, 64]\n", v);
                return 2;
            }
            break;
        case W_JSON: o->json = 1; break;
        case W_NO_CUT: o->cut = 0; break;
        case W_EOS_INF: o->eos_inf = 1; break;
        case W_NO_SUBS: o->subs = 0; break;
        case W_SHOW: o->show = 1; break;
        case W_CLAMP: o->clamp = 1; break;
        case W_DDIM: o->ddim = 1; break;
        case W_EARLY_STOP: o->early_stop = 1; break;
        case W_VERBOSE: o->verbose = 1; break;
        case W_SAMPLER:
            if (p->param == TDIFF_SAMPLER_SEED && !strcmp(v, "-1")) {
                o->random_seed = 1;
                break;
            }
            if (o->n_set == GEN_MAX_SETTINGS) {
                fprintf(stderr, "textdiff: too many options\n");
                return 2;
            }
            o->set_opt[o->n_set] = p->names[0];
            o->set_val[o->n_set++] = v;
            break;
        default: break;
        }
    }
    int inputs = !!o->prompt + !!o->file + !!o->ids + !!o->text;
    if (mode == GEN_GENERATE && inputs != 1) {
        fprintf(stderr, inputs ? "textdiff: generate: give one of -p, -f and --prompt-ids\n"
                               : "textdiff: generate: no prompt: -p \"text\" (-p \"\" starts from nothing), -f FILE "
                                 "or --prompt-ids 1,2,3\n");
        return 2;
    }
    if (mode == GEN_INFILL && inputs != 1) {
        fprintf(stderr, inputs ? "textdiff: infill: give one of the text, -f and --canvas-ids\n"
                               : "textdiff: infill: no text: write it with [MASK:n] holes, e.g.\n"
                                 "  textdiff infill \"The [MASK:3] sat on the mat.\"\n");
        return 2;
    }
    if (o->system && mode == GEN_GENERATE && !o->chat) {
        fprintf(stderr, "textdiff: generate: --system needs --chat\n");
        return 2;
    }
    if (o->chat && o->ids) {
        fprintf(stderr, "textdiff: generate: --chat takes a text prompt (-p or -f), not --prompt-ids\n");
        return 2;
    }
    return 0;
}

/* One sampler setting by its canonical option name. */
static int apply_one(tdiff_sampler *s, const char *opt_name, const char *val)
{
    const opt *p = find(opt_name);
    int v;
    tdiff_status st;
    if (!strcmp(opt_name, "--strategy")) {
        if (tdiff_strategy_from_name(val, &v)) {
            fprintf(stderr, "textdiff: unknown strategy '%s' (known: ", val);
            list_names(stderr, tdiff_strategy_name);
            fputs(")\n", stderr);
            return 2;
        }
        st = tdiff_sampler_set_int(s, TDIFF_SAMPLER_STRATEGY, v);
    } else if (!strcmp(opt_name, "--remask")) {
        if (tdiff_remasking_from_name(val, &v)) {
            fprintf(stderr, "textdiff: unknown remasking '%s' (known: ", val);
            list_names(stderr, tdiff_remasking_name);
            fputs("; maskgit_plus = low_confidence)\n", stderr);
            return 2;
        }
        st = tdiff_sampler_set_int(s, TDIFF_SAMPLER_REMASKING, v);
    } else if (!strcmp(opt_name, "--diffusion-algorithm")) {
        static const int map[] = {TDIFF_REMASK_ORIGIN, TDIFF_REMASK_ENTROPY, TDIFF_REMASK_TOPK_MARGIN,
                                  TDIFF_REMASK_RANDOM, TDIFF_REMASK_LOW_CONFIDENCE};
        if (strlen(val) != 1 || val[0] < '0' || val[0] > '4') {
            fprintf(stderr, "textdiff: --diffusion-algorithm '%s': 0 origin, 1 entropy, 2 topk_margin, 3 random, "
                            "4 low_confidence\n", val);
            return 2;
        }
        st = tdiff_sampler_set_int(s, TDIFF_SAMPLER_REMASKING, map[val[0] - '0']);
    } else if (!strcmp(opt_name, "--schedule")) {
        int k = !strcmp(val, "sqrt") ? TDIFF_SCHEDULE_SQRT
                : !strcmp(val, "cosine") ? TDIFF_SCHEDULE_COSINE
                : !strcmp(val, "linear") ? TDIFF_SCHEDULE_LINEAR : 0;
        if (!k) {
            fprintf(stderr, "textdiff: unknown schedule '%s' (known: sqrt, cosine, linear)\n", val);
            return 2;
        }
        st = tdiff_sampler_set_int(s, TDIFF_SAMPLER_GAUSS_SCHEDULE, k);
    } else if (!strcmp(opt_name, "--cache")) {
        for (v = 0; v < 4 && strcmp(val, cache_names[v]); v++)
            ;
        if (v == 4) {
            fprintf(stderr, "textdiff: unknown cache mode '%s' (known: none, prefix, dual, delayed)\n", val);
            return 2;
        }
        st = tdiff_sampler_set_int(s, TDIFF_SAMPLER_CACHE, v);
    } else if (!strcmp(opt_name, "--compat")) {
        if (strcmp(val, "llamacpp") && strcmp(val, "none")) {
            fprintf(stderr, "textdiff: unknown compat mode '%s' (known: llamacpp, none)\n", val);
            return 2;
        }
        st = tdiff_sampler_set_int(s, TDIFF_SAMPLER_COMPAT,
                                   strcmp(val, "llamacpp") ? TDIFF_COMPAT_NONE : TDIFF_COMPAT_LLAMACPP);
    } else {
        tdiff_sampler_param param = (tdiff_sampler_param)p->param;
        char *end;
        errno = 0;
        if (tdiff_sampler_param_is_int(param) == 1) {
            long long x = strtoll(val, &end, 10);
            if (*end || errno || end == val) {
                fprintf(stderr, "textdiff: %s '%s': not an integer\n", opt_name, val);
                return 2;
            }
            st = tdiff_sampler_set_int(s, param, x);
        } else {
            double x = strtod(val, &end);
            if (*end || errno || end == val) {
                fprintf(stderr, "textdiff: %s '%s': not a number\n", opt_name, val);
                return 2;
            }
            st = tdiff_sampler_set_float(s, param, x);
        }
    }
    if (st != TDIFF_OK) {
        char msg[512];
        fprintf(stderr, "textdiff: %s %s: %s\n", opt_name, val,
                tool_lib_message(msg, sizeof msg, tdiff_sampler_last_error(s)));
        return 2;
    }
    return 0;
}

int gen_opts_apply(const gen_opts *o, tdiff_sampler *s)
{
    for (size_t i = 0; i < o->n_set; i++) {
        int rc = apply_one(s, o->set_opt[i], o->set_val[i]);
        if (rc)
            return rc;
    }
    if ((o->clamp && tdiff_sampler_set_int(s, TDIFF_SAMPLER_CLAMP, 1)) ||
        (o->ddim && tdiff_sampler_set_int(s, TDIFF_SAMPLER_DDIM, 1)) ||
        (o->early_stop && tdiff_sampler_set_int(s, TDIFF_SAMPLER_EARLY_STOP, 1)) ||
        tdiff_sampler_set_int(s, TDIFF_SAMPLER_CUT_AT_EOS, o->cut) ||
        tdiff_sampler_set_int(s, TDIFF_SAMPLER_EOS_CONFIDENCE_INF, o->eos_inf) ||
        tdiff_sampler_set_int(s, TDIFF_SAMPLER_SUBS, o->subs)) {
        fprintf(stderr, "textdiff: %s\n", tdiff_sampler_last_error(s));
        return 2;
    }
    return 0;
}
