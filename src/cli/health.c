/* health.c - `wharf health -c FILE`: asks the running wharf's GET /health.
 *
 * For container HEALTHCHECKs, whose runtime images have no curl: it reads
 * api.listen from FILE, sends one request over a plain socket, prints the
 * body and exits 0 on 200, 1 otherwise. Every failure is exit 1 (Docker
 * reserves 2), with a line on stderr saying what to check. The whole
 * exchange is bounded by HEALTH_TIMEOUT_MS. */
#include "cli.h"
#include "wharf/api.h"
#include "wharf/buf.h"
#include "wharf/common.h"
#include "wharf/config.h"
#include "wharf/timefmt.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define HEALTH_TIMEOUT_MS   5000
#define HEALTH_MAX_RESPONSE (1u << 20)

/* A wildcard listen address (0.0.0.0, ::) is reached on loopback. */
static void health_target(struct sockaddr_storage *a)
{
    if (a->ss_family == AF_INET) {
        struct sockaddr_in *v4 = (struct sockaddr_in *)a;
        if (v4->sin_addr.s_addr == htonl(INADDR_ANY))
            v4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    } else {
        struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)a;
        if (IN6_IS_ADDR_UNSPECIFIED(&v6->sin6_addr))
            v6->sin6_addr = in6addr_loopback;
    }
}

/* Waits for fd to be ready for events until the deadline; 0 or -errno. */
static int health_wait(int fd, short events, int64_t deadline_ns)
{
    struct pollfd p = {fd, events, 0};
    for (;;) {
        int64_t left_ms = (deadline_ns - wharf_time_now()) / 1000000;
        if (left_ms <= 0)
            return -ETIMEDOUT;
        int n = poll(&p, 1, (int)left_ms);
        if (n > 0)
            return 0;
        if (n < 0 && errno != EINTR)
            return -errno;
    }
}

static int health_connect(const struct sockaddr_storage *a, int64_t deadline_ns)
{
    int fd = socket(a->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    socklen_t len =
        a->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    int rc = connect(fd, (const struct sockaddr *)a, len) == 0 ? 0 : -errno;
    if (rc == -EINPROGRESS) {
        int err = 0;
        socklen_t elen = sizeof(err);
        rc = health_wait(fd, POLLOUT, deadline_ns);
        if (rc == 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
            rc = -errno;
        else if (rc == 0)
            rc = -err;
    }
    if (rc < 0) {
        close(fd);
        return rc;
    }
    return fd;
}

static int health_send(int fd, const char *req, size_t len, int64_t deadline_ns)
{
    while (len > 0) {
        ssize_t n = send(fd, req, len, MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN && errno != EINTR)
            return -errno;
        if (n < 0) {
            int rc = health_wait(fd, POLLOUT, deadline_ns);
            if (rc < 0)
                return rc;
            continue;
        }
        req += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Reads until the server closes (it always does: Connection: close). */
static int health_recv(int fd, wharf_buf_t *out, int64_t deadline_ns)
{
    for (;;) {
        wharf_buf_reserve(out, 4096);
        ssize_t n = recv(fd, out->data + out->len, out->cap - out->len, 0);
        if (n == 0)
            return 0;
        if (n > 0) {
            out->len += (size_t)n;
            if (out->len > HEALTH_MAX_RESPONSE)
                return -EFBIG;
            continue;
        }
        if (errno != EAGAIN && errno != EINTR)
            return -errno;
        int rc = health_wait(fd, POLLIN, deadline_ns);
        if (rc < 0)
            return rc;
    }
}

/* The status code of "HTTP/1.x NNN ...", and where the body starts; 0
 * when the response is not HTTP or has no end of head. */
static int health_parse(const wharf_buf_t *resp, const char **body)
{
    const char *d = resp->data;
    const char *end = resp->len > 0 ? memmem(d, resp->len, "\r\n\r\n", 4) : NULL;
    if (end == NULL || resp->len < 12 || memcmp(d, "HTTP/1.", 7) != 0 || d[8] != ' ')
        return 0;
    int status = 0;
    for (int i = 9; i < 12; i++) {
        if (d[i] < '0' || d[i] > '9')
            return 0;
        status = status * 10 + (d[i] - '0');
    }
    *body = end + 4;
    return status;
}

static int health_ask(const char *listen, const struct sockaddr_storage *addr)
{
    int64_t deadline = wharf_time_now() + (int64_t)HEALTH_TIMEOUT_MS * 1000000;
    static const char req[] = "GET /health HTTP/1.1\r\nHost: wharf\r\nConnection: close\r\n\r\n";
    wharf_buf_t resp;
    wharf_buf_init(&resp);
    int fd = health_connect(addr, deadline);
    int rc = fd < 0 ? fd : health_send(fd, req, sizeof(req) - 1, deadline);
    if (rc == 0)
        rc = health_recv(fd, &resp, deadline);
    if (fd >= 0)
        close(fd);
    int status = 0;
    const char *body = NULL;
    if (rc == 0 && (status = health_parse(&resp, &body)) == 0)
        rc = WHARF_EPARSE;
    if (rc < 0)
        fprintf(stderr,
                "wharf health: no answer from %s: %s (is wharf running with this config?)\n",
                listen, wharf_strerror(rc));
    else
        fwrite(body, 1, (size_t)(resp.data + resp.len - body), stdout);
    wharf_buf_free(&resp);
    return rc == 0 && status == 200 ? 0 : 1;
}

int wharf_cmd_health(int argc, char **argv)
{
    wharf_config_t *cfg = wharf_cli_load_config(argc, argv, "health");
    if (cfg == NULL)
        return 1;
    struct sockaddr_storage addr;
    const char *why = NULL;
    int rc = 1;
    if (cfg->api.listen == NULL)
        fprintf(stderr,
                "wharf health: %s has no api.listen; add e.g. api: {listen: 127.0.0.1:9880}\n",
                cfg->path);
    else if (wharf_api_parse_listen(cfg->api.listen, &addr, &why) < 0)
        fprintf(stderr, "wharf health: api.listen \"%s\": %s\n", cfg->api.listen, why);
    else {
        health_target(&addr);
        rc = health_ask(cfg->api.listen, &addr);
    }
    wharf_config_free(cfg);
    return rc;
}
