/* rng.c -- Philox4x32-10 and the draws built on it (algorithms.md section 8). */
#include <math.h>

#include "core.h"
#include "rng.h"

/* Multipliers and Weyl key increments from Salmon et al. 2011, table 2. */
#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

void tdiff_philox4x32(const uint32_t counter[4], const uint32_t key[2], uint32_t out[4])
{
    if (!counter || !key || !out)
        return;
    uint32_t c0 = counter[0], c1 = counter[1], c2 = counter[2], c3 = counter[3];
    uint32_t k0 = key[0], k1 = key[1];
    for (int round = 0; round < 10; round++) {
        uint64_t p0 = (uint64_t)PHILOX_M0 * c0;
        uint64_t p1 = (uint64_t)PHILOX_M1 * c2;
        uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0;
        uint32_t hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
        c0 = hi1 ^ c1 ^ k0;
        c1 = lo1;
        c2 = hi0 ^ c3 ^ k1;
        c3 = lo0;
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    out[0] = c0;
    out[1] = c1;
    out[2] = c2;
    out[3] = c3;
}

void tdiff__rng_words(uint64_t seed, uint32_t step, uint32_t position, uint32_t draw, uint32_t out[4])
{
    const uint32_t ctr[4] = {step, position, draw, 0};
    const uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    tdiff_philox4x32(ctr, key, out);
}

static double words_to_double(uint32_t a, uint32_t b)
{
    /* 27 + 26 = 53 bits, then +0.5 ulp: the result lies strictly inside (0,1). */
    uint64_t bits = ((uint64_t)(a >> 5) << 26) | (uint64_t)(b >> 6);
    return ((double)bits + 0.5) * 0x1.0p-53;
}

double tdiff__rng_uniform_double(uint64_t seed, uint32_t step, uint32_t position, uint32_t draw)
{
    uint32_t w[4];
    tdiff__rng_words(seed, step, position, draw, w);
    return words_to_double(w[0], w[1]);
}

double tdiff_rng_uniform(uint64_t seed, uint32_t step, uint32_t position, uint32_t draw)
{
    return tdiff__rng_uniform_double(seed, step, position, draw);
}

float tdiff__rng_uniform_float(uint64_t seed, uint32_t step, uint32_t position, uint32_t draw)
{
    uint32_t w[4];
    tdiff__rng_words(seed, step, position, draw, w);
    return ((float)(w[0] >> 8) + 0.5f) * 0x1.0p-24f;
}

double tdiff__rng_gumbel(uint64_t seed, uint32_t step, uint32_t position, uint32_t draw)
{
    return -log(-log(tdiff__rng_uniform_double(seed, step, position, draw)));
}

double tdiff__rng_normal(uint64_t seed, uint32_t step, uint32_t position, uint32_t draw)
{
    uint32_t w[4];
    tdiff__rng_words(seed, step, position, draw, w);
    double u1 = words_to_double(w[0], w[1]);
    double u2 = words_to_double(w[2], w[3]);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * 3.14159265358979323846 * u2);
}

size_t tdiff__rng_categorical(const double *w, size_t n, double u)
{
    double total = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (!(w[i] >= 0.0) || isinf(w[i]))
            return n;
        total += w[i];
    }
    if (!(total > 0.0) || !isfinite(total))
        return n;
    const double target = u * total;
    double acc = 0.0;
    size_t last = n;
    for (size_t i = 0; i < n; i++) {
        if (w[i] <= 0.0)
            continue;
        acc += w[i];
        last = i;
        if (target < acc)
            return i;
    }
    return last; /* rounding left the target at the very top: the last non-zero weight */
}
