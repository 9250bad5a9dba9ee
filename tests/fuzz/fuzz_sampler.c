/*
 * fuzz_sampler.c -- libFuzzer target over the sampler driving a caller's
 * network (tdiff_sampler_create_with_callback), through the PUBLIC API only
 * (include/libtextdiff.h), so it outlives rewrites of lib/sampler. The input
 * chooses the vocabulary, mask and EOS ids, every parameter (in and out of its
 * bounds), banned ids, the prompt or canvas, the network's logits (ordinary
 * values with NaN, ±inf and huge ones mixed in), failures of the network, of
 * the step callback and of the allocator, and how the generation is driven:
 * generate, infill, or the step API (begin / begin_infill, step, step_for,
 * canvas, progress, cancel, result, with calls made in the wrong state).
 * Every strategy is reachable, D3PM and SEDD with a transition and scheduler.
 *
 * Properties, beyond "no crash, over-read, leak or UB":
 *  - a setter accepts a value only inside tdiff_sampler_param_bounds, refuses
 *    every value outside, and the getter returns what was accepted;
 *  - a successful run's tokens are inside the vocabulary, never the mask,
 *    never a banned id (when some token is allowed); infill keeps every
 *    unmasked canvas position and fills every masked one; generate stops
 *    before the first EOS when CUT_AT_EOS is set;
 *  - the step API, driven to the end without interruption, gives the tokens
 *    of tdiff_sampler_generate / _infill on a fresh sampler (the header's
 *    "generate is exactly begin + advance to the end + result");
 *  - a call in the wrong state is TDIFF_E_STATE; every allocation is freed.
 *
 * The network's logits are a function of the canvas content and the position
 * only (a hash into the input's logit pool), so two runs that see the same
 * canvases get the same logits.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "libtextdiff.h"

#define MAX_V 48       /* vocabulary sizes 2..MAX_V: one run stays around a millisecond */
#define MAX_LEN 32     /* generated tokens, prompt and canvas lengths */
#define MAX_STEPS 32
#define POOL 512       /* logits drawn from here */

/* ---- the caller's network ---- */

typedef struct net {
    float pool[POOL];
    size_t n_pool;
    int32_t n_vocab;
    int sigma_time;           /* MDLM, SEDD and BD3 strategies: t is σ̄(t) >= 0 */
    long calls, fail_at_call; /* the fail_at_call-th call returns fail_status (0: never) */
    int fail_status;
} net;

static uint64_t mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

static int net_logits(void *ud, const int32_t *tokens, size_t n, float t, const uint32_t *positions,
                      size_t n_positions, float *logits)
{
    net *w = ud;
    FUZZ_CHECK(tokens && logits && positions && n_positions > 0 && n > 0);
    /* t is a time in [0, 1]; MDLM and SEDD tell the total noise σ̄(t) >= 0 instead
     * (the header; +inf where the schedule's ᾱ reaches 0) */
    FUZZ_CHECK(w->sigma_time ? t >= 0.0f : t >= 0.0f && t <= 1.0f);
    if (++w->calls == w->fail_at_call)
        return w->fail_status;
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        FUZZ_CHECK(tokens[i] >= 0 && tokens[i] < w->n_vocab);
        h = (h ^ (uint64_t)tokens[i]) * 1099511628211ULL;
    }
    for (size_t k = 0; k < n_positions; k++) {
        FUZZ_CHECK(positions[k] < n && (k == 0 || positions[k] > positions[k - 1])); /* inside, ascending */
        uint64_t hp = mix(h ^ ((uint64_t)positions[k] << 32));
        for (int32_t v = 0; v < w->n_vocab; v++)
            logits[k * (size_t)w->n_vocab + (size_t)v] = w->pool[mix(hp + (uint64_t)v) % w->n_pool];
    }
    return 0;
}

/* ---- the step callback ---- */

typedef struct watcher {
    int32_t n_vocab;
    long steps, abort_at; /* stop the run at this step (0: never) */
} watcher;

static int on_step(void *ud, size_t step, size_t n_steps, const int32_t *canvas, size_t n_canvas,
                   const float *confidence)
{
    watcher *w = ud;
    FUZZ_CHECK(canvas && confidence && n_canvas > 0 && step < n_steps);
    for (size_t i = 0; i < n_canvas; i++)
        FUZZ_CHECK(canvas[i] >= 0 && canvas[i] < w->n_vocab);
    return ++w->steps == w->abort_at;
}

/* ---- one fuzzed configuration ---- */

typedef struct setting {
    tdiff_sampler_param p;
    int is_int;
    int64_t ival;
    double fval;
} setting;

typedef struct plan {
    int32_t n_vocab, mask, eos;
    setting set[24];
    size_t n_set;
    int32_t banned[MAX_V];
    size_t n_banned;
    int32_t input[MAX_LEN]; /* prompt (generate) or canvas (infill) */
    size_t n_input;
    int infill, mode;       /* mode 0: generate/infill, 1: the step API */
    int graph;              /* 0 none, 1 uniform, 2 absorbing transition */
    tdiff_schedule_kind sched_kind;
    size_t graph_steps;
    uint8_t ops[64];        /* step-API script */
    size_t n_ops;
    size_t out_cap;
} plan;

/* The largest value a fuzzed run may use for the size-like parameters. */
static int64_t fuzz_max(tdiff_sampler_param p, double max)
{
    switch (p) {
    case TDIFF_SAMPLER_STEPS: return MAX_STEPS;
    case TDIFF_SAMPLER_GEN_LENGTH: return MAX_LEN;
    case TDIFF_SAMPLER_BLOCK_LENGTH: return MAX_LEN;
    case TDIFF_SAMPLER_TOP_K: return MAX_V + 2;
    case TDIFF_SAMPLER_N_THREADS: return 2;
    default: return max > 1e9 ? (int64_t)1 << 40 : (int64_t)max;
    }
}

static void read_settings(fuzz_reader *r, plan *pl)
{
    static const tdiff_sampler_param ints[] = {
        TDIFF_SAMPLER_STRATEGY, TDIFF_SAMPLER_REMASKING, TDIFF_SAMPLER_COMPAT, TDIFF_SAMPLER_STEPS,
        TDIFF_SAMPLER_GEN_LENGTH, TDIFF_SAMPLER_BLOCK_LENGTH, TDIFF_SAMPLER_TOP_K, TDIFF_SAMPLER_SEED,
        TDIFF_SAMPLER_EOS_CONFIDENCE_INF, TDIFF_SAMPLER_CUT_AT_EOS, TDIFF_SAMPLER_KEEP_HISTORY,
        TDIFF_SAMPLER_N_THREADS, TDIFF_SAMPLER_CLAMP, TDIFF_SAMPLER_GAUSS_SCHEDULE, TDIFF_SAMPLER_DDIM,
        TDIFF_SAMPLER_STAT_STEPS};
    static const tdiff_sampler_param floats[] = {
        TDIFF_SAMPLER_TEMPERATURE, TDIFF_SAMPLER_TOP_P, TDIFF_SAMPLER_CFG_SCALE, TDIFF_SAMPLER_THRESHOLD,
        TDIFF_SAMPLER_FACTOR, TDIFF_SAMPLER_ALG_TEMP, TDIFF_SAMPLER_EPS};
    uint32_t mask_bits = fuzz_u32(r);
    /* bit i: set ints[i] (strategy and sizes most of the time) */
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        if (!(mask_bits >> i & 1))
            continue;
        double lo, hi;
        FUZZ_CHECK(tdiff_sampler_param_bounds(ints[i], &lo, &hi, NULL) == TDIFF_OK);
        int64_t top = fuzz_max(ints[i], hi), v;
        uint32_t how = fuzz_u8(r) % 16;
        if (how == 0)
            v = (int64_t)lo - 1;
        else if (how == 1)
            v = hi > 1e18 ? INT64_MIN : (int64_t)hi + 1; /* SEED's max is INT64_MAX: go below instead */
        else
            v = (int64_t)lo + (int64_t)(fuzz_u16(r) % (uint64_t)(top - (int64_t)lo + 1));
        pl->set[pl->n_set++] = (setting){ints[i], 1, v, 0.0};
    }
    uint32_t fbits = fuzz_u8(r);
    for (size_t i = 0; i < sizeof floats / sizeof floats[0]; i++) {
        if (!(fbits >> i & 1))
            continue;
        double lo, hi;
        FUZZ_CHECK(tdiff_sampler_param_bounds(floats[i], &lo, &hi, NULL) == TDIFF_OK);
        uint32_t how = fuzz_u8(r) % 8;
        double v = how == 0 ? fuzz_double(r, 2 * hi + 1) : lo + (hi - lo) * (fuzz_u16(r) / 65535.0);
        pl->set[pl->n_set++] = (setting){floats[i], 0, 0, v};
    }
}

static void read_plan(fuzz_reader *r, plan *pl, net *w)
{
    memset(pl, 0, sizeof *pl);
    pl->n_vocab = (int32_t)fuzz_range(r, 2, MAX_V);
    pl->mask = (int32_t)(fuzz_u8(r) % (uint32_t)pl->n_vocab);
    pl->eos = (int32_t)(fuzz_u8(r) % (uint32_t)(pl->n_vocab + 1)) - 1;
    uint32_t flags = fuzz_u8(r);
    pl->infill = flags & 1;
    pl->mode = flags >> 1 & 1;
    pl->graph = (int)(flags >> 2 & 3) % 3;
    static const tdiff_schedule_kind kinds[] = {TDIFF_SCHEDULE_LINEAR, TDIFF_SCHEDULE_COSINE,
                                                TDIFF_SCHEDULE_LOGLINEAR, TDIFF_SCHEDULE_GEOMETRIC};
    pl->sched_kind = kinds[flags >> 4 & 3];
    pl->graph_steps = 1 + fuzz_u8(r) % MAX_STEPS;
    read_settings(r, pl);
    pl->n_banned = fuzz_u8(r) % 4 == 0 ? fuzz_u8(r) % (uint32_t)pl->n_vocab : 0;
    for (size_t i = 0; i < pl->n_banned; i++)
        pl->banned[i] = (int32_t)(fuzz_u8(r) % (uint32_t)pl->n_vocab);
    pl->n_input = fuzz_u8(r) % (MAX_LEN + 1);
    for (size_t i = 0; i < pl->n_input; i++) {
        uint32_t x = fuzz_u8(r);
        /* infill canvases are mostly masks; prompts rarely hold one (refused) */
        pl->input[i] = pl->infill ? (x < 160 ? pl->mask : (int32_t)(x % (uint32_t)pl->n_vocab))
                                  : (x == 255 ? pl->mask : (int32_t)(x % (uint32_t)pl->n_vocab));
    }
    pl->out_cap = fuzz_u8(r) % 8 == 0 ? fuzz_u8(r) % (MAX_LEN + 1) : 2 * MAX_LEN + 1;
    pl->n_ops = fuzz_u8(r) % (sizeof pl->ops + 1);
    size_t got;
    const uint8_t *ops = fuzz_take(r, pl->n_ops, &got);
    memcpy(pl->ops, ops, got);
    pl->n_ops = got;
    w->n_vocab = pl->n_vocab;
    w->fail_at_call = fuzz_u8(r) % 8 == 0 ? 1 + fuzz_u8(r) % 16 : 0;
    static const int fails[] = {TDIFF_E_INTERNAL, TDIFF_E_OUT_OF_MEMORY, 7, -1000};
    w->fail_status = fails[fuzz_u8(r) % 4];
    w->n_pool = 0;
    while (w->n_pool < POOL && r->n)
        w->pool[w->n_pool++] = (float)fuzz_double(r, 20.0);
    if (w->n_pool == 0)
        w->pool[w->n_pool++] = 0.0f;
}

/* ---- helpers around the sampler ---- */

typedef struct rig {
    fuzz_alloc alloc;
    tdiff_host host;
    tdiff_scheduler *sched;
    tdiff_transition *tr;
    tdiff_sampler *s;
    watcher watch;
    int banned;             /* the ban list was accepted */
} rig;

/* Some id other than the mask is not banned. */
static int some_allowed(const plan *pl)
{
    for (int32_t v = 0; v < pl->n_vocab; v++) {
        int banned = v == pl->mask;
        for (size_t i = 0; i < pl->n_banned; i++)
            banned |= pl->banned[i] == v;
        if (!banned)
            return 1;
    }
    return 0;
}

/* Applies the plan's settings; checks the setters' contract. */
static void apply_settings(tdiff_sampler *s, const plan *pl)
{
    for (size_t i = 0; i < pl->n_set; i++) {
        const setting *x = &pl->set[i];
        double lo, hi;
        FUZZ_CHECK(tdiff_sampler_param_bounds(x->p, &lo, &hi, NULL) == TDIFF_OK);
        if (x->is_int) {
            tdiff_status st = tdiff_sampler_set_int(s, x->p, x->ival);
            int inside = (double)x->ival >= lo && (double)x->ival <= hi && x->p != TDIFF_SAMPLER_STAT_STEPS;
            FUZZ_CHECK(inside ? st == TDIFF_OK : st == TDIFF_E_INVALID_ARGUMENT);
            int64_t back = 0;
            FUZZ_CHECK(tdiff_sampler_get_int(s, x->p, &back) == TDIFF_OK);
            FUZZ_CHECK(st != TDIFF_OK || back == x->ival);
            FUZZ_CHECK(tdiff_sampler_set_float(s, x->p, 1.0) == TDIFF_E_INVALID_ARGUMENT); /* wrong kind */
        } else {
            tdiff_status st = tdiff_sampler_set_float(s, x->p, x->fval);
            int inside = x->fval >= lo && x->fval <= hi;
            FUZZ_CHECK(inside ? st == TDIFF_OK : st == TDIFF_E_INVALID_ARGUMENT);
            double back = 0.0;
            FUZZ_CHECK(tdiff_sampler_get_float(s, x->p, &back) == TDIFF_OK);
            FUZZ_CHECK(st != TDIFF_OK || back == x->fval);
        }
    }
}

/* Creates the sampler (and graph) of the plan; 0 when creation failed cleanly. */
static int rig_up(rig *g, const plan *pl, net *w, long fail_at, int persistent, int use_watch)
{
    memset(g, 0, sizeof *g);
    g->alloc.fail_at = fail_at;
    g->alloc.persistent = persistent;
    g->host = fuzz_host(&g->alloc);
    tdiff_denoise_callbacks cb;
    memset(&cb, 0, sizeof cb);
    cb.struct_size = sizeof cb;
    cb.user_data = w;
    cb.logits = net_logits;
    char err[256] = "";
    tdiff_status st =
        tdiff_sampler_create_with_callback(&cb, pl->n_vocab, pl->mask, pl->eos, &g->host, &g->s, err, sizeof err);
    if (st != TDIFF_OK) {
        FUZZ_CHECK(!g->s && err[0] && (st == TDIFF_E_OUT_OF_MEMORY || st == TDIFF_E_INVALID_ARGUMENT));
        return 0;
    }
    apply_settings(g->s, pl);
    if (pl->n_banned) { /* a list that leaves only the mask is refused */
        st = tdiff_sampler_set_banned(g->s, pl->banned, pl->n_banned);
        FUZZ_CHECK(st == (some_allowed(pl) ? TDIFF_OK : TDIFF_E_INVALID_ARGUMENT) || st == TDIFF_E_OUT_OF_MEMORY);
        g->banned = st == TDIFF_OK;
    }
    if (pl->graph && tdiff_scheduler_create(pl->sched_kind, &g->host, &g->sched, NULL, 0) == TDIFF_OK) {
        tdiff_transition_kind k = pl->graph == 1 ? TDIFF_TRANSITION_UNIFORM : TDIFF_TRANSITION_ABSORBING;
        if (tdiff_transition_create(k, (size_t)pl->n_vocab, pl->mask, g->sched, pl->graph_steps, &g->host,
                                    &g->tr, NULL, 0) == TDIFF_OK)
            FUZZ_CHECK(tdiff_sampler_set_transition(g->s, g->tr) == TDIFF_OK);
        FUZZ_CHECK(tdiff_sampler_set_scheduler(g->s, g->sched) == TDIFF_OK);
    }
    int64_t strategy = 0;
    FUZZ_CHECK(tdiff_sampler_get_int(g->s, TDIFF_SAMPLER_STRATEGY, &strategy) == TDIFF_OK);
    w->sigma_time = strategy == TDIFF_STRATEGY_SEDD_EULER || strategy == TDIFF_STRATEGY_SEDD_ANALYTIC ||
                    strategy == TDIFF_STRATEGY_MDLM || strategy == TDIFF_STRATEGY_MDLM_CACHE ||
                    strategy == TDIFF_STRATEGY_BD3 || strategy == TDIFF_STRATEGY_BD3_FIRST_HITTING;
    g->watch.n_vocab = pl->n_vocab;
    if (use_watch)
        FUZZ_CHECK(tdiff_sampler_set_callback(g->s, on_step, &g->watch) == TDIFF_OK);
    return 1;
}

static void rig_down(rig *g)
{
    tdiff_sampler_free(g->s); /* cancels a generation in progress */
    tdiff_transition_free(g->tr);
    tdiff_scheduler_free(g->sched);
    FUZZ_CHECK(g->alloc.live == 0);
}

/* The documented properties of a successful run's tokens. */
static void check_result(const plan *pl, tdiff_sampler *s, int banned, const int32_t *out, size_t n_out)
{
    int64_t cut = 0;
    FUZZ_CHECK(tdiff_sampler_get_int(s, TDIFF_SAMPLER_CUT_AT_EOS, &cut) == TDIFF_OK);
    if (pl->infill)
        FUZZ_CHECK(n_out == pl->n_input);
    if (getenv("FUZZ_VERBOSE")) {
        int64_t strat = 0;
        tdiff_sampler_get_int(s, TDIFF_SAMPLER_STRATEGY, &strat);
        fprintf(stderr, "strategy %lld, mask %d, eos %d, out:", (long long)strat, pl->mask, pl->eos);
        for (size_t i = 0; i < n_out; i++)
            fprintf(stderr, " %d", out[i]);
        fprintf(stderr, "\ninput (infill %d):", pl->infill);
        for (size_t i = 0; i < pl->n_input; i++)
            fprintf(stderr, " %d", pl->input[i]);
        fprintf(stderr, "\nsettings:");
        for (size_t i = 0; i < pl->n_set; i++)
            fprintf(stderr, " %d=%g", (int)pl->set[i].p, pl->set[i].is_int ? (double)pl->set[i].ival : pl->set[i].fval);
        fprintf(stderr, "\n");
    }
    for (size_t i = 0; i < n_out; i++) {
        FUZZ_CHECK(out[i] >= 0 && out[i] < pl->n_vocab && out[i] != pl->mask);
        if (pl->infill && pl->input[i] != pl->mask) {
            FUZZ_CHECK(out[i] == pl->input[i]); /* fixed positions stay */
            continue;
        }
        for (size_t k = 0; k < pl->n_banned && banned; k++)
            FUZZ_CHECK(out[i] != pl->banned[k]);
        if (!pl->infill && cut && pl->eos >= 0)
            FUZZ_CHECK(out[i] != pl->eos);
    }
}

/* generate or infill in one call; with a too-small buffer, the needed size. */
static tdiff_status run_once(const plan *pl, tdiff_sampler *s, int32_t *out, size_t cap, size_t *n_out)
{
    return pl->infill ? tdiff_sampler_infill(s, pl->input, pl->n_input, out, cap, n_out)
                      : tdiff_sampler_generate(s, pl->input, pl->n_input, out, cap, n_out);
}

/* The step API under the plan's script. Returns the final status; *clean is
 * set when the run went begin -> steps -> result with nothing else. */
static tdiff_status run_steps(const plan *pl, tdiff_sampler *s, int32_t *out, size_t cap, size_t *n_out, int *clean)
{
    *clean = 1;
    tdiff_status st = pl->infill ? tdiff_sampler_begin_infill(s, pl->input, pl->n_input)
                                 : tdiff_sampler_begin(s, pl->input, pl->n_input);
    if (st != TDIFF_OK)
        return st;
    FUZZ_CHECK((pl->infill ? tdiff_sampler_begin_infill(s, pl->input, pl->n_input)
                           : tdiff_sampler_begin(s, pl->input, pl->n_input)) == TDIFF_E_STATE);
    int done = 0;
    size_t op = 0;
    for (long guard = 0; guard < 4 * MAX_STEPS * MAX_LEN && !done; guard++) {
        uint8_t o = op < pl->n_ops ? pl->ops[op++] : 0;
        int state = -1;
        size_t taken = 0, planned = 0, n = 0;
        switch (o % 8) {
        case 0: case 1: case 2:
            st = tdiff_sampler_step(s, &done);
            break;
        case 3:
            st = tdiff_sampler_step_for(s, o >> 3, &taken, &done);
            FUZZ_CHECK(st != TDIFF_OK || taken >= 1);
            break;
        case 4: {
            int32_t tok[2 * MAX_LEN + 1];
            float conf[2 * MAX_LEN + 1];
            uint8_t masked[2 * MAX_LEN + 1];
            size_t c = o >> 3 & 1 ? 1 : sizeof tok / sizeof tok[0];
            st = tdiff_sampler_canvas(s, tok, conf, masked, c, &n);
            FUZZ_CHECK(st == TDIFF_OK || (st == TDIFF_E_BUFFER_TOO_SMALL && n > c));
            for (size_t i = 0; st == TDIFF_OK && i < n; i++)
                FUZZ_CHECK(tok[i] >= 0 && tok[i] < pl->n_vocab && masked[i] == (tok[i] == pl->mask));
            st = TDIFF_OK;
            break;
        }
        case 5:
            FUZZ_CHECK(tdiff_sampler_progress(s, &state, &taken, &planned) == TDIFF_OK && state == 1);
            FUZZ_CHECK(tdiff_sampler_set_int(s, TDIFF_SAMPLER_STEPS, 4) == TDIFF_E_STATE);
            FUZZ_CHECK(tdiff_sampler_result(s, out, cap, n_out) == TDIFF_E_STATE);
            FUZZ_CHECK(run_once(pl, s, out, cap, n_out) == TDIFF_E_STATE);
            break;
        case 6:
            if ((o >> 3) % 4 == 0) {
                *clean = 0;
                FUZZ_CHECK(tdiff_sampler_cancel(s) == TDIFF_OK);
                FUZZ_CHECK(tdiff_sampler_cancel(s) == TDIFF_E_STATE);
                FUZZ_CHECK(tdiff_sampler_step(s, &done) == TDIFF_E_STATE);
                return TDIFF_E_ABORTED; /* our own stop */
            }
            break;
        default: /* done may be NULL: the state says it */
            st = tdiff_sampler_step(s, NULL);
            if (st == TDIFF_OK) {
                FUZZ_CHECK(tdiff_sampler_progress(s, &state, NULL, NULL) == TDIFF_OK && state >= 1);
                done = state == 2;
            }
            break;
        }
        if (st != TDIFF_OK) { /* a failed step ends the generation */
            int state2 = -1;
            if (getenv("FUZZ_VERBOSE")) {
                size_t tk = 0, pn = 0;
                tdiff_sampler_progress(s, &state2, &tk, &pn);
                fprintf(stderr, "op %u -> %s (%s), state %d, %zu of %zu steps, guard %ld\n", o % 8,
                        tdiff_status_string(st), tdiff_sampler_last_error(s), state2, tk, pn, guard);
            }
            FUZZ_CHECK(tdiff_sampler_progress(s, &state2, NULL, NULL) == TDIFF_OK && state2 == 0);
            return st;
        }
    }
    FUZZ_CHECK(done);
    int state = -1;
    FUZZ_CHECK(tdiff_sampler_progress(s, &state, NULL, NULL) == TDIFF_OK && state == 2);
    FUZZ_CHECK(tdiff_sampler_step(s, &done) == TDIFF_E_STATE);
    st = tdiff_sampler_result(s, out, cap, n_out);
    if (st == TDIFF_E_BUFFER_TOO_SMALL) { /* stays DONE: ask again with room */
        *clean = 0;
        FUZZ_CHECK(*n_out > cap && *n_out <= 2 * MAX_LEN + 1);
        st = tdiff_sampler_result(s, out, 2 * MAX_LEN + 1, n_out);
        FUZZ_CHECK(st == TDIFF_OK);
    }
    return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_reader r = {data, size};
    static plan pl;
    static net w;
    read_plan(&r, &pl, &w);
    /* allocation failures: chosen from the end of the input so the plan stays put */
    long fail_at = size && data[size - 1] % 8 == 0 ? 1 + data[size - 1] / 8 : 0;
    int persistent = size > 1 && (data[size - 2] & 1);

    rig g;
    w.calls = 0;
    if (!rig_up(&g, &pl, &w, fail_at, persistent, 1)) {
        FUZZ_CHECK(g.alloc.live == 0);
        return 0;
    }
    g.watch.abort_at = pl.n_ops && pl.ops[0] == 0xAB ? 2 : 0;
    int32_t out[2 * MAX_LEN + 1];
    size_t n_out = 0, cap = pl.out_cap;
    int clean = 1;
    tdiff_status st;
    if (pl.mode == 0) {
        st = run_once(&pl, g.s, out, cap, &n_out);
        if (st == TDIFF_E_BUFFER_TOO_SMALL) {
            FUZZ_CHECK(n_out > cap && n_out <= 2 * MAX_LEN + 1);
            clean = 0;
            st = run_once(&pl, g.s, out, 2 * MAX_LEN + 1, &n_out);
        }
    } else {
        st = run_steps(&pl, g.s, out, cap < 2 * MAX_LEN + 1 ? cap : 2 * MAX_LEN + 1, &n_out, &clean);
    }
    int state = -1;
    FUZZ_CHECK(tdiff_sampler_progress(g.s, &state, NULL, NULL) == TDIFF_OK && state == 0); /* IDLE again */
    if (st == TDIFF_OK)
        check_result(&pl, g.s, g.banned, out, n_out);
    else
        FUZZ_CHECK(st < 0 && tdiff_sampler_last_error(g.s) != NULL);
    if (getenv("FUZZ_VERBOSE")) /* corpus work: what each input reaches */
        fprintf(stderr, "V %d mode %d infill %d -> %s (%s), %zu tokens, %ld network calls\n", pl.n_vocab, pl.mode,
                pl.infill, tdiff_status_string(st), tdiff_sampler_last_error(g.s), n_out, w.calls);
    long calls = w.calls;
    int failed_net = w.fail_at_call && w.fail_at_call <= calls;
    rig_down(&g);

    /* The step API run to the end gives generate's tokens (fresh sampler, no
     * failures, the same network). */
    if (pl.mode == 1 && st == TDIFF_OK && clean && !failed_net && g.alloc.failed == 0 && !g.watch.abort_at) {
        rig f;
        w.calls = 0;
        long saved = w.fail_at_call;
        w.fail_at_call = 0;
        FUZZ_CHECK(rig_up(&f, &pl, &w, 0, 0, 0));
        int32_t again[2 * MAX_LEN + 1];
        size_t n_again = 0;
        FUZZ_CHECK(run_once(&pl, f.s, again, 2 * MAX_LEN + 1, &n_again) == TDIFF_OK);
        FUZZ_CHECK(n_again == n_out && !memcmp(again, out, n_out * sizeof *out));
        rig_down(&f);
        w.fail_at_call = saved;
    }
    return 0;
}
