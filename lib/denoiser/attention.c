/*
 * attention.c -- rotary position embeddings and scaled dot-product attention
 * (multi-head and grouped-query) with full, causal, block-causal and span
 * masks. Work is split into (head, tile of DN_ATT_TILE query rows) tasks, each
 * computed identically on whichever thread runs it; both products of a task go
 * through simd/gemm.h on that thread alone (no nested pool, no BLAS threads).
 *
 * Query rows carry their canvas positions (dn_rows): without a KV cache row r is
 * position r; with one, the rows are the positions a call recomputes and the
 * keys and values of every position come from the cache (cache.c).
 */
#include <math.h>

#include "internal.h"

/* ---- RoPE ---- */

/* cos/sin of pos * base^(-2i/rope_dim) for pos < max_len, i < rope_dim/2;
 * angles in double so long contexts keep their precision. */
void tdiff__dn_rope_init(tdiff_denoiser *d)
{
    const dn_config *c = &d->cfg;
    if (c->rope_style == TDIFF__ROPE_NONE)
        return;
    size_t half = c->rope_dim / 2;
    for (size_t i = 0; i < half; i++) {
        double inv_freq = pow((double)c->rope_base, -2.0 * (double)i / (double)c->rope_dim);
        for (size_t p = 0; p < d->max_len; p++) {
            double a = (double)p * inv_freq;
            d->ws.rope_cos[p * half + i] = (float)cos(a);
            d->ws.rope_sin[p * half + i] = (float)sin(a);
        }
    }
}

/* Rotates one head vector x[hd] at the position whose tables are cs, sn. */
static void rope_head(float *x, const float *cs, const float *sn, size_t rope_dim, tdiff__rope_style style)
{
    size_t half = rope_dim / 2;
    for (size_t i = 0; i < half; i++) {
        /* NORMAL pairs adjacent values (2i, 2i+1); NEOX pairs i with i + half. */
        size_t a = style == TDIFF__ROPE_NORMAL ? 2 * i : i;
        size_t b = style == TDIFF__ROPE_NORMAL ? 2 * i + 1 : i + half;
        float x0 = x[a], x1 = x[b];
        x[a] = x0 * cs[i] - x1 * sn[i];
        x[b] = x0 * sn[i] + x1 * cs[i];
    }
}

typedef struct rope_job {
    tdiff_denoiser *d;
    const dn_rows *rows;
} rope_job;

static void rope_task(void *ctx, size_t task, size_t thread)
{
    (void)thread;
    const rope_job *j = ctx;
    tdiff_denoiser *d = j->d;
    const dn_config *c = &d->cfg;
    size_t half = c->rope_dim / 2, dkv = c->n_head_kv * c->head_dim, m = j->rows->m;
    size_t r0 = task * DN_ATT_TILE, r1 = r0 + DN_ATT_TILE < m ? r0 + DN_ATT_TILE : m;
    for (size_t r = r0; r < r1; r++) {
        size_t p = tdiff__dn_row_pos(j->rows, r);
        const float *cs = d->ws.rope_cos + p * half, *sn = d->ws.rope_sin + p * half;
        for (size_t h = 0; h < c->n_head; h++)
            rope_head(d->ws.q + r * c->n_embd + h * c->head_dim, cs, sn, c->rope_dim, c->rope_style);
        for (size_t h = 0; h < c->n_head_kv; h++)
            rope_head(d->ws.k + r * dkv + h * c->head_dim, cs, sn, c->rope_dim, c->rope_style);
    }
}

void tdiff__dn_rope_apply(tdiff_denoiser *d, const dn_rows *rows)
{
    if (d->cfg.rope_style == TDIFF__ROPE_NONE)
        return;
    rope_job j = {d, rows};
    tdiff__pool_for(d->pool, (rows->m + DN_ATT_TILE - 1) / DN_ATT_TILE, rope_task, &j);
}

/* ---- attention ---- */

size_t tdiff__dn_mask_end(const dn_mask *mask, size_t i, size_t n)
{
    size_t end = n;
    if (mask->attention == TDIFF_ATTENTION_CAUSAL) {
        end = i + 1;
    } else if (mask->attention == TDIFF_ATTENTION_BLOCK_CAUSAL) {
        size_t o = mask->block_start;
        end = i < o ? o : o + ((i - o) / mask->block_len + 1) * mask->block_len;
    }
    return end < n ? end : n;
}

size_t tdiff__dn_mask_first_reader(const dn_mask *mask, size_t i)
{
    if (mask->attention == TDIFF_ATTENTION_CAUSAL)
        return i;
    if (mask->attention == TDIFF_ATTENTION_BLOCK_CAUSAL) {
        size_t o = mask->block_start;
        return i < o ? 0 : o + (i - o) / mask->block_len * mask->block_len;
    }
    return 0;
}

typedef struct att_job {
    tdiff_denoiser *d;
    const dn_rows *rows;
    const float *k, *v;    /* [n, dkv], row = position (packed: row = row)       */
    const dn_mask *mask;
    size_t n_tiles;        /* tiles of all sequences together                      */
} att_job;

/* Sets the scores of keys position i may not see (among the first n) to -inf.
 * Position i always sees itself, so no row is left empty. */
static void apply_mask(const dn_mask *mask, float *s, size_t i, size_t n)
{
    if (mask->attention == TDIFF_ATTENTION_SPANS) {
        const uint32_t *g = mask->span, gi = g[i];
        /* group 0: causal; span g: [0, c(i)] (+ [0, i) with span_earlier) and group g */
        size_t see = i + 1;
        if (gi != 0 && !mask->span_earlier) {
            see = 0;
            for (size_t c = i; c-- > 0;)
                if (g[c] == 0) {
                    see = c + 1;
                    break;
                }
        }
        for (size_t c = see; c < n; c++)
            if (gi == 0 || g[c] != gi)
                s[c] = -INFINITY;
        return;
    }
    for (size_t c = tdiff__dn_mask_end(mask, i, n); c < n; c++)
        s[c] = -INFINITY;
}

/* The sequence of a packed call that holds global tile `tile` (binary search
 * over seg_tile: first tile of each sequence, ascending). */
static size_t seg_of_tile(const size_t *seg_tile, size_t n_seg, size_t tile)
{
    size_t lo = 0, hi = n_seg;  /* seg_tile[lo] <= tile < seg_tile[hi] */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (seg_tile[mid] <= tile)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

static void att_task(void *ctx, size_t task, size_t thread)
{
    const att_job *j = ctx;
    tdiff_denoiser *d = j->d;
    const dn_config *c = &d->cfg;
    size_t hd = c->head_dim, dm = c->n_embd, dkv = c->n_head_kv * hd;
    size_t h = task / j->n_tiles, tile = task % j->n_tiles;
    /* One sequence's view: its rows, its query/output rows and its keys. A packed
     * sequence is computed exactly as it would be alone (rows 0..n-1, keys of its own). */
    const dn_rows *rows = j->rows;
    dn_rows one;
    const float *kb = j->k, *vb = j->v;
    const float *qb = d->ws.q;
    float *ob = d->ws.att;
    if (rows->n_seg) {
        size_t sg = seg_of_tile(d->ws.seg_tile, rows->n_seg, tile);
        size_t off = rows->seg[sg], len = rows->seg[sg + 1] - off;
        one = (dn_rows){.m = len, .n = len};
        rows = &one;
        tile -= d->ws.seg_tile[sg];
        kb += off * dkv;
        vb += off * dkv;
        qb += off * dm;
        ob += off * dm;
    }
    size_t m = rows->m, r0 = tile * DN_ATT_TILE;
    size_t tr = m - r0 < DN_ATT_TILE ? m - r0 : DN_ATT_TILE;
    /* Keys [0, nc) are the only ones the tile's rows can see under causal and
     * block-causal masks (positions ascend): the rest is skipped, not just masked. */
    size_t nc = tdiff__dn_mask_end(j->mask, tdiff__dn_row_pos(rows, r0 + tr - 1), rows->n);
    size_t g = h / (c->n_head / c->n_head_kv);  /* the kv head this query head shares */
    float *s = d->ws.scores + thread * (size_t)DN_ATT_TILE * d->max_len;  /* [tr, nc] */
    float scale = 1.0f / sqrtf((float)hd);

    const tdiff__kernels *k = d->env.k;
    tdiff__gemm_ws ws = {(uint8_t *)d->ws.att_pack + thread * d->ws.att_pack_bytes, d->ws.att_pack_bytes, NULL, 0};
    /* S [tr, nc] = Q_h K_g^T over the visible keys: K's rows are the weights */
    const tdiff__gemm_w keys = {TDIFF__GGML_F32, kb + g * hd, nc, hd, dkv * sizeof(float), 0};
    const tdiff__gemm_op qk = {s, nc, &keys, NULL};
    tdiff__gemm(k, NULL, qb + r0 * dm + h * hd, dm, tr, &qk, 1, &ws);
    for (size_t r = 0; r < tr; r++) {
        k->scale(s + r * nc, scale, nc);
        apply_mask(j->mask, s + r * nc, tdiff__dn_row_pos(rows, r0 + r), nc);
        k->softmax(s + r * nc, nc);
    }
    /* O_h [tr, hd] = P V_g: V seen transposed (element (c, key) at key * dkv + c) */
    const tdiff__gemm_w vals = {TDIFF__GGML_F32, vb + g * hd, hd, nc, sizeof(float), dkv};
    const tdiff__gemm_op pv = {ob + r0 * dm + h * hd, dm, &vals, NULL};
    tdiff__gemm(k, NULL, s, nc, tr, &pv, 1, &ws);
}

void tdiff__dn_attention(tdiff_denoiser *d, const dn_rows *rows, const float *k, const float *v,
                         const dn_mask *mask)
{
    att_job j = {d, rows, k, v, mask, (rows->m + DN_ATT_TILE - 1) / DN_ATT_TILE};
    if (rows->n_seg) { /* each sequence's tiles start at its own first row */
        size_t t = 0;
        for (size_t sg = 0; sg < rows->n_seg; sg++) {
            d->ws.seg_tile[sg] = t;
            t += (rows->seg[sg + 1] - rows->seg[sg] + DN_ATT_TILE - 1) / DN_ATT_TILE;
        }
        d->ws.seg_tile[rows->n_seg] = t;
        j.n_tiles = t;
    }
    tdiff__pool_for(d->pool, d->cfg.n_head * j.n_tiles, att_task, &j);
}
