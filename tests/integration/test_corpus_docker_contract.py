"""Every Docker json-file sample of the shared corpus through `wharf run --oneshot`.

Each $WHARF_CORPUS/docker-json/*.log becomes the <id>-json.log of its own
container, next to a config.v2.json/hostconfig.json like dockerd's, with
varied metadata (image refs with registry ports and digests, labels with
dots, Kubernetes labels, non-root and privileged containers, secrets in
Config.Env). Asserted, per event and with exact values:
  - message, @timestamp (UTC, 9 digits), log.offset, stream and tags against
    an independent reading of the input: a record whose `log` lacks the
    trailing "\\n" continues in the next record of the same stream; a line
    that is not a JSON object is kept raw and tagged invalid_json;
  - the fluent-bit `.out` oracle: the joined text of all events equals the
    joined `log` values of the oracle (the oracle sometimes groups lines
    with its own multiline rules, so the per-event comparison is done only
    where the oracle has one record per Docker line);
  - the common fields, container.*, security_context, orchestrator;
  - no Config.Env value anywhere in the output bytes;
  - a second oneshot run ships nothing new (positions saved).
"""
import datetime
import json
import os

import wharftest as wt

ck = wt.Checker("corpus_docker")
SRC = os.path.join(wt.CORPUS, "docker-json")
names = sorted(n for n in os.listdir(SRC) if n.endswith(".log"))
ck.check(len(names) >= 10, f"expected the corpus' docker-json samples, found {names}")

s = wt.Setup("corpus-docker")
host = wt.DockerHost(s.path("containers"))
version = wt.wharf_version()

# Metadata variants, cycled over the samples.
DIGEST = "sha256:" + "5f" * 32
VARIANTS = [
    dict(image="nginx:1.25.3", labels={"maintainer": "NGINX Docker Maintainers <docker-maint@nginx.com>"},
         want_name="nginx", want_tag=["1.25.3"], want_hash=[]),
    dict(image="docker.elastic.co/beats/filebeat:8.13.4", user="1000:1000",
         labels={"org.opencontainers.image.vendor": "Elastic", "com.docker.compose.project": "build"},
         want_name="docker.elastic.co/beats/filebeat", want_tag=["8.13.4"], want_hash=[]),
    dict(image="localhost:5000/team/api:2.1", privileged=True, cap_add=["NET_ADMIN", "SYS_PTRACE"],
         network_mode="host", pid_mode="host", readonly_rootfs=True,
         want_name="localhost:5000/team/api", want_tag=["2.1"], want_hash=[]),
    dict(image="busybox@" + DIGEST, user="nobody",
         want_name="busybox", want_tag=None, want_hash=[DIGEST]),
    dict(image="registry.k8s.io/pause:3.9", labels={
        "io.kubernetes.pod.name": "web-7d4b9c-xk2lp", "io.kubernetes.pod.namespace": "shop",
        "io.kubernetes.pod.uid": "3f1c2a4e-8b7d-4e21-9a6f-0c5d2b7e9a11",
        "io.kubernetes.container.name": "web", "io.kubernetes.docker.type": "container"},
         want_name="registry.k8s.io/pause", want_tag=["3.9"], want_hash=[]),
]

containers = {}
secrets = []
for i, name in enumerate(names):
    v = VARIANTS[i % len(VARIANTS)]
    secret = f"corpus-secret-{i}-Zq8Wv"
    secrets.append(secret)
    kwargs = {k: v[k] for k in ("image", "labels", "user", "privileged", "cap_add", "network_mode",
                                "pid_mode", "readonly_rootfs") if k in v}
    c = host.add(f"corpus_{i}", seed=f"corpus-{name}",
                 env=["PATH=/usr/bin:/bin", f"DB_PASSWORD={secret}", f"AWS_SECRET_ACCESS_KEY=A{secret}"],
                 **kwargs)
    with open(os.path.join(SRC, name), "rb") as a:
        c.append(a.read())
    containers[name] = (c, v)

s.config([{"type": "docker", "id": "docker", "root": host.root, "read_from": "beginning",
           "rotate_wait": "1s"}])
before = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
wt.oneshot(s.cfg)
after = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
raw_out = wt.output_bytes(ck, s.out)
try:
    events = wt.parse_ndjson(raw_out, s.out)
except wt.BadOutput as e:
    ck.fail(str(e))
    ck.finish()

for secret in secrets:
    ck.check(secret.encode() not in raw_out, f"Config.Env value {secret!r} appears in the output")
ck.check(b"DB_PASSWORD" not in raw_out, "an Env variable name appears in the output")


def expected_events(data):
    """Independent reading of a json-file log: list of dicts with message,
    offset, time (of the first part), stream, tags."""
    out, pending = [], {}
    off = 0
    for raw in data.split(b"\n")[:-1]:  # every corpus sample ends with a newline
        start = off
        off += len(raw) + 1
        rec = None
        try:
            rec = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            pass
        if not isinstance(rec, dict) or not isinstance(rec.get("log"), str):
            out.append(dict(message=raw.decode("utf-8", "replace"), offset=start, time=None,
                            stream=None, tags=["invalid_json"]))
            continue
        stream = rec.get("stream")
        if stream in pending:
            p = pending.pop(stream)
            p["message"] += rec["log"]
        else:
            p = dict(message=rec["log"], offset=start, time=rec.get("time"), stream=stream, tags=None)
        if p["message"].endswith("\n"):
            p["message"] = p["message"][:-1]
            out.append(p)
        else:
            pending[stream] = p
    return out


by_id = {}
for e in events:
    by_id.setdefault(wt.get(e, "container.id"), []).append(e)
known_ids = {c.id for c, _ in containers.values()}
ck.eq(sorted(k for k in by_id if k not in known_ids), [], "events with an unknown container.id")
ck.eq(len(events), sum(len(by_id.get(c.id, [])) for c, _ in containers.values()), "event count")

total_expected = 0
for name in names:
    c, v = containers[name]
    with open(os.path.join(SRC, name), "rb") as f:
        data = f.read()
    want = expected_events(data)
    total_expected += len(want)
    got = by_id.get(c.id, [])
    ck.eq(len(got), len(want), f"{name}: number of events")
    ck.eq([e.get("message") for e in got], [w["message"] for w in want], f"{name}: messages")
    ck.eq([wt.get(e, "log.offset") for e in got], [w["offset"] for w in want], f"{name}: log.offset")
    ck.eq([e.get("tags") for e in got], [w["tags"] for w in want], f"{name}: tags")
    for k, (e, w) in enumerate(zip(got, want)):
        where = f"{name} event {k}"
        wt.common_checks(ck, e, where, "docker.container_logs", path=c.log, version=version)
        created = str(wt.get(e, "event.created", ""))
        ck.check(before[:26] <= created[:26] <= after[:26],
                 f"{where}: event.created {wt.get(e, 'event.created')!r} not within the run "
                 f"({before} .. {after})")
        if w["time"] is not None:
            ck.eq(e.get("@timestamp"), wt.ts_to_utc9(w["time"]), f"{where}: @timestamp")
        if w["stream"] is not None:
            ck.eq(e.get("stream"), w["stream"], f"{where}: stream")
        cont = e.get("container", {})
        ck.eq(cont.get("id"), c.id, f"{where}: container.id")
        ck.eq(cont.get("name"), c.name, f"{where}: container.name")
        ck.eq(cont.get("runtime"), "docker", f"{where}: container.runtime")
        ck.eq(wt.get(e, "container.image.name"), v["want_name"], f"{where}: container.image.name")
        ck.eq(wt.get(e, "container.image.tag"), v["want_tag"], f"{where}: container.image.tag")
        hashes = wt.get(e, "container.image.hash.all")
        ck.check(isinstance(hashes, list) and sorted(hashes) == sorted([c.image_id] + v["want_hash"]),
                 f"{where}: container.image.hash.all: got {hashes!r}, want (any order) "
                 f"{[c.image_id] + v['want_hash']!r}")
        want_labels = {k.replace(".", "_"): val for k, val in v.get("labels", {}).items()}
        ck.eq(cont.get("labels", {}), want_labels, f"{where}: container.labels (dedotted)")
        user = v.get("user", "")
        want_sc = {"privileged": v.get("privileged", False), "user": user,
                   "run_as_root": user in ("", "root", "0") or user.startswith(("0:", "root:")),
                   "read_only_root_filesystem": v.get("readonly_rootfs", False),
                   "host_network": v.get("network_mode") == "host",
                   "host_pid": v.get("pid_mode") == "host"}
        if v.get("cap_add"):
            want_sc["capabilities"] = {"add": v["cap_add"]}
        ck.eq(cont.get("security_context"), want_sc, f"{where}: container.security_context")
        lbl = v.get("labels", {})
        if "io.kubernetes.pod.name" in lbl:
            ck.eq(e.get("orchestrator"), {"type": "kubernetes",
                                          "namespace": lbl["io.kubernetes.pod.namespace"],
                                          "resource": {"type": "pod",
                                                       "name": lbl["io.kubernetes.pod.name"]}},
                  f"{where}: orchestrator")
            ck.eq(wt.get(e, "kubernetes.pod.uid"), lbl["io.kubernetes.pod.uid"],
                  f"{where}: kubernetes.pod.uid")
        else:
            ck.check("orchestrator" not in e, f"{where}: orchestrator on a plain Docker container")
        if len(ck.failures) > 60:
            break

    # the fluent-bit oracle
    oracle = os.path.join(SRC, name[:-4] + ".out")
    if os.path.exists(oracle):
        recs = []
        with open(oracle) as f:
            for line in f:
                if line.strip():
                    r = json.loads(line)
                    recs.append(r[1] if isinstance(r, list) else r)
        ck.eq("".join(e.get("message", "") + "\n" for e in got), "".join(r["log"] for r in recs),
              f"{name}: joined text vs fluent-bit {os.path.basename(oracle)}")
        one_per_line = all(r["log"].count("\n") == 1 for r in recs)
        if one_per_line:
            ck.eq([e.get("message") for e in got], [r["log"][:-1] for r in recs],
                  f"{name}: events vs fluent-bit {os.path.basename(oracle)}")
            for e, r in zip(got, recs):
                if "stream" in r:
                    ck.eq(e.get("stream"), r["stream"], f"{name}: stream vs fluent-bit")

# The corrupted sample: exactly one invalid_json event, the raw 7th line, the
# lines around it intact.
name = "beats_tests_docker_corrupted.log"
if name in containers:
    c, _ = containers[name]
    got = by_id.get(c.id, [])
    with open(os.path.join(SRC, name), "rb") as f:
        lines = f.read().split(b"\n")
    bad = [(k, e) for k, e in enumerate(got) if e.get("tags")]
    ck.eq([(k, e.get("tags"), e.get("message")) for k, e in bad],
          [(6, ["invalid_json"], lines[6].decode())], f"{name}: the corrupted line")
    ck.eq(len(got), 21, f"{name}: events")
    if len(got) == 21:
        ck.eq(got[5]["message"], "# linux", f"{name}: line before the corrupted one")
        ck.eq(got[7]["message"], "# binary", f"{name}: line after the corrupted one")
        ck.eq(wt.get(got[6], "log.offset"), sum(len(l) + 1 for l in lines[:6]),
              f"{name}: offset of the corrupted line")

# The split sample: three records joined into one event at the first part.
name = "fluentbit_tail_dockermode_splitted_line.log"
if name in containers:
    got = by_id.get(containers[name][0].id, [])
    with open(os.path.join(SRC, name), "rb") as f:
        third = sum(len(l) + 1 for l in f.read().split(b"\n")[:3])
    ck.eq([(e.get("message"), wt.get(e, "log.offset")) for e in got],
          [("2020-03-24 Single line", 0), ("2020-03-24 Another single line", third)],
          f"{name}: joined events")

# Go trims trailing zeros of the fraction; the output has 9 digits.
name = "beats_tests_docker.log"
if name in containers:
    got = by_id.get(containers[name][0].id, [])
    if len(got) == 21:
        ck.eq(got[11].get("@timestamp"), "2016-03-02T22:59:04.666497440Z",
              f"{name}: 8-digit fraction padded to 9")
        ck.eq(got[0].get("@timestamp"), "2016-03-02T22:58:51.338462311Z", f"{name}: first @timestamp")

ck.eq(len(events), total_expected, "total events")

# A second run ships nothing new.
n_before = len(events)
wt.oneshot(s.cfg)
ck.eq(len(wt.read_events(s.out)), n_before, "events after a second --oneshot run (positions saved)")

ck.finish(f"({len(events)} events from {len(names)} samples)")
