/* json_keyset.h - the member names already written, per JSON object, while
 * wharf copies objects that came from a log message into an event.
 *
 * JSON lets an object name a member twice ({"a":1,"a":2}). Elasticsearch
 * rejects such a document (strict duplicate detection), so one repeated
 * name in an application's log line would lose the whole event at the
 * SIEM; other consumers keep an arbitrary one of the values. Where a
 * parser copies members of a message into the event (`rest`), it keeps
 * the first member of each name and drops the later ones, the member that
 * field references read too.
 *
 * The set holds (object, name) pairs. Objects are numbered as they are
 * opened, so one set serves a whole nested value. Names are copied into
 * the set (kv rules use it too, for keys), and hashed with a random seed chosen when the set is
 * made: they come from log lines, and an unseeded hash would let a crafted line of colliding names
 * make each lookup a scan. */
#ifndef WHARF_JSON_KEYSET_H
#define WHARF_JSON_KEYSET_H

#include "wharf/buf.h"

#include <stddef.h>
#include <stdint.h>

typedef struct wharf_json_keyset_slot wharf_json_keyset_slot_t;

typedef struct wharf_json_keyset {
    wharf_json_keyset_slot_t *slots;
    size_t cap, n;
    wharf_buf_t names;  /* the names' bytes */
    uint64_t next_obj;  /* the number the next object gets */
    uint64_t live_from; /* slots of objects numbered before this are free */
    uint64_t seed;
} wharf_json_keyset_t;

void wharf_json_keyset_init(wharf_json_keyset_t *ks);
void wharf_json_keyset_free(wharf_json_keyset_t *ks);

/* Forgets every pair: the next value starts afresh. */
void wharf_json_keyset_reset(wharf_json_keyset_t *ks);

/* The number of an object about to be written (never 0, never reused). */
uint64_t wharf_json_keyset_object(wharf_json_keyset_t *ks);

/* Records that object obj has a member named name: len bytes, the name as
 * the event writer writes it (quoted, escaped, invalid UTF-8 replaced), so
 * that two names that come out the same are one name (a message can spell
 * one name with different escapes, or with different invalid bytes).
 * Returns 1 when it is the first of that name in obj, 0 when obj already
 * had one (then the member is to be dropped). */
int wharf_json_keyset_add(wharf_json_keyset_t *ks, uint64_t obj, const char *name, size_t len);

#endif
