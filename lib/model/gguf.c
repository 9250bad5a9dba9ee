/*
 * gguf.c -- parses a GGUF v2/v3 file (header, metadata, tensor infos, data
 * section) from base[0..size) into the model's tables. Generic checks only;
 * architecture rules live in arch.c.
 *
 * Layout (all little-endian):
 *   "GGUF" u32 version, u64 n_tensors, u64 n_kv
 *   n_kv x   { str key, u32 type, value }         str = u64 length + bytes
 *   n_tensors x { str name, u32 n_dims, i64 ne[n_dims], u32 type, u64 offset }
 *   padding to general.alignment, then the data section (offsets are relative to it)
 * Every count is checked against the bytes left BEFORE anything is allocated for
 * it, and every size computation is overflow-checked step by step.
 */
#include <stdlib.h>
#include <string.h>

#include "cursor.h"
#include "model.h"

/* Smallest encodings, used to bound counts by the bytes left before allocating:
 * a metadata entry is >= 8 (key length) + 1 (key) + 4 (type) + 1 (u8 value);
 * a tensor info is >= 8 (name length) + 1 (name) + 4 (n_dims) + 4 (type) + 8 (offset). */
#define MIN_KV_BYTES 14u
#define MIN_TENSOR_INFO_BYTES 25u

static size_t meta_scalar_size(uint32_t t)
{
    switch (t) {
    case TDIFF_META_U8: case TDIFF_META_I8: case TDIFF_META_BOOL: return 1;
    case TDIFF_META_U16: case TDIFF_META_I16: return 2;
    case TDIFF_META_U32: case TDIFF_META_I32: case TDIFF_META_F32: return 4;
    case TDIFF_META_U64: case TDIFF_META_I64: case TDIFF_META_F64: return 8;
    default: return 0; /* string, array: variable */
    }
}

static const char *meta_type_name(uint32_t t)
{
    static const char *const names[] = {"u8", "i8", "u16", "i16", "u32", "i32", "f32",
                                        "bool", "string", "array", "u64", "i64", "f64"};
    return t < sizeof names / sizeof names[0] ? names[t] : "invalid";
}

/* A counted string: u64 length then bytes. max_len bounds the length (0 = only
 * by the bytes left). */
static tdiff_status read_str(tdiff__cursor *c, const char *field, uint64_t max_len, const char **s, size_t *len)
{
    size_t at = c->pos;
    uint64_t n = 0;
    tdiff_status st = tdiff__cur_u64(c, field, &n);
    if (st != TDIFF_OK)
        return st;
    if (max_len && n > max_len)
        return tdiff__fail(c->env, TDIFF_E_BAD_FORMAT, "offset %zu: %s: length %llu exceeds the limit %llu", at,
                           field, (unsigned long long)n, (unsigned long long)max_len);
    if (n > tdiff__cur_left(c))
        return tdiff__fail(c->env, TDIFF_E_BAD_FORMAT, "offset %zu: %s: length %llu exceeds the %zu bytes left", at,
                           field, (unsigned long long)n, tdiff__cur_left(c));
    const uint8_t *p = NULL;
    st = tdiff__cur_take(c, (size_t)n, field, &p);
    if (st != TDIFF_OK)
        return st;
    *s = (const char *)p;
    *len = (size_t)n;
    return TDIFF_OK;
}

/* Bools must be 0 or 1: anything else is a corrupt or hostile file. */
static tdiff_status check_bools(tdiff__cursor *c, const uint8_t *p, size_t n, size_t at, const char *key, size_t klen)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] > 1)
            return tdiff__fail(c->env, TDIFF_E_BAD_FORMAT, "offset %zu: value of '%.*s': bool byte %u is not 0 or 1",
                               at + i, (int)(klen > 200 ? 200 : klen), key, (unsigned)p[i]);
    return TDIFF_OK;
}

/* Reads one value (scalar or array) of metadata entry e, whose key is set. */
static tdiff_status read_value(tdiff_model *m, tdiff__cursor *c, tdiff__meta *e)
{
    tdiff__env *env = &m->env;
    int kl = (int)(e->key_len > 200 ? 200 : e->key_len);
    size_t at = c->pos;
    uint32_t t = 0;
    tdiff_status st = tdiff__cur_u32(c, "metadata value type", &t);
    if (st != TDIFF_OK)
        return st;
    if (t > TDIFF_META_F64)
        return tdiff__fail(env, TDIFF_E_BAD_FORMAT, "offset %zu: value type of '%.*s': %u is not a GGUF type (0..12)",
                           at, kl, e->key, t);
    e->type = t;
    e->elem_type = t;
    e->count = 1;
    at = c->pos;
    if (t == TDIFF_META_STRING) {
        const char *s;
        size_t n;
        st = read_str(c, "string value", 0, &s, &n);
        e->data = c->base + at;
        e->nbytes = c->pos - at;
        return st;
    }
    if (t != TDIFF_META_ARRAY) {
        size_t n = meta_scalar_size(t);
        st = tdiff__cur_take(c, n, "metadata value", &e->data);
        if (st == TDIFF_OK && t == TDIFF_META_BOOL)
            st = check_bools(c, e->data, 1, at, e->key, e->key_len);
        e->nbytes = n;
        return st;
    }
    uint32_t et = 0;
    uint64_t count = 0;
    if ((st = tdiff__cur_u32(c, "array element type", &et)) != TDIFF_OK)
        return st;
    if (et == TDIFF_META_ARRAY)
        return tdiff__fail(env, TDIFF_E_BAD_FORMAT, "offset %zu: array '%.*s': nested arrays are not allowed", at, kl,
                           e->key);
    if (et > TDIFF_META_F64)
        return tdiff__fail(env, TDIFF_E_BAD_FORMAT,
                           "offset %zu: array '%.*s': element type %u is not a GGUF type (0..12)", at, kl, e->key, et);
    size_t cat = c->pos;
    if ((st = tdiff__cur_u64(c, "array length", &count)) != TDIFF_OK)
        return st;
    size_t es = et == TDIFF_META_STRING ? 8 : meta_scalar_size(et); /* a string takes >= 8 bytes */
    if (count > tdiff__cur_left(c) / es || count > TDIFF__GGUF_MAX_COUNT)
        return tdiff__fail(env, TDIFF_E_BAD_FORMAT,
                           "offset %zu: array '%.*s': %llu elements of type %s cannot fit the %zu bytes left", cat, kl,
                           e->key, (unsigned long long)count, meta_type_name(et), tdiff__cur_left(c));
    e->elem_type = et;
    e->count = (size_t)count;
    e->data = c->base + c->pos;
    if (et != TDIFF_META_STRING) {
        const uint8_t *p = NULL;
        st = tdiff__cur_take(c, e->count * es, "array data", &p); /* no overflow: count <= left/es */
        if (st == TDIFF_OK && et == TDIFF_META_BOOL)
            st = check_bools(c, p, e->count, cat + 8, e->key, e->key_len);
        e->nbytes = e->count * es;
        return st;
    }
    /* Index the strings so element i is O(1) later; count <= left/8 bounds this allocation. */
    size_t *offs = tdiff__calloc(env, e->count ? e->count : 1, sizeof *offs);
    if (!offs)
        return tdiff__fail(env, TDIFF_E_OUT_OF_MEMORY, "array '%.*s': no memory for %zu string offsets", kl, e->key,
                           e->count);
    e->str_offs = offs;
    for (size_t i = 0; i < e->count; i++) {
        const char *s;
        size_t n;
        offs[i] = c->pos - (size_t)(e->data - c->base);
        if ((st = read_str(c, "string array element", 0, &s, &n)) != TDIFF_OK)
            return st;
    }
    e->nbytes = c->pos - (size_t)(e->data - c->base);
    return TDIFF_OK;
}

static int cmp_names(const char *a, size_t al, const char *b, size_t bl)
{
    if (al != bl)
        return al < bl ? -1 : 1;
    return memcmp(a, b, al);
}

static int cmp_meta(const void *pa, const void *pb)
{
    const tdiff__meta *a = *(const tdiff__meta *const *)pa, *b = *(const tdiff__meta *const *)pb;
    int r = cmp_names(a->key, a->key_len, b->key, b->key_len);
    return r ? r : (a < b ? -1 : a > b); /* stable: file order among duplicates */
}

static int cmp_tensor(const void *pa, const void *pb)
{
    const tdiff__tensor *a = *(const tdiff__tensor *const *)pa, *b = *(const tdiff__tensor *const *)pb;
    int r = cmp_names(a->name, a->name_len, b->name, b->name_len);
    return r ? r : (a < b ? -1 : a > b);
}

static tdiff_status read_metadata(tdiff_model *m, tdiff__cursor *c, uint64_t n_kv)
{
    tdiff__env *env = &m->env;
    if (n_kv > tdiff__cur_left(c) / MIN_KV_BYTES || n_kv > TDIFF__GGUF_MAX_COUNT)
        return tdiff__fail(env, TDIFF_E_BAD_FORMAT,
                           "offset 16: metadata count: %llu entries cannot fit the %zu bytes left",
                           (unsigned long long)n_kv, tdiff__cur_left(c));
    m->n_meta = (size_t)n_kv;
    m->meta = tdiff__calloc(env, m->n_meta ? m->n_meta : 1, sizeof *m->meta);
    m->meta_sorted = tdiff__calloc(env, m->n_meta ? m->n_meta : 1, sizeof *m->meta_sorted);
    if (!m->meta || !m->meta_sorted)
        return tdiff__fail(env, TDIFF_E_OUT_OF_MEMORY, "no memory for %zu metadata entries", m->n_meta);
    for (size_t i = 0; i < m->n_meta; i++) {
        tdiff__meta *e = &m->meta[i];
        size_t at = c->pos;
        tdiff_status st = read_str(c, "metadata key", TDIFF__GGUF_MAX_KEY_LEN, &e->key, &e->key_len);
        if (st != TDIFF_OK)
            return st;
        if (e->key_len == 0)
            return tdiff__fail(env, TDIFF_E_BAD_FORMAT, "offset %zu: metadata key #%zu is empty", at, i);
        if (memchr(e->key, 0, e->key_len))
            return tdiff__fail(env, TDIFF_E_BAD_FORMAT, "offset %zu: metadata key #%zu contains a NUL byte", at, i);
        if ((st = read_value(m, c, e)) != TDIFF_OK)
            return st;
        m->meta_sorted[i] = e;
    }
    qsort(m->meta_sorted, m->n_meta, sizeof *m->meta_sorted, cmp_meta);
    for (size_t i = 1; i < m->n_meta; i++) {
        const tdiff__meta *a = m->meta_sorted[i - 1], *b = m->meta_sorted[i];
        if (!cmp_names(a->key, a->key_len, b->key, b->key_len))
            return tdiff__fail(env, TDIFF_E_BAD_FORMAT, "offset %zu: metadata key '%.*s' appears twice",
                               (size_t)((const uint8_t *)b->key - m->base) - 8, (int)(b->key_len > 200 ? 200 : b->key_len),
                               b->key);
    }
    return TDIFF_OK;
}

/* general.alignment (u32, power of two, <= 16 MiB) and general.architecture (string). */
static tdiff_status read_general(tdiff_model *m)
{
    tdiff__env *env = &m->env;
    m->alignment = TDIFF__GGUF_DEFAULT_ALIGNMENT;
    const tdiff__meta *e = tdiff__meta_find(m, "general.alignment");
    if (e) {
        size_t at = (size_t)(e->data - m->base);
        if (e->type != TDIFF_META_U32)
            return tdiff__fail(env, TDIFF_E_BAD_FORMAT, "offset %zu: general.alignment: type %s, expected u32", at,
                               meta_type_name(e->type));
        uint32_t a = (uint32_t)tdiff__le_u64(e->data, 4);
        if (a == 0 || (a & (a - 1)) || a > TDIFF__GGUF_MAX_ALIGNMENT)
            return tdiff__fail(env, TDIFF_E_BAD_FORMAT,
                               "offset %zu: general.alignment: %u is not a power of two in [1, %u]", at, a,
                               TDIFF__GGUF_MAX_ALIGNMENT);
        m->alignment = a;
    }
    const char *arch = "";
    size_t alen = 0;
    e = tdiff__meta_find(m, "general.architecture");
    if (e) {
        size_t at = (size_t)(e->data - m->base);
        if (e->type != TDIFF_META_STRING)
            return tdiff__fail(env, TDIFF_E_BAD_FORMAT, "offset %zu: general.architecture: type %s, expected string",
                               at, meta_type_name(e->type));
        tdiff__meta_get_str(m, "general.architecture", &arch, &alen);
        if (memchr(arch, 0, alen))
            return tdiff__fail(env, TDIFF_E_BAD_FORMAT, "offset %zu: general.architecture contains a NUL byte", at);
    }
    m->arch_name = tdiff__strndup(env, arch, alen);
    if (!m->arch_name)
        return tdiff__fail(env, TDIFF_E_OUT_OF_MEMORY, "no memory for the architecture name");
    return TDIFF_OK;
}

/* One tensor info: name, shape, type, offset; sizes computed with checks. */
static tdiff_status read_tensor_info(tdiff_model *m, tdiff__cursor *c, size_t i, tdiff__tensor *t)
{
    tdiff__env *env = &m->env;
    size_t at = c->pos;
    tdiff_status st = read_str(c, "tensor name", 0, &t->name, &t->name_len);
    if (st != TDIFF_OK)
        return st;
    if (t->name_len == 0 || t->name_len > TDIFF__GGUF_MAX_NAME_LEN)
        return tdiff__fail(env, TDIFF_E_BAD_FORMAT, "offset %zu: tensor #%zu: name length %zu is not in [1, %u]", at, i,
                           t->name_len, TDIFF__GGUF_MAX_NAME_LEN);
    if (memchr(t->name, 0, t->name_len))
        return tdiff__fail(env, TDIFF_E_BAD_FORMAT, "offset %zu: tensor #%zu: name contains a NUL byte", at, i);
    int nl = (int)t->name_len;
    at = c->pos;
    if ((st = tdiff__cur_u32(c, "tensor n_dims", &t->n_dims)) != TDIFF_OK)
        return st;
    if (t->n_dims > TDIFF__GGUF_MAX_DIMS)
        return tdiff__fail(env, TDIFF_E_BAD_FORMAT, "offset %zu: tensor '%.*s': n_dims %u exceeds %u", at, nl, t->name,
                           t->n_dims, TDIFF__GGUF_MAX_DIMS);
    uint64_t n_elems = 1, n_nonzero = 1; /* the product of the non-zero dims must fit too */
    for (uint32_t d = 0; d < 4; d++) {
        uint64_t ne = 1;
        at = c->pos;
        if (d < t->n_dims && (st = tdiff__cur_u64(c, "tensor dimension", &ne)) != TDIFF_OK)
            return st;
        /* ne is an int64 in the file: a set top bit is a negative dimension. */
        if (ne > (uint64_t)INT64_MAX || ne > (uint64_t)SIZE_MAX)
            return tdiff__fail(env, TDIFF_E_BAD_FORMAT, "offset %zu: tensor '%.*s': dimension %u is %lld", at, nl,
                               t->name, d, (long long)ne);
        if (ne && (!tdiff__mul_u64(n_nonzero, ne, &n_nonzero) || n_nonzero > (uint64_t)INT64_MAX ||
                   n_nonzero > (uint64_t)SIZE_MAX))
            return tdiff__fail(env, TDIFF_E_OVERFLOW,
                               "offset %zu: tensor '%.*s': element count overflows at dimension %u", at, nl, t->name, d);
        n_elems *= ne; /* n_elems <= n_nonzero: cannot overflow */
        t->ne[d] = (size_t)ne;
    }
    t->n_elems = (size_t)n_elems;
    at = c->pos;
    if ((st = tdiff__cur_u32(c, "tensor type", &t->type)) != TDIFF_OK)
        return st;
    size_t block, block_bytes;
    if (!tdiff__ggml_type_info(t->type, &block, &block_bytes))
        return tdiff__fail(env, TDIFF_E_UNSUPPORTED,
                           "offset %zu: tensor '%.*s': ggml type %u (%s) is not supported "
                           "(supported: F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K)",
                           at, nl, t->name, t->type, tdiff__ggml_type_name(t->type));
    if (t->ne[0] % block)
        return tdiff__fail(env, TDIFF_E_BAD_FORMAT,
                           "offset %zu: tensor '%.*s': first dimension %zu is not a multiple of the %s block size %zu",
                           at, nl, t->name, t->ne[0], tdiff__ggml_type_name(t->type), block);
    if (t->ne[0] / block > SIZE_MAX / block_bytes)
        return tdiff__fail(env, TDIFF_E_OVERFLOW, "offset %zu: tensor '%.*s': row size overflows", at, nl, t->name);
    t->row_bytes = t->ne[0] / block * block_bytes;
    t->n_rows = t->ne[0] ? t->n_elems / t->ne[0] : 0; /* empty tensors have no rows */
    if (!tdiff__mul_size(t->n_rows, t->row_bytes, &t->nbytes))
        return tdiff__fail(env, TDIFF_E_OVERFLOW, "offset %zu: tensor '%.*s': byte count overflows", at, nl, t->name);
    at = c->pos;
    if ((st = tdiff__cur_u64(c, "tensor offset", &t->offset)) != TDIFF_OK)
        return st;
    if (t->offset % m->alignment)
        return tdiff__fail(env, TDIFF_E_BAD_FORMAT,
                           "offset %zu: tensor '%.*s': data offset %llu is not a multiple of the alignment %zu", at, nl,
                           t->name, (unsigned long long)t->offset, m->alignment);
    return TDIFF_OK;
}

/* Places every tensor inside the data section: in order, non-overlapping, inside
 * the file, and aligned in memory for its element type. */
static tdiff_status place_tensors(tdiff_model *m, size_t info_end)
{
    tdiff__env *env = &m->env;
    size_t pad = (m->alignment - info_end % m->alignment) % m->alignment;
    if (!tdiff__add_size(info_end, pad, &m->data_offset) || (m->n_tensors && m->data_offset > m->size))
        return tdiff__fail(env, TDIFF_E_BAD_FORMAT, "offset %zu: data section: starts past the end of the file (%zu bytes)",
                           info_end, m->size);
    size_t data_len = m->n_tensors ? m->size - m->data_offset : 0;
    uint64_t prev_end = 0;
    const char *prev = NULL;
    int prev_len = 0;
    for (size_t i = 0; i < m->n_tensors; i++) {
        tdiff__tensor *t = &m->tensors[i];
        int nl = (int)t->name_len;
        uint64_t end;
        if (t->offset < prev_end)
            return tdiff__fail(env, TDIFF_E_BAD_FORMAT,
                               "offset %zu: tensor '%.*s': data at %llu overlaps or precedes tensor '%.*s' (ends at %llu)",
                               m->data_offset, nl, t->name, (unsigned long long)t->offset, prev_len, prev,
                               (unsigned long long)prev_end);
        if (!tdiff__add_u64(t->offset, t->nbytes, &end) || end > data_len)
            return tdiff__fail(env, TDIFF_E_BAD_FORMAT,
                               "offset %zu: tensor '%.*s': data [%llu, +%zu) lies outside the %zu-byte data section",
                               m->data_offset, nl, t->name, (unsigned long long)t->offset, t->nbytes, data_len);
        t->data = m->base + m->data_offset + (size_t)t->offset;
        size_t need = t->type == TDIFF__GGML_F32 ? 4 : 2; /* element or f16-scale alignment */
        if ((uintptr_t)t->data % need)
            return tdiff__fail(env, TDIFF_E_UNSUPPORTED,
                               "tensor '%.*s': data address is not %zu-byte aligned (align the buffer)", nl, t->name,
                               need);
        if (!tdiff__add_u64(m->n_params, t->n_elems, &m->n_params))
            return tdiff__fail(env, TDIFF_E_OVERFLOW, "parameter count overflows");
        prev_end = end;
        prev = t->name;
        prev_len = nl;
    }
    return TDIFF_OK;
}

static tdiff_status read_tensors(tdiff_model *m, tdiff__cursor *c, uint64_t n_tensors)
{
    tdiff__env *env = &m->env;
    if (n_tensors > tdiff__cur_left(c) / MIN_TENSOR_INFO_BYTES || n_tensors > TDIFF__GGUF_MAX_COUNT)
        return tdiff__fail(env, TDIFF_E_BAD_FORMAT,
                           "offset %zu: tensor count (header offset 8): %llu tensor infos cannot fit the %zu bytes left",
                           c->pos, (unsigned long long)n_tensors, tdiff__cur_left(c));
    m->n_tensors = (size_t)n_tensors;
    m->tensors = tdiff__calloc(env, m->n_tensors ? m->n_tensors : 1, sizeof *m->tensors);
    m->tensor_sorted = tdiff__calloc(env, m->n_tensors ? m->n_tensors : 1, sizeof *m->tensor_sorted);
    if (!m->tensors || !m->tensor_sorted)
        return tdiff__fail(env, TDIFF_E_OUT_OF_MEMORY, "no memory for %zu tensor infos", m->n_tensors);
    for (size_t i = 0; i < m->n_tensors; i++) {
        tdiff_status st = read_tensor_info(m, c, i, &m->tensors[i]);
        if (st != TDIFF_OK)
            return st;
        m->tensor_sorted[i] = &m->tensors[i];
    }
    qsort(m->tensor_sorted, m->n_tensors, sizeof *m->tensor_sorted, cmp_tensor);
    for (size_t i = 1; i < m->n_tensors; i++) {
        const tdiff__tensor *a = m->tensor_sorted[i - 1], *b = m->tensor_sorted[i];
        if (!cmp_names(a->name, a->name_len, b->name, b->name_len))
            return tdiff__fail(env, TDIFF_E_BAD_FORMAT, "offset %zu: tensor name '%.*s' appears twice",
                               (size_t)((const uint8_t *)b->name - m->base) - 8, (int)b->name_len, b->name);
    }
    return place_tensors(m, c->pos);
}

static tdiff_status read_header(tdiff_model *m, tdiff__cursor *c, uint64_t *n_tensors, uint64_t *n_kv)
{
    tdiff__env *env = &m->env;
    const uint8_t *magic = NULL;
    tdiff_status st = tdiff__cur_take(c, 4, "magic", &magic);
    if (st != TDIFF_OK)
        return st;
    if (!memcmp(magic, "FUGG", 4))
        return tdiff__fail(env, TDIFF_E_UNSUPPORTED, "offset 0: magic: byte-swapped (big-endian) GGUF is not supported");
    if (memcmp(magic, "GGUF", 4))
        return tdiff__fail(env, TDIFF_E_BAD_FORMAT, "offset 0: magic: not a GGUF file (expected \"GGUF\")");
    if ((st = tdiff__cur_u32(c, "version", &m->version)) != TDIFF_OK)
        return st;
    uint32_t v = m->version;
    uint32_t swapped = (v >> 24) | ((v >> 8) & 0xff00u) | ((v << 8) & 0xff0000u) | (v << 24);
    if (v != 2 && v != 3) {
        if (swapped >= 1 && swapped <= 3)
            return tdiff__fail(env, TDIFF_E_UNSUPPORTED,
                               "offset 4: version: byte-swapped (big-endian) GGUF v%u is not supported", swapped);
        return tdiff__fail(env, v == 0 ? TDIFF_E_BAD_FORMAT : TDIFF_E_UNSUPPORTED,
                           "offset 4: version: GGUF version %u is not supported (2 and 3 are)", v);
    }
    if ((st = tdiff__cur_u64(c, "tensor count", n_tensors)) != TDIFF_OK)
        return st;
    return tdiff__cur_u64(c, "metadata count", n_kv);
}

tdiff_status tdiff__gguf_parse(tdiff_model *m)
{
    tdiff__cursor c = {m->base, m->size, 0, &m->env};
    uint64_t n_tensors = 0, n_kv = 0;
    tdiff_status st = read_header(m, &c, &n_tensors, &n_kv);
    if (st == TDIFF_OK)
        st = read_metadata(m, &c, n_kv);
    if (st == TDIFF_OK)
        st = read_general(m);
    if (st == TDIFF_OK)
        st = read_tensors(m, &c, n_tensors);
    return st;
}

void tdiff__gguf_release(tdiff_model *m)
{
    for (size_t i = 0; m->meta && i < m->n_meta; i++)
        tdiff__free(&m->env, (void *)m->meta[i].str_offs);
    tdiff__free(&m->env, m->meta);
    tdiff__free(&m->env, m->meta_sorted);
    tdiff__free(&m->env, m->tensors);
    tdiff__free(&m->env, m->tensor_sorted);
    tdiff__free(&m->env, m->arch_name);
    m->meta = NULL;
    m->meta_sorted = NULL;
    m->tensors = NULL;
    m->tensor_sorted = NULL;
    m->arch_name = NULL;
}
