/*
 * cmd_tokenize.c -- `textdiff tokenize [MODEL] TEXT` prints the token ids of TEXT
 * (one line, comma-separated; --pieces adds one "id<TAB>text" line per token;
 * --chat the ids of TEXT as a chat message) and `textdiff detokenize [MODEL]
 * 1,2,3` prints the text of the ids. No MODEL: the bundled default.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat.h"
#include "cmd.h"
#include "libtextdiff.h"

static int open_tokenizer(const char *path, tdiff_model **model, tdiff_tokenizer **tok)
{
    char err[512];
    tdiff_status st = tdiff_model_load_file(path, NULL, model, err, sizeof err);
    if (st != TDIFF_OK) {
        fprintf(stderr, "textdiff: cannot load '%s': %s\n", path, err);
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
    fprintf(f, "usage: textdiff tokenize [options] [MODEL] TEXT\n\n"
               "Prints the token ids of TEXT, comma-separated. MODEL left out: $TEXTDIFF_MODEL or the\n"
               "bundled model.\n"
               "  -m, --model FILE   the model (same as MODEL)\n"
               "  --no-special       no BOS/EOS (default: added as tokenizer.ggml.add_bos_token/add_eos_token say)\n"
               "  --parse-special    the text of control tokens (e.g. <|endoftext|>) becomes them (default off)\n"
               "  --chat             the ids `generate --chat` gives the model for TEXT as the user's message:\n"
               "                     the chat template, special tokens parsed (llama.cpp's prompt)\n"
               "  --system TEXT      with --chat: a system message first\n"
               "  --pieces           also one line per token: id, TAB, its vocabulary text (default off)\n");
}

int cmd_tokenize(int argc, char **argv)
{
    uint32_t flags = TDIFF_TOKENIZE_ADD_SPECIAL;
    int pieces = 0, chat = 0;
    const char *pos[3] = {NULL, NULL, NULL}, *model_path = NULL, *system = NULL;
    size_t n_pos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (tool_is_help(a)) {
            tokenize_usage(stdout);
            return 0;
        } else if (!strcmp(a, "--no-special")) {
            flags &= ~TDIFF_TOKENIZE_ADD_SPECIAL;
        } else if (!strcmp(a, "--parse-special")) {
            flags |= TDIFF_TOKENIZE_PARSE_SPECIAL;
        } else if (!strcmp(a, "--pieces")) {
            pieces = 1;
        } else if (!strcmp(a, "--chat")) {
            chat = 1;
        } else if ((!strcmp(a, "-m") || !strcmp(a, "--model") || !strcmp(a, "--system")) && i + 1 < argc) {
            *(a[2] == 's' ? &system : &model_path) = argv[++i];
        } else if (a[0] == '-' && a[1] && strcmp(a, "--")) {
            fprintf(stderr, "textdiff: tokenize: unknown option '%s' (or it needs a value)\n", a);
            return 2;
        } else if (n_pos < 3) {
            pos[n_pos++] = a;
        }
    }
    if (n_pos == 2 && !model_path) {
        model_path = pos[0];
        pos[0] = pos[1];
        n_pos = 1;
    }
    if (n_pos == 1 && !model_path && tool_is_model_path(pos[0]))
        n_pos = 0; /* a model and no text */
    if (n_pos != 1) {
        fprintf(stderr, n_pos ? "textdiff: tokenize: too many arguments: quote the text\n"
                              : "textdiff: tokenize: no text (textdiff tokenize [MODEL] TEXT)\n");
        return 2;
    }
    if (system && !chat) {
        fprintf(stderr, "textdiff: tokenize: --system needs --chat\n");
        return 2;
    }
    const char *text = pos[0];
    tdiff_model *model;
    tdiff_tokenizer *tok;
    if (open_tokenizer(model_path ? model_path : tool_default_model(), &model, &tok))
        return 1;
    size_t n = 0;
    tdiff_status st = TDIFF_OK;
    int32_t *ids = NULL;
    if (chat) {
        size_t cap = strlen(text) + (system ? strlen(system) : 0) + 1024; /* ids <= bytes + the template's */
        long got = (ids = malloc(cap * sizeof *ids)) ? chat_prompt_ids(tok, system, text, ids, cap) : -1;
        if (got < 0) {
            free(ids);
            tdiff_tokenizer_free(tok);
            tdiff_model_free(model);
            return 1;
        }
        n = (size_t)got;
    } else {
        st = tdiff_tokenizer_tokenize(tok, text, strlen(text), flags, NULL, 0, &n);
        ids = malloc((n ? n : 1) * sizeof *ids);
        if (ids && (st == TDIFF_OK || st == TDIFF_E_BUFFER_TOO_SMALL))
            st = tdiff_tokenizer_tokenize(tok, text, strlen(text), flags, ids, n, &n);
    }
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
    uint32_t flags = 0;
    const char *pos[3] = {NULL, NULL, NULL}, *model_path = NULL;
    size_t n_pos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (tool_is_help(a)) {
            printf("usage: textdiff detokenize [--special] [MODEL] ID,ID,...\n\n"
                   "Writes the bytes of the ids to standard output (no newline added). MODEL left out:\n"
                   "$TEXTDIFF_MODEL or the bundled model.\n"
                   "  -m, --model FILE  the model (same as MODEL)\n"
                   "  --special         also write control tokens' text (default: skipped)\n");
            return 0;
        } else if (!strcmp(a, "--special")) {
            flags = TDIFF_DETOKENIZE_RENDER_SPECIAL;
        } else if ((!strcmp(a, "-m") || !strcmp(a, "--model")) && i + 1 < argc) {
            model_path = argv[++i];
        } else if (a[0] == '-' && a[1] && (a[1] < '0' || a[1] > '9')) {
            fprintf(stderr, "textdiff: detokenize: unknown option '%s' (or it needs a value)\n", a);
            return 2;
        } else if (n_pos < 3) {
            pos[n_pos++] = a;
        }
    }
    if (n_pos == 2 && !model_path) {
        model_path = pos[0];
        pos[0] = pos[1];
        n_pos = 1;
    }
    if (n_pos != 1) {
        fprintf(stderr, "usage: textdiff detokenize [--special] [MODEL] ID,ID,...\n");
        return 2;
    }
    const char *list = pos[0];
    size_t cap = strlen(list) / 2 + 1; /* at most one id per two characters */
    int32_t *ids = malloc(cap * sizeof *ids);
    long n = ids ? tool_parse_ids(list, ids, cap) : -1;
    if (n < 0) {
        fprintf(stderr, "textdiff: detokenize: not a list of token ids: '%.40s'\n", list);
        free(ids);
        return 2;
    }
    tdiff_model *model;
    tdiff_tokenizer *tok;
    if (open_tokenizer(model_path ? model_path : tool_default_model(), &model, &tok)) {
        free(ids);
        return 1;
    }
    size_t vocab = 0;
    tdiff_tokenizer_vocab_size(tok, &vocab);
    for (long k = 0; k < n; k++)
        if ((size_t)ids[k] >= vocab) {
            fprintf(stderr, "textdiff: detokenize: id %d at index %ld is outside the vocabulary [0, %zu)\n",
                    (int)ids[k], k, vocab);
            free(ids);
            tdiff_tokenizer_free(tok);
            tdiff_model_free(model);
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
