/*
 * test_limits.c -- what a file may make the library allocate: every count read
 * from a file is checked against what the file holds BEFORE anything is
 * allocated for it. The allocator refuses any request above a bound (test_alloc
 * max_bytes), so a regression fails cleanly here instead of paging gigabytes.
 *
 * The documented bound (docs/model-format.md, "Resource limits"): loading a
 * file of S bytes, building its tokenizer and a denoiser for max_len tokens
 * keeps at most PEAK_PER_BYTE * S + PEAK_FIXED bytes allocated at any time, plus
 * the denoiser's workspace for max_len (which the caller chose). Crafted files
 * that pack the most of each table into the fewest bytes measure it; the table
 * printed here (and, with TDIFF_LIMITS_MB=64, in the doc) gives each one's
 * peak and, from a forked child that maps the file, its peak RSS.
 * Small files are written with gguf_builder.h, large ones with `big` below.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "libtextdiff.h"
#include "model/gguf_builder.h"
#include "support.h"

#define GGUF_U32 4u
#define GGML_F32 0u

/* A `tdiff` file that claims n_layer blocks but holds one tensor, the 2-row
 * token embedding of width 4 (the shape of the 544-byte file of issue 22). */
static void tdiff_file_with_layers(gb *b, uint32_t n_layer)
{
    gb_init(b);
    gb_header(b, 3, 1, 6);
    gb_kv_str(b, "general.architecture", "tdiff");
    gb_kv_u32(b, "tdiff.context_length", 8);
    gb_kv_u32(b, "tdiff.embedding_length", 4);
    gb_kv_u32(b, "tdiff.block_count", n_layer);
    gb_kv_u32(b, "tdiff.feed_forward_length", 4);
    gb_kv_u32(b, "tdiff.attention.head_count", 1);
    const uint64_t ne[2] = {4, 2};
    gb_tinfo(b, "token_embd.weight", 2, ne, GGML_F32, 0);
    gb_pad(b, 32);
    gb_zeros(b, 4 * 2 * sizeof(float));
}

/* Finding 1 of issue 22: block_count 2^24 with one tensor made the denoiser
 * zero-fill a 4.7 GB layer table before checking any layer. The count must be
 * refused against the tensors present, with no request near that size. */
static void test_a_block_count_the_tensors_cannot_fill_is_refused_before_allocating(void **state)
{
    (void)state;
    gb b;
    tdiff_file_with_layers(&b, 1u << 24);
    test_alloc ta = {.max_bytes = 1u << 20}; /* 1 MiB: far above what a 600-byte file needs */
    tdiff_host host;
    test_host_init(&host, &ta);
    tdiff_model *m = NULL;
    char err[256];
    assert_int_equal(tdiff_model_load_memory(b.p, b.n, &host, &m, err, sizeof err), TDIFF_OK);
    tdiff_denoiser *d = NULL;
    assert_int_equal(tdiff_denoiser_create(m, 8, 1, &host, &d, err, sizeof err), TDIFF_E_BAD_FORMAT);
    assert_null(d);
    assert_int_equal(ta.failed, 0); /* nothing asked for more than the bound */
    assert_non_null(strstr(err, "layers"));
    tdiff_model_free(m);
    assert_int_equal(ta.live, 0);
}

/* ---- crafted files of any size ---- */

/* The bound this file checks and docs/model-format.md states: 8 bytes of heap
 * per file byte (the largest measured ratio is 4.3, metadata entries) plus
 * 1 MiB of fixed tables (byte maps, hash tables of small files). */
#define PEAK_PER_BYTE 8u
#define PEAK_FIXED (1u << 20)

typedef struct big {
    unsigned char *p;
    size_t n, cap;
} big;

static void put(big *b, const void *s, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = 2 * (b->n + n) + 4096;
        b->p = realloc(b->p, b->cap);
        assert_non_null(b->p);
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
}
static void put_u32(big *b, uint32_t v) { put(b, &v, 4); } /* little-endian host (x86-64, aarch64) */
static void put_u64(big *b, uint64_t v) { put(b, &v, 8); }
static void put_str(big *b, const void *s, size_t n)
{
    put_u64(b, n);
    put(b, s, n);
}
static void put_kv_str(big *b, const char *k, const char *v)
{
    put_str(b, k, strlen(k));
    put_u32(b, 8);
    put_str(b, v, strlen(v));
}
/* A 3-byte name that differs for every i < 2^24 and holds no NUL. */
static void name3(size_t i, char out[3])
{
    out[0] = (char)(1 + i % 255), out[1] = (char)(1 + i / 255 % 255), out[2] = (char)(1 + i / 65025 % 255);
}

/* Metadata entries as small as they come: 3-byte key, u8 value (16 bytes). */
static void craft_metadata(big *b, size_t size)
{
    size_t n = size / 16;
    put(b, "GGUF", 4), put_u32(b, 3), put_u64(b, 0), put_u64(b, n);
    for (size_t i = 0; i < n; i++) {
        char k[3];
        name3(i, k);
        put_str(b, k, 3), put_u32(b, 0 /* u8 */);
        put(b, "", 1);
    }
}

/* Tensor infos as small as they come: 3-byte name, one dimension of 0 (35 bytes). */
static void craft_tensors(big *b, size_t size)
{
    size_t n = size / 35;
    put(b, "GGUF", 4), put_u32(b, 3), put_u64(b, n), put_u64(b, 0);
    for (size_t i = 0; i < n; i++) {
        char k[3];
        name3(i, k);
        put_str(b, k, 3), put_u32(b, 1), put_u64(b, 0), put_u32(b, 0 /* F32 */), put_u64(b, 0);
    }
    while (b->n % 32) /* the (empty) data section starts at the next multiple of the alignment */
        put(b, "", 1);
}

/* One array of empty strings (8 bytes each). */
static void craft_strings(big *b, size_t size)
{
    size_t n = size / 8;
    put(b, "GGUF", 4), put_u32(b, 3), put_u64(b, 0), put_u64(b, 1);
    put_str(b, "a", 1), put_u32(b, 9), put_u32(b, 8), put_u64(b, n);
    for (size_t i = 0; i < n; i++)
        put_u64(b, 0);
}

/* A byte-level BPE vocabulary of 4-byte tokens (12 bytes each) with their
 * types, after the 256 byte symbols, and one merge. */
static void craft_vocabulary(big *b, size_t size)
{
    size_t n = 256 + size / 16; /* 8 + 4 text, 4 type */
    put(b, "GGUF", 4), put_u32(b, 3), put_u64(b, 0), put_u64(b, 5);
    put_kv_str(b, "general.architecture", "vocab");
    put_kv_str(b, "tokenizer.ggml.model", "gpt2");
    put_str(b, "tokenizer.ggml.tokens", 21), put_u32(b, 9), put_u32(b, 8), put_u64(b, n);
    unsigned moved = 0;
    for (size_t i = 0; i < n; i++) {
        if (i < 256) { /* GPT-2's byte symbols: printable bytes as themselves, the rest from U+0100 */
            unsigned char sym[2];
            int keep = (i >= '!' && i <= '~') || (i >= 0xA1 && i <= 0xAC) || i >= 0xAE;
            unsigned cp = keep ? (unsigned)i : 256u + moved++;
            size_t len = cp < 0x80 ? 1 : 2;
            if (len == 1)
                sym[0] = (unsigned char)cp;
            else
                sym[0] = (unsigned char)(0xC0 | cp >> 6), sym[1] = (unsigned char)(0x80 | (cp & 0x3F));
            put_str(b, sym, len);
        } else if (i == 256) { /* the result of the one merge, "0 0" */
            put_str(b, "00", 2);
        } else { /* i in base 64 over '0'..'o': printable ASCII, so every text is made of symbols */
            char k[4];
            for (int c = 0; c < 4; c++)
                k[c] = (char)('0' + (i >> (6 * c)) % 64);
            put_str(b, k, 4);
        }
    }
    put_str(b, "tokenizer.ggml.token_type", 25), put_u32(b, 9), put_u32(b, 5), put_u64(b, n);
    for (size_t i = 0; i < n; i++)
        put_u32(b, 1);
    put_str(b, "tokenizer.ggml.merges", 21), put_u32(b, 9), put_u32(b, 8), put_u64(b, 1);
    put_str(b, "0 0", 3);
}

/* A `tdiff` network of as many layers as fit: width 4, F16 norm vectors (which
 * the denoiser converts to F32 copies), F32 matrices, 8 tensors per layer. */
static void craft_layers(big *b, size_t size)
{
    enum { D = 4 };
    size_t n_layer = size / 1000 ? size / 1000 : 1; /* a layer takes ~1000 bytes (names, infos, data) */
    size_t n_tensors = 2 + 8 * n_layer;
    put(b, "GGUF", 4), put_u32(b, 3), put_u64(b, n_tensors), put_u64(b, 7);
    put_kv_str(b, "general.architecture", "tdiff");
    put_kv_str(b, "tdiff.ffn.type", "gelu");
    static const char *const dims[] = {"tdiff.context_length", "tdiff.embedding_length", "tdiff.block_count",
                                       "tdiff.feed_forward_length", "tdiff.attention.head_count"};
    const uint32_t vals[] = {8, D, (uint32_t)n_layer, D, 1};
    for (int k = 0; k < 5; k++) {
        put_str(b, dims[k], strlen(dims[k]));
        put_u32(b, 4), put_u32(b, vals[k]);
    }
    uint64_t off = 0;
    char name[64];
    /* name, rows (1 = a vector), type (0 F32, 1 F16) */
#define TENSOR(nm, rows, type)                                                                  \
    do {                                                                                        \
        put_str(b, nm, strlen(nm));                                                             \
        put_u32(b, (rows) > 1 ? 2 : 1), put_u64(b, D);                                          \
        if ((rows) > 1)                                                                         \
            put_u64(b, rows);                                                                   \
        put_u32(b, type), put_u64(b, off);                                                      \
        off += 32 * (((rows) * D * ((type) ? 2 : 4) + 31) / 32); /* data rounded to alignment */ \
    } while (0)
    TENSOR("token_embd.weight", 2, 0);
    TENSOR("output_norm.weight", 1, 1);
    static const char *const mats[] = {"attn_q", "attn_k", "attn_v", "attn_output", "ffn_up", "ffn_down"};
    for (size_t l = 0; l < n_layer; l++) {
        snprintf(name, sizeof name, "blk.%zu.attn_norm.weight", l);
        TENSOR(name, 1, 1);
        snprintf(name, sizeof name, "blk.%zu.ffn_norm.weight", l);
        TENSOR(name, 1, 1);
        for (int k = 0; k < 6; k++) {
            snprintf(name, sizeof name, "blk.%zu.%s.weight", l, mats[k]);
            TENSOR(name, D, 0);
        }
    }
#undef TENSOR
    while (b->n % 32)
        put(b, "", 1);
    for (uint64_t i = 0; i < off; i++)
        put(b, "", 1); /* zero weights: F16 and F32 zeros */
}

typedef struct measured {
    size_t size, peak;      /* file bytes; peak heap through the library */
    long rss_kib;           /* peak RSS of a child that maps the file, minus an idle child's */
    tdiff_status load, tok, net; /* statuses (tokenizer and denoiser may legitimately fail) */
    char why[256];          /* the tokenizer's reason when it failed */
} measured;

/* Loads, builds the tokenizer and (if the file is a model) a denoiser. */
static void use_file(const void *p, size_t n, const char *path, const tdiff_host *host, measured *r)
{
    tdiff_model *m = NULL;
    r->load = path ? tdiff_model_load_file(path, host, &m, NULL, 0) : tdiff_model_load_memory(p, n, host, &m, NULL, 0);
    if (r->load != TDIFF_OK)
        return;
    tdiff_tokenizer *tok = NULL;
    r->tok = tdiff_tokenizer_create(m, host, &tok, r->why, sizeof r->why);
    tdiff_denoiser *d = NULL;
    r->net = tdiff_denoiser_create(m, 8, 1, host, &d, r->why, sizeof r->why);
    tdiff_denoiser_free(d);
    tdiff_tokenizer_free(tok);
    tdiff_model_free(m);
}

/* `test_limits --rss FILE`: uses FILE (or nothing for "-") with the default
 * allocator and writes this process's peak RSS in KiB to stdout: VmHWM of
 * /proc/self/status, the high-water mark of this image only (getrusage's
 * ru_maxrss keeps the forked parent's across exec). A fresh process, so no
 * freed heap of the test is reused. */
static int rss_main(const char *path)
{
    measured r;
    if (strcmp(path, "-"))
        use_file(NULL, 0, path, NULL, &r);
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %ld kB", &kib) == 1)
            break;
    if (f)
        fclose(f);
    printf("%ld\n", kib);
    return kib < 0;
}

static const char *self_path; /* argv[0]: this test, run again for each RSS figure */

/* Peak RSS (KiB) of a fresh process that uses the file ("-": does nothing). */
static long child_rss_kib(const char *path)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        setenv("OPENBLAS_NUM_THREADS", "1", 1); /* its worker threads' stacks would blur the figure */
        execl(self_path, "test_limits", "--rss", path, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    char buf[32] = "";
    ssize_t got = read(fds[0], buf, sizeof buf - 1);
    close(fds[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(got > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    return atol(buf);
}

static void measure(void (*craft)(big *, size_t), size_t size, measured *r)
{
    big b = {0};
    craft(&b, size);
    test_alloc ta = {.max_bytes = PEAK_PER_BYTE * b.n + PEAK_FIXED};
    tdiff_host host;
    test_host_init(&host, &ta);
    memset(r, 0, sizeof *r);
    r->size = b.n;
    use_file(b.p, b.n, NULL, &host, r);
    r->peak = ta.peak_bytes;
    assert_int_equal(ta.failed, 0);
    assert_int_equal(ta.live, 0);
    char path[] = "/tmp/tdiff-limits-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, b.p, b.n), (ssize_t)b.n);
    close(fd);
    r->rss_kib = child_rss_kib(path) - child_rss_kib("-");
    if (r->rss_kib < 0)
        r->rss_kib = 0;
    unlink(path);
    free(b.p);
}

/* Every crafted file loads (the vocabulary builds its tokenizer) within
 * PEAK_PER_BYTE * size + PEAK_FIXED bytes of heap. */
static void test_peak_memory_is_bounded_by_the_file_size(void **state)
{
    (void)state;
    const char *mb = getenv("TDIFF_LIMITS_MB");
    size_t size = (size_t)(mb && atoi(mb) > 0 ? atoi(mb) : 1) << 20;
    static const struct {
        const char *name;
        void (*craft)(big *, size_t);
    } cases[] = {{"metadata entries", craft_metadata}, {"tensor infos", craft_tensors},
                 {"string array", craft_strings},      {"vocabulary", craft_vocabulary},
                 {"network layers", craft_layers}};
    print_message("%-18s %12s %12s %8s %12s\n", "crafted file", "bytes", "peak heap", "ratio", "peak RSS KiB");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        measured r;
        measure(cases[i].craft, size, &r);
        assert_int_equal(r.load, TDIFF_OK);
        if ((cases[i].craft == craft_vocabulary && r.tok != TDIFF_OK) || /* their tables must be counted too */
            (cases[i].craft == craft_layers && r.net != TDIFF_OK))
            fail_msg("the crafted %s is refused: %s", cases[i].name, r.why);
        print_message("%-18s %12zu %12zu %8.2f %12ld\n", cases[i].name, r.size, r.peak, (double)r.peak / r.size,
                      r.rss_kib);
        assert_true(r.peak <= PEAK_PER_BYTE * r.size + PEAK_FIXED);
    }
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "--rss"))
        return rss_main(argv[2]);
    self_path = argv[0];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_block_count_the_tensors_cannot_fill_is_refused_before_allocating),
        cmocka_unit_test(test_peak_memory_is_bounded_by_the_file_size),
    };
    return cmocka_run_group_tests_name("limits", tests, NULL, NULL);
}
