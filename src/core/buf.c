/* buf.c - slow path of the growable byte buffer (wharf/buf.h). */
#include "wharf/buf.h"

#include "wharf/alloc.h"

#include <stdlib.h>

void wharf_buf_init(wharf_buf_t *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void wharf_buf_free(wharf_buf_t *b)
{
    free(b->data);
    wharf_buf_init(b);
}

void wharf_buf_reserve_slow(wharf_buf_t *b, size_t n)
{
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->len < n)
        cap *= 2;
    b->data = wharf_xrealloc(b->data, cap);
    b->cap = cap;
}
