/*
 * net.c -- the network behind the evaluation seam: the library's own denoiser
 * (created at the first generation, sized for its canvas, re-created when a
 * longer canvas or another thread count is asked for) or the caller's logits
 * callback. One call in, logits out; the errors carry a message. A forward of
 * the built-in network goes through the KV-cache policy (kvcache.c) and runs
 * the generated region's blocks as a block-causal model's blocks
 * (TDIFF_DENOISER_BLOCK_START = the region's start).
 */
#include <stdio.h>

#include "denoiser/denoiser.h"
#include "sampler.h"

bool tdiff__net_causal(const tdiff_sampler *s)
{
    int64_t att = 0;
    return s->net.denoiser && tdiff_denoiser_get_int(s->net.denoiser, TDIFF_DENOISER_ATTENTION, &att) == TDIFF_OK &&
           att == TDIFF_ATTENTION_CAUSAL;
}

tdiff_status tdiff__net_prepare(tdiff_sampler *s, size_t n, int threads)
{
    tdiff__net *net = &s->net;
    if (!net->model)
        return TDIFF_OK;
    if (net->denoiser && net->denoiser_len >= n && net->denoiser_threads == threads)
        return TDIFF_OK;
    tdiff__kv_free(net, &s->env);
    tdiff_denoiser_free(net->denoiser);
    net->denoiser = NULL;
    char why[TDIFF__ERR_CAP];
    tdiff_status st = tdiff_denoiser_create(net->model, n, threads, &s->env.host, &net->denoiser, why, sizeof why);
    if (st)
        return tdiff__fail(&s->env, st, "cannot create the denoiser for a canvas of %zu tokens: %s", n, why);
    net->denoiser_len = n;
    net->denoiser_threads = threads;
    return TDIFF_OK;
}

static tdiff_status forward_builtin(tdiff_sampler *s, const tdiff__net_call *c)
{
    tdiff_denoiser *d = s->net.denoiser;
    tdiff__forward_args a = {0};
    a.tokens = c->tokens;
    a.n = c->n;
    a.t = c->t;
    a.positions = c->positions;
    a.n_positions = c->n_positions;
    a.mix_offsets = c->mix_offsets;
    a.mix_ids = c->mix_ids;
    a.mix_weights = c->mix_weights;
    if (!c->mix_offsets) {
        a.embd = c->embd;
        a.embd_rows = c->embd_rows;
    }
    a.has_block_start = true;
    a.block_start = c->block_start;
    if (c->span) {
        a.attention = TDIFF_ATTENTION_SPANS;
        a.span = c->span;
    }
    a.logits = c->logits;
    a.logits_cap = c->n_positions * s->n_vocab; /* the evaluation sized its rows for this */
    tdiff_status st = tdiff__kv_prepare(s, c, &a);
    if (st)
        return st;
    if ((st = tdiff__denoiser_forward_ex(d, &a))) {
        if (a.cache) /* a failed call leaves the entries it was writing half done */
            tdiff__kv_cache_clear(a.cache);
        return tdiff__fail(&s->env, st, "denoiser: %s", tdiff_denoiser_last_error(d));
    }
    tdiff__kv_account(s, c, &a);
    return TDIFF_OK;
}

static tdiff_status forward_callback(tdiff_sampler *s, const tdiff__net_call *c)
{
    int rc = s->net.cb_logits(s->net.cb_user_data, c->tokens, c->n, c->t, c->positions, c->n_positions, c->logits);
    if (rc == 0) {
        tdiff__kv_account(s, c, NULL);
        return TDIFF_OK;
    }
    tdiff_status st = (rc < 0 && rc >= TDIFF_E_INTERNAL) ? (tdiff_status)rc : TDIFF_E_INTERNAL;
    return tdiff__fail(&s->env, st, "the denoiser callback failed with %d", rc);
}

tdiff_status tdiff__net_forward(tdiff_sampler *s, const tdiff__net_call *c)
{
    return s->net.model ? forward_builtin(s, c) : forward_callback(s, c);
}

size_t tdiff__net_n_embd(const tdiff_sampler *s)
{
    return s->net.denoiser ? tdiff__denoiser_n_embd(s->net.denoiser) : 0;
}

tdiff_status tdiff__net_token_embedding(const tdiff_sampler *s, int32_t v, float *out)
{
    if (!s->net.denoiser)
        return TDIFF_E_STATE;
    return tdiff__denoiser_token_embedding(s->net.denoiser, v, out);
}

size_t tdiff__net_context_length(const tdiff_sampler *s)
{
    if (!s->net.model)
        return 0;
    /* {arch}.context_length, the key every architecture (ours included) uses */
    char key[96];
    uint32_t n_ctx = 0;
    int w = snprintf(key, sizeof key, "%s.context_length", tdiff_model_architecture(s->net.model));
    if (w < 0 || (size_t)w >= sizeof key || tdiff_model_meta_get_u32(s->net.model, key, &n_ctx) != TDIFF_OK)
        return 0;
    return n_ctx;
}

void tdiff__net_free(tdiff__net *net, const tdiff__env *env)
{
    if (net->cb_destroy)
        net->cb_destroy(net->cb_user_data);
    tdiff__kv_free(net, env);
    tdiff_denoiser_free(net->denoiser);
    net->denoiser = NULL;
}
