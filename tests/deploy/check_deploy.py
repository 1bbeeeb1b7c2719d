#!/usr/bin/python3
"""Checks deploy/: the systemd units (the proxy, and the daily CRL timer and its service) pass
`systemd-analyze verify`, the Kubernetes manifests
parse and wire together (labels, ports, probes, grace period versus drain time, the ticket-key
Secret), and the ConfigMap's config passes `gatehouse check` against a PKI made for it.
Usage: check_deploy.py SOURCE_DIR GATEHOUSE_BINARY"""
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

source, binary = pathlib.Path(sys.argv[1]), sys.argv[2]
deploy = source / "deploy"
failures = []


def check(ok, what):
    if not ok:
        failures.append(what)


def run(*args, cwd=None):
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True)


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

for f in failures:
    print("FAILED:", f)
print("deploy/: %d problem(s)" % len(failures))
sys.exit(1 if failures else 0)
