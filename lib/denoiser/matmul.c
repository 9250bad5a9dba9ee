/*
 * matmul.c -- the linear layers: Y = X W^T (+ b) for any stored weight type,
 * split over the handle's threads in FIXED column chunks.
 *
 * The chunk width depends only on the weight's shape, never on the thread
 * count, and each chunk is computed by one single-threaded call (cblas_sgemm for
 * >= DN_GEMM_MIN_ROWS rows, dot products below): every output element comes from
 * the same code path with the same operands whatever the thread count, which is
 * what makes results bit-identical for 1 or N threads. Splitting the output
 * columns (the weight's rows) rather than the input rows means each weight byte
 * is read and packed once per product.
 *
 * F32 weights are read in place from the map. Other types are dequantised one
 * chunk at a time into the running thread's scratch (bounded: DN_DEQ_BUDGET
 * floats), so peak memory stays near the file size.
 */
#include <cblas.h>

#include "internal.h"

/* Floats of dequantised weights one chunk may hold (reason: 4 MiB per thread
 * keeps a chunk in L2/L3 and bounds the scratch for 100k+ vocabularies). */
#define DN_DEQ_BUDGET (1u << 20)
/* Target number of chunks per product (reason: enough to balance up to 16
 * threads, few enough that per-call packing of X stays ~1% of the work). */
#define DN_CHUNKS 16u

static size_t round_up16(size_t v)
{
    return (v + 15) & ~(size_t)15;
}

/* Output columns per chunk: a function of the shape only. */
static size_t chunk_cols(const dn_mat *w)
{
    size_t c = round_up16((w->rows + DN_CHUNKS - 1) / DN_CHUNKS);
    if (c < 32)
        c = 32;
    size_t cap = (DN_DEQ_BUDGET / w->cols) & ~(size_t)15;
    if (cap < 16)
        cap = 16;
    return c < cap ? c : cap;
}

size_t tdiff__dn_matmul_scratch(const dn_mat *w)
{
    if (!w->t || tdiff__dn_in_place(w->t))
        return 0;
    size_t c = chunk_cols(w);
    return (c < w->rows ? c : w->rows) * w->cols;
}

typedef struct mm_job {
    tdiff_denoiser *d;
    const tdiff__dn_product *p;
    size_t n_products;
    size_t chunk[TDIFF__DN_MAX_PRODUCTS];
    size_t first_task[TDIFF__DN_MAX_PRODUCTS + 1];  /* prefix sums of chunk counts */
} mm_job;

/* One chunk of one product: columns [c0, c0 + nc) of p->y. */
static void mm_chunk(tdiff_denoiser *d, const tdiff__dn_product *p, size_t c0, size_t nc, size_t thread)
{
    const dn_mat *w = p->w;
    const tdiff__kernels *k = d->env.k;
    size_t K = w->cols;
    const float *wp;
    if (tdiff__dn_in_place(w->t)) {
        wp = (const float *)w->t->data + c0 * K;
    } else {
        float *buf = d->ws.deq + thread * d->ws.deq_floats;
        /* rows c0..c0+nc exist by construction: cannot fail */
        (void)tdiff__tensor_rows_to_f32(k, w->t, c0, nc, buf);
        wp = buf;
    }
    if (p->m >= DN_GEMM_MIN_ROWS) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)p->m, (int)nc, (int)K, 1.0f, p->x, (int)K, wp,
                    (int)K, 0.0f, p->y + c0, (int)p->ldy);
    } else {
        for (size_t r = 0; r < p->m; r++) {
            float *yr = p->y + r * p->ldy + c0;
            const float *xr = p->x + r * K;
            for (size_t c = 0; c < nc; c++)
                yr[c] = k->dot(xr, wp + c * K, K);
        }
    }
    if (p->bias)
        for (size_t r = 0; r < p->m; r++)
            k->add(p->y + r * p->ldy + c0, p->bias + c0, nc);
}

static void mm_task(void *ctx, size_t task, size_t thread)
{
    const mm_job *j = ctx;
    size_t i = 0;
    while (task >= j->first_task[i + 1])
        i++;
    const tdiff__dn_product *p = &j->p[i];
    size_t c0 = (task - j->first_task[i]) * j->chunk[i];
    size_t nc = p->w->rows - c0 < j->chunk[i] ? p->w->rows - c0 : j->chunk[i];
    mm_chunk(j->d, p, c0, nc, thread);
}

void tdiff__dn_matmul_multi(tdiff_denoiser *d, const tdiff__dn_product *p, size_t n_products)
{
    mm_job j;
    j.d = d;
    j.p = p;
    j.n_products = n_products;
    j.first_task[0] = 0;
    for (size_t i = 0; i < n_products; i++) {
        j.chunk[i] = chunk_cols(p[i].w);
        j.first_task[i + 1] = j.first_task[i] + (p[i].w->rows + j.chunk[i] - 1) / j.chunk[i];
    }
    tdiff__pool_for(d->pool, j.first_task[n_products], mm_task, &j);
}

void tdiff__dn_matmul(tdiff_denoiser *d, float *y, size_t ldy, const float *x, size_t m, const dn_mat *w,
                      const float *bias)
{
    tdiff__dn_product p = {y, ldy, x, m, w, bias};
    tdiff__dn_matmul_multi(d, &p, 1);
}
