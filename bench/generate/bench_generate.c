/*
 * bench_generate.c -- end-to-end generation speed of the sampler over the
 * built-in denoiser: tokens/s, forward passes, and the share of the time spent
 * OUTSIDE the network forward (the sampler's own cost; goal <= 5%).
 *
 * Usage: bench_generate MODEL.gguf [--gen 256] [--block 32] [--threads 2]
 *                       [--steps 256,64] [--prompt 16] [--temperature 0] [--strategy llada]
 * The model is any llada/dream GGUF; bench/generate/make_model.py writes the
 * ~110M llada-shaped one the recorded results use. One untimed warm-up run
 * (denoiser creation) precedes the timed run of each step count.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libtextdiff.h"

static int fail(const char *what, tdiff_status st, const char *msg)
{
    fprintf(stderr, "bench_generate: %s: %s (%s)\n", what, tdiff_status_string(st), msg ? msg : "");
    return 1;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: bench_generate MODEL.gguf [options]\n"
               "Times whole generations (forward passes vs the sampler's own work) per step count.\n"
               "  --gen N          tokens to generate (default 256)   --block B  block length (default 32)\n"
               "  --threads T      (default 2)                        --prompt N prompt tokens (default 16)\n"
               "  --steps a,b      step counts to time (default 256,64)\n"
               "  --temperature T  (default 0)                        --strategy S (default llada)\n"
               "  -h, --help       this text\n");
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        }
    if (argc < 2 || argv[1][0] == '-') {
        usage(stderr);
        return 2;
    }
    long gen = 256, block = 32, threads = 2, n_prompt = 16;  /* keep usage() in step */
    double temp = 0.0;
    const char *steps_list = "256,64", *strategy = "llada";
    for (int i = 2; i < argc; i += 2) {
        if (i + 1 >= argc)
            return fprintf(stderr, "bench_generate: %s needs a value\n", argv[i]), 2;
        if (!strcmp(argv[i], "--gen"))
            gen = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--block"))
            block = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--threads"))
            threads = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--prompt"))
            n_prompt = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--steps"))
            steps_list = argv[i + 1];
        else if (!strcmp(argv[i], "--temperature"))
            temp = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--strategy"))
            strategy = argv[i + 1];
        else
            return fprintf(stderr, "bench_generate: unknown option '%s' (--help lists them)\n", argv[i]), 2;
    }
    tdiff_model *m;
    char err[256];
    tdiff_status st = tdiff_model_load_file(argv[1], NULL, &m, err, sizeof err);
    if (st)
        return fail("load", st, err);
    tdiff_sampler *s;
    if ((st = tdiff_sampler_create(m, NULL, &s, NULL, 0)))
        return fail("sampler", st, NULL);
    int strat;
    if (tdiff_strategy_from_name(strategy, &strat))
        return fail("strategy", TDIFF_E_INVALID_ARGUMENT, strategy);
    tdiff_sampler_set_int(s, TDIFF_SAMPLER_STRATEGY, strat);
    tdiff_sampler_set_int(s, TDIFF_SAMPLER_GEN_LENGTH, gen);
    tdiff_sampler_set_int(s, TDIFF_SAMPLER_BLOCK_LENGTH, block);
    tdiff_sampler_set_int(s, TDIFF_SAMPLER_N_THREADS, threads);
    tdiff_sampler_set_int(s, TDIFF_SAMPLER_CUT_AT_EOS, 0);
    tdiff_sampler_set_float(s, TDIFF_SAMPLER_TEMPERATURE, temp);
    int32_t *prompt = malloc((size_t)n_prompt * sizeof *prompt), *out = malloc((size_t)gen * sizeof *out);
    if (!prompt || !out)
        return fail("malloc", TDIFF_E_OUT_OF_MEMORY, NULL);
    for (long i = 0; i < n_prompt; i++)
        prompt[i] = (int32_t)(100 + 37 * i); /* arbitrary non-special ids */
    printf("model %s, prompt %ld, gen %ld, block %ld, threads %ld, strategy %s, temperature %g, isa %s\n",
           argv[1], n_prompt, gen, block, threads, strategy, temp, tdiff_isa_name());
    printf("%6s %10s %10s %10s %12s %10s\n", "steps", "forwards", "seconds", "tokens/s", "s/forward", "outside%");
    const char *p = steps_list;
    int warmed = 0;
    while (*p) {
        long steps = strtol(p, (char **)&p, 10);
        if (*p == ',')
            p++;
        tdiff_sampler_set_int(s, TDIFF_SAMPLER_STEPS, steps);
        size_t n_out;
        if (!warmed) { /* creates the denoiser: one step over one block, not timed */
            tdiff_sampler_set_int(s, TDIFF_SAMPLER_STEPS, 1);
            tdiff_sampler_set_int(s, TDIFF_SAMPLER_BLOCK_LENGTH, 0);
            if ((st = tdiff_sampler_generate(s, prompt, (size_t)n_prompt, out, (size_t)gen, &n_out)))
                return fail("warm-up", st, tdiff_sampler_last_error(s));
            tdiff_sampler_set_int(s, TDIFF_SAMPLER_STEPS, steps);
            tdiff_sampler_set_int(s, TDIFF_SAMPLER_BLOCK_LENGTH, block);
            warmed = 1;
        }
        if ((st = tdiff_sampler_generate(s, prompt, (size_t)n_prompt, out, (size_t)gen, &n_out)))
            return fail("generate", st, tdiff_sampler_last_error(s));
        int64_t fw;
        double total, fws;
        tdiff_sampler_get_int(s, TDIFF_SAMPLER_STAT_FORWARD_PASSES, &fw);
        tdiff_sampler_get_float(s, TDIFF_SAMPLER_STAT_TOTAL_SECONDS, &total);
        tdiff_sampler_get_float(s, TDIFF_SAMPLER_STAT_FORWARD_SECONDS, &fws);
        printf("%6ld %10lld %10.3f %10.2f %12.4f %9.2f%%\n", steps, (long long)fw, total, (double)n_out / total,
               fws / (double)fw, 100.0 * (total - fws) / total);
        fflush(stdout);
    }
    tdiff_sampler_free(s);
    tdiff_model_free(m);
    free(prompt);
    free(out);
    return 0;
}
