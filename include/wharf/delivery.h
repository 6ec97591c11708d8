/* delivery.h - from the disk buffer to the outputs, each at its own pace.
 *
 * Every output reads the buffer through its own cursor, so a slow or dead
 * output never holds back the others; it only makes the buffer grow. An
 * output that fails is retried with backoff (100 ms doubling to 5 s) and
 * logged once per outage, not per attempt. Delivered data becomes
 * acknowledged when the output made it durable (wharf_delivery_sync), and
 * only acknowledged positions are saved and free buffer segments. */
#ifndef WHARF_DELIVERY_H
#define WHARF_DELIVERY_H

#include "wharf/buffer.h"
#include "wharf/output.h"

#include <uv.h>

typedef struct wharf_delivery wharf_delivery_t;

/* loop may be NULL (oneshot): then only drain and sync are used. */
int wharf_delivery_new(uv_loop_t *loop, wharf_buffer_t *buffer, wharf_output_t **outputs,
                       size_t n_outputs, wharf_delivery_t **out);
/* New events were committed: deliver them soon (oneshot: now). */
void wharf_delivery_kick(wharf_delivery_t *d);
/* Delivers everything to every output, in turns, waiting while one is full
 * (oneshot, shutdown: it blocks). An output that makes no progress for 30 s
 * is given up; with timeout_ms >= 0 everything left at that point is too
 * (-ECANCELED): its events stay in the buffer for the next start. Returns
 * 0 when every output got everything, else the first error. */
int wharf_delivery_drain(wharf_delivery_t *d, int64_t timeout_ms);
/* Makes delivered events durable at the outputs, acknowledges them, saves
 * the cursors and deletes segments every output has passed. */
int wharf_delivery_sync(wharf_delivery_t *d);
/* Reopens the outputs (SIGHUP, logrotate). */
void wharf_delivery_reopen(wharf_delivery_t *d);
/* Reload (SIGHUP). add: a new output, its cursor as the buffer saved it or
 * at the buffer's end. remove: the output with that id leaves, its cursor is
 * released (the buffer keeps nothing more for it); returns it for the
 * caller to destroy, NULL when unknown. replace: the output with o's id is
 * swapped for o on the same cursor; what the old one did not confirm within
 * timeout_ms (async) goes to o; returns the old one. */
int wharf_delivery_add(wharf_delivery_t *d, wharf_output_t *o);
wharf_output_t *wharf_delivery_remove(wharf_delivery_t *d, const char *id, int timeout_ms);
wharf_output_t *wharf_delivery_replace(wharf_delivery_t *d, wharf_output_t *o, int timeout_ms);

/* One output as GET /metrics and /health see it (wharf/metrics.h). */
typedef struct wharf_delivery_stats {
    const char *id;
    uint64_t events;       /* delivered: made durable (sync) or confirmed (async) by the output */
    uint64_t failed;       /* it will never get them: undeliverable, or dropped by when_full */
    uint64_t retries;      /* tries after a failure: wharf's backoff and the output's own */
    int64_t down_since_ns; /* 0: up */
    const char *error;     /* why it is down ("" when up) */
    uint64_t lag_events;   /* committed to the buffer, not yet delivered */
    uint64_t lag_bytes;
} wharf_delivery_stats_t;

size_t wharf_delivery_n_outputs(const wharf_delivery_t *d);
/* Output i (in the order given to wharf_delivery_new); on the loop thread. */
void wharf_delivery_stats(const wharf_delivery_t *d, size_t i, wharf_delivery_stats_t *out);
/* Closes the loop handles; free once the loop ran their callbacks. */
void wharf_delivery_stop(wharf_delivery_t *d);
void wharf_delivery_free(wharf_delivery_t *d);

#endif
