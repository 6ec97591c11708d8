#!/usr/bin/env python3
"""wharf benchmark: generate container logs, run `wharf run --oneshot`, report.

    python3 tests/bench/bench.py [--lines N] [--containers N] [--wharf BIN]

Generates (once, cached under /tmp/wharf-bench) N lines across C containers
in the Docker json-file layout and the same in the kubelet/CRI layout:
realistic mixed lines (access logs, JSON app logs, stderr, some long lines,
a few over 16 KiB that the runtime splits), then runs wharf over each with a
file output and prints events/s, MiB/s of input, CPU seconds per million
events and peak RSS, measured with getrusage on the child. The output line
count is checked against the expected event count.
"""
import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time

WORDS = ("GET POST PUT DELETE /api/v1/orders /cart /login /healthz /static/app.js user "
         "session token timeout retry upstream connected closed cache miss hit").split()


def make_line(rng, i):
    r = rng.random()
    if r < 0.60:
        return (f'10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)} - - '
                f'[20/Nov/2026:08:{i // 60 % 60:02d}:{i % 60:02d} +0000] "{rng.choice(WORDS[:4])} '
                f'{rng.choice(WORDS[4:9])}?id={i} HTTP/1.1" {rng.choice((200, 200, 200, 404, 500))} '
                f'{rng.randrange(100, 90000)} "-" "Mozilla/5.0 (X11; Linux x86_64)"')
    if r < 0.90:
        return json.dumps({"ts": f"2026-11-20T08:00:{i % 60:02d}.{i % 1000:03d}Z",
                           "level": rng.choice(("info", "warn", "debug")),
                           "msg": " ".join(rng.choice(WORDS) for _ in range(rng.randrange(3, 12))),
                           "request_id": f"{rng.getrandbits(64):016x}", "latency_ms": rng.randrange(900)})
    if r < 0.98:
        return "ERROR " + " ".join(rng.choice(WORDS) for _ in range(rng.randrange(5, 25)))
    if r < 0.9995:
        return "DUMP " + "x" * rng.randrange(2048, 15 * 1024)
    return "HUGE " + "y" * rng.randrange(17 * 1024, 40 * 1024)


def generate(root, lines, containers, seed=42):
    rng = random.Random(seed)
    docker = os.path.join(root, "docker")
    pods = os.path.join(root, "pods")
    dfh, cfh = [], []
    for c in range(containers):
        cid = f"{c + 1:064x}"
        d = os.path.join(docker, cid)
        os.makedirs(d)
        labels = {"app": f"svc{c}", "team": "shop", "com.docker.compose.project": "bench"}
        if c % 2:
            labels.update({"io.kubernetes.pod.name": f"svc{c}-abc", "io.kubernetes.pod.namespace": "prod",
                           "io.kubernetes.pod.uid": f"uid-{c}"})
        with open(os.path.join(d, "config.v2.json"), "w") as f:
            json.dump({"ID": cid, "Name": f"/svc{c}", "Image": "sha256:" + "ab" * 32,
                       "Config": {"Image": f"registry.local/svc{c}:1.{c}", "User": "",
                                  "Env": ["PATH=/usr/bin", "DB_PASSWORD=bench"], "Labels": labels}}, f)
        with open(os.path.join(d, "hostconfig.json"), "w") as f:
            json.dump({"Privileged": c == 0, "CapAdd": None, "NetworkMode": "bridge"}, f)
        dfh.append(open(os.path.join(d, cid + "-json.log"), "w"))
        p = os.path.join(pods, f"prod_svc{c}-abc_uid-{c}", "app")
        os.makedirs(p)
        cfh.append(open(os.path.join(p, "0.log"), "w"))
    for i in range(lines):
        k = i % containers
        text = make_line(rng, i)
        stream = "stderr" if text.startswith("ERROR") else "stdout"
        ts = f"2026-11-20T08:{i // 60000 % 60:02d}:{i // 1000 % 60:02d}.{i % 1000:03d}{k:06d}Z"
        data = text + "\n"
        for off in range(0, len(data), 16384):
            dfh[k].write(json.dumps({"log": data[off:off + 16384], "stream": stream, "time": ts},
                                    separators=(",", ":")) + "\n")
        parts = [text[off:off + 16384] for off in range(0, len(text), 16384)] or [""]
        for j, part in enumerate(parts):
            cfh[k].write(f"{ts} {stream} {'F' if j == len(parts) - 1 else 'P'} {part}\n")
    for f in dfh + cfh:
        f.close()


def run(wharf, root, name, inputs, in_dir, expected):
    work = os.path.join(root, "run-" + name)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    cfg = os.path.join(work, "wharf.yaml")
    out = os.path.join(work, "out.ndjson")
    with open(cfg, "w") as f:
        f.write(f"data_dir: {work}/data\nhost: {{name: bench}}\ninputs:\n{inputs}\n"
                f"outputs:\n  - {{type: file, id: out, path: {out}}}\n")
    # GNU time reports the child's own peak RSS; Python's rusage would count
    # the forked interpreter's pages before exec.
    stats = os.path.join(work, "time.txt")
    t0 = time.monotonic()
    subprocess.run(["/usr/bin/time", "-o", stats, "-f", "%U %S %M", wharf, "run", "-c", cfg,
                    "--oneshot", "--log-level", "warn"], check=True)
    wall = time.monotonic() - t0
    user, sys_s, rss_kib = (float(x) for x in open(stats).read().split()[-3:])
    cpu = user + sys_s
    with open(out, "rb") as f:
        events = sum(1 for _ in f)
    if events != expected:
        sys.exit(f"{name}: {events} events, expected {expected}")
    in_bytes = sum(os.path.getsize(os.path.join(d, n)) for d, _, ns in os.walk(in_dir)
                   for n in ns if n.endswith(".log"))
    print(f"{name:<28} events={events}  wall={wall:.2f}s  events/s={events / wall:,.0f}  "
          f"MiB/s(in)={in_bytes / wall / 2**20:.1f}  cpu_s_per_M={cpu / events * 1e6:.2f}  "
          f"events/cpu_s={events / cpu:,.0f}  user={user:.2f}s  sys={sys_s:.2f}s  "
          f"peak_rss_MiB={rss_kib / 1024:.1f}",
          flush=True)
    shutil.rmtree(work)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--containers", type=int, default=20)
    ap.add_argument("--wharf", default=os.environ.get("WHARF_BIN", "build-bench/wharf"))
    a = ap.parse_args()
    root = f"/tmp/wharf-bench/{a.lines}x{a.containers}"
    if not os.path.exists(root + "/done"):
        shutil.rmtree(root, ignore_errors=True)
        os.makedirs(root)
        t0 = time.monotonic()
        generate(root, a.lines, a.containers)
        open(root + "/done", "w").close()
        print(f"generated {a.lines} lines in {time.monotonic() - t0:.1f}s", flush=True)
    print(f"cores={os.cpu_count()}  " + next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                                            if l.startswith("model name")), "?"))
    run(a.wharf, root, "docker-json->ecs->file",
        f"  - {{type: docker, id: d, root: {root}/docker, read_from: beginning}}",
        f"{root}/docker", a.lines)
    run(a.wharf, root, "cri->ecs->file",
        f"  - {{type: cri, id: c, paths: [\"{root}/pods/*/*/*.log\"], read_from: beginning}}",
        f"{root}/pods", a.lines)


if __name__ == "__main__":
    main()
