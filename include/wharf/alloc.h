/* alloc.h - allocations wharf cannot do without.
 *
 * Small allocations at load time (parser files, option defaults) and the
 * growth of buffers and queues that the pipeline needs to go on have no
 * useful way to continue when memory runs out. These print what failed
 * and abort, rather than leave a NULL for a crash somewhere later. Where
 * a caller can refuse one piece and go on (a huge line, one container's
 * metadata), it calls malloc itself and checks. */
#ifndef WHARF_ALLOC_H
#define WHARF_ALLOC_H

#include <stddef.h>

void *wharf_xmalloc(size_t n);
void *wharf_xcalloc(size_t n, size_t size);
void *wharf_xrealloc(void *p, size_t n);
char *wharf_xstrdup(const char *s);
char *wharf_xstrndup(const char *s, size_t n);

#endif
