/* parsers.c - the commands for people writing parser files:
 *   wharf parsers test [--strict] PATH...   run every sample
 *   wharf parsers coverage -p PATH [--parser NAME] [--field k=v]... [--timezone Z] FILE
 *                                       share of FILE's lines matched, per rule
 *   wharf parse -p PATH [--parser NAME] [--field k=v]... [--timezone Z] [--trace]
 *                                       lines on stdin -> ECS events on stdout,
 *                                       and with --trace what the parsers did
 *                                       on stderr */
#include "cli.h"
#include "wharf/alloc.h"
#include "wharf/arena.h"
#include "wharf/json.h"
#include "wharf/parser.h"
#include "wharf/tz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COVERAGE_SHOW_UNMATCHED 10

typedef struct parse_args {
    const char *paths[64];
    size_t n_paths;
    const char *fields[64]; /* "k=v" */
    size_t n_fields;
    const char *parser;
    const char *timezone; /* as pipeline.parser_timezone */
    const char *file;
    int trace; /* parse --trace */
} parse_args_t;

static int parse_args_read(int argc, char **argv, parse_args_t *a, const char *cmd)
{
    memset(a, 0, sizeof(*a));
    for (int i = 0; i < argc; i++) {
        const char *s = argv[i];
        int has_value = i + 1 < argc;
        if ((strcmp(s, "-p") == 0 || strcmp(s, "--parsers") == 0) && has_value && a->n_paths < 64) {
            a->paths[a->n_paths++] = argv[++i];
        } else if (strcmp(s, "--field") == 0 && has_value && a->n_fields < 64 &&
                   strchr(argv[i + 1], '=') != NULL) {
            a->fields[a->n_fields++] = argv[++i];
        } else if (strcmp(s, "--parser") == 0 && has_value) {
            a->parser = argv[++i];
        } else if (strcmp(s, "--timezone") == 0 && has_value) {
            a->timezone = argv[++i];
        } else if (strcmp(s, "--trace") == 0 && strcmp(cmd, "parse") == 0) {
            a->trace = 1;
        } else if (s[0] != '-' && a->file == NULL) {
            a->file = s;
        } else {
            fprintf(stderr, "wharf %s: unexpected argument '%s' (see wharf help parsers)\n", cmd,
                    s);
            return -1;
        }
    }
    if (a->n_paths == 0) {
        fprintf(stderr, "wharf %s: -p PATH (a parser file or directory) is required\n", cmd);
        return -1;
    }
    return 0;
}

static wharf_parsers_t *parsers_load_or_report(const char *const *paths, size_t n)
{
    wharf_conf_errors_t errs = {0};
    wharf_parsers_t *ps = NULL;
    if (wharf_parsers_load(paths, n, &ps, &errs) < 0) {
        for (size_t i = 0; i < errs.n; i++)
            fprintf(stderr, "%s\n", errs.msgs[i]);
        if (errs.n == 0)
            fprintf(stderr, "wharf: cannot load the parsers (out of memory)\n");
    }
    wharf_conf_errors_free(&errs);
    return ps;
}

/* The line as an event with the --field fields, parsed. */
static void parse_line(wharf_parsers_t *ps, const parse_args_t *a, wharf_event_t *e, char *line,
                       size_t len)
{
    if (wharf_parsers_input_message(e, line, len) < 0) {
        fprintf(stderr, "wharf: out of memory for a line of %zu bytes\n", len);
        return;
    }
    for (size_t i = 0; i < a->n_fields; i++) {
        const char *eq = strchr(a->fields[i], '=');
        if (wharf_parsers_input_field(e, a->fields[i], (size_t)(eq - a->fields[i]), eq + 1,
                                      strlen(eq + 1)) < 0)
            fprintf(stderr, "wharf: --field %s: not a field an event can take\n", a->fields[i]);
    }
}

static size_t chomp(char *line, ssize_t n)
{
    size_t len = (size_t)n;
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        len--;
    return len;
}

/* The parsers a's -p paths hold, the first round narrowed to --parser
 * NAME, zone-less times read in --timezone; NULL after saying why. */
static wharf_parsers_t *parsers_for(const parse_args_t *a, const char *cmd)
{
    wharf_parsers_t *ps = parsers_load_or_report(a->paths, a->n_paths);
    int rc;
    if (ps != NULL && a->parser != NULL && wharf_parsers_only(ps, a->parser) < 0) {
        fprintf(stderr, "wharf %s: no parser named '%s' in the files given\n", cmd, a->parser);
        wharf_parsers_free(ps);
        return NULL;
    }
    if (ps != NULL && a->timezone != NULL &&
        (rc = wharf_parsers_set_timezone(ps, a->timezone)) < 0) {
        char why[512];
        fprintf(stderr, "wharf %s: --timezone: %s\n", cmd,
                wharf_tz_load_error(rc, a->timezone, why, sizeof(why)));
        wharf_parsers_free(ps);
        return NULL;
    }
    return ps;
}

/* parse --trace: each step as "line N: ..." on stderr. Rules a message's
 * first byte rules out are listed together: a parser may have dozens. */
#define TRACE_TEXT_SHOWN 160

typedef struct parse_trace {
    unsigned long line;
    int unrouted_round;  /* the round whose fields are being listed, or 0 */
    wharf_buf_t text;    /* a value or message, JSON-quoted so that any byte shows */
    wharf_buf_t skipped; /* the names of rules not tried, "a, b" */
    unsigned char first; /* the first byte of the message they were not tried on */
} parse_trace_t;

static const char *trace_result_text(const wharf_parser_trace_t *t)
{
    switch (t->result) {
    case WHARF_TRACE_MATCHED:
        return t->rewrote ? "matched, message rewritten" : "matched";
    case WHARF_TRACE_GAVE_UP:
        return "gave up (pipeline.parser_match_limit or parser_time_limit): counts as no match";
    case WHARF_TRACE_NO_MATCH:
    case WHARF_TRACE_NOT_STARTING:
        break;
    }
    return "no match";
}

/* s as a JSON string in pt->text, cut after max bytes ("..." then). */
static void trace_quote(parse_trace_t *pt, const char *s, size_t n, size_t max)
{
    pt->text.len = 0;
    wharf_json_write_string(&pt->text, s, n < max ? n : max);
    if (n > max)
        wharf_buf_append(&pt->text, "...", 3);
}

static void trace_skipped_flush(parse_trace_t *pt)
{
    if (pt->skipped.len == 0)
        return;
    fprintf(stderr, "line %lu:   rules not tried, their regexes cannot start with ", pt->line);
    if (pt->first >= 0x20 && pt->first < 0x7f)
        fprintf(stderr, "'%c'", pt->first);
    else
        fprintf(stderr, "byte 0x%02x", pt->first);
    fprintf(stderr, ": %.*s\n", (int)pt->skipped.len, pt->skipped.data);
    pt->skipped.len = 0;
}

static void trace_unrouted_print(parse_trace_t *pt, const wharf_parser_trace_t *t)
{
    if (pt->unrouted_round != t->round)
        fprintf(stderr,
                "line %lu: round %d: no parser's when matches; the fields when conditions "
                "read:\n",
                pt->line, t->round);
    pt->unrouted_round = t->round;
    if (t->value == NULL) {
        fprintf(stderr, "line %lu:   %s: (none)\n", pt->line, t->path);
        return;
    }
    trace_quote(pt, t->value, t->value_len, TRACE_TEXT_SHOWN);
    fprintf(stderr, "line %lu:   %s: %.*s\n", pt->line, t->path, (int)pt->text.len, pt->text.data);
}

static void trace_parser_print(parse_trace_t *pt, const wharf_parser_trace_t *t)
{
    fprintf(stderr, "line %lu: round %d: parser %s (%s)", pt->line, t->round, t->parser, t->file);
    if (t->round > 1 && t->message != NULL) {
        trace_quote(pt, t->message, t->message_len, TRACE_TEXT_SHOWN);
        fprintf(stderr, " on message %.*s", (int)pt->text.len, pt->text.data);
    }
    fputc('\n', stderr);
    pt->first = t->message != NULL && t->message_len > 0 ? (unsigned char)t->message[0] : 0;
}

static void trace_print(void *arg, const wharf_parser_trace_t *t)
{
    parse_trace_t *pt = arg;
    if (t->kind == WHARF_TRACE_RULE && t->result == WHARF_TRACE_NOT_STARTING) {
        if (pt->skipped.len > 0)
            wharf_buf_append(&pt->skipped, ", ", 2);
        wharf_buf_puts(&pt->skipped, t->rule);
        return;
    }
    trace_skipped_flush(pt);
    if (t->kind == WHARF_TRACE_UNROUTED) {
        trace_unrouted_print(pt, t);
        return;
    }
    pt->unrouted_round = 0;
    if (t->kind == WHARF_TRACE_PARSER) {
        trace_parser_print(pt, t);
    } else if (t->kind == WHARF_TRACE_FIELD) {
        trace_quote(pt, t->value, t->value_len, TRACE_TEXT_SHOWN);
        fprintf(stderr, "line %lu:     field %s: %.*s %s: not set\n", pt->line, t->path,
                (int)pt->text.len, pt->text.data, t->why);
    } else
        fprintf(stderr, "line %lu:   rule %s (%s:%d): %s\n", pt->line, t->rule, t->file, t->line,
                trace_result_text(t));
}

static int cmd_parse(int argc, char **argv)
{
    parse_args_t a;
    if (parse_args_read(argc, argv, &a, "parse") < 0)
        return 2;
    wharf_parsers_t *ps = parsers_for(&a, "parse");
    if (ps == NULL)
        return 2;
    parse_trace_t trace = {0};
    wharf_buf_init(&trace.text);
    wharf_buf_init(&trace.skipped);
    if (a.trace)
        wharf_parsers_trace(ps, trace_print, &trace);
    wharf_arena_t arena;
    wharf_arena_init(&arena, (size_t)64 * 1024);
    wharf_event_t *e = calloc(1, sizeof(*e));
    wharf_json_writer_t w;
    wharf_json_writer_init(&w);
    wharf_buf_t out;
    wharf_buf_init(&out);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while (e != NULL && (n = getline(&line, &cap, stdin)) >= 0) {
        e->arena = &arena;
        trace.line++;
        trace.unrouted_round = 0;
        parse_line(ps, &a, e, line, chomp(line, n));
        wharf_parsers_apply(ps, e);
        trace_skipped_flush(&trace);
        out.len = 0;
        wharf_json_write_event(&w, e, &out);
        fwrite(out.data, 1, out.len, stdout);
        if (a.trace) /* the event after its steps, in a terminal too */
            fflush(stdout);
    }
    free(line);
    wharf_buf_free(&out);
    wharf_buf_free(&trace.text);
    wharf_buf_free(&trace.skipped);
    free(e);
    wharf_arena_free(&arena);
    wharf_parsers_free(ps);
    return 0;
}

/* wharf parsers test [--strict] PATH...: exit 1 when a sample fails, or with
 * --strict when a rule has no sample (a parser pack's CI wants every rule
 * tested); 2 on bad usage or a file that does not load. */
static int cmd_parsers_test(int argc, char **argv)
{
    int strict = 0, n_paths = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--strict") == 0) {
            strict = 1;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "wharf parsers test: unknown option '%s' (see wharf help parsers)\n",
                    argv[i]);
            return 2;
        } else {
            argv[n_paths++] = argv[i];
        }
    }
    if (n_paths == 0) {
        fprintf(stderr, "usage: wharf parsers test [--strict] PATH...\n");
        return 2;
    }
    wharf_parsers_t *ps = parsers_load_or_report((const char *const *)argv, (size_t)n_paths);
    if (ps == NULL)
        return 2;
    wharf_parsers_test_result_t r;
    wharf_parsers_test(ps, stdout, &r);
    if (r.untested > 0)
        printf("%zu %s no sample tests%s\n", r.untested, r.untested == 1 ? "rule" : "rules",
               strict ? " (--strict: a failure)" : "");
    printf("%zu passed, %zu failed\n", r.passed, r.failed);
    wharf_parsers_free(ps);
    return r.failed > 0 || (strict && r.untested > 0) ? 1 : 0;
}

/* coverage's per-rule table: a parser's rows are held until its last one
 * (the "no rule matched" count), and printed when it was tried at all. */
typedef struct coverage_table {
    double lines;
    wharf_buf_t rows;
    uint64_t tried;
    int printed; /* some parser was tried */
} coverage_table_t;

static void coverage_row(void *arg, const wharf_parser_stat_t *s)
{
    coverage_table_t *t = arg;
    char row[256];
    int n = snprintf(row, sizeof(row), "  %-16s %-28s %8llu  %5.1f%%", s->parser,
                     s->rule ? s->rule : "(no rule matched)", (unsigned long long)s->count,
                     t->lines > 0 ? 100.0 * (double)s->count / t->lines : 0.0);
    wharf_buf_append(&t->rows, row, n > 0 ? (size_t)n : 0);
    if (s->gave_up > 0) {
        n = snprintf(row, sizeof(row), "  (gave up on %llu: regex match or time limit)",
                     (unsigned long long)s->gave_up);
        wharf_buf_append(&t->rows, row, n > 0 ? (size_t)n : 0);
    }
    wharf_buf_putc(&t->rows, '\n');
    t->tried += s->count;
    if (s->rule != NULL)
        return;
    if (t->tried > 0) {
        fwrite(t->rows.data, 1, t->rows.len, stdout);
        t->printed = 1;
    }
    t->rows.len = 0;
    t->tried = 0;
}

static int cmd_parsers_coverage(int argc, char **argv)
{
    parse_args_t a;
    if (parse_args_read(argc, argv, &a, "parsers coverage") < 0)
        return 2;
    FILE *in = a.file ? fopen(a.file, "r") : NULL;
    if (in == NULL) {
        fprintf(stderr, "wharf parsers coverage: cannot read %s\n", a.file ? a.file : "(no FILE)");
        return 2;
    }
    wharf_parsers_t *ps = parsers_for(&a, "parsers coverage");
    if (ps == NULL) {
        fclose(in);
        return 2;
    }
    wharf_arena_t arena;
    wharf_arena_init(&arena, (size_t)64 * 1024);
    wharf_event_t *e = calloc(1, sizeof(*e));
    char *line = NULL, *unmatched[COVERAGE_SHOW_UNMATCHED];
    size_t cap = 0, lines = 0, matched = 0, n_unmatched = 0;
    ssize_t n;
    while (e != NULL && (n = getline(&line, &cap, in)) >= 0) {
        e->arena = &arena;
        size_t len = chomp(line, n);
        parse_line(ps, &a, e, line, len);
        lines++;
        /* matched: to the end of its chain, as far as parsers were routed */
        if (wharf_parsers_apply(ps, e) > 0 && !wharf_parsers_last_missed(ps))
            matched++;
        else if (n_unmatched < COVERAGE_SHOW_UNMATCHED)
            unmatched[n_unmatched++] = wharf_xstrndup(line, len);
    }
    fclose(in);
    printf("%zu lines, %zu matched to the end of their chain (%.1f%%)\n"
           "per rule, for the parsers tried:\n",
           lines, matched, lines ? 100.0 * (double)matched / (double)lines : 0.0);
    coverage_table_t table = {(double)lines, {0}, 0, 0};
    wharf_buf_init(&table.rows);
    wharf_parsers_stats(ps, coverage_row, &table);
    if (!table.printed && lines > 0)
        printf("  (none: no parser's when took a line; give the fields the when reads as the "
               "lines' source has them, --field k=v, or name the parser, --parser NAME)\n");
    wharf_buf_free(&table.rows);
    if (n_unmatched > 0)
        printf("first unmatched lines:\n");
    for (size_t i = 0; i < n_unmatched; i++) {
        printf("  %s\n", unmatched[i]);
        free(unmatched[i]);
    }
    free(line);
    free(e);
    wharf_arena_free(&arena);
    wharf_parsers_free(ps);
    return 0;
}

int wharf_cmd_parse(int argc, char **argv)
{
    return cmd_parse(argc, argv);
}

int wharf_cmd_parsers(int argc, char **argv)
{
    if (argc >= 1 && strcmp(argv[0], "test") == 0)
        return cmd_parsers_test(argc - 1, argv + 1);
    if (argc >= 1 && strcmp(argv[0], "coverage") == 0)
        return cmd_parsers_coverage(argc - 1, argv + 1);
    fprintf(stderr, "usage: wharf parsers test [--strict] PATH... | wharf parsers coverage -p PATH "
                    "[--field k=v]... FILE\n");
    return 2;
}
