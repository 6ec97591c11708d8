/* archive_cli.h - what `wharf archive verify` and `wharf archive cat` share:
 * their parsed arguments and the time-range test. */
#ifndef WHARF_ARCHIVE_CLI_H
#define WHARF_ARCHIVE_CLI_H

#include "wharf/archive.h"

#define ARCHIVE_CLI_WHERE_MAX 32

typedef struct archive_cli_args {
    const char *path;
    const char *pubkey;
    wharf_archive_ts_t from, to;              /* [from, to); "" is unbounded */
    const char *where[ARCHIVE_CLI_WHERE_MAX]; /* "field=value" */
    size_t n_where;
    int json;
} archive_cli_args_t;

/* Whether [first, last] meets [from, to); a span without times always does. */
int archive_cli_overlaps(const archive_cli_args_t *a, const char *first, const char *last);
int archive_cli_verify(const archive_cli_args_t *a);

#endif
