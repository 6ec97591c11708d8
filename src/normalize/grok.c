/* grok.c - grok expansion and the base pattern library (see wharf/grok.h).
 *
 * The library's regexes are written for PCRE2 without the UTF flag (log
 * text is matched as bytes, so invalid UTF-8 never makes a match fail), and
 * anchored with look-arounds rather than \b where a token may start or end
 * with punctuation. */
#include "wharf/grok.h"

#include "wharf/common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GROK_MAX_DEPTH 16

#define HEX4 "[0-9A-Fa-f]{1,4}"
#define IPV4_RE                                                                                    \
    "(?<![0-9.])(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}"                         \
    "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(?![0-9])"

typedef struct grok_base {
    const char *name;
    const char *regex;
} grok_base_t;

static const grok_base_t grok_base[] = {
    {"USERNAME", "[a-zA-Z0-9._-]+"},
    {"USER", "%{USERNAME}"},
    {"EMAILLOCALPART", "[a-zA-Z0-9!#$%&'*+/=?^_`{|}~-]+(?:\\.[a-zA-Z0-9!#$%&'*+/=?^_`{|}~-]+)*"},
    {"EMAILADDRESS", "%{EMAILLOCALPART}@%{HOSTNAME}"},
    {"INT", "[+-]?[0-9]+"},
    {"BASE10NUM", "(?<![0-9.+-])[+-]?(?:[0-9]+(?:\\.[0-9]*)?|\\.[0-9]+)"},
    {"NUMBER", "%{BASE10NUM}"},
    {"BASE16NUM", "(?<![0-9A-Fa-f])[+-]?(?:0x)?[0-9A-Fa-f]+"},
    {"POSINT", "\\b[1-9][0-9]*\\b"},
    {"NONNEGINT", "\\b[0-9]+\\b"},
    {"WORD", "\\b\\w+\\b"},
    {"NOTSPACE", "\\S+"},
    {"SPACE", "\\s*"},
    {"DATA", ".*?"},
    {"GREEDYDATA", ".*"},
    {"QUOTEDSTRING", "\"(?:[^\"\\\\]|\\\\.)*\"|'(?:[^'\\\\]|\\\\.)*'"},
    {"QS", "%{QUOTEDSTRING}"},
    {"UUID", "[A-Fa-f0-9]{8}-(?:[A-Fa-f0-9]{4}-){3}[A-Fa-f0-9]{12}"},
    {"MAC", "(?:[A-Fa-f0-9]{2}[:-]){5}[A-Fa-f0-9]{2}|(?:[A-Fa-f0-9]{4}\\.){2}[A-Fa-f0-9]{4}"},
    {"IPV4", IPV4_RE},
    /* Longest forms first: the first alternative that lets the whole
     * expression match wins. Zone ids (fe80::1%eth0) are allowed. */
    {"IPV6", "(?<![0-9A-Fa-f:])(?:"
             "(?:" HEX4 ":){7}" HEX4 "|(?:" HEX4 ":){6}" IPV4_RE "|(?:" HEX4 ":){1,6}:" HEX4
             "|(?:" HEX4 ":){1,5}(?::" HEX4 "){1,2}|(?:" HEX4 ":){1,4}(?::" HEX4 "){1,3}"
             "|(?:" HEX4 ":){1,4}:" IPV4_RE "|(?:" HEX4 ":){1,3}(?::" HEX4 "){1,4}"
             "|(?:" HEX4 ":){1,2}(?::" HEX4 "){1,5}|" HEX4 ":(?::" HEX4 "){1,6}"
             "|::(?:[fF]{4}(?::0{1,4})?:)?" IPV4_RE "|:(?::" HEX4 "){1,7}|(?:" HEX4 ":){1,7}:|::"
             ")(?:%[0-9A-Za-z]+)?(?![0-9A-Fa-f])"},
    {"IP", "%{IPV6}|%{IPV4}"},
    {"HOSTNAME", "\\b[0-9A-Za-z](?:[0-9A-Za-z_-]{0,62})(?:\\.[0-9A-Za-z](?:[0-9A-Za-z_-]{0,62}))*"
                 "\\.?(?![0-9A-Za-z_-])"},
    {"IPORHOST", "%{IP}|%{HOSTNAME}"},
    {"HOSTPORT", "%{IPORHOST}:%{POSINT}"},
    {"UNIXPATH", "/[^\\s?#]*"},
    {"PATH", "%{UNIXPATH}"},
    {"URIPROTO", "[A-Za-z][A-Za-z0-9+.-]+"},
    {"URIHOST", "%{IPORHOST}(?::%{POSINT})?"},
    {"URIPATH", "(?:/[A-Za-z0-9$.+!*'(){},~:;=@#%&_\\-]*)+"},
    {"URIPARAM", "\\?[A-Za-z0-9$.+!*'|(){},~@#%&/=:;_?\\-\\[\\]<>]*"},
    {"URIPATHPARAM", "%{URIPATH}(?:%{URIPARAM})?"},
    {"URI", "%{URIPROTO}://(?:%{USER}(?::[^@]*)?@)?(?:%{URIHOST})?(?:%{URIPATHPARAM})?"},
    {"MONTH", "\\b(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|Jun(?:e)?|Jul(?:y)?|"
              "Aug(?:ust)?|Sep(?:tember)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\\b"},
    {"MONTHNUM", "(?:0?[1-9]|1[0-2])"},
    {"MONTHDAY", "(?:0[1-9]|[12][0-9]|3[01]|[1-9])"},
    {"DAY", "(?:Mon(?:day)?|Tue(?:sday)?|Wed(?:nesday)?|Thu(?:rsday)?|Fri(?:day)?|"
            "Sat(?:urday)?|Sun(?:day)?)"},
    {"YEAR", "(?:[0-9]{4}|[0-9]{2})"},
    {"HOUR", "(?:2[0-3]|[01]?[0-9])"},
    {"MINUTE", "[0-5][0-9]"},
    {"SECOND", "(?:[0-5]?[0-9]|60)(?:[.,][0-9]+)?"},
    {"TIME", "(?<![0-9])%{HOUR}:%{MINUTE}(?::%{SECOND})(?![0-9])"},
    {"ISO8601_TIMEZONE", "(?:Z|[+-]%{HOUR}(?::?%{MINUTE}))"},
    {"TIMESTAMP_ISO8601", "%{YEAR}-%{MONTHNUM}-%{MONTHDAY}[T ]%{HOUR}:?%{MINUTE}(?::?%{SECOND})?"
                          "%{ISO8601_TIMEZONE}?"},
    {"HTTPDATE", "%{MONTHDAY}/%{MONTH}/[0-9]{4}:%{TIME} [+-][0-9]{4}"},
    {"SYSLOGTIMESTAMP", "%{MONTH} +%{MONTHDAY} %{TIME}"},
    {"SYSLOGHOST", "%{IPORHOST}"},
    {"PROG", "[\\x21-\\x5a\\x5c\\x5e-\\x7e]+"},
    {"SYSLOGPROG", "%{PROG:process.name}(?:\\[%{POSINT:process.pid:long}\\])?"},
    /* Apache's and nginx's common and combined access formats, into the ECS
     * fields of the shipped apache and nginx parsers (the client as
     * source.ip, or source.domain when it is a name). */
    {"HTTPDUSER", "%{EMAILADDRESS}|%{USER}"},
    {"COMMONAPACHELOG",
     "(?:%{IP:source.ip:ip}|%{HOSTNAME:source.domain}) (?:-|%{HTTPDUSER}) "
     "(?:-|%{HTTPDUSER:user.name}) \\[%{HTTPDATE:@timestamp:timestamp}\\] "
     "\"(?:%{WORD:http.request.method} %{NOTSPACE:url.original}(?: HTTP/%{NUMBER:http.version})?"
     "|[^\"]*)\" (?:-|%{INT:http.response.status_code:long}) "
     "(?:-|%{INT:http.response.body.bytes:long})"},
    {"COMBINEDAPACHELOG", "%{COMMONAPACHELOG} \"(?:-|%{DATA:http.request.referrer})\" "
                          "\"(?:-|%{DATA:user_agent.original})\""},
    {"LOGLEVEL", "(?:[Aa]lert|ALERT|[Tt]race|TRACE|[Dd]ebug|DEBUG|[Nn]otice|NOTICE|"
                 "[Ii]nfo(?:rmation)?|INFO(?:RMATION)?|[Ww]arn(?:ing)?|WARN(?:ING)?|"
                 "[Ee]rr(?:or)?|ERR(?:OR)?|[Cc]rit(?:ical)?|CRIT(?:ICAL)?|[Ff]atal|FATAL|"
                 "[Ss]evere|SEVERE|[Ee]merg(?:ency)?|EMERG(?:ENCY)?)"},
};

#define N_GROK_BASE (sizeof(grok_base) / sizeof(grok_base[0]))

const char *wharf_grok_base(const char *name, size_t len)
{
    for (size_t i = 0; i < N_GROK_BASE; i++)
        if (strlen(grok_base[i].name) == len && memcmp(grok_base[i].name, name, len) == 0)
            return grok_base[i].regex;
    return NULL;
}

const char *const *wharf_grok_base_names(void)
{
    static const char *names[N_GROK_BASE + 1];
    for (size_t i = 0; i < N_GROK_BASE; i++)
        names[i] = grok_base[i].name;
    names[N_GROK_BASE] = NULL;
    return names;
}

typedef struct grok_ctx {
    const wharf_grok_defs_t *defs;
    const char *expr; /* the expression expanded: src_start is relative to it */
    wharf_grok_t *out;
    char *err;
    size_t err_len;
} grok_ctx_t;

static const char *grok_lookup(const grok_ctx_t *c, const char *name, size_t len)
{
    for (size_t i = 0; c->defs != NULL && i < c->defs->n; i++)
        if (strlen(c->defs->names[i]) == len && memcmp(c->defs->names[i], name, len) == 0)
            return c->defs->regexes[i];
    return wharf_grok_base(name, len);
}

static int grok_fail(grok_ctx_t *c, const char *fmt, const char *a, size_t alen)
{
    snprintf(c->err, c->err_len, fmt, (int)alen, a);
    return WHARF_EPARSE;
}

static int grok_add_capture(grok_ctx_t *c, const char *field, size_t flen, const char *type,
                            size_t tlen)
{
    wharf_grok_t *g = c->out;
    wharf_grok_capture_t *v = realloc(g->caps, (g->n_caps + 1) * sizeof(*v));
    if (v == NULL)
        return -ENOMEM;
    g->caps = v;
    char *f = strndup(field, flen), *t = type != NULL ? strndup(type, tlen) : NULL;
    if (f == NULL || (type != NULL && t == NULL)) {
        free(f);
        free(t);
        return -ENOMEM;
    }
    v[g->n_caps].field = f;
    v[g->n_caps].type = t;
    g->n_caps++;
    return 0;
}

static int grok_expand_into(grok_ctx_t *c, const char *expr, int depth);

/* One %{NAME[:field[:type]]} reference; *pp points after "%{". */
static int grok_reference(grok_ctx_t *c, const char **pp, int depth)
{
    const char *p = *pp, *end = strchr(p, '}');
    if (end == NULL)
        return grok_fail(c, "unterminated %%{ in \"%.*s\"", p - 2, strlen(p - 2));
    const char *name = p, *colon = memchr(p, ':', (size_t)(end - p));
    size_t name_len = (size_t)((colon ? colon : end) - name);
    for (size_t i = 0; i < name_len; i++)
        if (!((name[i] >= 'A' && name[i] <= 'Z') || (name[i] >= '0' && name[i] <= '9') ||
              name[i] == '_' || (name[i] >= 'a' && name[i] <= 'z')))
            return grok_fail(c, "malformed grok reference %%{%.*s}", name, (size_t)(end - name));
    if (name_len == 0)
        return grok_fail(c, "empty grok reference %%{%.*s}", name, (size_t)(end - name));
    const char *regex = grok_lookup(c, name, name_len);
    if (regex == NULL)
        return grok_fail(c,
                         "unknown grok pattern %%{%.*s} (see the README for the base library, "
                         "or define it under patterns:)",
                         name, name_len);
    wharf_grok_ref_t *refs = realloc(c->out->refs, (c->out->n_refs + 1) * sizeof(*refs));
    if (refs == NULL)
        return -ENOMEM;
    c->out->refs = refs;
    size_t ri = c->out->n_refs++;
    refs[ri] = (wharf_grok_ref_t){name,
                                  name_len,
                                  c->out->regex.len,
                                  0,
                                  depth,
                                  depth == 0 ? (size_t)(p - 2 - c->expr) : 0,
                                  depth == 0 ? (size_t)(end + 1 - (p - 2)) : 0};
    if (colon != NULL) {
        const char *field = colon + 1, *colon2 = memchr(field, ':', (size_t)(end - field));
        size_t flen = (size_t)((colon2 ? colon2 : end) - field);
        if (flen == 0)
            return grok_fail(c, "empty field name in %%{%.*s}", name, (size_t)(end - name));
        int rc = grok_add_capture(c, field, flen, colon2 ? colon2 + 1 : NULL,
                                  colon2 ? (size_t)(end - colon2 - 1) : 0);
        if (rc < 0)
            return rc;
        char group[32];
        snprintf(group, sizeof(group), "(?<g%zu>", c->out->n_caps);
        wharf_buf_puts(&c->out->regex, group);
    } else {
        wharf_buf_lit(&c->out->regex, "(?:");
    }
    int rc = grok_expand_into(c, regex, depth + 1);
    wharf_buf_putc(&c->out->regex, ')');
    c->out->refs[ri].end = c->out->regex.len;
    *pp = end + 1;
    return rc;
}

static int grok_expand_into(grok_ctx_t *c, const char *expr, int depth)
{
    if (depth > GROK_MAX_DEPTH)
        return grok_fail(c,
                         "grok patterns nested more than 16 deep (a pattern that refers to "
                         "itself?) in \"%.*s\"",
                         expr, strlen(expr) > 80 ? 80 : strlen(expr));
    const char *p = expr;
    while (*p) {
        const char *ref = strstr(p, "%{");
        if (ref == NULL) {
            wharf_buf_puts(&c->out->regex, p);
            break;
        }
        wharf_buf_append(&c->out->regex, p, (size_t)(ref - p));
        p = ref + 2;
        int rc = grok_reference(c, &p, depth);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int wharf_grok_expand(const char *expr, const wharf_grok_defs_t *defs, wharf_grok_t *out, char *err,
                      size_t err_len)
{
    memset(out, 0, sizeof(*out));
    wharf_buf_init(&out->regex);
    grok_ctx_t c = {defs, expr, out, err, err_len};
    int rc = grok_expand_into(&c, expr, 0);
    wharf_buf_putc(&out->regex, '\0');
    out->regex.len--;
    if (rc < 0)
        wharf_grok_free(out);
    return rc;
}

void wharf_grok_free(wharf_grok_t *g)
{
    for (size_t i = 0; i < g->n_caps; i++) {
        free(g->caps[i].field);
        free(g->caps[i].type);
    }
    free(g->caps);
    free(g->refs);
    wharf_buf_free(&g->regex);
    memset(g, 0, sizeof(*g));
}

int wharf_grok_where(const wharf_grok_t *g, size_t off, size_t *expr_off,
                     const wharf_grok_ref_t **ref)
{
    const wharf_grok_ref_t *in = NULL;
    size_t shift = 0; /* expansion bytes past what the references before off took in expr */
    for (size_t i = 0; i < g->n_refs; i++) {
        const wharf_grok_ref_t *r = &g->refs[i];
        if (r->start <= off && off < r->end)
            in = r; /* refs are in order of start: the last that holds off is the innermost */
        else if (r->depth == 0 && r->end <= off)
            shift += (r->end - r->start) - r->src_len;
    }
    if (in != NULL) {
        *ref = in;
        return -1;
    }
    *expr_off = off - shift;
    return 0;
}
