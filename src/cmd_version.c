/* cmd_version.c -- `textdiff version`: library version, SIMD variant, kernel self-check. */
#include <stdio.h>

#include "cmd.h"
#include "libtextdiff.h"

int cmd_version(int argc, char **argv)
{
    if (argc > 1 && tool_is_help(argv[1])) {
        printf("usage: textdiff version\n\nPrints the library version, the SIMD variant in use (TDIFF_FORCE_ISA may\n"
               "lower it), the CPU features it was chosen from, and the result of checking every kernel\n"
               "against the scalar reference.\n");
        return 0;
    }
    printf("libtextdiff %s\n", tdiff_version_string());
    printf("simd: %s\n", tdiff_isa_name());
    printf("cpu: %s\n", tdiff_isa_cpu_features());
    tdiff_isa isa;
    tdiff_status st = tdiff_isa_self_check(NULL, &isa);
    printf("kernel self-check (%s vs scalar): %s\n", tdiff_isa_to_string(isa), st == TDIFF_OK ? "ok" : "FAILED");
    return st == TDIFF_OK ? 0 : 1;
}
