/* clock.c -- the library's one monotonic clock (timings in statistics, step budgets):
 * clock_gettime(CLOCK_MONOTONIC) on POSIX, QueryPerformanceCounter on Windows. */
#include "core.h"

#if defined(_WIN32)
#define WIN32_LEAN_AND_MEAN
#include <windows.h>

double tdiff__clock_s(void)
{
    LARGE_INTEGER now, freq;
    if (!QueryPerformanceFrequency(&freq) || freq.QuadPart <= 0 || !QueryPerformanceCounter(&now))
        return 0.0; /* cannot fail on Windows XP and later; same fallback as below */
    return (double)now.QuadPart / (double)freq.QuadPart;
}
#else
#include <time.h>

double tdiff__clock_s(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return 0.0; /* no monotonic clock: timings read 0, budgets allow one step per call */
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
#endif
