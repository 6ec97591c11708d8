/* array.c - growing indexed arrays (see array.h). */
#include "wharf/array.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int wharf_array_reserve(void *slot, size_t *cap, size_t need, size_t elem, size_t first)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap > 0 ? *cap : (first > 0 ? first : 1);
    while (n < need) {
        if (n > SIZE_MAX / 2)
            return -ENOMEM;
        n *= 2;
    }
    elem = elem > 0 ? elem : 1; /* realloc(p, 0) may free p */
    if (n > SIZE_MAX / elem)
        return -ENOMEM;
    /* The slot holds some T *; reading and writing it as bytes keeps the
     * caller's pointer type out of this function. */
    void *old;
    memcpy(&old, slot, sizeof(old));
    void *v = realloc(old, n * elem);
    if (v == NULL)
        return -ENOMEM;
    memcpy(slot, &v, sizeof(v));
    *cap = n;
    return 0;
}
