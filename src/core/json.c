/* json.c - events to NDJSON in one pass, with ECS nesting.
 *
 * Fields arrive in path order (the static table is sorted, dynamic fields
 * are sorted here), so nesting is a matter of comparing each path with the
 * previous one: close the objects they no longer share, open the new ones.
 * Strings are escaped in runs: the common case, printable ASCII, is a
 * scan for the next byte that needs care (bytescan.h) and one memcpy; that
 * byte's 256-entry class says whether to escape it or check its UTF-8. */
#include "wharf/json.h"

#include "wharf/bytescan.h"
#include "wharf/hash.h"
#include "wharf/timefmt.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

/* 0: copy as is; 1: escape; 2: start of a multi-byte UTF-8 sequence (or junk). */
static const uint8_t json_byte_class[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x00 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x10 */
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x20: '"' */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x30 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x40 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, /* 0x50: '\\' */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x60 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x70 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0x80 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0x90 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0xa0 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0xb0 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0xc0 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0xd0 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0xe0 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0xf0 */
};

static int utf8_cont(unsigned char c)
{
    return (c & 0xc0) == 0x80;
}

/* Length of the well-formed UTF-8 sequence at s (Unicode table 3-7), or 0. */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    if (c >= 0xc2 && c <= 0xdf)
        return n >= 2 && utf8_cont(s[1]) ? 2 : 0;
    if (c >= 0xe0 && c <= 0xef) {
        if (n < 3 || !utf8_cont(s[1]) || !utf8_cont(s[2]))
            return 0;
        if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f))
            return 0;
        return 3;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        if (n < 4 || !utf8_cont(s[1]) || !utf8_cont(s[2]) || !utf8_cont(s[3]))
            return 0;
        if ((c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] > 0x8f))
            return 0;
        return 4;
    }
    return 0;
}

char *wharf_utf8_repair_dup(const char *s, size_t n)
{
    char *out = malloc(n * 3 + 1);
    if (out == NULL)
        return NULL;
    const unsigned char *p = (const unsigned char *)s;
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        size_t k = p[i] < 0x80 ? 1 : utf8_seq_len(p + i, n - i);
        if (k == 0) {
            out[o++] = '\xef'; /* U+FFFD */
            out[o++] = '\xbf';
            out[o++] = '\xbd';
            i++;
            continue;
        }
        memcpy(out + o, p + i, k);
        o += k;
        i += k;
    }
    out[o] = '\0';
    return out;
}

int wharf_utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        size_t k = utf8_seq_len(p + i, n - i);
        if (k == 0)
            return 0;
        i += k;
    }
    return 1;
}

static char *json_escape_control(char *o, unsigned char c)
{
    static const char hex[] = "0123456789abcdef";
    *o++ = '\\';
    switch (c) {
    case '"':
        *o++ = '"';
        break;
    case '\\':
        *o++ = '\\';
        break;
    case '\n':
        *o++ = 'n';
        break;
    case '\r':
        *o++ = 'r';
        break;
    case '\t':
        *o++ = 't';
        break;
    case '\b':
        *o++ = 'b';
        break;
    case '\f':
        *o++ = 'f';
        break;
    default:
        o[0] = 'u';
        o[1] = '0';
        o[2] = '0';
        o[3] = hex[c >> 4];
        o[4] = hex[c & 15];
        o += 5;
    }
    return o;
}

/* p[i..n) from a byte that needs care on, to o: escapes, UTF-8 checked
 * (U+FFFD for what is not), runs between them copied whole. Returns the
 * end of what it wrote; *replaced counts the U+FFFDs. */
static char *json_write_escaped(char *o, const unsigned char *p, size_t i, size_t n,
                                size_t *replaced)
{
    while (i < n) {
        if (json_byte_class[p[i]] == 1) {
            o = json_escape_control(o, p[i]);
            i++;
        } else {
            size_t k = utf8_seq_len(p + i, n - i);
            if (k == 0) { /* U+FFFD */
                *o++ = '\xef';
                *o++ = '\xbf';
                *o++ = '\xbd';
                (*replaced)++;
                i++;
            } else {
                memcpy(o, p + i, k);
                o += k;
                i += k;
            }
        }
        size_t run = i + wharf_scan_json_unsafe((const char *)p + i, n - i);
        memcpy(o, p + i, run - i);
        o += run - i;
        i = run;
    }
    return o;
}

/* n bytes from s to o without a call to memcpy, for texts shorter than
 * 16 bytes: two copies that overlap. */
static inline void json_copy_short(char *o, const char *s, size_t n)
{
    if (n >= 8) {
        memcpy(o, s, 8);
        memcpy(o + n - 8, s + n - 8, 8);
    } else if (n >= 4) {
        memcpy(o, s, 4);
        memcpy(o + n - 4, s + n - 4, 4);
    } else {
        for (size_t i = 0; i < n; i++)
            o[i] = s[i];
    }
}

/* Most names and values have nothing to escape: one scan, one copy. */
size_t wharf_json_write_string(wharf_buf_t *b, const char *s, size_t n)
{
    size_t clean = wharf_scan_json_unsafe(s, n), replaced = 0;
    /* Worst case: every byte becomes \u00XX (6 bytes); U+FFFD is only 3. */
    wharf_buf_reserve(b, clean == n ? n + 2 : n * 6 + 2);
    char *o = b->data + b->len;
    *o++ = '"';
    if (clean < 16)
        json_copy_short(o, s, clean);
    else
        memcpy(o, s, clean);
    o += clean;
    if (clean < n)
        o = json_write_escaped(o, (const unsigned char *)s, clean, n, &replaced);
    *o++ = '"';
    b->len = (size_t)(o - b->data);
    return replaced;
}

void wharf_json_writer_init(wharf_json_writer_t *w)
{
    memset(w, 0, sizeof(*w));
    for (int i = 0; i < WHARF_JSON_TIME_CACHE; i++)
        w->cached_sec[i] = INT64_MIN;
}

static void json_time_text(wharf_json_writer_t *w, int64_t ns, char *text)
{
    int64_t sec = ns / 1000000000;
    int slot = -1;
    for (int i = 0; i < WHARF_JSON_TIME_CACHE; i++)
        if (w->cached_sec[i] == sec)
            slot = i;
    if (ns < 0 || slot < 0) {
        wharf_time_format(ns, text);
        if (ns >= 0) {
            slot = (int)(w->next_slot++ % WHARF_JSON_TIME_CACHE);
            w->cached_sec[slot] = sec;
            memcpy(w->cached_text[slot], text, 19);
        }
        return;
    }
    int64_t frac = ns % 1000000000;
    memcpy(text, w->cached_text[slot], 19);
    text[19] = '.';
    for (int i = 28; i >= 20; i--, frac /= 10)
        text[i] = (char)('0' + frac % 10);
    text[29] = 'Z';
}

void wharf_json_write_time(wharf_json_writer_t *w, wharf_buf_t *b, int64_t ns)
{
    wharf_buf_reserve(b, WHARF_TIME_TEXT_LEN + 2);
    char *o = b->data + b->len;
    o[0] = '"';
    json_time_text(w, ns, o + 1);
    o[WHARF_TIME_TEXT_LEN + 1] = '"';
    b->len += WHARF_TIME_TEXT_LEN + 2;
}

void wharf_json_write_long(wharf_buf_t *b, int64_t v)
{
    char tmp[24];
    int i = 24;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        tmp[--i] = '-';
    wharf_buf_append(b, tmp + i, (size_t)(24 - i));
}

static void json_write_double(wharf_buf_t *b, double d)
{
    if (!isfinite(d)) {
        wharf_buf_lit(b, "null");
        return;
    }
    /* the shortest text that reads back as d: 19.99, not 19.989999999999998 */
    char tmp[32];
    int n = 0;
    for (int digits = 15; digits <= 17; digits++) {
        n = snprintf(tmp, sizeof(tmp), "%.*g", digits, d);
        if (strtod(tmp, NULL) == d)
            break;
    }
    wharf_buf_append(b, tmp, (size_t)n);
}

static void json_write_tags(wharf_buf_t *b, uint32_t tags)
{
    wharf_buf_putc(b, '[');
    int first = 1;
    for (int t = 0; t < WHARF_TAG__COUNT; t++) {
        if (!(tags & WHARF_TAG_BIT(t)))
            continue;
        if (!first)
            wharf_buf_putc(b, ',');
        first = 0;
        const char *name = wharf_tag_name((wharf_tag)t);
        wharf_json_write_string(b, name, strlen(name));
    }
    wharf_buf_putc(b, ']');
}

void wharf_json_write_value(wharf_json_writer_t *w, wharf_buf_t *b, const wharf_value_t *v)
{
    switch (v->type) {
    case WHARF_V_STR:
        wharf_json_write_string(b, v->u.str.ptr, v->u.str.len);
        break;
    case WHARF_V_LONG:
        wharf_json_write_long(b, v->u.i64);
        break;
    case WHARF_V_DOUBLE:
        json_write_double(b, v->u.f64);
        break;
    case WHARF_V_BOOL:
        if (v->u.i64)
            wharf_buf_lit(b, "true");
        else
            wharf_buf_lit(b, "false");
        break;
    case WHARF_V_TIME:
        wharf_json_write_time(w, b, v->u.i64);
        break;
    case WHARF_V_STRS:
        wharf_buf_putc(b, '[');
        for (uint32_t i = 0; i < v->count; i++) {
            if (i)
                wharf_buf_putc(b, ',');
            wharf_json_write_string(b, v->u.strs[i].ptr, v->u.strs[i].len);
        }
        wharf_buf_putc(b, ']');
        break;
    case WHARF_V_RAW:
        wharf_buf_append(b, v->u.str.ptr, v->u.str.len);
        break;
    default:
        wharf_buf_lit(b, "null");
    }
}

/* Orders dotted paths component by component: "a" < "a.b" < "a-b". */
static int path_key(const char *p, size_t n, size_t i)
{
    if (i >= n)
        return 0;
    return p[i] == '.' ? 1 : (unsigned char)p[i] + 2;
}

int wharf_path_compare(wharf_str_t a, wharf_str_t b)
{
    for (size_t i = 0;; i++) {
        int ka = path_key(a.ptr, a.len, i), kb = path_key(b.ptr, b.len, i);
        if (ka != kb)
            return ka - kb;
        if (ka == 0)
            return 0;
    }
}

static size_t path_depth(wharf_str_t p)
{
    size_t d = 1;
    for (size_t i = 0; i < p.len; i++)
        d += p.ptr[i] == '.';
    return d;
}

/* Number of leading components a and b share. */
static size_t path_common(wharf_str_t a, wharf_str_t b)
{
    size_t comps = 0, i = 0;
    while (i < a.len && i < b.len && a.ptr[i] == b.ptr[i]) {
        if (a.ptr[i] == '.')
            comps++;
        i++;
    }
    int a_end = i == a.len || a.ptr[i] == '.';
    int b_end = i == b.len || b.ptr[i] == '.';
    if (a_end && b_end && i > 0)
        comps++;
    return comps;
}

typedef struct json_nest {
    wharf_str_t prev;
    int prev_field; /* prev's static field id, or -1 for a dynamic field */
    size_t open;    /* objects opened for prev's leading components */
    int need_comma;
} json_nest_t;

/* A path's keys rendered once: for "container.image.name", text is
 * "container":{"image":{"name": and comp_start says where each component's
 * key begins, so entering the field from any shared prefix is one memcpy.
 * Static fields have theirs built once (read-only afterwards, with
 * shared[a][b]: how many leading components a and b share); dynamic ones
 * are cached in the writer (json_path_keys), with their place among the
 * static fields. */
static wharf_json_path_keys_t json_layouts[WHARF_F__COUNT];
static uint8_t json_shared[WHARF_F__COUNT][WHARF_F__COUNT];
static pthread_once_t json_layouts_once = PTHREAD_ONCE_INIT;

/* Renders path's keys into k; -1 when the path is too deep or too long. */
static int json_path_keys_render(wharf_json_path_keys_t *k, wharf_str_t path)
{
    if (path.len > sizeof(k->path) || path_depth(path) > WHARF_JSON_PATH_DEPTH)
        return -1;
    wharf_buf_t text;
    wharf_buf_init(&text);
    uint8_t comp_start[WHARF_JSON_PATH_DEPTH];
    size_t depth = 0, start = 0;
    for (size_t i = 0; i <= path.len; i++) {
        if (i < path.len && path.ptr[i] != '.')
            continue;
        comp_start[depth++] = (uint8_t)(text.len < 255 ? text.len : 255);
        wharf_json_write_string(&text, path.ptr + start, i - start);
        wharf_buf_putc(&text, ':');
        if (i < path.len)
            wharf_buf_putc(&text, '{');
        start = i + 1;
    }
    int fits = text.len <= sizeof(k->text);
    if (fits) {
        memcpy(k->path, path.ptr, path.len);
        memcpy(k->text, text.data, text.len);
        memcpy(k->comp_start, comp_start, depth);
        k->path_len = (uint16_t)path.len;
        k->len = (uint16_t)text.len;
        k->depth = (uint8_t)depth;
    }
    wharf_buf_free(&text);
    return fits ? 0 : -1;
}

static void json_layouts_init(void)
{
    for (int a = 0; a < WHARF_F__COUNT; a++)
        (void)json_path_keys_render(&json_layouts[a], wharf_field_path_str((wharf_field_id)a));
    for (int a = 0; a < WHARF_F__COUNT; a++)
        for (int b = 0; b < WHARF_F__COUNT; b++)
            json_shared[a][b] = (uint8_t)path_common(wharf_field_path_str((wharf_field_id)a),
                                                     wharf_field_path_str((wharf_field_id)b));
}

static void json_close_to(wharf_buf_t *b, json_nest_t *st, size_t keep)
{
    for (; st->open > keep; st->open--) {
        wharf_buf_putc(b, '}');
        st->need_comma = 1;
    }
}

static wharf_str_t json_prev_path(const json_nest_t *st)
{
    return st->prev_field >= 0 ? wharf_field_path_str((wharf_field_id)st->prev_field) : st->prev;
}

/* Closes the objects past keep (clamped to what is open and to k's
 * parents), then writes k's keys from there on. */
static void json_enter(wharf_buf_t *b, json_nest_t *st, const wharf_json_path_keys_t *k,
                       size_t keep)
{
    if (keep > st->open)
        keep = st->open;
    if (keep > (size_t)k->depth - 1)
        keep = (size_t)k->depth - 1;
    json_close_to(b, st, keep);
    if (st->need_comma)
        wharf_buf_putc(b, ',');
    wharf_buf_append(b, k->text + k->comp_start[keep], k->len - k->comp_start[keep]);
    st->open = (size_t)k->depth - 1;
}

/* json_nest_to() for a static field, from its pre-rendered keys. */
static void json_nest_to_field(wharf_buf_t *b, json_nest_t *st, wharf_field_id f)
{
    size_t keep = st->prev_field >= 0 ? json_shared[st->prev_field][f]
                  : st->prev.ptr      ? path_common(st->prev, wharf_field_path_str(f))
                                      : 0;
    json_enter(b, st, &json_layouts[f], keep);
    st->prev_field = (int)f;
}

static void json_write_key(wharf_buf_t *b, json_nest_t *st, const char *k, size_t n)
{
    if (st->need_comma)
        wharf_buf_putc(b, ',');
    wharf_json_write_string(b, k, n);
    wharf_buf_putc(b, ':');
}

/* Closes and opens objects so that the next key written is path's leaf,
 * writing each key (the path's keys are not cached). */
static void json_nest_to_slow(wharf_buf_t *b, json_nest_t *st, wharf_str_t path, size_t keep,
                              size_t depth)
{
    size_t start = 0, comp = 0;
    for (size_t i = 0; i <= path.len; i++) {
        if (i < path.len && path.ptr[i] != '.')
            continue;
        if (comp >= keep && comp < depth - 1) {
            json_write_key(b, st, path.ptr + start, i - start);
            wharf_buf_putc(b, '{');
            st->need_comma = 0;
            st->open++;
        } else if (comp == depth - 1) {
            json_write_key(b, st, path.ptr + start, i - start);
        }
        start = i + 1;
        comp++;
    }
}

static int json_path_keys_hit(const wharf_json_path_keys_t *k, wharf_str_t path)
{
    return k->len > 0 && k->path_len == path.len && memcmp(k->path, path.ptr, path.len) == 0;
}

/* The first static field whose path sorts after dynamic path p: the static
 * ids are in path order, and p is none of theirs. */
static uint16_t json_static_after(wharf_str_t p)
{
    size_t lo = 0, hi = WHARF_F__COUNT;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (wharf_path_compare(wharf_field_path_str((wharf_field_id)mid), p) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (uint16_t)lo;
}

/* A path's cache set, from its bytes: parsers build some paths per event
 * (kv keys), so where a path lives says nothing. */
static size_t json_path_set(wharf_str_t path)
{
    return (size_t)wharf_hash_bytes(path.ptr, path.len) % (WHARF_JSON_PATH_CACHE / 2);
}

/* path's rendered keys from w's cache (two ways per set, an entry compared
 * by content), rendered into it on a miss; NULL when the path is too deep
 * or too long to cache. */
static const wharf_json_path_keys_t *json_path_keys(wharf_json_writer_t *w, wharf_str_t path)
{
    size_t set = json_path_set(path);
    wharf_json_path_keys_t *ways = &w->path_keys[2 * set];
    if (json_path_keys_hit(&ways[0], path))
        return &ways[0];
    if (json_path_keys_hit(&ways[1], path))
        return &ways[1];
    wharf_json_path_keys_t *k = &ways[w->path_keys_victim[set]];
    if (json_path_keys_render(k, path) < 0)
        return NULL;
    k->before = json_static_after(path);
    w->path_keys_victim[set] ^= 1;
    return k;
}

/* Closes and opens objects so that the next key written is path's leaf;
 * seen is where its keys were in the cache a moment ago, or NULL. */
static void json_nest_to(wharf_json_writer_t *w, wharf_buf_t *b, json_nest_t *st, wharf_str_t path,
                         const wharf_json_path_keys_t *seen)
{
    const wharf_json_path_keys_t *k =
        seen != NULL && json_path_keys_hit(seen, path) ? seen : json_path_keys(w, path);
    wharf_str_t prev = json_prev_path(st);
    size_t keep = prev.ptr ? path_common(prev, path) : 0;
    if (k != NULL) {
        json_enter(b, st, k, keep);
    } else {
        size_t depth = path_depth(path);
        if (keep > st->open)
            keep = st->open;
        if (keep > depth - 1)
            keep = depth - 1;
        json_close_to(b, st, keep);
        json_nest_to_slow(b, st, path, keep, depth);
    }
    st->prev = path;
    st->prev_field = -1;
}

/* A dynamic field, the first static field that sorts after it, and where
 * its keys were cached when it was sorted (a later miss may have replaced
 * them). */
typedef struct json_dyn_entry {
    const wharf_dyn_field_t *field;
    size_t before;
    const wharf_json_path_keys_t *keys;
} json_dyn_entry_t;

/* An event's dynamic fields in path order, and the next one to write. */
typedef struct json_dyn {
    json_dyn_entry_t *v;
    uint32_t n, next;
} json_dyn_t;

static int json_dyn_sorts_after(const json_dyn_entry_t *a, const json_dyn_entry_t *b)
{
    if (a->before != b->before)
        return a->before > b->before;
    return wharf_path_compare(a->field->path, b->field->path) > 0;
}

/* Sorts e's dynamic fields into d, in stack when they fit: by their place
 * among the static fields, then by path. -ENOMEM. */
static int json_sort_dyn(wharf_json_writer_t *w, const wharf_event_t *e, json_dyn_t *d,
                         json_dyn_entry_t *stack, size_t stack_n)
{
    d->v = stack;
    d->n = e->n_dyn;
    d->next = 0;
    if (d->n > stack_n && (d->v = malloc(d->n * sizeof(json_dyn_entry_t))) == NULL)
        return -ENOMEM;
    for (uint32_t i = 0; i < d->n; i++) {
        const wharf_json_path_keys_t *k = json_path_keys(w, e->dyn[i].path);
        json_dyn_entry_t x = {&e->dyn[i], k != NULL ? k->before : json_static_after(e->dyn[i].path),
                              k};
        uint32_t j = i;
        while (j > 0 && json_dyn_sorts_after(&d->v[j - 1], &x)) {
            d->v[j] = d->v[j - 1];
            j--;
        }
        d->v[j] = x;
    }
    return 0;
}

/* The place among the static fields of the next dynamic field to write;
 * SIZE_MAX when all are written. */
static size_t json_dyn_next_before(const json_dyn_t *d)
{
    return d->next < d->n ? d->v[d->next].before : SIZE_MAX;
}

/* Writes the dynamic fields from d->next on that sort before static field
 * limit (all of them when limit is WHARF_F__COUNT). Returns
 * json_dyn_next_before(d). */
static size_t json_write_dyn_until(wharf_json_writer_t *w, wharf_buf_t *b, json_nest_t *st,
                                   json_dyn_t *d, size_t limit)
{
    for (; d->next < d->n && d->v[d->next].before <= limit; d->next++) {
        json_nest_to(w, b, st, d->v[d->next].field->path, d->v[d->next].keys);
        wharf_json_write_value(w, b, &d->v[d->next].field->value);
        st->need_comma = 1;
    }
    return json_dyn_next_before(d);
}

/* 1 when e holds exactly g's values: the same fields set, each the same
 * RAW slice. */
static int json_group_intact(const wharf_event_t *e, const wharf_event_group_t *g)
{
    for (size_t f = g->first; f <= g->last; f++) {
        const wharf_str_t *want = &g->raw[f];
        if (wharf_event_has(e, (wharf_field_id)f) != (want->ptr != NULL))
            return 0;
        if (want->ptr != NULL && (e->v[f].type != WHARF_V_RAW || e->v[f].u.str.ptr != want->ptr ||
                                  e->v[f].u.str.len != want->len))
            return 0;
    }
    return 1;
}

/* 1 when a dynamic field not yet written shares path's top-level key (it
 * would have to go inside the group's object). They are sorted: past the
 * first one that sorts after path without sharing the key, none does. */
static int json_dyn_under(const json_dyn_t *d, wharf_str_t path)
{
    for (uint32_t i = d->next; i < d->n; i++) {
        wharf_str_t p = d->v[i].field->path;
        if (path_common(p, path) > 0)
            return 1;
        if (wharf_path_compare(p, path) > 0)
            return 0;
    }
    return 0;
}

/* At f, the first set field in g's range: writes g's text when the event
 * still holds g's values, after the dynamic fields that sort before it.
 * Returns the last field id it covered, or -1 when the fields must be
 * written one by one. */
static int json_write_group(wharf_json_writer_t *w, const wharf_event_t *e, wharf_buf_t *b,
                            json_nest_t *st, json_dyn_t *d, const wharf_event_group_t *g,
                            wharf_field_id f)
{
    wharf_str_t path = wharf_field_path_str(f);
    if (!json_group_intact(e, g) || json_dyn_under(d, path))
        return -1;
    if (json_dyn_next_before(d) <= f)
        (void)json_write_dyn_until(w, b, st, d, f);
    json_close_to(b, st, 0);
    if (st->need_comma)
        wharf_buf_putc(b, ',');
    wharf_buf_append(b, g->text, g->text_len);
    st->need_comma = 1;
    st->prev_field = g->last;
    return g->last;
}

int wharf_json_write_event(wharf_json_writer_t *w, const wharf_event_t *e, wharf_buf_t *b)
{
    json_dyn_entry_t stack[64];
    json_dyn_t d;
    if (json_sort_dyn(w, e, &d, stack, 64) < 0)
        return -ENOMEM;
    pthread_once(&json_layouts_once, json_layouts_init);
    json_nest_t st = {{NULL, 0}, -1, 0, 0};
    uint32_t gi = 0;
    int covered = -1; /* the last field id a group's text wrote */
    size_t dyn_next = json_dyn_next_before(&d);
    wharf_buf_putc(b, '{');
    /* the set fields in id order, which is path order */
    for (size_t word = 0; word < WHARF_EVENT_SET_WORDS; word++) {
        for (uint64_t bits = e->set[word]; bits != 0; bits &= bits - 1) {
            wharf_field_id f = (wharf_field_id)(word * 64 + (size_t)__builtin_ctzll(bits));
            if ((int)f <= covered)
                continue;
            while (gi < e->n_groups && e->groups[gi].last < f)
                gi++;
            if (gi < e->n_groups && f >= e->groups[gi].first &&
                (covered = json_write_group(w, e, b, &st, &d, &e->groups[gi++], f)) >= 0) {
                dyn_next = json_dyn_next_before(&d);
                continue;
            }
            if (dyn_next <= f)
                dyn_next = json_write_dyn_until(w, b, &st, &d, f);
            json_nest_to_field(b, &st, f);
            if (f == WHARF_F_TAGS)
                json_write_tags(b, e->tags);
            else
                wharf_json_write_value(w, b, &e->v[f]);
            st.need_comma = 1;
        }
    }
    (void)json_write_dyn_until(w, b, &st, &d, WHARF_F__COUNT);
    for (; st.open > 0; st.open--)
        wharf_buf_putc(b, '}');
    wharf_buf_lit(b, "}\n");
    if (d.v != stack)
        free(d.v);
    return 0;
}

/* The range of fixed field ids under member's top-level key: those that
 * share at least that component with it (json_shared). */
static void json_group_range(wharf_field_id member, uint16_t *first, uint16_t *last)
{
    int lo = (int)member, hi = (int)member;
    while (lo > 0 && json_shared[lo - 1][member] > 0)
        lo--;
    while (hi + 1 < WHARF_F__COUNT && json_shared[hi + 1][member] > 0)
        hi++;
    *first = (uint16_t)lo;
    *last = (uint16_t)hi;
}

int wharf_json_group_render(wharf_event_group_t *g, wharf_field_id member, const wharf_str_t *raw)
{
    memset(g, 0, sizeof(*g));
    pthread_once(&json_layouts_once, json_layouts_init);
    json_group_range(member, &g->first, &g->last);
    g->raw = raw;
    wharf_event_t *e = calloc(1, sizeof(*e));
    wharf_json_writer_t *w = malloc(sizeof(*w));
    wharf_buf_t b;
    wharf_buf_init(&b);
    int rc = e != NULL && w != NULL ? 0 : -ENOMEM;
    if (rc == 0) {
        wharf_json_writer_init(w);
        for (size_t f = g->first; f <= g->last; f++)
            if (raw[f].ptr != NULL)
                wharf_event_set_raw(e, (wharf_field_id)f, raw[f].ptr, raw[f].len);
        rc = wharf_json_write_event(w, e, &b);
    }
    /* "{" text "}\n" */
    if (rc == 0 && (g->text = malloc(b.len)) == NULL)
        rc = -ENOMEM;
    if (rc == 0) {
        g->text_len = b.len - 3;
        memcpy(g->text, b.data + 1, g->text_len);
    }
    wharf_buf_free(&b);
    free(w);
    free(e);
    return rc;
}

/* ---- escapes, for the JSON readers (docker_line.c, json_find.c) ---- */

static int hex4(const char *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

static size_t put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

int wharf_json_unescape_one(const char *q, const char *end, char *o, size_t *n)
{
    if (end - q < 2)
        return -1;
    *n = 1;
    switch (q[1]) {
    case '"':
    case '\\':
    case '/':
        o[0] = q[1];
        return 2;
    case 'b':
        o[0] = '\b';
        return 2;
    case 'f':
        o[0] = '\f';
        return 2;
    case 'n':
        o[0] = '\n';
        return 2;
    case 'r':
        o[0] = '\r';
        return 2;
    case 't':
        o[0] = '\t';
        return 2;
    case 'u':
        break;
    default:
        return -1;
    }
    unsigned hi, lo, cp = 0xfffd;
    if (end - q < 6 || hex4(q + 2, &hi) < 0)
        return -1;
    int used = 6;
    if (hi < 0xd800 || hi > 0xdfff) {
        cp = hi;
    } else if (hi <= 0xdbff && end - q >= 12 && q[6] == '\\' && q[7] == 'u' &&
               hex4(q + 8, &lo) == 0 && lo >= 0xdc00 && lo <= 0xdfff) {
        cp = 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
        used = 12;
    }
    *n = put_utf8(o, cp);
    return used;
}
