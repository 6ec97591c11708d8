"""The syslog output against a real rsyslogd (tests/integration/sysloglib.py).

Each scenario runs wharf with a `file` output next to the syslog ones: the
file holds the events in delivery order, so every received syslog line is
compared with the event it came from, field by field (PRI, timestamp cut to
6 digits, hostname, app-name, SD params and their escaping, MSG). Covered:
TCP octet-counting + payload json, TCP newline framing + payload message,
RFC 3164, utf8_bom and a cut on a UTF-8 boundary, UDP with a datagram cut at
udp_max_size and a receiver that is away, TLS verified against the test CA
(by IP and by name) next to a TLS output trusting another CA (nothing
delivered, one clear error), a receiver requiring a client certificate, a
receiver stopped and restarted during a live run, quiet and under load
(losses and duplicates counted, each outage logged once), a receiver that
stops reading (wharf's loop goes on, frames stay whole), wharf stopping
while the receiver reads nothing (what it never acknowledged goes out at the
next start), and `wharf check` errors. Runs in about 15-25 s."""
import fcntl
import json
import re
import socket
import struct
import termios
import threading
import time

import sysloglib as sl
import wharftest as t

ck = t.Checker("syslog_output")
T0 = time.monotonic()

ODD_NAME = 'web"1\\x]y'  # needs PARAM-VALUE escaping: " \ ]
SPECIAL = 'quote " backslash \\ bracket ] accent é end'


def ts(i):
    return f"2024-05-01T10:{i // 60 % 60:02d}:{i % 60:02d}.{(i * 7919) % 10**9:09d}Z"


def make_inputs(s, n):
    """A docker container with a name needing escaping, a plain one, and a
    CRI pod; n lines each (every 5th on stderr), plus the special message."""
    host = t.DockerHost(s.path("docker"))
    odd, plain = host.add(ODD_NAME, seed="odd"), host.add("api-1", image="redis:7.2")
    pods = t.PodLogs(s.path("k8s"))
    pod = pods.add("prod", "shop-7d9f", "cart")
    for c in (odd, plain):
        c.append(b"".join(t.docker_line(f"{c.name} n={i}\n", "stderr" if i % 5 == 0 else "stdout",
                                        ts(i)) for i in range(n)))
    odd.append(t.docker_line(SPECIAL + "\n", "stdout", ts(n)))
    pod.append(b"".join(t.cri_line(f"cart n={i}", "stderr" if i % 5 == 0 else "stdout",
                                   time=ts(i)) for i in range(n)))
    return [{"type": "docker", "id": "docker", "root": s.path("docker"),
             "read_from": "beginning"},
            {"type": "cri", "id": "cri", "paths": [pods.glob()], "read_from": "beginning"}]


def file_out(s):
    return {"type": "file", "id": "file", "path": s.out}


SD_PARAMS = ["container.id", "container.name", "container.image.name",
             "orchestrator.namespace", "orchestrator.resource.name"]


def expected_sd(ev):
    return {p: t.get(ev, p) for p in SD_PARAMS if t.has(ev, p)}


def expected_pri(ev):
    return 8 * 1 + (4 if ev.get("stream") == "stderr" else 6)


def check_5424(what, lines, events, payload="json", app=None):
    ck.eq(len(lines), len(events), f"{what}: one syslog message per event")
    for i, (line, ev) in enumerate(zip(lines, events)):
        m = sl.parse_5424(line)
        if not ck.check(m, f"{what}: line {i} is not RFC 5424: {line[:200]!r}"):
            continue
        want_app = app if app is not None else ev["container"]["name"]
        ck.eq(int(m["pri"]), expected_pri(ev), f"{what}: line {i} PRI")
        ck.eq(m["ts"], ev["@timestamp"][:26] + "Z", f"{what}: line {i} timestamp")
        ck.eq(m["host"], t.HOST_NAME, f"{what}: line {i} hostname")
        ck.eq(m["app"], want_app, f"{what}: line {i} app-name")
        ck.eq((m["procid"], m["msgid"]), ("-", "-"), f"{what}: line {i} procid, msgid")
        sd_id, params = sl.parse_sd(m["sd"])
        ck.eq(sd_id, "wharf@32473", f"{what}: line {i} SD-ID")
        ck.eq(params, expected_sd(ev), f"{what}: line {i} SD params")
        if payload == "json":
            ck.eq(json.loads(m["msg"]), ev, f"{what}: line {i} MSG is the event")
        else:
            ck.eq(m["msg"], ev["message"], f"{what}: line {i} MSG is the message")


def check_known_values(what, lines):
    """Values written down independently of the file output."""
    odd = [sl.parse_5424(l) for l in lines if "x\\]y" in l]
    ck.check(odd, f"{what}: the odd container's messages arrived")
    if odd:
        sd_id, params = sl.parse_sd(odd[0]["sd"])
        ck.check('container.name="web\\"1\\\\x\\]y"' in odd[0]["sd"],
                 f"{what}: container.name escaped in the SD: {odd[0]['sd'][:200]}")
        ck.eq(params.get("container.name"), ODD_NAME, f"{what}: SD container.name unescaped")
        ck.eq(params.get("container.image.name"), "nginx", f"{what}: SD image name")
    pod = [sl.parse_5424(l) for l in lines if "cart n=3" in l]
    if ck.check(pod, f"{what}: the pod's messages arrived"):
        ck.eq(sl.parse_sd(pod[0]["sd"])[1].get("orchestrator.resource.name"), "shop-7d9f",
              f"{what}: SD pod name")
        ck.eq(sl.parse_sd(pod[0]["sd"])[1].get("orchestrator.namespace"), "prod",
              f"{what}: SD namespace")
        ck.eq(pod[0]["ts"], "2024-05-01T10:00:03.000023Z", f"{what}: pod timestamp")
    err = [sl.parse_5424(l) for l in lines if "api-1 n=5" in l]
    if ck.check(err, f"{what}: a stderr line arrived"):
        ck.eq(err[0]["pri"], "12", f"{what}: stderr -> user.warning")


# ------------------------------------------------------------ scenarios ---


def scenario_tcp():
    """TCP: octet-counting + payload json, and newline + payload message,
    and RFC 3164, three outputs into one rsyslog."""
    r = sl.Rsyslog("tcp")
    s = t.Setup("syslog-tcp")
    n = 300
    inputs = make_inputs(s, n)
    sys_octet = {"type": "syslog", "id": "octet", "address": r.address}
    s.config(inputs, [file_out(s), sys_octet])
    t.oneshot(s.cfg)
    events = t.read_events(s.out)
    ck.eq(len(events), 3 * n + 1, "tcp: events in the file output")
    lines = r.wait_lines(len(events), 30, quiet=3)
    check_5424("tcp octet json", lines, events)
    check_known_values("tcp octet json", lines)
    special = [l for l in lines if "accent" in l]
    if ck.check(special, "tcp: the special message arrived"):
        ck.eq(json.loads(sl.parse_5424(special[0])["msg"])["message"], SPECIAL,
              "tcp: the special message's text in the JSON MSG")
    r.stop()
    return events


def scenario_newline_message():
    r = sl.Rsyslog("tcp")
    s = t.Setup("syslog-nl")
    n = 100
    inputs = make_inputs(s, n)
    s.config(inputs, [file_out(s), {
        "type": "syslog", "id": "nl", "address": r.address, "framing": "newline",
        "payload": "message", "app_name": "shop-${orchestrator.namespace:-none}"}])
    t.oneshot(s.cfg)
    events = t.read_events(s.out)
    lines = r.wait_lines(len(events), 30, quiet=3)
    ck.eq(len(lines), 3 * n + 1, "newline: messages received")
    for i, (line, ev) in enumerate(zip(lines, events)):
        m = sl.parse_5424(line)
        if ck.check(m, f"newline: line {i} RFC 5424"):
            want = "shop-" + (t.get(ev, "orchestrator.namespace") or "none")
            ck.eq(m["app"], want, f"newline: line {i} app-name from the template")
            ck.eq(m["msg"], ev["message"], f"newline: line {i} MSG is the message text")
    ck.check(any(sl.parse_5424(l) and sl.parse_5424(l)["msg"] == SPECIAL for l in lines),
             "newline: the special message arrived exactly (quote, backslash, bracket, é)")
    r.stop()


def scenario_bom_and_cut():
    """utf8_bom, and a TCP message cut at max_message_size on a UTF-8 boundary."""
    r = sl.Rsyslog("tcp")
    s = t.Setup("syslog-cut")
    c = t.DockerHost(s.path("docker")).add("cut")
    texts = ["short é", "é" * 2000, "after"]
    c.append(b"".join(t.docker_line(x + "\n") for x in texts))
    s.config([{"type": "docker", "id": "docker", "root": s.path("docker"),
               "read_from": "beginning"}],
             [{"type": "syslog", "id": "cut", "address": r.address, "payload": "message",
               "utf8_bom": True, "max_message_size": 1002}])
    p = t.oneshot(s.cfg)
    lines = r.wait_lines(3, 15, quiet=2)
    msgs = [sl.parse_5424(l)["msg"] for l in lines if sl.parse_5424(l)]
    ck.eq(len(msgs), 3, "cut: every message arrived")
    if len(msgs) == 3:
        ck.eq([msgs[0], msgs[2]], ["\ufeffshort é", "\ufeffafter"], "cut: BOM then the text")
        ck.check(msgs[1].startswith("\ufeff" + "éé") and set(msgs[1][1:]) == {"é"},
                 "cut: the long one holds whole characters only")
        # header + BOM are odd-sized here, so byte 1002 would split an é
        ck.eq(len(lines[1].encode()), 1001, "cut: not inside a UTF-8 sequence")
    ck.check("cut_total=1" in p.stderr.decode(), "cut: counted and logged")
    r.stop()


def scenario_3164():
    r = sl.Rsyslog("tcp")
    s = t.Setup("syslog-3164")
    inputs = make_inputs(s, 20)
    s.config(inputs, [file_out(s), {
        "type": "syslog", "id": "bsd", "address": r.address, "format": "rfc3164",
        "framing": "newline", "payload": "message"}])
    t.oneshot(s.cfg)
    events = t.read_events(s.out)
    lines = r.wait_lines(len(events), 30, quiet=3)
    ck.eq(len(lines), len(events), "3164: messages received")
    for i, (line, ev) in enumerate(zip(lines, events)):
        m = sl.parse_3164(line)
        if not ck.check(m, f"3164: line {i} is RFC 3164: {line[:160]!r}"):
            continue
        sec = ev["@timestamp"][14:19]
        ck.eq(m["ts"], f"May  1 10:{sec}", f"3164: line {i} timestamp")
        ck.eq(m["tag"], re.sub(r"[^A-Za-z0-9]", "", ev["container"]["name"])[:32],
              f"3164: line {i} tag")
        ck.eq((int(m["pri"]), m["host"], m["msg"]), (expected_pri(ev), t.HOST_NAME,
              ev["message"]), f"3164: line {i} pri, host, msg")
    r.stop()


def scenario_udp():
    r = sl.Rsyslog("udp")
    s = t.Setup("syslog-udp")
    host = t.DockerHost(s.path("docker"))
    c = host.add("udp-app")
    texts = [f"udp n={i} é" for i in range(50)]
    long_text = "L" * 5000
    texts.insert(25, long_text)
    c.append(b"".join(t.docker_line(x + "\n", "stdout", ts(i)) for i, x in enumerate(texts)))
    s.config([{"type": "docker", "id": "docker", "root": s.path("docker"),
               "read_from": "beginning"}],
             [file_out(s), {"type": "syslog", "id": "udp", "address": r.address,
                            "payload": "message", "udp_max_size": 1024}])
    p = t.oneshot(s.cfg)
    lines = r.wait_lines(len(texts), 20, quiet=3)
    ck.eq(len(lines), len(texts), "udp: one datagram per event (localhost loses none)")
    got = [sl.parse_5424(l) for l in lines]
    ck.check(all(got), "udp: every datagram is RFC 5424")
    msgs = [m["msg"] for m in got if m]
    short = [m for m in msgs if not m.startswith("LLL")]
    ck.eq(sorted(short), sorted(x for x in texts if x != long_text), "udp: short messages exact")
    cut = [l for l in lines if "LLLL" in l]
    if ck.check(len(cut) == 1, "udp: the long message arrived once"):
        ck.eq(len(cut[0].encode()), 1024, "udp: the long message cut at udp_max_size")
    log = p.stderr.decode()
    ck.check(re.search(r'msg="syslog: message longer than the size limit; cut" output=udp '
                       r'limit=1024 size=\d+ cut_total=1', log),
             f"udp: the cut is logged with its count: {log[-800:]}")
    r.stop()
    # receiver away: UDP cannot tell, wharf says so once and carries on
    c.append(b"".join(t.docker_line(f"after n={i}\n") for i in range(20)))
    p = t.oneshot(s.cfg)
    log = p.stderr.decode()
    ck.eq(log.count("syslog: the UDP receiver refuses datagrams"), 1,
          f"udp: a refusing receiver is logged once: {log[-800:]}")
    ck.check("output cannot take events" not in log, "udp: no outage for a UDP receiver away")


def scenario_tls():
    r = sl.Rsyslog("tls")
    s = t.Setup("syslog-tls")
    other_key, other_ca = sl.make_ca(s.dir, "other-ca")
    n = 100
    inputs = make_inputs(s, n)
    s.config(inputs, [file_out(s),
                      {"type": "syslog", "id": "good", "address": r.address,
                       "tls": {"ca_file": r.ca}},
                      {"type": "syslog", "id": "bad", "address": r.address,
                       "tls": {"ca_file": other_ca}},
                      {"type": "syslog", "id": "byname", "app_name": "byname",
                       "address": f"tls://localhost:{r.port}", "framing": "newline",
                       "tls": {"ca_file": r.ca}}])
    p = t.oneshot(s.cfg, expect_rc=None)
    log = p.stderr.decode()
    events = t.read_events(s.out)
    all_lines = r.wait_lines(2 * len(events), 30, quiet=3)
    lines = [l for l in all_lines if " byname " not in l[:80]]
    check_5424("tls good", lines, events)
    ck.eq(len(all_lines) - len(lines), len(events), "tls: by host name (SNI, name check): all")
    bad = re.findall(r'.*TLS certificate verification of the receiver failed.*output=bad.*', log)
    ck.eq(len(bad), 1, f"tls: the bad CA is logged once: {log[-1500:]}")
    ck.check(bad and 'error="unable to get local issuer certificate"' in bad[0],
             f"tls: the reason is given: {bad}")
    ck.check(not re.search(r"verification.*output=good", log), "tls: the good one verified")
    ck.note(f"tls: wharf exit code with an undeliverable output: {p.returncode}")
    r.stop()


def scenario_tls_client_cert():
    """A receiver that requires a client certificate: the output with one
    delivers everything, the one without is refused and says so once."""
    r = sl.Rsyslog("tls", auth_mode="x509/certvalid")
    cert, key = r.client_cert()
    s = t.Setup("syslog-tls-client")
    inputs = make_inputs(s, 20)
    s.config(inputs, [file_out(s),
                      {"type": "syslog", "id": "withcert", "address": r.address,
                       "tls": {"ca_file": r.ca, "cert_file": cert, "key_file": key}},
                      {"type": "syslog", "id": "nocert", "address": r.address,
                       "tls": {"ca_file": r.ca}}])
    p = t.oneshot(s.cfg, expect_rc=None)
    log = p.stderr.decode()
    events = t.read_events(s.out)
    lines = r.wait_lines(len(events) + 1, 15, quiet=3)
    check_5424("tls client cert", lines, events)  # exactly once: nothing from nocert
    refused = [l for l in log.splitlines() if "output=nocert" in l and 'msg="syslog: ' in l]
    ck.eq(len(refused), 1, f"tls client cert: the refused one logged once: {log[-1500:]}")
    ck.note(f"tls client cert: without a certificate wharf logs: {refused[:1]}")
    r.stop()


def scenario_restart():
    """A live run; the TCP receiver is stopped and restarted in the middle."""
    r = sl.Rsyslog("tcp")
    s = t.Setup("syslog-restart")
    host = t.DockerHost(s.path("docker"))
    c = host.add("live")
    s.config([{"type": "docker", "id": "docker", "root": s.path("docker"),
               "read_from": "beginning"}],
             [{"type": "syslog", "id": "live", "address": r.address, "payload": "message"}])
    live = t.Live(s.cfg, s.log)
    seq = 0

    def burst(k, pause=0.02):
        nonlocal seq
        for _ in range(k):
            c.append(b"".join(t.docker_line(f"seq={seq + j}\n") for j in range(20)))
            seq += 20
            time.sleep(pause)

    burst(50)
    t.wait_until(lambda: len(r.lines()) >= seq, 20)
    r.stop()  # quiet: everything sent so far was read
    burst(50)  # while the receiver is away
    time.sleep(1.0)
    r.start()
    burst(50)
    t.wait_until(lambda: len(r.lines()) >= seq, 20)
    mid = seq
    sender = threading.Thread(target=burst, args=(100, 0.01))
    sender.start()  # stopped while events flow
    time.sleep(0.4)
    r.stop()
    time.sleep(0.5)
    r.start()
    sender.join()
    def seqs():
        return [int(m.group(1)) for m in (re.search(r"seq=(\d+)$", l) for l in r.lines()) if m]

    # every number, not a count of lines: a line sent twice would end the wait early
    t.wait_until(lambda: set(seqs()) >= set(range(seq)), 60)
    live.term()
    got = seqs()
    counts = {}
    for v in got:
        counts[v] = counts.get(v, 0) + 1
    lost = [v for v in range(seq) if v not in counts]
    ck.note(f"restart: lost {sum(1 for v in lost if v < mid)} of the {mid} events sent around "
            f"a quiet stop, {sum(1 for v in lost if v >= mid)} of the {seq - mid} sent around a "
            f"stop under load (lost: {lost[:20]})")
    dup = sum(n - 1 for n in counts.values() if n > 1)
    ck.note(f"restart: sent {seq}, received {len(got)}, lost {len(lost)}, duplicated {dup}")
    ck.eq([v for v in lost if v < mid], [], "restart: nothing lost around a quiet stop")
    # rsyslog reads what its kernel took before it closes; what wharf's
    # kernel still held was not acknowledged, so it is sent again
    ck.eq([v for v in lost if v >= mid], [], "restart: nothing lost around a stop under load")
    ck.check(dup <= 1, f"restart: at most one frame duplicated ({dup})")
    with open(s.log) as f:
        log = f.read()
    down = log.count('msg="output cannot take events; keeping them in the buffer and retrying"'
                     " output=live")
    ck.eq(down, 2, f"restart: each of the two outages logged once: {log[-2000:]}")
    ck.eq(log.count('msg="output takes events again; catching up from the buffer" output=live'),
          2, "restart: each recovery logged once")
    r.stop()


class StallingReceiver:
    """A TCP receiver that accepts, reads nothing for `stall` seconds, then
    reads everything and splits octet-counted frames."""

    def __init__(self, stall, port=0):
        self.srv = socket.socket()
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.srv.bind(("127.0.0.1", port))
        self.srv.listen(4)
        self.port = self.srv.getsockname()[1]
        self.data = bytearray()
        self.stall = stall
        self.reading = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        conn, _ = self.srv.accept()
        time.sleep(self.stall)
        self.reading.set()
        conn.settimeout(0.5)
        while True:
            try:
                chunk = conn.recv(1 << 16)
            except socket.timeout:
                continue
            except OSError:
                return
            if not chunk:
                return
            self.data += chunk

    def frames(self):
        return octet_frames(bytes(self.data))


def octet_frames(data):
    """The whole octet-counted frames at the start of data."""
    out, i = [], 0
    while i < len(data):
        sp = data.index(b" ", i)
        n = int(data[i:sp])
        if sp + 1 + n > len(data):
            break
        out.append(data[sp + 1:sp + 1 + n].decode())
        i = sp + 1 + n
    return out


def message_seqs(frames):
    return [int(re.search(r'"message":"seq=(\d+) ', f).group(1)) for f in frames]


def file_and_tcp(name, port):
    """A setup with one Docker container, a file output and a TCP syslog
    output (id `name`) to port on loopback; returns it and the container."""
    s = t.Setup(f"syslog-{name}")
    c = t.DockerHost(s.path("docker")).add(name)
    s.config([{"type": "docker", "id": "docker", "root": s.path("docker"),
               "read_from": "beginning"}],
             [file_out(s), {"type": "syslog", "id": name,
                            "address": f"tcp://127.0.0.1:{port}"}])
    return s, c


def scenario_stall():
    """A receiver that stops reading: wharf's loop keeps going (the file
    output keeps up), frames stay whole, everything arrives once."""
    rcv = StallingReceiver(stall=4)
    s, c = file_and_tcp("stall", rcv.port)
    live = t.Live(s.cfg, s.log)
    n, pad = 4000, "p" * 3000  # ~14 MB of frames: far more than socket buffers
    c.append(b"".join(t.docker_line(f"seq={i} {pad}\n") for i in range(n)))
    counted = t.wait_count(s.out, n, 20)
    ck.check(not rcv.reading.is_set(),
             "stall: the file output got every event while the receiver did not read")
    ck.eq(counted, n, "stall: file output complete during the stall")
    t.wait_until(lambda: len(rcv.frames()) >= n, 60)
    live.term()
    ck.eq(message_seqs(rcv.frames()), list(range(n)), "stall: every frame whole, in order, once")


class DeafReceiver:
    """A TCP receiver with a 4 KiB receive window that reads nothing: what
    wharf writes beyond that waits, unacknowledged, in wharf's socket."""

    def __init__(self):
        self.srv = socket.socket()
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # before listen(): the accepted socket's window is small from the start
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(1)
        self.port = self.srv.getsockname()[1]
        self.conn = None
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        self.conn, _ = self.srv.accept()

    def read_and_reset(self):
        """What its kernel holds now (all it acknowledged); then a reset,
        which drops what the sender's kernel still had. Only that much: each
        read opens the window, and more would come in."""
        held = struct.unpack("i", fcntl.ioctl(self.conn, termios.FIONREAD, b"\0" * 4))[0]
        data = bytearray()
        while len(data) < held:
            data += self.conn.recv(held - len(data))
        self.conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.conn.close()
        self.srv.close()
        return bytes(data)


def scenario_exit_unread():
    """wharf stops while the receiver reads nothing: the frames in wharf's
    socket were never acknowledged, so the cursor stays before them and the
    next start sends them. (Counting them as delivered once written lost
    them: the kernel drops them when the connection goes.)"""
    rcv = DeafReceiver()
    s, c = file_and_tcp("deaf", rcv.port)
    with open(s.cfg, "a") as f:
        f.write("shutdown_timeout: 1s\n")
    live = t.Live(s.cfg, s.log)
    n, pad = 250, "p" * 500  # ~200 KB of frames: all fit in wharf's socket
    c.append(b"".join(t.docker_line(f"seq={i} {pad}\n") for i in range(n)))
    ck.eq(t.wait_count(s.out, n, 20), n, "exit unread: the file output got every event")
    time.sleep(1.5)  # cursor saves while every frame sits in the socket
    ck.eq(live.term(), 0, "exit unread: SIGTERM exit code")
    first = message_seqs(octet_frames(rcv.read_and_reset()))
    ck.check(len(first) < n // 2, f"exit unread: the receiver had little: {len(first)}")
    lag = json.loads(t.run_wharf(["buffer", "stat", "-c", s.cfg, "--json"]).stdout)
    lag = {o["id"]: o["lag_events"] for o in lag["outputs"]}["deaf"]
    ck.check(lag >= n - len(set(first)),
             f"exit unread: the cursor waits before what was not received: lag {lag}, "
             f"received {len(first)} of {n}")
    again = StallingReceiver(stall=0, port=rcv.port)
    t.oneshot(s.cfg)
    t.wait_until(lambda: len(again.frames()) >= lag, 10)
    second = message_seqs(again.frames())
    ck.eq(sorted(set(first) | set(second)), list(range(n)),
          "exit unread: after the next start the receiver has every event")
    ck.note(f"exit unread: {len(first)} received before the stop, {len(second)} after")


def scenario_check():
    s = t.Setup("syslog-check")
    with open(s.cfg, "w") as f:
        f.write(f"""data_dir: {s.data}
inputs:
  - type: docker
    id: d
    root: /nonexistent
outputs:
  - type: syslog
    id: scheme
    address: http://x:514
  - type: syslog
    id: port
    address: tcp://x:99999
  - type: syslog
    id: udpframing
    address: udp://127.0.0.1:514
    framing: newline
  - type: syslog
    id: tlsnottls
    address: tcp://127.0.0.1:514
    tls: {{ca_file: /x.pem}}
  - type: syslog
    id: certnokey
    address: tls://127.0.0.1:6514
    tls: {{cert_file: /c.pem}}
  - type: syslog
    id: tmpl
    address: tcp://[::1]:514
    app_name: "${{container.name"
  - type: syslog
    id: fine
    address: tls://siem.example
    framing: octet-counting
""")
    p = t.run_wharf(["check", "-c", s.cfg])
    out = (p.stdout + p.stderr).decode()
    ck.check(p.returncode != 0, f"check: fails ({p.returncode})")
    want = [
        (7, "output 'scheme': address 'http://x:514': the scheme must be udp://, tcp:// or tls://"),
        (10, "output 'port': address 'tcp://x:99999': the port must be a number from 1 to 65535"),
        (13, "output 'udpframing': framing: applies to tcp:// and tls:// only"),
        (17, "output 'tlsnottls': tls: is set but the address is not tls://"),
        (21, "output 'certnokey': tls: cert_file needs key_file"),
        (25, "output 'tmpl': app_name: unclosed ${ at column 1"),
    ]
    for line, msg in want:
        ck.check(f"{s.cfg}:{line}: {msg}" in out, f"check: reports {line}: {msg}\n{out}")
    ck.check("'fine'" not in out, f"check: the valid section is not reported: {out}")


scenario_check()
scenario_tcp()
scenario_newline_message()
scenario_3164()
scenario_bom_and_cut()
scenario_udp()
scenario_tls()
scenario_tls_client_cert()
scenario_restart()
scenario_stall()
scenario_exit_unread()
ck.finish(f"({time.monotonic() - T0:.1f}s)")
