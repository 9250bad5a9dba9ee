/*
 * hello.c -- the smallest program that uses libtextdiff: prints the library version,
 * the SIMD variant chosen for this CPU, and checks every kernel of that variant
 * against the portable reference.
 *
 *   cc hello.c $(pkg-config --cflags --libs libtextdiff) -o hello && ./hello
 */
#include <stdio.h>

#include <libtextdiff.h>

int main(void)
{
    printf("libtextdiff %s (header %d.%d.%d)\n", tdiff_version_string(), TDIFF_VERSION_MAJOR,
           TDIFF_VERSION_MINOR, TDIFF_VERSION_PATCH);

    tdiff_isa isa;
    tdiff_status st = tdiff_isa_active(&isa);
    if (st != TDIFF_OK) {
        /* Happens when TDIFF_FORCE_ISA names a variant this CPU cannot run. */
        fprintf(stderr, "SIMD selection failed: %s\n", tdiff_status_string(st));
        return 1;
    }
    printf("SIMD variant: %s\n", tdiff_isa_name());

    st = tdiff_isa_self_check(NULL, &isa);
    printf("kernel self-check (%s against scalar): %s\n", tdiff_isa_to_string(isa), tdiff_status_string(st));

    /* Random numbers are keyed, not sequential: the same key gives the same value anywhere. */
    printf("uniform draw (seed 42, step 0, position 0): %.17g\n", tdiff_rng_uniform(42, 0, 0, 0));
    return st == TDIFF_OK ? 0 : 1;
}
