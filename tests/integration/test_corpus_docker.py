"""Every Docker json-file sample in the shared corpus through --oneshot.

Each sample becomes one container's log. The messages must equal an
independent reading of the file (a `log` without its trailing newline
continues in the next record of the same stream; a line that is not a JSON
object is kept raw and tagged invalid_json), and, where fluent-bit's expected
output is a pure Docker join (no multiline regex of its own), equal that too.
"""
import json
import os

import wharflib as w

f = w.Failures("corpus_docker")
src = os.path.join(w.CORPUS, "docker-json")
names = sorted(n for n in os.listdir(src) if n.endswith(".log"))
root = w.tmpdir()
containers = os.path.join(root, "containers")
ids = {}
for i, name in enumerate(names):
    ids[name] = w.cid(100 + i)
    log = w.docker_container(containers, ids[name], f"corpus-{i}")
    with open(os.path.join(src, name), "rb") as a, open(log, "wb") as b:
        b.write(a.read())
out = os.path.join(root, "out.ndjson")
cfg = os.path.join(root, "wharf.yaml")
w.write_config(cfg, os.path.join(root, "data"), [{
    "type": "docker", "id": "docker", "root": containers, "read_from": "beginning"}], out)
w.oneshot(cfg)
events = w.read_events(out)


def expected_messages(path):
    """(message, tags) in file order, read the way Docker's format means it."""
    result, pending = [], {}
    with open(path, "rb") as fh:
        lines = fh.read().split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    else:
        lines.pop()  # an unterminated last line is not read yet
    for raw in lines:
        try:
            rec = json.loads(raw.decode("utf-8"))
            ok = isinstance(rec, dict) and isinstance(rec.get("log"), str)
        except (UnicodeDecodeError, ValueError):
            ok = False
        if not ok:
            result.append((raw.decode("utf-8", "replace"), ["invalid_json"]))
            continue
        stream = rec.get("stream", "")
        text = pending.pop(stream, "") + rec["log"]
        if text.endswith("\n"):
            result.append((text[:-1], None))
        else:
            pending[stream] = text
    return result


total = 0
for name in names:
    got = [(e["message"], e.get("tags")) for e in events if e["container"]["id"] == ids[name]]
    want = expected_messages(os.path.join(src, name))
    total += len(got)
    f.eq(got, want, name)
    oracle = os.path.join(src, name[:-4] + ".out")
    # The other fluent-bit oracles also group lines with a multiline regex.
    pure_join = name in ("fluentbit_tail_dockermode.log",
                         "fluentbit_tail_dockermode_splitted_line.log") or \
        "unescaping" in name or "invalid-json" in name
    if os.path.exists(oracle) and pure_join:
        with open(oracle) as fh:
            text = fh.read().strip()
        if text.startswith("["):
            recs = [json.loads(l)[1] for l in text.splitlines()]
        else:
            recs = [json.loads(l) for l in text.splitlines()]
        f.eq([m for m, _ in got], [r["log"].rstrip("\n") for r in recs], f"{name} vs fluent-bit")

corrupted = [e for e in events if e["container"]["id"] == ids["beats_tests_docker_corrupted.log"]]
f.check(any(e.get("tags") == ["invalid_json"] for e in corrupted), "corrupted file: no invalid_json")
for e in events:
    f.eq(e["ecs"]["version"], "9.4.0", "ecs.version")
    f.check(e["container"]["name"].startswith("corpus-"), "container.name")
    if "tags" not in e and e["message"]:
        f.check(e["@timestamp"].endswith("Z") and len(e["@timestamp"]) == 30, "@timestamp format")
f.finish(f"{total} events from {len(names)} files")
