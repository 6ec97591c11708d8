/* delivery.c - drive each output from its buffer cursor (wharf/delivery.h).
 *
 * Work is done in slices of a few blocks per output per loop turn, so that
 * inputs keep reading while a long backlog is being sent. */
#include "wharf/delivery.h"

#include "wharf/log.h"
#include "wharf/timefmt.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>

#define DELIVERY_SLICE_BLOCKS 4
#define DELIVERY_RETRY_MIN_MS 100
#define DELIVERY_RETRY_MAX_MS 5000

typedef struct delivery_target {
    struct wharf_delivery *d;
    wharf_output_t *out;
    wharf_buffer_cursor_t *cursor;
    int delivered; /* advanced since the last sync */
    int down;      /* failed; waiting for the retry timer */
    int64_t down_since_ns;
    uint64_t retry_ms;
    uv_timer_t retry;
} delivery_target_t;

struct wharf_delivery {
    uv_loop_t *loop;
    wharf_buffer_t *buffer;
    delivery_target_t *targets;
    size_t n_targets;
    uv_timer_t pump;
    int handles;
};

/* Up to max_blocks blocks: 1 when more is waiting, 0 when caught up, or a
 * negative error. */
static int delivery_send(delivery_target_t *t, unsigned max_blocks)
{
    for (unsigned i = 0; i < max_blocks; i++) {
        wharf_str_t block;
        int rc = wharf_buffer_cursor_peek(t->cursor, &block);
        if (rc <= 0)
            return rc;
        long n = t->out->ops->write(t->out, block.ptr, block.len);
        if (n <= 0)
            return n < 0 ? (int)n : -EAGAIN;
        wharf_buffer_cursor_consume(t->cursor, (size_t)n);
        t->delivered = 1;
    }
    return 1;
}

static void delivery_on_retry(uv_timer_t *h);

static void delivery_went_down(delivery_target_t *t, int err)
{
    if (!t->down) {
        wharf_log_error("output cannot take events; keeping them in the buffer and retrying",
                        "output=%s error=\"%s\"", t->out->id, wharf_strerror(err));
        t->down_since_ns = wharf_time_now();
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

/* One slice for one output: 1 when it has more to send now. */
static int delivery_slice(delivery_target_t *t)
{
    int rc = delivery_send(t, DELIVERY_SLICE_BLOCKS);
    if (rc < 0) {
        delivery_went_down(t, rc);
        return 0;
    }
    delivery_came_back(t);
    return rc;
}

static void delivery_on_pump(uv_timer_t *h)
{
    wharf_delivery_t *d = h->data;
    int more = 0;
    for (size_t i = 0; i < d->n_targets; i++)
        if (!d->targets[i].down)
            more |= delivery_slice(&d->targets[i]);
    if (more)
        wharf_delivery_kick(d);
}

static void delivery_on_retry(uv_timer_t *h)
{
    delivery_target_t *t = h->data;
    if (delivery_slice(t))
        wharf_delivery_kick(t->d);
}

void wharf_delivery_kick(wharf_delivery_t *d)
{
    if (d->loop == NULL) {
        /* Oneshot: deliver each commit right away, while its events are
         * still in memory; an output that fails waits for the final drain. */
        for (size_t i = 0; i < d->n_targets; i++)
            if (!d->targets[i].down && delivery_send(&d->targets[i], UINT_MAX) < 0)
                d->targets[i].down = 1;
        return;
    }
    if (!uv_is_active((uv_handle_t *)&d->pump))
        uv_timer_start(&d->pump, delivery_on_pump, 0, 0);
}

int wharf_delivery_drain(wharf_delivery_t *d)
{
    int first_err = 0;
    for (size_t i = 0; i < d->n_targets; i++) {
        delivery_target_t *t = &d->targets[i];
        int rc;
        while ((rc = delivery_send(t, DELIVERY_SLICE_BLOCKS)) > 0)
            ;
        if (rc < 0) {
            wharf_buffer_cursor_info_t info;
            wharf_buffer_cursor_info(t->cursor, &info);
            wharf_log_error("output could not take every event; the rest stays in the buffer "
                            "for the next start",
                            "output=%s error=\"%s\" pending_events=%llu", t->out->id,
                            wharf_strerror(rc), (unsigned long long)info.lag_events);
            if (first_err == 0)
                first_err = rc;
        }
    }
    return first_err;
}

int wharf_delivery_sync(wharf_delivery_t *d)
{
    int first_err = 0;
    for (size_t i = 0; i < d->n_targets; i++) {
        delivery_target_t *t = &d->targets[i];
        if (!t->delivered)
            continue;
        int rc = t->out->ops->sync ? t->out->ops->sync(t->out) : 0;
        if (rc < 0) {
            wharf_log_error("cannot make an output durable; its cursor stays behind",
                            "output=%s error=\"%s\"", t->out->id, wharf_strerror(rc));
            if (first_err == 0)
                first_err = rc;
            continue;
        }
        wharf_buffer_cursor_ack(t->cursor);
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
        wharf_output_t *o = d->targets[i].out;
        if (o->ops->reopen)
            o->ops->reopen(o);
    }
}

int wharf_delivery_new(uv_loop_t *loop, wharf_buffer_t *buffer, wharf_output_t **outputs,
                       size_t n_outputs, wharf_delivery_t **out)
{
    wharf_delivery_t *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return -ENOMEM;
    d->targets = calloc(n_outputs ? n_outputs : 1, sizeof(*d->targets));
    if (d->targets == NULL) {
        free(d);
        return -ENOMEM;
    }
    d->loop = loop;
    d->buffer = buffer;
    for (size_t i = 0; i < n_outputs; i++) {
        delivery_target_t *t = &d->targets[i];
        int rc = wharf_buffer_cursor_open(buffer, outputs[i]->id, &t->cursor);
        if (rc < 0) {
            wharf_delivery_free(d);
            return rc;
        }
        t->d = d;
        t->out = outputs[i];
        d->n_targets++;
    }
    if (loop != NULL) {
        uv_timer_init(loop, &d->pump);
        d->pump.data = d;
        for (size_t i = 0; i < d->n_targets; i++) {
            uv_timer_init(loop, &d->targets[i].retry);
            d->targets[i].retry.data = &d->targets[i];
        }
        d->handles = 1;
    }
    *out = d;
    return 0;
}

void wharf_delivery_stop(wharf_delivery_t *d)
{
    if (!d->handles)
        return;
    uv_close((uv_handle_t *)&d->pump, NULL);
    for (size_t i = 0; i < d->n_targets; i++)
        uv_close((uv_handle_t *)&d->targets[i].retry, NULL);
    d->handles = 0;
}

void wharf_delivery_free(wharf_delivery_t *d)
{
    if (d == NULL)
        return;
    free(d->targets);
    free(d);
}
