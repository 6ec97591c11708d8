"""The command line: version, help, `check` and `run` on good and bad configs.

Contract: `wharf check -c FILE` exits 0 on a valid config; otherwise exits 2
and prints one `FILE:LINE: message` line on stderr per error (FILE as given on
the command line, LINE the line of the offending key or value; for a missing
key, the line of the mapping that lacks it). `wharf run -c FILE` refuses the
same configs with exit 2 and the same error lines, before touching data_dir
or the outputs.
"""
import os
import re

import wharftest as wt

ck = wt.Checker("cli")
s = wt.Setup("cli")
root = s.dir
os.makedirs(s.path("containers"), exist_ok=True)
os.makedirs(s.path("pods"), exist_ok=True)

# --------------------------------------------------------- version, help ---
p = wt.run_wharf(["version"])
out = p.stdout.decode()
ck.eq(p.returncode, 0, "wharf version: exit code")
ck.check(re.fullmatch(r"wharf \d+\.\d+\.\d+\S*( .*)?\n", out) is not None,
         f"wharf version: want one line 'wharf X.Y.Z ...', got {out!r}")
version = wt.wharf_version()

p = wt.run_wharf(["--help"])
help_text = p.stdout.decode()
ck.eq(p.returncode, 0, "wharf --help: exit code")
for word in ("usage: wharf", "run", "check", "version", "help", "-c", "--oneshot"):
    ck.check(word in help_text, f"wharf --help does not mention {word!r}:\n{help_text}")

p = wt.run_wharf(["help", "run"])
run_help = p.stdout.decode()
ck.eq(p.returncode, 0, "wharf help run: exit code")
for word in ("wharf run", "-c", "--oneshot"):
    ck.check(word in run_help, f"wharf help run does not mention {word!r}:\n{run_help}")
ck.check(run_help != help_text, "wharf help run prints the same text as wharf --help")

p = wt.run_wharf(["frobnicate"])
ck.check(p.returncode != 0, "unknown command: exit code 0")
ck.check(b"frobnicate" in p.stderr, f"unknown command not named on stderr: {p.stderr!r}")
ck.eq(p.stdout, b"", "unknown command: stdout")

p = wt.run_wharf(["check", "-c", s.path("does-not-exist.yaml")])
ck.eq(p.returncode, 2, "check on a missing file: exit code")
ck.check(s.path("does-not-exist.yaml").encode() in p.stderr,
         f"check on a missing file does not name it: {p.stderr!r}")


# ------------------------------------------------------------ good config ---
def good_config_text(extra_input="", extra_top=""):
    return f"""# a complete, valid configuration
data_dir: {s.path('data')}
host: {{name: auto}}
{extra_top}inputs:
  - type: docker
    id: docker
    root: {s.path('containers')}
    read_from: end
    exclude_names: ["wharf*", "k8s_POD_*"]
    max_line_bytes: 1MiB
    labels_dedot: true
    rotate_wait: 5s
    rescan_interval: 1s
{extra_input}  - type: cri
    id: pods
    paths: ["{s.path('pods')}/*/*/*.log"]
    containers_dir: {s.path('containers')}
    runtime: containerd
    read_from: beginning
    max_line_bytes: 512KiB
    rotate_wait: 250ms
    rescan_interval: 2s
outputs:
  - type: file
    id: local
    path: {s.path('out', 'events.ndjson')}
  - type: stdout
    id: console
"""


good = s.path("good.yaml")
with open(good, "w") as f:
    f.write(good_config_text())
p = wt.run_wharf(["check", "-c", good])
ck.eq(p.returncode, 0, f"check on a valid config: exit code (stderr {p.stderr!r})")
ck.check(f"{good}:".encode() not in p.stderr, f"check on a valid config printed errors: {p.stderr!r}")
ck.check(not os.path.exists(s.path("data")), "check created data_dir")
ck.check(not os.path.exists(s.path("out")), "check created the output file's folder")

# the annotated default config and the demo config shipped in conf/ are valid
for shipped in ("conf/wharf.yaml", "conf/demo.yaml"):
    path = os.path.join(wt.SOURCE, shipped)
    if os.path.exists(path):
        p = wt.run_wharf(["check", "-c", path])
        ck.eq(p.returncode, 0, f"check {shipped}: exit code (stderr {p.stderr.decode()[-500:]!r})")
    else:
        ck.fail(f"{shipped} is missing")


# ------------------------------------------------------------ bad configs ---
def lines_of(text, needle, nth=1):
    """1-based line number of the nth line containing needle."""
    seen = 0
    for i, line in enumerate(text.split("\n"), 1):
        if needle in line:
            seen += 1
            if seen == nth:
                return i
    raise AssertionError(f"{needle!r} not in config text")


def want_line(text, spec):
    """spec: (needle, nth) or a list of alternatives; returns a set of line numbers."""
    alts = spec if isinstance(spec, list) else [spec]
    return {lines_of(text, n, k) for n, k in alts}


def error_lines(stderr, path):
    pat = re.compile(re.escape(path) + r":(\d+): (.*)")
    out = []
    for line in stderr.decode(errors="replace").splitlines():
        m = pat.match(line)
        if m:
            out.append((int(m.group(1)), m.group(2)))
    return out


CASES = []


def case(name, text, expected):
    """expected: list of (needle-for-line, [words the message must contain]),
    needle given as (substring, nth)."""
    CASES.append((name, text, expected))


base = good_config_text()

# unknown keys: top level, in an input, in an output, in host
case("unknown key in an input",
     base.replace("    read_from: end\n", "    read_frm: end\n"),
     [(("read_frm", 1), ["read_frm"])])
case("unknown top-level key",
     base.replace("data_dir:", "dta_dir:"),
     [(("dta_dir", 1), ["dta_dir"])])
case("unknown key in an output",
     base.replace("    id: console\n", "    id: console\n    colour: true\n"),
     [(("colour", 1), ["colour"])])
case("unknown key in host",
     base.replace("host: {name: auto}", "host:\n  name: auto\n  fqdn: x.example"),
     [(("fqdn", 1), ["fqdn"])])

# wrong types
case("size that is not a size",
     base.replace("max_line_bytes: 1MiB", "max_line_bytes: lots"),
     [(("max_line_bytes: lots", 1), ["max_line_bytes"])])
case("bool that is not a bool",
     base.replace("labels_dedot: true", "labels_dedot: sometimes"),
     [(("labels_dedot", 1), ["labels_dedot"])])
case("duration that is not a duration",
     base.replace("rotate_wait: 5s", "rotate_wait: soon"),
     [(("rotate_wait: soon", 1), ["rotate_wait"])])
case("enum value not allowed",
     base.replace("read_from: beginning", "read_from: middle"),
     [(("read_from: middle", 1), ["read_from"])])
case("list where a string is expected",
     base.replace(f"    root: {s.path('containers')}\n", "    root: [a, b]\n"),
     [(("root: [a, b]", 1), ["root"])])
case("string where a list is expected",
     base.replace('exclude_names: ["wharf*", "k8s_POD_*"]', "exclude_names: {a: b}"),
     [(("exclude_names", 1), ["exclude_names"])])
case("inputs not a list",
     "data_dir: /tmp/x\ninputs: {type: docker}\noutputs:\n  - {type: stdout, id: o}\n",
     [(("inputs:", 1), ["inputs"])])

# missing required keys
case("input without id",
     base.replace("    id: docker\n", ""),
     [(("- type: docker", 1), ["id"])])
case("file output without path",
     base.replace(f"    path: {s.path('out', 'events.ndjson')}\n", ""),
     [(("- type: file", 1), ["path"])])
case("cri input without paths",
     base.replace(f"    paths: [\"{s.path('pods')}/*/*/*.log\"]\n", ""),
     [(("- type: cri", 1), ["paths"])])
case("input without type",
     base.replace("  - type: docker\n    id: docker\n", "  - id: docker\n"),
     [(("- id: docker", 1), ["type"])])

# bad globs
case("bad glob in cri paths",
     base.replace(f"paths: [\"{s.path('pods')}/*/*/*.log\"]", 'paths: ["/var/log/pods/[abc/*/*.log"]'),
     [(("[abc", 1), ["paths", "[abc"])])
# (exclude_names globs are matched with fnmatch, where an unclosed '[' is a
# literal '[' by POSIX: not an error, so not tested as one.)

# duplicate ids (across inputs, and between an input and an output): the line
# of the duplicate `id:` or of the start of the entry that repeats it
case("duplicate input id",
     base.replace("    id: pods\n", "    id: docker\n"),
     [([("id: docker", 2), ("- type: cri", 1)], ["docker"])])
case("output id equal to an input id",
     base.replace("    id: console\n", "    id: pods\n"),
     [([("id: pods", 2), ("- type: stdout", 1)], ["pods"])])

# unknown types
case("unknown input type",
     base.replace("  - type: cri\n", "  - type: crio-magic\n"),
     [(("type: crio-magic", 1), ["crio-magic"])])
case("unknown output type",
     base.replace("  - type: stdout\n", "  - type: pigeon\n"),
     [(("type: pigeon", 1), ["pigeon"])])

# YAML syntax errors: the line where the parser noticed it (libyaml reports
# the unclosed flow sequence on the line after it started) or the line it began
case("YAML syntax error",
     base.replace('exclude_names: ["wharf*", "k8s_POD_*"]', 'exclude_names: ["wharf*", "k8s_POD_*"'),
     [([("exclude_names", 1), ("max_line_bytes: 1MiB", 1)], [])])

# several errors in one file: every one reported, in line order
case("three errors at once",
     base.replace("    read_from: end\n", "    read_frm: end\n")
         .replace("rotate_wait: 250ms", "rotate_wait: forever")
         .replace("  - type: stdout\n", "  - type: pigeon\n"),
     [(("read_frm", 1), ["read_frm"]), (("rotate_wait: forever", 1), ["rotate_wait"]),
      (("type: pigeon", 1), ["pigeon"])])

for i, (name, text, expected) in enumerate(CASES):
    path = s.path(f"bad{i}.yaml")
    with open(path, "w") as f:
        f.write(text)
    p = wt.run_wharf(["check", "-c", path])
    ck.eq(p.returncode, 2, f"check, {name}: exit code")
    got = error_lines(p.stderr, path)
    want_lines = [want_line(text, spec) for spec, _ in expected]
    ck.check(len(got) == len(want_lines) and all(l in w for (l, _), w in zip(got, want_lines)),
             f"check, {name}: error lines: got {[l for l, _ in got]}, want {want_lines} "
             f"(stderr: {p.stderr.decode(errors='replace')!r})")
    for (_, words), (line, msg) in zip(expected, got):
        for word in words:
            ck.check(word in msg, f"check, {name}: line {line} message {msg!r} does not name {word!r}")
    ck.eq(p.stdout, b"", f"check, {name}: stdout")

# ------------------------------------------------------ run refuses them ---
for i, (name, text, expected) in enumerate(CASES):
    path = s.path(f"bad{i}.yaml")
    p = wt.run_wharf(["run", "-c", path, "--oneshot"], timeout=30)
    ck.eq(p.returncode, 2, f"run --oneshot, {name}: exit code")
    got = error_lines(p.stderr, path)
    want_lines = [want_line(text, spec) for spec, _ in expected]
    ck.check(len(got) == len(want_lines) and all(l in w for (l, _), w in zip(got, want_lines)),
             f"run --oneshot, {name}: error lines: got {[l for l, _ in got]}, want {want_lines}")
    ck.check(not os.path.exists(s.path("out", "events.ndjson")),
             f"run, {name}: created the output file although the config is invalid")
    ck.check(not os.path.exists(s.path("data")),
             f"run, {name}: created data_dir although the config is invalid")

# live run (no --oneshot) refuses too, at once
path = s.path("bad0.yaml")
p = wt.run_wharf(["run", "-c", path], timeout=20)
ck.eq(p.returncode, 2, "run (live) on an invalid config: exit code")
ck.check(f"{path}:".encode() in p.stderr, f"run (live): no FILE:LINE error: {p.stderr!r}")

# run without -c
p = wt.run_wharf(["run"], timeout=20)
ck.check(p.returncode != 0, "run without -c: exit code 0")

# a relative config path is printed as given
p = wt.subprocess.run([wt.WHARF, "check", "-c", "bad0.yaml"], cwd=root, capture_output=True,
                      timeout=30)
ck.check(re.search(rb"^bad0\.yaml:\d+: ", p.stderr, re.M) is not None,
         f"relative FILE not printed as given: {p.stderr!r}")

ck.finish(f"({len(CASES)} bad configs)")
