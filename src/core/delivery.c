/* delivery.c - drive each output from its buffer cursor (wharf/delivery.h).
 *
 * Work is done in slices of a few blocks per output per loop turn, so that
 * inputs keep reading while a long backlog is being sent.
 *
 * An async output (Kafka) confirms after it took the events. For each block
 * it took, a mark remembers how many bytes the output had accepted by the
 * block's end and where the cursor stood then; when the output confirms that
 * many bytes, the cursor is acknowledged up to that place. When it lost what
 * it did not confirm (output.h), the cursor goes back to the last
 * acknowledged place and the output restarts; restarts in a row, with no
 * confirmation between them, wait longer and longer. */
#include "wharf/delivery.h"

#include "wharf/alloc.h"
#include "wharf/array.h"
#include "wharf/log.h"
#include "wharf/timefmt.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DELIVERY_SLICE_BLOCKS      4
#define DELIVERY_RETRY_MIN_MS      100
#define DELIVERY_RETRY_MAX_MS      5000
#define DELIVERY_WAIT_STEP_MS      100   /* drain: waiting for an async output's room */
#define DELIVERY_BUSY_MS           10    /* a full output (write took nothing) is tried again */
#define DELIVERY_STALL_MS          30000 /* drain: an async output confirming nothing */
#define DELIVERY_RESTART_MAX_MS    30000 /* the longest wait before a restart's resend */
#define DELIVERY_RESTARTS_BLOCKING 5     /* oneshot and drain: restarts in a row, then fail */

typedef struct delivery_mark {
    uint64_t end;           /* bytes the output had accepted at the block's end */
    wharf_buffer_pos_t pos; /* the cursor after the block */
    uint64_t events;        /* events it had taken by then */
} delivery_mark_t;

typedef struct delivery_marks {
    delivery_mark_t *v; /* ring of cap (a power of two) */
    size_t head, len, cap;
} delivery_marks_t;

typedef struct delivery_target {
    struct wharf_delivery *d;
    wharf_output_t *out;
    wharf_buffer_cursor_t *cursor;
    int delivered;    /* advanced since the last sync */
    int down;         /* failed; waiting for the retry timer */
    int sync_failing; /* its last sync failed (logged once) */
    int64_t down_since_ns;
    char error[128]; /* why it went down */
    uint64_t retry_ms;
    uv_timer_t retry;
    /* async outputs */
    const wharf_output_async_ops_t *async;
    int busy;           /* full: an async one waits for its wake, others DELIVERY_BUSY_MS */
    uint64_t accepted;  /* bytes the output took */
    uint64_t confirmed; /* async: bytes it confirmed */
    delivery_marks_t marks;
    unsigned restarts_in_row; /* lost and restarted with nothing confirmed since */
    /* for GET /metrics */
    uint64_t events_taken;     /* in blocks the output took whole */
    uint64_t events_confirmed; /* of those, made durable (sync) or confirmed (async) */
    uint64_t retries;          /* retry timer runs after a failure */
    uint64_t dropped_at_start; /* the cursor's when_full drops from earlier runs */
    /* wharf_delivery_drain */
    int drained;
    int64_t progress_ns;
} delivery_target_t;

struct wharf_delivery {
    uv_loop_t *loop;
    wharf_buffer_t *buffer;
    delivery_target_t **targets; /* each allocated alone: libuv handles must not move */
    size_t n_targets, cap_targets;
    uv_idle_t pump;  /* more to send: a slice per turn of the loop (wharf_delivery_kick) */
    unsigned kicks;  /* since the last slice: about the blocks committed meanwhile */
    uv_async_t wake; /* an async output has confirmations or room */
    int handles;
};

static void delivery_marks_push(delivery_marks_t *m, delivery_mark_t mark)
{
    if (m->len == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 64;
        delivery_mark_t *v = wharf_xmalloc(cap * sizeof(*v));
        for (size_t i = 0; i < m->len; i++)
            v[i] = m->v[(m->head + i) & (m->cap - 1)];
        free(m->v);
        m->v = v;
        m->head = 0;
        m->cap = cap;
    }
    m->v[(m->head + m->len) & (m->cap - 1)] = mark;
    m->len++;
}

/* The async output confirmed `confirmed` bytes: acknowledge every block
 * they cover. */
static void delivery_confirm(delivery_target_t *t, uint64_t confirmed)
{
    delivery_marks_t *m = &t->marks;
    int moved = 0;
    wharf_buffer_pos_t pos = {0, 0, 0};
    while (m->len > 0 && m->v[m->head].end <= confirmed) {
        pos = m->v[m->head].pos;
        t->events_confirmed = m->v[m->head].events;
        m->head = (m->head + 1) & (m->cap - 1);
        m->len--;
        moved = 1;
    }
    if (moved) {
        wharf_buffer_cursor_ack_at(t->cursor, pos);
        t->restarts_in_row = 0;
    }
    t->confirmed = confirmed;
}

/* Forgets what the output took and did not confirm: the cursor's next peek
 * is at its last acknowledged place again. */
static void delivery_target_rewind(delivery_target_t *t)
{
    wharf_buffer_cursor_rewind(t->cursor);
    t->marks.len = t->marks.head = 0;
    t->accepted = t->confirmed = 0;
    t->events_taken = t->events_confirmed;
    t->delivered = t->busy = 0;
}

static void delivery_on_retry(uv_timer_t *h);

/* The wait before the resend of the n-th restart in a row: none for the
 * first, DELIVERY_RETRY_MIN_MS for the second, then twice as long each time
 * up to DELIVERY_RESTART_MAX_MS (a broker that fails every producer must
 * not get a new one per round trip). */
static uint64_t delivery_restart_wait_ms(unsigned n)
{
    uint64_t wait_ms = 0;
    for (unsigned i = 1; i < n && wait_ms < DELIVERY_RESTART_MAX_MS; i++)
        wait_ms = wait_ms == 0 ? DELIVERY_RETRY_MIN_MS : wait_ms * 2;
    return wait_ms < DELIVERY_RESTART_MAX_MS ? wait_ms : DELIVERY_RESTART_MAX_MS;
}

/* Keeps the pump away from t for wait_ms (the retry timer lets it back). */
static void delivery_target_hold(delivery_target_t *t, uint64_t wait_ms, const char *why)
{
    t->down = 1;
    t->down_since_ns = wharf_time_now();
    snprintf(t->error, sizeof(t->error), "%s", why);
    uv_timer_start(&t->retry, delivery_on_retry, wait_ms, 0);
}

/* The async output lost what it did not confirm: resend it on a new
 * client, after delivery_restart_wait_ms (oneshot and drain sleep that
 * long, and give up after DELIVERY_RESTARTS_BLOCKING in a row). 0, or a
 * negative error. */
static int delivery_target_restart(delivery_target_t *t, int blocking)
{
    unsigned n = ++t->restarts_in_row;
    uint64_t wait_ms = delivery_restart_wait_ms(n);
    uint64_t unconfirmed = t->events_taken - t->events_confirmed;
    delivery_target_rewind(t);
    if (blocking && n > DELIVERY_RESTARTS_BLOCKING)
        return -ENOTRECOVERABLE;
    wharf_log_warn("output lost the events it had not confirmed; sending them again from the "
                   "buffer",
                   "output=%s unconfirmed_events=%llu restarts_in_row=%u wait_ms=%llu", t->out->id,
                   (unsigned long long)unconfirmed, n, (unsigned long long)wait_ms);
    if (blocking && wait_ms > 0)
        uv_sleep((unsigned)wait_ms);
    int rc = t->async->restart(t->out);
    if (rc < 0) {
        wharf_log_error("cannot restart the output; trying again later", "output=%s error=\"%s\"",
                        t->out->id, wharf_strerror(rc));
        return rc;
    }
    if (blocking || t->d->loop == NULL)
        return 0; /* the caller sends on */
    if (wait_ms > 0)
        delivery_target_hold(t, wait_ms, "restarted after losing what it had not confirmed");
    else
        wharf_delivery_kick(t->d);
    return 0;
}

/* An async output's confirmations (poll's or flush's result), and a restart
 * when it lost the rest. 0, or a negative error (a restart that failed:
 * tried again at the next collect). */
static int delivery_collect(delivery_target_t *t, uint64_t confirmed, int blocking)
{
    delivery_confirm(t, confirmed);
    return t->out->lost ? delivery_target_restart(t, blocking) : 0;
}

/* The output took n bytes of the peeked block. */
static void delivery_took(delivery_target_t *t, size_t n)
{
    wharf_buffer_pos_t before = wharf_buffer_cursor_tell(t->cursor);
    wharf_buffer_cursor_consume(t->cursor, n);
    t->delivered = 1;
    t->accepted += n;
    wharf_buffer_pos_t after = wharf_buffer_cursor_tell(t->cursor);
    if (after.segment == before.segment && after.offset == before.offset)
        return; /* part of the block: counted once all of it is taken */
    if (after.event > before.event)
        t->events_taken += after.event - before.event;
    if (t->async != NULL)
        delivery_marks_push(&t->marks, (delivery_mark_t){t->accepted, after, t->events_taken});
}

/* Up to max_blocks blocks: 1 when more is waiting, 0 when caught up (or the
 * output is full: busy), or a negative error. */
static int delivery_send(delivery_target_t *t, unsigned max_blocks)
{
    for (unsigned i = 0; i < max_blocks; i++) {
        wharf_str_t block;
        int rc = wharf_buffer_cursor_peek(t->cursor, &block);
        if (rc <= 0)
            return rc;
        long n = t->out->ops->write(t->out, block.ptr, block.len);
        if (n == 0) {
            t->busy = 1;
            return 0;
        }
        if (n < 0)
            return (int)n;
        delivery_took(t, (size_t)n);
    }
    return 1;
}

/* Everything to the output, waiting while it is full (an async one: for
 * its confirmations); gives up after DELIVERY_STALL_MS without progress (the
 * rest stays in the buffer). With confirm_all, also waits until an async
 * output confirmed all of it. Oneshot and shutdown only: it blocks. */
static int delivery_send_waiting(delivery_target_t *t, int confirm_all)
{
    int64_t progress_ns = wharf_time_now();
    for (;;) {
        uint64_t accepted = t->accepted, confirmed = t->confirmed;
        t->busy = 0;
        int rc = delivery_send(t, UINT_MAX);
        if (rc < 0)
            return rc;
        int unconfirmed = t->async != NULL && confirm_all && t->confirmed != t->accepted;
        if (!t->busy && !unconfirmed)
            return 0;
        if (t->async != NULL)
            rc = delivery_collect(t, t->async->flush(t->out, DELIVERY_WAIT_STEP_MS), 1);
        else
            uv_sleep(DELIVERY_BUSY_MS);
        if (rc < 0)
            return rc;
        if (t->confirmed != confirmed || t->accepted != accepted)
            progress_ns = wharf_time_now();
        else if (wharf_time_now() - progress_ns > (int64_t)DELIVERY_STALL_MS * 1000000)
            return -ETIMEDOUT;
    }
}

static void delivery_went_down(delivery_target_t *t, int err)
{
    if (!t->down) {
        wharf_log_error("output cannot take events; keeping them in the buffer and retrying",
                        "output=%s error=\"%s\"", t->out->id, wharf_strerror(err));
        t->down_since_ns = wharf_time_now();
        snprintf(t->error, sizeof(t->error), "%s", wharf_strerror(err));
        t->retry_ms = DELIVERY_RETRY_MIN_MS;
    } else if (t->retry_ms < DELIVERY_RETRY_MAX_MS) {
        t->retry_ms =
            t->retry_ms * 2 > DELIVERY_RETRY_MAX_MS ? DELIVERY_RETRY_MAX_MS : t->retry_ms * 2;
    }
    t->down = 1;
    if (t->d->loop != NULL)
        uv_timer_start(&t->retry, delivery_on_retry, t->retry_ms, 0);
}

static void delivery_came_back(delivery_target_t *t)
{
    if (!t->down)
        return;
    wharf_log_info("output takes events again; catching up from the buffer",
                   "output=%s down_s=%.1f", t->out->id,
                   (double)(wharf_time_now() - t->down_since_ns) / 1e9);
    t->down = 0;
}

/* An async output that wakes the loop itself; the others are polled at
 * the ticks and retried on a timer when full. */
static int delivery_target_has_wake(const delivery_target_t *t)
{
    return t->async != NULL && t->async->set_wake != NULL;
}

/* One slice for one output: 1 when it has more to send now. */
static int delivery_slice(delivery_target_t *t, unsigned max_blocks)
{
    int rc = delivery_send(t, max_blocks);
    if (rc < 0) {
        delivery_went_down(t, rc);
        return 0;
    }
    delivery_came_back(t);
    /* full, not failed: no log, no backoff; an output with a wake says
     * when it has room */
    if (t->busy && !delivery_target_has_wake(t) && t->d->loop != NULL)
        uv_timer_start(&t->retry, delivery_on_retry, DELIVERY_BUSY_MS, 0);
    return rc;
}

/* A slice is a few blocks more than were committed since the last one: an
 * output keeps pace with a backlog the inputs read in large turns, and
 * gains on it. */
static void delivery_on_pump(uv_idle_t *h)
{
    wharf_delivery_t *d = h->data;
    unsigned blocks = DELIVERY_SLICE_BLOCKS + d->kicks;
    int more = 0;
    uv_idle_stop(h);
    d->kicks = 0;
    for (size_t i = 0; i < d->n_targets; i++)
        if (!d->targets[i]->down && !d->targets[i]->busy)
            more |= delivery_slice(d->targets[i], blocks);
    if (more)
        wharf_delivery_kick(d);
}

static void delivery_on_retry(uv_timer_t *h)
{
    delivery_target_t *t = h->data;
    t->busy = 0;
    if (t->down)
        t->retries++;
    if (delivery_slice(t, DELIVERY_SLICE_BLOCKS))
        wharf_delivery_kick(t->d);
}

/* An async output has confirmations or room (woken from its thread). */
static void delivery_on_wake(uv_async_t *h)
{
    wharf_delivery_t *d = h->data;
    for (size_t i = 0; i < d->n_targets; i++) {
        delivery_target_t *t = d->targets[i];
        if (t->async == NULL)
            continue;
        delivery_collect(t, t->async->poll(t->out), 0);
        if (t->busy) {
            t->busy = 0;
            wharf_delivery_kick(d);
        }
    }
}

static void delivery_wake(void *arg)
{
    uv_async_send(arg);
}

void wharf_delivery_kick(wharf_delivery_t *d)
{
    if (d->loop == NULL) {
        /* Oneshot: deliver each commit right away, while its events are
         * still in memory; an output that fails waits for the final drain. */
        for (size_t i = 0; i < d->n_targets; i++)
            if (!d->targets[i]->down && delivery_send_waiting(d->targets[i], 0) < 0)
                d->targets[i]->down = 1;
        return;
    }
    /* An idle handle, not a zero timer: started from a timer callback, a
     * zero timer runs again before the loop polls (libuv before 1.48), and
     * a long backlog would keep signals, the API and the cursor saves out.
     * After wharf_delivery_stop (the last commit at shutdown), the drain
     * sends: a closed idle handle must not be started again. */
    if (d->handles) {
        d->kicks += d->kicks < UINT_MAX;
        uv_idle_start(&d->pump, delivery_on_pump);
    }
}

/* One round of the drain for t: what it takes now, and an async output's
 * confirmations (waiting up to DELIVERY_WAIT_STEP_MS). 1 when t has and
 * confirmed everything, 0 when some is left, or a negative error. */
static int delivery_drain_step(delivery_target_t *t)
{
    uint64_t accepted = t->accepted, confirmed = t->confirmed;
    t->busy = 0;
    int rc = delivery_send(t, UINT_MAX);
    if (rc < 0)
        return rc;
    if (!t->busy && (t->async == NULL || t->confirmed == t->accepted))
        return 1;
    if (t->async != NULL &&
        (rc = delivery_collect(t, t->async->flush(t->out, DELIVERY_WAIT_STEP_MS), 1)) < 0)
        return rc;
    int64_t now = wharf_time_now();
    if (t->confirmed != confirmed || t->accepted != accepted)
        t->progress_ns = now;
    else if (now - t->progress_ns > (int64_t)DELIVERY_STALL_MS * 1000000)
        return -ETIMEDOUT;
    return 0;
}

static void delivery_drain_failed(delivery_target_t *t, int rc)
{
    wharf_buffer_cursor_info_t info;
    wharf_buffer_cursor_info(t->cursor, &info);
    wharf_log_error(rc == -ECANCELED ? "shutdown_timeout reached before the output took every "
                                       "event; the rest stays in the buffer for the next start"
                                     : "output could not take every event; the rest stays in "
                                       "the buffer for the next start",
                    "output=%s error=\"%s\" pending_events=%llu", t->out->id, wharf_strerror(rc),
                    (unsigned long long)info.lag_events);
}

int wharf_delivery_drain(wharf_delivery_t *d, int64_t timeout_ms)
{
    int64_t deadline = timeout_ms < 0 ? INT64_MAX : wharf_time_now() + timeout_ms * 1000000;
    int first_err = 0;
    size_t left = d->n_targets;
    for (size_t i = 0; i < d->n_targets; i++) {
        d->targets[i]->drained = 0;
        d->targets[i]->progress_ns = wharf_time_now();
    }
    /* round-robin: a slow output does not hold back the others' last events */
    while (left > 0) {
        int waited = 0;
        for (size_t i = 0; i < d->n_targets; i++) {
            delivery_target_t *t = d->targets[i];
            if (t->drained)
                continue;
            int rc = wharf_time_now() > deadline ? -ECANCELED : delivery_drain_step(t);
            waited |= rc == 0 && t->async != NULL;
            if (rc == 0)
                continue;
            if (rc < 0)
                delivery_drain_failed(t, rc);
            if (rc < 0 && first_err == 0)
                first_err = rc;
            t->drained = 1;
            left--;
        }
        if (left > 0 && !waited)
            uv_sleep(DELIVERY_BUSY_MS);
    }
    return first_err;
}

/* What the cursor saves of the output's health: down when its writes fail
 * or when it says so itself. */
static void delivery_save_health(delivery_target_t *t)
{
    const wharf_output_t *o = t->out;
    wharf_buffer_health_t h;
    memset(&h, 0, sizeof(h));
    int64_t since = t->down ? t->down_since_ns : o->down_since_ns;
    h.down_since_ms = since > 0 ? (uint64_t)(since / 1000000) : 0;
    h.undeliverable = o->undeliverable;
    if (since > 0)
        snprintf(h.error, sizeof(h.error), "%s", t->down ? t->error : o->error);
    wharf_buffer_cursor_set_health(t->cursor, &h);
}

int wharf_delivery_sync(wharf_delivery_t *d)
{
    int first_err = 0;
    for (size_t i = 0; i < d->n_targets; i++) {
        delivery_target_t *t = d->targets[i];
        if (t->async != NULL) {
            delivery_collect(t, t->async->poll(t->out), 0);
            delivery_save_health(t);
            if (t->marks.len == 0 && t->confirmed == t->accepted)
                wharf_buffer_cursor_ack(t->cursor); /* see below */
            if (t->busy && t->d->loop != NULL && t->confirmed == t->accepted) {
                t->busy = 0; /* a wake that got lost */
                wharf_delivery_kick(t->d);
            }
            continue;
        }
        delivery_save_health(t);
        if (!t->delivered) {
            /* Nothing written since the last ack: what the cursor passed
             * since holds no events (a commit's checkpoint record), and a
             * cursor left before it would keep it as lag for good. */
            wharf_buffer_cursor_ack(t->cursor);
            continue;
        }
        int rc = t->out->ops->sync ? t->out->ops->sync(t->out) : 0;
        if (rc < 0) {
            /* once per episode: a receiver that stops reading fails every tick */
            if (!t->sync_failing)
                wharf_log_error("cannot make an output durable; its cursor stays behind",
                                "output=%s error=\"%s\"", t->out->id, wharf_strerror(rc));
            t->sync_failing = 1;
            if (first_err == 0)
                first_err = rc;
            continue;
        }
        t->sync_failing = 0;
        wharf_buffer_cursor_ack(t->cursor);
        t->events_confirmed = t->events_taken;
        t->delivered = 0;
    }
    int rc = wharf_buffer_save_cursors(d->buffer);
    if (rc == 0)
        rc = wharf_buffer_trim(d->buffer);
    if (rc == 0)
        rc = wharf_buffer_tick(d->buffer);
    return first_err ? first_err : rc;
}

void wharf_delivery_reopen(wharf_delivery_t *d)
{
    for (size_t i = 0; i < d->n_targets; i++) {
        wharf_output_t *o = d->targets[i]->out;
        if (o->ops->reopen)
            o->ops->reopen(o);
    }
}

/* An async output's wake goes to the loop (d NULL: to nothing any more). */
static void delivery_target_wake_to(delivery_target_t *t, wharf_delivery_t *d)
{
    if (!delivery_target_has_wake(t))
        return;
    if (d != NULL)
        t->async->set_wake(t->out, delivery_wake, &d->wake);
    else
        t->async->set_wake(t->out, NULL, NULL);
}

/* The loop side of a target: its retry timer and the output's wake. */
static void delivery_target_attach(wharf_delivery_t *d, delivery_target_t *t)
{
    uv_timer_init(d->loop, &t->retry);
    t->retry.data = t;
    delivery_target_wake_to(t, d);
}

static void delivery_target_free(delivery_target_t *t)
{
    free(t->marks.v);
    free(t);
}

static void delivery_target_closed(uv_handle_t *h)
{
    delivery_target_free(h->data);
}

/* A target for o, its cursor where the buffer saved it (or at the end). */
static int delivery_target_new(wharf_delivery_t *d, wharf_output_t *o)
{
    if (wharf_array_reserve(&d->targets, &d->cap_targets, d->n_targets + 1,
                            sizeof(delivery_target_t *), 8) < 0)
        return -ENOMEM;
    delivery_target_t *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return -ENOMEM;
    int rc = wharf_buffer_cursor_open(d->buffer, o->id, &t->cursor);
    if (rc < 0) {
        free(t);
        return rc;
    }
    t->d = d;
    t->out = o;
    t->async = o->ops->async;
    wharf_buffer_cursor_info_t info;
    wharf_buffer_cursor_info(t->cursor, &info);
    t->dropped_at_start = info.dropped_events;
    d->targets[d->n_targets++] = t;
    return 0;
}

int wharf_delivery_new(uv_loop_t *loop, wharf_buffer_t *buffer, wharf_output_t **outputs,
                       size_t n_outputs, wharf_delivery_t **out)
{
    wharf_delivery_t *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return -ENOMEM;
    d->loop = loop;
    d->buffer = buffer;
    for (size_t i = 0; i < n_outputs; i++) {
        int rc = delivery_target_new(d, outputs[i]);
        if (rc < 0) {
            wharf_delivery_free(d);
            return rc;
        }
    }
    if (loop != NULL) {
        int rc = uv_async_init(loop, &d->wake, delivery_on_wake);
        if (rc < 0) {
            wharf_delivery_free(d);
            return rc;
        }
        d->wake.data = d;
        uv_idle_init(loop, &d->pump);
        d->pump.data = d;
        for (size_t i = 0; i < d->n_targets; i++)
            delivery_target_attach(d, d->targets[i]);
        d->handles = 1;
    }
    *out = d;
    return 0;
}

int wharf_delivery_add(wharf_delivery_t *d, wharf_output_t *o)
{
    int rc = delivery_target_new(d, o);
    if (rc < 0)
        return rc;
    if (d->handles)
        delivery_target_attach(d, d->targets[d->n_targets - 1]);
    wharf_delivery_kick(d);
    return wharf_buffer_save_cursors(d->buffer);
}

static size_t delivery_find(const wharf_delivery_t *d, const char *id)
{
    for (size_t i = 0; i < d->n_targets; i++)
        if (strcmp(d->targets[i]->out->id, id) == 0)
            return i;
    return SIZE_MAX;
}

/* An async output confirms what it can within timeout_ms; then what it has
 * not confirmed is handed out again from the buffer (to whatever output
 * the target has next). A sync output makes what it took durable. */
static void delivery_target_settle(delivery_target_t *t, int timeout_ms)
{
    if (t->async != NULL) {
        delivery_confirm(t, t->async->flush(t->out, timeout_ms));
        delivery_target_wake_to(t, NULL);
    } else if (t->delivered && (t->out->ops->sync == NULL || t->out->ops->sync(t->out) == 0)) {
        wharf_buffer_cursor_ack(t->cursor);
        t->events_confirmed = t->events_taken;
    }
    delivery_target_rewind(t);
}

wharf_output_t *wharf_delivery_remove(wharf_delivery_t *d, const char *id, int timeout_ms)
{
    size_t i = delivery_find(d, id);
    if (i == SIZE_MAX)
        return NULL;
    delivery_target_t *t = d->targets[i];
    wharf_output_t *o = t->out;
    delivery_target_settle(t, timeout_ms);
    wharf_buffer_cursor_close(t->cursor);
    memmove(d->targets + i, d->targets + i + 1,
            (d->n_targets - i - 1) * sizeof(delivery_target_t *));
    d->n_targets--;
    if (d->handles)
        uv_close((uv_handle_t *)&t->retry, delivery_target_closed);
    else
        delivery_target_free(t);
    return o;
}

wharf_output_t *wharf_delivery_replace(wharf_delivery_t *d, wharf_output_t *o, int timeout_ms)
{
    size_t i = delivery_find(d, o->id);
    if (i == SIZE_MAX)
        return NULL;
    delivery_target_t *t = d->targets[i];
    wharf_output_t *old = t->out;
    delivery_target_settle(t, timeout_ms);
    if (d->handles)
        uv_timer_stop(&t->retry);
    t->out = o;
    t->async = o->ops->async;
    t->down = t->sync_failing = 0;
    if (d->handles)
        delivery_target_wake_to(t, d);
    wharf_delivery_kick(d);
    return old;
}

size_t wharf_delivery_n_outputs(const wharf_delivery_t *d)
{
    return d->n_targets;
}

/* Messages an async output skipped as undeliverable were confirmed too, so
 * that they would not hold its cursor: they are failures, not deliveries. */
void wharf_delivery_stats(const wharf_delivery_t *d, size_t i, wharf_delivery_stats_t *out)
{
    const delivery_target_t *t = d->targets[i];
    const wharf_output_t *o = t->out;
    wharf_buffer_cursor_info_t info;
    wharf_buffer_cursor_info(t->cursor, &info);
    out->id = o->id;
    out->events =
        t->events_confirmed > o->undeliverable ? t->events_confirmed - o->undeliverable : 0;
    out->failed = o->undeliverable + (info.dropped_events - t->dropped_at_start);
    out->retries = t->retries + o->retries;
    out->down_since_ns = t->down ? t->down_since_ns : o->down_since_ns;
    out->error = t->down ? t->error : o->error;
    out->lag_events = info.lag_events;
    out->lag_bytes = info.lag_bytes;
}

void wharf_delivery_stop(wharf_delivery_t *d)
{
    if (!d->handles)
        return;
    uv_close((uv_handle_t *)&d->pump, NULL);
    for (size_t i = 0; i < d->n_targets; i++) {
        delivery_target_t *t = d->targets[i];
        uv_close((uv_handle_t *)&t->retry, NULL);
        delivery_target_wake_to(t, NULL);
    }
    /* after set_wake: no output thread sends to it any more */
    uv_close((uv_handle_t *)&d->wake, NULL);
    d->handles = 0;
}

void wharf_delivery_free(wharf_delivery_t *d)
{
    if (d == NULL)
        return;
    for (size_t i = 0; i < d->n_targets; i++)
        delivery_target_free(d->targets[i]);
    free(d->targets);
    free(d);
}
