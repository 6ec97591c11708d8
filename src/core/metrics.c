/* metrics.c - a snapshot of every stage's counters, as Prometheus text and
 * as a health verdict (see wharf/metrics.h).
 *
 * Families are tables of (name, type, help, field offset) so that a new
 * counter is one line; each family's samples are written together, as the
 * exposition format requires. Process figures come from the kernel
 * (/proc/self/statm, getrusage), so they need no bookkeeping on the hot
 * path. */
#include "wharf/metrics.h"

#include "wharf/common.h"
#include "wharf/json.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define METRICS_STR_(x) #x
#define METRICS_STR(x)  METRICS_STR_(x)

/* A family whose samples are uint64_t fields of a per-item stats struct. */
typedef struct metrics_family {
    const char *name;
    const char *type;
    const char *help;
    size_t offset;
    int files_only; /* inputs: only for inputs that tail files */
} metrics_family_t;

static const metrics_family_t input_families[] = {
    {"wharf_input_events_total", "counter", "Events the input emitted into the pipeline.",
     offsetof(wharf_input_stats_t, events), 0},
    {"wharf_input_bytes_total", "counter",
     "Bytes the input read from its log files or journal entries.",
     offsetof(wharf_input_stats_t, bytes), 0},
    {"wharf_input_open_files", "gauge", "Log files the input holds open.",
     offsetof(wharf_input_stats_t, open_files), 1},
    {"wharf_input_parse_errors_total", "counter",
     "Records not in the input's format (shipped raw and tagged) or unreadable.",
     offsetof(wharf_input_stats_t, parse_errors), 0},
    {"wharf_input_lag_bytes", "gauge",
     "Bytes between what the input read and the ends of its open files.",
     offsetof(wharf_input_stats_t, lag_bytes), 1},
};

static const metrics_family_t parser_families[] = {
    {"wharf_parser_matched_total", "counter", "Events one of the parser's rules matched.",
     offsetof(wharf_metrics_parser_t, matched), 0},
    {"wharf_parser_unmatched_total", "counter",
     "Events the parser was tried on and none of its rules matched.",
     offsetof(wharf_metrics_parser_t, unmatched), 0},
    {"wharf_parser_match_limit_total", "counter",
     "Messages a rule of the parser gave up on: its regex hit pipeline.parser_match_limit or "
     "pipeline.parser_time_limit.",
     offsetof(wharf_metrics_parser_t, gave_up), 0},
};

static const metrics_family_t output_families[] = {
    {"wharf_output_events_total", "counter",
     "Events the output delivered (made durable or confirmed by the receiver).",
     offsetof(wharf_delivery_stats_t, events), 0},
    {"wharf_output_failed_total", "counter",
     "Events the output will never get: rejected for good, or dropped by buffer.when_full.",
     offsetof(wharf_delivery_stats_t, failed), 0},
    {"wharf_output_retries_total", "counter", "Attempts made again after a failure.",
     offsetof(wharf_delivery_stats_t, retries), 0},
    {"wharf_output_lag_events", "gauge", "Events in the buffer the output has not delivered yet.",
     offsetof(wharf_delivery_stats_t, lag_events), 0},
    {"wharf_output_lag_bytes", "gauge",
     "Buffer bytes (compressed, on disk) the output has not delivered yet.",
     offsetof(wharf_delivery_stats_t, lag_bytes), 0},
};

/* ---- exposition ---------------------------------------------------------- */

void wharf_metrics_label_escape(wharf_buf_t *out, const char *s)
{
    for (; *s != '\0'; s++) {
        if (*s == '\\')
            wharf_buf_lit(out, "\\\\");
        else if (*s == '"')
            wharf_buf_lit(out, "\\\"");
        else if (*s == '\n')
            wharf_buf_lit(out, "\\n");
        else
            wharf_buf_putc(out, *s);
    }
}

static void metrics_header(wharf_buf_t *out, const char *name, const char *type, const char *help)
{
    char line[512];
    int n = snprintf(line, sizeof(line), "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
    wharf_buf_append(out, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

/* name{label="value"} (label NULL: no braces, value unused), then the value text. */
static void metrics_sample(wharf_buf_t *out, const char *name, const char *label, const char *value,
                           const char *text)
{
    wharf_buf_puts(out, name);
    if (label != NULL) {
        wharf_buf_putc(out, '{');
        wharf_buf_puts(out, label);
        wharf_buf_lit(out, "=\"");
        wharf_metrics_label_escape(out, value);
        wharf_buf_lit(out, "\"}");
    }
    wharf_buf_putc(out, ' ');
    wharf_buf_puts(out, text);
    wharf_buf_putc(out, '\n');
}

static void metrics_u64(wharf_buf_t *out, const char *name, const char *label, const char *value,
                        uint64_t v)
{
    char text[24];
    snprintf(text, sizeof(text), "%" PRIu64, v);
    metrics_sample(out, name, label, value, text);
}

static void metrics_double(wharf_buf_t *out, const char *name, double v)
{
    char text[64];
    snprintf(text, sizeof(text), "%.3f", v);
    metrics_sample(out, name, NULL, "", text);
}

static uint64_t metrics_field(const void *item, size_t offset)
{
    uint64_t v;
    memcpy(&v, (const char *)item + offset, sizeof(v));
    return v;
}

static void metrics_format_inputs(const wharf_metrics_t *m, wharf_buf_t *out)
{
    for (size_t f = 0; f < sizeof(input_families) / sizeof(input_families[0]); f++) {
        const metrics_family_t *fam = &input_families[f];
        metrics_header(out, fam->name, fam->type, fam->help);
        for (size_t i = 0; i < m->n_inputs; i++)
            if (!fam->files_only || m->inputs[i].s.files)
                metrics_u64(out, fam->name, "input", m->inputs[i].id,
                            metrics_field(&m->inputs[i].s, fam->offset));
    }
}

static void metrics_format_parsers(const wharf_metrics_t *m, wharf_buf_t *out)
{
    for (size_t f = 0; f < sizeof(parser_families) / sizeof(parser_families[0]); f++) {
        const metrics_family_t *fam = &parser_families[f];
        metrics_header(out, fam->name, fam->type, fam->help);
        for (size_t i = 0; i < m->n_parsers; i++)
            metrics_u64(out, fam->name, "parser", m->parsers[i].name,
                        metrics_field(&m->parsers[i], fam->offset));
    }
}

static void metrics_format_outputs(const wharf_metrics_t *m, wharf_buf_t *out)
{
    for (size_t f = 0; f < sizeof(output_families) / sizeof(output_families[0]); f++) {
        const metrics_family_t *fam = &output_families[f];
        metrics_header(out, fam->name, fam->type, fam->help);
        for (size_t i = 0; i < m->n_outputs; i++)
            metrics_u64(out, fam->name, "output", m->outputs[i].id,
                        metrics_field(&m->outputs[i], fam->offset));
    }
    metrics_header(out, "wharf_output_up", "gauge",
                   "1 while the output delivers, 0 while it is down (failing or unreachable).");
    for (size_t i = 0; i < m->n_outputs; i++)
        metrics_u64(out, "wharf_output_up", "output", m->outputs[i].id,
                    m->outputs[i].down_since_ns == 0);
}

static void metrics_format_buffer(const wharf_metrics_t *m, wharf_buf_t *out)
{
    metrics_header(out, "wharf_buffer_bytes", "gauge", "Bytes of the disk buffer's segments.");
    metrics_u64(out, "wharf_buffer_bytes", NULL, "", m->buffer.bytes);
    metrics_header(out, "wharf_buffer_max_bytes", "gauge",
                   "The bound on the disk buffer (buffer.max_size).");
    metrics_u64(out, "wharf_buffer_max_bytes", NULL, "", m->buffer_max_bytes);
    metrics_header(out, "wharf_buffer_segments", "gauge", "Segments in the disk buffer.");
    metrics_u64(out, "wharf_buffer_segments", NULL, "", m->buffer.segments);
    metrics_header(out, "wharf_buffer_dropped_events_total", "counter",
                   "Events dropped from a full buffer (when_full: drop_oldest), all outputs.");
    metrics_u64(out, "wharf_buffer_dropped_events_total", NULL, "", m->buffer.dropped_events);
}

static void metrics_format_process(const wharf_metrics_t *m, wharf_buf_t *out)
{
    metrics_header(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
    metrics_u64(out, "process_resident_memory_bytes", NULL, "", m->rss_bytes);
    metrics_header(out, "process_cpu_seconds_total", "counter",
                   "User and system CPU time spent in seconds, all threads.");
    metrics_double(out, "process_cpu_seconds_total", m->cpu_seconds);
    metrics_header(out, "process_start_time_seconds", "gauge",
                   "Start time of the process since the Unix epoch in seconds.");
    metrics_double(out, "process_start_time_seconds", m->start_time_seconds);
    metrics_header(out, "wharf_uptime_seconds", "gauge", "Seconds since wharf started.");
    metrics_double(out, "wharf_uptime_seconds", m->uptime_seconds);
}

void wharf_metrics_format(const wharf_metrics_t *m, wharf_buf_t *out)
{
    metrics_format_inputs(m, out);
    metrics_format_parsers(m, out);
    metrics_format_outputs(m, out);
    metrics_format_buffer(m, out);
    metrics_format_process(m, out);
}

/* ---- health --------------------------------------------------------------- */

static void health_begin_problem(wharf_buf_t *json, int *n, const char *stage)
{
    if ((*n)++ > 0)
        wharf_buf_putc(json, ',');
    wharf_buf_lit(json, "{\"stage\":");
    wharf_json_write_string(json, stage, strlen(stage));
}

static void health_key_str(wharf_buf_t *json, const char *key, const char *v)
{
    wharf_buf_putc(json, ',');
    wharf_json_write_string(json, key, strlen(key));
    wharf_buf_putc(json, ':');
    wharf_json_write_string(json, v, strlen(v));
}

static void health_key_num(wharf_buf_t *json, const char *key, const char *fmt, double v)
{
    char text[64];
    snprintf(text, sizeof(text), fmt, v);
    wharf_buf_putc(json, ',');
    wharf_json_write_string(json, key, strlen(key));
    wharf_buf_putc(json, ':');
    wharf_buf_puts(json, text);
}

static void health_outputs(const wharf_metrics_t *m, int64_t now_ns, int64_t down_after_ms,
                           wharf_buf_t *json, int *n)
{
    for (size_t i = 0; i < m->n_outputs; i++) {
        const wharf_delivery_stats_t *o = &m->outputs[i];
        int64_t down_ns = o->down_since_ns > 0 ? now_ns - o->down_since_ns : 0;
        if (o->down_since_ns == 0 || down_ns <= down_after_ms * INT64_C(1000000))
            continue;
        health_begin_problem(json, n, "output");
        health_key_str(json, "output", o->id);
        health_key_str(json, "problem", "down longer than health.output_down_after");
        health_key_num(json, "down_seconds", "%.1f", (double)down_ns / 1e9);
        health_key_str(json, "error", o->error != NULL ? o->error : "");
        wharf_buf_putc(json, '}');
    }
}

static void health_buffer(const wharf_metrics_t *m, wharf_buf_t *json, int *n)
{
    uint64_t limit = m->buffer_max_bytes / 100 * WHARF_METRICS_BUFFER_FULL_PERCENT;
    if (m->buffer_max_bytes > 0 && m->buffer.bytes > limit) {
        health_begin_problem(json, n, "buffer");
        static const char full[] =
            "buffer over " METRICS_STR(WHARF_METRICS_BUFFER_FULL_PERCENT) "% of buffer.max_size";
        health_key_str(json, "problem", full);
        health_key_num(json, "bytes", "%.0f", (double)m->buffer.bytes);
        health_key_num(json, "max_bytes", "%.0f", (double)m->buffer_max_bytes);
        wharf_buf_putc(json, '}');
    }
    if (m->buffer_error != 0) {
        health_begin_problem(json, n, "buffer");
        health_key_str(json, "problem", "commits refused; inputs are paused");
        health_key_str(json, "error", wharf_strerror(m->buffer_error));
        wharf_buf_putc(json, '}');
    }
}

int wharf_metrics_health(const wharf_metrics_t *m, int64_t now_ns, int64_t output_down_after_ms,
                         wharf_buf_t *json)
{
    wharf_buf_t problems;
    wharf_buf_init(&problems);
    int n = 0;
    health_outputs(m, now_ns, output_down_after_ms, &problems, &n);
    health_buffer(m, &problems, &n);
    if (n == 0)
        wharf_buf_lit(json, "{\"status\":\"ok\",\"problems\":[]}\n");
    else
        wharf_buf_lit(json, "{\"status\":\"unhealthy\",\"problems\":[");
    if (n > 0) {
        wharf_buf_append(json, problems.data, problems.len);
        wharf_buf_lit(json, "]}\n");
    }
    wharf_buf_free(&problems);
    return n == 0;
}

/* ---- collection ------------------------------------------------------------ */

/* Resident pages from /proc/self/statm ("size resident shared ..."). */
static uint64_t metrics_rss_bytes(void)
{
    char text[128];
    int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, text, sizeof(text) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    text[n] = '\0';
    const char *resident = strchr(text, ' ');
    long page = sysconf(_SC_PAGESIZE);
    if (resident == NULL || page <= 0)
        return 0;
    return strtoull(resident + 1, NULL, 10) * (uint64_t)page;
}

static double metrics_cpu_seconds(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) < 0)
        return 0;
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

typedef struct metrics_parser_acc {
    wharf_metrics_t *m;
    size_t cap;
    uint64_t matched, gave_up; /* of the parser whose rules are being listed */
} metrics_parser_acc_t;

/* wharf_parsers_stats lists each parser's rules, then its unmatched count. */
static void metrics_parser_stat(void *arg, const wharf_parser_stat_t *s)
{
    metrics_parser_acc_t *acc = arg;
    if (s->rule != NULL) {
        acc->matched += s->count;
        acc->gave_up += s->gave_up;
        return;
    }
    if (acc->m->n_parsers < acc->cap)
        acc->m->parsers[acc->m->n_parsers++] =
            (wharf_metrics_parser_t){s->parser, acc->matched, s->count, acc->gave_up};
    acc->matched = 0;
    acc->gave_up = 0;
}

int wharf_metrics_collect(const wharf_metrics_sources_t *src, int64_t now_ns, wharf_metrics_t *m)
{
    memset(m, 0, sizeof(*m));
    size_t n_out = wharf_delivery_n_outputs(src->delivery);
    size_t n_parsers = wharf_parsers_count(src->parsers);
    m->inputs = calloc(src->n_inputs ? src->n_inputs : 1, sizeof(*m->inputs));
    m->outputs = calloc(n_out ? n_out : 1, sizeof(*m->outputs));
    m->parsers = calloc(n_parsers ? n_parsers : 1, sizeof(*m->parsers));
    if (m->inputs == NULL || m->outputs == NULL || m->parsers == NULL) {
        wharf_metrics_release(m);
        return -ENOMEM;
    }
    for (size_t i = 0; i < src->n_inputs; i++, m->n_inputs++) {
        wharf_input_t *in = src->inputs[i];
        m->inputs[i].id = in->id;
        if (in->ops->stats != NULL)
            in->ops->stats(in, &m->inputs[i].s);
    }
    metrics_parser_acc_t acc = {m, n_parsers, 0, 0};
    wharf_parsers_stats(src->parsers, metrics_parser_stat, &acc);
    for (; m->n_outputs < n_out; m->n_outputs++)
        wharf_delivery_stats(src->delivery, m->n_outputs, &m->outputs[m->n_outputs]);
    wharf_buffer_stats(src->buffer, &m->buffer);
    m->buffer_max_bytes = src->buffer_max_bytes;
    m->buffer_error = wharf_pipeline_error(src->pipeline);
    m->rss_bytes = metrics_rss_bytes();
    m->cpu_seconds = metrics_cpu_seconds();
    m->start_time_seconds = (double)src->start_ns / 1e9;
    m->uptime_seconds = (double)(now_ns - src->start_ns) / 1e9;
    return 0;
}

void wharf_metrics_release(wharf_metrics_t *m)
{
    free(m->inputs);
    free(m->outputs);
    free(m->parsers);
    memset(m, 0, sizeof(*m));
}
