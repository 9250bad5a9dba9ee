/* progress.h -- a one-line progress report on stderr (terminals only): units done
 * of planned, tokens per second, time left; and the clock for -v summaries. Used by
 * generate, infill, chat and score; any long command (quantize) can use it too. */
#ifndef TEXTDIFF_PROGRESS_H
#define TEXTDIFF_PROGRESS_H

#include <stddef.h>

typedef struct tool_progress {
    int on;            /* stderr is a terminal and nothing else draws there */
    const char *unit;  /* "step", "window", "tensor" */
    double t0, last;   /* seconds (tool_seconds) at the start / last redraw */
} tool_progress;

/* Monotonic seconds. */
double tool_seconds(void);
/* Starts a report; `want` = 0 turns it off (it is also off when stderr is not a terminal). */
void progress_begin(tool_progress *p, const char *unit, int want);
/* done of planned units, `tokens` decided so far (for tokens/s; negative: not shown). */
void progress_update(tool_progress *p, size_t done, size_t planned, double tokens);
/* Erases the line. */
void progress_end(tool_progress *p);

#endif
