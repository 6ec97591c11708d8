"""Syslog helpers for the integration tests (not a test itself).

The syslog output is tested against a real rsyslogd (Debian's rsyslog and
rsyslog-gnutls), started as this user in the foreground with a private work
directory and a config of its own: no imuxsock/imklog, only the one network
input a test asks for on a free port of 127.0.0.1, and a template that writes
each received message's raw text (%rawmsg%) as one line of a file, so a test
sees exactly the bytes wharf sent (framing removed by rsyslog). Python 3.11
standard library only.

What is here:
  Rsyslog(kind)    kind "udp", "tcp" (octet-counted and newline framing both
                   accepted by imtcp) or "tls" (imtcp with the gtls driver and
                   a server certificate for localhost/127.0.0.1 signed by a CA
                   made here; auth_mode="x509/certvalid" requires a client
                   certificate signed by that CA, see client_cert()); .port, .address (udp://127.0.0.1:PORT ...),
                   .ca (the CA's PEM), lines(), wait_lines(), stop(), restart()
  make_ca()        a CA (key, cert) with `openssl req`
  make_server_cert()  a server key and certificate signed by a CA, SAN included
  RFC5424          regex of an RFC 5424 message; parse_5424() -> dict
  parse_sd()       the params of one SD element, unescaped
"""
import atexit
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

RSYSLOGD = shutil.which("rsyslogd") or "/usr/sbin/rsyslogd"
OPENSSL = shutil.which("openssl") or "openssl"

_PROCS = []
_DIRS = []


@atexit.register
def _cleanup():
    for p in _PROCS:
        if p.poll() is None:
            try:
                p.kill()  # only rsyslogd processes this module started, by their pid
                p.wait(timeout=10)
            except Exception:
                pass
    if not os.environ.get("WHARF_KEEP_TMP"):
        for d in _DIRS:
            shutil.rmtree(d, ignore_errors=True)


class RsyslogError(Exception):
    pass


def free_port(kind):
    """A port free on 127.0.0.1 (bound and released: a small race remains)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if kind == "udp" else socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _openssl(*args, cwd):
    p = subprocess.run([OPENSSL] + list(args), cwd=cwd, capture_output=True, timeout=60)
    if p.returncode != 0:
        raise RsyslogError(f"openssl {' '.join(args)}: {p.stderr.decode(errors='replace')}")


def make_ca(directory, name):
    """A self-signed CA: returns (key path, cert path)."""
    key, cert = os.path.join(directory, name + ".key"), os.path.join(directory, name + ".pem")
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", f"/CN={name}",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=directory)
    return key, cert


def make_server_cert(directory, ca_key, ca_cert, name="server", usage="serverAuth"):
    """A certificate for localhost and 127.0.0.1 signed by the CA (usage
    clientAuth for a client certificate)."""
    key, csr = os.path.join(directory, name + ".key"), os.path.join(directory, name + ".csr")
    cert, ext = os.path.join(directory, name + ".pem"), os.path.join(directory, name + ".ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n"
                f"extendedKeyUsage={usage}\nkeyUsage=critical,digitalSignature\n")
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", key, "-out", csr, "-subj", "/CN=localhost", cwd=directory)
    _openssl("x509", "-req", "-in", csr, "-CA", ca_cert, "-CAkey", ca_key, "-CAcreateserial",
             "-out", cert, "-days", "2", "-extfile", ext, cwd=directory)
    return key, cert


class Rsyslog:
    """rsyslogd -n -f CONF -i PIDFILE with one input; received messages go,
    one raw message per line, to .out."""

    def __init__(self, kind, max_message_size="256k", auth_mode="anon"):
        if kind not in ("udp", "tcp", "tls"):
            raise ValueError(kind)
        self.kind = kind
        self.auth_mode = auth_mode  # tls: "anon", or "x509/certvalid" to require a client cert
        self.dir = tempfile.mkdtemp(prefix=f"wharf-rsyslog-{kind}-")
        _DIRS.append(self.dir)
        self.work = os.path.join(self.dir, "work")
        os.makedirs(self.work)
        self.out = os.path.join(self.dir, "received.log")
        self.conf = os.path.join(self.dir, "rsyslog.conf")
        self.pidfile = os.path.join(self.dir, "rsyslog.pid")
        self.log = os.path.join(self.dir, "rsyslogd.log")
        self.port = free_port(kind)
        scheme = {"udp": "udp", "tcp": "tcp", "tls": "tls"}[kind]
        self.address = f"{scheme}://127.0.0.1:{self.port}"
        self.ca = None
        if kind == "tls":
            self.ca_key, self.ca = make_ca(self.dir, "test-ca")
            self.key, self.cert = make_server_cert(self.dir, self.ca_key, self.ca)
        self._write_conf(max_message_size)
        self.proc = None
        self.start()

    def _write_conf(self, max_message_size):
        g = [f'workDirectory="{self.work}"', f'maxMessageSize="{max_message_size}"']
        if self.kind == "tls":
            g += ['DefaultNetstreamDriver="gtls"', f'DefaultNetstreamDriverCAFile="{self.ca}"',
                  f'DefaultNetstreamDriverCertFile="{self.cert}"',
                  f'DefaultNetstreamDriverKeyFile="{self.key}"']
        lines = [f"global({' '.join(g)})"]
        if self.kind == "udp":
            lines += ['module(load="imudp")',
                      f'input(type="imudp" address="127.0.0.1" port="{self.port}" ruleset="raw")']
        elif self.kind == "tcp":
            lines += ['module(load="imtcp")',
                      f'input(type="imtcp" address="127.0.0.1" port="{self.port}" ruleset="raw")']
        else:
            lines += ['module(load="imtcp" StreamDriver.Name="gtls" StreamDriver.Mode="1" '
                      f'StreamDriver.AuthMode="{self.auth_mode}")',
                      f'input(type="imtcp" address="127.0.0.1" port="{self.port}" ruleset="raw")']
        lines += ['template(name="raw" type="string" string="%rawmsg%\\n")',
                  'ruleset(name="raw") {',
                  f'  action(type="omfile" file="{self.out}" template="raw")',
                  '}']
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")

    def client_cert(self):
        """(cert, key) of a client certificate signed by this receiver's CA."""
        key, cert = make_server_cert(self.dir, self.ca_key, self.ca, "client", "clientAuth")
        return cert, key

    # ------------------------------------------------------------ process ---

    def start(self, timeout=15):
        if os.path.exists(self.pidfile):
            os.unlink(self.pidfile)
        logf = open(self.log, "ab")
        self.proc = subprocess.Popen([RSYSLOGD, "-n", "-f", self.conf, "-i", self.pidfile],
                                     stdout=logf, stderr=logf, stdin=subprocess.DEVNULL)
        logf.close()
        _PROCS.append(self.proc)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RsyslogError(f"rsyslogd exited {self.proc.returncode}: {self.log_text()}")
            if self._listening():
                return
            time.sleep(0.05)
        raise RsyslogError(f"rsyslogd does not listen on {self.port}: {self.log_text()}")

    def _listening(self):
        if self.kind == "udp":
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                s.bind(("127.0.0.1", self.port))
                return False
            except OSError:
                return True
            finally:
                s.close()
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def stop(self, timeout=15):
        """SIGTERM and wait: rsyslogd closes its connections."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def restart(self):
        self.stop()
        self.start()

    def log_text(self):
        try:
            with open(self.log, "rb") as f:
                return f.read()[-3000:].decode(errors="replace")
        except OSError:
            return ""

    # ----------------------------------------------------------- received ---

    def lines(self):
        """Every received message (raw bytes, one per line) as str."""
        try:
            with open(self.out, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return []
        return [l.decode("utf-8", errors="replace") for l in data.split(b"\n")[:-1]]

    def wait_lines(self, want, timeout=30, quiet=None):
        """Waits until `want` lines arrived (or, with quiet, no new ones for that
        many seconds); returns the lines."""
        deadline = time.monotonic() + timeout
        last, since = -1, time.monotonic()
        while True:
            got = self.lines()
            if len(got) >= want or time.monotonic() >= deadline:
                return got
            if len(got) != last:
                last, since = len(got), time.monotonic()
            elif quiet is not None and time.monotonic() - since >= quiet:
                return got
            time.sleep(0.1)


# ------------------------------------------------------------- parsing ---

RFC5424 = re.compile(
    r"^<(?P<pri>\d{1,3})>1 (?P<ts>\S+) (?P<host>\S+) (?P<app>\S+) (?P<procid>\S+) "
    r"(?P<msgid>\S+) (?P<sd>-|\[(?:[^\]\\]|\\.)*\]) ?(?P<msg>.*)$", re.S)

RFC3164 = re.compile(
    r"^<(?P<pri>\d{1,3})>(?P<ts>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d) (?P<host>\S+) "
    r"(?P<tag>[A-Za-z0-9]{1,32})(?:\[(?P<pid>[^\]]+)\])?: (?P<msg>.*)$", re.S)


def parse_5424(line):
    """A dict of the message's parts, or None when it is not RFC 5424."""
    m = RFC5424.match(line)
    return m.groupdict() if m else None


def parse_3164(line):
    m = RFC3164.match(line)
    return m.groupdict() if m else None


_PARAM = re.compile(r' ([^= \]"]+)="((?:[^"\\]|\\.)*)"')


def parse_sd(sd):
    """(sd_id, {name: unescaped value}) of one SD element "[ID k="v" ...]"."""
    if sd == "-":
        return None, {}
    inner = sd[1:-1]
    sd_id, _, rest = inner.partition(" ")
    params = {}
    for m in _PARAM.finditer(" " + rest):
        params[m.group(1)] = re.sub(r"\\(.)", r"\1", m.group(2))
    return sd_id, params
