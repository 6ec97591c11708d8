/* parser_load_field.c - what a parser rule writes, as its file says it:
 * `fields` (templates, from, map, split, case, type, format, timezone),
 * `set` constants and the fields of a grok expression's captures, each
 * checked at load: paths an event can take, references to groups or keys
 * the rule has, ECS allowed values for the categorisation fields (and no
 * free text for them), @timestamp only as a timestamp, zones that load,
 * options that go together. Part of the loader (parser_load.c). */
#include "parser_load.h"
#include "wharf/alloc.h"
#include "wharf/event.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- values ------------------------------------------------------------- */

static const char *const ecs_categories[] = {
    "api",      "authentication", "configuration", "database",      "driver",
    "email",    "file",           "host",          "iam",           "intrusion_detection",
    "library",  "malware",        "network",       "package",       "process",
    "registry", "session",        "threat",        "vulnerability", "web",
    NULL};
static const char *const ecs_types[] = {
    "access",       "admin",    "allowed", "change", "connection", "creation",  "deletion",
    "denied",       "device",   "end",     "error",  "group",      "indicator", "info",
    "installation", "protocol", "start",   "user",   NULL};
static const char *const ecs_outcomes[] = {"failure", "success", "unknown", NULL};
static const char *const ecs_kinds[] = {"alert", "asset",          "enrichment", "event", "metric",
                                        "state", "pipeline_error", "signal",     NULL};

/* The ECS allowed values for the categorisation fields, or NULL. */
static const char *const *ecs_allowed(const char *path)
{
    if (strcmp(path, "event.category") == 0)
        return ecs_categories;
    if (strcmp(path, "event.type") == 0)
        return ecs_types;
    if (strcmp(path, "event.outcome") == 0)
        return ecs_outcomes;
    if (strcmp(path, "event.kind") == 0)
        return ecs_kinds;
    return NULL;
}

static void load_check_ecs_value(load_ctx_t *c, int line, const char *path, const char *value)
{
    const char *const *allowed = ecs_allowed(path);
    if (allowed != NULL && !load_key_in(value, allowed))
        load_error(c, line,
                   "%s: '%s' is not an ECS allowed value (see the ECS field reference "
                   "for %s)",
                   path, value, path);
}

/* A path an event can take: well formed, not `tags`, not nesting under or
 * over a fixed field ("message.x", "container"). */
int load_path_ok(const char *p)
{
    return wharf_event_path_ok(p, strlen(p));
}

static int parser_type_parse(const char *s, parser_type *out)
{
    static const char *const names[] = {"keyword", "long", "double", "bool", "ip", "timestamp"};
    for (int i = 0; i < 6; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = (parser_type)i;
            return 0;
        }
    return -1;
}

/* Resolves a template reference: a group name for regexes, a key path for
 * json and kv. Returns 0, or -1 (reported; t holds nothing to free). */
static int load_ref(load_ctx_t *c, int line, parser_rule_t *r, tpl_part_t *t, const char *name,
                    size_t len)
{
    t->group = -1;
    t->key = wharf_xstrndup(name, len);
    t->key_len = len;
    if ((r->kind != RK_GROK && r->kind != RK_REGEX) || r->re.code == NULL)
        return 0;
    int g = pcre2_substring_number_from_name(r->re.code, (PCRE2_SPTR)t->key);
    int capture = g <= 0 && load_grok_captures(c, t->key);
    if (g > 0 || (r->has_kv && !capture)) {
        t->group = g > 0 ? g : -1; /* not a group: a key of the pairs */
        return 0;
    }
    if (capture)
        load_error(c, line,
                   "rule '%s': fields: {%s} is a field the grok expression writes "
                   "(%%{PATTERN:%s}), not a group: capture into the field you want "
                   "(%%{PATTERN:field.path:type}), or name a group (?<%s>...)",
                   r->id, t->key, t->key, t->key);
    else
        load_error(c, line, "rule '%s': fields: {%s} refers to no named group of the %s", r->id,
                   t->key, r->kind == RK_GROK ? "grok expression" : "regex");
    free(t->key);
    t->key = NULL;
    return -1;
}

/* A key=value rule's "a#": the keys a0, a1 ..., read as one list. */
static int load_is_numbered(const parser_rule_t *r, const char *name, size_t len)
{
    return r->has_kv && len > 1 && name[len - 1] == '#';
}

static void load_numbered_alone(load_ctx_t *c, int line, const parser_rule_t *r,
                                const rule_field_t *f, const char *name, size_t len)
{
    if (load_is_numbered(r, name, len))
        load_error(c, line,
                   "rule '%s': fields: %s: '%.*s' stands for the numbered keys (%.*s0, %.*s1 "
                   "...), whose values make a list: write {from: %.*s} on its own",
                   r->id, f->path, (int)len, name, (int)len - 1, name, (int)len - 1, name, (int)len,
                   name);
}

/* "{user}@{host}" -> literal and reference parts. */
static void load_template(load_ctx_t *c, int line, parser_rule_t *r, rule_field_t *f,
                          const char *tpl)
{
    size_t n = strlen(tpl);
    f->parts = wharf_xcalloc(n + 1, sizeof(*f->parts));
    const char *p = tpl;
    while (*p) {
        const char *open = strchr(p, '{');
        const char *close = open ? strchr(open, '}') : NULL;
        if (open == NULL || close == NULL) {
            tpl_part_t *t = &f->parts[f->n_parts++];
            t->group = -1;
            t->lit = wharf_xstrdup(p);
            t->lit_len = strlen(p);
            break;
        }
        if (open > p) {
            tpl_part_t *t = &f->parts[f->n_parts++];
            t->group = -1;
            t->lit = wharf_xstrndup(p, (size_t)(open - p));
            t->lit_len = (size_t)(open - p);
        }
        load_numbered_alone(c, line, r, f, open + 1, (size_t)(close - open - 1));
        if (close == open + 1)
            load_error(c, line, "rule '%s': fields: %s: empty reference {}", r->id, f->path);
        else
            load_ref(c, line, r, &f->parts[f->n_parts++], open + 1, (size_t)(close - open - 1));
        p = close + 1;
    }
}

/* A field path a rule writes (under fields, set or a grok capture, named by
 * what); malloc'd, reported when no event can take it. */
static char *load_target(load_ctx_t *c, parser_rule_t *r, int line, const char *what,
                         const char *path, size_t *len)
{
    char *copy = wharf_xstrdup(path ? path : "");
    *len = strlen(copy);
    if (!load_path_ok(copy))
        load_error(c, line,
                   "rule '%s': %s: '%s' is not a field path an event can take (malformed, "
                   "'tags', or under or over a fixed field such as message)",
                   r->id, what, copy);
    return copy;
}

/* `from: name`, or `from: [a, b]`: the first reference with a value. */
static void load_from(load_ctx_t *c, parser_rule_t *r, rule_field_t *f, yaml_node_t *from)
{
    if (from->type == YAML_SCALAR_NODE) {
        const char *name = load_scalar(from);
        f->parts = wharf_xcalloc(1, sizeof(*f->parts));
        f->numbered = load_is_numbered(r, name, strlen(name));
        if (load_ref(c, load_line(from), r, &f->parts[0], name, strlen(name)) == 0)
            f->n_parts = 1;
        return;
    }
    size_t n = from->type == YAML_SEQUENCE_NODE
                   ? (size_t)(from->data.sequence.items.top - from->data.sequence.items.start)
                   : 0;
    if (n == 0) {
        load_error(c, load_line(from), "rule '%s': fields: %s: 'from' is a name or a list of names",
                   r->id, f->path);
        return;
    }
    f->parts = wharf_xcalloc(n, sizeof(*f->parts));
    f->first_of = 1;
    for (yaml_node_item_t *i = from->data.sequence.items.start; i < from->data.sequence.items.top;
         i++) {
        const char *name = load_scalar(load_node(c, *i));
        if (name == NULL)
            load_error(c, load_line(from), "rule '%s': fields: %s: 'from' names must be strings",
                       r->id, f->path);
        else
            load_numbered_alone(c, load_line(from), r, f, name, strlen(name));
        if (name != NULL &&
            load_ref(c, load_line(from), r, &f->parts[f->n_parts], name, strlen(name)) == 0)
            f->n_parts++;
    }
}

static void load_const(load_ctx_t *c, parser_rule_t *r, const char *path, yaml_node_t *v,
                       wharf_value_t *out);

/* `map: {TEXT: VALUE, "PREFIX*": VALUE, "*": VALUE}`, tried in order. */
static void load_map(load_ctx_t *c, parser_rule_t *r, rule_field_t *f, yaml_node_t *map)
{
    if (map == NULL)
        return;
    if (map->type != YAML_MAPPING_NODE) {
        load_error(c, load_line(map), "rule '%s': fields: %s: map: expected a map of text: value",
                   r->id, f->path);
        return;
    }
    size_t n = (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
    f->map = wharf_xcalloc(n ? n : 1, sizeof(*f->map));
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        const char *key = load_scalar(load_node(c, p->key));
        if (key == NULL) {
            load_error(c, load_line(map), "rule '%s': fields: %s: map: keys must be text", r->id,
                       f->path);
            continue;
        }
        field_map_entry_t *e = &f->map[f->n_map++];
        e->key = wharf_xstrdup(key);
        e->key_len = strlen(key);
        e->prefix = e->key_len > 0 && key[e->key_len - 1] == '*';
        e->key_len -= (size_t)e->prefix;
        load_const(c, r, f->path, load_node(c, p->value), &e->value);
    }
}

/* The categorisation fields take only ECS's allowed values, which a
 * template, `from` or a grok capture cannot promise: a map is checked at
 * load. */
static void load_check_ecs_free_text(load_ctx_t *c, parser_rule_t *r, int line, const char *what,
                                     const char *path)
{
    if (ecs_allowed(path) != NULL)
        load_error(c, line,
                   "rule '%s': %s: %s takes only ECS allowed values, which free text from the "
                   "message is not checked against; choose them with {from: NAME, map: {TEXT: "
                   "VALUE}} (checked at load) or use set",
                   r->id, what, path);
}

/* A template without a reference, as "success": the literal is the value. */
static int load_template_is_literal(const rule_field_t *f)
{
    for (size_t i = 0; i < f->n_parts; i++)
        if (f->parts[i].lit == NULL)
            return 0;
    return 1;
}

/* @timestamp is the event's time, a WHARF_V_TIME: written as text it was
 * shipped as free text in place of a time. */
static int load_is_timestamp_path(const char *path)
{
    return strcmp(path, "@timestamp") == 0;
}

int parser_zone_get(wharf_parsers_t *ps, const char *name, const wharf_tz_t **out)
{
    for (size_t i = 0; i < ps->n_zones; i++)
        if (strcmp(wharf_tz_name(ps->zones[i]), name) == 0) {
            *out = ps->zones[i];
            return 0;
        }
    wharf_tz_t *tz = NULL;
    wharf_tz_t **v = realloc(ps->zones, (ps->n_zones + 1) * sizeof(wharf_tz_t *));
    if (v == NULL)
        return -ENOMEM;
    ps->zones = v;
    int rc = wharf_tz_load(name, &tz);
    if (rc < 0)
        return rc;
    ps->zones[ps->n_zones++] = tz;
    *out = tz;
    return 0;
}

/* The zone name, loaded once per parser set; NULL (reported at line, after
 * what: "rule 'x': fields: F: ") when it cannot be. */
const wharf_tz_t *load_zone(load_ctx_t *c, int line, const char *what, const char *name)
{
    const wharf_tz_t *tz = NULL;
    int rc = parser_zone_get(c->ps, name, &tz);
    char why[512];
    if (rc < 0)
        load_error(c, line, "%s%s", what, wharf_tz_load_error(rc, name, why, sizeof(why)));
    return tz;
}

/* `timezone: NAME` of a field: on a timestamp, which else takes the file's. */
static void load_field_zone(load_ctx_t *c, parser_rule_t *r, rule_field_t *f, yaml_node_t *n)
{
    char what[300];
    const char *name = load_scalar(n);
    if (n == NULL) {
        f->tz = f->type == PT_TIMESTAMP ? c->file_tz : NULL;
        return;
    }
    if (f->type != PT_TIMESTAMP) {
        load_error(c, load_line(n),
                   "rule '%s': fields: %s: timezone needs type: timestamp (it is the zone of a "
                   "time without an offset; add type: timestamp or remove timezone)",
                   r->id, f->path);
        return;
    }
    snprintf(what, sizeof(what), "rule '%s': fields: %s: ", r->id, f->path);
    f->tz = load_zone(c, load_line(n), what, name != NULL ? name : "");
}

/* `split: CHARS`: one or more characters, each a separator, on a field of
 * one reference. */
static void load_split(load_ctx_t *c, parser_rule_t *r, rule_field_t *f, yaml_node_t *split)
{
    const char *sep = load_scalar(split);
    if (split == NULL)
        return;
    if (sep == NULL || sep[0] == '\0')
        load_error(c, load_line(split),
                   "rule '%s': fields: %s: split: the characters that separate the pieces "
                   "(one or more, e.g. \",\" or \", \")",
                   r->id, f->path);
    else if (strcmp(f->path, "message") == 0)
        load_error(c, load_line(split),
                   "rule '%s': fields: message: split: message is text, not a list", r->id);
    else if (f->numbered || f->first_of)
        load_error(c, load_line(split),
                   "rule '%s': fields: %s: split takes the text of one name (from: NAME)", r->id,
                   f->path);
    else {
        f->split = 1;
        for (const unsigned char *p = (const unsigned char *)sep; *p != '\0'; p++)
            parser_byteset_add(f->split_at, *p);
    }
}

/* `case: lower|upper`: the text read, before type or map. */
static void load_case(load_ctx_t *c, parser_rule_t *r, rule_field_t *f, yaml_node_t *node)
{
    const char *name = load_scalar(node);
    if (node == NULL)
        return;
    if (name != NULL && strcmp(name, "lower") == 0)
        f->text_case = 'l';
    else if (name != NULL && strcmp(name, "upper") == 0)
        f->text_case = 'u';
    else
        load_error(c, load_line(node), "rule '%s': fields: %s: case: lower or upper", r->id,
                   f->path);
}

static void load_field(load_ctx_t *c, parser_rule_t *r, yaml_node_t *k, yaml_node_t *v)
{
    rule_field_t *f = &r->fields[r->n_fields++];
    f->path = load_target(c, r, load_line(k), "fields", load_scalar(k), &f->path_len);
    if (strcmp(f->path, "message") == 0)
        r->sets_message = 1;
    if (v->type == YAML_SCALAR_NODE) {
        load_template(c, load_line(v), r, f, load_scalar(v));
        if (!load_template_is_literal(f))
            load_check_ecs_free_text(c, r, load_line(v), "fields", f->path);
        else
            load_check_ecs_value(c, load_line(v), f->path, load_scalar(v));
        if (load_is_timestamp_path(f->path))
            load_error(c, load_line(v),
                       "rule '%s': fields: @timestamp needs type: timestamp (write "
                       "\"@timestamp\": {from: NAME, type: timestamp})",
                       r->id);
        return;
    }
    static const char *const keys[] = {"from", "type",  "format", "timezone",
                                       "map",  "split", "case",   NULL};
    if (v->type != YAML_MAPPING_NODE) {
        load_error(c, load_line(v),
                   "rule '%s': fields: %s: expected \"{name}\" or {from: name, "
                   "type: T}",
                   r->id, f->path);
        return;
    }
    load_check_keys(c, v, "a field mapping", keys,
                    "from, type, format, timezone, map, split, case");
    yaml_node_t *from_node = load_get(c, v, "from");
    const char *type = load_scalar(load_get(c, v, "type"));
    const char *format = load_scalar(load_get(c, v, "format"));
    if (from_node == NULL) {
        load_error(c, load_line(v), "rule '%s': fields: %s: 'from' is required", r->id, f->path);
        return;
    }
    if (type != NULL && parser_type_parse(type, &f->type) < 0)
        load_error(c, load_line(v),
                   "rule '%s': fields: %s: unknown type '%s' (keyword, long, "
                   "double, bool, ip, timestamp)",
                   r->id, f->path, type);
    if (format != NULL)
        f->format = wharf_xstrdup(format);
    load_from(c, r, f, from_node);
    load_map(c, r, f, load_get(c, v, "map"));
    load_split(c, r, f, load_get(c, v, "split"));
    load_field_zone(c, r, f, load_get(c, v, "timezone"));
    load_case(c, r, f, load_get(c, v, "case"));
    if ((f->numbered || f->split) && (f->map != NULL || f->type != PT_KEYWORD || f->text_case))
        load_error(c, load_line(v),
                   "rule '%s': fields: %s: a list (numbered keys or split) takes the text as "
                   "it is (no type, map or case)",
                   r->id, f->path);
    else if (f->text_case && f->type != PT_KEYWORD)
        load_error(c, load_line(v),
                   "rule '%s': fields: %s: case changes text: it goes with keyword values "
                   "(and map), not type: %s",
                   r->id, f->path, type);
    if (f->map == NULL)
        load_check_ecs_free_text(c, r, load_line(v), "fields", f->path);
    if (f->map != NULL && (type != NULL || format != NULL))
        load_error(c, load_line(v),
                   "rule '%s': fields: %s: map gives the value; type and format "
                   "do not apply",
                   r->id, f->path);
    else if (format != NULL && f->type != PT_TIMESTAMP)
        load_error(c, load_line(v),
                   "rule '%s': fields: %s: format needs type: timestamp (it is the strptime "
                   "format of a time; add type: timestamp or remove format)",
                   r->id, f->path);
    else if (load_is_timestamp_path(f->path) && f->type != PT_TIMESTAMP)
        load_error(c, load_line(v),
                   "rule '%s': fields: @timestamp needs type: timestamp (write "
                   "\"@timestamp\": {from: NAME, type: timestamp})",
                   r->id);
}

void load_fields(load_ctx_t *c, parser_rule_t *r, yaml_node_t *fields, size_t extra)
{
    size_t n = fields && fields->type == YAML_MAPPING_NODE
                   ? (size_t)(fields->data.mapping.pairs.top - fields->data.mapping.pairs.start)
                   : 0;
    r->fields = wharf_xcalloc(n + extra + 1, sizeof(*r->fields));
    if (fields == NULL)
        return;
    if (fields->type != YAML_MAPPING_NODE) {
        load_error(c, load_line(fields), "rule '%s': fields: expected a map of field: value",
                   r->id);
        return;
    }
    for (yaml_node_pair_t *p = fields->data.mapping.pairs.start; p < fields->data.mapping.pairs.top;
         p++)
        load_field(c, r, load_node(c, p->key), load_node(c, p->value));
}

static int load_scalar_value(const yaml_node_t *n, const char *s, wharf_value_t *v)
{
    char *end = NULL;
    if (load_is_plain(n) && (strcmp(s, "true") == 0 || strcmp(s, "false") == 0)) {
        v->type = WHARF_V_BOOL;
        v->u.i64 = s[0] == 't';
        return 0;
    }
    if (load_is_plain(n) && *s) {
        long long l = strtoll(s, &end, 10);
        if (*end == '\0') {
            v->type = WHARF_V_LONG;
            v->u.i64 = l;
            return 0;
        }
        double d = strtod(s, &end);
        if (*end == '\0') {
            v->type = WHARF_V_DOUBLE;
            v->u.f64 = d;
            return 0;
        }
    }
    v->type = WHARF_V_STR;
    v->u.str.ptr = strdup(s); /* owned by the rule: rule_free() */
    v->u.str.len = v->u.str.ptr ? strlen(v->u.str.ptr) : 0;
    return v->u.str.ptr ? 0 : -1;
}

/* A constant of `set` or of a field's `map`: a scalar (bool, number or
 * text) or a list of strings, checked against ECS's allowed values. */
static void load_const(load_ctx_t *c, parser_rule_t *r, const char *path, yaml_node_t *v,
                       wharf_value_t *out)
{
    if (v->type == YAML_SCALAR_NODE) {
        load_scalar_value(v, load_scalar(v), out);
        /* the text as written: a bool or a number (event.outcome: true) is
         * no allowed value either */
        load_check_ecs_value(c, load_line(v), path, load_scalar(v));
        return;
    }
    if (v->type != YAML_SEQUENCE_NODE) {
        load_error(c, load_line(v), "rule '%s': %s: expected a value or a list", r->id, path);
        return;
    }
    size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    wharf_str_t *strs = wharf_xcalloc(n ? n : 1, sizeof(*strs));
    out->type = WHARF_V_STRS;
    out->u.strs = strs;
    for (yaml_node_item_t *i = v->data.sequence.items.start; i < v->data.sequence.items.top; i++) {
        const char *e = load_scalar(load_node(c, *i));
        if (e == NULL) {
            load_error(c, load_line(v), "rule '%s': %s: list items must be strings", r->id, path);
            continue;
        }
        load_check_ecs_value(c, load_line(v), path, e);
        char *copy = wharf_xstrdup(e);
        strs[out->count++] = (wharf_str_t){copy, strlen(copy)};
    }
}

/* A name a reference of the rule could read: a named group of a grok or
 * regex rule; for json and kv rules (and the pairs of a regex rule's kv),
 * any key path of letters, digits and _ . - @. */
static int load_set_name_referable(const parser_rule_t *r, const char *name, size_t len)
{
    if (len == 0)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char ch = name[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '.' || ch == '-' || ch == '@'))
            return 0;
    }
    if (r->kind != RK_GROK && r->kind != RK_REGEX)
        return 1;
    if (r->has_kv)
        return 1;
    if (r->re.code == NULL)
        return 0;
    char buf[256];
    if (len >= sizeof(buf))
        return 0;
    memcpy(buf, name, len);
    buf[len] = '\0';
    return pcre2_substring_number_from_name(r->re.code, (PCRE2_SPTR)buf) > 0;
}

/* `set` gives constants: "{ip}" in one was the text "{ip}" on every event.
 * A brace pair around a name the rule could reference is taken for a
 * template written in the wrong place; other braces are literal. */
static void load_set_check_text(load_ctx_t *c, parser_rule_t *r, int line, const char *path,
                                const char *text)
{
    for (const char *open = strchr(text, '{'); open != NULL; open = strchr(open + 1, '{')) {
        const char *close = strchr(open + 1, '}');
        if (close == NULL)
            return;
        size_t len = (size_t)(close - open - 1);
        if (load_set_name_referable(r, open + 1, len)) {
            load_error(c, line,
                       "rule '%s': set: %s: \"%s\" looks like a reference to {%.*s}, but set "
                       "takes constants; to read {%.*s}, put %s under fields",
                       r->id, path, text, (int)len, open + 1, (int)len, open + 1, path);
            return;
        }
    }
}

static void load_set_entry(load_ctx_t *c, parser_rule_t *r, yaml_node_t *k, yaml_node_t *v)
{
    rule_set_t *s = &r->set[r->n_set++];
    s->path = load_target(c, r, load_line(k), "set", load_scalar(k), &s->path_len);
    if (load_is_timestamp_path(s->path))
        load_error(c, load_line(k),
                   "rule '%s': set: @timestamp needs type: timestamp, which set does not "
                   "give; read it under fields with {from: NAME, type: timestamp}",
                   r->id);
    load_const(c, r, s->path, v, &s->value);
    if (s->value.type == WHARF_V_STR)
        load_set_check_text(c, r, load_line(v), s->path, s->value.u.str.ptr);
    for (size_t i = 0; s->value.type == WHARF_V_STRS && i < s->value.count; i++)
        load_set_check_text(c, r, load_line(v), s->path, s->value.u.strs[i].ptr);
}

void load_set(load_ctx_t *c, parser_rule_t *r, yaml_node_t *set)
{
    size_t n = set && set->type == YAML_MAPPING_NODE
                   ? (size_t)(set->data.mapping.pairs.top - set->data.mapping.pairs.start)
                   : 0;
    r->set = wharf_xcalloc(n + 1, sizeof(*r->set));
    if (set == NULL)
        return;
    if (set->type != YAML_MAPPING_NODE) {
        load_error(c, load_line(set), "rule '%s': set: expected a map of field: value", r->id);
        return;
    }
    for (yaml_node_pair_t *p = set->data.mapping.pairs.start; p < set->data.mapping.pairs.top; p++)
        load_set_entry(c, r, load_node(c, p->key), load_node(c, p->value));
}

int load_grok_captures(const load_ctx_t *c, const char *name)
{
    for (size_t i = 0; c->grok != NULL && i < c->grok->n_caps; i++)
        if (strcmp(c->grok->caps[i].field, name) == 0)
            return 1;
    return 0;
}

/* The expansion names capture i's group g<i+1>: the field path the author
 * wrote is no group name PCRE2 allows. */
void load_grok_fields(load_ctx_t *c, parser_rule_t *r, int line, const wharf_grok_t *g)
{
    for (size_t i = 0; i < g->n_caps; i++) {
        rule_field_t *f = &r->fields[r->n_fields++];
        f->path = load_target(c, r, line, "grok", g->caps[i].field, &f->path_len);
        if (g->caps[i].type != NULL && parser_type_parse(g->caps[i].type, &f->type) < 0)
            load_error(c, line,
                       "rule '%s': grok: unknown type '%s' in %%{...:%s:%s} "
                       "(keyword, long, double, bool, ip, timestamp)",
                       r->id, g->caps[i].type, f->path, g->caps[i].type);
        if (strcmp(f->path, "message") == 0)
            r->sets_message = 1;
        load_check_ecs_free_text(c, r, line, "grok", f->path);
        if (load_is_timestamp_path(f->path) && f->type != PT_TIMESTAMP)
            load_error(c, line,
                       "rule '%s': grok: @timestamp needs type timestamp (write "
                       "%%{PATTERN:@timestamp:timestamp})",
                       r->id);
        if (f->type == PT_TIMESTAMP)
            f->tz = c->file_tz;
        char name[32];
        snprintf(name, sizeof(name), "g%zu", i + 1);
        f->parts = wharf_xcalloc(1, sizeof(*f->parts));
        f->parts[0].group = pcre2_substring_number_from_name(r->re.code, (PCRE2_SPTR)name);
        f->n_parts = 1;
    }
}
