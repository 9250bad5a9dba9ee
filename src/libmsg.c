/* libmsg.c -- library messages as the tool shows them: the library speaks to C
 * programmers ("use tdiff_sampler_infill"); a tool user gets the command instead,
 * and other C advice is left out. */
#include <string.h>

#include "cmd.h"

/* C advice -> what a tool user does instead ("" drops it) */
static const struct {
    const char *api, *tool;
} ADVICE[] = {
    {"tdiff_sampler_infill", "textdiff infill"},
    {"tdiff_denoiser_forward_t", "--t"},
    {"tdiff_sampler_interrupt", "an interrupt"},
};

const char *tool_lib_message(char *buf, size_t cap, const char *msg)
{
    size_t k = 0;
    if (!cap)
        return "";
    for (const char *p = msg ? msg : ""; *p && k + 1 < cap;) {
        if (!strncmp(p, "tdiff_", 6)) {
            size_t n = 6;
            while (p[n] == '_' || (p[n] >= 'a' && p[n] <= 'z') || (p[n] >= '0' && p[n] <= '9'))
                n++;
            const char *say = "the library";
            for (size_t i = 0; i < sizeof ADVICE / sizeof ADVICE[0]; i++)
                if (strlen(ADVICE[i].api) == n && !strncmp(p, ADVICE[i].api, n))
                    say = ADVICE[i].tool;
            for (const char *s = say; *s && k + 1 < cap; s++)
                buf[k++] = *s;
            p += n;
            continue;
        }
        buf[k++] = *p++;
    }
    buf[k] = '\0';
    return buf;
}
