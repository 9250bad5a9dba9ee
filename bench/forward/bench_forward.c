/*
 * bench_forward.c -- the denoiser's speed against the GEMMs it contains.
 *
 * Builds a random llada-shaped model in memory (default: 12 layers, d 768,
 * 12 heads, FFN 2048, vocab 32000 = ~110M parameters), runs tdiff_denoiser_forward
 * on `len` tokens (logits at every position) with `threads` threads, and then
 * times cblas_sgemm alone on exactly the matrix products of that forward pass
 * (Q, K, V, O, gate, up, down per layer; Q K^T and P V per head; the output
 * head), run as whole products with OpenBLAS itself using `threads` threads.
 * Reports the best of `reps` runs: time, GFLOP/s, and forward / GEMM-only.
 *
 * Usage: bench_forward [--threads 2] [--len 256] [--reps 3] [--type f32|f16|both]
 *                      [--layers 12] [--embd 768] [--heads 12] [--ff 2048] [--vocab 32000]
 */
#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "libtextdiff.h"

typedef struct shape {
    size_t layers, embd, heads, ff, vocab, len;
    int threads, reps;
} shape;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- a minimal GGUF v3 writer into a growing buffer ---- */

typedef struct buf {
    uint8_t *p;
    size_t n, cap;
} buf;

static void put(buf *b, const void *src, size_t n)
{
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 1 << 20;
        while (cap < b->n + n)
            cap *= 2;
        uint8_t *q = realloc(b->p, cap);
        if (!q) {
            fprintf(stderr, "bench_forward: out of memory\n");
            exit(1);
        }
        b->p = q, b->cap = cap;
    }
    memcpy(b->p + b->n, src, n);
    b->n += n;
}
static void put_u32(buf *b, uint32_t v) { put(b, &v, 4); }
static void put_u64(buf *b, uint64_t v) { put(b, &v, 8); }
static void put_str(buf *b, const char *s)
{
    put_u64(b, strlen(s));
    put(b, s, strlen(s));
}
static void kv_u32(buf *b, const char *k, uint32_t v) { put_str(b, k), put_u32(b, 4), put_u32(b, v); }
static void kv_f32(buf *b, const char *k, float v) { put_str(b, k), put_u32(b, 6), put(b, &v, 4); }
static void kv_str(buf *b, const char *k, const char *v) { put_str(b, k), put_u32(b, 8), put_str(b, v); }

typedef struct tinfo {
    char name[64];
    size_t ne0, ne1;   /* ne1 = 1 for vectors */
    int f16;
} tinfo;

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static float rnd(void)  /* uniform in [-0.05, 0.05): values of a trained-ish scale */
{
    rng_state ^= rng_state << 13, rng_state ^= rng_state >> 7, rng_state ^= rng_state << 17;
    return ((float)(rng_state >> 40) / 16777216.0f - 0.5f) * 0.1f;
}

static uint16_t f32_to_f16(float f)  /* round to nearest; inputs are small normals or subnormals */
{
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000;
    int32_t e = (int32_t)((x >> 23) & 0xff) - 127 + 15;
    uint32_t m = x & 0x7fffff;
    if (e <= 0) {
        if (e < -10)
            return (uint16_t)sign;
        m |= 0x800000;
        uint32_t shift = (uint32_t)(14 - e);
        return (uint16_t)(sign | ((m + (1u << (shift - 1))) >> shift));
    }
    uint32_t h = sign | ((uint32_t)e << 10) | (m >> 13);
    if (m & 0x1000)
        h++;
    return (uint16_t)h;
}

/* Where make_model put the F32 weights of one layer / the head (for GEMM-only). */
typedef struct layout {
    const float *q[64], *gate[64], *down[64], *head;
} layout;

/* The model as GGUF bytes (64-byte aligned buffer; data section aligned to 32).
 * lay (may be NULL) receives pointers to some weights inside the returned block. */
static uint8_t *make_model(const shape *s, int f16, size_t *size, layout *lay)
{
    size_t d = s->embd, nt = 0;
    size_t cap_t = 3 + 9 * s->layers;
    tinfo *ts = calloc(cap_t, sizeof *ts);
#define T(nm, a, b_, h) (snprintf(ts[nt].name, 64, "%s", nm), ts[nt].ne0 = (a), ts[nt].ne1 = (b_), ts[nt].f16 = (h), nt++)
    T("token_embd.weight", d, s->vocab, f16);
    T("output_norm.weight", d, 1, 0);
    T("output.weight", d, s->vocab, f16);
    for (size_t l = 0; l < s->layers; l++) {
        char nm[64];
#define L(what, a, b_, h) (snprintf(nm, 64, "blk.%zu.%s", l, what), T(nm, a, b_, h))
        L("attn_norm.weight", d, 1, 0);
        L("attn_q.weight", d, d, f16);
        L("attn_k.weight", d, d, f16);
        L("attn_v.weight", d, d, f16);
        L("attn_output.weight", d, d, f16);
        L("ffn_norm.weight", d, 1, 0);
        L("ffn_gate.weight", d, s->ff, f16);
        L("ffn_up.weight", d, s->ff, f16);
        L("ffn_down.weight", s->ff, d, f16);
#undef L
    }
#undef T
    buf b = {0};
    put(&b, "GGUF", 4);
    put_u32(&b, 3);
    put_u64(&b, nt);
    put_u64(&b, 14);
    kv_str(&b, "general.architecture", "llada");
    kv_u32(&b, "llada.context_length", 4096);
    kv_u32(&b, "llada.embedding_length", (uint32_t)d);
    kv_u32(&b, "llada.block_count", (uint32_t)s->layers);
    kv_u32(&b, "llada.feed_forward_length", (uint32_t)s->ff);
    kv_u32(&b, "llada.attention.head_count", (uint32_t)s->heads);
    kv_u32(&b, "llada.attention.head_count_kv", (uint32_t)s->heads);
    kv_f32(&b, "llada.attention.layer_norm_rms_epsilon", 1e-5f);
    kv_f32(&b, "llada.rope.freq_base", 500000.0f);
    kv_u32(&b, "llada.vocab_size", (uint32_t)s->vocab);
    kv_str(&b, "tokenizer.ggml.model", "gpt2");
    put_str(&b, "tokenizer.ggml.tokens"), put_u32(&b, 9), put_u32(&b, 8), put_u64(&b, s->vocab);
    for (size_t i = 0; i < s->vocab; i++) {
        char tok[32];
        snprintf(tok, sizeof tok, "t%zu", i);
        put_str(&b, tok);
    }
    kv_u32(&b, "tokenizer.ggml.mask_token_id", (uint32_t)s->vocab - 1);
    kv_u32(&b, "tokenizer.ggml.eos_token_id", (uint32_t)s->vocab - 2);
    uint64_t off = 0;
    for (size_t i = 0; i < nt; i++) {
        put_str(&b, ts[i].name);
        put_u32(&b, ts[i].ne1 > 1 ? 2 : 1);
        put_u64(&b, ts[i].ne0);
        if (ts[i].ne1 > 1)
            put_u64(&b, ts[i].ne1);
        put_u32(&b, ts[i].f16 ? 1 : 0);
        put_u64(&b, off);
        off += (ts[i].ne0 * ts[i].ne1 * (ts[i].f16 ? 2 : 4) + 31) & ~(uint64_t)31;
    }
    static const uint8_t zeros[32];
    put(&b, zeros, (32 - b.n % 32) % 32);
    size_t data0 = b.n, *offs = calloc(nt, sizeof *offs);
    for (size_t i = 0; i < nt; i++) {
        offs[i] = b.n - data0;
        size_t n = ts[i].ne0 * ts[i].ne1, bytes = n * (ts[i].f16 ? 2 : 4);
        size_t start = b.n;
        for (size_t j = 0; j < n; j++) {
            float v = ts[i].ne1 == 1 ? 1.0f + rnd() : rnd();  /* norms near 1, weights small */
            if (ts[i].f16) {
                uint16_t h = f32_to_f16(v);
                put(&b, &h, 2);
            } else {
                put(&b, &v, 4);
            }
        }
        put(&b, zeros, ((bytes + 31) & ~(size_t)31) - (b.n - start));
    }
    /* copy into a 64-byte aligned block so F32 tensors are float-aligned in place */
    uint8_t *out = aligned_alloc(64, (b.n + 63) & ~(size_t)63);
    memcpy(out, b.p, b.n);
    free(b.p);
    if (lay) {
        for (size_t i = 0; i < nt; i++) {
            const float *p = (const float *)(out + data0 + offs[i]);
            size_t l;
            char what[48];
            if (!strcmp(ts[i].name, "output.weight"))
                lay->head = p;
            else if (sscanf(ts[i].name, "blk.%zu.%47s", &l, what) == 2 && l < 64) {
                if (!strcmp(what, "attn_q.weight")) lay->q[l] = p;
                if (!strcmp(what, "ffn_gate.weight")) lay->gate[l] = p;
                if (!strcmp(what, "ffn_down.weight")) lay->down[l] = p;
            }
        }
    }
    free(offs);
    free(ts);
    *size = b.n;
    return out;
}

/* ---- the measurements ---- */

static double forward_flops(const shape *s)
{
    double n = (double)s->len, d = (double)s->embd, f = (double)s->ff, v = (double)s->vocab;
    double per_layer = 2 * n * (4 * d * d + 3 * d * f) + 2 * 2 * n * n * d;
    return (double)s->layers * per_layer + 2 * n * d * v;
}

typedef struct variant {
    const char *name;
    uint8_t *bytes;
    size_t size;
    tdiff_model *m;
    tdiff_denoiser *d;
    double best;
} variant;

static void open_variant(const shape *s, variant *v, int f16, layout *lay)
{
    char err[256];
    v->name = f16 ? "F16" : "F32";
    v->bytes = make_model(s, f16, &v->size, lay);
    if (tdiff_model_load_memory(v->bytes, v->size, NULL, &v->m, err, sizeof err) != TDIFF_OK ||
        tdiff_denoiser_create(v->m, s->len, s->threads, NULL, &v->d, NULL, 0) != TDIFF_OK) {
        fprintf(stderr, "bench_forward: cannot open the %s model: %s\n", v->name, err);
        exit(1);
    }
    v->best = INFINITY;
}

/* positions NULL: logits everywhere; else the n_pos rows a sampler asks for. */
static double one_forward(const shape *s, variant *v, const int32_t *tok, float *logits, const uint32_t *pos,
                          size_t n_pos)
{
    double t0 = now();
    if (tdiff_denoiser_forward(v->d, tok, s->len, pos, n_pos, logits, s->len * s->vocab) != TDIFF_OK) {
        fprintf(stderr, "bench_forward: %s\n", tdiff_denoiser_last_error(v->d));
        exit(1);
    }
    return now() - t0;
}

/* The forward pass's products with cblas_sgemm alone: the F32 model's own
 * weights (attn_q/k/v/output and ffn_gate/up are adjacent in the file), OpenBLAS
 * using the bench's thread count. */
static double one_gemm_pass(const shape *s, const layout *lay, float *x, float *y, float *sc)
{
    int n = (int)s->len, d = (int)s->embd, f = (int)s->ff, hd = d / (int)s->heads;
    openblas_set_num_threads(s->threads);
    double t0 = now();
    for (size_t l = 0; l < s->layers; l++) {
        for (int k = 0; k < 4; k++)  /* q, k, v, o */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, d, d, 1, x, d, lay->q[l] + (size_t)k * d * d, d, 0,
                        y, d);
        for (size_t h = 0; h < s->heads; h++) {  /* Q K^T and P V per head */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, hd, 1, x + h * hd, d, y + h * hd, d, 0, sc, n);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, hd, n, 1, sc, n, x + h * hd, d, 0, y + h * hd, d);
        }
        for (int k = 0; k < 2; k++)  /* gate, up */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, f, d, 1, x, d, lay->gate[l] + (size_t)k * f * d, d,
                        0, y, f);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, d, f, 1, x, f, lay->down[l], f, 0, y, d);
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, (int)s->vocab, d, 1, x, d, lay->head, d, 0, y,
                (int)s->vocab);
    double t = now() - t0;
    openblas_set_num_threads(1);  /* back to what the denoiser set */
    return t;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: bench_forward [options]\n"
               "Times the denoiser's forward pass on a random LLaDA-shaped model (F32 and F16 weights)\n"
               "against the same matrix products done by one cblas_sgemm each.\n"
               "  --threads N   threads (default 2)          --len N    tokens per forward (default 256)\n"
               "  --reps N      interleaved runs, best kept (default 5)\n"
               "  --type T      f32|f16|both (default both)\n"
               "  --layers N    1..64 (default 12)            --embd N   hidden size (default 768)\n"
               "  --heads N     (default 12)                  --ff N     feed-forward size (default 2048)\n"
               "  --vocab N     (default 32000)\n"
               "  -h, --help    this text\n");
}

int main(int argc, char **argv)
{
    shape s = {12, 768, 12, 2048, 32000, 256, 2, 5};  /* keep usage() in step with these defaults */
    const char *type = "both";
    for (int i = 1; i < argc; i += 2) {
        const char *k = argv[i];
        if (!strcmp(k, "-h") || !strcmp(k, "--help")) {
            usage(stdout);
            return 0;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "bench_forward: %s needs a value (--help lists the options)\n", k);
            return 2;
        }
        long v = strtol(argv[i + 1], NULL, 10);
        if (!strcmp(k, "--threads")) s.threads = (int)v;
        else if (!strcmp(k, "--len")) s.len = (size_t)v;
        else if (!strcmp(k, "--reps")) s.reps = (int)v;
        else if (!strcmp(k, "--layers")) s.layers = (size_t)v;
        else if (!strcmp(k, "--embd")) s.embd = (size_t)v;
        else if (!strcmp(k, "--heads")) s.heads = (size_t)v;
        else if (!strcmp(k, "--ff")) s.ff = (size_t)v;
        else if (!strcmp(k, "--vocab")) s.vocab = (size_t)v;
        else if (!strcmp(k, "--type")) type = argv[i + 1];
        else {
            fprintf(stderr, "bench_forward: unknown option '%s'\n", k);
            usage(stderr);
            return 2;
        }
    }
    if (s.layers > 64 || s.layers == 0 || s.reps < 1) {
        fprintf(stderr, "bench_forward: 1..64 layers and >= 1 reps\n");
        return 2;
    }
    double params = (double)s.vocab * s.embd * 2 + (double)s.layers * (4.0 * s.embd * s.embd + 3.0 * s.embd * s.ff);
    double fl = forward_flops(&s);
    printf("llada-shaped: %zu layers, d %zu, %zu heads, ff %zu, vocab %zu (%.1fM params); len %zu, %d threads, "
           "best of %d interleaved runs; %.1f GFLOP per forward; simd %s\n",
           s.layers, s.embd, s.heads, s.ff, s.vocab, params / 1e6, s.len, s.threads, s.reps, fl * 1e-9,
           tdiff_isa_name());

    layout lay = {0};
    variant v[2] = {{0}};
    int nv = 0;
    open_variant(&s, &v[nv++], 0, &lay);  /* the F32 model also feeds the GEMM-only pass */
    int want_f32 = strcmp(type, "f16") != 0, want_f16 = strcmp(type, "f32") != 0;
    if (want_f16)
        open_variant(&s, &v[nv++], 1, NULL);

    size_t act = s.len * (s.ff > s.embd ? s.ff : s.embd);
    float *x = malloc(act * sizeof *x), *y = malloc(s.len * s.vocab * sizeof *y), *sc = malloc(s.len * s.len * 4);
    int32_t *tok = malloc(s.len * sizeof *tok);
    for (size_t i = 0; i < act; i++)
        x[i] = rnd();
    for (size_t i = 0; i < s.len; i++)
        tok[i] = (int32_t)((i * 7919) % s.vocab);

    /* Run 0 warms caches and page tables; then every rep times each variant and
     * the GEMM-only pass back to back, so machine noise hits all alike. */
    /* a sampler's usual request: logits for one block of 32 masked positions */
    size_t n_pos = s.len < 32 ? s.len : 32;
    uint32_t pos[32];
    for (size_t i = 0; i < n_pos; i++)
        pos[i] = (uint32_t)(s.len - n_pos + i);
    double gemm = INFINITY, best_block = INFINITY;
    for (int r = 0; r <= s.reps; r++) {
        for (int i = 0; i < nv; i++) {
            if (i == 0 && !want_f32)
                continue;
            double t = one_forward(&s, &v[i], tok, y, NULL, 0);
            if (r > 0 && t < v[i].best)
                v[i].best = t;
        }
        if (want_f32) {
            double t32 = one_forward(&s, &v[0], tok, y, pos, n_pos);
            if (r > 0 && t32 < best_block)
                best_block = t32;
        }
        double t = one_gemm_pass(&s, &lay, x, y, sc);
        if (r > 0 && t < gemm)
            gemm = t;
    }
    printf("GEMM-only %8.1f ms  %6.1f GFLOP/s\n", 1e3 * gemm, fl / gemm * 1e-9);
    for (int i = 0; i < nv; i++) {
        if (i == 0 && !want_f32)
            continue;
        printf("%s forward %8.1f ms  %6.1f GFLOP/s  forward/GEMM-only %.3f  (file %.0f MB)\n", v[i].name,
               1e3 * v[i].best, fl / v[i].best * 1e-9, v[i].best / gemm, (double)v[i].size / 1e6);
    }
    if (want_f32)
        printf("%s forward, logits at %zu of %zu positions only: %8.1f ms (%.0f%% of the full forward)\n", v[0].name,
           n_pos, s.len, 1e3 * best_block, 100.0 * best_block / v[0].best);
    for (int i = 0; i < nv; i++) {
        tdiff_denoiser_free(v[i].d);
        tdiff_model_free(v[i].m);
        free(v[i].bytes);
    }
    free(x), free(y), free(sc), free(tok);
    return 0;
}
