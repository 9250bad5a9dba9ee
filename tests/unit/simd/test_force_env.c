/*
 * test_force_env.c -- the environment cannot switch the library off, and the
 * application decides whether it applies. meson runs this program once per
 * value of TDIFF_FORCE_ISA (the same value is argv[1]): a name that is no
 * variant, a variant of another architecture, avx512, and scalar. Every
 * creator succeeds whatever the value; a valid value lowers the choice of
 * handles that allow it (host NULL, or ignore_env 0) and not of those that opt
 * out; an ignored value is logged at WARN through the handle's log_fn; the
 * variable is read once (a later setenv changes nothing).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#ifdef _WIN32 /* no setenv: the CRT's _putenv_s, which getenv reads */
#define setenv(name, value, overwrite) _putenv_s((name), (value))
#endif

#include "model/model.h"
#include "simd/simd.h"
#include "support.h"

static const char *g_value; /* what TDIFF_FORCE_ISA was set to */

typedef struct log_capture {
    int warnings;
    char last[512];
} log_capture;

static void capture(void *ud, tdiff_log_level level, const char *msg)
{
    log_capture *c = ud;
    if (level == TDIFF_LOG_WARN && strstr(msg, "TDIFF_FORCE_ISA")) {
        c->warnings++;
        snprintf(c->last, sizeof c->last, "%s", msg);
    }
}

/* What a handle that honours the variable must get. */
static tdiff_isa expected_with_env(void)
{
    const tdiff_isa best = tdiff__isa_best();
    for (int i = TDIFF_ISA_SCALAR; i <= TDIFF_ISA_NEON; i++)
        if (strcmp(g_value, tdiff_isa_to_string(i)) == 0 && tdiff_isa_supported(i))
            return i == TDIFF_ISA_SCALAR || best == TDIFF_ISA_AVX512 ? (tdiff_isa)i : best;
    return best;
}

static int value_is_ignored(void)
{
    for (int i = TDIFF_ISA_SCALAR; i <= TDIFF_ISA_NEON; i++)
        if (strcmp(g_value, tdiff_isa_to_string(i)) == 0)
            return !tdiff_isa_supported(i);
    return 1;
}

static void test_every_creator_succeeds_and_follows_the_rules(void **state)
{
    (void)state;
    char path[1024];
    test_fixture_path(path, sizeof path, "llada-tiny.gguf");
    for (int opt_out = 0; opt_out <= 1; opt_out++) {
        log_capture cap = {0};
        tdiff_host host = {.struct_size = sizeof host, .log_fn = capture, .log_user_data = &cap,
                           .ignore_env = opt_out};
        const tdiff_isa want = opt_out ? tdiff__isa_best() : expected_with_env();
        tdiff_model *m = test_load_model(path, &host);
        assert_int_equal(m->env.isa, want);
        char err[256];
        tdiff_tokenizer *tok = NULL;
        assert_int_equal(tdiff_tokenizer_create(m, &host, &tok, err, sizeof err), TDIFF_OK);
        tdiff_denoiser *d = NULL;
        assert_int_equal(tdiff_denoiser_create(m, 16, 2, &host, &d, err, sizeof err), TDIFF_OK);
        tdiff_scheduler *s = NULL;
        assert_int_equal(tdiff_scheduler_create(TDIFF_SCHEDULE_LINEAR, &host, &s, err, sizeof err), TDIFF_OK);
        tdiff_sampler *smp = NULL;
        assert_int_equal(tdiff_sampler_create(m, &host, &smp, err, sizeof err), TDIFF_OK);
        tdiff_isa checked;
        assert_int_equal(tdiff_isa_self_check(&host, &checked), TDIFF_OK);
        assert_int_equal(checked, want);
        /* an ignored value is said by every creation (6 here, some make inner
         * handles), and only when the value applies */
        if (!opt_out && value_is_ignored())
            assert_true(cap.warnings >= 6);
        else
            assert_int_equal(cap.warnings, 0);
        if (cap.warnings)
            assert_non_null(strstr(cap.last, "ignored"));
        tdiff_sampler_free(smp);
        tdiff_scheduler_free(s);
        tdiff_denoiser_free(d);
        tdiff_tokenizer_free(tok);
        tdiff_model_free(m);
    }
    tdiff_isa active;
    assert_int_equal(tdiff_isa_active(&active), TDIFF_OK);
    assert_int_equal(active, expected_with_env());
    assert_string_equal(tdiff_isa_name(), tdiff_isa_to_string(active));
}

static void test_the_variable_is_read_once(void **state)
{
    (void)state;
    tdiff_isa before, after;
    assert_int_equal(tdiff_isa_active(&before), TDIFF_OK);
    assert_int_equal(setenv("TDIFF_FORCE_ISA", strcmp(g_value, "scalar") ? "scalar" : "bogus", 1), 0);
    assert_int_equal(tdiff_isa_active(&after), TDIFF_OK);
    assert_int_equal(after, before);
    assert_string_equal(tdiff__isa_force_env(), g_value);
}

int main(int argc, char **argv)
{
    const char *env = getenv("TDIFF_FORCE_ISA");
    if (argc != 2 || !env || strcmp(env, argv[1]) != 0) {
        fprintf(stderr, "usage: TDIFF_FORCE_ISA=VALUE test_force_env VALUE\n");
        return 2;
    }
    g_value = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_creator_succeeds_and_follows_the_rules),
        cmocka_unit_test(test_the_variable_is_read_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
