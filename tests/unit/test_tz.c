/* test_tz.c - time zones from the system's TZif files and fixed offsets:
 * local time to UTC around DST changes (gaps, folds), past the last
 * transition (the footer's rule), before the first, names refused, files
 * that are not zones, and log timestamps read in a zone. The expected
 * values were computed with Python's zoneinfo (fold=0, which is the rule of
 * wharf/tz.h in gaps and folds alike) and are written here as literals. */
#include "wharf/common.h"
#include "wharf/timefmt.h"
#include "wharf/tz.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
/* cmocka.h needs the headers above. */
#include <cmocka.h>

#define SEC INT64_C(1000000000)

/* RFC 3339 text in seconds (checked by test_timefmt). */
static int64_t secs(const char *rfc3339)
{
    int64_t ns;
    assert_int_equal(wharf_time_parse(rfc3339, strlen(rfc3339), &ns), 0);
    return ns / SEC;
}

/* Local time "YYYY-MM-DDTHH:MM:SS" in zone is utc (RFC 3339). */
static void expect_utc(const wharf_tz_t *tz, const char *local, const char *utc)
{
    char text[32];
    snprintf(text, sizeof(text), "%sZ", local);
    int64_t got = wharf_tz_local_to_utc(tz, secs(text)), want = secs(utc);
    if (got != want) {
        char out[WHARF_TIME_TEXT_LEN + 1] = {0};
        wharf_time_format(got * SEC, out);
        fail_msg("%s %s: got %s, want %s", wharf_tz_name(tz), local, out, utc);
    }
}

typedef struct zone_case {
    const char *zone, *local, *utc;
} zone_case_t;

static void expect_cases(const zone_case_t *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        wharf_tz_t *tz = NULL;
        int rc = wharf_tz_load(c[i].zone, &tz);
        if (rc != 0)
            fail_msg("%s: %s", c[i].zone, wharf_strerror(rc));
        assert_string_equal(wharf_tz_name(tz), c[i].zone);
        expect_utc(tz, c[i].local, c[i].utc);
        wharf_tz_free(tz);
    }
}

static void test_berlin(void **state)
{
    (void)state;
    static const zone_case_t cases[] = {
        {"Europe/Berlin", "2024-01-15T12:00:00", "2024-01-15T11:00:00Z"}, /* CET */
        {"Europe/Berlin", "2024-07-15T12:00:00", "2024-07-15T10:00:00Z"}, /* CEST */
        /* spring forward, 2024-03-31 02:00 -> 03:00: the gap keeps +01:00 */
        {"Europe/Berlin", "2024-03-31T01:59:59", "2024-03-31T00:59:59Z"},
        {"Europe/Berlin", "2024-03-31T02:00:00", "2024-03-31T01:00:00Z"},
        {"Europe/Berlin", "2024-03-31T02:30:00", "2024-03-31T01:30:00Z"},
        {"Europe/Berlin", "2024-03-31T03:00:00", "2024-03-31T01:00:00Z"},
        /* fall back, 2024-10-27 03:00 -> 02:00: the fold's first (CEST) */
        {"Europe/Berlin", "2024-10-27T01:59:59", "2024-10-26T23:59:59Z"},
        {"Europe/Berlin", "2024-10-27T02:30:00", "2024-10-27T00:30:00Z"},
        {"Europe/Berlin", "2024-10-27T03:00:00", "2024-10-27T02:00:00Z"},
        /* past the last transition: the footer's CET-1CEST,M3.5.0,M10.5.0/3 */
        {"Europe/Berlin", "2100-03-28T02:30:00", "2100-03-28T01:30:00Z"},
        {"Europe/Berlin", "2100-07-01T12:00:00", "2100-07-01T10:00:00Z"},
        {"Europe/Berlin", "2100-10-31T02:30:00", "2100-10-31T00:30:00Z"},
        {"Europe/Berlin", "2100-12-31T23:59:59", "2100-12-31T22:59:59Z"},
        /* before the first transition: local mean time, +00:53:28 */
        {"Europe/Berlin", "1800-01-01T00:00:00", "1799-12-31T23:06:32Z"},
    };
    expect_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_new_york_and_kolkata(void **state)
{
    (void)state;
    static const zone_case_t cases[] = {
        {"America/New_York", "2024-01-15T12:00:00", "2024-01-15T17:00:00Z"},
        {"America/New_York", "2024-03-10T02:30:00", "2024-03-10T07:30:00Z"}, /* gap */
        {"America/New_York", "2024-11-03T01:30:00", "2024-11-03T05:30:00Z"}, /* fold: EDT */
        {"America/New_York", "2024-11-03T02:00:00", "2024-11-03T07:00:00Z"},
        {"America/New_York", "2150-06-01T00:00:00", "2150-06-01T04:00:00Z"}, /* footer */
        {"Asia/Kolkata", "2024-06-01T12:00:00", "2024-06-01T06:30:00Z"},
        {"Asia/Kolkata", "2100-01-01T00:00:00", "2099-12-31T18:30:00Z"},
    };
    expect_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

/* Half an hour of DST, in the southern hemisphere (DST spans New Year). */
static void test_lord_howe(void **state)
{
    (void)state;
    wharf_tz_t *tz = NULL;
    if (wharf_tz_load("Australia/Lord_Howe", &tz) == -ENOENT)
        skip();
    wharf_tz_free(tz);
    static const zone_case_t cases[] = {
        {"Australia/Lord_Howe", "2024-10-06T02:15:00", "2024-10-05T15:45:00Z"}, /* gap */
        {"Australia/Lord_Howe", "2024-04-07T01:45:00", "2024-04-06T14:45:00Z"}, /* fold */
        {"Australia/Lord_Howe", "2024-07-01T12:00:00", "2024-07-01T01:30:00Z"}, /* +10:30 */
        {"Australia/Lord_Howe", "2024-12-25T12:00:00", "2024-12-25T01:00:00Z"}, /* +11 */
        {"Australia/Lord_Howe", "2100-04-04T01:45:00", "2100-04-03T14:45:00Z"},
        {"Australia/Lord_Howe", "2100-10-03T02:15:00", "2100-10-02T15:45:00Z"},
    };
    expect_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_fixed_offsets(void **state)
{
    (void)state;
    static const zone_case_t cases[] = {
        {"UTC", "2024-03-31T02:30:00", "2024-03-31T02:30:00Z"},
        {"Z", "2024-03-31T02:30:00", "2024-03-31T02:30:00Z"},
        {"+01:00", "2024-07-15T12:00:00", "2024-07-15T11:00:00Z"},
        {"-0530", "2024-07-15T12:00:00", "2024-07-15T17:30:00Z"},
        {"+05", "2024-07-15T12:00:00", "2024-07-15T07:00:00Z"},
        {"-00:00", "2024-07-15T12:00:00", "2024-07-15T12:00:00Z"},
    };
    expect_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void expect_load_rc(const char *name, int want)
{
    wharf_tz_t *tz = NULL;
    int rc = wharf_tz_load(name, &tz);
    if (rc != want)
        fail_msg("'%s': rc %d, want %d", name, rc, want);
    assert_null(tz);
}

static void test_bad_names(void **state)
{
    (void)state;
    expect_load_rc("Europe/Berln", -ENOENT);
    expect_load_rc("Europe/Berlin/x", -ENOENT);
    expect_load_rc("", -EINVAL);
    expect_load_rc("/etc/localtime", -EINVAL);
    expect_load_rc("../zoneinfo/Europe/Berlin", -EINVAL);
    expect_load_rc("Europe/../Europe/Berlin", -EINVAL);
    expect_load_rc("Europe/Berlin ", -EINVAL);
    expect_load_rc("+01:", -EINVAL);
    expect_load_rc("+1", -ENOENT); /* a name then, and there is none */
    expect_load_rc("+24:00", -EINVAL);
    expect_load_rc("+01:60", -EINVAL);
    expect_load_rc("Europe", WHARF_EPARSE); /* a directory */
}

static void write_bytes(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    fclose(f);
}

/* TZDIR names the directory; what is there must be TZif, whole. */
static void test_tzdir_and_bad_files(void **state)
{
    (void)state;
    char dir[] = "/tmp/wharf-test-tz-XXXXXX", path[128], cmd[256];
    assert_non_null(mkdtemp(dir));
    FILE *f = fopen("/usr/share/zoneinfo/Europe/Berlin", "rb");
    assert_non_null(f);
    static unsigned char berlin[65536];
    size_t n = fread(berlin, 1, sizeof(berlin), f);
    fclose(f);
    snprintf(path, sizeof(path), "%s/Mine", dir);
    write_bytes(path, berlin, n);
    snprintf(path, sizeof(path), "%s/Text", dir);
    write_bytes(path, "not a zone\n", 11);
    snprintf(path, sizeof(path), "%s/Cut", dir);
    write_bytes(path, berlin, n / 2);
    snprintf(path, sizeof(path), "%s/NoFooterEnd", dir);
    write_bytes(path, berlin, n - 1);
    setenv("TZDIR", dir, 1);
    assert_string_equal(wharf_tz_dir(), dir);
    wharf_tz_t *tz = NULL;
    assert_int_equal(wharf_tz_load("Mine", &tz), 0);
    expect_utc(tz, "2024-03-31T02:30:00", "2024-03-31T01:30:00Z");
    wharf_tz_free(tz);
    expect_load_rc("Text", WHARF_EPARSE);
    expect_load_rc("Cut", WHARF_EPARSE);
    expect_load_rc("NoFooterEnd", WHARF_EPARSE);
    expect_load_rc("Europe/Berlin", -ENOENT);
    unsetenv("TZDIR");
    assert_string_equal(wharf_tz_dir(), "/usr/share/zoneinfo");
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* s read in tz: rc, and the time as RFC 3339. */
static void expect_log(const char *s, const char *format, const wharf_tz_t *tz, int64_t now,
                       int want_rc, const char *want)
{
    int64_t ns = 0;
    int rc = wharf_time_parse_log(s, strlen(s), format, tz, now, &ns);
    char out[WHARF_TIME_TEXT_LEN + 1] = {0};
    wharf_time_format(ns, out);
    if (rc != want_rc || strcmp(out, want) != 0)
        fail_msg("'%s': rc %d, %s; want rc %d, %s", s, rc, out, want_rc, want);
}

/* Times without an offset are read in the zone; the others are left alone. */
static void test_parse_log_in_zone(void **state)
{
    (void)state;
    wharf_tz_t *tz = NULL;
    assert_int_equal(wharf_tz_load("Europe/Berlin", &tz), 0);
    int64_t now = secs("2024-12-11T00:00:00Z") * SEC, ny = secs("2025-01-01T00:30:00Z") * SEC;
    const int L = WHARF_TIME_LOCAL;
    expect_log("2024-03-31 02:30:00", NULL, tz, now, L, "2024-03-31T01:30:00.000000000Z");
    expect_log("2024-07-15T12:00:00.123456", NULL, tz, now, L, "2024-07-15T10:00:00.123456000Z");
    expect_log("2024-07-15 12:00:00,5", NULL, tz, now, L, "2024-07-15T10:00:00.500000000Z");
    expect_log("2024-07-15T12:00:00+02:00", NULL, tz, now, 0, "2024-07-15T10:00:00.000000000Z");
    expect_log("2024-07-15T12:00:00Z", NULL, tz, now, 0, "2024-07-15T12:00:00.000000000Z");
    expect_log("2024-07-15T12:00:00-0700", NULL, tz, now, 0, "2024-07-15T19:00:00.000000000Z");
    expect_log("10/Oct/2000:13:55:36 -0700", NULL, tz, now, 0, "2000-10-10T20:55:36.000000000Z");
    expect_log("1711848600", NULL, tz, now, 0, "2024-03-31T01:30:00.000000000Z");
    expect_log("1711848600123", NULL, tz, now, 0, "2024-03-31T01:30:00.123000000Z");
    expect_log("Dec 10 06:55:46", NULL, tz, now, L, "2024-12-10T05:55:46.000000000Z");
    /* the year nearest to now for the local time: 23:30 on New Year's Eve
     * in Berlin is 22:30Z, before now (00:30Z on 1 January) */
    expect_log("Dec 31 23:30:00", NULL, tz, ny, L, "2024-12-31T22:30:00.000000000Z");
    expect_log("Jul  4 12:00:00", NULL, tz, now, L, "2024-07-04T10:00:00.000000000Z");
    expect_log("31.03.2024 02:30", "%d.%m.%Y %H:%M", tz, now, L, "2024-03-31T01:30:00.000000000Z");
    expect_log("2024-10-27 02:30:00.25", "%Y-%m-%d %H:%M:%S.%f", tz, now, L,
               "2024-10-27T00:30:00.250000000Z");
    expect_log("2024-07-15 12:00:00 +0000", "%Y-%m-%d %H:%M:%S %z", tz, now, 0,
               "2024-07-15T12:00:00.000000000Z");
    expect_log("100%z 2024-07-15 12:00", "100%%z %Y-%m-%d %H:%M", tz, now, L,
               "2024-07-15T10:00:00.000000000Z");
    /* no zone: UTC, still told apart */
    expect_log("2024-07-15 12:00:00", NULL, NULL, now, L, "2024-07-15T12:00:00.000000000Z");
    expect_log("2024-07-15T12:00:00Z", NULL, NULL, now, 0, "2024-07-15T12:00:00.000000000Z");
    int64_t ns;
    assert_int_equal(wharf_time_parse_log("2024-02-30 12:00:00", 19, NULL, tz, now, &ns),
                     WHARF_EPARSE);
    wharf_tz_free(tz);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_berlin),
        cmocka_unit_test(test_new_york_and_kolkata),
        cmocka_unit_test(test_lord_howe),
        cmocka_unit_test(test_fixed_offsets),
        cmocka_unit_test(test_bad_names),
        cmocka_unit_test(test_tzdir_and_bad_files),
        cmocka_unit_test(test_parse_log_in_zone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
