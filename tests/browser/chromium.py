"""Headless Chromium as a tester's machine, for the tests (chromium_test.py, docs_test.py).

What the tester installed goes into Chromium's NSS database ($HOME/.pki/nssdb, where Chrome on
Linux keeps "Your certificates" and "Authorities"; `pk12util` imports a .p12 as Chrome's own
Import does). The AutoSelectCertificateForUrls policy, which an IT department sets so Chrome does
not ask which certificate to use, goes into /etc/chromium/policies/managed for the tests'
reserved domains only (see TEST_DOMAINS).
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


# Every domain a test visits: Chromium takes AutoSelectCertificateForUrls from ONE of the files
# that set it, so all tests share one file with the same content, and it stays (removing it would
# break a test running beside this one). It only picks client certificates for reserved test names.
TEST_DOMAINS = ["gatehouse.test", "acme.example"]
POLICY_FILE = POLICY_DIR / "gatehouse-tests.json"


class Chromium:
    def __init__(self, work):
        self.work, self.count = Path(work), 0
        patterns = [json.dumps({"pattern": f"https://[*.]{d}", "filter": {}}) for d in TEST_DOMAINS]
        text = json.dumps({"AutoSelectCertificateForUrls": patterns}, indent=1)
        try:
            POLICY_DIR.mkdir(parents=True, exist_ok=True)
            if not POLICY_FILE.exists() or POLICY_FILE.read_text() != text:
                staged = POLICY_DIR / f".gatehouse-tests.{os.getpid()}"
                staged.write_text(text)
                staged.replace(POLICY_FILE)  # atomic: a Chromium starting meanwhile reads old or new
        except PermissionError:
            raise RuntimeError(f"writing Chromium's policy needs root: {POLICY_DIR} (make test runs as root)")
        for other in POLICY_DIR.glob("gatehouse-test*.json"):
            if other != POLICY_FILE:
                other.unlink(missing_ok=True)  # an older run's own file would compete with this one

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
        try:
            done = subprocess.run(args, capture_output=True, text=True, timeout=60,
                                  env=dict(os.environ, HOME=str(home)))
        except subprocess.TimeoutExpired as e:
            said = e.stderr.decode(errors="replace") if isinstance(e.stderr, bytes) else (e.stderr or "")
            return "", "no answer within 60 s; Chromium said:\n" + "\n".join(said.splitlines()[-15:])
        error = None
        for line in done.stderr.splitlines():
            if "Page load failed: " in line:
                error = line.rsplit("Page load failed: ", 1)[1].strip()
        return done.stdout, error
