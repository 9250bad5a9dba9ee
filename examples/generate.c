/*
 * generate.c -- the shortest useful libtextdiff program: load a model, turn a
 * prompt into tokens, let the sampler unmask 32 new tokens, print the text.
 *
 *   cc generate.c $(pkg-config --cflags --libs libtextdiff) -o generate
 *   ./generate model.gguf "It is a truth"
 */
#include <stdio.h>
#include <string.h>

#include <libtextdiff.h>

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s MODEL.gguf [PROMPT]\n", argv[0]);
        return 2;
    }
    const char *prompt = argc > 2 ? argv[2] : "It is a truth";
    char err[256];
    tdiff_model *model = NULL;
    tdiff_tokenizer *tok = NULL;
    tdiff_sampler *sampler = NULL;
    int rc = 1;

    /* NULL host = the default allocator. The model is read-only once loaded. */
    if (tdiff_model_load_file(argv[1], NULL, &model, err, sizeof err) != TDIFF_OK) {
        fprintf(stderr, "load: %s\n", err);
        return 1;
    }
    if (tdiff_tokenizer_create(model, NULL, &tok, err, sizeof err) != TDIFF_OK ||
        tdiff_sampler_create(model, NULL, &sampler, err, sizeof err) != TDIFF_OK) {
        fprintf(stderr, "setup failed: %s\n", err);
        goto out;
    }

    /* Text -> token ids (ADD_SPECIAL adds BOS when the model wants one). */
    int32_t ids[256];
    size_t n_ids = 0;
    if (tdiff_tokenizer_tokenize(tok, prompt, strlen(prompt), TDIFF_TOKENIZE_ADD_SPECIAL, ids, 256, &n_ids)) {
        fprintf(stderr, "tokenize: prompt too long\n");
        goto out;
    }

    /* 32 tokens in 32 steps; everything else keeps its default (LLaDA, greedy). */
    tdiff_sampler_set_int(sampler, TDIFF_SAMPLER_GEN_LENGTH, 32);
    tdiff_sampler_set_int(sampler, TDIFF_SAMPLER_STEPS, 32);
    int32_t out[32];
    size_t n_out = 0;
    tdiff_status st = tdiff_sampler_generate(sampler, ids, n_ids, out, 32, &n_out);
    if (st != TDIFF_OK) {
        fprintf(stderr, "generate: %s: %s\n", tdiff_status_string(st), tdiff_sampler_last_error(sampler));
        goto out;
    }

    /* Token ids -> text. */
    char text[4096];
    size_t len = 0;
    if (tdiff_tokenizer_detokenize(tok, out, n_out, 0, text, sizeof text, &len) == TDIFF_OK) {
        printf("%s%.*s\n", prompt, (int)len, text);
        rc = 0;
    }
out:
    tdiff_sampler_free(sampler);
    tdiff_tokenizer_free(tok);
    tdiff_model_free(model);
    return rc;
}
