/* test_json.c - the JSON writer: escaping, UTF-8 repair, nesting, values,
 * dynamic fields and the writer's time cache. Every test compares exact
 * bytes. */
#include "wharf/json.h"
#include "wharf/json_tree.h"
#include "wharf/timefmt.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
/* cmocka.h needs the headers above. */
#include <cmocka.h>

#define FFFD "\xef\xbf\xbd"

/* ---- helpers ------------------------------------------------------------ */

static char *write_string(const char *s, size_t n, size_t *replaced)
{
    wharf_buf_t b;
    wharf_buf_init(&b);
    size_t r = wharf_json_write_string(&b, s, n);
    if (replaced)
        *replaced = r;
    wharf_buf_putc(&b, '\0');
    return b.data;
}

static void check_string(const char *in, size_t n, const char *want, size_t want_replaced)
{
    size_t replaced = 99;
    char *got = write_string(in, n, &replaced);
    assert_string_equal(got, want);
    assert_int_equal(replaced, want_replaced);
    free(got);
}

#define CHECK_STR(lit, want, nrep) check_string((lit), sizeof(lit) - 1, (want), (nrep))

typedef struct fixture {
    wharf_arena_t arena;
    wharf_event_t e;
} fixture_t;

static void fx_init(fixture_t *fx)
{
    memset(fx, 0, sizeof(*fx));
    wharf_arena_init(&fx->arena, 1024);
    fx->e.arena = &fx->arena;
    wharf_event_clear(&fx->e);
}

static void fx_free(fixture_t *fx)
{
    wharf_arena_free(&fx->arena);
}

static char *write_event_with(wharf_json_writer_t *w, const wharf_event_t *e)
{
    wharf_buf_t b;
    wharf_buf_init(&b);
    assert_int_equal(wharf_json_write_event(w, e, &b), 0);
    wharf_buf_putc(&b, '\0');
    return b.data;
}

static char *write_event(const wharf_event_t *e)
{
    wharf_json_writer_t w;
    wharf_json_writer_init(&w);
    return write_event_with(&w, e);
}

static void check_event(const wharf_event_t *e, const char *want)
{
    char *got = write_event(e);
    assert_string_equal(got, want);
    free(got);
}

static void dyn_str(wharf_event_t *e, const char *path, const char *s)
{
    wharf_value_t *v = wharf_event_set_path(e, path, strlen(path), WHARF_V_STR);
    assert_non_null(v);
    v->u.str = (wharf_str_t){s, strlen(s)};
}

static void dyn_long(wharf_event_t *e, const char *path, int64_t i)
{
    wharf_value_t *v = wharf_event_set_path(e, path, strlen(path), WHARF_V_LONG);
    assert_non_null(v);
    v->u.i64 = i;
}

/* ---- wharf_json_write_string ------------------------------------------- */

static void test_string_plain_ascii(void **state)
{
    CHECK_STR("", "\"\"", 0);
    CHECK_STR("a", "\"a\"", 0);
    CHECK_STR("plain text, long enough for eight-byte runs",
              "\"plain text, long enough for "
              "eight-byte runs\"",
              0);
    /* every printable ASCII byte but '"' and '\\' is copied as is; '/' too */
    char in[95], want[200];
    size_t n = 0, w = 0;
    want[w++] = '"';
    for (int c = 0x20; c < 0x7f; c++) {
        in[n++] = (char)c;
        if (c == '"' || c == '\\')
            want[w++] = '\\';
        want[w++] = (char)c;
    }
    want[w++] = '"';
    want[w] = '\0';
    check_string(in, n, want, 0);
    /* DEL is not a control character for JSON */
    CHECK_STR("\x7f", "\"\x7f\"", 0);
}

static void test_string_quote_backslash(void **state)
{
    CHECK_STR("\"", "\"\\\"\"", 0);
    CHECK_STR("\\", "\"\\\\\"", 0);
    CHECK_STR("q\"b\\s/", "\"q\\\"b\\\\s/\"", 0);
    CHECK_STR("\\\"\\\"", "\"\\\\\\\"\\\\\\\"\"", 0);
    /* in the middle of an eight-byte run */
    CHECK_STR("abcdefg\"hijklmno\\pqrstuvw", "\"abcdefg\\\"hijklmno\\\\pqrstuvw\"", 0);
}

static void test_string_every_control_char(void **state)
{
    static const char hex[] = "0123456789abcdef";
    for (int c = 0; c < 0x20; c++) {
        char want[16];
        switch (c) {
        case '\b':
            strcpy(want, "\"\\b\"");
            break;
        case '\t':
            strcpy(want, "\"\\t\"");
            break;
        case '\n':
            strcpy(want, "\"\\n\"");
            break;
        case '\f':
            strcpy(want, "\"\\f\"");
            break;
        case '\r':
            strcpy(want, "\"\\r\"");
            break;
        default:
            snprintf(want, sizeof(want), "\"\\u00%c%c\"", hex[c >> 4], hex[c & 15]);
        }
        char in[1] = {(char)c};
        check_string(in, 1, want, 0);
    }
    /* all 32 in one string, and at every position of a fast-path block */
    CHECK_STR("\n\t\r\b\f", "\"\\n\\t\\r\\b\\f\"", 0);
    CHECK_STR("\x01\x1f\x00x", "\"\\u0001\\u001f\\u0000x\"", 0);
    for (size_t pos = 0; pos < 24; pos++) {
        char in[24], want[64];
        memset(in, 'x', sizeof(in));
        in[pos] = '\x1b';
        size_t w = 0;
        want[w++] = '"';
        for (size_t i = 0; i < sizeof(in); i++) {
            if (i == pos) {
                memcpy(want + w, "\\u001b", 6);
                w += 6;
            } else {
                want[w++] = 'x';
            }
        }
        want[w++] = '"';
        want[w] = '\0';
        check_string(in, sizeof(in), want, 0);
    }
}

static void test_string_valid_utf8_kept(void **state)
{
    /* 2, 3 and 4 byte sequences */
    CHECK_STR("\xc3\xa9", "\"\xc3\xa9\"", 0);
    CHECK_STR("\xe2\x82\xac", "\"\xe2\x82\xac\"", 0);
    CHECK_STR("\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\"", 0);
    CHECK_STR("caf\xc3\xa9 \xe2\x82\xac"
              "5 \xf0\x9f\x98\x80!",
              "\"caf\xc3\xa9 \xe2\x82\xac"
              "5 \xf0\x9f\x98\x80!\"",
              0);
    /* boundaries of each length, and around the surrogate range */
    CHECK_STR("\xc2\x80", "\"\xc2\x80\"", 0);                 /* U+0080 */
    CHECK_STR("\xdf\xbf", "\"\xdf\xbf\"", 0);                 /* U+07FF */
    CHECK_STR("\xe0\xa0\x80", "\"\xe0\xa0\x80\"", 0);         /* U+0800 */
    CHECK_STR("\xed\x9f\xbf", "\"\xed\x9f\xbf\"", 0);         /* U+D7FF */
    CHECK_STR("\xee\x80\x80", "\"\xee\x80\x80\"", 0);         /* U+E000 */
    CHECK_STR("\xef\xbf\xbf", "\"\xef\xbf\xbf\"", 0);         /* U+FFFF */
    CHECK_STR("\xf0\x90\x80\x80", "\"\xf0\x90\x80\x80\"", 0); /* U+10000 */
    CHECK_STR("\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\"", 0); /* U+10FFFF */
    CHECK_STR(FFFD, "\"" FFFD "\"", 0);                       /* U+FFFD itself */
    /* multi-byte right after a fast-path block of ASCII */
    CHECK_STR("12345678\xc3\xa9", "\"12345678\xc3\xa9\"", 0);
}

static void test_string_invalid_utf8_replaced(void **state)
{
    /* lone continuation bytes */
    CHECK_STR("a\x80z", "\"a" FFFD "z\"", 1);
    CHECK_STR("\xbf", "\"" FFFD "\"", 1);
    CHECK_STR("\x80\x80\x80", "\"" FFFD FFFD FFFD "\"", 3);
    /* overlong forms */
    CHECK_STR("\xc0\x80", "\"" FFFD FFFD "\"", 2);
    CHECK_STR("\xc1\xbf", "\"" FFFD FFFD "\"", 2);
    CHECK_STR("\xe0\x80\x80", "\"" FFFD FFFD FFFD "\"", 3);
    CHECK_STR("\xf0\x80\x80\x80", "\"" FFFD FFFD FFFD FFFD "\"", 4);
    /* UTF-16 surrogates encoded in UTF-8 */
    CHECK_STR("\xed\xa0\x80", "\"" FFFD FFFD FFFD "\"", 3);
    CHECK_STR("\xed\xbf\xbf", "\"" FFFD FFFD FFFD "\"", 3);
    /* beyond U+10FFFF and bytes that never occur */
    CHECK_STR("\xf4\x90\x80\x80", "\"" FFFD FFFD FFFD FFFD "\"", 4);
    CHECK_STR("\xf5\x80\x80\x80", "\"" FFFD FFFD FFFD FFFD "\"", 4);
    CHECK_STR("\xf8\x88\x80\x80\x80", "\"" FFFD FFFD FFFD FFFD FFFD "\"", 5);
    CHECK_STR("\xfe\xff", "\"" FFFD FFFD "\"", 2);
    /* truncated sequences, at the end and in the middle */
    CHECK_STR("ok\xe2\x82", "\"ok" FFFD FFFD "\"", 2);
    CHECK_STR("\xc3", "\"" FFFD "\"", 1);
    CHECK_STR("\xf0\x9f\x98", "\"" FFFD FFFD FFFD "\"", 3);
    CHECK_STR("a\xc3"
              "b",
              "\"a" FFFD "b\"", 1);
    CHECK_STR("\xe2\x82"
              "a",
              "\"" FFFD FFFD "a\"", 2);
    /* bad bytes mixed with escapes and good sequences */
    CHECK_STR("\"\xff\n\xc3\xa9\x80", "\"\\\"" FFFD "\\n\xc3\xa9" FFFD "\"", 2);
    /* Latin-1 text, as a misconfigured app writes it */
    CHECK_STR("caf\xe9 cr\xe8me", "\"caf" FFFD " cr" FFFD "me\"", 2);
}

static void test_string_appends(void **state)
{
    /* the writer appends to what the buffer holds */
    wharf_buf_t b;
    wharf_buf_init(&b);
    wharf_buf_lit(&b, "[");
    wharf_json_write_string(&b, "a", 1);
    wharf_buf_putc(&b, ',');
    assert_int_equal(wharf_json_write_string(&b, "\x80", 1), 1);
    wharf_buf_putc(&b, ']');
    assert_int_equal(b.len, strlen("[\"a\",\"" FFFD "\"]"));
    assert_memory_equal(b.data, "[\"a\",\"" FFFD "\"]", b.len);
    wharf_buf_free(&b);

    /* a large string of nothing but bytes to escape (worst case growth) */
    size_t n = 100000;
    char *in = malloc(n);
    assert_non_null(in);
    memset(in, 0x01, n);
    wharf_buf_init(&b);
    assert_int_equal(wharf_json_write_string(&b, in, n), 0);
    assert_int_equal(b.len, n * 6 + 2);
    assert_memory_equal(b.data + 1 + 6 * 777, "\\u0001", 6);
    wharf_buf_free(&b);
    memset(in, 0xff, n);
    wharf_buf_init(&b);
    assert_int_equal(wharf_json_write_string(&b, in, n), n);
    assert_int_equal(b.len, n * 3 + 2);
    wharf_buf_free(&b);
    free(in);
}

/* Every length up to 40 (the short copies, the word and block scans and
 * their overlapping tails) with one byte that needs care at every place:
 * a quote, a control byte, a bad byte and a two-byte character, against
 * the output built byte by byte; the input is its own allocation, so that
 * the sanitizers see a read past its end. */
static void test_string_every_length_and_place(void **state)
{
    static const char *const care[][2] = {
        {"\"", "\\\""}, {"\n", "\\n"}, {"\xff", FFFD}, {"\xc3\xa9", "\xc3\xa9"}};
    for (size_t len = 0; len <= 40; len++)
        for (size_t at = 0; at <= len; at++)
            for (size_t c = 0; c < sizeof(care) / sizeof(care[0]); c++) {
                size_t clen = at < len ? strlen(care[c][0]) : 0;
                char *in = malloc(len + clen + 1);
                char want[128];
                assert_non_null(in);
                size_t n = 0, w = 0;
                want[w++] = '"';
                for (size_t i = 0; i < len; i++) {
                    if (i == at && clen > 0) {
                        memcpy(in + n, care[c][0], clen);
                        n += clen;
                        memcpy(want + w, care[c][1], strlen(care[c][1]));
                        w += strlen(care[c][1]);
                    }
                    in[n++] = (char)('a' + i % 26);
                    want[w++] = (char)('a' + i % 26);
                }
                want[w++] = '"';
                want[w] = '\0';
                check_string(in, n, want, clen > 0 && c == 2);
                free(in);
            }
}

static void test_utf8_valid(void **state)
{
    assert_true(wharf_utf8_valid("", 0));
    assert_true(wharf_utf8_valid("plain", 5));
    assert_true(wharf_utf8_valid("\x00\x01", 2));
    assert_true(wharf_utf8_valid("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9));
    assert_true(wharf_utf8_valid("\xc2\x80\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80", 13));
    assert_true(wharf_utf8_valid("\xf0\x90\x80\x80\xf4\x8f\xbf\xbf", 8));
    /* only the first n bytes count */
    assert_true(wharf_utf8_valid("ab\xff", 2));

    static const struct {
        const char *s;
        size_t n;
    } bad[] = {
        {"\x80", 1},
        {"a\xbf", 2},
        {"\xc0\x80", 2},
        {"\xc1\xbf", 2},
        {"\xe0\x80\x80", 3},
        {"\xe0\x9f\xbf", 3},
        {"\xed\xa0\x80", 3},
        {"\xed\xbf\xbf", 3},
        {"\xf0\x8f\xbf\xbf", 4},
        {"\xf4\x90\x80\x80", 4},
        {"\xf5\x80\x80\x80", 4},
        {"\xff", 1},
        {"\xc3", 1},
        {"ok\xe2\x82", 4},
        {"\xf0\x9f\x98", 3},
        {"\xc3\x28", 2},
        {"\xe2\x28\xa1", 3},
        {"\xc3\xa9\x80", 3},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (wharf_utf8_valid(bad[i].s, bad[i].n))
            fail_msg("bad UTF-8 #%zu taken as valid", i);
        /* and the writer replaces at least one byte of each */
        size_t rep;
        char *s = write_string(bad[i].s, bad[i].n, &rep);
        assert_true(rep > 0);
        free(s);
    }
}

/* ---- wharf_json_write_event: static fields ------------------------------ */

static void test_event_empty(void **state)
{
    fixture_t fx;
    fx_init(&fx);
    check_event(&fx.e, "{}\n");
    fx_free(&fx);
}

static void test_event_nesting(void **state)
{
    fixture_t fx;
    fx_init(&fx);
    wharf_event_t *e = &fx.e;
    wharf_event_set_time(e, WHARF_F_TIMESTAMP, INT64_C(1457045931338462311));
    wharf_event_set_cstr(e, WHARF_F_CONTAINER_ID, "abc");
    wharf_event_set_cstr(e, WHARF_F_CONTAINER_IMAGE_NAME, "nginx");
    wharf_event_set_raw(e, WHARF_F_CONTAINER_LABELS, "{\"a\":\"b\"}", 9);
    wharf_event_set_bool(e, WHARF_F_CONTAINER_SC_PRIVILEGED, 1);
    wharf_event_set_cstr(e, WHARF_F_LOG_FILE_PATH, "/x");
    wharf_event_set_long(e, WHARF_F_LOG_OFFSET, -42);
    wharf_event_set_cstr(e, WHARF_F_MESSAGE, "hi");
    wharf_event_tag(e, WHARF_TAG_TRUNCATED);
    wharf_event_tag(e, WHARF_TAG_INVALID_JSON);
    check_event(e, "{\"@timestamp\":\"2016-03-03T22:58:51.338462311Z\","
                   "\"container\":{\"id\":\"abc\",\"image\":{\"name\":\"nginx\"},"
                   "\"labels\":{\"a\":\"b\"},\"security_context\":{\"privileged\":true}},"
                   "\"log\":{\"file\":{\"path\":\"/x\"},\"offset\":-42},"
                   "\"message\":\"hi\",\"tags\":[\"truncated\",\"invalid_json\"]}\n");
    fx_free(&fx);
}

/* Every static field at once: each nested object is opened once, closed once,
 * and the keys come in the table's order. */
static void test_event_every_field(void **state)
{
    fixture_t fx;
    fx_init(&fx);
    wharf_event_t *e = &fx.e;
    static const wharf_str_t hashes[] = {{"sha256:aa", 9}, {"sha256:bb", 9}};
    static const wharf_str_t tag[] = {{"1.25", 4}};
    static const wharf_str_t caps[] = {{"NET_ADMIN", 9}};
    /* set in reverse table order: the writer's order must not depend on it */
    wharf_event_tag(e, WHARF_TAG_PARTIAL_UNTERMINATED);
    wharf_event_tag(e, WHARF_TAG_TRUNCATED);
    wharf_event_set_cstr(e, WHARF_F_STREAM, "stdout");
    wharf_event_set_cstr(e, WHARF_F_ORCHESTRATOR_TYPE, "kubernetes");
    wharf_event_set_cstr(e, WHARF_F_ORCHESTRATOR_RESOURCE_TYPE, "pod");
    wharf_event_set_cstr(e, WHARF_F_ORCHESTRATOR_RESOURCE_NAME, "web-0");
    wharf_event_set_cstr(e, WHARF_F_ORCHESTRATOR_NAMESPACE, "prod");
    wharf_event_set_cstr(e, WHARF_F_MESSAGE, "GET / \"x\"\n");
    wharf_event_set_long(e, WHARF_F_LOG_OFFSET, 1234);
    wharf_event_set_cstr(e, WHARF_F_LOG_FILE_PATH,
                         "/var/lib/docker/containers/c0ffee/c0ffee-json.log");
    wharf_event_set_cstr(e, WHARF_F_KUBERNETES_POD_UID, "u-1");
    wharf_event_set_cstr(e, WHARF_F_HOST_NAME, "h1");
    wharf_event_set_cstr(e, WHARF_F_EVENT_KIND, "event");
    wharf_event_set_cstr(e, WHARF_F_EVENT_DATASET, "docker.container_logs");
    wharf_event_set_time(e, WHARF_F_EVENT_CREATED, INT64_C(1456959600000000001));
    wharf_event_set_raw(e, WHARF_F_ECS_VERSION, "\"9.4.0\"", 7);
    wharf_event_set_cstr(e, WHARF_F_CONTAINER_SC_USER, "");
    wharf_event_set_bool(e, WHARF_F_CONTAINER_SC_RUN_AS_ROOT, 1);
    wharf_event_set_bool(e, WHARF_F_CONTAINER_SC_READ_ONLY_ROOTFS, 0);
    wharf_event_set_bool(e, WHARF_F_CONTAINER_SC_PRIVILEGED, 7);
    wharf_event_set_bool(e, WHARF_F_CONTAINER_SC_HOST_PID, 0);
    wharf_event_set_bool(e, WHARF_F_CONTAINER_SC_HOST_NETWORK, 1);
    wharf_event_set_strs(e, WHARF_F_CONTAINER_SC_CAP_ADD, caps, 1);
    wharf_event_set_cstr(e, WHARF_F_CONTAINER_RUNTIME, "docker");
    wharf_event_set_cstr(e, WHARF_F_CONTAINER_NAME, "web-1");
    wharf_event_set_raw(e, WHARF_F_CONTAINER_LABELS, "{\"app\":\"web\",\"a_b\":\"c\"}",
                        strlen("{\"app\":\"web\",\"a_b\":\"c\"}"));
    wharf_event_set_strs(e, WHARF_F_CONTAINER_IMAGE_TAG, tag, 1);
    wharf_event_set_cstr(e, WHARF_F_CONTAINER_IMAGE_NAME, "nginx");
    wharf_event_set_strs(e, WHARF_F_CONTAINER_IMAGE_HASH_ALL, hashes, 2);
    wharf_event_set_cstr(e, WHARF_F_CONTAINER_ID, "c0ffee");
    wharf_event_set_raw(e, WHARF_F_AGENT_VERSION, "\"0.1.0\"", 7);
    wharf_event_set_raw(e, WHARF_F_AGENT_TYPE, "\"wharf\"", 7);
    wharf_event_set_time(e, WHARF_F_TIMESTAMP, INT64_C(1456959531338462311));
    check_event(e, "{\"@timestamp\":\"2016-03-02T22:58:51.338462311Z\","
                   "\"agent\":{\"type\":\"wharf\",\"version\":\"0.1.0\"},"
                   "\"container\":{\"id\":\"c0ffee\","
                   "\"image\":{\"hash\":{\"all\":[\"sha256:aa\",\"sha256:bb\"]},"
                   "\"name\":\"nginx\",\"tag\":[\"1.25\"]},"
                   "\"labels\":{\"app\":\"web\",\"a_b\":\"c\"},\"name\":\"web-1\","
                   "\"runtime\":\"docker\","
                   "\"security_context\":{\"capabilities\":{\"add\":[\"NET_ADMIN\"]},"
                   "\"host_network\":true,\"host_pid\":false,\"privileged\":true,"
                   "\"read_only_root_filesystem\":false,\"run_as_root\":true,\"user\":\"\"}},"
                   "\"ecs\":{\"version\":\"9.4.0\"},"
                   "\"event\":{\"created\":\"2016-03-02T23:00:00.000000001Z\","
                   "\"dataset\":\"docker.container_logs\",\"kind\":\"event\"},"
                   "\"host\":{\"name\":\"h1\"},"
                   "\"kubernetes\":{\"pod\":{\"uid\":\"u-1\"}},"
                   "\"log\":{\"file\":{\"path\":"
                   "\"/var/lib/docker/containers/c0ffee/c0ffee-json.log\"},\"offset\":1234},"
                   "\"message\":\"GET / \\\"x\\\"\\n\","
                   "\"orchestrator\":{\"namespace\":\"prod\",\"resource\":{\"name\":\"web-0\","
                   "\"type\":\"pod\"},\"type\":\"kubernetes\"},"
                   "\"stream\":\"stdout\",\"tags\":[\"truncated\",\"partial_unterminated\"]}\n");
    fx_free(&fx);
}

/* Sparse events: objects closed at the right depth whatever comes next. */
static void test_event_sparse(void **state)
{
    fixture_t fx;
    fx_init(&fx);
    wharf_event_t *e = &fx.e;
    static const wharf_str_t caps[] = {{"A", 1}, {"B", 1}};

    wharf_event_set_strs(e, WHARF_F_CONTAINER_SC_CAP_ADD, caps, 2);
    check_event(e, "{\"container\":{\"security_context\":{\"capabilities\":{\"add\":[\"A\","
                   "\"B\"]}}}}\n");

    wharf_event_set_cstr(e, WHARF_F_STREAM, "stderr");
    check_event(e, "{\"container\":{\"security_context\":{\"capabilities\":{\"add\":[\"A\","
                   "\"B\"]}}},\"stream\":\"stderr\"}\n");

    wharf_event_set_cstr(e, WHARF_F_CONTAINER_SC_USER, "1000");
    check_event(e, "{\"container\":{\"security_context\":{\"capabilities\":{\"add\":[\"A\","
                   "\"B\"]},\"user\":\"1000\"}},\"stream\":\"stderr\"}\n");

    wharf_event_clear(e);
    wharf_event_set_cstr(e, WHARF_F_CONTAINER_IMAGE_NAME, "n");
    wharf_event_set_cstr(e, WHARF_F_KUBERNETES_POD_UID, "u");
    wharf_event_set_cstr(e, WHARF_F_ORCHESTRATOR_RESOURCE_TYPE, "pod");
    check_event(e, "{\"container\":{\"image\":{\"name\":\"n\"}},\"kubernetes\":{\"pod\":{\"uid\":"
                   "\"u\"}},\"orchestrator\":{\"resource\":{\"type\":\"pod\"}}}\n");

    /* unset removes the field */
    wharf_event_unset(e, WHARF_F_KUBERNETES_POD_UID);
    check_event(e, "{\"container\":{\"image\":{\"name\":\"n\"}},"
                   "\"orchestrator\":{\"resource\":{\"type\":\"pod\"}}}\n");

    /* tags only, in the tag enum's order whatever the order they were set */
    wharf_event_clear(e);
    wharf_event_tag(e, WHARF_TAG_INVALID_CRI);
    wharf_event_tag(e, WHARF_TAG_TRUNCATED);
    check_event(e, "{\"tags\":[\"truncated\",\"invalid_cri\"]}\n");
    wharf_event_tag(e, WHARF_TAG_PARTIAL_UNTERMINATED);
    wharf_event_tag(e, WHARF_TAG_INVALID_JSON);
    check_event(e, "{\"tags\":[\"truncated\",\"invalid_json\",\"invalid_cri\","
                   "\"partial_unterminated\"]}\n");
    fx_free(&fx);
}

static void test_event_strings_sanitized(void **state)
{
    fixture_t fx;
    fx_init(&fx);
    wharf_event_t *e = &fx.e;
    static const wharf_str_t tags[] = {{"a\"", 2}, {"\x80", 1}, {"", 0}};
    wharf_event_set_str(e, WHARF_F_MESSAGE, "a\0b\x1b\xff\xc3\xa9", 7);
    wharf_event_set_strs(e, WHARF_F_CONTAINER_IMAGE_TAG, tags, 3);
    check_event(e, "{\"container\":{\"image\":{\"tag\":[\"a\\\"\",\"" FFFD "\",\"\"]}},"
                   "\"message\":\"a\\u0000b\\u001b" FFFD "\xc3\xa9\"}\n");
    /* an empty array */
    wharf_event_set_strs(e, WHARF_F_CONTAINER_IMAGE_TAG, tags, 0);
    check_event(e, "{\"container\":{\"image\":{\"tag\":[]}},"
                   "\"message\":\"a\\u0000b\\u001b" FFFD "\xc3\xa9\"}\n");
    fx_free(&fx);
}

static void test_event_values(void **state)
{
    fixture_t fx;
    fx_init(&fx);
    wharf_event_t *e = &fx.e;
    wharf_value_t *v;
    static const wharf_str_t two[] = {{"x", 1}, {"y\n", 2}};

#define DYN(path, type)                                                                            \
    (v = wharf_event_set_path(e, (path), strlen(path), (type)), assert_non_null(v))
    DYN("v.01", WHARF_V_BOOL);
    v->u.i64 = 5;
    DYN("v.02", WHARF_V_BOOL);
    v->u.i64 = 0;
    DYN("v.03", WHARF_V_DOUBLE);
    v->u.f64 = NAN;
    DYN("v.04", WHARF_V_DOUBLE);
    v->u.f64 = INFINITY;
    DYN("v.05", WHARF_V_DOUBLE);
    v->u.f64 = -INFINITY;
    DYN("v.06", WHARF_V_DOUBLE);
    v->u.f64 = 3.5;
    DYN("v.07", WHARF_V_DOUBLE);
    v->u.f64 = -0.25;
    DYN("v.08", WHARF_V_DOUBLE);
    v->u.f64 = 0.0;
    DYN("v.09", WHARF_V_LONG);
    v->u.i64 = INT64_MAX;
    DYN("v.10", WHARF_V_LONG);
    v->u.i64 = INT64_MIN;
    DYN("v.11", WHARF_V_LONG);
    v->u.i64 = -1;
    DYN("v.12", WHARF_V_LONG);
    v->u.i64 = 0;
    DYN("v.13", WHARF_V_RAW);
    v->u.str = (wharf_str_t){"{\"r\":[1,2]}", 11};
    DYN("v.14", WHARF_V_STRS);
    v->u.strs = two;
    v->count = 2;
    DYN("v.15", WHARF_V_TIME);
    v->u.i64 = -1;
    DYN("v.16", WHARF_V_TIME);
    v->u.i64 = 0;
    DYN("v.17", WHARF_V_DOUBLE);
    v->u.f64 = 1e21;
    DYN("v.18", WHARF_V_LONG);
    v->u.i64 = 1000000007;
#undef DYN
    /* static LONG and BOOL through the inline setters */
    wharf_event_set_long(e, WHARF_F_LOG_OFFSET, INT64_MIN);
    wharf_event_set_bool(e, WHARF_F_CONTAINER_SC_HOST_PID, -3);
    check_event(e, "{\"container\":{\"security_context\":{\"host_pid\":true}},"
                   "\"log\":{\"offset\":-9223372036854775808},"
                   "\"v\":{\"01\":true,\"02\":false,\"03\":null,\"04\":null,\"05\":null,"
                   "\"06\":3.5,\"07\":-0.25,\"08\":0,\"09\":9223372036854775807,"
                   "\"10\":-9223372036854775808,\"11\":-1,\"12\":0,\"13\":{\"r\":[1,2]},"
                   "\"14\":[\"x\",\"y\\n\"],\"15\":\"1969-12-31T23:59:59.999999999Z\","
                   "\"16\":\"1970-01-01T00:00:00.000000000Z\",\"17\":1e+21,"
                   "\"18\":1000000007}}\n");
    fx_free(&fx);
}

static void test_write_long(void **state)
{
    static const struct {
        int64_t v;
        const char *text;
    } cases[] = {
        {0, "0"},
        {1, "1"},
        {-1, "-1"},
        {9, "9"},
        {10, "10"},
        {-10, "-10"},
        {1234567890123, "1234567890123"},
        {INT64_MAX, "9223372036854775807"},
        {INT64_MIN, "-9223372036854775808"},
        {INT64_MIN + 1, "-9223372036854775807"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        wharf_buf_t b;
        wharf_buf_init(&b);
        wharf_buf_putc(&b, '<');
        wharf_json_write_long(&b, cases[i].v);
        wharf_buf_putc(&b, '>');
        wharf_buf_putc(&b, '\0');
        char want[32];
        snprintf(want, sizeof(want), "<%s>", cases[i].text);
        assert_string_equal(b.data, want);
        wharf_buf_free(&b);
    }
}

/* ---- dynamic fields ------------------------------------------------------ */

static void test_dynamic_fields_merge(void **state)
{
    fixture_t fx;
    fx_init(&fx);
    wharf_event_t *e = &fx.e;
    wharf_event_set_cstr(e, WHARF_F_CONTAINER_ID, "c");
    wharf_event_set_cstr(e, WHARF_F_MESSAGE, "m");
    dyn_str(e, "user.hash", "root");
    dyn_long(e, "container.zz", 7);
    dyn_str(e, "source.nat.ip", "1.2.3.4");
    wharf_event_set_path(e, "container.aa.b", 14, WHARF_V_BOOL)->u.i64 = 0;
    /* A known path lands in the fixed table, not twice. */
    dyn_str(e, "message", "m2");
    assert_int_equal(e->n_dyn, 4);
    check_event(e, "{\"container\":{\"aa\":{\"b\":false},\"id\":\"c\",\"zz\":7},"
                   "\"message\":\"m2\",\"source\":{\"nat\":{\"ip\":\"1.2.3.4\"}},"
                   "\"user\":{\"hash\":\"root\"}}\n");
    fx_free(&fx);
}

/* Dynamic fields in objects that also hold static fields, before, between
 * and after them, at several depths: one object per path prefix. */
static void test_dynamic_fields_interleave(void **state)
{
    fixture_t fx;
    fx_init(&fx);
    wharf_event_t *e = &fx.e;
    wharf_event_set_time(e, WHARF_F_TIMESTAMP, 0);
    wharf_event_set_cstr(e, WHARF_F_CONTAINER_ID, "c");
    wharf_event_set_cstr(e, WHARF_F_CONTAINER_IMAGE_NAME, "nginx");
    wharf_event_set_raw(e, WHARF_F_CONTAINER_LABELS, "{\"k\":\"v\"}", 9);
    wharf_event_set_cstr(e, WHARF_F_LOG_FILE_PATH, "/p");
    wharf_event_set_long(e, WHARF_F_LOG_OFFSET, 7);
    wharf_event_set_cstr(e, WHARF_F_MESSAGE, "m");
    wharf_event_set_cstr(e, WHARF_F_SOURCE_IP, "10.0.0.2");
    wharf_event_set_cstr(e, WHARF_F_USER_AGENT_ORIGINAL, "ua");
    /* set in no particular order */
    dyn_long(e, "zzz.b", 5);
    dyn_str(e, "source.nat.ip", "10.0.0.1");
    dyn_long(e, "zzz.a.b", 1);
    dyn_str(e, "user.hash", "root");
    dyn_str(e, "container.foo", "bar");
    wharf_event_set_path(e, "container.image.zz", 18, WHARF_V_BOOL)->u.i64 = 1;
    dyn_str(e, "container.security_context.zzz", "q");
    dyn_str(e, "log.level", "info");
    dyn_str(e, "log.file.name", "f");
    dyn_long(e, "@metadata.x", 2);
    dyn_long(e, "a", 3);
    dyn_long(e, "zzz.a.c", 4);
    dyn_long(e, "messages", 6);
    dyn_str(e, "zzz.\"q", "x");
    check_event(e, "{\"@metadata\":{\"x\":2},\"@timestamp\":\"1970-01-01T00:00:00.000000000Z\","
                   "\"a\":3,"
                   "\"container\":{\"foo\":\"bar\",\"id\":\"c\",\"image\":{\"name\":\"nginx\","
                   "\"zz\":true},\"labels\":{\"k\":\"v\"},\"security_context\":{\"zzz\":\"q\"}},"
                   "\"log\":{\"file\":{\"name\":\"f\",\"path\":\"/p\"},\"level\":\"info\","
                   "\"offset\":7},"
                   "\"message\":\"m\",\"messages\":6,\"source\":{\"ip\":\"10.0.0.2\","
                   "\"nat\":{\"ip\":\"10.0.0.1\"}},\"user\":{\"hash\":\"root\"},"
                   "\"user_agent\":{\"original\":\"ua\"},"
                   "\"zzz\":{\"\\\"q\":\"x\",\"a\":{\"b\":1,\"c\":4},\"b\":5}}\n");
    fx_free(&fx);
}

/* Components ordered as the writer needs: "a" < "a.b" < "a-b" < "ab". */
static void test_dynamic_fields_component_order(void **state)
{
    fixture_t fx;
    fx_init(&fx);
    wharf_event_t *e = &fx.e;
    dyn_long(e, "ab", 4);
    dyn_long(e, "a-b", 3);
    dyn_long(e, "a.c", 2);
    dyn_long(e, "a.b", 1);
    dyn_long(e, "b.x.y.z", 5);
    dyn_long(e, "b.x.yy", 6);
    dyn_long(e, "b.xx", 7);
    check_event(e, "{\"a\":{\"b\":1,\"c\":2},\"a-b\":3,\"ab\":4,"
                   "\"b\":{\"x\":{\"y\":{\"z\":5},\"yy\":6},\"xx\":7}}\n");
    /* static neighbours whose names share a prefix with a dynamic one */
    wharf_event_clear(e);
    wharf_event_set_cstr(e, WHARF_F_CONTAINER_ID, "i");
    wharf_event_set_cstr(e, WHARF_F_CONTAINER_NAME, "n");
    dyn_long(e, "container.i", 1);
    dyn_long(e, "container.idx", 2);
    dyn_long(e, "containers.x", 3);
    dyn_long(e, "container-x", 4);
    dyn_long(e, "container.name2", 5);
    check_event(e, "{\"container\":{\"i\":1,\"id\":\"i\",\"idx\":2,\"name\":\"n\",\"name2\":5},"
                   "\"container-x\":4,\"containers\":{\"x\":3}}\n");
    fx_free(&fx);
}

static void test_dynamic_field_set_twice(void **state)
{
    fixture_t fx;
    fx_init(&fx);
    wharf_event_t *e = &fx.e;
    dyn_str(e, "user.hash", "alice");
    dyn_str(e, "user.hash", "bob");
    dyn_long(e, "user.domain", 1);
    wharf_event_set_path(e, "user.domain", 11, WHARF_V_BOOL)->u.i64 = 1;
    assert_int_equal(e->n_dyn, 2);
    check_event(e, "{\"user\":{\"domain\":true,\"hash\":\"bob\"}}\n");
    /* the path is compared by length, not up to a NUL */
    wharf_value_t *v = wharf_event_set_path(e, "user.hashx", 9, WHARF_V_STR);
    v->u.str = (wharf_str_t){"carol", 5};
    assert_int_equal(e->n_dyn, 2);
    check_event(e, "{\"user\":{\"domain\":true,\"hash\":\"carol\"}}\n");
    fx_free(&fx);
}

/* One writer over many events: its cache of dynamic fields' keys must
 * give what a fresh writer gives, when a path's bytes change in place
 * (arena memory is reused), when slots are evicted, and for paths too long
 * or too deep to cache or with keys that need escapes. */
static void test_dynamic_keys_cache(void **state)
{
    fixture_t fx;
    fx_init(&fx);
    wharf_event_t *e = &fx.e;
    wharf_json_writer_t shared;
    wharf_json_writer_init(&shared);
    static char paths[48][96];
    for (int i = 0; i < 48; i++) {
        if (i % 16 == 7)
            snprintf(paths[i], sizeof(paths[i]), "x.%02d.%s", i,
                     "a-rather-long-component-name-that-no-cache-entry-holds-at-all");
        else if (i % 16 == 9)
            snprintf(paths[i], sizeof(paths[i]), "d.%02d.a.b.c.d.e.f.g.h", i);
        else if (i % 16 == 11)
            snprintf(paths[i], sizeof(paths[i]), "q.%02d.\"k\\", i);
        else
            snprintf(paths[i], sizeof(paths[i]), "g%d.f%02d", i % 5, i);
    }
    for (int round = 0; round < 12; round++) {
        wharf_arena_reset(&fx.arena);
        wharf_event_clear(e);
        e->arena = &fx.arena;
        wharf_event_set_cstr(e, WHARF_F_MESSAGE, "m");
        for (int i = round; i < 48; i += 1 + round % 4)
            dyn_long(e, paths[i], i);
        if (round % 3 == 2) { /* same bytes' address, new content */
            paths[round][0] = (char)('h' + round % 3);
            dyn_long(e, paths[round], -1);
        }
        char *got = write_event_with(&shared, e), *want = write_event(e);
        assert_string_equal(got, want);
        free(got);
        free(want);
    }
    fx_free(&fx);
}

/* More dynamic fields than the writer sorts on its stack. */
static void test_many_dynamic_fields(void **state)
{
    fixture_t fx;
    fx_init(&fx);
    wharf_event_t *e = &fx.e;
    char paths[100][16];
    for (int k = 0; k < 100; k++) {
        int i = (k * 37) % 100; /* scrambled insertion order */
        snprintf(paths[i], sizeof(paths[i]), "g%d.f%03d", i % 3, i);
        dyn_long(e, paths[i], i);
    }
    wharf_event_set_cstr(e, WHARF_F_MESSAGE, "m");
    wharf_event_set_cstr(e, WHARF_F_AGENT_TYPE, "wharf");
    assert_int_equal(e->n_dyn, 100);

    char want[4096];
    size_t w = 0;
    w += (size_t)snprintf(want + w, sizeof(want) - w, "{\"agent\":{\"type\":\"wharf\"}");
    for (int g = 0; g < 3; g++) {
        w += (size_t)snprintf(want + w, sizeof(want) - w, ",\"g%d\":{", g);
        int first = 1;
        for (int i = g; i < 100; i += 3) {
            w += (size_t)snprintf(want + w, sizeof(want) - w, "%s\"f%03d\":%d", first ? "" : ",", i,
                                  i);
            first = 0;
        }
        want[w++] = '}';
    }
    w += (size_t)snprintf(want + w, sizeof(want) - w, ",\"message\":\"m\"}\n");
    check_event(e, want);

    /* the old test's shape: one object, 100 keys */
    wharf_event_clear(e);
    for (int i = 99; i >= 0; i--) {
        snprintf(paths[i], sizeof(paths[i]), "x.f%02d", i);
        dyn_long(e, paths[i], i);
    }
    char *got = write_event(e);
    assert_memory_equal(got, "{\"x\":{\"f00\":0,\"f01\":1,", 22);
    assert_non_null(strstr(got, "\"f98\":98,\"f99\":99}}\n"));
    /* 9 bytes of frame, 6 per key, 190 value digits, 99 commas */
    assert_int_equal(strlen(got), 9 + 100 * 6 + 190 + 99);
    free(got);
    fx_free(&fx);
}

/* ---- time --------------------------------------------------------------- */

static void check_time(wharf_json_writer_t *w, int64_t ns, const char *want)
{
    wharf_buf_t b;
    wharf_buf_init(&b);
    wharf_json_write_time(w, &b, ns);
    wharf_buf_putc(&b, '\0');
    assert_string_equal(b.data, want);
    wharf_buf_free(&b);
}

/* ---- pre-rendered groups (wharf_json_group_render) ---------------------- */

typedef struct group_fixture {
    fixture_t fx;
    wharf_str_t raw[WHARF_F__COUNT];
    wharf_event_group_t groups[2];
} group_fixture_t;

static void raw_set(wharf_str_t *raw, wharf_field_id f, const char *json)
{
    raw[f] = (wharf_str_t){json, strlen(json)};
}

/* Container metadata as enrich renders it: two groups, and an event that
 * carries their fields and a few others. */
static void group_init(group_fixture_t *g)
{
    memset(g, 0, sizeof(*g));
    raw_set(g->raw, WHARF_F_CONTAINER_ID, "\"abc\"");
    raw_set(g->raw, WHARF_F_CONTAINER_IMAGE_NAME, "\"nginx\"");
    raw_set(g->raw, WHARF_F_CONTAINER_LABELS, "{\"team\":\"web\"}");
    raw_set(g->raw, WHARF_F_ORCHESTRATOR_NAMESPACE, "\"prod\"");
    assert_int_equal(wharf_json_group_render(&g->groups[0], WHARF_F_CONTAINER_IMAGE_NAME, g->raw),
                     0);
    assert_int_equal(wharf_json_group_render(&g->groups[1], WHARF_F_ORCHESTRATOR_NAMESPACE, g->raw),
                     0);
    fx_init(&g->fx);
    wharf_event_t *e = &g->fx.e;
    wharf_event_set_cstr(e, WHARF_F_AGENT_TYPE, "wharf");
    for (int f = 0; f < WHARF_F__COUNT; f++)
        if (g->raw[f].ptr != NULL)
            wharf_event_set_raw(e, (wharf_field_id)f, g->raw[f].ptr, g->raw[f].len);
    wharf_event_set_cstr(e, WHARF_F_MESSAGE, "hello");
    e->groups = g->groups;
    e->n_groups = 2;
}

static void group_free(group_fixture_t *g)
{
    free(g->groups[0].text);
    free(g->groups[1].text);
    fx_free(&g->fx);
}

/* group_init's event as the writer writes it. */
static const char group_event_json[] =
    "{\"agent\":{\"type\":\"wharf\"},\"container\":{\"id\":\"abc\","
    "\"image\":{\"name\":\"nginx\"},\"labels\":{\"team\":\"web\"}},"
    "\"message\":\"hello\",\"orchestrator\":{\"namespace\":\"prod\"}}\n";

/* Puts text in place of a group's rendering, so that the output shows
 * whether the writer copied it. */
static void group_set_text(wharf_event_group_t *g, const char *text)
{
    free(g->text);
    g->text = strdup(text);
    assert_non_null(g->text);
    g->text_len = strlen(text);
}

/* The event's bytes with its groups must be those without them. */
static void check_group_event(wharf_event_t *e, const char *want)
{
    uint32_t n = e->n_groups;
    e->n_groups = 0;
    check_event(e, want);
    e->n_groups = n;
    check_event(e, want);
}

static void test_group_render(void **state)
{
    (void)state;
    group_fixture_t g;
    group_init(&g);
    assert_int_equal(g.groups[0].first, WHARF_F_CONTAINER_ID);
    assert_string_equal(wharf_field_path(g.groups[0].last), "container.security_context.user");
    assert_int_equal(g.groups[1].first, WHARF_F_ORCHESTRATOR_NAMESPACE);
    assert_string_equal(wharf_field_path(g.groups[1].last), "orchestrator.type");
    const char *want0 = "\"container\":{\"id\":\"abc\",\"image\":{\"name\":\"nginx\"},"
                        "\"labels\":{\"team\":\"web\"}}";
    assert_int_equal(g.groups[0].text_len, strlen(want0));
    assert_memory_equal(g.groups[0].text, want0, strlen(want0));
    assert_int_equal(g.groups[1].text_len, strlen("\"orchestrator\":{\"namespace\":\"prod\"}"));
    assert_memory_equal(g.groups[1].text, "\"orchestrator\":{\"namespace\":\"prod\"}",
                        g.groups[1].text_len);
    check_group_event(&g.fx.e, group_event_json);
    group_free(&g);
}

/* The text is copied only while the event holds the group's values: with a
 * marker text in place of the rendering, the marker shows exactly when the
 * fields are untouched. */
static void test_group_text_only_when_intact(void **state)
{
    (void)state;
    const char *with_marker = "{\"agent\":{\"type\":\"wharf\"},\"container\":{\"marker\":1},"
                              "\"message\":\"hello\",\"orchestrator\":{\"namespace\":\"prod\"}}\n";
    group_fixture_t g;
    group_init(&g);
    group_set_text(&g.groups[0], "\"container\":{\"marker\":1}");
    wharf_event_t *e = &g.fx.e;
    check_event(e, with_marker);
    /* the same text at another address is a change */
    static const char other_nginx[] = "\"nginx\"";
    wharf_event_set_raw(e, WHARF_F_CONTAINER_IMAGE_NAME, other_nginx, 7);
    check_event(e, group_event_json);
    wharf_event_set_raw(e, WHARF_F_CONTAINER_IMAGE_NAME, g.raw[WHARF_F_CONTAINER_IMAGE_NAME].ptr,
                        g.raw[WHARF_F_CONTAINER_IMAGE_NAME].len);
    check_event(e, with_marker);
    /* one field more in the group's range */
    wharf_event_set_cstr(e, WHARF_F_CONTAINER_RUNTIME, "docker");
    check_event(e, "{\"agent\":{\"type\":\"wharf\"},\"container\":{\"id\":\"abc\","
                   "\"image\":{\"name\":\"nginx\"},\"labels\":{\"team\":\"web\"},"
                   "\"runtime\":\"docker\"},"
                   "\"message\":\"hello\",\"orchestrator\":{\"namespace\":\"prod\"}}\n");
    wharf_event_unset(e, WHARF_F_CONTAINER_RUNTIME);
    check_event(e, with_marker);
    /* one field fewer */
    wharf_event_unset(e, WHARF_F_CONTAINER_ID);
    check_event(e, "{\"agent\":{\"type\":\"wharf\"},\"container\":{"
                   "\"image\":{\"name\":\"nginx\"},\"labels\":{\"team\":\"web\"}},"
                   "\"message\":\"hello\",\"orchestrator\":{\"namespace\":\"prod\"}}\n");
    /* a dynamic field under the group's key */
    group_free(&g);
    group_init(&g);
    group_set_text(&g.groups[0], "\"container\":{\"marker\":1}");
    dyn_str(&g.fx.e, "container.zz", "z");
    check_event(&g.fx.e,
                "{\"agent\":{\"type\":\"wharf\"},\"container\":{\"id\":\"abc\","
                "\"image\":{\"name\":\"nginx\"},\"labels\":{\"team\":\"web\"},\"zz\":\"z\"},"
                "\"message\":\"hello\",\"orchestrator\":{\"namespace\":\"prod\"}}\n");
    group_free(&g);
}

/* Dynamic fields around the groups keep their places, and a group whose
 * fields are all gone is skipped for the next one. */
static void test_group_dynamic_neighbours(void **state)
{
    (void)state;
    group_fixture_t g;
    group_init(&g);
    wharf_event_t *e = &g.fx.e;
    dyn_str(e, "b.x", "1");
    dyn_str(e, "container_x.y", "2");
    dyn_str(e, "orchestrator_z", "3");
    dyn_str(e, "zz", "4");
    check_group_event(e,
                      "{\"agent\":{\"type\":\"wharf\"},\"b\":{\"x\":\"1\"},\"container\":{\"id\":"
                      "\"abc\",\"image\":{\"name\":\"nginx\"},\"labels\":{\"team\":\"web\"}},"
                      "\"container_x\":{\"y\":\"2\"},\"message\":\"hello\",\"orchestrator\":{"
                      "\"namespace\":\"prod\"},\"orchestrator_z\":\"3\",\"zz\":\"4\"}\n");
    wharf_event_unset(e, WHARF_F_CONTAINER_ID);
    wharf_event_unset(e, WHARF_F_CONTAINER_IMAGE_NAME);
    wharf_event_unset(e, WHARF_F_CONTAINER_LABELS);
    group_set_text(&g.groups[1], "\"orchestratoR\":{\"namespace\":\"prod\"}");
    check_event(e,
                "{\"agent\":{\"type\":\"wharf\"},\"b\":{\"x\":\"1\"},\"container_x\":{\"y\":\"2\"},"
                "\"message\":\"hello\",\"orchestratoR\":{\"namespace\":\"prod\"},"
                "\"orchestrator_z\":\"3\",\"zz\":\"4\"}\n");
    group_free(&g);
}

static void test_write_time(void **state)
{
    wharf_json_writer_t w;
    wharf_json_writer_init(&w);
    check_time(&w, 0, "\"1970-01-01T00:00:00.000000000Z\"");
    check_time(&w, 1, "\"1970-01-01T00:00:00.000000001Z\"");
    check_time(&w, 999999999, "\"1970-01-01T00:00:00.999999999Z\"");
    check_time(&w, 1000000000, "\"1970-01-01T00:00:01.000000000Z\"");
    check_time(&w, INT64_C(1456959531338462311), "\"2016-03-02T22:58:51.338462311Z\"");
    check_time(&w, INT64_C(1456959531000000007), "\"2016-03-02T22:58:51.000000007Z\"");
    check_time(&w, INT64_C(1456959531338462311), "\"2016-03-02T22:58:51.338462311Z\"");
    check_time(&w, -1, "\"1969-12-31T23:59:59.999999999Z\"");
    check_time(&w, -1000000000, "\"1969-12-31T23:59:59.000000000Z\"");
    check_time(&w, -1000000001, "\"1969-12-31T23:59:58.999999999Z\"");
    check_time(&w, INT64_C(1709164800123456789), "\"2024-02-29T00:00:00.123456789Z\"");
    check_time(&w, INT64_C(4107542399999999999), "\"2100-02-28T23:59:59.999999999Z\"");
    check_time(&w, INT64_C(4107542400000000000), "\"2100-03-01T00:00:00.000000000Z\"");
}

/* The two-slot cache must give exactly what wharf_time_format gives, for two
 * interleaved clocks, a third that evicts, and values on second boundaries. */
static void test_time_cache_matches_uncached(void **state)
{
    wharf_json_writer_t w;
    wharf_json_writer_init(&w);
    int64_t base = INT64_C(1700000000) * 1000000000;
    int64_t clocks[3] = {base, base + INT64_C(3600) * 1000000000,
                         base - INT64_C(86400) * 1000000000};
    for (int i = 0; i < 20000; i++) {
        int64_t ns;
        switch (i % 7) {
        case 0:
        case 1:
        case 2: /* @timestamp: creeps forward, crossing seconds */
            clocks[0] += 333333333;
            ns = clocks[0];
            break;
        case 3:
        case 4: /* event.created: on and around second boundaries */
            clocks[1] += 500000000;
            ns = clocks[1] - (clocks[1] % 1000000000) - (i & 1);
            break;
        case 5: /* a third clock that evicts a slot */
            clocks[2] += 999999999;
            ns = clocks[2];
            break;
        default: /* before the epoch: never cached */
            ns = -(int64_t)i * 999999937;
        }
        char fresh[WHARF_TIME_TEXT_LEN];
        wharf_time_format(ns, fresh);
        wharf_buf_t cached;
        wharf_buf_init(&cached);
        wharf_json_write_time(&w, &cached, ns);
        assert_int_equal(cached.len, WHARF_TIME_TEXT_LEN + 2);
        assert_int_equal(cached.data[0], '"');
        assert_int_equal(cached.data[WHARF_TIME_TEXT_LEN + 1], '"');
        if (memcmp(cached.data + 1, fresh, WHARF_TIME_TEXT_LEN) != 0)
            fail_msg("ns=%lld: cached %.30s, uncached %.30s", (long long)ns, cached.data + 1,
                     fresh);
        wharf_buf_free(&cached);
    }
    /* the same through events: one writer for many events */
    fixture_t fx;
    fx_init(&fx);
    for (int i = 0; i < 3000; i++) {
        int64_t a = base + (int64_t)i * 400000001, c = base + (int64_t)(i / 2) * 1000000000 - 1;
        wharf_event_clear(&fx.e);
        wharf_event_set_time(&fx.e, WHARF_F_TIMESTAMP, a);
        wharf_event_set_time(&fx.e, WHARF_F_EVENT_CREATED, c);
        char ta[WHARF_TIME_TEXT_LEN + 1], tc[WHARF_TIME_TEXT_LEN + 1], want[128];
        wharf_time_format(a, ta);
        wharf_time_format(c, tc);
        ta[WHARF_TIME_TEXT_LEN] = tc[WHARF_TIME_TEXT_LEN] = '\0';
        snprintf(want, sizeof(want), "{\"@timestamp\":\"%s\",\"event\":{\"created\":\"%s\"}}\n", ta,
                 tc);
        char *got = write_event_with(&w, &fx.e);
        assert_string_equal(got, want);
        free(got);
    }
    fx_free(&fx);
}

/* State files hold inode numbers and offsets up to 2^64-1, beyond yajl's
 * long long; anything else than a plain unsigned decimal is refused. */
static void test_tree_u64(void **state)
{
    (void)state;
    char err[128];
    yajl_val root =
        yajl_tree_parse("{\"max\":18446744073709551615,\"over\":18446744073709551616,"
                        "\"neg\":-1,\"frac\":1.5,\"exp\":1e3,\"text\":\"7\",\"zero\":0}",
                        err, sizeof(err));
    assert_non_null(root);
    uint64_t v = 42;
    assert_int_equal(wharf_json_tree_u64(root, "max", &v), 0);
    assert_true(v == UINT64_MAX);
    assert_int_equal(wharf_json_tree_u64(root, "zero", &v), 0);
    assert_true(v == 0);
    v = 42;
    const char *refused[] = {"over", "neg", "frac", "exp", "text", "missing"};
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
        assert_int_equal(wharf_json_tree_u64(root, refused[i], &v), -1);
    assert_true(v == 42);
    yajl_tree_free(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_string_plain_ascii),
        cmocka_unit_test(test_string_quote_backslash),
        cmocka_unit_test(test_string_every_control_char),
        cmocka_unit_test(test_string_valid_utf8_kept),
        cmocka_unit_test(test_string_invalid_utf8_replaced),
        cmocka_unit_test(test_string_appends),
        cmocka_unit_test(test_string_every_length_and_place),
        cmocka_unit_test(test_utf8_valid),
        cmocka_unit_test(test_tree_u64),
        cmocka_unit_test(test_event_empty),
        cmocka_unit_test(test_event_nesting),
        cmocka_unit_test(test_event_every_field),
        cmocka_unit_test(test_event_sparse),
        cmocka_unit_test(test_event_strings_sanitized),
        cmocka_unit_test(test_event_values),
        cmocka_unit_test(test_write_long),
        cmocka_unit_test(test_dynamic_fields_merge),
        cmocka_unit_test(test_dynamic_fields_interleave),
        cmocka_unit_test(test_dynamic_fields_component_order),
        cmocka_unit_test(test_dynamic_field_set_twice),
        cmocka_unit_test(test_many_dynamic_fields),
        cmocka_unit_test(test_dynamic_keys_cache),
        cmocka_unit_test(test_group_render),
        cmocka_unit_test(test_group_text_only_when_intact),
        cmocka_unit_test(test_group_dynamic_neighbours),
        cmocka_unit_test(test_write_time),
        cmocka_unit_test(test_time_cache_matches_uncached),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
