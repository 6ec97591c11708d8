"""Restarts: kill -9, clean SIGTERM, and read_from: end.

1. kill -9: a writer appends numbered lines (~10,000/s for ~10 s) to two
   Docker containers and one CRI pod while wharf is killed with SIGKILL three
   times and started again. While wharf is down the second time, one Docker
   log is rotated (rename) and the pod's log kubelet-rotated, with lines
   written before and after. At the end every number is there (none missing);
   repeats are allowed (lines read after the last position save), their count
   is printed, and no line may come more than 1 + kills times.
2. SIGTERM: the same writer, wharf stopped with SIGTERM (exit 0) and started
   again three times: zero missing, zero duplicates.
3. read_from: end: what existed at the very first start is skipped; lines
   appended later, files created later (while running and while stopped),
   and lines appended while wharf was stopped are all read, exactly once.
4. inode reuse: a container removed and another created between two runs,
   the new log file reusing the old inode (ext4 does): read from offset 0.
"""
import collections
import os
import re
import threading
import time

import wharftest as wt

ck = wt.Checker("restart")
SEQ = re.compile(r"^seq=(\d+) ")


def make_setup(name, read_from="beginning"):
    s = wt.Setup(name)
    host = wt.DockerHost(s.path("containers"))
    pods = wt.PodLogs(s.path("k8s"))
    s.config([{"type": "docker", "id": "docker", "root": host.root, "read_from": read_from,
               "rotate_wait": "1s", "rescan_interval": "500ms"},
              {"type": "cri", "id": "pods", "paths": [pods.glob()],
               "containers_dir": pods.containers_dir, "read_from": read_from,
               "rotate_wait": "1s", "rescan_interval": "500ms"}])
    return s, host, pods


class Writer(threading.Thread):
    """Writes seq=0.. round-robin to two docker logs and one CRI log at RATE lines/s.
    pause()/resume() and rotate() are for the periods wharf is down."""

    def __init__(self, docker_conts, pod, total, rate):
        super().__init__(daemon=True)
        self.conts = docker_conts
        self.pod = pod
        self.total = total
        self.rate = rate
        self.written = 0
        self.lock = threading.Lock()

    def run(self):
        targets = [c.log for c in self.conts] + [self.pod.path]
        t0 = time.monotonic()
        n = 0
        while n < self.total:
            batch = [[] for _ in targets]
            for m in range(n, min(n + 100, self.total)):
                k = m % len(targets)
                text = f"seq={m} restart test line {m}"
                if k < len(self.conts):
                    batch[k].append(wt.docker_line(text + "\n", time=f"2024-05-01T10:00:00.{m:09d}Z"))
                else:
                    batch[k].append(wt.cri_line(text, time=f"2024-05-01T10:00:00.{m:09d}Z"))
            with self.lock:  # rotations happen under the lock, like dockerd's
                for k, path in enumerate(targets):
                    if batch[k]:
                        with open(path, "ab") as f:
                            f.write(b"".join(batch[k]))
                n = min(n + 100, self.total)
                self.written = n
            ahead = n / self.rate - (time.monotonic() - t0)
            if ahead > 0:
                time.sleep(ahead)


def numbers(path):
    counts = collections.Counter()
    for ev in wt.read_events(path):
        m = SEQ.match(ev.get("message", ""))
        if m:
            counts[int(m.group(1))] += 1
        else:
            ck.fail(f"unexpected event {ev.get('message', '')[:80]!r}")
    return counts


def final_wait(s, live, total):
    n = wt.wait_count(s.out, total, 60, quiet=5)
    rc = live.term()
    return n, rc


# ----------------------------------------------------------------- kill -9 ---
def kill9():
    s, host, pods = make_setup("restart-kill9")
    conts = [host.add(f"svc-{k}", seed=f"kill9-{k}") for k in range(2)]
    pod = pods.add("prod", "worker-6d5f7c8b9-r2d2x", "worker")
    total = 100000
    w = Writer(conts, pod, total, 10000)
    live = wt.Live(s.cfg, s.log)
    w.start()
    t0 = time.monotonic()
    kills = 0
    for k, at in enumerate((2.0, 4.5, 7.0)):
        time.sleep(max(0.0, at - (time.monotonic() - t0)))
        live.kill9()
        kills += 1
        if k == 1:
            # while wharf is down: dockerd rotates svc-0, the kubelet rotates the pod log
            with w.lock:
                conts[0].rotate()
                wt.kubelet_rotate(pod.path, "20240501-100000")
                fd = os.open(pod.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
                os.close(fd)
            time.sleep(1.0)
        live = wt.Live(s.cfg, s.log)
    w.join()
    n, rc = final_wait(s, live, total)
    ck.eq(rc, 0, "kill -9: exit code of the last run after SIGTERM")
    counts = numbers(s.out)
    missing = [i for i in range(total) if i not in counts]
    dups = sum(v - 1 for v in counts.values())
    print(f"[restart] kill -9 x{kills}: {total} lines, {sum(counts.values())} events, "
          f"missing {len(missing)}, duplicates {dups}", flush=True)
    ck.eq(missing[:20], [], f"kill -9: missing numbers ({len(missing)} in all); "
          f"wharf log: {live.log_tail(800)!r}")
    worst = max(counts.values()) if counts else 0
    ck.check(worst <= 1 + kills, f"kill -9: a line arrived {worst} times (at most {1 + kills})")


# ----------------------------------------------------------------- SIGTERM ---
def sigterm():
    s, host, pods = make_setup("restart-term")
    conts = [host.add(f"api-{k}", seed=f"term-{k}") for k in range(2)]
    pod = pods.add("prod", "api-7f8e9d6c5-b4n5m", "api")
    total = 60000
    w = Writer(conts, pod, total, 10000)
    live = wt.Live(s.cfg, s.log)
    w.start()
    rcs = []
    for _ in range(3):
        time.sleep(1.5)
        rcs.append(live.term())
        time.sleep(0.3)
        live = wt.Live(s.cfg, s.log)
    w.join()
    n, rc = final_wait(s, live, total)
    rcs.append(rc)
    ck.eq(rcs, [0, 0, 0, 0], "SIGTERM: exit codes")
    counts = numbers(s.out)
    missing = [i for i in range(total) if i not in counts]
    dups = sum(v - 1 for v in counts.values())
    print(f"[restart] SIGTERM x3: {total} lines, {sum(counts.values())} events, "
          f"missing {len(missing)}, duplicates {dups}", flush=True)
    ck.eq((len(missing), dups), (0, 0), f"SIGTERM restarts: (missing, duplicates); first missing "
          f"{missing[:10]}, first repeated {[i for i, v in sorted(counts.items()) if v > 1][:10]}")


# ------------------------------------------------------------ read_from end ---
def read_from_end():
    s, host, pods = make_setup("restart-end", read_from="end")
    old = host.add("old-web", seed="end-old")
    old_pod = pods.add("prod", "old-0", "app")
    seq = [0]

    def add_lines(target, count, is_pod=False):
        out = []
        for _ in range(count):
            n = seq[0]
            seq[0] += 1
            line = (wt.cri_line(f"seq={n} line", time="2024-05-01T10:00:00Z") if is_pod
                    else wt.docker_line(f"seq={n} line\n"))
            target.append(line)
            out.append(n)
        return out

    skipped = add_lines(old, 100) + add_lines(old_pod, 100, True)
    live = wt.Live(s.cfg, s.log)
    time.sleep(1.5)
    ck.eq(wt.OutputCounter(s.out).update(), 0, "read_from end: events from what existed at the first start")
    want = add_lines(old, 10) + add_lines(old_pod, 10, True)
    new = host.add("new-web", seed="end-new")  # a container started after wharf
    new_pod = pods.add("prod", "new-0", "app")
    want += add_lines(new, 5) + add_lines(new_pod, 5, True)
    wt.wait_count(s.out, len(want), 10)
    time.sleep(0.5)
    ck.eq(live.term(), 0, "read_from end: first run exit code")
    # while wharf is stopped: more lines, and a container created meanwhile
    want += add_lines(old, 7) + add_lines(old_pod, 7, True) + add_lines(new, 3)
    later = host.add("later-web", seed="end-later")
    want += add_lines(later, 4)
    live = wt.Live(s.cfg, s.log)
    wt.wait_count(s.out, len(want), 10)
    time.sleep(1.0)
    ck.eq(live.term(), 0, "read_from end: second run exit code")
    counts = numbers(s.out)
    ck.eq(sorted(n for n in counts if n in set(skipped)), [],
          "read_from end: lines that existed at the first start were shipped")
    ck.eq(sorted(counts), sorted(want), "read_from end: numbers shipped")
    ck.eq(sum(counts.values()), len(want), "read_from end: events (no repeats)")


# ------------------------------------------------------------- inode reuse ---
def inode_reuse():
    """docker rm + docker run between two runs: the new container's log file
    gets the inode the old one had (ext4 hands it out again at once). Its
    position must not be taken over: all of it is read, from offset 0."""
    s, host, pods = make_setup("restart-inode")
    x = host.add("old-job", seed="inode-old")
    x.append(b"".join(wt.docker_line(f"seq={n} old container line\n") for n in range(50)))
    wt.oneshot(s.cfg)
    ino_x = os.stat(x.log).st_ino
    import shutil
    shutil.rmtree(x.dir)
    y = host.add("new-job", seed="inode-new")
    y.append(b"".join(wt.docker_line(f"seq={n} new container, longer line to grow past the old size\n")
                      for n in range(1000, 1080)))
    reused = os.stat(y.log).st_ino == ino_x
    print(f"[restart] inode reuse: new log {'got' if reused else 'did not get'} the old inode", flush=True)
    # the pod case: a pod deleted and created again (new uid, new path)
    p1 = pods.add("jobs", "cron-28455120-a", "job")
    p1.append(b"".join(wt.cri_line(f"seq={n} first pod") for n in range(2000, 2030)))
    wt.oneshot(s.cfg)
    ino_p = os.stat(p1.path).st_ino
    shutil.rmtree(os.path.dirname(os.path.dirname(p1.path)))
    os.unlink(p1.link)
    p2 = pods.add("jobs", "cron-28455121-b", "job")
    p2.append(b"".join(wt.cri_line(f"seq={n} second pod, a longer line than the first pod's")
                       for n in range(3000, 3040)))
    print(f"[restart] inode reuse (pod): {'reused' if os.stat(p2.path).st_ino == ino_p else 'not reused'}",
          flush=True)
    wt.oneshot(s.cfg)
    counts = numbers(s.out)
    want = list(range(50)) + list(range(1000, 1080)) + list(range(2000, 2030)) + list(range(3000, 3040))
    ck.eq(sorted(counts), want, "inode reuse: numbers shipped")
    ck.eq(sum(counts.values()), len(want), "inode reuse: events (no repeats)")


for fn in (kill9, sigterm, read_from_end, inode_reuse):
    t = time.monotonic()
    fn()
    print(f"[restart] {fn.__name__} took {time.monotonic() - t:.1f}s", flush=True)
ck.finish()
