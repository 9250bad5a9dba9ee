/*
 * meta.c -- metadata lookup by key and the typed getters. Values are read from
 * the map byte by byte (little-endian, possibly unaligned). Pure functions of
 * an immutable model: thread-safe, no error text.
 */
#include <math.h>
#include <string.h>

#include "cursor.h"
#include "model.h"

const tdiff__meta *tdiff__meta_find(const tdiff_model *m, const char *key)
{
    if (!m || !key)
        return NULL;
    size_t len = strlen(key), lo = 0, hi = m->n_meta;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const tdiff__meta *e = m->meta_sorted[mid];
        int r = e->key_len != len ? (e->key_len < len ? -1 : 1) : memcmp(e->key, key, len);
        if (r == 0)
            return e;
        if (r < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const char *tdiff__model_arch(const tdiff_model *m)
{
    return m && m->arch_name ? m->arch_name : "";
}

/* ---- one value of a given type at p: the integer / float readers ---- */

static bool is_int_type(uint32_t t)
{
    return t <= TDIFF_META_I32 || t == TDIFF_META_U64 || t == TDIFF_META_I64;
}

/* Reads an integer value as (negative?, magnitude) so every range check is exact. */
static void read_int(uint32_t t, const uint8_t *p, bool *neg, uint64_t *mag)
{
    uint64_t u;
    int64_t s;
    *neg = false;
    switch (t) {
    case TDIFF_META_U8: *mag = p[0]; return;
    case TDIFF_META_U16: *mag = tdiff__le_u64(p, 2); return;
    case TDIFF_META_U32: *mag = tdiff__le_u64(p, 4); return;
    case TDIFF_META_U64: *mag = tdiff__le_u64(p, 8); return;
    case TDIFF_META_I8: s = (int8_t)p[0]; break;
    case TDIFF_META_I16: s = (int16_t)(uint16_t)tdiff__le_u64(p, 2); break;
    case TDIFF_META_I32: s = (int32_t)(uint32_t)tdiff__le_u64(p, 4); break;
    default: u = tdiff__le_u64(p, 8); memcpy(&s, &u, sizeof s); break; /* I64 */
    }
    *neg = s < 0;
    *mag = s < 0 ? (uint64_t)0 - (uint64_t)s : (uint64_t)s;
}

static size_t elem_size(uint32_t t)
{
    switch (t) {
    case TDIFF_META_U8: case TDIFF_META_I8: case TDIFF_META_BOOL: return 1;
    case TDIFF_META_U16: case TDIFF_META_I16: return 2;
    case TDIFF_META_U32: case TDIFF_META_I32: case TDIFF_META_F32: return 4;
    default: return 8;
    }
}

static tdiff_status int_to_i32(uint32_t t, const uint8_t *p, int32_t *out)
{
    if (!is_int_type(t))
        return TDIFF_E_TYPE_MISMATCH;
    bool neg;
    uint64_t mag;
    read_int(t, p, &neg, &mag);
    if (neg ? mag > (uint64_t)INT32_MAX + 1 : mag > (uint64_t)INT32_MAX)
        return TDIFF_E_OVERFLOW;
    *out = neg ? (int32_t)(-(int64_t)mag) : (int32_t)mag;
    return TDIFF_OK;
}

static tdiff_status float_at(uint32_t t, const uint8_t *p, float *out)
{
    if (t == TDIFF_META_F32) {
        uint32_t u = (uint32_t)tdiff__le_u64(p, 4);
        memcpy(out, &u, sizeof *out);
        return TDIFF_OK;
    }
    if (t == TDIFF_META_F64) {
        uint64_t u = tdiff__le_u64(p, 8);
        double d;
        memcpy(&d, &u, sizeof d);
        *out = (float)d; /* out-of-range doubles become +-inf, NaN stays NaN */
        return TDIFF_OK;
    }
    return TDIFF_E_TYPE_MISMATCH;
}

/* ---- scalar getters ---- */

static tdiff_status scalar(const tdiff_model *m, const char *key, const tdiff__meta **e)
{
    if (!m || !key)
        return TDIFF_E_INVALID_ARGUMENT;
    *e = tdiff__meta_find(m, key);
    if (!*e)
        return TDIFF_E_NOT_FOUND;
    return (*e)->type == TDIFF_META_ARRAY ? TDIFF_E_TYPE_MISMATCH : TDIFF_OK;
}

tdiff_status tdiff__meta_get_u64(const tdiff_model *m, const char *key, uint64_t *out)
{
    const tdiff__meta *e;
    tdiff_status st = scalar(m, key, &e);
    if (st != TDIFF_OK)
        return st;
    if (!is_int_type(e->type))
        return TDIFF_E_TYPE_MISMATCH;
    bool neg;
    uint64_t mag;
    read_int(e->type, e->data, &neg, &mag);
    if (neg && mag)
        return TDIFF_E_OVERFLOW;
    *out = mag;
    return TDIFF_OK;
}

tdiff_status tdiff__meta_get_u32(const tdiff_model *m, const char *key, uint32_t *out)
{
    uint64_t v;
    tdiff_status st = tdiff__meta_get_u64(m, key, &v);
    if (st != TDIFF_OK)
        return st;
    if (v > UINT32_MAX)
        return TDIFF_E_OVERFLOW;
    *out = (uint32_t)v;
    return TDIFF_OK;
}

tdiff_status tdiff__meta_get_i32(const tdiff_model *m, const char *key, int32_t *out)
{
    const tdiff__meta *e;
    tdiff_status st = scalar(m, key, &e);
    return st != TDIFF_OK ? st : int_to_i32(e->type, e->data, out);
}

tdiff_status tdiff__meta_get_f32(const tdiff_model *m, const char *key, float *out)
{
    const tdiff__meta *e;
    tdiff_status st = scalar(m, key, &e);
    return st != TDIFF_OK ? st : float_at(e->type, e->data, out);
}

tdiff_status tdiff__meta_get_bool(const tdiff_model *m, const char *key, bool *out)
{
    const tdiff__meta *e;
    tdiff_status st = scalar(m, key, &e);
    if (st != TDIFF_OK)
        return st;
    if (e->type != TDIFF_META_BOOL)
        return TDIFF_E_TYPE_MISMATCH;
    *out = e->data[0] != 0;
    return TDIFF_OK;
}

tdiff_status tdiff__meta_get_str(const tdiff_model *m, const char *key, const char **s, size_t *len)
{
    const tdiff__meta *e;
    tdiff_status st = scalar(m, key, &e);
    if (st != TDIFF_OK)
        return st;
    if (e->type != TDIFF_META_STRING)
        return TDIFF_E_TYPE_MISMATCH;
    *len = (size_t)tdiff__le_u64(e->data, 8); /* checked against the file at load */
    *s = (const char *)e->data + 8;
    return TDIFF_OK;
}

/* ---- arrays ---- */

tdiff_status tdiff__meta_arr_str(const tdiff__meta *e, size_t i, const char **s, size_t *len)
{
    if (!e)
        return TDIFF_E_INVALID_ARGUMENT;
    if (e->type != TDIFF_META_ARRAY || e->elem_type != TDIFF_META_STRING)
        return TDIFF_E_TYPE_MISMATCH;
    if (i >= e->count)
        return TDIFF_E_INVALID_ARGUMENT;
    const uint8_t *p = e->data + e->str_offs[i];
    *len = (size_t)tdiff__le_u64(p, 8);
    *s = (const char *)p + 8;
    return TDIFF_OK;
}

tdiff_status tdiff__meta_arr_i32(const tdiff__meta *e, size_t i, int32_t *out)
{
    if (!e)
        return TDIFF_E_INVALID_ARGUMENT;
    if (e->type != TDIFF_META_ARRAY || !is_int_type(e->elem_type))
        return TDIFF_E_TYPE_MISMATCH;
    if (i >= e->count)
        return TDIFF_E_INVALID_ARGUMENT;
    return int_to_i32(e->elem_type, e->data + i * elem_size(e->elem_type), out);
}

tdiff_status tdiff__meta_arr_f32(const tdiff__meta *e, size_t i, float *out)
{
    if (!e)
        return TDIFF_E_INVALID_ARGUMENT;
    if (e->type != TDIFF_META_ARRAY ||
        (e->elem_type != TDIFF_META_F32 && e->elem_type != TDIFF_META_F64))
        return TDIFF_E_TYPE_MISMATCH;
    if (i >= e->count)
        return TDIFF_E_INVALID_ARGUMENT;
    return float_at(e->elem_type, e->data + i * elem_size(e->elem_type), out);
}

tdiff_status tdiff__meta_value_i64(const tdiff__meta *e, int64_t *out)
{
    if (!e)
        return TDIFF_E_INVALID_ARGUMENT;
    if (e->type == TDIFF_META_ARRAY || !is_int_type(e->type))
        return TDIFF_E_TYPE_MISMATCH;
    bool neg;
    uint64_t mag;
    read_int(e->type, e->data, &neg, &mag);
    if (neg ? mag > (uint64_t)INT64_MAX + 1 : mag > (uint64_t)INT64_MAX)
        return TDIFF_E_OVERFLOW;
    *out = neg ? (int64_t)(0 - mag) : (int64_t)mag;
    return TDIFF_OK;
}

tdiff_status tdiff__meta_value_f64(const tdiff__meta *e, double *out)
{
    if (!e)
        return TDIFF_E_INVALID_ARGUMENT;
    if (e->type == TDIFF_META_F64) {
        uint64_t u = tdiff__le_u64(e->data, 8);
        memcpy(out, &u, sizeof *out);
        return TDIFF_OK;
    }
    float f;
    tdiff_status st = e->type == TDIFF_META_F32 ? float_at(e->type, e->data, &f) : TDIFF_E_TYPE_MISMATCH;
    if (st == TDIFF_OK)
        *out = f;
    return st;
}
