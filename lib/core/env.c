/* env.c -- the per-handle environment: allocator hooks, logging, last error.
 * The kernel table is bound one module up (simd.h, tdiff__env_setup). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

static void *libc_malloc(void *ud, size_t n)
{
    (void)ud;
    return malloc(n ? n : 1);
}
static void *libc_realloc(void *ud, void *p, size_t n)
{
    (void)ud;
    return realloc(p, n ? n : 1);
}
static void libc_free(void *ud, void *p)
{
    (void)ud;
    free(p);
}

void tdiff__copy_message(char *buf, size_t cap, const char *msg)
{
    if (!buf || cap == 0)
        return;
    size_t n = strlen(msg);
    if (n >= cap)
        n = cap - 1;
    memcpy(buf, msg, n);
    buf[n] = '\0';
}

tdiff_status tdiff__creator_result(const tdiff__env *env, tdiff_status st, char *err, size_t err_cap)
{
    if (st == TDIFF_OK)
        tdiff__copy_message(err, err_cap, "");
    else
        tdiff__copy_message(err, err_cap, env->last_error[0] ? env->last_error : tdiff_status_string(st));
    return st;
}

tdiff_status tdiff__env_init(tdiff__env *env, const tdiff_host *host)
{
    memset(env, 0, sizeof *env);
    env->host.struct_size = sizeof env->host;
    env->host.malloc_fn = libc_malloc;
    env->host.realloc_fn = libc_realloc;
    env->host.free_fn = libc_free;
    env->host.log_level = TDIFF_LOG_WARN;
    if (host) {
        /* Older, shorter structs are accepted: the fields they lack keep their
         * defaults (ignore_env, for one, arrived after isa). The shortest ever
         * published ends before log_fn. */
        if (host->struct_size < offsetof(tdiff_host, log_fn))
            return tdiff__fail(env, TDIFF_E_INVALID_ARGUMENT, "tdiff_host.struct_size %zu is too small",
                               host->struct_size);
        if (host->struct_size > sizeof *host)
            return tdiff__fail(env, TDIFF_E_INVALID_ARGUMENT,
                               "tdiff_host.struct_size %zu is larger than this library's %zu (newer header?)",
                               host->struct_size, sizeof *host);
        tdiff_host h = env->host;
        memcpy(&h, host, host->struct_size);
        bool any = h.malloc_fn || h.realloc_fn || h.free_fn;
        bool all = h.malloc_fn && h.realloc_fn && h.free_fn;
        if (any && !all)
            return tdiff__fail(env, TDIFF_E_INVALID_ARGUMENT,
                               "tdiff_host: malloc_fn, realloc_fn and free_fn must be all set or all NULL");
        if (!any) {
            h.malloc_fn = libc_malloc;
            h.realloc_fn = libc_realloc;
            h.free_fn = libc_free;
        }
        if (h.log_level == 0)
            h.log_level = TDIFF_LOG_WARN;
        if (h.log_level < TDIFF_LOG_ERROR || h.log_level > TDIFF_LOG_DEBUG)
            return tdiff__fail(env, TDIFF_E_INVALID_ARGUMENT, "tdiff_host.log_level %d is out of range",
                               (int)h.log_level);
        h.struct_size = sizeof h;
        env->host = h;
    }
    return TDIFF_OK;
}

void *tdiff__malloc(const tdiff__env *env, size_t size)
{
    return env->host.malloc_fn(env->host.alloc_user_data, size);
}

void *tdiff__calloc(const tdiff__env *env, size_t count, size_t size)
{
    size_t total;
    if (!tdiff__mul_size(count, size, &total))
        return NULL;
    void *p = env->host.malloc_fn(env->host.alloc_user_data, total);
    if (p)
        memset(p, 0, total);
    return p;
}

void *tdiff__realloc(const tdiff__env *env, void *ptr, size_t size)
{
    return env->host.realloc_fn(env->host.alloc_user_data, ptr, size);
}

void tdiff__free(const tdiff__env *env, void *ptr)
{
    if (ptr)
        env->host.free_fn(env->host.alloc_user_data, ptr);
}

char *tdiff__strndup(const tdiff__env *env, const char *s, size_t n)
{
    size_t total;
    if (!tdiff__add_size(n, 1, &total))
        return NULL;
    char *d = tdiff__malloc(env, total);
    if (!d)
        return NULL;
    if (n)
        memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

/* Messages quote strings from files (keys, tensor names, token texts). So that
 * a host may print them to a terminal, control bytes (C0, DEL), C1 controls
 * (U+0080..U+009F) and bytes that are not UTF-8 become '?', in place. */
static void make_printable(char *msg)
{
    unsigned char *s = (unsigned char *)msg;
    for (size_t i = 0; s[i];) {
        unsigned char c = s[i];
        size_t len = c < 0x80 ? 1 : c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3
                                   : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
        for (size_t k = 1; k < len; k++)
            if ((s[i + k] & 0xC0) != 0x80) /* also stops at the NUL */
                len = 0;
        if (len == 0 || c < 0x20 || c == 0x7F) {
            s[i++] = '?';
            continue;
        }
        if (c == 0xC2 && s[i + 1] < 0xA0) /* a C1 control */
            s[i] = s[i + 1] = '?';
        i += len;
    }
}

static void vlog(const tdiff__env *env, tdiff_log_level level, const char *fmt, va_list ap)
{
    if (!env->host.log_fn || level > env->host.log_level)
        return;
    char buf[TDIFF__ERR_CAP];
    vsnprintf(buf, sizeof buf, fmt, ap);
    make_printable(buf);
    env->host.log_fn(env->host.log_user_data, level, buf);
}

void tdiff__log(const tdiff__env *env, tdiff_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(env, level, fmt, ap);
    va_end(ap);
}

tdiff_status tdiff__fail(tdiff__env *env, tdiff_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(env->last_error, sizeof env->last_error, fmt, ap);
    va_end(ap);
    make_printable(env->last_error);
    tdiff__log(env, TDIFF_LOG_ERROR, "%s", env->last_error);
    return status;
}
