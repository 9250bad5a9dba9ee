/*
 * test_mix_parity.c -- the denoiser's mixture inputs (tdiff_denoiser_forward_mix)
 * against the PyTorch reference: for every case in data/mix_cases.txt (written
 * by make_mix_goldens.py: llada, dream, bert, a time-conditioned DiT, a Q8_0
 * file) feed the same tokens and (id, weight) lists and require
 * max|ours - reference| <= tol * max(1, max|reference|), tol = 1e-4 for F32
 * weights and 1e-3 for Q8_0 (the tolerances of the token-id parity suite).
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

static char case_names[MAX_CASES][256];

static uint32_t rd_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Copies `count` 4-byte values out of the (unaligned) blob. */
static void *take(const uint8_t *b, size_t *off, size_t count)
{
    void *p = test_malloc(count ? 4 * count : 4);
    memcpy(p, b + *off, 4 * count);
    *off += 4 * count;
    return p;
}

static void test_mixture_case_matches_reference(void **state)
{
    const char *name = *state;
    char rel[512], path[1024];
    snprintf(rel, sizeof rel, "tests/parity/data/%s.mgold", name);
    size_t size;
    uint8_t *b = test_read_file(test_source_path(path, sizeof path, rel), &size);
    assert_non_null(b);
    assert_true(size >= 36 && !memcmp(b, "TDMIX001", 8));
    uint32_t n = rd_u32(b + 8), nv = rd_u32(b + 12), name_len = rd_u32(b + 20), ne = rd_u32(b + 24);
    float t, tol;
    memcpy(&t, b + 28, 4);
    memcpy(&tol, b + 32, 4);
    char model[256];
    assert_true(name_len < sizeof model);
    memcpy(model, b + 36, name_len);
    model[name_len] = '\0';
    size_t off = 36 + name_len;
    assert_int_equal(off + 4 * ((size_t)n + n + 1 + 2 * (size_t)ne + (size_t)n * nv), size);
    int32_t *tokens = take(b, &off, n);
    uint32_t *off32 = take(b, &off, n + 1);
    int32_t *ids = take(b, &off, ne);
    float *weights = take(b, &off, ne);
    float *ref = take(b, &off, (size_t)n * nv);
    size_t offsets[64];
    assert_true(n < 64);
    for (size_t i = 0; i <= n; i++)
        offsets[i] = off32[i];

    test_alloc ta = {0};
    tdiff_host host;
    test_host_init(&host, &ta);
    tdiff_model *m = NULL;
    char err[256] = "";
    snprintf(rel, sizeof rel, "tests/parity/data/%s", model);
    if (tdiff_model_load_file(test_source_path(path, sizeof path, rel), &host, &m, err, sizeof err) != TDIFF_OK)
        fail_msg("load %s: %s", path, err);
    tdiff_denoiser *d = NULL;
    assert_int_equal(tdiff_denoiser_create(m, n + 3, 1, &host, &d, NULL, 0), TDIFF_OK);
    float *got = test_malloc((size_t)n * nv * sizeof *got);
    if (tdiff_denoiser_forward_mix(d, tokens, n, offsets, ids, weights, t, NULL, 0, got, (size_t)n * nv) != TDIFF_OK)
        fail_msg("forward_mix: %s", tdiff_denoiser_last_error(d));
    double ref_max = 0, diff_max = 0;
    for (size_t i = 0; i < (size_t)n * nv; i++) {
        ref_max = fmax(ref_max, fabs((double)ref[i]));
        diff_max = fmax(diff_max, fabs((double)got[i] - ref[i]));
    }
    double bound = tol * fmax(1.0, ref_max);
    print_message("%-22s max|ref| %.3f  max|diff| %.3g  bound %.3g\n", name, ref_max, diff_max, bound);
    assert_true(diff_max <= bound);
    test_free(got);
    tdiff_denoiser_free(d);
    tdiff_model_free(m);
    assert_int_equal(ta.live, 0);
    test_free(tokens);
    test_free(off32);
    test_free(ids);
    test_free(weights);
    test_free(ref);
    test_free(b);
}

int main(void)
{
    char path[1024];
    FILE *f = fopen(test_source_path(path, sizeof path, "tests/parity/data/mix_cases.txt"), "r");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        return 1;
    }
    struct CMUnitTest tests[MAX_CASES];
    size_t count = 0;
    char line[256];
    while (count < MAX_CASES && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0] || line[0] == '#')
            continue;
        memcpy(case_names[count], line, strlen(line) + 1); /* line < 256 bytes: fits */
        tests[count] = (struct CMUnitTest){.name = case_names[count],
                                           .test_func = test_mixture_case_matches_reference,
                                           .initial_state = case_names[count]};
        count++;
    }
    fclose(f);
    if (count == 0) {
        fprintf(stderr, "no cases in %s\n", path);
        return 1;
    }
    return _cmocka_run_group_tests("mix_parity", tests, count, NULL, NULL);
}
