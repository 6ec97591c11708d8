/* common.h - types and error codes shared by every wharf module.
 *
 * Errors follow libuv's convention: functions return 0 on success and a
 * negative code on failure, either a negated errno value or one of the
 * WHARF_E* codes below, so callers can tell "file vanished" (-ENOENT) from
 * "config invalid" without a second error channel. */
#ifndef WHARF_COMMON_H
#define WHARF_COMMON_H

#include <stddef.h>
#include <stdint.h>

#define WHARF_VERSION     "0.1.0"
#define WHARF_ECS_VERSION "9.4.0"

enum {
    WHARF_EINVAL_CONFIG = -10001, /* configuration did not validate */
    WHARF_EPARSE = -10002,        /* input bytes are not in the expected format */
    WHARF_ETOOBIG = -10003,       /* a value exceeded a configured bound */
    WHARF_EFULL = -10004,         /* the disk buffer is at max_size (when_full: block) */
};

/* A byte slice. Not NUL-terminated unless documented; never owns memory. */
typedef struct wharf_str {
    const char *ptr;
    size_t len;
} wharf_str_t;

#define WHARF_STR_LIT(s) ((wharf_str_t){(s), sizeof(s) - 1})

/* Human-readable text for a wharf or errno error code. */
const char *wharf_strerror(int err);

#endif
