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
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>

#include "wharf/container_log.h"
#include "wharf/input.h"
#include "wharf/log.h"
#include "wharf/timefmt.h"

#define DOCKER_MAX_ATTRS 64
#define DOCKER_META_RECHECK_NS INT64_C(2000000000)

typedef struct docker_opts {
    char *root;
    int read_from; /* 0 beginning, 1 end */
    wharf_strv_t exclude_names;
    uint64_t max_line_bytes;
    int labels_dedot;
    int64_t rotate_wait_ms;
    int64_t rescan_ms;
} docker_opts_t;

static const char *const read_from_choices[] = {"beginning", "end", NULL};

static const wharf_conf_key_t docker_keys[] = {
    {"root", WHARF_CK_STR, offsetof(docker_opts_t, root), 0, NULL, NULL, NULL},
    {"read_from", WHARF_CK_ENUM, offsetof(docker_opts_t, read_from), 0, read_from_choices, NULL,
     NULL},
    {"exclude_names", WHARF_CK_STR_LIST, offsetof(docker_opts_t, exclude_names), 0, NULL, NULL,
     NULL},
    {"max_line_bytes", WHARF_CK_SIZE, offsetof(docker_opts_t, max_line_bytes), 0, NULL, NULL, NULL},
    {"labels_dedot", WHARF_CK_BOOL, offsetof(docker_opts_t, labels_dedot), 0, NULL, NULL, NULL},
    {"rotate_wait", WHARF_CK_DURATION, offsetof(docker_opts_t, rotate_wait_ms), 0, NULL, NULL,
     NULL},
    {"rescan_interval", WHARF_CK_DURATION, offsetof(docker_opts_t, rescan_ms), 0, NULL, NULL,
     NULL},
    {NULL, 0, 0, 0, NULL, NULL, NULL},
};

static void docker_opts_init(void *p)
{
    docker_opts_t *o = p;
    o->root = strdup("/var/lib/docker/containers");
    o->read_from = 1;
    o->max_line_bytes = 1u << 20;
    o->labels_dedot = 1;
    o->rotate_wait_ms = 5000;
    o->rescan_ms = 1000;
}

/* What the yajl callbacks collect from one line. */
typedef struct docker_line {
    wharf_arena_t *arena;
    int depth;
    int done;
    int bad;
    enum { K_OTHER, K_LOG, K_STREAM, K_TIME, K_ATTRS } key;
    int in_attrs;
    const char *log;
    size_t log_len;
    wharf_stream stream;
    int64_t ns;
    char *attr_key;
    wharf_label_t attrs[DOCKER_MAX_ATTRS];
    size_t n_attrs;
} docker_line_t;

typedef struct docker_input {
    wharf_input_t base;
    const docker_opts_t *opts;
    wharf_strv_t globs;
    char *glob;
    wharf_tail_t *tail;
    wharf_container_log_t log;
    yajl_handle yajl;
    docker_line_t line;
    wharf_arena_t arena;
} docker_input_t;

typedef struct docker_file {
    wharf_container_file_t c;
    char *dir;
    int64_t meta_checked_ns;
} docker_file_t;

/* ---- yajl callbacks ----------------------------------------------------- */

static int dl_scalar(void *ctx)
{
    docker_line_t *l = ctx;
    if (l->depth == 0)
        l->bad = 1; /* a line that is a bare number/string/null: not a record */
    return !l->bad;
}

static int dl_bool(void *ctx, int v)
{
    return dl_scalar(ctx);
}

static int dl_number(void *ctx, const char *s, size_t n)
{
    return dl_scalar(ctx);
}

static int dl_string(void *ctx, const unsigned char *s, size_t n)
{
    docker_line_t *l = ctx;
    const char *str = (const char *)s;
    if (l->depth == 0)
        l->bad = 1;
    else if (l->depth == 1 && l->key == K_LOG) {
        l->log = wharf_arena_strndup(l->arena, str, n);
        l->log_len = n;
        if (l->log == NULL)
            return 0;
    } else if (l->depth == 1 && l->key == K_STREAM) {
        l->stream = n == 6 && memcmp(str, "stderr", 6) == 0   ? WHARF_STREAM_STDERR
                    : n == 6 && memcmp(str, "stdout", 6) == 0 ? WHARF_STREAM_STDOUT
                                                              : WHARF_STREAM_NONE;
    } else if (l->depth == 1 && l->key == K_TIME) {
        if (wharf_time_parse(str, n, &l->ns) < 0)
            l->ns = 0;
    } else if (l->depth == 2 && l->in_attrs && l->attr_key && l->n_attrs < DOCKER_MAX_ATTRS) {
        char *v = wharf_arena_strndup(l->arena, str, n);
        if (v == NULL)
            return 0;
        l->attrs[l->n_attrs++] = (wharf_label_t){l->attr_key, v};
    }
    return !l->bad;
}

static int dl_map_key(void *ctx, const unsigned char *s, size_t n)
{
    docker_line_t *l = ctx;
    const char *k = (const char *)s;
    if (l->depth == 1) {
        l->key = n == 3 && memcmp(k, "log", 3) == 0      ? K_LOG
                 : n == 6 && memcmp(k, "stream", 6) == 0 ? K_STREAM
                 : n == 4 && memcmp(k, "time", 4) == 0   ? K_TIME
                 : n == 5 && memcmp(k, "attrs", 5) == 0  ? K_ATTRS
                                                         : K_OTHER;
    } else if (l->depth == 2 && l->in_attrs) {
        l->attr_key = wharf_arena_strndup(l->arena, k, n);
        if (l->attr_key == NULL)
            return 0;
    }
    return 1;
}

static int dl_start_map(void *ctx)
{
    docker_line_t *l = ctx;
    if (l->depth == 0 && l->done)
        l->bad = 1; /* a second value on the same line */
    l->in_attrs = l->depth == 1 && l->key == K_ATTRS;
    l->depth++;
    return !l->bad;
}

static int dl_end_map(void *ctx)
{
    docker_line_t *l = ctx;
    l->depth--;
    if (l->depth == 1)
        l->in_attrs = 0;
    if (l->depth == 0)
        l->done = 1;
    return 1;
}

static int dl_start_array(void *ctx)
{
    docker_line_t *l = ctx;
    if (l->depth == 0)
        l->bad = 1;
    l->depth++;
    return !l->bad;
}

static int dl_end_array(void *ctx)
{
    docker_line_t *l = ctx;
    l->depth--;
    return 1;
}

static const yajl_callbacks docker_line_callbacks = {
    dl_scalar, dl_bool,   NULL,         NULL,           dl_number,    dl_string,
    dl_start_map, dl_map_key, dl_end_map, dl_start_array, dl_end_array,
};

static yajl_handle docker_yajl_new(docker_input_t *d)
{
    yajl_handle h = yajl_alloc(&docker_line_callbacks, NULL, &d->line);
    if (h != NULL) {
        yajl_config(h, yajl_allow_multiple_values, 1);
        yajl_config(h, yajl_dont_validate_strings, 1);
    }
    return h;
}

/* Decodes one line into d->line. Returns 0 when it is a JSON object. */
static int docker_decode(docker_input_t *d, const char *text, size_t len)
{
    docker_line_t *l = &d->line;
    wharf_arena_reset(&d->arena);
    memset(l, 0, sizeof(*l));
    l->arena = &d->arena;
    l->stream = WHARF_STREAM_NONE;
    if (d->yajl == NULL && (d->yajl = docker_yajl_new(d)) == NULL)
        return -ENOMEM;
    yajl_status st = yajl_parse(d->yajl, (const unsigned char *)text, len);
    if (st == yajl_status_ok && l->done && !l->bad && l->depth == 0)
        return 0;
    yajl_free(d->yajl);
    d->yajl = NULL;
    return WHARF_EPARSE;
}

/* ---- tail decoder ----------------------------------------------------- */

static char *docker_dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? strndup(path, (size_t)(slash - path)) : strdup(".");
}

static int docker_excluded(const docker_input_t *d, const wharf_container_meta_t *m)
{
    for (size_t i = 0; m != NULL && m->name != NULL && i < d->opts->exclude_names.n; i++)
        if (fnmatch(d->opts->exclude_names.v[i], m->name, 0) == 0)
            return 1;
    return 0;
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
                           "input=%s dir=%s error=\"%s\"", d->base.id, df->dir,
                           wharf_strerror(rc));
        return;
    }
    wharf_container_meta_free(df->c.meta);
    df->c.meta = m;
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
        wharf_log_info("container excluded by exclude_names", "input=%s name=%s", d->base.id,
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
    if (docker_decode(d, text, len) < 0 || d->line.log == NULL) {
        wharf_container_log_invalid(&d->log, &df->c, f, text, len, off,
                                    (1u << WHARF_TAG_INVALID_JSON) | trunc);
        return;
    }
    const docker_line_t *l = &d->line;
    int final = l->log_len > 0 && l->log[l->log_len - 1] == '\n';
    wharf_container_record_t r = {l->log,   final ? l->log_len - 1 : l->log_len,
                                  l->ns,    l->stream,
                                  off,      final,
                                  trunc,    l->attrs,
                                  l->n_attrs};
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

static int docker_start(wharf_input_t *in)
{
    return wharf_tail_start(((docker_input_t *)in)->tail);
}

static int docker_read_all(wharf_input_t *in)
{
    return wharf_tail_read_all(((docker_input_t *)in)->tail);
}

static void docker_stop(wharf_input_t *in)
{
    wharf_tail_stop(((docker_input_t *)in)->tail);
}

static int docker_positions(wharf_input_t *in, wharf_positions_t *out)
{
    return wharf_tail_positions(((docker_input_t *)in)->tail, out);
}

static void docker_destroy(wharf_input_t *in)
{
    docker_input_t *d = (docker_input_t *)in;
    wharf_tail_free(d->tail);
    if (d->yajl)
        yajl_free(d->yajl);
    wharf_arena_free(&d->arena);
    free(d->glob);
    free(d);
}

static const wharf_input_ops_t docker_ops = {
    docker_start, docker_read_all, docker_stop, docker_positions, docker_destroy,
};

static int docker_create(const wharf_input_env_t *env, const wharf_conf_section_t *sec,
                         wharf_input_t **out)
{
    const docker_opts_t *o = sec->opts;
    docker_input_t *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return -ENOMEM;
    d->base.ops = &docker_ops;
    d->base.id = sec->id;
    d->opts = o;
    d->log = (wharf_container_log_t){env->pipeline, "docker.container_logs", o->max_line_bytes};
    wharf_arena_init(&d->arena, 64 * 1024);
    size_t n = strlen(o->root) + 32;
    d->glob = malloc(n);
    if (d->glob == NULL) {
        free(d);
        return -ENOMEM;
    }
    snprintf(d->glob, n, "%s/*/*-json.log", o->root);
    d->globs = (wharf_strv_t){&d->glob, 1};
    wharf_tail_opts_t topts = {sec->id,         &d->globs,        o->read_from == 1,
                               o->max_line_bytes, o->rotate_wait_ms, o->rescan_ms};
    wharf_tail_decoder_t dec = {d,
                                docker_file_open,
                                docker_file_line,
                                docker_file_safe_offset,
                                docker_file_flush,
                                docker_file_close};
    int rc = wharf_tail_new(env->loop, env->pipeline, env->positions, &topts, &dec, &d->tail);
    if (rc < 0) {
        free(d->glob);
        free(d);
        return rc;
    }
    *out = &d->base;
    return 0;
}

const wharf_input_type_t wharf_input_docker = {
    {"docker", docker_keys, sizeof(docker_opts_t), docker_opts_init},
    docker_create,
};
