/* array.h - growing an array that is indexed, not linked.
 *
 * Segment tables, archive frames, delivery targets and the like grow one
 * element at a time and are read by index; doubling keeps appends O(1) on
 * average. Unlike wharf/alloc.h, running out of memory (or a size that
 * would overflow) is returned, not fatal: the callers refuse one file, one
 * segment or one output and go on. */
#ifndef WHARF_ARRAY_H
#define WHARF_ARRAY_H

#include <stddef.h>

/* Makes room for at least `need` elements of `elem` bytes in the array
 * whose pointer is at `slot` (a T **, passed as void *) and whose capacity
 * is *cap: from `first` elements, doubling. On success the pointer and
 * *cap are updated and 0 is returned; on failure both are left as they
 * were (the array is still valid) and -ENOMEM is returned. */
int wharf_array_reserve(void *slot, size_t *cap, size_t need, size_t elem, size_t first);

#endif
