/* docker.c - the `docker` input: Docker's json-file logging driver.
 *
 * Files: ROOT/<id>/<id>-json.log, one JSON object per line:
 *   {"log":"text\n","stream":"stdout","time":"2024-01-01T00:00:00.123456789Z",
 *    "attrs":{"k":"v"}}
 * A `log` without its trailing "\n" is a part of a line dockerd split at
 * 16 KiB; the next record of the same stream continues it.
 *
 * Lines are decoded with one long-lived yajl handle that accepts a sequence
 * of values (yajl_allow_multiple_values), so the hot path allocates nothing;
 * the handle is replaced only after a malformed line. */
#include "wharf/docker.h"

#include "wharf/alloc.h"
#include "wharf/container_log.h"
#include "wharf/input.h"
#include "wharf/log.h"
#include "wharf/timefmt.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DOCKER_META_RECHECK_NS INT64_C(2000000000)

typedef struct docker_opts {
    char *root;
    int read_from; /* 0 beginning, 1 end */
    wharf_strv_t exclude_names;
    uint64_t max_line_bytes;
    int labels_dedot;
    int64_t rotate_wait_ms;
    int64_t rescan_ms;
    wharf_conf_multiline_t multiline;
} docker_opts_t;

static const char *const read_from_choices[] = {"beginning", "end", NULL};

static const wharf_conf_key_t docker_keys[] = {
    {.name = "root", .kind = WHARF_CK_STR, .offset = offsetof(docker_opts_t, root)},
    {.name = "read_from",
     .kind = WHARF_CK_ENUM,
     .offset = offsetof(docker_opts_t, read_from),
     .choices = read_from_choices},
    {.name = "exclude_names",
     .kind = WHARF_CK_STR_LIST,
     .offset = offsetof(docker_opts_t, exclude_names)},
    {.name = "max_line_bytes",
     .kind = WHARF_CK_SIZE,
     .offset = offsetof(docker_opts_t, max_line_bytes)},
    {.name = "labels_dedot",
     .kind = WHARF_CK_BOOL,
     .offset = offsetof(docker_opts_t, labels_dedot)},
    {.name = "rotate_wait",
     .kind = WHARF_CK_DURATION,
     .offset = offsetof(docker_opts_t, rotate_wait_ms)},
    {.name = "rescan_interval",
     .kind = WHARF_CK_DURATION,
     .offset = offsetof(docker_opts_t, rescan_ms)},
    {.name = "multiline",
     .kind = WHARF_CK_OBJECT,
     .offset = offsetof(docker_opts_t, multiline),
     .sub = wharf_multiline_conf_keys,
     .sub_init = wharf_multiline_conf_init},
    {.name = NULL},
};

static void docker_opts_init(void *p)
{
    docker_opts_t *o = p;
    o->root = wharf_xstrdup("/var/lib/docker/containers");
    o->read_from = 1;
    o->max_line_bytes = 1u << 20;
    o->labels_dedot = 1;
    o->rotate_wait_ms = 5000;
    o->rescan_ms = 1000;
}

typedef struct docker_input {
    wharf_tail_input_t tin; /* first: the shared tail-driven operations */
    const docker_opts_t *opts;
    wharf_strv_t globs;
    char *glob;
    wharf_container_log_t log;
    docker_line_decoder_t decoder;
} docker_input_t;

typedef struct docker_file {
    wharf_container_file_t c;
    char *dir;
    int64_t meta_checked_ns;
} docker_file_t;

/* ---- tail decoder ----------------------------------------------------- */

static char *docker_dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? strndup(path, (size_t)(slash - path)) : strdup(".");
}

static int docker_excluded(const docker_input_t *d, const wharf_container_meta_t *m)
{
    return m != NULL && wharf_strv_glob_any(&d->opts->exclude_names, m->name);
}

static void docker_meta_refresh(docker_input_t *d, docker_file_t *df, int64_t now)
{
    df->meta_checked_ns = now;
    if (df->c.meta != NULL && !docker_meta_changed(df->c.meta, df->dir))
        return;
    wharf_container_meta_t *m = NULL;
    int rc = docker_meta_load(df->dir, d->opts->labels_dedot, &m);
    if (rc < 0) {
        if (df->c.meta == NULL)
            wharf_log_warn("no container metadata (config.v2.json unreadable); events carry "
                           "only what the log file says",
                           "input=%s dir=%s error=\"%s\"", d->tin.base.id, df->dir,
                           wharf_strerror(rc));
        return;
    }
    wharf_container_file_set_meta(&df->c, m);
}

static int docker_file_open(void *arg, wharf_tail_file_t *f)
{
    docker_input_t *d = arg;
    docker_file_t *df = calloc(1, sizeof(*df));
    if (df == NULL || (df->dir = docker_dir_of(f->path)) == NULL) {
        free(df);
        return 1;
    }
    docker_meta_refresh(d, df, wharf_pipeline_pass_ns(d->log.pipeline));
    f->user = df;
    if (docker_excluded(d, df->c.meta)) {
        wharf_log_info("container excluded by exclude_names", "input=%s name=%s", d->tin.base.id,
                       df->c.meta->name);
        wharf_container_file_release(&df->c);
        free(df->dir);
        free(df);
        f->user = NULL;
        return 1;
    }
    return 0;
}

static void docker_file_line(void *arg, wharf_tail_file_t *f, const char *text, size_t len,
                             uint64_t off, int truncated)
{
    docker_input_t *d = arg;
    docker_file_t *df = f->user;
    int64_t now = wharf_pipeline_pass_ns(d->log.pipeline);
    if (now - df->meta_checked_ns > DOCKER_META_RECHECK_NS)
        docker_meta_refresh(d, df, now);
    uint32_t trunc = truncated ? 1u << WHARF_TAG_TRUNCATED : 0;
    if (docker_line_decode(&d->decoder, text, len) < 0) {
        wharf_container_log_invalid(&d->log, &df->c, f, text, len, off,
                                    (1u << WHARF_TAG_INVALID_JSON) | trunc);
        return;
    }
    const docker_line_t *l = &d->decoder.line;
    int final = l->log_len > 0 && l->log[l->log_len - 1] == '\n';
    wharf_container_record_t r = {l->log,     final ? l->log_len - 1 : l->log_len,
                                  l->ns,      l->stream,
                                  off,        final,
                                  trunc,      l->attrs,
                                  l->n_attrs, 0};
    wharf_container_log_record(&d->log, &df->c, f, &r);
}

static uint64_t docker_file_safe_offset(void *arg, wharf_tail_file_t *f)
{
    docker_file_t *df = f->user;
    return wharf_container_log_safe_offset(&df->c);
}

static void docker_file_flush(void *arg, wharf_tail_file_t *f)
{
    docker_input_t *d = arg;
    docker_file_t *df = f->user;
    wharf_container_log_flush(&d->log, &df->c, f);
}

static void docker_file_expire(void *arg, wharf_tail_file_t *f, int64_t now_ns)
{
    docker_input_t *d = arg;
    docker_file_t *df = f->user;
    wharf_container_log_expire(&d->log, &df->c, f, now_ns);
}

static void docker_file_close(void *arg, wharf_tail_file_t *f)
{
    docker_file_t *df = f->user;
    if (df == NULL)
        return;
    wharf_container_file_release(&df->c);
    free(df->dir);
    free(df);
    f->user = NULL;
}

/* ---- input interface ---------------------------------------------------- */

static void docker_destroy(wharf_input_t *in)
{
    docker_input_t *d = (docker_input_t *)in;
    wharf_tail_free(d->tin.tail);
    docker_line_decoder_free(&d->decoder);
    wharf_multiline_free(d->log.multiline);
    free(d->glob);
    free(d);
}

static const wharf_input_ops_t docker_ops = {
    wharf_tail_input_start, wharf_tail_input_read_all,
    wharf_tail_input_stop,  wharf_tail_input_positions,
    docker_destroy,         wharf_tail_input_stats,
};

static int docker_create(const wharf_input_env_t *env, const wharf_conf_section_t *sec,
                         wharf_input_t **out)
{
    const docker_opts_t *o = sec->opts;
    docker_input_t *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return -ENOMEM;
    d->tin.base.ops = &docker_ops;
    d->tin.base.id = sec->id;
    d->opts = o;
    d->log = (wharf_container_log_t){env->pipeline, "\"docker.container_logs\"", o->max_line_bytes,
                                     &d->tin.counted, NULL};
    docker_line_decoder_init(&d->decoder);
    size_t n = strlen(o->root) + 32;
    d->glob = malloc(n);
    if (d->glob == NULL || wharf_multiline_new(&o->multiline, &d->log.multiline) < 0) {
        docker_line_decoder_free(&d->decoder);
        free(d->glob);
        free(d);
        return -ENOMEM;
    }
    snprintf(d->glob, n, "%s/*/*-json.log", o->root);
    d->globs = (wharf_strv_t){&d->glob, 1};
    wharf_tail_opts_t topts = {
        sec->id,           &d->globs,    o->read_from == 1,       o->max_line_bytes,
        o->rotate_wait_ms, o->rescan_ms, env->max_hold_deleted_ms};
    wharf_tail_decoder_t dec = {d,
                                docker_file_open,
                                docker_file_line,
                                docker_file_safe_offset,
                                docker_file_flush,
                                docker_file_close,
                                docker_file_expire};
    int rc = wharf_tail_new(env->loop, env->pipeline, env->positions, &topts, &dec, &d->tin.tail);
    if (rc < 0) {
        docker_line_decoder_free(&d->decoder);
        wharf_multiline_free(d->log.multiline);
        free(d->glob);
        free(d);
        return rc;
    }
    *out = &d->tin.base;
    return 0;
}

const wharf_input_type_t wharf_input_docker = {
    {"docker", docker_keys, sizeof(docker_opts_t), docker_opts_init, NULL},
    docker_create,
};
