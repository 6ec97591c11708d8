/* config.c - loads wharf's YAML configuration into plain C structs.
 *
 * libyaml's document API (yaml_parser_load) keeps the line of every node, so
 * each problem can be reported as FILE:LINE. Binding is driven by
 * wharf_conf_key_t tables: the top level below, and one per input or output
 * type in that type's own file, so a new type or key needs no change here.
 * The walk follows the schema, never the YAML tree as such, so alias cycles
 * and deep nesting cannot make it recurse; a node budget bounds the fan-out
 * of aliases. Errors are collected (up to a cap), sorted by line, and handed
 * to the caller in one list, so `wharf check` can show them all. */
#include "wharf/config.h"

#include "wharf/alloc.h"
#include "wharf/api.h"
#include "wharf/common.h"
#include "wharf/parser.h"
#include "wharf/tz.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <yaml.h>

#define WHARF_CONF_STR_(x)    #x
#define WHARF_CONF_STR(x)     WHARF_CONF_STR_(x)
#define WHARF_CONF_MAX_ERRORS 100
#define WHARF_CONF_MAX_NODES  100000     /* values visited, aliases counted each time */
#define WHARF_CONF_MAX_DEPTH  64         /* nesting of lists and maps */
#define WHARF_CONF_MAX_FILE   (1u << 20) /* bytes of a configuration: 1 MiB */
#define WHARF_CONF_QUOTE_MAX  64         /* bytes of user text quoted in a message */
#define WHARF_CONF_QUOTE_BUF  (WHARF_CONF_QUOTE_MAX * 4 + 32)
#define WHARF_CONF_WHERE_MAX  512
#define WHARF_CONF_NAME_MAX   64 /* longest key name considered for "did you mean" */
#define WHARF_CONF_OOM        "out of memory"

/* One error found while binding, before it is formatted as FILE:LINE. */
typedef struct wharf_conf_msg {
    int line;
    char *text;
} wharf_conf_msg_t;

typedef struct wharf_conf_ctx {
    yaml_document_t *doc;
    wharf_conf_msg_t *msgs;
    size_t n_msgs;
    size_t nodes;        /* nodes visited so far */
    const char *stopped; /* why binding gave up early, or NULL */
} wharf_conf_ctx_t;

/* What a map is bound to: its keys, extra key names that the caller binds
 * itself (known, so not "unknown"), the struct, and where it is, for messages
 * ("" at the top level, "input 'docker'", "'host'" ...). */
typedef struct wharf_conf_target {
    const wharf_conf_key_t *keys;
    const char *const *extra;
    void *base;
    const char *where;
} wharf_conf_target_t;

/* inputs: or outputs: - a list of sections whose type picks their keys. */
typedef struct wharf_conf_family {
    const char *key;
    const char *what;
    const wharf_plugin_conf_t *(*find)(const char *type);
    const char *(*type_names)(void);
} wharf_conf_family_t;

/* ---- errors ---- */

void wharf_conf_error(wharf_conf_errors_t *errs, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    char *msg, *full, **msgs;
    int rc;

    if (!errs)
        return;
    va_start(ap, fmt);
    rc = vasprintf(&msg, fmt, ap);
    va_end(ap);
    if (rc < 0)
        return;
    file = file ? file : "<config>";
    rc = line > 0 ? asprintf(&full, "%s:%d: %s", file, line, msg)
                  : asprintf(&full, "%s: %s", file, msg);
    free(msg);
    if (rc < 0)
        return;
    msgs = realloc(errs->msgs, (errs->n + 1) * sizeof *msgs);
    if (!msgs) {
        free(full);
        return;
    }
    errs->msgs = msgs;
    errs->msgs[errs->n++] = full;
}

void wharf_conf_errors_free(wharf_conf_errors_t *errs)
{
    for (size_t i = 0; i < errs->n; i++)
        free(errs->msgs[i]);
    free(errs->msgs);
    errs->msgs = NULL;
    errs->n = 0;
}

static void wharf_conf_stop(wharf_conf_ctx_t *ctx, const char *why)
{
    if (!ctx->stopped)
        ctx->stopped = why;
}

static void wharf_conf_fail(wharf_conf_ctx_t *ctx, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Records one error at a line (0: the whole file), up to the cap. */
static void wharf_conf_fail(wharf_conf_ctx_t *ctx, int line, const char *fmt, ...)
{
    va_list ap;
    char *text;
    wharf_conf_msg_t *msgs;
    int rc;

    if (ctx->stopped)
        return;
    if (ctx->n_msgs == WHARF_CONF_MAX_ERRORS) {
        wharf_conf_stop(ctx, "too many errors, only the first " WHARF_CONF_STR(
                                 WHARF_CONF_MAX_ERRORS) " are shown");
        return;
    }
    va_start(ap, fmt);
    rc = vasprintf(&text, fmt, ap);
    va_end(ap);
    msgs = rc < 0 ? NULL : realloc(ctx->msgs, (ctx->n_msgs + 1) * sizeof *msgs);
    if (!msgs) {
        if (rc >= 0)
            free(text);
        wharf_conf_stop(ctx, WHARF_CONF_OOM);
        return;
    }
    ctx->msgs = msgs;
    msgs[ctx->n_msgs++] = (wharf_conf_msg_t){line, text};
}

/* " in " before a non-empty location, so messages read "... in input 'x'". */
static const char *wharf_conf_in(const char *where)
{
    return where[0] ? " in " : "";
}

/* User text made safe for a one-line message: control bytes escaped, long
 * text cut at a character boundary. */
static const char *wharf_conf_quote(char *buf, const char *s, size_t len)
{
    size_t o = 0;

    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (i >= WHARF_CONF_QUOTE_MAX && ((c & 0xC0) != 0x80 || i >= WHARF_CONF_QUOTE_MAX + 3)) {
            memcpy(buf + o, "...", 3);
            o += 3;
            break;
        }
        if (c < 0x20 || c == 0x7F)
            o += (size_t)snprintf(buf + o, 5, "\\x%02x", c);
        else
            buf[o++] = (char)c;
    }
    buf[o] = '\0';
    return buf;
}

static const char *wharf_conf_quote_node(char *buf, const yaml_node_t *n)
{
    return wharf_conf_quote(buf, (const char *)n->data.scalar.value, n->data.scalar.length);
}

/* ---- nodes ---- */

static yaml_node_t *wharf_conf_node(wharf_conf_ctx_t *ctx, int index)
{
    if (++ctx->nodes > WHARF_CONF_MAX_NODES)
        wharf_conf_stop(ctx, "the configuration is too large (over " WHARF_CONF_STR(
                                 WHARF_CONF_MAX_NODES) " values once aliases are expanded)");
    return yaml_document_get_node(ctx->doc, index);
}

static int wharf_conf_line(const yaml_node_t *n)
{
    return (int)n->start_mark.line + 1;
}

/* An empty value: `key:`, `key: ~`, `key: null`. */
static int wharf_conf_is_null(const yaml_node_t *n)
{
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};

    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return 0;
    for (size_t i = 0; nulls[i]; i++)
        if (strcmp((const char *)n->data.scalar.value, nulls[i]) == 0)
            return 1;
    return 0;
}

static int wharf_conf_has_nul(const yaml_node_t *n)
{
    return strlen((const char *)n->data.scalar.value) != n->data.scalar.length;
}

/* The text of a scalar without NUL bytes, else NULL. */
static const char *wharf_conf_text(const yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE || wharf_conf_has_nul(n))
        return NULL;
    return (const char *)n->data.scalar.value;
}

/* Whether node n is the scalar `name`, byte for byte. */
static int wharf_conf_is(const yaml_node_t *n, const char *name)
{
    return n->type == YAML_SCALAR_NODE && n->data.scalar.length == strlen(name) &&
           memcmp(n->data.scalar.value, name, n->data.scalar.length) == 0;
}

/* The value of the first `name:` in a map, or NULL. */
static yaml_node_t *wharf_conf_lookup(wharf_conf_ctx_t *ctx, const yaml_node_t *map,
                                      const char *name)
{
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++)
        if (wharf_conf_is(wharf_conf_node(ctx, p->key), name))
            return wharf_conf_node(ctx, p->value);
    return NULL;
}

static char *wharf_conf_strdup(wharf_conf_ctx_t *ctx, const char *s)
{
    char *copy = strdup(s);

    if (!copy)
        wharf_conf_stop(ctx, WHARF_CONF_OOM);
    return copy;
}

/* ---- value parsers ---- */

typedef struct wharf_conf_unit {
    const char *name;
    uint64_t factor;
} wharf_conf_unit_t;

static const wharf_conf_unit_t wharf_conf_size_units[] = {
    {"", 1},
    {"b", 1},
    {"k", 1ULL << 10},
    {"kb", 1000ULL},
    {"kib", 1ULL << 10},
    {"m", 1ULL << 20},
    {"mb", 1000000ULL},
    {"mib", 1ULL << 20},
    {"g", 1ULL << 30},
    {"gb", 1000000000ULL},
    {"gib", 1ULL << 30},
    {"t", 1ULL << 40},
    {"tb", 1000000000000ULL},
    {"tib", 1ULL << 40},
    {NULL, 0},
};

static const wharf_conf_unit_t wharf_conf_duration_units[] = {
    {"", 1000}, {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}, {NULL, 0},
};

/* DIGITS [spaces] UNIT -> DIGITS * the unit's factor, at most max. */
static int wharf_conf_parse_scaled(const char *s, const wharf_conf_unit_t *units, int icase,
                                   uint64_t max, uint64_t *out)
{
    uint64_t n = 0;
    const char *p = s;

    if (!s || *p < '0' || *p > '9')
        return -EINVAL;
    for (; *p >= '0' && *p <= '9'; p++) {
        unsigned d = (unsigned)(*p - '0');
        if (n > (UINT64_MAX - d) / 10)
            return -ERANGE;
        n = n * 10 + d;
    }
    while (*p == ' ')
        p++;
    for (const wharf_conf_unit_t *u = units; u->name; u++) {
        if ((icase ? strcasecmp(p, u->name) : strcmp(p, u->name)) != 0)
            continue;
        if (n > max / u->factor)
            return -ERANGE;
        *out = n * u->factor;
        return 0;
    }
    return -EINVAL;
}

int wharf_conf_parse_size(const char *s, uint64_t *out)
{
    return wharf_conf_parse_scaled(s, wharf_conf_size_units, 1, UINT64_MAX, out);
}

int wharf_conf_parse_duration(const char *s, int64_t *out_ms)
{
    uint64_t ms;
    int rc = wharf_conf_parse_scaled(s, wharf_conf_duration_units, 0, INT64_MAX, &ms);

    if (rc == 0)
        *out_ms = (int64_t)ms;
    return rc;
}

static int wharf_conf_parse_int(const char *s, int64_t *out)
{
    char *end;
    long long v;

    if (!(*s == '-' || *s == '+' || (*s >= '0' && *s <= '9')))
        return -EINVAL;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (end == s || *end)
        return -EINVAL;
    if (errno == ERANGE)
        return -ERANGE;
    *out = v;
    return 0;
}

static int wharf_conf_parse_bool(const char *s, int *out)
{
    static const char *const words[] = {"false", "true", "no", "yes", "off", "on", NULL};

    for (int i = 0; words[i]; i++) {
        if (strcasecmp(s, words[i]) == 0) {
            *out = i % 2;
            return 0;
        }
    }
    return -EINVAL;
}

static int wharf_conf_parse_enum(const char *const *choices, const char *s, int *out)
{
    for (int i = 0; choices && choices[i]; i++) {
        if (strcmp(s, choices[i]) == 0) {
            *out = i;
            return 0;
        }
    }
    return -EINVAL;
}

/* The end of a character class "[:alpha:]" (or "[.x.]", "[=x=]") starting at
 * p, or NULL when it does not end. */
static const char *wharf_conf_glob_class(const char *p)
{
    char close[3] = {p[1], ']', '\0'};
    const char *end = strstr(p + 2, close);

    return end ? end + 1 : NULL;
}

/* The ']' closing the bracket expression that opens at p, or NULL. As in
 * fnmatch(3), a ']' right after '[' or '[!' is a member, not the end. */
static const char *wharf_conf_glob_bracket(const char *p)
{
    p++;
    if (*p == '!' || *p == '^')
        p++;
    if (*p == ']')
        p++;
    for (; *p; p++) {
        if (*p == ']')
            return p;
        if (*p == '\\' && p[1])
            p++;
        else if (*p == '[' && (p[1] == ':' || p[1] == '.' || p[1] == '=') &&
                 !(p = wharf_conf_glob_class(p)))
            return NULL;
    }
    return NULL;
}

/* Why a glob is malformed, or NULL when it is fine. */
static const char *wharf_conf_glob_problem(const char *p)
{
    if (!p || !*p)
        return "the pattern is empty";
    for (; *p; p++) {
        if (*p == '\\' && !p[1])
            return "it ends with a lone '\\'";
        if (*p == '\\')
            p++;
        else if (*p == '[' && !(p = wharf_conf_glob_bracket(p)))
            return "unbalanced '['";
    }
    return NULL;
}

int wharf_conf_glob_check(const char *glob, const char **why)
{
    const char *reason = wharf_conf_glob_problem(glob);

    if (why)
        *why = reason;
    return reason ? -EINVAL : 0;
}

/* ---- owned values ---- */

int wharf_strv_glob_any(const wharf_strv_t *globs, const char *s)
{
    for (size_t i = 0; s != NULL && i < globs->n; i++)
        if (fnmatch(globs->v[i], s, 0) == 0)
            return 1;
    return 0;
}

static void wharf_conf_strv_free(wharf_strv_t *v)
{
    for (size_t i = 0; i < v->n; i++)
        free(v->v[i]);
    free(v->v);
    *v = (wharf_strv_t){0};
}

static void wharf_conf_kvv_free(wharf_kvv_t *m)
{
    for (size_t i = 0; i < m->n; i++) {
        free(m->v[i].key);
        free(m->v[i].value);
    }
    free(m->v);
    *m = (wharf_kvv_t){0};
}

static void *wharf_conf_field(void *base, const wharf_conf_key_t *k)
{
    return (char *)base + k->offset;
}

/* Frees what a schema's keys own in base (strings, lists, maps, nested). */
static void wharf_conf_struct_free(const wharf_conf_key_t *keys, void *base)
{
    for (const wharf_conf_key_t *k = keys; k && k->name; k++) {
        void *f = wharf_conf_field(base, k);
        switch (k->kind) {
        case WHARF_CK_STR:
        case WHARF_CK_GLOB:
        case WHARF_CK_ZONE:
            free(*(char **)f);
            *(char **)f = NULL;
            break;
        case WHARF_CK_STR_LIST:
        case WHARF_CK_GLOB_LIST:
            wharf_conf_strv_free(f);
            break;
        case WHARF_CK_MAP:
            wharf_conf_kvv_free(f);
            break;
        case WHARF_CK_OBJECT:
            wharf_conf_struct_free(k->sub, f);
            break;
        default:
            break;
        }
    }
}

static int wharf_conf_str_equal(const char *a, const char *b)
{
    return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static int wharf_conf_strv_equal(const wharf_strv_t *a, const wharf_strv_t *b)
{
    if (a->n != b->n)
        return 0;
    for (size_t i = 0; i < a->n; i++)
        if (!wharf_conf_str_equal(a->v[i], b->v[i]))
            return 0;
    return 1;
}

static int wharf_conf_kvv_equal(const wharf_kvv_t *a, const wharf_kvv_t *b)
{
    if (a->n != b->n)
        return 0;
    for (size_t i = 0; i < a->n; i++)
        if (!wharf_conf_str_equal(a->v[i].key, b->v[i].key) ||
            !wharf_conf_str_equal(a->v[i].value, b->v[i].value))
            return 0;
    return 1;
}

/* Whether two structs bound with the same schema hold the same values. */
static int wharf_conf_struct_equal(const wharf_conf_key_t *keys, void *a, void *b)
{
    for (const wharf_conf_key_t *k = keys; k && k->name; k++) {
        void *fa = wharf_conf_field(a, k), *fb = wharf_conf_field(b, k);
        int same;
        switch (k->kind) {
        case WHARF_CK_STR:
        case WHARF_CK_GLOB:
        case WHARF_CK_ZONE:
            same = wharf_conf_str_equal(*(char **)fa, *(char **)fb);
            break;
        case WHARF_CK_BOOL:
        case WHARF_CK_ENUM:
            same = *(int *)fa == *(int *)fb;
            break;
        case WHARF_CK_INT:
        case WHARF_CK_DURATION:
            same = *(int64_t *)fa == *(int64_t *)fb;
            break;
        case WHARF_CK_SIZE:
            same = *(uint64_t *)fa == *(uint64_t *)fb;
            break;
        case WHARF_CK_STR_LIST:
        case WHARF_CK_GLOB_LIST:
            same = wharf_conf_strv_equal(fa, fb);
            break;
        case WHARF_CK_MAP:
            same = wharf_conf_kvv_equal(fa, fb);
            break;
        default:
            same = wharf_conf_struct_equal(k->sub, fa, fb);
            break;
        }
        if (!same)
            return 0;
    }
    return 1;
}

int wharf_conf_section_equal(const wharf_conf_section_t *a, const wharf_conf_section_t *b)
{
    return strcmp(a->type, b->type) == 0 && strcmp(a->id, b->id) == 0 && a->plugin == b->plugin &&
           wharf_conf_struct_equal(a->plugin->keys, a->opts, b->opts);
}

/* Sets the defaults of nested objects with their sub_init, innermost first. */
static void wharf_conf_struct_init(const wharf_conf_key_t *keys, void *base)
{
    for (const wharf_conf_key_t *k = keys; k && k->name; k++) {
        if (k->kind != WHARF_CK_OBJECT)
            continue;
        wharf_conf_struct_init(k->sub, wharf_conf_field(base, k));
        if (k->sub_init)
            k->sub_init(wharf_conf_field(base, k));
    }
}

/* A zeroed struct of `size` bytes with its defaults set. */
static void *wharf_conf_struct_new(wharf_conf_ctx_t *ctx, const wharf_conf_key_t *keys, size_t size,
                                   void (*init)(void *))
{
    void *base = calloc(1, size ? size : 1);

    if (!base) {
        wharf_conf_stop(ctx, WHARF_CONF_OOM);
        return NULL;
    }
    wharf_conf_struct_init(keys, base);
    if (init)
        init(base);
    return base;
}

static void wharf_conf_set_str(wharf_conf_ctx_t *ctx, char **field, const char *s)
{
    char *copy = wharf_conf_strdup(ctx, s);

    if (!copy)
        return;
    free(*field);
    *field = copy;
}

/* ---- key names: lookup, suggestions, lists ---- */

static size_t wharf_conf_count(const wharf_conf_target_t *t)
{
    size_t n = 0;

    for (const wharf_conf_key_t *k = t->keys; k && k->name; k++)
        n++;
    for (const char *const *e = t->extra; e && *e; e++)
        n++;
    return n;
}

/* Name of the i-th known key: the schema's keys, then the extra names. */
static const char *wharf_conf_name_at(const wharf_conf_target_t *t, size_t i)
{
    size_t n = 0;

    for (const wharf_conf_key_t *k = t->keys; k && k->name; k++, n++)
        if (n == i)
            return k->name;
    /* i < wharf_conf_count(t), so the index lies inside extra. */
    /* NOLINTNEXTLINE(clang-analyzer-core.uninitialized.UndefReturn) */
    return t->extra != NULL ? t->extra[i - n] : "";
}

static int wharf_conf_key_index(const wharf_conf_target_t *t, const yaml_node_t *kn)
{
    size_t n = wharf_conf_count(t);

    for (size_t i = 0; i < n; i++)
        if (wharf_conf_is(kn, wharf_conf_name_at(t, i)))
            return (int)i;
    return -1;
}

static size_t wharf_conf_min3(size_t a, size_t b, size_t c)
{
    size_t m = a < b ? a : b;

    return m < c ? m : c;
}

/* Edit distance with adjacent transpositions ("raed" -> "read" is 1). */
static size_t wharf_conf_distance(const char *a, size_t la, const char *b)
{
    size_t rows[3][WHARF_CONF_NAME_MAX + 1], lb = strlen(b);
    size_t *prev2 = rows[0], *prev = rows[1], *cur = rows[2], *tmp;

    if (la > WHARF_CONF_NAME_MAX || lb > WHARF_CONF_NAME_MAX)
        return SIZE_MAX;
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t cost = a[i - 1] != b[j - 1];
            cur[j] = wharf_conf_min3(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                prev2[j - 2] + 1 < cur[j])
                cur[j] = prev2[j - 2] + 1;
        }
        tmp = prev2;
        prev2 = prev;
        prev = cur;
        cur = tmp;
    }
    return prev[lb];
}

/* The known key closest to an unknown one, or NULL: at most 2 edits, and
 * fewer than half its length ("bad" is not a typo of "id"). */
static const char *wharf_conf_suggest(const wharf_conf_target_t *t, const yaml_node_t *kn)
{
    const char *best = NULL;
    size_t best_d = 3, n = wharf_conf_count(t), len = kn->data.scalar.length;

    for (size_t i = 0; i < n; i++) {
        const char *name = wharf_conf_name_at(t, i);
        size_t d = wharf_conf_distance((const char *)kn->data.scalar.value, len, name);
        if (d < best_d && 2 * d <= len) {
            best = name;
            best_d = d;
        }
    }
    return best;
}

static void wharf_conf_append(char *buf, size_t cap, size_t *o, const char *s)
{
    int rc = snprintf(buf + *o, cap - *o, "%s%s", *o ? ", " : "", s);

    if (rc > 0)
        *o = *o + (size_t)rc < cap ? *o + (size_t)rc : cap - 1;
}

/* "a, b, c": the extra names first (type, id), then the schema's keys. */
static const char *wharf_conf_key_list(const wharf_conf_target_t *t, char *buf, size_t cap)
{
    size_t o = 0, n = wharf_conf_count(t), n_keys = n;

    buf[0] = '\0';
    for (const char *const *e = t->extra; e && *e; e++, n_keys--)
        wharf_conf_append(buf, cap, &o, *e);
    for (size_t i = 0; i < n_keys; i++)
        wharf_conf_append(buf, cap, &o, wharf_conf_name_at(t, i));
    return buf;
}

static void wharf_conf_unknown_key(wharf_conf_ctx_t *ctx, const wharf_conf_target_t *t,
                                   const yaml_node_t *kn)
{
    char q[WHARF_CONF_QUOTE_BUF], list[WHARF_CONF_WHERE_MAX];
    const char *hint = wharf_conf_suggest(t, kn);

    wharf_conf_quote_node(q, kn);
    if (hint)
        wharf_conf_fail(ctx, wharf_conf_line(kn), "unknown key '%s'%s%s (did you mean '%s'?)", q,
                        wharf_conf_in(t->where), t->where, hint);
    else
        wharf_conf_fail(ctx, wharf_conf_line(kn), "unknown key '%s'%s%s (valid keys: %s)", q,
                        wharf_conf_in(t->where), t->where,
                        wharf_conf_key_list(t, list, sizeof list));
}

/* ---- binding values ---- */

static const char *const wharf_conf_expect_text[] = {
    [WHARF_CK_STR] = "a string",
    [WHARF_CK_BOOL] = "true or false",
    [WHARF_CK_INT] = "an integer",
    [WHARF_CK_SIZE] = "a size like 1MiB",
    [WHARF_CK_DURATION] = "a duration like 250ms, 10s, 5m or 1h",
    [WHARF_CK_STR_LIST] = "a list of strings",
    [WHARF_CK_GLOB] = "a string",
    [WHARF_CK_GLOB_LIST] = "a list of strings",
    [WHARF_CK_ZONE] = "a time zone",
    [WHARF_CK_MAP] = "a map of names to plain values",
    [WHARF_CK_OBJECT] = "a map",
};

/* Reports that the value of k is not of its kind. */
static void wharf_conf_expected(wharf_conf_ctx_t *ctx, const wharf_conf_key_t *k,
                                const yaml_node_t *n)
{
    char list[WHARF_CONF_WHERE_MAX];
    size_t o = 0, n_kinds = sizeof wharf_conf_expect_text / sizeof *wharf_conf_expect_text;

    if (k->kind == WHARF_CK_ENUM) {
        list[0] = '\0';
        for (size_t i = 0; k->choices && k->choices[i]; i++)
            wharf_conf_append(list, sizeof list, &o, k->choices[i]);
        wharf_conf_fail(ctx, wharf_conf_line(n), "'%s' must be one of: %s", k->name, list);
    } else {
        wharf_conf_fail(ctx, wharf_conf_line(n), "'%s' must be %s", k->name,
                        (size_t)k->kind < n_kinds ? wharf_conf_expect_text[k->kind] : "valid");
    }
}

/* The text of a string value; NULL (reported) when it is not a scalar. */
static const char *wharf_conf_string(wharf_conf_ctx_t *ctx, const wharf_conf_key_t *k,
                                     const yaml_node_t *n)
{
    const char *s = wharf_conf_text(n);

    if (n->type == YAML_SCALAR_NODE && !s)
        wharf_conf_fail(ctx, wharf_conf_line(n), "'%s' must not contain a NUL byte", k->name);
    else if (!s)
        wharf_conf_expected(ctx, k, n);
    return s;
}

static int wharf_conf_check_glob(wharf_conf_ctx_t *ctx, const wharf_conf_key_t *k,
                                 const yaml_node_t *n, const char *s)
{
    char q[WHARF_CONF_QUOTE_BUF];
    const char *why;

    if (wharf_conf_glob_check(s, &why) == 0)
        return 0;
    wharf_conf_fail(ctx, wharf_conf_line(n), "'%s' has a bad glob '%s': %s", k->name,
                    wharf_conf_quote(q, s, strlen(s)), why);
    return -1;
}

/* A zone is checked by loading it, as the parsers will: the operator
 * learns of a misspelt name at its line, not at the first zone-less time. */
static int wharf_conf_check_zone(wharf_conf_ctx_t *ctx, const wharf_conf_key_t *k,
                                 const yaml_node_t *n, const char *s)
{
    char q[WHARF_CONF_QUOTE_BUF], why[WHARF_CONF_QUOTE_BUF + 512];
    wharf_tz_t *tz = NULL;
    int rc = wharf_tz_load(s, &tz);

    wharf_tz_free(tz);
    if (rc == 0)
        return 0;
    wharf_conf_quote(q, s, strlen(s));
    wharf_conf_fail(ctx, wharf_conf_line(n), "'%s': %s", k->name,
                    wharf_tz_load_error(rc, q, why, sizeof(why)));
    return -1;
}

static void wharf_conf_bind_str(wharf_conf_ctx_t *ctx, const wharf_conf_key_t *k,
                                const yaml_node_t *n, char **field)
{
    const char *s = wharf_conf_string(ctx, k, n);
    char why[WHARF_CONF_QUOTE_BUF + 512];

    if (!s || (k->kind == WHARF_CK_GLOB && wharf_conf_check_glob(ctx, k, n, s) < 0) ||
        (k->kind == WHARF_CK_ZONE && wharf_conf_check_zone(ctx, k, n, s) < 0))
        return;
    if (k->check != NULL && k->check(s, why, sizeof why) < 0) {
        wharf_conf_fail(ctx, wharf_conf_line(n), "'%s': %s", k->name, why);
        return;
    }
    wharf_conf_set_str(ctx, field, s);
}

static int wharf_conf_parse_value(const wharf_conf_key_t *k, const char *s, void *field)
{
    switch (k->kind) {
    case WHARF_CK_BOOL:
        return wharf_conf_parse_bool(s, field);
    case WHARF_CK_INT:
        return wharf_conf_parse_int(s, field);
    case WHARF_CK_SIZE:
        return wharf_conf_parse_size(s, field);
    case WHARF_CK_DURATION:
        return wharf_conf_parse_duration(s, field);
    case WHARF_CK_ENUM:
        return wharf_conf_parse_enum(k->choices, s, field);
    default:
        return -EINVAL;
    }
}

static int wharf_conf_out_of_bounds(const wharf_conf_key_t *k, const void *field)
{
    if (k->max <= 0)
        return 0;
    if (k->kind == WHARF_CK_SIZE) {
        uint64_t v = *(const uint64_t *)field;
        return v < (uint64_t)k->min || v > (uint64_t)k->max;
    }
    if (k->kind == WHARF_CK_INT || k->kind == WHARF_CK_DURATION) {
        int64_t v = *(const int64_t *)field;
        return v < k->min || v > k->max;
    }
    return 0;
}

/* BOOL, INT, SIZE, DURATION, ENUM. */
static void wharf_conf_bind_scalar(wharf_conf_ctx_t *ctx, const wharf_conf_key_t *k,
                                   const yaml_node_t *n, void *field)
{
    const char *s = wharf_conf_text(n);
    int rc = s ? wharf_conf_parse_value(k, s, field) : -EINVAL;

    if (rc == 0 && wharf_conf_out_of_bounds(k, field))
        wharf_conf_fail(ctx, wharf_conf_line(n), "'%s' must be between %lld and %lld%s", k->name,
                        (long long)k->min, (long long)k->max,
                        k->kind == WHARF_CK_SIZE       ? " bytes"
                        : k->kind == WHARF_CK_DURATION ? " ms"
                                                       : "");
    else if (rc == -ERANGE)
        wharf_conf_fail(ctx, wharf_conf_line(n), "'%s' is out of range", k->name);
    else if (rc < 0)
        wharf_conf_expected(ctx, k, n);
}

static void wharf_conf_list_add(wharf_conf_ctx_t *ctx, const wharf_conf_key_t *k,
                                const yaml_node_t *item, wharf_strv_t *v)
{
    const char *s = NULL;

    if (wharf_conf_is_null(item))
        wharf_conf_expected(ctx, k, item);
    else
        s = wharf_conf_string(ctx, k, item);
    if (!s || (k->kind == WHARF_CK_GLOB_LIST && wharf_conf_check_glob(ctx, k, item, s) < 0))
        return;
    v->v[v->n] = wharf_conf_strdup(ctx, s);
    v->n += v->v[v->n] != NULL;
}

/* STR_LIST, GLOB_LIST: a sequence of strings, or one string. */
static void wharf_conf_bind_list(wharf_conf_ctx_t *ctx, const wharf_conf_key_t *k,
                                 const yaml_node_t *n, wharf_strv_t *field)
{
    wharf_strv_t v = {0};
    size_t len = n->type == YAML_SEQUENCE_NODE
                     ? (size_t)(n->data.sequence.items.top - n->data.sequence.items.start)
                     : 1;

    if (n->type == YAML_MAPPING_NODE) {
        wharf_conf_expected(ctx, k, n);
        return;
    }
    if (len && !(v.v = calloc(len, sizeof *v.v))) {
        wharf_conf_stop(ctx, WHARF_CONF_OOM);
        return;
    }
    if (n->type == YAML_SCALAR_NODE)
        wharf_conf_list_add(ctx, k, n, &v);
    for (size_t i = 0; n->type == YAML_SEQUENCE_NODE && i < len && !ctx->stopped; i++)
        wharf_conf_list_add(ctx, k, wharf_conf_node(ctx, n->data.sequence.items.start[i]), &v);
    wharf_conf_strv_free(field);
    *field = v;
}

static void wharf_conf_kv_add(wharf_conf_ctx_t *ctx, const wharf_conf_key_t *k,
                              const yaml_node_pair_t *p, wharf_kvv_t *m)
{
    const yaml_node_t *kn = wharf_conf_node(ctx, p->key), *vn = wharf_conf_node(ctx, p->value);
    const char *key = wharf_conf_string(ctx, k, kn);
    const char *value = key ? wharf_conf_string(ctx, k, vn) : NULL;
    char q[WHARF_CONF_QUOTE_BUF];
    wharf_kv_t kv;

    if (!value)
        return;
    for (size_t i = 0; i < m->n; i++) {
        if (strcmp(m->v[i].key, key) == 0) {
            wharf_conf_fail(ctx, wharf_conf_line(kn),
                            "duplicate key '%s' in '%s' (first at line %d)",
                            wharf_conf_quote(q, key, strlen(key)), k->name, m->v[i].line);
            return;
        }
    }
    kv = (wharf_kv_t){strdup(key), strdup(value), wharf_conf_line(kn)};
    if (!kv.key || !kv.value) {
        free(kv.key);
        free(kv.value);
        wharf_conf_stop(ctx, WHARF_CONF_OOM);
        return;
    }
    m->v[m->n++] = kv;
}

/* MAP: name -> scalar, kept as text. */
static void wharf_conf_bind_kv(wharf_conf_ctx_t *ctx, const wharf_conf_key_t *k,
                               const yaml_node_t *n, wharf_kvv_t *field)
{
    wharf_kvv_t m = {0};
    size_t len;

    if (n->type != YAML_MAPPING_NODE) {
        wharf_conf_expected(ctx, k, n);
        return;
    }
    len = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
    if (len && !(m.v = calloc(len, sizeof *m.v))) {
        wharf_conf_stop(ctx, WHARF_CONF_OOM);
        return;
    }
    for (size_t i = 0; i < len && !ctx->stopped; i++)
        wharf_conf_kv_add(ctx, k, &n->data.mapping.pairs.start[i], &m);
    wharf_conf_kvv_free(field);
    *field = m;
}

static void wharf_conf_bind_map(wharf_conf_ctx_t *ctx, const yaml_node_t *map,
                                const wharf_conf_target_t *t);

/* OBJECT: a nested map bound with the key's sub-schema. */
static void wharf_conf_bind_object(wharf_conf_ctx_t *ctx, const wharf_conf_key_t *k,
                                   const yaml_node_t *n, void *field, const char *where)
{
    char sub_where[WHARF_CONF_WHERE_MAX];

    if (n->type != YAML_MAPPING_NODE) {
        wharf_conf_expected(ctx, k, n);
        return;
    }
    if (where[0])
        snprintf(sub_where, sizeof sub_where, "'%s' of %s", k->name, where);
    else
        snprintf(sub_where, sizeof sub_where, "'%s'", k->name);
    wharf_conf_bind_map(ctx, n, &(wharf_conf_target_t){k->sub, NULL, field, sub_where});
}

static void wharf_conf_bind_key(wharf_conf_ctx_t *ctx, const wharf_conf_key_t *k,
                                const yaml_node_t *n, const wharf_conf_target_t *t)
{
    void *field = wharf_conf_field(t->base, k);

    if (wharf_conf_is_null(n)) {
        wharf_conf_fail(ctx, wharf_conf_line(n), "'%s' has no value", k->name);
        return;
    }
    switch (k->kind) {
    case WHARF_CK_STR:
    case WHARF_CK_GLOB:
    case WHARF_CK_ZONE:
        wharf_conf_bind_str(ctx, k, n, field);
        break;
    case WHARF_CK_STR_LIST:
    case WHARF_CK_GLOB_LIST:
        wharf_conf_bind_list(ctx, k, n, field);
        break;
    case WHARF_CK_MAP:
        wharf_conf_bind_kv(ctx, k, n, field);
        break;
    case WHARF_CK_OBJECT:
        wharf_conf_bind_object(ctx, k, n, field, t->where);
        break;
    default:
        wharf_conf_bind_scalar(ctx, k, n, field);
        break;
    }
}

/* ---- binding maps ---- */

/* One `key: value` of a map; seen[i] holds the line where known key i was
 * first set. */
static void wharf_conf_bind_pair(wharf_conf_ctx_t *ctx, const yaml_node_pair_t *p,
                                 const wharf_conf_target_t *t, int *seen)
{
    const yaml_node_t *kn = wharf_conf_node(ctx, p->key), *vn = wharf_conf_node(ctx, p->value);
    size_t n_keys = 0;
    int i;

    if (kn->type != YAML_SCALAR_NODE) {
        wharf_conf_fail(ctx, wharf_conf_line(kn), "a key must be a plain name, not a list or map");
        return;
    }
    i = wharf_conf_key_index(t, kn);
    if (i < 0) {
        wharf_conf_unknown_key(ctx, t, kn);
        return;
    }
    if (seen[i]) {
        wharf_conf_fail(ctx, wharf_conf_line(kn), "duplicate key '%s'%s%s (first at line %d)",
                        wharf_conf_name_at(t, (size_t)i), wharf_conf_in(t->where), t->where,
                        seen[i]);
        return;
    }
    seen[i] = wharf_conf_line(kn);
    for (const wharf_conf_key_t *k = t->keys; k && k->name; k++)
        n_keys++;
    if ((size_t)i < n_keys)
        wharf_conf_bind_key(ctx, &t->keys[i], vn, t);
}

static void wharf_conf_bind_map(wharf_conf_ctx_t *ctx, const yaml_node_t *map,
                                const wharf_conf_target_t *t)
{
    int *seen = calloc(wharf_conf_count(t) + 1, sizeof *seen);

    if (!seen) {
        wharf_conf_stop(ctx, WHARF_CONF_OOM);
        return;
    }
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
         p < map->data.mapping.pairs.top && !ctx->stopped; p++)
        wharf_conf_bind_pair(ctx, p, t, seen);
    for (size_t i = 0; t->keys && t->keys[i].name; i++)
        if (t->keys[i].required && !seen[i])
            wharf_conf_fail(ctx, wharf_conf_line(map), "missing required key '%s'%s%s",
                            t->keys[i].name, wharf_conf_in(t->where), t->where);
    free(seen);
}

/* ---- inputs and outputs ---- */

static const char *const wharf_conf_section_keys[] = {"type", "id", NULL};

/* The copied text of a section's `type` or `id`; NULL when missing or bad
 * (reported). */
static char *wharf_conf_section_text(wharf_conf_ctx_t *ctx, const yaml_node_t *map,
                                     const char *name, const char *where)
{
    const yaml_node_t *n = wharf_conf_lookup(ctx, map, name);
    const char *s;

    if (!n) {
        wharf_conf_fail(ctx, wharf_conf_line(map), "missing required key '%s' in %s", name, where);
        return NULL;
    }
    if (wharf_conf_is_null(n)) {
        wharf_conf_fail(ctx, wharf_conf_line(n), "'%s' has no value", name);
        return NULL;
    }
    s = wharf_conf_text(n);
    if (!s || !*s) {
        wharf_conf_fail(ctx, wharf_conf_line(n), "'%s' must be a non-empty string", name);
        return NULL;
    }
    return wharf_conf_strdup(ctx, s);
}

static void wharf_conf_report_plugin(void *ctx, int line, const char *msg)
{
    wharf_conf_fail(ctx, line, "%s", msg);
}

/* Finds the section's type and binds the rest of its keys into new opts. */
static void wharf_conf_bind_plugin(wharf_conf_ctx_t *ctx, const wharf_conf_family_t *fam,
                                   const yaml_node_t *map, wharf_conf_section_t *sec,
                                   const char *where)
{
    const wharf_plugin_conf_t *plugin = fam->find(sec->type);
    char q[WHARF_CONF_QUOTE_BUF];

    if (!plugin) {
        wharf_conf_fail(ctx, wharf_conf_line(wharf_conf_lookup(ctx, map, "type")),
                        "unknown %s type '%s' (known types: %s)", fam->what,
                        wharf_conf_quote(q, sec->type, strlen(sec->type)), fam->type_names());
        return;
    }
    sec->opts = wharf_conf_struct_new(ctx, plugin->keys, plugin->opts_size, plugin->opts_init);
    if (!sec->opts)
        return;
    sec->plugin = plugin;
    wharf_conf_bind_map(
        ctx, map, &(wharf_conf_target_t){plugin->keys, wharf_conf_section_keys, sec->opts, where});
    if (plugin->check != NULL)
        plugin->check(sec, wharf_conf_report_plugin, ctx);
}

static void wharf_conf_bind_section(wharf_conf_ctx_t *ctx, const wharf_conf_family_t *fam,
                                    const yaml_node_t *n, size_t index, wharf_conf_section_t *sec)
{
    char where[WHARF_CONF_WHERE_MAX], q[WHARF_CONF_QUOTE_BUF];

    sec->line = wharf_conf_line(n);
    if (n->type != YAML_MAPPING_NODE) {
        wharf_conf_fail(ctx, sec->line, "each entry of '%s' must be a map with 'type' and 'id'",
                        fam->key);
        return;
    }
    snprintf(where, sizeof where, "%s #%zu", fam->what, index);
    sec->id = wharf_conf_section_text(ctx, n, "id", where);
    if (sec->id)
        snprintf(where, sizeof where, "%s '%s'", fam->what,
                 wharf_conf_quote(q, sec->id, strlen(sec->id)));
    sec->type = wharf_conf_section_text(ctx, n, "type", where);
    if (sec->type)
        wharf_conf_bind_plugin(ctx, fam, n, sec, where);
}

static void wharf_conf_bind_sections(wharf_conf_ctx_t *ctx, const wharf_conf_family_t *fam,
                                     const yaml_node_t *n, wharf_conf_section_t **v, size_t *count)
{
    size_t len;

    if (n->type != YAML_SEQUENCE_NODE) {
        wharf_conf_fail(ctx, wharf_conf_line(n), "'%s' must be a list of %ss", fam->key, fam->what);
        return;
    }
    len = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    if (!len) {
        wharf_conf_fail(ctx, wharf_conf_line(n), "'%s' must list at least one %s", fam->key,
                        fam->what);
        return;
    }
    if (!(*v = calloc(len, sizeof **v))) {
        wharf_conf_stop(ctx, WHARF_CONF_OOM);
        return;
    }
    *count = len;
    for (size_t i = 0; i < len && !ctx->stopped; i++)
        wharf_conf_bind_section(ctx, fam, wharf_conf_node(ctx, n->data.sequence.items.start[i]),
                                i + 1, &(*v)[i]);
}

static void wharf_conf_bind_family(wharf_conf_ctx_t *ctx, const yaml_node_t *root,
                                   const wharf_conf_family_t *fam, wharf_conf_section_t **v,
                                   size_t *count)
{
    const yaml_node_t *n = wharf_conf_lookup(ctx, root, fam->key);

    if (!n)
        wharf_conf_fail(ctx, wharf_conf_line(root), "missing required key '%s'", fam->key);
    else if (wharf_conf_is_null(n))
        wharf_conf_fail(ctx, wharf_conf_line(n), "'%s' has no value", fam->key);
    else
        wharf_conf_bind_sections(ctx, fam, n, v, count);
}

static void wharf_conf_sections_free(wharf_conf_section_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (v[i].plugin)
            wharf_conf_struct_free(v[i].plugin->keys, v[i].opts);
        free(v[i].opts);
        free(v[i].type);
        free(v[i].id);
    }
    free(v);
}

/* A section in the order ids are checked: by line, then by position. */
typedef struct wharf_conf_id_ref {
    const wharf_conf_section_t *sec;
    size_t order;
} wharf_conf_id_ref_t;

static int wharf_conf_id_cmp(const void *a, const void *b)
{
    const wharf_conf_id_ref_t *x = a, *y = b;
    int c = strcmp(x->sec->id, y->sec->id);

    if (c)
        return c;
    if (x->sec->line != y->sec->line)
        return x->sec->line < y->sec->line ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* Ids name positions and metrics: each must be unique across inputs and
 * outputs. Sorting keeps this O(n log n) whatever the file holds. */
static void wharf_conf_check_ids(wharf_conf_ctx_t *ctx, const wharf_config_t *cfg)
{
    size_t n = 0, total = cfg->n_inputs + cfg->n_outputs;
    wharf_conf_id_ref_t *refs = calloc(total + 1, sizeof *refs);
    char q[WHARF_CONF_QUOTE_BUF];

    if (!refs) {
        wharf_conf_stop(ctx, WHARF_CONF_OOM);
        return;
    }
    for (size_t i = 0; i < total; i++) {
        const wharf_conf_section_t *s =
            i < cfg->n_inputs ? &cfg->inputs[i] : &cfg->outputs[i - cfg->n_inputs];
        if (s->id)
            refs[n++] = (wharf_conf_id_ref_t){s, i};
    }
    qsort(refs, n, sizeof *refs, wharf_conf_id_cmp);
    for (size_t i = 1, first = 0; i < n; i++) {
        if (strcmp(refs[i].sec->id, refs[first].sec->id) != 0)
            first = i;
        else
            wharf_conf_fail(ctx, refs[i].sec->line, "duplicate id '%s' (first used at line %d)",
                            wharf_conf_quote(q, refs[i].sec->id, strlen(refs[i].sec->id)),
                            refs[first].sec->line);
    }
    free(refs);
}

/* ---- the top level ---- */

static void wharf_conf_host_init(void *p)
{
    wharf_conf_host_t *host = p;

    host->name = wharf_xstrdup("auto");
}

static void wharf_conf_top_init(void *p)
{
    wharf_config_t *cfg = p;

    cfg->data_dir = wharf_xstrdup("./data");
    cfg->shutdown_timeout_ms = 10000;
}

static void wharf_conf_buffer_init(void *p)
{
    wharf_conf_buffer_t *b = p;

    b->max_size = UINT64_C(1) << 30;
    b->when_full = WHARF_WHEN_FULL_BLOCK;
    b->fsync = WHARF_FSYNC_BATCH;
    b->fsync_interval_ms = 1000;
    b->segment_size = UINT64_C(64) << 20;
    b->compression_level = 1;
    b->max_hold_deleted_ms = INT64_C(600000);
}

static const char *const wharf_conf_log_format_names[] = {"logfmt", "json", NULL};
static const char *const wharf_conf_when_full_names[] = {"block", "drop_oldest", NULL};
static const char *const wharf_conf_fsync_names[] = {"batch", "interval", "never", NULL};

#define WHARF_CONF_TIB (INT64_C(1) << 40)
#define WHARF_CONF_DAY (INT64_C(86400000))

static const wharf_conf_key_t wharf_conf_buffer_keys[] = {
    {.name = "max_size",
     .kind = WHARF_CK_SIZE,
     .offset = offsetof(wharf_conf_buffer_t, max_size),
     .min = INT64_C(128) * 1024,
     .max = 64 * WHARF_CONF_TIB},
    {.name = "when_full",
     .kind = WHARF_CK_ENUM,
     .offset = offsetof(wharf_conf_buffer_t, when_full),
     .choices = wharf_conf_when_full_names},
    {.name = "fsync",
     .kind = WHARF_CK_ENUM,
     .offset = offsetof(wharf_conf_buffer_t, fsync),
     .choices = wharf_conf_fsync_names},
    {.name = "fsync_interval",
     .kind = WHARF_CK_DURATION,
     .offset = offsetof(wharf_conf_buffer_t, fsync_interval_ms),
     .min = 1,
     .max = WHARF_CONF_DAY},
    {.name = "segment_size",
     .kind = WHARF_CK_SIZE,
     .offset = offsetof(wharf_conf_buffer_t, segment_size),
     .min = INT64_C(64) * 1024,
     .max = INT64_C(1) << 32},
    {.name = "compression_level",
     .kind = WHARF_CK_INT,
     .offset = offsetof(wharf_conf_buffer_t, compression_level),
     .min = -7,
     .max = 19},
    {.name = "max_hold_deleted",
     .kind = WHARF_CK_DURATION,
     .offset = offsetof(wharf_conf_buffer_t, max_hold_deleted_ms),
     .min = 0,
     .max = 365 * WHARF_CONF_DAY},
    {.name = NULL},
};

static void wharf_conf_pipeline_init(void *p)
{
    wharf_conf_pipeline_t *pl = p;

    pl->parser_match_limit = WHARF_PARSER_MATCH_LIMIT_DEFAULT;
    pl->parser_time_limit_ms = WHARF_PARSER_TIME_LIMIT_DEFAULT_MS;
}

static const wharf_conf_key_t wharf_conf_pipeline_keys[] = {
    {.name = "parsers",
     .kind = WHARF_CK_STR_LIST,
     .offset = offsetof(wharf_conf_pipeline_t, parsers)},
    {.name = "parser_match_limit",
     .kind = WHARF_CK_INT,
     .offset = offsetof(wharf_conf_pipeline_t, parser_match_limit),
     .min = 1000,
     .max = 1000000000},
    {.name = "parser_time_limit",
     .kind = WHARF_CK_DURATION,
     .offset = offsetof(wharf_conf_pipeline_t, parser_time_limit_ms),
     .min = 1,
     .max = 60LL * 1000},
    {.name = "parser_timezone",
     .kind = WHARF_CK_ZONE,
     .offset = offsetof(wharf_conf_pipeline_t, parser_timezone)},
    {.name = NULL},
};

static const wharf_conf_key_t wharf_conf_api_keys[] = {
    {.name = "listen", .kind = WHARF_CK_STR, .offset = offsetof(wharf_conf_api_t, listen)},
    {.name = NULL},
};

static void wharf_conf_health_init(void *p)
{
    wharf_conf_health_t *h = p;

    h->output_down_after_ms = 60000;
}

static const wharf_conf_key_t wharf_conf_health_keys[] = {
    {.name = "output_down_after",
     .kind = WHARF_CK_DURATION,
     .offset = offsetof(wharf_conf_health_t, output_down_after_ms),
     .min = 0,
     .max = 365 * WHARF_CONF_DAY},
    {.name = NULL},
};

static const wharf_conf_key_t wharf_conf_host_keys[] = {
    {.name = "name", .kind = WHARF_CK_STR, .offset = offsetof(wharf_conf_host_t, name)},
    {.name = NULL},
};

/* The top-level keys. `inputs` and `outputs` are lists of typed sections,
 * bound by wharf_conf_bind_family; every other key is one line here. */
static const wharf_conf_key_t wharf_conf_top_keys[] = {
    {.name = "data_dir", .kind = WHARF_CK_STR, .offset = offsetof(wharf_config_t, data_dir)},
    {.name = "log_format",
     .kind = WHARF_CK_ENUM,
     .offset = offsetof(wharf_config_t, log_format),
     .choices = wharf_conf_log_format_names},
    {.name = "audit", .kind = WHARF_CK_BOOL, .offset = offsetof(wharf_config_t, audit)},
    {.name = "shutdown_timeout",
     .kind = WHARF_CK_DURATION,
     .offset = offsetof(wharf_config_t, shutdown_timeout_ms),
     .min = 0,
     .max = 3600LL * 1000},
    {.name = "host",
     .kind = WHARF_CK_OBJECT,
     .offset = offsetof(wharf_config_t, host),
     .sub = wharf_conf_host_keys,
     .sub_init = wharf_conf_host_init},
    {.name = "buffer",
     .kind = WHARF_CK_OBJECT,
     .offset = offsetof(wharf_config_t, buffer),
     .sub = wharf_conf_buffer_keys,
     .sub_init = wharf_conf_buffer_init},
    {.name = "pipeline",
     .kind = WHARF_CK_OBJECT,
     .offset = offsetof(wharf_config_t, pipeline),
     .sub = wharf_conf_pipeline_keys,
     .sub_init = wharf_conf_pipeline_init},
    {.name = "api",
     .kind = WHARF_CK_OBJECT,
     .offset = offsetof(wharf_config_t, api),
     .sub = wharf_conf_api_keys},
    {.name = "health",
     .kind = WHARF_CK_OBJECT,
     .offset = offsetof(wharf_config_t, health),
     .sub = wharf_conf_health_keys,
     .sub_init = wharf_conf_health_init},
    {.name = NULL},
};

static const char *const wharf_conf_top_lists[] = {"inputs", "outputs", NULL};

static const wharf_conf_family_t wharf_conf_inputs = {"inputs", "input", wharf_input_conf_find,
                                                      wharf_input_type_names};
static const wharf_conf_family_t wharf_conf_outputs = {"outputs", "output", wharf_output_conf_find,
                                                       wharf_output_type_names};

/* host.name "auto" stands for this machine's name: $WHARF_HOST_NAME when set
 * (a Kubernetes DaemonSet passes the node's name there: a pod's own hostname
 * is the pod's), else gethostname(). */
static void wharf_conf_resolve_host(wharf_conf_ctx_t *ctx, wharf_config_t *cfg)
{
    char name[256];
    const char *env = getenv("WHARF_HOST_NAME");

    if (!cfg->host.name || strcmp(cfg->host.name, "auto") != 0)
        return;
    if (env != NULL && *env != '\0') {
        wharf_conf_set_str(ctx, &cfg->host.name, env);
        return;
    }
    if (gethostname(name, sizeof name - 1) < 0) {
        wharf_conf_fail(ctx, 0, "cannot determine the host name: %s", strerror(errno));
        return;
    }
    name[sizeof name - 1] = '\0';
    wharf_conf_set_str(ctx, &cfg->host.name, name);
}

/* The active segment is never deleted, so a full buffer needs room for at
 * least one more. */
static void wharf_conf_check_buffer(wharf_conf_ctx_t *ctx, const yaml_node_t *root,
                                    const wharf_conf_buffer_t *b)
{
    const yaml_node_t *n;

    if (b->max_size / 2 >= b->segment_size)
        return;
    n = wharf_conf_lookup(ctx, root, "buffer");
    wharf_conf_fail(ctx, n ? wharf_conf_line(n) : 0,
                    "buffer: max_size (%llu bytes) must be at least twice segment_size (%llu "
                    "bytes): lower segment_size or raise max_size",
                    (unsigned long long)b->max_size, (unsigned long long)b->segment_size);
}

/* api.listen must be an address wharf can bind, reported at its own line. */
static void wharf_conf_check_api(wharf_conf_ctx_t *ctx, const yaml_node_t *root,
                                 const wharf_conf_api_t *api)
{
    struct sockaddr_storage addr;
    const char *why = NULL;
    const yaml_node_t *sec, *n;
    char q[WHARF_CONF_QUOTE_BUF];

    if (!api->listen || wharf_api_parse_listen(api->listen, &addr, &why) == 0)
        return;
    sec = wharf_conf_lookup(ctx, root, "api");
    n = sec && sec->type == YAML_MAPPING_NODE ? wharf_conf_lookup(ctx, sec, "listen") : NULL;
    wharf_conf_fail(ctx, n ? wharf_conf_line(n) : 0,
                    "api: listen \"%s\": %s; e.g. 127.0.0.1:9880 or [::1]:9880",
                    wharf_conf_quote(q, api->listen, strlen(api->listen)), why);
}

static void wharf_conf_bind_top(wharf_conf_ctx_t *ctx, const yaml_node_t *root, wharf_config_t *cfg)
{
    const wharf_conf_target_t top = {wharf_conf_top_keys, wharf_conf_top_lists, cfg, ""};
    char list[WHARF_CONF_WHERE_MAX];

    if (!root || wharf_conf_is_null(root)) {
        wharf_conf_fail(ctx, 1, "the configuration is empty: it needs 'inputs' and 'outputs'");
        return;
    }
    if (root->type != YAML_MAPPING_NODE) {
        wharf_conf_fail(ctx, wharf_conf_line(root), "the top level must be a map with the keys: %s",
                        wharf_conf_key_list(&top, list, sizeof list));
        return;
    }
    wharf_conf_bind_map(ctx, root, &top);
    wharf_conf_bind_family(ctx, root, &wharf_conf_inputs, &cfg->inputs, &cfg->n_inputs);
    wharf_conf_bind_family(ctx, root, &wharf_conf_outputs, &cfg->outputs, &cfg->n_outputs);
    wharf_conf_check_ids(ctx, cfg);
    wharf_conf_check_buffer(ctx, root, &cfg->buffer);
    wharf_conf_check_api(ctx, root, &cfg->api);
    wharf_conf_resolve_host(ctx, cfg);
}

/* ---- YAML ---- */

/* libyaml gives a mark for every error except reader errors (bad UTF-8,
 * control characters), which carry a byte offset instead. */
static int wharf_conf_yaml_error_line(const yaml_parser_t *p, const char *yaml, size_t len)
{
    int line = 1;

    if (p->error != YAML_READER_ERROR)
        return (int)p->problem_mark.line + 1;
    for (size_t i = 0; i < p->problem_offset && i < len; i++)
        line += yaml[i] == '\n';
    return line;
}

static void wharf_conf_yaml_error(wharf_conf_ctx_t *ctx, const yaml_parser_t *p, const char *yaml,
                                  size_t len)
{
    int line = wharf_conf_yaml_error_line(p, yaml, len);
    const char *problem = p->problem ? p->problem : "cannot parse";

    if (p->error == YAML_MEMORY_ERROR)
        wharf_conf_stop(ctx, WHARF_CONF_OOM);
    else if (p->context)
        wharf_conf_fail(ctx, line, "invalid YAML: %s (%s at line %d)", problem, p->context,
                        (int)p->context_mark.line + 1);
    else
        wharf_conf_fail(ctx, line, "invalid YAML: %s", problem);
}

static int wharf_conf_parser_open(wharf_conf_ctx_t *ctx, yaml_parser_t *parser, const char *yaml,
                                  size_t len)
{
    if (!yaml_parser_initialize(parser)) {
        wharf_conf_stop(ctx, WHARF_CONF_OOM);
        return -1;
    }
    yaml_parser_set_input_string(parser, (const unsigned char *)(yaml ? yaml : ""), yaml ? len : 0);
    return 0;
}

static int wharf_conf_event_depth(yaml_event_type_t type)
{
    if (type == YAML_SEQUENCE_START_EVENT || type == YAML_MAPPING_START_EVENT)
        return 1;
    if (type == YAML_SEQUENCE_END_EVENT || type == YAML_MAPPING_END_EVENT)
        return -1;
    return 0;
}

/* libyaml's scanner takes time quadratic in the flow nesting depth
 * ("[[[[..."), so nesting is bounded on a cheap event pass before the
 * document is loaded. Syntax errors are left to the loader to report. */
static int wharf_conf_yaml_depth_check(wharf_conf_ctx_t *ctx, const char *yaml, size_t len)
{
    yaml_parser_t parser;
    yaml_event_t ev;
    yaml_event_type_t type = YAML_NO_EVENT;
    int depth = 0;

    if (wharf_conf_parser_open(ctx, &parser, yaml, len) < 0)
        return -1;
    while (depth <= WHARF_CONF_MAX_DEPTH && type != YAML_STREAM_END_EVENT &&
           yaml_parser_parse(&parser, &ev)) {
        type = ev.type;
        depth += wharf_conf_event_depth(type);
        if (depth > WHARF_CONF_MAX_DEPTH)
            wharf_conf_fail(
                ctx, (int)ev.start_mark.line + 1,
                "invalid YAML: nested deeper than " WHARF_CONF_STR(WHARF_CONF_MAX_DEPTH) " levels");
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    return depth > WHARF_CONF_MAX_DEPTH ? -1 : 0;
}

/* Loads the one document of the stream into doc (to be deleted by the
 * caller) and returns 0, or reports the syntax error and returns -1. */
static int wharf_conf_yaml_load(wharf_conf_ctx_t *ctx, const char *yaml, size_t len,
                                yaml_document_t *doc)
{
    yaml_parser_t parser;
    yaml_document_t next;
    int rc = 0;

    if (wharf_conf_yaml_depth_check(ctx, yaml, len) < 0 ||
        wharf_conf_parser_open(ctx, &parser, yaml, len) < 0)
        return -1;
    if (!yaml_parser_load(&parser, doc)) {
        rc = -1;
    } else if (yaml_document_get_root_node(doc)) {
        if (!yaml_parser_load(&parser, &next)) {
            yaml_document_delete(doc);
            rc = -1;
        } else {
            if (yaml_document_get_root_node(&next))
                wharf_conf_fail(ctx, (int)next.start_mark.line + 1,
                                "only one YAML document is allowed");
            yaml_document_delete(&next);
        }
    }
    if (rc < 0)
        wharf_conf_yaml_error(ctx, &parser, yaml, len);
    yaml_parser_delete(&parser);
    return rc;
}

/* ---- loading ---- */

static void wharf_conf_sort(wharf_conf_ctx_t *ctx)
{
    for (size_t i = 1; i < ctx->n_msgs; i++) {
        wharf_conf_msg_t m = ctx->msgs[i];
        size_t j = i;
        for (; j > 0 && ctx->msgs[j - 1].line > m.line; j--)
            ctx->msgs[j] = ctx->msgs[j - 1];
        ctx->msgs[j] = m;
    }
}

/* Hands the errors, sorted by line, to errs, and cfg to *out if valid. */
static int wharf_conf_finish(wharf_conf_ctx_t *ctx, const char *name, wharf_config_t *cfg,
                             wharf_config_t **out, wharf_conf_errors_t *errs)
{
    int failed = ctx->n_msgs > 0 || ctx->stopped;

    wharf_conf_sort(ctx);
    for (size_t i = 0; i < ctx->n_msgs; i++) {
        if (errs)
            wharf_conf_error(errs, name, ctx->msgs[i].line, "%s", ctx->msgs[i].text);
        free(ctx->msgs[i].text);
    }
    free(ctx->msgs);
    if (ctx->stopped && errs)
        wharf_conf_error(errs, name, 0, "%s", ctx->stopped);
    if (failed || !out) {
        wharf_config_free(cfg);
        return failed ? WHARF_EINVAL_CONFIG : 0;
    }
    *out = cfg;
    return 0;
}

int wharf_config_load_string(const char *name, const char *yaml, size_t len, wharf_config_t **out,
                             wharf_conf_errors_t *errs)
{
    wharf_conf_ctx_t ctx = {0};
    yaml_document_t doc;
    wharf_config_t *cfg = NULL;

    if (out)
        *out = NULL;
    name = name ? name : "<config>";
    if (len > WHARF_CONF_MAX_FILE)
        wharf_conf_stop(&ctx, "the configuration is larger than 1 MiB");
    if (ctx.stopped || wharf_conf_yaml_load(&ctx, yaml, len, &doc) < 0)
        return wharf_conf_finish(&ctx, name, NULL, out, errs);
    ctx.doc = &doc;
    cfg = wharf_conf_struct_new(&ctx, wharf_conf_top_keys, sizeof *cfg, wharf_conf_top_init);
    if (cfg && (cfg->path = wharf_conf_strdup(&ctx, name)))
        wharf_conf_bind_top(&ctx, yaml_document_get_root_node(&doc), cfg);
    yaml_document_delete(&doc);
    return wharf_conf_finish(&ctx, name, cfg, out, errs);
}

/* Reads a whole file of at most WHARF_CONF_MAX_FILE bytes; 0 or -errno. */
static int wharf_conf_read_file(const char *path, char **out, size_t *len)
{
    size_t n = 0, cap = 0;
    char *buf = NULL, *grown;
    ssize_t r = 1;
    int fd = open(path, O_RDONLY | O_CLOEXEC), err = 0;

    if (fd < 0)
        return -errno;
    while (r > 0 && !err) {
        if (n > WHARF_CONF_MAX_FILE) {
            err = -EFBIG;
        } else if (n == cap) {
            cap = cap ? cap * 2 : 4096;
            if (cap > WHARF_CONF_MAX_FILE)
                cap = WHARF_CONF_MAX_FILE + 1;
            grown = realloc(buf, cap);
            err = grown ? 0 : -ENOMEM;
            buf = grown ? grown : buf;
        } else if ((r = read(fd, buf + n, cap - n)) < 0) {
            err = errno == EINTR ? 0 : -errno;
            r = 1;
        } else {
            n += (size_t)r;
        }
    }
    close(fd);
    if (err) {
        free(buf);
        return err;
    }
    *out = buf;
    *len = n;
    return 0;
}

/* pipeline.parsers, relative paths taken from the config file's directory
 * (a daemon's working directory is rarely where its config is). */
static int wharf_conf_load_parsers(wharf_config_t *cfg, wharf_conf_errors_t *errs)
{
    const wharf_strv_t *v = &cfg->pipeline.parsers;
    char **paths = calloc(v->n, sizeof(char *));
    const char *slash = strrchr(cfg->path, '/');
    int dir_len = slash ? (int)(slash - cfg->path) : 1;
    const char *dir = slash ? cfg->path : ".";
    int rc = paths ? 0 : -ENOMEM;
    for (size_t i = 0; rc == 0 && i < v->n; i++) {
        if (v->v[i][0] == '/')
            paths[i] = strdup(v->v[i]);
        else if (asprintf(&paths[i], "%.*s/%s", dir_len, dir, v->v[i]) < 0)
            paths[i] = NULL;
        if (paths[i] == NULL)
            rc = -ENOMEM;
    }
    wharf_conf_errors_t local = {NULL, 0};
    if (rc == 0)
        rc = wharf_parsers_load((const char *const *)paths, v->n, &cfg->parsers,
                                errs ? errs : &local);
    if (rc == 0)
        rc =
            wharf_parsers_set_match_limit(cfg->parsers, (uint32_t)cfg->pipeline.parser_match_limit);
    if (rc == 0)
        wharf_parsers_set_time_limit(cfg->parsers, cfg->pipeline.parser_time_limit_ms);
    if (rc == 0 && cfg->pipeline.parser_timezone != NULL)
        rc = wharf_parsers_set_timezone(cfg->parsers, cfg->pipeline.parser_timezone);
    wharf_conf_errors_free(&local);
    for (size_t i = 0; paths && i < v->n; i++)
        free(paths[i]);
    free(paths);
    return rc == 0 ? 0 : WHARF_EINVAL_CONFIG;
}

int wharf_config_load(const char *path, wharf_config_t **out, wharf_conf_errors_t *errs)
{
    char *data = NULL;
    size_t len = 0;
    int rc;

    if (out)
        *out = NULL;
    rc = path ? wharf_conf_read_file(path, &data, &len) : -EINVAL;
    if (rc < 0) {
        if (errs)
            wharf_conf_error(errs, path, 0, "cannot read: %s",
                             rc == -EFBIG ? "the file is larger than 1 MiB" : strerror(-rc));
        return WHARF_EINVAL_CONFIG;
    }
    rc = wharf_config_load_string(path, data, len, out, errs);
    free(data);
    if (rc == 0 && out && *out && (*out)->pipeline.parsers.n > 0)
        rc = wharf_conf_load_parsers(*out, errs);
    if (rc != 0 && out && *out) {
        wharf_config_free(*out);
        *out = NULL;
    }
    return rc;
}

void wharf_config_free(wharf_config_t *cfg)
{
    if (!cfg)
        return;
    wharf_parsers_free(cfg->parsers);
    wharf_conf_struct_free(wharf_conf_top_keys, cfg);
    wharf_conf_sections_free(cfg->inputs, cfg->n_inputs);
    wharf_conf_sections_free(cfg->outputs, cfg->n_outputs);
    free(cfg->path);
    free(cfg);
}
