"""Docker json-file input on a container directory built like dockerd's.

A 40 KiB line in three parts, invalid UTF-8, a malformed line between good
ones, control characters, labels with dots, attrs, a privileged host config,
secrets in Config.Env, a line over max_line_bytes, an excluded container, and
Kubernetes labels on a Docker container.
"""
import json
import os

import wharflib as w

f = w.Failures("docker_input")
root = w.tmpdir()
containers = os.path.join(root, "containers")
out = os.path.join(root, "out.ndjson")

# Container 1: privileged, host network, root, caps, labels with dots.
c1 = w.cid(1)
log1 = w.docker_container(containers, c1, "web", image="registry:5000/shop/web:2.1@sha256:feed",
                          labels={"app": "web", "app.kubernetes.io/name": "shop"},
                          privileged=True, cap_add=["NET_ADMIN", "SYS_PTRACE"], network="host",
                          pid="host", read_only=True)
big = "".join(chr(ord("a") + i % 26) for i in range(40 * 1024))
records = [
    w.docker_record("first line\n"),
    w.docker_line_parts(big, ts="2026-11-20T08:00:01.5Z"),
    b'{"log":"bad utf8 \xff\xfe here\\n","stream":"stderr","time":"2026-11-20T08:00:02Z"}\n',
    b'{"log":"not closed\n',
    w.docker_record("ctl \x01\x1b[31m red\ttab\n", ts="2026-11-20T08:00:03Z"),
    w.docker_record("with attrs\n", attrs={"tag": "web-tag", "app": "from-attrs"}),
    w.docker_record("last line\n", stream="stderr", ts="2026-11-20T10:00:04.123+02:00"),
]
with open(log1, "wb") as fh:
    offsets = []
    for r in records:
        offsets.append(fh.tell())
        fh.write(r)

# Container 2: plain user, started by Kubernetes (labels), over-long line.
c2 = w.cid(2)
log2 = w.docker_container(containers, c2, "k8s_app_pod", user="1000:1000", labels={
    "io.kubernetes.pod.name": "api-1", "io.kubernetes.pod.namespace": "prod",
    "io.kubernetes.pod.uid": "uid-42", "io.kubernetes.container.name": "app"})
huge = "H" * (200 * 1024)
with open(log2, "wb") as fh:
    fh.write(w.docker_line_parts(huge))
    fh.write(w.docker_record("after huge\n"))

# Container 3: excluded by name.
c3 = w.cid(3)
log3 = w.docker_container(containers, c3, "wharf-self")
with open(log3, "wb") as fh:
    fh.write(w.docker_record("must not be shipped\n"))

cfg = os.path.join(root, "wharf.yaml")
w.write_config(cfg, os.path.join(root, "data"), [{
    "type": "docker", "id": "docker", "root": containers, "read_from": "beginning",
    "exclude_names": ["wharf*"], "max_line_bytes": "64KiB"}], out)
w.oneshot(cfg)
raw = open(out, "rb").read()
events = w.read_events(out)
by_file = {}
for e in events:
    by_file.setdefault(e["container"]["id"], []).append(e)

f.check(b"s3cr3t-token-value" not in raw, "Config.Env secret leaked into output")
f.check(c3 not in by_file, "excluded container shipped")
e1 = by_file.get(c1, [])
f.eq(len(e1), 7, "events of container 1")
if len(e1) == 7:
    f.eq(e1[0]["message"], "first line", "message")
    f.eq(e1[0]["log"]["offset"], 0, "offset 0")
    f.eq(e1[0]["@timestamp"], "2026-11-20T08:00:00.000000001Z", "@timestamp")
    f.eq(e1[1]["message"], big, "40 KiB line joined from three parts")
    f.eq(e1[1]["log"]["offset"], offsets[1], "joined line offset is the first part's")
    f.eq(e1[1]["@timestamp"], "2026-11-20T08:00:01.500000000Z", "joined timestamp")
    f.check("tags" not in e1[1], "joined line tagged")
    f.eq(e1[2]["message"], "bad utf8 \ufffd\ufffd here", "invalid UTF-8 replaced")
    f.eq(e1[2]["stream"], "stderr", "stream")
    f.eq(e1[3]["message"], '{"log":"not closed', "malformed line kept raw")
    f.eq(e1[3].get("tags"), ["invalid_json"], "malformed line tag")
    f.eq(e1[3]["log"]["offset"], offsets[3], "malformed line offset")
    f.check("stream" not in e1[3], "malformed line has a stream")
    f.eq(e1[4]["message"], "ctl \x01\x1b[31m red\ttab", "control characters")
    f.eq(e1[5]["container"]["labels"], {"tag": "web-tag", "app": "from-attrs",
                                        "app_kubernetes_io/name": "shop"}, "attrs merged")
    f.eq(e1[6]["@timestamp"], "2026-11-20T08:00:04.123000000Z", "offset time to UTC")
    c = e1[0]["container"]
    f.eq(c["name"], "web", "container.name")
    f.eq(c["runtime"], "docker", "container.runtime")
    f.eq(c["image"], {"name": "registry:5000/shop/web", "tag": ["2.1"],
                      "hash": {"all": ["sha256:" + "ab" * 32, "sha256:feed"]}}, "image")
    f.eq(c["labels"], {"app": "web", "app_kubernetes_io/name": "shop"}, "labels dedotted")
    f.eq(c["security_context"], {"privileged": True, "user": "", "run_as_root": True,
                                 "capabilities": {"add": ["NET_ADMIN", "SYS_PTRACE"]},
                                 "read_only_root_filesystem": True, "host_network": True,
                                 "host_pid": True}, "security_context")
    f.check("orchestrator" not in e1[0], "orchestrator on a plain Docker container")
    for e in e1:
        f.eq(e["event"]["dataset"], "docker.container_logs", "dataset")
        f.eq(e["log"]["file"]["path"], log1, "log.file.path")

e2 = by_file.get(c2, [])
f.eq(len(e2), 2, "events of container 2")
if len(e2) == 2:
    f.eq(e2[0]["message"], "H" * 65536, "over-long line cut at max_line_bytes")
    f.eq(e2[0].get("tags"), ["truncated"], "truncated tag")
    f.eq(e2[1]["message"], "after huge", "line after the over-long one")
    f.eq(e2[0]["orchestrator"], {"type": "kubernetes", "namespace": "prod",
                                 "resource": {"type": "pod", "name": "api-1"}}, "orchestrator")
    f.eq(e2[0]["kubernetes"], {"pod": {"uid": "uid-42"}}, "kubernetes.pod.uid")
    sc = e2[0]["container"]["security_context"]
    f.eq((sc["user"], sc["run_as_root"], sc["privileged"]), ("1000:1000", False, False),
         "non-root user")
    f.check("capabilities" not in sc, "capabilities without CapAdd")

# labels_dedot: false keeps keys as they are.
out2 = os.path.join(root, "out2.ndjson")
cfg2 = os.path.join(root, "wharf2.yaml")
w.write_config(cfg2, os.path.join(root, "data2"), [{
    "type": "docker", "id": "docker", "root": containers, "read_from": "beginning",
    "labels_dedot": False}], out2)
w.oneshot(cfg2)
ev = [e for e in w.read_events(out2) if e["container"]["id"] == c1]
f.check(bool(ev) and ev[0]["container"]["labels"] == {"app": "web", "app.kubernetes.io/name": "shop"},
        "labels_dedot: false")
f.check(any(e["container"]["id"] == c3 for e in w.read_events(out2)), "no exclude: container 3")

f.finish(f"{len(events)} events")
