/*
 * chat.c -- chat prompts and `textdiff chat MODEL`: each line of stdin is a user
 * message; the whole conversation (an optional --system message first) goes
 * through the model's chat template every turn, the sampler writes the answer,
 * and the answer joins the conversation. /reset forgets it; an empty line,
 * /exit or end of input ends the session.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chat.h"
#include "cmd.h"
#include "gen_opts.h"
#include "progress.h"

long chat_ids(const tdiff_tokenizer *tok, const tdiff_chat_message *messages, size_t n, int32_t *ids, size_t cap)
{
    size_t len = 0;
    tdiff_status st = tdiff_tokenizer_apply_chat(tok, messages, n, TDIFF_CHAT_ADD_ASSISTANT, NULL, 0, &len);
    if (st == TDIFF_E_UNSUPPORTED) {
        fprintf(stderr, "textdiff: the model's chat template (tokenizer.chat_template) is not one textdiff renders "
                        "(ChatML as Dream/Qwen2, Llama-3 headers as LLaDA, contents only); docs/models.md\n");
        return -1;
    }
    char *text = malloc(len + 1);
    if (!text || (st != TDIFF_OK && st != TDIFF_E_BUFFER_TOO_SMALL) ||
        tdiff_tokenizer_apply_chat(tok, messages, n, TDIFF_CHAT_ADD_ASSISTANT, text, len, &len) != TDIFF_OK) {
        fprintf(stderr, "textdiff: cannot apply the chat template: %s\n",
                text ? tdiff_status_string(st) : "out of memory");
        free(text);
        return -1;
    }
    size_t got = 0;
    st = tdiff_tokenizer_tokenize(tok, text, len, TDIFF_TOKENIZE_ADD_SPECIAL | TDIFF_TOKENIZE_PARSE_SPECIAL, ids, cap,
                                  &got);
    free(text);
    if (st != TDIFF_OK) {
        fprintf(stderr, "textdiff: cannot tokenize the chat prompt: %s\n",
                st == TDIFF_E_BUFFER_TOO_SMALL ? "too long" : tdiff_status_string(st));
        return -1;
    }
    return (long)got;
}

long chat_prompt_ids(const tdiff_tokenizer *tok, const char *system, const char *user, int32_t *ids, size_t cap)
{
    tdiff_chat_message m[2] = {{"system", system}, {"user", user}};
    return system ? chat_ids(tok, m, 2, ids, cap) : chat_ids(tok, m + 1, 1, ids, cap);
}

/* ---- the session ----------------------------------------------------------- */

#define MAX_IDS 65536

typedef struct conversation {
    tdiff_chat_message *m;
    size_t n, cap;
} conversation;

/* getline(3), which Windows lacks: one line of f into *line (grown as needed),
 * its length, or -1 at end of input or when memory runs out. */
static long read_line(char **line, size_t *cap, FILE *f)
{
    size_t len = 0;
    for (;;) {
        if (*cap - len < 2) {
            size_t grown = *cap ? 2 * *cap : 256;
            char *p = realloc(*line, grown);
            if (!p)
                return -1;
            *line = p;
            *cap = grown;
        }
        if (!fgets(*line + len, (int)(*cap - len), f))
            return len ? (long)len : -1;
        len += strlen(*line + len);
        if ((*line)[len - 1] == '\n')
            return (long)len;
    }
}

static int add(conversation *c, const char *role, const char *content, size_t len)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 16;
        tdiff_chat_message *m = realloc(c->m, cap * sizeof *m);
        if (!m)
            return -1;
        c->m = m;
        c->cap = cap;
    }
    char *text = malloc(len + 1);
    if (!text)
        return -1;
    memcpy(text, content, len);
    text[len] = '\0';
    c->m[c->n].role = role;
    c->m[c->n++].content = text;
    return 0;
}

static void forget(conversation *c, size_t keep)
{
    while (c->n > keep)
        free((char *)c->m[--c->n].content);
}

/* One answer: ids of the conversation -> generated text appended as "assistant". */
static int answer(conversation *c, const tdiff_tokenizer *tok, tdiff_sampler *s, int32_t mask, int32_t *ids,
                  int32_t *out, size_t cap, int verbose)
{
    long n = chat_ids(tok, c->m, c->n, ids, MAX_IDS);
    if (n < 0)
        return -1;
    step_progress tp = {.mask = mask, .masks0 = cap};
    progress_begin(&tp.p, "step", 1);
    tdiff_sampler_set_callback(s, tp.p.on ? progress_on_step : NULL, &tp);
    size_t n_out = 0;
    tdiff_status st = tdiff_sampler_generate(s, ids, (size_t)n, out, cap, &n_out);
    progress_end(&tp.p);
    if (st != TDIFF_OK) {
        char msg[512];
        fprintf(stderr, "textdiff: %s: %s%s\n", tdiff_status_string(st),
                tool_lib_message(msg, sizeof msg, tdiff_sampler_last_error(s)),
                c->n > 1 ? " (/reset starts a new conversation)" : "");
        return 1;
    }
    size_t len = 0;
    tdiff_tokenizer_detokenize(tok, out, n_out, 0, NULL, 0, &len);
    char *text = malloc(len + 1);
    if (!text || tdiff_tokenizer_detokenize(tok, out, n_out, 0, text, len + 1, &len) != TDIFF_OK) {
        free(text);
        return -1;
    }
    fwrite(text, 1, len, stdout);
    putchar('\n');
    fflush(stdout);
    if (verbose) {
        int64_t seed = 0;
        tdiff_sampler_get_int(s, TDIFF_SAMPLER_SEED, &seed);
        gen_summary(s, 0.0, n_out, seed);
    }
    int rc = add(c, "assistant", text, len);
    free(text);
    return rc;
}

int cmd_chat(int argc, char **argv)
{
    gen_opts o;
    int rc = gen_opts_parse(argc, argv, GEN_CHAT, &o);
    if (rc)
        return rc == 1 ? 0 : 2;
    const char *path = o.model ? o.model : tool_default_model();
    tdiff_model *model = NULL;
    tdiff_tokenizer *tok = NULL;
    tdiff_sampler *s = NULL;
    conversation c = {0};
    int32_t *ids = NULL, *out = NULL;
    char err[512], *line = NULL;
    size_t line_cap = 0;
    if (tdiff_model_load_file(path, NULL, &model, err, sizeof err)) {
        fprintf(stderr, "textdiff: cannot load '%s': %s\n", path, err);
        return 1;
    }
    rc = 1;
    int32_t mask = -1; /* none: an autoregressive model (the sampler runs it with the ar strategy) */
    if (tdiff_tokenizer_create(model, NULL, &tok, err, sizeof err)) {
        fprintf(stderr, "textdiff: '%s' has no usable tokenizer: %s\n", path, err);
        goto done;
    }
    if (tdiff_model_special_id(model, TDIFF_SPECIAL_MASK, &mask))
        mask = -1;
    if (tdiff_sampler_create(model, NULL, &s, err, sizeof err)) {
        fprintf(stderr, "textdiff: cannot create the sampler: %s\n", err);
        goto done;
    }
    if ((rc = gen_opts_apply(&o, s)) != 0)
        goto done;
    rc = 1;
    if (o.random_seed) {
        int64_t seed = (int64_t)((uint32_t)(tool_seconds() * 1e6) ^ (uint32_t)getpid());
        tdiff_sampler_set_int(s, TDIFF_SAMPLER_SEED, seed);
        fprintf(stderr, "textdiff: seed %lld\n", (long long)seed);
    }
    const char *format = tdiff_tokenizer_chat_format(tok);
    if (!format) { /* said before the first question, not after it */
        tdiff_chat_message probe = {"user", ""};
        chat_ids(tok, &probe, 1, NULL, 0);
        goto done;
    }
    int64_t gen = 0;
    tdiff_sampler_get_int(s, TDIFF_SAMPLER_GEN_LENGTH, &gen);
    ids = malloc(MAX_IDS * sizeof *ids);
    out = malloc((size_t)gen * sizeof *out);
    if (!ids || !out || (o.system && add(&c, "system", o.system, strlen(o.system)))) {
        fprintf(stderr, "textdiff: out of memory\n");
        goto done;
    }
    size_t keep = c.n; /* the system message survives /reset */
    int tty = isatty(0);
    if (tty)
        fprintf(stderr, "textdiff: chat with %s (template %s); /reset forgets, /exit or an empty line quits\n", path,
                format);
    rc = 0;
    for (int first = 1;; first = 0) {
        const char *msg;
        size_t len;
        if (first && o.prompt) {
            msg = o.prompt;
            len = strlen(msg);
        } else {
            if (tty)
                fputs("> ", stderr);
            long got = read_line(&line, &line_cap, stdin);
            if (got < 0)
                break;
            while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r'))
                line[--got] = '\0';
            msg = line;
            len = (size_t)got;
        }
        if (len == 0 || !strcmp(msg, "/exit"))
            break;
        if (!strcmp(msg, "/reset")) {
            forget(&c, keep);
            continue;
        }
        if (add(&c, "user", msg, len)) {
            rc = 1;
            break;
        }
        int r = answer(&c, tok, s, mask, ids, out, (size_t)gen, o.verbose);
        if (r < 0) {
            rc = 1;
            break;
        }
        if (r > 0)
            forget(&c, c.n - 1); /* the question that failed is not kept */
    }
done:
    forget(&c, 0);
    free(c.m);
    free(line);
    free(ids);
    free(out);
    tdiff_sampler_free(s);
    tdiff_tokenizer_free(tok);
    tdiff_model_free(model);
    return rc;
}
