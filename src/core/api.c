/* api.c - the HTTP API on the agent's loop (see wharf/api.h).
 *
 * One connection, one request, one response, then close: no keep-alive, so
 * a connection's whole life is accept -> read the head -> write -> shut
 * down our side -> read (and discard) until the client closes. A timer
 * started at accept ends any connection still open after
 * WHARF_API_TIMEOUT_MS, whatever stage it is stuck in.
 *
 * The listening socket is bound with plain socket(2)/bind(2) before libuv
 * sees it, so a bind failure leaves no handle behind and wharf_api_new can
 * fail cleanly. */
#include "wharf/api.h"

#include "wharf/log.h"
#include "wharf/timefmt.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define API_BACKLOG 64

typedef struct api_client {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_write_t write_req;
    uv_shutdown_t shutdown_req;
    struct wharf_api *api;
    struct api_client *prev, *next;
    int answered;     /* the response is written or being written */
    int closing;      /* uv_close called on both handles */
    int open_handles; /* handles whose close callback has not run yet */
    size_t len;
    char req[WHARF_API_MAX_REQUEST];
    wharf_buf_t resp;
} api_client_t;

struct wharf_api {
    uv_loop_t *loop;
    uv_tcp_t server;
    int server_open;
    wharf_metrics_sources_t src;
    int64_t output_down_after_ms;
    int ready;
    api_client_t *clients;
    size_t n_clients; /* closing ones too: each holds memory until freed */
};

/* ---- parsing ------------------------------------------------------------ */

/* The end of the head (just past its empty line), or NULL. */
static const char *api_head_end(const char *buf, size_t len)
{
    const char *p = buf, *end = buf + len;
    while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
        p++;
        if (p < end && *p == '\n')
            return p + 1;
        if (p + 1 < end && p[0] == '\r' && p[1] == '\n')
            return p + 2;
    }
    return NULL;
}

/* RFC 9110 tchar: what a method name may consist of. */
static int api_is_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int api_split(wharf_str_t line, wharf_str_t *method, wharf_str_t *target,
                     wharf_str_t *version)
{
    const char *sp1 = memchr(line.ptr, ' ', line.len);
    if (sp1 == NULL)
        return -1;
    const char *rest = sp1 + 1, *end = line.ptr + line.len;
    const char *sp2 = memchr(rest, ' ', (size_t)(end - rest));
    if (sp2 == NULL || memchr(sp2 + 1, ' ', (size_t)(end - sp2 - 1)) != NULL)
        return -1;
    *method = (wharf_str_t){line.ptr, (size_t)(sp1 - line.ptr)};
    *target = (wharf_str_t){rest, (size_t)(sp2 - rest)};
    *version = (wharf_str_t){sp2 + 1, (size_t)(end - sp2 - 1)};
    return method->len > 0 && target->len > 0 && version->len > 0 ? 0 : -1;
}

static int api_check_version(wharf_str_t v)
{
    if (v.len == 8 && (memcmp(v.ptr, "HTTP/1.0", 8) == 0 || memcmp(v.ptr, "HTTP/1.1", 8) == 0))
        return 200;
    return v.len > 5 && memcmp(v.ptr, "HTTP/", 5) == 0 ? 505 : 400;
}

static int api_check_target(wharf_str_t t)
{
    if (t.ptr[0] != '/')
        return 400;
    for (size_t i = 0; i < t.len; i++)
        if ((unsigned char)t.ptr[i] <= ' ' || (unsigned char)t.ptr[i] == 0x7f)
            return 400;
    return 200;
}

int wharf_api_parse_request(const char *buf, size_t len, wharf_api_request_t *req)
{
    const char *head_end = api_head_end(buf, len);
    if (head_end == NULL)
        return len >= WHARF_API_MAX_REQUEST ? 431 : 0;
    const char *eol = memchr(buf, '\n', (size_t)(head_end - buf));
    wharf_str_t line = {buf, (size_t)(eol - buf)};
    if (line.len > 0 && line.ptr[line.len - 1] == '\r')
        line.len--;
    wharf_str_t method, target, version;
    if (api_split(line, &method, &target, &version) < 0)
        return 400;
    for (size_t i = 0; i < method.len; i++)
        if (!api_is_tchar((unsigned char)method.ptr[i]))
            return 400;
    int st = api_check_version(version);
    if (st == 200)
        st = api_check_target(target);
    if (st != 200)
        return st;
    if (method.len != 3 || memcmp(method.ptr, "GET", 3) != 0)
        return 405;
    size_t path_len = 0;
    while (path_len < target.len && target.ptr[path_len] != '?' && target.ptr[path_len] != '#')
        path_len++;
    req->method = method;
    req->path = (wharf_str_t){target.ptr, path_len};
    return 200;
}

/* ---- listen address --------------------------------------------------------- */

static int api_parse_port(const char *s, uint16_t *port)
{
    unsigned long v = 0;
    if (*s == '\0' || strlen(s) > 5)
        return -1;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        v = v * 10 + (unsigned long)(*p - '0');
    }
    if (v == 0 || v > 65535)
        return -1;
    *port = (uint16_t)v;
    return 0;
}

static int api_parse_host(const char *host, size_t n, int v6, struct sockaddr_storage *out,
                          uint16_t port)
{
    char text[INET6_ADDRSTRLEN];
    if (n == 0 || n >= sizeof(text))
        return -1;
    memcpy(text, host, n);
    text[n] = '\0';
    memset(out, 0, sizeof(*out));
    if (v6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)out;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(port);
        return inet_pton(AF_INET6, text, &a->sin6_addr) == 1 ? 0 : -1;
    }
    struct sockaddr_in *a = (struct sockaddr_in *)out;
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    return inet_pton(AF_INET, text, &a->sin_addr) == 1 ? 0 : -1;
}

int wharf_api_parse_listen(const char *listen, struct sockaddr_storage *out, const char **why)
{
    const char *colon = listen != NULL ? strrchr(listen, ':') : NULL;
    uint16_t port = 0;
    if (colon == NULL || api_parse_port(colon + 1, &port) < 0) {
        *why = "it must end in :PORT, a port from 1 to 65535";
        return -EINVAL;
    }
    int v6 = listen[0] == '[';
    if (v6 && (colon == listen || colon[-1] != ']')) {
        *why = "an IPv6 address goes in brackets: [ADDRESS]:PORT";
        return -EINVAL;
    }
    const char *host = listen + v6;
    size_t n = (size_t)(colon - host) - (size_t)v6;
    if (api_parse_host(host, n, v6, out, port) < 0) {
        *why = v6 ? "the address in brackets is not an IPv6 address"
                  : "the host is not an IPv4 address; names are not resolved (127.0.0.1: this "
                    "host only, 0.0.0.0: every interface) and IPv6 goes in brackets";
        return -EINVAL;
    }
    return 0;
}

/* ---- connections ------------------------------------------------------------ */

static void api_client_closed(uv_handle_t *h)
{
    api_client_t *c = h->data;
    if (--c->open_handles > 0)
        return;
    c->api->n_clients--;
    wharf_buf_free(&c->resp);
    free(c);
}

static void api_client_close(api_client_t *c)
{
    if (c->closing)
        return;
    c->closing = 1;
    if (c->prev != NULL)
        c->prev->next = c->next;
    else if (c->api->clients == c)
        c->api->clients = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
    uv_close((uv_handle_t *)&c->tcp, api_client_closed);
    uv_close((uv_handle_t *)&c->timer, api_client_closed);
}

static void api_on_timeout(uv_timer_t *h)
{
    api_client_close(h->data);
}

static void api_on_shutdown(uv_shutdown_t *req, int status)
{
    /* on success the client's EOF (api_on_read) closes the connection */
    if (status < 0)
        api_client_close(req->data);
}

static void api_on_write(uv_write_t *req, int status)
{
    api_client_t *c = req->data;
    if (status < 0 || uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->tcp, api_on_shutdown) < 0)
        api_client_close(c);
}

static const char *api_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 431:
        return "Request Header Fields Too Large";
    case 503:
        return "Service Unavailable";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Internal Server Error";
    }
}

/* Writes the one response of this connection. */
static void api_respond(api_client_t *c, int status, const char *type, const char *body, size_t len)
{
    char head[256];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
                     "Connection: close\r\n\r\n",
                     status, api_reason(status), type, len, status == 405 ? "Allow: GET\r\n" : "");
    c->answered = 1;
    c->resp.len = 0;
    wharf_buf_append(&c->resp, head, (size_t)n < sizeof(head) ? (size_t)n : sizeof(head) - 1);
    wharf_buf_append(&c->resp, body, len);
    uv_buf_t b = uv_buf_init(c->resp.data, (unsigned)c->resp.len);
    if (uv_write(&c->write_req, (uv_stream_t *)&c->tcp, &b, 1, api_on_write) < 0)
        api_client_close(c);
}

static void api_respond_text(api_client_t *c, int status, const char *text)
{
    api_respond(c, status, "text/plain; charset=utf-8", text, strlen(text));
}

static void api_serve_metrics(api_client_t *c, int health)
{
    wharf_api_t *api = c->api;
    wharf_metrics_t m;
    int64_t now = wharf_time_now();
    if (wharf_metrics_collect(&api->src, now, &m) < 0) {
        api_respond_text(c, 500, "out of memory\n");
        return;
    }
    wharf_buf_t body;
    wharf_buf_init(&body);
    if (health) {
        int ok = wharf_metrics_health(&m, now, api->output_down_after_ms, &body);
        api_respond(c, ok ? 200 : 503, "application/json", body.data, body.len);
    } else {
        wharf_metrics_format(&m, &body);
        api_respond(c, 200, "text/plain; version=0.0.4; charset=utf-8", body.data, body.len);
    }
    wharf_buf_free(&body);
    wharf_metrics_release(&m);
}

static int api_path_is(const wharf_api_request_t *r, const char *path)
{
    return r->path.len == strlen(path) && memcmp(r->path.ptr, path, r->path.len) == 0;
}

static void api_route(api_client_t *c, const wharf_api_request_t *r)
{
    if (api_path_is(r, "/metrics"))
        api_serve_metrics(c, 0);
    else if (api_path_is(r, "/health"))
        api_serve_metrics(c, 1);
    else if (api_path_is(r, "/ready"))
        api_respond_text(c, c->api->ready ? 200 : 503, c->api->ready ? "ready\n" : "not ready\n");
    else
        api_respond_text(c, 404, "not found: the API serves /metrics, /health and /ready\n");
}

static void api_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    api_client_t *c = h->data;
    /* once answered, what the client still sends is read over and dropped */
    size_t at = c->answered ? 0 : c->len;
    *buf = uv_buf_init(c->req + at, (unsigned)(sizeof(c->req) - at));
}

static void api_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    api_client_t *c = s->data;
    if (nread < 0) {
        api_client_close(c);
        return;
    }
    if (c->answered || nread == 0)
        return;
    c->len += (size_t)nread;
    wharf_api_request_t r;
    int st = wharf_api_parse_request(c->req, c->len, &r);
    if (st == 200)
        api_route(c, &r);
    else if (st != 0)
        api_respond_text(c, st,
                         st == 405   ? "method not allowed: the API answers GET only\n"
                         : st == 431 ? "request head larger than 8 KiB\n"
                         : st == 505 ? "HTTP/1.0 and HTTP/1.1 only\n"
                                     : "bad request\n");
}

/* Over the connection limit: a short answer that fits any socket buffer,
 * then close, so a flood costs no more than an accept each. */
static void api_refuse(api_client_t *c)
{
    static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
                               "Content-Length: 21\r\nConnection: close\r\n\r\n"
                               "too many connections\n";
    uv_buf_t b = uv_buf_init((char *)busy, sizeof(busy) - 1);
    (void)uv_try_write((uv_stream_t *)&c->tcp, &b, 1); /* best effort: closing anyway */
    api_client_close(c);
}

static void api_on_connection(uv_stream_t *server, int status)
{
    wharf_api_t *api = server->data;
    if (status < 0)
        return;
    api_client_t *c = calloc(1, sizeof(*c));
    if (c == NULL)
        abort(); /* as wharf_buf: 9 KiB we cannot do without */
    c->api = api;
    uv_tcp_init(api->loop, &c->tcp);
    uv_timer_init(api->loop, &c->timer);
    c->tcp.data = c->timer.data = c;
    c->write_req.data = c->shutdown_req.data = c;
    c->open_handles = 2;
    wharf_buf_init(&c->resp);
    api->n_clients++;
    c->next = api->clients;
    if (api->clients != NULL)
        api->clients->prev = c;
    api->clients = c;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0) {
        api_client_close(c);
        return;
    }
    if (api->n_clients > WHARF_API_MAX_CLIENTS) {
        api_refuse(c);
        return;
    }
    if (uv_timer_start(&c->timer, api_on_timeout, WHARF_API_TIMEOUT_MS, 0) < 0 ||
        uv_read_start((uv_stream_t *)&c->tcp, api_alloc, api_on_read) < 0)
        api_client_close(c);
}

/* ---- the server ------------------------------------------------------------------ */

/* A listening socket, bound before libuv sees it. Returns the fd or -errno. */
static int api_bind(const struct sockaddr_storage *addr)
{
    int fd = socket(addr->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    socklen_t len =
        addr->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(fd, (const struct sockaddr *)addr, len) < 0 || listen(fd, API_BACKLOG) < 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    return fd;
}

static void api_free_on_close(uv_handle_t *h)
{
    free(h->data);
}

int wharf_api_new(uv_loop_t *loop, const char *listen, const wharf_metrics_sources_t *src,
                  int64_t output_down_after_ms, wharf_api_t **out)
{
    struct sockaddr_storage addr;
    const char *why = NULL;
    int fd = -1;
    int rc = wharf_api_parse_listen(listen, &addr, &why);
    if (rc == 0)
        rc = fd = api_bind(&addr);
    if (rc < 0) {
        wharf_log_error("cannot listen on api.listen; is another process (a second wharf?) "
                        "using the port, or is the address not on this host?",
                        "listen=%s error=\"%s\"", listen, why ? why : wharf_strerror(rc));
        return rc;
    }
    wharf_api_t *api = calloc(1, sizeof(*api));
    if (api == NULL) {
        close(fd);
        return -ENOMEM;
    }
    api->loop = loop;
    api->src = *src;
    api->output_down_after_ms = output_down_after_ms;
    uv_tcp_init(loop, &api->server);
    api->server.data = api;
    rc = uv_tcp_open(&api->server, fd);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&api->server, API_BACKLOG, api_on_connection);
    if (rc < 0) {
        wharf_log_error("cannot serve api.listen", "listen=%s error=\"%s\"", listen,
                        uv_strerror(rc));
        uv_close((uv_handle_t *)&api->server, api_free_on_close); /* closes fd too */
        return rc;
    }
    api->server_open = 1;
    wharf_log_info("api: serving /metrics, /health and /ready", "listen=%s", listen);
    *out = api;
    return 0;
}

void wharf_api_set_ready(wharf_api_t *api, int ready)
{
    if (api != NULL)
        api->ready = ready;
}

void wharf_api_set_sources(wharf_api_t *api, const wharf_metrics_sources_t *src)
{
    if (api != NULL)
        api->src = *src;
}

void wharf_api_close(wharf_api_t *api)
{
    if (api == NULL)
        return;
    api->ready = 0;
    if (api->server_open)
        uv_close((uv_handle_t *)&api->server, NULL);
    api->server_open = 0;
    while (api->clients != NULL)
        api_client_close(api->clients);
}

void wharf_api_free(wharf_api_t *api)
{
    free(api);
}
