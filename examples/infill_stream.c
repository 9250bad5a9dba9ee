/*
 * infill_stream.c -- infilling with a streaming step callback: the text around
 * a hole is fixed, the hole is filled, and after every step the callback
 * prints the canvas so you can watch the refinement (masks shown as "_").
 *
 *   cc infill_stream.c $(pkg-config --cflags --libs libtextdiff) -o infill_stream
 *   ./infill_stream model.gguf
 */
#include <stdio.h>
#include <string.h>

#include <libtextdiff.h>

#define HOLE 12 /* tokens to fill */

struct viewer {
    const tdiff_tokenizer *tok;
    int32_t mask;
};

/* Called by the sampler after every step. The arrays are only valid during the
 * call; return non-zero to stop the generation (it then returns TDIFF_E_ABORTED). */
static int on_step(void *user_data, size_t step, size_t n_steps, const int32_t *canvas, size_t n,
                   const float *confidence)
{
    const struct viewer *v = user_data;
    (void)confidence; /* per position; NaN where nothing was predicted this step */
    printf("step %2zu/%zu: ", step + 1, n_steps);
    for (size_t i = 0; i < n; i++) {
        char piece[64];
        size_t len = 0;
        if (canvas[i] == v->mask)
            fputs("_", stdout);
        else if (tdiff_tokenizer_detokenize(v->tok, &canvas[i], 1, 0, piece, sizeof piece, &len) == TDIFF_OK)
            fwrite(piece, 1, len, stdout);
    }
    putchar('\n');
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s MODEL.gguf\n", argv[0]);
        return 2;
    }
    const char *before = "It is a truth universally acknowledged, that", *after = " must be in want of a wife.";
    char err[256];
    tdiff_model *model = NULL;
    tdiff_tokenizer *tok = NULL;
    tdiff_sampler *sampler = NULL;
    int rc = 1;
    if (tdiff_model_load_file(argv[1], NULL, &model, err, sizeof err) != TDIFF_OK) {
        fprintf(stderr, "load: %s\n", err);
        return 1;
    }
    struct viewer v = {NULL, -1};
    if (tdiff_tokenizer_create(model, NULL, &tok, err, sizeof err) != TDIFF_OK ||
        tdiff_model_special_id(model, TDIFF_SPECIAL_MASK, &v.mask) != TDIFF_OK ||
        tdiff_sampler_create(model, NULL, &sampler, err, sizeof err) != TDIFF_OK) {
        fprintf(stderr, "setup failed: %s\n", err);
        goto out;
    }
    v.tok = tok;

    /* The canvas: [before] [HOLE x mask] [after]. Only mask positions change. */
    int32_t canvas[256];
    size_t n = 0, got = 0;
    if (tdiff_tokenizer_tokenize(tok, before, strlen(before), TDIFF_TOKENIZE_ADD_SPECIAL, canvas, 200, &got))
        goto out;
    n = got;
    for (int i = 0; i < HOLE; i++)
        canvas[n++] = v.mask;
    if (tdiff_tokenizer_tokenize(tok, after, strlen(after), 0, canvas + n, 256 - n, &got))
        goto out;
    n += got;

    tdiff_sampler_set_int(sampler, TDIFF_SAMPLER_STEPS, HOLE / 2); /* two tokens per step */
    tdiff_sampler_set_callback(sampler, on_step, &v);
    int32_t out[256];
    size_t n_out = 0;
    tdiff_status st = tdiff_sampler_infill(sampler, canvas, n, out, 256, &n_out);
    if (st != TDIFF_OK) {
        fprintf(stderr, "infill: %s: %s\n", tdiff_status_string(st), tdiff_sampler_last_error(sampler));
        goto out;
    }
    char text[4096];
    size_t len = 0;
    if (tdiff_tokenizer_detokenize(tok, out, n_out, 0, text, sizeof text, &len) == TDIFF_OK) {
        printf("final: %.*s\n", (int)len, text);
        rc = 0;
    }
out:
    tdiff_sampler_free(sampler);
    tdiff_tokenizer_free(tok);
    tdiff_model_free(model);
    return rc;
}
