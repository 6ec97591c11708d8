/* api.h - wharf's HTTP API (`api.listen`): GET /metrics, /health, /ready.
 *
 * A small HTTP/1.0 and 1.1 server on the agent's libuv loop: three GET
 * routes do not need an HTTP library. Each connection gets one response and
 * is closed (Connection: close). What a client can cost wharf is bounded:
 * the request line and headers at WHARF_API_MAX_REQUEST bytes (431 above),
 * WHARF_API_MAX_CLIENTS connections at once (503 above), and a connection
 * lives at most WHARF_API_TIMEOUT_MS, so a client that sends slowly or
 * never reads cannot hold one.
 *
 *   /metrics  Prometheus text (wharf/metrics.h)
 *   /health   200 when every stage works, else 503; JSON naming each problem
 *   /ready    200 once wharf is running (inputs started, buffer open), 503
 *             before and while it stops (Kubernetes readiness)
 *
 * The server reads counters that only the loop thread writes, on the loop
 * thread: no locks. */
#ifndef WHARF_API_H
#define WHARF_API_H

#include "wharf/common.h"
#include "wharf/metrics.h"

#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#define WHARF_API_MAX_REQUEST 8192
#define WHARF_API_MAX_CLIENTS 16
#define WHARF_API_TIMEOUT_MS  5000

typedef struct wharf_api wharf_api_t;

/* Parses `api.listen`: "A.B.C.D:PORT" or "[IPv6]:PORT", port 1-65535.
 * Returns 0, or -EINVAL with *why saying what is wrong. */
int wharf_api_parse_listen(const char *listen, struct sockaddr_storage *out, const char **why);

/* Listens on `listen` and serves the routes from src. On a bind failure
 * (port taken, address not on this host) logs what to do and returns the
 * error: wharf must not run without the API it was configured with. */
int wharf_api_new(uv_loop_t *loop, const char *listen, const wharf_metrics_sources_t *src,
                  int64_t output_down_after_ms, wharf_api_t **out);
/* /ready answers 200 while ready is set. */
void wharf_api_set_ready(wharf_api_t *api, int ready);
/* A reload changed the inputs or outputs: read these from now on. */
void wharf_api_set_sources(wharf_api_t *api, const wharf_metrics_sources_t *src);
/* Stops listening and closes every connection; the loop then runs the
 * close callbacks. Idempotent. */
void wharf_api_close(wharf_api_t *api);
/* After wharf_api_close, once the loop ran its callbacks. */
void wharf_api_free(wharf_api_t *api);

/* One request head: method and path (without the query) point into the
 * bytes given to wharf_api_parse_request. */
typedef struct wharf_api_request {
    wharf_str_t method;
    wharf_str_t path;
} wharf_api_request_t;

/* Parses the head of a request received so far (len bytes). Returns 0
 * while it is incomplete, 200 with req filled when it is a GET, or the
 * status to answer: 400 (malformed), 405 (another method), 431 (no end of
 * the head within WHARF_API_MAX_REQUEST bytes), 505 (not HTTP/1.x). */
int wharf_api_parse_request(const char *buf, size_t len, wharf_api_request_t *req);

#endif
