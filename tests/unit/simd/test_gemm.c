/*
 * test_gemm.c -- the matrix products (lib/simd/gemm.h):
 *  - the scalar reference follows gemm.h's recipe: checked in float64 against the
 *    weights as the dequantisation kernels give them (themselves bit-exact against
 *    numpy, tests/unit/model) and the activations quantised by the documented rule;
 *  - every vector variant this machine runs gives the scalar reference's bits, for
 *    every weight type, odd shapes (rows and columns that fill no tile), biases,
 *    strided and transposed F32 views, and non-finite activations;
 *  - 1, 2 or 3 threads give the same bits.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* 64-byte aligned scratch: C11's aligned_alloc, or the CRT's _aligned_malloc on
 * Windows, which has no aligned_alloc. */
#ifdef _WIN32
#include <malloc.h>
#define scratch_alloc(n) _aligned_malloc((n), 64)
#define scratch_free(p) _aligned_free(p)
#else
#define scratch_alloc(n) aligned_alloc(64, (n))
#define scratch_free(p) free(p)
#endif

#include "core/core.h"
#include "core/threads.h"
#include "simd/gemm.h"
#include "simd/half.h"
#include "simd/tables.h"
#include "support.h"

static const tdiff_isa isas[] = {TDIFF_ISA_SCALAR, TDIFF_ISA_AVX2, TDIFF_ISA_AVX512, TDIFF_ISA_NEON};
#define N_ISAS (sizeof isas / sizeof isas[0])

static const uint32_t types[] = {TDIFF__W_F32, TDIFF__W_F16, TDIFF__W_BF16, TDIFF__W_Q8_0,
                                 TDIFF__W_Q4_0, TDIFF__W_Q4_K, TDIFF__W_Q5_K, TDIFF__W_Q6_K};
#define N_TYPES (sizeof types / sizeof types[0])

static uint32_t rng_state = 12345;
static uint32_t rnd(void)
{
    rng_state = rng_state * 1664525u + 1013904223u;
    return rng_state >> 8;
}
static float uniform(float lo, float hi)
{
    return lo + (hi - lo) * (float)(rnd() & 0xffffff) / 16777216.0f;
}

/* Elements per block and bytes per block of a type. */
static void geometry(uint32_t type, size_t *block, size_t *bytes)
{
    switch (type) {
    case TDIFF__W_F32: *block = 1, *bytes = 4; break;
    case TDIFF__W_F16: case TDIFF__W_BF16: *block = 1, *bytes = 2; break;
    case TDIFF__W_Q8_0: *block = 32, *bytes = 34; break;
    case TDIFF__W_Q4_0: *block = 32, *bytes = 18; break;
    case TDIFF__W_Q4_K: *block = 256, *bytes = 144; break;
    case TDIFF__W_Q5_K: *block = 256, *bytes = 176; break;
    default: *block = 256, *bytes = 210; break;
    }
}

/* A random f16 bit pattern of a finite value near `scale`. */
static uint16_t f16_near(float scale)
{
    /* binary16 of scale * [0.5, 1): exponent field e, random mantissa */
    int e = (int)floorf(log2f(scale)) + 15 - 1;
    if (e < 1)
        e = 1;
    return (uint16_t)((e << 10) | (rnd() & 0x3ff));
}

/* Random weights [n, K] in the type's encoding: random bits with finite,
 * moderate scales (every bit of every field is exercised). */
static uint8_t *make_weights(uint32_t type, size_t n, size_t K, size_t *row_bytes)
{
    size_t block, bytes;
    geometry(type, &block, &bytes);
    *row_bytes = K / block * bytes;
    uint8_t *w = malloc(n * *row_bytes + 1);
    for (size_t i = 0; i < n * *row_bytes; i++)
        w[i] = (uint8_t)rnd();
    for (size_t r = 0; r < n; r++) {
        uint8_t *row = w + r * *row_bytes;
        for (size_t b = 0; b < K / block; b++) {
            uint8_t *blk = row + b * bytes;
            uint16_t h;
            switch (type) {
            case TDIFF__W_F32: {
                const float v = uniform(-1, 1);
                memcpy(blk, &v, 4);
                break;
            }
            case TDIFF__W_F16:
                h = (uint16_t)((rnd() & 0x8000) | f16_near(0.5f));
                memcpy(blk, &h, 2);
                break;
            case TDIFF__W_BF16:
                h = (uint16_t)(tdiff__f32_bits(uniform(-1, 1)) >> 16);
                memcpy(blk, &h, 2);
                break;
            case TDIFF__W_Q8_0: case TDIFF__W_Q4_0:
                h = f16_near(0.01f);
                memcpy(blk, &h, 2);
                break;
            case TDIFF__W_Q4_K: case TDIFF__W_Q5_K:
                h = f16_near(0.001f);
                memcpy(blk, &h, 2);
                h = f16_near(0.001f);
                memcpy(blk + 2, &h, 2);
                break;
            default:
                h = f16_near(0.001f);
                memcpy(blk + 208, &h, 2);
                break;
            }
        }
    }
    return w;
}

/* The weights as float, through the (numpy-verified) dequantisation kernels. */
static void dequantize(uint32_t type, const uint8_t *w, size_t n, size_t K, size_t row_bytes, float *out)
{
    const tdiff__kernels *s = &tdiff__kernels_scalar;
    for (size_t r = 0; r < n; r++) {
        const uint8_t *row = w + r * row_bytes;
        float *o = out + r * K;
        switch (type) {
        case TDIFF__W_F32: memcpy(o, row, K * 4); break;
        case TDIFF__W_F16: s->f16_to_f32(o, (const void *)row, K); break;
        case TDIFF__W_BF16: s->bf16_to_f32(o, (const void *)row, K); break;
        case TDIFF__W_Q8_0: s->dequant_q8_0(o, row, K); break;
        case TDIFF__W_Q4_0: s->dequant_q4_0(o, row, K); break;
        case TDIFF__W_Q4_K: s->dequant_q4_k(o, row, K); break;
        case TDIFF__W_Q5_K: s->dequant_q5_k(o, row, K); break;
        default: s->dequant_q6_k(o, row, K); break;
        }
    }
}

static bool is_block(uint32_t type)
{
    return type != TDIFF__W_F32 && type != TDIFF__W_F16 && type != TDIFF__W_BF16;
}

/* Runs one product with table k on `threads` threads (0: no pool). */
static void run_gemm(const tdiff__kernels *k, size_t threads, const tdiff__gemm_w *w, const float *x, size_t ldx,
                     size_t m, const float *bias, float *y, size_t ldy)
{
    tdiff__env env;
    assert_int_equal(tdiff__env_init(&env, NULL), TDIFF_OK);
    tdiff__pool *pool = NULL;
    if (threads)
        assert_int_equal(tdiff__pool_create(&env, threads, &pool), TDIFF_OK);
    const bool q8 = is_block(w->type);
    tdiff__gemm_ws ws;
    ws.shared_bytes = tdiff__gemm_shared_bytes(k, m, w->k, !q8, q8);
    ws.per_thread = tdiff__gemm_thread_bytes(k, w->type, w->k);
    ws.shared = scratch_alloc(ws.shared_bytes + 64);
    ws.threads = scratch_alloc(ws.per_thread * (threads ? threads : 1) + 64);
    const tdiff__gemm_op op = {y, ldy, w, bias};
    tdiff__gemm(k, pool, x, ldx, m, &op, 1, &ws);
    scratch_free(ws.shared);
    scratch_free(ws.threads);
    tdiff__pool_free(pool);
}

/* gemm.h's activation quantisation, written again here in plain C. */
static float quantize(const float *x, int8_t *q)
{
    float amax = 0;
    int bad = 0;
    for (int e = 0; e < 32; e++) {
        bad |= !isfinite(x[e]);
        amax = fmaxf(amax, fabsf(x[e]));
    }
    memset(q, 0, 32);
    if (bad)
        return NAN;
    const float d = amax / 127.0f, inv = d != 0.0f ? 1.0f / d : 0.0f;
    if (!isfinite(inv))
        return 0.0f;
    for (int e = 0; e < 32; e++)
        q[e] = (int8_t)nearbyintf(x[e] * inv);
    return d;
}

/* The scalar reference against float64 of the dequantised weights and the
 * quantised activations: only the f32 roundings of the recipe may differ, a
 * few per term (the recursive-summation bound (K + 8) eps sum |term|). */
static void test_scalar_reference_computes_the_documented_product(void **state)
{
    (void)state;
    const size_t m = 5, n = 7, K = 512;
    float *x = malloc(m * K * sizeof *x), *y = malloc(m * n * sizeof *y), *wf = malloc(n * K * sizeof *wf);
    for (size_t i = 0; i < m * K; i++)
        x[i] = uniform(-2, 2) * (i % 97 == 0 ? 30.0f : 1.0f);
    for (size_t t = 0; t < N_TYPES; t++) {
        size_t rb;
        uint8_t *w = make_weights(types[t], n, K, &rb);
        dequantize(types[t], w, n, K, rb, wf);
        const tdiff__gemm_w gw = {types[t], w, n, K, rb, 0};
        run_gemm(&tdiff__kernels_scalar, 0, &gw, x, K, m, NULL, y, n);
        for (size_t i = 0; i < m; i++)
            for (size_t c = 0; c < n; c++) {
                double want = 0, mag = 0;
                for (size_t b = 0; b < K / 32; b++) {
                    int8_t q[32];
                    const float d = is_block(types[t]) ? quantize(x + i * K + 32 * b, q) : 0.0f;
                    for (int e = 0; e < 32; e++) {
                        const size_t kk = 32 * b + (size_t)e;
                        const double xv = is_block(types[t]) ? (double)d * q[e] : (double)x[i * K + kk];
                        want += xv * wf[c * K + kk];
                        mag += fabs(xv * wf[c * K + kk]);
                    }
                }
                const double tol = ((double)K + 8) * 1.2e-7 * mag + 1e-30; /* recursive summation */
                if (fabs(y[i * n + c] - want) > tol)
                    fail_msg("type %u y[%zu][%zu] = %.9g, float64 %.9g (tol %.3g)", types[t], i, c,
                             (double)y[i * n + c], want, tol);
            }
        free(w);
    }
    free(x);
    free(y);
    free(wf);
}

static void expect_same_bits(const char *what, uint32_t type, size_t m, size_t n, const float *got,
                             const float *want, size_t ldy)
{
    for (size_t i = 0; i < m; i++)
        for (size_t c = 0; c < n; c++) {
            uint32_t a, b;
            memcpy(&a, &got[i * ldy + c], 4);
            memcpy(&b, &want[i * ldy + c], 4);
            if (a != b && !(isnan(got[i * ldy + c]) && isnan(want[i * ldy + c])))
                fail_msg("%s, type %u, m %zu n %zu: y[%zu][%zu] = %.9g (%08x), reference %.9g (%08x)", what, type, m,
                         n, i, c, (double)got[i * ldy + c], a, (double)want[i * ldy + c], b);
        }
}

/* Every variant and thread count gives the scalar bits, for shapes around
 * every tile edge. */
static void test_every_variant_and_thread_count_gives_the_reference_bits(void **state)
{
    (void)state;
    static const size_t ms[] = {1, 3, 16, 17, 33, 64, 71};
    static const size_t ns[] = {1, 5, 24, 49, 100};
    for (size_t t = 0; t < N_TYPES; t++) {
        const size_t K = is_block(types[t]) && types[t] >= TDIFF__W_Q4_K && types[t] <= TDIFF__W_Q6_K ? 512
                         : types[t] == TDIFF__W_Q8_0 || types[t] == TDIFF__W_Q4_0 ? 96 : 37;
        for (size_t a = 0; a < sizeof ms / sizeof ms[0]; a++)
            for (size_t b = 0; b < sizeof ns / sizeof ns[0]; b++) {
                const size_t m = ms[a], n = ns[b], ldx = K + 3, ldy = n + 2;
                size_t rb;
                uint8_t *w = make_weights(types[t], n, K, &rb);
                float *x = malloc(m * ldx * sizeof *x), *bias = malloc(n * sizeof *bias);
                float *want = malloc(m * ldy * sizeof *want), *got = malloc(m * ldy * sizeof *got);
                for (size_t i = 0; i < m * ldx; i++)
                    x[i] = uniform(-3, 3);
                for (size_t c = 0; c < n; c++)
                    bias[c] = uniform(-1, 1);
                const tdiff__gemm_w gw = {types[t], w, n, K, rb, 0};
                const float *bb = (a + b) % 2 ? bias : NULL;
                run_gemm(&tdiff__kernels_scalar, 0, &gw, x, ldx, m, bb, want, ldy);
                for (size_t v = 0; v < N_ISAS; v++) {
                    const tdiff__kernels *k = tdiff__kernels_for(isas[v]);
                    if (!k)
                        continue;
                    for (size_t threads = 0; threads <= 3; threads++) {
                        memset(got, 0, m * ldy * sizeof *got);
                        run_gemm(k, threads, &gw, x, ldx, m, bb, got, ldy);
                        expect_same_bits(k->name, types[t], m, n, got, want, ldy);
                    }
                }
                free(w);
                free(x);
                free(bias);
                free(want);
                free(got);
            }
    }
}

/* F32 weights seen through strides: every other row of a matrix, and a
 * transposed matrix ([K][N] storage, as attention's P V reads V). */
static void test_strided_and_transposed_f32_views(void **state)
{
    (void)state;
    const size_t m = 19, n = 13, K = 40;
    float *wt = malloc(K * n * sizeof *wt), *w2 = malloc(2 * n * K * sizeof *w2), *wn = malloc(n * K * sizeof *wn);
    float *x = malloc(m * K * sizeof *x), *want = malloc(m * n * sizeof *want), *got = malloc(m * n * sizeof *got);
    for (size_t i = 0; i < m * K; i++)
        x[i] = uniform(-1, 1);
    for (size_t c = 0; c < n; c++)
        for (size_t k = 0; k < K; k++) {
            wn[c * K + k] = uniform(-1, 1);
            wt[k * n + c] = wn[c * K + k];
            w2[2 * c * K + k] = wn[c * K + k];
            w2[(2 * c + 1) * K + k] = NAN; /* never read */
        }
    const tdiff__gemm_w natural = {TDIFF__W_F32, wn, n, K, K * 4, 0};
    const tdiff__gemm_w every_other = {TDIFF__W_F32, w2, n, K, 2 * K * 4, 0};
    const tdiff__gemm_w transposed = {TDIFF__W_F32, wt, n, K, 4, n};
    run_gemm(&tdiff__kernels_scalar, 0, &natural, x, K, m, NULL, want, n);
    for (size_t v = 0; v < N_ISAS; v++) {
        const tdiff__kernels *k = tdiff__kernels_for(isas[v]);
        if (!k)
            continue;
        run_gemm(k, 2, &every_other, x, K, m, NULL, got, n);
        expect_same_bits("every other row", TDIFF__W_F32, m, n, got, want, n);
        run_gemm(k, 2, &transposed, x, K, m, NULL, got, n);
        expect_same_bits("transposed", TDIFF__W_F32, m, n, got, want, n);
    }
    free(wt), free(w2), free(wn), free(x), free(want), free(got);
}

/* A NaN or infinite activation turns its row's outputs into NaN for block
 * weights (the block's scale is NaN), in every variant alike; tiny blocks
 * (1/d overflows) contribute nothing instead of garbage. */
static void test_non_finite_and_tiny_activations(void **state)
{
    (void)state;
    const size_t m = 4, n = 6, K = 64;
    size_t rb;
    uint8_t *w = make_weights(TDIFF__W_Q8_0, n, K, &rb);
    float x[4 * 64], want[4 * 6], got[4 * 6];
    for (size_t i = 0; i < m * K; i++)
        x[i] = uniform(-1, 1);
    x[0 * K + 3] = NAN;
    x[1 * K + 40] = INFINITY;
    for (size_t e = 0; e < 32; e++)
        x[2 * K + e] = 1e-39f * (float)(e % 3); /* subnormal block: 1/d overflows */
    const tdiff__gemm_w gw = {TDIFF__W_Q8_0, w, n, K, rb, 0};
    run_gemm(&tdiff__kernels_scalar, 0, &gw, x, K, m, NULL, want, n);
    for (size_t c = 0; c < n; c++) {
        assert_true(isnan(want[0 * n + c]));
        assert_true(isnan(want[1 * n + c]));
        assert_true(isfinite(want[2 * n + c]));
        assert_true(isfinite(want[3 * n + c]));
    }
    for (size_t v = 0; v < N_ISAS; v++) {
        const tdiff__kernels *k = tdiff__kernels_for(isas[v]);
        if (!k)
            continue;
        run_gemm(k, 1, &gw, x, K, m, NULL, got, n);
        expect_same_bits("non-finite", TDIFF__W_Q8_0, m, n, got, want, n);
    }
    free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scalar_reference_computes_the_documented_product),
        cmocka_unit_test(test_every_variant_and_thread_count_gives_the_reference_bits),
        cmocka_unit_test(test_strided_and_transposed_f32_views),
        cmocka_unit_test(test_non_finite_and_tiny_activations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
