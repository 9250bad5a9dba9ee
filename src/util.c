/* util.c -- small helpers shared by the subcommands. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include "cmd.h"
#include "libtextdiff.h"

const char *tool_default_model(void)
{
    const char *env = getenv("TEXTDIFF_MODEL");
    if (env && *env)
        return env;
    if (access(TDIFF_DEFAULT_MODEL_SOURCE, R_OK) == 0)
        return TDIFF_DEFAULT_MODEL_SOURCE;
    return TDIFF_DEFAULT_MODEL_INSTALLED;
}

size_t tool_vocab(const tdiff_model *model)
{
    size_t n = 0;
    return tdiff_model_vocab_size(model, &n) == TDIFF_OK ? n : 0;
}

/* Length of the well-formed UTF-8 sequence at s[0..n) that is neither a C1
 * control nor a bidirectional override (which reorders what follows it on the
 * screen), or 0. Overlong forms and surrogates count as malformed. */
static size_t utf8_printable(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    if (len == 0 || len > n)
        return 0;
    for (size_t k = 1; k < len; k++)
        if ((s[k] & 0xC0) != 0x80)
            return 0;
    if ((c == 0xC2 && s[1] < 0xA0) ||             /* U+0080..U+009F: C1 controls */
        (c == 0xE0 && s[1] < 0xA0) ||             /* overlong */
        (c == 0xED && s[1] >= 0xA0) ||            /* surrogates */
        (c == 0xF0 && s[1] < 0x90) || (c == 0xF4 && s[1] >= 0x90) || /* overlong, above U+10FFFF */
        (c == 0xE2 && s[1] == 0x80 && s[2] >= 0xAA && s[2] <= 0xAE) || /* U+202A..U+202E */
        (c == 0xE2 && s[1] == 0x81 && s[2] >= 0xA6 && s[2] <= 0xA9))   /* U+2066..U+2069 */
        return 0;
    return len;
}

const char *tool_escape(char *buf, size_t cap, const char *s, size_t n, int quote)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t o = 0;
    if (cap == 0)
        return buf;
    for (size_t i = 0; i < n;) {
        char esc[5];
        const char *out = esc;
        size_t len;
        if (u[i] >= 0x80 && (len = utf8_printable(u + i, n - i)) > 0) {
            out = s + i;
        } else if (u[i] < 0x20 || u[i] >= 0x7F) {
            snprintf(esc, sizeof esc, "\\x%02x", u[i]);
            len = 4;
        } else if (u[i] == '\\' || (quote && u[i] == '"')) {
            esc[0] = '\\', esc[1] = (char)u[i];
            len = 2;
        } else {
            out = s + i;
            len = 1;
        }
        if (o + len >= cap)
            break;
        memcpy(buf + o, out, len);
        o += len;
        i += out == esc ? 1 : len;
    }
    buf[o] = '\0';
    return buf;
}

int tool_is_help(const char *s)
{
    return s && (!strcmp(s, "--help") || !strcmp(s, "-h"));
}

long tool_parse_ids(const char *s, int32_t *ids, size_t cap)
{
    size_t n = 0;
    if (!s || !*s)
        return 0;
    for (;;) {
        char *end;
        errno = 0;
        long v = strtol(s, &end, 10);
        if (end == s || errno || v < 0 || v > INT32_MAX || n >= cap)
            return -1;
        ids[n++] = (int32_t)v;
        if (*end == '\0')
            return (long)n;
        if (*end != ',')
            return -1;
        s = end + 1;
    }
}

const char *tool_type_name(int type)
{
    switch (type) {
    case 0: return "F32";
    case 1: return "F16";
    case 2: return "Q4_0";
    case 8: return "Q8_0";
    case 12: return "Q4_K";
    case 13: return "Q5_K";
    case 14: return "Q6_K";
    case 30: return "BF16";
    default: return "?";
    }
}
