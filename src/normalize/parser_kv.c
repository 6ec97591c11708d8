/* parser_kv.c - key=value text for parser rules: logfmt, auditd records,
 * firewall lines.
 *
 * The pairs stay slices of the message; only values that need new bytes
 * (backslash escapes, hex-encoded values) are copied into the event's
 * arena, and only when a field or `rest` reads them. A quoted value of an
 * `unwrap` key (auditd's msg='...') is split in its turn, its pairs marked
 * nested, so that a key of the outer text wins over the same key inside;
 * the value itself stays readable whole (auditd's message is its text). */
#include "parser_int.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- option lists ------------------------------------------------------- */

int parser_kv_list_init(kv_list_t *l, size_t cap)
{
    memset(l, 0, sizeof(*l));
    l->v = calloc(cap ? cap : 1, sizeof(*l->v));
    l->len = calloc(cap ? cap : 1, sizeof(*l->len));
    l->numbered = calloc(cap ? cap : 1, sizeof(*l->numbered));
    return l->v != NULL && l->len != NULL && l->numbered != NULL ? 0 : -ENOMEM;
}

int parser_kv_list_add(kv_list_t *l, const char *s, int keys)
{
    if ((l->v[l->n] = strdup(s)) == NULL)
        return -ENOMEM;
    unsigned char c = (unsigned char)s[0];
    size_t len = strlen(s);
    parser_byteset_add(l->first, c);
    l->numbered[l->n] = keys && len > 1 && s[len - 1] == '#';
    l->len[l->n] = len - l->numbered[l->n];
    l->any_numbered |= l->numbered[l->n];
    l->n++;
    return 0;
}

long parser_kv_number(const char *prefix, size_t plen, const char *key, size_t klen)
{
    if (klen <= plen || klen - plen > 9 || memcmp(key, prefix, plen) != 0 ||
        (key[plen] == '0' && klen - plen > 1))
        return -1;
    long n = 0;
    for (size_t i = plen; i < klen; i++) {
        if (key[i] < '0' || key[i] > '9')
            return -1;
        n = n * 10 + (key[i] - '0');
    }
    return n;
}

static int kv_listed_numbered(const kv_list_t *l, const char *s, size_t len)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->numbered[i] && parser_kv_number(l->v[i], l->len[i], s, len) >= 0)
            return 1;
    return 0;
}

/* On the hot path (every pair against nulls, every value read against hex):
 * most texts are ruled out by their first byte. */
static inline int kv_listed(const kv_list_t *l, const char *s, size_t len)
{
    unsigned char c = len > 0 ? (unsigned char)s[0] : 0;
    if (!parser_byteset_has(l->first, c))
        return 0;
    for (size_t i = 0; i < l->n; i++)
        if (l->len[i] == len && memcmp(l->v[i], s, len) == 0 && !l->numbered[i])
            return 1;
    return l->any_numbered && kv_listed_numbered(l, s, len);
}

int parser_kv_listed(const kv_list_t *l, const char *s, size_t len)
{
    return kv_listed(l, s, len);
}

/* ---- the keys a rule reads ---------------------------------------------- */

/* The numbered names fields list, for rest_kv; 0 or -ENOMEM. */
static int kv_listed_index(parser_rule_t *r)
{
    if (parser_kv_list_init(&r->kv.listed, r->n_fields) < 0)
        return -ENOMEM;
    for (size_t i = 0; i < r->n_fields; i++)
        if (r->fields[i].numbered &&
            parser_kv_list_add(&r->kv.listed, r->fields[i].parts[0].key, 1) < 0)
            return -ENOMEM;
    return 0;
}

/* f's rule_field_t.ref_keys in rule r (its key_parent built). */
static uint64_t field_ref_keys(const parser_rule_t *r, const rule_field_t *f)
{
    uint64_t keys = 0;
    for (size_t j = 0; j < f->n_parts; j++) {
        const tpl_part_t *t = &f->parts[j];
        if (t->lit != NULL)
            continue;
        if (t->key_id < 0)
            return 0;
        for (int id = t->key_id; id >= 0; id = r->kind == RK_JSON ? r->key_parent[id] : -1) {
            if (parser_key_bit(id) == 0)
                return 0;
            keys |= parser_key_bit(id);
        }
    }
    return keys;
}

int parser_rule_keys_index(parser_rule_t *r)
{
    size_t refs = 0, dots = 0;
    if (r->has_kv && kv_listed_index(r) < 0)
        return -ENOMEM;
    for (size_t i = 0; i < r->n_fields; i++)
        for (size_t j = 0; j < r->fields[i].n_parts; j++) {
            const tpl_part_t *t = &r->fields[i].parts[j];
            refs++;
            for (size_t k = 0; t->key != NULL && k < t->key_len; k++)
                dots += t->key[k] == '.';
        }
    if (parser_keys_init(&r->keys, refs + dots) < 0)
        return -ENOMEM;
    for (size_t i = 0; i < r->n_fields; i++)
        for (size_t j = 0; j < r->fields[i].n_parts; j++) {
            tpl_part_t *t = &r->fields[i].parts[j];
            t->key_id = t->key != NULL && t->group <= 0 && !r->fields[i].numbered
                            ? parser_keys_add(&r->keys, t->key, t->key_len)
                            : -1;
        }
    r->n_key_refs = r->keys.n;
    for (size_t id = 0; id < r->n_key_refs; id++) {
        wharf_str_t k = r->keys.keys[id];
        for (size_t i = 1; i < k.len; i++)
            if (k.ptr[i] == '.')
                parser_keys_add(&r->keys, k.ptr, i);
    }
    if ((r->key_parent = malloc((r->keys.n + 1) * sizeof(*r->key_parent))) == NULL)
        return -ENOMEM;
    for (size_t id = 0; id < r->keys.n; id++) {
        wharf_str_t k = r->keys.keys[id];
        size_t dot = k.len;
        while (dot > 1 && k.ptr[dot - 1] != '.')
            dot--;
        r->key_parent[id] = (int16_t)(dot > 1 ? parser_keys_find(&r->keys, k.ptr, dot - 1) : -1);
    }
    for (size_t i = 0; (r->has_kv || r->kind == RK_JSON) && i < r->n_fields; i++)
        r->fields[i].ref_keys = field_ref_keys(r, &r->fields[i]);
    return 0;
}

/* ---- splitting ---------------------------------------------------------- */

void parser_kv_begin(match_ctx_t *m)
{
    for (size_t i = 0; i < m->r->n_key_refs; i++)
        m->kv_ref[i] = -1;
    m->keys_present = 0;
    m->kv_joined_len = 0;
}

/* A reference reads the last top-level pair of its key, else the last
 * unwrapped one. */
static void kv_add(match_ctx_t *m, const kv_opts_t *o, wharf_str_t key, wharf_str_t val,
                   unsigned char flags)
{
    if (m->n_kv >= KV_MAX_PAIRS || key.len == 0 || kv_listed(&o->nulls, val.ptr, val.len))
        return;
    int id = parser_keys_find(&m->r->keys, key.ptr, key.len);
    if (id >= 0 && (size_t)id < m->r->n_key_refs &&
        (!(flags & KV_NESTED) || m->kv_ref[id] < 0 || (m->kv_flags[m->kv_ref[id]] & KV_NESTED))) {
        m->kv_ref[id] = (long)m->n_kv;
        m->keys_present |= parser_key_bit(id);
    }
    m->kv_key[m->n_kv] = key;
    m->kv_val[m->n_kv] = val;
    m->kv_key_id[m->n_kv] = (int16_t)id;
    m->kv_flags[m->n_kv++] = flags;
}

/* logfmt's bare key ("key1=a key2"): the key with the value true, as the
 * logfmt conventions (kr/logfmt) read it. A word with a quote in it is no
 * key: it is left out, as before a value is found. */
static void kv_add_bare(match_ctx_t *m, const kv_opts_t *o, wharf_str_t key, int nested)
{
    if (key.len == 0 || memchr(key.ptr, '"', key.len) != NULL)
        return;
    kv_add(m, o, key, (wharf_str_t){"true", 4},
           (unsigned char)(KV_BARE | (nested ? KV_NESTED : 0)));
}

/* Where an unquoted value that starts at p ends: at the next separator,
 * or for a `multiword` key, before the next word that holds the assign
 * character (the start of the next pair; separators before it are not
 * part of the value). */
static const char *kv_value_end(const kv_opts_t *o, wharf_str_t key, const char *p, const char *end)
{
    const char *vend;
    int multiword = kv_listed(&o->multiword, key.ptr, key.len);
    for (;;) {
        const char *sep = memchr(p, o->sep, (size_t)(end - p));
        p = sep != NULL ? sep : end;
        vend = p;
        if (!multiword)
            return vend;
        while (p < end && (*p == o->sep || *p == ' '))
            p++;
        const char *w = p;
        while (w < end && *w != o->sep && *w != o->assign)
            w++;
        if (p >= end || (w < end && *w == o->assign))
            return vend;
    }
}

/* A qualifier word and the key one separator after it, as one key joined
 * by '_' (RHEL 6's "old auid=700" is old_auid, as go-libaudit and Elastic's
 * module name it); the key alone when the match has no room left. */
static wharf_str_t kv_join(match_ctx_t *m, wharf_str_t qual, wharf_str_t key)
{
    size_t n = qual.len + 1 + key.len;
    if (n > KV_JOINED_MAX - m->kv_joined_len)
        return key;
    char *out = m->kv_joined + m->kv_joined_len;
    memcpy(out, qual.ptr, qual.len);
    out[qual.len] = '_';
    memcpy(out + qual.len + 1, key.ptr, key.len);
    m->kv_joined_len += n;
    return (wharf_str_t){out, n};
}

/* `parens`: whether the word at p opens a parenthesized list of pairs,
 * "(hostname=?, addr=?, terminal=cron res=success)" as RHEL 5's PAM
 * records end: a '(' right before a key and its assign character. A word
 * such as "(deleted)" or a value such as tty=(none) does not. */
static int kv_paren_opens(const kv_opts_t *o, const char *p, const char *end)
{
    if (!o->parens || p >= end || *p != '(')
        return 0;
    const char *k = ++p;
    while (p < end && *p != o->assign && *p != o->sep && *p != ',' && *p != ')')
        p++;
    return p > k && p < end && *p == o->assign;
}

/* Inside such a list a value also ends at ',' (which is dropped) or at the
 * ')' that closes the list. */
static const char *kv_paren_value_end(const kv_opts_t *o, const char *p, const char *end)
{
    while (p < end && *p != o->sep && *p != ',' && *p != ')')
        p++;
    return p;
}

/* Values may be quoted with " or ' (quotes dropped); a word without the
 * assign character is not a pair, unless it is a qualifier of the key
 * right after it or, for logfmt, a bare key. */
void parser_kv_split(match_ctx_t *m, const kv_opts_t *o, const char *s, size_t n, int nested)
{
    const char *p = s, *end = s + n;
    wharf_str_t qual = {NULL, 0};
    int in_parens = 0;
    while (p < end && m->n_kv < KV_MAX_PAIRS) {
        while (p < end && (*p == o->sep || *p == ' '))
            p++;
        if (!in_parens && kv_paren_opens(o, p, end)) {
            in_parens = 1;
            p++;
        }
        const char *k = p;
        while (p < end && *p != o->assign && *p != o->sep)
            p++;
        if (p >= end || *p != o->assign) {
            int q = p > k && p < end && kv_listed(&o->qualifiers, k, (size_t)(p - k));
            qual = q ? (wharf_str_t){k, (size_t)(p - k)} : (wharf_str_t){NULL, 0};
            if (!q && o->bare_true)
                kv_add_bare(m, o, (wharf_str_t){k, (size_t)(p - k)}, nested);
            continue;
        }
        wharf_str_t key = {k, (size_t)(p - k)};
        if (qual.ptr != NULL && qual.ptr + qual.len + 1 == k && key.len > 0)
            key = kv_join(m, qual, key);
        qual.ptr = NULL;
        const char *v = ++p, *vend;
        int quoted = p < end && (*p == '"' || *p == '\'');
        if (quoted) {
            char q = *p++;
            v = p;
            while (p < end && *p != q)
                p += (*p == '\\' && p + 1 < end) ? 2 : 1;
            vend = p < end ? p : end;
            if (p < end)
                p++;
        } else {
            vend = in_parens ? kv_paren_value_end(o, p, end) : kv_value_end(o, key, p, end);
            p = vend;
        }
        if (in_parens && p < end && (*p == ',' || *p == ')')) {
            in_parens = *p == ',';
            p++;
        }
        wharf_str_t val = {v, (size_t)(vend - v)};
        if (quoted && !nested && kv_listed(&o->unwrap, key.ptr, key.len)) {
            kv_add(m, o, key, val, KV_QUOTED | KV_UNWRAPPED);
            parser_kv_split(m, o, val.ptr, val.len, 1);
        } else
            kv_add(m, o, key, val,
                   (unsigned char)((quoted ? KV_QUOTED : 0) | (nested ? KV_NESTED : 0)));
    }
}

/* A quoted value without its backslash escapes (\" \' \\). */
static const char *kv_unescape(wharf_event_t *e, wharf_str_t v, size_t *n)
{
    char *out = wharf_arena_alloc(e->arena, v.len + 1);
    if (out == NULL)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < v.len; i++)
        out[o++] = v.ptr[i] == '\\' && i + 1 < v.len ? v.ptr[++i] : v.ptr[i];
    out[o] = '\0';
    *n = o;
    return out;
}

static int kv_hex_digit(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                  : -1;
}

static int kv_is_hex(wharf_str_t v)
{
    if (v.len == 0 || v.len % 2 != 0)
        return 0;
    for (size_t i = 0; i < v.len; i++)
        if (kv_hex_digit(v.ptr[i]) < 0)
            return 0;
    return 1;
}

/* auditd writes a value in hex when it holds a space, a quote or a control
 * character; NULs (between proctitle's arguments) become spaces. */
static const char *kv_hex_decode(wharf_event_t *e, wharf_str_t v, size_t *n)
{
    char *out = wharf_arena_alloc(e->arena, v.len / 2 + 1);
    if (out == NULL)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < v.len; i += 2) {
        unsigned hi = (unsigned)kv_hex_digit(v.ptr[i]), lo = (unsigned)kv_hex_digit(v.ptr[i + 1]);
        char c = (char)((hi << 4 | lo) & 0xff);
        out[o++] = c == '\0' ? ' ' : c;
    }
    while (o > 0 && out[o - 1] == ' ')
        o--;
    out[o] = '\0';
    *n = o;
    return out;
}

const char *parser_kv_text(wharf_event_t *e, const match_ctx_t *m, size_t i, size_t *n)
{
    wharf_str_t v = m->kv_val[i];
    const kv_opts_t *o = &m->r->kv;
    if (m->kv_flags[i] & KV_QUOTED) {
        if (memchr(v.ptr, '\\', v.len) != NULL)
            return kv_unescape(e, v, n);
    } else if (kv_listed(&o->hex, m->kv_key[i].ptr, m->kv_key[i].len) && kv_is_hex(v)) {
        return kv_hex_decode(e, v, n);
    }
    *n = v.len;
    return v.ptr;
}

static void kv_list_free(kv_list_t *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    free(l->len);
    free(l->numbered);
}

void parser_kv_opts_free(kv_opts_t *o)
{
    free(o->group_name);
    kv_list_free(&o->unwrap);
    kv_list_free(&o->hex);
    kv_list_free(&o->nulls);
    kv_list_free(&o->multiword);
    kv_list_free(&o->qualifiers);
    kv_list_free(&o->listed);
}
