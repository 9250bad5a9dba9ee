/*
 * nearest.c -- nearest-embedding rounding and clamping (Diffusion-LM): for each
 * vector x the token v minimising ||x - e_v||^2 = ||e_v||^2 - 2 x.e_v + ||x||^2.
 * The dot products x.e_v come from the library's matrix product (simd/gemm.h)
 * on tiles of ROW_TILE vectors x VOCAB_TILE embeddings, the norms from a
 * float64 loop: every score is then the same bits for any batch size, SIMD
 * variant or thread, so the chosen ids are too. A pure function apart from the
 * host's allocator and log.
 */
#include <math.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "core/core.h"
#include "simd/gemm.h"
#include "simd/simd.h"

#define ROW_TILE 256      /* vectors a product takes (reason: ~1 MiB of tile scratch below) */
#define VOCAB_TILE 1024   /* embeddings a product takes */

/* Keeps the best (lowest score, then lowest id) candidate. */
static void consider(float score, size_t v, float *best, size_t *best_v)
{
    if (score < *best || (score == *best && v < *best_v)) {
        *best = score;
        *best_v = v;
    }
}

tdiff_status tdiff_embed_nearest(const tdiff_host *host, const float *emb, size_t n_vocab, size_t dim,
                                 const float *x, size_t n, int32_t *ids, float *clamped)
{
    tdiff__env env_store;
    tdiff__env *env = &env_store; /* allocator, SIMD table, and where a failure is logged */
    tdiff_status st = tdiff__env_setup(env, host);
    if (st != TDIFF_OK)
        return st;
    if (!emb || !x || n_vocab == 0 || dim == 0 || n == 0 || (!ids && !clamped))
        return tdiff__fail(env, TDIFF_E_INVALID_ARGUMENT, "NULL input, zero size, or no output requested");
    if (n_vocab > (size_t)INT32_MAX || dim > (size_t)INT_MAX)
        return tdiff__fail(env, TDIFF_E_OVERFLOW, "n_vocab %zu or dim %zu too large", n_vocab, dim);
    size_t vd;
    if (!tdiff__mul_size(n_vocab, dim, &vd) || !tdiff__mul_size(n, dim, &vd))
        return tdiff__fail(env, TDIFF_E_OVERFLOW, "matrix sizes overflow");
    const tdiff__kernels *k = env->k;
    const size_t rows = n < ROW_TILE ? n : ROW_TILE;
    const size_t pack = tdiff__gemm_shared_bytes(k, rows, dim, true, false);
    float *norms = tdiff__calloc(env, n_vocab, sizeof *norms); /* [V] ||e_v||^2 */
    float *best = tdiff__calloc(env, n, sizeof *best);
    size_t *best_v = tdiff__calloc(env, n, sizeof *best_v);
    float *tile = tdiff__calloc(env, rows * VOCAB_TILE, sizeof *tile);
    uint8_t *pack_mem = tdiff__malloc(env, pack + 64); /* 64 more: the pack starts on a cache line */
    if (!norms || !best || !best_v || !tile || !pack_mem) {
        tdiff__free(env, norms);
        tdiff__free(env, best);
        tdiff__free(env, best_v);
        tdiff__free(env, tile);
        tdiff__free(env, pack_mem);
        return tdiff__fail(env, TDIFF_E_OUT_OF_MEMORY, "out of memory for nearest-embedding scratch");
    }
    const tdiff__gemm_ws ws = {(void *)(((uintptr_t)pack_mem + 63) & ~(uintptr_t)63), pack, NULL, 0};
    for (size_t v = 0; v < n_vocab; v++) {
        double s2 = 0.0;
        for (size_t j = 0; j < dim; j++)
            s2 += (double)emb[v * dim + j] * (double)emb[v * dim + j];
        norms[v] = (float)s2;
    }
    for (size_t i = 0; i < n; i++) {
        best[i] = INFINITY;
        best_v[i] = n_vocab;
    }
    for (size_t r0 = 0; r0 < n; r0 += ROW_TILE) {
        const size_t rn = n - r0 < ROW_TILE ? n - r0 : ROW_TILE;
        for (size_t v0 = 0; v0 < n_vocab; v0 += VOCAB_TILE) {
            const size_t vn = n_vocab - v0 < VOCAB_TILE ? n_vocab - v0 : VOCAB_TILE;
            /* tile[rn, vn] = x[r0.., :] emb[v0.., :]^T */
            const tdiff__gemm_w e = {TDIFF__W_F32, emb + v0 * dim, vn, dim, dim * sizeof(float), 0};
            const tdiff__gemm_op op = {tile, vn, &e, NULL};
            tdiff__gemm(k, NULL, x + r0 * dim, dim, rn, &op, 1, &ws);
            for (size_t r = 0; r < rn; r++)
                for (size_t c = 0; c < vn; c++)
                    consider(norms[v0 + c] - 2.0f * tile[r * vn + c], v0 + c, &best[r0 + r], &best_v[r0 + r]);
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (best_v[i] >= n_vocab) { /* every score was NaN: x or emb holds NaN */
            st = tdiff__fail(env, TDIFF_E_INVALID_ARGUMENT, "vector %zu or the embeddings are not finite", i);
            break;
        }
        if (ids)
            ids[i] = (int32_t)best_v[i];
        if (clamped)
            memmove(clamped + i * dim, emb + best_v[i] * dim, dim * sizeof *clamped);
    }
    tdiff__free(env, norms);
    tdiff__free(env, best);
    tdiff__free(env, best_v);
    tdiff__free(env, tile);
    tdiff__free(env, pack_mem);
    return st;
}
