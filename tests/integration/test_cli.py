"""The command line: version, help, check's FILE:LINE errors, run refusing a bad config."""
import os
import subprocess

import wharflib as w

f = w.Failures("cli")


def run(*args):
    p = subprocess.run([w.WHARF, *args], capture_output=True, timeout=30)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


rc, out, _ = run("version")
f.eq((rc, out), (0, "wharf 0.1.0 (ECS 9.4.0)\n"), "version")
rc, out, _ = run("--help")
f.check(rc == 0 and "run -c FILE [--oneshot]" in out and "check -c FILE" in out, "--help")
rc, out, _ = run("help", "run")
f.check(rc == 0 and "--oneshot" in out and "SIGTERM" in out and "SIGHUP" in out, "help run")
for args, words in ((("run", "--help"), ("--oneshot", "SIGHUP")),
                    (("parsers", "test", "-h"), ("parsers coverage", "--trace")),
                    (("parse", "-p", "parsers", "--help"), ("parsers coverage", "--trace")),
                    (("archive", "cat", "--help"), ("--pubkey", "--where")),
                    (("buffer", "stat", "-c", "x.yaml", "-h"), ("--records",))):
    rc, out, err = run(*args)
    f.check(rc == 0 and err == "" and all(word in out for word in words),
            f"wharf {' '.join(args)}: exit {rc}, stdout {out[:200]!r}, stderr {err[:200]!r}")
rc, out, err = run("frobnicate", "--help")
f.check(rc == 2 and out == "" and "unknown command 'frobnicate'" in err, "unknown command with --help")
rc, _, err = run("frobnicate")
f.check(rc == 2 and "unknown command 'frobnicate'" in err, "unknown command")

root = w.tmpdir()
good = os.path.join(root, "good.yaml")
w.write_config(good, os.path.join(root, "data"), [{
    "type": "docker", "id": "docker", "root": root, "read_from": "end"}],
    os.path.join(root, "out.ndjson"))
rc, out, err = run("check", "-c", good)
f.eq((rc, out), (0, f"{good}: ok (1 input, 1 output)\n"), "check on a valid config")

bad = os.path.join(root, "bad.yaml")
with open(bad, "w") as fh:
    fh.write("""data_dir: ./data
inputs:
  - type: docker
    id: docker
    raed_from: end
  - type: cri
    id: pods
    max_line_bytes: lots
  - type: cri
    id: docker
    paths: ["/var/log/pods/[abc/*.log"]
  - type: dockr
    id: other
outputs:
  - type: file
    id: out
    path: [not, a, string]
""")
rc, out, err = run("check", "-c", bad)
f.eq(rc, 2, "check exit status on errors")
lines = [l for l in err.splitlines() if l.startswith(bad + ":")]
want = [
    (5, "unknown key 'raed_from'", "did you mean 'read_from'?"),
    (6, "missing required key 'paths'", "pods"),
    (8, "'max_line_bytes' must be a size", ""),
    (9, "duplicate id 'docker'", "line 3"),
    (11, "bad glob", "unbalanced '['"),
    (12, "unknown input type 'dockr'", "docker, cri"),
    (17, "'path' must be a string", ""),
]
for line, what, detail in want:
    hit = [l for l in lines if l.startswith(f"{bad}:{line}: ") and what in l and detail in l]
    f.check(hit, f"no '{bad}:{line}: ...{what}...{detail}' in:\n{err}")
f.eq(len(lines), len(want), "number of errors reported")

# A parser directory without parser files loaded nothing and passed: an
# error in `wharf parsers test` and in `wharf check`.
empty = os.path.join(root, "parsers.d")
os.mkdir(empty)
with open(os.path.join(empty, "sshd.yaml.off"), "w") as fh:
    fh.write("name: off\n")
no_files = (f"{empty}: no parser files (*.yaml, *.yml) in this directory: add one, "
            "or leave the directory out of the parser paths\n")
rc, out, err = run("parsers", "test", empty)
f.eq((rc, out, err), (2, "", no_files), "parsers test on a directory without parser files")
cfg_empty = os.path.join(root, "empty-parsers.yaml")
w.write_config(cfg_empty, os.path.join(root, "data"), [{
    "type": "docker", "id": "docker", "root": root, "read_from": "end"}],
    os.path.join(root, "out.ndjson"), "pipeline: {parsers: [parsers.d]}\n")
rc, out, err = run("check", "-c", cfg_empty)
f.check(rc == 2 and no_files in err, f"check with a parser directory without parser files: {err}")

# A directory given with a trailing slash names its files without a double
# one (regression: "parsers.d//a.yaml:3: ...").
with open(os.path.join(empty, "a.yaml"), "w") as fh:
    fh.write("name: a\nrules:\n  - id: r\n    regex: '(x'\n")
rc, out, err = run("parsers", "test", empty + "/")
f.check(rc == 2 and err.startswith(f"{empty}/a.yaml:4: rule 'r': regex") and "//" not in err,
        f"parsers test on DIR/: {err}")



def parser_file(name, rules, samples):
    """A parser file NAME.yaml in root: rules then samples, as YAML lines."""
    path = os.path.join(root, name + ".yaml")
    with open(path, "w") as fh:
        fh.write(f"name: {name}\nrules:\n" + "".join(f"  - {r}\n" for r in rules) +
                 "samples:\n" + "".join(f"  - {s}\n" for s in samples))
    return path


# A rule whose regex backtracks past the match limit: coverage counts the
# lines it gave up on, a failing sample says why.
redos = parser_file("redos", [
    "{id: nested, regex: '^(?:(a|aa)*c|a+!)$', set: {x.r: nested}}",
    "{id: plain, regex: '^a', set: {x.r: plain}}"], [
    "message: aaa!\n    expect: {x.r: nested}",
    "message: " + "a" * 40 + "!\n    expect: {x.r: nested}"])
lines_file = os.path.join(root, "redos.log")
with open(lines_file, "w") as fh:
    fh.write("a" * 40 + "!\n" + "aaa!\n" + "a" * 50 + "!\n")
rc, out, err = run("parsers", "coverage", "-p", redos, lines_file)
f.eq((rc, out.splitlines()[2:5]), (0, [
    "  redos            nested                              1   33.3%  "
    "(gave up on 2: regex match or time limit)",
    "  redos            plain                               2   66.7%",
    "  redos            (no rule matched)                   0    0.0%"]), "coverage of a rule that gives up")
f.check("parser=redos rule=nested" in err, f"coverage: the give-up warning: {err}")
rc, out, err = run("parsers", "test", redos)
f.eq((rc, out), (1, f"{redos}:9: parser redos, sample 2: x.r: expected nested, got \"plain\"\n"
                    f"{redos}:8: parser redos, sample 2: the rules that matched: redos/plain\n"
                    f"{redos}:8: parser redos, sample 2: a rule gave up on the message: its regex "
                    "hit the match limit or the time limit\n1 passed, 1 failed\n"), "parsers test: a sample given up on")

# A failing sample no rule took says so, and where to look next.
nomatch = parser_file("nomatch", ["{id: digits, regex: '^\\d+$', set: {x.r: digits}}"],
                      ["message: '12a'\n    expect: {x.r: digits}"])
rc, out, err = run("parsers", "test", nomatch)
f.eq((rc, out), (1, f"{nomatch}:6: parser nomatch, sample 1: x.r: expected digits, got (absent)\n"
                    f"{nomatch}:5: parser nomatch, sample 1: no rule matched (wharf parse -p "
                    f"{nomatch} --trace shows what was tried)\n"
                    f"{nomatch}:3: parser nomatch, rule digits: no sample matches it, so nothing "
                    "tests it: add a sample of a message it takes\n1 rule no sample tests\n"
                    "0 passed, 1 failed\n"),
     "parsers test: a sample no rule matched")

# A sample its own parser's when does not take (here a typo in a path) says
# that the parser was not tried, with the sample's values of the fields the
# when reads, each once, instead of "no rule matched".
unrouted = os.path.join(root, "unrouted.yaml")
with open(unrouted, "w") as fh:
    fh.write("name: unrouted\nwhen:\n  - proccess.name: app\n  - process.name: [a, b]\n"
             "    container.image.name: {regex: x}\n  - proccess.name: other\n"
             "rules:\n  - {id: any, regex: '^', set: {x.r: any}}\n"
             "samples:\n  - message: hi\n    fields: {process.name: app}\n"
             "    expect: {x.r: any}\n")
rc, out, err = run("parsers", "test", unrouted)
f.eq((rc, out), (1, f"{unrouted}:12: parser unrouted, sample 1: x.r: expected any, got (absent)\n"
                    f"{unrouted}:10: parser unrouted, sample 1: parser unrouted was not tried, no "
                    "item of its when matches the sample (proccess.name: absent, process.name: "
                    "app, container.image.name: absent)\n"
                    f"{unrouted}:8: parser unrouted, rule any: no sample matches it, so nothing "
                    "tests it: add a sample of a message it takes\n1 rule no sample tests\n"
                    "0 passed, 1 failed\n"),
     "parsers test: a sample its parser's when does not take")

# A field the rule that matched left unset, its text not converting, is
# named with the text and what it is not: why the expected value is absent.
unconv = parser_file("unconv", [
    "{id: port, regex: '^(?<p>\\S+) (?<t>.*)$', fields: {source.port: {from: p, type: long}, "
    "'@timestamp': {from: t, type: timestamp, format: '%Y/%m/%d'}}}"],
    ["message: 'x1 2026-11-24'\n    expect: {source.port: 1}"])
rc, out, err = run("parsers", "test", unconv)
f.eq((rc, out), (1, f"{unconv}:6: parser unconv, sample 1: source.port: expected 1, got (absent)\n"
                    f"{unconv}:5: parser unconv, sample 1: the rules that matched: unconv/port\n"
                    f"{unconv}:5: parser unconv, sample 1: rule unconv/port: field source.port: "
                    "\"x1\" is no whole number (type long): not set\n"
                    f"{unconv}:5: parser unconv, sample 1: rule unconv/port: field @timestamp: "
                    "\"2026-11-24\" is no timestamp in format %Y/%m/%d: not set\n"
                    "0 passed, 1 failed\n"), "parsers test: fields whose text does not convert")

# An expected value with a newline is shown JSON-quoted, as the actual one
# is, so that each failure stays on one line.
lines2 = parser_file("lines2", ["{id: first, regex: '^(?<a>[^\\n]*)', fields: {x.r: '{a}'}}"],
                     ['message: "one\\ntwo"\n    expect: {x.r: "one\\ntwo"}'])
rc, out, err = run("parsers", "test", lines2)
f.eq((rc, out), (1, f'{lines2}:6: parser lines2, sample 1: x.r: expected "one\\ntwo", got "one"\n'
                    f"{lines2}:5: parser lines2, sample 1: the rules that matched: lines2/first\n"
                    "0 passed, 1 failed\n"), "parsers test: an expected value of two lines")

# A rule no sample takes is reported, every sample passing or not; it does
# not fail the run (the samples that are there pass) unless --strict says so.
untested = parser_file("untested", [
    "{id: digits, regex: '^\\d+$', set: {x.r: digits}}",
    "{id: words, regex: '^\\w+$', set: {x.r: words}}"], ["message: 'abc'\n    expect: {x.r: words}"])
untested_report = (f"{untested}:3: parser untested, rule digits: no sample matches it, so "
                   "nothing tests it: add a sample of a message it takes\n")
rc, out, err = run("parsers", "test", untested)
f.eq((rc, out), (0, untested_report + "1 rule no sample tests\n1 passed, 0 failed\n"),
     "parsers test: a rule no sample matches")
for args in (("--strict", untested), (untested, "--strict")):
    rc, out, err = run("parsers", "test", *args)
    f.eq((rc, out, err), (1, untested_report + "1 rule no sample tests (--strict: a failure)\n"
                             "1 passed, 0 failed\n", ""), f"parsers test {' '.join(args)}")
rc, out, err = run("parsers", "test", "--strict", redos)
f.eq((rc, out.splitlines()[-1]), (1, "1 passed, 1 failed"), "parsers test --strict: a failing sample")
rc, out, err = run("parsers", "test", "--stritc", untested)
f.eq((rc, out, err), (2, "", "wharf parsers test: unknown option '--stritc' (see wharf help parsers)\n"),
     "parsers test: an unknown option")
rc, out, err = run("parsers", "test", "--strict")
f.eq((rc, out, err), (2, "", "usage: wharf parsers test [--strict] PATH...\n"), "parsers test --strict without PATH")

rc, out, err = run("run", "-c", bad, "--oneshot")
f.check(rc == 2 and f"{bad}:5:" in err, "run refuses a bad config")
rc, _, err = run("check", "-c", os.path.join(root, "missing.yaml"))
f.check(rc == 2 and "cannot read" in err, "missing file")
rc, _, err = run("check")
f.check(rc == 2 and "missing -c FILE" in err, "check without -c")
f.finish("version, help, check, run")
