/* cri.h - parsing CRI log lines, exposed for tests and fuzzing.
 *
 * "<RFC3339Nano> <stdout|stderr> <P|F>[:tags] <text>"; the text may be empty
 * and then the space before it may be missing too. */
#ifndef WHARF_CRI_H
#define WHARF_CRI_H

#include "wharf/container_log.h"

/* Fills text, len, ns, stream and final of r (text points into line).
 * Returns 0, or WHARF_EPARSE when the line is not in CRI format. */
int cri_line_parse(const char *line, size_t len, wharf_container_record_t *r);

#endif
