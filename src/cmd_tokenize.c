/*
 * cmd_tokenize.c -- `textdiff tokenize MODEL TEXT` prints the token ids of TEXT
 * (one line, comma-separated; --pieces adds one "id<TAB>text" line per token)
 * and `textdiff detokenize MODEL 1,2,3` prints the text of the ids.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "libtextdiff.h"

static int open_tokenizer(const char *path, tdiff_model **model, tdiff_tokenizer **tok)
{
    char err[512];
    tdiff_status st = tdiff_model_load_file(path, NULL, model, err, sizeof err);
    if (st != TDIFF_OK) {
        fprintf(stderr, "textdiff: cannot load %s: %s\n", path, err);
        return 1;
    }
    st = tdiff_tokenizer_create(*model, NULL, tok, err, sizeof err);
    if (st != TDIFF_OK) {
        fprintf(stderr, "textdiff: tokenizer: %s\n", err);
        tdiff_model_free(*model);
        return 1;
    }
    return 0;
}

static void tokenize_usage(FILE *f)
{
    fprintf(f, "usage: textdiff tokenize [--no-special] [--parse-special] [--pieces] MODEL TEXT\n\n"
               "Prints the token ids of TEXT, comma-separated. BOS/EOS are added as the model's\n"
               "tokenizer.ggml.add_bos_token/add_eos_token say unless --no-special;\n"
               "--parse-special turns the text of control tokens (e.g. <|endoftext|>) into them;\n"
               "--pieces also prints one line per token: id, TAB, its vocabulary text.\n");
}

int cmd_tokenize(int argc, char **argv)
{
    uint32_t flags = TDIFF_TOKENIZE_ADD_SPECIAL;
    int pieces = 0, i = 1;
    if (argc > 1 && tool_is_help(argv[1])) {
        tokenize_usage(stdout);
        return 0;
    }
    for (; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i++) {
        if (tool_is_help(argv[i])) {
            tokenize_usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--no-special")) {
            flags &= ~TDIFF_TOKENIZE_ADD_SPECIAL;
        } else if (!strcmp(argv[i], "--parse-special")) {
            flags |= TDIFF_TOKENIZE_PARSE_SPECIAL;
        } else if (!strcmp(argv[i], "--pieces")) {
            pieces = 1;
        } else {
            break;
        }
    }
    if (argc - i != 2) {
        tokenize_usage(stderr);
        return 2;
    }
    tdiff_model *model;
    tdiff_tokenizer *tok;
    if (open_tokenizer(argv[i], &model, &tok))
        return 1;
    const char *text = argv[i + 1];
    size_t n = 0;
    tdiff_status st = tdiff_tokenizer_tokenize(tok, text, strlen(text), flags, NULL, 0, &n);
    int32_t *ids = malloc((n ? n : 1) * sizeof *ids);
    if (ids && (st == TDIFF_OK || st == TDIFF_E_BUFFER_TOO_SMALL))
        st = tdiff_tokenizer_tokenize(tok, text, strlen(text), flags, ids, n, &n);
    int rc = 0;
    if (!ids || st != TDIFF_OK) {
        fprintf(stderr, "textdiff: tokenize failed: %s\n", ids ? tdiff_status_string(st) : "out of memory");
        rc = 1;
    } else {
        for (size_t k = 0; k < n; k++)
            printf("%s%d", k ? "," : "", (int)ids[k]);
        printf("\n");
        for (size_t k = 0; pieces && k < n; k++) {
            char buf[256];
            size_t len;
            if (tdiff_tokenizer_token_text(tok, ids[k], buf, sizeof buf, &len) != TDIFF_OK)
                len = 0;
            printf("%d\t%.*s\n", (int)ids[k], (int)len, buf);
        }
    }
    free(ids);
    tdiff_tokenizer_free(tok);
    tdiff_model_free(model);
    return rc;
}

int cmd_detokenize(int argc, char **argv)
{
    int i = 1;
    uint32_t flags = 0;
    if (argc > 1 && tool_is_help(argv[1])) {
        printf("usage: textdiff detokenize [--special] MODEL ID,ID,...\n\n"
               "Writes the bytes of the ids to standard output (no newline added);\n"
               "--special also writes control tokens' text.\n");
        return 0;
    }
    if (i < argc && !strcmp(argv[i], "--special")) {
        flags = TDIFF_DETOKENIZE_RENDER_SPECIAL;
        i++;
    }
    if (argc - i != 2) {
        fprintf(stderr, "usage: textdiff detokenize [--special] MODEL ID,ID,...\n");
        return 2;
    }
    size_t cap = strlen(argv[i + 1]) / 2 + 1; /* at most one id per two characters */
    int32_t *ids = malloc(cap * sizeof *ids);
    long n = ids ? tool_parse_ids(argv[i + 1], ids, cap) : -1;
    if (n < 0) {
        fprintf(stderr, "textdiff: cannot parse ids '%s'\n", argv[i + 1]);
        free(ids);
        return 2;
    }
    tdiff_model *model;
    tdiff_tokenizer *tok;
    if (open_tokenizer(argv[i], &model, &tok)) {
        free(ids);
        return 1;
    }
    size_t len = 0;
    tdiff_status st = tdiff_tokenizer_detokenize(tok, ids, (size_t)n, flags, NULL, 0, &len);
    char *buf = malloc(len ? len : 1);
    if (buf && (st == TDIFF_OK || st == TDIFF_E_BUFFER_TOO_SMALL))
        st = tdiff_tokenizer_detokenize(tok, ids, (size_t)n, flags, buf, len, &len);
    int rc = 0;
    if (!buf || st != TDIFF_OK) {
        fprintf(stderr, "textdiff: detokenize failed: %s\n", buf ? tdiff_status_string(st) : "out of memory");
        rc = 1;
    } else {
        fwrite(buf, 1, len, stdout);
    }
    free(buf);
    free(ids);
    tdiff_tokenizer_free(tok);
    tdiff_model_free(model);
    return rc;
}
