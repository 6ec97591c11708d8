/* fuzz_docker_line.c - libFuzzer target for the Docker json-file line decoder
 * (src/input/docker_line.c), followed by what src/input/docker.c and
 * container_log.c do with a decoded line: join the parts of a split line per
 * stream, build the ECS event (message, @timestamp, stream, container fields,
 * container.labels merged with the line's attrs, tags) and serialize it.
 *
 * The input is a log file: split at '\n', each line goes to
 * docker_line_decode() with one decoder across all lines, as in production
 * (its arena is reused from line to line). The decoder is a hand-written
 * scanner tuned for speed, so it gets an independent reference: yajl.
 *
 * Checked for every line:
 *  - nothing crashes, leaks or reads outside the line (ASan, UBSan, LSan);
 *  - a decoded "log" either lies inside the line or was unescaped into the
 *    arena (then it is no longer than the line); attrs are no longer either;
 *  - differential: when yajl's strict parser (no comments, UTF-8 checked)
 *    accepts the line as an object whose last "log" member is a string, the
 *    decoder accepts it too, with the same log bytes, stream, time and attrs
 *    (the decoder keeps the last of repeated keys, as modelled below). Lines
 *    where the two may legitimately differ are left out of this comparison:
 *    nesting deeper than the decoder's limit, lone surrogate escapes (wharf
 *    writes U+FFFD, yajl '?' or raw surrogate bytes), and \f or \v, which yajl
 *    alone takes for whitespace;
 *  - the event is one line that yajl_tree_parse reads as an object, in
 *    well-formed UTF-8, whose @timestamp reads back as the line's time;
 *  - joined text never exceeds max_line_bytes, and is tagged truncated iff
 *    the parts were longer;
 *  - container.labels repeats no key (attrs are merged into the labels with
 *    their keys dedotted, so "a.b" and "a_b" are one key). */
#include "fuzz_support.h"
#include "wharf/container.h"
#include "wharf/docker.h"
#include "wharf/json.h"
#include "wharf/partial.h"
#include "wharf/timefmt.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Small, so that truncation of joined lines is reached. */
#define MAX_LINE_BYTES 300
/* event.created, and @timestamp when the line has no time. */
#define READ_TIME_NS INT64_C(1700000000123456789)

static wharf_container_meta_t *the_meta; /* a container as docker_meta.c builds it */

static void fail(const char *what, const char *line, size_t len)
{
    fprintf(stderr, "fuzz_docker_line: %s\nline: %.*s\n", what, (int)len, line);
    abort();
}

/* ---- reference: the line through yajl's event parser ------------------- */

enum { K_OTHER, K_LOG, K_STREAM, K_TIME, K_ATTRS };

/* The decoder's DOCKER_MAX_NESTING (64) counts from the top-level object's
 * members; yajl's depth counts the object itself. */
#define REF_MAX_DEPTH 65

typedef struct ref {
    int depth;     /* 1 inside the top-level object */
    int max_depth; /* deepest nesting seen */
    int top_map;   /* the top-level value is an object */
    int key;       /* K_*: the top-level member whose value comes next */
    int in_attrs;  /* depth 2 is the object value of "attrs" */
    int have_log;
    wharf_str_t log; /* copies, malloc'd */
    wharf_stream stream;
    int have_time;
    wharf_str_t time;
    char *attr_key; /* pending key inside attrs, as a C string */
    yajl_handle h;
    size_t end_off; /* where the top-level value ended */
    wharf_label_t attrs[DOCKER_MAX_ATTRS];
    size_t n_attrs;
} ref_t;

static wharf_str_t ref_copy(const unsigned char *s, size_t n)
{
    char *c = malloc(n + 1);
    if (c == NULL)
        abort();
    memcpy(c, s, n);
    c[n] = '\0';
    return (wharf_str_t){c, n};
}

/* A value at depth d (before it opens anything). */
static void ref_value(ref_t *r, const unsigned char *s, size_t n, int is_string, int is_map)
{
    if (r->depth == 1) {
        switch (r->key) {
        case K_LOG: /* a non-string log makes the line invalid */
            free((void *)r->log.ptr);
            r->log = is_string ? ref_copy(s, n) : (wharf_str_t){NULL, 0};
            r->have_log = is_string;
            break;
        case K_STREAM:
            if (is_string)
                r->stream = n == 6 && memcmp(s, "stdout", 6) == 0   ? WHARF_STREAM_STDOUT
                            : n == 6 && memcmp(s, "stderr", 6) == 0 ? WHARF_STREAM_STDERR
                                                                    : WHARF_STREAM_NONE;
            break;
        case K_TIME:
            if (is_string) {
                free((void *)r->time.ptr);
                r->time = ref_copy(s, n);
                r->have_time = 1;
            }
            break;
        case K_ATTRS:
            r->in_attrs = is_map;
            break;
        default:
            break;
        }
        r->key = K_OTHER;
    } else if (r->depth == 2 && r->in_attrs && r->attr_key != NULL) {
        /* string values are kept, as C strings, up to DOCKER_MAX_ATTRS */
        if (is_string && r->n_attrs < DOCKER_MAX_ATTRS)
            r->attrs[r->n_attrs++] = (wharf_label_t){r->attr_key, (char *)ref_copy(s, n).ptr};
        else
            free(r->attr_key);
        r->attr_key = NULL;
    }
}

static int ref_null(void *ctx)
{
    ref_value(ctx, NULL, 0, 0, 0);
    return 1;
}

static int ref_bool(void *ctx, int v)
{
    ref_value(ctx, NULL, 0, 0, 0);
    return 1;
}

static int ref_number(void *ctx, const char *s, size_t n)
{
    ref_value(ctx, NULL, 0, 0, 0);
    return 1;
}

static int ref_string(void *ctx, const unsigned char *s, size_t n)
{
    ref_value(ctx, s, n, 1, 0);
    return 1;
}

static int ref_open(ref_t *r, int is_map)
{
    if (r->depth == 0)
        r->top_map = is_map;
    else
        ref_value(r, NULL, 0, 0, is_map);
    if (++r->depth > r->max_depth)
        r->max_depth = r->depth;
    return 1;
}

static int ref_start_map(void *ctx)
{
    return ref_open(ctx, 1);
}

static int ref_start_array(void *ctx)
{
    return ref_open(ctx, 0);
}

static int ref_end(void *ctx)
{
    ref_t *r = ctx;
    if (--r->depth == 1)
        r->in_attrs = 0;
    if (r->depth == 0)
        r->end_off = yajl_get_bytes_consumed(r->h);
    return 1;
}

static int ref_key(void *ctx, const unsigned char *s, size_t n)
{
    ref_t *r = ctx;
    if (r->depth == 1) {
        r->key = n == 3 && memcmp(s, "log", 3) == 0      ? K_LOG
                 : n == 6 && memcmp(s, "stream", 6) == 0 ? K_STREAM
                 : n == 4 && memcmp(s, "time", 4) == 0   ? K_TIME
                 : n == 5 && memcmp(s, "attrs", 5) == 0  ? K_ATTRS
                                                         : K_OTHER;
    } else if (r->depth == 2 && r->in_attrs) {
        free(r->attr_key);
        r->attr_key = (char *)ref_copy(s, n).ptr;
    }
    return 1;
}

static const yajl_callbacks ref_callbacks = {
    .yajl_null = ref_null,
    .yajl_boolean = ref_bool,
    .yajl_number = ref_number,
    .yajl_string = ref_string,
    .yajl_start_map = ref_start_map,
    .yajl_map_key = ref_key,
    .yajl_end_map = ref_end,
    .yajl_start_array = ref_start_array,
    .yajl_end_array = ref_end,
};

static void ref_free(ref_t *r)
{
    free((void *)r->log.ptr);
    free((void *)r->time.ptr);
    free(r->attr_key);
    for (size_t i = 0; i < r->n_attrs; i++) {
        free(r->attrs[i].key);
        free(r->attrs[i].value);
    }
}

/* Lines on which yajl and the decoder may rightly disagree (see the top). */
static int ref_comparable(const char *line, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (line[i] == '\f' || line[i] == '\v')
            return 0;
        if (line[i] == '\\' && i + 2 < len && line[i + 1] == 'u' &&
            (line[i + 2] == 'd' || line[i + 2] == 'D'))
            return 0; /* \uD800-\uDFFF, and a few more; fine to skip */
    }
    return 1;
}

/* Compares a C string the decoder made with bytes yajl decoded, which the
 * decoder also turned into a C string (so cut at the first NUL). */
static int same_cstr(const char *got, const char *want)
{
    return strcmp(got, want) == 0;
}

static void ref_check(const docker_line_decoder_t *dec, int rc, const char *line, size_t len)
{
    if (!ref_comparable(line, len))
        return;
    ref_t r;
    memset(&r, 0, sizeof(r));
    r.stream = WHARF_STREAM_NONE;
    yajl_handle h = r.h = yajl_alloc(&ref_callbacks, NULL, &r);
    if (h == NULL)
        abort();
    yajl_status st = yajl_parse(h, (const unsigned char *)line, len);
    if (st == yajl_status_ok)
        st = yajl_complete_parse(h);
    yajl_free(h);
    /* yajl_complete_parse() overlooks an unfinished token after the value
     * ({...}"abc), so trailing bytes are checked here. */
    for (size_t i = r.end_off; st == yajl_status_ok && i < len; i++)
        if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r')
            st = yajl_status_error;
    if (st == yajl_status_ok && r.top_map && r.have_log && r.max_depth <= REF_MAX_DEPTH) {
        const docker_line_t *l = &dec->line;
        if (rc != 0)
            fail("yajl accepts the line, the decoder does not", line, len);
        if (l->log_len != r.log.len || memcmp(l->log, r.log.ptr, r.log.len) != 0)
            fail("\"log\" differs from yajl's", line, len);
        if (l->stream != r.stream)
            fail("\"stream\" differs from yajl's", line, len);
        int64_t ns = 0;
        if (r.have_time && wharf_time_parse(r.time.ptr, r.time.len, &ns) < 0)
            ns = 0;
        if (l->ns != ns)
            fail("\"time\" differs from yajl's", line, len);
        if (l->n_attrs != r.n_attrs)
            fail("the number of attrs differs from yajl's", line, len);
        for (size_t i = 0; i < r.n_attrs; i++)
            if (!same_cstr(l->attrs[i].key, r.attrs[i].key) ||
                !same_cstr(l->attrs[i].value, r.attrs[i].value))
                fail("an attr differs from yajl's", line, len);
    }
    ref_free(&r);
}

/* ---- production's path from a decoded line to JSON --------------------- */

static int utf8_ok(const wharf_buf_t *b)
{
    return wharf_utf8_valid(b->data, b->len);
}

typedef struct state {
    docker_line_decoder_t dec;
    wharf_partial_t part[2]; /* by stream, as container_log.c */
    size_t part_sum[2];      /* bytes offered to each joiner */
    wharf_arena_t arena;     /* the batch's arena: events' strings */
    wharf_json_writer_t w;   /* one writer across events: its time cache too */
    wharf_buf_t out;
    /* Even lines come from a container with metadata, odd ones from one
     * whose config.v2.json could not be read (no metadata, as in docker.c). */
    const wharf_container_meta_t *meta;
} state_t;

/* A whole line, as container_log_emit() builds it; ns is 0 when unknown. */
static void emit(state_t *s, const char *text, size_t len, int64_t ns, wharf_stream stream,
                 uint64_t off, const wharf_label_t *attrs, size_t n_attrs, uint32_t tags)
{
    wharf_event_t e;
    memset(&e, 0, sizeof(e));
    e.arena = &s->arena;
    wharf_event_clear(&e);
    wharf_event_set_time(&e, WHARF_F_EVENT_CREATED, READ_TIME_NS);
    wharf_event_set_str(&e, WHARF_F_MESSAGE, text, len);
    int64_t ts = ns != 0 ? ns : READ_TIME_NS;
    wharf_event_set_time(&e, WHARF_F_TIMESTAMP, ts);
    if (stream == WHARF_STREAM_STDOUT)
        wharf_event_set_raw(&e, WHARF_F_STREAM, "\"stdout\"", 8);
    else if (stream == WHARF_STREAM_STDERR)
        wharf_event_set_raw(&e, WHARF_F_STREAM, "\"stderr\"", 8);
    wharf_event_set_raw(&e, WHARF_F_LOG_FILE_PATH, "\"/c/x-json.log\"", 15);
    wharf_event_set_long(&e, WHARF_F_LOG_OFFSET, (int64_t)off);
    wharf_event_set_raw(&e, WHARF_F_EVENT_DATASET, "\"docker.container_logs\"", 23);
    if (s->meta != NULL)
        wharf_container_enrich(&e, s->meta);
    if (n_attrs > 0 && wharf_container_labels_merged(&e, s->meta, attrs, n_attrs) < 0)
        abort();
    for (int t = 0; t < WHARF_TAG__COUNT; t++)
        if (tags & (1u << t))
            wharf_event_tag(&e, (wharf_tag)t);

    s->out.len = 0;
    if (wharf_json_write_event(&s->w, &e, &s->out) != 0)
        abort();
    yajl_val root = fuzz_require_json_line(&s->out);
    if (!utf8_ok(&s->out))
        fail("the event is not well-formed UTF-8", s->out.data, s->out.len);
    const char *ts_path[] = {"@timestamp", NULL};
    yajl_val v = yajl_tree_get(root, ts_path, yajl_t_string);
    const char *ts_text = v ? YAJL_GET_STRING(v) : NULL;
    int64_t back;
    if (ts_text == NULL || wharf_time_parse(ts_text, strlen(ts_text), &back) < 0 || back != ts)
        fail("@timestamp does not read back", s->out.data, s->out.len);
    const char *labels_path[] = {"container", "labels", NULL};
    yajl_val labels = yajl_tree_get(root, labels_path, yajl_t_object);
    if (n_attrs > 0 && labels == NULL)
        fail("container.labels is not an object", s->out.data, s->out.len);
    /* Label keys are C strings, so yajl's NUL-terminated keys are exact. */
    for (size_t i = 0; labels != NULL && i < labels->u.object.len; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(labels->u.object.keys[i], labels->u.object.keys[j]) == 0)
                fail("container.labels repeats a key", s->out.data, s->out.len);
    yajl_tree_free(root);
}

/* What docker.c does with one line. */
static void one_line(state_t *s, const char *line, size_t len, uint64_t off)
{
    int rc = docker_line_decode(&s->dec, line, len);
    if (rc != 0 && rc != WHARF_EPARSE)
        abort();
    ref_check(&s->dec, rc, line, len);
    if (rc != 0) {
        emit(s, line, len, 0, WHARF_STREAM_NONE, off, NULL, 0, 1u << WHARF_TAG_INVALID_JSON);
        return;
    }
    const docker_line_t *l = &s->dec.line;
    if (l->log < line || l->log + l->log_len > line + len) {
        if (l->log_len > len) /* unescaped: never longer than the escaped text */
            fail("unescaped \"log\" is longer than the line", line, len);
    }
    for (size_t i = 0; i < l->n_attrs; i++)
        if (strlen(l->attrs[i].key) > len || strlen(l->attrs[i].value) > len)
            fail("an attr is longer than the line", line, len);
    if (l->n_attrs > DOCKER_MAX_ATTRS)
        fail("too many attrs", line, len);

    int final = l->log_len > 0 && l->log[l->log_len - 1] == '\n';
    size_t text_len = final ? l->log_len - 1 : l->log_len;
    int si = l->stream == WHARF_STREAM_STDERR ? 1 : 0;
    wharf_partial_t *p = &s->part[si];
    if (final && !p->active) {
        emit(s, l->log, text_len, l->ns, l->stream, off, l->attrs, l->n_attrs, 0);
        return;
    }
    if (!p->active)
        s->part_sum[si] = 0;
    if (wharf_partial_add(p, l->log, text_len, off, l->ns, MAX_LINE_BYTES) < 0)
        abort();
    s->part_sum[si] += text_len;
    if (p->len > MAX_LINE_BYTES || p->truncated != (s->part_sum[si] > MAX_LINE_BYTES))
        fail("joined line: wrong length or truncated flag", line, len);
    if (!final)
        return;
    emit(s, p->text, p->len, p->first_ns, l->stream, p->first_off, l->attrs, l->n_attrs,
         p->truncated ? 1u << WHARF_TAG_TRUNCATED : 0);
    wharf_partial_reset(p);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    /* Labels as config.v2.json would give them, dedotted (the default). */
    the_meta = calloc(1, sizeof(*the_meta));
    if (the_meta == NULL)
        abort();
    the_meta->labels_dedot = 1;
    the_meta->id = strdup("4f6e5d7c");
    the_meta->name = strdup("web");
    the_meta->runtime = "docker";
    if (the_meta->id == NULL || the_meta->name == NULL ||
        wharf_container_set_image(the_meta, "registry:5000/app:1.2@sha256:ab", "sha256:cd") < 0 ||
        wharf_container_add_label(the_meta, "app", "web") < 0 ||
        wharf_container_add_label(the_meta, "com.example.team", "core") < 0 ||
        wharf_container_render_labels(the_meta) < 0 || wharf_container_finish(the_meta) < 0)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    state_t s;
    memset(&s, 0, sizeof(s));
    docker_line_decoder_init(&s.dec);
    wharf_arena_init(&s.arena, 4096);
    wharf_json_writer_init(&s.w);
    wharf_buf_init(&s.out);
    const char *p = (const char *)data, *end = p + size;
    for (size_t n = 0; p < end; n++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = (size_t)((nl ? nl : end) - p);
        s.meta = n % 2 == 0 ? the_meta : NULL;
        one_line(&s, p, len, (uint64_t)(p - (const char *)data));
        wharf_arena_reset(&s.arena);
        p += len + 1;
    }
    /* The file ended inside a split line: what container_log_flush() does. */
    for (int i = 0; i < 2; i++) {
        wharf_partial_t *part = &s.part[i];
        if (part->active)
            emit(&s, part->text, part->len, part->first_ns, (wharf_stream)i, part->first_off, NULL,
                 0,
                 (1u << WHARF_TAG_PARTIAL_UNTERMINATED) |
                     (part->truncated ? 1u << WHARF_TAG_TRUNCATED : 0));
        wharf_partial_free(part);
    }
    wharf_buf_free(&s.out);
    wharf_arena_free(&s.arena);
    docker_line_decoder_free(&s.dec);
    return 0;
}
