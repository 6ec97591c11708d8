/* test_log.c - wharf's own log: the exact logfmt and JSON lines written to
 * stderr, the key=value text taken apart into JSON fields (quoted values,
 * numbers, flags, stray quotes, invalid UTF-8), the rate limiting of
 * repeated warn/error lines with its repeated=N count, and the log_format
 * config key.
 *
 * stderr is pointed at a temporary file around each call; both clocks are
 * the test's, so timestamps are exact and a minute passes instantly. */
#include "wharf/common.h"
#include "wharf/config.h"
#include "wharf/log.h"

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

/* 2026-11-22T10:00:00.123456789Z */
#define WALL_NS (INT64_C(1795341600) * 1000000000 + 123456789)
#define SEC     INT64_C(1000000000)

static int64_t fake_mono;

static int64_t wall_clock(void)
{
    return WALL_NS;
}

static int64_t mono_clock(void)
{
    return fake_mono;
}

static int setup(void **state)
{
    (void)state;
    wharf_log_set_clocks(wall_clock, mono_clock);
    wharf_log_set_level(WHARF_LOG_INFO);
    wharf_log_set_format(WHARF_LOG_LOGFMT);
    fake_mono += 3600 * SEC; /* well past any window an earlier test opened */
    return 0;
}

/* What wharf wrote to stderr while `calls` ran. */
static char captured[8192];

#define CAPTURE(calls)                                                                             \
    do {                                                                                           \
        FILE *tmp_ = tmpfile();                                                                    \
        assert_non_null(tmp_);                                                                     \
        int saved_ = dup(STDERR_FILENO);                                                           \
        assert_true(saved_ >= 0);                                                                  \
        assert_true(dup2(fileno(tmp_), STDERR_FILENO) >= 0);                                       \
        calls;                                                                                     \
        fflush(stderr);                                                                            \
        assert_true(dup2(saved_, STDERR_FILENO) >= 0);                                             \
        close(saved_);                                                                             \
        rewind(tmp_);                                                                              \
        size_t n_ = fread(captured, 1, sizeof(captured) - 1, tmp_);                                \
        captured[n_] = '\0';                                                                       \
        fclose(tmp_);                                                                              \
    } while (0)

static void test_logfmt_line(void **state)
{
    (void)state;
    CAPTURE(wharf_log_warn("file vanished", "input=%s path=%s", "docker", "/x/y.log"));
    assert_string_equal(captured, "ts=2026-11-22T10:00:00.123Z level=warn msg=\"file vanished\" "
                                  "input=docker path=/x/y.log\n");
    CAPTURE(wharf_log_info("say \"hi\"\\\nnow", NULL));
    assert_string_equal(
        captured, "ts=2026-11-22T10:00:00.123Z level=info msg=\"say \\\"hi\\\"\\\\\\nnow\"\n");
}

static void test_threshold(void **state)
{
    (void)state;
    CAPTURE(wharf_log_debug("not shown", "k=%d", 1));
    assert_string_equal(captured, "");
    wharf_log_set_level(WHARF_LOG_DEBUG);
    CAPTURE(wharf_log_debug("shown", "k=%d", 1));
    assert_string_equal(captured, "ts=2026-11-22T10:00:00.123Z level=debug msg=\"shown\" k=1\n");
}

static void test_json_line(void **state)
{
    (void)state;
    wharf_log_set_format(WHARF_LOG_JSON);
    CAPTURE(wharf_log_error("output cannot take events",
                            "output=%s error=\"%s\" offset=%d "
                            "down_s=%.1f seg=%s flag",
                            "live", "connection refused", 123, 1.5, "0000000000000001.wal"));
    assert_string_equal(
        captured, "{\"@timestamp\":\"2026-11-22T10:00:00.123Z\",\"log.level\":\"error\","
                  "\"message\":\"output cannot take events\",\"ecs.version\":\"" WHARF_ECS_VERSION
                  "\",\"output\":\"live\",\"error\":\"connection refused\",\"offset\":123,"
                  "\"down_s\":1.5,\"seg\":\"0000000000000001.wal\",\"flag\":true}\n");
    CAPTURE(wharf_log_info("stopped", NULL));
    assert_string_equal(
        captured, "{\"@timestamp\":\"2026-11-22T10:00:00.123Z\",\"log.level\":"
                  "\"info\",\"message\":\"stopped\",\"ecs.version\":\"" WHARF_ECS_VERSION "\"}\n");
}

/* Only what JSON spells as a number becomes one. */
static void test_json_numbers(void **state)
{
    (void)state;
    wharf_log_set_format(WHARF_LOG_JSON);
    CAPTURE(wharf_log_info("n", "a=0 b=-12 c=1e5 d=2.5E-3 e=007 f=1. g=- h=.5 i=0x1f j=1.2.3 k=nan "
                                "l=-0"));
    assert_string_equal(captured, "{\"@timestamp\":\"2026-11-22T10:00:00.123Z\",\"log.level\":"
                                  "\"info\",\"message\":\"n\",\"ecs.version\":\"" WHARF_ECS_VERSION
                                  "\",\"a\":0,\"b\":-12,\"c\":1e5,\"d\":2.5E-3,\"e\":\"007\","
                                  "\"f\":\"1.\",\"g\":\"-\",\"h\":\".5\",\"i\":\"0x1f\","
                                  "\"j\":\"1.2.3\",\"k\":\"nan\",\"l\":-0}\n");
}

/* Quoted values: \" \\ \n undone; a stray quote inside a library's error
 * text stays in the value; control characters and invalid UTF-8 come out as
 * valid JSON; an unterminated quote runs to the end. */
static void test_json_quoted_values(void **state)
{
    (void)state;
    wharf_log_set_format(WHARF_LOG_JSON);
    CAPTURE(wharf_log_warn("q",
                           "a=\"x \\\"y\\\" \\\\ z\\n\" b=\"bad \"quote\" here\" c=\"tab\there "
                           "\xff\" d=\"\" e=\"open end"));
    assert_string_equal(captured,
                        "{\"@timestamp\":\"2026-11-22T10:00:00.123Z\",\"log.level\":\"warn\","
                        "\"message\":\"q\",\"ecs.version\":\"" WHARF_ECS_VERSION "\","
                        "\"a\":\"x \\\"y\\\" \\\\ z\\n\",\"b\":\"bad \\\"quote\\\" here\","
                        "\"c\":\"tab\\there \xef\xbf\xbd\",\"d\":\"\",\"e\":\"open end\"}\n");
}

/* A key=value text longer than the stack buffer is written whole. */
static void test_long_fields(void **state)
{
    (void)state;
    char big[3001];
    memset(big, 'v', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    CAPTURE(wharf_log_warn("long", "k=%s end=1", big));
    char want[3200];
    snprintf(want, sizeof(want), "ts=2026-11-22T10:00:00.123Z level=warn msg=\"long\" k=%s end=1\n",
             big);
    assert_string_equal(captured, want);
}

static const char *const broker_down =
    "ts=2026-11-22T10:00:00.123Z level=error msg=\"broker down\" output=k error=\"refused\"";

static void log_broker_down(void)
{
    wharf_log_error("broker down", "output=%s error=\"%s\"", "k", "refused");
}

/* The same error every 5 s: printed once a minute, the next copy with the
 * number held back. */
static void test_repeats_counted(void **state)
{
    (void)state;
    char want[512];
    snprintf(want, sizeof(want), "%s\n", broker_down);
    CAPTURE(log_broker_down());
    assert_string_equal(captured, want);
    CAPTURE(for (int i = 0; i < 11; i++) {
        fake_mono += 5 * SEC;
        log_broker_down();
    });
    assert_string_equal(captured, ""); /* 5 .. 55 s: 11 held back */
    fake_mono += 6 * SEC;              /* 61 s */
    CAPTURE(log_broker_down());
    snprintf(want, sizeof(want), "%s repeated=11\n", broker_down);
    assert_string_equal(captured, want);
    fake_mono += 59 * SEC; /* 120 s: inside the new window */
    CAPTURE(log_broker_down());
    assert_string_equal(captured, "");
    fake_mono += 2 * SEC;
    CAPTURE(log_broker_down());
    snprintf(want, sizeof(want), "%s repeated=1\n", broker_down);
    assert_string_equal(captured, want);
    fake_mono += 61 * SEC; /* nothing held back in the last window: no count */
    CAPTURE(log_broker_down());
    snprintf(want, sizeof(want), "%s\n", broker_down);
    assert_string_equal(captured, want);
}

/* Lines differing in a field, or in level, are different lines. */
static void test_repeats_are_exact(void **state)
{
    (void)state;
    CAPTURE({
        wharf_log_warn("record damaged", "offset=%d", 10);
        wharf_log_warn("record damaged", "offset=%d", 20);
        wharf_log_error("record damaged", "offset=%d", 20);
        wharf_log_warn("record damaged", "offset=%d", 10);
    });
    assert_string_equal(captured,
                        "ts=2026-11-22T10:00:00.123Z level=warn msg=\"record damaged\" offset=10\n"
                        "ts=2026-11-22T10:00:00.123Z level=warn msg=\"record damaged\" offset=20\n"
                        "ts=2026-11-22T10:00:00.123Z level=error msg=\"record damaged\" "
                        "offset=20\n");
}

/* An info line is a state change: the error after it is printed, so an
 * output that went down, came back and went down again shows both. */
static void test_info_ends_window(void **state)
{
    (void)state;
    CAPTURE({
        log_broker_down();
        log_broker_down();
        wharf_log_info("delivering again", "output=%s", "k");
        log_broker_down();
        log_broker_down();
        wharf_log_info("delivering again", "output=%s", "k");
        wharf_log_info("delivering again", "output=%s", "k");
        log_broker_down();
    });
    char want[1024];
    const char *up = "ts=2026-11-22T10:00:00.123Z level=info msg=\"delivering again\" output=k\n";
    snprintf(want, sizeof(want), "%s\n%s%s repeated=1\n%s%s%s repeated=1\n", broker_down, up,
             broker_down, up, up, broker_down);
    assert_string_equal(captured, want);
}

/* Info lines are never held back; neither is an info line below the level
 * threshold, but it still ends the windows. */
static void test_info_not_limited(void **state)
{
    (void)state;
    CAPTURE({
        wharf_log_info("tailing file", "path=%s", "/a");
        wharf_log_info("tailing file", "path=%s", "/a");
    });
    const char *line = "ts=2026-11-22T10:00:00.123Z level=info msg=\"tailing file\" path=/a\n";
    char want[256];
    snprintf(want, sizeof(want), "%s%s", line, line);
    assert_string_equal(captured, want);
    wharf_log_set_level(WHARF_LOG_WARN);
    CAPTURE({
        log_broker_down();
        wharf_log_info("delivering again", "output=%s", "k");
        log_broker_down();
    });
    snprintf(want, sizeof(want), "%s\n%s\n", broker_down, broker_down);
    assert_string_equal(captured, want);
}

static void test_json_repeated(void **state)
{
    (void)state;
    wharf_log_set_format(WHARF_LOG_JSON);
    CAPTURE({
        for (int i = 0; i < 4; i++)
            wharf_log_warn("cannot open log file", "path=%s", "/p");
        fake_mono += 60 * SEC;
        wharf_log_warn("cannot open log file", "path=%s", "/p");
    });
    const char *line = "{\"@timestamp\":\"2026-11-22T10:00:00.123Z\",\"log.level\":\"warn\","
                       "\"message\":\"cannot open log file\",\"ecs.version\":\"" WHARF_ECS_VERSION
                       "\",\"path\":\"/p\"";
    char want[512];
    snprintf(want, sizeof(want), "%s}\n%s,\"repeated\":3}\n", line, line);
    assert_string_equal(captured, want);
}

/* More distinct repeating lines than the table holds: every first copy is
 * printed, in order; a second copy is held back or, when its slot was taken
 * by another line, printed as a new line (without a count, never wrong). */
static void test_many_distinct_lines(void **state)
{
    (void)state;
    char expect[64];
    CAPTURE(for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 100; i++)
            wharf_log_warn("distinct", "n=%d", i);
    });
    const char *p = captured;
    for (int i = 0; i < 100; i++) {
        snprintf(expect, sizeof(expect), "msg=\"distinct\" n=%d\n", i);
        p = strstr(p, expect);
        assert_non_null(p);
        p += strlen(expect);
    }
    size_t second_round = 0;
    for (; (p = strstr(p, "msg=\"distinct\" n=")) != NULL; p++)
        second_round++;
    assert_true(second_round < 100);
    assert_null(strstr(captured, "repeated="));
}

static void test_log_format_config(void **state)
{
    (void)state;
    const char *tail = "inputs: [{type: docker, id: d, root: /nonexistent}]\n"
                       "outputs: [{type: stdout, id: o}]\n";
    char yaml[512];
    wharf_conf_errors_t errs = {0};
    wharf_config_t *cfg = NULL;

    snprintf(yaml, sizeof(yaml), "%s", tail);
    assert_int_equal(wharf_config_load_string("t.yaml", yaml, strlen(yaml), &cfg, &errs), 0);
    assert_int_equal(cfg->log_format, WHARF_LOG_LOGFMT);
    wharf_config_free(cfg);

    snprintf(yaml, sizeof(yaml), "log_format: json\n%s", tail);
    assert_int_equal(wharf_config_load_string("t.yaml", yaml, strlen(yaml), &cfg, &errs), 0);
    assert_int_equal(cfg->log_format, WHARF_LOG_JSON);
    wharf_config_free(cfg);

    snprintf(yaml, sizeof(yaml), "data_dir: ./d\nlog_format: xml\n%s", tail);
    assert_int_equal(wharf_config_load_string("t.yaml", yaml, strlen(yaml), &cfg, &errs),
                     WHARF_EINVAL_CONFIG);
    assert_null(cfg);
    assert_int_equal(errs.n, 1);
    assert_string_equal(errs.msgs[0], "t.yaml:2: 'log_format' must be one of: logfmt, json");
    wharf_conf_errors_free(&errs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_logfmt_line, setup),
        cmocka_unit_test_setup(test_threshold, setup),
        cmocka_unit_test_setup(test_json_line, setup),
        cmocka_unit_test_setup(test_json_numbers, setup),
        cmocka_unit_test_setup(test_json_quoted_values, setup),
        cmocka_unit_test_setup(test_long_fields, setup),
        cmocka_unit_test_setup(test_repeats_counted, setup),
        cmocka_unit_test_setup(test_repeats_are_exact, setup),
        cmocka_unit_test_setup(test_info_ends_window, setup),
        cmocka_unit_test_setup(test_info_not_limited, setup),
        cmocka_unit_test_setup(test_json_repeated, setup),
        cmocka_unit_test_setup(test_many_distinct_lines, setup),
        cmocka_unit_test_setup(test_log_format_config, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
