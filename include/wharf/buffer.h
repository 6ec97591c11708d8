/* buffer.h - the crash-safe disk buffer between the pipeline and the outputs.
 *
 * Every committed block of events is appended to the current segment (format
 * in wharf/wal.h) together with a checkpoint: the input positions the events
 * were read up to. Each output reads the segments through its own cursor and
 * moves it only past what it delivered; a segment is deleted once every
 * cursor has passed it. Opening the buffer recovers it: checksums are
 * verified, a torn tail is cut, corrupt records are skipped and reported,
 * and the last checkpoint tells the inputs where to resume.
 *
 * Single-threaded: the agent's loop owns the buffer. `wharf buffer stat`
 * opens the same directory read-only from another process. */
#ifndef WHARF_BUFFER_H
#define WHARF_BUFFER_H

#include "wharf/buf.h"
#include "wharf/common.h"
#include "wharf/config.h"

#include <stdint.h>

typedef struct wharf_buffer wharf_buffer_t;
typedef struct wharf_buffer_cursor wharf_buffer_cursor_t;

enum { WHARF_BUFFER_READ_ONLY = 1 };

/* A place in the buffer: the record at (segment, offset), whose first event
 * (or the next one, for a checkpoint) has sequence number `event`. */
typedef struct wharf_buffer_pos {
    uint64_t segment;
    uint64_t offset;
    uint64_t event;
} wharf_buffer_pos_t;

typedef struct wharf_buffer_segment_info {
    uint64_t seq;
    uint64_t bytes;
    uint64_t records;
    uint64_t events;
    uint64_t first_event;
    uint64_t raw_bytes;    /* NDJSON before compression */
    uint64_t stored_bytes; /* the same events, compressed */
    uint64_t corrupt_records;
} wharf_buffer_segment_info_t;

typedef struct wharf_buffer_stats {
    uint64_t segments;
    uint64_t bytes;
    uint64_t events;
    uint64_t raw_bytes;
    uint64_t stored_bytes;
    uint64_t next_event;
    uint64_t corrupt_records; /* found at open or while reading */
    uint64_t corrupt_bytes;
    uint64_t torn_bytes;     /* cut from the end at open */
    uint64_t dropped_events; /* by when_full: drop_oldest, all outputs */
} wharf_buffer_stats_t;

/* How the output behind a cursor is doing, saved with it so that `wharf
 * buffer stat` shows it from another process. */
typedef struct wharf_buffer_health {
    uint64_t down_since_ms; /* Unix ms the output stopped delivering; 0: up */
    uint64_t undeliverable; /* events it could never deliver, counted and skipped */
    char error[128];        /* why it is down ("" when up) */
} wharf_buffer_health_t;

/* A cursor as saved in DIR/cursors.json. */
typedef struct wharf_buffer_cursor_info {
    const char *id;
    wharf_buffer_pos_t pos;
    uint64_t dropped_events;
    wharf_buffer_health_t health;
    uint64_t lag_events;
    uint64_t lag_bytes;
} wharf_buffer_cursor_info_t;

/* Opens (creating it unless READ_ONLY) and recovers the buffer in dir. */
int wharf_buffer_open(const char *dir, const wharf_conf_buffer_t *conf, int flags,
                      wharf_buffer_t **out);
void wharf_buffer_close(wharf_buffer_t *b);

/* The payload of the last valid checkpoint (empty on a first start). */
const wharf_buf_t *wharf_buffer_checkpoint(const wharf_buffer_t *b);

/* Appends events (n_events NDJSON lines, may be 0) and the checkpoint that
 * goes with them as one commit. Returns 0, WHARF_EFULL when the buffer is at
 * max_size and when_full is block (nothing written: retry later), or a
 * negative errno (nothing written either). */
int wharf_buffer_commit(wharf_buffer_t *b, const char *events, size_t len, uint32_t n_events,
                        const char *checkpoint, size_t checkpoint_len);
/* A commit whose events are already compressed (one zstd frame). */
typedef struct wharf_commit {
    const char *events; /* the NDJSON, kept for cursors that are caught up */
    size_t len;
    uint32_t n_events;
    const char *frame; /* events compressed; NULL when n_events is 0 */
    size_t frame_len;
    const char *checkpoint;
    size_t checkpoint_len;
    /* When set, the buf that holds events: the buffer keeps it instead of
     * copying the events and leaves a spare buf of its own in its place. */
    wharf_buf_t *events_buf;
} wharf_commit_t;

/* As wharf_buffer_commit, with the compression done by the caller and
 * without the fsync: with fsync: batch the commit is owed one, which the
 * caller gets from wharf_buffer_sync_owed (the compressor does it). */
int wharf_buffer_commit_frame(wharf_buffer_t *b, const wharf_commit_t *c);
/* The segment fd to fdatasync for the commits written since the last call
 * (fsync: batch), or -1 when none is owed. Valid until the next commit. */
int wharf_buffer_sync_owed(wharf_buffer_t *b);
/* fsync: interval. Call often (every few hundred ms). */
int wharf_buffer_tick(wharf_buffer_t *b);
/* Deletes segments every cursor has passed. */
int wharf_buffer_trim(wharf_buffer_t *b);
void wharf_buffer_stats(const wharf_buffer_t *b, wharf_buffer_stats_t *out);

size_t wharf_buffer_n_segments(const wharf_buffer_t *b);
void wharf_buffer_segment(const wharf_buffer_t *b, size_t i, wharf_buffer_segment_info_t *out);
const char *wharf_buffer_dir(const wharf_buffer_t *b);

/* ---- cursors (cursor.c) ---- */

/* The output's cursor as saved, or at the buffer's end for an output the
 * buffer has not seen (it gets what is committed from now on). */
int wharf_buffer_cursor_open(wharf_buffer_t *b, const char *output_id, wharf_buffer_cursor_t **out);
/* What is left of the block of events at the cursor, without moving it: 1
 * and the bytes, 0 when the cursor is at the end, or a negative errno.
 * Damaged records are skipped (and reported). Valid until the next consume. */
int wharf_buffer_cursor_peek(wharf_buffer_cursor_t *c, wharf_str_t *block);
/* The output took n bytes of the peeked block; the cursor moves past the
 * block once all of it was taken. */
void wharf_buffer_cursor_consume(wharf_buffer_cursor_t *c, size_t n);
/* Everything advanced over so far is durable at the output. */
void wharf_buffer_cursor_ack(wharf_buffer_cursor_t *c);
/* Where the cursor is: the start of the block it is in (or the next one). */
wharf_buffer_pos_t wharf_buffer_cursor_tell(const wharf_buffer_cursor_t *c);
/* Everything before pos (a tell() of this cursor) is durable at the output:
 * for outputs that confirm later than they take events. A pos behind the
 * acknowledged one (dropped by when_full: drop_oldest meanwhile) is ignored. */
void wharf_buffer_cursor_ack_at(wharf_buffer_cursor_t *c, wharf_buffer_pos_t pos);
/* The output's health, saved at the next wharf_buffer_save_cursors. */
void wharf_buffer_cursor_set_health(wharf_buffer_cursor_t *c, const wharf_buffer_health_t *h);
void wharf_buffer_cursor_info(const wharf_buffer_cursor_t *c, wharf_buffer_cursor_info_t *out);
/* Forgets what was handed out and not acknowledged: the next peek starts at
 * the acknowledged place again (an output replaced at a reload gets what
 * the old one did not confirm). */
void wharf_buffer_cursor_rewind(wharf_buffer_cursor_t *c);
/* Releases the cursor: the buffer keeps nothing more for its output, and
 * the next save drops its id. */
void wharf_buffer_cursor_close(wharf_buffer_cursor_t *c);

/* Writes DIR/cursors.json when an ack or a health moved; the saved ids are exactly the
 * open cursors, so an output removed from the config releases its hold. */
int wharf_buffer_save_cursors(wharf_buffer_t *b);
/* Cursors as saved on disk (READ_ONLY use: `wharf buffer stat`). */
size_t wharf_buffer_n_saved_cursors(const wharf_buffer_t *b);
void wharf_buffer_saved_cursor(const wharf_buffer_t *b, size_t i, wharf_buffer_cursor_info_t *out);

#endif
