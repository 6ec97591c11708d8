/* partial.h - joining a log line that the runtime split into parts.
 *
 * Docker's json-file driver and CRI runtimes cut lines at 16 KiB: Docker
 * leaves the trailing "\n" off all but the last part, CRI marks parts P and
 * the last F. Parts of one stream arrive in order but may interleave with the
 * other stream, so there is one joiner per stream. The joined text is bounded
 * by max_line_bytes; the rest is dropped and the event tagged truncated. */
#ifndef WHARF_PARTIAL_H
#define WHARF_PARTIAL_H

#include <stddef.h>
#include <stdint.h>

typedef struct wharf_partial {
    char *text;
    size_t len, cap;
    uint64_t first_off; /* file offset of the first part */
    int64_t first_ns;   /* timestamp of the first part */
    int active;
    int truncated;
} wharf_partial_t;

/* Appends a part (the first one sets first_off and first_ns). */
int wharf_partial_add(wharf_partial_t *p, const char *s, size_t n, uint64_t off, int64_t ns,
                      uint64_t max_bytes);
void wharf_partial_reset(wharf_partial_t *p);
void wharf_partial_free(wharf_partial_t *p);

#endif
