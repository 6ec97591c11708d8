/* json_find.c - field lookup by dotted path in serialized JSON (wharf/json_find.h).
 *
 * Outputs call this several times per event on ~2 KB event texts, so it is a
 * single forward scan with no allocation: strings are skipped sixteen bytes
 * at a time to the next quote or backslash (which escapes the byte after
 * it, and says the string needs unescaping), values off the path are
 * skipped by an iterative state machine whose
 * container stack is a 64-bit mask (one bit per level, object or array), and
 * only the objects on the path are descended into. Descending keeps the path
 * offset per level in a fixed array, so a member whose name contains dots
 * and a plain member that shares its first segment can both be tried: when a
 * descent does not resolve the path the scan simply continues in the parent.
 * Everything the scan passes over is checked against the JSON grammar except
 * string contents, so truncated or garbled text is reported, not misread. */
#include "wharf/json_find.h"

#include "wharf/bytescan.h"
#include "wharf/json.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

typedef struct jf {
    const char *p;
    const char *end;
} jf_t;

enum { MATCH_NONE, MATCH_FULL, MATCH_PREFIX };

static inline void jf_ws(jf_t *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\n' || *s->p == '\r' || *s->p == '\t'))
        s->p++;
}

/* ---- strings ------------------------------------------------------------ */

/* s->p is at an opening quote: moves past the closing one, sets *body to
 * the bytes between them and *escaped to whether they hold a backslash. */
static inline int jf_string(jf_t *s, wharf_str_t *body, int *escaped)
{
    const char *start = s->p + 1, *p = start;
    *escaped = 0;
    for (;;) {
        p += wharf_scan_quote_bslash(p, (size_t)(s->end - p));
        if (p == s->end)
            return WHARF_EPARSE;
        if (*p == '"')
            break;
        if (s->end - p < 2)
            return WHARF_EPARSE;
        *escaped = 1;
        p += 2;
    }
    body->ptr = start;
    body->len = (size_t)(p - start);
    s->p = p + 1;
    return 0;
}

int wharf_json_string_unescape(wharf_str_t raw, wharf_buf_t *out)
{
    if (raw.len == 0)
        return 0;
    wharf_buf_reserve(out, raw.len);
    const char *p = raw.ptr, *end = raw.ptr + raw.len;
    char *o = out->data + out->len;
    while (p < end) {
        const char *q = memchr(p, '\\', (size_t)(end - p));
        if (q == NULL)
            q = end;
        memcpy(o, p, (size_t)(q - p));
        o += q - p;
        if (q == end)
            break;
        size_t n;
        int used = wharf_json_unescape_one(q, end, o, &n);
        if (used < 0)
            return WHARF_EPARSE; /* out->len not advanced yet: out unchanged */
        o += n;
        p = q + used;
    }
    out->len = (size_t)(o - out->data);
    return 0;
}

static int json_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* One container open in wharf_json_compact's input. */
typedef struct compact_frame {
    uint64_t obj;        /* the object's number in the keyset; 0 for an array */
    size_t member_start; /* out's length before the current member's ',' */
    int want_name;       /* the next string is a member name */
    int repeated;        /* the current member's name came earlier: drop it */
} compact_frame_t;

void wharf_json_dedot(char *s, size_t n)
{
    for (char *d = memchr(s, '.', n); d != NULL; d = memchr(d + 1, '.', n - (size_t)(d + 1 - s)))
        *d = '_';
}

/* A string token at *p, decoded and written as the writer writes strings;
 * a member name is also dedotted (when asked) and checked against the
 * earlier names of its object. */
static int compact_string(const char **p, const char *end, compact_frame_t *top, wharf_buf_t *out,
                          wharf_buf_t *tmp, wharf_json_keyset_t *names, int dedot)
{
    size_t at = out->len;
    const char *text = *p + 1;
    size_t plain = wharf_scan_json_unsafe(text, (size_t)(end - text));
    if (text + plain < end && text[plain] == '"') {
        /* nothing to unescape, escape or check: the writer would write
         * these very bytes, so one scan finds the end and copies them */
        wharf_buf_append(out, *p, plain + 2);
        *p = text + plain + 1;
    } else {
        jf_t js = {*p, end};
        wharf_str_t s;
        int escaped;
        if (jf_string(&js, &s, &escaped) < 0)
            return WHARF_EPARSE;
        *p = js.p;
        if (escaped) {
            tmp->len = 0;
            if (wharf_json_string_unescape(s, tmp) < 0)
                return WHARF_EPARSE;
            s = (wharf_str_t){tmp->data, tmp->len};
        }
        wharf_json_write_string(out, s.ptr, s.len);
    }
    if (top != NULL && top->want_name) {
        top->want_name = 0;
        if (dedot)
            wharf_json_dedot(out->data + at, out->len - at);
        top->repeated = !wharf_json_keyset_add(names, top->obj, out->data + at, out->len - at);
    }
    return 0;
}

static int compact_delimiter(char c)
{
    return c == '"' || c == '{' || c == '}' || c == '[' || c == ']' || c == ',' || c == ':' ||
           json_space(c);
}

int wharf_json_compact(wharf_str_t raw, wharf_buf_t *out, wharf_buf_t *tmp,
                       wharf_json_keyset_t *names, int dedot)
{
    compact_frame_t stack[WHARF_JSON_MAX_DEPTH];
    int depth = 0;
    const char *p = raw.ptr, *end = raw.ptr + raw.len;
    while (p < end) {
        char c = *p;
        compact_frame_t *top = depth > 0 ? &stack[depth - 1] : NULL;
        if (c == '"') {
            if (compact_string(&p, end, top, out, tmp, names, dedot) < 0)
                return WHARF_EPARSE;
            continue;
        }
        if (!compact_delimiter(c)) { /* a number, true, false or null */
            const char *q = p;
            while (q < end && !compact_delimiter(*q))
                q++;
            wharf_buf_append(out, p, (size_t)(q - p));
            p = q;
            continue;
        }
        p++;
        if (json_space(c))
            continue;
        if (c == '{' || c == '[') {
            if (depth == WHARF_JSON_MAX_DEPTH)
                return WHARF_EPARSE;
            uint64_t obj = c == '{' ? wharf_json_keyset_object(names) : 0;
            stack[depth++] = (compact_frame_t){obj, out->len + 1, c == '{', 0};
        } else if (c == '}' || c == ']' || c == ',') {
            if (top != NULL && top->repeated) { /* the member ends here */
                out->len = top->member_start;
                top->repeated = 0;
            }
            if (c != ',' && top != NULL)
                depth--;
            else if (top != NULL && top->obj != 0) {
                top->member_start = out->len;
                top->want_name = 1;
            }
        }
        wharf_buf_putc(out, c);
    }
    return 0;
}

/* ---- scalars and skipping ----------------------------------------------- */

static int jf_number(jf_t *s)
{
    const char *p = s->p, *e = s->end;
    if (p < e && *p == '-')
        p++;
    if (p < e && *p == '0') {
        p++;
    } else if (p < e && *p >= '1' && *p <= '9') {
        while (p < e && *p >= '0' && *p <= '9')
            p++;
    } else {
        return WHARF_EPARSE;
    }
    if (p < e && *p == '.') {
        const char *d = ++p;
        while (p < e && *p >= '0' && *p <= '9')
            p++;
        if (p == d)
            return WHARF_EPARSE;
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < e && (*p == '+' || *p == '-'))
            p++;
        const char *d = p;
        while (p < e && *p >= '0' && *p <= '9')
            p++;
        if (p == d)
            return WHARF_EPARSE;
    }
    s->p = p;
    return 0;
}

static int jf_word(jf_t *s, const char *word, size_t n)
{
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
        return WHARF_EPARSE;
    s->p += n;
    return 0;
}

/* A string, number, true, false or null at s->p (not at the end). */
static int jf_scalar(jf_t *s, wharf_json_value_t *v)
{
    const char *start = s->p;
    int rc;
    v->escaped = 0;
    switch (*s->p) {
    case '"':
        v->type = WHARF_JSON_STRING;
        return jf_string(s, &v->raw, &v->escaped);
    case 't':
        v->type = WHARF_JSON_TRUE;
        rc = jf_word(s, "true", 4);
        break;
    case 'f':
        v->type = WHARF_JSON_FALSE;
        rc = jf_word(s, "false", 5);
        break;
    case 'n':
        v->type = WHARF_JSON_NULL;
        rc = jf_word(s, "null", 4);
        break;
    default:
        v->type = WHARF_JSON_NUMBER;
        rc = jf_number(s);
        break;
    }
    v->raw.ptr = start;
    v->raw.len = (size_t)(s->p - start);
    return rc;
}

enum { SK_VALUE, SK_KEY, SK_AFTER };

/* Skips the value at s->p (whitespace before it already skipped), checking
 * its grammar. It may open at most max_open containers, itself included:
 * more nesting is malformed. Iterative, with bit d of objs telling whether
 * the container at relative depth d+1 is an object. */
static int jf_skip(jf_t *s, int max_open)
{
    uint64_t objs = 0;
    int d = 0, st = SK_VALUE;
    wharf_json_value_t unused;
    for (;;) {
        if (st == SK_AFTER && d == 0)
            return 0;
        jf_ws(s);
        if (s->p == s->end)
            return WHARF_EPARSE;
        char c = *s->p;
        if (st == SK_KEY) {
            wharf_str_t key;
            int escaped;
            if (c != '"' || jf_string(s, &key, &escaped) < 0)
                return WHARF_EPARSE;
            jf_ws(s);
            if (s->p == s->end || *s->p != ':')
                return WHARF_EPARSE;
            s->p++;
            st = SK_VALUE;
        } else if (st == SK_VALUE) {
            if (c == '{' || c == '[') {
                if (d >= max_open)
                    return WHARF_EPARSE;
                objs = (objs & ~(UINT64_C(1) << d)) | ((uint64_t)(c == '{') << d);
                d++;
                s->p++;
                jf_ws(s);
                if (s->p < s->end && *s->p == (c == '{' ? '}' : ']')) {
                    s->p++;
                    d--;
                    st = SK_AFTER;
                } else {
                    st = c == '{' ? SK_KEY : SK_VALUE;
                }
            } else {
                if (jf_scalar(s, &unused) < 0)
                    return WHARF_EPARSE;
                st = SK_AFTER;
            }
        } else {
            int obj = (int)((objs >> (d - 1)) & 1);
            s->p++;
            if (c == ',')
                st = obj ? SK_KEY : SK_VALUE;
            else if (c == (obj ? '}' : ']'))
                d--;
            else
                return WHARF_EPARSE;
        }
    }
}

/* ---- matching ----------------------------------------------------------- */

/* Compares member name key (raw, with backslash escapes when escaped) with
 * the start of rest: MATCH_FULL when it spells all of rest, MATCH_PREFIX
 * with *n = its length when it spells rest up to a '.', else MATCH_NONE. */
static int key_match(wharf_str_t key, int escaped, const char *rest, size_t rest_len, size_t *n)
{
    size_t i;
    if (!escaped) {
        if (key.len > rest_len || memcmp(key.ptr, rest, key.len) != 0)
            return MATCH_NONE;
        i = key.len;
    } else {
        const char *r = key.ptr, *end = key.ptr + key.len;
        i = 0;
        while (r < end) {
            if (*r != '\\') {
                if (i >= rest_len || rest[i] != *r)
                    return MATCH_NONE;
                i++;
                r++;
                continue;
            }
            char tmp[4];
            size_t tn;
            int used = wharf_json_unescape_one(r, end, tmp, &tn);
            if (used < 0 || rest_len - i < tn || memcmp(rest + i, tmp, tn) != 0)
                return MATCH_NONE;
            i += tn;
            r += used;
        }
    }
    if (i == rest_len)
        return MATCH_FULL;
    if (rest[i] != '.')
        return MATCH_NONE;
    *n = i;
    return MATCH_PREFIX;
}

/* A member's `"name" :` at s->p; leaves s->p at its value (not at the end). */
static int jf_member_name(jf_t *s, wharf_str_t *key, int *escaped)
{
    if (s->p == s->end || *s->p != '"' || jf_string(s, key, escaped) < 0)
        return WHARF_EPARSE;
    jf_ws(s);
    if (s->p == s->end || *s->p != ':')
        return WHARF_EPARSE;
    s->p++;
    jf_ws(s);
    return s->p == s->end ? WHARF_EPARSE : 0;
}

static int path_valid(const char *path, size_t len)
{
    if (path == NULL || len == 0 || path[0] == '.' || path[len - 1] == '.')
        return 0;
    for (size_t i = 1; i < len; i++)
        if (path[i] == '.' && path[i - 1] == '.')
            return 0;
    return 1;
}

/* The found value at s->p, inside an object at depth `depth`. The token after
 * it must be ',' or '}'. */
static int jf_found(jf_t *s, int depth, wharf_json_value_t *value)
{
    wharf_json_value_t v;
    const char *start = s->p;
    if (*s->p == '{' || *s->p == '[') {
        v.type = *s->p == '{' ? WHARF_JSON_OBJECT : WHARF_JSON_ARRAY;
        v.escaped = 0;
        if (jf_skip(s, WHARF_JSON_MAX_DEPTH - depth) < 0)
            return WHARF_EPARSE;
        v.raw.ptr = start;
        v.raw.len = (size_t)(s->p - start);
    } else if (jf_scalar(s, &v) < 0) {
        return WHARF_EPARSE;
    }
    jf_ws(s);
    if (s->p == s->end || (*s->p != ',' && *s->p != '}'))
        return WHARF_EPARSE;
    *value = v;
    return 1;
}

int wharf_json_find(const char *json, size_t len, const char *path, size_t path_len,
                    wharf_json_value_t *value)
{
    if (!path_valid(path, path_len))
        return -EINVAL;
    if (json == NULL)
        return WHARF_EPARSE;
    /* offs[level]: where in path the member names of the object at depth
     * level+1 on the path are matched. */
    size_t offs[WHARF_JSON_MAX_DEPTH];
    int level = 0;
    jf_t s = {json, json + len};
    offs[0] = 0;
    jf_ws(&s);
    if (s.p == s.end || *s.p != '{')
        return WHARF_EPARSE;
    s.p++;
    jf_ws(&s);
    /* after: the next token ends a member (',' or '}'); also set at an
     * empty object's '}', where only the '}' can follow. */
    int after = s.p < s.end && *s.p == '}';
    for (;;) {
        if (!after) {
            wharf_str_t key;
            int escaped;
            if (jf_member_name(&s, &key, &escaped) < 0)
                return WHARF_EPARSE;
            size_t off = offs[level], n = 0;
            int m = key_match(key, escaped, path + off, path_len - off, &n);
            if (m == MATCH_FULL)
                return jf_found(&s, level + 1, value);
            if (m == MATCH_PREFIX && *s.p == '{') {
                if (level + 1 >= WHARF_JSON_MAX_DEPTH)
                    return WHARF_EPARSE;
                offs[++level] = off + n + 1;
                s.p++;
                jf_ws(&s);
                after = s.p < s.end && *s.p == '}';
                continue;
            }
            if (jf_skip(&s, WHARF_JSON_MAX_DEPTH - (level + 1)) < 0)
                return WHARF_EPARSE;
            jf_ws(&s);
        }
        if (s.p == s.end)
            return WHARF_EPARSE;
        char c = *s.p++;
        jf_ws(&s);
        if (c == ',') {
            after = 0;
            continue;
        }
        if (c != '}')
            return WHARF_EPARSE;
        if (level == 0) /* the top-level object ended: only whitespace may follow */
            return s.p == s.end ? 0 : WHARF_EPARSE;
        level--; /* the path did not resolve below: go on in the parent */
        after = 1;
    }
}

int wharf_json_members(const char *json, size_t len, wharf_json_member_t *out, size_t max,
                       size_t *n)
{
    *n = 0;
    if (json == NULL)
        return WHARF_EPARSE;
    jf_t s = {json, json + len};
    jf_ws(&s);
    if (s.p == s.end || *s.p != '{')
        return WHARF_EPARSE;
    s.p++;
    jf_ws(&s);
    if (s.p < s.end && *s.p == '}') {
        s.p++;
        jf_ws(&s);
        return s.p == s.end ? 0 : WHARF_EPARSE;
    }
    for (;;) {
        wharf_str_t key;
        int escaped;
        wharf_json_value_t v;
        if (jf_member_name(&s, &key, &escaped) < 0 || jf_found(&s, 1, &v) < 0)
            return WHARF_EPARSE;
        if (*n < max) {
            out[*n].key = key;
            out[*n].key_escaped = escaped;
            out[*n].value = v;
        }
        (*n)++;
        char c = *s.p++;
        jf_ws(&s);
        if (c == '}')
            return s.p == s.end ? 0 : WHARF_EPARSE;
    }
}
