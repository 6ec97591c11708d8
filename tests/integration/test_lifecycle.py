"""wharf's life cycle under signals.

A. SIGTERM with a slow output: wharf stops reading, gives the outputs
   shutdown_timeout to take the rest, saves the cursors and exits 0 in
   about that time; the fast output got everything, the slow one's rest is
   in the buffer (buffer stat) and goes out at the next start: none lost.
B. SIGTERM with fast outputs delivers everything before exiting.
C. SIGHUP with a valid change (an output added, one removed): the new
   output gets the events that come after, the others carry on without a
   gap or a repeat, the removed one releases its cursor; an audit event
   records the reload.
D. SIGHUP with an invalid config: rejected with FILE:LINE errors in the log,
   the old config keeps running (events still flow, nothing lost).
E. SIGHUP changing an output and an input under the same ids: they take
   over the cursor and the positions of the instances they replace.
"""
import json
import os
import signal
import socket
import threading
import time

import wharftest as t

ck = t.Checker("test_lifecycle")
LINES = 20000


def stat_outputs(cfg):
    p = t.run_wharf(["buffer", "stat", "-c", cfg, "--json"])
    return {o["id"]: o for o in json.loads(p.stdout)["outputs"]}


def numbered(c, start, count):
    c.append(b"".join(t.docker_line(f"n={i}\n") for i in range(start, start + count)))


def numbers_in(lines):
    """The n of each "n=<n>" event, from NDJSON or syslog lines."""
    got = []
    for line in lines:
        # a syslog line is the RFC 5424 header, then the event's JSON
        msg = json.loads(line[line.index(b"{"):]).get("message", "")
        if msg.startswith("n="):
            got.append(int(msg[2:]))
    return got


def file_numbers(path):
    """The numbers in a file output's complete lines so far ([] before it exists)."""
    try:
        with open(path, "rb") as f:
            return numbers_in(f.read().split(b"\n")[:-1])
    except FileNotFoundError:
        return []


class SlowReceiver:
    """TCP on a free port; reads `chunk` bytes per `pause` seconds, so a
    sender fills the socket buffers and waits. Keeps complete lines."""

    def __init__(self, chunk=2048, pause=0.05, port=0):
        self.lines = []
        self.chunk, self.pause = chunk, pause
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.port = self.sock.getsockname()[1]
        self.sock.listen(4)
        self.stop = False
        self.readers = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while not self.stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            if self.pause:  # a small window, so that the sender really waits
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            reader = threading.Thread(target=self._read, args=(conn,), daemon=True)
            self.readers.append(reader)
            reader.start()

    def _read(self, conn):
        buf = b""
        while True:
            try:
                data = conn.recv(self.chunk)
            except OSError:
                return
            if not data:
                return
            buf += data
            *done, buf = buf.split(b"\n")
            self.lines += done
            if self.pause:
                time.sleep(self.pause)

    def close(self):
        """Once the sender has exited: reads what its connections still
        hold, at full speed, to their end. wharf counts a line as delivered
        once this side's TCP acknowledged it, so a line left unread here
        would look lost (it did under valgrind: 1,092 of them)."""
        self.pause, self.chunk = 0, 1 << 16
        self.stop = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the accept() so the port is free
        except OSError:
            pass
        self.sock.close()
        for reader in self.readers:
            reader.join(30)


def part_a():
    s = t.Setup("life-a")
    docker = t.DockerHost(s.path("docker"))
    app = docker.add("app")
    numbered(app, 0, LINES)
    slow = SlowReceiver()
    s.config([{"type": "docker", "id": "docker", "root": docker.root, "read_from": "beginning"}],
             [{"type": "file", "id": "out", "path": s.out},
              {"type": "syslog", "id": "slow", "address": f"tcp://127.0.0.1:{slow.port}",
               "framing": "newline", "payload": "json"}])
    with open(s.cfg, "a") as f:
        f.write("shutdown_timeout: 2s\n")
    live = t.Live(s.cfg, s.log)
    t.wait_count(s.out, LINES, 30)
    t0 = time.monotonic()
    rc = live.term(timeout=30)
    took = time.monotonic() - t0
    slow.close()
    ck.eq(rc, 0, "A: SIGTERM exit code with a slow output")
    ck.check(1.5 < took < 6, f"A: stopped in about shutdown_timeout (2 s): {took:.1f} s")
    log = live.log_tail(20000)
    ck.check("shutdown_timeout reached before the output took every event" in log and
             "output=slow" in log, f"A: the timeout is logged for the slow output: {log[-1500:]}")
    ck.eq(sorted(file_numbers(s.out)), list(range(LINES)), "A: the file output got everything")
    first = numbers_in(slow.lines)
    ck.check(0 < len(first) < LINES, f"A: the slow output got part of it: {len(first)}")
    outs = stat_outputs(s.cfg)
    ck.eq(outs["out"]["lag_events"], 0, "A: file output cursor at the end")
    ck.check(outs["slow"]["lag_events"] > 0, f"A: the slow output's rest waits: {outs['slow']}")

    fast = SlowReceiver(chunk=1 << 16, pause=0, port=slow.port)
    t.oneshot(s.cfg)
    fast.close()
    second = numbers_in(fast.lines)
    ck.eq(sorted(set(first) | set(second)), list(range(LINES)),
          "A: after the next start the slow output has every line")
    ck.note(f"A: {len(first)} lines before the stop, {len(second)} after, "
            f"{len(first) + len(second) - LINES} sent twice")


def part_b():
    s = t.Setup("life-b")
    docker = t.DockerHost(s.path("docker"))
    app = docker.add("app")
    receiver = SlowReceiver(chunk=1 << 16, pause=0)
    s.config([{"type": "docker", "id": "docker", "root": docker.root, "read_from": "beginning"}],
             [{"type": "file", "id": "out", "path": s.out},
              {"type": "syslog", "id": "siem", "address": f"tcp://127.0.0.1:{receiver.port}",
               "framing": "newline", "payload": "json"}])
    live = t.Live(s.cfg, s.log)
    time.sleep(0.5)
    numbered(app, 0, 5000)
    time.sleep(0.3)  # SIGTERM while it is still reading
    ck.eq(live.term(timeout=30), 0, "B: SIGTERM exit code")
    receiver.close()
    got_file = file_numbers(s.out)
    ck.eq(sorted(numbers_in(receiver.lines)), sorted(got_file),
          "B: the syslog output got what the file output got")
    outs = stat_outputs(s.cfg)
    ck.eq((outs["out"]["lag_events"], outs["siem"]["lag_events"]), (0, 0),
          "B: both cursors at the end")
    t.oneshot(s.cfg)
    ck.eq(sorted(file_numbers(s.out)), list(range(5000)),
          "B: with the next start, every line once in the file output")


def part_c():
    s = t.Setup("life-c")
    docker = t.DockerHost(s.path("docker"))
    app = docker.add("app")
    second = s.path("out", "second.ndjson")
    gone = s.path("out", "gone.ndjson")
    inputs = [{"type": "docker", "id": "docker", "root": docker.root, "read_from": "beginning"}]
    s.config(inputs, [{"type": "file", "id": "out", "path": s.out},
                      {"type": "file", "id": "gone", "path": gone}])
    with open(s.cfg, "a") as f:
        f.write("audit: true\n")
    live = t.Live(s.cfg, s.log)
    numbered(app, 0, 1000)
    t.wait_until(lambda: len(file_numbers(s.out)) >= 1000, 20)
    s.config(inputs, [{"type": "file", "id": "out", "path": s.out},
                      {"type": "file", "id": "second", "path": second}])
    with open(s.cfg, "a") as f:
        f.write("audit: true\n")
    live.signal(signal.SIGHUP)
    reloaded = t.wait_until(lambda: "configuration reloaded" in live.log_tail(20000), 10)
    ck.check(bool(reloaded), f"C: reload logged: {live.log_tail()}")
    numbered(app, 1000, 1000)
    t.wait_until(lambda: len(file_numbers(s.out)) >= 2000 and os.path.exists(second) and
                 len(file_numbers(second)) >= 1000, 20)
    ck.eq(live.term(), 0, "C: SIGTERM exit code")
    ck.eq(file_numbers(s.out), list(range(2000)), "C: the kept output: every line once, in order")
    ck.eq(file_numbers(second), list(range(1000, 2000)),
          "C: the added output: the lines after the reload")
    ck.eq(file_numbers(gone), list(range(1000)), "C: the removed output: the lines before")
    outs = stat_outputs(s.cfg)
    ck.eq(sorted(outs), ["out", "second"], "C: the removed output released its cursor")
    actions = [t.get(e, "event.action") for e in t.read_events(s.out)
               if t.get(e, "event.dataset") == "wharf.audit"]
    ck.eq(actions, ["started", "config-reloaded", "stopped"], "C: the audit trail")


def part_d():
    s = t.Setup("life-d")
    docker = t.DockerHost(s.path("docker"))
    app = docker.add("app")
    inputs = [{"type": "docker", "id": "docker", "root": docker.root, "read_from": "beginning"}]
    s.config(inputs)
    with open(s.cfg, "a") as f:
        f.write("audit: true\n")
    live = t.Live(s.cfg, s.log)
    numbered(app, 0, 500)
    t.wait_until(lambda: len(file_numbers(s.out)) >= 500, 20)
    good = open(s.cfg).read()
    with open(s.cfg, "w") as f:
        f.write(good.replace("outputs:", "outputs:\n  - {type: fiel, id: typo, path: /tmp/x}"))
    live.signal(signal.SIGHUP)
    rejected = t.wait_until(lambda: "configuration rejected" in live.log_tail(20000), 10)
    log = live.log_tail(20000)
    ck.check(bool(rejected), f"D: rejection logged: {log}")
    ck.check(f"{s.cfg}:" in log and "fiel" in log, f"D: the error names FILE:LINE: {log[-1500:]}")
    numbered(app, 500, 500)
    t.wait_until(lambda: len(file_numbers(s.out)) >= 1000, 20)
    ck.eq(live.term(), 0, "D: SIGTERM exit code")
    ck.eq(file_numbers(s.out), list(range(1000)), "D: the old config kept running, nothing lost")
    rej = [e for e in t.read_events(s.out) if t.get(e, "event.action") == "config-rejected"]
    ck.eq(len(rej), 1, "D: one config-rejected audit event")
    if rej:
        ck.check("fiel" in t.get(rej[0], "error.message", ""), f"D: it says why: {rej[0]}")


def part_e():
    """SIGHUP changing an output's path and an input's options (same ids):
    the new output instance goes on from the old one's cursor, the new input
    from the old one's positions: every line once across the two files."""
    s = t.Setup("life-e")
    docker = t.DockerHost(s.path("docker"))
    app = docker.add("app")
    before, after = s.path("out", "before.ndjson"), s.path("out", "after.ndjson")
    s.config([{"type": "docker", "id": "docker", "root": docker.root, "read_from": "beginning"}],
             [{"type": "file", "id": "out", "path": before}])
    live = t.Live(s.cfg, s.log)
    numbered(app, 0, 1000)
    t.wait_until(lambda: len(file_numbers(before)) >= 1000, 20)
    s.config([{"type": "docker", "id": "docker", "root": docker.root, "read_from": "end"}],
             [{"type": "file", "id": "out", "path": after}])
    live.signal(signal.SIGHUP)
    t.wait_until(lambda: "configuration reloaded" in live.log_tail(20000), 10)
    numbered(app, 1000, 1000)
    t.wait_until(lambda: len(file_numbers(after)) >= 1000, 20)
    ck.eq(live.term(), 0, "E: SIGTERM exit code")
    log = live.log_tail(20000)
    ck.check("inputs_changed=1" in log and "outputs_changed=1" in log,
             f"E: both counted as changed: {log[-1500:]}")
    ck.eq(file_numbers(before) + file_numbers(after), list(range(2000)),
          "E: every line once, in order, across the old and the new path")
    ck.eq(file_numbers(after), list(range(1000, 2000)), "E: the new path has what came after")


def main():
    part_a()
    part_b()
    part_c()
    part_d()
    part_e()
    ck.finish()


if __name__ == "__main__":
    main()
