/*
 * core.h -- internal services every module uses: the per-handle environment
 * (allocator, logging, SIMD kernel table, last error), checked size arithmetic.
 * Internal only: symbols are tdiff__* and hidden.
 */
#ifndef TDIFF_CORE_H
#define TDIFF_CORE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libtextdiff.h"

struct tdiff__kernels;

#define TDIFF__ERR_CAP 512

/* What every handle carries: a copy of the caller's host hooks (allocator always
 * set after init), the kernel table captured at creation (bound by simd's
 * tdiff__env_setup; core never looks inside it), the last error text. */
typedef struct tdiff__env {
    tdiff_host host;
    const struct tdiff__kernels *k;
    tdiff_isa isa;
    char last_error[TDIFF__ERR_CAP];
} tdiff__env;

/* Validates and copies `host` (NULL = defaults); k and isa stay unset (handle
 * creators call simd's tdiff__env_setup, which runs this and binds the table).
 * On failure writes a message into env->last_error (env is still usable for that). */
tdiff_status tdiff__env_init(tdiff__env *env, const tdiff_host *host);

void *tdiff__malloc(const tdiff__env *env, size_t size);
/* count*size with overflow check; memory zeroed. */
void *tdiff__calloc(const tdiff__env *env, size_t count, size_t size);
void *tdiff__realloc(const tdiff__env *env, void *ptr, size_t size);
void tdiff__free(const tdiff__env *env, void *ptr);
/* Duplicates n bytes and appends a NUL. */
char *tdiff__strndup(const tdiff__env *env, const char *s, size_t n);

/* Format checking of the library's printf-style functions. mingw-w64: the C99
 * printf of __USE_MINGW_ANSI_STDIO (meson.build defines it for Windows; %zu and
 * friends), which gcc calls gnu_printf there ("printf" would mean msvcrt's). */
#if defined(__MINGW32__)
#define TDIFF__PRINTF(f, a) __attribute__((format(gnu_printf, f, a)))
#elif defined(__GNUC__)
#define TDIFF__PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define TDIFF__PRINTF(f, a)
#endif

/* Records a formatted message as the handle's last error, logs it at ERROR level
 * and returns `status` so callers can write `return tdiff__fail(env, ...)`. */
tdiff_status tdiff__fail(tdiff__env *env, tdiff_status status, const char *fmt, ...) TDIFF__PRINTF(3, 4);
void tdiff__log(const tdiff__env *env, tdiff_log_level level, const char *fmt, ...) TDIFF__PRINTF(3, 4);
/* Copies a message into a caller's (buf, cap); safe with buf NULL or cap 0. */
void tdiff__copy_message(char *buf, size_t cap, const char *msg);
/* The end of every public creator (and of every call that reports through a
 * caller's (err, err_cap), as the objectives): on failure copies env's last error
 * (or the status's text when there is none) into (err, err_cap); on success leaves
 * an empty string there. Returns st. */
tdiff_status tdiff__creator_result(const tdiff__env *env, tdiff_status st, char *err, size_t err_cap);

/* Seconds on a monotonic clock (an arbitrary origin): for durations only. */
double tdiff__clock_s(void);

/* A parameter's snake_case name ("block_length"), one row of a module's table. */
typedef struct tdiff__name {
    int value;
    const char *name;
} tdiff__name;
/* The name of `value` in table[0..n), or "unknown". Static storage. */
const char *tdiff__name_of(const tdiff__name *table, size_t n, int value);
/* The value named `name` (exact spelling): TDIFF_OK, TDIFF_E_NOT_FOUND, or
 * TDIFF_E_INVALID_ARGUMENT when name or out is NULL. */
tdiff_status tdiff__value_of(const tdiff__name *table, size_t n, const char *name, int *out);
#define TDIFF__COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Checked arithmetic: return false on overflow (and leave *out unspecified). */
static inline bool tdiff__mul_size(size_t a, size_t b, size_t *out)
{
    return !__builtin_mul_overflow(a, b, out);
}
static inline bool tdiff__add_size(size_t a, size_t b, size_t *out)
{
    return !__builtin_add_overflow(a, b, out);
}
static inline bool tdiff__mul_u64(uint64_t a, uint64_t b, uint64_t *out)
{
    return !__builtin_mul_overflow(a, b, out);
}
static inline bool tdiff__add_u64(uint64_t a, uint64_t b, uint64_t *out)
{
    return !__builtin_add_overflow(a, b, out);
}

#endif
