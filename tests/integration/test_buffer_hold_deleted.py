"""Disk buffer: max_hold_deleted lets go of deleted files while inputs pause.

The only output is a file on a full tmpfs, so the buffer fills and, with
when_full: block, the input stops reading. The container's log file is then
deleted (as `docker rm` does) while wharf still holds it open. After
max_hold_deleted (1s here) wharf must close it: the file no longer appears
among wharf's open descriptors, and the log line reports exactly the bytes
it never read (`lost_bytes` = file size - bytes of the lines that were
emitted). Once the output has room, exactly those emitted lines arrive, in
order, once each.
"""
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
        st = b.wait_stat(cfg, lambda s: b.output_stat(s, "out").get("lag_events") == 0 and
                         s.get("next_event", 0) > 0, 60)
        emitted = st.get("next_event", 0)
        n = b.wait_lines(out, emitted, 30)
        f.eq(w.stop(proc), 0, "exit status after SIGTERM")
        got = [int(e.get("message", "n=-1").split(" ", 1)[0][2:]) for e in w.read_events(out)]
    diff = next((i for i, (a, c) in enumerate(zip(got, range(emitted))) if a != c), None)
    f.check(len(got) == emitted and diff is None,
            f"delivered {len(got)} lines, want lines 0..{emitted - 1} in order"
            f"{'' if diff is None else f'; first difference at position {diff}'}")
    lost_logged = [int(kv.get("lost_bytes", -1)) for kv in
                   w.log_lines(log, "let go of a deleted log file")]
    read_bytes = sum(len(r) for r in records[:emitted])
    f.eq(lost_logged, [size - read_bytes], "lost_bytes reported (file size - bytes emitted)")
    f.check(0 < emitted < LINES, f"{emitted} of {LINES} lines emitted: the input should have "
            "paused before the end of the file")
    print(f"seed {SEED}: {emitted} of {LINES} lines emitted before the pause, {n} delivered, "
          f"{size - read_bytes} bytes reported lost")
    if not f.items:
        b.rmtree(root)
    f.finish(f"{emitted} lines delivered, {size - read_bytes} bytes lost and reported")


if __name__ == "__main__":
    main()
