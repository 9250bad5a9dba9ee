/* cmd_quantize.c -- `textdiff quantize IN OUT --type T`: a re-encoded copy of a
 * model (tdiff_model_quantize) with a line per tensor and a summary. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cmd.h"

static const struct {
    const char *name;
    tdiff_quant_type type;
} quant_names[] = {
    {"f16", TDIFF_QUANT_F16},   {"bf16", TDIFF_QUANT_BF16}, {"q8_0", TDIFF_QUANT_Q8_0},
    {"q4_0", TDIFF_QUANT_Q4_0}, {"q4_k", TDIFF_QUANT_Q4_K}, {"q5_k", TDIFF_QUANT_Q5_K},
    {"q6_k", TDIFF_QUANT_Q6_K}, {"q4_k_m", TDIFF_QUANT_Q4_K_M}, {"q5_k_m", TDIFF_QUANT_Q5_K_M},
};

#define N_TYPE_SLOTS 31 /* ggml type numbers 0..30 */

typedef struct tally {
    int quiet;
    size_t tensors[N_TYPE_SLOTS];
    uint64_t bytes[N_TYPE_SLOTS];
} tally;

static double mib(uint64_t b)
{
    return (double)b / (1024.0 * 1024.0);
}

static int on_tensor(void *ud, const tdiff_quantize_tensor *t)
{
    tally *s = ud;
    if (t->type_out >= 0 && t->type_out < N_TYPE_SLOTS) {
        s->tensors[t->type_out]++;
        s->bytes[t->type_out] += t->bytes_out;
    }
    if (!s->quiet) {
        printf("[%4zu/%zu] %-32s %-5s -> %-5s %9.3f MiB -> %9.3f MiB\n", t->index + 1, t->count, t->name,
               tool_type_name(t->type_in), tool_type_name(t->type_out), mib(t->bytes_in), mib(t->bytes_out));
        fflush(stdout);
    }
    return 0;
}

static int usage(FILE *f, int code)
{
    fprintf(f, "usage: textdiff quantize IN.gguf OUT.gguf --type TYPE [--threads N] [--quiet]\n\n"
               "Writes a copy of IN with its weights re-encoded; metadata and tokenizer are kept, and\n"
               "llama.cpp reads the result (its type numbers and block layouts).\n\n"
               "TYPE: f16 bf16 q8_0 q4_0 q4_k q5_k q6_k q4_k_m q5_k_m\n"
               "  q4_0, q4_k, q5_k, q6_k and the _m mixes write the output head as Q6_K, as llama.cpp\n"
               "  does; q4_k_m/q5_k_m also give Q6_K to attn_v and ffn_down in llama.cpp's layers.\n"
               "--threads N   encoding threads (default 2; the bytes do not depend on it)\n"
               "--quiet       no line per tensor, only the summary\n");
    return code;
}

int cmd_quantize(int argc, char **argv)
{
    const char *in = NULL, *out = NULL, *tname = NULL;
    int threads = 2, quiet = 0;
    for (int i = 1; i < argc; i++) {
        if (tool_is_help(argv[i]))
            return usage(stdout, 0);
        if (!strcmp(argv[i], "--type") && i + 1 < argc)
            tname = argv[++i];
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--quiet"))
            quiet = 1;
        else if (argv[i][0] == '-')
            return usage(stderr, 2);
        else if (!in)
            in = argv[i];
        else if (!out)
            out = argv[i];
        else
            return usage(stderr, 2);
    }
    if (!in || !out || !tname)
        return usage(stderr, 2);
    size_t q = 0;
    while (q < sizeof quant_names / sizeof quant_names[0] && strcmp(quant_names[q].name, tname))
        q++;
    if (q == sizeof quant_names / sizeof quant_names[0]) {
        fprintf(stderr, "textdiff: unknown --type '%s'\n", tname);
        return usage(stderr, 2);
    }
    char err[512];
    tdiff_model *m = NULL;
    tdiff_status st = tdiff_model_load_file(in, NULL, &m, err, sizeof err);
    if (st != TDIFF_OK) {
        fprintf(stderr, "textdiff: cannot load %s: %s\n", in, err);
        return 1;
    }
    tally s = {quiet, {0}, {0}};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    st = tdiff_model_quantize(m, out, quant_names[q].type, threads, on_tensor, &s, err, sizeof err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    tdiff_model_free(m);
    if (st != TDIFF_OK) {
        fprintf(stderr, "textdiff: quantize failed: %s\n", err);
        return 1;
    }
    struct stat a, b;
    const int have = stat(in, &a) == 0 && stat(out, &b) == 0;
    printf("%s -> %s (%s) in %.2f s\n", in, out, tname,
           (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec));
    if (have)
        printf("file size: %.2f MiB -> %.2f MiB (%.1f%%)\n", mib((uint64_t)a.st_size), mib((uint64_t)b.st_size),
               100.0 * (double)b.st_size / (double)(a.st_size ? a.st_size : 1));
    printf("tensors by type:");
    for (int t = 0; t < N_TYPE_SLOTS; t++)
        if (s.tensors[t])
            printf("  %s %zu (%.2f MiB)", tool_type_name(t), s.tensors[t], mib(s.bytes[t]));
    printf("\n");
    return 0;
}
