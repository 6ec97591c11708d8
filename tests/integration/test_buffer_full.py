"""Disk buffer: a full buffer (when_full: block and drop_oldest).

The only output is a file on a tmpfs filled by a filler file (ENOSPC), so
nothing leaves the buffer (segment_size 256KiB, max_size 1MiB). Four
containers hold 24,000 lines with 200 random characters each, several times
what the buffer holds even compressed.

block: wharf reads until the buffer is full and stops reading: `wharf
  buffer stat --json` stays within max_size + one segment, its event count
  stops below the line count, the output has nothing, the stuck output's
  lag is everything committed. Then the filler is deleted: the output
  catches up, the inputs resume, the buffer never grows past the bound on
  the way, and every line arrives (at least once; duplicates printed) with
  its exact text and container; nothing is dropped.
drop_oldest: wharf reads everything (next_event = line count), deleting the
  oldest segments on the way; after the filler is deleted and wharf stopped,
  the output's dropped_events equals the number of lines missing from the
  output, the "dropped" log lines (output=out events=N) add up to it, the
  lines that did arrive came once each, and what was dropped is the oldest:
  per container, the delivered lines are the newest ones, without gaps.
"""
import os
import random
import time

import bufferlib as b
import wharflib as w

CONTAINERS = 4
TOTAL = 24000
SEGMENT = 256 * 1024
MAX = 1024 * 1024
SEED = int(os.environ.get("BUFFER_FULL_SEED", str(int(time.time()))))
rng = random.Random(SEED)
f = w.Failures("buffer_full")
TEXT = {n: f"n={n} {b.random_text(rng, 200)}" for n in range(TOTAL)}


def expect(n):
    k = n % CONTAINERS
    return {"message": TEXT[n], "container.name": f"c{k}", "container.id": w.cid(k + 1)}


def setup(name, when_full):
    root = w.tmpdir()
    containers = os.path.join(root, "containers")
    paths = [w.docker_container(containers, w.cid(k + 1), f"c{k}") for k in range(CONTAINERS)]
    per = [[] for _ in range(CONTAINERS)]
    for n in range(TOTAL):
        per[n % CONTAINERS].append(w.docker_record(TEXT[n] + "\n"))
    for p, recs in zip(paths, per):
        with open(p, "wb") as fh:
            fh.write(b"".join(recs))
    mnt = os.path.join(root, "mnt")
    out = os.path.join(mnt, "out.ndjson")
    cfg = os.path.join(root, "wharf.yaml")
    b.write_config(cfg, os.path.join(root, "data"),
                   [{"type": "docker", "id": "docker", "root": containers,
                     "read_from": "beginning"}],
                   [("out", out)],
                   {"segment_size": "256KiB", "max_size": "1MiB", "when_full": when_full})
    return root, mnt, out, cfg, os.path.join(root, "wharf.log")


def settle(cfg, key, timeout=30, quiet=3.0):
    """Polls stat until st[key] has not changed for `quiet` s. Returns
    (last stat, largest total_bytes seen)."""
    deadline = time.time() + timeout
    st = b.stat(cfg)
    last, since, peak = st.get(key), time.time(), st.get("total_bytes", 0)
    while time.time() < deadline:
        time.sleep(0.3)
        st = b.stat(cfg)
        peak = max(peak, st.get("total_bytes", 0))
        if st.get(key) != last:
            last, since = st.get(key), time.time()
        elif time.time() - since >= quiet:
            break
    return st, peak


def block():
    root, mnt, out, cfg, log = setup("block", "block")
    with b.FullTmpfs(mnt, "64m") as fs:
        proc = b.start(cfg, log)
        w.wait_for(lambda: os.path.isdir(os.path.join(root, "data", "buffer")), 10)
        st, peak = settle(cfg, "next_event")
        o = b.output_stat(st, "out")
        committed = st.get("next_event", 0)
        print(f"block: buffer full at {st.get('total_bytes')} bytes in "
              f"{len(st.get('segments', []))} segments, {committed} of {TOTAL} lines committed, "
              f"compression ratio {st.get('compression_ratio')}")
        f.check(peak <= MAX + SEGMENT, f"block: buffer grew to {peak} bytes, over max_size + "
                f"one segment ({MAX + SEGMENT})")
        f.check(st.get("total_bytes", 0) > MAX - 2 * SEGMENT,
                f"block: buffer stopped at {st.get('total_bytes')} bytes, far below max_size")
        f.check(0 < committed < TOTAL, f"block: {committed} of {TOTAL} lines committed: the "
                "inputs should have stopped reading at max_size")
        f.eq(st.get("events"), committed, "block: events in the buffer (nothing may be dropped)")
        f.eq((o.get("event"), o.get("lag_events"), o.get("dropped_events")), (0, committed, 0),
             "block: stuck output (event, lag_events, dropped_events)")
        f.eq(b.complete_lines(out), 0, "block: lines in the output while its disk is full")
        f.check(proc.poll() is None, "block: wharf exited while the buffer was full")

        fs.free()
        t0 = time.time()
        peak = 0
        while time.time() - t0 < 60:
            st = b.stat(cfg)
            peak = max(peak, st.get("total_bytes", 0))
            o = b.output_stat(st, "out")
            if st.get("next_event") == TOTAL and o.get("lag_events") == 0 and \
                    b.complete_lines(out) >= TOTAL:
                break
            time.sleep(0.3)
        caught = time.time() - t0
        f.check(peak <= MAX + SEGMENT, f"block: while draining the buffer grew to {peak} bytes")
        n = b.wait_lines(out, TOTAL, 30)
        f.eq(w.stop(proc), 0, "block: exit status after SIGTERM")
        st = b.stat(cfg)
        o = b.output_stat(st, "out")
        f.eq((st.get("next_event"), o.get("event"), o.get("lag_events"), o.get("dropped_events")),
             (TOTAL, TOTAL, 0, 0), "block: after catching up (next_event, event, lag, dropped)")
        got, problems = b.scan_output(out, expect)
    for p in problems:
        f.check(False, "block: " + p)
    missing = sorted(set(range(TOTAL)) - set(got))
    dup = sum(got.values()) - len(got)
    print(f"block: output caught up in {caught:.1f}s after the disk had room: {n} lines, "
          f"missing {len(missing)}, duplicates {dup}")
    f.check(not missing, f"block: {len(missing)} lines missing: {b.ranges(missing)}")
    f.eq(sorted(set(got) - set(range(TOTAL))), [], "block: unknown lines")
    f.eq(w.log_lines(log, "dropped"), [], "block: 'dropped' log lines (block never drops)")
    if not f.items:
        b.rmtree(root)


def drop_oldest():
    root, mnt, out, cfg, log = setup("drop", "drop_oldest")
    with b.FullTmpfs(mnt, "64m") as fs:
        proc = b.start(cfg, log)
        w.wait_for(lambda: os.path.isdir(os.path.join(root, "data", "buffer")), 10)
        st, peak = settle(cfg, "next_event")
        o = b.output_stat(st, "out")
        print(f"drop_oldest: {st.get('next_event')} of {TOTAL} lines committed, buffer "
              f"{st.get('total_bytes')} bytes, {st.get('events')} events in it, output dropped "
              f"{o.get('dropped_events')}")
        f.eq(st.get("next_event"), TOTAL, "drop_oldest: lines committed (inputs never block)")
        f.check(peak <= MAX + SEGMENT, f"drop_oldest: buffer grew to {peak} bytes")
        f.check(0 < st.get("events", 0) < TOTAL, f"drop_oldest: {st.get('events')} events "
                "left in the buffer: the oldest should have been dropped")
        f.eq((o.get("dropped_events", 0) + o.get("lag_events", 0), o.get("lag_events")),
             (TOTAL, st.get("events")), "drop_oldest: stuck output (dropped_events + "
             "lag_events, lag_events): every line is dropped or waits in the buffer")
        f.eq(b.complete_lines(out), 0, "drop_oldest: lines in the output while its disk is full")
        left = o.get("lag_events", 0)
        fs.free()
        b.wait_stat(cfg, lambda s: b.output_stat(s, "out").get("lag_events") == 0, 60)
        n = b.wait_lines(out, left, 30)
        f.eq(w.stop(proc), 0, "drop_oldest: exit status after SIGTERM")
        st = b.stat(cfg)
        got, problems = b.scan_output(out, expect)
    o = b.output_stat(st, "out")
    dropped = o.get("dropped_events")
    for p in problems:
        f.check(False, "drop_oldest: " + p)
    missing = sorted(set(range(TOTAL)) - set(got))
    dup = sum(got.values()) - len(got)
    logged = w.log_lines(log, "dropped")
    logged_sum = sum(b.to_int(kv.get("events")) or 0 for kv in logged if kv.get("output") == "out")
    print(f"drop_oldest: output {n} lines, missing {len(missing)}, dropped_events {dropped}, "
          f"'dropped' log lines {len(logged)} adding up to {logged_sum}, duplicates {dup}")
    f.check(dropped and dropped > 0, f"drop_oldest: dropped_events {dropped}")
    f.eq(dropped, len(missing), "drop_oldest: dropped_events vs lines missing from the output")
    f.eq((o.get("event"), o.get("lag_events")), (TOTAL, 0), "drop_oldest: cursor at the end")
    f.check(logged, "drop_oldest: no log line containing 'dropped'")
    f.eq(logged_sum, dropped, "drop_oldest: sum of events= over 'dropped' log lines with "
         "output=out")
    f.eq(dup, 0, "drop_oldest: duplicates (nothing was killed)")
    f.eq(sorted(set(got) - set(range(TOTAL))), [], "drop_oldest: unknown lines")
    # Oldest first: per container the delivered lines are its newest ones.
    for k in range(CONTAINERS):
        mine = [n for n in range(k, TOTAL, CONTAINERS)]
        have = [n in got for n in mine]
        first = have.index(True) if True in have else len(have)
        gaps = [mine[i] for i in range(first, len(mine)) if not have[i]]
        f.check(not gaps, f"drop_oldest: c{k}: lines missing after delivered ones (not the "
                f"oldest): {b.ranges(gaps)}")
    if not f.items:
        b.rmtree(root)


def main():
    t0 = time.time()
    print(f"seed {SEED} (BUFFER_FULL_SEED to repeat)")
    block()
    t1 = time.time()
    drop_oldest()
    f.finish(f"block {t1 - t0:.1f}s, drop_oldest {time.time() - t1:.1f}s")


if __name__ == "__main__":
    main()
