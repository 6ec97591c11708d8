"""The HTTP API (api.listen): GET /metrics, /health, /ready and `wharf health`.

A. Metrics against what arrived. Docker (two containers, two lines that are
   not JSON) and CRI (one line not in CRI format) inputs, a parser that
   matches some of one container's lines, a file output. /metrics is scraped
   while wharf runs: after each batch is delivered every number equals what
   the test wrote and what the output file holds (events per input, bytes =
   file sizes, open files, parse errors, parser matched/unmatched, output
   events = lines in the file, lags 0, buffer bytes and segments as `wharf
   buffer stat` shows them); a scrape taken while a larger batch is on its
   way never claims more than the file holds. The exposition is checked
   line by line (HELP and TYPE before each family's samples). /ready and
   /health answer 200.
B. HTTP edges: 404, 405 with Allow, 400, 505, 431 for a 9 KiB head,
   HTTP/1.0, a query string; the 17th concurrent connection gets 503 and a
   request after the others closed is served; a client that sends nothing
   is disconnected after 5 s.
C. Configuration: `wharf check` reports a bad api.listen as FILE:LINE;
   `wharf run` refuses to start when the port is taken; `wharf health`
   with nobody listening exits 1.
D. /health with a Kafka output (librdkafka's mock cluster,
   health.output_down_after: 1s): 200; every broker down -> 503 naming the
   output, `wharf health` exits 1 and prints the same JSON,
   wharf_output_up 0 and the unconfirmed events as lag; brokers back ->
   200, every event delivered and counted.
"""
import json
import os
import re
import select
import socket
import time

import kafkalib as k
import wharftest as t

ck = t.Checker("api")

PARSER = """name: kvuser
description: the user of web0's "user=NAME ..." lines (test parser)
when:
  - container.name: web0
rules:
  - id: nested
    regex: '^(?:(a|aa)*c|(?<user>a+)!$)'
    fields: {user.name: "{user}"}
  - id: user
    regex: '^user=(?<user>\\S+) '
    fields: {user.name: "{user}"}
samples:
  - message: "user=alice logged in"
    fields: {container.name: web0}
    expect: {user.name: alice}
"""


# ------------------------------------------------------------------ http ---


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def exchange(port, raw, timeout=10, host="127.0.0.1"):
    """Sends raw bytes, reads until the server closes; (status, headers, body)."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(fam, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect((host, port))
        s.sendall(raw)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    return parse_response(data)


def parse_response(data):
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        return None, {}, data
    lines = head.decode("latin-1").split("\r\n")
    m = re.match(r"HTTP/1\.1 (\d{3}) [A-Za-z ]+$", lines[0])
    headers = {}
    for ln in lines[1:]:
        name, _, value = ln.partition(":")
        headers[name.strip().lower()] = value.strip()
    return (int(m.group(1)) if m else None), headers, body


def get(port, path, version="1.1", host="127.0.0.1"):
    return exchange(port, f"GET {path} HTTP/{version}\r\nHost: x\r\n\r\n".encode(), host=host)


def start(cfg, log, port):
    """`wharf run` in the background, once its API answers."""
    live = t.Live(cfg, log)

    def up():
        try:
            return get(port, "/ready")[0] == 200
        except OSError:
            return False
    if not t.wait_until(up, 15):
        ck.fail(f"wharf's API on port {port} did not come up: {live.log_tail()}")
    return live


# --------------------------------------------------------------- metrics ---

SAMPLE = re.compile(r'^([a-z_]+)(?:\{([a-z_]+)="((?:[^"\\]|\\.)*)"\})? (-?[0-9]+(?:\.[0-9]+)?)$')


def scrape(port):
    """/metrics -> {(name, label value or None): number}; checks the format."""
    status, headers, body = get(port, "/metrics")
    ck.eq(status, 200, "/metrics status")
    ck.eq(headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8",
          "/metrics content type")
    ck.eq(int(headers.get("content-length", -1)), len(body), "/metrics Content-Length")
    out, helped, typed = {}, set(), {}
    for ln in body.decode().split("\n")[:-1]:
        if ln.startswith("# HELP "):
            helped.add(ln.split(" ")[2])
            continue
        if ln.startswith("# TYPE "):
            _, _, name, kind = ln.split(" ")
            typed[name] = kind
            continue
        m = SAMPLE.match(ln)
        if not ck.check(m, f"/metrics: not a sample line: {ln!r}"):
            continue
        name, _, value, num = m.groups()
        ck.check(name in helped and name in typed, f"/metrics: {name} has no HELP/TYPE before it")
        ck.check(not name.endswith("_total") or typed.get(name) == "counter",
                 f"/metrics: {name} is a {typed.get(name)}")
        label = None if value is None else re.sub(r"\\(.)", lambda x: {"n": "\n"}.get(
            x.group(1), x.group(1)), value)
        out[(name, label)] = float(num) if "." in num else int(num)
    return out


def wait_metric(port, key, want, timeout=15):
    """Polls until metric key equals want; returns the last scrape."""
    deadline = time.monotonic() + timeout
    while True:
        m = scrape(port)
        if m.get(key) == want or time.monotonic() > deadline:
            return m
        time.sleep(0.1)


def buffer_stat(cfg):
    return json.loads(t.run_wharf(["buffer", "stat", "-c", cfg, "--json"]).stdout)


def write_config(s, inputs, outputs, listen, extra=""):
    t.write_config(s.cfg, s.data, inputs, outputs, out_path=s.out)
    with open(s.cfg, "a") as f:
        f.write(f"api: {{listen: {t.y(listen)}}}\n{extra}")


# ------------------------------------------------------------------ A ---


def docker_batch(web0, web1, start, n):
    """web0: n lines, two thirds "user=...", the others lines the nested
    rule gives up on (parser_match_limit 1000); web1: n lines and one not
    JSON."""
    users = 0
    data0 = b""
    for i in range(start, start + n):
        if i % 3:
            data0 += t.docker_line(f"user=u{i} logged in\n")
            users += 1
        else:
            data0 += t.docker_line(f"{'a' * 20}! plain line {i}\n")
    web0.append(data0)
    web1.append(b"".join(t.docker_line(f"web1 {i}\n") for i in range(start, start + n)) +
                b"this is not json\n")
    return users


def check_numbers(ck_, m, s, web0, web1, pod, want, what):
    """want: events per input, parse errors, parser counts; the rest from files."""
    lines = t.OutputCounter(s.out).update()
    ck_.eq(m.get(("wharf_output_events_total", "out")), lines,
           f"{what}: output events = lines in the output file")
    ck_.eq(lines, want["docker"] + want["pods"], f"{what}: lines in the output file")
    for inp in ("docker", "pods"):
        ck_.eq(m.get(("wharf_input_events_total", inp)), want[inp], f"{what}: {inp} events")
        ck_.eq(m.get(("wharf_input_parse_errors_total", inp)), want[inp + "_errors"],
               f"{what}: {inp} parse errors")
        ck_.eq(m.get(("wharf_input_lag_bytes", inp)), 0, f"{what}: {inp} lag bytes")
    ck_.eq(m.get(("wharf_input_bytes_total", "docker")),
           os.path.getsize(web0.log) + os.path.getsize(web1.log), f"{what}: docker bytes")
    ck_.eq(m.get(("wharf_input_bytes_total", "pods")), os.path.getsize(pod.path),
           f"{what}: cri bytes")
    ck_.eq(m.get(("wharf_input_open_files", "docker")), 2, f"{what}: docker open files")
    ck_.eq(m.get(("wharf_input_open_files", "pods")), 1, f"{what}: cri open files")
    ck_.eq(m.get(("wharf_parser_matched_total", "kvuser")), want["matched"], f"{what}: matched")
    ck_.eq(m.get(("wharf_parser_unmatched_total", "kvuser")), want["unmatched"],
           f"{what}: unmatched")
    ck_.eq(m.get(("wharf_parser_match_limit_total", "kvuser")), want["unmatched"],
           f"{what}: gave up")
    for key, v in ((("wharf_output_lag_events", "out"), 0), (("wharf_output_lag_bytes", "out"), 0),
                   (("wharf_output_failed_total", "out"), 0), (("wharf_output_up", "out"), 1),
                   (("wharf_output_retries_total", "out"), 0),
                   (("wharf_buffer_dropped_events_total", None), 0)):
        ck_.eq(m.get(key), v, f"{what}: {key[0]}")
    st = buffer_stat(s.cfg)
    ck_.eq(m.get(("wharf_buffer_segments", None)), len(st["segments"]), f"{what}: segments")
    ck_.eq(m.get(("wharf_buffer_bytes", None)), sum(g["bytes"] for g in st["segments"]),
           f"{what}: buffer bytes")


def part_a(port):
    s = t.Setup("api-a")
    docker = t.DockerHost(s.path("docker"))
    web0, web1 = docker.add("web0"), docker.add("web1")
    pods = t.PodLogs(s.path("k8s"))
    pod = pods.add("prod", "api-7d9f8b6c5-x2x4z", "api")
    with open(s.path("parser.yaml"), "w") as f:
        f.write(PARSER)
    write_config(s, [{"type": "docker", "id": "docker", "root": docker.root,
                      "read_from": "beginning"},
                     {"type": "cri", "id": "pods", "paths": [pods.glob()],
                      "containers_dir": pods.containers_dir, "read_from": "beginning"}],
                 [{"type": "file", "id": "out", "path": s.out}], f"127.0.0.1:{port}",
                 f"pipeline: {{parsers: [{t.y(s.path('parser.yaml'))}], "
                 "parser_match_limit: 1000}\n")
    t0 = time.time()
    users = docker_batch(web0, web1, 0, 30)
    pod.append(b"".join(t.cri_line(f"pod line {i}") for i in range(25)) + b"garbage\n")
    want = {"docker": 61, "docker_errors": 1, "pods": 26, "pods_errors": 1,
            "matched": users, "unmatched": 30 - users}
    live = start(s.cfg, s.log, port)
    try:
        m = wait_metric(port, ("wharf_output_events_total", "out"), 87)
        check_numbers(ck, m, s, web0, web1, pod, want, "A1")
        ck.check(t0 - 2 <= m[("process_start_time_seconds", None)] <= time.time(),
                 f"A: start time {m[('process_start_time_seconds', None)]} (test began {t0})")
        ck.check(0 <= m[("wharf_uptime_seconds", None)] <= time.time() - t0 + 1,
                 f"A: uptime {m[('wharf_uptime_seconds', None)]}")
        ck.check(1 << 20 < m[("process_resident_memory_bytes", None)] < 1 << 30,
                 f"A: RSS {m[('process_resident_memory_bytes', None)]}")
        ck.check(0 <= m[("process_cpu_seconds_total", None)] < 60, "A: CPU seconds")
        ck.eq(get(port, "/ready")[::2], (200, b"ready\n"), "A: /ready while running")
        ck.eq(get(port, "/health")[::2], (200, b'{"status":"ok","problems":[]}\n'),
              "A: /health")
        # a larger batch: a scrape on the way never runs ahead of the file
        users += docker_batch(web0, web1, 30, 3000)
        pod.append(b"".join(t.cri_line(f"pod line {i}") for i in range(25, 2025)))
        for _ in range(5):
            m = scrape(port)
            lines = t.OutputCounter(s.out).update()
            ck.check(m[("wharf_output_events_total", "out")] <= lines,
                     f"A2: output events {m[('wharf_output_events_total', 'out')]} > {lines} "
                     "lines in the file")
            ck.check(m[("wharf_output_events_total", "out")] <=
                     m[("wharf_input_events_total", "docker")] +
                     m[("wharf_input_events_total", "pods")], "A2: output ahead of inputs")
            time.sleep(0.05)
        want.update(docker=61 + 6001, docker_errors=2, pods=2026, matched=users,
                    unmatched=3030 - users)
        m = wait_metric(port, ("wharf_output_events_total", "out"), 61 + 6001 + 2026)
        check_numbers(ck, m, s, web0, web1, pod, want, "A3")
    finally:
        ck.eq(live.term(), 0, "A: exit code after SIGTERM")
    events = t.read_events(s.out)
    ck.eq(sum(1 for e in events if t.get(e, "user.name")), users,
          "A: events the parser gave a user.name")
    ck.eq(sum(1 for e in events if "parser_match_limit" in (e.get("tags") or [])), 3030 - users,
          "A: events tagged parser_match_limit")
    with open(s.log) as f:
        warned = [ln for ln in f if "gave up on a message" in ln]
    ck.check(1 <= len(warned) <= 5 and all("parser=kvuser rule=nested" in w for w in warned),
             f"A: the give-up warning, rate-limited, naming the rule: {warned[:3]}")


# ------------------------------------------------------------------ B ---


def hold_connections(port, n, deadline_s=3.0):
    """n idle connections the server took as clients. Connections the
    server is still closing count toward its limit, so right after other
    requests one of these may be refused (503 at once, readable here): it is
    replaced until none is. Within deadline_s: held clients time out at 5 s.
    Returns (held, refused): refused > 0 only if the deadline passed."""
    held = []
    end = time.monotonic() + deadline_s
    while True:
        while len(held) < n:
            held.append(socket.create_connection(("127.0.0.1", port)))
        time.sleep(0.3)
        refused = [h for h in held if select.select([h], [], [], 0)[0]]
        if not refused or time.monotonic() > end:
            return held, len(refused)
        for h in refused:
            h.close()
            held.remove(h)


def part_b(port):
    s = t.Setup("api-b")
    docker = t.DockerHost(s.path("docker"))
    write_config(s, [{"type": "docker", "id": "docker", "root": docker.root}],
                 [{"type": "file", "id": "out", "path": s.out}], f"127.0.0.1:{port}")
    live = start(s.cfg, s.log, port)
    try:
        status, headers, body = get(port, "/nope")
        ck.eq((status, body), (404, b"not found: the API serves /metrics, /health and /ready\n"),
              "B: unknown path")
        ck.eq(headers.get("connection"), "close", "B: Connection: close")
        status, headers, _ = exchange(port, b"POST /metrics HTTP/1.1\r\nContent-Length: 2\r\n"
                                            b"\r\nhi")
        ck.eq((status, headers.get("allow")), (405, "GET"), "B: POST")
        ck.eq(exchange(port, b"DELETE /health HTTP/1.1\r\n\r\n")[0], 405, "B: DELETE")
        ck.eq(exchange(port, b"HELLO\r\n\r\n")[0], 400, "B: garbage")
        ck.eq(exchange(port, b"GET /metrics HTTP/2.0\r\n\r\n")[0], 505, "B: HTTP/2.0")
        big = b"GET /metrics HTTP/1.1\r\nX-Pad: " + b"a" * 9000 + b"\r\n\r\n"
        ck.eq(exchange(port, big)[::2], (431, b"request head larger than 8 KiB\n"),
              "B: 9 KiB head")
        ck.eq(get(port, "/ready", version="1.0")[::2], (200, b"ready\n"), "B: HTTP/1.0")
        ck.eq(get(port, "/metrics?x=1&y")[0], 200, "B: query string")
        # the connection limit: 16 held open, the 17th is refused, then all is well
        held, refused = hold_connections(port, 16)
        ck.eq(refused, 0, "B: 16 idle connections taken as clients")
        with socket.create_connection(("127.0.0.1", port), timeout=5) as extra:
            data = b""
            while chunk := extra.recv(4096):
                data += chunk
        ck.eq(parse_response(data)[::2], (503, b"too many connections\n"), "B: 17th connection")
        for h in held:
            h.close()
        time.sleep(0.3)
        ck.eq(get(port, "/ready")[0], 200, "B: served again once the others closed")
        # a client that never sends its request is let go
        t0 = time.monotonic()
        with socket.create_connection(("127.0.0.1", port), timeout=15) as idle:
            idle.sendall(b"GET /metr")
            ck.eq(idle.recv(4096), b"", "B: idle connection closed without an answer")
        waited = time.monotonic() - t0
        ck.check(4.5 <= waited <= 8, f"B: idle connection closed after {waited:.1f} s (want 5)")
        ck.check(live.alive(), "B: wharf still runs")
    finally:
        ck.eq(live.term(), 0, "B: exit code after SIGTERM")


# ------------------------------------------------------------------ C ---


def part_c():
    s = t.Setup("api-c")
    docker = t.DockerHost(s.path("docker"))
    t.write_config(s.cfg, s.data, [{"type": "docker", "id": "docker", "root": docker.root}],
                   None, out_path=s.out)
    with open(s.cfg) as f:
        n_lines = len(f.read().splitlines())
    with open(s.cfg, "a") as f:
        f.write("api:\n  listen: localhost:9880\n")
    p = t.run_wharf(["check", "-c", s.cfg])
    ck.eq(p.returncode, 2, "C: wharf check exit code for a bad api.listen")
    ck.check(f'{s.cfg}:{n_lines + 2}: api: listen "localhost:9880": the host is not an IPv4 '
             'address' in p.stderr.decode(), f"C: FILE:LINE message: {p.stderr.decode()!r}")
    # a port that is taken
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    write_config(s, [{"type": "docker", "id": "docker", "root": docker.root}],
                 [{"type": "file", "id": "out", "path": s.out}],
                 f"127.0.0.1:{taken.getsockname()[1]}")
    p = t.run_wharf(["run", "-c", s.cfg], timeout=30)
    err = p.stderr.decode()
    ck.eq(p.returncode, 1, "C: wharf run exit code when the port is taken")
    ck.check(re.search(r'level=error msg="cannot listen on api.listen; [^"]*" listen=127\.0\.0\.1:'
                       r'\d+ error="Address already in use"', err),
             f"C: the bind error is explained: {err[-600:]!r}")
    ck.check('msg="running"' not in err, "C: wharf did not start")
    taken.close()
    # nobody there
    p = t.run_wharf(["health", "-c", s.cfg])
    ck.eq((p.returncode, p.stdout), (1, b""), "C: wharf health without a wharf")
    ck.check(b"wharf health: no answer from 127.0.0.1:" in p.stderr and b"refused" in p.stderr,
             f"C: wharf health says why: {p.stderr!r}")


# ------------------------------------------------------------------ D ---


def health_json(port):
    status, headers, body = get(port, "/health")
    ck.eq(headers.get("content-type"), "application/json", "D: /health content type")
    return status, json.loads(body)


def wait_health(port, want, timeout):
    deadline = time.monotonic() + timeout
    while True:
        status, doc = health_json(port)
        if status == want or time.monotonic() > deadline:
            return status, doc
        time.sleep(0.2)


def part_d(port):
    s = t.Setup("api-d")
    docker = t.DockerHost(s.path("docker"))
    c = docker.add("app")
    with k.KafkaMock(brokers=1) as mock:
        mock.topic("app", 1)
        write_config(s, [{"type": "docker", "id": "docker", "root": docker.root,
                          "read_from": "beginning"}],
                     [{"type": "kafka", "id": "siem", "brokers": mock.bootstrap, "topic": "app",
                       "librdkafka": {"reconnect.backoff.max.ms": "500"}}],
                     f"127.0.0.1:{port}", "health: {output_down_after: 1s}\n")
        c.append(b"".join(t.docker_line(f"n={i}\n") for i in range(50)))
        live = start(s.cfg, s.log, port)
        try:
            ck.eq(len(k.consume(mock.bootstrap, "app", 50)), 50, "D: first lines in Kafka")
            m = wait_metric(port, ("wharf_output_events_total", "siem"), 50)
            ck.eq(m.get(("wharf_output_events_total", "siem")), 50, "D: confirmed events")
            ck.eq(health_json(port), (200, {"status": "ok", "problems": []}), "D: healthy")
            p = t.run_wharf(["health", "-c", s.cfg])
            ck.eq((p.returncode, p.stdout), (0, b'{"status":"ok","problems":[]}\n'),
                  "D: wharf health while healthy")
            mock.down(-1)
            c.append(b"".join(t.docker_line(f"n={i}\n") for i in range(50, 70)))
            status, doc = wait_health(port, 503, 30)
            ck.eq(status, 503, "D: /health once the brokers are down")
            probs = doc.get("problems", [])
            ck.eq(doc.get("status"), "unhealthy", "D: status")
            ck.eq([(p_["stage"], p_["output"]) for p_ in probs], [("output", "siem")],
                  f"D: the problem names the output: {doc}")
            ck.check(probs and probs[0]["down_seconds"] >= 1.0 and probs[0]["error"],
                     f"D: how long and why: {doc}")
            p = t.run_wharf(["health", "-c", s.cfg])
            ck.eq(p.returncode, 1, "D: wharf health exit code while unhealthy")
            ck.eq(json.loads(p.stdout or b"{}").get("problems", [{}])[0].get("output"), "siem",
                  f"D: wharf health prints the JSON: {p.stdout!r}")
            m = scrape(port)
            ck.eq(m.get(("wharf_output_up", "siem")), 0, "D: wharf_output_up while down")
            ck.eq(m.get(("wharf_output_lag_events", "siem")), 20, "D: unconfirmed events as lag")
            ck.check(m.get(("wharf_output_retries_total", "siem"), 0) >= 1,
                     f"D: failed connections counted: {m.get(('wharf_output_retries_total', 'siem'))}")
            mock.up(-1)
            status, doc = wait_health(port, 200, 60)
            ck.eq((status, doc), (200, {"status": "ok", "problems": []}), "D: healthy again")
            ck.eq(len(k.consume(mock.bootstrap, "app", 70)), 70, "D: every line in Kafka")
            m = wait_metric(port, ("wharf_output_events_total", "siem"), 70)
            ck.eq([m.get((n, "siem")) for n in ("wharf_output_events_total", "wharf_output_up",
                                                 "wharf_output_lag_events",
                                                 "wharf_output_failed_total")],
                  [70, 1, 0, 0], "D: events, up, lag, failed after the outage")
        finally:
            ck.eq(live.term(), 0, "D: exit code after SIGTERM")


def main():
    t0 = time.monotonic()
    part_a(free_port())
    part_b(free_port())
    part_c()
    part_d(free_port())
    ck.finish(f"({time.monotonic() - t0:.1f} s)")


main()
