/* test_json.c - the JSON writer: escaping, UTF-8 repair, nesting, values. */
#include "wharf/json.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
/* cmocka.h needs the headers above. */
#include <cmocka.h>

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

static void assert_string_json(const char *in, size_t n, const char *want, size_t want_replaced)
{
    size_t replaced;
    char *got = write_string(in, n, &replaced);
    assert_string_equal(got, want);
    assert_int_equal(replaced, want_replaced);
    free(got);
}

static void test_escapes(void **state)
{
    assert_string_json("plain text, long enough for eight-byte runs", 43,
                       "\"plain text, long enough for eight-byte runs\"", 0);
    assert_string_json("q\"b\\s/", 6, "\"q\\\"b\\\\s/\"", 0);
    assert_string_json("\n\t\r\b\f", 5, "\"\\n\\t\\r\\b\\f\"", 0);
    assert_string_json("\x01\x1f\x00x", 4, "\"\\u0001\\u001f\\u0000x\"", 0);
    assert_string_json("", 0, "\"\"", 0);
}

static void test_every_control_char(void **state)
{
    for (int c = 0; c < 0x20; c++) {
        char in[1] = {(char)c};
        char *got = write_string(in, 1, NULL);
        assert_true(got[1] == '\\');
        assert_true(strlen(got) == 4 || strlen(got) == 8);
        free(got);
    }
}

static void test_utf8(void **state)
{
    assert_string_json("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9,
                       "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"", 0);
    assert_string_json("a\x80z", 3, "\"a\xef\xbf\xbdz\"", 1);             /* lone continuation */
    assert_string_json("\xc0\x80", 2, "\"\xef\xbf\xbd\xef\xbf\xbd\"", 2); /* overlong */
    assert_string_json("\xed\xa0\x80", 3, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"", 3);
    assert_string_json("\xf5\x80\x80\x80", 4,
                       "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"", 4);
    assert_string_json("ok\xe2\x82", 4, "\"ok\xef\xbf\xbd\xef\xbf\xbd\"", 2); /* cut at end */
    assert_true(wharf_utf8_valid("\xf0\x9f\x98\x80", 4));
    assert_false(wharf_utf8_valid("\xf4\x90\x80\x80", 4));
}

static char *write_event(const wharf_event_t *e)
{
    wharf_json_writer_t w;
    wharf_json_writer_init(&w);
    wharf_buf_t b;
    wharf_buf_init(&b);
    assert_int_equal(wharf_json_write_event(&w, e, &b), 0);
    wharf_buf_putc(&b, '\0');
    return b.data;
}

static void test_nesting(void **state)
{
    wharf_arena_t arena;
    wharf_arena_init(&arena, 1024);
    wharf_event_t e = {0};
    e.arena = &arena;
    wharf_event_clear(&e);
    wharf_event_set_time(&e, WHARF_F_TIMESTAMP, INT64_C(1457045931338462311));
    wharf_event_set_cstr(&e, WHARF_F_CONTAINER_ID, "abc");
    wharf_event_set_cstr(&e, WHARF_F_CONTAINER_IMAGE_NAME, "nginx");
    wharf_event_set_raw(&e, WHARF_F_CONTAINER_LABELS, "{\"a\":\"b\"}", 9);
    wharf_event_set_bool(&e, WHARF_F_CONTAINER_SC_PRIVILEGED, 1);
    wharf_event_set_cstr(&e, WHARF_F_LOG_FILE_PATH, "/x");
    wharf_event_set_long(&e, WHARF_F_LOG_OFFSET, -42);
    wharf_event_set_cstr(&e, WHARF_F_MESSAGE, "hi");
    wharf_event_tag(&e, WHARF_TAG_TRUNCATED);
    wharf_event_tag(&e, WHARF_TAG_INVALID_JSON);
    char *got = write_event(&e);
    assert_string_equal(got, "{\"@timestamp\":\"2016-03-03T22:58:51.338462311Z\","
                             "\"container\":{\"id\":\"abc\",\"image\":{\"name\":\"nginx\"},"
                             "\"labels\":{\"a\":\"b\"},\"security_context\":{\"privileged\":true}},"
                             "\"log\":{\"file\":{\"path\":\"/x\"},\"offset\":-42},"
                             "\"message\":\"hi\",\"tags\":[\"truncated\",\"invalid_json\"]}\n");
    free(got);
    wharf_arena_free(&arena);
}

static void test_dynamic_fields_merge(void **state)
{
    wharf_arena_t arena;
    wharf_arena_init(&arena, 1024);
    wharf_event_t e = {0};
    e.arena = &arena;
    wharf_event_clear(&e);
    wharf_event_set_cstr(&e, WHARF_F_CONTAINER_ID, "c");
    wharf_event_set_cstr(&e, WHARF_F_MESSAGE, "m");
    wharf_event_set_path(&e, "user.name", 9, WHARF_V_STR)->u.str = (wharf_str_t){"root", 4};
    wharf_event_set_path(&e, "container.zz", 12, WHARF_V_LONG)->u.i64 = 7;
    wharf_event_set_path(&e, "source.ip", 9, WHARF_V_STR)->u.str = (wharf_str_t){"1.2.3.4", 7};
    wharf_event_set_path(&e, "container.aa.b", 14, WHARF_V_BOOL)->u.i64 = 0;
    /* A known path lands in the fixed table, not twice. */
    wharf_event_set_path(&e, "message", 7, WHARF_V_STR)->u.str = (wharf_str_t){"m2", 2};
    char *got = write_event(&e);
    assert_string_equal(got, "{\"container\":{\"aa\":{\"b\":false},\"id\":\"c\",\"zz\":7},"
                             "\"message\":\"m2\",\"source\":{\"ip\":\"1.2.3.4\"},"
                             "\"user\":{\"name\":\"root\"}}\n");
    free(got);
    wharf_arena_free(&arena);
}

static void test_many_dynamic_fields(void **state)
{
    wharf_arena_t arena;
    wharf_arena_init(&arena, 1024);
    wharf_event_t e = {0};
    e.arena = &arena;
    wharf_event_clear(&e);
    char paths[100][16];
    for (int i = 99; i >= 0; i--) {
        snprintf(paths[i], sizeof(paths[i]), "x.f%02d", i);
        wharf_event_set_path(&e, paths[i], strlen(paths[i]), WHARF_V_LONG)->u.i64 = i;
    }
    char *got = write_event(&e);
    assert_memory_equal(got, "{\"x\":{\"f00\":0,\"f01\":1,", 22);
    assert_non_null(strstr(got, "\"f98\":98,\"f99\":99}}\n"));
    free(got);
    wharf_arena_free(&arena);
}

static void test_values(void **state)
{
    wharf_arena_t arena;
    wharf_arena_init(&arena, 1024);
    wharf_event_t e = {0};
    e.arena = &arena;
    wharf_event_clear(&e);
    wharf_event_set_long(&e, WHARF_F_LOG_OFFSET, INT64_MIN);
    wharf_value_t *d = wharf_event_set_path(&e, "x.nan", 5, WHARF_V_DOUBLE);
    d->u.f64 = 0.0 / 0.0;
    wharf_value_t *d2 = wharf_event_set_path(&e, "x.pi", 4, WHARF_V_DOUBLE);
    d2->u.f64 = 3.5;
    wharf_str_t tags[2] = {{"a", 1}, {"b\"", 2}};
    wharf_event_set_strs(&e, WHARF_F_CONTAINER_IMAGE_TAG, tags, 2);
    char *got = write_event(&e);
    assert_string_equal(got, "{\"container\":{\"image\":{\"tag\":[\"a\",\"b\\\"\"]}},"
                             "\"log\":{\"offset\":-9223372036854775808},"
                             "\"x\":{\"nan\":null,\"pi\":3.5}}\n");
    free(got);
    wharf_arena_free(&arena);
}

static void test_time_cache_matches_uncached(void **state)
{
    wharf_json_writer_t w;
    wharf_json_writer_init(&w);
    int64_t base = INT64_C(1700000000) * 1000000000;
    for (int i = 0; i < 5000; i++) {
        int64_t ns = base + (int64_t)i * 999999937 % (INT64_C(3) * 1000000000);
        wharf_buf_t cached, fresh;
        wharf_buf_init(&cached);
        wharf_buf_init(&fresh);
        wharf_json_write_time(&w, &cached, ns);
        wharf_json_writer_t w2;
        wharf_json_writer_init(&w2);
        wharf_json_write_time(&w2, &fresh, ns);
        assert_int_equal(cached.len, fresh.len);
        assert_memory_equal(cached.data, fresh.data, fresh.len);
        wharf_buf_free(&cached);
        wharf_buf_free(&fresh);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_every_control_char),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_nesting),
        cmocka_unit_test(test_dynamic_fields_merge),
        cmocka_unit_test(test_many_dynamic_fields),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_time_cache_matches_uncached),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
