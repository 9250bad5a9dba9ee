/*
 * api.c -- the denoiser handle: creation (configuration, one workspace
 * allocation, thread pool), argument checking of the forward calls, parameters
 * and the internal accessors of denoiser.h.
 */
#include <math.h>
#include <string.h>

#include "internal.h"

/* Longest sequence a handle accepts (reason: keeps n * width products far from
 * overflow and a tile's attention scratch, 64 x max_len floats, bounded). */
#define DN_MAX_LEN (1u << 20)

/* Adds `count` floats, rounded up to 16 (64-byte alignment of every piece), to
 * *total; false on overflow. */
static bool ws_add(size_t *total, size_t a, size_t b)
{
    size_t n;
    if (!tdiff__mul_size(a, b, &n) || !tdiff__add_size(n, 15, &n))
        return false;
    return tdiff__add_size(*total, n & ~(size_t)15, total);
}

static float *ws_take(float **cursor, size_t a, size_t b)
{
    float *p = *cursor;
    *cursor += (a * b + 15) & ~(size_t)15;  /* products checked by ws_add first */
    return p;
}

/* What the products need of the gemm scratch: the widest input (K), whether
 * float and block weights occur, the largest per-thread weight scratch. */
typedef struct gemm_need {
    size_t k_max, thread_bytes;
    bool any_float, any_block;
} gemm_need;

static void need_mat(const tdiff_denoiser *d, const dn_mat *w, gemm_need *n)
{
    if (!w->t)
        return;
    const size_t t = tdiff__dn_matmul_thread_bytes(d, w);
    const bool block = w->t->type != TDIFF__GGML_F32 && w->t->type != TDIFF__GGML_F16 &&
                       w->t->type != TDIFF__GGML_BF16;
    n->k_max = w->cols > n->k_max ? w->cols : n->k_max;
    n->thread_bytes = t > n->thread_bytes ? t : n->thread_bytes;
    n->any_block |= block;
    n->any_float |= !block;
}

static gemm_need gemm_needs(const tdiff_denoiser *d)
{
    const dn_weights *w = &d->w;
    gemm_need n = {0, 0, false, false};
    for (size_t il = 0; il < d->cfg.n_layer; il++) {
        const dn_layer *L = &w->layers[il];
        const dn_mat *mats[] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down, &L->w_ada};
        for (size_t i = 0; i < sizeof mats / sizeof mats[0]; i++)
            need_mat(d, mats[i], &n);
    }
    const dn_mat *mats[] = {&w->w_transform, &w->w_out, &w->w_t_in, &w->w_t_out, &w->w_out_ada};
    for (size_t i = 0; i < sizeof mats / sizeof mats[0]; i++)
        need_mat(d, mats[i], &n);
    return n;
}

/* Floats that hold `bytes` bytes, a multiple of 16 (64 bytes), so that T
 * regions of that size stay 64-byte apart. */
static size_t floats_for(size_t bytes)
{
    return (bytes / sizeof(float) + 16) & ~(size_t)15;
}

static tdiff_status alloc_workspace(tdiff_denoiser *d)
{
    const dn_config *c = &d->cfg;
    /* L: longest sequence (positions, attention scratch); R: rows of the
     * activations (= L, or a packed batch's total after reserve_batch) */
    size_t L = d->max_len, R = d->max_rows, T = tdiff__pool_size(d->pool), dkv = c->n_head_kv * c->head_dim;
    size_t half = c->rope_style == TDIFF__ROPE_NONE ? 0 : c->rope_dim / 2;
    const gemm_need g = gemm_needs(d);
    const size_t gemm_shared = floats_for(tdiff__gemm_shared_bytes(d->env.k, R, g.k_max, g.any_float, g.any_block));
    const size_t gemm_thread = floats_for(g.thread_bytes);
    const size_t att_k = c->head_dim > L ? c->head_dim : L; /* Q tiles have hd inputs, P tiles L */
    const size_t att_pack = floats_for(tdiff__gemm_shared_bytes(d->env.k, DN_ATT_TILE, att_k, true, false));
    const size_t seq_floats = (sizeof(tdiff__batch_seq) + sizeof(float) - 1) / sizeof(float);
    size_t total = 0, per_thread;
    /* one entry per piece carved below, in the same order (each is rounded up) */
    bool ok = tdiff__mul_size(DN_ATT_TILE, L, &per_thread);
    const size_t pieces[][2] = {
        {R, c->n_embd}, {R, c->n_embd}, {R, c->n_embd}, {R, c->n_embd}, /* x, xn, q, att */
        {R, dkv}, {R, dkv},                                             /* k, v */
        {R, c->n_ff}, {R, c->n_ff},                                     /* ff_a, ff_b */
        {T, per_thread},                                                /* scores */
        {1, gemm_shared}, {T, gemm_thread}, {T, att_pack},              /* gemm scratch */
        {L, half}, {L, half},                                           /* rope cos, sin */
        {1, c->n_freq + 2 * c->n_cond}, {6, c->n_embd},                 /* cond, mod */
        {1, R},                                                         /* rows (uint32 = float size) */
        {L, c->n_embd}, {1, c->n_embd},                                 /* mix, mix_tmp */
        {1, L}, {1, L},                                                 /* ids0 (int32), mix_rows (bytes) */
        {1, R}, {1, R},                                                 /* ptok (int32), ppos (uint32) */
        {2, R + 1}, {2, R + 1},                                         /* seg, seg_tile (size_t <= 2 floats) */
        {R, seq_floats},                                                /* seqs (public batch call) */
    };
    for (size_t i = 0; ok && i < sizeof pieces / sizeof pieces[0]; i++)
        ok = ws_add(&total, pieces[i][0], pieces[i][1]);
    ok = ok && tdiff__mul_size(total, sizeof(float), &total);
    if (!ok)
        return tdiff__fail(&d->env, TDIFF_E_OVERFLOW, "workspace size overflows (max_len %zu)", L);
    /* 64 bytes more, so every piece starts on a cache line (reason: the gemm
     * kernels load whole 64-byte vectors of packed activations; a misaligned
     * one straddles two lines and costs two loads) */
    if (!tdiff__add_size(total, 64, &total))
        return tdiff__fail(&d->env, TDIFF_E_OVERFLOW, "workspace size overflows (max_len %zu)", L);
    d->ws_block = tdiff__malloc(&d->env, total);
    if (!d->ws_block)
        return tdiff__fail(&d->env, TDIFF_E_OUT_OF_MEMORY, "out of memory for a %zu-byte workspace", total);
    float *cur = (float *)(((uintptr_t)d->ws_block + 63) & ~(uintptr_t)63);
    d->ws.x = ws_take(&cur, R, c->n_embd);
    d->ws.xn = ws_take(&cur, R, c->n_embd);
    d->ws.q = ws_take(&cur, R, c->n_embd);
    d->ws.att = ws_take(&cur, R, c->n_embd);
    d->ws.k = ws_take(&cur, R, dkv);
    d->ws.v = ws_take(&cur, R, dkv);
    d->ws.ff_a = ws_take(&cur, R, c->n_ff);
    d->ws.ff_b = ws_take(&cur, R, c->n_ff);
    d->ws.scores = ws_take(&cur, T, per_thread);
    d->ws.gemm.shared_bytes = gemm_shared * sizeof(float);
    d->ws.gemm.shared = ws_take(&cur, 1, gemm_shared);
    d->ws.gemm.per_thread = gemm_thread * sizeof(float);
    d->ws.gemm.threads = ws_take(&cur, T, gemm_thread);
    d->ws.att_pack_bytes = att_pack * sizeof(float);
    d->ws.att_pack = ws_take(&cur, T, att_pack);
    d->ws.rope_cos = ws_take(&cur, L, half);
    d->ws.rope_sin = ws_take(&cur, L, half);
    d->ws.cond = ws_take(&cur, 1, c->n_freq + 2 * c->n_cond);
    d->ws.mod = ws_take(&cur, 6, c->n_embd);
    d->ws.rows = (uint32_t *)ws_take(&cur, 1, R);
    d->ws.mix = ws_take(&cur, L, c->n_embd);
    d->ws.mix_tmp = ws_take(&cur, 1, c->n_embd);
    d->ws.ids0 = (int32_t *)ws_take(&cur, 1, L);
    d->ws.mix_rows = (uint8_t *)ws_take(&cur, 1, L);
    d->ws.ptok = (int32_t *)ws_take(&cur, 1, R);
    d->ws.ppos = (uint32_t *)ws_take(&cur, 1, R);
    d->ws.seg = (size_t *)(void *)ws_take(&cur, 2, R + 1);
    d->ws.seg_tile = (size_t *)(void *)ws_take(&cur, 2, R + 1);
    d->ws.seqs = (tdiff__batch_seq *)(void *)ws_take(&cur, R, seq_floats);
    memset(d->ws.ids0, 0, L * sizeof *d->ws.ids0);  /* token 0: always a valid id */
    return TDIFF_OK;
}

static void destroy(tdiff_denoiser *d)
{
    tdiff__pool_free(d->pool);
    tdiff__free(&d->env, d->ws_block);
    tdiff__free(&d->env, d->vec_store);
    tdiff__free(&d->env, d->w.layers);
    tdiff__free(&d->env, d);
}

/* Everything tdiff_denoiser_create checks before it allocates the handle. */
static tdiff_status check_create(tdiff__env *env, const tdiff_model *model, size_t max_len, int n_threads,
                                 tdiff_denoiser **out)
{
    if (!model || !out)
        return tdiff__fail(env, TDIFF_E_INVALID_ARGUMENT, "tdiff_denoiser_create: NULL %s", model ? "out" : "model");
    if (n_threads < 1 || (unsigned)n_threads > TDIFF__POOL_MAX_THREADS)
        return tdiff__fail(env, TDIFF_E_INVALID_ARGUMENT, "tdiff_denoiser_create: n_threads %d is outside 1..%u",
                           n_threads, TDIFF__POOL_MAX_THREADS);
    if (max_len == 0 || max_len > DN_MAX_LEN)
        return tdiff__fail(env, TDIFF_E_INVALID_ARGUMENT, "tdiff_denoiser_create: max_len %zu is outside 1..%u",
                           max_len, DN_MAX_LEN);
    return TDIFF_OK;
}

tdiff_status tdiff_denoiser_create(const tdiff_model *model, size_t max_len, int n_threads, const tdiff_host *host,
                                   tdiff_denoiser **out, char *err, size_t err_cap)
{
    if (out)
        *out = NULL;
    tdiff__env env;
    tdiff_status st = tdiff__env_setup(&env, host);
    if (st == TDIFF_OK)
        st = check_create(&env, model, max_len, n_threads, out);
    if (st != TDIFF_OK)
        return tdiff__creator_result(&env, st, err, err_cap);
    tdiff_denoiser *d = tdiff__calloc(&env, 1, sizeof *d);
    if (!d)
        return tdiff__creator_result(
            &env, tdiff__fail(&env, TDIFF_E_OUT_OF_MEMORY, "out of memory for the denoiser"), err, err_cap);
    d->env = env;
    d->model = model;
    d->max_len = max_len;
    d->max_rows = max_len;
    if ((st = tdiff__dn_configure(d)) != TDIFF_OK)
        goto fail;
    if (max_len > d->cfg.n_ctx) {
        st = tdiff__fail(&d->env, TDIFF_E_INVALID_ARGUMENT, "max_len %zu exceeds the model's context length %zu",
                         max_len, d->cfg.n_ctx);
        goto fail;
    }
    if ((st = tdiff__pool_create(&d->env, (size_t)n_threads, &d->pool)) != TDIFF_OK)
        goto fail;
    if ((st = alloc_workspace(d)) != TDIFF_OK)
        goto fail;
    tdiff__dn_rope_init(d);
    d->attention = d->cfg.attention;
    d->block_len = d->cfg.block_len;
    *out = d;
    return tdiff__creator_result(&d->env, TDIFF_OK, err, err_cap);
fail:
    st = tdiff__creator_result(&d->env, st, err, err_cap);
    destroy(d);
    return st;
}

void tdiff_denoiser_free(tdiff_denoiser *d)
{
    if (d)
        destroy(d);
}

const char *tdiff_denoiser_last_error(const tdiff_denoiser *d)
{
    return d ? d->env.last_error : "invalid handle";
}

/* Validates a forward request; returns the number of head rows in *n_rows. */
static tdiff_status check_args(tdiff_denoiser *d, const tdiff__forward_args *a, size_t *n_rows)
{
    const dn_config *c = &d->cfg;
    if (!a->tokens || !a->logits)
        return tdiff__fail(&d->env, TDIFF_E_INVALID_ARGUMENT, "forward: NULL %s", a->tokens ? "logits" : "tokens");
    if (a->n == 0 || a->n > d->max_len)
        return tdiff__fail(&d->env, TDIFF_E_INVALID_ARGUMENT, "forward: n = %zu is outside 1..%zu", a->n, d->max_len);
    for (size_t i = 0; i < a->n; i++)
        if (a->tokens[i] < 0 || (size_t)a->tokens[i] >= c->n_vocab)
            return tdiff__fail(&d->env, TDIFF_E_INVALID_ARGUMENT, "forward: token %d at %zu is outside 0..%zu",
                               a->tokens[i], i, c->n_vocab - 1);
    size_t rows = a->n;
    if (a->positions) {
        if (a->n_positions == 0)
            return tdiff__fail(&d->env, TDIFF_E_INVALID_ARGUMENT, "forward: positions given but n_positions is 0");
        for (size_t r = 0; r < a->n_positions; r++)
            if (a->positions[r] >= a->n)
                return tdiff__fail(&d->env, TDIFF_E_INVALID_ARGUMENT, "forward: position %u (entry %zu) is >= n = %zu",
                                   a->positions[r], r, a->n);
        rows = a->n_positions;
    }
    int att = a->attention ? a->attention : d->attention;
    if (att < TDIFF_ATTENTION_FULL || att > TDIFF_ATTENTION_SPANS || (att == TDIFF_ATTENTION_SPANS && !a->span))
        return tdiff__fail(&d->env, TDIFF_E_INVALID_ARGUMENT, "forward: attention %d is not usable here", att);
    if (a->cache && a->cache->owner != d)
        return tdiff__fail(&d->env, TDIFF_E_INVALID_ARGUMENT, "forward: the KV cache belongs to another denoiser");
    if (a->n_compute && (!a->cache || !a->compute))
        return tdiff__fail(&d->env, TDIFF_E_INVALID_ARGUMENT, "forward: compute positions without a %s",
                           a->cache ? "list" : "KV cache");
    for (size_t i = 0; i < a->n_compute; i++)
        if (a->compute[i] >= a->n)
            return tdiff__fail(&d->env, TDIFF_E_INVALID_ARGUMENT,
                               "forward: compute position %u (entry %zu) is >= n = %zu", a->compute[i], i, a->n);
    if (c->dit && c->time_input && !isfinite(a->t))
        return tdiff__fail(&d->env, TDIFF_E_INVALID_ARGUMENT, "forward: time conditioning value is not finite");
    if (c->scale_by_sigma && !(a->t > 0.0f))
        return tdiff__fail(&d->env, TDIFF_E_INVALID_ARGUMENT, "forward: scale_by_sigma needs sigma > 0 (got %g)",
                           (double)a->t);
    size_t need;
    if (!tdiff__mul_size(rows, c->n_vocab, &need) || a->logits_cap < need)
        return tdiff__fail(&d->env, TDIFF_E_BUFFER_TOO_SMALL, "forward: logits need %zu x %zu floats, capacity %zu",
                           rows, c->n_vocab, a->logits_cap);
    *n_rows = rows;
    return TDIFF_OK;
}

static tdiff_status prepare_vectors(tdiff_denoiser *d, tdiff__forward_args *a);

tdiff_status tdiff__denoiser_forward_ex(tdiff_denoiser *d, const tdiff__forward_args *a_in)
{
    size_t n_rows = 0;
    if (!d || !a_in)
        return TDIFF_E_INVALID_ARGUMENT;
    tdiff__forward_args a = *a_in;
    tdiff_status st = TDIFF_OK;
    if (a.mix_offsets || a.embd)
        st = prepare_vectors(d, &a);
    if (st == TDIFF_OK)
        st = check_args(d, &a, &n_rows);
    if (st != TDIFF_OK)
        return st;
    return tdiff__dn_run(d, &a, n_rows);
}

tdiff_status tdiff__denoiser_forward(tdiff_denoiser *d, const int32_t *tokens, size_t n, const uint32_t *positions,
                                     size_t n_positions, float t, float *logits, size_t logits_cap)
{
    tdiff__forward_args a = {0};
    a.tokens = tokens;
    a.n = n;
    a.positions = positions;
    a.n_positions = n_positions;
    a.t = t;
    a.logits = logits;
    a.logits_cap = logits_cap;
    return tdiff__denoiser_forward_ex(d, &a);
}

tdiff_status tdiff_denoiser_forward(tdiff_denoiser *d, const int32_t *tokens, size_t n, const uint32_t *positions,
                                    size_t n_positions, float *logits, size_t logits_cap)
{
    if (!d)
        return TDIFF_E_INVALID_ARGUMENT;
    if (d->cfg.dit && d->cfg.time_input)
        return tdiff__fail(&d->env, TDIFF_E_INVALID_ARGUMENT,
                           "forward: the model is time-conditioned; use tdiff_denoiser_forward_t");
    return tdiff__denoiser_forward(d, tokens, n, positions, n_positions, 0.0f, logits, logits_cap);
}

tdiff_status tdiff_denoiser_forward_t(tdiff_denoiser *d, const int32_t *tokens, size_t n, float t,
                                      const uint32_t *positions, size_t n_positions, float *logits, size_t logits_cap)
{
    if (!d)
        return TDIFF_E_INVALID_ARGUMENT;
    if (!isfinite(t))
        return tdiff__fail(&d->env, TDIFF_E_INVALID_ARGUMENT, "forward: t is not finite");
    return tdiff__denoiser_forward(d, tokens, n, positions, n_positions, t, logits, logits_cap);
}

/* ---- packed batches ---- */

tdiff_status tdiff_denoiser_reserve_batch(tdiff_denoiser *d, size_t max_rows)
{
    if (!d)
        return TDIFF_E_INVALID_ARGUMENT;
    if (max_rows == 0 || max_rows > DN_MAX_LEN)
        return tdiff__fail(&d->env, TDIFF_E_INVALID_ARGUMENT, "reserve_batch: max_rows %zu is outside 1..%u",
                           max_rows, DN_MAX_LEN);
    if (max_rows < d->max_len)
        max_rows = d->max_len;  /* one whole sequence always fits */
    if (max_rows == d->max_rows)
        return TDIFF_OK;
    /* a new workspace; the old one stays until the new one exists */
    dn_work old_ws = d->ws;
    void *old_block = d->ws_block;
    size_t old_rows = d->max_rows;
    d->max_rows = max_rows;
    tdiff_status st = alloc_workspace(d);
    if (st != TDIFF_OK) {
        d->ws = old_ws;
        d->ws_block = old_block;
        d->max_rows = old_rows;
        return st;
    }
    tdiff__free(&d->env, old_block);
    tdiff__dn_rope_init(d);
    return TDIFF_OK;
}

/* Checks one sequence of a batch and counts its head rows into *heads. */
static tdiff_status check_seq(tdiff_denoiser *d, const tdiff__batch_seq *q, size_t b, size_t *heads)
{
    const dn_config *c = &d->cfg;
    if (!q->tokens)
        return tdiff__fail(&d->env, TDIFF_E_INVALID_ARGUMENT, "forward_batch: NULL tokens of sequence %zu", b);
    if (q->n == 0 || q->n > d->max_len)
        return tdiff__fail(&d->env, TDIFF_E_INVALID_ARGUMENT, "forward_batch: sequence %zu has n = %zu, outside 1..%zu",
                           b, q->n, d->max_len);
    for (size_t i = 0; i < q->n; i++)
        if (q->tokens[i] < 0 || (size_t)q->tokens[i] >= c->n_vocab)
            return tdiff__fail(&d->env, TDIFF_E_INVALID_ARGUMENT,
                               "forward_batch: token %d at %zu of sequence %zu is outside 0..%zu", q->tokens[i], i, b,
                               c->n_vocab - 1);
    if (q->positions) {
        if (q->n_positions == 0)
            return tdiff__fail(&d->env, TDIFF_E_INVALID_ARGUMENT,
                               "forward_batch: sequence %zu has positions but n_positions 0", b);
        for (size_t r = 0; r < q->n_positions; r++)
            if (q->positions[r] >= q->n)
                return tdiff__fail(&d->env, TDIFF_E_INVALID_ARGUMENT,
                                   "forward_batch: position %u (entry %zu) of sequence %zu is >= n = %zu",
                                   q->positions[r], r, b, q->n);
    }
    if (!tdiff__add_size(*heads, q->positions ? q->n_positions : q->n, heads))
        return tdiff__fail(&d->env, TDIFF_E_OVERFLOW, "forward_batch: the logits rows overflow");
    return TDIFF_OK;
}

tdiff_status tdiff__denoiser_forward_batch(tdiff_denoiser *d, const tdiff__batch_seq *seqs, size_t n_seq,
                                           float *logits, size_t logits_cap)
{
    if (!d)
        return TDIFF_E_INVALID_ARGUMENT;
    if (!seqs || !logits || n_seq == 0)
        return tdiff__fail(&d->env, TDIFF_E_INVALID_ARGUMENT, "forward_batch: %s",
                           n_seq == 0 ? "no sequences" : "NULL sequences or logits");
    if (d->cfg.dit)
        return tdiff__fail(&d->env, TDIFF_E_UNSUPPORTED,
                           "forward_batch: time-conditioned (DiT) models are not batched; call forward_t per sequence");
    if (d->attention < TDIFF_ATTENTION_FULL || d->attention > TDIFF_ATTENTION_BLOCK_CAUSAL)
        return tdiff__fail(&d->env, TDIFF_E_INVALID_ARGUMENT, "forward_batch: attention %d is not usable here",
                           d->attention);
    size_t rows = 0, heads = 0;
    for (size_t b = 0; b < n_seq; b++) {
        tdiff_status st = check_seq(d, &seqs[b], b, &heads);
        if (st != TDIFF_OK)
            return st;
        if (seqs[b].n > d->max_rows - rows)
            return tdiff__fail(&d->env, TDIFF_E_INVALID_ARGUMENT,
                               "forward_batch: the sequences need more than the %zu rows reserved "
                               "(tdiff_denoiser_reserve_batch)", d->max_rows);
        rows += seqs[b].n;
    }
    size_t need;
    if (!tdiff__mul_size(heads, d->cfg.n_vocab, &need) || logits_cap < need)
        return tdiff__fail(&d->env, TDIFF_E_BUFFER_TOO_SMALL,
                           "forward_batch: logits need %zu x %zu floats, capacity %zu", heads, d->cfg.n_vocab,
                           logits_cap);
    /* pack: tokens one sequence after another, each row's own position */
    size_t r = 0;
    for (size_t b = 0; b < n_seq; b++) {
        d->ws.seg[b] = r;
        for (size_t i = 0; i < seqs[b].n; i++, r++) {
            d->ws.ptok[r] = seqs[b].tokens[i];
            d->ws.ppos[r] = (uint32_t)i;
        }
    }
    d->ws.seg[n_seq] = r;
    return tdiff__dn_run_batch(d, seqs, n_seq, logits);
}

tdiff_status tdiff_denoiser_forward_batch(tdiff_denoiser *d, size_t n_seq, const int32_t *const *tokens,
                                          const size_t *n, const uint32_t *const *positions,
                                          const size_t *n_positions, float *logits, size_t logits_cap)
{
    if (!d)
        return TDIFF_E_INVALID_ARGUMENT;
    if (!tokens || !n || (positions && !n_positions))
        return tdiff__fail(&d->env, TDIFF_E_INVALID_ARGUMENT, "forward_batch: NULL %s",
                           !tokens ? "tokens" : !n ? "n" : "n_positions");
    if (n_seq > d->max_rows)  /* each sequence has at least one row */
        return tdiff__fail(&d->env, TDIFF_E_INVALID_ARGUMENT,
                           "forward_batch: %zu sequences need more than the %zu rows reserved", n_seq, d->max_rows);
    tdiff__batch_seq *seqs = d->ws.seqs;
    for (size_t b = 0; b < n_seq; b++)
        seqs[b] = (tdiff__batch_seq){tokens[b], n[b], positions ? positions[b] : NULL,
                                     positions && positions[b] ? n_positions[b] : 0};
    return tdiff__denoiser_forward_batch(d, n_seq ? seqs : NULL, n_seq, logits, logits_cap);
}

static const tdiff__name param_names[] = {
    {TDIFF_DENOISER_ATTENTION, "attention"},
    {TDIFF_DENOISER_BLOCK_LENGTH, "block_length"},
    {TDIFF_DENOISER_BLOCK_START, "block_start"},
    {TDIFF_DENOISER_N_VOCAB, "n_vocab"},
    {TDIFF_DENOISER_N_EMBD, "n_embd"},
    {TDIFF_DENOISER_MAX_LEN, "max_len"},
    {TDIFF_DENOISER_N_THREADS, "n_threads"},
    {TDIFF_DENOISER_TIME_CONDITIONED, "time_conditioned"},
    {TDIFF_DENOISER_SHIFT_LOGITS, "shift_logits"},
};

const char *tdiff_denoiser_param_name(tdiff_denoiser_param param)
{
    return tdiff__name_of(param_names, TDIFF__COUNT(param_names), (int)param);
}

tdiff_status tdiff_denoiser_param_from_name(const char *name, tdiff_denoiser_param *out)
{
    int v;
    tdiff_status st = tdiff__value_of(param_names, TDIFF__COUNT(param_names), name, out ? &v : NULL);
    if (st == TDIFF_OK)
        *out = (tdiff_denoiser_param)v;
    return st;
}

/* Bounds and library defaults of the settable parameters (reasons in the header). */
static const struct settable_param {
    tdiff_denoiser_param p;
    int64_t lo, hi, def;
} settable_params[] = {
    {TDIFF_DENOISER_ATTENTION, TDIFF_ATTENTION_FULL, TDIFF_ATTENTION_BLOCK_CAUSAL, TDIFF_ATTENTION_FULL},
    {TDIFF_DENOISER_BLOCK_LENGTH, 1, DN_MAX_LEN, DN_DEFAULT_BLOCK},
    {TDIFF_DENOISER_BLOCK_START, 0, DN_MAX_LEN, 0},
};

/* The row of a settable parameter; NULL for read-only and unknown ones. */
static const struct settable_param *settable(tdiff_denoiser_param p)
{
    for (size_t i = 0; i < TDIFF__COUNT(settable_params); i++)
        if (settable_params[i].p == p)
            return &settable_params[i];
    return NULL;
}

tdiff_status tdiff_denoiser_param_bounds(tdiff_denoiser_param param, double *min, double *max, double *default_value)
{
    const struct settable_param *sp = settable(param);
    if (!sp)
        return TDIFF_E_INVALID_ARGUMENT;
    if (min)
        *min = (double)sp->lo;
    if (max)
        *max = (double)sp->hi;
    if (default_value)
        *default_value = (double)sp->def;
    return TDIFF_OK;
}

tdiff_status tdiff_denoiser_set_int(tdiff_denoiser *d, tdiff_denoiser_param param, int64_t value)
{
    if (!d)
        return TDIFF_E_INVALID_ARGUMENT;
    const char *name = tdiff_denoiser_param_name(param);
    const struct settable_param *sp = settable(param);
    if (!sp)
        return strcmp(name, "unknown") == 0
                   ? tdiff__fail(&d->env, TDIFF_E_INVALID_ARGUMENT, "unknown denoiser parameter %d", (int)param)
                   : tdiff__fail(&d->env, TDIFF_E_INVALID_ARGUMENT, "%s is read-only", name);
    if (value < sp->lo || value > sp->hi)
        return tdiff__fail(&d->env, TDIFF_E_INVALID_ARGUMENT, "%s: %lld is outside [%lld, %lld]", name,
                           (long long)value, (long long)sp->lo, (long long)sp->hi);
    if (param == TDIFF_DENOISER_ATTENTION)
        d->attention = (int)value;
    else if (param == TDIFF_DENOISER_BLOCK_START)
        d->block_start = (size_t)value;
    else
        d->block_len = (size_t)value;
    return TDIFF_OK;
}

tdiff_status tdiff_denoiser_get_int(const tdiff_denoiser *d, tdiff_denoiser_param param, int64_t *out)
{
    if (!d || !out)
        return TDIFF_E_INVALID_ARGUMENT;
    switch (param) {
    case TDIFF_DENOISER_ATTENTION: *out = d->attention; break;
    case TDIFF_DENOISER_BLOCK_LENGTH: *out = (int64_t)d->block_len; break;
    case TDIFF_DENOISER_BLOCK_START: *out = (int64_t)d->block_start; break;
    case TDIFF_DENOISER_N_VOCAB: *out = (int64_t)d->cfg.n_vocab; break;
    case TDIFF_DENOISER_N_EMBD: *out = (int64_t)d->cfg.n_embd; break;
    case TDIFF_DENOISER_MAX_LEN: *out = (int64_t)d->max_len; break;
    case TDIFF_DENOISER_N_THREADS: *out = (int64_t)tdiff__pool_size(d->pool); break;
    case TDIFF_DENOISER_TIME_CONDITIONED: *out = d->cfg.dit && d->cfg.time_input; break;
    case TDIFF_DENOISER_SHIFT_LOGITS: *out = d->cfg.shift_logits; break;
    default: return TDIFF_E_INVALID_ARGUMENT;
    }
    return TDIFF_OK;
}

size_t tdiff__denoiser_n_vocab(const tdiff_denoiser *d) { return d->cfg.n_vocab; }
size_t tdiff__denoiser_n_embd(const tdiff_denoiser *d) { return d->cfg.n_embd; }
size_t tdiff__denoiser_max_len(const tdiff_denoiser *d) { return d->max_len; }
bool tdiff__denoiser_time_conditioned(const tdiff_denoiser *d) { return d->cfg.dit && d->cfg.time_input; }
bool tdiff__denoiser_shift_logits(const tdiff_denoiser *d) { return d->cfg.shift_logits; }

tdiff_status tdiff__denoiser_token_embedding(const tdiff_denoiser *d, int32_t token, float *out)
{
    if (!d || !out || token < 0 || (size_t)token >= d->cfg.n_vocab)
        return TDIFF_E_INVALID_ARGUMENT;
    return tdiff__tensor_row_to_f32(d->env.k, d->w.tok_embd, (size_t)token, out);
}

/* ---- vector inputs (soft masking, continuous diffusion) ---- */

/* Checks the CSR lists: offsets[0] = 0, non-decreasing, ids < V, finite weights,
 * and an empty list only where a token id can stand in. */
static tdiff_status check_mix(tdiff_denoiser *d, const int32_t *tokens, size_t n, const size_t *offsets,
                              const int32_t *ids, const float *weights)
{
    if (offsets[0] != 0)
        return tdiff__fail(&d->env, TDIFF_E_INVALID_ARGUMENT, "forward_mix: offsets[0] = %zu, must be 0", offsets[0]);
    if (offsets[n] > 0 && (!ids || !weights))
        return tdiff__fail(&d->env, TDIFF_E_INVALID_ARGUMENT, "forward_mix: NULL %s", ids ? "weights" : "ids");
    for (size_t i = 0; i < n; i++) {
        if (offsets[i + 1] < offsets[i])
            return tdiff__fail(&d->env, TDIFF_E_INVALID_ARGUMENT,
                               "forward_mix: offsets decrease at position %zu (%zu < %zu)", i, offsets[i + 1],
                               offsets[i]);
        if (offsets[i + 1] == offsets[i] && !tokens)
            return tdiff__fail(&d->env, TDIFF_E_INVALID_ARGUMENT,
                               "forward_mix: position %zu has an empty list and there are no tokens", i);
    }
    for (size_t e = 0; e < offsets[n]; e++) {
        if (ids[e] < 0 || (size_t)ids[e] >= d->cfg.n_vocab)
            return tdiff__fail(&d->env, TDIFF_E_INVALID_ARGUMENT, "forward_mix: id %d (entry %zu) is outside 0..%zu",
                               ids[e], e, d->cfg.n_vocab - 1);
        if (!isfinite(weights[e]))
            return tdiff__fail(&d->env, TDIFF_E_INVALID_ARGUMENT, "forward_mix: weight of entry %zu is not finite",
                               e);
    }
    return TDIFF_OK;
}

/* ws.mix[i] = sum of the weighted embedding rows of position i's list; each row
 * is a sum of at most a few embedding rows: [n, d] work, never [n, V]. */
static void build_mix(tdiff_denoiser *d, size_t n, const size_t *offsets, const int32_t *ids, const float *weights)
{
    const tdiff__kernels *k = d->env.k;
    size_t dm = d->cfg.n_embd;
    for (size_t i = 0; i < n; i++) {
        float *row = d->ws.mix + i * dm;
        d->ws.mix_rows[i] = offsets[i + 1] > offsets[i];
        memset(row, 0, dm * sizeof *row);
        for (size_t e = offsets[i]; e < offsets[i + 1]; e++) {
            if (weights[e] == 0.0f)
                continue;  /* reason: an all-zero tail leaves the row bit-identical to its other terms */
            (void)tdiff__tensor_row_to_f32(k, d->w.tok_embd, (size_t)ids[e], d->ws.mix_tmp);  /* id checked */
            k->axpy(row, weights[e], d->ws.mix_tmp, dm);
        }
    }
}

/* Turns vector inputs (a mixture or caller rows) into embd / embd_rows after the
 * checks of the public vector calls; tokens NULL means "no ids", which only files
 * that read the input ids after the network (SEDD's scale_by_sigma) need. */
static tdiff_status prepare_vectors(tdiff_denoiser *d, tdiff__forward_args *a)
{
    const char *what = a->mix_offsets ? "forward_mix" : "forward_embd";
    if (a->n == 0 || a->n > d->max_len)
        return tdiff__fail(&d->env, TDIFF_E_INVALID_ARGUMENT, "%s: n = %zu is outside 1..%zu", what, a->n,
                           d->max_len);
    if (a->mix_offsets) {
        tdiff_status st = check_mix(d, a->tokens, a->n, a->mix_offsets, a->mix_ids, a->mix_weights);
        if (st != TDIFF_OK)
            return st;
        build_mix(d, a->n, a->mix_offsets, a->mix_ids, a->mix_weights);
        a->embd = d->ws.mix;
        a->embd_rows = d->ws.mix_rows;
    } else {
        if (a->embd_rows && !a->tokens)
            return tdiff__fail(&d->env, TDIFF_E_INVALID_ARGUMENT,
                               "forward_embd: embd_rows given without tokens for the other rows");
        size_t dm = d->cfg.n_embd;
        for (size_t i = 0; i < a->n; i++) {
            if (a->embd_rows && !a->embd_rows[i])
                continue;
            for (size_t j = 0; j < dm; j++)
                if (!isfinite(a->embd[i * dm + j]))
                    return tdiff__fail(&d->env, TDIFF_E_INVALID_ARGUMENT,
                                       "forward_embd: embedding %zu of position %zu is not finite", j, i);
        }
    }
    if (!a->tokens && d->cfg.scale_by_sigma)
        return tdiff__fail(&d->env, TDIFF_E_INVALID_ARGUMENT,
                           "forward: this model's output reads the input ids (scale_by_sigma); tokens are required");
    if (!isfinite(a->t))
        return tdiff__fail(&d->env, TDIFF_E_INVALID_ARGUMENT, "forward: t is not finite");
    if (!a->tokens)
        a->tokens = d->ws.ids0;
    return TDIFF_OK;
}

tdiff_status tdiff_denoiser_forward_embd(tdiff_denoiser *d, const int32_t *tokens, const float *embd,
                                         const uint8_t *embd_rows, size_t n, float t, const uint32_t *positions,
                                         size_t n_positions, float *logits, size_t logits_cap)
{
    if (!d)
        return TDIFF_E_INVALID_ARGUMENT;
    if (!embd)
        return tdiff__fail(&d->env, TDIFF_E_INVALID_ARGUMENT, "forward_embd: NULL embd");
    tdiff__forward_args a = {0};
    a.tokens = tokens;
    a.embd = embd;
    a.embd_rows = embd_rows;
    a.n = n;
    a.positions = positions;
    a.n_positions = n_positions;
    a.t = t;
    a.logits = logits;
    a.logits_cap = logits_cap;
    return tdiff__denoiser_forward_ex(d, &a);
}

tdiff_status tdiff_denoiser_forward_mix(tdiff_denoiser *d, const int32_t *tokens, size_t n, const size_t *offsets,
                                        const int32_t *ids, const float *weights, float t,
                                        const uint32_t *positions, size_t n_positions, float *logits,
                                        size_t logits_cap)
{
    if (!d)
        return TDIFF_E_INVALID_ARGUMENT;
    if (!offsets)
        return tdiff__fail(&d->env, TDIFF_E_INVALID_ARGUMENT, "forward_mix: NULL offsets");
    tdiff__forward_args a = {0};
    a.tokens = tokens;
    a.n = n;
    a.mix_offsets = offsets;
    a.mix_ids = ids;
    a.mix_weights = weights;
    a.positions = positions;
    a.n_positions = n_positions;
    a.t = t;
    a.logits = logits;
    a.logits_cap = logits_cap;
    return tdiff__denoiser_forward_ex(d, &a);
}

const tdiff__env *tdiff__denoiser_env(const tdiff_denoiser *d)
{
    return &d->env;
}
