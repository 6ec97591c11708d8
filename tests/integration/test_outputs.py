"""Outputs: the file output appends across runs and reopens on SIGHUP
(logrotate's rename + HUP), and stdout carries the same bytes as the file."""
import os
import signal

import wharflib as w

f = w.Failures("outputs")
root = w.tmpdir()
containers = os.path.join(root, "containers")
log = w.docker_container(containers, w.cid(1), "app")
out = os.path.join(root, "out.ndjson")
cfg = os.path.join(root, "wharf.yaml")
w.write_config(cfg, os.path.join(root, "data"), [{
    "type": "docker", "id": "docker", "root": containers, "read_from": "beginning"}], out,
    extra_outputs="  - type: stdout\n    id: console\n")


def append(first, last):
    with open(log, "ab") as fh:
        for n in range(first, last):
            fh.write(w.docker_record(f"n={n}\n"))


append(0, 10)
p = w.oneshot(cfg)
f.eq(p.stdout, open(out, "rb").read(), "stdout equals the file output")
append(10, 20)
w.oneshot(cfg)
f.eq([e["message"] for e in w.read_events(out)], [f"n={n}" for n in range(20)],
     "file output appends across runs")

# logrotate: rename the output, SIGHUP, new events go to a new file.
wharf_log = os.path.join(root, "wharf.log")
proc = w.start(cfg, wharf_log)
w.wait_running(wharf_log)
os.rename(out, out + ".1")
proc.send_signal(signal.SIGHUP)
w.wait_for(lambda: w.log_lines(wharf_log, 'msg="configuration reloaded"'), 15)
append(20, 30)
w.wait_for(lambda: w.count_lines(out) >= 10, 15)
f.eq(w.stop(proc), 0, "exit after SIGTERM")
f.eq([e["message"] for e in w.read_events(out)], [f"n={n}" for n in range(20, 30)],
     "events after SIGHUP in the reopened file")
f.eq(w.count_lines(out + ".1"), 20, "rotated output kept its events")
f.finish("append, stdout, SIGHUP reopen")
