"""Disk buffer: max_hold_deleted lets go of deleted files while inputs pause.

The only output is a file on a full tmpfs, so the buffer fills and, with
when_full: block, the input stops reading. The container's log file is then
deleted (as `docker rm` does) while wharf still holds it open. After
max_hold_deleted (1s here) wharf must close it: the file no longer appears
among wharf's open descriptors, and the log line reports exactly the bytes
it never read (`lost_bytes` = file size - bytes of the lines it read, which
end at a line). Once the output has room, exactly the lines it read arrive,
in order, once each: those still waiting in the paused input when the file
was let go included (a stat may show no lag before they are committed, so
the lines expected come from lost_bytes, not from the stat).
"""
import itertools
import os
import random
import time

import bufferlib as b
import wharflib as w

LINES = 20000
SEED = int(os.environ.get("HOLD_DELETED_SEED", str(int(time.time()))))
rng = random.Random(SEED)
f = w.Failures("buffer_hold_deleted")


def held_deleted(pid, path):
    fd_dir = f"/proc/{pid}/fd"
    for fd in os.listdir(fd_dir):
        try:
            target = os.readlink(os.path.join(fd_dir, fd))
        except OSError:
            continue
        if target.startswith(path):
            return True
    return False


def main():
    root = w.tmpdir()
    containers = os.path.join(root, "containers")
    log_path = w.docker_container(containers, w.cid(1), "app")
    records = [w.docker_record(f"n={n} {b.random_text(rng, 300)}\n") for n in range(LINES)]
    with open(log_path, "wb") as fh:
        fh.write(b"".join(records))
    size = os.path.getsize(log_path)
    mnt = os.path.join(root, "mnt")
    out = os.path.join(mnt, "out.ndjson")
    cfg = os.path.join(root, "wharf.yaml")
    log = os.path.join(root, "wharf.log")
    b.write_config(cfg, os.path.join(root, "data"),
                   [{"type": "docker", "id": "docker", "root": containers,
                     "read_from": "beginning"}],
                   [("out", out)],
                   {"segment_size": "64KiB", "max_size": "256KiB", "when_full": "block",
                    "max_hold_deleted": "1s"})
    with b.FullTmpfs(mnt, "16m") as fs:
        proc = b.start(cfg, log)
        w.wait_for(lambda: w.log_lines(log, "buffer full"), 20)
        f.check(w.log_lines(log, "buffer full"), "the buffer never filled")
        f.check(held_deleted(proc.pid, log_path), "wharf does not hold the log file open")
        os.unlink(log_path)
        let_go = w.wait_for(lambda: w.log_lines(log, "let go of a deleted log file"), 20)
        f.check(let_go, "no 'let go of a deleted log file' log line within 20 s")
        f.check(not held_deleted(proc.pid, log_path),
                "wharf still holds the deleted file open after max_hold_deleted")
        fs.free()
        lost_logged = [int(kv.get("lost_bytes", -1)) for kv in
                       w.log_lines(log, "let go of a deleted log file")]
        # What wharf read before letting go is the file minus lost_bytes,
        # and ends at a line: every line read is committed once the buffer
        # has room (some may still wait in the paused input now), none after.
        ends = list(itertools.accumulate(len(r) for r in records))
        read = size - lost_logged[0] if len(lost_logged) == 1 else -1
        emitted = ends.index(read) + 1 if read in ends else -1
        f.check(len(lost_logged) == 1, f"one 'let go' line with lost_bytes, got {lost_logged}")
        f.check(emitted > 0, f"lost_bytes {lost_logged} leaves {read} bytes read: not the end "
                "of a line")
        st = b.wait_stat(cfg, lambda s: b.output_stat(s, "out").get("lag_events") == 0 and
                         s.get("next_event", 0) == emitted, 60)
        f.eq(st.get("next_event"), emitted, "events in the buffer: the lines read before the "
             "file was let go")
        n = b.wait_lines(out, emitted, 30)
        f.eq(w.stop(proc), 0, "exit status after SIGTERM")
        got = [int(e.get("message", "n=-1").split(" ", 1)[0][2:]) for e in w.read_events(out)]
    diff = next((i for i, (a, c) in enumerate(zip(got, range(emitted))) if a != c), None)
    f.check(len(got) == emitted and diff is None,
            f"delivered {len(got)} lines, want lines 0..{emitted - 1} in order"
            f"{'' if diff is None else f'; first difference at position {diff}'}")
    f.check(0 < emitted < LINES, f"{emitted} of {LINES} lines emitted: the input should have "
            "paused before the end of the file")
    print(f"seed {SEED}: {emitted} of {LINES} lines read before the file was let go, "
          f"{n} delivered, {size - read} bytes reported lost")
    if not f.items:
        b.rmtree(root)
    f.finish(f"{emitted} lines delivered, {size - read} bytes lost and reported")


if __name__ == "__main__":
    main()
