/* timefmt.c - RFC 3339 parsing and formatting without libc's time zones,
 * and the timestamps log lines carry, for parser fields of type timestamp.
 *
 * timegm/gmtime_r are fine but RFC 3339 runs twice per event; the civil-date
 * arithmetic below (days from 1970-01-01 in the proleptic Gregorian calendar)
 * is branch-light and needs no locks; the log formats use it too (timegm
 * took more instructions than the rest of a parser's timestamp). Without a
 * format, the usual shapes are recognised: RFC 3339 / ISO 8601 (space or T,
 * comma or dot before the fraction), Apache's HTTPDATE, classic syslog
 * without a year, and epoch seconds. A time without an offset is local
 * time: in the zone the caller names (wharf/tz.h), converted after the
 * civil time is read, else UTC. A time without a year
 * (syslog) takes the year that puts it nearest to now, so a December line
 * read in January is not dated eleven months ahead. Times outside what
 * nanoseconds in an int64_t reach (1677 to 2262) are not times. */
#include "wharf/timefmt.h"

#include "wharf/common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NS_PER_SEC INT64_C(1000000000)

/* secs + frac nanoseconds since the epoch; WHARF_EPARSE outside what
 * nanoseconds in an int64_t reach (1677 to 2262): such a time is junk. */
static int time_from_secs(int64_t secs, int64_t frac, int64_t *ns)
{
    if (secs <= INT64_MIN / NS_PER_SEC || secs >= INT64_MAX / NS_PER_SEC)
        return WHARF_EPARSE;
    *ns = secs * NS_PER_SEC + frac;
    return 0;
}

int64_t wharf_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

void wharf_civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int)((int64_t)yoe + era * 400 + (*m <= 2));
}

static int days_in_month(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return days[m - 1] + (m == 2 && leap);
}

static int parse_digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

static int parse_offset(const char *s, size_t n, int64_t *offset_s)
{
    int hh, mm;
    if (n == 1 && (s[0] == 'Z' || s[0] == 'z')) {
        *offset_s = 0;
        return 0;
    }
    if (n != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':' || parse_digits(s + 1, 2, &hh) ||
        parse_digits(s + 4, 2, &mm) || hh > 23 || mm > 59)
        return -1;
    *offset_s = ((int64_t)hh * 3600 + (int64_t)mm * 60) * (s[0] == '-' ? -1 : 1);
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

int wharf_time_parse(const char *s, size_t n, int64_t *ns)
{
    int y, mo, d, h, mi, se;
    if (n < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' ||
        s[16] != ':')
        return WHARF_EPARSE;
    if (parse_digits(s, 4, &y) || parse_digits(s + 5, 2, &mo) || parse_digits(s + 8, 2, &d) ||
        parse_digits(s + 11, 2, &h) || parse_digits(s + 14, 2, &mi) || parse_digits(s + 17, 2, &se))
        return WHARF_EPARSE;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || se > 60)
        return WHARF_EPARSE;
    size_t i = 19, used = 0;
    int64_t frac = 0;
    if (i < n && s[i] == '.') {
        frac = fraction_ns(s + i, n - i, &used);
        if (used == 0)
            return WHARF_EPARSE;
        i += used;
    }
    int64_t offset_s;
    if (parse_offset(s + i, n - i, &offset_s))
        return WHARF_EPARSE;
    int64_t secs = wharf_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + (int64_t)h * 3600 +
                   (int64_t)mi * 60 + se - offset_s;
    return time_from_secs(secs, frac, ns);
}

/* The day secs falls in, counted from 1970-01-01 (floor: before 1970 too),
 * and the seconds into it. */
static int64_t days_of(int64_t secs, int64_t *rem)
{
    int64_t days = secs / 86400;
    *rem = secs % 86400;
    if (*rem < 0) {
        *rem += 86400;
        days--;
    }
    return days;
}

static void put2(char *p, unsigned v)
{
    p[0] = (char)('0' + v / 10);
    p[1] = (char)('0' + v % 10);
}

void wharf_time_format(int64_t ns, char *out)
{
    /* Floor division: before 1970 the fraction still counts forward. */
    int64_t secs = ns / 1000000000, frac = ns % 1000000000;
    if (frac < 0) {
        frac += 1000000000;
        secs--;
    }
    int64_t rem;
    int64_t days = days_of(secs, &rem);
    int y;
    unsigned m, d;
    wharf_civil_from_days(days, &y, &m, &d);
    if (y < 0)
        y = 0;
    if (y > 9999)
        y = 9999;
    put2(out, (unsigned)y / 100);
    put2(out + 2, (unsigned)y % 100);
    out[4] = '-';
    put2(out + 5, m);
    out[7] = '-';
    put2(out + 8, d);
    out[10] = 'T';
    put2(out + 11, (unsigned)(rem / 3600));
    out[13] = ':';
    put2(out + 14, (unsigned)(rem / 60 % 60));
    out[16] = ':';
    put2(out + 17, (unsigned)(rem % 60));
    out[19] = '.';
    for (int i = 28; i >= 20; i--) {
        out[i] = (char)('0' + frac % 10);
        frac /= 10;
    }
    out[29] = 'Z';
}

int64_t wharf_time_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- timestamps as logs write them ------------------------------------- */

static const char *const month_abbr[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

static int month_index(const char *s)
{
    for (int m = 0; m < 12; m++)
        if (memcmp(s, month_abbr[m], 3) == 0)
            return m;
    return -1;
}

/* timegm() of tm, whose fields are in range as the parsers here and
 * strptime leave them (a day past the month's end counts on, as in timegm). */
static int64_t tm_utc_seconds(struct tm *tm)
{
    if (tm->tm_mon < 0 || tm->tm_mon > 11 || tm->tm_mday < 1 || tm->tm_mday > 31)
        return (int64_t)timegm(tm);
    return wharf_days_from_civil((int64_t)tm->tm_year + 1900, (unsigned)tm->tm_mon + 1,
                                 (unsigned)tm->tm_mday) *
               86400 +
           (int64_t)tm->tm_hour * 3600 + (int64_t)tm->tm_min * 60 + tm->tm_sec;
}

/* 1 when tm's day exists in its month and year (strptime and the parsers
 * here take 1-31 for any month). */
static int tm_day_exists(const struct tm *tm)
{
    return tm->tm_mon >= 0 && tm->tm_mon <= 11 && tm->tm_mday >= 1 &&
           tm->tm_mday <= days_in_month(tm->tm_year + 1900, tm->tm_mon + 1);
}

/* tm (UTC fields, tm_year possibly unknown) to seconds in *secs; a missing
 * year is the one nearest to now in which the day exists (Feb 29: a leap
 * year). WHARF_EPARSE for a day no such year has (Feb 30). */
static int tm_seconds(struct tm *tm, int year_known, int64_t now_ns, int64_t *secs)
{
    if (year_known) {
        *secs = tm_utc_seconds(tm);
        return tm_day_exists(tm) ? 0 : WHARF_EPARSE;
    }
    int64_t now = now_ns / NS_PER_SEC, now_rem;
    int now_year;
    unsigned now_month, now_day;
    wharf_civil_from_days(days_of(now, &now_rem), &now_year, &now_month, &now_day);
    int64_t best_dist = INT64_MAX;
    /* the year before, this one, the next; Feb 29 may need up to four */
    int reach = tm->tm_mon == 1 && tm->tm_mday == 29 ? 4 : 1;
    for (int dy = -reach; dy <= reach; dy++) {
        struct tm t = *tm;
        t.tm_year = now_year - 1900 + dy;
        if (!tm_day_exists(&t))
            continue;
        int64_t s = tm_utc_seconds(&t), dist = s - now;
        if (dist < 0)
            dist = -dist;
        if (dist < best_dist) {
            *secs = s;
            best_dist = dist;
        }
    }
    return best_dist < INT64_MAX ? 0 : WHARF_EPARSE;
}

/* RFC 3339 as logs vary it: a space for the T, a comma for the point, no
 * zone (UTC), and ISO 8601's basic offsets +0100 and +01 (log4j, Java's
 * SimpleDateFormat, Elasticsearch's own logs) for RFC 3339's +01:00. */
static int parse_iso(const char *s, size_t n, int64_t *ns)
{
    char buf[64];
    if (n < 19 || n + 3 > sizeof(buf))
        return WHARF_EPARSE;
    memcpy(buf, s, n);
    if (buf[10] == ' ')
        buf[10] = 'T';
    if (n > 19 && buf[19] == ',')
        buf[19] = '.';
    size_t zone, used;
    fraction_ns(buf + 19, n - 19, &used);
    zone = 19 + used;
    int sign = zone < n && (buf[zone] == '+' || buf[zone] == '-'), local = zone == n;
    if (local) {
        buf[n++] = 'Z';                 /* read as UTC, then as local time */
    } else if (sign && n - zone == 5) { /* +0100 */
        memmove(buf + zone + 4, buf + zone + 3, 2);
        buf[zone + 3] = ':';
        n++;
    } else if (sign && n - zone == 3) { /* +01 */
        buf[n++] = ':';
        buf[n++] = '0';
        buf[n++] = '0';
    }
    int rc = wharf_time_parse(buf, n, ns);
    return rc < 0 ? rc : local ? WHARF_TIME_LOCAL : 0;
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
    if (tm.tm_mon < 0 || parse_digits(s, 2, &tm.tm_mday) || parse_digits(s + 7, 4, &tm.tm_year) ||
        parse_digits(s + 12, 2, &tm.tm_hour) || parse_digits(s + 15, 2, &tm.tm_min) ||
        parse_digits(s + 18, 2, &tm.tm_sec) || parse_digits(s + 22, 2, &zh) ||
        parse_digits(s + 24, 2, &zm))
        return WHARF_EPARSE;
    tm.tm_year -= 1900;
    int64_t off = (int64_t)(zh * 3600 + zm * 60) * (s[21] == '-' ? -1 : 1), secs;
    if (tm_seconds(&tm, 1, 0, &secs) < 0)
        return WHARF_EPARSE;
    return time_from_secs(secs - off, 0, ns);
}

/* Dec 10 06:55:46[.fraction], the day possibly space-padded. */
static int parse_syslog(const char *s, size_t n, int64_t now_ns, int64_t *ns)
{
    struct tm tm = {0};
    if (n < 15 || s[3] != ' ' || s[6] != ' ' || s[9] != ':' || s[12] != ':')
        return WHARF_EPARSE;
    tm.tm_mon = month_index(s);
    int day_ok =
        s[4] == ' ' ? parse_digits(s + 5, 1, &tm.tm_mday) : parse_digits(s + 4, 2, &tm.tm_mday);
    if (tm.tm_mon < 0 || day_ok || parse_digits(s + 7, 2, &tm.tm_hour) ||
        parse_digits(s + 10, 2, &tm.tm_min) || parse_digits(s + 13, 2, &tm.tm_sec) ||
        tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
        return WHARF_EPARSE;
    size_t used;
    int64_t frac = fraction_ns(s + 15, n - 15, &used);
    if (15 + used != n)
        return WHARF_EPARSE;
    int64_t secs;
    if (tm_seconds(&tm, 0, now_ns, &secs) < 0 || time_from_secs(secs, frac, ns) < 0)
        return WHARF_EPARSE;
    return WHARF_TIME_LOCAL;
}

/* Epoch seconds, with a fraction or not; a whole number of 13, 16 or 19
 * digits is milliseconds, microseconds or nanoseconds (Java's timeMillis,
 * Go's UnixNano): as seconds it would be past the year 33658. */
static int parse_epoch(const char *s, size_t n, int64_t *ns)
{
    size_t i = 0;
    uint64_t v = 0; /* 19 digits fit */
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
        if (i >= 19)
            return WHARF_EPARSE;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (i == n && (i == 13 || i == 16 || i == 19)) {
        uint64_t per_sec = i == 13 ? 1000 : i == 16 ? 1000000 : 1000000000;
        return time_from_secs((int64_t)(v / per_sec),
                              (int64_t)(v % per_sec) * (NS_PER_SEC / (int64_t)per_sec), ns);
    }
    if (i > 12)
        return WHARF_EPARSE; /* beyond year 33658: not epoch seconds */
    size_t used;
    int64_t frac = fraction_ns(s + i, n - i, &used);
    if (i == 0 || i + used != n)
        return WHARF_EPARSE;
    return time_from_secs((int64_t)v, frac, ns);
}

/* strptime, plus %f: 1 to 9 digits of a second's fraction (Apache 2.4's
 * "16:15:55.103522", which strptime has no directive for), once per
 * format. Returns where parsing stopped, or NULL. */
static const char *strptime_fraction(const char *s, const char *format, struct tm *tm,
                                     int64_t *frac)
{
    const char *f = strstr(format, "%f");
    char head[128];
    if (f == NULL)
        return strptime(s, format, tm);
    if ((size_t)(f - format) >= sizeof(head))
        return NULL;
    memcpy(head, format, (size_t)(f - format));
    head[f - format] = '\0';
    const char *p = head[0] != '\0' ? strptime(s, head, tm) : s;
    if (p == NULL || *p < '0' || *p > '9')
        return NULL;
    char point[12] = ".";
    size_t digits = 0;
    while (p[digits] >= '0' && p[digits] <= '9' && digits < 9) {
        point[1 + digits] = p[digits];
        digits++;
    }
    size_t used;
    *frac = fraction_ns(point, 1 + digits, &used);
    p += digits;
    return f[2] != '\0' ? strptime(p, f + 2, tm) : p;
}

/* 1 when format reads the offset (%z) or an instant (%s, epoch seconds). */
static int format_has_offset(const char *format)
{
    for (const char *p = format; *p != '\0'; p++) {
        if (*p != '%')
            continue;
        p++;
        while (*p == 'E' || *p == 'O')
            p++;
        if (*p == 'z' || *p == 's')
            return 1;
        if (*p == '\0')
            break;
    }
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
    int64_t frac = 0;
    const char *end = strptime_fraction(buf, format, &tm, &frac);
    if (end == NULL || *end != '\0')
        return WHARF_EPARSE;
    long off = tm.tm_gmtoff;
    int year_known = tm.tm_year != INT32_MIN;
    if (!year_known)
        tm.tm_year = 70;
    int64_t secs;
    if (tm_seconds(&tm, year_known, now_ns, &secs) < 0 || time_from_secs(secs - off, frac, ns) < 0)
        return WHARF_EPARSE;
    return format_has_offset(format) ? 0 : WHARF_TIME_LOCAL;
}

static int parse_guess(const char *s, size_t n, int64_t now_ns, int64_t *ns)
{
    if (n >= 19 && s[4] == '-')
        return parse_iso(s, n, ns);
    if (n == 26 && s[2] == '/')
        return parse_httpdate(s, n, ns);
    if (n >= 15 && s[3] == ' ')
        return parse_syslog(s, n, now_ns, ns);
    return parse_epoch(s, n, ns);
}

int wharf_time_parse_log(const char *s, size_t n, const char *format, const wharf_tz_t *tz,
                         int64_t now_ns, int64_t *ns)
{
    int rc = format != NULL ? parse_with_format(s, n, format, now_ns, ns)
                            : parse_guess(s, n, now_ns, ns);
    if (rc != WHARF_TIME_LOCAL || tz == NULL)
        return rc;
    int64_t secs = *ns / NS_PER_SEC, frac = *ns % NS_PER_SEC;
    if (frac < 0) {
        frac += NS_PER_SEC;
        secs--;
    }
    return time_from_secs(wharf_tz_local_to_utc(tz, secs), frac, ns) < 0 ? WHARF_EPARSE
                                                                         : WHARF_TIME_LOCAL;
}
