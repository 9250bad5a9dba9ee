/*
 * simd_measure.c -- not a test: prints how far a vector variant is from the
 * scalar reference (largest error over 100000 random inputs, in units of
 * FLT_EPSILON) and how fast a few kernels run, for docs/simd.md.
 *
 *   ./build/tests/unit/simd/simd_measure [isa]     (isa: tdiff_isa value, default best)
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "simd/tables.h"
#include "simd_test.h"

#define N 100000
static float x[N], x2[N], a[N], b[N];
static uint16_t h[N];

/* max |a - b| / |b| / eps over entries with |b| in the normal range */
static double max_rel_eps(const float *got, const float *want, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        if (fabsf(want[i]) < FLT_MIN)
            continue;
        const double e = fabs((double)got[i] - want[i]) / fabs(want[i]);
        m = e > m ? e : m;
    }
    return m / FLT_EPSILON;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

typedef void (*unary_fn)(float *, const float *, size_t);

static void accuracy(const tdiff__kernels *v, const tdiff__kernels *s)
{
    const struct {
        const char *name;
        unary_fn fv, fs;
        float lo, hi;
    } un[] = {
        {"exp", v->exp, s->exp, -104, 89}, {"silu", v->silu, s->silu, -20, 20},
        {"gelu", v->gelu, s->gelu, -5, 5}, {"gelu", v->gelu, s->gelu, -20, 20},
        {"gelu_tanh", v->gelu_tanh, s->gelu_tanh, -5, 5},
    };
    for (size_t k = 0; k < sizeof un / sizeof un[0]; k++) {
        test_fill(x, N, un[k].lo, un[k].hi, (uint32_t)k + 1);
        un[k].fv(a, x, N);
        un[k].fs(b, x, N);
        printf("%-10s on [%g, %g]: %6.2f eps relative\n", un[k].name, (double)un[k].lo, (double)un[k].hi,
               max_rel_eps(a, b, N));
    }
    const size_t ns[] = {1000, 32000, N};
    for (size_t q = 0; q < 3; q++) {
        const size_t n = ns[q];
        test_fill(a, n, -20, 20, 5);
        memcpy(b, a, n * sizeof *a);
        const float la = v->softmax(a, n), lb = s->softmax(b, n);
        printf("softmax    n=%6zu: %6.2f eps relative (log-sum-exp %.2f eps)\n", n, max_rel_eps(a, b, n),
               fabs((double)la - lb) / fabs((double)lb) / FLT_EPSILON);
        test_fill(x, n, -3, 5, 6);
        v->rmsnorm(a, x, NULL, n, 1e-6f);
        s->rmsnorm(b, x, NULL, n, 1e-6f);
        printf("rmsnorm    n=%6zu: %6.2f eps relative\n", n, max_rel_eps(a, b, n));
        v->layernorm(a, x, NULL, NULL, n, 1e-5f);
        s->layernorm(b, x, NULL, NULL, n, 1e-5f);
        double m = 0;
        for (size_t i = 0; i < n; i++)
            m = fabs((double)a[i] - b[i]) > m ? fabs((double)a[i] - b[i]) : m;
        printf("layernorm  n=%6zu: %6.2f eps absolute\n", n, m / FLT_EPSILON);
        test_fill(x, n, -1, 1, 7);
        test_fill(x2, n, -1, 1, 8);
        double sa = 0;
        for (size_t i = 0; i < n; i++)
            sa += fabs((double)x[i] * x2[i]);
        printf("dot        n=%6zu: %6.3f eps * sum|ab|\n", n,
               fabs((double)v->dot(x, x2, n) - s->dot(x, x2, n)) / sa / FLT_EPSILON);
    }
}

/* ns per element of one kernel call on n elements, averaged over reps calls */
static double time_kernel(const tdiff__kernels *k, int which, size_t n, int reps)
{
    volatile float sink = 0;
    const double t0 = now();
    for (int r = 0; r < reps; r++) {
        switch (which) {
        case 0: sink += k->dot(x, x2, n); break;
        case 1: k->exp(a, x, n); break;
        case 2: memcpy(a, x, n * sizeof *x); sink += k->softmax(a, n); break;
        case 3: k->gelu(a, x, n); break;
        default: k->f16_to_f32(a, h, n); break;
        }
    }
    (void)sink;
    return (now() - t0) / reps * 1e9 / (double)n;
}

int main(int argc, char **argv)
{
    const tdiff_isa isa = argc > 1 ? (tdiff_isa)atoi(argv[1]) : tdiff__isa_best();
    const tdiff__kernels *v = tdiff__kernels_for(isa), *s = &tdiff__kernels_scalar;
    if (!v) {
        fprintf(stderr, "variant %s is not available here\n", tdiff_isa_to_string(isa));
        return 1;
    }
    printf("variant %s vs scalar: largest error over up to %d random inputs\n", v->name, N);
    accuracy(v, s);
    const size_t n = 4096; /* in L1 */
    test_fill(x, n, -10, 10, 9);
    test_fill(x2, n, -1, 1, 10);
    for (size_t i = 0; i < n; i++)
        h[i] = (uint16_t)(i * 2654435761u >> 16); /* every kind of f16 pattern */
    const char *names[] = {"dot", "exp", "softmax", "gelu", "f16_to_f32"};
    for (int k = 0; k < 5; k++) {
        const double tv = time_kernel(v, k, n, 5000), ts = time_kernel(s, k, n, 5000);
        printf("%-10s n=%zu: %s %.3f ns/elem, scalar %.3f ns/elem (%.1fx)\n", names[k], n, v->name, tv, ts, ts / tv);
    }
    return 0;
}
