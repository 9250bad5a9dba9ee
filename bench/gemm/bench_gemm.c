/*
 * bench_gemm.c -- the library's matrix product (lib/simd/gemm.h) per weight
 * type and SIMD variant, against cblas_sgemm on the same F32 shapes, and the
 * machine's measured FMA peak, in GFLOP/s (2 flops per multiply-add).
 *
 * Shapes are the 110M LLaDA-shaped model's products at a 256-token canvas:
 * Q/K/V/O (768 x 768), gate/up (2048 x 768), down (768 x 2048), and the output
 * head (32000 x 768) at 32 rows (one block of masked positions). Each line is
 * the best of `reps` runs; OpenBLAS runs with `threads` threads of its own,
 * ours on a pool of `threads` threads. With --threads 1 the times are the
 * thread's CPU time (immune to other jobs on a shared machine), else wall time.
 *
 * Usage: bench_gemm [--threads 2] [--reps 5] [--isa avx512|avx2|scalar] [--type f32|...|all]
 */
#if defined(BENCH_HAVE_CBLAS)
#include <cblas.h>
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/core.h"
#include "core/threads.h"
#include "simd/gemm.h"
#include "simd/half.h"
#include "simd/tables.h"

/* With one thread the clock is the thread's CPU time, so that other jobs on a
 * shared machine do not inflate the numbers; with more, wall time. */
static clockid_t g_clock = CLOCK_MONOTONIC;

static double now(void)
{
    struct timespec ts;
    clock_gettime(g_clock, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uint32_t rng = 1;
static uint32_t rnd(void)
{
    rng = rng * 1664525u + 1013904223u;
    return rng >> 8;
}
static float frand(void)
{
    return ((float)(rnd() & 0xffff) / 65536.0f - 0.5f) * 0.1f;
}

static const struct {
    const char *name;
    uint32_t type;
    size_t block, bytes;
} types[] = {
    {"f32", TDIFF__W_F32, 1, 4},      {"f16", TDIFF__W_F16, 1, 2},      {"bf16", TDIFF__W_BF16, 1, 2},
    {"q8_0", TDIFF__W_Q8_0, 32, 34},  {"q4_0", TDIFF__W_Q4_0, 32, 18},  {"q4_k", TDIFF__W_Q4_K, 256, 144},
    {"q5_k", TDIFF__W_Q5_K, 256, 176}, {"q6_k", TDIFF__W_Q6_K, 256, 210},
};

/* Weights of a type with random bits and small finite scales. */
static void *make_weights(size_t t, size_t n, size_t K)
{
    const size_t nbytes = n * K / types[t].block * types[t].bytes;
    uint8_t *w = malloc(nbytes);
    for (size_t i = 0; i < nbytes; i++)
        w[i] = (uint8_t)rnd();
    const uint16_t small = 0x1c00; /* f16 0.0039 */
    for (size_t b = 0; b < nbytes / types[t].bytes; b++) {
        uint8_t *p = w + b * types[t].bytes;
        if (types[t].type == TDIFF__W_F32) {
            const float v = frand();
            memcpy(p, &v, 4);
        } else if (types[t].type == TDIFF__W_F16 || types[t].type == TDIFF__W_BF16) {
            const uint16_t h = types[t].type == TDIFF__W_F16 ? (uint16_t)(small | (rnd() & 0x83ff))
                                                              : (uint16_t)(tdiff__f32_bits(frand()) >> 16);
            memcpy(p, &h, 2);
        } else if (types[t].type == TDIFF__W_Q6_K) {
            memcpy(p + 208, &small, 2);
        } else {
            memcpy(p, &small, 2);
            if (types[t].block == 256)
                memcpy(p + 2, &small, 2);
        }
    }
    return w;
}

typedef struct bench_shape {
    const char *what;
    size_t m, n, K;
} bench_shape;

static const bench_shape shapes[] = {
    {"attn 768x768", 256, 768, 768},
    {"ffn up 2048x768", 256, 2048, 768},
    {"ffn down 768x2048", 256, 768, 2048},
    {"head 32000x768 (32 rows)", 32, 32000, 768},
};

static double best_of(int reps, void (*fn)(void *), void *ctx)
{
    double best = 1e30;
    fn(ctx); /* warm-up */
    for (int r = 0; r < reps; r++) {
        const double t0 = now();
        fn(ctx);
        const double t = now() - t0;
        best = t < best ? t : best;
    }
    return best;
}

typedef struct run_ctx {
    const tdiff__kernels *k;
    tdiff__pool *pool;
    const float *x;
    size_t m;
    tdiff__gemm_w w;
    float *y;
    const tdiff__gemm_ws *ws;
    const float *wf;
} run_ctx;

static void run_ours(void *p)
{
    run_ctx *c = p;
    const tdiff__gemm_op op = {c->y, c->w.n, &c->w, NULL};
    tdiff__gemm(c->k, c->pool, c->x, c->w.k, c->m, &op, 1, c->ws);
}

#if defined(BENCH_HAVE_CBLAS)
static void run_blas(void *p)
{
    run_ctx *c = p;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)c->m, (int)c->w.n, (int)c->w.k, 1.0f, c->x,
                (int)c->w.k, c->wf, (int)c->w.k, 0.0f, c->y, (int)c->w.n);
}
#endif

/* FMA throughput: 16 independent accumulators (enough to hide the latency). */
static double peak_gflops(const tdiff__kernels *k, tdiff__pool *pool, int reps, int vnni);

int main(int argc, char **argv)
{
    int threads = 2, reps = 5;
    const char *isa_name = NULL, *only = "all";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--threads"))
            threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--reps"))
            reps = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--isa"))
            isa_name = argv[i + 1];
        else if (!strcmp(argv[i], "--type"))
            only = argv[i + 1];
    }
    tdiff_isa isa = tdiff__isa_best();
    for (int i = TDIFF_ISA_SCALAR; isa_name && i <= TDIFF_ISA_NEON; i++)
        if (!strcmp(isa_name, tdiff_isa_to_string(i)))
            isa = (tdiff_isa)i;
    const tdiff__kernels *k = tdiff__kernels_for(isa);
    if (!k) {
        fprintf(stderr, "bench_gemm: variant %s not available here\n", tdiff_isa_to_string(isa));
        return 1;
    }
    tdiff__env env;
    tdiff__env_init(&env, NULL);
    tdiff__pool *pool = NULL;
    if (tdiff__pool_create(&env, (size_t)threads, &pool) != TDIFF_OK)
        return 1;
#if defined(BENCH_HAVE_CBLAS)
    openblas_set_num_threads(threads); /* a benchmark program may: it owns the process */
#endif
    if (threads == 1)
        g_clock = CLOCK_THREAD_CPUTIME_ID;
#if defined(BENCH_HAVE_CBLAS)
    printf("variant %s, %d threads (ours: pool; OpenBLAS %s: its own), %s time\n", k->name, threads,
           OPENBLAS_VERSION, threads == 1 ? "thread CPU" : "wall");
#else
    printf("variant %s, %d threads, %s time (built without OpenBLAS)\n", k->name, threads,
           threads == 1 ? "thread CPU" : "wall");
#endif
    printf("measured peak: %.0f GFLOP/s of FMAs", peak_gflops(k, pool, reps, 0));
    if (k->isa == TDIFF_ISA_AVX512)
        printf(", %.0f GOP/s of int8 VNNI multiply-adds", peak_gflops(k, pool, reps, 1));
    printf("\n");
    printf("%-26s %-5s %10s %10s %10s\n", "product", "type", "ms", "GFLOP/s", "OpenBLAS");
    printf("(block types: GFLOP/s counts the multiply-adds of the product, 2 per weight and row)\n");
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const bench_shape *sh = &shapes[s];
        float *x = malloc(sh->m * sh->K * sizeof *x), *y = malloc(sh->m * sh->n * sizeof *y);
        for (size_t i = 0; i < sh->m * sh->K; i++)
            x[i] = frand() * 20.0f;
        const double flops = 2.0 * (double)sh->m * (double)sh->n * (double)sh->K;
        for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
            if (strcmp(only, "all") && strcmp(only, types[t].name))
                continue;
            void *w = make_weights(t, sh->n, sh->K);
            const bool q8 = types[t].block > 1;
            tdiff__gemm_ws ws;
            ws.shared_bytes = tdiff__gemm_shared_bytes(k, sh->m, sh->K, !q8, q8);
            ws.per_thread = tdiff__gemm_thread_bytes(k, types[t].type, sh->K);
            ws.shared = aligned_alloc(64, ws.shared_bytes + 64);
            ws.threads = aligned_alloc(64, ws.per_thread * (size_t)threads + 64);
            run_ctx c = {k, pool, x, sh->m, {types[t].type, w, sh->n, sh->K, sh->K / types[t].block * types[t].bytes, 0},
                         y, &ws, w};
            const double ours = best_of(reps, run_ours, &c);
            printf("%-26s %-5s %10.3f %10.1f", sh->what, types[t].name, 1e3 * ours, flops / ours * 1e-9);
#if defined(BENCH_HAVE_CBLAS)
            if (types[t].type == TDIFF__W_F32)
                printf(" %10.1f", flops / best_of(reps, run_blas, &c) * 1e-9);
#endif
            printf("\n");
            free(ws.shared);
            free(ws.threads);
            free(w);
        }
        free(x);
        free(y);
    }
    tdiff__pool_free(pool);
    return 0;
}

/* The peak: each thread runs 24 independent chains of vector FMAs (enough to
 * cover the latency of both FMA pipes) on registers alone, with the widest
 * vectors the variant uses. */
#if defined(__x86_64__)
#include <immintrin.h>
__attribute__((target("avx512f"))) static double fma_loop_512(long iters)
{
    __m512 a[24], m = _mm512_set1_ps(0.999f), c = _mm512_set1_ps(1e-3f);
    for (int i = 0; i < 24; i++)
        a[i] = _mm512_set1_ps((float)i);
    for (long it = 0; it < iters; it++)
        _Pragma("GCC unroll 24") for (int i = 0; i < 24; i++)
            a[i] = _mm512_fmadd_ps(a[i], m, c);
    float s = 0, o[16];
    for (int i = 0; i < 24; i++) {
        _mm512_storeu_ps(o, a[i]);
        s += o[0];
    }
    return s + 2.0 * 16 * 24 * (double)iters * 0; /* keep the result alive */
}
/* The integer peak of the block types: 16 chains of vpdpbusd (64 multiply-adds each). */
__attribute__((target("avx512f,avx512bw,avx512vnni"))) static double vnni_loop_512(long iters)
{
    __m512i a[16], w = _mm512_set1_epi32(0x01020304), x = _mm512_set1_epi32(0x05060708);
    for (int i = 0; i < 16; i++)
        a[i] = _mm512_set1_epi32(i);
    for (long it = 0; it < iters; it++)
        _Pragma("GCC unroll 16") for (int i = 0; i < 16; i++)
            a[i] = _mm512_dpbusd_epi32(a[i], w, x);
    int s = 0;
    for (int i = 0; i < 16; i++)
        s += _mm512_reduce_add_epi32(a[i]);
    return (double)s;
}

__attribute__((target("avx2,fma"))) static double fma_loop_256(long iters)
{
    __m256 a[12], m = _mm256_set1_ps(0.999f), c = _mm256_set1_ps(1e-3f);
    for (int i = 0; i < 12; i++)
        a[i] = _mm256_set1_ps((float)i);
    for (long it = 0; it < iters; it++)
        _Pragma("GCC unroll 12") for (int i = 0; i < 12; i++)
            a[i] = _mm256_fmadd_ps(a[i], m, c);
    float s = 0, o[8];
    for (int i = 0; i < 12; i++) {
        _mm256_storeu_ps(o, a[i]);
        s += o[0];
    }
    return s;
}
#endif

typedef struct peak_ctx {
    tdiff_isa isa;
    int vnni;
    long iters;
    double sink;
} peak_ctx;

static void peak_task(void *p, size_t task, size_t thread)
{
    (void)task, (void)thread;
    peak_ctx *c = p;
#if defined(__x86_64__)
    c->sink += c->vnni ? vnni_loop_512(c->iters)
               : c->isa == TDIFF_ISA_AVX512 ? fma_loop_512(c->iters) : fma_loop_256(c->iters);
#endif
}

/* GFLOP/s of FMAs, or with vnni 1 giga-operations/s of vpdpbusd (2 per byte pair). */
static double peak_gflops(const tdiff__kernels *k, tdiff__pool *pool, int reps, int vnni)
{
#if defined(__x86_64__)
    if (k->isa != TDIFF_ISA_AVX512 && (vnni || k->isa != TDIFF_ISA_AVX2))
        return 0.0;
    const size_t T = tdiff__pool_size(pool);
    peak_ctx c = {k->isa, vnni, 2000000, 0.0};
    const double per_iter = vnni ? 2.0 * 64 * 16 : k->isa == TDIFF_ISA_AVX512 ? 2.0 * 16 * 24 : 2.0 * 8 * 12;
    double best = 1e30;
    for (int r = 0; r <= reps; r++) {
        const double t0 = now();
        tdiff__pool_for(pool, T, peak_task, &c);
        const double t = now() - t0;
        best = t < best ? t : best;
    }
    return per_iter * (double)c.iters * (double)T / best * 1e-9;
#else
    (void)k, (void)pool, (void)reps, (void)vnni;
    return 0.0;
#endif
}
