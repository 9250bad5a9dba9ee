/*
 * bench_forward.c -- the denoiser's forward pass against its matrix products
 * alone ("kernels-only"), on llada GGUF files of any weight type.
 *
 * For each model: tdiff_denoiser_forward on `len` tokens with logits at `rows`
 * positions (a sampler's block of masks; --rows 0 = every position), and,
 * interleaved with it, exactly the products of that pass through the library's
 * own gemm (lib/simd/gemm.h) with the same thread count: Q/K/V, O, gate/up and
 * down per layer, Q K^T and P V per head, the output head on `rows` rows.
 * Reports the best of `reps` runs of each, GFLOP/s and forward / kernels-only:
 * the share of a forward that is not the products (norms, RoPE, softmax,
 * activations, residuals, embedding, thread hand-offs).
 *
 * Usage: bench_forward [--threads 2] [--len 256] [--rows 32] [--reps 5] MODEL.gguf...
 * (bench/generate/make_model.py writes the F32 110M model; textdiff quantize the others)
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/threads.h"
#include "model/model.h"
#include "simd/gemm.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct bench {
    size_t len, rows, layers, d, ff, heads, vocab;
    int threads, reps;
    const tdiff__kernels *k;
    tdiff__pool *pool;
    tdiff__gemm_ws ws;
    uint8_t *att_scratch;   /* per thread: packs + scores of one head */
    size_t att_per_thread;
    float *x, *y, *q, *kk, *v;
} bench;

static tdiff__gemm_w weight(const tdiff_model *m, const char *name)
{
    const tdiff__tensor *t = tdiff__tensor_find(m, name);
    if (!t) {
        fprintf(stderr, "bench_forward: no tensor %s\n", name);
        exit(1);
    }
    tdiff__gemm_w w = {t->type, t->data, t->ne[1], t->ne[0], t->row_bytes, 0};
    return w;
}

/* ---- kernels-only ---- */

typedef struct head_job {
    bench *b;
} head_job;

/* One head: S = Q_h K_h^T [len, len], then P V_h [len, hd] (the denoiser's two products). */
static void head_task(void *ctx, size_t h, size_t thread)
{
    bench *b = ((head_job *)ctx)->b;
    const size_t hd = b->d / b->heads, n = b->len;
    uint8_t *scratch = b->att_scratch + thread * b->att_per_thread;
    float *s = (float *)(void *)scratch;
    tdiff__gemm_ws ws = {scratch + n * n * sizeof(float), b->att_per_thread - n * n * sizeof(float), NULL, 0};
    const tdiff__gemm_w keys = {TDIFF__W_F32, b->kk + h * hd, n, hd, b->d * sizeof(float), 0};
    const tdiff__gemm_op qk = {s, n, &keys, NULL};
    tdiff__gemm(b->k, NULL, b->q + h * hd, b->d, n, &qk, 1, &ws);
    const tdiff__gemm_w vals = {TDIFF__W_F32, b->v + h * hd, hd, n, sizeof(float), b->d};
    const tdiff__gemm_op pv = {b->y + h * hd, b->d, &vals, NULL};
    tdiff__gemm(b->k, NULL, s, n, n, &pv, 1, &ws);
}

static double kernels_only(bench *b, const tdiff_model *m)
{
    char nm[64];
    const double t0 = now();
    for (size_t l = 0; l < b->layers; l++) {
        tdiff__gemm_w w[3];
#define W(i, what) (snprintf(nm, sizeof nm, "blk.%zu." what, l), w[i] = weight(m, nm))
        W(0, "attn_q.weight"), W(1, "attn_k.weight"), W(2, "attn_v.weight");
        const tdiff__gemm_op qkv[3] = {{b->q, b->d, &w[0], NULL}, {b->kk, b->d, &w[1], NULL}, {b->v, b->d, &w[2], NULL}};
        tdiff__gemm(b->k, b->pool, b->x, b->d, b->len, qkv, 3, &b->ws);
        head_job hj = {b};
        tdiff__pool_for(b->pool, b->heads, head_task, &hj);
        W(0, "attn_output.weight");
        const tdiff__gemm_op o = {b->x, b->d, &w[0], NULL};
        tdiff__gemm(b->k, b->pool, b->y, b->d, b->len, &o, 1, &b->ws);
        W(0, "ffn_gate.weight"), W(1, "ffn_up.weight");
        const tdiff__gemm_op gu[2] = {{b->y, b->ff, &w[0], NULL}, {b->y + b->len * b->ff, b->ff, &w[1], NULL}};
        tdiff__gemm(b->k, b->pool, b->x, b->d, b->len, gu, 2, &b->ws);
        W(0, "ffn_down.weight");
        const tdiff__gemm_op dn = {b->x, b->d, &w[0], NULL};
        tdiff__gemm(b->k, b->pool, b->y, b->ff, b->len, &dn, 1, &b->ws);
#undef W
    }
    const tdiff__gemm_w head = weight(m, tdiff__tensor_find(m, "output.weight") ? "output.weight" : "token_embd.weight");
    const tdiff__gemm_op ho = {b->y, b->vocab, &head, NULL};
    tdiff__gemm(b->k, b->pool, b->x, b->d, b->rows, &ho, 1, &b->ws);
    return now() - t0;
}

static double flops(const bench *b)
{
    const double n = (double)b->len, d = (double)b->d, f = (double)b->ff;
    return (double)b->layers * (2 * n * (4 * d * d + 3 * d * f) + 2 * 2 * n * n * d) +
           2 * (double)b->rows * d * (double)b->vocab;
}

static size_t max_thread_bytes(const bench *b, const tdiff_model *m)
{
    size_t best = 0;
    for (size_t i = 0; i < m->n_tensors; i++) {
        const tdiff__tensor *t = &m->tensors[i];
        if (t->n_dims == 2) {
            const size_t v = tdiff__gemm_thread_bytes(b->k, t->type, t->ne[0]);
            best = v > best ? v : best;
        }
    }
    return best;
}

static int run_model(const char *path, bench *b)
{
    char err[512];
    tdiff_model *m = NULL;
    if (tdiff_model_load_file(path, NULL, &m, err, sizeof err) != TDIFF_OK) {
        fprintf(stderr, "bench_forward: %s: %s\n", path, err);
        return 1;
    }
    b->layers = m->hp.n_layer, b->d = m->hp.n_embd, b->ff = m->hp.n_ff, b->heads = m->hp.n_head;
    b->vocab = m->hp.n_vocab;
    const size_t rows = b->rows ? b->rows : b->len;
    b->k = m->env.k;
    tdiff__env env;
    tdiff__env_init(&env, NULL);
    if (tdiff__pool_create(&env, (size_t)b->threads, &b->pool) != TDIFF_OK)
        return 1;
    const size_t kmax = b->ff > b->d ? b->ff : b->d;
    b->ws.shared_bytes = tdiff__gemm_shared_bytes(b->k, b->len, kmax, true, true);
    b->ws.per_thread = (max_thread_bytes(b, m) + 63) & ~(size_t)63;
    b->ws.shared = aligned_alloc(64, (b->ws.shared_bytes + 63) & ~(size_t)63);
    b->ws.threads = aligned_alloc(64, b->ws.per_thread * (size_t)b->threads + 64);
    b->att_per_thread = (b->len * b->len * sizeof(float) + tdiff__gemm_shared_bytes(b->k, b->len, b->len, true, false) +
                         63) & ~(size_t)63;
    b->att_scratch = aligned_alloc(64, b->att_per_thread * (size_t)b->threads);
    const size_t act = b->len * (b->ff > b->d ? 2 * b->ff : b->d);
    b->x = calloc(act, sizeof(float)), b->y = calloc(b->len * (b->vocab > 2 * b->ff ? b->vocab : 2 * b->ff), sizeof(float));
    b->q = calloc(b->len * b->d, sizeof(float)), b->kk = calloc(b->len * b->d, sizeof(float));
    b->v = calloc(b->len * b->d, sizeof(float));
    for (size_t i = 0; i < act; i++)
        b->x[i] = (float)(((i * 2654435761u) >> 7) % 1000) * 2e-3f - 1.0f;
    const size_t saved_rows = b->rows;
    b->rows = rows;

    tdiff_denoiser *d = NULL;
    if (tdiff_denoiser_create(m, b->len, b->threads, NULL, &d, err, sizeof err) != TDIFF_OK) {
        fprintf(stderr, "bench_forward: %s: %s\n", path, err);
        return 1;
    }
    int32_t *tok = malloc(b->len * sizeof *tok);
    uint32_t *pos = malloc(rows * sizeof *pos);
    float *logits = malloc(rows * b->vocab * sizeof *logits);
    for (size_t i = 0; i < b->len; i++)
        tok[i] = (int32_t)((i * 7919) % b->vocab);
    for (size_t r = 0; r < rows; r++)
        pos[r] = (uint32_t)(b->len - rows + r); /* the last block of the canvas */
    double best_f = INFINITY, best_k = INFINITY;
    for (int r = 0; r <= b->reps; r++) { /* run 0 warms up */
        const double tk = kernels_only(b, m), t0 = now();
        if (tdiff_denoiser_forward(d, tok, b->len, pos, rows, logits, rows * b->vocab) != TDIFF_OK) {
            fprintf(stderr, "bench_forward: %s\n", tdiff_denoiser_last_error(d));
            return 1;
        }
        const double tf = now() - t0;
        if (r) {
            best_f = tf < best_f ? tf : best_f;
            best_k = tk < best_k ? tk : best_k;
        }
    }
    const double fl = flops(b);
    printf("%-36s forward %8.1f ms (%6.1f GFLOP/s)  kernels-only %8.1f ms (%6.1f GFLOP/s)  forward/kernels %.3f\n",
           path, 1e3 * best_f, fl / best_f * 1e-9, 1e3 * best_k, fl / best_k * 1e-9, best_f / best_k);
    b->rows = saved_rows;
    tdiff_denoiser_free(d);
    free(tok), free(pos), free(logits), free(b->x), free(b->y), free(b->q), free(b->kk), free(b->v);
    free(b->ws.shared), free(b->ws.threads), free(b->att_scratch);
    tdiff__pool_free(b->pool);
    tdiff_model_free(m);
    return 0;
}

int main(int argc, char **argv)
{
    bench b = {0};
    b.len = 256, b.rows = 32, b.threads = 2, b.reps = 5;
    int first = 1;
    if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        printf("usage: bench_forward [--threads 2] [--len 256] [--rows 32] [--reps 5] MODEL.gguf...\n"
               "Times each file's denoiser forward (logits at --rows rows) against the same matrix\n"
               "products run alone through the library's kernels (kernels-only), best of --reps runs.\n");
        return 0;
    }
    for (; first + 1 < argc && argv[first][0] == '-'; first += 2) {
        const long v = strtol(argv[first + 1], NULL, 10);
        if (!strcmp(argv[first], "--threads")) b.threads = (int)v;
        else if (!strcmp(argv[first], "--len")) b.len = (size_t)v;
        else if (!strcmp(argv[first], "--rows")) b.rows = (size_t)v;
        else if (!strcmp(argv[first], "--reps")) b.reps = (int)v;
        else break;
    }
    if (first >= argc || b.threads < 1 || b.reps < 1 || b.len < 1 || b.rows > b.len) {
        fprintf(stderr, "usage: bench_forward [--threads 2] [--len 256] [--rows 32] [--reps 5] MODEL.gguf...\n");
        return 2;
    }
    printf("len %zu, logits at %zu rows, %d threads, best of %d interleaved runs, simd %s\n", b.len,
           b.rows ? b.rows : b.len, b.threads, b.reps, tdiff_isa_name());
    int rc = 0;
    for (int i = first; i < argc; i++)
        rc |= run_model(argv[i], &b);
    return rc;
}
