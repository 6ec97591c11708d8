"""wharf as a daemon: what it needs instead of root, and systemd readiness.

  privileges  a Docker layout with dockerd's permissions (containers dir and
              container dirs root:root 0710, config.v2.json and hostconfig.json
              0600, logs 0640): wharf as nobody ships nothing (it cannot even
              list the directory); as nobody with CAP_DAC_READ_SEARCH as its
              only (ambient) capability it ships every line with the
              container's metadata, and does not warn about root; uid 0 with
              CAP_DAC_READ_SEARCH as its only capability (what a Kubernetes
              DaemonSet can give) ships them too, without the root warning,
              while full root gets it
  sd_notify   `wharf run` with NOTIFY_SOCKET (what systemd gives a Type=notify
              unit): the datagrams are exactly READY=1 after "running" is
              logged and after the first pass is in the output, and
              STOPPING=1 after SIGTERM; exit 0
  startup     SIGHUP or SIGTERM while wharf is still starting (here: its
              configuration is a FIFO that nobody writes yet, so it waits in
              reading it) does not kill it: SIGHUP is a reload once it runs
              (the FIFO is read a second time), SIGTERM a clean stop after
              the first pass; exit 0 and the lines in the output either way
The privilege part needs root to set the scene (chown, setpriv); run as
another user, it is skipped with a note.
"""
import errno
import os
import re
import signal
import socket
import subprocess
import time

import wharftest as t

ck = t.Checker("daemon")
NOBODY = 65534
ROOT_WARNING = 'msg="running as root, which wharf does not need'


def dockerd_layout(s, lines):
    host = t.DockerHost(s.path("containers"))
    c = host.add("api", labels={"app": "api"})
    c.append(b"".join(t.docker_line(f"request {i}\n") for i in range(lines)))
    os.chmod(host.root, 0o710)
    for name in ("config.v2.json", "hostconfig.json"):
        os.chmod(os.path.join(c.dir, name), 0o600)
    return host, c


def writable_by_nobody(s):
    os.chmod(s.dir, 0o755)
    for d in (s.data, os.path.dirname(s.out)):
        os.makedirs(d, exist_ok=True)
        os.chown(d, NOBODY, NOBODY)


def as_nobody(caps):
    cmd = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
    if caps:
        cmd += ["--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search"]
    return cmd


def run_oneshot(prefix, cfg):
    return subprocess.run(prefix + [t.WHARF, "run", "-c", cfg, "--oneshot"],
                          capture_output=True, timeout=120)


def scenario_privileges():
    lines = 5
    s = t.Setup("privileges")
    host, c = dockerd_layout(s, lines)
    s.config([{"type": "docker", "id": "docker", "root": host.root, "read_from": "beginning"}])
    writable_by_nobody(s)

    p = run_oneshot(as_nobody(caps=False), s.cfg)
    ck.eq(p.returncode, 0, f"nobody: exit code ({p.stderr[-500:]!r})")
    got = t.read_events(s.out) if os.path.exists(s.out) else []
    ck.eq(len(got), 0, "nobody without the capability: events (the layout is root-only)")

    p = run_oneshot(as_nobody(caps=True), s.cfg)
    err = p.stderr.decode()
    ck.eq(p.returncode, 0, f"nobody + CAP_DAC_READ_SEARCH: exit code ({err[-500:]!r})")
    got = t.read_events(s.out)
    ck.eq([e.get("message") for e in got], [f"request {i}" for i in range(lines)],
          "nobody + CAP_DAC_READ_SEARCH: messages")
    ck.eq({(t.get(e, "container.id"), t.get(e, "container.name"),
            t.get(e, "container.labels.app")) for e in got}, {(c.id, "api", "api")},
          "nobody + CAP_DAC_READ_SEARCH: metadata from the 0600 config.v2.json")
    ck.check(ROOT_WARNING not in err, "nobody: no root warning")
    ck.eq(os.stat(s.data).st_uid, NOBODY, "data_dir stays nobody's")

    # uid 0 with one capability: as a DaemonSet runs it
    s2 = t.Setup("one-capability")
    host2, _ = dockerd_layout(s2, lines)
    s2.config([{"type": "docker", "id": "docker", "root": host2.root, "read_from": "beginning"}])
    p = run_oneshot(["setpriv", "--bounding-set=-all,+dac_read_search", "--inh-caps=-all"],
                    s2.cfg)
    err = p.stderr.decode()
    ck.eq(p.returncode, 0, f"uid 0 + CAP_DAC_READ_SEARCH only: exit code ({err[-500:]!r})")
    ck.eq(len(t.read_events(s2.out)), lines, "uid 0 + CAP_DAC_READ_SEARCH only: events")
    ck.check(ROOT_WARNING not in err, "uid 0 + CAP_DAC_READ_SEARCH only: no root warning")
    p = run_oneshot([], s2.cfg)
    warned = [l for l in p.stderr.decode().splitlines() if ROOT_WARNING in l]
    ck.eq([l.split(" ")[1] for l in warned], ["level=warn"], "full root: the root warning, once")


def receive(sock, timeout):
    sock.settimeout(timeout)
    try:
        return sock.recv(4096)
    except socket.timeout:
        return None


def scenario_notify():
    s = t.Setup("notify")
    host = t.DockerHost(s.path("containers"))
    c = host.add("web")
    c.append(b"".join(t.docker_line(f"hello {i}\n") for i in range(3)))
    s.config([{"type": "docker", "id": "docker", "root": host.root, "read_from": "beginning"}])
    path = s.path("notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    env = dict(os.environ, NOTIFY_SOCKET=path)
    with open(s.log, "wb") as log:
        proc = subprocess.Popen([t.WHARF, "run", "-c", s.cfg], stderr=log, env=env,
                                stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        t._PROCS.append(proc)
        ready = receive(sock, 30)
        with open(s.log) as f:
            running = [l for l in f if 'msg="running"' in l]
        ck.eq(ready, b"READY=1", "the first datagram")
        ck.eq(len(running), 1, "\"running\" is logged before READY=1")
        ck.eq(t.wait_count(s.out, 3, 10), 3, "the first pass is delivered")
        ck.eq(receive(sock, 0.5), None, "nothing more while running")
        proc.send_signal(signal.SIGTERM)
        ck.eq(receive(sock, 30), b"STOPPING=1", "the datagram after SIGTERM")
        ck.eq(proc.wait(timeout=60), 0, "exit code after SIGTERM")
    ck.eq(receive(sock, 0.2), None, "nothing after STOPPING=1")
    sock.close()


def blocks_signal(pid, signum):
    """Whether pid's main thread blocks signum (SigBlk in /proc/PID/status)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("SigBlk:"):
                return (int(line.split()[1], 16) >> (signum - 1)) & 1 == 1
    return False


def feed_fifo(path, text, timeout):
    """Writes text into FIFO path once a reader opens it; False if none does."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
            break
        except OSError as e:
            if e.errno != errno.ENXIO or time.monotonic() > deadline:
                return False
            time.sleep(0.05)
    os.set_blocking(fd, True)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return True


def log_messages(path):
    with open(path) as f:
        return [m.group(1) for m in (re.search(r' msg="([^"]*)"', l) for l in f) if m]


def waits_for_writer(pid):
    """Whether pid waits in opening a FIFO that no one writes (its wchan)."""
    try:
        with open(f"/proc/{pid}/wchan") as f:
            return f.read().strip() == "wait_for_partner"
    except OSError:
        return False


def start_on_fifo(s, what):
    """wharf run -c FIFO, once it waits in opening the FIFO: past the point
    where it holds the signals it handles when it runs."""
    with open(s.cfg) as f:
        text = f.read()
    fifo = s.path("wharf-fifo.yaml")
    os.mkfifo(fifo)
    live = t.Live(fifo, s.log)
    ck.check(t.wait_until(lambda: waits_for_writer(live.pid), 60),
             f"{what}: wharf waits for its configuration")
    ck.check(blocks_signal(live.pid, signal.SIGHUP), f"{what}: SIGHUP held while starting")
    return live, fifo, text


# what the log says of a start, a reload and a stop, in this order
STARTUP_MESSAGES = ["running", "SIGHUP: reloading the configuration", "configuration reloaded",
                    "stopping"]


def scenario_startup_signals():
    for what in ("SIGHUP", "SIGTERM"):
        s = t.Setup(f"startup-{what}")
        host = t.DockerHost(s.path("containers"))
        host.add("web").append(b"".join(t.docker_line(f"early {i}\n") for i in range(3)))
        s.config([{"type": "docker", "id": "docker", "root": host.root,
                   "read_from": "beginning"}])
        live, fifo, text = start_on_fifo(s, what)
        live.signal(getattr(signal, what))
        ck.check(feed_fifo(fifo, text, 30), f"{what}: wharf reads its configuration")
        if what == "SIGHUP":
            # the first read is over once it runs: a writer now meets the reload's
            t.wait_until(lambda: "running" in log_messages(s.log), 30)
            ck.check(feed_fifo(fifo, text, 30), "SIGHUP: read again for the reload")
            ck.eq(t.wait_count(s.out, 3, 30), 3, "SIGHUP: the first pass is delivered")
            t.wait_until(lambda: "configuration reloaded" in log_messages(s.log), 30)
            rc = live.term(timeout=60)
        else:
            rc = live.proc.wait(timeout=60)
        ck.eq(rc, 0, f"{what}: exit code (log: {live.log_tail(1500)!r})")
        want = STARTUP_MESSAGES if what == "SIGHUP" else ["running", "stopping"]
        ck.eq([m for m in log_messages(s.log) if m in STARTUP_MESSAGES], want,
              f"{what}: what the log says, in order")
        ck.eq([e["message"] for e in t.read_events(s.out)], [f"early {i}" for i in range(3)],
              f"{what}: the output")


if os.geteuid() == 0:
    scenario_privileges()
else:
    ck.note("privileges: skipped (needs root to build a root-only layout and to setpriv)")
scenario_notify()
scenario_startup_signals()
ck.finish()
