/* view.h -- watching a generation: the terminal animation of `--show` and the
 * per-step JSON record of `--trace` (both fed by the sampler's step callback). */
#ifndef TEXTDIFF_VIEW_H
#define TEXTDIFF_VIEW_H

#include <stdio.h>

#include "libtextdiff.h"

typedef struct tool_view {
    const tdiff_tokenizer *tok;  /* NULL: ids are shown instead of text */
    int32_t mask_id;
    size_t region_start;         /* first generated (or first hole) position */
    /* --show: redraw on `show` (a terminal), delay_ms after each frame */
    FILE *show;
    long delay_ms;
    size_t lines_drawn;          /* terminal lines of the frame on screen */
    /* --trace: JSON written to `trace` */
    FILE *trace;
    int32_t *prev;               /* [n] canvas before the step */
    size_t n, steps;
    int failed;                  /* out of memory / write error */
} tool_view;

/* Prepares the view for a canvas of n tokens (initial holds it before any step). */
int view_begin(tool_view *v, const int32_t *initial, size_t n);
/* The step callback (user_data = the view). */
int view_step(void *ud, size_t step, size_t n_steps, const int32_t *canvas, size_t n, const float *conf);
/* Closes the trace (writes the result tokens) and erases the animation frame. */
void view_end(tool_view *v, const int32_t *result, size_t n_result, tdiff_status status);
/* Frees what view_begin allocated. */
void view_free(tool_view *v);

#endif
