/* parser_load.h - what the two files of the parser file loader share:
 * parser_load.c reads a file (when, patterns, rule kinds, samples),
 * parser_load_field.c what a rule writes (fields, set, grok captures).
 * Only they include it. */
#ifndef WHARF_PARSER_LOAD_H
#define WHARF_PARSER_LOAD_H

#include "parser_int.h"
#include "wharf/grok.h"

#include <yaml.h>

typedef struct load_ctx {
    yaml_document_t doc;
    const char *file;
    wharf_conf_errors_t *errs;
    size_t errors;
    wharf_grok_defs_t defs;
    int *pattern_lines;         /* per defs entry: its line */
    unsigned char *pattern_bad; /* per defs entry: its expansion does not compile alone */
    wharf_parsers_t *ps;        /* the set: its zones are shared by all files */
    const wharf_tz_t *file_tz;  /* the file's `timezone`, for timestamp fields without one */
    const wharf_grok_t *grok;   /* the grok rule being loaded, else NULL */
} load_ctx_t;

static inline yaml_node_t *load_node(load_ctx_t *c, int index)
{
    return yaml_document_get_node(&c->doc, index);
}

static inline int load_line(const yaml_node_t *n)
{
    return (int)n->start_mark.line + 1;
}

static inline const char *load_scalar(const yaml_node_t *n)
{
    return n != NULL && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static inline int load_is_plain(const yaml_node_t *n)
{
    return n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

/* parser_load.c */

/* Reports FILE:LINE: message for c's file and counts it. */
void load_error(load_ctx_t *c, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* 1 when key is one of allowed (NULL-terminated). */
int load_key_in(const char *key, const char *const *allowed);
/* Reports each key of map that is not in allowed; what names the map and
 * list spells allowed out in the message. */
void load_check_keys(load_ctx_t *c, yaml_node_t *map, const char *what, const char *const *allowed,
                     const char *list);
/* The value of key in map, or NULL (also when map is no map). */
yaml_node_t *load_get(load_ctx_t *c, yaml_node_t *map, const char *key);

/* parser_load_field.c */

/* 1 when an event can take path p (see wharf_event_path_ok). */
int load_path_ok(const char *p);
/* The zone name, loaded once per parser set; NULL (reported at line, after
 * what: "rule 'x': fields: F: ") when it cannot be. */
const wharf_tz_t *load_zone(load_ctx_t *c, int line, const char *what, const char *name);
/* r's fields from the `fields` map (NULL: none), with room for extra more
 * (a grok expression's captures). */
void load_fields(load_ctx_t *c, parser_rule_t *r, yaml_node_t *fields, size_t extra);
/* A field per %{PATTERN:field:type} of g, reading its group of r's regex;
 * line is the grok expression's. */
void load_grok_fields(load_ctx_t *c, parser_rule_t *r, int line, const wharf_grok_t *g);

/* 1 when the grok rule being loaded has a capture %{PATTERN:name}: then
 * name is a field it writes, which authors mistake for a group. */
int load_grok_captures(const load_ctx_t *c, const char *name);
/* r's constants from the `set` map (NULL: none). */
void load_set(load_ctx_t *c, parser_rule_t *r, yaml_node_t *set);

#endif
