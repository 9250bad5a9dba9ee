/*
 * simd.h -- the kernel table and run-time dispatch.
 *
 * One const table per SIMD variant (scalar reference, AVX2+FMA+F16C, AVX-512, NEON).
 * CPU features are detected once; a handle captures the table at creation
 * (tdiff__env.k, bound by tdiff__env_setup) and calls kernels through it. The scalar table is the
 * reference every other variant is tested against (tests/unit/simd).
 *
 * Conventions for every kernel: lengths are element counts, n == 0 is valid and does
 * nothing (reductions return their neutral value), pointers may be unaligned, and
 * output may alias input exactly (y == x) where a kernel takes both, never partially.
 */
#ifndef TDIFF_SIMD_H
#define TDIFF_SIMD_H

#include <stddef.h>
#include <stdint.h>

#include "libtextdiff.h"

#include "blocks.h"

typedef struct tdiff__kernels {
    tdiff_isa isa;
    const char *name;

    /* ---- BLAS-1 ---- */
    float (*dot)(const float *a, const float *b, size_t n);        /* sum a[i]*b[i]  */
    void (*axpy)(float *y, float a, const float *x, size_t n);     /* y += a*x       */
    void (*scale)(float *x, float a, size_t n);                    /* x *= a         */
    void (*add)(float *y, const float *x, size_t n);               /* y += x         */
    void (*mul)(float *y, const float *x, size_t n);               /* y *= x         */

    /* ---- elementwise and normalisation ---- */
    void (*exp)(float *y, const float *x, size_t n);
    /* In place; subtracts the max first. Returns log(sum exp(x)) of the input.
     * -inf entries give 0; all -inf: all outputs 0, returns -inf. Any NaN: all NaN, returns NaN.
     * +inf entries (and no NaN): they share the mass equally, the rest get 0, returns +inf. */
    float (*softmax)(float *x, size_t n);
    /* In place x - logsumexp(x), same special cases as softmax (all -inf stays -inf;
     * with c entries at +inf those become -log(c), the rest -inf). */
    float (*log_softmax)(float *x, size_t n);
    /* y = x / sqrt(mean(x^2) + eps) * w   (w NULL = ones) */
    void (*rmsnorm)(float *y, const float *x, const float *w, size_t n, float eps);
    /* y = (x - mean) / sqrt(var + eps) * w + b   (w, b NULL = ones, zeros; biased var) */
    void (*layernorm)(float *y, const float *x, const float *w, const float *b, size_t n, float eps);
    void (*silu)(float *y, const float *x, size_t n);              /* x * sigmoid(x) */
    void (*gelu)(float *y, const float *x, size_t n);              /* x * Phi(x), erf form */
    void (*gelu_tanh)(float *y, const float *x, size_t n);         /* tanh approximation */
    void (*swiglu)(float *y, const float *gate, const float *up, size_t n); /* silu(gate)*up */

    /* ---- selection ---- */
    /* Index of the largest value, lowest index on ties; NaN entries are ignored;
     * returns 0 when n == 0 or all are NaN. */
    size_t (*argmax)(const float *x, size_t n);
    /* The k largest (k clipped to n, NaN ignored), sorted descending, ties by lower
     * index; writes idx[0..m) and val[0..m) (val may be NULL); returns m. */
    size_t (*topk)(const float *x, size_t n, size_t k, uint32_t *idx, float *val);

    /* ---- conversions ---- */
    void (*f16_to_f32)(float *y, const uint16_t *x, size_t n);     /* IEEE binary16, all values */
    void (*bf16_to_f32)(float *y, const uint16_t *x, size_t n);

    /* ---- dequantization (ggml block layouts of blocks.h; n is a multiple of 32,
     * `blocks` holds n/32 blocks, byte-aligned) ---- */
    void (*dequant_q8_0)(float *y, const void *blocks, size_t n);  /* y = d*q */
    void (*dequant_q4_0)(float *y, const void *blocks, size_t n);  /* y = d*(q-8) */
    /* K-quants (blocks.h): n a multiple of 256, `blocks` holds n/256 super-blocks. */
    void (*dequant_q4_k)(float *y, const void *blocks, size_t n);
    void (*dequant_q5_k)(float *y, const void *blocks, size_t n);
    void (*dequant_q6_k)(float *y, const void *blocks, size_t n);

    /* ---- matrix products: the micro-kernels gemm.c drives (gemm.h says what
     * they compute, exactly; every variant gives the same bits). ---- */
    size_t gemm_group;     /* G: rows per group of packed activations */
    size_t gemm_qblock;    /* bytes of one (group, 32-column block) of a Q8 pack */
    size_t gemm_cols;      /* most weight columns a kernel decodes at once */
    /* Packs row groups [g0, g1) of x [m, K] (row stride ldx); rows >= m are zeros.
     * F32: [group][K][G] floats. Q8 (K % 32 == 0): gemm_qblock bytes a block. */
    void (*pack_f32)(float *xp, const float *x, size_t ldx, size_t m, size_t K, size_t g0, size_t g1);
    void (*pack_q8)(void *xp, const float *x, size_t ldx, size_t m, size_t K, size_t g0, size_t g1);
    /* y[i * ldy + c] for i < m, c < nc: F32 weights w[c * sn + k * sk]. */
    void (*gemm_f32)(float *y, size_t ldy, size_t m, const float *xp, size_t K, const float *w, size_t sn,
                     size_t sk, size_t nc, const float *bias);
    /* The same for a block type (Q8_0, Q4_0, Q4_K, Q5_K, Q6_K) of nc rows of row_bytes
     * each; scratch holds gemm_q_scratch(K) bytes (gemm.h). */
    void (*gemm_q)(float *y, size_t ldy, size_t m, const void *xp, size_t K, uint32_t type, const void *w,
                   size_t row_bytes, size_t nc, const float *bias, void *scratch);
} tdiff__kernels;

/* The table for a variant, or NULL when this build or CPU cannot run it. */
const tdiff__kernels *tdiff__kernels_for(tdiff_isa isa);
/* Best variant of this CPU (detected once, thread-safe). */
tdiff_isa tdiff__isa_best(void);
/* TDIFF_FORCE_ISA as read (once, at the first call: getenv is not safe against a
 * concurrent setenv, so it is never called again); "" when unset. */
const char *tdiff__isa_force_env(void);
/* Resolves a request (0 = auto) against the CPU, lowered by `force` (a variant
 * name; NULL or "" = none). A request the CPU cannot run is TDIFF_E_UNSUPPORTED,
 * one outside the enum TDIFF_E_INVALID_ARGUMENT, with the reason in msg (cap
 * bytes). A `force` that is not a runnable variant is ignored: TDIFF_OK, and msg
 * says so (msg is "" when there is nothing to say). */
tdiff_status tdiff__isa_resolve(int requested, const char *force, tdiff_isa *out, char *msg, size_t cap);

struct tdiff__env;
/* What every handle creator calls first: core's tdiff__env_init, then the kernel
 * table of the variant that host->isa and (unless host->ignore_env) TDIFF_FORCE_ISA
 * resolve to. An ignored TDIFF_FORCE_ISA is logged at WARN through the host. */
tdiff_status tdiff__env_setup(struct tdiff__env *env, const tdiff_host *host);

#endif
