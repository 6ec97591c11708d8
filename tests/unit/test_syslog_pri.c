/* test_syslog_pri.c - the syslog output's PRI and header, from the event's
 * fields, over a real UDP socket on loopback.
 *
 * No input sets log.level or log.syslog.* yet (parsers will), so the
 * integration tests with rsyslog only see the stream rule; here the output
 * is created from a config like wharf does, events carrying those fields are
 * written to it, and the datagrams a socket of the test receives are read. */
#include "wharf/common.h"
#include "wharf/config.h"
#include "wharf/log.h"
#include "wharf/output.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
/* cmocka.h needs the headers above. */
#include <cmocka.h>

typedef struct fixture {
    int sock;
    wharf_config_t *cfg;
    wharf_output_t *out;
} fixture_t;

static int setup(void **state)
{
    static fixture_t f;
    f.sock = socket(AF_INET, SOCK_DGRAM, 0);
    assert_true(f.sock >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(f.sock, (struct sockaddr *)&a, sizeof(a)), 0);
    socklen_t alen = sizeof(a);
    assert_int_equal(getsockname(f.sock, (struct sockaddr *)&a, &alen), 0);
    struct timeval tv = {5, 0};
    setsockopt(f.sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));

    char yaml[512];
    snprintf(yaml, sizeof(yaml),
             "data_dir: ./data\n"
             "inputs: [{type: docker, id: d, root: /nonexistent}]\n"
             "outputs:\n"
             "  - {type: syslog, id: s, address: \"udp://127.0.0.1:%u\", payload: message,\n"
             "     app_name: \"${container.name:-wharf}\"}\n",
             ntohs(a.sin_port));
    wharf_conf_errors_t errs = {0};
    int rc = wharf_config_load_string("t.yaml", yaml, strlen(yaml), &f.cfg, &errs);
    if (rc != 0)
        fail_msg("config: %s", errs.n ? errs.msgs[0] : "?");
    const wharf_conf_section_t *sec = &f.cfg->outputs[0];
    assert_int_equal(wharf_output_type_find("syslog")->create(sec, &f.out), 0);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    f->out->ops->destroy(f->out);
    wharf_config_free(f->cfg);
    close(f->sock);
    return 0;
}

/* Sends one event and returns the datagram that arrived. */
static const char *send_event(fixture_t *f, const char *event)
{
    static char got[4096];
    char line[1024];
    int n = snprintf(line, sizeof(line), "%s\n", event);
    assert_int_equal(f->out->ops->write(f->out, line, (size_t)n), n);
    ssize_t r = recv(f->sock, got, sizeof(got) - 1, 0);
    if (r < 0)
        fail_msg("no datagram for %s", event);
    got[r] = '\0';
    return got;
}

static void expect_pri(fixture_t *f, const char *fields, const char *want_pri)
{
    char event[1024];
    snprintf(event, sizeof(event),
             "{\"@timestamp\":\"2024-05-01T10:00:00.123456789Z\",\"host\":{\"name\":\"n1\"},%s,"
             "\"message\":\"hi\"}",
             fields);
    const char *got = send_event(f, event);
    if (strncmp(got, want_pri, strlen(want_pri)) != 0 || got[strlen(want_pri)] != '1')
        fail_msg("%s: got \"%s\", want PRI %s", fields, got, want_pri);
}

static void test_pri_rules(void **state)
{
    fixture_t *f = *state;
    /* the stream, when nothing else says: stdout info, stderr warning */
    expect_pri(f, "\"stream\":\"stdout\"", "<14>");
    expect_pri(f, "\"stream\":\"stderr\"", "<12>");
    /* a level a parser set wins over the stream, in any case, with aliases */
    expect_pri(f, "\"log\":{\"level\":\"ERROR\"},\"stream\":\"stdout\"", "<11>");
    expect_pri(f, "\"log\":{\"level\":\"warn\"},\"stream\":\"stdout\"", "<12>");
    expect_pri(f, "\"log\":{\"level\":\"fatal\"},\"stream\":\"stdout\"", "<10>");
    expect_pri(f, "\"log\":{\"level\":\"trace\"},\"stream\":\"stderr\"", "<15>");
    expect_pri(f, "\"log\":{\"level\":\"notice\"}", "<13>");
    /* an unknown level falls back to the stream */
    expect_pri(f, "\"log\":{\"level\":\"loud\"},\"stream\":\"stderr\"", "<12>");
    /* log.syslog.* (a syslog line parsed) wins over both */
    expect_pri(f,
               "\"log\":{\"level\":\"info\",\"syslog\":{\"facility\":{\"code\":16},"
               "\"severity\":{\"code\":2}}},\"stream\":\"stdout\"",
               "<130>");
    expect_pri(f, "\"log\":{\"syslog\":{\"facility\":{\"code\":4}},\"level\":\"error\"}", "<35>");
    /* out of range codes are ignored */
    expect_pri(f,
               "\"log\":{\"syslog\":{\"facility\":{\"code\":24},\"severity\":{\"code\":8}}},"
               "\"stream\":\"stderr\"",
               "<12>");
    /* nothing at all: user.info */
    expect_pri(f, "\"container\":{\"name\":\"x\"}", "<14>");
}

static void test_header_fields(void **state)
{
    fixture_t *f = *state;
    const char *got = send_event(
        f, "{\"@timestamp\":\"2024-05-01T10:00:00.123456789Z\",\"host\":{\"name\":\"node 1\"},"
           "\"container\":{\"name\":\"web\",\"id\":\"abc\"},\"process\":{\"pid\":42},"
           "\"stream\":\"stdout\",\"message\":\"GET /a \\\"q\\\"\"}");
    assert_string_equal(got, "<14>1 2024-05-01T10:00:00.123456Z node_1 web 42 - "
                             "[wharf@32473 container.id=\"abc\" container.name=\"web\"] "
                             "GET /a \"q\"");
}

int main(void)
{
    wharf_log_set_level(WHARF_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pri_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_header_fields, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
