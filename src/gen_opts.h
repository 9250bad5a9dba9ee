/* gen_opts.h -- the command line of `generate`, `infill` and `chat`: one table of
 * options (llama.cpp's spellings as aliases), parsed without a model, the help
 * text with every default, and the sampler settings applied once a sampler exists. */
#ifndef TEXTDIFF_GEN_OPTS_H
#define TEXTDIFF_GEN_OPTS_H

#include <stdio.h>

#include "libtextdiff.h"

/* GEN_EVAL is a modifier of GEN_GENERATE (`textdiff eval`): generate's options,
 * no prompt required (eval brings its own). */
enum gen_mode { GEN_GENERATE = 1, GEN_INFILL = 2, GEN_CHAT = 4, GEN_EVAL = 8 };

#define GEN_MAX_SETTINGS 64

typedef struct gen_opts {
    int mode;
    const char *model;        /* -m / the MODEL argument; NULL = the bundled default */
    const char *prompt;       /* -p */
    const char *file;         /* -f: the prompt (generate) or the text (infill) from a file */
    const char *ids;          /* --prompt-ids / --canvas-ids */
    const char *text;         /* infill: the text with [MASK:n] holes */
    const char *system;       /* --system */
    const char *graph;        /* --graph, default "absorbing" */
    const char *trace;        /* --trace FILE */
    const char *spindle_corpus; /* --spindle-corpus FILE: token counts of the spindle strategy */
    int chat, json, cut, eos_inf, subs, show, clamp, ddim, verbose, early_stop;
    long show_delay;          /* ms */
    long soft_mask;           /* 0 = off */
    int random_seed;          /* --seed -1: pick one (and print it) */
    size_t n_set;             /* sampler settings in command-line order: option, value */
    const char *set_opt[GEN_MAX_SETTINGS], *set_val[GEN_MAX_SETTINGS];
} gen_opts;

/* Parses argv[1..argc) (argv[0] is the command). Returns 0 when parsed, 1 when
 * --help was printed (exit 0), 2 after printing a usage error (exit 2). */
int gen_opts_parse(int argc, char **argv, int mode, gen_opts *o);
void gen_opts_usage(FILE *f, int mode);
/* Applies the sampler settings; prints the problem and returns nonzero on error. */
int gen_opts_apply(const gen_opts *o, tdiff_sampler *s);
/* The -v line on stderr: load time, steps, passes, seconds, tokens/s, seed (cmd_generate.c). */
void gen_summary(tdiff_sampler *s, double load_seconds, size_t n_tokens, int64_t seed);

/* D3PM and SEDD need a transition graph and a schedule beside the sampler, spindle a
 * scheduler with token counts: creates them (*sched, *tr; the caller frees them after
 * the sampler) for those strategies, nothing for the others. Prints the problem and returns nonzero on error (cmd_generate.c). */
int gen_graph_setup(const gen_opts *o, const tdiff_model *model, tdiff_sampler *s, int32_t mask,
                    tdiff_scheduler **sched, tdiff_transition **tr);

#endif
