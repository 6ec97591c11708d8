"""Disk buffer: two outputs, one stuck on a full disk, each with its own cursor.

Output "stuck" is a file on a tmpfs, output "good" a file on the normal
disk; three containers write numbered lines with random text.

A. The tmpfs is full from the start (a filler file takes every page). 2,000
   lines exist when wharf starts, 6,000 more are written while it runs:
   - "good" receives every one of the 8,000 lines exactly once, with its
     exact text and container fields, while "stuck" has nothing (it is not
     held back by the other output);
   - `wharf buffer stat --json`: "stuck" lag_events = 8,000 = the lines it
     misses (event 0, lag_bytes > 0), "good" event 8,000 and lag 0,
     next_event 8,000, nothing dropped;
   - after the filler is deleted "stuck" catches up from its cursor (retry
     with backoff) and has every line exactly once with the right fields.
B. The tmpfs is filled again; now "stuck"'s file has slack in its last page,
   so its next write ends short (ENOSPC in the middle of a block). 4,000 more
   lines: "good" has all 12,000 exactly once; "stuck" has only complete JSON
   lines, nothing twice, and lag_events = 12,000 - its acknowledged event;
   the complete lines it has beyond that event (the written part of the
   block that failed, not acknowledged) are printed and stay within one
   block. After the filler is deleted it has every line exactly once (the
   block is finished, not re-sent). SIGTERM: exit 0, both cursors at 12,000,
   lag 0.
"""
import os
import random
import time

import bufferlib as b
import wharflib as w

CONTAINERS = 3
FIRST = 2000
TOTAL_A = 8000
TOTAL = 12000
SEED = int(os.environ.get("TWO_OUTPUTS_SEED", str(int(time.time()))))
rng = random.Random(SEED)
f = w.Failures("buffer_two_outputs")
TEXT = {n: f"n={n} {b.random_text(rng, rng.randrange(20, 300))}" for n in range(TOTAL)}


def expect(n):
    k = n % CONTAINERS
    return {"message": TEXT[n], "container.name": f"app{k}", "container.id": w.cid(k + 1),
            "stream": "stdout"}


def check_once(name, got, problems, want):
    for p in problems:
        f.check(False, f"{name}: {p}")
    missing = sorted(set(want) - set(got))
    extra = sorted(set(got) - set(want))
    dups = sorted(n for n, c in got.items() if c > 1)
    f.check(not missing, f"{name}: {len(missing)} lines missing: {b.ranges(missing)}")
    f.check(not extra, f"{name}: unexpected lines: {b.ranges(extra)}")
    f.check(not dups, f"{name}: {len(dups)} lines more than once: {b.ranges(dups)}")
    return missing, dups


def main():
    t_start = time.time()
    root = w.tmpdir()
    print(f"seed {SEED} (TWO_OUTPUTS_SEED to repeat), dir {root}")
    containers = os.path.join(root, "containers")
    paths = [w.docker_container(containers, w.cid(k + 1), f"app{k}") for k in range(CONTAINERS)]
    for p in paths:
        open(p, "wb").close()
    mnt = os.path.join(root, "mnt")
    stuck = os.path.join(mnt, "stuck.ndjson")
    good = os.path.join(root, "good.ndjson")
    cfg = os.path.join(root, "wharf.yaml")
    log = os.path.join(root, "wharf.log")
    b.write_config(cfg, os.path.join(root, "data"),
                   [{"type": "docker", "id": "docker", "root": containers,
                     "read_from": "beginning", "rescan_interval": "500ms"}],
                   [("stuck", stuck), ("good", good)],
                   {"segment_size": "1MiB", "max_size": "256MiB"})

    def write(lo, hi, bursts=1):
        step = (hi - lo + bursts - 1) // bursts
        for s in range(lo, hi, step):
            per = [[] for _ in range(CONTAINERS)]
            for n in range(s, min(s + step, hi)):
                per[n % CONTAINERS].append(w.docker_record(TEXT[n] + "\n"))
            for p, recs in zip(paths, per):
                with open(p, "ab") as fh:
                    fh.write(b"".join(recs))
            if bursts > 1:
                time.sleep(0.25)

    with b.FullTmpfs(mnt, "32m") as fs:
        # A: stuck's disk is full from the start.
        write(0, FIRST)
        proc = b.start(cfg, log)
        t0 = time.time()
        write(FIRST, TOTAL_A, bursts=12)
        n_good = b.wait_lines(good, TOTAL_A, 30)
        took = time.time() - t0
        f.eq(n_good, TOTAL_A, "A: good: lines while stuck's disk is full")
        got, problems = b.scan_output(good, expect)
        check_once("A: good (while stuck is stuck)", got, problems, range(TOTAL_A))
        f.eq(b.complete_lines(stuck), 0, "A: stuck: lines on its full disk")
        print(f"A: good received all {n_good} lines {took:.1f}s after the writes started; "
              f"stuck has {b.complete_lines(stuck)}")

        def settled(want_stuck, total):
            def pred(st):
                s, g = b.output_stat(st, "stuck"), b.output_stat(st, "good")
                return s.get("lag_events") == want_stuck and g.get("lag_events") == 0 and \
                    st.get("next_event") == total
            return pred
        st = b.wait_stat(cfg, settled(TOTAL_A, TOTAL_A), 5)
        s, g = b.output_stat(st, "stuck"), b.output_stat(st, "good")
        print(f"A: stat while stuck: next_event {st.get('next_event')}, stuck event "
              f"{s.get('event')} lag {s.get('lag_events')} events / {s.get('lag_bytes')} bytes, "
              f"good event {g.get('event')} lag {g.get('lag_events')}")
        f.eq(st.get("next_event"), TOTAL_A, "A: stat while stuck: next_event")
        f.eq((s.get("event"), s.get("lag_events")), (0, TOTAL_A),
             "A: stat while stuck: stuck (event, lag_events = lines it misses)")
        f.check((s.get("lag_bytes") or 0) > 0, f"A: stat while stuck: stuck lag_bytes "
                f"{s.get('lag_bytes')}")
        f.eq((g.get("event"), g.get("lag_events"), g.get("lag_bytes")), (TOTAL_A, 0, 0),
             "A: stat while stuck: good (event, lag_events, lag_bytes)")
        f.eq((s.get("dropped_events"), g.get("dropped_events")), (0, 0), "A: dropped_events")
        f.check(proc.poll() is None, "A: wharf exited while an output was stuck")

        fs.free()
        t1 = time.time()
        b.wait_stat(cfg, lambda st: b.output_stat(st, "stuck").get("lag_events") == 0, 60)
        n_stuck = b.wait_lines(stuck, TOTAL_A, 30)
        caught_a = time.time() - t1
        f.eq(n_stuck, TOTAL_A, "A: stuck: lines after its disk has room again")
        sgot, sproblems = b.scan_output(stuck, expect)
        check_once("A: stuck (after catching up)", sgot, sproblems, range(TOTAL_A))
        print(f"A: stuck caught up {caught_a:.1f}s after its disk had room")

        # B: full again, with slack in stuck's last page: a short write.
        fs.fill()
        write(TOTAL_A, TOTAL, bursts=8)
        n_good = b.wait_lines(good, TOTAL, 30)
        f.eq(n_good, TOTAL, "B: good: lines while stuck's disk is full")
        got, problems = b.scan_output(good, expect)
        check_once("B: good (while stuck is stuck)", got, problems, range(TOTAL))
        sgot, sproblems = b.scan_output(stuck, expect, only_complete=True)
        have = sum(sgot.values())
        check_once("B: stuck (while its disk is full)", sgot, sproblems,
                   set(sgot) & set(range(TOTAL)))
        f.eq(sorted(set(range(TOTAL_A)) - set(sgot)), [], "B: stuck: lines of A missing")
        st = b.wait_stat(cfg, lambda st: st.get("next_event") == TOTAL and
                         b.output_stat(st, "good").get("lag_events") == 0, 5)
        s = b.output_stat(st, "stuck")
        acked = s.get("event")
        print(f"B: stuck has {have} complete lines, acknowledged event {acked}, lag "
              f"{s.get('lag_events')}: {have - (acked or 0)} lines of a partly written block")
        f.eq(s.get("lag_events"), TOTAL - (acked or 0), "B: stuck lag_events = next_event - event")
        f.check(acked is not None and TOTAL_A <= acked <= have,
                f"B: stuck acknowledged event {acked} outside [{TOTAL_A}, {have} lines it has]")
        f.check(have - (acked or 0) <= (1 << 20) // 900,
                f"B: stuck has {have - (acked or 0)} unacknowledged lines: more than one block")
        f.check(have < TOTAL, "B: stuck got every line although its disk is full")

        fs.free()
        t1 = time.time()
        b.wait_stat(cfg, lambda st: b.output_stat(st, "stuck").get("lag_events") == 0, 60)
        n_stuck = b.wait_lines(stuck, TOTAL, 30)
        caught = time.time() - t1
        f.eq(n_stuck, TOTAL, "B: stuck: lines after its disk has room again")
        f.eq(w.stop(proc), 0, "exit status after SIGTERM")
        sgot, sproblems = b.scan_output(stuck, expect)
        ggot, gproblems = b.scan_output(good, expect)
    check_once("B: stuck (after catching up)", sgot, sproblems, range(TOTAL))
    check_once("B: good (at the end)", ggot, gproblems, range(TOTAL))
    st = b.stat(cfg)
    for oid in ("stuck", "good"):
        o = b.output_stat(st, oid)
        f.eq((o.get("event"), o.get("lag_events"), o.get("lag_bytes"), o.get("dropped_events")),
             (TOTAL, 0, 0, 0), f"{oid} after SIGTERM: (event, lag_events, lag_bytes, dropped)")
    print(f"B: stuck caught up {caught:.1f}s after its disk had room; "
          f"total {time.time() - t_start:.1f}s")
    if not f.items:
        b.rmtree(root)
    f.finish(f"{TOTAL} lines, stuck output caught up in {caught:.1f}s")


if __name__ == "__main__":
    main()
