/*
 * graph.c -- what the graph-based samplers (D3PM, SEDD) share: the prior x_T of
 * their transition (the mask for the absorbing graph, uniform tokens for the
 * uniform one) and drawing a token from a next-state distribution restricted to
 * the tokens the sampler may produce.
 */
#include <math.h>

#include "core/rng.h"
#include "sampler.h"

tdiff_status tdiff__graph_prior(tdiff__run *r, size_t *na, bool *absorbing)
{
    tdiff_sampler *s = r->s;
    const size_t V = s->n_vocab;
    /* A masked state stays masked with probability 1 under Q̄_T only for the
     * absorbing kind (uniform keeps it with ᾱ_T + (1 − ᾱ_T)/V < 1). */
    const size_t T = tdiff_transition_n_steps(s->transition);
    float *row = tdiff__calloc(&s->env, V, sizeof *row);
    if (!row)
        return tdiff__fail(&s->env, TDIFF_E_OUT_OF_MEMORY, "graph prior: out of memory");
    tdiff_status st = tdiff_transition_rows(s->transition, T, 1, &s->mask_id, 1, row);
    *absorbing = row[s->mask_id] == 1.0f;
    tdiff__free(&s->env, row);
    if (st)
        return tdiff__fail(&s->env, st, "transition: %s", tdiff_transition_last_error(s->transition));
    *na = tdiff__collect_masked(r, r->region_start, r->n);
    if (*absorbing)
        return TDIFF_OK;
    size_t allowed = 0;
    for (size_t v = 0; v < V; v++)
        allowed += tdiff__allowed(s, v);
    for (size_t j = 0; j < *na; j++) {
        size_t k = (size_t)(tdiff__rng_uniform_double(r->seed, 0, r->pos[j], TDIFF__DRAW_INIT) * (double)allowed);
        for (size_t v = 0; v < V; v++)
            if (tdiff__allowed(s, v) && k-- == 0) {
                r->x[r->pos[j]] = (int32_t)v;
                break;
            }
    }
    return TDIFF_OK;
}

tdiff_status tdiff__graph_sample(tdiff__run *r, const float *w, uint32_t pos, bool keep_mask, int32_t *tok)
{
    tdiff_sampler *s = r->s;
    const size_t V = s->n_vocab;
    double *p = r->row;
    for (size_t v = 0; v < V; v++) {
        bool ok = tdiff__allowed(s, v) || (keep_mask && (int32_t)v == s->mask_id);
        p[v] = ok && w[v] > 0.0f ? (double)w[v] : 0.0; /* the steps' approximations may leave tiny negatives */
    }
    size_t v = tdiff__rng_categorical(p, V, tdiff__rng_uniform_double(r->seed, (uint32_t)r->step, pos,
                                                                      TDIFF__DRAW_SAMPLE));
    if (v == V)
        return tdiff__bad_row(r, pos);
    *tok = (int32_t)v;
    return TDIFF_OK;
}
