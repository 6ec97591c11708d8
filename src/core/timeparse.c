/* timeparse.c - timestamps as logs write them, for parser fields of type
 * timestamp (see wharf/timefmt.h).
 *
 * Without a format, the usual shapes are recognised: RFC 3339 / ISO 8601
 * (space or T, comma or dot before the fraction, no zone meaning UTC),
 * Apache's HTTPDATE, classic syslog without a year, and epoch seconds. A
 * time without a year (syslog) takes the year that puts it nearest to now,
 * so a December line read in January is not dated eleven months ahead. */
#include "wharf/common.h"
#include "wharf/timefmt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NS_PER_SEC INT64_C(1000000000)

static const char *const month_abbr[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

static int month_index(const char *s)
{
    for (int m = 0; m < 12; m++)
        if (memcmp(s, month_abbr[m], 3) == 0)
            return m;
    return -1;
}

static int digits(const char *s, size_t n, int *out)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* ".123" -> nanoseconds; *used gets the bytes taken. */
static int64_t fraction_ns(const char *s, size_t n, size_t *used)
{
    int64_t frac = 0;
    size_t i = 0;
    int count = 0;
    if (n > 0 && (s[0] == '.' || s[0] == ',')) {
        for (i = 1; i < n && s[i] >= '0' && s[i] <= '9'; i++, count++)
            if (count < 9)
                frac = frac * 10 + (s[i] - '0');
        for (int c = count; c < 9; c++)
            frac *= 10;
        if (count == 0)
            i = 0;
    }
    *used = i;
    return frac;
}

/* tm (UTC fields, tm_year possibly unknown) to seconds; a missing year is
 * the one nearest to now. */
static int64_t tm_seconds(struct tm *tm, int year_known, int64_t now_ns)
{
    if (year_known)
        return (int64_t)timegm(tm);
    time_t now = (time_t)(now_ns / NS_PER_SEC);
    struct tm now_tm;
    gmtime_r(&now, &now_tm);
    int64_t best = 0, best_dist = INT64_MAX;
    for (int dy = -1; dy <= 1; dy++) {
        struct tm t = *tm;
        t.tm_year = now_tm.tm_year + dy;
        int64_t s = (int64_t)timegm(&t), dist = s - (int64_t)now;
        if (dist < 0)
            dist = -dist;
        if (dist < best_dist) {
            best = s;
            best_dist = dist;
        }
    }
    return best;
}

static int parse_iso(const char *s, size_t n, int64_t *ns)
{
    char buf[64];
    if (n < 19 || n + 2 > sizeof(buf))
        return WHARF_EPARSE;
    memcpy(buf, s, n);
    if (buf[10] == ' ')
        buf[10] = 'T';
    if (n > 19 && buf[19] == ',')
        buf[19] = '.';
    size_t i = 19, used;
    fraction_ns(buf + 19, n - 19, &used);
    i += used;
    if (i == n)
        buf[n++] = 'Z'; /* no zone: UTC */
    return wharf_time_parse(buf, n, ns);
}

/* 10/Oct/2000:13:55:36 -0700 */
static int parse_httpdate(const char *s, size_t n, int64_t *ns)
{
    struct tm tm = {0};
    int zh, zm;
    if (n != 26 || s[2] != '/' || s[6] != '/' || s[11] != ':' || s[20] != ' ' ||
        (s[21] != '+' && s[21] != '-'))
        return WHARF_EPARSE;
    tm.tm_mon = month_index(s + 3);
    if (tm.tm_mon < 0 || digits(s, 2, &tm.tm_mday) || digits(s + 7, 4, &tm.tm_year) ||
        digits(s + 12, 2, &tm.tm_hour) || digits(s + 15, 2, &tm.tm_min) ||
        digits(s + 18, 2, &tm.tm_sec) || digits(s + 22, 2, &zh) || digits(s + 24, 2, &zm))
        return WHARF_EPARSE;
    tm.tm_year -= 1900;
    int64_t off = (int64_t)(zh * 3600 + zm * 60) * (s[21] == '-' ? -1 : 1);
    *ns = ((int64_t)timegm(&tm) - off) * NS_PER_SEC;
    return 0;
}

/* Dec 10 06:55:46[.fraction], the day possibly space-padded. */
static int parse_syslog(const char *s, size_t n, int64_t now_ns, int64_t *ns)
{
    struct tm tm = {0};
    if (n < 15 || s[3] != ' ' || s[6] != ' ' || s[9] != ':' || s[12] != ':')
        return WHARF_EPARSE;
    tm.tm_mon = month_index(s);
    int day_ok = s[4] == ' ' ? digits(s + 5, 1, &tm.tm_mday) : digits(s + 4, 2, &tm.tm_mday);
    if (tm.tm_mon < 0 || day_ok || digits(s + 7, 2, &tm.tm_hour) || digits(s + 10, 2, &tm.tm_min) ||
        digits(s + 13, 2, &tm.tm_sec) || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
        tm.tm_min > 59 || tm.tm_sec > 60)
        return WHARF_EPARSE;
    size_t used;
    int64_t frac = fraction_ns(s + 15, n - 15, &used);
    if (15 + used != n)
        return WHARF_EPARSE;
    *ns = tm_seconds(&tm, 0, now_ns) * NS_PER_SEC + frac;
    return 0;
}

static int parse_epoch(const char *s, size_t n, int64_t *ns)
{
    size_t i = 0;
    int64_t secs = 0;
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
        if (i >= 12)
            return WHARF_EPARSE; /* beyond year 33658: not epoch seconds */
        secs = secs * 10 + (s[i] - '0');
    }
    size_t used;
    int64_t frac = fraction_ns(s + i, n - i, &used);
    if (i == 0 || i + used != n)
        return WHARF_EPARSE;
    *ns = secs * NS_PER_SEC + frac;
    return 0;
}

static int parse_with_format(const char *s, size_t n, const char *format, int64_t now_ns,
                             int64_t *ns)
{
    char buf[128];
    if (n >= sizeof(buf))
        return WHARF_EPARSE;
    memcpy(buf, s, n);
    buf[n] = '\0';
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = INT32_MIN; /* tells whether the format had a year */
    tm.tm_mday = 1;
    const char *end = strptime(buf, format, &tm);
    if (end == NULL || *end != '\0')
        return WHARF_EPARSE;
    long off = tm.tm_gmtoff;
    int year_known = tm.tm_year != INT32_MIN;
    if (!year_known)
        tm.tm_year = 70;
    *ns = (tm_seconds(&tm, year_known, now_ns) - off) * NS_PER_SEC;
    return 0;
}

int wharf_time_parse_log(const char *s, size_t n, const char *format, int64_t now_ns, int64_t *ns)
{
    if (format != NULL)
        return parse_with_format(s, n, format, now_ns, ns);
    if (n >= 19 && s[4] == '-')
        return parse_iso(s, n, ns);
    if (n == 26 && s[2] == '/')
        return parse_httpdate(s, n, ns);
    if (n >= 15 && s[3] == ' ')
        return parse_syslog(s, n, now_ns, ns);
    return parse_epoch(s, n, ns);
}
