"""Disk buffer: kill -9 in a loop while 1,000,000 lines are written.

A writer appends 1,000,000 numbered lines ("n=123456", line n to container
c<n % 20>) across 20 Docker containers in ~30 s, while wharf runs live with a
disk buffer (segment_size 1MiB, max_size 64MiB) and a file output, and is
killed with SIGKILL at random moments (at least 10 times; the seed is
printed) and started again each time. After the writer finished and the
output stopped growing, wharf is stopped with SIGTERM (exit 0) and:

- every number is in the output at least once;
- no "corrupt" record is reported (a kill can only tear the last commit);
- every output line is JSON, and its message, container.name, container.id,
  log.file.path and @timestamp are exactly those of its number's line;
- duplicates (printed) stay within the documented in-flight bound: per kill,
  the events of the last 250 ms of cursor progress plus one 1 MiB block per
  output, asserted as <= kills * 20000; no number more than 1 + kills times;
- input positions are committed with the events (guarantee 1), so no line
  is committed to the buffer twice: `wharf buffer stat --json` counts
  exactly 1,000,000 events (next_event) and the output's cursor is at the
  end (event 1,000,000, lag 0); there is no positions.json any more.
"""
import array
import faulthandler
import json
import multiprocessing
import os
import random
import re
import signal
import threading
import time

import bufferlib as b
import wharflib as w

TOTAL = int(os.environ.get("CRASH_LOOP_LINES", "1000000"))
CONTAINERS = 20
WRITE_SECONDS = 30.0
MIN_KILLS = 10
SEED = int(os.environ.get("CRASH_LOOP_SEED", str(int(time.time()))))
TS = "2026-11-20T08:00:00.000000001Z"

f = w.Failures("buffer_crash_loop")


def parse_range(args):
    """Worker: (numbers, problems) for the lines in bytes [start, end)."""
    path, start, end, paths = args
    nums = array.array("l")
    problems = []
    num = re.compile(r"n=(\d+)$")
    with open(path, "rb") as fh:
        fh.seek(start)
        data = fh.read(end - start)
    lines = data.split(b"\n")
    if lines[-1]:
        problems.append(f"partial last line at byte {end - len(lines[-1])}: {lines[-1][:100]!r}")
    del lines[-1]
    for raw in lines:
        try:
            e = json.loads(raw)
        except ValueError as ex:
            if len(problems) < 20:
                problems.append(f"line is not JSON ({ex}): {raw[:160]!r}")
            continue
        msg = e.get("message")
        m = num.match(msg) if isinstance(msg, str) else None
        if not m:
            if len(problems) < 20:
                problems.append(f"unexpected message {msg!r}")
            continue
        n = int(m.group(1))
        nums.append(n)
        k = n % CONTAINERS
        c = e.get("container") or {}
        want = (f"c{k:02d}", w.cid(k + 1), paths[k], TS)
        got = (c.get("name"), c.get("id"), ((e.get("log") or {}).get("file") or {}).get("path"),
               e.get("@timestamp"))
        if got != want and len(problems) < 20:
            problems.append(f"n={n}: (container.name, container.id, log.file.path, "
                            f"@timestamp) = {got}, want {want}")
    return nums, problems


def split_points(path, parts):
    size = os.path.getsize(path)
    points = [0]
    with open(path, "rb") as fh:
        for i in range(1, parts):
            fh.seek(size * i // parts)
            fh.readline()
            points.append(min(fh.tell(), size))
    points.append(size)
    return points


def main():
    root = w.tmpdir()
    containers = os.path.join(root, "containers")
    paths = [w.docker_container(containers, w.cid(k + 1), f"c{k:02d}") for k in range(CONTAINERS)]
    for p in paths:
        open(p, "wb").close()
    out = os.path.join(root, "out.ndjson")
    data = os.path.join(root, "data")
    cfg = os.path.join(root, "wharf.yaml")
    log = os.path.join(root, "wharf.log")
    b.write_config(cfg, data, [{"type": "docker", "id": "docker", "root": containers,
                                "read_from": "beginning", "rescan_interval": "500ms"}],
                   [("out", out)], {"segment_size": "1MiB", "max_size": "64MiB"})
    rng = random.Random(SEED)
    print(f"seed {SEED} (CRASH_LOOP_SEED to repeat), {TOTAL} lines, {CONTAINERS} containers, "
          f"dir {root}")

    done = threading.Event()
    wrote = {}

    def writer():
        fhs = [open(p, "ab", buffering=0) for p in paths]
        t0 = time.time()
        chunk = 2000
        for c0 in range(0, TOTAL, chunk):
            bufs = [[] for _ in range(CONTAINERS)]
            for n in range(c0, min(c0 + chunk, TOTAL)):
                bufs[n % CONTAINERS].append(w.docker_record(f"n={n}\n", ts=TS))
            for k in range(CONTAINERS):
                fhs[k].write(b"".join(bufs[k]))
            ahead = t0 + WRITE_SECONDS * (c0 + chunk) / TOTAL - time.time()
            if ahead > 0:
                time.sleep(ahead)
        for fh in fhs:
            fh.close()
        wrote["seconds"] = time.time() - t0
        done.set()

    t_start = time.time()
    proc = b.start(cfg, log)
    t = threading.Thread(target=writer, daemon=True)
    t.start()
    kills = 0
    exits = []
    while not done.is_set() or kills < MIN_KILLS:
        time.sleep(rng.uniform(0.3, 3.0))
        rc = proc.poll()
        if rc is not None:
            exits.append(rc)  # died on its own: a failure, reported below
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kills += 1
        proc = b.start(cfg, log)
    t.join()
    f.eq(exits, [], "wharf exited by itself between kills (exit codes)")
    n_out = b.wait_lines(out, TOTAL, 90, settle=3.0)
    rc = w.stop(proc)
    f.eq(rc, 0, "exit status after SIGTERM")
    elapsed = time.time() - t_start

    st = b.stat(cfg)
    o = b.output_stat(st, "out")
    f.eq(st.get("next_event"), TOTAL, "buffer stat next_event (events committed; a line "
         "committed twice means positions and events were not one commit)")
    f.eq((o.get("event"), o.get("lag_events"), o.get("lag_bytes"), o.get("dropped_events")),
         (TOTAL, 0, 0, 0), "output cursor after SIGTERM: (event, lag_events, lag_bytes, dropped)")
    f.check(not os.path.exists(os.path.join(data, "positions.json")),
            "data_dir/positions.json exists: positions must live in the buffer's checkpoints")
    bdir = os.path.join(data, "buffer")
    segs = sorted(os.listdir(bdir)) if os.path.isdir(bdir) else []
    f.check("cursors.json" in segs, f"no data_dir/buffer/cursors.json (it holds {segs[:10]})")
    bad_names = [s for s in segs if s != "cursors.json" and not re.fullmatch(r"\d{16}\.wal", s)
                 and not s.startswith("cursors.json")]
    f.eq(bad_names, [], "unexpected files in data_dir/buffer")
    # kill -9 can tear the last commit (cut and re-read at start), but never
    # damage a record in the middle.
    corrupt = [kv["_line"] for kv in w.log_lines(log, "corrupt")]
    f.eq(corrupt[:3], [], "'corrupt' log lines after kill -9 restarts")
    torn = len(w.log_lines(log, "torn"))

    # Parse the output (~900 MB) on both cores.
    t0 = time.time()
    pts = split_points(out, 8)
    counts = array.array("l", bytes(8 * TOTAL))
    problems = []
    other = 0
    # spawn, not fork: a forked worker can inherit a lock some thread held
    # and never start (one CI run hung here for the rest of its 600 s); a
    # part that takes more than 300 s is reported, not waited on.
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        parts = pool.imap(parse_range, [(out, pts[i], pts[i + 1], paths)
                                        for i in range(len(pts) - 1)])
        for _ in range(len(pts) - 1):
            try:
                nums, probs = parts.next(timeout=300)
            except multiprocessing.TimeoutError:
                f.check(False, "parsing the output: a part took over 300 s")
                break
            problems += probs
            for n in nums:
                if 0 <= n < TOTAL:
                    counts[n] += 1
                else:
                    other += 1
    parse_s = time.time() - t0
    for p in problems[:20]:
        f.check(False, p)
    f.eq(other, 0, "output lines with a number never written")
    missing = [n for n in range(TOTAL) if counts[n] == 0]
    lines = sum(counts)
    dup = lines - (TOTAL - len(missing))
    worst = max(counts)
    print(f"wrote {TOTAL} lines in {wrote.get('seconds', 0):.1f}s; kill -9 x{kills}; output "
          f"{n_out} lines; missing {len(missing)}; duplicates {dup} (bound {kills * 20000}, "
          f"{dup / max(kills, 1):.0f} per kill); max copies of one line {worst}; torn commits cut "
          f"at start {torn}; "
          f"wall {elapsed:.1f}s + parse {parse_s:.1f}s")
    f.check(kills >= MIN_KILLS, f"only {kills} kills")
    f.check(not missing, f"{len(missing)} numbers missing: {b.ranges(missing)}")
    f.check(dup <= kills * 20000, f"{dup} duplicates exceed the in-flight bound "
            f"kills * 20000 = {kills * 20000}")
    f.check(worst <= 1 + kills, f"a line arrived {worst} times (more than 1 + kills)")
    if f.items:
        for kv in w.log_lines(log, "level=error")[:10]:
            print("  log: " + kv["_line"])
        if not b.KEEP:
            os.unlink(out)  # ~1 GB; the rest stays in root for a look
        print(f"kept {root}")
    else:
        b.rmtree(root)
    f.finish(f"{TOTAL} lines, {kills} kills, {dup} duplicates")


if __name__ == "__main__":
    # Normally done in ~45 s; if it ever hangs again, say where before
    # ctest's 600 s timeout kills it silently.
    faulthandler.dump_traceback_later(480, exit=False)
    main()
