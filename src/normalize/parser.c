/* parser.c - running parser files on events (see wharf/parser.h).
 *
 * An event goes to the parsers its fields route it to (parser_route.c);
 * each tries its rules in order on the message, and the first that matches
 * writes its fields, its set values, its rest object (parser_rest.c) and
 * related.*. Matching is PCRE2 (JIT) on the message bytes (parser_regex.c)
 * or a key=value or JSON split (parser_kv.c, json_find.c); captured values
 * stay slices of the message, and only values that need new bytes
 * (templates with literal text, unescaped JSON strings) are copied into the
 * event's arena. Files are read by parser_load.c, samples run by
 * parser_sample.c. */
#include "parser_int.h"
#include "wharf/arena.h"
#include "wharf/json.h"
#include "wharf/json_find.h"
#include "wharf/log.h"
#include "wharf/timefmt.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PARSER_MAX_CHAIN 8

/* ---- reading fields of an event -------------------------------------------- */

static const char *unescape_to_arena(wharf_event_t *e, wharf_str_t raw, size_t *len)
{
    wharf_buf_t b;
    wharf_buf_init(&b);
    const char *out = NULL;
    if (wharf_json_string_unescape(raw, &b) == 0) {
        out = wharf_arena_strndup(e->arena, b.data ? b.data : "", b.len);
        *len = b.len;
    }
    wharf_buf_free(&b);
    return out;
}

static const char *value_text(wharf_event_t *e, const wharf_value_t *v, size_t *len)
{
    char num[32];
    switch (v->type) {
    case WHARF_V_STR:
        *len = v->u.str.len;
        return v->u.str.ptr;
    case WHARF_V_RAW: {
        wharf_str_t s = v->u.str;
        if (s.len < 2 || s.ptr[0] != '"' || s.ptr[s.len - 1] != '"')
            return NULL;
        wharf_str_t inner = {s.ptr + 1, s.len - 2};
        if (memchr(inner.ptr, '\\', inner.len) == NULL) {
            *len = inner.len;
            return inner.ptr;
        }
        return unescape_to_arena(e, inner, len);
    }
    case WHARF_V_LONG:
        *len = (size_t)snprintf(num, sizeof(num), "%lld", (long long)v->u.i64);
        return wharf_arena_strndup(e->arena, num, *len);
    case WHARF_V_BOOL:
        *len = v->u.i64 ? 4 : 5;
        return v->u.i64 ? "true" : "false";
    default:
        return NULL;
    }
}

/* container.labels.KEY: the labels are one JSON object; Docker's dedotting
 * turned "wharf.parser" into "wharf_parser", so both spellings are tried. */
static const char *label_text(wharf_event_t *e, const char *key, size_t n, size_t *len)
{
    if (!wharf_event_has(e, WHARF_F_CONTAINER_LABELS) ||
        e->v[WHARF_F_CONTAINER_LABELS].type != WHARF_V_RAW)
        return NULL;
    wharf_str_t labels = e->v[WHARF_F_CONTAINER_LABELS].u.str;
    wharf_json_value_t v;
    char dedot[256];
    int rc = 0;
    if (n < sizeof(dedot) && memchr(key, '.', n) != NULL) {
        for (size_t i = 0; i < n; i++)
            dedot[i] = key[i] == '.' ? '_' : key[i];
        rc = wharf_json_find(labels.ptr, labels.len, dedot, n, &v); /* labels_dedot (default) */
    }
    if (rc != 1)
        rc = wharf_json_find(labels.ptr, labels.len, key, n, &v);
    if (rc != 1 || v.type != WHARF_JSON_STRING)
        return NULL;
    if (!v.escaped) {
        *len = v.raw.len;
        return v.raw.ptr;
    }
    return unescape_to_arena(e, v.raw, len);
}

/* The value of fixed field id in e, or when id < 0 of dynamic field path;
 * NULL when it has none. */
const wharf_value_t *parser_field_value(const wharf_event_t *e, int id, const char *path,
                                        size_t path_len)
{
    if (id >= 0)
        return wharf_event_has(e, (wharf_field_id)id) ? &e->v[id] : NULL;
    for (uint32_t i = e->n_dyn; i-- > 0;)
        if (e->dyn[i].path.len == path_len && memcmp(e->dyn[i].path.ptr, path, path_len) == 0)
            return &e->dyn[i].value;
    return NULL;
}

/* A path inside an object a rule's rest set (auditd.log.syscall in the
 * auditd.log object): its text when it is a string, a number or a bool. */
static const char *rest_member_text(wharf_event_t *e, const char *path, size_t path_len,
                                    size_t *len)
{
    for (size_t dot = path_len; dot-- > 1;) {
        if (path[dot] != '.')
            continue;
        const wharf_value_t *v = parser_field_value(e, wharf_field_lookup(path, dot), path, dot);
        if (v == NULL || v->type != WHARF_V_RAW || v->u.str.len == 0 || v->u.str.ptr[0] != '{')
            continue;
        wharf_json_value_t m;
        if (wharf_json_find(v->u.str.ptr, v->u.str.len, path + dot + 1, path_len - dot - 1, &m) !=
            1)
            return NULL;
        if (m.type == WHARF_JSON_STRING && m.escaped)
            return unescape_to_arena(e, m.raw, len);
        if (m.type != WHARF_JSON_STRING && m.type != WHARF_JSON_NUMBER &&
            m.type != WHARF_JSON_TRUE && m.type != WHARF_JSON_FALSE)
            return NULL;
        *len = m.raw.len;
        return m.raw.ptr;
    }
    return NULL;
}

const char *parser_field_text(wharf_event_t *e, int id, const char *path, size_t path_len,
                              size_t *len)
{
    size_t pl = sizeof(LABELS_PREFIX) - 1;
    if (id < 0 && path_len > pl && memcmp(path, LABELS_PREFIX, pl) == 0)
        return label_text(e, path + pl, path_len - pl, len);
    const wharf_value_t *v = parser_field_value(e, id, path, path_len);
    if (v != NULL)
        return value_text(e, v, len);
    return id < 0 && path != NULL ? rest_member_text(e, path, path_len, len) : NULL;
}

/* All the members of the JSON object json, on the heap (free them); NULL
 * when it has none, is no object, or there is no room. */
wharf_json_member_t *parser_json_members_all(const char *json, size_t len, size_t *n)
{
    *n = 0;
    if (wharf_json_members(json, len, NULL, 0, n) < 0 || *n == 0)
        return NULL;
    wharf_json_member_t *v = malloc(*n * sizeof(*v));
    if (v == NULL || wharf_json_members(json, len, v, *n, n) < 0) {
        free(v);
        return NULL;
    }
    return v;
}

/* Appends the members of the labels object old to b, but the one named
 * key (so that giving a label again replaces it). */
static void labels_copy_others(wharf_buf_t *b, wharf_str_t old, const char *key, size_t klen)
{
    size_t n;
    wharf_json_member_t *m = parser_json_members_all(old.ptr, old.len, &n);
    if (m == NULL)
        return;
    wharf_buf_t name;
    wharf_buf_init(&name);
    for (size_t i = 0; i < n; i++) {
        wharf_str_t k = m[i].key;
        if (m[i].key_escaped) {
            name.len = 0;
            if (wharf_json_string_unescape(k, &name) == 0)
                k = (wharf_str_t){name.data, name.len};
        }
        if (k.len == klen && memcmp(k.ptr, key, klen) == 0)
            continue;
        if (b->len > 1)
            wharf_buf_putc(b, ',');
        wharf_buf_append(b, m[i].key.ptr - 1, m[i].key.len + 2);
        wharf_buf_putc(b, ':');
        const wharf_json_value_t *v = &m[i].value; /* a string's raw is its body */
        if (v->type == WHARF_JSON_STRING)
            wharf_buf_append(b, v->raw.ptr - 1, v->raw.len + 2);
        else
            wharf_buf_append(b, v->raw.ptr, v->raw.len);
    }
    wharf_buf_free(&name);
    free(m);
}

/* container.labels.KEY=value: added to the labels object (replacing a
 * label of that name), the key dedotted as Docker's metadata reader does
 * by default. */
static int input_label(wharf_event_t *e, const char *key, size_t klen, const char *v, size_t vlen)
{
    char *k = wharf_arena_strndup(e->arena, key, klen);
    if (k == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < klen; i++)
        k[i] = k[i] == '.' ? '_' : k[i];
    wharf_buf_t b;
    wharf_buf_init(&b);
    wharf_buf_putc(&b, '{');
    if (wharf_event_has(e, WHARF_F_CONTAINER_LABELS) &&
        e->v[WHARF_F_CONTAINER_LABELS].type == WHARF_V_RAW)
        labels_copy_others(&b, e->v[WHARF_F_CONTAINER_LABELS].u.str, k, klen);
    if (b.len > 1)
        wharf_buf_putc(&b, ',');
    wharf_json_write_string(&b, k, klen);
    wharf_buf_putc(&b, ':');
    wharf_json_write_string(&b, v, vlen);
    wharf_buf_putc(&b, '}');
    const char *text = wharf_arena_strndup(e->arena, b.data, b.len);
    if (text != NULL)
        wharf_event_set_raw(e, WHARF_F_CONTAINER_LABELS, text, b.len);
    wharf_buf_free(&b);
    return text != NULL ? 0 : -ENOMEM;
}

int wharf_parsers_input_message(wharf_event_t *e, const char *text, size_t len)
{
    wharf_arena_reset(e->arena);
    wharf_event_clear(e);
    const char *message = wharf_arena_strndup(e->arena, text, len);
    if (message == NULL)
        return -ENOMEM;
    wharf_event_set_str(e, WHARF_F_MESSAGE, message, len);
    return 0;
}

int wharf_parsers_input_field(wharf_event_t *e, const char *path, size_t path_len,
                              const char *value, size_t len)
{
    size_t pl = sizeof(LABELS_PREFIX) - 1;
    if (path_len > pl && memcmp(path, LABELS_PREFIX, pl) == 0)
        return input_label(e, path + pl, path_len - pl, value, len);
    wharf_value_t *v = wharf_event_set_path(e, path, path_len, WHARF_V_STR);
    if (v == NULL)
        return -EINVAL;
    v->u.str = (wharf_str_t){value, len};
    return 0;
}

const char *parser_event_text(wharf_event_t *e, const char *path, size_t path_len, size_t *len)
{
    return parser_field_text(e, wharf_field_lookup(path, path_len), path, path_len, len);
}

/* ---- types ----------------------------------------------------------------- */

/* A decimal integer in int64_t's range; one outside it is no value (it
 * used to wrap around). */
static int convert_long(const char *s, size_t n, int64_t *out)
{
    size_t i = 0;
    int neg = 0;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        neg = s[i++] == '-';
    if (i == n || n - i > 19)
        return -1;
    uint64_t v = 0; /* 19 digits fit */
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > (uint64_t)INT64_MAX + (uint64_t)neg)
        return -1;
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

/* A decimal number as JSON writes one (optional sign, digits, fraction,
 * exponent), finite: strtod alone also takes hex, "nan", "inf" and
 * leading spaces, which no log means as a number. */
static int convert_double(const char *s, size_t n, double *out)
{
    char buf[64];
    char *end = NULL;
    if (n == 0 || n >= sizeof(buf))
        return -1;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '-' || s[i] == '+' ||
              s[i] == 'e' || s[i] == 'E'))
            return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    *out = strtod(buf, &end);
    return *end == '\0' && isfinite(*out) ? 0 : -1;
}

static int convert_bool(const char *s, size_t n, int64_t *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1"}, *const no[] = {"false", "no",
                                                                                "off", "0"};
    for (int i = 0; i < 4; i++) {
        if (strlen(yes[i]) == n && strncasecmp(s, yes[i], n) == 0) {
            *out = 1;
            return 0;
        }
        if (strlen(no[i]) == n && strncasecmp(s, no[i], n) == 0) {
            *out = 0;
            return 0;
        }
    }
    return -1;
}

/* Dotted-quad IPv4 as inet_pton() takes it: four decimal octets of at most
 * 255, no leading zeros. Inline because nearly every address parsers see is
 * one, and the copy inet_pton needs cost more than the check. */
static int convert_ipv4(const char *s, size_t n)
{
    size_t i = 0;
    for (int octet = 0; octet < 4; octet++) {
        if (octet > 0 && (i >= n || s[i++] != '.'))
            return -1;
        size_t start = i;
        unsigned v = 0;
        while (i < n && i - start < 4 && s[i] >= '0' && s[i] <= '9')
            v = v * 10 + (unsigned)(s[i++] - '0');
        size_t digits = i - start;
        if (digits == 0 || digits > 3 || v > 255 || (digits > 1 && s[start] == '0'))
            return -1;
    }
    return i == n ? 0 : -1;
}

static int convert_ip(const char *s, size_t n)
{
    char buf[64];
    unsigned char addr[16];
    const char *zone = memchr(s, '%', n);
    if (zone != NULL)
        n = (size_t)(zone - s);
    if (n == 0 || n >= sizeof(buf))
        return -1;
    if (memchr(s, ':', n) == NULL) /* a zone is IPv6's alone */
        return zone == NULL ? convert_ipv4(s, n) : -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return inet_pton(AF_INET6, buf, addr) == 1 ? 0 : -1;
}

int parser_convert(wharf_event_t *e, parser_type t, const char *format, const wharf_tz_t *tz,
                   const char *s, size_t n, wharf_value_t *out)
{
    memset(out, 0, sizeof(*out));
    switch (t) {
    case PT_LONG:
        out->type = WHARF_V_LONG;
        return convert_long(s, n, &out->u.i64);
    case PT_DOUBLE:
        out->type = WHARF_V_DOUBLE;
        return convert_double(s, n, &out->u.f64);
    case PT_BOOL:
        out->type = WHARF_V_BOOL;
        return convert_bool(s, n, &out->u.i64);
    case PT_TIMESTAMP: {
        int64_t now = wharf_event_has(e, WHARF_F_EVENT_CREATED) ? e->v[WHARF_F_EVENT_CREATED].u.i64
                                                                : wharf_time_now();
        out->type = WHARF_V_TIME;
        int rc = wharf_time_parse_log(s, n, format, tz, now, &out->u.i64);
        return rc < 0 ? -1 : rc == WHARF_TIME_LOCAL && tz != NULL;
    }
    case PT_IP:
        if (convert_ip(s, n) < 0)
            return -1;
        break;
    case PT_KEYWORD:
        break;
    }
    out->type = WHARF_V_STR;
    out->u.str = (wharf_str_t){s, n};
    return 0;
}

/* ---- one rule -------------------------------------------------------------- */

/* An object of more than KV_MAX_PAIRS members: all of them, on the heap
 * (kept for the next such message). -ENOMEM when there is no room. */
static int json_members_big(match_ctx_t *m)
{
    if (m->n_json > m->json_big_cap) {
        wharf_json_member_t *v = realloc(m->json_big, m->n_json * sizeof(*v));
        if (v == NULL)
            return -ENOMEM;
        m->json_big = v;
        m->json_big_cap = m->n_json;
    }
    size_t n;
    if (wharf_json_members(m->msg, m->msg_len, m->json_big, m->json_big_cap, &n) < 0 ||
        n != m->n_json)
        return -ENOMEM;
    m->members = m->json_big;
    return 0;
}

/* json_at and json_dup for the members just read. */
static void json_members_index(match_ctx_t *m)
{
    const parser_keys_t *keys = &m->r->keys;
    m->json_dup = 0;
    m->keys_present = 0;
    for (size_t id = 0; id < keys->n; id++)
        m->json_at[id] = -1;
    for (size_t i = 0; i < m->n_json; i++) {
        int id = parser_keys_find(keys, m->members[i].key.ptr, m->members[i].key.len);
        if (id < 0)
            continue;
        if (m->json_at[id] >= 0)
            m->json_dup = 1;
        else
            m->json_at[id] = (long)i;
        m->keys_present |= parser_key_bit(id);
    }
}

/* A JSON rule matches a message that is one JSON object. */
static int json_members_read(match_ctx_t *m)
{
    size_t i = 0;
    while (i < m->msg_len && (m->msg[i] == ' ' || m->msg[i] == '\t'))
        i++;
    if (i == m->msg_len || m->msg[i] != '{' ||
        wharf_json_members(m->msg, m->msg_len, m->json, KV_MAX_PAIRS, &m->n_json) < 0)
        return 0;
    m->members = m->json;
    if (m->n_json > KV_MAX_PAIRS && json_members_big(m) < 0)
        return 0;
    m->json_slow = 0;
    for (size_t k = 0; k < m->n_json && !m->json_slow; k++)
        m->json_slow = m->members[k].key_escaped;
    if (!m->json_slow)
        json_members_index(m);
    else
        m->keys_present = UINT64_MAX;
    return 1;
}

/* The value at a dotted key path, as wharf_json_find resolves it: the first
 * member, in document order, through which the whole path resolves (a
 * member "a.b" spells two segments). */
static int json_member_resolves(const wharf_json_member_t *j, const char *path, size_t len,
                                wharf_json_value_t *v)
{
    size_t k = j->key.len;
    if (k == len) {
        *v = j->value;
        return 1;
    }
    return j->value.type == WHARF_JSON_OBJECT &&
           wharf_json_find(j->value.raw.ptr, j->value.raw.len, path + k + 1, len - k - 1, v) == 1;
}

/* json_ref through json_at: the members named by the path and its leading
 * components, the first in document order that resolves it. */
static int json_ref_indexed(const match_ctx_t *m, int id, const char *path, size_t len,
                            wharf_json_value_t *v)
{
    long best = -1;
    wharf_json_value_t found;
    for (; id >= 0; id = m->r->key_parent[id]) {
        long i = m->json_at[id];
        if (i >= 0 && (best < 0 || i < best) &&
            json_member_resolves(&m->members[i], path, len, &found)) {
            best = i;
            *v = found;
        }
    }
    return best >= 0;
}

static int json_ref(const match_ctx_t *m, const tpl_part_t *t, wharf_json_value_t *v)
{
    const char *path = t->key;
    size_t len = t->key_len;
    if (m->json_slow)
        return wharf_json_find(m->msg, m->msg_len, path, len, v) == 1;
    if (!m->json_dup && t->key_id >= 0)
        return json_ref_indexed(m, t->key_id, path, len, v);
    for (size_t i = 0; i < m->n_json; i++) {
        const wharf_json_member_t *j = &m->members[i];
        size_t k = j->key.len;
        if (k > len || (k < len && path[k] != '.') || memcmp(j->key.ptr, path, k) != 0)
            continue;
        if (json_member_resolves(j, path, len, v))
            return 1;
    }
    return 0;
}

/* A kv or logfmt rule matches text with at least one key=value pair: bare
 * logfmt keys alone ("Starting up") are words, not pairs. */
static int kv_has_value(const match_ctx_t *m)
{
    for (size_t i = 0; i < m->n_kv; i++)
        if (!(m->kv_flags[i] & KV_BARE))
            return 1;
    return 0;
}

static int rule_match(parser_rule_t *r, match_ctx_t *m, parser_re_limits_t *lim)
{
    switch (r->kind) {
    case RK_GROK:
    case RK_REGEX: {
        int rc = parser_re_match(&r->re, lim, m->msg, m->msg_len);
        if (rc <= 0)
            return rc;
        m->ov = pcre2_get_ovector_pointer(r->re.md);
        m->n_groups = rc;
        m->n_kv = 0;
        parser_kv_begin(m);
        size_t g = r->kv.group > 0 ? (size_t)r->kv.group : 0;
        if (r->has_kv && g > 0 && g < (size_t)rc && m->ov[2 * g] != PCRE2_UNSET)
            parser_kv_split(m, &r->kv, m->msg + m->ov[2 * g], m->ov[2 * g + 1] - m->ov[2 * g], 0);
        return 1;
    }
    case RK_JSON:
        return json_members_read(m);
    case RK_KV:
        m->n_kv = 0;
        parser_kv_begin(m);
        parser_kv_split(m, &r->kv, m->msg, m->msg_len, 0);
        return kv_has_value(m);
    }
    return 0;
}

/* ref_value of a json rule's reference. Not inlined into ref_value: the
 * kv and group references, many per event, then take a small function. */
__attribute__((noinline)) static int json_ref_value(wharf_event_t *e, const match_ctx_t *m,
                                                    const tpl_part_t *t, const char **s, size_t *n)
{
    wharf_json_value_t v;
    if (!json_ref(m, t, &v) || v.type == WHARF_JSON_NULL)
        return 0;
    if (v.type == WHARF_JSON_STRING && v.escaped) {
        *s = unescape_to_arena(e, v.raw, n);
        return *s != NULL;
    }
    *s = v.raw.ptr;
    *n = v.raw.len;
    return 1;
}

/* A reference's value in the match (a group, else a key=value key, else a
 * JSON key path); 0 when it has none. */
static int ref_value(wharf_event_t *e, const match_ctx_t *m, const tpl_part_t *t, const char **s,
                     size_t *n)
{
    if (t->group > 0) {
        size_t g = (size_t)t->group;
        if (t->group >= m->n_groups || m->ov[2 * g] == PCRE2_UNSET)
            return 0;
        *s = m->msg + m->ov[2 * g];
        *n = m->ov[2 * g + 1] - m->ov[2 * g];
        return 1;
    }
    if (m->r->has_kv) {
        long i = t->key_id >= 0 ? m->kv_ref[t->key_id] : -1;
        if (i < 0)
            return 0;
        *s = parser_kv_text(e, m, (size_t)i, n);
        return *s != NULL;
    }
    return m->r->kind == RK_JSON && json_ref_value(e, m, t, s, n);
}

/* The template's text: a single reference is used in place, anything else
 * is assembled in the arena. 0 when a reference has no value. */
static int render_field(wharf_event_t *e, const match_ctx_t *m, const rule_field_t *f,
                        const char **s, size_t *n)
{
    if (f->n_parts == 1 && f->parts[0].lit == NULL)
        return ref_value(e, m, &f->parts[0], s, n) && *n > 0; /* empty: not set */
    const char *piece[16];
    size_t plen[16], total = 0;
    if (f->n_parts > 16)
        return 0;
    for (size_t i = 0; i < f->n_parts; i++) {
        if (f->parts[i].lit != NULL) {
            piece[i] = f->parts[i].lit;
            plen[i] = f->parts[i].lit_len;
        } else if (!ref_value(e, m, &f->parts[i], &piece[i], &plen[i]) || plen[i] == 0) {
            return 0;
        }
        total += plen[i];
    }
    char *out = wharf_arena_alloc(e->arena, total + 1);
    if (out == NULL)
        return 0;
    size_t o = 0;
    for (size_t i = 0; i < f->n_parts; i++) {
        memcpy(out + o, piece[i], plen[i]);
        o += plen[i];
    }
    out[o] = '\0';
    *s = out;
    *n = total;
    return 1;
}

/* A field whose path was checked at load (wharf_event_path_ok): a fixed
 * field is an array store, a dynamic one a scan of the dynamic fields. */
int parser_set_field(wharf_event_t *e, int id, const char *path, size_t len, const wharf_value_t *v)
{
    wharf_value_t *slot = id >= 0 ? wharf_event_slot(e, (wharf_field_id)id, v->type)
                                  : wharf_event_set_dyn(e, path, len, v->type);
    if (slot == NULL)
        return -1;
    slot->u = v->u;
    slot->count = v->count;
    return 0;
}

/* The value of the list strs[count]; -1 when it is empty. */
static int list_value(const wharf_str_t *strs, uint32_t count, wharf_value_t *v)
{
    *v = (wharf_value_t){.type = WHARF_V_STRS, .count = count};
    v->u.strs = strs;
    return count > 0 ? 0 : -1;
}

/* Where a rule's value goes: a field of its rest object (slot >= 0) is kept
 * aside for rest to write, without a trip through the event; any other
 * into the event. */
static void rule_store(wharf_parsers_t *ps, wharf_event_t *e, int slot, int id, const char *path,
                       size_t len, const wharf_value_t *v)
{
    if (slot < 0) {
        parser_set_field(e, id, path, len, v);
        return;
    }
    ps->rest_values[slot] = *v;
    ps->rest_have |= UINT64_C(1) << slot;
}

/* rule_store() of field f's value. */
static void field_store(wharf_parsers_t *ps, wharf_event_t *e, const rule_field_t *f,
                        const wharf_value_t *v)
{
    rule_store(ps, e, f->rest_slot, f->field_id, f->path, f->path_len, v);
}

/* A rewritten message keeps the original line in event.original. */
static void keep_original(wharf_event_t *e)
{
    size_t n;
    if (parser_field_text(e, WHARF_F_EVENT_ORIGINAL, NULL, 0, &n) != NULL ||
        !wharf_event_has(e, WHARF_F_MESSAGE))
        return;
    wharf_value_t orig = e->v[WHARF_F_MESSAGE];
    parser_set_field(e, WHARF_F_EVENT_ORIGINAL, NULL, 0, &orig);
}

/* The value of the first entry of f's map that s matches, or NULL. */
static const wharf_value_t *map_value(const rule_field_t *f, const char *s, size_t n)
{
    int id = parser_keys_find(&f->map_keys, s, n);
    long best = id >= 0 ? f->map_first[id] : -1;
    for (size_t j = 0; j < f->n_map_prefixed && (best < 0 || f->map_prefixed[j] < best); j++) {
        const field_map_entry_t *e = &f->map[f->map_prefixed[j]];
        if (n >= e->key_len && memcmp(e->key, s, e->key_len) == 0)
            return &e->value;
    }
    return best >= 0 ? &f->map[best].value : NULL;
}

/* s with its ASCII letters in the case `case:` asks for ('l' or 'u'): s
 * itself when none changes, else a copy in the event's arena; NULL when the
 * arena is out of memory. Other bytes (UTF-8 included) are left as they are. */
static const char *text_case_apply(wharf_event_t *e, char text_case, const char *s, size_t n)
{
    char from = text_case == 'l' ? 'A' : 'a';
    size_t i = 0;
    while (i < n && (unsigned char)(s[i] - from) > 25)
        i++;
    if (i == n)
        return s;
    char *out = wharf_arena_alloc(e->arena, n);
    if (out == NULL)
        return NULL;
    memcpy(out, s, i);
    for (; i < n; i++)
        out[i] = (char)((unsigned char)(s[i] - from) <= 25 ? s[i] ^ 0x20 : s[i]);
    return out;
}

/* The value f takes for the text s (in the case `case:` asks for): its
 * map's, or s converted to its type (1: a time without an offset, read in
 * f's zone). */
static int field_convert(wharf_event_t *e, const rule_field_t *f, const char *s, size_t n,
                         wharf_value_t *v)
{
    if (f->text_case && (s = text_case_apply(e, f->text_case, s, n)) == NULL)
        return -1;
    if (f->n_map == 0)
        return parser_convert(e, f->type, f->format, f->tz, s, n, v);
    const wharf_value_t *mv = map_value(f, s, n);
    if (mv == NULL)
        return -1;
    *v = *mv;
    return 0;
}

/* `from: a#`: the values of a0, a1 ... up to the first number missing, as a
 * list. A key of the outer text wins over the same key unwrapped, and of
 * two the last, as for other references. */
static int numbered_list(wharf_event_t *e, const match_ctx_t *m, const rule_field_t *f,
                         wharf_value_t *v)
{
    const char *prefix = f->parts[0].key;
    size_t plen = f->parts[0].key_len - 1, n = 0;
    for (size_t i = 0; i < m->n_kv; i++)
        n += parser_kv_number(prefix, plen, m->kv_key[i].ptr, m->kv_key[i].len) >= 0;
    wharf_str_t *list = n > 0 ? wharf_arena_alloc(e->arena, n * sizeof(*list)) : NULL;
    unsigned char *outer = n > 0 ? wharf_arena_alloc(e->arena, n) : NULL;
    if (list == NULL || outer == NULL)
        return -1;
    memset(list, 0, n * sizeof(*list));
    memset(outer, 0, n);
    for (size_t i = 0; i < m->n_kv; i++) {
        long k = parser_kv_number(prefix, plen, m->kv_key[i].ptr, m->kv_key[i].len);
        int nested = (m->kv_flags[i] & KV_NESTED) != 0;
        if (k < 0 || (size_t)k >= n || (nested && outer[k]))
            continue;
        size_t len;
        const char *text = parser_kv_text(e, m, i, &len);
        list[k] = (wharf_str_t){text, len};
        outer[k] = !nested;
    }
    size_t count = 0;
    while (count < n && list[count].ptr != NULL)
        count++;
    return list_value(list, (uint32_t)count, v);
}

/* `split: CHARS`: the pieces of s between any of the characters, empty ones
 * left out, as a list (", " splits "a, b" into a and b). */
static int split_list(wharf_event_t *e, const rule_field_t *f, const char *s, size_t n,
                      wharf_value_t *v)
{
    size_t pieces = 1;
    for (size_t i = 0; i < n; i++)
        pieces += parser_byteset_has(f->split_at, (unsigned char)s[i]);
    wharf_str_t *list = wharf_arena_alloc(e->arena, pieces * sizeof(*list));
    if (list == NULL)
        return -1;
    uint32_t count = 0;
    for (size_t start = 0, i = 0; i <= n; i++) {
        if (i < n && !parser_byteset_has(f->split_at, (unsigned char)s[i]))
            continue;
        if (i > start)
            list[count++] = (wharf_str_t){s + start, i - start};
        start = i + 1;
    }
    return list_value(list, count, v);
}

/* ECS event.timezone: "populated when the event's timestamp does not
 * include timezone information already", the zone @timestamp was read in. */
static void set_event_timezone(wharf_event_t *e, const wharf_tz_t *tz)
{
    const char *name = wharf_tz_name(tz);
    wharf_value_t v = {.type = WHARF_V_STR};
    v.u.str = (wharf_str_t){name, strlen(name)};
    parser_set_field(e, -1, "event.timezone", sizeof("event.timezone") - 1, &v);
}

static void trace_field(wharf_parsers_t *ps, const parser_rule_t *r, const rule_field_t *f,
                        const char *s, size_t n);

static void apply_field(wharf_parsers_t *ps, wharf_event_t *e, const match_ctx_t *m,
                        const rule_field_t *f)
{
    const char *s;
    size_t n;
    wharf_value_t v;
    int rc = -1;
    if (f->numbered) {
        if (numbered_list(e, m, f, &v) == 0)
            field_store(ps, e, f, &v);
        return;
    }
    if (f->first_of) { /* the first reference whose text converts */
        s = NULL;
        for (size_t i = 0; i < f->n_parts && rc < 0; i++)
            if (ref_value(e, m, &f->parts[i], &s, &n) && n > 0)
                rc = field_convert(e, f, s, n, &v);
    } else {
        if (!render_field(e, m, f, &s, &n))
            return;
        if (f->split) {
            if (split_list(e, f, s, n, &v) == 0)
                field_store(ps, e, f, &v);
            return;
        }
        rc = field_convert(e, f, s, n, &v);
    }
    if (rc < 0) {
        if (ps->trace != NULL && s != NULL)
            trace_field(ps, m->r, f, s, n);
        return;
    }
    if (f->field_id == WHARF_F_MESSAGE)
        keep_original(e);
    field_store(ps, e, f, &v);
    if (rc == 1 && f->field_id == WHARF_F_TIMESTAMP)
        set_event_timezone(e, f->tz);
}

/* ---- related.ip / related.user --------------------------------------------- */

/* The fields related.ip (the first five, PARSER_RELATED_IP_MASK) and
 * related.user (the rest) are made of, in order. */
static const struct related_source {
    const char *path;
    size_t len;
} related_sources[PARSER_RELATED_SOURCES] = {
    {"source.ip", 9},
    {"destination.ip", 14},
    {"client.ip", 9},
    {"server.ip", 9},
    {"host.ip", 7},
    {"user.name", 9},
    {"user.target.name", 16},
    {"source.user.name", 16},
    {"destination.user.name", 21},
    {"user.effective.name", 19},
};

/* A related source's text: none of them is a container label. */
static const char *related_source_text(const wharf_parsers_t *ps, wharf_event_t *e, size_t i,
                                       size_t *len)
{
    const wharf_value_t *v = parser_field_value(e, ps->related_field[i], related_sources[i].path,
                                                related_sources[i].len);
    return v != NULL ? value_text(e, v, len) : NULL;
}

/* target's values: those it has, then the sources in mask not among
 * them. */
static void related_fill(const wharf_parsers_t *ps, wharf_event_t *e, wharf_field_id target,
                         unsigned mask)
{
    wharf_str_t vals[16];
    uint32_t n = 0;
    const wharf_value_t *had = &e->v[target];
    if (wharf_event_has(e, target) && had->type == WHARF_V_STRS)
        for (uint32_t j = 0; j < had->count && n < 16; j++)
            vals[n++] = had->u.strs[j];
    uint32_t before = n;
    for (; mask != 0 && n < 16; mask &= mask - 1) {
        size_t len, i = (size_t)__builtin_ctz(mask);
        const char *s = related_source_text(ps, e, i, &len);
        if (s == NULL || len == 0)
            continue;
        int seen = 0;
        for (uint32_t j = 0; j < n && !seen; j++)
            seen = vals[j].len == len && memcmp(vals[j].ptr, s, len) == 0;
        if (!seen)
            vals[n++] = (wharf_str_t){s, len};
    }
    if (n == before)
        return;
    wharf_str_t *arr = wharf_arena_alloc(e->arena, n * sizeof(*arr));
    if (arr == NULL)
        return;
    memcpy(arr, vals, n * sizeof(*arr));
    wharf_value_t v;
    list_value(arr, n, &v);
    parser_set_field(e, (int)target, NULL, 0, &v);
}

/* Only the sources the rule writes are read: a source another rule wrote
 * went into related.* when that rule matched, and no input sets one. */
static void related_update(const wharf_parsers_t *ps, wharf_event_t *e, unsigned mask)
{
    if (mask & PARSER_RELATED_IP_MASK)
        related_fill(ps, e, WHARF_F_RELATED_IP, mask & PARSER_RELATED_IP_MASK);
    if (mask & ~PARSER_RELATED_IP_MASK)
        related_fill(ps, e, WHARF_F_RELATED_USER, mask & ~PARSER_RELATED_IP_MASK);
}

/* path's bit in a rule's related_mask, 0 when it is no related source. */
static unsigned related_source(const char *path)
{
    for (size_t i = 0; i < PARSER_RELATED_SOURCES; i++)
        if (strcmp(path, related_sources[i].path) == 0)
            return 1u << i;
    return 0;
}

static void parsers_resolve_related(wharf_parsers_t *ps)
{
    for (size_t i = 0; i < PARSER_RELATED_SOURCES; i++)
        ps->related_field[i] = wharf_field_lookup(related_sources[i].path, related_sources[i].len);
}

/* f's map as map_value() reads it. */
static int parsers_resolve_map(rule_field_t *f)
{
    f->map_first = calloc(f->n_map + 1, sizeof(*f->map_first));
    f->map_prefixed = calloc(f->n_map + 1, sizeof(*f->map_prefixed));
    if (f->map_first == NULL || f->map_prefixed == NULL ||
        parser_keys_init(&f->map_keys, f->n_map) < 0)
        return -ENOMEM;
    for (size_t i = 0; i < f->n_map; i++) {
        const field_map_entry_t *e = &f->map[i];
        size_t known = f->map_keys.n;
        if (e->prefix)
            f->map_prefixed[f->n_map_prefixed++] = (uint16_t)i;
        else if (parser_keys_add(&f->map_keys, e->key, e->key_len) == (int)known)
            f->map_first[known] = (uint16_t)i; /* a repeated key: the first entry stays */
    }
    return 0;
}

/* Resolved once: fixed field ids, maps, and the related.* sources written. */
static int parsers_resolve_rule(parser_rule_t *r)
{
    for (size_t i = 0; i < r->n_fields; i++) {
        rule_field_t *f = &r->fields[i];
        f->field_id = wharf_field_lookup(f->path, f->path_len);
        f->rest_slot = -1;
        r->related_mask |= related_source(f->path);
        if (f->n_map > 0 && parsers_resolve_map(f) < 0)
            return -ENOMEM;
    }
    for (size_t i = 0; i < r->n_set; i++) {
        rule_set_t *s = &r->set[i];
        s->field_id = wharf_field_lookup(s->path, s->path_len);
        s->rest_slot = -1;
        r->related_mask |= related_source(s->path);
        r->sets_message |= s->field_id == WHARF_F_MESSAGE;
    }
    r->rest_field_id = r->rest != NULL ? wharf_field_lookup(r->rest, strlen(r->rest)) : -1;
    if (r->rest != NULL && parser_rest_fields_resolve(r) < 0)
        return -ENOMEM;
    return r->has_kv || r->rest != NULL || r->kind == RK_JSON ? parser_rule_keys_index(r) : 0;
}

/* ---- one parser ------------------------------------------------------------ */

static void rule_apply(wharf_parsers_t *ps, wharf_event_t *e, match_ctx_t *m)
{
    const parser_rule_t *r = m->r;
    ps->rest_have = 0;
    for (size_t i = 0; i < r->n_fields; i++)
        if (r->fields[i].ref_keys == 0 || (r->fields[i].ref_keys & m->keys_present) != 0)
            apply_field(ps, e, m, &r->fields[i]);
    for (size_t i = 0; i < r->n_set; i++) {
        const rule_set_t *set = &r->set[i];
        if (set->field_id == WHARF_F_MESSAGE)
            keep_original(e);
        rule_store(ps, e, set->rest_slot, set->field_id, set->path, set->path_len, &set->value);
    }
    if (r->rest != NULL && r->kind == RK_JSON)
        parser_rest_json(ps, e, m);
    else if (r->rest != NULL && r->has_kv)
        parser_rest_kv(ps, e, m);
    if (r->related_mask != 0)
        related_update(ps, e, r->related_mask);
}

/* Logged once per repeat window: a message made to defeat a regex may
 * come by the thousand. */
static void rule_gave_up(const parser_t *p, parser_rule_t *r, wharf_event_t *e, int timed_out)
{
    r->gave_up++;
    wharf_event_tag(e, WHARF_TAG_PARSER_MATCH_LIMIT);
    if (timed_out)
        wharf_log_warn("a parser rule gave up on a message: its regex took longer than "
                       "pipeline.parser_time_limit allows, so the rule counts as not matching and "
                       "the next rules are tried (the event is tagged parser_match_limit); a regex "
                       "that is not anchored and scans, such as (?=.*?key=), reads to the end "
                       "of the message from every position it tries: anchor it with ^",
                       "parser=%s rule=%s file=%s", p->name, r->id, p->file);
    else
        wharf_log_warn("a parser rule gave up on a message: its regex needed more backtracking "
                       "than pipeline.parser_match_limit allows, so the rule counts as not "
                       "matching and the next rules are tried (the event is tagged "
                       "parser_match_limit); rewrite the regex without nested quantifiers such "
                       "as (a+)+, or raise the limit",
                       "parser=%s rule=%s file=%s", p->name, r->id, p->file);
}

__attribute__((cold)) static void trace_parser(wharf_parsers_t *ps, const parser_t *p,
                                               const wharf_str_t *msg)
{
    ps->trace_parser = p;
    wharf_parser_trace_t t = {.kind = WHARF_TRACE_PARSER,
                              .round = ps->round,
                              .parser = p->name,
                              .file = p->file,
                              .line = p->line,
                              .message = msg != NULL ? msg->ptr : NULL,
                              .message_len = msg != NULL ? msg->len : 0};
    ps->trace(ps->trace_arg, &t);
}

__attribute__((cold)) static void trace_rule(wharf_parsers_t *ps, const parser_t *p,
                                             const parser_rule_t *r,
                                             wharf_parser_trace_result result)
{
    wharf_parser_trace_t t = {.kind = WHARF_TRACE_RULE,
                              .round = ps->round,
                              .parser = p->name,
                              .file = p->file,
                              .rule = r->id,
                              .line = r->line,
                              .result = result,
                              .rewrote = result == WHARF_TRACE_MATCHED && r->sets_message};
    ps->trace(ps->trace_arg, &t);
}

/* What a field's text is not, when it did not convert. */
static const char *field_failure_text(const rule_field_t *f, char *buf, size_t len)
{
    if (f->n_map > 0)
        return "matches no entry of its map";
    switch (f->type) {
    case PT_LONG:
        return "is no whole number (type long)";
    case PT_DOUBLE:
        return "is no number (type double)";
    case PT_BOOL:
        return "is no bool (true, false, yes, no, on, off, 1, 0)";
    case PT_IP:
        return "is no IP address (type ip)";
    case PT_TIMESTAMP:
        if (f->format == NULL)
            return "is no timestamp (RFC 3339, HTTPDATE, syslog or epoch; or give a format)";
        snprintf(buf, len, "is no timestamp in format %s", f->format);
        return buf;
    case PT_KEYWORD:
        break;
    }
    return "does not convert";
}

/* A field of the matched rule r left unset: its text s does not convert. */
__attribute__((cold)) static void trace_field(wharf_parsers_t *ps, const parser_rule_t *r,
                                              const rule_field_t *f, const char *s, size_t n)
{
    char buf[160];
    const parser_t *p = ps->trace_parser;
    wharf_parser_trace_t t = {.kind = WHARF_TRACE_FIELD,
                              .round = ps->round,
                              .parser = p->name,
                              .file = p->file,
                              .rule = r->id,
                              .line = r->line,
                              .path = f->path,
                              .value = s,
                              .value_len = n,
                              .why = field_failure_text(f, buf, sizeof(buf))};
    ps->trace(ps->trace_arg, &t);
}

/* A round that tries no parser: the fields the when conditions read, and
 * what the event has in them (message aside: it is the line). */
__attribute__((cold)) static void trace_unrouted(wharf_parsers_t *ps, wharf_event_t *e)
{
    for (size_t k = 0; k < ps->n_route_paths; k++) {
        const route_path_t *rp = &ps->route_paths[k];
        if (rp->message)
            continue;
        wharf_parser_trace_t t = {
            .kind = WHARF_TRACE_UNROUTED, .round = ps->round, .path = rp->path};
        t.value = parser_field_text(e, rp->field, rp->path, rp->len, &t.value_len);
        ps->trace(ps->trace_arg, &t);
    }
}

/* 1 when rule i is tried on a message whose first byte gives maybe (see
 * parser_index_first_rules). */
static int rule_tried(uint64_t maybe, size_t i)
{
    return i >= 64 || (maybe >> i & 1);
}

/* Rule i's result, after the rules before it that were not tried (back to
 * the last one tried); i == p->n_rules: only those, at the end. */
__attribute__((cold)) static void trace_rules_to(wharf_parsers_t *ps, const parser_t *p,
                                                 uint64_t maybe, size_t i, int rc)
{
    size_t first = i;
    while (first > 0 && !rule_tried(maybe, first - 1))
        first--;
    for (size_t j = first; j < i; j++)
        trace_rule(ps, p, &p->rules[j], WHARF_TRACE_NOT_STARTING);
    if (i < p->n_rules)
        trace_rule(ps, p, &p->rules[i],
                   rc > 0                    ? WHARF_TRACE_MATCHED
                   : rc == PARSER_RE_GAVE_UP ? WHARF_TRACE_GAVE_UP
                                             : WHARF_TRACE_NO_MATCH);
}

/* Tries p's rules in order. 1 when one matched; *rewrote when it set
 * message; the route paths it may have changed are added to *wrote. */
static int parser_run(wharf_parsers_t *ps, parser_t *p, wharf_event_t *e, int *rewrote,
                      uint64_t *wrote)
{
    int has_text = wharf_event_has(e, WHARF_F_MESSAGE) && e->v[WHARF_F_MESSAGE].type == WHARF_V_STR;
    if (ps->trace != NULL)
        trace_parser(ps, p, has_text ? &e->v[WHARF_F_MESSAGE].u.str : NULL);
    if (!has_text)
        return 0;
    match_ctx_t *m = ps->match;
    wharf_str_t msg = e->v[WHARF_F_MESSAGE].u.str;
    uint64_t maybe = p->first_rules != NULL && msg.len > 0
                         ? p->first_rules[(unsigned char)msg.ptr[0]]
                         : ~UINT64_C(0);
    for (size_t i = 0; i < p->n_rules; i++) {
        if (!rule_tried(maybe, i))
            continue;
        parser_rule_t *r = &p->rules[i];
        m->r = r;
        m->msg = msg.ptr;
        m->msg_len = msg.len;
        int rc = rule_match(r, m, &ps->re_limits);
        if (rc == PARSER_RE_GAVE_UP)
            rule_gave_up(p, r, e, ps->re_limits.timed_out);
        if (ps->trace != NULL)
            trace_rules_to(ps, p, maybe, i, rc);
        if (rc <= 0)
            continue;
        r->matched++;
        rule_apply(ps, e, m);
        *rewrote = r->sets_message;
        *wrote |= r->route_writes;
        return 1;
    }
    if (ps->trace != NULL)
        trace_rules_to(ps, p, maybe, p->n_rules, 0);
    p->unmatched++;
    return 0;
}

int wharf_parsers_apply(wharf_parsers_t *ps, wharf_event_t *e)
{
    if (ps == NULL || ps->n == 0)
        return 0;
    memset(ps->done, 0, ps->n);
    memset(ps->candidate, 0, ps->n);
    uint64_t changed = ~UINT64_C(0);
    int matched = 0;
    ps->last_missed = 0;
    for (int depth = 0; depth < PARSER_MAX_CHAIN; depth++) {
        if (depth == 0 && ps->only >= 0)
            ps->candidate[ps->only] = 1;
        else if (depth == 0)
            parser_route_first(ps, e);
        else
            parser_route_again(ps, e, changed);
        int rewrote = 0, tried = 0, round_matched = 0;
        uint64_t wrote = 0;
        ps->round = depth + 1;
        /* candidate[] holds 0 or 1, and few 1s: memchr finds the next */
        for (const unsigned char *c = ps->candidate, *end = c + ps->n; !rewrote;) {
            if ((c = memchr(c, 1, (size_t)(end - c))) == NULL)
                break;
            size_t p = (size_t)(c++ - ps->candidate);
            ps->done[p] = 1;
            tried++;
            round_matched += parser_run(ps, &ps->v[p], e, &rewrote, &wrote);
        }
        matched += round_matched;
        if (ps->trace != NULL && tried == 0)
            trace_unrouted(ps, e);
        if (!rewrote) {
            ps->last_missed = tried > 0 && round_matched == 0;
            break;
        }
        /* after wharf_parsers_only()'s round nothing else was routed yet */
        changed = depth == 0 && ps->only >= 0 ? ~UINT64_C(0) : wrote;
    }
    return matched;
}

void wharf_parsers_trace(wharf_parsers_t *ps, wharf_parser_trace_fn fn, void *arg)
{
    ps->trace = fn;
    ps->trace_arg = arg;
}

int wharf_parsers_last_missed(const wharf_parsers_t *ps)
{
    return ps != NULL && ps->last_missed;
}

/* ---- building the index ------------------------------------------------------ */

/* p's first_rules: a rule whose regex says which first bytes it can match
 * is left out for the others; every other rule is tried on any message. */
static int parser_index_first_rules(parser_t *p)
{
    if (p->n_rules > 64)
        return 0;
    p->first_rules = calloc(256, sizeof(*p->first_rules));
    if (p->first_rules == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < p->n_rules; i++) {
        const parser_re_t *re = &p->rules[i].re;
        int regex = p->rules[i].kind == RK_GROK || p->rules[i].kind == RK_REGEX;
        for (unsigned c = 0; c < 256; c++)
            if (!regex || parser_re_may_start(re, (unsigned char)c))
                p->first_rules[c] |= UINT64_C(1) << i;
    }
    return 0;
}

static int parsers_index(wharf_parsers_t *ps)
{
    ps->done = calloc(ps->n + 1, 1);
    ps->candidate = calloc(ps->n + 1, 1);
    ps->first = calloc(ps->n + 1, 1);
    ps->always = calloc(ps->n + 1, sizeof(*ps->always));
    ps->match = calloc(1, sizeof(*ps->match));
    if (ps->done == NULL || ps->candidate == NULL || ps->first == NULL || ps->always == NULL ||
        ps->match == NULL ||
        wharf_parsers_set_match_limit(ps, WHARF_PARSER_MATCH_LIMIT_DEFAULT) < 0)
        return -ENOMEM;
    wharf_parsers_set_time_limit(ps, WHARF_PARSER_TIME_LIMIT_DEFAULT_MS);
    parsers_resolve_related(ps);
    for (size_t p = 0; p < ps->n; p++) {
        for (size_t r = 0; r < ps->v[p].n_rules; r++)
            if (parsers_resolve_rule(&ps->v[p].rules[r]) < 0)
                return -ENOMEM;
        if (ps->v[p].n_when == 0)
            ps->always[ps->n_always++] = p;
        for (size_t i = 0; i < ps->v[p].n_when; i++)
            if (parser_route_item(ps, p, i) < 0)
                return -ENOMEM;
    }
    size_t refs = 1, keys = 1;
    for (size_t p = 0; p < ps->n; p++) {
        if (parser_index_first_rules(&ps->v[p]) < 0)
            return -ENOMEM;
        for (size_t r = 0; r < ps->v[p].n_rules; r++) {
            parser_rule_route_writes(ps, &ps->v[p].rules[r]);
            if (ps->v[p].rules[r].n_key_refs > refs)
                refs = ps->v[p].rules[r].n_key_refs;
            if (ps->v[p].rules[r].keys.n > keys)
                keys = ps->v[p].rules[r].keys.n;
        }
    }
    ps->match->kv_ref = calloc(refs, sizeof(*ps->match->kv_ref));
    ps->match->json_at = calloc(keys, sizeof(*ps->match->json_at));
    return ps->match->kv_ref != NULL && ps->match->json_at != NULL ? 0 : -ENOMEM;
}

/* ---- life cycle ---------------------------------------------------------------- */

/* A constant of the rule's `set` or of a field's `map`. */
static void rule_value_free(wharf_value_t *v)
{
    if (v->type == WHARF_V_STR)
        free((char *)v->u.str.ptr);
    for (uint32_t j = 0; v->type == WHARF_V_STRS && j < v->count; j++)
        free((char *)v->u.strs[j].ptr);
    if (v->type == WHARF_V_STRS)
        free((wharf_str_t *)v->u.strs);
}

static void rule_free(parser_rule_t *r)
{
    for (size_t i = 0; i < r->n_fields; i++) {
        rule_field_t *f = &r->fields[i];
        for (size_t j = 0; j < f->n_parts; j++) {
            free(f->parts[j].lit);
            free(f->parts[j].key);
        }
        free(f->parts);
        free(f->path);
        free(f->format);
        for (size_t j = 0; j < f->n_map; j++) {
            free(f->map[j].key);
            rule_value_free(&f->map[j].value);
        }
        free(f->map);
        parser_keys_free(&f->map_keys);
        free(f->map_first);
        free(f->map_prefixed);
    }
    for (size_t i = 0; i < r->n_set; i++) {
        rule_value_free(&r->set[i].value);
        free(r->set[i].path);
    }
    parser_re_free(&r->re);
    parser_keys_free(&r->keys);
    free(r->key_parent);
    free(r->fields);
    free(r->set);
    free(r->rest);
    for (size_t i = 0; i < r->n_rest_fields; i++)
        free(r->rest_fields[i].name);
    free(r->rest_fields);
    parser_kv_opts_free(&r->kv);
    free(r->id);
}

static void when_free(when_item_t *w, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        for (size_t t = 0; t < w[i].n_terms; t++) {
            when_term_t *term = &w[i].terms[t];
            for (size_t v = 0; v < term->n_values; v++)
                free(term->values[v]);
            free(term->values);
            free(term->path);
            parser_re_free(&term->re);
            wharf_buf_free(&term->memo_subject);
        }
        free(w[i].terms);
    }
    free(w);
}

static void sample_free(parser_sample_t *s)
{
    for (size_t i = 0; i < s->n_fields; i++) {
        free(s->field_paths[i]);
        free(s->field_values[i]);
    }
    for (size_t i = 0; i < s->n_expect; i++) {
        for (size_t j = 0; j < s->expect[i].n_values; j++)
            free(s->expect[i].values[j]);
        free(s->expect[i].values);
        free(s->expect[i].path);
    }
    free(s->field_paths);
    free(s->field_values);
    free(s->expect);
    free(s->message);
}

static void parser_free(parser_t *p)
{
    for (size_t i = 0; i < p->n_rules; i++)
        rule_free(&p->rules[i]);
    for (size_t i = 0; i < p->n_samples; i++)
        sample_free(&p->samples[i]);
    when_free(p->when, p->n_when);
    free(p->rules);
    free(p->first_rules);
    free(p->samples);
    free(p->name);
    free(p->file);
}

void wharf_parsers_free(wharf_parsers_t *ps)
{
    if (ps == NULL)
        return;
    for (size_t i = 0; i < ps->n; i++)
        parser_free(&ps->v[i]);
    for (size_t i = 0; i < ps->n_zones; i++)
        wharf_tz_free(ps->zones[i]);
    free(ps->zones);
    for (size_t b = 0; b < ROUTE_BUCKETS; b++)
        while (ps->routes[b] != NULL) {
            route_entry_t *r = ps->routes[b];
            ps->routes[b] = r->next;
            free(r->value);
            free(r);
        }
    for (size_t i = 0; i < ps->n_route_paths; i++) {
        free(ps->route_paths[i].path);
        wharf_buf_free(&ps->route_paths[i].memo_labels);
        wharf_buf_free(&ps->route_paths[i].memo_text);
        wharf_buf_free(&ps->route_paths[i].first_text);
    }
    free(ps->route_paths);
    free(ps->scan_items);
    free(ps->message_items);
    free(ps->first);
    free(ps->always);
    free(ps->done);
    free(ps->candidate);
    if (ps->match != NULL) {
        free(ps->match->kv_ref);
        free(ps->match->json_at);
        free(ps->match->json_big);
    }
    free(ps->match);
    pcre2_match_context_free(ps->re_limits.mc);
    free(ps->v);
    wharf_buf_free(&ps->scratch);
    wharf_buf_free(&ps->scratch_value);
    wharf_buf_free(&ps->scratch_path);
    wharf_json_keyset_free(&ps->rest_names);
    free(ps);
}

int wharf_parsers_load(const char *const *paths, size_t n_paths, wharf_parsers_t **out,
                       wharf_conf_errors_t *errs)
{
    *out = NULL;
    wharf_parsers_t *ps = calloc(1, sizeof(*ps));
    if (ps == NULL)
        return -ENOMEM;
    ps->only = -1;
    wharf_buf_init(&ps->scratch);
    wharf_buf_init(&ps->scratch_value);
    wharf_buf_init(&ps->scratch_path);
    wharf_json_keyset_init(&ps->rest_names);
    wharf_json_writer_init(&ps->rest_writer);
    size_t before = errs->n;
    parser_load_paths(ps, paths, n_paths, errs);
    if (errs->n > before) {
        wharf_parsers_free(ps);
        return WHARF_EINVAL_CONFIG;
    }
    if (parsers_index(ps) < 0) {
        wharf_parsers_free(ps);
        return -ENOMEM;
    }
    *out = ps;
    return 0;
}

void wharf_parsers_set_time_limit(wharf_parsers_t *ps, int64_t ms)
{
    ps->re_limits.time_limit_ns = ms * 1000000;
}

int wharf_parsers_set_timezone(wharf_parsers_t *ps, const char *name)
{
    const wharf_tz_t *tz = NULL;
    int rc = parser_zone_get(ps, name, &tz);
    if (rc < 0)
        return rc;
    for (size_t p = 0; p < ps->n; p++)
        for (size_t i = 0; i < ps->v[p].n_rules; i++)
            for (size_t j = 0; j < ps->v[p].rules[i].n_fields; j++) {
                rule_field_t *f = &ps->v[p].rules[i].fields[j];
                if (f->type == PT_TIMESTAMP && f->tz == NULL)
                    f->tz = tz;
            }
    return 0;
}

int wharf_parsers_set_match_limit(wharf_parsers_t *ps, uint32_t limit)
{
    if (ps->re_limits.mc == NULL && parser_re_limits_init(&ps->re_limits) < 0)
        return -ENOMEM;
    ps->re_limits.base = limit;
    ps->re_limits.len = SIZE_MAX;
    /* verdicts made under the old limit */
    ps->first_valid = 0;
    for (size_t p = 0; p < ps->n; p++)
        for (size_t i = 0; i < ps->v[p].n_when; i++)
            for (size_t k = 0; k < ps->v[p].when[i].n_terms; k++)
                ps->v[p].when[i].terms[k].memo_result = -1;
    return 0;
}

size_t wharf_parsers_count(const wharf_parsers_t *ps)
{
    return ps ? ps->n : 0;
}

int wharf_parsers_only(wharf_parsers_t *ps, const char *name)
{
    for (size_t i = 0; i < ps->n; i++)
        if (strcmp(ps->v[i].name, name) == 0) {
            ps->only = (long)i;
            return 0;
        }
    return -ENOENT;
}

void wharf_parsers_stats(const wharf_parsers_t *ps, wharf_parser_stat_fn fn, void *arg)
{
    for (size_t i = 0; ps != NULL && i < ps->n; i++) {
        const parser_t *p = &ps->v[i];
        for (size_t r = 0; r < p->n_rules; r++) {
            wharf_parser_stat_t s = {p->name, p->rules[r].id, p->rules[r].matched,
                                     p->rules[r].gave_up};
            fn(arg, &s);
        }
        wharf_parser_stat_t s = {p->name, NULL, p->unmatched, 0};
        fn(arg, &s);
    }
}
