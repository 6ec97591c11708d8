"""Shared helpers for wharf's integration tests (not a test itself).

Every tests/integration/test_*.py is run by ctest as `python3 FILE` with
  WHARF_BIN         the wharf binary
  WHARF_SOURCE_DIR  the repository root
  WHARF_CORPUS      the shared real-world corpus (../shared/corpus)
and passes when it exits 0. Python 3.11 standard library only.

What is here:
  Checker              collects failed checks, prints every difference, exits 1
  tmpdir()             a temporary directory removed at exit (WHARF_KEEP_TMP=1 keeps it)
  DockerHost           ROOT/<id>/{<id>-json.log, config.v2.json, hostconfig.json} as dockerd writes them
  docker_line()        one json-file record; docker_chunks(): a line split at 16 KiB like dockerd
  PodLogs              /var/log/pods/<ns>_<pod>_<uid>/<container>/<n>.log plus the
                       /var/log/containers/<pod>_<ns>_<container>-<id>.log symlink
  cri_line()           one CRI record
  write_config()       a wharf YAML config
  oneshot()            `wharf run -c CFG --oneshot`
  Live                 `wharf run -c CFG` in the background; term() (SIGTERM), kill9()
  Setup                a temp dir with data/, out/events.ndjson, wharf.yaml, wharf.log
  read_events()        the NDJSON output, json.loads on every line (a bad line fails)
  output_bytes()       the output file's bytes (a missing file is a failure)
  OutputReader         parses a growing output incrementally (for 200,000-event runs)
  OutputCounter        counts complete output lines incrementally while wharf runs
  wait_until(), wait_count()   polling with a timeout
  common_checks()      the fields every event carries, with exact values
  ts_to_utc9()         reference RFC 3339 -> UTC with 9 fraction digits
Set WHARF_KEEP_TMP=1 to keep the temp dirs (and wharf.log) for a look after a failure.
"""
import atexit
import datetime
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

WHARF = os.environ.get("WHARF_BIN", "")
SOURCE = os.environ.get("WHARF_SOURCE_DIR",
                        os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
CORPUS = os.environ.get("WHARF_CORPUS", os.path.join(SOURCE, "..", "shared", "corpus"))

if not WHARF or not os.access(WHARF, os.X_OK):
    print(f"WHARF_BIN is not an executable: {WHARF!r}")
    sys.exit(2)

ECS_VERSION = "9.4.0"
HOST_NAME = "it-node-1"

# ---------------------------------------------------------------- checks ---


class Checker:
    """Collects failed checks so that one run reports every difference."""

    def __init__(self, name):
        self.name = name
        self.failures = []
        self.notes = []

    def check(self, cond, what):
        if not cond:
            self.failures.append(what)
        return bool(cond)

    def eq(self, got, want, what):
        if got == want:
            return True
        g, w = _short(got), _short(want)
        self.failures.append(f"{what}:\n      got:  {g}\n      want: {w}")
        return False

    def fail(self, what):
        self.failures.append(what)

    def note(self, what):
        print(f"[{self.name}] {what}", flush=True)

    def finish(self, summary=""):
        if self.failures:
            print(f"{self.name}: FAILED ({len(self.failures)} checks)")
            for f in self.failures[:80]:
                print("  - " + f)
            if len(self.failures) > 80:
                print(f"  ... and {len(self.failures) - 80} more")
            sys.exit(1)
        print(f"{self.name}: ok {summary}".rstrip())
        sys.exit(0)


def _short(v, limit=600):
    s = repr(v)
    if len(s) > limit:
        s = s[:limit // 2] + f" ...[{len(s)} chars]... " + s[-limit // 2:]
    return s


# ------------------------------------------------------------- temp dirs ---

_TMP = []
_PROCS = []


def tmpdir(prefix="wharf-it-"):
    d = tempfile.mkdtemp(prefix=prefix)
    _TMP.append(d)
    return d


@atexit.register
def _cleanup():
    for p in _PROCS:
        if p.poll() is None:
            try:
                p.kill()  # only processes this test started, by their pid
                p.wait(timeout=10)
            except Exception:
                pass
    if os.environ.get("WHARF_KEEP_TMP"):
        for d in _TMP:
            print(f"kept {d}")
        return
    for d in _TMP:
        shutil.rmtree(d, ignore_errors=True)


# ---------------------------------------------------------------- docker ---


def container_id(seed):
    """A 64-hex container id, like dockerd's (sha256 of something random)."""
    return hashlib.sha256(("container:" + str(seed)).encode()).hexdigest()


def image_id(seed):
    return "sha256:" + hashlib.sha256(("image:" + str(seed)).encode()).hexdigest()


def go_time(dt):
    """time.Time.MarshalJSON / RFC3339Nano as dockerd writes it: UTC, 'Z', trailing zeros trimmed."""
    frac = f"{dt.microsecond * 1000:09d}".rstrip("0")
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + ("." + frac if frac else "") + "Z"


def docker_line(log, stream="stdout", time="2024-05-01T10:00:00.123456789Z", attrs=None):
    """One json-file record, byte for byte the way dockerd's jsonfilelog encodes it
    (key order log, stream, attrs, time; no spaces; '<', '>', '&' escaped like Go)."""
    rec = {"log": log, "stream": stream}
    if attrs:
        rec["attrs"] = attrs
    rec["time"] = time
    s = json.dumps(rec, separators=(",", ":"), ensure_ascii=False)
    s = s.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return (s + "\n").encode("utf-8")


DOCKER_CHUNK = 16 * 1024


def docker_chunks(text, stream="stdout", time="2024-05-01T10:00:00.123456789Z", attrs=None):
    """A line as dockerd writes it when it is longer than 16 KiB: parts of 16 KiB
    whose `log` lacks the newline, the last part ending with it. Returns
    (bytes, [offset of each record relative to the start])."""
    data = text + "\n"
    parts = [data[i:i + DOCKER_CHUNK] for i in range(0, len(data), DOCKER_CHUNK)]
    out, offs = b"", []
    for p in parts:
        offs.append(len(out))
        out += docker_line(p, stream, time, attrs)
    return out, offs


class DockerContainer:
    def __init__(self, host, cid, name, image, image_id_, dir_):
        self.host = host
        self.id = cid
        self.name = name
        self.image = image
        self.image_id = image_id_
        self.dir = dir_
        self.log = os.path.join(dir_, f"{cid}-json.log")

    def append(self, data):
        with open(self.log, "ab") as f:
            f.write(data)
            return f.tell() - len(data)

    def size(self):
        return os.path.getsize(self.log)

    def rotate(self, keep=50):
        """dockerd's rotation: shift .N -> .N+1 ... .1 -> .2, rename <id>-json.log
        -> .1, create a new empty <id>-json.log."""
        for i in range(keep - 1, 0, -1):
            src = f"{self.log}.{i}"
            if os.path.exists(src):
                os.rename(src, f"{self.log}.{i + 1}")
        os.rename(self.log, self.log + ".1")
        fd = os.open(self.log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
        os.close(fd)


class DockerHost:
    """A /var/lib/docker/containers directory."""

    def __init__(self, root):
        self.root = root
        os.makedirs(root, exist_ok=True)

    def add(self, name, image="nginx:1.25.3", seed=None, labels=None, env=None, user="",
            hostname=None, privileged=False, cap_add=None, network_mode="bridge", pid_mode="",
            readonly_rootfs=False, log_opts=None, create_log=True, image_id_=None):
        cid = container_id(seed if seed is not None else name)
        iid = image_id_ or image_id(image)
        d = os.path.join(self.root, cid)
        os.makedirs(d, mode=0o710, exist_ok=True)  # dockerd: root:root 0710
        if env is None:
            env = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                   "NGINX_VERSION=1.25.3"]
        log_path = os.path.join(d, f"{cid}-json.log")
        created = "2024-05-01T09:59:58.401817211Z"
        config = {
            "StreamConfig": {},
            "State": {
                "Running": True, "Paused": False, "Restarting": False, "OOMKilled": False,
                "RemovalInProgress": False, "Dead": False, "Pid": 41235, "ExitCode": 0,
                "Error": "", "StartedAt": "2024-05-01T09:59:58.912034417Z",
                "FinishedAt": "0001-01-01T00:00:00Z", "Health": None,
            },
            "ID": cid,
            "Created": created,
            "Managed": False,
            "Path": "/docker-entrypoint.sh",
            "Args": ["nginx", "-g", "daemon off;"],
            "Config": {
                "Hostname": hostname if hostname is not None else cid[:12],
                "Domainname": "", "User": user,
                "AttachStdin": False, "AttachStdout": True, "AttachStderr": True,
                "ExposedPorts": {"80/tcp": {}},
                "Tty": False, "OpenStdin": False, "StdinOnce": False,
                "Env": env,
                "Cmd": ["nginx", "-g", "daemon off;"],
                "Image": image,
                "Volumes": None, "WorkingDir": "",
                "Entrypoint": ["/docker-entrypoint.sh"],
                "OnBuild": None,
                "Labels": labels if labels is not None else {},
                "StopSignal": "SIGQUIT",
            },
            "Image": iid,
            "ImageManifest": None,
            "NetworkSettings": {
                "Bridge": "", "SandboxID": hashlib.sha256(cid.encode()).hexdigest(),
                "SandboxKey": "/var/run/docker/netns/" + cid[:12],
                "HairpinMode": False, "LinkLocalIPv6Address": "", "LinkLocalIPv6PrefixLen": 0,
                "Networks": {network_mode if network_mode in ("host", "none") else "bridge": {
                    "IPAMConfig": None, "Links": None, "Aliases": None, "MacAddress": "",
                    "NetworkID": "", "EndpointID": "", "Gateway": "", "IPAddress": "",
                    "IPPrefixLen": 0, "IPv6Gateway": "", "GlobalIPv6Address": "",
                    "GlobalIPv6PrefixLen": 0, "DriverOpts": None, "DNSNames": None}},
                "Service": None, "Ports": {}, "HasSwarmEndpoint": False,
            },
            "LogPath": log_path,
            "Name": "/" + name,
            "Driver": "overlay2",
            "OS": "linux",
            "RestartCount": 0,
            "MountLabel": "", "ProcessLabel": "", "AppArmorProfile": "docker-default",
            "HasBeenStartedBefore": True, "HasBeenManuallyStopped": False,
            "MountPoints": {},
            "SecretReferences": None, "ConfigReferences": None,
            "HostnamePath": f"{self.root}/{cid}/hostname",
            "HostsPath": f"{self.root}/{cid}/hosts",
            "ShmPath": "", "ResolvConfPath": f"{self.root}/{cid}/resolv.conf",
            "SeccompProfile": "", "NoNewPrivileges": False,
            "LocalLogCacheMeta": {"HaveNotifyEnabled": False},
        }
        hostconfig = {
            "Binds": None, "ContainerIDFile": "",
            "LogConfig": {"Type": "json-file", "Config": log_opts or {}},
            "NetworkMode": network_mode, "PortBindings": {},
            "RestartPolicy": {"Name": "no", "MaximumRetryCount": 0},
            "AutoRemove": False, "VolumeDriver": "", "VolumesFrom": None,
            "ConsoleSize": [0, 0], "CapAdd": cap_add, "CapDrop": None,
            "CgroupnsMode": "private", "Dns": [], "DnsOptions": [], "DnsSearch": [],
            "ExtraHosts": None, "GroupAdd": None, "IpcMode": "private", "Cgroup": "",
            "Links": None, "OomScoreAdj": 0, "PidMode": pid_mode, "Privileged": privileged,
            "PublishAllPorts": False, "ReadonlyRootfs": readonly_rootfs,
            "SecurityOpt": ["label=disable"] if privileged else None,
            "UTSMode": "", "UsernsMode": "", "ShmSize": 67108864, "Runtime": "runc",
            "Isolation": "", "CpuShares": 0, "Memory": 0, "NanoCpus": 0, "CgroupParent": "",
            "BlkioWeight": 0, "BlkioWeightDevice": [], "BlkioDeviceReadBps": [],
            "BlkioDeviceWriteBps": [], "BlkioDeviceReadIOps": [], "BlkioDeviceWriteIOps": [],
            "CpuPeriod": 0, "CpuQuota": 0, "CpuRealtimePeriod": 0, "CpuRealtimeRuntime": 0,
            "CpusetCpus": "", "CpusetMems": "", "Devices": [], "DeviceCgroupRules": None,
            "DeviceRequests": None, "MemoryReservation": 0, "MemorySwap": 0,
            "MemorySwappiness": None, "OomKillDisable": None, "PidsLimit": None, "Ulimits": None,
            "CpuCount": 0, "CpuPercent": 0, "IOMaximumIOps": 0, "IOMaximumBandwidth": 0,
            "MaskedPaths": None if privileged else [
                "/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
                "/sys/firmware", "/sys/devices/virtual/powercap"],
            "ReadonlyPaths": None if privileged else [
                "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
        }
        # dockerd writes both files compactly (json.Marshal), via a temp file + rename.
        _atomic_write(os.path.join(d, "config.v2.json"),
                      json.dumps(config, separators=(",", ":")).encode())
        _atomic_write(os.path.join(d, "hostconfig.json"),
                      json.dumps(hostconfig, separators=(",", ":")).encode())
        for f in ("hostname", "hosts", "resolv.conf"):
            with open(os.path.join(d, f), "w") as fh:
                fh.write(cid[:12] + "\n" if f == "hostname" else "# generated\n")
        if create_log:
            fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
            os.close(fd)
        return DockerContainer(self, cid, name, image, iid, d)


def _atomic_write(path, data):
    tmp = path + ".tmp-" + str(os.getpid())
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.rename(tmp, path)


# ------------------------------------------------------------------- cri ---


def cri_line(text, stream="stdout", tag="F", time="2024-05-01T10:00:00.123456789Z"):
    return f"{time} {stream} {tag} {text}\n".encode("utf-8")


class PodLog:
    def __init__(self, path, namespace, pod, uid, container, cid, link):
        self.path = path
        self.namespace = namespace
        self.pod = pod
        self.uid = uid
        self.container = container
        self.id = cid
        self.link = link

    def append(self, data):
        with open(self.path, "ab") as f:
            f.write(data)
            return f.tell() - len(data)


class PodLogs:
    """TMP/pods/<namespace>_<pod>_<uid>/<container>/<restart>.log and
    TMP/containers/<pod>_<namespace>_<container>-<id>.log -> that file."""

    def __init__(self, root):
        self.root = root
        self.pods_dir = os.path.join(root, "pods")
        self.containers_dir = os.path.join(root, "containers")
        os.makedirs(self.pods_dir, exist_ok=True)
        os.makedirs(self.containers_dir, exist_ok=True)

    def glob(self):
        return os.path.join(self.pods_dir, "*", "*", "*.log")

    def add(self, namespace, pod, container, uid=None, restart=0, cid=None, symlink=True):
        uid = uid or _uuid(namespace + "/" + pod)
        d = os.path.join(self.pods_dir, f"{namespace}_{pod}_{uid}", container)
        os.makedirs(d, mode=0o755, exist_ok=True)
        path = os.path.join(d, f"{restart}.log")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
        os.close(fd)
        cid = cid or container_id(f"{namespace}/{pod}/{container}/{restart}")
        link = None
        if symlink:
            link = os.path.join(self.containers_dir, f"{pod}_{namespace}_{container}-{cid}.log")
            os.symlink(path, link)
        return PodLog(path, namespace, pod, uid, container, cid, link)


def _uuid(seed):
    h = hashlib.sha256(seed.encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-8{h[17:20]}-{h[20:32]}"


def kubelet_rotate(path, stamp):
    """The kubelet's rotation: rename 0.log -> 0.log.<YYYYMMDD-hhmmss>; the runtime
    reopens 0.log afterwards (the caller decides when)."""
    os.rename(path, f"{path}.{stamp}")
    return f"{path}.{stamp}"


# ---------------------------------------------------------------- config ---


def y(v):
    """A YAML scalar/flow value (JSON is valid YAML flow syntax)."""
    return json.dumps(v)


def write_config(path, data_dir, inputs, outputs=None, out_path=None, host_name=HOST_NAME):
    """inputs/outputs: lists of dicts, written as block sequences of mappings."""
    if outputs is None:
        outputs = [{"type": "file", "id": "out", "path": out_path}]
    lines = [f"data_dir: {y(data_dir)}", f"host: {{name: {y(host_name)}}}", "inputs:"]
    for item in inputs:
        lines += _block_item(item)
    lines.append("outputs:")
    for item in outputs:
        lines += _block_item(item)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def _block_item(d):
    out = []
    for i, (k, v) in enumerate(d.items()):
        out.append(("  - " if i == 0 else "    ") + f"{k}: {y(v)}")
    return out


class Setup:
    """A temp dir with data/, out/events.ndjson and wharf.yaml."""

    def __init__(self, name="t"):
        self.dir = tmpdir(f"wharf-it-{name}-")
        self.data = os.path.join(self.dir, "data")
        self.out = os.path.join(self.dir, "out", "events.ndjson")
        self.cfg = os.path.join(self.dir, "wharf.yaml")
        self.log = os.path.join(self.dir, "wharf.log")

    def path(self, *p):
        return os.path.join(self.dir, *p)

    def config(self, inputs, outputs=None):
        return write_config(self.cfg, self.data, inputs, outputs, out_path=self.out)


# ------------------------------------------------------------------- run ---


def run_wharf(args, timeout=120, stdin=None):
    return subprocess.run([WHARF] + list(args), capture_output=True, timeout=timeout,
                          stdin=subprocess.DEVNULL if stdin is None else stdin)


def oneshot(cfg, timeout=180, expect_rc=0):
    """`wharf run -c CFG --oneshot`; raises with stderr when the exit code differs."""
    t0 = time.time()
    p = run_wharf(["run", "-c", cfg, "--oneshot"], timeout=timeout)
    p.elapsed = time.time() - t0
    if expect_rc is not None and p.returncode != expect_rc:
        raise WharfError(f"wharf run --oneshot -c {cfg} exited {p.returncode} "
                         f"(want {expect_rc}); stderr:\n{p.stderr.decode(errors='replace')[-3000:]}")
    return p


class WharfError(Exception):
    pass


class Live:
    """`wharf run -c CFG` in the background."""

    def __init__(self, cfg, log_path, stdout_path=None, extra=()):
        self.cfg = cfg
        self.log_path = log_path
        self._log = open(log_path, "ab")
        self._out = open(stdout_path, "ab") if stdout_path else subprocess.DEVNULL
        self.proc = subprocess.Popen([WHARF, "run", "-c", cfg] + list(extra),
                                     stdout=self._out, stderr=self._log,
                                     stdin=subprocess.DEVNULL)
        _PROCS.append(self.proc)
        self.pid = self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def term(self, timeout=30):
        """SIGTERM; returns the exit code (None if it did not exit in time, then SIGKILL)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
            rc = None
        self._close()
        return rc

    def kill9(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        rc = self.proc.wait(timeout=10)
        self._close()
        return rc

    def signal(self, sig):
        self.proc.send_signal(sig)

    def _close(self):
        self._log.close()
        if self._out is not subprocess.DEVNULL:
            self._out.close()

    def log_tail(self, n=3000):
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-n:].decode(errors="replace")
        except OSError:
            return ""


# ---------------------------------------------------------------- output ---


class BadOutput(Exception):
    pass


def parse_ndjson(data, where="output", allow_partial_tail=False):
    """json.loads on every line of NDJSON bytes. Every line must be valid UTF-8,
    one JSON object, and end with '\\n' (unless allow_partial_tail, for a file
    still being written). Raises BadOutput naming the line."""
    events = []
    if not data:
        return events
    lines = data.split(b"\n")
    tail = lines.pop()
    if tail and not allow_partial_tail:
        raise BadOutput(f"{where}: last line has no newline: {tail[:200]!r}")
    for n, raw in enumerate(lines, 1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise BadOutput(f"{where}:{n}: not UTF-8 ({e}): {raw[:200]!r}")
        try:
            ev = json.loads(text)
        except json.JSONDecodeError as e:
            raise BadOutput(f"{where}:{n}: not JSON ({e}): {raw[:300]!r}")
        if not isinstance(ev, dict):
            raise BadOutput(f"{where}:{n}: not a JSON object: {raw[:200]!r}")
        events.append(ev)
    return events


def output_bytes(ck, path):
    """The output file's bytes; a missing file is a failure (and b"")."""
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        ck.fail(f"wharf wrote no output file {path}")
        return b""


def read_events(path, allow_partial_tail=False):
    if not os.path.exists(path):
        return []
    with open(path, "rb") as f:
        return parse_ndjson(f.read(), path, allow_partial_tail)


class OutputCounter:
    """Counts complete lines of a growing file without re-reading it."""

    def __init__(self, path):
        self.path = path
        self.off = 0
        self.count = 0

    def update(self):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.off)
                data = f.read()
        except FileNotFoundError:
            return self.count
        end = data.rfind(b"\n")
        if end >= 0:
            self.count += data.count(b"\n", 0, end + 1)
            self.off += end + 1
        return self.count


class OutputReader:
    """Parses a growing NDJSON output incrementally: poll() json.loads every new
    complete line (a bad line raises BadOutput) and hands each event to
    on_event (or appends it to .events). Lets a test spread the parsing of a
    large output over the time it waits anyway."""

    def __init__(self, path, on_event=None):
        self.path = path
        self.off = 0
        self.count = 0
        self.on_event = on_event
        self.events = []
        self._buf = b""

    def poll(self, budget=None):
        """Parses what is there, for at most `budget` seconds (None: all)."""
        deadline = None if budget is None else time.monotonic() + budget
        try:
            with open(self.path, "rb") as f:
                f.seek(self.off)
                data = f.read(4 << 20)
        except FileNotFoundError:
            return self.count
        self.off += len(data)
        self._buf += data
        end = self._buf.rfind(b"\n")
        if end < 0:
            return self.count
        chunk, self._buf = self._buf[:end], self._buf[end + 1:]
        lines = chunk.split(b"\n")
        for i, raw in enumerate(lines):
            self.count += 1
            try:
                ev = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as e:
                raise BadOutput(f"{self.path}:{self.count}: not JSON ({e}): {raw[:300]!r}")
            if not isinstance(ev, dict):
                raise BadOutput(f"{self.path}:{self.count}: not a JSON object: {raw[:200]!r}")
            if self.on_event:
                self.on_event(ev)
            else:
                self.events.append(ev)
            if deadline is not None and (i & 255) == 255 and time.monotonic() > deadline:
                # keep the rest for the next poll
                rest = b"\n".join(lines[i + 1:])
                if rest or i + 1 < len(lines):
                    self._buf = rest + b"\n" + self._buf
                return self.count
        if budget is None and len(data) == 4 << 20:
            return self.poll(None)
        return self.count

    def finish(self):
        """Parses everything left; the file must end with a newline."""
        while True:
            before = self.off
            self.poll(None)
            if self.off == before:
                break
        if self._buf:
            raise BadOutput(f"{self.path}: last line has no newline: {self._buf[:200]!r}")
        return self.count


def wait_until(pred, timeout, interval=0.1):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            return v
        time.sleep(interval)


def wait_count(path, want, timeout, quiet=None):
    """Waits until the output has at least `want` lines; with `quiet` seconds,
    also returns once it stopped growing that long. Returns the count."""
    c = OutputCounter(path)
    deadline = time.monotonic() + timeout
    last, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        n = c.update()
        if n >= want:
            return n
        if n != last:
            last, since = n, time.monotonic()
        elif quiet is not None and time.monotonic() - since >= quiet:
            return n
        time.sleep(0.1)
    return c.update()


def get(ev, dotted, default=None):
    """ev['a']['b'] for 'a.b' (the output is nested)."""
    cur = ev
    for part in dotted.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return default
        cur = cur[part]
    return cur


MISSING = object()


def has(ev, dotted):
    return get(ev, dotted, MISSING) is not MISSING


# ------------------------------------------------------------- timestamps ---


def ts_to_utc9(ts):
    """Reference conversion of an RFC 3339 timestamp (any fraction length, Z or
    +hh:mm) to UTC with exactly 9 fraction digits, without losing nanoseconds."""
    import re
    m = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)", ts)
    if not m:
        raise ValueError(ts)
    base = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S")
    frac = (m.group(2) or "").ljust(9, "0")
    tz = m.group(3)
    if tz != "Z":
        sign = 1 if tz[0] == "+" else -1
        base -= sign * datetime.timedelta(hours=int(tz[1:3]), minutes=int(tz[4:6]))
    return base.strftime("%Y-%m-%dT%H:%M:%S") + "." + frac + "Z"


def is_utc9(ts):
    import re
    return isinstance(ts, str) and re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z", ts) is not None


def wharf_version():
    p = run_wharf(["version"])
    import re
    m = re.search(r"\b(\d+\.\d+\.\d+[0-9A-Za-z.+-]*)", p.stdout.decode())
    return m.group(1) if m else None


def common_checks(ck, ev, where, dataset, path=None, host=HOST_NAME, version=None):
    """The fields every event carries, with exact values."""
    ck.eq(get(ev, "ecs.version"), ECS_VERSION, f"{where}: ecs.version")
    ck.eq(get(ev, "event.kind"), "event", f"{where}: event.kind")
    ck.eq(get(ev, "event.dataset"), dataset, f"{where}: event.dataset")
    ck.check(is_utc9(get(ev, "event.created")),
             f"{where}: event.created not UTC RFC 3339 with 9 digits: {get(ev, 'event.created')!r}")
    ck.check(is_utc9(get(ev, "@timestamp")),
             f"{where}: @timestamp not UTC RFC 3339 with 9 digits: {get(ev, '@timestamp')!r}")
    ck.eq(get(ev, "agent.type"), "wharf", f"{where}: agent.type")
    if version is not None:
        ck.eq(get(ev, "agent.version"), version, f"{where}: agent.version")
    ck.eq(get(ev, "host.name"), host, f"{where}: host.name")
    if path is not None:
        ck.eq(get(ev, "log.file.path"), path, f"{where}: log.file.path")
    ck.check(isinstance(get(ev, "log.offset"), int), f"{where}: log.offset not an integer")
    ck.check(isinstance(ev.get("message"), str), f"{where}: message not a string")
    if isinstance(ev.get("message"), str):
        ck.check(not ev["message"].endswith("\n"), f"{where}: message ends with a newline")
    if "tags" in ev:
        ck.check(isinstance(ev["tags"], list) and ev["tags"],
                 f"{where}: tags present but not a non-empty array: {ev['tags']!r}")
