"""The Quick start's demo: conf/demo.yaml over the bundled logs in demo/.

Runs `wharf run -c conf/demo.yaml --oneshot` from a copy of the repository's
demo/ and conf/ folders and checks every event it prints, field by field: the
README promises exactly this output to a new user.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

WHARF = os.environ["WHARF_BIN"]
SRC = os.environ["WHARF_SOURCE_DIR"]

DOCKER_ID = "3f4e8a1c9b2d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f"
CRI_ID = "9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b"

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)


def run_demo(root):
    shutil.copytree(os.path.join(SRC, "demo"), os.path.join(root, "demo"), symlinks=True,
                    ignore=shutil.ignore_patterns("data", "out"))
    shutil.copytree(os.path.join(SRC, "conf"), os.path.join(root, "conf"))
    p = subprocess.run([WHARF, "run", "-c", "conf/demo.yaml", "--oneshot"], cwd=root,
                       capture_output=True, timeout=60)
    check(p.returncode == 0, f"exit {p.returncode}: {p.stderr.decode()}")
    return p.stdout.decode("utf-8")


def main():
    with tempfile.TemporaryDirectory() as root:
        out = run_demo(root)
        stdout_events = [json.loads(l) for l in out.splitlines()]
        with open(os.path.join(root, "demo/out/events.ndjson"), encoding="utf-8") as f:
            file_text = f.read()
        check(file_text == out, "stdout and file outputs differ")
        # A second run reads nothing new: positions were saved.
        again = run_demo_again(root)
        check(again == "", f"second run printed {len(again)} bytes")

    check(len(stdout_events) == 11, f"expected 11 events, got {len(stdout_events)}")
    docker = [e for e in stdout_events if e["event"]["dataset"] == "docker.container_logs"]
    pods = [e for e in stdout_events if e["event"]["dataset"] == "kubernetes.container_logs"]
    check(len(docker) == 6 and len(pods) == 5, f"docker={len(docker)} pods={len(pods)}")

    for e in stdout_events:
        check(e["ecs"]["version"] == "9.4.0", "ecs.version")
        check(e["event"]["kind"] == "event", "event.kind")
        check(e["agent"] == {"type": "wharf", "version": "0.1.0"}, f"agent {e['agent']}")
        check(e["host"]["name"] == os.uname().nodename, f"host.name {e['host']}")
        check(e["event"]["created"].endswith("Z") and len(e["event"]["created"]) == 30,
              "event.created format")

    d = docker[0]
    check(d["@timestamp"] == "2026-11-20T08:00:01.120433001Z", f"@timestamp {d['@timestamp']}")
    check(d["message"] == "/docker-entrypoint.sh: Configuration complete; ready for start up",
          f"message {d['message']!r}")
    check(d["stream"] == "stdout", "stream")
    check(d["log"]["offset"] == 0, "log.offset")
    check(d["log"]["file"]["path"] ==
          f"demo/docker/containers/{DOCKER_ID}/{DOCKER_ID}-json.log", f"path {d['log']}")
    c = d["container"]
    check(c["id"] == DOCKER_ID and c["name"] == "shop-frontend" and c["runtime"] == "docker",
          f"container {c}")
    check(c["image"] == {"name": "nginx", "tag": ["1.25.3"], "hash": {"all": [
        "sha256:a8758716bb6aa4d90071160d27028fe4eaee7ce8166221a97d30440c8eac2be6"]}},
        f"image {c['image']}")
    check(c["labels"] == {"com_docker_compose_project": "shop",
                          "com_docker_compose_service": "frontend",
                          "maintainer": "NGINX Docker Maintainers"}, f"labels {c['labels']}")
    check(c["security_context"] == {"privileged": True, "user": "", "run_as_root": True,
                                    "capabilities": {"add": ["NET_ADMIN", "SYS_TIME"]},
                                    "read_only_root_filesystem": False, "host_network": True,
                                    "host_pid": False}, f"security {c['security_context']}")
    check(docker[2]["stream"] == "stderr", "stderr line")
    # The line Docker split into 16 KiB parts is one event at the first part's offset.
    big = docker[4]
    check(len(big["message"]) == 20049 and big["message"].startswith('{"level":"info"'),
          f"joined length {len(big['message'])}")
    check(big["message"].endswith('x"}'), "joined end")
    check(big["@timestamp"] == "2026-11-20T08:00:07.000000001Z", "joined timestamp")
    check(docker[5]["@timestamp"] == "2026-11-20T08:00:08.500000000Z", "short fraction")
    check(docker[5]["log"]["offset"] > big["log"]["offset"] + 20049, "offset after join")

    p = pods[0]
    check(p["@timestamp"] == "2026-11-20T08:15:00.000000001Z", f"local time to UTC {p['@timestamp']}")
    check(p["container"] == {"id": CRI_ID, "name": "api", "runtime": "containerd"},
          f"pod container {p['container']}")
    check(p["orchestrator"] == {"type": "kubernetes", "namespace": "payments",
                                "resource": {"type": "pod", "name": "api-7d9f8b6c5-x2x4z"}},
          f"orchestrator {p['orchestrator']}")
    check(p["kubernetes"] == {"pod": {"uid": "5f1c2b3a-4d5e-6f70-8192-a3b4c5d6e7f8"}},
          f"kubernetes {p['kubernetes']}")
    check(pods[2]["message"] == "\tat com.example.payments.Gateway.charge(Gateway.java:88)",
          "tab kept")
    check(pods[3]["message"] == '{"event":"charge","amount":1999,"currency":"EUR"}',
          f"P/F join {pods[3]['message']!r}")
    check("demo-secret-never-shipped" not in out, "Config.Env leaked")

    if failures:
        print("FAILED:\n  " + "\n  ".join(failures))
        sys.exit(1)
    print(f"demo: {len(stdout_events)} events checked")


def run_demo_again(root):
    p = subprocess.run([WHARF, "run", "-c", "conf/demo.yaml", "--oneshot"], cwd=root,
                       capture_output=True, timeout=60)
    check(p.returncode == 0, f"second run exit {p.returncode}")
    return p.stdout.decode("utf-8")


if __name__ == "__main__":
    main()
