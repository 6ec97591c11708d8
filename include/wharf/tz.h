/* tz.h - time zones, for log timestamps that carry no UTC offset.
 *
 * A host that logs in local time writes "2024-03-31 02:30:00" or syslog's
 * "Dec 10 06:55:46" without saying where; a parser field names the zone
 * and the local time becomes UTC through it. libc's zones (TZ, tzset,
 * localtime, mktime) are one per process and wharf is multi-threaded, so
 * zones are read here, from the system's TZif files.
 *
 * A zone is one of:
 *   - an IANA name, as Europe/Berlin: the TZif file (RFC 8536, versions 1
 *     to 4) of that name under $TZDIR, else /usr/share/zoneinfo; its
 *     transitions, and for times after the last one the footer's POSIX TZ
 *     string (no DST, or DST with rules of the M.m.w.d[/time] form, as every
 *     zone of tzdata has). Names are letters, digits and "/_-+.", relative,
 *     without "..". Zones with leap seconds (right/...) are refused.
 *   - a fixed offset: "UTC", "Z", "+01:00", "-0530", "+01".
 *
 * Local time to UTC, where the local clock is not one to one:
 *   - in a gap (spring forward: the local time does not exist), the offset
 *     before the gap, as if the clock had not moved yet: 02:30 on the night
 *     Europe/Berlin goes from 02:00 to 03:00 is 01:30Z (03:30 CEST);
 *   - in a fold (fall back: the local time happens twice), the first
 *     occurrence, the one before the clock went back (DST): 02:30 on the
 *     night Europe/Berlin goes from 03:00 back to 02:00 is 00:30Z;
 *   - before the first transition, the zone's first local time type. */
#ifndef WHARF_TZ_H
#define WHARF_TZ_H

#include <stddef.h>
#include <stdint.h>

typedef struct wharf_tz wharf_tz_t;

/* Loads the zone name into *tz (free with wharf_tz_free). Returns 0,
 * -EINVAL for a name that is no zone name (absolute, "..", other
 * characters), -ENOENT when there is no such file, WHARF_EPARSE for a file
 * that is not a TZif file read here, -ENOMEM or another negated errno. */
int wharf_tz_load(const char *name, wharf_tz_t **tz);
/* The name the zone was loaded by. */
const char *wharf_tz_name(const wharf_tz_t *tz);
/* The directory IANA names are read from: $TZDIR, else /usr/share/zoneinfo. */
const char *wharf_tz_dir(void);
/* What an operator is told when wharf_tz_load(name) returned rc, written
 * to buf ("unknown time zone 'X': not in DIR (an IANA name as ..."); buf. */
const char *wharf_tz_load_error(int rc, const char *name, char *buf, size_t cap);
/* The UTC seconds of local_seconds (a local civil time counted as if it
 * were UTC), by the rules above. */
int64_t wharf_tz_local_to_utc(const wharf_tz_t *tz, int64_t local_seconds);
void wharf_tz_free(wharf_tz_t *tz);

#endif
