/* parser_int.h - the parser set's data structures, shared by the loader
 * (parser_load.c, parser_load_field.c), the engine (parser.c and its
 * parser_*.c parts) and the sample runner (parser_sample.c). Not a public
 * interface. */
#ifndef WHARF_PARSER_INT_H
#define WHARF_PARSER_INT_H

#include "parser_regex.h"
#include "wharf/buf.h"
#include "wharf/hash.h"
#include "wharf/json.h"
#include "wharf/json_find.h"
#include "wharf/parser.h"
#include "wharf/tz.h"

#include <stdint.h>

typedef enum parser_type {
    PT_KEYWORD,
    PT_LONG,
    PT_DOUBLE,
    PT_BOOL,
    PT_IP,
    PT_TIMESTAMP,
} parser_type;

typedef enum rule_kind { RK_GROK, RK_REGEX, RK_JSON, RK_KV } rule_kind;

/* A piece of a field template: literal text, or a reference (a regex
 * group number, a JSON key path, a kv key). */
typedef struct tpl_part {
    char *lit;
    size_t lit_len;
    int group; /* regex/grok: group number, else -1 */
    char *key; /* json/kv: key path; regex/grok: group name; else NULL */
    size_t key_len;
    int key_id; /* a key: its id in the rule's keys, else -1 */
} tpl_part_t;

/* `map:` of a field: its value chosen by the text the reference gives. */
typedef struct field_map_entry {
    char *key;
    size_t key_len;
    int prefix;          /* the key ended in '*': any text starting with it */
    wharf_value_t value; /* strings owned by the rule */
} field_map_entry_t;

/* A rule key id's bit in rule_field_t.ref_keys and match_ctx_t.keys_present;
 * 0 for ids past 64, which have none. */
static inline uint64_t parser_key_bit(int id)
{
    return id >= 0 && id < 64 ? (uint64_t)1 << id : 0;
}

/* For the small tables built at load (kv keys, map keys, routing). */
static inline uint32_t parser_text_hash(const char *s, size_t n)
{
    return (uint32_t)wharf_hash_bytes(s, n);
}

/* A set of short strings with ids, hashed (parser_keys.c). */
typedef struct parser_keys {
    wharf_str_t *keys; /* by id, in the order added */
    size_t n, cap;
    int16_t *slots; /* mask + 1: an id, or -1; NULL: an empty set */
    size_t mask;
} parser_keys_t;

/* Room for max keys; 0 or -ENOMEM. */
int parser_keys_init(parser_keys_t *k, size_t max);
/* s's id, added when new; -1 when the set is full. */
int parser_keys_add(parser_keys_t *k, const char *s, size_t n);
/* s's id, or -1. */
int parser_keys_find(const parser_keys_t *k, const char *s, size_t n);
void parser_keys_free(parser_keys_t *k);

typedef struct rule_field {
    char *path;
    size_t path_len;
    int field_id; /* the fixed event field, or -1 (resolved at load) */
    parser_type type;
    char *format;         /* timestamp: strptime format, or NULL */
    const wharf_tz_t *tz; /* timestamp: the zone of times without an offset (the set's), or NULL */
    tpl_part_t *parts;
    size_t n_parts;
    int first_of; /* `from: [a, b]`: parts are references, the first with a value wins */
    int numbered; /* `from: a#` (kv): the values of keys a0, a1 ... as a list */
    int split;    /* `split: CHARS`: the text's pieces between any of them, as a list */
    parser_byteset_t split_at; /* the CHARS */
    char text_case;            /* `case: lower|upper`: 'l' or 'u' (ASCII letters), or 0 */
    field_map_entry_t *map;    /* the first entry matching the text gives the value */
    size_t n_map;
    /* map, resolved at load: the exact keys, with the first entry of each
     * (by key id), and the "PREFIX*" entries' indexes in order */
    parser_keys_t map_keys;
    uint16_t *map_first;
    uint16_t *map_prefixed;
    size_t n_map_prefixed;
    int rest_slot; /* its index in the rule's rest_fields, or -1 */
    /* kv and json rules: the key ids (all below 64) its references can be
     * found through (a json path's leading components too), when it reads no
     * group: it has no value unless the match has one of them, and most of
     * an auditd or JSON app rule's fields read keys the line lacks. 0:
     * always tried. */
    uint64_t ref_keys;
} rule_field_t;

typedef struct rule_set {
    char *path;
    size_t path_len;
    int field_id;
    wharf_value_t value; /* strings owned by the rule */
    int rest_slot;       /* as rule_field_t's */
} rule_set_t;

/* A kv option's list of strings, with their lengths and first bytes: most
 * texts looked up on the hot path (every pair's value against nulls) are
 * ruled out by their first byte. */
typedef struct kv_list {
    char **v;
    size_t *len;             /* a numbered entry's: its prefix's */
    unsigned char *numbered; /* "a#": a key of prefix a and a number (a0, a1 ...) */
    size_t n;
    int any_numbered;
    parser_byteset_t first; /* the entries' first bytes (an empty one's: 0) */
} kv_list_t;

/* key=value splitting: a kv rule's on the message, or a regex rule's on one
 * of its groups. */
typedef struct kv_opts {
    char sep, assign;
    int parens;       /* "(a=1, b=2 c=3)" is read as its pairs */
    int bare_true;    /* logfmt: a word without the assign character is a key, true */
    char *group_name; /* regex/grok: the group split into pairs, else NULL */
    int group;        /* its number, resolved at load */
    kv_list_t unwrap; /* keys whose quoted value is itself key=value text */
    kv_list_t hex;    /* keys whose unquoted hex value is decoded (auditd) */
    kv_list_t nulls;  /* values that mean "no value": the pair is left out */
    kv_list_t
        multiword; /* keys whose unquoted value runs on to the next key= (op=adding user id=5) */
    kv_list_t qualifiers; /* words that join the key right after them: old auid=7 is old_auid */
    kv_list_t listed;     /* built at load: the numbered names fields list (rest leaves them out) */
} kv_opts_t;

/* A dynamic field a rule writes one level under its rest object
 * (rest.NAME): rest takes its value in as a member, so that the object goes
 * into the event whole instead of member by member. */
typedef struct rest_field {
    const char *path; /* the rule's field or set path */
    size_t path_len;
    char *name; /* NAME as the writer writes it: quoted, escaped */
    size_t name_len;
} rest_field_t;

typedef struct parser_rule {
    char *id;
    int line;
    rule_kind kind;
    parser_re_t re; /* grok, regex */
    rule_field_t *fields;
    size_t n_fields;
    rule_set_t *set;
    size_t n_set;
    char *rest;                /* json/kv: object for keys no field took, or NULL */
    int rest_field_id;         /* rest as a fixed event field, or -1 */
    int rest_dedot;            /* json: '.' in the names rest keeps becomes '_' */
    rest_field_t *rest_fields; /* at most 64 */
    size_t n_rest_fields;
    uint64_t rest_names_filter; /* the parser_name_bit()s of the rest fields' names */
    int has_kv;                 /* a kv rule, or a regex/grok rule with kv options */
    kv_opts_t kv;
    /* kv or rest: the keys fields read (ids below n_key_refs), then the
     * leading components of dotted ones, which rest leaves out too */
    parser_keys_t keys;
    size_t n_key_refs;
    /* json: per key id, the id of its longest leading component, or -1
     * (a reference "a.b.c" may be read through member "a.b.c", "a.b" or "a") */
    int16_t *key_parent;
    int sets_message;
    unsigned related_mask; /* the fields related.ip / related.user are made of it sets */
    uint64_t route_writes; /* the route paths its match may change (as when_item.paths) */
    uint64_t matched;
    uint64_t gave_up; /* messages its regex hit the match limit on */
} parser_rule_t;

typedef enum when_kind { WK_EXACT, WK_REGEX } when_kind;

#define TERM_GAVE_UP 2 /* a memoized regex verdict: it hit the match limit */

typedef struct when_term {
    char *path;
    size_t path_len;
    size_t slot; /* index into the parser set's when paths */
    when_kind kind;
    char **values; /* WK_EXACT: any of */
    size_t n_values;
    parser_re_t re; /* WK_REGEX */
    /* WK_REGEX on a field other than message: the last subject and whether
     * it matched. Events of one container carry the same image name, so
     * the regex runs once per container, not per event. */
    int memo;
    wharf_buf_t memo_subject;
    int memo_result; /* -1: nothing memoized, else 0, 1 or TERM_GAVE_UP */
} when_term_t;

typedef struct when_item {
    when_term_t *terms; /* all must match */
    size_t n_terms;
    uint64_t paths;    /* bit k: a term reads route path k (all bits past 64 paths) */
    int reads_message; /* checked on every event, outside the first round's memo */
} when_item_t;

typedef struct sample_expect {
    char *path;
    int is_null;   /* expected absent */
    char **values; /* scalars as text; a list when is_list */
    size_t n_values;
    int is_list;
    int line;
} sample_expect_t;

typedef struct parser_sample {
    int line;
    char *message;
    char **field_paths, **field_values;
    size_t n_fields;
    sample_expect_t *expect;
    size_t n_expect;
} parser_sample_t;

typedef struct parser {
    char *name;
    char *file;
    int line;
    when_item_t *when;
    size_t n_when;
    parser_rule_t *rules;
    size_t n_rules;
    parser_sample_t *samples;
    size_t n_samples;
    uint64_t unmatched;
    uint64_t when_paths; /* the route paths its when reads: any item's paths */
    /* up to 64 rules: per first byte of a message, the rules that may match
     * it (bit i: rules[i]), from their regexes' first bytes; else NULL */
    uint64_t *first_rules;
} parser_t;

/* An exact `when` value, indexed: events whose field `path` has `value`
 * are candidates for item `item` of parser `parser`. */
typedef struct route_entry {
    struct route_entry *next;
    size_t path; /* index into route_paths */
    char *value;
    size_t value_len;
    size_t parser, item;
} route_entry_t;

#define ROUTE_BUCKETS          512
#define PARSER_RELATED_SOURCES 10    /* fields related.ip and related.user are made of */
#define PARSER_RELATED_IP_MASK 0x1fu /* those of related.ip */

/* A distinct path of a when term, resolved at load, and its value in the
 * event being routed, looked up once (again after a rewrite, which may have
 * changed fields; container labels come from the runtime and stay). */
typedef struct route_path {
    char *path;
    size_t len;
    int field;             /* the fixed event field, or -1 */
    uint64_t item_paths;   /* the paths read by the when items whose exact values
                            * of it are in routes[] (0: none are) */
    unsigned char stable;  /* a container label: unchanged by rules */
    unsigned char message; /* the path is message */
    unsigned char state;   /* per event: 0 not looked up, 1 present, 2 absent */
    const char *text;
    size_t text_len;
    unsigned char hashed; /* hash is that of text */
    uint64_t hash;        /* parser_route_hash of text */
    /* stable paths: the labels object the value was last read from and a
     * copy of the value; events of one container carry the same labels, so
     * the lookup in them is done once per container, not per event */
    wharf_buf_t memo_labels, memo_text;
    unsigned char memo_state; /* 0: nothing memoized, else as state */
    /* the value the first round's memo (wharf_parsers.first) was made for */
    wharf_buf_t first_text;
    unsigned char first_state;
} route_path_t;

struct wharf_parsers {
    parser_t *v;
    size_t n;
    route_path_t *route_paths;
    size_t n_route_paths;
    route_entry_t *routes[ROUTE_BUCKETS];
    size_t *scan_items; /* (parser, item) pairs with no exact term: checked always */
    size_t n_scan_items;
    size_t *always; /* parsers without `when` */
    size_t n_always;
    size_t *message_items; /* (parser, item) pairs of conditions that read message */
    size_t n_message_items;
    /* The first round's candidates, but for conditions on message, for the
     * route path values in route_paths[].first_*: events of one container
     * route alike, so their first round is a comparison of those values. */
    unsigned char *first;
    int first_valid;
    long only;                                 /* wharf_parsers_only(), or -1 */
    int last_missed;                           /* wharf_parsers_last_missed() */
    int related_field[PARSER_RELATED_SOURCES]; /* their fixed event fields, or -1 */
    /* per-event scratch */
    unsigned char *done, *candidate;
    wharf_buf_t scratch;
    wharf_buf_t scratch_value;       /* rest: a decoded name or string */
    wharf_buf_t scratch_path;        /* rest: the key path of a member */
    wharf_json_keyset_t rest_names;  /* rest: the member names written */
    wharf_json_writer_t rest_writer; /* rest: the values of rest_fields */
    wharf_value_t rest_values[64];   /* rest: the rule's values of its rest_fields ... */
    uint64_t rest_have;              /* ... those it has (bit i: rest_values[i]) */
    struct match_ctx *match;         /* parser.c */
    parser_re_limits_t re_limits;    /* pipeline.parser_match_limit and _time_limit */
    int routing_gave_up;             /* a when regex gave up while routing the event */
    wharf_tz_t **zones;              /* the time zones fields name, each once */
    size_t n_zones;
    wharf_parser_trace_fn trace; /* wharf_parsers_trace() */
    void *trace_arg;
    const parser_t *trace_parser; /* tracing: the parser being tried */
    int round;                    /* per event: the routing round being run, from 1 */
};

#define KV_MAX_PAIRS  256
#define KV_QUOTED     1   /* the value was quoted */
#define KV_NESTED     2   /* the pair came from an unwrapped value */
#define KV_UNWRAPPED  4   /* an unwrap key's value, split into nested pairs: read whole, not rest */
#define KV_BARE       8   /* logfmt: a key without a value, true */
#define KV_JOINED_MAX 256 /* bytes for the keys qualifiers make, per match */

/* What a rule's match left: the regex's offsets, or the key=value pairs
 * (slices of the message). */
typedef struct match_ctx {
    const parser_rule_t *r;
    const char *msg;
    size_t msg_len;
    PCRE2_SIZE *ov;
    int n_groups;
    wharf_str_t kv_key[KV_MAX_PAIRS], kv_val[KV_MAX_PAIRS];
    unsigned char kv_flags[KV_MAX_PAIRS];
    int16_t kv_key_id[KV_MAX_PAIRS]; /* the pair's key in r->keys, or -1 */
    size_t n_kv;
    char kv_joined[KV_JOINED_MAX]; /* the qualified keys' bytes ("old_auid") */
    size_t kv_joined_len;
    long *kv_ref; /* per key id below r->n_key_refs: the pair a reference reads, or -1 */
    /* bit id (below 64) set: a pair or member of key id is there (kv_ref,
     * json_at, whether or not a name comes twice); all set when references
     * search the text (json_slow) */
    uint64_t keys_present;
    /* json: the members, read once: members is json, or for an object of
     * more than KV_MAX_PAIRS members the heap array json_big; json_slow
     * when a name is escaped: references then search the text with
     * wharf_json_find. json_at: per key id of r, the member of that name,
     * or -1; json_dup when a name comes twice (references then scan the
     * members, the first that resolves winning). */
    wharf_json_member_t json[KV_MAX_PAIRS];
    wharf_json_member_t *members, *json_big;
    size_t n_json, json_big_cap;
    int json_slow, json_dup;
    long *json_at;
} match_ctx_t;

/* parser_kv.c: splits s into m's pairs (after those already there; a
 * first split starts with m->n_kv = 0 and parser_kv_begin). */
void parser_kv_begin(match_ctx_t *m);
void parser_kv_split(match_ctx_t *m, const kv_opts_t *o, const char *s, size_t n, int nested);
/* n when key is prefix followed by the decimal number n (no sign, no
 * leading zero), else -1. */
long parser_kv_number(const char *prefix, size_t plen, const char *key, size_t klen);
/* The value of pair i as an event takes it: unescaped, hex decoded; may
 * copy into e's arena. NULL when out of memory. */
const char *parser_kv_text(wharf_event_t *e, const match_ctx_t *m, size_t i, size_t *n);
/* Builds r's keys from its fields' key references and sets their key_id,
 * and key_parent; 0 or -ENOMEM. */
int parser_rule_keys_index(parser_rule_t *r);
/* A kv option list with room for cap entries, and one entry more (copied;
 * in a list of keys, "a#" stands for a0, a1 ...); 0 or -ENOMEM. */
int parser_kv_list_init(kv_list_t *l, size_t cap);
int parser_kv_list_add(kv_list_t *l, const char *s, int keys);
/* 1 when s is in l. */
int parser_kv_listed(const kv_list_t *l, const char *s, size_t len);
void parser_kv_opts_free(kv_opts_t *o);

/* The text of field path in e (NULL when absent or not text); may render
 * into e->arena. */
const char *parser_event_text(wharf_event_t *e, const char *path, size_t path_len, size_t *len);
#define LABELS_PREFIX "container.labels."
/* The value of fixed field id in e, or when id < 0 of dynamic field path;
 * NULL when it has none. */
const wharf_value_t *parser_field_value(const wharf_event_t *e, int id, const char *path,
                                        size_t path_len);
/* As parser_event_text, with the path's fixed field id (or -1) known. */
const char *parser_field_text(wharf_event_t *e, int id, const char *path, size_t path_len,
                              size_t *len);

/* All the members of the JSON object json, on the heap (free them); NULL
 * when it has none, is no object, or there is no room. */
wharf_json_member_t *parser_json_members_all(const char *json, size_t len, size_t *n);
/* Sets fixed field id of e to v, or when id < 0 dynamic field path; 0, or
 * -1 when the event has no room or refuses the path. */
int parser_set_field(wharf_event_t *e, int id, const char *path, size_t len,
                     const wharf_value_t *v);

/* parser_rest.c: r's rest_fields, from its fields and set; 0 or -ENOMEM. */
int parser_rest_fields_resolve(parser_rule_t *r);
/* The rest object of m's json or kv match, set in e. */
void parser_rest_json(wharf_parsers_t *ps, wharf_event_t *e, const match_ctx_t *m);
void parser_rest_kv(wharf_parsers_t *ps, wharf_event_t *e, const match_ctx_t *m);

/* parser_route.c: the first round's candidates (ps->candidate) for e. */
void parser_route_first(wharf_parsers_t *ps, wharf_event_t *e);
/* The candidates of a round after a rewrite; changed: the route paths the
 * rule that matched may have written. */
void parser_route_again(wharf_parsers_t *ps, wharf_event_t *e, uint64_t changed);
/* Indexes item of parser p's when; 0 or -ENOMEM. */
int parser_route_item(wharf_parsers_t *ps, size_t p, size_t item);
/* Sets r->route_writes: the route paths a match of r may change (what its
 * fields, set and rest write, and event.original, related.*). */
void parser_rule_route_writes(const wharf_parsers_t *ps, parser_rule_t *r);
/* Converts text to a value of type t (a timestamp: by format, a time
 * without an offset in zone tz, UTC when NULL); 0, 1 when a time without
 * an offset was read in tz, or -1 when the text is not one. */
int parser_convert(wharf_event_t *e, parser_type t, const char *format, const wharf_tz_t *tz,
                   const char *s, size_t n, wharf_value_t *out);
/* parser_load.c: appends the parsers of paths to ps, errors to errs. */
void parser_load_paths(wharf_parsers_t *ps, const char *const *paths, size_t n_paths,
                       wharf_conf_errors_t *errs);
/* parser_load_field.c: the zone name in ps's zones, loaded there the first
 * time; 0, or wharf_tz_load()'s error. */
int parser_zone_get(wharf_parsers_t *ps, const char *name, const wharf_tz_t **out);

#endif
