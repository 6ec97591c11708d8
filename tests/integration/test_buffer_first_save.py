"""Disk buffer: an output's first cursor is saved before anything is committed.

Regression test. An output the buffer has not seen starts at the buffer's
end. Its cursor used to be saved only at the first 250 ms tick, so a kill -9
before that tick made the output "new" again at the next start: it started
at the end and skipped every event committed in between (found by the
kill -9 restart test under ASan, 5,920 lines missing).

Here the output's disk is full, so nothing leaves the buffer; wharf is
frozen (SIGSTOP) as soon as it logs "running" (its first read pass is
committed by then, the first tick is 250 ms away), killed, and restarted with
room on the disk: every line must arrive.
"""
import os
import signal
import time

import bufferlib as b
import wharflib as w

LINES = 3000
f = w.Failures("buffer_first_save")


def main():
    root = w.tmpdir()
    containers = os.path.join(root, "containers")
    path = w.docker_container(containers, w.cid(1), "app")
    with open(path, "wb") as fh:
        fh.write(b"".join(w.docker_record(f"n={n}\n") for n in range(LINES)))
    mnt = os.path.join(root, "mnt")
    out = os.path.join(mnt, "out.ndjson")
    cfg = os.path.join(root, "wharf.yaml")
    log = os.path.join(root, "wharf.log")
    b.write_config(cfg, os.path.join(root, "data"),
                   [{"type": "docker", "id": "docker", "root": containers,
                     "read_from": "beginning"}], [("out", out)])
    with b.FullTmpfs(mnt, "16m") as fs:
        proc = b.start(cfg, log)
        deadline = time.time() + 30
        while not w.log_lines(log, 'msg="running"') and time.time() < deadline:
            time.sleep(0.002)
        proc.send_signal(signal.SIGSTOP)
        cursors = os.path.join(root, "data", "buffer", "cursors.json")
        f.check(os.path.exists(cursors), "no cursors.json when wharf said 'running'")
        st = b.stat(cfg)
        f.eq((st.get("next_event"), b.output_stat(st, "out").get("event")), (LINES, 0),
             "at 'running': (events committed, the output's saved cursor)")
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        fs.free()
        p = w.oneshot(cfg, check=False)
        f.eq(p.returncode, 0, "oneshot after the restart: exit status")
        got = [e.get("message") for e in w.read_events(out)]
    f.eq(got, [f"n={n}" for n in range(LINES)], "lines delivered after kill -9 and restart")
    if not f.items:
        b.rmtree(root)
    f.finish(f"{len(got)} lines delivered after a kill before the first tick")


if __name__ == "__main__":
    main()
