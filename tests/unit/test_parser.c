/* test_parser.c - grok expansion and the base library, log timestamps, and
 * parser files end to end on events: kv and json rules, types, routing,
 * chains (and that they end), errors with their lines. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "wharf/arena.h"
#include "wharf/common.h"
#include "wharf/grok.h"
#include "wharf/json.h"
#include "wharf/parser.h"
#include "wharf/timefmt.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pcre2.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
/* cmocka.h needs the headers above. */
#include <cmocka.h>

/* ---- grok ------------------------------------------------------------------ */

/* 1 when the base pattern `name` matches the whole of text. */
static int grok_full_match(const char *name, const char *text)
{
    char expr[64], err[256];
    snprintf(expr, sizeof(expr), "^%%{%s}$", name);
    wharf_grok_t g;
    assert_int_equal(wharf_grok_expand(expr, NULL, &g, err, sizeof(err)), 0);
    int code;
    PCRE2_SIZE off;
    pcre2_code *re =
        pcre2_compile((PCRE2_SPTR)g.regex.data, PCRE2_ZERO_TERMINATED, 0, &code, &off, NULL);
    if (re == NULL)
        fail_msg("%s does not compile at %zu: %s", name, (size_t)off, g.regex.data);
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    int rc = pcre2_match(re, (PCRE2_SPTR)text, strlen(text), 0, 0, md, NULL);
    pcre2_match_data_free(md);
    pcre2_code_free(re);
    wharf_grok_free(&g);
    return rc >= 0;
}

static void test_grok_base_library(void **state)
{
    (void)state;
    assert_true(grok_full_match("IPV4", "203.0.113.9"));
    assert_false(grok_full_match("IPV4", "256.1.1.1"));
    assert_false(grok_full_match("IPV4", "1.2.3"));
    assert_true(grok_full_match("IPV6", "2001:db8::8a2e:370:7334"));
    assert_true(grok_full_match("IPV6", "fe80::1%eth0"));
    assert_true(grok_full_match("IPV6", "::1"));
    assert_true(grok_full_match("IPV6", "::ffff:192.0.2.1"));
    assert_false(grok_full_match("IPV6", "10:00:00"));
    assert_true(grok_full_match("IP", "10.0.0.1"));
    assert_true(grok_full_match("HOSTNAME", "node-1.example.com"));
    assert_true(grok_full_match("SYSLOGTIMESTAMP", "Dec 10 06:55:46"));
    assert_true(grok_full_match("SYSLOGTIMESTAMP", "Jan  5 06:55:46"));
    assert_true(grok_full_match("HTTPDATE", "10/Oct/2000:13:55:36 -0700"));
    assert_true(grok_full_match("TIMESTAMP_ISO8601", "2024-01-02T03:04:05.123Z"));
    assert_true(grok_full_match("TIMESTAMP_ISO8601", "2024-01-02 03:04:05,123"));
    assert_true(grok_full_match("UUID", "123e4567-e89b-12d3-a456-426614174000"));
    assert_true(grok_full_match("URIPATHPARAM", "/api/v1/items?id=3&x=%20"));
    assert_true(grok_full_match("URI", "https://user@example.com:8443/a/b?c=d"));
    assert_true(grok_full_match("QUOTEDSTRING", "\"a \\\"b\\\" c\""));
    assert_true(grok_full_match("LOGLEVEL", "WARNING"));
    assert_true(grok_full_match("NUMBER", "-1.5"));
    assert_false(grok_full_match("POSINT", "0"));
    /* every base pattern expands and compiles */
    for (const char *const *n = wharf_grok_base_names(); *n != NULL; n++)
        grok_full_match(*n, "");
}

static void test_grok_captures_and_errors(void **state)
{
    (void)state;
    char err[256];
    wharf_grok_t g;
    assert_int_equal(wharf_grok_expand("%{IP:source.ip} %{INT:source.port:long} %{WORD}", NULL, &g,
                                       err, sizeof(err)),
                     0);
    assert_int_equal(g.n_caps, 2);
    assert_string_equal(g.caps[0].field, "source.ip");
    assert_null(g.caps[0].type);
    assert_string_equal(g.caps[1].field, "source.port");
    assert_string_equal(g.caps[1].type, "long");
    assert_non_null(strstr(g.regex.data, "(?<g1>"));
    assert_non_null(strstr(g.regex.data, "(?<g2>"));
    wharf_grok_free(&g);

    assert_int_equal(wharf_grok_expand("%{NOPE:x}", NULL, &g, err, sizeof(err)), WHARF_EPARSE);
    assert_non_null(strstr(err, "unknown grok pattern %{NOPE}"));
    assert_int_equal(wharf_grok_expand("%{IP", NULL, &g, err, sizeof(err)), WHARF_EPARSE);
    assert_non_null(strstr(err, "unterminated"));
    assert_int_equal(wharf_grok_expand("%{IP:}", NULL, &g, err, sizeof(err)), WHARF_EPARSE);
    /* a file's own pattern, and one that refers to itself */
    const char *names[] = {"METHOD", "LOOP"}, *regexes[] = {"GET|POST", "a%{LOOP}"};
    wharf_grok_defs_t defs = {names, regexes, 2};
    assert_int_equal(wharf_grok_expand("%{METHOD:m}", &defs, &g, err, sizeof(err)), 0);
    assert_string_equal(g.regex.data, "(?<g1>GET|POST)");
    wharf_grok_free(&g);
    assert_int_equal(wharf_grok_expand("%{LOOP}", &defs, &g, err, sizeof(err)), WHARF_EPARSE);
    assert_non_null(strstr(err, "nested more than 16 deep"));
}

/* ---- timestamps --------------------------------------------------------------- */

static int64_t at(const char *rfc3339)
{
    int64_t ns;
    assert_int_equal(wharf_time_parse(rfc3339, strlen(rfc3339), &ns), 0);
    return ns;
}

static int64_t log_time(const char *s, const char *format, int64_t now)
{
    int64_t ns = 0;
    if (wharf_time_parse_log(s, strlen(s), format, NULL, now, &ns) < 0)
        fail_msg("'%s' did not parse", s);
    return ns;
}

static void test_log_timestamps(void **state)
{
    (void)state;
    int64_t now = at("2026-11-23T10:00:00Z");
    assert_true(log_time("2024-01-02T03:04:05.5Z", NULL, now) == at("2024-01-02T03:04:05.5Z"));
    assert_true(log_time("2024-01-02 03:04:05,250", NULL, now) == at("2024-01-02T03:04:05.25Z"));
    assert_true(log_time("2024-01-02T03:04:05+02:00", NULL, now) == at("2024-01-02T01:04:05Z"));
    /* ISO 8601's basic offsets (Elasticsearch's JSON logs, log4j) */
    assert_true(log_time("2019-01-18T08:55:08,159+0100", NULL, now) ==
                at("2019-01-18T07:55:08.159Z"));
    assert_true(log_time("1986-04-26T01:23:45.101+0400", NULL, now) ==
                at("1986-04-25T21:23:45.101Z"));
    assert_true(log_time("2024-01-02 03:04:05-0530", NULL, now) == at("2024-01-02T08:34:05Z"));
    assert_true(log_time("2024-01-02T03:04:05+02", NULL, now) == at("2024-01-02T01:04:05Z"));
    assert_true(log_time("10/Oct/2000:13:55:36 -0700", NULL, now) == at("2000-10-10T20:55:36Z"));
    assert_true(log_time("Dec 10 06:55:46", NULL, now) == at("2026-12-10T06:55:46Z"));
    assert_true(log_time("Jun  1 00:00:01.5", NULL, now) == at("2026-06-01T00:00:01.5Z"));
    /* no year: the one nearest to now, across New Year both ways */
    assert_true(log_time("Dec 31 23:59:59", NULL, at("2027-01-01T00:10:00Z")) ==
                at("2026-12-31T23:59:59Z"));
    assert_true(log_time("Jan  1 00:00:01", NULL, at("2026-12-31T23:50:00Z")) ==
                at("2027-01-01T00:00:01Z"));
    /* a day the month lacks is no time (regression: Feb 30 became Mar 2);
     * Feb 29 without a year: the nearest leap year */
    assert_true(log_time("Feb 29 12:00:00", NULL, now) == at("2028-02-29T12:00:00Z"));
    assert_true(log_time("Feb 29 12:00:00", NULL, at("2025-01-10T00:00:00Z")) ==
                at("2024-02-29T12:00:00Z"));
    static const char *const no_day[][2] = {{"Feb 30 12:00:00", NULL},
                                            {"Apr 31 12:00:00", NULL},
                                            {"31/Feb/2024:13:55:36 -0700", NULL},
                                            {"29/Feb/2023:13:55:36 -0700", NULL},
                                            {"31/06/2024", "%d/%m/%Y"},
                                            {"12:00:01.", "%H:%M:%S.%f"},
                                            {"12:00:01.1234567890", "%H:%M:%S.%f"}};
    for (size_t i = 0; i < sizeof(no_day) / sizeof(no_day[0]); i++) {
        int64_t got;
        if (wharf_time_parse_log(no_day[i][0], strlen(no_day[i][0]), no_day[i][1], NULL, now,
                                 &got) >= 0)
            fail_msg("'%s' parsed as %lld", no_day[i][0], (long long)got);
    }
    assert_true(log_time("29/Feb/2024:13:55:36 +0000", NULL, now) == at("2024-02-29T13:55:36Z"));
    assert_true(log_time("1700000000.25", NULL, now) == INT64_C(1700000000250000000));
    /* whole epoch milli-, micro-, nanoseconds by their digits */
    assert_true(log_time("1546896321871", NULL, now) == at("2019-01-07T21:25:21.871Z"));
    assert_true(log_time("1546896321871002", NULL, now) == at("2019-01-07T21:25:21.871002Z"));
    assert_true(log_time("1546896321871002003", NULL, now) == at("2019-01-07T21:25:21.871002003Z"));
    assert_true(log_time("23/11/2026 10:11:12 +0100", "%d/%m/%Y %H:%M:%S %z", now) ==
                at("2026-11-23T09:11:12Z"));
    /* %f: a second's fraction, 1 to 9 digits */
    assert_true(log_time("Mon Dec 26 16:15:55.103522 2016", "%a %b %d %H:%M:%S.%f %Y", now) ==
                at("2016-12-26T16:15:55.103522Z"));
    assert_true(log_time("12:00:01.5", "%H:%M:%S.%f", now) ==
                log_time("12:00:01", "%H:%M:%S", now) + 500000000);
    assert_true(log_time("250 2024-01-02", "%f %Y-%m-%d", now) == at("2024-01-02T00:00:00.25Z"));
    int64_t ns;
    assert_true(wharf_time_parse_log("yesterday", 9, NULL, NULL, now, &ns) < 0);
    assert_true(wharf_time_parse_log("Foo 10 06:55:46", 15, NULL, NULL, now, &ns) < 0);
    assert_true(wharf_time_parse_log("2024-13-01T00:00:00Z", 20, NULL, NULL, now, &ns) < 0);
    assert_true(wharf_time_parse_log("12/12", 5, "%d/%m/%Y", NULL, now, &ns) < 0);
    static const char *const bad_zones[] = {
        "2024-01-02T03:04:05+010",  "2024-01-02T03:04:05+1",    "2024-01-02T03:04:05 +0100",
        "2024-01-02T03:04:05+2400", "2024-01-02T03:04:05+01:0", "2024-01-02T03:04:05+01000"};
    for (size_t i = 0; i < sizeof(bad_zones) / sizeof(bad_zones[0]); i++)
        if (wharf_time_parse_log(bad_zones[i], strlen(bad_zones[i]), NULL, NULL, now, &ns) >= 0)
            fail_msg("'%s' parsed as %lld", bad_zones[i], (long long)ns);
    /* regression (fuzz_parsers): times past 2262 overflowed the nanoseconds */
    static const char *const far[][2] = {
        {"16109653053.86", NULL},      {"10/Oct/9999:13:55:36 -0700", NULL},
        {"9999-01-01 00:00:00", NULL}, {"01/01/3000", "%d/%m/%Y"},
        {"1546896321871.5", NULL},     {"15468963218710", NULL},
        {"9999999999999999999", NULL}, {"12345678901234567890", NULL}};
    for (size_t i = 0; i < sizeof(far) / sizeof(far[0]); i++)
        if (wharf_time_parse_log(far[i][0], strlen(far[i][0]), far[i][1], NULL, now, &ns) >= 0)
            fail_msg("'%s' parsed as %lld", far[i][0], (long long)ns);
    assert_true(log_time("9223372035.5", NULL, now) == INT64_C(9223372035500000000));
    /* the calendar arithmetic agrees with timegm over two centuries, with a
     * format and for HTTPDATE (leap days, month ends, negative times) */
    static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    for (int64_t t = INT64_C(-2208988800); t < INT64_C(4102444800); t += 86400 * 13 + 3607) {
        time_t tt = (time_t)t;
        struct tm tm;
        gmtime_r(&tt, &tm);
        char a[64], b[64];
        strftime(a, sizeof(a), "%Y-%m-%d %H:%M:%S", &tm);
        snprintf(b, sizeof(b), "%02d/%s/%04d:%02d:%02d:%02d +0000", tm.tm_mday, mon[tm.tm_mon],
                 tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
        if (log_time(a, "%Y-%m-%d %H:%M:%S", now) != t * INT64_C(1000000000) ||
            log_time(b, NULL, now) != t * INT64_C(1000000000))
            fail_msg("%s / %s: not %lld", a, b, (long long)t);
    }
}

/* ---- parser files on events ------------------------------------------------------ */

typedef struct fixture {
    char dir[64];
    wharf_parsers_t *ps;
    wharf_arena_t arena;
    wharf_event_t e;
    wharf_buf_t json;
} fixture_t;

static void write_file(fixture_t *f, const char *name, const char *text)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/%s", f->dir, name);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static int load(fixture_t *f, wharf_conf_errors_t *errs)
{
    const char *paths[] = {f->dir};
    return wharf_parsers_load(paths, 1, &f->ps, errs);
}

/* Loads the fixture's parser files, which must load without errors. */
static void load_ok(fixture_t *f)
{
    wharf_conf_errors_t errs = {0};
    if (load(f, &errs) != 0)
        fail_msg("load: %s", errs.n ? errs.msgs[0] : "?");
    wharf_conf_errors_free(&errs);
}

static void fx_init(fixture_t *f)
{
    memset(f, 0, sizeof(*f));
    strcpy(f->dir, "/tmp/wharf-test-parser-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    wharf_arena_init(&f->arena, 4096);
    wharf_buf_init(&f->json);
}

static void fx_free(fixture_t *f)
{
    char cmd[128];
    wharf_parsers_free(f->ps);
    wharf_arena_free(&f->arena);
    wharf_buf_free(&f->json);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
}

/* Parses msg with the fields k=v (NULL-terminated pairs); returns the event's JSON. */
/* f's event, fresh, with message msg. */
static wharf_event_t *event_begin(fixture_t *f, const char *msg)
{
    wharf_arena_reset(&f->arena);
    wharf_event_clear(&f->e);
    f->e.arena = &f->arena;
    wharf_event_set_cstr(&f->e, WHARF_F_MESSAGE, msg);
    return &f->e;
}

/* Runs the parsers on f's event; its JSON. */
static const char *event_parse(fixture_t *f)
{
    wharf_parsers_apply(f->ps, &f->e);
    wharf_json_writer_t w;
    wharf_json_writer_init(&w);
    f->json.len = 0;
    wharf_json_write_event(&w, &f->e, &f->json);
    wharf_buf_putc(&f->json, '\0');
    return f->json.data;
}

/* The JSON of message msg with the string fields of the (path, value)
 * pairs that follow, NULL-terminated, after the parsers ran. */
static const char *parse(fixture_t *f, const char *msg, ...)
{
    wharf_event_t *e = event_begin(f, msg);
    va_list ap;
    va_start(ap, msg);
    const char *k;
    while ((k = va_arg(ap, const char *)) != NULL) {
        const char *v = va_arg(ap, const char *);
        wharf_event_set_path(e, k, strlen(k), WHARF_V_STR)->u.str = (wharf_str_t){v, strlen(v)};
    }
    va_end(ap);
    return event_parse(f);
}

/* Of the parsers named by the characters of names, whose rules set x.<name>:
 * y, exactly those in want ran for event i (output out). */
static void expect_ran(size_t i, const char *out, const char *names, const char *want)
{
    for (const char *c = names; *c; c++) {
        char key[16];
        snprintf(key, sizeof(key), "\"%c\":\"y\"", *c);
        if ((strstr(out, key) != NULL) != (strchr(want, *c) != NULL))
            fail_msg("event %zu: parser %c %s; got %s", i, *c,
                     strchr(want, *c) ? "should run" : "should not run", out);
    }
}

/* Exactly n errors, error i starting with want[i]. */
static void expect_error_prefixes(const wharf_conf_errors_t *errs, char want[][160], size_t n)
{
    assert_int_equal(errs->n, n);
    for (size_t i = 0; i < n; i++)
        if (strncmp(errs->msgs[i], want[i], strlen(want[i])) != 0)
            fail_msg("error %zu: got '%s', want prefix '%s'", i, errs->msgs[i], want[i]);
}

#define ERR_LEN 512

/* Loading f's files fails with exactly the errors want, each written
 * without the "DIR/" of f's directory it starts with. */
static void expect_load_errors(fixture_t *f, const char *const *want, size_t n)
{
    wharf_conf_errors_t errs = {0};
    assert_int_equal(load(f, &errs), WHARF_EINVAL_CONFIG);
    for (size_t i = 0; i < errs.n && i < n; i++) {
        char full[ERR_LEN];
        snprintf(full, sizeof(full), "%s/%s", f->dir, want[i]);
        if (strcmp(errs.msgs[i], full) != 0)
            fail_msg("error %zu: got '%s', want '%s'", i, errs.msgs[i], full);
    }
    if (errs.n != n)
        fail_msg("%zu errors, want %zu (first: %s)", errs.n, n, errs.n ? errs.msgs[0] : "-");
    wharf_conf_errors_free(&errs);
}

static const char sample_tail[] = "samples:\n  - message: x\n    expect: {message: x}\n";

/* Writes a parser file: head, then a sample that only expects the message. */
static void write_parser(fixture_t *f, const char *name, const char *head)
{
    char text[8192];
    snprintf(text, sizeof(text), "%s%s", head, sample_tail);
    write_file(f, name, text);
}

/* inet_pton's answer for an address with an optional %zone. */
static int ip_reference(const char *s)
{
    char buf[64];
    unsigned char addr[16];
    snprintf(buf, sizeof(buf), "%s", s);
    char *zone = strchr(buf, '%');
    if (zone != NULL)
        *zone = '\0';
    if (zone != NULL && strchr(buf, ':') == NULL) /* zones are IPv6's */
        return 0;
    return buf[0] != '\0' && inet_pton(strchr(buf, ':') ? AF_INET6 : AF_INET, buf, addr) == 1;
}

/* type: ip accepts exactly what inet_pton does (IPv4 is checked inline):
 * listed edge cases, then random strings of digits, dots and colons. */
static void test_type_ip_as_inet_pton(void **state)
{
    (void)state;
    fixture_t f;
    fx_init(&f);
    write_parser(&f, "ip.yaml",
                 "name: ip\n"
                 "rules:\n"
                 "  - id: all\n"
                 "    regex: '^(?<ip>.*)$'\n"
                 "    fields: {source.ip: {from: ip, type: ip}}\n");
    load_ok(&f);
    static const char *const listed[] = {"1.2.3.4",
                                         "0.0.0.0",
                                         "255.255.255.255",
                                         "256.1.1.1",
                                         "1.2.3",
                                         "1.2.3.4.5",
                                         "01.2.3.4",
                                         "1.2.3.04",
                                         "1.2.3.0",
                                         "1..2.3",
                                         ".1.2.3",
                                         "1.2.3.",
                                         "1.2.3.4 ",
                                         "1.2.3.-4",
                                         "1234.1.1.1",
                                         "1.2.3.4%eth0",
                                         "fe80::1%eth0",
                                         "::1",
                                         "::ffff:1.2.3.4",
                                         "1.2.3.4:80",
                                         "x1.2.3.4",
                                         "999.999.999.999",
                                         "0.0.0.00",
                                         "1.2.3.4%",
                                         "%eth0"};
    char msg[64];
    for (size_t i = 0; i < sizeof(listed) / sizeof(listed[0]) + 20000; i++) {
        if (i < sizeof(listed) / sizeof(listed[0])) {
            snprintf(msg, sizeof(msg), "%s", listed[i]);
        } else {
            static const char alphabet[] = "0123456789..:%12";
            size_t n = 1 + (size_t)rand() % 16;
            for (size_t j = 0; j < n; j++)
                msg[j] = alphabet[(size_t)rand() % (sizeof(alphabet) - 1)];
            msg[n] = '\0';
        }
        const char *out = parse(&f, msg, "process.name", "x", NULL);
        int got = strstr(out, "\"source\":{\"ip\":") != NULL;
        if (got != ip_reference(msg))
            fail_msg("type ip on '%s': %s, inet_pton says %s", msg, got ? "valid" : "invalid",
                     got ? "invalid" : "valid");
    }
    fx_free(&f);
}

/* Numbers out of a type's range or not written as numbers are no value
 * (regression: long wrapped around, double took "nan", "inf", hex and
 * leading spaces and wrote null); doubles are written in their shortest
 * form that reads back the same. */
static void test_type_number_edges(void **state)
{
    (void)state;
    fixture_t f;
    fx_init(&f);
    write_parser(&f, "n.yaml",
                 "name: n\n"
                 "rules:\n"
                 "  - id: all\n"
                 "    regex: '^(?<v>.*)$'\n"
                 "    fields: {x.l: {from: v, type: long}, x.d: {from: v, type: double}}\n");
    load_ok(&f);
    static const char *const cases[][3] = {
        /* input, long, double */
        {"9223372036854775807", "9223372036854775807", "9.223372036854776e+18"},
        {"-9223372036854775808", "-9223372036854775808", "-9.223372036854776e+18"},
        {"9223372036854775808", NULL, "9.223372036854776e+18"},
        {"-9223372036854775809", NULL, "-9.223372036854776e+18"},
        {"9999999999999999999", NULL, "1e+19"},
        {"19.99", NULL, "19.99"},
        {"1710404142.551", NULL, "1710404142.551"},
        {"0.1", NULL, "0.1"},
        {"-0", "0", "-0"},
        {"1e3", NULL, "1000"},
        {"nan", NULL, NULL},
        {"inf", NULL, NULL},
        {"-infinity", NULL, NULL},
        {"0x1A", NULL, NULL},
        {" 5", NULL, NULL},
        {"1e999", NULL, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *out = parse(&f, cases[i][0], NULL);
        for (int t = 0; t < 2; t++) {
            char want[64];
            snprintf(want, sizeof(want), "\"%s\":%s", t == 0 ? "l" : "d",
                     cases[i][1 + t] ? cases[i][1 + t] : "");
            const char *at = strstr(out, want);
            int ok = cases[i][1 + t]
                         ? at != NULL && (at[strlen(want)] == ',' || at[strlen(want)] == '}')
                         : strstr(out, t == 0 ? "\"l\":" : "\"d\":") == NULL;
            if (!ok)
                fail_msg("'%s' as %s: want %s in %s", cases[i][0], t == 0 ? "long" : "double",
                         cases[i][1 + t] ? cases[i][1 + t] : "no value", out);
        }
    }
    fx_free(&f);
}

/* from: [a, b] takes the first reference whose text converts: a time
 * in a form the type does not read falls through to the next name
 * (regression: the field was left unset), and so does a text no map
 * entry takes. */
static void test_first_of_converts(void **state)
{
    (void)state;
    fixture_t f;
    fx_init(&f);
    write_parser(&f, "j.yaml",
                 "name: j\n"
                 "rules:\n"
                 "  - id: json\n"
                 "    json: {}\n"
                 "    fields:\n"
                 "      \"@timestamp\": {from: [time, ts], type: timestamp}\n"
                 "      x.n: {from: [a, b], type: long}\n"
                 "      event.outcome: {from: [r, s], map: {ok: success, bad: failure}}\n");
    load_ok(&f);
    const char *out = parse(&f,
                            "{\"time\":\"Mar 14 2024 08:15:42\",\"ts\":1710404142.5,"
                            "\"a\":\"x\",\"b\":\"7\",\"r\":\"meh\",\"s\":\"bad\"}",
                            NULL);
    assert_non_null(strstr(out, "\"@timestamp\":\"2024-03-14T08:15:42.500000000Z\""));
    assert_non_null(strstr(out, "\"n\":7"));
    assert_non_null(strstr(out, "\"outcome\":\"failure\""));
    out = parse(&f, "{\"time\":\"?\",\"a\":\"x\",\"r\":\"meh\"}", NULL);
    assert_null(strstr(out, "\"@timestamp\""));
    assert_null(strstr(out, "\"n\":"));
    assert_null(strstr(out, "\"outcome\""));
    fx_free(&f);
}

static void test_kv_and_types(void **state)
{
    (void)state;
    fixture_t f;
    fx_init(&f);
    write_parser(&f, "fw.yaml",
                 "name: fw\n"
                 "when: [{process.name: kernel}]\n"
                 "rules:\n"
                 "  - id: log\n"
                 "    kv: {rest: iptables}\n"
                 "    fields:\n"
                 "      source.ip: {from: SRC, type: ip}\n"
                 "      destination.port: {from: DPT, type: long}\n"
                 "      network.transport: \"{PROTO}\"\n"
                 "      x.ok: {from: OK, type: bool}\n"
                 "      x.ratio: {from: R, type: double}\n"
                 "    set: {event.category: [network], event.type: [denied]}\n");
    load_ok(&f);
    assert_string_equal(parse(&f,
                              "IN=eth0 SRC=10.1.2.3 DPT=443 PROTO=TCP OK=yes R=0.5 "
                              "MSG=\"a b\" LEN=60 FLAG",
                              "process.name", "kernel", NULL),
                        "{\"destination\":{\"port\":443},\"event\":{\"category\":[\"network\"],"
                        "\"type\":[\"denied\"]},\"iptables\":{\"IN\":\"eth0\",\"MSG\":\"a b\","
                        "\"LEN\":\"60\"},\"message\":\"IN=eth0 SRC=10.1.2.3 DPT=443 PROTO=TCP "
                        "OK=yes R=0.5 MSG=\\\"a b\\\" LEN=60 FLAG\",\"network\":{\"transport\":"
                        "\"TCP\"},\"process\":{\"name\":\"kernel\"},\"related\":{\"ip\":["
                        "\"10.1.2.3\"]},\"source\":{\"ip\":\"10.1.2.3\"},\"x\":{\"ok\":true,"
                        "\"ratio\":0.5}}\n");
    /* an invalid ip and a non-number are not set; other processes are not parsed */
    const char *out = parse(&f, "SRC=10.1.2 DPT=http", "process.name", "kernel", NULL);
    assert_null(strstr(out, "\"source\""));
    assert_null(strstr(out, "\"destination\""));
    assert_non_null(strstr(out, "\"denied\""));
    out = parse(&f, "SRC=10.1.2.3", "process.name", "sshd", NULL);
    assert_null(strstr(out, "\"source\""));
    fx_free(&f);
}

/* related.ip and related.user: each source in ECS order, fixed fields and
 * dynamic ones alike, a value once. */
static void test_related_sources(void **state)
{
    (void)state;
    fixture_t f;
    fx_init(&f);
    write_parser(&f, "rel.yaml",
                 "name: rel\n"
                 "rules:\n"
                 "  - id: all\n"
                 "    kv: {}\n"
                 "    fields:\n"
                 "      host.ip: {from: H, type: ip}\n"
                 "      server.ip: {from: SV, type: ip}\n"
                 "      client.ip: {from: C, type: ip}\n"
                 "      destination.ip: {from: D, type: ip}\n"
                 "      source.ip: {from: S, type: ip}\n"
                 "      destination.user.name: \"{DU}\"\n"
                 "      source.user.name: \"{SU}\"\n"
                 "      user.target.name: \"{T}\"\n"
                 "      user.name: \"{U}\"\n"
                 "      user.effective.name: \"{E}\"\n");
    load_ok(&f);
    const char *out = parse(&f,
                            "H=10.0.0.5 SV=10.0.0.4 C=10.0.0.3 D=10.0.0.2 S=10.0.0.1 "
                            "DU=dora SU=sam T=root U=ann E=eff",
                            NULL);
    assert_non_null(strstr(out, "\"related\":{\"ip\":[\"10.0.0.1\",\"10.0.0.2\",\"10.0.0.3\","
                                "\"10.0.0.4\",\"10.0.0.5\"],\"user\":[\"ann\",\"root\",\"sam\","
                                "\"dora\",\"eff\"]}"));
    /* a value once, in the order of its first source */
    out = parse(&f, "S=10.0.0.1 H=10.0.0.1 C=10.0.0.9 U=ann DU=ann", NULL);
    assert_non_null(strstr(out, "\"related\":{\"ip\":[\"10.0.0.1\",\"10.0.0.9\"],"
                                "\"user\":[\"ann\"]}"));
    fx_free(&f);
}

/* A chained rule adds to related.* what it writes and keeps what the
 * rule before it put there; a rule that writes no user leaves
 * related.user alone. */
static void test_related_chained(void **state)
{
    (void)state;
    fixture_t f;
    fx_init(&f);
    write_parser(&f, "a.yaml",
                 "name: a\n"
                 "rules:\n"
                 "  - id: head\n"
                 "    regex: '^(?<ip>\\S+) (?<u>\\S+) (?<rest>.*)'\n"
                 "    fields: {source.ip: {from: ip, type: ip}, user.name: \"{u}\", message: "
                 "\"{rest}\"}\n"
                 "    set: {process.name: b}\n");
    write_parser(&f, "b.yaml",
                 "name: b\n"
                 "when:\n"
                 "  - process.name: b\n"
                 "rules:\n"
                 "  - id: users\n"
                 "    regex: '^to (?<t>\\S+) as (?<u>\\S+)$'\n"
                 "    fields: {user.target.name: \"{t}\", user.name: \"{u}\"}\n"
                 "  - id: host\n"
                 "    regex: '^on (?<h>\\S+)$'\n"
                 "    fields: {host.ip: {from: h, type: ip}}\n");
    load_ok(&f);
    const char *out = parse(&f, "10.0.0.1 ann to root as bob", NULL);
    assert_non_null(strstr(out, "\"related\":{\"ip\":[\"10.0.0.1\"],"
                                "\"user\":[\"ann\",\"bob\",\"root\"]}"));
    out = parse(&f, "10.0.0.1 ann on 10.0.0.7", NULL);
    assert_non_null(strstr(out, "\"related\":{\"ip\":[\"10.0.0.1\",\"10.0.0.7\"],"
                                "\"user\":[\"ann\"]}"));
    fx_free(&f);
}

static void test_json_rule(void **state)
{
    (void)state;
    fixture_t f;
    fx_init(&f);
    write_parser(&f, "app.yaml",
                 "name: app\n"
                 "rules:\n"
                 "  - id: json\n"
                 "    json: {rest: app}\n"
                 "    fields:\n"
                 "      log.level: \"{level}\"\n"
                 "      message: \"{msg}\"\n"
                 "      \"@timestamp\": {from: time, type: timestamp}\n"
                 "      user.name: \"{ctx.user}\"\n");
    load_ok(&f);
    const char *in = "{\"level\":\"warn\",\"msg\":\"disk \\\"full\\\"\",\"time\":"
                     "\"2026-11-23T10:00:00Z\",\"ctx\":{\"user\":\"ann\"},\"n\":[1,{\"a\":null}]}";
    const char *out = parse(&f, in, NULL);
    assert_non_null(strstr(out, "\"@timestamp\":\"2026-11-23T10:00:00.000000000Z\""));
    assert_non_null(strstr(out, "\"app\":{\"n\":[1,{\"a\":null}]}"));
    assert_non_null(strstr(out, "\"log\":{\"level\":\"warn\"}"));
    assert_non_null(strstr(out, "\"message\":\"disk \\\"full\\\"\""));
    assert_non_null(strstr(out, "\"related\":{\"user\":[\"ann\"]}"));
    assert_non_null(strstr(out, "\"user\":{\"name\":\"ann\"}"));
    /* the original line is kept when message is rewritten */
    assert_non_null(strstr(out, "\"original\":\"{\\\"level\\\""));
    /* containers under rest lose their whitespace; one with an invalid
     * escape inside becomes null, the rest of the event stays */
    out = parse(&f,
                "{\"msg\":\"m\", \"a\" : [ 1 , { \"b\" : \"\\u00e9\" } ], \"c\": {\"d\":\"\\x\"}}",
                NULL);
    assert_non_null(strstr(out, "\"app\":{\"a\":[1,{\"b\":\"\xc3\xa9\"}],\"c\":null}"));
    assert_non_null(strstr(out, "\"message\":\"m\""));
    /* more members than fit the match's own array: every one is read */
    wharf_buf_t big;
    wharf_buf_init(&big);
    wharf_buf_lit(&big, "{");
    for (int i = 0; i < 300; i++) {
        char member[32];
        snprintf(member, sizeof(member), "\"k%d\":%d,", i, i);
        wharf_buf_append(&big, member, strlen(member));
    }
    wharf_buf_lit(&big, "\"msg\":\"last\"}");
    wharf_buf_putc(&big, '\0');
    out = parse(&f, big.data, NULL);
    assert_non_null(strstr(out, "\"message\":\"last\""));
    assert_non_null(strstr(out, "\"k0\":0,"));
    assert_non_null(strstr(out, "\"k299\":299}"));
    wharf_buf_free(&big);
    /* not an object, or broken JSON: no match, message untouched */
    out = parse(&f, "plain text", NULL);
    assert_string_equal(out, "{\"message\":\"plain text\"}\n");
    out = parse(&f, "{\"level\":\"warn\"", NULL);
    assert_string_equal(out, "{\"message\":\"{\\\"level\\\":\\\"warn\\\"\"}\n");
    fx_free(&f);
}

/* A regex rule that splits one of its groups into key=value pairs: names
 * that are not groups are keys; unwrapped values, hex-decoded values,
 * values meaning "none", `from: [a, b]`, and rest without the keys fields
 * read. */
static void test_regex_with_kv(void **state)
{
    (void)state;
    fixture_t f;
    fx_init(&f);
    write_parser(&f, "rec.yaml",
                 "name: rec\n"
                 "rules:\n"
                 "  - id: r\n"
                 "    regex: '^type=(?<type>\\w+) (?<pairs>.*)$'\n"
                 "    kv: {group: pairs, unwrap: msg, hex: [exe], nulls: [\"?\"], rest: rec}\n"
                 "    fields:\n"
                 "      x.type: \"{type}\"\n"
                 "      user.id: \"{uid}\"\n"
                 "      process.executable: \"{exe}\"\n"
                 "      source.address: {from: [addr, src]}\n"
                 "      x.op: \"{op}\"\n");
    load_ok(&f);
    /* uid of the outer text wins over the one inside msg; exe is hex for
     * "/bin/a b"; addr=? is no value, so src gives the address */
    const char *out = parse(&f,
                            "type=LOGIN uid=0 msg='op=login uid=1004 exe=2F62696E2F612062 "
                            "addr=? res=ok' src=10.0.0.1 extra=\"q \\\" x\"",
                            NULL);
    assert_non_null(strstr(out, "\"process\":{\"executable\":\"/bin/a b\"}"));
    assert_non_null(strstr(out, "\"user\":{\"id\":\"0\"}"));
    assert_non_null(strstr(out, "\"x\":{\"op\":\"login\",\"type\":\"LOGIN\"}"));
    assert_non_null(strstr(out, "\"source\":{\"address\":\"10.0.0.1\"}"));
    assert_non_null(strstr(out, "\"rec\":{\"res\":\"ok\",\"extra\":\"q \\\" x\"}"));
    /* a quoted exe is taken as it is, not decoded */
    out = parse(&f, "type=X exe=\"2F62\"", NULL);
    assert_non_null(strstr(out, "\"executable\":\"2F62\""));
    /* addr wins over src when both have a value */
    out = parse(&f, "type=X addr=1.2.3.4 src=5.6.7.8", NULL);
    assert_non_null(strstr(out, "\"source\":{\"address\":\"1.2.3.4\"}"));
    fx_free(&f);
}

/* nulls leaves out exactly the listed values, the empty one included;
 * values that only start like one are kept. */
static void test_kv_nulls_list(void **state)
{
    (void)state;
    fixture_t f;
    fx_init(&f);
    write_parser(&f, "n.yaml",
                 "name: n\n"
                 "rules:\n"
                 "  - id: r\n"
                 "    kv: {nulls: [\"?\", \"(null)\", \"\"], rest: kv}\n");
    load_ok(&f);
    const char *out = parse(&f, "a=? b=(null) c= d=\"\" e=?x f=(nil) g=(null)x h=0", NULL);
    assert_non_null(
        strstr(out, "\"kv\":{\"e\":\"?x\",\"f\":\"(nil)\",\"g\":\"(null)x\",\"h\":\"0\"}"));
    fx_free(&f);
}

/* Each case {message, the start of the event's "kv" object}. */
static void expect_kv_objects(fixture_t *f, const char *const cases[][2], size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const char *out = parse(f, cases[i][0], NULL);
        const char *kv = strstr(out, "\"kv\":");
        if (kv == NULL || strncmp(kv + 5, cases[i][1], strlen(cases[i][1])) != 0)
            fail_msg("%s: want kv %s, got %s", cases[i][0], cases[i][1], out);
    }
}

/* A multiword key's unquoted value runs over spaces up to the next word
 * with '=' (the spaces before it are not part of it), also at the end of
 * the text and inside an unwrapped value; other keys' values stop at the
 * first space, and a quoted value of a multiword key stays as quoted. */
static void test_kv_multiword(void **state)
{
    (void)state;
    fixture_t f;
    fx_init(&f);
    write_parser(&f, "m.yaml",
                 "name: m\n"
                 "rules:\n"
                 "  - id: r\n"
                 "    kv: {multiword: [op], unwrap: [msg], rest: kv}\n");
    load_ok(&f);
    static const char *const cases[][2] = {
        {"op=adding group to /etc/group  id=1004 uid=0 old auid=7",
         "{\"op\":\"adding group to /etc/group\",\"id\":\"1004\",\"uid\":\"0\",\"auid\":\"7\"}"},
        {"pid=1 msg='op=adding user id=5' op=\"a b\" c",
         "{\"pid\":\"1\",\"id\":\"5\",\"op\":\"a b\"}"},
        {"pid=1 msg='op=adding user id=5'", "{\"pid\":\"1\",\"op\":\"adding user\",\"id\":\"5\"}"},
        {"x=1 op=remove  trailing words ", "{\"x\":\"1\",\"op\":\"remove  trailing words\"}"},
    };
    expect_kv_objects(&f, cases, sizeof(cases) / sizeof(cases[0]));
    fx_free(&f);
}

/* `parens`: "(a=1, b=2 c=3)" is read as its pairs, ',' and the closing ')'
 * dropped, in an unwrapped value too; a value or a word that merely starts
 * with '(' (tty=(none), "(deleted)") is not such a list, and after the ')'
 * a comma is part of a value again (res, which a field reads, is not kept
 * in rest). Without the option the text is split as before. */
static void test_kv_parens(void **state)
{
    (void)state;
    fixture_t f;
    fx_init(&f);
    write_parser(&f, "p.yaml",
                 "name: p\n"
                 "rules:\n"
                 "  - id: r\n"
                 "    kv: {parens: true, unwrap: [msg], nulls: [\"?\"], rest: kv}\n"
                 "    fields:\n"
                 "      event.outcome: {from: res, map: {success: success}}\n");
    load_ok(&f);
    static const char *const cases[][2] = {
        {"x=1 msg='PAM: acct=root : exe=\"/usr/sbin/crond\" (hostname=h.example, addr=?, "
         "terminal=cron res=success)'",
         "{\"x\":\"1\",\"acct\":\"root\",\"exe\":\"/usr/sbin/crond\",\"hostname\":\"h.example\","
         "\"terminal\":\"cron\"}"},
        {"tty=(none) exe=/bin/x (deleted) a=1,2 (b=\"q,r\", c=3) d=4,5",
         "{\"tty\":\"(none)\",\"exe\":\"/bin/x\",\"a\":\"1,2\",\"b\":\"q,r\",\"c\":\"3\","
         "\"d\":\"4,5\"}"},
        {"(a=1) (b", "{\"a\":\"1\"}"},
    };
    expect_kv_objects(&f, cases, sizeof(cases) / sizeof(cases[0]));
    assert_non_null(
        strstr(parse(&f, "msg='(addr=?, res=success)'", NULL), "\"outcome\":\"success\""));
    fx_free(&f);
    fx_init(&f);
    write_parser(&f, "q.yaml", "name: q\nrules:\n  - id: r\n    kv: {rest: kv}\n");
    load_ok(&f);
    const char *out = parse(&f, "(hostname=?, res=success)", NULL);
    assert_non_null(strstr(out, "\"kv\":{\"(hostname\":\"?,\",\"res\":\"success)\"}"));
    fx_free(&f);
}

/* logfmt reads a bare key as true (rest keeps a JSON true, a field reads
 * "true", a bool field true; a later key=value wins), but not a word with
 * a quote in it, nor a qualifier; text of bare words alone does not match;
 * kv leaves bare words out. */
static void test_logfmt_bare_keys(void **state)
{
    (void)state;
    fixture_t f;
    fx_init(&f);
    write_parser(
        &f, "l.yaml",
        "name: l\n"
        "rules:\n"
        "  - id: r\n"
        "    logfmt: {qualifiers: [old], rest: kv}\n"
        "    fields: {labels.cached: {from: cached, type: bool}, labels.dry: \"{dry}\"}\n");
    load_ok(&f);
    static const char *const cases[][2] = {
        {"a=1 verbose b=\"x y\" debug",
         "{\"a\":\"1\",\"verbose\":true,\"b\":\"x y\",\"debug\":true}"},
        {"a=1 a b=2 b", "{\"a\":true,\"b\":true}"},
        {"a \"word c=3 d\" old e=4", "{\"a\":true,\"c\":\"3\",\"old_e\":\"4\"}"},
    };
    expect_kv_objects(&f, cases, sizeof(cases) / sizeof(cases[0]));
    const char *out = parse(&f, "cached dry level=info", NULL);
    assert_non_null(strstr(out, "\"cached\":true"));
    assert_non_null(strstr(out, "\"dry\":\"true\""));
    assert_non_null(strstr(out, "\"kv\":{\"level\":\"info\"}"));
    /* words alone are no logfmt: the rule does not match */
    out = parse(&f, "Starting up", NULL);
    assert_null(strstr(out, "\"kv\""));
    assert_null(strstr(out, "\"labels\""));
    fx_free(&f);
    fx_init(&f);
    write_parser(&f, "k.yaml", "name: k\nrules:\n  - id: r\n    kv: {rest: kv}\n");
    load_ok(&f);
    assert_non_null(strstr(parse(&f, "a=1 verbose b=2", NULL), "\"kv\":{\"a\":\"1\",\"b\":\"2\"}"));
    fx_free(&f);
}

/* A qualifier joins the key one separator after it with '_' (a field reads
 * the joined key, rest keeps it); it does not join across two separators,
 * across another word or inside a value; a word that is no qualifier stays
 * dropped; when the match has no room left for joined keys, a key stays
 * plain, and the next match has the room again. */
static void test_kv_qualifiers(void **state)
{
    (void)state;
    fixture_t f;
    fx_init(&f);
    write_parser(&f, "q.yaml",
                 "name: q\n"
                 "rules:\n"
                 "  - id: r\n"
                 "    kv: {qualifiers: [old, new], unwrap: [msg], rest: kv}\n"
                 "    fields:\n"
                 "      user.audit.id: \"{new_auid}\"\n");
    load_ok(&f);
    static const char *const cases[][2] = {
        {"uid=0 old auid=7 new auid=8 old ses=1 new ses=2",
         "{\"uid\":\"0\",\"old_auid\":\"7\",\"old_ses\":\"1\",\"new_ses\":\"2\"}"},
        {"old  auid=7 old x auid=8 older ses=3 a=old b=1",
         "{\"auid\":\"8\",\"ses\":\"3\",\"a\":\"old\",\"b\":\"1\"}"},
        {"x=1 msg='old ses=5' new", "{\"x\":\"1\",\"old_ses\":\"5\"}"},
    };
    expect_kv_objects(&f, cases, sizeof(cases) / sizeof(cases[0]));
    assert_non_null(strstr(parse(&f, "new auid=8", NULL), "\"audit\":{\"id\":\"8\"}"));
    /* "old_keyNN" is 9 bytes: 28 of them fit in KV_JOINED_MAX (256) */
    char line[4096];
    size_t n = 0;
    for (int i = 0; i < 40; i++)
        n += (size_t)snprintf(line + n, sizeof(line) - n, "old key%02d=%d ", i, i);
    const char *out = parse(&f, line, NULL);
    assert_non_null(strstr(out, "\"old_key00\":\"0\""));
    assert_non_null(strstr(out, "\"old_key27\":\"27\""));
    assert_non_null(strstr(out, "\"key28\":\"28\""));
    assert_non_null(strstr(out, "\"key39\":\"39\""));
    assert_null(strstr(out, "old_key28"));
    assert_non_null(strstr(parse(&f, "old key39=1", NULL), "\"old_key39\":\"1\""));
    fx_free(&f);
}

/* `from: a#` lists a0, a1 ... by their numbers, up to the first one
 * missing, an outer key winning over an unwrapped one; rest leaves the
 * numbered keys out; "a#" in hex decodes only keys of that form (not
 * arch=, a01=, a=); `split` lists the pieces of a text between any of its
 * characters, empty ones left out. */
static void test_numbered_and_split_lists(void **state)
{
    (void)state;
    fixture_t f;
    fx_init(&f);
    write_parser(&f, "l.yaml",
                 "name: l\n"
                 "rules:\n"
                 "  - id: r\n"
                 "    kv: {unwrap: [msg], hex: [\"a#\"], rest: kv}\n"
                 "    fields:\n"
                 "      process.args: {from: \"a#\"}\n"
                 "      process.command_line: \"{cmd}\"\n"
                 "      x.words: {from: cmd, split: \",\"}\n"
                 "      x.addrs: {from: cmd, split: \", \\\"\"}\n");
    load_ok(&f);
    const char *out = parse(&f, "a1=\"-l\" arch=c0 a0=6C73 a2=2F746D70 a01=x a=41", NULL);
    assert_non_null(strstr(out, "\"args\":[\"ls\",\"-l\",\"/tmp\"]"));
    assert_non_null(strstr(out, "\"kv\":{\"arch\":\"c0\",\"a01\":\"x\",\"a\":\"41\"}"));
    out = parse(&f, "a0=x a2=z msg='a1=in a0=inner' a1=y", NULL);
    assert_non_null(strstr(out, "\"args\":[\"x\",\"y\",\"z\"]"));
    out = parse(&f, "msg='a0=inner' a2=z", NULL);
    assert_non_null(strstr(out, "\"args\":[\"inner\"]"));
    assert_null(strstr(out, "\"kv\""));
    out = parse(&f, "a1=y b=1", NULL);
    assert_null(strstr(out, "\"args\""));
    out = parse(&f, "cmd=\",a,,b c,\"", NULL);
    assert_non_null(strstr(out, "\"command_line\":\",a,,b c,\""));
    assert_non_null(strstr(out, "\"words\":[\"a\",\"b c\"]"));
    assert_non_null(strstr(out, "\"addrs\":[\"a\",\"b\",\"c\"]"));
    /* Any of several characters separates: nginx's client list, quoted
     * when a proxy wrote it. */
    out = parse(&f, "cmd='\"10.5.102.222, 175.16.199.1\" 10.2.1.185'", NULL);
    assert_non_null(strstr(out, "\"addrs\":[\"10.5.102.222\",\"175.16.199.1\",\"10.2.1.185\"]"));
    assert_non_null(
        strstr(out, "\"words\":[\"\\\"10.5.102.222\",\" 175.16.199.1\\\" 10.2.1.185\"]"));
    out = parse(&f, "cmd=\",,\"", NULL);
    assert_null(strstr(out, "\"words\""));
    assert_null(strstr(out, "\"addrs\""));
    fx_free(&f);
}

/* Lists go only where they can: a numbered name stands alone (not in a
 * template or a `from` list), and neither it nor split takes a type or a
 * map; split names at least one character, not on message. */
static void test_list_load_errors(void **state)
{
    (void)state;
    fixture_t f;
    fx_init(&f);
    write_parser(&f, "l.yaml",
                 "name: l\n"
                 "rules:\n"
                 "  - id: r\n"
                 "    kv: {}\n"
                 "    fields:\n"
                 "      x.a: \"{a#}\"\n"
                 "      x.b: {from: [b, \"a#\"]}\n"
                 "      x.c: {from: \"a#\", type: long}\n"
                 "      x.d: {from: d, split: \"\"}\n"
                 "      x.e: {from: [d, e], split: \",\"}\n"
                 "      message: {from: d, split: \",\"}\n"
                 "      x.f: {from: d, split: \",\", type: ip}\n"
                 "      x.g: {from: d, split: \",\", case: lower}\n");
    static const char *const want[] = {
        "l.yaml:6: rule 'r': fields: x.a: 'a#' stands for the numbered keys (a0, a1 ...), whose "
        "values make a list: write {from: a#} on its own",
        "l.yaml:7: rule 'r': fields: x.b: 'a#' stands for the numbered keys (a0, a1 ...), whose "
        "values make a list: write {from: a#} on its own",
        "l.yaml:8: rule 'r': fields: x.c: a list (numbered keys or split) takes the text as it is "
        "(no type, map or case)",
        "l.yaml:9: rule 'r': fields: x.d: split: the characters that separate the pieces (one or "
        "more, e.g. \",\" or \", \")",
        "l.yaml:10: rule 'r': fields: x.e: split takes the text of one name (from: NAME)",
        "l.yaml:11: rule 'r': fields: message: split: message is text, not a list",
        "l.yaml:12: rule 'r': fields: x.f: a list (numbered keys or split) takes the text as it is "
        "(no type, map or case)",
        "l.yaml:13: rule 'r': fields: x.g: a list (numbered keys or split) takes the text as it is "
        "(no type, map or case)",
    };
    expect_load_errors(&f, want, sizeof(want) / sizeof(want[0]));
    fx_free(&f);
}

/* `case:` changes the ASCII letters of the text read, before map (whose
 * keys then meet one case) or a keyword value; other bytes, UTF-8
 * included, stay as they are. */
static void test_field_case(void **state)
{
    (void)state;
    fixture_t f;
    fx_init(&f);
    write_parser(&f, "c.yaml",
                 "name: c\n"
                 "rules:\n"
                 "  - id: r\n"
                 "    regex: '^(?<verb>\\S+) (?<m>\\S+)'\n"
                 "    fields:\n"
                 "      event.action: {from: verb, case: lower}\n"
                 "      x.up: {from: verb, case: upper}\n"
                 "      x.both: {from: [m, verb], case: upper}\n"
                 "      http.request.method:\n"
                 "        from: m\n"
                 "        case: upper\n"
                 "        map: {GET: GET, POST: POST, \"*\": OTHER}\n");
    load_ok(&f);
    const char *out = parse(&f, "USER_AUTH get", NULL);
    assert_non_null(strstr(out, "\"action\":\"user_auth\""));
    assert_non_null(strstr(out, "\"up\":\"USER_AUTH\""));
    assert_non_null(strstr(out, "\"both\":\"GET\""));
    assert_non_null(strstr(out, "\"method\":\"GET\""));
    out = parse(&f, "Ünknown[1334]Z@[` pOsT", NULL);
    assert_non_null(strstr(out, "\"action\":\"Ünknown[1334]z@[`\""));
    assert_non_null(strstr(out, "\"up\":\"ÜNKNOWN[1334]Z@[`\""));
    assert_non_null(strstr(out, "\"method\":\"POST\""));
    out = parse(&f, "a delete", NULL);
    assert_non_null(strstr(out, "\"method\":\"OTHER\""));
    assert_non_null(strstr(out, "\"action\":\"a\""));
    fx_free(&f);
}

/* case takes lower or upper, and changes text only: not a number, an
 * address or a time. */
static void test_field_case_load_errors(void **state)
{
    (void)state;
    fixture_t f;
    fx_init(&f);
    write_parser(&f, "c.yaml",
                 "name: c\n"
                 "rules:\n"
                 "  - id: r\n"
                 "    regex: '^(?<a>\\S+)'\n"
                 "    fields:\n"
                 "      x.a: {from: a, case: title}\n"
                 "      x.b: {from: a, case: [lower]}\n"
                 "      x.c: {from: a, type: long, case: lower}\n");
    static const char *const want[] = {
        "c.yaml:6: rule 'r': fields: x.a: case: lower or upper",
        "c.yaml:7: rule 'r': fields: x.b: case: lower or upper",
        "c.yaml:8: rule 'r': fields: x.c: case changes text: it goes with keyword values (and "
        "map), not type: long",
    };
    expect_load_errors(&f, want, sizeof(want) / sizeof(want[0]));
    fx_free(&f);
}

/* What PCRE2 knows of a pattern's first byte and length rules calls out
 * before pcre2_match (parser_regex.c); it must never rule out a match:
 * caseless first letters, alternatives, UTF case folding, empty messages. */
static void test_regex_prefilter(void **state)
{
    (void)state;
    fixture_t f;
    fx_init(&f);
    write_parser(
        &f, "pf.yaml",
        "name: pf\n"
        "rules:\n"
        "  - {id: a, regex: '(?i)^accepted (?<v>\\S+)', fields: {x.v: '{v}'}, set: {x.r: a}}\n"
        "  - {id: b, regex: '^[Ii]nvalid (?<v>\\S+)', fields: {x.v: '{v}'}, set: {x.r: b}}\n"
        "  - {id: c, regex: '^(?:error: )?Received (?<v>\\w+)', fields: {x.v: '{v}'}, "
        "set: {x.r: c}}\n"
        "  - {id: d, regex: '(*UTF)(?i)^state=(?<v>\\w+)', fields: {x.v: '{v}'}, "
        "set: {x.r: d}}\n"
        "  - {id: e, regex: '^\\s*\\{(?<v>.*)', fields: {x.v: '{v}'}, set: {x.r: e}}\n"
        "  - {id: f, regex: '^(?<v>.{0,3})$', fields: {x.v: '{v}'}, set: {x.r: f}}\n");
    load_ok(&f);
    static const char *const cases[][2] = {
        {"ACCEPTED one", "\"x\":{\"r\":\"a\",\"v\":\"one\"}"},
        {"aCcepted two", "\"x\":{\"r\":\"a\",\"v\":\"two\"}"},
        {"invalid three", "\"x\":{\"r\":\"b\",\"v\":\"three\"}"},
        {"Invalid four", "\"x\":{\"r\":\"b\",\"v\":\"four\"}"},
        {"error: Received five", "\"x\":{\"r\":\"c\",\"v\":\"five\"}"},
        {"Received six", "\"x\":{\"r\":\"c\",\"v\":\"six\"}"},
        {"\xC5\xBFTATE=seven", "\"x\":{\"r\":\"d\",\"v\":\"seven\"}"},
        {" \t{eight", "\"x\":{\"r\":\"e\",\"v\":\"eight\"}"},
        {"{nine", "\"x\":{\"r\":\"e\",\"v\":\"nine\"}"},
        {"", "\"x\":{\"r\":\"f\"}"}, /* an empty group sets no field */
        {"Acc", "\"x\":{\"r\":\"f\",\"v\":\"Acc\"}"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *out = parse(&f, cases[i][0], NULL);
        if (strstr(out, cases[i][1]) == NULL)
            fail_msg("'%s': want %s in %s", cases[i][0], cases[i][1], out);
    }
    assert_null(strstr(parse(&f, "received ten", NULL), "\"x\":"));
    assert_null(strstr(parse(&f, "xaccepted eleven", NULL), "\"x\":"));
    fx_free(&f);
}

/* A when regex on a field other than message remembers its last subject:
 * events alternating between images must each get their own answer. */
static void test_when_regex_memo(void **state)
{
    (void)state;
    fixture_t f;
    fx_init(&f);
    write_parser(&f, "web.yaml",
                 "name: web\n"
                 "when:\n"
                 "  - container.image.name: {regex: '(^|/)nginx$'}\n"
                 "  - {process.name: web, message: {regex: '^GET '}}\n"
                 "rules:\n"
                 "  - {id: all, regex: '^(?<v>\\S+)', fields: {x.v: '{v}'}}\n");
    load_ok(&f);
    static const struct {
        const char *image, *msg;
        int routed;
    } cases[] = {
        {"nginx", "one", 1},
        {"example/app", "two", 0},
        {"library/nginx", "three", 1},
        {"library/nginx", "four", 1},
        {"nginxx", "five", 0},
        {"nginx", "six", 1},
        {"", "seven", 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *out = parse(&f, cases[i].msg, "container.image.name", cases[i].image, NULL);
        if ((strstr(out, "\"x\":") != NULL) != cases[i].routed)
            fail_msg("image '%s': routed %d expected, got %s", cases[i].image, cases[i].routed,
                     out);
    }
    /* message terms are not memoized: the same process, different lines */
    assert_non_null(strstr(parse(&f, "GET /a", "process.name", "web", NULL), "\"v\":\"GET\""));
    assert_null(strstr(parse(&f, "PUT /a", "process.name", "web", NULL), "\"x\":"));
    assert_non_null(strstr(parse(&f, "GET /b", "process.name", "web", NULL), "\"v\":\"GET\""));
    fx_free(&f);
}

/* `map:` gives a field a constant chosen by the referenced text: exact
 * keys, "PREFIX*" keys and "*" in order; no entry, no field. */
static void test_field_map(void **state)
{
    (void)state;
    fixture_t f;
    fx_init(&f);
    write_parser(&f, "web.yaml",
                 "name: web\n"
                 "rules:\n"
                 "  - id: r\n"
                 "    regex: '^(?<status>\\d+) (?<kind>\\w+)'\n"
                 "    fields:\n"
                 "      event.outcome: {from: status, map: {\"4*\": failure, \"5*\": failure, "
                 "\"*\": success}}\n"
                 "      event.type: {from: kind, map: {add: [user, creation], del: [user, "
                 "deletion]}}\n"
                 "      x.m: {from: kind, map: {ab: exact, \"a*\": prefix, abc: late, a: one, "
                 "\"*\": other}}\n");
    load_ok(&f);
    assert_string_equal(parse(&f, "404 add", NULL),
                        "{\"event\":{\"outcome\":\"failure\",\"type\":[\"user\",\"creation\"]},"
                        "\"message\":\"404 add\",\"x\":{\"m\":\"prefix\"}}\n");
    assert_string_equal(parse(&f, "200 other", NULL),
                        "{\"event\":{\"outcome\":\"success\"},\"message\":\"200 other\","
                        "\"x\":{\"m\":\"other\"}}\n");
    /* the first entry that matches, exact or prefix, in file order */
    static const char *const order[][2] = {
        {"1 ab", "exact"}, {"1 abc", "prefix"}, {"1 a", "prefix"}, {"1 b", "other"}};
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        char want[64];
        snprintf(want, sizeof(want), "\"x\":{\"m\":\"%s\"}", order[i][1]);
        const char *out = parse(&f, order[i][0], NULL);
        if (strstr(out, want) == NULL)
            fail_msg("'%s': want %s in %s", order[i][0], want, out);
    }
    fx_free(&f);
}

/* JSON references: a member, a path into one, a member whose name has a
 * dot or an escape (found as wharf_json_find finds it); rest decodes
 * escaped names and strings and keeps containers. */
static void test_json_names(void **state)
{
    (void)state;
    fixture_t f;
    fx_init(&f);
    write_parser(&f, "app.yaml",
                 "name: app\n"
                 "rules:\n"
                 "  - id: json\n"
                 "    json: {rest: app}\n"
                 "    fields:\n"
                 "      user.name: \"{a.b}\"\n"
                 "      x.n: {from: n, type: long}\n");
    load_ok(&f);
    const char *out =
        parse(&f, "{\"a\":{\"b\":\"ann\"},\"n\":7,\"k\\u0031\":\"v\\n\",\"t\":[1, 2]}", NULL);
    assert_non_null(strstr(out, "\"user\":{\"name\":\"ann\"}"));
    assert_non_null(strstr(out, "\"x\":{\"n\":7}"));
    assert_non_null(strstr(out, "\"app\":{\"k1\":\"v\\n\",\"t\":[1,2]}"));
    out = parse(&f, "{\"a.b\":\"bob\",\"k\\u0031\":1}", NULL);
    assert_non_null(strstr(out, "\"user\":{\"name\":\"bob\"}"));
    assert_non_null(strstr(out, "\"app\":{\"k1\":1}"));
    /* dotted names without escapes: the first member through which the
     * whole path resolves, as wharf_json_find */
    out = parse(&f, "{\"a\":{\"x\":1},\"a.b\":\"cy\",\"a\":{\"b\":\"dan\"}}", NULL);
    assert_non_null(strstr(out, "\"user\":{\"name\":\"cy\"}"));
    out = parse(&f, "{\"a\":{\"b\":\"eve\"},\"a.b\":\"fay\"}", NULL);
    assert_non_null(strstr(out, "\"user\":{\"name\":\"eve\"}"));
    /* each name once (references go through the member index): the same */
    out = parse(&f, "{\"a\":{\"x\":1},\"a.b\":\"gil\"}", NULL);
    assert_non_null(strstr(out, "\"user\":{\"name\":\"gil\"}"));
    out = parse(&f, "{\"a.b\":\"hal\",\"a\":{\"b\":\"ike\"}}", NULL);
    assert_non_null(strstr(out, "\"user\":{\"name\":\"hal\"}"));
    out = parse(&f, "{\"n\":\"x\",\"a\":7,\"a.b\":\"jo\"}", NULL);
    assert_non_null(strstr(out, "\"user\":{\"name\":\"jo\"}"));
    out = parse(&f, "{\"ab\":\"no\",\"a\":\"no\",\"a.bc\":\"no\"}", NULL);
    assert_null(strstr(out, "\"user\":"));
    out = parse(&f, "{\"n\":1} x", NULL);
    assert_null(strstr(out, "\"x\":"));
    fx_free(&f);
}

/* rest keeps every key no field reads: an object a field reads into keeps
 * its other members (regression: the whole object was dropped, so the
 * shipped k8s_audit parser lost objectRef.subresource), a kv key that a
 * field's dotted key only starts with is kept, and where a field already
 * sits under the rest path the members become fields of their own
 * (regression: the rest object was dropped whole). */
static void test_rest_keeps_unread(void **state)
{
    (void)state;
    fixture_t f;
    fx_init(&f);
    write_parser(&f, "a.yaml",
                 "name: a\n"
                 "when: [{x.kind: json}]\n"
                 "rules:\n"
                 "  - id: json\n"
                 "    json: {rest: app}\n"
                 "    fields: {user.name: \"{a.b}\", x.deep: \"{a.e.f}\"}\n");
    write_parser(&f, "b.yaml",
                 "name: b\n"
                 "when: [{x.kind: kv}]\n"
                 "rules:\n"
                 "  - id: kv\n"
                 "    logfmt: {rest: gw}\n"
                 "    fields: {x.dotted: \"{k.y}\", gw.latency: {from: latency, type: double}}\n");
    write_parser(&f, "c.yaml",
                 "name: c\n"
                 "when: [{x.kind: json}]\n"
                 "rules:\n"
                 "  - id: json\n"
                 "    json: {rest: x}\n"
                 "    fields: {x.n: {from: n, type: long}}\n");
    load_ok(&f);
    const char *out =
        parse(&f, "{\"a\":{\"b\":\"ann\",\"c\":2,\"e\":{\"f\":1,\"g\":[3]}},\"d\":\"4\"}", "x.kind",
              "json", NULL);
    assert_non_null(strstr(out, "\"user\":{\"name\":\"ann\"}"));
    assert_non_null(strstr(out, "\"app\":{\"a\":{\"c\":2,\"e\":{\"g\":[3]}},\"d\":\"4\"}"));
    /* an object left empty is not kept */
    out = parse(&f, "{\"a\":{\"b\":\"bob\",\"e\":{\"f\":1}},\"d\":5}", "x.kind", "json", NULL);
    assert_non_null(strstr(out, "\"app\":{\"d\":5}"));
    /* c's rest x meets x.kind and x.deep: its members go in one by one */
    assert_non_null(strstr(out, "\"x\":{\"a\":{\"b\":\"bob\",\"e\":{\"f\":1}},\"d\":5,"
                                "\"deep\":\"1\",\"kind\":\"json\"}"));
    /* b's field gw.latency goes into its rest object gw, first */
    out = parse(&f, "k=1 z=2 latency=0.5 k.y=3", "x.kind", "kv", NULL);
    assert_non_null(strstr(out, "\"gw\":{\"latency\":0.5,\"k\":\"1\",\"z\":\"2\"}"));
    assert_non_null(strstr(out, "\"dotted\":\"3\""));
    fx_free(&f);
}

/* Fields and set values a rule writes one level under its rest object go
 * into the object as its first members (a set used to be lost there), and
 * win over a pair or member of the same name; a field without a value
 * leaves that pair be. */
static void test_rest_takes_fields_under_it(void **state)
{
    (void)state;
    fixture_t f;
    fx_init(&f);
    write_parser(&f, "k.yaml",
                 "name: k\n"
                 "when: [{x.kind: kv}]\n"
                 "rules:\n"
                 "  - id: kv\n"
                 "    regex: '^(?<t>[a-z]+)?:(?<pairs>.*)'\n"
                 "    kv: {group: pairs, rest: rec}\n"
                 "    fields: {rec.type: \"{t}\", rec.n: {from: n, type: long}}\n"
                 "    set: {rec.kind: audit}\n");
    write_parser(&f, "e.yaml",
                 "name: e\n"
                 "when: [{x.kind: esc}]\n"
                 "rules:\n"
                 "  - id: kv\n"
                 "    regex: '^(?<t>[a-z]+):(?<pairs>.*)'\n"
                 "    kv: {group: pairs, rest: rec}\n"
                 "    fields: {'rec.a\\b': \"{t}\"}\n");
    write_parser(&f, "j.yaml",
                 "name: j\n"
                 "when: [{x.kind: json}]\n"
                 "rules:\n"
                 "  - id: json\n"
                 "    json: {rest: app}\n"
                 "    fields: {app.lvl: \"{level}\", app.at: {from: ts, type: timestamp}}\n");
    load_ok(&f);
    const char *out = parse(&f, "login:n=5 type=x kind=y z=1", "x.kind", "kv", NULL);
    assert_non_null(
        strstr(out, "\"rec\":{\"type\":\"login\",\"n\":5,\"kind\":\"audit\",\"z\":\"1\"}"));
    out = parse(&f, ":type=x", "x.kind", "kv", NULL);
    assert_non_null(strstr(out, "\"rec\":{\"kind\":\"audit\",\"type\":\"x\"}"));
    /* a name the writer escapes: the pair a\b is the field's, a\c kept */
    out = parse(&f, "login:a\\b=7 z=1 a\\c=2", "x.kind", "esc", NULL);
    assert_non_null(strstr(out, "\"rec\":{\"a\\\\b\":\"login\",\"z\":\"1\",\"a\\\\c\":\"2\"}"));
    out = parse(&f, "{\"level\":\"info\",\"lvl\":9,\"ts\":\"2024-01-02T03:04:05Z\",\"m\":1}",
                "x.kind", "json", NULL);
    assert_non_null(strstr(out, "\"app\":{\"lvl\":\"info\",\"at\":\"2024-01-02T03:04:05."
                                "000000000Z\",\"m\":1}"));
    fx_free(&f);
}

/* A when condition reads a path inside a rest object: a field the rule
 * took into it (rec.type) and a pair rest kept (rec.z, rec.q with an
 * escape), so that a parser chained after the rewrite can go by them; a
 * member that is an object, or absent, is no value. */
static void test_when_reads_rest_members(void **state)
{
    (void)state;
    fixture_t f;
    fx_init(&f);
    write_parser(&f, "a.yaml",
                 "name: a\n"
                 "when: [{x.kind: kv}]\n"
                 "rules:\n"
                 "  - id: kv\n"
                 "    regex: '^(?<t>[a-z]+): (?<pairs>.*)'\n"
                 "    kv: {group: pairs, rest: rec}\n"
                 "    fields: {rec.type: \"{t}\", message: \"{t}\"}\n");
    write_parser(&f, "b.yaml",
                 "name: b\n"
                 "when: [{rec.type: login}]\n"
                 "rules:\n"
                 "  - {id: any, regex: '', set: {x.b: y}}\n");
    write_parser(&f, "c.yaml",
                 "name: c\n"
                 "when: [{rec.z: \"1\", rec.q: 'a\"b'}]\n"
                 "rules:\n"
                 "  - {id: any, regex: '', set: {x.c: y}}\n");
    load_ok(&f);
    const char *out = parse(&f, "login: z=1 q=\"a\\\"b\"", "x.kind", "kv", NULL);
    assert_non_null(strstr(out, "\"rec\":{\"type\":\"login\",\"z\":\"1\",\"q\":\"a\\\"b\"}"));
    assert_non_null(strstr(out, "\"x\":{\"b\":\"y\",\"c\":\"y\",\"kind\":\"kv\"}"));
    out = parse(&f, "logout: z=2", "x.kind", "kv", NULL);
    assert_non_null(strstr(out, "\"x\":{\"kind\":\"kv\"}"));
    fx_free(&f);
}

/* A JSON message that names a member twice: rest keeps the first, as field
 * references read it, at every depth and across spellings with escapes
 * (regression: both went out, and Elasticsearch rejects a document with a
 * repeated name, so the event was lost at the SIEM). A repeated name a
 * field reads stays out of rest altogether. */
static void test_rest_repeated_names(void **state)
{
    (void)state;
    fixture_t f;
    fx_init(&f);
    write_parser(&f, "a.yaml",
                 "name: a\n"
                 "rules:\n"
                 "  - id: json\n"
                 "    json: {rest: app}\n"
                 "    fields: {log.level: \"{level}\", x.deep: \"{o.read}\"}\n");
    load_ok(&f);
    const char *out = parse(&f,
                            "{\"level\":\"info\",\"x\":1,\"level\":\"warn\",\"x\":2,"
                            "\"\\u0078\":3,\"y\":{\"z\":1,\"z\":[2]},\"o\":{\"read\":\"r\","
                            "\"k\":1,\"k\":2},\"o\":{\"k\":3},\"l\":[{\"a\":1,\"a\":2}]}",
                            NULL);
    assert_non_null(strstr(out, "\"log\":{\"level\":\"info\"}"));
    assert_non_null(strstr(out, "\"deep\":\"r\""));
    assert_non_null(
        strstr(out, "\"app\":{\"x\":1,\"y\":{\"z\":1},\"o\":{\"k\":1},\"l\":[{\"a\":1}]}"));
    /* a second message starts afresh: names of the first do not carry over */
    out = parse(&f, "{\"x\":5,\"y\":{\"z\":6}}", NULL);
    assert_non_null(strstr(out, "\"app\":{\"x\":5,\"y\":{\"z\":6}}"));
    /* names that differ only in invalid UTF-8 are one name as written
     * (U+FFFD for each invalid byte); found by fuzz_parsers */
    out = parse(&f, "{\"k\xfe\":1,\"o\":{\"z\xff\":2,\"z\xfe\":3},\"k\xff\":4}", NULL);
    assert_non_null(strstr(out, "\"app\":{\"k\xef\xbf\xbd\":1,\"o\":{\"z\xef\xbf\xbd\":2}}"));
    fx_free(&f);
}

/* json: {dedot: true}: '.' in the names rest keeps becomes '_', at every
 * depth, so that Kubernetes labels such as "app" and "app.kubernetes.io/name"
 * can be indexed together; field references still read the names as the
 * message spells them. A dedot that is no bool, or without rest, is a load
 * error. */
static void test_rest_dedot(void **state)
{
    (void)state;
    fixture_t f;
    fx_init(&f);
    write_parser(&f, "a.yaml",
                 "name: a\n"
                 "rules:\n"
                 "  - id: json\n"
                 "    json: {rest: k8s, dedot: true}\n"
                 "    fields: {x.name: \"{meta.app.name}\"}\n");
    load_ok(&f);
    const char *out = parse(&f,
                            "{\"meta.app.name\":\"web\",\"labels\":{\"app\":\"web\","
                            "\"app.kubernetes.io/name\":\"web.v1\"},\"a.b\":1}",
                            NULL);
    assert_non_null(strstr(out, "\"name\":\"web\""));
    assert_non_null(strstr(out, "\"k8s\":{\"labels\":{\"app\":\"web\","
                                "\"app_kubernetes_io/name\":\"web.v1\"},\"a_b\":1}"));
    fx_free(&f);

    fx_init(&f);
    write_parser(&f, "b.yaml",
                 "name: b\n"
                 "rules:\n"
                 "  - id: one\n"
                 "    json: {rest: x, dedot: yes please}\n"
                 "  - id: two\n"
                 "    json: {dedot: true}\n"
                 "  - id: three\n"
                 "    json: {rest: x, dedto: true}\n");
    static const char *const want[] = {
        "b.yaml:4: rule 'one': json: dedot: expected true or false",
        "b.yaml:6: rule 'two': json: dedot applies to rest, which is not set",
        "b.yaml:8: unknown key 'dedto' in json options (expected one of: rest, dedot)",
    };
    expect_load_errors(&f, want, sizeof(want) / sizeof(want[0]));
    fx_free(&f);
}

/* kv keys that differ only in invalid UTF-8 are one key as written: the
 * last pair wins, as for a repeated key (regression: rest named it twice;
 * found by fuzz_parsers in an auditd record). ASCII keys keep comparing
 * by their bytes. */
static void test_rest_kv_keys_as_written(void **state)
{
    (void)state;
    fixture_t f;
    fx_init(&f);
    write_parser(&f, "a.yaml",
                 "name: a\n"
                 "rules:\n"
                 "  - id: kv\n"
                 "    kv: {rest: kv}\n"
                 "    fields: {x.a: \"{a}\"}\n");
    load_ok(&f);
    const char *out = parse(&f, "u\xfe=1 a=2 b=3 u\xff=4 \xc3\xa9=5 b=6 \xc3\xa9=7", NULL);
    assert_non_null(strstr(out, "\"kv\":{\"u\xef\xbf\xbd\":\"4\",\"b\":\"6\",\"\xc3\xa9\":\"7\"}"));
    assert_non_null(strstr(out, "\"a\":\"2\""));
    fx_free(&f);
}

/* Many kv keys, some of them repeated, and one a rest field's name: rest
 * keeps each key once, with its last value, in the order of those last
 * pairs, and the rest field's value wins over the pair of its name. With
 * 70 names the 64-bit filters that rule out most comparisons see every
 * kind of collision. */
static void test_rest_kv_many_keys(void **state)
{
    (void)state;
    fixture_t f;
    fx_init(&f);
    write_parser(&f, "a.yaml",
                 "name: a\n"
                 "rules:\n"
                 "  - id: kv\n"
                 "    kv: {rest: r}\n"
                 "    set: {r.fixed: c}\n");
    load_ok(&f);
    char msg[2048], want[2048];
    size_t m = 0, w = (size_t)snprintf(want, sizeof(want), "\"r\":{\"fixed\":\"c\"");
    for (int i = 0; i < 100; i++) /* k0 .. k29 come again at 70 .. 99 */
        m += (size_t)snprintf(msg + m, sizeof(msg) - m, "%sk%d=%d", i ? " " : "", i % 70, i);
    m += (size_t)snprintf(msg + m, sizeof(msg) - m, " fixed=9");
    for (int i = 30; i < 100; i++)
        w += (size_t)snprintf(want + w, sizeof(want) - w, ",\"k%d\":\"%d\"", i % 70, i);
    snprintf(want + w, sizeof(want) - w, "}");
    assert_true(m < sizeof(msg) - 1 && w < sizeof(want) - 1);
    const char *out = parse(&f, msg, NULL);
    if (strstr(out, want) == NULL)
        fail_msg("want %s in %s", want, out);
    fx_free(&f);
}

/* A kv or json rule skips the fields whose keys the match lacks: a key
 * id past 64 (no bit of its own) is always tried, a template needs any of
 * its keys, a json path is found through its leading component, and a
 * member name with an escape (references then search the text) skips
 * nothing. */
static void test_fields_of_absent_keys(void **state)
{
    (void)state;
    fixture_t f;
    fx_init(&f);
    char yaml[4096];
    size_t n = (size_t)snprintf(yaml, sizeof(yaml),
                                "name: a\n"
                                "when: [{process.name: kv}]\n"
                                "rules:\n"
                                "  - id: kv\n"
                                "    kv: {}\n"
                                "    fields:\n"
                                "      x.t: \"{k1}-{k68}\"\n"
                                "      x.f: {from: [k66, k2]}\n");
    for (int i = 0; i < 70; i++)
        n += (size_t)snprintf(yaml + n, sizeof(yaml) - n, "      x.k%d: \"{k%d}\"\n", i, i);
    assert_true(n < sizeof(yaml) - 1);
    write_parser(&f, "a.yaml", yaml);
    write_parser(&f, "j.yaml",
                 "name: j\n"
                 "when: [{process.name: json}]\n"
                 "rules:\n"
                 "  - id: json\n"
                 "    json: {}\n"
                 "    fields: {x.n: \"{a.b}\", x.d: \"{d}\"}\n");
    load_ok(&f);
    const char *out = parse(&f, "k67=a k1=b k68=c k2=d", "process.name", "kv", NULL);
    const char *want[] = {"\"k67\":\"a\"", "\"k68\":\"c\"", "\"k1\":\"b\"",
                          "\"t\":\"b-c\"", "\"f\":\"d\"",   "\"k2\":\"d\""};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        if (strstr(out, want[i]) == NULL)
            fail_msg("want %s in %s", want[i], out);
    assert_null(strstr(out, "\"k0\""));
    out = parse(&f, "{\"a\":{\"b\":\"1\"},\"d\":\"2\"}", "process.name", "json", NULL);
    assert_non_null(strstr(out, "\"x\":{\"d\":\"2\",\"n\":\"1\"}"));
    out = parse(&f, "{\"a\":1,\"a\":{\"b\":\"3\"}}", "process.name", "json", NULL);
    assert_non_null(strstr(out, "\"x\":{\"n\":\"3\"}"));
    out = parse(&f, "{\"\\u0061\":{\"b\":\"4\"}}", "process.name", "json", NULL);
    assert_non_null(strstr(out, "\"x\":{\"n\":\"4\"}"));
    fx_free(&f);
}

/* Where rest's members go in one by one because the event came with fields
 * under the rest path, the rule's own values for rest fields still replace
 * the event's, as any field a rule writes does; a member of the message
 * does not. */
static void test_rest_fields_replace_event_fields(void **state)
{
    (void)state;
    fixture_t f;
    fx_init(&f);
    write_parser(&f, "a.yaml",
                 "name: a\n"
                 "rules:\n"
                 "  - id: kv\n"
                 "    kv: {rest: r}\n"
                 "    fields: {r.user: \"{u}\"}\n"
                 "    set: {r.fixed: c}\n");
    load_ok(&f);
    const char *out =
        parse(&f, "u=alice fixed=9 other=5 new=6", "r.fixed", "old", "r.other", "x", NULL);
    assert_non_null(strstr(out, "\"fixed\":\"c\""));
    assert_non_null(strstr(out, "\"user\":\"alice\""));
    assert_non_null(strstr(out, "\"other\":\"x\""));
    assert_non_null(strstr(out, "\"new\":\"6\""));
    assert_null(strstr(out, "\"old\""));
    assert_null(strstr(out, "\"9\""));
    assert_null(strstr(out, "\"5\""));
    fx_free(&f);
}

/* Where rest's members go in one by one (the event has fields under the
 * rest path), a member does not replace a field the event has: what
 * `fields` wrote and what the event came with win (regression: the member
 * "a.b" replaced the field x.a.b, "kind" the routing field x.kind). */
static void test_rest_members_keep_fields(void **state)
{
    (void)state;
    fixture_t f;
    fx_init(&f);
    write_parser(&f, "b.yaml",
                 "name: b\n"
                 "when: [{x.kind: b}]\n"
                 "rules:\n"
                 "  - id: json\n"
                 "    json: {rest: x}\n"
                 "    fields: {x.a.b: \"{a}\"}\n");
    load_ok(&f);
    const char *out =
        parse(&f, "{\"a\":\"1\",\"a.b\":\"2\",\"kind\":\"other\",\"c\":3}", "x.kind", "b", NULL);
    assert_non_null(strstr(out, "\"x\":{\"a\":{\"b\":\"1\"},\"c\":3,\"kind\":\"b\"}"));
    fx_free(&f);
}

/* A label given twice (`wharf parse --field`, a sample's fields) is one
 * label with the last value (regression: the labels object named it twice;
 * found by fuzz_parsers once outputs were checked for repeated names). */
static void test_input_label_repeated(void **state)
{
    (void)state;
    fixture_t f;
    fx_init(&f);
    write_parser(&f, "a.yaml",
                 "name: a\n"
                 "when: [{container.labels.wharf.parser: a}]\n"
                 "rules:\n"
                 "  - id: r\n"
                 "    regex: '^(?<w>\\w+)'\n"
                 "    fields: {x.w: \"{w}\"}\n");
    load_ok(&f);
    static const char *const given[][2] = {{"container.labels.wharf.parser", "b"},
                                           {"container.labels.k\"q", "1"},
                                           {"container.labels.wharf.parser", "a"},
                                           {"container.labels.k\"q", "2"}};
    wharf_event_t *e = event_begin(&f, "hello");
    for (size_t i = 0; i < sizeof(given) / sizeof(given[0]); i++)
        assert_int_equal(wharf_parsers_input_field(e, given[i][0], strlen(given[i][0]), given[i][1],
                                                   strlen(given[i][1])),
                         0);
    const char *out = event_parse(&f);
    assert_non_null(strstr(out, "\"labels\":{\"wharf_parser\":\"a\",\"k\\\"q\":\"2\"}"));
    assert_non_null(strstr(out, "\"w\":\"hello\""));
    fx_free(&f);
}

/* A rule whose `set` gives message a constant rewrites it as `fields`
 * does: the old one goes to event.original and the parsers the new one
 * routes to run (regression: the line was lost and the chain stopped). */
static void test_set_message_rewrites(void **state)
{
    (void)state;
    fixture_t f;
    fx_init(&f);
    write_parser(&f, "a.yaml",
                 "name: a\n"
                 "rules:\n"
                 "  - id: r\n"
                 "    regex: '^secret=\\S+$'\n"
                 "    set: {message: \"login ok\", x.kind: redacted}\n");
    write_parser(&f, "b.yaml",
                 "name: b\n"
                 "when: [{x.kind: redacted}]\n"
                 "rules:\n"
                 "  - id: r\n"
                 "    regex: '^login (?<o>\\w+)$'\n"
                 "    fields: {x.outcome: \"{o}\"}\n");
    load_ok(&f);
    const char *out = parse(&f, "secret=hunter2", NULL);
    assert_non_null(strstr(out, "\"original\":\"secret=hunter2\""));
    assert_non_null(strstr(out, "\"message\":\"login ok\""));
    assert_non_null(strstr(out, "\"outcome\":\"ok\""));
    fx_free(&f);
}

/* After a rewrite only the conditions that read a changed field are
 * checked again; the answers must be those of routing from scratch: a
 * candidate left behind by the rewrite still runs, a condition on an
 * unchanged exact field plus the rewritten message is found, one whose
 * field the rewrite changed is dropped. Files load in name order. */
static void test_chain_reroutes(void **state)
{
    (void)state;
    fixture_t f;
    fx_init(&f);
    write_parser(&f, "1a.yaml",
                 "name: a\nwhen: [{x.src: s}]\nrules:\n  - id: r\n    regex: '^a:(?<rest>.*)'\n"
                 "    fields: {message: \"{rest}\", x.gone: \"{rest}\"}\n    set: {x.kind: k}\n");
    write_parser(&f, "2b.yaml",
                 "name: b\nwhen: [{x.src: s}]\nrules:\n  - {id: r, regex: '^(?<v>\\w+)$', "
                 "fields: {x.b: \"{v}\"}}\n");
    write_parser(&f, "3c.yaml",
                 "name: c\nwhen: [{x.src: s, message: {regex: '^X'}}]\nrules:\n"
                 "  - {id: r, regex: '^X(?<v>\\w*)', fields: {x.c: \"{v}\"}}\n");
    write_parser(&f, "4d.yaml",
                 "name: d\nwhen: [{x.kind: j}, {x.gone: {regex: '^Q'}}]\nrules:\n"
                 "  - {id: r, regex: '^(?<v>.*)', fields: {x.d: \"{v}\"}}\n");
    load_ok(&f);
    /* round 1: a and b are candidates, a rewrites first; round 2: b still
     * runs, c now matches through the new message; d's x.kind was k */
    const char *out = parse(&f, "a:Xyz", "x.src", "s", "x.kind", "j", NULL);
    assert_string_equal(out, "{\"event\":{\"original\":\"a:Xyz\"},\"message\":\"Xyz\",\"x\":{"
                             "\"b\":\"Xyz\",\"c\":\"yz\",\"gone\":\"Xyz\",\"kind\":\"k\","
                             "\"src\":\"s\"}}\n");
    /* d: routed before the rewrite (x.kind j), not after it (k) ... */
    out = parse(&f, "plain", "x.src", "t", "x.kind", "j", NULL);
    assert_non_null(strstr(out, "\"d\":\"plain\""));
    /* ... and routed by a field the rewrite set */
    out = parse(&f, "a:Qx", "x.src", "s", NULL);
    assert_non_null(strstr(out, "\"d\":\"Qx\""));
    assert_null(strstr(out, "\"c\":"));
    /* one parser first (wharf parse --parser a), then the chain is routed */
    assert_int_equal(wharf_parsers_only(f.ps, "a"), 0);
    out = parse(&f, "a:Xq", "x.src", "s", NULL);
    assert_non_null(strstr(out, "\"b\":\"Xq\""));
    assert_non_null(strstr(out, "\"c\":\"q\""));
    fx_free(&f);
}

/* The first round is memoized on the values of the fields `when` reads,
 * message aside: events that differ in any of them, or only in message,
 * must each be routed as from scratch. */
static void test_first_round_memo(void **state)
{
    (void)state;
    fixture_t f;
    fx_init(&f);
    static const char *const files[][2] = {
        {"p1.yaml", "name: p1\nwhen: [{x.src: s}]\n"},
        {"p2.yaml", "name: p2\nwhen: [{container.image.name: {regex: 'nginx$'}}]\n"},
        {"p3.yaml", "name: p3\nwhen: [{x.src: s, message: {regex: '^M'}}]\n"},
        {"p4.yaml", "name: p4\nwhen: [{message: {regex: '^J'}}]\n"},
    };
    for (size_t i = 0; i < 4; i++) {
        char head[256];
        snprintf(head, sizeof(head), "%srules:\n  - {id: r, regex: '^', set: {x.%c: y}}\n",
                 files[i][1], files[i][0][1]);
        write_parser(&f, files[i][0], head);
    }
    load_ok(&f);
    static const struct {
        const char *msg, *src, *image, *want; /* want: the parsers that ran */
    } cases[] = {
        {"M1", "s", "app", "13"},   {"x", "s", "app", "1"},   {"M2", "t", "app", ""},
        {"J", "t", "app", "4"},     {"M3", "s", "app", "13"}, {"x", "s", "nginx", "12"},
        {"J", "s", "nginx", "124"}, {"x", "s", "app", "1"},   {"x", "", "app", ""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *out =
            cases[i].src[0] ? parse(&f, cases[i].msg, "x.src", cases[i].src, "container.image.name",
                                    cases[i].image, NULL)
                            : parse(&f, cases[i].msg, "container.image.name", cases[i].image, NULL);
        expect_ran(i, out, "1234", cases[i].want);
    }
    fx_free(&f);
}

/* The first round's memo across kinds of values: a label (the memo compares
 * the labels object), a number and a string with the number's text, an
 * empty string and no value. */
static void test_first_round_memo_values(void **state)
{
    (void)state;
    fixture_t f;
    fx_init(&f);
    write_parser(&f, "l.yaml",
                 "name: l\nwhen: [{container.labels.team: red}]\n"
                 "rules:\n  - {id: r, regex: '^', set: {x.l: y}}\n");
    write_parser(&f, "n.yaml",
                 "name: n\nwhen: [{x.n: '5'}]\n"
                 "rules:\n  - {id: r, regex: '^', set: {x.m: y}}\n");
    write_parser(&f, "z.yaml",
                 "name: z\nwhen: [{x.n: ''}]\n"
                 "rules:\n  - {id: r, regex: '^', set: {x.z: y}}\n");
    load_ok(&f);
    static const struct {
        const char *labels;
        int n; /* x.n: 0 absent, 1 the number 5, 2 the string "5", 3 the number 6, 4 "" */
        const char *want;
    } cases[] = {
        {"{\"team\":\"red\"}", 1, "lm"},
        {"{\"team\":\"red\",\"a\":\"b\"}", 2, "lm"},
        {"{\"team\":\"blue\"}", 3, ""},
        {"{\"team\":\"blue\"}", 1, "m"},
        {"{\"a\":\"b\",\"team\":\"red\"}", 0, "l"},
        {NULL, 1, "m"},
        {"{\"team\":\"red\"}", 2, "lm"},
        {"{\"team\":\"red\"}", 0, "l"},
        {"{\"team\":\"red\"}", 4, "lz"},
        {"{\"team\":\"red\"}", 0, "l"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        wharf_event_t *e = event_begin(&f, "x");
        if (cases[i].labels != NULL)
            wharf_event_set_raw(e, WHARF_F_CONTAINER_LABELS, cases[i].labels,
                                strlen(cases[i].labels));
        if (cases[i].n == 2 || cases[i].n == 4)
            wharf_event_set_path(e, "x.n", 3, WHARF_V_STR)->u.str =
                (wharf_str_t){"5", cases[i].n == 2 ? 1 : 0};
        else if (cases[i].n != 0)
            wharf_event_set_path(e, "x.n", 3, WHARF_V_LONG)->u.i64 = cases[i].n == 1 ? 5 : 6;
        expect_ran(i, event_parse(&f), "lmz", cases[i].want);
    }
    fx_free(&f);
}

/* Two parsers that rewrite message and route to each other: each runs at
 * most once, so the chain ends. */
static void test_chain_ends(void **state)
{
    (void)state;
    fixture_t f;
    fx_init(&f);
    write_parser(&f, "a.yaml",
                 "name: a\nwhen: [{x.route: a}]\nrules:\n  - id: r\n    regex: '^a(?<rest>.*)'\n"
                 "    fields: {message: \"{rest}\", x.route: b, x.a: \"yes\"}\n");
    write_parser(&f, "b.yaml",
                 "name: b\nwhen: [{x.route: b}]\nrules:\n  - id: r\n    regex: '^b(?<rest>.*)'\n"
                 "    fields: {message: \"{rest}\", x.route: a, x.b: \"yes\"}\n");
    load_ok(&f);
    const char *out = parse(&f, "ababab", "x.route", "a", NULL);
    assert_string_equal(out, "{\"event\":{\"original\":\"ababab\"},\"message\":\"abab\",\"x\":{"
                             "\"a\":\"yes\",\"b\":\"yes\",\"route\":\"a\"}}\n");
    assert_int_equal(wharf_parsers_only(f.ps, "nope"), -ENOENT);
    fx_free(&f);
}

static void test_load_errors_have_lines(void **state)
{
    (void)state;
    fixture_t f;
    fx_init(&f);
    write_file(&f, "bad.yaml",
               "name: bad\n"
               "rules:\n"
               "  - id: r1\n"
               "    regex: '(?<a>x'\n"
               "  - id: r2\n"
               "    grok: '%{NOPE}'\n"
               "  - id: r3\n"
               "    regex: '(?<a>x)'\n"
               "    fields: {user.name: \"{b}\"}\n"
               "    set: {event.outcome: failed}\n");
    wharf_conf_errors_t errs = {0};
    assert_int_equal(load(&f, &errs), WHARF_EINVAL_CONFIG);
    assert_null(f.ps);
    char want[5][160];
    snprintf(want[0], 160,
             "%s/bad.yaml:4: rule 'r1': regex: regex does not compile: missing closing "
             "parenthesis at offset 6",
             f.dir);
    snprintf(want[1], 160, "%s/bad.yaml:6: rule 'r2': unknown grok pattern %%{NOPE}", f.dir);
    snprintf(want[2], 160, "%s/bad.yaml:9: rule 'r3': fields: {b} refers to no named group", f.dir);
    snprintf(want[3], 160, "%s/bad.yaml:10: event.outcome: 'failed' is not an ECS allowed value",
             f.dir);
    snprintf(want[4], 160, "%s/bad.yaml:1: parser 'bad': every parser file needs samples", f.dir);
    expect_error_prefixes(&errs, want, 5);
    wharf_conf_errors_free(&errs);
    fx_free(&f);
}

/* A grok capture %{P:name} names a field, not a group: reading it as a
 * group (from a field, or as the kv group) is an error that says so, with
 * or without kv (with kv, {ts} would otherwise read a key of the pairs
 * and leave the field empty). */
static void test_grok_capture_is_no_group(void **state)
{
    (void)state;
    fixture_t f;
    fx_init(&f);
    write_file(&f, "bad.yaml",
               "name: bad\n"
               "rules:\n"
               "  - id: r1\n"
               "    grok: '^%{TIMESTAMP_ISO8601:ts} %{GREEDYDATA:kvtext}'\n"
               "    kv: {group: kvtext}\n"
               "    fields:\n"
               "      \"@timestamp\": {from: ts, type: timestamp}\n"
               "      user.name: \"{user}\"\n"
               "  - id: r2\n"
               "    grok: '^%{WORD:w} (?<t>.*)'\n"
               "    fields: {log.level: \"{w}\"}\n"
               "  - id: r3\n"
               "    regex: '^(?<t>.*)'\n"
               "    fields: {log.level: {from: nope}}\n"
               "samples:\n  - message: x\n    expect: {message: x}\n");
    wharf_conf_errors_t errs = {0};
    assert_int_equal(load(&f, &errs), WHARF_EINVAL_CONFIG);
    char want[4][160];
    snprintf(want[0], 160, "%s/bad.yaml:7: rule 'r1': fields: {ts} is a field the grok expression",
             f.dir);
    snprintf(want[1], 160, "%s/bad.yaml:3: rule 'r1': kv: group: 'kvtext' is a field the grok",
             f.dir);
    snprintf(want[2], 160, "%s/bad.yaml:11: rule 'r2': fields: {w} is a field the grok expression",
             f.dir);
    /* (a `from` to no group leaked its name: valgrind and ASan run this) */
    snprintf(want[3], 160, "%s/bad.yaml:14: rule 'r3': fields: {nope} refers to no named group",
             f.dir);
    expect_error_prefixes(&errs, want, 4);
    /* each says what to write instead */
    assert_non_null(strstr(errs.msgs[0], " writes (%{PATTERN:ts}), not a group: capture into the "
                                         "field you want (%{PATTERN:field.path:type}), or name a "
                                         "group (?<ts>...)"));
    assert_non_null(strstr(errs.msgs[1], " writes (%{PATTERN:kvtext}), not a group: name the "
                                         "group to split (?<kvtext>...)"));
    wharf_conf_errors_free(&errs);
    /* named as groups, the same rule loads and reads both */
    write_file(&f, "bad.yaml",
               "name: bad\n"
               "rules:\n"
               "  - id: r1\n"
               "    grok: '^(?<ts>%{TIMESTAMP_ISO8601}) (?<kvtext>.*)'\n"
               "    kv: {group: kvtext}\n"
               "    fields:\n"
               "      \"@timestamp\": {from: ts, type: timestamp}\n"
               "      user.name: \"{user}\"\n"
               "samples:\n  - message: x\n    expect: {message: x}\n");
    load_ok(&f);
    const char *out = parse(&f, "2026-11-24T10:00:00Z user=bob", NULL);
    assert_non_null(strstr(out, "\"@timestamp\":\"2026-11-24T10:00:00.000000000Z\""));
    assert_non_null(strstr(out, "\"user\":{\"name\":\"bob\"}"));
    fx_free(&f);
}

/* The new rule options fail at load with file and line. */
static void test_kv_load_errors(void **state)
{
    (void)state;
    fixture_t f;
    fx_init(&f);
    write_file(&f, "bad.yaml",
               "name: bad\n"
               "rules:\n"
               "  - id: r1\n"
               "    regex: '(?<a>x)'\n"
               "    kv: {rest: r}\n"
               "  - id: r2\n"
               "    regex: '(?<a>x)'\n"
               "    kv: {group: b}\n"
               "  - id: r3\n"
               "    kv: {group: a}\n"
               "  - id: r4\n"
               "    regex: '(?<a>x)'\n"
               "    fields:\n"
               "      event.outcome: {from: a, type: long, map: {x: success}}\n"
               "      event.type: {from: a, map: {x: [bogus]}}\n"
               "  - id: r5\n"
               "    kv: {nulls: {a: b}, hex: [exe, [x]], multiword: {op: x}}\n"
               "  - id: r6\n"
               "    kv: {qualifiers: [old, \"old auid\"]}\n"
               "  - id: r7\n"
               "    kv: {parens: 1}\n"
               "samples:\n  - message: x\n    expect: {message: x}\n");
    wharf_conf_errors_t errs = {0};
    assert_int_equal(load(&f, &errs), WHARF_EINVAL_CONFIG);
    char want[10][160];
    snprintf(want[0], 160, "%s/bad.yaml:5: rule 'r1': kv: on a regex rule, kv needs {group: NAME}",
             f.dir);
    snprintf(want[1], 160, "%s/bad.yaml:6: rule 'r2': kv: group: 'b' is no named group", f.dir);
    snprintf(want[2], 160, "%s/bad.yaml:10: rule 'r3': kv: group: only a grok or regex rule",
             f.dir);
    snprintf(want[3], 160, "%s/bad.yaml:14: rule 'r4': fields: event.outcome: map gives the value",
             f.dir);
    snprintf(want[4], 160, "%s/bad.yaml:15: event.type: 'bogus' is not an ECS allowed value",
             f.dir);
    snprintf(want[5], 160, "%s/bad.yaml:17: rule 'r5': kv: hex: expected a list of strings", f.dir);
    snprintf(want[6], 160, "%s/bad.yaml:17: rule 'r5': kv: nulls: expected a list of strings",
             f.dir);
    snprintf(want[7], 160, "%s/bad.yaml:17: rule 'r5': kv: multiword: expected a list of strings",
             f.dir);
    snprintf(want[8], 160,
             "%s/bad.yaml:19: rule 'r6': kv: qualifiers: 'old auid' is not one word without ' ' "
             "or '='",
             f.dir);
    snprintf(want[9], 160, "%s/bad.yaml:21: rule 'r7': kv: parens: expected true or false", f.dir);
    expect_error_prefixes(&errs, want, 10);
    wharf_conf_errors_free(&errs);
    fx_free(&f);
}

/* A path no event can take, under fields, set or a grok capture: one
 * message naming where. */
static void test_bad_target_paths(void **state)
{
    (void)state;
    fixture_t f;
    fx_init(&f);
    write_file(&f, "p.yaml",
               "name: p\n"
               "rules:\n"
               "  - id: r\n"
               "    grok: '%{WORD:message.x}'\n"
               "    fields: {\"a..b\": \"{x}\"}\n"
               "    set: {tags: x}\n"
               "samples:\n  - message: x\n    expect: {message: x}\n");
    wharf_conf_errors_t errs = {0};
    assert_int_equal(load(&f, &errs), WHARF_EINVAL_CONFIG);
    const char *tail = "' is not a field path an event can take (malformed, 'tags', or under or "
                       "over a fixed field such as message)";
    char want[3][256];
    snprintf(want[0], 256, "%s/p.yaml:5: rule 'r': fields: 'a..b%s", f.dir, tail);
    snprintf(want[1], 256, "%s/p.yaml:4: rule 'r': grok: 'message.x%s", f.dir, tail);
    snprintf(want[2], 256, "%s/p.yaml:6: rule 'r': set: 'tags%s", f.dir, tail);
    for (int i = 0; i < 3; i++) {
        int seen = 0;
        for (size_t j = 0; j < errs.n; j++)
            seen |= strcmp(errs.msgs[j], want[i]) == 0;
        if (!seen)
            fail_msg("no error '%s'", want[i]);
    }
    wharf_conf_errors_free(&errs);
    fx_free(&f);
}

#define DUPLICATE_KEY_HINT "a key is written once per map; remove or merge one of them"
/* What YAML allows and a parser file does not: a key written twice in one
 * map (the second was dropped), a second document after `---` (ignored),
 * merge keys (reported as a field `<<` at the anchor's line). */
static void test_yaml_structure_errors(void **state)
{
    (void)state;
    fixture_t f;
    fx_init(&f);
    write_file(&f, "a.yaml",
               "name: a\n"
               "rules:\n"
               "  - id: r\n"
               "    regex: '^(?<u>x)'\n"
               "    fields: {user.name: \"{u}\"}\n"
               "    fields: {user.id: \"{u}\"}\n"
               "samples:\n"
               "  - message: x\n"
               "    expect: {message: x}\n"
               "    expect: {user.name: x}\n"
               "---\n"
               "name: a2\n");
    write_file(&f, "b.yaml",
               "name: b\n"
               "rules:\n"
               "  - id: r1\n"
               "    regex: '^x'\n"
               "    set: &s {event.outcome: success}\n"
               "  - id: r2\n"
               "    regex: '^y'\n"
               "    set:\n"
               "      <<: *s\n"
               "      user.name: z\n"
               "samples:\n  - message: x\n    expect: {message: x}\n");
    static const char *const want[] = {
        "a.yaml:6: duplicate key 'fields' (lines 5 and 6): " DUPLICATE_KEY_HINT,
        "a.yaml:10: duplicate key 'expect' (lines 9 and 10): " DUPLICATE_KEY_HINT,
        "a.yaml:11: a second YAML document (---): one parser per file; move it to a file of its "
        "own",
        "b.yaml:9: YAML merge keys (<<) are not supported: write the keys out in this map",
    };
    expect_load_errors(&f, want, sizeof(want) / sizeof(want[0]));
    fx_free(&f);
}
#undef DUPLICATE_KEY_HINT

/* The YAML errors regex and grok authors meet most say what to write:
 * backslashes in double quotes, a value or key starting with % or @. Other
 * YAML errors are libyaml's words alone. */
static void test_yaml_quoting_hints(void **state)
{
    (void)state;
    fixture_t f;
    fx_init(&f);
    write_file(&f, "a.yaml", "name: a\nrules:\n  - id: r\n    regex: \"^(?<n>\\d+)\"\n");
    write_file(&f, "b.yaml", "name: b\nrules:\n  - id: r\n    grok: %{WORD:user.name} x\n");
    write_file(&f, "c.yaml",
               "name: c\nrules:\n  - id: r\n    regex: '^(?<t>.*)'\n    fields:\n"
               "      @timestamp: {from: t, type: timestamp}\n");
    write_file(&f, "d.yaml", "name: d\nrules:\n  - id: r\n   regex: x\n");
    static const char *const want[] = {
        "a.yaml:4: YAML: found unknown escape character (in double quotes YAML reads "
        "backslashes as escapes: write a regex in single quotes, '^(?<n>\\d+)')",
        "b.yaml:4: YAML: found character that cannot start any token (quote a value or key "
        "that starts with % or @: grok: '%{WORD:user.name} ...', \"@timestamp\": ...)",
        "c.yaml:6: YAML: found character that cannot start any token (quote a value or key "
        "that starts with % or @: grok: '%{WORD:user.name} ...', \"@timestamp\": ...)",
        "d.yaml:4: YAML: did not find expected '-' indicator",
    };
    expect_load_errors(&f, want, sizeof(want) / sizeof(want[0]));
    fx_free(&f);
}

/* A when item with no condition matched nothing, `when: []` made the
 * parser run on every event, and a rule id used twice named two rules:
 * all three fail at load. */
static void test_when_and_rule_id_errors(void **state)
{
    (void)state;
    fixture_t f;
    fx_init(&f);
    write_parser(&f, "a.yaml",
                 "name: a\n"
                 "when: [{process.name: x}, {}]\n"
                 "rules:\n"
                 "  - id: r\n"
                 "    regex: '^x'\n"
                 "  - id: s\n"
                 "    regex: '^y'\n"
                 "  - id: r\n"
                 "    regex: '^z'\n");
    write_parser(&f, "b.yaml",
                 "name: b\n"
                 "when: []\n"
                 "rules:\n"
                 "  - id: r\n"
                 "    regex: '^x'\n");
    static const char *const want[] = {
        "a.yaml:2: when: an empty condition {} matches no event; give it field: value pairs or "
        "remove it",
        "a.yaml:8: rule id 'r' is also the id of the rule at line 4: give each rule of a parser "
        "its own id",
        "b.yaml:2: when: an empty list: list conditions, or remove 'when' to try the parser on "
        "every event",
    };
    expect_load_errors(&f, want, sizeof(want) / sizeof(want[0]));
    fx_free(&f);
}

/* @timestamp written as text shipped free text as the event's time, and a
 * format without type: timestamp was ignored: both fail at load, in
 * fields, grok captures and set. */
static void test_timestamp_type_errors(void **state)
{
    (void)state;
    fixture_t f;
    fx_init(&f);
    write_parser(&f, "t.yaml",
                 "name: t\n"
                 "rules:\n"
                 "  - id: tpl\n"
                 "    regex: '^(?<ts>\\S+)'\n"
                 "    fields: {\"@timestamp\": \"{ts}\"}\n"
                 "  - id: long\n"
                 "    regex: '^(?<ts>\\S+)'\n"
                 "    fields: {\"@timestamp\": {from: ts, type: long}}\n"
                 "  - id: fmt\n"
                 "    regex: '^(?<ts>\\S+)'\n"
                 "    fields: {x.t: {from: ts, format: \"%H:%M\"}}\n"
                 "  - id: grok\n"
                 "    grok: '%{NOTSPACE:@timestamp}'\n"
                 "  - id: set\n"
                 "    regex: '^x'\n"
                 "    set: {\"@timestamp\": \"2024-01-01T00:00:00Z\"}\n"
                 "  - id: ok\n"
                 "    grok: '%{NOTSPACE:@timestamp:timestamp} (?<ts>\\S+)'\n"
                 "    fields: {x.t: {from: [ts], type: timestamp, format: \"%H:%M\"}}\n");
    static const char *const want[] = {
        "t.yaml:5: rule 'tpl': fields: @timestamp needs type: timestamp (write \"@timestamp\": "
        "{from: NAME, type: timestamp})",
        "t.yaml:8: rule 'long': fields: @timestamp needs type: timestamp (write \"@timestamp\": "
        "{from: NAME, type: timestamp})",
        "t.yaml:11: rule 'fmt': fields: x.t: format needs type: timestamp (it is the strptime "
        "format of a time; add type: timestamp or remove format)",
        "t.yaml:13: rule 'grok': grok: @timestamp needs type timestamp (write "
        "%{PATTERN:@timestamp:timestamp})",
        "t.yaml:16: rule 'set': set: @timestamp needs type: timestamp, which set does not give; "
        "read it under fields with {from: NAME, type: timestamp}",
    };
    expect_load_errors(&f, want, sizeof(want) / sizeof(want[0]));
    fx_free(&f);
}

#define ECS_FREE_TEXT_HINT                                                                         \
    "takes only ECS allowed values, which free text from the message is not checked against; "     \
    "choose them with {from: NAME, map: {TEXT: VALUE}} (checked at load) or use set"
/* The ECS value check of event.category/type/outcome/kind was passed by a
 * constant that is no string and by free text (a template, from, a grok
 * capture): the constant is checked as written, free text is refused for
 * map:, and a literal template is checked as a constant. */
static void test_ecs_value_bypasses(void **state)
{
    (void)state;
    fixture_t f;
    fx_init(&f);
    write_parser(&f, "e.yaml",
                 "name: e\n"
                 "rules:\n"
                 "  - id: r\n"
                 "    regex: '^(?<n>\\S+)'\n"
                 "    set: {event.outcome: true, event.kind: 1}\n"
                 "    fields:\n"
                 "      event.outcome: \"{n}\"\n"
                 "      event.type: {from: n}\n"
                 "      event.kind: \"evnt\"\n"
                 "      event.category: {from: n, map: {\"*\": [web]}}\n"
                 "  - id: g\n"
                 "    grok: '%{WORD:event.category}'\n");
    static const char *const want[] = {
        "e.yaml:7: rule 'r': fields: event.outcome " ECS_FREE_TEXT_HINT,
        "e.yaml:8: rule 'r': fields: event.type " ECS_FREE_TEXT_HINT,
        "e.yaml:9: event.kind: 'evnt' is not an ECS allowed value (see the ECS field reference for "
        "event.kind)",
        "e.yaml:5: event.outcome: 'true' is not an ECS allowed value (see the ECS field reference "
        "for event.outcome)",
        "e.yaml:5: event.kind: '1' is not an ECS allowed value (see the ECS field reference for "
        "event.kind)",
        "e.yaml:12: rule 'g': grok: event.category " ECS_FREE_TEXT_HINT,
    };
    expect_load_errors(&f, want, sizeof(want) / sizeof(want[0]));
    fx_free(&f);
}
#undef ECS_FREE_TEXT_HINT

/* `set: {user.name: "{ip}"}` gave the text "{ip}": braces around a name
 * the rule could reference (a group of its regex; any key name for json
 * and kv) are an error in set, other braces are literal text. */
static void test_set_template_errors(void **state)
{
    (void)state;
    fixture_t f;
    fx_init(&f);
    write_parser(&f, "s.yaml",
                 "name: s\n"
                 "rules:\n"
                 "  - id: re\n"
                 "    regex: '^(?<ip>\\S+)'\n"
                 "    set:\n"
                 "      user.name: \"{ip}\"\n"
                 "      x.list: [a, \"b{ip}\"]\n"
                 "      x.other: \"{user} {} {ip\"\n"
                 "  - id: js\n"
                 "    json: {}\n"
                 "    set: {x.a: \"{ctx.user}\", x.b: \"{ a b }\", x.c: \"{}\"}\n");
    static const char *const want[] = {
        "s.yaml:6: rule 're': set: user.name: \"{ip}\" looks like a reference to {ip}, but set "
        "takes constants; to read {ip}, put user.name under fields",
        "s.yaml:7: rule 're': set: x.list: \"b{ip}\" looks like a reference to {ip}, but set takes "
        "constants; to read {ip}, put x.list under fields",
        "s.yaml:11: rule 'js': set: x.a: \"{ctx.user}\" looks like a reference to {ctx.user}, but "
        "set takes constants; to read {ctx.user}, put x.a under fields",
    };
    expect_load_errors(&f, want, sizeof(want) / sizeof(want[0]));
    fx_free(&f);
}

/* A regex that does not compile is reported with its rule; a broken grok
 * pattern at its own line with the offset in its text, and a rule that
 * uses it names it (the offset into the whole expanded regex meant
 * nothing); an offset outside every pattern is one in the expression. */
static void test_grok_compile_errors(void **state)
{
    (void)state;
    fixture_t f;
    fx_init(&f);
    write_parser(&f, "g.yaml",
                 "name: g\n"
                 "patterns:\n"
                 "  BAD: '(unclosed'\n"
                 "  USESBAD: 'x %{BAD}'\n"
                 "  BAD2: 'a %{WORD} [b'\n"
                 "rules:\n"
                 "  - id: r1\n"
                 "    grok: '%{BAD} %{IP}'\n"
                 "  - id: r2\n"
                 "    grok: '%{IP:source.ip} (%{WORD}'\n"
                 "  - id: r3\n"
                 "    grok: '%{USESBAD}'\n");
    static const char *const want[] = {
        "g.yaml:3: patterns: BAD: regex does not compile: missing closing parenthesis at offset 9 "
        "of the pattern",
        "g.yaml:4: patterns: USESBAD: regex does not compile: it uses %{BAD}, which does not "
        "compile (patterns:, line 3)",
        "g.yaml:5: patterns: BAD2: regex does not compile: missing terminating ] for character "
        "class at offset 12 of the pattern",
        "g.yaml:8: rule 'r1': grok: regex does not compile: it uses %{BAD}, which does not compile "
        "(patterns:, line 3)",
        "g.yaml:10: rule 'r2': grok: regex does not compile: missing closing parenthesis at offset "
        "24 of the grok expression",
        "g.yaml:12: rule 'r3': grok: regex does not compile: it uses %{USESBAD}, which does not "
        "compile (patterns:, line 4)",
    };
    expect_load_errors(&f, want, sizeof(want) / sizeof(want[0]));
    fx_free(&f);
}

/* Regressions: labels set from a sample route; an empty capture leaves its
 * field unset; quoted kv values lose their escapes; a repeated kv key is
 * one key (the last value) in `rest`. Checked through samples, the way
 * parser authors meet them. */
static void test_regressions_through_samples(void **state)
{
    (void)state;
    fixture_t f;
    fx_init(&f);
    write_file(&f, "kv.yaml",
               "name: kv\n"
               "when: [{container.labels.team.parser: kv}]\n"
               "rules:\n"
               "  - id: r\n"
               "    kv: {rest: kv}\n"
               "    fields: {x.msg: \"{msg}\", x.a: \"{a}\"}\n"
               "samples:\n"
               "  - message: 'msg=\"say \\\"hi\\\"\" a=1 a=2 b=3 b=4'\n"
               "    fields: {container.labels.team.parser: kv}\n"
               "    expect: {x.msg: 'say \"hi\"', x.a: \"2\", kv.b: \"4\"}\n"
               "  - message: 'msg=x'\n"
               "    fields: {container.labels.other: kv}\n"
               "    expect: {x.msg: null}\n");
    write_file(&f, "empty.yaml",
               "name: empty\n"
               "when: [{process.name: e}]\n"
               "rules:\n"
               "  - id: r\n"
               "    regex: '^x(?<a>\\S*) (?<b>.*)$'\n"
               "    fields: {user.name: \"{a}\", x.b: \"{b}\"}\n"
               "samples:\n"
               "  - message: 'x y'\n"
               "    fields: {process.name: e}\n"
               "    expect: {user.name: null, x.b: y, related.user: null}\n");
    load_ok(&f);
    char out[4096] = "";
    FILE *fp = fmemopen(out, sizeof(out), "w");
    wharf_parsers_test_result_t r;
    wharf_parsers_test(f.ps, fp, &r);
    fclose(fp);
    if (r.failed != 0)
        fail_msg("%s", out);
    assert_int_equal(r.passed, 3);
    assert_int_equal(r.untested, 0);
    fx_free(&f);
}

/* Each case {message, @timestamp without its fraction, event.timezone or
 * NULL for none} parsed as at 2024-08-01 (syslog's year is the one nearest). */
static void expect_times(fixture_t *f, const char *const cases[][3], size_t n)
{
    for (size_t i = 0; i < n; i++) {
        wharf_event_t *e = event_begin(f, cases[i][0]);
        wharf_event_slot(e, WHARF_F_EVENT_CREATED, WHARF_V_TIME)->u.i64 =
            at("2024-08-01T00:00:00Z");
        const char *out = event_parse(f);
        char ts[64], zone[64];
        snprintf(ts, sizeof(ts), "{\"@timestamp\":\"%s.000000000Z\",", cases[i][1]);
        snprintf(zone, sizeof(zone), "\"timezone\":\"%s\"", cases[i][2] ? cases[i][2] : "");
        if (strncmp(out, ts, strlen(ts)) != 0 ||
            (cases[i][2] != NULL) != (strstr(out, zone) != NULL) ||
            (cases[i][2] == NULL && strstr(out, "timezone") != NULL))
            fail_msg("'%s': got %s, want @timestamp %s, event.timezone %s", cases[i][0], out,
                     cases[i][1], cases[i][2] ? cases[i][2] : "none");
    }
}

/* timezone: a field's own, the file's for its other timestamp fields (grok
 * captures too), none in another file (UTC); event.timezone only when a
 * zone was applied to a time without an offset that set @timestamp; times
 * with an offset left alone; samples check it as any field. */
static void test_timezones(void **state)
{
    (void)state;
    fixture_t f;
    fx_init(&f);
    write_file(&f, "a.yaml",
               "name: a\n"
               "timezone: America/New_York\n"
               "rules:\n"
               "  - id: own\n"
               "    regex: '^own (?<ts>.+)'\n"
               "    fields:\n"
               "      \"@timestamp\": {from: ts, type: timestamp, timezone: Europe/Berlin}\n"
               "  - id: file\n"
               "    regex: '^file (?<ts>\\S+ \\S+)'\n"
               "    fields:\n"
               "      \"@timestamp\": {from: ts, type: timestamp}\n"
               "      x.t: {from: ts, type: timestamp, timezone: \"+01:00\"}\n"
               "  - id: other\n"
               "    regex: '^other (?<ts>\\S+ \\S+)'\n"
               "    fields: {x.t: {from: ts, type: timestamp, timezone: Europe/Berlin}}\n"
               "  - id: grok\n"
               "    grok: '^grok %{TIMESTAMP_ISO8601:@timestamp:timestamp}'\n"
               "  - id: syslog\n"
               "    regex: '^syslog (?<ts>\\w+ +\\d+ \\S+)'\n"
               "    fields:\n"
               "      \"@timestamp\": {from: ts, type: timestamp, timezone: Europe/Berlin}\n"
               "samples:\n"
               "  - message: own 2024-03-31 02:30:00\n"
               "    expect: {\"@timestamp\": \"2024-03-31T01:30:00Z\", event.timezone: "
               "Europe/Berlin}\n"
               "  - message: own 2024-03-31T02:30:00Z\n"
               "    expect: {\"@timestamp\": \"2024-03-31T02:30:00Z\", event.timezone: null}\n");
    write_file(&f, "b.yaml",
               "name: b\n"
               "rules:\n"
               "  - id: utc\n"
               "    regex: '^utc (?<ts>\\S+ \\S+)'\n"
               "    fields:\n"
               "      \"@timestamp\": {from: ts, type: timestamp}\n"
               "  - id: berlin\n"
               "    regex: '^berlin (?<ts>\\S+ \\S+)'\n"
               "    fields:\n"
               "      \"@timestamp\": {from: ts, type: timestamp, timezone: Europe/Berlin}\n"
               "samples:\n"
               "  - message: utc 2024-03-31 02:30:00\n"
               "    expect: {\"@timestamp\": \"2024-03-31T02:30:00Z\", event.timezone: null}\n");
    load_ok(&f);
    /* message, @timestamp, event.timezone (NULL: none) */
    static const char *const cases[][3] = {
        /* the field's zone: the spring-forward gap keeps +01:00 */
        {"own 2024-03-31 02:30:00", "2024-03-31T01:30:00", "Europe/Berlin"},
        /* the fold's first occurrence (CEST) */
        {"own 2024-10-27 02:30:00", "2024-10-27T00:30:00", "Europe/Berlin"},
        /* an offset of its own: left alone */
        {"own 2024-03-31T02:30:00+05:00", "2024-03-30T21:30:00", NULL},
        {"own 2024-03-31T02:30:00Z", "2024-03-31T02:30:00", NULL},
        /* the file's zone, for fields and grok captures */
        {"file 2024-07-15 12:00:00", "2024-07-15T16:00:00", "America/New_York"},
        {"grok 2024-01-15 12:00:00", "2024-01-15T17:00:00", "America/New_York"},
        {"grok 2024-01-15T12:00:00-03:00", "2024-01-15T15:00:00", NULL},
        /* syslog's year is the one nearest event.created (2024-08-01) */
        {"syslog Jul  4 12:00:00", "2024-07-04T10:00:00", "Europe/Berlin"},
        {"syslog Dec 31 23:30:00", "2024-12-31T22:30:00", "Europe/Berlin"},
        /* another file has no zone: UTC; a field of it names one */
        {"utc 2024-07-15 12:00:00", "2024-07-15T12:00:00", NULL},
        {"berlin 2024-07-15 12:00:00", "2024-07-15T10:00:00", "Europe/Berlin"},
    };
    expect_times(&f, cases, sizeof(cases) / sizeof(cases[0]));
    /* x.t in +01:00 and x.t in Europe/Berlin: no event.timezone, which is
     * @timestamp's */
    const char *out = parse(&f, "file 2024-07-15 12:00:00", NULL);
    assert_non_null(strstr(out, "\"x\":{\"t\":\"2024-07-15T11:00:00.000000000Z\"}"));
    out = parse(&f, "other 2024-07-15 12:00:00", NULL);
    assert_non_null(strstr(out, "\"x\":{\"t\":\"2024-07-15T10:00:00.000000000Z\"}"));
    assert_null(strstr(out, "timezone"));
    char report[4096] = "";
    FILE *fp = fmemopen(report, sizeof(report), "w");
    wharf_parsers_test_result_t r;
    wharf_parsers_test(f.ps, fp, &r);
    fclose(fp);
    if (r.failed != 0)
        fail_msg("%s", report);
    assert_int_equal(r.passed, 3);
    fx_free(&f);
}

/* The set's zone (pipeline.parser_timezone) for times without an offset
 * that no field and no file zones: fields and grok captures of files
 * without a zone take it, with event.timezone; a field's and a file's own
 * zone win; times with an offset stay; an unknown name changes nothing. */
static void test_default_timezone(void **state)
{
    (void)state;
    fixture_t f;
    fx_init(&f);
    write_file(&f, "a.yaml",
               "name: a\n"
               "timezone: America/New_York\n"
               "rules:\n"
               "  - id: file\n"
               "    regex: '^file (?<ts>\\S+ \\S+)'\n"
               "    fields: {\"@timestamp\": {from: ts, type: timestamp}}\n"
               "samples:\n  - message: x\n    expect: {message: x}\n");
    write_file(&f, "b.yaml",
               "name: b\n"
               "rules:\n"
               "  - id: plain\n"
               "    regex: '^plain (?<ts>\\S+ \\S+)'\n"
               "    fields: {\"@timestamp\": {from: ts, type: timestamp}}\n"
               "  - id: own\n"
               "    regex: '^own (?<ts>\\S+ \\S+)'\n"
               "    fields:\n"
               "      \"@timestamp\": {from: ts, type: timestamp, timezone: Europe/Berlin}\n"
               "  - id: grok\n"
               "    grok: '^grok %{SYSLOGTIMESTAMP:@timestamp:timestamp}'\n"
               "samples:\n  - message: x\n    expect: {message: x}\n");
    load_ok(&f);
    assert_int_equal(wharf_parsers_set_timezone(f.ps, "Mars/Olympus_Mons"), -ENOENT);
    assert_non_null(strstr(parse(&f, "plain 2024-07-15 12:00:00", NULL),
                           "\"@timestamp\":\"2024-07-15T12:00:00.000000000Z\""));
    assert_int_equal(wharf_parsers_set_timezone(f.ps, "Asia/Tokyo"), 0);
    /* message, @timestamp, event.timezone (NULL: none) */
    static const char *const cases[][3] = {
        {"plain 2024-07-15 12:00:00", "2024-07-15T03:00:00", "Asia/Tokyo"},
        {"grok Jul 15 12:00:00", "2024-07-15T03:00:00", "Asia/Tokyo"},
        {"plain 2024-07-15 12:00:00+02:00", "2024-07-15T10:00:00", NULL},
        {"own 2024-07-15 12:00:00", "2024-07-15T10:00:00", "Europe/Berlin"},
        {"file 2024-07-15 12:00:00", "2024-07-15T16:00:00", "America/New_York"},
    };
    expect_times(&f, cases, sizeof(cases) / sizeof(cases[0]));
    fx_free(&f);
}

#define TZ_HINT "not in /usr/share/zoneinfo (an IANA name as Europe/Berlin, or an offset as +01:00)"
/* An unknown zone, in the file and on a field; a zone on a field that is
 * no timestamp; a name that is no zone name. */
static void test_timezone_errors(void **state)
{
    (void)state;
    fixture_t f;
    fx_init(&f);
    write_parser(&f, "t.yaml",
                 "name: t\n"
                 "timezone: Europe/Berln\n"
                 "rules:\n"
                 "  - id: r\n"
                 "    regex: '^(?<ts>\\S+)'\n"
                 "    fields:\n"
                 "      a.t: {from: ts, type: timestamp, timezone: Mars/Olympus}\n"
                 "      a.k: {from: ts, timezone: Europe/Berlin}\n"
                 "      a.l: {from: ts, type: long, timezone: UTC}\n"
                 "      a.p: {from: ts, type: timestamp, timezone: ../../etc/passwd}\n"
                 "      a.z: {from: ts, type: timestamp, timezone: Europe/Berlin, zone: x}\n");
    static const char *const want[] = {
        "t.yaml:2: timezone: unknown time zone 'Europe/Berln': " TZ_HINT,
        "t.yaml:7: rule 'r': fields: a.t: unknown time zone 'Mars/Olympus': " TZ_HINT,
        "t.yaml:8: rule 'r': fields: a.k: timezone needs type: timestamp (it is the zone of a "
        "time without an offset; add type: timestamp or remove timezone)",
        "t.yaml:9: rule 'r': fields: a.l: timezone needs type: timestamp (it is the zone of a "
        "time without an offset; add type: timestamp or remove timezone)",
        "t.yaml:10: rule 'r': fields: a.p: unknown time zone '../../etc/passwd': " TZ_HINT,
        "t.yaml:11: unknown key 'zone' in a field mapping (expected one of: from, type, format, "
        "timezone, map, split, case)",
    };
    expect_load_errors(&f, want, sizeof(want) / sizeof(want[0]));
    fx_free(&f);
}

/* The gave_up count of rule `rule` (wharf_parsers_stats callback). */
typedef struct gave_up_query {
    const char *rule;
    uint64_t gave_up;
} gave_up_query_t;

static void gave_up_of(void *arg, const wharf_parser_stat_t *s)
{
    gave_up_query_t *q = arg;
    if (s->rule != NULL && strcmp(s->rule, q->rule) == 0)
        q->gave_up = s->gave_up;
}

static uint64_t rule_gave_up(const fixture_t *f, const char *rule)
{
    gave_up_query_t q = {rule, 0};
    wharf_parsers_stats(f->ps, gave_up_of, &q);
    return q.gave_up;
}

/* A regex that backtracks past the set's match limit gives up on the
 * message: the rule counts as not matching (the next one is tried), the
 * event is tagged and the rule's count shows it; a when condition that
 * gives up is not met. Its first branch needs some 10,000 steps on 20 a's
 * before the second matches: within the default limit, not within 1,000. */
static void test_match_limit(void **state)
{
    (void)state;
    fixture_t f;
    fx_init(&f);
    write_parser(&f, "a.yaml",
                 "name: nested\n"
                 "rules:\n"
                 "  - {id: nested, regex: '^(?:(a|aa)*c|(?<x>a+)!)$', set: {x.r: nested}}\n"
                 "  - {id: plain, regex: '^a+', set: {x.r: plain}}\n");
    write_parser(&f, "b.yaml",
                 "name: gated\n"
                 "when:\n"
                 "  - process.name: {regex: '^(?:(a|aa)*c|a+!)$'}\n"
                 "rules:\n"
                 "  - {id: any, regex: '^', set: {x.g: y}}\n");
    load_ok(&f);
    const char *msg = "aaaaaaaaaaaaaaaaaaaa!";
    assert_string_equal(parse(&f, msg, NULL),
                        "{\"message\":\"aaaaaaaaaaaaaaaaaaaa!\",\"x\":{\"r\":\"nested\"}}\n");
    assert_string_equal(parse(&f, "b", "process.name", msg, NULL),
                        "{\"message\":\"b\",\"process\":{\"name\":\"aaaaaaaaaaaaaaaaaaaa!\"},"
                        "\"x\":{\"g\":\"y\"}}\n");
    assert_int_equal(rule_gave_up(&f, "nested"), 0);
    assert_int_equal(wharf_parsers_set_match_limit(f.ps, 1000), 0);
    assert_string_equal(parse(&f, msg, NULL),
                        "{\"message\":\"aaaaaaaaaaaaaaaaaaaa!\",\"tags\":[\"parser_match_limit\"],"
                        "\"x\":{\"r\":\"plain\"}}\n");
    assert_int_equal(rule_gave_up(&f, "nested"), 1);
    assert_int_equal(rule_gave_up(&f, "plain"), 0);
    /* the condition gives up: not met, tagged (again for the next event
     * with the same value, whose routing is not memoized) */
    for (int i = 0; i < 2; i++)
        assert_string_equal(parse(&f, "b", "process.name", msg, NULL),
                            "{\"message\":\"b\",\"process\":{\"name\":\"aaaaaaaaaaaaaaaaaaaa!\"},"
                            "\"tags\":[\"parser_match_limit\"]}\n");
    /* a message the regex fails on quickly is no match, not given up */
    assert_string_equal(parse(&f, "aaa", NULL), "{\"message\":\"aaa\",\"x\":{\"r\":\"plain\"}}\n");
    assert_int_equal(rule_gave_up(&f, "nested"), 1);
    fx_free(&f);
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* A regex that is not anchored and scans takes time in the square of the
 * message's length within any match limit (about four minutes of a core
 * on this 1 MB line): the time limit makes it give up like the match limit
 * does, and the next rule matches. The same rule matches a short message;
 * an unanchored regex with many quick tries in a long line does not give
 * up under the default limit. */
static void test_time_limit(void **state)
{
    (void)state;
    fixture_t f;
    fx_init(&f);
    write_parser(&f, "a.yaml",
                 "name: scan\n"
                 "rules:\n"
                 "  - {id: scan, regex: '(?=.*?key=(?<v>\\w+) end)', fields: {x.v: \"{v}\"}}\n"
                 "  - {id: plain, regex: '^w', set: {x.r: plain}}\n");
    load_ok(&f);
    size_t n = 1000000;
    char *line = malloc(n + 1);
    assert_non_null(line);
    for (size_t i = 0; i < n; i++)
        line[i] = i == 0 ? 'w' : "abcdefghij klm"[i % 14];
    line[n] = '\0';
    wharf_parsers_set_time_limit(f.ps, 20);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    const char *out = parse(&f, line, NULL);
    double took = seconds_since(&t0);
    assert_true(took < 5.0);
    assert_non_null(strstr(out, "\"tags\":[\"parser_match_limit\"],\"x\":{\"r\":\"plain\"}}"));
    assert_int_equal(rule_gave_up(&f, "scan"), 1);
    assert_string_equal(parse(&f, "key=ok end", NULL),
                        "{\"message\":\"key=ok end\",\"x\":{\"v\":\"ok\"}}\n");
    fx_free(&f);
    fx_init(&f);
    write_parser(&f, "b.yaml",
                 "name: quick\n"
                 "rules:\n"
                 "  - {id: quick, regex: 'Fz', set: {x.r: quick}}\n"
                 "  - {id: plain, regex: '^w', set: {x.r: plain}}\n");
    load_ok(&f);
    for (size_t i = 0; i < 400000; i++)
        line[i] = i == 0 ? 'w' : "xF"[i % 2];
    line[400000] = '\0';
    out = parse(&f, line, NULL);
    assert_null(strstr(out, "\"tags\""));
    assert_non_null(strstr(out, "\"x\":{\"r\":\"plain\"}"));
    assert_int_equal(rule_gave_up(&f, "quick"), 0);
    free(line);
    fx_free(&f);
}

/* A regex that is not anchored is compiled behind the callout that keeps
 * the time limit; what it matches stays as written: leading option
 * settings stay first, a trailing comment of (?x) or an unterminated \\Q
 * does not swallow the wrapping, every branch of a top-level alternation
 * keeps its own start, and a backtracking verb at the start stays in it. */
static void test_regex_as_written(void **state)
{
    (void)state;
    fixture_t f;
    fx_init(&f);
    write_parser(
        &f, "a.yaml",
        "name: forms\n"
        "rules:\n"
        "  - {id: verbs, regex: '(*CRLF)(*LIMIT_MATCH=5000)v(?<a>.)', fields: {x.v: \"{a}\"}}\n"
        "  - {id: extended, regex: '(?x) e (?<b> \\d+ ) # digits', fields: {x.e: \"{b}\"}}\n"
        "  - {id: quoted, regex: 'q\\Q.*', set: {x.q: y}}\n"
        "  - {id: either, regex: '^l(?<c>1)|m(?<c2>2)$', fields: {x.l: \"{c}\", x.m: \"{c2}\"}}\n"
        "  - {id: verb, regex: '(*F)|w(?<d>9)', fields: {x.w: \"{d}\"}}\n");
    load_ok(&f);
    assert_string_equal(parse(&f, "vZ", NULL), "{\"message\":\"vZ\",\"x\":{\"v\":\"Z\"}}\n");
    assert_string_equal(parse(&f, "e42", NULL), "{\"message\":\"e42\",\"x\":{\"e\":\"42\"}}\n");
    assert_string_equal(parse(&f, "q.*", NULL), "{\"message\":\"q.*\",\"x\":{\"q\":\"y\"}}\n");
    assert_string_equal(parse(&f, "qx", NULL), "{\"message\":\"qx\"}\n");
    assert_string_equal(parse(&f, "l1", NULL), "{\"message\":\"l1\",\"x\":{\"l\":\"1\"}}\n");
    assert_string_equal(parse(&f, "zzm2", NULL), "{\"message\":\"zzm2\",\"x\":{\"m\":\"2\"}}\n");
    assert_string_equal(parse(&f, "zl1", NULL), "{\"message\":\"zl1\"}\n");
    assert_string_equal(parse(&f, "aw9", NULL), "{\"message\":\"aw9\",\"x\":{\"w\":\"9\"}}\n");
    fx_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grok_base_library),
        cmocka_unit_test(test_grok_captures_and_errors),
        cmocka_unit_test(test_log_timestamps),
        cmocka_unit_test(test_kv_and_types),
        cmocka_unit_test(test_first_of_converts),
        cmocka_unit_test(test_type_number_edges),
        cmocka_unit_test(test_type_ip_as_inet_pton),
        cmocka_unit_test(test_match_limit),
        cmocka_unit_test(test_time_limit),
        cmocka_unit_test(test_regex_as_written),
        cmocka_unit_test(test_related_sources),
        cmocka_unit_test(test_related_chained),
        cmocka_unit_test(test_json_rule),
        cmocka_unit_test(test_regex_with_kv),
        cmocka_unit_test(test_kv_nulls_list),
        cmocka_unit_test(test_kv_multiword),
        cmocka_unit_test(test_kv_qualifiers),
        cmocka_unit_test(test_kv_parens),
        cmocka_unit_test(test_logfmt_bare_keys),
        cmocka_unit_test(test_numbered_and_split_lists),
        cmocka_unit_test(test_field_case),
        cmocka_unit_test(test_field_case_load_errors),
        cmocka_unit_test(test_list_load_errors),
        cmocka_unit_test(test_field_map),
        cmocka_unit_test(test_regex_prefilter),
        cmocka_unit_test(test_when_regex_memo),
        cmocka_unit_test(test_json_names),
        cmocka_unit_test(test_rest_keeps_unread),
        cmocka_unit_test(test_rest_takes_fields_under_it),
        cmocka_unit_test(test_when_reads_rest_members),
        cmocka_unit_test(test_rest_repeated_names),
        cmocka_unit_test(test_rest_kv_many_keys),
        cmocka_unit_test(test_fields_of_absent_keys),
        cmocka_unit_test(test_rest_fields_replace_event_fields),
        cmocka_unit_test(test_rest_dedot),
        cmocka_unit_test(test_rest_kv_keys_as_written),
        cmocka_unit_test(test_rest_members_keep_fields),
        cmocka_unit_test(test_input_label_repeated),
        cmocka_unit_test(test_set_message_rewrites),
        cmocka_unit_test(test_grok_capture_is_no_group),
        cmocka_unit_test(test_kv_load_errors),
        cmocka_unit_test(test_bad_target_paths),
        cmocka_unit_test(test_chain_ends),
        cmocka_unit_test(test_chain_reroutes),
        cmocka_unit_test(test_first_round_memo),
        cmocka_unit_test(test_first_round_memo_values),
        cmocka_unit_test(test_load_errors_have_lines),
        cmocka_unit_test(test_regressions_through_samples),
        cmocka_unit_test(test_yaml_structure_errors),
        cmocka_unit_test(test_yaml_quoting_hints),
        cmocka_unit_test(test_when_and_rule_id_errors),
        cmocka_unit_test(test_timestamp_type_errors),
        cmocka_unit_test(test_ecs_value_bypasses),
        cmocka_unit_test(test_set_template_errors),
        cmocka_unit_test(test_grok_compile_errors),
        cmocka_unit_test(test_timezones),
        cmocka_unit_test(test_default_timezone),
        cmocka_unit_test(test_timezone_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
