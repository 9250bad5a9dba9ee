/*
 * tokenizer.h -- internal contract of the tokenizer module: the plain
 * configuration a tokenizer is built from (what tokenizer.ggml.* holds), the
 * built tokenizer (vocabulary hash, merges, per-token output pieces), and the
 * per-kind encoders. Everything after creation is read-only, so one tokenizer
 * serves any number of threads; scratch memory belongs to each call.
 */
#ifndef TDIFF_TOKENIZER_H
#define TDIFF_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

/* GGUF token types (tokenizer.ggml.token_type; llama.cpp's numbering). */
enum {
    TDIFF__TOK_UNDEFINED = 0,
    TDIFF__TOK_NORMAL = 1,
    TDIFF__TOK_UNKNOWN = 2,
    TDIFF__TOK_CONTROL = 3,
    TDIFF__TOK_USER_DEFINED = 4,
    TDIFF__TOK_UNUSED = 5,
    TDIFF__TOK_BYTE = 6
};

typedef enum tdiff__tok_kind {
    TDIFF__KIND_BPE = 1,        /* "gpt2": byte-level BPE        */
    TDIFF__KIND_WORDPIECE = 2,  /* "bert"                        */
    TDIFF__KIND_SPM = 3         /* "llama": SentencePiece BPE    */
} tdiff__tok_kind;

/* Pre-tokenizers (split patterns) of byte-level BPE, as llama.cpp names them. */
typedef enum tdiff__pre_kind {
    TDIFF__PRE_DEFAULT = 0,  /* punctuation runs, GPT-2, digit runs, 3-digit groups */
    TDIFF__PRE_GPT2 = 1,     /* the GPT-2 pattern                                    */
    TDIFF__PRE_LLAMA3 = 2,   /* Llama-3 pattern (digits in groups of up to 3)        */
    TDIFF__PRE_QWEN2 = 3     /* Qwen2 pattern (single digits); also llada-moe        */
} tdiff__pre_kind;

/* What tokenizer.ggml.* says, as plain arrays (strings are pointer + length,
 * not NUL-terminated). Counts of optional arrays are 0 when absent; special ids
 * are -1 when absent; add_bos/add_eos are -1 when absent (kind default). */
typedef struct tdiff__tok_config {
    const char *model;            /* "gpt2", "bert", "llama" */
    size_t model_len;
    const char *pre;              /* tokenizer.ggml.pre; NULL = absent */
    size_t pre_len;
    size_t n_tokens;
    const char *const *tokens;
    const size_t *token_lens;
    size_t n_types;
    const int32_t *types;
    size_t n_scores;
    const float *scores;
    size_t n_merges;
    const char *const *merges;
    const size_t *merge_lens;
    int64_t bos, eos, unk, pad, mask, sep, cls;
    int add_bos, add_eos;
    int add_space_prefix;         /* SentencePiece; -1 absent (= true) */
    const char *chat_template;    /* tokenizer.chat_template; NULL = absent */
    size_t chat_template_len;
} tdiff__tok_config;

/* The chat template family recognised in tokenizer.chat_template (chat.c). */
typedef enum tdiff__chat_format {
    TDIFF__CHAT_NONE = 0,         /* a template this library does not render */
    TDIFF__CHAT_CONTENT = 1,      /* the message contents back to back      */
    TDIFF__CHAT_CHATML = 2,       /* <|im_start|>role ... <|im_end|>         */
    TDIFF__CHAT_LLAMA3 = 3        /* <|start_header_id|>role<|end_header_id|> */
} tdiff__chat_format;

typedef struct tdiff__chat {
    tdiff__chat_format format;
    char *system;                 /* chatml: the template's default system prompt, or NULL */
    size_t system_len;
    bool bos_first;               /* llama3: the first message starts with bos_token */
    bool trim;                    /* llama3: contents are trimmed (`| trim`) */
    bool always_prompt;           /* llama3: the assistant header ends every rendering */
} tdiff__chat;

/* Recognises a template (s may be NULL: no template = ChatML, as llama.cpp).
 * An unrecognised template leaves format NONE and is not an error. */
tdiff_status tdiff__chat_parse(tdiff__env *env, const char *s, size_t n, tdiff__chat *out);
void tdiff__chat_release(tdiff__env *env, tdiff__chat *chat);

typedef struct tdiff__merge {
    int32_t left, right, result;
} tdiff__merge;

struct tdiff_tokenizer {
    tdiff__env env;               /* allocator only: no error text is written after creation */
    tdiff__tok_kind kind;
    tdiff__pre_kind pre;
    bool ignore_merges;           /* Llama-3: a piece that is a whole token is taken as is */
    size_t n_tokens;
    char *text_pool;              /* token texts, back to back */
    size_t *text_off;             /* n_tokens + 1 */
    uint8_t *types;               /* n_tokens */
    float *scores;                /* n_tokens, or NULL */
    uint8_t *piece_pool;          /* what each token detokenizes to */
    size_t *piece_off;            /* n_tokens + 1 */
    size_t max_piece;
    uint32_t *hash;               /* text -> id + 1, open addressing */
    size_t hash_cap;
    tdiff__merge *merges;
    size_t n_merges;
    uint32_t *merge_hash;         /* (left, right) -> merge index + 1 */
    size_t merge_hash_cap;
    int32_t byte_token[256];      /* token of each byte: BPE symbol / SPM <0xNN>; -1 none */
    int32_t *special_order;       /* tokens matched by special parsing, longest first */
    size_t n_special;
    size_t max_token_len;         /* bytes; WordPiece/SPM search bound */
    int32_t bos, eos, unk, pad, mask, sep, cls;
    bool add_bos, add_eos;
    bool add_space_prefix;
    bool spm_split_words;         /* SentencePiece: no piece has U+2581 after another character */
    tdiff__chat chat;             /* tokenizer.chat_template, recognised */
};

/* Creates a tokenizer from a configuration (the model glue and the tests use
 * it). err (may be NULL) receives the reason on failure. */
tdiff_status tdiff__tokenizer_create_config(const tdiff__tok_config *cfg, const tdiff_host *host,
                                            struct tdiff_tokenizer **out, char *err, size_t err_cap);

/* Builds a tokenizer from a configuration; on failure records the reason in
 * env->last_error and frees everything. `tok` must be zeroed with env set. */
tdiff_status tdiff__tok_build(struct tdiff_tokenizer *tok, const tdiff__tok_config *cfg);
void tdiff__tok_release(struct tdiff_tokenizer *tok);

/* Looks a byte string up; -1 when it is not a token. */
int32_t tdiff__tok_find(const struct tdiff_tokenizer *tok, const void *text, size_t len);
/* Merge index for (left, right); -1 when there is none. */
int32_t tdiff__tok_find_merge(const struct tdiff_tokenizer *tok, int32_t left, int32_t right);

/* Output of one encode call: a growing id array (allocations through env). */
typedef struct tdiff__ids {
    int32_t *v;
    size_t n, cap;
    const tdiff__env *env;
} tdiff__ids;
tdiff_status tdiff__ids_push(tdiff__ids *ids, int32_t id);

/*
 * Normalised text: the input decoded (invalid bytes -> U+FFFD, unicode.h) as
 * code points cp[0..n) and re-encoded UTF-8 utf8[off[i]..off[i+1]).
 */
typedef struct tdiff__text {
    uint32_t *cp;
    size_t *off;
    uint8_t *utf8;
    size_t n;
} tdiff__text;
tdiff_status tdiff__text_decode(const tdiff__env *env, const char *s, size_t len, tdiff__text *out);
void tdiff__text_free(const tdiff__env *env, tdiff__text *t);

/* Calls `piece` for every pre-token [a, b) (code point indices) of cp[0..n) in order. */
typedef tdiff_status (*tdiff__piece_fn)(void *ud, size_t a, size_t b);
tdiff_status tdiff__pretok_split(tdiff__pre_kind kind, const uint32_t *cp, size_t n, tdiff__piece_fn piece, void *ud);
/* Maps a tokenizer.ggml.pre name to a pre-tokenizer; false when unknown. */
bool tdiff__pretok_from_name(const char *name, size_t len, tdiff__pre_kind *out);

/* Per-kind encoders of plain text (no special tokens): append ids. */
tdiff_status tdiff__bpe_encode(const struct tdiff_tokenizer *tok, const char *s, size_t len, tdiff__ids *ids);
/* fast = false: no chunking, no piece cache (the tests compare both paths). */
tdiff_status tdiff__bpe_encode_opts(const struct tdiff_tokenizer *tok, const char *s, size_t len, bool fast,
                                    tdiff__ids *ids);
tdiff_status tdiff__spm_encode(const struct tdiff_tokenizer *tok, const char *s, size_t len, bool at_start,
                               tdiff__ids *ids);
/* fast = false: the whole text as one sequence (no chunks, no per-word merging). */
tdiff_status tdiff__spm_encode_opts(const struct tdiff_tokenizer *tok, const char *s, size_t len, bool at_start,
                                    bool fast, tdiff__ids *ids);
tdiff_status tdiff__wpm_encode(const struct tdiff_tokenizer *tok, const char *s, size_t len, tdiff__ids *ids);

/* The GPT-2 byte <-> code point map: bytes that are printable keep their value,
 * the others are moved to U+0100.. in byte order. */
uint32_t tdiff__gpt2_byte_to_cp(uint8_t b);
/* -1 when cp is not one of the 256 symbols. */
int tdiff__gpt2_cp_to_byte(uint32_t cp);

#endif
