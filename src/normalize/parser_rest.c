/* parser_rest.c - `rest`: what a rule's fields did not take, kept as one
 * object (json: {rest: app}, kv: {rest: auditd.log}).
 *
 * The object is built as JSON text in the parsers' scratch buffer and set
 * as one raw value, so that the writer copies it instead of nesting a
 * field per member. What the rule's fields and set write one level under
 * it goes in as its first members (rest_fields, resolved at load), and
 * wins over a member of the same name; names an object repeats are kept
 * once, since Elasticsearch rejects a document that repeats one. */
#include "parser_int.h"
#include "wharf/arena.h"
#include "wharf/bytescan.h"
#include "wharf/json.h"
#include "wharf/json_find.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A bit of a 64-bit filter for the name s: names with different bits
 * differ, so only names whose bit is set need comparing. */
static uint64_t parser_name_bit(const char *s, size_t n)
{
    unsigned h =
        (unsigned)n * 7u + (n > 0 ? (unsigned char)s[0] + 3u * (unsigned char)s[n - 1] : 0u);
    return UINT64_C(1) << (h & 63);
}

/* The dynamic fields and set entries r writes one level under its rest
 * object, each path once (a set after a field of the same path is one
 * value), and each one's rest_slot. Fixed fields stay fields: other
 * stages read them. */
int parser_rest_fields_resolve(parser_rule_t *r)
{
    size_t rest_len = strlen(r->rest), n = r->n_fields + r->n_set;
    r->rest_fields = calloc(n + 1, sizeof(*r->rest_fields));
    if (r->rest_fields == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < n && r->n_rest_fields < 64; i++) {
        const char *path = i < r->n_fields ? r->fields[i].path : r->set[i - r->n_fields].path;
        size_t len = i < r->n_fields ? r->fields[i].path_len : r->set[i - r->n_fields].path_len;
        int id = i < r->n_fields ? r->fields[i].field_id : r->set[i - r->n_fields].field_id;
        if (id >= 0 || len <= rest_len + 1 || memcmp(path, r->rest, rest_len) != 0 ||
            path[rest_len] != '.' || memchr(path + rest_len + 1, '.', len - rest_len - 1) != NULL)
            continue;
        size_t j = 0;
        while (j < r->n_rest_fields && (r->rest_fields[j].path_len != len ||
                                        memcmp(r->rest_fields[j].path, path, len) != 0))
            j++;
        *(i < r->n_fields ? &r->fields[i].rest_slot : &r->set[i - r->n_fields].rest_slot) = (int)j;
        if (j < r->n_rest_fields)
            continue;
        rest_field_t *f = &r->rest_fields[r->n_rest_fields++];
        wharf_buf_t name;
        wharf_buf_init(&name);
        wharf_json_write_string(&name, path + rest_len + 1, len - rest_len - 1);
        *f = (rest_field_t){path, len, name.data, name.len};
        r->rest_names_filter |= parser_name_bit(name.data + 1, name.len - 2);
    }
    return 0;
}

/* A member's value as rest keeps it: scalars as they are (strings
 * re-encoded), containers without whitespace and with their strings
 * re-encoded; null when a string in them has an invalid escape. */
static void rest_json_value(wharf_buf_t *b, wharf_buf_t *tmp, wharf_json_keyset_t *names, int dedot,
                            const wharf_json_value_t *v)
{
    if (v->type == WHARF_JSON_STRING) {
        tmp->len = 0;
        if (v->escaped && wharf_json_string_unescape(v->raw, tmp) < 0)
            wharf_buf_lit(b, "null");
        else if (v->escaped)
            wharf_json_write_string(b, tmp->data, tmp->len);
        else
            wharf_json_write_string(b, v->raw.ptr, v->raw.len);
        return;
    }
    if (v->type != WHARF_JSON_OBJECT && v->type != WHARF_JSON_ARRAY) {
        wharf_buf_append(b, v->raw.ptr, v->raw.len);
        return;
    }
    size_t start = b->len;
    if (wharf_json_compact(v->raw, b, tmp, names, dedot) < 0) {
        b->len = start;
        wharf_buf_lit(b, "null");
    }
}

/* A member's key as text: escapes decoded into tmp (NULL when invalid). */
static const char *rest_member_key(const wharf_json_member_t *j, wharf_buf_t *tmp, size_t *len)
{
    *len = j->key.len;
    if (!j->key_escaped)
        return j->key.ptr;
    tmp->len = 0;
    if (wharf_json_string_unescape(j->key, tmp) < 0)
        return NULL;
    *len = tmp->len;
    return tmp->data;
}

/* rest's output, the key path of the member at hand (ending in '.' below
 * the top level), room to decode a name or a string, and the names each
 * object written so far has (obj: the one being written). */
typedef struct rest_ctx {
    const parser_rule_t *r;
    wharf_buf_t *b, *path, *tmp;
    wharf_json_keyset_t *names;
    uint64_t obj;
} rest_ctx_t;

static int rest_json_members(rest_ctx_t *c, const char *json, size_t len);

/* Writes member j unless a field reads it whole or an earlier member has
 * its name; an object some field reads into keeps the members no field
 * reads. Returns 1 when something was written. */
static int rest_json_member(rest_ctx_t *c, const wharf_json_member_t *j, int first)
{
    const parser_rule_t *r = c->r;
    wharf_buf_t *b = c->b, *path = c->path;
    size_t klen, start = b->len, at = path->len;
    const char *key = rest_member_key(j, c->tmp, &klen);
    int written = 0;
    if (key != NULL) {
        if (at > 0) /* below the top level the key is looked up by its path */
            wharf_buf_append(path, key, klen);
        int id = at > 0 ? parser_keys_find(&r->keys, path->data, path->len)
                        : parser_keys_find(&r->keys, key, klen);
        if (id < 0 || (size_t)id >= r->n_key_refs) {
            if (!first)
                wharf_buf_putc(b, ',');
            size_t name_at = b->len;
            wharf_json_write_string(b, key, klen);
            if (r->rest_dedot)
                wharf_json_dedot(b->data + name_at, b->len - name_at);
            int fresh =
                wharf_json_keyset_add(c->names, c->obj, b->data + name_at, b->len - name_at);
            wharf_buf_putc(b, ':');
            if (fresh && id >= 0 && j->value.type == WHARF_JSON_OBJECT) {
                if (at == 0)
                    wharf_buf_append(path, key, klen);
                wharf_buf_putc(path, '.');
                written = rest_json_members(c, j->value.raw.ptr, j->value.raw.len) > 0;
            } else if (fresh) {
                rest_json_value(b, c->tmp, c->names, r->rest_dedot, &j->value);
                written = 1;
            }
            if (!written)
                b->len = start;
        }
    }
    path->len = at;
    return written;
}

/* Writes the object json as rest keeps it ({...}); returns the number of
 * members written, 0 when none was (then nothing is written). */
static int rest_json_members(rest_ctx_t *c, const char *json, size_t len)
{
    wharf_buf_t *b = c->b;
    size_t n, start = b->len;
    wharf_json_member_t *v = parser_json_members_all(json, len, &n);
    if (v == NULL)
        return 0;
    int kept = 0;
    uint64_t parent = c->obj;
    c->obj = wharf_json_keyset_object(c->names);
    wharf_buf_putc(b, '{');
    for (size_t i = 0; i < n; i++)
        kept += rest_json_member(c, &v[i], kept == 0);
    wharf_buf_putc(b, '}');
    c->obj = parent;
    if (kept == 0)
        b->len = start;
    free(v);
    return kept;
}

/* Sets the rest object b holds. Where the event already has a field under
 * the rest path (a rule's `fields` writing into it, an earlier parser), the
 * object cannot go in whole: its members become fields of their own, except
 * where the event has that field already (what fields wrote wins); the
 * first n_rule members, the rule's own rest fields, replace such a field. */
static void rest_set(wharf_event_t *e, const parser_rule_t *r, const wharf_buf_t *b, size_t n_rule)
{
    wharf_value_t v = {.type = WHARF_V_RAW};
    const char *text = wharf_arena_strndup(e->arena, b->data, b->len);
    if (text == NULL)
        return;
    v.u.str = (wharf_str_t){text, b->len};
    size_t rest_len = strlen(r->rest), n;
    if (parser_set_field(e, r->rest_field_id, r->rest, rest_len, &v) == 0)
        return;
    wharf_json_member_t *m = parser_json_members_all(text, b->len, &n);
    if (m == NULL)
        return;
    wharf_buf_t path;
    wharf_buf_init(&path);
    for (size_t i = 0; i < n; i++) {
        path.len = 0;
        wharf_buf_append(&path, r->rest, rest_len);
        wharf_buf_putc(&path, '.');
        if (m[i].key_escaped ? wharf_json_string_unescape(m[i].key, &path) < 0
                             : (wharf_buf_append(&path, m[i].key.ptr, m[i].key.len), 0))
            continue;
        const char *p = wharf_arena_strndup(e->arena, path.data, path.len);
        wharf_json_value_t *mv = &m[i].value; /* a string's raw is its body */
        v = (wharf_value_t){.type = WHARF_V_RAW};
        v.u.str = mv->type == WHARF_JSON_STRING ? (wharf_str_t){mv->raw.ptr - 1, mv->raw.len + 2}
                                                : mv->raw;
        int id = p != NULL ? wharf_field_lookup(p, path.len) : -1;
        if (p != NULL && wharf_event_path_ok(p, path.len) &&
            (i < n_rule || parser_field_value(e, id, p, path.len) == NULL))
            (void)parser_set_field(e, id, p, path.len, &v);
    }
    wharf_buf_free(&path);
    free(m);
}

/* Writes the values the rule kept aside for its rest fields
 * (ps->rest_values) into the rest object b as its first members; returns
 * the mask of those written (what fields wrote wins over a member of the
 * same name). */
static uint64_t rest_take_fields(wharf_parsers_t *ps, const parser_rule_t *r, wharf_buf_t *b)
{
    for (size_t i = 0; i < r->n_rest_fields; i++) {
        if (!(ps->rest_have >> i & 1))
            continue;
        if ((ps->rest_have & ((UINT64_C(1) << i) - 1)) != 0)
            wharf_buf_putc(b, ',');
        wharf_buf_append(b, r->rest_fields[i].name, r->rest_fields[i].name_len);
        wharf_buf_putc(b, ':');
        wharf_json_write_value(&ps->rest_writer, b, &ps->rest_values[i]);
    }
    return ps->rest_have;
}

void parser_rest_json(wharf_parsers_t *ps, wharf_event_t *e, const match_ctx_t *m)
{
    rest_ctx_t c = {m->r, &ps->scratch, &ps->scratch_path, &ps->scratch_value, &ps->rest_names, 0};
    wharf_json_keyset_reset(c.names);
    c.obj = wharf_json_keyset_object(c.names);
    wharf_buf_t *b = c.b;
    b->len = 0;
    c.path->len = 0;
    wharf_buf_putc(b, '{');
    uint64_t taken = rest_take_fields(ps, m->r, b);
    for (size_t i = 0; i < m->r->n_rest_fields; i++)
        if (taken >> i & 1)
            (void)wharf_json_keyset_add(c.names, c.obj, m->r->rest_fields[i].name,
                                        m->r->rest_fields[i].name_len);
    int kept = __builtin_popcountll(taken);
    for (size_t i = 0; i < m->n_json; i++)
        kept += rest_json_member(&c, &m->members[i], kept == 0);
    wharf_buf_putc(b, '}');
    if (kept > 0)
        rest_set(e, m->r, b, (size_t)__builtin_popcountll(taken));
}

/* A key that comes again later: the last value wins, as for fields. */
static int kv_repeated_later(const match_ctx_t *m, size_t i)
{
    for (size_t j = i + 1; j < m->n_kv; j++)
        if (m->kv_key[j].len == m->kv_key[i].len && m->kv_key[j].ptr[0] == m->kv_key[i].ptr[0] &&
            memcmp(m->kv_key[j].ptr, m->kv_key[i].ptr, m->kv_key[i].len) == 0)
            return 1;
    return 0;
}

/* repeated[i] = kv_repeated_later(m, i) for every pair, in one pass from
 * the end: a key whose filter bit no later key set comes only once. */
static void kv_repeated_mark(const match_ctx_t *m, unsigned char *repeated)
{
    uint64_t later = 0;
    for (size_t i = m->n_kv; i-- > 0;) {
        uint64_t bit = parser_name_bit(m->kv_key[i].ptr, m->kv_key[i].len);
        repeated[i] = (later & bit) != 0 && kv_repeated_later(m, i);
        later |= bit;
    }
}

/* later[i] for every pair: a pair after i has a key the writer writes as
 * it writes i's. Needed only for keys the writer changes (escapes, bytes
 * above 0x7f): two different invalid UTF-8 keys can both come out with
 * U+FFFD in the same place, while a key written as it is comes out the
 * same as another key only when their bytes are (kv_repeated_later). */
static void kv_repeated_as_written(wharf_parsers_t *ps, const match_ctx_t *m, unsigned char *later)
{
    wharf_json_keyset_t *names = &ps->rest_names;
    wharf_buf_t *name = &ps->scratch_value;
    wharf_json_keyset_reset(names);
    uint64_t obj = wharf_json_keyset_object(names);
    for (size_t i = m->n_kv; i-- > 0;) {
        name->len = 0;
        wharf_json_write_string(name, m->kv_key[i].ptr, m->kv_key[i].len);
        later[i] = !wharf_json_keyset_add(names, obj, name->data, name->len);
    }
}

/* The pairs' keys as rest reads them: plain[i] when the writer writes key
 * i as it is; repeated[i] when a later pair has a key written the same. */
typedef struct kv_rest_keys {
    unsigned char plain[KV_MAX_PAIRS], repeated[KV_MAX_PAIRS], as_written[KV_MAX_PAIRS];
    int as_written_ready;
} kv_rest_keys_t;

/* Whether pair i goes to rest: no field reads it, it is no unwrapped
 * text, no later pair has its key and it is not a listed key. */
static int kv_rest_keeps(wharf_parsers_t *ps, const match_ctx_t *m, size_t i, kv_rest_keys_t *k)
{
    if ((m->kv_key_id[i] >= 0 && (size_t)m->kv_key_id[i] < m->r->n_key_refs) ||
        (m->kv_flags[i] & KV_UNWRAPPED) ||
        parser_kv_listed(&m->r->kv.listed, m->kv_key[i].ptr, m->kv_key[i].len))
        return 0;
    k->plain[i] = wharf_scan_json_unsafe(m->kv_key[i].ptr, m->kv_key[i].len) == m->kv_key[i].len;
    if (k->plain[i])
        return !k->repeated[i];
    if (!k->as_written_ready) {
        kv_repeated_as_written(ps, m, k->as_written);
        k->as_written_ready = 1;
    }
    return !k->as_written[i];
}

/* 1 when pair i's key is written as the name of a rest field taken: a
 * key the writer escapes is compared as written, once escaped. */
static int kv_rest_taken(wharf_parsers_t *ps, const match_ctx_t *m, size_t i, int plain,
                         uint64_t taken)
{
    wharf_str_t k = m->kv_key[i];
    if (taken == 0 || (plain && !(m->r->rest_names_filter & parser_name_bit(k.ptr, k.len))))
        return 0;
    const char *name = k.ptr;
    size_t skip = 1; /* a rest field's name is quoted */
    if (!plain) {
        ps->scratch_value.len = 0;
        wharf_json_write_string(&ps->scratch_value, k.ptr, k.len);
        name = ps->scratch_value.data;
        k.len = ps->scratch_value.len;
        skip = 0;
    }
    for (size_t j = 0; j < m->r->n_rest_fields; j++) {
        const rest_field_t *f = &m->r->rest_fields[j];
        if ((taken >> j & 1) && f->name_len == k.len + 2 * skip &&
            memcmp(f->name + skip, name, k.len) == 0)
            return 1;
    }
    return 0;
}

/* A name the writer writes as it is, quoted, and the ':' after it. */
static void rest_put_plain_name(wharf_buf_t *b, wharf_str_t name)
{
    wharf_buf_reserve(b, name.len + 3);
    char *o = b->data + b->len;
    o[0] = '"';
    memcpy(o + 1, name.ptr, name.len);
    o[name.len + 1] = '"';
    o[name.len + 2] = ':';
    b->len += name.len + 3;
}

void parser_rest_kv(wharf_parsers_t *ps, wharf_event_t *e, const match_ctx_t *m)
{
    wharf_buf_t *b = &ps->scratch;
    kv_rest_keys_t keys;
    keys.as_written_ready = 0;
    kv_repeated_mark(m, keys.repeated);
    b->len = 0;
    wharf_buf_putc(b, '{');
    uint64_t taken = rest_take_fields(ps, m->r, b);
    size_t kept = (size_t)__builtin_popcountll(taken);
    for (size_t i = 0; i < m->n_kv; i++) {
        if (!kv_rest_keeps(ps, m, i, &keys) || kv_rest_taken(ps, m, i, keys.plain[i], taken))
            continue;
        if (kept++)
            wharf_buf_putc(b, ',');
        if (keys.plain[i]) {
            rest_put_plain_name(b, m->kv_key[i]);
        } else {
            wharf_json_write_string(b, m->kv_key[i].ptr, m->kv_key[i].len);
            wharf_buf_putc(b, ':');
        }
        if (m->kv_flags[i] & KV_BARE) {
            wharf_buf_lit(b, "true");
            continue;
        }
        size_t n = 0;
        const char *v = parser_kv_text(e, m, i, &n);
        wharf_json_write_string(b, v ? v : "", v ? n : 0);
    }
    wharf_buf_putc(b, '}');
    if (kept > 0)
        rest_set(e, m->r, b, (size_t)__builtin_popcountll(taken));
}
