/* docker_line.c - decode one Docker json-file line.
 *
 * This is the hottest code in wharf: every Docker log line goes through it.
 * A general JSON parser (yajl) spent ~5,400 instructions on a 150-byte line,
 * more than everything else per event together. The format is narrow - one
 * flat object with string values, written by dockerd - so this scanner reads
 * it directly: strings without escapes are returned as slices of the line
 * (no copy), escaped ones are decoded into the arena, and keys other than
 * log/stream/time/attrs are skipped structurally whatever their value.
 * Anything that is not one JSON object makes the line invalid, and the input
 * tags it invalid_json. It is lenient in two places that cannot change what
 * is shipped: the syntax of numbers in skipped values, and raw control bytes
 * inside strings (the writer escapes them). */
#include "wharf/bytescan.h"
#include "wharf/common.h"
#include "wharf/docker.h"
#include "wharf/json.h"
#include "wharf/timefmt.h"

#include <errno.h>
#include <string.h>

#define DOCKER_MAX_NESTING 64

typedef struct jscan {
    const char *p;
    const char *end;
    wharf_arena_t *arena;
} jscan_t;

static void js_ws(jscan_t *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\r' || *s->p == '\n'))
        s->p++;
}

/* Decodes the escape at q (a backslash) into *o; returns the bytes it took
 * in the input, or -1 when it is not a JSON escape. */
static int js_escape(const char *q, const char *end, char **o)
{
    size_t n;
    int used = wharf_json_unescape_one(q, end, *o, &n);
    if (used >= 0)
        *o += n;
    return used;
}

/* Reads a string value in one pass; out may be NULL to skip it. Without
 * escapes the result is a slice of the line; with them it is decoded into
 * the arena as the scan goes (every escape decodes to no more bytes than it
 * takes, so the rest of the line bounds the buffer). */
static int js_string(jscan_t *s, wharf_str_t *out)
{
    if (s->p >= s->end || *s->p != '"')
        return WHARF_EPARSE;
    const char *body = s->p + 1, *p = body, *end = s->end;
    char *buf = NULL, *o = NULL;
    for (;;) {
        const char *q = p + wharf_scan_quote_bslash(p, (size_t)(end - p));
        if (q == end)
            return WHARF_EPARSE;
        if (buf != NULL) {
            memcpy(o, p, (size_t)(q - p));
            o += q - p;
        }
        if (*q == '"') {
            s->p = q + 1;
            if (out != NULL)
                *out = buf ? (wharf_str_t){buf, (size_t)(o - buf)}
                           : (wharf_str_t){body, (size_t)(q - body)};
            return 0;
        }
        if (end - q < 2)
            return WHARF_EPARSE;
        if (out == NULL) {
            p = q + 2; /* skipped strings are not decoded */
            continue;
        }
        if (buf == NULL) {
            if ((buf = wharf_arena_alloc(s->arena, (size_t)(end - body))) == NULL)
                return -ENOMEM;
            memcpy(buf, body, (size_t)(q - body));
            o = buf + (q - body);
        }
        int used = js_escape(q, end, &o);
        if (used < 0)
            return WHARF_EPARSE;
        p = q + used;
    }
}

static int js_literal(jscan_t *s, const char *word, size_t n)
{
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
        return WHARF_EPARSE;
    s->p += n;
    return 0;
}

static int js_number(jscan_t *s)
{
    const char *start = s->p;
    if (s->p < s->end && *s->p == '-')
        s->p++;
    int digits = 0;
    while (s->p < s->end && ((*s->p >= '0' && *s->p <= '9') || *s->p == '.' || *s->p == 'e' ||
                             *s->p == 'E' || *s->p == '+' || *s->p == '-')) {
        digits += *s->p >= '0' && *s->p <= '9';
        s->p++;
    }
    return digits > 0 && s->p > start ? 0 : WHARF_EPARSE;
}

static int js_skip_value(jscan_t *s, int depth);

/* `"key" :` of an object member; k may be NULL to skip the key. */
static int js_key(jscan_t *s, wharf_str_t *k)
{
    if (js_string(s, k) < 0)
        return WHARF_EPARSE;
    js_ws(s);
    if (s->p >= s->end || *s->p++ != ':')
        return WHARF_EPARSE;
    js_ws(s);
    return 0;
}

/* After a member or element: 1 when ',' says another follows, 0 when
 * `close` ends the container, WHARF_EPARSE otherwise. */
static int js_after_member(jscan_t *s, char close)
{
    js_ws(s);
    if (s->p >= s->end)
        return WHARF_EPARSE;
    char c = *s->p++;
    if (c == close)
        return 0;
    if (c != ',')
        return WHARF_EPARSE;
    js_ws(s);
    return 1;
}

/* Consumes `open` and whitespace; returns 1 when the container is empty. */
static int js_open(jscan_t *s, char close)
{
    s->p++;
    js_ws(s);
    if (s->p < s->end && *s->p == close) {
        s->p++;
        return 1;
    }
    return 0;
}

static int js_skip_container(jscan_t *s, int depth, char close)
{
    if (depth > DOCKER_MAX_NESTING)
        return WHARF_EPARSE;
    if (js_open(s, close))
        return 0;
    int more = 1;
    while (more == 1) {
        if ((close == '}' && js_key(s, NULL) < 0) || js_skip_value(s, depth + 1) < 0)
            return WHARF_EPARSE;
        more = js_after_member(s, close);
    }
    return more;
}

static int js_skip_value(jscan_t *s, int depth)
{
    if (s->p >= s->end)
        return WHARF_EPARSE;
    switch (*s->p) {
    case '"':
        return js_string(s, NULL);
    case '{':
        return js_skip_container(s, depth, '}');
    case '[':
        return js_skip_container(s, depth, ']');
    case 't':
        return js_literal(s, "true", 4);
    case 'f':
        return js_literal(s, "false", 5);
    case 'n':
        return js_literal(s, "null", 4);
    default:
        return js_number(s);
    }
}

/* "attrs": {"k": "v", ...}; values that are not strings are skipped. */
static int js_attrs(jscan_t *s, docker_line_t *l)
{
    if (s->p >= s->end || *s->p != '{')
        return js_skip_value(s, 1);
    if (js_open(s, '}'))
        return 0;
    int more = 1;
    while (more == 1) {
        wharf_str_t k, v;
        if (js_key(s, &k) < 0)
            return WHARF_EPARSE;
        int is_str = s->p < s->end && *s->p == '"';
        if ((is_str ? js_string(s, &v) : js_skip_value(s, 2)) < 0)
            return WHARF_EPARSE;
        if (is_str && l->n_attrs < DOCKER_MAX_ATTRS) {
            char *kc = wharf_arena_strndup(s->arena, k.ptr, k.len);
            char *vc = wharf_arena_strndup(s->arena, v.ptr, v.len);
            if (kc == NULL || vc == NULL)
                return -ENOMEM;
            l->attrs[l->n_attrs++] = (wharf_label_t){kc, vc};
        }
        more = js_after_member(s, '}');
    }
    return more;
}

static int key_is(wharf_str_t k, const char *word, size_t n)
{
    return k.len == n && memcmp(k.ptr, word, n) == 0;
}

static int js_member(jscan_t *s, docker_line_t *l)
{
    wharf_str_t k, v;
    if (js_key(s, &k) < 0)
        return WHARF_EPARSE;
    int is_str = s->p < s->end && *s->p == '"';
    if (key_is(k, "attrs", 5))
        return js_attrs(s, l);
    if (!is_str || !(key_is(k, "log", 3) || key_is(k, "stream", 6) || key_is(k, "time", 4))) {
        if (key_is(k, "log", 3))
            l->log = NULL; /* a non-string log makes the line invalid */
        return js_skip_value(s, 1);
    }
    int rc = js_string(s, &v);
    if (rc < 0)
        return rc;
    if (key_is(k, "log", 3)) {
        l->log = v.ptr;
        l->log_len = v.len;
    } else if (key_is(k, "stream", 6)) {
        l->stream = key_is(v, "stdout", 6)   ? WHARF_STREAM_STDOUT
                    : key_is(v, "stderr", 6) ? WHARF_STREAM_STDERR
                                             : WHARF_STREAM_NONE;
    } else if (wharf_time_parse(v.ptr, v.len, &l->ns) < 0) {
        l->ns = 0;
    }
    return 0;
}

static int js_object(jscan_t *s, docker_line_t *l)
{
    js_ws(s);
    if (s->p >= s->end || *s->p != '{')
        return WHARF_EPARSE;
    if (js_open(s, '}'))
        return 0;
    int more = 1;
    while (more == 1) {
        int rc = js_member(s, l);
        if (rc < 0)
            return rc;
        more = js_after_member(s, '}');
    }
    return more;
}

void docker_line_decoder_init(docker_line_decoder_t *dec)
{
    memset(dec, 0, sizeof(*dec));
    wharf_arena_init(&dec->arena, (size_t)16 * 1024);
}

void docker_line_decoder_free(docker_line_decoder_t *dec)
{
    wharf_arena_free(&dec->arena);
}

int docker_line_decode(docker_line_decoder_t *dec, const char *text, size_t len)
{
    docker_line_t *l = &dec->line;
    wharf_arena_reset(&dec->arena);
    l->log = NULL;
    l->log_len = 0;
    l->stream = WHARF_STREAM_NONE;
    l->ns = 0;
    l->n_attrs = 0;
    jscan_t s = {text, text + len, &dec->arena};
    int rc = js_object(&s, l);
    if (rc < 0)
        return rc == -ENOMEM ? rc : WHARF_EPARSE;
    js_ws(&s);
    return s.p == s.end && l->log != NULL ? 0 : WHARF_EPARSE;
}
