"""The `archive` output and `wharf archive verify|cat`, checked against the
format include/wharf/archive.h and the README document (recomputed here with
hashlib, the zstd CLI, a zstd frame walker and openssl, never with wharf).

A. Round trip: Docker, CRI and journald inputs -> a `file` output and an
   archive in one run. `cat` is the file output byte for byte; --from/--to
   (RFC 3339, a date, an offset) and --where give exactly the lines Python
   picks; `zstd -dc` of the segments in seq order is the file output; every
   sha256, size and chain value recomputes; every zstd frame has its content
   checksum and the frames respect frame_size; verify and verify --json say
   OK with the right counts; the key id and one signature check out with
   openssl alone.
A2. A range reads only the segments it meets: a garbage segment in the
   middle does not disturb cat of ranges on either side; cat of everything
   and verify name it.
B. Tampering, each on a fresh copy: a flipped byte, a deleted segment, two
   segments swapped, an edited line, the manifest cut mid-line and at a
   line, two lines swapped, a forged segment; each gives exactly its FAIL
   kinds naming the file/seq/line. Signatures: another key, a signature
   made by another key; `wharf check` and `wharf run` on a missing key; a
   forged next segment is not signed into the archive by a restart (it is
   set aside as NAME.unlisted), while a segment whose manifest line was lost
   is listed again.
C. Retention: segments rolled by age while wharf runs live; at the next
   start the ones closed longer than `retention` ago are deleted after a
   prune line, the younger ones stay; a later start prunes the rest. verify
   stays green and counts them; cat gives exactly the kept events.
D. kill -9 while a segment is open and the log grows, plus a torn frame:
   the next start finishes the segment; verify green, zstd -t passes, no
   input line missing (duplicates counted).
E. The archive's file system fills up while wharf runs (a 2 MiB tmpfs and a
   filler file), segments rolling every 20 KiB: the failure is logged once
   with the system's reason (No space left on device), the events wait in
   the buffer, and once there is room they are archived: verify green, every
   line exactly once, in order.
"""
import base64
import datetime
import glob
import hashlib
import json
import os
import re
import shutil
import struct
import subprocess
import time

import bufferlib as bl
import journallib as jl
import wharftest as t

ck = t.Checker("test_archive")
MINUTE_US = 60 * 1000 * 1000
BASE_US = 1_780_000_000 * 1_000_000  # 2026-05-28T20:26:40Z
FRAME_SIZE = 16 * 1024
SKIPPABLE_INDEX = 0x184D2A5E
ZSTD_MAGIC = 0xFD2FB528


# ------------------------------------------------------------ helpers ---

def manifest(path):
    with open(os.path.join(path, "MANIFEST.jsonl"), "rb") as f:
        return [json.loads(line) for line in f.read().splitlines()]


def segments(path):
    return [m for m in manifest(path) if m["type"] == "segment"]


def seg_path(path, m):
    return os.path.join(path, m["file"])


def read(path):
    with open(path, "rb") as f:
        return f.read()


def verify(path, *args):
    p = t.run_wharf(["archive", "verify", path] + list(args))
    return p.returncode, p.stdout.decode(errors="replace") + p.stderr.decode(errors="replace")


def cat(path, *args):
    p = t.run_wharf(["archive", "cat", path] + list(args))
    ck.eq(p.returncode, 0, f"cat {' '.join(args)}: exit code "
                           f"({p.stderr.decode(errors='replace')[-300:]})")
    return p.stdout


def fail_lines(out):
    """[(kind, text)] of verify's 'FAIL kind: text' lines."""
    return [(m.group(1), m.group(2)) for m in re.finditer(r"^FAIL (\w+): (.*)$", out, re.M)]


def expect_fails(path, where, want, *args):
    """verify exits 1 and prints exactly len(want) FAIL lines; want is a list
    of (kind, [needles]), each matched by its own FAIL line."""
    rc, out = verify(path, *args)
    ck.eq(rc, 1, f"{where}: verify exit code")
    got = fail_lines(out)
    ck.eq(sorted(k for k, _ in got), sorted(k for k, _ in want),
          f"{where}: exactly these FAIL kinds\n{out[-2500:]}")
    left = list(got)
    for kind, needles in want:
        hit = next((g for g in left if g[0] == kind and all(n in g[1] for n in needles)), None)
        if ck.check(hit is not None, f"{where}: a 'FAIL {kind}:' line naming {needles}:\n"
                                     f"{out[-2500:]}"):
            left.remove(hit)
    return out


def sha(text):
    return hashlib.sha256(text.encode()).hexdigest()


def chain_check(path, where):
    """Every chain value recomputed with the formula of include/wharf/archive.h."""
    prev = None
    for i, m in enumerate(manifest(path)):
        if m["type"] == "header":
            want = sha(f"wharf-archive|{m['archive_id']}")
        elif m["type"] == "segment":
            want = sha(f"{prev}|{m['seq']}|{m['sha256']}|{m['count']}|{m['first']}|{m['last']}")
        elif m["type"] == "prune":
            want = sha(f"{prev}|prune|{m['from']}|{m['to']}|{m['pruned_chain']}")
        else:  # seal: signs the head, not chained
            ck.eq(m["type"], "seal", f"{where}: manifest line {i + 1} type")
            want = prev
        ck.eq(m["chain"], want, f"{where}: chain of manifest line {i + 1} recomputed")
        prev = m["chain"]


def zstd_frames(data):
    """Walks a zstd file by the format spec (RFC 8878): [(offset, size,
    magic, checksum_flag)]; raises ValueError on anything else."""
    frames, off = [], 0
    while off < len(data):
        magic = struct.unpack_from("<I", data, off)[0]
        if magic & 0xFFFFFFF0 == 0x184D2A50:
            size = 8 + struct.unpack_from("<I", data, off + 4)[0]
            frames.append((off, size, magic, None))
            off += size
            continue
        if magic != ZSTD_MAGIC:
            raise ValueError(f"no zstd frame at offset {off}")
        fhd = data[off + 4]
        fcs, single, checksum, dict_id = fhd >> 6, (fhd >> 5) & 1, (fhd >> 2) & 1, fhd & 3
        p = off + 5 + (0 if single else 1) + (0, 1, 2, 4)[dict_id]
        p += (1 if single else 0, 2, 4, 8)[fcs]
        while True:
            bh = int.from_bytes(data[p:p + 3], "little")
            p += 3 + (1 if (bh >> 1) & 3 == 1 else bh >> 3)  # RLE: one byte
            if bh & 1:
                break
        p += 4 * checksum
        if p > len(data):
            raise ValueError(f"frame at {off} runs past the end")
        frames.append((off, p - off, magic, bool(checksum)))
        off = p
    return frames


def unzstd(data):
    return subprocess.run(["zstd", "-dcq"], input=data, capture_output=True, check=True).stdout


def noise(i):
    """Text that does not compress away, so that segments fill."""
    return hashlib.sha256(str(i).encode()).hexdigest()


def rfc(us):
    return jl.rfc3339_us(us)


def utc9(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"


def pub_key_id(pub_pem):
    """First 16 hex digits of SHA-256 of the raw Ed25519 public key (the
    last 32 bytes of its DER SubjectPublicKeyInfo)."""
    der = subprocess.run(["openssl", "pkey", "-pubin", "-in", pub_pem, "-outform", "DER"],
                         capture_output=True, check=True).stdout
    return hashlib.sha256(der[-32:]).hexdigest()[:16]


def make_keys():
    d = t.tmpdir("wharf-it-archive-keys-")
    keys = {"dir": d}
    for k in ("a", "b"):
        keys[k] = os.path.join(d, f"{k}.pem")
        keys[k + "_pub"] = os.path.join(d, f"{k}.pub")
        subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", keys[k]],
                       check=True, capture_output=True)
        subprocess.run(["openssl", "pkey", "-in", keys[k], "-pubout", "-out", keys[k + "_pub"]],
                       check=True, capture_output=True)
        keys[k + "_id"] = pub_key_id(keys[k + "_pub"])
    return keys


def archive_output(path, **extra):
    out = {"type": "archive", "id": "keep", "path": path, "frame_size": "16KiB",
           "roll": {"max_size": "32KiB"}}
    out.update(extra)
    return out


def one_app(name, **archive_opts):
    """A setup whose one Docker container, `app`, is shipped to an archive
    output at <setup>/archive: (setup, container, archive path)."""
    s = t.Setup(name)
    docker = t.DockerHost(s.path("docker"))
    app = docker.add("app")
    archive = s.path("archive")
    s.config([docker_input(docker)], [archive_output(archive, **archive_opts)])
    return s, app, archive


def docker_input(docker):
    return {"type": "docker", "id": "docker", "root": docker.root, "read_from": "beginning"}


def open_files(archive):
    return glob.glob(os.path.join(archive, "*", "*", "*", "*.ndjson.zst.open"))


# ------------------------------------------------------ A: round trip ---

def build_sources(s, n):
    """n events in each of Docker, CRI and journald, one minute apart, the
    three interleaved 20 s apart: every @timestamp is distinct."""
    docker = t.DockerHost(s.path("docker"))
    docker.add("shop", labels={"team": "payments"}).append(b"".join(
        t.docker_line(f"docker {i} GET /cart/{i} 200 {noise(i)}\n",
                      time=rfc(BASE_US + i * MINUTE_US)) for i in range(n)))
    pods = t.PodLogs(s.path("k8s"))
    pods.add("prod", "api-7d9f", "api").append(b"".join(
        t.cri_line(f"cri {i} handled request id={i * 7919} {noise(-i)}",
                   time=rfc(BASE_US + i * MINUTE_US + 20_000_000)) for i in range(n)))
    journal = s.path("journal")
    jl.make_journal(journal, [(jl.sshd(f"journal {i} Accepted publickey for deploy {noise(i)}",
                                       pid=1000 + i), BASE_US + i * MINUTE_US + 40_000_000)
                              for i in range(n)])
    return [docker_input(docker),
            {"type": "cri", "id": "pods", "paths": [pods.glob()],
             "containers_dir": pods.containers_dir, "read_from": "beginning"},
            {"type": "journald", "id": "journal", "directory": journal,
             "read_from": "beginning", "docker_root": ""}]


def check_segment_files(archive, segs, max_line, where):
    """Every segment: sha256 and size as listed, name, `zstd -t`, `zstd -lv`,
    and each frame walked by the spec: data frames with content checksums,
    the frame index last, NDJSON per frame within frame_size."""
    for m in segs:
        path = seg_path(archive, m)
        data = read(path)
        ck.eq((hashlib.sha256(data).hexdigest(), len(data)), (m["sha256"], m["bytes"]),
              f"{where}: seq {m['seq']} sha256 and size as the manifest says")
        ck.check(re.fullmatch(r"\d{4}/\d\d/\d\d/[\w.-]+-%08d\.ndjson\.zst" % m["seq"], m["file"]),
                 f"{where}: file name {m['file']} is YYYY/MM/DD/<host>-<seq>.ndjson.zst")
        p = subprocess.run(["zstd", "-tq", path], capture_output=True)
        ck.eq(p.returncode, 0, f"{where}: zstd -t {m['file']}: {p.stderr[-300:]}")
        try:
            frames = zstd_frames(data)
        except ValueError as e:
            ck.fail(f"{where}: {m['file']} is not a series of zstd frames: {e}")
            continue
        data_frames = [f for f in frames if f[3] is not None]
        ck.check(all(f[3] for f in data_frames),
                 f"{where}: every data frame of seq {m['seq']} has the content checksum flag")
        ck.eq((frames[-1][2], frames[-1][0] + frames[-1][1]), (SKIPPABLE_INDEX, len(data)),
              f"{where}: seq {m['seq']} ends in the skippable frame of the index")
        lv = subprocess.run(["zstd", "-lv", path], capture_output=True).stdout.decode()
        ck.check(f"# Zstandard Frames: {len(data_frames)}\n" in lv and "Check: XXH64" in lv,
                 f"{where}: zstd -lv of seq {m['seq']} counts {len(data_frames)} frames with "
                 f"XXH64 checks:\n{lv}")
        sizes = [len(unzstd(data[o:o + n])) for o, n, _, c in data_frames]
        ck.eq(sum(sizes), len(unzstd(data)), f"{where}: seq {m['seq']} frames decompress alone")
        # A frame ends at the first line end at or past frame_size, however
        # large the buffer blocks handed to write() (regression: frames were
        # whole 1 MiB blocks).
        ck.check(max(sizes) <= FRAME_SIZE + max_line,
                 f"{where}: seq {m['seq']} has frames of {sizes} bytes of NDJSON,"
                 f" frame_size is {FRAME_SIZE} (plus one line of at most {max_line})")
        ck.check(len(data_frames) >= 2,
                 f"{where}: seq {m['seq']} ({m['bytes']} bytes) has "
                 f"{len(data_frames)} frame(s), want several of 16 KiB")


def part_a(keys):
    s = t.Setup("archive-a")
    archive = s.path("archive")
    n = 1500
    s.config(build_sources(s, n), [{"type": "file", "id": "out", "path": s.out},
                                   archive_output(archive, signing_key=keys["a"])])
    t0 = time.time()
    t.oneshot(s.cfg)
    want = read(s.out)
    lines = want.splitlines(keepends=True)
    events = [json.loads(x) for x in lines]
    ts = [e["@timestamp"] for e in events]
    ck.eq(len(lines), 3 * n, "A: the file output has every event")
    ck.eq(len(set(ts)), 3 * n, "A: every @timestamp is distinct")
    segs = segments(archive)
    ck.check(len(segs) >= 3, f"A: several segments ({len(segs)})")
    ck.eq([m["seq"] for m in segs], list(range(1, len(segs) + 1)), "A: seqs 1..n in order")
    ck.eq(sum(m["count"] for m in segs), 3 * n, "A: the manifest counts every event")
    ck.eq(open_files(archive), [], "A: no .open file after the run")
    ck.note(f"A: {len(segs)} segments, {len(want)} bytes of NDJSON, run {time.time() - t0:.1f} s")

    ck.eq(cat(archive), want, "A: cat is exactly the file output's bytes")
    zs = b"".join(unzstd(read(seg_path(archive, m))) for m in segs)
    ck.eq(zs, want, "A: zstd -dc of every segment in seq order is the file output")
    pos = 0
    for m in segs:  # each line's count and span are those of its own events
        mine = events[pos:pos + m["count"]]
        pos += m["count"]
        ck.eq((m["first"], m["last"]), (min(e["@timestamp"] for e in mine),
                                        max(e["@timestamp"] for e in mine)),
              f"A: seq {m['seq']} first/last are its events' earliest/latest @timestamp")
    check_segment_files(archive, segs, max(len(x) for x in lines), "A")
    chain_check(archive, "A")

    # sub-ranges: [from, to), computed here on the file output's lines
    times = sorted(ts)
    lo, hi = times[1000], times[2500]
    sub = [x for x, e in zip(lines, ts) if lo <= e < hi]
    ck.eq(len(sub), 1500, "A: the sub-range holds 1500 events")
    ck.eq(cat(archive, "--from", lo, "--to", hi), b"".join(sub),
          "A: cat --from/--to (an event's own times: from inclusive, to exclusive)")
    day = datetime.datetime(2026, 5, 29, tzinfo=datetime.timezone.utc)
    lo2, hi2 = utc9(day), utc9(day + datetime.timedelta(hours=10))
    sub2 = [x for x, e in zip(lines, ts) if lo2 <= e < hi2]
    ck.check(0 < len(sub2) < len(lines), f"A: the day range holds some events ({len(sub2)})")
    ck.eq(cat(archive, "--from", "2026-05-29", "--to", "2026-05-29T12:00:00+02:00"),
          b"".join(sub2), "A: cat --from DATE --to TIME+02:00")
    ck.eq(cat(archive, "--to", lo), b"".join(x for x, e in zip(lines, ts) if e < lo),
          "A: cat --to alone")
    ck.eq(cat(archive, "--from", "2030-01-01"), b"", "A: cat of a range after everything")

    def where(field, value):
        return b"".join(x for x, e in zip(lines, events) if t.get(e, field) == value)
    api = where("container.name", "api")
    ck.eq(len(api.splitlines()), n, "A: the CRI container's events")
    ck.eq(cat(archive, "--where", "container.name=api"), api, "A: cat --where container.name=api")
    ck.eq(cat(archive, "--where", "container.name=shop", "--from", lo, "--to", hi),
          b"".join(x for x, e in zip(lines, events)
                   if t.get(e, "container.name") == "shop" and lo <= e["@timestamp"] < hi),
          "A: cat --where container.name=shop with --from/--to")
    ck.eq(cat(archive, "--where", "process.pid=1007"), where("process.pid", 1007),
          "A: cat --where on a number (one journald event)")
    ck.eq(cat(archive, "--where", "container.name=nope"), b"", "A: cat --where matching nothing")

    # verify, with the key and as JSON
    rc, out = verify(archive, "--pubkey", keys["a_pub"])
    ck.eq((rc, fail_lines(out)), (0, []), f"A: verify --pubkey A: {out[-1500:]}")
    ck.check(out.rstrip().endswith(": OK") and
             f"{len(segs)} segments verified ({3 * n} events, "
             f"{sum(m['bytes'] for m in segs)} bytes)" in out and
             f"{len(segs)} signatures verified" in out,
             f"A: verify summary counts segments, events, bytes, signatures: {out[-600:]}")
    ck.eq([m.get("key") for m in segs], [keys["a_id"]] * len(segs),
          "A: every segment line is signed by key A (id recomputed from A.pub)")
    p = t.run_wharf(["archive", "verify", archive, "--json"])
    ck.eq(p.returncode, 0, "A: verify --json exit code")
    out_lines = p.stdout.decode().splitlines()
    ck.eq(len(out_lines), 1, "A: verify --json prints one line")
    ev = json.loads(out_lines[0]) if out_lines else {}
    ck.eq((t.get(ev, "event.dataset"), t.get(ev, "event.outcome"), t.get(ev, "event.action")),
          ("wharf.audit", "success", "archive-verify"), "A: verify --json ECS fields")
    ck.eq((t.get(ev, "wharf.archive.id"), t.get(ev, "wharf.archive.segments"),
           t.get(ev, "wharf.archive.events"), t.get(ev, "wharf.archive.pruned"),
           t.get(ev, "wharf.archive.chain_head"), t.get(ev, "wharf.archive.problems")),
          (manifest(archive)[0]["archive_id"], len(segs), 3 * n, 0, manifest(archive)[-1]["chain"],
           []), "A: verify --json id, counts, chain head, no problems")

    # a signature checked with openssl alone, as the README shows
    m = segs[-1]
    cf, sf = os.path.join(keys["dir"], "chain.txt"), os.path.join(keys["dir"], "sig.bin")
    with open(cf, "w") as f:
        f.write(m["chain"])
    with open(sf, "wb") as f:
        f.write(base64.b64decode(m["sig"]))
    p = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", keys["a_pub"],
                        "-rawin", "-in", cf, "-sigfile", sf], capture_output=True)
    ck.eq(p.returncode, 0, f"A: openssl verifies seq {m['seq']}'s signature with A.pub: "
                           f"{p.stdout} {p.stderr}")
    p = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", keys["b_pub"],
                        "-rawin", "-in", cf, "-sigfile", sf], capture_output=True)
    ck.check(p.returncode != 0, "A: and openssl rejects it with B.pub")
    return archive, segs


def part_a_skip():
    """A range reads only the segments it meets. Docker alone, so that
    segments follow each other in time."""
    s = t.Setup("archive-a2")
    docker = t.DockerHost(s.path("docker"))
    docker.add("shop").append(b"".join(
        t.docker_line(f"docker {i} {noise(i)}\n", time=rfc(BASE_US + i * MINUTE_US))
        for i in range(3000)))
    archive = s.path("archive")
    s.config([docker_input(docker)],
             [{"type": "file", "id": "out", "path": s.out}, archive_output(archive)])
    t.oneshot(s.cfg)
    segs = segments(archive)
    if not ck.check(len(segs) >= 3, f"A2: at least three segments ({len(segs)})"):
        return
    lines = read(s.out).splitlines(keepends=True)
    ts = [json.loads(x)["@timestamp"] for x in lines]
    ck.eq(ts, sorted(ts), "A2: one container: times only grow")
    mid = segs[len(segs) // 2]
    with open(seg_path(archive, mid), "r+b") as f:  # garbage, same size
        f.write(os.urandom(mid["bytes"]))

    before = [x for x, e in zip(lines, ts) if e < mid["first"]]
    after_ts = [e for e in ts if e > mid["last"]]
    ck.check(len(before) > 0 and len(after_ts) > 1, "A2: events on both sides of the damage")
    lo, hi = ts[len(before) // 3], mid["first"]
    ck.eq(cat(archive, "--from", lo, "--to", hi),
          b"".join(x for x, e in zip(lines, ts) if lo <= e < hi),
          "A2: cat of a range before the garbage segment")
    lo, hi = after_ts[0], after_ts[-1]
    ck.eq(cat(archive, "--from", lo, "--to", hi),
          b"".join(x for x, e in zip(lines, ts) if lo <= e < hi),
          "A2: cat of a range after the garbage segment")
    p = t.run_wharf(["archive", "cat", archive])
    err = p.stderr.decode(errors="replace")
    ck.eq(p.returncode, 1, "A2: cat of everything: exit code")
    ck.check(mid["file"] in err and f"seq {mid['seq']}" in err,
             f"A2: cat names the unreadable segment: {err[-400:]}")
    ck.eq(p.stdout, b"".join(x for x, e in zip(lines, ts)
                             if not mid["first"] <= e <= mid["last"]),
          "A2: cat of everything still prints every other segment")
    expect_fails(archive, "A2 garbage", [("modified_segment", [mid["file"], f"seq {mid['seq']}",
                                                               mid["sha256"]])])
    rc, out = verify(archive, "--to", mid["first"])
    ck.eq((rc, fail_lines(out)), (0, []), f"A2: verify --to before the damage: {out[-600:]}")


# ------------------------------------------------------- B: tampering ---

def fresh_copy(src, name):
    dst = t.tmpdir(f"wharf-it-archive-{name}-")
    shutil.rmtree(dst)
    shutil.copytree(src, dst)
    return dst


def rewrite_manifest(path, fn):
    mp = os.path.join(path, "MANIFEST.jsonl")
    lines = read(mp).splitlines(keepends=True)
    with open(mp, "wb") as f:
        f.write(fn(lines))


def dump(obj):
    return json.dumps(obj, separators=(",", ":")).encode() + b"\n"


def part_b(good, segs, keys):
    rc, out = verify(good, "--pubkey", keys["a_pub"])
    ck.eq((rc, fail_lines(out)), (0, []), f"B: the pristine archive verifies: {out[-800:]}")
    m1, m2, m3 = segs[0], segs[1], segs[2]
    lines = read(os.path.join(good, "MANIFEST.jsonl")).splitlines(keepends=True)
    ck.eq([json.loads(x)["type"] for x in lines], ["header"] + ["segment"] * len(segs),
          "B: the manifest is a header and one line per segment")

    d = fresh_copy(good, "flip")
    with open(seg_path(d, m2), "r+b") as f:
        f.seek(m2["bytes"] // 2)
        b = f.read(1)
        f.seek(m2["bytes"] // 2)
        f.write(bytes([b[0] ^ 0x01]))
    expect_fails(d, "B flip", [("modified_segment", [m2["file"], f"seq {m2['seq']}",
                                                     m2["sha256"]])])

    d = fresh_copy(good, "delete")
    os.unlink(seg_path(d, m3))
    expect_fails(d, "B delete", [("missing_segment", [m3["file"], f"seq {m3['seq']}"])])

    d = fresh_copy(good, "swap")
    a, b = seg_path(d, m2), seg_path(d, m3)
    os.rename(a, a + ".tmp")
    os.rename(b, a)
    os.rename(a + ".tmp", b)
    expect_fails(d, "B swap", [
        ("swapped_segment", [f"{m2['file']} (seq {m2['seq']})", f"content of seq {m3['seq']}"]),
        ("swapped_segment", [f"{m3['file']} (seq {m3['seq']})", f"content of seq {m2['seq']}"])])

    d = fresh_copy(good, "edit")

    def edit(ls):
        obj = json.loads(ls[2])
        obj["count"] += 1
        ls[2] = dump(obj)
        return b"".join(ls)
    rewrite_manifest(d, edit)
    expect_fails(d, "B edit count", [("edited_line", ["manifest line 3", f"seq {m2['seq']}"])])

    d = fresh_copy(good, "cut")
    mp = os.path.join(d, "MANIFEST.jsonl")
    size = os.path.getsize(mp)
    os.truncate(mp, size - 20)
    expect_fails(d, "B cut mid-line", [
        ("truncated_manifest", [f"after byte {size - len(lines[-1])}"]),
        ("unlisted_segment", [segs[-1]["file"]])])

    d = fresh_copy(good, "cut2")
    rewrite_manifest(d, lambda ls: b"".join(ls[:-2]))
    expect_fails(d, "B cut two lines", [("unlisted_segment", [m["file"]]) for m in segs[-2:]])

    d = fresh_copy(good, "reorder")
    rewrite_manifest(d, lambda ls: b"".join(ls[:2] + [ls[3], ls[2]] + ls[4:]))
    expect_fails(d, "B reorder", [
        ("reordered_lines", ["manifest line 4", f"seq {m2['seq']} after seq {m3['seq']}"]),
        ("missing_lines", [f"seq {m2['seq']}..{m2['seq']}", "before line 3"]),
        ("edited_line", ["manifest line 3", f"seq {m3['seq']}"]),
        ("edited_line", ["manifest line 4", f"seq {m2['seq']}"])] +
        # the line after them now follows seq 2's chain value, not seq 3's
        [("edited_line", ["manifest line 5", f"seq {m['seq']}"]) for m in segs[3:4]])

    d = fresh_copy(good, "forge")
    last = segs[-1]
    forged = last["file"].replace(f"-{last['seq']:08d}.", f"-{last['seq'] + 1:08d}.")
    fake = b'{"@timestamp":"2026-05-28T20:26:41.000000000Z","message":"forged"}\n'
    subprocess.run(["zstd", "-q", "-o", os.path.join(d, forged)], input=fake, check=True)
    expect_fails(d, "B forged segment", [("unlisted_segment", [forged])])
    ck.check(b"forged" not in cat(d), "B: cat does not read the forged segment")

    # signatures
    out = expect_fails(good, "B verify --pubkey B",
                       [("bad_signature", [f"manifest line {i + 2}:",
                                           f"signed by key {keys['a_id']}",
                                           f"--pubkey key {keys['b_id']}"])
                        for i in range(len(segs))], "--pubkey", keys["b_pub"])
    ck.check("0 signatures verified" in out, f"B: none verified with B: {out[-400:]}")

    d = fresh_copy(good, "resign")
    chain_file = os.path.join(keys["dir"], "chain-b.txt")

    def resign(ls):
        obj = json.loads(ls[1])
        with open(chain_file, "w") as f:
            f.write(obj["chain"])
        sig = subprocess.run(["openssl", "pkeyutl", "-sign", "-rawin", "-inkey", keys["b"],
                              "-in", chain_file], capture_output=True, check=True).stdout
        ck.eq(len(sig), 64, "B: an Ed25519 signature is 64 bytes")
        obj["sig"] = base64.b64encode(sig).decode()
        ls[1] = dump(obj)
        return b"".join(ls)
    rewrite_manifest(d, resign)
    out = expect_fails(d, "B a line signed by B, claiming A",
                       [("bad_signature", ["manifest line 2:", "does not verify with key "
                                           + keys["a_id"]])], "--pubkey", keys["a_pub"])
    ck.check(f"{len(segs) - 1} signatures verified" in out,
             f"B: the other lines still verify: {out[-400:]}")
    expect_fails(d, "B the re-signed line with B.pub",
                 [("bad_signature", [f"manifest line {i + 3}:", f"signed by key {keys['a_id']}"])
                  for i in range(len(segs) - 1)], "--pubkey", keys["b_pub"])
    rc, out = verify(d)
    ck.eq((rc, fail_lines(out)), (0, []),
          f"B: without --pubkey the chain alone cannot see a re-signed line: {out[-400:]}")


def part_b_check(keys):
    """A signing key that does not exist: `wharf check` names it; `wharf run`
    does not start."""
    s = t.Setup("archive-key")
    docker = t.DockerHost(s.path("docker"))
    docker.add("app").append(t.docker_line("hello\n"))
    missing = s.path("keys", "missing-archive-key.pem")
    s.config([docker_input(docker)], [archive_output(s.path("archive"), signing_key=missing)])
    section = next(i + 1 for i, x in enumerate(read(s.cfg).decode().splitlines())
                   if '"archive"' in x)
    p = t.run_wharf(["check", "-c", s.cfg])
    err = p.stdout.decode(errors="replace") + p.stderr.decode(errors="replace")
    ck.check(p.returncode not in (0, None), f"B check: exit code {p.returncode}")
    ck.check(re.search(rf"{re.escape(s.cfg)}:{section}: .*{re.escape(missing)}", err),
             f"B check: the error names the config line ({section}) and the key file: {err}")
    p = t.oneshot(s.cfg, expect_rc=None)
    err = p.stderr.decode(errors="replace")
    ck.check(p.returncode != 0 and missing in err,
             f"B run: refuses to start, naming the key file: rc {p.returncode} {err[-600:]}")
    ck.check(not os.path.exists(s.path("archive", "MANIFEST.jsonl")),
             "B run: no archive was created")


def part_b_adopt(keys):
    """A forged segment with the next seq, still there when wharf starts
    again, must not be signed into the archive."""
    s, app, archive = one_app("archive-adopt", signing_key=keys["a"])
    app.append(b"".join(t.docker_line(f"real {i}\n") for i in range(20)))
    t.oneshot(s.cfg)
    last = segments(archive)[-1]
    forged = last["file"].replace(f"-{last['seq']:08d}.", f"-{last['seq'] + 1:08d}.")
    fake = b'{"@timestamp":"2026-05-28T20:26:41.000000000Z","message":"forged"}\n'
    subprocess.run(["zstd", "-q", "-o", os.path.join(archive, forged)], input=fake, check=True)
    expect_fails(archive, "B adopt: before the restart", [("unlisted_segment", [forged])])
    app.append(b"".join(t.docker_line(f"real {i}\n") for i in range(20, 30)))
    p = t.oneshot(s.cfg)
    # Regression: a closed file named with the next seq was taken for
    # wharf's own segment and signed into the chain. Only a file ending in
    # wharf's frame index is; this one is set aside as NAME.unlisted.
    err = p.stderr.decode(errors="replace")
    ck.check("finishing an archive segment left open" not in err,
             "B adopt: wharf finished a forged segment as its own: " + err[-700:])
    ck.check("was not written by wharf" in err and forged + ".unlisted" in err,
             "B adopt: the set-aside file is logged as an error: " + err[-700:])
    got = [json.loads(x)["message"] for x in cat(archive).splitlines()]
    ck.eq(sorted(x for x in got if x != "forged"), sorted(f"real {i}" for i in range(30)),
          "B adopt: the real events are all archived")
    ck.check("forged" not in got,
             f"B adopt: the forged event is in the signed archive after a restart "
             f"(manifest: {[m['file'] for m in segments(archive)]})")
    aside = os.path.join(archive, forged + ".unlisted")
    if not ck.check(os.path.exists(aside), f"B adopt: the forged file is kept as {aside}"):
        return
    with open(aside, "rb") as f:
        ck.eq(unzstd(f.read()), fake, "B adopt: the forged file is kept, byte for byte")
    ck.check(not os.path.exists(os.path.join(archive, forged)) or
             any(m["file"] == forged for m in segments(archive)),
             "B adopt: the forged name holds only wharf's own segment")
    expect_fails(archive, "B adopt: after the restart",
                 [("unlisted_segment", [forged + ".unlisted", "set it aside"])])
    os.unlink(aside)
    rc, out = verify(archive, "--pubkey", keys["a_pub"])
    ck.eq(rc, 0, f"B adopt: verify is green once the forged file is removed:\n{out[-1500:]}")
    part_b_line_lost(s, app, archive, keys)


def part_b_line_lost(s, app, archive, keys):
    """A segment renamed to its final name whose manifest line a crash kept
    from being written (here: the line cut off by hand) is wharf's own: its
    frame index matches its frames, so the next start lists it again."""
    with open(os.path.join(archive, "MANIFEST.jsonl"), "rb") as f:
        lines = f.read().splitlines(keepends=True)
    last = json.loads(lines[-1])
    ck.eq(last["type"], "segment", "B line lost: the manifest ends in a segment line")
    with open(os.path.join(archive, "MANIFEST.jsonl"), "wb") as f:
        f.write(b"".join(lines[:-1]))
    expect_fails(archive, "B line lost: before the restart", [("unlisted_segment", [last["file"]])])
    app.append(b"".join(t.docker_line(f"real {i}\n") for i in range(30, 35)))
    p = t.oneshot(s.cfg)
    err = p.stderr.decode(errors="replace")
    ck.check("finishing an archive segment left open" in err and last["file"] in err,
             "B line lost: the segment is finished again: " + err[-700:])
    again = next((m for m in segments(archive) if m["seq"] == last["seq"]), None)
    ck.check(again is not None and (again["file"], again["sha256"], again["count"]) ==
             (last["file"], last["sha256"], last["count"]),
             f"B line lost: seq {last['seq']} is listed again with the same file, hash and "
             f"count: {again} vs {last}")
    rc, out = verify(archive, "--pubkey", keys["a_pub"])
    ck.eq(rc, 0, f"B line lost: verify is green:\n{out[-1500:]}")
    got = sorted(json.loads(x)["message"] for x in cat(archive).splitlines())
    ck.eq(got, sorted(f"real {i}" for i in range(35)), "B line lost: every event once")


# -------------------------------------------------------- C: retention ---

def part_c():
    s, app, archive = one_app("archive-c", roll={"max_age": "1s", "max_size": "256MiB"},
                              retention="2s", flush_interval="100ms")
    fed = []

    def feed(tag, n):
        msgs = [f"{tag} {j} {noise(j)}" for j in range(n)]
        app.append(b"".join(t.docker_line(x + "\n") for x in msgs))
        fed.extend(msgs)

    live = t.Live(s.cfg, s.log)
    for i in range(4):  # segments close by age while wharf runs
        feed(f"c1-{i}", 50)
        time.sleep(1.2)
    feed("c1-4", 50)
    time.sleep(0.4)
    ck.eq(live.term(), 0, "C: SIGTERM exit code")
    run1 = segments(archive)
    ck.check(len(run1) >= 3, f"C: several segments rolled by age ({len(run1)})")
    ck.eq([m["type"] for m in manifest(archive) if m["type"] == "prune"], [],
          "C: nothing pruned while the segments were young")
    snap = fresh_copy(archive, "c-snap")

    # start 2, at once: the segments closed more than 2 s ago go, the rest stay
    feed("c2", 20)
    p = t.oneshot(s.cfg)
    lines = manifest(archive)
    prunes = [m for m in lines if m["type"] == "prune"]
    if not ck.eq(len(prunes), 1, "C: one prune line at the next start"):
        return
    pr = prunes[0]
    cut = datetime.datetime.fromisoformat(pr["at"][:26]) - datetime.timedelta(seconds=2)
    gone = [m for m in run1 if m["seq"] <= pr["to"]]
    kept = [m for m in run1 if m["seq"] > pr["to"]]
    ck.note(f"C: run 1 closed {len(run1)} segments; start 2 pruned {len(gone)}")
    ck.check(len(gone) >= 1 and len(kept) >= 1,
             f"C: start 2 prunes the old segments of run 1 and keeps the young "
             f"(pruned {len(gone)}, kept {len(kept)})")
    ck.eq((pr["from"], pr["pruned_chain"]), (1, gone[-1]["chain"] if gone else None),
          "C: the prune line starts at seq 1 and names the chain of its last seq")
    for m in run1:
        closed = datetime.datetime.fromisoformat(m["at"][:26])
        if m in gone:
            ck.check(closed < cut, f"C: pruned seq {m['seq']} closed more than 2 s before "
                                   f"the prune ({m['at']} vs {pr['at']})")
            ck.check(not os.path.exists(seg_path(archive, m)), f"C: {m['file']} deleted")
        else:
            ck.check(closed >= cut - datetime.timedelta(seconds=0.2),
                     f"C: kept seq {m['seq']} closed within 2 s ({m['at']} vs {pr['at']})")
            ck.check(os.path.exists(seg_path(archive, m)), f"C: {m['file']} kept")
    ck.check("archive retention deleted segments" in p.stderr.decode(errors="replace"),
             "C: the prune is logged")
    rc, out = verify(archive)
    ck.eq((rc, fail_lines(out)), (0, []), f"C: verify after the first prune: {out[-800:]}")
    ck.check(f"{len(gone)} pruned by retention" in out and out.rstrip().endswith(": OK"),
             f"C: verify counts the pruned segments: {out[-500:]}")
    chain_check(archive, "C")
    live_segs = [m for m in segments(archive) if m["seq"] > pr["to"]]
    got = cat(archive)
    ck.eq(got, b"".join(unzstd(read(seg_path(archive, m))) for m in live_segs),
          "C: cat is exactly the kept segments")
    pruned_text = b"".join(unzstd(read(seg_path(snap, m))) for m in gone)
    msgs = [json.loads(x)["message"] for x in (pruned_text + got).splitlines()]
    ck.eq(sorted(msgs), sorted(fed), "C: pruned + kept hold every event fed, once")

    # start 3, after the retention: everything before it goes
    time.sleep(2.3)
    feed("c3", 10)
    t.oneshot(s.cfg)
    prunes = [m for m in manifest(archive) if m["type"] == "prune"]
    ck.eq([(m["from"], m["to"]) for m in prunes],
          [(1, pr["to"]), (pr["to"] + 1, live_segs[-1]["seq"])],
          "C: a second prune line continues where the first stopped")
    for m in live_segs:
        ck.check(not os.path.exists(seg_path(archive, m)), f"C: {m['file']} deleted at start 3")
    rc, out = verify(archive)
    ck.eq((rc, fail_lines(out)), (0, []), f"C: verify after the second prune: {out[-800:]}")
    ck.check("1 segments verified (10 events" in out and
             f"{live_segs[-1]['seq']} pruned by retention" in out,
             f"C: verify counts 1 kept and every other segment pruned: {out[-500:]}")
    chain_check(archive, "C2")
    ck.eq([json.loads(x)["message"] for x in cat(archive).splitlines()],
          [f"c3 {j} {noise(j)}" for j in range(10)], "C: cat gives exactly the kept events")


# ------------------------------------------------------------ D: crash ---

def part_d():
    s, app, archive = one_app("archive-d", roll={"max_size": "256MiB"}, flush_interval="200ms")
    total = 0

    def burst(n=1500):
        nonlocal total
        app.append(b"".join(t.docker_line(f"d {total + j} {noise(j)[:24]}\n")
                            for j in range(n)))
        total += n

    live = t.Live(s.cfg, s.log)
    for _ in range(3):
        burst()
        time.sleep(0.3)
    opened = t.wait_until(lambda: [p for p in open_files(archive) if os.path.getsize(p) > 0], 10)
    ck.check(len(opened) == 1, f"D: one segment is open and has frames ({opened})")
    size_before = os.path.getsize(opened[0]) if opened else 0
    burst()  # the log grows while wharf reads it: killed in the middle
    time.sleep(0.05)
    live.kill9()
    ck.eq(segments(archive), [], "D: nothing was closed before the kill")
    burst()  # and while wharf is down
    garbage = b"\x28\xb5\x2f\xfd\x04\x58" + os.urandom(40)  # a frame cut short
    if opened:
        with open(opened[0], "ab") as f:
            f.write(garbage)
    p = t.oneshot(s.cfg)
    err = p.stderr.decode(errors="replace")
    m = re.search(r'msg="finishing an archive segment left open[^\n]*frames=(\d+) events=(\d+) '
                  r'removed_bytes=(\d+)', err)
    if ck.check(m, f"D: the recovery is logged: {err[-1500:]}"):
        ck.check(int(m.group(1)) >= 1 and int(m.group(3)) >= len(garbage),
                 f"D: it kept the valid frames and cut the torn one: {m.group(0)}")
    ck.eq(open_files(archive), [], "D: no .open file left")
    rc, out = verify(archive)
    ck.eq((rc, fail_lines(out)), (0, []), f"D: verify after the crash: {out[-800:]}")
    segs = segments(archive)
    for mm in segs:
        q = subprocess.run(["zstd", "-tq", seg_path(archive, mm)], capture_output=True)
        ck.eq(q.returncode, 0, f"D: zstd -t {mm['file']}")
    chain_check(archive, "D")
    got = [json.loads(x)["message"] for x in cat(archive).splitlines()]
    ck.eq(len(got), sum(mm["count"] for mm in segs), "D: the manifest counts what cat prints")
    want = [f"d {i} {noise(i % 1500)[:24]}" for i in range(total)]
    missing = set(want) - set(got)
    ck.eq(sorted(missing)[:20], [], f"D: no input line missing ({len(missing)} missing)")
    ck.eq(set(got) - set(want), set(), "D: nothing but input lines")
    ck.note(f"D: .open had {size_before} bytes at the kill; {len(got)} events archived for "
            f"{total} written ({len(got) - len(set(got))} duplicates)")


# ------------------------------------------------------ E: disk full ---

def part_e():
    s = t.Setup("archive-e")
    docker = t.DockerHost(s.path("docker"))
    app = docker.add("app")
    archive = s.path("archive")

    def lines(first, n):
        app.append(b"".join(t.docker_line(f"e {i} {noise(i)}\n") for i in range(first, first + n)))

    with bl.FullTmpfs(archive, "2m", fill=False) as fs:
        s.config([docker_input(docker)],
                 [archive_output(archive, roll={"max_size": "20KiB"}, flush_interval="200ms")])
        lines(0, 500)
        live = t.Live(s.cfg, s.log)
        ck.check(t.wait_until(lambda: [p for p in open_files(archive) if os.path.getsize(p)], 10),
                 "E: the first frames are written")
        fs.fill()
        lines(500, 3000)
        ck.check(t.wait_until(lambda: "archive cannot write" in open(s.log).read(), 10),
                 f"E: the failure is logged: {live.log_tail(1500)}")
        fs.free()
        lines(3500, 500)
        ck.check(t.wait_until(lambda: "archive writes again" in open(s.log).read(), 15),
                 f"E: the recovery is logged: {live.log_tail(1500)}")
        time.sleep(2)  # the rest archived and confirmed
        ck.eq(live.term(), 0, "E: exit code after SIGTERM")
        log = open(s.log).read()
        fails = re.findall(r'msg="archive cannot write; events stay in the buffer until it can" '
                           r'output=\w+ during="[^"]*" error="([^"]*)"', log)
        ck.eq(fails, ["No space left on device"], "E: logged once, with the reason")
        rc, out = verify(archive)
        ck.eq((rc, fail_lines(out)), (0, []), f"E: verify: {out[-800:]}")
        chain_check(archive, "E")
        got = [json.loads(x)["message"] for x in cat(archive).splitlines()]
        ck.eq(got, [f"e {i} {noise(i)}" for i in range(4000)], "E: every line once, in order")
        ck.check(len(segments(archive)) >= 5, f"E: segments rolled: {len(segments(archive))}")


def main():
    t0 = time.time()
    keys = make_keys()
    good, segs = part_a(keys)
    part_a_skip()
    if len(segs) >= 3:
        part_b(good, segs, keys)
    part_b_check(keys)
    part_b_adopt(keys)
    part_c()
    part_d()
    part_e()
    ck.finish(f"({time.time() - t0:.1f} s)")


if __name__ == "__main__":
    main()
