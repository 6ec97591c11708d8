/* audit.c - wharf's life-cycle events (see wharf/audit.h).
 *
 * One table says, per action, what ECS expects (category, type, outcome)
 * and how the message reads; emitting is filling one event from it. The
 * watch compares the outputs' stats with what it saw at the last tick, so
 * the delivery layer needs no hooks for it. */
#include "wharf/audit.h"

#include "wharf/timefmt.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct audit_kind {
    const char *action, *category, *type, *outcome;
} audit_kind_t;

static const audit_kind_t audit_kinds[] = {
    [WHARF_AUDIT_STARTED] = {"started", "process", "start", "success"},
    [WHARF_AUDIT_STOPPED] = {"stopped", "process", "end", "success"},
    [WHARF_AUDIT_CONFIG_RELOADED] = {"config-reloaded", "configuration", "change", "success"},
    [WHARF_AUDIT_CONFIG_REJECTED] = {"config-rejected", "configuration", "change", "failure"},
    [WHARF_AUDIT_OUTPUT_DOWN] = {"output-down", "network", "error", "failure"},
    [WHARF_AUDIT_OUTPUT_UP] = {"output-up", "network", "connection", "success"},
    [WHARF_AUDIT_EVENTS_DROPPED] = {"events-dropped", "process", "error", "failure"},
};

static void audit_message(const wharf_audit_record_t *r, char *out, size_t cap)
{
    const char *output = r->output ? r->output : "";
    const char *reason = r->reason ? r->reason : "";
    switch (r->action) {
    case WHARF_AUDIT_STARTED:
        snprintf(out, cap, "wharf started");
        break;
    case WHARF_AUDIT_STOPPED:
        snprintf(out, cap, "wharf stopped");
        break;
    case WHARF_AUDIT_CONFIG_RELOADED:
        snprintf(out, cap, "configuration reloaded");
        break;
    case WHARF_AUDIT_CONFIG_REJECTED:
        snprintf(out, cap, "configuration change rejected, the previous one keeps running: %s",
                 reason);
        break;
    case WHARF_AUDIT_OUTPUT_DOWN:
        snprintf(out, cap, "output %s is down, events wait in the buffer: %s", output, reason);
        break;
    case WHARF_AUDIT_OUTPUT_UP:
        snprintf(out, cap, "output %s is up again", output);
        break;
    case WHARF_AUDIT_EVENTS_DROPPED:
        snprintf(out, cap,
                 "%" PRIu64 " events will never reach output %s (dropped by a full buffer, "
                 "or undeliverable)",
                 r->count, output);
        break;
    }
}

static void audit_set_str(wharf_event_t *e, const char *path, const char *value)
{
    wharf_value_t *v = wharf_event_set_path(e, path, strlen(path), WHARF_V_STR);
    if (v != NULL)
        v->u.str = (wharf_str_t){value, strlen(value)};
}

/* event.category and event.type are arrays in ECS. */
static void audit_set_list(wharf_event_t *e, const char *path, const wharf_str_t *one)
{
    wharf_value_t *v = wharf_event_set_path(e, path, strlen(path), WHARF_V_STRS);
    if (v != NULL) {
        v->u.strs = one;
        v->count = 1;
    }
}

int wharf_audit_emit(wharf_pipeline_t *p, const wharf_audit_record_t *r)
{
    const audit_kind_t *k = &audit_kinds[r->action];
    const wharf_str_t category = {k->category, strlen(k->category)};
    const wharf_str_t type = {k->type, strlen(k->type)};
    char message[512];
    audit_message(r, message, sizeof(message));
    wharf_pipeline_begin_pass(p);
    wharf_event_t *e = wharf_pipeline_event(p);
    wharf_event_set_time(e, WHARF_F_TIMESTAMP, wharf_time_now());
    wharf_event_set_cstr(e, WHARF_F_EVENT_DATASET, "wharf.audit");
    wharf_event_set_cstr(e, WHARF_F_MESSAGE, message);
    wharf_event_set_cstr(e, WHARF_F_PROCESS_NAME, "wharf");
    wharf_event_set_long(e, WHARF_F_PROCESS_PID, (int64_t)getpid());
    audit_set_str(e, "event.action", k->action);
    audit_set_list(e, "event.category", &category);
    audit_set_str(e, "event.module", "wharf");
    audit_set_str(e, "event.outcome", k->outcome);
    audit_set_list(e, "event.type", &type);
    if (r->reason != NULL && r->action != WHARF_AUDIT_OUTPUT_UP)
        audit_set_str(e, "error.message", r->reason);
    if (r->action == WHARF_AUDIT_EVENTS_DROPPED) {
        wharf_value_t *v = wharf_event_set_path(e, "wharf.events.dropped", 20, WHARF_V_LONG);
        if (v != NULL)
            v->u.i64 = (int64_t)r->count;
    }
    if (r->output != NULL)
        audit_set_str(e, "wharf.output.id", r->output);
    return wharf_pipeline_emit(p, e);
}

typedef struct audit_output_seen {
    int down;
    uint64_t failed;
} audit_output_seen_t;

struct wharf_audit_watch {
    wharf_pipeline_t *pipeline;
    const wharf_delivery_t *delivery;
    audit_output_seen_t *seen;
    size_t n;
};

int wharf_audit_watch_new(wharf_pipeline_t *p, const wharf_delivery_t *d, wharf_audit_watch_t **out)
{
    wharf_audit_watch_t *w = calloc(1, sizeof(*w));
    size_t n = wharf_delivery_n_outputs(d);
    if (w == NULL || (w->seen = calloc(n ? n : 1, sizeof(*w->seen))) == NULL) {
        free(w);
        return -ENOMEM;
    }
    w->pipeline = p;
    w->delivery = d;
    w->n = n;
    /* losses counted before this start (saved with the cursors) were
     * reported by the run that saw them */
    for (size_t i = 0; i < n; i++) {
        wharf_delivery_stats_t s;
        wharf_delivery_stats(d, i, &s);
        w->seen[i].failed = s.failed;
    }
    *out = w;
    return 0;
}

void wharf_audit_watch_tick(wharf_audit_watch_t *w)
{
    for (size_t i = 0; i < w->n; i++) {
        wharf_delivery_stats_t s;
        wharf_delivery_stats(w->delivery, i, &s);
        audit_output_seen_t *seen = &w->seen[i];
        int down = s.down_since_ns != 0;
        if (down != seen->down) {
            wharf_audit_record_t r = {down ? WHARF_AUDIT_OUTPUT_DOWN : WHARF_AUDIT_OUTPUT_UP, s.id,
                                      down ? s.error : NULL, 0};
            wharf_audit_emit(w->pipeline, &r);
            seen->down = down;
        }
        if (s.failed > seen->failed) {
            wharf_audit_record_t r = {WHARF_AUDIT_EVENTS_DROPPED, s.id, NULL,
                                      s.failed - seen->failed};
            wharf_audit_emit(w->pipeline, &r);
            seen->failed = s.failed;
        }
    }
}

void wharf_audit_watch_free(wharf_audit_watch_t *w)
{
    if (w == NULL)
        return;
    free(w->seen);
    free(w);
}
