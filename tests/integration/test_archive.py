"""The `archive` output and `wharf archive verify|cat`, against the format
the README documents (recomputed here with hashlib, zstd and openssl).

A. Round trip: Docker, CRI and journald inputs -> a file output and an
   archive; `cat` gives back the file output's bytes, a sub-range and a
   --where give exactly the matching lines, `zstd -dc` of every segment in
   seq order is the file output, every sha256 and chain value recomputes,
   verify and verify --json say OK; cat of a range does not read segments
   outside it.
B. Tampering, each on a copy: a flipped byte, a deleted segment, two
   segments swapped, an edited manifest line, a manifest cut mid-line and
   at a line, two manifest lines swapped, a forged segment; signatures with
   the right key, another key, and a forged signature.
C. Retention: segments older than `retention` deleted after a prune line;
   verify stays green, cat gives the rest.
D. kill -9 while a segment is open (plus a torn frame): the next start
   finishes it; verify green, no event missing.
"""
import base64
import glob
import hashlib
import json
import os
import shutil
import subprocess
import time

import journallib as jl
import wharftest as t

ck = t.Checker("test_archive")
MINUTE_US = 60 * 1000 * 1000


def manifest(path):
    with open(os.path.join(path, "MANIFEST.jsonl"), "rb") as f:
        return [json.loads(line) for line in f.read().splitlines()]


def segments(path):
    return [m for m in manifest(path) if m["type"] == "segment"]


def verify(path, *args):
    p = t.run_wharf(["archive", "verify", path] + list(args))
    return p.returncode, p.stdout.decode(errors="replace") + p.stderr.decode(errors="replace")


def cat(path, *args):
    p = t.run_wharf(["archive", "cat", path] + list(args))
    ck.eq(p.returncode, 0, f"cat {args}: exit code ({p.stderr.decode(errors='replace')[-300:]})")
    return p.stdout


def expect_fail(path, kind, needles, where, *args):
    rc, out = verify(path, *args)
    ck.eq(rc, 1, f"{where}: verify exit code")
    lines = [line for line in out.splitlines() if line.startswith(f"FAIL {kind}:")]
    ck.check(any(all(n in line for n in needles) for line in lines),
             f"{where}: a 'FAIL {kind}:' line naming {needles}:\n{out[-2000:]}")


def chain_check(path):
    """Recomputes every chain value as the README documents it."""
    prev = None
    for i, m in enumerate(manifest(path)):
        if m["type"] == "header":
            want = hashlib.sha256(f"wharf-archive|{m['archive_id']}".encode()).hexdigest()
        elif m["type"] == "segment":
            text = f"{prev}|{m['seq']}|{m['sha256']}|{m['count']}|{m['first']}|{m['last']}"
            want = hashlib.sha256(text.encode()).hexdigest()
        elif m["type"] == "prune":
            text = f"{prev}|prune|{m['from']}|{m['to']}|{m['pruned_chain']}"
            want = hashlib.sha256(text.encode()).hexdigest()
        else:
            want = prev
        ck.eq(m["chain"], want, f"chain of manifest line {i + 1} recomputed")
        prev = m["chain"]


def noise(i):
    """Text that does not compress away, so that segments fill."""
    return hashlib.sha256(str(i).encode()).hexdigest()


def build_sources(s, n):
    """n events in each of Docker, CRI and journald, one minute apart."""
    base = 1_780_000_000 * 1_000_000  # µs
    docker = t.DockerHost(s.path("docker"))
    app = docker.add("shop", labels={"team": "payments"})
    app.append(b"".join(
        t.docker_line(f"docker {i} GET /cart/{i} 200 {noise(i)}\n",
                      time=jl.rfc3339_us(base + i * MINUTE_US))
        for i in range(n)))
    pods = t.PodLogs(s.path("k8s"))
    pod = pods.add("prod", "api-7d9f", "api")
    pod.append(b"".join(
        t.cri_line(f"cri {i} handled request id={i * 7919} {noise(-i)}",
                   time=jl.rfc3339_us(base + i * MINUTE_US + 20_000_000))
        for i in range(n)))
    journal = s.path("journal")
    jl.make_journal(journal, [(jl.sshd(f"journal {i} Accepted publickey for deploy", pid=1000 + i),
                               base + i * MINUTE_US + 40_000_000) for i in range(n)])
    return [{"type": "docker", "id": "docker", "root": docker.root, "read_from": "beginning"},
            {"type": "cri", "id": "pods", "paths": [pods.glob()],
             "containers_dir": pods.containers_dir, "read_from": "beginning"},
            {"type": "journald", "id": "journal", "directory": journal,
             "read_from": "beginning", "docker_root": ""}]


def archive_output(path, **extra):
    out = {"type": "archive", "id": "keep", "path": path, "frame_size": "16KiB",
           "roll": {"max_size": "32KiB"}}
    out.update(extra)
    return out


def seg_path(path, m):
    return os.path.join(path, m["file"])


def part_a(keys):
    s = t.Setup("archive-a")
    archive = s.path("archive")
    s.config(build_sources(s, 1500), [{"type": "file", "id": "out", "path": s.out},
                                      archive_output(archive, signing_key=keys["a"])])
    t.oneshot(s.cfg)
    with open(s.out, "rb") as f:
        want = f.read()
    lines = want.splitlines(keepends=True)
    events = [json.loads(x) for x in lines]
    ck.eq(len(lines), 4500, "A: the file output has every event")
    segs = segments(archive)
    ck.check(len(segs) >= 3, f"A: several segments ({len(segs)})")
    ck.eq(cat(archive), want, "A: cat gives back exactly the file output's bytes")
    zs = b"".join(subprocess.run(["zstd", "-dc", seg_path(archive, m)], capture_output=True,
                                 check=True).stdout for m in segs)
    ck.eq(zs, want, "A: zstd -dc of every segment in seq order is the file output")
    for m in segs:
        with open(seg_path(archive, m), "rb") as f:
            data = f.read()
        ck.eq((hashlib.sha256(data).hexdigest(), len(data)), (m["sha256"], m["bytes"]),
              f"A: seq {m['seq']} sha256 and size")
        ck.eq(data[4] & 0x04, 0x04, f"A: seq {m['seq']} first frame has its content checksum")
        t_ok = subprocess.run(["zstd", "-tq", seg_path(archive, m)], capture_output=True)
        ck.eq(t_ok.returncode, 0, f"A: zstd -t on seq {m['seq']}")
        ck.check(m["file"].endswith(f"-{m['seq']:08d}.ndjson.zst") and m["file"][:4].isdigit(),
                 f"A: file name {m['file']}")
    ck.eq(sum(m["count"] for m in segs), 4500, "A: the manifest counts every event")
    ck.eq(sorted(m["seq"] for m in segs), list(range(1, len(segs) + 1)), "A: seqs 1..n")
    chain_check(archive)

    times = sorted(e["@timestamp"] for e in events)
    lo, hi = times[1000], times[2500]
    sub = [x for x, e in zip(lines, events) if lo <= e["@timestamp"] < hi]
    ck.eq(cat(archive, "--from", lo, "--to", hi), b"".join(sub), "A: cat of a sub-range")
    ck.eq(len(sub), 1500, "A: the sub-range holds 1500 events")
    pods_only = [x for x, e in zip(lines, events) if t.get(e, "container.name") == "api"]
    ck.eq(cat(archive, "--where", "container.name=api"), b"".join(pods_only),
          "A: cat --where container.name=api")
    ck.eq(cat(archive, "--where", "process.pid=1007"),
          b"".join(x for x, e in zip(lines, events) if t.get(e, "process.pid") == 1007),
          "A: cat --where on a number")

    rc, out = verify(archive, "--pubkey", keys["a_pub"])
    ck.eq(rc, 0, f"A: verify exit code: {out[-1500:]}")
    ck.check(out.rstrip().endswith(": OK") and f"{len(segs)} segments verified (4500 events" in out,
             f"A: verify summary: {out[-600:]}")
    ck.check(f"{len(segs)} signatures verified" in out, f"A: every segment line signed: {out}")
    p = t.run_wharf(["archive", "verify", archive, "--json"])
    ev = json.loads(p.stdout)
    ck.eq((t.get(ev, "event.dataset"), t.get(ev, "event.outcome"), t.get(ev, "event.action")),
          ("wharf.audit", "success", "archive-verify"), "A: verify --json ECS fields")
    ck.eq((t.get(ev, "wharf.archive.segments"), t.get(ev, "wharf.archive.events"),
           t.get(ev, "wharf.archive.problems")), (len(segs), 4500, []), "A: verify --json counts")

    return s, archive, segs


def part_a_skip():
    """A range reads only the segments it meets: garbage in a segment outside
    it is never read. Docker alone, so that segments follow each other in
    time."""
    s = t.Setup("archive-a2")
    docker = t.DockerHost(s.path("docker"))
    base = 1_780_000_000 * 1_000_000
    docker.add("shop").append(b"".join(
        t.docker_line(f"docker {i} {noise(i)}\n", time=jl.rfc3339_us(base + i * MINUTE_US))
        for i in range(3000)))
    archive = s.path("archive")
    s.config([{"type": "docker", "id": "docker", "root": docker.root, "read_from": "beginning"}],
             [{"type": "file", "id": "out", "path": s.out}, archive_output(archive)])
    t.oneshot(s.cfg)
    segs = segments(archive)
    ck.check(len(segs) >= 2, f"A2: several segments ({len(segs)})")
    last = segs[-1]
    with open(seg_path(archive, last), "r+b") as f:
        f.write(b"\0" * 64)
    with open(s.out, "rb") as f:
        lines = f.read().splitlines(keepends=True)
    want = b"".join(x for x in lines if json.loads(x)["@timestamp"] < last["first"])
    ck.check(len(want) > 0, "A2: events before the last segment")
    ck.eq(cat(archive, "--to", last["first"]), want,
          "A2: cat of an earlier range does not touch the damaged last segment")
    p = t.run_wharf(["archive", "cat", archive])
    ck.eq(p.returncode, 1, "A2: cat of everything reports the damaged segment")
    ck.check(last["file"] in p.stderr.decode(errors="replace"),
             f"A2: and names it: {p.stderr[-400:]}")
    expect_fail(archive, "modified_segment", [last["file"], f"seq {last['seq']}"],
                "A2: the damaged segment")


def fresh_copy(src, name):
    dst = t.tmpdir(f"wharf-it-archive-{name}-")
    shutil.rmtree(dst)
    shutil.copytree(src, dst)
    return dst


def rewrite_manifest(path, fn):
    mp = os.path.join(path, "MANIFEST.jsonl")
    with open(mp, "rb") as f:
        lines = f.read().splitlines(keepends=True)
    with open(mp, "wb") as f:
        f.write(fn(lines))


def part_b(good, segs, keys):
    rc, out = verify(good, "--pubkey", keys["a_pub"])
    ck.eq(rc, 0, f"B: the pristine copy verifies: {out[-800:]}")
    m2, m3 = segs[1], segs[2]

    d = fresh_copy(good, "flip")
    with open(seg_path(d, m2), "r+b") as f:
        f.seek(m2["bytes"] // 2)
        b = f.read(1)
        f.seek(m2["bytes"] // 2)
        f.write(bytes([b[0] ^ 0x01]))
    expect_fail(d, "modified_segment", [m2["file"], f"seq {m2['seq']}", m2["sha256"]], "B flip")

    d = fresh_copy(good, "delete")
    os.unlink(seg_path(d, m3))
    expect_fail(d, "missing_segment", [m3["file"], f"seq {m3['seq']}"], "B delete")

    d = fresh_copy(good, "swap")
    a, b = seg_path(d, m2), seg_path(d, m3)
    os.rename(a, a + ".tmp")
    os.rename(b, a)
    os.rename(a + ".tmp", b)
    expect_fail(d, "swapped_segment", [m2["file"], f"content of seq {m3['seq']}"], "B swap 2")
    expect_fail(d, "swapped_segment", [m3["file"], f"content of seq {m2['seq']}"], "B swap 3")

    d = fresh_copy(good, "edit")

    def edit(lines):
        obj = json.loads(lines[2])
        obj["count"] += 1
        lines[2] = json.dumps(obj, separators=(",", ":")).encode() + b"\n"
        return b"".join(lines)
    rewrite_manifest(d, edit)
    expect_fail(d, "edited_line", ["manifest line 3", f"seq {m2['seq']}"], "B edit")

    d = fresh_copy(good, "cut")
    rewrite_manifest(d, lambda lines: b"".join(lines)[:-20])
    expect_fail(d, "truncated_manifest", ["incomplete line"], "B cut mid-line")

    d = fresh_copy(good, "cut2")
    rewrite_manifest(d, lambda lines: b"".join(lines[:-2]))
    removed = [json.loads(x) for x in open(os.path.join(good, "MANIFEST.jsonl"), "rb")
               .read().splitlines()[-2:]]
    for m in removed:
        if m["type"] == "segment":
            expect_fail(d, "unlisted_segment", [m["file"]], f"B cut lines: seq {m['seq']}")

    d = fresh_copy(good, "reorder")
    rewrite_manifest(d, lambda lines: b"".join(lines[:2] + [lines[3], lines[2]] + lines[4:]))
    expect_fail(d, "reordered_lines", ["manifest line 4", f"seq {m2['seq']}"], "B reorder")

    d = fresh_copy(good, "forge")
    last = segments(d)[-1]
    forged_rel = last["file"].replace(f"-{last['seq']:08d}.", f"-{last['seq'] + 1:08d}.")
    fake = b'{"@timestamp":"2026-01-01T00:00:00.000000000Z","message":"forged"}\n'
    subprocess.run(["zstd", "-q", "-o", os.path.join(d, forged_rel)], input=fake, check=True)
    expect_fail(d, "unlisted_segment", [forged_rel], "B forged segment")

    rc, out = verify(good, "--pubkey", keys["b_pub"])
    ck.eq(rc, 1, "B: verify with another key: exit code")
    ck.check("FAIL bad_signature:" in out and "not by the --pubkey key" in out,
             f"B: another key is named: {out[-800:]}")

    d = fresh_copy(good, "resign")
    chain_file = os.path.join(d, "chain.txt")

    def resign(lines):
        obj = json.loads(lines[1])
        with open(chain_file, "w") as f:
            f.write(obj["chain"])
        sig = subprocess.run(["openssl", "pkeyutl", "-sign", "-rawin", "-inkey", keys["b"],
                              "-in", chain_file], capture_output=True, check=True).stdout
        obj["sig"] = base64.b64encode(sig).decode()
        lines[1] = json.dumps(obj, separators=(",", ":")).encode() + b"\n"
        return b"".join(lines)
    rewrite_manifest(d, resign)
    os.unlink(chain_file)
    expect_fail(d, "bad_signature", ["manifest line 2"], "B: a signature made with another key",
                "--pubkey", keys["a_pub"])

    # the documented signature check with openssl alone
    m = segments(good)[0]
    cf, sf = os.path.join(keys["dir"], "c"), os.path.join(keys["dir"], "s")
    with open(cf, "w") as f:
        f.write(m["chain"])
    with open(sf, "wb") as f:
        f.write(base64.b64decode(m["sig"]))
    p = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", keys["a_pub"],
                        "-rawin", "-in", cf, "-sigfile", sf], capture_output=True)
    ck.eq(p.returncode, 0, f"B: openssl verifies a signature: {p.stdout} {p.stderr}")


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
    return keys


def part_c():
    s = t.Setup("archive-c")
    docker = t.DockerHost(s.path("docker"))
    app = docker.add("app")
    archive = s.path("archive")
    inputs = [{"type": "docker", "id": "docker", "root": docker.root, "read_from": "beginning"}]
    s.config(inputs, [archive_output(archive, roll={"max_age": "1s"}, retention="2s",
                                     flush_interval="100ms")])
    live = t.Live(s.cfg, s.log)
    for i in range(4):
        app.append(b"".join(t.docker_line(f"c {i} {j}\n") for j in range(50)))
        time.sleep(1.3)
    ck.eq(live.term(), 0, "C: SIGTERM exit code")
    before = segments(archive)
    ck.check(len(before) >= 3, f"C: several segments rolled by age ({len(before)})")
    time.sleep(2.5)
    app.append(b"".join(t.docker_line(f"c late {j}\n") for j in range(10)))
    t.oneshot(s.cfg)  # retention is looked at on start
    lines = manifest(archive)
    prunes = [m for m in lines if m["type"] == "prune"]
    ck.eq(len(prunes), 1, "C: one prune line")
    if prunes:
        ck.eq((prunes[0]["from"], prunes[0]["to"]), (before[0]["seq"], before[-1]["seq"]),
              "C: the prune covers every segment older than retention")
        for m in before:
            ck.check(not os.path.exists(seg_path(archive, m)), f"C: {m['file']} deleted")
    rc, out = verify(archive)
    ck.eq(rc, 0, f"C: verify after pruning: {out[-800:]}")
    ck.check(f"{len(before)} pruned by retention" in out, f"C: verify counts the pruned: {out}")
    chain_check(archive)
    got = [json.loads(x)["message"] for x in cat(archive).splitlines()]
    ck.eq(got, [f"c late {j}" for j in range(10)], "C: cat gives the kept events")


def part_d():
    s = t.Setup("archive-d")
    docker = t.DockerHost(s.path("docker"))
    app = docker.add("app")
    archive = s.path("archive")
    s.config([{"type": "docker", "id": "docker", "root": docker.root, "read_from": "beginning"}],
             [archive_output(archive, roll={"max_size": "256MiB"}, flush_interval="100ms")])
    live = t.Live(s.cfg, s.log)
    total = 0
    for i in range(6):
        app.append(b"".join(t.docker_line(f"d {total + j}\n") for j in range(2000)))
        total += 2000
        time.sleep(0.3)
    opened = t.wait_until(lambda: [p for p in glob.glob(os.path.join(archive, "*", "*", "*",
                                                                     "*.open"))
                                   if os.path.getsize(p) > 0], 10)
    ck.check(bool(opened), "D: a segment is open and has frames")
    live.kill9()
    if opened:
        with open(opened[0], "ab") as f:
            f.write(b"\x28\xb5\x2f\xfd" + b"torn frame")  # a frame cut short
    p = t.oneshot(s.cfg)
    err = p.stderr.decode(errors="replace")
    ck.check("finishing an archive segment left open" in err, f"D: the recovery is logged: {err}")
    ck.eq(glob.glob(os.path.join(archive, "*", "*", "*", "*.open")), [], "D: no .open file left")
    rc, out = verify(archive)
    ck.eq(rc, 0, f"D: verify after the crash: {out[-800:]}")
    got = [json.loads(x)["message"] for x in cat(archive).splitlines()]
    missing = set(f"d {i}" for i in range(total)) - set(got)
    ck.eq(sorted(missing), [], "D: no event missing")
    ck.note(f"D: {len(got)} events archived for {total} written ({len(got) - total} twice)")


def main():
    keys = make_keys()
    _, good, segs = part_a(keys)
    part_a_skip()
    part_b(good, segs, keys)
    part_c()
    part_d()
    ck.finish()


if __name__ == "__main__":
    main()
