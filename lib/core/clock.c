/* clock.c -- the library's one monotonic clock (timings in statistics, step budgets). */
#include <time.h>

#include "core.h"

double tdiff__clock_s(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return 0.0; /* no monotonic clock: timings read 0, budgets allow one step per call */
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
