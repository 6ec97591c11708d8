/* timefmt.h - RFC 3339 timestamps to and from nanoseconds since the epoch.
 *
 * Container runtimes write RFC 3339 with up to nine fraction digits, in UTC
 * (Docker) or with a local offset (containerd). wharf keeps nanoseconds and
 * always writes UTC with nine digits, so events sort and compare as text. */
#ifndef WHARF_TIMEFMT_H
#define WHARF_TIMEFMT_H

#include "wharf/tz.h"

#include <stddef.h>
#include <stdint.h>

#define WHARF_TIME_TEXT_LEN 30 /* "YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ" */

/* Parses "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+hh:mm|-hh:mm)". Returns 0 and
 * sets *ns, or WHARF_EPARSE. */
int wharf_time_parse(const char *s, size_t n, int64_t *ns);
/* Writes exactly WHARF_TIME_TEXT_LEN bytes (no NUL). */
void wharf_time_format(int64_t ns, char *out);
/* A timestamp as a log line writes it (src/core/timefmt.c): with a
 * strptime format, or without one RFC 3339 / ISO 8601, HTTPDATE
 * ("10/Oct/2000:13:55:36 -0700"), syslog ("Dec 10 06:55:46", the year
 * nearest to now_ns) or epoch seconds with an optional fraction. A time
 * without an offset (no Z or +hh:mm, a format without %z or %s) is local
 * time in tz (wharf/tz.h), or UTC when tz is NULL. Returns 0 and sets *ns
 * when the text carried its offset (epoch numbers do), WHARF_TIME_LOCAL
 * when it did not, or WHARF_EPARSE. */
#define WHARF_TIME_LOCAL 1
int wharf_time_parse_log(const char *s, size_t n, const char *format, const wharf_tz_t *tz,
                         int64_t now_ns, int64_t *ns);
/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar, and
 * back: the date of a day count. */
int64_t wharf_days_from_civil(int64_t y, unsigned m, unsigned d);
void wharf_civil_from_days(int64_t days, int *y, unsigned *m, unsigned *d);
/* Now, in nanoseconds since the epoch. */
int64_t wharf_time_now(void);

#endif
