"""journald input on real journal files made by systemd-journal-remote.

1. daemon entries (sshd, sudo, dockerd, kubelet, kernel, cron, haproxy, an
   app without SYSLOG_IDENTIFIER), priorities 0-7 and seven facilities:
   every field of every event against the specification, in journal order;
2. Docker journald-driver entries: a line in three 16 KiB parts interleaved
   with another container's entries and the same container's stderr, joined;
   container metadata from docker_root exactly as the docker input makes it
   (the docker input on the same config.v2.json is the oracle), only the
   journal's fields for a container without one, CONTAINER_ID when there is
   no CONTAINER_ID_FULL;
3. binary MESSAGE (invalid UTF-8, NUL, escapes), a 3 MiB MESSAGE, a 1.5 MiB
   _CMDLINE and a 1.1 MiB joined Docker line cut at max_line_bytes (tagged),
   one exactly at the limit (not cut); the entries after them intact;
4. units / match filters (units OR match; "ssh" means ssh.service, not
   ssh@....service nor sshd.service; names with a '.' used as they are);
5. restart from the saved cursor (a second journal file, and a line whose
   parts straddle the restart), and kill -9 in the middle of 100,000
   entries (more appended while wharf runs and while it is dead): nothing
   missing, duplicates no more than the file output wrote after its saved
   cursor (read from `wharf buffer stat` after the kill);
6. live pick-up of a journal file created while wharf runs, entries
   appended to it and to the first file, journald's rotation by rename, and
   a split line across a SIGTERM restart;
7. read_from: end on the first start only, also on an empty directory;
8. a saved cursor whose file was vacuumed: warning, the new file read, and
   (one file of two vacuumed) the entries before the cursor not read again;
9. a journal directory that does not exist: what check, oneshot and live
   run say; a match term that is not FIELD=value.
"""
import collections
import copy
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time

import journallib as j
import wharflib as w

f = w.Failures("journald_input")
T0 = time.time()
timings = []
ROOTS = []  # temp dirs, removed when every check passed (WHARF_KEEP_TMP=1 keeps them)
CREATED_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$")


def section(name):
    timings.append((name, time.time()))


def build(directory, entries, name="remote", verify=True, written=None):
    """make_journal, then journalctl must read back exactly what was written
    (`written`: every entry of the directory, when it holds more files)."""
    path = j.make_journal(directory, entries, name)
    if verify:
        for d in j.verify_journal(directory, written if written is not None else entries)[:5]:
            f.check(False, f"journal {directory} as journalctl reads it: {d}")
    return path


class Case:
    """A temp dir with a journal directory, a config and an output."""

    def __init__(self, name, **opts):
        self.root = w.tmpdir()
        ROOTS.append(self.root)
        self.name = name
        self.jdir = os.path.join(self.root, "journal")
        os.makedirs(self.jdir, exist_ok=True)
        self.out = os.path.join(self.root, "out.ndjson")
        self.cfg = os.path.join(self.root, "wharf.yaml")
        self.log = os.path.join(self.root, "wharf.log")
        inp = {"type": "journald", "id": "journal", "directory": self.jdir,
               "read_from": "beginning"}
        inp.update(opts)
        w.write_config(self.cfg, os.path.join(self.root, "data"), [inp], self.out)

    def oneshot(self, what):
        p = w.oneshot(self.cfg, check=False)
        err = p.stderr.decode(errors="replace")
        with open(self.log, "a") as fh:
            fh.write(err)
        f.eq(p.returncode, 0, f"{self.name}: {what}: wharf run --oneshot exit status "
                              f"(stderr: {err[-600:]!r})")
        errors = [l for l in err.splitlines() if "level=error" in l]
        f.eq(errors[:3], [], f"{self.name}: {what}: error lines on stderr")
        return err

    def events(self):
        try:
            return w.read_events(self.out)
        except AssertionError as e:
            f.check(False, f"{self.name}: {e}")
            return []


def check_event(got, want, what):
    g = copy.deepcopy(got)
    created = g.get("event", {}).pop("created", None)
    f.check(isinstance(created, str) and CREATED_RE.match(created) is not None,
            f"{what}: event.created {created!r} is not RFC 3339 UTC with 9 digits")
    d = j.diff(g, want)
    f.check(not d, f"{what}: " + "; ".join(d[:8]))


def msgs(events):
    return [e.get("message") for e in events]


# ------------------------------------------------------------ 1. daemons ---

def daemons():
    section("1 daemons")
    c = Case("daemons")
    clk = j.Clock(step_us=1_234_567)
    cron = {"MESSAGE": "(root) CMD (command -v debian-sa1 > /dev/null && debian-sa1 1 1)",
            "PRIORITY": "6", "SYSLOG_FACILITY": "9", "SYSLOG_IDENTIFIER": "CRON",
            "_PID": "30211", "_UID": "0", "_COMM": "cron", "_EXE": "/usr/sbin/cron",
            "_CMDLINE": "/usr/sbin/CRON -f", "_SYSTEMD_UNIT": "cron.service",
            "_TRANSPORT": "syslog", "_HOSTNAME": j.HOSTNAME}
    haproxy = {"MESSAGE": "203.0.113.7:41234 [23/Nov/2025:08:00:09.120] fe_https~ be_api/api1 "
                          "0/0/1/12/13 200 512 - - ---- 3/3/0/0/0 0/0 \"GET /v1/orders HTTP/1.1\"",
               "PRIORITY": "6", "SYSLOG_FACILITY": "16", "SYSLOG_IDENTIFIER": "haproxy",
               "_PID": "901", "_UID": "108", "_COMM": "haproxy", "_EXE": "/usr/sbin/haproxy",
               "_CMDLINE": "/usr/sbin/haproxy -Ws -f /etc/haproxy/haproxy.cfg",
               "_SYSTEMD_UNIT": "haproxy.service", "_TRANSPORT": "syslog",
               "_HOSTNAME": j.HOSTNAME}
    fields = [
        j.sshd("Server listening on 0.0.0.0 port 22.", pid=640),
        j.sshd("Accepted publickey for alice from 203.0.113.9 port 52144 ssh2: ED25519 "
               "SHA256:Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0", pid=4242),
        j.sshd("Failed password for invalid user admin from 198.51.100.23 port 40022 ssh2",
               pid=4301, priority=4, facility=10),
        j.sudo("alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; "
               "COMMAND=/usr/bin/systemctl restart nginx"),
        j.sudo("pam_unix(sudo:session): session opened for user root(uid=0) by alice(uid=1000)",
               priority=6),
        j.sudo("mallory : 3 incorrect password attempts ; TTY=pts/1 ; PWD=/tmp ; USER=root ; "
               "COMMAND=/bin/bash", pid=5199, priority=1, session=9),
        j.dockerd('time="2025-11-23T08:00:05.000000000Z" level=error msg="Handler for POST '
                  '/v1.43/containers/create returned error: No such image: acme/api:9.9"',
                  priority=3),
        j.dockerd('time="2025-11-23T08:00:06.000000000Z" level=warning msg="Your kernel does '
                  'not support swap limit capabilities or the cgroup is not mounted."',
                  priority=4),
        j.kubelet('E1123 08:00:07.123456    1377 pod_workers.go:1298] "Error syncing pod, '
                  'skipping" err="failed to \\"StartContainer\\" for \\"app\\" with '
                  'CrashLoopBackOff" pod="prod/api-7d9f8c6b5-x2x4z"', priority=2),
        j.kubelet('I1123 08:00:08.000001    1377 kubelet_getters.go:187] "Pod status updated" '
                  'pod="kube-system/coredns-5d78c9869d-8kq9w" status="Running"', priority=7),
        j.kernel("watchdog: BUG: soft lockup - CPU#3 stuck for 23s! [kworker/3:1:1234]",
                 priority=0),
        j.kernel("audit: type=1400 audit(1763884810.123:77): apparmor=\"DENIED\" "
                 "operation=\"open\" profile=\"docker-default\" name=\"/etc/shadow\"", priority=5),
        j.app_no_identifier("backup finished: 1532 files, 2.1 GiB in 00:04:12"),
        cron,
        haproxy,
        dict(j.kubelet("kubelet entry at facility local7", priority=3), SYSLOG_FACILITY="23"),
    ]
    entries = [(x, clk.next()) for x in fields]
    build(c.jdir, entries)
    c.oneshot("first run")
    ev = c.events()
    f.eq(len(ev), len(entries), "daemons: event count")
    f.eq(msgs(ev), [x["MESSAGE"] for x in fields], "daemons: messages in journal order")
    for i, (e, (x, rt)) in enumerate(zip(ev, entries)):
        check_event(e, j.expected_event(x, rt), f"daemons[{i}] {x['MESSAGE'][:30]!r}")
    seen = sorted({int(x["PRIORITY"]) for x in fields})
    f.eq(seen, list(range(8)), "daemons: priorities 0-7 covered (test data)")
    return len(ev)


# ---------------------------------------------------- 2. Docker containers ---

def docker_reference(root, cid, name, **kw):
    """The `container` object the docker input makes of this config."""
    containers = os.path.join(root, "containers")
    log = w.docker_container(containers, cid, name, **kw)
    with open(log, "wb") as fh:
        fh.write(w.docker_record("reference line\n"))
    out = os.path.join(root, "docker-ref.ndjson")
    cfg = os.path.join(root, "docker-ref.yaml")
    w.write_config(cfg, os.path.join(root, "docker-ref-data"), [{
        "type": "docker", "id": "docker", "root": containers, "read_from": "beginning"}], out)
    w.oneshot(cfg)
    ev = [e for e in w.read_events(out) if e.get("container", {}).get("id") == cid]
    f.eq(len(ev), 1, "docker reference: one event from the docker input")
    os.remove(log)
    return ev[0]["container"] if ev else None


def docker():
    section("2 docker")
    c = Case("docker")
    droot = os.path.join(c.root, "containers")
    w.write_config(c.cfg, os.path.join(c.root, "data"), [{
        "type": "journald", "id": "journal", "directory": c.jdir, "read_from": "beginning",
        "docker_root": droot}], c.out)
    id_a = "4f" * 4 + "0123456789abcdef" * 3 + "a1b2c3d4"
    id_b = "9e" * 4 + "fedcba9876543210" * 3 + "0a1b2c3d"
    f.eq((len(id_a), len(id_b)), (64, 64), "docker: container ids are 64 hex digits (test data)")
    image_a = "registry.local:5000/acme/payments:3.4.1"
    meta_a = docker_reference(c.root, id_a, "payments-api", image=image_a,
                              labels={"com.example.team": "payments", "app": "payments-api"},
                              privileged=True, cap_add=["NET_ADMIN"], network="host")
    # The oracle is the docker input; make sure it is not vacuous.
    if meta_a is not None:
        f.eq(meta_a.get("labels"), {"com_example_team": "payments", "app": "payments-api"},
             "docker reference: labels")
        f.eq(meta_a.get("security_context", {}).get("privileged"), True,
             "docker reference: privileged")
        f.eq(meta_a.get("image", {}).get("name"), "registry.local:5000/acme/payments",
             "docker reference: image name")
    image_b = "ghcr.io/acme/worker:1.7"
    A = lambda m, s="stdout": j.container(id_a, "payments-api", image_a, m, s)  # noqa: E731
    B = lambda m, s="stdout": j.container(id_b, "worker-7", image_b, m, s, tag="worker")  # noqa
    # A record without CONTAINER_ID_FULL (older Docker): the short id.
    old_c = j.container("77aa88bb99cc" + "0" * 52, "legacy", "busybox", "legacy says hi")
    del old_c["CONTAINER_ID_FULL"]
    long_line = "".join(chr(ord("A") + (i * 7) % 26) for i in range(40000)) + " END"
    parts = j.container_line(id_a, "payments-api", image_a, long_line)
    f.eq(len(parts), 3, "docker: the long line is three parts (test data)")
    clk = j.Clock(step_us=2500)
    seq = [A('{"level":"info","msg":"GET /healthz 200","took_ms":1}'),
           B("job 1 started"),
           parts[0],
           B("job 1 progress 50%"),
           A("WARN slow query took 1200ms: SELECT * FROM orders", "stderr"),
           parts[1],
           B("job 1 done"),
           parts[2],
           A("after the long line"),
           B("job 2 failed: exit status 1", "stderr"),
           old_c]
    entries = [(x, clk.next()) for x in seq]
    build(c.jdir, entries)
    c.oneshot("first run")
    ev = c.events()
    f.eq(len(ev), 9, "docker: event count (3 parts joined into one)")
    by = collections.defaultdict(list)
    for e in ev:
        by[e.get("container", {}).get("id")].append(e)
    f.eq(sorted(k for k in by if k), sorted([id_a, id_b, "77aa88bb99cc"]), "docker: container ids")
    legacy = by.get("77aa88bb99cc", [])
    f.eq(len(legacy), 1, "docker: the record without CONTAINER_ID_FULL")
    if legacy:
        check_event(legacy[0], j.expected_event(old_c, entries[-1][1]), "docker legacy")
        f.eq(legacy[0].get("container"), {"id": "77aa88bb99cc", "name": "legacy",
                                          "runtime": "docker", "image": {"name": "busybox"}},
             "docker: container.id from CONTAINER_ID when CONTAINER_ID_FULL is missing")

    # B: no config.v2.json: the journal's fields only, in order.
    want_b = [(x, rt) for x, rt in entries if x.get("CONTAINER_ID_FULL") == id_b]
    got_b = by.get(id_b, [])
    f.eq(msgs(got_b), [x["MESSAGE"] for x, _ in want_b], "docker: container B messages")
    for i, (e, (x, rt)) in enumerate(zip(got_b, want_b)):
        check_event(e, j.expected_event(x, rt), f"docker B[{i}]")
    if got_b:
        f.eq(got_b[0].get("container"), {"id": id_b, "name": "worker-7", "runtime": "docker",
                                         "image": {"name": "ghcr.io/acme/worker",
                                                   "tag": ["1.7"]}},
             "docker: container B = the journal's fields only")

    # A: config.v2.json in docker_root; the long line joined.
    joined = dict(parts[0], MESSAGE=long_line)
    for k in ("CONTAINER_PARTIAL_MESSAGE", "CONTAINER_PARTIAL_ID", "CONTAINER_PARTIAL_ORDINAL",
              "CONTAINER_PARTIAL_LAST"):
        joined.pop(k, None)
    want_a = [(entries[0][0], entries[0][1]), (joined, entries[2][1]),
              (entries[4][0], entries[4][1]), (entries[8][0], entries[8][1])]
    got_a = by.get(id_a, [])
    f.eq(sorted(msgs(got_a)), sorted(x["MESSAGE"] for x, _ in want_a),
         "docker: container A messages (long line joined exactly)")
    got_by_msg = {e.get("message"): e for e in got_a}
    for x, rt in want_a:
        e = got_by_msg.get(x["MESSAGE"])
        if e is not None:
            check_event(e, j.expected_event(x, rt, docker_meta=meta_a),
                        f"docker A {x['MESSAGE'][:25]!r}")
    ma = msgs(got_a)
    if long_line in ma and "after the long line" in ma:
        f.check(ma.index(long_line) < ma.index("after the long line"),
                "docker: the joined line comes after the line written after it")
    if ma:
        f.eq(ma[0], entries[0][0]["MESSAGE"], "docker: A's first line first")
    part_msgs = {p["MESSAGE"] for p in parts}
    f.check(not (part_msgs & set(msgs(ev))), "docker: a part shipped on its own")
    return len(ev)


# ---------------------------------------------- 3. binary and huge values ---

def binary_huge():
    section("3 binary/huge")
    c = Case("binary", max_line_bytes="1MiB")
    mib = 1048576
    clk = j.Clock(step_us=10_000)
    binary = (b"bin \xff\xfe\x00 nul\ttab\nsecond line \xc0\xaf caf\xc3\xa9 \xe2\x82\xac "
              b"\xf0\x9f\x98\x80 \x1b[31mred\x1b[0m \x7f end")
    pattern = "".join("0123456789abcdefghijklmnopqrstuvwxyz"[(i * 31) % 36] for i in range(36))
    huge = (pattern * (3 * mib // 36 + 1))[:3 * mib]
    exact = ("ABCDEFGHIJKLMNOPQRSTUVWXYZ" * (mib // 26 + 1))[:mib]
    big_cmd = "/usr/bin/python3 -c " + "x" * (mib + mib // 2)
    fields = [
        j.app_no_identifier("before the binary message"),
        dict(j.app_no_identifier(""), MESSAGE=binary),
        j.app_no_identifier("multi\nline\n\tindented"),
        dict(j.dockerd(""), MESSAGE=huge),
        dict(j.sudo("cmdline over the limit"), _CMDLINE=big_cmd),
        dict(j.kubelet(""), MESSAGE=exact),
        j.sshd("after the huge ones"),
    ]
    entries = [(x, clk.next()) for x in fields]
    build(c.jdir, entries)
    c.oneshot("first run")
    ev = c.events()
    f.eq(len(ev), len(entries), "binary/huge: event count")
    wants = [j.expected_event(x, rt) for x, rt in entries]
    wants[3]["message"] = huge[:mib]
    wants[3]["tags"] = ["truncated"]
    wants[4]["process"]["command_line"] = big_cmd[:mib]
    wants[4]["tags"] = ["truncated"]
    names = ["before", "binary", "multi-line", "3 MiB MESSAGE", "1.5 MiB _CMDLINE",
             "MESSAGE of exactly max_line_bytes", "after"]
    for i, (e, want) in enumerate(zip(ev, wants)):
        check_event(e, want, f"binary/huge[{i}] {names[i]}")
    if len(ev) == len(entries):
        f.eq(ev[1]["message"], "bin \ufffd\ufffd\x00 nul\ttab\nsecond line \ufffd\ufffd café € "
                               "\U0001F600 \x1b[31mred\x1b[0m \x7f end",
             "binary MESSAGE: invalid bytes -> U+FFFD, NUL kept")
        f.eq(len(ev[3]["message"].encode()), mib, "3 MiB MESSAGE cut to exactly 1 MiB")
        f.eq(len(ev[5]["message"].encode()), mib, "MESSAGE of exactly 1 MiB kept whole")
    raw = open(c.out, "rb").read()
    f.check(b"\\u0000" in raw, "binary/huge: NUL not written as \\u0000")

    # A Docker line of 1.1 MiB in 16 KiB parts: joined, then cut at 1 MiB.
    c2 = Case("binary-joined", max_line_bytes="1MiB")
    cid = "11" * 32
    line = (pattern * (mib // 30))[:mib + mib // 10]
    parts = j.container_line(cid, "chatty", "alpine:3.20", line)
    entries2 = [(x, clk.next()) for x in parts] + [
        (j.container(cid, "chatty", "alpine:3.20", "next line"), clk.next())]
    build(c2.jdir, entries2, verify=False)
    c2.oneshot("joined over max_line_bytes")
    ev2 = c2.events()
    f.eq(msgs(ev2), [line[:mib], "next line"], "binary/huge: 1.1 MiB joined line cut at 1 MiB")
    if len(ev2) == 2:
        jf = dict(parts[0], MESSAGE=line[:mib])
        for k in ("CONTAINER_PARTIAL_MESSAGE", "CONTAINER_PARTIAL_ID",
                  "CONTAINER_PARTIAL_ORDINAL", "CONTAINER_PARTIAL_LAST"):
            jf.pop(k, None)
        check_event(ev2[0], j.expected_event(jf, entries2[0][1], tags=["truncated"]),
                    "binary/huge: joined line over max_line_bytes")
        check_event(ev2[1], j.expected_event(*entries2[-1]), "binary/huge: line after it")
    return len(ev) + len(ev2)
    return len(ev)


# --------------------------------------------------------------- 4. filters ---

def filters():
    section("4 filters")
    clk = j.Clock(step_us=777)
    cid = "c0ffee" + "0" * 58
    fields = [
        j.sshd("ssh 1: Server listening on :: port 22."),
        j.sshd("ssh@ 1: Accepted password for bob (socket-activated unit)",
               unit="ssh@3-192.0.2.10:22-203.0.113.9:52144.service"),
        j.sudo("sudo 1: bob : TTY=pts/2 ; PWD=/ ; USER=root ; COMMAND=/usr/bin/id"),
        j.dockerd("dockerd 1: Loading containers: done."),
        j.kubelet("kubelet 1: Started kubelet"),
        j.kernel("kernel 1: EXT4-fs (sda1): mounted filesystem"),
        j.container(cid, "shop", "nginx:1.25", "container 1: 10.0.0.1 - - GET / 200"),
        j.sshd("ssh 2: Disconnected from user alice 203.0.113.9 port 52144"),
        j.app_no_identifier("backupd 1: starting"),
        j.sshd("sshd.service 1: the unit's name on other distributions", unit="sshd.service"),
        j.kubelet("kubelet 2: Stopping kubelet"),
        dict(j.app_no_identifier("not-sudo 1: SYSLOG_IDENTIFIER=sudoedit"),
             SYSLOG_IDENTIFIER="sudoedit"),
        j.sudo("sudo 2: pam_unix(sudo:session): session closed for user root"),
        j.dockerd("dockerd 2: Processing signal 'terminated'"),
    ]
    entries = [(x, clk.next()) for x in fields]
    jroot = w.tmpdir()
    ROOTS.append(jroot)
    jdir = os.path.join(jroot, "journal")
    build(jdir, entries)
    cases = [
        ({"units": ["ssh", "kubelet.service"], "match": ["SYSLOG_IDENTIFIER=sudo"]},
         lambda x: x.get("_SYSTEMD_UNIT") in ("ssh.service", "kubelet.service")
         or x.get("SYSLOG_IDENTIFIER") == "sudo"),
        ({"units": ["docker"]}, lambda x: x.get("_SYSTEMD_UNIT") == "docker.service"),
        ({"match": ["_TRANSPORT=kernel"]}, lambda x: x.get("_TRANSPORT") == "kernel"),
        ({"units": ["session-3.scope", "ssh@3-192.0.2.10:22-203.0.113.9:52144.service"]},
         lambda x: x.get("_SYSTEMD_UNIT") in ("session-3.scope",
                                               "ssh@3-192.0.2.10:22-203.0.113.9:52144.service")),
    ]
    total = 0
    for n, (opts, pred) in enumerate(cases):
        c = Case(f"filters{n}", **opts)
        shutil.rmtree(c.jdir)
        w.write_config(c.cfg, os.path.join(c.root, "data"), [dict(
            {"type": "journald", "id": "journal", "directory": jdir, "read_from": "beginning"},
            **opts)], c.out)
        c.oneshot(json.dumps(opts))
        ev = c.events()
        want = [(x, rt) for x, rt in entries if pred(x)]
        f.eq(msgs(ev), [x["MESSAGE"] for x, _ in want], f"filters {json.dumps(opts)}: messages")
        for i, (e, (x, rt)) in enumerate(zip(ev, want)):
            check_event(e, j.expected_event(x, rt), f"filters{n}[{i}]")
        total += len(ev)
    return total


# ----------------------------------------------------- 5. restart, kill -9 ---

def seq_entry(n, rt):
    kind = n % 4
    msg = f"seq={n:06d}"
    if kind == 0:
        return (j.sshd(msg), rt)
    if kind == 1:
        return (j.dockerd(msg), rt)
    if kind == 2:
        return (j.kubelet(msg), rt)
    return (j.sudo(msg), rt)


def seq_numbers(events, what):
    c = collections.Counter()
    for e in events:
        m = re.fullmatch(r"seq=(\d{6})", e.get("message", ""))
        if m:
            c[int(m.group(1))] += 1
        else:
            f.check(False, f"{what}: unexpected message {e.get('message', '')[:60]!r}")
    return c


def restart_cursor():
    section("5a restart")
    c = Case("restart")
    clk = j.Clock(step_us=1000)
    N, M = 40, 25
    cid = "b16" + "5" * 61
    long_line = "".join(chr(ord("a") + i % 26) for i in range(20000))
    parts = j.container_line(cid, "batch", "busybox:1.36", long_line)
    a = [seq_entry(n, clk.next()) for n in range(N)] + [(parts[0], clk.next())]
    build(c.jdir, a, name="a")
    c.oneshot("run over file a")
    ev1 = c.events()
    f.eq(sorted(seq_numbers(ev1, "restart run 1").items()), [(n, 1) for n in range(N)],
         "restart: run 1 (file a) seq numbers exactly once")
    f.eq(len(ev1), N, "restart: run 1 ships no part of the unfinished long line")
    b = [(parts[1], clk.next())] + [seq_entry(n, clk.next()) for n in range(N, N + M)]
    build(c.jdir, b, name="b", written=a + b)
    c.oneshot("run after file b was added")
    ev = c.events()
    joined = [e for e in ev if e.get("message") == long_line]
    f.eq(len(joined), 1, "restart: the line whose parts straddle the restart, joined, once")
    if joined:
        jf = dict(parts[0], MESSAGE=long_line)
        for k in ("CONTAINER_PARTIAL_MESSAGE", "CONTAINER_PARTIAL_ID",
                  "CONTAINER_PARTIAL_ORDINAL", "CONTAINER_PARTIAL_LAST"):
            jf.pop(k, None)
        check_event(joined[0], j.expected_event(jf, a[-1][1]), "restart: joined line")
    rest = [e for e in ev if e.get("message") != long_line]
    got = seq_numbers(rest, "restart run 2")
    f.eq(sorted(got.items()), [(n, 1) for n in range(N + M)],
         "restart: N+M seq numbers, each exactly once")
    f.eq(len(ev), N + M + 1, "restart: event count after two runs")
    f.eq(msgs(rest), [f"seq={n:06d}" for n in range(N + M)], "restart: order")
    return len(ev)


def buffer_stat(cfg):
    p = subprocess.run([w.WHARF, "buffer", "stat", "-c", cfg, "--json"], capture_output=True,
                       timeout=60)
    try:
        return json.loads(p.stdout)
    except json.JSONDecodeError:
        f.check(False, f"wharf buffer stat --json: {p.stdout[:200]!r} {p.stderr[-300:]!r}")
        return {}


def kill9():
    section("5b kill -9")
    c = Case("kill9")
    total = 100_000
    clk = j.Clock(step_us=100)
    # Fixed-size messages, fields of a real stdout-transport service. 70,000
    # entries before the start, 10,000 appended while wharf runs, kill -9 in
    # the middle, 20,000 appended while it is dead, restart.
    entries = []
    for n in range(total):
        entries.append(({"MESSAGE": f"seq={n:06d}", "PRIORITY": "6", "SYSLOG_FACILITY": "3",
                         "SYSLOG_IDENTIFIER": "loadgen", "_PID": "4711", "_UID": "0",
                         "_COMM": "loadgen", "_SYSTEMD_UNIT": "loadgen.service",
                         "_TRANSPORT": "stdout", "_HOSTNAME": j.HOSTNAME}, clk.next()))
    build(c.jdir, entries[:70_000], verify=False)
    proc = w.start(c.cfg, c.log)
    writer = threading.Thread(target=build, args=(c.jdir, entries[70_000:80_000]),
                              kwargs={"verify": False})
    writer.start()
    # Kill -9 once about 5,000 events are out: the input is then in the
    # middle of the 70,000 it found at the start.
    deadline = time.time() + 30
    while time.time() < deadline and proc.poll() is None:
        if os.path.exists(c.out):
            with open(c.out, "rb") as fh:
                first = fh.readline()
            if first.endswith(b"\n") and os.path.getsize(c.out) >= 5000 * len(first):
                break
        time.sleep(0.002)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    writer.join()
    with open(c.out, "rb") as fh:
        at_kill = fh.read().count(b"\n")  # complete lines (a torn last one is cut at start)
    st = buffer_stat(c.cfg)
    outs = [o for o in st.get("outputs", []) if o.get("id") == "out"]
    read = st.get("next_event", -1)
    acked = outs[0].get("event", -1) if outs else -1
    print(f"kill -9: at the kill the input had committed {read} of {total} entries, the "
          f"output had written {at_kill} and its saved cursor was at {acked}")
    f.check(0 < at_kill < total, f"kill -9 not in the middle: {at_kill} of {total} delivered")
    f.check(0 <= read <= 80_000, f"kill -9: the input had committed {read} entries, of 80,000")
    build(c.jdir, entries[80_000:], verify=False)
    proc = w.start(c.cfg, c.log)
    # Every entry read (the output has at least `total` lines), then no
    # growth for 0.5 s; SIGTERM delivers what is left.
    deadline = time.time() + 40
    last, since = -1, time.time()
    while time.time() < deadline:
        n = w.count_lines(c.out)
        if n != last:
            last, since = n, time.time()
        elif n >= total and time.time() - since > 0.5:
            break
        time.sleep(0.1)
    rc = w.stop(proc)
    f.eq(rc, 0, "kill -9: exit status of the restarted run after SIGTERM")
    got = seq_numbers(c.events(), "kill -9")
    missing = sorted(set(range(total)) - set(got))
    dup = sum(v - 1 for v in got.values())
    over = [n for n, v in got.items() if v > 2]
    print(f"kill -9: {total} entries, missing {len(missing)}, duplicates {dup}")
    f.eq(missing[:10], [], f"kill -9: seq numbers missing ({len(missing)})")
    f.eq(over[:10], [], "kill -9: an entry shipped more than twice")
    # The input resumes at the cursor committed with its last events, so it
    # adds no duplicate; the file output re-sends what it had written after
    # its saved cursor: at most at_kill - acked lines.
    bound = at_kill - acked if acked >= 0 else at_kill
    f.check(dup <= bound, f"kill -9: {dup} duplicates, more than the {bound} lines the output "
                          f"wrote after its saved cursor ({at_kill} written, cursor at {acked})")
    with open(c.log, errors="replace") as fh:
        errs = [l for l in fh if "level=error" in l]
    f.eq(errs[:3], [], "kill -9: error lines on stderr")
    return dup, bound, read


# ---------------------------------------------------------- 6. live pick-up ---

def wait_msgs(c, want, timeout):
    want = set(want)
    w.wait_for(lambda: want <= set(msgs(c.events())), timeout, 0.1)
    return msgs(c.events())


def live_pickup():
    section("6 live")
    c = Case("live")
    clk = j.Clock(step_us=5000)
    mk = lambda tag, n: [(j.kubelet(f"{tag} {i}"), clk.next()) for i in range(n)]  # noqa
    first = mk("first", 5)
    build(c.jdir, first, name="first")
    proc = w.start(c.cfg, c.log)
    try:
        got = wait_msgs(c, [x["MESSAGE"] for x, _ in first], 15)
        f.eq(got, [x["MESSAGE"] for x, _ in first], "live: the first file")
        second = mk("second", 5)
        build(c.jdir, second, name="second", verify=False)
        want = first + second
        got = wait_msgs(c, [x["MESSAGE"] for x, _ in want], 15)
        f.eq(got, [x["MESSAGE"] for x, _ in want], "live: a journal file created while running")
        more = mk("appended-second", 4)
        build(c.jdir, more, name="second", verify=False)
        want += more
        got = wait_msgs(c, [x["MESSAGE"] for x, _ in want], 15)
        f.eq(got, [x["MESSAGE"] for x, _ in want], "live: entries appended to the new file")
        again = mk("appended-first", 3)
        build(c.jdir, again, name="first", verify=False)
        want += again
        got = wait_msgs(c, [x["MESSAGE"] for x, _ in want], 15)
        f.eq(got, [x["MESSAGE"] for x, _ in want], "live: entries appended to the first file")
        # journald's rotation: the active file renamed to NAME@...journal and a
        # new NAME.journal started.
        os.rename(os.path.join(c.jdir, "first.journal"), os.path.join(
            c.jdir, "first@" + "ab" * 16 + "-0000000000000001-0006443e6eee0000.journal"))
        rotated = mk("after-rotation", 4)
        build(c.jdir, rotated, name="first", verify=False)
        want += rotated
        got = wait_msgs(c, [x["MESSAGE"] for x, _ in want], 15)
        time.sleep(0.3)
        got = msgs(c.events())
        f.eq(got, [x["MESSAGE"] for x, _ in want],
             "live: rotation by rename (old file not read again, new file read)")
    finally:
        rc = w.stop(proc)
    f.eq(rc, 0, "live: exit status after SIGTERM")
    # A Docker line whose first part is read before a SIGTERM and whose last
    # part is written after it: joined once after the restart.
    cid = "5e" * 32
    long_line = "".join(chr(ord("a") + (i * 5) % 26) for i in range(20000))
    parts = j.container_line(cid, "streamer", "alpine:3.20", long_line)
    proc = w.start(c.cfg, c.log)
    try:
        before = [(j.kubelet("before the first part"), clk.next()), (parts[0], clk.next())]
        build(c.jdir, before, name="second", verify=False)
        want += before[:1]
        wait_msgs(c, [x["MESSAGE"] for x, _ in want], 15)
        time.sleep(0.3)
    finally:
        rc = w.stop(proc)
    f.eq(rc, 0, "live: exit status of the run stopped within a split line")
    after = [(parts[1], clk.next()), (j.kubelet("after the last part"), clk.next())]
    build(c.jdir, after, name="second", verify=False)
    proc = w.start(c.cfg, c.log)
    try:
        wait_msgs(c, [long_line, "after the last part"], 15)
        time.sleep(0.3)
    finally:
        rc = w.stop(proc)
    f.eq(rc, 0, "live: exit status of the run after the split line")
    joined = dict(parts[0], MESSAGE=long_line)
    for k in ("CONTAINER_PARTIAL_MESSAGE", "CONTAINER_PARTIAL_ID", "CONTAINER_PARTIAL_ORDINAL",
              "CONTAINER_PARTIAL_LAST"):
        joined.pop(k, None)
    want += [(joined, before[1][1]), after[1]]
    ev = c.events()
    f.eq(msgs(ev), [x["MESSAGE"] for x, _ in want], "live: final output (no repeats)")
    for i, (e, (x, rt)) in enumerate(zip(ev, want)):
        check_event(e, j.expected_event(x, rt), f"live[{i}]")
    return len(ev)


# ------------------------------------------------------- 7. read_from: end ---

def read_from_end():
    section("7 read_from end")
    c = Case("end", read_from="end")
    clk = j.Clock(step_us=3000)
    old = [(j.dockerd(f"old {i}"), clk.next()) for i in range(10)]
    build(c.jdir, old, name="old")
    proc = w.start(c.cfg, c.log)
    try:
        f.check(w.wait_running(c.log, timeout=15), "read_from end: wharf did not log \"running\"")
        time.sleep(0.3)
        new = [(j.dockerd(f"new {i}"), clk.next()) for i in range(5)]
        build(c.jdir, new, name="new", verify=False)
        got = wait_msgs(c, [x["MESSAGE"] for x, _ in new], 15)
        time.sleep(0.5)
        got = msgs(c.events())
    finally:
        rc = w.stop(proc)
    f.eq(rc, 0, "read_from end: exit status after SIGTERM")
    f.eq(got, [x["MESSAGE"] for x, _ in new],
         "read_from end: only the entries of the file added after the start")
    # The second start continues from the cursor: read_from is for the first.
    later = [(j.dockerd(f"later {i}"), clk.next()) for i in range(3)]
    build(c.jdir, later, name="new", verify=False)
    c.oneshot("second start")
    ev = c.events()
    f.eq(msgs(ev), [x["MESSAGE"] for x, _ in new + later],
         "read_from end: second start continues from the cursor")
    for i, (e, (x, rt)) in enumerate(zip(ev, new + later)):
        check_event(e, j.expected_event(x, rt), f"read_from end[{i}]")
    return len(ev) + read_from_end_empty()


def read_from_end_empty():
    """read_from: end on a directory with no journal file yet (a
    journal-remote target before the first upload): everything that comes
    afterwards is new."""
    c = Case("end-empty", read_from="end")
    clk = j.Clock(step_us=3000)
    proc = w.start(c.cfg, c.log)
    try:
        f.check(w.wait_running(c.log, timeout=15), "read_from end, empty dir: wharf did not log \"running\"")
        first = [(j.sudo(f"first upload {i}"), clk.next()) for i in range(4)]
        build(c.jdir, first, name="remote-203.0.113.5", verify=False)
        wait_msgs(c, [x["MESSAGE"] for x, _ in first], 15)
        time.sleep(0.3)
    finally:
        rc = w.stop(proc)
    f.eq(rc, 0, "read_from end, empty dir: exit status after SIGTERM")
    ev = c.events()
    f.eq(msgs(ev), [x["MESSAGE"] for x, _ in first],
         "read_from end, empty dir: every entry of the first file")
    return len(ev)


# ------------------------------------------------------- 8. vacuumed cursor ---

def vacuumed():
    section("8 vacuumed")
    c = Case("vacuum")
    clk = j.Clock(step_us=4000)
    a = [(j.sshd(f"vacuumed-a {i}"), clk.next()) for i in range(10)]
    pa = build(c.jdir, a, name="a")
    c.oneshot("run over file a")
    f.eq(msgs(c.events()), [x["MESSAGE"] for x, _ in a], "vacuum: file a")
    os.remove(pa)
    clk.next(60_000_000)
    cc = [(j.sshd(f"vacuumed-c {i}"), clk.next()) for i in range(8)]
    build(c.jdir, cc, name="c")
    p = w.oneshot(c.cfg, check=False)
    err = p.stderr.decode(errors="replace")
    f.eq(p.returncode, 0, f"vacuum: exit status of the run after the vacuum ({err[-400:]!r})")
    ev = c.events()
    f.eq(msgs(ev), [x["MESSAGE"] for x, _ in a + cc], "vacuum: every entry of file c, once")
    for i, (e, (x, rt)) in enumerate(zip(ev[len(a):], cc)):
        check_event(e, j.expected_event(x, rt), f"vacuum c[{i}]")
    warn = [l for l in err.splitlines()
            if "cursor" in l.lower() and "lost" in l.lower()]
    f.check(bool(warn), f"vacuum: no stderr line with 'cursor' and 'lost': {err[-800:]!r}")
    if warn:
        f.check("level=warn" in warn[0], f"vacuum: not a warning: {warn[0]!r}")
        print(f"vacuum: {warn[0].strip()}")
    return len(ev) + vacuumed_one_of_two()


def vacuumed_one_of_two():
    """The cursor's file is vacuumed but another file of the same time span
    stays (journald's system.journal next to user-1000.journal): the entries
    of that file up to the cursor were shipped and must not be shipped again
    (sd_journal_seek_cursor places reading at the cursor's time even when
    its entry is gone)."""
    c = Case("vacuum2")
    clk = j.Clock(step_us=4000)
    system, user = [], []
    for i in range(10):
        system.append((j.sshd(f"system {i}"), clk.next()))
        user.append((j.app_no_identifier(f"user {i}"), clk.next()))
    build(c.jdir, system, name="system")
    pu = build(c.jdir, user, name="user-1000", verify=False)
    c.oneshot("run over system and user-1000")
    first = msgs(c.events())
    f.eq(sorted(first), sorted(x["MESSAGE"] for x, _ in system + user),
         "vacuum one of two: first run")
    os.remove(pu)  # the cursor (last entry: "user 9") was in this file
    new = [(j.sshd(f"system new {i}"), clk.next()) for i in range(3)]
    build(c.jdir, new, name="system", verify=False)
    p = w.oneshot(c.cfg, check=False)
    f.eq(p.returncode, 0, "vacuum one of two: exit status")
    ev = c.events()
    again = collections.Counter(msgs(ev))
    repeated = sorted(m for m, n in again.items() if n > 1)
    f.eq(repeated, [], "vacuum one of two: entries older than the cursor shipped again")
    f.eq(msgs(ev)[len(first):], [x["MESSAGE"] for x, _ in new],
         "vacuum one of two: second run ships exactly the new entries")
    return len(ev)


# -------------------------------------------------- 9. missing directory ---

def missing_dir():
    section("9 missing dir")
    c = Case("missing")
    missing = os.path.join(c.root, "no-such-journal-dir")
    w.write_config(c.cfg, os.path.join(c.root, "data"), [{
        "type": "journald", "id": "journal", "directory": missing,
        "read_from": "beginning"}], c.out)
    chk = subprocess.run([w.WHARF, "check", "-c", c.cfg], capture_output=True, timeout=30)
    one = subprocess.run([w.WHARF, "run", "-c", c.cfg, "--oneshot"], capture_output=True,
                         timeout=60)
    live = subprocess.Popen([w.WHARF, "run", "-c", c.cfg], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        _, lerr = live.communicate(timeout=5)
        live_rc = live.returncode
    except subprocess.TimeoutExpired:
        live.send_signal(signal.SIGTERM)
        _, lerr = live.communicate(timeout=30)
        live_rc = f"still running after 5 s (exit {live.returncode} after SIGTERM)"
    results = {"check": (chk.returncode, chk.stderr), "run --oneshot": (one.returncode, one.stderr),
               "run (live)": (live_rc, lerr)}
    for what, (rc, err) in results.items():
        err = err.decode(errors="replace").strip()
        print(f"missing dir: {what}: exit {rc}: {err.splitlines()[0][:300] if err else ''!r}")
        if what == "check":
            continue
        named = [l for l in err.splitlines() if missing in l]
        f.check(bool(named), f"missing dir: {what}: stderr does not name {missing}: {err[-500:]!r}")
        if rc == 0:
            f.check(any("level=warn" in l or "level=error" in l for l in named),
                    f"missing dir: {what} exited 0 without a warning naming the directory")
    # A match term that is not FIELD=value: check names the file and the term.
    bad = os.path.join(c.root, "bad-match.yaml")
    w.write_config(bad, os.path.join(c.root, "data"), [{
        "type": "journald", "id": "journal", "directory": c.jdir, "match": ["sudo"]}], c.out)
    p = subprocess.run([w.WHARF, "check", "-c", bad], capture_output=True, timeout=30)
    err = p.stderr.decode(errors="replace")
    f.check(p.returncode != 0 and bad in err and "sudo" in err,
            f"check with match: [sudo]: exit {p.returncode}, stderr {err[-300:]!r}")
    return chk.returncode, one.returncode, live_rc


counts = {}
counts["daemons"] = daemons()
counts["docker"] = docker()
counts["binary"] = binary_huge()
counts["filters"] = filters()
counts["restart"] = restart_cursor()
dup, dup_bound, kill_read = kill9()
counts["live"] = live_pickup()
counts["end"] = read_from_end()
counts["vacuum"] = vacuumed()
missing_rc = missing_dir()
section("end")
spent = ", ".join(f"{a[0].split()[0]}:{b[1] - a[1]:.1f}s" for a, b in zip(timings, timings[1:]))
print(f"timings: {spent}")
if not f.items and not os.environ.get("WHARF_KEEP_TMP"):
    for d in ROOTS:  # the kill -9 case alone leaves ~100 MB
        shutil.rmtree(d, ignore_errors=True)
f.finish(f"{sum(counts.values())} events in 9 scenarios; kill -9: {dup} duplicates (bound "
         f"{dup_bound}), the input had committed {kill_read} of 100,000 at the kill; missing "
         f"dir: check/oneshot/live exit {missing_rc[0]}/{missing_rc[1]}/{missing_rc[2]}; "
         f"{time.time() - T0:.1f} s")
