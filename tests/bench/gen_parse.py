#!/usr/bin/env python3
"""gen_parse.py - the parser benchmark's load: Docker json-file logs of four
containers whose lines are real log lines from ../shared/corpus, each
container labelled `wharf.parser=<parser>` so that the shipped pack routes
it, and running an image that fits its lines (IMAGES):

    syslog   sshd lines in syslog format (loghub OpenSSH, beats system auth)
    nginx    access lines (beats nginx tests, elastic-examples Apache combined)
    auditd   audit.log records (beats and go-libaudit test files)
    json     JSON application logs (beats kibana, logstash, elasticsearch)

    python3 gen_parse.py DIR --lines 1000000 [--seed 1]

Writes DIR/containers/<id>/{config.v2.json,hostconfig.json,<id>-json.log}
and DIR/manifest.json ({"events": N, "input_bytes": ...}). The corpus
lines are cycled in order, a quarter of the lines per container.
"""
import argparse
import glob
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen  # noqa: E402  (the main generator: container metadata)

# Each container's image, as it would run those lines: only nginx's is one a
# shipped parser's `when` names; the others are routed by their label alone.
IMAGES = {"syslog": "registry.example.com/infra/bastion", "nginx": "nginx",
          "auditd": "registry.example.com/infra/audit-forwarder",
          "json": "registry.example.com/shop/api"}

SOURCES = {
    "syslog": ["sshd/loghub_OpenSSH_2k.log", "sshd/beats_system-auth_*.log"],
    "nginx": ["nginx/beats*_nginx-access_*.log", "apache/elastic-examples_apache_logs_first8000.log"],
    "auditd": ["auditd/*.log"],
    "json": ["json-app/beats_kibana-log_*.log", "json-app/beats_logstash-log_logstash-json.log",
             "json-app/beats_elasticsearch-server_test-json.log"],
}


def corpus_lines(corpus, patterns):
    out = []
    for pat in patterns:
        for path in sorted(glob.glob(os.path.join(corpus, pat))):
            if path.endswith(".json"):
                continue
            with open(path, encoding="utf-8", errors="replace") as f:
                out += [l.rstrip("\n") for l in f if l.strip()]
    if not out:
        sys.exit("gen_parse.py: no corpus lines for %s under %s" % (patterns, corpus))
    return out


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--lines", type=int, default=1000000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--corpus", default=os.environ.get(
        "WHARF_CORPUS", os.path.join(here, "..", "..", "..", "shared", "corpus")))
    args = ap.parse_args()
    rng = random.Random(args.seed)
    conts = gen.make_containers(rng, len(SOURCES))
    root = os.path.join(args.dir, "containers")
    files, lines = [], []
    for k, (parser, pats) in enumerate(SOURCES.items()):
        c = conts[k]
        c["image"] = IMAGES[parser]
        d = os.path.join(root, c["id"])
        os.makedirs(d, exist_ok=True)
        config, host = gen.docker_meta(c, k)
        config["Config"]["Labels"]["wharf.parser"] = parser
        with open(os.path.join(d, "config.v2.json"), "w") as f:
            json.dump(config, f, separators=(",", ":"))
        with open(os.path.join(d, "hostconfig.json"), "w") as f:
            json.dump(host, f, separators=(",", ":"))
        files.append(open(os.path.join(d, c["id"] + "-json.log"), "w", encoding="utf-8"))
        lines.append(corpus_lines(args.corpus, pats))
    size = 0
    for i in range(args.lines):
        k = i % len(files)
        text = lines[k][(i // len(files)) % len(lines[k])]
        rec = '{"log":%s,"stream":"stdout","time":"2026-11-23T08:%02d:%02d.%09dZ"}\n' % (
            json.dumps(text + "\n"), (i // 60000) % 60, (i // 1000) % 60, i % 1000000000)
        files[k].write(rec)
        size += len(rec.encode())
    for f in files:
        f.close()
    with open(os.path.join(args.dir, "manifest.json"), "w") as f:
        json.dump({"events": args.lines, "input_bytes": size}, f)


if __name__ == "__main__":
    main()
