/*
 * generation.c -- the life of one generation: begin (lay out the canvas, check
 * the settings against the strategy, size the network), advance one step at a
 * time or to the end, read the canvas, cancel, take the result. The one-call
 * tdiff_sampler_generate / _infill are begin + steps to the end + result, so
 * both entry styles share every line of a run.
 *
 * A generation is plain data between calls (the run, the strategy's state):
 * no coroutine, no stack of its own, nothing thread-local. After every step
 * the after-step hook records history and statistics and calls the caller's
 * step callback. Inside that callback the sampler refuses every call that
 * would change it (TDIFF_E_STATE); tdiff_sampler_free is deferred until the
 * running call returns.
 */
#include <math.h>
#include <string.h>

#include "sampler.h"

enum { GEN_IDLE = 0, GEN_RUNNING = 1, GEN_DONE = 2 };

typedef struct tdiff__gen {
    tdiff__run r;
    const tdiff__strategy *strategy;
    void *state;               /* the strategy's state, strategy->state_size bytes */
    bool begun;                /* strategy->begin succeeded: finish is owed */
    int status;                /* GEN_RUNNING or GEN_DONE */
    bool infill;
    size_t out_start, out_len; /* generate: the generated region of the canvas */
    size_t steps;              /* steps completed */
    double active_s;           /* time spent inside begin/step calls */
} tdiff__gen;

/* ---- run buffers ------------------------------------------------------------------ */

static void run_free(tdiff__run *r)
{
    const tdiff__env *env = &r->s->env;
    void *bufs[] = {r->x, r->fixed, r->pos, r->row, r->row2, r->row3, r->order, r->order_tmp,
                    r->cand, r->conf, r->conf_out, r->sel, r->aux};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        tdiff__free(env, bufs[i]);
    tdiff__eval_free(r);
}

/* Allocates the run's buffers for a canvas of n tokens of which `rows` are masked:
 * no strategy asks the network about more positions than that. */
static tdiff_status run_alloc(tdiff__run *r, tdiff_sampler *s, size_t n, size_t rows)
{
    memset(r, 0, sizeof *r);
    r->s = s;
    r->n = n;
    r->seed = (uint64_t)tdiff__sp_int(s, TDIFF_SAMPLER_SEED);
    r->llamacpp = tdiff__sp_int(s, TDIFF_SAMPLER_COMPAT) == TDIFF_COMPAT_LLAMACPP;
    const size_t V = s->n_vocab, big = n > V ? n : V;
    tdiff__env *env = &s->env;
    r->x = tdiff__calloc(env, n, sizeof *r->x);
    r->fixed = tdiff__calloc(env, n, 1);
    r->pos = tdiff__calloc(env, n, sizeof *r->pos);
    r->row = tdiff__calloc(env, V, sizeof(double));
    r->row2 = tdiff__calloc(env, V, sizeof(double));
    r->row3 = tdiff__calloc(env, V, sizeof(double));
    r->order = tdiff__calloc(env, big, sizeof(uint32_t));
    r->order_tmp = tdiff__calloc(env, big, sizeof(uint32_t));
    r->cand = tdiff__calloc(env, n, sizeof *r->cand);
    r->conf = tdiff__calloc(env, n, sizeof *r->conf);
    r->conf_out = tdiff__calloc(env, n, sizeof *r->conf_out);
    r->sel = tdiff__calloc(env, n, sizeof *r->sel);
    r->aux = tdiff__calloc(env, n, sizeof *r->aux);
    if (!(r->x && r->fixed && r->pos && r->row && r->row2 && r->row3 && r->order && r->order_tmp && r->cand &&
          r->conf && r->conf_out && r->sel && r->aux)) {
        run_free(r);
        return tdiff__fail(env, TDIFF_E_OUT_OF_MEMORY, "sampler workspace for %zu positions: out of memory", n);
    }
    tdiff_status st = tdiff__eval_init(r, rows);
    if (st) {
        run_free(r);
        return st;
    }
    tdiff__clear_confidence(r);
    return TDIFF_OK;
}

static tdiff_status check_tokens(tdiff_sampler *s, const int32_t *t, size_t n, bool allow_mask, const char *what)
{
    for (size_t i = 0; i < n; i++) {
        if (t[i] < 0 || (size_t)t[i] >= s->n_vocab)
            return tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT, "%s token %zu = %d is outside [0, %zu)", what, i,
                               (int)t[i], s->n_vocab);
        if (!allow_mask && !s->no_mask && t[i] == s->mask_id)
            return tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT,
                               "%s token %zu is the mask token (holes to fill: tdiff_sampler_infill)", what, i);
    }
    return TDIFF_OK;
}

/* ---- begin ------------------------------------------------------------------------ */

static void gen_free(tdiff_sampler *s)
{
    tdiff__gen *g = s->gen;
    if (!g)
        return;
    if (g->begun && g->strategy->finish)
        g->strategy->finish(&g->r, g->state);
    run_free(&g->r);
    tdiff__free(&s->env, g->state);
    tdiff__free(&s->env, g);
    s->gen = NULL;
}

/* Checks that a canvas of n tokens fits the model. */
static tdiff_status check_context(tdiff_sampler *s, size_t n, size_t n_fixed_prefix, bool infill)
{
    const size_t n_ctx = tdiff__net_context_length(s);
    if (!n_ctx || n <= n_ctx)
        return TDIFF_OK;
    if (infill)
        return tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT,
                           "a canvas of %zu tokens exceeds the model's context length %zu", n, n_ctx);
    return tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT,
                       "prompt %zu + %zu new tokens exceed the model's context length %zu", n_fixed_prefix,
                       n - n_fixed_prefix, n_ctx);
}

/* Allocates the generation for a canvas of n with `rows` masked positions, checks
 * the settings, resets the statistics and prepares the network. The caller fills
 * the canvas, then calls gen_start. */
static tdiff_status gen_new(tdiff_sampler *s, size_t n, size_t rows)
{
    const double t0 = tdiff__clock_s();
    const tdiff__strategy *strategy = tdiff__strategy_find((int)tdiff__sp_int(s, TDIFF_SAMPLER_STRATEGY));
    if (!strategy)
        return tdiff__fail(&s->env, TDIFF_E_INTERNAL, "no strategy %d in the table",
                           (int)tdiff__sp_int(s, TDIFF_SAMPLER_STRATEGY));
    tdiff_status st = tdiff__strategy_check(s, strategy);
    if (st)
        return st;
    tdiff__gen *g = tdiff__calloc(&s->env, 1, sizeof *g);
    void *state = g ? tdiff__calloc(&s->env, 1, strategy->state_size ? strategy->state_size : 1) : NULL;
    if (!g || !state) {
        tdiff__free(&s->env, g);
        return tdiff__fail(&s->env, TDIFF_E_OUT_OF_MEMORY, "generation: out of memory");
    }
    if ((st = run_alloc(&g->r, s, n, rows))) {
        tdiff__free(&s->env, state);
        tdiff__free(&s->env, g);
        return st;
    }
    g->strategy = strategy;
    g->state = state;
    s->gen = g;
    s->stat_forward = s->stat_steps = s->stat_reused = s->stat_rows = s->stat_hits = 0;
    s->stat_forward_s = s->stat_total_s = 0.0;
    s->history_steps = 0;
    s->history_n = n;
    s->has_history = tdiff__sp_int(s, TDIFF_SAMPLER_KEEP_HISTORY) != 0;
    atomic_store(&s->interrupt, 0);
    if ((st = tdiff__net_prepare(s, n, (int)tdiff__sp_int(s, TDIFF_SAMPLER_N_THREADS)))) {
        gen_free(s);
        return st;
    }
    g->status = GEN_RUNNING;
    g->active_s = tdiff__clock_s() - t0;
    return TDIFF_OK;
}

/* Hands the laid-out canvas to the strategy. */
static tdiff_status gen_start(tdiff_sampler *s)
{
    tdiff__gen *g = s->gen;
    const double t0 = tdiff__clock_s();
    bool done = false;
    tdiff_status st = g->strategy->begin(&g->r, g->state, &done);
    g->begun = true; /* finish frees whatever begin allocated, also after a failure */
    if (st) {
        gen_free(s);
        return st;
    }
    if (done)
        g->status = GEN_DONE;
    g->active_s += tdiff__clock_s() - t0;
    s->stat_total_s = g->active_s;
    return TDIFF_OK;
}

/* Validates a generate() call and computes the canvas length. */
static tdiff_status plan_generate(tdiff_sampler *s, const int32_t *prompt, size_t n_prompt, size_t *n, size_t *gen)
{
    tdiff_status st = check_tokens(s, prompt, n_prompt, false, "prompt");
    if (st)
        return st;
    *gen = (size_t)tdiff__sp_int(s, TDIFF_SAMPLER_GEN_LENGTH);
    if (tdiff__sp_int(s, TDIFF_SAMPLER_COMPAT) == TDIFF_COMPAT_LLAMACPP) {
        if (*gen <= n_prompt)
            return tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT,
                               "compat llamacpp: gen_length is the whole canvas (%zu) and must be longer than the "
                               "prompt (%zu)", *gen, n_prompt);
        *n = *gen;
        *gen = *n - n_prompt;
    } else if (!tdiff__add_size(n_prompt, *gen, n)) {
        return tdiff__fail(&s->env, TDIFF_E_OVERFLOW, "prompt + gen_length overflows");
    }
    return check_context(s, *n, n_prompt, false);
}

tdiff_status tdiff_sampler_begin(tdiff_sampler *s, const int32_t *prompt, size_t n_prompt)
{
    if (!s)
        return TDIFF_E_INVALID_ARGUMENT;
    tdiff_status st = tdiff__sampler_check_idle(s, "begin");
    if (st)
        return st;
    if (!prompt && n_prompt)
        return tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT, "begin: NULL prompt with n_prompt = %zu", n_prompt);
    size_t n, gen;
    if ((st = plan_generate(s, prompt, n_prompt, &n, &gen)) || (st = gen_new(s, n, gen)))
        return st;
    tdiff__gen *g = s->gen;
    for (size_t i = 0; i < n; i++) {
        g->r.x[i] = i < n_prompt ? prompt[i] : s->mask_id;
        g->r.fixed[i] = i < n_prompt;
    }
    g->r.region_start = n_prompt;
    g->out_start = n_prompt;
    g->out_len = gen;
    return gen_start(s);
}

tdiff_status tdiff_sampler_begin_infill(tdiff_sampler *s, const int32_t *canvas, size_t n)
{
    if (!s)
        return TDIFF_E_INVALID_ARGUMENT;
    tdiff_status st = tdiff__sampler_check_idle(s, "begin_infill");
    if (st)
        return st;
    if (!canvas || n == 0)
        return tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT, "infill: NULL canvas or n = 0");
    if (s->no_mask)
        return tdiff__fail(&s->env, TDIFF_E_UNSUPPORTED,
                           "infill: the model is autoregressive (no mask token to mark the holes with)");
    if ((st = check_tokens(s, canvas, n, true, "canvas")))
        return st;
    size_t first = n, holes = 0;
    for (size_t i = 0; i < n; i++)
        if (canvas[i] == s->mask_id) {
            first = first < i ? first : i;
            holes++;
        }
    if (first == n)
        return tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT, "infill: the canvas has no mask token to fill");
    if ((st = check_context(s, n, 0, true)) || (st = gen_new(s, n, holes)))
        return st;
    tdiff__gen *g = s->gen;
    for (size_t i = 0; i < n; i++) {
        g->r.x[i] = canvas[i];
        g->r.fixed[i] = canvas[i] != s->mask_id;
    }
    g->r.region_start = first;
    g->infill = true;
    g->out_start = 0;
    g->out_len = n;
    return gen_start(s);
}

/* ---- stepping ------------------------------------------------------------------------ */

/* History, statistics and the caller's callback after a step that ran. */
static tdiff_status after_step(tdiff_sampler *s)
{
    tdiff__gen *g = s->gen;
    tdiff__run *r = &g->r;
    s->stat_steps++;
    g->steps++;
    if (s->has_history) {
        size_t need;
        if (!tdiff__mul_size(s->history_steps + 1, r->n, &need))
            return tdiff__fail(&s->env, TDIFF_E_OVERFLOW, "history too large");
        if (need > s->history_cap) {
            size_t cap = s->history_cap ? 2 * s->history_cap : 16 * r->n, bytes;
            if (cap < need)
                cap = need;
            if (!tdiff__mul_size(cap, sizeof(int32_t), &bytes))
                return tdiff__fail(&s->env, TDIFF_E_OVERFLOW, "history too large");
            int32_t *h = tdiff__realloc(&s->env, s->history, bytes);
            if (!h)
                return tdiff__fail(&s->env, TDIFF_E_OUT_OF_MEMORY, "history: out of memory");
            s->history = h;
            s->history_cap = cap;
        }
        memcpy(s->history + s->history_steps * r->n, r->x, r->n * sizeof(int32_t));
        s->history_steps++;
    }
    if (s->step_fn) {
        s->in_callback++;
        int stop = s->step_fn(s->step_ud, r->step, r->n_steps, r->x, r->n, r->conf_out);
        s->in_callback--;
        if (s->free_pending)
            return tdiff__fail(&s->env, TDIFF_E_ABORTED, "the sampler was freed by its step callback");
        if (stop)
            return tdiff__fail(&s->env, TDIFF_E_ABORTED, "aborted by the step callback at step %zu", r->step);
    }
    return TDIFF_OK;
}

/* Early stop (TDIFF_SAMPLER_EARLY_STOP): when every generated position before the
 * first committed EOS is decided, nothing the output holds can change any more
 * (commits are final in the strategies that allow it); the masks after that EOS
 * become EOS and the generation ends. True when it did. */
static bool early_stop(tdiff_sampler *s, tdiff__gen *g)
{
    tdiff__run *r = &g->r;
    if (g->infill || !tdiff__sp_int(s, TDIFF_SAMPLER_EARLY_STOP) || s->eos_id < 0)
        return false;
    for (size_t i = r->region_start; i < r->n; i++) {
        if (r->x[i] == s->mask_id)
            return false;
        if (r->x[i] == s->eos_id) {
            for (size_t j = i + 1; j < r->n; j++)
                if (r->x[j] == s->mask_id)
                    r->x[j] = s->eos_id;
            return true;
        }
    }
    return false;
}

/* Runs the next step of a RUNNING generation. On an error the generation ends. */
static tdiff_status gen_advance(tdiff_sampler *s)
{
    tdiff__gen *g = s->gen;
    const double t0 = tdiff__clock_s();
    bool stepped = false, done = false;
    tdiff_status st = TDIFF_OK;
    if (atomic_load(&s->interrupt))
        st = tdiff__fail(&s->env, TDIFF_E_ABORTED, "interrupted (tdiff_sampler_interrupt) at step %zu", g->r.step);
    if (!st)
        st = g->strategy->step(&g->r, g->state, &stepped, &done);
    if (!st && stepped && !done)
        done = early_stop(s, g);
    if (!st && stepped) {
        st = after_step(s);
        g->r.step++;
    }
    g->active_s += tdiff__clock_s() - t0;
    s->stat_total_s = g->active_s;
    if (st) {
        gen_free(s);
        return st;
    }
    if (done)
        g->status = GEN_DONE;
    return TDIFF_OK;
}

static void free_now(tdiff_sampler *s);

/* Ends a public call that ran steps: the free the callback asked for happens now. */
static tdiff_status finish_call(tdiff_sampler *s, tdiff_status st)
{
    if (s->free_pending) {
        free_now(s);
        return TDIFF_E_ABORTED;
    }
    return st;
}

tdiff_status tdiff_sampler_step(tdiff_sampler *s, int *done)
{
    return tdiff_sampler_step_for(s, 0, NULL, done);
}

tdiff_status tdiff_sampler_step_for(tdiff_sampler *s, uint64_t budget_us, size_t *n_taken, int *done)
{
    if (!s)
        return TDIFF_E_INVALID_ARGUMENT;
    if (n_taken)
        *n_taken = 0;
    if (done)
        *done = 0;
    tdiff_status st = tdiff__sampler_check_reentry(s, "step");
    if (st)
        return st;
    if (!s->gen || s->gen->status != GEN_RUNNING)
        return tdiff__fail(&s->env, TDIFF_E_STATE, "step: no generation is running (begin one first)");
    tdiff__gen *g = s->gen;
    const double t0 = tdiff__clock_s(), budget = 1e-6 * (double)budget_us;
    const size_t steps0 = g->steps;
    do {
        st = gen_advance(s);
    } while (!st && g->status == GEN_RUNNING && tdiff__clock_s() - t0 < budget);
    if (st) /* the generation is gone */
        return finish_call(s, st);
    if (n_taken)
        *n_taken = g->steps - steps0;
    if (done)
        *done = g->status == GEN_DONE;
    return TDIFF_OK;
}

/* ---- reading, cancelling, results ----------------------------------------------------- */

tdiff_status tdiff_sampler_canvas(const tdiff_sampler *s, int32_t *tokens, float *confidence, uint8_t *masked,
                                  size_t cap, size_t *n)
{
    if (!s || !n)
        return TDIFF_E_INVALID_ARGUMENT;
    const tdiff__gen *g = s->gen;
    if (!g)
        return TDIFF_E_STATE;
    const tdiff__run *r = &g->r;
    *n = r->n;
    if ((tokens || confidence || masked) && cap < r->n)
        return TDIFF_E_BUFFER_TOO_SMALL;
    if (tokens)
        memcpy(tokens, r->x, r->n * sizeof *tokens);
    if (confidence)
        memcpy(confidence, r->conf_out, r->n * sizeof *confidence);
    if (masked)
        for (size_t i = 0; i < r->n; i++)
            masked[i] = s->no_mask ? !r->fixed[i] && i >= r->frontier : r->x[i] == s->mask_id;
    return TDIFF_OK;
}

tdiff_status tdiff_sampler_progress(const tdiff_sampler *s, int *state, size_t *steps_taken, size_t *steps_planned)
{
    if (!s)
        return TDIFF_E_INVALID_ARGUMENT;
    const tdiff__gen *g = s->gen;
    if (state)
        *state = g ? g->status : GEN_IDLE;
    if (steps_taken)
        *steps_taken = g ? g->steps : 0;
    if (steps_planned)
        *steps_planned = g ? g->r.n_steps : 0;
    return TDIFF_OK;
}

tdiff_status tdiff_sampler_cancel(tdiff_sampler *s)
{
    if (!s)
        return TDIFF_E_INVALID_ARGUMENT;
    tdiff_status st = tdiff__sampler_check_reentry(s, "cancel");
    if (st)
        return st;
    if (!s->gen)
        return tdiff__fail(&s->env, TDIFF_E_STATE, "cancel: no generation is begun");
    gen_free(s);
    return TDIFF_OK;
}

tdiff_status tdiff_sampler_result(tdiff_sampler *s, int32_t *out, size_t cap, size_t *n_out)
{
    if (!s)
        return TDIFF_E_INVALID_ARGUMENT;
    tdiff_status st = tdiff__sampler_check_reentry(s, "result");
    if (st)
        return st;
    if (!s->gen || s->gen->status != GEN_DONE)
        return tdiff__fail(&s->env, TDIFF_E_STATE, "result: the generation is not done");
    if (!n_out || (!out && cap))
        return tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT, "result: NULL %s", n_out ? "out" : "n_out");
    tdiff__gen *g = s->gen;
    size_t m = g->out_len;
    if (!g->infill && tdiff__sp_int(s, TDIFF_SAMPLER_CUT_AT_EOS) && s->eos_id >= 0)
        for (size_t i = 0; i < g->out_len; i++)
            if (g->r.x[g->out_start + i] == s->eos_id) {
                m = i;
                break;
            }
    /* The needed capacity is the full length (what generate promises), not the cut one. */
    if (cap < g->out_len) {
        *n_out = g->out_len;
        return tdiff__fail(&s->env, TDIFF_E_BUFFER_TOO_SMALL, "result: output needs %zu tokens, capacity %zu",
                           g->out_len, cap);
    }
    memcpy(out, g->r.x + g->out_start, m * sizeof *out);
    *n_out = m;
    gen_free(s);
    return TDIFF_OK;
}

/* ---- the one-call entry points --------------------------------------------------------- */

/* Runs a begun generation to its end on the caller's thread, then hands back the result. */
static tdiff_status run_to_end(tdiff_sampler *s, int32_t *out, size_t cap, size_t *n_out)
{
    tdiff_status st = TDIFF_OK;
    while (s->gen && s->gen->status == GEN_RUNNING && !(st = gen_advance(s)))
        ;
    if (st)
        return finish_call(s, st);
    return tdiff_sampler_result(s, out, cap, n_out);
}

tdiff_status tdiff_sampler_generate(tdiff_sampler *s, const int32_t *prompt, size_t n_prompt, int32_t *out,
                                    size_t cap, size_t *n_out)
{
    if (!s)
        return TDIFF_E_INVALID_ARGUMENT;
    tdiff_status st = tdiff__sampler_check_idle(s, "generate");
    if (st)
        return st;
    if ((!prompt && n_prompt) || !n_out || (!out && cap))
        return tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT, "generate: NULL %s",
                           !n_out ? "n_out" : (!out && cap) ? "out" : "prompt");
    /* The capacity is checked before any work. */
    size_t n, gen;
    if ((st = plan_generate(s, prompt, n_prompt, &n, &gen)))
        return st;
    if (cap < gen) {
        *n_out = gen;
        return tdiff__fail(&s->env, TDIFF_E_BUFFER_TOO_SMALL, "generate: output needs %zu tokens, capacity %zu", gen,
                           cap);
    }
    if ((st = tdiff_sampler_begin(s, prompt, n_prompt)))
        return st;
    return run_to_end(s, out, cap, n_out);
}

tdiff_status tdiff_sampler_infill(tdiff_sampler *s, const int32_t *canvas, size_t n, int32_t *out, size_t cap,
                                  size_t *n_out)
{
    if (!s)
        return TDIFF_E_INVALID_ARGUMENT;
    tdiff_status st = tdiff__sampler_check_idle(s, "infill");
    if (st)
        return st;
    if (!canvas || !n_out || !out || n == 0)
        return tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT, "infill: NULL argument or empty canvas");
    if (s->no_mask)
        return tdiff__fail(&s->env, TDIFF_E_UNSUPPORTED,
                           "infill: the model is autoregressive (no mask token to mark the holes with)");
    if ((st = check_tokens(s, canvas, n, true, "canvas")))
        return st;
    bool any = false;
    for (size_t i = 0; i < n && !any; i++)
        any = canvas[i] == s->mask_id;
    if (!any)
        return tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT, "infill: the canvas has no mask token to fill");
    if (cap < n) {
        *n_out = n;
        return tdiff__fail(&s->env, TDIFF_E_BUFFER_TOO_SMALL, "infill: output needs %zu tokens, capacity %zu", n,
                           cap);
    }
    if ((st = tdiff_sampler_begin_infill(s, canvas, n)))
        return st;
    return run_to_end(s, out, cap, n_out);
}

/* ---- freeing ------------------------------------------------------------------------- */

static void free_now(tdiff_sampler *s)
{
    gen_free(s);
    tdiff__net_free(&s->net, &s->env);
    tdiff__env env = s->env;
    tdiff__free(&env, s->banned);
    tdiff__free(&env, s->history);
    tdiff__free(&env, s);
}

void tdiff_sampler_free(tdiff_sampler *s)
{
    if (!s)
        return;
    if (s->in_callback) { /* the running call frees it when the callback returns */
        s->free_pending = true;
        return;
    }
    free_now(s);
}

void tdiff_sampler_interrupt(tdiff_sampler *s)
{
    if (s)
        atomic_store(&s->interrupt, 1);
}
