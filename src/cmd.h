/* cmd.h -- the subcommand table of the `textdiff` tool and shared helpers. */
#ifndef TEXTDIFF_CMD_H
#define TEXTDIFF_CMD_H

#include <stddef.h>
#include <stdint.h>

#include "libtextdiff.h"

struct tool_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv); /* argv[0] is the command name; returns the exit code */
};

/* Exit codes: 0 success, 1 the library reported an error, 2 bad usage. */
int cmd_version(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_detokenize(int argc, char **argv);
int cmd_forward(int argc, char **argv);
int cmd_generate(int argc, char **argv);
int cmd_infill(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_score(int argc, char **argv);
int cmd_quantize(int argc, char **argv);

/* The model used when none is named: $TEXTDIFF_MODEL, else the bundled
 * models/austen-llada.gguf of the source tree, else its installed copy. */
const char *tool_default_model(void);
/* The model's vocabulary size (0 when it has no token list). */
size_t tool_vocab(const tdiff_model *model);

/* ggml's name of a tensor type number the library reads ("F32", "Q4_K", ...); "?" otherwise. */
const char *tool_type_name(int type);
/* True when s equals "--help" or "-h". */
int tool_is_help(const char *s);
/* Parses "1,2,3" into ids (cap entries); returns the count or -1 on a parse error/overflow. */
long tool_parse_ids(const char *s, int32_t *ids, size_t cap);

#endif
