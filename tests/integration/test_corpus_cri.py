"""Every CRI sample of the shared corpus through `wharf run --oneshot`, in a
kubelet pod layout (pods/<ns>_<pod>_<uid>/<container>/0.log plus the
containers/<pod>_<ns>_<container>-<id>.log symlink).

Asserted with exact values:
  - messages against an independent parse (`<time> <stream> <P|F> <text>`,
    P parts joined per stream until the F part), log.offset of the first part,
    stream, @timestamp converted to UTC with 9 digits (the corpus has
    `+00:00` offsets and 8-digit fractions);
  - the P/F fixture against fluent-bit's `*.expected.txt`, in order;
  - the Hadoop stack trace: 19 stderr events, tabs kept;
  - orchestrator.*, kubernetes.pod.uid, container.name from the path,
    container.id from the symlink, container.runtime from the config;
  - a second run ships nothing new.
For a joined line, @timestamp is the first part's time (the line started
then); the last part's time is accepted too, as the contract does not say.
"""
import os

import wharftest as wt

ck = wt.Checker("corpus_cri")
SRC = os.path.join(wt.CORPUS, "cri")
names = sorted(n for n in os.listdir(SRC) if n.endswith(".log"))
ck.check(len(names) >= 3, f"expected the corpus' cri samples, found {names}")
version = wt.wharf_version()

s = wt.Setup("corpus-cri")
pods = wt.PodLogs(s.dir)
logs = {}
for i, name in enumerate(names):
    base = name[:-4].replace("_", "-").lower()[:40].strip("-")
    pl = pods.add(namespace=f"corpus-{i}", pod=f"{base}-6b8f9d7c5-{i:05d}", container="app")
    with open(os.path.join(SRC, name), "rb") as a:
        pl.append(a.read())
    logs[name] = pl

s.config([{"type": "cri", "id": "pods", "paths": [pods.glob()],
           "containers_dir": pods.containers_dir, "runtime": "containerd",
           "read_from": "beginning", "rotate_wait": "1s"}])
wt.oneshot(s.cfg)
try:
    events = wt.read_events(s.out)
except wt.BadOutput as e:
    ck.fail(str(e))
    ck.finish()


def expected_events(data):
    out, pending, off = [], {}, 0
    for raw in data.split(b"\n")[:-1]:  # every corpus sample ends with a newline
        start = off
        off += len(raw) + 1
        text = raw.decode("utf-8")
        parts = text.split(" ", 3)
        ts, stream, tag = parts[0], parts[1], parts[2]
        msg = parts[3] if len(parts) > 3 else ""
        if stream in pending:
            p = pending[stream]
            p["message"] += msg
            p["last_time"] = ts
        else:
            p = dict(message=msg, offset=start, time=ts, last_time=ts, stream=stream)
            pending[stream] = p
        if tag == "F":
            out.append(pending.pop(stream))
    return out


by_pod = {}
for e in events:
    by_pod.setdefault(wt.get(e, "orchestrator.resource.name"), []).append(e)
ck.eq(sorted(k for k in by_pod if k not in {pl.pod for pl in logs.values()}), [],
      "events of unknown pods")

total = 0
for name in names:
    pl = logs[name]
    with open(os.path.join(SRC, name), "rb") as f:
        want = expected_events(f.read())
    total += len(want)
    got = by_pod.get(pl.pod, [])
    ck.eq([e.get("message") for e in got], [w["message"] for w in want], f"{name}: messages")
    ck.eq([wt.get(e, "log.offset") for e in got], [w["offset"] for w in want], f"{name}: log.offset")
    ck.eq([e.get("stream") for e in got], [w["stream"] for w in want], f"{name}: stream")
    ck.eq([e.get("tags") for e in got], [None] * len(want), f"{name}: tags")
    for k, (e, w) in enumerate(zip(got, want)):
        where = f"{name} event {k}"
        wt.common_checks(ck, e, where, "kubernetes.container_logs", path=pl.path, version=version)
        ts = e.get("@timestamp")
        ok = ts in (wt.ts_to_utc9(w["time"]), wt.ts_to_utc9(w["last_time"]))
        ck.check(ok, f"{where}: @timestamp {ts!r}, want {wt.ts_to_utc9(w['time'])!r}")
        ck.eq(e.get("container"), {"id": pl.id, "name": "app", "runtime": "containerd"},
              f"{where}: container")
        ck.eq(e.get("orchestrator"), {"type": "kubernetes", "namespace": pl.namespace,
                                      "resource": {"type": "pod", "name": pl.pod}},
              f"{where}: orchestrator")
        ck.eq(e.get("kubernetes"), {"pod": {"uid": pl.uid}}, f"{where}: kubernetes")
        if len(ck.failures) > 60:
            break

# fluent-bit's P/F oracle, in order
name = "fluentbit_multiline-test_cri_partial.log"
if name in logs:
    with open(os.path.join(SRC, "fluentbit_multiline-test_cri_partial.expected.txt")) as f:
        oracle = [l.rstrip("\n") for l in f if l.strip()]
    got = by_pod.get(logs[name].pod, [])
    ck.eq([e.get("message") for e in got], oracle, f"{name} vs fluent-bit expected.txt")
    if len(got) == 8:
        ck.eq([e.get("stream") for e in got],
              ["stdout", "stderr", "stdout", "stderr", "stdout", "stdout", "stderr", "stderr"],
              f"{name}: streams")
        ck.eq(got[0].get("@timestamp"), "2019-05-07T18:57:50.904275087Z", f"{name}: +00:00 to Z")
        ck.eq(got[4].get("@timestamp"), "2019-05-07T18:57:56.904275093Z", f"{name}: F line time")
        with open(os.path.join(SRC, name), "rb") as f:
            third = sum(len(l) + 1 for l in f.read().split(b"\n")[:3])
        ck.eq([wt.get(e, "log.offset") for e in got][:2], [0, third],
              f"{name}: offsets of the first two joined lines (first P part)")

name = "fluentbit_avro-multiline_hadoop-stacktrace.log"
if name in logs:
    got = by_pod.get(logs[name].pod, [])
    ck.eq(len(got), 19, f"{name}: events")
    ck.eq({e.get("stream") for e in got}, {"stderr"}, f"{name}: streams")
    if len(got) == 19:
        ck.eq(got[2].get("message"), "\tat org.apache.hadoop.ipc.Client.call(Client.java:1475)",
              f"{name}: tab kept")
        ck.eq(got[1].get("@timestamp"), "2020-08-19T21:06:24.337540770Z", f"{name}: 8-digit fraction")

name = "beats_tests_cri.log"
if name in logs:
    got = by_pod.get(logs[name].pod, [])
    ck.eq([(e.get("message"), e.get("@timestamp"), e.get("stream")) for e in got],
          [("2017-09-12 22:32:21.212 [INFO][88] table.go 710: Invalidating dataplane cache",
            "2017-09-12T22:32:21.212861448Z", "stdout")], f"{name}: the one event")

ck.eq(len(events), total, "total events")
wt.oneshot(s.cfg)
ck.eq(len(wt.read_events(s.out)), total, "events after a second --oneshot run (positions saved)")
ck.finish(f"({len(events)} events from {len(names)} samples)")
