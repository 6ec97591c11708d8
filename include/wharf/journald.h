/* journald.h - systemd journal entries as ECS events.
 *
 * The `journald` input (src/input/journald.c) reads entries with sd-journal
 * and hands each one over as a journald_entry_t: the values of the journal
 * fields wharf maps, copied out of the journal's memory map. The mapper
 * (src/input/journald_entry.c) turns an entry into an event: syslog
 * severity and facility, process, user, unit, host and transport fields, and
 * for entries Docker's journald logging driver wrote, the container fields
 * (from Docker's own config.v2.json when it is readable, from the entry
 * otherwise) and the joining of messages Docker split into parts.
 *
 * Field mapping (README "journald input" has the table):
 *   MESSAGE -> message, __REALTIME_TIMESTAMP -> @timestamp,
 *   PRIORITY -> log.syslog.severity.code/.name and log.level,
 *   SYSLOG_FACILITY -> log.syslog.facility.code/.name,
 *   SYSLOG_IDENTIFIER (else _COMM) -> process.name, _PID -> process.pid,
 *   _EXE -> process.executable, _CMDLINE -> process.command_line,
 *   _UID -> user.id, _SYSTEMD_UNIT -> systemd.unit, _HOSTNAME ->
 *   host.hostname, _BOOT_ID -> host.boot.id, _TRANSPORT ->
 *   journald.transport, CONTAINER_TAG -> journald.container_tag,
 *   CONTAINER_ID_FULL (else CONTAINER_ID) -> container.id, CONTAINER_NAME ->
 *   container.name, IMAGE_NAME -> container.image.name/.tag. */
#ifndef WHARF_JOURNALD_H
#define WHARF_JOURNALD_H

#include "wharf/common.h"
#include "wharf/pipeline.h"

#include <stddef.h>
#include <stdint.h>

#define JOURNALD_FIELDS(X)                                                                         \
    X(MESSAGE, "MESSAGE")                                                                          \
    X(PRIORITY, "PRIORITY")                                                                        \
    X(SYSLOG_FACILITY, "SYSLOG_FACILITY")                                                          \
    X(SYSLOG_IDENTIFIER, "SYSLOG_IDENTIFIER")                                                      \
    X(SYSLOG_PID, "SYSLOG_PID")                                                                    \
    X(COMM, "_COMM")                                                                               \
    X(PID, "_PID")                                                                                 \
    X(EXE, "_EXE")                                                                                 \
    X(CMDLINE, "_CMDLINE")                                                                         \
    X(UID, "_UID")                                                                                 \
    X(SYSTEMD_UNIT, "_SYSTEMD_UNIT")                                                               \
    X(HOSTNAME, "_HOSTNAME")                                                                       \
    X(BOOT_ID, "_BOOT_ID")                                                                         \
    X(TRANSPORT, "_TRANSPORT")                                                                     \
    X(CONTAINER_ID, "CONTAINER_ID")                                                                \
    X(CONTAINER_ID_FULL, "CONTAINER_ID_FULL")                                                      \
    X(CONTAINER_NAME, "CONTAINER_NAME")                                                            \
    X(CONTAINER_TAG, "CONTAINER_TAG")                                                              \
    X(IMAGE_NAME, "IMAGE_NAME")                                                                    \
    X(CONTAINER_PARTIAL_MESSAGE, "CONTAINER_PARTIAL_MESSAGE")

typedef enum journald_field {
#define JOURNALD_FIELD_ENUM(id, name) JOURNALD_F_##id,
    JOURNALD_FIELDS(JOURNALD_FIELD_ENUM)
#undef JOURNALD_FIELD_ENUM
        JOURNALD_F__COUNT
} journald_field;

/* The mapped field a journal field name stands for, or -1. */
int journald_field_lookup(const char *name, size_t len);
const char *journald_field_name(journald_field f);

/* Syslog severity 0-7 as RFC 5424 names it ("Error") and as log.level
 * ("error"); facility 0-23 ("authpriv", "local0"). NULL when out of range. */
const char *journald_severity_name(int code);
const char *journald_level_name(int code);
const char *journald_facility_name(int code);

/* One journal entry's mapped fields. ptr == NULL: the entry lacks it. The
 * values are cut at max_line_bytes; `truncated` says one was. */
typedef struct journald_entry {
    wharf_str_t f[JOURNALD_F__COUNT];
    int64_t realtime_us;
    int truncated;
} journald_entry_t;

typedef struct journald_mapper journald_mapper_t;

/* docker_root: where Docker keeps <id>/config.v2.json (NULL: never look). */
int journald_mapper_new(wharf_pipeline_t *pipeline, const char *docker_root,
                        uint64_t max_line_bytes, journald_mapper_t **out);
void journald_mapper_free(journald_mapper_t *m);
/* Emits the entry as an event, or keeps it when it is a part of a message
 * Docker split (emitted joined with its last part). 0 or -errno. */
int journald_mapper_entry(journald_mapper_t *m, const journald_entry_t *e);
/* Messages whose parts are still being joined: while there are any, the
 * input's position must stay at the entry holding the oldest first part. */
size_t journald_mapper_joining(const journald_mapper_t *m);
/* Events emitted so far. */
uint64_t journald_mapper_events(const journald_mapper_t *m);
/* Emits, tagged partial_unterminated, the messages whose first part was
 * read max_wait_ns or more before now_ns and whose last part never came
 * (Docker stopped mid-message): the position cannot stay held forever. */
void journald_mapper_flush_stale(journald_mapper_t *m, int64_t now_ns, int64_t max_wait_ns);

#endif
