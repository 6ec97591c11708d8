/* cri.c - the `cri` input: Kubernetes pod logs written by containerd/CRI-O.
 *
 * Files: /var/log/pods/<namespace>_<pod>_<uid>/<container>/<restart>.log,
 * lines "<RFC3339Nano> <stdout|stderr> <P|F>[:more tags] <text>", where P
 * marks a part of a line the runtime split and F the last part. The pod and
 * container come from the path; the container id from the kubelet's symlink
 * containers_dir/<pod>_<namespace>_<container>-<id>.log that points at the
 * file. No Kubernetes API is asked anything. */
#include "wharf/cri.h"

#include "wharf/alloc.h"
#include "wharf/container_log.h"
#include "wharf/input.h"
#include "wharf/log.h"
#include "wharf/timefmt.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define CRI_ID_LEN 64

typedef struct cri_opts {
    wharf_strv_t paths;
    char *containers_dir;
    char *runtime;
    int read_from;
    uint64_t max_line_bytes;
    int64_t rotate_wait_ms;
    int64_t rescan_ms;
    wharf_conf_multiline_t multiline;
} cri_opts_t;

static const char *const read_from_choices[] = {"beginning", "end", NULL};

static const wharf_conf_key_t cri_keys[] = {
    {.name = "paths",
     .kind = WHARF_CK_GLOB_LIST,
     .offset = offsetof(cri_opts_t, paths),
     .required = 1},
    {.name = "containers_dir",
     .kind = WHARF_CK_STR,
     .offset = offsetof(cri_opts_t, containers_dir)},
    {.name = "runtime", .kind = WHARF_CK_STR, .offset = offsetof(cri_opts_t, runtime)},
    {.name = "read_from",
     .kind = WHARF_CK_ENUM,
     .offset = offsetof(cri_opts_t, read_from),
     .choices = read_from_choices},
    {.name = "max_line_bytes",
     .kind = WHARF_CK_SIZE,
     .offset = offsetof(cri_opts_t, max_line_bytes)},
    {.name = "rotate_wait",
     .kind = WHARF_CK_DURATION,
     .offset = offsetof(cri_opts_t, rotate_wait_ms)},
    {.name = "rescan_interval",
     .kind = WHARF_CK_DURATION,
     .offset = offsetof(cri_opts_t, rescan_ms)},
    {.name = "multiline",
     .kind = WHARF_CK_OBJECT,
     .offset = offsetof(cri_opts_t, multiline),
     .sub = wharf_multiline_conf_keys,
     .sub_init = wharf_multiline_conf_init},
    {.name = NULL},
};

static void cri_opts_init(void *p)
{
    cri_opts_t *o = p;
    o->containers_dir = wharf_xstrdup("/var/log/containers");
    o->read_from = 1;
    o->max_line_bytes = 1u << 20;
    o->rotate_wait_ms = 5000;
    o->rescan_ms = 1000;
}

typedef struct cri_input {
    wharf_tail_input_t tin; /* first: the shared tail-driven operations */
    const cri_opts_t *opts;
    wharf_container_log_t log;
} cri_input_t;

/* ---- metadata from the path and the symlink ---------------------------- */

/* Splits ".../<ns>_<pod>_<uid>/<container>/<n>.log" into its parts. */
static int cri_path_parts(const char *path, wharf_str_t *ns, wharf_str_t *pod, wharf_str_t *uid,
                          wharf_str_t *container)
{
    const char *end = strrchr(path, '/');
    if (end == NULL || end == path)
        return -1;
    const char *c = memrchr(path, '/', (size_t)(end - path));
    if (c == NULL || c == path)
        return -1;
    const char *pd = memrchr(path, '/', (size_t)(c - path));
    pd = pd ? pd + 1 : path;
    const char *u1 = memchr(pd, '_', (size_t)(c - pd));
    const char *u2 = u1 ? memchr(u1 + 1, '_', (size_t)(c - u1 - 1)) : NULL;
    if (u2 == NULL || u1 == pd || u2 == u1 + 1 || u2 + 1 == c)
        return -1;
    *ns = (wharf_str_t){pd, (size_t)(u1 - pd)};
    *pod = (wharf_str_t){u1 + 1, (size_t)(u2 - u1 - 1)};
    *uid = (wharf_str_t){u2 + 1, (size_t)(c - u2 - 1)};
    *container = (wharf_str_t){c + 1, (size_t)(end - c - 1)};
    return 0;
}

/* Finds the kubelet symlink for this file and returns the container id. */
static char *cri_find_container_id(const char *containers_dir, const char *prefix,
                                   const char *file_path)
{
    DIR *dir = containers_dir ? opendir(containers_dir) : NULL;
    if (dir == NULL)
        return NULL;
    char want[PATH_MAX], got[PATH_MAX], link[PATH_MAX];
    char *id = NULL;
    size_t plen = strlen(prefix);
    if (realpath(file_path, want) == NULL) {
        closedir(dir);
        return NULL;
    }
    struct dirent *de;
    while (id == NULL && (de = readdir(dir)) != NULL) {
        size_t n = strlen(de->d_name);
        if (n != plen + CRI_ID_LEN + 4 || strncmp(de->d_name, prefix, plen) != 0 ||
            strcmp(de->d_name + n - 4, ".log") != 0)
            continue;
        if (snprintf(link, sizeof(link), "%s/%s", containers_dir, de->d_name) >=
                (int)sizeof(link) ||
            realpath(link, got) == NULL || strcmp(got, want) != 0)
            continue;
        id = strndup(de->d_name + plen, CRI_ID_LEN);
    }
    closedir(dir);
    return id;
}

static wharf_container_meta_t *cri_meta_from_path(const cri_input_t *c, const char *path)
{
    wharf_str_t ns, pod, uid, name;
    wharf_container_meta_t *m = calloc(1, sizeof(*m));
    if (m == NULL)
        return NULL;
    m->runtime = c->opts->runtime;
    if (cri_path_parts(path, &ns, &pod, &uid, &name) < 0) {
        wharf_container_finish(m);
        return m;
    }
    m->k8s_namespace = strndup(ns.ptr, ns.len);
    m->k8s_pod = strndup(pod.ptr, pod.len);
    m->k8s_pod_uid = strndup(uid.ptr, uid.len);
    m->name = strndup(name.ptr, name.len);
    char prefix[NAME_MAX + 1];
    if (snprintf(prefix, sizeof(prefix), "%.*s_%.*s_%.*s-", (int)pod.len, pod.ptr, (int)ns.len,
                 ns.ptr, (int)name.len, name.ptr) < (int)sizeof(prefix))
        m->id = cri_find_container_id(c->opts->containers_dir, prefix, path);
    wharf_container_finish(m);
    return m;
}

/* ---- line syntax -------------------------------------------------------- */

static int cri_next_field(const char **p, const char *end, wharf_str_t *out)
{
    const char *sp = memchr(*p, ' ', (size_t)(end - *p));
    if (sp == NULL || sp == *p)
        return -1;
    *out = (wharf_str_t){*p, (size_t)(sp - *p)};
    *p = sp + 1;
    return 0;
}

int cri_line_parse(const char *line, size_t len, wharf_container_record_t *r)
{
    const char *p = line, *end = line + len;
    wharf_str_t ts, stream, tag;
    if (cri_next_field(&p, end, &ts) < 0 || cri_next_field(&p, end, &stream) < 0)
        return WHARF_EPARSE;
    /* The tag is the last field when the text is empty: "... stdout F" */
    const char *sp = memchr(p, ' ', (size_t)(end - p));
    tag = (wharf_str_t){p, (size_t)((sp ? sp : end) - p)};
    p = sp ? sp + 1 : end;
    if (wharf_time_parse(ts.ptr, ts.len, &r->ns) < 0)
        return WHARF_EPARSE;
    if (stream.len == 6 && memcmp(stream.ptr, "stdout", 6) == 0)
        r->stream = WHARF_STREAM_STDOUT;
    else if (stream.len == 6 && memcmp(stream.ptr, "stderr", 6) == 0)
        r->stream = WHARF_STREAM_STDERR;
    else
        return WHARF_EPARSE;
    if (tag.len == 0 || (tag.ptr[0] != 'P' && tag.ptr[0] != 'F') ||
        (tag.len > 1 && tag.ptr[1] != ':'))
        return WHARF_EPARSE;
    r->final = tag.ptr[0] == 'F';
    r->text = p;
    r->len = (size_t)(end - p);
    return 0;
}

/* ---- tail decoder ----------------------------------------------------- */

static int cri_file_open(void *arg, wharf_tail_file_t *f)
{
    cri_input_t *c = arg;
    wharf_container_file_t *cf = calloc(1, sizeof(*cf));
    if (cf == NULL)
        return 1;
    cf->meta = cri_meta_from_path(c, f->path);
    f->user = cf;
    return 0;
}

static void cri_file_line(void *arg, wharf_tail_file_t *f, const char *text, size_t len,
                          uint64_t off, int truncated)
{
    cri_input_t *c = arg;
    wharf_container_file_t *cf = f->user;
    uint32_t trunc = truncated ? 1u << WHARF_TAG_TRUNCATED : 0;
    wharf_container_record_t r = {0};
    if (cri_line_parse(text, len, &r) < 0) {
        wharf_container_log_invalid(&c->log, cf, f, text, len, off,
                                    (1u << WHARF_TAG_INVALID_CRI) | trunc);
        return;
    }
    r.off = off;
    r.tags = trunc;
    wharf_container_log_record(&c->log, cf, f, &r);
}

static uint64_t cri_file_safe_offset(void *arg, wharf_tail_file_t *f)
{
    return wharf_container_log_safe_offset(f->user);
}

static void cri_file_flush(void *arg, wharf_tail_file_t *f)
{
    cri_input_t *c = arg;
    wharf_container_log_flush(&c->log, f->user, f);
}

static void cri_file_expire(void *arg, wharf_tail_file_t *f, int64_t now_ns)
{
    cri_input_t *c = arg;
    wharf_container_log_expire(&c->log, f->user, f, now_ns);
}

static void cri_file_close(void *arg, wharf_tail_file_t *f)
{
    wharf_container_file_t *cf = f->user;
    if (cf == NULL)
        return;
    wharf_container_file_release(cf);
    free(cf);
    f->user = NULL;
}

/* ---- input interface ---------------------------------------------------- */

static void cri_destroy(wharf_input_t *in)
{
    cri_input_t *c = (cri_input_t *)in;
    wharf_tail_free(c->tin.tail);
    wharf_multiline_free(c->log.multiline);
    free(c);
}

static const wharf_input_ops_t cri_ops = {
    wharf_tail_input_start,
    wharf_tail_input_read_all,
    wharf_tail_input_stop,
    wharf_tail_input_positions,
    cri_destroy,
    wharf_tail_input_stats,
};

static int cri_create(const wharf_input_env_t *env, const wharf_conf_section_t *sec,
                      wharf_input_t **out)
{
    const cri_opts_t *o = sec->opts;
    cri_input_t *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return -ENOMEM;
    c->tin.base.ops = &cri_ops;
    c->tin.base.id = sec->id;
    c->opts = o;
    c->log = (wharf_container_log_t){env->pipeline, "\"kubernetes.container_logs\"",
                                     o->max_line_bytes, &c->tin.counted, NULL};
    if (wharf_multiline_new(&o->multiline, &c->log.multiline) < 0) {
        free(c);
        return -ENOMEM;
    }
    wharf_tail_opts_t topts = {
        sec->id,           &o->paths,    o->read_from == 1,       o->max_line_bytes,
        o->rotate_wait_ms, o->rescan_ms, env->max_hold_deleted_ms};
    wharf_tail_decoder_t dec = {c,
                                cri_file_open,
                                cri_file_line,
                                cri_file_safe_offset,
                                cri_file_flush,
                                cri_file_close,
                                cri_file_expire};
    int rc = wharf_tail_new(env->loop, env->pipeline, env->positions, &topts, &dec, &c->tin.tail);
    if (rc < 0) {
        wharf_multiline_free(c->log.multiline);
        free(c);
        return rc;
    }
    *out = &c->tin.base;
    return 0;
}

const wharf_input_type_t wharf_input_cri = {
    {"cri", cri_keys, sizeof(cri_opts_t), cri_opts_init, NULL},
    cri_create,
};
