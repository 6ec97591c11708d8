/* test_journald.c - the journald input's name tables: which journal fields
 * are mapped, and the syslog severity, level and facility names. */
#include "wharf/journald.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
/* cmocka.h needs the headers above. */
#include <cmocka.h>

static int lookup(const char *name)
{
    return journald_field_lookup(name, strlen(name));
}

static void test_field_lookup(void **state)
{
    (void)state;
    assert_int_equal(lookup("MESSAGE"), JOURNALD_F_MESSAGE);
    assert_int_equal(lookup("PRIORITY"), JOURNALD_F_PRIORITY);
    assert_int_equal(lookup("_PID"), JOURNALD_F_PID);
    assert_int_equal(lookup("_UID"), JOURNALD_F_UID);
    assert_int_equal(lookup("_EXE"), JOURNALD_F_EXE);
    assert_int_equal(lookup("CONTAINER_ID"), JOURNALD_F_CONTAINER_ID);
    assert_int_equal(lookup("CONTAINER_ID_FULL"), JOURNALD_F_CONTAINER_ID_FULL);
    assert_int_equal(lookup("CONTAINER_PARTIAL_MESSAGE"), JOURNALD_F_CONTAINER_PARTIAL_MESSAGE);
    assert_int_equal(lookup("SYSLOG_IDENTIFIER"), JOURNALD_F_SYSLOG_IDENTIFIER);
    /* every mapped name is found (the length table covers them all) */
    for (int f = 0; f < JOURNALD_F__COUNT; f++)
        assert_int_equal(lookup(journald_field_name((journald_field)f)), f);
    /* unmapped, prefixes, case and near misses */
    assert_int_equal(lookup("_GID"), -1);
    assert_int_equal(lookup("MESSAGE_ID"), -1);
    assert_int_equal(lookup("MESSAG"), -1);
    assert_int_equal(lookup("message"), -1);
    assert_int_equal(lookup("_PIE"), -1);
    assert_int_equal(lookup("__CURSOR"), -1);
    assert_int_equal(lookup(""), -1);
    assert_int_equal(lookup("CONTAINER_PARTIAL_MESSAGES"), -1);
    assert_int_equal(lookup("X234567890123456789012345678901234567890123456789012345678901234"),
                     -1);
    /* compared by length, not up to a NUL */
    assert_int_equal(journald_field_lookup("MESSAGE=x", 7), JOURNALD_F_MESSAGE);
}

static void test_severity_names(void **state)
{
    (void)state;
    static const char *const rfc[] = {"Emergency", "Alert",  "Critical",      "Error",
                                      "Warning",   "Notice", "Informational", "Debug"};
    static const char *const level[] = {"emergency", "alert",  "critical", "error",
                                        "warning",   "notice", "info",     "debug"};
    for (int i = 0; i < 8; i++) {
        assert_string_equal(journald_severity_name(i), rfc[i]);
        assert_string_equal(journald_level_name(i), level[i]);
    }
    assert_null(journald_severity_name(-1));
    assert_null(journald_severity_name(8));
    assert_null(journald_level_name(8));
}

static void test_facility_names(void **state)
{
    (void)state;
    assert_string_equal(journald_facility_name(0), "kern");
    assert_string_equal(journald_facility_name(3), "daemon");
    assert_string_equal(journald_facility_name(4), "auth");
    assert_string_equal(journald_facility_name(10), "authpriv");
    assert_string_equal(journald_facility_name(13), "audit");
    assert_string_equal(journald_facility_name(16), "local0");
    assert_string_equal(journald_facility_name(23), "local7");
    assert_null(journald_facility_name(24));
    assert_null(journald_facility_name(-1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_field_lookup),
        cmocka_unit_test(test_severity_names),
        cmocka_unit_test(test_facility_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
