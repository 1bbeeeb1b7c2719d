"""Headless Chromium as a tester's machine, for the tests (chromium_test.py, docs_test.py).

What the tester installed goes into Chromium's NSS database ($HOME/.pki/nssdb, where Chrome on
Linux keeps "Your certificates" and "Authorities"; `pk12util` imports a .p12 as Chrome's own
Import does). The AutoSelectCertificateForUrls policy, which an IT department sets so Chrome does
not ask which certificate to use, goes into /etc/chromium/policies/managed for the test's domain
only, and is removed by close().
"""
import json
import os
import subprocess
from pathlib import Path

POLICY_DIR = Path("/etc/chromium/policies/managed")


def run(*args):
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, args))} exited {done.returncode}: {done.stderr}")
    return done.stdout


class Chromium:
    def __init__(self, work, domain):
        self.work, self.count = Path(work), 0
        self.policy = POLICY_DIR / f"gatehouse-test-{os.getpid()}-{domain}.json"
        try:
            POLICY_DIR.mkdir(parents=True, exist_ok=True)
        except PermissionError:
            raise RuntimeError(f"writing Chromium's policy needs root: {POLICY_DIR} (make test runs as root)")
        pattern = json.dumps({"pattern": f"https://[*.]{domain}", "filter": {}})
        self.policy.write_text(json.dumps({"AutoSelectCertificateForUrls": [pattern]}))

    def close(self):
        self.policy.unlink(missing_ok=True)

    def home(self, root=None, p12=None, password=""):
        """A fresh profile: `root` trusted for websites, `p12` among "Your certificates"."""
        self.count += 1
        home = self.work / f"chromium-home{self.count}"
        nssdb = f"sql:{home}/.pki/nssdb"
        (home / ".pki/nssdb").mkdir(parents=True)
        run("certutil", "-N", "-d", nssdb, "--empty-password")
        if root:
            run("certutil", "-A", "-n", "Staging root", "-t", "C,,", "-i", root, "-d", nssdb)
        if p12:
            run("pk12util", "-i", p12, "-d", nssdb, "-W", password)
        return home

    def visit(self, home, site, port, screenshot=None):
        """(DOM text, Chrome's load error such as net::ERR_... or None) of https://site:port/."""
        args = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                f"--user-data-dir={home}/profile", f"--host-resolver-rules=MAP {site} 127.0.0.1",
                "--window-size=1000,900", "--dump-dom"]
        if screenshot:
            args.append(f"--screenshot={screenshot}")
        args.append(f"https://{site}:{port}/")
        done = subprocess.run(args, capture_output=True, text=True, timeout=60, env=dict(os.environ, HOME=str(home)))
        error = None
        for line in done.stderr.splitlines():
            if "Page load failed: " in line:
                error = line.rsplit("Page load failed: ", 1)[1].strip()
        return done.stdout, error
