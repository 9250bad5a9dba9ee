/*
 * main.c -- the `textdiff` command-line tool: dispatches to one file per
 * subcommand (cmd_*.c). Each subcommand prints its own --help.
 */
#include <stdio.h>
#include <string.h>

#include "cmd.h"

#ifndef TDIFF_HAVE_SERVER
/* Built without libmicrohttpd or jansson (meson -Dserver=auto found neither). */
int cmd_serve(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "textdiff: serve: this build has no server: install libmicrohttpd-dev and libjansson-dev "
                    "(scripts/setup-deps.sh test) and reconfigure\n");
    return 1;
}
#endif

/* One line per subcommand, in help order. */
static const struct tool_command commands[] = {
    {"version", "print library version and SIMD variant", cmd_version},
    {"tokenize", "print the token ids of a text", cmd_tokenize},
    {"detokenize", "print the text of token ids", cmd_detokenize},
    {"forward", "run the network once, write logits as .npy", cmd_forward},
    {"generate", "generate text after a prompt with a diffusion sampler (--chat: through the chat template)",
     cmd_generate},
    {"chat", "talk with an instruct model, one line of stdin per message", cmd_chat},
    {"infill", "fill [MASK:n] holes in a text", cmd_infill},
    {"info", "show a model's architecture, sizes, hyper-parameters, tokens", cmd_info},
    {"score", "NELBO (nats/token) and perplexity bound of a text file", cmd_score},
    {"eval", "judge generated text: perplexity under an autoregressive judge, repetition, diversity, speed",
     cmd_eval},
    {"quantize", "write a copy of a model with re-encoded weights (f16 ... q4_k_m)", cmd_quantize},
    {"serve", "an HTTP server: completions streaming every step, infill, tokenize, score (docs/server.md)",
     cmd_serve},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: textdiff <command> [options]   (textdiff <command> --help for details)\n"
               "       textdiff --version\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nWithout a MODEL, generate, infill, chat, tokenize, detokenize, info, score and eval use\n"
               "$TEXTDIFF_MODEL or the bundled models/austen-llada.gguf. Getting real models: docs/models.md.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V"))
        return cmd_version(1, argv + 1);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "textdiff: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
