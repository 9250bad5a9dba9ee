/*
 * cmd_forward.c -- `textdiff forward MODEL --tokens 1,2,3 [--positions ...]
 * [--t T] [--threads N] -o logits.npy`: runs the denoiser once and writes
 * float32 logits [rows, n_vocab] in NumPy .npy format, so anyone can compare
 * our numbers with another implementation.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "libtextdiff.h"

#define MAX_IDS 65536  /* reason: a command-line list longer than this is a mistake */

static int usage(FILE *f, int code)
{
    fprintf(f, "usage: textdiff forward MODEL --tokens 1,2,3 [--positions 0,2] [--t T] [--threads N] -o OUT.npy\n\n"
               "Runs the model's network once on the token ids and writes float32 logits in NumPy .npy\n"
               "format, shape [rows, n_vocab]: one row per --positions entry (default: every position).\n"
               "Row p predicts the token at position p (Dream's shifted logits are already undone).\n"
               "  --tokens IDS     the canvas as comma-separated token ids (required)\n"
               "  --positions IDS  canvas positions to return rows for (default: all)\n"
               "  -o OUT.npy       output file (required)\n"
               "  --t T        time-conditioning value for DiT models (sigma or t, as the model was trained)\n"
               "  --threads N  threads (default 1); results do not depend on it\n");
    return code;
}

/* NumPy format 1.0: magic, version, little-endian u16 header length, a Python
 * dict literal padded with spaces so the data starts at a multiple of 64. */
static int write_npy(const char *path, const float *data, size_t rows, size_t cols)
{
    char dict[128];
    int len = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (%zu, %zu), }", rows,
                       cols);
    if (len < 0 || (size_t)len >= sizeof dict)
        return -1;
    size_t hlen = (size_t)len + 1, total = 10 + hlen;
    size_t pad = (64 - total % 64) % 64;
    hlen += pad;
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hlen & 0xff),
                             (unsigned char)(hlen >> 8)};
    int ok = fwrite(pre, 1, 10, f) == 10 && fwrite(dict, 1, (size_t)len, f) == (size_t)len;
    for (size_t i = 0; ok && i < pad; i++)
        ok = fputc(' ', f) != EOF;
    ok = ok && fputc('\n', f) != EOF;
    /* the library computes in host order; .npy says little-endian ('<f4') */
    for (size_t i = 0; ok && i < rows * cols; i++) {
        unsigned char b[4];
        uint32_t u;
        memcpy(&u, &data[i], 4);
        b[0] = (unsigned char)u, b[1] = (unsigned char)(u >> 8), b[2] = (unsigned char)(u >> 16),
        b[3] = (unsigned char)(u >> 24);
        ok = fwrite(b, 1, 4, f) == 4;
    }
    if (fclose(f) != 0)
        ok = 0;
    return ok ? 0 : -1;
}

int cmd_forward(int argc, char **argv)
{
    const char *model_path = NULL, *tokens_s = NULL, *positions_s = NULL, *out_path = NULL;
    float t = 0.0f;
    int threads = 1, have_t = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (tool_is_help(a))
            return usage(stdout, 0);
        int has_val = i + 1 < argc;
        if (!strcmp(a, "--tokens") && has_val)
            tokens_s = argv[++i];
        else if (!strcmp(a, "--positions") && has_val)
            positions_s = argv[++i];
        else if (!strcmp(a, "-o") && has_val)
            out_path = argv[++i];
        else if (!strcmp(a, "--t") && has_val) {
            char *end;
            errno = 0;
            t = strtof(argv[++i], &end);
            if (*end || errno)
                return usage(stderr, 2);
            have_t = 1;
        } else if (!strcmp(a, "--threads") && has_val) {
            char *end;
            long v = strtol(argv[++i], &end, 10);
            if (*end || v < 1 || v > 256)
                return usage(stderr, 2);
            threads = (int)v;
        } else if (a[0] != '-' && !model_path)
            model_path = a;
        else
            return usage(stderr, 2);
    }
    if (!model_path || !tokens_s || !out_path)
        return usage(stderr, 2);

    int32_t *ids = malloc(MAX_IDS * sizeof *ids);
    int32_t *pos_ids = malloc(MAX_IDS * sizeof *pos_ids);
    uint32_t *pos = malloc(MAX_IDS * sizeof *pos);
    float *logits = NULL;
    tdiff_model *m = NULL;
    tdiff_denoiser *d = NULL;
    int rc = 1;
    if (!ids || !pos_ids || !pos) {
        fprintf(stderr, "textdiff: forward: out of memory\n");
        goto done;
    }
    long n = tool_parse_ids(tokens_s, ids, MAX_IDS), n_pos = 0;
    if (n <= 0) {
        fprintf(stderr, "textdiff: forward: --tokens needs comma-separated ids (at most %d)\n", MAX_IDS);
        rc = 2;
        goto done;
    }
    if (positions_s) {
        n_pos = tool_parse_ids(positions_s, pos_ids, MAX_IDS);
        if (n_pos <= 0) {
            fprintf(stderr, "textdiff: forward: --positions needs comma-separated positions\n");
            rc = 2;
            goto done;
        }
        for (long i = 0; i < n_pos; i++)
            pos[i] = (uint32_t)pos_ids[i];
    }
    char err[512];
    tdiff_status st = tdiff_model_load_file(model_path, NULL, &m, err, sizeof err);
    if (st != TDIFF_OK) {
        fprintf(stderr, "textdiff: forward: %s: %s\n", model_path, err);
        goto done;
    }
    st = tdiff_denoiser_create(m, (size_t)n, threads, NULL, &d, err, sizeof err);
    if (st != TDIFF_OK) {
        fprintf(stderr, "textdiff: forward: cannot create the denoiser: %s\n", err);
        goto done;
    }
    int64_t nv, tc;
    tdiff_denoiser_get_int(d, TDIFF_DENOISER_N_VOCAB, &nv);
    tdiff_denoiser_get_int(d, TDIFF_DENOISER_TIME_CONDITIONED, &tc);
    if (tc && !have_t) {
        fprintf(stderr, "textdiff: forward: this model is time-conditioned: pass --t\n");
        rc = 2;
        goto done;
    }
    size_t rows = positions_s ? (size_t)n_pos : (size_t)n;
    logits = malloc(rows * (size_t)nv * sizeof *logits);
    if (!logits) {
        fprintf(stderr, "textdiff: forward: out of memory for %zu x %lld logits\n", rows, (long long)nv);
        goto done;
    }
    st = tdiff_denoiser_forward_t(d, ids, (size_t)n, t, positions_s ? pos : NULL, rows, logits, rows * (size_t)nv);
    if (st != TDIFF_OK) {
        fprintf(stderr, "textdiff: forward: %s\n", tdiff_denoiser_last_error(d));
        goto done;
    }
    if (write_npy(out_path, logits, rows, (size_t)nv) != 0) {
        fprintf(stderr, "textdiff: forward: cannot write %s\n", out_path);
        goto done;
    }
    rc = 0;
done:
    free(logits);
    tdiff_denoiser_free(d);
    tdiff_model_free(m);
    free(ids);
    free(pos_ids);
    free(pos);
    return rc;
}
