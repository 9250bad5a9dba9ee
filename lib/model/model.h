/*
 * model.h -- the internal contract of the model module: a loaded GGUF file
 * (metadata + tensor tables pointing into the mapped bytes), typed metadata
 * getters, tensor views with row dequantisation, and the validated
 * hyper-parameters of the architectures we know (llada, dream; the
 * autoregressive llama, qwen2).
 *
 * Everything here points INTO the mapped file: nothing is copied except the
 * small tables. Pointers stay valid until tdiff_model_free. A loaded model is
 * immutable: every function below that takes `const tdiff_model *` is
 * thread-safe and writes no last-error text (callers that need a message build
 * it with their own env).
 *
 * Strings from the file (keys, string values, tensor names) are NOT
 * NUL-terminated: they come as (pointer, length). The only NUL-terminated copy
 * is the architecture name.
 *
 * Dimension legend: ne[0] is the innermost (contiguous) dimension, as in ggml.
 * A 2-D weight with ne = {d, V} is a row-major V x d matrix: V rows of d values.
 *
 * Adding an architecture (e.g. the denoiser's `tdiff`): the loader accepts ANY
 * `general.architecture` whose file passes the generic GGUF checks. For names in
 * the table of lib/model/arch.c it runs that architecture's `fill` function
 * (reads `<arch>.*` keys with the getters below, fills tdiff__hparams, checks
 * every tensor with tdiff__tensor_expect). For other names hp.arch is
 * TDIFF__ARCH_OTHER and only the generic fields are filled (n_vocab from the
 * token list, special ids); a module that owns such an architecture reads its
 * own keys through tdiff__model_arch() + the getters at its own creation time.
 * To move an architecture into the loader, write a tdiff__arch_fill_fn and add
 * one line to the table in arch.c.
 */
#ifndef TDIFF_MODEL_H
#define TDIFF_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"
#include "simd/simd.h"

/* ---- limits we enforce on files (docs/model-format.md) ---- */
#define TDIFF__GGUF_MAX_KEY_LEN 65535u      /* bytes; longer keys are rejected            */
#define TDIFF__GGUF_MAX_NAME_LEN 63u        /* tensor names: < 64 bytes (GGML_MAX_NAME)   */
#define TDIFF__GGUF_MAX_DIMS 4u             /* GGML_MAX_DIMS                              */
#define TDIFF__GGUF_MAX_ALIGNMENT (1u << 24) /* 16 MiB: larger is nonsense, not a format  */
#define TDIFF__GGUF_DEFAULT_ALIGNMENT 32u
#define TDIFF__GGUF_MAX_COUNT (1u << 30)     /* metadata entries / tensors / array elements */

/* ggml tensor type numbers (never renumbered by ggml). Only these are supported;
 * the same numbers as simd/blocks.h's TDIFF__W_*, where the layouts are written. */
typedef enum tdiff__ggml_type {
    TDIFF__GGML_F32 = TDIFF__W_F32,
    TDIFF__GGML_F16 = TDIFF__W_F16,
    TDIFF__GGML_Q4_0 = TDIFF__W_Q4_0,
    TDIFF__GGML_Q8_0 = TDIFF__W_Q8_0,
    TDIFF__GGML_Q4_K = TDIFF__W_Q4_K,
    TDIFF__GGML_Q5_K = TDIFF__W_Q5_K,
    TDIFF__GGML_Q6_K = TDIFF__W_Q6_K,
    TDIFF__GGML_BF16 = TDIFF__W_BF16
} tdiff__ggml_type;

/* Block geometry of a supported type: `block` elements take `block_bytes` bytes.
 * Q8_0: 32 x int8 + f16 scale = 34 bytes; Q4_0: 32 x 4 bit + f16 scale = 18 bytes;
 * Q4_K/Q5_K/Q6_K: 256 elements in 144/176/210 bytes (simd/blocks.h).
 * Returns false for unsupported types. */
bool tdiff__ggml_type_info(uint32_t type, size_t *block, size_t *block_bytes);
/* ggml's name of any type number ("F32", "Q4_K", ...); "unknown" past the table. Static. */
const char *tdiff__ggml_type_name(uint32_t type);

/* ---- metadata ---- */

/* One metadata entry. `type` is a tdiff_meta_type (values = GGUF's). For scalars
 * count == 1 and elem_type == type; for arrays type == TDIFF_META_ARRAY, elem_type
 * is the element type and count the number of elements. `data` points at the
 * value in the map (the first element for arrays; for a string, at its 8-byte
 * length prefix). Values are little-endian and possibly unaligned: read them
 * through the getters, not by casting. */
typedef struct tdiff__meta {
    const char *key;          /* not NUL-terminated */
    size_t key_len;
    uint32_t type;
    uint32_t elem_type;
    size_t count;
    const uint8_t *data;
    size_t nbytes;            /* bytes of the whole value in the file */
    const size_t *str_offs;   /* string arrays only: offset of element i's length prefix from `data` */
} tdiff__meta;

/* A tensor: a view into the map. nbytes = n_rows * row_bytes. */
typedef struct tdiff__tensor {
    const char *name;         /* not NUL-terminated, name_len < 64 */
    size_t name_len;
    uint32_t type;            /* tdiff__ggml_type */
    uint32_t n_dims;          /* 0..4 as stored; ne[n_dims..3] == 1 */
    size_t ne[4];             /* ggml order, innermost first */
    size_t n_elems;
    size_t n_rows;            /* ne[1]*ne[2]*ne[3]; 0 for an empty tensor */
    size_t row_bytes;         /* bytes of one row of ne[0] values */
    const void *data;         /* in the map, aligned to the file's alignment */
    size_t nbytes;
    uint64_t offset;          /* relative to the start of the data section */
} tdiff__tensor;

/* ---- architectures and hyper-parameters ---- */

typedef enum tdiff__arch {
    TDIFF__ARCH_OTHER = 0,    /* any other name: only generic fields are filled */
    TDIFF__ARCH_LLADA = 1,
    TDIFF__ARCH_DREAM = 2,
    TDIFF__ARCH_LLAMA = 3,    /* autoregressive: causal, shifted logits, no mask token */
    TDIFF__ARCH_QWEN2 = 4     /* autoregressive, NeoX RoPE, optional Q/K/V biases */
} tdiff__arch;

typedef enum tdiff__rope_style {
    TDIFF__ROPE_NONE = 0,
    TDIFF__ROPE_NORMAL = 1,   /* rotate adjacent pairs (2i, 2i+1)        -- llada, llama */
    TDIFF__ROPE_NEOX = 2      /* rotate (i, i + rope_dim/2)             -- dream, qwen2 */
} tdiff__rope_style;

/* Validated at load. Dimensions are 0 when the architecture does not define them
 * (TDIFF__ARCH_OTHER); special ids are -1 when absent. */
typedef struct tdiff__hparams {
    tdiff__arch arch;
    size_t n_vocab;           /* = token list length = rows of token_embd */
    size_t n_ctx;             /* {arch}.context_length */
    size_t n_embd;
    size_t n_layer;
    size_t n_ff;
    size_t n_head;
    size_t n_head_kv;         /* divides n_head */
    size_t head_dim;          /* n_embd / n_head */
    size_t rope_dim;          /* <= head_dim, even */
    float rope_base;          /* default 10000 */
    float norm_eps;           /* RMSNorm epsilon */
    bool shift_logits;        /* diffusion.shift_logits; absent: true (as llama-diffusion-cli);
                                 llama/qwen2: always true (hidden state p-1 predicts token p) */
    bool causal;              /* {arch}.attention.causal; absent: false (llama/qwen2: true) */
    bool autoregressive;      /* llama/qwen2: a left-to-right model; no mask token needed */
    tdiff__rope_style rope_style;
    bool has_qkv_bias;        /* attn_q/k/v.bias present in every layer (dream; qwen2 when the file has them) */
    bool tied_output;         /* output.weight absent: the LM head is token_embd */
    int32_t bos, eos, mask, pad, unk, sep, cls;
} tdiff__hparams;

/* The loaded model. Opaque to users; modules read the fields directly. */
struct tdiff_model {
    tdiff__env env;           /* allocator + kernel table captured at load */
    const uint8_t *base;      /* the bytes: the mapping or the caller's buffer */
    size_t size;
    void *map_addr;           /* non-NULL when we own an mmap of `size` bytes */
    uint32_t version;         /* 2 or 3 */
    size_t alignment;
    size_t data_offset;       /* start of the tensor data section in `base` */
    size_t n_meta;
    tdiff__meta *meta;        /* file order */
    size_t n_tensors;
    tdiff__tensor *tensors;   /* file order */
    /* Sorted by (length, bytes): lookups are binary searches and duplicate
     * detection is O(n log n) even for adversarial names (no hash flooding). */
    const tdiff__meta **meta_sorted;
    const tdiff__tensor **tensor_sorted;
    char *arch_name;          /* NUL-terminated copy of general.architecture ("" if absent) */
    uint64_t n_params;        /* sum of tensor element counts */
    tdiff__hparams hp;
};

/* Architecture name (never NULL; "" when the file has no general.architecture). */
const char *tdiff__model_arch(const tdiff_model *m);

/* Finds a metadata entry; NULL when absent. key is NUL-terminated. */
const tdiff__meta *tdiff__meta_find(const tdiff_model *m, const char *key);

/*
 * Typed getters. All return TDIFF_OK, TDIFF_E_NOT_FOUND (no such key),
 * TDIFF_E_TYPE_MISMATCH (the stored type is of another kind) or TDIFF_E_OVERFLOW
 * (an integer of an accepted type whose value does not fit the requested one).
 * Integer getters accept every integer type (u8..u64, i8..i64) whose VALUE fits:
 * get_u32 takes u8/u16/u32, i8..i64 >= 0 and u64 <= UINT32_MAX; get_i32 any
 * integer in int32 range; get_u64 any integer >= 0. They reject bool and floats.
 * get_f32 accepts f32 and f64 (rounded). get_bool accepts only bool.
 * get_str gives (pointer into the map, length), not NUL-terminated.
 */
tdiff_status tdiff__meta_get_u32(const tdiff_model *m, const char *key, uint32_t *out);
tdiff_status tdiff__meta_get_i32(const tdiff_model *m, const char *key, int32_t *out);
tdiff_status tdiff__meta_get_u64(const tdiff_model *m, const char *key, uint64_t *out);
tdiff_status tdiff__meta_get_f32(const tdiff_model *m, const char *key, float *out);
tdiff_status tdiff__meta_get_bool(const tdiff_model *m, const char *key, bool *out);
tdiff_status tdiff__meta_get_str(const tdiff_model *m, const char *key, const char **s, size_t *len);

/* Arrays: find the entry with tdiff__meta_find, then read elements (i < count).
 * TDIFF_E_TYPE_MISMATCH when e is not an array of the requested element kind
 * (arr_i32 accepts every integer element type whose value fits int32; arr_f32
 * accepts f32 and f64), TDIFF_E_INVALID_ARGUMENT when i >= count. */
tdiff_status tdiff__meta_arr_str(const tdiff__meta *e, size_t i, const char **s, size_t *len);
tdiff_status tdiff__meta_arr_i32(const tdiff__meta *e, size_t i, int32_t *out);
tdiff_status tdiff__meta_arr_f32(const tdiff__meta *e, size_t i, float *out);

/* Scalar value of an entry as the getters see it (for enumeration tools). */
tdiff_status tdiff__meta_value_i64(const tdiff__meta *e, int64_t *out);  /* signed ints, u8..u32, u64 <= INT64_MAX */
tdiff_status tdiff__meta_value_f64(const tdiff__meta *e, double *out);   /* f32, f64 */

/* ---- tensors ---- */

/* Finds a tensor by NUL-terminated name; NULL when absent. */
const tdiff__tensor *tdiff__tensor_find(const tdiff_model *m, const char *name);

/*
 * Checks that tensor `name` exists (unless !required), has exactly the shape
 * ne[0..n_dims) (trailing dims 1) and a supported type. On success *out is the
 * tensor or NULL when optional and absent. On failure records a message in env
 * naming the tensor and the mismatch and returns TDIFF_E_BAD_FORMAT (also for a
 * missing required tensor). Intended for architecture fill functions.
 */
tdiff_status tdiff__tensor_expect(const tdiff_model *m, tdiff__env *env, const char *name, bool required,
                                  uint32_t n_dims, const size_t ne[4], const tdiff__tensor **out);

/*
 * Dequantises rows of a tensor to F32 through the kernel table k:
 * out[r * ne[0] + j] for r in [0, n_rows). Rows count across ne[1..3].
 * F32 is copied, F16/BF16 go through f16_to_f32/bf16_to_f32, the block types
 * through their dequant_* kernel. TDIFF_E_INVALID_ARGUMENT when the rows are out of range.
 */
tdiff_status tdiff__tensor_rows_to_f32(const tdiff__kernels *k, const tdiff__tensor *t, size_t first_row,
                                       size_t n_rows, float *out);
tdiff_status tdiff__tensor_row_to_f32(const tdiff__kernels *k, const tdiff__tensor *t, size_t row, float *out);

/* ---- encoding (quants.c) ---- */

/* f32 to IEEE binary16 / bfloat16, rounded to nearest even (overflow to inf,
 * NaN kept quiet). */
uint16_t tdiff__f32_to_f16(float f);
uint16_t tdiff__f32_to_bf16(float f);
/* Encodes n values (a multiple of the type's block) into `out` (n / block
 * blocks). TDIFF_E_INVALID_ARGUMENT for an unknown type or a partial block,
 * TDIFF_E_BAD_FORMAT when a block type meets a non-finite value. */
tdiff_status tdiff__quantize_row(uint32_t type, const float *x, size_t n, void *out);

/* ---- loading pieces (the .c files of lib/model; exposed for the tests and arch fill functions) ---- */

/* Parses base[0..size) as GGUF into m (whose env is initialised); fills the
 * tables, hashes and arch_name. Generic checks only. */
tdiff_status tdiff__gguf_parse(tdiff_model *m);

/* An architecture's fill function: reads keys, fills m->hp (arch-specific fields),
 * validates tensors; records a message in env on failure. */
typedef tdiff_status (*tdiff__arch_fill_fn)(tdiff_model *m, tdiff__env *env);

/* Runs the generic fill (vocabulary, special ids) and the architecture's own fill. */
tdiff_status tdiff__arch_fill(tdiff_model *m, tdiff__env *env);

/* Releases the tables (not the struct, not the mapping). */
void tdiff__gguf_release(tdiff_model *m);

/* osfile.c: maps the regular file at path (UTF-8) read-only; out_addr, out_size
 * receive the mapping. TDIFF_E_IO (message in env) for a missing, unreadable, empty or
 * non-regular file. tdiff__unmap_file(NULL, 0) is harmless. */
tdiff_status tdiff__map_file(tdiff__env *env, const char *path, void **out_addr, size_t *out_size);
void tdiff__unmap_file(void *addr, size_t size);
/* osfile.c: renames from to to, replacing an existing to (on Windows too);
 * TDIFF_E_IO with the reason in env. */
tdiff_status tdiff__replace_file(tdiff__env *env, const char *from, const char *to);

#endif
