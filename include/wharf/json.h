/* json.h - the JSON writer: events to NDJSON, always valid UTF-8 JSON.
 *
 * Whatever bytes a container wrote, the output parses: control characters
 * are escaped and invalid UTF-8 is replaced with U+FFFD, byte by byte. */
#ifndef WHARF_JSON_H
#define WHARF_JSON_H

#include "wharf/buf.h"
#include "wharf/event.h"

#include <stddef.h>
#include <stdint.h>

#define WHARF_JSON_TIME_CACHE 2

#define WHARF_JSON_PATH_CACHE 64
#define WHARF_JSON_PATH_DEPTH 8

/* A field path's keys rendered once, as "a":{"b":{"c": with where each
 * component's key starts (json.c keeps them for the static fields; the
 * writer caches them for dynamic ones: parsers write the same few dynamic
 * paths on every event). */
typedef struct wharf_json_path_keys {
    uint16_t path_len, len; /* len 0: an empty entry */
    uint16_t before;        /* a dynamic path's place: the first static field after it */
    uint8_t depth;
    uint8_t comp_start[WHARF_JSON_PATH_DEPTH];
    char path[64];  /* the path it was rendered for */
    char text[160]; /* its keys */
} wharf_json_path_keys_t;

/* Writer state reused across events: caches formatted date-time prefixes so
 * that timestamps in a recently seen second format cheaply (two entries,
 * because every event carries two clocks: @timestamp and event.created),
 * and the keys of recently written dynamic fields. */
typedef struct wharf_json_writer {
    int64_t cached_sec[WHARF_JSON_TIME_CACHE];
    char cached_text[WHARF_JSON_TIME_CACHE][20]; /* "YYYY-MM-DDTHH:MM:SS" */
    unsigned next_slot;
    wharf_json_path_keys_t path_keys[WHARF_JSON_PATH_CACHE]; /* sets of two, by content */
    uint8_t path_keys_victim[WHARF_JSON_PATH_CACHE / 2];     /* per set: the way to replace */
} wharf_json_writer_t;

void wharf_json_writer_init(wharf_json_writer_t *w);

/* Appends `"..."`: s escaped, invalid UTF-8 replaced. Returns the number of
 * invalid bytes replaced. */
size_t wharf_json_write_string(wharf_buf_t *b, const char *s, size_t n);
/* Appends a quoted RFC 3339 UTC timestamp with nine fraction digits. */
void wharf_json_write_time(wharf_json_writer_t *w, wharf_buf_t *b, int64_t ns);
void wharf_json_write_long(wharf_buf_t *b, int64_t v);
/* Appends a field's value as the event writer writes it. */
void wharf_json_write_value(wharf_json_writer_t *w, wharf_buf_t *b, const wharf_value_t *v);
/* Appends one event as a JSON object followed by '\n'. Returns 0, or -ENOMEM
 * when the dynamic fields could not be sorted. */
int wharf_json_write_event(wharf_json_writer_t *w, const wharf_event_t *e, wharf_buf_t *b);

/* Renders the group of the fixed fields under member's top-level key with
 * the values raw[] holds (indexed by field id; ptr NULL: not set) into g,
 * as the writer writes them within an event. Returns 0 or -ENOMEM; free
 * g->text when done. */
int wharf_json_group_render(wharf_event_group_t *g, wharf_field_id member, const wharf_str_t *raw);

/* A malloc'd NUL-terminated copy of s with each invalid UTF-8 byte replaced
 * by U+FFFD, as the writer would output it; NULL on out-of-memory. Keys are
 * compared in this form, so two byte strings that repair alike are one key. */
char *wharf_utf8_repair_dup(const char *s, size_t n);

/* Decodes the JSON escape at q (a backslash; q < end) into o, which has room
 * for 4 bytes: returns the input bytes it took and sets *n to the bytes
 * written, or -1 when it is not a JSON escape. \uXXXX pairs of surrogates
 * are joined; a lone surrogate becomes U+FFFD. No escape decodes to more
 * bytes than it takes. */
int wharf_json_unescape_one(const char *q, const char *end, char *o, size_t *n);

/* Validates UTF-8; returns 1 when s is well-formed. */
int wharf_utf8_valid(const char *s, size_t n);

#endif
