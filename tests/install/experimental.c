/* experimental.c -- a consumer of the installed header's experimental API:
 * tests/install/check.sh builds it with -DTDIFF_EXPERIMENTAL (and runs it), and
 * checks that without the macro the experimental declarations are absent. */
#include <stdio.h>

#include <libtextdiff.h>

int main(void)
{
    double c0, ct, var;
    if (tdiff_gauss_posterior_coefs(0.5, 0.8, &c0, &ct, &var) != TDIFF_OK)
        return 1;
    printf("experimental API reachable: q(x_{t-1} | x_t, x_0) variance %.6f\n", var);
    return 0;
}
