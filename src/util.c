/* util.c -- small helpers shared by the subcommands. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

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
