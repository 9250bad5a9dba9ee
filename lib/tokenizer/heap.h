/*
 * heap.h -- a typed binary min-heap, generated once per element type the merge
 * loops need (BPE pairs by rank, SentencePiece bigrams by score): the sift code
 * exists once and the comparison stays inlined. BEFORE(a, b) is true when *a
 * must come out before *b; ties must be broken inside BEFORE (e.g. by position)
 * so the merge order is deterministic.
 */
#ifndef TDIFF_TOKENIZER_HEAP_H
#define TDIFF_TOKENIZER_HEAP_H

#include <stddef.h>

#include "core/core.h"

#define TDIFF__HEAP_DEFINE(NAME, TYPE, BEFORE)                                                    \
    typedef struct NAME {                                                                        \
        TYPE *a;                                                                                 \
        size_t n, cap;                                                                           \
    } NAME;                                                                                      \
                                                                                                 \
    static tdiff_status NAME##_push(NAME *h, const tdiff__env *env, TYPE x)                      \
    {                                                                                            \
        if (h->n == h->cap) {                                                                    \
            size_t cap = h->cap ? h->cap * 2 : 64, bytes;                                        \
            if (!tdiff__mul_size(cap, sizeof(TYPE), &bytes))                                     \
                return TDIFF_E_OVERFLOW;                                                         \
            TYPE *grown = tdiff__realloc(env, h->a, bytes);                                      \
            if (!grown)                                                                          \
                return TDIFF_E_OUT_OF_MEMORY;                                                    \
            h->a = grown;                                                                        \
            h->cap = cap;                                                                        \
        }                                                                                        \
        size_t i = h->n++;                                                                       \
        while (i > 0 && BEFORE(&x, &h->a[(i - 1) / 2])) {                                        \
            h->a[i] = h->a[(i - 1) / 2];                                                         \
            i = (i - 1) / 2;                                                                     \
        }                                                                                        \
        h->a[i] = x;                                                                             \
        return TDIFF_OK;                                                                         \
    }                                                                                            \
                                                                                                 \
    /* Removes and returns the first element; h->n must be > 0. */                               \
    static TYPE NAME##_pop(NAME *h)                                                              \
    {                                                                                            \
        TYPE top = h->a[0], last = h->a[--h->n];                                                 \
        size_t i = 0, n = h->n;                                                                  \
        for (;;) {                                                                               \
            size_t c = 2 * i + 1;                                                                \
            if (c >= n)                                                                          \
                break;                                                                           \
            if (c + 1 < n && BEFORE(&h->a[c + 1], &h->a[c]))                                     \
                c++;                                                                             \
            if (!BEFORE(&h->a[c], &last))                                                        \
                break;                                                                           \
            h->a[i] = h->a[c];                                                                   \
            i = c;                                                                               \
        }                                                                                        \
        if (n)                                                                                   \
            h->a[i] = last;                                                                      \
        return top;                                                                              \
    }

#endif
