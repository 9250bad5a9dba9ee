/*
 * names.c -- the name <-> value tables behind every tdiff_<object>_param_name /
 * _param_from_name pair: one linear table per enum, so a name is written once.
 */
#include <string.h>

#include "core.h"

const char *tdiff__name_of(const tdiff__name *table, size_t n, int value)
{
    for (size_t i = 0; i < n; i++)
        if (table[i].value == value)
            return table[i].name;
    return "unknown";
}

tdiff_status tdiff__value_of(const tdiff__name *table, size_t n, const char *name, int *out)
{
    if (!name || !out)
        return TDIFF_E_INVALID_ARGUMENT;
    for (size_t i = 0; i < n; i++)
        if (strcmp(table[i].name, name) == 0) {
            *out = table[i].value;
            return TDIFF_OK;
        }
    return TDIFF_E_NOT_FOUND;
}
