"""The shipped parser pack on the journald input's events, end to end: a real
journal file (systemd-journal-remote) with daemon entries as journald stores
them - sshd, sudo, a kernel firewall line, dockerd's logfmt, kubelet's klog -
and a Docker journald-driver entry of an nginx container, read by `wharf run
--oneshot` with `pipeline.parsers` set to the repository's parsers/. Parsers
run in the normalize stage on every input's events: each event must carry
the ECS fields its parser sets (values written out below), keep the
journal's own fields (process.pid, the unit), and no event may be tagged.
`pipeline.parser_timezone: Asia/Tokyo` applies to kubelet's klog time, which
has no zone (and no year: its end is checked), and to no time with an offset.
"""
import os
import shutil

import journallib as j
import wharflib as w
from wharftest import get

f = w.Failures("journald_parsers")
PARSERS = os.path.join(w.SOURCE, "parsers")
NGINX_ID = "4f3c2b1a0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a39281706f5e4d3c2b1a0f9"


def entries():
    clk = j.Clock(step_us=1_000_000)
    return [  # (fields, realtime) as journallib writes them
        (j.sshd("Failed password for invalid user admin from 203.0.113.9 port 50022 ssh2"),
                clk.next()),
        (j.sshd("Accepted publickey for alice from 198.51.100.4 port 51234 ssh2: "
                       "ED25519 SHA256:4Qj0u5nJgpCk0Dd3cbhRxG8Hh2v0Pq1wYxS1jHkq8dE"), clk.next()),
        (j.sudo("   alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; "
                       "COMMAND=/usr/bin/systemctl restart nginx"), clk.next()),
        (j.kernel("[UFW BLOCK] IN=eth0 OUT= MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00 "
                         "SRC=203.0.113.45 DST=192.0.2.10 LEN=44 TOS=0x00 PREC=0x00 TTL=241 "
                         "ID=54321 PROTO=TCP SPT=47123 DPT=3389 WINDOW=1024 RES=0x00 SYN URGP=0"),
                clk.next()),
        (j.dockerd('time="2026-11-23T08:00:05.123456789Z" level=warning '
                          'msg="Your kernel does not support swap limit capabilities"'),
                clk.next()),
        (j.kubelet('E1123 08:00:06.250000    1377 pod_workers.go:1298] '
                          '"Error syncing pod, skipping" pod="prod/web-0"'), clk.next()),
        (j.container(NGINX_ID, "web", "nginx:1.25",
                            '198.51.100.23 - - [23/Nov/2026:08:00:07 +0000] "GET /login?next=%2F '
                            'HTTP/1.1" 401 153 "-" "curl/8.4.0"'), clk.next()),
    ]


WANT = [
    ("sshd failed", {
        "process.name": "sshd", "process.pid": 4242, "user.name": "admin",
        "source.ip": "203.0.113.9", "source.port": 50022, "event.outcome": "failure",
        "event.category": ["authentication"], "event.action": "ssh_login",
        "related.ip": ["203.0.113.9"], "related.user": ["admin"],
        "message": "Failed password for invalid user admin from 203.0.113.9 port 50022 ssh2"}),
    ("sshd accepted", {
        "user.name": "alice", "source.ip": "198.51.100.4", "source.port": 51234,
        "event.outcome": "success", "event.action": "ssh_login"}),
    ("sudo", {
        "process.name": "sudo", "user.name": "alice", "user.effective.name": "root",
        "process.command_line": "/usr/bin/systemctl restart nginx",
        "process.working_directory": "/home/alice", "related.user": ["alice", "root"]}),
    ("kernel firewall", {
        "process.name": "kernel", "source.ip": "203.0.113.45", "destination.ip": "192.0.2.10",
        "source.port": 47123, "destination.port": 3389, "network.transport": "tcp",
        "iptables.tcp.flags": ["SYN"]}),
    ("dockerd logfmt", {
        "process.name": "dockerd", "log.level": "warning",
        "message": "Your kernel does not support swap limit capabilities",
        "@timestamp": "2026-11-23T08:00:05.123456789Z", "event.timezone": None}),
    ("kubelet klog", {
        "process.name": "kubelet", "log.level": "error",
        "message": "\"Error syncing pod, skipping\" pod=\"prod/web-0\"",
        "event.timezone": "Asia/Tokyo"}),
    ("nginx container", {
        "container.id": NGINX_ID, "container.image.name": "nginx", "source.ip": "198.51.100.23",
        "http.request.method": "GET", "url.original": "/login?next=%2F",
        "http.response.status_code": 401, "event.outcome": "failure",
        "user_agent.original": "curl/8.4.0", "@timestamp": "2026-11-23T08:00:07.000000000Z",
        "event.timezone": None}),
]
# kubelet's "E1123 08:00:06.250000" in Asia/Tokyo (+09:00), the year the one nearest to now
KLOG_TIME_END = "-11-22T23:00:06.250000000Z"

root = w.tmpdir()
jdir = os.path.join(root, "journal")
os.makedirs(jdir)
written = entries()
j.make_journal(jdir, written)
for d in j.verify_journal(jdir, written)[:5]:
    f.check(False, f"journal as journalctl reads it: {d}")
out = os.path.join(root, "out.ndjson")
cfg = os.path.join(root, "wharf.yaml")
w.write_config(cfg, os.path.join(root, "data"),
               [{"type": "journald", "id": "journal", "directory": jdir,
                 "read_from": "beginning"}], out)
with open(cfg, "a") as fh:
    fh.write(f"pipeline: {{parsers: [{PARSERS}], parser_timezone: Asia/Tokyo}}\n")
p = w.oneshot(cfg, check=False)
f.eq(p.returncode, 0, f"wharf run --oneshot: {p.stderr.decode(errors='replace')[-600:]}")
events = w.read_events(out)
f.eq(len(events), len(WANT), "one event per journal entry")
for ev, (what, fields) in zip(events, WANT):
    for path, want in fields.items():
        f.eq(get(ev, path), want, f"{what}: {path}")
    f.eq(ev.get("tags"), None, f"{what}: tags")
klog = [ev for ev in events if get(ev, "process.name") == "kubelet"]
f.check(len(klog) == 1 and str(klog[0].get("@timestamp")).endswith(KLOG_TIME_END),
        f"kubelet klog: @timestamp ends in {KLOG_TIME_END}: {[e.get('@timestamp') for e in klog]}")
if not f.items and os.environ.get("WHARF_KEEP_TMP") != "1":
    shutil.rmtree(root)
f.finish(f"{len(events)} journal entries through the parser pack, "
         f"{sum(len(x[1]) for x in WANT)} fields checked")
