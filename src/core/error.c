/* error.c - text for wharf's negative error codes (wharf/common.h). */
#include "wharf/common.h"

#include <string.h>

const char *wharf_strerror(int err)
{
    switch (err) {
    case WHARF_EINVAL_CONFIG:
        return "invalid configuration";
    case WHARF_EPARSE:
        return "malformed input";
    case WHARF_ETOOBIG:
        return "value too large";
    case WHARF_EFULL:
        return "disk buffer full";
    default:
        return strerror(-err);
    }
}
