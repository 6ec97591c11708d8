/* test_decoders.c - the Docker json-file and CRI line decoders, line by line. */
#include "wharf/common.h"
#include "wharf/cri.h"
#include "wharf/docker.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
/* cmocka.h needs the headers above. */
#include <cmocka.h>

static int decode(docker_line_decoder_t *d, const char *line)
{
    return docker_line_decode(d, line, strlen(line));
}

static void assert_log(const docker_line_t *l, const char *want)
{
    assert_int_equal(l->log_len, strlen(want));
    assert_memory_equal(l->log, want, l->log_len);
}

static void test_docker_fields(void **state)
{
    docker_line_decoder_t d;
    docker_line_decoder_init(&d);
    assert_int_equal(decode(&d, "{\"log\":\"hello\\n\",\"stream\":\"stderr\","
                                "\"time\":\"2016-03-02T22:58:51.338462311Z\"}"),
                     0);
    assert_log(&d.line, "hello\n");
    assert_int_equal(d.line.stream, WHARF_STREAM_STDERR);
    assert_int_equal(d.line.ns, INT64_C(1456959531338462311));
    assert_int_equal(decode(&d, " { \"time\" : \"bad\" , \"log\" : \"x\" } \r"), 0);
    assert_log(&d.line, "x");
    assert_int_equal(d.line.ns, 0);
    assert_int_equal(d.line.stream, WHARF_STREAM_NONE);
    docker_line_decoder_free(&d);
}

static void test_docker_escapes(void **state)
{
    docker_line_decoder_t d;
    docker_line_decoder_init(&d);
    assert_int_equal(decode(&d, "{\"log\":\"\\u00e9\\ud83d\\ude00\\ud800x\\\"\\\\\\/\\t\"}"), 0);
    assert_log(&d.line, "\xc3\xa9\xf0\x9f\x98\x80\xef\xbf\xbdx\"\\/\t");
    assert_int_equal(decode(&d, "{\"log\":\"a\\qb\"}"), WHARF_EPARSE);
    assert_int_equal(decode(&d, "{\"log\":\"a\\u12\"}"), WHARF_EPARSE);
    docker_line_decoder_free(&d);
}

static void test_docker_attrs_and_unknown_keys(void **state)
{
    docker_line_decoder_t d;
    docker_line_decoder_init(&d);
    assert_int_equal(decode(&d, "{\"x\":[1,{\"y\":null},true,-2.5e3],\"log\":\"m\","
                                "\"attrs\":{\"tag\":\"web\",\"n\":5,\"k.v\":\"\\u0041\"},"
                                "\"z\":{\"log\":\"inner\"}}"),
                     0);
    assert_log(&d.line, "m");
    assert_int_equal(d.line.n_attrs, 2);
    assert_string_equal(d.line.attrs[0].key, "tag");
    assert_string_equal(d.line.attrs[0].value, "web");
    assert_string_equal(d.line.attrs[1].key, "k.v");
    assert_string_equal(d.line.attrs[1].value, "A");
    docker_line_decoder_free(&d);
}

static void test_docker_invalid_lines(void **state)
{
    static const char *const bad[] = {
        "",
        "123",
        "[1]",
        "\"x\"",
        "{} {}",
        "{\"log\":1}",
        "{\"stream\":\"stdout\"}",
        "{\"log\":\"x\"",
        "{\"log\":\"x\",}",
        "{\"log\" \"x\"}",
        "{\"log\":\"x\"} junk",
        "\"log\":\"cp packetbeat.yml\",\"stream\":\"stdout\"}",
        "{\"log\":\"x\",\"a\":tru}",
    };
    docker_line_decoder_t d;
    docker_line_decoder_init(&d);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(decode(&d, bad[i]), WHARF_EPARSE);
        /* the decoder recovers at once */
        assert_int_equal(decode(&d, "{\"log\":\"ok\\n\"}"), 0);
        assert_log(&d.line, "ok\n");
    }
    docker_line_decoder_free(&d);
}

static void test_docker_deep_nesting_refused(void **state)
{
    char line[600];
    int n = snprintf(line, sizeof(line), "{\"log\":\"x\",\"deep\":");
    for (int i = 0; i < 200; i++)
        line[n++] = '[';
    line[n] = '\0';
    docker_line_decoder_t d;
    docker_line_decoder_init(&d);
    assert_int_equal(decode(&d, line), WHARF_EPARSE);
    docker_line_decoder_free(&d);
}

static int cri(const char *line, wharf_container_record_t *r)
{
    memset(r, 0, sizeof(*r));
    return cri_line_parse(line, strlen(line), r);
}

static void test_cri_lines(void **state)
{
    wharf_container_record_t r;
    assert_int_equal(cri("2019-05-07T18:57:50.904275087+00:00 stdout P 1a. some ", &r), 0);
    assert_int_equal(r.stream, WHARF_STREAM_STDOUT);
    assert_false(r.final);
    assert_int_equal(r.len, 9);
    assert_memory_equal(r.text, "1a. some ", 9);
    assert_int_equal(r.ns, INT64_C(1557255470904275087));
    assert_int_equal(cri("2026-11-20T09:00:00+01:00 stderr F \ttext x", &r), 0);
    assert_true(r.final);
    assert_int_equal(r.stream, WHARF_STREAM_STDERR);
    assert_int_equal(r.ns, INT64_C(1795161600) * 1000000000);
    assert_memory_equal(r.text, "\ttext x", 7);
    assert_int_equal(cri("2026-11-20T08:00:00Z stdout F:x tagged", &r), 0);
    assert_memory_equal(r.text, "tagged", 6);
    assert_int_equal(cri("2026-11-20T08:00:00Z stdout F", &r), 0);
    assert_int_equal(r.len, 0);
    assert_int_equal(cri("2026-11-20T08:00:00Z stdout F ", &r), 0);
    assert_int_equal(r.len, 0);
}

static void test_cri_invalid(void **state)
{
    static const char *const bad[] = {
        "",
        "no spaces",
        "2026-11-20T08:00:00Z stdout",
        "2026-11-20T08:00:00Z sideout F x",
        "2026-11-20T08:00:00Z stdout X x",
        "2026-11-20T08:00:00Z stdout FF x",
        "yesterday stdout F x",
        "2026-11-20T08:00:00Z  stdout F x",
    };
    wharf_container_record_t r;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(cri(bad[i], &r), WHARF_EPARSE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_docker_fields),
        cmocka_unit_test(test_docker_escapes),
        cmocka_unit_test(test_docker_attrs_and_unknown_keys),
        cmocka_unit_test(test_docker_invalid_lines),
        cmocka_unit_test(test_docker_deep_nesting_refused),
        cmocka_unit_test(test_cri_lines),
        cmocka_unit_test(test_cri_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
