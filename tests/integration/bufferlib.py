"""Helpers for the disk buffer integration tests (not a test itself).

On top of wharflib:
  write_config()   a config with data_dir, a `buffer:` section and any number
                   of file outputs
  start()/reap()   wharf run in the background; every process started here is
                   SIGKILLed at exit, so a failing test leaves none behind (and
                   none holding a tmpfs busy)
  FullTmpfs        a size-limited tmpfs filled to the last page by a filler
                   file, so writes into it fail with ENOSPC until free()
                   deletes the filler; always unmounted (also on failure,
                   SIGTERM or SIGINT)
  stat()           `wharf buffer stat -c CFG --json [--records]`, parsed
  read_segment()   an independent reader of the on-disk format (segment
                   header, record headers, CRC-32C, zstd payloads through
                   libzstd via ctypes) to cross-check what wharf reports
  scan_output()    the NDJSON output: every line json.loads'd, numbers counted,
                   fields checked against what the writer wrote
  random_text()    varied text zstd cannot shrink much
"""
import atexit
import collections
import ctypes
import ctypes.util
import json
import multiprocessing
import os
import re
import shutil
import signal
import string
import struct
import subprocess
import time

import wharflib as w

WHARF = w.WHARF
SEGMENT_HEADER = 16
RECORD_HEADER = 32
MAGIC = 0x52464857  # b"WHFR" little-endian
EVENTS, CHECKPOINT = 1, 2
KEEP = os.environ.get("WHARF_KEEP_TMP") == "1"

# ------------------------------------------------------------- processes ---

_procs = []
_mounts = []


def start(cfg, log_path, *extra):
    log = open(log_path, "ab")
    p = subprocess.Popen([WHARF, "run", "-c", cfg, *extra], stdout=subprocess.DEVNULL, stderr=log)
    log.close()
    _procs.append(p)
    return p


def reap():
    """SIGKILLs every wharf this module started that still runs."""
    for p in _procs:
        if p.poll() is None:
            p.kill()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass


def _umount(path):
    for _ in range(50):
        r = subprocess.run(["umount", path], capture_output=True)
        if r.returncode == 0 or not os.path.ismount(path):
            return True
        time.sleep(0.1)
    subprocess.run(["umount", "-l", path], capture_output=True)
    return not os.path.ismount(path)


def _cleanup():
    reap()
    for m in list(_mounts):
        if os.path.ismount(m):
            _umount(m)
        _mounts.remove(m)


def _on_signal(signum, frame):
    # Turns SIGTERM (ctest timeout) into SystemExit, so finally blocks and
    # atexit run and the tmpfs is unmounted.
    raise SystemExit(128 + signum)


# Only in the test's own process: a multiprocessing worker (spawned, so it
# imports the test module and this one) is stopped by its pool with SIGTERM,
# and a SystemExit raised into its shutdown left it alive and the pool's
# join waiting (test_buffer_crash_loop hung so: "Exception ignored in
# threading._shutdown ... _on_signal"). A spawned worker has its name
# before it imports the test module; parent_process() is set only after.
if multiprocessing.current_process().name == "MainProcess":
    atexit.register(_cleanup)
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)


class FullTmpfs:
    """A tmpfs of `size` at path, filled by path/.filler until ENOSPC.

    with FullTmpfs(dir, "64m") as fs:   # full: writes fail with ENOSPC
        ...
        fs.free()                       # deletes the filler: room again
    """

    def __init__(self, path, size="64m", fill=True):
        self.path = path
        self.size = size
        self.filler = os.path.join(path, ".filler")
        self.fill_on_enter = fill

    def __enter__(self):
        os.makedirs(self.path, exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={self.size}", "tmpfs", self.path],
                       check=True)
        _mounts.append(self.path)
        if self.fill_on_enter:
            self.fill()
        return self

    def fill(self):
        """Fills every free page (the slack in other files' last pages stays)."""
        fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            for chunk in (1 << 20, 4096, 1):
                block = b"\0" * chunk
                while True:
                    try:
                        if os.write(fd, block) < len(block):
                            break
                    except OSError as e:
                        if e.errno != 28:  # ENOSPC
                            raise
                        break
        finally:
            os.close(fd)
        st = os.statvfs(self.path)
        if st.f_bavail != 0:
            raise RuntimeError(f"tmpfs {self.path} still has {st.f_bavail} free blocks")

    def free(self):
        os.unlink(self.filler)

    def free_bytes(self):
        st = os.statvfs(self.path)
        return st.f_bavail * st.f_frsize

    def __exit__(self, *exc):
        reap()
        ok = _umount(self.path)
        if self.path in _mounts:
            _mounts.remove(self.path)
        if not ok:
            print(f"warning: could not unmount {self.path}")
        return False


# ---------------------------------------------------------------- config ---


def write_config(path, data_dir, inputs, outputs, buffer=None):
    """outputs: [(id, path)] file outputs; buffer: dict of buffer: keys."""
    lines = [f"data_dir: {data_dir}", "host: {name: it-host}"]
    if buffer:
        lines.append("buffer:")
        lines += [f"  {k}: {v}" for k, v in buffer.items()]
    lines.append("inputs:")
    for inp in inputs:
        first = True
        for k, v in inp.items():
            lines.append(("  - " if first else "    ") + f"{k}: {json.dumps(v)}")
            first = False
    lines.append("outputs:")
    for oid, opath in outputs:
        lines += ["  - type: file", f"    id: {oid}", f"    path: {opath}"]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def rmtree(path):
    if not KEEP:
        shutil.rmtree(path, ignore_errors=True)


# ------------------------------------------------------------------ stat ---


def stat(cfg, records=False):
    cmd = [WHARF, "buffer", "stat", "-c", cfg, "--json"] + (["--records"] if records else [])
    p = subprocess.run(cmd, capture_output=True, timeout=60)
    if p.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {p.returncode}: "
                             f"{p.stderr.decode(errors='replace')[:2000]}")
    try:
        return json.loads(p.stdout)
    except json.JSONDecodeError as e:
        raise AssertionError(f"buffer stat --json is not JSON ({e}): {p.stdout[:500]!r}")


def output_stat(st, oid):
    for o in st.get("outputs", []):
        if o.get("id") == oid:
            return o
    raise AssertionError(f"buffer stat has no output {oid!r}: {st.get('outputs')}")


# --------------------------------------------------- independent reader ---


def _crc32c_table():
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        t.append(c)
    return t


_CRC_TABLE = _crc32c_table()


def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    t = _CRC_TABLE
    for b in data:
        crc = t[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


_zstd = None


def zstd_decompress(data, size):
    """libzstd (wharf links it) through ctypes: the standard library has no zstd."""
    global _zstd
    if _zstd is None:
        _zstd = ctypes.CDLL(ctypes.util.find_library("zstd") or "libzstd.so.1")
        _zstd.ZSTD_decompress.restype = ctypes.c_size_t
        _zstd.ZSTD_decompress.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p,
                                          ctypes.c_size_t]
        _zstd.ZSTD_isError.restype = ctypes.c_uint
        _zstd.ZSTD_isError.argtypes = [ctypes.c_size_t]
    dst = ctypes.create_string_buffer(max(size, 1))
    n = _zstd.ZSTD_decompress(dst, size, data, len(data))
    if _zstd.ZSTD_isError(n):
        raise ValueError("not a zstd frame of the stated size")
    return dst.raw[:n]


Record = collections.namedtuple(
    "Record", "offset type length crc events raw_length first payload crc_ok")


def read_segment(path):
    """(header_ok, [Record], end): the records from offset 16 up to the first
    bytes that are not a whole record with magic "WHFR"; end is where they stop.
    crc_ok: the CRC-32C over header bytes 0..7 and 12..31 plus the payload
    (as include/wharf/wal.h documents it)."""
    with open(path, "rb") as f:
        data = f.read()
    header_ok = len(data) >= 16 and data[:8] == b"WHARFWAL" and data[12:16] == b"\0\0\0\0"
    recs, off = [], SEGMENT_HEADER
    while off + RECORD_HEADER <= len(data):
        magic, length, crc, typ = struct.unpack_from("<IIIB", data, off)
        events, raw_length, first = struct.unpack_from("<IIQ", data, off + 16)
        if magic != MAGIC or off + RECORD_HEADER + length > len(data):
            break
        payload = data[off + RECORD_HEADER:off + RECORD_HEADER + length]
        c = crc32c(data[off:off + 8])
        c = crc32c(data[off + 12:off + 32], c)
        c = crc32c(payload, c)
        recs.append(Record(off, typ, length, crc, events, raw_length, first, payload, c == crc))
        off += RECORD_HEADER + length
    return header_ok, recs, off


def segment_name(seq):
    return f"{seq:016d}.wal"


# ------------------------------------------------------------------- log ---

def segment_matches(value, seq):
    """A log's segment= names segment seq: its file name (or a path ending in it)."""
    if value is None:
        return False
    base = os.path.basename(value.strip())
    return base == segment_name(seq) or (base.isdigit() and int(base) == seq)


def to_int(v):
    try:
        return int(v)
    except (TypeError, ValueError):
        return None


# ---------------------------------------------------------------- output ---

NUM = re.compile(r"n=(\d+)(?: |$)")


def scan_output(path, expect, max_problems=20, only_complete=False):
    """Parses every line of an NDJSON output (each must be JSON).

    expect(n) -> dict of dotted field -> wanted value for the event numbered
    n (its message starts with "n=<n>"). Returns (Counter of numbers,
    [problems]). only_complete: ignore a last line without newline (the
    file of a wharf that is still running)."""
    got = collections.Counter()
    problems = []
    if not os.path.exists(path):
        return got, problems
    with open(path, "rb") as f:
        data = f.read()
    lines = data.split(b"\n")
    tail = lines.pop()  # after the last newline
    if tail and not only_complete:
        problems.append(f"{path}: ends in a partial line: {tail[:120]!r}")
    for i, raw in enumerate(lines, 1):
        try:
            e = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as ex:
            if len(problems) < max_problems:
                problems.append(f"{path}:{i}: not JSON ({ex}): {raw[:160]!r}")
            continue
        msg = e.get("message")
        m = NUM.match(msg) if isinstance(msg, str) else None
        if not m:
            if len(problems) < max_problems:
                problems.append(f"{path}:{i}: message is not a numbered line: {msg!r}")
            continue
        n = int(m.group(1))
        got[n] += 1
        for field, want in expect(n).items():
            v = e
            for part in field.split("."):
                v = v.get(part) if isinstance(v, dict) else None
            if v != want and len(problems) < max_problems:
                problems.append(f"{path}:{i}: n={n}: {field} is {v!r}, want {want!r}")
    return got, problems


def complete_lines(path):
    if not os.path.exists(path):
        return 0
    with open(path, "rb") as f:
        return f.read().count(b"\n")


def ranges(nums):
    """[1,2,3,7,8] -> "1-3,7-8" (for failure messages)."""
    nums = sorted(nums)
    out, i = [], 0
    while i < len(nums):
        j = i
        while j + 1 < len(nums) and nums[j + 1] == nums[j] + 1:
            j += 1
        out.append(f"{nums[i]}" if i == j else f"{nums[i]}-{nums[j]}")
        i = j + 1
    s = ",".join(out)
    return s if len(s) < 300 else s[:300] + "..."


_ALPHABET = string.ascii_letters + string.digits + "+/"


def random_text(rng, n):
    return "".join(rng.choices(_ALPHABET, k=n))


def wait_stat(cfg, pred, timeout, interval=0.3):
    """Polls `buffer stat --json` until pred(st) holds; returns the last stat."""
    deadline = time.time() + timeout
    st = stat(cfg)
    while not pred(st) and time.time() < deadline:
        time.sleep(interval)
        st = stat(cfg)
    return st


def wait_lines(path, want, timeout, settle=2.0, stall=8.0):
    """Waits until path has >= want complete lines and has not grown for
    `settle` s, or has not grown for `stall` s (longer than the 5 s retry
    backoff of a failed output), or timeout. Returns the count."""
    deadline = time.time() + timeout
    last, since = -1, time.time()
    while time.time() < deadline:
        n = complete_lines(path)
        if n != last:
            last, since = n, time.time()
        elif time.time() - since >= (settle if n >= want else stall):
            return n
        time.sleep(0.2)
    return complete_lines(path)
