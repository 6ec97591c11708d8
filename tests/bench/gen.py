#!/usr/bin/env python3
"""Generate container logs for the wharf benchmark (Python 3 stdlib only).

    gen.py ROOT [--lines 2000000] [--containers 20] [--seed 1] [--cri]

Docker mode (default) writes the json-file logging driver's layout exactly as
dockerd does:

    ROOT/<64 hex id>/<id>-json.log     {"log":"...\\n","stream":"stdout","time":"..."}
    ROOT/<64 hex id>/config.v2.json    name, image, labels (io.kubernetes.* on
                                       some), Config.Env with fake secrets
    ROOT/<64 hex id>/hostconfig.json   privileged, caps, network/pid mode ...

--cri writes the kubelet layout instead:

    ROOT/pods/<ns>_<pod>_<uid>/<container>/0.log   <RFC3339Nano> <stream> <P|F> <text>
    ROOT/containers/<pod>_<ns>_<container>-<id>.log -> the 0.log above (symlink)

Lines (one logical line = one event wharf must emit):
  ~60% plain text (nginx access log, Java/Go/Python app logs), 60-200 bytes
  ~30% JSON app logs (so escaped inside Docker's "log" string)
  ~8%  stderr (warnings, stack trace lines with tabs, panics)
  ~2%  long lines of 2-15 KiB (payload dumps, SQL IN lists, base64 blobs)
  1 in 20,000: a line of 17-96 KiB that the runtime splits into 16 KiB
       chunks (Docker: only the last chunk's "log" ends with "\\n"; CRI: P
       parts then one F part)
Some lines carry non-ASCII UTF-8; Docker's writer escapes < > & as \\u003c
\\u003e \\u0026 and keeps other non-ASCII raw, as dockerd does. Containers log at
different rates (a few chatty ones). Output is deterministic for a given seed
and parameters.

ROOT/manifest.json (or --manifest PATH) records the parameters, the expected event count and the
input size; the runner compares wharf's output against it.
"""
import argparse
import array
import base64
import json
import os
import random
import sys
import time
from json.encoder import encode_basestring  # C-accelerated; keeps non-ASCII raw like dockerd

CHUNK = 16384            # dockerd's and containerd's split size
FLUSH_BYTES = 16 << 20   # write out buffered lines every 16 MiB
BASE_EPOCH = 1795161600  # 2026-11-20T08:00:00Z
SECRET_MARK = "BENCHSECRET"  # every fake secret contains it; must never reach the output

# ---------------------------------------------------------------------------
# word pools

METHODS = ["GET"] * 12 + ["POST"] * 4 + ["PUT", "DELETE", "PATCH", "HEAD"]
PATHS = ["/", "/healthz", "/readyz", "/metrics", "/api/v1/orders", "/api/v1/orders/{id}",
         "/api/v1/users/{id}", "/api/v1/users/{id}/cart", "/api/v2/search?q=shoes&page={id}",
         "/static/js/app.{id}.js", "/static/css/main.css", "/login", "/logout",
         "/api/v1/payments/{id}/capture", "/graphql", "/favicon.ico", "/wp-login.php",
         "/api/v1/inventory/sku-{id}", "/cart/checkout?step=2", "/images/p/{id}.webp"]
STATUSES = [200] * 30 + [201, 204, 301, 302, 304, 304, 400, 401, 403, 404, 404, 404, 429, 500, 502, 503]
AGENTS = ['"Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"',
          '"Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15"',
          '"curl/8.4.0"', '"kube-probe/1.28"', '"Prometheus/2.48.0"', '"python-requests/2.31.0"',
          '"Go-http-client/1.1"', '"-"']
REFERERS = ['"-"'] * 6 + ['"https://shop.example.com/"', '"https://www.google.com/"']
LEVELS = ["INFO"] * 14 + ["DEBUG"] * 4 + ["WARN"] * 2 + ["ERROR"]
JLEVELS = ["info"] * 14 + ["debug"] * 4 + ["warn"] * 2 + ["error"]
JAVA_CLASSES = ["c.e.shop.order.OrderService", "o.s.web.servlet.DispatcherServlet",
                "c.e.shop.payment.StripeClient", "o.h.engine.jdbc.spi.SqlExceptionHelper",
                "c.z.hikari.pool.HikariPool", "c.e.shop.cart.CartController"]
THREADS = ["main", "nio-8080-exec-1", "nio-8080-exec-7", "scheduling-1", "kafka-consumer-3",
           "HikariPool-1 housekeeper", "ForkJoinPool.commonPool-worker-2"]
GO_FILES = ["controller.go:278", "reconciler.go:91", "server.go:3212", "leaderelection.go:250",
            "handler.go:142", "cache.go:57", "informer.go:311"]
PHRASES = ["request completed", "cache miss for key", "connected to upstream", "retrying after timeout",
           "order created", "payment authorized", "user logged in", "session expired",
           "slow query detected", "message published", "message consumed", "token refreshed",
           "scheduled job finished", "configuration reloaded", "health check passed",
           "rate limit exceeded for client", "connection pool exhausted, waiting",
           "Reconciling object", "Successfully synced", "Starting workers"]
USERS = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "mallory", "trent",
         "josé", "zoë", "müller", "李雷", "ゆき"]  # a few non-ASCII names: real logs have them
WORDS = ("the of and to in is for on with as by at from id user order cart payment session token "
         "request response upstream downstream timeout retry cache miss hit queue worker job "
         "batch commit rollback connection pool shard replica leader follower").split()
ERRORS = ["java.net.SocketTimeoutException: Read timed out",
          "java.lang.NullPointerException: Cannot invoke \"String.length()\" because \"s\" is null",
          "psycopg2.OperationalError: could not connect to server: Connection refused",
          "ECONNRESET: socket hang up", "context deadline exceeded",
          "dial tcp 10.96.0.10:53: i/o timeout", "redis: connection pool timeout",
          "KeyError: 'customer_id'", "SyntaxError: Unexpected token < in JSON at position 0",
          "permission denied while opening /var/run/secrets/token"]
STACK = ["\tat com.example.shop.order.OrderService.create(OrderService.java:{n})",
         "\tat org.springframework.web.servlet.FrameworkServlet.service(FrameworkServlet.java:{n})",
         "\tat java.base/java.lang.Thread.run(Thread.java:{n})",
         "\tat io.netty.channel.nio.NioEventLoop.run(NioEventLoop.java:{n})",
         '  File "/app/worker/tasks.py", line {n}, in handle',
         '  File "/usr/local/lib/python3.11/site-packages/requests/adapters.py", line {n}, in send',
         "goroutine {n} [running]:", "\t/go/src/app/internal/server/handler.go:{n} +0x1a4",
         "    at processTicksAndRejections (node:internal/process/task_queues:{n}:5)"]

IMAGES = [("nginx", "1.25.3"), ("registry.example.com/shop/api", "v2.14.1"),
          ("registry.example.com/shop/worker", "v2.14.1"), ("postgres", "16.1"),
          ("redis", "7.2-alpine"), ("docker.io/bitnami/kafka", "3.6"),
          ("ghcr.io/example/payments", "sha-3f9c2e1"), ("quay.io/prometheus/node-exporter", "v1.7.0"),
          ("registry.k8s.io/coredns/coredns", "v1.11.1"), ("python", "3.11-slim")]
NAMESPACES = ["prod", "prod", "prod", "staging", "kube-system", "monitoring", "default"]


def pick(rng, seq):
    """rng.choice without its rejection sampling: 10x faster, plenty uniform for a benchmark."""
    return seq[int(rng.random() * len(seq))]


# ---------------------------------------------------------------------------
# time

class Clock:
    """A simulated wall clock shared by all containers, advancing 1-132 us per line."""

    def __init__(self, rng):
        self.rng = rng
        self.ns = BASE_EPOCH * 10**9
        self._sec = -1
        self._iso = self._clf = self._ymd = self._glog = ""

    def tick(self):
        self.ns += self.rng.getrandbits(17) + 1000
        sec = self.ns // 10**9
        if sec != self._sec:
            self._sec = sec
            t = time.gmtime(sec)
            self._iso = time.strftime("%Y-%m-%dT%H:%M:%S", t)
            self._clf = time.strftime("[%d/%b/%Y:%H:%M:%S +0000]", t)
            self._ymd = time.strftime("%Y-%m-%d %H:%M:%S", t)
            self._glog = time.strftime("%m%d %H:%M:%S", t)

    def rfc3339nano(self, offset=None):
        """Go's time.RFC3339Nano: fraction with trailing zeros trimmed (no dot when zero)."""
        frac = self.ns % 10**9
        s = self._iso
        if frac:
            s += ("." + "%09d" % frac).rstrip("0")
        if offset is None:
            return s + "Z"
        # local time with a UTC offset, as containerd writes it on hosts not set to UTC
        t = time.gmtime(self.ns // 10**9 + offset * 3600)
        s = time.strftime("%Y-%m-%dT%H:%M:%S", t) + s[len(self._iso):]
        return s + ("+%02d:00" % offset if offset >= 0 else "-%02d:00" % -offset)


# ---------------------------------------------------------------------------
# line makers: each returns (text, stream)

def mk_plain(rng, clk, name):
    r = rng.random()
    ms = clk.ns // 10**6 % 1000
    if r < 0.45:  # nginx combined access log
        path = pick(rng, PATHS)
        if "{id}" in path:
            path = path.replace("{id}", str(rng.getrandbits(20)))
        return ('%d.%d.%d.%d - %s %s "%s %s HTTP/1.1" %d %d %s %s' % (
            10, rng.getrandbits(8), rng.getrandbits(8), rng.getrandbits(8),
            pick(rng, USERS) if r < 0.05 else "-", clk._clf, pick(rng, METHODS), path,
            pick(rng, STATUSES), rng.getrandbits(16), pick(rng, REFERERS), pick(rng, AGENTS))), "stdout"
    if r < 0.70:  # Spring Boot
        return ("%s.%03d %5s 1 --- [%15s] %-40s : %s %d for user=%s in %dms" % (
            clk._ymd, ms, pick(rng, LEVELS), pick(rng, THREADS), pick(rng, JAVA_CLASSES),
            pick(rng, PHRASES), rng.getrandbits(24), pick(rng, USERS), rng.getrandbits(10))), "stdout"
    if r < 0.85:  # klog
        return ('I%s.%06d       1 %s] "%s" pod="%s/%s-%05x" duration="%d.%03dms"' % (
            clk._glog, clk.ns // 1000 % 10**6, pick(rng, GO_FILES), pick(rng, PHRASES),
            pick(rng, NAMESPACES), name, rng.getrandbits(20), rng.getrandbits(7),
            rng.getrandbits(10) % 1000)), "stdout"
    # Python logging
    n = 3 + rng.getrandbits(3)
    return ("%s,%03d %s [%s] %s: %s" % (
        clk._ymd, ms, pick(rng, LEVELS), name, pick(rng, PHRASES),
        " ".join(pick(rng, WORDS) for _ in range(n)))), "stdout"


def mk_json(rng, clk, name):
    r = rng.random()
    lvl = pick(rng, JLEVELS)
    if r < 0.5:  # zap / logrus style
        path = pick(rng, PATHS).replace("{id}", str(rng.getrandbits(16)))
        return ('{"level":"%s","ts":%d.%06d,"caller":"server/%s","msg":"%s","method":"%s",'
                '"path":"%s","status":%d,"duration_ms":%d.%03d,"request_id":"%016x"}' % (
                    lvl, clk.ns // 10**9, clk.ns // 1000 % 10**6, pick(rng, GO_FILES),
                    pick(rng, PHRASES), pick(rng, METHODS), path, pick(rng, STATUSES),
                    rng.getrandbits(9), rng.getrandbits(10) % 1000, rng.getrandbits(64))), "stdout"
    if r < 0.8:  # node / pino
        return ('{"level":%d,"time":%d,"pid":1,"hostname":"%s-%05x","reqId":"req-%x","user":"%s",'
                '"msg":"%s"}' % (
                    30 if lvl == "info" else 20 if lvl == "debug" else 40 if lvl == "warn" else 50,
                    clk.ns // 10**6, name, rng.getrandbits(20), rng.getrandbits(20),
                    pick(rng, USERS), pick(rng, PHRASES))), "stdout"
    # structured log with a quoted value inside the message (escaped twice in Docker)
    return ('{"@timestamp":"%s","log.level":"%s","message":"user \\"%s\\" %s","service.name":"%s",'
            '"trace.id":"%032x","event.duration":%d}' % (
                clk.rfc3339nano(), lvl, pick(rng, USERS), pick(rng, PHRASES), name,
                rng.getrandbits(128), rng.getrandbits(30))), "stdout"


def mk_stderr(rng, clk, name):
    r = rng.random()
    if r < 0.45:
        return pick(rng, STACK).replace("{n}", str(rng.getrandbits(9))), "stderr"
    if r < 0.8:
        return ("%s.%03d ERROR 1 --- [%15s] %s : %s" % (
            clk._ymd, clk.ns // 10**6 % 1000, pick(rng, THREADS), pick(rng, JAVA_CLASSES),
            pick(rng, ERRORS))), "stderr"
    if r < 0.9:
        return ("W%s.%06d       1 %s] %s, will retry in %ds" % (
            clk._glog, clk.ns // 1000 % 10**6, pick(rng, GO_FILES), pick(rng, ERRORS),
            1 + rng.getrandbits(4))), "stderr"
    return "panic: runtime error: index out of range [%d] with length %d" % (
        rng.getrandbits(5), rng.getrandbits(4)), "stderr"


class Pools:
    """Large pre-generated texts; long lines are random windows into them (building
    every 8 KiB line item by item would make the generator ten times slower)."""

    def __init__(self, rng, size=4 << 20):
        items, n = [], 0
        while n < size:
            it = '{"sku":"sku-%06d","qty":%d,"price":%d.%02d,"name":"%s %s"}' % (
                rng.getrandbits(20), 1 + rng.getrandbits(3), rng.getrandbits(10),
                rng.getrandbits(6) % 100, pick(rng, WORDS), pick(rng, WORDS))
            items.append(it)
            n += len(it) + 1
        self.items = ",".join(items)
        self.ids = ", ".join(map(str, array.array("I", rng.randbytes(size // 10 * 4))))


POOLS = None


def window(rng, text, size):
    start = int(rng.random() * (len(text) - size))
    return text[start:start + size]


def mk_long(rng, clk, name, lo=2048, hi=15 * 1024):
    global POOLS
    if POOLS is None:
        POOLS = Pools(random.Random(rng.getrandbits(32)))
    size = rng.randrange(lo, hi)
    r = rng.random()
    if r < 0.4:  # debug dump of a JSON payload
        head = 'DEBUG OrderService payload={"order":%d,"items":[' % rng.getrandbits(30)
        return head + window(rng, POOLS.items, size - len(head) - 2) + "]}", "stdout"
    if r < 0.7:  # SQL with a long IN list
        head = "LOG:  duration: %d.%03d ms  statement: SELECT * FROM orders WHERE id IN (" % (
            rng.getrandbits(12), rng.getrandbits(10) % 1000)
        return head + window(rng, POOLS.ids, size - len(head) - 1) + ")", "stdout"
    # base64 blob (incompressible)
    blob = base64.b64encode(rng.randbytes(size * 3 // 4 + 3)).decode("ascii")
    return "WARN dropping message, body=" + blob[:size - 28], "stderr"


def mk_huge(rng, clk, name):
    size = rng.randrange(17 * 1024, 96 * 1024)
    if size % CHUNK == 0:
        size += 1
    return mk_long(rng, clk, name, size, size + 1)


# ---------------------------------------------------------------------------
# containers

def hexid(rng, bits=256):
    return "%0*x" % (bits // 4, rng.getrandbits(bits))


def uuid(rng):
    h = hexid(rng, 128)
    return "%s-%s-4%s-a%s-%s" % (h[:8], h[8:12], h[13:16], h[17:20], h[20:32])


def make_containers(rng, n):
    out = []
    for k in range(n):
        repo, tag = IMAGES[k % len(IMAGES)]
        base = repo.rsplit("/", 1)[-1]
        c = {"id": hexid(rng), "image": repo, "tag": tag, "image_id": "sha256:" + hexid(rng),
             "ns": NAMESPACES[k % len(NAMESPACES)], "cname": base.split(":")[0]}
        c["pod"] = "%s-%s-%s" % (c["cname"], hexid(rng, 40)[:10], hexid(rng, 20)[:5])
        c["uid"] = uuid(rng)
        c["name"] = "%s-%d" % (c["cname"], k)
        c["k8s"] = k % 3 != 2        # two thirds were started by the kubelet (dockershim-style labels)
        c["attrs"] = k % 7 == 3      # --log-opt labels=... : dockerd adds "attrs" to every line
        c["offset"] = 2 if k % 9 == 4 else None  # CRI: a node whose runtime writes local time
        out.append(c)
    return out


def docker_meta(c, k):
    created = "2026-11-19T%02d:%02d:%02d.%09dZ" % (k % 24, k * 7 % 60, k * 13 % 60, k * 1234567 % 10**9)
    labels = {"maintainer": "shop-platform@example.com",
              "org.opencontainers.image.source": "https://github.com/example/%s" % c["cname"],
              "org.opencontainers.image.version": c["tag"]}
    if c["k8s"]:
        name = "/k8s_%s_%s_%s_%s_0" % (c["cname"], c["pod"], c["ns"], c["uid"])
        labels.update({
            "io.kubernetes.container.name": c["cname"],
            "io.kubernetes.docker.type": "container",
            "io.kubernetes.pod.name": c["pod"],
            "io.kubernetes.pod.namespace": c["ns"],
            "io.kubernetes.pod.uid": c["uid"],
            "io.kubernetes.sandbox.id": "%064x" % (k + 1),
            "annotation.io.kubernetes.container.hash": "%08x" % (k * 2654435761 % 2**32),
            "annotation.io.kubernetes.container.restartCount": "0",
            "annotation.io.kubernetes.container.terminationMessagePath": "/dev/termination-log",
            "app.kubernetes.io/name": c["cname"], "app.kubernetes.io/part-of": "shop"})
    else:
        name = "/" + c["name"]
        labels.update({"com.docker.compose.project": "shop", "com.docker.compose.service": c["cname"],
                       "com.docker.compose.container-number": "1", "com.docker.compose.oneoff": "False",
                       "com.docker.compose.version": "2.23.0"})
    env = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
           "DB_PASSWORD=%s-pw-%d" % (SECRET_MARK, k),
           "AWS_SECRET_ACCESS_KEY=%s/k%dEXAMPLEKEYxYz0123456789" % (SECRET_MARK, k),
           "STRIPE_API_KEY=sk_live_%s%d" % (SECRET_MARK, k),
           "LANG=C.UTF-8", "TZ=UTC"]
    user = ["", "1000:1000", "nobody", "root", ""][k % 5]
    config = {
        "StreamConfig": {}, "State": {"Running": True, "Paused": False, "Restarting": False,
                                      "OOMKilled": False, "Pid": 4000 + k, "ExitCode": 0,
                                      "StartedAt": created, "FinishedAt": "0001-01-01T00:00:00Z",
                                      "Health": None},
        "ID": c["id"], "Created": created, "Managed": False, "Path": "/docker-entrypoint.sh",
        "Args": ["serve", "--port=8080"],
        "Config": {"Hostname": c["id"][:12], "Domainname": "", "User": user, "AttachStdin": False,
                   "AttachStdout": True, "AttachStderr": True, "ExposedPorts": {"8080/tcp": {}},
                   "Tty": False, "OpenStdin": False, "StdinOnce": False, "Env": env,
                   "Cmd": ["serve", "--port=8080"], "Image": "%s:%s" % (c["image"], c["tag"]),
                   "Volumes": None, "WorkingDir": "/app", "Entrypoint": ["/docker-entrypoint.sh"],
                   "OnBuild": None, "Labels": labels, "StopSignal": "SIGQUIT"},
        "Image": c["image_id"],
        "NetworkSettings": {"Bridge": "", "SandboxID": "%064x" % (k + 7), "HairpinMode": False,
                            "Networks": {"bridge": {"IPAddress": "172.17.0.%d" % (k + 2),
                                                    "Gateway": "172.17.0.1", "MacAddress": "02:42:ac:11:00:%02x" % (k + 2)}},
                            "Ports": {"8080/tcp": None}},
        "LogPath": "/var/lib/docker/containers/%s/%s-json.log" % (c["id"], c["id"]),
        "Name": name, "Driver": "overlay2", "OS": "linux", "RestartCount": 0,
        "MountPoints": {"/data": {"Source": "/srv/%s" % c["cname"], "Destination": "/data", "RW": True,
                                  "Name": "", "Driver": "", "Type": "bind", "Propagation": "rprivate"}},
        "SecretReferences": None, "AppArmorProfile": "docker-default",
        "HostnamePath": "/var/lib/docker/containers/%s/hostname" % c["id"],
        "HostsPath": "/var/lib/docker/containers/%s/hosts" % c["id"],
    }
    host = {
        "Binds": ["/srv/%s:/data" % c["cname"]],
        "ContainerIDFile": "",
        "LogConfig": {"Type": "json-file", "Config": {"max-file": "5", "max-size": "100m"}},
        "NetworkMode": "host" if k % 10 == 5 else ("container:%064x" % (k + 7) if c["k8s"] else "bridge"),
        "PortBindings": {}, "RestartPolicy": {"Name": "unless-stopped", "MaximumRetryCount": 0},
        "AutoRemove": False, "VolumeDriver": "", "VolumesFrom": None,
        "CapAdd": ["NET_ADMIN", "SYS_TIME"] if k % 6 == 1 else None, "CapDrop": None,
        "CgroupnsMode": "private", "Dns": [], "DnsOptions": [], "DnsSearch": [], "ExtraHosts": None,
        "IpcMode": "private", "Cgroup": "", "Links": None, "OomScoreAdj": 0,
        "PidMode": "host" if k % 10 == 5 else "", "Privileged": k % 10 == 5, "PublishAllPorts": False,
        "ReadonlyRootfs": k % 4 == 0, "SecurityOpt": None, "UTSMode": "", "UsernsMode": "",
        "ShmSize": 67108864, "Runtime": "runc", "Isolation": "", "CpuShares": 0, "Memory": 0,
        "NanoCpus": 0, "MaskedPaths": ["/proc/asound", "/proc/acpi", "/proc/kcore"],
        "ReadonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys"],
    }
    if c["attrs"]:
        host["LogConfig"]["Config"]["labels"] = "com.docker.compose.service"
    return config, host


# ---------------------------------------------------------------------------
# writers

def docker_escape(s):
    """dockerd's JSON string: like encode_basestring plus < > & as \\u00XX."""
    e = encode_basestring(s)
    if "<" in e or ">" in e or "&" in e:
        e = e.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return e


def docker_lines(text, stream, ts, attrs):
    tail = ',"stream":"%s",%s"time":"%s"}\n' % (stream, attrs, ts)
    if len(text) < CHUNK and (text.isascii() or len(text.encode("utf-8")) < CHUNK):
        return ['{"log":' + docker_escape(text + "\n") + tail], 1
    # split every 16 KiB as dockerd does (long lines are ASCII here, so bytes = characters)
    raw = text + "\n"
    parts = [raw[i:i + CHUNK] for i in range(0, len(raw), CHUNK)]
    return ['{"log":' + docker_escape(p) + tail for p in parts], len(parts)


def cri_lines(text, stream, ts):
    if len(text) <= CHUNK and (text.isascii() or len(text.encode("utf-8")) <= CHUNK):
        return ["%s %s F %s\n" % (ts, stream, text)], 1
    parts = [text[i:i + CHUNK] for i in range(0, len(text), CHUNK)]
    last = len(parts) - 1
    return ["%s %s %s %s\n" % (ts, stream, "F" if j == last else "P", p) for j, p in enumerate(parts)], len(parts)


def generate(root, lines, ncont, seed, cri):
    rng = random.Random(seed)
    conts = make_containers(rng, ncont)
    files = []
    if cri:
        cdir = os.path.join(root, "containers")
        os.makedirs(cdir, exist_ok=True)
        for c in conts:
            d = os.path.join(root, "pods", "%s_%s_%s" % (c["ns"], c["pod"], c["uid"]), c["cname"])
            os.makedirs(d, exist_ok=True)
            path = os.path.join(d, "0.log")
            files.append(open(path, "w", encoding="utf-8", newline=""))
            link = os.path.join(cdir, "%s_%s_%s-%s.log" % (c["pod"], c["ns"], c["cname"], c["id"]))
            if os.path.lexists(link):
                os.unlink(link)
            os.symlink(os.path.abspath(path), link)
    else:
        for k, c in enumerate(conts):
            d = os.path.join(root, c["id"])
            os.makedirs(d, exist_ok=True)
            config, host = docker_meta(c, k)
            with open(os.path.join(d, "config.v2.json"), "w") as f:
                json.dump(config, f, separators=(",", ":"))
            with open(os.path.join(d, "hostconfig.json"), "w") as f:
                json.dump(host, f, separators=(",", ":"))
            files.append(open(os.path.join(d, c["id"] + "-json.log"), "w", encoding="utf-8", newline=""))
            c["attrs_json"] = ('"attrs":{"com.docker.compose.service":"%s"},' % c["cname"]) if c["attrs"] else ""

    # chatty containers: weight ~ 1/(k+1)^0.9
    weights = [1.0 / (k + 1) ** 0.9 for k in range(ncont)]
    makers = (mk_plain, mk_json, mk_stderr, mk_long, mk_huge)
    cat_weights = (0.60, 0.30, 0.08, 0.02 - 1 / 20000, 1 / 20000)
    clk = Clock(rng)
    ts_of = clk.rfc3339nano
    esc = encode_basestring
    names = [c["cname"] for c in conts]
    offsets = [c["offset"] for c in conts]
    # everything after the "log" string but the time, per container and stream
    tails = [{st: ',"stream":"%s",%s"time":"' % (st, c.get("attrs_json", "")) for st in ("stdout", "stderr")}
             for c in conts]
    cri_mid = {"stdout": " stdout F ", "stderr": " stderr F "}
    bufs = [[] for _ in conts]
    pending = phys = split = nerr = nlong = maxlen = 0
    done = 0
    while done < lines:
        n = min(100_000, lines - done)
        who = rng.choices(range(ncont), weights, k=n)
        cats = rng.choices(makers, cat_weights, k=n)
        for k, mk in zip(who, cats):
            clk.tick()
            text, stream = mk(rng, clk, names[k])
            if stream == "stderr":
                nerr += 1
            tl = len(text)
            if tl < 2048:  # fast path: never split (< 16 KiB even at 4 bytes per character)
                if cri:
                    bufs[k].append(ts_of(offsets[k]) + cri_mid[stream] + text + "\n")
                else:
                    e = esc(text + "\n")
                    if "<" in e or ">" in e or "&" in e:
                        e = e.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
                    bufs[k].append('{"log":' + e + tails[k][stream] + ts_of() + '"}\n')
                phys += 1
                pending += tl + 100
                continue
            if cri:
                out, parts = cri_lines(text, stream, ts_of(offsets[k]))
            else:
                out, parts = docker_lines(text, stream, ts_of(), conts[k]["attrs_json"])
            bufs[k].extend(out)
            phys += parts
            split += parts > 1
            nlong += 1
            maxlen = max(maxlen, tl)
            pending += tl + 100
        done += n
        if pending >= FLUSH_BYTES or done == lines:
            for f, b in zip(files, bufs):
                f.write("".join(b))
                b.clear()
            pending = 0
    stats = {"physical_lines": phys, "split_events": split, "stderr": nerr, "long": nlong,
             "max_event_bytes": maxlen}
    size = 0
    for f in files:
        f.close()
        size += os.path.getsize(f.name)
    return {"format": "cri" if cri else "docker", "lines": lines, "events": lines,
            "containers": ncont, "seed": seed, "input_bytes": size, **stats}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("root")
    ap.add_argument("--lines", type=int, default=2_000_000, help="events (logical lines) in total")
    ap.add_argument("--containers", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--cri", action="store_true", help="kubelet pods layout instead of Docker json-file")
    ap.add_argument("--manifest", help="where to write manifest.json (default ROOT/manifest.json)")
    a = ap.parse_args()
    if a.lines < 1 or a.containers < 1:
        ap.error("--lines and --containers must be positive")
    os.makedirs(a.root, exist_ok=True)
    t0 = time.monotonic()
    m = generate(a.root, a.lines, a.containers, a.seed, a.cri)
    m["generate_seconds"] = round(time.monotonic() - t0, 1)
    path = a.manifest or os.path.join(a.root, "manifest.json")
    with open(path + ".tmp", "w") as f:
        json.dump(m, f, indent=1)
        f.write("\n")
    os.replace(path + ".tmp", path)  # written last: its presence marks a complete data set
    print("generated %s: %d events, %d physical lines, %.1f MiB in %.1fs -> %s" % (
        m["format"], m["events"], m["physical_lines"], m["input_bytes"] / 2**20,
        m["generate_seconds"], a.root), file=sys.stderr)


if __name__ == "__main__":
    main()
