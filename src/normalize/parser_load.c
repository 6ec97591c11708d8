/* parser_load.c - parser files (YAML) to the structures of parser_int.h.
 *
 * Every problem is reported as FILE:LINE with what to change: YAML syntax,
 * what YAML allows and a parser file does not (a second document, a key
 * written twice in a map, merge keys), unknown keys, regexes PCRE2 refuses
 * (its message and the offset in what the author wrote: a grok rule's
 * expression, or a file pattern, checked on its own at its line, never the
 * expanded regex), unknown grok patterns, field references to groups that
 * do not exist, event categorisation values ECS does not allow or free text
 * for them, @timestamp without type timestamp, time zones that cannot be
 * loaded or on a field that is no timestamp, constants in set that read
 * like references, files without samples, directories without parser
 * files. Loading goes on after an error so that one run shows them all.
 * What a rule writes (fields, set, grok captures) is read and checked in
 * parser_load_field.c. */
#include "parser_load.h"

#include "wharf/alloc.h"
#include "wharf/common.h"
#include "wharf/event.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define LOAD_MAX_FILE (4u << 20)

void load_error(load_ctx_t *c, int line, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap); /* NOLINT(clang-analyzer-valist.Uninitialized) */
    va_end(ap);
    wharf_conf_error(c->errs, c->file, line, "%s", msg);
    c->errors++;
}

int load_key_in(const char *key, const char *const *allowed)
{
    for (size_t i = 0; allowed[i] != NULL; i++)
        if (strcmp(key, allowed[i]) == 0)
            return 1;
    return 0;
}

void load_check_keys(load_ctx_t *c, yaml_node_t *map, const char *what, const char *const *allowed,
                     const char *list)
{
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = load_node(c, p->key);
        const char *key = load_scalar(k);
        if (key == NULL || !load_key_in(key, allowed))
            load_error(c, load_line(k), "unknown key '%s' in %s (expected one of: %s)",
                       key ? key : "?", what, list);
    }
}

yaml_node_t *load_get(load_ctx_t *c, yaml_node_t *map, const char *key)
{
    if (map == NULL || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        const char *k = load_scalar(load_node(c, p->key));
        if (k != NULL && strcmp(k, key) == 0)
            return load_node(c, p->value);
    }
    return NULL;
}

/* A path to read (when): any well-formed one, labels' sub-keys included. */
static int load_read_path_ok(const char *p)
{
    size_t n = strlen(p);
    return n > 0 && p[0] != '.' && p[n - 1] != '.' && strstr(p, "..") == NULL;
}

/* ---- when --------------------------------------------------------------- */

static int load_regex(load_ctx_t *c, int line, const char *what, const char *pattern,
                      parser_re_t *re)
{
    char err[300];
    size_t off = 0;
    if (parser_re_compile(re, pattern, err, sizeof(err), &off) == 0)
        return 0;
    load_error(c, line, "%s: regex does not compile: %s at offset %zu", what, err, off);
    return -1;
}

static void load_when_term(load_ctx_t *c, when_term_t *t, yaml_node_t *k, yaml_node_t *v)
{
    t->path = wharf_xstrdup(load_scalar(k) ? load_scalar(k) : "");
    t->path_len = strlen(t->path);
    if (!load_read_path_ok(t->path))
        load_error(c, load_line(k), "when: '%s' is not a field path", t->path);
    if (v->type == YAML_SCALAR_NODE) {
        t->kind = WK_EXACT;
        t->values = wharf_xcalloc(1, sizeof(char *));
        t->values[t->n_values++] = wharf_xstrdup(load_scalar(v));
    } else if (v->type == YAML_SEQUENCE_NODE) {
        t->kind = WK_EXACT;
        size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
        t->values = wharf_xcalloc(n ? n : 1, sizeof(char *));
        for (yaml_node_item_t *i = v->data.sequence.items.start; i < v->data.sequence.items.top;
             i++) {
            const char *s = load_scalar(load_node(c, *i));
            if (s == NULL)
                load_error(c, load_line(v), "when: %s: a list of values must hold strings",
                           t->path);
            else
                t->values[t->n_values++] = wharf_xstrdup(s);
        }
    } else {
        static const char *const keys[] = {"regex", NULL};
        load_check_keys(c, v, "a when condition", keys, "regex");
        const char *re = load_scalar(load_get(c, v, "regex"));
        t->kind = WK_REGEX;
        if (re == NULL) {
            load_error(c, load_line(v),
                       "when: %s: expected a value, a list of values or "
                       "{regex: ...}",
                       t->path);
            return;
        }
        load_regex(c, load_line(v), "when", re, &t->re);
        t->memo = strcmp(t->path, "message") != 0;
        t->memo_result = -1;
    }
}

static void load_when_item(load_ctx_t *c, when_item_t *w, yaml_node_t *map)
{
    if (map->type != YAML_MAPPING_NODE) {
        load_error(c, load_line(map), "when: each item is a map of field: value");
        return;
    }
    size_t n = (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
    if (n == 0)
        load_error(c, load_line(map),
                   "when: an empty condition {} matches no event; give it field: value "
                   "pairs or remove it");
    w->terms = wharf_xcalloc(n ? n : 1, sizeof(*w->terms));
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++)
        load_when_term(c, &w->terms[w->n_terms++], load_node(c, p->key), load_node(c, p->value));
}

static void load_when(load_ctx_t *c, parser_t *p, yaml_node_t *when)
{
    if (when == NULL)
        return;
    if (when->type == YAML_MAPPING_NODE) {
        p->when = wharf_xcalloc(1, sizeof(*p->when));
        load_when_item(c, &p->when[p->n_when++], when);
        return;
    }
    if (when->type != YAML_SEQUENCE_NODE) {
        load_error(c, load_line(when), "when: expected a list of conditions");
        return;
    }
    size_t n = (size_t)(when->data.sequence.items.top - when->data.sequence.items.start);
    if (n == 0) /* would be a parser without when, tried on every event */
        load_error(c, load_line(when),
                   "when: an empty list: list conditions, or remove 'when' to try the parser "
                   "on every event");
    p->when = wharf_xcalloc(n ? n : 1, sizeof(*p->when));
    for (yaml_node_item_t *i = when->data.sequence.items.start; i < when->data.sequence.items.top;
         i++)
        load_when_item(c, &p->when[p->n_when++], load_node(c, *i));
}

/* ---- rules --------------------------------------------------------------- */

/* The file pattern a grok reference names, or -1 (a base pattern). */
static long load_pattern_index(const load_ctx_t *c, const wharf_grok_ref_t *ref)
{
    for (size_t i = 0; i < c->defs.n; i++)
        if (strlen(c->defs.names[i]) == ref->name_len &&
            memcmp(c->defs.names[i], ref->name, ref->name_len) == 0)
            return (long)i;
    return -1;
}

/* The first file pattern g expands that does not compile on its own (and is
 * not self, a pattern being checked), or -1. */
static long load_bad_pattern_used(const load_ctx_t *c, const wharf_grok_t *g, long self)
{
    for (size_t i = 0; i < g->n_refs; i++) {
        long k = load_pattern_index(c, &g->refs[i]);
        if (k >= 0 && k != self && c->pattern_bad[k])
            return k;
    }
    return -1;
}

/* PCRE2's offset is into the expanded regex, thousands of bytes the author
 * never wrote: told back as a place in what they wrote (what: the grok
 * expression or a pattern), or the pattern whose expansion holds it. */
static void load_grok_where(const load_ctx_t *c, const wharf_grok_t *g, size_t off,
                            const char *what, char *out, size_t out_len)
{
    size_t at = 0;
    const wharf_grok_ref_t *ref = NULL;
    if (wharf_grok_where(g, off, &at, &ref) == 0) {
        snprintf(out, out_len, "at offset %zu of the %s", at, what);
        return;
    }
    long k = load_pattern_index(c, ref);
    if (k >= 0)
        snprintf(out, out_len, "inside %%{%.*s} (patterns:, line %d)", (int)ref->name_len,
                 ref->name, c->pattern_lines[k]);
    else
        snprintf(out, out_len, "inside the base pattern %%{%.*s}", (int)ref->name_len, ref->name);
}

/* A grok rule's expanded regex; an error names the rule and says where. */
static void load_grok_compile(load_ctx_t *c, parser_rule_t *r, int line, const wharf_grok_t *g)
{
    char err[300], where[300];
    size_t off = 0;
    if (parser_re_compile(&r->re, g->regex.data, err, sizeof(err), &off) == 0)
        return;
    long bad = load_bad_pattern_used(c, g, -1);
    if (bad >= 0) {
        load_error(c, line,
                   "rule '%s': grok: regex does not compile: it uses %%{%s}, which does not "
                   "compile (patterns:, line %d)",
                   r->id, c->defs.names[bad], c->pattern_lines[bad]);
        return;
    }
    load_grok_where(c, g, off, "grok expression", where, sizeof(where));
    load_error(c, line, "rule '%s': grok: regex does not compile: %s %s", r->id, err, where);
}

/* The group a grok/regex rule splits into pairs, once the regex compiled. */
static void load_kv_group(load_ctx_t *c, parser_rule_t *r)
{
    if (r->re.code == NULL || r->kv.group_name == NULL)
        return;
    r->kv.group = pcre2_substring_number_from_name(r->re.code, (PCRE2_SPTR)r->kv.group_name);
    if (r->kv.group > 0)
        return;
    if (load_grok_captures(c, r->kv.group_name))
        load_error(c, r->line,
                   "rule '%s': kv: group: '%s' is a field the grok expression writes "
                   "(%%{PATTERN:%s}), not a group: name the group to split (?<%s>...)",
                   r->id, r->kv.group_name, r->kv.group_name, r->kv.group_name);
    else
        load_error(c, r->line, "rule '%s': kv: group: '%s' is no named group of the %s", r->id,
                   r->kv.group_name, r->kind == RK_GROK ? "grok expression" : "regex");
}

/* grok: every %{P:field:type} becomes a field reading its group (see
 * load_grok_fields), after those of `fields`. */
static void load_grok(load_ctx_t *c, parser_rule_t *r, yaml_node_t *n, yaml_node_t *fields)
{
    char err[512];
    wharf_grok_t g;
    if (wharf_grok_expand(load_scalar(n), &c->defs, &g, err, sizeof(err)) < 0) {
        load_error(c, load_line(n), "rule '%s': %s", r->id, err);
        load_fields(c, r, fields, 0);
        return;
    }
    load_grok_compile(c, r, load_line(n), &g);
    c->grok = &g;
    load_fields(c, r, fields, g.n_caps);
    if (r->re.code != NULL)
        load_grok_fields(c, r, load_line(n), &g);
    load_kv_group(c, r);
    c->grok = NULL;
    wharf_grok_free(&g);
}

/* A list of strings (or one string) of kv options into *out. */
static void load_kv_list(load_ctx_t *c, parser_rule_t *r, yaml_node_t *n, const char *what,
                         kv_list_t *out)
{
    if (n == NULL)
        return;
    if (n->type != YAML_SCALAR_NODE && n->type != YAML_SEQUENCE_NODE) {
        load_error(c, load_line(n), "rule '%s': kv: %s: expected a list of strings", r->id, what);
        return;
    }
    int scalar = n->type == YAML_SCALAR_NODE;
    size_t len = scalar ? 1 : (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    if (parser_kv_list_init(out, len) < 0) {
        load_error(c, load_line(n), "rule '%s': kv: %s: out of memory", r->id, what);
        return;
    }
    for (size_t i = 0; i < len; i++) {
        const char *s =
            scalar ? load_scalar(n) : load_scalar(load_node(c, n->data.sequence.items.start[i]));
        if (s == NULL)
            load_error(c, load_line(n), "rule '%s': kv: %s: expected a list of strings", r->id,
                       what);
        else if (parser_kv_list_add(out, s, out != &r->kv.nulls) < 0)
            load_error(c, load_line(n), "rule '%s': kv: %s: out of memory", r->id, what);
    }
}

/* A qualifier is one word: one holding a separator, a space or the assign
 * character could never stand right before a key. */
static void load_kv_qualifiers_check(load_ctx_t *c, parser_rule_t *r, yaml_node_t *n)
{
    const kv_list_t *q = &r->kv.qualifiers;
    for (size_t i = 0; i < q->n; i++)
        if (q->v[i][0] == '\0' || strchr(q->v[i], r->kv.sep) != NULL ||
            strchr(q->v[i], ' ') != NULL || strchr(q->v[i], r->kv.assign) != NULL)
            load_error(c, load_line(n),
                       "rule '%s': kv: qualifiers: '%s' is not one word without '%c' or '%c'",
                       r->id, q->v[i], r->kv.sep, r->kv.assign);
}

/* `rest: PATH` of kv or json (what): the object for the keys no field
 * reads; returns it, or NULL when the options do not name one. */
static const char *load_rest(load_ctx_t *c, parser_rule_t *r, yaml_node_t *opts, const char *what)
{
    const char *rest = load_scalar(load_get(c, opts, "rest"));
    if (rest != NULL && !load_path_ok(rest))
        load_error(c, load_line(opts), "rule '%s': %s: rest: '%s' is not a field path", r->id, what,
                   rest);
    if (rest != NULL)
        r->rest = wharf_xstrdup(rest);
    return rest;
}

/* A rule option written true or false (absent: false); 1 or 0. */
static int load_option_bool(load_ctx_t *c, parser_rule_t *r, yaml_node_t *node, const char *what)
{
    const char *v = load_scalar(node);
    if (node == NULL)
        return 0;
    if (v == NULL || !load_is_plain(node) || (strcmp(v, "true") != 0 && strcmp(v, "false") != 0)) {
        load_error(c, load_line(node), "rule '%s': %s: expected true or false", r->id, what);
        return 0;
    }
    return v[0] == 't';
}

/* json: {rest: PATH, dedot: BOOL}; `json: {}` and `json: true` take no
 * options. */
static void load_json_options(load_ctx_t *c, parser_rule_t *r, yaml_node_t *opts)
{
    static const char *const keys[] = {"rest", "dedot", NULL};
    if (opts->type != YAML_MAPPING_NODE)
        return;
    load_check_keys(c, opts, "json options", keys, "rest, dedot");
    const char *rest = load_rest(c, r, opts, "json");
    yaml_node_t *dedot = load_get(c, opts, "dedot");
    int on = load_option_bool(c, r, dedot, "json: dedot");
    if (on && rest == NULL)
        load_error(c, load_line(dedot), "rule '%s': json: dedot applies to rest, which is not set",
                   r->id);
    else
        r->rest_dedot = on;
}

/* kv: or logfmt: options; on a grok/regex rule, `group` names the group
 * split into pairs. */
static void load_kv_options(load_ctx_t *c, parser_rule_t *r, yaml_node_t *opts)
{
    r->has_kv = 1;
    r->kv.sep = ' ';
    r->kv.assign = '=';
    int with_regex = r->kind == RK_GROK || r->kind == RK_REGEX;
    if (opts == NULL || opts->type != YAML_MAPPING_NODE) {
        if (with_regex)
            load_error(c, r->line, "rule '%s': kv: on a %s rule, kv needs {group: NAME}", r->id,
                       r->kind == RK_GROK ? "grok" : "regex");
        return;
    }
    static const char *const keys[] = {"separator",  "assign", "rest",  "group",
                                       "unwrap",     "hex",    "nulls", "multiword",
                                       "qualifiers", "parens", NULL};
    load_check_keys(c, opts, "kv options", keys,
                    "separator, assign, rest, group, unwrap, hex, nulls, multiword, qualifiers, "
                    "parens");
    const char *sep = load_scalar(load_get(c, opts, "separator"));
    const char *assign = load_scalar(load_get(c, opts, "assign"));
    const char *group = load_scalar(load_get(c, opts, "group"));
    if (sep != NULL && strlen(sep) != 1)
        load_error(c, load_line(opts), "rule '%s': kv: separator must be one character", r->id);
    if (assign != NULL && strlen(assign) != 1)
        load_error(c, load_line(opts), "rule '%s': kv: assign must be one character", r->id);
    r->kv.sep = sep && *sep ? sep[0] : ' ';
    r->kv.assign = assign && *assign ? assign[0] : '=';
    load_rest(c, r, opts, "kv");
    if (with_regex && group == NULL)
        load_error(c, load_line(opts), "rule '%s': kv: on a %s rule, kv needs {group: NAME}", r->id,
                   r->kind == RK_GROK ? "grok" : "regex");
    else if (!with_regex && group != NULL)
        load_error(c, load_line(opts),
                   "rule '%s': kv: group: only a grok or regex rule has groups to split", r->id);
    else if (group != NULL)
        r->kv.group_name = wharf_xstrdup(group);
    load_kv_list(c, r, load_get(c, opts, "unwrap"), "unwrap", &r->kv.unwrap);
    load_kv_list(c, r, load_get(c, opts, "hex"), "hex", &r->kv.hex);
    load_kv_list(c, r, load_get(c, opts, "nulls"), "nulls", &r->kv.nulls);
    load_kv_list(c, r, load_get(c, opts, "multiword"), "multiword", &r->kv.multiword);
    load_kv_list(c, r, load_get(c, opts, "qualifiers"), "qualifiers", &r->kv.qualifiers);
    load_kv_qualifiers_check(c, r, load_get(c, opts, "qualifiers"));
    r->kv.parens = load_option_bool(c, r, load_get(c, opts, "parens"), "kv: parens");
}

static void load_rule(load_ctx_t *c, parser_t *p, yaml_node_t *map)
{
    parser_rule_t *r = &p->rules[p->n_rules++];
    r->line = load_line(map);
    static const char *const keys[] = {"id",     "grok",   "regex", "json", "kv",
                                       "logfmt", "fields", "set",   NULL};
    if (map->type != YAML_MAPPING_NODE) {
        load_error(c, r->line,
                   "rules: each rule is a map (id, one of grok/regex/json/kv, fields, "
                   "set)");
        r->id = wharf_xstrdup("?");
        return;
    }
    load_check_keys(c, map, "a rule", keys, "id, grok, regex, json, kv, logfmt, fields, set");
    const char *id = load_scalar(load_get(c, map, "id"));
    r->id = wharf_xstrdup(id ? id : "?");
    if (id == NULL)
        load_error(c, r->line, "rule: 'id' is required");
    yaml_node_t *grok = load_get(c, map, "grok"), *regex = load_get(c, map, "regex");
    yaml_node_t *json = load_get(c, map, "json"), *kv = load_get(c, map, "kv");
    yaml_node_t *logfmt = load_get(c, map, "logfmt"), *fields = load_get(c, map, "fields");
    int with_kv = (grok || regex) && kv != NULL && !json && !logfmt && !(grok && regex);
    if (!with_kv && !!grok + !!regex + !!json + !!kv + !!logfmt != 1) {
        load_error(c, r->line,
                   "rule '%s': exactly one of grok, regex, json, kv, logfmt (kv may go with grok "
                   "or regex to split a group)",
                   r->id);
        load_fields(c, r, NULL, 0);
    } else if (grok != NULL || regex != NULL) {
        yaml_node_t *n = grok ? grok : regex;
        r->kind = grok ? RK_GROK : RK_REGEX;
        if (with_kv)
            load_kv_options(c, r, kv);
        if (load_scalar(n) == NULL) {
            load_error(c, load_line(n), "rule '%s': %s: expected a string", r->id,
                       grok ? "grok" : "regex");
            load_fields(c, r, NULL, 0);
        } else if (grok != NULL) {
            load_grok(c, r, grok, fields);
        } else {
            char what[300];
            snprintf(what, sizeof(what), "rule '%s': regex", r->id);
            load_regex(c, load_line(regex), what, load_scalar(regex), &r->re);
            load_fields(c, r, r->re.code ? fields : NULL, 0);
            load_kv_group(c, r);
        }
    } else if (json != NULL) {
        r->kind = RK_JSON;
        load_json_options(c, r, json);
        load_fields(c, r, fields, 0);
    } else {
        r->kind = RK_KV;
        load_kv_options(c, r, kv ? kv : logfmt);
        r->kv.bare_true = logfmt != NULL;
        load_fields(c, r, fields, 0);
    }
    load_set(c, r, load_get(c, map, "set"));
}

static void load_rules(load_ctx_t *c, parser_t *p, yaml_node_t *rules)
{
    if (rules == NULL || rules->type != YAML_SEQUENCE_NODE ||
        rules->data.sequence.items.top == rules->data.sequence.items.start) {
        load_error(c, rules ? load_line(rules) : p->line,
                   "parser '%s': 'rules' must be a "
                   "non-empty list",
                   p->name);
        return;
    }
    size_t n = (size_t)(rules->data.sequence.items.top - rules->data.sequence.items.start);
    p->rules = wharf_xcalloc(n, sizeof(*p->rules));
    for (yaml_node_item_t *i = rules->data.sequence.items.start; i < rules->data.sequence.items.top;
         i++) {
        load_rule(c, p, load_node(c, *i));
        /* ids name rules in coverage, metrics and errors: two alike are
         * one name for two things */
        parser_rule_t *r = &p->rules[p->n_rules - 1];
        for (size_t j = 0; strcmp(r->id, "?") != 0 && j + 1 < p->n_rules; j++)
            if (strcmp(p->rules[j].id, r->id) == 0) {
                load_error(c, r->line,
                           "rule id '%s' is also the id of the rule at line %d: give each "
                           "rule of a parser its own id",
                           r->id, p->rules[j].line);
                break;
            }
    }
}

/* ---- samples ------------------------------------------------------------ */

static void load_expect(load_ctx_t *c, sample_expect_t *x, yaml_node_t *k, yaml_node_t *v)
{
    x->path = wharf_xstrdup(load_scalar(k) ? load_scalar(k) : "");
    x->line = load_line(k);
    if (v->type == YAML_SCALAR_NODE) {
        const char *s = load_scalar(v);
        if (load_is_plain(v) && (strcmp(s, "null") == 0 || strcmp(s, "~") == 0 || *s == '\0')) {
            x->is_null = 1;
            return;
        }
        x->values = wharf_xcalloc(1, sizeof(char *));
        x->values[x->n_values++] = wharf_xstrdup(s);
        return;
    }
    if (v->type != YAML_SEQUENCE_NODE) {
        load_error(c, load_line(v), "samples: expect: %s: expected a value or a list", x->path);
        return;
    }
    size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    x->is_list = 1;
    x->values = wharf_xcalloc(n ? n : 1, sizeof(char *));
    for (yaml_node_item_t *i = v->data.sequence.items.start; i < v->data.sequence.items.top; i++) {
        const char *s = load_scalar(load_node(c, *i));
        x->values[x->n_values++] = wharf_xstrdup(s ? s : "");
    }
}

static void load_sample(load_ctx_t *c, parser_sample_t *s, yaml_node_t *map)
{
    static const char *const keys[] = {"message", "fields", "expect", NULL};
    s->line = load_line(map);
    if (map->type != YAML_MAPPING_NODE) {
        load_error(c, s->line, "samples: each sample is a map (message, fields, expect)");
        return;
    }
    load_check_keys(c, map, "a sample", keys, "message, fields, expect");
    const char *msg = load_scalar(load_get(c, map, "message"));
    if (msg == NULL)
        load_error(c, s->line, "sample: 'message' is required");
    s->message = wharf_xstrdup(msg ? msg : "");
    yaml_node_t *fields = load_get(c, map, "fields"), *expect = load_get(c, map, "expect");
    if (fields != NULL && fields->type == YAML_MAPPING_NODE) {
        size_t n = (size_t)(fields->data.mapping.pairs.top - fields->data.mapping.pairs.start);
        s->field_paths = wharf_xcalloc(n + 1, sizeof(char *));
        s->field_values = wharf_xcalloc(n + 1, sizeof(char *));
        for (yaml_node_pair_t *p = fields->data.mapping.pairs.start;
             p < fields->data.mapping.pairs.top; p++) {
            const char *k = load_scalar(load_node(c, p->key));
            const char *v = load_scalar(load_node(c, p->value));
            if (k == NULL || v == NULL) {
                load_error(c, load_line(fields), "sample: fields: expected field: string");
                continue;
            }
            s->field_paths[s->n_fields] = wharf_xstrdup(k);
            s->field_values[s->n_fields++] = wharf_xstrdup(v);
        }
    }
    if (expect == NULL || expect->type != YAML_MAPPING_NODE) {
        load_error(c, s->line, "sample: 'expect' (a map of field: value) is required");
        return;
    }
    size_t n = (size_t)(expect->data.mapping.pairs.top - expect->data.mapping.pairs.start);
    s->expect = wharf_xcalloc(n + 1, sizeof(*s->expect));
    for (yaml_node_pair_t *p = expect->data.mapping.pairs.start; p < expect->data.mapping.pairs.top;
         p++)
        load_expect(c, &s->expect[s->n_expect++], load_node(c, p->key), load_node(c, p->value));
}

static void load_samples(load_ctx_t *c, parser_t *p, yaml_node_t *samples)
{
    if (samples == NULL || samples->type != YAML_SEQUENCE_NODE ||
        samples->data.sequence.items.top == samples->data.sequence.items.start) {
        load_error(c, samples ? load_line(samples) : p->line,
                   "parser '%s': every parser file needs samples (message, fields, expect), "
                   "run by `wharf parsers test`",
                   p->name);
        return;
    }
    size_t n = (size_t)(samples->data.sequence.items.top - samples->data.sequence.items.start);
    p->samples = wharf_xcalloc(n, sizeof(*p->samples));
    for (yaml_node_item_t *i = samples->data.sequence.items.start;
         i < samples->data.sequence.items.top; i++)
        load_sample(c, &p->samples[p->n_samples++], load_node(c, *i));
}

/* ---- files -------------------------------------------------------------- */

/* Each file pattern, expanded and compiled on its own: a broken one was
 * reported by the rules using it with an offset into their whole expanded
 * regex. Now at its own line, with the offset in its text; a pattern that
 * only fails through another (which is reported) says which. Unknown
 * references are left to the rules that use the pattern, which report
 * them. */
static void load_patterns_compile(load_ctx_t *c)
{
    char err[300], where[300];
    size_t n = c->defs.n;
    wharf_grok_t *g = calloc(n + 1, sizeof(*g));
    size_t *off = calloc(n + 1, sizeof(*off));
    int *expanded = calloc(n + 1, sizeof(*expanded));
    if (g == NULL || off == NULL || expanded == NULL)
        n = 0;
    for (size_t i = 0; i < n; i++) {
        /* the pattern's text as the expression: offsets are into it */
        if (wharf_grok_expand(c->defs.regexes[i], &c->defs, &g[i], err, sizeof(err)) < 0)
            continue;
        expanded[i] = 1;
        parser_re_t re;
        if (parser_re_compile(&re, g[i].regex.data, err, sizeof(err), &off[i]) == 0)
            parser_re_free(&re);
        else
            c->pattern_bad[i] = 1;
    }
    for (size_t i = 0; i < n; i++) {
        if (!expanded[i])
            continue;
        long bad = load_bad_pattern_used(c, &g[i], (long)i);
        if (c->pattern_bad[i] && bad >= 0) {
            load_error(c, c->pattern_lines[i],
                       "patterns: %s: regex does not compile: it uses %%{%s}, which does not "
                       "compile (patterns:, line %d)",
                       c->defs.names[i], c->defs.names[bad], c->pattern_lines[bad]);
        } else if (c->pattern_bad[i]) {
            parser_re_t re;
            parser_re_compile(&re, g[i].regex.data, err, sizeof(err), &off[i]);
            load_grok_where(c, &g[i], off[i], "pattern", where, sizeof(where));
            load_error(c, c->pattern_lines[i], "patterns: %s: regex does not compile: %s %s",
                       c->defs.names[i], err, where);
        }
        wharf_grok_free(&g[i]);
    }
    free(g);
    free(off);
    free(expanded);
}

static void load_patterns(load_ctx_t *c, yaml_node_t *pats)
{
    if (pats == NULL)
        return;
    if (pats->type != YAML_MAPPING_NODE) {
        load_error(c, load_line(pats), "patterns: expected a map of NAME: regex");
        return;
    }
    size_t n = (size_t)(pats->data.mapping.pairs.top - pats->data.mapping.pairs.start);
    const char **names = wharf_xcalloc(n + 1, sizeof(char *)),
               **regexes = wharf_xcalloc(n + 1, sizeof(char *));
    c->defs = (wharf_grok_defs_t){names, regexes, 0};
    c->pattern_lines = wharf_xcalloc(n + 1, sizeof(int));
    c->pattern_bad = wharf_xcalloc(n + 1, 1);
    for (yaml_node_pair_t *p = pats->data.mapping.pairs.start; p < pats->data.mapping.pairs.top;
         p++) {
        const char *k = load_scalar(load_node(c, p->key)), *v = load_scalar(load_node(c, p->value));
        if (k == NULL || v == NULL) {
            load_error(c, load_line(pats), "patterns: expected NAME: regex");
            continue;
        }
        c->pattern_lines[c->defs.n] = load_line(load_node(c, p->value));
        names[c->defs.n] = k;
        regexes[c->defs.n++] = v;
    }
    load_patterns_compile(c);
}

static void load_parser(load_ctx_t *c, parser_t *p, yaml_node_t *root)
{
    static const char *const keys[] = {"name",     "description", "timezone", "when",
                                       "patterns", "rules",       "samples",  NULL};
    p->line = load_line(root);
    p->file = wharf_xstrdup(c->file);
    load_check_keys(c, root, "a parser file", keys,
                    "name, description, timezone, when, patterns, rules, samples");
    const char *name = load_scalar(load_get(c, root, "name"));
    if (name == NULL)
        load_error(c, p->line, "parser: 'name' is required");
    p->name = wharf_xstrdup(name ? name : "?");
    yaml_node_t *zone = load_get(c, root, "timezone");
    c->file_tz = zone != NULL ? load_zone(c, load_line(zone),
                                          "timezone: ", load_scalar(zone) ? load_scalar(zone) : "")
                              : NULL;
    load_when(c, p, load_get(c, root, "when"));
    load_patterns(c, load_get(c, root, "patterns"));
    load_rules(c, p, load_get(c, root, "rules"));
    load_samples(c, p, load_get(c, root, "samples"));
    free((void *)c->defs.names);
    free((void *)c->defs.regexes);
    free(c->pattern_lines);
    free(c->pattern_bad);
    c->pattern_lines = NULL;
    c->pattern_bad = NULL;
    c->defs = (wharf_grok_defs_t){NULL, NULL, 0};
}

/* What the loader's lookups cannot see: a key written twice in one map
 * (load_get takes the first, so the second was silently dropped) and YAML
 * merge keys (libyaml passes `<<` on as an ordinary key, so the merged map
 * was reported as the value of a field named `<<`, at the anchor's line).
 * Every node once, in document order: an alias is the node it names, so
 * this also sees maps reached only through one. Returns the number of
 * merge keys: with one, the rest of the file is not loaded, as what it
 * would report is about a map that is not what the author wrote. */
static size_t load_check_maps(load_ctx_t *c)
{
    size_t merges = 0;
    for (yaml_node_t *n = c->doc.nodes.start; n < c->doc.nodes.top; n++) {
        if (n->type != YAML_MAPPING_NODE)
            continue;
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
             p++) {
            yaml_node_t *k = load_node(c, p->key);
            const char *key = load_scalar(k);
            if (key == NULL)
                continue;
            if (load_is_plain(k) && strcmp(key, "<<") == 0) {
                load_error(c, load_line(k),
                           "YAML merge keys (<<) are not supported: write the keys out in "
                           "this map");
                merges++;
                continue;
            }
            for (yaml_node_pair_t *q = n->data.mapping.pairs.start; q < p; q++) {
                yaml_node_t *qk = load_node(c, q->key);
                const char *other = load_scalar(qk);
                if (other != NULL && strcmp(other, key) == 0) {
                    load_error(c, load_line(k),
                               "duplicate key '%s' (lines %d and %d): a key is written once "
                               "per map; remove or merge one of them",
                               key, load_line(qk), load_line(k));
                    break;
                }
            }
        }
    }
    return merges;
}

/* A file is one parser: a second YAML document (after `---`) was
 * silently ignored. */
static void load_check_one_document(load_ctx_t *c, yaml_parser_t *yp)
{
    yaml_document_t next;
    if (!yaml_parser_load(yp, &next)) {
        load_error(c, (int)yp->problem_mark.line + 1, "YAML: %s",
                   yp->problem ? yp->problem : "syntax error");
        return;
    }
    if (yaml_document_get_root_node(&next) != NULL)
        load_error(c, (int)next.start_mark.line + 1,
                   "a second YAML document (---): one parser per file; move it to a file of "
                   "its own");
    yaml_document_delete(&next);
}

/* What to do about the two YAML errors regex and grok authors meet most:
 * backslashes in double quotes, and a value starting with % or @. */
static const char *load_yaml_hint(const yaml_parser_t *yp, const char *text, size_t len)
{
    size_t at = yp->problem_mark.index;
    if (yp->problem == NULL)
        return "";
    if (strcmp(yp->problem, "found unknown escape character") == 0)
        return " (in double quotes YAML reads backslashes as escapes: write a regex in single "
               "quotes, '^(?<n>\\d+)')";
    if (strcmp(yp->problem, "found character that cannot start any token") == 0 && at < len &&
        (text[at] == '%' || text[at] == '@'))
        return " (quote a value or key that starts with % or @: grok: '%{WORD:user.name} ...', "
               "\"@timestamp\": ...)";
    return "";
}

static char *load_read_file(const char *path, size_t *len, int *err)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        *err = -errno;
        return NULL;
    }
    char *buf = malloc(LOAD_MAX_FILE + 1);
    size_t n = buf ? fread(buf, 1, LOAD_MAX_FILE + 1, f) : 0;
    fclose(f);
    if (buf == NULL || n > LOAD_MAX_FILE) {
        free(buf);
        *err = buf ? WHARF_ETOOBIG : -ENOMEM;
        return NULL;
    }
    *len = n;
    return buf;
}

static int parsers_grow(wharf_parsers_t *ps)
{
    parser_t *v = realloc(ps->v, (ps->n + 1) * sizeof(*v));
    if (v == NULL)
        return -ENOMEM;
    ps->v = v;
    memset(&v[ps->n], 0, sizeof(*v));
    return 0;
}

static void load_file(wharf_parsers_t *ps, const char *path, wharf_conf_errors_t *errs)
{
    int err = 0;
    size_t len = 0;
    char *text = load_read_file(path, &len, &err);
    if (text == NULL) {
        wharf_conf_error(errs, path, 0, "cannot read parser file: %s", wharf_strerror(err));
        return;
    }
    load_ctx_t c = {.file = path, .errs = errs, .ps = ps};
    yaml_parser_t yp;
    yaml_parser_initialize(&yp);
    yaml_parser_set_input_string(&yp, (const unsigned char *)text, len);
    if (!yaml_parser_load(&yp, &c.doc)) {
        wharf_conf_error(errs, path, (int)yp.problem_mark.line + 1, "YAML: %s%s",
                         yp.problem ? yp.problem : "syntax error", load_yaml_hint(&yp, text, len));
        yaml_parser_delete(&yp);
        free(text);
        return;
    }
    yaml_node_t *root = yaml_document_get_root_node(&c.doc);
    if (root == NULL || root->type != YAML_MAPPING_NODE)
        wharf_conf_error(errs, path, root ? load_line(root) : 1,
                         "a parser file is a map (name, when, rules, samples)");
    else if (load_check_maps(&c) == 0 && parsers_grow(ps) == 0)
        load_parser(&c, &ps->v[ps->n++], root);
    load_check_one_document(&c, &yp);
    yaml_document_delete(&c.doc);
    yaml_parser_delete(&yp);
    free(text);
}

static int load_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int load_is_yaml(const char *name)
{
    size_t n = strlen(name);
    return name[0] != '.' && ((n > 5 && strcmp(name + n - 5, ".yaml") == 0) ||
                              (n > 4 && strcmp(name + n - 4, ".yml") == 0));
}

static void load_dir(wharf_parsers_t *ps, const char *dir, wharf_conf_errors_t *errs)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        wharf_conf_error(errs, dir, 0, "cannot read parser directory: %s", strerror(errno));
        return;
    }
    char **names = NULL;
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!load_is_yaml(de->d_name))
            continue;
        char **v = realloc(names, (n + 1) * sizeof(*v));
        if (v == NULL)
            break;
        names = v;
        size_t dlen = strlen(dir), len = dlen + strlen(de->d_name) + 2;
        if ((names[n] = malloc(len)) == NULL)
            break;
        /* "parsers/" names its files parsers/x.yaml, not parsers//x.yaml */
        snprintf(names[n++], len, "%s%s%s", dir, dlen > 0 && dir[dlen - 1] == '/' ? "" : "/",
                 de->d_name);
    }
    closedir(d);
    /* a directory named as a parser path is there for its parsers: with
     * none (a mistyped path, files named .yml.disabled) nothing ran and
     * `wharf parsers test` said "0 passed, 0 failed" */
    if (n == 0)
        wharf_conf_error(errs, dir, 0,
                         "no parser files (*.yaml, *.yml) in this directory: add one, or "
                         "leave the directory out of the parser paths");
    if (n > 1)
        qsort(names, n, sizeof(*names), load_name_cmp);
    for (size_t i = 0; i < n; i++) {
        load_file(ps, names[i], errs);
        free(names[i]);
    }
    free(names);
}

static void parser_check_names(wharf_parsers_t *ps, wharf_conf_errors_t *errs)
{
    for (size_t i = 0; i < ps->n; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(ps->v[i].name, ps->v[j].name) == 0)
                wharf_conf_error(errs, ps->v[i].file, ps->v[i].line,
                                 "parser name '%s' is also used by %s", ps->v[i].name,
                                 ps->v[j].file);
}

void parser_load_paths(wharf_parsers_t *ps, const char *const *paths, size_t n_paths,
                       wharf_conf_errors_t *errs)
{
    for (size_t i = 0; i < n_paths; i++) {
        struct stat st;
        if (stat(paths[i], &st) == 0 && S_ISDIR(st.st_mode))
            load_dir(ps, paths[i], errs);
        else
            load_file(ps, paths[i], errs);
    }
    parser_check_names(ps, errs);
}
