/*
 * chat.c -- chat templates: a model's tokenizer.chat_template is recognised by
 * its content, as llama.cpp recognises templates (no Jinja engine), and
 * conversations are rendered into the text llama.cpp's llama-diffusion-cli
 * builds for the same messages (its Jinja rendering of these templates, then its
 * post-processing: a leading BOS text is dropped when the tokenizer adds BOS
 * itself, a trailing EOS text when it adds EOS).
 *
 * Families (tdiff__chat_format):
 *   content  {% for message in messages %}{{ message['content'] }}{% endfor %}
 *            (the llama.cpp-written fixtures): the contents back to back
 *   chatml   <|im_start|>ROLE\nCONTENT<|im_end|>\n ..., generation prompt
 *            <|im_start|>assistant\n; a literal default system prompt in the
 *            template (Dream, Qwen2) is used when the first message is not
 *            "system". Also what a file without a template gets (llama.cpp's fallback).
 *   llama3   [BOS]<|start_header_id|>ROLE<|end_header_id|>\n\nCONTENT<|eot_id|> ...,
 *            generation prompt <|start_header_id|>assistant<|end_header_id|>\n\n
 *            (LLaDA-8B-Instruct); `| trim` trims contents, a template without
 *            add_generation_prompt always ends with the prompt (LLaDA's does).
 * Anything else (templates with tools, dates, other markers) is refused rather
 * than rendered differently from llama.cpp.
 */
#include <string.h>

#include "tokenizer/tokenizer.h"

#include "libtextdiff.h"

static const char *find(const char *s, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; k <= n && i <= n - k; i++)
        if (s[i] == needle[0] && !memcmp(s + i, needle, k))
            return s + i;
    return NULL;
}

static bool has(const char *s, size_t n, const char *needle)
{
    return find(s, n, needle) != NULL;
}

/* The template without blanks and without Jinja's whitespace-control dashes
 * next to tag delimiters, for comparing against known short templates. */
static size_t squeeze(const char *s, size_t n, char *out, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k < cap; i++) {
        char c = s[i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
            continue;
        if (c == '-' && ((i > 0 && (s[i - 1] == '{' || s[i - 1] == '%')) ||
                         (i + 1 < n && (s[i + 1] == '}' || s[i + 1] == '%'))))
            continue;
        out[k++] = c == '"' ? '\'' : c;
    }
    return k;
}

static bool is_content_only(const char *s, size_t n)
{
    static const char *const forms[] = {
        "{%formessageinmessages%}{{message['content']}}{%endfor%}",
        "{%formessageinmessages%}{{message.content}}{%endfor%}",
    };
    char buf[96];
    if (n > 4 * sizeof buf) /* a longer text is not one of the short forms */
        return false;
    size_t k = squeeze(s, n, buf, sizeof buf);
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++)
        if (k == strlen(forms[i]) && !memcmp(buf, forms[i], k))
            return true;
    return false;
}

/* A literal default system prompt: "<|im_start|>system" + a newline (a real one or
 * the two characters \n of a Jinja string) + text without quotes + "<|im_end|>". */
static bool default_system(const char *s, size_t n, const char **text, size_t *len)
{
    static const char mark[] = "<|im_start|>system";
    for (const char *p = s; (p = find(p, n - (size_t)(p - s), mark)) != NULL; p++) {
        const char *q = p + sizeof mark - 1, *end = s + n;
        if (q < end && *q == '\n')
            q++;
        else if (end - q >= 2 && q[0] == '\\' && q[1] == 'n')
            q += 2;
        else
            continue;
        const char *close = find(q, (size_t)(end - q), "<|im_end|>");
        if (!close || close == q || memchr(q, '\'', (size_t)(close - q)) || memchr(q, '"', (size_t)(close - q)))
            continue;
        *text = q;
        *len = (size_t)(close - q);
        return true;
    }
    return false;
}

tdiff_status tdiff__chat_parse(tdiff__env *env, const char *s, size_t n, tdiff__chat *out)
{
    memset(out, 0, sizeof *out);
    if (!s || n == 0) {
        out->format = TDIFF__CHAT_CHATML; /* llama.cpp's fallback for files without a template */
        return TDIFF_OK;
    }
    if (is_content_only(s, n)) {
        out->format = TDIFF__CHAT_CONTENT;
        return TDIFF_OK;
    }
    /* features these renderings do not have: refuse rather than differ from llama.cpp */
    if (has(s, n, "tools") || has(s, n, "date_string") || has(s, n, "strftime_now"))
        return TDIFF_OK;
    if (has(s, n, "<|im_start|>")) {
        out->format = TDIFF__CHAT_CHATML;
        const char *sys;
        size_t len;
        if (default_system(s, n, &sys, &len)) {
            out->system = tdiff__malloc(env, len);
            if (!out->system)
                return tdiff__fail(env, TDIFF_E_OUT_OF_MEMORY, "out of memory reading the chat template");
            memcpy(out->system, sys, len);
            out->system_len = len;
        }
        return TDIFF_OK;
    }
    if (has(s, n, "<|start_header_id|>") && has(s, n, "<|end_header_id|>")) {
        out->format = TDIFF__CHAT_LLAMA3;
        out->bos_first = has(s, n, "bos_token");
        out->trim = has(s, n, "| trim") || has(s, n, "|trim");
        out->always_prompt = !has(s, n, "add_generation_prompt");
        return TDIFF_OK;
    }
    return TDIFF_OK; /* unrecognised: tdiff_tokenizer_apply_chat says TDIFF_E_UNSUPPORTED */
}

void tdiff__chat_release(tdiff__env *env, tdiff__chat *c)
{
    tdiff__free(env, c->system);
    c->system = NULL;
}

/* ---- rendering ------------------------------------------------------------ */

typedef struct out_buf {
    char *buf;
    size_t cap, len;
} out_buf;

static void put(out_buf *o, const char *s, size_t n)
{
    if (o->len < o->cap)
        memcpy(o->buf + o->len, s, o->len + n <= o->cap ? n : o->cap - o->len);
    o->len += n;
}

static void puts_(out_buf *o, const char *s)
{
    put(o, s, strlen(s));
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* The text of a special token (what a template's bos_token/eos_token is). */
static size_t special_text(const struct tdiff_tokenizer *t, int32_t id, const char **text)
{
    if (id < 0 || (size_t)id >= t->n_tokens) {
        *text = "";
        return 0;
    }
    *text = t->text_pool + t->text_off[id];
    return t->text_off[id + 1] - t->text_off[id];
}

static void render(const struct tdiff_tokenizer *t, const tdiff_chat_message *m, size_t n, bool prompt,
                   out_buf *o)
{
    const tdiff__chat *c = &t->chat;
    const char *bos;
    size_t bos_len = special_text(t, t->bos, &bos);
    for (size_t i = 0; i < n; i++) {
        const char *content = m[i].content;
        size_t len = strlen(content);
        switch (c->format) {
        case TDIFF__CHAT_CONTENT:
            put(o, content, len);
            break;
        case TDIFF__CHAT_CHATML:
            if (i == 0 && c->system && strcmp(m[0].role, "system")) {
                puts_(o, "<|im_start|>system\n");
                put(o, c->system, c->system_len);
                puts_(o, "<|im_end|>\n");
            }
            puts_(o, "<|im_start|>");
            puts_(o, m[i].role);
            puts_(o, "\n");
            put(o, content, len);
            puts_(o, "<|im_end|>\n");
            break;
        case TDIFF__CHAT_LLAMA3:
            if (i == 0 && c->bos_first)
                put(o, bos, bos_len);
            puts_(o, "<|start_header_id|>");
            puts_(o, m[i].role);
            puts_(o, "<|end_header_id|>\n\n");
            if (c->trim) {
                while (len && is_blank(content[0]))
                    content++, len--;
                while (len && is_blank(content[len - 1]))
                    len--;
            }
            put(o, content, len);
            puts_(o, "<|eot_id|>");
            break;
        default:
            break;
        }
    }
    if (c->format == TDIFF__CHAT_CHATML && prompt)
        puts_(o, "<|im_start|>assistant\n");
    if (c->format == TDIFF__CHAT_LLAMA3 && (prompt || c->always_prompt))
        puts_(o, "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

TDIFF_API tdiff_status tdiff_tokenizer_apply_chat(const tdiff_tokenizer *tok, const tdiff_chat_message *messages,
                                                  size_t n_messages, uint32_t flags, char *buf, size_t cap,
                                                  size_t *out_len)
{
    if (!tok || !messages || n_messages == 0 || !out_len || (!buf && cap) || (flags & ~TDIFF_CHAT_ADD_ASSISTANT))
        return TDIFF_E_INVALID_ARGUMENT;
    for (size_t i = 0; i < n_messages; i++)
        if (!messages[i].role || !messages[i].content)
            return TDIFF_E_INVALID_ARGUMENT;
    if (tok->chat.format == TDIFF__CHAT_NONE)
        return TDIFF_E_UNSUPPORTED;
    bool prompt = (flags & TDIFF_CHAT_ADD_ASSISTANT) != 0;
    out_buf size = {NULL, 0, 0};
    render(tok, messages, n_messages, prompt, &size); /* measures only */
    char *text = tdiff__malloc(&tok->env, size.len ? size.len : 1);
    if (!text)
        return TDIFF_E_OUT_OF_MEMORY;
    out_buf w = {text, size.len, 0};
    render(tok, messages, n_messages, prompt, &w);
    /* llama.cpp drops a leading BOS text when the tokenizer adds BOS and a trailing
     * EOS text when it adds EOS: tokenizing with ADD_SPECIAL puts each back once */
    const char *bos, *eos;
    size_t bos_len = special_text(tok, tok->bos, &bos), eos_len = special_text(tok, tok->eos, &eos);
    size_t a = 0, b = w.len;
    if (tok->add_bos && bos_len && b - a >= bos_len && !memcmp(text, bos, bos_len))
        a += bos_len;
    if (tok->add_eos && eos_len && b - a >= eos_len && !memcmp(text + b - eos_len, eos, eos_len))
        b -= eos_len;
    *out_len = b - a;
    tdiff_status st = TDIFF_E_BUFFER_TOO_SMALL;
    if (b - a <= cap) {
        if (b > a)
            memcpy(buf, text + a, b - a);
        st = TDIFF_OK;
    }
    tdiff__free(&tok->env, text);
    return st;
}

TDIFF_API const char *tdiff_tokenizer_chat_format(const tdiff_tokenizer *tok)
{
    if (!tok)
        return NULL;
    switch (tok->chat.format) {
    case TDIFF__CHAT_CONTENT:
        return "content";
    case TDIFF__CHAT_CHATML:
        return "chatml";
    case TDIFF__CHAT_LLAMA3:
        return "llama3";
    default:
        return NULL;
    }
}
