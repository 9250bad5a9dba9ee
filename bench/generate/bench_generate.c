/*
 * bench_generate.c -- end-to-end generation speed of the sampler over the
 * built-in denoiser: time per step, forward passes, rows the network computed,
 * KV-cache hits, the share of the time spent OUTSIDE the network forward (the
 * sampler's own cost; goal <= 5%), and, per cache mode, the speed-up (whole
 * generation, median seconds) over the first mode listed and the tokens'
 * agreement with its output, all from one process.
 *
 * Usage: bench_generate MODEL.gguf [--gen 256] [--block 32] [--threads 2]
 *                       [--steps 256,64] [--prompt 16] [--temperature 0] [--strategy llada]
 *                       [--threshold 0.9] [--cache none,prefix,dual] [--cache-refresh 0]
 *                       [--reps 1]
 * The model is any llada/dream GGUF; bench/generate/make_model.py writes the
 * ~110M llada-shaped one the recorded results use. One untimed warm-up run
 * (denoiser creation) comes first; then, for each step count, `reps` rounds,
 * each running every cache mode once in the order given (interleaved, so a
 * change in the machine's load hits every mode alike). Reported: the median
 * round and the min..max spread, of wall time and of the process's CPU time
 * (user + system, all threads). The denoiser's threads sleep while they wait
 * (condition variables), so CPU time counts work done and moves far less than
 * wall time when other jobs share the cores; the speed-ups are given for both.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "libtextdiff.h"

#define MAX_MODES 4
#define MAX_REPS 64

static int fail(const char *what, tdiff_status st, const char *msg)
{
    fprintf(stderr, "bench_generate: %s: %s (%s)\n", what, tdiff_status_string(st), msg ? msg : "");
    return 1;
}

static int mode_from_name(const char *s, size_t len)
{
    static const char *const names[] = {"none", "prefix", "dual", "delayed"}; /* tdiff_cache_mode order */
    for (int m = 0; m < 4; m++)
        if (strlen(names[m]) == len && !strncmp(s, names[m], len))
            return m;
    return -1;
}

static const char *mode_name(int m)
{
    static const char *const names[] = {"none", "prefix", "dual", "delayed"};
    return names[m];
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double cpu_seconds(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)u.ru_utime.tv_sec + 1e-6 * (double)u.ru_utime.tv_usec + (double)u.ru_stime.tv_sec +
           1e-6 * (double)u.ru_stime.tv_usec;
}

/* One run's numbers. */
typedef struct result {
    double total, fws, cpu;
    int64_t steps, forwards, rows, hits;
    size_t n_out;
} result;

static tdiff_status run_once(tdiff_sampler *s, const int32_t *prompt, size_t n_prompt, int32_t *out, size_t cap,
                             result *res)
{
    double c0 = cpu_seconds();
    tdiff_status st = tdiff_sampler_generate(s, prompt, n_prompt, out, cap, &res->n_out);
    res->cpu = cpu_seconds() - c0;
    if (st)
        return st;
    tdiff_sampler_get_int(s, TDIFF_SAMPLER_STAT_STEPS, &res->steps);
    tdiff_sampler_get_int(s, TDIFF_SAMPLER_STAT_FORWARD_PASSES, &res->forwards);
    tdiff_sampler_get_int(s, TDIFF_SAMPLER_STAT_ROWS_COMPUTED, &res->rows);
    tdiff_sampler_get_int(s, TDIFF_SAMPLER_STAT_CACHE_HITS, &res->hits);
    tdiff_sampler_get_float(s, TDIFF_SAMPLER_STAT_TOTAL_SECONDS, &res->total);
    tdiff_sampler_get_float(s, TDIFF_SAMPLER_STAT_FORWARD_SECONDS, &res->fws);
    return TDIFF_OK;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: bench_generate MODEL.gguf [options]\n"
               "Times whole generations per step count and cache mode (forward passes vs the sampler's own\n"
               "work, rows computed, cache hits, wall and CPU time, speed-up and agreement vs the first mode).\n"
               "  --gen N          tokens to generate (default 256)   --block B  block length (default 32)\n"
               "  --threads T      (default 2)                        --prompt N prompt tokens (default 16)\n"
               "  --steps a,b      step counts to time (default 256,64)\n"
               "  --temperature T  (default 0)                        --strategy S (default llada)\n"
               "  --threshold X    threshold strategy (default 0.9)   --reps R interleaved rounds (default 1)\n"
               "  --cache m1,m2    cache modes none|prefix|dual|delayed (default none)\n"
               "  --cache-refresh N  recompute everything every N steps (default 0)\n"
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
    long gen = 256, block = 32, threads = 2, n_prompt = 16, reps = 1, refresh = 0; /* keep usage() in step */
    double temp = 0.0, threshold = 0.9;
    const char *steps_list = "256,64", *strategy = "llada", *cache_list = "none";
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
        else if (!strcmp(argv[i], "--threshold"))
            threshold = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--strategy"))
            strategy = argv[i + 1];
        else if (!strcmp(argv[i], "--cache"))
            cache_list = argv[i + 1];
        else if (!strcmp(argv[i], "--cache-refresh"))
            refresh = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--reps"))
            reps = atol(argv[i + 1]);
        else
            return fprintf(stderr, "bench_generate: unknown option '%s' (--help lists them)\n", argv[i]), 2;
    }
    if (reps < 1 || reps > MAX_REPS || gen < 1 || n_prompt < 0)
        return fprintf(stderr, "bench_generate: --reps is 1..%d, --gen >= 1, --prompt >= 0\n", MAX_REPS), 2;
    int modes[MAX_MODES], n_modes = 0;
    for (const char *p = cache_list; *p;) {
        size_t len = strcspn(p, ",");
        int m = mode_from_name(p, len);
        if (m < 0 || n_modes == MAX_MODES)
            return fprintf(stderr, "bench_generate: bad --cache list '%s'\n", cache_list), 2;
        modes[n_modes++] = m;
        p += len + (p[len] == ',');
    }
    tdiff_model *m;
    char err[256];
    tdiff_status st = tdiff_model_load_file(argv[1], NULL, &m, err, sizeof err);
    if (st)
        return fail("load", st, err);
    tdiff_sampler *s;
    if ((st = tdiff_sampler_create(m, NULL, &s, err, sizeof err)))
        return fail("sampler", st, err);
    int strat;
    if (tdiff_strategy_from_name(strategy, &strat))
        return fail("strategy", TDIFF_E_INVALID_ARGUMENT, strategy);
    tdiff_sampler_set_int(s, TDIFF_SAMPLER_STRATEGY, strat);
    tdiff_sampler_set_int(s, TDIFF_SAMPLER_GEN_LENGTH, gen);
    tdiff_sampler_set_int(s, TDIFF_SAMPLER_BLOCK_LENGTH, block);
    tdiff_sampler_set_int(s, TDIFF_SAMPLER_N_THREADS, threads);
    tdiff_sampler_set_int(s, TDIFF_SAMPLER_CUT_AT_EOS, 0);
    tdiff_sampler_set_int(s, TDIFF_SAMPLER_CACHE_REFRESH, refresh);
    tdiff_sampler_set_float(s, TDIFF_SAMPLER_TEMPERATURE, temp);
    tdiff_sampler_set_float(s, TDIFF_SAMPLER_THRESHOLD, threshold);
    size_t cap = (size_t)gen;
    int32_t *prompt = malloc(((size_t)n_prompt + 1) * sizeof *prompt);
    int32_t *out = malloc((size_t)MAX_MODES * cap * sizeof *out);
    if (!prompt || !out)
        return fail("malloc", TDIFF_E_OUT_OF_MEMORY, NULL);
    for (long i = 0; i < n_prompt; i++)
        prompt[i] = (int32_t)(100 + 37 * i); /* arbitrary non-special ids */
    printf("model %s, prompt %ld, gen %ld (canvas %ld), block %ld, threads %ld, strategy %s, temperature %g, "
           "cache refresh %ld, isa %s, %ld round(s)\n",
           argv[1], n_prompt, gen, n_prompt + gen, block, threads, strategy, temp, refresh, tdiff_isa_name(), reps);
    printf("%6s %-8s %6s %8s %10s %9s %17s %9s %9s %17s %9s %9s %8s %8s %7s\n", "steps", "cache", "ran", "forwards",
           "seconds", "ms/step", "ms/step min..max", "speed-up", "cpu/step", "cpu/step min..max", "cpu up", "rows",
           "hits", "outside", "agree");
    /* warm-up: creates the denoiser (one step over one block), not timed */
    {
        result w;
        tdiff_sampler_set_int(s, TDIFF_SAMPLER_STEPS, 1);
        tdiff_sampler_set_int(s, TDIFF_SAMPLER_BLOCK_LENGTH, 0);
        if ((st = run_once(s, prompt, (size_t)n_prompt, out, cap, &w)))
            return fail("warm-up", st, tdiff_sampler_last_error(s));
        tdiff_sampler_set_int(s, TDIFF_SAMPLER_BLOCK_LENGTH, block);
    }
    const char *p = steps_list;
    while (*p) {
        long steps = strtol(p, (char **)&p, 10);
        if (*p == ',')
            p++;
        tdiff_sampler_set_int(s, TDIFF_SAMPLER_STEPS, steps);
        static result res[MAX_MODES][MAX_REPS];
        for (long r = 0; r < reps; r++)
            for (int k = 0; k < n_modes; k++) {
                tdiff_sampler_set_int(s, TDIFF_SAMPLER_CACHE, modes[k]);
                if ((st = run_once(s, prompt, (size_t)n_prompt, out + (size_t)k * cap, cap, &res[k][r])))
                    return fail("generate", st, tdiff_sampler_last_error(s));
            }
        double base_med = 0, base_cpu = 0;
        for (int k = 0; k < n_modes; k++) {
            double per[MAX_REPS], cpu[MAX_REPS]; /* seconds of each round (same step count in every round) */
            for (long r = 0; r < reps; r++) {
                per[r] = res[k][r].total;
                cpu[r] = res[k][r].cpu;
            }
            qsort(per, (size_t)reps, sizeof *per, cmp_double);
            qsort(cpu, (size_t)reps, sizeof *cpu, cmp_double);
            double med = reps % 2 ? per[reps / 2] : 0.5 * (per[reps / 2 - 1] + per[reps / 2]);
            double cmed = reps % 2 ? cpu[reps / 2] : 0.5 * (cpu[reps / 2 - 1] + cpu[reps / 2]);
            if (k == 0) {
                base_med = med;
                base_cpu = cmed;
            }
            const result *x = &res[k][reps - 1];
            const double ms = 1e3 / (double)x->steps;
            size_t agree = 0; /* against the first mode listed, last round */
            for (size_t i = 0; i < x->n_out && i < res[0][reps - 1].n_out; i++)
                agree += out[(size_t)k * cap + i] == out[i];
            printf("%6ld %-8s %6lld %8lld %10.3f %9.2f %8.2f..%-8.2f %8.2fx %9.2f %8.2f..%-8.2f %8.2fx %9lld %8lld "
                   "%7.2f%% %6.1f%%\n",
                   steps, mode_name(modes[k]), (long long)x->steps, (long long)x->forwards, med, med * ms, per[0] * ms,
                   per[reps - 1] * ms, base_med / med, cmed * ms, cpu[0] * ms, cpu[reps - 1] * ms, base_cpu / cmed,
                   (long long)x->rows, (long long)x->hits, 100.0 * (x->total - x->fws) / x->total,
                   100.0 * (double)agree / (double)x->n_out);
        }
        fflush(stdout);
    }
    tdiff_sampler_free(s);
    tdiff_model_free(m);
    free(prompt);
    free(out);
    return 0;
}
