"""Real journal files for the journald input's tests (not a test itself).

Entries are written in the Journal Export Format and turned into a real
journal file by Debian's systemd-journal-remote, which is how the journal's
own tools move entries between hosts:

    entry(fields, realtime_us)       one entry in export format (bytes)
    make_journal(dir, entries, name) DIR/NAME.journal from entries (appends
                                     when the file exists)
    journal_entries(dir)             what `journalctl --directory=DIR -o json`
                                     reads back (values as str, or bytes when
                                     they are not UTF-8)
    verify_journal(dir, entries)     fails unless journalctl reads back exactly
                                     the entries written, in order
    Clock                            increasing realtime stamps (µs)
    sshd(), sudo(), dockerd(), kubelet(), kernel(), app_no_identifier()
                                     typical daemon entries, fields as journald
                                     stores them on a Debian host
    container()                      one record of Docker's journald log driver
    container_line()                 a line split in Docker's 16 KiB partial
                                     records (CONTAINER_PARTIAL_MESSAGE=true on
                                     all parts but the last)
    expected_event()                 the ECS event wharf must make of an entry,
                                     written from the input's specification

An entry here is a (fields, realtime_us) pair; make_journal also takes export
bytes made by entry().
"""
import datetime
import json
import os
import struct
import subprocess

JOURNAL_REMOTE = next((p for p in ("/lib/systemd/systemd-journal-remote",
                                   "/usr/lib/systemd/systemd-journal-remote")
                       if os.access(p, os.X_OK)), None)
JOURNALCTL = "journalctl"

BOOT_ID = "3f1b2c4d5e6f47a8b9c0d1e2f3a4b5c6"
# The machine booted at this realtime; monotonic = realtime - BOOT_REALTIME,
# so that entries of one boot sort the same way by either clock (sd-journal
# orders entries of different files of one boot by the monotonic clock).
BOOT_REALTIME = 1763880000000000            # 2025-11-23T06:40:00Z
BASE_REALTIME = 1763884800000000            # 2025-11-23T08:00:00Z
HOSTNAME = "node-7.prod.example.com"
DOCKERD_PID = "812"
DOCKERD_CMDLINE = "/usr/bin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock"

SEVERITY_NAMES = ["Emergency", "Alert", "Critical", "Error", "Warning", "Notice",
                  "Informational", "Debug"]
LEVELS = ["emergency", "alert", "critical", "error", "warning", "notice", "info", "debug"]
FACILITY_NAMES = ["kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp",
                  "cron", "authpriv", "ftp", "ntp", "audit", "alert", "clock"] + \
                 [f"local{i}" for i in range(8)]


# ------------------------------------------------------------ export format ---

def _needs_binary(v):
    if b"\n" in v:
        return True
    try:
        v.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return any(c < 0x20 and c != 0x09 for c in v) or 0x7f in v


def entry(fields, realtime_us, monotonic_us=None, boot_id=BOOT_ID):
    """One entry in the Journal Export Format.

    fields: {NAME: str|bytes}; a value with a newline, a control character or
    invalid UTF-8 is written in the binary form (NAME\\n, 64-bit LE length,
    raw bytes, \\n). The address fields __REALTIME_TIMESTAMP,
    __MONOTONIC_TIMESTAMP and _BOOT_ID come first."""
    if monotonic_us is None:
        monotonic_us = realtime_us - BOOT_REALTIME
    out = bytearray()
    items = [("__REALTIME_TIMESTAMP", str(realtime_us)),
             ("__MONOTONIC_TIMESTAMP", str(monotonic_us)),
             ("_BOOT_ID", boot_id)]
    items += [(k, v) for k, v in fields.items() if k != "_BOOT_ID"]
    for name, value in items:
        if isinstance(value, str):
            if value.isprintable():  # fast path: no newline, no control character
                out += f"{name}={value}\n".encode("utf-8")
                continue
            value = value.encode("utf-8")
        key = name.encode("ascii")
        if _needs_binary(value):
            out += key + b"\n" + struct.pack("<Q", len(value)) + value + b"\n"
        else:
            out += key + b"=" + value + b"\n"
    out += b"\n"
    return bytes(out)


def _export(entries):
    parts = []
    for e in entries:
        if isinstance(e, (bytes, bytearray)):
            parts.append(bytes(e))
        else:
            fields, rt = e[0], e[1]
            parts.append(entry(fields, rt))
    return b"".join(parts)


def make_journal(directory, entries, name="remote"):
    """Writes entries into DIRECTORY/NAME.journal with systemd-journal-remote
    (appending when the file exists) and returns the file's path."""
    if JOURNAL_REMOTE is None:
        raise RuntimeError("systemd-journal-remote is not installed")
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, name + ".journal")
    data = _export(entries)
    p = subprocess.run([JOURNAL_REMOTE, f"--output={path}", "-"], input=data,
                       capture_output=True, timeout=120)
    err = p.stderr.decode(errors="replace")
    if p.returncode != 0 or f"writing {len(entries)} entries" not in err:
        raise RuntimeError(f"systemd-journal-remote exited {p.returncode} for {len(entries)} "
                           f"entries: {err.strip()[-500:]}")
    return path


def journal_entries(directory):
    """The entries of DIRECTORY as journalctl reads them, as dicts; a value
    journalctl gives as a byte array comes back as bytes."""
    p = subprocess.run([JOURNALCTL, f"--directory={directory}", "-o", "json", "--all",
                        "--no-pager"], capture_output=True, timeout=120)
    if p.returncode != 0:
        raise RuntimeError(f"journalctl failed: {p.stderr.decode(errors='replace')}")
    out = []
    for line in p.stdout.splitlines():
        d = json.loads(line)
        for k, v in list(d.items()):
            if isinstance(v, list):
                d[k] = bytes(v)
        out.append(d)
    return out


def verify_journal(directory, entries):
    """Returns a list of differences between what journalctl reads from
    DIRECTORY and the (fields, realtime) entries written (empty: identical)."""
    got = journal_entries(directory)
    diffs = []
    if len(got) != len(entries):
        diffs.append(f"journalctl reads {len(got)} entries, {len(entries)} written")
    for i, (g, (fields, rt)) in enumerate(zip(got, entries)):
        want = {k: (v.encode() if isinstance(v, str) and isinstance(g.get(k), bytes) else v)
                for k, v in fields.items()}
        want["__REALTIME_TIMESTAMP"] = str(rt)
        want["__MONOTONIC_TIMESTAMP"] = str(rt - BOOT_REALTIME)
        want["_BOOT_ID"] = BOOT_ID
        have = {k: v for k, v in g.items() if k not in ("__CURSOR", "__SEQNUM", "__SEQNUM_ID")}
        if have != want:
            keys = sorted(set(have) | set(want))
            bad = [k for k in keys if have.get(k) != want.get(k)]
            diffs.append(f"entry {i}: fields differ: " +
                         ", ".join(f"{k}: got {str(have.get(k))[:80]!r} want "
                                   f"{str(want.get(k))[:80]!r}" for k in bad[:5]))
    return diffs


class Clock:
    """Increasing realtime stamps: each next() is `step_us` after the last."""

    def __init__(self, start=BASE_REALTIME, step_us=1000):
        self.t = start
        self.step = step_us

    def next(self, step_us=None):
        self.t += self.step if step_us is None else step_us
        return self.t


# ------------------------------------------------------------ daemon entries ---

def _syslog_common(rt):
    return {"_HOSTNAME": HOSTNAME, "_SYSTEMD_SLICE": "system.slice",
            "_SOURCE_REALTIME_TIMESTAMP": str(rt - 37)}


def sshd(message, pid=4242, priority=6, facility=4, unit="ssh.service"):
    return {"MESSAGE": message, "PRIORITY": str(priority), "SYSLOG_FACILITY": str(facility),
            "SYSLOG_IDENTIFIER": "sshd", "SYSLOG_PID": str(pid), "_PID": str(pid),
            "_UID": "0", "_GID": "0", "_COMM": "sshd", "_EXE": "/usr/sbin/sshd",
            "_CMDLINE": "sshd: alice [priv]", "_SYSTEMD_UNIT": unit,
            "_SYSTEMD_CGROUP": f"/system.slice/{unit}", "_TRANSPORT": "syslog",
            "_HOSTNAME": HOSTNAME, "_SYSTEMD_SLICE": "system.slice",
            "SYSLOG_TIMESTAMP": "Nov 23 08:00:00 "}


def sudo(message, pid=5150, priority=5, facility=10, session=3):
    return {"MESSAGE": message, "PRIORITY": str(priority), "SYSLOG_FACILITY": str(facility),
            "SYSLOG_IDENTIFIER": "sudo", "_PID": str(pid), "_UID": "1000", "_GID": "1000",
            "_COMM": "sudo", "_EXE": "/usr/bin/sudo",
            "_CMDLINE": "sudo systemctl restart nginx", "_AUDIT_LOGINUID": "1000",
            "_AUDIT_SESSION": str(session), "_SYSTEMD_UNIT": f"session-{session}.scope",
            "_SYSTEMD_SLICE": "user-1000.slice", "_TRANSPORT": "syslog",
            "_HOSTNAME": HOSTNAME, "SYSLOG_TIMESTAMP": "Nov 23 08:00:01 "}


def dockerd(message, priority=6, facility=3):
    return {"MESSAGE": message, "PRIORITY": str(priority), "SYSLOG_FACILITY": str(facility),
            "SYSLOG_IDENTIFIER": "dockerd", "_PID": DOCKERD_PID, "_UID": "0", "_GID": "0",
            "_COMM": "dockerd", "_EXE": "/usr/bin/dockerd", "_CMDLINE": DOCKERD_CMDLINE,
            "_SYSTEMD_UNIT": "docker.service", "_SYSTEMD_CGROUP": "/system.slice/docker.service",
            "_SYSTEMD_SLICE": "system.slice", "_TRANSPORT": "stdout",
            "_STREAM_ID": "6a1d0b1c2e3f4a5b6c7d8e9f0a1b2c3d", "_HOSTNAME": HOSTNAME}


def kubelet(message, priority=6, facility=3):
    return {"MESSAGE": message, "PRIORITY": str(priority), "SYSLOG_FACILITY": str(facility),
            "SYSLOG_IDENTIFIER": "kubelet", "_PID": "1377", "_UID": "0", "_GID": "0",
            "_COMM": "kubelet", "_EXE": "/usr/bin/kubelet",
            "_CMDLINE": "/usr/bin/kubelet "
                        "--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf "
                        "--kubeconfig=/etc/kubernetes/kubelet.conf "
                        "--config=/var/lib/kubelet/config.yaml",
            "_SYSTEMD_UNIT": "kubelet.service", "_SYSTEMD_CGROUP": "/system.slice/kubelet.service",
            "_SYSTEMD_SLICE": "system.slice", "_TRANSPORT": "stdout",
            "_STREAM_ID": "0f1e2d3c4b5a69788796a5b4c3d2e1f0", "_HOSTNAME": HOSTNAME}


def kernel(message, priority=4):
    """A kernel ring-buffer entry: no _PID, _UID, _COMM nor unit."""
    return {"MESSAGE": message, "PRIORITY": str(priority), "SYSLOG_FACILITY": "0",
            "SYSLOG_IDENTIFIER": "kernel", "_TRANSPORT": "kernel", "_HOSTNAME": HOSTNAME,
            "_SOURCE_MONOTONIC_TIMESTAMP": "4123456789"}


def app_no_identifier(message, priority=6):
    """sd_journal_send() without SYSLOG_IDENTIFIER: journalctl shows _COMM."""
    return {"MESSAGE": message, "PRIORITY": str(priority), "_PID": "2718", "_UID": "998",
            "_GID": "998", "_COMM": "backupd", "_EXE": "/opt/backup/bin/backupd",
            "_CMDLINE": "/opt/backup/bin/backupd --daemon", "_SYSTEMD_UNIT": "backupd.service",
            "_TRANSPORT": "journal", "_HOSTNAME": HOSTNAME,
            "CODE_FILE": "src/main.c", "CODE_LINE": "88", "CODE_FUNC": "main"}


# --------------------------------------------------- Docker journald driver ---

def container(container_id, name, image, message, stream="stdout", tag=None, partial=None):
    """One record of Docker's journald log driver (moby daemon/logger/journald):
    sent by dockerd over the native protocol, PRIORITY 6 for stdout and 3
    for stderr, SYSLOG_IDENTIFIER = the tag (default: the 12-char id).
    partial = (partial_id, ordinal, last) for a part of a long line."""
    tag = tag if tag is not None else container_id[:12]
    f = {"MESSAGE": message, "CONTAINER_ID": container_id[:12], "CONTAINER_ID_FULL": container_id,
         "CONTAINER_NAME": name, "CONTAINER_TAG": tag, "IMAGE_NAME": image,
         "SYSLOG_IDENTIFIER": tag, "PRIORITY": "6" if stream == "stdout" else "3",
         "_PID": DOCKERD_PID, "_UID": "0", "_GID": "0", "_COMM": "dockerd",
         "_EXE": "/usr/bin/dockerd", "_CMDLINE": DOCKERD_CMDLINE,
         "_SYSTEMD_UNIT": "docker.service", "_SYSTEMD_CGROUP": "/system.slice/docker.service",
         "_SYSTEMD_SLICE": "system.slice", "_TRANSPORT": "journal", "_HOSTNAME": HOSTNAME}
    if partial is not None:
        pid, ordinal, last = partial
        f["CONTAINER_PARTIAL_ID"] = pid
        f["CONTAINER_PARTIAL_ORDINAL"] = str(ordinal)
        f["CONTAINER_PARTIAL_LAST"] = "true" if last else "false"
        if not last:
            f["CONTAINER_PARTIAL_MESSAGE"] = "true"
    return f


def container_line(container_id, name, image, text, stream="stdout", tag=None,
                   partial_id="9d3c0a7e5b1f4e2d8c6a4b2e0f1d3c5b", size=16384):
    """A long line as the journald driver writes it: 16 KiB parts, all but
    the last with CONTAINER_PARTIAL_MESSAGE=true. Returns the parts' fields."""
    parts = [text[i:i + size] for i in range(0, len(text), size)]
    return [container(container_id, name, image, p, stream, tag,
                      partial=(partial_id, n + 1, n == len(parts) - 1))
            for n, p in enumerate(parts)]


# ------------------------------------------------------------------ oracle ---

def rfc3339_us(realtime_us):
    dt = datetime.datetime.fromtimestamp(realtime_us // 1000000, tz=datetime.timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + f".{realtime_us % 1000000:06d}000Z"


def as_text(v):
    """A journal value as wharf writes it: invalid UTF-8 bytes become U+FFFD
    one by one (Python's 'replace' does the same for these inputs)."""
    if isinstance(v, bytes):
        return v.decode("utf-8", errors="replace")
    return v


def split_image(image):
    """'repo:tag' -> (repo, tag); a ':' before the last '/' is a registry port."""
    slash = image.rfind("/")
    colon = image.rfind(":")
    if colon > slash:
        return image[:colon], image[colon + 1:]
    return image, None


def expected_event(fields, realtime_us, host_name="it-host", docker_meta=None, tags=None):
    """The event the journald input must make of one entry (without
    event.created, which is the time wharf read it). docker_meta: the
    `container` object the docker input makes from that container's
    config.v2.json/hostconfig.json, when it exists."""
    g = {k: as_text(v) for k, v in fields.items()}
    g["_BOOT_ID"] = BOOT_ID
    ev = {"@timestamp": rfc3339_us(realtime_us),
          "agent": {"type": "wharf", "version": "0.1.0"},
          "ecs": {"version": "9.4.0"},
          "event": {"dataset": "journald", "kind": "event"},
          "host": {"name": host_name, "boot": {"id": BOOT_ID}}}
    if "MESSAGE" in g:
        ev["message"] = g["MESSAGE"]
    if "_HOSTNAME" in g:
        ev["host"]["hostname"] = g["_HOSTNAME"]
    log = {}
    if "PRIORITY" in g:
        p = int(g["PRIORITY"])
        log["level"] = LEVELS[p]
        log.setdefault("syslog", {})["severity"] = {"code": p, "name": SEVERITY_NAMES[p]}
    if "SYSLOG_FACILITY" in g:
        fc = int(g["SYSLOG_FACILITY"])
        log.setdefault("syslog", {})["facility"] = {"code": fc, "name": FACILITY_NAMES[fc]}
    if log:
        ev["log"] = log
    proc = {}
    if "SYSLOG_IDENTIFIER" in g:
        proc["name"] = g["SYSLOG_IDENTIFIER"]
    elif "_COMM" in g:
        proc["name"] = g["_COMM"]
    if "_PID" in g:
        proc["pid"] = int(g["_PID"])
    if "_EXE" in g:
        proc["executable"] = g["_EXE"]
    if "_CMDLINE" in g:
        proc["command_line"] = g["_CMDLINE"]
    if proc:
        ev["process"] = proc
    if "_UID" in g:
        ev["user"] = {"id": g["_UID"]}
    if "_SYSTEMD_UNIT" in g:
        ev["systemd"] = {"unit": g["_SYSTEMD_UNIT"]}
    jd = {}
    if "_TRANSPORT" in g:
        jd["transport"] = g["_TRANSPORT"]
    if "CONTAINER_TAG" in g:
        jd["container_tag"] = g["CONTAINER_TAG"]
    if jd:
        ev["journald"] = jd
    if "CONTAINER_ID_FULL" in g or "CONTAINER_ID" in g:
        if docker_meta is not None:
            c = json.loads(json.dumps(docker_meta))
        else:
            c = {"id": g.get("CONTAINER_ID_FULL", g.get("CONTAINER_ID")), "runtime": "docker"}
            if "CONTAINER_NAME" in g:
                c["name"] = g["CONTAINER_NAME"]
            if "IMAGE_NAME" in g:
                repo, tag = split_image(g["IMAGE_NAME"])
                c["image"] = {"name": repo}
                if tag is not None:
                    c["image"]["tag"] = [tag]
        ev["container"] = c
    if tags:
        ev["tags"] = list(tags)
    return ev


def diff(got, want, path=""):
    """Differences between two JSON values, as 'path: got X, want Y' lines."""
    out = []
    if isinstance(got, dict) and isinstance(want, dict):
        for k in sorted(set(got) | set(want)):
            p = f"{path}.{k}" if path else k
            if k not in got:
                out.append(f"{p}: missing, want {_short(want[k])}")
            elif k not in want:
                out.append(f"{p}: unexpected {_short(got[k])}")
            else:
                out += diff(got[k], want[k], p)
    elif got != want or type(got) is not type(want):
        out.append(f"{path}: got {_short(got)}, want {_short(want)}")
    return out


def _short(v):
    s = json.dumps(v, ensure_ascii=True)
    return s if len(s) <= 120 else s[:100] + f"...({len(s)} chars)"
