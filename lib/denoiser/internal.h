/*
 * internal.h -- private to lib/denoiser/: the network configuration (what the
 * file's hyper-parameters turn into), the weights (views into the model), the
 * workspace, and the functions the module's files share.
 *
 * Dimension legend used in every comment of this module:
 *   n  sequence length (<= max_len)    d   n_embd        V  n_vocab
 *   H  attention heads, Hkv kv heads   hd  head dim      F  n_ff
 *   C  time-conditioning width (DiT)   Q   frequency-embedding width (DiT)
 * Activations are row-major [n, width]; a weight tensor with ggml ne = {in, out}
 * is a row-major [out, in] matrix, and a linear layer computes y = x W^T + b.
 */
#ifndef TDIFF_DENOISER_INTERNAL_H
#define TDIFF_DENOISER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"
#include "core/threads.h"
#include "denoiser/denoiser.h"
#include "model/model.h"
#include "simd/gemm.h"
#include "simd/simd.h"

/* Block length of BLOCK_CAUSAL attention when the file names none (reason: LLaDA's
 * default block). */
#define DN_DEFAULT_BLOCK 32

typedef enum dn_norm { DN_NORM_RMS = 1, DN_NORM_LAYER = 2 } dn_norm;
typedef enum dn_ffn { DN_FFN_SWIGLU = 1, DN_FFN_GELU = 2, DN_FFN_GELU_TANH = 3 } dn_ffn;

/* Everything the forward pass needs to know about the network's shape. */
typedef struct dn_config {
    size_t n_vocab, n_ctx, n_embd, n_layer, n_ff;
    size_t n_head, n_head_kv, head_dim, rope_dim;
    float rope_base;
    tdiff__rope_style rope_style;
    dn_norm norm;
    float norm_eps;
    bool post_norm;          /* BERT: norm after each residual add            */
    bool final_norm;         /* output_norm before the head                   */
    bool embd_norm;          /* token_embd_norm after the embedding sum       */
    dn_ffn ffn;
    bool learned_pos;        /* position_embd, n_ctx rows                     */
    size_t n_token_types;    /* token_types rows (type 0 is added)            */
    bool head_transform;     /* MLM: dense + gelu + norm before the decoder   */
    bool shift_logits;
    int attention;           /* default tdiff_attention                       */
    size_t block_len;        /* default block length                          */
    bool span_earlier;       /* SPANS: spans see earlier spans of their round */
    bool dit;                /* time conditioning (adaLN)                     */
    bool time_input;         /* dit: the network reads t (MDLM's time_conditioning;
                                false: it is fed 0 whatever t is, as MDLM does) */
    size_t n_cond, n_freq;   /* C, Q                                          */
    float max_period;        /* sinusoidal embedding's period scale           */
    bool scale_by_sigma;     /* SEDD: logits - log(e^sigma - 1) - log(V - 1), own token 0 */
} dn_config;

/* A 2-D weight [rows = out, cols = in] as stored (any supported type). */
typedef struct dn_mat {
    const tdiff__tensor *t;  /* NULL: absent */
    size_t rows, cols;
} dn_mat;

/* Per-layer weights. Vectors are F32 (in the map, or converted at create). */
typedef struct dn_layer {
    dn_mat wq, wk, wv, wo;           /* [d, d], [dkv, d], [dkv, d], [d, d]   */
    const float *bq, *bk, *bv, *bo;  /* optional                             */
    const float *attn_norm_w, *attn_norm_b;
    const float *ffn_norm_w, *ffn_norm_b;
    dn_mat w_gate, w_up, w_down;     /* [F, d], [F, d], [d, F]               */
    const float *b_up, *b_gate, *b_down;
    dn_mat w_ada;                    /* DiT: [6d, C]                         */
    const float *b_ada;
} dn_layer;

typedef struct dn_weights {
    const tdiff__tensor *tok_embd;   /* [V, d] */
    const tdiff__tensor *pos_embd;   /* [n_ctx, d] or NULL */
    const tdiff__tensor *type_embd;  /* [types, d] or NULL */
    const float *embd_norm_w, *embd_norm_b;
    dn_layer *layers;
    const float *out_norm_w, *out_norm_b;
    dn_mat w_transform;              /* MLM: [d, d] */
    const float *b_transform, *transform_norm_w, *transform_norm_b;
    dn_mat w_out;                    /* [V, d] (token_embd when tied) */
    const float *b_out;              /* [V] or NULL */
    dn_mat w_t_in, w_t_out;          /* DiT: [C, Q], [C, C] */
    const float *b_t_in, *b_t_out;
    dn_mat w_out_ada;                /* DiT: [2d, C] */
    const float *b_out_ada;
} dn_weights;

/* Scratch, carved out of one allocation at create. */
typedef struct dn_work {
    float *x;        /* [max_len, d]   residual stream                          */
    float *xn;       /* [max_len, d]   normalised input of a sub-layer          */
    float *q;        /* [max_len, d]                                             */
    float *k, *v;    /* [max_len, dkv]                                           */
    float *att;      /* [max_len, d]   attention output before W_o              */
    float *ff_a;     /* [max_len, F]   gate (or the GELU input)                  */
    float *ff_b;     /* [max_len, F]   up                                        */
    float *scores;   /* [threads, ATT_TILE, max_len]                             */
    tdiff__gemm_ws gemm;   /* packed activations + per-thread weight scratch      */
    void *att_pack;  /* [threads, att_pack_bytes]  attention's packed Q / P tiles */
    size_t att_pack_bytes;
    float *rope_cos, *rope_sin; /* [max_len, rope_dim/2]                         */
    float *cond;     /* DiT: [Q + 2C]  frequency embedding, hidden, c            */
    float *mod;      /* DiT: [6d]                                                */
    uint32_t *rows;  /* [max_len] hidden-state row feeding each head row         */
    /* Vector inputs (api.c, public embedding / mixture calls): */
    float *mix;      /* [max_len, d]   mixture embeddings built by forward_mix   */
    float *mix_tmp;  /* [d]            one dequantised embedding row             */
    int32_t *ids0;   /* [max_len]      zero token ids when the caller gives none */
    uint8_t *mix_rows; /* [max_len]    1 where the mixture replaces the token    */
    /* Packed batches (tdiff__denoiser_forward_batch): */
    int32_t *ptok;   /* [max_rows]     the sequences' tokens, one after another   */
    uint32_t *ppos;  /* [max_rows]     each row's position in its own sequence    */
    size_t *seg;     /* [max_rows + 1] first row of each sequence, then the total */
    size_t *seg_tile;/* [max_rows + 1] first attention tile of each sequence      */
    tdiff__batch_seq *seqs; /* [max_rows] the public batch call's sequences      */
} dn_work;

/* Rows of the attention score tile a task handles (reason: 64 x max_len floats of
 * scratch per thread instead of max_len^2, and enough tasks to balance threads). */
#define DN_ATT_TILE 64u

/* An attention pattern as one forward call applies it (attention.c). */
typedef struct dn_mask {
    int attention;            /* tdiff_attention                                      */
    size_t block_len;         /* BLOCK_CAUSAL: block length                           */
    size_t block_start;       /* BLOCK_CAUSAL: block 0 begins here; [0, block_start)
                                 is one block of its own (the prompt every block sees) */
    const uint32_t *span;     /* SPANS: [n] group ids (denoiser.h has the rule)       */
    bool span_earlier;        /* SPANS: a span row also sees every earlier position   */
} dn_mask;

/* The rows one forward call runs through the layers, and the keys they attend to.
 * Without a cache every position is a row (pos, row_of NULL); with one, only the
 * rows the call must compute (cache.c), the other keys read from the cache.
 * A packed batch (several sequences, no cache) is rows of one sequence after
 * another: pos is each row's position in its own sequence, and n_seg / seg say
 * where each sequence starts; attention never crosses from one to another. */
typedef struct dn_rows {
    size_t m;                 /* rows computed (activations are [m, width])           */
    const uint32_t *pos;      /* [m] canvas position of each row, ascending; NULL = 0..m-1 */
    const uint32_t *row_of;   /* [n] row holding each position's hidden state (valid for
                                 the computed ones); NULL = identity                  */
    size_t n;                 /* keys: positions [0, n)  (packed: unused)             */
    size_t n_seg;             /* packed: sequences; 0 = one sequence, the fields above */
    const size_t *seg;        /* packed: [n_seg + 1] first row of each, then m         */
} dn_rows;

static inline size_t tdiff__dn_row_pos(const dn_rows *r, size_t row)
{
    return r->pos ? r->pos[row] : row;
}

/* The KV cache (cache.c): per layer, the keys (after RoPE) and values of every
 * position of a canvas of up to cap tokens, and which of them are valid. */
struct tdiff__kv_cache {
    const tdiff_denoiser *owner;
    size_t cap, dkv, n_layer;
    float *kv;                /* [n_layer][2][cap, dkv]: K then V of each layer       */
    uint8_t *valid;           /* [cap] 1 = K/V stored for this position               */
    uint8_t *need;            /* [cap] scratch: rows of the call in progress          */
    uint32_t *rows;           /* [cap] the rows of the call in progress (ascending)   */
    uint32_t *row_of;         /* [cap]                                                */
    uint32_t *span;           /* [cap] the span groups of the stored entries (SPANS)  */
    size_t span_n;            /* SPANS: span[0, span_n) is known                      */
    /* what the stored entries were computed under; a call under another empties it */
    bool keyed;
    dn_mask mask;
    float t;                  /* time-conditioned models only */
    size_t last_computed, last_reused;
};

struct tdiff_denoiser {
    tdiff__env env;
    const tdiff_model *model;
    dn_config cfg;
    dn_weights w;
    size_t max_len;
    size_t max_rows;         /* rows of the activation buffers: max_len, or more
                                after tdiff_denoiser_reserve_batch               */
    tdiff__pool *pool;
    dn_work ws;
    void *ws_block;          /* the one workspace allocation   */
    float *vec_store;        /* non-F32 vectors converted at create */
    int attention;           /* current setting                */
    size_t block_len;
    size_t block_start;
};

/* F32 data aligned for float access is used in place; anything else (other
 * types, or F32 in a caller's unaligned buffer) is converted first. */
static inline bool tdiff__dn_in_place(const tdiff__tensor *t)
{
    return t->type == TDIFF__GGML_F32 && (uintptr_t)t->data % sizeof(float) == 0;
}

/* config.c: reads the architecture's hyper-parameters and binds the weights. */
tdiff_status tdiff__dn_configure(tdiff_denoiser *d);

/* matmul.c: Y[m, cols of W] (row stride ldy) = X[m, W.cols] W^T (+ bias),
 * through simd/gemm.h on the pool. */
void tdiff__dn_matmul(tdiff_denoiser *d, float *y, size_t ldy, const float *x, size_t m, const dn_mat *w,
                      const float *bias);
/* Several independent products in ONE parallel region (Q/K/V, gate/up): one
 * barrier instead of several, and the threads balance across all chunks. */
#define TDIFF__DN_MAX_PRODUCTS 4
typedef struct tdiff__dn_product {
    float *y;
    size_t ldy;
    const float *x;
    size_t m;
    const dn_mat *w;
    const float *bias;
} tdiff__dn_product;
void tdiff__dn_matmul_multi(tdiff_denoiser *d, const tdiff__dn_product *p, size_t n_products);
/* Bytes of per-thread gemm scratch a weight needs (0 for F32 or absent). */
size_t tdiff__dn_matmul_thread_bytes(const tdiff_denoiser *d, const dn_mat *w);

/* attention.c: att[m, d] of the rows from q[m, d] and the keys and values of
 * positions [0, rows->n) in k, v ([n, dkv], row = position; RoPE applied).
 * Packed rows: each sequence's rows attend to that sequence's keys only (k, v
 * then hold [m, dkv] by row), exactly as the sequence would alone. */
void tdiff__dn_attention(tdiff_denoiser *d, const dn_rows *rows, const float *k, const float *v,
                         const dn_mask *mask);
/* One past the last key query position i may see: causal i + 1, block-causal the
 * end of i's block; n for FULL and SPANS (whose keys are masked one by one).
 * Non-decreasing in i. */
size_t tdiff__dn_mask_end(const dn_mask *mask, size_t i, size_t n);
/* First position of i's block (BLOCK_CAUSAL), i (CAUSAL), 0 otherwise: the
 * positions whose keys read position i's input are all >= it. */
size_t tdiff__dn_mask_first_reader(const dn_mask *mask, size_t i);
/* RoPE tables, and rotation of the rows of q and k (packed [m, width]) in place
 * at their canvas positions. */
void tdiff__dn_rope_init(tdiff_denoiser *d);
void tdiff__dn_rope_apply(tdiff_denoiser *d, const dn_rows *rows);

/* cache.c: the rows a cached call computes (rows->pos, row_of, m), after
 * emptying the cache when the call's mask or t differ from its entries'. */
void tdiff__kv_cache_plan(tdiff_denoiser *d, const tdiff__forward_args *a, const dn_mask *mask, dn_rows *rows);
/* Stores layer il's keys and values of the rows (k, v: [m, dkv]) at their positions. */
void tdiff__kv_cache_store(tdiff__kv_cache *c, size_t il, const dn_rows *rows, const float *k, const float *v);
/* Keys [cap, dkv] and values of layer il. */
float *tdiff__kv_cache_layer(tdiff__kv_cache *c, size_t il, int which);
/* Marks the rows of a finished call valid. */
void tdiff__kv_cache_commit(tdiff__kv_cache *c, const dn_rows *rows);

/* forward.c */
tdiff_status tdiff__dn_run(tdiff_denoiser *d, const tdiff__forward_args *a, size_t n_rows);
/* A packed batch (arguments checked by api.c; ws.ptok, ppos, seg filled): logits
 * rows of sequence 0's positions, then sequence 1's, ... */
tdiff_status tdiff__dn_run_batch(tdiff_denoiser *d, const tdiff__batch_seq *seqs, size_t n_seq, float *logits);

#endif
