/*
 * bench_tokenize.c -- tokenizer throughput: for each model given, tokenizes the
 * whole text file in one call (best of --reps runs, one thread) and detokenizes
 * the ids, printing MB/s (10^6 bytes of input text per second) for both.
 * Time is the thread's CPU time (CLOCK_THREAD_CPUTIME_ID), so a busy machine
 * does not understate single-core speed; wall-clock MB/s is printed too.
 *
 * Run: python3 bench/tokenize/make_corpus.py /tmp/austen.txt
 *      ./build/bench/tokenize/bench_tokenize /tmp/austen.txt \
 *          tests/unit/tokenizer/data/gpt2.gguf tests/fixtures/llada-tiny.gguf
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "libtextdiff.h"

static double now_clock(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return b;
}

static const char *kind_name(enum tdiff_tokenizer_kind k)
{
    return k == TDIFF_TOKENIZER_BPE ? "bpe" : k == TDIFF_TOKENIZER_WORDPIECE ? "wordpiece" : "spm";
}

static int bench_model(const char *path, const char *text, size_t len, int reps)
{
    char err[512];
    tdiff_model *model;
    tdiff_tokenizer *tok;
    if (tdiff_model_load_file(path, NULL, &model, err, sizeof err) != TDIFF_OK ||
        tdiff_tokenizer_create(model, NULL, &tok, err, sizeof err) != TDIFF_OK) {
        fprintf(stderr, "bench_tokenize: %s: %s\n", path, err);
        return 1;
    }
    size_t n = 0;
    tdiff_tokenizer_tokenize(tok, text, len, 0, NULL, 0, &n);
    int32_t *ids = malloc((n ? n : 1) * sizeof *ids);
    char *back = malloc(len * 3 + 16);
    double best_enc = 1e30, best_dec = 1e30, best_wall = 1e30;
    size_t back_len = 0;
    for (int r = 0; r < reps; r++) {
        double w0 = now_clock(CLOCK_MONOTONIC), t0 = now_clock(CLOCK_THREAD_CPUTIME_ID);
        if (tdiff_tokenizer_tokenize(tok, text, len, 0, ids, n, &n) != TDIFF_OK)
            return 1;
        double t1 = now_clock(CLOCK_THREAD_CPUTIME_ID), w1 = now_clock(CLOCK_MONOTONIC);
        if (tdiff_tokenizer_detokenize(tok, ids, n, 0, back, len * 3 + 16, &back_len) != TDIFF_OK)
            return 1;
        double t2 = now_clock(CLOCK_THREAD_CPUTIME_ID);
        best_wall = w1 - w0 < best_wall ? w1 - w0 : best_wall;
        best_enc = t1 - t0 < best_enc ? t1 - t0 : best_enc;
        best_dec = t2 - t1 < best_dec ? t2 - t1 : best_dec;
    }
    printf("%-40s %-9s %8zu tokens %5.2f B/token  tokenize %6.1f MB/s (wall %6.1f)  detokenize %6.1f MB/s%s\n",
           path, kind_name(tdiff_tokenizer_kind(tok)), n, (double)len / (double)(n ? n : 1),
           1e-6 * (double)len / best_enc, 1e-6 * (double)len / best_wall, 1e-6 * (double)len / best_dec,
           back_len == len && !memcmp(back, text, len) ? "" : "  (not lossless)");
    free(ids);
    free(back);
    tdiff_tokenizer_free(tok);
    tdiff_model_free(model);
    return 0;
}

int main(int argc, char **argv)
{
    int reps = 3, i = 1;
    if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        printf("usage: bench_tokenize [--reps N] TEXT_FILE MODEL.gguf...\n"
               "Tokenizes TEXT_FILE with each model's tokenizer: MB/s to ids and back, one thread, CPU\n"
               "time, best of N runs (default 3).\n");
        return 0;
    }
    if (i + 1 < argc && !strcmp(argv[i], "--reps")) {
        reps = atoi(argv[i + 1]);
        i += 2;
    }
    if (argc - i < 2 || reps < 1) {
        fprintf(stderr, "usage: bench_tokenize [--reps N] TEXT_FILE MODEL.gguf...\n");
        return 2;
    }
    size_t len;
    char *text = read_all(argv[i], &len);
    if (!text) {
        fprintf(stderr, "bench_tokenize: cannot read %s\n", argv[i]);
        return 1;
    }
    printf("text: %s, %.2f MB, best of %d runs, one thread, CPU time\n", argv[i], 1e-6 * (double)len, reps);
    int rc = 0;
    for (i++; i < argc; i++)
        rc |= bench_model(argv[i], text, len, reps);
    free(text);
    return rc;
}
