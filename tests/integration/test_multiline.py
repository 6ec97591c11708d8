"""Multi-line events: an input's `multiline` section joins the lines of one
application event (a stack trace, a message with a list under it).

Asserted with exact values:
  - `match: start` on fluent-bit's docker-mode fixtures (corpus): the events
    equal fluent-bit's own expected output (.out), including lines before the
    first start line standing alone and a Docker 16 KiB split inside a joined
    line; log.offset is the first line's, tags has `multiline` only on joined
    events;
  - `containers`/`images` globs: a container neither names is not joined;
  - `match: continue` on a real Hadoop stack trace in CRI format (corpus):
    2 events, the trace's 18 lines in the second, its first line's timestamp;
  - max_lines: a longer trace continues in the next event, nothing cut;
    max_line_bytes: a group that would pass it ends before the line;
  - stdout and stderr lines interleaved are joined per stream;
  - json-file attrs of the first line are the joined event's labels;
  - live: a held event is emitted `timeout` after its last line; a
    continuation line after that stands alone;
  - kill -9 while an event is held: after the restart it arrives whole (its
    lines are not lost, not split), with the lines after it;
  - `wharf check`: a pattern that does not compile, an unknown match, a typo
    in a key, a missing pattern: each at its line.
"""
import json
import os
import shutil
import time

import wharftest as wt

ck = wt.Checker("multiline")
DOCKER_CORPUS = os.path.join(wt.CORPUS, "docker-json")
CRI_CORPUS = os.path.join(wt.CORPUS, "cri")
DATE_START = r"^\d{4}-\d\d-\d\d "


def messages(events, cid):
    return [(e["message"], wt.get(e, "log.offset"), e.get("tags"))
            for e in events if wt.get(e, "container.id") == cid]


def oracle(name):
    with open(os.path.join(DOCKER_CORPUS, name + ".out")) as f:
        return [json.loads(line)["log"].rstrip("\n") for line in f if line.strip()]


def offsets_of_starts(path, texts):
    """Byte offsets of the records whose log begins each expected event."""
    out, off = [], 0
    firsts = [t.split("\n", 1)[0] for t in texts]
    with open(path, "rb") as f:
        for raw in f:
            log = json.loads(raw)["log"]
            if firsts and log.rstrip("\n") == firsts[0]:
                out.append(off)
                firsts.pop(0)
            off += len(raw)
    return out


# --- A: match start on the fluent-bit fixtures, selected by name and image ------
s = wt.Setup("multiline-a")
host = wt.DockerHost(s.path("containers"))
fixtures = ["fluentbit_tail_dockermode_firstline_detection",
            "fluentbit_tail_dockermode_multiple_lines",
            "fluentbit_tail_dockermode_splitted_multiple_lines"]
conts = {}
for i, name in enumerate(fixtures):
    image = "registry.example.com/billing/api:2.4" if i == 2 else "nginx:1.25.3"
    c = host.add(f"java-{i}" if i < 2 else f"billing-{i}", image=image, seed=name)
    shutil.copyfile(os.path.join(DOCKER_CORPUS, name + ".log"), c.log)
    conts[name] = c
plain = host.add("sidecar", seed="plain")
shutil.copyfile(os.path.join(DOCKER_CORPUS, fixtures[0] + ".log"), plain.log)
# attrs of the first line go with the joined event; stdout/stderr joined apart
mixed = host.add("java-mixed", seed="mixed")
mixed.append(wt.docker_line("2024-05-01 10:00:00 out starts\n", attrs={"tier": "gold"})
             + wt.docker_line("2024-05-01 10:00:00 err starts\n", stream="stderr")
             + wt.docker_line("  out line 2\n", attrs={"tier": "gold"})
             + wt.docker_line("  err line 2\n", stream="stderr")
             + wt.docker_line("  out line 3\n", attrs={"tier": "gold"})
             + wt.docker_line("2024-05-01 10:00:01 out next\n", attrs={"tier": "gold"}))
# max_lines 5: a start line and 11 continuation lines
bounded = host.add("java-bounded", seed="bounded")
bounded.append(wt.docker_line("2024-05-01 10:00:00 Exception in thread main\n")
               + b"".join(wt.docker_line(f"\tat frame{i}\n") for i in range(11)))
s.config([{"type": "docker", "id": "docker", "root": host.root, "read_from": "beginning",
           "multiline": {"pattern": DATE_START, "containers": ["java-*"],
                         "images": ["*/billing/*"], "max_lines": 5}}])
wt.oneshot(s.cfg)
events = wt.read_events(s.out)

for name in fixtures:
    want = oracle(name)
    c = conts[name]
    got = messages(events, c.id)
    ck.eq([m for m, _, _ in got], want, f"{name}: events equal fluent-bit's .out")
    ck.eq([o for _, o, _ in got], offsets_of_starts(c.log, want), f"{name}: log.offset")
    ck.eq([t for m, _, t in got], [["multiline"] if "\n" in m else None for m in want],
          f"{name}: tags")
ck.eq([m for m, _, _ in messages(events, plain.id)],
      ["Single log", "Second log", "Third log", "2020-03-24 Multiple lines: ",
       "first bullet point", "second bullet point", "third bullet point", "fourth bullet point",
       "2020-03-24 Single line"], "a container no glob names: one event per line")

got = [e for e in events if wt.get(e, "container.id") == mixed.id]
for stream, want in (("stdout", ["2024-05-01 10:00:00 out starts\n  out line 2\n  out line 3",
                                 "2024-05-01 10:00:01 out next"]),
                     ("stderr", ["2024-05-01 10:00:00 err starts\n  err line 2"])):
    ck.eq([e["message"] for e in got if e["stream"] == stream], want,
          f"streams joined apart: {stream}")
ck.eq(sorted((e["stream"], str(wt.get(e, "container.labels.tier"))) for e in got),
      [("stderr", "None"), ("stdout", "gold"), ("stdout", "gold")],
      "attrs of the first line label the joined event")

got = messages(events, bounded.id)
ck.eq([m.count("\n") + 1 for m, _, _ in got], [5, 5, 2], "max_lines 5: 12 lines in 5+5+2")
ck.eq("\n".join(m for m, _, _ in got),
      "2024-05-01 10:00:00 Exception in thread main\n"
      + "\n".join(f"\tat frame{i}" for i in range(11)), "max_lines: every line kept, in order")
ck.eq([t for _, _, t in got], [["multiline"]] * 3, "max_lines: each part tagged multiline")

# --- B: match continue on a real Java stack trace (CRI) ---------------------------
s = wt.Setup("multiline-b")
pods = wt.PodLogs(s.path("log"))
pod = pods.add("hadoop", "namenode-0", "hdfs-client")
trace_path = os.path.join(CRI_CORPUS, "fluentbit_avro-multiline_hadoop-stacktrace.log")
shutil.copyfile(trace_path, pod.path)
with open(trace_path) as f:
    raw = f.read().splitlines()
s.config([{"type": "cri", "id": "pods", "paths": [pods.glob()],
           "containers_dir": pods.containers_dir, "read_from": "beginning",
           "multiline": {"pattern": r"^\s+at |^Caused by: |^\s+\.\.\. \d+ more",
                         "match": "continue"}}])
wt.oneshot(s.cfg)
events = wt.read_events(s.out)
texts = [line.split(" ", 3)[3] for line in raw]
ck.eq([e["message"] for e in events], [texts[0], "\n".join(texts[1:])],
      "continue: the trace under its exception line")
ck.eq([e.get("tags") for e in events], [None, ["multiline"]], "continue: tags")
ck.eq([e["@timestamp"] for e in events],
      ["2020-08-19T21:06:24.337499838Z", "2020-08-19T21:06:24.337540770Z"],
      "continue: the first line's timestamp")
ck.eq(wt.get(events[-1], "log.offset") if events else None, len(raw[0]) + 1,
      "continue: the first line's offset")

# --- C: max_line_bytes ends a group before the line that would pass it ----------------
s = wt.Setup("multiline-c")
host = wt.DockerHost(s.path("containers"))
big = host.add("app", seed="big")
lines = ["2024-05-01 10:00:00 start"] + [f"  {i:02d} " + "x" * 995 for i in range(70)]
big.append(b"".join(wt.docker_line(line + "\n") for line in lines))
s.config([{"type": "docker", "id": "docker", "root": host.root, "read_from": "beginning",
           "max_line_bytes": "64KiB", "multiline": {"pattern": DATE_START}}])
wt.oneshot(s.cfg)
got = [e["message"] for e in wt.read_events(s.out)]
ck.check(len(got) == 2 and all(len(m.encode()) <= 65536 for m in got),
         f"64 KiB bound: 2 events of at most 65536 bytes, got {[len(m) for m in got]}")
ck.eq("\n".join(got), "\n".join(lines), "64 KiB bound: nothing cut")

# --- D: live: the timeout emits a held event; kill -9 while one is held ----------------
s = wt.Setup("multiline-d")
host = wt.DockerHost(s.path("containers"))
app = host.add("java-live", seed="live")
cfg_inputs = [{"type": "docker", "id": "docker", "root": host.root, "read_from": "beginning",
               "multiline": {"pattern": DATE_START, "timeout": "700ms"}}]
s.config(cfg_inputs)
live = wt.Live(s.cfg, s.log)
app.append(wt.docker_line("2024-05-01 10:00:00 ERROR boom\n")
           + wt.docker_line("\tat a.b(C.java:1)\n") + wt.docker_line("\tat d.e(F.java:2)\n"))
t0 = time.monotonic()
n = wt.wait_count(s.out, 1, 10)
waited = time.monotonic() - t0
ck.check(0.5 <= waited < 5, f"live: the held event came after {waited:.2f} s (timeout 700ms)")
app.append(wt.docker_line("\tat late.frame(G.java:3)\n"))
wt.wait_count(s.out, 2, 10)
got = [(e["message"], e.get("tags")) for e in wt.read_events(s.out)]
ck.eq(got, [("2024-05-01 10:00:00 ERROR boom\n\tat a.b(C.java:1)\n\tat d.e(F.java:2)",
             ["multiline"]), ("\tat late.frame(G.java:3)", None)],
      "live: timeout emitted the event; a later continuation stands alone")
ck.eq(live.term(), 0, "live: exit code after SIGTERM")

# kill -9 with an event held (timeout 1h): a line before it is delivered (so
# positions were committed), the held lines must come whole after a restart
cfg_inputs[0]["multiline"]["timeout"] = "1h"
s.config(cfg_inputs)
live = wt.Live(s.cfg, s.log)
app.append(wt.docker_line("2024-05-01 10:00:05 INFO before\n"))
app.append(wt.docker_line("2024-05-01 10:00:06 ERROR held\n")
           + b"".join(wt.docker_line(f"\tat held.frame{i}(H.java:{i})\n") for i in range(5)))
n = wt.wait_count(s.out, 3, 10)
ck.eq(n, 3, "kill -9: the line before the held event was delivered")
time.sleep(0.5)
ck.eq(wt.OutputCounter(s.out).update(), 3, "kill -9: the held event is not emitted before timeout")
live.kill9()
app.append(wt.docker_line("2024-05-01 10:00:07 INFO after\n"))
wt.oneshot(s.cfg)
got = [e["message"] for e in wt.read_events(s.out)][2:]
held = "2024-05-01 10:00:06 ERROR held\n" + "\n".join(
    f"\tat held.frame{i}(H.java:{i})" for i in range(5))
ck.check(got.count(held) == 1 and got[-1] == "2024-05-01 10:00:07 INFO after",
         f"kill -9: the held event once and whole, then the next line; got {got!r}")
ck.check(not any("held" in m and m != held for m in got), "kill -9: no part of the held event alone")

# --- E: wharf check -------------------------------------------------------------------
bad = s.path("bad.yaml")
with open(bad, "w") as f:
    f.write("inputs:\n"
            "  - type: docker\n"
            "    id: docker\n"
            "    multiline:\n"
            "      pattern: '^(\\d{4}'\n"
            "      match: after\n"
            "      max_line: 3\n"
            "  - type: cri\n"
            "    id: pods\n"
            "    paths: [/var/log/pods/*/*/*.log]\n"
            "    multiline: {match: continue, max_lines: 1}\n"
            "outputs:\n"
            "  - type: stdout\n"
            "    id: o\n")
p = wt.run_wharf(["check", "-c", bad])
ck.eq(p.returncode, 2, "check: exit code")
ck.eq(p.stderr.decode().splitlines(),
      [f"{bad}:5: 'pattern': the regex does not compile: missing closing parenthesis at offset 7",
       f"{bad}:6: 'match' must be one of: start, continue",
       f"{bad}:7: unknown key 'max_line' in 'multiline' of input 'docker' (did you mean "
       "'max_lines'?)",
       f"{bad}:11: 'max_lines' must be between 2 and 100000",
       f"{bad}:11: missing required key 'pattern' in 'multiline' of input 'pods'",
       f"wharf check: 5 errors in {bad}"], "check: each error at its line")

ck.finish()
