/*
 * npc_sdl.c -- an SDL2 game loop whose NPC line is infilled by a diffusion
 * model without dropping frames. The innkeeper's line is a template with holes
 * ("Welcome to[MASK:3], traveller. ..."; the model's tokens bring their own
 * leading spaces); every frame gives the sampler a
 * budget of microseconds (tdiff_sampler_step_for), then draws the half-finished
 * line -- still-masked tokens as '_' -- with a tiny built-in bitmap font
 * (font.h) into the window surface. No SDL_ttf, no renderer, no GPU.
 *
 * What it deliberately is not: a game. One window, one NPC, one line.
 *
 *   cc npc_sdl.c $(pkg-config --cflags --libs libtextdiff sdl2) -o npc_sdl
 *   ./npc_sdl model.gguf [--frames N] [--budget-us U] [--seed S] [--screenshot out.bmp]
 *                        [--frame-log frames.csv]
 *
 * It runs until the window is closed, or for N frames (--frames; the test uses
 * it under Xvfb), then prints the line and the frame statistics; with
 * --screenshot it saves the last frame with SDL_SaveBMP, with --frame-log it
 * writes one CSV row per frame (AI time, steps, draw time, work time). Exit status 0 when the
 * line was finished, 1 on a library or SDL error or an unfinished line, 2 for
 * bad usage.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <SDL.h>
#include <libtextdiff.h>

#include "font.h"

#define FRAME_US 16667.0 /* 60 Hz */
#define WIN_W 640
#define WIN_H 200
#define SCALE 2                          /* font pixels per screen pixel side */
#define CELL_W ((FONT_W + 1) * SCALE)    /* a character cell, one column of spacing */
#define CELL_H ((FONT_H + 2) * SCALE)    /* a line, two rows of spacing */
#define TEXT_X 120                       /* the dialogue box's text, right of the portrait */
#define TEXT_Y 48
#define COLS ((WIN_W - TEXT_X - 16) / CELL_W)
#define MAX_CANVAS 256                   /* the bundled model's context */

/* The line: text pieces and holes (tokens), tokenized as `textdiff infill`
 * does, so `textdiff infill "<same text>" --seed S --steps N` gives its tokens. */
typedef struct piece {
    const char *text; /* NULL: a hole */
    int n_mask;
} piece;
static const piece line_template[] = {
    {"Welcome to", 0}, {NULL, 3}, {", traveller. The", 0}, {NULL, 4}, {" is", 0}, {NULL, 2}, {" tonight.", 0},
};
#define N_PIECES (sizeof line_template / sizeof line_template[0])

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return 1e6 * (double)ts.tv_sec + 1e-3 * (double)ts.tv_nsec;
}

/* ---- drawing: filled rectangles into the window surface -------------------- */

static void rect(SDL_Surface *s, int x, int y, int w, int h, Uint32 color)
{
    SDL_Rect r = {x, y, w, h};
    SDL_FillRect(s, &r, color);
}

/* One character at (x, y); bytes outside printable ASCII are drawn as '?'. */
static void draw_char(SDL_Surface *s, int x, int y, unsigned char c, Uint32 ink)
{
    if (c < 32 || c > 126)
        c = '?';
    const char *const *rows = font_rows[c - 32];
    for (int r = 0; r < FONT_H; r++)
        for (int k = 0; k < FONT_W; k++)
            if (rows[r][k] == '#')
                rect(s, x + k * SCALE, y + r * SCALE, SCALE, SCALE, ink);
}

/* text[0..len) from (x, y), wrapped at spaces to `cols` characters a line. */
static void draw_text(SDL_Surface *s, int x, int y, const char *text, size_t len, int cols, Uint32 ink)
{
    size_t at = 0;
    int row = 0;
    while (at < len) {
        size_t end = at + (size_t)cols < len ? at + (size_t)cols : len;
        if (end < len) { /* break at the last space that fits, if any */
            size_t sp = end;
            while (sp > at && text[sp] != ' ')
                sp--;
            if (sp > at)
                end = sp;
        }
        for (size_t i = at; i < end; i++)
            draw_char(s, x + (int)(i - at) * CELL_W, y + row * CELL_H, (unsigned char)text[i], ink);
        at = end;
        while (at < len && text[at] == ' ')
            at++;
        row++;
    }
}

static void draw_scene(SDL_Surface *s, const char *line, size_t len, size_t steps, size_t planned, int done)
{
    const SDL_PixelFormat *f = s->format;
    rect(s, 0, 0, WIN_W, WIN_H, SDL_MapRGB(f, 24, 20, 32));             /* the tavern */
    rect(s, 8, 8, WIN_W - 16, WIN_H - 16, SDL_MapRGB(f, 60, 44, 36));   /* dialogue box */
    rect(s, 12, 12, WIN_W - 24, WIN_H - 24, SDL_MapRGB(f, 236, 224, 196));
    /* the innkeeper's portrait: a face, two eyes, a smile */
    rect(s, 24, 40, 80, 96, SDL_MapRGB(f, 120, 84, 60));
    rect(s, 32, 48, 64, 72, SDL_MapRGB(f, 232, 188, 150));
    rect(s, 46, 68, 8, 8, SDL_MapRGB(f, 40, 30, 30));
    rect(s, 74, 68, 8, 8, SDL_MapRGB(f, 40, 30, 30));
    rect(s, 50, 100, 28, 4, SDL_MapRGB(f, 150, 60, 60));
    static const char name[] = "Innkeeper";
    draw_text(s, TEXT_X, 20, name, sizeof name - 1, COLS, SDL_MapRGB(f, 120, 40, 30));
    draw_text(s, TEXT_X, TEXT_Y, line, len, COLS, SDL_MapRGB(f, 30, 24, 20));
    /* progress: one bar per planned step, filled as steps run */
    for (size_t k = 0; k < planned && k < 40; k++)
        rect(s, TEXT_X + (int)k * 12, WIN_H - 32, 10, 8,
             k < steps ? SDL_MapRGB(f, done ? 60 : 200, done ? 140 : 120, 60) : SDL_MapRGB(f, 200, 190, 170));
}

/* ---- the line: canvas, and its text as the canvas stands ------------------- */

typedef struct npc_line {
    int32_t canvas[MAX_CANVAS];
    size_t n;
    size_t hole_at[N_PIECES]; /* canvas index of each piece (holes only used) */
} npc_line;

static int build_canvas(const tdiff_tokenizer *tok, int32_t mask, npc_line *l)
{
    l->n = 0;
    for (size_t i = 0; i < N_PIECES; i++) {
        const piece *p = &line_template[i];
        uint32_t flags = i == 0 ? TDIFF_TOKENIZE_ADD_SPECIAL : 0;
        size_t got = 0;
        l->hole_at[i] = l->n;
        if (p->text || i == 0) { /* the first piece brings BOS even when it is a hole */
            const char *t = p->text ? p->text : "";
            if (tdiff_tokenizer_tokenize(tok, t, strlen(t), flags, l->canvas + l->n, MAX_CANVAS - l->n, &got))
                return -1;
            l->n += got;
            l->hole_at[i] = l->n;
        }
        if (!p->text) {
            if ((size_t)p->n_mask > MAX_CANVAS - l->n)
                return -1;
            for (int k = 0; k < p->n_mask; k++)
                l->canvas[l->n++] = mask;
        }
    }
    return 0;
}

/* The line's text: the template's text pieces as written, each hole as its
 * committed tokens detokenized and '_' for each token still masked. */
static size_t line_text(const tdiff_tokenizer *tok, const npc_line *l, const int32_t *tokens, const uint8_t *masked,
                        char *out, size_t cap)
{
    size_t len = 0, got = 0;
    for (size_t i = 0; i < N_PIECES; i++) {
        const piece *p = &line_template[i];
        if (p->text) {
            size_t t = strlen(p->text);
            if (t > cap - len)
                t = cap - len;
            memcpy(out + len, p->text, t);
            len += t;
            continue;
        }
        size_t from = l->hole_at[i], end = from + (size_t)p->n_mask;
        for (size_t k = from; k < end;) {
            if (masked && masked[k]) {
                if (len < cap)
                    out[len++] = '_';
                k++;
                continue;
            }
            size_t run = k;
            while (run < end && !(masked && masked[run]))
                run++;
            if (tdiff_tokenizer_detokenize(tok, tokens + k, run - k, 0, out + len, cap - len, &got) == TDIFF_OK)
                len += got;
            k = run;
        }
    }
    return len;
}

/* ---- the loop ------------------------------------------------------------- */

typedef struct stats {
    int frames, done_frame;
    double max_ai_us, max_step_us, max_work_us, sum_work_us;
} stats;

int main(int argc, char **argv)
{
    const char *model_path = NULL, *shot = NULL, *log_path = NULL;
    long frames_max = -1, budget_us = 4000, seed = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--frames") && i + 1 < argc)
            frames_max = atol(argv[++i]);
        else if (!strcmp(argv[i], "--budget-us") && i + 1 < argc)
            budget_us = atol(argv[++i]);
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
            seed = atol(argv[++i]);
        else if (!strcmp(argv[i], "--screenshot") && i + 1 < argc)
            shot = argv[++i];
        else if (!strcmp(argv[i], "--frame-log") && i + 1 < argc)
            log_path = argv[++i];
        else if (!model_path && argv[i][0] != '-')
            model_path = argv[i];
        else {
            fprintf(stderr, "usage: %s MODEL.gguf [--frames N] [--budget-us U] [--seed S] [--screenshot F.bmp] [--frame-log F.csv]\n",
                    argv[0]);
            return 2;
        }
    }
    if (!model_path || budget_us < 0) {
        fprintf(stderr, "usage: %s MODEL.gguf [--frames N] [--budget-us U] [--seed S] [--screenshot F.bmp] [--frame-log F.csv]\n",
                argv[0]);
        return 2;
    }

    char err[256];
    int rc = 1;
    tdiff_model *model = NULL;
    tdiff_tokenizer *tok = NULL;
    tdiff_sampler *npc = NULL;
    SDL_Window *win = NULL;
    FILE *log = NULL;
    static npc_line line;
    int32_t mask = 0;
    if (tdiff_model_load_file(model_path, NULL, &model, err, sizeof err) != TDIFF_OK) {
        fprintf(stderr, "load: %s\n", err);
        return 1;
    }
    if (tdiff_tokenizer_create(model, NULL, &tok, err, sizeof err) != TDIFF_OK ||
        tdiff_sampler_create(model, NULL, &npc, err, sizeof err) != TDIFF_OK) {
        fprintf(stderr, "setup: %s\n", err);
        goto out;
    }
    if (tdiff_model_special_id(model, TDIFF_SPECIAL_MASK, &mask) != TDIFF_OK || build_canvas(tok, mask, &line)) {
        fprintf(stderr, "the model cannot infill this line (no mask token, or too long)\n");
        goto out;
    }
    size_t n_masks = 0;
    for (size_t i = 0; i < line.n; i++)
        n_masks += line.canvas[i] == mask;
    tdiff_sampler_set_int(npc, TDIFF_SAMPLER_STEPS, (int64_t)n_masks); /* one token a step */
    tdiff_sampler_set_int(npc, TDIFF_SAMPLER_SEED, seed);
    if (tdiff_sampler_begin_infill(npc, line.canvas, line.n) != TDIFF_OK) {
        fprintf(stderr, "begin: %s\n", tdiff_sampler_last_error(npc));
        goto out;
    }

    if (SDL_Init(SDL_INIT_VIDEO) != 0) {
        fprintf(stderr, "SDL_Init: %s\n", SDL_GetError());
        goto out;
    }
    win = SDL_CreateWindow("libtextdiff: NPC dialogue", SDL_WINDOWPOS_UNDEFINED, SDL_WINDOWPOS_UNDEFINED, WIN_W, WIN_H,
                           0);
    if (!win || !SDL_GetWindowSurface(win)) {
        fprintf(stderr, "SDL window: %s\n", SDL_GetError());
        goto out_sdl;
    }

    if (log_path) {
        if (!(log = fopen(log_path, "w"))) {
            fprintf(stderr, "cannot write %s\n", log_path);
            goto out_sdl;
        }
        fprintf(log, "frame,ai_us,steps,draw_us,work_us\n");
    }
    int32_t tokens[MAX_CANVAS];
    uint8_t masked[MAX_CANVAS];
    char text[2048];
    size_t text_len = 0, n = 0;
    int done = 0, quit = 0;
    stats st = {0, -1, 0, 0, 0, 0};
    while (!quit && (frames_max < 0 || st.frames < frames_max)) {
        double t0 = now_us();
        SDL_Event ev;
        while (SDL_PollEvent(&ev))
            if (ev.type == SDL_QUIT || (ev.type == SDL_KEYDOWN && ev.key.keysym.sym == SDLK_ESCAPE))
                quit = 1;

        /* -- AI slice: steps for the budget (at least one), then read the line -- */
        size_t taken = 0;
        double ai = 0;
        if (!done) {
            tdiff_status s = tdiff_sampler_step_for(npc, (uint64_t)budget_us, &taken, &done);
            ai = now_us() - t0;
            if (s != TDIFF_OK) {
                fprintf(stderr, "npc: %s: %s\n", tdiff_status_string(s), tdiff_sampler_last_error(npc));
                goto out_sdl;
            }
            if (ai > st.max_ai_us)
                st.max_ai_us = ai;
            if (taken == 1 && ai > st.max_step_us) /* one step's cost: the most a slice may overrun */
                st.max_step_us = ai;
            if (done) {
                if (tdiff_sampler_result(npc, tokens, MAX_CANVAS, &n) != TDIFF_OK)
                    goto out_sdl;
                memset(masked, 0, sizeof masked);
                st.done_frame = st.frames;
            } else if (tdiff_sampler_canvas(npc, tokens, NULL, masked, MAX_CANVAS, &n) != TDIFF_OK) {
                goto out_sdl;
            }
            text_len = line_text(tok, &line, tokens, masked, text, sizeof text);
        }
        size_t steps = 0, planned = 0;
        tdiff_sampler_progress(npc, NULL, &steps, &planned);
        if (done)
            steps = planned = n_masks;

        /* -- render -- */
        double t_draw = now_us();
        SDL_Surface *surf = SDL_GetWindowSurface(win);
        draw_scene(surf, text, text_len, steps, planned, done);
        SDL_UpdateWindowSurface(win);

        double t_end = now_us(), work = t_end - t0;
        if (log)
            fprintf(log, "%d,%.0f,%zu,%.0f,%.0f\n", st.frames, ai, taken, t_end - t_draw, work);
        st.max_work_us = work > st.max_work_us ? work : st.max_work_us;
        st.sum_work_us += work;
        st.frames++;
        if (frames_max < 0 && done && st.frames > st.done_frame + 120)
            quit = 1; /* interactive: show the line for two seconds */
        double left = FRAME_US - (now_us() - t0);
        if (left > 1000)
            SDL_Delay((Uint32)(left / 1000));
    }
    if (shot && SDL_SaveBMP(SDL_GetWindowSurface(win), shot) != 0) {
        fprintf(stderr, "screenshot: %s\n", SDL_GetError());
        goto out_sdl;
    }
    printf("line: %.*s\n", (int)text_len, text);
    printf("tokens:");
    for (size_t i = 0; done && i < n; i++)
        printf(" %d", tokens[i]);
    printf("\nframes %d, line done at frame %d (%zu steps), AI budget %ld us; per frame: AI max %.0f us, one step max "
           "%.0f us, work (AI + draw) max %.0f us, mean %.0f us\n",
           st.frames, st.done_frame, n_masks, budget_us, st.max_ai_us, st.max_step_us, st.max_work_us,
           st.frames ? st.sum_work_us / st.frames : 0.0);
    rc = done ? 0 : 1;
out_sdl:
    if (log)
        fclose(log);
    if (win)
        SDL_DestroyWindow(win);
    SDL_Quit();
out:
    tdiff_sampler_free(npc);
    tdiff_tokenizer_free(tok);
    tdiff_model_free(model);
    return rc;
}
