/* pipeline.h - from decoded records to outputs: the one path every event takes.
 *
 * Inputs ask the pipeline for an event, fill it, and emit it. The pipeline
 * adds the fields every event carries (host, agent, ecs.version, event.kind,
 * event.created), serializes it into the current NDJSON block, and commits
 * the block to the outputs when it is full or when an input finished a read
 * pass. Commit listeners learn that everything emitted so far is delivered,
 * which is when inputs may advance the positions they will save. */
#ifndef WHARF_PIPELINE_H
#define WHARF_PIPELINE_H

#include "wharf/event.h"

#include <stddef.h>
#include <stdint.h>

typedef struct wharf_pipeline wharf_pipeline_t;
typedef struct wharf_output wharf_output_t;

typedef void (*wharf_commit_cb)(void *arg);

int wharf_pipeline_new(const char *host_name, wharf_output_t **outputs, size_t n_outputs,
                       wharf_pipeline_t **out);
void wharf_pipeline_free(wharf_pipeline_t *p);

/* Stamps event.created for the events of the next read pass. */
void wharf_pipeline_begin_pass(wharf_pipeline_t *p);
/* When the current read pass began (ns since the epoch). */
int64_t wharf_pipeline_pass_ns(const wharf_pipeline_t *p);
/* A cleared event whose arena is fresh; valid until the next call. */
wharf_event_t *wharf_pipeline_event(wharf_pipeline_t *p);
/* Serializes the event from wharf_pipeline_event(); may commit. */
int wharf_pipeline_emit(wharf_pipeline_t *p, wharf_event_t *e);
/* Delivers the current block to every output. Returns 0, or the first
 * output's error; a failed block is kept and retried by the next commit, and
 * wharf_pipeline_blocked() reports true until it went through. */
int wharf_pipeline_commit(wharf_pipeline_t *p);
int wharf_pipeline_blocked(const wharf_pipeline_t *p);
/* Makes delivered data durable (fdatasync on file outputs). */
int wharf_pipeline_sync(wharf_pipeline_t *p);
/* Reopens outputs (SIGHUP, logrotate). */
void wharf_pipeline_reopen(wharf_pipeline_t *p);
int wharf_pipeline_on_commit(wharf_pipeline_t *p, wharf_commit_cb cb, void *arg);
uint64_t wharf_pipeline_events_total(const wharf_pipeline_t *p);

#endif
