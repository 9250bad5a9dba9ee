/* support_model.c -- model helpers of the unit tests; not built in a
 * kernels-only build (-Dkernels_only=true), which has no model module. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "support.h"

tdiff_model *test_load_model(const char *path, const tdiff_host *host)
{
    tdiff_model *m = NULL;
    char err[512] = "";
    tdiff_status st = tdiff_model_load_file(path, host, &m, err, sizeof err);
    if (st != TDIFF_OK)
        fail_msg("cannot load %s: %s (%s)", path, tdiff_status_string(st), err);
    return m;
}
