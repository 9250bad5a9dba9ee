/*
 * load.c -- the model's lifetime: tdiff_model_load_file (a regular file mapped
 * read-only by osfile.c, kept until free), tdiff_model_load_memory (a
 * caller's buffer, not copied) and tdiff_model_free.
 */
#include "model.h"

static void release(tdiff_model *m)
{
    tdiff__gguf_release(m);
    if (m->map_addr)
        tdiff__unmap_file(m->map_addr, m->size);
    tdiff__env env = m->env; /* the struct is freed with its own allocator */
    tdiff__free(&env, m);
}

/* Creates the struct with its env; on failure the message goes to err. */
static tdiff_status create(const tdiff_host *host, tdiff_model **out, char *err, size_t err_cap)
{
    tdiff__env env;
    tdiff_status st = tdiff__env_setup(&env, host);
    if (st != TDIFF_OK) {
        tdiff__copy_message(err, err_cap, env.last_error);
        return st;
    }
    tdiff_model *m = tdiff__calloc(&env, 1, sizeof *m);
    if (!m) {
        tdiff__copy_message(err, err_cap, "no memory for the model");
        return TDIFF_E_OUT_OF_MEMORY;
    }
    m->env = env;
    *out = m;
    return TDIFF_OK;
}

/* Parses and validates m->base[0..size); frees m on failure. */
static tdiff_status finish(tdiff_model *m, tdiff_model **out_model, char *err, size_t err_cap)
{
    tdiff_status st = tdiff__gguf_parse(m);
    if (st == TDIFF_OK)
        st = tdiff__arch_fill(m, &m->env);
    if (st != TDIFF_OK) {
        tdiff__copy_message(err, err_cap, m->env.last_error);
        release(m);
        return st;
    }
    m->env.last_error[0] = '\0';
    *out_model = m;
    tdiff__copy_message(err, err_cap, "");
    return TDIFF_OK;
}

tdiff_status tdiff_model_load_memory(const void *data, size_t size, const tdiff_host *host, tdiff_model **out_model,
                                     char *err, size_t err_cap)
{
    if (out_model)
        *out_model = NULL;
    if (!out_model || (!data && size)) {
        tdiff__copy_message(err, err_cap, "tdiff_model_load_memory: NULL out_model or data");
        return TDIFF_E_INVALID_ARGUMENT;
    }
    tdiff_model *m;
    tdiff_status st = create(host, &m, err, err_cap);
    if (st != TDIFF_OK)
        return st;
    static const uint8_t empty[1];
    m->base = data ? data : empty;
    m->size = size;
    return finish(m, out_model, err, err_cap);
}

tdiff_status tdiff_model_load_file(const char *path, const tdiff_host *host, tdiff_model **out_model, char *err,
                                   size_t err_cap)
{
    if (out_model)
        *out_model = NULL;
    if (!path || !out_model) {
        tdiff__copy_message(err, err_cap, "tdiff_model_load_file: NULL path or out_model");
        return TDIFF_E_INVALID_ARGUMENT;
    }
    tdiff_model *m;
    tdiff_status st = create(host, &m, err, err_cap);
    if (st != TDIFF_OK)
        return st;
    void *addr;
    size_t size;
    st = tdiff__map_file(&m->env, path, &addr, &size);
    if (st != TDIFF_OK) {
        tdiff__copy_message(err, err_cap, m->env.last_error);
        release(m);
        return st;
    }
    m->map_addr = addr;
    m->base = addr;
    m->size = size;
    return finish(m, out_model, err, err_cap);
}

void tdiff_model_free(tdiff_model *model)
{
    if (model)
        release(model);
}
