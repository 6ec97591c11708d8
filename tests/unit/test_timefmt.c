/* test_timefmt.c - RFC 3339 parsing and formatting, and the event field
 * table's order that the JSON writer relies on. */
#include "wharf/common.h"
#include "wharf/event.h"
#include "wharf/timefmt.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
/* cmocka.h needs the headers above. */
#include <cmocka.h>

static int64_t parse(const char *s)
{
    int64_t ns = -1;
    assert_int_equal(wharf_time_parse(s, strlen(s), &ns), 0);
    return ns;
}

static void assert_formats(int64_t ns, const char *want)
{
    char out[WHARF_TIME_TEXT_LEN + 1];
    wharf_time_format(ns, out);
    out[WHARF_TIME_TEXT_LEN] = '\0';
    assert_string_equal(out, want);
}

static void test_parse(void **state)
{
    assert_int_equal(parse("2016-03-02T22:58:51.338462311Z"), INT64_C(1456959531338462311));
    assert_int_equal(parse("1970-01-01T00:00:00Z"), 0);
    assert_int_equal(parse("1970-01-01T00:00:00.5Z"), 500000000);
    assert_int_equal(parse("1970-01-01T01:00:00+01:00"), 0);
    assert_int_equal(parse("1969-12-31T18:30:00-05:30"), 0);
    assert_int_equal(parse("2024-02-29T00:00:00.1234567891Z"), INT64_C(1709164800123456789));
}

static void test_parse_rejects(void **state)
{
    static const char *const bad[] = {
        "2016-13-02T22:58:51Z",
        "2016-03-02T22:58:51",
        "2016-03-02 22:58:51Z",
        "2016-03-02T22:58Z",
        "2016-03-02T22:58:51.Z",
        "2016-03-0xT22:58:51Z",
        "",
        "2016-03-02T22:58:51+0100",
        /* regression: fuzzing found a signed overflow for years outside int64 nanoseconds */
        "1009-05-07T18:57:50.258802837+00:00",
        "9999-01-01T00:00:00Z",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t ns;
        assert_int_equal(wharf_time_parse(bad[i], strlen(bad[i]), &ns), WHARF_EPARSE);
    }
}

static void test_format(void **state)
{
    assert_formats(0, "1970-01-01T00:00:00.000000000Z");
    assert_formats(INT64_C(1456959531338462311), "2016-03-02T22:58:51.338462311Z");
    assert_formats(INT64_C(2147483648) * 1000000000, "2038-01-19T03:14:08.000000000Z");
    assert_formats(INT64_C(1709164800123456789), "2024-02-29T00:00:00.123456789Z");
    assert_formats(-1, "1969-12-31T23:59:59.999999999Z");
}

static void test_round_trip(void **state)
{
    for (int64_t ns = -INT64_C(4000000000000000000); ns < INT64_C(9000000000000000000);
         ns += INT64_C(77777777777777777)) {
        char text[WHARF_TIME_TEXT_LEN];
        int64_t back;
        wharf_time_format(ns, text);
        assert_int_equal(wharf_time_parse(text, sizeof(text), &back), 0);
        assert_int_equal(back, ns);
    }
}

static void test_field_table_sorted(void **state)
{
    for (int f = 1; f < WHARF_F__COUNT; f++)
        assert_true(wharf_path_compare(wharf_field_path_str((wharf_field_id)(f - 1)),
                                       wharf_field_path_str((wharf_field_id)f)) < 0);
    for (int f = 0; f < WHARF_F__COUNT; f++) {
        const char *p = wharf_field_path((wharf_field_id)f);
        assert_int_equal(wharf_field_lookup(p, strlen(p)), f);
    }
    assert_int_equal(wharf_field_lookup("no.such", 7), -1);
    assert_true(wharf_path_compare(WHARF_STR_LIT("a"), WHARF_STR_LIT("a.b")) < 0);
    assert_true(wharf_path_compare(WHARF_STR_LIT("a.b"), WHARF_STR_LIT("a-b")) < 0);
    assert_int_equal(wharf_path_compare(WHARF_STR_LIT("a.b"), WHARF_STR_LIT("a.b")), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_parse_rejects),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_field_table_sorted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
