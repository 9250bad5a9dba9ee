/*
 * libtextdiff.h -- the public contract of libtextdiff, an embeddable runtime for
 * text diffusion language models.
 *
 * This header is the documentation. Rules that hold for every function:
 *
 *  - Every fallible call returns a tdiff_status: TDIFF_OK (0) or a negative error.
 *    The library never prints, exits or aborts. Handles keep a last-error message
 *    (tdiff_*_last_error) that says what went wrong in words.
 *  - Output pointers are written only on success unless documented otherwise.
 *  - Sizes are size_t. Output buffers come from the caller with a capacity; a buffer
 *    that is too small gives TDIFF_E_BUFFER_TOO_SMALL and the size that is needed.
 *  - Every *_free function accepts NULL.
 *  - No global mutable state: allocator and logging hooks live in the handles
 *    (tdiff_host). The only process-wide datum is the cached CPU feature set,
 *    computed once, thread-safely, and read-only afterwards.
 *  - Thread safety: a loaded tdiff_model is immutable and may be shared by any number
 *    of threads. Every other handle (scheduler, sampler, ...) belongs to one thread
 *    at a time ("one context per thread").
 *  - Enumerations have explicit values that are never renumbered; retired values
 *    stay reserved.
 *  - API inside #ifdef TDIFF_EXPERIMENTAL is not covered by the ABI guarantee.
 */
#ifndef LIBTEXTDIFF_H
#define LIBTEXTDIFF_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32) && defined(TDIFF_BUILDING_DLL)
#  define TDIFF_API __declspec(dllexport)
#elif defined(__GNUC__) && __GNUC__ >= 4
#  define TDIFF_API __attribute__((visibility("default")))
#else
#  define TDIFF_API
#endif

/* ======================================================================== */
/* Version                                                                   */
/* ======================================================================== */

#define TDIFF_VERSION_MAJOR 0
#define TDIFF_VERSION_MINOR 1
#define TDIFF_VERSION_PATCH 0
/* MAJOR*10000 + MINOR*100 + PATCH, comparable with tdiff_version_number(). */
#define TDIFF_VERSION_NUMBER \
    (TDIFF_VERSION_MAJOR * 10000 + TDIFF_VERSION_MINOR * 100 + TDIFF_VERSION_PATCH)

/* The version of the library actually linked (may differ from the header's). */
TDIFF_API unsigned tdiff_version_number(void);
/* "MAJOR.MINOR.PATCH"; static storage, never NULL. */
TDIFF_API const char *tdiff_version_string(void);

/* ======================================================================== */
/* Status codes                                                              */
/* ======================================================================== */

typedef enum tdiff_status {
    TDIFF_OK = 0,
    TDIFF_E_INVALID_ARGUMENT = -1,  /* a NULL handle/pointer, a value out of bounds */
    TDIFF_E_OUT_OF_MEMORY = -2,     /* the allocator returned NULL                  */
    TDIFF_E_IO = -3,                /* a file could not be opened, read or mapped   */
    TDIFF_E_BAD_FORMAT = -4,        /* a model file or buffer is malformed          */
    TDIFF_E_UNSUPPORTED = -5,       /* valid but not supported (type, arch, ISA...) */
    TDIFF_E_BUFFER_TOO_SMALL = -6,  /* caller buffer too small; needed size given   */
    TDIFF_E_NOT_FOUND = -7,         /* a metadata key, tensor or token is absent    */
    TDIFF_E_TYPE_MISMATCH = -8,     /* a metadata value has another type            */
    TDIFF_E_ABORTED = -9,           /* a callback asked to stop                     */
    TDIFF_E_STATE = -10,            /* the call is not valid in the handle's state  */
    TDIFF_E_OVERFLOW = -11,         /* a size computation would overflow            */
    TDIFF_E_INTERNAL = -12          /* a bug in libtextdiff: please report it       */
} tdiff_status;

/* A short, static, English description of a status ("invalid argument", ...).
 * Unknown codes give "unknown status". Never NULL. */
TDIFF_API const char *tdiff_status_string(int status);

/* ======================================================================== */
/* Host services: allocator and logging (per handle, never global)          */
/* ======================================================================== */

typedef enum tdiff_log_level {
    TDIFF_LOG_ERROR = 1,
    TDIFF_LOG_WARN = 2,
    TDIFF_LOG_INFO = 3,
    TDIFF_LOG_DEBUG = 4
} tdiff_log_level;

/* Called from the thread that made the call that logs. msg is valid only during the call. */
typedef void (*tdiff_log_fn)(void *user_data, tdiff_log_level level, const char *msg);

/*
 * How a handle allocates memory and where it logs. Pass NULL wherever a
 * `const tdiff_host *` is taken to use the C library's malloc/realloc/free and no
 * logging. The struct is copied at handle creation; it must start with
 * struct_size = sizeof(tdiff_host) so that future versions can extend it.
 *
 * Allocator: malloc_fn, realloc_fn and free_fn must be all set or all NULL. They
 * must return memory aligned for any type (like malloc); realloc_fn(ud, NULL, n)
 * acts as malloc and free_fn(ud, NULL) must be harmless. They may be called from
 * any thread that uses the handle.
 *
 * isa: TDIFF_ISA_AUTO (0) or a SIMD variant to *lower* the automatic choice to.
 */
typedef struct tdiff_host {
    size_t struct_size;
    void *(*malloc_fn)(void *user_data, size_t size);
    void *(*realloc_fn)(void *user_data, void *ptr, size_t size);
    void (*free_fn)(void *user_data, void *ptr);
    void *alloc_user_data;
    tdiff_log_fn log_fn;           /* NULL: no logging */
    void *log_user_data;
    tdiff_log_level log_level;     /* messages above this level are dropped; 0 = WARN */
    int isa;                       /* a tdiff_isa; 0 = automatic */
} tdiff_host;

/* ======================================================================== */
/* SIMD variants (chosen at run time)                                       */
/* ======================================================================== */

typedef enum tdiff_isa {
    TDIFF_ISA_AUTO = 0,
    TDIFF_ISA_SCALAR = 1,  /* portable C reference kernels        */
    TDIFF_ISA_AVX2 = 2,    /* x86-64 AVX2 + FMA                   */
    TDIFF_ISA_AVX512 = 3,  /* reserved: x86-64 AVX-512F (not built yet) */
    TDIFF_ISA_NEON = 4     /* aarch64 Advanced SIMD               */
} tdiff_isa;

/*
 * The SIMD variant handles created now use by default: the best one this CPU runs,
 * lowered by the environment variable TDIFF_FORCE_ISA (scalar|avx2|avx512|neon)
 * when set. TDIFF_E_UNSUPPORTED when TDIFF_FORCE_ISA names an unknown variant or one
 * this build or CPU cannot run (it may only lower the choice) -- handle creation
 * then fails the same way, so the mistake cannot go unnoticed.
 */
TDIFF_API tdiff_status tdiff_isa_active(tdiff_isa *out_isa);
/* Name of the variant in use by default ("scalar", "avx2", "neon"), as
 * tdiff_isa_active resolves it; "invalid" when TDIFF_FORCE_ISA is unusable. Static. */
TDIFF_API const char *tdiff_isa_name(void);
/* Name of a given variant; "unknown" for values outside the enum. Static. */
TDIFF_API const char *tdiff_isa_to_string(int isa);
/* 1 when this build and CPU can run the variant, else 0. */
TDIFF_API int tdiff_isa_supported(int isa);

/*
 * Runs every kernel of the resolved variant against the scalar reference on
 * built-in inputs. TDIFF_OK when all agree within the documented tolerances
 * (docs/simd.md). host may be NULL.
 */
TDIFF_API tdiff_status tdiff_isa_self_check(const tdiff_host *host, tdiff_isa *out_isa_checked);

/* ======================================================================== */
/* Counter-based random numbers (Philox4x32-10)                              */
/* ======================================================================== */

/*
 * Philox4x32-10 of Salmon et al. (Random123). Stateless: the same (key, counter)
 * gives the same four words on every thread, SIMD variant and platform. The
 * samplers key it by (seed, step, position, draw), which is what makes results
 * independent of the thread count.
 */
TDIFF_API void tdiff_philox4x32(const uint32_t counter[4], const uint32_t key[2], uint32_t out[4]);

/* A uniform double in (0, 1) (never exactly 0 or 1), 53 random bits from the draw
 * keyed by (seed, step, position, draw). */
TDIFF_API double tdiff_rng_uniform(uint64_t seed, uint32_t step, uint32_t position, uint32_t draw);

/* ---- module sections: each module documents its own API below ---- */

/* ======================================================================== */
/* Models (GGUF files)                                                        */
/* ======================================================================== */

/*
 * A model is a GGUF file (v2 or v3, little-endian), as written by llama.cpp's
 * converters or by tools/gguf.py: metadata (key -> typed value) and tensors.
 * Files are untrusted input: every count, length, offset and dimension is
 * checked before use, and a malformed file gives TDIFF_E_BAD_FORMAT with a
 * message naming the byte offset and the field. docs/model-format.md lists the
 * architectures, keys, tensor types and limits.
 *
 * Architectures: `llada` and `dream` are validated at load (every expected key
 * and tensor, shapes, types, special ids < vocabulary size). Any other
 * `general.architecture` loads when the generic checks pass; its hyper-parameter
 * queries then give TDIFF_E_NOT_FOUND except the vocabulary size.
 *
 * Tensor types: F32, F16, BF16, Q8_0, Q4_0; others are rejected
 * (TDIFF_E_UNSUPPORTED, the message names the type number).
 *
 * A loaded model is immutable: every query below may be called from any number
 * of threads at once. Queries never record an error text; their status says it.
 */
typedef struct tdiff_model tdiff_model;

/*
 * Loads a model by memory-mapping `path` read-only (no weights are copied; the
 * mapping lives until tdiff_model_free). host may be NULL (defaults). err (may
 * be NULL, err_cap may be 0) receives a message on failure.
 * Returns TDIFF_OK and *out_model, or: TDIFF_E_INVALID_ARGUMENT (NULL path or
 * out_model, bad host), TDIFF_E_IO (cannot open/stat/map; empty file),
 * TDIFF_E_BAD_FORMAT, TDIFF_E_UNSUPPORTED (GGUF version, tensor type),
 * TDIFF_E_OVERFLOW (sizes that do not fit this machine), TDIFF_E_OUT_OF_MEMORY.
 * *out_model is set to NULL on failure.
 */
TDIFF_API tdiff_status tdiff_model_load_file(const char *path, const tdiff_host *host, tdiff_model **out_model,
                                             char *err, size_t err_cap);

/*
 * As tdiff_model_load_file over a caller's buffer of `size` bytes. The buffer
 * is NOT copied: it must stay valid and unchanged until tdiff_model_free. It
 * needs no particular alignment, but tensor data is read in place, so a buffer
 * aligned to 32 bytes keeps F32 weights aligned.
 */
TDIFF_API tdiff_status tdiff_model_load_memory(const void *data, size_t size, const tdiff_host *host,
                                               tdiff_model **out_model, char *err, size_t err_cap);

/* Frees the model and unmaps its file. NULL is harmless. No other handle that
 * uses the model may outlive this call. */
TDIFF_API void tdiff_model_free(tdiff_model *model);

/* general.architecture as a NUL-terminated string owned by the model ("" when
 * the file has none); NULL when model is NULL. */
TDIFF_API const char *tdiff_model_architecture(const tdiff_model *model);

/* Hyper-parameters for tdiff_model_get_int / tdiff_model_get_float. */
typedef enum tdiff_model_param {
    TDIFF_MODEL_N_VOCAB = 1,        /* int: vocabulary size (token list length)      */
    TDIFF_MODEL_N_CTX = 2,          /* int: trained context length                   */
    TDIFF_MODEL_N_EMBD = 3,         /* int: hidden size                              */
    TDIFF_MODEL_N_LAYER = 4,        /* int: transformer blocks                       */
    TDIFF_MODEL_N_FF = 5,           /* int: feed-forward size                        */
    TDIFF_MODEL_N_HEAD = 6,         /* int: attention heads                          */
    TDIFF_MODEL_N_HEAD_KV = 7,      /* int: key/value heads (grouped-query attention) */
    TDIFF_MODEL_HEAD_DIM = 8,       /* int: n_embd / n_head                          */
    TDIFF_MODEL_ROPE_DIM = 9,       /* int: rotated dimensions per head              */
    TDIFF_MODEL_SHIFT_LOGITS = 20,  /* int 0/1: logits of position i predict i+1     */
    TDIFF_MODEL_ROPE_STYLE = 21,    /* int: 1 normal (adjacent pairs), 2 NeoX (halves) */
    TDIFF_MODEL_HAS_QKV_BIAS = 22,  /* int 0/1                                       */
    TDIFF_MODEL_TIED_OUTPUT = 23,   /* int 0/1: LM head is token_embd.weight         */
    TDIFF_MODEL_CAUSAL = 24,        /* int 0/1: attention.causal                     */
    TDIFF_MODEL_GGUF_VERSION = 40,  /* int: 2 or 3                                   */
    TDIFF_MODEL_N_TENSORS = 41,     /* int                                           */
    TDIFF_MODEL_N_META = 42,        /* int: metadata entries                         */
    TDIFF_MODEL_ALIGNMENT = 43,     /* int: general.alignment (default 32)           */
    TDIFF_MODEL_FILE_SIZE = 44,     /* int: bytes of the file or buffer              */
    TDIFF_MODEL_ROPE_BASE = 60,     /* float: RoPE frequency base                    */
    TDIFF_MODEL_NORM_EPS = 61       /* float: RMSNorm epsilon                        */
} tdiff_model_param;

/* TDIFF_OK; TDIFF_E_INVALID_ARGUMENT (NULL, or a float parameter / unknown value);
 * TDIFF_E_NOT_FOUND when the architecture does not define the parameter. */
TDIFF_API tdiff_status tdiff_model_get_int(const tdiff_model *model, tdiff_model_param param, int64_t *out);
TDIFF_API tdiff_status tdiff_model_get_float(const tdiff_model *model, tdiff_model_param param, double *out);

/* Sum of the element counts of all tensors. TDIFF_E_INVALID_ARGUMENT on NULL. */
TDIFF_API tdiff_status tdiff_model_param_count(const tdiff_model *model, uint64_t *out);

/* Vocabulary size (length of tokenizer.ggml.tokens; 0 when the file has no token
 * list). TDIFF_E_INVALID_ARGUMENT on NULL. */
TDIFF_API tdiff_status tdiff_model_vocab_size(const tdiff_model *model, size_t *out);

typedef enum tdiff_special_token {
    TDIFF_SPECIAL_BOS = 1,
    TDIFF_SPECIAL_EOS = 2,
    TDIFF_SPECIAL_MASK = 3,
    TDIFF_SPECIAL_PAD = 4,
    TDIFF_SPECIAL_UNK = 5,
    TDIFF_SPECIAL_SEP = 6,
    TDIFF_SPECIAL_CLS = 7
} tdiff_special_token;

/* The id of a special token (tokenizer.ggml.<x>_token_id, checked < vocab size at
 * load). TDIFF_E_NOT_FOUND when the file has none; TDIFF_E_INVALID_ARGUMENT on
 * NULL or an unknown `which`. */
TDIFF_API tdiff_status tdiff_model_special_token(const tdiff_model *model, tdiff_special_token which,
                                                 int32_t *out_id);

/* Metadata value types; the numbers are GGUF's. */
typedef enum tdiff_meta_type {
    TDIFF_META_U8 = 0,
    TDIFF_META_I8 = 1,
    TDIFF_META_U16 = 2,
    TDIFF_META_I16 = 3,
    TDIFF_META_U32 = 4,
    TDIFF_META_I32 = 5,
    TDIFF_META_F32 = 6,
    TDIFF_META_BOOL = 7,
    TDIFF_META_STRING = 8,
    TDIFF_META_ARRAY = 9,
    TDIFF_META_U64 = 10,
    TDIFF_META_I64 = 11,
    TDIFF_META_F64 = 12
} tdiff_meta_type;

/* Number of metadata entries, and the key of entry i (file order) into a caller
 * buffer (NUL-terminated; *needed, may be NULL, gets length + 1).
 * tdiff_model_meta_key: TDIFF_E_INVALID_ARGUMENT (NULL model, i out of range),
 * TDIFF_E_BUFFER_TOO_SMALL. */
TDIFF_API size_t tdiff_model_meta_count(const tdiff_model *model);
TDIFF_API tdiff_status tdiff_model_meta_key(const tdiff_model *model, size_t i, char *buf, size_t cap,
                                            size_t *needed);

/*
 * Type of the value under `key`: *out_type, and for arrays the element type and
 * count (for scalars *out_elem_type = *out_type and *out_count = 1). Any out
 * pointer may be NULL. TDIFF_E_NOT_FOUND when absent; TDIFF_E_INVALID_ARGUMENT on NULL.
 */
TDIFF_API tdiff_status tdiff_model_meta_type(const tdiff_model *model, const char *key, tdiff_meta_type *out_type,
                                             tdiff_meta_type *out_elem_type, size_t *out_count);

/*
 * Typed getters. Each returns TDIFF_OK, TDIFF_E_INVALID_ARGUMENT (NULL argument),
 * TDIFF_E_NOT_FOUND (no such key), TDIFF_E_TYPE_MISMATCH (the value is of another
 * kind) or TDIFF_E_OVERFLOW (an integer that does not fit the requested type).
 * Integer getters accept any integer type whose value fits (u8, i32 >= 0, u64 <=
 * UINT32_MAX for get_u32, ...), never bool or floats. get_f32 accepts f32 and f64.
 * get_bool accepts only bool (*out 0 or 1).
 */
TDIFF_API tdiff_status tdiff_model_meta_get_u32(const tdiff_model *model, const char *key, uint32_t *out);
TDIFF_API tdiff_status tdiff_model_meta_get_i32(const tdiff_model *model, const char *key, int32_t *out);
TDIFF_API tdiff_status tdiff_model_meta_get_u64(const tdiff_model *model, const char *key, uint64_t *out);
TDIFF_API tdiff_status tdiff_model_meta_get_f32(const tdiff_model *model, const char *key, float *out);
TDIFF_API tdiff_status tdiff_model_meta_get_bool(const tdiff_model *model, const char *key, int *out);

/*
 * A string value copied into buf as NUL-terminated text; *needed (may be NULL)
 * gets its length + 1, also with TDIFF_E_BUFFER_TOO_SMALL. Strings may contain
 * NUL bytes (GGUF strings are counted); the copy keeps them, so use *needed.
 * Same status codes as the getters above, plus TDIFF_E_BUFFER_TOO_SMALL.
 */
TDIFF_API tdiff_status tdiff_model_meta_get_str(const tdiff_model *model, const char *key, char *buf, size_t cap,
                                                size_t *needed);

/*
 * Element `index` of an array value. TDIFF_E_TYPE_MISMATCH when the value is not
 * an array of that kind (get_arr_i32 accepts every integer element type whose
 * values fit; get_arr_f32 accepts f32 and f64), TDIFF_E_INVALID_ARGUMENT when
 * index >= count, TDIFF_E_OVERFLOW as above, TDIFF_E_BUFFER_TOO_SMALL for strings.
 */
TDIFF_API tdiff_status tdiff_model_meta_get_arr_str(const tdiff_model *model, const char *key, size_t index,
                                                    char *buf, size_t cap, size_t *needed);
TDIFF_API tdiff_status tdiff_model_meta_get_arr_i32(const tdiff_model *model, const char *key, size_t index,
                                                    int32_t *out);
TDIFF_API tdiff_status tdiff_model_meta_get_arr_f32(const tdiff_model *model, const char *key, size_t index,
                                                    float *out);

/* Number of tensors, and what tensor i (file order) is: name (NUL-terminated into
 * buf, *needed = length + 1; buf may be NULL with cap 0 to ask only the size),
 * ggml type number (0 F32, 1 F16, 2 Q4_0, 8 Q8_0, 30 BF16), dimensions (1..4) and
 * ne[4] (innermost first, unused = 1). Any out pointer may be NULL.
 * TDIFF_E_INVALID_ARGUMENT (NULL model, i out of range), TDIFF_E_BUFFER_TOO_SMALL. */
TDIFF_API size_t tdiff_model_tensor_count(const tdiff_model *model);
TDIFF_API tdiff_status tdiff_model_tensor_info(const tdiff_model *model, size_t i, char *name_buf, size_t cap,
                                               size_t *needed, int *out_type, int *out_n_dims, int64_t out_ne[4]);

/* @@MODEL@@ */

/* @@TOKENIZER@@ */

/* ======================================================================== */
/* Denoiser: the network (token ids -> logits)                              */
/* ======================================================================== */

/*
 * A denoiser runs the model's transformer: token ids in, logits out. One
 * configurable network serves every architecture the library knows (`llada`,
 * `dream`, and `tdiff` files: BERT-style masked LMs and DiT time-conditioned
 * denoisers, docs/model-format.md).
 *
 * The handle owns a workspace sized at creation from the model and max_len (a
 * forward call allocates nothing) and a pool of n_threads - 1 worker threads.
 * It belongs to one thread at a time; the model may be shared by many
 * denoisers and must outlive them.
 *
 * Logits returned for position p predict the token at position p. For models
 * whose logits are shifted (dream; `diffusion.shift_logits`) the shift is
 * undone inside: row p comes from the hidden state of p - 1, row 0 from itself.
 *
 * Threads and OpenBLAS: matrix products are split over the handle's own threads
 * in fixed column chunks, each computed by a single-threaded cblas_sgemm, so the
 * results are bit-identical for any thread count. Creating a denoiser therefore
 * calls openblas_set_num_threads(1), which is PROCESS-WIDE: other OpenBLAS users
 * in the process run single-threaded afterwards (they can set it back; the
 * denoiser never relies on OpenBLAS threads).
 */
typedef struct tdiff_denoiser tdiff_denoiser;

/* Attention patterns (TDIFF_DENOISER_ATTENTION). */
typedef enum tdiff_attention {
    TDIFF_ATTENTION_FULL = 1,         /* every position sees every position       */
    TDIFF_ATTENTION_CAUSAL = 2,       /* position i sees j <= i                    */
    TDIFF_ATTENTION_BLOCK_CAUSAL = 3, /* i sees j when j / block_len <= i / block_len */
    TDIFF_ATTENTION_SPANS = 4         /* internal use (planned diffusion); not settable */
} tdiff_attention;

/* Parameters (tdiff_denoiser_set_int / get_int). Read-only ones fail to set. */
typedef enum tdiff_denoiser_param {
    TDIFF_DENOISER_ATTENTION = 1,     /* tdiff_attention; default: the model's (full unless the file says causal) */
    TDIFF_DENOISER_BLOCK_LENGTH = 2,  /* >= 1; used by BLOCK_CAUSAL; default 32 (reason: LLaDA's default block)   */
    TDIFF_DENOISER_N_VOCAB = 100,     /* read-only: columns of a logits row       */
    TDIFF_DENOISER_N_EMBD = 101,      /* read-only: hidden size                   */
    TDIFF_DENOISER_MAX_LEN = 102,     /* read-only: longest sequence accepted     */
    TDIFF_DENOISER_N_THREADS = 103,   /* read-only                                */
    TDIFF_DENOISER_TIME_CONDITIONED = 104, /* read-only: 1 when forward needs t (use tdiff_denoiser_forward_t) */
    TDIFF_DENOISER_SHIFT_LOGITS = 105 /* read-only: 1 when the model's logits are shifted (undone inside) */
} tdiff_denoiser_param;

/*
 * Creates a denoiser for `model` accepting sequences of 1..max_len tokens, using
 * n_threads threads (>= 1; the calling thread is one of them). host: NULL =
 * defaults. On success *out owns the handle (free with tdiff_denoiser_free).
 * Returns TDIFF_OK; TDIFF_E_INVALID_ARGUMENT (NULL model/out, max_len 0 or
 * larger than the model's context / learned positions, n_threads < 1 or > 256,
 * bad host); TDIFF_E_UNSUPPORTED (an architecture or option the denoiser does
 * not implement); TDIFF_E_BAD_FORMAT (a missing tensor, a wrong shape, a bad
 * `tdiff.*` key); TDIFF_E_OVERFLOW (workspace size overflows);
 * TDIFF_E_OUT_OF_MEMORY; TDIFF_E_INTERNAL (a worker thread could not start).
 * On failure *out is set to NULL; the reason cannot be read from a handle that
 * does not exist, so it is also logged through host->log_fn.
 */
TDIFF_API tdiff_status tdiff_denoiser_create(const tdiff_model *model, size_t max_len, int n_threads,
                                             const tdiff_host *host, tdiff_denoiser **out);

/* Frees the handle and joins its threads. NULL is harmless. */
TDIFF_API void tdiff_denoiser_free(tdiff_denoiser *d);

/*
 * Runs the network on tokens[0..n) (1 <= n <= max_len, each id < n_vocab) and
 * writes logits for the requested positions: row r of `logits` ([n_positions,
 * n_vocab], row-major) belongs to position positions[r] (each < n; repeats and
 * any order allowed). positions NULL = all n positions in order (n_positions is
 * then ignored and n rows are written). The output head runs only for the rows
 * asked for. Returns TDIFF_OK; TDIFF_E_INVALID_ARGUMENT (NULL pointers, n out
 * of range, a bad token or position, n_positions 0 with positions set, a
 * time-conditioned model: use tdiff_denoiser_forward_t);
 * TDIFF_E_BUFFER_TOO_SMALL when logits_cap < n_positions * n_vocab floats (the
 * needed size is rows * TDIFF_DENOISER_N_VOCAB; the message states it).
 * `logits` is unspecified after an error.
 */
TDIFF_API tdiff_status tdiff_denoiser_forward(tdiff_denoiser *d, const int32_t *tokens, size_t n,
                                              const uint32_t *positions, size_t n_positions,
                                              float *logits, size_t logits_cap);

/*
 * The same for time-conditioned (DiT) models: t is the conditioning value the
 * model was trained with (σ for SEDD/MDLM-style files, see `tdiff.time.*` in
 * docs/model-format.md); it must be finite. Models without time conditioning
 * ignore t, so samplers may always call this one. Return codes as
 * tdiff_denoiser_forward (minus the time-conditioning case).
 */
TDIFF_API tdiff_status tdiff_denoiser_forward_t(tdiff_denoiser *d, const int32_t *tokens, size_t n, float t,
                                                const uint32_t *positions, size_t n_positions,
                                                float *logits, size_t logits_cap);

/* Sets a parameter. TDIFF_OK; TDIFF_E_INVALID_ARGUMENT for a NULL handle, an
 * unknown or read-only parameter, or a value out of bounds. */
TDIFF_API tdiff_status tdiff_denoiser_set_int(tdiff_denoiser *d, tdiff_denoiser_param param, int64_t value);
/* Reads a parameter into *out. TDIFF_OK; TDIFF_E_INVALID_ARGUMENT (NULL, unknown). */
TDIFF_API tdiff_status tdiff_denoiser_get_int(const tdiff_denoiser *d, tdiff_denoiser_param param, int64_t *out);

/* The last error message of this handle ("" when none). Valid until the next
 * call on the handle. NULL handle: a static "invalid handle" text. */
TDIFF_API const char *tdiff_denoiser_last_error(const tdiff_denoiser *d);

/* @@DENOISER@@ */

/* @@SCHEDULE@@ */

/* @@SAMPLER@@ */

#ifdef __cplusplus
}
#endif

#endif /* LIBTEXTDIFF_H */
