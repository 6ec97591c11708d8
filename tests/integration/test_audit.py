"""wharf's own life cycle as ECS events in its pipeline (`audit: true`,
event.dataset wharf.audit): started and stopped around a run; a syslog
output that is down at start and comes back (output-down with the error,
output-up); a Kafka message that can never be delivered (events-dropped);
the events reach every output, the retention archive included; without
`audit` there are none.
"""
import os
import socket
import threading

import kafkalib as k
import wharftest as t

ck = t.Checker("test_audit")


def audit_events(path):
    return [e for e in t.read_events(path) if t.get(e, "event.dataset") == "wharf.audit"]


def check_audit_fields(ev, where, action, category, etype, outcome):
    ck.eq(sorted(ev), sorted(["@timestamp", "agent", "ecs", "event", "host", "message", "process"] +
                             (["error"] if "error" in ev else []) +
                             (["wharf"] if "wharf" in ev else [])),
          f"{where}: top-level fields")
    ck.eq(t.get(ev, "ecs.version"), t.ECS_VERSION, f"{where}: ecs.version")
    ck.eq(t.get(ev, "event.kind"), "event", f"{where}: event.kind")
    ck.eq(t.get(ev, "event.dataset"), "wharf.audit", f"{where}: event.dataset")
    ck.eq(t.get(ev, "agent.type"), "wharf", f"{where}: agent.type")
    ck.eq(t.get(ev, "host.name"), t.HOST_NAME, f"{where}: host.name")
    ck.eq(t.get(ev, "event.action"), action, f"{where}: event.action")
    ck.eq(t.get(ev, "event.category"), [category], f"{where}: event.category")
    ck.eq(t.get(ev, "event.type"), [etype], f"{where}: event.type")
    ck.eq(t.get(ev, "event.outcome"), outcome, f"{where}: event.outcome")
    ck.eq(t.get(ev, "event.module"), "wharf", f"{where}: event.module")
    ck.eq(t.get(ev, "process.name"), "wharf", f"{where}: process.name")
    ck.check(isinstance(t.get(ev, "process.pid"), int), f"{where}: process.pid")
    ck.check(t.is_utc9(ev.get("@timestamp")), f"{where}: @timestamp {ev.get('@timestamp')!r}")


def with_audit(cfg):
    with open(cfg, "a") as f:
        f.write("audit: true\n")


def part_a():
    """oneshot: started first, stopped last, in the file output and the archive."""
    s = t.Setup("audit-a")
    docker = t.DockerHost(s.path("docker"))
    docker.add("app").append(t.docker_line("one\n") + t.docker_line("two\n"))
    archive = s.path("archive")
    s.config([{"type": "docker", "id": "docker", "root": docker.root, "read_from": "beginning"}],
             [{"type": "file", "id": "out", "path": s.out},
              {"type": "archive", "id": "keep", "path": archive}])
    with_audit(s.cfg)
    t.oneshot(s.cfg)
    events = t.read_events(s.out)
    ck.eq([t.get(e, "event.dataset") for e in events],
          ["wharf.audit", "docker.container_logs", "docker.container_logs", "wharf.audit"],
          "A: started, the two lines, stopped")
    check_audit_fields(events[0], "A started", "started", "process", "start", "success")
    ck.eq(events[0].get("message"), "wharf started", "A: started message")
    check_audit_fields(events[-1], "A stopped", "stopped", "process", "end", "success")
    ck.eq(events[-1].get("message"), "wharf stopped", "A: stopped message")
    ck.eq(events[0]["process"]["pid"], events[-1]["process"]["pid"], "A: one process")
    p = t.run_wharf(["archive", "cat", archive])
    with open(s.out, "rb") as f:
        ck.eq(p.stdout, f.read(), "A: the archive holds the same events, audit ones included")

    s2 = t.Setup("audit-a-off")
    s2.config([{"type": "docker", "id": "docker", "root": docker.root, "read_from": "beginning"}])
    t.oneshot(s2.cfg)
    ck.eq(audit_events(s2.out), [], "A: no audit events without `audit: true`")


def free_port():
    with socket.socket() as so:
        so.bind(("127.0.0.1", 0))
        return so.getsockname()[1]


class LineReceiver:
    """A TCP listener on a given port that keeps the newline-framed lines."""

    def __init__(self, port):
        self.lines = []
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(4)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._read, args=(conn,), daemon=True).start()

    def _read(self, conn):
        buf = b""
        while True:
            data = conn.recv(65536)
            if not data:
                return
            buf += data
            *done, buf = buf.split(b"\n")
            self.lines += done

    def close(self):
        self.sock.close()


def part_b():
    """live: a syslog receiver that is not there at start, then is."""
    s = t.Setup("audit-b")
    docker = t.DockerHost(s.path("docker"))
    app = docker.add("app")
    app.append(t.docker_line("before the receiver\n"))
    port = free_port()
    s.config([{"type": "docker", "id": "docker", "root": docker.root, "read_from": "beginning"}],
             [{"type": "file", "id": "out", "path": s.out},
              {"type": "syslog", "id": "siem", "address": f"tcp://127.0.0.1:{port}",
               "framing": "newline", "payload": "json"}])
    with_audit(s.cfg)
    live = t.Live(s.cfg, s.log)
    down = t.wait_until(lambda: [e for e in audit_events(s.out)
                                 if t.get(e, "event.action") == "output-down"], 20)
    ck.check(bool(down), f"B: output-down reported; log: {live.log_tail()}")
    receiver = LineReceiver(port)
    up = t.wait_until(lambda: [e for e in audit_events(s.out)
                               if t.get(e, "event.action") == "output-up"], 20)
    ck.check(bool(up), f"B: output-up reported; log: {live.log_tail()}")
    app.append(t.docker_line("after the receiver\n"))
    t.wait_until(lambda: any(b"after the receiver" in line for line in receiver.lines), 20)
    ck.eq(live.term(), 0, "B: SIGTERM exit code")
    receiver.close()
    actions = [t.get(e, "event.action") for e in audit_events(s.out)]
    ck.eq(actions, ["started", "output-down", "output-up", "stopped"], "B: the audit trail")
    if down:
        ev = down[0]
        check_audit_fields(ev, "B down", "output-down", "network", "error", "failure")
        ck.eq(t.get(ev, "wharf.output.id"), "siem", "B: down names the output")
        ck.check(bool(t.get(ev, "error.message")), f"B: down says why: {ev}")
        ck.check(ev.get("message", "").startswith("output siem is down"),
                 f"B: down message: {ev.get('message')!r}")
    if up:
        ev = up[0]
        check_audit_fields(ev, "B up", "output-up", "network", "connection", "success")
        ck.eq(t.get(ev, "wharf.output.id"), "siem", "B: up names the output")
        ck.eq(ev.get("message"), "output siem is up again", "B: up message")
    got = [line for line in receiver.lines if b"before the receiver" in line or
           b"after the receiver" in line]
    ck.eq(len(got), 2, "B: the receiver got both container lines once")
    ck.check(any(b"output-down" in line for line in receiver.lines),
             "B: the receiver got the output-down event too, once it was back")


def part_c():
    """live: a message Kafka can never take is an events-dropped record."""
    s = t.Setup("audit-c")
    docker = t.DockerHost(s.path("docker"))
    c = docker.add("app")
    with k.KafkaMock() as mock:
        s.config([{"type": "docker", "id": "docker", "root": docker.root,
                   "read_from": "beginning"}],
                 [{"type": "file", "id": "out", "path": s.out},
                  {"type": "kafka", "id": "siem", "brokers": mock.bootstrap, "topic": "big",
                   "librdkafka": {"message.max.bytes": "20000"}}])
        with_audit(s.cfg)
        live = t.Live(s.cfg, s.log)
        t.wait_until(lambda: audit_events(s.out), 20)
        c.append(t.docker_line("x" * 30000 + "\n") + t.docker_line("after\n"))
        dropped = t.wait_until(lambda: [e for e in audit_events(s.out)
                                        if t.get(e, "event.action") == "events-dropped"], 30)
        ck.eq(live.term(), 0, "C: SIGTERM exit code")
    ck.check(bool(dropped), f"C: events-dropped reported; log: {live.log_tail()}")
    if dropped:
        ev = dropped[0]
        check_audit_fields(ev, "C dropped", "events-dropped", "process", "error", "failure")
        ck.eq(t.get(ev, "wharf.output.id"), "siem", "C: names the output")
        ck.eq(t.get(ev, "wharf.events.dropped"), 1, "C: one event")
        ck.eq(ev.get("message"),
              "1 events will never reach output siem (dropped by a full buffer, or undeliverable)",
              "C: message")


def main():
    part_a()
    part_b()
    part_c()
    ck.finish()


if __name__ == "__main__":
    main()
