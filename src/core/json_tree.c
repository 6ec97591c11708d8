/* json_tree.c - unsigned 64-bit members of yajl trees (see json_tree.h). */
#include "wharf/json_tree.h"

#include <errno.h>
#include <stdlib.h>

int wharf_json_tree_u64(yajl_val obj, const char *key, uint64_t *out)
{
    const char *path[] = {key, NULL};
    yajl_val v = yajl_tree_get(obj, path, yajl_t_number);
    const char *text = v != NULL ? v->u.number.r : NULL;
    if (text == NULL || *text < '0' || *text > '9')
        return -1;
    char *end = NULL;
    errno = 0;
    unsigned long long n = strtoull(text, &end, 10);
    if (errno != 0 || *end != '\0')
        return -1;
    *out = (uint64_t)n;
    return 0;
}
