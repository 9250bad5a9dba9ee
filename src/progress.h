/* progress.h -- a one-line progress report on stderr (terminals only): units done
 * of planned, tokens per second, time left; and the clock for -v summaries. Used by
 * generate, infill, chat and score; any long command (quantize) can use it too. */
#ifndef TEXTDIFF_PROGRESS_H
#define TEXTDIFF_PROGRESS_H

#include <stddef.h>
#include <stdint.h>

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

/* A generation's report: steps, and tokens decided = masked positions gone since
 * the first step (one a step for an autoregressive model, mask < 0). */
typedef struct step_progress {
    tool_progress p;
    int32_t mask;
    size_t masks0; /* masked positions before the first step */
} step_progress;
/* A tdiff_step_fn: `ud` is a step_progress. */
int progress_on_step(void *ud, size_t step, size_t n_steps, const int32_t *canvas, size_t n, const float *conf);

#endif
