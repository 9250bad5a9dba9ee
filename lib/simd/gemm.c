/*
 * gemm.c -- the driver of the matrix products (gemm.h): packs (and quantises)
 * the activations once per call, then splits the output columns of every op
 * into fixed chunks that the pool's threads take in any order. Which thread
 * computes a chunk, and how the kernels tile it, never changes a result
 * (gemm.h), so the chunk width is free to serve load balance alone.
 */
#include <string.h>

#include "gemm.h"

/* Output columns per chunk: a multiple of 48 (every tile width of every
 * variant divides it: 1, 2, 3, 4, 5, 6, 8, 12, 16, 24) near N/16 (reason:
 * enough chunks to balance up to 16 threads, wide enough to amortise a call). */
#define CHUNK_QUANTUM 48u
#define CHUNKS_PER_OP 16u
/* Row groups per packing task (reason: a few hundred KB of activations each). */
#define PACK_GROUPS 4u

static size_t round64(size_t n)
{
    return (n + 63) & ~(size_t)63;
}

static bool is_block(uint32_t type)
{
    return type == TDIFF__W_Q8_0 || type == TDIFF__W_Q4_0 || type == TDIFF__W_Q4_K || type == TDIFF__W_Q5_K ||
           type == TDIFF__W_Q6_K;
}

bool tdiff__gemm_type_ok(uint32_t type)
{
    return type == TDIFF__W_F32 || type == TDIFF__W_F16 || type == TDIFF__W_BF16 || is_block(type);
}

static size_t groups(const tdiff__kernels *k, size_t m)
{
    return (m + k->gemm_group - 1) / k->gemm_group;
}

static size_t pack_f32_bytes(const tdiff__kernels *k, size_t m, size_t K)
{
    return round64(groups(k, m) * k->gemm_group * K * sizeof(float));
}

size_t tdiff__gemm_shared_bytes(const tdiff__kernels *k, size_t m, size_t K, bool f32, bool q8)
{
    size_t n = 0;
    if (f32)
        n += pack_f32_bytes(k, m, K);
    if (q8)
        n += round64(groups(k, m) * (K / 32) * k->gemm_qblock);
    return n;
}

size_t tdiff__gemm_thread_bytes(const tdiff__kernels *k, uint32_t type, size_t K)
{
    if (type == TDIFF__W_F16 || type == TDIFF__W_BF16)
        return round64(k->gemm_cols * K * sizeof(float));
    if (is_block(type))
        return round64(tdiff__gemm_q_scratch(k->gemm_cols, K));
    return 0;
}

static size_t chunk_cols(size_t n)
{
    const size_t c = (n + CHUNKS_PER_OP - 1) / CHUNKS_PER_OP;
    return (c + CHUNK_QUANTUM - 1) / CHUNK_QUANTUM * CHUNK_QUANTUM;
}

typedef struct job {
    const tdiff__kernels *k;
    const float *x;
    size_t ldx, m, K;
    const tdiff__gemm_op *ops;
    size_t n_ops;
    const tdiff__gemm_ws *ws;
    float *xpf;       /* F32 pack, or NULL */
    void *xpq;        /* Q8 pack, or NULL  */
    size_t chunk[TDIFF__GEMM_MAX_OPS];
    size_t first[TDIFF__GEMM_MAX_OPS + 1]; /* prefix sums of chunk counts */
} job;

static void pack_task(void *ctx, size_t task, size_t thread)
{
    (void)thread;
    const job *j = ctx;
    const size_t ng = groups(j->k, j->m), g0 = task * PACK_GROUPS;
    const size_t g1 = g0 + PACK_GROUPS < ng ? g0 + PACK_GROUPS : ng;
    if (j->xpf)
        j->k->pack_f32(j->xpf, j->x, j->ldx, j->m, j->K, g0, g1);
    if (j->xpq)
        j->k->pack_q8(j->xpq, j->x, j->ldx, j->m, j->K, g0, g1);
}

/* Columns [c0, c0 + nc) of one op. */
static void run_chunk(const job *j, const tdiff__gemm_op *op, size_t c0, size_t nc, void *scratch)
{
    const tdiff__kernels *k = j->k;
    const tdiff__gemm_w *w = op->w;
    const float *bias = op->bias ? op->bias + c0 : NULL;
    float *y = op->y + c0;
    const uint8_t *src = (const uint8_t *)w->data + c0 * w->row_bytes;
    if (w->type == TDIFF__W_F32) {
        const size_t sn = w->row_bytes / sizeof(float), sk = w->k_stride ? w->k_stride : 1;
        k->gemm_f32(y, op->ldy, j->m, j->xpf, j->K, (const float *)(const void *)src, sn, sk, nc, bias);
    } else if (w->type == TDIFF__W_F16 || w->type == TDIFF__W_BF16) {
        /* widen a slice of columns at a time (exact), then the F32 kernel */
        float *buf = scratch;
        for (size_t s = 0; s < nc; s += k->gemm_cols) {
            const size_t ns = nc - s < k->gemm_cols ? nc - s : k->gemm_cols;
            for (size_t c = 0; c < ns; c++) {
                const uint16_t *row = (const uint16_t *)(const void *)(src + (s + c) * w->row_bytes);
                (w->type == TDIFF__W_F16 ? k->f16_to_f32 : k->bf16_to_f32)(buf + c * j->K, row, j->K);
            }
            k->gemm_f32(y + s, op->ldy, j->m, j->xpf, j->K, buf, j->K, 1, ns, bias ? bias + s : NULL);
        }
    } else {
        k->gemm_q(y, op->ldy, j->m, j->xpq, j->K, w->type, src, w->row_bytes, nc, bias, scratch);
    }
}

static void chunk_task(void *ctx, size_t task, size_t thread)
{
    const job *j = ctx;
    size_t i = 0;
    while (task >= j->first[i + 1])
        i++;
    const tdiff__gemm_op *op = &j->ops[i];
    const size_t c0 = (task - j->first[i]) * j->chunk[i];
    const size_t nc = op->w->n - c0 < j->chunk[i] ? op->w->n - c0 : j->chunk[i];
    /* no scratch at all (per_thread 0) leaves threads NULL: no arithmetic on it */
    uint8_t *scratch = j->ws->threads ? (uint8_t *)j->ws->threads + thread * j->ws->per_thread : NULL;
    run_chunk(j, op, c0, nc, scratch);
}

static void run(tdiff__pool *pool, size_t n_tasks, tdiff__pool_fn fn, void *ctx)
{
    if (pool) {
        tdiff__pool_for(pool, n_tasks, fn, ctx);
        return;
    }
    for (size_t t = 0; t < n_tasks; t++)
        fn(ctx, t, 0);
}

void tdiff__gemm(const tdiff__kernels *k, tdiff__pool *pool, const float *x, size_t ldx, size_t m,
                 const tdiff__gemm_op *ops, size_t n_ops, const tdiff__gemm_ws *ws)
{
    if (m == 0 || n_ops == 0)
        return;
    job j = {.k = k, .x = x, .ldx = ldx, .m = m, .K = ops[0].w->k, .ops = ops, .n_ops = n_ops, .ws = ws};
    bool f32 = false, q8 = false;
    j.first[0] = 0;
    for (size_t i = 0; i < n_ops; i++) {
        if (is_block(ops[i].w->type))
            q8 = true;
        else
            f32 = true;
        j.chunk[i] = chunk_cols(ops[i].w->n);
        j.first[i + 1] = j.first[i] + (ops[i].w->n + j.chunk[i] - 1) / j.chunk[i];
    }
    j.xpf = f32 ? ws->shared : NULL;
    j.xpq = q8 ? (uint8_t *)ws->shared + (f32 ? pack_f32_bytes(k, m, j.K) : 0) : NULL;
    run(pool, (groups(k, m) + PACK_GROUPS - 1) / PACK_GROUPS, pack_task, &j);
    run(pool, j.first[n_ops], chunk_task, &j);
}
