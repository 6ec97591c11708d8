"""Helpers shared by the integration tests (not a test itself).

Builds container log layouts exactly as dockerd and the kubelet lay them out,
writes configs, runs the real wharf binary (oneshot, live, killed) and reads
its NDJSON output, failing on any line that is not JSON.
"""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

WHARF = os.environ["WHARF_BIN"]
SOURCE = os.environ.get("WHARF_SOURCE_DIR", ".")
CORPUS = os.environ.get("WHARF_CORPUS", os.path.join(SOURCE, "..", "shared", "corpus"))


class Failures:
    """Collects failed checks so one run reports all of them."""

    def __init__(self, name):
        self.name = name
        self.items = []

    def check(self, cond, what):
        if not cond:
            self.items.append(what)
        return cond

    def eq(self, got, want, what):
        return self.check(got == want, f"{what}: got {got!r}, want {want!r}")

    def finish(self, summary):
        if self.items:
            print(f"{self.name}: FAILED")
            for i in self.items[:50]:
                print("  " + i)
            sys.exit(1)
        print(f"{self.name}: ok ({summary})")


def tmpdir():
    return tempfile.mkdtemp(prefix="wharf-it-")


def cid(n):
    return f"{n:064x}"


def docker_container(root, container_id, name, image="nginx:1.25", labels=None, user="",
                     env=None, privileged=False, cap_add=None, network="bridge", pid="",
                     read_only=False):
    d = os.path.join(root, container_id)
    os.makedirs(d, exist_ok=True)
    config = {
        "ID": container_id, "Created": "2026-11-20T08:00:00.000000000Z", "Path": "/entrypoint",
        "Args": [], "State": {"Running": True, "Pid": 1234},
        "Image": "sha256:" + "ab" * 32, "Name": "/" + name, "Driver": "overlay2",
        "LogPath": os.path.join(d, container_id + "-json.log"),
        "Config": {"Hostname": container_id[:12], "User": user,
                   "Env": env or ["PATH=/usr/bin", "API_TOKEN=s3cr3t-token-value"],
                   "Image": image, "Labels": labels or {}},
    }
    with open(os.path.join(d, "config.v2.json"), "w") as f:
        json.dump(config, f)
    host = {"NetworkMode": network, "Privileged": privileged, "CapAdd": cap_add,
            "ReadonlyRootfs": read_only, "PidMode": pid,
            "LogConfig": {"Type": "json-file", "Config": {}}}
    with open(os.path.join(d, "hostconfig.json"), "w") as f:
        json.dump(host, f)
    return os.path.join(d, container_id + "-json.log")


def docker_record(text, stream="stdout", ts="2026-11-20T08:00:00.000000001Z", attrs=None):
    rec = {"log": text, "stream": stream, "time": ts}
    if attrs:
        rec["attrs"] = attrs
    return (json.dumps(rec, separators=(",", ":")) + "\n").encode()


def docker_line_parts(text, stream="stdout", ts="2026-11-20T08:00:00.000000001Z"):
    """Docker's json-file encoding of one line, split in 16 KiB parts."""
    data = text + "\n"
    parts = [data[i:i + 16384] for i in range(0, len(data), 16384)]
    return b"".join(docker_record(p, stream, ts) for p in parts)


def pod_dir(root, ns, pod, uid, container, restart=0):
    d = os.path.join(root, "pods", f"{ns}_{pod}_{uid}", container)
    os.makedirs(d, exist_ok=True)
    return os.path.join(d, f"{restart}.log")


def pod_symlink(root, ns, pod, container, container_id, target):
    d = os.path.join(root, "containers")
    os.makedirs(d, exist_ok=True)
    link = os.path.join(d, f"{pod}_{ns}_{container}-{container_id}.log")
    os.symlink(target, link)
    return link


def write_config(path, data_dir, inputs, out_path, extra_outputs=""):
    lines = [f"data_dir: {data_dir}", "host: {name: it-host}", "inputs:"]
    for inp in inputs:
        first = True
        for k, v in inp.items():
            lines.append(("  - " if first else "    ") + f"{k}: {json.dumps(v)}")
            first = False
    lines += ["outputs:", "  - type: file", "    id: out", f"    path: {out_path}"]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n" + extra_outputs)


def oneshot(cfg, check=True):
    p = subprocess.run([WHARF, "run", "-c", cfg, "--oneshot"], capture_output=True, timeout=300)
    if check and p.returncode != 0:
        raise RuntimeError(f"wharf exited {p.returncode}: {p.stderr.decode()}")
    return p


def start(cfg, log_path):
    log = open(log_path, "ab")
    return subprocess.Popen([WHARF, "run", "-c", cfg], stdout=subprocess.DEVNULL, stderr=log)


def stop(proc, sig=signal.SIGTERM, timeout=60):
    proc.send_signal(sig)
    return proc.wait(timeout=timeout)


def read_events(path):
    if not os.path.exists(path):
        return []
    events = []
    with open(path, "rb") as f:
        for n, raw in enumerate(f, 1):
            try:
                events.append(json.loads(raw.decode("utf-8")))
            except (UnicodeDecodeError, json.JSONDecodeError) as e:
                raise AssertionError(f"{path}:{n}: not JSON ({e}): {raw[:200]!r}")
    return events


def count_lines(path):
    if not os.path.exists(path):
        return 0
    with open(path, "rb") as f:
        return sum(1 for _ in f)


def wait_for(pred, timeout, interval=0.1):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(interval)
    return pred()


_KV = re.compile(r'([A-Za-z_][\w.]*)=("(?:[^"\\]|\\.)*"|\S*)')


def logfmt(line):
    kv = {}
    for k, v in _KV.findall(line):
        if v.startswith('"'):
            v = re.sub(r'\\(.)', r'\1', v[1:-1])
        kv[k] = v
    return kv


def log_lines(path, word):
    """wharf's log lines that contain `word` (case-insensitive), as dicts
    (with the raw line under "_line")."""
    out = []
    if not os.path.exists(path):
        return out
    with open(path, errors="replace") as f:
        for line in f:
            if word.lower() in line.lower():
                kv = logfmt(line)
                kv["_line"] = line.rstrip("\n")
                out.append(kv)
    return out


def count_running(log_path):
    """The "running" lines in a wharf log: one per start that got that far."""
    return len(log_lines(log_path, 'msg="running"'))


def wait_running(log_path, before=0, timeout=60):
    """Waits until the log holds more than `before` "running" lines: the wharf
    started since has read its configuration and watches its signals (one
    sent earlier waits until then)."""
    return wait_for(lambda: count_running(log_path) > before, timeout, 0.05)


def wait_stable(path, want, timeout):
    """Waits until the output has `want` lines or stops growing for 3 s."""
    deadline = time.time() + timeout
    last, since = -1, time.time()
    while time.time() < deadline:
        n = count_lines(path)
        if n >= want:
            return n
        if n != last:
            last, since = n, time.time()
        elif time.time() - since > 3:
            return n
        time.sleep(0.2)
    return count_lines(path)
