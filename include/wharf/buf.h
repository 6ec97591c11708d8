/* buf.h - growable byte buffer, the output side of the JSON writer.
 *
 * Appends are inline so that serializing an event is a sequence of memcpy's;
 * growth is geometric and the buffer is reused across batches. */
#ifndef WHARF_BUF_H
#define WHARF_BUF_H

#include <stddef.h>
#include <string.h>

typedef struct wharf_buf {
    char *data;
    size_t len;
    size_t cap;
} wharf_buf_t;

void wharf_buf_init(wharf_buf_t *b);
void wharf_buf_free(wharf_buf_t *b);
/* Makes room for n more bytes. Aborts on out-of-memory: a log shipper that
 * cannot allocate a few KiB cannot report anything useful either. */
void wharf_buf_reserve_slow(wharf_buf_t *b, size_t n);

static inline void wharf_buf_reserve(wharf_buf_t *b, size_t n)
{
    if (b->cap - b->len < n)
        wharf_buf_reserve_slow(b, n);
}

/* p may be NULL when n is 0 (an empty buffer's data). */
static inline void wharf_buf_append(wharf_buf_t *b, const void *p, size_t n)
{
    if (n == 0)
        return;
    wharf_buf_reserve(b, n);
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

static inline void wharf_buf_putc(wharf_buf_t *b, char c)
{
    wharf_buf_reserve(b, 1);
    b->data[b->len++] = c;
}

/* A NUL-terminated string, without its NUL. */
static inline void wharf_buf_puts(wharf_buf_t *b, const char *s)
{
    wharf_buf_append(b, s, strlen(s));
}

#define wharf_buf_lit(b, s) wharf_buf_append((b), (s), sizeof(s) - 1)

#endif
