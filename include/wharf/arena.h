/* arena.h - bump allocator for per-event and per-batch memory.
 *
 * The hot path never calls malloc per field: strings an event needs beyond the
 * read buffer (unescaped JSON text, joined partial lines) are bump-allocated
 * here and released all at once with wharf_arena_reset(). */
#ifndef WHARF_ARENA_H
#define WHARF_ARENA_H

#include <stddef.h>

typedef struct wharf_arena_chunk wharf_arena_chunk;

typedef struct wharf_arena {
    wharf_arena_chunk *head; /* current chunk; older chunks chain behind it */
    size_t chunk_size;
} wharf_arena_t;

void wharf_arena_init(wharf_arena_t *a, size_t chunk_size);
/* Returns 8-byte aligned memory, or NULL when out of memory. */
void *wharf_arena_alloc(wharf_arena_t *a, size_t n);
/* Copies n bytes and appends a NUL. */
char *wharf_arena_strndup(wharf_arena_t *a, const char *s, size_t n);
/* Frees every chunk but the first, which is kept for reuse: O(1) in the
 * common case where one chunk was enough. */
void wharf_arena_reset(wharf_arena_t *a);
void wharf_arena_free(wharf_arena_t *a);

#endif
