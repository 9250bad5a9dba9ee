/*
 * fuzz_gguf.c -- libFuzzer harness over tdiff_model_load_memory: any byte
 * string must load or fail cleanly (no crash, over-read, leak, UB); a model
 * that loads is then walked through every public query and every tensor row
 * conversion, so values the loader accepted are also safe to use.
 * Every input is also loaded again with one allocation failing, which must fail
 * cleanly. Built by run.sh with clang (-fsanitize=fuzzer,address,undefined) and, with
 * replay.c, by meson with gcc as the 'fuzz' test suite over corpus/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "libtextdiff.h"
#include "model/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Walks every metadata entry through the public getters. */
static void walk_meta(const tdiff_model *m)
{
    char key[512], buf[64];
    size_t n = tdiff_model_meta_count(m);
    for (size_t i = 0; i < n; i++) {
        size_t need;
        if (tdiff_model_meta_key(m, i, key, sizeof key, &need) != TDIFF_OK)
            continue;
        tdiff_meta_type t, et;
        size_t count = 0;
        if (tdiff_model_meta_type(m, key, &t, &et, &count) != TDIFF_OK)
            abort(); /* a listed key must be found */
        uint32_t u32;
        int32_t i32;
        uint64_t u64;
        float f;
        int b;
        (void)tdiff_model_meta_get_u32(m, key, &u32);
        (void)tdiff_model_meta_get_i32(m, key, &i32);
        (void)tdiff_model_meta_get_u64(m, key, &u64);
        (void)tdiff_model_meta_get_f32(m, key, &f);
        (void)tdiff_model_meta_get_bool(m, key, &b);
        (void)tdiff_model_meta_get_str(m, key, buf, sizeof buf, &need);
        if (t == TDIFF_META_ARRAY && count) {
            size_t idx[2] = {0, count - 1};
            for (int k = 0; k < 2; k++) {
                (void)tdiff_model_meta_get_arr_str(m, key, idx[k], buf, sizeof buf, &need);
                (void)tdiff_model_meta_get_arr_i32(m, key, idx[k], &i32);
                (void)tdiff_model_meta_get_arr_f32(m, key, idx[k], &f);
            }
        }
    }
}

/* Converts the first and last row of every tensor (rows up to 4096 values). */
static void walk_tensors(const tdiff_model *m)
{
    static float row[4096];
    for (size_t i = 0; i < m->n_tensors; i++) {
        const tdiff__tensor *t = &m->tensors[i];
        char name[64];
        memcpy(name, t->name, t->name_len);
        name[t->name_len] = '\0';
        if (tdiff__tensor_find(m, name) != t)
            abort(); /* names are unique: lookup finds this very tensor */
        int type, nd;
        int64_t ne[4];
        (void)tdiff_model_tensor_info(m, i, name, sizeof name, NULL, &type, &nd, ne);
        if (t->n_rows == 0 || t->ne[0] > 4096)
            continue;
        if (tdiff__tensor_row_to_f32(m->env.k, t, 0, row) != TDIFF_OK ||
            tdiff__tensor_row_to_f32(m->env.k, t, t->n_rows - 1, row) != TDIFF_OK)
            abort();
    }
}

/* A host that counts allocations and can fail the N-th one. */
typedef struct counting {
    long count, live, fail_at;
} counting;

static void *c_malloc(void *ud, size_t n)
{
    counting *c = ud;
    if (++c->count == c->fail_at)
        return NULL;
    void *p = malloc(n ? n : 1);
    c->live += p != NULL;
    return p;
}

static void *c_realloc(void *ud, void *p, size_t n)
{
    counting *c = ud;
    if (++c->count == c->fail_at)
        return NULL;
    void *q = realloc(p, n ? n : 1);
    c->live += q && !p;
    return q;
}

static void c_free(void *ud, void *p)
{
    counting *c = ud;
    c->live -= p != NULL;
    free(p);
}

static tdiff_status load_counted(const uint8_t *data, size_t size, counting *c, tdiff_model **m, char *err,
                                 size_t cap)
{
    tdiff_host host = {0};
    host.struct_size = sizeof host;
    host.malloc_fn = c_malloc;
    host.realloc_fn = c_realloc;
    host.free_fn = c_free;
    host.alloc_user_data = c;
    return tdiff_model_load_memory(data, size, &host, m, err, cap);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tdiff_model *m = NULL;
    char err[256];
    counting c = {0, 0, 0};
    if (load_counted(data, size, &c, &m, err, sizeof err) != TDIFF_OK) {
        if (m || !err[0] || c.live)
            abort(); /* a failure leaves no model, no allocation, and always says why */
        return 0;
    }
    /* The same load with one allocation failing (chosen by the input) must fail
     * cleanly: out of memory, nothing left allocated. */
    long n_allocs = c.count;
    if (n_allocs > 0) {
        counting f = {0, 0, 1 + (long)(size % (size_t)n_allocs)};
        tdiff_model *m2 = NULL;
        if (load_counted(data, size, &f, &m2, err, sizeof err) != TDIFF_E_OUT_OF_MEMORY || m2 || f.live)
            abort();
    }
    static const tdiff_model_param ints[] = {
        TDIFF_MODEL_N_VOCAB, TDIFF_MODEL_N_CTX, TDIFF_MODEL_N_EMBD, TDIFF_MODEL_N_LAYER, TDIFF_MODEL_N_FF,
        TDIFF_MODEL_N_HEAD, TDIFF_MODEL_N_HEAD_KV, TDIFF_MODEL_HEAD_DIM, TDIFF_MODEL_ROPE_DIM,
        TDIFF_MODEL_SHIFT_LOGITS, TDIFF_MODEL_ROPE_STYLE, TDIFF_MODEL_HAS_QKV_BIAS, TDIFF_MODEL_TIED_OUTPUT,
        TDIFF_MODEL_CAUSAL, TDIFF_MODEL_GGUF_VERSION, TDIFF_MODEL_N_TENSORS, TDIFF_MODEL_N_META,
        TDIFF_MODEL_ALIGNMENT, TDIFF_MODEL_FILE_SIZE};
    int64_t v;
    double d;
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
        (void)tdiff_model_get_int(m, ints[i], &v);
    (void)tdiff_model_get_float(m, TDIFF_MODEL_ROPE_BASE, &d);
    (void)tdiff_model_get_float(m, TDIFF_MODEL_NORM_EPS, &d);
    size_t nv = 0;
    (void)tdiff_model_vocab_size(m, &nv);
    for (int w = TDIFF_SPECIAL_BOS; w <= TDIFF_SPECIAL_CLS; w++) {
        int32_t id;
        if (tdiff_model_special_id(m, (tdiff_special_token)w, &id) == TDIFF_OK && (size_t)id >= nv)
            abort(); /* special ids are below the vocabulary size */
    }
    walk_meta(m);
    walk_tensors(m);
    tdiff_model_free(m);
    if (c.live)
        abort(); /* free releases every allocation */
    return 0;
}
