/*
 * test_chat.c -- chat templates (lib/tokenizer/chat.c). The expected texts are
 * what jinja2 renders from the same templates with llama-diffusion-cli's inputs,
 * after llama.cpp's BOS/EOS post-processing (tests/convert/make_goldens.py writes
 * the same strings to tests/convert/data/goldens.json; check_convert.py runs them
 * through converted files and the tool). The fixture's content-only template must
 * give llama.cpp's own prompt tokens (tests/fixtures/README.md).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "tok_test.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

/* the templates of synth.py (LLaDA-8B-Instruct's and Dream-v0-Instruct-7B's) */
static const char LLADA[] =
    "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = "
    "'<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + "
    "'<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}"
    "{{ content }}{% endfor %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}";
static const char DREAM[] =
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% endif %}"
    "{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

static const char *const SPECIALS[] = {"<|startoftext|>", "<|endoftext|>", "<|start_header_id|>",
                                       "<|end_header_id|>", "<|eot_id|>", "<|im_start|>", "<|im_end|>"};
enum { N_BYTES = 256, N_SPECIAL = 7, N_TOKENS = N_BYTES + 1 + N_SPECIAL, BOS = N_BYTES + 1, EOS = BOS + 1 };

typedef struct chat_tok {
    test_alloc alloc;
    tdiff_host host;
    tdiff_tokenizer *tok;
    char text[N_TOKENS][24];
} chat_tok;

/* A byte-level vocabulary (256 symbols, one merge) with the chat specials, and `tmpl`. */
static void make(chat_tok *c, const char *tmpl, int add_bos)
{
    const char *tokens[N_TOKENS];
    size_t lens[N_TOKENS];
    int32_t types[N_TOKENS];
    for (int b = 0; b < N_BYTES; b++) {
        lens[b] = tdiff__utf8_encode(tdiff__gpt2_byte_to_cp((uint8_t)b), (uint8_t *)c->text[b]);
        tokens[b] = c->text[b];
        types[b] = TDIFF__TOK_NORMAL;
    }
    tokens[N_BYTES] = "\xc4\xa0t"; /* "Ġt" */
    lens[N_BYTES] = 3;
    types[N_BYTES] = TDIFF__TOK_NORMAL;
    for (int i = 0; i < N_SPECIAL; i++) {
        tokens[BOS + i] = SPECIALS[i];
        lens[BOS + i] = strlen(SPECIALS[i]);
        types[BOS + i] = TDIFF__TOK_CONTROL;
    }
    const char *merges[] = {"\xc4\xa0 t"};
    size_t merge_lens[] = {4};
    tdiff__tok_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.model = "gpt2";
    cfg.model_len = 4;
    cfg.n_tokens = N_TOKENS;
    cfg.tokens = tokens;
    cfg.token_lens = lens;
    cfg.n_types = N_TOKENS;
    cfg.types = types;
    cfg.n_merges = 1;
    cfg.merges = merges;
    cfg.merge_lens = merge_lens;
    cfg.bos = BOS;
    cfg.eos = EOS;
    cfg.unk = cfg.pad = cfg.mask = cfg.sep = cfg.cls = -1;
    cfg.add_bos = add_bos;
    cfg.add_eos = -1;
    cfg.add_space_prefix = -1;
    cfg.chat_template = tmpl;
    cfg.chat_template_len = tmpl ? strlen(tmpl) : 0;
    memset(&c->alloc, 0, sizeof c->alloc);
    test_host_init(&c->host, &c->alloc);
    char err[256];
    assert_int_equal(tdiff__tokenizer_create_config(&cfg, &c->host, &c->tok, err, sizeof err), TDIFF_OK);
}

/* The rendering as a test_malloc'd NUL-terminated string (size asked first). */
static char *apply(const tdiff_tokenizer *tok, const tdiff_chat_message *m, size_t n, uint32_t flags)
{
    size_t len = 0;
    tdiff_status st = tdiff_tokenizer_apply_chat(tok, m, n, flags, NULL, 0, &len);
    assert_true(st == TDIFF_E_BUFFER_TOO_SMALL || (st == TDIFF_OK && len == 0));
    char *buf = test_malloc(len + 1);
    assert_int_equal(tdiff_tokenizer_apply_chat(tok, m, n, flags, buf, len, &len), TDIFF_OK);
    buf[len] = '\0';
    return buf;
}

static void expect(const tdiff_tokenizer *tok, const tdiff_chat_message *m, size_t n, const char *want)
{
    char *got = apply(tok, m, n, TDIFF_CHAT_ADD_ASSISTANT);
    assert_string_equal(got, want);
    test_free(got);
}

static const tdiff_chat_message USER[] = {{"user", "the cat sat on the mat"}};
static const tdiff_chat_message SYSTEM_USER[] = {{"system", "Answer briefly."},
                                                 {"user", "  What is a diffusion model?\n"}};

static void test_fixture_template_gives_llama_cpp_prompt_tokens(void **state)
{
    (void)state;
    tok_fixture f;
    tok_open(&f, "llada-tiny.gguf", 1);
    assert_string_equal(tdiff_tokenizer_chat_format(f.tok), "content");
    char *text = apply(f.tok, USER, 1, TDIFF_CHAT_ADD_ASSISTANT);
    assert_string_equal(text, "the cat sat on the mat");
    size_t n;
    int32_t *ids = tok_encode(f.tok, text, strlen(text), TDIFF_TOKENIZE_ADD_SPECIAL | TDIFF_TOKENIZE_PARSE_SPECIAL,
                              &n);
    static const int32_t llama_cpp[] = {2046, 116, 468, 258, 301, 274, 301, 270, 110, 275, 468, 268, 301};
    assert_int_equal(n, 13);
    assert_memory_equal(ids, llama_cpp, sizeof llama_cpp);
    test_free(ids);
    test_free(text);
    tok_close(&f);
}

static void test_llada_template_is_llama3_with_bos_dropped_when_the_tokenizer_adds_it(void **state)
{
    (void)state;
    chat_tok c;
    make(&c, LLADA, 1);
    assert_string_equal(tdiff_tokenizer_chat_format(c.tok), "llama3");
    expect(c.tok, USER, 1,
           "<|start_header_id|>user<|end_header_id|>\n\nthe cat sat on the mat<|eot_id|>"
           "<|start_header_id|>assistant<|end_header_id|>\n\n");
    /* `| trim` trims the contents; the template appends the assistant header unconditionally */
    char *got = apply(c.tok, SYSTEM_USER, 2, 0);
    assert_string_equal(got, "<|start_header_id|>system<|end_header_id|>\n\nAnswer briefly.<|eot_id|>"
                             "<|start_header_id|>user<|end_header_id|>\n\nWhat is a diffusion model?<|eot_id|>"
                             "<|start_header_id|>assistant<|end_header_id|>\n\n");
    test_free(got);
    tdiff_tokenizer_free(c.tok);
    /* a tokenizer that does not add BOS keeps the template's bos_token text */
    make(&c, LLADA, 0);
    expect(c.tok, USER, 1,
           "<|startoftext|><|start_header_id|>user<|end_header_id|>\n\nthe cat sat on the mat<|eot_id|>"
           "<|start_header_id|>assistant<|end_header_id|>\n\n");
    tdiff_tokenizer_free(c.tok);
}

static void test_dream_template_is_chatml_with_its_default_system_prompt(void **state)
{
    (void)state;
    chat_tok c;
    make(&c, DREAM, -1);
    assert_string_equal(tdiff_tokenizer_chat_format(c.tok), "chatml");
    expect(c.tok, USER, 1,
           "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
           "<|im_start|>user\nthe cat sat on the mat<|im_end|>\n<|im_start|>assistant\n");
    expect(c.tok, SYSTEM_USER, 2,
           "<|im_start|>system\nAnswer briefly.<|im_end|>\n"
           "<|im_start|>user\n  What is a diffusion model?\n<|im_end|>\n<|im_start|>assistant\n");
    char *got = apply(c.tok, USER, 1, 0); /* no generation prompt asked */
    assert_string_equal(got, "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
                             "<|im_start|>user\nthe cat sat on the mat<|im_end|>\n");
    test_free(got);
    tdiff_tokenizer_free(c.tok);
}

static void test_no_template_is_llama_cpp_chatml_fallback(void **state)
{
    (void)state;
    chat_tok c;
    make(&c, NULL, -1);
    assert_string_equal(tdiff_tokenizer_chat_format(c.tok), "chatml");
    expect(c.tok, USER, 1, "<|im_start|>user\nthe cat sat on the mat<|im_end|>\n<|im_start|>assistant\n");
    tdiff_tokenizer_free(c.tok);
}

static void test_templates_with_other_features_are_refused(void **state)
{
    (void)state;
    static const char *const refused[] = {
        "{{ messages[0]['content'] }} {{ raise_exception('x') }}",
        "{% if tools %}{{ '<|im_start|>system\\n' }}{% endif %}<|im_start|>",
        "{{ date_string }}<|start_header_id|>x<|end_header_id|>",
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        chat_tok c;
        make(&c, refused[i], -1);
        assert_null(tdiff_tokenizer_chat_format(c.tok));
        size_t len = 7;
        assert_int_equal(tdiff_tokenizer_apply_chat(c.tok, USER, 1, 0, NULL, 0, &len), TDIFF_E_UNSUPPORTED);
        tdiff_tokenizer_free(c.tok);
    }
}

static void test_buffer_sizes_and_bad_arguments(void **state)
{
    (void)state;
    chat_tok c;
    make(&c, DREAM, -1);
    char buf[16];
    size_t len = 0, need;
    assert_int_equal(tdiff_tokenizer_apply_chat(c.tok, USER, 1, 0, NULL, 0, &need), TDIFF_E_BUFFER_TOO_SMALL);
    assert_int_equal(tdiff_tokenizer_apply_chat(c.tok, USER, 1, 0, buf, sizeof buf, &len), TDIFF_E_BUFFER_TOO_SMALL);
    assert_int_equal(len, need);
    tdiff_chat_message no_role[] = {{NULL, "x"}}, no_content[] = {{"user", NULL}};
    assert_int_equal(tdiff_tokenizer_apply_chat(NULL, USER, 1, 0, buf, 16, &len), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_tokenizer_apply_chat(c.tok, NULL, 1, 0, buf, 16, &len), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_tokenizer_apply_chat(c.tok, USER, 0, 0, buf, 16, &len), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_tokenizer_apply_chat(c.tok, no_role, 1, 0, buf, 16, &len), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_tokenizer_apply_chat(c.tok, no_content, 1, 0, buf, 16, &len), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_tokenizer_apply_chat(c.tok, USER, 1, 2u, buf, 16, &len), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_tokenizer_apply_chat(c.tok, USER, 1, 0, NULL, 16, &len), TDIFF_E_INVALID_ARGUMENT);
    assert_int_equal(tdiff_tokenizer_apply_chat(c.tok, USER, 1, 0, buf, 16, NULL), TDIFF_E_INVALID_ARGUMENT);
    assert_null(tdiff_tokenizer_chat_format(NULL));
    tdiff_tokenizer_free(c.tok);
}

static void test_every_allocation_failure_is_clean(void **state)
{
    (void)state;
    for (int fail_at = 0; fail_at < 64; fail_at++) {
        chat_tok c;
        make(&c, DREAM, -1);
        c.alloc.count = 0;
        c.alloc.fail_at = fail_at + 1;
        size_t len = 0;
        char buf[512];
        tdiff_status st = tdiff_tokenizer_apply_chat(c.tok, USER, 1, TDIFF_CHAT_ADD_ASSISTANT, buf, sizeof buf, &len);
        assert_true(st == TDIFF_OK || st == TDIFF_E_OUT_OF_MEMORY);
        c.alloc.fail_at = 0;
        tdiff_tokenizer_free(c.tok);
        if (st == TDIFF_OK)
            return;
    }
    fail();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixture_template_gives_llama_cpp_prompt_tokens),
        cmocka_unit_test(test_llada_template_is_llama3_with_bos_dropped_when_the_tokenizer_adds_it),
        cmocka_unit_test(test_dream_template_is_chatml_with_its_default_system_prompt),
        cmocka_unit_test(test_no_template_is_llama_cpp_chatml_fallback),
        cmocka_unit_test(test_templates_with_other_features_are_refused),
        cmocka_unit_test(test_buffer_sizes_and_bad_arguments),
        cmocka_unit_test(test_every_allocation_failure_is_clean),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
