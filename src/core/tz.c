/* tz.c - time zones from TZif files and fixed offsets (see wharf/tz.h).
 *
 * A zone is its transitions (UTC instants) and the UT offset from each on,
 * plus, after the last one, the TZif footer's POSIX rule: the DST start and
 * end of any year, computed for the years around a time. Both are resolved
 * the same way, as a list of periods: a local time belongs to the first
 * period whose local end is after it. That one rule gives the first
 * occurrence in a fold, and for a time in a gap (before the local start of
 * that period) the offset of the period before. */
#include "wharf/tz.h"

#include "wharf/common.h"
#include "wharf/fsutil.h"
#include "wharf/timefmt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TZ_MAX_FILE (1u << 20) /* the largest tzdata file is under 4 KiB */
#define TZ_MAX_NAME 255

/* A POSIX TZ rule "Mm.w.d/time": the d-th weekday (0 Sunday) of week w
 * (5: the last) of month m, at time seconds of local time. */
typedef struct tz_rule {
    int month, week, wday;
    int32_t time;
} tz_rule_t;

struct wharf_tz {
    char *name;
    size_t n;     /* transitions */
    int64_t *at;  /* UTC seconds of transition i, ascending */
    int32_t *off; /* n + 1: off[0] before at[0], off[i + 1] from at[i] on */
    int has_rule; /* after the last transition: DST by the footer's rules */
    int32_t std_off, dst_off;
    tz_rule_t start, end; /* DST starts at start (standard time), ends at end (DST) */
};

const char *wharf_tz_dir(void)
{
    const char *dir = getenv("TZDIR");
    return dir != NULL && dir[0] != '\0' ? dir : "/usr/share/zoneinfo";
}

const char *wharf_tz_load_error(int rc, const char *name, char *buf, size_t cap)
{
    if (rc == -ENOENT || rc == -EINVAL)
        snprintf(buf, cap,
                 "unknown time zone '%s': not in %s (an IANA name as Europe/Berlin, or an "
                 "offset as +01:00)",
                 name, wharf_tz_dir());
    else if (rc == WHARF_EPARSE)
        snprintf(buf, cap, "time zone '%s': %s/%s is not a time zone file (TZif) wharf reads", name,
                 wharf_tz_dir(), name);
    else
        snprintf(buf, cap, "time zone '%s': %s", name, wharf_strerror(rc));
    return buf;
}

const char *wharf_tz_name(const wharf_tz_t *tz)
{
    return tz->name;
}

/* ---- local to UTC ------------------------------------------------------- */

/* The UTC of local over the periods of at[n] and off[n + 1] (see the top). */
static int64_t resolve(const int64_t *at, const int32_t *off, size_t n, int64_t local)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (local < at[mid] + off[mid])
            hi = mid;
        else
            lo = mid + 1;
    }
    if (lo > 0 && local - off[lo] < at[lo - 1])
        return local - off[lo - 1]; /* in the gap before period lo */
    return local - off[lo];
}

/* The local seconds rule r gives in year y. */
static int64_t rule_local(const tz_rule_t *r, int y)
{
    int64_t first = wharf_days_from_civil(y, (unsigned)r->month, 1);
    int wday1 = (int)(((first + 4) % 7 + 7) % 7); /* 1970-01-01 was a Thursday */
    int day = 1 + (r->wday - wday1 + 7) % 7 + (r->week - 1) * 7;
    int next_y = r->month == 12 ? y + 1 : y;
    unsigned next_m = r->month == 12 ? 1 : (unsigned)r->month + 1;
    int64_t month_days = wharf_days_from_civil(next_y, next_m, 1) - first;
    while (day > month_days)
        day -= 7;
    return (first + day - 1) * 86400 + r->time;
}

/* The footer's rules: their transitions in the years around local's. */
static int64_t resolve_rule(const wharf_tz_t *tz, int64_t local)
{
    int64_t days = local / 86400 - (local % 86400 < 0);
    int y;
    unsigned m, d;
    wharf_civil_from_days(days, &y, &m, &d);
    int64_t at[6];
    int32_t after[6], off[7];
    for (size_t i = 0; i < 3; i++) {
        int year = y - 1 + (int)i;
        at[2 * i] = rule_local(&tz->start, year) - tz->std_off;
        after[2 * i] = tz->dst_off;
        at[2 * i + 1] = rule_local(&tz->end, year) - tz->dst_off;
        after[2 * i + 1] = tz->std_off;
    }
    for (int i = 1; i < 6; i++) /* southern zones end DST before they start it */
        for (int j = i; j > 0 && at[j] < at[j - 1]; j--) {
            int64_t t = at[j];
            int32_t a = after[j];
            at[j] = at[j - 1];
            after[j] = after[j - 1];
            at[j - 1] = t;
            after[j - 1] = a;
        }
    off[0] = after[0] == tz->dst_off ? tz->std_off : tz->dst_off;
    memcpy(off + 1, after, sizeof(after));
    return resolve(at, off, 6, local);
}

int64_t wharf_tz_local_to_utc(const wharf_tz_t *tz, int64_t local_seconds)
{
    if (tz->has_rule && (tz->n == 0 || local_seconds >= tz->at[tz->n - 1] + tz->off[tz->n]))
        return resolve_rule(tz, local_seconds);
    return resolve(tz->at, tz->off, tz->n, local_seconds);
}

/* ---- fixed offsets and POSIX TZ strings --------------------------------- */

static int digits(const char **p, int max, int *out)
{
    int v = 0, n = 0;
    while (**p >= '0' && **p <= '9' && n < max) {
        v = v * 10 + (*(*p)++ - '0');
        n++;
    }
    *out = v;
    return n;
}

/* [+-]hh[:mm[:ss]] (POSIX, hours up to 167 as RFC 8536 allows) into
 * seconds; NULL when it is not one. */
static const char *posix_time(const char *p, int32_t *secs)
{
    int sign = 1, h, m = 0, s = 0;
    if (*p == '+' || *p == '-')
        sign = *p++ == '-' ? -1 : 1;
    if (digits(&p, 3, &h) == 0 || h > 167)
        return NULL;
    if (*p == ':') {
        p++;
        if (digits(&p, 2, &m) != 2 || m > 59)
            return NULL;
    }
    if (*p == ':') {
        p++;
        if (digits(&p, 2, &s) != 2 || s > 59)
            return NULL;
    }
    *secs = sign * (h * 3600 + m * 60 + s);
    return p;
}

/* "UTC", "Z", +hh, +hhmm, +hh:mm: *off, or -1. */
static int fixed_offset(const char *name, int32_t *off)
{
    int h, m = 0;
    const char *p = name + 1;
    if (strcmp(name, "UTC") == 0 || strcmp(name, "Z") == 0) {
        *off = 0;
        return 0;
    }
    if ((name[0] != '+' && name[0] != '-') || digits(&p, 2, &h) != 2 || h > 23)
        return -1;
    if (*p == ':')
        p++;
    if (*p != '\0' && (digits(&p, 2, &m) != 2 || m > 59 || *p != '\0'))
        return -1;
    if (p[-1] == ':')
        return -1;
    *off = (name[0] == '-' ? -1 : 1) * (h * 3600 + m * 60);
    return 0;
}

/* A zone abbreviation: <...> or three or more letters. */
static const char *posix_name(const char *p)
{
    const char *s = p;
    if (*p == '<') {
        const char *e = strchr(p, '>');
        return e != NULL && e - p > 1 ? e + 1 : NULL;
    }
    while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'))
        p++;
    return p - s >= 3 ? p : NULL;
}

static const char *posix_rule(const char *p, tz_rule_t *r)
{
    if (*p++ != 'M' || digits(&p, 2, &r->month) == 0 || *p++ != '.' ||
        digits(&p, 1, &r->week) != 1 || *p++ != '.' || digits(&p, 1, &r->wday) != 1)
        return NULL;
    if (r->month < 1 || r->month > 12 || r->week < 1 || r->week > 5 || r->wday > 6)
        return NULL;
    r->time = 7200;
    return *p == '/' ? posix_time(p + 1, &r->time) : p;
}

/* The TZif footer: "STDoff" or "STDoffDST[off],rule,rule" (M rules only).
 * POSIX offsets count west of Greenwich: "CET-1" is UTC+1. */
static int posix_tz(wharf_tz_t *tz, const char *p)
{
    int32_t west;
    if (*p == '\0')
        return 0; /* no footer: the last transition's offset goes on */
    if ((p = posix_name(p)) == NULL || (p = posix_time(p, &west)) == NULL)
        return WHARF_EPARSE;
    tz->std_off = -west;
    if (*p == '\0')
        return 0;
    if ((p = posix_name(p)) == NULL)
        return WHARF_EPARSE;
    tz->dst_off = tz->std_off + 3600;
    if (*p != ',' && (p = posix_time(p, &west)) != NULL)
        tz->dst_off = -west;
    if (p == NULL || *p++ != ',' || (p = posix_rule(p, &tz->start)) == NULL || *p++ != ',' ||
        (p = posix_rule(p, &tz->end)) == NULL || *p != '\0')
        return WHARF_EPARSE;
    tz->has_rule = 1;
    return 0;
}

/* ---- TZif --------------------------------------------------------------- */

typedef struct tzif_counts {
    uint32_t isut, isstd, leap, time, type, chars;
} tzif_counts_t;

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

/* A 44-byte header at p (len bytes left): its version and counts. */
static int tzif_header(const unsigned char *p, size_t len, int *version, tzif_counts_t *c)
{
    if (len < 44 || memcmp(p, "TZif", 4) != 0 || (p[4] != 0 && (p[4] < '2' || p[4] > '4')))
        return WHARF_EPARSE;
    *version = p[4] == 0 ? 1 : p[4] - '0';
    c->isut = be32(p + 20);
    c->isstd = be32(p + 24);
    c->leap = be32(p + 28);
    c->time = be32(p + 32);
    c->type = be32(p + 36);
    c->chars = be32(p + 40);
    if (c->type == 0 || c->type > 256 || c->time > 100000 || c->chars > 100000 ||
        c->leap > 100000 || (c->isut != 0 && c->isut != c->type) ||
        (c->isstd != 0 && c->isstd != c->type))
        return WHARF_EPARSE;
    return 0;
}

/* The data block's size with times of tsize bytes. */
static size_t tzif_block(const tzif_counts_t *c, size_t tsize)
{
    return c->time * (tsize + 1) + (size_t)c->type * 6 + c->chars + c->leap * (tsize + 4) +
           c->isstd + c->isut;
}

/* The transitions and offsets of the block at p (checked to fit). */
static int tzif_data(wharf_tz_t *tz, const unsigned char *p, const tzif_counts_t *c, size_t tsize)
{
    const unsigned char *idx = p + c->time * tsize, *types = idx + c->time;
    if (c->leap != 0)
        return WHARF_EPARSE; /* right/...: times counting leap seconds */
    tz->at = malloc((c->time + 1) * sizeof(*tz->at));
    tz->off = malloc((c->time + 1) * sizeof(*tz->off));
    if (tz->at == NULL || tz->off == NULL)
        return -ENOMEM;
    tz->n = c->time;
    tz->off[0] = (int32_t)be32(types);
    for (size_t i = 0; i < c->time; i++) {
        tz->at[i] = tsize == 8 ? be64(p + i * 8) : (int32_t)be32(p + i * 4);
        if (idx[i] >= c->type || (i > 0 && tz->at[i] <= tz->at[i - 1]))
            return WHARF_EPARSE;
        tz->off[i + 1] = (int32_t)be32(types + (size_t)idx[i] * 6);
    }
    for (size_t i = 0; i <= c->time; i++)
        if (tz->off[i] <= -25 * 3600 || tz->off[i] >= 26 * 3600)
            return WHARF_EPARSE;
    return 0;
}

static int tzif_parse(wharf_tz_t *tz, const unsigned char *p, size_t len)
{
    tzif_counts_t c;
    int version, rc = tzif_header(p, len, &version, &c);
    if (rc < 0)
        return rc;
    size_t size = 44 + tzif_block(&c, 4);
    if (size > len)
        return WHARF_EPARSE;
    if (version == 1)
        return tzif_data(tz, p + 44, &c, 4);
    if ((rc = tzif_header(p + size, len - size, &version, &c)) < 0)
        return rc;
    const unsigned char *data = p + size + 44;
    size += 44 + tzif_block(&c, 8);
    if (size > len || (rc = tzif_data(tz, data, &c, 8)) < 0)
        return rc < 0 ? rc : WHARF_EPARSE;
    /* the footer: "\n" POSIX TZ "\n", at the end of the file */
    char footer[128];
    size_t flen = len - size;
    if (flen < 2 || flen - 2 >= sizeof(footer) || p[size] != '\n' || p[len - 1] != '\n')
        return WHARF_EPARSE;
    memcpy(footer, p + size + 1, flen - 2);
    footer[flen - 2] = '\0';
    return posix_tz(tz, footer);
}

/* A relative name of letters, digits and "/_-+.", without "..". */
static int name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > TZ_MAX_NAME || name[0] == '/' || strstr(name, "..") != NULL)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((name[i] >= 'A' && name[i] <= 'Z') || (name[i] >= 'a' && name[i] <= 'z') ||
              (name[i] >= '0' && name[i] <= '9') || strchr("/_-+.", name[i]) != NULL))
            return 0;
    return 1;
}

static int tz_read_file(wharf_tz_t *tz, const char *name)
{
    char path[4096], *buf;
    size_t len;
    snprintf(path, sizeof(path), "%s/%s", wharf_tz_dir(), name);
    int rc = wharf_read_file(path, TZ_MAX_FILE, &buf, &len);
    if (rc == -ENOTDIR)
        return -ENOENT;
    if (rc == -EISDIR || rc == -EFBIG) /* "Europe", or no zone file */
        return WHARF_EPARSE;
    if (rc < 0)
        return rc;
    rc = len > TZ_MAX_FILE ? WHARF_EPARSE : tzif_parse(tz, (const unsigned char *)buf, len);
    free(buf);
    return rc;
}

static int tz_fixed(wharf_tz_t *tz, int32_t off)
{
    tz->off = malloc(sizeof(*tz->off));
    if (tz->off == NULL)
        return -ENOMEM;
    tz->off[0] = off;
    return 0;
}

int wharf_tz_load(const char *name, wharf_tz_t **out)
{
    int32_t off;
    int rc;
    int fixed = fixed_offset(name, &off) == 0;
    if (!fixed && !name_ok(name))
        return -EINVAL;
    wharf_tz_t *tz = calloc(1, sizeof(*tz));
    if (tz == NULL || (tz->name = strdup(name)) == NULL) {
        wharf_tz_free(tz);
        return -ENOMEM;
    }
    rc = fixed ? tz_fixed(tz, off) : tz_read_file(tz, name);
    if (rc < 0) {
        wharf_tz_free(tz);
        return rc;
    }
    *out = tz;
    return 0;
}

void wharf_tz_free(wharf_tz_t *tz)
{
    if (tz == NULL)
        return;
    free(tz->name);
    free(tz->at);
    free(tz->off);
    free(tz);
}
