/*
 * denoiser.h -- the internal contract of the denoiser module: one configurable
 * transformer (llada, dream, our own `tdiff` architecture with its BERT-style
 * MLM and DiT presets, and the autoregressive llama / qwen2, which run causal)
 * that maps token ids to logits.
 *
 * The public handle (tdiff_denoiser, include/libtextdiff.h) is what the sampler
 * holds: create it once per sampler with the sampler's host, call
 * tdiff__denoiser_forward once per step. Workspace is allocated at creation;
 * a forward call allocates nothing.
 *
 * Logit convention: logits returned for position p always PREDICT the token at
 * position p. For models with shifted logits (dream, `diffusion.shift_logits`)
 * the shift is applied inside the denoiser (row p comes from hidden state p-1,
 * row 0 from itself), so callers never shift again. Autoregressive models
 * (llama, qwen2) are causal with shifted logits: row p depends on tokens
 * 0..p-1 only, so the token given at p (and after it) does not matter.
 *
 * Thread safety: a denoiser belongs to one thread at a time (it owns a thread
 * pool and the workspace); the model it reads may be shared.
 */
#ifndef TDIFF_DENOISER_H
#define TDIFF_DENOISER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libtextdiff.h"

/* Keys and values of every layer for the positions of one canvas, kept between
 * forward calls (cache.c). */
typedef struct tdiff__kv_cache tdiff__kv_cache;

/*
 * Everything one forward call may take. Zero-initialise, then set what you use
 * (`tdiff__forward_args a = {0};`): zero fields mean "the default".
 */
typedef struct tdiff__forward_args {
    const int32_t *tokens;      /* [n] token ids, each < n_vocab                           */
    size_t n;                   /* 1..max_len                                              */
    /* Optional input embeddings (soft masking, continuous diffusion): [n, n_embd]
     * row-major. Row i replaces the token embedding of position i when embd_rows
     * is NULL or embd_rows[i] != 0; tokens[i] is still validated and used for
     * everything else (learned positions and token types are still added). */
    const float *embd;
    const uint8_t *embd_rows;
    /* Positions whose logits are wanted (each < n, repeats allowed, any order);
     * NULL = all n positions in order (n_positions is then ignored). */
    const uint32_t *positions;
    size_t n_positions;
    /* Time conditioning value (the σ or t the model was trained with, see
     * docs/model-format.md, "tdiff" section `tdiff.time.*`); required (finite) for
     * time-conditioned models, ignored by the others. */
    float t;
    /* Attention pattern for this call: a tdiff_attention value, 0 = the
     * denoiser's current setting (TDIFF_DENOISER_ATTENTION). */
    int attention;
    size_t block_len;           /* TDIFF_ATTENTION_BLOCK_CAUSAL: block length, 0 = the setting */
    /* TDIFF_ATTENTION_SPANS (planned diffusion, docs/model-format.md): [n] group
     * ids. Group 0 is the causal stream (context, plan, tags, finished spans):
     * a row of group 0 sees every j <= i. A row of span group g > 0 sees its own
     * group in both directions and every j <= c(i), c(i) the last group-0
     * position before i (the context and plan; earlier rounds' spans lie before
     * it); with span_earlier also every j < i (the earlier spans of its round).
     * span_earlier: 0 = the model's setting (`tdiff.attention.spans_see_earlier`),
     * 1 = yes, -1 = no. */
    const uint32_t *span;
    int span_earlier;
    /* TDIFF_ATTENTION_BLOCK_CAUSAL: where block 0 begins (has_block_start; else
     * the setting TDIFF_DENOISER_BLOCK_START). Positions before it form one block
     * of their own, which every later block sees. */
    bool has_block_start;
    size_t block_start;
    /* Soft-mask mixtures in CSR form (tdiff_denoiser_forward_mix's rules): when
     * set, they replace embd / embd_rows. */
    const size_t *mix_offsets;  /* [n + 1] */
    const int32_t *mix_ids;
    const float *mix_weights;
    /* KV cache (NULL: every position runs through every layer). With a cache the
     * call runs only these rows: the positions in `compute`, the rows that feed
     * the logits asked for, and every key those rows' attention spans that the
     * cache does not hold; it stores their keys and values, and reads every other
     * key from the cache. Which entries are still right is the caller's business
     * (tdiff__kv_cache_invalidate marks exactly those a change reaches). */
    tdiff__kv_cache *cache;
    const uint32_t *compute;    /* [n_compute] positions < n, any order */
    size_t n_compute;
    float *logits;              /* out: [n_positions, n_vocab] row-major                   */
    size_t logits_cap;          /* floats available at logits                              */
} tdiff__forward_args;

/*
 * The full forward call: every public forward is this one with some fields set.
 * Vector inputs (embd or the mix lists) get the checks of the public vector
 * calls, and tokens may then be NULL as there. TDIFF_OK, or
 * TDIFF_E_INVALID_ARGUMENT (NULL pointers, n outside 1..max_len, a token >=
 * n_vocab, a position >= n, a non-finite t for a time-conditioned model, a bad
 * attention setting, a cache of another denoiser, a compute position >= n, the
 * vector rules of the public calls), TDIFF_E_BUFFER_TOO_SMALL
 * (logits_cap < n_positions * n_vocab; the message says the needed size).
 * Errors are recorded in the denoiser's last error (tdiff_denoiser_last_error).
 */
tdiff_status tdiff__denoiser_forward_ex(tdiff_denoiser *d, const tdiff__forward_args *a);

/* The short form most samplers need: tokens -> logits at `positions` (NULL = all),
 * t for time-conditioned models (ignored otherwise). */
tdiff_status tdiff__denoiser_forward(tdiff_denoiser *d, const int32_t *tokens, size_t n,
                                     const uint32_t *positions, size_t n_positions, float t,
                                     float *logits, size_t logits_cap);

/*
 * One sequence of a batched forward call (tdiff__denoiser_forward_batch).
 */
typedef struct tdiff__batch_seq {
    const int32_t *tokens;      /* [n] token ids, each < n_vocab                           */
    size_t n;                   /* 1..max_len                                              */
    const uint32_t *positions;  /* logits wanted (each < n); NULL = all n in order        */
    size_t n_positions;
} tdiff__batch_seq;

/*
 * Runs n_seq sequences of any lengths through the network as one packed batch:
 * every linear layer (and the output head) is one product over the rows of all
 * sequences, so each weight is read once per call; attention stays inside each
 * sequence. Logits: the rows of sequence 0's positions, then sequence 1's, ...
 * ([sum of n_positions, n_vocab]). Each sequence's logits are bit-identical to
 * tdiff__denoiser_forward on it alone (the products define every element
 * exactly, whatever the row count: simd/gemm.h). Attention follows the handle's
 * settings (TDIFF_DENOISER_ATTENTION, block length and start) in each sequence.
 * The sequences' lengths must add up to at most the rows reserved
 * (tdiff_denoiser_reserve_batch; max_len by default). TDIFF_E_INVALID_ARGUMENT
 * (as the single forward, per sequence; n_seq 0; too many rows),
 * TDIFF_E_UNSUPPORTED (a time-conditioned (DiT) model), TDIFF_E_BUFFER_TOO_SMALL.
 */
tdiff_status tdiff__denoiser_forward_batch(tdiff_denoiser *d, const tdiff__batch_seq *seqs, size_t n_seq,
                                           float *logits, size_t logits_cap);

/*
 * The KV cache: what lets a forward call recompute only some positions of a
 * canvas (the sampler's prefix / dual / delayed caches, exact caching of causal
 * and block-causal models, autoregressive decoding). A cache belongs to the
 * denoiser that created it, holds up to max_len positions
 * (2 x n_layer x max_len x n_kv_embd floats) and starts empty; free it before
 * the denoiser. Entries are keyed by the attention pattern (mask, block length
 * and start, span groups) and, for time-conditioned models, t: a call under
 * another key empties the cache first, so a stale key can never be read.
 */
tdiff_status tdiff__kv_cache_create(tdiff_denoiser *d, tdiff__kv_cache **out);
void tdiff__kv_cache_free(tdiff_denoiser *d, tdiff__kv_cache *c);
/* Forgets every entry. */
void tdiff__kv_cache_clear(tdiff__kv_cache *c);
/* The inputs at positions changed[0..n) differ from those the entries were
 * computed from: drops exactly the entries whose keys read one of them under the
 * entries' attention pattern (causal: positions >= it; block-causal: its block
 * and later ones; full and spans: every entry). */
void tdiff__kv_cache_invalidate(tdiff__kv_cache *c, const uint32_t *changed, size_t n);
/* The same for a cache whose next call runs under TDIFF_ATTENTION_SPANS with
 * groups span[] (covering every changed position): drops the entries at and
 * after the first reader of each changed input -- the input itself for group 0,
 * the first stored position of its group for a span (exact for any layout;
 * planned decoding keeps the context, the plan and earlier rounds). A cache
 * keyed under another mask is emptied. */
void tdiff__kv_cache_invalidate_spans(tdiff__kv_cache *c, const uint32_t *changed, size_t n, const uint32_t *span);
/* Rows the last call ran through the layers, and keys it read from the cache. */
void tdiff__kv_cache_last(const tdiff__kv_cache *c, size_t *computed, size_t *reused);

/* Facts a sampler needs, valid for the life of the handle. */
size_t tdiff__denoiser_n_vocab(const tdiff_denoiser *d);
size_t tdiff__denoiser_n_embd(const tdiff_denoiser *d);
size_t tdiff__denoiser_max_len(const tdiff_denoiser *d);
bool tdiff__denoiser_time_conditioned(const tdiff_denoiser *d);
/* True when the model's logits are shifted (already undone by the forward). */
bool tdiff__denoiser_shift_logits(const tdiff_denoiser *d);

/* Row `token` of the input embedding table as F32 (out: [n_embd]); for soft
 * masking (E[m], E[v]). TDIFF_E_INVALID_ARGUMENT for a bad token or NULL. */
tdiff_status tdiff__denoiser_token_embedding(const tdiff_denoiser *d, int32_t token, float *out);

/* The handle's environment (allocator, log), for callers in other modules that
 * allocate on the denoiser's behalf (lib/objective's ar_nll). Never NULL for a
 * non-NULL d. */
struct tdiff__env;
const struct tdiff__env *tdiff__denoiser_env(const tdiff_denoiser *d);

#endif
