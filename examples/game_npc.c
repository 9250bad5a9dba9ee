/*
 * game_npc.c -- a game loop that writes NPC dialogue without dropping frames.
 * The loop runs at a fixed timestep (60 updates a second); each frame gives
 * the sampler a small budget in microseconds through the incremental API
 * (tdiff_sampler_begin / step_for / result), so a line appears over a few
 * frames instead of freezing one. Between frames the game may read the
 * half-finished line (tdiff_sampler_canvas) e.g. to show a "typing" bubble.
 *
 *   cc game_npc.c $(pkg-config --cflags --libs libtextdiff) -o game_npc
 *   ./game_npc model.gguf
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <libtextdiff.h>

#define FRAME_US 16667u /* 60 Hz */
#define AI_BUDGET_US 4000u /* what the game can spare for the NPCs per frame */
#define LINE_TOKENS 16

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return 1e6 * (double)ts.tv_sec + 1e-3 * (double)ts.tv_nsec;
}

static void sleep_us(double us)
{
    if (us <= 0)
        return;
    long long u = (long long)us;
    struct timespec ts = {(time_t)(u / 1000000), (long)(u % 1000000) * 1000L};
    nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s MODEL.gguf\n", argv[0]);
        return 2;
    }
    static const char *const cues[] = {"The innkeeper said:", "The guard said:", "The old woman said:"};
    const int n_lines = 3;
    char err[256];
    tdiff_model *model = NULL;
    tdiff_tokenizer *tok = NULL;
    tdiff_sampler *npc = NULL;
    int rc = 1;
    if (tdiff_model_load_file(argv[1], NULL, &model, err, sizeof err) != TDIFF_OK) {
        fprintf(stderr, "load: %s\n", err);
        return 1;
    }
    if (tdiff_tokenizer_create(model, NULL, &tok, err, sizeof err) != TDIFF_OK ||
        tdiff_sampler_create(model, NULL, &npc, err, sizeof err) != TDIFF_OK) {
        fprintf(stderr, "setup: %s\n", err);
        goto out;
    }
    tdiff_sampler_set_int(npc, TDIFF_SAMPLER_GEN_LENGTH, LINE_TOKENS);
    tdiff_sampler_set_int(npc, TDIFF_SAMPLER_STEPS, LINE_TOKENS);
    tdiff_sampler_set_float(npc, TDIFF_SAMPLER_TEMPERATURE, 0.8); /* a little variety */

    int line = 0, talking = 0, frame = 0, start_frame = 0;
    while (line < n_lines && frame < 100000) {
        double frame_start = now_us();

        /* -- game update: start the next NPC line when the last one is done -- */
        if (!talking) {
            int32_t ids[64];
            size_t n_ids = 0;
            const char *cue = cues[line];
            tdiff_sampler_set_int(npc, TDIFF_SAMPLER_SEED, line); /* reproducible lines */
            if (tdiff_tokenizer_tokenize(tok, cue, strlen(cue), TDIFF_TOKENIZE_ADD_SPECIAL, ids, 64, &n_ids) ||
                tdiff_sampler_begin(npc, ids, n_ids) != TDIFF_OK)
                goto out;
            talking = 1;
            start_frame = frame;
        }

        /* -- AI slice: at least one step, then stop when the budget is spent -- */
        size_t steps = 0;
        int done = 0;
        tdiff_status st = tdiff_sampler_step_for(npc, AI_BUDGET_US, &steps, &done);
        if (st != TDIFF_OK) {
            fprintf(stderr, "npc: %s: %s\n", tdiff_status_string(st), tdiff_sampler_last_error(npc));
            goto out;
        }
        if (done) {
            int32_t out[LINE_TOKENS];
            size_t n_out = 0;
            char text[1024];
            size_t len = 0;
            if (tdiff_sampler_result(npc, out, LINE_TOKENS, &n_out) != TDIFF_OK ||
                tdiff_tokenizer_detokenize(tok, out, n_out, 0, text, sizeof text, &len) != TDIFF_OK)
                goto out;
            printf("frame %4d: %s%.*s  (%d frames)\n", frame, cues[line], (int)len, text,
                   frame - start_frame + 1);
            talking = 0;
            line++;
        }

        /* -- render would go here; then wait out the rest of the frame -- */
        frame++;
        sleep_us(FRAME_US - (now_us() - frame_start));
    }
    printf("%d lines in %d frames, never more than ~%u us of AI per frame (plus at most one step)\n", line, frame,
           AI_BUDGET_US);
    rc = line == n_lines ? 0 : 1;
out:
    tdiff_sampler_free(npc); /* also cancels a line still being generated */
    tdiff_tokenizer_free(tok);
    tdiff_model_free(model);
    return rc;
}
