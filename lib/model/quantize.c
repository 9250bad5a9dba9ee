/*
 * quantize.c -- tdiff_model_quantize: a copy of a loaded model with its weights
 * re-encoded, written as GGUF v3 that llama.cpp reads (ggml type numbers and
 * block layouts, general.file_type = llama.cpp's file type number,
 * general.quantization_version = 2). Every metadata entry is copied byte for
 * byte (tokenizer included); tensors keep their order and names.
 *
 * Which tensors change and to what (the rules of llama.cpp's quantizer for
 * these file types, re-stated, not copied): 2-D and larger tensors whose name
 * ends in "weight" except norms, position_embd and token_types; for block types
 * the output head (or, without one, the tied token_embd) becomes Q6_K unless
 * the type is Q8_0; Q4_K_M and Q5_K_M give Q6_K to attn_v / attn_qkv and
 * ffn_down in the layers use_more_bits picks. A row length the type cannot
 * block falls back to Q8_0 (llama.cpp would pick Q5_0/Q5_1 for Q4_K/Q5_K,
 * which this library does not read), then to F16.
 *
 * Rows are decoded to f32, re-encoded in parallel (each row alone, so the
 * bytes never depend on the thread count) and streamed to `out_path`.part,
 * renamed to out_path at the end: memory stays at one chunk per call.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "core/threads.h"
#include "model.h"

/* Rows are handled in chunks of at most this many f32 values (reason: 4 MiB of
 * decoded rows at a time, whatever the tensor). */
#define QZ_CHUNK_FLOATS (1u << 20)
/* Rows one pool task encodes (reason: K-quant rows are a few thousand values;
 * 8 of them are enough work to amortise the hand-out). */
#define QZ_TASK_ROWS 8u

static const struct {
    tdiff_quant_type type;
    uint32_t base;       /* ggml type of most weights */
    uint32_t file_type;  /* llama.cpp's LLAMA_FTYPE_* number */
    bool mix;            /* Q4_K_M / Q5_K_M rules */
} quant_types[] = {
    {TDIFF_QUANT_F16, TDIFF__GGML_F16, 1, false},      {TDIFF_QUANT_BF16, TDIFF__GGML_BF16, 32, false},
    {TDIFF_QUANT_Q8_0, TDIFF__GGML_Q8_0, 7, false},    {TDIFF_QUANT_Q4_0, TDIFF__GGML_Q4_0, 2, false},
    {TDIFF_QUANT_Q4_K, TDIFF__GGML_Q4_K, 14, false},   {TDIFF_QUANT_Q5_K, TDIFF__GGML_Q5_K, 16, false},
    {TDIFF_QUANT_Q6_K, TDIFF__GGML_Q6_K, 18, false},   {TDIFF_QUANT_Q4_K_M, TDIFF__GGML_Q4_K, 15, true},
    {TDIFF_QUANT_Q5_K_M, TDIFF__GGML_Q5_K, 17, true},
};

static bool has(const tdiff__tensor *t, const char *s)
{
    const size_t n = strlen(s);
    for (size_t i = 0; i + n <= t->name_len; i++)
        if (memcmp(t->name + i, s, n) == 0)
            return true;
    return false;
}

static bool named(const tdiff__tensor *t, const char *s)
{
    return t->name_len == strlen(s) && memcmp(t->name, s, t->name_len) == 0;
}

static bool quantisable(const tdiff__tensor *t)
{
    return t->n_dims >= 2 && t->name_len >= 6 && memcmp(t->name + t->name_len - 6, "weight", 6) == 0 &&
           !has(t, "_norm.weight") && !named(t, "position_embd.weight") && !named(t, "token_types.weight");
}

/* llama.cpp's choice of layers that get more bits in the _M mixes. */
static bool use_more_bits(size_t i, size_t n)
{
    return i < n / 8 || i >= 7 * n / 8 || (i >= n / 8 && (i - n / 8) % 3 == 2);
}

/* A type the tensor's rows can be blocked in: t itself, else Q8_0, else F16. */
static uint32_t fit(const tdiff__tensor *t, uint32_t type)
{
    size_t block, bytes;
    if (tdiff__ggml_type_info(type, &block, &bytes) && t->ne[0] % block == 0)
        return type;
    return t->ne[0] % 32 == 0 ? TDIFF__GGML_Q8_0 : TDIFF__GGML_F16;
}

/* The type every tensor is written in (out[i] for tensor i, file order). */
static void plan(const tdiff_model *m, size_t q, uint32_t *out)
{
    const uint32_t base = quant_types[q].base;
    const bool blocks = base != TDIFF__GGML_F16 && base != TDIFF__GGML_BF16;
    bool tied = true;
    size_t n_wv = 0, n_down = 0, i_wv = 0, i_down = 0;
    for (size_t i = 0; i < m->n_tensors; i++) {
        const tdiff__tensor *t = &m->tensors[i];
        tied = tied && !named(t, "output.weight");
        n_wv += quantisable(t) && (has(t, "attn_v.weight") || has(t, "attn_qkv.weight"));
        n_down += quantisable(t) && has(t, "ffn_down");
    }
    for (size_t i = 0; i < m->n_tensors; i++) {
        const tdiff__tensor *t = &m->tensors[i];
        out[i] = t->type;
        if (!quantisable(t) || t->n_elems == 0)
            continue;
        uint32_t ty = base;
        if (blocks && (named(t, "output.weight") || (tied && named(t, "token_embd.weight")))) {
            ty = base == TDIFF__GGML_Q8_0 ? TDIFF__GGML_Q8_0 : TDIFF__GGML_Q6_K;
        } else if (has(t, "attn_v.weight") || has(t, "attn_qkv.weight")) {
            if (quant_types[q].mix && use_more_bits(i_wv, n_wv))
                ty = TDIFF__GGML_Q6_K;
            i_wv++;
        } else if (has(t, "ffn_down")) {
            if (quant_types[q].mix && use_more_bits(i_down, n_down))
                ty = TDIFF__GGML_Q6_K;
            i_down++;
        }
        out[i] = fit(t, ty);
    }
}

/* ---- writing ---- */

typedef struct writer {
    FILE *f;
    uint64_t pos;
    int failed; /* errno of the first failed write, 0 while all went well */
} writer;

static void put(writer *w, const void *p, size_t n)
{
    if (w->failed || n == 0)
        return;
    if (fwrite(p, 1, n, w->f) != n)
        w->failed = errno ? errno : EIO;
    w->pos += n;
}
static void put_u64(writer *w, uint64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i)); /* GGUF is little-endian */
    put(w, b, 8);
}
static void put_u32(writer *w, uint32_t v)
{
    uint8_t b[4];
    for (int i = 0; i < 4; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    put(w, b, 4);
}
static void put_str(writer *w, const char *s, size_t n)
{
    put_u64(w, n);
    put(w, s, n);
}
static void pad_to(writer *w, size_t align)
{
    static const uint8_t zeros[256];
    size_t n = (size_t)((align - w->pos % align) % align);
    while (n) {
        const size_t k = n < sizeof zeros ? n : sizeof zeros;
        put(w, zeros, k);
        n -= k;
    }
}

static bool is_key(const tdiff__meta *e, const char *k)
{
    return e->key_len == strlen(k) && memcmp(e->key, k, e->key_len) == 0;
}

static void put_meta(writer *w, const tdiff__meta *e)
{
    put_str(w, e->key, e->key_len);
    put_u32(w, e->type);
    if (e->type == TDIFF_META_ARRAY) {
        put_u32(w, e->elem_type);
        put_u64(w, e->count);
    }
    put(w, e->data, e->nbytes); /* the value's own bytes, as stored */
}

static void put_kv_u32(writer *w, const char *k, uint32_t v)
{
    put_str(w, k, strlen(k));
    put_u32(w, TDIFF_META_U32);
    put_u32(w, v);
}

/* ---- re-encoding one chunk of rows on the pool ---- */

typedef struct chunk_job {
    const tdiff__kernels *k;
    const tdiff__tensor *t;
    uint32_t type;
    size_t row0, n_rows, row_bytes;
    float *f32;        /* [threads][QZ_TASK_ROWS * ne0] decoded rows */
    uint8_t *out;      /* [n_rows][row_bytes] */
    atomic_int bad;    /* a row held a non-finite value for a block type */
} chunk_job;

static void chunk_task(void *ctx, size_t task, size_t thread)
{
    chunk_job *j = ctx;
    const size_t ne0 = j->t->ne[0], r0 = task * QZ_TASK_ROWS;
    const size_t nr = j->n_rows - r0 < QZ_TASK_ROWS ? j->n_rows - r0 : QZ_TASK_ROWS;
    float *x = j->f32 + thread * QZ_TASK_ROWS * ne0;
    (void)tdiff__tensor_rows_to_f32(j->k, j->t, j->row0 + r0, nr, x); /* rows exist: cannot fail */
    for (size_t r = 0; r < nr; r++)
        if (tdiff__quantize_row(j->type, x + r * ne0, ne0, j->out + (r0 + r) * j->row_bytes) != TDIFF_OK)
            atomic_store_explicit(&j->bad, 1, memory_order_relaxed);
}

static tdiff_status write_tensor(tdiff__env *env, tdiff__pool *pool, writer *w, const tdiff__tensor *t,
                                 uint32_t type, size_t out_row_bytes, float *f32, uint8_t *buf)
{
    if (type == t->type) { /* kept as it is */
        put(w, t->data, t->nbytes);
        return TDIFF_OK;
    }
    const size_t rows_per_chunk = t->ne[0] >= QZ_CHUNK_FLOATS ? 1 : QZ_CHUNK_FLOATS / t->ne[0];
    for (size_t row0 = 0; row0 < t->n_rows; row0 += rows_per_chunk) {
        chunk_job j = {env->k, t, type, row0, t->n_rows - row0 < rows_per_chunk ? t->n_rows - row0 : rows_per_chunk,
                       out_row_bytes, f32, buf, 0};
        atomic_init(&j.bad, 0);
        tdiff__pool_for(pool, (j.n_rows + QZ_TASK_ROWS - 1) / QZ_TASK_ROWS, chunk_task, &j);
        if (atomic_load(&j.bad))
            return tdiff__fail(env, TDIFF_E_BAD_FORMAT, "tensor '%.*s' holds a value that is not finite: it cannot be "
                               "encoded as %s", (int)t->name_len, t->name, tdiff__ggml_type_name(type));
        put(w, buf, j.n_rows * out_row_bytes);
    }
    return TDIFF_OK;
}

/* ---- the call ---- */

static tdiff_status fail_to(char *err, size_t cap, tdiff__env *env, tdiff_status st)
{
    tdiff__copy_message(err, cap, env->last_error);
    return st;
}

tdiff_status tdiff_model_quantize(const tdiff_model *model, const char *out_path, tdiff_quant_type type,
                                  int n_threads, tdiff_quantize_fn progress, void *user_data, char *err, size_t err_cap)
{
    tdiff__copy_message(err, err_cap, "");
    if (!model || !out_path) {
        tdiff__copy_message(err, err_cap, model ? "tdiff_model_quantize: NULL out_path" : "tdiff_model_quantize: NULL model");
        return TDIFF_E_INVALID_ARGUMENT;
    }
    tdiff__env env = model->env; /* the model's allocator, logging and kernels; its own error text */
    env.last_error[0] = '\0';
    size_t q = 0;
    while (q < sizeof quant_types / sizeof quant_types[0] && quant_types[q].type != type)
        q++;
    if (q == sizeof quant_types / sizeof quant_types[0])
        return fail_to(err, err_cap, &env,
                       tdiff__fail(&env, TDIFF_E_INVALID_ARGUMENT, "tdiff_model_quantize: %d is not a tdiff_quant_type",
                                   (int)type));
    if (n_threads < 1 || (unsigned)n_threads > TDIFF__POOL_MAX_THREADS)
        return fail_to(err, err_cap, &env,
                       tdiff__fail(&env, TDIFF_E_INVALID_ARGUMENT, "tdiff_model_quantize: n_threads %d is outside 1..%u",
                                   n_threads, TDIFF__POOL_MAX_THREADS));

    /* the plan, the output layout and the scratch */
    const size_t n = model->n_tensors, align = model->alignment;
    uint32_t *types = tdiff__calloc(&env, n ? n : 1, sizeof *types);
    size_t *row_bytes = tdiff__calloc(&env, n ? n : 1, sizeof *row_bytes);
    size_t max_ne0 = 1, max_out = 1;
    tdiff_status st = TDIFF_OK;
    if (!types || !row_bytes)
        st = tdiff__fail(&env, TDIFF_E_OUT_OF_MEMORY, "no memory for the quantisation plan");
    if (st == TDIFF_OK) {
        plan(model, q, types);
        for (size_t i = 0; i < n; i++) {
            const tdiff__tensor *t = &model->tensors[i];
            size_t block, bytes;
            (void)tdiff__ggml_type_info(types[i], &block, &bytes); /* every planned type is one we know */
            row_bytes[i] = t->ne[0] / block * bytes;
            const size_t rows = t->ne[0] >= QZ_CHUNK_FLOATS ? 1 : QZ_CHUNK_FLOATS / t->ne[0];
            if (types[i] != t->type) {
                max_ne0 = t->ne[0] > max_ne0 ? t->ne[0] : max_ne0;
                const size_t chunk = (rows < t->n_rows ? rows : t->n_rows) * row_bytes[i];
                max_out = chunk > max_out ? chunk : max_out;
            }
        }
    }
    tdiff__pool *pool = NULL;
    float *f32 = NULL;
    uint8_t *buf = NULL;
    if (st == TDIFF_OK)
        st = tdiff__pool_create(&env, (size_t)n_threads, &pool);
    if (st == TDIFF_OK) {
        size_t floats;
        if (!tdiff__mul_size(max_ne0, (size_t)n_threads * QZ_TASK_ROWS, &floats))
            st = tdiff__fail(&env, TDIFF_E_OVERFLOW, "row scratch size overflows");
        else if (!(f32 = tdiff__calloc(&env, floats, sizeof *f32)) || !(buf = tdiff__malloc(&env, max_out)))
            st = tdiff__fail(&env, TDIFF_E_OUT_OF_MEMORY, "no memory for %zu rows of %zu values", floats / max_ne0,
                             max_ne0);
    }

    char part[4096];
    writer w = {NULL, 0, 0};
    if (st == TDIFF_OK && snprintf(part, sizeof part, "%s.part", out_path) >= (int)sizeof part)
        st = tdiff__fail(&env, TDIFF_E_INVALID_ARGUMENT, "output path is too long");
    if (st == TDIFF_OK && !(w.f = fopen(part, "wb")))
        st = tdiff__fail(&env, TDIFF_E_IO, "cannot create %s: %s", part, strerror(errno));

    if (st == TDIFF_OK) {
        /* header, metadata (file type and quantisation version replaced where
         * they stand, appended when absent, as llama.cpp does), tensor infos */
        bool have_ft = false, have_qv = false;
        for (size_t i = 0; i < model->n_meta; i++) {
            have_ft |= is_key(&model->meta[i], "general.file_type");
            have_qv |= is_key(&model->meta[i], "general.quantization_version");
        }
        put(&w, "GGUF", 4);
        put_u32(&w, 3);
        put_u64(&w, n);
        put_u64(&w, model->n_meta + !have_ft + !have_qv);
        for (size_t i = 0; i < model->n_meta; i++) {
            const tdiff__meta *e = &model->meta[i];
            if (is_key(e, "general.quantization_version"))
                put_kv_u32(&w, "general.quantization_version", 2); /* ggml's GGML_QNT_VERSION of these layouts */
            else if (is_key(e, "general.file_type"))
                put_kv_u32(&w, "general.file_type", quant_types[q].file_type);
            else
                put_meta(&w, e);
        }
        if (!have_qv)
            put_kv_u32(&w, "general.quantization_version", 2);
        if (!have_ft)
            put_kv_u32(&w, "general.file_type", quant_types[q].file_type);
        uint64_t off = 0;
        for (size_t i = 0; i < n; i++) {
            const tdiff__tensor *t = &model->tensors[i];
            put_str(&w, t->name, t->name_len);
            put_u32(&w, t->n_dims);
            for (uint32_t d = 0; d < t->n_dims; d++)
                put_u64(&w, t->ne[d]);
            put_u32(&w, types[i]);
            put_u64(&w, off);
            off += (uint64_t)t->n_rows * row_bytes[i];
            off = (off + align - 1) / align * align;
        }
        pad_to(&w, align);
        for (size_t i = 0; i < n && st == TDIFF_OK && !w.failed; i++) {
            const tdiff__tensor *t = &model->tensors[i];
            st = write_tensor(&env, pool, &w, t, types[i], row_bytes[i], f32, buf);
            pad_to(&w, align);
            if (st == TDIFF_OK && progress) {
                char name[TDIFF__GGUF_MAX_NAME_LEN + 1];
                memcpy(name, t->name, t->name_len);
                name[t->name_len] = '\0';
                const tdiff_quantize_tensor info = {i, n, name, (int)t->type, (int)types[i], t->nbytes,
                                                    (uint64_t)t->n_rows * row_bytes[i]};
                if (progress(user_data, &info) != 0)
                    st = tdiff__fail(&env, TDIFF_E_ABORTED, "quantisation stopped by the progress callback");
            }
        }
        if (st == TDIFF_OK && w.failed)
            st = tdiff__fail(&env, TDIFF_E_IO, "cannot write %s: %s", part, strerror(w.failed));
        if (fclose(w.f) != 0 && st == TDIFF_OK)
            st = tdiff__fail(&env, TDIFF_E_IO, "cannot write %s: %s", part, strerror(errno));
        if (st == TDIFF_OK)
            st = tdiff__replace_file(&env, part, out_path);
        if (st != TDIFF_OK)
            remove(part);
    }
    tdiff__pool_free(pool);
    tdiff__free(&env, f32);
    tdiff__free(&env, buf);
    tdiff__free(&env, types);
    tdiff__free(&env, row_bytes);
    return st == TDIFF_OK ? TDIFF_OK : fail_to(err, err_cap, &env, st);
}
