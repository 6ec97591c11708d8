/* container_log.h - what the Docker and CRI inputs have in common.
 *
 * Both read one file per container, get lines that may be parts of a longer
 * line (per stream), and turn each whole line into an ECS event enriched with
 * the container's metadata. Only the line syntax and where the metadata comes
 * from differ; those stay in docker.c and cri.c. */
#ifndef WHARF_CONTAINER_LOG_H
#define WHARF_CONTAINER_LOG_H

#include "wharf/container.h"
#include "wharf/input.h"
#include "wharf/multiline.h"
#include "wharf/partial.h"
#include "wharf/pipeline.h"
#include "wharf/tail.h"

typedef enum wharf_stream {
    WHARF_STREAM_NONE = -1,
    WHARF_STREAM_STDOUT,
    WHARF_STREAM_STDERR
} wharf_stream;

/* An input whose files a wharf_tail follows; docker and cri start with it so
 * that the four tail-driven operations are shared. */
typedef struct wharf_tail_input {
    wharf_input_t base;
    wharf_tail_t *tail;
    wharf_input_stats_t counted; /* events and parse errors; the tail knows the rest */
} wharf_tail_input_t;

int wharf_tail_input_start(wharf_input_t *in);
int wharf_tail_input_read_all(wharf_input_t *in);
void wharf_tail_input_stop(wharf_input_t *in);
int wharf_tail_input_positions(wharf_input_t *in, wharf_positions_t *out);
void wharf_tail_input_stats(wharf_input_t *in, wharf_input_stats_t *out);

/* Per input. */
typedef struct wharf_container_log {
    wharf_pipeline_t *pipeline;
    const char *dataset_json; /* event.dataset as a JSON string, quotes included */
    uint64_t max_line_bytes;
    wharf_input_stats_t *counted; /* the input's: events and parse errors are counted here */
    wharf_multiline_t *multiline; /* the input's multiline rule, or NULL */
} wharf_container_log_t;

/* The lines of one event being joined by the multiline rule (per stream). */
typedef struct wharf_container_group {
    wharf_partial_t text; /* joined with "\n"; text.active: an event is open */
    uint32_t lines;
    uint32_t tags;   /* of all its lines */
    int has_attrs;   /* its first line had attrs, rendered in the file's cache */
    int64_t last_ns; /* when its last line was read (the pass's time) */
} wharf_container_group_t;

/* Per tailed file. */
typedef struct wharf_container_file {
    wharf_container_meta_t *meta;     /* may be NULL: no metadata found */
    wharf_partial_t part[2];          /* by stream */
    wharf_container_group_t group[2]; /* by stream */
    int multiline_decided;            /* whether the input's multiline rule applies is known */
    int multiline_applies;
    char *path_json; /* log.file.path rendered once per path */
    size_t path_json_len;
    const char *path_json_of; /* the tail file's path string it renders */
    /* The last attrs seen and container.labels merged with them: every line
     * of a container usually carries the same attrs. */
    wharf_label_t *attrs;
    size_t n_attrs;
    wharf_buf_t attrs_labels;
} wharf_container_file_t;

/* One decoded record: a whole line, or a part of one when !final. */
typedef struct wharf_container_record {
    const char *text;
    size_t len;
    int64_t ns; /* 0: no timestamp, the read time is used */
    wharf_stream stream;
    uint64_t off;
    int final;
    uint32_t tags;
    const wharf_label_t *attrs; /* extra labels (json-file attrs) */
    size_t n_attrs;
    int cached_attrs; /* no attrs given: use those the file rendered last (a joined event) */
} wharf_container_record_t;

/* Joins parts and emits whole lines as events. */
int wharf_container_log_record(const wharf_container_log_t *cl, wharf_container_file_t *cf,
                               const wharf_tail_file_t *f, const wharf_container_record_t *r);
/* Emits a line that could not be decoded, tagged with tag. */
int wharf_container_log_invalid(const wharf_container_log_t *cl, wharf_container_file_t *cf,
                                const wharf_tail_file_t *f, const char *line, size_t len,
                                uint64_t off, uint32_t tags);
/* Emits the events the multiline rule holds whose next line has not come
 * within its timeout by now_ns (INT64_MAX: all of them). */
void wharf_container_log_expire(const wharf_container_log_t *cl, wharf_container_file_t *cf,
                                const wharf_tail_file_t *f, int64_t now_ns);
/* Offset of the oldest part or line still waiting for its event, or UINT64_MAX. */
uint64_t wharf_container_log_safe_offset(const wharf_container_file_t *cf);
/* Emits what is still being joined (the file ended). */
void wharf_container_log_flush(const wharf_container_log_t *cl, wharf_container_file_t *cf,
                               const wharf_tail_file_t *f);
/* Replaces cf->meta (freeing the old one) and forgets what was derived from it. */
void wharf_container_file_set_meta(wharf_container_file_t *cf, wharf_container_meta_t *meta);
/* Frees what cf holds (not cf itself: inputs embed it). */
void wharf_container_file_release(wharf_container_file_t *cf);

#endif
