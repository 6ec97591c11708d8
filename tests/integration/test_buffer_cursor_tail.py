"""Disk buffer: a cursor saved between a commit's events and its checkpoint.

A commit is two records: its events, then the input positions (a checkpoint
record, no events). An output's cursor is saved where the output has got to;
when a delivery slice ended on the events record, a save put the cursor
between the two, and a kill -9 before the next save left it there. The next
run passes the checkpoint record, but nothing was written to the output, so
its cursor was never saved again: `wharf buffer stat` showed the checkpoint
as lag bytes for good, and it held its segment on disk.

Here the cursors of a file output (synchronous) and an archive output
(asynchronous: it confirms what it made durable) are put there by hand, as
that kill leaves them, and a run with nothing new must move both to the end
without sending anything again.
"""
import json
import os
import shutil

import bufferlib as b
import wharflib as w

f = w.Failures("buffer_cursor_tail")


def main():
    root = w.tmpdir()
    containers = os.path.join(root, "containers")
    log_path = w.docker_container(containers, w.cid(1), "app")
    with open(log_path, "wb") as fh:
        fh.write(b"".join(w.docker_record(f"line {i}\n") for i in range(10)))
    out = os.path.join(root, "out.ndjson")
    archive = os.path.join(root, "archive")
    cfg = os.path.join(root, "wharf.yaml")
    w.write_config(cfg, os.path.join(root, "data"),
                   [{"type": "docker", "id": "docker", "root": containers,
                     "read_from": "beginning"}], out,
                   f"  - {{type: archive, id: arch, path: {json.dumps(archive)}}}\n")
    w.oneshot(cfg)

    st = b.stat(cfg, records=True)
    recs = [(r["segment"], r["offset"], r["type"], r["bytes"]) for r in st.get("records", [])]
    events = [r for r in recs if r[2] == "events"]
    f.eq(len(events), 1, f"events records after the first run: {recs}")
    seg, off = events[-1][:2] if events else (0, 0)
    after = [r for r in recs if r[0] == seg and r[1] > off]
    f.check(after and after[0][2] == "checkpoint", f"a checkpoint after the events: {recs}")
    between = after[0][1] if after else 0
    end = st.get("total_bytes")

    path = os.path.join(root, "data", "buffer", "cursors.json")
    with open(path) as fh:
        saved = json.load(fh)
    for o in saved["outputs"]:
        f.eq((o["segment"], o["offset"], o["event"]), (seg, end, 10), f"{o['id']} after run 1")
        o["offset"] = between
    with open(path, "w") as fh:
        json.dump(saved, fh)
    st = b.stat(cfg)
    for oid in ("out", "arch"):
        f.eq(b.output_stat(st, oid).get("lag_bytes"), end - between,
             f"{oid}: lag bytes with the cursor before the checkpoint")

    w.oneshot(cfg)
    st = b.stat(cfg)
    for oid in ("out", "arch"):
        o = b.output_stat(st, oid)
        f.eq((o.get("offset"), o.get("event"), o.get("lag_events"), o.get("lag_bytes")),
             (end, 10, 0, 0), f"{oid}: cursor after a run with nothing new")
    f.eq(w.count_lines(out), 10, "lines in the file output (none sent again)")
    if not f.items:
        shutil.rmtree(root, ignore_errors=True)
    f.finish(f"both cursors passed the {end - between}-byte checkpoint")


if __name__ == "__main__":
    main()
