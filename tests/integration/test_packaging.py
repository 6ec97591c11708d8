"""Packaging (packaging/): the systemd unit, the Debian package, the Dockerfile.

  unit        packaging/systemd/wharf.service has every hardening directive
              with its exact value; `systemd-analyze verify` is silent on it
              (ExecStart pointed at the built binary); `systemd-analyze
              security --offline=true` rates it at most 2.0 and exactly what
              the README says
  deb         `cpack -G DEB` with the build's CPackConfig.cmake: control
              fields, Depends (dpkg-shlibdeps: one package per library the
              binary links, plus adduser), Recommends tzdata (parser
              `timezone`), the exact file list with modes and
              owners, the conffiles, the maintainer scripts byte for byte;
              extracted with dpkg-deb -x into a scratch root: the binary is
              stripped, runs `version`, accepts the shipped /etc/wharf config
              and passes every sample of the shipped parsers; the changelog
              names the package's version. The maintainer scripts run with
              every system command replaced by a recorder: the exact commands
              for install, remove and purge. lintian's tags are exactly the
              explained allowlist below
  dockerfile  multi-stage; the runtime stage is debian:12-slim and installs
              exactly the packages of the libraries the binary links (readelf
              NEEDED -> ldd -> dpkg -S; libc6 is in the base image) plus
              ca-certificates, so no shell tool; the build stage's packages
              are all in install-deps.sh; a numeric non-root USER; every path
              the image's config writes is on a VOLUME (read-only root
              filesystem); HEALTHCHECK runs `wharf health` on the image's
              config, and that command answers 0 against a running wharf
"""
import gzip
import os
import re
import shlex
import shutil
import socket
import subprocess
import time

import wharftest as t

ck = t.Checker("packaging")
PKG = os.path.join(t.SOURCE, "packaging")
BUILD = os.path.dirname(os.path.abspath(t.WHARF))
UNIT = os.path.join(PKG, "systemd", "wharf.service")

# lintian tags left on the package, each with why it stays.
LINTIAN_ALLOWED = {
    # CPack strips with plain `strip`, which keeps the compiler's version
    # note in .comment (dh_strip removes it); 1 KiB, no debug data.
    "binary-has-unneeded-section",
    # wharf is systemd-only on purpose: readiness is sd_notify and its
    # sandbox is the unit's; an init.d script would run it as root, bare.
    "package-supports-alternative-init-but-no-init.d-script",
}


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, timeout=kw.pop("timeout", 120), **kw)


def project_version():
    with open(os.path.join(t.SOURCE, "CMakeLists.txt")) as f:
        return re.search(r"project\(wharf VERSION (\S+)", f.read()).group(1)


# ------------------------------------------------------------------ unit ---

def unit_directives(path):
    """[Service] and [Unit] directives; repeated keys keep every value."""
    out = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith(("#", "[")):
                k, v = line.split("=", 1)
                out.setdefault(k, []).append(v)
    return out


def readme_exposure():
    with open(os.path.join(t.SOURCE, "README.md")) as f:
        m = re.search(r"exposure (?:level|score)[^0-9]*(\d+\.\d)", f.read())
    return m.group(1) if m else None


def scenario_unit():
    d = unit_directives(UNIT)
    want = {
        "Type": ["notify"],
        "ExecStart": ["/usr/bin/wharf run -c /etc/wharf/wharf.yaml"],
        "User": ["wharf"], "Group": ["wharf"],
        "SupplementaryGroups": ["systemd-journal adm"],
        "StateDirectory": ["wharf"], "LogsDirectory": ["wharf"],
        "CapabilityBoundingSet": ["CAP_DAC_READ_SEARCH"],
        "AmbientCapabilities": ["CAP_DAC_READ_SEARCH"],
        "NoNewPrivileges": ["yes"],
        "ProtectSystem": ["strict"],
        "ReadWritePaths": ["/var/lib/wharf"],
        "ProtectHome": ["yes"],
        "PrivateTmp": ["yes"],
        "PrivateDevices": ["yes"],
        "RestrictAddressFamilies": ["AF_UNIX AF_INET AF_INET6"],
        "SystemCallFilter": ["@system-service", "~@privileged @resources"],
        "SystemCallArchitectures": ["native"],
        "MemoryMax": ["512M"],
    }
    ck.eq({k: d.get(k) for k in want}, want, "unit: hardening directives")
    ck.check("MemoryDenyWriteExecute" not in d and "PrivateUsers" not in d,
             "unit: no MemoryDenyWriteExecute (PCRE2's JIT) nor PrivateUsers (the capability)")

    tmp = t.tmpdir("wharf-it-unit-")
    copy = os.path.join(tmp, "wharf.service")
    with open(UNIT) as f:
        text = f.read()
    with open(copy, "w") as f:
        f.write(text.replace("/usr/bin/wharf", t.WHARF))
    p = run(["systemd-analyze", "verify", copy])
    ck.eq((p.returncode, p.stdout.decode(), p.stderr.decode()), (0, "", ""),
          "unit: systemd-analyze verify")
    p = run(["systemd-analyze", "security", "--offline=true", copy])
    m = re.search(r"Overall exposure level for wharf\.service: (\d+\.\d)", p.stdout.decode())
    score = m.group(1) if m else None
    ck.check(score is not None and float(score) <= 2.0,
             f"unit: exposure level {score} (at most 2.0)")
    ck.eq(readme_exposure(), score, "unit: the README states the exposure level")
    ck.note(f"unit: systemd-analyze security exposure level {score}")


# ------------------------------------------------------------------- deb ---

def build_deb(out):
    p = run(["cpack", "-G", "DEB", "--config", os.path.join(BUILD, "CPackConfig.cmake"),
             "-B", out], cwd=BUILD, timeout=300)
    debs = [f for f in os.listdir(out) if f.endswith(".deb")]
    ck.eq((p.returncode, len(debs)), (0, 1), f"deb: cpack ({p.stderr.decode()[-800:]!r})")
    return os.path.join(out, debs[0]) if debs else None


def deb_listing(deb):
    """{path: (mode string, owner)} from dpkg-deb -c."""
    out = {}
    for line in run(["dpkg-deb", "-c", deb]).stdout.decode().splitlines():
        f = line.split()
        out[f[5].lstrip(".").rstrip("/") or "/"] = (f[0], f[1])
    return out


def want_listing():
    parsers = sorted(f for f in os.listdir(os.path.join(t.SOURCE, "parsers"))
                     if f.endswith(".yaml"))
    dirs = ["/etc", "/etc/wharf", "/lib", "/lib/systemd", "/lib/systemd/system", "/usr",
            "/usr/bin", "/usr/share", "/usr/share/doc", "/usr/share/doc/wharf",
            "/usr/share/man", "/usr/share/man/man1", "/usr/share/wharf",
            "/usr/share/wharf/parsers"]
    files = ["/etc/wharf/wharf.yaml", "/lib/systemd/system/wharf.service",
             "/usr/share/doc/wharf/README.md", "/usr/share/doc/wharf/changelog.gz",
             "/usr/share/doc/wharf/copyright", "/usr/share/man/man1/wharf.1.gz"] + \
        [f"/usr/share/wharf/parsers/{p}" for p in parsers]
    want = {d: ("drwxr-xr-x", "root/root") for d in dirs}
    want.update({f: ("-rw-r--r--", "root/root") for f in files})
    want["/usr/bin/wharf"] = ("-rwxr-xr-x", "root/root")
    return want


def dep_names(depends):
    return sorted(re.match(r"\s*([^\s(]+)", d).group(1) for d in depends.split(","))


def needed_packages():
    """Package of each library the binary links (NEEDED, resolved by ldd)."""
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[(\S+)\]",
                        run(["readelf", "-d", t.WHARF]).stdout.decode())
    paths = dict(re.findall(r"^\s*(\S+) => (\S+)", run(["ldd", t.WHARF]).stdout.decode(),
                            re.M))
    pkgs = {}
    for lib in needed:
        path = paths.get(lib, "")
        for cand in (path, "/usr" + path, os.path.realpath(path)):
            p = run(["dpkg", "-S", cand])
            if p.returncode == 0:
                pkgs[lib] = p.stdout.decode().split(":")[0]
                break
        else:
            ck.fail(f"no package owns {lib} ({path})")
    return pkgs


def fake_system(tmp, exits):
    """A PATH directory where each system command the maintainer scripts use
    only records its arguments (and exits as `exits` says)."""
    fake = os.path.join(tmp, "fakebin")
    os.makedirs(fake)
    calls = os.path.join(tmp, "calls")
    for cmd in ("adduser", "getent", "install", "dpkg-statoverride", "deb-systemd-helper",
                "deb-systemd-invoke", "systemctl", "rm"):
        with open(os.path.join(fake, cmd), "w") as f:
            f.write("#!/bin/sh\n"
                    f'echo "{cmd} $*" >>{shlex.quote(calls)}\n'
                    'case "$*" in\n' +
                    "".join(f'  {shlex.quote(args)}) exit {rc} ;;\n'
                            for (c, args), rc in exits.items() if c == cmd) +
                    "esac\nexit 0\n")
        os.chmod(os.path.join(fake, cmd), 0o755)
    return fake, calls


def run_script(control, name, args, exits):
    tmp = t.tmpdir(f"wharf-it-{name}-")
    fake, calls = fake_system(tmp, exits)
    p = run(["/bin/sh", os.path.join(control, name)] + args,
            env={"PATH": f"{fake}:/usr/bin:/bin"})
    ck.eq(p.returncode, 0, f"{name} {' '.join(args)}: exit code ({p.stderr.decode()!r})")
    with open(calls) if os.path.exists(calls) else open(os.devnull) as f:
        return f.read().splitlines()


def scenario_scripts(control):
    systemd = os.path.isdir("/run/systemd/system")
    got = run_script(control, "postinst", ["configure", ""], {
        ("getent", "passwd wharf"): 2,
        ("dpkg-statoverride", "--list /etc/wharf/wharf.yaml"): 1})
    ck.eq(got, [
        "getent passwd wharf",
        "adduser --quiet --system --group --home /var/lib/wharf --no-create-home --shell "
        "/usr/sbin/nologin --gecos wharf log shipper wharf",
        "install -d -o wharf -g wharf -m 0750 /var/lib/wharf",
        "install -d -o wharf -g wharf -m 0750 /var/log/wharf",
        "dpkg-statoverride --list /etc/wharf/wharf.yaml",
        "dpkg-statoverride --update --add root wharf 0640 /etc/wharf/wharf.yaml",
        "deb-systemd-helper unmask wharf.service",
        "deb-systemd-helper --quiet was-enabled wharf.service",
        "deb-systemd-helper enable wharf.service",
    ] + (["systemctl --system daemon-reload"] if systemd else []),
        "postinst configure (first install): the user, its directories, the config's "
        "mode, the unit enabled, not started")
    got = run_script(control, "postinst", ["configure", "0.0.9"], {
        ("deb-systemd-helper", "--quiet was-enabled wharf.service"): 1})
    ck.eq(got, [
        "getent passwd wharf",
        "install -d -o wharf -g wharf -m 0750 /var/lib/wharf",
        "install -d -o wharf -g wharf -m 0750 /var/log/wharf",
        "dpkg-statoverride --list /etc/wharf/wharf.yaml",
        "deb-systemd-helper unmask wharf.service",
        "deb-systemd-helper --quiet was-enabled wharf.service",
        "deb-systemd-helper update-state wharf.service",
    ] + (["systemctl --system daemon-reload",
          "deb-systemd-invoke try-restart wharf.service"] if systemd else []),
        "postinst configure (upgrade, unit disabled by the admin): stays disabled")
    ck.eq(run_script(control, "prerm", ["remove"], {}),
          ["deb-systemd-invoke stop wharf.service"] if systemd else [], "prerm remove")
    ck.eq(run_script(control, "postrm", ["remove"], {}),
          (["systemctl --system daemon-reload"] if systemd else []) +
          ["deb-systemd-helper mask wharf.service"], "postrm remove")
    ck.eq(run_script(control, "postrm", ["purge"], {}), [
        "deb-systemd-helper purge wharf.service",
        "deb-systemd-helper unmask wharf.service",
        "dpkg-statoverride --list /etc/wharf/wharf.yaml",
        "dpkg-statoverride --remove /etc/wharf/wharf.yaml",
        "rm -rf /var/lib/wharf /var/log/wharf",
    ], "postrm purge: state, logs, override; the user stays")


def scenario_deb():
    tmp = t.tmpdir("wharf-it-deb-")
    deb = build_deb(os.path.join(tmp, "out"))
    if deb is None:
        return
    version = project_version()
    fields = {k: run(["dpkg-deb", "-f", deb, k]).stdout.decode().strip()
              for k in ("Package", "Version", "Architecture", "Section", "Priority",
                        "Maintainer", "Depends", "Recommends")}
    arch = run(["dpkg", "--print-architecture"]).stdout.decode().strip()
    ck.eq({k: fields[k] for k in ("Package", "Version", "Architecture", "Section", "Priority")},
          {"Package": "wharf", "Version": version, "Architecture": arch, "Section": "admin",
           "Priority": "optional"}, "deb: control fields")
    ck.check(re.match(r"^[^<>]+ <[^<>@]+@[^<>]+>$", fields["Maintainer"]),
             f"deb: Maintainer {fields['Maintainer']!r}")
    libs = needed_packages()
    ck.eq(dep_names(fields["Depends"]), sorted(set(libs.values()) | {"adduser"}),
          f"deb: Depends {fields['Depends']!r}")
    ck.eq(fields["Recommends"], "tzdata", "deb: Recommends tzdata (zones of parser fields)")
    ck.eq(deb_listing(deb), want_listing(), "deb: files, modes, owners")

    control = os.path.join(tmp, "control")
    run(["dpkg-deb", "-e", deb, control])
    with open(os.path.join(control, "conffiles")) as f:
        ck.eq(f.read(), "/etc/wharf/wharf.yaml\n", "deb: conffiles")
    for name in ("postinst", "prerm", "postrm"):
        path = os.path.join(control, name)
        with open(path, "rb") as f, open(os.path.join(PKG, "deb", name), "rb") as g:
            ck.check(f.read() == g.read(), f"deb: {name} is packaging/deb/{name}")
        ck.eq(oct(os.stat(path).st_mode & 0o777), "0o755", f"deb: {name} mode")
        ck.eq(run(["sh", "-n", path]).returncode, 0, f"deb: {name} is valid sh")
    scenario_scripts(control)

    root = os.path.join(tmp, "root")
    run(["dpkg-deb", "-x", deb, root])
    for shipped, source in (("etc/wharf/wharf.yaml", "conf/wharf.yaml"),
                            ("lib/systemd/system/wharf.service", "packaging/systemd/wharf.service"),
                            ("usr/share/doc/wharf/copyright", "packaging/deb/copyright")):
        with open(os.path.join(root, shipped), "rb") as f, \
                open(os.path.join(t.SOURCE, source), "rb") as g:
            ck.check(f.read() == g.read(), f"deb: /{shipped} is {source}")
    for gz, source in (("usr/share/doc/wharf/changelog.gz", "packaging/deb/changelog"),
                       ("usr/share/man/man1/wharf.1.gz", "packaging/deb/wharf.1")):
        with gzip.open(os.path.join(root, gz)) as f, \
                open(os.path.join(t.SOURCE, source), "rb") as g:
            ck.check(f.read() == g.read(), f"deb: /{gz} is {source}, compressed")
    with open(os.path.join(PKG, "deb", "changelog")) as f:
        ck.eq(f.readline().split()[:2], ["wharf", f"({version})"],
              "deb: the changelog's latest entry is the package's version")

    wharf = os.path.join(root, "usr", "bin", "wharf")
    sections = run(["readelf", "-S", wharf]).stdout.decode()
    ck.check(".debug_info" not in sections and ".symtab" not in sections,
             "deb: the binary is stripped")
    p = run([wharf, "version"])
    ck.eq((p.returncode, p.stdout.decode()), (0, f"wharf {version} (ECS {t.ECS_VERSION})\n"),
          "deb: the packaged binary runs")
    cfg = os.path.join(root, "etc", "wharf", "wharf.yaml")
    p = run([wharf, "check", "-c", cfg])
    ck.eq((p.returncode, p.stdout.decode()), (0, f"{cfg}: ok (2 inputs, 1 output)\n"),
          f"deb: wharf check on the packaged config ({p.stderr.decode()[-300:]!r})")
    parsers = os.path.join(root, "usr", "share", "wharf", "parsers")
    p = run([wharf, "parsers", "test", parsers])
    ck.check(p.returncode == 0 and re.search(rb"\d+ passed, 0 failed", p.stdout),
             f"deb: the packaged parsers pass their samples ({p.stdout[-200:]!r})")

    p = run(["lintian", "-I", "--pedantic", deb], timeout=300)
    tags = sorted(set(re.findall(r"^[EWIPX]: wharf(?: \w+)?: (\S+)", p.stdout.decode(), re.M)))
    ck.eq(tags, sorted(LINTIAN_ALLOWED), f"deb: lintian tags ({p.stdout.decode()[-800:]!r})")
    ck.note(f"deb: {os.path.basename(deb)}, {os.path.getsize(deb)} bytes, lintian: "
            f"{', '.join(tags)}")


# ------------------------------------------------------------- dockerfile ---

def dockerfile_stages(path):
    """[(FROM args, [(instruction, args)])], continuation lines joined."""
    with open(path) as f:
        text = re.sub(r"\\\n", " ", f.read())
    stages = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        op, _, args = line.partition(" ")
        args = " ".join(args.split())
        if op.upper() == "FROM":
            stages.append((args, []))
        elif stages:
            stages[-1][1].append((op.upper(), args))
    return stages


def apt_installs(instructions):
    pkgs = []
    for op, args in instructions:
        if op == "RUN":
            for m in re.finditer(r"apt-get install ((?:-\S+ )*)([^&;]+)", args):
                pkgs += m.group(2).split()
    return pkgs


def install_deps_packages():
    with open(os.path.join(PKG, "install-deps.sh")) as f:
        m = re.search(r'PACKAGES="([^"]*)"', f.read())
    return set(m.group(1).replace("\\\n", " ").split())


def image_config_writes(cfg_text):
    import yaml
    cfg = yaml.safe_load(cfg_text)
    paths = [cfg["data_dir"]]
    paths += [os.path.dirname(o["path"]) for o in cfg["outputs"] if o["type"] == "file"]
    return cfg, paths


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scenario_healthcheck(cfg_path):
    """`wharf health` on the image's config (paths moved to a temp dir, the
    API on a free loopback port) against a wharf running it."""
    s = t.Setup("healthcheck")
    with open(cfg_path) as f:
        text = f.read()
    port = free_port()
    text = (text.replace("/usr/share/wharf/parsers", os.path.join(t.SOURCE, "parsers"))
            .replace("/var/lib/wharf", s.data).replace("/var/log/wharf", s.path("out"))
            .replace("/var/lib/docker/containers", s.path("docker"))
            .replace("/var/log/pods", s.path("pods")).replace("/var/log/containers",
                                                              s.path("containers"))
            .replace('"0.0.0.0:9880"', f'"127.0.0.1:{port}"'))
    with open(s.cfg, "w") as f:
        f.write(text)
    live = t.Live(s.cfg, s.log)
    ok = t.wait_until(lambda: run([t.WHARF, "health", "-c", s.cfg]).returncode == 0, 20)
    p = run([t.WHARF, "health", "-c", s.cfg])
    ck.eq(p.returncode, 0, f"HEALTHCHECK: wharf health on the image's config "
                           f"({p.stdout[-300:]!r} {p.stderr[-300:]!r}, log {live.log_tail(600)!r})")
    ck.check(ok, "HEALTHCHECK: healthy within 20 s")
    live.term()
    p = run([t.WHARF, "health", "-c", s.cfg])
    ck.eq(p.returncode, 1, "HEALTHCHECK: fails once wharf is gone")


def scenario_dockerfile():
    path = os.path.join(PKG, "docker", "Dockerfile")
    stages = dockerfile_stages(path)
    ck.eq([s[0] for s in stages], ["debian:12 AS build", "debian:12-slim"],
          "Dockerfile: two stages, the runtime on debian:12-slim")
    if len(stages) != 2:
        return
    build, runtime = stages[0][1], stages[1][1]
    libs = needed_packages()
    runtime_pkgs = apt_installs(runtime)
    ck.eq(sorted(runtime_pkgs),
          sorted((set(libs.values()) - {"libc6"}) | {"ca-certificates"}),
          "Dockerfile: runtime packages = the linked libraries' (libc6 is in the base) "
          "+ ca-certificates")
    ck.eq(len([a for op, a in runtime if op == "RUN" and "apt-get install" in a]), 1,
          "Dockerfile: one install in the runtime stage")
    ck.eq(sorted(set(apt_installs(build)) - install_deps_packages()), [],
          "Dockerfile: build packages are those install-deps.sh installs")
    ck.eq([a for op, a in runtime if op == "COPY" and "--from=build" in a],
          ["--from=build /build/wharf /usr/bin/wharf"], "Dockerfile: only the binary from build")
    users = [a for op, a in runtime if op == "USER"]
    ck.eq(users, ["10001:10001"], "Dockerfile: numeric non-root USER")
    ck.check(any("useradd" in a and "--uid 10001" in a for op, a in runtime if op == "RUN"),
             "Dockerfile: the user exists with that uid")
    health = [a for op, a in runtime if op == "HEALTHCHECK"]
    ck.check(len(health) == 1 and health[0].endswith(
        'CMD ["/usr/bin/wharf", "health", "-c", "/etc/wharf/wharf.yaml"]'),
        f"Dockerfile: HEALTHCHECK runs wharf health ({health})")
    ck.eq([a for op, a in runtime if op == "ENTRYPOINT"], ['["/usr/bin/wharf"]'],
          "Dockerfile: exec-form ENTRYPOINT")
    copies = {a.split()[-1]: a.split()[-2] for op, a in runtime if op == "COPY"}
    ck.eq(copies.get("/etc/wharf/wharf.yaml"), "packaging/docker/wharf.yaml",
          "Dockerfile: the image's config")
    ck.eq(copies.get("/usr/share/wharf/parsers/"), "parsers/", "Dockerfile: the parser pack")

    cfg_path = os.path.join(PKG, "docker", "wharf.yaml")
    with open(cfg_path) as f:
        cfg_text = f.read()
    cfg, writes = image_config_writes(cfg_text)
    volumes = sum((re.findall(r'"([^"]+)"', a) for op, a in runtime if op == "VOLUME"), [])
    ck.eq(sorted(volumes), sorted(writes),
          "Dockerfile: every path the image's config writes is a VOLUME (read-only root)")
    exposed = [a for op, a in runtime if op == "EXPOSE"]
    ck.eq(exposed, [cfg["api"]["listen"].rsplit(":", 1)[1]], "Dockerfile: EXPOSE the api port")
    check_path = os.path.join(t.tmpdir("wharf-it-image-cfg-"), "wharf.yaml")
    with open(check_path, "w") as f:
        f.write(cfg_text.replace("/usr/share/wharf/parsers", os.path.join(t.SOURCE, "parsers")))
    p = run([t.WHARF, "check", "-c", check_path])
    ck.eq((p.returncode, p.stderr.decode()), (0, ""), "Dockerfile: the image's config is valid")
    with open(os.path.join(PKG, "docker", "Dockerfile.dockerignore")) as f:
        ignored = f.read().split()
    ck.check({".git", "build*"} <= set(ignored), "Dockerfile: build trees not in the context")
    scenario_healthcheck(cfg_path)


for tool in ("systemd-analyze", "cpack", "dpkg-deb", "dpkg-shlibdeps", "lintian", "readelf"):
    if shutil.which(tool) is None:
        ck.fail(f"{tool} is missing: run packaging/install-deps.sh")
t0 = time.monotonic()
scenario_unit()
scenario_deb()
scenario_dockerfile()
ck.note(f"{time.monotonic() - t0:.1f} s")
ck.finish()
