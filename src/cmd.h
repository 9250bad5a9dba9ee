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
int cmd_chat(int argc, char **argv);
int cmd_quantize(int argc, char **argv);
int cmd_serve(int argc, char **argv); /* serve.c, or main.c's note when built without it */
int cmd_eval(int argc, char **argv);

/* The model used when none is named: $TEXTDIFF_MODEL, else the bundled
 * models/austen-llada.gguf of the source tree, else its installed copy. */
const char *tool_default_model(void);
/* The model's vocabulary size (0 when it has no token list). */
size_t tool_vocab(const tdiff_model *model);

/* msg (a library message, may be NULL) with C API names replaced by what a tool
 * user does instead (tdiff_sampler_infill -> textdiff infill; others -> "the
 * library"), into buf. Returns buf. */
const char *tool_lib_message(char *buf, size_t cap, const char *msg);

/* The whole file, NUL-terminated (malloc'd; *len without the NUL); NULL with
 * errno set on failure. */
char *tool_read_file(const char *path, size_t *len);

/* True when a command-line argument names a model rather than a text: it ends
 * in .gguf or names a file that starts with the GGUF magic. */
int tool_is_model_path(const char *a);

/* Writes s[0..n) into buf[0..cap) (NUL-terminated, cut before an escape that
 * does not fit) so that a terminal shows it as text and runs nothing: control
 * bytes (C0, DEL), C1 controls (U+0080..U+009F) and bytes that are not UTF-8
 * become \xNN, a backslash \\, and a double quote \" when quote is set. Every
 * string that comes from a file goes through it before it is printed. */
const char *tool_escape(char *buf, size_t cap, const char *s, size_t n, int quote);

/* ggml's name of a tensor type number the library reads ("F32", "Q4_K", ...); "?" otherwise. */
const char *tool_type_name(int type);
/* True when s equals "--help" or "-h". */
int tool_is_help(const char *s);
/* Parses "1,2,3" into ids (cap entries); returns the count or -1 on a parse error/overflow. */
long tool_parse_ids(const char *s, int32_t *ids, size_t cap);

#endif
