"""CRI edge cases on a kubelet pod layout.

Asserted with exact values (wharf run --oneshot unless said otherwise):
  - P parts joined per stream while stdout and stderr interleave; the joined
    event has the first part's offset and time;
  - lines not in CRI format (no timestamp, unknown stream, bad time) -> event
    with the raw line as message, tag invalid_cri; lines around intact;
  - container.id from the containers_dir symlink; a second container
    instance (1.log) with its own symlink gets its own id; a pod without a
    symlink has no container.id but everything else;
  - timestamps with +hh:mm / -hh:mm offsets and 0..9 fraction digits -> UTC
    with 9 digits;
  - raw control characters and invalid UTF-8 in the text -> valid JSON;
  - a 100 KiB line in 16 KiB P parts with max_line_bytes 32KiB -> cut at
    32768 bytes, tagged truncated;
  - the last line of a file without its newline may still be being written:
    --oneshot leaves it for the next run (its position stays before it, so
    it is not lost), and in live mode wharf waits for the newline and then
    delivers the whole line once.
"""
import os
import time

import wharftest as wt

ck = wt.Checker("cri_edge")
version = wt.wharf_version()
s = wt.Setup("cri-edge")
pods = wt.PodLogs(s.dir)

web = pods.add("shop", "cart-5d8c9b7f4-abcde", "cart", uid="0f1e2d3c-4b5a-4978-8796-a5b4c3d2e1f0")
web1 = pods.add("shop", "cart-5d8c9b7f4-abcde", "cart", uid=web.uid, restart=1)
nolink = pods.add("batch", "report-28455120-x7k2p", "report", symlink=False)
tail = pods.add("shop", "tail-0", "tail")
big = pods.add("shop", "big-0", "big")

lines = [  # (key, bytes)
    ("plus1", b"2024-05-01T11:00:00.000000001+01:00 stdout F hello from cart\n"),
    ("o_p1", b"2024-05-01T10:00:01.000000000Z stdout P part one, \n"),
    ("e_p1", b"2024-05-01T10:00:01.050000000Z stderr P err part A, \n"),
    ("o_p2", b"2024-05-01T10:00:01.100000000Z stdout P part two, \n"),
    ("e_f", b"2024-05-01T10:00:01.150000000Z stderr F err end\n"),
    ("o_f", b"2024-05-01T10:00:01.200000000Z stdout F part three\n"),
    ("nots", b"this is not a CRI line\n"),
    ("after_nots", b"2024-05-01T10:00:02Z stdout F after the bad line\n"),
    ("badstream", b"2024-05-01T10:00:03Z sideout F bad stream\n"),
    ("badtime", b"yesterday stdout F bad time\n"),
    ("empty", b"2024-05-01T10:00:04.5Z stdout F \n"),
    ("minus", b"2024-05-01T04:30:05.123-05:30 stderr F \ttabbed from -05:30\n"),
    ("zero", b"2024-05-01T10:00:06.123456+00:00 stdout F six digits +00:00\n"),
    ("ctl", b"2024-05-01T10:00:07.7Z stdout F \x1b[1mbold\x1b[0m \x01\x02 bell\x07 \xff\xfe bad utf8 \xe2\x9c\x93 \x00 nul\n"),
    ("spaces", b"2024-05-01T10:00:08Z stdout F   leading and trailing spaces  \n"),
    ("last", b"2024-05-01T10:00:09.999999999Z stderr F last line\n"),
]
off = {}
for key, data in lines:
    off[key] = web.append(data)
off1 = web1.append(b"2024-05-01T10:05:00Z stdout F restarted container\n")
nolink.append(b"2024-05-01T10:06:00Z stdout F no symlink\n")
off_t1 = tail.append(b"2024-05-01T10:07:00Z stdout F complete line\n")
off_t2 = tail.append(b"2024-05-01T10:07:01Z stdout F unterminated last line")
long_text = "".join(chr(ord("a") + i % 26) for i in range(100 * 1024))
pieces = [long_text[i:i + 16384] for i in range(0, len(long_text), 16384)]
off_big = big.append(b"".join(
    wt.cri_line(p, tag="P" if i < len(pieces) - 1 else "F", time=f"2024-05-01T10:08:00.{i:09d}Z")
    for i, p in enumerate(pieces)))
off_big_after = big.append(wt.cri_line("after the long line", time="2024-05-01T10:08:01Z"))

s.config([{"type": "cri", "id": "pods", "paths": [pods.glob()],
           "containers_dir": pods.containers_dir, "runtime": "cri-o", "read_from": "beginning",
           "max_line_bytes": "32KiB", "rotate_wait": "1s"}])
wt.oneshot(s.cfg)
raw = wt.output_bytes(ck, s.out)
try:
    events = wt.parse_ndjson(raw, s.out)
except wt.BadOutput as ex:
    ck.fail(str(ex))
    ck.finish()
ck.eq(sorted({ch for ch in raw if ch < 0x20 and ch != 0x0A}), [], "raw control bytes in the output")

by = {}
for ev in events:
    by.setdefault(wt.get(ev, "log.file.path"), []).append(ev)

want = [  # key, message, stream, @timestamp, tags
    ("plus1", "hello from cart", "stdout", "2024-05-01T10:00:00.000000001Z", None),
    ("e_p1", "err part A, err end", "stderr", "2024-05-01T10:00:01.050000000Z", None),
    ("o_p1", "part one, part two, part three", "stdout", "2024-05-01T10:00:01.000000000Z", None),
    ("nots", "this is not a CRI line", None, None, ["invalid_cri"]),
    ("after_nots", "after the bad line", "stdout", "2024-05-01T10:00:02.000000000Z", None),
    ("badstream", "2024-05-01T10:00:03Z sideout F bad stream", None, None, ["invalid_cri"]),
    ("badtime", "yesterday stdout F bad time", None, None, ["invalid_cri"]),
    ("empty", "", "stdout", "2024-05-01T10:00:04.500000000Z", None),
    ("minus", "\ttabbed from -05:30", "stderr", "2024-05-01T10:00:05.123000000Z", None),
    ("zero", "six digits +00:00", "stdout", "2024-05-01T10:00:06.123456000Z", None),
    ("ctl", "\x1b[1mbold\x1b[0m \x01\x02 bell\x07 \ufffd\ufffd bad utf8 \u2713 \x00 nul", "stdout",
     "2024-05-01T10:00:07.700000000Z", None),
    ("spaces", "  leading and trailing spaces  ", "stdout", "2024-05-01T10:00:08.000000000Z", None),
    ("last", "last line", "stderr", "2024-05-01T10:00:09.999999999Z", None),
]
ew = by.get(web.path, [])
ck.eq([ev.get("message") for ev in ew], [w[1] for w in want], "cart 0.log: messages in order")
for ev, (key, msg, stream, ts, tags) in zip(ew, want):
    where = f"cart 0.log line {key!r}"
    ck.eq(wt.get(ev, "log.offset"), off[key], f"{where}: log.offset")
    ck.eq(ev.get("tags"), tags, f"{where}: tags")
    if stream:
        ck.eq(ev.get("stream"), stream, f"{where}: stream")
    if ts:
        ck.eq(ev.get("@timestamp"), ts, f"{where}: @timestamp")
    wt.common_checks(ck, ev, where, "kubernetes.container_logs", path=web.path, version=version)
    ck.eq(ev.get("container"), {"id": web.id, "name": "cart", "runtime": "cri-o"}, f"{where}: container")
    ck.eq(ev.get("orchestrator"), {"type": "kubernetes", "namespace": "shop",
                                   "resource": {"type": "pod", "name": "cart-5d8c9b7f4-abcde"}},
          f"{where}: orchestrator")
    ck.eq(ev.get("kubernetes"), {"pod": {"uid": web.uid}}, f"{where}: kubernetes.pod.uid")

e1 = by.get(web1.path, [])
ck.eq([(ev.get("message"), wt.get(ev, "log.offset"), ev.get("container")) for ev in e1],
      [("restarted container", off1, {"id": web1.id, "name": "cart", "runtime": "cri-o"})],
      "cart 1.log: second container instance with its own symlink")

en = by.get(nolink.path, [])
ck.eq([ev.get("message") for ev in en], ["no symlink"], "pod without symlink: events")
if en:
    ck.eq(en[0].get("container"), {"name": "report", "runtime": "cri-o"},
          "pod without symlink: container (no id)")
    ck.eq(en[0].get("orchestrator"), {"type": "kubernetes", "namespace": "batch",
                                      "resource": {"type": "pod", "name": "report-28455120-x7k2p"}},
          "pod without symlink: orchestrator")
    ck.eq(wt.get(en[0], "kubernetes.pod.uid"), nolink.uid, "pod without symlink: pod uid")

et = by.get(tail.path, [])
ck.eq([(ev.get("message"), wt.get(ev, "log.offset")) for ev in et],
      [("complete line", off_t1)],
      "oneshot: a last line without newline is left for the next run")

eb = by.get(big.path, [])
ck.eq(len(eb), 2, "long line: events")
if len(eb) == 2:
    ck.eq(len(eb[0].get("message", "").encode()), 32768, "long line: message bytes after the cut")
    ck.check(eb[0].get("message") == long_text[:32768], "long line: message is the line's first 32 KiB")
    ck.eq(eb[0].get("tags"), ["truncated"], "long line: tags")
    ck.eq(wt.get(eb[0], "log.offset"), off_big, "long line: offset of the first P part")
    ck.eq(eb[0].get("@timestamp"), "2024-05-01T10:08:00.000000000Z", "long line: first part's time")
    ck.eq((eb[1].get("message"), wt.get(eb[1], "log.offset"), eb[1].get("tags")),
          ("after the long line", off_big_after, None), "line after the long one")

ck.eq(len(events), len(want) + 1 + 1 + 1 + 2, "total events (the unterminated line waits)")

# ---- live: an unterminated line waits for its newline ----
s2 = wt.Setup("cri-edge-live")
pods2 = wt.PodLogs(s2.dir)
lv = pods2.add("live", "live-0", "app")
s2.config([{"type": "cri", "id": "pods", "paths": [pods2.glob()],
            "containers_dir": pods2.containers_dir, "read_from": "beginning",
            "rotate_wait": "1s", "rescan_interval": "250ms"}])
live = wt.Live(s2.cfg, s2.log)
lv.append(b"2024-05-01T10:10:00Z stdout F first\n")
ck.check(wt.wait_count(s2.out, 1, 10) >= 1, "live: first line not shipped within 10 s")
o2 = lv.append(b"2024-05-01T10:10:01Z stdout F half a li")
time.sleep(2)
n_mid = wt.OutputCounter(s2.out).update()
ck.eq(n_mid, 1, "live: events while the last line has no newline yet (wharf waits)")
lv.append(b"ne, now complete\n")
lv.append(b"2024-05-01T10:10:02Z stdout P live partial \n")
time.sleep(0.5)
lv.append(b"2024-05-01T10:10:03Z stdout F joined\n")
wt.wait_count(s2.out, 3, 10)
time.sleep(0.5)
ck.eq(live.term(), 0, "live: exit code after SIGTERM")
ev2 = wt.read_events(s2.out)
ck.eq([(ev.get("message"), wt.get(ev, "log.offset"), wt.get(ev, "container.id")) for ev in ev2],
      [("first", 0, lv.id), ("half a line, now complete", o2, lv.id),
       ("live partial joined", o2 + len(b"2024-05-01T10:10:01Z stdout F half a line, now complete\n"),
        lv.id)],
      f"live: events (wharf log: {live.log_tail(400)!r})")

ck.finish(f"({len(events)} + {len(ev2)} events)")
