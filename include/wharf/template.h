/* template.h - event field templates, e.g. a Kafka topic "logs-${orchestrator.namespace:-host}".
 *
 * Output settings such as a Kafka topic or key or a syslog app name depend
 * on the event. They are compiled once from the configuration and rendered
 * per event straight from the event's serialized ECS JSON (wharf_json_find),
 * without building a tree or allocating anything but the output's growth.
 *
 * Syntax:
 *   text            copied as it is (a lone '$' not followed by '$' or '{'
 *                   is literal too)
 *   $$              a literal '$'
 *   ${a.b.c}        the field at dotted path a.b.c (wharf_json_find); the
 *                   name takes [A-Za-z0-9_@./-] (/ for labels like app.kubernetes.io/name), with no
 * empty segment
 *   ${a.b:-default} the field, or default when the field is missing;
 *                   default is a template itself (literals, $$, ${...}),
 *                   ended by the first '}' that closes no ${ of its own (so
 *                   a default cannot hold a literal '}')
 *
 * A field renders as: a string -> its unescaped text (UTF-8); a number,
 * true or false -> its JSON text; null, an object, an array, an absent field
 * or an empty string -> missing: the default, or nothing without one. */
#ifndef WHARF_TEMPLATE_H
#define WHARF_TEMPLATE_H

#include "wharf/buf.h"

#include <stddef.h>

/* At most this many ${ may be open at once: ${a:-${b:-${c}}} opens 3. */
#define WHARF_TEMPLATE_MAX_NESTING 16

typedef struct wharf_template wharf_template_t;

/* Compiles text (NUL-terminated). Returns 0 and sets *out; or sets *out to
 * NULL and returns -EINVAL for a syntax error, writing a one-line message
 * with the 1-based column (byte offset) into err when err_len > 0:
 *   "unclosed ${ at column 7"
 *   "empty field name at column 3"
 *   "invalid character ' ' in field name at column 5" ("invalid byte 0xc3 ..."
 *   for a byte that is not printable ASCII)
 *   "empty segment in field name \"a..b\" at column 1"
 *   "expected ':-' or '}' after field name at column 4"
 *   "more than 16 nested ${ at column 81"
 * or -ENOMEM when out of memory. err is "" after a success. */
int wharf_template_compile(const char *text, wharf_template_t **out, char *err, size_t err_len);

/* Appends t rendered for the event json (len bytes, one JSON object, a
 * trailing newline is fine) to out; out is not reset. Returns 0, or
 * WHARF_EPARSE when a field lookup found json malformed (or a found string
 * holds an invalid escape): the rendering is still complete, with such
 * fields treated as missing (their default, or nothing), so the caller can
 * use it and count the event as malformed. Only the part of json that the
 * lookups scan is checked (wharf_json_find). A constant template does not
 * look at json at all (it may be NULL). */
int wharf_template_render(const wharf_template_t *t, const char *json, size_t len,
                          wharf_buf_t *out);

/* 1 when t references no field, so every event renders the same text. */
int wharf_template_is_constant(const wharf_template_t *t);

/* That text, NUL-terminated ($$ already turned into $) and owned by t, when
 * t is constant; NULL otherwise. */
const char *wharf_template_constant(const wharf_template_t *t);

/* NULL is fine. */
void wharf_template_free(wharf_template_t *t);

#endif
