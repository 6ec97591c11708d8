/* output.h - the output interface: where NDJSON blocks go.
 *
 * An output type is one file in src/output/ exporting a wharf_output_type_t
 * and one line in src/output/registry.c. */
#ifndef WHARF_OUTPUT_H
#define WHARF_OUTPUT_H

#include "wharf/config.h"

#include <stddef.h>
#include <stdint.h>

typedef struct wharf_output wharf_output_t;

/* Outputs that confirm delivery after they took the events (Kafka: the
 * delivery reports). Bytes are counted from the first byte write() ever
 * accepted (since the last restart); the delivery layer maps confirmed
 * bytes back to buffer positions, so a cursor only passes what the output
 * confirmed, in order.
 *
 * An output whose client failed for good (Kafka: the idempotent producer's
 * fatal errors) sets `lost` in wharf_output_t: what it took and did not
 * confirm will never be confirmed. The delivery layer then hands out again
 * everything after the last confirmation and calls restart. */
typedef struct wharf_output_async_ops {
    /* wake(arg) may be called from any thread when confirmations or room for
     * more are waiting; the loop then calls poll. May be NULL: poll is
     * called at the loop's ticks, and a full output is tried again soon. */
    void (*set_wake)(wharf_output_t *o, void (*wake)(void *arg), void *arg);
    /* On the loop thread: serves what is waiting; returns the bytes
     * confirmed so far, in order (a message that can never be delivered is
     * counted, logged, and confirmed so that it does not block the rest). */
    uint64_t (*poll)(wharf_output_t *o);
    /* Waits up to timeout_ms for every accepted byte to be confirmed;
     * returns what poll returns. */
    uint64_t (*flush)(wharf_output_t *o, int timeout_ms);
    /* On the loop thread, once `lost` is set: drops the failed client and
     * starts a new one; byte counts start again at 0 and `lost` is cleared.
     * A negative error leaves `lost` set (restart is called again later). */
    int (*restart)(wharf_output_t *o);
} wharf_output_async_ops_t;

typedef struct wharf_output_ops {
    /* Writes len bytes of complete NDJSON lines; returns bytes accepted
     * (possibly fewer, then retried with the rest) or a negative error. An
     * async output returns 0 when it is full: the delivery layer waits for
     * its wake (or, without set_wake, tries again soon). */
    long (*write)(wharf_output_t *o, const char *data, size_t len);
    int (*sync)(wharf_output_t *o);   /* durable up to here; may be NULL */
    int (*reopen)(wharf_output_t *o); /* SIGHUP; may be NULL */
    void (*destroy)(wharf_output_t *o);
    const wharf_output_async_ops_t *async; /* NULL: delivered once sync returns */
} wharf_output_ops_t;

struct wharf_output {
    const wharf_output_ops_t *ops;
    const char *id; /* the section's id, owned by the config */
    /* Health the output knows better than its write() results tell (Kafka:
     * brokers away while librdkafka still queues; messages it had to skip).
     * Saved with the cursor and shown by `wharf buffer stat`. */
    int64_t down_since_ns; /* 0: up */
    uint64_t undeliverable;
    int lost; /* async: what is not confirmed never will be (see above) */
    char error[128];
    /* Attempts the output made again by itself after a failure (Kafka:
     * failed broker connections librdkafka reported), for GET /metrics. */
    uint64_t retries;
};

typedef struct wharf_output_type {
    wharf_plugin_conf_t conf;
    int (*create)(const wharf_conf_section_t *sec, wharf_output_t **out);
} wharf_output_type_t;

const wharf_output_type_t *wharf_output_type_find(const char *type);

#endif
