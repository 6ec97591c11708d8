/* test_template.c - event field templates and the JSON field lookup under
 * them: dotted paths, defaults and nested defaults, $$, value types, string
 * unescaping, keys that must not match (inside strings, at the wrong depth,
 * inside arrays), dotted member names, malformed and truncated JSON, the
 * depth limit, compile errors with their messages, compacting a value, and
 * differential checks against yajl on the real-world corpus and on mutated
 * events. Every test compares exact bytes. */
#include "wharf/common.h"
#include "wharf/json.h"
#include "wharf/json_find.h"
#include "wharf/template.h"

#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>
/* cmocka.h needs the headers above. */
#include <cmocka.h>

/* The example event from the outputs' design: nested objects, a number, an
 * escaped message and the trailing newline of NDJSON. */
static const char EVENT[] =
    "{\"@timestamp\":\"2026-11-20T08:00:01.120433001Z\",\"container\":{\"id\":\"3f4e9a\","
    "\"name\":\"shop-frontend\",\"labels\":{\"a\":\"b\"}},\"host\":{\"name\":\"vm\"},"
    "\"log\":{\"offset\":0},\"message\":\"ready \\\"x\\\"\\n\",\"orchestrator\":{\"namespace\":"
    "\"prod\"},\"stream\":\"stdout\"}\n";

/* ---- helpers ------------------------------------------------------------ */

static int find(const char *json, const char *path, wharf_json_value_t *v)
{
    return wharf_json_find(json, strlen(json), path, strlen(path), v);
}

/* Asserts that path is found in json with this type and raw text. */
static void check_found(const char *json, const char *path, wharf_json_type_t type, const char *raw)
{
    wharf_json_value_t v;
    int rc = find(json, path, &v);
    if (rc != 1)
        fail_msg("%s in %s: rc=%d, want 1", path, json, rc);
    if (v.type != type)
        fail_msg("%s in %s: type %d, want %d", path, json, (int)v.type, (int)type);
    if (v.raw.len != strlen(raw) || memcmp(v.raw.ptr, raw, v.raw.len) != 0)
        fail_msg("%s in %s: raw \"%.*s\", want \"%s\"", path, json, (int)v.raw.len, v.raw.ptr, raw);
    assert_true(v.raw.ptr >= json && v.raw.ptr + v.raw.len <= json + strlen(json));
}

static void check_absent(const char *json, const char *path)
{
    wharf_json_value_t v;
    int rc = find(json, path, &v);
    if (rc != 0)
        fail_msg("%s in %s: rc=%d, want 0 (absent)", path, json, rc);
}

static void check_malformed(const char *json, size_t len, const char *path)
{
    wharf_json_value_t v;
    int rc = wharf_json_find(json, len, path, strlen(path), &v);
    if (rc != WHARF_EPARSE)
        fail_msg("%s in \"%.*s\": rc=%d, want WHARF_EPARSE", path, (int)len, json, rc);
}

#define CHECK_MALFORMED(lit, path) check_malformed((lit), sizeof(lit) - 1, (path))

static wharf_template_t *compile(const char *text)
{
    wharf_template_t *t = NULL;
    char err[128];
    int rc = wharf_template_compile(text, &t, err, sizeof(err));
    if (rc != 0)
        fail_msg("compile \"%s\": rc=%d: %s", text, rc, err);
    assert_non_null(t);
    return t;
}

/* Renders text for json into a NUL-terminated malloc'd string. */
static char *render(const char *text, const char *json, size_t len, int *rc)
{
    wharf_template_t *t = compile(text);
    wharf_buf_t b;
    wharf_buf_init(&b);
    *rc = wharf_template_render(t, json, len, &b);
    wharf_buf_putc(&b, '\0');
    wharf_template_free(t);
    return b.data;
}

static void check_render_n(const char *text, const char *json, size_t len, const char *want,
                           int want_rc)
{
    int rc;
    char *got = render(text, json, len, &rc);
    if (rc != want_rc || strcmp(got, want) != 0)
        fail_msg("\"%s\" on %.*s: rc=%d \"%s\", want rc=%d \"%s\"", text, (int)len, json, rc, got,
                 want_rc, want);
    free(got);
}

static void check_render(const char *text, const char *json, const char *want)
{
    check_render_n(text, json, strlen(json), want, 0);
}

static void check_compile_error(const char *text, const char *want)
{
    wharf_template_t *t = (wharf_template_t *)&t; /* must be reset to NULL */
    char err[128] = "stale";
    int rc = wharf_template_compile(text, &t, err, sizeof(err));
    if (rc != -EINVAL)
        fail_msg("compile \"%s\": rc=%d, want -EINVAL", text, rc);
    assert_null(t);
    if (strcmp(err, want) != 0)
        fail_msg("compile \"%s\": \"%s\", want \"%s\"", text, err, want);
}

static char *unescape(const char *raw, int *rc)
{
    wharf_buf_t b;
    wharf_buf_init(&b);
    *rc = wharf_json_string_unescape((wharf_str_t){raw, strlen(raw)}, &b);
    wharf_buf_putc(&b, '\0');
    return b.data;
}

static void check_unescape(const char *raw, const char *want)
{
    int rc;
    char *got = unescape(raw, &rc);
    if (rc != 0 || strcmp(got, want) != 0)
        fail_msg("unescape \"%s\": rc=%d \"%s\", want \"%s\"", raw, rc, got, want);
    free(got);
}

/* ---- wharf_json_find ----------------------------------------------------- */

/* wharf_json_members: every top-level member once, in order, with the
 * value wharf_json_find gives; the count past max; the same grammar. */
static void test_members(void **state)
{
    (void)state;
    const char *j = " {\"a\":1, \"b\\u0031\" : {\"c\":[1,\"}\"]},\"d\":\"x\\\"y\",\"e\":null}\n";
    wharf_json_member_t m[3];
    size_t n = 0;
    assert_int_equal(wharf_json_members(j, strlen(j), m, 3, &n), 0);
    assert_int_equal(n, 4);
    assert_int_equal(m[0].key.len, 1);
    assert_int_equal(m[0].value.type, WHARF_JSON_NUMBER);
    assert_int_equal(m[1].key_escaped, 1);
    assert_int_equal(m[1].value.type, WHARF_JSON_OBJECT);
    assert_int_equal(m[1].value.raw.len, strlen("{\"c\":[1,\"}\"]}"));
    assert_int_equal(m[2].value.type, WHARF_JSON_STRING);
    assert_int_equal(m[2].value.escaped, 1);
    assert_int_equal(wharf_json_members("{}", 2, m, 3, &n), 0);
    assert_int_equal(n, 0);
    const char *bad[] = {"{\"a\":1} x", "{\"a\":1", "{\"a\" 1}", "[1]", "{\"a\":tru}", "{,}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(wharf_json_members(bad[i], strlen(bad[i]), m, 3, &n), WHARF_EPARSE);
}

static void test_find_value_types(void **state)
{
    const char *j = "{\"s\":\"text\",\"i\":42,\"neg\":-1.5e+3,\"z\":0,\"t\":true,\"f\":false,"
                    "\"n\":null,\"o\":{\"k\":[1,2]},\"a\":[{\"x\":1},2],\"e\":\"\",\"eo\":{},"
                    "\"ea\":[]}";
    check_found(j, "s", WHARF_JSON_STRING, "text");
    check_found(j, "i", WHARF_JSON_NUMBER, "42");
    check_found(j, "neg", WHARF_JSON_NUMBER, "-1.5e+3");
    check_found(j, "z", WHARF_JSON_NUMBER, "0");
    check_found(j, "t", WHARF_JSON_TRUE, "true");
    check_found(j, "f", WHARF_JSON_FALSE, "false");
    check_found(j, "n", WHARF_JSON_NULL, "null");
    check_found(j, "o", WHARF_JSON_OBJECT, "{\"k\":[1,2]}");
    check_found(j, "a", WHARF_JSON_ARRAY, "[{\"x\":1},2]");
    check_found(j, "e", WHARF_JSON_STRING, "");
    check_found(j, "eo", WHARF_JSON_OBJECT, "{}");
    check_found(j, "ea", WHARF_JSON_ARRAY, "[]");
    check_found(j, "o.k", WHARF_JSON_ARRAY, "[1,2]");

    wharf_json_value_t v;
    assert_int_equal(find("{\"s\":\"a\\nb\"}", "s", &v), 1);
    assert_int_equal(v.escaped, 1);
    assert_int_equal(find("{\"s\":\"ab\"}", "s", &v), 1);
    assert_int_equal(v.escaped, 0);
}

static void test_find_nested_paths(void **state)
{
    check_found(EVENT, "@timestamp", WHARF_JSON_STRING, "2026-11-20T08:00:01.120433001Z");
    check_found(EVENT, "container.id", WHARF_JSON_STRING, "3f4e9a");
    check_found(EVENT, "container.name", WHARF_JSON_STRING, "shop-frontend");
    check_found(EVENT, "container.labels.a", WHARF_JSON_STRING, "b");
    check_found(EVENT, "container.labels", WHARF_JSON_OBJECT, "{\"a\":\"b\"}");
    check_found(EVENT, "host.name", WHARF_JSON_STRING, "vm");
    check_found(EVENT, "log.offset", WHARF_JSON_NUMBER, "0");
    check_found(EVENT, "message", WHARF_JSON_STRING, "ready \\\"x\\\"\\n");
    check_found(EVENT, "orchestrator.namespace", WHARF_JSON_STRING, "prod");
    check_found(EVENT, "stream", WHARF_JSON_STRING, "stdout");
    /* The length bounds the text: a lookup in the first object of two. */
    wharf_json_value_t v;
    const char two[] = "{\"a\":1}{\"a\":2}";
    assert_int_equal(wharf_json_find(two, 7, "a", 1, &v), 1);
    assert_ptr_equal(v.raw.ptr, two + 5);
    /* The path is bounded by its length too. */
    assert_int_equal(wharf_json_find(EVENT, strlen(EVENT), "host.namexyz", 9, &v), 1);
    assert_int_equal(v.raw.len, 2);
    assert_memory_equal(v.raw.ptr, "vm", 2);
}

static void test_find_absent(void **state)
{
    check_absent(EVENT, "process.name");
    check_absent(EVENT, "container.image");
    check_absent(EVENT, "contain");       /* a prefix of a key */
    check_absent(EVENT, "container.i");   /* a prefix of a nested key */
    check_absent(EVENT, "container.idx"); /* a key plus more */
    check_absent(EVENT, "container.id.x");
    check_absent(EVENT, "message.x"); /* through a string */
    check_absent(EVENT, "log.offset.x");
    check_absent(EVENT, "labels.a"); /* a real path, but not from the top */
    check_absent("{}", "a");
    check_absent(" { } \n", "a");
    check_absent("{\"a\":{}}", "a.b");
    check_absent("{\"a\":[{\"b\":1}]}", "a.b"); /* arrays are not descended into */
    check_absent("{\"a\":[{\"b\":1}]}", "a.0.b");
    check_absent("{\"a\":null}", "a.b");
    check_absent("{\"a\":{\"b\":{\"c\":1}}}", "a.c");
}

/* The key text appears in a string value (escaped quotes and all) before the
 * real field: the scan must treat it as string content. */
static void test_find_keys_inside_strings(void **state)
{
    const char *j = "{\"message\":\"\\\"container\\\":{\\\"id\\\":\\\"x\\\"}\","
                    "\"container\":{\"id\":\"real\"}}";
    check_found(j, "container.id", WHARF_JSON_STRING, "real");
    check_found(j, "message", WHARF_JSON_STRING, "\\\"container\\\":{\\\"id\\\":\\\"x\\\"}");
    const char *only = "{\"message\":\"{\\\"container\\\":{\\\"id\\\":\\\"x\\\"}}\"}";
    check_absent(only, "container.id");
    check_absent(only, "id");
    /* A value that spells a key, and a key named like a value. */
    check_found("{\"a\":\"b\",\"b\":\"a\"}", "b", WHARF_JSON_STRING, "a");
    check_absent("{\"x\":\"id\"}", "id");
}

/* Backslash runs before a quote: an odd run escapes it, an even one does
 * not. */
static void test_find_backslash_runs(void **state)
{
    /* "a" is x\ (one escaped backslash): the quote after it ends the string. */
    const char *j1 = "{\"a\":\"x\\\\\",\"b\":1}";
    check_found(j1, "a", WHARF_JSON_STRING, "x\\\\");
    check_found(j1, "b", WHARF_JSON_NUMBER, "1");
    /* \\\" is a backslash then a quote, both inside the string. */
    const char *j2 = "{\"a\":\"\\\\\\\",\\\"b\\\":2\",\"b\":3}";
    check_found(j2, "b", WHARF_JSON_NUMBER, "3");
    /* Only backslashes, an even run: the string is two backslashes. */
    const char *j3 = "{\"a\":\"\\\\\\\\\",\"b\":4}";
    check_found(j3, "a", WHARF_JSON_STRING, "\\\\\\\\");
    check_found(j3, "b", WHARF_JSON_NUMBER, "4");
    /* A key that ends in an escaped backslash. */
    check_found("{\"k\\\\\":5}", "k\\", WHARF_JSON_NUMBER, "5");
    /* Odd run at the very end: the string never closes. */
    CHECK_MALFORMED("{\"a\":\"x\\\"}", "b");
    CHECK_MALFORMED("{\"a\":\"x\\\\\\\"}", "b");
}

/* A top-level "id" or an "id" in another object must not match container.id. */
static void test_find_wrong_depth(void **state)
{
    const char *j = "{\"id\":\"top\",\"other\":{\"container\":{\"id\":\"deep\"}},\"container\":"
                    "{\"name\":\"n\",\"x\":{\"id\":\"deeper\"}}}";
    check_absent(j, "container.id");
    check_found(j, "id", WHARF_JSON_STRING, "top");
    check_found(j, "other.container.id", WHARF_JSON_STRING, "deep");
    check_found(j, "container.x.id", WHARF_JSON_STRING, "deeper");
    const char *k = "{\"a\":{\"container\":{\"id\":\"deep\"}},\"container\":{\"id\":\"real\"}}";
    check_found(k, "container.id", WHARF_JSON_STRING, "real");
    /* The path's tail appears at the top level after the descent failed. */
    check_absent("{\"container\":{\"name\":\"n\"},\"id\":\"x\"}", "container.id");
}

static void test_find_arrays_skipped(void **state)
{
    const char *j = "{\"list\":[{\"container\":{\"id\":\"no\"}},[{\"id\":\"x\"},[[]]],\"s\",1,"
                    "true,false,null,{}],\"container\":{\"tags\":[\"id\",{\"id\":\"no\"}],"
                    "\"id\":\"yes\"}}";
    check_found(j, "container.id", WHARF_JSON_STRING, "yes");
    check_absent(j, "id");
    check_absent(j, "list.container.id");
}

static void test_find_whitespace(void **state)
{
    const char *j = " \t\r\n{ \"container\" :\n {\t\"labels\" : { } ,\r\n \"id\" : \"c1\" } ,"
                    " \"n\" : -0.5 , \"a\" : [ 1 , { \"b\" : 2 } ] , \"t\" : true }\n\n";
    check_found(j, "container.id", WHARF_JSON_STRING, "c1");
    check_found(j, "container.labels", WHARF_JSON_OBJECT, "{ }");
    check_found(j, "n", WHARF_JSON_NUMBER, "-0.5");
    check_found(j, "a", WHARF_JSON_ARRAY, "[ 1 , { \"b\" : 2 } ]");
    check_found(j, "t", WHARF_JSON_TRUE, "true");
    check_absent(j, "x");
}

static void test_find_escaped_keys(void **state)
{
    check_found("{\"\\u0069d\":\"v\"}", "id", WHARF_JSON_STRING, "v");
    check_found("{\"c\\u006fntainer\":{\"i\\u0064\":\"v\"}}", "container.id", WHARF_JSON_STRING,
                "v");
    check_found("{\"caf\\u00e9\":1}", "caf\xc3\xa9", WHARF_JSON_NUMBER, "1");
    check_found("{\"a\\/b\":2}", "a/b", WHARF_JSON_NUMBER, "2");
    check_found("{\"a\\\"b\":3}", "a\"b", WHARF_JSON_NUMBER, "3");
    /* An escaped key that decodes to a path prefix, and one that does not. */
    check_found("{\"\\u0061\":{\"b\":4}}", "a.b", WHARF_JSON_NUMBER, "4");
    check_absent("{\"\\u0061x\":{\"b\":4}}", "a.b");
    check_absent("{\"\\u0061\":5}", "ab");
    /* A key whose escape is invalid matches nothing (it is skipped). */
    check_absent("{\"\\q\":1}", "q");
}

/* Member names containing dots (labels when labels_dedot is off). */
static void test_find_dotted_keys(void **state)
{
    const char *j = "{\"container\":{\"labels\":{\"app\":\"x\",\"app.kubernetes.io/name\":"
                    "\"shop\",\"io\":1}}}";
    check_found(j, "container.labels.app.kubernetes.io/name", WHARF_JSON_STRING, "shop");
    check_found(j, "container.labels.app", WHARF_JSON_STRING, "x");
    check_absent(j, "container.labels.app.kubernetes");
    check_absent(j, "container.labels.app.kubernetes.io");
    /* A plain object that shares the first segment does not hide a dotted
     * key after it: the scan goes on in the parent. */
    check_found("{\"a\":{\"x\":1},\"a.b\":2}", "a.b", WHARF_JSON_NUMBER, "2");
    check_found("{\"a\":{\"b\":{\"x\":1}},\"a.b\":{\"c\":3}}", "a.b.c", WHARF_JSON_NUMBER, "3");
    /* Both resolve: the first in document order wins. */
    check_found("{\"a.b\":1,\"a\":{\"b\":2}}", "a.b", WHARF_JSON_NUMBER, "1");
    check_found("{\"a\":{\"b\":2},\"a.b\":1}", "a.b", WHARF_JSON_NUMBER, "2");
    /* Duplicate keys: the first through which the path resolves. */
    check_found("{\"a\":{\"x\":1},\"a\":{\"b\":2}}", "a.b", WHARF_JSON_NUMBER, "2");
    check_found("{\"a\":1,\"a\":2}", "a", WHARF_JSON_NUMBER, "1");
    /* A dotted key must end on a segment boundary. */
    check_absent("{\"a.b\":{\"c\":1}}", "a.bc");
    check_absent("{\"a.b\":1}", "a");
}

static void test_find_bad_path(void **state)
{
    wharf_json_value_t v;
    assert_int_equal(find(EVENT, "", &v), -EINVAL);
    assert_int_equal(find(EVENT, ".host", &v), -EINVAL);
    assert_int_equal(find(EVENT, "host.", &v), -EINVAL);
    assert_int_equal(find(EVENT, "host..name", &v), -EINVAL);
    assert_int_equal(find(EVENT, ".", &v), -EINVAL);
    assert_int_equal(wharf_json_find(EVENT, strlen(EVENT), NULL, 0, &v), -EINVAL);
}

static void test_find_malformed(void **state)
{
    wharf_json_value_t v;
    /* Not one JSON object. */
    CHECK_MALFORMED("", "a");
    CHECK_MALFORMED("   \n", "a");
    CHECK_MALFORMED("[{\"a\":1}]", "a");
    CHECK_MALFORMED("\"a\"", "a");
    CHECK_MALFORMED("null", "a");
    CHECK_MALFORMED("{} x", "a");
    CHECK_MALFORMED("{}{}", "a");
    CHECK_MALFORMED("{\"a\":1}}", "b");
    assert_int_equal(wharf_json_find(NULL, 0, "a", 1, &v), WHARF_EPARSE);
    /* Members. */
    CHECK_MALFORMED("{\"a\" 1}", "a");
    CHECK_MALFORMED("{\"a\":1 \"b\":2}", "b");
    CHECK_MALFORMED("{\"a\":1,}", "b");
    CHECK_MALFORMED("{,\"a\":1}", "a");
    CHECK_MALFORMED("{a:1}", "a");
    CHECK_MALFORMED("{\"a\":}", "a");
    CHECK_MALFORMED("{\"a\":}", "b");
    CHECK_MALFORMED("{\"a\"}", "a");
    CHECK_MALFORMED("{1:2}", "a");
    /* Values, found and skipped. */
    static const char *const bad_values[] = {
        "tru",   "nul", "falsey", "01",  "1.",    "-",   "1e",  "1e+",  ".5",      "+1",
        "0x1",   "'a'", "[1,]",   "[,]", "[1 2]", "{]",  "[}",  "[",    "{\"b\"}", "{\"b\":1,}",
        "[[]]]", "\"a", "[\"a]",  "",    "Inf",   "NaN", "--1", "1.e5",
    };
    for (size_t i = 0; i < sizeof(bad_values) / sizeof(bad_values[0]); i++) {
        char j[64];
        int n = snprintf(j, sizeof(j), "{\"a\":%s,\"z\":0}", bad_values[i]);
        check_malformed(j, (size_t)n, "a");
        check_malformed(j, (size_t)n, "z");
        check_malformed(j, (size_t)n, "q");
        n = snprintf(j, sizeof(j), "{\"o\":{\"a\":%s},\"z\":0}", bad_values[i]);
        check_malformed(j, (size_t)n, "o.a");
        check_malformed(j, (size_t)n, "z");
    }
    /* Right after the found value. */
    CHECK_MALFORMED("{\"a\":1", "a");
    CHECK_MALFORMED("{\"a\":1x}", "a");
    CHECK_MALFORMED("{\"a\":\"s\" 1}", "a");
    CHECK_MALFORMED("{\"a\":{\"b\":1}", "a");
    /* Valid numbers for contrast. */
    check_found("{\"a\":-0}", "a", WHARF_JSON_NUMBER, "-0");
    check_found("{\"a\":1E-07}", "a", WHARF_JSON_NUMBER, "1E-07");
    check_found("{\"a\":[1e5,-2.25E+1,0.0]}", "a", WHARF_JSON_ARRAY, "[1e5,-2.25E+1,0.0]");
}

/* Every truncation of a real event is malformed for an absent field, and a
 * present field is either reported malformed or found whole. */
static void test_find_truncated(void **state)
{
    size_t full = strlen(EVENT);
    wharf_json_value_t v, want;
    assert_int_equal(find(EVENT, "message", &want), 1);
    for (size_t n = 0; n < full; n++) {
        char *copy = malloc(n ? n : 1); /* exact size, so ASan/valgrind see overreads */
        assert_non_null(copy);
        memcpy(copy, EVENT, n);
        int rc = wharf_json_find(copy, n, "process.name", 12, &v);
        if (n < full - 1) /* all but the trailing newline cut */
            assert_int_equal(rc, WHARF_EPARSE);
        else
            assert_int_equal(rc, 0);
        rc = wharf_json_find(copy, n, "message", 7, &v);
        if (rc == 1) {
            assert_int_equal(v.raw.len, want.raw.len);
            assert_memory_equal(v.raw.ptr, want.raw.ptr, v.raw.len);
        } else {
            assert_int_equal(rc, WHARF_EPARSE);
        }
        rc = wharf_json_find(copy, n, "container.labels.a", 18, &v);
        assert_true(rc == 1 || rc == WHARF_EPARSE);
        free(copy);
    }
}

static char *nested(int depth, const char *inner)
{
    /* depth objects {"a":...} around inner */
    size_t n = (size_t)depth * 6 + strlen(inner) + 1;
    char *s = malloc(n), *p = s;
    assert_non_null(s);
    for (int i = 0; i < depth; i++)
        p += sprintf(p, "{\"a\":");
    p += sprintf(p, "%s", inner);
    for (int i = 0; i < depth; i++)
        *p++ = '}';
    *p = '\0';
    return s;
}

static char *path_of(int segments)
{
    char *s = malloc((size_t)segments * 2 + 1), *p = s;
    assert_non_null(s);
    for (int i = 0; i < segments; i++)
        p += sprintf(p, i ? ".a" : "a");
    return s;
}

static void test_find_depth_limit(void **state)
{
    wharf_json_value_t v;
    /* 64 levels of objects: found along the path, and skipped. */
    char *ok = nested(WHARF_JSON_MAX_DEPTH - 1, "{}");
    char *path = path_of(WHARF_JSON_MAX_DEPTH - 1);
    assert_int_equal(find(ok, path, &v), 1);
    assert_int_equal(v.type, WHARF_JSON_OBJECT);
    assert_int_equal(find(ok, "b", &v), 0);
    assert_int_equal(find(ok, "a.b", &v), 0);
    free(path);
    free(ok);
    ok = nested(WHARF_JSON_MAX_DEPTH - 1, "[]");
    assert_int_equal(find(ok, "b", &v), 0);
    free(ok);
    /* 65: malformed whether descended into, skipped or returned. */
    char *deep = nested(WHARF_JSON_MAX_DEPTH, "{}");
    path = path_of(WHARF_JSON_MAX_DEPTH);
    assert_int_equal(find(deep, path, &v), WHARF_EPARSE);
    free(path);
    path = path_of(WHARF_JSON_MAX_DEPTH - 1);
    assert_int_equal(find(deep, path, &v), WHARF_EPARSE);
    free(path);
    assert_int_equal(find(deep, "b", &v), WHARF_EPARSE);
    assert_int_equal(find(deep, "a", &v), WHARF_EPARSE);
    free(deep);
    /* Arrays count too: an object holding 63 nested arrays is 64 deep. */
    char arrays[2 * WHARF_JSON_MAX_DEPTH + 1];
    for (int extra = 0; extra <= 1; extra++) {
        size_t n = (size_t)(WHARF_JSON_MAX_DEPTH - 1 + extra);
        memset(arrays, '[', n);
        memset(arrays + n, ']', n);
        arrays[2 * n] = '\0';
        deep = nested(1, arrays);
        assert_int_equal(find(deep, "b", &v), extra ? WHARF_EPARSE : 0);
        assert_int_equal(find(deep, "a", &v), extra ? WHARF_EPARSE : 1);
        free(deep);
    }
    /* Far deeper than the limit: no recursion, no crash. */
    size_t n = 1000000;
    char *huge = malloc(n + 8);
    assert_non_null(huge);
    memcpy(huge, "{\"a\":", 5); /* NOLINT(bugprone-not-null-terminated-result): not a string */
    memset(huge + 5, '[', n);
    assert_int_equal(wharf_json_find(huge, n + 5, "b", 1, &v), WHARF_EPARSE);
    free(huge);
}

static void test_string_unescape(void **state)
{
    check_unescape("", "");
    check_unescape("plain", "plain");
    check_unescape("\\\"\\\\\\/\\b\\f\\n\\r\\t", "\"\\/\b\f\n\r\t");
    check_unescape("ready \\\"x\\\"\\n", "ready \"x\"\n");
    check_unescape("caf\\u00e9", "caf\xc3\xa9");
    check_unescape("\\u00E9\\u0041", "\xc3\xa9"
                                     "A");
    check_unescape("\\u20ac", "\xe2\x82\xac");
    check_unescape("\\ud83d\\ude00!", "\xf0\x9f\x98\x80!");
    check_unescape("\\uD83D\\uDE00", "\xf0\x9f\x98\x80");
    check_unescape("\\ud83dx", "\xef\xbf\xbdx"); /* lone high surrogate */
    check_unescape("\\ude00", "\xef\xbf\xbd");   /* lone low surrogate */
    check_unescape("\\ud83d\\u0041", "\xef\xbf\xbd"
                                     "A"); /* high + not low */
    check_unescape("\\ud83d\\ud83d\\ude00", "\xef\xbf\xbd\xf0\x9f\x98\x80");
    check_unescape("\xc3\xa9 raw UTF-8", "\xc3\xa9 raw UTF-8");

    static const char *const bad[] = {"\\", "a\\", "\\x", "\\u", "\\u12", "\\u12g4", "\\U0041"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        wharf_buf_t b;
        wharf_buf_init(&b);
        wharf_buf_lit(&b, "keep");
        int rc = wharf_json_string_unescape((wharf_str_t){bad[i], strlen(bad[i])}, &b);
        if (rc != WHARF_EPARSE)
            fail_msg("unescape \"%s\": rc=%d, want WHARF_EPARSE", bad[i], rc);
        assert_int_equal(b.len, 4); /* unchanged */
        assert_memory_equal(b.data, "keep", 4);
        wharf_buf_free(&b);
    }
    /* \u0000 decodes to a NUL byte. */
    wharf_buf_t b;
    wharf_buf_init(&b);
    assert_int_equal(wharf_json_string_unescape(WHARF_STR_LIT("a\\u0000b"), &b), 0);
    assert_int_equal(b.len, 3);
    assert_memory_equal(b.data, "a\0b", 3);
    /* Appends. */
    assert_int_equal(wharf_json_string_unescape(WHARF_STR_LIT("\\t"), &b), 0);
    assert_int_equal(b.len, 4);
    assert_memory_equal(b.data, "a\0b\t", 4);
    wharf_buf_free(&b);
}

/* ---- wharf_json_compact -------------------------------------------------- */

static void check_compact_dedot(const char *raw, int dedot, const char *want)
{
    wharf_buf_t out, tmp;
    wharf_json_keyset_t names;
    wharf_buf_init(&out);
    wharf_buf_init(&tmp);
    wharf_json_keyset_init(&names);
    wharf_buf_lit(&out, ">");
    assert_int_equal(wharf_json_compact((wharf_str_t){raw, strlen(raw)}, &out, &tmp, &names, dedot),
                     0);
    wharf_buf_putc(&out, '\0');
    if (strcmp(out.data + 1, want) != 0 || out.data[0] != '>')
        fail_msg("compact '%s': got '%s', want '%s'", raw, out.data, want);
    wharf_buf_free(&out);
    wharf_buf_free(&tmp);
    wharf_json_keyset_free(&names);
}

static void check_compact(const char *raw, const char *want)
{
    check_compact_dedot(raw, 0, want);
}

static void test_compact(void **state)
{
    (void)state;
    check_compact("{}", "{}");
    check_compact(" [ 1 , -2.5e3 ,true,false , null ]\n", "[1,-2.5e3,true,false,null]");
    check_compact("{ \"a b\" : { \"c\" :\t[ \"x y\" , { } ] } }", "{\"a b\":{\"c\":[\"x y\",{}]}}");
    /* escapes decoded and written again as the event writer writes them */
    check_compact("[\"\\u00e9\\/\\t\\\"\\\\\"]", "[\"\xc3\xa9/\\t\\\"\\\\\"]");
    check_compact("{\"k\\u0041\":\"\\ud83d\\ude00\"}", "{\"kA\":\"\xf0\x9f\x98\x80\"}");
    /* strings with nothing to unescape or escape are copied as they are,
     * short or long, up to their closing quote; the others are rewritten */
    check_compact("[\"a\",\"plain text longer than thirty-two bytes\",\"caf\xc3\xa9\",\"x\\\"y\"]",
                  "[\"a\",\"plain text longer than thirty-two bytes\",\"caf\xc3\xa9\",\"x\\\"y\"]");
    /* invalid UTF-8 replaced, control bytes escaped */
    check_compact("[\"a\xff\x01\"]", "[\"a\xef\xbf\xbd\\u0001\"]");
    /* a name repeated in an object: the first member stays, at every depth,
     * also when the repeat is spelled with escapes; objects of the same
     * array element or sibling objects do not share names */
    check_compact("{\"a\":1,\"b\":2,\"a\":3}", "{\"a\":1,\"b\":2}");
    check_compact("{\"a\":1,\"a\":{\"x\":[1,{\"y\":2}]},\"b\":[{\"a\":5,\"a\":6},{\"a\":7}]}",
                  "{\"a\":1,\"b\":[{\"a\":5},{\"a\":7}]}");
    check_compact("{ \"k\" : \"v\" , \"\\u006b\" : \"w\" , \"\" : 1, \"\" : 2 }",
                  "{\"k\":\"v\",\"\":1}");
    check_compact("{\"o\":{\"z\":1,\"z\":2},\"p\":{\"z\":3}}", "{\"o\":{\"z\":1},\"p\":{\"z\":3}}");
    /* dedot: '.' in member names becomes '_' at every depth, strings keep
     * theirs; a name that comes out as an earlier one's is a repeat */
    check_compact_dedot(
        "{\"app\":\"a.b\",\"app.k8s.io/name\":{\"x.y\":[{\"p.q\":1}]},\"app_k8s_io/name\":2}", 1,
        "{\"app\":\"a.b\",\"app_k8s_io/name\":{\"x_y\":[{\"p_q\":1}]}}");
    static const char *const bad[] = {"[\"\\x\"]", "[\"abc", "[\"\\u12\"]", "[\"a\\",
                                      "[\"a long plain string, never closed"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        wharf_buf_t out, tmp;
        wharf_json_keyset_t names;
        wharf_buf_init(&out);
        wharf_buf_init(&tmp);
        wharf_json_keyset_init(&names);
        if (wharf_json_compact((wharf_str_t){bad[i], strlen(bad[i])}, &out, &tmp, &names, 0) !=
            WHARF_EPARSE)
            fail_msg("compact '%s': want WHARF_EPARSE", bad[i]);
        wharf_buf_free(&out);
        wharf_buf_free(&tmp);
        wharf_json_keyset_free(&names);
    }
}

/* ---- templates ----------------------------------------------------------- */

static void test_template_constant(void **state)
{
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"", ""},         {"logs", "logs"},  {"a$$b", "a$b"},        {"$$", "$"},
        {"$$$$", "$$"},   {"$${x}", "${x}"}, {"cost $5", "cost $5"}, /* a lone $ is literal */
        {"end$", "end$"}, {"$", "$"},        {"a}b{c", "a}b{c"}, /* braces outside ${ are literal */
        {"$$$", "$$"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        wharf_template_t *t = compile(cases[i].text);
        assert_true(wharf_template_is_constant(t));
        assert_non_null(wharf_template_constant(t));
        assert_string_equal(wharf_template_constant(t), cases[i].want);
        /* A constant renders without looking at the event. */
        wharf_buf_t b;
        wharf_buf_init(&b);
        assert_int_equal(wharf_template_render(t, NULL, 0, &b), 0);
        assert_int_equal(b.len, strlen(cases[i].want));
        if (b.len > 0)
            assert_memory_equal(b.data, cases[i].want, b.len);
        wharf_buf_free(&b);
        wharf_template_free(t);
    }
    wharf_template_t *t = compile("logs-${stream}");
    assert_false(wharf_template_is_constant(t));
    assert_null(wharf_template_constant(t));
    wharf_template_free(t);
    t = compile("${a:-b}");
    assert_false(wharf_template_is_constant(t));
    assert_null(wharf_template_constant(t));
    wharf_template_free(t);
    wharf_template_free(NULL);
}

static void test_template_fields(void **state)
{
    check_render("${container.id}", EVENT, "3f4e9a");
    check_render("logs-${orchestrator.namespace:-host}", EVENT, "logs-prod");
    check_render("${host.name}/${stream}:${container.labels.a}", EVENT, "vm/stdout:b");
    check_render("${@timestamp}", EVENT, "2026-11-20T08:00:01.120433001Z");
    check_render("[${stream}${stream}]", EVENT, "[stdoutstdout]");
    check_render("$${stream}=${stream}", EVENT, "${stream}=stdout");
    check_render("${stream}$$", EVENT, "stdout$");
    check_render("$${stream}", EVENT, "${stream}");
    /* A field without a default that is missing renders as nothing. */
    check_render("[${process.name}]", EVENT, "[]");
    check_render("${process.name}", EVENT, "");
    check_render("a${x}b${y}c", EVENT, "abc");
}

static void test_template_defaults(void **state)
{
    const char *no_ns = "{\"container\":{\"name\":\"web\"},\"process\":{\"name\":\"nginx\"}}";
    check_render("logs-${orchestrator.namespace:-host}", no_ns, "logs-host");
    const char *app = "${container.name:-${process.name:-wharf}}";
    check_render(app, EVENT, "shop-frontend");
    check_render(app, "{\"process\":{\"name\":\"nginx\"}}", "nginx");
    check_render(app, "{\"host\":{\"name\":\"vm\"}}", "wharf");
    check_render(app, "{}", "wharf");
    /* A default with literals, $$ and several fields. */
    const char *mixed = "${x:-a-${container.name}-$$-${host.name:-h}-b}";
    check_render(mixed, EVENT, "a-shop-frontend-$-vm-b");
    check_render(mixed, "{}", "a--$-h-b");
    check_render(mixed, "{\"x\":\"X\"}", "X");
    /* Text around, after a default. */
    check_render("<${x:-d}>${stream}", EVENT, "<d>stdout");
    check_render("<${stream:-d}>${x:-e}|", EVENT, "<stdout>e|");
    /* An empty default, and a default that is only a field. */
    check_render("<${x:-}>", EVENT, "<>");
    check_render("${x:-${stream}}", EVENT, "stdout");
    /* Three levels. */
    const char *three = "${a:-${b:-${c:-none}}}";
    check_render(three, "{\"c\":\"C\"}", "C");
    check_render(three, "{\"b\":\"B\",\"c\":\"C\"}", "B");
    check_render(three, "{\"a\":\"A\",\"b\":\"B\"}", "A");
    check_render(three, "{}", "none");
    /* Defaults nested in the middle of text in a default. */
    check_render("${a:-x${b:-y${c:-z}y}x}", "{}", "xyzyx");
    check_render("${a:-x${b:-y${c:-z}y}x}", "{\"c\":1}", "xy1yx");
    check_render("${a:-x${b:-y${c:-z}y}x}", "{\"b\":2}", "x2x");
    /* ':' and '-' in a default's text, and a '{' in it. */
    check_render("${x:-a:-b{c}", "{}", "a:-b{c");
    check_render("${x:-a}}", "{}", "a}");
}

static void test_template_value_types(void **state)
{
    const char *j = "{\"i\":42,\"neg\":-1.5e3,\"z\":0,\"t\":true,\"f\":false,\"n\":null,"
                    "\"o\":{\"k\":1},\"a\":[1],\"e\":\"\",\"eo\":{},\"ea\":[],\"sp\":\" \"}";
    check_render("${i}|${neg}|${z}|${t}|${f}", j, "42|-1.5e3|0|true|false");
    check_render("${i:-d}|${z:-d}|${f:-d}", j, "42|0|false");
    /* null, objects, arrays and empty strings are missing. */
    check_render("${n:-d1}|${o:-d2}|${a:-d3}|${e:-d4}|${eo:-d5}|${ea:-d6}", j, "d1|d2|d3|d4|d5|d6");
    check_render("[${n}${o}${a}${e}${eo}${ea}]", j, "[]");
    /* A space is not empty. */
    check_render("[${sp:-d}]", j, "[ ]");
    /* The object's members are reachable. */
    check_render("${o.k:-d}", j, "1");
}

static void test_template_escapes(void **state)
{
    check_render("${message}", EVENT, "ready \"x\"\n");
    const char *j = "{\"q\":\"a\\\"b\",\"bs\":\"c:\\\\d\",\"nl\":\"l1\\nl2\\r\\t\","
                    "\"e\":\"caf\\u00e9\",\"emoji\":\"\\ud83d\\ude00\",\"sl\":\"a\\/b\","
                    "\"ctl\":\"\\b\\f\"}";
    check_render("${q}", j, "a\"b");
    check_render("${bs}", j, "c:\\d");
    check_render("${nl}", j, "l1\nl2\r\t");
    check_render("${e}", j, "caf\xc3\xa9");
    check_render("${emoji}", j, "\xf0\x9f\x98\x80");
    check_render("${sl}", j, "a/b");
    check_render("${ctl}", j, "\b\f");
    check_render("<${q}|${e}|${emoji}>", j, "<a\"b|caf\xc3\xa9|\xf0\x9f\x98\x80>");
    /* An invalid escape in the found string: malformed, the default is used. */
    check_render_n("${bad:-d}", "{\"bad\":\"a\\qb\"}", 14, "d", WHARF_EPARSE);
    check_render_n("[${bad}]", "{\"bad\":\"a\\qb\"}", 14, "[]", WHARF_EPARSE);
}

/* The same traps as for wharf_json_find, through a template. */
static void test_template_lookup_traps(void **state)
{
    check_render("${container.id:-none}",
                 "{\"message\":\"\\\"container\\\":{\\\"id\\\":\\\"x\\\"}\","
                 "\"container\":{\"id\":\"real\"}}",
                 "real");
    check_render("${container.id:-none}",
                 "{\"message\":\"\\\"container\\\":{\\\"id\\\":\\\"x\\\"}\"}", "none");
    check_render("${container.id:-none}", "{\"id\":\"top\",\"container\":{\"name\":\"n\"}}",
                 "none");
    check_render("${container.id:-none}",
                 "{\"list\":[{\"container\":{\"id\":\"no\"}}],\"container\":{\"id\":\"yes\"}}",
                 "yes");
    check_render("${container.labels.app.kubernetes.io-name:-none}",
                 "{\"container\":{\"labels\":{\"app.kubernetes.io-name\":\"shop\"}}}", "shop");
    check_render("${orchestrator.labels.app.kubernetes.io/name:-none}",
                 "{\"orchestrator\":{\"labels\":{\"app.kubernetes.io/name\":\"cart\"}}}", "cart");
    check_render("${container.id}", " {\n \"container\" : { \"id\" : \"ws\" } }\n", "ws");
}

static void test_template_render_appends(void **state)
{
    wharf_template_t *t = compile("-${stream}");
    wharf_buf_t b;
    wharf_buf_init(&b);
    wharf_buf_lit(&b, "pre");
    assert_int_equal(wharf_template_render(t, EVENT, strlen(EVENT), &b), 0);
    assert_int_equal(wharf_template_render(t, EVENT, strlen(EVENT), &b), 0);
    wharf_buf_putc(&b, '\0');
    assert_string_equal(b.data, "pre-stdout-stdout");
    wharf_buf_free(&b);
    wharf_template_free(t);
}

static void test_template_malformed_json(void **state)
{
    const char *app = "${container.name:-${process.name:-wharf}}";
    check_render_n(app, "{\"container\":", 13, "wharf", WHARF_EPARSE);
    check_render_n(app, "not json", 8, "wharf", WHARF_EPARSE);
    check_render_n(app, "", 0, "wharf", WHARF_EPARSE);
    check_render_n(app, NULL, 0, "wharf", WHARF_EPARSE);
    check_render_n("a${x}b", "[1]", 3, "ab", WHARF_EPARSE);
    /* A field found before the malformation renders; the scan stops there. */
    check_render_n("${a}", "{\"a\":\"ok\",\"b\":", 14, "ok", 0);
    /* ... but a later lookup that has to scan further reports it, while
     * the earlier field still renders. */
    check_render_n("${a}/${c:-d}", "{\"a\":\"ok\",\"b\":", 14, "ok/d", WHARF_EPARSE);
    /* Every truncation of a real event: no crash, complete output. */
    size_t full = strlen(EVENT);
    wharf_template_t *t = compile("${orchestrator.namespace:-host}/${container.name:-x}");
    for (size_t n = 0; n <= full; n++) {
        char *copy = malloc(n ? n : 1);
        assert_non_null(copy);
        memcpy(copy, EVENT, n);
        wharf_buf_t b;
        wharf_buf_init(&b);
        int rc = wharf_template_render(t, copy, n, &b);
        wharf_buf_putc(&b, '\0');
        if (n >= full - 1)
            assert_int_equal(rc, 0);
        if (rc == 0) {
            /* The cut is after both fields' values. */
            assert_string_equal(b.data, "prod/shop-frontend");
        } else {
            assert_int_equal(rc, WHARF_EPARSE);
            /* The fields the cut allows, defaults for the rest. */
            assert_true(strcmp(b.data, "host/x") == 0 || strcmp(b.data, "host/shop-frontend") == 0);
        }
        wharf_buf_free(&b);
        free(copy);
    }
    wharf_template_free(t);
}

static void test_template_compile_errors(void **state)
{
    check_compile_error("topic-${", "unclosed ${ at column 7");
    check_compile_error("${", "unclosed ${ at column 1");
    check_compile_error("${a", "unclosed ${ at column 1");
    check_compile_error("${a:", "unclosed ${ at column 1");
    check_compile_error("${a:-", "unclosed ${ at column 1");
    check_compile_error("${a:-b", "unclosed ${ at column 1");
    check_compile_error("${a:-${b}", "unclosed ${ at column 1");
    check_compile_error("x${a:-${b", "unclosed ${ at column 7");
    check_compile_error("${a}${b:-x", "unclosed ${ at column 5");
    check_compile_error("${}", "empty field name at column 1");
    check_compile_error("ab${:-x}", "empty field name at column 3");
    check_compile_error("${a b}", "invalid character ' ' in field name at column 4");
    check_compile_error("${a b}", "invalid character ' ' in field name at column 4");
    check_compile_error("${a${b}}", "invalid character '$' in field name at column 4");
    check_compile_error("${ a}", "invalid character ' ' in field name at column 3");
    check_compile_error("${a\x01}", "invalid byte 0x01 in field name at column 4");
    check_compile_error("${caf\xc3\xa9}", "invalid byte 0xc3 in field name at column 6");
    check_compile_error("${a:b}", "expected ':-' or '}' after field name at column 4");
    check_compile_error("${a:}", "expected ':-' or '}' after field name at column 4");
    check_compile_error("${a..b}", "empty segment in field name \"a..b\" at column 1");
    check_compile_error("x${.a}", "empty segment in field name \".a\" at column 2");
    check_compile_error("${a.}", "empty segment in field name \"a.\" at column 1");
    check_compile_error("${.}", "empty segment in field name \".\" at column 1");
    check_compile_error("${x:-${}}", "empty field name at column 6");

    /* Nesting: 16 open ${ compile, 17 do not. */
    char text[512], *p = text;
    for (int i = 0; i < WHARF_TEMPLATE_MAX_NESTING; i++)
        p += sprintf(p, "${f%d:-", i);
    p += sprintf(p, "end");
    for (int i = 0; i < WHARF_TEMPLATE_MAX_NESTING; i++)
        *p++ = '}';
    *p = '\0';
    wharf_template_t *t = compile(text);
    wharf_buf_t b;
    wharf_buf_init(&b);
    assert_int_equal(wharf_template_render(t, "{\"f15\":\"x\"}", 11, &b), 0);
    assert_int_equal(b.len, 1);
    assert_memory_equal(b.data, "x", 1);
    b.len = 0;
    assert_int_equal(wharf_template_render(t, "{}", 2, &b), 0);
    assert_int_equal(b.len, 3);
    assert_memory_equal(b.data, "end", 3);
    wharf_buf_free(&b);
    wharf_template_free(t);
    p = text;
    for (int i = 0; i <= WHARF_TEMPLATE_MAX_NESTING; i++)
        p += sprintf(p, "${f:-");
    sprintf(p, "end}");
    char want[64];
    snprintf(want, sizeof(want), "more than %d nested ${ at column %d", WHARF_TEMPLATE_MAX_NESTING,
             WHARF_TEMPLATE_MAX_NESTING * 5 + 1);
    check_compile_error(text, want);

    /* err may be absent or short; the code is the same. */
    t = (wharf_template_t *)&t;
    assert_int_equal(wharf_template_compile("${", &t, NULL, 0), -EINVAL);
    assert_null(t);
    char small[8];
    assert_int_equal(wharf_template_compile("${", &t, small, sizeof(small)), -EINVAL);
    assert_string_equal(small, "unclose");
    char one[1] = {'x'};
    assert_int_equal(wharf_template_compile("${", &t, one, sizeof(one)), -EINVAL);
    assert_int_equal(one[0], '\0');
    /* Success clears err. */
    char err[16] = "stale";
    assert_int_equal(wharf_template_compile("ok", &t, err, sizeof(err)), 0);
    assert_string_equal(err, "");
    wharf_template_free(t);
    assert_int_equal(wharf_template_compile(NULL, &t, err, sizeof(err)), -EINVAL);
}

/* ---- differential checks against yajl ------------------------------------- */

/* The reference semantics of a path over a parsed tree: the first member in
 * document order that spells the rest of the path, or through which (as an
 * object) the rest resolves. */
static yajl_val ref_find(yajl_val obj, const char *rest, size_t n)
{
    for (size_t i = 0; i < obj->u.object.len; i++) {
        const char *k = obj->u.object.keys[i];
        size_t kl = strlen(k);
        yajl_val v = obj->u.object.values[i];
        if (kl == n && memcmp(k, rest, n) == 0)
            return v;
        if (kl < n && memcmp(k, rest, kl) == 0 && rest[kl] == '.' && YAJL_IS_OBJECT(v)) {
            yajl_val r = ref_find(v, rest + kl + 1, n - kl - 1);
            if (r != NULL)
                return r;
        }
    }
    return NULL;
}

static int path_ok(const char *path, size_t n)
{
    if (n == 0 || path[0] == '.' || path[n - 1] == '.' || memmem(path, n, "..", 2) != NULL)
        return 0;
    return 1;
}

typedef struct diff {
    const char *json;
    size_t len;
    yajl_val root;
    size_t checked;
    char path[1024];
} diff_t;

/* Compares wharf_json_find with ref_find for path (d->path, n bytes). */
static void diff_check(diff_t *d, size_t n)
{
    if (!path_ok(d->path, n))
        return;
    wharf_json_value_t v;
    int rc = wharf_json_find(d->json, d->len, d->path, n, &v);
    yajl_val want = ref_find(d->root, d->path, n);
    if (want == NULL) {
        if (rc != 0)
            fail_msg("%.*s in %.*s: rc=%d, want absent", (int)n, d->path, (int)d->len, d->json, rc);
        d->checked++;
        return;
    }
    if (rc != 1)
        fail_msg("%.*s in %.*s: rc=%d, want found", (int)n, d->path, (int)d->len, d->json, rc);
    d->checked++;
    switch (want->type) {
    case yajl_t_string: {
        assert_int_equal(v.type, WHARF_JSON_STRING);
        wharf_buf_t b;
        wharf_buf_init(&b);
        assert_int_equal(wharf_json_string_unescape(v.raw, &b), 0);
        wharf_buf_putc(&b, '\0'); /* data is NULL while empty */
        b.len--;
        if (memchr(b.data, '\0', b.len) == NULL &&
            (b.len != strlen(want->u.string) || memcmp(b.data, want->u.string, b.len) != 0))
            fail_msg("%.*s: \"%.*s\", want \"%s\"", (int)n, d->path, (int)b.len, b.data,
                     want->u.string);
        wharf_buf_free(&b);
        break;
    }
    case yajl_t_number:
        assert_int_equal(v.type, WHARF_JSON_NUMBER);
        assert_int_equal(v.raw.len, strlen(want->u.number.r));
        assert_memory_equal(v.raw.ptr, want->u.number.r, v.raw.len);
        break;
    case yajl_t_object:
        assert_int_equal(v.type, WHARF_JSON_OBJECT);
        assert_int_equal(v.raw.ptr[0], '{');
        assert_int_equal(v.raw.ptr[v.raw.len - 1], '}');
        break;
    case yajl_t_array:
        assert_int_equal(v.type, WHARF_JSON_ARRAY);
        assert_int_equal(v.raw.ptr[0], '[');
        assert_int_equal(v.raw.ptr[v.raw.len - 1], ']');
        break;
    case yajl_t_true:
        assert_int_equal(v.type, WHARF_JSON_TRUE);
        break;
    case yajl_t_false:
        assert_int_equal(v.type, WHARF_JSON_FALSE);
        break;
    default:
        assert_int_equal(v.type, WHARF_JSON_NULL);
        break;
    }
}

/* Checks every member path of obj (prefix: n bytes of d->path), and each
 * with a member that does not exist appended. */
static void diff_walk(diff_t *d, yajl_val obj, size_t n)
{
    for (size_t i = 0; i < obj->u.object.len; i++) {
        const char *k = obj->u.object.keys[i];
        size_t kl = strlen(k), sep = n > 0 ? 1 : 0, m = n + sep + kl;
        if (m + 16 > sizeof(d->path))
            continue;
        if (sep && n < sizeof(d->path))
            d->path[n] = '.';
        memcpy(d->path + n + sep, k, kl);
        diff_check(d, m);
        memcpy(d->path + m, ".nope", 5);
        diff_check(d, m + 5);
        if (YAJL_IS_OBJECT(obj->u.object.values[i]))
            diff_walk(d, obj->u.object.values[i], m);
    }
}

/* yajl's tree of a value written back with the event writer's strings: what
 * wharf_json_compact must produce for the same text. */
static void yajl_write(wharf_buf_t *b, yajl_val v)
{
    if (YAJL_IS_STRING(v)) {
        wharf_json_write_string(b, v->u.string, strlen(v->u.string));
    } else if (YAJL_IS_NUMBER(v)) {
        wharf_buf_append(b, v->u.number.r, strlen(v->u.number.r));
    } else if (YAJL_IS_OBJECT(v)) {
        wharf_buf_putc(b, '{');
        for (size_t i = 0; i < v->u.object.len; i++) {
            if (i)
                wharf_buf_putc(b, ',');
            wharf_json_write_string(b, v->u.object.keys[i], strlen(v->u.object.keys[i]));
            wharf_buf_putc(b, ':');
            yajl_write(b, v->u.object.values[i]);
        }
        wharf_buf_putc(b, '}');
    } else if (YAJL_IS_ARRAY(v)) {
        wharf_buf_putc(b, '[');
        for (size_t i = 0; i < v->u.array.len; i++) {
            if (i)
                wharf_buf_putc(b, ',');
            yajl_write(b, v->u.array.values[i]);
        }
        wharf_buf_putc(b, ']');
    } else if (YAJL_IS_TRUE(v)) {
        wharf_buf_lit(b, "true");
    } else if (YAJL_IS_FALSE(v)) {
        wharf_buf_lit(b, "false");
    } else {
        wharf_buf_lit(b, "null");
    }
}

/* Every member of a line yajl parsed, compacted, equals yajl's rewrite of
 * it. Returns the number of members compared. */
static size_t diff_compact(const char *line, size_t len, yajl_val root)
{
    wharf_json_member_t m[64];
    size_t n = 0, compared = 0;
    if (wharf_json_members(line, len, m, 64, &n) < 0 || n > 64 || n != root->u.object.len)
        fail_msg("members of a line yajl parses: %zu, yajl %zu", n, root->u.object.len);
    wharf_buf_t got, want, tmp;
    wharf_json_keyset_t names;
    wharf_buf_init(&got);
    wharf_buf_init(&want);
    wharf_buf_init(&tmp);
    wharf_json_keyset_init(&names);
    for (size_t i = 0; i < n; i++) {
        got.len = want.len = 0;
        assert_int_equal(
            wharf_json_compact(m[i].value.type == WHARF_JSON_STRING
                                   ? (wharf_str_t){m[i].value.raw.ptr - 1, m[i].value.raw.len + 2}
                                   : m[i].value.raw,
                               &got, &tmp, &names, 0),
            0);
        yajl_write(&want, root->u.object.values[i]);
        if (got.len != want.len || memcmp(got.data, want.data, got.len) != 0)
            fail_msg("compact of member %zu: got '%.*s', want '%.*s'", i, (int)got.len, got.data,
                     (int)want.len, want.data);
        compared++;
    }
    wharf_buf_free(&got);
    wharf_buf_free(&want);
    wharf_buf_free(&tmp);
    wharf_json_keyset_free(&names);
    return compared;
}

/* Returns 1 when yajl parsed line as an object and every path agreed. */
static int diff_line(const char *line, size_t len, size_t *checked, size_t *compacted)
{
    char *z = malloc(len + 1);
    assert_non_null(z);
    memcpy(z, line, len);
    z[len] = '\0';
    yajl_val root = yajl_tree_parse(z, NULL, 0);
    free(z);
    /* yajl accepts an unfinished string token after the value ('{}"'). */
    size_t t = len;
    while (t > 0 && (line[t - 1] == ' ' || line[t - 1] == '\n' || line[t - 1] == '\r' ||
                     line[t - 1] == '\t'))
        t--;
    if (root == NULL || !YAJL_IS_OBJECT(root) || t == 0 || line[t - 1] != '}') {
        yajl_tree_free(root);
        return 0;
    }
    diff_t *d = malloc(sizeof(*d));
    assert_non_null(d);
    d->json = line;
    d->len = len;
    d->root = root;
    d->checked = 0;
    diff_walk(d, root, 0);
    memcpy(d->path, "no.such.field", 13);
    diff_check(d, 13);
    *checked += d->checked;
    free(d);
    if (compacted != NULL)
        *compacted += diff_compact(line, len, root);
    yajl_tree_free(root);
    return 1;
}

static void diff_file(const char *path, size_t *lines, size_t *checked, size_t *compacted)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) > 0) {
        /* Exact-size copy so that an overread is caught by ASan/valgrind. */
        char *copy = malloc((size_t)n);
        assert_non_null(copy);
        memcpy(copy, line, (size_t)n);
        wharf_json_value_t v;
        if (diff_line(copy, (size_t)n, checked, compacted))
            (*lines)++;
        else /* yajl rejects it: whatever we say, no crash */
            (void)wharf_json_find(copy, (size_t)n, "log", 3, &v);
        free(copy);
    }
    free(line);
    fclose(f);
}

static void test_corpus_differential(void **state)
{
    static const char *const dirs[] = {WHARF_CORPUS "/k8s-audit", WHARF_CORPUS "/docker-json",
                                       WHARF_CORPUS "/json-app"};
    size_t lines = 0, checked = 0, compacted = 0;
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        DIR *dir = opendir(dirs[i]);
        if (dir == NULL)
            continue;
        struct dirent *e;
        while ((e = readdir(dir)) != NULL) {
            size_t nl = strlen(e->d_name);
            if (e->d_name[0] == '.' || (nl > 5 && strcmp(e->d_name + nl - 5, ".json") == 0))
                continue; /* the -expected.json files are pretty-printed arrays */
            char path[1024];
            snprintf(path, sizeof(path), "%s/%s", dirs[i], e->d_name);
            diff_file(path, &lines, &checked, &compacted);
        }
        closedir(dir);
    }
    if (lines == 0)
        skip();
    print_message("corpus: %zu lines, %zu lookups and %zu compacted members agree with yajl\n",
                  lines, checked, compacted);
    assert_true(lines >= 100);
    assert_true(checked >= 1000);
    assert_true(compacted >= 1000);
}

/* Random byte mutations of a real event: whenever yajl still parses the
 * result as an object, every lookup must agree with it; otherwise only
 * "no crash" (the scanner is lenient about string contents). */
static void test_mutations_differential(void **state)
{
    const char *base =
        "{\"@timestamp\":\"2026-11-20T08:00:01.120433001Z\",\"container\":{\"id\":\"3f4e\","
        "\"name\":\"shop\",\"labels\":{\"a\":\"b\",\"a.b\":{\"c\":[1,{\"d\":null}]}}},\"n\":-1.5e3,"
        "\"t\":true,\"f\":false,\"arr\":[[],{},\"x\\\\\",\"\\\"\"],\"message\":\"re\\u00e9 "
        "\\\"x\\\"\\n\","
        "\"e\":\"\"}\n";
    static const char alphabet[] = "{}[]\":,\\ .0123456789-+eEtrufalsn\nabcdx";
    size_t len = strlen(base), lines = 0, checked = 0;
    uint64_t rng = 0x9e3779b97f4a7c15u;
    for (int round = 0; round < 20000; round++) {
        char *m = malloc(len + 2);
        assert_non_null(m);
        memcpy(m, base, len); /* NOLINT(bugprone-not-null-terminated-result): a byte range */
        size_t mlen = len;
        int edits = 1 + (int)(round % 3);
        for (int e = 0; e < edits; e++) {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            size_t pos = (size_t)(rng % mlen);
            char c = alphabet[(rng >> 32) % (sizeof(alphabet) - 1)];
            switch ((rng >> 48) % 3) {
            case 0:
                m[pos] = c;
                break;
            case 1: /* delete */
                memmove(m + pos, m + pos + 1, mlen - pos - 1);
                mlen--;
                break;
            default: /* insert (at most two over the whole round) */
                if (mlen < len + 2) {
                    memmove(m + pos + 1, m + pos, mlen - pos);
                    m[pos] = c;
                    mlen++;
                }
                break;
            }
        }
        char *exact = malloc(mlen);
        assert_non_null(exact);
        memcpy(exact, m, mlen);
        free(m);
        if (diff_line(exact, mlen, &checked, NULL)) {
            lines++;
        } else {
            wharf_json_value_t v;
            (void)wharf_json_find(exact, mlen, "container.labels.a.b.c", 22, &v);
            (void)wharf_json_find(exact, mlen, "zzz", 3, &v);
        }
        free(exact);
    }
    print_message("mutations: %zu of 20000 still parse, %zu lookups agree with yajl\n", lines,
                  checked);
    assert_true(lines > 100);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_find_value_types),
        cmocka_unit_test(test_find_nested_paths),
        cmocka_unit_test(test_find_absent),
        cmocka_unit_test(test_find_keys_inside_strings),
        cmocka_unit_test(test_find_backslash_runs),
        cmocka_unit_test(test_find_wrong_depth),
        cmocka_unit_test(test_find_arrays_skipped),
        cmocka_unit_test(test_find_whitespace),
        cmocka_unit_test(test_find_escaped_keys),
        cmocka_unit_test(test_find_dotted_keys),
        cmocka_unit_test(test_find_bad_path),
        cmocka_unit_test(test_find_malformed),
        cmocka_unit_test(test_find_truncated),
        cmocka_unit_test(test_find_depth_limit),
        cmocka_unit_test(test_string_unescape),
        cmocka_unit_test(test_compact),
        cmocka_unit_test(test_template_constant),
        cmocka_unit_test(test_template_fields),
        cmocka_unit_test(test_template_defaults),
        cmocka_unit_test(test_template_value_types),
        cmocka_unit_test(test_template_escapes),
        cmocka_unit_test(test_template_lookup_traps),
        cmocka_unit_test(test_members),
        cmocka_unit_test(test_template_render_appends),
        cmocka_unit_test(test_template_malformed_json),
        cmocka_unit_test(test_template_compile_errors),
        cmocka_unit_test(test_corpus_differential),
        cmocka_unit_test(test_mutations_differential),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
