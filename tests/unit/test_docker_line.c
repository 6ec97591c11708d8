/* test_docker_line.c - the Docker json-file line decoder, on real lines from
 * the corpus and on every edge of the format. */
#include "wharf/common.h"
#include "wharf/docker.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
/* cmocka.h needs the headers above. */
#include <cmocka.h>

#define CORPUS_DIR WHARF_CORPUS "/docker-json/"

/* ---- helpers ------------------------------------------------------------ */

typedef struct lines {
    char *text; /* the whole file */
    size_t n;
    char **v;    /* each line, '\n' replaced by NUL */
    size_t *len; /* without the '\n' */
    int last_unterminated;
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
    size_t cap = 16;
    l->v = malloc(cap * sizeof(*l->v));
    l->len = malloc(cap * sizeof(*l->len));
    char *p = l->text, *end = l->text + size;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        if (l->n == cap) {
            cap *= 2;
            l->v = realloc(l->v, cap * sizeof(*l->v));
            l->len = realloc(l->len, cap * sizeof(*l->len));
        }
        l->v[l->n] = p;
        l->len[l->n] = (size_t)((nl ? nl : end) - p);
        l->n++;
        if (nl == NULL) {
            l->last_unterminated = 1;
            break;
        }
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

static int decode(docker_line_decoder_t *d, const char *line)
{
    return docker_line_decode(d, line, strlen(line));
}

static void check_log_n(const docker_line_t *l, const char *want, size_t n)
{
    if (l->log == NULL)
        fail_msg("log is NULL, want \"%.*s\"", (int)n, want);
    if (l->log_len != n || memcmp(l->log, want, n) != 0)
        fail_msg("log is \"%.*s\" (%zu bytes), want \"%.*s\" (%zu bytes)", (int)l->log_len, l->log,
                 l->log_len, (int)n, want, n);
}

#define CHECK_LOG(l, lit) check_log_n((l), (lit), sizeof(lit) - 1)

static void check_decodes(docker_line_decoder_t *d, const char *line, const char *want_log,
                          size_t want_len)
{
    int rc = decode(d, line);
    if (rc != 0)
        fail_msg("%s: rc=%d, want 0", line, rc);
    check_log_n(&d->line, want_log, want_len);
}

#define CHECK_DECODES(d, line, lit) check_decodes((d), (line), (lit), sizeof(lit) - 1)

static int points_into(const char *p, const char *base, size_t n)
{
    return p >= base && p <= base + n;
}

/* ---- the corpus ---------------------------------------------------------- */

static void test_corpus_docker_log(void **state)
{
    lines_t l;
    read_lines(CORPUS_DIR "beats_tests_docker.log", &l);
    assert_int_equal(l.n, 21);
    assert_false(l.last_unterminated);
    docker_line_decoder_t d;
    docker_line_decoder_init(&d);
    int64_t prev = 0;
    for (size_t i = 0; i < l.n; i++) {
        int rc = docker_line_decode(&d, l.v[i], l.len[i]);
        if (rc != 0)
            fail_msg("line %zu: rc=%d", i + 1, rc);
        assert_int_equal(d.line.stream, WHARF_STREAM_STDOUT);
        assert_true(d.line.ns >= prev);
        prev = d.line.ns;
        assert_true(d.line.log_len > 0);
        assert_int_equal(d.line.log[d.line.log_len - 1], '\n');
        assert_int_equal(d.line.n_attrs, 0);
        switch (i) {
        case 0:
            CHECK_LOG(&d.line, "Fetching main repository github.com/elastic/beats...\n");
            assert_int_equal(d.line.ns, INT64_C(1456959531338462311));
            break;
        case 6:
            CHECK_LOG(&d.line, "cp packetbeat.yml /build/packetbeat-linux.yml\n");
            assert_int_equal(d.line.ns, INT64_C(1456959544647847045));
            break;
        case 11: /* eight fraction digits */
            CHECK_LOG(&d.line,
                      "sed -i.bk 's/device: any/device: en0/' /build/packetbeat-darwin.yml\n");
            assert_int_equal(d.line.ns, INT64_C(1456959544666497440));
            break;
        case 20:
            CHECK_LOG(&d.line, "Moving binaries to host...\n");
            assert_int_equal(d.line.ns, INT64_C(1456959615140397826));
            break;
        }
        /* "\n" is an escape, so the log was unescaped into the arena: it
         * must be exactly the JSON text minus the escape */
        assert_false(points_into(d.line.log, l.v[i], l.len[i]));
    }
    docker_line_decoder_free(&d);
    free_lines(&l);
}

/* docker_corrupted.log is docker.log with line 7's leading '{' gone: that
 * line alone is invalid and the decoder goes on with the next one. */
static void test_corpus_corrupted_recovers(void **state)
{
    lines_t good, bad;
    read_lines(CORPUS_DIR "beats_tests_docker.log", &good);
    read_lines(CORPUS_DIR "beats_tests_docker_corrupted.log", &bad);
    assert_int_equal(bad.n, good.n);
    docker_line_decoder_t d, g;
    docker_line_decoder_init(&d);
    docker_line_decoder_init(&g);
    size_t failures = 0;
    for (size_t i = 0; i < bad.n; i++) {
        int rc = docker_line_decode(&d, bad.v[i], bad.len[i]);
        if (i == 6) {
            assert_int_equal(rc, WHARF_EPARSE);
            failures++;
            continue;
        }
        if (rc != 0)
            fail_msg("line %zu after the corrupt one: rc=%d", i + 1, rc);
        assert_int_equal(docker_line_decode(&g, good.v[i], good.len[i]), 0);
        check_log_n(&d.line, g.line.log, g.line.log_len);
        assert_int_equal(d.line.ns, g.line.ns);
        assert_int_equal(d.line.stream, g.line.stream);
        if (i == 7) {
            CHECK_LOG(&d.line, "# binary\n");
            assert_int_equal(d.line.ns, INT64_C(1456959544653740138));
        }
    }
    assert_int_equal(failures, 1);
    docker_line_decoder_free(&d);
    docker_line_decoder_free(&g);
    free_lines(&good);
    free_lines(&bad);
}

static void test_corpus_partial_lines(void **state)
{
    lines_t l;
    read_lines(CORPUS_DIR "beats_tests_docker_multiline.log", &l);
    assert_int_equal(l.n, 5);
    static const char *const want[] = {
        "[log] The following are log messages\n",
        "[log] This one is\n",
        " on multiple\n",
        " lines", /* a 16 KiB-style part: no trailing newline */
        "[log] In total there should be 3 events\n",
    };
    docker_line_decoder_t d;
    docker_line_decoder_init(&d);
    for (size_t i = 0; i < l.n; i++) {
        assert_int_equal(docker_line_decode(&d, l.v[i], l.len[i]), 0);
        check_log_n(&d.line, want[i], strlen(want[i]));
        assert_int_equal(d.line.stream, WHARF_STREAM_STDOUT);
        assert_int_equal(d.line.ns, INT64_C(1456959531338462311));
    }
    docker_line_decoder_free(&d);
    free_lines(&l);
}

/* fluent-bit's fixtures: the parts joined at their trailing "\n" give the
 * records of the .out file, which is itself json-file lines. */
static void check_joined_against_out(const char *log_name, const char *out_name)
{
    char p1[512], p2[512];
    snprintf(p1, sizeof(p1), "%s%s", CORPUS_DIR, log_name);
    snprintf(p2, sizeof(p2), "%s%s", CORPUS_DIR, out_name);
    lines_t in, out;
    read_lines(p1, &in);
    read_lines(p2, &out);
    docker_line_decoder_t d, o;
    docker_line_decoder_init(&d);
    docker_line_decoder_init(&o);
    char joined[4096];
    size_t jn = 0, k = 0;
    for (size_t i = 0; i < in.n; i++) {
        assert_int_equal(docker_line_decode(&d, in.v[i], in.len[i]), 0);
        assert_int_equal(d.line.stream, WHARF_STREAM_NONE); /* no "stream" key */
        assert_int_equal(d.line.ns, 0);                     /* no "time" key */
        assert_true(jn + d.line.log_len < sizeof(joined));
        memcpy(joined + jn, d.line.log, d.line.log_len);
        jn += d.line.log_len;
        if (jn > 0 && joined[jn - 1] == '\n') {
            assert_true(k < out.n);
            assert_int_equal(docker_line_decode(&o, out.v[k], out.len[k]), 0);
            check_log_n(&o.line, joined, jn);
            k++;
            jn = 0;
        }
    }
    assert_int_equal(jn, 0);
    assert_int_equal(k, out.n);
    docker_line_decoder_free(&d);
    docker_line_decoder_free(&o);
    free_lines(&in);
    free_lines(&out);
}

static void test_corpus_fluentbit_join(void **state)
{
    check_joined_against_out("fluentbit_tail_dockermode.log", "fluentbit_tail_dockermode.out");
    check_joined_against_out("fluentbit_tail_dockermode_splitted_line.log",
                             "fluentbit_tail_dockermode_splitted_line.out");
}

/* The .out record is [time, {"log":..., "stream":..., "kubernetes":{...}}]:
 * its object has the same "log" and a nested unknown object to skip. */
static void check_unescaping(const char *name, const char *want)
{
    char p1[512], p2[512];
    snprintf(p1, sizeof(p1), "%s%s.log", CORPUS_DIR, name);
    snprintf(p2, sizeof(p2), "%s%s.out", CORPUS_DIR, name);
    lines_t in, out;
    read_lines(p1, &in);
    read_lines(p2, &out);
    assert_int_equal(in.n, 1);
    assert_int_equal(out.n, 1);
    docker_line_decoder_t d, o;
    docker_line_decoder_init(&d);
    docker_line_decoder_init(&o);
    assert_int_equal(docker_line_decode(&d, in.v[0], in.len[0]), 0);
    assert_int_equal(d.line.ns, INT64_C(1554141513598656444));
    assert_int_equal(d.line.stream, WHARF_STREAM_STDOUT);
    if (want != NULL)
        check_log_n(&d.line, want, strlen(want));
    char *obj = strchr(out.v[0], '{');
    assert_non_null(obj);
    size_t n = out.len[0] - (size_t)(obj - out.v[0]);
    assert_int_equal(obj[n - 1], ']');
    assert_int_equal(docker_line_decode(&o, obj, n - 1), 0);
    check_log_n(&o.line, d.line.log, d.line.log_len);
    assert_int_equal(o.line.stream, WHARF_STREAM_STDOUT);
    docker_line_decoder_free(&d);
    docker_line_decoder_free(&o);
    free_lines(&in);
    free_lines(&out);
}

static void test_corpus_fluentbit_unescaping(void **state)
{
    check_unescaping("fluentbit_k8s_core_unescaping_text",
                     "Text with embedded quoted \"text with embedded quoted \\\"text with embedded "
                     "quoted \\\\\\\"text\\\\\\\"\\\"\"\n");
    check_unescaping("fluentbit_k8s_core_unescaping_json",
                     "{\"stringified-json\":\"{\\\"stringified-json\\\":\\\"{\\\\\\\"stringified-"
                     "json\\\\\\\":\\\\\\\"\\\\\\\"}\\\"}\",\"text\":\"quoted \\\"text with "
                     "embedded quoted \\\\\\\"text\\\\\\\"\\\"\"}\n");
    check_unescaping("fluentbit_k8s_options_merge-log-enabled_invalid-json",
                     "{\"text\":\"Simple text\"]\n");
}

static void test_corpus_streams(void **state)
{
    lines_t l;
    read_lines(CORPUS_DIR "fluentbit_k8s_annotations-parser-order_multiple-1_container-1.log", &l);
    assert_int_equal(l.n, 2);
    docker_line_decoder_t d;
    docker_line_decoder_init(&d);
    assert_int_equal(docker_line_decode(&d, l.v[0], l.len[0]), 0);
    assert_int_equal(d.line.stream, WHARF_STREAM_STDOUT);
    CHECK_LOG(&d.line, "[2019-04-05T14:54:23.584269761] Container 1 is logging on stdout\n");
    assert_int_equal(d.line.ns, INT64_C(1554141513598656444));
    assert_int_equal(docker_line_decode(&d, l.v[1], l.len[1]), 0);
    assert_int_equal(d.line.stream, WHARF_STREAM_STDERR);
    CHECK_LOG(&d.line, "[2019-04-05T14:54:23.584269761] Container 1 is logging on stderr\n");
    assert_int_equal(d.line.ns, INT64_C(1554141513698656444));
    docker_line_decoder_free(&d);
    free_lines(&l);
}

/* ---- fields --------------------------------------------------------------- */

static void test_fields(void **state)
{
    docker_line_decoder_t d;
    docker_line_decoder_init(&d);
    CHECK_DECODES(&d,
                  "{\"log\":\"hello\\n\",\"stream\":\"stderr\","
                  "\"time\":\"2016-03-02T22:58:51.338462311Z\"}",
                  "hello\n");
    assert_int_equal(d.line.stream, WHARF_STREAM_STDERR);
    assert_int_equal(d.line.ns, INT64_C(1456959531338462311));

    /* any key order; whitespace around tokens */
    CHECK_DECODES(&d,
                  " { \"time\" : \"2016-03-02T22:58:51Z\" ,\t\"stream\":\"stdout\" , \"log\" : "
                  "\"x\" } \r",
                  "x");
    assert_int_equal(d.line.stream, WHARF_STREAM_STDOUT);
    assert_int_equal(d.line.ns, INT64_C(1456959531) * 1000000000);

    /* an offset in "time" is converted to UTC */
    CHECK_DECODES(&d, "{\"log\":\"o\",\"time\":\"2016-03-03T00:58:51.5+02:00\"}", "o");
    assert_int_equal(d.line.ns, INT64_C(1456959531500000000));

    /* missing time -> 0, missing stream -> NONE */
    CHECK_DECODES(&d, "{\"log\":\"only\\n\"}", "only\n");
    assert_int_equal(d.line.ns, 0);
    assert_int_equal(d.line.stream, WHARF_STREAM_NONE);
    assert_int_equal(d.line.n_attrs, 0);

    /* malformed or non-string time -> 0; unknown or non-string stream -> NONE */
    CHECK_DECODES(&d, "{\"log\":\"a\",\"time\":\"yesterday\",\"stream\":\"stdin\"}", "a");
    assert_int_equal(d.line.ns, 0);
    assert_int_equal(d.line.stream, WHARF_STREAM_NONE);
    CHECK_DECODES(&d, "{\"log\":\"a\",\"time\":1456959531,\"stream\":1}", "a");
    assert_int_equal(d.line.ns, 0);
    assert_int_equal(d.line.stream, WHARF_STREAM_NONE);
    CHECK_DECODES(&d, "{\"log\":\"a\",\"stream\":\"STDOUT\",\"time\":null}", "a");
    assert_int_equal(d.line.stream, WHARF_STREAM_NONE);
    assert_int_equal(d.line.ns, 0);
    CHECK_DECODES(&d, "{\"log\":\"a\",\"stream\":\"stdout \"}", "a");
    assert_int_equal(d.line.stream, WHARF_STREAM_NONE);
    CHECK_DECODES(&d, "{\"log\":\"a\",\"time\":\"2016-03-02T22:58:51Z \"}", "a");
    assert_int_equal(d.line.ns, 0);

    /* an empty log is a log */
    CHECK_DECODES(&d, "{\"log\":\"\"}", "");
    CHECK_DECODES(&d, "{\"log\":\"\\n\",\"stream\":\"stdout\"}", "\n");
    assert_int_equal(d.line.stream, WHARF_STREAM_STDOUT);
    docker_line_decoder_free(&d);
}

/* Strings without escapes are slices of the line (no copy). */
static void test_zero_copy(void **state)
{
    docker_line_decoder_t d;
    docker_line_decoder_init(&d);
    const char *line = "{\"log\":\"no escapes here\",\"stream\":\"stdout\"}";
    assert_int_equal(decode(&d, line), 0);
    assert_ptr_equal(d.line.log, line + 8);
    assert_int_equal(d.line.log_len, 15);
    /* raw UTF-8 and even invalid bytes pass through untouched: sanitizing
     * is the writer's job */
    const char *raw = "{\"log\":\"caf\xc3\xa9 \xff\xfe \xf0\x9f\x98\x80\"}";
    assert_int_equal(decode(&d, raw), 0);
    assert_ptr_equal(d.line.log, raw + 8);
    CHECK_LOG(&d.line, "caf\xc3\xa9 \xff\xfe \xf0\x9f\x98\x80");
    docker_line_decoder_free(&d);
}

static void test_escapes(void **state)
{
    docker_line_decoder_t d;
    docker_line_decoder_init(&d);
    CHECK_DECODES(&d, "{\"log\":\"caf\\u00e9\"}", "caf\xc3\xa9");
    CHECK_DECODES(&d, "{\"log\":\"caf\\u00E9\"}", "caf\xc3\xa9");
    CHECK_DECODES(&d, "{\"log\":\"\\u0041\\u007f\\u0080\\u07ff\\u0800\\uffff\"}",
                  "A\x7f\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf");
    CHECK_DECODES(&d, "{\"log\":\"\\u20ac5\"}",
                  "\xe2\x82\xac"
                  "5");
    /* surrogate pairs join into one 4-byte sequence */
    CHECK_DECODES(&d, "{\"log\":\"\\ud83d\\ude00\"}", "\xf0\x9f\x98\x80");
    CHECK_DECODES(&d, "{\"log\":\"a\\uD83D\\uDE00b\"}",
                  "a\xf0\x9f\x98\x80"
                  "b");
    CHECK_DECODES(&d, "{\"log\":\"\\ud800\\udc00\\udbff\\udfff\"}",
                  "\xf0\x90\x80\x80\xf4\x8f\xbf\xbf");
    /* lone surrogates become U+FFFD, and what follows is kept */
    CHECK_DECODES(&d, "{\"log\":\"\\ud83dx\"}", "\xef\xbf\xbdx");
    CHECK_DECODES(&d, "{\"log\":\"\\ude00\"}", "\xef\xbf\xbd");
    CHECK_DECODES(&d, "{\"log\":\"\\ud83d\"}", "\xef\xbf\xbd");
    CHECK_DECODES(&d, "{\"log\":\"\\ud83d\\u0041\"}",
                  "\xef\xbf\xbd"
                  "A");
    CHECK_DECODES(&d, "{\"log\":\"\\ud83d\\ud83d\\ude00\"}", "\xef\xbf\xbd\xf0\x9f\x98\x80");
    /* the short escapes */
    CHECK_DECODES(&d, "{\"log\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"}", "\"\\/\b\f\n\r\t");
    CHECK_DECODES(&d, "{\"log\":\"line\\r\\n\"}", "line\r\n");
    CHECK_DECODES(&d, "{\"log\":\"\\\\\"}", "\\");
    CHECK_DECODES(&d, "{\"log\":\"\\\\\\\\\\\"\"}", "\\\\\"");
    /* \u0000 is a byte like any other */
    assert_int_equal(decode(&d, "{\"log\":\"a\\u0000b\"}"), 0);
    check_log_n(&d.line, "a\0b", 3);
    /* escaped quotes and braces do not end the string or the object */
    CHECK_DECODES(&d, "{\"log\":\"}\\\"{\\\",\\\"log\\\":\\\"no\",\"stream\":\"stdout\"}",
                  "}\"{\",\"log\":\"no");
    assert_int_equal(d.line.stream, WHARF_STREAM_STDOUT);
    /* invalid escapes make the line invalid */
    static const char *const bad[] = {
        "{\"log\":\"a\\qb\"}",  "{\"log\":\"a\\u12\"}",   "{\"log\":\"a\\u12G4\"}",
        "{\"log\":\"a\\x41\"}", "{\"log\":\"a\\U0041\"}", "{\"log\":\"\\u\"}",
        "{\"log\":\"a\\\"}",    "{\"log\":\"a\\ \"}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = decode(&d, bad[i]);
        if (rc != WHARF_EPARSE)
            fail_msg("%s: rc=%d, want WHARF_EPARSE", bad[i], rc);
    }
    docker_line_decoder_free(&d);
}

static void test_long_escaped_line(void **state)
{
    /* 16 KiB and 1 MiB of escaped text: the arena grows past its chunk */
    size_t sizes[] = {16 * 1024, 1024 * 1024};
    docker_line_decoder_t d;
    docker_line_decoder_init(&d);
    for (size_t s = 0; s < 2; s++) {
        size_t n = sizes[s];
        char *line = malloc(n * 6 + 64), *want = malloc(n * 2);
        size_t w = 0, k = 0;
        w += (size_t)sprintf(line, "{\"log\":\"");
        for (size_t i = 0; i < n; i++) {
            if (i % 3 == 0) {
                memcpy(line + w, "\\u00e9", 6);
                w += 6;
                want[k++] = '\xc3';
                want[k++] = '\xa9';
            } else if (i % 3 == 1) {
                memcpy(line + w, "\\t", 2);
                w += 2;
                want[k++] = '\t';
            } else {
                line[w++] = (char)('a' + i % 26);
                want[k++] = (char)('a' + i % 26);
            }
        }
        w += (size_t)sprintf(line + w, "\\n\",\"stream\":\"stdout\"}");
        want[k++] = '\n';
        assert_int_equal(docker_line_decode(&d, line, w), 0);
        check_log_n(&d.line, want, k);
        free(line);
        free(want);
    }
    docker_line_decoder_free(&d);
}

/* ---- attrs ---------------------------------------------------------------- */

static void test_attrs(void **state)
{
    docker_line_decoder_t d;
    docker_line_decoder_init(&d);
    CHECK_DECODES(&d,
                  "{\"log\":\"m\\n\",\"stream\":\"stdout\",\"attrs\":{\"tag\":\"web\","
                  "\"com.example.team\":\"sec\",\"e\\u00e9\":\"v\\\"q\",\"empty\":\"\"},"
                  "\"time\":\"2016-03-02T22:58:51Z\"}",
                  "m\n");
    assert_int_equal(d.line.n_attrs, 4);
    assert_string_equal(d.line.attrs[0].key, "tag");
    assert_string_equal(d.line.attrs[0].value, "web");
    /* the decoder keeps keys as written: dedotting is the enricher's job */
    assert_string_equal(d.line.attrs[1].key, "com.example.team");
    assert_string_equal(d.line.attrs[1].value, "sec");
    assert_string_equal(d.line.attrs[2].key, "e\xc3\xa9");
    assert_string_equal(d.line.attrs[2].value, "v\"q");
    assert_string_equal(d.line.attrs[3].key, "empty");
    assert_string_equal(d.line.attrs[3].value, "");
    assert_int_equal(d.line.ns, INT64_C(1456959531) * 1000000000);

    /* values that are not strings are skipped, whatever they hold */
    CHECK_DECODES(&d,
                  "{\"attrs\":{\"n\":5,\"o\":{\"a\":\"b\",\"c\":[1,2]},\"s\":\"yes\","
                  "\"l\":[\"x\"],\"t\":true,\"z\":null},\"log\":\"m\"}",
                  "m");
    assert_int_equal(d.line.n_attrs, 1);
    assert_string_equal(d.line.attrs[0].key, "s");
    assert_string_equal(d.line.attrs[0].value, "yes");

    /* an empty object, and "attrs" that is not an object, are no attrs */
    CHECK_DECODES(&d, "{\"log\":\"m\",\"attrs\":{}}", "m");
    assert_int_equal(d.line.n_attrs, 0);
    CHECK_DECODES(&d, "{\"log\":\"m\",\"attrs\":\"tag=web\"}", "m");
    assert_int_equal(d.line.n_attrs, 0);
    CHECK_DECODES(&d, "{\"log\":\"m\",\"attrs\":[\"a\",\"b\"]}", "m");
    assert_int_equal(d.line.n_attrs, 0);
    CHECK_DECODES(&d, "{\"log\":\"m\",\"attrs\":null}", "m");
    assert_int_equal(d.line.n_attrs, 0);

    /* a broken attrs object breaks the line */
    assert_int_equal(decode(&d, "{\"log\":\"m\",\"attrs\":{\"a\":\"b\"}"), WHARF_EPARSE);
    assert_int_equal(decode(&d, "{\"log\":\"m\",\"attrs\":{\"a\" \"b\"}}"), WHARF_EPARSE);
    assert_int_equal(decode(&d, "{\"log\":\"m\",\"attrs\":{\"a\":\"b\",}}"), WHARF_EPARSE);
    assert_int_equal(decode(&d, "{\"log\":\"m\",\"attrs\":{a:\"b\"}}"), WHARF_EPARSE);
    assert_int_equal(decode(&d, "{\"log\":\"m\",\"attrs\":{\"a\":\"\\q\"}}"), WHARF_EPARSE);

    /* more than DOCKER_MAX_ATTRS: the first ones are kept, the line is fine */
    char line[8192];
    size_t w = (size_t)sprintf(line, "{\"log\":\"m\",\"attrs\":{");
    for (int i = 0; i < DOCKER_MAX_ATTRS + 10; i++)
        w += (size_t)sprintf(line + w, "%s\"k%d\":\"v%d\"", i ? "," : "", i, i);
    sprintf(line + w, "}}");
    CHECK_DECODES(&d, line, "m");
    assert_int_equal(d.line.n_attrs, DOCKER_MAX_ATTRS);
    assert_string_equal(d.line.attrs[DOCKER_MAX_ATTRS - 1].key, "k63");
    assert_string_equal(d.line.attrs[DOCKER_MAX_ATTRS - 1].value, "v63");

    /* the next line starts with no attrs */
    CHECK_DECODES(&d, "{\"log\":\"m\"}", "m");
    assert_int_equal(d.line.n_attrs, 0);
    docker_line_decoder_free(&d);
}

/* ---- unknown keys and invalid lines ------------------------------------- */

static void test_unknown_keys_skipped(void **state)
{
    docker_line_decoder_t d;
    docker_line_decoder_init(&d);
    CHECK_DECODES(&d,
                  "{\"x\":[1,{\"y\":null},true,-2.5e3],\"log\":\"m\","
                  "\"z\":{\"log\":\"inner\",\"stream\":\"stderr\",\"deep\":{\"a\":[[],{}]}},"
                  "\"n\":null,\"t\":true,\"f\":false,\"num\":-1.5E+10,\"i\":0,"
                  "\"s\":\"\\\"}{\\\\\",\"e\":[],\"o\":{}}",
                  "m");
    /* keys inside unknown values are not taken */
    assert_int_equal(d.line.stream, WHARF_STREAM_NONE);
    assert_int_equal(d.line.n_attrs, 0);
    /* unknown keys before, between and after the known ones */
    CHECK_DECODES(&d,
                  "{\"a\":1,\"log\":\"m\",\"b\":[\"log\"],\"stream\":\"stderr\",\"c\":{},"
                  "\"time\":\"2016-03-02T22:58:51Z\",\"d\":\"x\"}",
                  "m");
    assert_int_equal(d.line.stream, WHARF_STREAM_STDERR);
    assert_int_equal(d.line.ns, INT64_C(1456959531) * 1000000000);
    /* moderately deep nesting in an unknown value is fine */
    char line[1024];
    size_t w = (size_t)sprintf(line, "{\"log\":\"m\",\"deep\":");
    for (int i = 0; i < 40; i++)
        line[w++] = '[';
    for (int i = 0; i < 40; i++)
        line[w++] = ']';
    sprintf(line + w, "}");
    CHECK_DECODES(&d, line, "m");
    /* absurd nesting is refused, not recursed into */
    w = (size_t)sprintf(line, "{\"log\":\"x\",\"deep\":");
    for (int i = 0; i < 500; i++)
        line[w++] = '[';
    line[w] = '\0';
    assert_int_equal(decode(&d, line), WHARF_EPARSE);
    docker_line_decoder_free(&d);
}

static void test_invalid_lines(void **state)
{
    static const struct {
        const char *s;
        size_t n;
    } bad[] = {
#define B(lit) {(lit), sizeof(lit) - 1}
        B(""),
        B(" "),
        B("\t\r"),
        B("123"),
        B("[1]"),
        B("\"x\""),
        B("null"),
        B("true"),
        B("{"),
        B("}"),
        B("{}"),
        B("{} {}"),
        B("{\"log\":\"x\"} {}"),
        B("{\"log\":\"x\"}}"),
        B("{\"log\":\"x\"},"),
        B("{\"log\":1}"),
        B("{\"log\":null}"),
        B("{\"log\":[\"x\"]}"),
        B("{\"log\":{\"a\":\"b\"}}"),
        B("{\"log\":true}"),
        B("{\"log\":\"x\",\"log\":1}"),
        B("{\"stream\":\"stdout\"}"),
        B("{\"LOG\":\"x\"}"),
        B("{\"log\":\"x\""),
        B("{\"log\":\"x"),
        B("{\"log\":\"x\",}"),
        B("{,\"log\":\"x\"}"),
        B("{\"log\" \"x\"}"),
        B("{\"log\"::\"x\"}"),
        B("{log:\"x\"}"),
        B("{'log':'x'}"),
        B("{\"log\":\"x\"} junk"),
        B("junk {\"log\":\"x\"}"),
        B("\"log\":\"cp packetbeat.yml\",\"stream\":\"stdout\"}"),
        B("{\"log\":\"x\",\"a\":tru}"),
        B("{\"log\":\"x\",\"a\":nul}"),
        B("{\"log\":\"x\",\"a\":-}"),
        B("{\"log\":\"x\",\"a\":[1,]}"),
        B("{\"log\":\"x\",\"a\":[1 2]}"),
        B("{\"log\":\"x\",\"a\":{\"b\"}}"),
        B("{\"log\":\"x\",\"a\":{\"b\":1,}}"),
        B("{\"log\":\"x\",\"a\":}"),
        B("{\"log\":\"x\",\"a\"}"),
        B("{\"log\":\"x\",\"a\":[}"),
        B("{\"log\":\"x\",\"a\":\"unterminated}"),
        B("{\"log\":\"x\"\0}"),
#undef B
    };
    docker_line_decoder_t d;
    docker_line_decoder_init(&d);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = docker_line_decode(&d, bad[i].s, bad[i].n);
        if (rc != WHARF_EPARSE)
            fail_msg("bad line #%zu \"%.*s\": rc=%d, want WHARF_EPARSE", i, (int)bad[i].n, bad[i].s,
                     rc);
        /* the decoder recovers at once, with nothing left over from the bad
         * line (stream, time, attrs) */
        assert_int_equal(decode(&d, "{\"log\":\"ok\\n\"}"), 0);
        CHECK_LOG(&d.line, "ok\n");
        assert_int_equal(d.line.stream, WHARF_STREAM_NONE);
        assert_int_equal(d.line.ns, 0);
        assert_int_equal(d.line.n_attrs, 0);
    }
    /* a bad line that had every other field does not leak them either */
    assert_int_equal(decode(&d, "{\"stream\":\"stderr\",\"time\":\"2016-03-02T22:58:51Z\","
                                "\"attrs\":{\"a\":\"b\"}}"),
                     WHARF_EPARSE);
    assert_int_equal(decode(&d, "{\"log\":\"next\"}"), 0);
    CHECK_LOG(&d.line, "next");
    assert_int_equal(d.line.stream, WHARF_STREAM_NONE);
    assert_int_equal(d.line.ns, 0);
    assert_int_equal(d.line.n_attrs, 0);
    docker_line_decoder_free(&d);
}

/* A line is a slice: bytes after len are not looked at. */
static void test_length_respected(void **state)
{
    docker_line_decoder_t d;
    docker_line_decoder_init(&d);
    const char *text = "{\"log\":\"a\"}{\"log\":\"b\"}";
    assert_int_equal(docker_line_decode(&d, text, 11), 0);
    CHECK_LOG(&d.line, "a");
    assert_int_equal(docker_line_decode(&d, text + 11, 11), 0);
    CHECK_LOG(&d.line, "b");
    assert_int_equal(docker_line_decode(&d, text, 10), WHARF_EPARSE);
    assert_int_equal(docker_line_decode(&d, text, 22), WHARF_EPARSE);
    /* a string cut by len is unterminated even if a quote follows in memory */
    assert_int_equal(docker_line_decode(&d, "{\"log\":\"abc\"}", 10), WHARF_EPARSE);
    docker_line_decoder_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corpus_docker_log),
        cmocka_unit_test(test_corpus_corrupted_recovers),
        cmocka_unit_test(test_corpus_partial_lines),
        cmocka_unit_test(test_corpus_fluentbit_join),
        cmocka_unit_test(test_corpus_fluentbit_unescaping),
        cmocka_unit_test(test_corpus_streams),
        cmocka_unit_test(test_fields),
        cmocka_unit_test(test_zero_copy),
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_long_escaped_line),
        cmocka_unit_test(test_attrs),
        cmocka_unit_test(test_unknown_keys_skipped),
        cmocka_unit_test(test_invalid_lines),
        cmocka_unit_test(test_length_respected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
