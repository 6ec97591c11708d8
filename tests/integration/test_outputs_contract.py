"""Outputs: stdout prints the same events as the file output; the file output
appends across runs; SIGHUP reopens the file (logrotate); host.name auto.

Asserted:
  - oneshot with a file, a second file and a stdout output: stdout holds only
    NDJSON (wharf's own log goes to stderr) and the same events, in the same
    order, field for field, as each file;
  - the file output appends: a line that was in the file before the first
    run is still its first line; a second run adds only the new events;
  - live run, then SIGTERM: stdout and file hold the same events (flushed on
    exit);
  - live run, output renamed away + SIGHUP: the events before are in the
    renamed file, those after in a new file at the configured path, none
    lost or repeated;
  - SIGINT stops wharf like SIGTERM (exit 0, everything delivered);
  - host: {name: auto} -> host.name is gethostname().
"""
import os
import signal
import socket
import time

import wharftest as wt

ck = wt.Checker("outputs")
s = wt.Setup("outputs")
host = wt.DockerHost(s.path("containers"))
c = host.add("app", image="alpine:3.19")
out2 = s.path("out2", "second.ndjson")
stdout_cap = s.path("stdout.ndjson")


def append(first, last, cont=c):
    cont.append(b"".join(wt.docker_line(f"seq={n} event number {n}\n",
                                        time=f"2024-05-01T10:00:00.{n:09d}Z")
                         for n in range(first, last)))


def config(host_name=wt.HOST_NAME):
    return wt.write_config(s.cfg, s.data,
                           [{"type": "docker", "id": "docker", "root": host.root,
                             "read_from": "beginning", "rotate_wait": "1s",
                             "rescan_interval": "250ms"}],
                           [{"type": "file", "id": "main", "path": s.out},
                            {"type": "stdout", "id": "console"},
                            {"type": "file", "id": "copy", "path": out2}],
                           host_name=host_name)


config()
os.makedirs(os.path.dirname(s.out), exist_ok=True)
PRE = b'{"message":"written before wharf ever ran"}\n'
with open(s.out, "wb") as f:
    f.write(PRE)

append(0, 50)
p = wt.oneshot(s.cfg)
try:
    from_stdout = wt.parse_ndjson(p.stdout, "stdout")
except wt.BadOutput as e:
    ck.fail(f"stdout is not pure NDJSON: {e}")
    from_stdout = []
from_file = wt.read_events(s.out)
from_file2 = wt.read_events(out2)
ck.eq(from_file[:1], [{"message": "written before wharf ever ran"}], "file output kept its old content")
ck.eq(len(from_stdout), 50, "oneshot: events on stdout")
ck.check(from_stdout == from_file[1:], "oneshot: stdout events differ from the file output's "
         f"(first stdout {from_stdout[:1]!r}, first file {from_file[1:2]!r})")
ck.check(from_file2 == from_stdout, "oneshot: the second file output differs from stdout")
ck.eq([e.get("message") for e in from_stdout], [f"seq={n} event number {n}" for n in range(50)],
      "oneshot: messages")
with open(s.out, "rb") as f:
    ck.eq(f.read()[len(PRE):], p.stdout, "oneshot: stdout bytes equal the bytes appended to the file")

append(50, 80)
p = wt.oneshot(s.cfg)
from_file = wt.read_events(s.out)
ck.eq([e.get("message") for e in from_file[1:]], [f"seq={n} event number {n}" for n in range(80)],
      "second run: the file output appended the new events only")
ck.eq([e.get("message") for e in wt.parse_ndjson(p.stdout, "stdout")],
      [f"seq={n} event number {n}" for n in range(50, 80)], "second run: stdout has the new events only")
ck.eq(len(wt.read_events(out2)), 80, "second run: second file output")

# ---- live: stdout and file the same after SIGTERM ----
live = wt.Live(s.cfg, s.log, stdout_path=stdout_cap)
append(80, 200)
n = wt.wait_count(s.out, 1 + 200, 15)
time.sleep(0.3)
ck.eq(live.term(), 0, "live: exit code after SIGTERM")
live_stdout = wt.read_events(stdout_cap)
ck.eq([e.get("message") for e in live_stdout], [f"seq={n} event number {n}" for n in range(80, 200)],
      "live: stdout events")
ck.check(live_stdout == wt.read_events(s.out)[81:], "live: stdout events differ from the file's")

# ---- SIGHUP: reopen the file output after logrotate renamed it ----
live = wt.Live(s.cfg, s.log, stdout_path=stdout_cap)
append(200, 300)
wt.wait_count(s.out, 1 + 300, 15)
os.rename(s.out, s.out + ".1")
live.signal(signal.SIGHUP)
time.sleep(1)
append(300, 400)
ok = wt.wait_until(lambda: wt.OutputCounter(s.out).update() >= 100, 15)
time.sleep(0.3)
ck.eq(live.term(), 0, "SIGHUP: exit code after SIGTERM")
old = [e.get("message") for e in wt.read_events(s.out + ".1")]
new = [e.get("message") for e in wt.read_events(s.out)]
ck.eq(old[1:], [f"seq={n} event number {n}" for n in range(300)], "SIGHUP: the renamed file's events")
ck.eq(new, [f"seq={n} event number {n}" for n in range(300, 400)],
      f"SIGHUP: the reopened file's events (wharf log: {live.log_tail(400)!r})")

# ---- SIGINT stops like SIGTERM ----
live = wt.Live(s.cfg, s.log)
append(400, 450)
wt.wait_until(lambda: wt.OutputCounter(s.out).update() >= 150, 15)
live.signal(signal.SIGINT)
try:
    rc = live.proc.wait(timeout=30)
except Exception:
    rc = None
live.term()
ck.eq(rc, 0, "SIGINT: exit code")
ck.eq([e.get("message") for e in wt.read_events(s.out)], [f"seq={n} event number {n}" for n in range(300, 450)],
      "SIGINT: events in the file")

# ---- host.name auto ----
s2 = wt.Setup("outputs-auto")
wt.write_config(s2.cfg, s2.data, [{"type": "docker", "id": "docker", "root": host.root,
                                   "read_from": "beginning"}], out_path=s2.out, host_name="auto")
wt.oneshot(s2.cfg)
ev = wt.read_events(s2.out)
ck.eq({wt.get(e, "host.name") for e in ev}, {socket.gethostname()}, "host.name with name: auto")
ck.eq(len(ev), 450, "host auto run: events")

ck.finish("(stdout = file, append, SIGHUP, host auto)")
