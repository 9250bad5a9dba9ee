/*
 * forward.c -- the forward pass: embeddings, optional DiT time conditioning,
 * the layer stack (pre- or post-norm), and the output head evaluated only at
 * the rows the caller asked for. Shapes follow the legend in internal.h; m is
 * the number of rows a call runs through the layers: every position (n), or
 * with a KV cache only those the call must recompute (cache.c), whose
 * attention then reads the other positions' keys and values from the cache.
 *
 * Row-wise work (norms, residual adds, activations) runs over the pool in fixed
 * blocks of DN_ROW_BLOCK rows; each row is computed by the same code on any
 * thread, like the products (matmul.c) and attention (attention.c).
 */
#include <math.h>
#include <string.h>

#include "internal.h"

/* Rows per task for row-wise work (reason: amortises the task hand-out while
 * leaving >= 4 tasks per thread at typical lengths). */
#define DN_ROW_BLOCK 32u

typedef enum row_op {
    OP_EMBED,       /* x[i] = E[tok] (or caller row) + P[i] + T[0]; optional norm  */
    OP_NORM,        /* y[i] = norm(x[i]) (* (1 + scale) + shift with DiT)           */
    OP_RESIDUAL,    /* x[i] += o[i] (* gate with DiT)                               */
    OP_RESID_NORM,  /* x[i] = norm(x[i] + o[i])     (post-norm)                     */
    OP_SWIGLU,      /* a[i] = silu(a[i]) * b[i]                                     */
    OP_GELU,        /* a[i] = gelu(a[i])                                            */
    OP_GELU_TANH    /* a[i] = gelu_tanh(a[i])                                       */
} row_op;

typedef struct row_job {
    tdiff_denoiser *d;
    row_op op;
    size_t n;                  /* rows */
    size_t width;
    float *x;                  /* in/out rows of `width` */
    float *y;                  /* out rows (OP_NORM), second operand otherwise */
    const float *w, *b;        /* norm weight/bias */
    const float *shift, *scale, *gate; /* DiT modulation, [width] or NULL */
    const tdiff__forward_args *a;
    const dn_rows *rows;       /* OP_EMBED: the canvas position of each row */
} row_job;

static void norm_row(const tdiff_denoiser *d, float *y, const float *x, const float *w, const float *b, size_t n)
{
    const tdiff__kernels *k = d->env.k;
    if (d->cfg.norm == DN_NORM_LAYER) {
        k->layernorm(y, x, w, b, n, d->cfg.norm_eps);
    } else {
        k->rmsnorm(y, x, w, n, d->cfg.norm_eps);
        if (b)
            k->add(y, b, n);
    }
}

/* Row r of the residual stream from the input at its position p. */
static void embed_row(const row_job *j, size_t r)
{
    tdiff_denoiser *d = j->d;
    const dn_weights *w = &d->w;
    const tdiff__kernels *k = d->env.k;
    size_t dm = d->cfg.n_embd, p = tdiff__dn_row_pos(j->rows, r);
    float *x = d->ws.x + r * dm, *tmp = d->ws.xn + r * dm;  /* xn is free during embedding */
    const tdiff__forward_args *a = j->a;
    size_t ti = j->rows->n_seg ? r : p;  /* packed: tokens are by row */
    if (a->embd && (!a->embd_rows || a->embd_rows[p]))
        memcpy(x, a->embd + p * dm, dm * sizeof *x);
    else
        (void)tdiff__tensor_row_to_f32(k, w->tok_embd, (size_t)a->tokens[ti], x);  /* id checked by caller */
    if (w->pos_embd) {
        (void)tdiff__tensor_row_to_f32(k, w->pos_embd, p, tmp);
        k->add(x, tmp, dm);
    }
    if (w->type_embd) {
        (void)tdiff__tensor_row_to_f32(k, w->type_embd, 0, tmp);  /* every token has type 0 */
        k->add(x, tmp, dm);
    }
    if (d->cfg.embd_norm)
        norm_row(d, x, x, w->embd_norm_w, w->embd_norm_b, dm);
}

static void row_task(void *ctx, size_t task, size_t thread)
{
    (void)thread;
    const row_job *j = ctx;
    const tdiff__kernels *k = j->d->env.k;
    size_t r0 = task * DN_ROW_BLOCK, r1 = r0 + DN_ROW_BLOCK < j->n ? r0 + DN_ROW_BLOCK : j->n;
    size_t wd = j->width;
    for (size_t i = r0; i < r1; i++) {
        float *x = j->x + i * wd, *y = j->y ? j->y + i * wd : NULL;
        switch (j->op) {
        case OP_EMBED:
            embed_row(j, i);
            break;
        case OP_NORM:
            norm_row(j->d, y, x, j->w, j->b, wd);
            if (j->scale)
                for (size_t c = 0; c < wd; c++)
                    y[c] = y[c] * (1.0f + j->scale[c]) + j->shift[c];
            break;
        case OP_RESIDUAL:
            if (j->gate)
                for (size_t c = 0; c < wd; c++)
                    x[c] += j->gate[c] * y[c];
            else
                k->add(x, y, wd);
            break;
        case OP_RESID_NORM:
            k->add(x, y, wd);
            norm_row(j->d, x, x, j->w, j->b, wd);
            break;
        case OP_SWIGLU:
            k->swiglu(x, x, y, wd);
            break;
        case OP_GELU:
            k->gelu(x, x, wd);
            break;
        case OP_GELU_TANH:
            k->gelu_tanh(x, x, wd);
            break;
        }
    }
}

static void rows(tdiff_denoiser *d, row_job j)
{
    j.d = d;
    tdiff__pool_for(d->pool, (j.n + DN_ROW_BLOCK - 1) / DN_ROW_BLOCK, row_task, &j);
}

/* c = silu(W_out silu(W_in freq(t) + b_in) + b_out): DiT's conditioning vector [C]. */
static void time_condition(tdiff_denoiser *d, float t)
{
    const dn_config *c = &d->cfg;
    const tdiff__kernels *k = d->env.k;
    float *freq = d->ws.cond, *h = freq + c->n_freq, *cv = h + c->n_cond;
    size_t half = c->n_freq / 2;
    for (size_t i = 0; i < half; i++) {
        double f = exp(-log((double)c->max_period) * (double)i / (double)half);
        freq[i] = (float)cos((double)t * f);
        freq[half + i] = (float)sin((double)t * f);
    }
    if (c->n_freq % 2)
        freq[c->n_freq - 1] = 0.0f;
    tdiff__dn_matmul(d, h, c->n_cond, freq, 1, &d->w.w_t_in, d->w.b_t_in);
    k->silu(h, h, c->n_cond);
    tdiff__dn_matmul(d, cv, c->n_cond, h, 1, &d->w.w_t_out, d->w.b_t_out);
    k->silu(cv, cv, c->n_cond);
}

static const float *cond_vec(const tdiff_denoiser *d)
{
    return d->ws.cond + d->cfg.n_freq + d->cfg.n_cond;
}

/* What one call runs: its rows, its mask, its cache. */
typedef struct dn_pass {
    const tdiff__forward_args *a;
    dn_rows rows;
    dn_mask mask;
    tdiff__kv_cache *cache;
} dn_pass;

/* att = attention(in) W_o^T + b_o for the m rows, left in ws.q (free again after
 * attention). With a cache the rows' keys and values are stored first and the
 * attention reads every position's from the cache. */
static void attention_block(tdiff_denoiser *d, const dn_layer *L, size_t il, const float *in, const dn_pass *p)
{
    const dn_config *c = &d->cfg;
    size_t dkv = c->n_head_kv * c->head_dim, m = p->rows.m;
    const tdiff__dn_product qkv[3] = {
        {d->ws.q, c->n_embd, in, m, &L->wq, L->bq},
        {d->ws.k, dkv, in, m, &L->wk, L->bk},
        {d->ws.v, dkv, in, m, &L->wv, L->bv},
    };
    tdiff__dn_matmul_multi(d, qkv, 3);
    tdiff__dn_rope_apply(d, &p->rows);
    const float *k = d->ws.k, *v = d->ws.v;
    if (p->cache) {
        tdiff__kv_cache_store(p->cache, il, &p->rows, d->ws.k, d->ws.v);
        k = tdiff__kv_cache_layer(p->cache, il, 0);
        v = tdiff__kv_cache_layer(p->cache, il, 1);
    }
    tdiff__dn_attention(d, &p->rows, k, v, &p->mask);
    tdiff__dn_matmul(d, d->ws.q, c->n_embd, d->ws.att, m, &L->wo, L->bo);
}

/* ffn(in) left in ws.q. */
static void ffn_block(tdiff_denoiser *d, const dn_layer *L, const float *in, size_t n)
{
    const dn_config *c = &d->cfg;
    if (c->ffn == DN_FFN_SWIGLU) {
        const tdiff__dn_product gate_up[2] = {
            {d->ws.ff_a, c->n_ff, in, n, &L->w_gate, L->b_gate},
            {d->ws.ff_b, c->n_ff, in, n, &L->w_up, L->b_up},
        };
        tdiff__dn_matmul_multi(d, gate_up, 2);
        rows(d, (row_job){.op = OP_SWIGLU, .n = n, .width = c->n_ff, .x = d->ws.ff_a, .y = d->ws.ff_b});
    } else {
        tdiff__dn_matmul(d, d->ws.ff_a, c->n_ff, in, n, &L->w_up, L->b_up);
        rows(d, (row_job){.op = c->ffn == DN_FFN_GELU ? OP_GELU : OP_GELU_TANH, .n = n, .width = c->n_ff,
                          .x = d->ws.ff_a});
    }
    tdiff__dn_matmul(d, d->ws.q, c->n_embd, d->ws.ff_a, n, &L->w_down, L->b_down);
}

static void layer_pre_norm(tdiff_denoiser *d, size_t il, const dn_pass *p)
{
    const dn_config *c = &d->cfg;
    const dn_layer *L = &d->w.layers[il];
    size_t dm = c->n_embd, n = p->rows.m;
    const float *m = NULL;  /* DiT: shift1, scale1, gate1, shift2, scale2, gate2, each [d] */
    if (c->dit) {
        tdiff__dn_matmul(d, d->ws.mod, 6 * dm, cond_vec(d), 1, &L->w_ada, L->b_ada);
        m = d->ws.mod;
    }
    rows(d, (row_job){.op = OP_NORM, .n = n, .width = dm, .x = d->ws.x, .y = d->ws.xn, .w = L->attn_norm_w,
                      .b = L->attn_norm_b, .shift = m, .scale = m ? m + dm : NULL});
    attention_block(d, L, il, d->ws.xn, p);
    rows(d, (row_job){.op = OP_RESIDUAL, .n = n, .width = dm, .x = d->ws.x, .y = d->ws.q,
                      .gate = m ? m + 2 * dm : NULL});
    rows(d, (row_job){.op = OP_NORM, .n = n, .width = dm, .x = d->ws.x, .y = d->ws.xn, .w = L->ffn_norm_w,
                      .b = L->ffn_norm_b, .shift = m ? m + 3 * dm : NULL, .scale = m ? m + 4 * dm : NULL});
    ffn_block(d, L, d->ws.xn, n);
    rows(d, (row_job){.op = OP_RESIDUAL, .n = n, .width = dm, .x = d->ws.x, .y = d->ws.q,
                      .gate = m ? m + 5 * dm : NULL});
}

static void layer_post_norm(tdiff_denoiser *d, size_t il, const dn_pass *p)
{
    const dn_layer *L = &d->w.layers[il];
    size_t dm = d->cfg.n_embd, n = p->rows.m;
    attention_block(d, L, il, d->ws.x, p);
    rows(d, (row_job){.op = OP_RESID_NORM, .n = n, .width = dm, .x = d->ws.x, .y = d->ws.q, .w = L->attn_norm_w,
                      .b = L->attn_norm_b});
    ffn_block(d, L, d->ws.x, n);
    rows(d, (row_job){.op = OP_RESID_NORM, .n = n, .width = dm, .x = d->ws.x, .y = d->ws.q, .w = L->ffn_norm_w,
                      .b = L->ffn_norm_b});
}

/* Logits [nb, V] for the hidden rows ws.rows[0..nb): gather, final norm,
 * optional MLM transform, then the output projection straight into `logits`. */
static void head_batch(tdiff_denoiser *d, size_t nb, float *logits)
{
    const dn_config *c = &d->cfg;
    const dn_weights *w = &d->w;
    size_t dm = c->n_embd;
    for (size_t r = 0; r < nb; r++)
        memcpy(d->ws.att + r * dm, d->ws.x + (size_t)d->ws.rows[r] * dm, dm * sizeof(float));
    float *h = d->ws.att;
    if (c->final_norm) {
        const float *m = NULL;  /* DiT final layer: shift, scale */
        if (c->dit) {
            tdiff__dn_matmul(d, d->ws.mod, 2 * dm, cond_vec(d), 1, &w->w_out_ada, w->b_out_ada);
            m = d->ws.mod;
        }
        rows(d, (row_job){.op = OP_NORM, .n = nb, .width = dm, .x = d->ws.att, .y = d->ws.xn, .w = w->out_norm_w,
                          .b = w->out_norm_b, .shift = m, .scale = m ? m + dm : NULL});
        h = d->ws.xn;
    }
    if (c->head_transform) {
        float *t = h == d->ws.xn ? d->ws.att : d->ws.xn;
        tdiff__dn_matmul(d, t, dm, h, nb, &w->w_transform, w->b_transform);
        rows(d, (row_job){.op = OP_GELU, .n = nb, .width = dm, .x = t});
        rows(d, (row_job){.op = OP_NORM, .n = nb, .width = dm, .x = t, .y = t, .w = w->transform_norm_w,
                          .b = w->transform_norm_b});
        h = t;
    }
    tdiff__dn_matmul(d, logits, c->n_vocab, h, nb, &w->w_out, w->b_out);
}

/* SEDD's score parameterisation (Lou et al. 2024, scale_by_sigma): subtract
 * log(e^sigma - 1) + log(V - 1) from every logit and set the logit of the
 * position's own input token to 0. expm1 keeps small sigma accurate. */
static void scale_by_sigma(const tdiff_denoiser *d, const tdiff__forward_args *a, size_t n_rows)
{
    size_t V = d->cfg.n_vocab;
    double off = log(expm1((double)a->t)) + log((double)(V - 1));
    for (size_t r = 0; r < n_rows; r++) {
        float *row = a->logits + r * V;
        uint32_t p = a->positions ? a->positions[r] : (uint32_t)r;
        for (size_t v = 0; v < V; v++)
            row[v] = (float)((double)row[v] - off);
        row[a->tokens[p]] = 0.0f;
    }
}

/* Embedding, time conditioning and every layer over the pass's rows. */
static void run_layers(tdiff_denoiser *d, const dn_pass *p)
{
    const dn_config *c = &d->cfg;
    rows(d, (row_job){.op = OP_EMBED, .n = p->rows.m, .width = c->n_embd, .x = d->ws.x, .a = p->a, .rows = &p->rows});
    if (c->dit)
        time_condition(d, c->time_input ? p->a->t : 0.0f);
    for (size_t il = 0; il < c->n_layer; il++) {
        if (c->post_norm)
            layer_post_norm(d, il, p);
        else
            layer_pre_norm(d, il, p);
    }
}

/* The hidden row that predicts position q of a sequence whose rows start at off:
 * a shifted model reads row q's prediction from hidden state q - 1 (row 0 from itself). */
static uint32_t head_row(const tdiff_denoiser *d, const dn_rows *rows, size_t off, uint32_t q)
{
    uint32_t h = d->cfg.shift_logits && q > 0 ? q - 1 : q;
    return (uint32_t)off + (rows->row_of ? rows->row_of[h] : h);
}

static dn_mask call_mask(const tdiff_denoiser *d, const tdiff__forward_args *a)
{
    dn_mask m = {0};
    m.attention = a->attention ? a->attention : d->attention;
    m.block_len = a->block_len ? a->block_len : d->block_len;
    m.block_start = a->has_block_start ? a->block_start : d->block_start;
    m.span = a->span;
    m.span_earlier = a->span_earlier ? a->span_earlier > 0 : d->cfg.span_earlier;
    return m;
}

tdiff_status tdiff__dn_run(tdiff_denoiser *d, const tdiff__forward_args *a, size_t n_rows)
{
    const dn_config *c = &d->cfg;
    dn_pass p = {.a = a, .rows = {.m = a->n, .n = a->n}, .mask = call_mask(d, a), .cache = a->cache};
    if (p.cache)
        tdiff__kv_cache_plan(d, a, &p.mask, &p.rows);
    run_layers(d, &p);
    if (p.cache)
        tdiff__kv_cache_commit(p.cache, &p.rows);
    /* Head rows in batches of max_rows (the gather buffers' height). */
    for (size_t r0 = 0; r0 < n_rows; r0 += d->max_rows) {
        size_t nb = n_rows - r0 < d->max_rows ? n_rows - r0 : d->max_rows;
        for (size_t r = 0; r < nb; r++)
            d->ws.rows[r] = head_row(d, &p.rows, 0, a->positions ? a->positions[r0 + r] : (uint32_t)(r0 + r));
        head_batch(d, nb, a->logits + r0 * c->n_vocab);
    }
    if (c->scale_by_sigma)
        scale_by_sigma(d, a, n_rows);
    return TDIFF_OK;
}

tdiff_status tdiff__dn_run_batch(tdiff_denoiser *d, const tdiff__batch_seq *seqs, size_t n_seq, float *logits)
{
    const dn_config *c = &d->cfg;
    tdiff__forward_args a = {0};
    a.tokens = d->ws.ptok;
    a.n = d->ws.seg[n_seq];
    dn_pass p = {.a = &a,
                 .rows = {.m = a.n, .pos = d->ws.ppos, .n = a.n, .n_seg = n_seq, .seg = d->ws.seg},
                 .mask = call_mask(d, &a)};
    run_layers(d, &p);
    /* One head product over every sequence's rows (in batches of max_rows). */
    size_t nb = 0, done = 0;
    for (size_t b = 0; b < n_seq; b++) {
        const tdiff__batch_seq *q = &seqs[b];
        size_t np = q->positions ? q->n_positions : q->n;
        for (size_t r = 0; r < np; r++) {
            d->ws.rows[nb++] = head_row(d, &p.rows, d->ws.seg[b], q->positions ? q->positions[r] : (uint32_t)r);
            if (nb == d->max_rows) {
                head_batch(d, nb, logits + done * c->n_vocab);
                done += nb;
                nb = 0;
            }
        }
    }
    if (nb)
        head_batch(d, nb, logits + done * c->n_vocab);
    return TDIFF_OK;
}
