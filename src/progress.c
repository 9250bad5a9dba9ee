/* progress.c -- the progress line: "step 12/64  31.2 tokens/s  3.1 s left",
 * redrawn in place at most ten times a second; erased at the end so that the
 * command's output starts on a clean line. */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "progress.h"

#define REDRAW_SECONDS 0.1 /* ten updates a second are enough to read, cheap to print */

double tool_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void progress_begin(tool_progress *p, const char *unit, int want)
{
    p->on = want && isatty(2);
    p->unit = unit;
    p->t0 = tool_seconds();
    p->last = 0;
}

void progress_update(tool_progress *p, size_t done, size_t planned, double tokens)
{
    if (!p->on)
        return;
    double now = tool_seconds(), dt = now - p->t0;
    if (done < planned && now - p->last < REDRAW_SECONDS)
        return;
    p->last = now;
    fprintf(stderr, "\r\033[K%s %zu/%zu", p->unit, done, planned);
    if (tokens >= 0 && dt > 0)
        fprintf(stderr, "  %.1f tokens/s", tokens / dt);
    if (done > 0 && done < planned)
        fprintf(stderr, "  %.1f s left", dt / (double)done * (double)(planned - done));
    fflush(stderr);
}

void progress_end(tool_progress *p)
{
    if (p->on) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
    }
}

int progress_on_step(void *ud, size_t step, size_t n_steps, const int32_t *canvas, size_t n, const float *conf)
{
    (void)conf;
    step_progress *sp = ud;
    size_t masks = 0;
    for (size_t i = 0; i < n; i++)
        masks += canvas[i] == sp->mask;
    if (sp->mask < 0) /* autoregressive: one token a step */
        masks = sp->masks0 > step + 1 ? sp->masks0 - (step + 1) : 0;
    progress_update(&sp->p, step + 1, n_steps, masks < sp->masks0 ? (double)(sp->masks0 - masks) : 0.0);
    return 0;
}
