/*
 * test_trajectory_parity.c -- whole sampling trajectories against the float64
 * PyTorch reference (make_trajectory_goldens.py, data/trajectories.txt): the
 * Diffusion-LM `embedding` strategy on a time-conditioned DiT (DDPM/DDIM,
 * sqrt/cosine, temperature 0/0.5/1, clamping, infilling) and soft-masked
 * llada / threshold / mdlm sampling, each at a fixed seed with the reference
 * fed the library's Philox draws. Every case runs through the public API
 * (model, sampler parameters, soft-mask handle, step callback, history) and
 * must reproduce the canvas after EVERY step token for token, and every
 * step's confidences to |ours - ref| <= tol_rel * |ref| + tol_abs (1e-4, 1e-7
 * as written in the file). The generator keeps only cases whose decisions
 * clear a 5e-3 margin, so tokens are exact on every SIMD variant; meson runs
 * this program once more under TDIFF_FORCE_ISA=scalar. Each case runs a second
 * time on two denoiser threads and must repeat the first run bit for bit.
 *
 * The goldens file is data/trajectories.txt, or the one named by the first
 * argument (data/bd3_trajectories.txt: block diffusion, make_bd3_goldens.py).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "libtextdiff.h"
#include "support.h"

#define MAX_CASES 32
#define MAX_N 32
#define MAX_STEPS 32
#define MAX_PARAMS 16

typedef struct traj_case {
    char model[128];
    int generate;
    size_t n_prompt, n;
    int32_t canvas[MAX_N];
    size_t n_ints, n_floats;
    tdiff_sampler_param int_p[MAX_PARAMS], float_p[MAX_PARAMS];
    int64_t int_v[MAX_PARAMS];
    double float_v[MAX_PARAMS];
    int has_softmask;
    int64_t sm_k;
    double sm_raw_s, sm_raw_c, sm_raw_a;
    double tol_rel, tol_abs;
    size_t n_steps;
    size_t step_index[MAX_STEPS];
    int32_t tokens[MAX_STEPS][MAX_N];
    double conf[MAX_STEPS][MAX_N];
} traj_case;

/* What the step callback saw. */
typedef struct recording {
    size_t count, n;
    int overflow;
    size_t step_index[MAX_STEPS];
    int32_t tokens[MAX_STEPS][MAX_N];
    float conf[MAX_STEPS][MAX_N];
} recording;

static char case_names[MAX_CASES][64];

static const struct {
    const char *name;
    tdiff_sampler_param p;
} param_names[] = {
    {"STRATEGY", TDIFF_SAMPLER_STRATEGY},     {"STEPS", TDIFF_SAMPLER_STEPS},
    {"GEN_LENGTH", TDIFF_SAMPLER_GEN_LENGTH}, {"BLOCK_LENGTH", TDIFF_SAMPLER_BLOCK_LENGTH},
    {"SEED", TDIFF_SAMPLER_SEED},             {"CUT_AT_EOS", TDIFF_SAMPLER_CUT_AT_EOS},
    {"KEEP_HISTORY", TDIFF_SAMPLER_KEEP_HISTORY}, {"CLAMP", TDIFF_SAMPLER_CLAMP},
    {"GAUSS_SCHEDULE", TDIFF_SAMPLER_GAUSS_SCHEDULE}, {"DDIM", TDIFF_SAMPLER_DDIM},
    {"TEMPERATURE", TDIFF_SAMPLER_TEMPERATURE}, {"THRESHOLD", TDIFF_SAMPLER_THRESHOLD},
    {"EPS", TDIFF_SAMPLER_EPS},               {"TOP_P", TDIFF_SAMPLER_TOP_P},
    {"CACHE", TDIFF_SAMPLER_CACHE},
};

static tdiff_sampler_param param_by_name(const char *name)
{
    for (size_t i = 0; i < sizeof param_names / sizeof param_names[0]; i++)
        if (!strcmp(param_names[i].name, name))
            return param_names[i].p;
    fail_msg("unknown sampler parameter %s in trajectories.txt", name);
    return TDIFF_SAMPLER_STRATEGY;
}

/* Next blank-separated word of *cur (NUL-terminated in place); NULL at the end. */
static char *word(char **cur)
{
    char *p = *cur;
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
        p++;
    if (!*p)
        return NULL;
    char *start = p;
    while (*p && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
        p++;
    if (*p)
        *p++ = '\0';
    *cur = p;
    return start;
}

static long long int_word(char **cur)
{
    char *w = word(cur), *end;
    assert_non_null(w);
    long long v = strtoll(w, &end, 10);
    assert_true(*end == '\0');
    return v;
}

static double real_word(char **cur)
{
    char *w = word(cur), *end;
    assert_non_null(w);
    double v = strtod(w, &end);
    assert_true(*end == '\0');
    return v;
}

static const char *goldens_file = "tests/parity/data/trajectories.txt"; /* or argv[1] */

static FILE *open_goldens(char *path, size_t cap)
{
    return fopen(test_source_path(path, cap, goldens_file), "r");
}

/* Reads the block of case `name` from the goldens into *c. */
static void read_case(const char *name, traj_case *c)
{
    char path[1024];
    FILE *f = open_goldens(path, sizeof path);
    assert_non_null(f);
    static char line[16384];
    int inside = 0, done = 0;
    size_t step = 0;
    while (!done && fgets(line, sizeof line, f)) {
        char *cur = line, *key = word(&cur);
        if (!key || key[0] == '#')
            continue;
        if (!strcmp(key, "case")) {
            inside = !strcmp(word(&cur), name);
            continue;
        }
        if (!inside)
            continue;
        if (!strcmp(key, "model")) {
            const char *m = word(&cur);
            assert_true(strlen(m) < sizeof c->model);
            memcpy(c->model, m, strlen(m) + 1);
        } else if (!strcmp(key, "run")) {
            const char *how = word(&cur);
            c->generate = !strcmp(how, "generate");
            if (c->generate)
                c->n_prompt = (size_t)int_word(&cur);
        } else if (!strcmp(key, "canvas")) {
            c->n = (size_t)int_word(&cur);
            assert_true(c->n > 0 && c->n <= MAX_N);
            for (size_t i = 0; i < c->n; i++)
                c->canvas[i] = (int32_t)int_word(&cur);
        } else if (!strcmp(key, "int")) {
            assert_true(c->n_ints < MAX_PARAMS);
            c->int_p[c->n_ints] = param_by_name(word(&cur));
            c->int_v[c->n_ints++] = int_word(&cur);
        } else if (!strcmp(key, "float")) {
            assert_true(c->n_floats < MAX_PARAMS);
            c->float_p[c->n_floats] = param_by_name(word(&cur));
            c->float_v[c->n_floats++] = real_word(&cur);
        } else if (!strcmp(key, "softmask")) {
            c->has_softmask = 1;
            c->sm_k = int_word(&cur);
            c->sm_raw_s = real_word(&cur);
            c->sm_raw_c = real_word(&cur);
            c->sm_raw_a = real_word(&cur);
        } else if (!strcmp(key, "tol")) {
            c->tol_rel = real_word(&cur);
            c->tol_abs = real_word(&cur);
        } else if (!strcmp(key, "steps")) {
            c->n_steps = (size_t)int_word(&cur);
            assert_true(c->n_steps > 0 && c->n_steps <= MAX_STEPS);
        } else if (!strcmp(key, "step")) {
            assert_true(step < c->n_steps);
            c->step_index[step] = (size_t)int_word(&cur);
            for (size_t i = 0; i < c->n; i++)
                c->tokens[step][i] = (int32_t)int_word(&cur);
        } else if (!strcmp(key, "conf")) {
            assert_true(step < c->n_steps);
            for (size_t i = 0; i < c->n; i++)
                c->conf[step][i] = real_word(&cur);
            step++;
        } else if (!strcmp(key, "end")) {
            done = 1;
        }
    }
    fclose(f);
    if (!done)
        fail_msg("case %s not found (or not ended) in %s", name, path);
    assert_int_equal(step, c->n_steps);
}

static int record_step(void *ud, size_t step, size_t n_steps, const int32_t *canvas, size_t n, const float *conf)
{
    (void)n_steps;
    recording *r = ud;
    if (r->count >= MAX_STEPS || n > MAX_N) {
        r->overflow = 1;
        return 0;
    }
    r->n = n;
    r->step_index[r->count] = step;
    memcpy(r->tokens[r->count], canvas, n * sizeof *canvas);
    memcpy(r->conf[r->count], conf, n * sizeof *conf);
    r->count++;
    return 0;
}

/* Fails at the first step whose canvas differs (later steps would only echo it)
 * or whose confidence leaves the tolerance; returns the largest relative
 * confidence deviation seen. */
static double compare_steps(const traj_case *c, const recording *rec)
{
    double worst = 0.0;
    for (size_t k = 0; k < c->n_steps; k++) {
        if (rec->step_index[k] != c->step_index[k])
            fail_msg("callback %zu reports step %zu, reference %zu", k, rec->step_index[k], c->step_index[k]);
        for (size_t i = 0; i < c->n; i++)
            if (rec->tokens[k][i] != c->tokens[k][i])
                fail_msg("step %zu position %zu: token %d, reference %d", k, i, (int)rec->tokens[k][i],
                         (int)c->tokens[k][i]);
        for (size_t i = 0; i < c->n; i++) {
            double ref = c->conf[k][i], got = rec->conf[k][i];
            if (isnan(ref) || isnan(got)) {
                if (isnan(ref) != isnan(got))
                    fail_msg("step %zu position %zu: confidence %g, reference %g", k, i, got, ref);
                continue;
            }
            double d = fabs(got - ref);
            if (d > c->tol_rel * fabs(ref) + c->tol_abs)
                fail_msg("step %zu position %zu: confidence %.9g, reference %.9g (|diff| %.3g > %.3g)", k, i, got,
                         ref, d, c->tol_rel * fabs(ref) + c->tol_abs);
            worst = fmax(worst, d / fmax(fabs(ref), 1e-30));
        }
    }
    return worst;
}

static void test_trajectory_matches_reference(void **state)
{
    const char *name = *state;
    traj_case *c = test_calloc(1, sizeof *c);
    recording *rec = test_calloc(1, sizeof *rec);
    read_case(name, c);

    test_alloc ta = {0};
    tdiff_host host;
    test_host_init(&host, &ta);
    char rel[256], path[1024], err[256] = "";
    snprintf(rel, sizeof rel, "tests/parity/data/%s", c->model);
    tdiff_model *m = NULL;
    if (tdiff_model_load_file(test_source_path(path, sizeof path, rel), &host, &m, err, sizeof err) != TDIFF_OK)
        fail_msg("load %s: %s", path, err);
    tdiff_sampler *s = NULL;
    assert_int_equal(tdiff_sampler_create(m, &host, &s, NULL, 0), TDIFF_OK);
    for (size_t i = 0; i < c->n_ints; i++)
        if (tdiff_sampler_set_int(s, c->int_p[i], c->int_v[i]) != TDIFF_OK)
            fail_msg("set_int %d: %s", (int)c->int_p[i], tdiff_sampler_last_error(s));
    for (size_t i = 0; i < c->n_floats; i++)
        if (tdiff_sampler_set_float(s, c->float_p[i], c->float_v[i]) != TDIFF_OK)
            fail_msg("set_float %d: %s", (int)c->float_p[i], tdiff_sampler_last_error(s));
    tdiff_softmask *sm = NULL;
    if (c->has_softmask) {
        size_t n_vocab = 0;
        assert_int_equal(tdiff_model_vocab_size(m, &n_vocab), TDIFF_OK);
        assert_int_equal(tdiff_softmask_create(m, n_vocab, &host, &sm, NULL, 0), TDIFF_OK);
        assert_int_equal(tdiff_softmask_set_int(sm, TDIFF_SOFTMASK_TOP_K, c->sm_k), TDIFF_OK);
        assert_int_equal(tdiff_softmask_set_float(sm, TDIFF_SOFTMASK_RAW_S, c->sm_raw_s), TDIFF_OK);
        assert_int_equal(tdiff_softmask_set_float(sm, TDIFF_SOFTMASK_RAW_C, c->sm_raw_c), TDIFF_OK);
        assert_int_equal(tdiff_softmask_set_float(sm, TDIFF_SOFTMASK_RAW_A, c->sm_raw_a), TDIFF_OK);
        assert_int_equal(tdiff_sampler_set_softmask(s, sm), TDIFF_OK);
    }
    assert_int_equal(tdiff_sampler_set_callback(s, record_step, rec), TDIFF_OK);

    int32_t out[MAX_N];
    size_t n_out = 0;
    tdiff_status st = c->generate ? tdiff_sampler_generate(s, c->canvas, c->n_prompt, out, MAX_N, &n_out)
                                  : tdiff_sampler_infill(s, c->canvas, c->n, out, MAX_N, &n_out);
    if (st != TDIFF_OK)
        fail_msg("%s: %s", c->generate ? "generate" : "infill", tdiff_sampler_last_error(s));
    assert_false(rec->overflow);
    if (rec->count != c->n_steps)
        fail_msg("%zu steps, reference %zu", rec->count, c->n_steps);
    assert_int_equal(rec->n, c->n);
    double worst = compare_steps(c, rec);

    /* The result and the kept history agree with the per-step canvases. */
    const int32_t *last = c->tokens[c->n_steps - 1];
    size_t skip = c->generate ? c->n_prompt : 0;
    assert_int_equal(n_out, c->n - skip);
    assert_memory_equal(out, last + skip, n_out * sizeof *out);
    const int32_t *hist = NULL;
    size_t h_steps = 0, h_n = 0;
    assert_int_equal(tdiff_sampler_history(s, &hist, &h_steps, &h_n), TDIFF_OK);
    assert_int_equal(h_steps, c->n_steps);
    assert_int_equal(h_n, c->n);
    for (size_t k = 0; k < h_steps; k++)
        assert_memory_equal(hist + k * h_n, c->tokens[k], h_n * sizeof *hist);

    /* Two denoiser threads: the same trajectory bit for bit (tokens and
     * confidences), as the seeded runs promise whatever the thread count. */
    recording *rec2 = test_calloc(1, sizeof *rec2);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_N_THREADS, 2), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_callback(s, record_step, rec2), TDIFF_OK);
    st = c->generate ? tdiff_sampler_generate(s, c->canvas, c->n_prompt, out, MAX_N, &n_out)
                     : tdiff_sampler_infill(s, c->canvas, c->n, out, MAX_N, &n_out);
    if (st != TDIFF_OK)
        fail_msg("2 threads: %s", tdiff_sampler_last_error(s));
    assert_int_equal(rec2->count, rec->count);
    for (size_t k = 0; k < rec->count; k++) {
        assert_memory_equal(rec2->tokens[k], rec->tokens[k], c->n * sizeof rec->tokens[k][0]);
        assert_memory_equal(rec2->conf[k], rec->conf[k], c->n * sizeof rec->conf[k][0]);
    }
    test_free(rec2);
    print_message("%-28s %2zu steps  tokens exact  max rel |dconf| %.2g (tol %.0e)  2 threads identical\n", name,
                  c->n_steps, worst, c->tol_rel);

    tdiff_sampler_free(s);
    tdiff_softmask_free(sm);
    tdiff_model_free(m);
    assert_int_equal(ta.live, 0);
    test_free(rec);
    test_free(c);
}

int main(int argc, char **argv)
{
    char path[1024];
    if (argc > 1)
        goldens_file = argv[1];
    FILE *f = open_goldens(path, sizeof path);
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        return 1;
    }
    struct CMUnitTest tests[MAX_CASES];
    size_t count = 0;
    char line[16384];
    while (count < MAX_CASES && fgets(line, sizeof line, f)) {
        char name[64];
        if (sscanf(line, "case %63s", name) != 1)
            continue;
        memcpy(case_names[count], name, sizeof name);
        tests[count] = (struct CMUnitTest){.name = case_names[count],
                                           .test_func = test_trajectory_matches_reference,
                                           .initial_state = case_names[count]};
        count++;
    }
    fclose(f);
    if (count == 0) {
        fprintf(stderr, "no cases in %s\n", path);
        return 1;
    }
    return _cmocka_run_group_tests("trajectory_parity", tests, count, NULL, NULL);
}
