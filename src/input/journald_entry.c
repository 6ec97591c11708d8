/* journald_entry.c - journal entries to ECS events (see wharf/journald.h).
 *
 * Per entry this only stores slices and numbers into the event; container
 * metadata is built once per container and kept in a small hash table keyed
 * by container id, which also holds the joiners of split messages (one per
 * stream: Docker's journald driver writes stdout at priority 6 and stderr
 * at 3, and the parts of one stream arrive in order). */
#include "wharf/container.h"
#include "wharf/journald.h"
#include "wharf/log.h"
#include "wharf/partial.h"
#include "wharf/positions.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAPPER_BUCKETS         256
#define MAPPER_MAX_CONTAINERS  4096
#define MAPPER_META_RECHECK_NS INT64_C(2000000000)
#define DOCKER_ID_LEN          64

/* ---- field names -------------------------------------------------------- */

static const wharf_str_t journald_field_names[JOURNALD_F__COUNT] = {
#define JOURNALD_FIELD_NAME(id, name) {name, sizeof(name) - 1},
    JOURNALD_FIELDS(JOURNALD_FIELD_NAME)
#undef JOURNALD_FIELD_NAME
};

const char *journald_field_name(journald_field f)
{
    return journald_field_names[f].ptr;
}

static int field_is(const char *name, journald_field f)
{
    return memcmp(name, journald_field_names[f].ptr, journald_field_names[f].len) == 0;
}

int journald_field_lookup(const char *name, size_t len)
{
    /* Called for every field of every entry (25-30 of them, mostly not
     * mapped): the length picks at most three candidates, stored as field
     * + 1 so that the table's zeros mean "none". */
#define C(f) (JOURNALD_F_##f + 1)
    static const unsigned char by_len[][3] = {
        [4] = {C(PID), C(UID), C(EXE)},
        [5] = {C(COMM)},
        [7] = {C(MESSAGE)},
        [8] = {C(PRIORITY), C(BOOT_ID), C(CMDLINE)},
        [9] = {C(HOSTNAME)},
        [10] = {C(SYSLOG_PID), C(TRANSPORT), C(IMAGE_NAME)},
        [12] = {C(CONTAINER_ID)},
        [13] = {C(SYSTEMD_UNIT), C(CONTAINER_TAG)},
        [14] = {C(CONTAINER_NAME)},
        [15] = {C(SYSLOG_FACILITY)},
        [17] = {C(SYSLOG_IDENTIFIER), C(CONTAINER_ID_FULL)},
        [25] = {C(CONTAINER_PARTIAL_MESSAGE)},
    };
#undef C
    if (len >= sizeof(by_len) / sizeof(by_len[0]))
        return -1;
    for (int i = 0; i < 3 && by_len[len][i] != 0; i++) {
        journald_field f = (journald_field)(by_len[len][i] - 1);
        if (journald_field_names[f].len == len && field_is(name, f))
            return (int)f;
    }
    return -1;
}

const char *journald_severity_name(int code)
{
    static const char *const names[] = {"Emergency", "Alert",  "Critical",      "Error",
                                        "Warning",   "Notice", "Informational", "Debug"};
    return code >= 0 && code < 8 ? names[code] : NULL;
}

const char *journald_level_name(int code)
{
    static const char *const names[] = {"emergency", "alert",  "critical", "error",
                                        "warning",   "notice", "info",     "debug"};
    return code >= 0 && code < 8 ? names[code] : NULL;
}

const char *journald_facility_name(int code)
{
    static const char *const names[] = {
        "kern",   "user",   "mail",     "daemon", "auth",   "syslog", "lpr",    "news",
        "uucp",   "cron",   "authpriv", "ftp",    "ntp",    "audit",  "alert",  "clock",
        "local0", "local1", "local2",   "local3", "local4", "local5", "local6", "local7"};
    return code >= 0 && code < 24 ? names[code] : NULL;
}

/* ---- containers ----------------------------------------------------------- */

typedef struct mapper_container {
    struct mapper_container *next;
    char *id;
    wharf_container_meta_t *meta;
    int from_docker;
    int64_t checked_ns;
    wharf_partial_t part[2];  /* by stream: stdout, stderr */
    int64_t part_since_ns[2]; /* when the first part was read */
} mapper_container_t;

struct journald_mapper {
    wharf_pipeline_t *pipeline;
    char *docker_root;
    uint64_t max_line_bytes;
    mapper_container_t *buckets[MAPPER_BUCKETS];
    size_t n_containers;
    size_t joining;
    uint64_t events; /* emitted */
};

static void mapper_container_free(journald_mapper_t *m, mapper_container_t *c)
{
    for (int s = 0; s < 2; s++) {
        if (c->part[s].active)
            m->joining--;
        wharf_partial_free(&c->part[s]);
    }
    wharf_container_meta_free(c->meta);
    free(c->id);
    free(c);
}

static int docker_id_valid(const wharf_str_t *id)
{
    if (id->len != DOCKER_ID_LEN)
        return 0;
    for (size_t i = 0; i < id->len; i++)
        if (!((id->ptr[i] >= '0' && id->ptr[i] <= '9') || (id->ptr[i] >= 'a' && id->ptr[i] <= 'f')))
            return 0;
    return 1;
}

static wharf_container_meta_t *mapper_meta_from_entry(const journald_entry_t *e, const char *id)
{
    wharf_container_meta_t *meta = calloc(1, sizeof(*meta));
    if (meta == NULL)
        return NULL;
    const wharf_str_t *name = &e->f[JOURNALD_F_CONTAINER_NAME];
    const wharf_str_t *image = &e->f[JOURNALD_F_IMAGE_NAME];
    meta->runtime = "docker";
    meta->id = strdup(id);
    if (name->ptr != NULL)
        meta->name = strndup(name->ptr, name->len);
    char *ref = image->ptr != NULL ? strndup(image->ptr, image->len) : NULL;
    int rc = meta->id == NULL || (name->ptr != NULL && meta->name == NULL) ||
                     (image->ptr != NULL && ref == NULL)
                 ? -ENOMEM
                 : 0;
    if (rc == 0 && ref != NULL)
        rc = wharf_container_set_image(meta, ref, NULL);
    if (rc == 0)
        rc = wharf_container_finish(meta);
    free(ref);
    if (rc < 0) {
        wharf_container_meta_free(meta);
        return NULL;
    }
    return meta;
}

/* Docker's own files when they are readable (labels, security posture),
 * else what the entry says. */
static void mapper_meta_refresh(journald_mapper_t *m, mapper_container_t *c,
                                const journald_entry_t *e, int64_t now)
{
    c->checked_ns = now;
    char dir[PATH_MAX];
    int can_load = m->docker_root != NULL && strlen(c->id) == DOCKER_ID_LEN &&
                   snprintf(dir, sizeof(dir), "%s/%s", m->docker_root, c->id) < (int)sizeof(dir);
    if (can_load && c->from_docker && !docker_meta_changed(c->meta, dir))
        return;
    wharf_container_meta_t *meta = NULL;
    if (can_load && docker_meta_load(dir, 1, &meta) == 0) {
        wharf_container_meta_free(c->meta);
        c->meta = meta;
        c->from_docker = 1;
        return;
    }
    if (c->meta != NULL)
        return;
    c->meta = mapper_meta_from_entry(e, c->id);
}

static void mapper_evict_idle(journald_mapper_t *m)
{
    for (int b = 0; b < MAPPER_BUCKETS; b++) {
        mapper_container_t **pp = &m->buckets[b];
        while (*pp != NULL) {
            mapper_container_t *c = *pp;
            if (c->part[0].active || c->part[1].active) {
                pp = &c->next;
                continue;
            }
            *pp = c->next;
            mapper_container_free(m, c);
            m->n_containers--;
        }
    }
}

static mapper_container_t *mapper_container(journald_mapper_t *m, const journald_entry_t *e)
{
    const wharf_str_t *id = e->f[JOURNALD_F_CONTAINER_ID_FULL].ptr != NULL
                                ? &e->f[JOURNALD_F_CONTAINER_ID_FULL]
                                : &e->f[JOURNALD_F_CONTAINER_ID];
    if (id->ptr == NULL || id->len == 0)
        return NULL;
    size_t b = (size_t)(wharf_fingerprint(id->ptr, id->len) % MAPPER_BUCKETS);
    mapper_container_t *c = m->buckets[b];
    while (c != NULL && !(strlen(c->id) == id->len && memcmp(c->id, id->ptr, id->len) == 0))
        c = c->next;
    int64_t now = wharf_pipeline_pass_ns(m->pipeline);
    if (c == NULL) {
        if (m->n_containers >= MAPPER_MAX_CONTAINERS)
            mapper_evict_idle(m);
        if ((c = calloc(1, sizeof(*c))) == NULL || (c->id = strndup(id->ptr, id->len)) == NULL) {
            free(c);
            return NULL;
        }
        if (!docker_id_valid(id))
            c->checked_ns = INT64_MAX; /* not a path component to look up */
        c->next = m->buckets[b];
        m->buckets[b] = c;
        m->n_containers++;
        mapper_meta_refresh(m, c, e, now);
    } else if (c->checked_ns != INT64_MAX && now - c->checked_ns > MAPPER_META_RECHECK_NS) {
        mapper_meta_refresh(m, c, e, now);
    }
    return c;
}

/* ---- events --------------------------------------------------------------- */

static int mapper_parse_int(const wharf_str_t *s, int64_t max, int64_t *out)
{
    if (s->ptr == NULL || s->len == 0 || s->len > 19)
        return -1;
    int64_t v = 0;
    for (size_t i = 0; i < s->len; i++) {
        if (s->ptr[i] < '0' || s->ptr[i] > '9')
            return -1;
        v = v * 10 + (s->ptr[i] - '0');
    }
    if (v > max)
        return -1;
    *out = v;
    return 0;
}

static void mapper_set(wharf_event_t *ev, wharf_field_id f, const wharf_str_t *s)
{
    if (s->ptr != NULL)
        wharf_event_set_str(ev, f, s->ptr, s->len);
}

static void mapper_set_syslog(wharf_event_t *ev, const journald_entry_t *e)
{
    int64_t v;
    if (mapper_parse_int(&e->f[JOURNALD_F_PRIORITY], 7, &v) == 0) {
        wharf_event_set_long(ev, WHARF_F_LOG_SYSLOG_SEVERITY_CODE, v);
        wharf_event_set_cstr(ev, WHARF_F_LOG_SYSLOG_SEVERITY_NAME, journald_severity_name((int)v));
        wharf_event_set_cstr(ev, WHARF_F_LOG_LEVEL, journald_level_name((int)v));
    }
    if (mapper_parse_int(&e->f[JOURNALD_F_SYSLOG_FACILITY], 23, &v) == 0) {
        wharf_event_set_long(ev, WHARF_F_LOG_SYSLOG_FACILITY_CODE, v);
        wharf_event_set_cstr(ev, WHARF_F_LOG_SYSLOG_FACILITY_NAME, journald_facility_name((int)v));
    }
}

static void mapper_set_process(wharf_event_t *ev, const journald_entry_t *e)
{
    const wharf_str_t *name = e->f[JOURNALD_F_SYSLOG_IDENTIFIER].ptr != NULL
                                  ? &e->f[JOURNALD_F_SYSLOG_IDENTIFIER]
                                  : &e->f[JOURNALD_F_COMM];
    mapper_set(ev, WHARF_F_PROCESS_NAME, name);
    int64_t pid;
    if (mapper_parse_int(&e->f[JOURNALD_F_PID], INT32_MAX, &pid) == 0 ||
        mapper_parse_int(&e->f[JOURNALD_F_SYSLOG_PID], INT32_MAX, &pid) == 0)
        wharf_event_set_long(ev, WHARF_F_PROCESS_PID, pid);
    mapper_set(ev, WHARF_F_PROCESS_EXECUTABLE, &e->f[JOURNALD_F_EXE]);
    mapper_set(ev, WHARF_F_PROCESS_COMMAND_LINE, &e->f[JOURNALD_F_CMDLINE]);
}

static int mapper_emit(journald_mapper_t *m, const journald_entry_t *e, const mapper_container_t *c,
                       const char *msg, size_t msg_len, int64_t ns, uint32_t tags)
{
    wharf_event_t *ev = wharf_pipeline_event(m->pipeline);
    if (msg != NULL)
        wharf_event_set_str(ev, WHARF_F_MESSAGE, msg, msg_len);
    wharf_event_set_time(ev, WHARF_F_TIMESTAMP, ns);
    mapper_set_syslog(ev, e);
    mapper_set_process(ev, e);
    mapper_set(ev, WHARF_F_USER_ID, &e->f[JOURNALD_F_UID]);
    mapper_set(ev, WHARF_F_SYSTEMD_UNIT, &e->f[JOURNALD_F_SYSTEMD_UNIT]);
    mapper_set(ev, WHARF_F_HOST_HOSTNAME, &e->f[JOURNALD_F_HOSTNAME]);
    mapper_set(ev, WHARF_F_HOST_BOOT_ID, &e->f[JOURNALD_F_BOOT_ID]);
    mapper_set(ev, WHARF_F_JOURNALD_TRANSPORT, &e->f[JOURNALD_F_TRANSPORT]);
    mapper_set(ev, WHARF_F_JOURNALD_CONTAINER_TAG, &e->f[JOURNALD_F_CONTAINER_TAG]);
    wharf_event_set_raw(ev, WHARF_F_EVENT_DATASET, "\"journald\"", 10);
    if (c != NULL && c->meta != NULL)
        wharf_container_enrich(ev, c->meta);
    if (e->truncated)
        tags |= WHARF_TAG_BIT(WHARF_TAG_TRUNCATED);
    for (int t = 0; t < WHARF_TAG__COUNT; t++)
        if (tags & WHARF_TAG_BIT(t))
            wharf_event_tag(ev, (wharf_tag)t);
    int rc = wharf_pipeline_emit(m->pipeline, ev);
    if (rc == 0)
        m->events++;
    return rc;
}

static int mapper_is_partial(const journald_entry_t *e)
{
    const wharf_str_t *p = &e->f[JOURNALD_F_CONTAINER_PARTIAL_MESSAGE];
    return p->ptr != NULL && p->len == 4 && memcmp(p->ptr, "true", 4) == 0;
}

int journald_mapper_entry(journald_mapper_t *m, const journald_entry_t *e)
{
    const wharf_str_t *msg = &e->f[JOURNALD_F_MESSAGE];
    int64_t ns = e->realtime_us * 1000;
    mapper_container_t *c = mapper_container(m, e);
    if (c == NULL)
        return mapper_emit(m, e, NULL, msg->ptr, msg->len, ns, 0);
    const wharf_str_t *prio = &e->f[JOURNALD_F_PRIORITY];
    wharf_partial_t *p = &c->part[prio->len == 1 && prio->ptr[0] == '3' ? 1 : 0];
    int partial = mapper_is_partial(e);
    if (!partial && !p->active)
        return mapper_emit(m, e, c, msg->ptr, msg->len, ns, 0);
    int was_active = p->active;
    int rc = wharf_partial_add(p, msg->ptr ? msg->ptr : "", msg->ptr ? msg->len : 0, 0, ns,
                               m->max_line_bytes);
    if (rc < 0)
        return rc;
    if (!was_active) {
        m->joining++;
        c->part_since_ns[p - c->part] = wharf_pipeline_pass_ns(m->pipeline);
    }
    if (partial)
        return 0;
    rc = mapper_emit(m, e, c, p->text, p->len, p->first_ns,
                     p->truncated ? WHARF_TAG_BIT(WHARF_TAG_TRUNCATED) : 0);
    wharf_partial_reset(p);
    m->joining--;
    return rc;
}

/* The entry a stale message is emitted with: only its stream is known. */
static void mapper_flush_part(journald_mapper_t *m, mapper_container_t *c, int stream)
{
    journald_entry_t e;
    memset(&e, 0, sizeof(e));
    e.f[JOURNALD_F_PRIORITY] = (wharf_str_t){stream ? "3" : "6", 1};
    wharf_partial_t *p = &c->part[stream];
    uint32_t tags = WHARF_TAG_BIT(WHARF_TAG_PARTIAL_UNTERMINATED) |
                    (p->truncated ? WHARF_TAG_BIT(WHARF_TAG_TRUNCATED) : 0);
    if (mapper_emit(m, &e, c, p->text, p->len, p->first_ns, tags) < 0)
        wharf_log_error("cannot emit a split journal message", "container=%s", c->id);
    wharf_partial_reset(p);
    m->joining--;
}

void journald_mapper_flush_stale(journald_mapper_t *m, int64_t now_ns, int64_t max_wait_ns)
{
    for (int b = 0; b < MAPPER_BUCKETS && m->joining > 0; b++)
        for (mapper_container_t *c = m->buckets[b]; c != NULL; c = c->next)
            for (int s = 0; s < 2; s++)
                if (c->part[s].active && now_ns - c->part_since_ns[s] >= max_wait_ns)
                    mapper_flush_part(m, c, s);
}

size_t journald_mapper_joining(const journald_mapper_t *m)
{
    return m->joining;
}

uint64_t journald_mapper_events(const journald_mapper_t *m)
{
    return m->events;
}

int journald_mapper_new(wharf_pipeline_t *pipeline, const char *docker_root,
                        uint64_t max_line_bytes, journald_mapper_t **out)
{
    journald_mapper_t *m = calloc(1, sizeof(*m));
    if (m == NULL)
        return -ENOMEM;
    m->pipeline = pipeline;
    m->max_line_bytes = max_line_bytes;
    if (docker_root != NULL && (m->docker_root = strdup(docker_root)) == NULL) {
        free(m);
        return -ENOMEM;
    }
    *out = m;
    return 0;
}

void journald_mapper_free(journald_mapper_t *m)
{
    if (m == NULL)
        return;
    for (int b = 0; b < MAPPER_BUCKETS; b++)
        while (m->buckets[b] != NULL) {
            mapper_container_t *c = m->buckets[b];
            m->buckets[b] = c->next;
            mapper_container_free(m, c);
        }
    free(m->docker_root);
    free(m);
}
