/* test_api.c - the HTTP API's pure parts: request heads (complete, partial,
 * malformed, other methods, oversized, other HTTP versions; the path
 * without its query), `api.listen` addresses, and the `api:` and `health:`
 * configuration keys with their FILE:LINE errors. */
#include "wharf/api.h"
#include "wharf/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
/* cmocka.h needs the headers above. */
#include <cmocka.h>

static int parse(const char *head, wharf_api_request_t *r)
{
    return wharf_api_parse_request(head, strlen(head), r);
}

static void expect_path(const char *head, const char *path)
{
    wharf_api_request_t r;
    assert_int_equal(parse(head, &r), 200);
    assert_int_equal(r.method.len, 3);
    assert_memory_equal(r.method.ptr, "GET", 3);
    assert_int_equal(r.path.len, strlen(path));
    assert_memory_equal(r.path.ptr, path, r.path.len);
}

static void test_request_get(void **state)
{
    (void)state;
    expect_path("GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n", "/metrics");
    expect_path("GET /health HTTP/1.0\r\n\r\n", "/health");
    expect_path("GET /ready HTTP/1.1\n\n", "/ready"); /* bare LF, as RFC 9112 tolerates */
    expect_path("GET /metrics?name[]=x HTTP/1.1\r\n\r\n", "/metrics");
    expect_path("GET /a#frag HTTP/1.1\r\n\r\n", "/a");
    expect_path("GET / HTTP/1.1\r\n\r\nbody after the head", "/");
}

static void test_request_incomplete(void **state)
{
    (void)state;
    wharf_api_request_t r;
    assert_int_equal(parse("", &r), 0);
    assert_int_equal(parse("GET /metrics HTTP/1.1\r\n", &r), 0);
    assert_int_equal(parse("GET /metrics HTTP/1.1\r\nHost: x\r\n\r", &r), 0);
    /* 8 KiB without the end of the head: too large */
    char big[WHARF_API_MAX_REQUEST];
    memset(big, 'a', sizeof(big));
    memcpy(big, "GET /metrics HTTP/1.1\r\nX-Pad: ", 30);
    assert_int_equal(wharf_api_parse_request(big, sizeof(big) - 1, &r), 0);
    assert_int_equal(wharf_api_parse_request(big, sizeof(big), &r), 431);
}

static void test_request_errors(void **state)
{
    (void)state;
    wharf_api_request_t r;
    assert_int_equal(parse("POST /metrics HTTP/1.1\r\n\r\n", &r), 405);
    assert_int_equal(parse("HEAD /health HTTP/1.1\r\n\r\n", &r), 405);
    assert_int_equal(parse("get /health HTTP/1.1\r\n\r\n", &r), 405);
    assert_int_equal(parse("GET /metrics HTTP/2.0\r\n\r\n", &r), 505);
    assert_int_equal(parse("GET /metrics HTTP/1.2\r\n\r\n", &r), 505);
    assert_int_equal(parse("GET /metrics FTP/1.1\r\n\r\n", &r), 400);
    assert_int_equal(parse("GET /metrics\r\n\r\n", &r), 400);
    assert_int_equal(parse("GET  /metrics HTTP/1.1\r\n\r\n", &r), 400);
    assert_int_equal(parse("GET /metrics HTTP/1.1 x\r\n\r\n", &r), 400);
    assert_int_equal(parse("GET metrics HTTP/1.1\r\n\r\n", &r), 400);
    assert_int_equal(parse("GET http://h/metrics HTTP/1.1\r\n\r\n", &r), 400);
    assert_int_equal(parse("G(T /metrics HTTP/1.1\r\n\r\n", &r), 400);
    assert_int_equal(parse("GET /a\x01 HTTP/1.1\r\n\r\n", &r), 400);
    assert_int_equal(parse("\r\n\r\n", &r), 400);
    assert_int_equal(parse("HELLO\n\n", &r), 400);
}

static void expect_listen(const char *listen, int family, const char *addr, int port)
{
    struct sockaddr_storage ss;
    const char *why = NULL;
    char text[INET6_ADDRSTRLEN];
    assert_int_equal(wharf_api_parse_listen(listen, &ss, &why), 0);
    assert_int_equal(ss.ss_family, family);
    if (family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
        assert_non_null(inet_ntop(AF_INET, &a->sin_addr, text, sizeof(text)));
        assert_int_equal(ntohs(a->sin_port), port);
    } else {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
        assert_non_null(inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof(text)));
        assert_int_equal(ntohs(a->sin6_port), port);
    }
    assert_string_equal(text, addr);
}

static void expect_bad_listen(const char *listen, const char *why_part)
{
    struct sockaddr_storage ss;
    const char *why = NULL;
    assert_int_equal(wharf_api_parse_listen(listen, &ss, &why), -EINVAL);
    assert_non_null(why);
    assert_non_null(strstr(why, why_part));
}

static void test_listen(void **state)
{
    (void)state;
    expect_listen("127.0.0.1:9880", AF_INET, "127.0.0.1", 9880);
    expect_listen("0.0.0.0:1", AF_INET, "0.0.0.0", 1);
    expect_listen("[::1]:65535", AF_INET6, "::1", 65535);
    expect_listen("[::]:9880", AF_INET6, "::", 9880);
    expect_listen("[fe80::1:2]:80", AF_INET6, "fe80::1:2", 80);
    expect_bad_listen("127.0.0.1", ":PORT");
    expect_bad_listen("127.0.0.1:", ":PORT");
    expect_bad_listen("127.0.0.1:0", "1 to 65535");
    expect_bad_listen("127.0.0.1:65536", "1 to 65535");
    expect_bad_listen("127.0.0.1:98800", "1 to 65535");
    expect_bad_listen("127.0.0.1:+80", ":PORT");
    expect_bad_listen("localhost:9880", "not an IPv4 address");
    expect_bad_listen(":9880", "not an IPv4 address");
    expect_bad_listen("1.2.3:9880", "not an IPv4 address");
    expect_bad_listen("::1:9880", "not an IPv4 address");
    expect_bad_listen("[::1:9880", "brackets");
    expect_bad_listen("[1.2.3.4]:9880", "not an IPv6 address");
    expect_bad_listen("[]:9880", "not an IPv6 address");
    expect_bad_listen("", ":PORT");
}

#define INPUTS  "inputs: [{type: docker, id: d}]\n"
#define OUTPUTS "outputs: [{type: stdout, id: o}]\n"

static void test_config_keys(void **state)
{
    (void)state;
    static const char yaml[] = INPUTS OUTPUTS "api:\n  listen: \"[::1]:9880\"\n"
                                              "health: {output_down_after: 90s}\n";
    wharf_conf_errors_t errs = {0};
    wharf_config_t *cfg = NULL;
    assert_int_equal(wharf_config_load_string("t.yaml", yaml, strlen(yaml), &cfg, &errs), 0);
    assert_string_equal(cfg->api.listen, "[::1]:9880");
    assert_int_equal(cfg->health.output_down_after_ms, 90000);
    wharf_config_free(cfg);
    /* off when absent; the health default is 60 s */
    static const char none[] = INPUTS OUTPUTS;
    assert_int_equal(wharf_config_load_string("t.yaml", none, strlen(none), &cfg, &errs), 0);
    assert_null(cfg->api.listen);
    assert_int_equal(cfg->health.output_down_after_ms, 60000);
    wharf_config_free(cfg);
    assert_int_equal(errs.n, 0);
}

static void expect_errors(const char *yaml, const char *const *want, size_t n)
{
    wharf_conf_errors_t errs = {0};
    wharf_config_t *cfg = NULL;
    assert_int_equal(wharf_config_load_string("t.yaml", yaml, strlen(yaml), &cfg, &errs),
                     WHARF_EINVAL_CONFIG);
    assert_null(cfg);
    for (size_t i = 0; i < errs.n; i++)
        print_message("got: %s\n", errs.msgs[i]);
    assert_int_equal(errs.n, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(errs.msgs[i], want[i]);
    wharf_conf_errors_free(&errs);
}

static void test_config_errors(void **state)
{
    (void)state;
    static const char *const bad_listen[] = {
        "t.yaml:4: api: listen \"localhost:9880\": the host is not an IPv4 address; names are "
        "not resolved (127.0.0.1: this host only, 0.0.0.0: every interface) and IPv6 goes in "
        "brackets; e.g. 127.0.0.1:9880 or [::1]:9880"};
    expect_errors(INPUTS OUTPUTS "api:\n  listen: localhost:9880\n", bad_listen, 1);
    static const char *const bad_port[] = {
        "t.yaml:3: api: listen \"127.0.0.1:99999\": it must end in :PORT, a port from 1 to "
        "65535; e.g. 127.0.0.1:9880 or [::1]:9880"};
    expect_errors(INPUTS OUTPUTS "api: {listen: \"127.0.0.1:99999\"}\n", bad_port, 1);
    static const char *const bad_keys[] = {
        "t.yaml:3: unknown key 'port' in 'api' (valid keys: listen)",
        "t.yaml:4: 'output_down_after' must be a duration like 250ms, 10s, 5m or 1h"};
    expect_errors(INPUTS OUTPUTS "api: {port: 9880}\nhealth: {output_down_after: soon}\n", bad_keys,
                  2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_get),    cmocka_unit_test(test_request_incomplete),
        cmocka_unit_test(test_request_errors), cmocka_unit_test(test_listen),
        cmocka_unit_test(test_config_keys),    cmocka_unit_test(test_config_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
