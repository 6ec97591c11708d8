/* pipeline.c - serialize events into NDJSON blocks and deliver them.
 *
 * Each event is serialized as soon as it is emitted, so its strings may point
 * into the read buffer and its arena is reset right after: memory stays at
 * one block (WHARF_BLOCK_BYTES) plus one event whatever the input size. A
 * block goes to every output in turn; an output that failed keeps its own
 * progress so a retry does not duplicate what the others already took. */
#include "wharf/pipeline.h"

#include "wharf/buf.h"
#include "wharf/json.h"
#include "wharf/log.h"
#include "wharf/output.h"
#include "wharf/timefmt.h"

#include <errno.h>
#include <stdlib.h>

#define WHARF_BLOCK_BYTES (1u << 20)

typedef struct commit_listener {
    wharf_commit_cb cb;
    void *arg;
} commit_listener_t;

/* Values every event carries, rendered once as JSON. */
#define PIPELINE_RAW(s)                                                                            \
    {                                                                                              \
        "\"" s "\"", sizeof(s) + 1                                                                 \
    }
static const wharf_str_t raw_agent_type = PIPELINE_RAW("wharf");
static const wharf_str_t raw_agent_version = PIPELINE_RAW(WHARF_VERSION);
static const wharf_str_t raw_ecs_version = PIPELINE_RAW(WHARF_ECS_VERSION);
static const wharf_str_t raw_event_kind = PIPELINE_RAW("event");

struct wharf_pipeline {
    wharf_buf_t host_name_json;
    wharf_output_t **outputs;
    size_t n_outputs;
    size_t *delivered; /* per output: bytes of the block it has taken */
    wharf_buf_t block;
    uint64_t block_events;
    uint64_t events_total;
    int blocked;
    int64_t pass_ns;
    wharf_json_writer_t writer;
    wharf_arena_t arena;
    wharf_event_t event;
    commit_listener_t *listeners;
    size_t n_listeners;
};

int wharf_pipeline_new(const char *host_name, wharf_output_t **outputs, size_t n_outputs,
                       wharf_pipeline_t **out)
{
    wharf_pipeline_t *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return -ENOMEM;
    p->delivered = calloc(n_outputs ? n_outputs : 1, sizeof(*p->delivered));
    if (p->delivered == NULL) {
        free(p);
        return -ENOMEM;
    }
    wharf_buf_init(&p->host_name_json);
    wharf_json_write_string(&p->host_name_json, host_name, strlen(host_name));
    p->outputs = outputs;
    p->n_outputs = n_outputs;
    wharf_buf_init(&p->block);
    wharf_buf_reserve(&p->block, WHARF_BLOCK_BYTES + 65536);
    wharf_json_writer_init(&p->writer);
    wharf_arena_init(&p->arena, (size_t)64 * 1024);
    p->event.arena = &p->arena;
    p->pass_ns = wharf_time_now();
    *out = p;
    return 0;
}

void wharf_pipeline_free(wharf_pipeline_t *p)
{
    if (p == NULL)
        return;
    wharf_buf_free(&p->block);
    wharf_buf_free(&p->host_name_json);
    wharf_arena_free(&p->arena);
    free(p->delivered);
    free(p->listeners);
    free(p);
}

void wharf_pipeline_begin_pass(wharf_pipeline_t *p)
{
    p->pass_ns = wharf_time_now();
}

int64_t wharf_pipeline_pass_ns(const wharf_pipeline_t *p)
{
    return p->pass_ns;
}

wharf_event_t *wharf_pipeline_event(wharf_pipeline_t *p)
{
    wharf_event_t *e = &p->event;
    wharf_arena_reset(&p->arena);
    wharf_event_clear(e);
    wharf_event_set_raw(e, WHARF_F_HOST_NAME, p->host_name_json.data, p->host_name_json.len);
    wharf_event_set_raw(e, WHARF_F_AGENT_TYPE, raw_agent_type.ptr, raw_agent_type.len);
    wharf_event_set_raw(e, WHARF_F_AGENT_VERSION, raw_agent_version.ptr, raw_agent_version.len);
    wharf_event_set_raw(e, WHARF_F_ECS_VERSION, raw_ecs_version.ptr, raw_ecs_version.len);
    wharf_event_set_raw(e, WHARF_F_EVENT_KIND, raw_event_kind.ptr, raw_event_kind.len);
    wharf_event_set_time(e, WHARF_F_EVENT_CREATED, p->pass_ns);
    return e;
}

int wharf_pipeline_emit(wharf_pipeline_t *p, wharf_event_t *e)
{
    int rc = wharf_json_write_event(&p->writer, e, &p->block);
    if (rc < 0)
        return rc;
    p->block_events++;
    if (p->block.len >= WHARF_BLOCK_BYTES && !p->blocked)
        return wharf_pipeline_commit(p);
    return 0;
}

static int pipeline_deliver(wharf_pipeline_t *p, size_t i)
{
    wharf_output_t *o = p->outputs[i];
    while (p->delivered[i] < p->block.len) {
        long n = o->ops->write(o, p->block.data + p->delivered[i], p->block.len - p->delivered[i]);
        if (n < 0)
            return (int)n;
        if (n == 0)
            return -EAGAIN;
        p->delivered[i] += (size_t)n;
    }
    return 0;
}

int wharf_pipeline_commit(wharf_pipeline_t *p)
{
    int first_err = 0;
    for (size_t i = 0; i < p->n_outputs; i++) {
        int rc = pipeline_deliver(p, i);
        if (rc < 0 && first_err == 0)
            first_err = rc;
        if (rc < 0 && !p->blocked)
            wharf_log_error("output cannot take events; holding them and retrying",
                            "output=%s error=\"%s\"", p->outputs[i]->id, wharf_strerror(rc));
    }
    p->blocked = first_err != 0;
    if (first_err)
        return first_err;
    p->events_total += p->block_events;
    p->block_events = 0;
    p->block.len = 0;
    for (size_t i = 0; i < p->n_outputs; i++)
        p->delivered[i] = 0;
    for (size_t i = 0; i < p->n_listeners; i++)
        p->listeners[i].cb(p->listeners[i].arg);
    return 0;
}

int wharf_pipeline_blocked(const wharf_pipeline_t *p)
{
    return p->blocked;
}

int wharf_pipeline_sync(wharf_pipeline_t *p)
{
    int first_err = 0;
    for (size_t i = 0; i < p->n_outputs; i++) {
        wharf_output_t *o = p->outputs[i];
        int rc = o->ops->sync ? o->ops->sync(o) : 0;
        if (rc < 0 && first_err == 0)
            first_err = rc;
    }
    return first_err;
}

void wharf_pipeline_reopen(wharf_pipeline_t *p)
{
    for (size_t i = 0; i < p->n_outputs; i++)
        if (p->outputs[i]->ops->reopen)
            p->outputs[i]->ops->reopen(p->outputs[i]);
}

int wharf_pipeline_on_commit(wharf_pipeline_t *p, wharf_commit_cb cb, void *arg)
{
    commit_listener_t *l = realloc(p->listeners, (p->n_listeners + 1) * sizeof(*l));
    if (l == NULL)
        return -ENOMEM;
    l[p->n_listeners++] = (commit_listener_t){cb, arg};
    p->listeners = l;
    return 0;
}

uint64_t wharf_pipeline_events_total(const wharf_pipeline_t *p)
{
    return p->events_total;
}
