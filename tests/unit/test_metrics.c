/* test_metrics.c - the Prometheus text of a metrics snapshot and the
 * /health verdict, both pure functions of the snapshot: label escaping,
 * the exact exposition of a small snapshot (HELP and TYPE lines, labels,
 * file-only input metrics left out for a journal input, output up/down),
 * and which outputs and buffer states make wharf unhealthy, with the exact
 * JSON. */
#include "wharf/buf.h"
#include "wharf/common.h"
#include "wharf/metrics.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
/* cmocka.h needs the headers above. */
#include <cmocka.h>

#define SEC INT64_C(1000000000)

static void expect_escaped(const char *in, const char *want)
{
    wharf_buf_t b;
    wharf_buf_init(&b);
    wharf_metrics_label_escape(&b, in);
    wharf_buf_putc(&b, '\0');
    assert_string_equal(b.data, want);
    wharf_buf_free(&b);
}

static void test_label_escape(void **state)
{
    (void)state;
    expect_escaped("siem", "siem");
    expect_escaped("a\"b", "a\\\"b");
    expect_escaped("c:\\logs", "c:\\\\logs");
    expect_escaped("two\nlines", "two\\nlines");
    expect_escaped("\\\"\n", "\\\\\\\"\\n");
    expect_escaped("é-ü tab\tok", "é-ü tab\tok");
    expect_escaped("", "");
}

/* Two inputs (one tails files, one does not), a parser, two outputs (the
 * second down), a buffer and the process. */
static wharf_metrics_t sample(wharf_metrics_input_t *in, wharf_metrics_parser_t *ps,
                              wharf_delivery_stats_t *out)
{
    in[0] = (wharf_metrics_input_t){"docker", {10, 1000, 1, 1, 2, 5}};
    in[1] = (wharf_metrics_input_t){"jour\"nal\\\n", {3, 300, 0, 0, 0, 0}};
    ps[0] = (wharf_metrics_parser_t){"sshd", 4, 6, 2};
    out[0] = (wharf_delivery_stats_t){"siem", 12, 1, 2, 0, "", 1, 50};
    out[1] = (wharf_delivery_stats_t){"local", 9, 0, 7, 100 * SEC, "Connection refused", 4, 80};
    wharf_metrics_t m = {
        .inputs = in, .n_inputs = 2, .parsers = ps, .n_parsers = 1, .outputs = out, .n_outputs = 2};
    m.buffer.bytes = 4096;
    m.buffer.segments = 2;
    m.buffer.dropped_events = 7;
    m.buffer_max_bytes = 1 << 20;
    m.rss_bytes = 123456;
    m.cpu_seconds = 1.5;
    m.start_time_seconds = 1700000000.25;
    m.uptime_seconds = 42;
    return m;
}

static const char EXPOSITION[] =
    "# HELP wharf_input_events_total Events the input emitted into the pipeline.\n"
    "# TYPE wharf_input_events_total counter\n"
    "wharf_input_events_total{input=\"docker\"} 10\n"
    "wharf_input_events_total{input=\"jour\\\"nal\\\\\\n\"} 3\n"
    "# HELP wharf_input_bytes_total Bytes the input read from its log files or journal "
    "entries.\n"
    "# TYPE wharf_input_bytes_total counter\n"
    "wharf_input_bytes_total{input=\"docker\"} 1000\n"
    "wharf_input_bytes_total{input=\"jour\\\"nal\\\\\\n\"} 300\n"
    "# HELP wharf_input_open_files Log files the input holds open.\n"
    "# TYPE wharf_input_open_files gauge\n"
    "wharf_input_open_files{input=\"docker\"} 2\n"
    "# HELP wharf_input_parse_errors_total Records not in the input's format (shipped raw and "
    "tagged) or unreadable.\n"
    "# TYPE wharf_input_parse_errors_total counter\n"
    "wharf_input_parse_errors_total{input=\"docker\"} 1\n"
    "wharf_input_parse_errors_total{input=\"jour\\\"nal\\\\\\n\"} 0\n"
    "# HELP wharf_input_lag_bytes Bytes between what the input read and the ends of its open "
    "files.\n"
    "# TYPE wharf_input_lag_bytes gauge\n"
    "wharf_input_lag_bytes{input=\"docker\"} 5\n"
    "# HELP wharf_parser_matched_total Events one of the parser's rules matched.\n"
    "# TYPE wharf_parser_matched_total counter\n"
    "wharf_parser_matched_total{parser=\"sshd\"} 4\n"
    "# HELP wharf_parser_unmatched_total Events the parser was tried on and none of its rules "
    "matched.\n"
    "# TYPE wharf_parser_unmatched_total counter\n"
    "wharf_parser_unmatched_total{parser=\"sshd\"} 6\n"
    "# HELP wharf_parser_match_limit_total Messages a rule of the parser gave up on: its regex "
    "hit pipeline.parser_match_limit or pipeline.parser_time_limit.\n"
    "# TYPE wharf_parser_match_limit_total counter\n"
    "wharf_parser_match_limit_total{parser=\"sshd\"} 2\n"
    "# HELP wharf_output_events_total Events the output delivered (made durable or confirmed by "
    "the receiver).\n"
    "# TYPE wharf_output_events_total counter\n"
    "wharf_output_events_total{output=\"siem\"} 12\n"
    "wharf_output_events_total{output=\"local\"} 9\n"
    "# HELP wharf_output_failed_total Events the output will never get: rejected for good, or "
    "dropped by buffer.when_full.\n"
    "# TYPE wharf_output_failed_total counter\n"
    "wharf_output_failed_total{output=\"siem\"} 1\n"
    "wharf_output_failed_total{output=\"local\"} 0\n"
    "# HELP wharf_output_retries_total Attempts made again after a failure.\n"
    "# TYPE wharf_output_retries_total counter\n"
    "wharf_output_retries_total{output=\"siem\"} 2\n"
    "wharf_output_retries_total{output=\"local\"} 7\n"
    "# HELP wharf_output_lag_events Events in the buffer the output has not delivered yet.\n"
    "# TYPE wharf_output_lag_events gauge\n"
    "wharf_output_lag_events{output=\"siem\"} 1\n"
    "wharf_output_lag_events{output=\"local\"} 4\n"
    "# HELP wharf_output_lag_bytes Buffer bytes (compressed, on disk) the output has not "
    "delivered yet.\n"
    "# TYPE wharf_output_lag_bytes gauge\n"
    "wharf_output_lag_bytes{output=\"siem\"} 50\n"
    "wharf_output_lag_bytes{output=\"local\"} 80\n"
    "# HELP wharf_output_up 1 while the output delivers, 0 while it is down (failing or "
    "unreachable).\n"
    "# TYPE wharf_output_up gauge\n"
    "wharf_output_up{output=\"siem\"} 1\n"
    "wharf_output_up{output=\"local\"} 0\n"
    "# HELP wharf_buffer_bytes Bytes of the disk buffer's segments.\n"
    "# TYPE wharf_buffer_bytes gauge\n"
    "wharf_buffer_bytes 4096\n"
    "# HELP wharf_buffer_max_bytes The bound on the disk buffer (buffer.max_size).\n"
    "# TYPE wharf_buffer_max_bytes gauge\n"
    "wharf_buffer_max_bytes 1048576\n"
    "# HELP wharf_buffer_segments Segments in the disk buffer.\n"
    "# TYPE wharf_buffer_segments gauge\n"
    "wharf_buffer_segments 2\n"
    "# HELP wharf_buffer_dropped_events_total Events dropped from a full buffer (when_full: "
    "drop_oldest), all outputs.\n"
    "# TYPE wharf_buffer_dropped_events_total counter\n"
    "wharf_buffer_dropped_events_total 7\n"
    "# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
    "# TYPE process_resident_memory_bytes gauge\n"
    "process_resident_memory_bytes 123456\n"
    "# HELP process_cpu_seconds_total User and system CPU time spent in seconds, all threads.\n"
    "# TYPE process_cpu_seconds_total counter\n"
    "process_cpu_seconds_total 1.500\n"
    "# HELP process_start_time_seconds Start time of the process since the Unix epoch in "
    "seconds.\n"
    "# TYPE process_start_time_seconds gauge\n"
    "process_start_time_seconds 1700000000.250\n"
    "# HELP wharf_uptime_seconds Seconds since wharf started.\n"
    "# TYPE wharf_uptime_seconds gauge\n"
    "wharf_uptime_seconds 42.000\n";

static void test_format_exact(void **state)
{
    (void)state;
    wharf_metrics_input_t in[2];
    wharf_metrics_parser_t ps[1];
    wharf_delivery_stats_t out[2];
    wharf_metrics_t m = sample(in, ps, out);
    wharf_buf_t b;
    wharf_buf_init(&b);
    wharf_metrics_format(&m, &b);
    wharf_buf_putc(&b, '\0');
    assert_string_equal(b.data, EXPOSITION);
    wharf_buf_free(&b);
}

/* No inputs, parsers or outputs: every family still has its HELP and TYPE,
 * and no sample names an item. */
static void test_format_empty(void **state)
{
    (void)state;
    wharf_metrics_t m = {0};
    wharf_buf_t b;
    wharf_buf_init(&b);
    wharf_metrics_format(&m, &b);
    wharf_buf_putc(&b, '\0');
    assert_null(strstr(b.data, "{"));
    assert_non_null(strstr(b.data, "# TYPE wharf_output_up gauge\n# HELP wharf_buffer_bytes"));
    assert_non_null(strstr(b.data, "\nwharf_buffer_bytes 0\n"));
    size_t types = 0;
    for (const char *p = b.data; (p = strstr(p, "# TYPE ")) != NULL; p++)
        types++;
    assert_int_equal(types, 22);
    wharf_buf_free(&b);
}

static int health(const wharf_metrics_t *m, int64_t now, int64_t down_after_ms, char *json,
                  size_t n)
{
    wharf_buf_t b;
    wharf_buf_init(&b);
    int ok = wharf_metrics_health(m, now, down_after_ms, &b);
    assert_true(b.len < n);
    memcpy(json, b.data, b.len);
    json[b.len] = '\0';
    wharf_buf_free(&b);
    return ok;
}

static void test_health_outputs(void **state)
{
    (void)state;
    wharf_metrics_input_t in[2];
    wharf_metrics_parser_t ps[1];
    wharf_delivery_stats_t out[2];
    wharf_metrics_t m = sample(in, ps, out);
    char json[1024];
    /* "local" has been down 1.5 s: fine under 60 s, not under 1 s */
    assert_int_equal(health(&m, 100 * SEC + SEC * 3 / 2, 60000, json, sizeof(json)), 1);
    assert_string_equal(json, "{\"status\":\"ok\",\"problems\":[]}\n");
    assert_int_equal(health(&m, 100 * SEC + SEC * 3 / 2, 1000, json, sizeof(json)), 0);
    assert_string_equal(json, "{\"status\":\"unhealthy\",\"problems\":[{\"stage\":\"output\","
                              "\"output\":\"local\",\"problem\":\"down longer than "
                              "health.output_down_after\",\"down_seconds\":1.5,"
                              "\"error\":\"Connection refused\"}]}\n");
    /* exactly the limit is not longer than it */
    assert_int_equal(health(&m, 101 * SEC, 1000, json, sizeof(json)), 1);
    out[1].down_since_ns = 0;
    assert_int_equal(health(&m, 1000 * SEC, 0, json, sizeof(json)), 1);
}

static void test_health_buffer(void **state)
{
    (void)state;
    wharf_metrics_input_t in[2];
    wharf_metrics_parser_t ps[1];
    wharf_delivery_stats_t out[2];
    wharf_metrics_t m = sample(in, ps, out);
    out[1].down_since_ns = 0;
    char json[1024];
    m.buffer_max_bytes = 1000;
    m.buffer.bytes = 900;
    assert_int_equal(health(&m, SEC, 1000, json, sizeof(json)), 1);
    m.buffer.bytes = 901;
    assert_int_equal(health(&m, SEC, 1000, json, sizeof(json)), 0);
    assert_string_equal(json, "{\"status\":\"unhealthy\",\"problems\":[{\"stage\":\"buffer\","
                              "\"problem\":\"buffer over 90% of buffer.max_size\","
                              "\"bytes\":901,\"max_bytes\":1000}]}\n");
    m.buffer.bytes = 10;
    m.buffer_error = WHARF_EFULL;
    out[0].down_since_ns = SEC;
    assert_int_equal(health(&m, 10 * SEC, 1000, json, sizeof(json)), 0);
    assert_string_equal(json, "{\"status\":\"unhealthy\",\"problems\":[{\"stage\":\"output\","
                              "\"output\":\"siem\",\"problem\":\"down longer than "
                              "health.output_down_after\",\"down_seconds\":9.0,\"error\":\"\"},"
                              "{\"stage\":\"buffer\",\"problem\":\"commits refused; inputs are "
                              "paused\",\"error\":\"disk buffer full\"}]}\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_label_escape),  cmocka_unit_test(test_format_exact),
        cmocka_unit_test(test_format_empty),  cmocka_unit_test(test_health_outputs),
        cmocka_unit_test(test_health_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
