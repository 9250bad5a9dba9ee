/*
 * cursor.h -- the one bounds-checked reader over (base, len) that every byte of
 * a GGUF file goes through, whether the bytes are an mmap or a caller's buffer.
 *
 * Every read checks the bytes left first; a failed read records
 * "offset N: <field>: truncated (need K bytes, M left)" in the env and returns
 * TDIFF_E_BAD_FORMAT. Values are little-endian and may be unaligned, so they are
 * assembled byte by byte (no casts of file pointers).
 */
#ifndef TDIFF_MODEL_CURSOR_H
#define TDIFF_MODEL_CURSOR_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/core.h"

typedef struct tdiff__cursor {
    const uint8_t *base;
    size_t len;
    size_t pos;
    tdiff__env *env;
} tdiff__cursor;

static inline size_t tdiff__cur_left(const tdiff__cursor *c)
{
    return c->len - c->pos;
}

/* Advances over n bytes, giving a pointer to them. `field` names what is read. */
static inline tdiff_status tdiff__cur_take(tdiff__cursor *c, size_t n, const char *field, const uint8_t **out)
{
    if (n > tdiff__cur_left(c))
        return tdiff__fail(c->env, TDIFF_E_BAD_FORMAT, "offset %zu: %s: truncated (need %zu bytes, %zu left)",
                           c->pos, field, n, tdiff__cur_left(c));
    *out = c->base + c->pos;
    c->pos += n;
    return TDIFF_OK;
}

static inline uint64_t tdiff__le_u64(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = n; i-- > 0;)
        v = (v << 8) | p[i];
    return v;
}

static inline tdiff_status tdiff__cur_u8(tdiff__cursor *c, const char *field, uint8_t *out)
{
    const uint8_t *p = NULL;
    tdiff_status st = tdiff__cur_take(c, 1, field, &p);
    if (st == TDIFF_OK)
        *out = p[0];
    return st;
}

static inline tdiff_status tdiff__cur_u32(tdiff__cursor *c, const char *field, uint32_t *out)
{
    const uint8_t *p = NULL;
    tdiff_status st = tdiff__cur_take(c, 4, field, &p);
    if (st == TDIFF_OK)
        *out = (uint32_t)tdiff__le_u64(p, 4);
    return st;
}

static inline tdiff_status tdiff__cur_u64(tdiff__cursor *c, const char *field, uint64_t *out)
{
    const uint8_t *p = NULL;
    tdiff_status st = tdiff__cur_take(c, 8, field, &p);
    if (st == TDIFF_OK)
        *out = tdiff__le_u64(p, 8);
    return st;
}

#endif
