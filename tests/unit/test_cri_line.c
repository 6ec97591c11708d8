/* test_cri_line.c - the CRI log line parser, on the corpus and its edges:
 * "<RFC3339Nano> <stdout|stderr> <P|F>[:tags] <text>". */
#include "wharf/common.h"
#include "wharf/cri.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
/* cmocka.h needs the headers above. */
#include <cmocka.h>

#define CORPUS_DIR WHARF_CORPUS "/cri/"
#define SEC        INT64_C(1000000000)

typedef struct lines {
    char *text;
    size_t n;
    char **v;
    size_t *len;
} lines_t;

static void read_lines(const char *path, lines_t *l)
{
    memset(l, 0, sizeof(*l));
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    l->text = malloc((size_t)size + 1);
    assert_non_null(l->text);
    assert_int_equal(fread(l->text, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    l->text[size] = '\0';
    size_t cap = 64;
    l->v = malloc(cap * sizeof(*l->v));
    l->len = malloc(cap * sizeof(*l->len));
    char *p = l->text, *end = l->text + size;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        assert_true(l->n < cap);
        l->v[l->n] = p;
        l->len[l->n] = (size_t)((nl ? nl : end) - p);
        l->n++;
        if (nl == NULL)
            break;
        *nl = '\0';
        p = nl + 1;
    }
}

static void free_lines(lines_t *l)
{
    free(l->text);
    free(l->v);
    free(l->len);
}

static int parse_n(const char *line, size_t n, wharf_container_record_t *r)
{
    memset(r, 0x5a, sizeof(*r));
    return cri_line_parse(line, n, r);
}

static int parse(const char *line, wharf_container_record_t *r)
{
    return parse_n(line, strlen(line), r);
}

static void check_text_n(const wharf_container_record_t *r, const char *want, size_t n)
{
    if (r->len != n || memcmp(r->text, want, n) != 0)
        fail_msg("text is \"%.*s\" (%zu bytes), want \"%.*s\" (%zu bytes)", (int)r->len, r->text,
                 r->len, (int)n, want, n);
}

#define CHECK_TEXT(r, lit) check_text_n((r), (lit), sizeof(lit) - 1)

static void check_line(const char *line, int64_t ns, wharf_stream stream, int final,
                       const char *text, size_t text_len)
{
    wharf_container_record_t r;
    int rc = parse(line, &r);
    if (rc != 0)
        fail_msg("\"%s\": rc=%d, want 0", line, rc);
    if (r.ns != ns)
        fail_msg("\"%s\": ns=%lld, want %lld", line, (long long)r.ns, (long long)ns);
    assert_int_equal(r.stream, stream);
    assert_int_equal(r.final, final);
    check_text_n(&r, text, text_len);
    /* the text is a slice of the line */
    assert_true(r.text >= line && r.text + r.len <= line + strlen(line));
    assert_ptr_equal(r.text + r.len, line + strlen(line));
}

#define CHECK_LINE(line, ns, stream, final, lit)                                                   \
    check_line((line), (ns), (stream), (final), (lit), sizeof(lit) - 1)

static void check_bad(const char *line, size_t n)
{
    wharf_container_record_t r;
    int rc = parse_n(line, n, &r);
    if (rc != WHARF_EPARSE)
        fail_msg("\"%.*s\": rc=%d, want WHARF_EPARSE", (int)n, line, rc);
}

/* ---- the corpus ---------------------------------------------------------- */

static void test_corpus_beats(void **state)
{
    lines_t l;
    read_lines(CORPUS_DIR "beats_tests_cri.log", &l);
    assert_int_equal(l.n, 1);
    wharf_container_record_t r;
    assert_int_equal(parse_n(l.v[0], l.len[0], &r), 0);
    assert_int_equal(r.ns, INT64_C(1505255541212861448));
    assert_int_equal(r.stream, WHARF_STREAM_STDOUT);
    assert_true(r.final);
    CHECK_TEXT(&r, "2017-09-12 22:32:21.212 [INFO][88] table.go 710: Invalidating dataplane cache");
    free_lines(&l);
}

static void test_corpus_stacktrace(void **state)
{
    lines_t l;
    read_lines(CORPUS_DIR "fluentbit_avro-multiline_hadoop-stacktrace.log", &l);
    assert_int_equal(l.n, 19);
    int64_t prev = 0;
    for (size_t i = 0; i < l.n; i++) {
        wharf_container_record_t r;
        assert_int_equal(parse_n(l.v[i], l.len[i], &r), 0);
        assert_int_equal(r.stream, WHARF_STREAM_STDERR);
        assert_true(r.final);
        assert_true(r.ns > prev);
        prev = r.ns;
        /* the text is everything after "<time> stderr F " */
        const char *after = strstr(l.v[i], " stderr F ");
        assert_non_null(after);
        check_text_n(&r, after + 10, l.len[i] - (size_t)(after + 10 - l.v[i]));
        if (i >= 2)
            assert_int_equal(r.text[0], '\t'); /* "\tat ..." keeps its tab */
        if (i == 0) {
            CHECK_TEXT(&r, "hdfsExists: invokeMethod((Lorg/apache/hadoop/fs/Path;)Z) error:");
            assert_int_equal(r.ns, INT64_C(1597871184337499838));
        }
        if (i == 1) /* eight fraction digits */
            assert_int_equal(r.ns, INT64_C(1597871184337540770));
        if (i == 2)
            CHECK_TEXT(&r, "\tat org.apache.hadoop.ipc.Client.call(Client.java:1475)");
    }
    free_lines(&l);
}

/* P parts joined per stream up to their F part give fluent-bit's expected
 * messages, in the order the F parts arrive. */
static void test_corpus_partial(void **state)
{
    lines_t in, want;
    read_lines(CORPUS_DIR "fluentbit_multiline-test_cri_partial.log", &in);
    read_lines(CORPUS_DIR "fluentbit_multiline-test_cri_partial.expected.txt", &want);
    assert_int_equal(in.n, 16);
    assert_int_equal(want.n, 8);
    char joined[2][256];
    size_t jn[2] = {0, 0}, k = 0, parts = 0;
    for (size_t i = 0; i < in.n; i++) {
        wharf_container_record_t r;
        assert_int_equal(parse_n(in.v[i], in.len[i], &r), 0);
        assert_true(r.stream == WHARF_STREAM_STDOUT || r.stream == WHARF_STREAM_STDERR);
        int s = r.stream;
        assert_true(jn[s] + r.len < sizeof(joined[s]));
        memcpy(joined[s] + jn[s], r.text, r.len);
        jn[s] += r.len;
        if (!r.final) {
            parts++;
            continue;
        }
        assert_true(k < want.n);
        check_text_n(&(wharf_container_record_t){.text = joined[s], .len = jn[s]}, want.v[k],
                     want.len[k]);
        k++;
        jn[s] = 0;
    }
    assert_int_equal(k, want.n);
    assert_int_equal(parts, 8);
    assert_int_equal(jn[0] + jn[1], 0);

    /* exact values of the first part: an explicit +00:00 offset */
    wharf_container_record_t r;
    assert_int_equal(parse_n(in.v[0], in.len[0], &r), 0);
    assert_int_equal(r.ns, INT64_C(1557255470904275087));
    assert_false(r.final);
    CHECK_TEXT(&r, "1a. some ");
    free_lines(&in);
    free_lines(&want);
}

/* ---- edges ---------------------------------------------------------------- */

static void test_tags(void **state)
{
    int64_t t = INT64_C(1795161600) * SEC; /* 2026-11-20T08:00:00Z */
    CHECK_LINE("2026-11-20T08:00:00Z stdout F text", t, WHARF_STREAM_STDOUT, 1, "text");
    CHECK_LINE("2026-11-20T08:00:00Z stdout P text", t, WHARF_STREAM_STDOUT, 0, "text");
    CHECK_LINE("2026-11-20T08:00:00Z stderr F text", t, WHARF_STREAM_STDERR, 1, "text");
    CHECK_LINE("2026-11-20T08:00:00Z stderr P text", t, WHARF_STREAM_STDERR, 0, "text");
    /* more tags after a colon */
    CHECK_LINE("2026-11-20T08:00:00Z stdout F:x tagged", t, WHARF_STREAM_STDOUT, 1, "tagged");
    CHECK_LINE("2026-11-20T08:00:00Z stdout P:a:b part", t, WHARF_STREAM_STDOUT, 0, "part");
    CHECK_LINE("2026-11-20T08:00:00Z stdout F:", t, WHARF_STREAM_STDOUT, 1, "");
}

static void test_empty_text(void **state)
{
    int64_t t = INT64_C(1795161600) * SEC;
    /* without the space before the (empty) text */
    CHECK_LINE("2026-11-20T08:00:00Z stdout F", t, WHARF_STREAM_STDOUT, 1, "");
    CHECK_LINE("2026-11-20T08:00:00Z stderr P", t, WHARF_STREAM_STDERR, 0, "");
    /* with it */
    CHECK_LINE("2026-11-20T08:00:00Z stdout F ", t, WHARF_STREAM_STDOUT, 1, "");
    CHECK_LINE("2026-11-20T08:00:00Z stderr P ", t, WHARF_STREAM_STDERR, 0, "");
    /* one separator only: further spaces are text */
    CHECK_LINE("2026-11-20T08:00:00Z stdout F  ", t, WHARF_STREAM_STDOUT, 1, " ");
    CHECK_LINE("2026-11-20T08:00:00Z stdout F    x  ", t, WHARF_STREAM_STDOUT, 1, "   x  ");
}

static void test_text_kept_verbatim(void **state)
{
    int64_t t = INT64_C(1795161600) * SEC;
    CHECK_LINE("2026-11-20T08:00:00Z stdout F \ttext x", t, WHARF_STREAM_STDOUT, 1, "\ttext x");
    CHECK_LINE("2026-11-20T08:00:00Z stdout F a\tb\t\tc\t", t, WHARF_STREAM_STDOUT, 1,
               "a\tb\t\tc\t");
    CHECK_LINE("2026-11-20T08:00:00Z stdout F crlf\r", t, WHARF_STREAM_STDOUT, 1, "crlf\r");
    CHECK_LINE("2026-11-20T08:00:00Z stdout F stdout F P", t, WHARF_STREAM_STDOUT, 1, "stdout F P");
    CHECK_LINE("2026-11-20T08:00:00Z stderr F 2026-11-20T08:00:00Z stdout F x", t,
               WHARF_STREAM_STDERR, 1, "2026-11-20T08:00:00Z stdout F x");
    CHECK_LINE("2026-11-20T08:00:00Z stdout F {\"json\": [1, \"x y\"]}", t, WHARF_STREAM_STDOUT, 1,
               "{\"json\": [1, \"x y\"]}");
    CHECK_LINE("2026-11-20T08:00:00Z stdout F caf\xc3\xa9 \xff", t, WHARF_STREAM_STDOUT, 1,
               "caf\xc3\xa9 \xff");
    /* NUL bytes are text too: the line is a slice, not a C string */
    const char nul[] = "2026-11-20T08:00:00Z stdout F a\0b";
    wharf_container_record_t r;
    assert_int_equal(parse_n(nul, sizeof(nul) - 1, &r), 0);
    check_text_n(&r, "a\0b", 3);
}

static void test_timestamps(void **state)
{
    /* nanoseconds, fewer digits, none */
    CHECK_LINE("2016-03-02T22:58:51.338462311Z stdout F x", INT64_C(1456959531338462311),
               WHARF_STREAM_STDOUT, 1, "x");
    CHECK_LINE("2016-03-02T22:58:51.5Z stdout F x", INT64_C(1456959531500000000),
               WHARF_STREAM_STDOUT, 1, "x");
    CHECK_LINE("2016-03-02T22:58:51Z stdout F x", INT64_C(1456959531) * SEC, WHARF_STREAM_STDOUT, 1,
               "x");
    /* local time with an offset (containerd) is converted to UTC */
    CHECK_LINE("2026-11-20T09:00:00+01:00 stderr F \ttext x", INT64_C(1795161600) * SEC,
               WHARF_STREAM_STDERR, 1, "\ttext x");
    CHECK_LINE("2016-03-03T00:58:51.338462311+02:00 stdout F x", INT64_C(1456959531338462311),
               WHARF_STREAM_STDOUT, 1, "x");
    CHECK_LINE("2016-03-02T17:28:51.338462311-05:30 stdout F x", INT64_C(1456959531338462311),
               WHARF_STREAM_STDOUT, 1, "x");
    CHECK_LINE("2019-05-07T18:57:50.904275087+00:00 stdout P 1a. some ",
               INT64_C(1557255470904275087), WHARF_STREAM_STDOUT, 0, "1a. some ");
}

static void test_invalid(void **state)
{
    static const char *const bad[] = {
        "",
        " ",
        "no spaces",
        "x",
        /* missing fields */
        "2026-11-20T08:00:00Z",
        "2026-11-20T08:00:00Z ",
        "2026-11-20T08:00:00Z stdout",
        "2026-11-20T08:00:00Z stdout ",
        "2026-11-20T08:00:00Z stdout  x",
        " stdout F x",
        "stdout F x",
        /* invalid stream */
        "2026-11-20T08:00:00Z sideout F x",
        "2026-11-20T08:00:00Z stdin F x",
        "2026-11-20T08:00:00Z STDOUT F x",
        "2026-11-20T08:00:00Z out F x",
        "2026-11-20T08:00:00Z stdoutt F x",
        "2026-11-20T08:00:00Z  stdout F x",
        /* invalid tag */
        "2026-11-20T08:00:00Z stdout X x",
        "2026-11-20T08:00:00Z stdout FF x",
        "2026-11-20T08:00:00Z stdout FP x",
        "2026-11-20T08:00:00Z stdout f x",
        "2026-11-20T08:00:00Z stdout p x",
        "2026-11-20T08:00:00Z stdout Fx",
        "2026-11-20T08:00:00Z stdout :F x",
        /* invalid timestamp */
        "yesterday stdout F x",
        "2026-11-20 08:00:00Z stdout F x",
        "2026-11-20T08:00:00 stdout F x",
        "2026-13-20T08:00:00Z stdout F x",
        "2026-11-20T08:00:00.Z stdout F x",
        "2026-11-20T08:00:00+0100 stdout F x",
        /* other separators */
        "2026-11-20T08:00:00Z\tstdout\tF\tx",
        "2026-11-20T08:00:00Z stdout\tF x",
        /* Docker's format is not CRI */
        "{\"log\":\"x\\n\",\"stream\":\"stdout\",\"time\":\"2016-03-02T22:58:51Z\"}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        check_bad(bad[i], strlen(bad[i]));
    /* a field cut by the slice's end */
    check_bad("2026-11-20T08:00:00Z stdout F x", 27);
    check_bad("2026-11-20T08:00:00Z stdout F x", 20);
}

static void test_length_respected(void **state)
{
    const char *s = "2026-11-20T08:00:00Z stdout F hello world";
    wharf_container_record_t r;
    /* cut after the tag: empty text */
    assert_int_equal(parse_n(s, 29, &r), 0);
    assert_int_equal(r.len, 0);
    assert_true(r.final);
    /* cut inside the text */
    assert_int_equal(parse_n(s, 35, &r), 0);
    CHECK_TEXT(&r, "hello");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corpus_beats),     cmocka_unit_test(test_corpus_stacktrace),
        cmocka_unit_test(test_corpus_partial),   cmocka_unit_test(test_tags),
        cmocka_unit_test(test_empty_text),       cmocka_unit_test(test_text_kept_verbatim),
        cmocka_unit_test(test_timestamps),       cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_length_respected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
