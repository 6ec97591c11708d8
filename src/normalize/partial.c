/* partial.c - joining split log lines (see wharf/partial.h). */
#include "wharf/partial.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int wharf_partial_add(wharf_partial_t *p, const char *s, size_t n, uint64_t off, int64_t ns,
                      uint64_t max_bytes)
{
    if (!p->active) {
        p->active = 1;
        p->len = 0;
        p->truncated = 0;
        p->first_off = off;
        p->first_ns = ns;
    }
    if (p->len + n > max_bytes) {
        n = max_bytes > p->len ? (size_t)(max_bytes - p->len) : 0;
        p->truncated = 1;
    }
    if (p->len + n > p->cap) {
        size_t cap = p->cap ? p->cap : 4096;
        while (cap < p->len + n)
            cap *= 2;
        char *t = realloc(p->text, cap);
        if (t == NULL)
            return -ENOMEM;
        p->text = t;
        p->cap = cap;
    }
    if (n)
        memcpy(p->text + p->len, s, n);
    p->len += n;
    return 0;
}

void wharf_partial_reset(wharf_partial_t *p)
{
    p->active = 0;
    p->len = 0;
    p->truncated = 0;
    /* A joined 1 MiB line should not pin 1 MiB per stream forever. */
    if (p->cap > 65536) {
        free(p->text);
        p->text = NULL;
        p->cap = 0;
    }
}

void wharf_partial_free(wharf_partial_t *p)
{
    free(p->text);
    memset(p, 0, sizeof(*p));
}
