/*
 * bench_embed.c -- what an embedding host pays for libtextdiff: the numbers of
 * docs/embedding.md ("Memory", "Frame budgets").
 *
 *   bench_embed [MODEL] [--canvas 16,32,64,128,256] [--threads 1]
 *
 * MODEL defaults to the bundled models/austen-llada.gguf. Memory is counted
 * exactly with a counting allocator passed as the handles' tdiff_host (heap
 * bytes live after each call; the model's weights are a read-only file mapping
 * and are reported separately as the file size, with the process's RSS).
 * Time: for each canvas length an infill whose middle third is masked, one step
 * per masked token, each step timed alone (tdiff_sampler_step) on the wall clock
 * and on the calling thread's CPU clock; the median and the maximum are printed.
 * On a loaded machine the wall times grow and the CPU times stay: compare both.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "libtextdiff.h"

#ifndef TDIFF_DEFAULT_MODEL_SOURCE
#define TDIFF_DEFAULT_MODEL_SOURCE "models/austen-llada.gguf"
#endif

/* ---- a counting allocator: live and peak heap bytes of the handles ---------- */
typedef struct counter {
    size_t live, peak;
} counter;
typedef struct block_head {
    size_t size;
    size_t pad; /* keeps the payload 16-byte aligned, as malloc's */
} block_head;

static void *count_malloc(void *ud, size_t n)
{
    counter *c = ud;
    block_head *h = malloc(sizeof *h + n);
    if (!h)
        return NULL;
    h->size = n;
    c->live += n;
    if (c->live > c->peak)
        c->peak = c->live;
    return h + 1;
}
static void count_free(void *ud, void *p)
{
    if (!p)
        return;
    block_head *h = (block_head *)p - 1;
    ((counter *)ud)->live -= h->size;
    free(h);
}
static void *count_realloc(void *ud, void *p, size_t n)
{
    if (!p)
        return count_malloc(ud, n);
    counter *c = ud;
    block_head *h = (block_head *)p - 1;
    size_t old = h->size;
    block_head *g = realloc(h, sizeof *g + n);
    if (!g)
        return NULL;
    g->size = n;
    c->live = c->live - old + n;
    if (c->live > c->peak)
        c->peak = c->live;
    return g + 1;
}

static double clock_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return 1e3 * (double)ts.tv_sec + 1e-6 * (double)ts.tv_nsec;
}

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6))
            kib = atol(line + 6);
    if (f)
        fclose(f);
    return kib;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double kib(size_t bytes) { return (double)bytes / 1024.0; }

int main(int argc, char **argv)
{
    const char *path = TDIFF_DEFAULT_MODEL_SOURCE, *canvases = "16,32,64,128,256";
    int threads = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("usage: bench_embed [MODEL] [--canvas 16,32,64,128,256] [--threads 1]\n"
                   "Heap bytes of a model, a tokenizer and a sampler (counting allocator), and the\n"
                   "cost of one infill step per canvas length (wall and thread CPU): docs/embedding.md.\n");
            return 0;
        } else if (!strcmp(argv[i], "--canvas") && i + 1 < argc) {
            canvases = argv[++i];
        } else if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
            threads = atoi(argv[++i]);
        } else {
            path = argv[i];
        }
    }
    counter cm = {0, 0}, ct = {0, 0};
    tdiff_host hm = {sizeof hm, count_malloc, count_realloc, count_free, &cm, NULL, NULL, 0, 0, 0};
    tdiff_host ht = {sizeof ht, count_malloc, count_realloc, count_free, &ct, NULL, NULL, 0, 0, 0};
    char err[256];
    tdiff_model *model = NULL;
    tdiff_tokenizer *tok = NULL;
    long rss0 = rss_kib();
    if (tdiff_model_load_file(path, &hm, &model, err, sizeof err) ||
        tdiff_tokenizer_create(model, &ht, &tok, err, sizeof err)) {
        fprintf(stderr, "bench_embed: %s: %s\n", path, err);
        return 1;
    }
    FILE *f = fopen(path, "rb");
    long file_bytes = 0;
    if (f && !fseek(f, 0, SEEK_END))
        file_bytes = ftell(f);
    if (f)
        fclose(f);
    int32_t mask = 0;
    tdiff_model_special_id(model, TDIFF_SPECIAL_MASK, &mask);
    printf("model %s: file %.1f MiB (mapped read-only, shared by every handle); heap: model %.1f KiB, "
           "tokenizer %.1f KiB; RSS +%ld KiB after load\n",
           path, (double)file_bytes / 1048576.0, kib(cm.live), kib(ct.live), rss_kib() - rss0);
    printf("isa %s, %d denoiser thread(s)\n\n", tdiff_isa_name(), threads);
    printf("| canvas | masked | sampler heap after create | after begin (denoiser + workspace) | peak | after result | "
           "step wall median / max (ms) | step CPU median (ms) |\n|---|---|---|---|---|---|---|---|\n");

    static const char text[] = "It is a truth universally acknowledged, that a single man in possession of a good "
                               "fortune, must be in want of a wife. However little known the feelings or views of "
                               "such a man may be on his first entering a neighbourhood, this truth is so well fixed "
                               "in the minds of the surrounding families, that he is considered as the rightful "
                               "property of some one or other of their daughters.";
    int32_t base[512];
    size_t n_base = 0;
    if (tdiff_tokenizer_tokenize(tok, text, strlen(text), TDIFF_TOKENIZE_ADD_SPECIAL, base, 512, &n_base))
        return 1;
    for (const char *c = canvases; *c;) {
        size_t len = (size_t)strtoul(c, (char **)&c, 10);
        if (*c == ',')
            c++;
        if (len < 3 || len > 256)
            continue;
        int32_t canvas[512];
        size_t masked = 0;
        for (size_t i = 0; i < len; i++) {
            canvas[i] = base[i % n_base];
            if (i >= len / 3 && i < len - len / 3) {
                canvas[i] = mask;
                masked++;
            }
        }
        counter cs = {0, 0};
        tdiff_host hs = {sizeof hs, count_malloc, count_realloc, count_free, &cs, NULL, NULL, 0, 0, 0};
        tdiff_sampler *s = NULL;
        if (tdiff_sampler_create(model, &hs, &s, err, sizeof err)) {
            fprintf(stderr, "bench_embed: %s\n", err);
            return 1;
        }
        size_t created = cs.live;
        tdiff_sampler_set_int(s, TDIFF_SAMPLER_STEPS, (int64_t)masked);
        tdiff_sampler_set_int(s, TDIFF_SAMPLER_N_THREADS, threads);
        if (tdiff_sampler_begin_infill(s, canvas, len)) {
            fprintf(stderr, "bench_embed: begin: %s\n", tdiff_sampler_last_error(s));
            return 1;
        }
        size_t begun = cs.live;
        double wall[512], cpu[512];
        size_t n = 0;
        int done = 0;
        while (!done && n < 512) {
            double w0 = clock_ms(CLOCK_MONOTONIC), c0 = clock_ms(CLOCK_THREAD_CPUTIME_ID);
            if (tdiff_sampler_step(s, &done)) {
                fprintf(stderr, "bench_embed: step: %s\n", tdiff_sampler_last_error(s));
                return 1;
            }
            wall[n] = clock_ms(CLOCK_MONOTONIC) - w0;
            cpu[n++] = clock_ms(CLOCK_THREAD_CPUTIME_ID) - c0;
        }
        int32_t out[512];
        size_t n_out = 0;
        if (tdiff_sampler_result(s, out, 512, &n_out)) {
            fprintf(stderr, "bench_embed: result: %s\n", tdiff_sampler_last_error(s));
            return 1;
        }
        size_t after = cs.live;
        double wmax = 0;
        for (size_t i = 0; i < n; i++)
            wmax = wall[i] > wmax ? wall[i] : wmax;
        qsort(wall, n, sizeof *wall, cmp_double);
        qsort(cpu, n, sizeof *cpu, cmp_double);
        printf("| %zu | %zu | %.1f KiB | %.1f KiB | %.1f KiB | %.1f KiB | %.2f / %.2f | %.2f |\n", len, masked,
               kib(created), kib(begun), kib(cs.peak), kib(after), wall[n / 2], wmax, cpu[n / 2]);
        tdiff_sampler_free(s);
    }
    printf("\nRSS +%ld KiB over the process's start after the runs (the weights' pages the forwards touched "
           "are file-backed and shared)\n", rss_kib() - rss0);
    tdiff_tokenizer_free(tok);
    tdiff_model_free(model);
    return 0;
}
