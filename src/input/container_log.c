/* container_log.c - joining and emitting container log lines (see
 * wharf/container_log.h). */
#include "wharf/container_log.h"

#include "wharf/json.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The tailer replaces f->path (a new string) when a file is renamed. */
static int container_log_path_json(wharf_container_file_t *cf, const wharf_tail_file_t *f)
{
    if (cf->path_json_of == f->path)
        return 0;
    wharf_buf_t b;
    wharf_buf_init(&b);
    wharf_json_write_string(&b, f->path, strlen(f->path));
    free(cf->path_json);
    cf->path_json = b.data;
    cf->path_json_len = b.len;
    cf->path_json_of = f->path;
    return 0;
}

static int attrs_same(const wharf_container_file_t *cf, const wharf_label_t *a, size_t n)
{
    if (cf->attrs_labels.len == 0 || n != cf->n_attrs)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(a[i].key, cf->attrs[i].key) != 0 || strcmp(a[i].value, cf->attrs[i].value) != 0)
            return 0;
    return 1;
}

static void container_file_forget_labels(wharf_container_file_t *cf)
{
    for (size_t i = 0; i < cf->n_attrs; i++) {
        free(cf->attrs[i].key);
        free(cf->attrs[i].value);
    }
    free(cf->attrs);
    cf->attrs = NULL;
    cf->n_attrs = 0;
    wharf_buf_free(&cf->attrs_labels);
}

/* container.labels merged with the record's attrs, rendered once per change. */
static int container_log_attrs_labels(wharf_container_file_t *cf, const wharf_label_t *a, size_t n)
{
    if (attrs_same(cf, a, n))
        return 0;
    container_file_forget_labels(cf);
    cf->attrs = calloc(n, sizeof(*cf->attrs));
    if (cf->attrs == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++, cf->n_attrs++)
        if ((cf->attrs[i].key = strdup(a[i].key)) == NULL ||
            (cf->attrs[i].value = strdup(a[i].value)) == NULL) {
            free(cf->attrs[i].key);
            container_file_forget_labels(cf);
            return -ENOMEM;
        }
    return wharf_container_labels_render(cf->meta, a, n, &cf->attrs_labels);
}

static int container_log_emit(const wharf_container_log_t *cl, wharf_container_file_t *cf,
                              const wharf_tail_file_t *f, const wharf_container_record_t *r)
{
    wharf_event_t *e = wharf_pipeline_event(cl->pipeline);
    wharf_event_set_str(e, WHARF_F_MESSAGE, r->text, r->len);
    /* No runtime timestamp (malformed line): the read time is the best we know. */
    wharf_event_set_time(e, WHARF_F_TIMESTAMP,
                         r->ns != 0 ? r->ns : e->v[WHARF_F_EVENT_CREATED].u.i64);
    if (r->stream == WHARF_STREAM_STDOUT)
        wharf_event_set_raw(e, WHARF_F_STREAM, "\"stdout\"", 8);
    else if (r->stream == WHARF_STREAM_STDERR)
        wharf_event_set_raw(e, WHARF_F_STREAM, "\"stderr\"", 8);
    container_log_path_json(cf, f);
    wharf_event_set_raw(e, WHARF_F_LOG_FILE_PATH, cf->path_json, cf->path_json_len);
    wharf_event_set_long(e, WHARF_F_LOG_OFFSET, (int64_t)r->off);
    wharf_event_set_raw(e, WHARF_F_EVENT_DATASET, cl->dataset_json, strlen(cl->dataset_json));
    if (cf->meta != NULL)
        wharf_container_enrich(e, cf->meta);
    if (r->n_attrs > 0 && container_log_attrs_labels(cf, r->attrs, r->n_attrs) < 0)
        return -ENOMEM;
    if ((r->n_attrs > 0 || r->cached_attrs) && cf->attrs_labels.len > 0)
        wharf_event_set_raw(e, WHARF_F_CONTAINER_LABELS, cf->attrs_labels.data,
                            cf->attrs_labels.len);
    for (int t = 0; t < WHARF_TAG__COUNT; t++)
        if (r->tags & WHARF_TAG_BIT(t))
            wharf_event_tag(e, (wharf_tag)t);
    int rc = wharf_pipeline_emit(cl->pipeline, e);
    if (rc == 0)
        cl->counted->events++;
    return rc;
}

/* Whether the input's multiline rule applies to cf's container: decided
 * once per metadata. */
static wharf_multiline_t *container_log_multiline(const wharf_container_log_t *cl,
                                                  wharf_container_file_t *cf)
{
    if (cl->multiline == NULL)
        return NULL;
    if (!cf->multiline_decided) {
        const wharf_container_meta_t *m = cf->meta;
        cf->multiline_applies =
            wharf_multiline_applies(cl->multiline, m ? m->name : NULL, m ? m->image_name : NULL);
        cf->multiline_decided = 1;
    }
    return cf->multiline_applies ? cl->multiline : NULL;
}

static int container_log_group_emit(const wharf_container_log_t *cl, wharf_container_file_t *cf,
                                    const wharf_tail_file_t *f, int stream)
{
    wharf_container_group_t *g = &cf->group[stream];
    uint32_t tags = g->tags | (g->lines > 1 ? WHARF_TAG_BIT(WHARF_TAG_MULTILINE) : 0);
    wharf_container_record_t r = {.text = g->text.text,
                                  .len = g->text.len,
                                  .ns = g->text.first_ns,
                                  .stream = (wharf_stream)stream,
                                  .off = g->text.first_off,
                                  .final = 1,
                                  .tags = tags,
                                  .cached_attrs = g->has_attrs};
    int rc = container_log_emit(cl, cf, f, &r);
    wharf_partial_reset(&g->text);
    g->lines = 0;
    return rc;
}

static int container_log_group_open(const wharf_container_log_t *cl, wharf_container_file_t *cf,
                                    wharf_container_group_t *g, const wharf_container_record_t *r)
{
    if (r->n_attrs > 0 && container_log_attrs_labels(cf, r->attrs, r->n_attrs) < 0)
        return -ENOMEM;
    g->has_attrs = r->n_attrs > 0;
    g->lines = 1;
    g->tags = r->tags;
    g->last_ns = wharf_pipeline_pass_ns(cl->pipeline);
    return wharf_partial_add(&g->text, r->text, r->len, r->off, r->ns, cl->max_line_bytes);
}

static int container_log_group_add(const wharf_container_log_t *cl, wharf_container_group_t *g,
                                   const wharf_container_record_t *r)
{
    g->lines++;
    g->tags |= r->tags;
    g->last_ns = wharf_pipeline_pass_ns(cl->pipeline);
    int rc = wharf_partial_add(&g->text, "\n", 1, r->off, r->ns, cl->max_line_bytes);
    return rc < 0 ? rc
                  : wharf_partial_add(&g->text, r->text, r->len, r->off, r->ns, cl->max_line_bytes);
}

/* A whole line: an event of its own, or a line of the event its stream's
 * group is joining. A continuation that would take the group past
 * max_lines or max_line_bytes begins the next event instead: nothing is
 * cut. */
static int container_log_line(const wharf_container_log_t *cl, wharf_container_file_t *cf,
                              const wharf_tail_file_t *f, const wharf_container_record_t *r)
{
    int s = r->stream == WHARF_STREAM_STDERR ? 1 : 0;
    wharf_container_group_t *g = &cf->group[s];
    wharf_multiline_t *ml = container_log_multiline(cl, cf);
    if (ml == NULL) {
        int rc = g->text.active ? container_log_group_emit(cl, cf, f, s) : 0;
        return rc < 0 ? rc : container_log_emit(cl, cf, f, r);
    }
    int cont = wharf_multiline_continues(ml, r->text, r->len);
    if (g->text.active) {
        if (cont && g->lines < wharf_multiline_max_lines(ml) &&
            g->text.len + 1 + r->len <= cl->max_line_bytes)
            return container_log_group_add(cl, g, r);
        int rc = container_log_group_emit(cl, cf, f, s);
        if (rc < 0)
            return rc;
    } else if (cont) {
        return container_log_emit(cl, cf, f, r); /* nothing to continue: it stands alone */
    }
    return container_log_group_open(cl, cf, g, r);
}

int wharf_container_log_record(const wharf_container_log_t *cl, wharf_container_file_t *cf,
                               const wharf_tail_file_t *f, const wharf_container_record_t *r)
{
    wharf_partial_t *p = &cf->part[r->stream == WHARF_STREAM_STDERR ? 1 : 0];
    if (!r->final || p->active) {
        int rc = wharf_partial_add(p, r->text, r->len, r->off, r->ns, cl->max_line_bytes);
        if (rc < 0 || !r->final)
            return rc;
        wharf_container_record_t joined = *r;
        joined.text = p->text;
        joined.len = p->len;
        joined.off = p->first_off;
        joined.ns = p->first_ns;
        joined.tags |= p->truncated ? WHARF_TAG_BIT(WHARF_TAG_TRUNCATED) : 0;
        rc = container_log_line(cl, cf, f, &joined);
        wharf_partial_reset(p);
        return rc;
    }
    return container_log_line(cl, cf, f, r);
}

int wharf_container_log_invalid(const wharf_container_log_t *cl, wharf_container_file_t *cf,
                                const wharf_tail_file_t *f, const char *line, size_t len,
                                uint64_t off, uint32_t tags)
{
    wharf_container_record_t r = {line, len, 0, WHARF_STREAM_NONE, off, 1, tags, NULL, 0, 0};
    cl->counted->parse_errors++;
    return container_log_emit(cl, cf, f, &r);
}

int wharf_tail_input_start(wharf_input_t *in)
{
    return wharf_tail_start(((wharf_tail_input_t *)in)->tail);
}

int wharf_tail_input_read_all(wharf_input_t *in)
{
    return wharf_tail_read_all(((wharf_tail_input_t *)in)->tail);
}

void wharf_tail_input_stop(wharf_input_t *in)
{
    wharf_tail_stop(((wharf_tail_input_t *)in)->tail);
}

int wharf_tail_input_positions(wharf_input_t *in, wharf_positions_t *out)
{
    return wharf_tail_positions(((wharf_tail_input_t *)in)->tail, out);
}

void wharf_tail_input_stats(wharf_input_t *in, wharf_input_stats_t *out)
{
    const wharf_tail_input_t *tin = (const wharf_tail_input_t *)in;
    wharf_tail_stats_t ts;
    wharf_tail_stats(tin->tail, &ts);
    *out = tin->counted;
    out->bytes = ts.bytes_read;
    out->files = 1;
    out->open_files = ts.open_files;
    out->lag_bytes = ts.lag_bytes;
}

void wharf_container_log_expire(const wharf_container_log_t *cl, wharf_container_file_t *cf,
                                const wharf_tail_file_t *f, int64_t now_ns)
{
    if (cl->multiline == NULL)
        return;
    int64_t timeout = wharf_multiline_timeout_ns(cl->multiline);
    for (int s = 0; s < 2; s++)
        if (cf->group[s].text.active && now_ns - cf->group[s].last_ns >= timeout)
            container_log_group_emit(cl, cf, f, s);
}

uint64_t wharf_container_log_safe_offset(const wharf_container_file_t *cf)
{
    uint64_t safe = UINT64_MAX;
    for (int s = 0; s < 2; s++) {
        if (cf->part[s].active && cf->part[s].first_off < safe)
            safe = cf->part[s].first_off;
        if (cf->group[s].text.active && cf->group[s].text.first_off < safe)
            safe = cf->group[s].text.first_off;
    }
    return safe;
}

void wharf_container_log_flush(const wharf_container_log_t *cl, wharf_container_file_t *cf,
                               const wharf_tail_file_t *f)
{
    wharf_container_log_expire(cl, cf, f, INT64_MAX);
    for (int s = 0; s < 2; s++) {
        wharf_partial_t *p = &cf->part[s];
        if (!p->active)
            continue;
        wharf_container_record_t r = {p->text,
                                      p->len,
                                      p->first_ns,
                                      (wharf_stream)s,
                                      p->first_off,
                                      1,
                                      WHARF_TAG_BIT(WHARF_TAG_PARTIAL_UNTERMINATED) |
                                          (p->truncated ? WHARF_TAG_BIT(WHARF_TAG_TRUNCATED) : 0),
                                      NULL,
                                      0,
                                      0};
        container_log_emit(cl, cf, f, &r);
        wharf_partial_reset(p);
    }
}

void wharf_container_file_set_meta(wharf_container_file_t *cf, wharf_container_meta_t *meta)
{
    wharf_container_meta_free(cf->meta);
    cf->meta = meta;
    container_file_forget_labels(cf);
    cf->multiline_decided = 0;
}

void wharf_container_file_release(wharf_container_file_t *cf)
{
    wharf_container_file_set_meta(cf, NULL);
    for (int s = 0; s < 2; s++) {
        wharf_partial_free(&cf->part[s]);
        wharf_partial_free(&cf->group[s].text);
    }
    free(cf->path_json);
    cf->path_json = NULL;
    cf->path_json_of = NULL;
}
