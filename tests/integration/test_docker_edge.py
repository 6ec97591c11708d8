"""Docker json-file edge cases on container directories built like dockerd's.

Asserted with exact values (wharf run --oneshot unless said otherwise):
  - a 40 KiB line written as three records (16 KiB, 16 KiB, rest) -> one
    event at the first record's offset, with a stderr line interleaved
    between its parts (parts are joined per stream);
  - invalid UTF-8 bytes inside `log` -> valid JSON output with U+FFFD, valid
    multi-byte characters kept;
  - a malformed line and a NUL-padded line -> event with the raw line as
    message, tag invalid_json, correct offsets, the lines around intact;
  - control characters: kept in message, escaped in the output bytes;
  - labels with dots -> dedotted; json-file `attrs` merged into labels;
    labels_dedot: false keeps dots;
  - privileged hostconfig with CapAdd, NetworkMode host, PidMode host,
    ReadonlyRootfs, User "" -> security_context with run_as_root true; a
    non-root user -> run_as_root false, no capabilities; User "root", "0",
    "0:0", "root:wheel" -> run_as_root true;
  - Config.Env values never in the output (nor in wharf's own log);
  - max_line_bytes 64KiB: a 200 KiB line (13 records) -> message of exactly
    65536 bytes tagged truncated at the first record's offset; a line of
    exactly 65536 bytes is not truncated, one of 65537 is; the next line intact;
  - the default max_line_bytes (1 MiB) cuts a 10 MB line (640 records) and
    leaves 200 KiB lines whole;
  - exclude_names skips containers by name glob;
  - Kubernetes labels on a Docker container -> orchestrator fields;
  - live: a split line whose parts arrive 0.5 s apart (one record cut in
    the middle of a write) -> one event;
  - live: a container created while wharf runs is shipped within 2 s (the
    contract says 1 s); removing a container's directory does not stop wharf;
  - live: `docker rename` (config.v2.json rewritten) -> events written 3 s
    later carry the new container.name.
"""
import json
import os
import time

import wharftest as wt

ck = wt.Checker("docker_edge")
version = wt.wharf_version()
s = wt.Setup("docker-edge")
host = wt.DockerHost(s.path("containers"))

SECRETS = ["sk_live_51Hx9EdgeSecretValue", "hunter2-edge-db-password", "ghp_EdgeTokenAbCdEf012345"]
ENV = ["PATH=/usr/local/bin:/usr/bin:/bin", f"STRIPE_KEY={SECRETS[0]}",
       f"POSTGRES_PASSWORD={SECRETS[1]}", f"GITHUB_TOKEN={SECRETS[2]}"]

# --- container A: privileged web, every kind of odd line ------------------------
A_LABELS = {"app": "web", "app.kubernetes.io/name": "shop", "com.docker.compose.service": "web",
            "maintainer": "ops@example.com"}
a = host.add("edge-web", image="registry.example.com:5000/shop/web:2.1.0", labels=A_LABELS,
             env=ENV, user="", privileged=True, cap_add=["NET_ADMIN", "SYS_PTRACE"],
             network_mode="host", pid_mode="host", readonly_rootfs=True)
big = "".join(chr(ord("a") + i % 26) for i in range(40 * 1024))  # 40960 bytes
chunks, _ = wt.docker_chunks(big, time="2024-05-01T10:00:01.000000001Z")
chunk_lines = chunks.split(b"\n")[:-1]
ck.eq([len(json.loads(l)["log"]) for l in chunk_lines], [16384, 16384, 40960 - 32768 + 1],
      "test setup: the 40 KiB line in three records")

T = "2024-05-01T10:00:0{}.{:09d}Z"
records = [
    ("first", wt.docker_line("first line\n", time=T.format(0, 123456789))),
    ("chunk1", chunk_lines[0] + b"\n"),
    ("chunk2", chunk_lines[1] + b"\n"),
    ("between", wt.docker_line("stderr between the parts\n", "stderr", T.format(1, 500))),
    ("chunk3", chunk_lines[2] + b"\n"),
    ("utf8", b'{"log":"bad \xff here, \xfe there, \xc3( and valid h\xc3\xa9llo \xe2\x9c\x93 '
             b'\xf0\x9f\x90\xb3\\n","stream":"stderr","time":"2024-05-01T10:00:02Z"}\n'),
    ("malformed", b'{"log":"not closed\n'),
    ("after_malformed", wt.docker_line("after the malformed line\n", time=T.format(3, 0))),
    ("nul", b'\x00\x00\x00\x00{"log":"after a crash\\n","stream":"stdout","time":"2024-05-01T10:00:03Z"}\n'),
    ("control", wt.docker_line("ctl \x01\x07\x1b[31mred\x1b[0m\ttab\rcr\x7f del \u2028 ls \x00 nul\n",
                               time=T.format(4, 0))),
    ("attrs", wt.docker_line("with attrs\n", time=T.format(5, 0),
                             attrs={"tag": "edge/web", "com.example.team": "payments"})),
    ("escapes", wt.docker_line('quotes " and \\ backslash <html> & amp\n', time=T.format(6, 0))),
    ("offset_time", wt.docker_line("local time\n", "stderr", "2024-05-01T12:00:07.5+02:00")),
    ("empty", wt.docker_line("\n", time=T.format(8, 0))),
    ("last", wt.docker_line("last line\n", time=T.format(9, 999999999))),
]
off = {}
for key, data in records:
    off[key] = a.append(data)

# --- container B: non-root, max_line_bytes edges ------------------------------
b = host.add("edge-api", image="golang:1.22", env=ENV, user="1000:1000")
huge = "".join(chr(ord("A") + i % 26) for i in range(200 * 1024))
exact = "x" * 65536
over1 = "y" * 65537
multibyte = "é" * 35000  # 70000 bytes
for key, text in (("huge", huge), ("exact", exact), ("over1", over1), ("multibyte", multibyte)):
    data, _ = wt.docker_chunks(text, time="2024-05-01T11:00:00.000000001Z")
    off["b_" + key] = b.append(data)
off["b_after"] = b.append(wt.docker_line("after the long ones\n", time="2024-05-01T11:00:01Z"))

# --- container C: started by the kubelet through dockershim / cri-dockerd -----
C_LABELS = {"io.kubernetes.pod.name": "api-5f7c8d9b4-q2x7z", "io.kubernetes.pod.namespace": "prod",
            "io.kubernetes.pod.uid": "6c9e4f1a-2b3d-4c5e-8f70-91a2b3c4d5e6",
            "io.kubernetes.container.name": "api", "io.kubernetes.docker.type": "container",
            "annotation.io.kubernetes.container.restartCount": "0"}
c = host.add("k8s_api_api-5f7c8d9b4-q2x7z_prod_6c9e4f1a-2b3d-4c5e-8f70-91a2b3c4d5e6_0",
             image="ghcr.io/example/api@sha256:" + "9a" * 32, labels=C_LABELS, env=ENV, user="65534")
c.append(wt.docker_line("k8s line\n"))

# --- root by name or uid ---------------------------------------------------------
roots = [host.add(f"edge-user-{i}", user=u, env=ENV) for i, u in enumerate(["root", "0:0", "0", "root:wheel"])]
for r in roots:
    r.append(wt.docker_line("as root\n"))

# --- containers D, E: excluded by name ----------------------------------------
d = host.add("wharf-agent", env=ENV)
d.append(wt.docker_line("wharf's own log, must not be shipped\n"))
e_ = host.add("log-sidecar", env=ENV)
e_.append(wt.docker_line("sidecar log, must not be shipped\n"))
f_ = host.add("sidecar-main", env=ENV)  # does not match "*-sidecar"
f_.append(wt.docker_line("not excluded\n"))

s.config([{"type": "docker", "id": "docker", "root": host.root, "read_from": "beginning",
           "exclude_names": ["wharf*", "*-sidecar"], "max_line_bytes": "64KiB",
           "rotate_wait": "1s"}])
p = wt.oneshot(s.cfg)
raw = wt.output_bytes(ck, s.out)
try:
    events = wt.parse_ndjson(raw, s.out)
except wt.BadOutput as ex:
    ck.fail(str(ex))
    ck.finish()

for secret in SECRETS:
    ck.check(secret.encode() not in raw, f"Config.Env value {secret!r} in the output")
    ck.check(secret.encode() not in p.stderr, f"Config.Env value {secret!r} in wharf's log")
# control characters are escaped: no raw byte < 0x20 except the line ends
ck.eq(sorted({ch for ch in raw if ch < 0x20 and ch != 0x0A}), [], "raw control bytes in the output")

by = {}
for ev in events:
    by.setdefault(wt.get(ev, "container.id"), []).append(ev)
for cont in (d, e_):
    ck.eq(len(by.get(cont.id, [])), 0, f"events of excluded container {cont.name}")
ck.eq([ev.get("message") for ev in by.get(f_.id, [])], ["not excluded"], "container sidecar-main")

# ---- container A ----
ea = by.get(a.id, [])
want_a = [
    ("first", "first line", "stdout", "2024-05-01T10:00:00.123456789Z", None),
    ("between", "stderr between the parts", "stderr", "2024-05-01T10:00:01.000000500Z", None),
    ("chunk1", big, "stdout", "2024-05-01T10:00:01.000000001Z", None),
    ("utf8", "bad \ufffd here, \ufffd there, \ufffd( and valid h\u00e9llo \u2713 \U0001F433",
     "stderr", "2024-05-01T10:00:02.000000000Z", None),
    ("malformed", '{"log":"not closed', None, None, ["invalid_json"]),
    ("after_malformed", "after the malformed line", "stdout", "2024-05-01T10:00:03.000000000Z", None),
    ("nul", '\x00\x00\x00\x00{"log":"after a crash\\n","stream":"stdout","time":"2024-05-01T10:00:03Z"}',
     None, None, ["invalid_json"]),
    ("control", "ctl \x01\x07\x1b[31mred\x1b[0m\ttab\rcr\x7f del \u2028 ls \x00 nul", "stdout",
     "2024-05-01T10:00:04.000000000Z", None),
    ("attrs", "with attrs", "stdout", "2024-05-01T10:00:05.000000000Z", None),
    ("escapes", 'quotes " and \\ backslash <html> & amp', "stdout", "2024-05-01T10:00:06.000000000Z", None),
    ("offset_time", "local time", "stderr", "2024-05-01T10:00:07.500000000Z", None),
    ("empty", "", "stdout", "2024-05-01T10:00:08.000000000Z", None),
    ("last", "last line", "stdout", "2024-05-01T10:00:09.999999999Z", None),
]
ck.eq(len(ea), len(want_a), "container edge-web: number of events")
# The interleaved stderr line completes before the split stdout line; wharf
# may emit the joined line when its last part arrives (after "between") or
# keep file order of first parts: both orders are accepted, nothing else.
ea_sorted = sorted(ea, key=lambda ev: wt.get(ev, "log.offset", -1))
want_sorted = sorted(want_a, key=lambda w: off[w[0]])
for ev, (key, msg, stream, ts, tags) in zip(ea_sorted, want_sorted):
    where = f"edge-web line {key!r}"
    ck.eq(ev.get("message"), msg, f"{where}: message")
    ck.eq(wt.get(ev, "log.offset"), off[key], f"{where}: log.offset")
    ck.eq(ev.get("tags"), tags, f"{where}: tags")
    if stream is not None:
        ck.eq(ev.get("stream"), stream, f"{where}: stream")
    if ts is not None:
        ck.eq(ev.get("@timestamp"), ts, f"{where}: @timestamp")
    wt.common_checks(ck, ev, where, "docker.container_logs", path=a.log, version=version)
    cont = ev.get("container", {})
    ck.eq(cont.get("id"), a.id, f"{where}: container.id")
    ck.eq(cont.get("name"), "edge-web", f"{where}: container.name")
    ck.eq(cont.get("runtime"), "docker", f"{where}: container.runtime")
    ck.eq(wt.get(ev, "container.image.name"), "registry.example.com:5000/shop/web", f"{where}: image.name")
    ck.eq(wt.get(ev, "container.image.tag"), ["2.1.0"], f"{where}: image.tag")
    ck.eq(wt.get(ev, "container.image.hash.all"), [a.image_id], f"{where}: image.hash.all")
    want_labels = {"app": "web", "app_kubernetes_io/name": "shop",
                   "com_docker_compose_service": "web", "maintainer": "ops@example.com"}
    if key == "attrs":
        want_labels.update({"tag": "edge/web", "com_example_team": "payments"})
    ck.eq(cont.get("labels"), want_labels, f"{where}: container.labels")
    ck.eq(cont.get("security_context"), {
        "privileged": True, "user": "", "run_as_root": True,
        "capabilities": {"add": ["NET_ADMIN", "SYS_PTRACE"]},
        "read_only_root_filesystem": True, "host_network": True, "host_pid": True},
        f"{where}: container.security_context")
    ck.check("orchestrator" not in ev, f"{where}: orchestrator on a plain Docker container")
order = [ev.get("message", "")[:20] for ev in ea]
ok_orders = [[m[:20] for _, m, *_ in want_a],
             [m[:20] for _, m, *_ in want_sorted]]
ck.check(order in ok_orders, f"edge-web: event order {order}")

# ---- container B: max_line_bytes ----
eb = by.get(b.id, [])
want_b = [("b_huge", huge.encode()[:65536].decode(), ["truncated"]),
          ("b_exact", exact, None),
          ("b_over1", "y" * 65536, ["truncated"]),
          ("b_multibyte", None, ["truncated"]),
          ("b_after", "after the long ones", None)]
ck.eq(len(eb), len(want_b), "container edge-api: number of events")
for ev, (key, msg, tags) in zip(eb, want_b):
    where = f"edge-api line {key!r}"
    m = ev.get("message", "")
    if msg is not None:
        ck.eq(len(m.encode()), len(msg.encode()), f"{where}: message length in bytes")
        ck.check(m == msg, f"{where}: message differs from the expected cut (first 40: {m[:40]!r})")
    else:  # cut inside "é" characters: at most 64 KiB, valid, a prefix of the line
        mb = m.encode()
        core = m.rstrip("\ufffd")
        ck.check(65534 <= len(core.encode()) <= 65536 and multibyte.startswith(core) and
                 len(mb) <= 65536 + 3,
                 f"{where}: cut multi-byte line: {len(mb)} bytes, ends {m[-3:]!r}")
    ck.eq(ev.get("tags"), tags, f"{where}: tags")
    ck.eq(wt.get(ev, "log.offset"), off[key], f"{where}: log.offset")
    wt.common_checks(ck, ev, where, "docker.container_logs", path=b.log, version=version)
if eb:
    ck.eq(wt.get(eb[0], "container.security_context"), {
        "privileged": False, "user": "1000:1000", "run_as_root": False,
        "read_only_root_filesystem": False, "host_network": False, "host_pid": False},
        "edge-api: security_context of a non-root container")
    ck.eq(wt.get(eb[0], "container.image"), {"name": "golang", "tag": ["1.22"],
                                              "hash": {"all": [b.image_id]}}, "edge-api: image")
    ck.check(not wt.get(eb[0], "container.labels"), "edge-api: labels on a container without any")

# ---- root users ----
for r, u in zip(roots, ["root", "0:0", "0", "root:wheel"]):
    er = by.get(r.id, [])
    ck.eq([(wt.get(ev, "container.security_context.user"), wt.get(ev, "container.security_context.run_as_root"))
           for ev in er], [(u, True)], f"User {u!r}: (security_context.user, run_as_root)")

# ---- container C: kubernetes labels ----
ec = by.get(c.id, [])
ck.eq([ev.get("message") for ev in ec], ["k8s line"], "k8s container: events")
if ec:
    ev = ec[0]
    ck.eq(ev.get("orchestrator"), {"type": "kubernetes", "namespace": "prod",
                                   "resource": {"type": "pod", "name": "api-5f7c8d9b4-q2x7z"}},
          "k8s container: orchestrator")
    ck.eq(wt.get(ev, "kubernetes.pod.uid"), "6c9e4f1a-2b3d-4c5e-8f70-91a2b3c4d5e6",
          "k8s container: kubernetes.pod.uid")
    ck.eq(wt.get(ev, "container.name"), c.name, "k8s container: container.name")
    ck.eq(wt.get(ev, "container.image.name"), "ghcr.io/example/api", "k8s container: image.name")
    ck.check(not wt.has(ev, "container.image.tag"), "k8s container: image.tag for a digest reference")
    ck.eq(sorted(wt.get(ev, "container.image.hash.all") or []),
          sorted([c.image_id, "sha256:" + "9a" * 32]), "k8s container: image.hash.all")
    ck.eq(wt.get(ev, "container.labels"), {k.replace(".", "_"): v for k, v in C_LABELS.items()},
          "k8s container: labels")
    ck.eq(wt.get(ev, "container.security_context.run_as_root"), False, "uid 65534: run_as_root")

# ---- labels_dedot: false; default max_line_bytes (1 MiB) with a 10 MB line ----
hh = host.add("edge-huge", env=ENV)
ten_mb = "0123456789abcdef" * (10 * 1024 * 1024 // 16)
data, _ = wt.docker_chunks(ten_mb, time="2024-05-01T12:00:00Z")
off_10mb = hh.append(data)
off_10mb_after = hh.append(wt.docker_line("after 10 MB\n", time="2024-05-01T12:00:01Z"))
del data
s2 = wt.Setup("docker-edge-dots")
s2.config([{"type": "docker", "id": "docker", "root": host.root, "read_from": "beginning",
            "labels_dedot": False}])
wt.oneshot(s2.cfg)
ehh = [ev for ev in wt.read_events(s2.out) if wt.get(ev, "container.id") == hh.id]
ck.eq([(len(ev.get("message", "")), ev.get("tags"), wt.get(ev, "log.offset")) for ev in ehh],
      [(1024 * 1024, ["truncated"], off_10mb), (len("after 10 MB"), None, off_10mb_after)],
      "10 MB line with the default max_line_bytes (1 MiB): (length, tags, offset)")
if ehh:
    ck.check(ehh[0].get("message") == ten_mb[:1024 * 1024], "10 MB line: message is its first MiB")
eb2 = [ev for ev in wt.read_events(s2.out) if wt.get(ev, "container.id") == b.id]
ck.eq([(len(ev.get("message", "")), ev.get("tags")) for ev in eb2][:3],
      [(len(huge), None), (len(exact), None), (len(over1), None)],
      "default max_line_bytes: the 200 KiB and 64 KiB lines are not cut")
ev2 = [ev for ev in wt.read_events(s2.out) if wt.get(ev, "container.id") == a.id]
ck.eq(wt.get(ev2[0], "container.labels") if ev2 else None, A_LABELS, "labels_dedot: false")
attrs_ev = [ev for ev in ev2 if ev.get("message") == "with attrs"]
ck.eq(wt.get(attrs_ev[0], "container.labels") if attrs_ev else None,
      dict(A_LABELS, **{"tag": "edge/web", "com.example.team": "payments"}),
      "labels_dedot: false with attrs")
ck.eq(len([ev for ev in wt.read_events(s2.out) if wt.get(ev, "container.id") in (d.id, e_.id)]), 2,
      "no exclude_names: the wharf and sidecar containers are shipped")

# ---- live: parts of a split line arriving apart ----
s3 = wt.Setup("docker-edge-live")
host3 = wt.DockerHost(s3.path("containers"))
h = host3.add("edge-live", env=ENV)
s3.config([{"type": "docker", "id": "docker", "root": host3.root, "read_from": "beginning",
            "rotate_wait": "1s", "rescan_interval": "250ms"}])
live = wt.Live(s3.cfg, s3.log)
h.append(wt.docker_line("live first\n"))
ck.check(wt.wait_count(s3.out, 1, 10) >= 1, "live: first line not shipped within 10 s")
line = "".join(chr(ord("0") + i % 10) for i in range(20000))
data, offs = wt.docker_chunks(line, time="2024-05-01T12:00:00.000000001Z")
parts = data.split(b"\n")[:-1]
start = h.size()
h.append(parts[0] + b"\n")
time.sleep(0.5)
h.append(parts[1][:100])  # a record cut in the middle of a write
time.sleep(0.5)
h.append(parts[1][100:] + b"\n")
h.append(wt.docker_line("live last\n"))
n = wt.wait_count(s3.out, 3, 10)
# a container started while wharf runs: picked up within 1 s (inotify; 2 s allowed)
t_new = time.monotonic()
nc = host3.add("edge-new", env=ENV)
nc.append(wt.docker_line("from a new container\n"))
got_new = wt.wait_until(lambda: any(ev.get("message") == "from a new container"
                                    for ev in wt.read_events(s3.out, allow_partial_tail=True)), 10, 0.05)
lat = time.monotonic() - t_new
print(f"[docker_edge] new container shipped after {lat:.2f}s", flush=True)
ck.check(got_new and lat <= 2.0, f"live: new container's line shipped after {lat:.2f}s (want <= 1 s + slack)")
# a container removed (docker rm): its directory disappears; wharf goes on
import shutil
shutil.rmtree(nc.dir)
time.sleep(1.5)
ck.check(live.alive(), "live: wharf exited after a container directory was removed")
# `docker rename edge-live edge-renamed`: dockerd rewrites config.v2.json
host3.add("edge-renamed", seed="edge-live", env=ENV, create_log=False)
time.sleep(3)
after_rename = h.append(wt.docker_line("after rename\n"))
n = wt.wait_count(s3.out, 5, 10)
rc = live.term()
ck.eq(rc, 0, "live: exit code after SIGTERM")
ev3 = [ev for ev in wt.read_events(s3.out) if wt.get(ev, "container.id") == h.id]
ck.eq([(ev.get("message"), wt.get(ev, "log.offset")) for ev in ev3],
      [("live first", 0), (line, start), ("live last", start + len(data)),
       ("after rename", after_rename)],
      f"live: split line with parts arriving apart (wharf log: {live.log_tail(500)!r})")
ck.eq([wt.get(ev, "container.name") for ev in ev3],
      ["edge-live", "edge-live", "edge-live", "edge-renamed"],
      "live: container.name after config.v2.json changed (docker rename), 3 s later")

ck.finish(f"({len(events)} events)")
