"""wharf parse --trace: what the parsers did with each line, on stderr.

Two parser files chain: `hdr` takes "<app> text" apart into process.name
and message, `app` reads the new message. The lines cover a rewrite and
the round after it, rules a first byte rules out, a rule that gives up on
its match limit, a rewrite no parser follows, and a line no `when`
matches. The trace must not change the events: stdout is the same bytes
with and without --trace."""
import os
import subprocess

import wharflib as w

f = w.Failures("parse --trace")
root = w.tmpdir()
pdir = os.path.join(root, "parsers")
os.makedirs(pdir)
hdr = os.path.join(pdir, "hdr.yaml")
app = os.path.join(pdir, "app.yaml")
with open(hdr, "w") as fh:
    fh.write("""name: hdr
when:
  - container.labels.wharf.parser: hdr
rules:
  - id: tagged
    regex: '^<(?<app>\\w+)> (?<msg>.*)$'
    fields: {process.name: "{app}", message: "{msg}"}
samples:
  - message: "<web> hello"
    expect: {process.name: web, message: hello}
""")
with open(app, "w") as fh:
    fh.write("""name: app
when:
  - process.name: web
rules:
  - id: login
    regex: '^login (?<user>\\w+)$'
    fields: {user.name: "{user}"}
  - id: nested
    regex: '^(?:(a|aa)*c|a+!)$'
    set: {app.kind: nested}
  - id: anything
    regex: '^.'
    set: {app.kind: other}
samples:
  - message: login alice
    fields: {process.name: web}
    expect: {user.name: alice}
""")

long_a = "a" * 40 + "!"
lines = ["<web> login alice", "<web> " + long_a, "<db>\tx", "no tag"]


def parse(args, text, parsers=pdir):
    p = subprocess.run([w.WHARF, "parse", "-p", parsers, *args], input=text.encode(),
                       capture_output=True, timeout=30)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


label = ["--field", "container.labels.wharf.parser=hdr"]
rc, plain_out, plain_err = parse(label, "\n".join(lines) + "\n")
f.eq(rc, 0, "parse without --trace")
rc, out, err = parse(label + ["--trace"], "\n".join(lines) + "\n")
f.eq(rc, 0, "parse --trace")
f.eq(out, plain_out, "--trace leaves the events as they were")
f.eq(len(out.splitlines()), 4, "one event per line")
f.check(not any(l.startswith("line ") for l in plain_err.splitlines()),
        f"no trace without --trace: {plain_err}")

trace = [l for l in err.splitlines() if l.startswith("line ")]
others = [l for l in err.splitlines() if not l.startswith("line ")]
f.eq(trace, [
    f"line 1: round 1: parser hdr ({hdr})",
    f"line 1:   rule tagged ({hdr}:5): matched, message rewritten",
    f"line 1: round 2: parser app ({app}) on message \"login alice\"",
    f"line 1:   rule login ({app}:5): matched",
    f"line 2: round 1: parser hdr ({hdr})",
    f"line 2:   rule tagged ({hdr}:5): matched, message rewritten",
    f"line 2: round 2: parser app ({app}) on message \"{long_a}\"",
    "line 2:   rules not tried, their regexes cannot start with 'a': login",
    f"line 2:   rule nested ({app}:8): gave up (pipeline.parser_match_limit or "
    "parser_time_limit): counts as no match",
    f"line 2:   rule anything ({app}:11): matched",
    f"line 3: round 1: parser hdr ({hdr})",
    f"line 3:   rule tagged ({hdr}:5): no match",
    f"line 4: round 1: parser hdr ({hdr})",
    "line 4:   rules not tried, their regexes cannot start with 'n': tagged",
], "the steps of each line")
f.eq(len(others), 1, f"stderr besides the trace: the give-up warning alone: {others}")
f.check("parser=app rule=nested" in err, f"the give-up warning names the rule: {err}")

# A rewrite that no parser's when follows, then a line no when takes at
# all: the fields the conditions read (in the order the files name them:
# app.yaml loads first), with the line's values, quoted.
rc, out, err = parse(label + ["--trace"], "<db> x\n")
f.eq((rc, err.splitlines()), (0, [
    f"line 1: round 1: parser hdr ({hdr})",
    f"line 1:   rule tagged ({hdr}:5): matched, message rewritten",
    "line 1: round 2: no parser's when matches; the fields when conditions read:",
    "line 1:   process.name: \"db\"",
    "line 1:   container.labels.wharf.parser: \"hdr\"",
]), "a rewrite no parser follows")
rc, out, err = parse(["--trace", "--field", "process.name=w\teb"], "hello\n")
f.eq((rc, err.splitlines()), (0, [
    "line 1: round 1: no parser's when matches; the fields when conditions read:",
    "line 1:   process.name: \"w\\teb\"",
    "line 1:   container.labels.wharf.parser: (none)",
]), "a line no when takes")

# A field of the matched rule whose text does not convert is left unset: the
# trace says which, with the text and what it is not, under its rule. A
# `from` list that falls back to a text that converts says nothing.
cdir = os.path.join(root, "conv")
os.makedirs(cdir)
with open(os.path.join(cdir, "conv.yaml"), "w") as fh:
    fh.write("""name: conv
rules:
  - id: all
    regex: '^(?<t>\\S+) (?<n>\\S+) (?<ip>\\S+) (?<b>\\S+) (?<o>\\S+) (?<d>\\S+)$'
    fields:
      "@timestamp": {from: t, type: timestamp, format: "%Y/%m/%d"}
      event.created: {from: t, type: timestamp}
      source.port: {from: n, type: long}
      source.ip: {from: ip, type: ip}
      x.flag: {from: b, type: bool}
      event.outcome: {from: o, map: {ok: success}}
      x.ratio: {from: d, type: double}
      x.first: {from: [n, ip], type: ip}
samples:
  - message: 2026/11/24 1 10.0.0.1 yes ok 0.5
    expect: {source.port: 1}
""")
rc, out, err = parse(["--trace"], "2026-11-24 x 10.0.0.300 maybe bad half\n", cdir)
conv = os.path.join(cdir, "conv.yaml")
f.eq((rc, err.splitlines()), (0, [
    f"line 1: round 1: parser conv ({conv})",
    f"line 1:   rule all ({conv}:3): matched",
    'line 1:     field @timestamp: "2026-11-24" is no timestamp in format %Y/%m/%d: not set',
    'line 1:     field event.created: "2026-11-24" is no timestamp (RFC 3339, HTTPDATE, syslog '
    "or epoch; or give a format): not set",
    'line 1:     field source.port: "x" is no whole number (type long): not set',
    'line 1:     field source.ip: "10.0.0.300" is no IP address (type ip): not set',
    'line 1:     field x.flag: "maybe" is no bool (true, false, yes, no, on, off, 1, 0): not set',
    'line 1:     field event.outcome: "bad" matches no entry of its map: not set',
    'line 1:     field x.ratio: "half" is no number (type double): not set',
    'line 1:     field x.first: "10.0.0.300" is no IP address (type ip): not set',
]), "fields whose text does not convert")
rc, out, err = parse(["--trace"], "2026/11/24 1 10.0.0.1 yes ok 0.5\n", cdir)
f.eq(err.splitlines()[2:], [
    'line 1:     field event.created: "2026/11/24" is no timestamp (RFC 3339, HTTPDATE, syslog '
    "or epoch; or give a format): not set",
], "fields that convert say nothing; a from list that falls back to one that converts neither")
f.check('"port":1' in out and '"flag":true' in out, f"the fields that convert are set: {out}")

# --parser forces the first round; the chain goes on from it.
rc, out, err = parse(["--trace", "--parser", "hdr"], "<web> login bob\n")
f.eq((rc, err.splitlines()[-2:]), (0, [
    f"line 1: round 2: parser app ({app}) on message \"login bob\"",
    f"line 1:   rule login ({app}:5): matched",
]), "--parser, then the chain")
f.check('"name":"bob"' in out, f"--parser: the event: {out}")

# The README's example, run on the shipped parsers, prints what it shows.
with open(os.path.join(w.SOURCE, "README.md"), encoding="utf-8") as fh:
    readme = fh.read()
start = readme.index("$ echo 'Dec 10 06:55:46 LabSZ sshd[24200]")
block = readme[start:readme.index("```", start)].splitlines()
example_line = block[0][len("$ echo '"):block[0].rindex("'")]
p = subprocess.run([w.WHARF, "parse", "-p", "parsers", "--field",
                    "container.labels.wharf.parser=syslog", "--trace"],
                   input=(example_line + "\n").encode(), capture_output=True, timeout=30,
                   cwd=w.SOURCE)
f.eq(p.stderr.decode().splitlines(), block[2:], "the README's --trace example")

rc, out, err = parse(["--trace", "--trace-all"], "x\n")
f.check(rc == 2 and "unexpected argument '--trace-all'" in err, f"an unknown option: {err}")
p = subprocess.run([w.WHARF, "parsers", "coverage", "-p", pdir, "--trace", hdr],
                   capture_output=True, timeout=30)
f.check(p.returncode == 2 and b"unexpected argument '--trace'" in p.stderr,
        f"--trace is parse's alone: {p.stderr!r}")
f.finish("parse --trace")
