"""Disk buffer: recovery after power loss (torn tails, corrupt records,
damaged segment files).

One container writes numbered lines "n=<n> pad=<random>" in 24 rounds; after
each round `wharf run --oneshot` commits them into the buffer (segment_size
64KiB, so several segments of several commits) while the only output is a
file on a full tmpfs: every oneshot must exit 1 and deliver nothing, so all
lines stay in the buffer (checked: `wharf buffer stat --json --records`
against an independent reader of the segment files: headers, record layout,
CRC-32C, zstd payloads holding exactly the events numbered first_event..).

Then, each case on a fresh copy of that data_dir, with a working output
(same output id, so the saved cursor applies), `wharf run --oneshot` must
exit 0 and:
(a) last segment truncated inside a record (checkpoint payload, events
    header, events payload, checkpoint header, 4 random offsets): every line exactly
    once (the cut commits are re-read from the container log, not lost and
    not committed twice: next_event is the line count), a "torn" log line
    naming the segment and the offset where the torn commit starts;
(b) random bytes flipped inside one events record in the middle of a
    segment (payload; CRC field): a "corrupt" log line with segment=,
    offset= (the record's) and bytes= (the record's); exactly that record's
    events (first_event..first_event+events-1) are missing, everything else
    arrives exactly once; `buffer stat` counts the corrupt record first;
(c) an extra segment file with a garbage header, (d) an extra zero-length
    segment file: wharf starts, every line exactly once, the file is named in
    the log, and lines appended later are delivered too;
(e) a garbage header on an existing segment: wharf starts, every line not in
    that segment arrives exactly once, none more than once.
"""
import json
import os
import random
import shutil
import time

import bufferlib as b
import wharflib as w

ROUNDS = 24
PER_ROUND = 125
N = ROUNDS * PER_ROUND
LATER = 100  # lines appended after recovery for (c) and (d)
SEED = int(os.environ.get("RECOVERY_SEED", str(int(time.time()))))
rng = random.Random(SEED)
f = w.Failures("buffer_recovery")
TEXT = {n: f"n={n} pad={b.random_text(rng, 60)}" for n in range(N + LATER)}

root = w.tmpdir()
containers = os.path.join(root, "containers")
src = w.docker_container(containers, w.cid(1), "c00")
INPUTS = [{"type": "docker", "id": "docker", "root": containers, "read_from": "beginning"}]
BUFFER = {"segment_size": "64KiB", "max_size": "64MiB"}


def expect(n):
    return {"message": TEXT[n], "container.name": "c00", "container.id": w.cid(1)}


def append_lines(lo, hi):
    with open(src, "ab") as fh:
        fh.write(b"".join(w.docker_record(TEXT[n] + "\n") for n in range(lo, hi)))


def produce():
    """Commits N lines into pristine data_dir with the output stuck on ENOSPC."""
    data = os.path.join(root, "data")
    full = os.path.join(root, "full")
    cfg = os.path.join(root, "produce.yaml")
    out = os.path.join(full, "out.ndjson")
    b.write_config(cfg, data, INPUTS, [("out", out)], BUFFER)
    rcs = []
    t0 = time.time()
    with b.FullTmpfs(full, "4m"), open(os.path.join(root, "produce.log"), "ab") as log:
        for r in range(ROUNDS):
            append_lines(r * PER_ROUND, (r + 1) * PER_ROUND)
            p = w.oneshot(cfg, check=False)
            log.write(p.stderr)
            rcs.append(p.returncode)
        f.eq(sorted(set(rcs)), [1], "oneshot exit status while the only output fails (ENOSPC)")
        f.eq(b.complete_lines(out), 0, "lines in the output on the full tmpfs")
        st = b.stat(cfg, records=True)
    print(f"produced {N} lines in {ROUNDS} oneshot rounds ({time.time() - t0:.1f}s)")
    return data, st


def check_layout(data, st):
    """stat --records agrees with the segment files and the contract."""
    bdir = os.path.join(data, "buffer")
    f.eq(os.path.realpath(st.get("dir", "")), os.path.realpath(bdir), "stat dir")
    o = b.output_stat(st, "out")
    f.eq((st.get("events"), st.get("next_event")), (N, N), "stat (events, next_event)")
    f.eq((o.get("event"), o.get("lag_events"), o.get("dropped_events")), (0, N, 0),
         "stuck output: (event, lag_events, dropped_events)")
    segs = st.get("segments", [])
    f.check(len(segs) >= 3, f"only {len(segs)} segments: the test needs several")
    f.eq(o.get("segment"), segs[0]["seq"] if segs else None, "stuck output's cursor segment")
    files = sorted(x for x in os.listdir(bdir) if x.endswith(".wal"))
    f.eq([s["file"] for s in segs], files, "segments listed vs files in the buffer dir")
    sizes = {x: os.path.getsize(os.path.join(bdir, x)) for x in files}
    f.eq(st.get("total_bytes"), sum(sizes.values()), "total_bytes vs file sizes")
    f.eq(sum(s["events"] for s in segs), N, "sum of segment events")
    recs = st.get("records", [])
    by_seg = {}
    for r in recs:
        by_seg.setdefault(r["segment"], []).append(r)
    next_first, raw = 0, 0
    for s in segs:
        f.eq(s["file"], b.segment_name(s["seq"]), "segment file name")
        f.eq(s["bytes"], sizes.get(s["file"]), f"{s['file']}: bytes")
        f.eq(s["corrupt_records"], 0, f"{s['file']}: corrupt_records")
        rs = by_seg.get(s["seq"], [])
        f.eq(len(rs), s["records"], f"{s['file']}: records listed vs counted")
        if rs:
            f.eq((rs[0]["offset"], rs[0]["type"]), (16, "checkpoint"),
                 f"{s['file']}: first record (offset, type)")
        header_ok, mine, end = b.read_segment(os.path.join(bdir, s["file"]))
        f.check(header_ok, f"{s['file']}: segment header is not WHARFWAL + version + 0")
        f.eq(end, s["bytes"], f"{s['file']}: independent reader stops at")
        # first_event is compared for events records only: for a checkpoint
        # (no events) stat prints 0, as in the contract's example.
        f.eq([(r["offset"], r["type"], r["bytes"], r["events"],
               r["first_event"] if r["type"] == "events" else None) for r in rs],
             [(m.offset, {1: "events", 2: "checkpoint"}.get(m.type, m.type),
               32 + m.length, m.events, m.first if m.type == b.EVENTS else None) for m in mine],
             f"{s['file']}: records (offset, type, bytes, events, first_event) vs the file")
        prev = None
        for m in mine:
            f.check(m.crc_ok, f"{s['file']}@{m.offset}: CRC-32C mismatch")
            if m.type == b.EVENTS:
                f.eq(m.first, next_first, f"{s['file']}@{m.offset}: first event")
                body = b.zstd_decompress(m.payload, m.raw_length)
                lines = body.decode().splitlines()
                want = [TEXT[n] for n in range(m.first, m.first + m.events)]
                f.eq([json.loads(x)["message"] for x in lines], want,
                     f"{s['file']}@{m.offset}: decompressed events")
                next_first += m.events
                raw += m.raw_length
            elif m.type == b.CHECKPOINT:
                f.eq(m.events, 0, f"{s['file']}@{m.offset}: checkpoint events")
                f.eq(m.first, next_first, f"{s['file']}@{m.offset}: checkpoint's next event")
                if m.payload:  # empty before the first commit
                    json.loads(m.payload)  # positions as JSON
            if prev is not None and prev.type == b.EVENTS:
                f.eq(m.type, b.CHECKPOINT, f"{s['file']}@{m.offset}: record after events")
            prev = m
        if mine:
            f.eq(mine[-1].type, b.CHECKPOINT, f"{s['file']}: last record (a commit ends in "
                 "its checkpoint)")
    f.eq(next_first, N, "events in the segment files")
    f.eq(st.get("raw_bytes"), raw, "raw_bytes (uncompressed NDJSON)")
    if st.get("stored_bytes"):
        ratio = st["raw_bytes"] / st["stored_bytes"]
        f.check(abs(st.get("compression_ratio", 0) - ratio) < 0.01 * ratio + 0.01,
                f"compression_ratio {st.get('compression_ratio')} vs raw/stored {ratio:.2f}")
        f.check(ratio > 1.0, f"compression ratio {ratio:.2f}: the events were not compressed")


class Case:
    def __init__(self, name, pristine):
        self.name = name
        self.dir = os.path.join(root, "case-" + name)
        self.data = os.path.join(self.dir, "data")
        shutil.copytree(pristine, self.data)
        self.bdir = os.path.join(self.data, "buffer")
        self.out = os.path.join(self.dir, "out.ndjson")
        self.cfg = os.path.join(self.dir, "wharf.yaml")
        self.log = os.path.join(self.dir, "wharf.log")
        b.write_config(self.cfg, self.data, INPUTS, [("out", self.out)], BUFFER)

    def seg(self, seq):
        return os.path.join(self.bdir, b.segment_name(seq))

    def run(self):
        p = w.oneshot(self.cfg, check=False)
        with open(self.log, "ab") as fh:
            fh.write(p.stderr)
        f.eq(p.returncode, 0, f"{self.name}: oneshot exit status (wharf must start and deliver)")
        if p.returncode != 0:
            print(f"{self.name}: stderr: {p.stderr.decode(errors='replace')[-1500:]}")
        got, problems = b.scan_output(self.out, expect)
        for pr in problems[:5]:
            f.check(False, f"{self.name}: {pr}")
        return got

    def exactly(self, got, want, what="every line exactly once"):
        missing = sorted(set(want) - set(got))
        extra = sorted(set(got) - set(want))
        dups = sorted(n for n, c in got.items() if c > 1)
        f.check(not missing, f"{self.name}: {len(missing)} lines missing: {b.ranges(missing)}")
        f.check(not extra, f"{self.name}: {len(extra)} lines that should be missing arrived: "
                f"{b.ranges(extra)}")
        f.check(not dups, f"{self.name}: {len(dups)} lines more than once ({what}): "
                f"{b.ranges(dups)}")

    def check_cursor_end(self, total):
        st = b.stat(self.cfg)
        o = b.output_stat(st, "out")
        f.eq((st.get("next_event"), o.get("event"), o.get("lag_events")), (total, total, 0),
             f"{self.name}: after recovery (next_event, out.event, out.lag_events)")


def truncation_cases(pristine, st):
    segs = st["segments"]
    last = segs[-1]["seq"]
    recs = [r for r in st["records"] if r["segment"] == last]
    size = segs[-1]["bytes"]
    events = [i for i, r in enumerate(recs) if r["type"] == "events"]
    cps = [i for i, r in enumerate(recs) if r["type"] == "checkpoint" and i > 0]
    if not events or not cps:
        f.check(False, f"last segment has no commit to tear: {recs}")
        return

    def commit_start(i):
        # The commit a record belongs to starts at its events record.
        return recs[i - 1]["offset"] if recs[i]["type"] == "checkpoint" and \
            recs[i - 1]["type"] == "events" else recs[i]["offset"]

    picks = []
    i = len(recs) - 1
    payload = rng.randrange(1, recs[i]["bytes"] - 32)
    picks.append(("cp-payload", i, recs[i]["offset"] + 32 + payload))
    i = rng.choice(events)
    picks.append(("ev-header", i, recs[i]["offset"] + rng.randrange(1, 32)))
    i = rng.choice(events)
    payload = rng.randrange(1, recs[i]["bytes"] - 32)
    picks.append(("ev-payload", i, recs[i]["offset"] + 32 + payload))
    i = rng.choice(cps)
    picks.append(("cp-header", i, recs[i]["offset"] + rng.randrange(1, 32)))
    bounds = {r["offset"] for r in recs} | {size}
    for _ in range(4):
        cut = rng.randrange(17, size)
        while cut in bounds:
            cut = rng.randrange(17, size)
        i = max(k for k, r in enumerate(recs) if r["offset"] < cut)
        picks.append(("random", i, cut))

    for label, i, cut in picks:
        c = Case(f"torn-{label}@{cut}", pristine)
        os.truncate(c.seg(last), cut)
        got = c.run()
        c.exactly(got, range(N), "cut commits re-read from the source, not committed twice")
        torn = [kv for kv in w.log_lines(c.log, "torn")]
        ok_offsets = {recs[i]["offset"], commit_start(i)}
        good = [kv for kv in torn if b.segment_matches(kv.get("segment"), last)
                and b.to_int(kv.get("offset")) in ok_offsets]
        f.check(good, f"{c.name}: no log line with 'torn' segment={b.segment_name(last)} "
                f"offset in {sorted(ok_offsets)}; 'torn' lines: "
                f"{[kv['_line'] for kv in torn][:3]}")
        c.check_cursor_end(N)


def corruption_cases(pristine, st):
    segs = st["segments"]
    recs = st["records"]
    # An events record with more records after it in its segment, preferably
    # not in the last segment.
    cands = []
    for k, r in enumerate(recs):
        if r["type"] == "events" and k + 2 < len(recs) and recs[k + 2]["segment"] == r["segment"] \
                and r["first_event"] > 0:
            cands.append(r)
    not_last = [r for r in cands if r["segment"] != segs[-1]["seq"]]
    if not cands:
        f.check(False, "no events record in the middle of a segment")
        return
    for label in ("payload", "crc"):
        r = rng.choice(not_last or cands)
        c = Case(f"corrupt-{label}-seg{r['segment']}@{r['offset']}", pristine)
        with open(c.seg(r["segment"]), "r+b") as fh:
            if label == "payload":
                spots = rng.sample(range(r["offset"] + 32, r["offset"] + r["bytes"]),
                                   min(8, r["bytes"] - 32))
            else:
                spots = [r["offset"] + 8 + rng.randrange(4)]
            for pos in spots:
                fh.seek(pos)
                old = fh.read(1)[0]
                fh.seek(pos)
                fh.write(bytes([old ^ rng.randrange(1, 256)]))
        lost = set(range(r["first_event"], r["first_event"] + r["events"]))
        seg_before = next(s for s in segs if s["seq"] == r["segment"])
        st2 = b.stat(c.cfg)
        seg_after = next((s for s in st2.get("segments", []) if s["seq"] == r["segment"]), {})
        f.eq((seg_after.get("corrupt_records"), seg_after.get("events")),
             (1, seg_before["events"] - r["events"]),
             f"{c.name}: buffer stat of the damaged segment (corrupt_records, events)")
        got = c.run()
        c.exactly(got, set(range(N)) - lost)
        lines = w.log_lines(c.log, "corrupt")
        good = [kv for kv in lines if b.segment_matches(kv.get("segment"), r["segment"])
                and b.to_int(kv.get("offset")) == r["offset"]
                and b.to_int(kv.get("bytes")) == r["bytes"]]
        f.check(good, f"{c.name}: no log line with 'corrupt' segment={b.segment_name(r['segment'])}"
                f" offset={r['offset']} bytes={r['bytes']}; 'corrupt' lines: "
                f"{[kv['_line'] for kv in lines][:3]}")
        c.check_cursor_end(N)
        print(f"{c.name}: lost exactly lines {b.ranges(lost)} as expected"
              if not set(got) & lost and len(got) == N - len(lost) else f"{c.name}: see failures")


def damaged_file_cases(pristine, st):
    segs = st["segments"]
    last = segs[-1]["seq"]
    later = []
    c = Case("garbage-header-new-segment", pristine)
    with open(c.seg(last + 1), "wb") as fh:
        fh.write(b"GARBAGE!" + bytes(rng.randrange(256) for _ in range(4000)))
    later.append((c, last + 1))
    c = Case("zero-length-new-segment", pristine)
    open(c.seg(last + 1), "wb").close()
    later.append((c, last + 1))
    for c, seq in later:
        got = c.run()
        c.exactly(got, range(N))
        named = [kv for kv in w.log_lines(c.log, b.segment_name(seq))]
        f.check(named, f"{c.name}: the log does not name {b.segment_name(seq)}")

    mid = segs[len(segs) // 2]
    c = Case(f"garbage-header-seg{mid['seq']}", pristine)
    with open(c.seg(mid["seq"]), "r+b") as fh:
        fh.write(b"NOTAWAL!" + bytes(rng.randrange(256) for _ in range(8)))
    in_seg = {r["first_event"] + k for r in st["records"]
              if r["segment"] == mid["seq"] and r["type"] == "events" for k in range(r["events"])}
    got = c.run()
    outside = set(range(N)) - in_seg
    missing = sorted(outside - set(got))
    dups = sorted(n for n, k in got.items() if k > 1)
    f.check(not missing, f"{c.name}: {len(missing)} lines outside the damaged segment missing: "
            f"{b.ranges(missing)}")
    f.check(not dups, f"{c.name}: lines more than once: {b.ranges(dups)}")
    f.eq(sorted(set(got) - set(range(N))), [], f"{c.name}: unknown lines")
    named = [kv for kv in w.log_lines(c.log, b.segment_name(mid["seq"]))]
    f.check(named, f"{c.name}: the log does not name {b.segment_name(mid['seq'])}")
    print(f"{c.name}: {len(set(got) & in_seg)} of the {len(in_seg)} lines in the segment "
          "with the damaged header were delivered")
    return later


def main():
    t0 = time.time()
    print(f"seed {SEED} (RECOVERY_SEED to repeat), dir {root}")
    pristine, st = produce()
    check_layout(pristine, st)
    if not st.get("records"):
        f.finish("no records to damage")
    truncation_cases(pristine, st)
    corruption_cases(pristine, st)
    later = damaged_file_cases(pristine, st)
    # The buffer keeps working after a damaged file: lines appended now are
    # delivered too.
    append_lines(N, N + LATER)
    for c, _ in later:
        c.exactly(c.run(), range(N + LATER), "after appending more lines")
        c.check_cursor_end(N + LATER)
    if not f.items:
        b.rmtree(root)
    f.finish(f"{N} lines; torn, corrupt and damaged-file cases; {time.time() - t0:.1f}s")


if __name__ == "__main__":
    main()
