/* tail.h - the file tailer shared by the Docker and CRI inputs.
 *
 * It finds files by glob, follows them through rotation (rename, kubelet's
 * timestamped rename, copytruncate), splits them into lines and hands each
 * line to the input's decoder. It owns file identity and offsets; decoders
 * own everything format-specific, including partial lines they are still
 * joining, which they report through safe_offset so a restart re-reads them.
 *
 * Discovery: inotify on the glob base and on every directory holding a
 * tailed file (uv_fs_event), plus a rescan every rescan_interval as a safety
 * net. A file renamed away is read to its end and kept open for rotate_wait
 * after it stopped growing (a runtime may still write a few lines into it
 * before it reopens), then closed.
 *
 * Rotated names (GLOB.N from Docker, GLOB.<timestamp> from the kubelet; not
 * compressed ones) are matched too: a file created and rotated away between
 * two scans, or while wharf was stopped, is still read, and a finished file
 * is remembered (with its position) until it is deleted, so it is not read
 * twice.
 *
 * While the pipeline is blocked (the disk buffer is full) nothing is read; a
 * file deleted meanwhile is held open at most max_hold_deleted, then let go
 * with its unread bytes logged as lost, so a stuck output cannot fill the
 * host's disk with deleted logs. */
#ifndef WHARF_TAIL_H
#define WHARF_TAIL_H

#include "wharf/config.h"
#include "wharf/pipeline.h"
#include "wharf/positions.h"

#include <stdint.h>
#include <uv.h>

#define WHARF_TAIL_FP_MAX 64 /* bytes of a file's head in its fingerprint */
#define WHARF_TAIL_COPIES 8  /* truncations remembered for copytruncate */

typedef struct wharf_tail wharf_tail_t;

typedef struct wharf_tail_file {
    char *path;
    int fd;
    uint64_t dev, ino;
    uint64_t fp_hash;
    uint32_t fp_len;
    unsigned char head[WHARF_TAIL_FP_MAX]; /* the fp_len bytes fp_hash is of */
    uint64_t read_off;                     /* next byte to read */
    uint64_t line_off;                     /* first byte not yet split into a line */
    uint64_t pending;                      /* every line before it is emitted */
    char *carry;                           /* bytes [line_off, read_off): a line still open */
    size_t carry_len, carry_cap;
    /* The heads of the file before its last truncations and how far each had
     * been read, so that a copy made by copytruncate continues from there
     * even when several rotations passed before the copy was seen. */
    struct wharf_tail_copied {
        unsigned char head[WHARF_TAIL_FP_MAX];
        uint32_t fp_len;
        uint64_t off;
    } copied[WHARF_TAIL_COPIES];
    unsigned n_truncations;
    int skipping;      /* discarding the rest of an over-long line */
    uint64_t skip_off; /* where that over-long line started */
    int ignored;       /* the decoder declined it (e.g. excluded container) */
    int rotated;       /* no live glob names it any more */
    int finished;      /* rotated and read to its end: closed, kept as a record */
    int seen;          /* matched by any glob in the current scan */
    int seen_live;     /* matched by a live (not rotated-name) glob */
    int64_t idle_since_ns;
    int64_t deleted_since_ns; /* unlinked while inputs were paused, or 0 */
    void *user;               /* the decoder's per-file state */
    struct wharf_tail_file *next;
} wharf_tail_file_t;

/* The decoder side. `line` receives a line without its '\n'; `truncated` is
 * set when it was cut at max_line_bytes. */
typedef struct wharf_tail_decoder {
    void *arg;
    int (*open)(void *arg, wharf_tail_file_t *f); /* 0: tail it, 1: ignore it */
    void (*line)(void *arg, wharf_tail_file_t *f, const char *line, size_t len, uint64_t off,
                 int truncated);
    /* Offset of the first line whose event is not emitted yet (a partial line
     * being joined), or UINT64_MAX when nothing is pending. */
    uint64_t (*safe_offset)(void *arg, wharf_tail_file_t *f);
    /* The file is done (closed after rotation, or truncated): emit what is
     * pending. */
    void (*flush)(void *arg, wharf_tail_file_t *f);
    void (*close)(void *arg, wharf_tail_file_t *f); /* free f->user */
    /* After each read of a file: emit what has waited for its next line
     * long enough by now_ns (INT64_MAX in a oneshot read, which ends at the
     * files' ends). May be NULL. */
    void (*expire)(void *arg, wharf_tail_file_t *f, int64_t now_ns);
} wharf_tail_decoder_t;

typedef struct wharf_tail_opts {
    const char *input_id;
    const wharf_strv_t *globs;
    int read_from_end;
    uint64_t max_line_bytes;
    int64_t rotate_wait_ms;
    int64_t rescan_ms;
    int64_t max_hold_deleted_ms; /* a paused input lets go of deleted files after this */
} wharf_tail_opts_t;

/* loop may be NULL for oneshot use (wharf_tail_read_all only). */
int wharf_tail_new(uv_loop_t *loop, wharf_pipeline_t *pipeline, const wharf_positions_t *positions,
                   const wharf_tail_opts_t *opts, const wharf_tail_decoder_t *decoder,
                   wharf_tail_t **out);
int wharf_tail_start(wharf_tail_t *t);
/* Scans once and reads every file to its current end; lines still open at
 * the end (no '\n' yet) are left for the next run. */
int wharf_tail_read_all(wharf_tail_t *t);
void wharf_tail_stop(wharf_tail_t *t);
int wharf_tail_positions(wharf_tail_t *t, wharf_positions_t *out);

typedef struct wharf_tail_stats {
    uint64_t bytes_read; /* since wharf_tail_new */
    uint64_t open_files;
    uint64_t lag_bytes; /* open files' sizes now minus what was split into lines */
} wharf_tail_stats_t;
/* One fstat per open file: for scrapes, not for the read path. */
void wharf_tail_stats(const wharf_tail_t *t, wharf_tail_stats_t *out);
/* Frees after wharf_tail_stop() and once the loop has run the close callbacks. */
void wharf_tail_free(wharf_tail_t *t);

#endif
