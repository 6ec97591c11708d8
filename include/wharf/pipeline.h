/* pipeline.h - from decoded records to outputs: the one path every event takes.
 *
 * Inputs ask the pipeline for an event, fill it, and emit it. The pipeline
 * adds the fields every event carries (host, agent, ecs.version, event.kind,
 * event.created), serializes it into the current NDJSON block, and commits
 * the block to the disk buffer when it is full or when an input finished a
 * read pass, together with a checkpoint of the input positions (asked of the
 * checkpoint source at that moment). Commit listeners learn that a commit
 * went through: the outputs have something new to read. */
#ifndef WHARF_PIPELINE_H
#define WHARF_PIPELINE_H

#include "wharf/buf.h"
#include "wharf/event.h"

#include <stddef.h>
#include <stdint.h>

typedef struct wharf_pipeline wharf_pipeline_t;
typedef struct wharf_buffer wharf_buffer_t;
typedef struct wharf_compressor wharf_compressor_t;

typedef void (*wharf_commit_cb)(void *arg);
/* Appends the current input positions (a checkpoint payload) to out. */
typedef int (*wharf_checkpoint_cb)(void *arg, wharf_buf_t *out);

int wharf_pipeline_new(const char *host_name, wharf_buffer_t *buffer, wharf_pipeline_t **out);
/* cb gives the positions for each commit; `last` is the checkpoint the buffer
 * already holds, so that a commit repeating it is skipped. */
void wharf_pipeline_set_checkpoint(wharf_pipeline_t *p, wharf_checkpoint_cb cb, void *arg,
                                   const wharf_buf_t *last);
void wharf_pipeline_free(wharf_pipeline_t *p);

/* Stamps event.created for the events of the next read pass. */
void wharf_pipeline_begin_pass(wharf_pipeline_t *p);
/* When the current read pass began (ns since the epoch). */
int64_t wharf_pipeline_pass_ns(const wharf_pipeline_t *p);
/* A cleared event whose arena is fresh; valid until the next call. */
wharf_event_t *wharf_pipeline_event(wharf_pipeline_t *p);
/* The normalize stage's parsers (wharf/parser.h), run on every emitted
 * event before it is serialized; NULL for none. */
typedef struct wharf_parsers wharf_parsers_t;
void wharf_pipeline_set_parsers(wharf_pipeline_t *p, wharf_parsers_t *parsers);
/* Runs the parsers on the event from wharf_pipeline_event() and serializes
 * it into the block. */
int wharf_pipeline_emit(wharf_pipeline_t *p, wharf_event_t *e);
/* The block is full: the input should commit at its next line boundary,
 * once its positions cover every event emitted (never in the middle of
 * one, or a restart would read a committed event again). */
int wharf_pipeline_full(const wharf_pipeline_t *p);
/* Commits the current block and the positions to the buffer; a commit with
 * no events and unchanged positions is skipped. Returns 0 or the buffer's
 * error (WHARF_EFULL: full, when_full: block); a failed block is kept and
 * retried by the next commit, and wharf_pipeline_blocked() reports true
 * until it went through: inputs stop reading meanwhile. */
int wharf_pipeline_commit(wharf_pipeline_t *p);
/* Writes the compressor's job to the buffer once it is done (waits for it);
 * 0 or the buffer's error, as for commit. Call when the compressor says it
 * is done, and before delivering everything at the end. */
int wharf_pipeline_finish(wharf_pipeline_t *p);
/* Full blocks are compressed on z's thread from now on (NULL: inline). */
void wharf_pipeline_set_compressor(wharf_pipeline_t *p, wharf_compressor_t *z);
int wharf_pipeline_blocked(const wharf_pipeline_t *p);
/* While blocked: the buffer's error (WHARF_EFULL, -ENOSPC, -EIO ...); else 0. */
int wharf_pipeline_error(const wharf_pipeline_t *p);
int wharf_pipeline_on_commit(wharf_pipeline_t *p, wharf_commit_cb cb, void *arg);
uint64_t wharf_pipeline_events_total(const wharf_pipeline_t *p);

#endif
