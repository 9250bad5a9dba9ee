/* synthetic.c -- the deterministic test denoiser (see synthetic.h). */
#include "synthetic.h"

#include "core/rng.h"

#define TABLE_SEED 0x5EEDu
#define TABLE_ROWS 64

static float table_a(size_t row, size_t v)
{
    return (float)(8.0 * (tdiff__rng_uniform_double(TABLE_SEED, 1, (uint32_t)row, (uint32_t)v) - 0.5));
}

static float table_b(size_t tok, size_t v)
{
    return (float)(4.0 * (tdiff__rng_uniform_double(TABLE_SEED, 2, (uint32_t)tok, (uint32_t)v) - 0.5));
}

int syn_logits(void *user_data, const int32_t *tokens, size_t n, float t, const uint32_t *positions,
               size_t n_positions, float *logits)
{
    (void)t;
    if (user_data)
        ++*(long *)user_data;
    for (size_t k = 0; k < n_positions; k++) {
        size_t p = positions[k];
        int32_t left = tokens[(p + n - 1) % n];
        for (size_t v = 0; v < SYN_V; v++)
            logits[k * SYN_V + v] = table_a(p % TABLE_ROWS, v) + table_b((size_t)left, v);
    }
    return 0;
}
