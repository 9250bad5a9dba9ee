/* util.c -- small helpers shared by the subcommands. */
#include <errno.h>
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
