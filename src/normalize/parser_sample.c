/* parser_sample.c - `wharf parsers test`: every sample of every parser file
 * through the whole loaded set (so chains are tested as they run), the
 * event serialized as wharf would ship it, and each expected field compared
 * with what came out: strings exactly, numbers numerically, timestamps as
 * instants, lists element by element, null as "absent". A sample that passes
 * is also run padded with random text (after it, then in its middle) to 2
 * and 20 KiB: parsing that costs far more per byte on the longer one takes
 * time in the square of the length (an unanchored rule that scans, retried
 * from every position), which PCRE2's match limit does not bound, so the
 * sample fails. */
#include "parser_int.h"
#include "wharf/arena.h"
#include "wharf/json.h"
#include "wharf/timefmt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <yajl/yajl_tree.h>

#define SAMPLE_PATH_MAX  32
#define SAMPLE_PAD_SHORT 2048
#define SAMPLE_PAD_LONG  20480
/* Ten times the bytes: linear parsing costs about the same per byte, a
 * square ten times as much; below the floor, timer noise could decide. */
#define SAMPLE_COST_RATIO_MAX 4.0
#define SAMPLE_COST_FLOOR_NS  10e6

static yajl_val sample_lookup(yajl_val root, const char *path)
{
    char copy[512];
    const char *parts[SAMPLE_PATH_MAX + 1];
    size_t n = 0;
    size_t len = strlen(path);
    if (len >= sizeof(copy))
        return NULL;
    memcpy(copy, path, len + 1);
    for (char *save = NULL, *t = strtok_r(copy, ".", &save); t && n < SAMPLE_PATH_MAX;
         t = strtok_r(NULL, ".", &save))
        parts[n++] = t;
    parts[n] = NULL;
    return yajl_tree_get(root, parts, yajl_t_any);
}

/* The value as text for messages and comparisons. */
static void sample_text(yajl_val v, wharf_buf_t *b)
{
    b->len = 0;
    if (v == NULL)
        wharf_buf_lit(b, "(absent)");
    else if (YAJL_IS_STRING(v))
        wharf_json_write_string(b, v->u.string, strlen(v->u.string));
    else if (YAJL_IS_NUMBER(v))
        wharf_buf_puts(b, v->u.number.r);
    else if (YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v))
        wharf_buf_append(b, YAJL_IS_TRUE(v) ? "true" : "false", YAJL_IS_TRUE(v) ? 4 : 5);
    else if (YAJL_IS_ARRAY(v)) {
        wharf_buf_putc(b, '[');
        for (size_t i = 0; i < v->u.array.len; i++) {
            wharf_buf_t one;
            wharf_buf_init(&one);
            sample_text(v->u.array.values[i], &one);
            if (i)
                wharf_buf_lit(b, ", ");
            wharf_buf_append(b, one.data, one.len);
            wharf_buf_free(&one);
        }
        wharf_buf_putc(b, ']');
    } else
        wharf_buf_lit(b, "(object)");
    wharf_buf_putc(b, '\0');
    b->len--;
}

static int sample_scalar_equal(yajl_val v, const char *want)
{
    if (v == NULL)
        return 0;
    if (YAJL_IS_NUMBER(v)) {
        char *end = NULL;
        double w = strtod(want, &end);
        return *want && *end == '\0' && w == strtod(v->u.number.r, NULL);
    }
    if (YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v))
        return strcmp(want, YAJL_IS_TRUE(v) ? "true" : "false") == 0;
    if (!YAJL_IS_STRING(v))
        return 0;
    if (strcmp(v->u.string, want) == 0)
        return 1;
    int64_t a, b;
    return wharf_time_parse_log(v->u.string, strlen(v->u.string), NULL, NULL, 0, &a) >= 0 &&
           wharf_time_parse_log(want, strlen(want), NULL, NULL, 0, &b) >= 0 && a == b &&
           strlen(want) >= 19;
}

static int sample_equal(yajl_val v, const sample_expect_t *x)
{
    if (x->is_null)
        return v == NULL;
    if (!x->is_list)
        return sample_scalar_equal(v, x->values[0]);
    if (v == NULL || !YAJL_IS_ARRAY(v) || v->u.array.len != x->n_values)
        return 0;
    for (size_t i = 0; i < x->n_values; i++)
        if (!sample_scalar_equal(v->u.array.values[i], x->values[i]))
            return 0;
    return 1;
}

/* 1 when s has a control byte (a newline ...): printed as it is, it would
 * break the one-line report. */
static int sample_has_control(const char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 0x20)
            return 1;
    return 0;
}

/* The expected value as the report shows it: as written in the file, or
 * JSON-quoted when it holds a control byte. */
static void sample_want_text(const sample_expect_t *x, wharf_buf_t *b)
{
    b->len = 0;
    if (x->is_null)
        wharf_buf_lit(b, "(absent)");
    for (size_t i = 0; !x->is_null && i < x->n_values; i++) {
        const char *v = x->values[i];
        wharf_buf_append(b, i ? ", " : (x->is_list ? "[" : ""), i ? 2 : (x->is_list ? 1 : 0));
        if (sample_has_control(v))
            wharf_json_write_string(b, v, strlen(v));
        else
            wharf_buf_puts(b, v);
    }
    if (x->is_list)
        wharf_buf_putc(b, ']');
    wharf_buf_putc(b, '\0');
    b->len--;
}

/* e holding sample s's fields and message text. */
static void sample_event(const parser_sample_t *s, wharf_event_t *e, const char *text, size_t len)
{
    if (wharf_parsers_input_message(e, text, len) < 0)
        return;
    for (size_t i = 0; i < s->n_fields; i++)
        wharf_parsers_input_field(e, s->field_paths[i], strlen(s->field_paths[i]),
                                  s->field_values[i], strlen(s->field_values[i]));
}

/* What the trace of the samples collects: the rules that matched the
 * sample being run ("parser/rule, ..."), and every rule some sample took. */
typedef struct sample_trace {
    const wharf_parsers_t *ps;
    const char *parser; /* of the sample being run */
    int parser_tried;   /* that parser was tried in some round */
    wharf_buf_t matched;
    wharf_buf_t unset;       /* the fields matched rules left unset, a line each */
    unsigned char **covered; /* [parser][rule] */
} sample_trace_t;

static void sample_covered_mark(sample_trace_t *st, const wharf_parser_trace_t *t)
{
    for (size_t i = 0; i < st->ps->n; i++) {
        const parser_t *p = &st->ps->v[i];
        for (size_t j = 0; p->name == t->parser && j < p->n_rules; j++)
            if (p->rules[j].id == t->rule)
                st->covered[i][j] = 1;
    }
}

/* "rule P/R: field F: "TEXT" is no ...: not set" */
static void sample_unset_add(sample_trace_t *st, const wharf_parser_trace_t *t)
{
    wharf_buf_t *b = &st->unset;
    wharf_buf_lit(b, "rule ");
    wharf_buf_puts(b, t->parser);
    wharf_buf_putc(b, '/');
    wharf_buf_puts(b, t->rule);
    wharf_buf_lit(b, ": field ");
    wharf_buf_puts(b, t->path);
    wharf_buf_lit(b, ": ");
    wharf_json_write_string(b, t->value, t->value_len);
    wharf_buf_putc(b, ' ');
    wharf_buf_puts(b, t->why);
    wharf_buf_lit(b, ": not set\n");
}

static void sample_matched_add(void *arg, const wharf_parser_trace_t *t)
{
    sample_trace_t *st = arg;
    wharf_buf_t *b = &st->matched;
    if (t->kind == WHARF_TRACE_PARSER && t->parser == st->parser)
        st->parser_tried = 1;
    if (t->kind == WHARF_TRACE_FIELD)
        sample_unset_add(st, t);
    if (t->kind != WHARF_TRACE_RULE || t->result != WHARF_TRACE_MATCHED)
        return;
    sample_covered_mark(st, t);
    if (b->len > 0)
        wharf_buf_append(b, ", ", 2);
    wharf_buf_puts(b, t->parser);
    wharf_buf_putc(b, '/');
    wharf_buf_puts(b, t->rule);
}

/* The sample's value of path as its `fields` (or `message`) give it. */
static const char *sample_field_value(const parser_sample_t *s, const char *path)
{
    if (strcmp(path, "message") == 0)
        return s->message;
    for (size_t i = 0; i < s->n_fields; i++)
        if (strcmp(s->field_paths[i], path) == 0)
            return s->field_values[i];
    return NULL;
}

/* 1 when a term of p's when before term j of item i reads the same path. */
static int when_path_read_before(const parser_t *p, size_t i, size_t j)
{
    const char *path = p->when[i].terms[j].path;
    for (size_t k = 0; k <= i; k++)
        for (size_t l = 0; l < (k < i ? p->when[k].n_terms : j); l++)
            if (strcmp(p->when[k].terms[l].path, path) == 0)
                return 1;
    return 0;
}

/* Why the sample's own parser was not tried: the fields its `when` reads,
 * each once, with the sample's values (a typo in a path shows as a field
 * the sample does not have). */
static void sample_unrouted_report(const parser_t *p, const parser_sample_t *s, size_t index,
                                   FILE *out)
{
    fprintf(out,
            "%s:%d: parser %s, sample %zu: parser %s was not tried, no item of its when "
            "matches the sample (",
            p->file, s->line, p->name, index + 1, p->name);
    const char *sep = "";
    for (size_t i = 0; i < p->n_when; i++)
        for (size_t j = 0; j < p->when[i].n_terms; j++) {
            if (when_path_read_before(p, i, j))
                continue;
            const char *path = p->when[i].terms[j].path, *v = sample_field_value(s, path);
            fprintf(out, "%s%s: %s", sep, path, v != NULL ? v : "absent");
            sep = ", ";
        }
    fputs(")\n", out);
}

/* After a sample's failed fields: which rules took its message, for the
 * author to tell a wrong rule from a wrong field. */
static void sample_matched_report(const parser_t *p, const parser_sample_t *s, size_t index,
                                  const sample_trace_t *st, FILE *out)
{
    const wharf_buf_t *matched = &st->matched;
    if (!st->parser_tried && p->n_when > 0)
        sample_unrouted_report(p, s, index, out);
    else if (matched->len == 0)
        fprintf(out,
                "%s:%d: parser %s, sample %zu: no rule matched (wharf parse -p %s --trace "
                "shows what was tried)\n",
                p->file, s->line, p->name, index + 1, p->file);
    else
        fprintf(out, "%s:%d: parser %s, sample %zu: the rules that matched: %.*s\n", p->file,
                s->line, p->name, index + 1, (int)matched->len, matched->data);
}

/* The fields the matched rules left unset, their text not converting:
 * why an expected field is absent. */
static void sample_unset_report(const parser_t *p, const parser_sample_t *s, size_t index,
                                const wharf_buf_t *unset, FILE *out)
{
    for (size_t at = 0; at < unset->len;) {
        const char *line = unset->data + at, *nl = memchr(line, '\n', unset->len - at);
        size_t len = (size_t)(nl - line);
        fprintf(out, "%s:%d: parser %s, sample %zu: %.*s\n", p->file, s->line, p->name, index + 1,
                (int)len, line);
        at += len + 1;
    }
}

/* Runs one sample; returns the number of fields that differ. */
static int sample_run(wharf_parsers_t *ps, const parser_t *p, size_t index, wharf_event_t *e,
                      wharf_buf_t *json, sample_trace_t *st, FILE *out)
{
    const parser_sample_t *s = &p->samples[index];
    st->matched.len = 0;
    st->unset.len = 0;
    st->parser = p->name;
    st->parser_tried = 0;
    sample_event(s, e, s->message, strlen(s->message));
    wharf_parsers_trace(ps, sample_matched_add, st);
    wharf_parsers_apply(ps, e);
    wharf_parsers_trace(ps, NULL, NULL);
    wharf_json_writer_t w;
    wharf_json_writer_init(&w);
    json->len = 0;
    wharf_json_write_event(&w, e, json);
    wharf_buf_putc(json, '\0');
    yajl_val root = yajl_tree_parse(json->data, NULL, 0);
    int bad = 0;
    wharf_buf_t got, want;
    wharf_buf_init(&got);
    wharf_buf_init(&want);
    for (size_t i = 0; i < s->n_expect; i++) {
        const sample_expect_t *x = &s->expect[i];
        yajl_val v = root ? sample_lookup(root, x->path) : NULL;
        if (sample_equal(v, x))
            continue;
        sample_text(v, &got);
        sample_want_text(x, &want);
        fprintf(out, "%s:%d: parser %s, sample %zu: %s: expected %s, got %s\n", p->file, x->line,
                p->name, index + 1, x->path, want.data, got.data);
        bad++;
    }
    if (bad > 0) {
        sample_matched_report(p, s, index, st, out);
        sample_unset_report(p, s, index, &st->unset, out);
    }
    if (bad > 0 && (e->tags & WHARF_TAG_BIT(WHARF_TAG_PARSER_MATCH_LIMIT)))
        fprintf(out,
                "%s:%d: parser %s, sample %zu: a rule gave up on the message: its regex hit "
                "the match limit or the time limit\n",
                p->file, s->line, p->name, index + 1);
    wharf_buf_free(&got);
    wharf_buf_free(&want);
    yajl_tree_free(root);
    return bad;
}

/* CPU time of parsing sample s's message with random log-like text after
 * it or in its middle, size bytes in all, in ns. */
static double sample_padded_cost(wharf_parsers_t *ps, const parser_sample_t *s, wharf_event_t *e,
                                 wharf_buf_t *text, size_t size, int inside)
{
    static const char set[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                              "       ==\"\"''[[]]::,,..--__//(){}<>@#%&*+?!;|\\";
    size_t len = strlen(s->message), head = inside ? len / 2 : len;
    uint32_t rng = 2463534242u;
    text->len = 0;
    wharf_buf_append(text, s->message, head);
    while (text->len < size - (len - head)) {
        rng ^= rng << 13;
        rng ^= rng >> 17;
        rng ^= rng << 5;
        wharf_buf_putc(text, set[rng % (sizeof(set) - 1)]);
    }
    wharf_buf_append(text, s->message + head, len - head);
    sample_event(s, e, text->data, text->len);
    struct timespec a, b;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
    wharf_parsers_apply(ps, e);
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
    return (double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec);
}

/* 0, or 1 after printing why parsing sample index costs time in the square
 * of the message's length. */
static int sample_cost_check(wharf_parsers_t *ps, const parser_t *p, size_t index, wharf_event_t *e,
                             FILE *out)
{
    const parser_sample_t *s = &p->samples[index];
    if (strlen(s->message) >= SAMPLE_PAD_SHORT)
        return 0;
    wharf_buf_t text;
    wharf_buf_init(&text);
    int square = 0;
    for (int inside = 0; inside < 2 && !square; inside++) {
        double short_ns = sample_padded_cost(ps, s, e, &text, SAMPLE_PAD_SHORT, inside);
        double long_ns = sample_padded_cost(ps, s, e, &text, SAMPLE_PAD_LONG, inside);
        double ratio = (long_ns / SAMPLE_PAD_LONG) / (short_ns / SAMPLE_PAD_SHORT + 1e-9);
        if (long_ns < SAMPLE_COST_FLOOR_NS || ratio <= SAMPLE_COST_RATIO_MAX)
            continue;
        double scale = 1048576.0 / SAMPLE_PAD_LONG;
        fprintf(out,
                "%s:%d: parser %s, sample %zu: parsing takes time in the square of the "
                "message's length: padded with random text (%s) to 2 KiB it took %.1f ms, to "
                "20 KiB %.1f ms (a 1 MiB line would take about %.0f s: the rule gives up on "
                "long lines at pipeline.parser_time_limit); a rule that is not anchored (^) and "
                "scans (.*, .*?, [^x]*, often in a look-ahead) is tried again from every "
                "position of the message, and the regex match limit does not stop it: anchor "
                "the rule\n",
                p->file, s->line, p->name, index + 1, inside ? "in its middle" : "after it",
                short_ns / 1e6, long_ns / 1e6, long_ns / 1e9 * scale * scale);
        square = 1;
    }
    wharf_buf_free(&text);
    return square;
}

/* The rules no sample matched: untested, whatever the samples say. Returns
 * their number. */
static size_t sample_uncovered_report(const wharf_parsers_t *ps, unsigned char *const *covered,
                                      FILE *out)
{
    size_t n = 0;
    for (size_t i = 0; i < ps->n; i++)
        for (size_t j = 0; j < ps->v[i].n_rules; j++) {
            if (covered[i][j])
                continue;
            n++;
            fprintf(out,
                    "%s:%d: parser %s, rule %s: no sample matches it, so nothing tests "
                    "it: add a sample of a message it takes\n",
                    ps->v[i].file, ps->v[i].rules[j].line, ps->v[i].name, ps->v[i].rules[j].id);
        }
    return n;
}

static void sample_trace_free(sample_trace_t *st)
{
    for (size_t i = 0; st->covered != NULL && i < st->ps->n; i++)
        free(st->covered[i]);
    free(st->covered);
    wharf_buf_free(&st->matched);
    wharf_buf_free(&st->unset);
}

static int sample_trace_init(sample_trace_t *st, const wharf_parsers_t *ps)
{
    st->ps = ps;
    wharf_buf_init(&st->matched);
    wharf_buf_init(&st->unset);
    st->covered = calloc(ps->n + 1, sizeof(*st->covered));
    for (size_t i = 0; st->covered != NULL && i < ps->n; i++)
        if ((st->covered[i] = calloc(ps->v[i].n_rules + 1, 1)) == NULL)
            return -ENOMEM;
    return st->covered != NULL ? 0 : -ENOMEM;
}

void wharf_parsers_test(wharf_parsers_t *ps, FILE *out, wharf_parsers_test_result_t *r)
{
    wharf_arena_t arena;
    wharf_arena_init(&arena, (size_t)64 * 1024);
    wharf_event_t *e = calloc(1, sizeof(*e));
    wharf_buf_t json;
    wharf_buf_init(&json);
    sample_trace_t st;
    int ok = sample_trace_init(&st, ps) == 0 && e != NULL;
    long only = ps->only;
    ps->only = -1;
    memset(r, 0, sizeof(*r));
    for (size_t i = 0; ok && i < ps->n; i++)
        for (size_t j = 0; j < ps->v[i].n_samples; j++) {
            e->arena = &arena;
            if (sample_run(ps, &ps->v[i], j, e, &json, &st, out) == 0 &&
                sample_cost_check(ps, &ps->v[i], j, e, out) == 0)
                r->passed++;
            else
                r->failed++;
        }
    if (ok)
        r->untested = sample_uncovered_report(ps, st.covered, out);
    else
        fprintf(out, "wharf: out of memory running the samples\n");
    ps->only = only;
    sample_trace_free(&st);
    wharf_buf_free(&json);
    free(e);
    wharf_arena_free(&arena);
}
