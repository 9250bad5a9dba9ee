/* Reproducer: the embedding strategy's setup evaluates tdiff_scheduler_eval_step(ALPHA_BAR, k, T)
 * for every k <= T, each O(k): O(T^2) before the first step. Times begin + one step. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "libtextdiff.h"

int main(int argc, char **argv)
{
    tdiff_model *m = NULL;
    char err[256];
    if (tdiff_model_load_file(argc > 1 ? argv[1] : "models/austen-dlm.gguf", NULL, &m, err, sizeof err))
        return printf("%s\n", err), 1;
    for (long steps = 1 << 12; steps <= (argc > 2 ? atol(argv[2]) : 1 << 15); steps *= 2) {
        tdiff_sampler *s = NULL;
        tdiff_sampler_create(m, NULL, &s, err, sizeof err);
        tdiff_sampler_set_int(s, TDIFF_SAMPLER_STRATEGY, TDIFF_STRATEGY_EMBEDDING);
        tdiff_sampler_set_int(s, TDIFF_SAMPLER_GEN_LENGTH, 4);
        tdiff_sampler_set_int(s, TDIFF_SAMPLER_STEPS, steps);
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        int done = 0;
        tdiff_status st = tdiff_sampler_begin(s, NULL, 0);
        if (!st)
            st = tdiff_sampler_step(s, &done);
        clock_gettime(CLOCK_MONOTONIC, &b);
        printf("steps %6ld: begin + first step %.3f s (%s)\n", steps,
               (double)(b.tv_sec - a.tv_sec) + 1e-9 * (double)(b.tv_nsec - a.tv_nsec), tdiff_status_string(st));
        tdiff_sampler_free(s);
    }
    tdiff_model_free(m);
    return 0;
}
