/* fuzz_cri_line.c - libFuzzer target for the CRI line parser
 * (cri_line_parse in src/input/cri.c), followed by what cri.c and
 * container_log.c do with a parsed line: join P parts until the F part, per
 * stream, build the ECS event and serialize it.
 *
 * The input is a log file: split at '\n', each line is parsed. Checked for
 * every line:
 *  - nothing crashes, leaks or reads outside the line (ASan, UBSan, LSan);
 *  - the parser agrees with a reference written here from the format
 *    "<RFC3339Nano> <stdout|stderr> <P|F>[:tags] <text>" (the text may be
 *    empty, and then the space before it may be missing too): same verdict,
 *    and on success the same stream, final flag and timestamp, and a text
 *    that is exactly the rest of the line (inside it, ending at its end);
 *  - the event (message, @timestamp, stream, tags) is one line that
 *    yajl_tree_parse reads as an object, in well-formed UTF-8, whose
 *    @timestamp reads back as the line's time, and whose message is present;
 *  - joined text never exceeds max_line_bytes, and is tagged truncated iff
 *    the parts were longer. */
#include "fuzz_support.h"
#include "wharf/container_log.h"
#include "wharf/cri.h"
#include "wharf/json.h"
#include "wharf/partial.h"
#include "wharf/timefmt.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_LINE_BYTES 300 /* small, so that truncation is reached */
#define READ_TIME_NS   INT64_C(1700000000123456789)

static void fail(const char *what, const char *line, size_t len)
{
    fprintf(stderr, "fuzz_cri_line: %s\nline: %.*s\n", what, (int)len, line);
    abort();
}

/* ---- reference parser -------------------------------------------------- */

typedef struct ref_record {
    int64_t ns;
    wharf_stream stream;
    int final;
    size_t text_off; /* the text is line[text_off, len) */
} ref_record_t;

/* Returns 1 and fills r when the line is in CRI format. */
static int ref_parse(const char *line, size_t len, ref_record_t *r)
{
    /* Fields: timestamp, stream, tag, each non-empty and followed by one
     * space, except that the tag may end the line. */
    size_t i = 0, f[3][2];
    for (int k = 0; k < 3; k++) {
        size_t start = i;
        while (i < len && line[i] != ' ')
            i++;
        f[k][0] = start;
        f[k][1] = i - start;
        if (i == len && k < 2)
            return 0; /* timestamp and stream need their space */
        if (i < len)
            i++; /* the space */
    }
    if (f[0][1] == 0 || f[1][1] == 0)
        return 0;
    const char *stream = line + f[1][0], *tag = line + f[2][0];
    if (f[1][1] == 6 && memcmp(stream, "stdout", 6) == 0)
        r->stream = WHARF_STREAM_STDOUT;
    else if (f[1][1] == 6 && memcmp(stream, "stderr", 6) == 0)
        r->stream = WHARF_STREAM_STDERR;
    else
        return 0;
    if (f[2][1] == 0 || (tag[0] != 'P' && tag[0] != 'F') || (f[2][1] > 1 && tag[1] != ':'))
        return 0;
    r->final = tag[0] == 'F';
    if (wharf_time_parse(line + f[0][0], f[0][1], &r->ns) < 0)
        return 0;
    r->text_off = i;
    return 1;
}

/* ---- production's path from a parsed line to JSON ---------------------- */

typedef struct state {
    wharf_partial_t part[2];
    size_t part_sum[2];
    wharf_arena_t arena;
    wharf_json_writer_t w; /* one writer across events: its time cache too */
    wharf_buf_t out;
} state_t;

static void emit(state_t *s, const char *text, size_t len, int64_t ns, wharf_stream stream,
                 uint64_t off, uint32_t tags)
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
    wharf_event_set_raw(&e, WHARF_F_LOG_FILE_PATH, "\"/p/0.log\"", 10);
    wharf_event_set_long(&e, WHARF_F_LOG_OFFSET, (int64_t)off);
    wharf_event_set_raw(&e, WHARF_F_EVENT_DATASET, "\"kubernetes.container_logs\"", 27);
    for (int t = 0; t < WHARF_TAG__COUNT; t++)
        if (tags & (1u << t))
            wharf_event_tag(&e, (wharf_tag)t);

    s->out.len = 0;
    if (wharf_json_write_event(&s->w, &e, &s->out) != 0)
        abort();
    yajl_val root = fuzz_require_json_line(&s->out);
    if (!wharf_utf8_valid(s->out.data, s->out.len))
        fail("the event is not well-formed UTF-8", s->out.data, s->out.len);
    const char *ts_path[] = {"@timestamp", NULL}, *msg_path[] = {"message", NULL};
    yajl_val v = yajl_tree_get(root, ts_path, yajl_t_string);
    const char *ts_text = v ? YAJL_GET_STRING(v) : NULL;
    int64_t back;
    if (ts_text == NULL || wharf_time_parse(ts_text, strlen(ts_text), &back) < 0 || back != ts)
        fail("@timestamp does not read back", s->out.data, s->out.len);
    if (yajl_tree_get(root, msg_path, yajl_t_string) == NULL)
        fail("no message", s->out.data, s->out.len);
    yajl_tree_free(root);
}

/* What cri.c and container_log.c do with one line. */
static void one_line(state_t *s, const char *line, size_t len, uint64_t off)
{
    wharf_container_record_t r;
    memset(&r, 0, sizeof(r));
    ref_record_t want;
    int ok = ref_parse(line, len, &want);
    int rc = cri_line_parse(line, len, &r);
    if (rc != 0 && rc != WHARF_EPARSE)
        abort();
    if ((rc == 0) != ok)
        fail(ok ? "the parser rejects a CRI line" : "the parser accepts a non-CRI line", line, len);
    if (rc != 0) {
        emit(s, line, len, 0, WHARF_STREAM_NONE, off, 1u << WHARF_TAG_INVALID_CRI);
        return;
    }
    if (r.text != line + want.text_off || r.len != len - want.text_off)
        fail("text is not the rest of the line", line, len);
    if (r.stream != want.stream || r.final != want.final || r.ns != want.ns)
        fail("stream, final flag or timestamp differs from the reference", line, len);

    int si = r.stream == WHARF_STREAM_STDERR ? 1 : 0;
    wharf_partial_t *p = &s->part[si];
    if (r.final && !p->active) {
        emit(s, r.text, r.len, r.ns, r.stream, off, 0);
        return;
    }
    if (!p->active)
        s->part_sum[si] = 0;
    if (wharf_partial_add(p, r.text, r.len, off, r.ns, MAX_LINE_BYTES) < 0)
        abort();
    s->part_sum[si] += r.len;
    if (p->len > MAX_LINE_BYTES || p->truncated != (s->part_sum[si] > MAX_LINE_BYTES))
        fail("joined line: wrong length or truncated flag", line, len);
    if (!r.final)
        return;
    emit(s, p->text, p->len, p->first_ns, r.stream, p->first_off,
         p->truncated ? 1u << WHARF_TAG_TRUNCATED : 0);
    wharf_partial_reset(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    state_t s;
    memset(&s, 0, sizeof(s));
    wharf_arena_init(&s.arena, 4096);
    wharf_json_writer_init(&s.w);
    wharf_buf_init(&s.out);
    const char *p = (const char *)data, *end = p + size;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = (size_t)((nl ? nl : end) - p);
        one_line(&s, p, len, (uint64_t)(p - (const char *)data));
        wharf_arena_reset(&s.arena);
        p += len + 1;
    }
    /* The file ended inside a split line: what container_log_flush() does. */
    for (int i = 0; i < 2; i++) {
        wharf_partial_t *part = &s.part[i];
        if (part->active)
            emit(&s, part->text, part->len, part->first_ns, (wharf_stream)i, part->first_off,
                 (1u << WHARF_TAG_PARTIAL_UNTERMINATED) |
                     (part->truncated ? 1u << WHARF_TAG_TRUNCATED : 0));
        wharf_partial_free(part);
    }
    wharf_buf_free(&s.out);
    wharf_arena_free(&s.arena);
    return 0;
}
