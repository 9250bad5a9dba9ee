/* status.c -- status strings and the version functions. */
#include "core.h"

const char *tdiff_status_string(int status)
{
    switch (status) {
    case TDIFF_OK: return "ok";
    case TDIFF_E_INVALID_ARGUMENT: return "invalid argument";
    case TDIFF_E_OUT_OF_MEMORY: return "out of memory";
    case TDIFF_E_IO: return "input/output error";
    case TDIFF_E_BAD_FORMAT: return "malformed model data";
    case TDIFF_E_UNSUPPORTED: return "unsupported";
    case TDIFF_E_BUFFER_TOO_SMALL: return "buffer too small";
    case TDIFF_E_NOT_FOUND: return "not found";
    case TDIFF_E_TYPE_MISMATCH: return "type mismatch";
    case TDIFF_E_ABORTED: return "aborted by callback";
    case TDIFF_E_STATE: return "invalid state for this call";
    case TDIFF_E_OVERFLOW: return "size overflow";
    case TDIFF_E_INTERNAL: return "internal error";
    default: return "unknown status";
    }
}

#define TDIFF__STR2(x) #x
#define TDIFF__STR(x) TDIFF__STR2(x)

unsigned tdiff_version_number(void)
{
    return TDIFF_VERSION_NUMBER;
}

const char *tdiff_version_string(void)
{
    return TDIFF__STR(TDIFF_VERSION_MAJOR) "." TDIFF__STR(TDIFF_VERSION_MINOR) "." TDIFF__STR(TDIFF_VERSION_PATCH);
}
