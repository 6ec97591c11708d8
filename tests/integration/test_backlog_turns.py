"""A backlog is read in turns of the event loop, a few MiB each.

wharf starts on 20 Docker containers holding 160 MB of lines it has
not read (as after a stop, or a burst). While it reads them:

- the API answers: a GET /metrics reports some of the lines read, neither
  none nor all of them;
- the output keeps pace: once half of the backlog is read, at least 40% of
  what was read is in the output file;
- SIGTERM is handled at once: wharf exits 0 before it has read the whole
  backlog, having committed and delivered what it read;
- the next start reads the rest: every line is in the output exactly once,
  each container's lines in order.

A regression test: passes used to follow one another through zero-delay
libuv timers, and libuv before 1.48 runs a zero timer started in a timer
callback again before it polls for I/O. The whole backlog was then read in
one turn of the loop, with no API answer, no signal and no cursor save
until it was done (seconds here; minutes for a large one).
"""
import os
import re
import shutil
import time
import urllib.request

import sysloglib
import wharflib as w

CONTAINERS = 20
LINES = 20000  # per container, 400 bytes each on disk
f = w.Failures("backlog_turns")


def write_backlog(containers):
    for k in range(CONTAINERS):
        path = w.docker_container(containers, w.cid(k + 1), f"app{k}")
        pad = "x" * 300
        with open(path, "w") as fh:
            fh.write("".join(
                f'{{"log":"c{k} n={n} {pad}\\n","stream":"stdout",'
                f'"time":"2026-11-20T08:00:00.000000001Z"}}\n' for n in range(LINES)))


def scrape_input_events(port):
    """wharf_input_events_total from GET /metrics, or None without an answer."""
    try:
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30).read()
    except OSError:
        return None
    for line in body.decode().splitlines():
        if line.startswith("wharf_input_events_total{"):
            return int(float(line.rsplit(" ", 1)[1]))
    return None


def check_output(out, total):
    """Every line once, each container's in order (messages read by a
    regex: json.loads of 400,000 events would take most of the test)."""
    message = re.compile(rb'"message":"c(\d+) n=(\d+) ')
    next_n = [0] * CONTAINERS
    problems = []
    with open(out, "rb") as fh:
        for i, line in enumerate(fh, 1):
            m = message.search(line)
            if m is None:
                problems.append(f"output line {i} has no message of the backlog: {line[:120]!r}")
                break
            k, n = int(m.group(1)), int(m.group(2))
            if n != next_n[k] and len(problems) < 5:
                problems.append(f"container {k}: line {n} after line {next_n[k] - 1}")
            next_n[k] = n + 1
    f.eq(sum(next_n), total, "lines in the output after the second start")
    f.eq(problems, [], "each container's lines once and in order")


def main():
    root = w.tmpdir()
    containers = os.path.join(root, "containers")
    write_backlog(containers)
    total = CONTAINERS * LINES
    out = os.path.join(root, "out.ndjson")
    cfg = os.path.join(root, "wharf.yaml")
    log = os.path.join(root, "wharf.log")
    port = sysloglib.free_port("tcp")
    w.write_config(cfg, os.path.join(root, "data"),
                   [{"type": "docker", "id": "docker", "root": containers,
                     "read_from": "beginning"}], out,
                   f'api: {{listen: "127.0.0.1:{port}"}}\n')

    proc = w.start(cfg, log)
    seen = []
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        n = scrape_input_events(port)
        if n is not None:
            # the file output's size: what it took so far (/metrics counts
            # output events once made durable, at the 250 ms ticks)
            seen.append((n, os.path.getsize(out) if os.path.exists(out) else 0))
            if n >= total // 2:
                break
        time.sleep(0.02)
    mid = [n for n, _ in seen if 0 < n < total]
    f.check(mid, f"no /metrics answer while the backlog was read (answers: {seen[-5:]} "
            f"input events of {total})")
    rc = w.stop(proc)
    f.eq(rc, 0, "exit status after SIGTERM")
    first_run = w.count_lines(out)
    f.check(0 < first_run < total, f"SIGTERM during the backlog: {first_run} of {total} lines "
            "delivered, want the exit before all were read")
    f.check(w.log_lines(log, 'msg="stopping"'), "no 'stopping' log line")

    w.oneshot(cfg)
    check_output(out, total)
    # The output keeps pace with the backlog: a slice of delivery per turn
    # grows with what the turn committed. With a fixed 4 blocks per turn it
    # had a tenth to a quarter of what was read. (Events in the output at
    # the sample: its size then over the size of an event, which all have.)
    event_bytes = os.path.getsize(out) / total
    late = [(n, int(size / event_bytes)) for n, size in seen if total // 2 <= n < total]
    f.check(not late or late[-1][1] >= late[-1][0] * 2 // 5,
            f"the output lags far behind the backlog read: (input, output) events {late[-1:]}")
    print(f"first start: /metrics answered at {mid[:1]} input events, (input, output) "
          f"{late[-1:]} before SIGTERM: "
          f"{first_run} of {total} lines delivered; the second start delivered the rest")
    if not f.items:
        shutil.rmtree(root, ignore_errors=True)
    f.finish(f"{total} lines, {first_run} before SIGTERM")


if __name__ == "__main__":
    main()
