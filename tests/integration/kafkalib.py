"""Kafka helpers for the integration tests (not a test itself).

The Kafka output is tested against librdkafka's mock cluster, a real Kafka
wire-protocol server on 127.0.0.1 (tests/helpers/kafka_mock.c, built as
wharf-kafka-mock; ctest passes its path in WHARF_KAFKA_MOCK), and what arrived
is read back with Debian's `kcat`. Python 3.11 standard library only; unlike
wharftest.py this module does not need WHARF_BIN, so infrastructure tests can
run without wharf.

What is here:
  KafkaMock        context manager around wharf-kafka-mock: .bootstrap,
                   .addr(broker_id), topic(), down(), up(), leader(), errors(),
                   rtt(); every command waits for the mock's `ok` and raises
                   KafkaError on `error ...`. The process is stopped on exit
                   (`quit`, then SIGKILL if it hangs) and at interpreter exit.
  consume()        every message of a topic, via `kcat -C`, retried until
                   `count` arrived; list of dicts ordered by (partition, offset)
  topics()         topic -> partition count, via `kcat -L -J`
  metadata()       the whole `kcat -L -J` document (brokers, leaders, replicas)
  produce()        keyed messages via `kcat -P -K '\\t'`

Things the mock cluster of librdkafka 2.0.2 does differently from a real broker
(observed with tests/integration/test_kafka_mock_smoke.py and by hand):
  - a Metadata request for an unknown topic creates it with 4 partitions, also
    from a plain consumer; consume() therefore waits for the topic to exist
    before it runs `kcat -C`, so reading never creates the topic itself.
  - each partition keeps only its last 5 MiB (or 100,000 batches): older
    batches are dropped and the log start offset moves; keep test volumes
    below that per partition or consume while producing.
  - the replication factor given to topic() is ignored: every partition lists
    all brokers as replicas, and leaders are picked at random. Use leader() to
    pin a partition to a broker before taking that broker down().
  - down() closes the broker's listener and connections but does not move
    leadership: its partitions are unavailable until up() (or leader()).
"""
import atexit
import json
import os
import select
import shutil
import subprocess
import tempfile
import time

MOCK = os.environ.get("WHARF_KAFKA_MOCK", "")
KCAT = shutil.which("kcat") or "kcat"

# Record layout of `kcat -C -f`: a text header with the lengths, then exactly
# that many key and value bytes, then a newline. Splitting by the lengths
# rather than by a delimiter keeps any byte (newline, tab, NUL, invalid UTF-8)
# in keys and values intact; -1 is a NULL key or value.
KCAT_FORMAT = r"%p %o %T %K %S\n%k%s\n"

# kcat -e stops at the end of every partition; the mock holds an empty fetch
# for fetch.wait.max.ms (500 ms by default), so a short wait makes each
# attempt fast.
_KCAT_CONSUMER_OPTS = ["-X", "fetch.wait.max.ms=50"]

_PROCS = []


class KafkaError(Exception):
    pass


@atexit.register
def _cleanup():
    for p in _PROCS:
        if p.poll() is None:
            try:
                p.kill()  # only mock processes this test started, by their pid
                p.wait(timeout=10)
            except Exception:
                pass


# ------------------------------------------------------------- the mock ---


class KafkaMock:
    """wharf-kafka-mock with `brokers` brokers (ids 1..brokers).

    with KafkaMock() as k:
        k.topic("logs", 3)
        ... wharf ships to k.bootstrap ...
        msgs = consume(k.bootstrap, "logs", 100)
    """

    def __init__(self, brokers=3, timeout=30):
        self.brokers = brokers
        self.timeout = timeout
        self.proc = None
        self.bootstrap = None
        self._buf = b""
        self._log = None

    # -- lifecycle

    def start(self):
        if not MOCK or not os.access(MOCK, os.X_OK):
            raise KafkaError(f"WHARF_KAFKA_MOCK is not an executable: {MOCK!r}")
        self._log = tempfile.TemporaryFile(prefix="wharf-kafka-mock-")
        self.proc = subprocess.Popen([MOCK, str(self.brokers)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self._log, bufsize=0)
        _PROCS.append(self.proc)
        line = self._readline(self.timeout, "the bootstrap line")
        if not line.startswith("bootstrap="):
            raise KafkaError(f"wharf-kafka-mock: expected 'bootstrap=...', got {line!r}"
                             + self._log_tail())
        self.bootstrap = line[len("bootstrap="):]
        if len(self.bootstrap.split(",")) != self.brokers:
            raise KafkaError(f"wharf-kafka-mock: {self.brokers} brokers but bootstrap "
                             f"{self.bootstrap!r}")
        return self

    def stop(self, timeout=10):
        """`quit` and wait for the exit; SIGKILL when it hangs. Returns the
        exit status (0 after a clean quit)."""
        p = self.proc
        if p is None:
            return None
        if p.poll() is None:
            try:
                self.command("quit", timeout=timeout)
            except (KafkaError, OSError):
                pass
            try:
                p.stdin.close()
            except OSError:
                pass
            try:
                p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=10)
        p.stdout.close()
        return p.returncode

    def __enter__(self):
        return self.start()

    def __exit__(self, exc_type, exc, tb):
        rc = self.stop()
        if exc_type is None and rc != 0:
            raise KafkaError(f"wharf-kafka-mock exited with {rc}" + self._log_tail())
        return False

    # -- commands

    def addr(self, broker_id):
        """host:port of one broker (the bootstrap list is in broker id order)."""
        return self.bootstrap.split(",")[broker_id - 1]

    def command(self, *args, timeout=None):
        """Sends one command line and waits for its answer; raises KafkaError
        on `error ...`."""
        words = [str(a) for a in args]
        for w in words:
            if not w or any(c in w for c in " \t\r\n"):
                raise ValueError(f"mock command argument must be one word: {w!r}")
        line = " ".join(words)
        if self.proc is None or self.proc.poll() is not None:
            raise KafkaError(f"wharf-kafka-mock is not running (command {line!r})")
        try:
            self.proc.stdin.write((line + "\n").encode())
        except OSError as e:
            raise KafkaError(f"wharf-kafka-mock: {line}: {e}" + self._log_tail())
        answer = self._readline(timeout or self.timeout, f"the answer to {line!r}")
        if answer == "ok":
            return
        if answer.startswith("error"):
            raise KafkaError(f"wharf-kafka-mock: {line}: {answer[5:].strip()}")
        raise KafkaError(f"wharf-kafka-mock: {line}: unexpected answer {answer!r}")

    def topic(self, name, partitions, replication=1):
        """Creates a topic (error if it exists). The mock ignores
        `replication`: all brokers are replicas."""
        self.command("topic", name, partitions, replication)

    def down(self, broker):
        """Closes the broker's listener and connections (-1: all brokers).
        Its partitions stay led by it, so they are unavailable until up()."""
        self.command("down", broker)

    def up(self, broker):
        self.command("up", broker)

    def leader(self, topic, partition, broker):
        """Moves a partition's leader (-1: leaderless). Creates the topic with
        4 partitions if it does not exist."""
        self.command("leader", topic, partition, broker)

    def errors(self, api_key, errcodes):
        """The next len(errcodes) requests of api_key (0 Produce, 1 Fetch, 3
        Metadata, 18 ApiVersions, 22 InitProducerId) fail with these error
        codes, in order, cluster-wide. A code is an int (6
        NOT_LEADER_FOR_PARTITION, 7 REQUEST_TIMED_OUT, -195 _TRANSPORT: the
        broker drops the connection) or a librdkafka name."""
        errcodes = list(errcodes)
        self.command("errors", api_key, len(errcodes), *errcodes)

    def rtt(self, broker, ms):
        """Delays every response of a broker (-1: all) by ms milliseconds."""
        self.command("rtt", broker, ms)

    def log(self):
        """What the mock (librdkafka) wrote on stderr so far."""
        if self._log is None:
            return ""
        self._log.seek(0)
        return self._log.read().decode("utf-8", "replace")

    # -- internals

    def _log_tail(self):
        text = self.log().strip()
        return "\n  mock stderr: " + text[-2000:] if text else ""

    def _readline(self, timeout, what):
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise KafkaError(f"wharf-kafka-mock: no {what} within {timeout}s"
                                 + self._log_tail())
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            data = os.read(fd, 4096)
            if not data:
                rc = self.proc.wait(timeout=10)
                raise KafkaError(f"wharf-kafka-mock exited ({rc}) before {what}"
                                 + self._log_tail())
            self._buf += data
        line, self._buf = self._buf.split(b"\n", 1)
        return line.decode("utf-8", "replace")


# --------------------------------------------------------------- kcat ---


def _kcat(args, timeout, stdin=None):
    return subprocess.run([KCAT] + args, input=stdin, capture_output=True, timeout=timeout)


def metadata(bootstrap, timeout=15):
    """`kcat -L -J`: {"brokers": [{"id", "name"}], "topics": [{"topic",
    "partitions": [{"partition", "leader", "replicas", "isrs"}]}], ...}."""
    p = _kcat(["-L", "-J", "-b", bootstrap, "-m", str(max(1, int(timeout) - 2))], timeout + 5)
    if p.returncode != 0:
        raise KafkaError(f"kcat -L -b {bootstrap} failed ({p.returncode}): "
                         f"{p.stderr.decode('utf-8', 'replace').strip()}")
    return json.loads(p.stdout)


def topics(bootstrap, timeout=15):
    """topic -> partition count (listing all topics creates none)."""
    return {t["topic"]: len(t.get("partitions") or [])
            for t in metadata(bootstrap, timeout)["topics"]}


def parse_kcat(data):
    """Records of KCAT_FORMAT output -> list of dicts; raises KafkaError on
    output that does not follow the format (a truncated last record too)."""
    out, pos = [], 0
    while pos < len(data):
        nl = data.find(b"\n", pos)
        if nl < 0:
            raise KafkaError(f"kcat output: header without newline at byte {pos}: "
                             f"{data[pos:pos + 80]!r}")
        fields = data[pos:nl].split(b" ")
        try:
            part, off, ts, klen, vlen = (int(f) for f in fields)
        except ValueError:
            raise KafkaError(f"kcat output: bad header at byte {pos}: {data[pos:nl][:80]!r}")
        pos = nl + 1
        key = data[pos:pos + klen] if klen >= 0 else None
        pos += max(klen, 0)
        value = data[pos:pos + vlen] if vlen >= 0 else None
        pos += max(vlen, 0)
        if pos >= len(data) or data[pos:pos + 1] != b"\n":
            raise KafkaError(f"kcat output: record at partition {part} offset {off} is "
                             f"truncated or longer than its lengths say")
        pos += 1
        out.append({"partition": part, "offset": off, "timestamp": ts, "key": key,
                    "value": value})
    return out


def consume(bootstrap, topic, count, timeout=60):
    """Every message of `topic` from the beginning, read with `kcat -C -e`
    again and again until at least `count` arrived (all of them are returned,
    so a caller sees duplicates) or `timeout` seconds passed (KafkaError,
    saying how many arrived). Each message is {"partition", "offset",
    "timestamp" (ms), "key" (bytes or None), "value" (bytes or None)}, ordered
    by (partition, offset). Does not create the topic: it waits until it
    exists."""
    deadline = time.monotonic() + timeout
    got, last, attempts = [], "", 0
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        attempts += 1
        try:
            if topic not in topics(bootstrap, timeout=max(3, min(15, int(left)))):
                last = "topic does not exist (yet)"
            else:
                p = _kcat(["-C", "-b", bootstrap, "-t", topic, "-o", "beginning", "-e", "-q",
                           "-f", KCAT_FORMAT] + _KCAT_CONSUMER_OPTS, timeout=max(1, min(30, left)))
                if p.returncode != 0:
                    last = (f"kcat exited {p.returncode}: "
                            f"{p.stderr.decode('utf-8', 'replace').strip()[-500:]}")
                else:
                    got = parse_kcat(p.stdout)
                    got.sort(key=lambda m: (m["partition"], m["offset"]))
                    if len(got) >= count:
                        return got
                    last = f"kcat read {len(got)}"
        except subprocess.TimeoutExpired:
            last = "kcat did not reach the end of every partition in time (leader down?)"
        except KafkaError as e:
            last = str(e)
        time.sleep(min(0.2, max(0, deadline - time.monotonic())))
    raise KafkaError(f"consume {topic!r} from {bootstrap}: {len(got)} of {count} messages "
                     f"arrived within {timeout}s ({attempts} attempts; last: {last})")


def produce(bootstrap, topic, records, timeout=60):
    """Produces (key, value) pairs (str or bytes) with
    `kcat -P -K '\\t'`, one message per line, and waits until kcat delivered
    them all. Keys must not contain a tab or newline, values no newline (kcat
    splits at the first tab, so values may contain tabs). Raises KafkaError
    when kcat fails (e.g. a delivery error)."""
    lines = []
    for key, value in records:
        k = key.encode() if isinstance(key, str) else key
        v = value.encode() if isinstance(value, str) else value
        if k is None:
            raise ValueError("produce(): a key is required with -K; use kcat directly")
        if b"\t" in k or b"\n" in k or b"\n" in v:
            raise ValueError(f"produce(): key {k!r} / value {v[:40]!r} would be split by kcat")
        lines.append(k + b"\t" + v + b"\n")
    p = _kcat(["-P", "-b", bootstrap, "-t", topic, "-K", r"\t"], timeout, stdin=b"".join(lines))
    if p.returncode != 0:
        raise KafkaError(f"kcat -P -t {topic} failed ({p.returncode}): "
                         f"{p.stderr.decode('utf-8', 'replace').strip()[-1000:]}")
    return p
