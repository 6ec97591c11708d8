"""CRI input on a kubelet pod layout, and the real-world CRI corpus.

P/F parts joined per stream while the streams interleave, the container id
from the kubelet's symlink, local-time offsets converted to UTC, invalid
lines kept raw, and the fluent-bit partial-line oracle from the corpus.
"""
import os

import wharflib as w

f = w.Failures("cri_input")
root = w.tmpdir()
out = os.path.join(root, "out.ndjson")
uid = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
log = w.pod_dir(root, "shop", "cart-5d8c9-abcde", uid, "cart")
cont_id = "c" * 64
w.pod_symlink(root, "shop", "cart-5d8c9-abcde", "cart", cont_id, log)
# An older container instance of the same pod: its symlink points elsewhere.
old = w.pod_dir(root, "shop", "cart-5d8c9-abcde", uid, "cart", restart=1)
open(old, "w").close()
w.pod_symlink(root, "shop", "cart-5d8c9-abcde", "cart", "d" * 64, old)

lines = [
    "2026-11-20T09:00:00.000000001+01:00 stdout F hello from cart",
    "2026-11-20T08:00:01.000000000Z stdout P part one, ",
    "2026-11-20T08:00:01.100000000Z stderr F an error in between",
    "2026-11-20T08:00:01.200000000Z stdout P part two, ",
    "2026-11-20T08:00:01.300000000Z stdout F part three",
    "this is not a CRI line",
    "2026-11-20T08:00:02.000000000Z stdout F ",
    "2026-11-20T08:00:03.000000000Z stdout F",
    "2026-11-20T08:00:04Z stdout F:x tag with extra",
    "2026-11-20T08:00:05.5-05:30 stderr F \ttabbed",
    "2026-11-20T08:00:06Z sideout F bad stream",
]
with open(log, "w") as fh:
    offs = []
    for l in lines:
        offs.append(fh.tell())
        fh.write(l + "\n")
    fh.write("2026-11-20T08:00:07Z stdout F unterminated")

cfg = os.path.join(root, "wharf.yaml")
w.write_config(cfg, os.path.join(root, "data"), [{
    "type": "cri", "id": "pods", "paths": [os.path.join(root, "pods/*/*/*.log")],
    "containers_dir": os.path.join(root, "containers"), "runtime": "cri-o",
    "read_from": "beginning"}], out)
w.oneshot(cfg)
ev = w.read_events(out)
msgs = [e["message"] for e in ev]
f.eq(msgs, ["hello from cart", "an error in between", "part one, part two, part three",
            "this is not a CRI line", "", "", "tag with extra", "\ttabbed",
            "2026-11-20T08:00:06Z sideout F bad stream"], "messages")
if len(ev) == 9:
    e = ev[0]
    f.eq(e["@timestamp"], "2026-11-20T08:00:00.000000001Z", "offset +01:00 to UTC")
    f.eq(e["container"], {"id": cont_id, "name": "cart", "runtime": "cri-o"}, "container")
    f.eq(e["orchestrator"], {"type": "kubernetes", "namespace": "shop",
                             "resource": {"type": "pod", "name": "cart-5d8c9-abcde"}},
         "orchestrator")
    f.eq(e["kubernetes"], {"pod": {"uid": uid}}, "pod uid")
    f.eq(e["event"]["dataset"], "kubernetes.container_logs", "dataset")
    f.eq(ev[1]["stream"], "stderr", "interleaved stderr")
    f.eq(ev[2]["log"]["offset"], offs[1], "joined line at its first part")
    f.eq(ev[2]["@timestamp"], "2026-11-20T08:00:01.000000000Z", "joined line first part time")
    f.eq(ev[3].get("tags"), ["invalid_cri"], "invalid line tag")
    f.eq(ev[3]["log"]["offset"], offs[5], "invalid line offset")
    f.eq(ev[7]["@timestamp"], "2026-11-20T13:30:05.500000000Z", "offset -05:30 to UTC")
    f.eq(ev[8].get("tags"), ["invalid_cri"], "unknown stream is invalid")

# The unterminated line waits for its newline and then arrives once.
with open(log, "a") as fh:
    fh.write(" now\n")
w.oneshot(cfg)
ev2 = w.read_events(out)
f.eq([e["message"] for e in ev2[len(ev):]], ["unterminated now"], "completed line")

# Corpus: fluent-bit's CRI partial fixture against its expected output.
croot = w.tmpdir()
cout = os.path.join(croot, "out.ndjson")
src = os.path.join(w.CORPUS, "cri")
for i, name in enumerate(sorted(n for n in os.listdir(src) if n.endswith(".log"))):
    p = w.pod_dir(croot, "corpus", f"pod{i}", f"uid{i}", "c")
    with open(os.path.join(src, name), "rb") as a, open(p, "wb") as b:
        b.write(a.read())
ccfg = os.path.join(croot, "wharf.yaml")
w.write_config(ccfg, os.path.join(croot, "data"), [{
    "type": "cri", "id": "pods", "paths": [os.path.join(croot, "pods/*/*/*.log")],
    "read_from": "beginning"}], cout)
w.oneshot(ccfg)
cev = w.read_events(cout)
names = sorted(n for n in os.listdir(src) if n.endswith(".log"))
idx = names.index("fluentbit_multiline-test_cri_partial.log")
partial = [e for e in cev if e["orchestrator"]["resource"]["name"] == f"pod{idx}"]
with open(os.path.join(src, "fluentbit_multiline-test_cri_partial.expected.txt")) as fh:
    expected = [l.rstrip("\n") for l in fh if l.strip()]
f.eq(sorted(e["message"] for e in partial), sorted(expected), "fluent-bit partial oracle")
stack = [e for e in cev if e["orchestrator"]["resource"]["name"] ==
         f"pod{names.index('fluentbit_avro-multiline_hadoop-stacktrace.log')}"]
f.eq(len(stack), 19, "hadoop stack trace lines")
f.check(all(e["stream"] == "stderr" for e in stack), "stack trace on stderr")
for name in names:
    with open(os.path.join(src, name)) as fh:
        n_f = sum(1 for l in fh if l.split(" ")[2:3] in (["F"], ["F\n"]))
    got = len([e for e in cev if e["orchestrator"]["resource"]["name"] == f"pod{names.index(name)}"])
    f.eq(got, n_f, f"{name}: one event per F line")
f.finish(f"{len(ev2)} + {len(cev)} events")
