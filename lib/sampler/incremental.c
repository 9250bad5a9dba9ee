/*
 * incremental.c -- the life of one generation: begin (lay out the canvas),
 * advance (run the strategy one step at a time or to the end), read the canvas,
 * cancel, result. tdiff_sampler_generate / infill are begin + run to the end +
 * result, so the two entry styles share every line of the run.
 *
 * The strategies are written as plain loops. To advance them one step at a
 * time they run as a coroutine on a stack of their own (POSIX ucontext): a
 * suspended step keeps its locals, and a cancel resumes it with an error so it
 * unwinds through its normal error path, freeing what it allocated. A run
 * driven to the end in one call (generate) skips the coroutine and runs on the
 * caller's stack.
 *
 * Yield point: a step is complete when its after-step hook has run, but whether
 * it was the last one is only known when the strategy returns. So the coroutine
 * suspends at the NEXT network evaluation instead: an advance runs one step plus
 * any following steps that need no network call (MDLM_CACHE), and the final
 * step's advance reports done.
 */
#define _XOPEN_SOURCE 700 /* ucontext */
#include <math.h>
#include <string.h>
#include <time.h>
#include <ucontext.h>

#include "sampler.h"

#define GEN_STACK_BYTES ((size_t)1 << 20)

enum { GEN_IDLE = 0, GEN_RUNNING = 1, GEN_DONE = 2 };

typedef struct tdiff__gen {
    tdiff__run r;
    int state;
    bool infill;
    size_t out_start, out_len; /* generate: the generated region of the canvas */
    size_t steps;              /* steps completed */
    bool pending;              /* a step completed since the last suspension */
    /* coroutine */
    bool stepping;             /* advanced step by step: suspend at yield points */
    bool started, finished, cancel;
    tdiff_status result;       /* the strategy's return value once finished */
    void *stack;
    ucontext_t caller, fiber;
    double active_s;           /* time spent inside begin/advance calls */
} tdiff__gen;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- run buffers ------------------------------------------------------------ */

static void run_free(tdiff__run *r)
{
    const tdiff__env *env = &r->s->env;
    void *bufs[] = {r->x, r->fixed, r->pos, r->logits, r->ulogits, r->ux, r->row, r->row2, r->row3,
                    r->order, r->order_tmp, r->cand, r->conf, r->conf_out, r->sel, r->aux};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        tdiff__free(env, bufs[i]);
    tdiff__run_softmask_free(r);
}

/* Allocates the run's buffers for a canvas of n tokens of which `rows` are
 * masked: no strategy asks the network about more positions than that. */
static tdiff_status run_alloc(tdiff__run *r, tdiff_sampler *s, size_t n, size_t rows)
{
    memset(r, 0, sizeof *r);
    r->s = s;
    r->n = n;
    r->seed = (uint64_t)tdiff__sp_int(s, TDIFF_SAMPLER_SEED);
    r->llamacpp = tdiff__sp_int(s, TDIFF_SAMPLER_COMPAT) == TDIFF_COMPAT_LLAMACPP;
    size_t V = s->n_vocab, nv, big = n > V ? n : V;
    if (!tdiff__mul_size(rows, V, &nv) || nv > SIZE_MAX / sizeof(float) / 2)
        return tdiff__fail(&s->env, TDIFF_E_OVERFLOW, "canvas of %zu x vocabulary %zu is too large", n, V);
    tdiff__env *env = &s->env;
    r->x = tdiff__calloc(env, n, sizeof *r->x);
    r->fixed = tdiff__calloc(env, n, 1);
    r->pos = tdiff__calloc(env, n, sizeof *r->pos);
    r->logits = tdiff__calloc(env, nv, sizeof(float));
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
    bool ok = r->x && r->fixed && r->pos && r->logits && r->row && r->row2 && r->row3 && r->order &&
              r->order_tmp && r->cand && r->conf && r->conf_out && r->sel && r->aux;
    if (ok && tdiff__sp_float(s, TDIFF_SAMPLER_CFG_SCALE) > 0.0) {
        r->ulogits = tdiff__calloc(env, nv, sizeof(float));
        r->ux = tdiff__calloc(env, n, sizeof *r->ux);
        ok = r->ulogits && r->ux;
    }
    if (!ok) {
        run_free(r);
        return tdiff__fail(env, TDIFF_E_OUT_OF_MEMORY, "sampler workspace: out of memory");
    }
    tdiff_status st = tdiff__run_softmask_alloc(r);
    if (st) {
        run_free(r);
        return st;
    }
    for (size_t i = 0; i < n; i++)
        r->conf_out[i] = NAN;
    return TDIFF_OK;
}

static tdiff_status check_tokens(tdiff_sampler *s, const int32_t *t, size_t n, bool allow_mask, const char *what)
{
    for (size_t i = 0; i < n; i++) {
        if (t[i] < 0 || (size_t)t[i] >= s->n_vocab)
            return tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT, "%s token %zu = %d outside [0, %zu)", what, i,
                               (int)t[i], s->n_vocab);
        if (!allow_mask && t[i] == s->mask_id)
            return tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT,
                               "%s token %zu is the mask token (use tdiff_sampler_infill for holes)", what, i);
    }
    return TDIFF_OK;
}

/* ---- begin ------------------------------------------------------------------ */

static void gen_free(tdiff_sampler *s)
{
    tdiff__gen *g = s->gen;
    if (!g)
        return;
    run_free(&g->r);
    tdiff__free(&s->env, g->stack);
    tdiff__free(&s->env, g);
    s->gen = NULL;
}

/* Allocates the generation for a canvas of n with `rows` masked positions,
 * resets the statistics and prepares the denoiser. The caller fills the canvas. */
static tdiff_status gen_new(tdiff_sampler *s, size_t n, size_t rows)
{
    double t0 = now_s();
    tdiff_status cst = tdiff__sampler_softmask_check(s);
    if (cst)
        return cst;
    tdiff__gen *g = tdiff__calloc(&s->env, 1, sizeof *g);
    if (!g)
        return tdiff__fail(&s->env, TDIFF_E_OUT_OF_MEMORY, "generation: out of memory");
    tdiff_status st = run_alloc(&g->r, s, n, rows);
    if (st) {
        tdiff__free(&s->env, g);
        return st;
    }
    s->gen = g;
    s->stat_forward = 0;
    s->stat_steps = 0;
    s->stat_forward_s = 0.0;
    s->stat_total_s = 0.0;
    s->history_steps = 0;
    s->history_n = n;
    s->has_history = tdiff__sp_int(s, TDIFF_SAMPLER_KEEP_HISTORY) != 0;
    s->env.last_error[0] = '\0';
    if (s->model && (st = tdiff__sampler_ensure_denoiser(s, n))) {
        gen_free(s);
        return st;
    }
    g->state = GEN_RUNNING;
    g->active_s = now_s() - t0;
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
                               "compat llamacpp: the canvas (%zu) must be longer than the prompt (%zu)", *gen,
                               n_prompt);
        *n = *gen;
        *gen = *n - n_prompt;
    } else if (!tdiff__add_size(n_prompt, *gen, n)) {
        return tdiff__fail(&s->env, TDIFF_E_OVERFLOW, "prompt + generation length overflows");
    }
    return TDIFF_OK;
}

tdiff_status tdiff_sampler_begin(tdiff_sampler *s, const int32_t *prompt, size_t n_prompt)
{
    if (!s)
        return TDIFF_E_INVALID_ARGUMENT;
    if (s->gen)
        return tdiff__fail(&s->env, TDIFF_E_STATE, "a generation is already begun (cancel or take its result)");
    if (!prompt && n_prompt)
        return tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT, "begin: NULL prompt");
    size_t n, gen;
    tdiff_status st = plan_generate(s, prompt, n_prompt, &n, &gen);
    if (st || (st = gen_new(s, n, gen)))
        return st;
    tdiff__gen *g = s->gen;
    for (size_t i = 0; i < n; i++) {
        g->r.x[i] = i < n_prompt ? prompt[i] : s->mask_id;
        g->r.fixed[i] = i < n_prompt;
    }
    g->r.region_start = n_prompt;
    g->out_start = n_prompt;
    g->out_len = gen;
    return TDIFF_OK;
}

tdiff_status tdiff_sampler_begin_infill(tdiff_sampler *s, const int32_t *canvas, size_t n)
{
    if (!s)
        return TDIFF_E_INVALID_ARGUMENT;
    if (s->gen)
        return tdiff__fail(&s->env, TDIFF_E_STATE, "a generation is already begun (cancel or take its result)");
    if (!canvas || n == 0)
        return tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT, "infill: NULL argument or empty canvas");
    tdiff_status st = check_tokens(s, canvas, n, true, "canvas");
    if (st)
        return st;
    size_t first = n, holes = 0;
    for (size_t i = 0; i < n; i++)
        if (canvas[i] == s->mask_id) {
            first = first < i ? first : i;
            holes++;
        }
    if (first == n)
        return tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT, "infill: the canvas has no mask token to fill");
    if ((st = gen_new(s, n, holes)))
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
    return TDIFF_OK;
}

/* ---- the coroutine ------------------------------------------------------------ */

/* Hands the generation being entered to fiber_main (makecontext passes only ints). */
static _Thread_local tdiff__gen *entering;

static void fiber_main(void)
{
    tdiff__gen *g = entering;
    g->result = tdiff__sampler_run(&g->r);
    g->finished = true;
    /* returning resumes uc_link, the caller of the last advance */
}

/* Suspends the strategy (inside the fiber) until the next advance. */
static tdiff_status gen_suspend(tdiff__gen *g)
{
    g->pending = false;
    swapcontext(&g->fiber, &g->caller);
    if (g->cancel)
        return tdiff__fail(&g->r.s->env, TDIFF_E_ABORTED, "generation cancelled");
    return TDIFF_OK;
}

void tdiff__gen_step_done(tdiff__run *r)
{
    r->s->gen->steps++;
    r->s->gen->pending = true;
}

tdiff_status tdiff__gen_yield(tdiff__run *r)
{
    tdiff__gen *g = r->s->gen;
    if (g->pending && g->stepping)
        return gen_suspend(g);
    return TDIFF_OK;
}

/* Ends a finished run: DONE on success, otherwise the generation is dropped. */
static tdiff_status gen_settle(tdiff_sampler *s)
{
    tdiff__gen *g = s->gen;
    tdiff_status st = g->result;
    if (st) {
        gen_free(s);
        return st;
    }
    g->state = GEN_DONE;
    tdiff__free(&s->env, g->stack);
    g->stack = NULL;
    return TDIFF_OK;
}

/* Advances a RUNNING generation to its next suspension (one step) or its end. */
static tdiff_status gen_advance(tdiff_sampler *s)
{
    tdiff__gen *g = s->gen;
    if (!g->started) {
        g->stack = tdiff__malloc(&s->env, GEN_STACK_BYTES);
        if (!g->stack) {
            gen_free(s);
            return tdiff__fail(&s->env, TDIFF_E_OUT_OF_MEMORY, "generation stack: out of memory");
        }
        if (getcontext(&g->fiber) != 0) {
            gen_free(s);
            return tdiff__fail(&s->env, TDIFF_E_INTERNAL, "getcontext failed");
        }
        g->fiber.uc_stack.ss_sp = g->stack;
        g->fiber.uc_stack.ss_size = GEN_STACK_BYTES;
        g->fiber.uc_link = &g->caller;
        makecontext(&g->fiber, fiber_main, 0);
        g->started = true;
        g->stepping = true;
        entering = g;
    }
    swapcontext(&g->caller, &g->fiber);
    return g->finished ? gen_settle(s) : TDIFF_OK;
}

/* Runs everything left on the caller's stack (generate, infill). */
static tdiff_status gen_run_to_end(tdiff_sampler *s)
{
    tdiff__gen *g = s->gen;
    if (g->started) {
        while (s->gen && g->state == GEN_RUNNING) {
            tdiff_status st = gen_advance(s);
            if (st)
                return st;
        }
        return TDIFF_OK;
    }
    double t0 = now_s();
    g->result = tdiff__sampler_run(&g->r);
    g->finished = true;
    g->active_s += now_s() - t0;
    s->stat_total_s = g->active_s;
    return gen_settle(s);
}

static tdiff_status check_running(tdiff_sampler *s)
{
    if (!s->gen || s->gen->state != GEN_RUNNING)
        return tdiff__fail(&s->env, TDIFF_E_STATE, "no generation is running (begin one first)");
    return TDIFF_OK;
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
    tdiff_status st = check_running(s);
    if (st)
        return st;
    tdiff__gen *g = s->gen;
    const double t0 = now_s(), budget = 1e-6 * (double)budget_us;
    const size_t steps0 = g->steps;
    do {
        st = gen_advance(s);
    } while (!st && g->state == GEN_RUNNING && now_s() - t0 < budget);
    if (st) /* the generation is gone */
        return st;
    g->active_s += now_s() - t0;
    s->stat_total_s = g->active_s;
    if (n_taken)
        *n_taken = g->steps - steps0;
    if (done)
        *done = g->state == GEN_DONE;
    return TDIFF_OK;
}

/* ---- reading, cancelling, results --------------------------------------------- */

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
            masked[i] = r->x[i] == s->mask_id;
    return TDIFF_OK;
}

tdiff_status tdiff_sampler_progress(const tdiff_sampler *s, int *state, size_t *steps_taken, size_t *steps_planned)
{
    if (!s)
        return TDIFF_E_INVALID_ARGUMENT;
    const tdiff__gen *g = s->gen;
    if (state)
        *state = g ? g->state : GEN_IDLE;
    if (steps_taken)
        *steps_taken = g ? g->steps : 0;
    if (steps_planned)
        *steps_planned = g ? g->r.n_steps : 0;
    return TDIFF_OK;
}

void tdiff__gen_discard(tdiff_sampler *s)
{
    tdiff__gen *g = s->gen;
    if (!g)
        return;
    if (g->started && !g->finished) {
        /* Resume the suspended strategy with the cancel flag: it returns
         * TDIFF_E_ABORTED from its yield point and frees its own buffers. */
        g->cancel = true;
        swapcontext(&g->caller, &g->fiber);
    }
    gen_free(s);
}

tdiff_status tdiff_sampler_cancel(tdiff_sampler *s)
{
    if (!s)
        return TDIFF_E_INVALID_ARGUMENT;
    if (!s->gen)
        return tdiff__fail(&s->env, TDIFF_E_STATE, "cancel: no generation is begun");
    char keep[TDIFF__ERR_CAP];
    memcpy(keep, s->env.last_error, sizeof keep);
    tdiff__gen_discard(s);
    memcpy(s->env.last_error, keep, sizeof keep); /* the unwinding's "cancelled" is not an error */
    return TDIFF_OK;
}

tdiff_status tdiff_sampler_result(tdiff_sampler *s, int32_t *out, size_t cap, size_t *n_out)
{
    if (!s)
        return TDIFF_E_INVALID_ARGUMENT;
    if (!s->gen || s->gen->state != GEN_DONE)
        return tdiff__fail(&s->env, TDIFF_E_STATE, "result: the generation is not done");
    if (!n_out || (!out && cap))
        return tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT, "result: NULL argument");
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
        return tdiff__fail(&s->env, TDIFF_E_BUFFER_TOO_SMALL, "output needs %zu tokens, capacity %zu",
                           g->out_len, cap);
    }
    memcpy(out, g->r.x + g->out_start, m * sizeof *out);
    *n_out = m;
    gen_free(s);
    return TDIFF_OK;
}

/* ---- the one-call entry points ------------------------------------------------- */

tdiff_status tdiff_sampler_generate(tdiff_sampler *s, const int32_t *prompt, size_t n_prompt, int32_t *out,
                                    size_t cap, size_t *n_out)
{
    if (!s)
        return TDIFF_E_INVALID_ARGUMENT;
    if (s->gen)
        return tdiff__fail(&s->env, TDIFF_E_STATE, "a generation is begun (cancel or take its result)");
    if ((!prompt && n_prompt) || !n_out || (!out && cap))
        return tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT, "generate: NULL argument");
    /* The capacity is checked before any work, as generate always did. */
    size_t n, gen;
    tdiff_status st = plan_generate(s, prompt, n_prompt, &n, &gen);
    if (st)
        return st;
    if (cap < gen) {
        *n_out = gen;
        return tdiff__fail(&s->env, TDIFF_E_BUFFER_TOO_SMALL, "output needs %zu tokens, capacity %zu", gen, cap);
    }
    if ((st = tdiff_sampler_begin(s, prompt, n_prompt)) || (st = gen_run_to_end(s)))
        return st;
    return tdiff_sampler_result(s, out, cap, n_out);
}

tdiff_status tdiff_sampler_infill(tdiff_sampler *s, const int32_t *canvas, size_t n, int32_t *out, size_t cap,
                                  size_t *n_out)
{
    if (!s)
        return TDIFF_E_INVALID_ARGUMENT;
    if (s->gen)
        return tdiff__fail(&s->env, TDIFF_E_STATE, "a generation is begun (cancel or take its result)");
    if (!canvas || !n_out || !out || n == 0)
        return tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT, "infill: NULL argument or empty canvas");
    tdiff_status st = check_tokens(s, canvas, n, true, "canvas");
    if (st)
        return st;
    bool any = false;
    for (size_t i = 0; i < n && !any; i++)
        any = canvas[i] == s->mask_id;
    if (!any)
        return tdiff__fail(&s->env, TDIFF_E_INVALID_ARGUMENT, "infill: the canvas has no mask token to fill");
    if (cap < n) {
        *n_out = n;
        return tdiff__fail(&s->env, TDIFF_E_BUFFER_TOO_SMALL, "output needs %zu tokens, capacity %zu", n, cap);
    }
    if ((st = tdiff_sampler_begin_infill(s, canvas, n)) || (st = gen_run_to_end(s)))
        return st;
    return tdiff_sampler_result(s, out, cap, n_out);
}
