/*
 * attention.c -- rotary position embeddings and scaled dot-product attention
 * (multi-head and grouped-query) with full, causal, block-causal and span
 * masks. Work is split into (head, tile of DN_ATT_TILE query rows) tasks, each
 * computed identically on whichever thread runs it; both products of a task go
 * through simd/gemm.h on that thread alone (no nested pool, no BLAS threads).
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
    size_t n;
} rope_job;

static void rope_task(void *ctx, size_t task, size_t thread)
{
    (void)thread;
    const rope_job *j = ctx;
    tdiff_denoiser *d = j->d;
    const dn_config *c = &d->cfg;
    size_t half = c->rope_dim / 2, dkv = c->n_head_kv * c->head_dim;
    size_t r0 = task * DN_ATT_TILE, r1 = r0 + DN_ATT_TILE < j->n ? r0 + DN_ATT_TILE : j->n;
    for (size_t p = r0; p < r1; p++) {
        const float *cs = d->ws.rope_cos + p * half, *sn = d->ws.rope_sin + p * half;
        for (size_t h = 0; h < c->n_head; h++)
            rope_head(d->ws.q + p * c->n_embd + h * c->head_dim, cs, sn, c->rope_dim, c->rope_style);
        for (size_t h = 0; h < c->n_head_kv; h++)
            rope_head(d->ws.k + p * dkv + h * c->head_dim, cs, sn, c->rope_dim, c->rope_style);
    }
}

void tdiff__dn_rope_apply(tdiff_denoiser *d, size_t n)
{
    if (d->cfg.rope_style == TDIFF__ROPE_NONE)
        return;
    rope_job j = {d, n};
    tdiff__pool_for(d->pool, (n + DN_ATT_TILE - 1) / DN_ATT_TILE, rope_task, &j);
}

/* ---- attention ---- */

typedef struct att_job {
    tdiff_denoiser *d;
    size_t n, n_tiles;
    int attention;
    size_t block_len;
    const uint32_t *span;
} att_job;

/* Sets the scores of keys row i may not see (among the first n) to -inf. Row i
 * always sees itself, so no row is left empty. */
static void apply_mask(const att_job *j, float *s, size_t i, size_t n)
{
    size_t from = n;
    switch (j->attention) {
    case TDIFF_ATTENTION_CAUSAL:
        from = i + 1;
        break;
    case TDIFF_ATTENTION_BLOCK_CAUSAL:
        from = (i / j->block_len + 1) * j->block_len;
        break;
    case TDIFF_ATTENTION_SPANS:
        for (size_t c = 0; c < n; c++)
            if (j->span[c] != j->span[i] && j->span[c] != 0)
                s[c] = -INFINITY;
        return;
    default:
        return;
    }
    for (size_t c = from; c < n; c++)
        s[c] = -INFINITY;
}

/* Keys [0, cols) are the only ones rows [r0, r0 + tr) can see under causal and
 * block-causal masks: the rest is skipped, not just masked. */
static size_t visible_cols(const att_job *j, size_t r0, size_t tr)
{
    size_t last = r0 + tr - 1, cols = j->n;
    if (j->attention == TDIFF_ATTENTION_CAUSAL)
        cols = last + 1;
    else if (j->attention == TDIFF_ATTENTION_BLOCK_CAUSAL)
        cols = (last / j->block_len + 1) * j->block_len;
    return cols < j->n ? cols : j->n;
}

static void att_task(void *ctx, size_t task, size_t thread)
{
    const att_job *j = ctx;
    tdiff_denoiser *d = j->d;
    const dn_config *c = &d->cfg;
    size_t hd = c->head_dim, dm = c->n_embd, dkv = c->n_head_kv * hd, n = j->n;
    size_t h = task / j->n_tiles, r0 = (task % j->n_tiles) * DN_ATT_TILE;
    size_t tr = n - r0 < DN_ATT_TILE ? n - r0 : DN_ATT_TILE;
    size_t nc = visible_cols(j, r0, tr);
    size_t g = h / (c->n_head / c->n_head_kv);  /* the kv head this query head shares */
    float *s = d->ws.scores + thread * (size_t)DN_ATT_TILE * d->max_len;  /* [tr, nc] */
    float scale = 1.0f / sqrtf((float)hd);

    const tdiff__kernels *k = d->env.k;
    tdiff__gemm_ws ws = {(uint8_t *)d->ws.att_pack + thread * d->ws.att_pack_bytes, d->ws.att_pack_bytes, NULL, 0};
    /* S [tr, nc] = Q_h K_g^T over the visible keys: K's rows are the weights */
    const tdiff__gemm_w keys = {TDIFF__GGML_F32, d->ws.k + g * hd, nc, hd, dkv * sizeof(float), 0};
    const tdiff__gemm_op qk = {s, nc, &keys, NULL};
    tdiff__gemm(k, NULL, d->ws.q + r0 * dm + h * hd, dm, tr, &qk, 1, &ws);
    for (size_t r = 0; r < tr; r++) {
        k->scale(s + r * nc, scale, nc);
        apply_mask(j, s + r * nc, r0 + r, nc);
        k->softmax(s + r * nc, nc);
    }
    /* O_h [tr, hd] = P V_g: V seen transposed (element (c, key) at key * dkv + c) */
    const tdiff__gemm_w vals = {TDIFF__GGML_F32, d->ws.v + g * hd, hd, nc, sizeof(float), dkv};
    const tdiff__gemm_op pv = {d->ws.att + r0 * dm + h * hd, dm, &vals, NULL};
    tdiff__gemm(k, NULL, s, nc, tr, &pv, 1, &ws);
}

void tdiff__dn_attention(tdiff_denoiser *d, size_t n, int attention, size_t block_len, const uint32_t *span)
{
    att_job j = {d, n, (n + DN_ATT_TILE - 1) / DN_ATT_TILE, attention, block_len, span};
    tdiff__pool_for(d->pool, d->cfg.n_head * j.n_tiles, att_task, &j);
}
