"""Kafka output against librdkafka's mock cluster (over TCP), checked with kcat.

A. Oneshot, templated topic and key: two Docker containers (no namespace:
   topic "logs-host") and two CRI pods in namespaces "prod" and "dev"
   ("logs-prod", "logs-dev"), numbered lines. Every event arrives exactly
   once in the topic its namespace names, with the container id as key, the
   exact message text and container fields; one key stays in one partition,
   and within it the lines keep their order. `wharf buffer stat` shows the
   output's lag at 0.
B. Live, with trouble: produce requests fail with NOT_LEADER_FOR_PARTITION
   and REQUEST_TIMED_OUT (injected errors), then every broker goes down
   while lines keep coming, and comes back. Nothing is lost, the outage is
   logged once (not per retry), its end is logged, `wharf buffer stat` shows
   the output down while it lasts and up after, and after SIGTERM the cursor
   is at the end (lag 0). The idempotent producer sends nothing twice.
C. A message that can never be delivered (over librdkafka's
   message.max.bytes) is counted, logged with the reason and skipped; the
   lines after it arrive, the cursor is not held back, and `wharf buffer
   stat` counts it.
D. `wharf check` judges the librdkafka: section with librdkafka itself: an
   unknown property and a bad value are FILE:LINE errors.
E. SIGTERM while every broker is down: what librdkafka still queued is
   purged at exit without a "skipped" log line or an undeliverable count; it
   waits in the buffer and reaches Kafka after the next start.
F. A constant topic is known to librdkafka from the start: a oneshot of 20
   lines is done in well under a second (best of 3 under 0.6 s), where
   librdkafka's once-a-second scan for topics it met only in a produce made
   every run wait about 1 s before sending anything. The 20 lines arrive.
G. Live, the idempotent producer fails for good (OUT_OF_ORDER_SEQUENCE_NUMBER
   on a produce request, a librdkafka fatal error) twice in a row: wharf
   starts a new producer each time, the second after 100 ms, and sends again
   what the failed one had not confirmed. Every line arrives exactly once and
   in order, nothing is counted undeliverable, the cursor ends at the end.
   (It used to count the failed batch as undeliverable and move its cursor
   over it: lost for good, and the output stopped until a restart.)
H. The same in a oneshot: every line arrives once, exit 0, lag 0.
"""
import json
import os
import re
import shutil
import signal
import time

import kafkalib as k
import wharftest as t

ck = t.Checker("kafka_output")
# the mock keeps the last 5 MiB of each partition: part B's one key stays below
FIRST_B, TOTAL_B = 1200, 3000


def message_of(value):
    return json.loads(value)


def check_topic(name, got, want_lines, want_key):
    """got: consumed messages of one topic; want_lines: {key: [message, ...]} in order."""
    by_key = {}
    for m in got:
        by_key.setdefault(m["key"].decode(), []).append(m)
    ck.eq(sorted(by_key), sorted(want_lines), f"{name}: keys")
    for key, msgs in by_key.items():
        parts = {m["partition"] for m in msgs}
        ck.eq(len(parts), 1, f"{name}: key {key[:12]} spread over partitions {sorted(parts)}")
        msgs.sort(key=lambda m: (m["partition"], m["offset"]))
        texts = [message_of(m["value"])["message"] for m in msgs]
        ck.eq(texts, want_lines.get(key, []), f"{name}: key {key[:12]}: messages in order")
        for m in msgs[:3]:
            e = message_of(m["value"])
            ck.eq(e["container"]["id"], key, f"{name}: key is the event's container.id")
            want_key(e, key)


def part_a():
    s = t.Setup("kafka-a")
    docker = t.DockerHost(s.path("docker"))
    pods = t.PodLogs(s.path("k8s"))
    n = 300
    want = {"logs-host": {}, "logs-prod": {}, "logs-dev": {}}
    for i in range(2):
        c = docker.add(f"web{i}")
        lines = [f"web{i} line {j} \"quoted\" é" for j in range(n)]
        c.append(b"".join(t.docker_line(x + "\n") for x in lines))
        want["logs-host"][c.id] = lines
    for ns in ("prod", "dev"):
        p = pods.add(ns, f"api-{ns}-7d9f8b6c5-x2x4z", "api")
        lines = [f"{ns} request {j}" for j in range(n)]
        p.append(b"".join(t.cri_line(x) for x in lines))
        want[f"logs-{ns}"][p.id] = lines
    with k.KafkaMock() as mock:
        s.config(
            [{"type": "docker", "id": "docker", "root": docker.root, "read_from": "beginning"},
             {"type": "cri", "id": "pods", "paths": [pods.glob()],
              "containers_dir": pods.containers_dir, "read_from": "beginning"}],
            [{"type": "kafka", "id": "siem", "brokers": mock.bootstrap,
              "topic": "logs-${orchestrator.namespace:-host}", "key": "${container.id}",
              "compression": "zstd"}])
        t.oneshot(s.cfg)
        for topic, lines in want.items():
            total = sum(len(v) for v in lines.values())
            got = k.consume(mock.bootstrap, topic, total)
            ck.eq(len(got), total, f"A: {topic}: messages")

            def key_fields(e, key, topic=topic):
                if topic == "logs-host":
                    ck.check("orchestrator" not in e, "A: Docker events have no orchestrator")
                else:
                    ck.eq(e["orchestrator"]["namespace"], topic[5:], "A: namespace")
            check_topic(f"A: {topic}", got, lines, key_fields)
        ck.eq(sorted(k.topics(mock.bootstrap)), sorted(want), "A: topics created")
    stat = json.loads(t.run_wharf(["buffer", "stat", "-c", s.cfg, "--json"]).stdout)
    outs = {o["id"]: o for o in stat["outputs"]}
    ck.eq(outs["siem"]["lag_events"], 0, "A: buffer stat lag of the kafka output")
    ck.eq(outs["siem"]["event"], 4 * n, "A: buffer stat cursor event")


def stat_output(cfg, output_id):
    stat = json.loads(t.run_wharf(["buffer", "stat", "-c", cfg, "--json"]).stdout)
    return {o["id"]: o for o in stat["outputs"]}[output_id]


def numbered_lines(c, start, count):
    c.append(b"".join(t.docker_line(f"n={i}\n") for i in range(start, start + count)))


def consumed_numbers(msgs):
    got = {}
    for m in msgs:
        num = int(message_of(m["value"])["message"].split("=")[1])
        got[num] = got.get(num, 0) + 1
    return got


def log_count(path, pattern):
    with open(path, errors="replace") as f:
        return len(re.findall(pattern, f.read()))


def one_app(name):
    """A setup with one Docker container, `app`: (setup, docker host, container)."""
    s = t.Setup(name)
    docker = t.DockerHost(s.path("docker"))
    return s, docker, docker.add("app")


def ship_to_kafka(s, docker, mock, topic, **opts):
    """s's config: docker's containers from the beginning to output `siem`."""
    s.config([{"type": "docker", "id": "docker", "root": docker.root,
               "read_from": "beginning"}],
             [{"type": "kafka", "id": "siem", "brokers": mock.bootstrap, "topic": topic,
               **opts}])


def part_b():
    s, docker, c = one_app("kafka-b")
    with k.KafkaMock() as mock:
        mock.topic("app", 3)
        # the next produce requests fail, then succeed on retry
        mock.errors(0, ["NOT_LEADER_FOR_PARTITION", "REQUEST_TIMED_OUT",
                        "NOT_LEADER_FOR_PARTITION"])
        ship_to_kafka(s, docker, mock, "app", key="${container.id}", compression="zstd",
                      librdkafka={"reconnect.backoff.max.ms": "500"})
        numbered_lines(c, 0, FIRST_B)
        live = t.Live(s.cfg, s.log)
        got = k.consume(mock.bootstrap, "app", FIRST_B, timeout=60)
        ck.eq(len(got), FIRST_B, "B: the first lines through injected produce errors")
        mock.down(-1)
        numbered_lines(c, FIRST_B, TOTAL_B - FIRST_B)
        time.sleep(4)  # several reconnect attempts while the brokers are down
        down = stat_output(s.cfg, "siem")
        ck.check(down["down_since_ms"] > 0 and down["error"] != "",
                 f"B: buffer stat shows the outage while it lasts: {down}")
        text = t.run_wharf(["buffer", "stat", "-c", s.cfg]).stdout.decode(errors="replace")
        ck.check("down since" in text, f"B: buffer stat's text shows the outage: {text[-600:]}")
        mock.up(-1)
        got = k.consume(mock.bootstrap, "app", TOTAL_B, timeout=90)
        rc = live.term()
        ck.eq(rc, 0, "B: exit code after SIGTERM")
        nums = consumed_numbers(got)
        missing = sorted(set(range(TOTAL_B)) - set(nums))
        dups = sorted(x for x, m in nums.items() if m > 1)
        ck.check(not missing, f"B: {len(missing)} lines missing, first {missing[:10]}")
        ck.check(not dups, f"B: {len(dups)} lines twice (idempotent producer), first {dups[:10]}")
        order = [int(message_of(m["value"])["message"].split("=")[1])
                 for m in sorted(got, key=lambda m: m["offset"])]
        ck.eq(order, sorted(order), "B: one key, one partition: in order")
        outages = log_count(s.log, r'msg="kafka: cannot reach the brokers')
        ck.eq(outages, 1, "B: outage logged once")
        ck.check(log_count(s.log, r'msg="kafka: delivering again') >= 1,
                 "B: end of the outage logged")
    siem = stat_output(s.cfg, "siem")
    ck.eq(siem["lag_events"], 0, "B: lag after SIGTERM")
    ck.eq(siem["event"], TOTAL_B, "B: cursor after SIGTERM")
    ck.eq((siem["down_since_ms"], siem["error"], siem["undeliverable"]), (0, "", 0),
          "B: buffer stat shows the output up again")


def part_c():
    s, docker, c = one_app("kafka-c")
    with k.KafkaMock() as mock:
        ship_to_kafka(s, docker, mock, "big", librdkafka={"message.max.bytes": "20000"})
        c.append(t.docker_line("before\n") + t.docker_line("x" * 30000 + "\n") +
                 t.docker_line("after\n"))
        p = t.oneshot(s.cfg)
        got = k.consume(mock.bootstrap, "big", 2)
        # no key: the two may land in different partitions, in any order
        ck.eq(sorted(message_of(m["value"])["message"] for m in got), ["after", "before"],
              "C: the lines around the undeliverable one")
        err = p.stderr.decode(errors="replace")
        ck.check(re.search(r'msg="kafka: message cannot be delivered; skipped".*too large', err)
                 is not None, f"C: the skip is logged with its reason: {err[-800:]}")
    siem = stat_output(s.cfg, "siem")
    ck.eq(siem["lag_events"], 0, "C: the skipped message does not hold the cursor")
    ck.eq(siem["undeliverable"], 1, "C: buffer stat counts the skipped message")


def part_d():
    s = t.Setup("kafka-d")
    with open(s.cfg, "w") as f:
        f.write(f"""data_dir: {s.data}
inputs:
  - {{type: docker, id: docker, root: /nonexistent}}
outputs:
  - type: kafka
    id: siem
    brokers: "127.0.0.1:9"
    topic: "logs-${{orchestrator.namespace:-host"
    librdkafka:
      socket.timeout.ms: "10000"
      no.such.property: "1"
  - type: kafka
    id: other
    brokers: "127.0.0.1:9"
    topic: "x"
    librdkafka:
      acks: "banana"
""")
    p = t.run_wharf(["check", "-c", s.cfg])
    err = p.stderr.decode(errors="replace") + p.stdout.decode(errors="replace")
    ck.check(p.returncode != 0, "D: wharf check fails")
    ck.check(re.search(re.escape(s.cfg) + r":11: output 'siem': librdkafka: .*no\.such\.property",
                       err) is not None, f"D: unknown property at its line: {err}")
    ck.check(re.search(re.escape(s.cfg) + r":17: output 'other': librdkafka: .*acks", err)
             is not None, f"D: bad value at its line: {err}")
    ck.check(re.search(re.escape(s.cfg) + r":\d+: output 'siem': topic: unclosed", err)
             is not None, f"D: template syntax error: {err}")


def part_e():
    """SIGTERM while every broker is down: wharf purges what librdkafka still
    queued as it exits. Those events wait in the buffer for the next start,
    so they are neither logged as skipped nor counted undeliverable (all 400
    were, one "cannot be delivered; skipped" line per 10,000)."""
    s, docker, c = one_app("kafka-e")
    with k.KafkaMock() as mock:
        mock.topic("app", 3)
        ship_to_kafka(s, docker, mock, "app", key="${container.id}",
                      librdkafka={"reconnect.backoff.max.ms": "500"})
        with open(s.cfg, "a") as f:
            f.write("shutdown_timeout: 1s\n")
        numbered_lines(c, 0, 100)
        live = t.Live(s.cfg, s.log)
        ck.eq(len(k.consume(mock.bootstrap, "app", 100)), 100, "E: the first lines delivered")
        time.sleep(1)  # a tick saves the cursor after them
        mock.down(-1)
        numbered_lines(c, 100, 400)
        time.sleep(2)  # read, and handed to librdkafka, which cannot send them
        ck.eq(live.term(), 0, "E: exit code after SIGTERM with the brokers down")
        ck.eq(log_count(s.log, r"cannot be delivered"), 0,
              f"E: the purge at exit is not logged as skipped: {live.log_tail(1500)}")
        siem = stat_output(s.cfg, "siem")
        ck.eq((siem["lag_events"], siem["undeliverable"]), (400, 0),
              "E: the 400 wait in the buffer, none counted undeliverable")
        mock.up(-1)
        t.oneshot(s.cfg)
        got = consumed_numbers(k.consume(mock.bootstrap, "app", 500, timeout=60))
        ck.eq(sorted(got), list(range(500)), "E: after the next start every line is in Kafka")


def part_f():
    s, docker, c = one_app("kafka-f")
    numbered_lines(c, 0, 20)
    with k.KafkaMock(brokers=1) as mock:
        mock.topic("fixed", 2)
        ship_to_kafka(s, docker, mock, "fixed")
        walls = []
        for _ in range(3):
            shutil.rmtree(s.data, ignore_errors=True)
            walls.append(t.oneshot(s.cfg).elapsed)
        got = consumed_numbers(k.consume(mock.bootstrap, "fixed", 60))
        ck.eq(got, {i: 3 for i in range(20)}, "F: each run's 20 lines arrive")
    with open(t.WHARF, "rb") as f:
        native = f.read(4) == b"\x7fELF"
    if native:
        ck.check(min(walls) < 0.6, f"F: a oneshot of 20 lines takes under 0.6 s: {walls}")
    else:
        ck.note(f"F: timing not checked, WHARF_BIN is a wrapper ({walls})")


def check_every_line_once(what, got, total):
    nums = consumed_numbers(got)
    ck.eq(sorted(nums), list(range(total)), f"{what}: every line in Kafka")
    dups = sorted(x for x, m in nums.items() if m > 1)
    ck.check(not dups, f"{what}: {len(dups)} lines twice, first {dups[:10]}")
    order = [int(message_of(m["value"])["message"].split("=")[1])
             for m in sorted(got, key=lambda m: m["offset"])]
    ck.eq(order, sorted(order), f"{what}: one partition: in order")


def part_g():
    s, docker, c = one_app("kafka-g")
    with k.KafkaMock() as mock:
        mock.topic("app", 1)
        ship_to_kafka(s, docker, mock, "app")
        numbered_lines(c, 0, 100)
        live = t.Live(s.cfg, s.log)
        ck.eq(len(k.consume(mock.bootstrap, "app", 100)), 100, "G: the first lines delivered")
        mock.errors(0, ["OUT_OF_ORDER_SEQUENCE_NUMBER"] * 2)
        numbered_lines(c, 100, 200)
        got = k.consume(mock.bootstrap, "app", 300, timeout=60)
        time.sleep(1)  # a tick saves the cursor after them
        ck.eq(live.term(), 0, "G: exit code after SIGTERM")
        check_every_line_once("G", got, 300)
        ck.eq(log_count(s.log, r'msg="kafka: producer failed for good; a new one sends again'), 2,
              f"G: each fatal error logged: {live.log_tail(2000)}")
        restarts = re.findall(r'msg="output lost the events it had not confirmed; sending them '
                              r'again from the buffer" output=siem unconfirmed_events=(\d+) '
                              r'restarts_in_row=(\d+) wait_ms=(\d+)', open(s.log).read())
        ck.eq([(n, wait) for _, n, wait in restarts], [("1", "0"), ("2", "100")],
              "G: two restarts, the second after 100 ms")
        ck.check(all(0 < int(u) <= 200 for u, _, _ in restarts),
                 f"G: the restarts resend some of the 200 lines after the first 100: {restarts}")
        ck.eq(log_count(s.log, r"cannot be delivered"), 0, "G: nothing logged as skipped")
    siem = stat_output(s.cfg, "siem")
    ck.eq((siem["event"], siem["lag_events"], siem["undeliverable"], siem["down_since_ms"]),
          (300, 0, 0, 0), "G: cursor at the end, nothing undeliverable, up")


def part_h():
    s, docker, c = one_app("kafka-h")
    numbered_lines(c, 0, 150)
    with k.KafkaMock() as mock:
        mock.topic("app", 1)
        mock.errors(0, ["OUT_OF_ORDER_SEQUENCE_NUMBER"])
        ship_to_kafka(s, docker, mock, "app")
        p = t.oneshot(s.cfg)
        err = p.stderr.decode(errors="replace")
        ck.check(re.search(r"output lost the events .* restarts_in_row=1 wait_ms=0", err)
                 is not None, f"H: the restart is logged: {err[-1500:]}")
        check_every_line_once("H", k.consume(mock.bootstrap, "app", 150), 150)
    siem = stat_output(s.cfg, "siem")
    ck.eq((siem["lag_events"], siem["undeliverable"]), (0, 0), "H: lag and undeliverable")


part_a()
part_b()
part_c()
part_d()
part_e()
part_f()
part_g()
part_h()
ck.finish()
