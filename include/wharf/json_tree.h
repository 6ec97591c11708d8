/* json_tree.h - reading wharf's own state files through yajl's tree API.
 *
 * The buffer's cursors.json and the inputs' positions.json hold 64-bit
 * numbers (segment offsets, inode and device numbers) that do not fit
 * yajl's long long, so they are read from the number's text. */
#ifndef WHARF_JSON_TREE_H
#define WHARF_JSON_TREE_H

#include <stdint.h>
#include <yajl/yajl_tree.h>

/* obj's member key as an unsigned 64-bit decimal: 0, or -1 when it is
 * missing, not a number, negative, fractional or out of range. */
int wharf_json_tree_u64(yajl_val obj, const char *key, uint64_t *out);

#endif
