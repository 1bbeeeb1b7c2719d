#!/usr/bin/python3
"""Checks deploy/: the systemd units (the proxy, and the daily CRL timer and its service) pass
`systemd-analyze verify`, the Kubernetes manifests
parse and wire together (labels, ports, probes, grace period versus drain time, the ticket-key
Secret), and the ConfigMap's config passes `gatehouse check` against a PKI made for it. The
load-test Job (bench-job.yaml) is an Indexed Job whose pods' command, run here for each index,
gives gatehouse-bench its shard, the shared start and its own results file, and those arguments
pass gatehouse-bench's own checks. The image's runtime stage installs every shared library the
binaries load.
Usage: check_deploy.py SOURCE_DIR GATEHOUSE_BINARY GATEHOUSE_BENCH_BINARY"""
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

source, binary, bench = pathlib.Path(sys.argv[1]), sys.argv[2], sys.argv[3]
deploy = source / "deploy"
failures = []


def check(ok, what):
    if not ok:
        failures.append(what)


def run(*args, cwd=None):
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True)


def check_bench_job(job, tmp):
    """The Indexed Job of docs/load-testing.md: N pods started together, each one shard."""
    spec, pod = job["spec"], job["spec"]["template"]["spec"]
    c = pod["containers"][0]
    env = {e["name"]: e["value"] for e in c["env"]}
    shards = int(env["SHARDS"])
    check(spec["completionMode"] == "Indexed", "the bench Job is Indexed")
    check(spec["completions"] == shards == spec["parallelism"], "the bench Job runs SHARDS pods, all at once")
    check(spec["backoffLimit"] == 0 and pod["restartPolicy"] == "Never", "a failed shard is not run again, late")
    check(pod["securityContext"]["runAsNonRoot"], "the bench pods run as non-root")
    check("gatehouse-bench" in (deploy / "Dockerfile").read_text(), "the image carries gatehouse-bench")
    mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
    # The pod's script, run for every index with gatehouse-bench replaced by a recorder.
    fake_bin = tmp / "fake-bin"
    fake_bin.mkdir()
    (fake_bin / "gatehouse-bench").write_text('#!/bin/sh\nfor a in "$@"; do echo "$a"; done > "$RECORD"\n')
    os.chmod(fake_bin / "gatehouse-bench", 0o755)
    ca = tmp / "bench-ca"
    for args in (["init", str(ca), "--name", "Bench Root"], ["intermediate", str(ca), "--name", "Bench Inter"]):
        run(binary, "ca", *args)
    start_at = "2030-01-01T00:00:00Z"
    for index in range(shards):
        record = tmp / ("args-%d" % index)
        script = c["args"][0]
        run_env = dict(os.environ, **env)
        run_env.update(JOB_COMPLETION_INDEX=str(index), START_AT=start_at, HOLD_SECONDS="0", RECORD=str(record),
                       PATH=str(fake_bin) + ":" + os.environ["PATH"])
        done = subprocess.run(c["command"] + [script], env=run_env, capture_output=True, text=True)
        check(done.returncode == 0 and "results ready" in done.stdout, "the bench pod's script runs: " + done.stderr)
        args = record.read_text().splitlines() if record.exists() else []
        check(args[args.index("--shard") + 1] == "%d/%d" % (index, shards) if "--shard" in args else False,
              "pod %d is shard %d/%d" % (index, index, shards))
        check(args[args.index("--start-at") + 1] == start_at if "--start-at" in args else False,
              "pod %d starts at the shared START_AT" % index)
        out = args[args.index("--out") + 1] if "--out" in args else ""
        check(out.startswith(mounts["results"] + "/") and str(index) in out, "pod %d writes its own results" % index)
        if index == 0:
            # The real gatehouse-bench accepts them all: it stops only at reaching the target.
            real = [a.replace("/etc/bench-ca/ca.crt", str(ca / "root.pem"))
                     .replace("/etc/bench-ca/tls.crt", str(ca / "intermediate.pem"))
                     .replace("/etc/bench-ca/tls.key", str(ca / "private" / "intermediate.key"))
                     .replace(mounts["results"], str(tmp)) for a in args]
            real[0] = "127.0.0.1:1"
            tried = run(bench, *real)
            check(tried.returncode == 2 and "cannot connect to 127.0.0.1:1" in tried.stderr,
                  "gatehouse-bench accepts the Job's arguments: " + tried.stderr)


def check_image_libraries():
    """Every shared library the binaries load comes from a package the image's runtime stage
    installs, or from the base image itself (libc6, libstdc++6, libgcc-s1)."""
    text = (deploy / "Dockerfile").read_text()
    runtime = text[text.rindex("FROM "):]
    for program in (binary, bench):
        for line in run("ldd", program).stdout.splitlines():
            parts = line.split("=>")
            if len(parts) != 2 or not parts[1].strip().startswith("/"):
                continue
            loaded = parts[1].split()[0]
            path = os.path.realpath(loaded)
            # dpkg knows a file by the path its package ships (merged /usr or not, link or file).
            package = ""
            for pattern in (path, loaded, "*/" + os.path.basename(loaded)):
                package = run("dpkg", "-S", pattern).stdout.split(":")[0]
                if package:
                    break
            if package in ("libc6", "libstdc++6", "libgcc-s1"):
                continue
            check(package and re.search(r"\b" + re.escape(package) + r"\b", runtime),
                  "the image's runtime stage installs %s (%s needs %s)" % (package or "?", program, path))


check_image_libraries()

with tempfile.TemporaryDirectory() as tmp:
    tmp = pathlib.Path(tmp)
    # systemd: the unit as shipped, pointed at the binary we built.
    unit = (deploy / "gatehouse.service").read_text()
    check("ExecReload=/bin/kill -HUP $MAINPID" in unit, "the unit reloads with SIGHUP")
    for hardening in ["ProtectSystem=strict", "NoNewPrivileges=yes", "CapabilityBoundingSet=CAP_NET_BIND_SERVICE"]:
        check(hardening in unit, "the unit sets " + hardening)
    (tmp / "gatehouse.service").write_text(unit.replace("/usr/local/bin/gatehouse", binary))
    verify = run("systemd-analyze", "verify", str(tmp / "gatehouse.service"))
    problems = [l for l in (verify.stdout + verify.stderr).splitlines() if "gatehouse.service" in l]
    check(verify.returncode == 0 and not problems, "systemd-analyze verify: " + verify.stdout + verify.stderr)

    # The daily CRL renewal: a timer and its oneshot service, verified together.
    timer = (deploy / "gatehouse-crl.timer").read_text()
    crl_unit = (deploy / "gatehouse-crl.service").read_text()
    check("OnCalendar=daily" in timer and "Persistent=true" in timer, "the CRL timer runs daily and catches up")
    check("Unit=gatehouse-crl.service" in timer, "the CRL timer starts the CRL service")
    check("Type=oneshot" in crl_unit, "the CRL service is a oneshot")
    exec_start = re.search(r"^ExecStart=/usr/local/bin/gatehouse (.*)$", crl_unit, re.M)
    check(exec_start is not None and exec_start.group(1).startswith("ca crl ") and "--days" in exec_start.group(1),
          "the CRL service runs `gatehouse ca crl DIR --days N`")
    check("try-reload-or-restart gatehouse.service" in crl_unit, "the CRL service reloads the proxy")
    ca_dir = exec_start.group(1).split()[2] if exec_start else ""
    check("ExecStartPost=/usr/bin/install -m 0644 %s/crl.pem /etc/gatehouse/crl.pem" % ca_dir in crl_unit,
          "the CRL service copies crl.pem where the proxy (another user) can read it")
    units = tmp / "units"
    units.mkdir()
    (units / "gatehouse.service").write_text(unit.replace("/usr/local/bin/gatehouse", binary))
    (units / "gatehouse-crl.service").write_text(crl_unit.replace("/usr/local/bin/gatehouse", binary))
    (units / "gatehouse-crl.timer").write_text(timer)
    verify = run("systemd-analyze", "verify", str(units / "gatehouse-crl.timer"), str(units / "gatehouse-crl.service"))
    problems = [l for l in (verify.stdout + verify.stderr).splitlines() if "gatehouse-crl" in l]
    check(verify.returncode == 0 and not problems, "systemd-analyze verify (CRL timer): " + verify.stdout + verify.stderr)
    # The command the service runs works on a CA made by `gatehouse ca`, with the root key offline as advised.
    crl_ca = tmp / "crl-ca"
    for args in (["init", str(crl_ca), "--name", "Timer Root"], ["intermediate", str(crl_ca), "--name", "Timer Inter"],
                 ["crl", str(crl_ca)]):
        run(binary, "ca", *args)
    os.remove(crl_ca / "private" / "root.key")
    renewed = run(binary, *exec_start.group(1).replace(ca_dir, str(crl_ca)).split()) if exec_start else None
    check(renewed is not None and renewed.returncode == 0 and (crl_ca / "crl.pem").exists(),
          "the CRL service's command renews the CRL: " + (renewed.stdout + renewed.stderr if renewed else ""))

    # Kubernetes: every document parses; the pieces refer to each other correctly.
    docs = {}
    for f in sorted((deploy / "kubernetes").glob("*.yaml")):
        for d in yaml.safe_load_all(f.read_text()):
            docs[(d["kind"], d["metadata"]["name"])] = d
    dep = docs[("Deployment", "gatehouse")]
    labels = dep["spec"]["template"]["metadata"]["labels"]
    check(dep["spec"]["selector"]["matchLabels"].items() <= labels.items(), "the Deployment selects its pods")
    pod = dep["spec"]["template"]["spec"]
    c = pod["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    check(c["readinessProbe"]["httpGet"]["path"] == "/readyz", "readiness on /readyz")
    check(c["livenessProbe"]["httpGet"]["path"] == "/healthz", "liveness on /healthz")
    check(c["readinessProbe"]["httpGet"]["port"] in ports, "the readiness probe names a container port")
    annotations = dep["spec"]["template"]["metadata"]["annotations"]
    check(annotations.get("prometheus.io/scrape") == "true" and int(annotations["prometheus.io/port"]) == ports["admin"],
          "Prometheus scrapes the admin port")
    pre_stop = int(c["lifecycle"]["preStop"]["exec"]["command"][-1])
    config_text = docs[("ConfigMap", "gatehouse-config")]["data"]["gatehouse.toml"]
    drain = int(re.search(r'drain_timeout = "(\d+)s"', config_text).group(1))
    check(pod["terminationGracePeriodSeconds"] > pre_stop + drain, "the grace period covers preStop and the drain")
    check(pod["securityContext"]["runAsNonRoot"], "the pod runs as non-root")
    check(c["securityContext"]["capabilities"]["drop"] == ["ALL"], "the container drops every capability")
    svc = docs[("Service", "gatehouse")]
    check(svc["spec"]["selector"].items() <= labels.items(), "the Service selects the pods")
    check(svc["spec"]["ports"][0]["targetPort"] == "mtls" and "mtls" in ports, "the Service targets the mTLS port")
    pdb = docs[("PodDisruptionBudget", "gatehouse")]
    check(pdb["spec"]["selector"]["matchLabels"].items() <= labels.items(), "the PDB selects the pods")
    secrets = {v["secret"]["secretName"] for v in pod["volumes"] if "secret" in v}
    check({"gatehouse-tls", "gatehouse-tickets"} <= secrets and ("Secret", "gatehouse-tickets") in docs,
          "certificates and the shared ticket keys come from Secrets")

    # The ConfigMap's config, with the files it names made by `gatehouse ca`.
    ca = tmp / "ca"
    for args in (["init", str(ca), "--name", "Deploy Root"], ["intermediate", str(ca), "--name", "Deploy Inter"],
                 ["issue", str(ca), "--profile", "server", "--cn", "gatehouse", "--san", "dns:gatehouse"]):
        made = run(binary, "ca", *args)
        check(made.returncode == 0, "gatehouse ca " + " ".join(args) + ": " + made.stderr)
    etc = tmp / "etc"
    (etc / "tls").mkdir(parents=True)
    (etc / "tickets").mkdir()
    shutil.copy(ca / "issued" / "gatehouse-chain.pem", etc / "tls" / "tls.crt")
    shutil.copy(ca / "issued" / "gatehouse.key", etc / "tls" / "tls.key")
    shutil.copy(ca / "root.pem", etc / "tls" / "ca.crt")
    (etc / "tickets" / "tickets.key").write_bytes(os.urandom(80))
    os.chmod(etc / "tickets" / "tickets.key", 0o600)
    (etc / "gatehouse.toml").write_text(config_text)
    checked = run(binary, "check", "-c", str(etc / "gatehouse.toml"))
    check(checked.returncode == 0, "gatehouse check on the ConfigMap's config: " + checked.stdout + checked.stderr)

    check_bench_job(docs[("Job", "gatehouse-bench")], tmp)

for f in failures:
    print("FAILED:", f)
print("deploy/: %d problem(s)" % len(failures))
sys.exit(1 if failures else 0)
