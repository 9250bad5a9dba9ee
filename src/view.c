/*
 * view.c -- watching a generation step by step, fed by the sampler's step
 * callback: `--show` redraws the canvas in place on a terminal (ANSI cursor-up
 * + clear-to-end, never a full-screen clear, so nothing flickers), masked
 * positions as dim `░`, the positions committed by the step in bold; `--trace`
 * writes one JSON object with every step's canvas, pieces, confidences and
 * changes (committed: mask -> token, revised: token -> other token, remasked);
 * format in docs/sampling.md, drawn by tools/plot_trace.py.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _WIN32
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#else
#include <sys/ioctl.h>
#include <unistd.h>
#endif

#include "view.h"

/* The bytes of one token (empty when it has none or there is no tokenizer). */
static size_t piece(const tool_view *v, int32_t id, char *buf, size_t cap)
{
    size_t len = 0;
    if (v->tok && !tdiff_tokenizer_token_piece(v->tok, id, buf, cap, &len))
        return len;
    int k = snprintf(buf, cap, "<%d>", (int)id); /* no tokenizer, or a piece longer than buf */
    return k > 0 && (size_t)k < cap ? (size_t)k : 0;
}

/* ---- JSON ------------------------------------------------------------------- */

static void json_str(FILE *f, const char *s, size_t n)
{
    fputc('"', f);
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            fprintf(f, "\\%c", c);
            i++;
        } else if (c < 0x20) {
            fprintf(f, "\\u%04x", c);
            i++;
        } else if (c < 0x80) {
            fputc(c, f);
            i++;
        } else { /* keep well-formed UTF-8, replace a broken byte (a token may cut a character) */
            size_t len = c >= 0xF0 && c < 0xF5 ? 4 : c >= 0xE0 && c < 0xF0 ? 3 : c >= 0xC2 && c < 0xE0 ? 2 : 0;
            int ok = len > 0 && i + len <= n;
            for (size_t k = 1; ok && k < len; k++)
                ok = ((unsigned char)s[i + k] & 0xC0) == 0x80;
            if (ok) {
                fwrite(s + i, 1, len, f);
                i += len;
            } else {
                fputs("\\ufffd", f);
                i++;
            }
        }
    }
    fputc('"', f);
}

static void json_ids(FILE *f, const int32_t *ids, size_t n)
{
    fputc('[', f);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s%d", i ? "," : "", (int)ids[i]);
    fputc(']', f);
}

static void trace_step(tool_view *v, size_t step, size_t n_steps, const int32_t *canvas, size_t n,
                       const float *conf)
{
    FILE *f = v->trace;
    char buf[256];
    fprintf(f, "%s\n  {\"step\": %zu, \"n_steps\": %zu, \"ids\": ", v->steps ? "," : "", step, n_steps);
    json_ids(f, canvas, n);
    fputs(", \"pieces\": [", f);
    for (size_t i = 0; i < n; i++) {
        fputs(i ? "," : "", f);
        if (canvas[i] == v->mask_id)
            fputs("null", f);
        else
            json_str(f, buf, piece(v, canvas[i], buf, sizeof buf));
    }
    fputs("], \"confidence\": [", f);
    for (size_t i = 0; i < n; i++) /* NaN (not predicted) and -inf (EOS rule) are null */
        isfinite(conf[i]) ? fprintf(f, "%s%.6g", i ? "," : "", (double)conf[i]) : fprintf(f, "%snull", i ? "," : "");
    fputs("], \"committed\": [", f);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (v->prev[i] == v->mask_id && canvas[i] != v->mask_id)
            fprintf(f, "%s%zu", k++ ? "," : "", i);
    fputs("], \"revised\": [", f); /* one token replaced by another (Mask-Predict, D3PM) */
    k = 0;
    for (size_t i = 0; i < n; i++)
        if (v->prev[i] != v->mask_id && canvas[i] != v->mask_id && v->prev[i] != canvas[i])
            fprintf(f, "%s%zu", k++ ? "," : "", i);
    fputs("], \"remasked\": [", f);
    k = 0;
    for (size_t i = 0; i < n; i++)
        if (v->prev[i] != v->mask_id && canvas[i] == v->mask_id)
            fprintf(f, "%s%zu", k++ ? "," : "", i);
    fputs("]}", f);
}

/* ---- terminal animation --------------------------------------------------------- */

typedef struct frame {
    char *buf;
    size_t len, cap;
    size_t col, lines, width;
    int bad;
} frame;

static void put(frame *fr, const char *s, size_t n, int visible)
{
    if (fr->len + n + 1 > fr->cap) {
        size_t cap = 2 * (fr->len + n + 1) + 256;
        char *b = realloc(fr->buf, cap);
        if (!b) {
            fr->bad = 1;
            return;
        }
        fr->buf = b;
        fr->cap = cap;
    }
    memcpy(fr->buf + fr->len, s, n);
    fr->len += n;
    if (!visible)
        return;
    for (size_t i = 0; i < n; i++) { /* count terminal lines: newlines and wraps */
        unsigned char c = (unsigned char)s[i];
        if (c == '\n') {
            fr->lines++;
            fr->col = 0;
        } else if ((c & 0xC0) != 0x80) {
            if (fr->col == fr->width) {
                fr->lines++;
                fr->col = 0;
            }
            fr->col++;
        }
    }
}

static void putz(frame *fr, const char *s, int visible)
{
    put(fr, s, strlen(s), visible);
}

/* The terminal's width in columns (80 when it cannot be asked). */
static size_t terminal_width(FILE *f)
{
#ifdef _WIN32
    CONSOLE_SCREEN_BUFFER_INFO info;
    HANDLE h = GetStdHandle(f == stderr ? STD_ERROR_HANDLE : STD_OUTPUT_HANDLE);
    if (GetConsoleScreenBufferInfo(h, &info) && info.srWindow.Right > info.srWindow.Left)
        return (size_t)(info.srWindow.Right - info.srWindow.Left + 1);
    return 80;
#else
    struct winsize ws;
    return ioctl(fileno(f), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 ? ws.ws_col : 80;
#endif
}

static void pause_ms(long ms)
{
#ifdef _WIN32
    Sleep((DWORD)ms);
#else
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
#endif
}

static void show_step(tool_view *v, size_t step, size_t n_steps, const int32_t *canvas, size_t n)
{
    frame fr = {0};
    fr.width = terminal_width(v->show);
    fr.lines = 1;
    /* back to the top of the previous frame, clear below it */
    putz(&fr, "\r", 0);
    if (v->lines_drawn > 1) {
        char up[32];
        snprintf(up, sizeof up, "\x1b[%zuA", v->lines_drawn - 1);
        putz(&fr, up, 0);
    }
    putz(&fr, "\x1b[J", 0);
    char head[64];
    size_t masked = 0;
    for (size_t i = 0; i < n; i++)
        masked += canvas[i] == v->mask_id;
    snprintf(head, sizeof head, "step %zu/%zu  masked %zu\n", step + 1, n_steps, masked);
    putz(&fr, "\x1b[2m", 0);
    putz(&fr, head, 1);
    putz(&fr, "\x1b[0m", 0);
    char buf[256];
    for (size_t i = 0; i < n; i++) {
        if (canvas[i] == v->mask_id) {
            putz(&fr, "\x1b[2m", 0);
            putz(&fr, "\xe2\x96\x91", 1); /* ░ */
            putz(&fr, "\x1b[0m", 0);
            continue;
        }
        size_t len = piece(v, canvas[i], buf, sizeof buf);
        for (size_t k = 0; k < len; k++) /* tabs and other controls would break the line count */
            if ((unsigned char)buf[k] < 0x20 && buf[k] != '\n')
                buf[k] = ' ';
        int fresh = v->prev[i] == v->mask_id;
        if (fresh)
            putz(&fr, "\x1b[1;36m", 0);
        put(&fr, buf, len, 1);
        if (fresh)
            putz(&fr, "\x1b[0m", 0);
    }
    if (!fr.bad) {
        fwrite(fr.buf, 1, fr.len, v->show);
        fflush(v->show);
        v->lines_drawn = fr.lines;
    }
    free(fr.buf);
    if (v->delay_ms > 0)
        pause_ms(v->delay_ms);
}

/* ---- the callback ------------------------------------------------------------- */

int view_begin(tool_view *v, const int32_t *initial, size_t n)
{
    v->prev = malloc((n ? n : 1) * sizeof *v->prev);
    if (!v->prev)
        return -1;
    memcpy(v->prev, initial, n * sizeof *initial);
    v->n = n;
    v->steps = 0;
    v->lines_drawn = 0;
    if (v->show)
        fputs("\x1b[?25l", v->show); /* hide the cursor while animating */
    if (v->trace) {
        fprintf(v->trace, "{\"canvas_length\": %zu, \"mask_id\": %d, \"region_start\": %zu, \"initial\": ", n,
                (int)v->mask_id, v->region_start);
        json_ids(v->trace, initial, n);
        fputs(", \"steps\": [", v->trace);
    }
    return 0;
}

int view_step(void *ud, size_t step, size_t n_steps, const int32_t *canvas, size_t n, const float *conf)
{
    tool_view *v = ud;
    if (n != v->n)
        return 1;
    if (v->trace)
        trace_step(v, step, n_steps, canvas, n, conf);
    if (v->show)
        show_step(v, step, n_steps, canvas, n);
    memcpy(v->prev, canvas, n * sizeof *canvas);
    v->steps++;
    return 0;
}

void view_end(tool_view *v, const int32_t *result, size_t n_result, tdiff_status status)
{
    if (v->show) {
        if (v->lines_drawn > 1)
            fprintf(v->show, "\r\x1b[%zuA", v->lines_drawn - 1);
        fputs("\r\x1b[J\x1b[?25h", v->show); /* erase the frame, cursor back */
        fflush(v->show);
        v->lines_drawn = 0;
    }
    if (v->trace) {
        fprintf(v->trace, "\n], \"n_steps\": %zu, \"status\": ", v->steps);
        json_str(v->trace, tdiff_status_string(status), strlen(tdiff_status_string(status)));
        fputs(", \"result\": ", v->trace);
        json_ids(v->trace, result, status == TDIFF_OK ? n_result : 0);
        fputs("}\n", v->trace);
    }
}

void view_free(tool_view *v)
{
    free(v->prev);
    v->prev = NULL;
}
