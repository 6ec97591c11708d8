"""wharf's own log on stderr: the logfmt lines (default) and the JSON lines
(`log_format: json`) of a whole run, field by field; the warning when it runs
as root; a retry loop's repeated warning rate-limited in a live run.

  logfmt   every line is `ts=<RFC 3339 ms>Z level=<level> msg="..." k=v...`;
           "stopped" carries events=3; as root, exactly one root warning
  json     every line is one JSON object whose first keys are @timestamp,
           log.level, message, ecs.version; key=value pairs are fields, numbers
           as JSON numbers (stopped: events == 3)
  repeats  a CRI log file wharf may not open is retried every 100 ms for 3 s:
           the warning is printed at the first scan and once more after
           "running" (an info line ends the window), then held back; a new
           file (info "tailing file") ends the window again and the next copy
           carries repeated=N for the scans held back. When the test runs as
           root, wharf runs as nobody (setpriv), since root opens any file.
"""
import json
import os
import re
import signal
import subprocess
import time

import wharftest as t

ck = t.Checker("own_log")
IS_ROOT = os.geteuid() == 0
ROOT_WARNING = ("running as root, which wharf does not need: run it as its own user with "
                "CAP_DAC_READ_SEARCH (or in the groups that may read the logs: adm, "
                "systemd-journal, and the owner group of the container log directories) and "
                "write access to data_dir; see README, Privileges")
LOGFMT = re.compile(r'^ts=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z level=(debug|info|warn|error) '
                    r'msg="((?:[^"\\]|\\.)*)"( .*)?$')
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def docker_setup(name, log_format=None):
    s = t.Setup(name)
    host = t.DockerHost(s.path("docker"))
    c = host.add("web")
    c.append(b"".join(t.docker_line(f"line {i}\n") for i in range(3)))
    s.config([{"type": "docker", "id": "docker", "root": host.root, "read_from": "beginning"}])
    if log_format is not None:
        with open(s.cfg) as f:
            text = f.read()
        with open(s.cfg, "w") as f:
            f.write(f"log_format: {log_format}\n{text}")
    return s


def scenario_logfmt():
    s = docker_setup("logfmt")
    lines = t.oneshot(s.cfg).stderr.decode().splitlines()
    parsed = [LOGFMT.match(l) for l in lines]
    ck.eq([l for l, m in zip(lines, parsed) if m is None], [], "logfmt: lines not in the format")
    msgs = [(m.group(1), m.group(2), (m.group(3) or "").strip()) for m in parsed if m]
    stopped = [m for m in msgs if m[1] == "stopped"]
    ck.eq(stopped, [("info", "stopped", "events=3")], "logfmt: the stopped line")
    warned = [m for m in msgs if m[1] == ROOT_WARNING]
    ck.eq(warned, [("warn", ROOT_WARNING, "")] if IS_ROOT else [],
          "logfmt: the root warning (once, as root only)")


def scenario_json():
    s = docker_setup("json", "json")
    lines = t.oneshot(s.cfg).stderr.decode().splitlines()
    objs = []
    for line in lines:
        try:
            objs.append(json.loads(line))
        except ValueError:
            ck.fail(f"json: not a JSON line: {line!r}")
    ck.check(len(objs) >= 2, f"json: lines {lines!r}")
    for o in objs:
        ck.eq(list(o)[:4], ["@timestamp", "log.level", "message", "ecs.version"],
              f"json: first keys of {o!r}")
        ck.check(TIME.match(o.get("@timestamp", "")), f"json: @timestamp of {o!r}")
        ck.eq(o.get("ecs.version"), t.ECS_VERSION, "json: ecs.version")
    stopped = [o for o in objs if o.get("message") == "stopped"]
    ck.eq([(o["log.level"], o.get("events")) for o in stopped], [("info", 3)],
          "json: stopped, events as a number")
    warned = [o["log.level"] for o in objs if o.get("message") == ROOT_WARNING]
    ck.eq(warned, ["warn"] if IS_ROOT else [], "json: the root warning")


def as_unprivileged(s):
    """The command prefix that runs wharf without root's file access."""
    if not IS_ROOT:
        return []
    for d in (s.dir, s.path("pods")):
        os.chmod(d, 0o755)
    os.makedirs(s.data, exist_ok=True)
    os.makedirs(os.path.dirname(s.out), exist_ok=True)
    os.chown(s.data, 65534, 65534)
    os.chown(os.path.dirname(s.out), 65534, 65534)
    return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def cannot_open(log, path):
    """The "cannot open" warnings about path (the new file may get one too
    when wharf sees it before the test made it readable)."""
    return [l for l in open(log, errors="replace").read().splitlines()
            if 'msg="cannot open log file; will retry at the next scan"' in l
            and f" path={path} " in l]


def scenario_repeats():
    s = t.Setup("repeats")
    pods = t.PodLogs(s.path("pods"))
    locked = pods.add("ns", "locked", "app")
    with open(locked.path, "wb") as f:
        f.write(t.cri_line("never read"))
    os.chmod(locked.path, 0)
    s.config([{"type": "cri", "id": "pods", "paths": [pods.glob()],
               "containers_dir": pods.containers_dir, "read_from": "beginning",
               "rescan_interval": "100ms"}])
    prefix = as_unprivileged(s)
    with open(s.log, "wb") as log:
        proc = subprocess.Popen(prefix + [t.WHARF, "run", "-c", s.cfg], stderr=log,
                                stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        t._PROCS.append(proc)
        time.sleep(3)
        first = cannot_open(s.log, locked.path)
        opened = pods.add("ns", "fresh", "app")
        with open(opened.path, "wb") as f:
            f.write(t.cri_line("hello"))
        os.chmod(opened.path, 0o644)
        t.wait_until(lambda: len(cannot_open(s.log, locked.path)) > 2, 5)
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=30)
    ck.eq(rc, 0, "repeats: exit code")
    want = f"input=pods path={locked.path} error=\"Permission denied\""
    ck.eq([l.split('msg="cannot open log file; will retry at the next scan" ')[1]
           for l in first], [want, want],
          "repeats: 3 s of 100 ms retries: the first scan, the first after 'running'")
    lines = cannot_open(s.log, locked.path)
    ck.eq(len(lines), 3, f"repeats: after a new file was tailed: {lines!r}")
    m = re.search(r" repeated=(\d+)$", lines[-1]) if len(lines) == 3 else None
    ck.check(m and lines[-1].endswith(f"{want} repeated={m.group(1)}"),
             f"repeats: the copy after 'tailing file' counts the held-back ones: {lines[-1:]!r}")
    if m:
        # about 28 scans held back in 3 s; a slow machine (or ASan) scans less often
        ck.check(3 <= int(m.group(1)) <= 40, f"repeats: repeated={m.group(1)} for ~28 scans")
        ck.note(f"repeats: 3 lines for about {int(m.group(1)) + 3} failed opens")


scenario_logfmt()
scenario_json()
scenario_repeats()
ck.finish()
