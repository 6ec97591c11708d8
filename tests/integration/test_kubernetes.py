"""The Kubernetes manifests (packaging/kubernetes/): every document parses,
the security settings are what the README promises, and the wharf.yaml in
each ConfigMap is valid and works on the layout the manifest gives it.

  daemonset.yaml  ServiceAccount without token; the DaemonSet: read-only
                  root, no privilege escalation, capabilities drop ALL + add
                  DAC_READ_SEARCH only, no host network/PID/IPC, seccomp
                  RuntimeDefault; the three log directories hostPath and
                  mounted read-only, /var/lib/wharf hostPath as data_dir;
                  requests and limits; probes on /ready and /health at the
                  api port = the ConfigMap's api.listen port; Prometheus
                  annotations; WHARF_HOST_NAME from spec.nodeName. Its
                  wharf.yaml passes `wharf check` (the parser path pointed at
                  the repository's parsers) and, on a kubelet layout with
                  WHARF_HOST_NAME=node-7, ships pods' lines with
                  host.name node-7 and the pod fields
  sidecar.yaml    no hostPath, no capability, every container non-root with
                  a read-only root; wharf a native sidecar reading the shared
                  emptyDir read-only; its buffer below the volume's
                  sizeLimit. The application's own shell script, run here,
                  writes lines that wharf (with the ConfigMap's config)
                  ships with the namespace, pod and container from the path
"""
import os
import signal
import subprocess
import time

import yaml

import wharftest as t

ck = t.Checker("kubernetes")
KDIR = os.path.join(t.SOURCE, "packaging", "kubernetes")
PARSERS = os.path.join(t.SOURCE, "parsers")
HOST_LOG_DIRS = {"/var/log/pods", "/var/log/containers", "/var/lib/docker/containers"}


def load(name):
    with open(os.path.join(KDIR, name)) as f:
        docs = [d for d in yaml.safe_load_all(f) if d is not None]
    return {(d["kind"], d["metadata"]["name"]): d for d in docs}


def config_text(configmap):
    return configmap["data"]["wharf.yaml"]


def wharf_check(name, text):
    """`wharf check` on a ConfigMap's wharf.yaml; only the parser pack's path
    (in the image: /usr/share/wharf/parsers) points at the repository's."""
    path = os.path.join(t.tmpdir("wharf-it-k8s-check-"), "wharf.yaml")
    with open(path, "w") as f:
        f.write(text.replace("/usr/share/wharf/parsers", PARSERS))
    p = t.run_wharf(["check", "-c", path])
    ck.eq((p.returncode, p.stderr.decode()), (0, ""), f"{name}: wharf check")


def local_config(text, data, inputs, out):
    """The ConfigMap's config with data_dir, the inputs' paths and a file
    output moved into a temp dir; everything else as shipped."""
    cfg = yaml.safe_load(text.replace("/usr/share/wharf/parsers", PARSERS))
    cfg["data_dir"] = data
    cfg.pop("api")  # several tests may run at once: no fixed port
    for inp in cfg["inputs"]:
        inp.update(inputs.get(inp["id"], {}))
    cfg["outputs"] = [{"type": "file", "id": "out", "path": out}]
    return yaml.safe_dump(cfg)


def check_container_hardening(where, c, caps_add):
    sc = c.get("securityContext", {})
    ck.eq(sc.get("readOnlyRootFilesystem"), True, f"{where}: readOnlyRootFilesystem")
    ck.eq(sc.get("allowPrivilegeEscalation"), False, f"{where}: allowPrivilegeEscalation")
    ck.check(not sc.get("privileged", False), f"{where}: not privileged")
    ck.eq(sc.get("capabilities", {}).get("drop"), ["ALL"], f"{where}: capabilities drop")
    ck.eq(sc.get("capabilities", {}).get("add"), caps_add, f"{where}: capabilities add")
    res = c.get("resources", {})
    for kind in ("requests", "limits"):
        ck.eq(sorted(res.get(kind, {})), ["cpu", "memory"], f"{where}: resources.{kind}")


def check_probes(where, c, api_port):
    ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
    ck.eq(ports.get("api"), api_port, f"{where}: the api port is api.listen's")
    probes = {k: (c[k]["httpGet"]["path"], ports.get(c[k]["httpGet"]["port"]))
              for k in ("startupProbe", "livenessProbe", "readinessProbe") if k in c}
    ck.eq(probes, {"startupProbe": ("/ready", api_port), "livenessProbe": ("/ready", api_port),
                   "readinessProbe": ("/health", api_port)}, f"{where}: probes")


def check_scrape(where, template, api_port):
    ann = template["metadata"].get("annotations", {})
    ck.eq({k: ann.get(k) for k in ("prometheus.io/scrape", "prometheus.io/port",
                                    "prometheus.io/path")},
          {"prometheus.io/scrape": "true", "prometheus.io/port": str(api_port),
           "prometheus.io/path": "/metrics"}, f"{where}: Prometheus annotations")


def api_port(cfg):
    return int(cfg["api"]["listen"].rsplit(":", 1)[1])


def scenario_daemonset():
    docs = load("daemonset.yaml")
    ck.eq(sorted(docs), [("ConfigMap", "wharf"), ("DaemonSet", "wharf"), ("Namespace", "wharf"),
                         ("ServiceAccount", "wharf")], "daemonset.yaml: documents")
    ds = docs[("DaemonSet", "wharf")]
    cm = docs[("ConfigMap", "wharf")]
    sa = docs[("ServiceAccount", "wharf")]
    cfg = yaml.safe_load(config_text(cm))
    spec = ds["spec"]["template"]["spec"]
    ck.eq(sa.get("automountServiceAccountToken"), False, "ServiceAccount: no token")
    ck.eq((spec.get("serviceAccountName"), spec.get("automountServiceAccountToken")),
          ("wharf", False), "DaemonSet: its account, no token")
    ck.eq([spec.get(k, False) for k in ("hostNetwork", "hostPID", "hostIPC")], [False] * 3,
          "DaemonSet: no host namespaces")
    ck.eq(spec.get("securityContext", {}).get("seccompProfile"), {"type": "RuntimeDefault"},
          "DaemonSet: seccomp")
    ck.eq(len(spec["containers"]), 1, "DaemonSet: one container")
    c = spec["containers"][0]
    check_container_hardening("DaemonSet", c, ["DAC_READ_SEARCH"])
    check_probes("DaemonSet", c, api_port(cfg))
    check_scrape("DaemonSet", ds["spec"]["template"], api_port(cfg))
    env = {e["name"]: e for e in c.get("env", [])}
    ck.eq(env.get("WHARF_HOST_NAME", {}).get("valueFrom"),
          {"fieldRef": {"fieldPath": "spec.nodeName"}}, "DaemonSet: WHARF_HOST_NAME")
    ck.eq(cfg["host"]["name"], "auto", "ConfigMap: host.name auto (takes WHARF_HOST_NAME)")

    volumes = {v["name"]: v for v in spec["volumes"]}
    mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
    host_paths = {v["hostPath"]["path"]: n for n, v in volumes.items() if "hostPath" in v}
    ck.eq(set(host_paths), HOST_LOG_DIRS | {"/var/lib/wharf"}, "DaemonSet: hostPath volumes")
    for path, name in host_paths.items():
        m = mounts.get(path, {})
        ck.eq(m.get("name"), name, f"DaemonSet: {path} mounted at the same path")
        ck.eq(m.get("readOnly", False), path != "/var/lib/wharf",
              f"DaemonSet: {path} read-only (all but the buffer)")
    ck.eq(cfg["data_dir"], "/var/lib/wharf", "ConfigMap: data_dir is the buffer volume")
    ck.eq(mounts.get("/etc/wharf", {}).get("readOnly"), True, "DaemonSet: config read-only")
    ck.eq(volumes.get(mounts.get("/etc/wharf", {}).get("name"), {}).get("configMap"),
          {"name": "wharf"}, "DaemonSet: config from the ConfigMap")
    roots = [i.get("root") for i in cfg["inputs"] if i["type"] == "docker"] + \
        [p.split("/*")[0] for i in cfg["inputs"] if i["type"] == "cri" for p in i["paths"]] + \
        [i.get("containers_dir") for i in cfg["inputs"] if i["type"] == "cri"]
    ck.eq(sorted(set(roots)), sorted(HOST_LOG_DIRS), "ConfigMap: inputs read the mounted dirs")
    wharf_check("daemonset.yaml", config_text(cm))

    # the ConfigMap's config on a kubelet layout, as the node's wharf
    s = t.Setup("k8s-daemonset")
    pods = t.PodLogs(s.path("node"))
    log = pods.add("shop", "cart-5d8c9-abcde", "cart")
    log.append(t.cri_line("GET /cart 200") + t.cri_line("GET /pay 500", stream="stderr"))
    with open(s.cfg, "w") as f:
        f.write(local_config(config_text(cm), s.data, {
            "pods": {"paths": [pods.glob()], "containers_dir": pods.containers_dir,
                     "read_from": "beginning"},
            "docker": {"root": s.path("docker")}}, s.out))
    p = subprocess.run([t.WHARF, "run", "-c", s.cfg, "--oneshot"], capture_output=True,
                       timeout=120, env=dict(os.environ, WHARF_HOST_NAME="node-7"))
    ck.eq(p.returncode, 0, f"DaemonSet config: oneshot ({p.stderr.decode()[-800:]!r})")
    got = t.read_events(s.out) if os.path.exists(s.out) else []
    ck.eq([(e.get("message"), e.get("stream"), t.get(e, "host.name"),
            t.get(e, "orchestrator.namespace"), t.get(e, "orchestrator.resource.name"),
            t.get(e, "container.name"), t.get(e, "container.id")) for e in got],
          [(m, st, "node-7", "shop", "cart-5d8c9-abcde", "cart", log.id)
           for m, st in (("GET /cart 200", "stdout"), ("GET /pay 500", "stderr"))],
          "DaemonSet config: events on a kubelet layout")


def run_app_script(container, env, seconds):
    """The sidecar application's command, as the pod runs it, for a while."""
    proc = subprocess.Popen(container["command"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True)
    t._PROCS.append(proc)
    time.sleep(seconds)
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=10)
    return proc.stderr.read().decode()


def scenario_sidecar():
    docs = load("sidecar.yaml")
    ck.eq(sorted(docs), [("ConfigMap", "shop-wharf"), ("Deployment", "shop")],
          "sidecar.yaml: documents")
    dep = docs[("Deployment", "shop")]
    cm = docs[("ConfigMap", "shop-wharf")]
    cfg = yaml.safe_load(config_text(cm))
    spec = dep["spec"]["template"]["spec"]
    ck.eq([v["name"] for v in spec["volumes"] if "hostPath" in v], [], "sidecar: no hostPath")
    ck.eq(spec.get("securityContext", {}).get("runAsNonRoot"), True, "sidecar: pod non-root")
    wharf = {c["name"]: c for c in spec.get("initContainers", [])}.get("wharf", {})
    app = {c["name"]: c for c in spec["containers"]}.get("app", {})
    ck.eq(wharf.get("restartPolicy"), "Always", "sidecar: wharf is a native sidecar")
    for name, c in (("wharf", wharf), ("app", app)):
        check_container_hardening(f"sidecar {name}", c, None)
        sc = c.get("securityContext", {})
        ck.check(sc.get("runAsNonRoot") is True and sc.get("runAsUser", 0) > 0,
                 f"sidecar {name}: runs as a non-root uid ({sc.get('runAsUser')})")
    check_probes("sidecar wharf", wharf, api_port(cfg))
    ck.eq({e["name"]: e.get("valueFrom") for e in wharf.get("env", [])},
          {"WHARF_HOST_NAME": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
          "sidecar wharf: WHARF_HOST_NAME")
    check_scrape("sidecar", dep["spec"]["template"], api_port(cfg))
    wmounts = {m["name"]: m for m in wharf.get("volumeMounts", [])}
    amounts = {m["name"]: m for m in app.get("volumeMounts", [])}
    ck.eq((wmounts.get("app-logs", {}).get("mountPath"), wmounts.get("app-logs", {}).get(
        "readOnly"), amounts.get("app-logs", {}).get("mountPath")),
        ("/var/log/pods", True, "/var/log/pods"), "sidecar: the shared log volume")
    volumes = {v["name"]: v for v in spec["volumes"]}
    ck.check("emptyDir" in volumes.get("app-logs", {}), "sidecar: the log volume is an emptyDir")
    buffer_volume = volumes.get(wmounts.get("buffer", {}).get("name"), {})
    ck.eq(wmounts.get("buffer", {}).get("mountPath"), cfg["data_dir"], "sidecar: data_dir")
    ck.eq((buffer_volume.get("emptyDir", {}).get("sizeLimit"), cfg["buffer"]["max_size"]),
          ("1Gi", "512MiB"), "sidecar: buffer.max_size below the emptyDir's sizeLimit")
    wharf_check("sidecar.yaml", config_text(cm))

    # the application's script writes; wharf with the ConfigMap's config ships
    s = t.Setup("k8s-sidecar")
    env = dict(os.environ, LOG_ROOT=s.path("logs"), POD_NAMESPACE="shop",
               POD_NAME="shop-7d9f8-xk2lp", POD_UID="0b5f7a3c-6a7e-4d1b-9d36-1c2f6e0e5a11")
    err = run_app_script(app, env, 2.5)
    ck.eq(err, "", "sidecar app: its script runs without errors")
    with open(s.cfg, "w") as f:
        f.write(local_config(config_text(cm), s.data, {
            "app": {"paths": [s.path("logs", "*", "*", "*.log")]}}, s.out))
    p = t.oneshot(s.cfg, expect_rc=None)
    ck.eq(p.returncode, 0, f"sidecar config: oneshot ({p.stderr.decode()[-800:]!r})")
    got = t.read_events(s.out) if os.path.exists(s.out) else []
    ck.check(len(got) >= 2, f"sidecar: at least two lines in 2.5 s ({len(got)})")
    ck.eq([(e.get("message"), e.get("stream"), t.get(e, "orchestrator.namespace"),
            t.get(e, "orchestrator.resource.name"), t.get(e, "kubernetes.pod.uid"),
            t.get(e, "container.name")) for e in got],
          [(f"GET /api/cart/{n} 200", "stdout", "shop", "shop-7d9f8-xk2lp",
            "0b5f7a3c-6a7e-4d1b-9d36-1c2f6e0e5a11", "app") for n in range(1, len(got) + 1)],
          "sidecar: events with the pod's fields from the path")
    ck.check(all(t.is_utc9(e.get("@timestamp", "")) for e in got),
             "sidecar: the script's times are read as the event times")
    ck.note(f"sidecar: {len(got)} lines of the application's script shipped")


scenario_daemonset()
scenario_sidecar()
ck.finish()
