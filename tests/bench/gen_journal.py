#!/usr/bin/env python3
"""gen_journal.py - a benchmark journal: N entries in journal export format,
turned into a real journal file by systemd-journal-remote.

    python3 gen_journal.py DIR --entries 500000 [--seed 1]

Writes DIR/journal/remote*.journal (journal-remote rotates at 64 MiB) and
DIR/manifest.json ({"events": N,
"input_bytes": size of the journal files}). The mix is what a container
host's journal holds: half Docker journald-driver container output (with
CONTAINER_* fields, 1 in 50 split into two parts), the rest sshd, sudo,
kubelet, dockerd and containerd, each entry with the ~25 trusted fields
journald adds (_CAP_EFFECTIVE, _SYSTEMD_CGROUP, _MACHINE_ID ...), so the
reader enumerates as many fields per entry as on a real host.
"""
import argparse
import json
import os
import random
import subprocess
import sys

REMOTE_CANDIDATES = ["/lib/systemd/systemd-journal-remote", "/usr/lib/systemd/systemd-journal-remote"]

DAEMONS = [
    # unit, identifier, comm, exe, cmdline, facility, messages
    ("ssh.service", "sshd", "sshd", "/usr/sbin/sshd", "sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups", 4,
     ["Accepted publickey for deploy from 10.1.{a}.{b} port {p} ssh2: ED25519 SHA256:Xy{a}",
      "Failed password for invalid user admin from 203.0.113.{b} port {p} ssh2",
      "pam_unix(sshd:session): session opened for user deploy(uid=1000) by (uid=0)",
      "Connection closed by authenticating user root 198.51.100.{b} port {p} [preauth]"]),
    ("session-{a}.scope", "sudo", "sudo", "/usr/bin/sudo", "sudo systemctl restart nginx", 10,
     ["deploy : TTY=pts/{a} ; PWD=/home/deploy ; USER=root ; COMMAND=/usr/bin/systemctl restart app-{b}",
      "pam_unix(sudo:session): session opened for user root(uid=0) by deploy(uid=1000)"]),
    ("kubelet.service", "kubelet", "kubelet", "/usr/bin/kubelet",
     "/usr/bin/kubelet --config=/var/lib/kubelet/config.yaml --container-runtime-endpoint=unix:///run/containerd/containerd.sock", 3,
     ["I1123 08:00:{a:02d}.{p} 1234 kubelet.go:2458] \"SyncLoop (PLEG): event for pod\" pod=\"default/web-{b}\"",
      "E1123 08:00:{a:02d}.{p} 1234 pod_workers.go:1300] \"Error syncing pod, skipping\" err=\"failed to StartContainer\" pod=\"prod/api-{b}\""]),
    ("docker.service", "dockerd", "dockerd", "/usr/bin/dockerd", "/usr/bin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock", 3,
     ["time=\"2026-11-23T08:00:{a:02d}.{p}Z\" level=info msg=\"ignoring event\" container={b} module=libcontainerd namespace=moby topic=/tasks/delete type=\"*events.TaskDelete\""]),
    ("containerd.service", "containerd", "containerd", "/usr/bin/containerd", "/usr/bin/containerd", 3,
     ["time=\"2026-11-23T08:00:{a:02d}.{p}Z\" level=info msg=\"shim disconnected\" id={b} namespace=k8s.io"]),
]

CONTAINER_LINES = [
    "10.0.{a}.{b} - - [23/Nov/2026:08:00:{a:02d} +0000] \"GET /api/v1/items/{p} HTTP/1.1\" 200 {p} \"-\" \"curl/8.5.0\"",
    "{{\"level\":\"info\",\"ts\":\"2026-11-23T08:00:{a:02d}Z\",\"msg\":\"request served\",\"path\":\"/v1/orders/{p}\",\"status\":200,\"duration_ms\":{b}}}",
    "2026-11-23 08:00:{a:02d}.{p} UTC [{b}] LOG:  duration: {a}.{p} ms  statement: SELECT * FROM orders WHERE id = {p}",
    "WARN [main] o.a.k.c.NetworkClient - [Consumer clientId=app-{b}] Connection to node {a} could not be established.",
]


def field(out, name, value):
    data = value.encode() if isinstance(value, str) else value
    if b"\n" in data:
        out.append(name.encode() + b"\n" + len(data).to_bytes(8, "little") + data + b"\n")
    else:
        out.append(name.encode() + b"=" + data + b"\n")


def trusted(out, rnd, boot, machine, pid, uid, comm, exe, cmdline, unit):
    field(out, "_BOOT_ID", boot)
    field(out, "_MACHINE_ID", machine)
    field(out, "_HOSTNAME", "node-1")
    field(out, "_TRANSPORT", "stdout" if unit == "docker.service" and rnd.random() < 0.5 else "syslog")
    field(out, "_PID", str(pid))
    field(out, "_UID", str(uid))
    field(out, "_GID", str(uid))
    field(out, "_COMM", comm)
    field(out, "_EXE", exe)
    field(out, "_CMDLINE", cmdline)
    field(out, "_CAP_EFFECTIVE", "1ffffffffff" if uid == 0 else "0")
    field(out, "_SELINUX_CONTEXT", "unconfined\n")
    field(out, "_SYSTEMD_CGROUP", "/system.slice/" + unit)
    field(out, "_SYSTEMD_UNIT", unit)
    field(out, "_SYSTEMD_SLICE", "system.slice")
    field(out, "_SYSTEMD_INVOCATION_ID", "%032x" % rnd.getrandbits(128))


def entry(rnd, i, realtime, boot, machine, containers, parts_left, may_split):
    out = [("__REALTIME_TIMESTAMP=%d\n__MONOTONIC_TIMESTAMP=%d\n" % (realtime, 1000000 + i * 100)).encode()]
    a, b, p = rnd.randrange(60), rnd.randrange(256), rnd.randrange(1024, 65535)
    if rnd.random() < 0.5 or parts_left:
        cid, name, image = containers[rnd.randrange(len(containers))] if not parts_left else parts_left[0]
        text = rnd.choice(CONTAINER_LINES).format(a=a, b=b, p=p)
        field(out, "MESSAGE", text)
        field(out, "PRIORITY", "6" if rnd.random() < 0.8 else "3")
        field(out, "SYSLOG_IDENTIFIER", cid[:12])
        field(out, "CONTAINER_ID", cid[:12])
        field(out, "CONTAINER_ID_FULL", cid)
        field(out, "CONTAINER_NAME", name)
        field(out, "CONTAINER_TAG", cid[:12])
        field(out, "IMAGE_NAME", image)
        split = may_split and not parts_left and rnd.random() < 0.02
        if split:
            field(out, "CONTAINER_PARTIAL_MESSAGE", "true")
        trusted(out, rnd, boot, machine, 4321, 0, "dockerd", "/usr/bin/dockerd",
                "/usr/bin/dockerd -H fd://", "docker.service")
        return b"".join(out) + b"\n", ((cid, name, image),) if split else ()
    unit, ident, comm, exe, cmdline, facility, msgs = DAEMONS[rnd.randrange(len(DAEMONS))]
    field(out, "MESSAGE", rnd.choice(msgs).format(a=a, b=b, p=p))
    field(out, "PRIORITY", str(rnd.choice([3, 4, 5, 6, 6, 6, 7])))
    field(out, "SYSLOG_FACILITY", str(facility))
    field(out, "SYSLOG_IDENTIFIER", ident)
    field(out, "SYSLOG_TIMESTAMP", "Nov 23 08:00:%02d " % a)
    trusted(out, rnd, boot, machine, 1000 + b, 0, comm, exe, cmdline, unit.format(a=a))
    return b"".join(out) + b"\n", ()


def remote_binary():
    for c in REMOTE_CANDIDATES:
        if os.access(c, os.X_OK):
            return c
    sys.exit("gen_journal.py: systemd-journal-remote not found (apt-get install systemd-journal-remote)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--entries", type=int, default=500000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rnd = random.Random(args.seed)
    jdir = os.path.join(args.dir, "journal")
    os.makedirs(jdir, exist_ok=True)
    path = os.path.join(jdir, "remote.journal")
    boot, machine = "%032x" % rnd.getrandbits(128), "%032x" % rnd.getrandbits(128)
    containers = [("%064x" % rnd.getrandbits(256), "app-%d" % n, "registry.local/team/app-%d:1.%d" % (n, n))
                  for n in range(20)]
    proc = subprocess.Popen([remote_binary(), "--output=" + path, "--compress=no", "-"],
                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    parts_left = ()
    realtime = 1795420800000000  # 2026-11-23T08:00:00Z
    chunk = []
    splits = 0
    for i in range(args.entries):
        text, parts_left = entry(rnd, i, realtime + i * 7, boot, machine, containers, parts_left,
                                 i < args.entries - 1)
        splits += len(parts_left)
        chunk.append(text)
        if len(chunk) >= 10000:
            proc.stdin.write(b"".join(chunk))
            chunk = []
    proc.stdin.write(b"".join(chunk))
    proc.stdin.close()
    err = proc.stderr.read().decode(errors="replace")
    if proc.wait() != 0:
        sys.exit("gen_journal.py: systemd-journal-remote failed: " + err[-2000:])
    events = args.entries - splits  # a message split in two is one event
    with open(os.path.join(args.dir, "manifest.json"), "w") as f:
        size = sum(os.path.getsize(os.path.join(jdir, n)) for n in os.listdir(jdir))
        json.dump({"events": events, "entries": args.entries, "input_bytes": size}, f)


if __name__ == "__main__":
    main()
