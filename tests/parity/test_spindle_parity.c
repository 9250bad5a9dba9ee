/*
 * test_spindle_parity.c -- DiffusionBERT's reverse step under the spindle
 * schedule (strategy `spindle`, lib/sampler/spindle.c) against the float64
 * reference of make_spindle_goldens.py (data/spindle.txt):
 *  - post_*: one step's posterior of every masked position, the whole V-vector,
 *    from the case's float32 logits through the library's pieces (row softmax,
 *    the scheduler's spindle mean and keep, tdiff__spindle_posterior), to
 *    |ours - ref| <= 1e-12 * |ref| + 1e-18;
 *  - traj_*: whole seeded trajectories on the tiny random BERT-layout file
 *    bert-f32.gguf through the public API (a spindle scheduler with the case's
 *    token counts and λ, the step callback): the canvas after every step token
 *    for token, the drawn token's posterior probability per position to the
 *    case's tolerance (1e-4 relative: the network is float32). The generator
 *    keeps only seeds whose arg-max and draw decisions have a margin.
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
#include "sampler/sampler.h"
#include "schedule/schedule.h"
#include "support.h"

#define MAX_CASES 16
#define MAX_V 512
#define MAX_N 32
#define MAX_STEPS 32
#define LINE 65536

static char case_names[MAX_CASES][64];

static FILE *open_goldens(void)
{
    char path[1024];
    return fopen(test_source_path(path, sizeof path, "tests/parity/data/spindle.txt"), "r");
}

/* Reads whitespace-separated numbers after the first word of a line. */
static size_t read_numbers(const char *line, double *out, size_t cap)
{
    const char *p = strchr(line, ' ');
    size_t n = 0;
    while (p && n < cap) {
        char *end;
        double v = strtod(p, &end);
        if (end == p)
            break;
        out[n++] = v;
        p = end;
    }
    return n;
}

/* Positions the file to the line after the header of case `name`; returns that header. */
static FILE *seek_case(const char *name, char *line)
{
    FILE *f = open_goldens();
    assert_non_null(f);
    char kind[16], nm[64];
    while (fgets(line, LINE, f))
        if (sscanf(line, "%15s %63s", kind, nm) == 2 && (!strcmp(kind, "post") || !strcmp(kind, "traj")) &&
            !strcmp(nm, name))
            return f;
    fail_msg("case %s not found", name);
    return NULL;
}

static void test_posterior_matches_reference(void **state)
{
    const char *name = *state;
    char *line = test_malloc(LINE);
    double *num = test_malloc(MAX_V * sizeof *num);
    FILE *f = seek_case(name, line);
    char nm[64];
    size_t V, T, t, n;
    int mask;
    double lam;
    assert_int_equal(sscanf(line, "post %63s %zu %d %lf %zu %zu %zu", nm, &V, &mask, &lam, &T, &t, &n), 7);
    assert_true(V <= MAX_V && n <= MAX_N);

    float counts[MAX_V];
    int32_t x[MAX_N], anchor[MAX_N];
    assert_non_null(fgets(line, LINE, f));
    assert_int_equal(read_numbers(line, num, MAX_V), V);
    for (size_t v = 0; v < V; v++)
        counts[v] = (float)num[v];
    assert_non_null(fgets(line, LINE, f));
    assert_int_equal(read_numbers(line, num, MAX_N), n);
    for (size_t i = 0; i < n; i++)
        x[i] = anchor[i] = (int32_t)num[i];

    test_alloc ta = {0};
    tdiff_host host;
    test_host_init(&host, &ta);
    tdiff_scheduler *sc = NULL;
    assert_int_equal(tdiff_scheduler_create(TDIFF_SCHEDULE_SPINDLE, &host, &sc, NULL, 0), TDIFF_OK);
    assert_int_equal(tdiff_scheduler_set_float(sc, TDIFF_SCHEDULER_SPINDLE_LAMBDA, lam), TDIFF_OK);
    assert_int_equal(tdiff_scheduler_set_token_counts(sc, counts, V), TDIFF_OK);

    /* the masked rows: logits, then the reference posterior */
    size_t n_rows = 0, pos[MAX_N];
    double(*p0)[MAX_V] = test_calloc(MAX_N, sizeof *p0), (*ref)[MAX_V] = test_calloc(MAX_N, sizeof *ref);
    while (fgets(line, LINE, f) && strncmp(line, "end", 3)) {
        size_t p;
        if (sscanf(line, "logits %zu", &p) == 1) {
            assert_int_equal(read_numbers(line, num, MAX_V), V + 1);
            pos[n_rows] = p;
            for (size_t v = 0; v < V; v++) /* as tdiff__row_prepare: float logits, the mask -inf (SUBS) */
                p0[n_rows][v] = (int)v == mask ? -INFINITY : (double)(float)num[v + 1];
            anchor[p] = (int32_t)tdiff__argmax64(p0[n_rows], V);
            tdiff__softmax64(p0[n_rows], V);
        } else if (sscanf(line, "prob %zu", &p) == 1) {
            assert_int_equal(p, pos[n_rows]);
            assert_int_equal(read_numbers(line, num, MAX_V), V + 1);
            memcpy(ref[n_rows], num + 1, V * sizeof *num);
            n_rows++;
        }
    }
    fclose(f);
    assert_true(n_rows > 0);
    const double mean = tdiff__sched_spindle_mean(sc, anchor, n);
    const double beta = 1.0 / (double)(T - t + 1), s = (double)(t - 1) / (double)T;
    double worst = 0.0, post[MAX_V];
    for (size_t j = 0; j < n_rows; j++) {
        assert_int_equal(x[pos[j]], mask);
        tdiff__spindle_posterior(p0[j], V, mask, tdiff__sched_spindle_keep1(sc, anchor[pos[j]], mean, s), beta, post);
        for (size_t v = 0; v < V; v++) {
            double d = fabs(post[v] - ref[j][v]);
            if (d > 1e-12 * fabs(ref[j][v]) + 1e-18)
                fail_msg("%s: position %zu token %zu: %.17g, reference %.17g", name, pos[j], v, post[v], ref[j][v]);
            if (ref[j][v] > 0.0)
                worst = fmax(worst, d / ref[j][v]);
        }
    }
    print_message("%-14s V %3zu  t %2zu/%-2zu  %zu rows  max rel |dq| %.2g (tol 1e-12)\n", name, V, t, T, n_rows, worst);
    tdiff_scheduler_free(sc);
    assert_int_equal(ta.live, 0);
    test_free(p0);
    test_free(ref);
    test_free(num);
    test_free(line);
}

typedef struct recording {
    size_t count, n;
    int32_t tokens[MAX_STEPS][MAX_N];
    float conf[MAX_STEPS][MAX_N];
} recording;

static int record_step(void *ud, size_t step, size_t n_steps, const int32_t *canvas, size_t n, const float *conf)
{
    (void)step;
    (void)n_steps;
    recording *r = ud;
    if (r->count >= MAX_STEPS || n > MAX_N)
        return 1;
    r->n = n;
    memcpy(r->tokens[r->count], canvas, n * sizeof *canvas);
    memcpy(r->conf[r->count], conf, n * sizeof *conf);
    r->count++;
    return 0;
}

static void test_trajectory_matches_reference(void **state)
{
    const char *name = *state;
    char *line = test_malloc(LINE);
    double *num = test_malloc(MAX_V * sizeof *num);
    FILE *f = seek_case(name, line);
    char model[128] = "", pname[64];
    double lam = 0.3, tol_rel = 0, tol_abs = 0, v;
    float counts[MAX_V];
    size_t V = 0, n = 0, n_prompt = 0, n_steps = 0, k = 0;
    int32_t canvas[MAX_N], tokens[MAX_STEPS][MAX_N];
    double conf[MAX_STEPS][MAX_N];
    tdiff_sampler_param ip[8];
    int64_t iv[8];
    size_t n_int = 0;
    while (fgets(line, LINE, f) && strncmp(line, "end", 3)) {
        if (sscanf(line, "model %127s", model) == 1 || sscanf(line, "lambda %lf", &lam) == 1 ||
            sscanf(line, "tol %lf %lf", &tol_rel, &tol_abs) == 2 || sscanf(line, "steps %zu", &n_steps) == 1) {
            continue;
        } else if (!strncmp(line, "counts ", 7)) {
            V = read_numbers(line, num, MAX_V);
            for (size_t i = 0; i < V; i++)
                counts[i] = (float)num[i];
        } else if (!strncmp(line, "canvas ", 7)) {
            size_t m = read_numbers(line, num, MAX_N + 1);
            n_prompt = (size_t)num[0];
            n = m - 1;
            for (size_t i = 0; i < n; i++)
                canvas[i] = (int32_t)num[i + 1];
        } else if (sscanf(line, "int %63s %lf", pname, &v) == 2) {
            ip[n_int] = !strcmp(pname, "SEED") ? TDIFF_SAMPLER_SEED
                        : !strcmp(pname, "STEPS") ? TDIFF_SAMPLER_STEPS : TDIFF_SAMPLER_GEN_LENGTH;
            iv[n_int++] = (int64_t)v;
        } else if (!strncmp(line, "step ", 5)) {
            assert_true(k < MAX_STEPS);
            read_numbers(line, num, MAX_N + 1);
            for (size_t i = 0; i < n; i++)
                tokens[k][i] = (int32_t)num[i + 1];
        } else if (!strncmp(line, "conf ", 5)) {
            assert_int_equal(read_numbers(line, num, MAX_N), n); /* strtod reads "nan" */
            memcpy(conf[k++], num, n * sizeof *num);
        }
    }
    fclose(f);
    assert_int_equal(k, n_steps);

    test_alloc ta = {0};
    tdiff_host host;
    test_host_init(&host, &ta);
    char rel[256], path[1024], err[256] = "";
    snprintf(rel, sizeof rel, "tests/parity/data/%s", model);
    tdiff_model *m = NULL;
    if (tdiff_model_load_file(test_source_path(path, sizeof path, rel), &host, &m, err, sizeof err) != TDIFF_OK)
        fail_msg("load %s: %s", path, err);
    tdiff_scheduler *sc = NULL;
    assert_int_equal(tdiff_scheduler_create(TDIFF_SCHEDULE_SPINDLE, &host, &sc, NULL, 0), TDIFF_OK);
    assert_int_equal(tdiff_scheduler_set_float(sc, TDIFF_SCHEDULER_SPINDLE_LAMBDA, lam), TDIFF_OK);
    assert_int_equal(tdiff_scheduler_set_token_counts(sc, counts, V), TDIFF_OK);
    tdiff_sampler *s = NULL;
    assert_int_equal(tdiff_sampler_create(m, &host, &s, NULL, 0), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_STRATEGY, TDIFF_STRATEGY_SPINDLE), TDIFF_OK);
    assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_CUT_AT_EOS, 0), TDIFF_OK);
    for (size_t i = 0; i < n_int; i++)
        assert_int_equal(tdiff_sampler_set_int(s, ip[i], iv[i]), TDIFF_OK);
    /* without the scheduler the strategy refuses to start */
    int32_t out[MAX_N];
    size_t n_out = 0;
    tdiff_status st = tdiff_sampler_generate(s, canvas, n_prompt, out, MAX_N, &n_out);
    if (st != TDIFF_E_STATE)
        fail_msg("no scheduler: status %d (%s)", (int)st, tdiff_sampler_last_error(s));
    assert_int_equal(tdiff_sampler_set_scheduler(s, sc), TDIFF_OK);

    for (int threads = 1; threads <= 2; threads++) {
        recording *rec = test_calloc(1, sizeof *rec);
        assert_int_equal(tdiff_sampler_set_int(s, TDIFF_SAMPLER_N_THREADS, threads), TDIFF_OK);
        assert_int_equal(tdiff_sampler_set_callback(s, record_step, rec), TDIFF_OK);
        if (tdiff_sampler_generate(s, canvas, n_prompt, out, MAX_N, &n_out) != TDIFF_OK)
            fail_msg("generate: %s", tdiff_sampler_last_error(s));
        if (rec->count != n_steps)
            fail_msg("%zu steps, reference %zu", rec->count, n_steps);
        assert_int_equal(rec->n, n);
        double worst = 0.0;
        for (size_t j = 0; j < n_steps; j++) {
            for (size_t i = 0; i < n; i++) {
                if (rec->tokens[j][i] != tokens[j][i])
                    fail_msg("%s: step %zu position %zu: token %d, reference %d", name, j, i, rec->tokens[j][i],
                             tokens[j][i]);
                if (isnan(conf[j][i])) {
                    assert_true(isnan(rec->conf[j][i]));
                    continue;
                }
                double d = fabs((double)rec->conf[j][i] - conf[j][i]);
                if (d > tol_rel * fabs(conf[j][i]) + tol_abs)
                    fail_msg("%s: step %zu position %zu: q %.9g, reference %.9g", name, j, i, rec->conf[j][i],
                             conf[j][i]);
                worst = fmax(worst, d / fabs(conf[j][i]));
            }
        }
        assert_int_equal(n_out, n - n_prompt);
        assert_memory_equal(out, tokens[n_steps - 1] + n_prompt, n_out * sizeof *out);
        print_message("%-14s %d thread(s)  %2zu steps  tokens exact  max rel |dq| %.2g (tol %.0e)\n", name, threads,
                      n_steps, worst, tol_rel);
        test_free(rec);
    }
    tdiff_sampler_free(s);
    tdiff_scheduler_free(sc);
    tdiff_model_free(m);
    assert_int_equal(ta.live, 0);
    test_free(num);
    test_free(line);
}

int main(void)
{
    FILE *f = open_goldens();
    if (!f) {
        fprintf(stderr, "cannot open data/spindle.txt\n");
        return 1;
    }
    struct CMUnitTest tests[MAX_CASES];
    size_t count = 0;
    static char line[LINE];
    while (count < MAX_CASES && fgets(line, sizeof line, f)) {
        char kind[16], name[64];
        if (sscanf(line, "%15s %63s", kind, name) != 2 || (strcmp(kind, "post") && strcmp(kind, "traj")))
            continue;
        memcpy(case_names[count], name, sizeof name);
        tests[count] = (struct CMUnitTest){
            .name = case_names[count],
            .test_func = !strcmp(kind, "post") ? test_posterior_matches_reference : test_trajectory_matches_reference,
            .initial_state = case_names[count]};
        count++;
    }
    fclose(f);
    if (count == 0) {
        fprintf(stderr, "no cases in data/spindle.txt\n");
        return 1;
    }
    return _cmocka_run_group_tests("spindle_parity", tests, count, NULL, NULL);
}
