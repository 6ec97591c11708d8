/* test_parser_regex_forms.c - a rule's regex matches what it says as
 * written, though wharf compiles a regex that is not anchored behind a
 * callout (the time limit's): for random patterns made of the constructs
 * that the wrapping could disturb - leading option settings, anchors in
 * branches of a top-level alternation, backtracking verbs at the start,
 * (?x) with a trailing comment, \Q without \E, look-arounds - and random
 * subjects, the group a rule captures through wharf equals the one PCRE2
 * captures with the pattern compiled as written. */
#include "../helpers/xorshift.h"
#include "wharf/arena.h"
#include "wharf/event.h"
#include "wharf/json.h"
#include "wharf/parser.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
/* cmocka.h needs the headers above. */
#include <cmocka.h>

#define N_PATTERNS 160
#define N_SUBJECTS 48

static const char *pick(const char *const *v, size_t n)
{
    return v[rng_next() % n];
}

/* One piece: a literal, a class, a group with a quantifier ... with the
 * named group g somewhere in the pattern exactly once (added by the caller). */
static void piece(char *out, size_t cap, int depth)
{
    static const char *const atoms[] = {"a", "b", "[ab]", ".", "\\d", "A", "(?i)a", "\\n", "1"};
    static const char *const quants[] = {"", "", "*", "+", "?", "{1,2}", "*?", "+?"};
    const char *q = pick(quants, sizeof(quants) / sizeof(quants[0]));
    uint64_t kind = rng_next() % 6;
    if (depth > 0 && kind == 0) {
        char inner[128];
        piece(inner, sizeof(inner), depth - 1);
        snprintf(out, cap, "(?:%s|b)%s", inner, q);
    } else if (depth > 0 && kind == 1) {
        char inner[128];
        piece(inner, sizeof(inner), depth - 1);
        snprintf(out, cap, "(?%s%s)", rng_next() % 2 ? "=" : "!", inner);
    } else if (kind == 2) {
        snprintf(out, cap, "(?<=%s)", rng_next() % 2 ? "a" : "b");
    } else {
        snprintf(out, cap, "%s%s", pick(atoms, sizeof(atoms) / sizeof(atoms[0])), q);
    }
}

/* A random pattern around the named group g. */
static void make_pattern(char *out, size_t cap)
{
    static const char *const heads[] = {
        "", "", "(*CRLF)", "(*NO_START_OPT)", "(*F)|", "(*UCP)^", "(*LIMIT_MATCH=900)", "^"};
    static const char *const tails[] = {"", "", "$", "|^b", "|a$", "(?x) a # note", "\\Qa.", "\\z"};
    char a[160], b[160], c[160];
    piece(a, sizeof(a), 2);
    piece(b, sizeof(b), 2);
    piece(c, sizeof(c), 1);
    snprintf(out, cap, "%s%s(?<g>%s%s)%s", pick(heads, sizeof(heads) / sizeof(heads[0])), a, b, c,
             pick(tails, sizeof(tails) / sizeof(tails[0])));
}

/* g's text when PCRE2 matches pattern, as written, in s: 1, 0 when there
 * is no match or g is unset or empty (wharf sets no field then). */
static int pcre2_group(pcre2_code *code, const char *s, char *g, size_t cap)
{
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(code, NULL);
    assert_non_null(md);
    int rc = pcre2_match(code, (PCRE2_SPTR)s, strlen(s), 0, 0, md, NULL);
    PCRE2_SIZE len = cap;
    int have = rc > 0 &&
               pcre2_substring_copy_byname(md, (PCRE2_SPTR) "g", (PCRE2_UCHAR *)g, &len) == 0 &&
               len > 0;
    pcre2_match_data_free(md);
    return have;
}

/* The pattern in YAML's single quotes ('' for '). */
static void yaml_quote(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; *s; s++) {
        if (*s == '\'')
            fputc('\'', f);
        if (*s == '\n')
            fputs("\\n", f);
        else
            fputc(*s, f);
    }
    fputc('\'', f);
}

static void test_forms_match_as_written(void **state)
{
    (void)state;
    char dir[] = "/tmp/wharf-test-forms-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char patterns[N_PATTERNS][512];
    pcre2_code *codes[N_PATTERNS];
    size_t n = 0;
    while (n < N_PATTERNS) {
        make_pattern(patterns[n], sizeof(patterns[n]));
        int err;
        PCRE2_SIZE off;
        codes[n] =
            pcre2_compile((PCRE2_SPTR)patterns[n], PCRE2_ZERO_TERMINATED, 0, &err, &off, NULL);
        if (codes[n] == NULL)
            continue; /* a look-behind of no fixed length, and the like */
        char path[64];
        snprintf(path, sizeof(path), "%s/p%03zu.yaml", dir, n);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fprintf(f, "name: p%03zu\nrules:\n  - id: r\n    regex: ", n);
        yaml_quote(f, patterns[n]);
        fprintf(f, "\n    fields: {x.g: \"{g}\"}\n"
                   "samples:\n  - {message: x, expect: {message: x}}\n");
        fclose(f);
        n++;
    }
    const char *paths[] = {dir};
    wharf_parsers_t *ps = NULL;
    wharf_conf_errors_t errs = {0};
    if (wharf_parsers_load(paths, 1, &ps, &errs) != 0)
        fail_msg("load: %s", errs.n ? errs.msgs[0] : "out of memory");
    wharf_arena_t arena;
    wharf_arena_init(&arena, 4096);
    wharf_json_writer_t w;
    wharf_json_writer_init(&w);
    wharf_buf_t out;
    wharf_buf_init(&out);
    size_t compared = 0, matched = 0;
    for (size_t i = 0; i < n; i++) {
        char name[16];
        snprintf(name, sizeof(name), "p%03zu", i);
        assert_int_equal(wharf_parsers_only(ps, name), 0);
        for (int k = 0; k < N_SUBJECTS; k++) {
            char s[16];
            size_t len = rng_next() % 12;
            for (size_t j = 0; j < len; j++)
                s[j] = "abAB1\n."[rng_next() % 7];
            s[len] = '\0';
            char want[32];
            int have = pcre2_group(codes[i], s, want, sizeof(want));
            wharf_event_t e;
            wharf_arena_reset(&arena);
            wharf_event_clear(&e);
            e.arena = &arena;
            wharf_event_set_str(&e, WHARF_F_MESSAGE, s, len);
            wharf_parsers_apply(ps, &e);
            out.len = 0;
            assert_int_equal(wharf_json_write_event(&w, &e, &out), 0);
            wharf_buf_putc(&out, '\0');
            char field[64] = "";
            if (have) {
                wharf_buf_t q;
                wharf_buf_init(&q);
                wharf_json_write_string(&q, want, strlen(want));
                snprintf(field, sizeof(field), "\"x\":{\"g\":%.*s}", (int)q.len, q.data);
                wharf_buf_free(&q);
            }
            int got = strstr(out.data, "\"x\":") != NULL;
            if (got != have || (have && strstr(out.data, field) == NULL))
                fail_msg("pattern %s on \"%s\": PCRE2 as written %s%s, wharf %s", patterns[i], s,
                         have ? "captures " : "captures nothing", have ? want : "", out.data);
            compared++;
            matched += (size_t)have;
        }
        pcre2_code_free(codes[i]);
    }
    printf("%zu patterns, %zu subjects, %zu captures compared\n", n, compared, matched);
    assert_true(matched > compared / 20);
    wharf_buf_free(&out);
    wharf_arena_free(&arena);
    wharf_parsers_free(ps);
    for (size_t i = 0; i < n; i++) {
        char path[64];
        snprintf(path, sizeof(path), "%s/p%03zu.yaml", dir, i);
        assert_int_equal(remove(path), 0);
    }
    assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forms_match_as_written),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
