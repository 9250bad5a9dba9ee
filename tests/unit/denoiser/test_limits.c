/*
 * test_limits.c -- what a file may make the library allocate: every count read
 * from a file is checked against what the file holds BEFORE anything is
 * allocated for it. The allocator refuses any request above a bound (test_alloc
 * max_bytes), so a regression fails cleanly here instead of paging gigabytes.
 * Files are written byte by byte with gguf_builder.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_block_count_the_tensors_cannot_fill_is_refused_before_allocating),
    };
    return cmocka_run_group_tests_name("limits", tests, NULL, NULL);
}
