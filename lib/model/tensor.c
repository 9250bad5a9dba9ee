/*
 * tensor.c -- tensor types (block geometry, names), lookup by name, shape
 * checks for architecture validation, and row dequantisation to F32 through
 * the SIMD kernel table.
 */
#include <stdio.h>
#include <string.h>

#include "model.h"

bool tdiff__ggml_type_info(uint32_t type, size_t *block, size_t *block_bytes)
{
    switch (type) {
    case TDIFF__GGML_F32: *block = 1; *block_bytes = 4; return true;
    case TDIFF__GGML_F16: *block = 1; *block_bytes = 2; return true;
    case TDIFF__GGML_BF16: *block = 1; *block_bytes = 2; return true;
    case TDIFF__GGML_Q8_0: *block = 32; *block_bytes = 34; return true; /* f16 d + 32 x int8 */
    case TDIFF__GGML_Q4_0: *block = 32; *block_bytes = 18; return true; /* f16 d + 16 bytes of nibbles */
    case TDIFF__GGML_Q4_K: *block = 256; *block_bytes = 144; return true; /* simd/blocks.h */
    case TDIFF__GGML_Q5_K: *block = 256; *block_bytes = 176; return true;
    case TDIFF__GGML_Q6_K: *block = 256; *block_bytes = 210; return true;
    default: return false;
    }
}

const char *tdiff__ggml_type_name(uint32_t type)
{
    /* ggml's names, so an error about an unsupported type says which one it is. */
    static const char *const names[] = {
        "F32", "F16", "Q4_0", "Q4_1", "Q4_2 (removed)", "Q4_3 (removed)", "Q5_0", "Q5_1", "Q8_0", "Q8_1",
        "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q8_K", "IQ2_XXS", "IQ2_XS", "IQ3_XXS", "IQ1_S",
        "IQ4_NL", "IQ3_S", "IQ2_S", "IQ4_XS", "I8", "I16", "I32", "I64", "F64", "IQ1_M",
        "BF16", "Q4_0_4_4 (removed)", "Q4_0_4_8 (removed)", "Q4_0_8_8 (removed)", "TQ1_0", "TQ2_0",
        "IQ4_NL_4_4 (removed)", "IQ4_NL_4_8 (removed)", "IQ4_NL_8_8 (removed)", "MXFP4"};
    return type < sizeof names / sizeof names[0] ? names[type] : "unknown";
}

static int cmp_name(const char *a, size_t al, const char *b, size_t bl)
{
    if (al != bl)
        return al < bl ? -1 : 1;
    return memcmp(a, b, al);
}

const tdiff__tensor *tdiff__tensor_find(const tdiff_model *m, const char *name)
{
    if (!m || !name)
        return NULL;
    size_t len = strlen(name), lo = 0, hi = m->n_tensors;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const tdiff__tensor *t = m->tensor_sorted[mid];
        int r = cmp_name(t->name, t->name_len, name, len);
        if (r == 0)
            return t;
        if (r < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static void shape_str(char *buf, size_t cap, uint32_t n_dims, const size_t ne[4])
{
    size_t used = 0;
    buf[0] = '\0';
    for (uint32_t d = 0; d < n_dims && used < cap; d++) {
        int w = snprintf(buf + used, cap - used, d ? " x %zu" : "%zu", ne[d]);
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

tdiff_status tdiff__tensor_expect(const tdiff_model *m, tdiff__env *env, const char *name, bool required,
                                  uint32_t n_dims, const size_t ne[4], const tdiff__tensor **out)
{
    const tdiff__tensor *t = tdiff__tensor_find(m, name);
    *out = NULL;
    char want[96], got[96];
    shape_str(want, sizeof want, n_dims, ne);
    if (!t) {
        if (!required)
            return TDIFF_OK;
        return tdiff__fail(env, TDIFF_E_BAD_FORMAT, "tensor '%s' (%s) is missing", name, want);
    }
    bool ok = true;
    for (uint32_t d = 0; d < 4; d++)
        ok = ok && t->ne[d] == (d < n_dims ? ne[d] : 1);
    if (!ok) {
        shape_str(got, sizeof got, t->n_dims, t->ne);
        return tdiff__fail(env, TDIFF_E_BAD_FORMAT, "tensor '%s': shape %s, expected %s", name, got, want);
    }
    *out = t;
    return TDIFF_OK;
}

/* n elements of t starting at element `first` (a multiple of the block size) into y. */
static void convert(const tdiff__kernels *k, const tdiff__tensor *t, size_t first, size_t n, float *y)
{
    const uint8_t *src = t->data;
    switch (t->type) {
    case TDIFF__GGML_F32: memcpy(y, src + first * 4, n * sizeof *y); break;
    case TDIFF__GGML_F16: k->f16_to_f32(y, (const uint16_t *)(const void *)(src + first * 2), n); break;
    case TDIFF__GGML_BF16: k->bf16_to_f32(y, (const uint16_t *)(const void *)(src + first * 2), n); break;
    case TDIFF__GGML_Q8_0: k->dequant_q8_0(y, src + first / 32 * 34, n); break;
    case TDIFF__GGML_Q4_0: k->dequant_q4_0(y, src + first / 32 * 18, n); break;
    case TDIFF__GGML_Q4_K: k->dequant_q4_k(y, src + first / 256 * 144, n); break;
    case TDIFF__GGML_Q5_K: k->dequant_q5_k(y, src + first / 256 * 176, n); break;
    case TDIFF__GGML_Q6_K: k->dequant_q6_k(y, src + first / 256 * 210, n); break;
    default: break; /* unreachable: the loader admits only the types above */
    }
}

tdiff_status tdiff__tensor_rows_to_f32(const tdiff__kernels *k, const tdiff__tensor *t, size_t first_row,
                                       size_t n_rows, float *out)
{
    if (!k || !t || (!out && n_rows) || first_row > t->n_rows || n_rows > t->n_rows - first_row)
        return TDIFF_E_INVALID_ARGUMENT;
    /* first_row * ne[0] <= n_elems: fits size_t (checked at load). Rows are whole blocks. */
    if (n_rows)
        convert(k, t, first_row * t->ne[0], n_rows * t->ne[0], out);
    return TDIFF_OK;
}

tdiff_status tdiff__tensor_row_to_f32(const tdiff__kernels *k, const tdiff__tensor *t, size_t row, float *out)
{
    return tdiff__tensor_rows_to_f32(k, t, row, 1, out);
}
