/* syslog.c - the `syslog` output: events to a syslog receiver (rsyslog,
 * syslog-ng, a SIEM) over UDP, TCP or TLS, as RFC 5424 or RFC 3164.
 *
 * Many SIEMs only take syslog, so each ECS event becomes one syslog message
 * whose MSG is the whole event (payload: json) or its `message` text, with
 * the container's identity in the header and in STRUCTURED-DATA.
 *
 * The socket is non-blocking so that a stalled receiver never blocks the
 * event loop: write() formats lines into pending and sends what the socket
 * takes. Syslog has no acknowledgements of its own, but TCP has: a frame is
 * confirmed to the delivery layer (async ops, wharf/output.h) once the
 * receiver's TCP acknowledged all of it (SIOCOUTQ), and stays in pending
 * until then. A frame in our socket's send queue is not delivered: when the
 * connection breaks, or wharf exits while the receiver does not read, the
 * kernel drops it, so it is sent again after the reconnect (or from the disk
 * buffer at the next start). What the receiver's kernel acknowledged but the
 * receiver never read is lost: the limit of plain syslog. Before each send
 * the socket is checked for the peer's FIN, so a receiver that closed
 * (rsyslog restarted) is noticed before more is written into the dead
 * connection. */
#include "wharf/alloc.h"
#include "wharf/buf.h"
#include "wharf/common.h"
#include "wharf/json_find.h"
#include "wharf/log.h"
#include "wharf/output.h"
#include "wharf/template.h"
#include "wharf/timefmt.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/sockios.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SYSLOG_PENDING_MAX    ((size_t)256 * 1024) /* formatted frames waiting for the socket */
#define SYSLOG_TLS_RECORD_MAX (16384 + 256)        /* a TLS record, plaintext and overhead */
#define SYSLOG_ACK_WAIT_MS    10    /* flush: between looks at what was acknowledged */
#define SYSLOG_RESUME_MS      1000  /* poll: between reconnects while no write comes */
#define SYSLOG_STALL_LOG_MS   10000 /* nothing acknowledged for this long: logged */
#define SYSLOG_SETTLE_MS      250   /* TLS 1.3: wait for a refusal of our certificate */
#define SYSLOG_CONNECT_MS     10000 /* connect + TLS handshake */
#define SYSLOG_CUT_LOG_EVERY  10000
#define SYSLOG_BOM            "\xEF\xBB\xBF"

enum { SL_UDP, SL_TCP, SL_TLS };
enum { SL_RFC5424, SL_RFC3164 };
enum { SL_OCTET, SL_NEWLINE };
enum { SL_JSON, SL_MESSAGE };
enum { SL_DOWN, SL_CONNECTING, SL_HANDSHAKE, SL_SETTLING, SL_UP };

/* ---- configuration ------------------------------------------------------------ */

typedef struct syslog_tls_opts {
    char *ca_file;
    char *cert_file;
    char *key_file;
    int verify; /* -1: not given (on) */
} syslog_tls_opts_t;

typedef struct syslog_opts {
    char *address;
    int format;
    int framing; /* -1: not given (octet-counting) */
    int payload;
    char *app_name;
    char *sd_id;
    int utf8_bom;
    uint64_t max_message_size;
    uint64_t udp_max_size;
    syslog_tls_opts_t tls;
} syslog_opts_t;

static const char *const syslog_formats[] = {"rfc5424", "rfc3164", NULL};
static const char *const syslog_framings[] = {"octet-counting", "newline", NULL};
static const char *const syslog_payloads[] = {"json", "message", NULL};

static const wharf_conf_key_t syslog_tls_keys[] = {
    {.name = "ca_file", .kind = WHARF_CK_STR, .offset = offsetof(syslog_tls_opts_t, ca_file)},
    {.name = "cert_file", .kind = WHARF_CK_STR, .offset = offsetof(syslog_tls_opts_t, cert_file)},
    {.name = "key_file", .kind = WHARF_CK_STR, .offset = offsetof(syslog_tls_opts_t, key_file)},
    {.name = "verify", .kind = WHARF_CK_BOOL, .offset = offsetof(syslog_tls_opts_t, verify)},
    {.name = NULL},
};

static void syslog_tls_init(void *p)
{
    ((syslog_tls_opts_t *)p)->verify = -1;
}

static const wharf_conf_key_t syslog_keys[] = {
    {.name = "address",
     .kind = WHARF_CK_STR,
     .offset = offsetof(syslog_opts_t, address),
     .required = 1},
    {.name = "format",
     .kind = WHARF_CK_ENUM,
     .offset = offsetof(syslog_opts_t, format),
     .choices = syslog_formats},
    {.name = "framing",
     .kind = WHARF_CK_ENUM,
     .offset = offsetof(syslog_opts_t, framing),
     .choices = syslog_framings},
    {.name = "payload",
     .kind = WHARF_CK_ENUM,
     .offset = offsetof(syslog_opts_t, payload),
     .choices = syslog_payloads},
    {.name = "app_name", .kind = WHARF_CK_STR, .offset = offsetof(syslog_opts_t, app_name)},
    {.name = "sd_id", .kind = WHARF_CK_STR, .offset = offsetof(syslog_opts_t, sd_id)},
    {.name = "utf8_bom", .kind = WHARF_CK_BOOL, .offset = offsetof(syslog_opts_t, utf8_bom)},
    {.name = "max_message_size",
     .kind = WHARF_CK_SIZE,
     .offset = offsetof(syslog_opts_t, max_message_size),
     .min = 480,
     .max = 16 << 20},
    {.name = "udp_max_size",
     .kind = WHARF_CK_SIZE,
     .offset = offsetof(syslog_opts_t, udp_max_size),
     .min = 480,
     .max = 65507},
    {.name = "tls",
     .kind = WHARF_CK_OBJECT,
     .offset = offsetof(syslog_opts_t, tls),
     .sub = syslog_tls_keys,
     .sub_init = syslog_tls_init},
    {.name = NULL},
};

static void syslog_opts_init(void *p)
{
    syslog_opts_t *o = p;
    o->framing = -1;
    o->app_name = wharf_xstrdup("${container.name:-${process.name:-wharf}}");
    o->sd_id = wharf_xstrdup("wharf@32473");
    o->max_message_size = (uint64_t)64 * 1024;
    o->udp_max_size = 2048;
}

/* `udp://host:port`, `tcp://[::1]:514`, `tls://name` (default port). */
typedef struct syslog_addr {
    int transport;
    char host[256];
    char port[8];
} syslog_addr_t;

static int syslog_addr_port(const char *p, syslog_addr_t *a, const char **why)
{
    char *end;
    errno = 0;
    long port = strtol(p, &end, 10);
    if (*p == '\0' || *end != '\0' || errno != 0 || port < 1 || port > 65535) {
        *why = "the port must be a number from 1 to 65535";
        return -EINVAL;
    }
    snprintf(a->port, sizeof(a->port), "%ld", port);
    return 0;
}

static int syslog_addr_parse(const char *s, syslog_addr_t *a, const char **why)
{
    static const char *const schemes[] = {"udp://", "tcp://", "tls://"};
    const char *rest = NULL;
    for (int i = 0; i < 3 && rest == NULL; i++)
        if (strncmp(s, schemes[i], 6) == 0) {
            a->transport = i;
            rest = s + 6;
        }
    if (rest == NULL) {
        *why = "the scheme must be udp://, tcp:// or tls://";
        return -EINVAL;
    }
    snprintf(a->port, sizeof(a->port), "%s", a->transport == SL_TLS ? "6514" : "514");
    const char *colon, *host_end;
    if (*rest == '[') {
        host_end = strchr(rest, ']');
        if (host_end == NULL || (host_end[1] != '\0' && host_end[1] != ':')) {
            *why = "an IPv6 address must be written [addr]:port";
            return -EINVAL;
        }
        colon = host_end[1] == ':' ? host_end + 1 : NULL;
        rest++;
    } else {
        colon = strrchr(rest, ':');
        host_end = colon != NULL ? colon : rest + strlen(rest);
    }
    size_t n = (size_t)(host_end - rest);
    if (n == 0 || n >= sizeof(a->host) || memchr(rest, '/', n) != NULL) {
        *why = "the host is missing or invalid";
        return -EINVAL;
    }
    memcpy(a->host, rest, n);
    a->host[n] = '\0';
    return colon != NULL ? syslog_addr_port(colon + 1, a, why) : 0;
}

/* SD-NAME (RFC 5424 6.3.2): 1..32 printable ASCII but '=', ' ', ']', '"'. */
static int syslog_sd_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 32)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 33 || s[i] > 126 || strchr("= ]\"", s[i]) != NULL)
            return 0;
    return 1;
}

static void syslog_report(const wharf_conf_section_t *sec, wharf_conf_report_fn report, void *ctx,
                          const char *what)
{
    char msg[512];
    snprintf(msg, sizeof(msg), "output '%s': %s", sec->id, what);
    report(ctx, sec->line, msg);
}

static void syslog_check_tls(const wharf_conf_section_t *sec, const syslog_addr_t *a,
                             wharf_conf_report_fn report, void *ctx)
{
    const syslog_tls_opts_t *t = &((const syslog_opts_t *)sec->opts)->tls;
    int given = t->ca_file || t->cert_file || t->key_file || t->verify != -1;
    if (given && a->transport != SL_TLS)
        syslog_report(sec, report, ctx, "tls: is set but the address is not tls://");
    if (t->cert_file != NULL && t->key_file == NULL)
        syslog_report(sec, report, ctx, "tls: cert_file needs key_file");
    if (t->key_file != NULL && t->cert_file == NULL)
        syslog_report(sec, report, ctx, "tls: key_file needs cert_file");
}

/* `wharf check`: the address, framing and tls against the transport, the
 * app_name template and the SD-ID. */
static void syslog_check(const wharf_conf_section_t *sec, wharf_conf_report_fn report, void *ctx)
{
    const syslog_opts_t *o = sec->opts;
    char err[160], msg[320];
    if (o->address != NULL) {
        syslog_addr_t a;
        const char *why = NULL;
        if (syslog_addr_parse(o->address, &a, &why) < 0) {
            snprintf(msg, sizeof(msg), "address '%s': %s", o->address, why);
            syslog_report(sec, report, ctx, msg);
        } else {
            if (a.transport == SL_UDP && o->framing != -1)
                syslog_report(sec, report, ctx, "framing: applies to tcp:// and tls:// only");
            syslog_check_tls(sec, &a, report, ctx);
        }
    }
    wharf_template_t *t = NULL;
    if (o->app_name != NULL && wharf_template_compile(o->app_name, &t, err, sizeof(err)) < 0) {
        snprintf(msg, sizeof(msg), "app_name: %s", err);
        syslog_report(sec, report, ctx, msg);
    }
    wharf_template_free(t);
    if (o->sd_id != NULL && !syslog_sd_name_ok(o->sd_id))
        syslog_report(sec, report, ctx,
                      "sd_id: must be 1 to 32 printable ASCII characters without '=', ' ', "
                      "']' or '\"' (e.g. \"wharf@32473\")");
}

/* ---- the output ------------------------------------------------------------------ */

typedef struct syslog_output {
    wharf_output_t base;
    const syslog_opts_t *o;
    syslog_addr_t addr;
    int framing;
    wharf_template_t *app_name;
    int fd;
    int state;
    int failed;         /* a connection failed since the last success */
    int last_err;       /* that failure's error */
    unsigned tries;     /* connection attempts: picks among resolved addresses */
    int64_t connect_ns; /* when the current attempt started */
    SSL_CTX *ssl_ctx;
    SSL *ssl;
    int verify_logged;
    /* TCP/TLS: the frames taken that the receiver has not acknowledged, in
     * order: pending.data[head, sent) is in the current connection's socket,
     * [sent, len) waits for room; `frames` has a syslog_frame_size_t for
     * each, from frames_head on */
    wharf_buf_t pending, frames;
    size_t head, sent, frames_head;
    uint64_t confirmed;  /* input bytes acknowledged (UDP: sent) */
    int64_t progress_ns; /* the last acknowledgement, or when frames began to wait */
    int64_t resume_ns;   /* poll: no reconnect before this */
    int stall_logged;
    wharf_buf_t msg, field; /* scratch */
    uint64_t cut;
    uint64_t refused; /* UDP: ICMP port unreachable reports */
} syslog_output_t;

/* A frame's bytes in pending, and the bytes of the input line it came from. */
typedef struct syslog_frame_size {
    uint32_t frame, line;
} syslog_frame_size_t;

/* ---- formatting ------------------------------------------------------------------ */

/* The field at path, found: 1 (value set), absent: 0. */
static int syslog_find(const char *line, size_t len, const char *path, wharf_json_value_t *v)
{
    return wharf_json_find(line, len, path, strlen(path), v) == 1;
}

/* A string or number field's text (unescaped) into s->field; 0 when absent
 * or empty. */
static int syslog_text(syslog_output_t *s, const char *line, size_t len, const char *path)
{
    wharf_json_value_t v;
    s->field.len = 0;
    if (len == 0 || !syslog_find(line, len, path, &v))
        return 0;
    if (v.type == WHARF_JSON_STRING) {
        if (wharf_json_string_unescape(v.raw, &s->field) < 0)
            return 0;
    } else if (v.type == WHARF_JSON_NUMBER) {
        wharf_buf_append(&s->field, v.raw.ptr, v.raw.len);
    } else {
        return 0;
    }
    return s->field.len > 0;
}

static int syslog_int(syslog_output_t *s, const char *line, size_t len, const char *path, int lo,
                      int hi)
{
    if (!syslog_text(s, line, len, path) || s->field.len > 9)
        return -1;
    char tmp[16], *end;
    memcpy(tmp, s->field.data, s->field.len);
    tmp[s->field.len] = '\0';
    long v = strtol(tmp, &end, 10);
    return *end == '\0' && v >= lo && v <= hi ? (int)v : -1;
}

static int syslog_level_severity(const char *l, size_t n)
{
    static const struct {
        const char *name;
        int sev;
    } map[] = {
        {"emergency", 0},     {"emerg", 0},   {"panic", 0}, {"alert", 1},
        {"critical", 2},      {"crit", 2},    {"fatal", 2}, {"error", 3},
        {"err", 3},           {"warning", 4}, {"warn", 4},  {"notice", 5},
        {"informational", 6}, {"info", 6},    {"debug", 7}, {"trace", 7},
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strlen(map[i].name) == n && strncasecmp(map[i].name, l, n) == 0)
            return map[i].sev;
    return -1;
}

/* The text of the top-level object `name` ({0} when absent): looking up
 * several fields inside it scans the event once, not once per field. */
static wharf_str_t syslog_object(const char *line, size_t len, const char *name)
{
    wharf_json_value_t v;
    if (!syslog_find(line, len, name, &v) || v.type != WHARF_JSON_OBJECT)
        return (wharf_str_t){NULL, 0};
    return v.raw;
}

static int syslog_pri(syslog_output_t *s, const char *line, size_t len)
{
    wharf_str_t log = syslog_object(line, len, "log");
    int fac = syslog_int(s, log.ptr, log.len, "syslog.facility.code", 0, 23);
    int sev = syslog_int(s, log.ptr, log.len, "syslog.severity.code", 0, 7);
    if (sev < 0 && syslog_text(s, log.ptr, log.len, "level"))
        sev = syslog_level_severity(s->field.data, s->field.len);
    if (sev < 0 && syslog_text(s, line, len, "stream"))
        sev = s->field.len == 6 && memcmp(s->field.data, "stderr", 6) == 0 ? 4 : 6;
    return (fac < 0 ? 1 : fac) * 8 + (sev < 0 ? 6 : sev);
}

/* A header field: printable US-ASCII (others become '_'), at most max
 * bytes, "-" when empty. */
static void syslog_put_header(wharf_buf_t *out, const char *p, size_t n, size_t max)
{
    if (n == 0) {
        wharf_buf_putc(out, '-');
        return;
    }
    n = n < max ? n : max;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        wharf_buf_putc(out, c >= 33 && c <= 126 ? (char)c : '_');
    }
}

static void syslog_put_field(syslog_output_t *s, const char *line, size_t len, const char *path,
                             size_t max)
{
    syslog_text(s, line, len, path);
    syslog_put_header(&s->msg, s->field.data, s->field.len, max);
}

/* @timestamp with at most 6 fraction digits (RFC 5424 TIME-SECFRAC). */
static void syslog_put_time5424(syslog_output_t *s, const char *line, size_t len)
{
    if (!syslog_text(s, line, len, "@timestamp")) {
        wharf_buf_putc(&s->msg, '-');
        return;
    }
    const char *p = s->field.data, *end = p + s->field.len;
    const char *dot = memchr(p, '.', s->field.len);
    if (dot == NULL) {
        syslog_put_header(&s->msg, p, s->field.len, 64);
        return;
    }
    const char *digits_end = dot + 1;
    while (digits_end < end && *digits_end >= '0' && *digits_end <= '9')
        digits_end++;
    size_t frac = (size_t)(digits_end - dot - 1);
    syslog_put_header(&s->msg, p, (size_t)(dot - p) + 1 + (frac > 6 ? 6 : frac), 64);
    syslog_put_header(&s->msg, digits_end, (size_t)(end - digits_end), 16);
}

static void syslog_put_time3164(syslog_output_t *s, const char *line, size_t len)
{
    int64_t ns = 0;
    if (!syslog_text(s, line, len, "@timestamp") ||
        wharf_time_parse(s->field.data, s->field.len, &ns) < 0)
        ns = wharf_time_now();
    time_t secs = (time_t)(ns / 1000000000);
    struct tm tm;
    char text[32];
    gmtime_r(&secs, &tm);
    size_t n = strftime(text, sizeof(text), "%b %e %H:%M:%S", &tm);
    wharf_buf_append(&s->msg, text, n);
}

static void syslog_put_app_name(syslog_output_t *s, const char *line, size_t len, int tag)
{
    s->field.len = 0;
    wharf_template_render(s->app_name, line, len, &s->field);
    if (!tag) {
        syslog_put_header(&s->msg, s->field.data, s->field.len, 48);
        return;
    }
    size_t n = 0;
    for (size_t i = 0; i < s->field.len && n < 32; i++) {
        char c = s->field.data[i];
        if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
            wharf_buf_putc(&s->msg, c);
            n++;
        }
    }
    if (n == 0)
        wharf_buf_lit(&s->msg, "wharf");
}

/* PARAM-VALUE: '"', '\' and ']' escaped with a backslash. */
static void syslog_put_param_value(wharf_buf_t *out, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '"' || p[i] == '\\' || p[i] == ']')
            wharf_buf_putc(out, '\\');
        wharf_buf_putc(out, p[i]);
    }
}

static void syslog_put_param(syslog_output_t *s, size_t start, const char *name)
{
    if (s->msg.len == start) {
        wharf_buf_putc(&s->msg, '[');
        wharf_buf_puts(&s->msg, s->o->sd_id);
    }
    wharf_buf_putc(&s->msg, ' ');
    wharf_buf_puts(&s->msg, name);
    wharf_buf_lit(&s->msg, "=\"");
    syslog_put_param_value(&s->msg, s->field.data, s->field.len);
    wharf_buf_putc(&s->msg, '"');
}

/* [SD-ID container.id="..." ...] with the ECS fields the event has. */
static void syslog_put_sd(syslog_output_t *s, const char *line, size_t len)
{
    static const struct {
        int scope; /* 0: container, 1: orchestrator */
        const char *path, *name;
    } params[] = {
        {0, "id", "container.id"},
        {0, "name", "container.name"},
        {0, "image.name", "container.image.name"},
        {1, "namespace", "orchestrator.namespace"},
        {1, "resource.name", "orchestrator.resource.name"},
    };
    wharf_str_t scopes[2] = {syslog_object(line, len, "container"),
                             syslog_object(line, len, "orchestrator")};
    size_t start = s->msg.len;
    for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
        const wharf_str_t *in = &scopes[params[i].scope];
        if (syslog_text(s, in->ptr, in->len, params[i].path))
            syslog_put_param(s, start, params[i].name);
    }
    if (s->msg.len == start)
        wharf_buf_putc(&s->msg, '-');
    else
        wharf_buf_putc(&s->msg, ']');
}

static void syslog_put_header5424(syslog_output_t *s, const char *line, size_t len)
{
    wharf_buf_lit(&s->msg, "1 ");
    syslog_put_time5424(s, line, len);
    wharf_buf_putc(&s->msg, ' ');
    syslog_put_field(s, line, len, "host.name", 255);
    wharf_buf_putc(&s->msg, ' ');
    syslog_put_app_name(s, line, len, 0);
    wharf_buf_putc(&s->msg, ' ');
    syslog_put_field(s, line, len, "process.pid", 128);
    wharf_buf_lit(&s->msg, " - ");
    syslog_put_sd(s, line, len);
    wharf_buf_putc(&s->msg, ' ');
}

static void syslog_put_header3164(syslog_output_t *s, const char *line, size_t len)
{
    syslog_put_time3164(s, line, len);
    wharf_buf_putc(&s->msg, ' ');
    syslog_put_field(s, line, len, "host.name", 255);
    wharf_buf_putc(&s->msg, ' ');
    syslog_put_app_name(s, line, len, 1);
    if (syslog_text(s, line, len, "process.pid")) {
        wharf_buf_putc(&s->msg, '[');
        syslog_put_header(&s->msg, s->field.data, s->field.len, 20);
        wharf_buf_putc(&s->msg, ']');
    }
    wharf_buf_lit(&s->msg, ": ");
}

static void syslog_put_msg(syslog_output_t *s, const char *line, size_t len)
{
    if (s->o->utf8_bom && s->o->format == SL_RFC5424)
        wharf_buf_lit(&s->msg, SYSLOG_BOM);
    if (s->o->payload == SL_JSON) {
        wharf_buf_append(&s->msg, line, len);
        return;
    }
    syslog_text(s, line, len, "message");
    wharf_buf_append(&s->msg, s->field.data, s->field.len);
}

static void syslog_count_cut(syslog_output_t *s, size_t limit, size_t had)
{
    s->cut++;
    if (s->cut == 1 || s->cut % SYSLOG_CUT_LOG_EVERY == 0)
        wharf_log_warn("syslog: message longer than the size limit; cut",
                       "output=%s limit=%zu size=%zu cut_total=%llu", s->base.id, limit, had,
                       (unsigned long long)s->cut);
}

/* Cuts s->msg to at most limit bytes, not inside a UTF-8 sequence of the
 * MSG (which starts at msg_start). */
static void syslog_cut(syslog_output_t *s, size_t msg_start, size_t limit)
{
    if (s->msg.len <= limit)
        return;
    syslog_count_cut(s, limit, s->msg.len);
    size_t n = limit;
    while (n > msg_start && ((unsigned char)s->msg.data[n] & 0xC0) == 0x80)
        n--;
    s->msg.len = n;
}

/* One event as a syslog message (no framing) in s->msg. */
static void syslog_format(syslog_output_t *s, const char *line, size_t len, size_t limit)
{
    s->msg.len = 0;
    char pri[8];
    int n = snprintf(pri, sizeof(pri), "<%d>", syslog_pri(s, line, len));
    wharf_buf_append(&s->msg, pri, (size_t)n);
    if (s->o->format == SL_RFC5424)
        syslog_put_header5424(s, line, len);
    else
        syslog_put_header3164(s, line, len);
    size_t msg_start = s->msg.len;
    syslog_put_msg(s, line, len);
    syslog_cut(s, msg_start, limit);
    if (s->framing == SL_NEWLINE) /* the receiver splits on them */
        for (size_t i = 0; i < s->msg.len; i++)
            if (s->msg.data[i] == '\n' || s->msg.data[i] == '\r')
                s->msg.data[i] = ' ';
}

/* The framed message appended to pending, for line_bytes of input. */
static void syslog_frame(syslog_output_t *s, size_t line_bytes)
{
    size_t start = s->pending.len;
    if (s->frames_head == s->frames.len)
        s->progress_ns = wharf_time_now(); /* the stall clock starts */
    if (s->framing == SL_OCTET) {
        char head[24];
        int n = snprintf(head, sizeof(head), "%zu ", s->msg.len);
        wharf_buf_append(&s->pending, head, (size_t)n);
    }
    wharf_buf_append(&s->pending, s->msg.data, s->msg.len);
    if (s->framing == SL_NEWLINE)
        wharf_buf_putc(&s->pending, '\n');
    syslog_frame_size_t f = {(uint32_t)(s->pending.len - start), (uint32_t)line_bytes};
    wharf_buf_append(&s->frames, &f, sizeof(f));
}

/* ---- acknowledgements ------------------------------------------------------------ */

/* Bytes of [head, sent) the receiver's TCP acknowledged. The kernel counts
 * TLS records, not our bytes: with TLS, the record that is partly
 * acknowledged (at most SYSLOG_TLS_RECORD_MAX) counts as not. */
static size_t syslog_acked(const syslog_output_t *s)
{
    int outq = 0;
    if (s->sent == s->head || s->state != SL_UP || ioctl(s->fd, SIOCOUTQ, &outq) < 0)
        return 0;
    size_t unacked = (size_t)outq;
    if (s->ssl != NULL && unacked > 0)
        unacked += SYSLOG_TLS_RECORD_MAX;
    size_t out = s->sent - s->head;
    return out > unacked ? out - unacked : 0;
}

/* Moves pending's start to where head is, once that is half of it: each
 * byte is moved at most once on average. */
static void syslog_pending_compact(syslog_output_t *s)
{
    if (s->head == 0 || s->head < s->pending.len / 2)
        return;
    memmove(s->pending.data, s->pending.data + s->head, s->pending.len - s->head);
    s->pending.len -= s->head;
    s->sent -= s->head;
    s->head = 0;
    memmove(s->frames.data, s->frames.data + s->frames_head, s->frames.len - s->frames_head);
    s->frames.len -= s->frames_head;
    s->frames_head = 0;
}

/* The frames the receiver acknowledged whole leave pending; their lines are
 * confirmed. */
static void syslog_pending_ack(syslog_output_t *s)
{
    size_t acked = syslog_acked(s);
    int moved = 0;
    while (s->frames_head < s->frames.len) {
        syslog_frame_size_t f;
        memcpy(&f, s->frames.data + s->frames_head, sizeof(f));
        if (f.frame > acked)
            break;
        acked -= f.frame;
        s->head += f.frame;
        s->confirmed += f.line;
        s->frames_head += sizeof(f);
        moved = 1;
    }
    if (!moved)
        return;
    s->progress_ns = wharf_time_now();
    if (s->stall_logged)
        wharf_log_info("syslog: the receiver reads again", "output=%s address=%s", s->base.id,
                       s->o->address);
    s->stall_logged = 0;
    syslog_pending_compact(s);
}

/* ---- connection ------------------------------------------------------------------ */

static void syslog_close(syslog_output_t *s, int graceful)
{
    if (s->ssl != NULL) {
        if (graceful && s->state == SL_UP)
            SSL_shutdown(s->ssl); /* close_notify, not waiting for the peer's */
        ERR_clear_error();
        SSL_free(s->ssl);
        s->ssl = NULL;
    }
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    s->state = SL_DOWN;
}

/* The connection failed: close it; pending is sent again from its first
 * frame's start after the reconnect. */
static int syslog_fail(syslog_output_t *s, int err)
{
    syslog_pending_ack(s); /* still counted after a reset: not sent twice */
    syslog_close(s, 0);
    s->sent = s->head;
    s->resume_ns = wharf_time_now() + (int64_t)SYSLOG_RESUME_MS * 1000000;
    s->failed = 1;
    s->last_err = err;
    return err;
}

static int syslog_socket(syslog_output_t *s, const struct addrinfo *ai)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (ai->ai_socktype == SOCK_STREAM) {
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
    }
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS) {
        int err = -errno;
        close(fd);
        return err;
    }
    s->fd = fd;
    return 0;
}

/* Tries the addresses in turn, from the one after the last attempt's, until
 * a connect starts (a refusal on loopback is immediate: next address). */
static int syslog_connect_any(syslog_output_t *s, const struct addrinfo *res)
{
    unsigned n = 0;
    for (const struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next)
        n++;
    int rc = -EHOSTUNREACH;
    for (unsigned k = 0; k < n && rc < 0; k++) {
        const struct addrinfo *ai = res;
        for (unsigned i = s->tries++ % n; i > 0; i--)
            ai = ai->ai_next;
        rc = syslog_socket(s, ai);
    }
    return rc;
}

/* Starts a non-blocking connect (name resolution itself blocks). */
static int syslog_connect_start(syslog_output_t *s)
{
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_socktype = s->addr.transport == SL_UDP ? SOCK_DGRAM : SOCK_STREAM;
    int rc = getaddrinfo(s->addr.host, s->addr.port, &hints, &res);
    if (rc != 0) {
        if (!s->failed)
            wharf_log_error("syslog: cannot resolve the receiver's address",
                            "output=%s host=%s "
                            "error=\"%s\"",
                            s->base.id, s->addr.host, gai_strerror(rc));
        return rc == EAI_SYSTEM ? -errno : -EHOSTUNREACH;
    }
    rc = syslog_connect_any(s, res);
    freeaddrinfo(res);
    if (rc < 0)
        return rc;
    s->state = s->addr.transport == SL_UDP ? SL_UP : SL_CONNECTING;
    s->connect_ns = wharf_time_now();
    return 0;
}

/* 1 when the connect finished, 0 while in progress, or a negative error. */
static int syslog_connect_check(syslog_output_t *s)
{
    struct pollfd p = {s->fd, POLLOUT, 0};
    if (poll(&p, 1, 0) < 0)
        return errno == EINTR ? 0 : -errno;
    if (p.revents == 0)
        return 0;
    int err = 0;
    socklen_t n = sizeof(err);
    if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &n) < 0)
        return -errno;
    return err != 0 ? -err : 1;
}

/* ---- TLS ------------------------------------------------------------------------- */

static void syslog_tls_log(syslog_output_t *s, const char *what)
{
    char err[256] = "unknown";
    unsigned long e = ERR_get_error();
    if (e != 0)
        ERR_error_string_n(e, err, sizeof(err));
    ERR_clear_error();
    wharf_log_error(what, "output=%s error=\"%s\"", s->base.id, err);
}

static int syslog_tls_ctx(syslog_output_t *s)
{
    const syslog_tls_opts_t *t = &s->o->tls;
    s->ssl_ctx = SSL_CTX_new(TLS_client_method());
    if (s->ssl_ctx == NULL)
        return -ENOMEM;
    SSL_CTX_set_min_proto_version(s->ssl_ctx, TLS1_2_VERSION);
    SSL_CTX_set_mode(s->ssl_ctx,
                     SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_verify(s->ssl_ctx, t->verify == 0 ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, NULL);
    int ok = t->ca_file != NULL ? SSL_CTX_load_verify_locations(s->ssl_ctx, t->ca_file, NULL)
                                : SSL_CTX_set_default_verify_paths(s->ssl_ctx);
    if (ok != 1) {
        syslog_tls_log(s, "syslog: cannot load the TLS CA certificates");
        return -EINVAL;
    }
    if (t->cert_file == NULL)
        return 0;
    if (SSL_CTX_use_certificate_chain_file(s->ssl_ctx, t->cert_file) != 1 ||
        SSL_CTX_use_PrivateKey_file(s->ssl_ctx, t->key_file, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(s->ssl_ctx) != 1) {
        syslog_tls_log(s, "syslog: cannot load the TLS client certificate or key");
        return -EINVAL;
    }
    return 0;
}

/* The SSL object for a new connection, checking the receiver's name (or
 * IP address) against its certificate. */
static int syslog_tls_start(syslog_output_t *s)
{
    s->ssl = SSL_new(s->ssl_ctx);
    if (s->ssl == NULL || SSL_set_fd(s->ssl, s->fd) != 1)
        return -ENOMEM;
    unsigned char ip[16];
    int is_ip =
        inet_pton(AF_INET, s->addr.host, ip) == 1 || inet_pton(AF_INET6, s->addr.host, ip) == 1;
    if (is_ip) {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(s->ssl), s->addr.host);
    } else {
        SSL_set_tlsext_host_name(s->ssl, s->addr.host);
        SSL_set1_host(s->ssl, s->addr.host);
    }
    s->state = SL_HANDSHAKE;
    return 0;
}

static int syslog_tls_handshake_failed(syslog_output_t *s)
{
    long v = SSL_get_verify_result(s->ssl);
    if (v != X509_V_OK) {
        if (!s->verify_logged)
            wharf_log_error("syslog: TLS certificate verification of the receiver failed; "
                            "nothing is sent",
                            "output=%s address=%s error=\"%s\"", s->base.id, s->o->address,
                            X509_verify_cert_error_string(v));
        s->verify_logged = 1;
        ERR_clear_error();
        return -EPROTO;
    }
    if (!s->verify_logged)
        syslog_tls_log(s, "syslog: TLS handshake with the receiver failed");
    else
        ERR_clear_error();
    s->verify_logged = 1;
    return -ECONNABORTED;
}

/* 1 when done, 0 while in progress, or a negative error. */
static int syslog_tls_handshake(syslog_output_t *s)
{
    int rc = SSL_connect(s->ssl);
    if (rc == 1)
        return 1;
    int e = SSL_get_error(s->ssl, rc);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
        return 0;
    return syslog_tls_handshake_failed(s);
}

/* TLS 1.3: the client's handshake ends before the server has judged the
 * client's certificate; a server that refuses it (none, or an unknown CA)
 * says so with an alert right after. Sending at once would lose what the
 * kernel accepted, so the connection settles for SYSLOG_SETTLE_MS first. */
static void syslog_tls_settle_start(syslog_output_t *s)
{
    s->state = SSL_version(s->ssl) >= TLS1_3_VERSION ? SL_SETTLING : SL_UP;
    s->connect_ns = wharf_time_now();
}

static int syslog_peer_check(syslog_output_t *s);

/* 0 while settling (SL_UP once done), or a negative error. */
static int syslog_tls_settle(syslog_output_t *s)
{
    int rc = syslog_peer_check(s);
    if (rc < 0)
        return rc;
    if (wharf_time_now() - s->connect_ns >= (int64_t)SYSLOG_SETTLE_MS * 1000000)
        s->state = SL_UP;
    return 0;
}

/* Brings the connection up: 1 when it is, 0 while it is on its way, or a
 * negative error. */
static int syslog_ensure_up(syslog_output_t *s)
{
    int rc;
    if (s->state == SL_DOWN && (rc = syslog_connect_start(s)) < 0)
        return rc;
    if (s->state == SL_CONNECTING && (rc = syslog_connect_check(s)) != 0) {
        if (rc < 0)
            return rc;
        s->state = SL_UP;
        if (s->addr.transport == SL_TLS && (rc = syslog_tls_start(s)) < 0)
            return rc;
    }
    if (s->state == SL_HANDSHAKE) {
        if ((rc = syslog_tls_handshake(s)) < 0)
            return rc;
        if (rc == 1)
            syslog_tls_settle_start(s);
    }
    if (s->state == SL_SETTLING && (rc = syslog_tls_settle(s)) < 0)
        return rc;
    if (s->state == SL_UP)
        return 1;
    return wharf_time_now() - s->connect_ns > (int64_t)SYSLOG_CONNECT_MS * 1000000 ? -ETIMEDOUT : 0;
}

/* ---- sending --------------------------------------------------------------------- */

/* A receiver never sends (TLS aside): readable means it closed. 0 when the
 * connection still looks open, or a negative error. */
static int syslog_peer_check(syslog_output_t *s)
{
    struct pollfd p = {s->fd, POLLIN | POLLRDHUP, 0};
    if (poll(&p, 1, 0) <= 0 || p.revents == 0)
        return 0;
    char buf[512];
    if (s->ssl != NULL) {
        int n = SSL_read(s->ssl, buf, sizeof(buf)); /* session tickets, alerts */
        int e = n > 0 ? SSL_ERROR_NONE : SSL_get_error(s->ssl, n);
        if (e == SSL_ERROR_NONE || e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
            return 0;
        if (e == SSL_ERROR_SSL && !s->verify_logged) /* e.g. "certificate required" */
            syslog_tls_log(s, "syslog: the receiver ended the TLS connection");
        s->verify_logged |= e == SSL_ERROR_SSL;
        ERR_clear_error();
        return -ECONNRESET;
    }
    ssize_t n = recv(s->fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR)))
        return 0;
    return n == 0 ? -ECONNRESET : -errno;
}

/* Sends from p: bytes sent, 0 when the socket is full, or a negative error. */
static long syslog_send(syslog_output_t *s, const char *p, size_t n)
{
    if (s->ssl == NULL) {
        ssize_t w = send(s->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w >= 0)
            return (long)w;
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -errno;
    }
    size_t chunk = n > (1u << 30) ? (1u << 30) : n;
    int w = SSL_write(s->ssl, p, (int)chunk);
    if (w > 0)
        return w;
    int e = SSL_get_error(s->ssl, w);
    if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ)
        return 0;
    ERR_clear_error();
    return e == SSL_ERROR_SYSCALL && errno != 0 ? -errno : -ECONNRESET;
}

/* As much of pending as the socket takes: 0, or a negative error. */
static int syslog_flush(syslog_output_t *s)
{
    while (s->sent < s->pending.len) {
        long n = syslog_send(s, s->pending.data + s->sent, s->pending.len - s->sent);
        if (n < 0)
            return (int)n;
        if (n == 0)
            break;
        s->sent += (size_t)n;
    }
    syslog_pending_ack(s);
    return 0;
}

/* One datagram. An ICMP port unreachable for an earlier one comes back as
 * ECONNREFUSED and cancels this send: UDP syslog is fire-and-forget, so that
 * is counted and logged (first, then every 10,000th) and the send retried,
 * rather than turned into an outage that would lose a datagram per retry. */
static long syslog_send_datagram(syslog_output_t *s)
{
    long n = -ECONNREFUSED;
    for (int i = 0; i < 3 && n == -ECONNREFUSED; i++) {
        n = syslog_send(s, s->msg.data, s->msg.len);
        if (n != -ECONNREFUSED)
            break;
        s->refused++;
        if (s->refused == 1 || s->refused % SYSLOG_CUT_LOG_EVERY == 0)
            wharf_log_warn("syslog: the UDP receiver refuses datagrams (port unreachable); "
                           "UDP cannot tell which were lost",
                           "output=%s address=%s refused_total=%llu", s->base.id, s->o->address,
                           (unsigned long long)s->refused);
    }
    return n == -ECONNREFUSED ? (long)s->msg.len : n;
}

/* UDP: one datagram per event, cut at udp_max_size. Returns the bytes of
 * the lines sent, or a negative error when none was. */
static long syslog_write_udp(syslog_output_t *s, const char *data, size_t len)
{
    size_t off = 0;
    while (off < len) {
        const char *nl = memchr(data + off, '\n', len - off);
        size_t line_len = nl != NULL ? (size_t)(nl - (data + off)) : len - off;
        syslog_format(s, data + off, line_len, (size_t)s->o->udp_max_size);
        long n = syslog_send_datagram(s);
        if (n < 0 && off == 0)
            return syslog_fail(s, (int)n);
        if (n <= 0)
            break;
        off += line_len + (nl != NULL);
    }
    s->confirmed += off; /* fire and forget */
    return (long)off;
}

/* TCP/TLS: lines formatted into pending (that is where they count as
 * taken), then as much as the socket takes. They are confirmed later, as
 * the receiver acknowledges them. */
static long syslog_write_stream(syslog_output_t *s, const char *data, size_t len)
{
    /* a receiver that closed is noticed before lines are taken: they stay
     * in the buffer rather than in pending */
    int rc = syslog_peer_check(s);
    if (rc == 0)
        rc = syslog_flush(s);
    if (rc < 0)
        return syslog_fail(s, rc);
    size_t off = 0;
    while (off < len && s->pending.len - s->sent < SYSLOG_PENDING_MAX) {
        const char *nl = memchr(data + off, '\n', len - off);
        size_t line_len = nl != NULL ? (size_t)(nl - (data + off)) : len - off;
        syslog_format(s, data + off, line_len, (size_t)s->o->max_message_size);
        syslog_frame(s, line_len + (nl != NULL));
        off += line_len + (nl != NULL);
    }
    rc = syslog_flush(s);
    if (rc < 0)
        syslog_fail(s, rc); /* what was taken stays in pending */
    return (long)off;
}

static long syslog_write(wharf_output_t *o, const char *data, size_t len)
{
    syslog_output_t *s = (syslog_output_t *)o;
    int rc = syslog_ensure_up(s);
    if (rc < 0)
        return syslog_fail(s, rc);
    if (rc == 0) /* on its way; after a failure, the outage goes on */
        return s->failed ? s->last_err : 0;
    s->failed = 0;
    s->verify_logged = 0; /* a TLS problem is logged again after a success */
    if (s->addr.transport == SL_UDP)
        return syslog_write_udp(s, data, len);
    return syslog_write_stream(s, data, len);
}

/* Between writes (the delivery layer has nothing new to give): frames
 * still waiting are sent, over a new connection if the last one failed
 * (at most every SYSLOG_RESUME_MS). */
static void syslog_resume(syslog_output_t *s)
{
    if (s->frames_head == s->frames.len)
        return;
    if (s->state == SL_DOWN && wharf_time_now() < s->resume_ns)
        return;
    int rc = syslog_ensure_up(s);
    if (rc == 1)
        rc = syslog_flush(s);
    if (rc < 0)
        syslog_fail(s, rc);
}

/* A receiver that is connected but acknowledges nothing is logged once. */
static void syslog_check_stall(syslog_output_t *s)
{
    if (s->stall_logged || s->state != SL_UP || s->frames_head == s->frames.len ||
        wharf_time_now() - s->progress_ns < (int64_t)SYSLOG_STALL_LOG_MS * 1000000)
        return;
    wharf_log_warn("syslog: the receiver has acknowledged nothing for 10 s; events wait in the "
                   "disk buffer until it reads again",
                   "output=%s address=%s waiting_bytes=%zu", s->base.id, s->o->address,
                   s->pending.len - s->head);
    s->stall_logged = 1;
}

static uint64_t syslog_poll(wharf_output_t *o)
{
    syslog_output_t *s = (syslog_output_t *)o;
    syslog_resume(s);
    syslog_check_stall(s);
    return s->confirmed;
}

/* Waits up to timeout_ms for the receiver to acknowledge every frame,
 * sending what waits for room (and reconnecting) meanwhile. */
static uint64_t syslog_flush_wait(wharf_output_t *o, int timeout_ms)
{
    syslog_output_t *s = (syslog_output_t *)o;
    int64_t deadline = wharf_time_now() + (int64_t)timeout_ms * 1000000;
    for (;;) {
        syslog_resume(s);
        int64_t left_ms = (deadline - wharf_time_now()) / 1000000;
        if (s->frames_head == s->frames.len || left_ms <= 0)
            break;
        /* acknowledgements wake nothing: look again after a short wait */
        struct pollfd p = {s->fd, POLLOUT, 0};
        int room = s->fd >= 0 && (s->sent < s->pending.len || s->state != SL_UP);
        poll(&p, room ? 1 : 0, left_ms < SYSLOG_ACK_WAIT_MS ? (int)left_ms : SYSLOG_ACK_WAIT_MS);
    }
    return s->confirmed;
}

static void syslog_destroy(wharf_output_t *o)
{
    syslog_output_t *s = (syslog_output_t *)o;
    syslog_close(s, 1);
    SSL_CTX_free(s->ssl_ctx);
    wharf_template_free(s->app_name);
    wharf_buf_free(&s->pending);
    wharf_buf_free(&s->frames);
    wharf_buf_free(&s->msg);
    wharf_buf_free(&s->field);
    free(s);
}

/* No wake: there is no thread; the delivery layer polls at its ticks. */
static const wharf_output_async_ops_t syslog_async_ops = {
    NULL, syslog_poll, syslog_flush_wait,
    NULL, /* it never sets lost: it sends its unconfirmed frames again itself */
};

static const wharf_output_ops_t syslog_ops = {
    syslog_write, NULL, NULL, syslog_destroy, &syslog_async_ops,
};

static int syslog_create(const wharf_conf_section_t *sec, wharf_output_t **out)
{
    const syslog_opts_t *o = sec->opts;
    syslog_output_t *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return -ENOMEM;
    s->base.ops = &syslog_ops;
    s->base.id = sec->id;
    s->o = o;
    s->fd = -1;
    s->framing = o->framing == SL_NEWLINE ? SL_NEWLINE : SL_OCTET;
    wharf_buf_init(&s->pending);
    wharf_buf_init(&s->frames);
    wharf_buf_init(&s->msg);
    wharf_buf_init(&s->field);
    const char *why = NULL;
    int rc = syslog_addr_parse(o->address, &s->addr, &why);
    if (rc == 0)
        rc = wharf_template_compile(o->app_name, &s->app_name, NULL, 0);
    if (rc == 0 && s->addr.transport == SL_TLS)
        rc = syslog_tls_ctx(s);
    if (rc < 0) {
        syslog_destroy(&s->base);
        return rc;
    }
    *out = &s->base;
    return 0;
}

const wharf_output_type_t wharf_output_syslog = {
    {"syslog", syslog_keys, sizeof(syslog_opts_t), syslog_opts_init, syslog_check},
    syslog_create,
};
