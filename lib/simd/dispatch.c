/*
 * dispatch.c -- choosing a kernel table at run time: the CPU's best variant,
 * lowered by a handle's request (tdiff_host.isa) and, unless the handle opts out,
 * by TDIFF_FORCE_ISA (read once per process); binding the table to a handle's
 * env (tdiff__env_setup); the public tdiff_isa_* queries. Never raises the choice
 * above what the CPU runs, and the environment never makes a creation fail.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "cpu.h"
#include "tables.h"

const tdiff__kernels *tdiff__kernels_for(tdiff_isa isa)
{
    const unsigned f = tdiff__cpu_features();
    (void)f;
    switch (isa) {
    case TDIFF_ISA_SCALAR:
        return &tdiff__kernels_scalar;
#if defined(TDIFF__BUILD_AVX2)
    case TDIFF_ISA_AVX2:
        return (f & TDIFF__CPU_AVX2) ? &tdiff__kernels_avx2 : NULL;
#endif
#if defined(TDIFF__BUILD_AVX512)
    case TDIFF_ISA_AVX512:
        return (f & TDIFF__CPU_AVX512) ? &tdiff__kernels_avx512 : NULL;
#endif
#if defined(TDIFF__BUILD_NEON)
    case TDIFF_ISA_NEON:
        return (f & TDIFF__CPU_NEON) ? &tdiff__kernels_neon : NULL;
#endif
    default:
        return NULL;
    }
}

tdiff_isa tdiff__isa_best(void)
{
    static const tdiff_isa by_preference[] = {TDIFF_ISA_AVX512, TDIFF_ISA_AVX2, TDIFF_ISA_NEON};
    for (size_t i = 0; i < sizeof by_preference / sizeof by_preference[0]; i++)
        if (tdiff__kernels_for(by_preference[i]))
            return by_preference[i];
    return TDIFF_ISA_SCALAR;
}

/* Position in the "lowering" order. Variants of one architecture form a chain
 * (scalar < avx2 < avx512; scalar < neon), so comparing ranks is enough. */
static int isa_rank(tdiff_isa isa)
{
    switch (isa) {
    case TDIFF_ISA_AVX512:
        return 2;
    case TDIFF_ISA_AVX2:
    case TDIFF_ISA_NEON:
        return 1;
    default:
        return 0;
    }
}

static const char *const isa_names[] = {"auto", "scalar", "avx2", "avx512", "neon"};

const char *tdiff_isa_to_string(int isa)
{
    if (isa < 0 || (size_t)isa >= sizeof isa_names / sizeof isa_names[0])
        return "unknown";
    return isa_names[isa];
}

int tdiff_isa_supported(int isa)
{
    if (isa <= TDIFF_ISA_AUTO || isa > TDIFF_ISA_NEON)
        return 0;
    return tdiff__kernels_for((tdiff_isa)isa) != NULL;
}

/* ---- TDIFF_FORCE_ISA: one getenv per process ---- */

/* Long enough for every variant name and for quoting a wrong value in a message. */
#define FORCE_CAP 64
static char g_force[FORCE_CAP];
static pthread_once_t g_force_once = PTHREAD_ONCE_INIT;

static void read_force(void)
{
    const char *v = getenv("TDIFF_FORCE_ISA");
    tdiff__copy_message(g_force, sizeof g_force, v ? v : "");
}

const char *tdiff__isa_force_env(void)
{
    pthread_once(&g_force_once, read_force);
    return g_force;
}

tdiff_status tdiff__isa_resolve(int requested, const char *force, tdiff_isa *out, char *msg, size_t cap)
{
    char buf[256] = "";
    const tdiff_isa best = tdiff__isa_best();
    tdiff_isa choice = best;

    if (requested != TDIFF_ISA_AUTO) {
        if (requested < TDIFF_ISA_SCALAR || requested > TDIFF_ISA_NEON) {
            snprintf(buf, sizeof buf, "tdiff_host.isa = %d is not a tdiff_isa value", requested);
            tdiff__copy_message(msg, cap, buf);
            return TDIFF_E_INVALID_ARGUMENT;
        }
        if (!tdiff_isa_supported(requested)) {
            snprintf(buf, sizeof buf,
                     "tdiff_host.isa requests SIMD variant '%s', which this build or CPU cannot run (best here: '%s')",
                     tdiff_isa_to_string(requested), tdiff_isa_to_string(best));
            tdiff__copy_message(msg, cap, buf);
            return TDIFF_E_UNSUPPORTED;
        }
        choice = (tdiff_isa)requested;
    }

    if (force && *force) {
        int forced = -1;
        for (int i = TDIFF_ISA_SCALAR; i <= TDIFF_ISA_NEON; i++)
            if (strcmp(force, isa_names[i]) == 0)
                forced = i;
        if (forced < 0)
            snprintf(buf, sizeof buf,
                     "TDIFF_FORCE_ISA='%.40s' ignored: not a SIMD variant (scalar, avx2, avx512 or neon); using '%s'",
                     force, tdiff_isa_to_string(choice));
        else if (!tdiff_isa_supported(forced))
            snprintf(buf, sizeof buf,
                     "TDIFF_FORCE_ISA=%s ignored: this build or CPU cannot run that variant; using '%s'", force,
                     tdiff_isa_to_string(choice));
        else if (isa_rank((tdiff_isa)forced) < isa_rank(choice))
            choice = (tdiff_isa)forced;
    }
    *out = choice;
    tdiff__copy_message(msg, cap, buf);
    return TDIFF_OK;
}

tdiff_status tdiff__env_setup(tdiff__env *env, const tdiff_host *host)
{
    tdiff_status st = tdiff__env_init(env, host);
    if (st != TDIFF_OK)
        return st;
    char note[256];
    tdiff_isa isa;
    st = tdiff__isa_resolve(env->host.isa, env->host.ignore_env ? NULL : tdiff__isa_force_env(), &isa, note,
                            sizeof note);
    if (st != TDIFF_OK)
        return tdiff__fail(env, st, "%s", note);
    if (note[0])
        tdiff__log(env, TDIFF_LOG_WARN, "%s", note);
    env->isa = isa;
    env->k = tdiff__kernels_for(isa);
    if (!env->k)
        return tdiff__fail(env, TDIFF_E_INTERNAL, "no kernel table for resolved ISA %d", (int)isa);
    return TDIFF_OK;
}

tdiff_status tdiff_isa_active(tdiff_isa *out_isa)
{
    if (!out_isa)
        return TDIFF_E_INVALID_ARGUMENT;
    return tdiff__isa_resolve(TDIFF_ISA_AUTO, tdiff__isa_force_env(), out_isa, NULL, 0);
}

const char *tdiff_isa_name(void)
{
    tdiff_isa isa = TDIFF_ISA_SCALAR;
    (void)tdiff_isa_active(&isa); /* cannot fail with a non-NULL pointer */
    return tdiff_isa_to_string(isa);
}

/* The feature list, written once (a constant afterwards, like the features). */
static char g_feature_names[256];
static pthread_once_t g_feature_names_once = PTHREAD_ONCE_INIT;

static void describe_features(void)
{
    tdiff__cpu_describe(tdiff__cpu_features(), g_feature_names, sizeof g_feature_names);
}

const char *tdiff_isa_cpu_features(void)
{
    pthread_once(&g_feature_names_once, describe_features);
    return g_feature_names;
}
