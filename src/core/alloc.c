/* alloc.c - allocations that abort when memory runs out (see alloc.h). */
#include "wharf/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *alloc_checked(void *p, size_t n, size_t size)
{
    if (p == NULL) {
        fprintf(stderr, "wharf: out of memory allocating %zu x %zu bytes\n", n, size);
        abort();
    }
    return p;
}

void *wharf_xmalloc(size_t n)
{
    return alloc_checked(malloc(n ? n : 1), 1, n);
}

void *wharf_xcalloc(size_t n, size_t size)
{
    return alloc_checked(calloc(n ? n : 1, size ? size : 1), n, size);
}

void *wharf_xrealloc(void *p, size_t n)
{
    return alloc_checked(realloc(p, n ? n : 1), 1, n);
}

char *wharf_xstrdup(const char *s)
{
    return alloc_checked(strdup(s), 1, strlen(s) + 1);
}

char *wharf_xstrndup(const char *s, size_t n)
{
    return alloc_checked(strndup(s, n), 1, n + 1);
}
