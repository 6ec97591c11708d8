/* config.h - the YAML configuration: load, validate, report FILE:LINE errors.
 *
 * Validation is schema-driven: the top level, every nested section and every
 * input/output type describe their keys in a wharf_conf_key_t table, and one
 * binder fills plain C structs from the YAML tree. A plugin therefore brings
 * its own keys (one table in its own file) and the loader needs no edits when
 * a type is added. Every problem found is collected, not just the first, so
 * `wharf check` can list them all. */
#ifndef WHARF_CONFIG_H
#define WHARF_CONFIG_H

#include <stddef.h>
#include <stdint.h>

typedef struct wharf_strv {
    char **v;
    size_t n;
} wharf_strv_t;

/* 1 when s (may be NULL: never) matches one of the fnmatch(3) globs. */
int wharf_strv_glob_any(const wharf_strv_t *globs, const char *s);

typedef struct wharf_kv {
    char *key;
    char *value;
    int line;
} wharf_kv_t;

typedef struct wharf_kvv {
    wharf_kv_t *v;
    size_t n;
} wharf_kvv_t;

typedef enum wharf_conf_kind {
    WHARF_CK_STR,       /* char * (malloc'd)                                    */
    WHARF_CK_BOOL,      /* int: true/false/yes/no/on/off                        */
    WHARF_CK_INT,       /* int64_t                                              */
    WHARF_CK_SIZE,      /* uint64_t bytes: 1000, 512KiB, 64MiB, 1GiB, 10MB      */
    WHARF_CK_DURATION,  /* int64_t milliseconds: 250ms, 1s, 10m, 2h, 400d       */
    WHARF_CK_ENUM,      /* int: index into choices                              */
    WHARF_CK_STR_LIST,  /* wharf_strv_t: a sequence of strings (or one string)  */
    WHARF_CK_GLOB,      /* char *: a path glob, syntax checked                  */
    WHARF_CK_GLOB_LIST, /* wharf_strv_t of path globs, syntax checked           */
    WHARF_CK_MAP,       /* wharf_kvv_t: string -> scalar map, passed through    */
    WHARF_CK_OBJECT,    /* nested struct at offset, described by sub            */
    WHARF_CK_ZONE,      /* char *: a time zone (wharf/tz.h), checked by loading */
} wharf_conf_kind;

typedef struct wharf_conf_key {
    const char *name; /* NULL ends a table */
    wharf_conf_kind kind;
    size_t offset;                      /* of the value in the bound struct */
    int required;                       /* missing is an error */
    const char *const *choices;         /* ENUM: NULL-terminated */
    const struct wharf_conf_key *sub;   /* OBJECT: keys of the nested struct */
    void (*sub_init)(void *sub_struct); /* OBJECT: set defaults, may be NULL */
    int64_t min, max;                   /* INT, SIZE, DURATION: bounds when max > 0 */
    /* STR: judges the value (e.g. compiles a regex); 0, or -1 with why
     * filled (reported at the value's line). May be NULL. */
    int (*check)(const char *value, char *why, size_t why_size);
} wharf_conf_key_t;

/* What an input or output type tells the loader about its configuration.
 * Every STR/GLOB/STR_LIST/GLOB_LIST/MAP member is freed by
 * wharf_config_free(), so opts_init and sub_init must malloc their string
 * defaults (strdup), never point at literals. sub_init runs for each OBJECT
 * member when the parent struct is created, before the parent's opts_init. */
typedef struct wharf_conf_section wharf_conf_section_t;
/* Reports one problem at a line of the file being loaded. */
typedef void (*wharf_conf_report_fn)(void *ctx, int line, const char *msg);

typedef struct wharf_plugin_conf {
    const char *type;
    const wharf_conf_key_t *keys; /* type-specific keys; `type` and `id` are common */
    size_t opts_size;
    void (*opts_init)(void *opts); /* defaults, before binding; may be NULL */
    /* The type's own checks once its keys are bound (values a library has
     * to judge, e.g. librdkafka properties); may be NULL. */
    void (*check)(const wharf_conf_section_t *sec, wharf_conf_report_fn report, void *ctx);
} wharf_plugin_conf_t;

/* One entry of `inputs:` or `outputs:`. */
struct wharf_conf_section {
    char *type;
    char *id;
    int line; /* 1-based line of the entry */
    const wharf_plugin_conf_t *plugin;
    void *opts; /* plugin->opts_size bytes, bound with plugin->keys */
};

typedef struct wharf_conf_host {
    char *name; /* "auto" (default) resolves to gethostname() */
} wharf_conf_host_t;

typedef enum { WHARF_WHEN_FULL_BLOCK, WHARF_WHEN_FULL_DROP_OLDEST } wharf_when_full;
typedef enum { WHARF_FSYNC_BATCH, WHARF_FSYNC_INTERVAL, WHARF_FSYNC_NEVER } wharf_fsync_mode;

/* `buffer:` - the disk buffer (wharf/buffer.h). */
typedef struct wharf_conf_buffer {
    uint64_t max_size;           /* whole buffer on disk, default 1GiB */
    int when_full;               /* wharf_when_full, default block */
    int fsync;                   /* wharf_fsync_mode, default batch */
    int64_t fsync_interval_ms;   /* fsync: interval, default 1s */
    uint64_t segment_size;       /* default 64MiB */
    int64_t compression_level;   /* zstd, default 1 */
    int64_t max_hold_deleted_ms; /* deleted input files held open at most this long */
} wharf_conf_buffer_t;

/* `pipeline:` - the normalize stage. */
typedef struct wharf_conf_pipeline {
    wharf_strv_t parsers;         /* parser files or directories (wharf/parser.h) */
    int64_t parser_match_limit;   /* wharf_parsers_set_match_limit() */
    int64_t parser_time_limit_ms; /* wharf_parsers_set_time_limit() */
    char *parser_timezone;        /* wharf_parsers_set_timezone(); NULL: UTC */
} wharf_conf_pipeline_t;

/* `api:` - the HTTP API (wharf/api.h). */
typedef struct wharf_conf_api {
    char *listen; /* "127.0.0.1:9880", "[::1]:9880"; NULL: no API */
} wharf_conf_api_t;

/* `health:` - what GET /health judges. */
typedef struct wharf_conf_health {
    int64_t output_down_after_ms; /* an output down longer is unhealthy, default 60s */
} wharf_conf_health_t;

typedef struct wharf_config {
    char *path;
    char *data_dir;              /* default "./data" */
    int log_format;              /* wharf_log_format (wharf/log.h), default logfmt */
    int audit;                   /* life-cycle events into the pipeline (wharf/audit.h) */
    int64_t shutdown_timeout_ms; /* SIGTERM: outputs get this long to take the rest */
    wharf_conf_host_t host;
    wharf_conf_buffer_t buffer;
    wharf_conf_pipeline_t pipeline;
    wharf_conf_api_t api;
    wharf_conf_health_t health;
    /* pipeline.parsers loaded (paths relative to the config file's
     * directory); NULL when none. Set by wharf_config_load only. */
    struct wharf_parsers *parsers;
    wharf_conf_section_t *inputs;
    size_t n_inputs;
    wharf_conf_section_t *outputs;
    size_t n_outputs;
} wharf_config_t;

/* Errors, each already formatted as "FILE:LINE: message". */
typedef struct wharf_conf_errors {
    char **msgs;
    size_t n;
} wharf_conf_errors_t;

void wharf_conf_error(wharf_conf_errors_t *errs, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void wharf_conf_errors_free(wharf_conf_errors_t *errs);

/* Loads and validates, parser files included. Returns 0 and sets *out, or
 * WHARF_EINVAL_CONFIG with errs filled (and *out NULL); a file that cannot
 * be read is one error. */
int wharf_config_load(const char *path, wharf_config_t **out, wharf_conf_errors_t *errs);
/* Same, from memory; `name` stands for the file name in messages. */
int wharf_config_load_string(const char *name, const char *yaml, size_t len, wharf_config_t **out,
                             wharf_conf_errors_t *errs);
void wharf_config_free(wharf_config_t *cfg);
/* 1 when a and b are the same section: type, id and every option (a
 * reload keeps an unchanged input or output running). */
int wharf_conf_section_equal(const wharf_conf_section_t *a, const wharf_conf_section_t *b);

/* Parsing helpers, exposed for tests and for plugins' own checks. Each
 * returns 0, -EINVAL (malformed) or -ERANGE (out of range). */
int wharf_conf_parse_size(const char *s, uint64_t *out);
int wharf_conf_parse_duration(const char *s, int64_t *out_ms);
int wharf_conf_glob_check(const char *glob, const char **why);

/* The registries of input and output types (src/input/registry.c,
 * src/output/registry.c). NULL when unknown. */
const wharf_plugin_conf_t *wharf_input_conf_find(const char *type);
const wharf_plugin_conf_t *wharf_output_conf_find(const char *type);
/* Comma-separated list of the known types, for error messages. */
const char *wharf_input_type_names(void);
const char *wharf_output_type_names(void);

#endif
