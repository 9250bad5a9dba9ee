/*
 * nearest.c -- nearest-embedding rounding and clamping (Diffusion-LM): for each
 * vector x the token v minimising ||x − e_v||² = ||e_v||² − 2·x·e_v + ||x||².
 * Small batches use the SIMD dot kernel per pair; n ≥ 16 vectors use cblas_sgemm
 * on tiles of ROW_TILE vectors × VOCAB_TILE embeddings (1 MiB of scratch). A pure
 * function apart from the host's allocator and log.
 */
#include <cblas.h>
#include <math.h>
#include <limits.h>
#include <string.h>

#include "core/core.h"
#include "simd/simd.h"

#define GEMM_MIN_ROWS 16   /* the project's rule: M ≥ 16 goes through sgemm */
#define ROW_TILE 256
#define VOCAB_TILE 1024

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
    tdiff_status st = tdiff__env_init(env, host);
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
    float *norms = tdiff__calloc(env, n_vocab, sizeof *norms); /* [V] ||e_v||² */
    float *best = tdiff__calloc(env, n, sizeof *best);
    size_t *best_v = tdiff__calloc(env, n, sizeof *best_v);
    float *tile = NULL;
    bool gemm = n >= GEMM_MIN_ROWS;
    if (gemm)
        tile = tdiff__calloc(env, (size_t)ROW_TILE * VOCAB_TILE, sizeof *tile);
    if (!norms || !best || !best_v || (gemm && !tile)) {
        tdiff__free(env, norms);
        tdiff__free(env, best);
        tdiff__free(env, best_v);
        tdiff__free(env, tile);
        return tdiff__fail(env, TDIFF_E_OUT_OF_MEMORY, "out of memory for nearest-embedding scratch");
    }
    for (size_t v = 0; v < n_vocab; v++)
        norms[v] = k->dot(emb + v * dim, emb + v * dim, dim);
    for (size_t i = 0; i < n; i++) {
        best[i] = INFINITY;
        best_v[i] = n_vocab;
    }
    if (!gemm) {
        for (size_t i = 0; i < n; i++)
            for (size_t v = 0; v < n_vocab; v++)
                consider(norms[v] - 2.0f * k->dot(x + i * dim, emb + v * dim, dim), v, &best[i], &best_v[i]);
    } else {
        for (size_t r0 = 0; r0 < n; r0 += ROW_TILE) {
            size_t rn = n - r0 < ROW_TILE ? n - r0 : ROW_TILE;
            for (size_t v0 = 0; v0 < n_vocab; v0 += VOCAB_TILE) {
                size_t vn = n_vocab - v0 < VOCAB_TILE ? n_vocab - v0 : VOCAB_TILE;
                /* tile[rn, vn] = x[r0.., :] · emb[v0.., :]ᵀ */
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rn, (int)vn, (int)dim, 1.0f,
                            x + r0 * dim, (int)dim, emb + v0 * dim, (int)dim, 0.0f, tile, (int)vn);
                for (size_t r = 0; r < rn; r++)
                    for (size_t c = 0; c < vn; c++)
                        consider(norms[v0 + c] - 2.0f * tile[r * vn + c], v0 + c, &best[r0 + r], &best_v[r0 + r]);
            }
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
    return st;
}
