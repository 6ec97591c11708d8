/* test_timefmt.c - RFC 3339 parsing (Docker's and containerd's timestamps)
 * and formatting (always UTC, nine fraction digits). */
#include "wharf/common.h"
#include "wharf/timefmt.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
/* cmocka.h needs the headers above. */
#include <cmocka.h>

#define SEC INT64_C(1000000000)

static void check_parse(const char *s, int64_t want)
{
    int64_t ns = 12345;
    int rc = wharf_time_parse(s, strlen(s), &ns);
    if (rc != 0)
        fail_msg("\"%s\": rc=%d, want 0", s, rc);
    if (ns != want)
        fail_msg("\"%s\": got %lld, want %lld", s, (long long)ns, (long long)want);
}

static void check_reject(const char *s, size_t n)
{
    int64_t ns = 12345;
    int rc = wharf_time_parse(s, n, &ns);
    if (rc != WHARF_EPARSE)
        fail_msg("\"%.*s\": rc=%d (ns=%lld), want WHARF_EPARSE", (int)n, s, rc, (long long)ns);
}

static void check_format(int64_t ns, const char *want)
{
    char out[WHARF_TIME_TEXT_LEN + 2];
    memset(out, '#', sizeof(out));
    wharf_time_format(ns, out);
    /* exactly WHARF_TIME_TEXT_LEN bytes, nothing after */
    assert_int_equal(out[WHARF_TIME_TEXT_LEN], '#');
    out[WHARF_TIME_TEXT_LEN] = '\0';
    if (strcmp(out, want) != 0)
        fail_msg("ns=%lld: got %s, want %s", (long long)ns, out, want);
}

static void test_parse_docker(void **state)
{
    check_parse("2016-03-02T22:58:51.338462311Z", INT64_C(1456959531338462311));
    check_parse("2016-03-02T22:59:04.66649744Z", INT64_C(1456959544666497440));
    check_parse("2019-04-01T17:58:33.598656444Z", INT64_C(1554141513598656444));
    check_parse("2017-09-12T22:32:21.212861448Z", INT64_C(1505255541212861448));
}

static void test_parse_fraction_digits(void **state)
{
    int64_t base = INT64_C(1456959531) * SEC; /* 2016-03-02T22:58:51Z */
    check_parse("2016-03-02T22:58:51Z", base);
    check_parse("2016-03-02T22:58:51.5Z", base + 500000000);
    check_parse("2016-03-02T22:58:51.05Z", base + 50000000);
    check_parse("2016-03-02T22:58:51.123Z", base + 123000000);
    check_parse("2016-03-02T22:58:51.000001Z", base + 1000);
    check_parse("2016-03-02T22:58:51.000000001Z", base + 1);
    check_parse("2016-03-02T22:58:51.999999999Z", base + 999999999);
    check_parse("2016-03-02T22:58:51.0Z", base);
    /* more than nine digits: the rest is below a nanosecond and dropped */
    check_parse("2016-03-02T22:58:51.1234567891Z", base + 123456789);
    check_parse("2016-03-02T22:58:51.12345678999999999999Z", base + 123456789);
    /* lower-case separators are RFC 3339 too */
    check_parse("2016-03-02t22:58:51.5z", base + 500000000);
}

static void test_parse_offsets(void **state)
{
    int64_t want = INT64_C(1456959531338462311); /* 2016-03-02T22:58:51.338462311Z */
    check_parse("2016-03-02T22:58:51.338462311+00:00", want);
    check_parse("2016-03-02T22:58:51.338462311-00:00", want);
    check_parse("2016-03-03T00:58:51.338462311+02:00", want);
    check_parse("2016-03-02T17:28:51.338462311-05:30", want);
    check_parse("2016-03-03T12:43:51.338462311+13:45", want);
    check_parse("2016-03-02T00:00:51.338462311-22:58", want);
    check_parse("2016-03-03T00:58:51+02:00", INT64_C(1456959531) * SEC);
    /* an offset moves the date back over a month and a year end */
    check_parse("2016-03-01T01:00:00+02:00", INT64_C(1456786800) * SEC); /* 2016-02-29T23:00Z */
    check_parse("2017-01-01T00:30:00+01:00", INT64_C(1483227000) * SEC); /* 2016-12-31T23:30Z */
    check_parse("2016-12-31T23:30:00-01:00", INT64_C(1483230600) * SEC); /* 2017-01-01T00:30Z */
    /* containerd's form, from the CRI corpus */
    check_parse("2019-05-07T18:57:50.904275087+00:00", INT64_C(1557255470904275087));
}

static void test_parse_calendar(void **state)
{
    check_parse("1970-01-01T00:00:00Z", 0);
    check_parse("1970-01-01T00:00:00.000000001Z", 1);
    check_parse("1970-01-01T00:00:01Z", SEC);
    check_parse("1969-12-31T23:59:59.999999999Z", -1);
    check_parse("1969-12-31T23:59:59Z", -SEC);
    check_parse("1970-01-01T01:00:00+01:00", 0);
    check_parse("1969-12-31T18:30:00-05:30", 0);
    /* leap years: every 4th, not every 100th, but every 400th */
    check_parse("2024-02-29T12:00:00Z", INT64_C(1709208000) * SEC);
    check_parse("2024-03-01T00:00:00Z", INT64_C(1709251200) * SEC);
    check_parse("2023-03-01T00:00:00Z", INT64_C(1677628800) * SEC);
    check_parse("2000-02-29T00:00:00Z", INT64_C(951782400) * SEC);
    check_parse("2000-03-01T00:00:00Z", INT64_C(951868800) * SEC);
    check_parse("1900-03-01T00:00:00Z", INT64_C(-2203891200) * SEC);
    check_parse("2100-03-01T00:00:00Z", INT64_C(4107542400) * SEC);
    check_parse("2024-02-29T00:00:00.1234567891Z", INT64_C(1709164800123456789));
    check_parse("2024-12-31T23:59:59Z", INT64_C(1735689599) * SEC);
    /* 2038 and beyond (no 32-bit time_t anywhere) */
    check_parse("2038-01-19T03:14:07Z", INT64_C(2147483647) * SEC);
    check_parse("2038-01-19T03:14:08Z", INT64_C(2147483648) * SEC);
    check_parse("2106-02-07T06:28:16Z", INT64_C(4294967296) * SEC);
    /* the ends of what int64 nanoseconds can hold (1677..2262) */
    check_parse("2262-04-11T23:47:15.999999999Z", INT64_C(9223372035999999999));
    check_parse("1677-09-21T00:12:45Z", INT64_C(-9223372035) * SEC);
}

static void test_parse_respects_length(void **state)
{
    int64_t ns = 0;
    const char *s = "2016-03-02T22:58:51.5Zjunk";
    assert_int_equal(wharf_time_parse(s, 22, &ns), 0);
    assert_int_equal(ns, INT64_C(1456959531500000000));
    /* cut inside the fraction: the offset is missing */
    check_reject(s, 21);
    /* a slice of a CRI line, not NUL-terminated after the time */
    const char *line = "2016-03-02T22:58:51Z stdout F x";
    assert_int_equal(wharf_time_parse(line, 20, &ns), 0);
    assert_int_equal(ns, INT64_C(1456959531) * SEC);
    check_reject(line, 21);
}

static void test_parse_rejects(void **state)
{
    static const char *const bad[] = {
        "",
        "2",
        "2016",
        "2016-03-02",
        "2016-03-02T22:58Z",             /* too short: no seconds */
        "2016-03-02T22:58:5Z",           /* one digit of seconds */
        "2016-13-02T22:58:51Z",          /* month 13 */
        "2016-00-02T22:58:51Z",          /* month 0 */
        "2016-03-00T22:58:51Z",          /* day 0 */
        "2016-03-32T22:58:51Z",          /* day 32 */
        "2016-03-02T24:00:00Z",          /* hour 24 */
        "2016-03-02T22:60:51Z",          /* minute 60 */
        "2016-03-02T22:58:61Z",          /* second 61 */
        "2016-03-02T22:58:51",           /* missing Z */
        "2016-03-02T22:58:51.338462311", /* missing Z after a fraction */
        "2016-03-02 22:58:51Z",          /* "T" missing */
        "2016-03-02X22:58:51Z",
        "20160302T225851Z", /* basic format is not RFC 3339 */
        "2016/03/02T22:58:51Z",
        "2016-03-02T22.58.51Z",
        "2016-03-0xT22:58:51Z", /* letters */
        "abcd-ef-ghTij:kl:mnZ",
        "2016-03-02T22:58:5aZ",
        "2016-0a-02T22:58:51Z",
        "+016-03-02T22:58:51Z",
        "-016-03-02T22:58:51Z",
        "2016-+3-02T22:58:51Z",
        "2016-03-02T22:58:51.Z", /* empty fraction */
        "2016-03-02T22:58:51.",
        "2016-03-02T22:58:51,5Z", /* comma fraction */
        "2016-03-02T22:58:51.5x",
        "2016-03-02T22:58:51.5ZZ",
        "2016-03-02T22:58:51Z ",
        " 2016-03-02T22:58:51Z",
        "2016-03-02T22:58:51+0100", /* offset without colon */
        "2016-03-02T22:58:51+01",
        "2016-03-02T22:58:51+1:00",
        "2016-03-02T22:58:51+01:0",
        "2016-03-02T22:58:51+24:00",
        "2016-03-02T22:58:51+01:60",
        "2016-03-02T22:58:51*01:00",
        "2016-03-02T22:58:51+01:00Z",
        "2016-03-02T22:58:51Zulu",
        /* outside int64 nanoseconds (regression: signed overflow found by fuzzing) */
        "1009-05-07T18:57:50.258802837+00:00",
        "9999-12-31T23:59:59.999999999Z",
        "0000-01-01T00:00:00Z",
        "2262-04-12T00:00:00Z",
        "1677-09-20T00:00:00Z",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        check_reject(bad[i], strlen(bad[i]));
    /* a NUL inside the text */
    check_reject("2016-03-02T22:58:51\0Z", 21);
}

/* RFC 3339 5.7: the day must exist in its month ("2023-02-30" is not a date). */
static void test_parse_rejects_impossible_days(void **state)
{
    static const char *const bad[] = {
        "2023-02-29T00:00:00Z", /* not a leap year */
        "2023-02-30T00:00:00Z", "2024-02-30T00:00:00Z", "2024-04-31T00:00:00Z",
        "2024-06-31T00:00:00Z", "2024-09-31T00:00:00Z", "2024-11-31T00:00:00Z",
        "1900-02-29T00:00:00Z", /* divisible by 100, not by 400 */
        "2100-02-29T00:00:00Z",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        check_reject(bad[i], strlen(bad[i]));
}

static void test_format(void **state)
{
    check_format(0, "1970-01-01T00:00:00.000000000Z");
    check_format(1, "1970-01-01T00:00:00.000000001Z");
    check_format(INT64_C(1456959531338462311), "2016-03-02T22:58:51.338462311Z");
    check_format(INT64_C(1456959544666497440), "2016-03-02T22:59:04.666497440Z");
    check_format(INT64_C(1709164800123456789), "2024-02-29T00:00:00.123456789Z");
    check_format(INT64_C(1709251199999999999), "2024-02-29T23:59:59.999999999Z");
    check_format(INT64_C(951782400) * SEC, "2000-02-29T00:00:00.000000000Z");
    check_format(INT64_C(4107542400) * SEC - 1, "2100-02-28T23:59:59.999999999Z");
    check_format(INT64_C(2147483647) * SEC, "2038-01-19T03:14:07.000000000Z");
    check_format(INT64_C(2147483648) * SEC, "2038-01-19T03:14:08.000000000Z");
    check_format(INT64_C(4294967296) * SEC, "2106-02-07T06:28:16.000000000Z");
    check_format(INT64_C(7258118400) * SEC, "2200-01-01T00:00:00.000000000Z");
    check_format(-1, "1969-12-31T23:59:59.999999999Z");
    check_format(-SEC, "1969-12-31T23:59:59.000000000Z");
    check_format(-SEC - 1, "1969-12-31T23:59:58.999999999Z");
    check_format(-INT64_C(86400) * SEC, "1969-12-31T00:00:00.000000000Z");
    check_format(-INT64_C(86400) * SEC - 1, "1969-12-30T23:59:59.999999999Z");
    check_format(INT64_C(-2203891200) * SEC, "1900-03-01T00:00:00.000000000Z");
    /* 9999-12-31 is past int64 nanoseconds; these are the ends of the range */
    check_format(INT64_MAX, "2262-04-11T23:47:16.854775807Z");
    check_format(INT64_C(9223372035999999999), "2262-04-11T23:47:15.999999999Z");
    check_format(INT64_C(-9223372035) * SEC, "1677-09-21T00:12:45.000000000Z");
}

/* The last second before INT64_MIN: -ns overflows if negated naively. */
static void test_format_int64_min(void **state)
{
    check_format(INT64_MIN, "1677-09-21T00:12:43.145224192Z");
    check_format(INT64_MIN + 1, "1677-09-21T00:12:43.145224193Z");
    check_format(INT64_MIN + 999999999, "1677-09-21T00:12:44.145224191Z");
}

static void test_round_trip(void **state)
{
    /* format then parse gives the same nanoseconds, over the whole range */
    for (int64_t ns = -INT64_C(9200000000000000000); ns < INT64_C(9200000000000000000);
         ns += INT64_C(7777777777777777)) {
        char text[WHARF_TIME_TEXT_LEN];
        int64_t back = 0;
        wharf_time_format(ns, text);
        if (wharf_time_parse(text, sizeof(text), &back) != 0 || back != ns)
            fail_msg("ns=%lld text=%.30s back=%lld", (long long)ns, text, (long long)back);
    }
    /* every day of 2023..2025 and of 2038 at a few times of day */
    static const int years[] = {2023, 2024, 2025, 2038, 2099, 2100, 2262};
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    for (size_t y = 0; y < sizeof(years) / sizeof(years[0]); y++) {
        int yr = years[y];
        int leap = (yr % 4 == 0 && yr % 100 != 0) || yr % 400 == 0;
        int64_t prev = INT64_MIN;
        for (int m = 1; m <= 12 && !(yr == 2262 && m > 3); m++) {
            int nd = mdays[m - 1] + (m == 2 && leap);
            for (int d = 1; d <= nd; d++) {
                char text[64];
                int64_t ns = 0;
                snprintf(text, sizeof(text), "%04d-%02d-%02dT%02d:%02d:%02d.%09dZ", yr, m, d,
                         d % 24, (d * 7) % 60, (d * 13) % 60, d * 12345679 % 1000000000);
                if (wharf_time_parse(text, strlen(text), &ns) != 0)
                    fail_msg("cannot parse %s", text);
                assert_true(ns > prev);
                prev = ns;
                char out[WHARF_TIME_TEXT_LEN + 1];
                wharf_time_format(ns, out);
                out[WHARF_TIME_TEXT_LEN] = '\0';
                assert_string_equal(out, text);
            }
        }
    }
    /* offsets normalize to the same UTC text */
    int64_t ns = 0;
    const char *local = "2026-11-20T09:00:00.000000042+01:00";
    assert_int_equal(wharf_time_parse(local, strlen(local), &ns), 0);
    check_format(ns, "2026-11-20T08:00:00.000000042Z");
}

static void test_now(void **state)
{
    int64_t a = wharf_time_now(), b = wharf_time_now();
    assert_true(b >= a);
    assert_true(a > INT64_C(1704067200) * SEC); /* after 2024-01-01 */
    assert_true(a < INT64_C(4102444800) * SEC); /* before 2100-01-01 */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_docker),
        cmocka_unit_test(test_parse_fraction_digits),
        cmocka_unit_test(test_parse_offsets),
        cmocka_unit_test(test_parse_calendar),
        cmocka_unit_test(test_parse_respects_length),
        cmocka_unit_test(test_parse_rejects),
        cmocka_unit_test(test_parse_rejects_impossible_days),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_format_int64_min),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_now),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
