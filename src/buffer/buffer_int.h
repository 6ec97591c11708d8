/* buffer_int.h - what buffer.c (segments, commits, recovery) and cursor.c
 * (reading, cursors.json) share. Not a public interface. */
#ifndef WHARF_BUFFER_INT_H
#define WHARF_BUFFER_INT_H

#include "wharf/buffer.h"

#include <zstd.h>

typedef struct buffer_segment {
    wharf_buffer_segment_info_t info;
} buffer_segment_t;

/* A cursor as read from cursors.json, waiting to be claimed by an output. */
typedef struct buffer_saved_cursor {
    char *id;
    wharf_buffer_pos_t pos;
    uint64_t dropped;
    wharf_buffer_health_t health;
} buffer_saved_cursor_t;

struct wharf_buffer_cursor {
    wharf_buffer_t *buffer;
    char *id;
    wharf_buffer_pos_t read;  /* next record to hand out */
    wharf_buffer_pos_t acked; /* everything before it is durable at the output */
    wharf_buffer_pos_t saved; /* what cursors.json says */
    wharf_buffer_health_t health, saved_health;
    uint64_t dropped;
    int fd; /* open on segment fd_seq, or -1 */
    uint64_t fd_seq;
    ZSTD_DCtx *dctx;
    wharf_buf_t payload;
    wharf_buf_t block; /* a record's events, decompressed */
    int have_block;
    /* The block handed out: in block, or (on_last) the buffer's last_events
     * until the next commit replaces them. */
    wharf_str_t view;
    int on_last;
    size_t taken;                   /* bytes of view the output took */
    wharf_buffer_pos_t after_block; /* where read goes once all is taken */
};

struct wharf_buffer {
    char *dir;
    wharf_conf_buffer_t conf;
    int read_only;
    buffer_segment_t *segs; /* oldest first; the last one is appended to */
    size_t n_segs, cap_segs;
    int fd; /* the last segment, for appending; -1 when read-only */
    uint64_t next_event;
    uint64_t bytes; /* all segments */
    int dirty;      /* written since the last fsync */
    int64_t synced_ms;
    ZSTD_CCtx *cctx;
    wharf_buf_t zbuf;       /* compression output */
    wharf_buf_t rec;        /* the commit being written */
    wharf_buf_t checkpoint; /* payload of the last checkpoint */
    wharf_buf_t scratch;
    /* The events of the last commit, uncompressed: a cursor that is caught
     * up takes them from here instead of reading and decompressing them. */
    wharf_buf_t last_events;
    wharf_buffer_pos_t last_at;    /* where that commit starts, or segment 0 */
    wharf_buffer_pos_t last_after; /* where it ends */
    wharf_buffer_stats_t stats;
    int full_logged;
    wharf_buffer_cursor_t **cursors;
    size_t n_cursors;
    buffer_saved_cursor_t *saved; /* as loaded, until the first save */
    size_t n_saved;
    size_t n_persisted;         /* cursors in cursors.json as last read or written */
    wharf_buffer_pos_t *damage; /* damaged ranges seen (segment, offset), counted once */
    size_t n_damage;
    int cursors_lost; /* cursors.json was unreadable: outputs start at the oldest data */
};

buffer_segment_t *buffer_segment_find(wharf_buffer_t *b, uint64_t seq);
/* The position of the first record of segment i. */
wharf_buffer_pos_t buffer_segment_start(const wharf_buffer_t *b, size_t i);
wharf_buffer_pos_t buffer_end(const wharf_buffer_t *b);
/* Bytes from pos to the end of the buffer. */
uint64_t buffer_bytes_after(const wharf_buffer_t *b, const wharf_buffer_pos_t *pos);

/* Counts damage at (seq, off) in the stats unless it was counted before;
 * returns 1 when it is new. */
int buffer_damage_count(wharf_buffer_t *b, uint64_t seq, uint64_t off, uint64_t len);

/* cursor.c */
/* fdatasync of the current segment when a commit is not yet synced. */
int buffer_fsync(wharf_buffer_t *b);
/* Cursors reading the last commit in place copy what they did not take:
 * called before a commit replaces it. */
void buffer_cursors_detach_last(wharf_buffer_t *b);
int buffer_cursors_load(wharf_buffer_t *b);
void buffer_cursors_free(wharf_buffer_t *b);
/* The oldest segment is going away: cursors still in it skip to the next
 * and count what they had not delivered. */
void buffer_cursors_drop_segment(wharf_buffer_t *b, size_t i);
/* The lowest segment any cursor still needs. */
uint64_t buffer_cursors_min_segment(const wharf_buffer_t *b);
/* Cursors past the end after recovery cut the tail are moved back to it. */
void buffer_cursor_clamp(wharf_buffer_t *b, wharf_buffer_pos_t *pos);

#endif
