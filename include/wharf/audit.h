/* audit.h - wharf's own life cycle as ECS events in its pipeline.
 *
 * PCI DSS asks of a log system that its own starts, stops, configuration
 * changes and failures be logged (10.2.1.6, 10.7.2) and kept like any other
 * log. With `audit: true` wharf emits these as events with event.dataset
 * "wharf.audit" into its own pipeline, so every output gets them and the
 * retention archive keeps them, chained and signed with the rest:
 *
 *   event.action      started | stopped | config-reloaded | config-rejected |
 *                     output-down | output-up | events-dropped
 *   event.category    process, configuration or network; event.type,
 *                     event.outcome as ECS expects for each
 *   wharf.output.id   the output concerned; error.message why it is down;
 *   wharf.events.dropped  how many events the output will never get (the
 *                     buffer dropped them, when_full: drop_oldest, or the
 *                     output refused them as undeliverable) */
#ifndef WHARF_AUDIT_H
#define WHARF_AUDIT_H

#include "wharf/delivery.h"
#include "wharf/pipeline.h"

#include <stdint.h>

typedef enum wharf_audit_action {
    WHARF_AUDIT_STARTED,
    WHARF_AUDIT_STOPPED,
    WHARF_AUDIT_CONFIG_RELOADED,
    WHARF_AUDIT_CONFIG_REJECTED,
    WHARF_AUDIT_OUTPUT_DOWN,
    WHARF_AUDIT_OUTPUT_UP,
    WHARF_AUDIT_EVENTS_DROPPED,
} wharf_audit_action;

typedef struct wharf_audit_record {
    wharf_audit_action action;
    const char *output; /* OUTPUT_DOWN, OUTPUT_UP, EVENTS_DROPPED; may be NULL */
    const char *reason; /* OUTPUT_DOWN, CONFIG_REJECTED; may be NULL */
    uint64_t count;     /* EVENTS_DROPPED */
} wharf_audit_record_t;

/* Emits the record as one event; it is committed with the next commit.
 * Returns what wharf_pipeline_emit returns. */
int wharf_audit_emit(wharf_pipeline_t *p, const wharf_audit_record_t *r);

/* Watches the outputs (wharf_delivery_stats): an output going down or
 * coming back, and events an output will never get, become records. */
typedef struct wharf_audit_watch wharf_audit_watch_t;
int wharf_audit_watch_new(wharf_pipeline_t *p, const wharf_delivery_t *d,
                          wharf_audit_watch_t **out);
/* Emits what changed since the last call; on the loop thread. */
void wharf_audit_watch_tick(wharf_audit_watch_t *w);
void wharf_audit_watch_free(wharf_audit_watch_t *w);

#endif
