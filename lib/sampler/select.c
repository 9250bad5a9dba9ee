/*
 * select.c -- which active positions a step commits: top-k by confidence,
 * sampled by confidence (Dream's alg_temp), and Fast-dLLM's threshold and
 * factor rules. Ties always go to the lowest position.
 */
#include <math.h>

#include "core/rng.h"
#include "sampler.h"

size_t tdiff__select_topk(const double *conf, size_t na, size_t k, uint32_t *sel, uint32_t *tmp)
{
    tdiff__sort_desc(conf, na, sel, tmp);
    return k < na ? k : na;
}

size_t tdiff__select_sampled(const double *conf, size_t na, size_t k, double alg_temp, uint64_t seed,
                             uint32_t step, double *w, uint32_t *sel)
{
    if (k > na)
        k = na;
    double mx = -INFINITY;
    for (size_t i = 0; i < na; i++)
        if (conf[i] / alg_temp > mx)
            mx = conf[i] / alg_temp;
    for (size_t i = 0; i < na; i++)
        w[i] = (mx == -INFINITY || conf[i] == -INFINITY) ? 0.0 : exp(conf[i] / alg_temp - mx);
    for (size_t j = 0; j < k; j++) {
        double u = tdiff__rng_uniform_double(seed, step, TDIFF__POS_GLOBAL, (uint32_t)j);
        size_t pick = tdiff__rng_categorical(w, na, u);
        if (pick == na) /* only zero weights remain: the lowest slot not yet taken */
            for (size_t i = 0; i < na && pick == na; i++) {
                bool taken = false;
                for (size_t q = 0; q < j; q++)
                    taken |= sel[q] == i;
                if (!taken)
                    pick = i;
            }
        sel[j] = (uint32_t)pick;
        w[pick] = 0.0;
    }
    return k;
}

size_t tdiff__select_threshold(const double *conf, size_t na, double threshold, uint32_t *sel, uint32_t *tmp)
{
    if (na == 0)
        return 0;
    tdiff__sort_desc(conf, na, sel, tmp);
    size_t m = 1;
    while (m < na && conf[sel[m]] >= threshold)
        m++;
    return m;
}

size_t tdiff__select_factor(const double *conf, size_t na, double factor, uint32_t *sel, uint32_t *tmp)
{
    if (na == 0)
        return 0;
    tdiff__sort_desc(conf, na, sel, tmp);
    size_t m = 1;
    while (m < na && conf[sel[m]] >= 1.0 - factor / (double)(m + 2))
        m++;
    return m;
}
