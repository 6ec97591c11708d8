/* json_find.h - look up one field by dotted path in serialized JSON.
 *
 * Outputs hold events as the NDJSON the writer produced, and need a few
 * fields of each (a Kafka key, a topic, a syslog app name). Parsing the whole
 * event into a tree for that costs more than serializing it did, so this
 * scans the text once, descends only into the objects on the path, skips
 * everything else structurally (strings with memchr, containers with a bit
 * stack, no recursion) and allocates nothing. The value comes back as a
 * slice of the input. */
#ifndef WHARF_JSON_FIND_H
#define WHARF_JSON_FIND_H

#include "wharf/buf.h"
#include "wharf/common.h"
#include "wharf/json_keyset.h"

#include <stddef.h>

/* Containers nested deeper than this (the top-level object is depth 1) make
 * the text malformed. */
#define WHARF_JSON_MAX_DEPTH 64

typedef enum wharf_json_type {
    WHARF_JSON_NULL = 1,
    WHARF_JSON_FALSE,
    WHARF_JSON_TRUE,
    WHARF_JSON_NUMBER,
    WHARF_JSON_STRING,
    WHARF_JSON_OBJECT,
    WHARF_JSON_ARRAY,
} wharf_json_type_t;

typedef struct wharf_json_value {
    wharf_json_type_t type;
    /* STRING: the bytes between the quotes, still escaped (decode them with
     * wharf_json_string_unescape, or use them as they are when !escaped).
     * NUMBER, TRUE, FALSE, NULL: the token's text ("-1.5e3", "true").
     * OBJECT, ARRAY: the text from the opening to the closing bracket. */
    wharf_str_t raw;
    /* STRING only: 1 when raw holds at least one backslash escape. */
    int escaped;
} wharf_json_value_t;

/* Finds the value at path (path_len bytes, not NUL-terminated) in json, a
 * JSON object text (surrounding whitespace, e.g. NDJSON's '\n', is fine).
 *
 * Each '.'-separated segment of path names an object member. A member name
 * that itself contains dots (container labels when labels_dedot is off, e.g.
 * "app.kubernetes.io/name") matches the segments it spells out, so
 * "container.labels.app.kubernetes.io/name" finds it; the first member in
 * document order through which the whole path resolves wins (this also
 * settles duplicate keys). Member names are compared after unescaping.
 * Arrays are never descended into: a path through one is absent.
 *
 * Returns 1 and fills *value when found; 0 when absent (also when a segment
 * before the last names a non-object); -EINVAL when path is empty or has an
 * empty segment ("a..b", ".a", "a."); WHARF_EPARSE when the text is not a
 * JSON object or nests deeper than WHARF_JSON_MAX_DEPTH. The scan stops at
 * the token after the found value (which must be ',' or '}'), so text after
 * that point is not checked; a 0 means the whole text was checked.
 * Deliberately lenient in what cannot change a result: the escapes and
 * control bytes of strings that are skipped or returned are not validated
 * here (wharf_json_string_unescape validates escapes). */
int wharf_json_find(const char *json, size_t len, const char *path, size_t path_len,
                    wharf_json_value_t *value);

/* A member of an object: its name (raw, still escaped) and value. */
typedef struct wharf_json_member {
    wharf_str_t key;
    int key_escaped; /* key holds a backslash escape */
    wharf_json_value_t value;
} wharf_json_member_t;

/* The members of the JSON object text json, in document order, in one scan
 * checked as wharf_json_find checks what it passes. The first max go to
 * out; *n is how many there are. 0, or WHARF_EPARSE when the text is not
 * one JSON object. */
int wharf_json_members(const char *json, size_t len, wharf_json_member_t *out, size_t max,
                       size_t *n);

/* Appends the decoded text of a JSON string body (the raw of a STRING value)
 * to out: escapes become their bytes, \uXXXX and surrogate pairs become
 * UTF-8, a lone surrogate becomes U+FFFD, other bytes are copied as they are.
 * Returns 0, or WHARF_EPARSE on an invalid escape (then out is unchanged). */
int wharf_json_string_unescape(wharf_str_t raw, wharf_buf_t *out);

/* Replaces every '.' of s[0..n) with '_'. For a member name as the writer
 * wrote it (no escape holds a dot): Elasticsearch reads "a.b" as b inside
 * a, so an object with both "a": 1 and "a.b": 2 cannot be indexed, as the
 * labels of Kubernetes objects often are ("app", "app.kubernetes.io/name"). */
void wharf_json_dedot(char *s, size_t n);

/* Appends raw, one JSON value these functions scanned (a member's value),
 * to out without the whitespace between tokens, its strings re-encoded as
 * the event writer writes them (escapes decoded and checked, invalid UTF-8
 * replaced), member names dedotted when dedot is set, and without the
 * members of an object whose name came earlier in the same object (names
 * records them; each object opened gets a new number in it); tmp is
 * scratch. Returns 0, or WHARF_EPARSE on an invalid escape or an
 * unterminated string (out then holds part of the value). */
int wharf_json_compact(wharf_str_t raw, wharf_buf_t *out, wharf_buf_t *tmp,
                       wharf_json_keyset_t *names, int dedot);

#endif
