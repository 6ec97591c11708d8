/* metrics.h - what a running wharf counts, as one snapshot.
 *
 * Every stage keeps its own counters and exposes them through a stats
 * function (inputs' stats op, wharf_parsers_stats, wharf_delivery_stats,
 * wharf_buffer_stats); a snapshot reads them all at one moment. The HTTP API
 * (wharf/api.h) formats a snapshot as Prometheus text for GET /metrics and
 * judges it for GET /health. Formatting and judging are pure functions of
 * the snapshot, so they are tested without a running agent.
 *
 * Metric names, types and labels are listed in the README (Metrics). */
#ifndef WHARF_METRICS_H
#define WHARF_METRICS_H

#include "wharf/buf.h"
#include "wharf/buffer.h"
#include "wharf/delivery.h"
#include "wharf/input.h"
#include "wharf/parser.h"
#include "wharf/pipeline.h"

#include <stddef.h>
#include <stdint.h>

/* Where a snapshot is read from: the agent's stages. */
typedef struct wharf_metrics_sources {
    wharf_input_t *const *inputs;
    size_t n_inputs;
    const wharf_parsers_t *parsers; /* NULL: none */
    const wharf_pipeline_t *pipeline;
    const wharf_delivery_t *delivery;
    const wharf_buffer_t *buffer;
    uint64_t buffer_max_bytes; /* buffer.max_size */
    int64_t start_ns;          /* when wharf started */
} wharf_metrics_sources_t;

typedef struct wharf_metrics_input {
    const char *id;
    wharf_input_stats_t s;
} wharf_metrics_input_t;

typedef struct wharf_metrics_parser {
    const char *name;
    uint64_t matched;   /* events one of its rules matched */
    uint64_t unmatched; /* events it was tried on and no rule matched */
    uint64_t gave_up;   /* messages one of its rules' regexes hit the match limit on */
} wharf_metrics_parser_t;

typedef struct wharf_metrics {
    wharf_metrics_input_t *inputs;
    size_t n_inputs;
    wharf_metrics_parser_t *parsers;
    size_t n_parsers;
    wharf_delivery_stats_t *outputs;
    size_t n_outputs;
    wharf_buffer_stats_t buffer;
    uint64_t buffer_max_bytes;
    int buffer_error; /* inputs are paused by this buffer error, or 0 */
    uint64_t rss_bytes;
    double cpu_seconds;
    double start_time_seconds; /* since the epoch */
    double uptime_seconds;
} wharf_metrics_t;

/* Reads every stage now; 0 or -ENOMEM. Release with wharf_metrics_release. */
int wharf_metrics_collect(const wharf_metrics_sources_t *src, int64_t now_ns, wharf_metrics_t *m);
void wharf_metrics_release(wharf_metrics_t *m);

/* Appends the Prometheus text exposition (format 0.0.4) of m to out. */
void wharf_metrics_format(const wharf_metrics_t *m, wharf_buf_t *out);
/* Appends s as a label value: backslash, double quote and newline escaped. */
void wharf_metrics_label_escape(wharf_buf_t *out, const char *s);

/* The buffer is judged full above this share of buffer.max_size. */
#define WHARF_METRICS_BUFFER_FULL_PERCENT 90

/* Judges m: an output down longer than output_down_after_ms, a buffer over
 * WHARF_METRICS_BUFFER_FULL_PERCENT of max_size, or a buffer that refuses
 * commits make it unhealthy. Appends a JSON object naming each problem to
 * json; returns 1 when healthy, 0 when not. */
int wharf_metrics_health(const wharf_metrics_t *m, int64_t now_ns, int64_t output_down_after_ms,
                         wharf_buf_t *json);

#endif
