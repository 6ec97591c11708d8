/* pipeline.c - serialize events into NDJSON blocks and commit them to the
 * disk buffer.
 *
 * Each event is serialized as soon as it is emitted, so its strings may point
 * into the read buffer and its arena is reset right after: memory stays at
 * one block (WHARF_BLOCK_BYTES) plus one event whatever the input size. The
 * block and the input positions go to the buffer as one commit, so the
 * positions saved never run ahead of the events saved.
 *
 * With a compressor, a full block becomes a job: the worker thread
 * compresses it (and fdatasyncs the previous commit) while the next block
 * fills; the job is written to the buffer when it is done (finish) or at the
 * next commit, which waits for it. Memory: two blocks. */
#include "wharf/pipeline.h"

#include "wharf/buf.h"
#include "wharf/buffer.h"
#include "wharf/compressor.h"
#include "wharf/json.h"
#include "wharf/log.h"
#include "wharf/parser.h"
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
    wharf_buffer_t *buffer;
    wharf_checkpoint_cb checkpoint_cb;
    void *checkpoint_arg;
    wharf_buf_t checkpoint;      /* positions for the commit being made */
    wharf_buf_t last_checkpoint; /* positions of the last commit */
    wharf_buf_t block;
    uint64_t block_events;
    uint64_t events_total;
    int blocked; /* the error of the last failed commit, or 0 */
    int64_t pass_ns;
    wharf_parsers_t *parsers; /* may be NULL */
    wharf_json_writer_t writer;
    wharf_arena_t arena;
    wharf_event_t event;
    commit_listener_t *listeners;
    size_t n_listeners;
    /* The job at the compressor: its events and positions. */
    wharf_compressor_t *compressor;
    int job_running;
    wharf_buf_t job_events;
    uint32_t job_n_events;
    wharf_buf_t job_checkpoint;
    int job_compressed; /* done, not yet written (the buffer refused it) */
    wharf_str_t job_frame;
};

int wharf_pipeline_new(const char *host_name, wharf_buffer_t *buffer, wharf_pipeline_t **out)
{
    wharf_pipeline_t *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return -ENOMEM;
    wharf_buf_init(&p->host_name_json);
    wharf_json_write_string(&p->host_name_json, host_name, strlen(host_name));
    p->buffer = buffer;
    wharf_buf_init(&p->checkpoint);
    wharf_buf_init(&p->last_checkpoint);
    wharf_buf_init(&p->block);
    wharf_buf_init(&p->job_events);
    wharf_buf_init(&p->job_checkpoint);
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
    wharf_buf_free(&p->checkpoint);
    wharf_buf_free(&p->last_checkpoint);
    wharf_buf_free(&p->job_events);
    wharf_buf_free(&p->job_checkpoint);
    wharf_arena_free(&p->arena);
    free(p->listeners);
    free(p);
}

void wharf_pipeline_set_checkpoint(wharf_pipeline_t *p, wharf_checkpoint_cb cb, void *arg,
                                   const wharf_buf_t *last)
{
    p->checkpoint_cb = cb;
    p->checkpoint_arg = arg;
    p->last_checkpoint.len = 0;
    if (last->len > 0)
        wharf_buf_append(&p->last_checkpoint, last->data, last->len);
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

void wharf_pipeline_set_parsers(wharf_pipeline_t *p, wharf_parsers_t *parsers)
{
    p->parsers = parsers;
}

int wharf_pipeline_emit(wharf_pipeline_t *p, wharf_event_t *e)
{
    if (p->parsers != NULL)
        wharf_parsers_apply(p->parsers, e);
    int rc = wharf_json_write_event(&p->writer, e, &p->block);
    if (rc < 0)
        return rc;
    p->block_events++;
    return 0;
}

int wharf_pipeline_full(const wharf_pipeline_t *p)
{
    return p->block.len >= WHARF_BLOCK_BYTES;
}

static int pipeline_nothing_new(const wharf_pipeline_t *p)
{
    return p->block_events == 0 && p->checkpoint.len == p->last_checkpoint.len &&
           (p->checkpoint.len == 0 ||
            memcmp(p->checkpoint.data, p->last_checkpoint.data, p->checkpoint.len) == 0);
}

static int pipeline_failed(wharf_pipeline_t *p, int rc)
{
    if (p->blocked != rc && rc != WHARF_EFULL)
        wharf_log_error("cannot write to the disk buffer; inputs pause and retry", "error=\"%s\"",
                        wharf_strerror(rc));
    p->blocked = rc;
    return rc;
}

/* A commit went into the buffer with these positions. */
static void pipeline_committed(wharf_pipeline_t *p, wharf_buf_t *checkpoint, uint32_t n_events)
{
    if (p->blocked != 0 && p->blocked != WHARF_EFULL)
        wharf_log_info("disk buffer writable again; inputs resume", NULL);
    p->blocked = 0;
    wharf_buf_t tmp = p->last_checkpoint;
    p->last_checkpoint = *checkpoint;
    *checkpoint = tmp;
    p->events_total += n_events;
    for (size_t i = 0; i < p->n_listeners; i++)
        p->listeners[i].cb(p->listeners[i].arg);
}

int wharf_pipeline_finish(wharf_pipeline_t *p)
{
    if (p->job_running) {
        int sync_err = 0;
        int rc = wharf_compressor_wait(p->compressor, &p->job_frame, &sync_err);
        p->job_running = 0;
        p->job_compressed = p->job_n_events > 0;
        if (sync_err < 0)
            wharf_log_error("cannot fdatasync the disk buffer; a power loss may cut it back",
                            "error=\"%s\"", wharf_strerror(sync_err));
        if (rc < 0 && p->job_compressed) {
            wharf_log_error("zstd could not compress a block; its events are lost", "events=%u",
                            p->job_n_events);
            p->job_compressed = 0;
        }
    }
    if (!p->job_compressed)
        return 0;
    wharf_commit_t c = {.events = p->job_events.data,
                        .len = p->job_events.len,
                        .n_events = p->job_n_events,
                        .frame = p->job_frame.ptr,
                        .frame_len = p->job_frame.len,
                        .checkpoint = p->job_checkpoint.data,
                        .checkpoint_len = p->job_checkpoint.len,
                        .events_buf = &p->job_events};
    int rc = wharf_buffer_commit_frame(p->buffer, &c);
    if (rc < 0)
        return pipeline_failed(p, rc);
    p->job_compressed = 0;
    pipeline_committed(p, &p->job_checkpoint, p->job_n_events);
    return 0;
}

/* Hands the block and its positions to the compressor. */
static void pipeline_start_job(wharf_pipeline_t *p)
{
    wharf_buf_t tmp = p->job_events;
    p->job_events = p->block;
    p->block = tmp;
    p->block.len = 0;
    wharf_buf_reserve(&p->block, WHARF_BLOCK_BYTES + 65536);
    tmp = p->job_checkpoint;
    p->job_checkpoint = p->checkpoint;
    p->checkpoint = tmp;
    p->job_n_events = (uint32_t)p->block_events;
    p->block_events = 0;
    wharf_compressor_start(p->compressor, wharf_buffer_sync_owed(p->buffer), p->job_events.data,
                           p->job_events.len);
    p->job_running = 1;
}

/* fsync: batch owes the last commit an fdatasync and nothing follows it:
 * a job without events does just that. */
static void pipeline_start_sync(wharf_pipeline_t *p)
{
    int fd = p->compressor != NULL && !p->job_running ? wharf_buffer_sync_owed(p->buffer) : -1;
    if (fd < 0)
        return;
    p->job_n_events = 0;
    wharf_compressor_start(p->compressor, fd, NULL, 0);
    p->job_running = 1;
}

int wharf_pipeline_commit(wharf_pipeline_t *p)
{
    int rc = wharf_pipeline_finish(p);
    if (rc < 0)
        return rc;
    p->checkpoint.len = 0;
    rc = p->checkpoint_cb ? p->checkpoint_cb(p->checkpoint_arg, &p->checkpoint) : 0;
    if (rc < 0)
        return rc;
    if (pipeline_nothing_new(p)) {
        pipeline_start_sync(p);
        return 0;
    }
    if (p->compressor != NULL && p->block_events > 0) {
        pipeline_start_job(p);
        return 0;
    }
    rc = wharf_buffer_commit(p->buffer, p->block.data, p->block.len, (uint32_t)p->block_events,
                             p->checkpoint.data, p->checkpoint.len);
    if (rc < 0)
        return pipeline_failed(p, rc);
    uint32_t n = (uint32_t)p->block_events;
    p->block_events = 0;
    p->block.len = 0;
    pipeline_committed(p, &p->checkpoint, n);
    return 0;
}

void wharf_pipeline_set_compressor(wharf_pipeline_t *p, wharf_compressor_t *z)
{
    p->compressor = z;
}

int wharf_pipeline_blocked(const wharf_pipeline_t *p)
{
    return p->blocked != 0;
}

int wharf_pipeline_error(const wharf_pipeline_t *p)
{
    return p->blocked;
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
