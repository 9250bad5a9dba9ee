/*
 * matmul.c -- the linear layers: Y = X W^T (+ b) for any stored weight type,
 * through the library's one matrix product (simd/gemm.h) on the handle's pool.
 * gemm.h defines every output element exactly, whatever the thread count or
 * SIMD variant, so results are bit-identical for 1 or N threads. Weights are
 * read in place from the map; block types are decoded a few columns at a time
 * into the running thread's scratch, so peak memory stays near the file size.
 */
#include "internal.h"

/* The gemm view of a weight matrix. */
static tdiff__gemm_w view(const dn_mat *w)
{
    tdiff__gemm_w g = {w->t->type, w->t->data, w->rows, w->cols, w->t->row_bytes, 0};
    return g;
}

size_t tdiff__dn_matmul_thread_bytes(const tdiff_denoiser *d, const dn_mat *w)
{
    return w->t ? tdiff__gemm_thread_bytes(d->env.k, w->t->type, w->cols) : 0;
}

void tdiff__dn_matmul_multi(tdiff_denoiser *d, const tdiff__dn_product *p, size_t n_products)
{
    tdiff__gemm_w w[TDIFF__DN_MAX_PRODUCTS];
    tdiff__gemm_op ops[TDIFF__DN_MAX_PRODUCTS];
    for (size_t i = 0; i < n_products; i++) { /* every product reads the same x (Q/K/V, gate/up) */
        w[i] = view(p[i].w);
        ops[i] = (tdiff__gemm_op){p[i].y, p[i].ldy, &w[i], p[i].bias};
    }
    tdiff__gemm(d->env.k, d->pool, p[0].x, p[0].w->cols, p[0].m, ops, n_products, &d->ws.gemm);
}

void tdiff__dn_matmul(tdiff_denoiser *d, float *y, size_t ldy, const float *x, size_t m, const dn_mat *w,
                      const float *bias)
{
    tdiff__dn_product p = {y, ldy, x, m, w, bias};
    tdiff__dn_matmul_multi(d, &p, 1);
}
