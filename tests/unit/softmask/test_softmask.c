/*
 * test_softmask.c -- the soft-mask module's contract: the gate and mixture
 * weights against a float64 reference written here from the formula
 * (docs/algorithms.md §5), lambda's bounds and monotonicity, s = 0 and the first
 * step giving exactly the plain mask input (bit-identical logits through the
 * denoiser), the CSR layout of tdiff_softmask_build, parameters from the API
 * and from model keys, and argument checks.
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

#define V 50

/* Deterministic logits: a row with a chosen sharpness (scale), some -inf. */
static void make_row(float *row, size_t n, unsigned seed, double scale, int with_neg_inf)
{
    uint32_t x = seed * 2654435761u + 12345u;
    for (size_t v = 0; v < n; v++) {
        x = x * 1664525u + 1013904223u;
        row[v] = (float)(scale * ((double)(x >> 8) / (double)(1u << 24) - 0.5));
    }
    if (with_neg_inf) {
        row[3] = -INFINITY;
        row[n - 1] = -INFINITY;
    }
}

/* The float64 reference: lambda and the k+1 weights/ids. */
static size_t ref_mix(const float *l, size_t n, size_t k, double raw_s, double raw_c, double raw_a, int32_t mask,
                      int32_t *ids, double *w, double *lambda)
{
    double mx = -INFINITY, z = 0, nu = 0;
    float lm[V];
    memcpy(lm, l, n * sizeof *l);
    lm[mask] = -INFINITY;  /* the mask is never a prediction */
    l = lm;
    for (size_t v = 0; v < n; v++)
        mx = fmax(mx, l[v]);
    for (size_t v = 0; v < n; v++)
        z += exp((double)l[v] - mx);
    for (size_t v = 0; v < n; v++) {
        double lp = (double)l[v] - mx - log(z);
        if (isfinite(lp))
            nu += exp(lp) * lp;
    }
    double s = 1 / (1 + exp(-raw_s)), c = -log1p(exp(raw_c)), a = log1p(exp(raw_a));
    double lam = s / (1 + exp(-a * (nu - c)));
    /* top-k by selection: largest first, ties to the lower id */
    uint8_t used[V] = {0};
    size_t m = k < n ? k : n;
    double top[64], tz = 0;
    for (size_t j = 0; j < m; j++) {
        size_t best = n;
        for (size_t v = 0; v < n; v++)
            if (!used[v] && (best == n || l[v] > l[best]))
                best = v;
        used[best] = 1;
        ids[1 + j] = (int32_t)best;
        top[j] = l[best];
    }
    for (size_t j = 0; j < m; j++)
        tz += exp(top[j] - top[0]);
    ids[0] = mask;
    w[0] = 1 - lam;
    for (size_t j = 0; j < m; j++)
        w[1 + j] = lam * exp(top[j] - top[0]) / tz;
    *lambda = lam;
    return 1 + m;
}

static tdiff_softmask *make_sm(test_alloc *ta, tdiff_host *host, size_t nv)
{
    tdiff_softmask *sm = NULL;
    memset(ta, 0, sizeof *ta);
    test_host_init(host, ta);
    assert_int_equal(tdiff_softmask_create(NULL, nv, host, &sm, NULL, 0), TDIFF_OK);
    return sm;
}

/* Weights and lambda agree with the float64 reference to 2e-6 absolute (float32
 * log-softmax/exp/dot over 50 entries; the gate's slope a*s/4 <= 1.25 keeps the
 * error of nu from growing), ids exactly, for several parameter sets, k and rows. */
static void test_mixture_matches_float64_reference(void **state)
{
    (void)state;
    test_alloc ta;
    tdiff_host host;
    tdiff_softmask *sm = make_sm(&ta, &host, V);
    const double params[][3] = {{-1.0986122886681098, 0.541324854612918, 4.993239250550511},
                                {0.3, -2.0, 1.5},
                                {2.0, 1.0, 0.2},
                                {-0.5, 3.0, 8.0}};
    const size_t ks[] = {1, 3, 5, 64};
    const double scales[] = {0.1, 2.0, 10.0, 60.0};
    double worst = 0;
    size_t cases = 0;
    for (size_t pi = 0; pi < 4; pi++)
        for (size_t ki = 0; ki < 4; ki++)
            for (size_t si = 0; si < 4; si++)
                for (int ninf = 0; ninf < 2; ninf++) {
                    assert_int_equal(tdiff_softmask_set_float(sm, TDIFF_SOFTMASK_RAW_S, params[pi][0]), TDIFF_OK);
                    assert_int_equal(tdiff_softmask_set_float(sm, TDIFF_SOFTMASK_RAW_C, params[pi][1]), TDIFF_OK);
                    assert_int_equal(tdiff_softmask_set_float(sm, TDIFF_SOFTMASK_RAW_A, params[pi][2]), TDIFF_OK);
                    assert_int_equal(tdiff_softmask_set_int(sm, TDIFF_SOFTMASK_TOP_K, (int64_t)ks[ki]), TDIFF_OK);
                    float row[V], w[65], lam;
                    int32_t ids[65], rids[65];
                    double rw[65], rlam;
                    make_row(row, V, (unsigned)(pi * 31 + si * 7 + (unsigned)ninf), scales[si], ninf);
                    size_t n = 0;
                    assert_int_equal(tdiff_softmask_mix_position(sm, row, 7, ids, w, 65, &n, &lam), TDIFF_OK);
                    size_t rn = ref_mix(row, V, ks[ki], params[pi][0], params[pi][1], params[pi][2], 7, rids, rw,
                                        &rlam);
                    assert_int_equal(n, rn);
                    assert_memory_equal(ids, rids, n * sizeof ids[0]);
                    worst = fmax(worst, fabs(lam - rlam));
                    for (size_t j = 0; j < n; j++)
                        worst = fmax(worst, fabs(w[j] - rw[j]));
                    cases++;
                }
    print_message("softmask vs float64: %zu cases, worst |diff| %.3g\n", cases, worst);
    assert_true(worst <= 2e-6);
    tdiff_softmask_free(sm);
    assert_int_equal(ta.live, 0);
}

/* 0 < lambda < s for every confidence from uniform (nu = -log V) to one-hot
 * (nu = 0); lambda grows with confidence; the weights sum to 1 within 1e-6. */
static void test_lambda_is_bounded_and_grows_with_confidence(void **state)
{
    (void)state;
    test_alloc ta;
    tdiff_host host;
    tdiff_softmask *sm = make_sm(&ta, &host, V);
    double s;
    assert_int_equal(tdiff_softmask_get_float(sm, TDIFF_SOFTMASK_S, &s), TDIFF_OK);
    assert_true(fabs(s - 0.25) < 1e-12);  /* the documented default */
    float prev = -1.0f;
    for (int step = 0; step <= 40; step++) {
        float row[V], w[4], lam;
        int32_t ids[4];
        size_t n;
        for (size_t v = 0; v < V; v++)
            row[v] = v == 11 ? (float)step * 0.5f : 0.0f;  /* step 0: uniform */
        assert_int_equal(tdiff_softmask_mix_position(sm, row, 0, ids, w, 4, &n, &lam), TDIFF_OK);
        assert_true(lam > 0.0f);
        assert_true((double)lam < s);
        assert_true(lam >= prev);
        if (step >= 1 && step <= 12)
            assert_true(lam > prev);  /* strictly rising while the prediction sharpens (float saturates later) */
        prev = lam;
        assert_int_equal(ids[1], step == 0 ? 1 : 11);  /* 0 is the mask: never a prediction */
        double sum = 0;
        for (size_t j = 0; j < n; j++) {
            assert_true(w[j] >= 0.0f);
            sum += w[j];
        }
        assert_true(fabs(sum - 1.0) <= 1e-6);
    }
    /* a sharp prediction mixes in far more than a flat one */
    assert_true(prev > 0.2f);
    tdiff_softmask_free(sm);
    assert_int_equal(ta.live, 0);
}

/* ---- through the denoiser ---- */

#define NTOK 10
#define MASK 319

typedef struct dfx {
    test_alloc ta;
    tdiff_host host;
    tdiff_model *m;
    tdiff_denoiser *d;
    tdiff_softmask *sm;
} dfx;

static void open_dfx(dfx *f)
{
    char path[1024], err[256] = "";
    memset(f, 0, sizeof *f);
    test_host_init(&f->host, &f->ta);
    if (tdiff_model_load_file(test_source_path(path, sizeof path, "tests/parity/data/llada-f32.gguf"), &f->host,
                              &f->m, err, sizeof err) != TDIFF_OK)
        fail_msg("load %s: %s", path, err);
    assert_int_equal(tdiff_denoiser_create(f->m, 16, 1, &f->host, &f->d, NULL, 0), TDIFF_OK);
    int64_t nv;
    assert_int_equal(tdiff_denoiser_get_int(f->d, TDIFF_DENOISER_N_VOCAB, &nv), TDIFF_OK);
    assert_int_equal(tdiff_softmask_create(f->m, (size_t)nv, &f->host, &f->sm, NULL, 0), TDIFF_OK);
}

static void close_dfx(dfx *f)
{
    tdiff_softmask_free(f->sm);
    tdiff_denoiser_free(f->d);
    tdiff_model_free(f->m);
    assert_int_equal(f->ta.live, 0);
}

static const int32_t seq[NTOK] = {5, MASK, 17, MASK, MASK, 300, 2, MASK, 99, MASK};

/* Step logits of the sequence as a sampler would hold them. */
static float *step_logits(dfx *f, const int32_t *tokens)
{
    float *lg = test_malloc(NTOK * 320 * sizeof(float));
    assert_int_equal(tdiff_denoiser_forward(f->d, tokens, NTOK, NULL, 0, lg, NTOK * 320), TDIFF_OK);
    return lg;
}

/* First step (no previous logits) and s = 0 (raw_s = -inf) both give logits
 * bit-identical to the plain masked input; with the default s they differ. */
static void test_first_step_and_zero_s_are_exactly_plain_masking(void **state)
{
    (void)state;
    dfx f;
    open_dfx(&f);
    float *plain = step_logits(&f, seq);
    float *got = test_malloc(NTOK * 320 * sizeof(float));
    size_t off[NTOK + 1], cap = NTOK * 4, ne;
    int32_t ids[NTOK * 4];
    float w[NTOK * 4], lam[NTOK];
    /* first step */
    assert_int_equal(tdiff_softmask_build(f.sm, seq, NTOK, MASK, NULL, NULL, 0, off, ids, w, cap, &ne, lam), TDIFF_OK);
    assert_int_equal(ne, 5);  /* one (mask, 1) per masked position */
    assert_int_equal(tdiff_denoiser_forward_mix(f.d, seq, NTOK, off, ids, w, 0, NULL, 0, got, NTOK * 320), TDIFF_OK);
    assert_memory_equal(plain, got, NTOK * 320 * sizeof(float));
    /* a gate open at this tiny random model's near-uniform predictions (nu ~ -log 320
     * = -5.8; c = -softplus(6) ~ -6) feeds back and changes the logits */
    assert_int_equal(tdiff_softmask_set_float(f.sm, TDIFF_SOFTMASK_RAW_C, 6.0), TDIFF_OK);
    assert_int_equal(tdiff_softmask_build(f.sm, seq, NTOK, MASK, plain, NULL, 0, off, ids, w, cap, &ne, lam),
                     TDIFF_OK);
    assert_int_equal(ne, 5 * 4);
    assert_true(lam[1] > 0.05f && lam[0] == 0.0f);
    assert_int_equal(tdiff_denoiser_forward_mix(f.d, seq, NTOK, off, ids, w, 0, NULL, 0, got, NTOK * 320), TDIFF_OK);
    assert_memory_not_equal(plain, got, NTOK * 320 * sizeof(float));
    /* s = 0 */
    assert_int_equal(tdiff_softmask_set_float(f.sm, TDIFF_SOFTMASK_RAW_S, -INFINITY), TDIFF_OK);
    double s;
    assert_int_equal(tdiff_softmask_get_float(f.sm, TDIFF_SOFTMASK_S, &s), TDIFF_OK);
    assert_true(s == 0.0);
    assert_int_equal(tdiff_softmask_build(f.sm, seq, NTOK, MASK, plain, NULL, 0, off, ids, w, cap, &ne, lam),
                     TDIFF_OK);
    for (size_t i = 0; i < NTOK; i++)
        for (size_t e = off[i]; e < off[i + 1]; e++)
            assert_true(w[e] == (e == off[i] ? 1.0f : 0.0f));
    assert_int_equal(tdiff_denoiser_forward_mix(f.d, seq, NTOK, off, ids, w, 0, NULL, 0, got, NTOK * 320), TDIFF_OK);
    assert_memory_equal(plain, got, NTOK * 320 * sizeof(float));
    test_free(got);
    test_free(plain);
    close_dfx(&f);
}

/* The CSR layout: unmasked positions empty, masked ones with a row get 1 + k
 * entries in position order, masked ones without a row (mask, 1); rows are
 * found through prev_positions; too small a buffer reports the need. */
static void test_build_lays_out_lists_by_position(void **state)
{
    (void)state;
    dfx f;
    open_dfx(&f);
    float *all = step_logits(&f, seq);
    /* rows for positions 9 and 3 only (in that order), plus an unmasked 0 */
    const uint32_t pp[3] = {9, 3, 0};
    float *rows = test_malloc(3 * 320 * sizeof(float));
    for (size_t r = 0; r < 3; r++)
        memcpy(rows + r * 320, all + pp[r] * 320, 320 * sizeof(float));
    size_t off[NTOK + 1], ne;
    int32_t ids[40];
    float w[40], lam[NTOK];
    assert_int_equal(tdiff_softmask_build(f.sm, seq, NTOK, MASK, rows, pp, 3, off, ids, w, 5, &ne, lam),
                     TDIFF_E_BUFFER_TOO_SMALL);
    assert_int_equal(ne, 2 * 4 + 3);
    assert_int_equal(tdiff_softmask_build(f.sm, seq, NTOK, MASK, rows, pp, 3, off, ids, w, 40, &ne, lam), TDIFF_OK);
    const size_t want_off[NTOK + 1] = {0, 0, 1, 1, 5, 6, 6, 6, 7, 7, 11};
    assert_memory_equal(off, want_off, sizeof want_off);
    /* position 3's list equals mix_position on its own row */
    int32_t pid[4];
    float pw[4], plam;
    size_t pn;
    assert_int_equal(tdiff_softmask_mix_position(f.sm, all + 3 * 320, MASK, pid, pw, 4, &pn, &plam), TDIFF_OK);
    assert_int_equal(pn, 4);
    assert_memory_equal(ids + 1, pid, sizeof pid);
    assert_memory_equal(w + 1, pw, sizeof pw);
    assert_true(lam[3] == plam && lam[1] == 0.0f && lam[0] == 0.0f);
    assert_true(ids[0] == MASK && w[0] == 1.0f);  /* position 1: no row */
    /* bad inputs */
    const uint32_t bad_pp[1] = {NTOK};
    assert_int_equal(tdiff_softmask_build(f.sm, seq, NTOK, MASK, rows, bad_pp, 1, off, ids, w, 40, &ne, lam),
                     TDIFF_E_INVALID_ARGUMENT);
    rows[320 + 4] = NAN;  /* row of position 3 */
    assert_int_equal(tdiff_softmask_build(f.sm, seq, NTOK, MASK, rows, pp, 3, off, ids, w, 40, &ne, lam),
                     TDIFF_E_INVALID_ARGUMENT);
    assert_non_null(strstr(tdiff_softmask_last_error(f.sm), "NaN"));
    assert_int_equal(tdiff_softmask_build(f.sm, seq, NTOK, 320, NULL, NULL, 0, off, ids, w, 40, &ne, lam),
                     TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_softmask_build(f.sm, seq, 0, MASK, NULL, NULL, 0, off, ids, w, 40, &ne, lam),
                     TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_softmask_build(f.sm, NULL, NTOK, MASK, NULL, NULL, 0, off, ids, w, 40, &ne, lam),
                     TDIFF_E_INVALID_ARGUMENT);
    test_free(rows);
    test_free(all);
    close_dfx(&f);
}

/* Parameters: bounds, read-only ones, kinds; a row that is all -inf or +inf. */
static void test_parameters_and_rows_are_checked(void **state)
{
    (void)state;
    test_alloc ta;
    tdiff_host host;
    tdiff_softmask *sm = make_sm(&ta, &host, V);
    int64_t k;
    assert_int_equal(tdiff_softmask_get_int(sm, TDIFF_SOFTMASK_TOP_K, &k), TDIFF_OK);
    assert_int_equal(k, 3);
    assert_int_equal(tdiff_softmask_get_int(sm, TDIFF_SOFTMASK_FROM_MODEL, &k), TDIFF_OK);
    assert_int_equal(k, 0);
    assert_int_equal(tdiff_softmask_set_int(sm, TDIFF_SOFTMASK_TOP_K, 0), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_softmask_set_int(sm, TDIFF_SOFTMASK_TOP_K, 65), TDIFF_E_INVALID_ARGUMENT);
    assert_string_equal(tdiff_softmask_last_error(sm), "top_k: 65 is outside [1, 64]");
    assert_int_equal(tdiff_softmask_set_int(sm, TDIFF_SOFTMASK_FROM_MODEL, 1), TDIFF_E_INVALID_ARGUMENT);
    assert_string_equal(tdiff_softmask_last_error(sm), "from_model is read-only");
    assert_int_equal(tdiff_softmask_set_int(sm, TDIFF_SOFTMASK_RAW_S, 1), TDIFF_E_INVALID_ARGUMENT);
    assert_string_equal(tdiff_softmask_last_error(sm), "raw_s is not an integer parameter");
    assert_int_equal(tdiff_softmask_set_float(sm, TDIFF_SOFTMASK_S, 0.5), TDIFF_E_INVALID_ARGUMENT);
    assert_string_equal(tdiff_softmask_last_error(sm), "s is read-only");
    assert_int_equal(tdiff_softmask_set_float(sm, (tdiff_softmask_param)50, 0.5), TDIFF_E_INVALID_ARGUMENT);
    assert_string_equal(tdiff_softmask_last_error(sm), "unknown soft-mask parameter 50");
    assert_int_equal(tdiff_softmask_set_float(sm, TDIFF_SOFTMASK_RAW_C, -INFINITY), TDIFF_E_INVALID_ARGUMENT);
    assert_string_equal(tdiff_softmask_last_error(sm), "raw_c: -inf is not finite");
    assert_int_equal(tdiff_softmask_set_float(sm, TDIFF_SOFTMASK_RAW_A, NAN), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_softmask_set_float(sm, TDIFF_SOFTMASK_RAW_S, INFINITY), TDIFF_E_INVALID_ARGUMENT);
    assert_string_equal(tdiff_softmask_last_error(sm), "raw_s: inf is not finite or -inf");
    double c, a;
    assert_int_equal(tdiff_softmask_get_float(sm, TDIFF_SOFTMASK_C, &c), TDIFF_OK);
    assert_int_equal(tdiff_softmask_get_float(sm, TDIFF_SOFTMASK_A, &a), TDIFF_OK);
    if (!(fabs(c + 1.0) < 1e-12 && fabs(a - 5.0) < 1e-12))
        fail_msg("default c %.17g a %.17g", c, a);
    assert_int_equal(tdiff_softmask_get_float(sm, TDIFF_SOFTMASK_TOP_K, &a), TDIFF_E_INVALID_ARGUMENT);
    float row[V], w[4];
    int32_t ids[4];
    size_t n;
    for (size_t v = 0; v < V; v++)
        row[v] = -INFINITY;
    assert_int_equal(tdiff_softmask_mix_position(sm, row, 0, ids, w, 4, &n, NULL), TDIFF_E_INVALID_ARGUMENT);
    row[5] = INFINITY;
    assert_int_equal(tdiff_softmask_mix_position(sm, row, 0, ids, w, 4, &n, NULL), TDIFF_E_INVALID_ARGUMENT);
    row[0] = 9.0f;  /* only the mask's logit is finite: nothing to mix */
    assert_int_equal(tdiff_softmask_mix_position(sm, row, 0, ids, w, 4, &n, NULL), TDIFF_E_INVALID_ARGUMENT);
    row[5] = 1.0f;  /* one finite logit besides the mask's: one-hot, fine */
    assert_int_equal(tdiff_softmask_mix_position(sm, row, 0, ids, w, 4, &n, NULL), TDIFF_OK);
    assert_int_equal(ids[1], 5);
    assert_true(w[2] == 0.0f && w[3] == 0.0f);
    assert_int_equal(tdiff_softmask_mix_position(sm, row, 0, ids, w, 3, &n, NULL), TDIFF_E_BUFFER_TOO_SMALL);
    assert_int_equal(n, 4);
    assert_int_equal(tdiff_softmask_mix_position(sm, row, V, ids, w, 4, &n, NULL), TDIFF_E_INVALID_ARGUMENT);
    tdiff_softmask *none = NULL;
    assert_int_equal(tdiff_softmask_create(NULL, 0, &host, &none, NULL, 0), TDIFF_E_INVALID_ARGUMENT);
    assert_null(none);
    assert_int_equal(tdiff_softmask_create(NULL, V, &host, NULL, NULL, 0), TDIFF_E_INVALID_ARGUMENT);
    tdiff_softmask_free(sm);
    assert_int_equal(ta.live, 0);
}

/* A greedy confidence sampler written out here the way docs/softmask.md tells
 * samplers to integrate soft masking: build from the previous step's rows,
 * forward_mix, unmask the 2 most confident positions. Writes the final tokens. */
static void greedy_run(dfx *f, int soft, int32_t *out)
{
    enum { N = 14 };
    int32_t x[N];
    uint32_t pos[N], prev_pos[N];
    size_t na, prev_na = 0, off[N + 1], ne;
    int32_t ids[N * 4];
    float w[N * 4];
    float *lg = test_malloc(N * 320 * sizeof(float));
    int have_prev = 0;
    for (size_t i = 0; i < N; i++)
        x[i] = i < 3 ? (int32_t)(40 + i) : MASK;
    for (;;) {
        na = 0;
        for (size_t i = 0; i < N; i++)
            if (x[i] == MASK)
                pos[na++] = (uint32_t)i;
        if (na == 0)
            break;
        if (soft) {
            assert_int_equal(tdiff_softmask_build(f->sm, x, N, MASK, have_prev ? lg : NULL, prev_pos, prev_na, off,
                                                  ids, w, N * 4, &ne, NULL),
                             TDIFF_OK);
            assert_int_equal(tdiff_denoiser_forward_mix(f->d, x, N, off, ids, w, 0, pos, na, lg, N * 320), TDIFF_OK);
        } else {
            assert_int_equal(tdiff_denoiser_forward(f->d, x, N, pos, na, lg, N * 320), TDIFF_OK);
        }
        for (int pick = 0; pick < 2; pick++) {
            size_t best_r = na;
            int32_t best_v = 0;
            float best = -INFINITY;
            for (size_t r = 0; r < na; r++) {
                if (x[pos[r]] != MASK)
                    continue;
                for (int32_t v = 0; v < 320; v++)
                    if (v != MASK && lg[r * 320 + (size_t)v] > best) {
                        best = lg[r * 320 + (size_t)v];
                        best_r = r;
                        best_v = v;
                    }
            }
            if (best_r < na)
                x[pos[best_r]] = best_v;
        }
        memcpy(prev_pos, pos, na * sizeof pos[0]);
        prev_na = na;
        have_prev = 1;
    }
    memcpy(out, x, sizeof x);
    test_free(lg);
}

/* A whole greedy trajectory: soft masking with s = 0 yields exactly the tokens
 * of plain masking; with an open gate it runs to completion (every mask filled)
 * on the same code path. */
static void test_trajectory_with_zero_s_equals_plain_masking(void **state)
{
    (void)state;
    dfx f;
    open_dfx(&f);
    int32_t plain[14], soft0[14], soft[14];
    greedy_run(&f, 0, plain);
    assert_int_equal(tdiff_softmask_set_float(f.sm, TDIFF_SOFTMASK_RAW_S, -INFINITY), TDIFF_OK);
    greedy_run(&f, 1, soft0);
    assert_memory_equal(plain, soft0, sizeof plain);
    assert_int_equal(tdiff_softmask_set_float(f.sm, TDIFF_SOFTMASK_RAW_S, 0.0), TDIFF_OK);
    assert_int_equal(tdiff_softmask_set_float(f.sm, TDIFF_SOFTMASK_RAW_C, 6.0), TDIFF_OK);
    greedy_run(&f, 1, soft);
    size_t differ = 0;
    for (size_t i = 0; i < 14; i++) {
        assert_true(soft[i] != MASK);
        differ += soft[i] != plain[i];
    }
    print_message("open gate (s = 0.5, c ~ -6): %zu of 11 generated tokens differ from plain masking\n", differ);
    close_dfx(&f);
}

/* ---- model keys ---- */

/* A minimal GGUF v3 holding general.architecture = "tdiff" and the given
 * tdiff.softmask.* keys (type 6 = f32, 4 = u32). */
static size_t gguf_with_keys(uint8_t *buf, const float *raw, uint32_t k, int k_as_float)
{
    size_t o = 0;
#define PUT(p, n) (memcpy(buf + o, (p), (n)), o += (n))
    uint32_t u32;
    uint64_t u64;
    static const char *names[3] = {"tdiff.softmask.raw_s", "tdiff.softmask.raw_c", "tdiff.softmask.raw_a"};
    PUT("GGUF", 4);
    u32 = 3, PUT(&u32, 4);
    u64 = 0, PUT(&u64, 8);
    u64 = 5, PUT(&u64, 8);
    u64 = 20, PUT(&u64, 8);
    PUT("general.architecture", 20);
    u32 = 8, PUT(&u32, 4);
    u64 = 5, PUT(&u64, 8);
    PUT("tdiff", 5);
    for (int i = 0; i < 3; i++) {
        u64 = strlen(names[i]), PUT(&u64, 8);
        PUT(names[i], strlen(names[i]));
        u32 = 6, PUT(&u32, 4);
        PUT(&raw[i], 4);
    }
    u64 = 16, PUT(&u64, 8);
    PUT("tdiff.softmask.k", 16);
    if (k_as_float) {
        float kf = (float)k;
        u32 = 6, PUT(&u32, 4);
        PUT(&kf, 4);
    } else {
        u32 = 4, PUT(&u32, 4);
        PUT(&k, 4);
    }
#undef PUT
    return o;
}

/* Values stored in the file become the handle's parameters; bad ones fail
 * creation with TDIFF_E_BAD_FORMAT. */
/* Every value of tdiff_softmask_param, in header order, and whether it is settable. */
static const struct {
    tdiff_softmask_param p;
    int settable;
} all_params[] = {
    {TDIFF_SOFTMASK_TOP_K, 1}, {TDIFF_SOFTMASK_RAW_S, 1}, {TDIFF_SOFTMASK_RAW_C, 1}, {TDIFF_SOFTMASK_RAW_A, 1},
    {TDIFF_SOFTMASK_S, 0},     {TDIFF_SOFTMASK_C, 0},     {TDIFF_SOFTMASK_A, 0},     {TDIFF_SOFTMASK_FROM_MODEL, 0},
};

static void test_every_parameter_name_round_trips_and_bounds_hold_the_defaults(void **state)
{
    (void)state;
    test_alloc ta;
    tdiff_host host;
    tdiff_softmask *sm = make_sm(&ta, &host, V);
    for (size_t i = 0; i < sizeof all_params / sizeof all_params[0]; i++) {
        tdiff_softmask_param p = all_params[i].p, back = (tdiff_softmask_param)0;
        const char *name = tdiff_softmask_param_name(p);
        assert_string_not_equal(name, "unknown");
        assert_int_equal(tdiff_softmask_param_from_name(name, &back), TDIFF_OK);
        assert_int_equal(back, p);
        double lo = NAN, hi = NAN, def = NAN;
        tdiff_status st = tdiff_softmask_param_bounds(p, &lo, &hi, &def);
        if (!all_params[i].settable) {
            assert_int_equal(st, TDIFF_E_INVALID_ARGUMENT);
            continue;
        }
        assert_int_equal(st, TDIFF_OK);
        assert_true(lo <= def && def <= hi);
        /* a handle made without a model holds exactly the defaults */
        double v;
        int64_t k;
        if (p == TDIFF_SOFTMASK_TOP_K) {
            assert_int_equal(tdiff_softmask_get_int(sm, p, &k), TDIFF_OK);
            v = (double)k;
        } else {
            assert_int_equal(tdiff_softmask_get_float(sm, p, &v), TDIFF_OK);
        }
        assert_true(v == def);
    }
    assert_string_equal(tdiff_softmask_param_name(TDIFF_SOFTMASK_TOP_K), "top_k");
    assert_string_equal(tdiff_softmask_param_name((tdiff_softmask_param)5), "unknown");
    tdiff_softmask_param p;
    assert_int_equal(tdiff_softmask_param_from_name("k", &p), TDIFF_E_NOT_FOUND);
    assert_int_equal(tdiff_softmask_param_from_name(NULL, &p), TDIFF_E_INVALID_ARGUMENT);
    double lo;
    assert_int_equal(tdiff_softmask_param_bounds(TDIFF_SOFTMASK_RAW_S, &lo, NULL, NULL), TDIFF_OK);
    assert_true(lo == -INFINITY); /* -inf is a value (s = 0) */
    tdiff_softmask_free(sm);
    assert_int_equal(ta.live, 0);
}

static void test_parameters_are_read_from_model_keys(void **state)
{
    (void)state;
    uint8_t buf[512];
    const float raw[3] = {0.5f, -1.25f, 2.0f};
    size_t len = gguf_with_keys(buf, raw, 5, 0);
    test_alloc ta = {0};
    tdiff_host host;
    test_host_init(&host, &ta);
    tdiff_model *m = NULL;
    char err[256] = "";
    if (tdiff_model_load_memory(buf, len, &host, &m, err, sizeof err) != TDIFF_OK)
        fail_msg("a metadata-only GGUF did not load: %s", err);
    tdiff_softmask *sm = NULL;
    assert_int_equal(tdiff_softmask_create(m, V, &host, &sm, NULL, 0), TDIFF_OK);
    double v;
    int64_t k;
    assert_int_equal(tdiff_softmask_get_float(sm, TDIFF_SOFTMASK_RAW_S, &v), TDIFF_OK);
    assert_true(v == 0.5);
    assert_int_equal(tdiff_softmask_get_float(sm, TDIFF_SOFTMASK_RAW_C, &v), TDIFF_OK);
    assert_true(v == -1.25);
    assert_int_equal(tdiff_softmask_get_float(sm, TDIFF_SOFTMASK_C, &v), TDIFF_OK);
    assert_true(fabs(v + log1p(exp(-1.25))) < 1e-12);
    assert_int_equal(tdiff_softmask_get_float(sm, TDIFF_SOFTMASK_RAW_A, &v), TDIFF_OK);
    assert_true(v == 2.0);
    assert_int_equal(tdiff_softmask_get_int(sm, TDIFF_SOFTMASK_TOP_K, &k), TDIFF_OK);
    assert_int_equal(k, 5);
    assert_int_equal(tdiff_softmask_get_int(sm, TDIFF_SOFTMASK_FROM_MODEL, &k), TDIFF_OK);
    assert_int_equal(k, 1);
    tdiff_softmask_free(sm);
    tdiff_model_free(m);
    /* k stored as a float, k = 0, a NaN raw value */
    const float nan_raw[3] = {0.5f, NAN, 2.0f};
    const struct {
        const float *raw;
        uint32_t k;
        int k_float;
    } bad[3] = {{raw, 5, 1}, {raw, 0, 0}, {nan_raw, 3, 0}};
    for (int i = 0; i < 3; i++) {
        len = gguf_with_keys(buf, bad[i].raw, bad[i].k, bad[i].k_float);
        assert_int_equal(tdiff_model_load_memory(buf, len, &host, &m, err, sizeof err), TDIFF_OK);
        sm = (tdiff_softmask *)&buf;  /* must be reset to NULL */
        assert_int_equal(tdiff_softmask_create(m, V, &host, &sm, NULL, 0), TDIFF_E_BAD_FORMAT);
        assert_null(sm);
        tdiff_model_free(m);
    }
    assert_int_equal(ta.live, 0);
}

/* Every allocation failure during creation (alone, or with every later one:
 * persistent) gives TDIFF_E_OUT_OF_MEMORY, a NULL handle and no leak; creation
 * then succeeds once nothing fails. */
static void test_create_survives_every_allocation_failure(void **state)
{
    (void)state;
    for (int mode = 0; mode < TEST_ALLOC_MODES; mode++) {
        long fail_at;
        for (fail_at = 1; fail_at < 10; fail_at++) {
            test_alloc ta = {.fail_at = fail_at, .persistent = mode};
            tdiff_host host;
            test_host_init(&host, &ta);
            tdiff_softmask *sm = NULL;
            tdiff_status st = tdiff_softmask_create(NULL, 1000, &host, &sm, NULL, 0);
            if (st == TDIFF_OK) {
                tdiff_softmask_free(sm);
                assert_int_equal(ta.live, 0);
                break;
            }
            assert_int_equal(st, TDIFF_E_OUT_OF_MEMORY);
            assert_null(sm);
            assert_int_equal(ta.live, 0);
        }
        assert_true(fail_at > 2);  /* both allocations (handle, scratch) were failed once */
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mixture_matches_float64_reference),
        cmocka_unit_test(test_lambda_is_bounded_and_grows_with_confidence),
        cmocka_unit_test(test_first_step_and_zero_s_are_exactly_plain_masking),
        cmocka_unit_test(test_build_lays_out_lists_by_position),
        cmocka_unit_test(test_trajectory_with_zero_s_equals_plain_masking),
        cmocka_unit_test(test_parameters_and_rows_are_checked),
        cmocka_unit_test(test_every_parameter_name_round_trips_and_bounds_hold_the_defaults),
        cmocka_unit_test(test_parameters_are_read_from_model_keys),
        cmocka_unit_test(test_create_survives_every_allocation_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
