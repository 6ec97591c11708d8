/* input.h - the input interface: where records come from.
 *
 * An input type is one file in src/input/ exporting a wharf_input_type_t and
 * one line in src/input/registry.c. Inputs run on the libuv loop in live
 * mode, or read everything to the current end in one call (--oneshot). */
#ifndef WHARF_INPUT_H
#define WHARF_INPUT_H

#include "wharf/config.h"
#include "wharf/pipeline.h"
#include "wharf/positions.h"

#include <uv.h>

typedef struct wharf_input wharf_input_t;

/* What an input counted since it was created, and where it stands now
 * (GET /metrics, wharf/metrics.h). */
typedef struct wharf_input_stats {
    uint64_t events; /* emitted into the pipeline */
    uint64_t bytes;  /* read from its files or journal entries */
    uint64_t
        parse_errors;    /* records not in the input's format (shipped raw, tagged) or unreadable */
    int files;           /* open_files and lag_bytes apply: the input tails files */
    uint64_t open_files; /* log files held open now */
    uint64_t lag_bytes;  /* bytes between what was read and the files' ends */
} wharf_input_stats_t;

/* What an input gets from the process that runs it. */
typedef struct wharf_input_env {
    uv_loop_t *loop;
    wharf_pipeline_t *pipeline;
    const wharf_positions_t *positions; /* as loaded at start */
    int64_t max_hold_deleted_ms;        /* buffer.max_hold_deleted */
} wharf_input_env_t;

typedef struct wharf_input_ops {
    int (*start)(wharf_input_t *in);    /* live mode: watch and read */
    int (*read_all)(wharf_input_t *in); /* oneshot: read to the current end */
    void (*stop)(wharf_input_t *in);    /* stop reading, close handles */
    /* Appends the positions of what this input emitted so far to out. */
    int (*positions)(wharf_input_t *in, wharf_positions_t *out);
    void (*destroy)(wharf_input_t *in);
    /* Fills out; on the loop thread, between read passes. */
    void (*stats)(wharf_input_t *in, wharf_input_stats_t *out);
} wharf_input_ops_t;

struct wharf_input {
    const wharf_input_ops_t *ops;
    const char *id; /* the section's id, owned by the config */
};

typedef struct wharf_input_type {
    wharf_plugin_conf_t conf;
    int (*create)(const wharf_input_env_t *env, const wharf_conf_section_t *sec,
                  wharf_input_t **out);
} wharf_input_type_t;

const wharf_input_type_t *wharf_input_type_find(const char *type);

#endif
