/* arena.c - bump allocator; see wharf/arena.h for why events use one. */
#include "wharf/arena.h"

#include <stdlib.h>
#include <string.h>

struct wharf_arena_chunk {
    wharf_arena_chunk *prev;
    size_t used;
    size_t cap;
    _Alignas(16) char data[];
};

/* Zeroed: PCRE2's JIT reads the aligned blocks a subject lies in (never
 * past its page), and a message at the end of what a new chunk holds would
 * have it read bytes never written - harmless, but memcheck reports it. */
static wharf_arena_chunk *arena_chunk_new(size_t cap, wharf_arena_chunk *prev)
{
    wharf_arena_chunk *c = calloc(1, sizeof(*c) + cap);
    if (c == NULL)
        return NULL;
    c->prev = prev;
    c->used = 0;
    c->cap = cap;
    return c;
}

void wharf_arena_init(wharf_arena_t *a, size_t chunk_size)
{
    a->head = NULL;
    a->chunk_size = chunk_size ? chunk_size : 16384;
}

void *wharf_arena_alloc(wharf_arena_t *a, size_t n)
{
    n = (n + 7) & ~(size_t)7;
    wharf_arena_chunk *c = a->head;
    if (c == NULL || c->cap - c->used < n) {
        size_t cap = n > a->chunk_size ? n : a->chunk_size;
        c = arena_chunk_new(cap, a->head);
        if (c == NULL)
            return NULL;
        a->head = c;
    }
    void *p = c->data + c->used;
    c->used += n;
    return p;
}

char *wharf_arena_strndup(wharf_arena_t *a, const char *s, size_t n)
{
    char *p = wharf_arena_alloc(a, n + 1);
    if (p == NULL)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void wharf_arena_reset(wharf_arena_t *a)
{
    wharf_arena_chunk *c = a->head;
    if (c == NULL)
        return;
    /* Keep the oldest chunk: it has the configured size, while later ones may
     * be oversized for one huge line and should not stay pinned. */
    while (c->prev != NULL) {
        wharf_arena_chunk *prev = c->prev;
        free(c);
        c = prev;
    }
    c->used = 0;
    a->head = c;
}

void wharf_arena_free(wharf_arena_t *a)
{
    wharf_arena_chunk *c = a->head;
    while (c != NULL) {
        wharf_arena_chunk *prev = c->prev;
        free(c);
        c = prev;
    }
    a->head = NULL;
}
