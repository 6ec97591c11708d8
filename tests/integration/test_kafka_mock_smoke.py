"""Kafka test infrastructure smoke test, without wharf: proves that
wharf-kafka-mock (librdkafka's mock cluster on 127.0.0.1) and kafkalib (kcat)
carry messages byte for byte, so a failing Kafka output test points at wharf
and not at the harness.

Starts a 3-broker mock, creates topic "smoke" with 3 partitions (leaders
pinned to brokers 1, 2, 3), produces 100 keyed messages with `kcat -P -K '\\t'`
and reads them back with consume(): every value exactly once with its key,
each key in one partition (librdkafka's default partitioner, CRC-32 of the key
mod 3), per-key order kept, offsets contiguous. Then broker 1 goes down:
its listener refuses connections, messages for its partition wait, and after
up they arrive, 110 in all, still exact. Also checks the mock's error
injection (a non-retriable Produce error fails a delivery, retriable ones are
retried without duplicates), that values with any bytes (newlines, NUL,
invalid UTF-8) come back intact, that consume() never creates a topic, and that
producing to an unknown topic auto-creates it with 4 partitions.
"""
import collections
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zlib

import kafkalib as k


class Checks:
    def __init__(self, name):
        self.name = name
        self.failures = []

    def check(self, cond, what):
        if not cond:
            self.failures.append(what)
        return bool(cond)

    def eq(self, got, want, what):
        return self.check(got == want, f"{what}:\n      got:  {got!r}\n      want: {want!r}")

    def finish(self, summary):
        if self.failures:
            print(f"{self.name}: FAILED ({len(self.failures)} checks)")
            for f in self.failures[:60]:
                print("  - " + f)
            sys.exit(1)
        print(f"{self.name}: ok ({summary})")
        sys.exit(0)


ck = Checks("kafka_mock_smoke")
t_start = time.monotonic()
ms_start = int(time.time() * 1000)

SPECIAL = 'v99\t"double" \'single\' caf\u00e9 \\n'  # a tab, quotes, UTF-8, a backslash


def value_of(i):
    return SPECIAL if i == 99 else f"v{i}"


def key_of(i):
    return f"k{i % 10}"


def partition_of(key):
    """librdkafka's default partitioner (consistent_random) for a non-empty
    key: CRC-32 of the key modulo the partition count."""
    return zlib.crc32(key) % 3


def check_log(msgs, n, what):
    """The topic holds exactly messages 0..n-1 as produced."""
    want = {value_of(i).encode(): key_of(i).encode() for i in range(n)}
    ck.eq(len(msgs), n, f"{what}: message count")
    counts = collections.Counter(m["value"] for m in msgs)
    ck.eq(sorted(v for v, c in counts.items() if c > 1), [], f"{what}: values seen twice")
    ck.eq(sorted(set(want) - set(counts)), [], f"{what}: values missing")
    ck.eq(sorted(set(counts) - set(want)), [], f"{what}: values never produced")
    key_parts = collections.defaultdict(set)
    for m in msgs:
        v = m["value"]
        if v in want and not ck.eq(m["key"], want[v], f"{what}: key of {v!r}"):
            continue
        key_parts[m["key"]].add(m["partition"])
        ck.check(ms_start - 1000 <= m["timestamp"] <= int(time.time() * 1000) + 1000,
                 f"{what}: timestamp {m['timestamp']} of {v!r} not within the test's run")
    for key, parts in sorted(key_parts.items()):
        ck.eq(sorted(parts), [partition_of(key)], f"{what}: partitions of key {key!r}")
    for p in range(3):
        offs = [m["offset"] for m in msgs if m["partition"] == p]
        ck.eq(offs, list(range(len(offs))), f"{what}: offsets of partition {p}")
        ck.check(offs, f"{what}: partition {p} is empty")
    # Per key, values in offset order are in production order.
    order = {value_of(i).encode(): i for i in range(n)}
    per_key = collections.defaultdict(list)
    for m in msgs:  # consume() sorts by (partition, offset)
        if m["value"] in order:
            per_key[m["key"]].append(order[m["value"]])
    for key, seq in sorted(per_key.items()):
        ck.eq(seq, sorted(seq), f"{what}: order of key {key!r}")
    special = [m for m in msgs if m["value"] == SPECIAL.encode()]
    ck.eq(len(special), 1 if n > 99 else 0, f"{what}: the value with tab/quotes/UTF-8")


def kcat_list(addr, timeout=2):
    return subprocess.run([k.KCAT, "-L", "-J", "-b", addr, "-m", str(timeout)],
                          capture_output=True, timeout=timeout + 10)


with k.KafkaMock(brokers=3) as km:
    print(f"[smoke] mock at {km.bootstrap}", flush=True)

    # The bootstrap list is in broker id order, on loopback.
    md = k.metadata(km.bootstrap)
    ck.eq(sorted((b["id"], b["name"]) for b in md["brokers"]),
          [(i, km.addr(i)) for i in (1, 2, 3)], "brokers in metadata vs bootstrap order")
    ck.check(all(km.addr(i).startswith("127.0.0.1:") for i in (1, 2, 3)),
             f"brokers not on 127.0.0.1: {km.bootstrap}")
    ck.eq(k.topics(km.bootstrap), {}, "topics of a new cluster")

    # Commands: ok and error answers.
    km.topic("smoke", 3)
    for bad, why in ((("topic", "smoke", 3, 1), "existing topic"),
                     (("down", 9), "unknown broker"),
                     (("errors", 0, 2, 6), "count mismatch"),
                     (("frobnicate",), "unknown command")):
        try:
            km.command(*bad)
            ck.check(False, f"mock accepted {bad} ({why})")
        except k.KafkaError:
            pass
    for p in range(3):
        km.leader("smoke", p, p + 1)
    md = k.metadata(km.bootstrap)
    leaders = {p["partition"]: p["leader"] for t in md["topics"] if t["topic"] == "smoke"
               for p in t["partitions"]}
    ck.eq(leaders, {0: 1, 1: 2, 2: 3}, "leaders of smoke after leader()")
    ck.eq(k.topics(km.bootstrap), {"smoke": 3}, "topics after topic smoke 3")

    # 100 keyed messages.
    t0 = time.monotonic()
    k.produce(km.bootstrap, "smoke", [(key_of(i), value_of(i)) for i in range(100)])
    msgs = k.consume(km.bootstrap, "smoke", 100, timeout=60)
    print(f"[smoke] 100 produced and consumed in {time.monotonic() - t0:.2f}s", flush=True)
    check_log(msgs, 100, "first 100")

    # Broker 1 down: its listener refuses, the others answer, and messages for
    # partition 0 (led by broker 1) wait in the producer until it is up.
    km.down(1)
    ck.check(kcat_list(km.addr(1)).returncode != 0, "kcat -L on a down broker succeeded")
    ck.eq(kcat_list(km.addr(2)).returncode, 0, "kcat -L on broker 2 while 1 is down")
    lines = "".join(f"{key_of(i)}\t{value_of(i)}\n" for i in range(100, 110)).encode()
    ck.check(any(partition_of(key_of(i).encode()) == 0 for i in range(100, 110)),
             "no message of the second batch goes to partition 0 (test bug)")
    # (a short reconnect backoff so the producer notices `up` at once)
    prod = subprocess.Popen([k.KCAT, "-P", "-b", km.bootstrap, "-t", "smoke", "-K", r"\t",
                             "-X", "reconnect.backoff.max.ms=200"],
                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    k._PROCS.append(prod)
    prod.stdin.write(lines)
    prod.stdin.close()
    time.sleep(2)
    ck.check(prod.poll() is None,
             "kcat -P finished while the leader of partition 0 was down (down had no effect)")
    t0 = time.monotonic()
    km.up(1)
    try:
        rc = prod.wait(timeout=60)
        ck.eq(rc, 0, f"kcat -P exit status after up ({prod.stderr.read()[-300:]!r})")
    except subprocess.TimeoutExpired:
        ck.check(False, "kcat -P did not deliver within 60s after up")
    msgs = k.consume(km.bootstrap, "smoke", 110, timeout=60)
    print(f"[smoke] delivered {time.monotonic() - t0:.2f}s after up", flush=True)
    check_log(msgs, 110, "all 110 after down/up")
    ck.eq(k.topics(km.bootstrap), {"smoke": 3}, "topics after down/up")

    # Error injection: a non-retriable Produce error fails the delivery and is
    # used up; retriable ones are retried, without duplicates.
    km.topic("errs", 1)
    km.errors(0, [87])  # INVALID_RECORD
    try:
        k.produce(km.bootstrap, "errs", [("a", "rejected")])
        ck.check(False, "produce succeeded despite an injected INVALID_RECORD")
    except k.KafkaError as e:
        ck.check("validate record" in str(e), f"injected error not reported by kcat: {e}")
    km.errors(0, ["NOT_LEADER_FOR_PARTITION", 7])
    k.produce(km.bootstrap, "errs", [("a", "accepted")])
    got = [(m["offset"], m["value"]) for m in k.consume(km.bootstrap, "errs", 1, timeout=30)]
    ck.eq(got, [(0, b"accepted")], "errs after injected errors")

    # Arbitrary bytes survive consume(): kcat -P sends each file as one
    # message, without a key (an empty file sends nothing, silently); then a
    # NULL value (-Z) with a key.
    blobs = [b"line1\nline2\n", b"\x00\xff\xfe\t\r\n%s %S \\n", "\u00e9\U0001F40B".encode()]
    d = tempfile.mkdtemp(prefix="wharf-kafka-smoke-")
    files = []
    for i, b in enumerate(blobs):
        files.append(os.path.join(d, f"m{i}"))
        with open(files[-1], "wb") as f:
            f.write(b)
    km.topic("bin", 1)
    for path in files:  # one kcat per file keeps the order
        p = subprocess.run([k.KCAT, "-P", "-b", km.bootstrap, "-t", "bin", path],
                           capture_output=True, timeout=60)
        ck.eq(p.returncode, 0, f"kcat -P {path}: {p.stderr[-300:]!r}")
    shutil.rmtree(d, ignore_errors=True)
    p = subprocess.run([k.KCAT, "-P", "-b", km.bootstrap, "-t", "bin", "-K", r"\t", "-Z"],
                       input=b"knull\t\n", capture_output=True, timeout=60)
    ck.eq(p.returncode, 0, f"kcat -P -Z: {p.stderr[-300:]!r}")
    got = [(m["offset"], m["key"], m["value"]) for m in k.consume(km.bootstrap, "bin", 4)]
    ck.eq(got, [(i, None, b) for i, b in enumerate(blobs)] + [(3, b"knull", None)],
          "binary and NULL values read back")

    # consume() does not create a topic; producing to an unknown topic does.
    try:
        k.consume(km.bootstrap, "absent", 1, timeout=2)
        ck.check(False, "consume() of a missing topic returned")
    except k.KafkaError as e:
        ck.check("0 of 1" in str(e), f"consume() timeout message: {e}")
    ck.check("absent" not in k.topics(km.bootstrap), "consume() created the topic")
    k.produce(km.bootstrap, "auto", [("a", "b")])
    ck.eq(k.topics(km.bootstrap).get("auto"), 4, "partitions of an auto-created topic")

ck.finish(f"110 messages exact through down/up, error injection, auto-create; "
          f"{time.monotonic() - t_start:.1f}s")
