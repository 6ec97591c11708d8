"""Rotation under load, with wharf running live.

A writer appends 200,000 numbered lines across three containers and rotates
every 20,000 lines per container:
  docker:       rename <id>-json.log -> .1 (shifting .1 -> .2 ...), new file
  kubelet:      rename 0.log -> 0.log.<timestamp>; the runtime writes a few
                more lines into the renamed file before it reopens 0.log
  copytruncate: shift .N, copy the file to a new .1, truncate it in place
Every number must arrive exactly once for rename rotation. For copytruncate,
lines written between the copy and the truncation are lost by design of
copytruncate itself; the test prints how many and bounds them.
"""
import collections
import os
import re
import shutil
import time

import wharflib as w

TOTAL = int(os.environ.get("ROTATION_LINES", "200000"))
EVERY = 20000
f = w.Failures("rotation")


def writer_docker(paths, rotate):
    fhs = [open(p, "ab") for p in paths]
    counts = [0] * len(paths)
    for n in range(TOTAL):
        k = n % len(paths)
        fhs[k].write(w.docker_record(f"n={n} some payload to make it realistic\n"))
        counts[k] += 1
        if counts[k] % EVERY == 0:
            fhs[k].flush()
            fhs[k] = rotate(paths[k], fhs[k])
    for fh in fhs:
        fh.close()


def rotate_docker(path, fh):
    fh.close()
    for i in range(20, 0, -1):
        if os.path.exists(f"{path}.{i}"):
            os.rename(f"{path}.{i}", f"{path}.{i + 1}")
    os.rename(path, path + ".1")
    return open(path, "ab")


def rotate_copytruncate(path, fh):
    # As logrotate does: shift the old copies, copy to a new .1, truncate.
    for i in range(20, 0, -1):
        if os.path.exists(f"{path}.{i}"):
            os.rename(f"{path}.{i}", f"{path}.{i + 1}")
    shutil.copyfile(path, path + ".1")
    with open(path, "r+b") as t:
        t.truncate(0)
    return fh  # O_APPEND: the writer goes on at the new end


def numbers(out):
    c = collections.Counter()
    for e in w.read_events(out):
        m = re.match(r"n=(\d+) ", e["message"])
        if m:
            c[int(m.group(1))] += 1
    return c


def run_docker(mode):
    root = w.tmpdir()
    containers = os.path.join(root, "containers")
    paths = [w.docker_container(containers, w.cid(k + 1), f"c{k}") for k in range(3)]
    for p in paths:
        open(p, "wb").close()
    out = os.path.join(root, "out.ndjson")
    cfg = os.path.join(root, "wharf.yaml")
    w.write_config(cfg, os.path.join(root, "data"), [{
        "type": "docker", "id": "docker", "root": containers, "read_from": "beginning",
        "rotate_wait": "1s"}], out)
    proc = w.start(cfg, os.path.join(root, "wharf.log"))
    time.sleep(0.5)
    t0 = time.time()
    writer_docker(paths, rotate_docker if mode == "docker" else rotate_copytruncate)
    wrote = time.time() - t0
    n = w.wait_stable(out, TOTAL, 90)
    f.eq(w.stop(proc), 0, f"{mode}: exit status after SIGTERM")
    return numbers(out), wrote, n


def run_kubelet():
    root = w.tmpdir()
    paths = [w.pod_dir(root, "ns", f"pod{k}", f"uid{k}", "app") for k in range(3)]
    for p in paths:
        open(p, "wb").close()
    out = os.path.join(root, "out.ndjson")
    cfg = os.path.join(root, "wharf.yaml")
    w.write_config(cfg, os.path.join(root, "data"), [{
        "type": "cri", "id": "pods", "paths": [os.path.join(root, "pods/*/*/*.log")],
        "read_from": "beginning", "rotate_wait": "1s"}], out)
    proc = w.start(cfg, os.path.join(root, "wharf.log"))
    time.sleep(0.5)
    fhs = [open(p, "ab") for p in paths]
    counts = [0] * 3
    late = [[] for _ in range(3)]  # renamed files the runtime still writes into
    for n in range(TOTAL):
        k = n % 3
        line = f"2026-11-20T08:00:00.{n:09d}Z stdout F n={n} some payload\n".encode()
        if late[k]:
            late[k][0].write(line)
            late[k][1] -= 1
            if late[k][1] == 0:
                late[k][0].close()
                late[k] = []
                fhs[k] = open(paths[k], "ab")
        else:
            fhs[k].write(line)
        counts[k] += 1
        if counts[k] % EVERY == 0 and not late[k]:
            fhs[k].flush()
            os.rename(paths[k], f"{paths[k]}.20261120-0800{counts[k] // EVERY:02d}")
            late[k] = [fhs[k], 50]
    for fh in fhs:
        fh.close()
    for l in late:
        if l:
            l[0].close()
    n = w.wait_stable(out, TOTAL, 90)
    f.eq(w.stop(proc), 0, "kubelet: exit status after SIGTERM")
    return numbers(out), n


def main():
    got, wrote, n = run_docker("docker")
    missing = TOTAL - len(got)
    dup = sum(v - 1 for v in got.values())
    print(f"docker rename: wrote {TOTAL} lines in {wrote:.1f}s, events {n}, "
          f"missing {missing}, duplicates {dup}")
    f.eq((missing, dup), (0, 0), "docker rename rotation: (missing, duplicates)")

    got, n = run_kubelet()
    missing = TOTAL - len(got)
    dup = sum(v - 1 for v in got.values())
    print(f"kubelet rename: events {n}, missing {missing}, duplicates {dup}")
    f.eq((missing, dup), (0, 0), "kubelet rotation: (missing, duplicates)")

    got, wrote, n = run_docker("copytruncate")
    missing = TOTAL - len(got)
    dup = sum(v - 1 for v in got.values())
    print(f"copytruncate: events {n}, missing {missing} (lost in the copy/truncate race), "
          f"duplicates {dup}")
    f.check(missing <= TOTAL // 100, f"copytruncate lost {missing} lines, over 1%")
    f.check(dup <= TOTAL // 100, f"copytruncate duplicated {dup} lines, over 1%")
    f.finish(f"{TOTAL} lines per scenario")


main()
