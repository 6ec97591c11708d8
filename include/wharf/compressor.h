/* compressor.h - compresses event blocks on a second core.
 *
 * zstd costs about as much CPU as decoding and serializing the events, so
 * the pipeline hands each full block to this worker thread and goes on
 * filling the next one; the buffer write happens back on the loop thread.
 * The same job first fdatasyncs the buffer segment written by the previous
 * commit (fsync: batch), so that wait is off the loop thread too.
 *
 * One job at a time: start, then wait (or poll with done) before the next
 * start. The worker touches nothing but the job's input and its own output. */
#ifndef WHARF_COMPRESSOR_H
#define WHARF_COMPRESSOR_H

#include "wharf/common.h"

#include <stddef.h>

typedef struct wharf_compressor wharf_compressor_t;

/* notify (may be NULL) is called on the worker thread when a job is done:
 * uv_async_send fits. */
int wharf_compressor_new(int level, void (*notify)(void *arg), void *arg, wharf_compressor_t **out);
/* Replaces notify: after it returns, the old one is not called again. */
void wharf_compressor_set_notify(wharf_compressor_t *z, void (*notify)(void *arg), void *arg);
/* Waits for a running job and stops the thread. */
void wharf_compressor_free(wharf_compressor_t *z);
/* fdatasync(sync_fd) when sync_fd >= 0, then compress raw[0..len) into one
 * zstd frame; raw must stay untouched until wharf_compressor_wait. */
void wharf_compressor_start(wharf_compressor_t *z, int sync_fd, const char *raw, size_t len);
/* Waits for the job: 0 and the frame (valid until the next start; empty
 * when len was 0), or -EIO when compression failed. *sync_err gets the
 * fdatasync's -errno, or 0. */
int wharf_compressor_wait(wharf_compressor_t *z, wharf_str_t *frame, int *sync_err);

#endif
