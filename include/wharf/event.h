/* event.h - the event model: one normalized log record on its way to outputs.
 *
 * An event holds its ECS fields in a flat table indexed by interned field ids
 * (WHARF_F_*), so setting a field is an array store and the JSON writer can
 * emit nested objects in one pass over the ids in path order. Strings are
 * slices owned elsewhere (the read buffer, the event's arena, or container
 * metadata that outlives the event); an event never frees anything.
 *
 * The table holds the fields wharf sets itself and the ECS fields parsers
 * most often set (source.*, user.name, event.category, http.*, url.*, ...):
 * an event of the shipped pack seldom needs more. Any other field (a parser
 * capture to a custom path) goes into a small dynamic list with its dotted
 * path; the writer merges those in path order. */
#ifndef WHARF_EVENT_H
#define WHARF_EVENT_H

#include "wharf/arena.h"
#include "wharf/common.h"

#include <stdint.h>
#include <string.h>

/* X(ID, "dotted.ecs.path"), kept sorted by path component by component: the
 * JSON writer emits fields in this order and opens and closes the nested
 * objects as the paths change (tests/unit/test_event.c checks the order). */
#define WHARF_FIELDS(X)                                                                            \
    X(TIMESTAMP, "@timestamp")                                                                     \
    X(AGENT_TYPE, "agent.type")                                                                    \
    X(AGENT_VERSION, "agent.version")                                                              \
    X(CONTAINER_ID, "container.id")                                                                \
    X(CONTAINER_IMAGE_HASH_ALL, "container.image.hash.all")                                        \
    X(CONTAINER_IMAGE_NAME, "container.image.name")                                                \
    X(CONTAINER_IMAGE_TAG, "container.image.tag")                                                  \
    X(CONTAINER_LABELS, "container.labels")                                                        \
    X(CONTAINER_NAME, "container.name")                                                            \
    X(CONTAINER_RUNTIME, "container.runtime")                                                      \
    X(CONTAINER_SC_CAP_ADD, "container.security_context.capabilities.add")                         \
    X(CONTAINER_SC_HOST_NETWORK, "container.security_context.host_network")                        \
    X(CONTAINER_SC_HOST_PID, "container.security_context.host_pid")                                \
    X(CONTAINER_SC_PRIVILEGED, "container.security_context.privileged")                            \
    X(CONTAINER_SC_READ_ONLY_ROOTFS, "container.security_context.read_only_root_filesystem")       \
    X(CONTAINER_SC_RUN_AS_ROOT, "container.security_context.run_as_root")                          \
    X(CONTAINER_SC_USER, "container.security_context.user")                                        \
    X(DESTINATION_ADDRESS, "destination.address")                                                  \
    X(DESTINATION_IP, "destination.ip")                                                            \
    X(DESTINATION_PORT, "destination.port")                                                        \
    X(ECS_VERSION, "ecs.version")                                                                  \
    X(ERROR_MESSAGE, "error.message")                                                              \
    X(EVENT_ACTION, "event.action")                                                                \
    X(EVENT_CATEGORY, "event.category")                                                            \
    X(EVENT_CREATED, "event.created")                                                              \
    X(EVENT_DATASET, "event.dataset")                                                              \
    X(EVENT_KIND, "event.kind")                                                                    \
    X(EVENT_MODULE, "event.module")                                                                \
    X(EVENT_ORIGINAL, "event.original")                                                            \
    X(EVENT_OUTCOME, "event.outcome")                                                              \
    X(EVENT_TYPE, "event.type")                                                                    \
    X(GROUP_ID, "group.id")                                                                        \
    X(GROUP_NAME, "group.name")                                                                    \
    X(HOST_BOOT_ID, "host.boot.id")                                                                \
    X(HOST_HOSTNAME, "host.hostname")                                                              \
    X(HOST_NAME, "host.name")                                                                      \
    X(HTTP_REQUEST_METHOD, "http.request.method")                                                  \
    X(HTTP_REQUEST_REFERRER, "http.request.referrer")                                              \
    X(HTTP_RESPONSE_BODY_BYTES, "http.response.body.bytes")                                        \
    X(HTTP_RESPONSE_STATUS_CODE, "http.response.status_code")                                      \
    X(HTTP_VERSION, "http.version")                                                                \
    X(JOURNALD_CONTAINER_TAG, "journald.container_tag")                                            \
    X(JOURNALD_TRANSPORT, "journald.transport")                                                    \
    X(KUBERNETES_POD_UID, "kubernetes.pod.uid")                                                    \
    X(LOG_FILE_PATH, "log.file.path")                                                              \
    X(LOG_LEVEL, "log.level")                                                                      \
    X(LOG_OFFSET, "log.offset")                                                                    \
    X(LOG_SYSLOG_FACILITY_CODE, "log.syslog.facility.code")                                        \
    X(LOG_SYSLOG_FACILITY_NAME, "log.syslog.facility.name")                                        \
    X(LOG_SYSLOG_HOSTNAME, "log.syslog.hostname")                                                  \
    X(LOG_SYSLOG_SEVERITY_CODE, "log.syslog.severity.code")                                        \
    X(LOG_SYSLOG_SEVERITY_NAME, "log.syslog.severity.name")                                        \
    X(MESSAGE, "message")                                                                          \
    X(NETWORK_TRANSPORT, "network.transport")                                                      \
    X(ORCHESTRATOR_NAMESPACE, "orchestrator.namespace")                                            \
    X(ORCHESTRATOR_RESOURCE_NAME, "orchestrator.resource.name")                                    \
    X(ORCHESTRATOR_RESOURCE_TYPE, "orchestrator.resource.type")                                    \
    X(ORCHESTRATOR_TYPE, "orchestrator.type")                                                      \
    X(PROCESS_COMMAND_LINE, "process.command_line")                                                \
    X(PROCESS_EXECUTABLE, "process.executable")                                                    \
    X(PROCESS_NAME, "process.name")                                                                \
    X(PROCESS_PARENT_PID, "process.parent.pid")                                                    \
    X(PROCESS_PID, "process.pid")                                                                  \
    X(RELATED_IP, "related.ip")                                                                    \
    X(RELATED_USER, "related.user")                                                                \
    X(SOURCE_ADDRESS, "source.address")                                                            \
    X(SOURCE_DOMAIN, "source.domain")                                                              \
    X(SOURCE_IP, "source.ip")                                                                      \
    X(SOURCE_PORT, "source.port")                                                                  \
    X(STREAM, "stream")                                                                            \
    X(SYSTEMD_UNIT, "systemd.unit")                                                                \
    X(TAGS, "tags")                                                                                \
    X(URL_ORIGINAL, "url.original")                                                                \
    X(URL_PATH, "url.path")                                                                        \
    X(URL_QUERY, "url.query")                                                                      \
    X(USER_ID, "user.id")                                                                          \
    X(USER_NAME, "user.name")                                                                      \
    X(USER_AGENT_ORIGINAL, "user_agent.original")

typedef enum wharf_field_id {
#define WHARF_FIELD_ENUM(id, path) WHARF_F_##id,
    WHARF_FIELDS(WHARF_FIELD_ENUM)
#undef WHARF_FIELD_ENUM
        WHARF_F__COUNT
} wharf_field_id;

/* Tags worth telling a SIEM about; written as the `tags` array. */
#define WHARF_TAGS(X)                                                                              \
    X(TRUNCATED, "truncated")                                                                      \
    X(INVALID_JSON, "invalid_json")                                                                \
    X(INVALID_CRI, "invalid_cri")                                                                  \
    X(PARTIAL_UNTERMINATED, "partial_unterminated")                                                \
    X(PARSER_MATCH_LIMIT, "parser_match_limit")                                                    \
    X(MULTILINE, "multiline")

typedef enum wharf_tag {
#define WHARF_TAG_ENUM(id, name) WHARF_TAG_##id,
    WHARF_TAGS(WHARF_TAG_ENUM)
#undef WHARF_TAG_ENUM
        WHARF_TAG__COUNT
} wharf_tag;

typedef enum wharf_value_type {
    WHARF_V_STR = 1, /* str: text, escaped and UTF-8-sanitized on output */
    WHARF_V_LONG,    /* i64 */
    WHARF_V_DOUBLE,  /* f64 */
    WHARF_V_BOOL,    /* i64: 0 or 1 */
    WHARF_V_TIME,    /* i64: nanoseconds since the epoch, written as RFC 3339 UTC */
    WHARF_V_STRS,    /* strs[count]: array of text */
    WHARF_V_RAW,     /* str: already-valid JSON, written as is */
} wharf_value_type;

typedef struct wharf_value {
    uint32_t type;
    uint32_t count;
    union {
        wharf_str_t str;
        int64_t i64;
        double f64;
        const wharf_str_t *strs;
    } u;
} wharf_value_t;

typedef struct wharf_dyn_field {
    wharf_str_t path; /* dotted, as configured */
    wharf_value_t value;
} wharf_dyn_field_t;

#define WHARF_EVENT_SET_WORDS ((WHARF_F__COUNT + 63) / 64)

/* The fixed fields under one top-level key as a source sets them together
 * on every event it makes (container metadata: "container", "orchestrator"),
 * rendered once by wharf_json_group_render. While an event still holds
 * exactly these values - the same fields set, each the same RAW slice - the
 * JSON writer copies the text instead of writing the fields one by one;
 * after any change to them it writes them one by one, to the same bytes. */
typedef struct wharf_event_group {
    uint16_t first, last;   /* the ids of the fixed fields under the key */
    const wharf_str_t *raw; /* by field id: the RAW value set, ptr NULL for none */
    char *text;             /* `"key":{...}`, malloc'd */
    size_t text_len;
} wharf_event_group_t;

typedef struct wharf_event {
    uint64_t set[WHARF_EVENT_SET_WORDS]; /* bit per field id: is v[id] valid */
    uint32_t tags;                       /* bit per wharf_tag */
    uint32_t n_dyn;
    uint32_t cap_dyn;
    wharf_dyn_field_t *dyn;            /* in the event's arena */
    wharf_arena_t *arena;              /* where strings made for this event live */
    const wharf_event_group_t *groups; /* ascending ids, owned by the source */
    uint32_t n_groups;
    wharf_value_t v[WHARF_F__COUNT];
} wharf_event_t;

/* Clears every field; keeps the arena pointer. */
static inline void wharf_event_clear(wharf_event_t *e)
{
    memset(e->set, 0, sizeof(e->set));
    e->tags = 0;
    e->n_dyn = 0;
    e->cap_dyn = 0;
    e->dyn = NULL;
    e->groups = NULL;
    e->n_groups = 0;
}

static inline int wharf_event_has(const wharf_event_t *e, wharf_field_id f)
{
    return (int)((e->set[f >> 6] >> (f & 63)) & 1u);
}

static inline void wharf_event_unset(wharf_event_t *e, wharf_field_id f)
{
    e->set[f >> 6] &= ~(UINT64_C(1) << (f & 63));
}

static inline wharf_value_t *wharf_event_slot(wharf_event_t *e, wharf_field_id f, uint32_t type)
{
    e->set[f >> 6] |= UINT64_C(1) << (f & 63);
    e->v[f].type = type;
    e->v[f].count = 0;
    return &e->v[f];
}

static inline void wharf_event_set_str(wharf_event_t *e, wharf_field_id f, const char *p, size_t n)
{
    wharf_event_slot(e, f, WHARF_V_STR)->u.str = (wharf_str_t){p, n};
}

static inline void wharf_event_set_cstr(wharf_event_t *e, wharf_field_id f, const char *s)
{
    wharf_event_set_str(e, f, s, strlen(s));
}

static inline void wharf_event_set_long(wharf_event_t *e, wharf_field_id f, int64_t v)
{
    wharf_event_slot(e, f, WHARF_V_LONG)->u.i64 = v;
}

static inline void wharf_event_set_bool(wharf_event_t *e, wharf_field_id f, int v)
{
    wharf_event_slot(e, f, WHARF_V_BOOL)->u.i64 = v != 0;
}

static inline void wharf_event_set_time(wharf_event_t *e, wharf_field_id f, int64_t ns)
{
    wharf_event_slot(e, f, WHARF_V_TIME)->u.i64 = ns;
}

static inline void wharf_event_set_strs(wharf_event_t *e, wharf_field_id f, const wharf_str_t *v,
                                        uint32_t n)
{
    wharf_value_t *s = wharf_event_slot(e, f, WHARF_V_STRS);
    s->u.strs = v;
    s->count = n;
}

static inline void wharf_event_set_raw(wharf_event_t *e, wharf_field_id f, const char *json,
                                       size_t n)
{
    wharf_event_slot(e, f, WHARF_V_RAW)->u.str = (wharf_str_t){json, n};
}

/* Tags live in a bitmask; the TAGS field bit says "write the tags array". */
#define WHARF_TAG_BIT(t) (1u << (t))

static inline void wharf_event_tag(wharf_event_t *e, wharf_tag t)
{
    e->tags |= WHARF_TAG_BIT(t);
    e->set[WHARF_F_TAGS >> 6] |= UINT64_C(1) << (WHARF_F_TAGS & 63);
}

/* Adds a field by dotted path (e.g. "source.ip"); a known path goes into the
 * fixed table, anything else into the dynamic list. The path must outlive the
 * event. Returns the slot to fill, or NULL on out-of-memory, for "tags" (use
 * wharf_event_tag), for an empty, malformed ("a..b", ".a") or not UTF-8 path, and for a
 * path that would make one key both a value and an object ("message.x"
 * beside "message", "container" beside "container.id"). */
wharf_value_t *wharf_event_set_path(wharf_event_t *e, const char *path, size_t len, uint32_t type);

/* 1 when path can be set with wharf_event_set_path on an event with no
 * dynamic fields: a fixed field, or a well-formed path that nests under or
 * over none. Lets a caller check its paths once, then use set_dyn. */
int wharf_event_path_ok(const char *path, size_t len);
/* wharf_event_set_path for a path that passed wharf_event_path_ok and is
 * not a fixed field: only the dynamic fields are checked. */
wharf_value_t *wharf_event_set_dyn(wharf_event_t *e, const char *path, size_t len, uint32_t type);

/* The dotted path of a field id, e.g. "container.image.name". */
const char *wharf_field_path(wharf_field_id f);
wharf_str_t wharf_field_path_str(wharf_field_id f);
/* Orders dotted paths component by component ("a" < "a.b" < "a-b"): the
 * order in which the JSON writer must see fields. */
int wharf_path_compare(wharf_str_t a, wharf_str_t b);
/* Looks a dotted path up; returns its id or -1. */
int wharf_field_lookup(const char *path, size_t len);
const char *wharf_tag_name(wharf_tag t);

#endif
