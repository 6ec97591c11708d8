"""Restarts: kill -9 mid-run, clean SIGTERM, and read_from: end.

A writer keeps appending numbered lines to two containers while wharf is
killed with SIGKILL three times and restarted: no number may be missing
(lines read after the last positions save may repeat; the count is printed
and bounded). A SIGTERM restart must neither lose nor repeat anything.
read_from: end skips what existed at the first start only.
"""
import collections
import os
import re
import signal
import threading
import time

import wharflib as w

f = w.Failures("restart")


def numbers(out):
    c = collections.Counter()
    for e in w.read_events(out):
        m = re.match(r"n=(\d+)$", e["message"])
        if m:
            c[int(m.group(1))] += 1
    return c


def setup(read_from="beginning"):
    root = w.tmpdir()
    containers = os.path.join(root, "containers")
    paths = [w.docker_container(containers, w.cid(k + 1), f"c{k}") for k in range(2)]
    out = os.path.join(root, "out.ndjson")
    cfg = os.path.join(root, "wharf.yaml")
    w.write_config(cfg, os.path.join(root, "data"), [{
        "type": "docker", "id": "docker", "root": containers, "read_from": read_from}], out)
    return root, paths, out, cfg


def kill_loop():
    root, paths, out, cfg = setup()
    total = 60000
    done = threading.Event()

    def writer():
        fhs = [open(p, "ab", buffering=0) for p in paths]
        for n in range(total):
            fhs[n % 2].write(w.docker_record(f"n={n}\n"))
            if n % 500 == 0:
                time.sleep(0.01)
        for fh in fhs:
            fh.close()
        done.set()

    t = threading.Thread(target=writer)
    log = os.path.join(root, "wharf.log")
    proc = w.start(cfg, log)
    t.start()
    kills = 0
    while kills < 3:
        time.sleep(1.0 + 0.4 * kills)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kills += 1
        ran = w.count_running(log)
        proc = w.start(cfg, log)
    t.join()
    w.wait_stable(out, total, 60)
    # the output may be whole before the last start has got that far
    f.check(w.wait_running(log, ran), "the last start never said 'running'")
    f.eq(w.stop(proc), 0, "exit status after SIGTERM")
    got = numbers(out)
    missing = sorted(set(range(total)) - set(got))
    dup = sum(v - 1 for v in got.values())
    print(f"kill -9 x{kills}: {total} lines, missing {len(missing)}, duplicates {dup}")
    f.eq(missing[:10], [], "numbers missing after kill -9 restarts")
    # Positions are saved every 250 ms: what was read since then repeats. The
    # writer adds ~50,000 lines/s at most, so ~12,500 per kill bounds it.
    f.check(dup <= kills * 12500, f"{dup} duplicates exceed the documented bound")


def clean_restart():
    root, paths, out, cfg = setup()
    with open(paths[0], "ab") as fh:
        for n in range(1000):
            fh.write(w.docker_record(f"n={n}\n"))
    proc = w.start(cfg, os.path.join(root, "wharf.log"))
    w.wait_stable(out, 1000, 30)
    f.eq(w.stop(proc), 0, "first SIGTERM")
    with open(paths[0], "ab") as fh:
        for n in range(1000, 2000):
            fh.write(w.docker_record(f"n={n}\n"))
    proc = w.start(cfg, os.path.join(root, "wharf.log"))
    w.wait_stable(out, 2000, 30)
    f.eq(w.stop(proc), 0, "second SIGTERM")
    got = numbers(out)
    f.eq((len(got), sum(got.values())), (2000, 2000), "SIGTERM restart: (distinct, total)")


def read_from_end():
    root, paths, out, cfg = setup("end")
    with open(paths[0], "ab") as fh:
        for n in range(100):
            fh.write(w.docker_record(f"n={n}\n"))
    w.oneshot(cfg)
    f.eq(w.count_lines(out), 0, "read_from end: existing lines skipped")
    with open(paths[0], "ab") as fh:
        for n in range(100, 110):
            fh.write(w.docker_record(f"n={n}\n"))
    # A container that appears after the first start is read from its start.
    late = w.docker_container(os.path.dirname(os.path.dirname(paths[0])), w.cid(9), "late")
    with open(late, "ab") as fh:
        for n in range(200, 205):
            fh.write(w.docker_record(f"n={n}\n"))
    w.oneshot(cfg)
    f.eq(sorted(numbers(out)), list(range(100, 110)) + list(range(200, 205)),
         "read_from end: later lines and later files")


kill_loop()
clean_restart()
read_from_end()
f.finish("kill -9, SIGTERM, read_from end")
