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
 *  - Every creator (tdiff_*_create, tdiff_model_load_*) takes `char *err, size_t
 *    err_cap` last: on failure the reason in words is copied there (truncated to
 *    fit, always NUL-terminated; err may be NULL or err_cap 0 to ignore it), on
 *    success it is set to "". The reason is also logged through tdiff_host.log_fn.
 *  - Sizes are size_t. Output buffers come from the caller with a capacity; a buffer
 *    that is too small gives TDIFF_E_BUFFER_TOO_SMALL and the size that is needed.
 *  - Every *_free function accepts NULL.
 *  - No global mutable state: allocator and logging hooks live in the handles
 *    (tdiff_host). The only process-wide data are the cached CPU feature set and
 *    the value of TDIFF_FORCE_ISA, each read once, thread-safely, and read-only
 *    afterwards. The library changes no process-wide setting of any other library.
 *  - Thread safety: a loaded tdiff_model is immutable and may be shared by any number
 *    of threads. Every other handle (scheduler, sampler, ...) belongs to one thread
 *    at a time ("one context per thread").
 *  - Enumerations have explicit values that are never renumbered; retired values
 *    stay reserved. Every parameter has a snake_case name (tdiff_<object>_param_name,
 *    _param_from_name), and error messages name parameters by it.
 *  - Renamed functions keep their old name for one release, marked
 *    TDIFF_DEPRECATED (a compiler warning names the replacement); CHANGELOG.md
 *    lists them under "Deprecated".
 *
 * Experimental API (TDIFF_EXPERIMENTAL). Research-grade functions -- the Gaussian
 * diffusion helpers, the transition internals and SEDD steps, the training
 * objectives -- are declared only when TDIFF_EXPERIMENTAL is defined before this
 * header is included, the way zstd fences its ZSTD_STATIC_LINKING_ONLY section:
 *
 *     #define TDIFF_EXPERIMENTAL
 *     #include <libtextdiff.h>
 *
 * They are exported, documented and tested like the rest, but they are NOT covered
 * by the ABI guarantee: their signatures and behaviour may change in any release,
 * and the ABI baseline (lib/abi) leaves them out. A program that must keep running
 * against later libtextdiff.so.0 builds without rebuilding does not define it.
 */
#ifndef LIBTEXTDIFF_H
#define LIBTEXTDIFF_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Exported functions. Windows: the library's own build defines TDIFF_BUILDING_DLL
 * (dllexport: the DLL exports exactly these); a program linking libtextdiff.dll may
 * define TDIFF_DLL_IMPORT for dllimport (one indirection less; without it the import
 * library's thunks are used), and one linking the static library defines neither. */
#if defined(_WIN32) && defined(TDIFF_BUILDING_DLL)
#  define TDIFF_API __declspec(dllexport)
#elif defined(_WIN32) && defined(TDIFF_DLL_IMPORT)
#  define TDIFF_API __declspec(dllimport)
#elif defined(_WIN32)
#  define TDIFF_API
#elif defined(__GNUC__) && __GNUC__ >= 4
#  define TDIFF_API __attribute__((visibility("default")))
#else
#  define TDIFF_API
#endif

/* Marks a function kept for one release under its old name; msg names the new one. */
#if defined(__GNUC__) || defined(__clang__)
#  define TDIFF_DEPRECATED(msg) __attribute__((deprecated(msg)))
#elif defined(_MSC_VER)
#  define TDIFF_DEPRECATED(msg) __declspec(deprecated(msg))
#else
#  define TDIFF_DEPRECATED(msg)
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
 * This is how an application chooses the kernels of a handle.
 *
 * ignore_env: 0 (the default, and what a NULL host means) lets the environment
 * variable TDIFF_FORCE_ISA=scalar|avx2|avx512|neon lower the choice further, for
 * testing and debugging; 1 makes the handle ignore the environment. The variable is
 * read once per process, at the first handle creation or tdiff_isa_* query. A value
 * that names no variant, or one this build or CPU cannot run, is ignored with a
 * TDIFF_LOG_WARN message through the handle's log_fn: the environment can never make
 * a creation fail. (Appended after isa: a struct_size that ends before it means 0.)
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
    int ignore_env;                /* 1: TDIFF_FORCE_ISA does not apply to this handle */
} tdiff_host;

/* ======================================================================== */
/* SIMD variants (chosen at run time)                                       */
/* ======================================================================== */

typedef enum tdiff_isa {
    TDIFF_ISA_AUTO = 0,
    TDIFF_ISA_SCALAR = 1,  /* portable C reference kernels        */
    TDIFF_ISA_AVX2 = 2,    /* x86-64 AVX2 + FMA                   */
    TDIFF_ISA_AVX512 = 3,  /* x86-64 AVX-512 F+BW+DQ+VL+VNNI (with AVX2, FMA, F16C) */
    TDIFF_ISA_NEON = 4     /* aarch64 Advanced SIMD               */
} tdiff_isa;

/*
 * The SIMD variant handles created now use by default (host NULL): the best one
 * this CPU runs, lowered by TDIFF_FORCE_ISA when that names a variant this build
 * and CPU can run (any other value is ignored). TDIFF_E_INVALID_ARGUMENT for NULL.
 */
TDIFF_API tdiff_status tdiff_isa_active(tdiff_isa *out_isa);
/* Name of the variant in use by default ("scalar", "avx2", "avx512", "neon"), as
 * tdiff_isa_active resolves it. Static. */
TDIFF_API const char *tdiff_isa_name(void);
/* Name of a given variant; "unknown" for values outside the enum. Static. */
TDIFF_API const char *tdiff_isa_to_string(int isa);
/* 1 when this build and CPU can run the variant, else 0. */
TDIFF_API int tdiff_isa_supported(int isa);
/* The CPU's SIMD features that matter to the variants, as space-separated lower-case
 * names: "avx2 fma f16c avxvnni avx512f avx512bw avx512dq avx512vl avx512vnni
 * avx512bf16" or a subset on x86-64, "neon" on aarch64, "" otherwise. Static. */
TDIFF_API const char *tdiff_isa_cpu_features(void);

/*
 * Runs every kernel of the resolved variant against the scalar reference on
 * built-in inputs. TDIFF_OK when all agree within the documented tolerances
 * (docs/simd.md). host may be NULL; out_isa_checked may be NULL and receives the
 * variant checked (TDIFF_ISA_AUTO if none could be resolved).
 * Returns TDIFF_E_INTERNAL when a kernel disagrees (the first mismatch is logged
 * through host->log_fn), TDIFF_E_UNSUPPORTED / TDIFF_E_INVALID_ARGUMENT when the
 * variant cannot be resolved or host is invalid.
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
 * Tensor types: F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K (so Q4_K_M and Q5_K_M
 * files load); others are rejected
 * (TDIFF_E_UNSUPPORTED, the message names the type number).
 *
 * A loaded model is immutable: every query below may be called from any number
 * of threads at once. Queries never record an error text; their status says it.
 */
typedef struct tdiff_model tdiff_model;

/*
 * Loads a model by memory-mapping `path` read-only (no weights are copied; the
 * mapping lives until tdiff_model_free). host may be NULL (defaults). err (may
 * be NULL, err_cap may be 0) receives a message on failure. As with any memory
 * map, the file must not be truncated or rewritten while the model is loaded.
 * Returns TDIFF_OK and *out_model, or: TDIFF_E_INVALID_ARGUMENT (NULL path or
 * out_model, bad host), TDIFF_E_IO (cannot open/stat/map; empty file; not a
 * regular file: a FIFO, socket or device is refused without blocking),
 * TDIFF_E_BAD_FORMAT, TDIFF_E_UNSUPPORTED (GGUF version, tensor type),
 * TDIFF_E_OVERFLOW (sizes that do not fit this machine), TDIFF_E_OUT_OF_MEMORY.
 * *out_model is set to NULL on failure.
 * Resource limits (docs/model-format.md): every count in a file is checked
 * against the bytes that back it before anything is allocated; the model, its
 * tokenizer and a denoiser together keep at most 8 bytes of heap per file byte
 * + 1 MiB, plus the denoiser workspace the caller sizes with max_len.
 */
TDIFF_API tdiff_status tdiff_model_load_file(const char *path, const tdiff_host *host, tdiff_model **out_model,
                                             char *err, size_t err_cap);

/*
 * As tdiff_model_load_file over a caller's buffer of `size` bytes. The buffer
 * is NOT copied: it must stay valid and unchanged until tdiff_model_free.
 * Tensor data is read in place, so it must be aligned in memory: 4 bytes for
 * F32, 2 for the other types, else TDIFF_E_UNSUPPORTED (for files and buffers
 * alike). A malloc'd buffer holding a file with the usual alignment (32) is fine.
 */
TDIFF_API tdiff_status tdiff_model_load_memory(const void *data, size_t size, const tdiff_host *host,
                                               tdiff_model **out_model, char *err, size_t err_cap);

/* Frees the model and unmaps its file. NULL is harmless. No other handle that
 * uses the model may outlive this call. */
TDIFF_API void tdiff_model_free(tdiff_model *model);

/* general.architecture as a NUL-terminated string owned by the model ("" when
 * the file has none); NULL when model is NULL. */
TDIFF_API const char *tdiff_model_architecture(const tdiff_model *model);

/* Hyper-parameters for tdiff_model_get_int / tdiff_model_get_float. They are
 * read-only properties of the file: they have names (tdiff_model_param_name) but
 * no bounds or defaults, and nothing sets them. The name of each is the enum
 * suffix in lower case ("n_vocab", "rope_base"). */
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

/* The snake_case name of a parameter ("n_vocab", "norm_eps"); "unknown" for a value
 * outside the enum. Static storage, never NULL. */
TDIFF_API const char *tdiff_model_param_name(tdiff_model_param param);
/* The parameter with that exact name into *out. TDIFF_OK; TDIFF_E_NOT_FOUND for an
 * unknown name; TDIFF_E_INVALID_ARGUMENT when name or out is NULL. */
TDIFF_API tdiff_status tdiff_model_param_from_name(const char *name, tdiff_model_param *out);

/* Number of weights: the sum of the element counts of all tensors (not the
 * hyper-parameters above). TDIFF_E_INVALID_ARGUMENT on NULL. */
TDIFF_API tdiff_status tdiff_model_weight_count(const tdiff_model *model, uint64_t *out);
/* Deprecated name of tdiff_model_weight_count (removed after 0.2). */
TDIFF_DEPRECATED("use tdiff_model_weight_count")
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
TDIFF_API tdiff_status tdiff_model_special_id(const tdiff_model *model, tdiff_special_token which,
                                              int32_t *out_id);
/* Deprecated name of tdiff_model_special_id (removed after 0.2). */
TDIFF_DEPRECATED("use tdiff_model_special_id")
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
 * ggml type number (0 F32, 1 F16, 2 Q4_0, 8 Q8_0, 12 Q4_K, 13 Q5_K, 14 Q6_K, 30 BF16),
 * dimensions (0..4) and
 * ne[4] (innermost first, unused = 1); type, dimensions and ne are written
 * even when the name buffer is too small. Any out pointer may be NULL.
 * TDIFF_E_INVALID_ARGUMENT (NULL model, i out of range), TDIFF_E_BUFFER_TOO_SMALL. */
TDIFF_API size_t tdiff_model_tensor_count(const tdiff_model *model);
TDIFF_API tdiff_status tdiff_model_tensor_info(const tdiff_model *model, size_t i, char *name_buf, size_t cap,
                                               size_t *needed, int *out_type, int *out_n_dims, int64_t out_ne[4]);

/* ---- Writing a re-encoded copy (`textdiff quantize`) ---- */

/* The encodings tdiff_model_quantize writes. The weights that change are the 2-D
 * (and larger) tensors named *weight except norms, position_embd and token_types;
 * vectors keep their type. As in llama.cpp's files of the same name, the 4-, 5-
 * and 6-bit types and Q4_0 write the output head (or, when the model has none,
 * the tied token_embd) as Q6_K, and the _M mixes also give Q6_K to attn_v and
 * ffn_down in the layers llama.cpp picks (the first and last eighth, and every
 * third in between). Rows a type cannot block fall back to Q8_0, then F16. */
typedef enum tdiff_quant_type {
    TDIFF_QUANT_F16 = 1,
    TDIFF_QUANT_BF16 = 2,
    TDIFF_QUANT_Q8_0 = 3,
    TDIFF_QUANT_Q4_0 = 4,
    TDIFF_QUANT_Q4_K = 5,
    TDIFF_QUANT_Q5_K = 6,
    TDIFF_QUANT_Q6_K = 7,
    TDIFF_QUANT_Q4_K_M = 8,
    TDIFF_QUANT_Q5_K_M = 9
} tdiff_quant_type;

/* What tdiff_model_quantize reports after each tensor (valid during the call). */
typedef struct tdiff_quantize_tensor {
    size_t index;             /* this tensor, 0-based, in file order   */
    size_t count;             /* how many tensors the file has         */
    const char *name;         /* NUL-terminated                         */
    int type_in;              /* ggml type numbers                      */
    int type_out;
    uint64_t bytes_in;        /* its data before and after              */
    uint64_t bytes_out;
} tdiff_quantize_tensor;

/* Progress callback: return 0 to go on, anything else to stop (TDIFF_E_ABORTED). */
typedef int (*tdiff_quantize_fn)(void *user_data, const tdiff_quantize_tensor *t);

/*
 * Writes `model` to out_path as a GGUF v3 file with its weights re-encoded as
 * `type` (ggml's type numbers and block layouts, so llama.cpp reads it). Every
 * metadata entry is copied byte for byte (the tokenizer with it) except
 * general.file_type (llama.cpp's file type number) and
 * general.quantization_version (2). Block types need finite weights. The file is
 * written as out_path + ".part" and renamed at the end (so out_path may be the
 * model's own file); memory stays at one 4 MiB chunk of rows. n_threads
 * (1..256) encode rows in parallel; the bytes do not depend on it. progress may
 * be NULL. Returns TDIFF_OK, TDIFF_E_INVALID_ARGUMENT (NULL model/path, unknown
 * type, bad n_threads), TDIFF_E_IO (cannot write; the message names the file),
 * TDIFF_E_BAD_FORMAT (a non-finite weight), TDIFF_E_ABORTED, TDIFF_E_OUT_OF_MEMORY.
 * err (may be NULL) receives a message on failure.
 */
TDIFF_API tdiff_status tdiff_model_quantize(const tdiff_model *model, const char *out_path, tdiff_quant_type type,
                                           int n_threads, tdiff_quantize_fn progress, void *user_data, char *err,
                                           size_t err_cap);

/* ======================================================================== */
/* Tokenizer: text <-> token ids, configured from tokenizer.ggml.* metadata  */
/* ======================================================================== */

/*
 * Kinds (tokenizer.ggml.model): "gpt2" byte-level BPE with the pre-tokenizer that
 * tokenizer.ggml.pre names (llama.cpp's names: default, gpt-2, llama3/llama-bpe,
 * qwen2, llada-moe, ...), "bert" WordPiece (uncased), "llama" SentencePiece BPE.
 * docs/tokenizers.md describes each, the supported pre-tokenizer names and the
 * Unicode version of the character tables.
 *
 * A tokenizer is immutable after creation: every function below may be called
 * from any number of threads at once on the same tokenizer (each call allocates
 * its own scratch memory through the host allocator). None records an error text
 * after creation; the status says what went wrong.
 *
 * Invalid UTF-8 in the input: every byte that does not start a well-formed UTF-8
 * sequence (stray continuation byte, truncated sequence, overlong form, surrogate,
 * value above U+10FFFF) is read as U+FFFD and scanning resumes at the next byte.
 * So tokenizing is total and deterministic, but such text does not round-trip.
 */
typedef struct tdiff_tokenizer tdiff_tokenizer;

/* Tokenizer kinds. The enum has no typedef: the plain name belongs to the function
 * tdiff_tokenizer_kind below, so the type is written `enum tdiff_tokenizer_kind`
 * (as llama.h's enum llama_vocab_type / llama_vocab_type()). */
enum tdiff_tokenizer_kind {
    TDIFF_TOKENIZER_BPE = 1,        /* "gpt2": byte-level BPE          */
    TDIFF_TOKENIZER_WORDPIECE = 2,  /* "bert"                          */
    TDIFF_TOKENIZER_SPM = 3         /* "llama": SentencePiece BPE      */
};

/* Flags of tdiff_tokenizer_tokenize. */
#define TDIFF_TOKENIZE_ADD_SPECIAL 1u    /* add BOS/EOS as tokenizer.ggml.add_bos_token /
                                            add_eos_token say (WordPiece: [CLS] ... [SEP]) */
#define TDIFF_TOKENIZE_PARSE_SPECIAL 2u  /* text equal to a control, user-defined or unknown
                                            token's text becomes that token (longest first);
                                            without it such tokens never come from text */
/* Flags of tdiff_tokenizer_detokenize / tdiff_tokenizer_stream_piece. */
#define TDIFF_DETOKENIZE_RENDER_SPECIAL 1u /* write control/unknown tokens' text; default: skip */

/*
 * Creates a tokenizer from a loaded model's tokenizer.ggml.* metadata. The
 * tokenizer copies what it needs: it may outlive the model. host may be NULL.
 * err (may be NULL, err_cap may be 0) receives a message on failure.
 * Returns TDIFF_OK and *out, or (with *out = NULL):
 *  TDIFF_E_INVALID_ARGUMENT  NULL model or out, bad host;
 *  TDIFF_E_NOT_FOUND         no tokenizer.ggml.model;
 *  TDIFF_E_UNSUPPORTED       unknown tokenizer model or pre-tokenizer name;
 *  TDIFF_E_BAD_FORMAT        malformed metadata: array lengths that disagree with
 *                            the token list, token types outside 0..6, BYTE tokens
 *                            not spelled <0xNN>, special ids outside the vocabulary,
 *                            two tokens with the same text, merges that are not
 *                            "A B" or name / make tokens that do not exist, a
 *                            byte-level vocabulary without all 256 byte symbols;
 *  TDIFF_E_OVERFLOW, TDIFF_E_OUT_OF_MEMORY.
 */
TDIFF_API tdiff_status tdiff_tokenizer_create(const tdiff_model *model, const tdiff_host *host,
                                              tdiff_tokenizer **out, char *err, size_t err_cap);

/* Frees the tokenizer. NULL is harmless. */
TDIFF_API void tdiff_tokenizer_free(tdiff_tokenizer *tok);

/*
 * Tokenizes text[0..len) (UTF-8, need not be NUL-terminated) into ids[0..cap).
 * flags: TDIFF_TOKENIZE_* or 0. *n_ids receives the number of ids on success and
 * the number needed on TDIFF_E_BUFFER_TOO_SMALL (ids is then unspecified); pass
 * cap 0 (ids may be NULL) to ask for the size.
 * Returns TDIFF_OK, TDIFF_E_BUFFER_TOO_SMALL, TDIFF_E_INVALID_ARGUMENT (NULL tok or
 * n_ids, NULL text with len > 0, NULL ids with cap > 0, unknown flags),
 * TDIFF_E_OUT_OF_MEMORY, TDIFF_E_OVERFLOW.
 */
TDIFF_API tdiff_status tdiff_tokenizer_tokenize(const tdiff_tokenizer *tok, const char *text, size_t len,
                                                uint32_t flags, int32_t *ids, size_t cap, size_t *n_ids);

/*
 * Writes the bytes of ids[0..n) into buf[0..cap) (not NUL-terminated; the bytes
 * may be invalid UTF-8 when the ids cut a character). Control/unknown tokens are
 * skipped unless flags has TDIFF_DETOKENIZE_RENDER_SPECIAL. SentencePiece and
 * WordPiece drop the one space that starts the text (the encoder's prefix).
 * *out_len gets the bytes written, or needed on TDIFF_E_BUFFER_TOO_SMALL.
 * For byte-level BPE, detokenize(tokenize(x)) == x for every valid UTF-8 x.
 * Returns TDIFF_OK, TDIFF_E_BUFFER_TOO_SMALL, TDIFF_E_INVALID_ARGUMENT (NULLs, an id
 * outside the vocabulary, unknown flags).
 */
TDIFF_API tdiff_status tdiff_tokenizer_detokenize(const tdiff_tokenizer *tok, const int32_t *ids, size_t n,
                                                  uint32_t flags, char *buf, size_t cap, size_t *out_len);

/* The bytes token `id` stands for (what detokenize writes for it, special tokens
 * included as their text). *out_len as above. TDIFF_OK, TDIFF_E_BUFFER_TOO_SMALL,
 * TDIFF_E_INVALID_ARGUMENT (NULLs, id out of range). */
TDIFF_API tdiff_status tdiff_tokenizer_token_piece(const tdiff_tokenizer *tok, int32_t id, char *buf, size_t cap,
                                                   size_t *out_len);
/* The token's text as stored in the vocabulary (e.g. "Ġthe", "▁the", "<0x0A>"). */
TDIFF_API tdiff_status tdiff_tokenizer_token_text(const tdiff_tokenizer *tok, int32_t id, char *buf, size_t cap,
                                                  size_t *out_len);

/*
 * Streaming decoder state for text produced token by token. Caller-owned, plain
 * data, one per stream; initialise with tdiff_token_stream_init. Fields are private.
 */
typedef struct tdiff_token_stream {
    uint8_t pending[4];
    uint32_t n_pending;
    uint64_t n_emitted;
} tdiff_token_stream;

TDIFF_API void tdiff_token_stream_init(tdiff_token_stream *stream);

/*
 * Appends token `id` to the stream and writes the bytes that are ready: a UTF-8
 * character split across tokens is held back (at most 3 bytes) until it is
 * complete, so every call writes whole characters; bytes that can never become
 * valid UTF-8 are written as they are. Concatenating every call's output and
 * tdiff_token_stream_flush's gives exactly tdiff_tokenizer_detokenize's output.
 * flags: 0 or TDIFF_DETOKENIZE_RENDER_SPECIAL. *out_len: bytes written, or needed
 * on TDIFF_E_BUFFER_TOO_SMALL (the stream is then unchanged: retry with more
 * room; token piece length + 3 always suffices).
 * Returns TDIFF_OK, TDIFF_E_BUFFER_TOO_SMALL, TDIFF_E_INVALID_ARGUMENT.
 */
TDIFF_API tdiff_status tdiff_tokenizer_stream_piece(const tdiff_tokenizer *tok, tdiff_token_stream *stream,
                                                    int32_t id, uint32_t flags, char *buf, size_t cap,
                                                    size_t *out_len);
/* Writes whatever is held back (an incomplete character at the end of the text)
 * and resets the pending bytes. Same return codes. */
TDIFF_API tdiff_status tdiff_token_stream_flush(tdiff_token_stream *stream, char *buf, size_t cap,
                                                size_t *out_len);

/* Number of tokens. TDIFF_E_INVALID_ARGUMENT on NULL. */
TDIFF_API tdiff_status tdiff_tokenizer_vocab_size(const tdiff_tokenizer *tok, size_t *out);
/* The id of a special token (BOS, EOS, MASK, PAD, UNK, SEP, CLS). TDIFF_E_NOT_FOUND
 * when the tokenizer has none; TDIFF_E_INVALID_ARGUMENT on NULL or unknown `which`. */
TDIFF_API tdiff_status tdiff_tokenizer_special_id(const tdiff_tokenizer *tok, tdiff_special_token which,
                                                  int32_t *out_id);
/* The kind; 0 for NULL. */
TDIFF_API enum tdiff_tokenizer_kind tdiff_tokenizer_kind(const tdiff_tokenizer *tok);
/* Deprecated name of tdiff_tokenizer_kind (removed after 0.2). */
TDIFF_DEPRECATED("use tdiff_tokenizer_kind")
TDIFF_API enum tdiff_tokenizer_kind tdiff_tokenizer_get_kind(const tdiff_tokenizer *tok);
/* 1 when id is a control, user-defined or unknown token (what special parsing
 * matches), else 0 (also for NULL or an id out of range). */
TDIFF_API int tdiff_tokenizer_is_special(const tdiff_tokenizer *tok, int32_t id);

/*
 * Chat templates. A model's tokenizer.chat_template is recognised by its content,
 * as llama.cpp does (no Jinja engine): the families
 *   "content"  the message contents back to back (the llama.cpp-written fixtures);
 *   "chatml"   <|im_start|>ROLE\nCONTENT<|im_end|>\n ..., with the template's literal
 *              default system prompt when the first message is not "system"
 *              (Dream, Qwen2); also what a file without a template gets, as in llama.cpp;
 *   "llama3"   <|start_header_id|>ROLE<|end_header_id|>\n\nCONTENT<|eot_id|> ... (LLaDA).
 * tdiff_tokenizer_apply_chat renders messages into the text llama.cpp's
 * llama-diffusion-cli builds for them (its Jinja rendering, then: a leading BOS
 * text dropped when the tokenizer adds BOS, a trailing EOS text when it adds EOS).
 * Tokenize that text with TDIFF_TOKENIZE_ADD_SPECIAL | TDIFF_TOKENIZE_PARSE_SPECIAL
 * to get llama.cpp's prompt tokens.
 */
typedef struct tdiff_chat_message {
    const char *role;     /* "system", "user", "assistant", ...: NUL-terminated UTF-8 */
    const char *content;  /* NUL-terminated UTF-8 */
} tdiff_chat_message;

/* Flag of tdiff_tokenizer_apply_chat: end with the assistant's header, so that
 * the model writes the answer (llama-diffusion-cli always sets it). */
#define TDIFF_CHAT_ADD_ASSISTANT 1u

/*
 * Writes the chat text of messages[0..n_messages) into buf[0..cap) (not
 * NUL-terminated). *out_len gets the bytes written, or needed on
 * TDIFF_E_BUFFER_TOO_SMALL (pass cap 0, buf may be NULL, to ask for the size).
 * Returns TDIFF_OK, TDIFF_E_BUFFER_TOO_SMALL, TDIFF_E_INVALID_ARGUMENT (NULLs, no
 * messages, a NULL role or content, unknown flags), TDIFF_E_UNSUPPORTED (the
 * model's template is none of the families above: tdiff_tokenizer_chat_format
 * gives NULL), TDIFF_E_OUT_OF_MEMORY.
 */
TDIFF_API tdiff_status tdiff_tokenizer_apply_chat(const tdiff_tokenizer *tok, const tdiff_chat_message *messages,
                                                  size_t n_messages, uint32_t flags, char *buf, size_t cap,
                                                  size_t *out_len);

/* The family of the model's chat template: "content", "chatml" or "llama3"; NULL
 * when the template is not one this library renders (or tok is NULL). The string
 * is static. */
TDIFF_API const char *tdiff_tokenizer_chat_format(const tdiff_tokenizer *tok);

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
 * Threads: the matrix products (the library's own kernels, weights read in
 * their stored type) are split over the handle's own threads; logits are the
 * same bits for any thread count (and the products for any SIMD variant; norms
 * and activations differ between variants within docs/simd.md's tolerances).
 * The denoiser uses no BLAS and changes no process-wide setting.
 */
typedef struct tdiff_denoiser tdiff_denoiser;

/* Attention patterns (TDIFF_DENOISER_ATTENTION). */
typedef enum tdiff_attention {
    TDIFF_ATTENTION_FULL = 1,         /* every position sees every position       */
    TDIFF_ATTENTION_CAUSAL = 2,       /* position i sees j <= i                    */
    TDIFF_ATTENTION_BLOCK_CAUSAL = 3, /* i sees j when block(j) <= block(i), blocks of block_len
                                         from TDIFF_DENOISER_BLOCK_START (before it: one block) */
    TDIFF_ATTENTION_SPANS = 4         /* internal use (planned diffusion); not settable */
} tdiff_attention;

/* Parameters (tdiff_denoiser_set_int / get_int); names are the enum suffixes in
 * lower case ("attention", "block_length"). Read-only ones fail to set and have no
 * bounds. */
typedef enum tdiff_denoiser_param {
    TDIFF_DENOISER_ATTENTION = 1,     /* tdiff_attention; default: the model's (full unless the file says causal) */
    TDIFF_DENOISER_BLOCK_LENGTH = 2,  /* >= 1; used by BLOCK_CAUSAL; default 32 (reason: LLaDA's default block)   */
    TDIFF_DENOISER_BLOCK_START = 3,   /* >= 0; BLOCK_CAUSAL: where block 0 begins; positions before it (a prompt)
                                         form one block of their own, which every block sees. Default 0. The
                                         sampler sets it to the generated region's start, so the model's blocks
                                         are the sampler's blocks */
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
                                             const tdiff_host *host, tdiff_denoiser **out, char *err,
                                             size_t err_cap);

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
 * docs/model-format.md); it must be finite, and > 0 for SEDD-style files
 * (`tdiff.time.scale_by_sigma`, whose logits are then SEDD's log-scores).
 * Models without time conditioning ignore t, so samplers may always call this
 * one. Return codes as tdiff_denoiser_forward (minus the time-conditioning case;
 * TDIFF_E_INVALID_ARGUMENT also for a t outside those rules).
 */
TDIFF_API tdiff_status tdiff_denoiser_forward_t(tdiff_denoiser *d, const int32_t *tokens, size_t n, float t,
                                                const uint32_t *positions, size_t n_positions,
                                                float *logits, size_t logits_cap);

/* Sets a parameter. TDIFF_OK; TDIFF_E_INVALID_ARGUMENT for a NULL handle, an
 * unknown or read-only parameter, or a value out of bounds. */
TDIFF_API tdiff_status tdiff_denoiser_set_int(tdiff_denoiser *d, tdiff_denoiser_param param, int64_t value);
/* Reads a parameter into *out. TDIFF_OK; TDIFF_E_INVALID_ARGUMENT (NULL, unknown). */
TDIFF_API tdiff_status tdiff_denoiser_get_int(const tdiff_denoiser *d, tdiff_denoiser_param param, int64_t *out);
/*
 * Inclusive bounds and default of a settable parameter (no handle needed; every
 * pointer may be NULL): ATTENTION [1, 3] (FULL..BLOCK_CAUSAL), default FULL;
 * BLOCK_LENGTH [1, 1048576], default 32. The defaults are the library's: a model
 * file may choose its own (attention.causal, tdiff.attention.block_length), which
 * tdiff_denoiser_get_int reads from a handle. TDIFF_E_INVALID_ARGUMENT for an
 * unknown or read-only parameter (N_VOCAB, N_EMBD, MAX_LEN, N_THREADS,
 * TIME_CONDITIONED, SHIFT_LOGITS).
 */
TDIFF_API tdiff_status tdiff_denoiser_param_bounds(tdiff_denoiser_param param, double *min, double *max,
                                                   double *default_value);
/* The snake_case name of a parameter; "unknown" for a value outside the enum. Static. */
TDIFF_API const char *tdiff_denoiser_param_name(tdiff_denoiser_param param);
/* The parameter with that exact name. TDIFF_OK; TDIFF_E_NOT_FOUND (unknown name);
 * TDIFF_E_INVALID_ARGUMENT (name or out NULL). */
TDIFF_API tdiff_status tdiff_denoiser_param_from_name(const char *name, tdiff_denoiser_param *out);

/* The last error message of this handle ("" when none). Valid until the next
 * call on the handle. NULL handle: a static "invalid handle" text. */
TDIFF_API const char *tdiff_denoiser_last_error(const tdiff_denoiser *d);

/*
 * Vector inputs (soft masking, continuous embedding diffusion): the network is
 * fed per-position input vectors in place of token-embedding rows. Everything
 * after the embedding lookup is as in tdiff_denoiser_forward_t: learned
 * positions and token type 0 are still added, the embedding norm still runs,
 * t is the time-conditioning value (must be finite; ignored by models without
 * time conditioning, so pass 0 there), and positions / logits / logits_cap
 * mean the same. Neither call allocates.
 *
 * tdiff_denoiser_forward_embd: embd is [n, TDIFF_DENOISER_N_EMBD] float32
 * row-major (finite values). embd_rows NULL = every row of embd is used;
 * otherwise row i is used where embd_rows[i] != 0 and token tokens[i] is looked
 * up where it is 0 (tokens then required). tokens may be NULL when embd_rows
 * is NULL, except for SEDD-style files (`tdiff.time.scale_by_sigma`), whose
 * output reads the input ids. A row equal to token x's embedding row gives
 * exactly the logits of tdiff_denoiser_forward_t with token x.
 *
 * tdiff_denoiser_forward_mix: per-position mixtures over the embedding table,
 * in CSR form: the input vector of position i is
 *     sum over e in [offsets[i], offsets[i+1]) of weights[e] * E[ids[e]]
 * (offsets has n + 1 entries, offsets[0] = 0, non-decreasing; ids in
 * 0..n_vocab-1; weights finite, any sign, not required to sum to 1). The sum
 * is formed in float32 in list order; zero weights are skipped, so a list
 * (x, 1) or (x, 1), (y, 0)... gives exactly token x's logits. An EMPTY list
 * means "use tokens[i]" (tokens required then). Work is O(entries * n_embd):
 * no [n, n_vocab] matrix is formed.
 *
 * Both return TDIFF_OK; TDIFF_E_INVALID_ARGUMENT (NULL handle/embd/offsets or
 * NULL ids/weights with entries, n outside 1..max_len, a non-finite embedding
 * value / weight / t, an id or token outside the vocabulary, bad offsets, an
 * empty list or embd_rows[i] == 0 without tokens, a bad position, the
 * time-conditioning rules of tdiff_denoiser_forward_t); TDIFF_E_BUFFER_TOO_SMALL
 * as tdiff_denoiser_forward. Thread safety: as every call on the handle (one
 * thread at a time); the inputs are only read.
 */
TDIFF_API tdiff_status tdiff_denoiser_forward_embd(tdiff_denoiser *d, const int32_t *tokens, const float *embd,
                                                   const uint8_t *embd_rows, size_t n, float t,
                                                   const uint32_t *positions, size_t n_positions,
                                                   float *logits, size_t logits_cap);
TDIFF_API tdiff_status tdiff_denoiser_forward_mix(tdiff_denoiser *d, const int32_t *tokens, size_t n,
                                                  const size_t *offsets, const int32_t *ids, const float *weights,
                                                  float t, const uint32_t *positions, size_t n_positions,
                                                  float *logits, size_t logits_cap);

#ifdef TDIFF_EXPERIMENTAL
/*
 * Batched forward (experimental): several sequences of any lengths in ONE pass,
 * packed one after another, so every weight matrix is read once for all of them
 * (a server steps its concurrent requests together; docs/server.md). Attention
 * never crosses from one sequence to another: each follows the handle's
 * attention setting (ATTENTION, BLOCK_LENGTH, BLOCK_START) on its own positions
 * 0..n[b]-1. Logits: rows for sequence 0's positions, then sequence 1's, and so
 * on ([sum over b of n_positions[b] (n[b] where positions[b] is NULL), n_vocab],
 * row-major). Each sequence's rows are bit-identical to tdiff_denoiser_forward on
 * that sequence alone, whatever the other sequences, their order or the thread
 * count (every matrix product defines each element exactly, independent of the
 * number of rows).
 *
 * positions NULL: all positions of every sequence; else positions[b] NULL means
 * all of sequence b, and n_positions (required then) gives the count of the
 * others. The lengths n[0..n_seq) must add up to at most the rows reserved with
 * tdiff_denoiser_reserve_batch (max_len until then).
 *
 * Returns TDIFF_OK; TDIFF_E_INVALID_ARGUMENT (NULL arrays, n_seq 0, a sequence
 * breaking a rule of tdiff_denoiser_forward, more rows than reserved; the
 * message names the sequence); TDIFF_E_UNSUPPORTED (a time-conditioned (DiT)
 * model: use tdiff_denoiser_forward_t per sequence); TDIFF_E_BUFFER_TOO_SMALL
 * (logits_cap below the rows above times TDIFF_DENOISER_N_VOCAB);
 * TDIFF_E_OVERFLOW (the rows' count overflows). Allocates nothing; thread
 * safety as every call on the handle.
 */
TDIFF_API tdiff_status tdiff_denoiser_forward_batch(tdiff_denoiser *d, size_t n_seq, const int32_t *const *tokens,
                                                    const size_t *n, const uint32_t *const *positions,
                                                    const size_t *n_positions, float *logits, size_t logits_cap);
/*
 * Grows the handle's activation buffers so that one tdiff_denoiser_forward_batch
 * call may carry max_rows tokens in all (values below max_len mean max_len).
 * Memory: about max_rows x (4 n_embd + 2 n_kv_embd + 2 n_ff) floats. The old
 * buffers are kept when the new ones cannot be allocated. Returns TDIFF_OK;
 * TDIFF_E_INVALID_ARGUMENT (NULL, max_rows 0 or above 2^20); TDIFF_E_OVERFLOW;
 * TDIFF_E_OUT_OF_MEMORY.
 */
TDIFF_API tdiff_status tdiff_denoiser_reserve_batch(tdiff_denoiser *d, size_t max_rows);
#endif /* TDIFF_EXPERIMENTAL */

/*
 * Soft masking (Hersche et al. 2025, "Soft-Masked Diffusion Language
 * Models"; docs/algorithms.md §5, docs/softmask.md). A still-masked position
 * whose previous-step logits l are known is fed, instead of the mask
 * embedding E[m], the mixture
 *     (1 - lambda) E[m] + lambda * sum_j pi_j E[v_j]
 * where v_1..v_k are the k largest logits (the mask's own is excluded), pi =
 * softmax of those k logits,
 * nu = sum_v p_v log p_v with p = softmax(l) over the non-mask tokens
 * (negative entropy), and
 *     lambda = s * sigmoid(a (nu - c)),  s = sigmoid(raw_s) in (0, 1),
 *     c = -softplus(raw_c) < 0,  a = softplus(raw_a) > 0,
 * so 0 <= lambda < s, and confident predictions (nu near 0) mix in more.
 * Positions without previous logits (the first step) get the plain mask.
 * The handle turns a sequence into (token, weight) lists for
 * tdiff_denoiser_forward_mix. It belongs to one thread at a time (scratch);
 * separate handles are independent.
 */
typedef struct tdiff_softmask tdiff_softmask;

/* Parameters; names are the enum suffixes in lower case ("top_k", "raw_s", "s"). */
typedef enum tdiff_softmask_param {
    TDIFF_SOFTMASK_TOP_K = 1,       /* int, 1..64, default 3 (model key tdiff.softmask.k)              */
    TDIFF_SOFTMASK_RAW_S = 2,       /* float, finite or -inf (s = 0); default logit(0.25) = -1.0986     */
    TDIFF_SOFTMASK_RAW_C = 3,       /* float, finite; default softplus^-1(1) = 0.5413 (c = -1)          */
    TDIFF_SOFTMASK_RAW_A = 4,       /* float, finite; default softplus^-1(5) = 4.9932 (a = 5)           */
    TDIFF_SOFTMASK_S = 100,         /* read-only float: s = sigmoid(raw_s)                              */
    TDIFF_SOFTMASK_C = 101,         /* read-only float: c = -softplus(raw_c)                            */
    TDIFF_SOFTMASK_A = 102,         /* read-only float: a = softplus(raw_a)                             */
    TDIFF_SOFTMASK_FROM_MODEL = 103 /* read-only int: 1 when the model file holds tdiff.softmask.raw_s  */
} tdiff_softmask_param;

/*
 * Creates a soft-mask handle for a vocabulary of n_vocab tokens (the
 * denoiser's TDIFF_DENOISER_N_VOCAB). model: NULL = the defaults above (the
 * paper's Dream example s = 0.25, c = -1, a = 5, k = 3); otherwise each of the
 * keys tdiff.softmask.raw_s / raw_c / raw_a (f32) and tdiff.softmask.k (u32)
 * present in the file replaces its default (docs/model-format.md). The model
 * is only read during the call. Allocates 2 * n_vocab floats of scratch.
 * Returns TDIFF_OK; TDIFF_E_INVALID_ARGUMENT (NULL out, n_vocab 0 or above
 * INT32_MAX, bad host); TDIFF_E_BAD_FORMAT (a key of the wrong type, a
 * non-finite value, k outside 1..64); TDIFF_E_OUT_OF_MEMORY. On failure *out
 * is NULL and the reason is logged through host->log_fn.
 */
TDIFF_API tdiff_status tdiff_softmask_create(const tdiff_model *model, size_t n_vocab, const tdiff_host *host,
                                             tdiff_softmask **out, char *err, size_t err_cap);
/* Frees the handle. NULL is harmless. */
TDIFF_API void tdiff_softmask_free(tdiff_softmask *sm);
/* Parameters. set: TDIFF_OK; TDIFF_E_INVALID_ARGUMENT (NULL, unknown or
 * read-only parameter, wrong kind, value out of bounds). get: TDIFF_OK;
 * TDIFF_E_INVALID_ARGUMENT (NULL, unknown parameter or wrong kind). */
TDIFF_API tdiff_status tdiff_softmask_set_int(tdiff_softmask *sm, tdiff_softmask_param p, int64_t value);
TDIFF_API tdiff_status tdiff_softmask_get_int(const tdiff_softmask *sm, tdiff_softmask_param p, int64_t *out);
TDIFF_API tdiff_status tdiff_softmask_set_float(tdiff_softmask *sm, tdiff_softmask_param p, double value);
TDIFF_API tdiff_status tdiff_softmask_get_float(const tdiff_softmask *sm, tdiff_softmask_param p, double *out);
/*
 * Inclusive bounds and default of a settable parameter (no handle needed; every
 * pointer may be NULL): TOP_K [1, 64], default 3; RAW_S [-inf, DBL_MAX] (-inf
 * means s = 0), default -1.0986; RAW_C and RAW_A [-DBL_MAX, DBL_MAX] (finite),
 * defaults 0.5413 and 4.9932 -- the values tdiff_softmask_create uses without a
 * model (a model file's tdiff.softmask.* keys replace them). TDIFF_E_INVALID_ARGUMENT
 * for an unknown or read-only parameter (S, C, A, FROM_MODEL).
 */
TDIFF_API tdiff_status tdiff_softmask_param_bounds(tdiff_softmask_param p, double *min, double *max,
                                                   double *default_value);
/* The snake_case name of a parameter; "unknown" for a value outside the enum. Static. */
TDIFF_API const char *tdiff_softmask_param_name(tdiff_softmask_param p);
/* The parameter with that exact name. TDIFF_OK; TDIFF_E_NOT_FOUND (unknown name);
 * TDIFF_E_INVALID_ARGUMENT (name or out NULL). */
TDIFF_API tdiff_status tdiff_softmask_param_from_name(const char *name, tdiff_softmask_param *out);

/*
 * One masked position: from its previous-step logits (n_vocab floats; -inf
 * allowed; NaN and +inf are not; the logit of mask_id itself is ignored:
 * the mask is never a prediction, as in the samplers) writes
 * *n_out = 1 + min(k, n_vocab) entries: ids[0] = mask_id with weight
 * 1 - lambda, then the top-k ids in descending logit order (ties: lower id)
 * with weights lambda * pi_j. lambda (optional, may be NULL) receives lambda.
 * Returns TDIFF_OK; TDIFF_E_INVALID_ARGUMENT (NULL, mask_id outside the
 * vocabulary, a NaN/+inf logit or no finite logit besides the mask's);
 * TDIFF_E_BUFFER_TOO_SMALL
 * when cap < the count (*n_out says it).
 */
TDIFF_API tdiff_status tdiff_softmask_mix_position(tdiff_softmask *sm, const float *logits, int32_t mask_id,
                                                   int32_t *ids, float *weights, size_t cap, size_t *n_out,
                                                   float *lambda);

/*
 * A whole sequence, in the CSR form tdiff_denoiser_forward_mix takes (pass the
 * same tokens, n, offsets, ids, weights there). Position i:
 *   tokens[i] != mask_id: empty list (the forward looks up tokens[i]);
 *   masked and a previous-logits row exists: the 1 + min(k, n_vocab) entries
 *     of tdiff_softmask_mix_position;
 *   masked without a row (first step, prev_logits NULL): (mask_id, 1).
 * prev_logits: NULL (first step) or [rows, n_vocab] row-major, where row r
 * belongs to position prev_positions[r] (rows = n_prev; each < n; a repeated
 * position takes its last row), or to position r when prev_positions is NULL
 * (rows = n). Rows of unmasked positions are ignored. offsets: n + 1 entries
 * (out). ids / weights: cap entries each (out; may be NULL when cap is 0).
 * *n_entries: the total needed, written also on TDIFF_E_BUFFER_TOO_SMALL;
 * n * (1 + k) always suffices. lambda: NULL or [n] (out): the gate of each
 * position, 0 where none applies.
 * With s = 0 (raw_s = -inf) every mixture is (mask_id, 1), (v_j, 0)..., which
 * tdiff_denoiser_forward_mix turns into exactly the plain mask input.
 * Returns TDIFF_OK; TDIFF_E_INVALID_ARGUMENT (NULL handle/tokens/offsets/
 * n_entries, NULL ids/weights with cap > 0, n 0, mask_id outside the
 * vocabulary, a position >= n, an unusable logits row as in
 * tdiff_softmask_mix_position); TDIFF_E_BUFFER_TOO_SMALL. Outputs are
 * unspecified after an error.
 */
TDIFF_API tdiff_status tdiff_softmask_build(tdiff_softmask *sm, const int32_t *tokens, size_t n, int32_t mask_id,
                                            const float *prev_logits, const uint32_t *prev_positions, size_t n_prev,
                                            size_t *offsets, int32_t *ids, float *weights, size_t cap,
                                            size_t *n_entries, float *lambda);

/* The last error message of this handle ("" when none). NULL handle: a static
 * "invalid handle" text. */
TDIFF_API const char *tdiff_softmask_last_error(const tdiff_softmask *sm);

/* ======================================================================== */
/* Schedules, forward noise, transition matrices (lib/schedule, lib/noise, */
/* lib/transition; the math is in docs/algorithms.md)                       */
/* ======================================================================== */

/*
 * Time convention everywhere in this section: continuous t in [0, 1], t = 0 is the
 * clean text, t = 1 the fully noised one; discrete steps t = 0..T with t = 0 clean.
 * alpha_bar(t) ("ᾱ") is the probability that a token is still clean at time t.
 */

/* The most discrete steps any call accepts (tdiff_scheduler_eval_step, transitions,
 * TDIFF_SAMPLER_STEPS): a step count above it is refused at once with
 * TDIFF_E_INVALID_ARGUMENT, so no argument makes a call loop or allocate without end. */
#define TDIFF_MAX_STEPS (1u << 20)

/* ---- the scheduler handle ---------------------------------------------- */

/*
 * A noise schedule (and the allocator the training objectives take their scratch
 * from). Owned by one thread at a time; create one per thread. It is cheap (no
 * large allocations until a function needs scratch).
 */
typedef struct tdiff_scheduler tdiff_scheduler;

typedef enum tdiff_schedule_kind {
    TDIFF_SCHEDULE_LINEAR = 1,         /* absorbing D3PM: ᾱ(t) = 1 − t; β_t = 1/(T−t+1)        */
    TDIFF_SCHEDULE_COSINE = 2,         /* D3PM: ᾱ(t) = cos(((t+0.008)/1.008)·π/2), β clipped     */
    TDIFF_SCHEDULE_MASKGIT_COSINE = 3, /* MaskGIT: masked fraction after progress r is cos(πr/2),
                                          i.e. ᾱ(t) = 1 − cos(π(1−t)/2) = 1 − sin(πt/2)         */
    TDIFF_SCHEDULE_LOGLINEAR = 4,      /* SEDD/MDLM: ᾱ(t) = 1 − (1−ε)t, ε = 1e-3                 */
    TDIFF_SCHEDULE_GEOMETRIC = 5,      /* SEDD: σ̄(t) = σmin^(1−t)·σmax^t, ᾱ = exp(−σ̄)           */
    TDIFF_SCHEDULE_SQRT = 6,           /* Diffusion-LM: ᾱ(t) = 1 − sqrt(t + 1e-4), clamped ≥ 0   */
    TDIFF_SCHEDULE_SPINDLE = 7         /* DiffusionBERT: per-token; base ᾱ(t) = 1 − t, see
                                          tdiff_scheduler_spindle_keep                          */
} tdiff_schedule_kind;

/* Parameters, all real-valued (get/set as double). Values never renumbered. Names
 * are the enum suffixes in lower case ("eps", "sigma_min", "spindle_lambda"). */
typedef enum tdiff_scheduler_param {
    TDIFF_SCHEDULER_EPS = 1,            /* log-linear ε, default 1e-3, bounds [0, 0.5]           */
    TDIFF_SCHEDULER_SIGMA_MIN = 2,      /* geometric σmin, default 1e-4, bounds [1e-8, 1e3]      */
    TDIFF_SCHEDULER_SIGMA_MAX = 3,      /* geometric σmax, default 20, bounds [1e-8, 1e3]        */
    TDIFF_SCHEDULER_SPINDLE_LAMBDA = 4, /* spindle λ, default 0.3, bounds [0, 1]                 */
    TDIFF_SCHEDULER_MAX_BETA = 5,       /* clip of the discrete β for COSINE and SQRT, default
                                           0.999 (their sources), bounds [0.5, 1]                */
    TDIFF_SCHEDULER_COSINE_S = 6,       /* cosine offset s, default 0.008, bounds [0, 0.5]       */
    TDIFF_SCHEDULER_SQRT_S = 7          /* sqrt shift, default 1e-4, bounds [0, 0.5]             */
} tdiff_scheduler_param;

/* What tdiff_scheduler_eval / _eval_step compute. */
typedef enum tdiff_schedule_quantity {
    TDIFF_SQ_ALPHA_BAR = 1,      /* ᾱ                                                            */
    TDIFF_SQ_SIGMA_BAR = 2,      /* σ̄ = −ln ᾱ (total noise; +inf where ᾱ = 0)                     */
    TDIFF_SQ_SIGMA_RATE = 3,     /* σ'(t) = dσ̄/dt = −ᾱ'/ᾱ (continuous only)                       */
    TDIFF_SQ_ALPHA_BAR_RATE = 4, /* dᾱ/dt (continuous only)                                       */
    TDIFF_SQ_ELBO_WEIGHT = 5,    /* −ᾱ'/(1 − ᾱ), the masked-diffusion NELBO weight (continuous;
                                    exactly 1/t for LINEAR and LOGLINEAR; +inf where ᾱ = 1)      */
    TDIFF_SQ_BETA = 6            /* β_t = 1 − ᾱ_t/ᾱ_{t−1} (discrete only, step ≥ 1)              */
} tdiff_schedule_quantity;

/*
 * Creates a scheduler of the given kind with default parameters. host may be NULL.
 * Returns TDIFF_OK, TDIFF_E_INVALID_ARGUMENT (out NULL, unknown kind, bad host),
 * TDIFF_E_OUT_OF_MEMORY, TDIFF_E_UNSUPPORTED (host->isa names a variant this machine
 * cannot run). On failure *out is NULL.
 */
TDIFF_API tdiff_status tdiff_scheduler_create(tdiff_schedule_kind kind, const tdiff_host *host,
                                              tdiff_scheduler **out, char *err, size_t err_cap);
/* Frees the handle and everything it owns. NULL is harmless. */
TDIFF_API void tdiff_scheduler_free(tdiff_scheduler *s);
/* The kind given at creation; 0 when s is NULL. */
TDIFF_API tdiff_schedule_kind tdiff_scheduler_kind(const tdiff_scheduler *s);
/* The last error message of this handle ("" when none). Valid until the next call
 * on the handle. "invalid handle" for NULL. */
TDIFF_API const char *tdiff_scheduler_last_error(const tdiff_scheduler *s);

/* TDIFF_E_INVALID_ARGUMENT for an unknown param, a NULL pointer, or a value outside the
 * bounds (or NaN), or σmin ≥ σmax after the change. */
TDIFF_API tdiff_status tdiff_scheduler_set_float(tdiff_scheduler *s, tdiff_scheduler_param p, double value);
TDIFF_API tdiff_status tdiff_scheduler_get_float(const tdiff_scheduler *s, tdiff_scheduler_param p,
                                                 double *out);
/* Inclusive bounds and default of a parameter (no handle needed; every pointer may
 * be NULL). Every scheduler parameter is settable. TDIFF_E_INVALID_ARGUMENT for an
 * unknown param. */
TDIFF_API tdiff_status tdiff_scheduler_param_bounds(tdiff_scheduler_param p, double *min, double *max,
                                                    double *default_value);
/* The snake_case name of a parameter; "unknown" for a value outside the enum. Static. */
TDIFF_API const char *tdiff_scheduler_param_name(tdiff_scheduler_param p);
/* The parameter with that exact name. TDIFF_OK; TDIFF_E_NOT_FOUND (unknown name);
 * TDIFF_E_INVALID_ARGUMENT (name or out NULL). */
TDIFF_API tdiff_status tdiff_scheduler_param_from_name(const char *name, tdiff_scheduler_param *out);

/*
 * Continuous time: *out = quantity q at t in [0, 1]. TDIFF_SQ_BETA is invalid here.
 * TDIFF_E_INVALID_ARGUMENT for t outside [0, 1] or NaN, an unknown/ill-placed q, NULL out.
 */
TDIFF_API tdiff_status tdiff_scheduler_eval(tdiff_scheduler *s, tdiff_schedule_quantity q, double t,
                                            double *out);
/*
 * Discrete time: quantity q at step `step` of n_steps (0 ≤ step ≤ n_steps,
 * 1 ≤ n_steps ≤ TDIFF_MAX_STEPS; ALPHA_BAR and SIGMA_BAR cost O(step)).
 * β_t = min(1 − ᾱ(t/T)/ᾱ((t−1)/T), max_beta) for COSINE and SQRT (as their sources clip),
 * unclipped for the others (LINEAR gives exactly 1/(T−t+1)); the discrete ᾱ_t is
 * Π_{s≤t} (1 − β_s) computed in double (so ᾱ_0 = 1), the value the transition matrices
 * use. Valid q: ALPHA_BAR, SIGMA_BAR, BETA (step ≥ 1). TDIFF_E_INVALID_ARGUMENT otherwise.
 */
TDIFF_API tdiff_status tdiff_scheduler_eval_step(tdiff_scheduler *s, tdiff_schedule_quantity q, size_t step,
                                                 size_t n_steps, double *out);

/*
 * Spindle weights: counts[v] is how often token v occurs in the caller's corpus
 * (non-negative, finite; not all zero). Stored as w_v = log(1+count_v)/max_u log(1+count_u).
 * Copies; the caller keeps its array. TDIFF_E_INVALID_ARGUMENT for bad values or
 * n_vocab 0; TDIFF_E_OUT_OF_MEMORY.
 */
TDIFF_API tdiff_status tdiff_scheduler_set_token_counts(tdiff_scheduler *s, const float *counts,
                                                        size_t n_vocab);
/*
 * Spindle per-token keep probabilities for tokens[0..n) at time t:
 * keep_i = clip((1 − t) + λ·sin(πt)·(w_{x_i} − mean_j w_{x_j}), 0, 0.999) for t > 0 and
 * exactly 1 at t = 0 (DiffusionBERT returns x_0 unchanged at t = 0). Needs
 * tdiff_scheduler_set_token_counts first (else TDIFF_E_STATE); works for any kind.
 * TDIFF_E_INVALID_ARGUMENT for NULL arrays, n == 0, t outside [0,1], a token outside the
 * count table.
 */
TDIFF_API tdiff_status tdiff_scheduler_spindle_keep(tdiff_scheduler *s, const int32_t *tokens, size_t n,
                                                    double t, float *keep);

/* ---- transfer schedules: how many tokens a decoding step commits -------- */
/* Pure integer functions with the exact arithmetic of their reference code.
 * All return TDIFF_E_INVALID_ARGUMENT on NULL outputs or impossible arguments. */

/*
 * LLaDA (per block): counts[i] for steps i = 0..steps−1 with n_masked masks in the block:
 * base = n_masked / steps, the first n_masked % steps steps get one more.
 * Sums to n_masked. TDIFF_E_BUFFER_TOO_SMALL when cap < steps (*needed = steps;
 * needed may be NULL). steps ≥ 1.
 */
TDIFF_API tdiff_status tdiff_transfer_llada(size_t n_masked, size_t steps, size_t *counts, size_t cap,
                                            size_t *needed);
/*
 * Dream's timesteps: linspace(1, eps, steps+1) in float32 with torch.linspace's
 * element formula (start + step·i for the first half, end − step·(n−1−i) for the
 * second, step = (end − start)/(n − 1), all float32). out gets steps+1 values.
 * TDIFF_E_BUFFER_TOO_SMALL when cap < steps+1. steps ≥ 1, eps in (0, 1).
 */
TDIFF_API tdiff_status tdiff_transfer_dream_timesteps(size_t steps, double eps, float *out, size_t cap,
                                                      size_t *needed);
/*
 * Dream: tokens to commit at step i (0-based) of `steps` with n_masked still masked:
 * k = (int)(float(n_masked)·(1 − s/t)) in float32 with t, s = timesteps[i], [i+1]; the
 * last step (i = steps−1) commits all n_masked. n_masked ≤ 2^24 (exact in float32).
 */
TDIFF_API tdiff_status tdiff_transfer_dream(size_t n_masked, size_t step, size_t steps, double eps,
                                            size_t *out_count);
/*
 * MaskGIT: how many tokens stay masked after step i (0-based) of `steps`, starting
 * from n_initial masks with n_masked masked now: with r = (i+1)/steps,
 * max(1, min(n_masked − 1, floor(n_initial·cos(πr/2)))) in float32 as the reference;
 * 0 on the last step (its output is fully decoded) or when n_masked is 0.
 * n_masked ≤ n_initial ≤ 2^24.
 */
TDIFF_API tdiff_status tdiff_transfer_maskgit(size_t n_initial, size_t n_masked, size_t step, size_t steps,
                                              size_t *out_remasked);
/*
 * Mask-Predict: tokens re-masked at iteration `iter` (0 ≤ iter ≤ n_iters) of a length-n
 * target: (long)(float(n)·float(1 − iter/n_iters)) as the reference (iter 0 gives n,
 * iter n_iters gives 0). n ≤ 2^24, n_iters ≥ 1.
 */
TDIFF_API tdiff_status tdiff_transfer_mask_predict(size_t n, size_t iter, size_t n_iters, size_t *out_masked);

/* ---- forward noise on token arrays ------------------------------------- */
/*
 * Pure functions: no handle, no allocation, no error text (the status says what is
 * wrong). Each writes x_t[0..n) from x_0[0..n) (x_t may equal x_0 exactly; n = 0 does
 * nothing). Position i uses Philox draws keyed by (seed, stream, first_position + i):
 * the same seed and stream corrupt the same positions whatever the thread count or
 * call split (pass `first_position` to continue a longer array). Use different
 * streams for independent corruptions of the same text.
 * TDIFF_E_INVALID_ARGUMENT when x0 or xt is NULL, when first_position + n > 2^32
 * (the RNG's position counter), and for the conditions each function names.
 */
/* Absorbing: x_t[i] = mask_id with probability 1 − alpha_bar, else x_0[i].
 * Also TDIFF_E_INVALID_ARGUMENT for alpha_bar outside [0, 1] or NaN. */
TDIFF_API tdiff_status tdiff_noise_mask(const int32_t *x0, int32_t *xt, size_t n, double alpha_bar, int32_t mask_id,
                                        uint64_t seed, uint32_t stream, uint32_t first_position);
/* Uniform (D3PM): with probability 1 − alpha_bar x_t[i] is drawn uniformly from [0, n_vocab)
 * (it may equal x_0[i], as Q̄_t = ᾱI + (1−ᾱ)/V·11ᵀ says). Also TDIFF_E_INVALID_ARGUMENT
 * for alpha_bar outside [0, 1] or NaN, n_vocab 0 or above 2^31, a token outside
 * [0, n_vocab) (xt is then unchanged). */
TDIFF_API tdiff_status tdiff_noise_uniform(const int32_t *x0, int32_t *xt, size_t n, double alpha_bar,
                                           size_t n_vocab, uint64_t seed, uint32_t stream, uint32_t first_position);
/* Per-token absorbing (spindle): x_t[i] = mask_id with probability 1 − keep[i]. Also
 * TDIFF_E_INVALID_ARGUMENT for keep NULL or a keep[i] outside [0, 1] or NaN (xt is then
 * unchanged). */
TDIFF_API tdiff_status tdiff_noise_per_token(const int32_t *x0, int32_t *xt, size_t n, const float *keep,
                                             int32_t mask_id, uint64_t seed, uint32_t stream,
                                             uint32_t first_position);

/* ---- discrete transition matrices (D3PM) ------------------------------------ */

/*
 * Transition matrices Q_t (row-stochastic: Q_t[i, j] = q(x_t = j | x_{t−1} = i)) for
 * t = 1..T and their products Q̄_t = Q_1···Q_t (Q̄_0 = I). Tokens are row vectors.
 * The handle is what the D3PM and SEDD strategies of the sampler need; its
 * operations (products, posteriors, SEDD steps) are experimental (below).
 * Immutable after creation: may be shared by threads if the host allocator is
 * thread-safe (calls allocate small scratch), except that the last-error text is
 * racy when shared -- give each thread its own handle to read errors.
 */
typedef struct tdiff_transition tdiff_transition;

typedef enum tdiff_transition_kind {
    TDIFF_TRANSITION_UNIFORM = 1,   /* Q_t = (1−β_t)I + β_t/V·11ᵀ              */
    TDIFF_TRANSITION_ABSORBING = 2, /* Q_t = (1−β_t)I + β_t·1·e_mᵀ             */
    TDIFF_TRANSITION_GAUSSIAN = 3,  /* discretised Gaussian (ordinal vocab), dense */
    TDIFF_TRANSITION_DENSE = 4,     /* caller matrices, [V, V] per step         */
    TDIFF_TRANSITION_BANDED = 5     /* caller matrices, band of half-width b    */
} tdiff_transition_kind;

/*
 * UNIFORM, ABSORBING, GAUSSIAN: β_t for t = 1..n_steps is taken from the scheduler's
 * discrete schedule (tdiff_scheduler_eval_step, TDIFF_SQ_BETA) at creation; mask_id is
 * used by ABSORBING only (0 ≤ mask_id < n_vocab) and ignored otherwise. GAUSSIAN needs
 * n_vocab ≥ 2, β_t > 0. 1 ≤ n_steps ≤ TDIFF_MAX_STEPS. Memory: 2·(n_steps+1) doubles,
 * GAUSSIAN 2·(n_steps+1)·n_vocab more (built in O(n_steps·n_vocab)). host may be NULL.
 * TDIFF_E_INVALID_ARGUMENT, TDIFF_E_OUT_OF_MEMORY, TDIFF_E_OVERFLOW (V·V too large).
 */
TDIFF_API tdiff_status tdiff_transition_create(tdiff_transition_kind kind, size_t n_vocab, int32_t mask_id,
                                               tdiff_scheduler *sched, size_t n_steps, const tdiff_host *host,
                                               tdiff_transition **out, char *err, size_t err_cap);
TDIFF_API void tdiff_transition_free(tdiff_transition *tr);
TDIFF_API const char *tdiff_transition_last_error(const tdiff_transition *tr);
TDIFF_API size_t tdiff_transition_n_vocab(const tdiff_transition *tr);
TDIFF_API size_t tdiff_transition_n_steps(const tdiff_transition *tr);

#ifdef TDIFF_EXPERIMENTAL

/* ---- Gaussian diffusion on float vectors (Diffusion-LM) -- experimental ----- */
/*
 * Pure functions on float vectors (no handle, no error text). Normal draws come from
 * Philox keyed (seed, stream, i) for element i, so n ≤ 2^32. Every function returns
 * TDIFF_E_INVALID_ARGUMENT for a NULL vector, n > 2^32, or ᾱ values outside the
 * ranges it names.
 */
/*
 * x_t = sqrt(ᾱ)·x_0 + sqrt(1 − ᾱ)·ε, ε ~ N(0, 1) (element i of the n floats).
 * eps_out (optional, [n]) receives ε. alpha_bar in [0, 1].
 */
TDIFF_API tdiff_status tdiff_gauss_noise(const float *x0, float *xt, size_t n, double alpha_bar, uint64_t seed,
                                         uint32_t stream, float *eps_out);
/*
 * Posterior q(x_{t−1} | x_t, x_0) = N(c0·x_0 + ct·x_t, var) for ᾱ_t = alpha_bar_t,
 * ᾱ_{t−1} = alpha_bar_prev (0 ≤ ᾱ_t ≤ ᾱ_{t−1} ≤ 1, ᾱ_t < 1, ᾱ_{t−1} > 0), β_t = 1 − ᾱ_t/ᾱ_{t−1}:
 * c0 = sqrt(ᾱ_{t−1})·β_t/(1 − ᾱ_t), ct = sqrt(1 − β_t)·(1 − ᾱ_{t−1})/(1 − ᾱ_t),
 * var = β_t·(1 − ᾱ_{t−1})/(1 − ᾱ_t). Any output pointer may be NULL.
 * TDIFF_E_INVALID_ARGUMENT for values outside those ranges.
 */
TDIFF_API tdiff_status tdiff_gauss_posterior_coefs(double alpha_bar_t, double alpha_bar_prev, double *c0,
                                                   double *ct, double *var);
/* mean[i] = c0·x0[i] + ct·xt[i] (mean may alias either input exactly). *var optional.
 * The ᾱ ranges of tdiff_gauss_posterior_coefs. */
TDIFF_API tdiff_status tdiff_gauss_posterior_mean(const float *x0, const float *xt, float *mean, size_t n,
                                                  double alpha_bar_t, double alpha_bar_prev, double *var);
/* DDPM step: x_prev = posterior mean from the predicted x0 + sqrt(var)·z, z ~ N(0,1)
 * keyed (seed, stream, i). The ᾱ ranges of tdiff_gauss_posterior_coefs. */
TDIFF_API tdiff_status tdiff_gauss_ddpm_step(const float *x0_pred, const float *xt, float *x_prev, size_t n,
                                             double alpha_bar_t, double alpha_bar_prev, uint64_t seed,
                                             uint32_t stream);
/*
 * DDIM step (Song et al. 2021) from a predicted x0: ε̂ = (x_t − sqrt(ᾱ_t)x̂_0)/sqrt(1 − ᾱ_t),
 * σ = η·sqrt((1 − ᾱ_{t−1})/(1 − ᾱ_t))·sqrt(1 − ᾱ_t/ᾱ_{t−1}),
 * x_prev = sqrt(ᾱ_{t−1})x̂_0 + sqrt(1 − ᾱ_{t−1} − σ²)ε̂ + σz. The ᾱ ranges of
 * tdiff_gauss_posterior_coefs; eta in [0, 1]; eta 0 is deterministic (no draws).
 */
TDIFF_API tdiff_status tdiff_gauss_ddim_step(const float *x0_pred, const float *xt, float *x_prev, size_t n,
                                             double alpha_bar_t, double alpha_bar_prev, double eta, uint64_t seed,
                                             uint32_t stream);
/*
 * Nearest-embedding rounding and clamping (Diffusion-LM): for each of the n vectors
 * x[n, dim], the id v minimising ||x − emb[v]||² over emb[n_vocab, dim] (ties: lowest id),
 * written to ids[n] (optional); clamped[n, dim] (optional, may alias x exactly) gets
 * emb[ids]. Uses the host's allocator for scratch (host NULL = defaults; a failure is
 * logged through its log_fn) and the SIMD dot kernel, or cblas_sgemm when n ≥ 16.
 * TDIFF_E_INVALID_ARGUMENT for a bad host, NULL x/emb, zero sizes, both outputs NULL,
 * non-finite values (no nearest row); TDIFF_E_UNSUPPORTED (TDIFF_FORCE_ISA unusable);
 * TDIFF_E_OUT_OF_MEMORY; TDIFF_E_OVERFLOW.
 */
TDIFF_API tdiff_status tdiff_embed_nearest(const tdiff_host *host, const float *emb, size_t n_vocab, size_t dim,
                                           const float *x, size_t n, int32_t *ids, float *clamped);

/* ---- transition internals and SEDD rates -- experimental -------------------- */

/*
 * Caller matrices. n_mats is 1 (the same Q every step) or n_steps (Q_1..Q_T in order);
 * 1 ≤ n_steps ≤ TDIFF_MAX_STEPS.
 * DENSE: q holds n_mats·V·V floats, row-major. BANDED: q holds n_mats·V·(2b+1) floats,
 * entry Q[i, j] (|i − j| ≤ b) at [i·(2b+1) + (j − i + b)]; entries falling outside
 * 0..V−1 must be 0. Validated: finite, non-negative, every row sums to 1 within
 * tolerance (|sum − 1| ≤ tol, tol in [0, 1e-2]; 1e-5 is a good value for float rows).
 * Copied. TDIFF_E_INVALID_ARGUMENT names the first bad matrix/row in the message.
 */
TDIFF_API tdiff_status tdiff_transition_create_user(tdiff_transition_kind kind, size_t n_vocab,
                                                    size_t n_steps, size_t bandwidth, const float *q,
                                                    size_t n_mats, double tol, const tdiff_host *host,
                                                    tdiff_transition **out, char *err, size_t err_cap);

/*
 * out[n, V] = p[n, V]·Q_t (cumulative = 0) or p·Q̄_t (cumulative = 1): the distribution
 * of x_t given x_{t−1} ~ p (resp. x_0 ~ p). 1 ≤ t ≤ T (0 allowed when cumulative: Q̄_0 = I).
 * Uniform/absorbing cost O(V) per row; GAUSSIAN/DENSE O(V²), BANDED O(V·b) per
 * matrix (Q̄_t is applied as t successive products, never formed). Computed in double.
 * out must not overlap p.
 */
TDIFF_API tdiff_status tdiff_transition_apply(tdiff_transition *tr, size_t t, int cumulative, const float *p,
                                              size_t n, float *out);
/* Same with one-hot inputs: out[n, V] = rows x[i] of Q_t (or Q̄_t). */
TDIFF_API tdiff_status tdiff_transition_rows(tdiff_transition *tr, size_t t, int cumulative, const int32_t *x,
                                             size_t n, float *out);
/* The whole matrix Q_t or Q̄_t as V·V doubles (for small V: tests, inspection).
 * TDIFF_E_BUFFER_TOO_SMALL when cap < V·V (*needed = V·V). */
TDIFF_API tdiff_status tdiff_transition_matrix(tdiff_transition *tr, size_t t, int cumulative, double *out,
                                               size_t cap, size_t *needed);
/*
 * The x0-parameterised reverse step (D3PM): for each position i,
 * out[i, :] ∝ Q_t[:, x_t[i]] ⊙ (p0[i, :]·Q̄_{t−1}), normalised to sum 1.
 * With p0 one-hot at x_0 this is the exact posterior q(x_{t−1} | x_t, x_0) (Bayes' rule);
 * with p0 = p̃(x_0 | x_t) it is p_θ(x_{t−1} | x_t). 1 ≤ t ≤ T. p0 rows must be
 * non-negative; a row whose product is all zero (x_t impossible under p0) gives
 * TDIFF_E_INVALID_ARGUMENT naming the position. (The D3PM reference code instead
 * works in log space with a 1e-6 floor, where no x_t is impossible; the D3PM loss
 * tdiff_objective_d3pm_loss follows the reference, docs/algorithms.md.)
 */
TDIFF_API tdiff_status tdiff_transition_posterior(tdiff_transition *tr, size_t t, const int32_t *xt,
                                                  const float *p0, size_t n, float *out);

/*
 * SEDD (Lou et al. 2024), for UNIFORM and ABSORBING handles (their rate matrices
 * Q_unif = 11ᵀ/V − I, Q_absorb = 1e_mᵀ − I scaled by σ'(t)); TDIFF_E_UNSUPPORTED for other
 * kinds. `score[n, V]` holds the model's concrete-score ratios s(x)_y ≈ p_t(y)/p_t(x)
 * (i.e. exp of SEDD's network output), non-negative.
 * The outputs are sampling distributions over the next state, normalised to sum 1
 * (negative entries, possible from the approximations, are clipped to 0 first).
 *
 * Euler (τ-leaping) step: out[i] = e_{x_i} + dsigma·R(x_i) with the reverse rate
 * R_y = Q[y, x]·s_y for y ≠ x and R_x = −Σ_{y≠x} R_y; dsigma = σ'(t)·Δt.
 */
TDIFF_API tdiff_status tdiff_transition_sedd_euler(tdiff_transition *tr, const int32_t *x, const float *score,
                                                   size_t n, double dsigma, float *out);
/*
 * Analytic (Tweedie) step from σ to σ − dsigma: out[i] ∝ stag(s)_y · exp(dsigma·Q)[y, x_i],
 * with the staggered score stag(s) = exp(−dsigma·Q)-corrected s as in SEDD's graph code.
 * With dsigma = σ(t_min) this is SEDD's final denoising step; for ABSORBING the mask
 * entry of out is then forced to 0 when drop_mask is non-zero (SEDD's truncation).
 */
TDIFF_API tdiff_status tdiff_transition_sedd_analytic(tdiff_transition *tr, const int32_t *x,
                                                      const float *score, size_t n, double dsigma,
                                                      int drop_mask, float *out);

#endif /* TDIFF_EXPERIMENTAL */

#ifdef TDIFF_EXPERIMENTAL

/* ======================================================================== */
/* Training objectives (lib/objective) -- experimental                      */
/* ======================================================================== */

/*
 * Likelihood bounds of a text under a denoiser: the masked-diffusion NELBO (MDLM,
 * SEDD-absorb, LLaDA) and D3PM's discrete-time bound (docs/algorithms.md). They read
 * the schedule (a scheduler) or the transition matrices (a transition handle) and use
 * that handle's allocator for scratch; the handle is only read, never changed. On
 * failure the reason in words is copied into (err, err_cap) (may be NULL / 0; "" on
 * success) and logged through the handle's host.
 */

/*
 * A denoiser given as a callback: fills logits[n, n_vocab] (row-major) for the
 * partially masked sequence tokens[0..n) at time t. Return TDIFF_OK, or any error to
 * stop the computation (it is passed through to the caller).
 */
typedef tdiff_status (*tdiff_denoise_fn)(void *user_data, const int32_t *tokens, size_t n, float t,
                                         float *logits /* [n, n_vocab] */);

typedef enum tdiff_nelbo_method {
    TDIFF_NELBO_ANTITHETIC = 1, /* t_k ~ U(0,1) in pairs (u, 1 − u), Bernoulli masks     */
    TDIFF_NELBO_STRATIFIED = 2, /* t_k = (k + u_k)/K, Bernoulli masks                     */
    TDIFF_NELBO_QUADRATURE = 3  /* deterministic count quadrature (see below)             */
} tdiff_nelbo_method;

/*
 * Masked-diffusion NELBO of tokens[0..n) (none may be mask_id; all < n_vocab) under
 * the callback denoiser and the scheduler's schedule (any kind but SPINDLE), with the
 * SUBS parameterisation (the mask logit is −∞; only masked positions are scored).
 *
 * ANTITHETIC / STRATIFIED: the continuous-time estimator
 *   NELBO ≈ (1/K) Σ_k w(t_k)·Σ_{i masked at t_k} −log p_θ(x_0^i | x_{t_k}),
 *   w = −ᾱ'/(1−ᾱ), each position masked with probability 1 − ᾱ(t_k); K = n_samples
 *   (rounded up to even for ANTITHETIC), t_k clamped to [1e-6, 1].
 * QUADRATURE (deterministic, exact for a model that outputs the same distribution
 * whatever it sees): the count form of the same bound,
 *   NELBO = Σ_{m=1}^{n} (1/m)·E_{|M| = m}[Σ_{i∈M} −log p_θ(x_0^i | x_M masked)],
 *   with the counts 1..n split into S = min(n_samples, n) near-equal strata (the first
 *   n % S one count larger), each evaluated at its middle count m_j on n_samples / S
 *   subsets M of that size (drawn by Philox from `seed`), weighted by the stratum's
 *   size, the callback told t = ᾱ⁻¹(1 − m_j/n). n_samples = n gives one subset per count.
 * Both bound −log p(x_0) when ᾱ(0) = 1 and ᾱ(1) = 0 (LINEAR, MASKGIT_COSINE); for
 * LOGLINEAR/GEOMETRIC/COSINE/SQRT the t = 1 remainder is ignored, as MDLM/SEDD report.
 *
 * Outputs (each optional): *nelbo total nats, *per_token = nelbo/n (the perplexity bound
 * is exp(per_token)), *std_error of the total (0 for QUADRATURE).
 * Memory: n·n_vocab floats of scratch. Callback calls: K.
 * TDIFF_E_INVALID_ARGUMENT, TDIFF_E_OUT_OF_MEMORY, TDIFF_E_OVERFLOW, or the callback's
 * error (a negative tdiff_status is returned as is, anything else non-zero as
 * TDIFF_E_ABORTED; message "denoiser callback failed"). A NaN or +inf logit, or a row
 * that is −inf everywhere but the mask, gives TDIFF_E_INVALID_ARGUMENT.
 */
TDIFF_API tdiff_status tdiff_objective_nelbo(const tdiff_scheduler *s, tdiff_denoise_fn fn, void *user_data,
                                             const int32_t *tokens, size_t n, size_t n_vocab, int32_t mask_id,
                                             tdiff_nelbo_method method, size_t n_samples, uint64_t seed,
                                             double *nelbo, double *per_token, double *std_error, char *err,
                                             size_t err_cap);

/*
 * The same bound under a model's network: the denoiser d supplies the logits
 * (tdiff_denoiser_forward_t, all positions), its TDIFF_DENOISER_N_VOCAB is n_vocab and
 * n must be ≤ TDIFF_DENOISER_MAX_LEN. Time-conditioned models receive the scheduler's
 * total noise σ̄(t) = −ln ᾱ(t) (what SEDD and MDLM condition on; capped at 1e4 where
 * ᾱ = 0), other models ignore it. mask_id is the model's mask token
 * (tdiff_model_special_id(model, TDIFF_SPECIAL_MASK, ...)). Cost: one forward pass
 * per evaluation (n_samples). A denoiser error is returned with its message
 * ("denoiser: ...") in err. s and d are used by this thread only for the call.
 */
TDIFF_API tdiff_status tdiff_objective_nelbo_denoiser(const tdiff_scheduler *s, tdiff_denoiser *d,
                                                      const int32_t *tokens, size_t n, int32_t mask_id,
                                                      tdiff_nelbo_method method, size_t n_samples, uint64_t seed,
                                                      double *nelbo, double *per_token, double *std_error,
                                                      char *err, size_t err_cap);

/*
 * D3PM's discrete-time variational bound (nats) of tokens[0..n) for a UNIFORM or
 * ABSORBING transition handle tr (T = its n_steps), computed as D3PM's reference code
 * computes it (google-research d3pm, diffusion_categorical.py; docs/algorithms.md):
 *   L = Σ_{t=2}^{T} E KL(q(x_{t−1}|x_t,x_0) ‖ p_θ(x_{t−1}|x_t)) + E[−log p̃(x_0|x_1)] + KL(q(x_T|x_0) ‖ prior),
 * p̃ = softmax(logits) of the callback (told t/T; all n_vocab entries, the mask included).
 * Both posteriors are the reference's log-space form
 *   softmax(log(Q_t[:, x_t] + 1e-6) + log(r·Q̄_{t−1} + 1e-6)),
 * r = one-hot x_0 for q and r = p̃ for p_θ, so no x_t is impossible under the model.
 * The t = 1 term reads p̃(x_0|x_1) directly, not through the posterior (+inf when the
 * network gives the true token a −inf logit there).
 * Estimated with n_samples draws of t uniform in 1..T (each term is T × the per-t value)
 * and x_t ~ q(x_t|x_0) by Philox from seed; the prior term is computed exactly: uniform
 * prior for UNIFORM, the point mass on the mask for ABSORBING, with D3PM's 1e-6 inside
 * its logarithms (so ᾱ_T > 0 gives a large finite value, not +inf).
 * Every token must be < n_vocab. Outputs (optional) as tdiff_objective_nelbo;
 * *std_error is that of the sampled part. Callback calls: n_samples.
 * TDIFF_E_INVALID_ARGUMENT (also for a NaN or +inf logit, or a row of −inf),
 * TDIFF_E_UNSUPPORTED (other kinds), TDIFF_E_OUT_OF_MEMORY, TDIFF_E_OVERFLOW, or the
 * callback's error.
 */
TDIFF_API tdiff_status tdiff_objective_d3pm_loss(const tdiff_transition *tr, tdiff_denoise_fn fn, void *user_data,
                                                 const int32_t *tokens, size_t n, size_t n_samples, uint64_t seed,
                                                 double *nelbo, double *per_token, double *std_error, char *err,
                                                 size_t err_cap);

/*
 * The exact negative log-likelihood (nats) of tokens[n_cond..n) given what precedes
 * each, under an autoregressive denoiser d (a llama / qwen2 file: causal attention
 * and shifted logits, so row p depends on tokens[0..p) only):
 *   nll = Σ_{p=n_cond}^{n−1} −log softmax(logits_p)[tokens[p]],
 * from ONE forward pass over tokens[0..n) (the head runs for the n − n_cond scored
 * rows only). tokens[0..n_cond) are the condition (a prompt, or just BOS); the first
 * token can never be scored (it has no prefix), so 1 ≤ n_cond < n ≤
 * TDIFF_DENOISER_MAX_LEN, every token < TDIFF_DENOISER_N_VOCAB.
 * Outputs (each optional): *nll the total, *per_token = nll / (n − n_cond); the
 * perplexity is exp(per_token). +inf when a scored token has a −inf logit.
 * Memory: (n − n_cond)·n_vocab floats from the denoiser's allocator.
 * TDIFF_E_INVALID_ARGUMENT (NULL d or tokens, n_cond or n out of range, a bad token,
 * a denoiser that is not causal-and-shifted: its rows would see the tokens they
 * predict; also a NaN or +inf logit or a row of −inf), TDIFF_E_OUT_OF_MEMORY,
 * TDIFF_E_OVERFLOW, or the denoiser's error (message "denoiser: ..."). The reason in
 * words goes to (err, err_cap) ("" on success). d is used by this thread only for
 * the call; its settings are not changed.
 */
TDIFF_API tdiff_status tdiff_objective_ar_nll(tdiff_denoiser *d, const int32_t *tokens, size_t n, size_t n_cond,
                                              double *nll, double *per_token, char *err, size_t err_cap);

/* Deprecated names of the objectives (removed after 0.2): the same computations,
 * with the error text written into the handle's last error (tdiff_scheduler_last_error,
 * tdiff_transition_last_error) instead of a caller buffer. */
TDIFF_DEPRECATED("use tdiff_objective_nelbo")
TDIFF_API tdiff_status tdiff_scheduler_nelbo(tdiff_scheduler *s, tdiff_denoise_fn fn, void *user_data,
                                             const int32_t *tokens, size_t n, size_t n_vocab, int32_t mask_id,
                                             tdiff_nelbo_method method, size_t n_samples, uint64_t seed,
                                             double *nelbo, double *per_token, double *std_error);
TDIFF_DEPRECATED("use tdiff_objective_nelbo_denoiser")
TDIFF_API tdiff_status tdiff_scheduler_nelbo_denoiser(tdiff_scheduler *s, tdiff_denoiser *d, const int32_t *tokens,
                                                      size_t n, int32_t mask_id, tdiff_nelbo_method method,
                                                      size_t n_samples, uint64_t seed, double *nelbo,
                                                      double *per_token, double *std_error);
TDIFF_DEPRECATED("use tdiff_objective_d3pm_loss")
TDIFF_API tdiff_status tdiff_transition_d3pm_loss(tdiff_transition *tr, tdiff_denoise_fn fn, void *user_data,
                                                  const int32_t *tokens, size_t n, size_t n_samples, uint64_t seed,
                                                  double *nelbo, double *per_token, double *std_error);

#endif /* TDIFF_EXPERIMENTAL */

/* ======================================================================== */
/* Sampler: turns a denoiser into text                                       */
/* ======================================================================== */

/*
 * A tdiff_sampler owns a canvas, its parameters, the random stream and its
 * workspace, and drives a denoiser step by step (docs/sampling.md). It belongs to
 * one thread at a time. Randomness is Philox keyed by (seed, step, position,
 * draw), so a seeded run gives the same tokens whatever the thread count or SIMD
 * variant.
 *
 * The mask token is never a prediction (its logit is treated as -inf, the SUBS
 * rule of MDLM; TDIFF_SAMPLER_SUBS = 0 lifts it for llada and dream, as their
 * reference code), and banned tokens never are. A network row that allows no
 * token (NaN, +inf, or -inf at every allowed token) stops the run with
 * TDIFF_E_INVALID_ARGUMENT naming the position and step.
 */
typedef struct tdiff_sampler tdiff_sampler;

/* How the sampler obtains logits when the network is the caller's own (GPU,
 * another runtime). Starts with struct_size = sizeof(tdiff_denoise_callbacks). */
typedef struct tdiff_denoise_callbacks {
    size_t struct_size;
    void *user_data;
    /*
     * Required. Writes logits[k * n_vocab + v] for k < n_positions: the logits
     * PREDICTING the token at canvas position positions[k] (a model with
     * shifted logits must unshift them itself) given the whole canvas
     * tokens[0..n). positions ascend. t is the strategy's time value (time-
     * conditioned networks use it, others ignore it): the fraction of the
     * generated region still masked (llada, dream, threshold, factor, maskgit,
     * mask_predict), the current time (first_hitting), k/T (d3pm), the total
     * noise sigma_bar(t) (mdlm, mdlm_cache, sedd). Returns 0 on success; any
     * other value stops generation, which then returns that value when it is a
     * tdiff_status error and TDIFF_E_INTERNAL otherwise. It must not call the
     * sampler.
     */
    int (*logits)(void *user_data, const int32_t *tokens, size_t n, float t, const uint32_t *positions,
                  size_t n_positions, float *logits);
    /* Optional: called once from tdiff_sampler_free. */
    void (*destroy)(void *user_data);
} tdiff_denoise_callbacks;

/* Strategies (TDIFF_SAMPLER_STRATEGY). Values are never renumbered. */
typedef enum tdiff_strategy {
    TDIFF_STRATEGY_LLADA = 1,        /* LLaDA: blocks, fixed transfer counts, Gumbel argmax      */
    TDIFF_STRATEGY_DREAM = 2,        /* Dream: eps timestep schedule, temperature/top-p/top-k   */
    TDIFF_STRATEGY_THRESHOLD = 3,    /* Fast-dLLM: commit every confidence >= threshold          */
    TDIFF_STRATEGY_FACTOR = 4,       /* Fast-dLLM: factor rule conf_n >= 1 - f/(n+2)             */
    TDIFF_STRATEGY_MASKGIT = 5,      /* MaskGIT: cosine schedule, annealed Gumbel choice          */
    TDIFF_STRATEGY_MASK_PREDICT = 6, /* Mask-Predict: linear re-masking of the least confident  */
    TDIFF_STRATEGY_MDLM = 7,         /* MDLM ddpm ancestral update (log-linear schedule)        */
    TDIFF_STRATEGY_MDLM_CACHE = 8,   /* MDLM ddpm_cache: reuse the network output while unchanged
                                        (never for a time-conditioned network)                   */
    TDIFF_STRATEGY_D3PM = 9,         /* D3PM ancestral, x0-parameterised posterior (set a transition) */
    TDIFF_STRATEGY_FIRST_HITTING = 10, /* first-hitting: one uniformly chosen position per step     */
    TDIFF_STRATEGY_SEDD_EULER = 11,  /* SEDD Euler (tau-leaping) steps (set transition + scheduler)  */
    TDIFF_STRATEGY_SEDD_ANALYTIC = 12, /* SEDD analytic (Tweedie) steps (set transition + scheduler)  */
    TDIFF_STRATEGY_EMBEDDING = 13,   /* Diffusion-LM: Gaussian DDPM/DDIM in embedding space (built-in model) */
    TDIFF_STRATEGY_AR = 14,          /* autoregressive: left to right, one token per step, stops at EOS;
                                        temperature / top-k / top-p (0 = greedy). The only strategy of
                                        an autoregressive model (llama, qwen2), and its default there */
    TDIFF_STRATEGY_BD3 = 15,         /* BD3-LM block diffusion: blocks of the file's block length (a
                                        block-causal model; else BLOCK_LENGTH) one after the other,
                                        STEPS ddpm steps per block (t = linspace(1, 0, STEPS)), nucleus
                                        TOP_P, the output reused while unchanged; stops after the block
                                        holding EOS. KV cache: exact on a block-causal model */
    TDIFF_STRATEGY_BD3_FIRST_HITTING = 16, /* BD3-LM's first-hitting sampler: per block, one uniformly
                                        chosen masked position per step (STEPS not read) */
    TDIFF_STRATEGY_SPINDLE = 17,     /* DiffusionBERT: absorbing reverse steps under the spindle schedule's
                                        per-token keep probabilities, x0-parameterised, no time input
                                        (set a scheduler with token counts; docs/sampling.md)          */
    TDIFF_STRATEGY_PLANNED = 18      /* planned diffusion (Israel et al. 2025): a plan decoded
                                        autoregressively, its <promise> spans laid out as masks and
                                        denoised in parallel (LLaDA's rule per span, steps scaled with
                                        its length), repeated until EOS. Needs a planned model
                                        (`tdiff.planned.*` keys, docs/model-format.md); malformed plans
                                        fall back as docs/sampling.md says, never fail */
} tdiff_strategy;

/* Which positions a step commits (TDIFF_SAMPLER_REMASKING). */
typedef enum tdiff_remasking {
    TDIFF_REMASK_LOW_CONFIDENCE = 1, /* confidence = p(chosen token); Dream calls it maskgit_plus */
    TDIFF_REMASK_RANDOM = 2,         /* confidence = uniform random                               */
    TDIFF_REMASK_TOPK_MARGIN = 3,    /* confidence = p(top1) - p(top2), sorted                      */
    TDIFF_REMASK_ENTROPY = 4,        /* confidence = sum p log p (negative entropy: higher = surer) */
    TDIFF_REMASK_ORIGIN = 5          /* Dream `origin`: each mask revealed with probability 1 - s/t */
} tdiff_remasking;

/* Compatibility modes (TDIFF_SAMPLER_COMPAT). */
typedef enum tdiff_compat {
    TDIFF_COMPAT_NONE = 0,
    /* llama-diffusion-cli semantics (strategies llada, dream, threshold, factor):
     * the canvas length (GEN_LENGTH) INCLUDES the prompt, blocks start right
     * after the prompt and the last may be short, the chain is top-k -> top-p ->
     * temperature -> sample (temperature 0 still samples unless top-k is 1),
     * confidence comes from the filtered distribution, ties go to the lowest
     * position. Random draws are ours (Philox), so only deterministic settings
     * reproduce its tokens exactly. */
    TDIFF_COMPAT_LLAMACPP = 1
} tdiff_compat;

/*
 * KV cache modes (TDIFF_SAMPLER_CACHE; docs/sampling.md, "KV cache"). The
 * cache keeps every layer's keys and values of the canvas between steps, so a
 * step runs the network only for the positions it recomputes; the others are
 * read from the cache. Strategies llada, dream, threshold and factor over the
 * built-in denoiser (others refuse a cache with TDIFF_E_UNSUPPORTED).
 *
 * Full-attention models (LLaDA, Dream): the cached keys of positions a step
 * does not recompute were computed from an older canvas, so outputs may differ
 * from an uncached run (measured in docs/sampling.md). Every cache recomputes
 * everything at a generation's first step and every TDIFF_SAMPLER_CACHE_REFRESH
 * steps; PREFIX and DUAL also when a new block starts.
 *
 * Causal and block-causal models (the attention from the model file): every
 * mode is EXACT. A position is recomputed exactly when an input it can see has
 * changed, so the tokens are those of an uncached run and, with blocks that
 * match the model's, each step computes only its block.
 *
 * Memory: 2 x layers x canvas x kv width floats per cache, two with CFG.
 */
typedef enum tdiff_cache_mode {
    TDIFF_CACHE_NONE = 0,    /* every step runs every position                                  */
    TDIFF_CACHE_PREFIX = 1,  /* Fast-dLLM prefix cache: a step runs the block and everything
                                after it; positions before the block come from the cache       */
    TDIFF_CACHE_DUAL = 2,    /* Fast-dLLM dual cache: a step runs only the block                */
    TDIFF_CACHE_DELAYED = 3  /* dKV-Cache-Decode: a step runs the masked positions and those
                                decoded at the step before; decoded tokens enter the cache one
                                step after they are decoded                                     */
} tdiff_cache_mode;

/*
 * Parameters. Integer ones go through tdiff_sampler_set_int/get_int, real ones
 * through set_float/get_float; using the other kind is TDIFF_E_INVALID_ARGUMENT.
 * tdiff_sampler_param_bounds gives [min, max] and the default,
 * tdiff_sampler_param_name the name error messages use. "(ro)" values are
 * results of the last generation and cannot be set.
 *
 * Every combination of settings either runs or is refused when a generation
 * begins, with a message: TDIFF_E_UNSUPPORTED for one the strategy cannot run
 * (soft masking outside llada/dream/threshold/factor/mdlm; CFG or a callback
 * network with the embedding strategy; remasking origin outside dream (and
 * llada under compat llamacpp); compat llamacpp outside llada/dream/threshold/
 * factor; subs 0 outside llada/dream; a KV cache outside llada/dream/
 * threshold/factor/bd3/bd3_first_hitting/planned, early stop outside llada/dream/threshold/factor,
 * or a cache over a callback network; planned on a model without the
 * tdiff.planned.* keys, with CFG, soft masking, a callback network, or a
 * fixed position after the prompt),
 * TDIFF_E_STATE for a missing attachment (d3pm and sedd need a transition, sedd
 * a scheduler).
 */
typedef enum tdiff_sampler_param {
    TDIFF_SAMPLER_STRATEGY = 1,       /* int, tdiff_strategy; default LLADA                       */
    TDIFF_SAMPLER_REMASKING = 2,      /* int, tdiff_remasking; default LOW_CONFIDENCE             */
    TDIFF_SAMPLER_COMPAT = 3,         /* int, tdiff_compat; default NONE                          */
    TDIFF_SAMPLER_STEPS = 10,         /* int [1, 1<<20], default 64; per run (split over blocks)   */
    TDIFF_SAMPLER_GEN_LENGTH = 11,    /* int [1, 1<<20], default 64 tokens after the prompt       */
    TDIFF_SAMPLER_BLOCK_LENGTH = 12,  /* int [0, 1<<20], default 0 = one block over the region    */
    TDIFF_SAMPLER_TOP_K = 13,         /* int [0, 1<<30], default 0 = off                          */
    TDIFF_SAMPLER_SEED = 14,          /* int [0, INT64_MAX] used as uint64, default 0              */
    TDIFF_SAMPLER_EOS_CONFIDENCE_INF = 15, /* int 0/1, default 0: 1 = EOS gets confidence -inf      */
    TDIFF_SAMPLER_CUT_AT_EOS = 16,    /* int 0/1, default 1: generate() output ends before 1st EOS */
    TDIFF_SAMPLER_KEEP_HISTORY = 17,  /* int 0/1, default 0: keep the canvas after every step      */
    TDIFF_SAMPLER_N_THREADS = 18,     /* int [1, 256], default 1: threads of the built-in denoiser  */
    TDIFF_SAMPLER_CLAMP = 19,         /* int 0/1, default 0: EMBEDDING clamps x0-hat to the nearest row */
    TDIFF_SAMPLER_GAUSS_SCHEDULE = 20, /* int tdiff_schedule_kind SQRT|COSINE|LINEAR, default SQRT (EMBEDDING) */
    TDIFF_SAMPLER_DDIM = 21,          /* int 0/1, default 0: EMBEDDING takes DDIM (eta 0) steps, not DDPM */
    TDIFF_SAMPLER_SUBS = 22,          /* int 0/1, default 1: the mask token is never a prediction (MDLM's
                                         SUBS rule); 0 = it may be, as in Dream's and LLaDA's reference
                                         code (a committed mask stays masked); llada and dream only   */
    TDIFF_SAMPLER_CACHE = 23,         /* int tdiff_cache_mode, default NONE (llada, dream, threshold,
                                         factor, planned (exact); built-in denoiser)               */
    TDIFF_SAMPLER_CACHE_REFRESH = 24, /* int [0, 1<<20], default 0: with a cache, recompute every
                                         position every N steps; 0 = only at a generation's start
                                         and (PREFIX, DUAL) at each block's start                  */
    TDIFF_SAMPLER_EARLY_STOP = 25,    /* int 0/1, default 0: generate() stops once every position
                                         before the first committed EOS is decided and fills the
                                         masks after it with EOS (llada, dream, threshold, factor;
                                         with CUT_AT_EOS the output is that of the full run)       */
    TDIFF_SAMPLER_TEMPERATURE = 30,   /* float [0, 100], default 0 (greedy)                        */
    TDIFF_SAMPLER_TOP_P = 31,         /* float (0, 1], default 1 = off                             */
    TDIFF_SAMPLER_CFG_SCALE = 32,     /* float [0, 100], default 0: logits = u + (w+1)(c-u)        */
    TDIFF_SAMPLER_THRESHOLD = 33,     /* float [0, 1], default 0.9 (THRESHOLD strategy)            */
    TDIFF_SAMPLER_FACTOR = 34,        /* float (0, 100], default 1.0 (FACTOR strategy)             */
    TDIFF_SAMPLER_ALG_TEMP = 35,      /* float [0, 100], default 0: >0 samples positions (Dream)   */
    TDIFF_SAMPLER_EPS = 36,           /* float (0, 1), default 1e-3: final time of eps schedules   */
    /* planned diffusion (TDIFF_STRATEGY_PLANNED) */
    TDIFF_SAMPLER_PLANNED_STEPS_PER_TOKEN = 40, /* float (0, 16], default 0.5: a span of L tokens is
                                         denoised in max(1, ceil(L x this)) steps                  */
    TDIFF_SAMPLER_PLANNED_MAX_SPANS = 41, /* int [1, 256], default 16: plan entries kept per round  */
    TDIFF_SAMPLER_PLANNED_MAX_SPAN_LENGTH = 42, /* int [1, 1<<20], default 64: longer lengths clamp */
    TDIFF_SAMPLER_PLANNED_DEFAULT_SPAN_LENGTH = 43, /* int [1, 1<<20], default 16: an entry without
                                         a length                                                   */
    TDIFF_SAMPLER_PLANNED_LENGTH_SCALE = 44, /* float (0, 16], default 1: planned lengths times this */
    TDIFF_SAMPLER_STAT_FORWARD_PASSES = 100, /* int (ro): network calls of the last run            */
    TDIFF_SAMPLER_STAT_STEPS = 101,   /* int (ro): steps of the last run                           */
    TDIFF_SAMPLER_STAT_FORWARD_SECONDS = 102, /* float (ro): time inside the network               */
    TDIFF_SAMPLER_STAT_TOTAL_SECONDS = 103,   /* float (ro): time inside begin/step calls          */
    TDIFF_SAMPLER_STAT_REUSED = 104,  /* int (ro): evaluations answered from the previous output
                                         (mdlm_cache) instead of a forward pass                    */
    TDIFF_SAMPLER_STAT_ROWS_COMPUTED = 105, /* int (ro): positions run through the network, summed
                                         over forward passes (no cache: canvas x passes)           */
    TDIFF_SAMPLER_STAT_CACHE_HITS = 106 /* int (ro): positions whose keys and values a forward read
                                         from the KV cache instead of computing, summed            */
} tdiff_sampler_param;

/*
 * Creates a sampler over the library's own denoiser for `model` (which must
 * outlive the sampler; it is only read). The denoiser is built at the first
 * generation, sized for the canvas. TDIFF_E_INVALID_ARGUMENT (NULL model/out,
 * bad host), TDIFF_E_BAD_FORMAT (the model has no mask token, or fewer than
 * two tokens), TDIFF_E_OUT_OF_MEMORY. *out is NULL on failure; err gets why.
 */
TDIFF_API tdiff_status tdiff_sampler_create(const tdiff_model *model, const tdiff_host *host,
                                            tdiff_sampler **out, char *err, size_t err_cap);
/*
 * Creates a sampler over a caller's network. cb is copied (struct_size may be
 * smaller than ours for older callers, never smaller than the fields up to
 * `logits`). n_vocab >= 2; mask_id in [0, n_vocab); eos_id in [0, n_vocab) or -1
 * (no EOS). Errors as tdiff_sampler_create. On failure cb->destroy is NOT called.
 */
TDIFF_API tdiff_status tdiff_sampler_create_with_callback(const tdiff_denoise_callbacks *cb, int32_t n_vocab,
                                                          int32_t mask_id, int32_t eos_id,
                                                          const tdiff_host *host, tdiff_sampler **out,
                                                          char *err, size_t err_cap);
/* Frees the sampler (cancelling a generation in progress). NULL is harmless.
 * Called from inside the sampler's own step callback, it takes effect when the
 * running call returns; that call then returns TDIFF_E_ABORTED and the handle
 * must not be used again. */
TDIFF_API void tdiff_sampler_free(tdiff_sampler *s);

/* Last error text of this sampler ("" when none). Valid until the next call on s. */
TDIFF_API const char *tdiff_sampler_last_error(const tdiff_sampler *s);

/* Setters/getters: TDIFF_OK, TDIFF_E_INVALID_ARGUMENT (NULL, unknown parameter,
 * wrong kind, value outside the bounds, read-only parameter; the message names
 * the parameter), TDIFF_E_STATE (setters: a generation is begun, or inside the
 * step callback). */
TDIFF_API tdiff_status tdiff_sampler_set_int(tdiff_sampler *s, tdiff_sampler_param p, int64_t value);
TDIFF_API tdiff_status tdiff_sampler_set_float(tdiff_sampler *s, tdiff_sampler_param p, double value);
TDIFF_API tdiff_status tdiff_sampler_get_int(const tdiff_sampler *s, tdiff_sampler_param p, int64_t *value);
TDIFF_API tdiff_status tdiff_sampler_get_float(const tdiff_sampler *s, tdiff_sampler_param p, double *value);
/* Bounds and default of a parameter (any pointer may be NULL). TDIFF_E_INVALID_ARGUMENT
 * for an unknown parameter. Needs no handle. */
TDIFF_API tdiff_status tdiff_sampler_param_bounds(tdiff_sampler_param p, double *min, double *max,
                                                  double *default_value);
/* The parameter's name as messages, the tool and the Python binding spell it
 * ("gen_length", "top_k", ...); "unknown" for other values. Static. */
TDIFF_API const char *tdiff_sampler_param_name(tdiff_sampler_param p);
/* The parameter of a name; TDIFF_E_NOT_FOUND when unknown, TDIFF_E_INVALID_ARGUMENT on NULL. */
TDIFF_API tdiff_status tdiff_sampler_param_from_name(const char *name, tdiff_sampler_param *out);
/* 1 for an integer parameter (set_int), 0 for a real one (set_float), -1 when unknown. */
TDIFF_API int tdiff_sampler_param_is_int(tdiff_sampler_param p);
/* Parses a strategy / remasking name ("llada", "low_confidence", "maskgit_plus" = LOW_CONFIDENCE, ...)
 * into its value; TDIFF_E_NOT_FOUND when unknown. Static names back: *_name gives "unknown" for bad values. */
TDIFF_API tdiff_status tdiff_strategy_from_name(const char *name, int *out);
TDIFF_API tdiff_status tdiff_remasking_from_name(const char *name, int *out);
TDIFF_API const char *tdiff_strategy_name(int strategy);
TDIFF_API const char *tdiff_remasking_name(int remasking);

/* Tokens no step may produce (copied; n = 0 clears; the mask may be listed and
 * changes nothing). TDIFF_E_INVALID_ARGUMENT for an id outside [0, n_vocab), ids
 * NULL with n > 0, or a list that bans every token but the mask (nothing could
 * be produced); TDIFF_E_STATE as the setters. */
TDIFF_API tdiff_status tdiff_sampler_set_banned(tdiff_sampler *s, const int32_t *ids, size_t n);

/*
 * Step callback, called after every step with the canvas (n_canvas tokens, the
 * prompt included) and a per-position confidence of that step's prediction (NaN
 * where nothing was predicted). Both arrays are valid only during the call.
 * Return 0 to go on; non-zero stops the run with TDIFF_E_ABORTED, leaving the
 * sampler ready for the next call. fn NULL removes it.
 *
 * Inside the callback the sampler may be read (canvas, progress, get_int,
 * get_float, history, last_error) and set_callback may replace the callback;
 * every other call on it returns TDIFF_E_STATE (return non-zero to stop
 * instead of calling cancel), and tdiff_sampler_free is deferred as documented
 * there. Other samplers may be used freely.
 */
typedef int (*tdiff_step_fn)(void *user_data, size_t step, size_t n_steps, const int32_t *canvas,
                             size_t n_canvas, const float *confidence);
TDIFF_API tdiff_status tdiff_sampler_set_callback(tdiff_sampler *s, tdiff_step_fn fn, void *user_data);

/*
 * Generates GEN_LENGTH tokens after prompt[0..n_prompt) (in compat llamacpp
 * mode: GEN_LENGTH - n_prompt). Writes the generated tokens (the prompt not
 * included) to out; with CUT_AT_EOS the output stops before the first EOS.
 * *n_out gets the count (or, with TDIFF_E_BUFFER_TOO_SMALL, the needed
 * capacity: GEN_LENGTH is always enough). The prompt must not contain the mask
 * token. Returns TDIFF_OK, TDIFF_E_INVALID_ARGUMENT (NULL pointers, a token out
 * of range, parameters that do not fit: steps not divisible by the block count,
 * a canvas longer than the model's context length, a network row that allows
 * no token), TDIFF_E_BUFFER_TOO_SMALL, TDIFF_E_ABORTED (the step callback, or
 * tdiff_sampler_interrupt), TDIFF_E_STATE (a generation is begun; a missing
 * transition/scheduler; called from the step callback), TDIFF_E_UNSUPPORTED (a
 * combination the strategy cannot run, see tdiff_sampler_param),
 * TDIFF_E_OUT_OF_MEMORY, or the denoiser's error.
 */
TDIFF_API tdiff_status tdiff_sampler_generate(tdiff_sampler *s, const int32_t *prompt, size_t n_prompt,
                                              int32_t *out, size_t cap, size_t *n_out);
/*
 * Infilling: canvas[0..n) holds fixed tokens and mask tokens where text is
 * wanted (prefix, suffix and any spans in the middle). Only masked positions
 * change; blocks tile the canvas from the first masked position (the last block
 * may be short). Writes the whole filled canvas to out (cap >= n; *n_out = n).
 * EOS handling does not cut the output. Errors as tdiff_sampler_generate; a
 * canvas without any mask is TDIFF_E_INVALID_ARGUMENT.
 */
TDIFF_API tdiff_status tdiff_sampler_infill(tdiff_sampler *s, const int32_t *canvas, size_t n, int32_t *out,
                                            size_t cap, size_t *n_out);

/* The canvas after every step of the last run when KEEP_HISTORY is set:
 * *data = n_steps rows of n_canvas tokens, valid until the next run or free.
 * TDIFF_E_STATE when no history was kept. */
TDIFF_API tdiff_status tdiff_sampler_history(const tdiff_sampler *s, const int32_t **data, size_t *n_steps,
                                             size_t *n_canvas);

/*
 * D3PM ancestral sampling (TDIFF_STRATEGY_D3PM) needs the transition handle the
 * model was trained with (UNIFORM or ABSORBING; tdiff_transition_create). The
 * sampler borrows it: it must outlive every run that uses it; NULL detaches.
 * Its step count replaces TDIFF_SAMPLER_STEPS. TDIFF_E_INVALID_ARGUMENT when
 * its vocabulary size differs from the sampler's; TDIFF_E_STATE as the setters.
 */
TDIFF_API tdiff_status tdiff_sampler_set_transition(tdiff_sampler *s, tdiff_transition *tr);

/*
 * Soft-masked inputs (docs/softmask.md): with a soft-mask handle attached,
 * every network evaluation after the first feeds each still-masked position the
 * mixture of the mask embedding and the top-k predictions of the previous
 * evaluation at that position (tdiff_softmask_build + tdiff_denoiser_forward_mix);
 * the first evaluation, and positions without a previous row, use the plain mask.
 * Works with the llada, dream, threshold, factor and mdlm strategies (others
 * fail at generate/begin with TDIFF_E_UNSUPPORTED) and with CFG (both passes).
 * With s = 0 (TDIFF_SOFTMASK_RAW_S = -inf) tokens are bit-identical to plain
 * masking. The sampler borrows the handle: it must outlive every run; NULL
 * detaches. Returns TDIFF_OK; TDIFF_E_INVALID_ARGUMENT (NULL sampler);
 * TDIFF_E_UNSUPPORTED (a sampler created from callbacks: no embeddings to mix);
 * TDIFF_E_STATE as the setters.
 */
TDIFF_API tdiff_status tdiff_sampler_set_softmask(tdiff_sampler *s, tdiff_softmask *sm);
/*
 * SEDD (TDIFF_STRATEGY_SEDD_*) needs a transition (UNIFORM or ABSORBING graph, any
 * step count) and the continuous noise schedule sigma_bar(t) the model was trained
 * with (e.g. TDIFF_SCHEDULE_LOGLINEAR). Borrowed like the transition; NULL detaches.
 * For SEDD the network's logits are log concrete scores: score = exp(logits).
 */
TDIFF_API tdiff_status tdiff_sampler_set_scheduler(tdiff_sampler *s, tdiff_scheduler *sched);

/*
 * ---- Incremental generation (games, editors, UIs) ----
 *
 * The same generation as tdiff_sampler_generate / tdiff_sampler_infill, spread
 * over as many calls as the host likes: begin, then advance one step at a time
 * (or for a time budget), reading the canvas between calls; take the result
 * when done, or cancel. tdiff_sampler_generate is exactly begin + steps to the
 * end + result, so a seeded incremental run gives the same tokens.
 *
 * States: IDLE -> (begin) -> RUNNING -> (last step) -> DONE -> (result) -> IDLE.
 * cancel goes from RUNNING or DONE to IDLE; any error from a step (denoiser
 * failure, the step callback aborting, an interrupt, out of memory) also ends
 * the generation (IDLE). A call made in the wrong state returns TDIFF_E_STATE
 * and changes nothing. While a generation is begun (RUNNING or DONE) the
 * parameter setters, set_banned, set_transition, set_scheduler, set_softmask,
 * generate and infill return TDIFF_E_STATE; set_callback stays allowed (the
 * callback still runs after every step). tdiff_sampler_free cancels a
 * generation in progress.
 *
 * Between calls a generation is plain data in the handle (no thread, no stack
 * of its own, nothing thread-local): the steps run on the calling thread, on
 * its stack. A sampler belongs to one thread at a time, also across the calls
 * of one generation -- never two calls at once -- but it may move to another
 * thread between calls (a worker pool) when the host orders the calls (a mutex
 * or a queue).
 */

/* Starts a generation: as tdiff_sampler_generate (GEN_LENGTH tokens after the
 * prompt, the same parameters) without running any step. TDIFF_OK, TDIFF_E_STATE
 * (a generation is already begun), TDIFF_E_INVALID_ARGUMENT, TDIFF_E_UNSUPPORTED,
 * TDIFF_E_OVERFLOW, TDIFF_E_OUT_OF_MEMORY, or the built-in denoiser's creation error. */
TDIFF_API tdiff_status tdiff_sampler_begin(tdiff_sampler *s, const int32_t *prompt, size_t n_prompt);
/* Starts an infilling generation: as tdiff_sampler_infill (canvas[0..n) with
 * mask tokens to fill; copied). Errors as tdiff_sampler_begin. */
TDIFF_API tdiff_status tdiff_sampler_begin_infill(tdiff_sampler *s, const int32_t *canvas, size_t n);
/* Runs one step (a step may commit several positions; it calls the step
 * callback). *done (may be NULL) gets 1 when the generation has finished.
 * TDIFF_OK, TDIFF_E_STATE (not RUNNING; inside the step callback), or the step's
 * error (the generation then ends: TDIFF_E_ABORTED from the callback or an
 * interrupt, the denoiser's error, TDIFF_E_OUT_OF_MEMORY). */
TDIFF_API tdiff_status tdiff_sampler_step(tdiff_sampler *s, int *done);
/* Runs steps until budget_us microseconds (monotonic clock) have passed since
 * the call began or the generation is done; always at least one step, so a
 * budget of 0 still makes progress. A step is never interrupted: the call may
 * overrun by up to one step's time. *n_taken (may be NULL) gets the steps run by
 * this call, *done as tdiff_sampler_step. Errors as tdiff_sampler_step. */
TDIFF_API tdiff_status tdiff_sampler_step_for(tdiff_sampler *s, uint64_t budget_us, size_t *n_taken, int *done);
/* Copies the current canvas (RUNNING or DONE): tokens (prompt and context
 * included), the confidence of the last step's prediction per position (NaN
 * where nothing was predicted, all NaN before the first step) and masked flags
 * (1 = still the mask token). Any of tokens/confidence/masked may be NULL; cap
 * counts elements; *n gets the canvas length. TDIFF_OK, TDIFF_E_STATE (IDLE),
 * TDIFF_E_INVALID_ARGUMENT (s or n NULL), TDIFF_E_BUFFER_TOO_SMALL (cap < n, a
 * non-NULL array; *n set). */
TDIFF_API tdiff_status tdiff_sampler_canvas(const tdiff_sampler *s, int32_t *tokens, float *confidence,
                                            uint8_t *masked, size_t cap, size_t *n);
/* Where the generation stands (any pointer may be NULL): *state 0 IDLE,
 * 1 RUNNING, 2 DONE; *steps_taken steps run so far; *steps_planned the planned
 * step count (adaptive strategies: an upper bound).
 * TDIFF_OK or TDIFF_E_INVALID_ARGUMENT (s NULL). */
TDIFF_API tdiff_status tdiff_sampler_progress(const tdiff_sampler *s, int *state, size_t *steps_taken,
                                              size_t *steps_planned);
/* Abandons the generation (RUNNING or DONE), frees its workspace; the sampler is
 * IDLE and ready for the next one. TDIFF_OK, TDIFF_E_STATE (IDLE; inside the
 * step callback). */
TDIFF_API tdiff_status tdiff_sampler_cancel(tdiff_sampler *s);
/* Hands back the result of a DONE generation exactly as tdiff_sampler_generate
 * (generated tokens, cut at EOS when CUT_AT_EOS) or tdiff_sampler_infill (the
 * whole canvas) would, and returns the sampler to IDLE. TDIFF_OK, TDIFF_E_STATE
 * (not DONE), TDIFF_E_INVALID_ARGUMENT, TDIFF_E_BUFFER_TOO_SMALL (*n_out = the
 * needed capacity; the generation stays DONE so the call can be repeated). */
TDIFF_API tdiff_status tdiff_sampler_result(tdiff_sampler *s, int32_t *out, size_t cap, size_t *n_out);
/*
 * Asks the call running on s (generate, infill, step, step_for) to stop: the
 * ONE sampler function that may be called from any thread, at any time while s
 * exists (a server's connection thread, a UI's cancel button). The running
 * call returns TDIFF_E_ABORTED at its next network evaluation or step boundary
 * and the generation ends (IDLE). A generation that has not started a step yet
 * stops at its first; the request is cleared when the next generation begins.
 */
TDIFF_API void tdiff_sampler_interrupt(tdiff_sampler *s);


#ifdef __cplusplus
}
#endif

#endif /* LIBTEXTDIFF_H */
